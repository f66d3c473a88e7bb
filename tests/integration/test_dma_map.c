/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The DMA window table: many windows, unmap-all, overlaps, exact unmaps,
 * the server's --max-dma-maps limit, and argument checks.  Every claim
 * is checked by making the device DMA to (or fail to DMA to) a window.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>

#include <uvfio/client.h>
#include "devices/models.h"
#include "testutil.h"

#define BAR0 VFIO_PCI_BAR0_REGION_INDEX
#define RW (UVFIO_DMA_READ | UVFIO_DMA_WRITE)
#define PG 4096u
#define IOVA0 0x40000000ull

static struct served g_srv;

/* A test's own server: own_teardown stops it even when the test fails. */
static struct served g_own;

static int own_teardown(void **state)
{
	(void)state;
	if (g_own.pid > 0)
		served_stop(&g_own);
	return 0;
}

static struct uvfio_device *open_path(const char *path)
{
	struct uvfio_open_opts o = test_open_opts();
	struct uvfio_device *d = NULL;
	assert_int_equal(uvfio_device_open(path, &o, &d), 0);
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

static uint32_t run_dma(struct uvfio_device *d, uint64_t iova, uint32_t len,
			uint32_t cmd)
{
	assert_int_equal(uvfio_region_write64(d, BAR0, TESTDEV_REG_DMA_ADDR, iova), 0);
	assert_int_equal(uvfio_region_write32(d, BAR0, TESTDEV_REG_DMA_LEN, len), 0);
	assert_int_equal(uvfio_region_write32(d, BAR0, TESTDEV_REG_DMA_CMD, cmd), 0);
	uint32_t st = 0xdeadbeef;
	assert_int_equal(uvfio_region_read32(d, BAR0, TESTDEV_REG_DMA_STATUS, &st), 0);
	return st;
}

/* Memory for @npages pages: a memfd (*fd set) or anonymous (*fd = -1). */
static uint8_t *pages(size_t npages, bool with_fd, int *fd)
{
	size_t len = npages * PG;
	*fd = -1;
	if (with_fd) {
		*fd = memfd_create("integ-dma-map", MFD_CLOEXEC);
		assert_true(*fd >= 0);
		assert_int_equal(ftruncate(*fd, (off_t)len), 0);
	}
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       with_fd ? MAP_SHARED : MAP_PRIVATE | MAP_ANONYMOUS, *fd, 0);
	assert_true(p != MAP_FAILED);
	return p;
}

/*
 * The device copies page @from to page @to (by IOVA); check the memory
 * behind @to now holds what @from's memory holds.
 */
static void copy_page(struct uvfio_device *d, uint64_t from_iova,
		      const uint8_t *from_mem, uint64_t to_iova,
		      const uint8_t *to_mem)
{
	assert_int_equal(run_dma(d, from_iova, PG, 1), 0);
	assert_int_equal(run_dma(d, to_iova, PG, 2), 0);
	assert_memory_equal(from_mem, to_mem, PG);
}

static void map_many_pages(bool with_fd)
{
	const unsigned n = 1000;
	struct uvfio_device *d = open_path(g_srv.path);
	int fd;
	uint8_t *mem = pages(n, with_fd, &fd);
	for (unsigned i = 0; i < n; i++)
		memset(mem + i * PG, (int)(i & 0xff), PG);
	/* Distinct pages at distinct, non-adjacent IOVAs. */
	for (unsigned i = 0; i < n; i++) {
		int r = uvfio_dma_map(d, mem + i * PG, PG, IOVA0 + 2ull * i * PG, RW,
				      fd, (uint64_t)i * PG);
		if (r != 0)
			fail_msg("map %u of %u: %d", i, n, r);
	}
	uint64_t req0 = uvfio_device_dma_requests(d);
	copy_page(d, IOVA0 + 2ull * 7 * PG, mem + 7 * PG,
		  IOVA0 + 2ull * 999 * PG, mem + 999 * PG);
	copy_page(d, IOVA0 + 2ull * 500 * PG, mem + 500 * PG,
		  IOVA0, mem);
	if (with_fd)
		assert_int_equal(uvfio_device_dma_requests(d), req0);
	else
		assert_true(uvfio_device_dma_requests(d) > req0);
	/* The gaps between windows are not mapped. */
	assert_int_equal(run_dma(d, IOVA0 + PG, PG, 1), EFAULT);

	assert_int_equal(uvfio_dma_unmap_all(d), 0);
	assert_int_equal(run_dma(d, IOVA0, PG, 1), EFAULT);
	assert_int_equal(run_dma(d, IOVA0 + 2ull * 999 * PG, PG, 2), EFAULT);

	/* Everything can be mapped again, at the same IOVAs. */
	for (unsigned i = 0; i < n; i++) {
		int r = uvfio_dma_map(d, mem + i * PG, PG, IOVA0 + 2ull * i * PG, RW,
				      fd, (uint64_t)i * PG);
		if (r != 0)
			fail_msg("second map %u of %u: %d", i, n, r);
	}
	memset(mem + 3 * PG, 0x33, PG);
	copy_page(d, IOVA0 + 2ull * 3 * PG, mem + 3 * PG,
		  IOVA0 + 2ull * 998 * PG, mem + 998 * PG);
	assert_int_equal(uvfio_dma_unmap_all(d), 0);

	/* And DMA buffers still work after an unmap-all. */
	struct uvfio_dma_buf *b = NULL;
	assert_int_equal(uvfio_dma_alloc(d, PG, 0, &b), 0);
	assert_int_equal(run_dma(d, b->iova, PG, 2), 0);
	assert_int_equal(uvfio_dma_free(d, b), 0);

	munmap(mem, n * PG);
	if (fd >= 0)
		close(fd);
	uvfio_device_close(d);
}

static void map_1000_memfd_pages(void **state)
{
	(void)state;
	map_many_pages(true);
}

static void map_1000_anonymous_pages(void **state)
{
	(void)state;
	map_many_pages(false);
}

static void map_overlap_refused(void **state)
{
	(void)state;
	struct uvfio_device *d = open_path(g_srv.path);
	int fd;
	uint8_t *mem = pages(4, true, &fd);
	const uint64_t a = IOVA0 + 0x100000;

	assert_int_equal(uvfio_dma_map(d, mem, 2 * PG, a, RW, fd, 0), 0);
	assert_int_equal(uvfio_dma_map(d, mem, 2 * PG, a, RW, fd, 0), -EEXIST);
	assert_int_equal(uvfio_dma_map(d, mem, 2 * PG, a + PG, RW, fd, 0), -EEXIST);
	assert_int_equal(uvfio_dma_map(d, mem, 2 * PG, a - PG, RW, fd, 0), -EEXIST);
	assert_int_equal(uvfio_dma_map(d, mem, 4 * PG, a - PG, RW, fd, 0), -EEXIST);
	assert_int_equal(uvfio_dma_map(d, mem, PG, a + PG, RW, -1, 0), -EEXIST);
	/* Adjacent on either side is fine. */
	assert_int_equal(uvfio_dma_map(d, mem + 2 * PG, PG, a + 2 * PG, RW, fd,
				       2 * PG), 0);
	assert_int_equal(uvfio_dma_map(d, mem + 3 * PG, PG, a - PG, RW, fd,
				       3 * PG), 0);
	/* The first window was not disturbed by the refused ones. */
	memset(mem, 0x71, PG);
	memset(mem + PG, 0, PG);
	copy_page(d, a, mem, a + PG, mem + PG);

	/* Buffers from dma_alloc avoid IOVAs the caller mapped. */
	assert_int_equal(uvfio_dma_map(d, mem, PG, 0x100000, RW, fd, 0), 0);
	struct uvfio_dma_buf *b = NULL;
	assert_int_equal(uvfio_dma_alloc(d, 3 * PG, 0, &b), 0);
	assert_true(b->iova + b->size <= 0x100000 || b->iova >= 0x100000 + PG);
	assert_true(b->iova + b->size <= a - PG || b->iova >= a + 3 * PG);
	memset(b->vaddr, 0x2c, 3 * PG);
	assert_int_equal(run_dma(d, b->iova, 3 * PG, 1), 0);
	assert_int_equal(run_dma(d, a, PG, 2), 0);
	assert_int_equal(mem[0], 0x2c);
	assert_int_equal(uvfio_dma_free(d, b), 0);

	assert_int_equal(uvfio_dma_unmap_all(d), 0);
	munmap(mem, 4 * PG);
	close(fd);
	uvfio_device_close(d);
}

static void unmap_must_match(void **state)
{
	(void)state;
	struct uvfio_device *d = open_path(g_srv.path);
	int fd;
	uint8_t *mem = pages(2, true, &fd);
	const uint64_t a = IOVA0 + 0x200000;

	/* Nothing mapped there. */
	assert_int_equal(uvfio_dma_unmap(d, a, PG), -ENOENT);
	assert_int_equal(uvfio_dma_unmap(d, 0x7000000000ull, 2 * PG), -ENOENT);

	assert_int_equal(uvfio_dma_map(d, mem, 2 * PG, a, RW, fd, 0), 0);
	/* Part of a window, or a bigger range, is not the window. */
	assert_int_equal(uvfio_dma_unmap(d, a, PG), -ENOENT);
	assert_int_equal(uvfio_dma_unmap(d, a + PG, PG), -ENOENT);
	assert_int_equal(uvfio_dma_unmap(d, a, 4 * PG), -ENOENT);
	/* ...and the window survived those attempts. */
	memset(mem, 0x4e, PG);
	copy_page(d, a, mem, a + PG, mem + PG);

	assert_int_equal(uvfio_dma_unmap(d, a, 2 * PG), 0);
	assert_int_equal(run_dma(d, a, PG, 1), EFAULT);
	assert_int_equal(uvfio_dma_unmap(d, a, 2 * PG), -ENOENT);
	/* Unmap-all with nothing mapped is fine. */
	assert_int_equal(uvfio_dma_unmap_all(d), 0);

	munmap(mem, 2 * PG);
	close(fd);
	uvfio_device_close(d);
}

static void map_bad_arguments(void **state)
{
	(void)state;
	struct uvfio_device *d = open_path(g_srv.path);
	int fd;
	uint8_t *mem = pages(2, true, &fd);
	const uint64_t a = IOVA0 + 0x300000;

	assert_int_equal(uvfio_dma_map(d, mem, 0, a, RW, fd, 0), -EINVAL);
	assert_int_equal(uvfio_dma_map(d, mem, PG, a, 0, fd, 0), -EINVAL);
	assert_int_equal(uvfio_dma_map(d, mem, PG, UINT64_MAX - 100, RW, fd, 0),
			 -EINVAL);
	assert_int_equal(uvfio_dma_map(d, NULL, PG, a, RW, -1, 0), -EINVAL);
	/* Windows are page granular. */
	assert_int_equal(uvfio_dma_map(d, mem, PG, a + 1, RW, fd, 0), -EINVAL);
	assert_int_equal(uvfio_dma_map(d, mem, 100, a, RW, fd, 0), -EINVAL);
	/* Refused maps leave nothing behind: the proper one works. */
	assert_int_equal(uvfio_dma_map(d, mem, 2 * PG, a, RW, fd, 0), 0);
	memset(mem, 0x19, PG);
	copy_page(d, a, mem, a + PG, mem + PG);
	assert_int_equal(uvfio_dma_unmap(d, a, 2 * PG), 0);

	struct uvfio_dma_buf *b = (struct uvfio_dma_buf *)&b;
	assert_int_equal(uvfio_dma_alloc(d, 0, 0, &b), -EINVAL);
	assert_null(b);
	assert_int_equal(uvfio_dma_free(d, NULL), -EINVAL);
	munmap(mem, 2 * PG);
	close(fd);
	uvfio_device_close(d);
}

static void buffers_after_unmap(void **state)
{
	(void)state;
	struct uvfio_device *d = open_path(g_srv.path);
	struct uvfio_dma_buf *a = NULL, *b = NULL;
	assert_int_equal(uvfio_dma_alloc(d, 2 * PG, 0, &a), 0);
	assert_int_equal(uvfio_dma_alloc(d, 2 * PG, UVFIO_DMA_NO_FD, &b), 0);
	/* A buffer's window unmapped by hand: the device loses it, and
	 * freeing the buffer afterwards is still fine. */
	assert_int_equal(uvfio_dma_unmap(d, a->iova, a->size), 0);
	assert_int_equal(run_dma(d, a->iova, PG, 1), EFAULT);
	assert_int_equal(run_dma(d, b->iova, PG, 1), 0);
	assert_int_equal(uvfio_dma_free(d, a), 0);
	/* After unmap-all, too. */
	assert_int_equal(uvfio_dma_unmap_all(d), 0);
	assert_int_equal(run_dma(d, b->iova, PG, 1), EFAULT);
	assert_int_equal(uvfio_dma_free(d, b), 0);
	/* Freeing twice, or something never allocated, is refused. */
	assert_int_equal(uvfio_dma_free(d, b), -EINVAL);
	struct uvfio_dma_buf fake = { 0 };
	assert_int_equal(uvfio_dma_free(d, &fake), -EINVAL);
	/* New buffers work. */
	assert_int_equal(uvfio_dma_alloc(d, PG, 0, &a), 0);
	memset(a->vaddr, 0x61, PG);
	assert_int_equal(run_dma(d, a->iova, PG, 1), 0);
	assert_int_equal(uvfio_dma_free(d, a), 0);
	uvfio_device_close(d);
}

static void max_dma_maps_enforced(void **state)
{
	(void)state;
	const char *const extra[] = { "--max-dma-maps=10", NULL };
	assert_int_equal(served_start(&g_own, "testdev", extra), 0);
	struct uvfio_device *d = open_path(g_own.path);
	int fd;
	uint8_t *mem = pages(12, true, &fd);

	for (unsigned i = 0; i < 10; i++)
		assert_int_equal(uvfio_dma_map(d, mem + i * PG, PG,
					       IOVA0 + 2ull * i * PG, RW, fd,
					       (uint64_t)i * PG), 0);
	assert_int_equal(uvfio_dma_map(d, mem + 10 * PG, PG, IOVA0 + 20ull * PG,
				       RW, fd, 10 * PG), -ENOSPC);
	assert_int_equal(uvfio_dma_map(d, mem + 10 * PG, PG, IOVA0 + 20ull * PG,
				       RW | UVFIO_DMA_NO_FD, -1, 0), -ENOSPC);
	struct uvfio_dma_buf *b = NULL;
	assert_int_equal(uvfio_dma_alloc(d, PG, 0, &b), -ENOSPC);
	assert_null(b);
	/* The ten work; the refused one is not there. */
	memset(mem + 9 * PG, 0x99, PG);
	copy_page(d, IOVA0 + 18ull * PG, mem + 9 * PG, IOVA0, mem);
	assert_int_equal(run_dma(d, IOVA0 + 20ull * PG, PG, 1), EFAULT);

	/* One freed makes room for one. */
	assert_int_equal(uvfio_dma_unmap(d, IOVA0 + 2ull * PG, PG), 0);
	assert_int_equal(uvfio_dma_map(d, mem + 10 * PG, PG, IOVA0 + 20ull * PG,
				       RW, fd, 10 * PG), 0);
	assert_int_equal(uvfio_dma_map(d, mem + 11 * PG, PG, IOVA0 + 22ull * PG,
				       RW, fd, 11 * PG), -ENOSPC);
	assert_int_equal(uvfio_dma_unmap_all(d), 0);
	assert_int_equal(uvfio_dma_alloc(d, PG, 0, &b), 0);
	assert_int_equal(uvfio_dma_free(d, b), 0);

	munmap(mem, 12 * PG);
	close(fd);
	uvfio_device_close(d);
	assert_int_equal(served_stop(&g_own), 0);
}

/* The soft RLIMIT_NOFILE of process @pid, or -1. */
static long server_nofile(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/limits", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	long soft = -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "Max open files", 14))
			soft = strtol(line + 14, NULL, 10);
	fclose(f);
	return soft;
}

/*
 * The server announces 65535 windows.  Under the usual soft limit of 1024
 * open files it must still take more than 1024 memfd-backed windows, and
 * keep serving them from shared memory.
 */
static void many_fd_windows_under_default_fd_limit(void **state)
{
	(void)state;
	struct rlimit old, low;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	if (low.rlim_cur > 1024)
		low.rlim_cur = 1024;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	int r = served_start(&g_own, "testdev", NULL);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_int_equal(r, 0);
	/* Under valgrind setrlimit is virtual: the server kept the real one. */
	long soft = server_nofile(g_own.pid);
	if (soft < 0 || soft > 1024) {
		fprintf(stderr, "server's open-file limit is %ld, not 1024: skipped\n",
			soft);
		skip();
	}

	const unsigned n = 1500;
	struct uvfio_device *d = open_path(g_own.path);
	int fd;
	uint8_t *mem = pages(n, true, &fd);
	unsigned mapped = 0;
	for (; mapped < n; mapped++) {
		r = uvfio_dma_map(d, mem + mapped * PG, PG,
				  IOVA0 + 2ull * mapped * PG, RW, fd,
				  (uint64_t)mapped * PG);
		if (r != 0)
			break;
	}
	int server_fds = count_process_fds(g_own.pid);
	if (mapped < n)
		fprintf(stderr, "map %u failed: %d (server holds %d fds)\n",
			mapped, r, server_fds);
	assert_int_equal(mapped, n);
	/* The last windows are shared memory, not silently fd-less. */
	uint64_t req0 = uvfio_device_dma_requests(d);
	memset(mem + (n - 1) * PG, 0xe1, PG);
	copy_page(d, IOVA0 + 2ull * (n - 1) * PG, mem + (n - 1) * PG,
		  IOVA0 + 2ull * (n - 2) * PG, mem + (n - 2) * PG);
	assert_int_equal(uvfio_device_dma_requests(d), req0);
	assert_int_equal(uvfio_dma_unmap_all(d), 0);
	munmap(mem, n * PG);
	close(fd);
	uvfio_device_close(d);
	assert_int_equal(served_stop(&g_own), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(map_1000_memfd_pages),
		cmocka_unit_test(map_1000_anonymous_pages),
		cmocka_unit_test(map_overlap_refused),
		cmocka_unit_test(unmap_must_match),
		cmocka_unit_test(map_bad_arguments),
		cmocka_unit_test(buffers_after_unmap),
		cmocka_unit_test_teardown(max_dma_maps_enforced, own_teardown),
		cmocka_unit_test_teardown(many_fd_windows_under_default_fd_limit, own_teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
