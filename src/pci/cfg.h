/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * PCI config space: a virtual copy plus per-byte permission tables
 * (writable bits, write-1-to-clear bits), built from <linux/pci_regs.h>
 * names.  BAR sizing falls out of the write mask: only the address bits a
 * BAR of its size decodes are writable, so a write of ~0 reads back the
 * size mask with the type bits.
 */
#ifndef UVFIO_PCI_CFG_H
#define UVFIO_PCI_CFG_H

#include <stddef.h>
#include <stdint.h>

#include <uvfio/device.h>

#define PCI_CFG_SIZE       256u
#define PCI_CFG_EXP_SIZE   4096u

struct pci_cfg {
	uint32_t size;
	uint8_t *cur;        /* what the client reads */
	uint8_t *init;       /* power-on values */
	uint8_t *wmask;      /* bits the client may change */
	uint8_t *w1c;        /* bits a 1 clears */
	uint8_t next_cap;    /* where the next capability goes */
	uint8_t last_cap;    /* offset of the last capability, 0 if none */
	uint64_t bar_size[7];  /* BAR0-5, ROM; 0 when absent */
	unsigned bar_flags[6];
	uint8_t msi_off;     /* 0 when no MSI capability */
};

struct pci_cfg *pci_cfg_new(uint32_t size);
void pci_cfg_free(struct pci_cfg *cfg);
void pci_cfg_set_ids(struct pci_cfg *cfg, const struct uvfio_pci_ids *ids);
int pci_cfg_set_bar(struct pci_cfg *cfg, unsigned bar, uint64_t size,
		    unsigned flags);
int pci_cfg_set_rom(struct pci_cfg *cfg, uint64_t size);
/* Append a capability of @len bytes; returns its offset or -errno. */
int pci_cfg_add_cap(struct pci_cfg *cfg, uint8_t id, uint8_t len);
int pci_cfg_add_msi(struct pci_cfg *cfg, unsigned nvectors, unsigned flags);
/* Number of MSI vectors the capability offers (0 without MSI). */
unsigned pci_cfg_msi_vectors(const struct pci_cfg *cfg);

/* Accesses: 0 or -EFAULT for a range outside config space. */
int pci_cfg_read(const struct pci_cfg *cfg, uint64_t off, void *buf,
		 size_t len);
int pci_cfg_write(struct pci_cfg *cfg, uint64_t off, const void *buf,
		  size_t len);
/* Make the current values the power-on values (end of building). */
void pci_cfg_seal(struct pci_cfg *cfg);
void pci_cfg_reset(struct pci_cfg *cfg);

#endif
