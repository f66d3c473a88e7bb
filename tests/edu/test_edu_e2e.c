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
	int failed = edu_driver_run(d, out, flags);
	fclose(out);
	if (failed)
		fprintf(stderr, "%s", text);
	assert_int_equal(failed, 0);
	assert_non_null(strstr(text, "factorial 10! = 3628800"));
	free(text);
	uvfio_device_close(d);
}

static void test_driver_msi_intx_reset(void **st)
{
	(void)st;
	run_driver(NULL, EDU_DRV_INTX | EDU_DRV_IOEVENTFD | EDU_DRV_RESET);
}

static void test_driver_without_twin_socket(void **st)
{
	(void)st;
	struct uvfio_open_opts o = { .no_twin_socket = true };
	run_driver(&o, EDU_DRV_INTX | EDU_DRV_DMA_FULL);
}

/* DMA through windows the server cannot map: DMA_READ/DMA_WRITE. */
static void dma_fdless(const struct uvfio_open_opts *o)
{
	struct uvfio_device *d = open_dev(o);
	uint16_t cmd = PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	assert_int_equal(uvfio_region_write16(d, VFIO_PCI_CONFIG_REGION_INDEX,
					      PCI_COMMAND, cmd), 0);
	struct uvfio_dma_buf *a, *b;
	uint32_t fl = UVFIO_DMA_READ | UVFIO_DMA_WRITE | UVFIO_DMA_NO_FD;
	assert_int_equal(uvfio_dma_alloc(d, 4096, fl, &a), 0);
	assert_int_equal(uvfio_dma_alloc(d, 4096, fl, &b), 0);
	for (unsigned i = 0; i < 4096; i++)
		((uint8_t *)a->vaddr)[i] = (uint8_t)(i * 3 + 1);
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
	assert_memory_equal(a->vaddr, b->vaddr, 4096);
	assert_true(uvfio_device_dma_requests(d) >= before + 2);
	close(efd);
	uvfio_dma_free(d, a);
	uvfio_dma_free(d, b);
	uvfio_device_close(d);
}

static void test_dma_fdless_twin(void **st)
{
	(void)st;
	dma_fdless(NULL);
}

static void test_dma_fdless_main_socket_dispatch(void **st)
{
	(void)st;
	struct uvfio_open_opts o = { .no_twin_socket = true, .no_dma_thread = true };
	dma_fdless(&o);
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
		cmocka_unit_test(test_driver_without_twin_socket),
		cmocka_unit_test(test_dma_fdless_twin),
		cmocka_unit_test(test_dma_fdless_main_socket_dispatch),
		cmocka_unit_test(test_intx_unmask_eventfd),
		cmocka_unit_test(test_state_kept_between_clients),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
