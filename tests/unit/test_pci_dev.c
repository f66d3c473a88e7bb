/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Config space as the device model and its interrupts see it: a device
 * built with the public builder (<uvfio/pci.h>), eventfds bound through
 * SET_IRQS.  MSI-X table and PBA emulated in the BAR (vector and
 * function masks, pending bits), MSI per-vector masking, COMMAND's INTx
 * disable next to the SET_IRQS mask (two states, as in vfio-pci), IRQ
 * counts from config space, FLR through DEVCTL and AF, memory decoding
 * gating BARs, mmap areas around the MSI-X table, the getters, build
 * errors in the log.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <cmocka.h>

#include "device/dev.h"

#define CFG VFIO_PCI_CONFIG_REGION_INDEX
#define INTX VFIO_PCI_INTX_IRQ_INDEX
#define MSI VFIO_PCI_MSI_IRQ_INDEX
#define MSIX VFIO_PCI_MSIX_IRQ_INDEX
#define ERR VFIO_PCI_ERR_IRQ_INDEX
#define NVEC 12u
#define TABLE 0x1000u
#define PBA 0x3000u

struct fx {
	struct uvfio_dev *dev;
	struct uvfio_pci *p;
	int resets;
	int bar0_calls;
	unsigned msi, msix, pcie, af;
	char log[512];
};

static int on_reset(void *opaque)
{
	((struct fx *)opaque)->resets++;
	return 0;
}

static ssize_t bar0_rw(void *opaque, uint64_t off, void *buf, size_t n)
{
	((struct fx *)opaque)->bar0_calls++;
	memset(buf, 0x5a, n);
	return (ssize_t)n;
}

static ssize_t bar0_w(void *opaque, uint64_t off, const void *buf, size_t n)
{
	((struct fx *)opaque)->bar0_calls++;
	return (ssize_t)n;
}

static const struct uvfio_region_ops bar0_ops = { .read = bar0_rw,
						  .write = bar0_w };

static void log_cb(void *opaque, int prio, const char *msg)
{
	struct fx *f = opaque;
	snprintf(f->log, sizeof(f->log), "%s", msg);
}

/* BAR0: 16 KiB of callbacks holding the MSI-X table and PBA. */
static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	f->dev = uvfio_dev_new("pci-dev-test");
	f->p = uvfio_dev_pci(f->dev);
	uvfio_dev_set_log(f->dev, log_cb, f);
	const struct uvfio_pci_ids ids = { .vendor = 0x1234, .device = 0x4321,
					   .irq_pin = 1 };
	assert_int_equal(uvfio_pci_set_ids(f->p, &ids), 0);
	assert_int_equal(uvfio_pci_add_bar(f->p, 0, 16384, UVFIO_BAR_MEM32,
					   &bar0_ops, f), 0);
	assert_int_equal(uvfio_pci_add_bar(f->p, 2, 32, UVFIO_BAR_IO, NULL, NULL), 0);
	int r = uvfio_pci_add_msi(f->p, 0, 4, UVFIO_MSI_64BIT | UVFIO_MSI_MASKABLE);
	assert_true(r > 0);
	f->msi = (unsigned)r;
	r = uvfio_pci_add_msix(f->p, 0, NVEC, 0, TABLE, 0, PBA);
	assert_true(r > 0);
	f->msix = (unsigned)r;
	r = uvfio_pci_add_pcie(f->p, 0, PCI_EXP_TYPE_ENDPOINT, UVFIO_PCIE_FLR);
	assert_true(r > 0);
	f->pcie = (unsigned)r;
	r = uvfio_pci_add_af(f->p, 0);
	assert_true(r > 0);
	f->af = (unsigned)r;
	assert_int_equal(uvfio_pci_add_aer(f->p, 0), PCI_CFG_SPACE_SIZE);
	assert_int_equal(uvfio_pci_set_decode_gating(f->p, true), 0);
	assert_int_equal(uvfio_dev_set_reset(f->dev, on_reset, f), 0);
	assert_int_equal(dev_seal(f->dev), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	uvfio_dev_free(f->dev);
	free(f);
	return 0;
}

static uint32_t cfg_rd(struct fx *f, unsigned off, unsigned len)
{
	uint8_t b[4] = { 0 };
	assert_int_equal(dev_region_access(f->dev, CFG, off, b, len, false),
			 (ssize_t)len);
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
}

static void cfg_wr(struct fx *f, unsigned off, uint32_t v, unsigned len)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
			 (uint8_t)(v >> 24) };
	assert_int_equal(dev_region_access(f->dev, CFG, off, b, len, true),
			 (ssize_t)len);
}

static ssize_t bar(struct fx *f, unsigned idx, uint64_t off, void *b,
		   size_t n, bool write)
{
	return dev_region_access(f->dev, idx, off, b, n, write);
}

static void mem_on(struct fx *f)
{
	cfg_wr(f, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
}

static int efd(void)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

static uint64_t fired(int fd)
{
	uint64_t v = 0;
	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

/* Bind @n eventfds from vector 0; mine[] are dups the test reads. */
static void bind(struct fx *f, unsigned index, unsigned n, int *mine)
{
	int fds[16];
	for (unsigned i = 0; i < n; i++) {
		fds[i] = efd();
		mine[i] = dup(fds[i]);
	}
	assert_int_equal(dev_set_irqs(f->dev, VFIO_IRQ_SET_DATA_EVENTFD |
				      VFIO_IRQ_SET_ACTION_TRIGGER, index, 0, n,
				      NULL, 0, fds, n), 0);
}

static void close_all(int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		close(fds[i]);
}

static void test_irq_counts_from_config(void **state)
{
	struct fx *f = *state;
	uint32_t flags, count;
	assert_int_equal(dev_irq_info(f->dev, INTX, &flags, &count), 0);
	assert_int_equal(count, 1);
	assert_int_equal(dev_irq_info(f->dev, MSI, &flags, &count), 0);
	assert_int_equal(count, 4);
	assert_int_equal(dev_irq_info(f->dev, MSIX, &flags, &count), 0);
	assert_int_equal(count, NVEC);
	/* PCI Express: the error index exists. */
	assert_int_equal(dev_irq_info(f->dev, ERR, &flags, &count), 0);
	assert_int_equal(count, 1);
	assert_int_equal(dev_region(f->dev, CFG)->size, PCI_CFG_EXP_SIZE);

	/* Conventional PCI without a pin: no INTx, no ERR; overrides win. */
	struct uvfio_dev *d = uvfio_dev_new("plain");
	assert_int_equal(uvfio_dev_add_msi(d, 2, 0), 0);
	assert_int_equal(uvfio_dev_set_irq_count(d, MSIX, 3), 0);
	assert_int_equal(dev_seal(d), 0);
	assert_int_equal(dev_irq_info(d, INTX, &flags, &count), 0);
	assert_int_equal(count, 0);
	assert_int_equal(dev_irq_info(d, MSI, &flags, &count), 0);
	assert_int_equal(count, 2);
	assert_int_equal(dev_irq_info(d, MSIX, &flags, &count), 0);
	assert_int_equal(count, 3);
	assert_int_equal(dev_irq_info(d, ERR, &flags, &count), -EINVAL);
	assert_int_equal(dev_region(d, CFG)->size, PCI_CFG_SPACE_SIZE);
	uvfio_dev_free(d);
}

static void test_msix_table_in_bar(void **state)
{
	struct fx *f = *state;
	mem_on(f);
	uint8_t b[16];
	/* Power-on: every entry masked; the model's callbacks never see
	 * table or PBA accesses. */
	for (unsigned v = 0; v < NVEC; v++) {
		assert_int_equal(bar(f, 0, TABLE + v * 16, b, 16, false), 16);
		assert_int_equal(b[12], PCI_MSIX_ENTRY_CTRL_MASKBIT);
		assert_true(uvfio_pci_msix_vector_masked(f->p, v));
	}
	assert_int_equal(f->bar0_calls, 0);
	int mine[NVEC];
	bind(f, MSIX, NVEC, mine);
	assert_true(uvfio_pci_msix_enabled(f->p));
	assert_true(cfg_rd(f, f->msix + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_ENABLE);
	/* The host unmasked what it bound. */
	assert_false(uvfio_pci_msix_vector_masked(f->p, 7));
	assert_int_equal(uvfio_dev_irq_trigger(f->dev, MSIX, 7), 0);
	assert_int_equal(fired(mine[7]), 1);
	/* The client masks 7 in the table: raising sets its PBA bit. */
	uint32_t one = PCI_MSIX_ENTRY_CTRL_MASKBIT, zero = 0;
	assert_int_equal(bar(f, 0, TABLE + 7 * 16 + 12, &one, 4, true), 4);
	assert_int_equal(uvfio_dev_irq_trigger(f->dev, MSIX, 7), 0);
	assert_int_equal(fired(mine[7]), 0);
	uint64_t pba = 0;
	assert_int_equal(bar(f, 0, PBA, &pba, 8, false), 8);
	assert_true(pba == 1u << 7);
	/* Unmasked: delivered once. */
	assert_int_equal(bar(f, 0, TABLE + 7 * 16 + 12, &zero, 4, true), 4);
	assert_int_equal(fired(mine[7]), 1);
	assert_int_equal(bar(f, 0, PBA, &pba, 8, false), 8);
	assert_true(pba == 0);
	/* The function mask (the device's) holds every vector. */
	uint8_t mc[2];
	assert_int_equal(uvfio_pci_phys_read(f->p, f->msix + PCI_MSIX_FLAGS, mc, 2), 0);
	mc[1] |= PCI_MSIX_FLAGS_MASKALL >> 8;
	assert_int_equal(uvfio_pci_phys_write(f->p, f->msix + PCI_MSIX_FLAGS, mc, 2), 0);
	assert_true(uvfio_pci_msix_masked(f->p));
	assert_int_equal(uvfio_dev_irq_trigger(f->dev, MSIX, 1), 0);
	assert_int_equal(uvfio_dev_irq_trigger(f->dev, MSIX, 11), 0);
	assert_int_equal(fired(mine[1]) + fired(mine[11]), 0);
	mc[1] &= (uint8_t)~(PCI_MSIX_FLAGS_MASKALL >> 8);
	assert_int_equal(uvfio_pci_phys_write(f->p, f->msix + PCI_MSIX_FLAGS, mc, 2), 0);
	assert_int_equal(fired(mine[1]), 1);
	assert_int_equal(fired(mine[11]), 1);
	/* An access spanning the model's bytes and the table is split. */
	uint8_t span[32];
	memset(span, 0, sizeof(span));
	assert_int_equal(bar(f, 0, TABLE - 16, span, 32, false), 32);
	assert_int_equal(span[0], 0x5a);      /* the model's */
	assert_int_equal(span[16 + 12], 0);   /* vector 0, unmasked */
	assert_int_equal(f->bar0_calls, 1);
	/* Release: entries masked again, MSI-X off. */
	assert_int_equal(dev_set_irqs(f->dev, VFIO_IRQ_SET_DATA_NONE |
				      VFIO_IRQ_SET_ACTION_TRIGGER, MSIX, 0, 0,
				      NULL, 0, NULL, 0), 0);
	assert_true(uvfio_pci_msix_vector_masked(f->p, 7));
	assert_false(uvfio_pci_msix_enabled(f->p));
	close_all(mine, NVEC);
}

static void test_msi_per_vector_mask(void **state)
{
	struct fx *f = *state;
	int mine[4];
	bind(f, MSI, 3, mine);
	assert_int_equal(uvfio_pci_msi_enabled(f->p), 3);
	cfg_wr(f, f->msi + PCI_MSI_MASK_64, 1u << 2, 4);
	assert_int_equal(uvfio_dev_irq_trigger(f->dev, MSI, 2), 0);
	assert_int_equal(fired(mine[2]), 0);
	assert_int_equal(cfg_rd(f, f->msi + PCI_MSI_PENDING_64, 4), 1u << 2);
	assert_int_equal(uvfio_dev_irq_trigger(f->dev, MSI, 1), 0);
	assert_int_equal(fired(mine[1]), 1);
	cfg_wr(f, f->msi + PCI_MSI_MASK_64, 0, 4);
	assert_int_equal(fired(mine[2]), 1);
	assert_int_equal(cfg_rd(f, f->msi + PCI_MSI_PENDING_64, 4), 0);
	/* Enable written clear is the client's view only (vfio-pci's flags
	 * are virtual): SET_IRQS still has MSI on and delivery goes on. */
	cfg_wr(f, f->msi + PCI_MSI_FLAGS, 0, 1);
	assert_false(cfg_rd(f, f->msi + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_ENABLE);
	assert_int_equal(uvfio_dev_irq_trigger(f->dev, MSI, 1), 0);
	assert_int_equal(fired(mine[1]), 1);
	assert_int_equal(dev_set_irqs(f->dev, VFIO_IRQ_SET_DATA_NONE |
				      VFIO_IRQ_SET_ACTION_TRIGGER, MSI, 0, 0,
				      NULL, 0, NULL, 0), 0);
	assert_int_equal(uvfio_pci_msi_enabled(f->p), 0);
	/* Disabled through SET_IRQS: nothing is delivered. */
	assert_int_equal(uvfio_dev_irq_trigger(f->dev, MSI, 1), -ENOENT);
	assert_int_equal(fired(mine[1]), 0);
	close_all(mine, 3);
}

/*
 * The same with a 32-bit maskable MSI (mask at 0x0c, pending at 0x10):
 * a vector masked in config space is not signalled, shows as pending,
 * and its eventfd fires once when it is unmasked.
 */
static void test_msi32_per_vector_mask(void **state)
{
	struct fx f = { 0 };
	f.dev = uvfio_dev_new("msi32");
	f.p = uvfio_dev_pci(f.dev);
	int pos = uvfio_pci_add_msi(f.p, 0, 4, UVFIO_MSI_MASKABLE);
	assert_true(pos > 0);
	f.msi = (unsigned)pos;
	assert_int_equal(dev_seal(f.dev), 0);
	uint32_t fl = cfg_rd(&f, f.msi + PCI_MSI_FLAGS, 2);
	assert_true(fl & PCI_MSI_FLAGS_MASKBIT);
	assert_false(fl & PCI_MSI_FLAGS_64BIT);
	const unsigned mask = f.msi + 0x0c, pend = f.msi + 0x10;
	int mine[4];
	bind(&f, MSI, 4, mine);
	assert_int_equal(uvfio_pci_msi_enabled(f.p), 4);
	cfg_wr(&f, mask, 1u << 2 | 1u << 3, 4);
	assert_int_equal(cfg_rd(&f, mask, 4), 1u << 2 | 1u << 3);
	assert_int_equal(uvfio_dev_irq_trigger(f.dev, MSI, 2), 0);
	assert_int_equal(fired(mine[2]), 0);
	assert_int_equal(cfg_rd(&f, pend, 4), 1u << 2);
	/* Unmasked vectors fire at once. */
	assert_int_equal(uvfio_dev_irq_trigger(f.dev, MSI, 1), 0);
	assert_int_equal(fired(mine[1]), 1);
	assert_int_equal(cfg_rd(&f, pend, 4), 1u << 2);
	/* The pending bit is read-only to the client. */
	cfg_wr(&f, pend, 0, 4);
	assert_int_equal(cfg_rd(&f, pend, 4), 1u << 2);
	/* Unmasking 2 delivers it once; 3 had nothing pending. */
	cfg_wr(&f, mask, 1u << 3, 4);
	assert_int_equal(fired(mine[2]), 1);
	assert_int_equal(fired(mine[3]), 0);
	assert_int_equal(cfg_rd(&f, pend, 4), 0);
	cfg_wr(&f, mask, 0, 4);
	assert_int_equal(fired(mine[2]), 0);
	assert_int_equal(fired(mine[3]), 0);
	close_all(mine, 4);
	uvfio_dev_free(f.dev);
}

static void test_intx_one_state(void **state)
{
	struct fx *f = *state;
	int mine;
	bind(f, INTX, 1, &mine);
	/* COMMAND's INTx disable holds the line back... */
	cfg_wr(f, PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, 2);
	assert_true(uvfio_pci_intx_disabled(f->p));
	assert_int_equal(uvfio_dev_intx_set(f->dev, true), 0);
	assert_int_equal(fired(mine), 0);
	/* ...and clearing it delivers the still-asserted line. */
	cfg_wr(f, PCI_COMMAND, 0, 2);
	assert_int_equal(fired(mine), 1);
	assert_int_equal(uvfio_dev_intx_set(f->dev, false), 0);
	/* SET_IRQS MASK holds it back without touching COMMAND (as
	 * vfio-pci); UNMASK delivers. */
	assert_int_equal(dev_set_irqs(f->dev, VFIO_IRQ_SET_DATA_NONE |
				      VFIO_IRQ_SET_ACTION_UNMASK, INTX, 0, 1,
				      NULL, 0, NULL, 0), 0);
	assert_int_equal(dev_set_irqs(f->dev, VFIO_IRQ_SET_DATA_NONE |
				      VFIO_IRQ_SET_ACTION_MASK, INTX, 0, 1,
				      NULL, 0, NULL, 0), 0);
	assert_false(cfg_rd(f, PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE);
	assert_int_equal(uvfio_dev_irq_trigger(f->dev, INTX, 0), 0);
	assert_int_equal(fired(mine), 0);
	assert_int_equal(dev_set_irqs(f->dev, VFIO_IRQ_SET_DATA_NONE |
				      VFIO_IRQ_SET_ACTION_UNMASK, INTX, 0, 1,
				      NULL, 0, NULL, 0), 0);
	assert_int_equal(fired(mine), 1);
	close(mine);
}

static bool intx_status(struct fx *f)
{
	return cfg_rd(f, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT;
}

/*
 * STATUS's Interrupt Status follows INTx: the kernel's vfio-pci in a
 * guest of QEMU's vfio-user-pci (PCI 2.3 masking) took every interrupt
 * for someone else's while it read 0.
 */
static void test_intx_shows_in_status(void **state)
{
	struct fx *f = *state;
	int mine;
	bind(f, INTX, 1, &mine);
	assert_false(intx_status(f));
	/* A level: as long as the model holds it, masked or not. */
	assert_int_equal(uvfio_dev_intx_set(f->dev, true), 0);
	assert_int_equal(fired(mine), 1);
	assert_true(intx_status(f));
	cfg_wr(f, PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, 2);
	assert_true(intx_status(f));
	cfg_wr(f, PCI_COMMAND, 0, 2);
	assert_int_equal(uvfio_dev_intx_set(f->dev, false), 0);
	assert_false(intx_status(f));
	/* An edge: until the client unmasks it. */
	assert_int_equal(dev_set_irqs(f->dev, VFIO_IRQ_SET_DATA_NONE |
				      VFIO_IRQ_SET_ACTION_UNMASK, INTX, 0, 1,
				      NULL, 0, NULL, 0), 0);
	fired(mine);
	assert_int_equal(uvfio_dev_irq_trigger(f->dev, INTX, 0), 0);
	assert_int_equal(fired(mine), 1);
	assert_true(intx_status(f));
	assert_int_equal(dev_set_irqs(f->dev, VFIO_IRQ_SET_DATA_NONE |
				      VFIO_IRQ_SET_ACTION_UNMASK, INTX, 0, 1,
				      NULL, 0, NULL, 0), 0);
	assert_false(intx_status(f));
	close(mine);
}

/*
 * QEMU's vfio-user-pci sends UNMASK at its end-of-interrupt while the
 * guest's vfio-pci still holds COMMAND's INTx disable: that UNMASK
 * cleared the guest's bit and re-fired, and the guest's own unmask then
 * changed nothing, so the next interrupt never came.  As vfio-pci:
 * UNMASK waits for the bit to clear.
 */
static void test_intx_unmask_keeps_command_disable(void **state)
{
	struct fx *f = *state;
	int mine;
	bind(f, INTX, 1, &mine);
	assert_int_equal(uvfio_dev_intx_set(f->dev, true), 0);
	assert_int_equal(fired(mine), 1);
	cfg_wr(f, PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, 2);
	assert_int_equal(dev_set_irqs(f->dev, VFIO_IRQ_SET_DATA_NONE |
				      VFIO_IRQ_SET_ACTION_UNMASK, INTX, 0, 1,
				      NULL, 0, NULL, 0), 0);
	assert_int_equal(fired(mine), 0);
	assert_true(cfg_rd(f, PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE);
	/* The driver acknowledges, then clears INTx disable: quiet... */
	assert_int_equal(uvfio_dev_intx_set(f->dev, false), 0);
	cfg_wr(f, PCI_COMMAND, 0, 2);
	assert_int_equal(fired(mine), 0);
	/* ...and the next interrupt is delivered. */
	assert_int_equal(uvfio_dev_intx_set(f->dev, true), 0);
	assert_int_equal(fired(mine), 1);
	close(mine);
}

static void flr_and_check(struct fx *f, bool via_af)
{
	mem_on(f);
	cfg_wr(f, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	cfg_wr(f, PCI_BASE_ADDRESS_0, 0xfe000000, 4);
	assert_true(uvfio_pci_bus_master(f->p));
	assert_true(uvfio_pci_bar_address(f->p, 0) == 0xfe000000);
	int mine[2];
	bind(f, MSIX, 2, mine);
	int before = f->resets;
	if (via_af)
		cfg_wr(f, f->af + PCI_AF_CTRL, PCI_AF_CTRL_FLR, 1);
	else
		cfg_wr(f, f->pcie + PCI_EXP_DEVCTL,
		       cfg_rd(f, f->pcie + PCI_EXP_DEVCTL, 2) |
		       PCI_EXP_DEVCTL_BCR_FLR, 2);
	assert_int_equal(f->resets, before + 1);
	/* What vfio-pci restores around a reset stays; interrupts are off. */
	assert_int_equal(cfg_rd(f, PCI_COMMAND, 2),
			 PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	assert_true(uvfio_pci_bus_master(f->p));
	assert_true(uvfio_pci_bar_address(f->p, 0) == 0xfe000000);
	assert_false(uvfio_pci_msix_enabled(f->p));
	assert_false(uvfio_dev_irq_enabled(f->dev, MSIX, 0));
	assert_int_equal(uvfio_dev_irq_trigger(f->dev, MSIX, 0), -ENOENT);
	close_all(mine, 2);
}

static void test_flr(void **state)
{
	struct fx *f = *state;
	flr_and_check(f, false);
	flr_and_check(f, true);
	/* Without a reset callback FLR still resets config space: the
	 * device's error status clears, COMMAND is written back. */
	struct uvfio_dev *d = uvfio_dev_new("no-reset-cb");
	struct uvfio_pci *p = uvfio_dev_pci(d);
	int pos = uvfio_pci_add_pcie(p, 0, PCI_EXP_TYPE_ENDPOINT, UVFIO_PCIE_FLR);
	assert_true(pos > 0);
	assert_int_equal(dev_seal(d), 0);
	uint16_t cmd = PCI_COMMAND_MASTER, flr = PCI_EXP_DEVCTL_BCR_FLR;
	assert_int_equal(dev_region_access(d, CFG, PCI_COMMAND, &cmd, 2, true), 2);
	uint8_t serr = PCI_STATUS_SIG_SYSTEM_ERROR >> 8;
	assert_int_equal(uvfio_pci_phys_write(p, PCI_STATUS + 1, &serr, 1), 0);
	uint16_t st = 0;
	assert_int_equal(dev_region_access(d, CFG, PCI_STATUS, &st, 2, false), 2);
	assert_true(st & PCI_STATUS_SIG_SYSTEM_ERROR);
	assert_int_equal(dev_region_access(d, CFG, (unsigned)pos + PCI_EXP_DEVCTL,
					   &flr, 2, true), 2);
	assert_int_equal(dev_region_access(d, CFG, PCI_STATUS, &st, 2, false), 2);
	assert_false(st & PCI_STATUS_SIG_SYSTEM_ERROR);
	assert_true(uvfio_pci_bus_master(p));
	assert_int_equal(dev_reset(d), -ENOTTY);
	uvfio_dev_free(d);
}

/*
 * An Advanced Features capability from uvfio_pci_add_raw_cap() (a known
 * ID, so virtualized as AF) that lacks Transactions Pending or FLR
 * capability: Initiate FLR reads back 0 and does not reset the
 * function, as in vfio-pci, which resets only when both bits are set.
 */
static void test_af_flr_needs_both_capabilities(void **state)
{
	const uint8_t caps[] = { PCI_AF_CAP_FLR, PCI_AF_CAP_TP, 0,
				 PCI_AF_CAP_TP | PCI_AF_CAP_FLR };
	for (size_t i = 0; i < sizeof(caps); i++) {
		struct fx f = { 0 };
		f.dev = uvfio_dev_new("af-raw");
		f.p = uvfio_dev_pci(f.dev);
		assert_int_equal(uvfio_dev_set_reset(f.dev, on_reset, &f), 0);
		const uint8_t body[4] = { PCI_CAP_AF_SIZEOF, caps[i], 0, 0 };
		int pos = uvfio_pci_add_raw_cap(f.p, 0, PCI_CAP_ID_AF, body, 4);
		assert_int_equal(pos, 0x40);
		/* It is the function's AF capability: no second one. */
		assert_int_equal(uvfio_pci_add_af(f.p, 0), -EEXIST);
		assert_int_equal(dev_seal(f.dev), 0);
		f.af = (unsigned)pos;
		assert_int_equal(cfg_rd(&f, PCI_CAPABILITY_LIST, 1), f.af);
		assert_int_equal(cfg_rd(&f, f.af, 1), PCI_CAP_ID_AF);
		assert_int_equal(cfg_rd(&f, f.af + PCI_AF_CAP, 1), caps[i]);
		/* Some state a reset would clear: an error the device raised. */
		uint8_t serr = PCI_STATUS_SIG_SYSTEM_ERROR >> 8;
		assert_int_equal(uvfio_pci_phys_write(f.p, PCI_STATUS + 1, &serr, 1), 0);
		bool can = caps[i] == (PCI_AF_CAP_TP | PCI_AF_CAP_FLR);
		cfg_wr(&f, f.af + PCI_AF_CTRL, PCI_AF_CTRL_FLR, 1);
		assert_int_equal(f.resets, can ? 1 : 0);
		assert_int_equal(cfg_rd(&f, f.af + PCI_AF_CTRL, 1), 0);
		assert_int_equal(!!(cfg_rd(&f, PCI_STATUS, 2) &
				    PCI_STATUS_SIG_SYSTEM_ERROR), !can);
		/* All-ones over control and status: the same. */
		cfg_wr(&f, f.af + PCI_AF_CTRL, 0xffff, 2);
		assert_int_equal(f.resets, can ? 2 : 0);
		assert_int_equal(cfg_rd(&f, f.af + PCI_AF_CAP, 1), caps[i]);
		assert_int_equal(cfg_rd(&f, f.af + PCI_AF_CTRL, 1), 0);
		uvfio_dev_free(f.dev);
	}
}

/*
 * A raw capability of a kind uvfio knows is virtualized as that kind, so
 * it must hold that kind's registers.  A 4-byte AF capability had its
 * control register in the next capability: any client write to it, even
 * to its read-only bytes, took bit 0 of the neighbour's ID for Initiate
 * FLR — clearing it (PM read as ID 0) or, with TP and FLR capability,
 * resetting the function.  Such capabilities are refused and leave
 * nothing behind.
 */
static void test_raw_cap_too_short_for_its_kind(void **state)
{
	struct fx f = { 0 };
	f.dev = uvfio_dev_new("raw-short");
	f.p = uvfio_dev_pci(f.dev);
	assert_int_equal(uvfio_dev_set_reset(f.dev, on_reset, &f), 0);
	const uint8_t af[4] = { PCI_CAP_AF_SIZEOF, PCI_AF_CAP_TP | PCI_AF_CAP_FLR };
	assert_int_equal(uvfio_pci_add_raw_cap(f.p, 0x40, PCI_CAP_ID_AF, af, 2),
			 -EINVAL);
	/* PM is 8 bytes. */
	assert_int_equal(uvfio_pci_add_raw_cap(f.p, 0, PCI_CAP_ID_PM, af, 4), -EINVAL);
	/* MSI flags saying 64-bit and maskable (24 bytes) in 12. */
	uint8_t msi[22] = { (uint8_t)PCI_MSI_FLAGS_64BIT,
			    (uint8_t)(PCI_MSI_FLAGS_MASKBIT >> 8) };
	assert_int_equal(uvfio_pci_add_raw_cap(f.p, 0, PCI_CAP_ID_MSI, msi, 10),
			 -EINVAL);
	/* A vendor-specific length byte past the bytes given. */
	const uint8_t vndr[3] = { 12, 1, 2 };
	assert_int_equal(uvfio_pci_add_raw_cap(f.p, 0, PCI_CAP_ID_VNDR, vndr, 3),
			 -EINVAL);
	/* Nothing was left behind. */
	uint8_t b[64];
	assert_int_equal(uvfio_pci_phys_read(f.p, 0x40, b, sizeof(b)), 0);
	for (size_t i = 0; i < sizeof(b); i++)
		assert_int_equal(b[i], 0);
	/* Long enough, they are taken. */
	assert_int_equal(uvfio_pci_add_raw_cap(f.p, 0x40, PCI_CAP_ID_AF, af, 4), 0x40);
	assert_int_equal(uvfio_pci_add_pm(f.p, 0x48, 0), 0x48);
	assert_int_equal(uvfio_pci_add_raw_cap(f.p, 0, PCI_CAP_ID_MSI, msi, 22), 0x50);
	assert_int_equal(dev_seal(f.dev), 0);
	/* Writes to the AF capability stay in it. */
	cfg_wr(&f, 0x40, 0, 4);
	cfg_wr(&f, 0x40, 0xffffffff, 4);
	assert_int_equal(cfg_rd(&f, 0x48, 1), PCI_CAP_ID_PM);
	assert_int_equal(f.resets, 0);
	cfg_wr(&f, 0x40 + PCI_AF_CTRL, PCI_AF_CTRL_FLR, 1);
	assert_int_equal(f.resets, 1);
	uvfio_dev_free(f.dev);

	/* Extended ones likewise (AER is 0x2c bytes, VSEC says its length). */
	f = (struct fx){ 0 };
	f.dev = uvfio_dev_new("raw-short-ext");
	f.p = uvfio_dev_pci(f.dev);
	assert_true(uvfio_pci_add_pcie(f.p, 0, PCI_EXP_TYPE_ENDPOINT, 0) > 0);
	static const uint8_t zero[40];
	assert_int_equal(uvfio_pci_add_raw_ext_cap(f.p, 0x200, PCI_EXT_CAP_ID_ERR, 2,
						   zero, 8), -EINVAL);
	const uint8_t vsec[8] = { 0x34, 0x12, 0x01, 32 >> 4 };   /* length 32 */
	assert_int_equal(uvfio_pci_add_raw_ext_cap(f.p, 0, PCI_EXT_CAP_ID_VNDR, 1,
						   vsec, 8), -EINVAL);
	assert_int_equal(dev_seal(f.dev), 0);
	/* No extended capability, not even a null header pointing on. */
	assert_int_equal(cfg_rd(&f, PCI_CFG_SPACE_SIZE, 4), 0);
	assert_int_equal(cfg_rd(&f, 0x200, 4), 0);
	uvfio_dev_free(f.dev);
}

/* A model narrows the writable header bits to what its hardware has. */
static void test_header_writable(void **state)
{
	struct uvfio_dev *d = uvfio_dev_new("hdr-w");
	struct uvfio_pci *p = uvfio_dev_pci(d);
	assert_int_equal(uvfio_pci_set_header_writable(p, 0x8000, true, true), -EINVAL);
	assert_int_equal(uvfio_pci_set_header_writable(NULL, 0, true, true), -EINVAL);
	assert_int_equal(uvfio_pci_set_header_writable(p, PCI_COMMAND_MEMORY |
						       PCI_COMMAND_MASTER, true,
						       false), 0);
	assert_int_equal(dev_seal(d), 0);
	assert_int_equal(uvfio_pci_set_header_writable(p, 0, true, true), -EBUSY);
	uint16_t all = 0xffff, cmd = 0;
	uint8_t ones = 0xff, b = 0;
	assert_int_equal(dev_region_access(d, CFG, PCI_COMMAND, &all, 2, true), 2);
	assert_int_equal(dev_region_access(d, CFG, PCI_COMMAND, &cmd, 2, false), 2);
	/* INTx disable is vfio's virtual bit; parity and SERR are not there. */
	assert_int_equal(cmd, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
			 PCI_COMMAND_INTX_DISABLE);
	assert_int_equal(dev_region_access(d, CFG, PCI_LATENCY_TIMER, &ones, 1, true), 1);
	assert_int_equal(dev_region_access(d, CFG, PCI_LATENCY_TIMER, &b, 1, false), 1);
	assert_int_equal(b, 0);
	assert_int_equal(dev_region_access(d, CFG, PCI_CACHE_LINE_SIZE, &ones, 1, true), 1);
	assert_int_equal(dev_region_access(d, CFG, PCI_CACHE_LINE_SIZE, &b, 1, false), 1);
	assert_int_equal(b, 0xff);
	uvfio_dev_free(d);
}

static void test_decode_gating(void **state)
{
	struct fx *f = *state;
	uint32_t v;
	assert_int_equal(bar(f, 0, 0, &v, 4, false), -EIO);
	assert_int_equal(bar(f, 0, TABLE, &v, 4, true), -EIO);
	assert_null(dev_region_mem(f->dev, 0, 0, 4, false));
	assert_int_equal(bar(f, 2, 0, &v, 4, false), 4);          /* I/O */
	assert_false(uvfio_pci_memory_enabled(f->p));
	mem_on(f);
	assert_true(uvfio_pci_memory_enabled(f->p));
	assert_int_equal(bar(f, 0, 0, &v, 4, false), 4);
	/* D3hot gates memory again. */
	struct uvfio_dev *d = uvfio_dev_new("pm");
	struct uvfio_pci *p = uvfio_dev_pci(d);
	assert_int_equal(uvfio_pci_add_bar(p, 0, 4096, UVFIO_BAR_MEM32, NULL, NULL), 0);
	int pm = uvfio_pci_add_pm(p, 0, 0);
	assert_true(pm > 0);
	assert_int_equal(uvfio_pci_set_decode_gating(p, true), 0);
	assert_int_equal(dev_seal(d), 0);
	assert_int_equal(uvfio_pci_set_decode_gating(p, false), -EBUSY);
	uint16_t c = PCI_COMMAND_MEMORY, d3 = PCI_PM_D3HOT, d0 = 0;
	assert_int_equal(dev_region_access(d, CFG, PCI_COMMAND, &c, 2, true), 2);
	assert_int_equal(dev_region_access(d, 0, 0, &v, 4, false), 4);
	assert_int_equal(dev_region_access(d, CFG, (unsigned)pm + PCI_PM_CTRL,
					   &d3, 2, true), 2);
	assert_int_equal(uvfio_pci_power_state(p), 3);
	assert_int_equal(dev_region_access(d, 0, 0, &v, 4, false), -EIO);
	assert_int_equal(dev_region_access(d, CFG, (unsigned)pm + PCI_PM_CTRL,
					   &d0, 2, true), 2);
	assert_int_equal(dev_region_access(d, 0, 0, &v, 4, false), 4);
	uvfio_dev_free(d);
}

/*
 * uvfio_pci_io_enabled(): COMMAND's I/O Space bit as the client last
 * wrote it, whatever the width of the write, apart from memory decoding
 * and INTx disable, kept across a function reset (vfio-pci restores
 * COMMAND); I/O BARs answer either way.
 */
static void test_io_enabled(void **state)
{
	struct fx *f = *state;
	uint32_t v;
	assert_false(uvfio_pci_io_enabled(NULL));
	assert_false(uvfio_pci_io_enabled(f->p));
	cfg_wr(f, PCI_COMMAND, PCI_COMMAND_IO, 2);
	assert_true(uvfio_pci_io_enabled(f->p));
	assert_false(uvfio_pci_memory_enabled(f->p));
	assert_true(cfg_rd(f, PCI_COMMAND, 2) & PCI_COMMAND_IO);
	cfg_wr(f, PCI_COMMAND, 0, 2);
	assert_false(uvfio_pci_io_enabled(f->p));
	assert_false(cfg_rd(f, PCI_COMMAND, 2) & PCI_COMMAND_IO);
	/* One byte at COMMAND; then the high byte leaves it alone. */
	cfg_wr(f, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY, 1);
	assert_true(uvfio_pci_io_enabled(f->p));
	assert_true(uvfio_pci_memory_enabled(f->p));
	cfg_wr(f, PCI_COMMAND + 1, PCI_COMMAND_INTX_DISABLE >> 8, 1);
	assert_true(uvfio_pci_io_enabled(f->p));
	assert_true(uvfio_pci_intx_disabled(f->p));
	cfg_wr(f, PCI_COMMAND + 1, 0, 1);
	assert_true(uvfio_pci_io_enabled(f->p));
	/* A dword over COMMAND and STATUS: each enable on its own. */
	cfg_wr(f, PCI_COMMAND, PCI_COMMAND_MEMORY, 4);
	assert_false(uvfio_pci_io_enabled(f->p));
	assert_true(uvfio_pci_memory_enabled(f->p));
	cfg_wr(f, PCI_COMMAND, PCI_COMMAND_IO, 4);
	assert_true(uvfio_pci_io_enabled(f->p));
	assert_false(uvfio_pci_memory_enabled(f->p));
	/* Writes next to COMMAND do not touch it. */
	cfg_wr(f, PCI_VENDOR_ID, 0, 4);
	cfg_wr(f, PCI_STATUS, 0xffff, 2);
	cfg_wr(f, PCI_CLASS_REVISION, 0, 4);
	assert_true(uvfio_pci_io_enabled(f->p));
	/*
	 * It is what the driver asked for, kept in the virtual copy as
	 * vfio-pci keeps it: the device dropping the bit in its own
	 * register changes what the client reads, not this.
	 */
	uint16_t cmd;
	assert_int_equal(uvfio_pci_phys_read(f->p, PCI_COMMAND, &cmd, 2), 0);
	cmd &= (uint16_t)~PCI_COMMAND_IO;
	assert_int_equal(uvfio_pci_phys_write(f->p, PCI_COMMAND, &cmd, 2), 0);
	assert_false(cfg_rd(f, PCI_COMMAND, 2) & PCI_COMMAND_IO);
	assert_true(uvfio_pci_io_enabled(f->p));
	cfg_wr(f, PCI_COMMAND, PCI_COMMAND_IO, 2);
	assert_true(cfg_rd(f, PCI_COMMAND, 2) & PCI_COMMAND_IO);
	/* A function reset keeps it, as vfio-pci's restore of COMMAND. */
	int before = f->resets;
	cfg_wr(f, f->pcie + PCI_EXP_DEVCTL,
	       cfg_rd(f, f->pcie + PCI_EXP_DEVCTL, 2) | PCI_EXP_DEVCTL_BCR_FLR, 2);
	assert_int_equal(f->resets, before + 1);
	assert_true(uvfio_pci_io_enabled(f->p));
	assert_true(cfg_rd(f, PCI_COMMAND, 2) & PCI_COMMAND_IO);
	/* I/O BARs are not gated by it (memory gating is on here). */
	assert_int_equal(bar(f, 2, 0, &v, 4, false), 4);
	cfg_wr(f, PCI_COMMAND, 0, 2);
	assert_false(uvfio_pci_io_enabled(f->p));
	assert_int_equal(bar(f, 2, 0, &v, 4, false), 4);
}

static void test_mmap_areas_skip_the_table(void **state)
{
	struct uvfio_dev *d = uvfio_dev_new("mmap");
	struct uvfio_pci *p = uvfio_dev_pci(d);
	assert_int_equal(uvfio_pci_add_bar(p, 0, 32768, UVFIO_BAR_MEM32, NULL, NULL), 0);
	void *mem;
	assert_int_equal(uvfio_dev_region_alloc_memory(d, 0, &mem), 0);
	assert_true(uvfio_pci_add_msix(p, 0, 8, 0, 0x2000, 0, 0x6008) > 0);
	assert_int_equal(dev_seal(d), 0);
	struct dev_region *r = dev_region(d, 0);
	assert_true(r->flags & VFIO_REGION_INFO_FLAG_MMAP);
	assert_int_equal(r->nr_areas, 3);
	const uint64_t want[3][2] = { { 0, 0x2000 }, { 0x3000, 0x3000 },
				      { 0x7000, 0x1000 } };
	for (unsigned i = 0; i < 3; i++) {
		assert_true(r->areas[i].offset == want[i][0]);
		assert_true(r->areas[i].size == want[i][1]);
	}
	/* Memory outside the table is the model's, inside it is not. */
	assert_non_null(dev_region_mem(d, 0, 0x100, 4, false));
	assert_null(dev_region_mem(d, 0, 0x2000, 4, false));
	assert_null(dev_region_mem(d, 0, 0x1ffc, 8, false));
	memset(mem, 0xee, 32768);
	uint32_t v;
	assert_int_equal(dev_region_access(d, 0, 0x2000 + 12, &v, 4, false), 4);
	assert_int_equal(v, PCI_MSIX_ENTRY_CTRL_MASKBIT);
	assert_int_equal(dev_region_access(d, 0, 0x2100, &v, 4, false), 4);
	assert_int_equal(v, 0xeeeeeeee);
	uvfio_dev_free(d);

	/* An explicit area over the table: sealing fails. */
	d = uvfio_dev_new("mmap-bad");
	p = uvfio_dev_pci(d);
	assert_int_equal(uvfio_pci_add_bar(p, 0, 16384, UVFIO_BAR_MEM32, NULL, NULL), 0);
	assert_int_equal(uvfio_dev_region_alloc_memory(d, 0, NULL), 0);
	assert_int_equal(uvfio_dev_region_add_mmap_area(d, 0, 0, 8192), 0);
	assert_true(uvfio_pci_add_msix(p, 0, 4, 0, 0x1000, 0, 0x1800) > 0);
	assert_int_equal(dev_seal(d), -EINVAL);
	uvfio_dev_free(d);
}

static void test_build_errors_logged(void **state)
{
	struct fx f = { 0 };
	f.dev = uvfio_dev_new("errors");
	f.p = uvfio_dev_pci(f.dev);
	uvfio_dev_set_log(f.dev, log_cb, &f);
	assert_int_equal(uvfio_pci_add_bar(f.p, 0, 3000, UVFIO_BAR_MEM32, NULL, NULL),
			 -EINVAL);
	assert_non_null(strstr(f.log, "power of two"));
	assert_int_equal(uvfio_pci_add_msix(f.p, 0, 4, 0, 0, 0, 0x100), -EINVAL);
	assert_non_null(strstr(f.log, "MSI-X"));
	assert_int_equal(uvfio_pci_add_aer(f.p, 0), -EINVAL);
	assert_non_null(strstr(f.log, "AER"));
	assert_int_equal(uvfio_pci_add_pm(f.p, 0x40, 0), 0x40);
	assert_int_equal(uvfio_pci_add_vendor(f.p, 0x44, NULL, 0), -EEXIST);
	assert_non_null(strstr(f.log, "overlaps"));
	assert_int_equal(uvfio_pci_add_raw_ext_cap(f.p, 0, 1, 16, NULL, 0), -EINVAL);
	assert_null(uvfio_dev_pci(NULL));
	assert_int_equal(uvfio_pci_add_pm(NULL, 0, 0), -EINVAL);
	assert_int_equal(uvfio_pci_set_ids(f.p, NULL), -EINVAL);
	assert_int_equal(dev_seal(f.dev), 0);
	assert_int_equal(uvfio_pci_add_af(f.p, 0), -EBUSY);
	assert_int_equal(uvfio_pci_hide_cap(f.p, PCI_CAP_ID_PM), -EBUSY);
	uvfio_dev_free(f.dev);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_irq_counts_from_config),
		T(test_msix_table_in_bar),
		T(test_msi_per_vector_mask),
		cmocka_unit_test(test_msi32_per_vector_mask),
		T(test_intx_one_state),
		T(test_intx_shows_in_status),
		T(test_intx_unmask_keeps_command_disable),
		T(test_flr),
		cmocka_unit_test(test_af_flr_needs_both_capabilities),
		cmocka_unit_test(test_raw_cap_too_short_for_its_kind),
		T(test_decode_gating),
		T(test_io_enabled),
		cmocka_unit_test(test_header_writable),
		cmocka_unit_test(test_mmap_areas_skip_the_table),
		cmocka_unit_test(test_build_errors_logged),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
