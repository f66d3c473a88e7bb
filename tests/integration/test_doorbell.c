/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Device-declared doorbells (DEVICE_GET_REGION_IO_FDS) through the public
 * client API against `uvfio-serve testdev`: BAR0 has one, at
 * TESTDEV_REG_BUMP (4 bytes, datamatch 1), so each wakeup of its eventfd
 * adds 1 to TESTDEV_REG_COUNT, without a message.
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <uvfio/client.h>
#include "devices/models.h"
#include "testutil.h"

#define BAR0 VFIO_PCI_BAR0_REGION_INDEX
#define BAR2 VFIO_PCI_BAR2_REGION_INDEX

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

static uint32_t count(struct uvfio_device *d)
{
	uint32_t v = 0;
	assert_int_equal(uvfio_region_read32(d, BAR0, TESTDEV_REG_COUNT, &v),
			 0);
	return v;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Poll COUNT until it differs from @old (bounded: 2 s). */
static uint32_t wait_change(struct uvfio_device *d, uint32_t old)
{
	uint64_t end = now_ms() + 2000;
	uint32_t v;
	while ((v = count(d)) == old && now_ms() < end)
		poll(NULL, 0, 1);
	return v;
}

static void ring(int fd)
{
	uint64_t one = 1;
	assert_int_equal(write(fd, &one, sizeof(one)), (ssize_t)sizeof(one));
}

static void get_bar0(struct uvfio_device *d, struct uvfio_doorbell *db)
{
	struct uvfio_doorbell out[4];
	memset(out, 0, sizeof(out));
	assert_int_equal(uvfio_region_doorbells(d, BAR0, out, 4), 2);
	/* In the order the model declared them: BUMP, then IRQ. */
	assert_int_equal(out[0].offset, TESTDEV_REG_BUMP);
	assert_int_equal(out[0].size, 4);
	assert_true(out[0].datamatch);
	assert_int_equal(out[0].data, 1);
	assert_true(out[0].fd >= 0);
	assert_int_equal(out[1].offset, TESTDEV_REG_IRQ);
	assert_int_equal(out[1].size, 4);
	assert_true(out[1].datamatch);
	assert_int_equal(out[1].data, TESTDEV_DOORBELL_MSI0);
	assert_true(out[1].fd >= 0 && out[1].fd != out[0].fd);
	close(out[1].fd);
	*db = out[0];
}

static void test_ring_bar0(void **state)
{
	(void)state;
	struct uvfio_device *d = open_dev();
	struct uvfio_doorbell db;
	get_bar0(d, &db);

	for (int i = 0; i < 10; i++) {
		uint32_t before = count(d);
		ring(db.fd);
		uint32_t after = wait_change(d, before);
		assert_int_equal(after, before + 1);
	}

	/* A burst: writes coalesce, at least one and at most all land. */
	uint32_t before = count(d);
	for (int i = 0; i < 1000; i++)
		ring(db.fd);
	uint32_t after = wait_change(d, before);
	/* Let what is in flight land. */
	poll(NULL, 0, 50);
	after = count(d);
	assert_true(after - before >= 1 && after - before <= 1000);

	close(db.fd);
	uvfio_device_close(d);
}

static void test_other_regions_and_errors(void **state)
{
	(void)state;
	struct uvfio_device *d = open_dev();
	struct uvfio_doorbell out[2];
	memset(out, 0, sizeof(out));
	assert_int_equal(uvfio_region_doorbells(d, BAR2, out, 2), 0);
	assert_int_equal(uvfio_region_doorbells(d, 1, out, 2), -EINVAL);
	assert_int_equal(uvfio_region_doorbells(d, 10, out, 2), -EINVAL);
	assert_int_equal(uvfio_region_doorbells(d, UINT32_MAX, out, 2),
			 -EINVAL);
	assert_int_equal(uvfio_region_doorbells(d, BAR0, NULL, 1), -EINVAL);
	/* No room: the count, and nothing taken. */
	assert_int_equal(uvfio_region_doorbells(d, BAR0, NULL, 0), 2);
	assert_int_equal(uvfio_region_doorbells(d, BAR0, out, 1), 2);
	/* The connection is still fine. */
	uint32_t c = count(d);
	assert_int_equal(count(d), c);
	uvfio_device_close(d);
}

/* A former client's copy of the eventfd pokes nothing. */
/* The IRQ doorbell: each ring raises MSI vector 0, without a message. */
static void test_ring_irq(void **state)
{
	(void)state;
	struct uvfio_device *d = open_dev();
	struct uvfio_doorbell out[2];
	assert_int_equal(uvfio_region_doorbells(d, BAR0, out, 2), 2);
	close(out[0].fd);
	int efd = eventfd(0, EFD_CLOEXEC);
	assert_true(efd >= 0);
	assert_int_equal(uvfio_irq_enable(d, VFIO_PCI_MSI_IRQ_INDEX, 0, 1, &efd),
			 0);
	for (int i = 0; i < 5; i++) {
		ring(out[1].fd);
		struct pollfd p = { .fd = efd, .events = POLLIN };
		assert_int_equal(poll(&p, 1, 2000), 1);
		uint64_t v;
		assert_int_equal(read(efd, &v, sizeof(v)), (ssize_t)sizeof(v));
		assert_true(v >= 1);
	}
	assert_int_equal(uvfio_irq_disable(d, VFIO_PCI_MSI_IRQ_INDEX), 0);
	close(efd);
	close(out[1].fd);
	uvfio_device_close(d);
}

static void test_stale_fd_after_reconnect(void **state)
{
	(void)state;
	struct uvfio_device *d = open_dev();
	struct uvfio_doorbell db;
	get_bar0(d, &db);
	uvfio_device_close(d);

	d = open_dev();
	uint32_t before = count(d);
	ring(db.fd);
	poll(NULL, 0, 100);
	assert_int_equal(count(d), before);
	close(db.fd);

	/* The new client's doorbell works. */
	struct uvfio_doorbell nb;
	get_bar0(d, &nb);
	ring(nb.fd);
	assert_int_equal(wait_change(d, before), before + 1);
	close(nb.fd);
	uvfio_device_close(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ring_bar0),
		cmocka_unit_test(test_other_regions_and_errors),
		cmocka_unit_test(test_ring_irq),
		cmocka_unit_test(test_stale_fd_after_reconnect),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
