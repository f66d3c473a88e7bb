/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Region reads and writes through messages: BAR0 registers with every
 * access size, the ROM, config space (virtualized header, byte and
 * unaligned accesses, BAR sizing), region 9 and the IO BAR.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <uvfio/client.h>
#include "devices/models.h"
#include "testutil.h"

#define BAR0 VFIO_PCI_BAR0_REGION_INDEX
#define BAR5 VFIO_PCI_BAR5_REGION_INDEX
#define ROM  VFIO_PCI_ROM_REGION_INDEX
#define CFG  VFIO_PCI_CONFIG_REGION_INDEX

static struct served g_srv;
static struct uvfio_device *g_dev;

static int group_setup(void **state)
{
	(void)state;
	if (served_start(&g_srv, "testdev", NULL) < 0)
		return -1;
	struct uvfio_open_opts o = test_open_opts();
	if (uvfio_device_open(g_srv.path, &o, &g_dev) < 0) {
		served_stop(&g_srv);
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	uvfio_device_close(g_dev);
	return served_stop_checked(&g_srv);
}

static uint32_t rd32(unsigned region, uint64_t off)
{
	uint32_t v = 0xdeadbeef;
	assert_int_equal(uvfio_region_read32(g_dev, region, off, &v), 0);
	return v;
}

static uint16_t rd16(unsigned region, uint64_t off)
{
	uint16_t v = 0xdead;
	assert_int_equal(uvfio_region_read16(g_dev, region, off, &v), 0);
	return v;
}

static uint8_t rd8(unsigned region, uint64_t off)
{
	uint8_t v = 0xde;
	assert_int_equal(uvfio_region_read8(g_dev, region, off, &v), 0);
	return v;
}

/* ---- BAR0 registers ---------------------------------------------------- */

static void bar0_id_register(void **state)
{
	(void)state;
	assert_int_equal(rd32(BAR0, TESTDEV_REG_ID), TESTDEV_ID_VALUE);
	/* Sub-register reads see the little-endian bytes of the register. */
	assert_int_equal(rd8(BAR0, TESTDEV_REG_ID), 0x69);
	assert_int_equal(rd8(BAR0, TESTDEV_REG_ID + 3), 0x75);
	assert_int_equal(rd16(BAR0, TESTDEV_REG_ID + 2), 0x7576);
	uint8_t b[4];
	assert_int_equal(uvfio_region_read(g_dev, BAR0, TESTDEV_REG_ID, b, 4), 4);
	assert_int_equal(b[0], 0x69);
	assert_int_equal(b[1], 0x66);
	assert_int_equal(b[2], 0x76);
	assert_int_equal(b[3], 0x75);
	/* ID is read-only. */
	assert_int_equal(uvfio_region_write32(g_dev, BAR0, TESTDEV_REG_ID, 0), 0);
	assert_int_equal(rd32(BAR0, TESTDEV_REG_ID), TESTDEV_ID_VALUE);
}

static void bar0_scratch_access_sizes(void **state)
{
	(void)state;
	assert_int_equal(uvfio_region_write32(g_dev, BAR0, TESTDEV_REG_SCRATCH,
					      0x11223344), 0);
	assert_int_equal(rd32(BAR0, TESTDEV_REG_SCRATCH), 0x11223344);
	assert_int_equal(rd8(BAR0, TESTDEV_REG_SCRATCH + 1), 0x33);
	assert_int_equal(rd16(BAR0, TESTDEV_REG_SCRATCH + 2), 0x1122);

	/* A byte write at the register replaces its low byte only. */
	assert_int_equal(uvfio_region_write8(g_dev, BAR0, TESTDEV_REG_SCRATCH,
					     0xab), 0);
	assert_int_equal(rd32(BAR0, TESTDEV_REG_SCRATCH), 0x112233ab);
	assert_int_equal(uvfio_region_write16(g_dev, BAR0, TESTDEV_REG_SCRATCH,
					      0xbeef), 0);
	assert_int_equal(rd32(BAR0, TESTDEV_REG_SCRATCH), 0x1122beef);

	/* 8-byte helpers on the 64-bit DMA_ADDR register. */
	const uint64_t a = 0x123456789abcdef0ull;
	assert_int_equal(uvfio_region_write64(g_dev, BAR0, TESTDEV_REG_DMA_ADDR,
					      a), 0);
	uint64_t v64 = 0;
	assert_int_equal(uvfio_region_read64(g_dev, BAR0, TESTDEV_REG_DMA_ADDR,
					     &v64), 0);
	assert_int_equal(v64, a);
	assert_int_equal(rd32(BAR0, TESTDEV_REG_DMA_ADDR), 0x9abcdef0);
	assert_int_equal(rd32(BAR0, TESTDEV_REG_DMA_ADDR + 4), 0x12345678);

	/* The generic calls return the byte count. */
	uint8_t w[4] = { 1, 2, 3, 4 }, r[4] = { 0 };
	assert_int_equal(uvfio_region_write(g_dev, BAR0, TESTDEV_REG_SCRATCH, w, 4), 4);
	assert_int_equal(uvfio_region_read(g_dev, BAR0, TESTDEV_REG_SCRATCH, r, 4), 4);
	assert_memory_equal(w, r, 4);
	assert_int_equal(rd32(BAR0, TESTDEV_REG_SCRATCH), 0x04030201);
}

static void bar0_many_round_trips(void **state)
{
	(void)state;
	for (uint32_t i = 0; i < 2000; i++) {
		uint32_t v = i * 2654435761u;
		assert_int_equal(uvfio_region_write32(g_dev, BAR0,
						      TESTDEV_REG_SCRATCH, v), 0);
		assert_int_equal(rd32(BAR0, TESTDEV_REG_SCRATCH), v);
	}
}

static void out_of_range_refused(void **state)
{
	(void)state;
	uint8_t b[8] = { 0 };
	/* Crossing the end of a region. */
	assert_true(uvfio_region_read(g_dev, BAR0, TESTDEV_BAR0_SIZE - 2, b, 4) < 0);
	assert_true(uvfio_region_write(g_dev, BAR0, TESTDEV_BAR0_SIZE, b, 1) < 0);
	assert_true(uvfio_region_read(g_dev, CFG, 254, b, 4) < 0);
	assert_true(uvfio_region_read(g_dev, BAR0, UINT64_MAX - 1, b, 4) < 0);
	/* Regions that do not exist. */
	assert_true(uvfio_region_read(g_dev, VFIO_PCI_BAR1_REGION_INDEX, 0, b, 4) < 0);
	assert_true(uvfio_region_write(g_dev, VFIO_PCI_BAR3_REGION_INDEX, 0, b, 4) < 0);
	assert_true(uvfio_region_read(g_dev, 10, 0, b, 4) < 0);
	assert_true(uvfio_region_read(g_dev, 77, 0, b, 4) < 0);
	/* The connection survives all of them. */
	assert_int_equal(rd32(BAR0, TESTDEV_REG_ID), TESTDEV_ID_VALUE);
}

/* ---- ROM --------------------------------------------------------------- */

static uint8_t rom_byte(unsigned i)
{
	if (i == 0)
		return 0x55;
	if (i == 1)
		return 0xaa;
	return (uint8_t)(i * 7 + 3);
}

static void rom_pattern(void **state)
{
	(void)state;
	uint8_t *rom = malloc(TESTDEV_ROM_SIZE);
	assert_non_null(rom);
	assert_int_equal(uvfio_region_read(g_dev, ROM, 0, rom, TESTDEV_ROM_SIZE),
			 TESTDEV_ROM_SIZE);
	for (unsigned i = 0; i < TESTDEV_ROM_SIZE; i++)
		if (rom[i] != rom_byte(i))
			fail_msg("ROM byte %u: 0x%02x, expected 0x%02x", i, rom[i],
				 rom_byte(i));
	assert_int_equal(rd16(ROM, 0), 0xaa55);
	assert_int_equal(rd8(ROM, 4095), rom_byte(4095));
	/* Odd, unaligned pieces. */
	uint8_t piece[13];
	assert_int_equal(uvfio_region_read(g_dev, ROM, 1001, piece, sizeof(piece)),
			 (ssize_t)sizeof(piece));
	for (unsigned i = 0; i < sizeof(piece); i++)
		assert_int_equal(piece[i], rom_byte(1001 + i));
	free(rom);
}

static void rom_writes_refused(void **state)
{
	(void)state;
	uint8_t junk[16];
	memset(junk, 0, sizeof(junk));
	assert_true(uvfio_region_write(g_dev, ROM, 0, junk, sizeof(junk)) < 0);
	assert_true(uvfio_region_write32(g_dev, ROM, 64, 0) < 0);
	assert_true(uvfio_region_write8(g_dev, ROM, 1, 0) < 0);
	assert_int_equal(rd16(ROM, 0), 0xaa55);
	assert_int_equal(rd8(ROM, 64), rom_byte(64));
}

/* ---- config space -------------------------------------------------------- */

static void config_header(void **state)
{
	(void)state;
	assert_int_equal(rd16(CFG, PCI_VENDOR_ID), TESTDEV_VENDOR);
	assert_int_equal(rd16(CFG, PCI_DEVICE_ID), TESTDEV_DEVICE);
	assert_int_equal(rd32(CFG, 0), (uint32_t)TESTDEV_DEVICE << 16 | TESTDEV_VENDOR);
	assert_int_equal(rd8(CFG, 0), 0x34);
	assert_int_equal(rd8(CFG, 1), 0x12);
	assert_int_equal(rd8(CFG, 2), 0x78);
	assert_int_equal(rd8(CFG, 3), 0x56);
	/* Unaligned: vendor high byte + device low byte. */
	assert_int_equal(rd16(CFG, 1), 0x7812);
	assert_int_equal(rd32(CFG, PCI_REVISION_ID), 0xff000001);  /* class ff0000, rev 1 */
	assert_int_equal(rd8(CFG, PCI_HEADER_TYPE), 0);
	assert_int_equal(rd16(CFG, PCI_SUBSYSTEM_VENDOR_ID), TESTDEV_VENDOR);
	assert_int_equal(rd16(CFG, PCI_SUBSYSTEM_ID), 1);
	assert_int_equal(rd8(CFG, PCI_INTERRUPT_PIN), 1);
	/* An MSI capability is listed. */
	assert_true(rd16(CFG, PCI_STATUS) & PCI_STATUS_CAP_LIST);
	uint8_t cap = rd8(CFG, PCI_CAPABILITY_LIST);
	assert_true(cap >= 0x40);
	assert_int_equal(rd8(CFG, cap + PCI_CAP_LIST_ID), PCI_CAP_ID_MSI);

	/* The whole space in one read agrees with the small reads. */
	uint8_t all[256];
	assert_int_equal(uvfio_region_read(g_dev, CFG, 0, all, sizeof(all)), 256);
	assert_int_equal(all[0], 0x34);
	assert_int_equal(all[3], 0x56);
	assert_int_equal(all[PCI_INTERRUPT_PIN], 1);
	assert_int_equal(all[cap], PCI_CAP_ID_MSI);
}

static void config_command_writes(void **state)
{
	(void)state;
	assert_int_equal(uvfio_region_write16(g_dev, CFG, PCI_COMMAND, 0), 0);
	assert_int_equal(rd16(CFG, PCI_COMMAND), 0);

	/* Byte writes to either byte of COMMAND. */
	assert_int_equal(uvfio_region_write8(g_dev, CFG, PCI_COMMAND,
					     PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER), 0);
	assert_int_equal(rd16(CFG, PCI_COMMAND), 0x0006);
	assert_int_equal(uvfio_region_write8(g_dev, CFG, PCI_COMMAND + 1,
					     PCI_COMMAND_INTX_DISABLE >> 8), 0);
	assert_int_equal(rd16(CFG, PCI_COMMAND), 0x0406);
	assert_int_equal(rd8(CFG, PCI_COMMAND + 1), 0x04);

	/* Unaligned 3-byte write over DEVICE_ID's high byte and COMMAND. */
	uint8_t w[3] = { 0xee, 0x07, 0x00 };
	assert_int_equal(uvfio_region_write(g_dev, CFG, PCI_DEVICE_ID + 1, w, 3), 3);
	assert_int_equal(rd16(CFG, PCI_DEVICE_ID), TESTDEV_DEVICE);
	assert_int_equal(rd16(CFG, PCI_COMMAND), 0x0007);

	/* Read-only bits of COMMAND stay 0. */
	assert_int_equal(uvfio_region_write16(g_dev, CFG, PCI_COMMAND, 0xffff), 0);
	uint16_t cmd = rd16(CFG, PCI_COMMAND);
	assert_int_equal(cmd & 0x0007, 0x0007);
	assert_int_equal(cmd & ~(PCI_COMMAND_IO | PCI_COMMAND_MEMORY |
				 PCI_COMMAND_MASTER | PCI_COMMAND_PARITY |
				 PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE |
				 PCI_COMMAND_SPECIAL | PCI_COMMAND_INVALIDATE |
				 PCI_COMMAND_VGA_PALETTE | PCI_COMMAND_WAIT |
				 PCI_COMMAND_FAST_BACK), 0);
	assert_int_equal(uvfio_region_write16(g_dev, CFG, PCI_COMMAND, 0), 0);
	assert_int_equal(rd16(CFG, PCI_COMMAND), 0);
}

static void config_readonly_writes_ignored(void **state)
{
	(void)state;
	/* Writes to read-only registers succeed and change nothing. */
	assert_int_equal(uvfio_region_write16(g_dev, CFG, PCI_VENDOR_ID, 0xffff), 0);
	assert_int_equal(rd16(CFG, PCI_VENDOR_ID), TESTDEV_VENDOR);
	assert_int_equal(uvfio_region_write8(g_dev, CFG, PCI_VENDOR_ID + 1, 0), 0);
	assert_int_equal(rd16(CFG, PCI_VENDOR_ID), TESTDEV_VENDOR);
	assert_int_equal(uvfio_region_write32(g_dev, CFG, 0, 0), 0);
	assert_int_equal(rd32(CFG, 0), (uint32_t)TESTDEV_DEVICE << 16 | TESTDEV_VENDOR);
	assert_int_equal(uvfio_region_write32(g_dev, CFG, PCI_REVISION_ID, 0), 0);
	assert_int_equal(rd32(CFG, PCI_REVISION_ID), 0xff000001);
	assert_int_equal(uvfio_region_write8(g_dev, CFG, PCI_INTERRUPT_PIN, 3), 0);
	assert_int_equal(rd8(CFG, PCI_INTERRUPT_PIN), 1);
	/* INTERRUPT_LINE is writable. */
	assert_int_equal(uvfio_region_write8(g_dev, CFG, PCI_INTERRUPT_LINE, 0x0b), 0);
	assert_int_equal(rd8(CFG, PCI_INTERRUPT_LINE), 0x0b);
}

static void config_bar_sizing(void **state)
{
	(void)state;
	/* BAR0: 4 KiB, 32-bit memory. */
	assert_int_equal(uvfio_region_write32(g_dev, CFG, PCI_BASE_ADDRESS_0,
					      0xffffffff), 0);
	assert_int_equal(rd32(CFG, PCI_BASE_ADDRESS_0), 0xfffff000);
	assert_int_equal(uvfio_region_write32(g_dev, CFG, PCI_BASE_ADDRESS_0,
					      0xfebf0000), 0);
	assert_int_equal(rd32(CFG, PCI_BASE_ADDRESS_0), 0xfebf0000);

	/* BAR1 is unimplemented: it sizes to 0. */
	assert_int_equal(uvfio_region_write32(g_dev, CFG, PCI_BASE_ADDRESS_1,
					      0xffffffff), 0);
	assert_int_equal(rd32(CFG, PCI_BASE_ADDRESS_1), 0);

	/* BAR2/3: 128 MiB, 64-bit prefetchable; both dwords size. */
	assert_int_equal(uvfio_region_write32(g_dev, CFG, PCI_BASE_ADDRESS_2,
					      0xffffffff), 0);
	assert_int_equal(uvfio_region_write32(g_dev, CFG, PCI_BASE_ADDRESS_3,
					      0xffffffff), 0);
	assert_int_equal(rd32(CFG, PCI_BASE_ADDRESS_2), 0xf800000c);
	assert_int_equal(rd32(CFG, PCI_BASE_ADDRESS_3), 0xffffffff);
	assert_int_equal(uvfio_region_write32(g_dev, CFG, PCI_BASE_ADDRESS_2, 0), 0);
	assert_int_equal(uvfio_region_write32(g_dev, CFG, PCI_BASE_ADDRESS_3, 0x8), 0);
	assert_int_equal(rd32(CFG, PCI_BASE_ADDRESS_2), 0x0000000c);
	assert_int_equal(rd32(CFG, PCI_BASE_ADDRESS_3), 0x8);

	/* BAR4: 64 KiB memory; BAR5: 256 bytes of IO. */
	assert_int_equal(uvfio_region_write32(g_dev, CFG, PCI_BASE_ADDRESS_4,
					      0xffffffff), 0);
	assert_int_equal(rd32(CFG, PCI_BASE_ADDRESS_4), 0xffff0000);
	assert_int_equal(uvfio_region_write32(g_dev, CFG, PCI_BASE_ADDRESS_5,
					      0xffffffff), 0);
	assert_int_equal(rd32(CFG, PCI_BASE_ADDRESS_5), 0xffffff01);

	/* ROM BAR: 4 KiB, the way Linux sizes it (enable bit clear). */
	assert_int_equal(uvfio_region_write32(g_dev, CFG, PCI_ROM_ADDRESS,
					      ~(uint32_t)PCI_ROM_ADDRESS_ENABLE), 0);
	assert_int_equal(rd32(CFG, PCI_ROM_ADDRESS), 0xfffff000);
	assert_int_equal(uvfio_region_write32(g_dev, CFG, PCI_ROM_ADDRESS, 0), 0);
	assert_int_equal(rd32(CFG, PCI_ROM_ADDRESS), 0);

	/* A byte write to a BAR only touches that byte (and its mask). */
	assert_int_equal(uvfio_region_write32(g_dev, CFG, PCI_BASE_ADDRESS_0, 0), 0);
	assert_int_equal(uvfio_region_write8(g_dev, CFG, PCI_BASE_ADDRESS_0 + 3,
					     0xfe), 0);
	assert_int_equal(rd32(CFG, PCI_BASE_ADDRESS_0), 0xfe000000);
	assert_int_equal(uvfio_region_write8(g_dev, CFG, PCI_BASE_ADDRESS_0 + 1,
					     0xff), 0);
	assert_int_equal(rd32(CFG, PCI_BASE_ADDRESS_0), 0xfe00f000);
	assert_int_equal(uvfio_region_write32(g_dev, CFG, PCI_BASE_ADDRESS_0, 0), 0);
}

static void config_unaligned_everywhere(void **state)
{
	(void)state;
	/* Every offset and size up to 8 reads the same as the full dump. */
	uint8_t all[256];
	assert_int_equal(uvfio_region_read(g_dev, CFG, 0, all, sizeof(all)), 256);
	for (unsigned off = 0; off < 64; off++) {
		for (unsigned len = 1; len <= 8 && off + len <= 256; len++) {
			uint8_t b[8];
			assert_int_equal(uvfio_region_read(g_dev, CFG, off, b, len),
					 (ssize_t)len);
			assert_memory_equal(b, all + off, len);
		}
	}
}

/* ---- region 9 and the IO BAR ----------------------------------------------- */

static void region9_read_write(void **state)
{
	(void)state;
	uint8_t *w = malloc(TESTDEV_REGION9_SIZE), *r = malloc(TESTDEV_REGION9_SIZE);
	assert_non_null(w);
	assert_non_null(r);
	for (unsigned i = 0; i < TESTDEV_REGION9_SIZE; i++)
		w[i] = (uint8_t)(i ^ (i >> 8) ^ 0x5a);
	assert_int_equal(uvfio_region_write(g_dev, 9, 0, w, TESTDEV_REGION9_SIZE),
			 TESTDEV_REGION9_SIZE);
	memset(r, 0, TESTDEV_REGION9_SIZE);
	assert_int_equal(uvfio_region_read(g_dev, 9, 0, r, TESTDEV_REGION9_SIZE),
			 TESTDEV_REGION9_SIZE);
	assert_memory_equal(w, r, TESTDEV_REGION9_SIZE);

	assert_int_equal(uvfio_region_write32(g_dev, 9, 100, 0xcafef00d), 0);
	assert_int_equal(rd32(9, 100), 0xcafef00d);
	assert_int_equal(rd8(9, 101), 0xf0);
	assert_int_equal(uvfio_region_write64(g_dev, 9, 4088, 0x0102030405060708ull), 0);
	uint64_t v = 0;
	assert_int_equal(uvfio_region_read64(g_dev, 9, 4088, &v), 0);
	assert_int_equal(v, 0x0102030405060708ull);
	assert_true(uvfio_region_write32(g_dev, 9, TESTDEV_REGION9_SIZE - 2, 0) < 0);
	free(w);
	free(r);
}

static void bar5_io_callbacks(void **state)
{
	(void)state;
	uint8_t w[TESTDEV_BAR5_SIZE], r[TESTDEV_BAR5_SIZE];
	for (unsigned i = 0; i < sizeof(w); i++)
		w[i] = (uint8_t)(255 - i);
	assert_int_equal(uvfio_region_write(g_dev, BAR5, 0, w, sizeof(w)),
			 (ssize_t)sizeof(w));
	assert_int_equal(uvfio_region_read(g_dev, BAR5, 0, r, sizeof(r)),
			 (ssize_t)sizeof(r));
	assert_memory_equal(w, r, sizeof(w));
	assert_int_equal(uvfio_region_write8(g_dev, BAR5, 7, 0x42), 0);
	assert_int_equal(rd8(BAR5, 7), 0x42);
	assert_int_equal(rd16(BAR5, 6), 0x42 << 8 | (255 - 6));
	assert_true(uvfio_region_read(g_dev, BAR5, 255, r, 2) < 0);
}

static void zero_length_and_null(void **state)
{
	(void)state;
	uint8_t b[4];
	assert_int_equal(uvfio_region_read(g_dev, BAR0, 0, b, 0), 0);
	assert_int_equal(uvfio_region_write(g_dev, BAR0, 0, b, 0), 0);
	assert_int_equal(uvfio_region_read32(g_dev, BAR0, 0, NULL), -EINVAL);
	assert_true(uvfio_region_read(NULL, BAR0, 0, b, 4) < 0);
	assert_true(uvfio_region_read(g_dev, BAR0, 0, NULL, 4) < 0);
	assert_int_equal(rd32(BAR0, TESTDEV_REG_ID), TESTDEV_ID_VALUE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bar0_id_register),
		cmocka_unit_test(bar0_scratch_access_sizes),
		cmocka_unit_test(bar0_many_round_trips),
		cmocka_unit_test(out_of_range_refused),
		cmocka_unit_test(rom_pattern),
		cmocka_unit_test(rom_writes_refused),
		cmocka_unit_test(config_header),
		cmocka_unit_test(config_command_writes),
		cmocka_unit_test(config_readonly_writes_ignored),
		cmocka_unit_test(config_bar_sizing),
		cmocka_unit_test(config_unaligned_everywhere),
		cmocka_unit_test(region9_read_write),
		cmocka_unit_test(bar5_io_callbacks),
		cmocka_unit_test(zero_length_and_null),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
