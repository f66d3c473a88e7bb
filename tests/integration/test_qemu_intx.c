/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * INTx the way a guest sees it through QEMU's vfio-user-pci (tests/qemu),
 * replayed over the wire against `uvfio-serve edu`, whose INTx is a
 * level: the guest kernel's vfio-pci reads STATUS to tell whether the
 * interrupt is its own and masks it with COMMAND's INTx disable, while
 * QEMU sends SET_IRQS UNMASK at its own end-of-interrupt.  Both broke the
 * guest's INTx before uvfio followed vfio-pci here.
 */
#include <linux/pci_regs.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include <uvfio/client.h>
#include "devices/edu/edu.h"
#include "testutil.h"

#define BAR0 VFIO_PCI_BAR0_REGION_INDEX
#define CFG  VFIO_PCI_CONFIG_REGION_INDEX
#define INTX VFIO_PCI_INTX_IRQ_INDEX

static struct served g_srv;

static int group_setup(void **state)
{
	(void)state;
	return served_start(&g_srv, "edu", NULL);
}

static int group_teardown(void **state)
{
	(void)state;
	return served_stop_checked(&g_srv);
}

static uint16_t cfg16(struct uvfio_device *d, unsigned off)
{
	uint16_t v = 0;
	assert_int_equal(uvfio_region_read(d, CFG, off, &v, 2), 2);
	return v;
}

static void set_cfg16(struct uvfio_device *d, unsigned off, uint16_t v)
{
	assert_int_equal(uvfio_region_write(d, CFG, off, &v, 2), 2);
}

static bool signalled(int efd)
{
	struct pollfd p = { .fd = efd, .events = POLLIN };
	if (poll(&p, 1, 50) <= 0)
		return false;
	uint64_t v;
	assert_int_equal(read(efd, &v, sizeof(v)), sizeof(v));
	return true;
}

static struct uvfio_device *open_edu(int *efd)
{
	struct uvfio_open_opts o = test_open_opts();
	struct uvfio_device *d;
	assert_int_equal(uvfio_device_open(g_srv.path, &o, &d), 0);
	set_cfg16(d, PCI_COMMAND, PCI_COMMAND_MEMORY);
	*efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(*efd >= 0);
	assert_int_equal(uvfio_irq_enable(d, INTX, 0, 1, efd), 0);
	return d;
}

/* The guest's vfio-pci took every INTx for another device's. */
static void test_intx_shows_in_status(void **state)
{
	(void)state;
	int efd;
	struct uvfio_device *d = open_edu(&efd);
	assert_false(cfg16(d, PCI_STATUS) & PCI_STATUS_INTERRUPT);
	assert_int_equal(uvfio_region_write32(d, BAR0, EDU_REG_IRQ_RAISE, 0x10), 0);
	assert_true(signalled(efd));
	assert_true(cfg16(d, PCI_STATUS) & PCI_STATUS_INTERRUPT);
	/* Held back by INTx disable, still pending in STATUS. */
	set_cfg16(d, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_INTX_DISABLE);
	assert_true(cfg16(d, PCI_STATUS) & PCI_STATUS_INTERRUPT);
	assert_int_equal(uvfio_region_write32(d, BAR0, EDU_REG_IRQ_ACK, 0x10), 0);
	assert_false(cfg16(d, PCI_STATUS) & PCI_STATUS_INTERRUPT);
	assert_int_equal(uvfio_irq_disable(d, INTX), 0);
	close(efd);
	uvfio_device_close(d);
}

/*
 * QEMU's end-of-interrupt UNMASK came while the guest held INTx disable:
 * it cleared the guest's bit, so the guest's own unmask changed nothing
 * and the next interrupt stayed masked.
 */
static void test_unmask_keeps_guest_intx_disable(void **state)
{
	(void)state;
	int efd;
	struct uvfio_device *d = open_edu(&efd);
	assert_int_equal(uvfio_region_write32(d, BAR0, EDU_REG_IRQ_RAISE, 0x10), 0);
	assert_true(signalled(efd));
	/* The guest's interrupt handler masks... */
	set_cfg16(d, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_INTX_DISABLE);
	/* ...QEMU's end-of-interrupt unmasks: nothing while that bit is set. */
	assert_int_equal(uvfio_irq_unmask(d, INTX, 0), 0);
	assert_false(signalled(efd));
	assert_true(cfg16(d, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE);
	/* The driver acknowledges, the guest unmasks: quiet. */
	assert_int_equal(uvfio_region_write32(d, BAR0, EDU_REG_IRQ_ACK, 0x10), 0);
	set_cfg16(d, PCI_COMMAND, PCI_COMMAND_MEMORY);
	assert_false(signalled(efd));
	/* The next interrupt arrives. */
	assert_int_equal(uvfio_region_write32(d, BAR0, EDU_REG_IRQ_RAISE, 0x20), 0);
	assert_true(signalled(efd));
	/* Still asserted when the guest clears INTx disable: fires again. */
	set_cfg16(d, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_INTX_DISABLE);
	assert_int_equal(uvfio_irq_unmask(d, INTX, 0), 0);
	assert_false(signalled(efd));
	set_cfg16(d, PCI_COMMAND, PCI_COMMAND_MEMORY);
	assert_true(signalled(efd));
	assert_int_equal(uvfio_region_write32(d, BAR0, EDU_REG_IRQ_ACK, 0x20), 0);
	assert_int_equal(uvfio_irq_disable(d, INTX), 0);
	close(efd);
	uvfio_device_close(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_intx_shows_in_status),
		cmocka_unit_test(test_unmask_keeps_guest_intx_disable),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
