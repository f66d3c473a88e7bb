/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Device-declared doorbells in the device core: uvfio_dev_add_doorbell()
 * argument checks, the eventfds made on attach and closed on detach, and
 * dev_watch_fire() draining one and doing its write (little-endian data).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "device/dev.h"
#include <uvfio/pci.h>
#include "testutil.h"

struct fixture {
	struct uvfio_dev *dev;
	unsigned writes;
	uint64_t last_off;
	uint8_t last[8];
	size_t last_len;
	int watched[8];
	unsigned nwatched;
};

static ssize_t bar_write(void *opaque, uint64_t off, const void *buf,
			 size_t count)
{
	struct fixture *f = opaque;
	f->writes++;
	f->last_off = off;
	f->last_len = count;
	memcpy(f->last, buf, count < 8 ? count : 8);
	return (ssize_t)count;
}

static const struct uvfio_region_ops ops = { .write = bar_write };

static int watch(void *opaque, int fd, bool add)
{
	struct fixture *f = opaque;
	if (add) {
		f->watched[f->nwatched++] = fd;
	} else {
		for (unsigned i = 0; i < f->nwatched; i++)
			if (f->watched[i] == fd)
				f->watched[i] = f->watched[--f->nwatched];
	}
	return 0;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	f->dev = uvfio_dev_new("doorbell-test");
	if (!f->dev ||
	    uvfio_dev_add_bar(f->dev, 0, 4096, UVFIO_BAR_MEM32, &ops, f) < 0 ||
	    uvfio_dev_add_bar(f->dev, 2, 4096, UVFIO_BAR_MEM64, &ops, f) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	uvfio_dev_free(f->dev);
	free(f);
	return 0;
}

static void test_add_errors(void **state)
{
	struct fixture *f = *state;
	struct uvfio_dev *d = f->dev;
	assert_int_equal(uvfio_dev_add_doorbell(NULL, 0, 0, 4, false, 0),
			 -EINVAL);
	/* BAR regions only, present ones. */
	assert_int_equal(uvfio_dev_add_doorbell(d, 1, 0, 4, false, 0), -EINVAL);
	assert_int_equal(uvfio_dev_add_doorbell(d, 3, 0, 4, false, 0), -EINVAL);
	assert_int_equal(uvfio_dev_add_doorbell(d, VFIO_PCI_ROM_REGION_INDEX,
						0, 4, false, 0), -EINVAL);
	assert_int_equal(uvfio_dev_add_doorbell(d, VFIO_PCI_CONFIG_REGION_INDEX,
						0, 4, false, 0), -EINVAL);
	assert_int_equal(uvfio_dev_add_doorbell(d, 100, 0, 4, false, 0),
			 -EINVAL);
	/* Sizes 1, 2, 4, 8. */
	static const unsigned bad_sizes[] = { 0, 3, 5, 6, 7, 9, 16 };
	for (size_t i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++)
		assert_int_equal(uvfio_dev_add_doorbell(d, 0, 0, bad_sizes[i],
							false, 0), -EINVAL);
	/* Inside the region. */
	assert_int_equal(uvfio_dev_add_doorbell(d, 0, 4093, 4, false, 0),
			 -EINVAL);
	assert_int_equal(uvfio_dev_add_doorbell(d, 0, 4096, 1, false, 0),
			 -EINVAL);
	assert_int_equal(uvfio_dev_add_doorbell(d, 0, UINT64_MAX - 1, 4, false,
						0), -EINVAL);
	/* Data wider than the size. */
	assert_int_equal(uvfio_dev_add_doorbell(d, 0, 0, 1, true, 0x100),
			 -EINVAL);
	assert_int_equal(uvfio_dev_add_doorbell(d, 0, 0, 4, true,
						0x100000000ull), -EINVAL);
	assert_int_equal(d->ndoorbells, 0);

	assert_int_equal(uvfio_dev_add_doorbell(d, 0, 4092, 4, true,
						0xffffffffu), 0);
	assert_int_equal(uvfio_dev_add_doorbell(d, 2, 0, 8, true, UINT64_MAX),
			 0);
	assert_int_equal(uvfio_dev_add_doorbell(d, 0, 0, 1, false, 0x1234), 0);
	assert_int_equal(d->doorbells[2].data, 0);   /* no datamatch: 0 */
	/* At most 64. */
	for (unsigned i = 3; i < DEV_MAX_DOORBELLS; i++)
		assert_int_equal(uvfio_dev_add_doorbell(d, 0, i * 8, 8, false,
							0), 0);
	assert_int_equal(uvfio_dev_add_doorbell(d, 0, 0, 4, false, 0),
			 -ENOSPC);
	/* None after sealing. */
	assert_int_equal(dev_seal(d), 0);
	assert_int_equal(uvfio_dev_add_doorbell(d, 0, 0, 4, false, 0), -EBUSY);
}

static void test_fire(void **state)
{
	struct fixture *f = *state;
	struct uvfio_dev *d = f->dev;
	assert_int_equal(uvfio_dev_add_doorbell(d, 0, 0x10, 4, true,
						0x11223344), 0);
	assert_int_equal(uvfio_dev_add_doorbell(d, 2, 0x20, 2, false, 0), 0);
	assert_int_equal(dev_seal(d), 0);
	/* The eventfds exist from sealing, watched once a client comes. */
	assert_true(d->doorbells[0].fd >= 0);
	assert_int_equal(f->nwatched, 0);

	struct dev_transport tp = { .opaque = f, .watch = watch };
	dev_attach(d, &tp);
	assert_int_equal(f->nwatched, 2);
	int fd0 = d->doorbells[0].fd, fd1 = d->doorbells[1].fd;
	assert_true(fd0 >= 0 && fd1 >= 0);
	assert_true(fcntl(fd0, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(fd0, F_GETFD) & FD_CLOEXEC);

	/* A stale wakeup (nothing to read) does nothing. */
	dev_watch_fire(d, fd0);
	assert_int_equal(f->writes, 0);

	/* Three writes coalesce into one device write. */
	uint64_t one = 1;
	for (int i = 0; i < 3; i++)
		assert_int_equal(write(fd0, &one, 8), 8);
	dev_watch_fire(d, fd0);
	assert_int_equal(f->writes, 1);
	assert_int_equal(f->last_off, 0x10);
	assert_int_equal(f->last_len, 4);
	const uint8_t le[4] = { 0x44, 0x33, 0x22, 0x11 };
	assert_memory_equal(f->last, le, 4);
	dev_watch_fire(d, fd0);         /* drained */
	assert_int_equal(f->writes, 1);

	assert_int_equal(write(fd1, &one, 8), 8);
	dev_watch_fire(d, fd1);
	assert_int_equal(f->writes, 2);
	assert_int_equal(f->last_off, 0x20);
	assert_int_equal(f->last_len, 2);
	const uint8_t zero[2] = { 0, 0 };
	assert_memory_equal(f->last, zero, 2);

	/* Detach: unwatched, and replaced, so the client's copy is dead. */
	int copy = dup(fd0);
	assert_true(copy >= 0);
	dev_detach(d);
	assert_int_equal(f->nwatched, 0);
	assert_true(d->doorbells[0].fd >= 0);
	assert_true(d->doorbells[1].fd >= 0);

	dev_attach(d, &tp);
	assert_int_equal(f->nwatched, 2);
	assert_int_equal(write(copy, &one, 8), 8);
	dev_watch_fire(d, d->doorbells[0].fd);
	assert_int_equal(f->writes, 2);
	close(copy);
	dev_detach(d);
}

/*
 * A doorbell over the MSI-X table or PBA is refused when the device is
 * sealed (the capability may come after the doorbell); beside them it
 * is fine.  Table: BAR2 0x800, 16 entries (256 bytes); PBA: BAR2 0xc00.
 */
static void check_seal(unsigned region, uint64_t off, unsigned size, int want)
{
	struct fixture f = { 0 };
	struct uvfio_dev *d = uvfio_dev_new("doorbell-msix");
	assert_non_null(d);
	assert_int_equal(uvfio_dev_add_bar(d, 0, 4096, UVFIO_BAR_MEM32, &ops, &f), 0);
	assert_int_equal(uvfio_dev_add_bar(d, 2, 4096, UVFIO_BAR_MEM64, &ops, &f), 0);
	assert_int_equal(uvfio_dev_add_doorbell(d, region, off, size, false, 0), 0);
	assert_true(uvfio_pci_add_msix(uvfio_dev_pci(d), 0, 16, 2, 0x800, 2,
				       0xc00) > 0);
	assert_int_equal(dev_seal(d), want);
	uvfio_dev_free(d);
}

static void test_msix_overlap(void **state)
{
	(void)state;
	check_seal(2, 0x800, 4, -EINVAL);            /* first entry */
	check_seal(2, 0x8fc, 8, -EINVAL);            /* straddles the end */
	check_seal(2, 0x7fc, 8, -EINVAL);            /* straddles the start */
	check_seal(2, 0xc00, 8, -EINVAL);            /* the PBA */
	check_seal(2, 0x7f8, 8, 0);                  /* just before */
	check_seal(2, 0x900, 4, 0);                  /* just after */
	check_seal(0, 0x800, 4, 0);                  /* another BAR */
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_add_errors),
		T(test_fire),
		cmocka_unit_test(test_msix_overlap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
