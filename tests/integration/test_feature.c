/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * DEVICE_FEATURE through the public client API against `uvfio-serve
 * testdev` over a real socket: testdev has the SET-only low-power
 * features, whose state it shows at BAR0 TESTDEV_REG_LOW_POWER; every
 * other feature is ENOTTY.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <uvfio/client.h>
#include "devices/models.h"
#include "testutil.h"

#define BAR0 VFIO_PCI_BAR0_REGION_INDEX
#define G VFIO_DEVICE_FEATURE_GET
#define S VFIO_DEVICE_FEATURE_SET
#define P VFIO_DEVICE_FEATURE_PROBE
#define LP_ENTRY 3u
#define LP_WAKE  4u
#define LP_EXIT  5u

static struct served g_srv;

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

static struct uvfio_device *open_dev(void)
{
	struct uvfio_open_opts o = test_open_opts();
	struct uvfio_device *d = NULL;
	assert_int_equal(uvfio_device_open(g_srv.path, &o, &d), 0);
	assert_non_null(d);
	return d;
}

static uint32_t low_power(struct uvfio_device *d)
{
	uint32_t v = 0xdeadbeef;
	assert_int_equal(uvfio_region_read32(d, BAR0, TESTDEV_REG_LOW_POWER,
					     &v), 0);
	return v;
}

static void test_low_power_round_trip(void **state)
{
	(void)state;
	struct uvfio_device *d = open_dev();
	assert_int_equal(low_power(d), 0);

	/* PROBE: SET is supported, GET is not. */
	for (uint32_t i = LP_ENTRY; i <= LP_EXIT; i++) {
		assert_int_equal(uvfio_device_feature(d, P | S | i, NULL, 0), 0);
		assert_int_equal(uvfio_device_feature(d, P | G | i, NULL, 0),
				 -EINVAL);
	}
	assert_int_equal(uvfio_device_feature(d, S | LP_ENTRY, NULL, 0), 0);
	assert_int_equal(low_power(d), 1);
	assert_int_equal(uvfio_device_feature(d, S | LP_EXIT, NULL, 0), 0);
	assert_int_equal(low_power(d), 0);

	/* With wakeup needs an eventfd that cannot come this way. */
	uint8_t wake[8];
	memset(wake, 0, sizeof(wake));
	assert_int_equal(uvfio_device_feature(d, S | LP_WAKE, wake,
					      sizeof(wake)), -EINVAL);
	assert_int_equal(low_power(d), 0);

	/* GET of a SET-only feature. */
	uint8_t buf[16];
	assert_int_equal(uvfio_device_feature(d, G | LP_ENTRY, buf,
					      sizeof(buf)), -EINVAL);
	uvfio_device_close(d);
}

static void test_unknown_and_header(void **state)
{
	(void)state;
	struct uvfio_device *d = open_dev();
	uint8_t buf[16];
	memset(buf, 0, sizeof(buf));
	assert_int_equal(uvfio_device_feature(d, G | 1, buf, 8), -ENOTTY);
	assert_int_equal(uvfio_device_feature(d, P | S | 0, NULL, 0), -ENOTTY);
	assert_int_equal(uvfio_device_feature(d, P | G | 0x1234, NULL, 0),
			 -ENOTTY);
	assert_int_equal(uvfio_device_feature(d, G | S | LP_ENTRY, NULL, 0),
			 -EINVAL);
	assert_int_equal(uvfio_device_feature(d, (1u << 20) | S | LP_ENTRY,
					      NULL, 0), -EINVAL);
	/* The connection is still usable and nothing changed. */
	assert_int_equal(low_power(d), 0);
	uvfio_device_close(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_low_power_round_trip),
		cmocka_unit_test(test_unknown_and_header),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
