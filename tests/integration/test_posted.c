/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Posted writes: sent without waiting, yet every later access is ordered
 * behind them; and a client that dies in the middle of a burst leaves a
 * server that is alive with the device's state intact.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <uvfio/client.h>
#include "devices/models.h"
#include "testutil.h"

#define BAR0 VFIO_PCI_BAR0_REGION_INDEX
#define BAR2 VFIO_PCI_BAR2_REGION_INDEX

static struct served g_srv;

static struct uvfio_device *open_dev(const struct uvfio_open_opts *o)
{
	struct uvfio_device *d = NULL;
	assert_int_equal(uvfio_device_open(g_srv.path, o, &d), 0);
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

static uint32_t rd32(struct uvfio_device *d, uint64_t off)
{
	uint32_t v = 0xdeadbeef;
	assert_int_equal(uvfio_region_read32(d, BAR0, off, &v), 0);
	return v;
}

static void bump_n_posted(struct uvfio_device *d, unsigned n)
{
	const uint8_t one[4] = { 1, 0, 0, 0 };
	for (unsigned i = 0; i < n; i++) {
		int r = uvfio_region_write_posted(d, BAR0, TESTDEV_REG_BUMP, one, 4);
		if (r != 0)
			fail_msg("posted write %u of %u: %d", i, n, r);
	}
}

static void ten_thousand_posted(bool no_twin)
{
	struct uvfio_open_opts o = test_open_opts();
	o.no_twin_socket = no_twin;
	struct uvfio_device *d = open_dev(&o);
	assert_int_equal(uvfio_device_reset(d), 0);
	assert_int_equal(rd32(d, TESTDEV_REG_COUNT), 0);

	bump_n_posted(d, 10000);
	/* One read, and it sees all 10,000 writes: ordered behind them. */
	assert_int_equal(rd32(d, TESTDEV_REG_COUNT), 10000);
	uvfio_device_close(d);
}

static void ten_thousand_posted_then_read(void **state)
{
	(void)state;
	ten_thousand_posted(false);
}

static void ten_thousand_posted_then_read_no_twin(void **state)
{
	(void)state;
	ten_thousand_posted(true);
}

static void posted_then_write_then_read(void **state)
{
	(void)state;
	struct uvfio_open_opts o = test_open_opts();
	struct uvfio_device *d = open_dev(&o);
	/* The last posted value wins over the earlier ones. */
	for (uint32_t i = 0; i < 1000; i++) {
		uint8_t b[4] = { (uint8_t)i, (uint8_t)(i >> 8), 0, 0 };
		assert_int_equal(uvfio_region_write_posted(d, BAR0,
							   TESTDEV_REG_SCRATCH, b, 4), 0);
	}
	assert_int_equal(rd32(d, TESTDEV_REG_SCRATCH), 999);

	/* A synchronous write after posted ones lands last. */
	uint8_t p[4] = { 0x11, 0x11, 0x11, 0x11 };
	assert_int_equal(uvfio_region_write_posted(d, BAR0, TESTDEV_REG_SCRATCH,
						   p, 4), 0);
	assert_int_equal(uvfio_region_write32(d, BAR0, TESTDEV_REG_SCRATCH,
					      0x22222222), 0);
	assert_int_equal(rd32(d, TESTDEV_REG_SCRATCH), 0x22222222);

	/* Posted 8-byte write to the 64-bit register. */
	uint8_t q[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	assert_int_equal(uvfio_region_write_posted(d, BAR0, TESTDEV_REG_DMA_ADDR,
						   q, 8), 0);
	uint64_t v = 0;
	assert_int_equal(uvfio_region_read64(d, BAR0, TESTDEV_REG_DMA_ADDR, &v), 0);
	assert_int_equal(v, 0x0807060504030201ull);
	uvfio_device_close(d);
}

static void posted_large_writes(void **state)
{
	(void)state;
	struct uvfio_open_opts o = test_open_opts();
	struct uvfio_device *d = open_dev(&o);
	/* Posted writes bigger than one message are split like normal ones. */
	size_t len = (3u << 20) + 5;
	uint8_t *w = malloc(len), *r = malloc(len);
	assert_non_null(w);
	assert_non_null(r);
	for (size_t i = 0; i < len; i++)
		w[i] = (uint8_t)(i * 151 + (i >> 12));
	assert_int_equal(uvfio_region_write_posted(d, BAR2, 100, w, len), 0);
	assert_int_equal(uvfio_region_read(d, BAR2, 100, r, len), (ssize_t)len);
	assert_memory_equal(w, r, len);
	free(w);
	free(r);
	uvfio_device_close(d);
}

static void posted_write_errors_are_silent(void **state)
{
	(void)state;
	struct uvfio_open_opts o = test_open_opts();
	struct uvfio_device *d = open_dev(&o);
	/* The ROM refuses writes; a posted one gets no answer at all, and
	 * the connection must not wait for or trip over one. */
	uint8_t z[4] = { 0 };
	for (int i = 0; i < 100; i++)
		(void)uvfio_region_write_posted(d, VFIO_PCI_ROM_REGION_INDEX, 0, z, 4);
	assert_int_equal(rd32(d, TESTDEV_REG_ID), TESTDEV_ID_VALUE);
	uint16_t sig = 0;
	assert_int_equal(uvfio_region_read16(d, VFIO_PCI_ROM_REGION_INDEX, 0, &sig), 0);
	assert_int_equal(sig, 0xaa55);
	uvfio_device_close(d);
}

/* Kept reachable so that a leak checker does not blame the child. */
static struct uvfio_device *volatile g_child_dev;
static uint8_t *volatile g_child_buf;

static void disconnect_mid_burst(void **state)
{
	(void)state;
	struct uvfio_open_opts o = test_open_opts();
	struct uvfio_device *d = open_dev(&o);
	assert_int_equal(uvfio_device_reset(d), 0);
	assert_int_equal(uvfio_region_write32(d, BAR0, TESTDEV_REG_SCRATCH,
					      0xfeedbeef), 0);
	uint32_t resets = rd32(d, TESTDEV_REG_RESETS);
	uvfio_device_close(d);

	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct uvfio_device *cd = NULL;
		if (uvfio_device_open(g_srv.path, &o, &cd) < 0)
			_exit(3);
		g_child_dev = cd;
		const uint8_t one[4] = { 1, 0, 0, 0 };
		for (int i = 0; i < 5000; i++)
			if (uvfio_region_write_posted(cd, BAR0, TESTDEV_REG_BUMP,
						      one, 4) < 0)
				_exit(4);
		/* Gone without a word: no close, no flush. */
		_exit(0);
	}
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);

	d = open_dev(&o);
	assert_true(served_alive(&g_srv));
	assert_int_equal(rd32(d, TESTDEV_REG_ID), TESTDEV_ID_VALUE);
	assert_int_equal(rd32(d, TESTDEV_REG_SCRATCH), 0xfeedbeef);
	assert_int_equal(rd32(d, TESTDEV_REG_RESETS), resets);
	uint32_t count = rd32(d, TESTDEV_REG_COUNT);
	assert_true(count <= 5000);
	/* The server answers correctly, posted writes included. */
	bump_n_posted(d, 10);
	assert_int_equal(rd32(d, TESTDEV_REG_COUNT), count + 10);
	uvfio_device_close(d);
}

static void disconnect_mid_message(void **state)
{
	(void)state;
	/* A client that dies with a large posted write half sent. */
	struct uvfio_open_opts o = test_open_opts();
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct uvfio_device *cd = NULL;
		if (uvfio_device_open(g_srv.path, &o, &cd) < 0)
			_exit(3);
		g_child_dev = cd;
		size_t len = 1u << 20;
		uint8_t *buf = calloc(1, len);
		if (!buf)
			_exit(5);
		g_child_buf = buf;
		for (int i = 0; i < 8; i++)
			(void)uvfio_region_write_posted(cd, BAR2, 0, buf, len);
		_exit(0);
	}
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);

	struct uvfio_device *d = open_dev(&o);
	assert_int_equal(rd32(d, TESTDEV_REG_ID), TESTDEV_ID_VALUE);
	assert_int_equal(uvfio_region_write32(d, BAR0, TESTDEV_REG_SCRATCH, 7), 0);
	assert_int_equal(rd32(d, TESTDEV_REG_SCRATCH), 7);
	uvfio_device_close(d);
	assert_true(served_alive(&g_srv));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ten_thousand_posted_then_read),
		cmocka_unit_test(ten_thousand_posted_then_read_no_twin),
		cmocka_unit_test(posted_then_write_then_read),
		cmocka_unit_test(posted_large_writes),
		cmocka_unit_test(posted_write_errors_are_silent),
		cmocka_unit_test(disconnect_mid_burst),
		cmocka_unit_test(disconnect_mid_message),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
