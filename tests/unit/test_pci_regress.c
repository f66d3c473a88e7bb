/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Regression tests for the config-space pitfalls REFERENCE §1 lists, and
 * for chains read from a device that could hang or confuse a walk:
 *
 *  - 1-byte COMMAND and BAR writes over-read the buffer (ASan watches
 *    exactly-sized heap buffers here);
 *  - writes to read-only registers refused instead of ignored;
 *  - the upper dword of a 64-bit BAR sized to 0;
 *  - looped, overlong, overlapping and out-of-range capability chains.
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

#include "device/dev.h"
#include "pci_testutil.h"

#define CFG VFIO_PCI_CONFIG_REGION_INDEX

static struct uvfio_dev *full_dev(void)
{
	struct uvfio_dev *d = uvfio_dev_new("regress");
	struct uvfio_pci *p = uvfio_dev_pci(d);
	assert_int_equal(uvfio_pci_add_bar(p, 0, 4096, UVFIO_BAR_MEM32, NULL, NULL), 0);
	assert_int_equal(uvfio_pci_add_bar(p, 2, 1u << 20, UVFIO_BAR_MEM64 |
					   UVFIO_BAR_PREFETCH, NULL, NULL), 0);
	assert_int_equal(uvfio_pci_add_bar(p, 5, 64, UVFIO_BAR_IO, NULL, NULL), 0);
	static const uint8_t rom[2048];
	assert_int_equal(uvfio_pci_add_rom(p, rom, sizeof(rom)), 0);
	assert_true(uvfio_pci_add_pcie(p, 0, PCI_EXP_TYPE_ENDPOINT, 0) > 0);
	assert_true(uvfio_pci_add_msi(p, 0, 1, 0) > 0);
	assert_int_equal(uvfio_pci_add_dsn(p, 0, 5), PCI_CFG_SPACE_SIZE);
	assert_int_equal(dev_seal(d), 0);
	return d;
}

/* Every access through exactly-sized heap buffers: no over-read. */
static void test_short_writes_do_not_over_read(void **state)
{
	struct uvfio_dev *d = full_dev();
	uint8_t *one = malloc(1), *two = malloc(2);
	*one = PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	assert_int_equal(dev_region_access(d, CFG, PCI_COMMAND, one, 1, true), 1);
	*one = 0;
	assert_int_equal(dev_region_access(d, CFG, PCI_COMMAND, one, 1, false), 1);
	assert_int_equal(*one, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	*one = PCI_COMMAND_INTX_DISABLE >> 8;
	assert_int_equal(dev_region_access(d, CFG, PCI_COMMAND + 1, one, 1, true), 1);
	/* Each byte of every BAR and the ROM. */
	for (unsigned off = PCI_BASE_ADDRESS_0; off < PCI_ROM_ADDRESS + 4; off++) {
		*one = 0xff;
		assert_int_equal(dev_region_access(d, CFG, off, one, 1, true), 1);
		assert_int_equal(dev_region_access(d, CFG, off, one, 1, false), 1);
		two[0] = 0xff, two[1] = 0xff;
		if (off + 2 <= PCI_ROM_ADDRESS + 4)
			assert_int_equal(dev_region_access(d, CFG, off, two, 2, true), 2);
	}
	/* Sized one byte at a time, BAR0 still reads its size mask. */
	uint32_t v;
	assert_int_equal(dev_region_access(d, CFG, PCI_BASE_ADDRESS_0, &v, 4, false), 4);
	assert_int_equal(v, 0xfffff000);
	/* The last byte of config space, one byte. */
	assert_int_equal(dev_region_access(d, CFG, 0xfff, one, 1, true), 1);
	assert_int_equal(dev_region_access(d, CFG, 0xfff, one, 1, false), 1);
	/* Past the end: EFAULT, as vfio-pci answers for config space. */
	assert_int_equal(dev_region_access(d, CFG, 0xfff, two, 2, false), -EFAULT);
	assert_int_equal(dev_region_access(d, CFG, 0x1000, one, 1, true), -EFAULT);
	free(one);
	free(two);
	uvfio_dev_free(d);
}

/* Read-only registers ignore writes; the write itself succeeds. */
static void test_read_only_writes_are_ignored(void **state)
{
	struct uvfio_dev *d = full_dev();
	static uint8_t before[PCI_CFG_EXP_SIZE], after[PCI_CFG_EXP_SIZE];
	assert_int_equal(uvfio_dev_config_read(d, 0, before, sizeof(before)), 0);
	const struct { unsigned off, len; } ro[] = {
		{ PCI_VENDOR_ID, 4 }, { PCI_CLASS_REVISION, 4 },
		{ PCI_HEADER_TYPE, 1 }, { PCI_SUBSYSTEM_VENDOR_ID, 4 },
		{ PCI_CAPABILITY_LIST, 1 }, { PCI_INTERRUPT_PIN, 1 },
		{ 0x40, 4 }, { 0x44, 4 },                 /* PCIe header, DEVCAP */
		{ PCI_CFG_SPACE_SIZE, 4 }, { PCI_CFG_SPACE_SIZE + 4, 4 },
	};
	for (size_t i = 0; i < sizeof(ro) / sizeof(ro[0]); i++) {
		uint32_t ones = 0xffffffff, zero = 0;
		assert_int_equal(dev_region_access(d, CFG, ro[i].off, &ones,
						   ro[i].len, true), ro[i].len);
		assert_int_equal(dev_region_access(d, CFG, ro[i].off, &zero,
						   ro[i].len, true), ro[i].len);
	}
	assert_int_equal(uvfio_dev_config_read(d, 0, after, sizeof(after)), 0);
	assert_memory_equal(before, after, sizeof(before));
	/* The whole space written back as read: accepted, nothing moves. */
	assert_int_equal(dev_region_access(d, CFG, 0, before, sizeof(before), true),
			 (ssize_t)sizeof(before));
	assert_int_equal(uvfio_dev_config_read(d, 0, after, sizeof(after)), 0);
	assert_memory_equal(before, after, sizeof(before));
	uvfio_dev_free(d);
}

/* The upper dword of a 64-bit BAR sizes with ~(size-1) >> 32, not 0. */
static void test_bar64_upper_dword_sizing(void **state)
{
	const uint64_t sizes[] = { 16, 4096, 1u << 20, 1ull << 31, 1ull << 32,
				   8ull << 30, 1ull << 40, 1ull << 63 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct pci_cfg *cfg = pci_cfg_new(PCI_CFG_SIZE);
		assert_int_equal(pci_cfg_set_bar(cfg, 2, sizes[i], UVFIO_BAR_MEM64), 0);
		tu_wr(cfg, PCI_BASE_ADDRESS_2, 0xffffffff, 4);
		tu_wr(cfg, PCI_BASE_ADDRESS_3, 0xffffffff, 4);
		uint64_t mask = ~(sizes[i] - 1);
		assert_int_equal(tu_rd(cfg, PCI_BASE_ADDRESS_2, 4),
				 ((uint32_t)mask & ~0xfu) | PCI_BASE_ADDRESS_MEM_TYPE_64);
		assert_int_equal(tu_rd(cfg, PCI_BASE_ADDRESS_3, 4), (uint32_t)(mask >> 32));
		if (sizes[i] < (1ull << 32))
			assert_int_equal(tu_rd(cfg, PCI_BASE_ADDRESS_3, 4), 0xffffffff);
		/* Written one byte at a time, the same. */
		pci_cfg_seal(cfg);
		pci_cfg_reset(cfg);
		for (unsigned b = 0; b < 8; b++)
			tu_wr(cfg, PCI_BASE_ADDRESS_2 + b, 0xff, 1);
		assert_int_equal(tu_rd(cfg, PCI_BASE_ADDRESS_3, 4), (uint32_t)(mask >> 32));
		pci_cfg_free(cfg);
	}
}

/* A RAM device whose standard chain we write by hand. */
static struct pci_cfg *walked(struct tu_ram *ram, uint32_t size)
{
	struct pci_backing bk = tu_ram_backing(ram);
	struct pci_cfg *cfg = pci_cfg_new_backed(size, &bk);
	assert_non_null(cfg);
	return cfg;
}

static void put_cap(struct tu_ram *ram, unsigned off, uint8_t id, uint8_t next,
		    uint8_t b2)
{
	ram->b[off] = id;
	ram->b[off + 1] = next;
	ram->b[off + 2] = b2;
}

static unsigned count_std(const struct pci_cfg *cfg)
{
	unsigned pos = tu_rd(cfg, PCI_CAPABILITY_LIST, 1), n = 0;
	while (pos && n <= PCI_STD_CHAIN_MAX + 1) {
		n++;
		pos = tu_rd(cfg, pos + PCI_CAP_LIST_NEXT, 1);
	}
	return n;
}

static unsigned count_ext(const struct pci_cfg *cfg)
{
	unsigned pos = PCI_CFG_SIZE, n = 0;
	while (pos && n <= PCI_EXT_CHAIN_MAX + 1) {
		uint32_t h = tu_rd(cfg, pos, 4);
		if (!h)
			break;
		n++;
		pos = PCI_EXT_CAP_NEXT(h);
	}
	return n;
}

static void test_looped_standard_chains(void **state)
{
	static struct tu_ram ram;
	/* Two capabilities pointing at each other. */
	memset(&ram, 0, sizeof(ram));
	ram.b[PCI_STATUS] = PCI_STATUS_CAP_LIST;
	ram.b[PCI_CAPABILITY_LIST] = 0x40;
	put_cap(&ram, 0x40, PCI_CAP_ID_PM, 0x50, 0);
	put_cap(&ram, 0x50, PCI_CAP_ID_VNDR, 0x40, 4);
	struct pci_cfg *cfg = walked(&ram, PCI_CFG_SIZE);
	assert_int_equal(count_std(cfg), 2);
	assert_int_equal(tu_rd(cfg, 0x50 + PCI_CAP_LIST_NEXT, 1), 0);
	pci_cfg_free(cfg);
	/* Itself. */
	put_cap(&ram, 0x40, PCI_CAP_ID_VNDR, 0x40, 4);
	cfg = walked(&ram, PCI_CFG_SIZE);
	assert_int_equal(count_std(cfg), 1);
	pci_cfg_free(cfg);
	/* 48 capabilities, every dword, the last pointing back: all kept. */
	for (unsigned o = 0x40; o < 0x100; o += 4)
		put_cap(&ram, o, PCI_CAP_ID_VNDR, (uint8_t)(o == 0xfc ? 0x40 : o + 4), 4);
	cfg = walked(&ram, PCI_CFG_SIZE);
	assert_int_equal(count_std(cfg), PCI_STD_CHAIN_MAX);
	pci_cfg_free(cfg);
	/* Into the header, past the end, misaligned: ignored or aligned. */
	memset(ram.b + 0x40, 0, 0xc0);
	ram.b[PCI_CAPABILITY_LIST] = 0x10;
	cfg = walked(&ram, PCI_CFG_SIZE);
	assert_int_equal(count_std(cfg), 0);
	assert_false(tu_rd(cfg, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	pci_cfg_free(cfg);
	ram.b[PCI_CAPABILITY_LIST] = 0x43;      /* bits 1:0 are reserved */
	put_cap(&ram, 0x40, PCI_CAP_ID_PM, 0xff, 0);
	cfg = walked(&ram, PCI_CFG_SIZE);
	assert_int_equal(count_std(cfg), 1);
	assert_int_equal(tu_rd(cfg, PCI_CAPABILITY_LIST, 1), 0x40);
	pci_cfg_free(cfg);
	/* Overlapping: the second is left out. */
	ram.b[PCI_CAPABILITY_LIST] = 0x40;
	put_cap(&ram, 0x40, PCI_CAP_ID_PM, 0x44, 0);
	put_cap(&ram, 0x44, PCI_CAP_ID_VNDR, 0x60, 4);
	put_cap(&ram, 0x60, PCI_CAP_ID_AF, 0, PCI_CAP_AF_SIZEOF);
	cfg = walked(&ram, PCI_CFG_SIZE);
	assert_int_equal(count_std(cfg), 2);
	assert_int_equal(tu_rd(cfg, 0x40 + PCI_CAP_LIST_NEXT, 1), 0x60);
	pci_cfg_free(cfg);
	/* Unknown IDs, 0 among them, are unlinked. */
	put_cap(&ram, 0x40, 0, 0x48, 0);
	put_cap(&ram, 0x48, PCI_CAP_ID_SLOTID, 0x60, 0);
	cfg = walked(&ram, PCI_CFG_SIZE);
	assert_int_equal(count_std(cfg), 1);
	assert_int_equal(tu_rd(cfg, PCI_CAPABILITY_LIST, 1), 0x60);
	pci_cfg_free(cfg);
}

static void put_ext(struct tu_ram *ram, unsigned off, uint16_t id, unsigned next)
{
	uint32_t h = id | 1u << 16 | (uint32_t)next << 20;
	memcpy(ram->b + off, &h, 4);
}

static void test_looped_extended_chains(void **state)
{
	static struct tu_ram ram;
	memset(&ram, 0, sizeof(ram));
	put_ext(&ram, 0x100, PCI_EXT_CAP_ID_DSN, 0x200);
	put_ext(&ram, 0x200, PCI_EXT_CAP_ID_ARI, 0x100);
	struct pci_cfg *cfg = walked(&ram, PCI_CFG_EXP_SIZE);
	assert_int_equal(count_ext(cfg), 2);
	pci_cfg_free(cfg);
	/* Pointing below 0x100 or past the end stops the walk. */
	put_ext(&ram, 0x200, PCI_EXT_CAP_ID_ARI, 0x40);
	cfg = walked(&ram, PCI_CFG_EXP_SIZE);
	assert_int_equal(count_ext(cfg), 2);
	pci_cfg_free(cfg);
	put_ext(&ram, 0x200, PCI_EXT_CAP_ID_ARI, 0xffc);
	put_ext(&ram, 0xffc, PCI_EXT_CAP_ID_DSN, 0);   /* would not fit */
	cfg = walked(&ram, PCI_CFG_EXP_SIZE);
	assert_int_equal(count_ext(cfg), 2);
	pci_cfg_free(cfg);
	/* The longest chain there can be: every dword an unknown capability
	 * but the last, which loops back. */
	for (unsigned o = 0x100; o < 0x1000; o += 4)
		put_ext(&ram, o, 0x7fff, o == 0xffc ? 0x100 : o + 4);
	put_ext(&ram, 0x800, PCI_EXT_CAP_ID_ARI, 0x808);
	cfg = walked(&ram, PCI_CFG_EXP_SIZE);
	/* A bare header at 0x100, then ARI. */
	assert_int_equal(count_ext(cfg), 1 + 1);
	assert_int_equal(PCI_EXT_CAP_NEXT(tu_rd(cfg, 0x100, 4)), 0x800);
	pci_cfg_free(cfg);
	/* A device that reads all ones has no extended capabilities. */
	memset(ram.b + 0x100, 0xff, 0xf00);
	cfg = walked(&ram, PCI_CFG_EXP_SIZE);
	assert_int_equal(tu_rd(cfg, PCI_CFG_SIZE, 4), 0);
	assert_int_equal(count_ext(cfg), 0);
	pci_cfg_free(cfg);
}

static int count_reset(void *opaque)
{
	(*(int *)opaque)++;
	return 0;
}

/* FLR in the middle of a multi-piece write: the rest lands after it. */
static void test_flr_inside_a_long_write(void **state)
{
	int resets = 0;
	struct uvfio_dev *d = uvfio_dev_new("flr-mid");
	assert_int_equal(uvfio_dev_set_reset(d, count_reset, &resets), 0);
	struct uvfio_pci *p = uvfio_dev_pci(d);
	int pos = uvfio_pci_add_pcie(p, 0x40, PCI_EXP_TYPE_ENDPOINT, UVFIO_PCIE_FLR);
	assert_int_equal(pos, 0x40);
	assert_int_equal(dev_seal(d), 0);
	uint8_t cmd[2] = { PCI_COMMAND_MASTER, 0 };
	assert_int_equal(dev_region_access(d, CFG, PCI_COMMAND, cmd, 2, true), 2);
	/* DEVCTL with FLR, then on to DEVCTL2, in one 44-byte write. */
	uint8_t buf[44] = { 0 };
	buf[PCI_EXP_DEVCTL + 1] = PCI_EXP_DEVCTL_BCR_FLR >> 8;
	buf[PCI_EXP_DEVCTL2] = PCI_EXP_DEVCTL2_COMP_TMOUT_DIS;
	assert_int_equal(dev_region_access(d, CFG, 0x40, buf, 44, true), 44);
	/* The FLR happened (the kernel writes COMMAND back around it)... */
	assert_int_equal(resets, 1);
	assert_true(uvfio_pci_bus_master(p));
	/* ...and the rest of the write landed after it. */
	uint16_t ctl2;
	assert_int_equal(dev_region_access(d, CFG, 0x40 + PCI_EXP_DEVCTL2, &ctl2, 2,
					   false), 2);
	assert_int_equal(ctl2, PCI_EXP_DEVCTL2_COMP_TMOUT_DIS);
	uvfio_dev_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_short_writes_do_not_over_read),
		cmocka_unit_test(test_read_only_writes_are_ignored),
		cmocka_unit_test(test_bar64_upper_dword_sizing),
		cmocka_unit_test(test_looped_standard_chains),
		cmocka_unit_test(test_looped_extended_chains),
		cmocka_unit_test(test_flr_inside_a_long_write),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
