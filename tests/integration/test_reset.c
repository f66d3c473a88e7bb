/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * DEVICE_RESET as a driver sees it: device registers and config space
 * back to power-on values, interrupts disabled the kernel way, DMA
 * windows left alone.
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

#define BAR0 VFIO_PCI_BAR0_REGION_INDEX
#define CFG  VFIO_PCI_CONFIG_REGION_INDEX
#define MSI  VFIO_PCI_MSI_IRQ_INDEX
#define INTX VFIO_PCI_INTX_IRQ_INDEX

static struct served g_srv;

static struct uvfio_device *open_dev(bool no_twin)
{
	struct uvfio_open_opts o = test_open_opts();
	o.no_twin_socket = no_twin;
	struct uvfio_device *d = NULL;
	assert_int_equal(uvfio_device_open(g_srv.path, &o, &d), 0);
	assert_non_null(d);
	return d;
}

static int group_setup(void **state)
{
	(void)state;
	return served_start(&g_srv, "testdev", NULL);
}

static int group_teardown(void **state)
{
	(void)state;
	return served_stop_checked(&g_srv);
}

static uint32_t rd32(struct uvfio_device *d, unsigned region, uint64_t off)
{
	uint32_t v = 0xdeadbeef;
	assert_int_equal(uvfio_region_read32(d, region, off, &v), 0);
	return v;
}

static uint16_t rd16(struct uvfio_device *d, unsigned region, uint64_t off)
{
	uint16_t v = 0xdead;
	assert_int_equal(uvfio_region_read16(d, region, off, &v), 0);
	return v;
}

static uint32_t raise_irq(struct uvfio_device *d, unsigned index, unsigned vector)
{
	assert_int_equal(uvfio_region_write32(d, BAR0, TESTDEV_REG_IRQ,
					      index << 16 | vector), 0);
	return rd32(d, BAR0, TESTDEV_REG_IRQ_RESULT);
}

static uint32_t run_dma(struct uvfio_device *d, uint64_t iova, uint32_t len,
			uint32_t cmd)
{
	assert_int_equal(uvfio_region_write64(d, BAR0, TESTDEV_REG_DMA_ADDR, iova), 0);
	assert_int_equal(uvfio_region_write32(d, BAR0, TESTDEV_REG_DMA_LEN, len), 0);
	assert_int_equal(uvfio_region_write32(d, BAR0, TESTDEV_REG_DMA_CMD, cmd), 0);
	return rd32(d, BAR0, TESTDEV_REG_DMA_STATUS);
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

static void reset_device_state(bool no_twin)
{
	struct uvfio_device *d = open_dev(no_twin);
	uint32_t resets = rd32(d, BAR0, TESTDEV_REG_RESETS);

	/* State to lose... */
	assert_int_equal(uvfio_region_write32(d, BAR0, TESTDEV_REG_SCRATCH,
					      0x12345678), 0);
	const uint8_t one[4] = { 1, 0, 0, 0 };
	assert_int_equal(uvfio_region_write(d, BAR0, TESTDEV_REG_BUMP, one, 4), 4);
	assert_int_equal(uvfio_region_write16(d, CFG, PCI_COMMAND,
					      PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER), 0);
	assert_int_equal(uvfio_region_write32(d, CFG, PCI_BASE_ADDRESS_0,
					      0xfebf0000), 0);
	int efd[4];
	for (int i = 0; i < 4; i++) {
		efd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		assert_true(efd[i] >= 0);
	}
	assert_int_equal(uvfio_irq_enable(d, MSI, 0, 4, efd), 0);
	assert_int_equal(raise_irq(d, MSI, 1), 0);
	assert_true(signalled(efd[1]));
	/* ...and a DMA window to keep. */
	struct uvfio_dma_buf *b = NULL;
	assert_int_equal(uvfio_dma_alloc(d, 64 * 1024, 0, &b), 0);
	memset(b->vaddr, 0x3c, 64 * 1024);
	assert_int_equal(run_dma(d, b->iova, 64 * 1024, 1), 0);

	assert_int_equal(uvfio_device_reset(d), 0);

	/* Device registers. */
	assert_int_equal(rd32(d, BAR0, TESTDEV_REG_SCRATCH), 0);
	assert_int_equal(rd32(d, BAR0, TESTDEV_REG_COUNT), 0);
	assert_int_equal(rd32(d, BAR0, TESTDEV_REG_RESETS), resets + 1);
	assert_int_equal(rd32(d, BAR0, TESTDEV_REG_ID), TESTDEV_ID_VALUE);
	/* Config space keeps what vfio-pci restores around a reset. */
	assert_int_equal(rd16(d, CFG, PCI_COMMAND),
			 PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	assert_int_equal(rd32(d, CFG, PCI_BASE_ADDRESS_0), 0xfebf0000);
	assert_int_equal(rd16(d, CFG, PCI_VENDOR_ID), TESTDEV_VENDOR);
	/* Interrupts: unbound; the old eventfds stay quiet. */
	for (unsigned v = 0; v < 4; v++) {
		assert_int_equal(raise_irq(d, MSI, v), ENOENT);
		assert_false(signalled(efd[v]));
	}
	/* MSI is no longer active: INTx may be enabled. */
	assert_int_equal(uvfio_irq_enable(d, INTX, 0, 1, &efd[0]), 0);
	assert_int_equal(uvfio_irq_disable(d, INTX), 0);
	/* DMA windows survive: the device can still write the buffer. */
	memset(b->vaddr, 0, 64 * 1024);
	uint32_t st = run_dma(d, b->iova, 64 * 1024, 2);
	assert_int_equal(st, 0);
	/* Its own buffer was not part of the reset (only registers). */
	const uint8_t *p = b->vaddr;
	for (size_t i = 0; i < 64 * 1024; i++)
		if (p[i] != 0x3c)
			fail_msg("byte %zu after reset: 0x%02x", i, p[i]);
	/* MSI can be bound again after the reset. */
	assert_int_equal(uvfio_irq_enable(d, MSI, 0, 1, &efd[2]), 0);
	assert_int_equal(raise_irq(d, MSI, 0), 0);
	assert_true(signalled(efd[2]));
	assert_int_equal(uvfio_irq_disable(d, MSI), 0);

	assert_int_equal(uvfio_dma_free(d, b), 0);
	for (int i = 0; i < 4; i++)
		close(efd[i]);
	uvfio_device_close(d);
}

static void reset_device_state_twin(void **state)
{
	(void)state;
	reset_device_state(false);
}

static void reset_device_state_no_twin(void **state)
{
	(void)state;
	reset_device_state(true);
}

static void reset_with_nofd_window(void **state)
{
	(void)state;
	struct uvfio_device *d = open_dev(false);
	struct uvfio_dma_buf *b = NULL;
	assert_int_equal(uvfio_dma_alloc(d, 8192, UVFIO_DMA_NO_FD, &b), 0);
	memset(b->vaddr, 0x77, 8192);
	assert_int_equal(uvfio_device_reset(d), 0);
	assert_int_equal(uvfio_device_reset(d), 0);
	assert_int_equal(run_dma(d, b->iova, 8192, 1), 0);
	memset(b->vaddr, 0, 8192);
	assert_int_equal(run_dma(d, b->iova, 8192, 2), 0);
	assert_int_equal(((uint8_t *)b->vaddr)[8191], 0x77);
	assert_int_equal(uvfio_dma_free(d, b), 0);
	uvfio_device_close(d);
}

static void reset_after_posted_writes(void **state)
{
	(void)state;
	struct uvfio_device *d = open_dev(false);
	/* The reset is ordered behind the posted writes before it... */
	const uint8_t v[4] = { 0x44, 0x33, 0x22, 0x11 };
	for (int i = 0; i < 100; i++)
		assert_int_equal(uvfio_region_write_posted(d, BAR0,
							   TESTDEV_REG_SCRATCH, v, 4), 0);
	assert_int_equal(uvfio_device_reset(d), 0);
	assert_int_equal(rd32(d, BAR0, TESTDEV_REG_SCRATCH), 0);
	/* ...and posted writes after it land after it. */
	assert_int_equal(uvfio_region_write_posted(d, BAR0, TESTDEV_REG_SCRATCH,
						   v, 4), 0);
	assert_int_equal(rd32(d, BAR0, TESTDEV_REG_SCRATCH), 0x11223344);
	uvfio_device_close(d);
}

static void intx_reset_unbinds(void **state)
{
	(void)state;
	struct uvfio_device *d = open_dev(false);
	int e = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(e >= 0);
	assert_int_equal(uvfio_irq_enable(d, INTX, 0, 1, &e), 0);
	assert_int_equal(raise_irq(d, INTX, 0), 0);
	assert_true(signalled(e));
	/* Leave it masked and pending, then reset. */
	assert_int_equal(raise_irq(d, INTX, 0), 0);
	assert_int_equal(uvfio_device_reset(d), 0);
	assert_int_equal(raise_irq(d, INTX, 0), ENOENT);
	assert_false(signalled(e));
	/* A fresh enable starts unmasked, with nothing pending. */
	assert_int_equal(uvfio_irq_enable(d, INTX, 0, 1, &e), 0);
	assert_false(signalled(e));
	assert_int_equal(raise_irq(d, INTX, 0), 0);
	assert_true(signalled(e));
	assert_int_equal(uvfio_irq_disable(d, INTX), 0);
	close(e);
	uvfio_device_close(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reset_device_state_twin),
		cmocka_unit_test(reset_device_state_no_twin),
		cmocka_unit_test(reset_with_nofd_window),
		cmocka_unit_test(reset_after_posted_writes),
		cmocka_unit_test(intx_reset_unbinds),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
