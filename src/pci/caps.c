/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Standard capabilities: their permission tables, the registers with side
 * effects, and their builders.  Power Management, MSI, MSI-X (the
 * capability; the table is in msix.c), PCI Express, Advanced Features,
 * Vital Product Data, vendor-specific.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "pci/cfg.h"

static uint32_t bk(const struct pci_cfg *cfg, uint32_t off, unsigned n)
{
	uint32_t v;
	return pci_bk_read(cfg, off, n, &v) < 0 ? 0 : v;
}

static bool has_cap(const struct pci_cfg *cfg, bool ext, uint16_t id)
{
	for (unsigned i = 1; i < cfg->ncaps; i++)
		if (cfg->caps[i].id == id && !cfg->caps[i].filler &&
		    (cfg->caps[i].kind == PCI_KIND_EXT) == ext)
			return true;
	return false;
}

/* Where a new standard capability of @len bytes goes; -errno if nowhere. */
static int begin(struct pci_cfg *cfg, unsigned off, uint8_t id, unsigned len)
{
	if (has_cap(cfg, false, id))
		return -EEXIST;
	int o = pci_cfg_place(cfg, false, off, len);
	if (o >= 0)
		pci_cfg_poke(cfg, (uint32_t)o + PCI_CAP_LIST_ID, 1, id);
	return o;
}

/* ---- Power Management ----------------------------------------------- */

static unsigned pm_length(const struct pci_cfg *cfg, unsigned off)
{
	return PCI_PM_SIZEOF;
}

static int pm_init(struct pci_cfg *cfg, struct pci_cap *c)
{
	/* PME cannot reach the client: support and status read as clear. */
	pci_perm(c, PCI_PM_PMC, 2, PCI_PM_CAP_PME_MASK, 0);
	/* The power state is written through pm_write(), not the table. */
	pci_perm(c, PCI_PM_CTRL, 4, PCI_PM_CTRL_PME_ENABLE | PCI_PM_CTRL_PME_STATUS,
		 ~(uint32_t)(PCI_PM_CTRL_PME_ENABLE | PCI_PM_CTRL_PME_STATUS |
			     PCI_PM_CTRL_STATE_MASK));
	uint32_t pmc = c->off + PCI_PM_PMC, ctl = c->off + PCI_PM_CTRL;
	pci_vset(cfg, pmc, 2, pci_vget(cfg, pmc, 2) & ~PCI_PM_CAP_PME_MASK);
	pci_vset(cfg, ctl, 2, pci_vget(cfg, ctl, 2) &
		 ~(PCI_PM_CTRL_PME_ENABLE | PCI_PM_CTRL_PME_STATUS));
	cfg->pm_off = (uint8_t)c->off;
	return 0;
}

static void set_power_state(struct pci_cfg *cfg, const struct pci_cap *c,
			    unsigned state)
{
	uint32_t pmc = bk(cfg, c->off + PCI_PM_PMC, 2);
	if ((state == PCI_PM_D1 && !(pmc & PCI_PM_CAP_D1)) ||
	    (state == PCI_PM_D2 && !(pmc & PCI_PM_CAP_D2)))
		return;        /* unsupported: the function stays where it is */
	/* Only the low byte: PME_Status above is write-1-to-clear. */
	uint32_t lo = bk(cfg, c->off + PCI_PM_CTRL, 1);
	lo = (lo & ~(uint32_t)PCI_PM_CTRL_STATE_MASK) | state;
	if (pci_bk_write(cfg, c->off + PCI_PM_CTRL, 1, lo) == 0)
		cfg->power_state = (uint8_t)state;
}

static int pm_write(struct pci_cfg *cfg, struct pci_cap *c, unsigned coff,
		    unsigned n, uint32_t val)
{
	int r = pci_default_write(cfg, c, coff, n, val);
	if (r == 0 && coff == PCI_PM_CTRL)
		set_power_state(cfg, c, val & PCI_PM_CTRL_STATE_MASK);
	return r;
}

const struct pci_cap_type pci_type_pm = {
	.name = "PM", .id = PCI_CAP_ID_PM,
	.length = pm_length, .init = pm_init, .write = pm_write,
};

int pci_cap_add_pm(struct pci_cfg *cfg, unsigned off, unsigned flags)
{
	if (flags & ~(UVFIO_PCI_PM_D1 | UVFIO_PCI_PM_D2))
		return -EINVAL;
	int o = begin(cfg, off, PCI_CAP_ID_PM, PCI_PM_SIZEOF);
	if (o < 0)
		return o;
	uint32_t pmc = 3 | PCI_PM_CAP_PME_D3hot |
		       (flags & UVFIO_PCI_PM_D1 ? PCI_PM_CAP_D1 : 0) |
		       (flags & UVFIO_PCI_PM_D2 ? PCI_PM_CAP_D2 : 0);
	pci_cfg_poke(cfg, (uint32_t)o + PCI_PM_PMC, 2, pmc);
	/* D3hot to D0 keeps the function's state (the host restores none). */
	pci_cfg_poke(cfg, (uint32_t)o + PCI_PM_CTRL, 2, PCI_PM_CTRL_NO_SOFT_RESET);
	pci_emu_wmask(cfg, (uint32_t)o + PCI_PM_CTRL, 2,
		      PCI_PM_CTRL_STATE_MASK | PCI_PM_CTRL_PME_ENABLE);
	pci_emu_w1c(cfg, (uint32_t)o + PCI_PM_CTRL, 2, PCI_PM_CTRL_PME_STATUS);
	return pci_cap_register(cfg, false, PCI_CAP_ID_PM, (unsigned)o,
				PCI_PM_SIZEOF);
}

/* ---- MSI ------------------------------------------------------------- */

static unsigned msi_len(uint16_t flags)
{
	unsigned len = PCI_MSI_DATA_32 + 2;
	if (flags & PCI_MSI_FLAGS_64BIT)
		len += 4;
	if (flags & PCI_MSI_FLAGS_MASKBIT)
		len += 10;
	return len;
}

static unsigned msi_length(const struct pci_cfg *cfg, unsigned off)
{
	return msi_len((uint16_t)bk(cfg, off + PCI_MSI_FLAGS, 2));
}

static int msi_init(struct pci_cfg *cfg, struct pci_cap *c)
{
	uint16_t fl = (uint16_t)pci_vget(cfg, c->off + PCI_MSI_FLAGS, 2);
	bool is64 = fl & PCI_MSI_FLAGS_64BIT;
	/*
	 * The low byte of the flags is virtual.  Only Enable and Multiple
	 * Message Enable are writable: vfio-pci's table marks the whole byte
	 * writable and then tries to re-derive Multiple Message Capable,
	 * which hardware keeps read-only.
	 */
	pci_perm(c, PCI_MSI_FLAGS, 1, 0xff, PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE);
	/* Address bits 1:0 are reserved zero in hardware. */
	pci_perm(c, PCI_MSI_ADDRESS_LO, 4, 0xffffffffu, 0xfffffffcu);
	if (is64)
		pci_perm(c, PCI_MSI_ADDRESS_HI, 4, 0xffffffffu, 0xffffffffu);
	pci_perm(c, is64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32, 2, 0xffff, 0xffff);
	if (fl & PCI_MSI_FLAGS_MASKBIT) {
		/* Mask and pending bits are the device's. */
		pci_perm(c, is64 ? PCI_MSI_MASK_64 : PCI_MSI_MASK_32, 4, 0,
			 0xffffffffu);
		pci_perm(c, is64 ? PCI_MSI_PENDING_64 : PCI_MSI_PENDING_32, 4, 0,
			 0xffffffffu);
	}
	cfg->msi_off = (uint8_t)c->off;
	return 0;
}

static int msi_write(struct pci_cfg *cfg, struct pci_cap *c, unsigned coff,
		     unsigned n, uint32_t val)
{
	int r = pci_default_write(cfg, c, coff, n, val);
	if (r < 0)
		return r;
	if (coff <= PCI_MSI_FLAGS && coff + n >= PCI_MSI_FLAGS) {
		/* Enable is honoured only while SET_IRQS has MSI enabled,
		 * Multiple Message Enable up to what SET_IRQS allocated. */
		uint32_t at = c->off + PCI_MSI_FLAGS;
		uint32_t fl = pci_vget(cfg, at, 2);
		if (cfg->irq_type != VFIO_PCI_MSI_IRQ_INDEX)
			fl &= ~(uint32_t)PCI_MSI_FLAGS_ENABLE;
		if (((fl & PCI_MSI_FLAGS_QSIZE) >> 4) > cfg->msi_qmax)
			fl = (fl & ~(uint32_t)PCI_MSI_FLAGS_QSIZE) | cfg->msi_qmax << 4;
		pci_vset(cfg, at, 2, fl);
		r = pci_bk_write(cfg, at, 2, fl);
	}
	uint16_t hw = (uint16_t)bk(cfg, c->off + PCI_MSI_FLAGS, 2);
	unsigned mask = hw & PCI_MSI_FLAGS_64BIT ? PCI_MSI_MASK_64 : PCI_MSI_MASK_32;
	if (hw & PCI_MSI_FLAGS_MASKBIT && coff < mask + 4 && coff + n > mask)
		pci_msi_update(cfg);
	return r;
}

const struct pci_cap_type pci_type_msi = {
	.name = "MSI", .id = PCI_CAP_ID_MSI,
	.length = msi_length, .init = msi_init, .write = msi_write,
};

int pci_cap_add_msi(struct pci_cfg *cfg, unsigned off, unsigned nvec,
		    unsigned flags)
{
	if (!is_pow2(nvec) || nvec > 32 ||
	    flags & ~(UVFIO_MSI_64BIT | UVFIO_MSI_MASKABLE))
		return -EINVAL;
	uint16_t fl = (uint16_t)((unsigned)__builtin_ctz(nvec) << 1);
	if (flags & UVFIO_MSI_64BIT)
		fl |= PCI_MSI_FLAGS_64BIT;
	if (flags & UVFIO_MSI_MASKABLE)
		fl |= PCI_MSI_FLAGS_MASKBIT;
	unsigned len = msi_len(fl);
	int o = begin(cfg, off, PCI_CAP_ID_MSI, len);
	if (o < 0)
		return o;
	uint32_t b = (uint32_t)o;
	bool is64 = fl & PCI_MSI_FLAGS_64BIT;
	pci_cfg_poke(cfg, b + PCI_MSI_FLAGS, 2, fl);
	pci_emu_wmask(cfg, b + PCI_MSI_FLAGS, 2,
		      PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE);
	pci_emu_wmask(cfg, b + PCI_MSI_ADDRESS_LO, 4, 0xfffffffcu);
	if (is64)
		pci_emu_wmask(cfg, b + PCI_MSI_ADDRESS_HI, 4, 0xffffffffu);
	pci_emu_wmask(cfg, b + (is64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32), 2, 0xffff);
	if (fl & PCI_MSI_FLAGS_MASKBIT)
		pci_emu_wmask(cfg, b + (is64 ? PCI_MSI_MASK_64 : PCI_MSI_MASK_32), 4,
			      nvec == 32 ? 0xffffffffu : (1u << nvec) - 1);
	return pci_cap_register(cfg, false, PCI_CAP_ID_MSI, b, len);
}

int pci_cfg_add_msi(struct pci_cfg *cfg, unsigned nvectors, unsigned flags)
{
	return pci_cap_add_msi(cfg, 0, nvectors, flags);
}

unsigned pci_cfg_msi_vectors(const struct pci_cfg *cfg)
{
	if (!cfg->msi_off)
		return 0;
	uint32_t fl = pci_vget(cfg, cfg->msi_off + PCI_MSI_FLAGS, 2);
	return 1u << ((fl & PCI_MSI_FLAGS_QMASK) >> 1);
}

/* ---- MSI-X: read-only; enabling is SET_IRQS's, the table is msix.c's -- */

static unsigned msix_length(const struct pci_cfg *cfg, unsigned off)
{
	return PCI_CAP_MSIX_SIZEOF;
}

const struct pci_cap_type pci_type_msix = {
	.name = "MSI-X", .id = PCI_CAP_ID_MSIX,
	.length = msix_length, .init = pci_msix_setup,
};

int pci_cap_add_msix(struct pci_cfg *cfg, unsigned off, unsigned nvec,
		     unsigned table_bar, uint32_t table_off, unsigned pba_bar,
		     uint32_t pba_off)
{
	if (!nvec || nvec > PCI_MSIX_FLAGS_QSIZE + 1u || table_bar > 5 ||
	    pba_bar > 5 || table_off & 7 || pba_off & 7)
		return -EINVAL;
	uint64_t tlen = (uint64_t)nvec * PCI_MSIX_ENTRY_SIZE;
	uint64_t plen = ((nvec + 63u) / 64u) * 8u;
	const unsigned bars[2] = { table_bar, pba_bar };
	const uint64_t end[2] = { table_off + tlen, pba_off + plen };
	for (unsigned i = 0; i < 2; i++) {
		unsigned b = bars[i];
		if (!cfg->bar_size[b] || cfg->bar_flags[b] & UVFIO_BAR_IO ||
		    end[i] > cfg->bar_size[b])
			return -EINVAL;
	}
	if (table_bar == pba_bar && table_off < end[1] && pba_off < end[0])
		return -EINVAL;
	int o = begin(cfg, off, PCI_CAP_ID_MSIX, PCI_CAP_MSIX_SIZEOF);
	if (o < 0)
		return o;
	uint32_t b = (uint32_t)o;
	pci_cfg_poke(cfg, b + PCI_MSIX_FLAGS, 2, nvec - 1);
	pci_cfg_poke(cfg, b + PCI_MSIX_TABLE, 4, table_off | table_bar);
	pci_cfg_poke(cfg, b + PCI_MSIX_PBA, 4, pba_off | pba_bar);
	/* The host side (SET_IRQS) drives enable and the function mask. */
	pci_emu_wmask(cfg, b + PCI_MSIX_FLAGS, 2,
		      PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	return pci_cap_register(cfg, false, PCI_CAP_ID_MSIX, b,
				PCI_CAP_MSIX_SIZEOF);
}

/* ---- PCI Express ------------------------------------------------------ */

static unsigned pcie_len(uint16_t flags)
{
	bool rc_end = (flags & PCI_EXP_FLAGS_TYPE) >> 4 == PCI_EXP_TYPE_RC_END;
	/* Root complex integrated endpoints have no link registers. */
	if ((flags & PCI_EXP_FLAGS_VERS) == 1)
		return rc_end ? PCI_EXP_LNKCAP : PCI_CAP_EXP_ENDPOINT_SIZEOF_V1;
	return rc_end ? PCI_EXP_LNKCAP2 : PCI_CAP_EXP_ENDPOINT_SIZEOF_V2;
}

static unsigned pcie_length(const struct pci_cfg *cfg, unsigned off)
{
	return pcie_len((uint16_t)bk(cfg, off + PCI_EXP_FLAGS, 2));
}

static int pcie_init(struct pci_cfg *cfg, struct pci_cap *c)
{
	/*
	 * Device control is the client's except phantom functions; FLR,
	 * Max_Payload_Size (system-wide) and Max_Read_Request_Size are
	 * virtual.  Device control 2 likewise except ARI forwarding.
	 */
	pci_perm(c, PCI_EXP_DEVCTL, 2,
		 PCI_EXP_DEVCTL_BCR_FLR | PCI_EXP_DEVCTL_PAYLOAD |
		 PCI_EXP_DEVCTL_READRQ, (uint16_t)~PCI_EXP_DEVCTL_PHANTOM);
	if (c->len >= PCI_EXP_DEVCTL2 + 2)
		pci_perm(c, PCI_EXP_DEVCTL2, 2, 0, (uint16_t)~PCI_EXP_DEVCTL2_ARI);
	cfg->pcie_off = (uint8_t)c->off;
	return 0;
}

static int pcie_write(struct pci_cfg *cfg, struct pci_cap *c, unsigned coff,
		      unsigned n, uint32_t val)
{
	uint32_t at = c->off + PCI_EXP_DEVCTL;
	uint32_t old_rq = pci_vget(cfg, at, 2) & PCI_EXP_DEVCTL_READRQ;
	int r = pci_default_write(cfg, c, coff, n, val);
	if (r < 0)
		return r;
	uint32_t ctl = pci_vget(cfg, at, 2);
	if ((ctl & PCI_EXP_DEVCTL_READRQ) != old_rq) {
		/* The device gets the client's MRRS, but never below its MPS
		 * (in the same 128 << n encoding). */
		uint32_t phys = bk(cfg, at, 2);
		uint32_t mps = (phys & PCI_EXP_DEVCTL_PAYLOAD) >> 5;
		uint32_t rq = (ctl & PCI_EXP_DEVCTL_READRQ) >> 12;
		if (rq < mps)
			rq = mps;
		uint32_t hi = ((phys >> 8) & ~(PCI_EXP_DEVCTL_READRQ >> 8)) | rq << 4;
		pci_bk_write(cfg, at + 1, 1, hi & 0x7f);
	}
	if (ctl & PCI_EXP_DEVCTL_BCR_FLR) {
		/* FLR reads as zero; it resets when the device can. */
		pci_vset(cfg, at, 2, ctl & ~(uint32_t)PCI_EXP_DEVCTL_BCR_FLR);
		if (bk(cfg, c->off + PCI_EXP_DEVCAP, 4) & PCI_EXP_DEVCAP_FLR &&
		    cfg->hooks.flr)
			cfg->hooks.flr(cfg->hooks.opaque);
	}
	return 0;
}

const struct pci_cap_type pci_type_pcie = {
	.name = "PCIe", .id = PCI_CAP_ID_EXP,
	.length = pcie_length, .init = pcie_init, .write = pcie_write,
};

int pci_cap_add_pcie(struct pci_cfg *cfg, unsigned off, unsigned type,
		     unsigned flags)
{
	if ((type != PCI_EXP_TYPE_ENDPOINT && type != PCI_EXP_TYPE_LEG_END &&
	     type != PCI_EXP_TYPE_RC_END) || flags & ~UVFIO_PCIE_FLR)
		return -EINVAL;
	uint16_t fl = (uint16_t)(2 | type << 4);
	unsigned len = pcie_len(fl);
	int o = begin(cfg, off, PCI_CAP_ID_EXP, len);
	if (o < 0)
		return o;
	uint32_t b = (uint32_t)o;
	pci_cfg_poke(cfg, b + PCI_EXP_FLAGS, 2, fl);
	pci_cfg_poke(cfg, b + PCI_EXP_DEVCAP, 4,
		     1 /* 256-byte payload */ | PCI_EXP_DEVCAP_EXT_TAG |
		     PCI_EXP_DEVCAP_RBER |
		     (flags & UVFIO_PCIE_FLR ? PCI_EXP_DEVCAP_FLR : 0));
	pci_cfg_poke(cfg, b + PCI_EXP_DEVCTL, 2,
		     PCI_EXP_DEVCTL_RELAX_EN | PCI_EXP_DEVCTL_NOSNOOP_EN |
		     PCI_EXP_DEVCTL_READRQ_512B);
	pci_emu_wmask(cfg, b + PCI_EXP_DEVCTL, 2,
		      PCI_EXP_DEVCTL_CERE | PCI_EXP_DEVCTL_NFERE |
		      PCI_EXP_DEVCTL_FERE | PCI_EXP_DEVCTL_URRE |
		      PCI_EXP_DEVCTL_RELAX_EN | PCI_EXP_DEVCTL_PAYLOAD |
		      PCI_EXP_DEVCTL_EXT_TAG | PCI_EXP_DEVCTL_AUX_PME |
		      PCI_EXP_DEVCTL_NOSNOOP_EN | PCI_EXP_DEVCTL_READRQ);
	pci_emu_w1c(cfg, b + PCI_EXP_DEVSTA, 2,
		    PCI_EXP_DEVSTA_CED | PCI_EXP_DEVSTA_NFED |
		    PCI_EXP_DEVSTA_FED | PCI_EXP_DEVSTA_URD);
	if (type != PCI_EXP_TYPE_RC_END) {
		pci_cfg_poke(cfg, b + PCI_EXP_LNKCAP, 4,
			     PCI_EXP_LNKCAP_SLS_2_5GB | 1u << 4 /* x1 */);
		pci_cfg_poke(cfg, b + PCI_EXP_LNKSTA, 2,
			     PCI_EXP_LNKSTA_CLS_2_5GB | 1u << PCI_EXP_LNKSTA_NLW_SHIFT);
		pci_cfg_poke(cfg, b + PCI_EXP_LNKCAP2, 4, PCI_EXP_LNKCAP2_SLS_2_5GB);
		pci_cfg_poke(cfg, b + PCI_EXP_LNKCTL2, 2, 1 /* 2.5 GT/s */);
	}
	pci_cfg_poke(cfg, b + PCI_EXP_DEVCAP2, 4, PCI_EXP_DEVCAP2_COMP_TMOUT_DIS);
	pci_emu_wmask(cfg, b + PCI_EXP_DEVCTL2, 2, PCI_EXP_DEVCTL2_COMP_TIMEOUT |
		      PCI_EXP_DEVCTL2_COMP_TMOUT_DIS);
	int r = pci_cap_register(cfg, false, PCI_CAP_ID_EXP, b, len);
	if (r >= 0)
		pci_cfg_set_express(cfg);
	return r;
}

/* ---- Advanced Features -------------------------------------------------- */

static unsigned af_length(const struct pci_cfg *cfg, unsigned off)
{
	return PCI_CAP_AF_SIZEOF;
}

static int af_init(struct pci_cfg *cfg, struct pci_cap *c)
{
	pci_perm(c, PCI_AF_CTRL, 1, PCI_AF_CTRL_FLR, PCI_AF_CTRL_FLR);
	cfg->af_off = (uint8_t)c->off;
	return 0;
}

static int af_write(struct pci_cfg *cfg, struct pci_cap *c, unsigned coff,
		    unsigned n, uint32_t val)
{
	int r = pci_default_write(cfg, c, coff, n, val);
	if (r < 0)
		return r;
	uint32_t at = c->off + PCI_AF_CTRL;
	if (cfg->vconfig[at] & PCI_AF_CTRL_FLR) {
		cfg->vconfig[at] &= (uint8_t)~PCI_AF_CTRL_FLR;
		uint32_t cap = bk(cfg, c->off + PCI_AF_CAP, 1);
		if (cap & PCI_AF_CAP_FLR && cap & PCI_AF_CAP_TP && cfg->hooks.flr)
			cfg->hooks.flr(cfg->hooks.opaque);
	}
	return 0;
}

const struct pci_cap_type pci_type_af = {
	.name = "AF", .id = PCI_CAP_ID_AF,
	.length = af_length, .init = af_init, .write = af_write,
};

int pci_cap_add_af(struct pci_cfg *cfg, unsigned off)
{
	int o = begin(cfg, off, PCI_CAP_ID_AF, PCI_CAP_AF_SIZEOF);
	if (o < 0)
		return o;
	pci_cfg_poke(cfg, (uint32_t)o + PCI_AF_LENGTH, 1, PCI_CAP_AF_SIZEOF);
	pci_cfg_poke(cfg, (uint32_t)o + PCI_AF_CAP, 1, PCI_AF_CAP_TP | PCI_AF_CAP_FLR);
	return pci_cap_register(cfg, false, PCI_CAP_ID_AF, (unsigned)o,
				PCI_CAP_AF_SIZEOF);
}

/* ---- Vital Product Data ------------------------------------------------- */

static unsigned vpd_length(const struct pci_cfg *cfg, unsigned off)
{
	return PCI_CAP_VPD_SIZEOF;
}

static int vpd_init(struct pci_cfg *cfg, struct pci_cap *c)
{
	/* Both registers are virtual: the F flag drives an access here. */
	pci_perm(c, PCI_VPD_ADDR, 2, 0xffff, 0xffff);
	pci_perm(c, PCI_VPD_DATA, 4, 0xffffffffu, 0xffffffffu);
	cfg->vpd_off = (uint8_t)c->off;
	return 0;
}

static int vpd_write(struct pci_cfg *cfg, struct pci_cap *c, unsigned coff,
		     unsigned n, uint32_t val)
{
	int r = pci_default_write(cfg, c, coff, n, val);
	/* Act only when the byte holding F was written. */
	if (r < 0 || coff > PCI_VPD_ADDR + 1 || coff + n <= PCI_VPD_ADDR + 1)
		return r;
	uint32_t at = c->off + PCI_VPD_ADDR, dat = c->off + PCI_VPD_DATA;
	uint32_t addr = pci_vget(cfg, at, 2);
	uint32_t a = addr & PCI_VPD_ADDR_MASK;
	const struct pci_vpd *v = &cfg->vpd;
	/* Out of range: F does not toggle and the driver times out. */
	if (!v->data || a + 4 > v->len)
		return 0;
	if (addr & PCI_VPD_ADDR_F) {
		uint32_t d = pci_vget(cfg, dat, 4);
		for (unsigned i = 0; i < 4; i++)
			v->data[a + i] = (uint8_t)(d >> (8 * i));
	} else {
		uint32_t d = 0;
		for (unsigned i = 0; i < 4; i++)
			d |= (uint32_t)v->data[a + i] << (8 * i);
		pci_vset(cfg, dat, 4, d);
	}
	pci_vset(cfg, at, 2, addr ^ PCI_VPD_ADDR_F);
	return 0;
}

const struct pci_cap_type pci_type_vpd = {
	.name = "VPD", .id = PCI_CAP_ID_VPD,
	.length = vpd_length, .init = vpd_init, .write = vpd_write,
};

int pci_cap_add_vpd(struct pci_cfg *cfg, unsigned off, const void *data,
		    size_t len)
{
	if (!data || len < 4 || len > PCI_VPD_ADDR_MASK + 1u || len % 4)
		return -EINVAL;
	if (has_cap(cfg, false, PCI_CAP_ID_VPD))
		return -EEXIST;
	int o = pci_cfg_place(cfg, false, off, PCI_CAP_VPD_SIZEOF);
	if (o < 0)
		return o;
	uint8_t *store = malloc(2 * len);
	if (!store)
		return -ENOMEM;
	memcpy(store, data, len);
	memcpy(store + len, data, len);
	pci_cfg_poke(cfg, (uint32_t)o, 1, PCI_CAP_ID_VPD);
	int r = pci_cap_register(cfg, false, PCI_CAP_ID_VPD, (unsigned)o,
				 PCI_CAP_VPD_SIZEOF);
	if (r < 0) {
		free(store);
		return r;
	}
	cfg->vpd.data = store;
	cfg->vpd.init = store + len;
	cfg->vpd.len = (uint32_t)len;
	return r;
}

/* ---- vendor-specific: everything after the header goes to the device -- */

static unsigned vendor_length(const struct pci_cfg *cfg, unsigned off)
{
	return bk(cfg, off + PCI_CAP_FLAGS, 1);
}

static int vendor_init(struct pci_cfg *cfg, struct pci_cap *c)
{
	for (unsigned i = PCI_CAP_FLAGS; i < c->len; i++)
		pci_perm(c, i, 1, 0, 0xff);
	return 0;
}

const struct pci_cap_type pci_type_vendor = {
	.name = "vendor", .id = PCI_CAP_ID_VNDR,
	.length = vendor_length, .init = vendor_init,
};

int pci_cap_add_vendor(struct pci_cfg *cfg, unsigned off, const void *data,
		       size_t len)
{
	if ((len && !data) || len > 252)
		return -EINVAL;
	unsigned total = PCI_CAP_FLAGS + 1 + (unsigned)len;
	int o = pci_cfg_place(cfg, false, off, total);
	if (o < 0)
		return o;
	uint32_t b = (uint32_t)o;
	pci_cfg_poke(cfg, b, 1, PCI_CAP_ID_VNDR);
	pci_cfg_poke(cfg, b + PCI_CAP_FLAGS, 1, total);
	for (size_t i = 0; i < len; i++) {
		pci_cfg_poke(cfg, b + 3 + (uint32_t)i, 1, ((const uint8_t *)data)[i]);
		pci_emu_wmask(cfg, b + 3 + (uint32_t)i, 1, 0xff);
	}
	return pci_cap_register(cfg, false, PCI_CAP_ID_VNDR, b, total);
}
