/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Large region transfers through messages (BAR2 is never mmapped here):
 * a single 1 MiB message each way, 64 MiB in one message when both sides
 * allow it, and 64 MiB split by the client when they do not.  That a
 * transfer went as one message is read in the server's --verbose log:
 * one REGION_WRITE of the whole size and its reply, one REGION_READ and
 * its reply of the whole size, nothing else.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <uvfio/client.h>
#include "devices/models.h"
#include "wire/proto.h"
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
/* Its --verbose log, when it has one (start_logged), and how far it is read. */
static char g_log[128];
static long g_log_pos;

/* g_own with @extra and --verbose, its stderr to g_log. */
static int start_logged(const char *const *extra)
{
	const char *args[8];
	unsigned n = 0;
	for (; extra && extra[n]; n++) {
		assert_true(n < 6);
		args[n] = extra[n];
	}
	args[n++] = "--verbose";
	args[n] = NULL;
	snprintf(g_log, sizeof(g_log), "/tmp/uvfio-bigxfer-%d.log", (int)getpid());
	g_log_pos = 0;
	int fd = open(g_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	int saved = dup(2);
	if (saved < 0 || dup2(fd, 2) < 0) {
		int e = -errno;
		if (saved >= 0)
			close(saved);
		close(fd);
		return e;
	}
	int r = served_start(&g_own, "testdev", args);
	dup2(saved, 2);
	close(saved);
	close(fd);
	return r;
}

/* The log from where the last call left off; NUL-terminated, to free. */
static char *log_since_last(void)
{
	FILE *f = fopen(g_log, "r");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	long end = ftell(f);
	assert_true(end >= g_log_pos);
	char *buf = malloc((size_t)(end - g_log_pos) + 1);
	assert_non_null(buf);
	assert_int_equal(fseek(f, g_log_pos, SEEK_SET), 0);
	size_t n = fread(buf, 1, (size_t)(end - g_log_pos), f);
	buf[n] = 0;
	fclose(f);
	g_log_pos += (long)n;
	return buf;
}

static unsigned count_in(const char *s, const char *needle)
{
	unsigned n = 0;
	for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/*
 * Since the last look at the log: exactly one REGION_READ or
 * REGION_WRITE request (@write) and its reply, and no other region
 * access; the write carries @len bytes, the read's reply does.  The
 * server logs a reply before it sends it: it is there once we have it.
 */
static void expect_one_message(bool write, size_t len)
{
	char *log = log_since_last();
	const char *name = write ? "REGION_WRITE" : "REGION_READ";
	const size_t hdrs = sizeof(struct vu_hdr) + sizeof(struct vu_region_rw);
	unsigned reads = count_in(log, "<- REGION_READ "),
		 writes = count_in(log, "<- REGION_WRITE ");
	if (reads != !write || writes != write)
		fail_msg("a %zu-byte %s went as %u REGION_READ and %u "
			 "REGION_WRITE messages, not one %s:\n%.2000s", len,
			 write ? "write" : "read", reads, writes, name, log);
	/* The request, and the reply with its id. */
	char start[48];
	snprintf(start, sizeof(start), "debug: <- %s id=", name);
	const char *p = strstr(log, start);
	assert_non_null(p);
	unsigned id, size, nfds;
	assert_int_equal(sscanf(p + strlen(start), "%u size=%u fds=%u", &id,
				&size, &nfds), 3);
	assert_int_equal(size, hdrs + (write ? len : 0));
	assert_int_equal(nfds, 0);
	char line[128];
	snprintf(line, sizeof(line), "debug: -> %s id=%u size=%zu fds=0 reply\n",
		 name, id, hdrs + (write ? 0 : len));
	if (count_in(log, line) != 1 || count_in(log, " reply") != 1)
		fail_msg("not one reply '%s' to that %s:\n%.2000s", line, name,
			 log);
	free(log);
}

/* Write @len random bytes at @off of BAR2, read them back, compare: each
 * way in one message, as the server's log of g_own tells. */
static void round_trip_one_message(struct uvfio_device *d, uint64_t off,
				   size_t len, uint64_t seed)
{
	uint8_t *w = malloc(len), *r = malloc(len);
	assert_non_null(w);
	assert_non_null(r);
	fill_random(w, len, seed);
	memset(r, 0, len);
	free(log_since_last());
	assert_int_equal(uvfio_region_write(d, BAR2, off, w, len), (ssize_t)len);
	expect_one_message(true, len);
	assert_int_equal(uvfio_region_read(d, BAR2, off, r, len), (ssize_t)len);
	expect_one_message(false, len);
	assert_same(w, r, len);
	free(w);
	free(r);
}

static int own_teardown(void **state)
{
	(void)state;
	if (g_own.pid > 0)
		served_stop(&g_own);
	if (*g_log) {
		/* What else the server said (warnings, a wrapper's report). */
		FILE *f = fopen(g_log, "r");
		char line[512];
		while (f && fgets(line, sizeof(line), f))
			if (!strstr(line, "uvfio-serve: debug: ") &&
			    !strstr(line, "uvfio-serve: info: "))
				fputs(line, stderr);
		if (f)
			fclose(f);
		unlink(g_log);
		*g_log = 0;
	}
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
	/* Default limits (1 MiB), and a log of the messages. */
	assert_int_equal(start_logged(NULL), 0);
	struct uvfio_open_opts o = test_open_opts();
	struct uvfio_device *d = open_ok(g_own.path, &o);
	struct uvfio_caps caps;
	assert_int_equal(uvfio_device_negotiated(d, NULL, NULL, &caps), 0);
	assert_int_equal(caps.max_data_xfer_size, MiB);
	/* Exactly the negotiated limit: one REGION_WRITE, one REGION_READ. */
	round_trip_one_message(d, 0, MiB, 1);
	round_trip_one_message(d, 3 * MiB, MiB, 2);
	/* The first one is still there after the second. */
	uint8_t *w = malloc(MiB), *r = malloc(MiB);
	assert_non_null(w);
	assert_non_null(r);
	fill_random(w, MiB, 1);
	free(log_since_last());
	assert_int_equal(uvfio_region_read(d, BAR2, 0, r, MiB), (ssize_t)MiB);
	expect_one_message(false, MiB);
	assert_same(w, r, MiB);
	free(w);
	free(r);
	uvfio_device_close(d);
	assert_int_equal(served_stop(&g_own), 0);
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
	assert_int_equal(start_logged(extra), 0);

	struct uvfio_open_opts o = test_open_opts();
	o.max_data_xfer_size = 64 * MiB;
	/* The reply timeout covers a whole 64 MiB message: give it room
	 * on a loaded machine or under valgrind. */
	o.timeout_ms = 60000;
	struct uvfio_device *d = open_ok(g_own.path, &o);
	struct uvfio_caps caps;
	assert_int_equal(uvfio_device_negotiated(d, NULL, NULL, &caps), 0);
	assert_int_equal(caps.max_data_xfer_size, 64 * MiB);
	round_trip_one_message(d, 64 * MiB, 64 * MiB, 7);
	round_trip_one_message(d, 0, 64 * MiB, 8);
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
	/* 16 MiB in 1 MiB messages: room for valgrind on a busy machine. */
	o.timeout_ms = 60000;
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
		cmocka_unit_test_teardown(one_mib_in_one_message, own_teardown),
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
