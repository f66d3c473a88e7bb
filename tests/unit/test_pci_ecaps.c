/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Extended capabilities and hiding: every byte of AER, DSN, ARI, SR-IOV,
 * vendor-specific and DVSEC under all-ones, zero and random writes of
 * every width; their contents; the extended chain; capabilities hidden
 * by the model or unknown to uvfio unlinked from both chains (a hidden
 * first extended one kept as a bare header); the null header the builder
 * puts at 0x100; builder errors.
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

static void raise_aer(struct pci_cfg *cfg)
{
	tu_phys_set(cfg, TU_AER + PCI_ERR_UNCOR_STATUS, 0xffffffff, 4);
	tu_phys_set(cfg, TU_AER + PCI_ERR_COR_STATUS, 0xffffffff, 4);
}

static void test_extended_sweep(void **state)
{
	struct pci_cfg *cfg = tu_full_cfg();
	static struct tu_spec s;
	tu_spec_full(&s);
	tu_srand(3);
	unsigned n = tu_sweep(cfg, &s, TU_AER, TU_DVSEC + 16, raise_aer);
	assert_true(n > 1000);
	pci_cfg_free(cfg);
}

/* Walk the extended chain; ids[] and offs[] receive what is on it. */
static unsigned walk_ext(const struct pci_cfg *cfg, unsigned *ids,
			 unsigned *offs, unsigned max)
{
	unsigned pos = PCI_CFG_SIZE, n = 0;
	for (unsigned steps = 0; pos && steps < PCI_EXT_CHAIN_MAX; steps++) {
		uint32_t h = tu_rd(cfg, pos, 4);
		if (!h)
			break;
		if (n < max) {
			ids[n] = PCI_EXT_CAP_ID(h);
			offs[n] = pos;
		}
		n++;
		pos = PCI_EXT_CAP_NEXT(h);
	}
	return n;
}

static unsigned walk_std(const struct pci_cfg *cfg, unsigned *ids, unsigned max)
{
	unsigned pos = tu_rd(cfg, PCI_CAPABILITY_LIST, 1), n = 0;
	for (unsigned steps = 0; pos && steps < PCI_STD_CHAIN_MAX; steps++) {
		if (n < max)
			ids[n] = tu_rd(cfg, pos, 1);
		n++;
		pos = tu_rd(cfg, pos + PCI_CAP_LIST_NEXT, 1);
	}
	return n;
}

static void test_extended_contents(void **state)
{
	struct pci_cfg *cfg = tu_full_cfg();
	unsigned ids[16], offs[16];
	assert_int_equal(walk_ext(cfg, ids, offs, 16), 6);
	const unsigned want[6][2] = {
		{ PCI_EXT_CAP_ID_ERR, TU_AER }, { PCI_EXT_CAP_ID_DSN, TU_DSN },
		{ PCI_EXT_CAP_ID_ARI, TU_ARI }, { PCI_EXT_CAP_ID_SRIOV, TU_SRIOV },
		{ PCI_EXT_CAP_ID_VNDR, TU_VSEC }, { PCI_EXT_CAP_ID_DVSEC, TU_DVSEC },
	};
	for (unsigned i = 0; i < 6; i++) {
		assert_int_equal(ids[i], want[i][0]);
		assert_int_equal(offs[i], want[i][1]);
	}
	assert_int_equal(PCI_EXT_CAP_VER(tu_rd(cfg, TU_AER, 4)), 2);
	assert_int_equal(PCI_EXT_CAP_VER(tu_rd(cfg, TU_DSN, 4)), 1);
	/* AER power-on values. */
	assert_int_equal(tu_rd(cfg, TU_AER + PCI_ERR_UNCOR_SEVER, 4),
			 PCI_ERR_UNC_DLP | PCI_ERR_UNC_SURPDN | PCI_ERR_UNC_FCP |
			 PCI_ERR_UNC_RX_OVER | PCI_ERR_UNC_MALF_TLP |
			 PCI_ERR_UNC_INTN);
	assert_int_equal(tu_rd(cfg, TU_AER + PCI_ERR_COR_MASK, 4),
			 PCI_ERR_COR_ADV_NFAT);
	assert_int_equal(tu_rd(cfg, TU_AER + PCI_ERR_CAP, 4),
			 PCI_ERR_CAP_ECRC_GENC | PCI_ERR_CAP_ECRC_CHKC);
	/* Error status: the device sets, the client clears with ones. */
	tu_phys_set(cfg, TU_AER + PCI_ERR_UNCOR_STATUS, PCI_ERR_UNC_POISON_TLP |
		    PCI_ERR_UNC_UNSUP, 4);
	tu_wr(cfg, TU_AER + PCI_ERR_UNCOR_STATUS, PCI_ERR_UNC_UNSUP, 4);
	assert_int_equal(tu_rd(cfg, TU_AER + PCI_ERR_UNCOR_STATUS, 4),
			 PCI_ERR_UNC_POISON_TLP);
	/* The header log is read-only. */
	tu_phys_set(cfg, TU_AER + PCI_ERR_HEADER_LOG, 0x12345678, 4);
	tu_wr(cfg, TU_AER + PCI_ERR_HEADER_LOG, 0, 4);
	assert_int_equal(tu_rd(cfg, TU_AER + PCI_ERR_HEADER_LOG, 4), 0x12345678);
	/* DSN, ARI. */
	assert_int_equal(tu_rd(cfg, TU_DSN + 4, 4), (uint32_t)TU_SERIAL);
	assert_int_equal(tu_rd(cfg, TU_DSN + 8, 4), (uint32_t)(TU_SERIAL >> 32));
	assert_int_equal(PCI_ARI_CAP_NFN(tu_rd(cfg, TU_ARI + PCI_ARI_CAP, 2)), 3);
	/* SR-IOV: read-only, VFs are the host's business. */
	assert_int_equal(tu_rd(cfg, TU_SRIOV + PCI_SRIOV_TOTAL_VF, 2), 8);
	assert_int_equal(tu_rd(cfg, TU_SRIOV + PCI_SRIOV_INITIAL_VF, 2), 4);
	assert_int_equal(tu_rd(cfg, TU_SRIOV + PCI_SRIOV_VF_OFFSET, 2), 2);
	assert_int_equal(tu_rd(cfg, TU_SRIOV + PCI_SRIOV_VF_STRIDE, 2), 1);
	assert_int_equal(tu_rd(cfg, TU_SRIOV + PCI_SRIOV_VF_DID, 2), 0x5a5b);
	assert_int_equal(tu_rd(cfg, TU_SRIOV + PCI_SRIOV_SUP_PGSIZE, 4), 0x553);
	tu_wr(cfg, TU_SRIOV + PCI_SRIOV_CTRL, PCI_SRIOV_CTRL_VFE, 2);
	tu_wr(cfg, TU_SRIOV + PCI_SRIOV_NUM_VF, 4, 2);
	assert_int_equal(tu_rd(cfg, TU_SRIOV + PCI_SRIOV_CTRL, 2), 0);
	assert_int_equal(tu_rd(cfg, TU_SRIOV + PCI_SRIOV_NUM_VF, 2), 0);
	/* Vendor-specific headers and payloads. */
	assert_int_equal(tu_rd(cfg, TU_VSEC + PCI_VSEC_HDR, 4), 0x77 | 2 << 16 |
			 16u << PCI_VSEC_HDR_LEN_SHIFT);
	assert_int_equal(tu_rd(cfg, TU_VSEC + 8, 4), 0x04030201);
	uint32_t h1 = tu_rd(cfg, TU_DVSEC + PCI_DVSEC_HEADER1, 4);
	assert_int_equal(PCI_DVSEC_HEADER1_VID(h1), 0x1234);
	assert_int_equal(PCI_DVSEC_HEADER1_REV(h1), 1);
	assert_int_equal(PCI_DVSEC_HEADER1_LEN(h1), 16);
	assert_int_equal(tu_rd(cfg, TU_DVSEC + PCI_DVSEC_HEADER2, 2), 0x99);
	tu_wr(cfg, TU_DVSEC + 12, 0xdeadbeef, 4);
	assert_int_equal(tu_rd(cfg, TU_DVSEC + 12, 4), 0xdeadbeef);
	/* Headers are read-only: the chain cannot be broken. */
	tu_wr(cfg, TU_AER, 0, 4);
	tu_wr(cfg, TU_DSN + 2, 0, 2);
	assert_int_equal(walk_ext(cfg, ids, offs, 16), 6);
	pci_cfg_free(cfg);
}

static struct pci_cfg *with_hidden(bool ext, uint16_t id)
{
	struct pci_cfg *cfg = tu_full_cfg();
	/* Hiding is part of building: do it before sealing. */
	cfg->sealed = false;
	assert_int_equal(pci_cfg_hide(cfg, ext, id), 0);
	pci_cfg_seal(cfg);
	return cfg;
}

static void test_hide_standard(void **state)
{
	struct pci_cfg *cfg = with_hidden(false, PCI_CAP_ID_MSI);
	unsigned ids[16];
	assert_int_equal(walk_std(cfg, ids, 16), 6);
	assert_int_equal(ids[0], PCI_CAP_ID_PM);
	assert_int_equal(ids[1], PCI_CAP_ID_MSIX);
	assert_int_equal(tu_rd(cfg, TU_PM + PCI_CAP_LIST_NEXT, 1), TU_MSIX);
	/* Its bytes are raw: the device answers, writes reach it as they are. */
	uint8_t phys[4];
	assert_int_equal(pci_cfg_phys_read(cfg, TU_MSI, phys, 4), 0);
	assert_int_equal(tu_rd(cfg, TU_MSI, 4),
			 phys[0] | phys[1] << 8 | phys[2] << 16 | (uint32_t)phys[3] << 24);
	tu_wr(cfg, TU_MSI + PCI_MSI_DATA_64, 0x4321, 2);
	assert_int_equal(pci_cfg_phys_read(cfg, TU_MSI + PCI_MSI_DATA_64, phys, 2), 0);
	assert_int_equal(phys[0] | phys[1] << 8, 0x4321);
	pci_cfg_free(cfg);

	/* Hiding every capability clears the list bit. */
	cfg = pci_cfg_new(PCI_CFG_SIZE);
	assert_int_equal(pci_cap_add_pm(cfg, 0, 0), 0x40);
	assert_true(tu_rd(cfg, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	assert_int_equal(pci_cfg_hide(cfg, false, PCI_CAP_ID_PM), 0);
	assert_false(tu_rd(cfg, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	assert_int_equal(tu_rd(cfg, PCI_CAPABILITY_LIST, 1), 0);
	assert_int_equal(pci_cfg_hide(cfg, false, 0x100), -EINVAL);
	pci_cfg_free(cfg);
}

static void test_hide_extended(void **state)
{
	unsigned ids[16], offs[16];
	/* In the middle: unlinked. */
	struct pci_cfg *cfg = with_hidden(true, PCI_EXT_CAP_ID_DSN);
	assert_int_equal(walk_ext(cfg, ids, offs, 16), 5);
	assert_int_equal(ids[1], PCI_EXT_CAP_ID_ARI);
	assert_int_equal(PCI_EXT_CAP_NEXT(tu_rd(cfg, TU_AER, 4)), TU_ARI);
	pci_cfg_free(cfg);
	/* The first: a bare header stays at 0x100, linking on. */
	cfg = with_hidden(true, PCI_EXT_CAP_ID_ERR);
	uint32_t h = tu_rd(cfg, PCI_CFG_SIZE, 4);
	assert_int_equal(PCI_EXT_CAP_ID(h), 0);
	assert_int_equal(PCI_EXT_CAP_VER(h), 0);
	assert_int_equal(PCI_EXT_CAP_NEXT(h), TU_DSN);
	assert_int_equal(walk_ext(cfg, ids, offs, 16), 6);
	assert_int_equal(ids[0], 0);
	assert_int_equal(ids[1], PCI_EXT_CAP_ID_DSN);
	/* The header cannot be written; the rest of AER is raw. */
	tu_wr(cfg, PCI_CFG_SIZE, 0xffffffff, 4);
	assert_int_equal(tu_rd(cfg, PCI_CFG_SIZE, 4), h);
	pci_cfg_free(cfg);
	/* All of them hidden: the header reads 0 (no extended capabilities). */
	cfg = tu_full_cfg();
	cfg->sealed = false;
	const uint16_t all[] = { PCI_EXT_CAP_ID_ERR, PCI_EXT_CAP_ID_DSN,
				 PCI_EXT_CAP_ID_ARI, PCI_EXT_CAP_ID_SRIOV,
				 PCI_EXT_CAP_ID_VNDR, PCI_EXT_CAP_ID_DVSEC };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		assert_int_equal(pci_cfg_hide(cfg, true, all[i]), 0);
	assert_int_equal(pci_cfg_hide(cfg, true, PCI_EXT_CAP_ID_ERR), 0);
	assert_int_equal(tu_rd(cfg, PCI_CFG_SIZE, 4), 0);
	pci_cfg_free(cfg);
}

static void test_unknown_capabilities_hidden(void **state)
{
	struct pci_cfg *cfg = pci_cfg_new(PCI_CFG_SIZE);
	const uint8_t body[6] = { 9, 9, 9, 9, 9, 9 };
	assert_int_equal(pci_cap_add_pm(cfg, 0, 0), 0x40);
	/* A debug port: uvfio has no table for it. */
	assert_int_equal(pci_cfg_add_raw(cfg, false, PCI_CAP_ID_DBG, 0, 0, body, 6),
			 0x48);
	/* A raw capability of a known kind is virtualized as that kind. */
	assert_int_equal(pci_cfg_add_raw(cfg, false, PCI_CAP_ID_VNDR, 0, 0x80,
					 (const uint8_t[]){ 5, 0xaa, 0xbb }, 3), 0x80);
	unsigned ids[8];
	assert_int_equal(walk_std(cfg, ids, 8), 2);
	assert_int_equal(ids[0], PCI_CAP_ID_PM);
	assert_int_equal(ids[1], PCI_CAP_ID_VNDR);
	assert_int_equal(tu_rd(cfg, 0x80 + 3, 2), 0xbbaa);
	/* Extended: unknown ones too, first or not. */
	assert_true(pci_cap_add_pcie(cfg, 0, PCI_EXP_TYPE_ENDPOINT, 0) > 0);
	assert_int_equal(pci_cfg_add_raw(cfg, true, PCI_EXT_CAP_ID_PTM, 1, 0, body, 4),
			 PCI_CFG_SIZE);
	assert_int_equal(pci_cap_add_dsn(cfg, 0, 42), PCI_CFG_SIZE + 8);
	assert_int_equal(pci_cfg_add_raw(cfg, true, 0x7777, 1, 0, body, 4),
			 PCI_CFG_SIZE + 20);
	assert_int_equal(pci_cap_add_ari(cfg, 0, 0), PCI_CFG_SIZE + 28);
	unsigned offs[8];
	assert_int_equal(walk_ext(cfg, ids, offs, 8), 3);
	assert_int_equal(ids[0], 0);
	assert_int_equal(offs[1], PCI_CFG_SIZE + 8);
	assert_int_equal(offs[2], PCI_CFG_SIZE + 28);
	/* Bad raw arguments. */
	assert_int_equal(pci_cfg_add_raw(cfg, false, 0x100, 0, 0, NULL, 0), -EINVAL);
	assert_int_equal(pci_cfg_add_raw(cfg, true, 1, 16, 0, NULL, 0), -EINVAL);
	assert_int_equal(pci_cfg_add_raw(cfg, true, 1, 1, 0, NULL, 4), -EINVAL);
	pci_cfg_free(cfg);
}

static void test_first_extended_elsewhere(void **state)
{
	struct pci_cfg *cfg = pci_cfg_new(PCI_CFG_SIZE);
	assert_true(pci_cap_add_pcie(cfg, 0, PCI_EXP_TYPE_ENDPOINT, 0) > 0);
	/* The chain must start at 0x100: a null header goes there. */
	assert_int_equal(pci_cap_add_dsn(cfg, 0x200, 7), 0x200);
	uint32_t h = tu_rd(cfg, PCI_CFG_SIZE, 4);
	assert_int_equal(PCI_EXT_CAP_ID(h), 0);
	assert_int_equal(PCI_EXT_CAP_NEXT(h), 0x200);
	/* A later capability may take 0x100 over. */
	assert_int_equal(pci_cap_add_ari(cfg, 0, 1), PCI_CFG_SIZE);
	h = tu_rd(cfg, PCI_CFG_SIZE, 4);
	assert_int_equal(PCI_EXT_CAP_ID(h), PCI_EXT_CAP_ID_ARI);
	assert_int_equal(PCI_EXT_CAP_NEXT(h), 0x200);
	assert_int_equal(PCI_EXT_CAP_NEXT(tu_rd(cfg, 0x200, 4)), 0);
	pci_cfg_free(cfg);
	/* The same for a raw capability. */
	cfg = pci_cfg_new(PCI_CFG_EXP_SIZE);
	assert_int_equal(pci_cfg_add_raw(cfg, true, PCI_EXT_CAP_ID_DSN, 1, 0x300,
					 (const uint8_t[8]){ 0 }, 8), 0x300);
	assert_int_equal(PCI_EXT_CAP_NEXT(tu_rd(cfg, PCI_CFG_SIZE, 4)), 0x300);
	assert_int_equal(PCI_EXT_CAP_ID(tu_rd(cfg, 0x300, 4)), PCI_EXT_CAP_ID_DSN);
	pci_cfg_free(cfg);
}

static void test_extended_errors(void **state)
{
	struct pci_cfg *cfg = pci_cfg_new(PCI_CFG_SIZE);
	assert_int_equal(pci_cap_add_dsn(cfg, 0, 1), -EINVAL);   /* not PCIe */
	assert_true(pci_cap_add_pcie(cfg, 0, PCI_EXP_TYPE_ENDPOINT, 0) > 0);
	assert_int_equal(pci_cap_add_aer(cfg, 0x102), -EINVAL);
	assert_int_equal(pci_cap_add_aer(cfg, 0xfc), -EINVAL);
	assert_int_equal(pci_cap_add_aer(cfg, 0xfe0), -EINVAL);
	assert_int_equal(pci_cap_add_aer(cfg, 0), PCI_CFG_SIZE);
	assert_int_equal(pci_cap_add_aer(cfg, 0), -EEXIST);
	assert_int_equal(pci_cap_add_dsn(cfg, 0x120, 1), -EEXIST);
	assert_int_equal(pci_cap_add_ari(cfg, 0, 256), -EINVAL);
	struct uvfio_pci_sriov sr = { .total_vfs = 0 };
	assert_int_equal(pci_cap_add_sriov(cfg, 0, &sr), -EINVAL);
	sr = (struct uvfio_pci_sriov){ .total_vfs = 2, .initial_vfs = 3, .vf_stride = 1 };
	assert_int_equal(pci_cap_add_sriov(cfg, 0, &sr), -EINVAL);
	sr = (struct uvfio_pci_sriov){ .total_vfs = 2 };
	assert_int_equal(pci_cap_add_sriov(cfg, 0, &sr), -EINVAL);
	assert_int_equal(pci_cap_add_sriov(cfg, 0, NULL), -EINVAL);
	assert_int_equal(pci_cap_add_ext_vendor(cfg, 0, 1, 16, NULL, 0), -EINVAL);
	assert_int_equal(pci_cap_add_ext_vendor(cfg, 0, 1, 1, NULL, 4), -EINVAL);
	assert_int_equal(pci_cap_add_dvsec(cfg, 0, 1, 1, 1, NULL, 4088), -EINVAL);
	/* Lengths past the documented limits are bad arguments; up to them
	 * they are only too big for the room there is. */
	static const uint8_t huge[4096];
	assert_int_equal(pci_cap_add_ext_vendor(cfg, 0, 1, 1, huge, 4085), -EINVAL);
	assert_int_equal(pci_cap_add_ext_vendor(cfg, 0, 1, 1, huge, 4087), -EINVAL);
	assert_int_equal(pci_cap_add_ext_vendor(cfg, 0, 1, 1, huge, 4084), -ENOSPC);
	assert_int_equal(pci_cap_add_dvsec(cfg, 0, 1, 1, 1, huge, 4083), -EINVAL);
	assert_int_equal(pci_cap_add_dvsec(cfg, 0, 1, 1, 1, huge, 4085), -EINVAL);
	assert_int_equal(pci_cap_add_dvsec(cfg, 0, 1, 1, 1, huge, 4082), -ENOSPC);
	/* Vendor-specific ones may repeat; space runs out. */
	static const uint8_t big[3000];
	assert_int_equal(pci_cap_add_ext_vendor(cfg, 0, 1, 1, big, 3000), 0x12c);
	assert_int_equal(pci_cap_add_ext_vendor(cfg, 0, 1, 1, big, 1000), -ENOSPC);
	assert_int_equal(pci_cap_add_ext_vendor(cfg, 0, 2, 1, big, 100), 0xcec);
	assert_int_equal(pci_cap_add_dvsec(cfg, 0, 1, 1, 1, NULL, 0), 0xd58);
	pci_cfg_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_extended_sweep),
		cmocka_unit_test(test_extended_contents),
		cmocka_unit_test(test_hide_standard),
		cmocka_unit_test(test_hide_extended),
		cmocka_unit_test(test_unknown_capabilities_hidden),
		cmocka_unit_test(test_first_extended_elsewhere),
		cmocka_unit_test(test_extended_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
