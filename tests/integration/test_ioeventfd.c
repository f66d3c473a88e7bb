/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Kernel-style ioeventfds (uvfio_ioeventfd(), VFIO_DEVICE_IOEVENTFD's
 * rules) over vfio-user, against real `uvfio-serve` processes: testdev
 * (BAR0 registers, a doorbell at TESTDEV_REG_BUMP with datamatch 1) and
 * capdev (an MSI-X table in BAR2).  The server runs with --verbose and
 * its log goes to a file, so a test can tell whether a write travelled
 * as a REGION_WRITE message or through the device's doorbell.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <uvfio/client.h>
#include "devices/models.h"
#include "testutil.h"

#define BAR0 VFIO_PCI_BAR0_REGION_INDEX
#define BAR2 VFIO_PCI_BAR2_REGION_INDEX
#define MAX_IOEVENTFDS 1000

static struct served g_test, g_cap;
static char g_log[128];

/* Start a server whose stderr (the --verbose log) goes to @log. */
static int start_logged(struct served *s, const char *model, const char *log)
{
	static const char *const verbose[] = { "--verbose", NULL };
	int saved = dup(2);
	int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (saved < 0 || fd < 0)
		return -errno;
	dup2(fd, 2);
	int r = served_start(s, model, log ? verbose : NULL);
	dup2(saved, 2);
	close(saved);
	close(fd);
	return r;
}

static int group_setup(void **state)
{
	(void)state;
	snprintf(g_log, sizeof(g_log), "/tmp/uvfio-ioev-%d.log", (int)getpid());
	if (start_logged(&g_test, "testdev", g_log) < 0)
		return -1;
	return served_start(&g_cap, "capdev", NULL);
}

static int group_teardown(void **state)
{
	(void)state;
	int a = served_stop_checked(&g_test);
	int b = served_stop_checked(&g_cap);
	unlink(g_log);
	return a || b ? -1 : 0;
}

static struct uvfio_device *open_path(const char *path)
{
	struct uvfio_open_opts o = test_open_opts();
	struct uvfio_device *d = NULL;
	assert_int_equal(uvfio_device_open(path, &o, &d), 0);
	assert_non_null(d);
	return d;
}

static int efd(void)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(fd >= 0);
	return fd;
}

static void ring(int fd)
{
	uint64_t one = 1;
	assert_int_equal(write(fd, &one, sizeof(one)), (ssize_t)sizeof(one));
}

static uint32_t rd32(struct uvfio_device *d, uint64_t off)
{
	uint32_t v = 0;
	assert_int_equal(uvfio_region_read32(d, BAR0, off, &v), 0);
	return v;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Poll register @off until it reads @want (bounded: 2 s); the last value. */
static uint32_t wait_for(struct uvfio_device *d, uint64_t off, uint32_t want)
{
	uint64_t end = now_ms() + 2000;
	uint32_t v;
	while ((v = rd32(d, off)) != want && now_ms() < end)
		poll(NULL, 0, 1);
	return v;
}

/* REGION_WRITE messages the testdev server has logged so far. */
static unsigned region_writes(void)
{
	FILE *f = fopen(g_log, "r");
	assert_non_null(f);
	char line[512];
	unsigned n = 0;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, "<- REGION_WRITE ") != NULL;
	fclose(f);
	return n;
}

/* Every VFIO_DEVICE_IOEVENTFD rule, with the kernel's errno. */
static void test_rules(void **state)
{
	(void)state;
	struct uvfio_device *d = open_path(g_test.path);
	int fd = efd();

	/* BAR regions only, the access inside the BAR, sizes 1/2/4/8. */
	assert_int_equal(uvfio_ioeventfd(d, VFIO_PCI_CONFIG_REGION_INDEX, 0, 4,
					 0, fd), -EINVAL);
	assert_int_equal(uvfio_ioeventfd(d, VFIO_PCI_ROM_REGION_INDEX, 0, 4,
					 0, fd), -EINVAL);
	assert_int_equal(uvfio_ioeventfd(d, 9, 0, 4, 0, fd), -EINVAL);
	assert_int_equal(uvfio_ioeventfd(d, UINT32_MAX, 0, 4, 0, fd), -EINVAL);
	assert_int_equal(uvfio_ioeventfd(d, BAR0, 0, 3, 0, fd), -EINVAL);
	assert_int_equal(uvfio_ioeventfd(d, BAR0, 0, 16, 0, fd), -EINVAL);
	assert_int_equal(uvfio_ioeventfd(d, BAR0, 0, 0, 0, fd), -EINVAL);
	struct uvfio_region_info ri;
	assert_int_equal(uvfio_region_get_info(d, BAR0, &ri), 0);
	assert_int_equal(uvfio_ioeventfd(d, BAR0, ri.size - 2, 4, 0, fd),
			 -EINVAL);
	assert_int_equal(uvfio_ioeventfd(d, BAR0, UINT64_MAX - 1, 4, 0, fd),
			 -EINVAL);
	assert_int_equal(uvfio_ioeventfd(d, BAR0, ri.size - 4, 4, 0, fd), 0);
	assert_int_equal(uvfio_ioeventfd(d, BAR0, ri.size - 4, 4, 0, -1), 0);

	/* Key (region, offset, size, data): same key → EEXIST, another
	 * data or size is another key. */
	assert_int_equal(uvfio_ioeventfd(d, BAR0, TESTDEV_REG_SCRATCH, 4, 7,
					 fd), 0);
	int fd2 = efd();
	assert_int_equal(uvfio_ioeventfd(d, BAR0, TESTDEV_REG_SCRATCH, 4, 7,
					 fd2), -EEXIST);
	assert_int_equal(uvfio_ioeventfd(d, BAR0, TESTDEV_REG_SCRATCH, 4, 8,
					 fd2), 0);
	assert_int_equal(uvfio_ioeventfd(d, BAR0, TESTDEV_REG_SCRATCH, 2, 7,
					 fd2), 0);
	/* fd -1 deletes that key only; deleting nothing → ENODEV. */
	assert_int_equal(uvfio_ioeventfd(d, BAR0, TESTDEV_REG_SCRATCH, 4, 7,
					 -1), 0);
	assert_int_equal(uvfio_ioeventfd(d, BAR0, TESTDEV_REG_SCRATCH, 4, 7,
					 -1), -ENODEV);
	assert_int_equal(uvfio_ioeventfd(d, BAR0, TESTDEV_REG_SCRATCH, 4, 9,
					 -1), -ENODEV);
	assert_int_equal(uvfio_ioeventfd(d, BAR0, TESTDEV_REG_SCRATCH, 4, 8,
					 -1), 0);
	assert_int_equal(uvfio_ioeventfd(d, BAR0, TESTDEV_REG_SCRATCH, 2, 7,
					 -1), 0);
	/* Re-adding a deleted key works. */
	assert_int_equal(uvfio_ioeventfd(d, BAR0, TESTDEV_REG_SCRATCH, 4, 7,
					 fd), 0);
	assert_int_equal(uvfio_ioeventfd(d, BAR0, TESTDEV_REG_SCRATCH, 4, 7,
					 -1), 0);

	/* Only eventfds: a pipe → EINVAL, a closed fd → EBADF. */
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(uvfio_ioeventfd(d, BAR0, TESTDEV_REG_SCRATCH, 4, 1,
					 p[1]), -EINVAL);
	close(p[0]);
	close(p[1]);
	assert_int_equal(uvfio_ioeventfd(d, BAR0, TESTDEV_REG_SCRATCH, 4, 1,
					 p[1]), -EBADF);

	close(fd);
	close(fd2);
	/* The connection is still fine. */
	assert_int_equal(rd32(d, TESTDEV_REG_ID), 0x75766669);
	uvfio_device_close(d);
}

/* No ioeventfd may cover the MSI-X table (capdev: BAR2, 16 entries). */
static void test_msix_table_excluded(void **state)
{
	(void)state;
	struct uvfio_device *d = open_path(g_cap.path);
	int fd = efd();
	const uint64_t end = CAPDEV_MSIX_TABLE + CAPDEV_MSIX_VECTORS * 16;
	assert_int_equal(uvfio_ioeventfd(d, BAR2, CAPDEV_MSIX_TABLE, 4, 0, fd),
			 -EINVAL);
	assert_int_equal(uvfio_ioeventfd(d, BAR2, end - 4, 4, 0, fd), -EINVAL);
	assert_int_equal(uvfio_ioeventfd(d, BAR2, end - 4, 8, 0, fd), -EINVAL);
	/* Right after the table (the PBA's page is not the table). */
	assert_int_equal(uvfio_ioeventfd(d, BAR2, end, 4, 0, fd), 0);
	assert_int_equal(uvfio_ioeventfd(d, BAR2, end, 4, 0, -1), 0);
	close(fd);
	uvfio_device_close(d);
}

/*
 * A key the device has no doorbell for: each wakeup becomes one posted
 * REGION_WRITE of the registered data, little-endian, of the registered
 * size.
 */
static void test_write_by_message(void **state)
{
	(void)state;
	struct uvfio_device *d = open_path(g_test.path);
	int fd = efd(), fd2 = efd();
	assert_int_equal(uvfio_region_write32(d, BAR0, TESTDEV_REG_SCRATCH, 0),
			 0);
	assert_int_equal(uvfio_ioeventfd(d, BAR0, TESTDEV_REG_SCRATCH, 4,
					 0xabcd1234, fd), 0);
	assert_int_equal(uvfio_ioeventfd(d, BAR0, TESTDEV_REG_SCRATCH, 2,
					 0x5a5a, fd2), 0);
	unsigned before = region_writes();
	ring(fd);
	assert_int_equal(wait_for(d, TESTDEV_REG_SCRATCH, 0xabcd1234),
			 0xabcd1234);
	ring(fd2);
	assert_int_equal(wait_for(d, TESTDEV_REG_SCRATCH, 0xabcd5a5a),
			 0xabcd5a5a);
	assert_true(region_writes() >= before + 2);

	/* Deleted: ringing does nothing any more. */
	assert_int_equal(uvfio_ioeventfd(d, BAR0, TESTDEV_REG_SCRATCH, 4,
					 0xabcd1234, -1), 0);
	assert_int_equal(uvfio_region_write32(d, BAR0, TESTDEV_REG_SCRATCH, 0),
			 0);
	ring(fd);
	poll(NULL, 0, 100);
	assert_int_equal(rd32(d, TESTDEV_REG_SCRATCH), 0);
	close(fd);
	close(fd2);
	uvfio_device_close(d);
}

/*
 * A key the device offers a doorbell for (BUMP, 4 bytes, data 1): the
 * write goes through the doorbell's eventfd, and no REGION_WRITE
 * message is sent for it.
 */
static void test_write_by_doorbell(void **state)
{
	(void)state;
	struct uvfio_device *d = open_path(g_test.path);
	int fd = efd();
	assert_int_equal(uvfio_ioeventfd(d, BAR0, TESTDEV_REG_BUMP, 4, 1, fd),
			 0);
	unsigned before = region_writes();
	for (int i = 0; i < 5; i++) {
		uint32_t c = rd32(d, TESTDEV_REG_COUNT);
		ring(fd);
		assert_int_equal(wait_for(d, TESTDEV_REG_COUNT, c + 1), c + 1);
	}
	assert_int_equal(region_writes(), before);

	/* Another value at the same place is not the doorbell's write:
	 * it goes by message and adds that value. */
	int fd2 = efd();
	assert_int_equal(uvfio_ioeventfd(d, BAR0, TESTDEV_REG_BUMP, 4, 5, fd2),
			 0);
	uint32_t c = rd32(d, TESTDEV_REG_COUNT);
	ring(fd2);
	assert_int_equal(wait_for(d, TESTDEV_REG_COUNT, c + 5), c + 5);
	assert_true(region_writes() > before);
	close(fd);
	close(fd2);
	uvfio_device_close(d);
}

/* At most 1000 per device, freed by delete and by close. */
static void test_limit_and_teardown(void **state)
{
	(void)state;
	int base = count_open_fds();
	struct uvfio_device *d = open_path(g_test.path);
	int fd = efd();
	for (unsigned i = 0; i < MAX_IOEVENTFDS; i++)
		assert_int_equal(uvfio_ioeventfd(d, BAR0, TESTDEV_REG_SCRATCH,
						 4, i, fd), 0);
	assert_int_equal(uvfio_ioeventfd(d, BAR0, TESTDEV_REG_SCRATCH, 4,
					 MAX_IOEVENTFDS, fd), -ENOSPC);
	/* A delete makes room for one. */
	assert_int_equal(uvfio_ioeventfd(d, BAR0, TESTDEV_REG_SCRATCH, 4, 0,
					 -1), 0);
	assert_int_equal(uvfio_ioeventfd(d, BAR0, TESTDEV_REG_SCRATCH, 4,
					 MAX_IOEVENTFDS, fd), 0);
	/* Ringing the shared eventfd performs one of them. */
	assert_int_equal(uvfio_region_write32(d, BAR0, TESTDEV_REG_SCRATCH,
					      0xffffffff), 0);
	ring(fd);
	uint64_t end = now_ms() + 2000;
	while (rd32(d, TESTDEV_REG_SCRATCH) == 0xffffffff && now_ms() < end)
		poll(NULL, 0, 1);
	assert_true(rd32(d, TESTDEV_REG_SCRATCH) <= MAX_IOEVENTFDS);
	close(fd);
	/* Closing the device tears every one down: no fd of ours is left. */
	uvfio_device_close(d);
	assert_int_equal(count_open_fds(), base);
}

int main(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 4096 &&
	    rl.rlim_max >= 4096) {
		rl.rlim_cur = 4096;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_msix_table_excluded),
		cmocka_unit_test(test_write_by_message),
		cmocka_unit_test(test_write_by_doorbell),
		cmocka_unit_test(test_limit_and_teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
