/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Interrupts end to end: eventfds bound with SET_IRQS, raised by the
 * device (testdev's IRQ register), seen as eventfd counts here.
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
#include <unistd.h>

#include <cmocka.h>

#include <uvfio/client.h>
#include "devices/models.h"
#include "testutil.h"

#define BAR0 VFIO_PCI_BAR0_REGION_INDEX
#define INTX VFIO_PCI_INTX_IRQ_INDEX
#define MSI  VFIO_PCI_MSI_IRQ_INDEX
#define MSIX VFIO_PCI_MSIX_IRQ_INDEX
#define ERR  VFIO_PCI_ERR_IRQ_INDEX
#define REQ  VFIO_PCI_REQ_IRQ_INDEX

struct ctx {
	struct uvfio_device *dev;
	int efd[8];
};

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

/* Per test: a device with nothing enabled, and 8 fresh eventfds. */
static int setup(void **state)
{
	struct ctx *t = calloc(1, sizeof(*t));
	if (!t)
		return -1;
	struct uvfio_open_opts o = test_open_opts();
	if (uvfio_device_open(g_srv.path, &o, &t->dev) < 0) {
		free(t);
		return -1;
	}
	for (int i = 0; i < 8; i++)
		t->efd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *t = *state;
	uvfio_device_close(t->dev);
	for (int i = 0; i < 8; i++)
		close(t->efd[i]);
	free(t);
	return 0;
}

/* Raise @index/@vector from the device; returns IRQ_RESULT (an errno). */
static uint32_t raise_irq(struct uvfio_device *d, unsigned index, unsigned vector)
{
	assert_int_equal(uvfio_region_write32(d, BAR0, TESTDEV_REG_IRQ,
					      index << 16 | vector), 0);
	uint32_t v = 0xdeadbeef;
	assert_int_equal(uvfio_region_read32(d, BAR0, TESTDEV_REG_IRQ_RESULT, &v), 0);
	return v;
}

/*
 * The eventfd's count, 0 when not signalled.  The device signals before
 * it answers the IRQ_RESULT read, so no waiting is needed; a short poll
 * covers a signal still in flight.
 */
static uint64_t take(int efd)
{
	struct pollfd p = { .fd = efd, .events = POLLIN };
	if (poll(&p, 1, 20) <= 0)
		return 0;
	uint64_t v = 0;
	assert_int_equal(read(efd, &v, sizeof(v)), sizeof(v));
	return v;
}

static void msi_vectors_fire_their_own_eventfd(void **state)
{
	struct ctx *t = *state;
	assert_int_equal(uvfio_irq_enable(t->dev, MSI, 0, 4, t->efd), 0);
	for (unsigned v = 0; v < 4; v++) {
		assert_int_equal(raise_irq(t->dev, MSI, v), 0);
		for (unsigned w = 0; w < 4; w++)
			assert_int_equal(take(t->efd[w]), w == v ? 1 : 0);
	}
	/* Twice before reading: the count adds up. */
	assert_int_equal(raise_irq(t->dev, MSI, 2), 0);
	assert_int_equal(raise_irq(t->dev, MSI, 2), 0);
	assert_int_equal(take(t->efd[2]), 2);
	/* Out of range for the device: refused, nothing signalled. */
	assert_int_equal(raise_irq(t->dev, MSI, 4), EINVAL);

	assert_int_equal(uvfio_irq_disable(t->dev, MSI), 0);
	for (unsigned v = 0; v < 4; v++) {
		assert_int_equal(raise_irq(t->dev, MSI, v), ENOENT);
		assert_int_equal(take(t->efd[v]), 0);
	}
}

static void msi_unbind_exact_range(void **state)
{
	struct ctx *t = *state;
	assert_int_equal(uvfio_irq_enable(t->dev, MSI, 0, 4, t->efd), 0);
	/* Unbind [2, 4): 0 and 1 must keep working. */
	const int none[2] = { -1, -1 };
	assert_int_equal(uvfio_irq_enable(t->dev, MSI, 2, 2, none), 0);
	assert_int_equal(raise_irq(t->dev, MSI, 0), 0);
	assert_int_equal(raise_irq(t->dev, MSI, 1), 0);
	assert_int_equal(raise_irq(t->dev, MSI, 2), ENOENT);
	assert_int_equal(raise_irq(t->dev, MSI, 3), ENOENT);
	assert_int_equal(take(t->efd[0]), 1);
	assert_int_equal(take(t->efd[1]), 1);

	/* Unbind [1, 2) only. */
	assert_int_equal(uvfio_irq_enable(t->dev, MSI, 1, 1, none), 0);
	assert_int_equal(raise_irq(t->dev, MSI, 0), 0);
	assert_int_equal(raise_irq(t->dev, MSI, 1), ENOENT);
	assert_int_equal(take(t->efd[0]), 1);
	assert_int_equal(take(t->efd[1]), 0);

	/* Mixed in one call: rebind 1 to a new fd, leave 2 unbound, bind 3. */
	const int mix[3] = { t->efd[5], -1, t->efd[6] };
	assert_int_equal(uvfio_irq_enable(t->dev, MSI, 1, 3, mix), 0);
	assert_int_equal(raise_irq(t->dev, MSI, 1), 0);
	assert_int_equal(raise_irq(t->dev, MSI, 2), ENOENT);
	assert_int_equal(raise_irq(t->dev, MSI, 3), 0);
	assert_int_equal(take(t->efd[5]), 1);
	assert_int_equal(take(t->efd[6]), 1);
	assert_int_equal(take(t->efd[1]), 0);

	/* Rebinding a vector replaces its eventfd. */
	assert_int_equal(uvfio_irq_enable(t->dev, MSI, 0, 1, &t->efd[7]), 0);
	assert_int_equal(raise_irq(t->dev, MSI, 0), 0);
	assert_int_equal(take(t->efd[7]), 1);
	assert_int_equal(take(t->efd[0]), 0);
	assert_int_equal(uvfio_irq_disable(t->dev, MSI), 0);
}

static void msi_loopback_trigger(void **state)
{
	struct ctx *t = *state;
	assert_int_equal(uvfio_irq_enable(t->dev, MSI, 0, 4, t->efd), 0);
	/* DATA_NONE: signal every vector of the range. */
	assert_int_equal(uvfio_irq_set(t->dev, MSI, VFIO_IRQ_SET_DATA_NONE |
				       VFIO_IRQ_SET_ACTION_TRIGGER, 1, 2, NULL), 0);
	assert_int_equal(take(t->efd[0]), 0);
	assert_int_equal(take(t->efd[1]), 1);
	assert_int_equal(take(t->efd[2]), 1);
	assert_int_equal(take(t->efd[3]), 0);
	/* DATA_BOOL: signal where true. */
	const uint8_t b[4] = { 1, 0, 1, 0 };
	assert_int_equal(uvfio_irq_set(t->dev, MSI, VFIO_IRQ_SET_DATA_BOOL |
				       VFIO_IRQ_SET_ACTION_TRIGGER, 0, 4, b), 0);
	assert_int_equal(take(t->efd[0]), 1);
	assert_int_equal(take(t->efd[1]), 0);
	assert_int_equal(take(t->efd[2]), 1);
	assert_int_equal(take(t->efd[3]), 0);
	assert_int_equal(uvfio_irq_disable(t->dev, MSI), 0);
}

static void msix_all_vectors(void **state)
{
	struct ctx *t = *state;
	assert_int_equal(uvfio_irq_enable(t->dev, MSIX, 0, 8, t->efd), 0);
	for (unsigned v = 0; v < 8; v++)
		assert_int_equal(raise_irq(t->dev, MSIX, 7 - v), 0);
	for (unsigned v = 0; v < 8; v++)
		assert_int_equal(take(t->efd[v]), 1);
	assert_int_equal(uvfio_irq_disable(t->dev, MSIX), 0);
	assert_int_equal(raise_irq(t->dev, MSIX, 7), ENOENT);
}

static void intx_automask_and_unmask(void **state)
{
	struct ctx *t = *state;
	int e = t->efd[0];
	assert_int_equal(uvfio_irq_enable(t->dev, INTX, 0, 1, &e), 0);

	/* Level-triggered, auto-masked: two raises give one signal. */
	assert_int_equal(raise_irq(t->dev, INTX, 0), 0);
	assert_int_equal(raise_irq(t->dev, INTX, 0), 0);
	assert_int_equal(take(e), 1);
	assert_int_equal(take(e), 0);

	/* Unmask while still pending: signalled again, masked again. */
	assert_int_equal(uvfio_irq_unmask(t->dev, INTX, 0), 0);
	assert_int_equal(take(e), 1);
	assert_int_equal(raise_irq(t->dev, INTX, 0), 0);
	assert_int_equal(take(e), 0);

	/* Unmask with the line pending again: another signal. */
	assert_int_equal(uvfio_irq_unmask(t->dev, INTX, 0), 0);
	assert_int_equal(take(e), 1);
	/* Unmask with nothing pending: no signal; the next raise signals. */
	assert_int_equal(uvfio_irq_unmask(t->dev, INTX, 0), 0);
	assert_int_equal(take(e), 0);
	assert_int_equal(raise_irq(t->dev, INTX, 0), 0);
	assert_int_equal(take(e), 1);

	/* Loopback trigger (count 1, no data) signals the eventfd. */
	assert_int_equal(uvfio_irq_unmask(t->dev, INTX, 0), 0);
	assert_int_equal(uvfio_irq_set(t->dev, INTX, VFIO_IRQ_SET_DATA_NONE |
				       VFIO_IRQ_SET_ACTION_TRIGGER, 0, 1, NULL), 0);
	assert_int_equal(take(e), 1);

	assert_int_equal(uvfio_irq_disable(t->dev, INTX), 0);
	assert_int_equal(raise_irq(t->dev, INTX, 0), ENOENT);
	assert_int_equal(take(e), 0);
}

static void intx_explicit_mask(void **state)
{
	struct ctx *t = *state;
	int e = t->efd[1];
	assert_int_equal(uvfio_irq_enable(t->dev, INTX, 0, 1, &e), 0);
	assert_int_equal(uvfio_irq_mask(t->dev, INTX, 0), 0);
	assert_int_equal(raise_irq(t->dev, INTX, 0), 0);
	assert_int_equal(take(e), 0);
	assert_int_equal(uvfio_irq_unmask(t->dev, INTX, 0), 0);
	assert_int_equal(take(e), 1);
	/* DATA_BOOL false does nothing, true masks. */
	const uint8_t no = 0, yes = 1;
	assert_int_equal(uvfio_irq_unmask(t->dev, INTX, 0), 0);
	assert_int_equal(uvfio_irq_set(t->dev, INTX, VFIO_IRQ_SET_DATA_BOOL |
				       VFIO_IRQ_SET_ACTION_MASK, 0, 1, &no), 0);
	assert_int_equal(raise_irq(t->dev, INTX, 0), 0);
	assert_int_equal(take(e), 1);
	assert_int_equal(uvfio_irq_unmask(t->dev, INTX, 0), 0);
	assert_int_equal(uvfio_irq_set(t->dev, INTX, VFIO_IRQ_SET_DATA_BOOL |
				       VFIO_IRQ_SET_ACTION_MASK, 0, 1, &yes), 0);
	assert_int_equal(raise_irq(t->dev, INTX, 0), 0);
	assert_int_equal(take(e), 0);
	assert_int_equal(uvfio_irq_disable(t->dev, INTX), 0);
}

/*
 * The kernel's loopback trigger (vfio_pci_set_intx_trigger, DATA_NONE)
 * calls vfio_send_intx_eventfd(): it signals whatever the mask says and
 * does not mask.  It is the driver poking its own eventfd, not the
 * device asserting the line.
 */
static void intx_loopback_ignores_mask(void **state)
{
	struct ctx *t = *state;
	int e = t->efd[2];
	assert_int_equal(uvfio_irq_enable(t->dev, INTX, 0, 1, &e), 0);
	/* Masked: the loopback still signals. */
	assert_int_equal(uvfio_irq_mask(t->dev, INTX, 0), 0);
	assert_int_equal(uvfio_irq_set(t->dev, INTX, VFIO_IRQ_SET_DATA_NONE |
				       VFIO_IRQ_SET_ACTION_TRIGGER, 0, 1, NULL), 0);
	assert_int_equal(take(e), 1);
	/* Unmasked: a loopback does not auto-mask, so the device's next
	 * interrupt is delivered. */
	assert_int_equal(uvfio_irq_unmask(t->dev, INTX, 0), 0);
	(void)take(e);
	assert_int_equal(uvfio_irq_set(t->dev, INTX, VFIO_IRQ_SET_DATA_NONE |
				       VFIO_IRQ_SET_ACTION_TRIGGER, 0, 1, NULL), 0);
	assert_int_equal(take(e), 1);
	assert_int_equal(raise_irq(t->dev, INTX, 0), 0);
	assert_int_equal(take(e), 1);
	assert_int_equal(uvfio_irq_disable(t->dev, INTX), 0);
}

static void intx_msi_msix_exclusive(void **state)
{
	struct ctx *t = *state;
	assert_int_equal(uvfio_irq_enable(t->dev, INTX, 0, 1, &t->efd[0]), 0);
	assert_int_equal(uvfio_irq_enable(t->dev, MSI, 0, 1, &t->efd[1]), -EINVAL);
	assert_int_equal(uvfio_irq_enable(t->dev, MSIX, 0, 1, &t->efd[2]), -EINVAL);
	/* INTx kept working through the refusals. */
	assert_int_equal(raise_irq(t->dev, INTX, 0), 0);
	assert_int_equal(take(t->efd[0]), 1);
	assert_int_equal(raise_irq(t->dev, MSI, 0), ENOENT);

	assert_int_equal(uvfio_irq_disable(t->dev, INTX), 0);
	assert_int_equal(uvfio_irq_enable(t->dev, MSI, 0, 1, &t->efd[1]), 0);
	assert_int_equal(uvfio_irq_enable(t->dev, INTX, 0, 1, &t->efd[0]), -EINVAL);
	assert_int_equal(uvfio_irq_enable(t->dev, MSIX, 0, 1, &t->efd[2]), -EINVAL);
	assert_int_equal(raise_irq(t->dev, MSI, 0), 0);
	assert_int_equal(take(t->efd[1]), 1);
	assert_int_equal(uvfio_irq_disable(t->dev, MSI), 0);

	/* ERR and REQ are not part of the exclusion. */
	assert_int_equal(uvfio_irq_enable(t->dev, MSIX, 0, 1, &t->efd[2]), 0);
	assert_int_equal(uvfio_irq_enable(t->dev, ERR, 0, 1, &t->efd[3]), 0);
	assert_int_equal(uvfio_irq_enable(t->dev, REQ, 0, 1, &t->efd[4]), 0);
	assert_int_equal(raise_irq(t->dev, ERR, 0), 0);
	assert_int_equal(raise_irq(t->dev, REQ, 0), 0);
	assert_int_equal(take(t->efd[3]), 1);
	assert_int_equal(take(t->efd[4]), 1);
	assert_int_equal(uvfio_irq_disable(t->dev, MSIX), 0);
	assert_int_equal(uvfio_irq_disable(t->dev, ERR), 0);
	assert_int_equal(uvfio_irq_disable(t->dev, REQ), 0);
	assert_int_equal(raise_irq(t->dev, ERR, 0), ENOENT);
}

static void bad_requests_refused(void **state)
{
	struct ctx *t = *state;
	/* Index out of range. */
	assert_int_equal(uvfio_irq_enable(t->dev, 5, 0, 1, t->efd), -EINVAL);
	assert_int_equal(uvfio_irq_enable(t->dev, 100, 0, 1, t->efd), -EINVAL);
	assert_int_equal(uvfio_irq_disable(t->dev, 5), -EINVAL);
	/* Vectors beyond the index's count. */
	assert_int_equal(uvfio_irq_enable(t->dev, MSI, 3, 2, t->efd), -EINVAL);
	assert_int_equal(uvfio_irq_enable(t->dev, MSI, 4, 1, t->efd), -EINVAL);
	assert_int_equal(uvfio_irq_enable(t->dev, INTX, 0, 2, t->efd), -EINVAL);
	assert_int_equal(uvfio_irq_enable(t->dev, MSI, 0xffffffffu, 2, t->efd),
			 -EINVAL);
	/* Not exactly one data type and one action. */
	assert_int_equal(uvfio_irq_set(t->dev, MSI, VFIO_IRQ_SET_DATA_NONE |
				       VFIO_IRQ_SET_DATA_BOOL |
				       VFIO_IRQ_SET_ACTION_TRIGGER, 0, 1, NULL),
			 -EINVAL);
	assert_int_equal(uvfio_irq_set(t->dev, MSI, VFIO_IRQ_SET_DATA_NONE, 0, 1,
				       NULL), -EINVAL);
	assert_int_equal(uvfio_irq_set(t->dev, MSI, VFIO_IRQ_SET_DATA_NONE |
				       VFIO_IRQ_SET_ACTION_TRIGGER | 0x1000, 0, 1,
				       NULL), -EINVAL);
	/* Only eventfds can be bound. */
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	assert_int_equal(uvfio_irq_enable(t->dev, MSI, 0, 1, &pfd[1]), -EINVAL);
	close(pfd[0]);
	close(pfd[1]);
	/* None of that left anything enabled. */
	assert_int_equal(raise_irq(t->dev, MSI, 0), ENOENT);
	assert_int_equal(uvfio_irq_enable(t->dev, MSI, 0, 4, t->efd), 0);
	assert_int_equal(raise_irq(t->dev, MSI, 3), 0);
	assert_int_equal(take(t->efd[3]), 1);
	/* MSI reports MASKABLE: a masked vector is held until UNMASK. */
	struct uvfio_irq_info ii;
	assert_int_equal(uvfio_irq_get_info(t->dev, MSI, &ii), 0);
	assert_true(ii.flags & VFIO_IRQ_INFO_MASKABLE);
	assert_int_equal(uvfio_irq_mask(t->dev, MSI, 3), 0);
	assert_int_equal(raise_irq(t->dev, MSI, 3), 0);
	assert_int_equal(raise_irq(t->dev, MSI, 2), 0);
	assert_int_equal(take(t->efd[2]), 1);
	assert_int_equal(take(t->efd[3]), 0);
	assert_int_equal(uvfio_irq_unmask(t->dev, MSI, 3), 0);
	assert_int_equal(take(t->efd[3]), 1);
	assert_int_equal(uvfio_irq_disable(t->dev, MSI), 0);
}

static void bindings_dropped_on_disconnect(void **state)
{
	struct ctx *t = *state;
	assert_int_equal(uvfio_irq_enable(t->dev, MSI, 0, 4, t->efd), 0);
	uvfio_device_close(t->dev);
	t->dev = NULL;
	struct uvfio_device *d = NULL;
	assert_int_equal(uvfio_device_open(g_srv.path, NULL, &d), 0);
	t->dev = d;
	/* The new client has nothing bound; the old eventfds stay quiet. */
	assert_int_equal(raise_irq(d, MSI, 0), ENOENT);
	assert_int_equal(take(t->efd[0]), 0);
	/* And may enable INTx: MSI is no longer active. */
	assert_int_equal(uvfio_irq_enable(d, INTX, 0, 1, &t->efd[4]), 0);
	assert_int_equal(uvfio_irq_disable(d, INTX), 0);
}

/* A server taking at most 4 fds a message: 8 vectors go in pieces. */
static struct served g_own;

static int own_teardown(void **state)
{
	(void)state;
	if (g_own.pid > 0)
		served_stop(&g_own);
	return 0;
}

static void msix_with_few_fds_per_message(void **state)
{
	(void)state;
	const char *const extra[] = { "--max-msg-fds=4", NULL };
	assert_int_equal(served_start(&g_own, "testdev", extra), 0);
	struct uvfio_device *d = NULL;
	assert_int_equal(uvfio_device_open(g_own.path, NULL, &d), 0);
	int e[8];
	for (int i = 0; i < 8; i++) {
		e[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		assert_true(e[i] >= 0);
	}
	assert_int_equal(uvfio_irq_enable(d, MSIX, 0, 8, e), 0);
	for (unsigned v = 0; v < 8; v++)
		assert_int_equal(raise_irq(d, MSIX, v), 0);
	for (unsigned v = 0; v < 8; v++)
		assert_int_equal(take(e[v]), 1);
	/* A DMA map still carries its one fd. */
	struct uvfio_dma_buf *b = NULL;
	assert_int_equal(uvfio_dma_alloc(d, 4096, 0, &b), 0);
	assert_int_equal(uvfio_dma_free(d, b), 0);
	assert_int_equal(uvfio_irq_disable(d, MSIX), 0);
	uvfio_device_close(d);
	for (int i = 0; i < 8; i++)
		close(e[i]);
	assert_int_equal(served_stop(&g_own), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(msi_vectors_fire_their_own_eventfd),
		T(msi_unbind_exact_range),
		T(msi_loopback_trigger),
		T(msix_all_vectors),
		T(intx_automask_and_unmask),
		T(intx_explicit_mask),
		T(intx_loopback_ignores_mask),
		T(intx_msi_msix_exclusive),
		T(bad_requests_refused),
		T(bindings_dropped_on_disconnect),
		cmocka_unit_test_teardown(msix_with_few_fds_per_message, own_teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
