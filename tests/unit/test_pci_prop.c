/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Property tests of the config-space engine.  Random writes (offsets,
 * widths and values from fixed seeds) into the header and every
 * capability, against a model kept from per-byte expectations written
 * from <linux/pci_regs.h> names:
 *
 *  - on the emulated device: read-only bits never change, writable bits
 *    take the value, write-1-to-clear bits clear, device-raised bits show;
 *  - over a plain RAM "device": the permission tables alone decide —
 *    writable bits take the value, the rest never change — and only
 *    non-virtual writable bits ever reach the device;
 *  - the config space walked from a backing equals the one the builder
 *    made, and the chains stay walkable whatever is written.
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
#define OPS 20000u

static const unsigned ranges[][2] = {
	{ 0, PCI_STD_HEADER_SIZEOF },
	{ TU_PM, TU_VNDR + TU_VNDR_LEN },
	{ TU_AER, TU_DVSEC + 16 },
};

static unsigned pick_offset(void)
{
	unsigned total = 0;
	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
		total += ranges[i][1] - ranges[i][0];
	unsigned r = tu_rand() % total;
	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		unsigned n = ranges[i][1] - ranges[i][0];
		if (r < n)
			return ranges[i][0] + r;
		r -= n;
	}
	return 0;
}

static void check_range(const struct pci_cfg *cfg, const uint8_t *model,
			unsigned start, unsigned end, unsigned op)
{
	static uint8_t now[PCI_CFG_EXP_SIZE];
	assert_int_equal(pci_cfg_read(cfg, start, now + start, end - start), 0);
	for (unsigned a = start; a < end; a++)
		if (now[a] != model[a])
			fail_msg("op %u: byte 0x%x reads 0x%02x, model 0x%02x",
				 op, a, now[a], model[a]);
}

static void check_all(const struct pci_cfg *cfg, const uint8_t *model,
		      unsigned op)
{
	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
		check_range(cfg, model, ranges[i][0], ranges[i][1], op);
}

/* The device raises status bits now and then; the model follows. */
static void device_raises(struct pci_cfg *cfg, uint8_t *model)
{
	const struct { unsigned off; uint32_t bits; unsigned len; } src[] = {
		{ PCI_STATUS, STATUS_ERRORS, 2 },
		{ TU_PCIE + PCI_EXP_DEVSTA, PCI_EXP_DEVSTA_CED | PCI_EXP_DEVSTA_URD, 2 },
		{ TU_AER + PCI_ERR_UNCOR_STATUS, PCI_ERR_UNC_POISON_TLP |
		  PCI_ERR_UNC_UNSUP, 4 },
		{ TU_AER + PCI_ERR_COR_STATUS, PCI_ERR_COR_BAD_TLP, 4 },
	};
	unsigned i = tu_rand() % (sizeof(src) / sizeof(src[0]));
	uint32_t bits = src[i].bits & tu_rand();
	tu_phys_set(cfg, src[i].off, bits, src[i].len);
	for (unsigned k = 0; k < src[i].len; k++)
		model[src[i].off + k] |= (uint8_t)(bits >> (8 * k));
}

static void run_property(struct pci_cfg *cfg, const struct tu_spec *s,
			 uint32_t seed, bool raise, const uint8_t *ram_before,
			 const struct tu_ram *ram, const struct tu_spec *virt)
{
	static uint8_t model[PCI_CFG_EXP_SIZE];
	static uint8_t ram_prev[PCI_CFG_EXP_SIZE];
	assert_int_equal(pci_cfg_read(cfg, 0, model, cfg->size), 0);
	if (ram)
		memcpy(ram_prev, ram_before, sizeof(ram_prev));
	tu_srand(seed);
	unsigned done = 0;
	for (unsigned op = 0; op < OPS; op++) {
		if (raise && tu_rand() % 64 == 0)
			device_raises(cfg, model);
		unsigned off = pick_offset();
		unsigned n = 1u << (tu_rand() % 3);
		if (off + n > cfg->size)
			continue;
		bool skip = false;
		for (unsigned i = 0; i < n; i++)
			skip |= s->skip[off + i];
		if (skip)
			continue;
		uint32_t val = tu_rand();
		if (tu_rand() % 4 == 0)
			val = tu_rand() % 2 ? 0xffffffffu : 0;
		tu_wr(cfg, off, val, n);
		done++;
		for (unsigned i = 0; i < n; i++)
			model[off + i] = tu_expect(s, off + i, model[off + i],
						   (uint8_t)(val >> (8 * i)));
		unsigned ws = off >= 4 ? off - 4 : 0;
		unsigned we = off + n + 4 > cfg->size ? cfg->size : off + n + 4;
		check_range(cfg, model, ws, we, op);
		if (op % 512 == 0)
			check_all(cfg, model, op);
		if (!ram)
			continue;
		/* Only non-virtual writable bits of the written bytes reach
		 * the device (and MRRS, which vfio-pci forwards floored). */
		for (unsigned a = 0; a < PCI_CFG_EXP_SIZE; a++) {
			uint8_t changed = ram->b[a] ^ ram_prev[a];
			uint8_t allowed = 0;
			if (a >= off && a < off + n)
				allowed = s->rw[a] & ~virt->rw[a];
			if (a == TU_PCIE + PCI_EXP_DEVCTL + 1)
				allowed |= PCI_EXP_DEVCTL_READRQ >> 8;
			if (changed & ~allowed)
				fail_msg("op %u: write 0x%08x/%u at 0x%x changed "
					 "device byte 0x%x: 0x%02x -> 0x%02x", op,
					 val, n, off, a, ram_prev[a], ram->b[a]);
		}
		memcpy(ram_prev, ram->b, sizeof(ram_prev));
	}
	check_all(cfg, model, OPS);
	assert_true(done > OPS / 2);
}

static void test_property_emulated_device(void **state)
{
	static struct tu_spec s;
	tu_spec_full(&s);
	for (uint32_t seed = 1; seed <= 3; seed++) {
		struct pci_cfg *cfg = tu_full_cfg();
		run_property(cfg, &s, seed * 7919, true, NULL, NULL, NULL);
		pci_cfg_free(cfg);
	}
}

static struct pci_cfg *backed_copy(struct tu_ram *ram)
{
	struct pci_cfg *ref = tu_full_cfg();
	tu_ram_from(ram, ref);
	pci_cfg_free(ref);
	struct pci_backing bk = tu_ram_backing(ram);
	struct pci_cfg *cfg = pci_cfg_new_backed(PCI_CFG_EXP_SIZE, &bk);
	assert_non_null(cfg);
	assert_int_equal(pci_cfg_set_bar(cfg, 0, TU_BAR0_SIZE, UVFIO_BAR_MEM32), 0);
	assert_int_equal(pci_cfg_set_bar(cfg, 1, TU_BAR1_SIZE, UVFIO_BAR_IO), 0);
	assert_int_equal(pci_cfg_set_bar(cfg, 2, TU_BAR2_SIZE,
					 UVFIO_BAR_MEM64 | UVFIO_BAR_PREFETCH), 0);
	assert_int_equal(pci_cfg_set_bar(cfg, 4, TU_BAR4_SIZE, UVFIO_BAR_MEM64), 0);
	assert_int_equal(pci_cfg_set_rom(cfg, TU_ROM_SIZE), 0);
	pci_cfg_seal(cfg);
	return cfg;
}

/* The virtual bits, from vfio-pci's tables (ID and next always). */
static void spec_virtual(struct tu_spec *v)
{
	memset(v, 0, sizeof(*v));
	tu_spec_rw(v, PCI_VENDOR_ID, 4, 0xffffffff);
	tu_spec_rw(v, PCI_COMMAND, 2, PCI_COMMAND_INTX_DISABLE);
	tu_spec_rw(v, PCI_STATUS, 2, PCI_STATUS_CAP_LIST);
	for (unsigned o = PCI_BASE_ADDRESS_0; o <= PCI_BASE_ADDRESS_5; o += 4)
		tu_spec_rw(v, o, 4, 0xffffffff);
	tu_spec_rw(v, PCI_ROM_ADDRESS, 4, 0xffffffff);
	tu_spec_rw(v, PCI_CAPABILITY_LIST, 1, 0xff);
	tu_spec_rw(v, PCI_INTERRUPT_LINE, 2, 0xffff);
	const unsigned std[] = { TU_PM, TU_MSI, TU_MSIX, TU_PCIE, TU_AF, TU_VPD,
				 TU_VNDR };
	for (size_t i = 0; i < sizeof(std) / sizeof(std[0]); i++)
		tu_spec_rw(v, std[i], 2, 0xffff);
	tu_spec_rw(v, TU_PM + PCI_PM_PMC, 2, PCI_PM_CAP_PME_MASK);
	tu_spec_rw(v, TU_PM + PCI_PM_CTRL, 2, PCI_PM_CTRL_PME_ENABLE |
		   PCI_PM_CTRL_PME_STATUS);
	tu_spec_rw(v, TU_MSI + PCI_MSI_FLAGS, 1, 0xff);
	tu_spec_rw(v, TU_MSI + PCI_MSI_ADDRESS_LO, 4, 0xffffffff);
	tu_spec_rw(v, TU_MSI + PCI_MSI_ADDRESS_HI, 4, 0xffffffff);
	tu_spec_rw(v, TU_MSI + PCI_MSI_DATA_64, 2, 0xffff);
	tu_spec_rw(v, TU_PCIE + PCI_EXP_DEVCTL, 2, PCI_EXP_DEVCTL_BCR_FLR |
		   PCI_EXP_DEVCTL_PAYLOAD | PCI_EXP_DEVCTL_READRQ);
	tu_spec_rw(v, TU_AF + PCI_AF_CTRL, 1, PCI_AF_CTRL_FLR);
	tu_spec_rw(v, TU_VPD + PCI_VPD_ADDR, 2, 0xffff);
	tu_spec_rw(v, TU_VPD + PCI_VPD_DATA, 4, 0xffffffff);
	const unsigned ext[] = { TU_AER, TU_DSN, TU_ARI, TU_SRIOV, TU_VSEC, TU_DVSEC };
	for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++)
		tu_spec_rw(v, ext[i], 4, 0xffffffff);
}

static void test_property_tables_over_ram(void **state)
{
	static struct tu_spec s, v;
	static struct tu_ram ram;
	tu_spec_tables(&s);
	spec_virtual(&v);
	for (uint32_t seed = 1; seed <= 2; seed++) {
		struct pci_cfg *cfg = backed_copy(&ram);
		run_property(cfg, &s, seed * 104729, false, ram.b, &ram, &v);
		assert_false(ram.misaligned);
		pci_cfg_free(cfg);
	}
}

static void test_walked_equals_built(void **state)
{
	static struct tu_ram ram;
	static uint8_t a[PCI_CFG_EXP_SIZE], b[PCI_CFG_EXP_SIZE];
	struct pci_cfg *built = tu_full_cfg();
	struct pci_cfg *walked = backed_copy(&ram);
	assert_int_equal(pci_cfg_read(built, 0, a, sizeof(a)), 0);
	assert_int_equal(pci_cfg_read(walked, 0, b, sizeof(b)), 0);
	for (unsigned i = 0; i < sizeof(a); i++)
		if (a[i] != b[i])
			fail_msg("byte 0x%x: built 0x%02x, walked 0x%02x", i, a[i], b[i]);
	/* Same owners: the same capabilities at the same places. */
	assert_int_equal(walked->ncaps, built->ncaps);
	for (unsigned i = 0; i < built->ncaps; i++) {
		assert_int_equal(walked->caps[i].off, built->caps[i].off);
		assert_int_equal(walked->caps[i].len, built->caps[i].len);
		assert_int_equal(walked->caps[i].id, built->caps[i].id);
	}
	assert_memory_equal(walked->map, built->map, PCI_CFG_EXP_SIZE);
	assert_int_equal(walked->msix.nvec, TU_MSIX_VECTORS);
	assert_int_equal(walked->msix.table_bar, 4);
	assert_int_equal(walked->msix.pba_off, TU_MSIX_PBA);
	pci_cfg_free(walked);
	pci_cfg_free(built);
}

/* Whatever is written, both chains stay the same and finite. */
static void test_chains_survive_random_writes(void **state)
{
	struct pci_cfg *cfg = tu_full_cfg();
	tu_srand(99);
	static uint8_t junk[PCI_CFG_EXP_SIZE];
	for (unsigned i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)tu_rand();
	/* Everything at once, then at random offsets. */
	assert_int_equal(pci_cfg_write(cfg, 0, junk, cfg->size), 0);
	for (unsigned op = 0; op < 4000; op++) {
		unsigned off = tu_rand() % (cfg->size - 8);
		assert_int_equal(pci_cfg_write(cfg, off, junk + (op % 64),
					       1 + tu_rand() % 8), 0);
	}
	unsigned pos = tu_rd(cfg, PCI_CAPABILITY_LIST, 1), n = 0;
	while (pos && n < 100) {
		n++;
		pos = tu_rd(cfg, pos + PCI_CAP_LIST_NEXT, 1);
	}
	assert_int_equal(n, 7);
	pos = PCI_CFG_SIZE;
	n = 0;
	while (pos && n < 100) {
		n++;
		pos = PCI_EXT_CAP_NEXT(tu_rd(cfg, pos, 4));
	}
	assert_int_equal(n, 6);
	assert_int_equal(tu_rd(cfg, PCI_VENDOR_ID, 4), 0x5a5a1234);
	pci_cfg_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_property_emulated_device),
		cmocka_unit_test(test_property_tables_over_ram),
		cmocka_unit_test(test_walked_equals_built),
		cmocka_unit_test(test_chains_survive_random_writes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
