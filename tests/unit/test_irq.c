/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SET_IRQS on a sealed device with real eventfds (REFERENCE §3):
 * validation, unsupported pairs, INTx auto-masking, disabling exactly
 * [start, start+count), mutual exclusion of INTx/MSI/MSI-X, ERR/REQ.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/pci_regs.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <cmocka.h>

#include "device/dev.h"
#include "testutil.h"

#define INTX VFIO_PCI_INTX_IRQ_INDEX
#define MSI VFIO_PCI_MSI_IRQ_INDEX
#define MSIX VFIO_PCI_MSIX_IRQ_INDEX
#define ERR VFIO_PCI_ERR_IRQ_INDEX
#define REQ VFIO_PCI_REQ_IRQ_INDEX

#define D_NONE VFIO_IRQ_SET_DATA_NONE
#define D_BOOL VFIO_IRQ_SET_DATA_BOOL
#define D_EFD VFIO_IRQ_SET_DATA_EVENTFD
#define A_MASK VFIO_IRQ_SET_ACTION_MASK
#define A_UNMASK VFIO_IRQ_SET_ACTION_UNMASK
#define A_TRIG VFIO_IRQ_SET_ACTION_TRIGGER

struct fixture {
	struct uvfio_dev *dev;
	int resets;
	int base_fds;
};

static int count_reset(void *opaque)
{
	((struct fixture *)opaque)->resets++;
	return 0;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	f->base_fds = count_open_fds();
	f->dev = uvfio_dev_new("irq-test");
	const struct uvfio_pci_ids ids = { .vendor = 0x1234, .device = 0x5678,
					   .irq_pin = 1 };
	if (!f->dev || uvfio_dev_set_ids(f->dev, &ids) < 0 ||
	    uvfio_dev_add_msi(f->dev, 4, UVFIO_MSI_64BIT) < 0 ||
	    uvfio_dev_set_irq_count(f->dev, MSIX, 8) < 0 ||
	    uvfio_dev_set_irq_count(f->dev, ERR, 1) < 0 ||
	    uvfio_dev_set_reset(f->dev, count_reset, f) < 0 ||
	    dev_seal(f->dev) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	uvfio_dev_free(f->dev);
	/* Every eventfd the device took is closed with it. */
	int now = count_open_fds(), base = f->base_fds;
	free(f);
	if (now != base) {
		print_error("%d fds left open after the device was freed\n",
			    now - base);
		return -1;
	}
	return 0;
}

static int efd(void)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

/* Counter of @fd, consumed; 0 when it was not signalled. */
static uint64_t fired(int fd)
{
	uint64_t v = 0;
	if (read(fd, &v, sizeof(v)) != sizeof(v)) {
		assert_int_equal(errno, EAGAIN);
		return 0;
	}
	return v;
}

static bool fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static int set(struct uvfio_dev *dev, uint32_t flags, uint32_t index,
	       uint32_t start, uint32_t count, const void *data, size_t len,
	       int *fds, unsigned nfds)
{
	return dev_set_irqs(dev, flags, index, start, count, data, len, fds, nfds);
}

/*
 * Bind @n eventfds to @index from @start.  out_dev[] receives the fd
 * numbers the device now owns, out_mine[] dups the test keeps.
 */
static void bind_efds(struct uvfio_dev *dev, uint32_t index, uint32_t start,
		 unsigned n, int *out_dev, int *out_mine)
{
	int fds[16];
	assert_true(n <= 16);
	for (unsigned i = 0; i < n; i++) {
		fds[i] = efd();
		out_dev[i] = fds[i];
		out_mine[i] = dup(fds[i]);
		assert_true(out_mine[i] >= 0);
	}
	assert_int_equal(set(dev, D_EFD | A_TRIG, index, start, n, NULL, 0, fds, n), 0);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(fds[i], -1);   /* taken */
}

static void close_all(int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		close(fds[i]);
}

static void test_irq_info(void **state)
{
	struct uvfio_dev *dev = ((struct fixture *)*state)->dev;
	uint32_t flags, count;
	assert_int_equal(dev_irq_info(dev, INTX, &flags, &count), 0);
	assert_int_equal(count, 1);
	assert_int_equal(flags, VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_MASKABLE |
				VFIO_IRQ_INFO_AUTOMASKED);
	assert_int_equal(dev_irq_info(dev, MSI, &flags, &count), 0);
	assert_int_equal(count, 4);
	assert_int_equal(flags, VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE |
				VFIO_IRQ_INFO_MASKABLE);
	assert_int_equal(dev_irq_info(dev, MSIX, &flags, &count), 0);
	assert_int_equal(count, 8);
	assert_int_equal(flags, VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE |
				VFIO_IRQ_INFO_MASKABLE);
	assert_int_equal(dev_irq_info(dev, ERR, &flags, &count), 0);
	assert_int_equal(count, 1);
	assert_int_equal(dev_irq_info(dev, REQ, &flags, &count), 0);
	assert_int_equal(count, 1);
	assert_int_equal(flags, VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE);
	assert_int_equal(dev_irq_info(dev, 5, &flags, &count), -EINVAL);
	assert_int_equal(dev_irq_info(dev, UINT32_MAX, &flags, &count), -EINVAL);
}

struct bad_case {
	const char *what;
	uint32_t flags, index, start, count;
	size_t datalen;
	unsigned nfds;
};

static void test_einval_table(void **state)
{
	struct uvfio_dev *dev = ((struct fixture *)*state)->dev;
	const struct bad_case bad[] = {
		{ "unknown flag bit", D_NONE | A_TRIG | (1u << 6), MSI, 0, 1, 0, 0 },
		{ "high flag bit", D_NONE | A_TRIG | (1u << 31), MSI, 0, 1, 0, 0 },
		{ "no data type", A_TRIG, MSI, 0, 1, 0, 0 },
		{ "no action", D_NONE, MSI, 0, 1, 0, 0 },
		{ "two data types", D_NONE | D_BOOL | A_TRIG, MSI, 0, 1, 1, 0 },
		{ "three data types", D_NONE | D_BOOL | D_EFD | A_TRIG, MSI, 0, 1, 1, 0 },
		{ "two actions", D_NONE | A_MASK | A_UNMASK, INTX, 0, 1, 0, 0 },
		{ "three actions", D_NONE | A_MASK | A_UNMASK | A_TRIG, INTX, 0, 1, 0, 0 },
		{ "nothing", 0, MSI, 0, 1, 0, 0 },
		{ "index 5", D_NONE | A_TRIG, 5, 0, 1, 0, 0 },
		{ "index ~0", D_NONE | A_TRIG, UINT32_MAX, 0, 1, 0, 0 },
		{ "start+count past the end", D_NONE | A_TRIG, MSI, 3, 2, 0, 0 },
		{ "count past the end", D_NONE | A_TRIG, MSI, 0, 5, 0, 0 },
		{ "start past the end", D_NONE | A_TRIG, MSI, 5, 0, 0, 0 },
		{ "start+count wraps", D_NONE | A_TRIG, MSI, 2, UINT32_MAX, 0, 0 },
		{ "start wraps", D_NONE | A_TRIG, MSI, UINT32_MAX, 2, 0, 0 },
		{ "INTx vector 1", D_NONE | A_TRIG, INTX, 1, 1, 0, 0 },
		{ "BOOL data short", D_BOOL | A_TRIG, MSI, 0, 4, 2, 0 },
		{ "BOOL no data", D_BOOL | A_TRIG, MSIX, 0, 1, 0, 0 },
		{ "BOOL mask short", D_BOOL | A_MASK, INTX, 0, 1, 0, 0 },
		{ "EVENTFD fewer fds than count", D_EFD | A_TRIG, MSI, 0, 2, 0, 1 },
		{ "EVENTFD more fds than count", D_EFD | A_TRIG, MSI, 0, 1, 0, 2 },
		{ "fds with DATA_NONE", D_NONE | A_TRIG, MSI, 0, 1, 0, 1 },
		{ "fds with DATA_BOOL", D_BOOL | A_TRIG, MSI, 0, 1, 1, 1 },
		{ "count 0 with MASK", D_NONE | A_MASK, INTX, 0, 0, 0, 0 },
		{ "count 0 with UNMASK", D_NONE | A_UNMASK, INTX, 0, 0, 0, 0 },
	};
	const uint8_t data[8] = { 1, 1, 1, 1, 1, 1, 1, 1 };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int fds[2] = { efd(), efd() };
		int mine[2] = { fds[0], fds[1] };
		int r = set(dev, bad[i].flags, bad[i].index, bad[i].start,
			    bad[i].count, data, bad[i].datalen, fds, bad[i].nfds);
		if (r != -EINVAL)
			fail_msg("%s: %d", bad[i].what, r);
		/* The caller still owns its fds. */
		assert_int_equal(fds[0], mine[0]);
		assert_int_equal(fds[1], mine[1]);
		assert_true(fd_is_open(fds[0]) && fd_is_open(fds[1]));
		close_all(fds, 2);
	}
	for (unsigned i = 0; i < 4; i++)
		assert_false(uvfio_dev_irq_enabled(dev, MSI, i));
}

/* A device without the interrupt (INTx with pin 0) refuses it. */
static void test_absent_index_einval(void **state)
{
	struct uvfio_dev *dev = uvfio_dev_new("no-pin");
	assert_non_null(dev);
	assert_int_equal(dev_seal(dev), 0);
	uint32_t flags, count;
	assert_int_equal(dev_irq_info(dev, INTX, &flags, &count), 0);
	assert_int_equal(count, 0);
	int fd = efd();
	assert_int_equal(set(dev, D_EFD | A_TRIG, INTX, 0, 1, NULL, 0, &fd, 1), -EINVAL);
	assert_int_equal(set(dev, D_NONE | A_TRIG, MSI, 0, 0, NULL, 0, NULL, 0), -EINVAL);
	assert_int_equal(uvfio_dev_irq_trigger(dev, INTX, 0), -EINVAL);
	close(fd);
	uvfio_dev_free(dev);
}

static void test_non_eventfd_refused(void **state)
{
	struct uvfio_dev *dev = ((struct fixture *)*state)->dev;
	int p[2];
	assert_int_equal(pipe(p), 0);
	int fds[2] = { efd(), p[1] };
	int keep[2] = { fds[0], fds[1] };
	assert_int_equal(set(dev, D_EFD | A_TRIG, MSI, 0, 2, NULL, 0, fds, 2), -EINVAL);
	assert_int_equal(fds[0], keep[0]);
	assert_int_equal(fds[1], keep[1]);
	assert_false(uvfio_dev_irq_enabled(dev, MSI, 0));
	close(fds[0]);
	close(p[0]);
	close(p[1]);
}

static void test_enotty(void **state)
{
	struct uvfio_dev *dev = ((struct fixture *)*state)->dev;
	assert_int_equal(set(dev, D_NONE | A_UNMASK, ERR, 0, 1, NULL, 0, NULL, 0), -ENOTTY);
	assert_int_equal(set(dev, D_NONE | A_MASK, REQ, 0, 1, NULL, 0, NULL, 0), -ENOTTY);
	int fd = efd();
	int keep = fd;
	assert_int_equal(set(dev, D_EFD | A_MASK, INTX, 0, 1, NULL, 0, &fd, 1), -ENOTTY);
	assert_int_equal(set(dev, D_EFD | A_MASK, MSI, 0, 1, NULL, 0, &fd, 1), -ENOTTY);
	assert_int_equal(set(dev, D_EFD | A_UNMASK, MSIX, 0, 1, NULL, 0, &fd, 1), -ENOTTY);
	assert_int_equal(fd, keep);
	assert_true(fd_is_open(fd));
	close(fd);
}

/*
 * MSI and MSI-X report MASKABLE: MASK/UNMASK per vector, with DATA_NONE
 * over a range and DATA_BOOL where true; an interrupt raised while masked
 * is delivered once by the UNMASK, a vector not raised stays quiet.
 */
static void check_vec_mask(struct uvfio_dev *dev, uint32_t index, unsigned n)
{
	int owned[8], mine[8];
	bind_efds(dev, index, 0, n, owned, mine);
	/* Mask [1, 3): those are held, the others fire. */
	assert_int_equal(set(dev, D_NONE | A_MASK, index, 1, 2, NULL, 0, NULL, 0), 0);
	for (unsigned v = 0; v < n; v++) {
		assert_int_equal(uvfio_dev_irq_trigger(dev, index, v), 0);
		assert_int_equal(uvfio_dev_irq_trigger(dev, index, v), 0);
		assert_int_equal(fired(mine[v]), (v == 1 || v == 2) ? 0 : 2);
	}
	/* BOOL unmask of vector 2 only: its one pending interrupt arrives. */
	const uint8_t sel[2] = { 0, 1 };
	assert_int_equal(set(dev, D_BOOL | A_UNMASK, index, 1, 2, sel, 2, NULL, 0), 0);
	assert_int_equal(fired(mine[2]), 1);
	assert_int_equal(fired(mine[1]), 0);
	/* Unmasking again delivers nothing more. */
	assert_int_equal(set(dev, D_NONE | A_UNMASK, index, 2, 1, NULL, 0, NULL, 0), 0);
	assert_int_equal(fired(mine[2]), 0);
	/* Vector 1 unmasked: pending one delivered, then it fires normally. */
	assert_int_equal(set(dev, D_NONE | A_UNMASK, index, 1, 1, NULL, 0, NULL, 0), 0);
	assert_int_equal(fired(mine[1]), 1);
	assert_int_equal(uvfio_dev_irq_trigger(dev, index, 1), 0);
	assert_int_equal(fired(mine[1]), 1);
	/* A masked vector that was never raised stays quiet on UNMASK. */
	assert_int_equal(set(dev, D_NONE | A_MASK, index, 0, 1, NULL, 0, NULL, 0), 0);
	assert_int_equal(set(dev, D_NONE | A_UNMASK, index, 0, 1, NULL, 0, NULL, 0), 0);
	assert_int_equal(fired(mine[0]), 0);
	/* BOOL mask with a false entry leaves that vector unmasked. */
	const uint8_t sel2[2] = { 1, 0 };
	assert_int_equal(set(dev, D_BOOL | A_MASK, index, 0, 2, sel2, 2, NULL, 0), 0);
	assert_int_equal(uvfio_dev_irq_trigger(dev, index, 0), 0);
	assert_int_equal(uvfio_dev_irq_trigger(dev, index, 1), 0);
	assert_int_equal(fired(mine[0]), 0);
	assert_int_equal(fired(mine[1]), 1);
	/* Loopback TRIGGER is not the device raising: it ignores the mask. */
	assert_int_equal(set(dev, D_NONE | A_TRIG, index, 0, 1, NULL, 0, NULL, 0), 0);
	assert_int_equal(fired(mine[0]), 1);
	/* Disabling the index forgets masks and pending interrupts. */
	assert_int_equal(set(dev, D_NONE | A_TRIG, index, 0, 0, NULL, 0, NULL, 0), 0);
	close_all(mine, n);
	bind_efds(dev, index, 0, n, owned, mine);
	assert_int_equal(uvfio_dev_irq_trigger(dev, index, 0), 0);
	assert_int_equal(fired(mine[0]), 1);
	/* Out-of-range masks are refused like any other range. */
	assert_int_equal(set(dev, D_NONE | A_MASK, index, n - 1, 2, NULL, 0, NULL, 0), -EINVAL);
	assert_int_equal(set(dev, D_NONE | A_MASK, index, 0, 0, NULL, 0, NULL, 0), -EINVAL);
	assert_int_equal(set(dev, D_BOOL | A_MASK, index, 0, 2, sel, 1, NULL, 0), -EINVAL);
	assert_int_equal(set(dev, D_NONE | A_TRIG, index, 0, 0, NULL, 0, NULL, 0), 0);
	close_all(mine, n);
}

static void test_msi_vector_mask(void **state)
{
	check_vec_mask(((struct fixture *)*state)->dev, MSI, 4);
}

static void test_msix_vector_mask(void **state)
{
	check_vec_mask(((struct fixture *)*state)->dev, MSIX, 8);
}

static void test_intx_automask(void **state)
{
	struct uvfio_dev *dev = ((struct fixture *)*state)->dev;
	int owned, mine;
	bind_efds(dev, INTX, 0, 1, &owned, &mine);
	assert_true(uvfio_dev_irq_enabled(dev, INTX, 0));
	assert_int_equal(uvfio_dev_irq_trigger(dev, INTX, 0), 0);
	assert_int_equal(fired(mine), 1);
	/* Auto-masked: a second assertion does not signal... */
	assert_int_equal(uvfio_dev_irq_trigger(dev, INTX, 0), 0);
	assert_int_equal(fired(mine), 0);
	/* ...until the driver unmasks: still pending, so it fires again. */
	assert_int_equal(set(dev, D_NONE | A_UNMASK, INTX, 0, 1, NULL, 0, NULL, 0), 0);
	assert_int_equal(fired(mine), 1);
	/* Fired again means masked again; nothing pending now. */
	assert_int_equal(uvfio_dev_irq_trigger(dev, INTX, 0), 0);
	assert_int_equal(fired(mine), 0);
	assert_int_equal(set(dev, D_NONE | A_UNMASK, INTX, 0, 1, NULL, 0, NULL, 0), 0);
	assert_int_equal(fired(mine), 1);
	assert_int_equal(set(dev, D_NONE | A_UNMASK, INTX, 0, 1, NULL, 0, NULL, 0), 0);
	assert_int_equal(fired(mine), 0);
	/* Unmasked and idle: the next assertion fires at once. */
	assert_int_equal(uvfio_dev_irq_trigger(dev, INTX, 0), 0);
	assert_int_equal(fired(mine), 1);
	close(mine);
}

static void test_intx_explicit_mask(void **state)
{
	struct uvfio_dev *dev = ((struct fixture *)*state)->dev;
	int owned, mine;
	bind_efds(dev, INTX, 0, 1, &owned, &mine);
	const uint8_t no = 0, yes = 1;
	assert_int_equal(set(dev, D_NONE | A_MASK, INTX, 0, 1, NULL, 0, NULL, 0), 0);
	assert_int_equal(uvfio_dev_irq_trigger(dev, INTX, 0), 0);
	assert_int_equal(fired(mine), 0);
	/* BOOL false is a no-op. */
	assert_int_equal(set(dev, D_BOOL | A_UNMASK, INTX, 0, 1, &no, 1, NULL, 0), 0);
	assert_int_equal(fired(mine), 0);
	assert_int_equal(set(dev, D_BOOL | A_UNMASK, INTX, 0, 1, &yes, 1, NULL, 0), 0);
	assert_int_equal(fired(mine), 1);
	/* Unmask, then mask with BOOL true: an assertion stays pending. */
	assert_int_equal(set(dev, D_NONE | A_UNMASK, INTX, 0, 1, NULL, 0, NULL, 0), 0);
	assert_int_equal(set(dev, D_BOOL | A_MASK, INTX, 0, 1, &no, 1, NULL, 0), 0);
	assert_int_equal(uvfio_dev_irq_trigger(dev, INTX, 0), 0);
	assert_int_equal(fired(mine), 1);   /* BOOL false did not mask */
	assert_int_equal(set(dev, D_NONE | A_UNMASK, INTX, 0, 1, NULL, 0, NULL, 0), 0);
	assert_int_equal(set(dev, D_BOOL | A_MASK, INTX, 0, 1, &yes, 1, NULL, 0), 0);
	assert_int_equal(uvfio_dev_irq_trigger(dev, INTX, 0), 0);
	assert_int_equal(fired(mine), 0);
	close(mine);
}

/* NONE|TRIGGER count 1 is the loopback test: it signals like the device. */
static void test_intx_loopback(void **state)
{
	struct uvfio_dev *dev = ((struct fixture *)*state)->dev;
	int owned, mine;
	bind_efds(dev, INTX, 0, 1, &owned, &mine);
	assert_int_equal(set(dev, D_NONE | A_TRIG, INTX, 0, 1, NULL, 0, NULL, 0), 0);
	assert_int_equal(fired(mine), 1);
	const uint8_t yes = 1;
	assert_int_equal(set(dev, D_NONE | A_UNMASK, INTX, 0, 1, NULL, 0, NULL, 0), 0);
	assert_int_equal(set(dev, D_BOOL | A_TRIG, INTX, 0, 1, &yes, 1, NULL, 0), 0);
	assert_int_equal(fired(mine), 1);
	close(mine);
}

static void check_disable_range(struct uvfio_dev *dev, uint32_t index,
				uint32_t nvec, uint32_t bstart, uint32_t bcount,
				uint32_t dstart, uint32_t dcount)
{
	int owned[16], mine[16];
	bind_efds(dev, index, bstart, bcount, owned, mine);
	/* EVENTFD with no fds de-assigns [dstart, dstart+dcount). */
	assert_int_equal(set(dev, D_EFD | A_TRIG, index, dstart, dcount, NULL, 0,
			     NULL, 0), 0);
	for (uint32_t v = 0; v < nvec; v++) {
		bool bound = v >= bstart && v < bstart + bcount;
		bool gone = v >= dstart && v < dstart + dcount;
		bool want = bound && !gone;
		if (uvfio_dev_irq_enabled(dev, index, v) != want)
			fail_msg("index %u vector %u: enabled %d, want %d", index, v,
				 !want, want);
		int r = uvfio_dev_irq_trigger(dev, index, v);
		assert_int_equal(r, want ? 0 : -ENOENT);
		if (!bound)
			continue;
		unsigned k = v - bstart;
		/* Exactly the disabled vectors' fds were closed. */
		if (fd_is_open(owned[k]) != want)
			fail_msg("index %u vector %u: fd %s", index, v,
				 want ? "closed" : "still open");
		assert_int_equal(fired(mine[k]), want ? 1 : 0);
	}
	close_all(mine, bcount);
}

static void test_disable_exact_range_msi(void **state)
{
	/* Bind 0-3, drop 1-2: 0 and 3 keep working. */
	check_disable_range(((struct fixture *)*state)->dev, MSI, 4, 0, 4, 1, 2);
}

static void test_disable_exact_range_msix(void **state)
{
	/* Bind 2-5, drop 3-4 (start + count = 5 > count = 2). */
	check_disable_range(((struct fixture *)*state)->dev, MSIX, 8, 2, 4, 3, 2);
}

static void test_disable_exact_range_msix_tail(void **state)
{
	/* Bind 0-7, drop 6-7. */
	check_disable_range(((struct fixture *)*state)->dev, MSIX, 8, 0, 8, 6, 2);
}

static void test_disable_whole_index(void **state)
{
	struct uvfio_dev *dev = ((struct fixture *)*state)->dev;
	int owned[8], mine[8];
	bind_efds(dev, MSIX, 0, 8, owned, mine);
	assert_int_equal(set(dev, D_NONE | A_TRIG, MSIX, 0, 0, NULL, 0, NULL, 0), 0);
	for (unsigned v = 0; v < 8; v++) {
		assert_false(uvfio_dev_irq_enabled(dev, MSIX, v));
		assert_false(fd_is_open(owned[v]));
		assert_int_equal(uvfio_dev_irq_trigger(dev, MSIX, v), -ENOENT);
		assert_int_equal(fired(mine[v]), 0);
	}
	close_all(mine, 8);
	/* Disabled, MSI may now be enabled. */
	bind_efds(dev, MSI, 0, 1, owned, mine);
	close(mine[0]);
}

static void test_msi_signal_and_bool(void **state)
{
	struct uvfio_dev *dev = ((struct fixture *)*state)->dev;
	int owned[4], mine[4];
	bind_efds(dev, MSI, 0, 4, owned, mine);
	/* MSI is edge triggered: no masking between assertions. */
	for (int k = 0; k < 3; k++)
		assert_int_equal(uvfio_dev_irq_trigger(dev, MSI, 2), 0);
	assert_int_equal(fired(mine[2]), 3);
	const uint8_t sel[4] = { 1, 0, 1, 0 };
	assert_int_equal(set(dev, D_BOOL | A_TRIG, MSI, 0, 4, sel, 4, NULL, 0), 0);
	assert_int_equal(fired(mine[0]), 1);
	assert_int_equal(fired(mine[1]), 0);
	assert_int_equal(fired(mine[2]), 1);
	assert_int_equal(fired(mine[3]), 0);
	assert_int_equal(set(dev, D_NONE | A_TRIG, MSI, 1, 2, NULL, 0, NULL, 0), 0);
	assert_int_equal(fired(mine[0]), 0);
	assert_int_equal(fired(mine[1]), 1);
	assert_int_equal(fired(mine[2]), 1);
	assert_int_equal(fired(mine[3]), 0);
	assert_int_equal(uvfio_dev_irq_trigger(dev, MSI, 4), -EINVAL);
	close_all(mine, 4);
}

static void test_replace_trigger(void **state)
{
	struct uvfio_dev *dev = ((struct fixture *)*state)->dev;
	int o1, m1, o2, m2;
	bind_efds(dev, MSI, 1, 1, &o1, &m1);
	bind_efds(dev, MSI, 1, 1, &o2, &m2);
	/* The old eventfd was released; the new one is used. */
	assert_int_not_equal(o1, o2);
	assert_false(fd_is_open(o1));
	assert_true(fd_is_open(o2));
	assert_int_equal(uvfio_dev_irq_trigger(dev, MSI, 1), 0);
	assert_int_equal(fired(m1), 0);
	assert_int_equal(fired(m2), 1);
	close(m1);
	close(m2);
}

static void test_mutual_exclusion(void **state)
{
	struct uvfio_dev *dev = ((struct fixture *)*state)->dev;
	int oi, mi, om[2], mm[2];
	bind_efds(dev, INTX, 0, 1, &oi, &mi);
	int fds[2] = { efd(), efd() };
	int keep[2] = { fds[0], fds[1] };
	assert_int_equal(set(dev, D_EFD | A_TRIG, MSI, 0, 2, NULL, 0, fds, 2), -EINVAL);
	assert_int_equal(set(dev, D_EFD | A_TRIG, MSIX, 0, 2, NULL, 0, fds, 2), -EINVAL);
	assert_int_equal(fds[0], keep[0]);
	assert_int_equal(fds[1], keep[1]);
	assert_false(uvfio_dev_irq_enabled(dev, MSI, 0));
	/* INTx still works. */
	assert_int_equal(uvfio_dev_irq_trigger(dev, INTX, 0), 0);
	assert_int_equal(fired(mi), 1);
	/* ERR and REQ are not part of the exclusion. */
	int oe, me;
	bind_efds(dev, ERR, 0, 1, &oe, &me);
	/* Disable INTx: MSI is allowed now, and then excludes the others. */
	assert_int_equal(set(dev, D_NONE | A_TRIG, INTX, 0, 0, NULL, 0, NULL, 0), 0);
	bind_efds(dev, MSI, 0, 2, om, mm);
	int f1 = efd(), keep1 = f1;
	assert_int_equal(set(dev, D_EFD | A_TRIG, INTX, 0, 1, NULL, 0, &f1, 1), -EINVAL);
	assert_int_equal(set(dev, D_EFD | A_TRIG, MSIX, 0, 1, NULL, 0, &f1, 1), -EINVAL);
	assert_int_equal(f1, keep1);
	/* Rebinding within the active index is fine. */
	assert_int_equal(set(dev, D_EFD | A_TRIG, MSI, 2, 1, NULL, 0, &f1, 1), 0);
	assert_int_equal(f1, -1);
	close(keep1);
	close_all(fds, 2);
	close_all(mm, 2);
	close(mi);
	close(me);
}

static void test_err_req_triggers(void **state)
{
	struct uvfio_dev *dev = ((struct fixture *)*state)->dev;
	int oe, me;
	bind_efds(dev, ERR, 0, 1, &oe, &me);
	assert_int_equal(set(dev, D_NONE | A_TRIG, ERR, 0, 1, NULL, 0, NULL, 0), 0);
	assert_int_equal(fired(me), 1);
	assert_int_equal(uvfio_dev_irq_trigger(dev, ERR, 0), 0);
	assert_int_equal(fired(me), 1);
	/* count 0 releases it. */
	assert_int_equal(set(dev, D_NONE | A_TRIG, ERR, 0, 0, NULL, 0, NULL, 0), 0);
	assert_false(fd_is_open(oe));
	assert_int_equal(uvfio_dev_irq_trigger(dev, ERR, 0), -ENOENT);
	close(me);
}

/* Kernel: DATA_NONE on ERR/REQ with no eventfd installed is EINVAL. */
static void test_req_none_without_eventfd_einval(void **state)
{
	struct uvfio_dev *dev = ((struct fixture *)*state)->dev;
	assert_int_equal(set(dev, D_NONE | A_TRIG, REQ, 0, 1, NULL, 0, NULL, 0), -EINVAL);
	const uint8_t yes = 1;
	assert_int_equal(set(dev, D_BOOL | A_TRIG, ERR, 0, 1, &yes, 1, NULL, 0), -EINVAL);
}

/* REFERENCE §3: INTx UNMASK with DATA_EVENTFD installs an unmask eventfd. */
static void test_intx_unmask_eventfd_accepted(void **state)
{
	struct uvfio_dev *dev = ((struct fixture *)*state)->dev;
	int owned, mine;
	bind_efds(dev, INTX, 0, 1, &owned, &mine);
	int u = efd();
	int r = set(dev, D_EFD | A_UNMASK, INTX, 0, 1, NULL, 0, &u, 1);
	int taken = u == -1;
	if (u >= 0)
		close(u);
	close(mine);
	assert_int_equal(r, 0);
	assert_true(taken);
}

/* REFERENCE §3: COMMAND's INTx disable and the SET_IRQS mask are one state. */
static void test_command_intx_disable_masks_intx(void **state)
{
	struct uvfio_dev *dev = ((struct fixture *)*state)->dev;
	int owned, mine;
	bind_efds(dev, INTX, 0, 1, &owned, &mine);
	uint16_t cmd = PCI_COMMAND_INTX_DISABLE;
	assert_int_equal(dev_region_access(dev, VFIO_PCI_CONFIG_REGION_INDEX,
					   PCI_COMMAND, &cmd, 2, true), 2);
	assert_int_equal(uvfio_dev_irq_trigger(dev, INTX, 0), 0);
	uint64_t while_disabled = fired(mine);
	cmd = 0;
	assert_int_equal(dev_region_access(dev, VFIO_PCI_CONFIG_REGION_INDEX,
					   PCI_COMMAND, &cmd, 2, true), 2);
	/* Re-enabled while still asserted: it fires now. */
	uint64_t after_enable = fired(mine);
	close(mine);
	assert_int_equal(while_disabled, 0);
	assert_int_equal(after_enable, 1);
}

static void test_reset_disables_interrupts(void **state)
{
	struct fixture *f = *state;
	int om[4], mm[4], oe, me;
	bind_efds(f->dev, MSI, 0, 4, om, mm);
	bind_efds(f->dev, ERR, 0, 1, &oe, &me);
	assert_int_equal(dev_reset(f->dev), 0);
	assert_int_equal(f->resets, 1);
	for (unsigned v = 0; v < 4; v++) {
		assert_false(uvfio_dev_irq_enabled(f->dev, MSI, v));
		assert_false(fd_is_open(om[v]));
	}
	/* The error channel survives a reset. */
	assert_true(uvfio_dev_irq_enabled(f->dev, ERR, 0));
	assert_int_equal(uvfio_dev_irq_trigger(f->dev, ERR, 0), 0);
	assert_int_equal(fired(me), 1);
	/* INTx can be enabled right after. */
	int oi, mi;
	bind_efds(f->dev, INTX, 0, 1, &oi, &mi);
	close_all(mm, 4);
	close(me);
	close(mi);
}

static void test_detach_releases_everything(void **state)
{
	struct fixture *f = *state;
	int base = count_open_fds();
	int om[8], mm[8], oe, me;
	bind_efds(f->dev, MSIX, 0, 8, om, mm);
	bind_efds(f->dev, ERR, 0, 1, &oe, &me);
	close_all(mm, 8);
	close(me);
	assert_int_equal(count_open_fds(), base + 9);
	dev_detach(f->dev);
	assert_int_equal(count_open_fds(), base);
	for (unsigned v = 0; v < 8; v++)
		assert_false(uvfio_dev_irq_enabled(f->dev, MSIX, v));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_irq_info),
		T(test_einval_table),
		cmocka_unit_test(test_absent_index_einval),
		T(test_non_eventfd_refused),
		T(test_enotty),
		T(test_msi_vector_mask),
		T(test_msix_vector_mask),
		T(test_intx_automask),
		T(test_intx_explicit_mask),
		T(test_intx_loopback),
		T(test_disable_exact_range_msi),
		T(test_disable_exact_range_msix),
		T(test_disable_exact_range_msix_tail),
		T(test_disable_whole_index),
		T(test_msi_signal_and_bool),
		T(test_replace_trigger),
		T(test_mutual_exclusion),
		T(test_err_req_triggers),
		T(test_req_none_without_eventfd_einval),
		T(test_intx_unmask_eventfd_accepted),
		T(test_command_intx_disable_masks_intx),
		T(test_reset_disables_interrupts),
		T(test_detach_releases_everything),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
