/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One device used from several threads at once, and teardown racing the
 * device: freeing a buffer or closing the device while the device is in
 * the middle of a DMA into it.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <uvfio/client.h>
#include "devices/models.h"
#include "testutil.h"

#define BAR0 VFIO_PCI_BAR0_REGION_INDEX
#define BAR2 VFIO_PCI_BAR2_REGION_INDEX
#define MSI  VFIO_PCI_MSI_IRQ_INDEX
#define MiB  (1u << 20)

static struct served g_srv;

static struct uvfio_device *open_dev(bool no_twin, bool no_thread)
{
	struct uvfio_open_opts o = test_open_opts();
	o.no_twin_socket = no_twin;
	o.no_dma_thread = no_thread;
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

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint32_t rd32(struct uvfio_device *d, uint64_t off)
{
	uint32_t v = 0xdeadbeef;
	assert_int_equal(uvfio_region_read32(d, BAR0, off, &v), 0);
	return v;
}

/* ---- several threads, one device ---------------------------------------- */

struct worker {
	struct uvfio_device *dev;
	unsigned id;
	pthread_t th;
	int errors;              /* counted here; asserted on the main thread */
	char why[128];
};

static void note(struct worker *w, const char *what, long got)
{
	if (!w->errors++)
		snprintf(w->why, sizeof(w->why), "%s: %ld", what, got);
}

static void *region_worker(void *arg)
{
	struct worker *w = arg;
	uint8_t buf[4096], back[4096];
	for (unsigned i = 0; i < 300; i++) {
		/* Region 9: 4 KiB; each worker owns 512 bytes of it. */
		uint64_t off9 = w->id * 512 + (i % 64) * 8;
		uint64_t v = (uint64_t)w->id << 56 | i;
		int r = uvfio_region_write64(w->dev, 9, off9, v);
		uint64_t got = 0;
		if (r < 0 || uvfio_region_read64(w->dev, 9, off9, &got) < 0 || got != v)
			note(w, "region 9 round trip", r < 0 ? r : (long)got);
		/* BAR2 through messages, 4 KiB a piece, own 1 MiB stripe. */
		uint64_t off2 = (uint64_t)w->id * MiB + (i % 16) * 4096;
		memset(buf, (int)(w->id * 16 + (i & 15)), sizeof(buf));
		if (uvfio_region_write(w->dev, BAR2, off2, buf, sizeof(buf)) != 4096 ||
		    uvfio_region_read(w->dev, BAR2, off2, back, sizeof(back)) != 4096 ||
		    memcmp(buf, back, sizeof(buf)))
			note(w, "BAR2 round trip", (long)i);
		/* Posted bumps interleaved with everything else. */
		const uint8_t one[4] = { 1, 0, 0, 0 };
		if (uvfio_region_write_posted(w->dev, BAR0, TESTDEV_REG_BUMP, one, 4) < 0)
			note(w, "posted write", (long)i);
		uint32_t id = 0;
		if (uvfio_region_read32(w->dev, BAR0, TESTDEV_REG_ID, &id) < 0 ||
		    id != TESTDEV_ID_VALUE)
			note(w, "ID", (long)id);
	}
	return NULL;
}

static void *dma_worker(void *arg)
{
	struct worker *w = arg;
	struct uvfio_dma_buf *b = NULL;
	int r = uvfio_dma_alloc(w->dev, 64 * 1024, UVFIO_DMA_NO_FD, &b);
	if (r < 0) {
		note(w, "dma_alloc", r);
		return NULL;
	}
	for (unsigned i = 0; i < 100; i++) {
		struct uvfio_dma_buf *t = NULL;
		r = uvfio_dma_alloc(w->dev, 4096 * (1 + i % 4),
				    i & 1 ? UVFIO_DMA_NO_FD : 0, &t);
		if (r < 0) {
			note(w, "dma_alloc in loop", r);
			break;
		}
		memset(t->vaddr, (int)i, t->size);
		r = uvfio_dma_free(w->dev, t);
		if (r < 0)
			note(w, "dma_free", r);
	}
	r = uvfio_dma_free(w->dev, b);
	if (r < 0)
		note(w, "dma_free", r);
	return NULL;
}

static void *irq_worker(void *arg)
{
	struct worker *w = arg;
	int e = eventfd(0, EFD_CLOEXEC);
	for (unsigned i = 0; i < 200; i++) {
		/* ERR is independent of the others' use of MSI/INTx. */
		int r = uvfio_irq_enable(w->dev, VFIO_PCI_ERR_IRQ_INDEX, 0, 1, &e);
		if (r < 0)
			note(w, "enable ERR", r);
		r = uvfio_irq_disable(w->dev, VFIO_PCI_ERR_IRQ_INDEX);
		if (r < 0)
			note(w, "disable ERR", r);
	}
	close(e);
	return NULL;
}

static void many_threads_one_device(bool no_twin, bool no_thread)
{
	struct uvfio_device *d = open_dev(no_twin, no_thread);
	assert_int_equal(uvfio_device_reset(d), 0);
	struct worker w[6];
	memset(w, 0, sizeof(w));
	for (unsigned i = 0; i < 6; i++) {
		w[i].dev = d;
		w[i].id = i;
		void *(*fn)(void *) = i < 4 ? region_worker :
				      i == 4 ? dma_worker : irq_worker;
		assert_int_equal(pthread_create(&w[i].th, NULL, fn, &w[i]), 0);
	}
	for (unsigned i = 0; i < 6; i++)
		pthread_join(w[i].th, NULL);
	for (unsigned i = 0; i < 6; i++)
		if (w[i].errors)
			fail_msg("worker %u: %d errors, first %s", i, w[i].errors,
				 w[i].why);
	/* Every posted bump arrived, exactly once. */
	assert_int_equal(rd32(d, TESTDEV_REG_COUNT), 4 * 300);
	uvfio_device_close(d);
}

static void threads_twin(void **state)
{
	(void)state;
	many_threads_one_device(false, false);
}

static void threads_no_twin_own_loop(void **state)
{
	(void)state;
	many_threads_one_device(true, true);
}

struct mapper {
	struct uvfio_device *dev;
	volatile bool stop;
	int errors;
};

static void *map_unmap_loop(void *arg)
{
	struct mapper *m = arg;
	while (!m->stop) {
		void *a = NULL;
		if (uvfio_region_mmap(m->dev, BAR2, &a) < 0)
			m->errors++;
		if (uvfio_region_munmap(m->dev, BAR2) < 0)
			m->errors++;
	}
	return NULL;
}

static void mmap_races_region_access(void **state)
{
	(void)state;
	/* Accesses pick the mapping or messages while it comes and goes;
	 * either way they read what was written. */
	struct uvfio_device *d = open_dev(false, false);
	struct mapper m = { .dev = d };
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, map_unmap_loop, &m), 0);
	for (uint32_t i = 0; i < 3000; i++) {
		uint64_t off = (uint64_t)(i % 1024) * 64;
		if (uvfio_region_write32(d, BAR2, off, i) != 0)
			fail_msg("write %u", i);
		uint32_t v = ~0u;
		if (uvfio_region_read32(d, BAR2, off, &v) != 0 || v != i)
			fail_msg("read %u: 0x%x", i, v);
	}
	m.stop = true;
	pthread_join(th, NULL);
	assert_int_equal(m.errors, 0);
	uvfio_device_close(d);
}

/* ---- teardown racing the device's DMA --------------------------------------- */

static void start_async_dma(struct uvfio_device *d, uint64_t iova, uint32_t len)
{
	assert_int_equal(uvfio_region_write64(d, BAR0, TESTDEV_REG_DMA_ADDR, iova), 0);
	assert_int_equal(uvfio_region_write32(d, BAR0, TESTDEV_REG_DMA_LEN, len), 0);
	assert_int_equal(uvfio_region_write32(d, BAR0, TESTDEV_REG_DMA_CMD, 0x102), 0);
}

static void free_during_device_dma(void **state)
{
	(void)state;
	struct uvfio_device *d = open_dev(false, false);
	for (int round = 0; round < 5; round++) {
		struct uvfio_dma_buf *b = NULL;
		assert_int_equal(uvfio_dma_alloc(d, 32 * MiB, UVFIO_DMA_NO_FD, &b), 0);
		start_async_dma(d, b->iova, 32 * MiB);
		struct timespec ts = { 0, (long)(1 + round) * 1000000 };
		nanosleep(&ts, NULL);
		/* The window goes away while the device writes to it. */
		assert_int_equal(uvfio_dma_free(d, b), 0);
		/* The device ends with success or a fault, never hangs. */
		uint32_t st = 0xffffffffu;
		int64_t end = now_ms() + 10000;
		while ((st = rd32(d, TESTDEV_REG_DMA_STATUS)) == 0xffffffffu &&
		       now_ms() < end) {
			ts = (struct timespec){ 0, 5000000 };
			nanosleep(&ts, NULL);
		}
		assert_true(st == 0 || st == EFAULT);
	}
	assert_int_equal(rd32(d, TESTDEV_REG_ID), TESTDEV_ID_VALUE);
	uvfio_device_close(d);
}

static void close_during_device_dma(void **state)
{
	(void)state;
	static const bool modes[][2] = { { false, false }, { false, true },
					 { true, true } };
	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		struct uvfio_device *d = open_dev(modes[m][0], modes[m][1]);
		struct uvfio_dma_buf *b = NULL;
		assert_int_equal(uvfio_dma_alloc(d, 32 * MiB, UVFIO_DMA_NO_FD, &b), 0);
		start_async_dma(d, b->iova, 32 * MiB);
		struct timespec ts = { 0, 3000000 };
		nanosleep(&ts, NULL);
		uvfio_device_close(d);   /* buffers and all */

		/* The server noticed and serves the next client. */
		d = open_dev(false, false);
		assert_int_equal(rd32(d, TESTDEV_REG_ID), TESTDEV_ID_VALUE);
		uvfio_device_close(d);
		assert_true(served_alive(&g_srv));
	}
}

static void dispatch_does_not_block(void **state)
{
	(void)state;
	struct uvfio_device *d = open_dev(true, true);
	assert_true(uvfio_device_get_fd(d) >= 0);
	int64_t t0 = now_ms();
	for (int i = 0; i < 100; i++)
		assert_int_equal(uvfio_device_dispatch(d), 0);
	assert_true(now_ms() - t0 < 1000);
	/* Nothing to read: the fd is not readable. */
	struct pollfd p = { .fd = uvfio_device_get_fd(d), .events = POLLIN };
	assert_int_equal(poll(&p, 1, 0), 0);
	assert_int_equal(rd32(d, TESTDEV_REG_ID), TESTDEV_ID_VALUE);
	uvfio_device_close(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(threads_twin),
		cmocka_unit_test(threads_no_twin_own_loop),
		cmocka_unit_test(mmap_races_region_access),
		cmocka_unit_test(free_during_device_dma),
		cmocka_unit_test(close_during_device_dma),
		cmocka_unit_test(dispatch_does_not_block),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
