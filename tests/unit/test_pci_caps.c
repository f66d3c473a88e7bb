/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Standard capabilities through the engine: every byte of each under
 * all-ones, zero and random writes of every width, then the registers
 * with side effects one by one — PM power state and hidden PME, MSI
 * enable and Multiple Message Enable against SET_IRQS, per-vector mask
 * and pending bits (64-bit and 32-bit layouts), MSI-X read-only, PCIe
 * FLR/MPS/MRRS/ARI, AF FLR, VPD's F flag, vendor pass-through — and the
 * builder's placement and errors.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pci_testutil.h"

#define DEVSTA_ERRORS (PCI_EXP_DEVSTA_CED | PCI_EXP_DEVSTA_NFED | \
		       PCI_EXP_DEVSTA_FED | PCI_EXP_DEVSTA_URD)

struct hooks {
	int flr;
	int delivered[3][64];
};

static void on_flr(void *opaque)
{
	((struct hooks *)opaque)->flr++;
}

static void on_deliver(void *opaque, unsigned index, unsigned v)
{
	assert_true(index <= VFIO_PCI_MSIX_IRQ_INDEX && v < 64);
	((struct hooks *)opaque)->delivered[index][v]++;
}

static struct pci_cfg *full_with_hooks(struct hooks *h)
{
	memset(h, 0, sizeof(*h));
	struct pci_cfg *cfg = tu_full_cfg();
	const struct pci_cfg_hooks hk = { .opaque = h, .flr = on_flr,
					  .deliver = on_deliver };
	pci_cfg_set_hooks(cfg, &hk);
	return cfg;
}

/* The device has error bits up: writes next to them must keep them. */
static void raise_devsta(struct pci_cfg *cfg)
{
	tu_phys_set(cfg, TU_PCIE + PCI_EXP_DEVSTA, DEVSTA_ERRORS, 2);
}

static void test_capabilities_sweep(void **state)
{
	struct pci_cfg *cfg = tu_full_cfg();
	static struct tu_spec s;
	tu_spec_full(&s);
	tu_srand(2);
	unsigned n = tu_sweep(cfg, &s, TU_PM, TU_VNDR + TU_VNDR_LEN, raise_devsta);
	assert_true(n > 1000);
	/* Device status bits survived every neighbouring write. */
	assert_int_equal(tu_rd(cfg, TU_PCIE + PCI_EXP_DEVSTA, 2) & DEVSTA_ERRORS,
			 DEVSTA_ERRORS);
	pci_cfg_free(cfg);
}

static void test_chain_order(void **state)
{
	struct pci_cfg *cfg = tu_full_cfg();
	const unsigned want[][2] = {
		{ TU_PM, PCI_CAP_ID_PM }, { TU_MSI, PCI_CAP_ID_MSI },
		{ TU_MSIX, PCI_CAP_ID_MSIX }, { TU_PCIE, PCI_CAP_ID_EXP },
		{ TU_AF, PCI_CAP_ID_AF }, { TU_VPD, PCI_CAP_ID_VPD },
		{ TU_VNDR, PCI_CAP_ID_VNDR },
	};
	unsigned pos = tu_rd(cfg, PCI_CAPABILITY_LIST, 1);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_int_equal(pos, want[i][0]);
		assert_int_equal(tu_rd(cfg, pos, 1), want[i][1]);
		pos = tu_rd(cfg, pos + PCI_CAP_LIST_NEXT, 1);
	}
	assert_int_equal(pos, 0);
	pci_cfg_free(cfg);
}

static void test_pm(void **state)
{
	struct pci_cfg *cfg = tu_full_cfg();
	uint32_t ctl = TU_PM + PCI_PM_CTRL;
	/* PME support and status are hidden, whatever the device says. */
	uint8_t phys[2];
	assert_int_equal(pci_cfg_phys_read(cfg, TU_PM + PCI_PM_PMC, phys, 2), 0);
	assert_true((phys[0] | phys[1] << 8) & PCI_PM_CAP_PME_D3hot);
	assert_int_equal(tu_rd(cfg, TU_PM + PCI_PM_PMC, 2) & PCI_PM_CAP_PME_MASK, 0);
	assert_int_equal(tu_rd(cfg, TU_PM + PCI_PM_PMC, 2) & PCI_PM_CAP_VER_MASK, 3);
	tu_phys_set(cfg, ctl, PCI_PM_CTRL_PME_STATUS | PCI_PM_CTRL_PME_ENABLE, 2);
	assert_int_equal(tu_rd(cfg, ctl, 2) & (PCI_PM_CTRL_PME_STATUS |
					       PCI_PM_CTRL_PME_ENABLE), 0);
	tu_wr(cfg, ctl, PCI_PM_CTRL_PME_ENABLE, 2);
	assert_int_equal(tu_rd(cfg, ctl, 2) & PCI_PM_CTRL_PME_ENABLE, 0);
	assert_true(tu_rd(cfg, ctl, 2) & PCI_PM_CTRL_NO_SOFT_RESET);
	/* The power state is acted on and reads back from the device. */
	for (unsigned st = 0; st < 4; st++) {
		tu_wr(cfg, ctl, st, 1);
		assert_int_equal(tu_rd(cfg, ctl, 2) & PCI_PM_CTRL_STATE_MASK, st);
		assert_int_equal(cfg->power_state, st);
	}
	pci_cfg_reset(cfg);
	assert_int_equal(cfg->power_state, PCI_PM_D0);
	assert_int_equal(tu_rd(cfg, ctl, 2) & PCI_PM_CTRL_STATE_MASK, 0);
	pci_cfg_free(cfg);

	/* Without D1/D2 support those requests are ignored. */
	cfg = pci_cfg_new(PCI_CFG_SIZE);
	int pm = pci_cap_add_pm(cfg, 0, 0);
	assert_int_equal(pm, 0x40);
	tu_wr(cfg, pm + PCI_PM_CTRL, PCI_PM_D1, 2);
	assert_int_equal(tu_rd(cfg, pm + PCI_PM_CTRL, 2) & 3, 0);
	tu_wr(cfg, pm + PCI_PM_CTRL, PCI_PM_D2, 2);
	assert_int_equal(tu_rd(cfg, pm + PCI_PM_CTRL, 2) & 3, 0);
	tu_wr(cfg, pm + PCI_PM_CTRL, PCI_PM_D3HOT, 2);
	assert_int_equal(tu_rd(cfg, pm + PCI_PM_CTRL, 2) & 3, 3);
	/* A write not starting at PMCSR does not change the state. */
	tu_wr(cfg, pm + PCI_PM_CTRL + 1, 0, 1);
	assert_int_equal(cfg->power_state, PCI_PM_D3HOT);
	assert_int_equal(pci_cap_add_pm(cfg, 0, 1u << 5), -EINVAL);
	assert_int_equal(pci_cap_add_pm(cfg, 0, 0), -EEXIST);
	pci_cfg_free(cfg);
}

static void test_msi_enable_follows_set_irqs(void **state)
{
	struct pci_cfg *cfg = tu_full_cfg();
	uint32_t fl = TU_MSI + PCI_MSI_FLAGS;
	uint32_t caps = tu_rd(cfg, fl, 2);
	assert_int_equal(caps & PCI_MSI_FLAGS_QMASK, 3 << 1);   /* 8 vectors */
	assert_true(caps & PCI_MSI_FLAGS_64BIT);
	assert_true(caps & PCI_MSI_FLAGS_MASKBIT);
	assert_int_equal(pci_cfg_msi_vectors(cfg), TU_MSI_VECTORS);
	/* SET_IRQS has not enabled MSI: Enable does not stick, MME is 0. */
	tu_wr(cfg, fl, PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE, 2);
	assert_int_equal(tu_rd(cfg, fl, 2), caps);
	/* SET_IRQS enabled 3 vectors: MME clamps to 4 (2^2). */
	pci_cfg_irq_state(cfg, VFIO_PCI_MSI_IRQ_INDEX, 3);
	assert_int_equal(cfg->msi_qmax, 2);
	tu_wr(cfg, fl, PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE, 2);
	assert_int_equal(tu_rd(cfg, fl, 2), caps | PCI_MSI_FLAGS_ENABLE | 2 << 4);
	tu_wr(cfg, fl, PCI_MSI_FLAGS_ENABLE | 1 << 4, 1);
	assert_int_equal(tu_rd(cfg, fl, 2), caps | PCI_MSI_FLAGS_ENABLE | 1 << 4);
	/* Capability bits are read-only in both bytes. */
	tu_wr(cfg, fl, 0, 2);
	assert_int_equal(tu_rd(cfg, fl, 2), caps);
	tu_wr(cfg, fl, 0xff8e, 2);
	assert_int_equal(tu_rd(cfg, fl, 2), caps);
	/* Disabled again through SET_IRQS: the next flags write drops Enable;
	 * the limit stays (vfio-pci keeps msi_qmax). */
	tu_wr(cfg, fl, PCI_MSI_FLAGS_ENABLE, 1);
	pci_cfg_irq_state(cfg, -1, 0);
	assert_true(tu_rd(cfg, fl, 2) & PCI_MSI_FLAGS_ENABLE);
	tu_wr(cfg, fl, PCI_MSI_FLAGS_ENABLE | 2 << 4, 1);
	assert_int_equal(tu_rd(cfg, fl, 2), caps | 2 << 4);
	/* Enabled with 32 vectors: the limit only grows on a new enable. */
	pci_cfg_irq_state(cfg, VFIO_PCI_MSI_IRQ_INDEX, 32);
	assert_int_equal(cfg->msi_qmax, 5);
	pci_cfg_free(cfg);
}

static void test_msi_mask_and_pending(void **state)
{
	struct hooks h;
	struct pci_cfg *cfg = full_with_hooks(&h);
	uint32_t mask = TU_MSI + PCI_MSI_MASK_64, pend = TU_MSI + PCI_MSI_PENDING_64;
	/* Unmasked: the vector may fire. */
	assert_true(pci_cfg_msi_gate(cfg, 5));
	assert_int_equal(tu_rd(cfg, pend, 4), 0);
	/* Masked: it is held as pending. */
	tu_wr(cfg, mask, 1u << 5 | 1u << 6, 4);
	assert_int_equal(tu_rd(cfg, mask, 4), 1u << 5 | 1u << 6);
	assert_false(pci_cfg_msi_gate(cfg, 5));
	assert_int_equal(tu_rd(cfg, pend, 4), 1u << 5);
	/* The client cannot clear pending bits. */
	tu_wr(cfg, pend, 0, 4);
	assert_int_equal(tu_rd(cfg, pend, 4), 1u << 5);
	/* Unmasking 6 only: nothing to deliver. */
	tu_wr(cfg, mask + 0, 1u << 5, 1);
	assert_int_equal(h.delivered[VFIO_PCI_MSI_IRQ_INDEX][5], 0);
	/* Unmasking 5: delivered once, pending cleared. */
	tu_wr(cfg, mask, 0, 4);
	assert_int_equal(h.delivered[VFIO_PCI_MSI_IRQ_INDEX][5], 1);
	assert_int_equal(tu_rd(cfg, pend, 4), 0);
	/* The device unmasking (its own write) delivers as well. */
	tu_wr(cfg, mask, 1u << 2, 4);
	assert_false(pci_cfg_msi_gate(cfg, 2));
	uint8_t zero[4] = { 0 };
	assert_int_equal(pci_cfg_phys_write(cfg, mask, zero, 4), 0);
	assert_int_equal(h.delivered[VFIO_PCI_MSI_IRQ_INDEX][2], 1);
	/* Vectors past 31 and devices without masking always pass. */
	assert_true(pci_cfg_msi_gate(cfg, 40));
	pci_cfg_free(cfg);
	cfg = pci_cfg_new(PCI_CFG_SIZE);
	assert_int_equal(pci_cfg_add_msi(cfg, 4, UVFIO_MSI_64BIT), 0x40);
	assert_true(pci_cfg_msi_gate(cfg, 1));
	pci_cfg_free(cfg);
}

/*
 * 32-bit MSI with per-vector masking: no upper address dword, so data at
 * 0x08, the mask at 0x0c, the pending bits at 0x10 and 20 bytes in all.
 */
#define MSI32_MASK     0x0cu
#define MSI32_PENDING  0x10u
#define MSI32_LEN      20u

static void test_msi32_maskable_layout(void **state)
{
	static struct tu_spec s;
	tu_srand(4);
	for (unsigned nvec = 1; nvec <= 32; nvec <<= 1) {
		uint32_t vecs = nvec == 32 ? 0xffffffffu : (1u << nvec) - 1;
		struct pci_cfg *cfg = pci_cfg_new(PCI_CFG_SIZE);
		int o = pci_cap_add_msi(cfg, 0, nvec, UVFIO_MSI_MASKABLE);
		assert_int_equal(o, 0x40);
		uint32_t fl = tu_rd(cfg, o + PCI_MSI_FLAGS, 2);
		assert_true(fl & PCI_MSI_FLAGS_MASKBIT);
		assert_false(fl & PCI_MSI_FLAGS_64BIT);
		assert_int_equal(1u << ((fl & PCI_MSI_FLAGS_QMASK) >> 1), nvec);
		/* 20 bytes: the last dword is taken, the next one is free. */
		assert_int_equal(pci_cap_add_vendor(cfg, o + MSI32_LEN - 4, NULL, 0),
				 -EEXIST);
		assert_int_equal(pci_cap_add_pm(cfg, 0, 0), o + MSI32_LEN);
		assert_int_equal(tu_rd(cfg, o + PCI_CAP_LIST_NEXT, 1), o + MSI32_LEN);
		pci_cfg_seal(cfg);

		/* Mask bits exist for the vectors the function has. */
		tu_wr(cfg, o + MSI32_MASK, 0xffffffff, 4);
		assert_int_equal(tu_rd(cfg, o + MSI32_MASK, 4), vecs);
		tu_wr(cfg, o + MSI32_MASK, 0, 4);
		assert_int_equal(tu_rd(cfg, o + MSI32_MASK, 4), 0);
		tu_wr(cfg, o + MSI32_MASK + 3, 0xff, 1);
		assert_int_equal(tu_rd(cfg, o + MSI32_MASK, 4), vecs & 0xff000000u);
		tu_wr(cfg, o + MSI32_MASK, 0, 4);
		/* Pending bits are the device's: a client write changes nothing. */
		tu_wr(cfg, o + MSI32_PENDING, 0xffffffff, 4);
		assert_int_equal(tu_rd(cfg, o + MSI32_PENDING, 4), 0);
		/* Data is 16 bits followed by a reserved word. */
		tu_wr(cfg, o + PCI_MSI_DATA_32, 0xffffffff, 4);
		assert_int_equal(tu_rd(cfg, o + PCI_MSI_DATA_32, 4), 0xffff);

		/* Every byte, width and pattern (the flags on their own). */
		memset(&s, 0, sizeof(s));
		tu_spec_skip(&s, o + PCI_MSI_FLAGS, 1);
		tu_spec_rw(&s, o + PCI_MSI_ADDRESS_LO, 4, 0xfffffffc);
		tu_spec_rw(&s, o + PCI_MSI_DATA_32, 2, 0xffff);
		tu_spec_rw(&s, o + MSI32_MASK, 4, vecs);
		assert_true(tu_sweep(cfg, &s, o, o + MSI32_LEN, NULL) > 100);
		pci_cfg_free(cfg);
	}
}

static void test_msi32_mask_and_pending(void **state)
{
	struct hooks h;
	memset(&h, 0, sizeof(h));
	struct pci_cfg *cfg = pci_cfg_new(PCI_CFG_SIZE);
	int o = pci_cap_add_msi(cfg, 0, 4, UVFIO_MSI_MASKABLE);
	assert_int_equal(o, 0x40);
	pci_cfg_seal(cfg);
	const struct pci_cfg_hooks hk = { .opaque = &h, .deliver = on_deliver };
	pci_cfg_set_hooks(cfg, &hk);
	int *sent = h.delivered[VFIO_PCI_MSI_IRQ_INDEX];
	uint32_t mask = o + MSI32_MASK, pend = o + MSI32_PENDING;

	assert_true(pci_cfg_msi_gate(cfg, 1));
	assert_int_equal(tu_rd(cfg, pend, 4), 0);
	/* Masked vectors are held as pending, the others fire. */
	tu_wr(cfg, mask, 1u << 1 | 1u << 3, 4);
	assert_false(pci_cfg_msi_gate(cfg, 1));
	assert_false(pci_cfg_msi_gate(cfg, 3));
	assert_true(pci_cfg_msi_gate(cfg, 0));
	assert_int_equal(tu_rd(cfg, pend, 4), 1u << 1 | 1u << 3);
	/* A vector the function does not have cannot be masked. */
	tu_wr(cfg, mask, 1u << 1 | 1u << 3 | 1u << 5, 4);
	assert_true(pci_cfg_msi_gate(cfg, 5));
	assert_int_equal(tu_rd(cfg, pend, 4), 1u << 1 | 1u << 3);
	/* The client cannot clear them. */
	tu_wr(cfg, pend, 0, 4);
	assert_int_equal(tu_rd(cfg, pend, 4), 1u << 1 | 1u << 3);
	for (unsigned v = 0; v < 32; v++)
		assert_int_equal(sent[v], 0);
	/* Unmasking 3 (one byte) delivers it once; 1 stays held. */
	tu_wr(cfg, mask, 1u << 1, 1);
	assert_int_equal(sent[3], 1);
	assert_int_equal(sent[1], 0);
	assert_int_equal(tu_rd(cfg, pend, 4), 1u << 1);
	/* Unmasking 1 (a word) delivers it and nothing more is pending. */
	tu_wr(cfg, mask, 0, 2);
	assert_int_equal(sent[1], 1);
	assert_int_equal(sent[3], 1);
	assert_int_equal(tu_rd(cfg, pend, 4), 0);
	/* Unmasking again sends nothing twice. */
	tu_wr(cfg, mask, 0, 4);
	assert_int_equal(sent[1] + sent[3], 2);
	/* The device unmasking (its own write) delivers as well. */
	tu_wr(cfg, mask, 1u << 2, 4);
	assert_false(pci_cfg_msi_gate(cfg, 2));
	assert_int_equal(tu_rd(cfg, pend, 4), 1u << 2);
	uint8_t zero[4] = { 0 };
	assert_int_equal(pci_cfg_phys_write(cfg, mask, zero, 4), 0);
	assert_int_equal(sent[2], 1);
	assert_int_equal(tu_rd(cfg, pend, 4), 0);
	for (unsigned v = 4; v < 32; v++)
		assert_int_equal(sent[v], 0);
	pci_cfg_free(cfg);
}

static void test_msix_capability_read_only(void **state)
{
	struct pci_cfg *cfg = tu_full_cfg();
	uint32_t fl = TU_MSIX + PCI_MSIX_FLAGS;
	assert_int_equal(tu_rd(cfg, fl, 2), TU_MSIX_VECTORS - 1);
	assert_int_equal(tu_rd(cfg, TU_MSIX + PCI_MSIX_TABLE, 4), TU_MSIX_TABLE | 4);
	assert_int_equal(tu_rd(cfg, TU_MSIX + PCI_MSIX_PBA, 4), TU_MSIX_PBA | 4);
	assert_int_equal(pci_cfg_msix_vectors(cfg), TU_MSIX_VECTORS);
	tu_wr(cfg, fl, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL, 2);
	tu_wr(cfg, TU_MSIX + PCI_MSIX_TABLE, 0, 4);
	assert_int_equal(tu_rd(cfg, fl, 2), TU_MSIX_VECTORS - 1);
	assert_int_equal(tu_rd(cfg, TU_MSIX + PCI_MSIX_TABLE, 4), TU_MSIX_TABLE | 4);
	/* SET_IRQS enabling MSI-X is what shows Enable. */
	pci_cfg_irq_state(cfg, VFIO_PCI_MSIX_IRQ_INDEX, 4);
	assert_true(tu_rd(cfg, fl, 2) & PCI_MSIX_FLAGS_ENABLE);
	assert_true(pci_cfg_msix_enabled(cfg));
	/* The function mask is the device's to set. */
	tu_phys_set(cfg, fl, PCI_MSIX_FLAGS_MASKALL, 2);
	assert_true(pci_cfg_msix_masked(cfg));
	assert_true(tu_rd(cfg, fl, 2) & PCI_MSIX_FLAGS_MASKALL);
	pci_cfg_irq_state(cfg, -1, 0);
	assert_false(pci_cfg_msix_enabled(cfg));
	pci_cfg_reset(cfg);
	assert_false(pci_cfg_msix_masked(cfg));
	pci_cfg_free(cfg);
}

static void test_pcie_devctl(void **state)
{
	struct hooks h;
	struct pci_cfg *cfg = full_with_hooks(&h);
	uint32_t ctl = TU_PCIE + PCI_EXP_DEVCTL;
	assert_int_equal(tu_rd(cfg, TU_PCIE + PCI_EXP_FLAGS, 2),
			 2 | PCI_EXP_TYPE_ENDPOINT << 4);
	assert_true(tu_rd(cfg, TU_PCIE + PCI_EXP_DEVCAP, 4) & PCI_EXP_DEVCAP_FLR);
	/* FLR: the function resets, the bit reads back as 0. */
	uint32_t before = tu_rd(cfg, ctl, 2);
	tu_wr(cfg, ctl, before | PCI_EXP_DEVCTL_BCR_FLR, 2);
	assert_int_equal(h.flr, 1);
	assert_int_equal(tu_rd(cfg, ctl, 2), before);
	/* Its high byte alone is enough. */
	tu_wr(cfg, ctl + 1, (before | PCI_EXP_DEVCTL_BCR_FLR) >> 8, 1);
	assert_int_equal(h.flr, 2);
	/* MPS is virtual: the device keeps its own. */
	uint8_t phys[2];
	tu_wr(cfg, ctl, before | PCI_EXP_DEVCTL_PAYLOAD_512B, 2);
	assert_int_equal(tu_rd(cfg, ctl, 2) & PCI_EXP_DEVCTL_PAYLOAD,
			 PCI_EXP_DEVCTL_PAYLOAD_512B);
	assert_int_equal(pci_cfg_phys_read(cfg, ctl, phys, 2), 0);
	assert_int_equal(phys[0] & PCI_EXP_DEVCTL_PAYLOAD, 0);
	/* MRRS: the client reads its value; the device gets no less than
	 * its own MPS (256 bytes here). */
	tu_phys_set(cfg, ctl, PCI_EXP_DEVCTL_PAYLOAD_256B, 1);
	tu_wr(cfg, ctl, PCI_EXP_DEVCTL_READRQ_128B, 2);
	assert_int_equal(tu_rd(cfg, ctl, 2) & PCI_EXP_DEVCTL_READRQ,
			 PCI_EXP_DEVCTL_READRQ_128B);
	assert_int_equal(pci_cfg_phys_read(cfg, ctl, phys, 2), 0);
	assert_int_equal((phys[0] | phys[1] << 8) & PCI_EXP_DEVCTL_READRQ,
			 PCI_EXP_DEVCTL_READRQ_256B);
	tu_wr(cfg, ctl, PCI_EXP_DEVCTL_READRQ_4096B, 2);
	assert_int_equal(pci_cfg_phys_read(cfg, ctl, phys, 2), 0);
	assert_int_equal((phys[0] | phys[1] << 8) & PCI_EXP_DEVCTL_READRQ,
			 PCI_EXP_DEVCTL_READRQ_4096B);
	/* Phantom functions and ARI forwarding are not the client's. */
	tu_wr(cfg, ctl, PCI_EXP_DEVCTL_PHANTOM, 2);
	assert_false(tu_rd(cfg, ctl, 2) & PCI_EXP_DEVCTL_PHANTOM);
	tu_wr(cfg, TU_PCIE + PCI_EXP_DEVCTL2, 0xffff, 2);
	assert_int_equal(tu_rd(cfg, TU_PCIE + PCI_EXP_DEVCTL2, 2),
			 PCI_EXP_DEVCTL2_COMP_TIMEOUT | PCI_EXP_DEVCTL2_COMP_TMOUT_DIS);
	/* Link registers are read-only. */
	uint32_t lnk = tu_rd(cfg, TU_PCIE + PCI_EXP_LNKCTL, 4);
	tu_wr(cfg, TU_PCIE + PCI_EXP_LNKCTL, 0xffffffff, 4);
	assert_int_equal(tu_rd(cfg, TU_PCIE + PCI_EXP_LNKCTL, 4), lnk);
	pci_cfg_free(cfg);

	/* Without FLR in DEVCAP the bit is dropped and nothing resets. */
	cfg = pci_cfg_new(PCI_CFG_SIZE);
	const struct pci_cfg_hooks hk = { .opaque = &h, .flr = on_flr };
	pci_cfg_set_hooks(cfg, &hk);
	h.flr = 0;
	int pos = pci_cap_add_pcie(cfg, 0, PCI_EXP_TYPE_RC_END, 0);
	assert_int_equal(pos, 0x40);
	assert_int_equal(cfg->size, PCI_CFG_EXP_SIZE);
	tu_wr(cfg, pos + PCI_EXP_DEVCTL, PCI_EXP_DEVCTL_BCR_FLR, 2);
	assert_int_equal(h.flr, 0);
	assert_false(tu_rd(cfg, pos + PCI_EXP_DEVCTL, 2) & PCI_EXP_DEVCTL_BCR_FLR);
	/* A root complex integrated endpoint has no link registers. */
	assert_int_equal(pci_cap_add_vendor(cfg, 0, NULL, 0), 0x40 + 0x2c);
	assert_int_equal(pci_cap_add_pcie(cfg, 0, PCI_EXP_TYPE_ENDPOINT, 0), -EEXIST);
	assert_int_equal(pci_cap_add_pcie(cfg, 0, PCI_EXP_TYPE_ROOT_PORT, 0), -EINVAL);
	assert_int_equal(pci_cap_add_pcie(cfg, 0, PCI_EXP_TYPE_ENDPOINT, 2), -EINVAL);
	pci_cfg_free(cfg);
}

static void test_af_flr(void **state)
{
	struct hooks h;
	struct pci_cfg *cfg = full_with_hooks(&h);
	assert_int_equal(tu_rd(cfg, TU_AF + PCI_AF_LENGTH, 1), PCI_CAP_AF_SIZEOF);
	assert_int_equal(tu_rd(cfg, TU_AF + PCI_AF_CAP, 1),
			 PCI_AF_CAP_TP | PCI_AF_CAP_FLR);
	tu_wr(cfg, TU_AF + PCI_AF_CTRL, PCI_AF_CTRL_FLR, 1);
	assert_int_equal(h.flr, 1);
	assert_int_equal(tu_rd(cfg, TU_AF + PCI_AF_CTRL, 1), 0);
	/* A dword write covering CTRL counts too. */
	tu_wr(cfg, TU_AF + PCI_AF_CTRL, 0xffff, 2);
	assert_int_equal(h.flr, 2);
	/* Writing CAP or STATUS does nothing. */
	tu_wr(cfg, TU_AF, 0xffffffff, 4);
	assert_int_equal(h.flr, 2);
	assert_int_equal(tu_rd(cfg, TU_AF + PCI_AF_CAP, 1),
			 PCI_AF_CAP_TP | PCI_AF_CAP_FLR);
	pci_cfg_free(cfg);
}

static void test_vpd(void **state)
{
	struct pci_cfg *cfg = tu_full_cfg();
	uint32_t a = TU_VPD + PCI_VPD_ADDR, d = TU_VPD + PCI_VPD_DATA;
	/* Read: F clear in the write, set when the data is there. */
	tu_wr(cfg, a, 8, 2);
	assert_int_equal(tu_rd(cfg, a, 2), 8 | PCI_VPD_ADDR_F);
	assert_int_equal(tu_rd(cfg, d, 4), 0x8b8a8988);
	/* Write: F set in the write, clear when done. */
	tu_wr(cfg, d, 0xcafef00d, 4);
	tu_wr(cfg, a, 12 | PCI_VPD_ADDR_F, 2);
	assert_int_equal(tu_rd(cfg, a, 2), 12);
	tu_wr(cfg, d, 0, 4);
	tu_wr(cfg, a, 12, 2);
	assert_int_equal(tu_rd(cfg, d, 4), 0xcafef00d);
	/* Only a write of the byte holding F starts an access. */
	tu_wr(cfg, d, 0x11111111, 4);
	tu_wr(cfg, a, 0, 1);
	assert_int_equal(tu_rd(cfg, d, 4), 0x11111111);
	tu_wr(cfg, a + 1, 0, 1);
	assert_int_equal(tu_rd(cfg, d, 4), 0x83828180);
	/* One dword write of address and... the ID/next bytes before it. */
	tu_wr(cfg, TU_VPD, 4u << 16, 4);
	assert_int_equal(tu_rd(cfg, d, 4), 0x87868584);
	assert_int_equal(tu_rd(cfg, TU_VPD, 1), PCI_CAP_ID_VPD);
	/* Out of range: F never flips (the driver times out). */
	tu_wr(cfg, a, TU_VPD_LEN - 2, 2);
	assert_false(tu_rd(cfg, a, 2) & PCI_VPD_ADDR_F);
	tu_wr(cfg, a, 0x7ffc, 2);
	assert_false(tu_rd(cfg, a, 2) & PCI_VPD_ADDR_F);
	/* Reset restores the contents. */
	pci_cfg_reset(cfg);
	tu_wr(cfg, a, 12, 2);
	assert_int_equal(tu_rd(cfg, d, 4), 0x8f8e8d8c);
	pci_cfg_free(cfg);

	cfg = pci_cfg_new(PCI_CFG_SIZE);
	const uint8_t img[4] = { 0 };
	assert_int_equal(pci_cap_add_vpd(cfg, 0, img, 3), -EINVAL);
	assert_int_equal(pci_cap_add_vpd(cfg, 0, img, 0), -EINVAL);
	assert_int_equal(pci_cap_add_vpd(cfg, 0, NULL, 4), -EINVAL);
	assert_int_equal(pci_cap_add_vpd(cfg, 0, img, 4), 0x40);
	assert_int_equal(pci_cap_add_vpd(cfg, 0, img, 4), -EEXIST);
	pci_cfg_free(cfg);
}

static void test_vendor(void **state)
{
	struct pci_cfg *cfg = tu_full_cfg();
	assert_int_equal(tu_rd(cfg, TU_VNDR + PCI_CAP_FLAGS, 1), TU_VNDR_LEN);
	assert_int_equal(tu_rd(cfg, TU_VNDR + 3, 4), 0x04030201);
	tu_wr(cfg, TU_VNDR + 4, 0xa5a5a5a5, 4);
	assert_int_equal(tu_rd(cfg, TU_VNDR + 4, 4), 0xa5a5a5a5);
	/* Its length is the device's, read-only in it. */
	tu_wr(cfg, TU_VNDR + PCI_CAP_FLAGS, 0x22, 1);
	assert_int_equal(tu_rd(cfg, TU_VNDR + PCI_CAP_FLAGS, 1), TU_VNDR_LEN);
	pci_cfg_free(cfg);
	cfg = pci_cfg_new(PCI_CFG_SIZE);
	static const uint8_t big[253];
	assert_int_equal(pci_cap_add_vendor(cfg, 0, big, 253), -EINVAL);
	assert_int_equal(pci_cap_add_vendor(cfg, 0, NULL, 1), -EINVAL);
	/* Several are fine. */
	assert_int_equal(pci_cap_add_vendor(cfg, 0, big, 1), 0x40);
	assert_int_equal(pci_cap_add_vendor(cfg, 0, big, 1), 0x44);
	assert_int_equal(pci_cap_add_vendor(cfg, 0, big, 180), 0x48);
	assert_int_equal(pci_cap_add_vendor(cfg, 0, big, 60), -ENOSPC);
	pci_cfg_free(cfg);
}

static void test_placement(void **state)
{
	struct pci_cfg *cfg = pci_cfg_new(PCI_CFG_SIZE);
	/* Fixed offsets: dword aligned, past the header, inside 256. */
	assert_int_equal(pci_cap_add_pm(cfg, 0x42, 0), -EINVAL);
	assert_int_equal(pci_cap_add_pm(cfg, 0x3c, 0), -EINVAL);
	assert_int_equal(pci_cap_add_pm(cfg, 0xfc, 0), -EINVAL);
	assert_int_equal(pci_cap_add_pm(cfg, 0xc0, 0), 0xc0);
	/* Automatic: the lowest free dword that fits. */
	assert_int_equal(pci_cap_add_msi(cfg, 0, 2, UVFIO_MSI_64BIT), 0x40);
	assert_int_equal(pci_cap_add_af(cfg, 0), 0x50);
	/* Overlaps are refused. */
	static const uint8_t pay[8];
	assert_int_equal(pci_cap_add_vendor(cfg, 0x48, NULL, 0), -EEXIST);
	assert_int_equal(pci_cap_add_vendor(cfg, 0xbc, pay, 8), -EEXIST);
	assert_int_equal(pci_cap_add_vendor(cfg, 0xbc, pay, 1), 0xbc);
	/* The chain follows addresses, not the order of the calls. */
	assert_int_equal(tu_rd(cfg, PCI_CAPABILITY_LIST, 1), 0x40);
	assert_int_equal(tu_rd(cfg, 0x40 + PCI_CAP_LIST_NEXT, 1), 0x50);
	assert_int_equal(tu_rd(cfg, 0x50 + PCI_CAP_LIST_NEXT, 1), 0xbc);
	assert_int_equal(tu_rd(cfg, 0xbc + PCI_CAP_LIST_NEXT, 1), 0xc0);
	assert_int_equal(tu_rd(cfg, 0xc0 + PCI_CAP_LIST_NEXT, 1), 0);
	/* Extended capabilities need PCI Express. */
	assert_int_equal(pci_cap_add_aer(cfg, 0), -EINVAL);
	/* MSI-X needs its BARs. */
	assert_int_equal(pci_cap_add_msix(cfg, 0, 4, 0, 0, 0, 0x800), -EINVAL);
	assert_int_equal(pci_cfg_set_bar(cfg, 0, 4096, UVFIO_BAR_MEM32), 0);
	assert_int_equal(pci_cfg_set_bar(cfg, 1, 64, UVFIO_BAR_IO), 0);
	const struct { unsigned n, tb; uint32_t to; unsigned pb; uint32_t po; } bad[] = {
		{ 0, 0, 0, 0, 0x800 },        /* no vectors */
		{ 2049, 0, 0, 0, 0x800 },     /* too many */
		{ 4, 1, 0, 0, 0x800 },        /* an I/O BAR */
		{ 4, 2, 0, 0, 0x800 },        /* absent */
		{ 4, 0, 4, 0, 0x800 },        /* misaligned table */
		{ 4, 0, 0, 0, 0x804 },        /* misaligned PBA */
		{ 4, 0, 0xff8, 0, 0x800 },    /* table past the BAR */
		{ 4, 0, 0, 0, 0x1000 },       /* PBA past the BAR */
		{ 4, 0, 0, 0, 0x38 },         /* PBA inside the table */
		{ 4, 6, 0, 0, 0x800 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(pci_cap_add_msix(cfg, 0, bad[i].n, bad[i].tb,
						  bad[i].to, bad[i].pb, bad[i].po),
				 -EINVAL);
	assert_int_equal(pci_cap_add_msix(cfg, 0, 4, 0, 0, 0, 0x40), 0x58);
	assert_int_equal(pci_cap_add_msix(cfg, 0, 4, 0, 0, 0, 0x40), -EEXIST);
	/* Sealed: nothing more. */
	pci_cfg_seal(cfg);
	assert_int_equal(pci_cap_add_vendor(cfg, 0, NULL, 0), -EBUSY);
	assert_int_equal(pci_cfg_set_bar(cfg, 2, 4096, UVFIO_BAR_MEM32), -EBUSY);
	assert_int_equal(pci_cfg_hide(cfg, false, PCI_CAP_ID_PM), -EBUSY);
	pci_cfg_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_capabilities_sweep),
		cmocka_unit_test(test_chain_order),
		cmocka_unit_test(test_pm),
		cmocka_unit_test(test_msi_enable_follows_set_irqs),
		cmocka_unit_test(test_msi_mask_and_pending),
		cmocka_unit_test(test_msi32_maskable_layout),
		cmocka_unit_test(test_msi32_mask_and_pending),
		cmocka_unit_test(test_msix_capability_read_only),
		cmocka_unit_test(test_pcie_devctl),
		cmocka_unit_test(test_af_flr),
		cmocka_unit_test(test_vpd),
		cmocka_unit_test(test_vendor),
		cmocka_unit_test(test_placement),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
