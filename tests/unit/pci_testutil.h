/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Helpers for the config-space unit tests (test_pci_*.c): a reference
 * device with every capability at fixed offsets, accessors, per-byte
 * expectations written from <linux/pci_regs.h> names, a sweep that
 * writes all-ones, zero and random patterns at every offset and width,
 * and a RAM backing that records accesses.
 */
#ifndef UVFIO_TESTS_PCI_TESTUTIL_H
#define UVFIO_TESTS_PCI_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pci/cfg.h"

/* The reference device (tu_full_cfg). */
#define TU_BAR0_SIZE  4096u                /* 32-bit memory */
#define TU_BAR1_SIZE  32u                  /* I/O */
#define TU_BAR2_SIZE  (8ull << 30)         /* 64-bit prefetchable, BAR2/3 */
#define TU_BAR4_SIZE  16384u               /* 64-bit, BAR4/5: MSI-X */
#define TU_ROM_SIZE   (64u << 10)
#define TU_PM     0x40
#define TU_MSI    0x48     /* 64-bit, maskable, 8 vectors: 24 bytes */
#define TU_MSI_VECTORS 8u
#define TU_MSIX   0x60
#define TU_MSIX_VECTORS 20u
#define TU_MSIX_TABLE 0x0000u              /* BAR4 */
#define TU_MSIX_PBA   0x2000u              /* BAR4 */
#define TU_PCIE   0x70     /* endpoint v2 with FLR: 0x32 bytes */
#define TU_AF     0xa4
#define TU_VPD    0xac
#define TU_VNDR   0xb4     /* 8 payload bytes: 11 bytes */
#define TU_VNDR_LEN 11u
#define TU_AER    0x100
#define TU_DSN    0x12c
#define TU_ARI    0x138
#define TU_SRIOV  0x140
#define TU_VSEC   0x180    /* 8 payload bytes: 16 */
#define TU_DVSEC  0x190    /* 6 payload bytes: 16 */
#define TU_SERIAL 0x1122334455667788ull
#define TU_VPD_LEN 32u

struct pci_cfg *tu_full_cfg(void);

uint32_t tu_rd(const struct pci_cfg *cfg, unsigned off, unsigned len);
void tu_wr(struct pci_cfg *cfg, unsigned off, uint32_t v, unsigned len);
/* The device raising bits in its own registers. */
void tu_phys_set(struct pci_cfg *cfg, unsigned off, uint32_t bits, unsigned len);

/* Per-byte expectations of what a client write does. */
struct tu_spec {
	uint8_t rw[PCI_CFG_EXP_SIZE];    /* bits a write sets to the value */
	uint8_t w1c[PCI_CFG_EXP_SIZE];   /* bits a written 1 clears */
	uint8_t skip[PCI_CFG_EXP_SIZE];  /* side effects: checked elsewhere */
};
void tu_spec_rw(struct tu_spec *s, unsigned off, unsigned len, uint32_t m);
void tu_spec_w1c(struct tu_spec *s, unsigned off, unsigned len, uint32_t m);
void tu_spec_skip(struct tu_spec *s, unsigned off, unsigned len);
/* What a client sees of the reference device (emulated backing). */
void tu_spec_full(struct tu_spec *s);
/* What vfio-pci's tables let a client change over a RAM backing. */
void tu_spec_tables(struct tu_spec *s);
/* Expected byte after writing @val over @old. */
uint8_t tu_expect(const struct tu_spec *s, unsigned off, uint8_t old,
		  uint8_t val);

/*
 * Write all-ones, zero and a random pattern at every offset of
 * [start, end) with widths 1, 2 and 4; after each write check the bytes
 * around it against @s, then reset.  @prep (may be NULL) runs after each
 * reset (to raise device-side bits).  Returns the number of writes.
 */
unsigned tu_sweep(struct pci_cfg *cfg, const struct tu_spec *s,
		  unsigned start, unsigned end,
		  void (*prep)(struct pci_cfg *cfg));

/* A plain RAM config space that records the accesses made to it. */
struct tu_ram {
	uint8_t b[PCI_CFG_EXP_SIZE];
	uint8_t ro[PCI_CFG_EXP_SIZE];    /* bits writes cannot change */
	uint8_t init[PCI_CFG_EXP_SIZE];  /* restored by the backing's reset */
	unsigned reads, writes;
	bool misaligned;                 /* an access broke the contract */
	unsigned last_off, last_len;     /* the last write */
	unsigned wr_log[64][2];          /* offset, length of writes */
	unsigned nlog;
	int fail;                        /* errno to return, 0: none */
};
/* Ops over @ram; its current bytes become what a reset restores. */
struct pci_backing tu_ram_backing(struct tu_ram *ram);
/* A RAM copy of @cfg's backing (the reference device's "hardware"). */
void tu_ram_from(struct tu_ram *ram, const struct pci_cfg *cfg);

uint32_t tu_rand(void);
void tu_srand(uint32_t seed);

#endif
