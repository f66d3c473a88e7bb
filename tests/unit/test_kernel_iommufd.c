/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The kernel backend's iommufd path (vfio device cdev + /dev/iommu),
 * which no Debian kernel has: exercised against the fake VFIO of
 * test_kernel_fake.c.  Also that a kernel with cdevs but without
 * /dev/iommu falls back to the group path.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <uvfio/client.h>
#include "test_kernel_fake.h"

#define EDU  "0000:01:00.0"
#define NVME "0000:02:00.0"

static struct fake_kernel fk;

static int setup(void **st)
{
	(void)st;
	fk_init(&fk);
	fk.cdevs = true;
	fk.iommufd = true;
	return 0;
}

static int teardown(void **st)
{
	(void)st;
	fk_fini(&fk);
	return 0;
}

static struct uvfio_device *open_ok(const char *addr)
{
	struct uvfio_device *d = NULL;
	int r = uvfio_device_open(addr, NULL, &d);
	if (r)
		fprintf(stderr, "open %s: %s; calls: %s\n", addr, strerror(-r),
			fk_calls(&fk));
	assert_int_equal(r, 0);
	return d;
}

static void test_open_through_cdev(void **st)
{
	(void)st;
	struct uvfio_device *d = open_ok(EDU);
	static const char *const want[] = {
		"dir_find /sys/bus/pci/devices/0000:01:00.0/vfio-dev",
		"open /dev/iommu", "IOMMU_IOAS_ALLOC",
		"open /dev/vfio/devices/vfio0", "VFIO_DEVICE_BIND_IOMMUFD",
		"VFIO_DEVICE_ATTACH_IOMMUFD_PT 42", "VFIO_DEVICE_GET_INFO", NULL,
	};
	int at = 0;
	for (unsigned i = 0; want[i]; i++) {
		int n = fk_find_call(&fk, want[i], (unsigned)at);
		if (n < 0)
			fail_msg("no %s in: %s", want[i], fk_calls(&fk));
		at = n + 1;
	}
	/* No group, no container. */
	assert_int_equal(fk_find_call(&fk, "readlink", 0), -1);
	assert_int_equal(fk_find_call(&fk, "open /dev/vfio/vfio", 0), -1);
	assert_int_equal(fk_open_fds(&fk, FK_IOMMUFD), 1);

	/* The device itself works as on the group path. */
	assert_int_equal(uvfio_region_write32(d, 0, 0x40, 0x1234), 0);
	uint32_t v;
	assert_int_equal(uvfio_region_read32(d, 0, 0x40, &v), 0);
	assert_int_equal(v, 0x1234);
	uvfio_device_close(d);
	assert_int_equal(fk_open_fds(&fk, FK_IOMMUFD), 0);
	assert_int_equal(fk_open_fds(&fk, FK_DEVICE), 0);
}

static void test_dma_through_ioas(void **st)
{
	(void)st;
	fk.ranges[0] = (struct uvfio_iova_range){ 0x10000000, 0x1fffffff };
	fk.ranges[1] = (struct uvfio_iova_range){ 0x40000000, 0x4fffffff };
	fk.ranges[2] = (struct uvfio_iova_range){ 0x80000000, 0x8fffffff };
	fk.nranges = 3;
	struct uvfio_device *d = open_ok(EDU);
	struct uvfio_iova_range r[4];
	/* The first IOVA_RANGES query offers room for 8: enough here. */
	assert_int_equal(uvfio_dma_iova_ranges(d, r, 4), 3);
	assert_int_equal(r[2].start, 0x80000000);

	struct uvfio_dma_buf *b;
	assert_int_equal(uvfio_dma_alloc(d, 4096, UVFIO_DMA_WRITE, &b), 0);
	assert_int_equal(b->iova, 0x10000000);
	assert_int_equal(fk.nmaps, 1);
	assert_true(fk.maps[0].iommufd);
	assert_int_equal(fk.maps[0].vaddr, (uintptr_t)b->vaddr);
	assert_int_equal(fk.maps[0].flags, IOMMU_IOAS_MAP_FIXED_IOVA |
					   IOMMU_IOAS_MAP_WRITEABLE);
	assert_int_equal(uvfio_dma_free(d, b), 0);
	assert_true(fk_find_call(&fk, "IOMMU_IOAS_UNMAP 0x10000000 0x1000", 0) >= 0);
	assert_int_equal(fk.nmaps, 0);

	/* iommufd tracks dirty pages per HW pagetable: not here. */
	assert_int_equal(uvfio_dma_dirty_start(d), -ENOTSUP);
	uint64_t bm;
	assert_int_equal(uvfio_dma_dirty_report(d, 0x10000000, 4096, 4096, &bm), -ENOTSUP);
	uvfio_device_close(d);
}

static void test_iova_ranges_retry(void **st)
{
	(void)st;
	/* More ranges than the first query has room for: EMSGSIZE, again. */
	for (unsigned i = 0; i < FK_MAX_RANGES; i++)
		fk.ranges[i] = (struct uvfio_iova_range){ (i + 1) * 0x100000ull,
							  (i + 1) * 0x100000ull + 0xfffff };
	fk.nranges = FK_MAX_RANGES;
	struct uvfio_device *d = open_ok(EDU);
	struct uvfio_iova_range r[FK_MAX_RANGES];
	assert_int_equal(uvfio_dma_iova_ranges(d, r, FK_MAX_RANGES), FK_MAX_RANGES);
	assert_int_equal(r[FK_MAX_RANGES - 1].last, FK_MAX_RANGES * 0x100000ull + 0xfffff);
	uvfio_device_close(d);
}

static void test_devices_share_the_ioas(void **st)
{
	(void)st;
	struct uvfio_device *a = open_ok(EDU);
	struct uvfio_device *b = open_ok(NVME);
	assert_int_equal(fk.ioas_allocs, 1);
	assert_int_equal(fk_open_fds(&fk, FK_IOMMUFD), 1);
	struct uvfio_dma_buf *x, *y;
	assert_int_equal(uvfio_dma_alloc(a, 4096, 0, &x), 0);
	assert_int_equal(uvfio_dma_alloc(b, 4096, 0, &y), 0);
	assert_true(x->iova != y->iova);
	uvfio_device_close(a);
	/* a's mapping went with it; b's stayed, and so did the iommufd. */
	assert_int_equal(fk.nmaps, 1);
	assert_int_equal(fk_open_fds(&fk, FK_IOMMUFD), 1);
	uvfio_dma_free(b, y);
	uvfio_device_close(b);
	assert_int_equal(fk_open_fds(&fk, FK_IOMMUFD), 0);
}

static void test_no_dev_iommu_falls_back_to_group(void **st)
{
	(void)st;
	fk.iommufd = false;
	struct uvfio_device *d = open_ok(EDU);
	assert_true(fk_find_call(&fk, "open /dev/iommu", 0) >= 0);
	assert_true(fk_find_call(&fk, "VFIO_GROUP_GET_DEVICE_FD", 0) >= 0);
	assert_int_equal(fk_find_call(&fk, "VFIO_DEVICE_BIND_IOMMUFD", 0), -1);
	assert_int_equal(fk_open_fds(&fk, FK_GROUP), 1);
	uvfio_device_close(d);
}

/* sysfs names a cdev whose node is missing: the group still works. */
static void test_missing_cdev_node_falls_back(void **st)
{
	(void)st;
	fk.cdev_nodes_missing = true;
	struct uvfio_device *d = open_ok(EDU);
	assert_true(fk_find_call(&fk, "open /dev/vfio/devices/vfio0", 0) >= 0);
	assert_true(fk_find_call(&fk, "VFIO_GROUP_GET_DEVICE_FD", 0) >= 0);
	/* The iommufd opened for it is not kept. */
	assert_int_equal(fk_open_fds(&fk, FK_IOMMUFD), 0);
	uvfio_device_close(d);
}

/* A cdev in use elsewhere is an answer, not a reason to try the group. */
static void test_busy_cdev_is_an_error(void **st)
{
	(void)st;
	fk.group_busy = true;
	struct uvfio_device *d = NULL;
	assert_int_equal(uvfio_device_open(EDU, NULL, &d), -EBUSY);
	assert_null(d);
	assert_int_equal(fk_find_call(&fk, "readlink", 0), -1);
	assert_int_equal(fk_open_fds(&fk, FK_IOMMUFD), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_through_cdev, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dma_through_ioas, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iova_ranges_retry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_devices_share_the_ioas, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_dev_iommu_falls_back_to_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_cdev_node_falls_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_busy_cdev_is_an_error, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
