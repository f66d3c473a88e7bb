/* SPDX-License-Identifier: BSD-3-Clause */
/* Device, region and IRQ information as testdev describes itself. */
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

static struct served g_srv;
static struct uvfio_device *g_dev;

static int group_setup(void **state)
{
	(void)state;
	if (served_start(&g_srv, "testdev", NULL) < 0)
		return -1;
	struct uvfio_open_opts o = test_open_opts();
	if (uvfio_device_open(g_srv.path, &o, &g_dev) < 0) {
		served_stop(&g_srv);
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	uvfio_device_close(g_dev);
	return served_stop_checked(&g_srv);
}

#define RD VFIO_REGION_INFO_FLAG_READ
#define WR VFIO_REGION_INFO_FLAG_WRITE
#define MM VFIO_REGION_INFO_FLAG_MMAP

static void device_info(void **state)
{
	(void)state;
	struct uvfio_device_info info;
	memset(&info, 0xa5, sizeof(info));
	assert_int_equal(uvfio_device_get_info(g_dev, &info), 0);
	assert_int_equal(info.flags & (VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET),
			 VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET);
	assert_int_equal(info.num_regions, 10);
	assert_int_equal(info.num_irqs, 5);
}

static struct uvfio_region_info region(unsigned index)
{
	struct uvfio_region_info ri;
	memset(&ri, 0xa5, sizeof(ri));
	assert_int_equal(uvfio_region_get_info(g_dev, index, &ri), 0);
	assert_int_equal(ri.index, index);
	return ri;
}

/* Flags without CAPS, which depends on what else the region reports. */
static uint32_t rflags(const struct uvfio_region_info *ri)
{
	return ri->flags & ~(uint32_t)VFIO_REGION_INFO_FLAG_CAPS;
}

static void region_info_bar0(void **state)
{
	(void)state;
	struct uvfio_region_info ri = region(VFIO_PCI_BAR0_REGION_INDEX);
	assert_int_equal(ri.size, TESTDEV_BAR0_SIZE);
	assert_int_equal(rflags(&ri), RD | WR);
	assert_int_equal(ri.nr_areas, 0);
	assert_false(ri.has_type);
}

static void region_info_bar2_mmap(void **state)
{
	(void)state;
	struct uvfio_region_info ri = region(VFIO_PCI_BAR2_REGION_INDEX);
	assert_int_equal(ri.size, TESTDEV_BAR2_SIZE);
	assert_int_equal(rflags(&ri), RD | WR | MM);
	assert_int_equal(ri.nr_areas, 0);
	assert_false(ri.has_type);
}

static void region_info_bar4_sparse(void **state)
{
	(void)state;
	struct uvfio_region_info ri = region(VFIO_PCI_BAR4_REGION_INDEX);
	assert_int_equal(ri.size, TESTDEV_BAR4_SIZE);
	assert_int_equal(rflags(&ri), RD | WR | MM);
	assert_true(ri.flags & VFIO_REGION_INFO_FLAG_CAPS);
	assert_int_equal(ri.nr_areas, 2);
	/* Either order; both areas exactly. */
	unsigned lo = ri.areas[0].offset < ri.areas[1].offset ? 0 : 1;
	assert_int_equal(ri.areas[lo].offset, 0x1000);
	assert_int_equal(ri.areas[lo].size, 0x1000);
	assert_int_equal(ri.areas[!lo].offset, 0x8000);
	assert_int_equal(ri.areas[!lo].size, 0x8000);
	assert_false(ri.has_type);
}

static void region_info_bar5_io(void **state)
{
	(void)state;
	struct uvfio_region_info ri = region(VFIO_PCI_BAR5_REGION_INDEX);
	assert_int_equal(ri.size, TESTDEV_BAR5_SIZE);
	assert_int_equal(rflags(&ri), RD | WR);
	assert_int_equal(ri.nr_areas, 0);
}

static void region_info_absent_bars(void **state)
{
	(void)state;
	/* BAR1 is unused; BAR3 is the upper half of the 64-bit BAR2. */
	static const unsigned absent[] = { VFIO_PCI_BAR1_REGION_INDEX,
					   VFIO_PCI_BAR3_REGION_INDEX,
					   VFIO_PCI_VGA_REGION_INDEX };
	for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
		struct uvfio_region_info ri = region(absent[i]);
		assert_int_equal(ri.size, 0);
		assert_int_equal(ri.flags & (RD | WR | MM), 0);
		assert_int_equal(ri.nr_areas, 0);
		assert_false(ri.has_type);
	}
}

static void region_info_rom(void **state)
{
	(void)state;
	struct uvfio_region_info ri = region(VFIO_PCI_ROM_REGION_INDEX);
	assert_int_equal(ri.size, TESTDEV_ROM_SIZE);
	assert_int_equal(rflags(&ri), RD);
}

static void region_info_config(void **state)
{
	(void)state;
	struct uvfio_region_info ri = region(VFIO_PCI_CONFIG_REGION_INDEX);
	assert_int_equal(ri.size, 256);
	assert_int_equal(rflags(&ri), RD | WR);
}

static void region_info_region9_type(void **state)
{
	(void)state;
	struct uvfio_region_info ri = region(9);
	assert_int_equal(ri.size, TESTDEV_REGION9_SIZE);
	assert_int_equal(rflags(&ri), RD | WR);
	assert_true(ri.flags & VFIO_REGION_INFO_FLAG_CAPS);
	assert_true(ri.has_type);
	assert_int_equal(ri.type, TESTDEV_REGION9_TYPE);
	assert_int_equal(ri.subtype, TESTDEV_REGION9_SUBTYPE);
	assert_int_equal(ri.nr_areas, 0);
}

static void region_info_bad_index(void **state)
{
	(void)state;
	struct uvfio_region_info ri;
	assert_int_equal(uvfio_region_get_info(g_dev, 10, &ri), -EINVAL);
	assert_int_equal(uvfio_region_get_info(g_dev, 1000, &ri), -EINVAL);
	assert_int_equal(uvfio_region_get_info(g_dev, ~0u, &ri), -EINVAL);
	/* And the connection is still good. */
	ri = region(VFIO_PCI_BAR0_REGION_INDEX);
	assert_int_equal(ri.size, TESTDEV_BAR0_SIZE);
}

static void region_info_repeatable(void **state)
{
	(void)state;
	/* Asking again (e.g. before each mmap) gives the same answer. */
	for (int i = 0; i < 50; i++) {
		struct uvfio_region_info a = region(VFIO_PCI_BAR4_REGION_INDEX);
		assert_int_equal(a.nr_areas, 2);
		struct uvfio_region_info b = region(9);
		assert_int_equal(b.type, TESTDEV_REGION9_TYPE);
	}
}

static struct uvfio_irq_info irq(unsigned index)
{
	struct uvfio_irq_info ii;
	memset(&ii, 0xa5, sizeof(ii));
	assert_int_equal(uvfio_irq_get_info(g_dev, index, &ii), 0);
	assert_int_equal(ii.index, index);
	assert_true(ii.flags & VFIO_IRQ_INFO_EVENTFD);
	return ii;
}

static void irq_info_all(void **state)
{
	(void)state;
	struct uvfio_irq_info ii = irq(VFIO_PCI_INTX_IRQ_INDEX);
	assert_int_equal(ii.count, 1);
	assert_int_equal(ii.flags & (VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED),
			 VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED);

	ii = irq(VFIO_PCI_MSI_IRQ_INDEX);
	assert_int_equal(ii.count, 4);
	assert_false(ii.flags & VFIO_IRQ_INFO_AUTOMASKED);

	ii = irq(VFIO_PCI_MSIX_IRQ_INDEX);
	assert_int_equal(ii.count, 8);
	assert_false(ii.flags & VFIO_IRQ_INFO_AUTOMASKED);

	ii = irq(VFIO_PCI_ERR_IRQ_INDEX);
	assert_int_equal(ii.count, 1);

	ii = irq(VFIO_PCI_REQ_IRQ_INDEX);
	assert_int_equal(ii.count, 1);
}

static void irq_info_bad_index(void **state)
{
	(void)state;
	struct uvfio_irq_info ii;
	assert_int_equal(uvfio_irq_get_info(g_dev, 5, &ii), -EINVAL);
	assert_int_equal(uvfio_irq_get_info(g_dev, 100, &ii), -EINVAL);
	ii = irq(VFIO_PCI_MSI_IRQ_INDEX);
	assert_int_equal(ii.count, 4);
}

static void info_null_arguments(void **state)
{
	(void)state;
	assert_int_equal(uvfio_device_get_info(g_dev, NULL), -EINVAL);
	assert_int_equal(uvfio_region_get_info(g_dev, 0, NULL), -EINVAL);
	assert_int_equal(uvfio_irq_get_info(g_dev, 0, NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(device_info),
		cmocka_unit_test(region_info_bar0),
		cmocka_unit_test(region_info_bar2_mmap),
		cmocka_unit_test(region_info_bar4_sparse),
		cmocka_unit_test(region_info_bar5_io),
		cmocka_unit_test(region_info_absent_bars),
		cmocka_unit_test(region_info_rom),
		cmocka_unit_test(region_info_config),
		cmocka_unit_test(region_info_region9_type),
		cmocka_unit_test(region_info_bad_index),
		cmocka_unit_test(region_info_repeatable),
		cmocka_unit_test(irq_info_all),
		cmocka_unit_test(irq_info_bad_index),
		cmocka_unit_test(info_null_arguments),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
