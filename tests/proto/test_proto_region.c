/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * REGION_READ/REGION_WRITE against a real uvfio-serve: data in every kind
 * of region, bounds (bad indexes, offsets near 2^64, offset+count
 * overflow, counts over the transfer limit), and config space (region 7)
 * with 1-byte, 2-byte and unaligned accesses, per REFERENCE §2.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices/models.h"
#include "proto_util.h"

#define CFG VFIO_PCI_CONFIG_REGION_INDEX
#define MIB (1u << 20)

static uint32_t cfg_rd(struct pc *pc, uint64_t off, uint32_t len)
{
	uint8_t b[4] = { 0 };
	int r = pc_region_read(pc, CFG, off, b, len);
	if (r)
		fail_msg("config read 0x%llx/%u: %d", (unsigned long long)off, len, r);
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
}

/* Config writes are never refused for touching read-only bits. */
static void cfg_wr(struct pc *pc, uint64_t off, uint32_t v, uint32_t len)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
			 (uint8_t)(v >> 24) };
	int r = pc_region_write(pc, CFG, off, b, len);
	if (r)
		fail_msg("config write 0x%llx/%u: %d", (unsigned long long)off, len, r);
}

/* Connect and bring the device back to power-on state. */
static void open_reset(struct pc *pc)
{
	pc_open(pc);
	assert_int_equal(pc_call(pc, VU_CMD_DEVICE_RESET, NULL, 0, NULL, 0), 0);
}

static void test_region_data(void **state)
{
	struct pc pc;
	open_reset(&pc);
	/* BAR0 registers, whole and in parts. */
	assert_int_equal(pc_rd32(&pc, 0, TESTDEV_REG_ID), TESTDEV_ID_VALUE);
	uint8_t b[8] = { 0 };
	assert_int_equal(pc_region_read(&pc, 0, TESTDEV_REG_ID + 1, b, 2), 0);
	assert_int_equal(b[0], (uint8_t)(TESTDEV_ID_VALUE >> 8));
	assert_int_equal(b[1], (uint8_t)(TESTDEV_ID_VALUE >> 16));
	pc_wr32(&pc, 0, TESTDEV_REG_SCRATCH, 0xa1b2c3d4);
	assert_int_equal(pc_rd32(&pc, 0, TESTDEV_REG_SCRATCH), 0xa1b2c3d4);
	uint8_t one = 0x77;
	assert_int_equal(pc_region_write(&pc, 0, TESTDEV_REG_SCRATCH, &one, 1), 0);
	assert_int_equal(pc_rd32(&pc, 0, TESTDEV_REG_SCRATCH), 0xa1b2c377);
	uint32_t c0 = pc_rd32(&pc, 0, TESTDEV_REG_COUNT);
	pc_wr32(&pc, 0, TESTDEV_REG_BUMP, 5);
	pc_wr32(&pc, 0, TESTDEV_REG_BUMP, 6);
	assert_int_equal(pc_rd32(&pc, 0, TESTDEV_REG_COUNT), c0 + 11);
	/* Read-only register: the write is accepted and has no effect. */
	pc_wr32(&pc, 0, TESTDEV_REG_ID, 0);
	assert_int_equal(pc_rd32(&pc, 0, TESTDEV_REG_ID), TESTDEV_ID_VALUE);

	/* BAR2 memory up to its last byte. */
	uint8_t page[4096];
	for (unsigned i = 0; i < sizeof(page); i++)
		page[i] = (uint8_t)(i ^ 0x3c);
	uint64_t last = TESTDEV_BAR2_SIZE - sizeof(page);
	assert_int_equal(pc_region_write(&pc, 2, last, page, sizeof(page)), 0);
	uint8_t back[4096];
	assert_int_equal(pc_region_read(&pc, 2, last, back, sizeof(back)), 0);
	assert_memory_equal(back, page, sizeof(page));
	assert_int_equal(pc_region_read(&pc, 2, TESTDEV_BAR2_SIZE - 1, b, 1), 0);
	assert_int_equal(b[0], page[4095]);

	/* BAR4: inside and outside its mmap-able areas. */
	const uint64_t offs4[] = { 0, 0x1000, 0x2ffc, 0x8000, 0xfff8 };
	for (size_t i = 0; i < 5; i++) {
		uint64_t v = 0x0102030405060708ull * (i + 1);
		assert_int_equal(pc_region_write(&pc, 4, offs4[i], &v, 8), 0);
		uint64_t r = 0;
		assert_int_equal(pc_region_read(&pc, 4, offs4[i], &r, 8), 0);
		assert_true(r == v);
	}
	/* BAR5 (IO, callbacks) and region 9. */
	for (uint32_t region = 5; region <= 9; region += 4) {
		uint8_t d[16];
		for (int i = 0; i < 16; i++)
			d[i] = (uint8_t)(region * 16 + i);
		assert_int_equal(pc_region_write(&pc, region, 0xf0, d, 16), 0);
		uint8_t r[16];
		assert_int_equal(pc_region_read(&pc, region, 0xf0, r, 16), 0);
		assert_memory_equal(r, d, 16);
	}
	/* The ROM: its image, and read-only. */
	uint8_t rom[TESTDEV_ROM_SIZE];
	assert_int_equal(pc_region_read(&pc, 6, 0, rom, sizeof(rom)), 0);
	assert_int_equal(rom[0], 0x55);
	assert_int_equal(rom[1], 0xaa);
	assert_int_equal(rom[100], (uint8_t)(100 * 7 + 3));
	assert_int_equal(pc_region_write(&pc, 6, 0, b, 4), -EINVAL);
	assert_int_equal(pc_region_read(&pc, 6, 0, b, 2), 0);
	assert_int_equal(b[0], 0x55);
	pc_close(&pc);
}

static void test_region_bounds(void **state)
{
	struct pc pc;
	pc_open(&pc);
	uint8_t b[16] = { 0 };
	/* Absent or nonexistent regions. */
	const uint32_t bad_region[] = { 1, 3, 8, 10, 15, 16, 255, UINT32_MAX };
	for (size_t i = 0; i < sizeof(bad_region) / sizeof(bad_region[0]); i++) {
		assert_int_equal(pc_region_read(&pc, bad_region[i], 0, b, 4), -EINVAL);
		assert_int_equal(pc_region_write(&pc, bad_region[i], 0, b, 4), -EINVAL);
	}
	/* Offsets and counts outside each region, with and without wrap. */
	const struct { uint32_t region; uint64_t off; uint32_t count; } bad[] = {
		{ 0, TESTDEV_BAR0_SIZE, 1 }, { 0, TESTDEV_BAR0_SIZE - 1, 2 },
		{ 0, TESTDEV_BAR0_SIZE - 4, 8 }, { 0, UINT64_MAX, 1 },
		{ 0, UINT64_MAX - 3, 4 }, { 0, UINT64_MAX - 1, 4 },
		{ 0, 1ull << 63, 4 }, { 0, 1ull << 32, 4 },
		{ 0, (uint64_t)-(int64_t)TESTDEV_BAR0_SIZE, 8 },
		{ 2, TESTDEV_BAR2_SIZE, 1 }, { 2, UINT64_MAX - 15, 16 },
		{ 4, TESTDEV_BAR4_SIZE - 2, 4 }, { 5, 0xf8, 16 }, { 5, 256, 1 },
		{ 6, TESTDEV_ROM_SIZE, 1 }, { 9, UINT64_MAX - 7, 16 },
		{ 7, 256, 1 }, { 7, 255, 2 }, { 7, 252, 8 }, { 7, UINT64_MAX, 1 },
		{ 7, UINT64_MAX - 2, 4 }, { 7, 1ull << 32, 1 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = pc_region_read(&pc, bad[i].region, bad[i].off, b, bad[i].count);
		int w = pc_region_write(&pc, bad[i].region, bad[i].off, b, bad[i].count);
		/* vfio-pci: config space (region 7) out of range is EFAULT. */
		int want = bad[i].region == 7 ? -EFAULT : -EINVAL;
		if (r != want || w != want)
			fail_msg("region %u off 0x%llx count %u: read %d write %d",
				 bad[i].region, (unsigned long long)bad[i].off,
				 bad[i].count, r, w);
	}
	/* Count zero. */
	assert_int_equal(pc_region_read(&pc, 0, 0, b, 0), -EINVAL);
	struct vu_region_rw z = { .offset = 0, .region = 0, .count = 0 };
	assert_int_equal(pc_call(&pc, VU_CMD_REGION_WRITE, &z, sizeof(z), NULL, 0),
			 -EINVAL);
	/* A count that does not match the data sent. */
	uint8_t wr[16 + 8] = { 0 };
	memcpy(wr, &(struct vu_region_rw){ .offset = 4, .region = 0, .count = 8 }, 16);
	assert_int_equal(pc_call(&pc, VU_CMD_REGION_WRITE, wr, 16 + 4, NULL, 0), -EINVAL);
	memcpy(wr, &(struct vu_region_rw){ .offset = 4, .region = 0, .count = 4 }, 16);
	assert_int_equal(pc_call(&pc, VU_CMD_REGION_WRITE, wr, 16 + 8, NULL, 0), -EINVAL);
	pc_get_info_ok(&pc);
	pc_close(&pc);
}

static void test_transfer_limit(void **state)
{
	struct pc pc;
	pc_open(&pc);
	struct vu_region_rw rd = { .offset = 0, .region = 2, .count = MIB + 1 };
	assert_int_equal(pc_call(&pc, VU_CMD_REGION_READ, &rd, sizeof(rd), NULL, 0),
			 -E2BIG);
	rd.count = UINT32_MAX;
	assert_int_equal(pc_call(&pc, VU_CMD_REGION_READ, &rd, sizeof(rd), NULL, 0),
			 -E2BIG);
	/* Even for a small region. */
	rd.region = 0;
	rd.count = 2 * MIB;
	assert_int_equal(pc_call(&pc, VU_CMD_REGION_READ, &rd, sizeof(rd), NULL, 0),
			 -E2BIG);
	uint8_t *big = calloc(1, MIB + 1);
	assert_non_null(big);
	assert_int_equal(pc_region_write(&pc, 2, 0, big, MIB + 1), -E2BIG);
	/* Exactly the limit works both ways. */
	memset(big, 0x5e, MIB);
	assert_int_equal(pc_region_write(&pc, 2, 4 * MIB, big, MIB), 0);
	memset(big, 0, MIB);
	assert_int_equal(pc_region_read(&pc, 2, 4 * MIB, big, MIB), 0);
	for (size_t i = 0; i < MIB; i += 4099)
		assert_int_equal(big[i], 0x5e);
	assert_int_equal(big[MIB - 1], 0x5e);
	free(big);
	pc_close(&pc);
}

static void test_config_header(void **state)
{
	struct pc pc;
	open_reset(&pc);
	uint8_t c[256];
	assert_int_equal(pc_region_read(&pc, CFG, 0, c, 256), 0);
	assert_int_equal(c[0] | c[1] << 8, TESTDEV_VENDOR);
	assert_int_equal(c[2] | c[3] << 8, TESTDEV_DEVICE);
	assert_int_equal(cfg_rd(&pc, PCI_CLASS_REVISION, 4), 0xff000001);
	assert_int_equal(cfg_rd(&pc, PCI_HEADER_TYPE, 1), 0);
	assert_int_equal(cfg_rd(&pc, PCI_SUBSYSTEM_VENDOR_ID, 2), TESTDEV_VENDOR);
	assert_int_equal(cfg_rd(&pc, PCI_SUBSYSTEM_ID, 2), 1);
	assert_int_equal(cfg_rd(&pc, PCI_INTERRUPT_PIN, 1), 1);
	assert_int_equal(cfg_rd(&pc, PCI_COMMAND, 2), 0);
	/* The MSI capability, linked from 0x34. */
	assert_true(cfg_rd(&pc, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	uint32_t cap = cfg_rd(&pc, PCI_CAPABILITY_LIST, 1);
	assert_int_equal(cap, 0x40);
	assert_int_equal(cfg_rd(&pc, cap, 1), PCI_CAP_ID_MSI);
	/* Then MSI-X: 8 vectors, table and PBA in BAR0, and the end. */
	uint32_t msix = cfg_rd(&pc, cap + 1, 1);
	assert_true(msix > cap);
	assert_int_equal(cfg_rd(&pc, msix, 1), PCI_CAP_ID_MSIX);
	assert_int_equal(cfg_rd(&pc, msix + 1, 1), 0);
	assert_int_equal(cfg_rd(&pc, msix + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_QSIZE,
			 TESTDEV_MSIX_VECTORS - 1);
	assert_int_equal(cfg_rd(&pc, msix + PCI_MSIX_TABLE, 4),
			 TESTDEV_MSIX_TABLE | 0);
	assert_int_equal(cfg_rd(&pc, msix + PCI_MSIX_PBA, 4), TESTDEV_MSIX_PBA | 0);
	uint32_t flags = cfg_rd(&pc, cap + PCI_MSI_FLAGS, 2);
	assert_int_equal(flags & PCI_MSI_FLAGS_QMASK, 2 << 1);
	assert_true(flags & PCI_MSI_FLAGS_64BIT);
	assert_true(flags & PCI_MSI_FLAGS_MASKBIT);
	/* BARs at power-on: type bits only. */
	assert_int_equal(cfg_rd(&pc, PCI_BASE_ADDRESS_0, 4), 0);
	assert_int_equal(cfg_rd(&pc, PCI_BASE_ADDRESS_2, 4),
			 PCI_BASE_ADDRESS_MEM_TYPE_64 | PCI_BASE_ADDRESS_MEM_PREFETCH);
	assert_int_equal(cfg_rd(&pc, PCI_BASE_ADDRESS_5, 4), PCI_BASE_ADDRESS_SPACE_IO);
	pc_close(&pc);
}

static void test_config_command_partial(void **state)
{
	struct pc pc;
	open_reset(&pc);
	cfg_wr(&pc, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 1);
	assert_int_equal(cfg_rd(&pc, PCI_COMMAND, 2), 0x0006);
	cfg_wr(&pc, PCI_COMMAND + 1, PCI_COMMAND_INTX_DISABLE >> 8, 1);
	assert_int_equal(cfg_rd(&pc, PCI_COMMAND, 2), 0x0406);
	assert_int_equal(cfg_rd(&pc, PCI_COMMAND + 1, 1), 0x04);
	/* Unaligned: device ID high byte (read-only) + COMMAND low byte. */
	cfg_wr(&pc, 0x03, 0x01ff, 2);
	assert_int_equal(cfg_rd(&pc, PCI_COMMAND, 2), 0x0401);
	assert_int_equal(cfg_rd(&pc, PCI_DEVICE_ID, 2), TESTDEV_DEVICE);
	/* Unaligned: COMMAND high + STATUS low. */
	cfg_wr(&pc, 0x05, 0xff00, 2);
	assert_int_equal(cfg_rd(&pc, PCI_COMMAND, 2), 0x0001);
	/* A dword write to COMMAND cannot set STATUS bits. */
	cfg_wr(&pc, PCI_COMMAND, 0xffff0103, 4);
	assert_int_equal(cfg_rd(&pc, PCI_COMMAND, 2), 0x0103);
	assert_int_equal(cfg_rd(&pc, PCI_STATUS, 2), PCI_STATUS_CAP_LIST);
	/* Writable bytes around: cache line, latency, interrupt line. */
	cfg_wr(&pc, PCI_CACHE_LINE_SIZE, 0x4010, 2);
	assert_int_equal(cfg_rd(&pc, PCI_CACHE_LINE_SIZE, 2), 0x4010);
	cfg_wr(&pc, PCI_INTERRUPT_LINE, 0xff0b, 2);
	assert_int_equal(cfg_rd(&pc, PCI_INTERRUPT_LINE, 1), 0x0b);
	assert_int_equal(cfg_rd(&pc, PCI_INTERRUPT_PIN, 1), 1);
	pc_close(&pc);
}

static void test_config_bar_sizing(void **state)
{
	struct pc pc;
	open_reset(&pc);
	const struct { unsigned off; uint32_t want; } bars[] = {
		{ PCI_BASE_ADDRESS_0, 0xfffff000 },       /* 4 KiB MEM32 */
		{ PCI_BASE_ADDRESS_1, 0 },                /* absent */
		{ PCI_BASE_ADDRESS_2, 0xf800000c },       /* 128 MiB MEM64 pref */
		{ PCI_BASE_ADDRESS_3, 0xffffffff },       /* its upper dword */
		{ PCI_BASE_ADDRESS_4, 0xffff0000 },       /* 64 KiB MEM32 */
		{ PCI_BASE_ADDRESS_5, 0xffffff01 },       /* 256 B IO */
		{ PCI_ROM_ADDRESS, 0xfffff001 },          /* 4 KiB ROM + enable */
	};
	for (size_t i = 0; i < sizeof(bars) / sizeof(bars[0]); i++) {
		cfg_wr(&pc, bars[i].off, 0xffffffff, 4);
		uint32_t v = cfg_rd(&pc, bars[i].off, 4);
		if (v != bars[i].want)
			fail_msg("BAR at 0x%x sized to 0x%08x, want 0x%08x",
				 bars[i].off, v, bars[i].want);
	}
	/* Byte writes to BARs touch only their byte. */
	cfg_wr(&pc, PCI_BASE_ADDRESS_0, 0, 4);
	cfg_wr(&pc, PCI_BASE_ADDRESS_0 + 3, 0xfe, 1);
	assert_int_equal(cfg_rd(&pc, PCI_BASE_ADDRESS_0, 4), 0xfe000000);
	cfg_wr(&pc, PCI_BASE_ADDRESS_0 + 1, 0xff, 1);
	assert_int_equal(cfg_rd(&pc, PCI_BASE_ADDRESS_0, 4), 0xfe00f000);
	cfg_wr(&pc, PCI_BASE_ADDRESS_0, 0xff, 1);
	assert_int_equal(cfg_rd(&pc, PCI_BASE_ADDRESS_0, 4), 0xfe00f000);
	cfg_wr(&pc, PCI_BASE_ADDRESS_3 + 3, 0x12, 1);
	assert_int_equal(cfg_rd(&pc, PCI_BASE_ADDRESS_3, 4), 0x12ffffff);
	/* Unaligned across BAR0 and BAR1: BAR1 stays absent. */
	cfg_wr(&pc, PCI_BASE_ADDRESS_0 + 2, 0xffffabcd, 4);
	assert_int_equal(cfg_rd(&pc, PCI_BASE_ADDRESS_0, 4), 0xabcdf000);
	assert_int_equal(cfg_rd(&pc, PCI_BASE_ADDRESS_1, 4), 0);
	/* A 2-byte read in the middle of a BAR. */
	assert_int_equal(cfg_rd(&pc, PCI_BASE_ADDRESS_0 + 1, 2), 0xcdf0);
	/* Programming addresses as firmware does, then a reset. */
	cfg_wr(&pc, PCI_BASE_ADDRESS_2, 0xe0000000, 4);
	cfg_wr(&pc, PCI_BASE_ADDRESS_3, 0x00000001, 4);
	assert_int_equal(cfg_rd(&pc, PCI_BASE_ADDRESS_2, 4), 0xe000000c);
	assert_int_equal(cfg_rd(&pc, PCI_BASE_ADDRESS_3, 4), 1);
	/* A reset keeps them, as vfio-pci's virtual BARs. */
	assert_int_equal(pc_call(&pc, VU_CMD_DEVICE_RESET, NULL, 0, NULL, 0), 0);
	assert_int_equal(cfg_rd(&pc, PCI_BASE_ADDRESS_0, 4), 0xabcdf000);
	assert_int_equal(cfg_rd(&pc, PCI_BASE_ADDRESS_2, 4), 0xe000000c);
	assert_int_equal(cfg_rd(&pc, PCI_BASE_ADDRESS_3, 4), 1);
	pc_close(&pc);
}

static void test_config_read_only_ignored(void **state)
{
	struct pc pc;
	open_reset(&pc);
	uint8_t before[256], after[256];
	assert_int_equal(pc_region_read(&pc, CFG, 0, before, 256), 0);
	const struct { unsigned off, len; } ro[] = {
		{ PCI_VENDOR_ID, 4 }, { PCI_VENDOR_ID, 2 }, { PCI_DEVICE_ID, 1 },
		{ PCI_CLASS_REVISION, 4 }, { PCI_REVISION_ID, 1 },
		{ PCI_CLASS_DEVICE, 2 }, { PCI_HEADER_TYPE, 1 },
		{ PCI_SUBSYSTEM_VENDOR_ID, 4 }, { PCI_CAPABILITY_LIST, 1 },
		{ PCI_INTERRUPT_PIN, 1 }, { 0x40, 2 }, { PCI_STATUS, 2 },
	};
	for (size_t i = 0; i < sizeof(ro) / sizeof(ro[0]); i++) {
		cfg_wr(&pc, ro[i].off, 0xffffffff, ro[i].len);
		cfg_wr(&pc, ro[i].off, 0, ro[i].len);
	}
	assert_int_equal(pc_region_read(&pc, CFG, 0, after, 256), 0);
	assert_memory_equal(before, after, 256);
	/* Writing all 256 bytes back as read is accepted too. */
	assert_int_equal(pc_region_write(&pc, CFG, 0, before, 256), 0);
	assert_int_equal(pc_region_read(&pc, CFG, 0, after, 256), 0);
	assert_memory_equal(before, after, 256);
	pc_close(&pc);
}

static void test_config_msi_and_reset(void **state)
{
	struct pc pc;
	open_reset(&pc);
	uint32_t flags0 = cfg_rd(&pc, 0x40 + PCI_MSI_FLAGS, 2);
	cfg_wr(&pc, 0x40 + PCI_MSI_ADDRESS_LO, 0xfee00000, 4);
	cfg_wr(&pc, 0x40 + PCI_MSI_DATA_64, 0x4021, 2);
	/* As vfio-pci: Enable sticks only while SET_IRQS has MSI enabled,
	 * Multiple Message Enable up to the vectors it allocated. */
	cfg_wr(&pc, 0x40 + PCI_MSI_FLAGS, PCI_MSI_FLAGS_ENABLE | (2 << 4), 1);
	assert_int_equal(cfg_rd(&pc, 0x40 + PCI_MSI_FLAGS, 2), flags0);
	int fds[4];
	for (int i = 0; i < 4; i++)
		fds[i] = pc_eventfd();
	struct vu_irq_set is = {
		.argsz = sizeof(is), .index = VFIO_PCI_MSI_IRQ_INDEX, .count = 4,
		.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
	};
	assert_int_equal(pc_call(&pc, VU_CMD_DEVICE_SET_IRQS, &is, sizeof(is),
				 fds, 4), 0);
	cfg_wr(&pc, 0x40 + PCI_MSI_FLAGS, PCI_MSI_FLAGS_ENABLE | (3 << 4), 1);
	assert_int_equal(cfg_rd(&pc, 0x40 + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_QSIZE,
			 2 << 4);
	cfg_wr(&pc, 0x40 + PCI_MSI_FLAGS, PCI_MSI_FLAGS_ENABLE | (2 << 4), 1);
	uint32_t f = cfg_rd(&pc, 0x40 + PCI_MSI_FLAGS, 2);
	assert_true(f & PCI_MSI_FLAGS_ENABLE);
	assert_int_equal(f & PCI_MSI_FLAGS_QSIZE, 2 << 4);
	assert_int_equal(cfg_rd(&pc, 0x40 + PCI_MSI_ADDRESS_LO, 4), 0xfee00000);
	assert_int_equal(cfg_rd(&pc, 0x40 + PCI_MSI_DATA_64, 2), 0x4021);
	assert_int_equal(pc_call(&pc, VU_CMD_DEVICE_RESET, NULL, 0, NULL, 0), 0);
	/* Interrupts are off after a reset; address and data stay. */
	assert_int_equal(cfg_rd(&pc, 0x40 + PCI_MSI_FLAGS, 2), flags0);
	assert_int_equal(cfg_rd(&pc, 0x40 + PCI_MSI_ADDRESS_LO, 4), 0xfee00000);
	assert_int_equal(cfg_rd(&pc, 0x40 + PCI_MSI_DATA_64, 2), 0x4021);
	for (int i = 0; i < 4; i++)
		close(fds[i]);
	pc_close(&pc);
}

#define T(f) cmocka_unit_test_teardown(f, pc_test_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_region_data),
		T(test_region_bounds),
		T(test_transfer_limit),
		T(test_config_header),
		T(test_config_command_partial),
		T(test_config_bar_sizing),
		T(test_config_read_only_ignored),
		T(test_config_msi_and_reset),
	};
	return cmocka_run_group_tests(tests, pc_group_setup, pc_group_teardown);
}
