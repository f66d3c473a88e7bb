/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Region mmap: BAR2 mapped whole and shared with the device's memory,
 * BAR4 mapped sparse (areas accessible, holes reserved and inaccessible,
 * accesses to holes going through messages), and the API's accesses
 * inside a mapping done through it: they complete while the server is
 * stopped (SIGSTOP), where an access to a hole waits for the server.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include <cmocka.h>

#include <uvfio/client.h>
#include "devices/models.h"
#include "testutil.h"

#define BAR0 VFIO_PCI_BAR0_REGION_INDEX
#define BAR2 VFIO_PCI_BAR2_REGION_INDEX
#define BAR4 VFIO_PCI_BAR4_REGION_INDEX

static struct served g_srv;

static struct uvfio_device *open_dev(void)
{
	struct uvfio_open_opts o = test_open_opts();
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

static void fill_pattern(uint8_t *p, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)((i * 31) ^ (i >> 9) ^ seed);
}

static void bar2_mapping_shares_device_memory(void **state)
{
	(void)state;
	struct uvfio_device *d = open_dev();
	const size_t len = 256 * 1024;
	const uint64_t off = 16u << 20;
	uint8_t *w = malloc(len), *r = malloc(len);
	assert_non_null(w);
	assert_non_null(r);

	/* Written through messages first, seen through the mapping. */
	fill_pattern(w, len, 1);
	assert_int_equal(uvfio_region_write(d, BAR2, off, w, len), (ssize_t)len);
	void *addr = NULL;
	assert_int_equal(uvfio_region_mmap(d, BAR2, &addr), 0);
	assert_non_null(addr);
	uint8_t *m = addr;
	assert_memory_equal(m + off, w, len);

	/* Written through the mapping, seen by messages after munmap. */
	fill_pattern(w, len, 2);
	memcpy(m + off, w, len);
	memcpy(m + TESTDEV_BAR2_SIZE - 4096, w, 4096);
	/* Reads through the API while mapped agree with the memory. */
	assert_int_equal(uvfio_region_read(d, BAR2, off, r, len), (ssize_t)len);
	assert_memory_equal(r, w, len);
	assert_int_equal(uvfio_region_munmap(d, BAR2), 0);

	memset(r, 0, len);
	assert_int_equal(uvfio_region_read(d, BAR2, off, r, len), (ssize_t)len);
	assert_memory_equal(r, w, len);
	assert_int_equal(uvfio_region_read(d, BAR2, TESTDEV_BAR2_SIZE - 4096, r,
					   4096), 4096);
	assert_memory_equal(r, w, 4096);
	/* Unmapping twice is an error, not a crash. */
	assert_true(uvfio_region_munmap(d, BAR2) < 0);
	free(w);
	free(r);
	uvfio_device_close(d);
}

static void bar2_mapping_seen_by_next_client(void **state)
{
	(void)state;
	struct uvfio_device *d = open_dev();
	void *addr = NULL;
	assert_int_equal(uvfio_region_mmap(d, BAR2, &addr), 0);
	uint32_t v = 0xfacefeed;
	memcpy((uint8_t *)addr + 12345 * 4, &v, 4);
	/* Mapping again gives the same address. */
	void *again = NULL;
	assert_int_equal(uvfio_region_mmap(d, BAR2, &again), 0);
	assert_ptr_equal(addr, again);
	/* Closed without munmap: close releases the mapping. */
	uvfio_device_close(d);

	d = open_dev();
	uint32_t r = 0;
	assert_int_equal(uvfio_region_read32(d, BAR2, 12345 * 4, &r), 0);
	assert_int_equal(r, 0xfacefeed);
	uvfio_device_close(d);
}

static void posted_write_visible_through_mapping(void **state)
{
	(void)state;
	struct uvfio_device *d = open_dev();
	/* Posted through a message while unmapped... */
	uint32_t v = 0x600dcafe;
	assert_int_equal(uvfio_region_write_posted(d, BAR2, 0x2000, &v, 4), 0);
	/* ...then read through the mapping: ordered behind the write. */
	void *addr = NULL;
	assert_int_equal(uvfio_region_mmap(d, BAR2, &addr), 0);
	uint32_t r = 0;
	assert_int_equal(uvfio_region_read32(d, BAR2, 0x2000, &r), 0);
	assert_int_equal(r, 0x600dcafe);
	assert_int_equal(uvfio_region_munmap(d, BAR2), 0);
	uvfio_device_close(d);
}

static void bar4_sparse_mapping(void **state)
{
	(void)state;
	struct uvfio_device *d = open_dev();
	uint8_t buf[0x2000], r[0x2000];

	/* Holes get data through messages before anything is mapped. */
	fill_pattern(buf, 0x1000, 3);
	assert_int_equal(uvfio_region_write(d, BAR4, 0x0, buf, 0x1000), 0x1000);
	fill_pattern(buf, 0x1000, 4);
	assert_int_equal(uvfio_region_write(d, BAR4, 0x4000, buf, 0x1000), 0x1000);

	void *addr = NULL;
	assert_int_equal(uvfio_region_mmap(d, BAR4, &addr), 0);
	uint8_t *m = addr;
	char p[5];
	/* Areas are mapped read/write, holes reserved with no access. */
	map_perms(m + 0x1000, p);
	assert_string_equal(p, "rw-s");
	map_perms(m + 0x8000, p);
	assert_string_equal(p, "rw-s");
	map_perms(m + 0xf000, p);
	assert_string_equal(p, "rw-s");
	map_perms(m + 0x0, p);
	assert_int_equal(p[0], '-');
	assert_int_equal(p[1], '-');
	map_perms(m + 0x4000, p);
	assert_int_equal(p[0], '-');
	assert_int_equal(p[1], '-');
	map_perms(m + 0x2000, p);
	assert_int_equal(p[0], '-');

	/* Write both areas through the mapping. */
	fill_pattern(buf, 0x1000, 5);
	memcpy(m + 0x1000, buf, 0x1000);
	fill_pattern(buf, 0x2000, 6);
	memcpy(m + 0xe000, buf, 0x2000);

	/* Hole offsets through the API: messages, correct data. */
	fill_pattern(buf, 0x1000, 3);
	assert_int_equal(uvfio_region_read(d, BAR4, 0x0, r, 0x1000), 0x1000);
	assert_memory_equal(r, buf, 0x1000);
	fill_pattern(buf, 0x1000, 4);
	assert_int_equal(uvfio_region_read(d, BAR4, 0x4000, r, 0x1000), 0x1000);
	assert_memory_equal(r, buf, 0x1000);
	assert_int_equal(uvfio_region_write32(d, BAR4, 0x7ffc, 0x12345678), 0);
	uint32_t v = 0;
	assert_int_equal(uvfio_region_read32(d, BAR4, 0x7ffc, &v), 0);
	assert_int_equal(v, 0x12345678);

	/* An access straddling hole and area gets both halves right. */
	uint8_t straddle[0x20];
	assert_int_equal(uvfio_region_read(d, BAR4, 0x7ff0, straddle, 0x20), 0x20);
	assert_int_equal(straddle[0xc], 0x78);
	assert_int_equal(straddle[0xf], 0x12);
	assert_memory_equal(straddle + 0x10, m + 0x8000, 0x10);
	fill_pattern(buf, 0x1000, 5);
	assert_int_equal(uvfio_region_read(d, BAR4, 0x1ff0, straddle, 0x20), 0x20);
	assert_memory_equal(straddle, buf + 0xff0, 0x10);

	/* Area offsets through the API agree with the mapping. */
	assert_int_equal(uvfio_region_read(d, BAR4, 0x1000, r, 0x1000), 0x1000);
	assert_memory_equal(r, m + 0x1000, 0x1000);
	assert_int_equal(uvfio_region_write32(d, BAR4, 0x8004, 0xa5a5a5a5), 0);
	memcpy(&v, m + 0x8004, 4);
	assert_int_equal(v, 0xa5a5a5a5);

	assert_int_equal(uvfio_region_munmap(d, BAR4), 0);

	/* After munmap every offset goes through messages: same data. */
	fill_pattern(buf, 0x1000, 5);
	assert_int_equal(uvfio_region_read(d, BAR4, 0x1000, r, 0x1000), 0x1000);
	assert_memory_equal(r, buf, 0x1000);
	fill_pattern(buf, 0x2000, 6);
	assert_int_equal(uvfio_region_read(d, BAR4, 0xe000, r, 0x2000), 0x2000);
	assert_memory_equal(r, buf, 0x2000);
	assert_int_equal(uvfio_region_read32(d, BAR4, 0x8004, &v), 0);
	assert_int_equal(v, 0xa5a5a5a5);
	uvfio_device_close(d);
}

static void mmap_refused_where_not_mappable(void **state)
{
	(void)state;
	struct uvfio_device *d = open_dev();
	void *addr = (void *)&addr;
	assert_int_equal(uvfio_region_mmap(d, BAR0, &addr), -ENOTSUP);
	assert_int_equal(uvfio_region_mmap(d, VFIO_PCI_ROM_REGION_INDEX, &addr),
			 -ENOTSUP);
	assert_int_equal(uvfio_region_mmap(d, VFIO_PCI_CONFIG_REGION_INDEX, &addr),
			 -ENOTSUP);
	assert_int_equal(uvfio_region_mmap(d, 9, &addr), -ENOTSUP);
	assert_true(uvfio_region_mmap(d, VFIO_PCI_BAR1_REGION_INDEX, &addr) < 0);
	assert_true(uvfio_region_mmap(d, 10, &addr) < 0);
	assert_true(uvfio_region_munmap(d, BAR0) < 0);
	assert_int_equal(uvfio_region_mmap(d, BAR2, NULL), -EINVAL);
	uint32_t id = 0;
	assert_int_equal(uvfio_region_read32(d, BAR0, TESTDEV_REG_ID, &id), 0);
	assert_int_equal(id, TESTDEV_ID_VALUE);
	uvfio_device_close(d);
}

static void map_unmap_cycles(void **state)
{
	(void)state;
	struct uvfio_device *d = open_dev();
	for (uint32_t i = 0; i < 50; i++) {
		void *a2 = NULL, *a4 = NULL;
		assert_int_equal(uvfio_region_mmap(d, BAR2, &a2), 0);
		assert_int_equal(uvfio_region_mmap(d, BAR4, &a4), 0);
		memcpy((uint8_t *)a2 + i * 4096, &i, 4);
		memcpy((uint8_t *)a4 + 0x9000 + i * 4, &i, 4);
		assert_int_equal(uvfio_region_munmap(d, BAR4), 0);
		assert_int_equal(uvfio_region_munmap(d, BAR2), 0);
	}
	for (uint32_t i = 0; i < 50; i++) {
		uint32_t v = ~0u;
		assert_int_equal(uvfio_region_read32(d, BAR2, i * 4096, &v), 0);
		assert_int_equal(v, i);
		assert_int_equal(uvfio_region_read32(d, BAR4, 0x9000 + i * 4, &v), 0);
		assert_int_equal(v, i);
	}
	uvfio_device_close(d);
}

/*
 * Accesses run on a thread; the test waits for them with a deadline, so
 * that an access that went by message to the stopped server fails the
 * test (after the server is let go on) instead of hanging it.
 */
struct access_job {
	struct uvfio_device *d;
	uint8_t *bar2, *bar4;
	int result;                 /* 0, or the first step that failed */
	bool done;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	void (*fn)(struct access_job *j);
};

static void *access_thread(void *arg)
{
	struct access_job *j = arg;
	j->fn(j);
	pthread_mutex_lock(&j->lock);
	j->done = true;
	pthread_cond_signal(&j->cond);
	pthread_mutex_unlock(&j->lock);
	return NULL;
}

/* Start @fn on a thread; true when it finished within @ms. */
static bool run_job(struct access_job *j, pthread_t *t, unsigned ms)
{
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += ms / 1000;
	dl.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	j->done = false;
	j->result = -1;
	pthread_mutex_init(&j->lock, NULL);
	pthread_cond_init(&j->cond, NULL);
	assert_int_equal(pthread_create(t, NULL, access_thread, j), 0);
	pthread_mutex_lock(&j->lock);
	while (!j->done &&
	       pthread_cond_timedwait(&j->cond, &j->lock, &dl) == 0)
		;
	bool done = j->done;
	pthread_mutex_unlock(&j->lock);
	return done;
}

static void job_join(struct access_job *j, pthread_t t)
{
	pthread_join(t, NULL);
	pthread_mutex_destroy(&j->lock);
	pthread_cond_destroy(&j->cond);
}

#define STEP(n, cond) do { if (!(cond)) { j->result = (n); return; } } while (0)

/* Only offsets inside BAR2's mapping and BAR4's areas. */
static void mapped_accesses(struct access_job *j)
{
	uint32_t v = 0;
	uint64_t q = 0;
	/* API write, seen in the mapping; mapping write, seen by the API. */
	STEP(1, uvfio_region_write32(j->d, BAR2, 0x3000, 0xc0ffee01) == 0);
	STEP(2, !memcmp(j->bar2 + 0x3000, &(uint32_t){ 0xc0ffee01 }, 4));
	memcpy(j->bar2 + 0x3004, &(uint32_t){ 0x5eed0002 }, 4);
	STEP(3, uvfio_region_read32(j->d, BAR2, 0x3004, &v) == 0);
	STEP(4, v == 0x5eed0002);
	STEP(5, uvfio_region_read64(j->d, BAR2, 0x3000, &q) == 0);
	STEP(6, q == 0x5eed0002c0ffee01ull);
	/* The last word of the 128 MiB BAR. */
	STEP(7, uvfio_region_write32(j->d, BAR2, TESTDEV_BAR2_SIZE - 4,
				     0xe11d0003) == 0);
	STEP(8, !memcmp(j->bar2 + TESTDEV_BAR2_SIZE - 4,
			&(uint32_t){ 0xe11d0003 }, 4));
	/* Both of BAR4's areas, edges included. */
	STEP(9, uvfio_region_write32(j->d, BAR4, 0x1000, 0xa4ea0004) == 0);
	STEP(10, !memcmp(j->bar4 + 0x1000, &(uint32_t){ 0xa4ea0004 }, 4));
	memcpy(j->bar4 + 0xfffc, &(uint32_t){ 0xa4ea0005 }, 4);
	STEP(11, uvfio_region_read32(j->d, BAR4, 0xfffc, &v) == 0);
	STEP(12, v == 0xa4ea0005);
	STEP(13, uvfio_region_read32(j->d, BAR4, 0x8000, &v) == 0);
	STEP(14, !memcmp(j->bar4 + 0x8000, &v, 4));
	/* A bulk read inside an area. */
	uint8_t buf[0x800];
	STEP(15, uvfio_region_read(j->d, BAR4, 0x9000, buf, sizeof(buf)) ==
		 (ssize_t)sizeof(buf));
	STEP(16, !memcmp(buf, j->bar4 + 0x9000, sizeof(buf)));
	j->result = 0;
}

/* A hole of BAR4: by message. */
static void hole_access(struct access_job *j)
{
	uint32_t v = 0;
	STEP(1, uvfio_region_read32(j->d, BAR4, 0x4010, &v) == 0);
	STEP(2, v == 0x401e0006);
	STEP(3, uvfio_region_write32(j->d, BAR4, 0x4014, 0x401e0007) == 0);
	j->result = 0;
}

/* Never leave the server stopped for the tests after a failure. */
static int cont_server(void **state)
{
	(void)state;
	if (g_srv.pid > 0)
		kill(g_srv.pid, SIGCONT);
	return 0;
}

static void stop_server(void)
{
	assert_int_equal(kill(g_srv.pid, SIGSTOP), 0);
	int st;
	assert_int_equal(waitpid(g_srv.pid, &st, WUNTRACED), g_srv.pid);
	assert_true(WIFSTOPPED(st));
}

static void cont_server_now(void)
{
	assert_int_equal(kill(g_srv.pid, SIGCONT), 0);
	int st;
	/* Collect the "continued" report so it is not mistaken later. */
	waitpid(g_srv.pid, &st, WCONTINUED | WNOHANG);
}

static void mapped_access_while_server_stopped(void **state)
{
	(void)state;
	struct uvfio_device *d = open_dev();
	void *a2 = NULL, *a4 = NULL;
	assert_int_equal(uvfio_region_mmap(d, BAR2, &a2), 0);
	assert_int_equal(uvfio_region_mmap(d, BAR4, &a4), 0);
	assert_int_equal(uvfio_region_write32(d, BAR4, 0x4010, 0x401e0006), 0);
	struct access_job j = { .d = d, .bar2 = a2, .bar4 = a4 };
	pthread_t t;

	stop_server();
	j.fn = mapped_accesses;
	bool done = run_job(&j, &t, 10000);
	if (!done)
		cont_server_now();   /* the stuck access gets its answer */
	job_join(&j, t);
	if (!done)
		fail_msg("an access inside a mapping waited for the stopped server");
	if (j.result)
		fail_msg("access step %d failed", j.result);

	/* A hole is not mapped: that access waits for the server... */
	j.fn = hole_access;
	done = run_job(&j, &t, 300);
	cont_server_now();
	/* ...and completes once it runs again. */
	if (!done) {
		pthread_mutex_lock(&j.lock);
		while (!j.done)
			pthread_cond_wait(&j.cond, &j.lock);
		pthread_mutex_unlock(&j.lock);
	}
	job_join(&j, t);
	assert_false(done);
	assert_int_equal(j.result, 0);
	uint32_t v = 0;
	assert_int_equal(uvfio_region_read32(d, BAR4, 0x4014, &v), 0);
	assert_int_equal(v, 0x401e0007);

	/* What was written through the mapping is the device's memory. */
	assert_int_equal(uvfio_region_munmap(d, BAR2), 0);
	assert_int_equal(uvfio_region_munmap(d, BAR4), 0);
	assert_int_equal(uvfio_region_read32(d, BAR2, 0x3004, &v), 0);
	assert_int_equal(v, 0x5eed0002);
	assert_int_equal(uvfio_region_read32(d, BAR4, 0xfffc, &v), 0);
	assert_int_equal(v, 0xa4ea0005);
	uvfio_device_close(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bar2_mapping_shares_device_memory),
		cmocka_unit_test(bar2_mapping_seen_by_next_client),
		cmocka_unit_test(posted_write_visible_through_mapping),
		cmocka_unit_test(bar4_sparse_mapping),
		cmocka_unit_test(mmap_refused_where_not_mappable),
		cmocka_unit_test(map_unmap_cycles),
		cmocka_unit_test_teardown(mapped_access_while_server_stopped,
					  cont_server),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
