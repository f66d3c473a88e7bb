/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Interrupt state in config space: the MSI-X table and pending-bit array
 * (emulated by the engine inside their BAR), MSI per-vector masking, the
 * SET_IRQS side of MSI/MSI-X enable, and COMMAND's INTx disable.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "pci/cfg.h"
#include "pci/emu.h"

static uint32_t bk(const struct pci_cfg *cfg, uint32_t off, unsigned n)
{
	uint32_t v;
	return pci_bk_read(cfg, off, n, &v) < 0 ? 0 : v;
}

/* ---- MSI-X table and PBA --------------------------------------------- */

int pci_msix_setup(struct pci_cfg *cfg, struct pci_cap *c)
{
	struct pci_msix *m = &cfg->msix;
	if (m->cap)
		return -EEXIST;
	/* Where the table lives comes from the device, as for real hardware. */
	uint32_t fl = bk(cfg, c->off + PCI_MSIX_FLAGS, 2);
	uint32_t t = bk(cfg, c->off + PCI_MSIX_TABLE, 4);
	uint32_t p = bk(cfg, c->off + PCI_MSIX_PBA, 4);
	unsigned nvec = (fl & PCI_MSIX_FLAGS_QSIZE) + 1;
	uint32_t plen = ((nvec + 63) / 64) * 8;
	uint8_t *mem = calloc(1, (size_t)nvec * PCI_MSIX_ENTRY_SIZE + plen);
	if (!mem)
		return -ENOMEM;
	m->cap = c->off;
	m->nvec = (uint16_t)nvec;
	m->table_bar = (uint8_t)(t & PCI_MSIX_TABLE_BIR);
	m->table_off = t & PCI_MSIX_TABLE_OFFSET;
	m->pba_bar = (uint8_t)(p & PCI_MSIX_PBA_BIR);
	m->pba_off = p & PCI_MSIX_PBA_OFFSET;
	m->pba_len = plen;
	m->table = mem;
	m->pba = mem + (size_t)nvec * PCI_MSIX_ENTRY_SIZE;
	pci_msix_reset(cfg);
	return 0;
}

/* Every vector masked, nothing pending: the state after reset. */
void pci_msix_reset(struct pci_cfg *cfg)
{
	struct pci_msix *m = &cfg->msix;
	if (!m->table)
		return;
	memset(m->table, 0, (size_t)m->nvec * PCI_MSIX_ENTRY_SIZE + m->pba_len);
	for (unsigned v = 0; v < m->nvec; v++)
		m->table[v * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL] =
			PCI_MSIX_ENTRY_CTRL_MASKBIT;
}

static bool vector_masked(const struct pci_msix *m, unsigned v)
{
	return m->table[v * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL] &
	       PCI_MSIX_ENTRY_CTRL_MASKBIT;
}

static void set_pending(struct pci_msix *m, unsigned v, bool on)
{
	uint8_t bit = (uint8_t)(1u << (v % 8));
	if (on)
		m->pba[v / 8] |= bit;
	else
		m->pba[v / 8] &= (uint8_t)~bit;
}

static bool pending(const struct pci_msix *m, unsigned v)
{
	return m->pba[v / 8] & (1u << (v % 8));
}

bool pci_cfg_msix_enabled(const struct pci_cfg *cfg)
{
	return cfg->msix.cap &&
	       bk(cfg, cfg->msix.cap + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_ENABLE;
}

bool pci_cfg_msix_masked(const struct pci_cfg *cfg)
{
	return cfg->msix.cap &&
	       bk(cfg, cfg->msix.cap + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_MASKALL;
}

bool pci_cfg_msix_vector_masked(const struct pci_cfg *cfg, unsigned v)
{
	return cfg->msix.cap && v < cfg->msix.nvec && vector_masked(&cfg->msix, v);
}

unsigned pci_cfg_msix_vectors(const struct pci_cfg *cfg)
{
	return cfg->msix.cap ? cfg->msix.nvec : 0;
}

/* Deliver what is pending and no longer masked. */
void pci_msix_update(struct pci_cfg *cfg)
{
	struct pci_msix *m = &cfg->msix;
	if (!m->cap || pci_cfg_msix_masked(cfg))
		return;
	for (unsigned v = 0; v < m->nvec; v++) {
		if (!pending(m, v) || vector_masked(m, v))
			continue;
		set_pending(m, v, false);
		if (cfg->hooks.deliver)
			cfg->hooks.deliver(cfg->hooks.opaque,
					   VFIO_PCI_MSIX_IRQ_INDEX, v);
	}
}

bool pci_cfg_msix_gate(struct pci_cfg *cfg, unsigned v)
{
	struct pci_msix *m = &cfg->msix;
	if (!m->cap || v >= m->nvec)
		return true;
	if (pci_cfg_msix_masked(cfg) || vector_masked(m, v)) {
		set_pending(m, v, true);
		return false;
	}
	return true;
}

/*
 * The host side bound or released vector @v.  As when the kernel's
 * MSI-X code requests an interrupt, binding unmasks the entry; releasing
 * masks it and forgets what was pending.
 */
void pci_cfg_msix_bind(struct pci_cfg *cfg, unsigned v, bool bound)
{
	struct pci_msix *m = &cfg->msix;
	if (!m->cap || v >= m->nvec)
		return;
	uint8_t *ctrl = &m->table[v * PCI_MSIX_ENTRY_SIZE +
				  PCI_MSIX_ENTRY_VECTOR_CTRL];
	if (bound) {
		*ctrl &= (uint8_t)~PCI_MSIX_ENTRY_CTRL_MASKBIT;
	} else {
		*ctrl |= PCI_MSIX_ENTRY_CTRL_MASKBIT;
		set_pending(m, v, false);
	}
}

size_t pci_msix_claim(const struct pci_cfg *cfg, unsigned bar, uint64_t off,
		      size_t len, bool *engine)
{
	const struct pci_msix *m = &cfg->msix;
	*engine = false;
	if (!m->cap)
		return len;
	uint64_t start[2] = { m->table_off, m->pba_off };
	uint64_t end[2] = { m->table_off + (uint64_t)m->nvec * PCI_MSIX_ENTRY_SIZE,
			    m->pba_off + m->pba_len };
	unsigned bars[2] = { m->table_bar, m->pba_bar };
	size_t n = len;
	for (unsigned i = 0; i < 2; i++) {
		if (bars[i] != bar)
			continue;
		if (off >= start[i] && off < end[i]) {
			*engine = true;
			return MIN(len, end[i] - off);
		}
		if (start[i] > off && start[i] - off < n)
			n = start[i] - off;
	}
	return n;
}

static void table_rw(struct pci_cfg *cfg, uint64_t t, uint8_t *buf,
		     size_t len, bool write)
{
	struct pci_msix *m = &cfg->msix;
	if (!write) {
		memcpy(buf, m->table + t, len);
		return;
	}
	for (size_t i = 0; i < len; i++) {
		uint64_t at = t + i;
		unsigned field = at % PCI_MSIX_ENTRY_SIZE;
		uint8_t mask = 0xff;
		if (field == PCI_MSIX_ENTRY_LOWER_ADDR)
			mask = 0xfc;       /* dword-aligned address */
		else if (field == PCI_MSIX_ENTRY_VECTOR_CTRL)
			mask = PCI_MSIX_ENTRY_CTRL_MASKBIT;
		else if (field > PCI_MSIX_ENTRY_VECTOR_CTRL)
			mask = 0;          /* reserved */
		m->table[at] = (uint8_t)((m->table[at] & ~mask) | (buf[i] & mask));
	}
	pci_msix_update(cfg);
}

void pci_msix_rw(struct pci_cfg *cfg, unsigned bar, uint64_t off, void *buf,
		 size_t len, bool write)
{
	struct pci_msix *m = &cfg->msix;
	uint64_t tend = m->table_off + (uint64_t)m->nvec * PCI_MSIX_ENTRY_SIZE;
	/* Written so that no offset, however large, can wrap. */
	if (bar == m->table_bar && off >= m->table_off && off <= tend &&
	    len <= tend - off) {
		table_rw(cfg, off - m->table_off, buf, len, write);
		return;
	}
	/* The PBA is read-only. */
	if (bar == m->pba_bar && off >= m->pba_off &&
	    off - m->pba_off <= m->pba_len && len <= m->pba_len - (off - m->pba_off) &&
	    !write)
		memcpy(buf, m->pba + (off - m->pba_off), len);
}

/* ---- MSI per-vector masking (emulated devices) ------------------------ */

struct msi_regs {
	uint32_t mask, pend;
};

static bool msi_maskable(const struct pci_cfg *cfg, struct msi_regs *r)
{
	if (!cfg->msi_off || !cfg->emu)
		return false;
	uint32_t fl = bk(cfg, cfg->msi_off + PCI_MSI_FLAGS, 2);
	if (!(fl & PCI_MSI_FLAGS_MASKBIT))
		return false;
	bool is64 = fl & PCI_MSI_FLAGS_64BIT;
	r->mask = cfg->msi_off + (is64 ? PCI_MSI_MASK_64 : PCI_MSI_MASK_32);
	r->pend = cfg->msi_off + (is64 ? PCI_MSI_PENDING_64 : PCI_MSI_PENDING_32);
	return true;
}

/* Pending bits are read-only to writes: set them as the device. */
static void set_msi_pending(struct pci_cfg *cfg, uint32_t at, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
			 (uint8_t)(v >> 24) };
	pci_cfg_phys_write(cfg, at, b, 4);
}

bool pci_cfg_msi_gate(struct pci_cfg *cfg, unsigned v)
{
	struct msi_regs r;
	if (v >= 32 || !msi_maskable(cfg, &r))
		return true;
	if (!(bk(cfg, r.mask, 4) & (1u << v)))
		return true;
	set_msi_pending(cfg, r.pend, bk(cfg, r.pend, 4) | 1u << v);
	return false;
}

void pci_msi_update(struct pci_cfg *cfg)
{
	struct msi_regs r;
	if (!msi_maskable(cfg, &r))
		return;
	uint32_t mask = bk(cfg, r.mask, 4), pend = bk(cfg, r.pend, 4);
	uint32_t fire = pend & ~mask;
	if (!fire)
		return;
	/* Clear before delivering: pci_cfg_phys_write() comes back here. */
	set_msi_pending(cfg, r.pend, pend & mask);
	for (unsigned v = 0; v < 32; v++)
		if (fire & (1u << v) && cfg->hooks.deliver)
			cfg->hooks.deliver(cfg->hooks.opaque,
					   VFIO_PCI_MSI_IRQ_INDEX, v);
}

/* ---- the SET_IRQS side -------------------------------------------------- */

void pci_cfg_irq_state(struct pci_cfg *cfg, int index, unsigned nvec)
{
	int old = cfg->irq_type;
	cfg->irq_type = index;
	cfg->irq_nvec = index < 0 ? 0 : nvec;
	/* As vfio-pci: the MME limit is set when MSI gets enabled. */
	if (index == VFIO_PCI_MSI_IRQ_INDEX && old != index) {
		unsigned q = 0;
		while ((1u << q) < nvec && q < 5)
			q++;
		cfg->msi_qmax = q;
	}
	/* The host enabling MSI-X is what sets the device's enable bit. */
	if (cfg->msix.cap) {
		uint32_t at = cfg->msix.cap + PCI_MSIX_FLAGS;
		uint32_t fl = bk(cfg, at, 2);
		if (index == VFIO_PCI_MSIX_IRQ_INDEX)
			fl |= PCI_MSIX_FLAGS_ENABLE;
		else
			fl &= ~(uint32_t)PCI_MSIX_FLAGS_ENABLE;
		pci_bk_write(cfg, at + 1, 1, fl >> 8);
	}
}

bool pci_cfg_intx_disabled(const struct pci_cfg *cfg)
{
	return pci_vget(cfg, PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE;
}

/*
 * Hardware shows a pending INTx in STATUS whatever COMMAND's INTx disable
 * says, and drivers that mask INTx with that bit (PCI 2.3 masking: the
 * kernel's vfio-pci, in a guest that QEMU's vfio-user-pci gives the
 * device) read it to tell whether the interrupt is theirs.  A real
 * device behind the backing keeps its own.
 */
void pci_cfg_intx_status(struct pci_cfg *cfg, bool asserted)
{
	if (!cfg->emu)
		return;
	uint32_t st = 0;
	pci_bk_read(cfg, PCI_STATUS, 1, &st);
	uint8_t b = (uint8_t)(asserted ? st | PCI_STATUS_INTERRUPT :
					 st & ~(uint32_t)PCI_STATUS_INTERRUPT);
	pci_emu_poke(cfg->emu, PCI_STATUS, &b, 1);
}
