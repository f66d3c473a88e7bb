/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Device DMA into client memory, in every way the client can serve it:
 * windows shared by memfd (the server touches memory directly) and
 * windows without an fd (served through DMA_READ/DMA_WRITE messages), on
 * a twin socket or on the main one, by the library's thread or by the
 * caller's own loop.  The testdev DMA engine copies between guest memory
 * and its own buffer, synchronously or from a timer that then raises
 * MSI vector 0.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <uvfio/client.h>
#include "devices/models.h"
#include "testutil.h"

#define BAR0 VFIO_PCI_BAR0_REGION_INDEX
#define BAR2 VFIO_PCI_BAR2_REGION_INDEX
#define MiB (1u << 20)
#define RW (UVFIO_DMA_READ | UVFIO_DMA_WRITE)

struct mode {
	const char *name;
	bool no_twin;
	bool no_thread;
	uint32_t flags;          /* 0 (shared memfd) or UVFIO_DMA_NO_FD */
};

static const struct mode m_shared = { "shared", false, false, 0 };
static const struct mode m_shared_no_twin = { "shared/no-twin", true, false, 0 };
static const struct mode m_nofd = { "no-fd/twin/thread", false, false,
				    UVFIO_DMA_NO_FD };
static const struct mode m_nofd_loop = { "no-fd/twin/own-loop", false, true,
					 UVFIO_DMA_NO_FD };
static const struct mode m_nofd_no_twin = { "no-fd/no-twin/thread", true,
					    false, UVFIO_DMA_NO_FD };
static const struct mode m_nofd_no_twin_loop = { "no-fd/no-twin/own-loop",
						 true, true, UVFIO_DMA_NO_FD };

struct ctx {
	const struct mode *mode;
	struct served srv;
	struct uvfio_device *dev;
	void *mem[4];            /* test buffers, freed in teardown */
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Per test: a fresh server, and a device opened the way the mode says. */
static int setup(void **state)
{
	struct ctx *t = calloc(1, sizeof(*t));
	if (!t)
		return -1;
	t->mode = *state;
	if (served_start(&t->srv, "testdev", NULL) < 0) {
		free(t);
		return -1;
	}
	struct uvfio_open_opts o = test_open_opts();
	o.no_twin_socket = t->mode->no_twin;
	o.no_dma_thread = t->mode->no_thread;
	if (uvfio_device_open(t->srv.path, &o, &t->dev) < 0) {
		served_stop(&t->srv);
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *t = *state;
	uvfio_device_close(t->dev);
	for (size_t i = 0; i < sizeof(t->mem) / sizeof(t->mem[0]); i++)
		free(t->mem[i]);
	int st = served_stop(&t->srv);
	if (st != 0)
		fprintf(stderr, "%s: uvfio-serve exited with status %d\n",
			t->mode->name, st);
	free(t);
	return st == 0 ? 0 : -1;
}

/* Memory that teardown frees, even when the test fails half-way. */
static void *tmalloc(struct ctx *t, size_t len)
{
	for (size_t i = 0; i < sizeof(t->mem) / sizeof(t->mem[0]); i++) {
		if (!t->mem[i]) {
			t->mem[i] = malloc(len);
			assert_non_null(t->mem[i]);
			return t->mem[i];
		}
	}
	fail_msg("too many test buffers");
	return NULL;
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

static void assert_same(const void *a, const void *b, size_t len)
{
	if (!memcmp(a, b, len))
		return;
	const uint8_t *x = a, *y = b;
	size_t i = 0;
	while (x[i] == y[i])
		i++;
	fail_msg("data differs at offset %zu of %zu: 0x%02x vs 0x%02x", i, len,
		 x[i], y[i]);
}

static uint32_t rd32(struct uvfio_device *d, uint64_t off)
{
	uint32_t v = 0xdeadbeef;
	assert_int_equal(uvfio_region_read32(d, BAR0, off, &v), 0);
	return v;
}

/* Program the engine; for a synchronous command return DMA_STATUS. */
static uint32_t run_dma(struct uvfio_device *d, uint64_t iova, uint32_t len,
			uint32_t cmd)
{
	assert_int_equal(uvfio_region_write64(d, BAR0, TESTDEV_REG_DMA_ADDR, iova), 0);
	assert_int_equal(uvfio_region_write32(d, BAR0, TESTDEV_REG_DMA_LEN, len), 0);
	assert_int_equal(uvfio_region_write32(d, BAR0, TESTDEV_REG_DMA_CMD, cmd), 0);
	return rd32(d, TESTDEV_REG_DMA_STATUS);
}

static struct uvfio_dma_buf *alloc_buf(struct ctx *t, size_t size,
				       uint32_t access)
{
	struct uvfio_dma_buf *b = NULL;
	assert_int_equal(uvfio_dma_alloc(t->dev, size, access | t->mode->flags, &b), 0);
	assert_non_null(b);
	assert_non_null(b->vaddr);
	assert_true(b->size >= size);
	assert_int_equal(b->iova & 4095, 0);
	return b;
}

/*
 * Wait for the interrupt on @efd.  In own-loop mode the device's requests
 * are served meanwhile through uvfio_device_get_fd()/_dispatch().
 */
static void wait_irq(struct ctx *t, int efd, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	for (;;) {
		struct pollfd p[2] = { { .fd = efd, .events = POLLIN },
				       { .fd = -1, .events = POLLIN } };
		nfds_t n = 1;
		if (t->mode->no_thread) {
			p[1].fd = uvfio_device_get_fd(t->dev);
			assert_true(p[1].fd >= 0);
			n = 2;
		}
		int64_t left = deadline - now_ms();
		if (left <= 0)
			fail_msg("%s: no interrupt within %d ms", t->mode->name,
				 timeout_ms);
		int r = poll(p, n, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		assert_true(r >= 0);
		if (n == 2 && p[1].revents)
			assert_true(uvfio_device_dispatch(t->dev) >= 0);
		if (p[0].revents & POLLIN) {
			uint64_t v = 0;
			assert_int_equal(read(efd, &v, sizeof(v)), sizeof(v));
			assert_int_equal(v, 1);
			return;
		}
	}
}

/* ---- tests ------------------------------------------------------------- */

static void dma_sync_round_trip(void **state)
{
	struct ctx *t = *state;
	const size_t len = MiB;
	struct uvfio_dma_buf *src = alloc_buf(t, len, RW);
	struct uvfio_dma_buf *dst = alloc_buf(t, len, RW);
	assert_true(src->iova + src->size <= dst->iova ||
		    dst->iova + dst->size <= src->iova);
	fill_random(src->vaddr, len, 11);
	memset(dst->vaddr, 0, len);
	uint64_t req0 = uvfio_device_dma_requests(t->dev);

	/* 1: device reads guest memory into its buffer. */
	assert_int_equal(run_dma(t->dev, src->iova, (uint32_t)len, 1), 0);
	uint64_t req1 = uvfio_device_dma_requests(t->dev);
	/* 2: device writes its buffer into the other guest buffer. */
	assert_int_equal(run_dma(t->dev, dst->iova, (uint32_t)len, 2), 0);
	uint64_t req2 = uvfio_device_dma_requests(t->dev);
	assert_same(src->vaddr, dst->vaddr, len);

	if (t->mode->flags & UVFIO_DMA_NO_FD) {
		/* Served by messages: the counter saw both directions. */
		assert_true(req1 > req0);
		assert_true(req2 > req1);
	} else {
		/* Shared memory: no message needed. */
		assert_int_equal(req2, req0);
	}
	assert_int_equal(uvfio_dma_free(t->dev, src), 0);
	assert_int_equal(uvfio_dma_free(t->dev, dst), 0);
}

static void dma_sync_large(void **state)
{
	struct ctx *t = *state;
	/* Bigger than one message: the server cuts it by our limit. */
	const size_t len = 8 * MiB + 4096;
	struct uvfio_dma_buf *src = alloc_buf(t, len, RW);
	struct uvfio_dma_buf *dst = alloc_buf(t, len, RW);
	fill_random(src->vaddr, len, 12);
	memset(dst->vaddr, 0, len);
	assert_int_equal(run_dma(t->dev, src->iova, (uint32_t)len, 1), 0);
	assert_int_equal(run_dma(t->dev, dst->iova, (uint32_t)len, 2), 0);
	assert_same(src->vaddr, dst->vaddr, len);
	/* Sub-ranges at odd offsets inside a window. */
	memset(dst->vaddr, 0, len);
	assert_int_equal(run_dma(t->dev, src->iova + 777, 100000, 1), 0);
	assert_int_equal(run_dma(t->dev, dst->iova + 12345, 100000, 2), 0);
	assert_same((uint8_t *)src->vaddr + 777, (uint8_t *)dst->vaddr + 12345,
		    100000);
	assert_int_equal(uvfio_dma_free(t->dev, src), 0);
	assert_int_equal(uvfio_dma_free(t->dev, dst), 0);
}

static void dma_async_with_msi(void **state)
{
	struct ctx *t = *state;
	const size_t len = MiB;
	struct uvfio_dma_buf *src = alloc_buf(t, len, RW);
	struct uvfio_dma_buf *dst = alloc_buf(t, len, RW);
	fill_random(src->vaddr, len, 13);
	memset(dst->vaddr, 0, len);
	if (!t->mode->no_twin && !t->mode->no_thread)
		assert_int_equal(uvfio_device_get_fd(t->dev), -1);

	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(efd >= 0);
	assert_int_equal(uvfio_irq_enable(t->dev, VFIO_PCI_MSI_IRQ_INDEX, 0, 1,
					  &efd), 0);
	uint64_t req0 = uvfio_device_dma_requests(t->dev);

	/* Runs 1 ms later from the device's timer, then raises MSI 0. */
	uint32_t st = run_dma(t->dev, src->iova, (uint32_t)len, 0x101);
	assert_true(st == 0xffffffffu || st == 0);
	wait_irq(t, efd, 4000);
	assert_int_equal(rd32(t->dev, TESTDEV_REG_DMA_STATUS), 0);

	run_dma(t->dev, dst->iova, (uint32_t)len, 0x102);
	wait_irq(t, efd, 4000);
	assert_int_equal(rd32(t->dev, TESTDEV_REG_DMA_STATUS), 0);
	assert_same(src->vaddr, dst->vaddr, len);
	if (t->mode->flags & UVFIO_DMA_NO_FD)
		assert_true(uvfio_device_dma_requests(t->dev) >= req0 + 2);

	/* Several in a row. */
	for (int i = 0; i < 10; i++) {
		fill_random(src->vaddr, 4096, 100 + (uint64_t)i);
		run_dma(t->dev, src->iova, 4096, 0x101);
		wait_irq(t, efd, 4000);
		assert_int_equal(rd32(t->dev, TESTDEV_REG_DMA_STATUS), 0);
		run_dma(t->dev, dst->iova, 4096, 0x102);
		wait_irq(t, efd, 4000);
		assert_int_equal(rd32(t->dev, TESTDEV_REG_DMA_STATUS), 0);
		assert_same(src->vaddr, dst->vaddr, 4096);
	}

	assert_int_equal(uvfio_irq_disable(t->dev, VFIO_PCI_MSI_IRQ_INDEX), 0);
	close(efd);
	assert_int_equal(uvfio_dma_free(t->dev, src), 0);
	assert_int_equal(uvfio_dma_free(t->dev, dst), 0);
}

static void dma_unmapped_iova_faults(void **state)
{
	struct ctx *t = *state;
	struct uvfio_dma_buf *b = alloc_buf(t, 64 * 1024, RW);
	fill_random(b->vaddr, b->size, 14);

	assert_int_equal(run_dma(t->dev, 0xdead00000000ull, 4096, 1), EFAULT);
	assert_int_equal(run_dma(t->dev, 0xdead00000000ull, 4096, 2), EFAULT);
	/* Starting inside the window but running past its end. */
	assert_int_equal(run_dma(t->dev, b->iova + b->size - 2048, 4096, 1), EFAULT);
	assert_int_equal(run_dma(t->dev, b->iova - 4096, 8192, 2), EFAULT);
	/* The window itself still works. */
	assert_int_equal(run_dma(t->dev, b->iova, (uint32_t)b->size, 1), 0);

	/* Freed: the window is gone for the device. */
	uint64_t iova = b->iova;
	assert_int_equal(uvfio_dma_free(t->dev, b), 0);
	assert_int_equal(run_dma(t->dev, iova, 4096, 1), EFAULT);
	assert_int_equal(run_dma(t->dev, iova, 4096, 2), EFAULT);
}

static void dma_permissions(void **state)
{
	struct ctx *t = *state;
	/* The device may only read this one... */
	struct uvfio_dma_buf *ro = alloc_buf(t, 8192, UVFIO_DMA_READ);
	memset(ro->vaddr, 0x5a, 8192);
	assert_int_equal(run_dma(t->dev, ro->iova, 8192, 1), 0);
	assert_int_equal(run_dma(t->dev, ro->iova, 8192, 2), EPERM);
	const uint8_t *p = ro->vaddr;
	for (size_t i = 0; i < 8192; i++)
		if (p[i] != 0x5a)
			fail_msg("read-only window written at %zu", i);
	/* ...and only write this one. */
	struct uvfio_dma_buf *wo = alloc_buf(t, 8192, UVFIO_DMA_WRITE);
	assert_int_equal(run_dma(t->dev, wo->iova, 8192, 1), EPERM);
	assert_int_equal(run_dma(t->dev, wo->iova, 8192, 2), 0);
	assert_same(wo->vaddr, ro->vaddr, 8192);
	assert_int_equal(uvfio_dma_free(t->dev, ro), 0);
	assert_int_equal(uvfio_dma_free(t->dev, wo), 0);
}

static void dma_across_adjacent_windows(void **state)
{
	struct ctx *t = *state;
	const size_t win = 64 * 1024;
	const uint64_t iova = 0x40000000;
	bool nofd = t->mode->flags & UVFIO_DMA_NO_FD;
	int fd = -1;
	uint8_t *mem;
	if (nofd) {
		mem = mmap(NULL, 2 * win, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		assert_true(mem != MAP_FAILED);
	} else {
		fd = memfd_create("integ-dma", MFD_CLOEXEC);
		assert_true(fd >= 0);
		assert_int_equal(ftruncate(fd, 2 * win), 0);
		mem = mmap(NULL, 2 * win, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		assert_true(mem != MAP_FAILED);
	}
	/* Two windows back to back; the second's memory is the first half. */
	assert_int_equal(uvfio_dma_map(t->dev, mem + win, win, iova, RW | t->mode->flags,
				       fd, win), 0);
	assert_int_equal(uvfio_dma_map(t->dev, mem, win, iova + win, RW | t->mode->flags,
				       fd, 0), 0);
	fill_random(mem, 2 * win, 15);
	uint8_t *expect = tmalloc(t, 2 * win);
	/* Device order: iova..+win is mem+win, then mem. */
	memcpy(expect, mem + win, win);
	memcpy(expect + win, mem, win);

	struct uvfio_dma_buf *dst = alloc_buf(t, 2 * win, RW);
	assert_int_equal(run_dma(t->dev, iova, (uint32_t)(2 * win), 1), 0);
	assert_int_equal(run_dma(t->dev, dst->iova, (uint32_t)(2 * win), 2), 0);
	assert_same(dst->vaddr, expect, 2 * win);
	/* And the other way, crossing the seam. */
	fill_random(dst->vaddr, 2 * win, 16);
	assert_int_equal(run_dma(t->dev, dst->iova, (uint32_t)(2 * win), 1), 0);
	assert_int_equal(run_dma(t->dev, iova + win - 100, 200, 2), 0);
	assert_same(mem + 2 * win - 100, dst->vaddr, 100);
	assert_same(mem, (uint8_t *)dst->vaddr + 100, 100);

	assert_int_equal(uvfio_dma_unmap(t->dev, iova, win), 0);
	assert_int_equal(uvfio_dma_unmap(t->dev, iova + win, win), 0);
	assert_int_equal(uvfio_dma_free(t->dev, dst), 0);
	munmap(mem, 2 * win);
	if (fd >= 0)
		close(fd);
}

/*
 * Without a twin socket the device's DMA requests share the main socket
 * with our requests.  A timer DMA that starts while we are sending big
 * region writes must neither deadlock nor break the connection.
 */
static void dma_async_during_big_writes(void **state)
{
	struct ctx *t = *state;
	const size_t len = MiB;
	struct uvfio_dma_buf *src = alloc_buf(t, len, RW);
	struct uvfio_dma_buf *dst = alloc_buf(t, len, RW);
	fill_random(src->vaddr, len, 17);
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(efd >= 0);
	assert_int_equal(uvfio_irq_enable(t->dev, VFIO_PCI_MSI_IRQ_INDEX, 0, 1,
					  &efd), 0);
	assert_int_equal(run_dma(t->dev, src->iova, (uint32_t)len, 1), 0);

	uint8_t *big = tmalloc(t, len);
	fill_random(big, len, 18);
	for (int round = 0; round < 5; round++) {
		memset(dst->vaddr, 0, len);
		run_dma(t->dev, dst->iova, (uint32_t)len, 0x102);
		int64_t t0 = now_ms();
		for (int i = 0; i < 16; i++) {
			ssize_t n = uvfio_region_write(t->dev, BAR2,
						       (uint64_t)i * len, big, len);
			if (n != (ssize_t)len)
				fail_msg("round %d write %d: %zd after %lld ms", round,
					 i, n, (long long)(now_ms() - t0));
		}
		wait_irq(t, efd, 4000);
		assert_int_equal(rd32(t->dev, TESTDEV_REG_DMA_STATUS), 0);
		assert_same(src->vaddr, dst->vaddr, len);
	}
	uint8_t *r = tmalloc(t, len);
	assert_int_equal(uvfio_region_read(t->dev, BAR2, 15 * len, r, len),
			 (ssize_t)len);
	assert_same(big, r, len);
	assert_int_equal(uvfio_irq_disable(t->dev, VFIO_PCI_MSI_IRQ_INDEX), 0);
	close(efd);
	assert_int_equal(uvfio_dma_free(t->dev, src), 0);
	assert_int_equal(uvfio_dma_free(t->dev, dst), 0);
}

/* Same with a burst of posted writes: we never read while posting. */
static void dma_async_during_posted_burst(void **state)
{
	struct ctx *t = *state;
	const size_t len = MiB;
	struct uvfio_dma_buf *dst = alloc_buf(t, len, RW);
	assert_int_equal(uvfio_device_reset(t->dev), 0);   /* COUNT = 0 */
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(efd >= 0);
	assert_int_equal(uvfio_irq_enable(t->dev, VFIO_PCI_MSI_IRQ_INDEX, 0, 1,
					  &efd), 0);
	run_dma(t->dev, dst->iova, (uint32_t)len, 0x102);
	const uint8_t one[4] = { 1, 0, 0, 0 };
	for (int i = 0; i < 20000; i++) {
		int r = uvfio_region_write_posted(t->dev, BAR0, TESTDEV_REG_BUMP,
						  one, 4);
		if (r != 0)
			fail_msg("posted write %d: %d", i, r);
	}
	wait_irq(t, efd, 4000);
	assert_int_equal(rd32(t->dev, TESTDEV_REG_DMA_STATUS), 0);
	assert_int_equal(rd32(t->dev, TESTDEV_REG_COUNT), 20000);
	assert_int_equal(uvfio_irq_disable(t->dev, VFIO_PCI_MSI_IRQ_INDEX), 0);
	close(efd);
	assert_int_equal(uvfio_dma_free(t->dev, dst), 0);
}

/* Each test once per mode, named "test/mode", with its own server. */
#define ONE(fn, m) { #fn "/" #m, fn, setup, teardown, (void *)&m }
#define MODES(fn)                                                         \
	ONE(fn, m_shared), ONE(fn, m_shared_no_twin), ONE(fn, m_nofd),     \
	ONE(fn, m_nofd_loop), ONE(fn, m_nofd_no_twin),                     \
	ONE(fn, m_nofd_no_twin_loop)

int main(void)
{
	const struct CMUnitTest tests[] = {
		MODES(dma_sync_round_trip),
		MODES(dma_sync_large),
		MODES(dma_async_with_msi),
		MODES(dma_unmapped_iova_faults),
		MODES(dma_permissions),
		MODES(dma_across_adjacent_windows),
		MODES(dma_async_during_big_writes),
		MODES(dma_async_during_posted_burst),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
