/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The access engine: life cycle, cutting client accesses into pieces,
 * and the default merge of virtual and backing bits.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "pci/cfg.h"
#include "pci/emu.h"

static uint32_t ones(unsigned n)
{
	return n >= 4 ? 0xffffffffu : (1u << (8 * n)) - 1;
}

static uint32_t get_n(const uint8_t *p, unsigned n)
{
	uint32_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

static void put_n(uint8_t *p, unsigned n, uint32_t v)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

uint32_t pci_vget(const struct pci_cfg *cfg, uint32_t off, unsigned n)
{
	return get_n(cfg->vconfig + off, n);
}

void pci_vset(struct pci_cfg *cfg, uint32_t off, unsigned n, uint32_t v)
{
	put_n(cfg->vconfig + off, n, v);
}

int pci_bk_read(const struct pci_cfg *cfg, uint32_t off, unsigned n,
		uint32_t *val)
{
	uint8_t b[4] = { 0 };
	int r = cfg->bk.read(cfg->bk.opaque, off, b, n);
	*val = r < 0 ? 0 : get_n(b, n);
	return r < 0 ? r : 0;
}

int pci_bk_write(const struct pci_cfg *cfg, uint32_t off, unsigned n,
		 uint32_t val)
{
	uint8_t b[4];
	put_n(b, n, val);
	int r = cfg->bk.write(cfg->bk.opaque, off, b, n);
	return r < 0 ? r : 0;
}

/* The largest naturally aligned size not above @left at @off. */
static unsigned aligned_size(uint32_t off, size_t left)
{
	if (left >= 4 && !(off & 3))
		return 4;
	if (left >= 2 && !(off & 1))
		return 2;
	return 1;
}

/*
 * Write to the backing only the bytes of @v that carry writable bits
 * (@mask): a dword write-back would also hit neighbouring registers,
 * write-1-to-clear status bits among them.
 */
static int bk_write_masked(const struct pci_cfg *cfg, uint32_t pos,
			   unsigned n, uint32_t v, uint32_t mask)
{
	unsigned i = 0;
	while (i < n) {
		if (!((mask >> (8 * i)) & 0xff)) {
			i++;
			continue;
		}
		unsigned end = i;
		while (end < n && ((mask >> (8 * end)) & 0xff))
			end++;
		while (i < end) {
			unsigned k = aligned_size(pos + i, end - i);
			uint32_t part = (v >> (8 * i)) & ones(k);
			int r = pci_bk_write(cfg, pos + i, k, part);
			if (r < 0)
				return r;
			i += k;
		}
	}
	return 0;
}

void pci_perm(struct pci_cap *cap, unsigned coff, unsigned n, uint32_t virt,
	      uint32_t write)
{
	if (coff + n > ((cap->len + 3u) & ~3u))
		return;
	put_n(cap->virt + coff, n, virt);
	put_n(cap->write + coff, n, write);
}

void pci_cfg_poke(struct pci_cfg *cfg, uint32_t off, unsigned n, uint32_t v)
{
	uint8_t b[4];
	put_n(b, n, v);
	if (cfg->emu)
		pci_emu_poke(cfg->emu, off, b, n);
	memcpy(cfg->vconfig + off, b, n);
}

void pci_emu_wmask(struct pci_cfg *cfg, uint32_t off, unsigned n, uint32_t m)
{
	if (cfg->emu)
		pci_emu_set_wmask(cfg->emu, off, n, m);
}

void pci_emu_w1c(struct pci_cfg *cfg, uint32_t off, unsigned n, uint32_t m)
{
	if (cfg->emu)
		pci_emu_set_w1c(cfg->emu, off, n, m);
}

/* ---- the default access -------------------------------------------- */

int pci_default_read(const struct pci_cfg *cfg, const struct pci_cap *cap,
		     unsigned coff, unsigned n, uint32_t *val)
{
	uint32_t pos = cap->off + coff;
	uint32_t virt = get_n(cap->virt + coff, n);
	uint32_t v = pci_vget(cfg, pos, n);
	if (virt != ones(n)) {
		uint32_t phys;
		int r = pci_bk_read(cfg, pos, n, &phys);
		if (r < 0)
			return r;
		v = (phys & ~virt) | (v & virt);
	}
	*val = v;
	return 0;
}

int pci_default_write(struct pci_cfg *cfg, struct pci_cap *cap,
		      unsigned coff, unsigned n, uint32_t val)
{
	uint32_t pos = cap->off + coff;
	uint32_t write = get_n(cap->write + coff, n);
	if (!write)
		return 0;      /* nothing writable: dropped, as in hardware */
	uint32_t virt = get_n(cap->virt + coff, n);
	uint32_t wv = write & virt, wp = write & ~virt;
	if (wv)
		pci_vset(cfg, pos, n, (pci_vget(cfg, pos, n) & ~wv) | (val & wv));
	if (wp) {
		uint32_t phys;
		int r = pci_bk_read(cfg, pos, n, &phys);
		if (r < 0)
			return r;
		phys = (phys & ~wp) | (val & wp);
		return bk_write_masked(cfg, pos, n, phys, wp);
	}
	return 0;
}

/* ---- cutting accesses ---------------------------------------------- */

/* Stop at a dword boundary and where another owner starts. */
static unsigned piece_len(const struct pci_cfg *cfg, uint32_t pos, size_t left)
{
	uint8_t owner = cfg->map[pos];
	size_t n = 1;
	while (n < left && (pos + n) % 4 && cfg->map[pos + n] == owner)
		n++;
	return aligned_size(pos, n);
}

static int read_piece(const struct pci_cfg *cfg, uint32_t pos, unsigned n,
		      uint32_t *val)
{
	uint8_t slot = cfg->map[pos];
	if (slot == PCI_MAP_UNOWNED)
		return pci_bk_read(cfg, pos, n, val);
	if (slot == PCI_MAP_VIRT) {
		*val = pci_vget(cfg, pos, n);
		return 0;
	}
	const struct pci_cap *cap = &cfg->caps[slot];
	unsigned coff = pos - cap->off;
	if (cap->type && cap->type->read && !cap->placeholder)
		return cap->type->read(cfg, cap, coff, n, val);
	return pci_default_read(cfg, cap, coff, n, val);
}

static int write_piece(struct pci_cfg *cfg, uint32_t pos, unsigned n,
		       uint32_t val)
{
	uint8_t slot = cfg->map[pos];
	if (slot == PCI_MAP_UNOWNED)
		return pci_bk_write(cfg, pos, n, val);
	if (slot == PCI_MAP_VIRT) {
		pci_vset(cfg, pos, n, val);
		return 0;
	}
	struct pci_cap *cap = &cfg->caps[slot];
	unsigned coff = pos - cap->off;
	if (cap->type && cap->type->write && !cap->placeholder)
		return cap->type->write(cfg, cap, coff, n, val);
	return pci_default_write(cfg, cap, coff, n, val);
}

int pci_cfg_read(const struct pci_cfg *cfg, uint64_t off, void *buf,
		 size_t len)
{
	if (!range_ok(off, len, cfg->size))
		return -EFAULT;
	uint8_t *b = buf;
	uint32_t pos = (uint32_t)off;
	while (len) {
		unsigned n = piece_len(cfg, pos, len);
		uint32_t v;
		int r = read_piece(cfg, pos, n, &v);
		if (r < 0)
			return r;
		put_n(b, n, v);
		b += n;
		pos += n;
		len -= n;
	}
	return 0;
}

int pci_cfg_write(struct pci_cfg *cfg, uint64_t off, const void *buf,
		  size_t len)
{
	if (!range_ok(off, len, cfg->size))
		return -EFAULT;
	const uint8_t *b = buf;
	uint32_t pos = (uint32_t)off;
	while (len) {
		unsigned n = piece_len(cfg, pos, len);
		int r = write_piece(cfg, pos, n, get_n(b, n));
		if (r < 0)
			return r;
		b += n;
		pos += n;
		len -= n;
	}
	return 0;
}

/* ---- the device's side ---------------------------------------------- */

int pci_cfg_phys_read(const struct pci_cfg *cfg, uint32_t off, void *buf,
		      size_t len)
{
	if (!range_ok(off, len, cfg->size))
		return -EFAULT;
	uint8_t *b = buf;
	while (len) {
		unsigned n = aligned_size(off, len);
		uint32_t v;
		int r = pci_bk_read(cfg, off, n, &v);
		if (r < 0)
			return r;
		put_n(b, n, v);
		b += n;
		off += n;
		len -= n;
	}
	return 0;
}

static bool overlaps(uint32_t a, size_t alen, uint32_t b, size_t blen)
{
	return blen && a < b + blen && b < a + alen;
}

int pci_cfg_phys_write(struct pci_cfg *cfg, uint32_t off, const void *buf,
		       size_t len)
{
	if (!cfg->emu)
		return -ENOTSUP;
	if (!range_ok(off, len, cfg->size))
		return -EFAULT;
	pci_emu_poke(cfg->emu, off, buf, len);
	/* Masks the device changed may release pending vectors. */
	if (cfg->msi_off && overlaps(off, len, cfg->msi_off, 24))
		pci_msi_update(cfg);
	if (cfg->msix.cap && overlaps(off, len, cfg->msix.cap, PCI_CAP_MSIX_SIZEOF))
		pci_msix_update(cfg);
	return 0;
}

/* ---- life cycle ------------------------------------------------------ */

static struct pci_cfg *cfg_alloc(uint32_t size)
{
	if (size != PCI_CFG_SIZE && size != PCI_CFG_EXP_SIZE)
		return NULL;
	struct pci_cfg *cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return NULL;
	/* Arrays are 4 KiB whatever the size, so PCIe can be added later. */
	cfg->vconfig = calloc(3, PCI_CFG_EXP_SIZE);
	if (!cfg->vconfig) {
		free(cfg);
		return NULL;
	}
	cfg->vinit = cfg->vconfig + PCI_CFG_EXP_SIZE;
	cfg->map = cfg->vconfig + 2 * PCI_CFG_EXP_SIZE;
	memset(cfg->map, PCI_MAP_UNOWNED, PCI_CFG_EXP_SIZE);
	cfg->size = size;
	cfg->irq_type = -1;
	return cfg;
}

static int add_header(struct pci_cfg *cfg)
{
	struct pci_cap *h = &cfg->caps[0];
	h->off = 0;
	h->len = PCI_STD_HEADER_SIZEOF;
	h->kind = PCI_KIND_HDR;
	h->type = &pci_type_header;
	h->virt = calloc(2, PCI_STD_HEADER_SIZEOF);
	if (!h->virt)
		return -ENOMEM;
	h->write = h->virt + PCI_STD_HEADER_SIZEOF;
	cfg->ncaps = 1;
	uint32_t v;
	for (uint32_t o = 0; o < PCI_STD_HEADER_SIZEOF; o += 4)
		if (pci_bk_read(cfg, o, 4, &v) == 0)
			pci_vset(cfg, o, 4, v);
	return h->type->init(cfg, h);
}

struct pci_cfg *pci_cfg_new(uint32_t size)
{
	struct pci_cfg *cfg = cfg_alloc(size);
	if (!cfg)
		return NULL;
	cfg->emu = pci_emu_new(&cfg->bk);
	if (!cfg->emu || add_header(cfg) < 0) {
		pci_cfg_free(cfg);
		return NULL;
	}
	pci_hdr_emu_init(cfg);
	pci_cfg_relink(cfg);
	return cfg;
}

void pci_cfg_free(struct pci_cfg *cfg)
{
	if (!cfg)
		return;
	for (unsigned i = 0; i < cfg->ncaps; i++)
		free(cfg->caps[i].virt);
	free(cfg->msix.table);
	free(cfg->vpd.data);
	pci_emu_free(cfg->emu);
	free(cfg->vconfig);
	free(cfg);
}

void pci_cfg_set_hooks(struct pci_cfg *cfg, const struct pci_cfg_hooks *h)
{
	if (h)
		cfg->hooks = *h;
	else
		memset(&cfg->hooks, 0, sizeof(cfg->hooks));
}

void pci_cfg_seal(struct pci_cfg *cfg)
{
	pci_cfg_relink(cfg);
	memcpy(cfg->vinit, cfg->vconfig, PCI_CFG_EXP_SIZE);
	if (cfg->emu)
		pci_emu_seal(cfg->emu);
	if (cfg->vpd.data)
		memcpy(cfg->vpd.init, cfg->vpd.data, cfg->vpd.len);
	for (unsigned i = 0; i < 7; i++) {
		uint32_t off = i < 6 ? PCI_BASE_ADDRESS_0 + 4 * i : PCI_ROM_ADDRESS;
		pci_bk_read(cfg, off, 4, &cfg->rbar[i]);
	}
	cfg->sealed = true;
}

/*
 * The device registers the kernel saves before a function reset and
 * writes back after it (pci_save_state()/pci_restore_state()): the
 * header's control registers, the PCIe control registers, the AER masks
 * and severities.  Status and error registers are not among them, nor
 * interrupt state: uvfio turns interrupts off on reset.
 */
struct kept_reg {
	uint8_t kind;              /* 0 header, 1 PCIe, 2 AER */
	uint8_t n;
	uint16_t coff;
};

static const struct kept_reg kept_regs[] = {
	{ 0, 2, PCI_COMMAND }, { 0, 1, PCI_CACHE_LINE_SIZE },
	{ 0, 1, PCI_LATENCY_TIMER },
	{ 1, 2, PCI_EXP_DEVCTL }, { 1, 2, PCI_EXP_LNKCTL },
	{ 1, 2, PCI_EXP_SLTCTL }, { 1, 2, PCI_EXP_RTCTL },
	{ 1, 2, PCI_EXP_DEVCTL2 }, { 1, 2, PCI_EXP_LNKCTL2 },
	{ 1, 2, PCI_EXP_SLTCTL2 },
	{ 2, 4, PCI_ERR_UNCOR_MASK }, { 2, 4, PCI_ERR_UNCOR_SEVER },
	{ 2, 4, PCI_ERR_COR_MASK }, { 2, 4, PCI_ERR_CAP },
};
#define NKEPT (sizeof(kept_regs) / sizeof(kept_regs[0]))

/* The capability a kept register lives in, NULL when the device has none
 * (or it is too short to hold the register). */
static const struct pci_cap *kept_cap(const struct pci_cfg *cfg,
				      const struct kept_reg *k)
{
	uint32_t off = k->kind == 0 ? 0 : k->kind == 1 ? cfg->pcie_off
						      : cfg->aer_off;
	if (k->kind && !off)
		return NULL;
	uint8_t slot = cfg->map[off];
	if (slot >= cfg->ncaps)
		return NULL;
	const struct pci_cap *c = &cfg->caps[slot];
	if (c->off != off || c->hidden || k->coff + k->n > c->len)
		return NULL;
	return c;
}

/* Bits of a kept register the client can change in the device. */
static uint32_t kept_mask(const struct pci_cap *c, const struct kept_reg *k)
{
	uint32_t m = get_n(c->write + k->coff, k->n) &
		     ~get_n(c->virt + k->coff, k->n);
	if (k->kind == 1 && k->coff == PCI_EXP_DEVCTL)
		m &= ~(uint32_t)PCI_EXP_DEVCTL_BCR_FLR;
	return m;
}

/*
 * A function reset as vfio-pci performs one: the device returns to its
 * power-on state, the kernel writes back the control registers it saved,
 * and its virtual config space is left as it was.  So what the client
 * programmed stays (BARs, ROM, COMMAND, interrupt line, cache line and
 * latency, PCIe device control, MSI address and data, AER masks), while
 * status and error bits, the power state (D0), VPD and Advanced Features
 * control, the MSI-X table and pending bits, and SR-IOV control (the VFs
 * go) return to power-on values, and so does anything the device keeps
 * itself.
 */
void pci_cfg_reset(struct pci_cfg *cfg)
{
	uint32_t saved[NKEPT];
	for (unsigned i = 0; i < NKEPT; i++) {
		const struct pci_cap *c = kept_cap(cfg, &kept_regs[i]);
		saved[i] = 0;
		if (c)
			pci_bk_read(cfg, c->off + kept_regs[i].coff,
				    kept_regs[i].n, &saved[i]);
	}
	uint8_t *vkeep = malloc(cfg->size);
	if (vkeep)
		memcpy(vkeep, cfg->vconfig, cfg->size);

	if (cfg->bk.reset)
		cfg->bk.reset(cfg->bk.opaque);
	memcpy(cfg->vconfig, cfg->vinit, PCI_CFG_EXP_SIZE);

	/* The virtual copy: what the client could write stays. */
	for (uint32_t pos = 0; vkeep && pos < cfg->size; pos++) {
		uint8_t slot = cfg->map[pos], m = 0;
		/* A model's virtual range is device state: power-on. */
		if (slot < cfg->ncaps) {
			const struct pci_cap *c = &cfg->caps[slot];
			if (!c->hidden && !c->placeholder)
				m = c->virt[pos - c->off] & c->write[pos - c->off];
		}
		/* The decode enables the client wrote are remembered here too. */
		if (pos == PCI_COMMAND)
			m |= PCI_COMMAND_MEMORY | PCI_COMMAND_IO;
		cfg->vconfig[pos] = (uint8_t)((vkeep[pos] & m) |
					      (cfg->vinit[pos] & ~m));
	}
	free(vkeep);
	/* Registers whose reset value is the point of a reset. */
	if (cfg->msi_off)
		memcpy(cfg->vconfig + cfg->msi_off + PCI_MSI_FLAGS,
		       cfg->vinit + cfg->msi_off + PCI_MSI_FLAGS, 2);
	if (cfg->vpd_off)
		memcpy(cfg->vconfig + cfg->vpd_off + PCI_VPD_ADDR,
		       cfg->vinit + cfg->vpd_off + PCI_VPD_ADDR, 6);
	if (cfg->af_off)
		cfg->vconfig[cfg->af_off + PCI_AF_CTRL] =
			cfg->vinit[cfg->af_off + PCI_AF_CTRL];
	if (cfg->pm_off)
		memcpy(cfg->vconfig + cfg->pm_off + PCI_PM_CTRL,
		       cfg->vinit + cfg->pm_off + PCI_PM_CTRL, 4);

	/* The device: the kernel writes back what it saved. */
	for (unsigned i = 0; i < NKEPT; i++) {
		const struct kept_reg *k = &kept_regs[i];
		const struct pci_cap *c = kept_cap(cfg, k);
		if (!c)
			continue;
		uint32_t m = kept_mask(c, k), now;
		if (!m || pci_bk_read(cfg, c->off + k->coff, k->n, &now) < 0)
			continue;
		bk_write_masked(cfg, c->off + k->coff, k->n,
				(now & ~m) | (saved[i] & m), m);
	}

	if (cfg->vpd.data)
		memcpy(cfg->vpd.data, cfg->vpd.init, cfg->vpd.len);
	pci_msix_reset(cfg);
	cfg->power_state = PCI_PM_D0;
	cfg->intx_disabled = pci_cfg_command(cfg) & PCI_COMMAND_INTX_DISABLE;
	/* VF Enable is clear again: the device drops its VFs. */
	if (cfg->sriov_off && cfg->hooks.sriov)
		cfg->hooks.sriov(cfg->hooks.opaque);
}
