/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * edu end to end: the shared edu driver (examples/edu_driver.c) through
 * the client library against a real `uvfio-serve edu` process, with
 * shared and with fd-less DMA windows, MSI and INTx, and reset.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <poll.h>
#include <unistd.h>
#include <stdbool.h>
#include <cmocka.h>

#include <uvfio/client.h>
#include "devices/edu/edu.h"
#include "examples/edu_driver.h"
#include "testutil.h"

static struct served srv;

static bool fired(int efd, int ms);

static int group_setup(void **st)
{
	(void)st;
	return served_start(&srv, "edu", NULL);
}

static int group_teardown(void **st)
{
	(void)st;
	return served_stop(&srv) == 0 ? 0 : -1;
}

static struct uvfio_device *open_dev(const struct uvfio_open_opts *o)
{
	struct uvfio_device *d = NULL;
	assert_int_equal(uvfio_device_open(srv.path, o, &d), 0);
	return d;
}

static void run_driver(const struct uvfio_open_opts *o, unsigned flags)
{
	struct uvfio_device *d = open_dev(o);
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	uint64_t requests = uvfio_device_dma_requests(d);
	int failed = edu_driver_run(d, out, flags);
	fclose(out);
	/*
	 * The driver's DMA memory is fd-backed (uvfio_dma_alloc()): the
	 * server maps it and moves the data without a DMA_READ/DMA_WRITE.
	 */
	requests = uvfio_device_dma_requests(d) - requests;
	/* Closed first: a failure must not leave the socket to this client. */
	uvfio_device_close(d);
	if (failed)
		fprintf(stderr, "%s", text);
	assert_int_equal(failed, 0);
	assert_non_null(strstr(text, "factorial 10! = 3628800"));
	assert_non_null(strstr(text, "device -> RAM: interrupt received, data identical"));
	free(text);
	assert_int_equal(requests, 0);
}

static void test_driver_msi_intx_reset(void **st)
{
	(void)st;
	run_driver(NULL, EDU_DRV_INTX | EDU_DRV_IOEVENTFD | EDU_DRV_RESET);
}

/* ---- reset: every register back at power-on ---------------------- */

/*
 * edu's BAR0 registers and their power-on values (devices/edu/edu.c,
 * ../shared/REFERENCE.md section 7): the ID, and zero everywhere else
 * (liveness reads 0 until something is written).
 */
static const struct edu_reg {
	const char *name;
	uint64_t off;
	unsigned width;
	uint64_t power_on;
} edu_regs[] = {
	{ "identification", EDU_REG_ID, 4, EDU_ID },
	{ "liveness", EDU_REG_LIVENESS, 4, 0 },
	{ "factorial", EDU_REG_FACT, 4, 0 },
	{ "status", EDU_REG_STATUS, 4, 0 },
	{ "interrupt status", EDU_REG_IRQ_STATUS, 4, 0 },
	{ "DMA source", EDU_REG_DMA_SRC, 8, 0 },
	{ "DMA destination", EDU_REG_DMA_DST, 8, 0 },
	{ "DMA count", EDU_REG_DMA_CNT, 8, 0 },
	{ "DMA command", EDU_REG_DMA_CMD, 8, 0 },
};
#define N_EDU_REGS (sizeof(edu_regs) / sizeof(edu_regs[0]))

static uint64_t bar0_read(struct uvfio_device *d, uint64_t off, unsigned width)
{
	if (width == 8) {
		uint64_t v = 0;
		assert_int_equal(uvfio_region_read64(d, 0, off, &v), 0);
		return v;
	}
	uint32_t v = 0;
	assert_int_equal(uvfio_region_read32(d, 0, off, &v), 0);
	return v;
}

static uint16_t cfg_read16(struct uvfio_device *d, uint64_t off)
{
	uint16_t v = 0;
	assert_int_equal(uvfio_region_read16(d, VFIO_PCI_CONFIG_REGION_INDEX,
					     off, &v), 0);
	return v;
}

static uint32_t cfg_read32(struct uvfio_device *d, uint64_t off)
{
	uint32_t v = 0;
	assert_int_equal(uvfio_region_read32(d, VFIO_PCI_CONFIG_REGION_INDEX,
					     off, &v), 0);
	return v;
}

/* Poll BAR0 @off until (value & @mask) == 0; false after ~2 s. */
static bool bar0_clears(struct uvfio_device *d, uint64_t off, unsigned width,
			uint64_t mask)
{
	for (int i = 0; i < 2000; i++) {
		if (!(bar0_read(d, off, width) & mask))
			return true;
		usleep(1000);
	}
	return false;
}

/* Held for the teardown, so that a failure does not leave the socket busy. */
static struct uvfio_device *reset_dev;
static int reset_efd = -1;

static int reset_teardown(void **st)
{
	(void)st;
	if (reset_efd >= 0)
		close(reset_efd);
	reset_efd = -1;
	if (reset_dev)
		uvfio_device_close(reset_dev);
	reset_dev = NULL;
	return 0;
}

/*
 * Through the client library over the socket, as a driver sees it: every
 * edu register set away from its power-on value (and shown to be so),
 * then DEVICE_RESET, then every register back at power-on.  Config space
 * as vfio-pci leaves it (README "Config space", Reset): BAR0, COMMAND and
 * MSI address/data as the client wrote them; STATUS and MSI's flags at
 * power-on (Enable and Multiple Message Enable cleared); interrupts off;
 * the DMA window still mapped.
 */
static void test_reset_registers_to_power_on(void **st)
{
	(void)st;
	struct uvfio_device *d = reset_dev = open_dev(NULL);
	const unsigned cfg = VFIO_PCI_CONFIG_REGION_INDEX;

	/* What a driver programs in config space, all of which reset keeps. */
	const uint16_t cmd = PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
			     PCI_COMMAND_SERR;
	const uint32_t bar0 = 0xfe000000u;   /* edu's BAR0 is 1 MiB */
	assert_int_equal(uvfio_region_write32(d, cfg, PCI_BASE_ADDRESS_0, bar0), 0);
	assert_int_equal(uvfio_region_write16(d, cfg, PCI_COMMAND, cmd), 0);
	uint8_t msi = 0;
	assert_int_equal(uvfio_region_read8(d, cfg, PCI_CAPABILITY_LIST, &msi), 0);
	uint8_t cap_id = 0;
	assert_int_equal(uvfio_region_read8(d, cfg, msi + PCI_CAP_LIST_ID, &cap_id), 0);
	assert_int_equal(cap_id, PCI_CAP_ID_MSI);
	/* edu's MSI: 64-bit, one vector, no per-vector masking. */
	const uint16_t msi_flags_power_on = PCI_MSI_FLAGS_64BIT;
	assert_int_equal(uvfio_region_write32(d, cfg, msi + PCI_MSI_ADDRESS_LO,
					      0xfee01000u), 0);
	assert_int_equal(uvfio_region_write32(d, cfg, msi + PCI_MSI_ADDRESS_HI,
					      0x1u), 0);
	assert_int_equal(uvfio_region_write16(d, cfg, msi + PCI_MSI_DATA_64,
					      0x4041), 0);

	/* An interrupt raised before MSI: the INTx line, STATUS shows it. */
	assert_int_equal(uvfio_region_write32(d, 0, EDU_REG_IRQ_RAISE, 0x10000), 0);
	assert_true(cfg_read16(d, PCI_STATUS) & PCI_STATUS_INTERRUPT);

	/* MSI on, both layers: SET_IRQS and the Enable bit. */
	int efd = reset_efd = eventfd(0, EFD_CLOEXEC);
	assert_true(efd >= 0);
	assert_int_equal(uvfio_irq_enable(d, VFIO_PCI_MSI_IRQ_INDEX, 0, 1, &efd), 0);
	uint16_t mf = cfg_read16(d, msi + PCI_MSI_FLAGS);
	assert_int_equal(uvfio_region_write16(d, cfg, msi + PCI_MSI_FLAGS,
					      mf | PCI_MSI_FLAGS_ENABLE), 0);
	assert_true(cfg_read16(d, msi + PCI_MSI_FLAGS) & PCI_MSI_FLAGS_ENABLE);

	/* Every BAR0 register away from power-on. */
	assert_int_equal(uvfio_region_write32(d, 0, EDU_REG_LIVENESS, 0x12345678), 0);
	assert_int_equal(uvfio_region_write32(d, 0, EDU_REG_STATUS,
					      EDU_STATUS_IRQFACT), 0);
	assert_int_equal(uvfio_region_write32(d, 0, EDU_REG_FACT, 5), 0);
	assert_true(fired(efd, 5000));
	assert_true(bar0_clears(d, EDU_REG_STATUS, 4, EDU_STATUS_COMPUTING));
	struct uvfio_dma_buf *buf = NULL;
	assert_int_equal(uvfio_dma_alloc(d, 4096, 0, &buf), 0);
	/* RAM -> edu's buffer: 64 bytes of 0x5a, which the reset clears. */
	memset(buf->vaddr, 0x5a, 4096);
	assert_int_equal(uvfio_region_write64(d, 0, EDU_REG_DMA_SRC, buf->iova), 0);
	assert_int_equal(uvfio_region_write64(d, 0, EDU_REG_DMA_DST, EDU_DMA_START), 0);
	assert_int_equal(uvfio_region_write64(d, 0, EDU_REG_DMA_CNT, 64), 0);
	assert_int_equal(uvfio_region_write64(d, 0, EDU_REG_DMA_CMD,
					      EDU_DMA_RUN | EDU_DMA_IRQ), 0);
	assert_true(fired(efd, 5000));
	assert_true(bar0_clears(d, EDU_REG_DMA_CMD, 8, EDU_DMA_RUN));
	const uint64_t set[N_EDU_REGS] = {
		EDU_ID, ~0x12345678u, 120, EDU_STATUS_IRQFACT,
		0x10000 | EDU_IRQ_FACT | EDU_IRQ_DMA, buf->iova, EDU_DMA_START,
		64, EDU_DMA_IRQ,   /* RUN cleared when done, the rest stays */
	};
	for (size_t i = 0; i < N_EDU_REGS; i++) {
		const struct edu_reg *r = &edu_regs[i];
		uint64_t v = bar0_read(d, r->off, r->width);
		if (v != set[i])
			fail_msg("before the reset, %s (0x%02llx) reads 0x%llx, "
				 "want 0x%llx", r->name, (unsigned long long)r->off,
				 (unsigned long long)v, (unsigned long long)set[i]);
		if (r->off != EDU_REG_ID && v == r->power_on)
			fail_msg("%s was not moved away from power-on", r->name);
	}

	assert_int_equal(uvfio_device_reset(d), 0);

	/* Config space: what vfio-pci restores stays, the rest is power-on. */
	assert_int_equal(cfg_read16(d, PCI_COMMAND), cmd);
	assert_int_equal(cfg_read32(d, PCI_BASE_ADDRESS_0), bar0);
	assert_int_equal(cfg_read16(d, PCI_STATUS), PCI_STATUS_CAP_LIST);
	assert_int_equal(cfg_read16(d, msi + PCI_MSI_FLAGS), msi_flags_power_on);
	assert_int_equal(cfg_read32(d, msi + PCI_MSI_ADDRESS_LO), 0xfee01000u);
	assert_int_equal(cfg_read32(d, msi + PCI_MSI_ADDRESS_HI), 0x1u);
	assert_int_equal(cfg_read16(d, msi + PCI_MSI_DATA_64), 0x4041);

	/* BAR0: every register at power-on; every mismatch is listed. */
	int bad = 0;
	for (size_t i = 0; i < N_EDU_REGS; i++) {
		const struct edu_reg *r = &edu_regs[i];
		uint64_t v = bar0_read(d, r->off, r->width);
		if (v != r->power_on) {
			print_error("after DEVICE_RESET, %s (BAR0+0x%02llx) reads "
				    "0x%llx, power-on is 0x%llx\n", r->name,
				    (unsigned long long)r->off,
				    (unsigned long long)v,
				    (unsigned long long)r->power_on);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
	/* And they stay there: nothing left running completes later. */
	usleep(20 * 1000);
	for (size_t i = 0; i < N_EDU_REGS; i++)
		assert_int_equal(bar0_read(d, edu_regs[i].off, edu_regs[i].width),
				 edu_regs[i].power_on);

	/* Interrupts are off: the MSI eventfd was released by the reset. */
	assert_int_equal(uvfio_region_write32(d, 0, EDU_REG_IRQ_RAISE, 1), 0);
	assert_false(fired(efd, 100));
	assert_int_equal(uvfio_region_write32(d, 0, EDU_REG_IRQ_ACK, 1), 0);

	/*
	 * The DMA window is still mapped: a DMA after the reset lands, and
	 * brings edu's buffer as the reset left it (zeros, not the 0x5a).
	 */
	assert_int_equal(uvfio_region_write64(d, 0, EDU_REG_DMA_SRC, EDU_DMA_START), 0);
	assert_int_equal(uvfio_region_write64(d, 0, EDU_REG_DMA_DST,
					      buf->iova + 1024), 0);
	assert_int_equal(uvfio_region_write64(d, 0, EDU_REG_DMA_CNT, 64), 0);
	memset(buf->vaddr, 0xee, 4096);
	assert_int_equal(uvfio_region_write64(d, 0, EDU_REG_DMA_CMD,
					      EDU_DMA_RUN | EDU_DMA_DIR_TO_RAM), 0);
	assert_true(bar0_clears(d, EDU_REG_DMA_CMD, 8, EDU_DMA_RUN));
	const uint8_t *m = buf->vaddr;
	for (unsigned i = 0; i < 4096; i++)
		if (m[i] != (i >= 1024 && i < 1024 + 64 ? 0 : 0xee))
			fail_msg("byte %u of the DMA buffer is 0x%02x", i, m[i]);

	assert_int_equal(uvfio_device_reset(d), 0);
	assert_int_equal(uvfio_dma_free(d, buf), 0);
}

static void test_driver_without_twin_socket(void **st)
{
	(void)st;
	struct uvfio_open_opts o = { .no_twin_socket = true };
	run_driver(&o, EDU_DRV_INTX | EDU_DRV_DMA_FULL);
}

/*
 * edu copies a 4 KiB buffer to another through its own buffer, both ways,
 * with an MSI at each end.  Through fd-backed windows the server maps
 * the memory and sends us no DMA_READ/DMA_WRITE at all; through fd-less
 * windows each transfer is one such request to us (4 KiB is under
 * max_data_xfer_size), which we serve.
 */
static void dma_copy(const struct uvfio_open_opts *o, bool with_fd)
{
	struct uvfio_device *d = open_dev(o);
	uint16_t cmd = PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	assert_int_equal(uvfio_region_write16(d, VFIO_PCI_CONFIG_REGION_INDEX,
					      PCI_COMMAND, cmd), 0);
	struct uvfio_dma_buf *a, *b;
	uint32_t fl = UVFIO_DMA_READ | UVFIO_DMA_WRITE |
		      (with_fd ? 0 : UVFIO_DMA_NO_FD);
	assert_int_equal(uvfio_dma_alloc(d, 4096, fl, &a), 0);
	assert_int_equal(uvfio_dma_alloc(d, 4096, fl, &b), 0);
	for (unsigned i = 0; i < 4096; i++)
		((uint8_t *)a->vaddr)[i] = (uint8_t)(i * 3 + 1);
	memset(b->vaddr, 0, 4096);
	int efd = eventfd(0, EFD_CLOEXEC);
	assert_int_equal(uvfio_irq_enable(d, VFIO_PCI_MSI_IRQ_INDEX, 0, 1, &efd), 0);
	uint64_t before = uvfio_device_dma_requests(d);
	const uint64_t steps[2][3] = {
		{ a->iova, EDU_DMA_START, EDU_DMA_RUN | EDU_DMA_IRQ },
		{ EDU_DMA_START, b->iova, EDU_DMA_RUN | EDU_DMA_DIR_TO_RAM | EDU_DMA_IRQ },
	};
	for (int s = 0; s < 2; s++) {
		assert_int_equal(uvfio_region_write64(d, 0, EDU_REG_DMA_SRC, steps[s][0]), 0);
		assert_int_equal(uvfio_region_write64(d, 0, EDU_REG_DMA_DST, steps[s][1]), 0);
		assert_int_equal(uvfio_region_write64(d, 0, EDU_REG_DMA_CNT, 4096), 0);
		assert_int_equal(uvfio_region_write64(d, 0, EDU_REG_DMA_CMD, steps[s][2]), 0);
		struct pollfd p[2] = { { .fd = efd, .events = POLLIN },
				       { .fd = uvfio_device_get_fd(d), .events = POLLIN } };
		uint64_t n = 0;
		for (int i = 0; i < 500 && !n; i++) {
			int np = p[1].fd >= 0 ? 2 : 1;
			assert_true(poll(p, (nfds_t)np, 5000) > 0);
			if (np == 2 && p[1].revents)
				assert_true(uvfio_device_dispatch(d) >= 0);
			if (p[0].revents)
				assert_int_equal(read(efd, &n, 8), 8);
		}
		assert_true(n > 0);
		assert_int_equal(uvfio_region_write32(d, 0, EDU_REG_IRQ_ACK, EDU_IRQ_DMA), 0);
	}
	uint64_t served = uvfio_device_dma_requests(d) - before;
	bool same = !memcmp(a->vaddr, b->vaddr, 4096);
	/* Released first: a failure must not leave the socket to us. */
	close(efd);
	uvfio_dma_free(d, a);
	uvfio_dma_free(d, b);
	uvfio_device_close(d);
	assert_true(same);
	if (with_fd)
		assert_int_equal(served, 0);   /* no DMA message reached us */
	else
		assert_int_equal(served, 2);   /* one DMA_READ, one DMA_WRITE */
}

/* DMA through windows the server cannot map: DMA_READ/DMA_WRITE. */
static void test_dma_fdless_twin(void **st)
{
	(void)st;
	dma_copy(NULL, false);
}

static void test_dma_fdless_main_socket_dispatch(void **st)
{
	(void)st;
	struct uvfio_open_opts o = { .no_twin_socket = true, .no_dma_thread = true };
	dma_copy(&o, false);
}

/* DMA through windows the server maps: no message for us. */
static void test_dma_mapped(void **st)
{
	(void)st;
	dma_copy(NULL, true);
}

static void test_dma_mapped_main_socket_dispatch(void **st)
{
	(void)st;
	struct uvfio_open_opts o = { .no_twin_socket = true, .no_dma_thread = true };
	dma_copy(&o, true);
}

static bool fired(int efd, int ms)
{
	struct pollfd p = { .fd = efd, .events = POLLIN };
	if (poll(&p, 1, ms) != 1)
		return false;
	uint64_t n;
	return read(efd, &n, sizeof(n)) == sizeof(n) && n > 0;
}

/* QEMU's resample fd: writing the INTx unmask eventfd unmasks. */
static void test_intx_unmask_eventfd(void **st)
{
	(void)st;
	struct uvfio_device *d = open_dev(NULL);
	int efd = eventfd(0, EFD_CLOEXEC), ufd = eventfd(0, EFD_CLOEXEC);
	assert_int_equal(uvfio_irq_enable(d, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, &efd), 0);
	assert_int_equal(uvfio_irq_set(d, VFIO_PCI_INTX_IRQ_INDEX,
				       VFIO_IRQ_SET_DATA_EVENTFD |
				       VFIO_IRQ_SET_ACTION_UNMASK, 0, 1, &ufd), 0);
	assert_int_equal(uvfio_region_write32(d, 0, EDU_REG_IRQ_RAISE, 1), 0);
	assert_true(fired(efd, 2000));
	/* Acknowledged, then raised again while auto-masked: held. */
	assert_int_equal(uvfio_region_write32(d, 0, EDU_REG_IRQ_ACK, 1), 0);
	assert_int_equal(uvfio_region_write32(d, 0, EDU_REG_IRQ_RAISE, 2), 0);
	assert_false(fired(efd, 100));
	uint64_t one = 1;
	assert_int_equal(write(ufd, &one, sizeof(one)), 8);
	assert_true(fired(efd, 2000));
	/* MASK with an eventfd is not supported. */
	assert_int_equal(uvfio_irq_set(d, VFIO_PCI_INTX_IRQ_INDEX,
				       VFIO_IRQ_SET_DATA_EVENTFD |
				       VFIO_IRQ_SET_ACTION_MASK, 0, 1, &ufd), -ENOTTY);
	assert_int_equal(uvfio_region_write32(d, 0, EDU_REG_IRQ_ACK, 3), 0);
	assert_int_equal(uvfio_irq_disable(d, VFIO_PCI_INTX_IRQ_INDEX), 0);
	close(efd);
	close(ufd);
	uvfio_device_close(d);
}

static void test_state_kept_between_clients(void **st)
{
	(void)st;
	struct uvfio_device *d = open_dev(NULL);
	assert_int_equal(uvfio_region_write32(d, 0, EDU_REG_LIVENESS, 0xa5a5), 0);
	uvfio_device_close(d);
	d = open_dev(NULL);
	uint32_t v = 0;
	assert_int_equal(uvfio_region_read32(d, 0, EDU_REG_LIVENESS, &v), 0);
	assert_int_equal(v, ~0xa5a5u);
	uvfio_device_close(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_driver_msi_intx_reset),
		cmocka_unit_test_teardown(test_reset_registers_to_power_on,
					  reset_teardown),
		cmocka_unit_test(test_driver_without_twin_socket),
		cmocka_unit_test(test_dma_fdless_twin),
		cmocka_unit_test(test_dma_fdless_main_socket_dispatch),
		cmocka_unit_test(test_dma_mapped),
		cmocka_unit_test(test_dma_mapped_main_socket_dispatch),
		cmocka_unit_test(test_intx_unmask_eventfd),
		cmocka_unit_test(test_state_kept_between_clients),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
