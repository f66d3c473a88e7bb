/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Extended capabilities (PCI Express config space, 0x100 up): Advanced
 * Error Reporting, Device Serial Number, ARI, SR-IOV, vendor-specific and
 * designated vendor-specific.  The header dword is always virtual and
 * read-only (registration sets it): that is what lets hidden ones be
 * unlinked.
 */
#include <errno.h>
#include <linux/pci_regs.h>

#include "common/util.h"
#include "pci/cfg.h"

#define AER_UNCOR (PCI_ERR_UNC_UND | PCI_ERR_UNC_DLP | PCI_ERR_UNC_SURPDN | \
		   PCI_ERR_UNC_POISON_TLP | PCI_ERR_UNC_FCP | \
		   PCI_ERR_UNC_COMP_TIME | PCI_ERR_UNC_COMP_ABORT | \
		   PCI_ERR_UNC_UNX_COMP | PCI_ERR_UNC_RX_OVER | \
		   PCI_ERR_UNC_MALF_TLP | PCI_ERR_UNC_ECRC | PCI_ERR_UNC_UNSUP | \
		   PCI_ERR_UNC_ACSV | PCI_ERR_UNC_INTN | PCI_ERR_UNC_MCBTLP | \
		   PCI_ERR_UNC_ATOMEG | PCI_ERR_UNC_TLPPRE)
#define AER_COR (PCI_ERR_COR_RCVR | PCI_ERR_COR_BAD_TLP | \
		 PCI_ERR_COR_BAD_DLLP | PCI_ERR_COR_REP_ROLL | \
		 PCI_ERR_COR_REP_TIMER | PCI_ERR_COR_ADV_NFAT | \
		 PCI_ERR_COR_INTERNAL | PCI_ERR_COR_LOG_OVER)
/* Severity of each uncorrectable error at reset (PCIe base spec). */
#define AER_SEVER_DEFAULT (PCI_ERR_UNC_DLP | PCI_ERR_UNC_SURPDN | \
			   PCI_ERR_UNC_FCP | PCI_ERR_UNC_RX_OVER | \
			   PCI_ERR_UNC_MALF_TLP | PCI_ERR_UNC_INTN)

/* The longest capability the 12-bit length fields describe, in whole
 * dwords: the limits <uvfio/pci.h> documents (4084 and 4082 bytes of
 * data).  Anything that long is refused with -EINVAL, not -ENOSPC. */
#define VSEC_LEN_MAX 0xffcu
#define DVSEC_BODY   (PCI_DVSEC_HEADER2 + 2)

static uint32_t bk(const struct pci_cfg *cfg, uint32_t off, unsigned n)
{
	uint32_t v;
	return pci_bk_read(cfg, off, n, &v) < 0 ? 0 : v;
}

static bool has_ext(const struct pci_cfg *cfg, uint16_t id)
{
	for (unsigned i = 1; i < cfg->ncaps; i++)
		if (cfg->caps[i].kind == PCI_KIND_EXT && cfg->caps[i].id == id &&
		    !cfg->caps[i].filler)
			return true;
	return false;
}

/* Place a new extended capability and write its header. */
static int begin(struct pci_cfg *cfg, unsigned off, uint16_t id,
		 unsigned version, unsigned len, bool unique)
{
	if (unique && has_ext(cfg, id))
		return -EEXIST;
	int o = pci_cfg_place(cfg, true, off, len);
	if (o < 0)
		return o;
	int r = pci_cfg_ext_anchor(cfg, (unsigned)o);
	if (r < 0)
		return r;
	pci_cfg_poke(cfg, (uint32_t)o, 4, id | version << 16);
	return o;
}

static void poke_bytes(struct pci_cfg *cfg, uint32_t off, const void *data,
		       size_t len, bool writable)
{
	for (size_t i = 0; i < len; i++) {
		pci_cfg_poke(cfg, off + (uint32_t)i, 1, ((const uint8_t *)data)[i]);
		if (writable)
			pci_emu_wmask(cfg, off + (uint32_t)i, 1, 0xff);
	}
}

/* ---- Advanced Error Reporting ------------------------------------------ */

static unsigned aer_length(const struct pci_cfg *cfg, unsigned off)
{
	return PCI_ERR_ROOT_COMMAND;
}

static int aer_init(struct pci_cfg *cfg, struct pci_cap *c)
{
	/* Status, mask and severity go to the device; the log is read-only. */
	pci_perm(c, PCI_ERR_UNCOR_STATUS, 4, 0, AER_UNCOR);
	pci_perm(c, PCI_ERR_UNCOR_MASK, 4, 0, AER_UNCOR);
	pci_perm(c, PCI_ERR_UNCOR_SEVER, 4, 0, AER_UNCOR);
	pci_perm(c, PCI_ERR_COR_STATUS, 4, 0, AER_COR);
	pci_perm(c, PCI_ERR_COR_MASK, 4, 0, AER_COR);
	pci_perm(c, PCI_ERR_CAP, 4, 0,
		 PCI_ERR_CAP_ECRC_GENE | PCI_ERR_CAP_ECRC_CHKE);
	cfg->aer_off = c->off;
	return 0;
}

const struct pci_cap_type pci_type_aer = {
	.name = "AER", .id = PCI_EXT_CAP_ID_ERR, .ext = true,
	.length = aer_length, .init = aer_init,
};

int pci_cap_add_aer(struct pci_cfg *cfg, unsigned off)
{
	int o = begin(cfg, off, PCI_EXT_CAP_ID_ERR, 2, PCI_ERR_ROOT_COMMAND, true);
	if (o < 0)
		return o;
	uint32_t b = (uint32_t)o;
	pci_emu_w1c(cfg, b + PCI_ERR_UNCOR_STATUS, 4, AER_UNCOR);
	pci_emu_wmask(cfg, b + PCI_ERR_UNCOR_MASK, 4, AER_UNCOR);
	pci_cfg_poke(cfg, b + PCI_ERR_UNCOR_SEVER, 4, AER_SEVER_DEFAULT);
	pci_emu_wmask(cfg, b + PCI_ERR_UNCOR_SEVER, 4, AER_UNCOR);
	pci_emu_w1c(cfg, b + PCI_ERR_COR_STATUS, 4, AER_COR);
	pci_cfg_poke(cfg, b + PCI_ERR_COR_MASK, 4, PCI_ERR_COR_ADV_NFAT);
	pci_emu_wmask(cfg, b + PCI_ERR_COR_MASK, 4, AER_COR);
	pci_cfg_poke(cfg, b + PCI_ERR_CAP, 4,
		     PCI_ERR_CAP_ECRC_GENC | PCI_ERR_CAP_ECRC_CHKC);
	pci_emu_wmask(cfg, b + PCI_ERR_CAP, 4,
		      PCI_ERR_CAP_ECRC_GENE | PCI_ERR_CAP_ECRC_CHKE);
	return pci_cap_register(cfg, true, PCI_EXT_CAP_ID_ERR, b,
				PCI_ERR_ROOT_COMMAND);
}

/* ---- read-only ones: DSN, ARI, SR-IOV ------------------------------------ */

static unsigned dsn_length(const struct pci_cfg *cfg, unsigned off)
{
	return PCI_EXT_CAP_DSN_SIZEOF;
}

static unsigned ari_length(const struct pci_cfg *cfg, unsigned off)
{
	return PCI_EXT_CAP_ARI_SIZEOF;
}

static unsigned sriov_length(const struct pci_cfg *cfg, unsigned off)
{
	return PCI_EXT_CAP_SRIOV_SIZEOF;
}

static int sriov_init(struct pci_cfg *cfg, struct pci_cap *c)
{
	/* VFs are enabled by the host (sysfs, VF token), never by the
	 * client: the capability is read-only, as in vfio-pci. */
	cfg->sriov_off = c->off;
	return 0;
}

/*
 * Only reached when pci_cfg_sriov_control() made the registers
 * writable.  NumVFs can change only while VF Enable is clear, and a
 * value above TotalVFs is not taken (the register keeps its value);
 * other writes follow the tables.  A write to the control register is
 * reported to the device, which creates or removes its VFs.
 */
/*
 * The bytes a piece of @n at @coff shares with NumVFs: with @into_num,
 * @v's NumVFs value with the piece's bytes (@piece) in it; without, the
 * piece @v with NumVFs' bytes taken from the value @piece.
 */
static uint32_t num_vf_merge(uint32_t v, unsigned coff, unsigned n,
			     uint32_t piece, bool into_num)
{
	for (unsigned i = 0; i < n; i++) {
		if (coff + i < PCI_SRIOV_NUM_VF || coff + i >= PCI_SRIOV_NUM_VF + 2)
			continue;
		unsigned k = coff + i - PCI_SRIOV_NUM_VF;
		unsigned to = into_num ? k : i, from = into_num ? i : k;
		v = (v & ~(0xffu << 8 * to)) | ((piece >> 8 * from) & 0xffu) << 8 * to;
	}
	return v;
}

static int sriov_write(struct pci_cfg *cfg, struct pci_cap *c, unsigned coff,
		       unsigned n, uint32_t val)
{
	uint32_t b = c->off;
	if (coff < PCI_SRIOV_NUM_VF + 2 && coff + n > PCI_SRIOV_NUM_VF) {
		/* The piece may hold one byte of NumVFs or both. */
		uint32_t cur = bk(cfg, b + PCI_SRIOV_NUM_VF, 2);
		uint32_t num = num_vf_merge(cur, coff, n, val, true);
		bool vfe = bk(cfg, b + PCI_SRIOV_CTRL, 2) & PCI_SRIOV_CTRL_VFE;
		if (vfe || num > bk(cfg, b + PCI_SRIOV_TOTAL_VF, 2))
			val = num_vf_merge(val, coff, n, cur, false);
	}
	int r = pci_default_write(cfg, c, coff, n, val);
	if (r == 0 && coff < PCI_SRIOV_CTRL + 2 && coff + n > PCI_SRIOV_CTRL &&
	    cfg->hooks.sriov)
		cfg->hooks.sriov(cfg->hooks.opaque);
	return r;
}

int pci_cfg_sriov_control(struct pci_cfg *cfg)
{
	struct pci_cap *c = cfg->sriov_off ? pci_cap_at(cfg, cfg->sriov_off)
					   : NULL;
	if (!c)
		return -ENOENT;
	pci_perm(c, PCI_SRIOV_CTRL, 2, 0, PCI_SRIOV_CTRL_VFE |
		 PCI_SRIOV_CTRL_MSE | PCI_SRIOV_CTRL_ARI);
	pci_perm(c, PCI_SRIOV_NUM_VF, 2, 0, 0xffff);
	pci_perm(c, PCI_SRIOV_SYS_PGSIZE, 4, 0, 0xffffffffu);
	return 0;
}

const struct pci_cap_type pci_type_dsn = {
	.name = "DSN", .id = PCI_EXT_CAP_ID_DSN, .ext = true,
	.length = dsn_length,
};

const struct pci_cap_type pci_type_ari = {
	.name = "ARI", .id = PCI_EXT_CAP_ID_ARI, .ext = true,
	.length = ari_length,
};

const struct pci_cap_type pci_type_sriov = {
	.name = "SR-IOV", .id = PCI_EXT_CAP_ID_SRIOV, .ext = true,
	.length = sriov_length, .init = sriov_init, .write = sriov_write,
};

int pci_cap_add_dsn(struct pci_cfg *cfg, unsigned off, uint64_t serial)
{
	int o = begin(cfg, off, PCI_EXT_CAP_ID_DSN, 1, PCI_EXT_CAP_DSN_SIZEOF, true);
	if (o < 0)
		return o;
	pci_cfg_poke(cfg, (uint32_t)o + 4, 4, (uint32_t)serial);
	pci_cfg_poke(cfg, (uint32_t)o + 8, 4, (uint32_t)(serial >> 32));
	return pci_cap_register(cfg, true, PCI_EXT_CAP_ID_DSN, (unsigned)o,
				PCI_EXT_CAP_DSN_SIZEOF);
}

int pci_cap_add_ari(struct pci_cfg *cfg, unsigned off, unsigned next_fn)
{
	if (next_fn > 0xff)
		return -EINVAL;
	int o = begin(cfg, off, PCI_EXT_CAP_ID_ARI, 1, PCI_EXT_CAP_ARI_SIZEOF, true);
	if (o < 0)
		return o;
	pci_cfg_poke(cfg, (uint32_t)o + PCI_ARI_CAP, 2, next_fn << 8);
	return pci_cap_register(cfg, true, PCI_EXT_CAP_ID_ARI, (unsigned)o,
				PCI_EXT_CAP_ARI_SIZEOF);
}

int pci_cap_add_sriov(struct pci_cfg *cfg, unsigned off,
		      const struct uvfio_pci_sriov *s)
{
	if (!s || !s->total_vfs || s->initial_vfs > s->total_vfs ||
	    (s->total_vfs > 1 && !s->vf_stride))
		return -EINVAL;
	int o = begin(cfg, off, PCI_EXT_CAP_ID_SRIOV, 1, PCI_EXT_CAP_SRIOV_SIZEOF,
		      true);
	if (o < 0)
		return o;
	uint32_t b = (uint32_t)o;
	pci_cfg_poke(cfg, b + PCI_SRIOV_INITIAL_VF, 2,
		     s->initial_vfs ? s->initial_vfs : s->total_vfs);
	pci_cfg_poke(cfg, b + PCI_SRIOV_TOTAL_VF, 2, s->total_vfs);
	pci_cfg_poke(cfg, b + PCI_SRIOV_VF_OFFSET, 2, s->vf_offset ? s->vf_offset : 1);
	pci_cfg_poke(cfg, b + PCI_SRIOV_VF_STRIDE, 2, s->vf_stride);
	pci_cfg_poke(cfg, b + PCI_SRIOV_VF_DID, 2, s->vf_device);
	pci_cfg_poke(cfg, b + PCI_SRIOV_SUP_PGSIZE, 4, s->page_sizes ? s->page_sizes : 1);
	pci_cfg_poke(cfg, b + PCI_SRIOV_SYS_PGSIZE, 4, 1);
	/* What the hardware would let the host program. */
	pci_emu_wmask(cfg, b + PCI_SRIOV_CTRL, 2, PCI_SRIOV_CTRL_VFE |
		      PCI_SRIOV_CTRL_MSE | PCI_SRIOV_CTRL_ARI);
	pci_emu_wmask(cfg, b + PCI_SRIOV_NUM_VF, 2, 0xffff);
	pci_emu_wmask(cfg, b + PCI_SRIOV_SYS_PGSIZE, 4, 0xffffffffu);
	return pci_cap_register(cfg, true, PCI_EXT_CAP_ID_SRIOV, b,
				PCI_EXT_CAP_SRIOV_SIZEOF);
}

/* ---- vendor-specific and DVSEC: reads and writes go to the device ----- */

static unsigned ext_vendor_length(const struct pci_cfg *cfg, unsigned off)
{
	return bk(cfg, off + PCI_VSEC_HDR, 4) >> PCI_VSEC_HDR_LEN_SHIFT;
}

static unsigned dvsec_length(const struct pci_cfg *cfg, unsigned off)
{
	return PCI_DVSEC_HEADER1_LEN(bk(cfg, off + PCI_DVSEC_HEADER1, 4));
}

static int pass_through_init(struct pci_cfg *cfg, struct pci_cap *c)
{
	for (unsigned i = 4; i < c->len; i++)
		pci_perm(c, i, 1, 0, 0xff);
	return 0;
}

const struct pci_cap_type pci_type_ext_vendor = {
	.name = "VSEC", .id = PCI_EXT_CAP_ID_VNDR, .ext = true,
	.length = ext_vendor_length, .init = pass_through_init,
};

const struct pci_cap_type pci_type_dvsec = {
	.name = "DVSEC", .id = PCI_EXT_CAP_ID_DVSEC, .ext = true,
	.length = dvsec_length, .init = pass_through_init,
};

int pci_cap_add_ext_vendor(struct pci_cfg *cfg, unsigned off, uint16_t vsec_id,
			   unsigned rev, const void *data, size_t len)
{
	unsigned hdr = PCI_VSEC_HDR + 4;
	if (rev > 15 || (len && !data) || len > VSEC_LEN_MAX - hdr)
		return -EINVAL;
	unsigned total = hdr + (unsigned)len;
	int o = begin(cfg, off, PCI_EXT_CAP_ID_VNDR, 1, total, false);
	if (o < 0)
		return o;
	uint32_t b = (uint32_t)o;
	pci_cfg_poke(cfg, b + PCI_VSEC_HDR, 4,
		     vsec_id | rev << 16 | total << PCI_VSEC_HDR_LEN_SHIFT);
	poke_bytes(cfg, b + hdr, data, len, true);
	return pci_cap_register(cfg, true, PCI_EXT_CAP_ID_VNDR, b, total);
}

int pci_cap_add_dvsec(struct pci_cfg *cfg, unsigned off, uint16_t vendor,
		      unsigned rev, uint16_t dvsec_id, const void *data,
		      size_t len)
{
	if (rev > 15 || (len && !data) || len > VSEC_LEN_MAX - DVSEC_BODY)
		return -EINVAL;
	unsigned total = DVSEC_BODY + (unsigned)len;
	int o = begin(cfg, off, PCI_EXT_CAP_ID_DVSEC, 1, total, false);
	if (o < 0)
		return o;
	uint32_t b = (uint32_t)o;
	pci_cfg_poke(cfg, b + PCI_DVSEC_HEADER1, 4, vendor | rev << 16 | total << 20);
	pci_cfg_poke(cfg, b + PCI_DVSEC_HEADER2, 2, dvsec_id);
	poke_bytes(cfg, b + DVSEC_BODY, data, len, true);
	return pci_cap_register(cfg, true, PCI_EXT_CAP_ID_DVSEC, b, total);
}
