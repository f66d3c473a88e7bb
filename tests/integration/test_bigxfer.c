/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Large region transfers through messages (BAR2 is never mmapped here):
 * a single 1 MiB message each way, 64 MiB in one message when both sides
 * allow it, and 64 MiB split by the client when they do not.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <uvfio/client.h>
#include "devices/models.h"
#include "testutil.h"

#define BAR2 VFIO_PCI_BAR2_REGION_INDEX
#define MiB (1u << 20)

static struct uvfio_device *open_ok(const char *path,
				    const struct uvfio_open_opts *o)
{
	struct uvfio_device *d = NULL;
	assert_int_equal(uvfio_device_open(path, o, &d), 0);
	assert_non_null(d);
	return d;
}

static void fill_random(void *buf, size_t len, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 0x2545f4914f6cdd1dull;
	uint8_t *p = buf;
	for (size_t i = 0; i < len; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(p + i, &x, len - i < 8 ? len - i : 8);
	}
}

/* Like assert_memory_equal, but names the first differing offset. */
static void assert_same(const void *a, const void *b, size_t len)
{
	if (!memcmp(a, b, len))
		return;
	const uint8_t *x = a, *y = b;
	size_t i = 0;
	while (x[i] == y[i])
		i++;
	fail_msg("data differs at offset %zu (0x%zx) of %zu: 0x%02x vs 0x%02x",
		 i, i, len, x[i], y[i]);
}

/* Run the testdev DMA engine synchronously; returns DMA_STATUS. */
static uint32_t dma(struct uvfio_device *d, uint64_t iova, uint32_t len,
		    uint32_t cmd)
{
	assert_int_equal(uvfio_region_write64(d, VFIO_PCI_BAR0_REGION_INDEX,
					      TESTDEV_REG_DMA_ADDR, iova), 0);
	assert_int_equal(uvfio_region_write32(d, VFIO_PCI_BAR0_REGION_INDEX,
					      TESTDEV_REG_DMA_LEN, len), 0);
	assert_int_equal(uvfio_region_write32(d, VFIO_PCI_BAR0_REGION_INDEX,
					      TESTDEV_REG_DMA_CMD, cmd), 0);
	uint32_t st = 0xdeadbeef;
	assert_int_equal(uvfio_region_read32(d, VFIO_PCI_BAR0_REGION_INDEX,
					     TESTDEV_REG_DMA_STATUS, &st), 0);
	return st;
}

/* Write @len random bytes at @off of BAR2, read them back, compare. */
static void round_trip(struct uvfio_device *d, uint64_t off, size_t len,
		       uint64_t seed)
{
	uint8_t *w = malloc(len), *r = malloc(len);
	assert_non_null(w);
	assert_non_null(r);
	fill_random(w, len, seed);
	memset(r, 0, len);
	assert_int_equal(uvfio_region_write(d, BAR2, off, w, len), (ssize_t)len);
	assert_int_equal(uvfio_region_read(d, BAR2, off, r, len), (ssize_t)len);
	assert_same(w, r, len);
	free(w);
	free(r);
}

static struct served g_srv;   /* default limits */

/* A test's own server: own_teardown stops it even when the test fails. */
static struct served g_own;

static int own_teardown(void **state)
{
	(void)state;
	if (g_own.pid > 0)
		served_stop(&g_own);
	return 0;
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

static void one_mib_in_one_message(void **state)
{
	(void)state;
	struct uvfio_open_opts o = test_open_opts();
	struct uvfio_device *d = open_ok(g_srv.path, &o);
	/* Exactly the negotiated limit: one REGION_WRITE, one REGION_READ. */
	round_trip(d, 0, MiB, 1);
	round_trip(d, 3 * MiB, MiB, 2);
	/* The first one is still there after the second. */
	uint8_t *w = malloc(MiB), *r = malloc(MiB);
	assert_non_null(w);
	assert_non_null(r);
	fill_random(w, MiB, 1);
	assert_int_equal(uvfio_region_read(d, BAR2, 0, r, MiB), (ssize_t)MiB);
	assert_same(w, r, MiB);
	free(w);
	free(r);
	uvfio_device_close(d);
}

static void one_mib_unaligned_and_odd(void **state)
{
	(void)state;
	struct uvfio_open_opts o = test_open_opts();
	struct uvfio_device *d = open_ok(g_srv.path, &o);
	/* Just over the limit, at an odd offset: split into two messages. */
	round_trip(d, 0x123, MiB + 7, 3);
	round_trip(d, TESTDEV_BAR2_SIZE - MiB - 1, MiB + 1, 4);
	/* The last byte of the BAR, and one past it. */
	uint8_t b = 0;
	assert_int_equal(uvfio_region_read(d, BAR2, TESTDEV_BAR2_SIZE - 1, &b, 1), 1);
	assert_true(uvfio_region_read(d, BAR2, TESTDEV_BAR2_SIZE - 1, &b, 2) < 0);
	uvfio_device_close(d);
}

static void sixty_four_mib_split_by_client(void **state)
{
	(void)state;
	/* Default limits (1 MiB): the client cuts 64 MiB into 64 messages. */
	struct uvfio_open_opts o = test_open_opts();
	struct uvfio_device *d = open_ok(g_srv.path, &o);
	round_trip(d, 32 * MiB, 64 * MiB, 5);
	uvfio_device_close(d);
}

static void client_big_limit_server_default(void **state)
{
	(void)state;
	/* We accept 64 MiB, the server only 1 MiB: writes must be cut to its
	 * limit, reads too (its replies are bounded by its own buffers). */
	struct uvfio_open_opts o = test_open_opts();
	o.max_data_xfer_size = 64 * MiB;
	struct uvfio_device *d = open_ok(g_srv.path, &o);
	struct uvfio_caps caps;
	assert_int_equal(uvfio_device_negotiated(d, NULL, NULL, &caps), 0);
	assert_int_equal(caps.max_data_xfer_size, MiB);
	round_trip(d, 5 * MiB, 8 * MiB + 100, 6);
	uvfio_device_close(d);
}

static void sixty_four_mib_one_message(void **state)
{
	(void)state;
	const char *const extra[] = { "--max-data-xfer-size=67108864", NULL };
	assert_int_equal(served_start(&g_own, "testdev", extra), 0);

	struct uvfio_open_opts o = test_open_opts();
	o.max_data_xfer_size = 64 * MiB;
	/* The reply timeout covers a whole 64 MiB message: give it room
	 * on a loaded machine or under valgrind. */
	o.timeout_ms = 60000;
	struct uvfio_device *d = open_ok(g_own.path, &o);
	struct uvfio_caps caps;
	assert_int_equal(uvfio_device_negotiated(d, NULL, NULL, &caps), 0);
	assert_int_equal(caps.max_data_xfer_size, 64 * MiB);
	round_trip(d, 64 * MiB, 64 * MiB, 7);
	round_trip(d, 0, 64 * MiB, 8);
	/* Small accesses still work on the same connection. */
	uint32_t id = 0;
	assert_int_equal(uvfio_region_read32(d, VFIO_PCI_BAR0_REGION_INDEX,
					     TESTDEV_REG_ID, &id), 0);
	assert_int_equal(id, TESTDEV_ID_VALUE);
	uvfio_device_close(d);
	assert_int_equal(served_stop(&g_own), 0);
}

static void server_big_limit_client_default(void **state)
{
	(void)state;
	/* The server takes 64 MiB, we accept 1 MiB: reads must not ask for
	 * replies bigger than what we accept. */
	const char *const extra[] = { "--max-data-xfer-size=67108864", NULL };
	assert_int_equal(served_start(&g_own, "testdev", extra), 0);
	struct uvfio_open_opts o = test_open_opts();
	struct uvfio_device *d = open_ok(g_own.path, &o);
	round_trip(d, MiB, 16 * MiB + 3, 9);
	uvfio_device_close(d);
	assert_int_equal(served_stop(&g_own), 0);
}

static void tiny_server_limit(void **state)
{
	(void)state;
	/* A server that takes 4 KiB a message: writes and reads are cut to
	 * it, and the device's DMA to fd-less windows still works. */
	const char *const extra[] = { "--max-data-xfer-size=4096", NULL };
	assert_int_equal(served_start(&g_own, "testdev", extra), 0);
	struct uvfio_open_opts o = test_open_opts();
	struct uvfio_device *d = open_ok(g_own.path, &o);
	round_trip(d, 4095, MiB + 3, 10);
	struct uvfio_dma_buf *b = NULL;
	assert_int_equal(uvfio_dma_alloc(d, MiB, UVFIO_DMA_NO_FD, &b), 0);
	fill_random(b->vaddr, MiB, 11);
	assert_int_equal(dma(d, b->iova, MiB, 1), 0);
	memset(b->vaddr, 0, MiB);
	assert_int_equal(dma(d, b->iova, MiB, 2), 0);
	uint8_t *expect = malloc(MiB);
	assert_non_null(expect);
	fill_random(expect, MiB, 11);
	assert_same(b->vaddr, expect, MiB);
	free(expect);
	assert_int_equal(uvfio_dma_free(d, b), 0);
	uvfio_device_close(d);
	assert_int_equal(served_stop(&g_own), 0);
}

static void tiny_client_limit(void **state)
{
	(void)state;
	/* We take 4 KiB a message: region reads come back in 4 KiB replies
	 * and the server cuts its DMA requests to our limit. */
	struct uvfio_open_opts o = test_open_opts();
	o.max_data_xfer_size = 4096;
	struct uvfio_device *d = open_ok(g_srv.path, &o);
	round_trip(d, 12345, 256 * 1024 + 1, 12);
	struct uvfio_dma_buf *b = NULL;
	assert_int_equal(uvfio_dma_alloc(d, 256 * 1024, UVFIO_DMA_NO_FD, &b), 0);
	fill_random(b->vaddr, 256 * 1024, 13);
	uint64_t req0 = uvfio_device_dma_requests(d);
	assert_int_equal(dma(d, b->iova, 256 * 1024, 1), 0);
	assert_true(uvfio_device_dma_requests(d) >= req0 + 64);
	memset(b->vaddr, 0, 256 * 1024);
	assert_int_equal(dma(d, b->iova + 5, 256 * 1024 - 5, 2), 0);
	uint8_t *expect = malloc(256 * 1024);
	assert_non_null(expect);
	fill_random(expect, 256 * 1024, 13);
	assert_same((uint8_t *)b->vaddr + 5, expect, 256 * 1024 - 5);
	free(expect);
	assert_int_equal(uvfio_dma_free(d, b), 0);
	uvfio_device_close(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(one_mib_in_one_message),
		cmocka_unit_test(one_mib_unaligned_and_odd),
		cmocka_unit_test(sixty_four_mib_split_by_client),
		cmocka_unit_test(client_big_limit_server_default),
		cmocka_unit_test_teardown(sixty_four_mib_one_message, own_teardown),
		cmocka_unit_test_teardown(server_big_limit_client_default, own_teardown),
		cmocka_unit_test_teardown(tiny_server_limit, own_teardown),
		cmocka_unit_test(tiny_client_limit),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
