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
#include <stdlib.h>
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

/* ---- hot reset through the cdev ----------------------------------- */

static char log_text[4096];

static void collect_log(void *opaque, int priority, const char *msg)
{
	(void)opaque;
	(void)priority;
	size_t len = strlen(log_text);
	snprintf(log_text + len, sizeof(log_text) - len, "%s\n", msg);
}

static struct uvfio_device *open_logged(const char *addr)
{
	struct uvfio_open_opts o = { .log = collect_log, .log_level = 3 /* ERR */ };
	struct uvfio_device *d = NULL;
	log_text[0] = '\0';
	assert_int_equal(uvfio_device_open(addr, &o, &d), 0);
	return d;
}

/*
 * Opened through its cdev, the device gets iommufd device ids, not
 * groups: its own, and NOT_OWNED for a device bound to no iommufd of
 * ours, which blocks the reset; once that one is opened too, its id.
 */
static void test_hot_reset_info_device_ids(void **st)
{
	(void)st;
	fk.hot_reset_count = 2;   /* edu and nvme */
	struct uvfio_device *a = open_logged(EDU);
	struct uvfio_hot_reset_dev devs[2];
	uint32_t flags = 0;
	assert_int_equal(uvfio_device_hot_reset_query(a, &flags, devs, 2), 2);
	assert_int_equal(flags, UVFIO_HOT_RESET_DEV_ID);
	assert_int_equal(devs[0].devid, 100);   /* BIND_IOMMUFD's out_devid */
	assert_int_equal(devs[0].bus, 1);
	assert_int_equal(devs[1].devid, UVFIO_HOT_RESET_DEVID_NOT_OWNED);
	assert_int_equal(devs[1].bus, 2);
	assert_int_equal(devs[1].devfn, 0);
	/* Not attempted: the kernel would refuse it. */
	fk_clear_calls(&fk);
	assert_int_equal(uvfio_device_hot_reset(a), -EPERM);
	assert_int_equal(fk_find_call(&fk, "VFIO_DEVICE_PCI_HOT_RESET", 0), -1);
	assert_non_null(strstr(log_text, "0000:02:00.0 is not bound"));

	struct uvfio_device *b = open_ok(NVME);
	assert_int_equal(uvfio_device_hot_reset_query(a, &flags, devs, 2), 2);
	assert_int_equal(flags, UVFIO_HOT_RESET_DEV_ID | UVFIO_HOT_RESET_OWNED);
	assert_int_equal(devs[0].devid, 100);
	assert_int_equal(devs[1].devid, 101);
	uvfio_device_close(b);
	uvfio_device_close(a);
}

/* Not opened, but in the IOMMU group of a device that is: owned (id 0). */
static void test_hot_reset_info_owned_through_group(void **st)
{
	(void)st;
	fk.devs[1].group = 7;
	fk.hot_reset_count = 2;
	struct uvfio_device *a = open_ok(EDU);
	struct uvfio_hot_reset_dev devs[2];
	uint32_t flags = 0;
	assert_int_equal(uvfio_device_hot_reset_query(a, &flags, devs, 2), 2);
	assert_int_equal(flags, UVFIO_HOT_RESET_DEV_ID | UVFIO_HOT_RESET_OWNED);
	assert_int_equal(devs[0].devid, 100);
	assert_int_equal(devs[1].devid, UVFIO_HOT_RESET_DEVID_OWNED);
	/* Such a device needs no proof: the reset goes ahead. */
	assert_int_equal(uvfio_device_hot_reset(a), 0);
	assert_int_equal(fk.hot_resets, 1);
	uvfio_device_close(a);
}

/*
 * More devices than the first query has room for: the kernel answers
 * ENOSPC with the count and no flags; the flags come from the retry.
 */
static void test_hot_reset_info_argsz_retry(void **st)
{
	(void)st;
	fk.hot_reset_count = 12;
	struct uvfio_device *a = open_ok(EDU);
	struct uvfio_device *b = open_ok(NVME);
	struct uvfio_hot_reset_dev devs[12];
	uint32_t flags = 0;
	fk_clear_calls(&fk);
	assert_int_equal(uvfio_device_hot_reset_query(b, &flags, devs, 3), 12);
	int first = fk_find_call(&fk, "VFIO_DEVICE_GET_PCI_HOT_RESET_INFO 76", 0);
	assert_true(first >= 0);
	assert_true(fk_find_call(&fk, "VFIO_DEVICE_GET_PCI_HOT_RESET_INFO 108",
				 (unsigned)first + 1) >= 0);
	/* Entries 2-11 are bound to host drivers: not owned. */
	assert_int_equal(flags, UVFIO_HOT_RESET_DEV_ID);
	assert_int_equal(devs[0].devid, 100);
	assert_int_equal(devs[1].devid, 101);
	assert_int_equal(devs[2].devid, UVFIO_HOT_RESET_DEVID_NOT_OWNED);
	assert_int_equal(devs[2].bus, 3);
	assert_int_equal(uvfio_device_hot_reset_query(b, &flags, devs, 12), 12);
	assert_int_equal(devs[11].devid, UVFIO_HOT_RESET_DEVID_NOT_OWNED);
	assert_int_equal(devs[11].bus, 12);
	assert_int_equal(uvfio_device_hot_reset(b), -EPERM);
	uvfio_device_close(b);
	uvfio_device_close(a);
}

/* The reset itself: a zero-length group fd array, no group opened. */
static void test_hot_reset_through_cdev(void **st)
{
	(void)st;
	fk.hot_reset_count = 2;
	struct uvfio_device *a = open_ok(EDU);
	struct uvfio_device *b = open_ok(NVME);
	fk_clear_calls(&fk);
	assert_int_equal(uvfio_device_hot_reset(b), 0);
	assert_int_equal(fk.hot_resets, 1);
	assert_int_equal(fk.last_hot_reset_count, 0);
	assert_true(fk_find_call(&fk, "VFIO_DEVICE_PCI_HOT_RESET 12 0", 0) >= 0);
	assert_int_equal(fk_find_call(&fk, "open /dev/vfio/7", 0), -1);
	assert_int_equal(fk_find_call(&fk, "readlink", 0), -1);
	assert_int_equal(fk_open_fds(&fk, FK_GROUP), 0);
	/* No bus or slot reset. */
	fk.hot_reset_count = 0;
	assert_int_equal(uvfio_device_hot_reset_query(a, NULL, NULL, 0), -ENODEV);
	assert_int_equal(uvfio_device_hot_reset(a), -ENODEV);
	uvfio_device_close(b);
	uvfio_device_close(a);
}

/*
 * The fake's rules are the kernel's: a cdev takes only an empty group fd
 * array, a group-opened device only a non-empty one, ENOSPC carries no
 * flags.  (What the library tests above lean on.)
 */
static void test_fake_hot_reset_rules(void **st)
{
	(void)st;
	const struct uvfio_sys *s = &fk.sys;
	fk.hot_reset_count = 1;
	int ifd = s->open(s, "/dev/iommu", 0);
	int dfd = s->open(s, "/dev/vfio/devices/vfio0", 0);
	assert_true(ifd >= 0 && dfd >= 0);
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind), .iommufd = ifd };
	assert_int_equal(s->ioctl(s, dfd, VFIO_DEVICE_BIND_IOMMUFD, &bind), 0);

	struct vfio_pci_hot_reset *hr = calloc(1, sizeof(*hr) + sizeof(int32_t));
	assert_non_null(hr);
	hr->argsz = sizeof(*hr) + sizeof(int32_t);
	hr->count = 1;
	hr->group_fds[0] = ifd;
	assert_int_equal(s->ioctl(s, dfd, VFIO_DEVICE_PCI_HOT_RESET, hr), -EINVAL);
	hr->count = 0;
	hr->flags = 1;
	assert_int_equal(s->ioctl(s, dfd, VFIO_DEVICE_PCI_HOT_RESET, hr), -EINVAL);
	hr->flags = 0;
	assert_int_equal(s->ioctl(s, dfd, VFIO_DEVICE_PCI_HOT_RESET, hr), 0);
	free(hr);

	struct vfio_pci_hot_reset_info small = { .argsz = sizeof(small) };
	assert_int_equal(s->ioctl(s, dfd, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, &small),
			 -ENOSPC);
	assert_int_equal(small.count, 1);
	assert_int_equal(small.flags, 0);
	small.argsz = 8;
	assert_int_equal(s->ioctl(s, dfd, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, &small),
			 -EINVAL);
	s->close(s, dfd);
	s->close(s, ifd);

	/* Through the group: count 0 is refused, its group fd taken. */
	fk.iommufd = false;
	struct uvfio_device *d = open_ok(EDU);
	assert_int_equal(uvfio_device_hot_reset(d), 0);
	assert_int_equal(fk.last_hot_reset_count, 1);
	assert_int_equal(fk.last_hot_reset_groups[0], 7);
	uvfio_device_close(d);
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
		cmocka_unit_test_setup_teardown(test_hot_reset_info_device_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hot_reset_info_owned_through_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hot_reset_info_argsz_retry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hot_reset_through_cdev, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fake_hot_reset_rules, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
