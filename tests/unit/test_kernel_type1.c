/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The kernel backend on the group/container (type1) path, through the
 * public API, against the fake VFIO of test_kernel_fake.c: the ioctl
 * sequence of an open, what each call sends, how replies (caps, argsz
 * growth, ENOSPC) are read, sharing of groups and containers, and what
 * close releases.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include <uvfio/client.h>
#include "client/backend.h"
#include "test_kernel_fake.h"

#define EDU  "0000:01:00.0"
#define NVME "0000:02:00.0"

static struct fake_kernel fk;

static int setup(void **st)
{
	(void)st;
	fk_init(&fk);
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

/* Calls named in @want appear in this order (others may come between). */
static void assert_sequence(const char *const *want)
{
	int at = 0;
	for (unsigned i = 0; want[i]; i++) {
		int n = fk_find_call(&fk, want[i], (unsigned)at);
		if (n < 0)
			fail_msg("no %s after call %d in: %s", want[i], at, fk_calls(&fk));
		at = n + 1;
	}
}

/* ---- names ------------------------------------------------------------ */

static void test_pci_address_names(void **st)
{
	(void)st;
	char c[13];
	assert_true(uvfio_is_pci_address("0000:01:00.0", c));
	assert_string_equal(c, "0000:01:00.0");
	assert_true(uvfio_is_pci_address("01:1F.7", c));
	assert_string_equal(c, "0000:01:1f.7");
	assert_true(uvfio_is_pci_address("abcd:ef:00.1", NULL));
	static const char *const bad[] = {
		"0000:01:00.8", "0000:01:20.0", "0000:01:00", "0000-01:00.0",
		"/run/uvfio/edu.sock", "01:00.0 ", "", "000g:01:00.0", "./01:00.0",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(uvfio_is_pci_address(bad[i], NULL));
}

/* ---- opening ---------------------------------------------------------- */

static void test_open_sequence(void **st)
{
	(void)st;
	struct uvfio_device *d = open_ok(EDU);
	static const char *const want[] = {
		"readlink", "open", "VFIO_GROUP_GET_STATUS", "open",
		"VFIO_GET_API_VERSION", "VFIO_CHECK_EXTENSION",
		"VFIO_GROUP_SET_CONTAINER", "VFIO_SET_IOMMU",
		"VFIO_GROUP_GET_DEVICE_FD", "VFIO_DEVICE_GET_INFO", NULL,
	};
	assert_sequence(want);
	assert_int_equal(fk_find_call(&fk, "open /dev/vfio/7", 0) >= 0, 1);
	assert_int_equal(fk_find_call(&fk, "open /dev/vfio/vfio", 0) >= 0, 1);
	/* TYPE1v2 (3) preferred. */
	assert_true(fk_find_call(&fk, "VFIO_SET_IOMMU 3", 0) >= 0);
	/* No cdev: the iommufd path was not tried past the sysfs look. */
	assert_int_equal(fk_find_call(&fk, "open /dev/iommu", 0), -1);

	struct uvfio_device_info di;
	assert_int_equal(uvfio_device_get_info(d, &di), 0);
	assert_int_equal(di.num_regions, 9);
	assert_int_equal(di.num_irqs, 5);
	assert_int_equal(di.flags, VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET);
	/* No vfio-user version on a kernel device. */
	assert_int_equal(uvfio_device_negotiated(d, NULL, NULL, NULL), -ENOTSUP);
	assert_int_equal(fk_open_fds(&fk, FK_DEVICE), 1);
	uvfio_device_close(d);
	/* Device, group and container all closed. */
	assert_int_equal(fk_open_fds(&fk, FK_DEVICE), 0);
	assert_int_equal(fk_open_fds(&fk, FK_GROUP), 0);
	assert_int_equal(fk_open_fds(&fk, FK_CONTAINER), 0);
}

/* A VF token goes to the group as "ADDR vf_token=UUID", cdev or not. */
static void test_open_vf_token_name(void **st)
{
	(void)st;
	fk.cdevs = true;
	struct uvfio_open_opts o = { .vf_token_set = true };
	assert_int_equal(uvfio_uuid_parse("BD8D9D2B-5A5F-4F5A-A211-F591514BA1F3",
					  o.vf_token), 0);
	struct uvfio_device *d = NULL;
	assert_int_equal(uvfio_device_open(EDU, &o, &d), 0);
	assert_true(fk_find_call(&fk, "VFIO_GROUP_GET_DEVICE_FD " EDU
				 " vf_token=bd8d9d2b-5a5f-4f5a-a211-f591514ba1f3",
				 0) >= 0);
	assert_int_equal(fk_find_call(&fk, "open /dev/iommu", 0), -1);
	uvfio_device_close(d);
	/* Without one, the bare address. */
	assert_int_equal(uvfio_device_open(EDU, NULL, &d), 0);
	uvfio_device_close(d);
	fk.cdevs = false;
	assert_int_equal(uvfio_device_open(EDU, NULL, &d), 0);
	assert_true(fk_find_call(&fk, "VFIO_GROUP_GET_DEVICE_FD " EDU, 0) >= 0);
	uvfio_device_close(d);
}

static void test_uuid_text(void **st)
{
	(void)st;
	uint8_t u[16];
	char s[UVFIO_UUID_STRLEN + 1];
	assert_int_equal(uvfio_uuid_parse("00112233-4455-6677-8899-aabbccddeeff", u), 0);
	assert_int_equal(u[0], 0x00);
	assert_int_equal(u[15], 0xff);
	uvfio_uuid_unparse(u, s);
	assert_string_equal(s, "00112233-4455-6677-8899-aabbccddeeff");
	static const char *const bad[] = {
		"", "00112233-4455-6677-8899-aabbccddeef",
		"00112233-4455-6677-8899-aabbccddeeff0",
		"0011223304455-6677-8899-aabbccddeeff",
		"00112233-4455-6677-8899-aabbccddeefg",
		"{0112233-4455-6677-8899-aabbccddeef}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(uvfio_uuid_parse(bad[i], u), -EINVAL);
}

static void test_open_short_address(void **st)
{
	(void)st;
	struct uvfio_device *d = open_ok("01:00.0");
	assert_true(fk_find_call(&fk, "VFIO_GROUP_GET_DEVICE_FD 0000:01:00.0", 0) >= 0);
	uvfio_device_close(d);
}

static void expect_open_error(int err)
{
	struct uvfio_device *d = (void *)1;
	assert_int_equal(uvfio_device_open(EDU, NULL, &d), err);
	assert_null(d);
	assert_int_equal(fk_open_fds(&fk, FK_DEVICE) + fk_open_fds(&fk, FK_GROUP) +
			 fk_open_fds(&fk, FK_CONTAINER), 0);
}

static void test_open_errors(void **st)
{
	(void)st;
	fk.viable = false;
	expect_open_error(-EPERM);
	fk.viable = true;

	fk.group_busy = true;
	expect_open_error(-EBUSY);
	fk.group_busy = false;

	fk.api_version = VFIO_API_VERSION + 1;
	expect_open_error(-ENOTSUP);
	fk.api_version = VFIO_API_VERSION;

	fk.type1 = fk.type1v2 = false;
	expect_open_error(-ENOTSUP);
	fk.type1 = fk.type1v2 = true;

	fk.devs[0].group = -1;   /* not bound to vfio-pci: no group link */
	expect_open_error(-ENODEV);
	fk.devs[0].group = 7;

	struct uvfio_device *d;
	assert_int_equal(uvfio_device_open("0000:09:00.0", NULL, &d), -ENODEV);
	/* Never a socket connect for a PCI address. */
	assert_int_equal(fk_find_call(&fk, "open /dev/vfio/9", 0), -1);
}

static void test_type1_fallback(void **st)
{
	(void)st;
	fk.type1v2 = false;
	struct uvfio_device *d = open_ok(EDU);
	assert_true(fk_find_call(&fk, "VFIO_SET_IOMMU 1", 0) >= 0);
	uvfio_device_close(d);
}

/* ---- groups and containers are shared --------------------------------- */

static void test_shared_group_and_container(void **st)
{
	(void)st;
	fk.devs[1].group = 7;   /* both in group 7 */
	struct uvfio_device *a = open_ok(EDU);
	struct uvfio_device *b = open_ok(NVME);
	assert_int_equal(fk_open_fds(&fk, FK_GROUP), 1);
	assert_int_equal(fk_open_fds(&fk, FK_CONTAINER), 1);
	assert_int_equal(fk_open_fds(&fk, FK_DEVICE), 2);
	uvfio_device_close(a);
	/* The group stays for the other device. */
	assert_int_equal(fk_open_fds(&fk, FK_GROUP), 1);
	uint32_t v;
	assert_int_equal(uvfio_region_read32(b, 0, 0, &v), 0);
	uvfio_device_close(b);
	assert_int_equal(fk_open_fds(&fk, FK_GROUP), 0);
	assert_int_equal(fk_open_fds(&fk, FK_CONTAINER), 0);
}

static void test_two_groups_one_container(void **st)
{
	(void)st;
	fk.ranges[0] = (struct uvfio_iova_range){ 0x100000, 0x1fffff };
	fk.nranges = 1;
	struct uvfio_device *a = open_ok(EDU);
	struct uvfio_device *b = open_ok(NVME);
	assert_int_equal(fk_open_fds(&fk, FK_GROUP), 2);
	assert_int_equal(fk_open_fds(&fk, FK_CONTAINER), 1);
	/* The IOMMU is set once, for the container's first group. */
	int first = fk_find_call(&fk, "VFIO_SET_IOMMU", 0);
	assert_true(first >= 0);
	assert_int_equal(fk_find_call(&fk, "VFIO_SET_IOMMU", (unsigned)first + 1), -1);

	/* One IOVA space: b's allocator keeps clear of a's buffers. */
	struct uvfio_dma_buf *ba, *bb, *ba2;
	assert_int_equal(uvfio_dma_alloc(a, 8192, 0, &ba), 0);
	assert_int_equal(uvfio_dma_alloc(b, 4096, 0, &bb), 0);
	assert_int_equal(uvfio_dma_alloc(a, 4096, 0, &ba2), 0);
	assert_int_equal(ba->iova, 0x100000);
	assert_int_equal(bb->iova, 0x102000);
	assert_int_equal(ba2->iova, 0x103000);
	assert_int_equal(fk.nmaps, 3);
	/* A device cannot unmap what another mapped. */
	assert_int_equal(uvfio_dma_unmap(b, ba->iova, ba->size), -ENOENT);
	assert_int_equal(fk.nmaps, 3);
	/* Closing a unmaps a's buffers only. */
	uvfio_device_close(a);
	assert_int_equal(fk.nmaps, 1);
	assert_int_equal(fk.maps[0].iova, bb->iova);
	assert_int_equal(fk_open_fds(&fk, FK_CONTAINER), 1);
	assert_int_equal(uvfio_dma_free(b, bb), 0);
	assert_int_equal(fk.nmaps, 0);
	uvfio_device_close(b);
}

static void test_incompatible_group_gets_own_container(void **st)
{
	(void)st;
	fk.refuse_join_group = 8;
	struct uvfio_device *a = open_ok(EDU);
	struct uvfio_device *b = open_ok(NVME);
	assert_int_equal(fk_open_fds(&fk, FK_CONTAINER), 2);
	uvfio_device_close(b);
	assert_int_equal(fk_open_fds(&fk, FK_CONTAINER), 1);
	uvfio_device_close(a);
}

/* ---- regions ---------------------------------------------------------- */

static void test_region_info_caps_and_argsz_retry(void **st)
{
	(void)st;
	fk.regions[0].nareas = 2;
	fk.regions[0].areas[0] = (struct vfio_region_sparse_mmap_area){ 0, 0x2000 };
	fk.regions[0].areas[1] = (struct vfio_region_sparse_mmap_area){ 0x4000, 0xc000 };
	fk.regions[0].msix_mappable = true;
	fk.regions[8] = (struct fk_region){ .offset = 0x200000, .size = 0x1000,
		.flags = VFIO_REGION_INFO_FLAG_READ, .has_type = true,
		.type = 3, .subtype = 1 };
	struct uvfio_device *d = open_ok(EDU);
	struct uvfio_region_info ri;
	assert_int_equal(uvfio_region_get_info(d, 0, &ri), 0);
	assert_int_equal(ri.offset, 0x100000);
	assert_int_equal(ri.size, 0x10000);
	assert_true(ri.sparse);
	assert_int_equal(ri.nr_areas, 2);
	assert_int_equal(ri.areas[1].offset, 0x4000);
	assert_int_equal(ri.areas[1].size, 0xc000);
	assert_true(ri.msix_mappable);
	assert_int_equal(uvfio_region_get_info(d, 8, &ri), 0);
	assert_true(ri.has_type);
	assert_int_equal(ri.type, 3);
	assert_int_equal(ri.subtype, 1);
	assert_false(ri.sparse);
	assert_int_equal(uvfio_region_get_info(d, 20, &ri), -EINVAL);
	uvfio_device_close(d);
}

/* More caps than the first try's room: argsz grows to what the kernel asks. */
static void test_region_info_argsz_retry(void **st)
{
	(void)st;
	fk.regions[0].nareas = 16;
	for (unsigned i = 0; i < 16; i++)
		fk.regions[0].areas[i] = (struct vfio_region_sparse_mmap_area){
			i * 0x1000, 0x800 };
	fk.regions[0].has_type = true;
	fk.regions[0].type = 1;
	struct uvfio_device *d = open_ok(EDU);
	struct uvfio_region_info ri;
	assert_int_equal(uvfio_region_get_info(d, 0, &ri), 0);
	assert_int_equal(fk.region_info_calls[0], 2);
	/* 32 fixed + 16 + 16 * 16 sparse + 16 type */
	assert_int_equal(fk.last_region_argsz[0], 32 + 16 + 256 + 16);
	assert_int_equal(ri.nr_areas, 16);
	assert_int_equal(ri.areas[15].offset, 0xf000);
	assert_true(ri.has_type);
	uvfio_device_close(d);
}

static void test_region_rw_at_reported_offset(void **st)
{
	(void)st;
	struct uvfio_device *d = open_ok(EDU);
	assert_int_equal(uvfio_region_write32(d, 0, 0x10, 0xa1b2c3d4), 0);
	uint32_t raw;
	fk_peek(&fk, 0x100000 + 0x10, &raw, 4);
	assert_int_equal(raw, 0xa1b2c3d4);
	const uint8_t cfg[4] = { 0x34, 0x12, 0xe8, 0x11 };
	fk_poke(&fk, 0x3000, cfg, 4);
	uint16_t vendor, device;
	assert_int_equal(uvfio_region_read16(d, VFIO_PCI_CONFIG_REGION_INDEX, 0, &vendor), 0);
	assert_int_equal(uvfio_region_read16(d, VFIO_PCI_CONFIG_REGION_INDEX, 2, &device), 0);
	assert_int_equal(vendor, 0x1234);
	assert_int_equal(device, 0x11e8);
	assert_true(fk_find_call(&fk, "pread 0x3000 2", 0) >= 0);
	/* Outside the region, or a region without the access: refused here
	 * (config space with vfio-pci's EFAULT, a BAR with EINVAL). */
	uint8_t buf[8];
	assert_int_equal(uvfio_region_read(d, VFIO_PCI_CONFIG_REGION_INDEX, 0xfc, buf, 8), -EFAULT);
	assert_int_equal(uvfio_region_read(d, 0, 0x10000 - 4, buf, 8), -EINVAL);
	assert_int_equal(uvfio_region_read(d, 1, 0, buf, 4), -EINVAL);
	assert_int_equal(uvfio_region_read(d, 40, 0, buf, 4), -EINVAL);
	/* A big read comes back whole. */
	static uint8_t big[0x10000];
	assert_int_equal(uvfio_region_read(d, 0, 0, big, sizeof(big)), (ssize_t)sizeof(big));
	assert_int_equal(big[0x10], 0xd4);
	uvfio_device_close(d);
}

static void test_region_mmap_uses_info_offset(void **st)
{
	(void)st;
	struct uvfio_device *d = open_ok(EDU);
	void *p;
	assert_int_equal(uvfio_region_mmap(d, 0, &p), 0);
	assert_true(fk_find_call(&fk, "dup device", 0) >= 0);
	*(volatile uint32_t *)((uint8_t *)p + 0x20) = 0x55aa1234;
	uint32_t raw;
	fk_peek(&fk, 0x100000 + 0x20, &raw, 4);
	assert_int_equal(raw, 0x55aa1234);
	/* Access through the map does not reach the fd. */
	fk_clear_calls(&fk);
	uint32_t v;
	assert_int_equal(uvfio_region_read32(d, 0, 0x20, &v), 0);
	assert_int_equal(v, 0x55aa1234);
	assert_int_equal(fk_find_call(&fk, "pread", 0), -1);
	assert_int_equal(uvfio_region_munmap(d, 0), 0);
	/* Config space is not mmap-able. */
	assert_int_equal(uvfio_region_mmap(d, VFIO_PCI_CONFIG_REGION_INDEX, &p), -ENOTSUP);
	uvfio_device_close(d);
}

/* ---- interrupts ------------------------------------------------------- */

static void test_irq_info_and_set(void **st)
{
	(void)st;
	struct uvfio_device *d = open_ok(EDU);
	struct uvfio_irq_info ii;
	assert_int_equal(uvfio_irq_get_info(d, VFIO_PCI_MSIX_IRQ_INDEX, &ii), 0);
	assert_int_equal(ii.count, 8);
	assert_int_equal(ii.flags, VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE);

	int fds[3] = { 11, -1, 13 };
	assert_int_equal(uvfio_irq_enable(d, VFIO_PCI_MSIX_IRQ_INDEX, 2, 3, fds), 0);
	struct vfio_irq_set s;
	memcpy(&s, fk.last_irq_set, sizeof(s));
	assert_int_equal(s.argsz, sizeof(s) + 3 * sizeof(int32_t));
	assert_int_equal(s.flags, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER);
	assert_int_equal(s.index, VFIO_PCI_MSIX_IRQ_INDEX);
	assert_int_equal(s.start, 2);
	assert_int_equal(s.count, 3);
	int32_t got[3];
	memcpy(got, fk.last_irq_set + sizeof(s), sizeof(got));
	assert_int_equal(got[0], 11);
	assert_int_equal(got[1], -1);
	assert_int_equal(got[2], 13);

	uint8_t bools[2] = { 1, 0 };
	assert_int_equal(uvfio_irq_set(d, VFIO_PCI_MSIX_IRQ_INDEX,
				       VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_TRIGGER,
				       0, 2, bools), 0);
	memcpy(&s, fk.last_irq_set, sizeof(s));
	assert_int_equal(s.argsz, sizeof(s) + 2);
	assert_int_equal(fk.last_irq_set[sizeof(s)], 1);

	assert_int_equal(uvfio_irq_unmask(d, VFIO_PCI_INTX_IRQ_INDEX, 0), 0);
	memcpy(&s, fk.last_irq_set, sizeof(s));
	assert_int_equal(s.argsz, sizeof(s));
	assert_int_equal(s.flags, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK);
	/* The kernel's error comes back as it is. */
	assert_int_equal(uvfio_irq_enable(d, VFIO_PCI_MSIX_IRQ_INDEX, 7, 2, fds), -EINVAL);
	assert_int_equal(uvfio_irq_disable(d, VFIO_PCI_MSIX_IRQ_INDEX), 0);
	uvfio_device_close(d);
}

/* ---- DMA -------------------------------------------------------------- */

static void test_dma_stays_in_iova_ranges(void **st)
{
	(void)st;
	fk.ranges[0] = (struct uvfio_iova_range){ 0x200000, 0x205fff };
	fk.ranges[1] = (struct uvfio_iova_range){ 0x300000, 0x3fffff };
	fk.nranges = 2;
	struct uvfio_device *d = open_ok(EDU);
	struct uvfio_iova_range r[4];
	assert_int_equal(uvfio_dma_iova_ranges(d, r, 4), 2);
	assert_int_equal(r[0].start, 0x200000);
	assert_int_equal(r[1].last, 0x3fffff);
	assert_int_equal(uvfio_dma_iova_ranges(d, r, 1), 2);   /* count all */
	assert_int_equal(uvfio_dma_iova_ranges(d, NULL, 0), 2);

	struct uvfio_dma_buf *a, *b, *c;
	assert_int_equal(uvfio_dma_alloc(d, 4 * 4096, 0, &a), 0);
	assert_int_equal(uvfio_dma_alloc(d, 4 * 4096, UVFIO_DMA_READ, &b), 0);
	assert_int_equal(uvfio_dma_alloc(d, 2 * 4096, 0, &c), 0);
	assert_int_equal(a->iova, 0x200000);
	assert_int_equal(b->iova, 0x300000);   /* does not fit the 2 pages left */
	assert_int_equal(c->iova, 0x204000);
	/* The kernel pins by address: the buffer's. */
	assert_int_equal(fk.nmaps, 3);
	for (unsigned i = 0; i < fk.nmaps; i++) {
		if (fk.maps[i].iova == b->iova) {
			assert_int_equal(fk.maps[i].vaddr, (uintptr_t)b->vaddr);
			assert_int_equal(fk.maps[i].flags, VFIO_DMA_MAP_FLAG_READ);
		}
		if (fk.maps[i].iova == a->iova)
			assert_int_equal(fk.maps[i].flags,
					 VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE);
	}
	/* Caller memory outside the ranges: the kernel refuses it. */
	static uint8_t mem[8192] __attribute__((aligned(4096)));
	assert_int_equal(uvfio_dma_map(d, mem, 4096, 0x100000, UVFIO_DMA_READ, -1, 0),
			 -EINVAL);
	assert_int_equal(uvfio_dma_map(d, mem, 4096, 0x380000, UVFIO_DMA_READ, -1, 0), 0);
	assert_int_equal(uvfio_dma_map(d, mem, 4096, 0x380000, UVFIO_DMA_READ, -1, 0),
			 -EEXIST);
	assert_int_equal(uvfio_dma_unmap(d, 0x380000, 4096), 0);
	assert_int_equal(uvfio_dma_unmap(d, 0x380000, 4096), -ENOENT);
	assert_int_equal(uvfio_dma_free(d, b), 0);
	assert_true(fk_find_call(&fk, "VFIO_IOMMU_UNMAP_DMA 0x300000 0x4000", 0) >= 0);
	/* Full: nothing left that fits. */
	struct uvfio_dma_buf *x;
	assert_int_equal(uvfio_dma_alloc(d, 0x200000, 0, &x), -ENOSPC);
	assert_int_equal(uvfio_dma_unmap_all(d), 0);
	assert_int_equal(fk.nmaps, 0);
	uvfio_dma_free(d, a);
	uvfio_dma_free(d, c);
	uvfio_device_close(d);
}

static void test_dma_no_range_cap_means_anything(void **st)
{
	(void)st;
	struct uvfio_device *d = open_ok(EDU);
	struct uvfio_iova_range r;
	assert_int_equal(uvfio_dma_iova_ranges(d, &r, 1), 1);
	assert_int_equal(r.start, 0);
	assert_int_equal(r.last, UINT64_MAX);
	uvfio_device_close(d);
}

/* Memory given only as an fd is mapped by the backend, for the pinning. */
static void test_dma_map_fd_only(void **st)
{
	(void)st;
	struct uvfio_device *d = open_ok(EDU);
	int mfd = memfd_create("t", MFD_CLOEXEC);
	assert_int_equal(ftruncate(mfd, 8192), 0);
	assert_int_equal(uvfio_dma_map(d, NULL, 4096, 0x500000,
				       UVFIO_DMA_READ | UVFIO_DMA_WRITE, mfd, 4096), 0);
	assert_int_equal(fk.nmaps, 1);
	assert_true(fk.maps[0].vaddr != 0);
	close(mfd);
	/* Still mapped after the caller closed its fd; then unmapped. */
	assert_int_equal(uvfio_dma_unmap(d, 0x500000, 4096), 0);
	assert_int_equal(fk.nmaps, 0);
	uvfio_device_close(d);
}

static void test_dirty_pages(void **st)
{
	(void)st;
	struct uvfio_device *d = open_ok(EDU);
	struct uvfio_dma_buf *b;
	assert_int_equal(uvfio_dma_alloc(d, 3 * 4096, 0, &b), 0);
	uint64_t bm[1] = { 0 };
	/* Not started: the kernel says EINVAL. */
	assert_int_equal(uvfio_dma_dirty_report(d, b->iova, b->size, 4096, bm), -EINVAL);
	assert_int_equal(uvfio_dma_dirty_start(d), 0);
	assert_int_equal(uvfio_dma_dirty_report(d, b->iova, b->size, 4096, bm), 0);
	assert_int_equal(fk.last_dirty.iova, b->iova);
	assert_int_equal(fk.last_dirty.size, b->size);
	assert_int_equal(fk.last_dirty.bitmap.pgsize, 4096);
	assert_int_equal(fk.last_dirty.bitmap.size, 8);   /* 3 pages: one word */
	assert_int_equal(bm[0], 0x5555555555555555ull);
	/* Checked before the kernel is asked. */
	assert_int_equal(uvfio_dma_dirty_report(d, b->iova + 1, 4096, 4096, bm), -EINVAL);
	assert_int_equal(uvfio_dma_dirty_report(d, b->iova, 4096, 3000, bm), -EINVAL);
	assert_int_equal(uvfio_dma_dirty_report(d, b->iova, 4096, 4096, NULL), -EINVAL);
	assert_int_equal(uvfio_dma_dirty_stop(d), 0);
	assert_true(fk_find_call(&fk, "VFIO_IOMMU_DIRTY_PAGES 0x2", 0) >= 0);
	uvfio_dma_free(d, b);
	uvfio_device_close(d);
}

/* ---- reset, hot reset, ioeventfd, features ---------------------------- */

static void test_reset_and_hot_reset_info(void **st)
{
	(void)st;
	fk.hot_reset_count = 12;   /* more than the first try's room */
	struct uvfio_device *d = open_ok(EDU);
	assert_int_equal(uvfio_device_reset(d), 0);
	assert_int_equal(fk.resets, 1);
	struct uvfio_hot_reset_dev devs[4];
	assert_int_equal(uvfio_device_hot_reset_info(d, devs, 4), 12);
	assert_int_equal(devs[0].group_id, 7);
	assert_int_equal(devs[3].bus, 4);
	assert_int_equal(uvfio_device_hot_reset_info(d, NULL, 0), 12);
	/* The first try had room for 8 (argsz 76): ENOSPC; the retry asked
	 * with room for all twelve. */
	assert_true(fk_find_call(&fk, "VFIO_DEVICE_GET_PCI_HOT_RESET_INFO 76", 0) >= 0);
	assert_true(fk_find_call(&fk, "VFIO_DEVICE_GET_PCI_HOT_RESET_INFO 108", 0) >= 0);
	/* Group numbers, and groups 8-18 are not open here. */
	uint32_t flags = 0xdead;
	assert_int_equal(uvfio_device_hot_reset_query(d, &flags, devs, 4), 12);
	assert_int_equal(flags, 0);
	fk.dev_flags &= ~VFIO_DEVICE_FLAGS_RESET;
	assert_int_equal(uvfio_device_reset(d), -EINVAL);
	uvfio_device_close(d);
}

/* The group path proves ownership with the fd of every group listed. */
static void test_hot_reset_through_groups(void **st)
{
	(void)st;
	fk.hot_reset_count = 2;   /* edu (group 7) and nvme (group 8) */
	struct uvfio_device *a = open_ok(EDU);
	uint32_t flags = 0xdead;
	struct uvfio_hot_reset_dev devs[2];
	assert_int_equal(uvfio_device_hot_reset_query(a, &flags, devs, 2), 2);
	assert_int_equal(flags, 0);   /* group ids; group 8 is not ours */
	assert_int_equal(devs[1].group_id, 8);
	assert_int_equal(devs[1].bus, 2);
	fk_clear_calls(&fk);
	assert_int_equal(uvfio_device_hot_reset(a), -EPERM);
	assert_int_equal(fk_find_call(&fk, "VFIO_DEVICE_PCI_HOT_RESET", 0), -1);

	struct uvfio_device *b = open_ok(NVME);
	assert_int_equal(uvfio_device_hot_reset_query(a, &flags, devs, 2), 2);
	assert_int_equal(flags, UVFIO_HOT_RESET_OWNED);
	assert_int_equal(devs[0].group_id, 7);
	fk_clear_calls(&fk);
	assert_int_equal(uvfio_device_hot_reset(a), 0);
	assert_int_equal(fk.hot_resets, 1);
	/* Two group fds: argsz 12 + 2 * 4. */
	assert_true(fk_find_call(&fk, "VFIO_DEVICE_PCI_HOT_RESET 20 2", 0) >= 0);
	assert_int_equal(fk.last_hot_reset_count, 2);
	assert_int_equal(fk.last_hot_reset_groups[0], 7);
	assert_int_equal(fk.last_hot_reset_groups[1], 8);
	/* Nothing stays held: both groups close with their devices. */
	uvfio_device_close(b);
	assert_int_equal(fk_open_fds(&fk, FK_GROUP), 1);
	assert_int_equal(uvfio_device_hot_reset(a), -EPERM);
	assert_int_equal(fk.hot_resets, 1);
	uvfio_device_close(a);
	assert_int_equal(fk_open_fds(&fk, FK_GROUP), 0);
}

/* Two devices of one group: that group's fd once. */
static void test_hot_reset_one_group_once(void **st)
{
	(void)st;
	fk.devs[1].group = 7;
	fk.hot_reset_count = 2;
	struct uvfio_device *a = open_ok(EDU);
	uint32_t flags = 0;
	assert_int_equal(uvfio_device_hot_reset_query(a, &flags, NULL, 0), 2);
	/* nvme is not opened, but its group is ours. */
	assert_int_equal(flags, UVFIO_HOT_RESET_OWNED);
	assert_int_equal(uvfio_device_hot_reset(a), 0);
	assert_int_equal(fk.last_hot_reset_count, 1);
	assert_int_equal(fk.last_hot_reset_groups[0], 7);
	uvfio_device_close(a);
}

static void test_hot_reset_errors(void **st)
{
	(void)st;
	struct uvfio_device *d = open_ok(EDU);
	/* One device, its own group: a reset of just it. */
	assert_int_equal(uvfio_device_hot_reset(d), 0);
	assert_int_equal(fk.last_hot_reset_count, 1);
	/* No bus or slot reset: the kernel's ENODEV, from both calls. */
	fk.hot_reset_count = 0;
	assert_int_equal(uvfio_device_hot_reset_query(d, NULL, NULL, 0), -ENODEV);
	assert_int_equal(uvfio_device_hot_reset(d), -ENODEV);
	assert_int_equal(fk.hot_resets, 1);
	assert_int_equal(uvfio_device_hot_reset(NULL), -EINVAL);
	assert_int_equal(uvfio_device_hot_reset_query(NULL, NULL, NULL, 0), -EINVAL);
	assert_int_equal(uvfio_device_hot_reset_query(d, NULL, NULL, 1), -EINVAL);
	uvfio_device_close(d);
}

static void test_ioeventfd(void **st)
{
	(void)st;
	struct uvfio_device *d = open_ok(EDU);
	assert_int_equal(uvfio_ioeventfd(d, 0, 0x4, 4, 0xcafe, 9), 0);
	/* The device-fd offset: the region's reported offset included. */
	assert_int_equal(fk.last_ioeventfd.offset, 0x100000 + 0x4);
	assert_int_equal(fk.last_ioeventfd.flags, VFIO_DEVICE_IOEVENTFD_32);
	assert_int_equal(fk.last_ioeventfd.data, 0xcafe);
	assert_int_equal(fk.last_ioeventfd.fd, 9);
	assert_int_equal(fk.last_ioeventfd.argsz, sizeof(struct vfio_device_ioeventfd));
	assert_int_equal(uvfio_ioeventfd(d, 0, 0x8, 8, 1, -1), 0);
	assert_int_equal(fk.last_ioeventfd.flags, VFIO_DEVICE_IOEVENTFD_64);
	assert_int_equal(fk.last_ioeventfd.fd, -1);
	assert_int_equal(uvfio_ioeventfd(d, 0, 0x8, 3, 1, 9), -EINVAL);
	assert_int_equal(uvfio_ioeventfd(d, 0, 0xfffe, 4, 1, 9), -EINVAL);
	assert_int_equal(uvfio_ioeventfd(NULL, 0, 0, 4, 1, 9), -EINVAL);
	uvfio_device_close(d);
}

static void test_device_feature(void **st)
{
	(void)st;
	struct uvfio_device *d = open_ok(EDU);
	uint64_t mig = 0;
	assert_int_equal(uvfio_device_feature(d, VFIO_DEVICE_FEATURE_MIGRATION |
					      VFIO_DEVICE_FEATURE_GET, &mig, sizeof(mig)), 0);
	assert_int_equal(mig, VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P);
	struct vfio_device_feature h;
	memcpy(&h, fk.last_feature, sizeof(h));
	assert_int_equal(h.argsz, sizeof(h) + 8);
	uint8_t token[16];
	memset(token, 0xab, sizeof(token));
	assert_int_equal(uvfio_device_feature(d, VFIO_DEVICE_FEATURE_PCI_VF_TOKEN |
					      VFIO_DEVICE_FEATURE_SET, token, 16), -ENOTTY);
	memcpy(&h, fk.last_feature, sizeof(h));
	assert_int_equal(h.argsz, sizeof(h) + 16);
	assert_int_equal(fk.last_feature[sizeof(h) + 15], 0xab);
	assert_int_equal(uvfio_device_feature(d, 1u << 20, NULL, 0), -EINVAL);
	assert_int_equal(uvfio_device_feature(d, VFIO_DEVICE_FEATURE_GET, NULL, 4), -EINVAL);
	uvfio_device_close(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pci_address_names),
		cmocka_unit_test_setup_teardown(test_open_sequence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_vf_token_name, setup, teardown),
		cmocka_unit_test(test_uuid_text),
		cmocka_unit_test_setup_teardown(test_open_short_address, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_type1_fallback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shared_group_and_container, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_groups_one_container, setup, teardown),
		cmocka_unit_test_setup_teardown(test_incompatible_group_gets_own_container, setup, teardown),
		cmocka_unit_test_setup_teardown(test_region_info_caps_and_argsz_retry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_region_info_argsz_retry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_region_rw_at_reported_offset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_region_mmap_uses_info_offset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_irq_info_and_set, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dma_stays_in_iova_ranges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dma_no_range_cap_means_anything, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dma_map_fd_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dirty_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_and_hot_reset_info, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hot_reset_through_groups, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hot_reset_one_group_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hot_reset_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ioeventfd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_feature, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
