/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Config-space virtualization end to end: the client library against
 * `uvfio-serve capdev` (a PCIe endpoint with every capability) over a
 * real socket.  The chain as a driver walks it (hidden capabilities
 * unlinked), interrupt counts from config space, MSI-X table masking and
 * pending bits, MSI per-vector masking, COMMAND's INTx disable, FLR
 * through DEVCTL and AF, memory decoding and D3hot gating BAR access,
 * STATUS write-1-to-clear, VPD.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include <uvfio/client.h>
#include "devices/models.h"
#include "testutil.h"

#define CFG  VFIO_PCI_CONFIG_REGION_INDEX
#define BAR0 VFIO_PCI_BAR0_REGION_INDEX
#define BAR2 VFIO_PCI_BAR2_REGION_INDEX
#define BAR4 VFIO_PCI_BAR4_REGION_INDEX

static struct served g_srv;

static int group_setup(void **state)
{
	(void)state;
	return served_start(&g_srv, "capdev", NULL);
}

static int group_teardown(void **state)
{
	(void)state;
	return served_stop(&g_srv) == 0 ? 0 : -1;
}

static struct uvfio_device *open_dev(void)
{
	struct uvfio_device *d = NULL;
	assert_int_equal(uvfio_device_open(g_srv.path, NULL, &d), 0);
	/* Every test starts from power-on state. */
	assert_int_equal(uvfio_device_reset(d), 0);
	return d;
}

static uint32_t cfg_rd(struct uvfio_device *d, unsigned off, unsigned len)
{
	uint8_t b[4] = { 0 };
	assert_int_equal(uvfio_region_read(d, CFG, off, b, len), (ssize_t)len);
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
}

static void cfg_wr(struct uvfio_device *d, unsigned off, uint32_t v,
		   unsigned len)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
			 (uint8_t)(v >> 24) };
	assert_int_equal(uvfio_region_write(d, CFG, off, b, len), (ssize_t)len);
}

static void mem_on(struct uvfio_device *d, bool on)
{
	uint32_t cmd = cfg_rd(d, PCI_COMMAND, 2);
	cmd = on ? cmd | PCI_COMMAND_MEMORY : cmd & ~(uint32_t)PCI_COMMAND_MEMORY;
	/* One byte: the pitfall of over-reading short COMMAND writes. */
	cfg_wr(d, PCI_COMMAND, cmd & 0xff, 1);
}

static uint32_t bar0_rd(struct uvfio_device *d, uint64_t off)
{
	uint32_t v = 0xdeadbeef;
	assert_int_equal(uvfio_region_read32(d, BAR0, off, &v), 0);
	return v;
}

/* Raise through the device; returns its errno (0: accepted). */
static uint32_t raise_irq(struct uvfio_device *d, unsigned index, unsigned v)
{
	assert_int_equal(uvfio_region_write32(d, BAR0, CAPDEV_REG_IRQ,
					      index << 16 | v), 0);
	return bar0_rd(d, CAPDEV_REG_IRQ_RESULT);
}

static bool signalled(int efd)
{
	struct pollfd p = { .fd = efd, .events = POLLIN };
	if (poll(&p, 1, 20) <= 0)
		return false;
	uint64_t v;
	assert_int_equal(read(efd, &v, sizeof(v)), sizeof(v));
	return true;
}

static int efd(void)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(fd >= 0);
	return fd;
}

/* lsvfio's walk: bounded, one step per capability. */
static unsigned find_cap(struct uvfio_device *d, unsigned id)
{
	unsigned pos = cfg_rd(d, PCI_CAPABILITY_LIST, 1) & ~3u;
	for (unsigned n = 0; pos && n < 48; n++) {
		if (cfg_rd(d, pos, 1) == id)
			return pos;
		pos = cfg_rd(d, pos + PCI_CAP_LIST_NEXT, 1) & ~3u;
	}
	return 0;
}

static void test_chain_as_a_driver_walks_it(void **state)
{
	(void)state;
	struct uvfio_device *d = open_dev();
	struct uvfio_region_info ri;
	assert_int_equal(uvfio_region_get_info(d, CFG, &ri), 0);
	assert_int_equal(ri.size, 4096);
	assert_int_equal(cfg_rd(d, PCI_VENDOR_ID, 4),
			 (uint32_t)CAPDEV_DEVICE << 16 | CAPDEV_VENDOR);
	assert_true(cfg_rd(d, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);

	/* Standard chain: the debug-port capability uvfio does not know is
	 * not on it. */
	const unsigned want[] = { PCI_CAP_ID_PM, PCI_CAP_ID_MSI, PCI_CAP_ID_MSIX,
				  PCI_CAP_ID_EXP, PCI_CAP_ID_AF, PCI_CAP_ID_VPD,
				  PCI_CAP_ID_VNDR };
	unsigned pos = cfg_rd(d, PCI_CAPABILITY_LIST, 1), n = 0;
	while (pos && n < 48) {
		assert_true(n < sizeof(want) / sizeof(want[0]));
		assert_int_equal(cfg_rd(d, pos, 1), want[n]);
		n++;
		pos = cfg_rd(d, pos + PCI_CAP_LIST_NEXT, 1);
	}
	assert_int_equal(n, sizeof(want) / sizeof(want[0]));

	/* Extended chain: the model hid the first one, so 0x100 is a bare
	 * header; PTM (unknown to uvfio) is unlinked. */
	uint32_t h = cfg_rd(d, PCI_CFG_SPACE_SIZE, 4);
	assert_int_equal(PCI_EXT_CAP_ID(h), 0);
	assert_int_equal(PCI_EXT_CAP_VER(h), 0);
	const unsigned ewant[] = { PCI_EXT_CAP_ID_ERR, PCI_EXT_CAP_ID_DSN,
				   PCI_EXT_CAP_ID_ARI, PCI_EXT_CAP_ID_SRIOV,
				   PCI_EXT_CAP_ID_VNDR, PCI_EXT_CAP_ID_DVSEC };
	pos = PCI_EXT_CAP_NEXT(h);
	n = 0;
	unsigned dsn = 0;
	while (pos && n < 64) {
		h = cfg_rd(d, pos, 4);
		assert_true(n < sizeof(ewant) / sizeof(ewant[0]));
		assert_int_equal(PCI_EXT_CAP_ID(h), ewant[n]);
		if (PCI_EXT_CAP_ID(h) == PCI_EXT_CAP_ID_DSN)
			dsn = pos;
		n++;
		pos = PCI_EXT_CAP_NEXT(h);
	}
	assert_int_equal(n, sizeof(ewant) / sizeof(ewant[0]));
	uint64_t serial = cfg_rd(d, dsn + 4, 4) | (uint64_t)cfg_rd(d, dsn + 8, 4) << 32;
	assert_true(serial == CAPDEV_SERIAL);

	/* Interrupt counts come from config space. */
	const struct { unsigned index, count; } irqs[] = {
		{ VFIO_PCI_INTX_IRQ_INDEX, 1 },
		{ VFIO_PCI_MSI_IRQ_INDEX, CAPDEV_MSI_VECTORS },
		{ VFIO_PCI_MSIX_IRQ_INDEX, CAPDEV_MSIX_VECTORS },
		{ VFIO_PCI_ERR_IRQ_INDEX, 1 },
		{ VFIO_PCI_REQ_IRQ_INDEX, 1 },
	};
	for (size_t i = 0; i < sizeof(irqs) / sizeof(irqs[0]); i++) {
		struct uvfio_irq_info ii;
		assert_int_equal(uvfio_irq_get_info(d, irqs[i].index, &ii), 0);
		assert_int_equal(ii.count, irqs[i].count);
	}
	uvfio_device_close(d);
}

static void test_memory_decode_gates_bars(void **state)
{
	(void)state;
	struct uvfio_device *d = open_dev();
	uint32_t v;
	/* Power-on: memory decoding off, memory BARs answer EIO. */
	assert_int_equal(uvfio_region_read32(d, BAR0, CAPDEV_REG_ID, &v), -EIO);
	assert_int_equal(uvfio_region_write32(d, BAR0, CAPDEV_REG_SCRATCH, 1), -EIO);
	assert_int_equal(uvfio_region_read32(d, BAR2, 0x3000, &v), -EIO);
	/* I/O ports are never gated. */
	assert_int_equal(uvfio_region_write32(d, BAR4, 4, 0x11223344), 0);
	assert_int_equal(uvfio_region_read32(d, BAR4, 4, &v), 0);
	assert_int_equal(v, 0x11223344);
	mem_on(d, true);
	assert_int_equal(bar0_rd(d, CAPDEV_REG_ID), CAPDEV_ID_VALUE);
	assert_int_equal(uvfio_region_write32(d, BAR0, CAPDEV_REG_SCRATCH, 7), 0);
	assert_int_equal(bar0_rd(d, CAPDEV_REG_SCRATCH), 7);
	mem_on(d, false);
	assert_int_equal(uvfio_region_read32(d, BAR0, CAPDEV_REG_SCRATCH, &v), -EIO);

	/* D3hot gates memory too, with decoding on. */
	unsigned pm = find_cap(d, PCI_CAP_ID_PM);
	assert_true(pm);
	mem_on(d, true);
	cfg_wr(d, pm + PCI_PM_CTRL, 3, 2);
	assert_int_equal(cfg_rd(d, pm + PCI_PM_CTRL, 2) & PCI_PM_CTRL_STATE_MASK, 3);
	assert_int_equal(uvfio_region_read32(d, BAR0, CAPDEV_REG_ID, &v), -EIO);
	cfg_wr(d, pm + PCI_PM_CTRL, 0, 2);
	assert_int_equal(bar0_rd(d, CAPDEV_REG_ID), CAPDEV_ID_VALUE);
	uvfio_device_close(d);
}

static void test_msix_table_masking(void **state)
{
	(void)state;
	struct uvfio_device *d = open_dev();
	mem_on(d, true);
	/* The table's pages are not mmap-able; the rest of BAR2 is. */
	struct uvfio_region_info ri;
	assert_int_equal(uvfio_region_get_info(d, BAR2, &ri), 0);
	assert_true(ri.sparse);
	assert_int_equal(ri.nr_areas, 1);
	assert_int_equal(ri.areas[0].offset, 0x2000);
	assert_int_equal(ri.areas[0].size, CAPDEV_BAR2_SIZE - 0x2000);

	unsigned mx = find_cap(d, PCI_CAP_ID_MSIX);
	assert_true(mx);
	assert_false(cfg_rd(d, mx + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_ENABLE);
	/* The capability is read-only to the client. */
	cfg_wr(d, mx + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE, 2);
	assert_false(cfg_rd(d, mx + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_ENABLE);

	int fds[CAPDEV_MSIX_VECTORS];
	for (unsigned i = 0; i < CAPDEV_MSIX_VECTORS; i++)
		fds[i] = efd();
	assert_int_equal(uvfio_irq_enable(d, VFIO_PCI_MSIX_IRQ_INDEX, 0,
					  CAPDEV_MSIX_VECTORS, fds), 0);
	/* Enabled through SET_IRQS: the device shows it. */
	assert_true(cfg_rd(d, mx + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_ENABLE);
	assert_int_equal(raise_irq(d, VFIO_PCI_MSIX_IRQ_INDEX, 3), 0);
	assert_true(signalled(fds[3]));

	/* Mask vector 3 in the table: a raise leaves it pending. */
	uint64_t ctrl = CAPDEV_MSIX_TABLE + 3 * PCI_MSIX_ENTRY_SIZE +
			PCI_MSIX_ENTRY_VECTOR_CTRL;
	assert_int_equal(uvfio_region_write32(d, BAR2, ctrl,
					      PCI_MSIX_ENTRY_CTRL_MASKBIT), 0);
	uint32_t v;
	assert_int_equal(uvfio_region_read32(d, BAR2, ctrl, &v), 0);
	assert_int_equal(v, PCI_MSIX_ENTRY_CTRL_MASKBIT);
	assert_int_equal(raise_irq(d, VFIO_PCI_MSIX_IRQ_INDEX, 3), 0);
	assert_false(signalled(fds[3]));
	uint64_t pba = 0;
	assert_int_equal(uvfio_region_read64(d, BAR2, CAPDEV_MSIX_PBA, &pba), 0);
	assert_true(pba == 1u << 3);
	/* The PBA is read-only. */
	assert_int_equal(uvfio_region_write64(d, BAR2, CAPDEV_MSIX_PBA, 0), 0);
	assert_int_equal(uvfio_region_read64(d, BAR2, CAPDEV_MSIX_PBA, &pba), 0);
	assert_true(pba == 1u << 3);
	/* Other vectors still fire. */
	assert_int_equal(raise_irq(d, VFIO_PCI_MSIX_IRQ_INDEX, 4), 0);
	assert_true(signalled(fds[4]));
	/* Unmask: the pending message goes out and the bit clears. */
	assert_int_equal(uvfio_region_write32(d, BAR2, ctrl, 0), 0);
	assert_true(signalled(fds[3]));
	assert_int_equal(uvfio_region_read64(d, BAR2, CAPDEV_MSIX_PBA, &pba), 0);
	assert_true(pba == 0);

	/* Table entries hold what the client programs. */
	uint64_t e5 = CAPDEV_MSIX_TABLE + 5 * PCI_MSIX_ENTRY_SIZE;
	assert_int_equal(uvfio_region_write32(d, BAR2, e5, 0xfee00000), 0);
	assert_int_equal(uvfio_region_write32(d, BAR2, e5 + 8, 0x4041), 0);
	assert_int_equal(uvfio_region_read32(d, BAR2, e5, &v), 0);
	assert_int_equal(v, 0xfee00000);
	assert_int_equal(uvfio_region_read32(d, BAR2, e5 + 8, &v), 0);
	assert_int_equal(v, 0x4041);

	assert_int_equal(uvfio_irq_disable(d, VFIO_PCI_MSIX_IRQ_INDEX), 0);
	assert_false(cfg_rd(d, mx + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_ENABLE);
	for (unsigned i = 0; i < CAPDEV_MSIX_VECTORS; i++)
		close(fds[i]);
	uvfio_device_close(d);
}

static void test_msi_mask_and_enable(void **state)
{
	(void)state;
	struct uvfio_device *d = open_dev();
	mem_on(d, true);
	unsigned msi = find_cap(d, PCI_CAP_ID_MSI);
	assert_true(msi);
	uint32_t fl0 = cfg_rd(d, msi + PCI_MSI_FLAGS, 2);
	assert_true(fl0 & PCI_MSI_FLAGS_MASKBIT);
	/* Enable does not stick without SET_IRQS. */
	cfg_wr(d, msi + PCI_MSI_FLAGS, PCI_MSI_FLAGS_ENABLE, 2);
	assert_int_equal(cfg_rd(d, msi + PCI_MSI_FLAGS, 2), fl0);
	int fds[CAPDEV_MSI_VECTORS];
	for (unsigned i = 0; i < CAPDEV_MSI_VECTORS; i++)
		fds[i] = efd();
	assert_int_equal(uvfio_irq_enable(d, VFIO_PCI_MSI_IRQ_INDEX, 0, 2, fds), 0);
	/* Now it does, with Multiple Message Enable clamped to 2 vectors. */
	cfg_wr(d, msi + PCI_MSI_FLAGS, PCI_MSI_FLAGS_ENABLE | 2 << 4, 2);
	uint32_t fl = cfg_rd(d, msi + PCI_MSI_FLAGS, 2);
	assert_true(fl & PCI_MSI_FLAGS_ENABLE);
	assert_int_equal(fl & PCI_MSI_FLAGS_QSIZE, 1 << 4);

	unsigned mask = msi + PCI_MSI_MASK_64, pend = msi + PCI_MSI_PENDING_64;
	cfg_wr(d, mask, 1u << 1, 4);
	assert_int_equal(raise_irq(d, VFIO_PCI_MSI_IRQ_INDEX, 1), 0);
	assert_false(signalled(fds[1]));
	assert_int_equal(cfg_rd(d, pend, 4), 1u << 1);
	assert_int_equal(raise_irq(d, VFIO_PCI_MSI_IRQ_INDEX, 0), 0);
	assert_true(signalled(fds[0]));
	cfg_wr(d, mask, 0, 4);
	assert_true(signalled(fds[1]));
	assert_int_equal(cfg_rd(d, pend, 4), 0);
	assert_int_equal(uvfio_irq_disable(d, VFIO_PCI_MSI_IRQ_INDEX), 0);
	for (unsigned i = 0; i < CAPDEV_MSI_VECTORS; i++)
		close(fds[i]);
	uvfio_device_close(d);
}

static void test_intx_disable(void **state)
{
	(void)state;
	struct uvfio_device *d = open_dev();
	mem_on(d, true);
	int fd = efd();
	assert_int_equal(uvfio_irq_enable(d, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, &fd), 0);
	uint32_t cmd = cfg_rd(d, PCI_COMMAND, 2);
	cfg_wr(d, PCI_COMMAND + 1, (cmd | PCI_COMMAND_INTX_DISABLE) >> 8, 1);
	assert_int_equal(raise_irq(d, VFIO_PCI_INTX_IRQ_INDEX, 0), 0);
	assert_false(signalled(fd));
	/* Clearing the bit delivers what was held back. */
	cfg_wr(d, PCI_COMMAND + 1, cmd >> 8, 1);
	assert_true(signalled(fd));
	/* SET_IRQS masking leaves COMMAND alone, as vfio-pci does. */
	assert_int_equal(uvfio_irq_mask(d, VFIO_PCI_INTX_IRQ_INDEX, 0), 0);
	assert_false(cfg_rd(d, PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE);
	assert_int_equal(uvfio_irq_unmask(d, VFIO_PCI_INTX_IRQ_INDEX, 0), 0);
	assert_false(cfg_rd(d, PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE);
	assert_int_equal(uvfio_irq_disable(d, VFIO_PCI_INTX_IRQ_INDEX), 0);
	close(fd);
	uvfio_device_close(d);
}

/* Dirty the device, reset it through @how, check power-on state. */
static void flr_via(struct uvfio_device *d, unsigned cap_id)
{
	mem_on(d, true);
	uint32_t resets = bar0_rd(d, CAPDEV_REG_RESETS);
	assert_int_equal(uvfio_region_write32(d, BAR0, CAPDEV_REG_SCRATCH, 0x55), 0);
	cfg_wr(d, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	cfg_wr(d, PCI_BASE_ADDRESS_0, 0xfe000000, 4);
	int fd = efd();
	assert_int_equal(uvfio_irq_enable(d, VFIO_PCI_MSIX_IRQ_INDEX, 0, 1, &fd), 0);
	unsigned pos = find_cap(d, cap_id);
	assert_true(pos);
	if (cap_id == PCI_CAP_ID_EXP) {
		assert_true(cfg_rd(d, pos + PCI_EXP_DEVCAP, 4) & PCI_EXP_DEVCAP_FLR);
		uint32_t ctl = cfg_rd(d, pos + PCI_EXP_DEVCTL, 2);
		cfg_wr(d, pos + PCI_EXP_DEVCTL, ctl | PCI_EXP_DEVCTL_BCR_FLR, 2);
		/* FLR reads back as zero. */
		assert_false(cfg_rd(d, pos + PCI_EXP_DEVCTL, 2) &
			     PCI_EXP_DEVCTL_BCR_FLR);
	} else {
		cfg_wr(d, pos + PCI_AF_CTRL, PCI_AF_CTRL_FLR, 1);
		assert_int_equal(cfg_rd(d, pos + PCI_AF_CTRL, 1), 0);
	}
	/* Config space keeps what vfio-pci keeps around a reset (COMMAND,
	 * BARs); the device's registers are reset, interrupts are off. */
	assert_int_equal(cfg_rd(d, PCI_COMMAND, 2),
			 PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	assert_int_equal(cfg_rd(d, PCI_BASE_ADDRESS_0, 4), 0xfe000000);
	assert_int_equal(bar0_rd(d, CAPDEV_REG_RESETS), resets + 1);
	assert_int_equal(bar0_rd(d, CAPDEV_REG_SCRATCH), 0);
	assert_int_equal(raise_irq(d, VFIO_PCI_MSIX_IRQ_INDEX, 0), ENOENT);
	assert_false(signalled(fd));
	close(fd);
}

static void test_flr_resets(void **state)
{
	(void)state;
	struct uvfio_device *d = open_dev();
	flr_via(d, PCI_CAP_ID_EXP);
	flr_via(d, PCI_CAP_ID_AF);
	uvfio_device_close(d);
}

static void test_status_and_vpd(void **state)
{
	(void)state;
	struct uvfio_device *d = open_dev();
	mem_on(d, true);
	/* The device raises error bits; the client clears them with ones. */
	uint32_t errs = PCI_STATUS_REC_MASTER_ABORT | PCI_STATUS_SIG_SYSTEM_ERROR;
	assert_int_equal(uvfio_region_write32(d, BAR0, CAPDEV_REG_STATUS, errs), 0);
	assert_int_equal(cfg_rd(d, PCI_STATUS, 2) & errs, errs);
	cfg_wr(d, PCI_STATUS, 0, 2);
	assert_int_equal(cfg_rd(d, PCI_STATUS, 2) & errs, errs);
	cfg_wr(d, PCI_STATUS, PCI_STATUS_REC_MASTER_ABORT, 2);
	assert_int_equal(cfg_rd(d, PCI_STATUS, 2) & errs,
			 PCI_STATUS_SIG_SYSTEM_ERROR);
	assert_true(cfg_rd(d, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);

	/* VPD: write the address with F clear, F flips when data is there. */
	unsigned vpd = find_cap(d, PCI_CAP_ID_VPD);
	assert_true(vpd);
	cfg_wr(d, vpd + PCI_VPD_ADDR, 0, 2);
	assert_true(cfg_rd(d, vpd + PCI_VPD_ADDR, 2) & PCI_VPD_ADDR_F);
	assert_int_equal(cfg_rd(d, vpd + PCI_VPD_DATA, 4), 0x63000682);
	cfg_wr(d, vpd + PCI_VPD_ADDR, 4, 2);
	assert_int_equal(cfg_rd(d, vpd + PCI_VPD_DATA, 4), 0x65647061);
	/* Past the end: F never flips. */
	cfg_wr(d, vpd + PCI_VPD_ADDR, CAPDEV_VPD_SIZE, 2);
	assert_false(cfg_rd(d, vpd + PCI_VPD_ADDR, 2) & PCI_VPD_ADDR_F);
	uvfio_device_close(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chain_as_a_driver_walks_it),
		cmocka_unit_test(test_memory_decode_gates_bars),
		cmocka_unit_test(test_msix_table_masking),
		cmocka_unit_test(test_msi_mask_and_enable),
		cmocka_unit_test(test_intx_disable),
		cmocka_unit_test(test_flr_resets),
		cmocka_unit_test(test_status_and_vpd),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
