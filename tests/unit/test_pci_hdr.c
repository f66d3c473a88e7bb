/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The standard header through the config-space engine (REFERENCE §2):
 * every byte under all-ones, zero and random writes of every width, BAR
 * and ROM sizing, COMMAND (decode enables, INTx disable), the split of
 * accesses into naturally aligned pieces, narrowed read-modify-writes,
 * the backdoor-reset repair, and range checks.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pci_testutil.h"

#define STATUS_ERRORS (PCI_STATUS_PARITY | PCI_STATUS_SIG_TARGET_ABORT | \
		       PCI_STATUS_REC_TARGET_ABORT | PCI_STATUS_REC_MASTER_ABORT | \
		       PCI_STATUS_SIG_SYSTEM_ERROR | PCI_STATUS_DETECTED_PARITY)

static void raise_status(struct pci_cfg *cfg)
{
	tu_phys_set(cfg, PCI_STATUS, STATUS_ERRORS, 2);
}

static void test_header_sweep(void **state)
{
	struct pci_cfg *cfg = tu_full_cfg();
	static struct tu_spec s;
	tu_spec_full(&s);
	tu_srand(1);
	unsigned n = tu_sweep(cfg, &s, 0, PCI_STD_HEADER_SIZEOF, raise_status);
	/* 64 offsets, three widths (less at the end), three patterns. */
	assert_int_equal(n, (64 + 63 + 61) * 3);
	pci_cfg_free(cfg);
}

static void test_power_on_header(void **state)
{
	struct pci_cfg *cfg = tu_full_cfg();
	assert_int_equal(tu_rd(cfg, PCI_VENDOR_ID, 4), 0x5a5a1234);
	assert_int_equal(tu_rd(cfg, PCI_CLASS_REVISION, 4), 0x02000002);
	assert_int_equal(tu_rd(cfg, PCI_HEADER_TYPE, 1), PCI_HEADER_TYPE_NORMAL);
	assert_int_equal(tu_rd(cfg, PCI_SUBSYSTEM_VENDOR_ID, 4), 0x00011af4);
	assert_int_equal(tu_rd(cfg, PCI_COMMAND, 2), 0);
	assert_int_equal(tu_rd(cfg, PCI_STATUS, 2), PCI_STATUS_CAP_LIST);
	assert_int_equal(tu_rd(cfg, PCI_CAPABILITY_LIST, 1), TU_PM);
	assert_int_equal(tu_rd(cfg, PCI_INTERRUPT_PIN, 1), 1);
	assert_int_equal(tu_rd(cfg, PCI_BASE_ADDRESS_0, 4), 0);
	assert_int_equal(tu_rd(cfg, PCI_BASE_ADDRESS_1, 4), PCI_BASE_ADDRESS_SPACE_IO);
	assert_int_equal(tu_rd(cfg, PCI_BASE_ADDRESS_2, 4),
			 PCI_BASE_ADDRESS_MEM_TYPE_64 | PCI_BASE_ADDRESS_MEM_PREFETCH);
	assert_int_equal(tu_rd(cfg, PCI_BASE_ADDRESS_3, 4), 0);
	assert_int_equal(tu_rd(cfg, PCI_BASE_ADDRESS_4, 4), PCI_BASE_ADDRESS_MEM_TYPE_64);
	assert_int_equal(tu_rd(cfg, PCI_BASE_ADDRESS_5, 4), 0);
	assert_int_equal(tu_rd(cfg, PCI_ROM_ADDRESS, 4), 0);
	assert_int_equal(cfg->size, PCI_CFG_EXP_SIZE);
	pci_cfg_free(cfg);
}

static void test_bar_sizing_and_addresses(void **state)
{
	struct pci_cfg *cfg = tu_full_cfg();
	const struct { unsigned off; uint32_t want; } sized[] = {
		{ PCI_BASE_ADDRESS_0, 0xfffff000 },
		{ PCI_BASE_ADDRESS_1, 0xffffffe1 },
		{ PCI_BASE_ADDRESS_2, 0x0000000c },   /* 8 GiB: no low bits */
		{ PCI_BASE_ADDRESS_3, 0xfffffffe },
		{ PCI_BASE_ADDRESS_4, 0xffffc004 },
		{ PCI_BASE_ADDRESS_5, 0xffffffff },   /* under 4 GiB: all ones */
		{ PCI_ROM_ADDRESS, 0xffff0001 },      /* keeps the enable bit */
	};
	for (size_t i = 0; i < sizeof(sized) / sizeof(sized[0]); i++) {
		tu_wr(cfg, sized[i].off, 0xffffffff, 4);
		assert_int_equal(tu_rd(cfg, sized[i].off, 4), sized[i].want);
	}
	/* Programmed addresses, as a model reads them back. */
	tu_wr(cfg, PCI_BASE_ADDRESS_0, 0xfebf1234, 4);
	tu_wr(cfg, PCI_BASE_ADDRESS_1, 0xc023, 4);
	tu_wr(cfg, PCI_BASE_ADDRESS_2, 0, 4);
	tu_wr(cfg, PCI_BASE_ADDRESS_3, 0x2, 4);
	tu_wr(cfg, PCI_BASE_ADDRESS_4, 0xfe004000, 4);
	tu_wr(cfg, PCI_BASE_ADDRESS_5, 0x1, 4);
	tu_wr(cfg, PCI_ROM_ADDRESS, 0xfd000001, 4);
	assert_true(pci_cfg_bar_addr(cfg, 0) == 0xfebf1000);
	assert_true(pci_cfg_bar_addr(cfg, 1) == 0xc020);
	assert_true(pci_cfg_bar_addr(cfg, 2) == 0x200000000ull);
	assert_true(pci_cfg_bar_addr(cfg, 3) == 0);         /* an upper half */
	assert_true(pci_cfg_bar_addr(cfg, 4) == 0x1fe004000ull);
	assert_true(pci_cfg_bar_addr(cfg, 6) == 0xfd000000);
	assert_true(pci_cfg_bar_addr(cfg, 7) == 0);
	/* Reset: the programmed addresses stay, as vfio-pci's do. */
	pci_cfg_reset(cfg);
	assert_true(pci_cfg_bar_addr(cfg, 0) == 0xfebf1000);
	assert_true(pci_cfg_bar_addr(cfg, 2) == 0x200000000ull);
	assert_true(pci_cfg_bar_addr(cfg, 4) == 0x1fe004000ull);
	assert_true(pci_cfg_bar_addr(cfg, 6) == 0xfd000000);
	pci_cfg_free(cfg);
}

static void test_decode_enables_and_gating(void **state)
{
	struct pci_cfg *cfg = tu_full_cfg();
	assert_false(pci_cfg_memory_enabled(cfg));
	/* Without gating nothing is refused. */
	for (unsigned b = 0; b <= 6; b++)
		assert_false(pci_cfg_bar_gated(cfg, b));
	cfg->gate_decode = true;
	assert_true(pci_cfg_bar_gated(cfg, 0));
	assert_false(pci_cfg_bar_gated(cfg, 1));     /* I/O: never */
	assert_true(pci_cfg_bar_gated(cfg, 2));
	assert_false(pci_cfg_bar_gated(cfg, 3));     /* upper half: no BAR */
	assert_true(pci_cfg_bar_gated(cfg, 6));      /* ROM */
	/* One byte at COMMAND enables memory decoding. */
	tu_wr(cfg, PCI_COMMAND, PCI_COMMAND_MEMORY, 1);
	assert_true(pci_cfg_memory_enabled(cfg));
	assert_false(pci_cfg_io_enabled(cfg));
	assert_false(pci_cfg_bar_gated(cfg, 0));
	assert_false(pci_cfg_bar_gated(cfg, 6));
	/* A write to the high byte leaves the enables alone. */
	tu_wr(cfg, PCI_COMMAND + 1, 0, 1);
	assert_true(pci_cfg_memory_enabled(cfg));
	/* A dword COMMAND+STATUS write carries them too. */
	tu_wr(cfg, PCI_COMMAND, PCI_COMMAND_IO, 4);
	assert_false(pci_cfg_memory_enabled(cfg));
	assert_true(pci_cfg_io_enabled(cfg));
	tu_wr(cfg, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	assert_true(pci_cfg_command(cfg) & PCI_COMMAND_MASTER);
	/* D3hot: memory is off whatever COMMAND says. */
	tu_wr(cfg, TU_PM + PCI_PM_CTRL, 3, 2);
	assert_int_equal(cfg->power_state, PCI_PM_D3HOT);
	assert_false(pci_cfg_memory_enabled(cfg));
	assert_true(pci_cfg_bar_gated(cfg, 0));
	tu_wr(cfg, TU_PM + PCI_PM_CTRL, 0, 2);
	assert_true(pci_cfg_memory_enabled(cfg));
	/* A reset from D3hot: D0, and the enables the kernel restores. */
	tu_wr(cfg, TU_PM + PCI_PM_CTRL, 3, 2);
	pci_cfg_reset(cfg);
	assert_int_equal(cfg->power_state, PCI_PM_D0);
	assert_int_equal(tu_rd(cfg, TU_PM + PCI_PM_CTRL, 2) & PCI_PM_CTRL_STATE_MASK, 0);
	assert_true(pci_cfg_memory_enabled(cfg));
	assert_true(pci_cfg_command(cfg) & PCI_COMMAND_MASTER);
	pci_cfg_free(cfg);
}

struct hook_log {
	int intx_calls;
	bool last;
};

static void log_intx(void *opaque, bool disabled)
{
	struct hook_log *l = opaque;
	l->intx_calls++;
	l->last = disabled;
}

static void test_intx_disable_hook(void **state)
{
	struct pci_cfg *cfg = tu_full_cfg();
	struct hook_log l = { 0 };
	const struct pci_cfg_hooks h = { .opaque = &l, .intx_disable = log_intx };
	pci_cfg_set_hooks(cfg, &h);
	tu_wr(cfg, PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, 2);
	assert_int_equal(l.intx_calls, 1);
	assert_true(l.last);
	assert_true(pci_cfg_intx_disabled(cfg));
	/* Same value again: no change, no call. */
	tu_wr(cfg, PCI_COMMAND + 1, PCI_COMMAND_INTX_DISABLE >> 8, 1);
	assert_int_equal(l.intx_calls, 1);
	/* Low byte only: the bit is in the high byte, untouched. */
	tu_wr(cfg, PCI_COMMAND, 0, 1);
	assert_int_equal(l.intx_calls, 1);
	/* A dword at 0x04 clears it. */
	tu_wr(cfg, PCI_COMMAND, 0, 4);
	assert_int_equal(l.intx_calls, 2);
	assert_false(l.last);
	/* The bit lives in the virtual copy, not in the device. */
	uint8_t phys[2];
	tu_wr(cfg, PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, 2);
	assert_int_equal(pci_cfg_phys_read(cfg, PCI_COMMAND, phys, 2), 0);
	assert_false(phys[1] & (PCI_COMMAND_INTX_DISABLE >> 8));
	pci_cfg_free(cfg);
}

/* A RAM-backed copy of the reference device. */
static struct pci_cfg *ram_cfg(struct tu_ram *ram)
{
	struct pci_cfg *ref = tu_full_cfg();
	tu_ram_from(ram, ref);
	pci_cfg_free(ref);
	struct pci_backing bk = tu_ram_backing(ram);
	struct pci_cfg *cfg = pci_cfg_new_backed(PCI_CFG_EXP_SIZE, &bk);
	assert_non_null(cfg);
	assert_int_equal(pci_cfg_set_bar(cfg, 0, TU_BAR0_SIZE, UVFIO_BAR_MEM32), 0);
	pci_cfg_seal(cfg);
	return cfg;
}

/* Every access reaching the backing is a naturally aligned 1/2/4. */
static void test_pieces_are_aligned(void **state)
{
	static struct tu_ram ram;
	struct pci_cfg *cfg = ram_cfg(&ram);
	static uint8_t buf[PCI_CFG_EXP_SIZE];
	for (unsigned off = 0; off < 0x200; off++)
		for (unsigned len = 1; len <= 13; len++) {
			assert_int_equal(pci_cfg_read(cfg, off, buf, len), 0);
			assert_int_equal(pci_cfg_write(cfg, off, buf, len), 0);
		}
	assert_int_equal(pci_cfg_read(cfg, 0, buf, sizeof(buf)), 0);
	assert_int_equal(pci_cfg_write(cfg, 1, buf, sizeof(buf) - 1), 0);
	assert_false(ram.misaligned);
	assert_true(ram.reads > 0 && ram.writes > 0);
	pci_cfg_free(cfg);
}

static void test_pieces_stop_at_capabilities(void **state)
{
	static struct tu_ram ram;
	struct pci_cfg *cfg = ram_cfg(&ram);
	/*
	 * The vendor capability spans 0xb4-0xbe and 0xbf is unowned (raw):
	 * a dword write at 0xbc is cut where the owner changes, into the
	 * naturally aligned 2 bytes at 0xbc and 1 at 0xbe (payload), and 1
	 * at 0xbf.
	 */
	ram.nlog = 0;
	tu_wr(cfg, 0xbc, 0x11223344, 4);
	assert_int_equal(ram.nlog, 3);
	assert_int_equal(ram.wr_log[0][0], 0xbc);
	assert_int_equal(ram.wr_log[0][1], 2);
	assert_int_equal(ram.wr_log[1][0], 0xbe);
	assert_int_equal(ram.wr_log[1][1], 1);
	assert_int_equal(ram.wr_log[2][0], 0xbf);
	assert_int_equal(ram.wr_log[2][1], 1);
	/* Reads merge the same way: payload and raw bytes as written. */
	assert_int_equal(tu_rd(cfg, 0xbc, 4), 0x11223344);
	pci_cfg_free(cfg);
}

/* A device-control write must not write back Device Status (RW1C). */
static void test_rmw_writes_only_writable_bytes(void **state)
{
	static struct tu_ram ram;
	struct pci_cfg *cfg = ram_cfg(&ram);
	ram.nlog = 0;
	tu_wr(cfg, TU_PCIE + PCI_EXP_DEVCTL,
	      PCI_EXP_DEVCTL_CERE | PCI_EXP_DEVCTL_READRQ_512B, 4);
	assert_int_equal(ram.nlog, 1);
	assert_int_equal(ram.wr_log[0][0], TU_PCIE + PCI_EXP_DEVCTL);
	assert_int_equal(ram.wr_log[0][1], 2);
	/* Nothing writable: nothing reaches the device at all. */
	ram.nlog = 0;
	tu_wr(cfg, PCI_VENDOR_ID, 0xffffffff, 4);
	tu_wr(cfg, TU_DSN + 4, 0xffffffff, 4);
	tu_wr(cfg, TU_MSIX + PCI_MSIX_FLAGS, 0xffff, 2);
	assert_int_equal(ram.nlog, 0);
	/* Virtual registers never reach it either. */
	tu_wr(cfg, PCI_BASE_ADDRESS_0, 0xffffffff, 4);
	tu_wr(cfg, PCI_INTERRUPT_LINE, 0x0b, 1);
	tu_wr(cfg, TU_MSI + PCI_MSI_ADDRESS_LO, 0xfee00000, 4);
	assert_int_equal(ram.nlog, 0);
	pci_cfg_free(cfg);
}

static void test_backing_errors_propagate(void **state)
{
	static struct tu_ram ram;
	struct pci_cfg *cfg = ram_cfg(&ram);
	uint8_t b[4];
	ram.fail = EIO;
	/* Non-virtual bytes need the device. */
	assert_int_equal(pci_cfg_read(cfg, PCI_CLASS_REVISION, b, 4), -EIO);
	assert_int_equal(pci_cfg_write(cfg, PCI_COMMAND, b, 2), -EIO);
	/* Fully virtual ones do not. */
	assert_int_equal(pci_cfg_read(cfg, PCI_BASE_ADDRESS_0, b, 4), 0);
	assert_int_equal(pci_cfg_write(cfg, PCI_INTERRUPT_LINE, b, 1), 0);
	ram.fail = 0;
	pci_cfg_free(cfg);
}

/*
 * The device lost its BARs behind our back (a reset we did not see):
 * the next COMMAND write puts the saved values back before decoding is
 * enabled again.
 */
static void test_backdoor_reset_repaired(void **state)
{
	static struct tu_ram ram;
	struct pci_cfg *ref = tu_full_cfg();
	tu_ram_from(&ram, ref);
	pci_cfg_free(ref);
	/* The host assigned addresses. */
	ram.b[PCI_BASE_ADDRESS_0 + 3] = 0xfe;
	ram.b[PCI_ROM_ADDRESS + 3] = 0xfd;
	struct pci_backing bk = tu_ram_backing(&ram);
	struct pci_cfg *cfg = pci_cfg_new_backed(PCI_CFG_EXP_SIZE, &bk);
	assert_non_null(cfg);
	pci_cfg_seal(cfg);
	tu_wr(cfg, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	/* Nothing lost: COMMAND writes do not touch the BARs. */
	ram.nlog = 0;
	tu_wr(cfg, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	assert_int_equal(ram.nlog, 1);
	/* A device-internal reset zeroes BARs and COMMAND. */
	memset(ram.b + PCI_COMMAND, 0, 2);
	memset(ram.b + PCI_BASE_ADDRESS_0, 0, 24);
	memset(ram.b + PCI_ROM_ADDRESS, 0, 4);
	tu_wr(cfg, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	assert_int_equal(ram.b[PCI_BASE_ADDRESS_0 + 3], 0xfe);
	assert_int_equal(ram.b[PCI_ROM_ADDRESS + 3], 0xfd);
	assert_int_equal(ram.b[PCI_BASE_ADDRESS_2], PCI_BASE_ADDRESS_MEM_TYPE_64 |
			 PCI_BASE_ADDRESS_MEM_PREFETCH);
	assert_int_equal(ram.b[PCI_COMMAND], PCI_COMMAND_MEMORY);
	/* The client still sees its virtual BARs, not the host's. */
	assert_int_equal(tu_rd(cfg, PCI_BASE_ADDRESS_0, 4), 0);
	pci_cfg_free(cfg);
}

static void test_ranges(void **state)
{
	struct pci_cfg *cfg = pci_cfg_new(PCI_CFG_SIZE);
	uint8_t b[8] = { 0 };
	assert_int_equal(pci_cfg_read(cfg, 0x100, b, 1), -EFAULT);
	assert_int_equal(pci_cfg_write(cfg, 0xfe, b, 4), -EFAULT);
	assert_int_equal(pci_cfg_phys_read(cfg, 0x100, b, 1), -EFAULT);
	assert_int_equal(pci_cfg_phys_write(cfg, 0xff, b, 2), -EFAULT);
	/* PCI Express: 4 KiB, and no extended capability reads 0. */
	assert_true(pci_cap_add_pcie(cfg, 0, PCI_EXP_TYPE_ENDPOINT, 0) > 0);
	assert_int_equal(tu_rd(cfg, PCI_CFG_SIZE, 4), 0);
	assert_int_equal(pci_cfg_read(cfg, 0xffc, b, 4), 0);
	assert_int_equal(pci_cfg_read(cfg, 0xffd, b, 4), -EFAULT);
	assert_int_equal(pci_cfg_read(cfg, UINT64_MAX, b, 2), -EFAULT);
	assert_int_equal(pci_cfg_write(cfg, 0x1000, b, 1), -EFAULT);
	/* Bad sizes of config space. */
	assert_null(pci_cfg_new(1024));
	struct tu_ram ram = { 0 };
	struct pci_backing bk = tu_ram_backing(&ram);
	assert_null(pci_cfg_new_backed(512, &bk));
	assert_null(pci_cfg_new_backed(PCI_CFG_SIZE, NULL));
	pci_cfg_free(cfg);
}

static void test_virtual_range(void **state)
{
	struct pci_cfg *cfg = pci_cfg_new(PCI_CFG_SIZE);
	assert_int_equal(pci_cfg_add_msi(cfg, 1, 0), 0x40);
	assert_int_equal(pci_cfg_add_virtual(cfg, 0xf0, 16), 0xf0);
	assert_int_equal(pci_cfg_add_virtual(cfg, 0x44, 4), -EEXIST);
	assert_int_equal(pci_cfg_add_virtual(cfg, 0x20, 4), -EINVAL);
	assert_int_equal(pci_cfg_add_virtual(cfg, 0xfc, 8), -EINVAL);
	/* Capabilities keep out of it. */
	assert_int_equal(pci_cap_add_vendor(cfg, 0xf0, NULL, 0), -EEXIST);
	pci_cfg_seal(cfg);
	tu_wr(cfg, 0xf2, 0xdeadbeef, 4);
	assert_int_equal(tu_rd(cfg, 0xf2, 4), 0xdeadbeef);
	/* It is not the device's: the backing never saw it. */
	uint8_t b[4];
	assert_int_equal(pci_cfg_phys_read(cfg, 0xf2, b, 4), 0);
	assert_int_equal(b[0] | b[1] | b[2] | b[3], 0);
	pci_cfg_reset(cfg);
	assert_int_equal(tu_rd(cfg, 0xf2, 4), 0);
	pci_cfg_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_sweep),
		cmocka_unit_test(test_power_on_header),
		cmocka_unit_test(test_bar_sizing_and_addresses),
		cmocka_unit_test(test_decode_enables_and_gating),
		cmocka_unit_test(test_intx_disable_hook),
		cmocka_unit_test(test_pieces_are_aligned),
		cmocka_unit_test(test_pieces_stop_at_capabilities),
		cmocka_unit_test(test_rmw_writes_only_writable_bytes),
		cmocka_unit_test(test_backing_errors_propagate),
		cmocka_unit_test(test_backdoor_reset_repaired),
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_virtual_range),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
