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

void pci_cfg_reset(struct pci_cfg *cfg)
{
	if (cfg->bk.reset)
		cfg->bk.reset(cfg->bk.opaque);
	memcpy(cfg->vconfig, cfg->vinit, PCI_CFG_EXP_SIZE);
	if (cfg->vpd.data)
		memcpy(cfg->vpd.data, cfg->vpd.init, cfg->vpd.len);
	pci_msix_reset(cfg);
	cfg->power_state = PCI_PM_D0;
	cfg->intx_disabled = pci_cfg_command(cfg) & PCI_COMMAND_INTX_DISABLE;
	/* VF Enable is clear again: the device drops its VFs. */
	if (cfg->sriov_off && cfg->hooks.sriov)
		cfg->hooks.sriov(cfg->hooks.opaque);
}
