/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Config space: identity, BAR/ROM sizing, read-only and write-1-to-clear
 * registers, sub-dword and unaligned accesses, range checks, the MSI
 * capability and reset (REFERENCE §2).
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

#include "pci/cfg.h"

static const struct uvfio_pci_ids ids = {
	.vendor = 0x1234, .device = 0x11e8,
	.subsystem_vendor = 0x1af4, .subsystem_device = 0x1100,
	.class_code = 0x00ff00, .revision = 0x10, .irq_pin = 1,
};

static int setup(void **state)
{
	struct pci_cfg *cfg = pci_cfg_new(PCI_CFG_SIZE);
	if (!cfg)
		return -1;
	pci_cfg_set_ids(cfg, &ids);
	*state = cfg;
	return 0;
}

static int teardown(void **state)
{
	pci_cfg_free(*state);
	return 0;
}

static uint32_t rd(const struct pci_cfg *cfg, uint64_t off, size_t len)
{
	uint8_t b[4] = { 0 };
	assert_true(len <= 4);
	assert_int_equal(pci_cfg_read(cfg, off, b, len), 0);
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
}

static uint32_t rd32(const struct pci_cfg *cfg, uint64_t off)
{
	return rd(cfg, off, 4);
}

static uint16_t rd16(const struct pci_cfg *cfg, uint64_t off)
{
	return (uint16_t)rd(cfg, off, 2);
}

static void wr(struct pci_cfg *cfg, uint64_t off, uint32_t v, size_t len)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
			 (uint8_t)(v >> 24) };
	/* Writes never fail for touching read-only bits. */
	assert_int_equal(pci_cfg_write(cfg, off, b, len), 0);
}

static void wr32(struct pci_cfg *cfg, uint64_t off, uint32_t v)
{
	wr(cfg, off, v, 4);
}

static void test_new_sizes(void **state)
{
	struct pci_cfg *c = pci_cfg_new(PCI_CFG_EXP_SIZE);
	assert_non_null(c);
	assert_int_equal(c->size, 4096);
	uint8_t b = 0xee;
	assert_int_equal(pci_cfg_read(c, 4095, &b, 1), 0);
	assert_int_equal(b, 0);
	assert_int_equal(pci_cfg_read(c, 4096, &b, 1), -EFAULT);
	pci_cfg_free(c);
	assert_null(pci_cfg_new(0));
	assert_null(pci_cfg_new(100));
	assert_null(pci_cfg_new(512));
	pci_cfg_free(NULL);
}

static void test_header_ids(void **state)
{
	struct pci_cfg *cfg = *state;
	assert_int_equal(rd16(cfg, PCI_VENDOR_ID), 0x1234);
	assert_int_equal(rd16(cfg, PCI_DEVICE_ID), 0x11e8);
	assert_int_equal(rd32(cfg, PCI_VENDOR_ID), 0x11e81234);
	assert_int_equal(rd(cfg, PCI_REVISION_ID, 1), 0x10);
	assert_int_equal(rd(cfg, PCI_CLASS_PROG, 1), 0x00);
	assert_int_equal(rd16(cfg, PCI_CLASS_DEVICE), 0x00ff);
	/* Dword 0x08: revision, then the class code. */
	assert_int_equal(rd32(cfg, PCI_CLASS_REVISION), 0x00ff0010);
	assert_int_equal(rd(cfg, PCI_HEADER_TYPE, 1), PCI_HEADER_TYPE_NORMAL);
	assert_int_equal(rd16(cfg, PCI_SUBSYSTEM_VENDOR_ID), 0x1af4);
	assert_int_equal(rd16(cfg, PCI_SUBSYSTEM_ID), 0x1100);
	assert_int_equal(rd(cfg, PCI_INTERRUPT_PIN, 1), 1);
	assert_int_equal(rd16(cfg, PCI_COMMAND), 0);
	/* No capability yet: no list. */
	assert_int_equal(rd16(cfg, PCI_STATUS) & PCI_STATUS_CAP_LIST, 0);
	assert_int_equal(rd(cfg, PCI_CAPABILITY_LIST, 1), 0);
}

static void test_bar_mem32(void **state)
{
	struct pci_cfg *cfg = *state;
	assert_int_equal(pci_cfg_set_bar(cfg, 0, 4096, UVFIO_BAR_MEM32), 0);
	assert_int_equal(pci_cfg_set_bar(cfg, 1, 1u << 20,
					 UVFIO_BAR_MEM32 | UVFIO_BAR_PREFETCH), 0);
	assert_int_equal(pci_cfg_set_bar(cfg, 3, 16, UVFIO_BAR_MEM32), 0);
	assert_int_equal(pci_cfg_set_bar(cfg, 4, 1u << 31, UVFIO_BAR_MEM32), 0);
	assert_int_equal(rd32(cfg, PCI_BASE_ADDRESS_0), 0);
	assert_int_equal(rd32(cfg, PCI_BASE_ADDRESS_1), PCI_BASE_ADDRESS_MEM_PREFETCH);
	wr32(cfg, PCI_BASE_ADDRESS_0, 0xffffffff);
	assert_int_equal(rd32(cfg, PCI_BASE_ADDRESS_0), 0xfffff000);
	wr32(cfg, PCI_BASE_ADDRESS_1, 0xffffffff);
	assert_int_equal(rd32(cfg, PCI_BASE_ADDRESS_1), 0xfff00008);
	wr32(cfg, PCI_BASE_ADDRESS_3, 0xffffffff);
	assert_int_equal(rd32(cfg, PCI_BASE_ADDRESS_3), 0xfffffff0);
	wr32(cfg, PCI_BASE_ADDRESS_4, 0xffffffff);
	assert_int_equal(rd32(cfg, PCI_BASE_ADDRESS_4), 0x80000000);
	/* Programming an address keeps only the decoded bits. */
	wr32(cfg, PCI_BASE_ADDRESS_0, 0xfebf1234);
	assert_int_equal(rd32(cfg, PCI_BASE_ADDRESS_0), 0xfebf1000);
	wr32(cfg, PCI_BASE_ADDRESS_0, 0);
	assert_int_equal(rd32(cfg, PCI_BASE_ADDRESS_0), 0);
	/* The type bits cannot be written. */
	wr32(cfg, PCI_BASE_ADDRESS_1, 0x0000000f);
	assert_int_equal(rd32(cfg, PCI_BASE_ADDRESS_1), 0x00000008);
}

static void test_bar_mem64(void **state)
{
	struct pci_cfg *cfg = *state;
	/* 128 MiB prefetchable 64-bit at BAR2/3: below 4 GiB. */
	assert_int_equal(pci_cfg_set_bar(cfg, 2, 128u << 20,
					 UVFIO_BAR_MEM64 | UVFIO_BAR_PREFETCH), 0);
	assert_int_equal(rd32(cfg, PCI_BASE_ADDRESS_2), 0xc);
	wr32(cfg, PCI_BASE_ADDRESS_2, 0xffffffff);
	wr32(cfg, PCI_BASE_ADDRESS_3, 0xffffffff);
	assert_int_equal(rd32(cfg, PCI_BASE_ADDRESS_2), 0xf800000c);
	/* The upper dword of a BAR under 4 GiB sizes to all ones, not 0. */
	assert_int_equal(rd32(cfg, PCI_BASE_ADDRESS_3), 0xffffffff);
	wr32(cfg, PCI_BASE_ADDRESS_3, 0x00000001);
	assert_int_equal(rd32(cfg, PCI_BASE_ADDRESS_3), 1);

	/* 8 GiB at BAR0/1: the upper dword decodes all but bit 0. */
	assert_int_equal(pci_cfg_set_bar(cfg, 0, 8ull << 30, UVFIO_BAR_MEM64), 0);
	wr32(cfg, PCI_BASE_ADDRESS_0, 0xffffffff);
	wr32(cfg, PCI_BASE_ADDRESS_1, 0xffffffff);
	assert_int_equal(rd32(cfg, PCI_BASE_ADDRESS_0), 0x00000004);
	assert_int_equal(rd32(cfg, PCI_BASE_ADDRESS_1), 0xfffffffe);
	/* 4 GiB exactly: the lower dword decodes no address bit. */
	assert_int_equal(pci_cfg_set_bar(cfg, 4, 4ull << 30, UVFIO_BAR_MEM64), 0);
	wr32(cfg, PCI_BASE_ADDRESS_4, 0xffffffff);
	wr32(cfg, PCI_BASE_ADDRESS_5, 0xffffffff);
	assert_int_equal(rd32(cfg, PCI_BASE_ADDRESS_4), 0x00000004);
	assert_int_equal(rd32(cfg, PCI_BASE_ADDRESS_5), 0xffffffff);
}

static void test_bar_io(void **state)
{
	struct pci_cfg *cfg = *state;
	assert_int_equal(pci_cfg_set_bar(cfg, 5, 256, UVFIO_BAR_IO), 0);
	assert_int_equal(pci_cfg_set_bar(cfg, 4, 4, UVFIO_BAR_IO), 0);
	assert_int_equal(rd32(cfg, PCI_BASE_ADDRESS_5), PCI_BASE_ADDRESS_SPACE_IO);
	wr32(cfg, PCI_BASE_ADDRESS_5, 0xffffffff);
	assert_int_equal(rd32(cfg, PCI_BASE_ADDRESS_5), 0xffffff01);
	wr32(cfg, PCI_BASE_ADDRESS_4, 0xffffffff);
	assert_int_equal(rd32(cfg, PCI_BASE_ADDRESS_4), 0xfffffffd);
	wr32(cfg, PCI_BASE_ADDRESS_5, 0xc000);
	assert_int_equal(rd32(cfg, PCI_BASE_ADDRESS_5), 0xc001);
}

static void test_rom(void **state)
{
	struct pci_cfg *cfg = *state;
	assert_int_equal(pci_cfg_set_rom(cfg, 64u << 10), 0);
	assert_int_equal(pci_cfg_set_rom(cfg, 4096), -EEXIST);
	assert_int_equal(rd32(cfg, PCI_ROM_ADDRESS), 0);
	/* Sizing keeps the enable bit. */
	wr32(cfg, PCI_ROM_ADDRESS, 0xffffffff);
	assert_int_equal(rd32(cfg, PCI_ROM_ADDRESS), 0xffff0001);
	wr32(cfg, PCI_ROM_ADDRESS, 0xfffff800);
	assert_int_equal(rd32(cfg, PCI_ROM_ADDRESS), 0xffff0000);
	wr32(cfg, PCI_ROM_ADDRESS, 0xfe000001);
	assert_int_equal(rd32(cfg, PCI_ROM_ADDRESS), 0xfe000001);
}

/* Every BAR slot that is absent reads 0, before and after sizing. */
static void test_absent_bars_read_zero(void **state)
{
	struct pci_cfg *cfg = *state;
	assert_int_equal(pci_cfg_set_bar(cfg, 2, 4096, UVFIO_BAR_MEM32), 0);
	const unsigned absent[] = { PCI_BASE_ADDRESS_0, PCI_BASE_ADDRESS_1,
				    PCI_BASE_ADDRESS_3, PCI_BASE_ADDRESS_4,
				    PCI_BASE_ADDRESS_5, PCI_ROM_ADDRESS };
	for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
		wr32(cfg, absent[i], 0xffffffff);
		assert_int_equal(rd32(cfg, absent[i]), 0);
		wr(cfg, absent[i] + 1, 0xff, 1);
		assert_int_equal(rd32(cfg, absent[i]), 0);
	}
	wr32(cfg, PCI_BASE_ADDRESS_2, 0xffffffff);
	assert_int_equal(rd32(cfg, PCI_BASE_ADDRESS_2), 0xfffff000);
}

static void test_bad_bars_rejected(void **state)
{
	struct pci_cfg *cfg = *state;
	const struct { unsigned bar; uint64_t size; unsigned flags; } bad[] = {
		{ 0, 0, UVFIO_BAR_MEM32 },
		{ 0, 3000, UVFIO_BAR_MEM32 },
		{ 0, 4097, UVFIO_BAR_MEM32 },
		{ 0, 8, UVFIO_BAR_MEM32 },            /* memory < 16 */
		{ 0, 2, UVFIO_BAR_IO },               /* IO < 4 */
		{ 0, 512, UVFIO_BAR_IO },             /* IO > 256 */
		{ 0, 24, UVFIO_BAR_IO },
		{ 0, 4ull << 30, UVFIO_BAR_MEM32 },   /* 32-bit BAR > 2 GiB */
		{ 5, 4096, UVFIO_BAR_MEM64 },         /* no room for the upper */
		{ 0, 4096, UVFIO_BAR_IO | UVFIO_BAR_MEM64 },
		{ 0, 4096, UVFIO_BAR_IO | UVFIO_BAR_PREFETCH },
		{ 0, 4096, 1u << 7 },                 /* unknown flag */
		{ 6, 4096, UVFIO_BAR_MEM32 },
		{ 100, 4096, UVFIO_BAR_MEM32 },
		{ 0, 3ull << 32, UVFIO_BAR_MEM64 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = pci_cfg_set_bar(cfg, bad[i].bar, bad[i].size, bad[i].flags);
		if (r != -EINVAL)
			fail_msg("BAR%u size 0x%llx flags 0x%x: %d", bad[i].bar,
				 (unsigned long long)bad[i].size, bad[i].flags, r);
	}
	/* Nothing was configured by the refusals. */
	for (unsigned off = PCI_BASE_ADDRESS_0; off <= PCI_BASE_ADDRESS_5; off += 4) {
		wr32(cfg, off, 0xffffffff);
		assert_int_equal(rd32(cfg, off), 0);
	}
	/* Occupied slots. */
	assert_int_equal(pci_cfg_set_bar(cfg, 0, 4096, UVFIO_BAR_MEM64), 0);
	assert_int_equal(pci_cfg_set_bar(cfg, 0, 4096, UVFIO_BAR_MEM32), -EEXIST);
	assert_int_equal(pci_cfg_set_bar(cfg, 1, 4096, UVFIO_BAR_MEM32), -EEXIST);
	assert_int_equal(pci_cfg_set_bar(cfg, 3, 4096, UVFIO_BAR_MEM32), 0);
	assert_int_equal(pci_cfg_set_bar(cfg, 2, 4096, UVFIO_BAR_MEM64), -EEXIST);
	/* ROM sizes. */
	assert_int_equal(pci_cfg_set_rom(cfg, 0), -EINVAL);
	assert_int_equal(pci_cfg_set_rom(cfg, 1024), -EINVAL);
	assert_int_equal(pci_cfg_set_rom(cfg, 3000), -EINVAL);
	assert_int_equal(pci_cfg_set_rom(cfg, 32u << 20), -EINVAL);
}

static void test_read_only_fields_ignore_writes(void **state)
{
	struct pci_cfg *cfg = *state;
	pci_cfg_add_msi(cfg, 1, 0);
	uint8_t before[PCI_CFG_SIZE];
	assert_int_equal(pci_cfg_read(cfg, 0, before, sizeof(before)), 0);
	const struct { unsigned off, len; } ro[] = {
		{ PCI_VENDOR_ID, 2 }, { PCI_DEVICE_ID, 2 }, { PCI_VENDOR_ID, 4 },
		{ PCI_REVISION_ID, 1 }, { PCI_CLASS_PROG, 1 },
		{ PCI_CLASS_DEVICE, 2 }, { PCI_CLASS_REVISION, 4 },
		{ PCI_HEADER_TYPE, 1 }, { PCI_SUBSYSTEM_VENDOR_ID, 4 },
		{ PCI_CAPABILITY_LIST, 1 }, { PCI_INTERRUPT_PIN, 1 },
		{ 0x40, 2 },   /* MSI capability id and next pointer */
	};
	for (size_t i = 0; i < sizeof(ro) / sizeof(ro[0]); i++) {
		wr(cfg, ro[i].off, 0xffffffff, ro[i].len);
		wr(cfg, ro[i].off, 0, ro[i].len);
	}
	uint8_t after[PCI_CFG_SIZE];
	assert_int_equal(pci_cfg_read(cfg, 0, after, sizeof(after)), 0);
	assert_memory_equal(before, after, sizeof(before));
	/* The writable ones next to them do change. */
	wr(cfg, PCI_CACHE_LINE_SIZE, 0x10, 1);
	wr(cfg, PCI_LATENCY_TIMER, 0x40, 1);
	wr(cfg, PCI_INTERRUPT_LINE, 0x0b, 1);
	assert_int_equal(rd(cfg, PCI_CACHE_LINE_SIZE, 1), 0x10);
	assert_int_equal(rd(cfg, PCI_LATENCY_TIMER, 1), 0x40);
	assert_int_equal(rd(cfg, PCI_INTERRUPT_LINE, 1), 0x0b);
	assert_int_equal(rd(cfg, PCI_INTERRUPT_PIN, 1), 1);
}

static void test_status_write_one_to_clear(void **state)
{
	struct pci_cfg *cfg = *state;
	const uint16_t errs = PCI_STATUS_PARITY | PCI_STATUS_SIG_TARGET_ABORT |
			      PCI_STATUS_REC_TARGET_ABORT |
			      PCI_STATUS_REC_MASTER_ABORT |
			      PCI_STATUS_SIG_SYSTEM_ERROR |
			      PCI_STATUS_DETECTED_PARITY;
	/* A 0 write sets nothing: the client cannot raise error bits. */
	wr(cfg, PCI_STATUS, 0xffff, 2);
	assert_int_equal(rd16(cfg, PCI_STATUS), 0);
	/* The device raised every error bit (in its own registers, which
	 * the client cannot set) and has a capability list. */
	assert_int_equal(pci_cfg_add_msi(cfg, 1, 0), 0x40);
	uint16_t st = errs | PCI_STATUS_CAP_LIST;
	const uint8_t raised[2] = { (uint8_t)errs, (uint8_t)(errs >> 8) };
	assert_int_equal(pci_cfg_phys_write(cfg, PCI_STATUS, raised, 2), 0);
	wr(cfg, PCI_STATUS, 0, 2);
	assert_int_equal(rd16(cfg, PCI_STATUS), st);
	wr(cfg, PCI_STATUS, PCI_STATUS_DETECTED_PARITY, 2);
	st &= (uint16_t)~PCI_STATUS_DETECTED_PARITY;
	assert_int_equal(rd16(cfg, PCI_STATUS), st);
	/* A byte write to the high byte clears only its bits. */
	wr(cfg, PCI_STATUS + 1, PCI_STATUS_REC_MASTER_ABORT >> 8, 1);
	st &= (uint16_t)~PCI_STATUS_REC_MASTER_ABORT;
	assert_int_equal(rd16(cfg, PCI_STATUS), st);
	/* A dword write to COMMAND+STATUS clears through the STATUS half. */
	wr32(cfg, PCI_COMMAND, (uint32_t)PCI_STATUS_PARITY << 16 | PCI_COMMAND_MEMORY);
	st &= (uint16_t)~PCI_STATUS_PARITY;
	assert_int_equal(rd16(cfg, PCI_STATUS), st);
	assert_int_equal(rd16(cfg, PCI_COMMAND), PCI_COMMAND_MEMORY);
	/* All ones clears every error bit; the read-only cap bit stays. */
	wr(cfg, PCI_STATUS, 0xffff, 2);
	assert_int_equal(rd16(cfg, PCI_STATUS), PCI_STATUS_CAP_LIST);
}

static void test_command_partial_writes(void **state)
{
	struct pci_cfg *cfg = *state;
	wr(cfg, PCI_COMMAND, 0xffff, 2);
	const uint16_t all = PCI_COMMAND_IO | PCI_COMMAND_MEMORY |
			     PCI_COMMAND_MASTER | PCI_COMMAND_PARITY |
			     PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE;
	assert_int_equal(rd16(cfg, PCI_COMMAND) & all, all);
	assert_int_equal(rd16(cfg, PCI_COMMAND) & 0xf800, 0);  /* reserved */
	wr(cfg, PCI_COMMAND, 0, 2);
	assert_int_equal(rd16(cfg, PCI_COMMAND), 0);
	/* QEMU's value after attach. */
	wr(cfg, PCI_COMMAND, 0x0103, 2);
	assert_int_equal(rd16(cfg, PCI_COMMAND), 0x0103);
	wr(cfg, PCI_COMMAND, 0, 2);
	/* Low byte alone. */
	wr(cfg, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 1);
	assert_int_equal(rd16(cfg, PCI_COMMAND), 0x0006);
	/* High byte alone: INTx disable; the low byte is kept. */
	wr(cfg, PCI_COMMAND + 1, PCI_COMMAND_INTX_DISABLE >> 8, 1);
	assert_int_equal(rd16(cfg, PCI_COMMAND), 0x0406);
	/* Unaligned 2 bytes at 0x03: device ID high byte (RO) + COMMAND low. */
	wr(cfg, 0x03, 0x01ff, 2);
	assert_int_equal(rd16(cfg, PCI_COMMAND), 0x0401);
	assert_int_equal(rd16(cfg, PCI_DEVICE_ID), 0x11e8);
	/* Unaligned 2 bytes at 0x05: COMMAND high + STATUS low. */
	wr(cfg, 0x05, 0xff00, 2);
	assert_int_equal(rd16(cfg, PCI_COMMAND), 0x0001);
	assert_int_equal(rd16(cfg, PCI_STATUS), 0);
	/* 3 bytes at 0x02. */
	wr(cfg, 0x02, 0x020000, 3);
	assert_int_equal(rd16(cfg, PCI_COMMAND), PCI_COMMAND_MEMORY);
	assert_int_equal(rd16(cfg, PCI_DEVICE_ID), 0x11e8);
}

static void test_bar_partial_writes(void **state)
{
	struct pci_cfg *cfg = *state;
	assert_int_equal(pci_cfg_set_bar(cfg, 0, 4096, UVFIO_BAR_MEM32), 0);
	assert_int_equal(pci_cfg_set_bar(cfg, 2, 1u << 20,
					 UVFIO_BAR_MEM64 | UVFIO_BAR_PREFETCH), 0);
	/* One byte: the top byte of BAR0. */
	wr(cfg, PCI_BASE_ADDRESS_0 + 3, 0xfe, 1);
	assert_int_equal(rd32(cfg, PCI_BASE_ADDRESS_0), 0xfe000000);
	wr(cfg, PCI_BASE_ADDRESS_0 + 1, 0xff, 1);
	assert_int_equal(rd32(cfg, PCI_BASE_ADDRESS_0), 0xfe00f000);
	/* The low byte holds only type bits and size-masked bits. */
	wr(cfg, PCI_BASE_ADDRESS_0, 0xff, 1);
	assert_int_equal(rd32(cfg, PCI_BASE_ADDRESS_0), 0xfe00f000);
	/* Two bytes in the middle. */
	wr(cfg, PCI_BASE_ADDRESS_0 + 1, 0x3412, 2);
	assert_int_equal(rd32(cfg, PCI_BASE_ADDRESS_0), 0xfe341000);
	/* Unaligned dword straddling BAR0 and the absent BAR1. */
	wr(cfg, PCI_BASE_ADDRESS_0 + 2, 0xffffabcd, 4);
	assert_int_equal(rd32(cfg, PCI_BASE_ADDRESS_0), 0xabcd1000);
	assert_int_equal(rd32(cfg, PCI_BASE_ADDRESS_1), 0);
	/* Straddling the two halves of the 64-bit BAR2. */
	wr(cfg, PCI_BASE_ADDRESS_2 + 2, 0x5678fff0, 4);
	assert_int_equal(rd32(cfg, PCI_BASE_ADDRESS_2), 0xfff0000c);
	assert_int_equal(rd32(cfg, PCI_BASE_ADDRESS_3), 0x00005678);
	/* One byte of the upper dword. */
	wr(cfg, PCI_BASE_ADDRESS_3 + 3, 0x80, 1);
	assert_int_equal(rd32(cfg, PCI_BASE_ADDRESS_3), 0x80005678);
}

static void test_out_of_range(void **state)
{
	struct pci_cfg *cfg = *state;
	uint8_t b[8] = { 0 };
	const struct { uint64_t off; size_t len; } bad[] = {
		{ 256, 1 }, { 255, 2 }, { 253, 4 }, { 0, 257 }, { 1000, 1 },
		{ UINT64_MAX, 1 }, { UINT64_MAX - 1, 4 }, { UINT64_MAX - 3, 8 },
		{ (uint64_t)-256, 4 }, { 1ull << 32, 1 }, { 1ull << 63, 4 },
		{ 4, (size_t)-1 }, { 0, (size_t)-4 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* Lengths beyond the buffer are refused before any copy. */
		assert_int_equal(pci_cfg_read(cfg, bad[i].off, b, bad[i].len), -EFAULT);
		assert_int_equal(pci_cfg_write(cfg, bad[i].off, b, bad[i].len), -EFAULT);
	}
	/* The last byte and the last dword are reachable. */
	assert_int_equal(pci_cfg_read(cfg, 255, b, 1), 0);
	assert_int_equal(pci_cfg_read(cfg, 252, b, 4), 0);
	assert_int_equal(pci_cfg_write(cfg, 252, b, 4), 0);
	/* A refused write changed nothing. */
	assert_int_equal(rd16(cfg, PCI_VENDOR_ID), 0x1234);
}

static void test_msi_capability(void **state)
{
	struct pci_cfg *cfg = *state;
	int off = pci_cfg_add_msi(cfg, 4, UVFIO_MSI_64BIT | UVFIO_MSI_MASKABLE);
	assert_int_equal(off, 0x40);
	assert_int_equal(cfg->msi_off, 0x40);
	assert_int_equal(pci_cfg_msi_vectors(cfg), 4);
	/* Linked from 0x34, and STATUS says there is a list. */
	assert_int_equal(rd(cfg, PCI_CAPABILITY_LIST, 1), 0x40);
	assert_true(rd16(cfg, PCI_STATUS) & PCI_STATUS_CAP_LIST);
	assert_int_equal(rd(cfg, 0x40 + PCI_CAP_LIST_ID, 1), PCI_CAP_ID_MSI);
	assert_int_equal(rd(cfg, 0x40 + PCI_CAP_LIST_NEXT, 1), 0);
	uint16_t flags = rd16(cfg, 0x40 + PCI_MSI_FLAGS);
	assert_int_equal(flags & PCI_MSI_FLAGS_QMASK, 2 << 1);  /* 4 vectors */
	assert_true(flags & PCI_MSI_FLAGS_64BIT);
	assert_true(flags & PCI_MSI_FLAGS_MASKBIT);
	assert_false(flags & PCI_MSI_FLAGS_ENABLE);
	assert_int_equal(flags & PCI_MSI_FLAGS_QSIZE, 0);

	/* Enable and Multiple Message Enable are writable (while SET_IRQS
	 * has MSI enabled with enough vectors, as the device layer says)... */
	pci_cfg_irq_state(cfg, VFIO_PCI_MSI_IRQ_INDEX, 4);
	wr(cfg, 0x40 + PCI_MSI_FLAGS, PCI_MSI_FLAGS_ENABLE | (2 << 4), 2);
	uint16_t now = rd16(cfg, 0x40 + PCI_MSI_FLAGS);
	assert_true(now & PCI_MSI_FLAGS_ENABLE);
	assert_int_equal(now & PCI_MSI_FLAGS_QSIZE, 2 << 4);
	/* ...the capability bits are not. */
	wr(cfg, 0x40 + PCI_MSI_FLAGS, 0, 2);
	now = rd16(cfg, 0x40 + PCI_MSI_FLAGS);
	assert_int_equal(now, flags);
	wr(cfg, 0x40 + PCI_MSI_FLAGS, 0xff8e, 2);
	assert_int_equal(rd16(cfg, 0x40 + PCI_MSI_FLAGS), flags);
	/* Address (dword aligned), upper address, data. */
	wr32(cfg, 0x40 + PCI_MSI_ADDRESS_LO, 0xffffffff);
	assert_int_equal(rd32(cfg, 0x40 + PCI_MSI_ADDRESS_LO), 0xfffffffc);
	wr32(cfg, 0x40 + PCI_MSI_ADDRESS_HI, 0x12345678);
	assert_int_equal(rd32(cfg, 0x40 + PCI_MSI_ADDRESS_HI), 0x12345678);
	wr(cfg, 0x40 + PCI_MSI_DATA_64, 0xbeef, 2);
	assert_int_equal(rd16(cfg, 0x40 + PCI_MSI_DATA_64), 0xbeef);
	/* Mask bits: one per vector. */
	wr32(cfg, 0x40 + PCI_MSI_MASK_64, 0xffffffff);
	assert_int_equal(rd32(cfg, 0x40 + PCI_MSI_MASK_64), 0xf);
	/* Pending bits are the device's. */
	wr32(cfg, 0x40 + PCI_MSI_PENDING_64, 0xffffffff);
	assert_int_equal(rd32(cfg, 0x40 + PCI_MSI_PENDING_64), 0);

	assert_int_equal(pci_cfg_add_msi(cfg, 1, 0), -EEXIST);
}

static void test_msi_bad_args(void **state)
{
	struct pci_cfg *cfg = *state;
	assert_int_equal(pci_cfg_add_msi(cfg, 0, 0), -EINVAL);
	assert_int_equal(pci_cfg_add_msi(cfg, 3, 0), -EINVAL);
	assert_int_equal(pci_cfg_add_msi(cfg, 64, 0), -EINVAL);
	assert_int_equal(pci_cfg_add_msi(cfg, 4, 1u << 5), -EINVAL);
	assert_int_equal(pci_cfg_msi_vectors(cfg), 0);
	assert_int_equal(rd(cfg, PCI_CAPABILITY_LIST, 1), 0);
	/* 32-bit, one vector: data right after the 32-bit address. */
	assert_int_equal(pci_cfg_add_msi(cfg, 32, 0), 0x40);
	assert_int_equal(pci_cfg_msi_vectors(cfg), 32);
	wr(cfg, 0x40 + PCI_MSI_DATA_32, 0x4321, 2);
	assert_int_equal(rd16(cfg, 0x40 + PCI_MSI_DATA_32), 0x4321);
	assert_false(rd16(cfg, 0x40 + PCI_MSI_FLAGS) & PCI_MSI_FLAGS_64BIT);
}

/* Capabilities chain in order; the chain cannot outgrow 256 bytes. */
static void test_capability_chain(void **state)
{
	struct pci_cfg *cfg = *state;
	assert_int_equal(pci_cfg_add_msi(cfg, 1, UVFIO_MSI_64BIT), 0x40);
	int v = pci_cfg_add_cap(cfg, PCI_CAP_ID_VNDR, 9);
	assert_true(v > 0x40 + 13);
	assert_int_equal(v % 4, 0);
	assert_int_equal(rd(cfg, 0x40 + PCI_CAP_LIST_NEXT, 1), v);
	assert_int_equal(rd(cfg, (unsigned)v, 1), PCI_CAP_ID_VNDR);
	assert_int_equal(rd(cfg, (unsigned)v + 1, 1), 0);
	/* Walk the chain as a driver would. */
	unsigned pos = rd(cfg, PCI_CAPABILITY_LIST, 1), n = 0;
	while (pos && n < 48) {
		n++;
		pos = rd(cfg, pos + 1, 1);
	}
	assert_int_equal(n, 2);
	assert_int_equal(pci_cfg_add_cap(cfg, PCI_CAP_ID_VNDR, 200), -ENOSPC);
	/* Too short to hold its header: a bad argument. */
	assert_int_equal(pci_cfg_add_cap(cfg, PCI_CAP_ID_VNDR, 1), -EINVAL);
	/* Too short for the registers of its kind (AF is 6 bytes). */
	assert_int_equal(pci_cfg_add_cap(cfg, PCI_CAP_ID_AF, 4), -EINVAL);
	assert_int_equal(pci_cfg_add_cap(cfg, PCI_CAP_ID_AF, 8), v + 12);
}

/*
 * A reset keeps what vfio-pci keeps (its virtual copy is left alone and
 * the control registers it saved are written back): BARs, ROM, COMMAND,
 * interrupt line, MSI address and data.  Interrupts are off, so MSI's
 * flags, and error status, are back to power-on values.
 */
static void test_reset_keeps_what_the_kernel_keeps(void **state)
{
	struct pci_cfg *cfg = *state;
	assert_int_equal(pci_cfg_set_bar(cfg, 0, 4096, UVFIO_BAR_MEM32), 0);
	assert_int_equal(pci_cfg_set_bar(cfg, 2, 1u << 20, UVFIO_BAR_MEM64), 0);
	assert_int_equal(pci_cfg_set_rom(cfg, 4096), 0);
	assert_int_equal(pci_cfg_add_msi(cfg, 2, UVFIO_MSI_64BIT), 0x40);
	pci_cfg_seal(cfg);
	uint8_t power_on[PCI_CFG_SIZE];
	assert_int_equal(pci_cfg_read(cfg, 0, power_on, sizeof(power_on)), 0);

	wr(cfg, PCI_COMMAND, 0x0107, 2);
	wr32(cfg, PCI_BASE_ADDRESS_0, 0xfe000000);
	wr32(cfg, PCI_BASE_ADDRESS_2, 0xffffffff);
	wr32(cfg, PCI_BASE_ADDRESS_3, 0xffffffff);
	wr32(cfg, PCI_ROM_ADDRESS, 0xffffffff);
	wr(cfg, PCI_INTERRUPT_LINE, 5, 1);
	wr(cfg, 0x40 + PCI_MSI_FLAGS, PCI_MSI_FLAGS_ENABLE | (1 << 4), 2);
	wr32(cfg, 0x40 + PCI_MSI_ADDRESS_LO, 0xfee00000);
	wr(cfg, 0x40 + PCI_MSI_DATA_64, 0x41, 2);
	uint8_t changed[PCI_CFG_SIZE];
	assert_int_equal(pci_cfg_read(cfg, 0, changed, sizeof(changed)), 0);
	assert_memory_not_equal(changed, power_on, sizeof(power_on));

	/* The device reports an error in STATUS. */
	uint8_t st = PCI_STATUS_SIG_SYSTEM_ERROR >> 8;
	assert_int_equal(pci_cfg_phys_write(cfg, PCI_STATUS + 1, &st, 1), 0);
	assert_true(rd16(cfg, PCI_STATUS) & PCI_STATUS_SIG_SYSTEM_ERROR);

	pci_cfg_reset(cfg);
	uint8_t after[PCI_CFG_SIZE];
	assert_int_equal(pci_cfg_read(cfg, 0, after, sizeof(after)), 0);
	/* Everything as programmed but MSI's flags and STATUS. */
	uint8_t want[PCI_CFG_SIZE];
	memcpy(want, changed, sizeof(want));
	memcpy(want + 0x40 + PCI_MSI_FLAGS, power_on + 0x40 + PCI_MSI_FLAGS, 2);
	memcpy(want + PCI_STATUS, power_on + PCI_STATUS, 2);
	assert_memory_equal(after, want, sizeof(want));
	assert_int_equal(rd16(cfg, PCI_COMMAND), 0x0107);
	assert_int_equal(rd32(cfg, PCI_BASE_ADDRESS_0), 0xfe000000);
	assert_int_equal(rd(cfg, PCI_INTERRUPT_LINE, 1), 5);
	assert_int_equal(rd32(cfg, 0x40 + PCI_MSI_ADDRESS_LO), 0xfee00000);
	assert_false(rd16(cfg, 0x40 + PCI_MSI_FLAGS) & PCI_MSI_FLAGS_ENABLE);
	assert_false(rd16(cfg, PCI_STATUS) & PCI_STATUS_SIG_SYSTEM_ERROR);
	/* Sizing still works after a reset. */
	wr32(cfg, PCI_BASE_ADDRESS_0, 0xffffffff);
	assert_int_equal(rd32(cfg, PCI_BASE_ADDRESS_0), 0xfffff000);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_sizes),
		T(test_header_ids),
		T(test_bar_mem32),
		T(test_bar_mem64),
		T(test_bar_io),
		T(test_rom),
		T(test_absent_bars_read_zero),
		T(test_bad_bars_rejected),
		T(test_read_only_fields_ignore_writes),
		T(test_status_write_one_to_clear),
		T(test_command_partial_writes),
		T(test_bar_partial_writes),
		T(test_out_of_range),
		T(test_msi_capability),
		T(test_msi_bad_args),
		T(test_capability_chain),
		T(test_reset_keeps_what_the_kernel_keeps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
