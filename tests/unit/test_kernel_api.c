/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The calls the kernel backend brought to <uvfio/client.h>, on the
 * vfio-user backend (a real `uvfio-serve edu`): what it does not have
 * is -ENOTSUP, DEVICE_FEATURE travels as command 16, and the IOVA space
 * is all of it.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <cmocka.h>

#include <uvfio/client.h>
#include "testutil.h"

static struct served srv;

static int group_setup(void **st)
{
	(void)st;
	return served_start(&srv, "edu", NULL);
}

static int group_teardown(void **st)
{
	(void)st;
	return served_stop(&srv) == 0 ? 0 : -1;
}

static struct uvfio_device *open_dev(void)
{
	struct uvfio_device *d = NULL;
	assert_int_equal(uvfio_device_open(srv.path, NULL, &d), 0);
	return d;
}

static void test_not_supported_over_vfio_user(void **st)
{
	(void)st;
	struct uvfio_device *d = open_dev();
	struct uvfio_hot_reset_dev hr[2];
	assert_int_equal(uvfio_device_hot_reset_info(d, hr, 2), -ENOTSUP);
	uint32_t flags = 0xdead;
	assert_int_equal(uvfio_device_hot_reset_query(d, &flags, hr, 2), -ENOTSUP);
	assert_int_equal(flags, 0xdead);
	assert_int_equal(uvfio_device_hot_reset(d), -ENOTSUP);
	assert_int_equal(uvfio_dma_dirty_start(d), -ENOTSUP);
	assert_int_equal(uvfio_dma_dirty_stop(d), -ENOTSUP);
	uint64_t bm;
	assert_int_equal(uvfio_dma_dirty_report(d, 0x100000, 4096, 4096, &bm), -ENOTSUP);
	/* Still usable afterwards (edu's BAR0 answers once memory
	 * decoding is on, as on the kernel). */
	assert_int_equal(uvfio_region_write16(d, VFIO_PCI_CONFIG_REGION_INDEX,
					      PCI_COMMAND, PCI_COMMAND_MEMORY), 0);
	uint32_t id = 0;
	assert_int_equal(uvfio_region_read32(d, 0, 0, &id), 0);
	assert_int_equal(id, 0x010000ed);
	uvfio_device_close(d);
}

static void test_device_feature_over_vfio_user(void **st)
{
	(void)st;
	struct uvfio_device *d = open_dev();
	uint64_t mig = 0;
	/* The server has no features: its ENOTTY comes back. */
	assert_int_equal(uvfio_device_feature(d, VFIO_DEVICE_FEATURE_MIGRATION |
					      VFIO_DEVICE_FEATURE_GET, &mig, sizeof(mig)),
			 -ENOTTY);
	assert_int_equal(uvfio_device_feature(d, VFIO_DEVICE_FEATURE_PCI_VF_TOKEN |
					      VFIO_DEVICE_FEATURE_PROBE |
					      VFIO_DEVICE_FEATURE_SET, NULL, 0), -ENOTTY);
	/* GET with SET without PROBE: the server's EINVAL. */
	assert_int_equal(uvfio_device_feature(d, VFIO_DEVICE_FEATURE_GET |
					      VFIO_DEVICE_FEATURE_SET, NULL, 0), -EINVAL);
	/* Unknown flag bits never leave the client. */
	assert_int_equal(uvfio_device_feature(d, 1u << 24, NULL, 0), -EINVAL);
	uint32_t id = 0;
	assert_int_equal(uvfio_region_read32(d, 0, 0, &id), 0);
	uvfio_device_close(d);
}

static void test_iova_space_is_everything(void **st)
{
	(void)st;
	struct uvfio_device *d = open_dev();
	struct uvfio_iova_range r[2];
	assert_int_equal(uvfio_dma_iova_ranges(d, r, 2), 1);
	assert_int_equal(r[0].start, 0);
	assert_int_equal(r[0].last, UINT64_MAX);
	assert_int_equal(uvfio_dma_iova_ranges(d, NULL, 0), 1);
	assert_int_equal(uvfio_dma_iova_ranges(d, NULL, 1), -EINVAL);
	struct uvfio_dma_buf *b;
	assert_int_equal(uvfio_dma_alloc(d, 4096, 0, &b), 0);
	assert_int_equal(b->iova, 0x100000);
	uvfio_dma_free(d, b);
	uvfio_device_close(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_not_supported_over_vfio_user),
		cmocka_unit_test(test_device_feature_over_vfio_user),
		cmocka_unit_test(test_iova_space_is_everything),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
