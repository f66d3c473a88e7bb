/* SPDX-License-Identifier: BSD-3-Clause */
/* The emulated backing of a device model's config space. */
#ifndef UVFIO_PCI_EMU_H
#define UVFIO_PCI_EMU_H

#include "pci/cfg.h"

/* A zeroed 4 KiB emulated config space; fills @bk with its ops. */
struct pci_emu *pci_emu_new(struct pci_backing *bk);
void pci_emu_free(struct pci_emu *e);
/* Set bytes whatever the write masks (the device's own view). */
void pci_emu_poke(struct pci_emu *e, uint32_t off, const void *buf,
		  size_t len);
void pci_emu_set_wmask(struct pci_emu *e, uint32_t off, unsigned n,
		       uint32_t m);
void pci_emu_set_w1c(struct pci_emu *e, uint32_t off, unsigned n, uint32_t m);
/* The current values become the power-on values (bk->reset restores). */
void pci_emu_seal(struct pci_emu *e);

#endif
