/* SPDX-License-Identifier: BSD-3-Clause */
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
/* The AER status bits vfio-pci lets a client write. */
#define AER_UNCOR (PCI_ERR_UNC_UND | PCI_ERR_UNC_DLP | PCI_ERR_UNC_SURPDN | \
		   PCI_ERR_UNC_POISON_TLP | PCI_ERR_UNC_FCP | \
		   PCI_ERR_UNC_COMP_TIME | PCI_ERR_UNC_COMP_ABORT | \
		   PCI_ERR_UNC_UNX_COMP | PCI_ERR_UNC_RX_OVER | \
		   PCI_ERR_UNC_MALF_TLP | PCI_ERR_UNC_ECRC | PCI_ERR_UNC_UNSUP | \
		   PCI_ERR_UNC_ACSV | PCI_ERR_UNC_INTN | PCI_ERR_UNC_MCBTLP | \
		   PCI_ERR_UNC_ATOMEG | PCI_ERR_UNC_TLPPRE)
#define AER_COR (PCI_ERR_COR_RCVR | PCI_ERR_COR_BAD_TLP | \
		 PCI_ERR_COR_BAD_DLLP | PCI_ERR_COR_REP_ROLL | \
		 PCI_ERR_COR_REP_TIMER | PCI_ERR_COR_ADV_NFAT | \
		 PCI_ERR_COR_INTERNAL | PCI_ERR_COR_LOG_OVER)

static uint32_t g_rand = 0x12345678;

void tu_srand(uint32_t seed)
{
	g_rand = seed ? seed : 1;
}

uint32_t tu_rand(void)
{
	g_rand ^= g_rand << 13;
	g_rand ^= g_rand >> 17;
	g_rand ^= g_rand << 5;
	return g_rand;
}

uint32_t tu_rd(const struct pci_cfg *cfg, unsigned off, unsigned len)
{
	uint8_t b[4] = { 0 };
	assert_true(len <= 4);
	assert_int_equal(pci_cfg_read(cfg, off, b, len), 0);
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
}

void tu_wr(struct pci_cfg *cfg, unsigned off, uint32_t v, unsigned len)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
			 (uint8_t)(v >> 24) };
	assert_true(len <= 4);
	assert_int_equal(pci_cfg_write(cfg, off, b, len), 0);
}

void tu_phys_set(struct pci_cfg *cfg, unsigned off, uint32_t bits, unsigned len)
{
	uint8_t b[4];
	assert_int_equal(pci_cfg_phys_read(cfg, off, b, len), 0);
	for (unsigned i = 0; i < len; i++)
		b[i] |= (uint8_t)(bits >> (8 * i));
	assert_int_equal(pci_cfg_phys_write(cfg, off, b, len), 0);
}

struct pci_cfg *tu_full_cfg(void)
{
	struct pci_cfg *cfg = pci_cfg_new(PCI_CFG_SIZE);
	assert_non_null(cfg);
	const struct uvfio_pci_ids ids = {
		.vendor = 0x1234, .device = 0x5a5a, .subsystem_vendor = 0x1af4,
		.subsystem_device = 1, .class_code = 0x020000, .revision = 2,
		.irq_pin = 1,
	};
	pci_cfg_set_ids(cfg, &ids);
	assert_int_equal(pci_cfg_set_bar(cfg, 0, TU_BAR0_SIZE, UVFIO_BAR_MEM32), 0);
	assert_int_equal(pci_cfg_set_bar(cfg, 1, TU_BAR1_SIZE, UVFIO_BAR_IO), 0);
	assert_int_equal(pci_cfg_set_bar(cfg, 2, TU_BAR2_SIZE,
					 UVFIO_BAR_MEM64 | UVFIO_BAR_PREFETCH), 0);
	assert_int_equal(pci_cfg_set_bar(cfg, 4, TU_BAR4_SIZE, UVFIO_BAR_MEM64), 0);
	assert_int_equal(pci_cfg_set_rom(cfg, TU_ROM_SIZE), 0);
	uint8_t vpd[TU_VPD_LEN];
	for (unsigned i = 0; i < sizeof(vpd); i++)
		vpd[i] = (uint8_t)(0x80 + i);
	const uint8_t pay[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	const struct uvfio_pci_sriov sriov = {
		.total_vfs = 8, .initial_vfs = 4, .vf_offset = 2, .vf_stride = 1,
		.vf_device = 0x5a5b, .page_sizes = 0x553,
	};
	assert_int_equal(pci_cap_add_pm(cfg, TU_PM, UVFIO_PCI_PM_D1 |
					UVFIO_PCI_PM_D2), TU_PM);
	assert_int_equal(pci_cap_add_msi(cfg, TU_MSI, TU_MSI_VECTORS,
					 UVFIO_MSI_64BIT | UVFIO_MSI_MASKABLE), TU_MSI);
	assert_int_equal(pci_cap_add_msix(cfg, TU_MSIX, TU_MSIX_VECTORS, 4,
					  TU_MSIX_TABLE, 4, TU_MSIX_PBA), TU_MSIX);
	assert_int_equal(pci_cap_add_pcie(cfg, TU_PCIE, PCI_EXP_TYPE_ENDPOINT,
					  UVFIO_PCIE_FLR), TU_PCIE);
	assert_int_equal(pci_cap_add_af(cfg, TU_AF), TU_AF);
	assert_int_equal(pci_cap_add_vpd(cfg, TU_VPD, vpd, sizeof(vpd)), TU_VPD);
	assert_int_equal(pci_cap_add_vendor(cfg, TU_VNDR, pay, 8), TU_VNDR);
	assert_int_equal(pci_cap_add_aer(cfg, TU_AER), TU_AER);
	assert_int_equal(pci_cap_add_dsn(cfg, TU_DSN, TU_SERIAL), TU_DSN);
	assert_int_equal(pci_cap_add_ari(cfg, TU_ARI, 3), TU_ARI);
	assert_int_equal(pci_cap_add_sriov(cfg, TU_SRIOV, &sriov), TU_SRIOV);
	assert_int_equal(pci_cap_add_ext_vendor(cfg, TU_VSEC, 0x77, 2, pay, 8),
			 TU_VSEC);
	assert_int_equal(pci_cap_add_dvsec(cfg, TU_DVSEC, 0x1234, 1, 0x99, pay, 6),
			 TU_DVSEC);
	pci_cfg_seal(cfg);
	return cfg;
}

static void set_le(uint8_t *p, unsigned n, uint32_t v)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

void tu_spec_rw(struct tu_spec *s, unsigned off, unsigned len, uint32_t m)
{
	set_le(s->rw + off, len, m);
}

void tu_spec_w1c(struct tu_spec *s, unsigned off, unsigned len, uint32_t m)
{
	set_le(s->w1c + off, len, m);
}

void tu_spec_skip(struct tu_spec *s, unsigned off, unsigned len)
{
	memset(s->skip + off, 1, len);
}

/* BARs and ROM: the address bits their sizes decode. */
static void spec_bars(struct tu_spec *s)
{
	tu_spec_rw(s, PCI_BASE_ADDRESS_0, 4, (uint32_t)~(TU_BAR0_SIZE - 1));
	tu_spec_rw(s, PCI_BASE_ADDRESS_1, 4, (uint32_t)~(TU_BAR1_SIZE - 1));
	tu_spec_rw(s, PCI_BASE_ADDRESS_2, 4, 0);   /* 8 GiB: only the upper */
	tu_spec_rw(s, PCI_BASE_ADDRESS_3, 4, 0xfffffffe);
	tu_spec_rw(s, PCI_BASE_ADDRESS_4, 4, (uint32_t)~(TU_BAR4_SIZE - 1));
	tu_spec_rw(s, PCI_BASE_ADDRESS_5, 4, 0xffffffff);
	tu_spec_rw(s, PCI_ROM_ADDRESS, 4,
		   (uint32_t)~(TU_ROM_SIZE - 1) | PCI_ROM_ADDRESS_ENABLE);
	tu_spec_rw(s, PCI_CACHE_LINE_SIZE, 1, 0xff);
	tu_spec_rw(s, PCI_LATENCY_TIMER, 1, 0xff);
	tu_spec_rw(s, PCI_INTERRUPT_LINE, 1, 0xff);
}

void tu_spec_full(struct tu_spec *s)
{
	memset(s, 0, sizeof(*s));
	/* Header: what the emulated function implements. */
	tu_spec_rw(s, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY |
		   PCI_COMMAND_MASTER | PCI_COMMAND_PARITY | PCI_COMMAND_SERR |
		   PCI_COMMAND_INTX_DISABLE);
	tu_spec_w1c(s, PCI_STATUS, 2, STATUS_ERRORS);
	spec_bars(s);
	/* PM: the power state (all four supported); PME stays hidden. */
	tu_spec_rw(s, TU_PM + PCI_PM_CTRL, 1, PCI_PM_CTRL_STATE_MASK);
	/* MSI: flags are clamped (checked on their own). */
	tu_spec_skip(s, TU_MSI + PCI_MSI_FLAGS, 1);
	tu_spec_rw(s, TU_MSI + PCI_MSI_ADDRESS_LO, 4, 0xfffffffc);
	tu_spec_rw(s, TU_MSI + PCI_MSI_ADDRESS_HI, 4, 0xffffffff);
	tu_spec_rw(s, TU_MSI + PCI_MSI_DATA_64, 2, 0xffff);
	tu_spec_rw(s, TU_MSI + PCI_MSI_MASK_64, 4, (1u << TU_MSI_VECTORS) - 1);
	/* PCIe: device control but phantom functions and FLR (reads 0). */
	tu_spec_rw(s, TU_PCIE + PCI_EXP_DEVCTL, 2,
		   0xffff & ~(PCI_EXP_DEVCTL_PHANTOM | PCI_EXP_DEVCTL_BCR_FLR));
	tu_spec_rw(s, TU_PCIE + PCI_EXP_DEVCTL2, 2, PCI_EXP_DEVCTL2_COMP_TIMEOUT |
		   PCI_EXP_DEVCTL2_COMP_TMOUT_DIS);
	/* VPD: the F flag drives accesses (checked on its own). */
	tu_spec_skip(s, TU_VPD + PCI_VPD_ADDR, 6);
	for (unsigned i = 3; i < TU_VNDR_LEN; i++)
		tu_spec_rw(s, TU_VNDR + i, 1, 0xff);
	tu_spec_w1c(s, TU_AER + PCI_ERR_UNCOR_STATUS, 4, AER_UNCOR);
	tu_spec_rw(s, TU_AER + PCI_ERR_UNCOR_MASK, 4, AER_UNCOR);
	tu_spec_rw(s, TU_AER + PCI_ERR_UNCOR_SEVER, 4, AER_UNCOR);
	tu_spec_w1c(s, TU_AER + PCI_ERR_COR_STATUS, 4, AER_COR);
	tu_spec_rw(s, TU_AER + PCI_ERR_COR_MASK, 4, AER_COR);
	tu_spec_rw(s, TU_AER + PCI_ERR_CAP, 4, PCI_ERR_CAP_ECRC_GENE |
		   PCI_ERR_CAP_ECRC_CHKE);
	for (unsigned i = 8; i < 16; i++)
		tu_spec_rw(s, TU_VSEC + i, 1, 0xff);
	for (unsigned i = 10; i < 16; i++)
		tu_spec_rw(s, TU_DVSEC + i, 1, 0xff);
}

void tu_spec_tables(struct tu_spec *s)
{
	memset(s, 0, sizeof(*s));
	/* The kernel's header table over a device that keeps every bit. */
	tu_spec_rw(s, PCI_COMMAND, 2, 0xffff);
	tu_spec_rw(s, PCI_STATUS, 2, STATUS_ERRORS);
	tu_spec_rw(s, PCI_BIST, 1, 0xff);
	spec_bars(s);
	tu_spec_rw(s, TU_PM + PCI_PM_CTRL, 4,
		   ~(uint32_t)(PCI_PM_CTRL_PME_ENABLE | PCI_PM_CTRL_PME_STATUS));
	tu_spec_skip(s, TU_MSI + PCI_MSI_FLAGS, 1);
	tu_spec_rw(s, TU_MSI + PCI_MSI_ADDRESS_LO, 4, 0xfffffffc);
	tu_spec_rw(s, TU_MSI + PCI_MSI_ADDRESS_HI, 4, 0xffffffff);
	tu_spec_rw(s, TU_MSI + PCI_MSI_DATA_64, 2, 0xffff);
	tu_spec_rw(s, TU_MSI + PCI_MSI_MASK_64, 4, 0xffffffff);
	tu_spec_rw(s, TU_MSI + PCI_MSI_PENDING_64, 4, 0xffffffff);
	tu_spec_rw(s, TU_PCIE + PCI_EXP_DEVCTL, 2,
		   0xffff & ~(PCI_EXP_DEVCTL_PHANTOM | PCI_EXP_DEVCTL_BCR_FLR));
	tu_spec_rw(s, TU_PCIE + PCI_EXP_DEVCTL2, 2, 0xffff & ~PCI_EXP_DEVCTL2_ARI);
	tu_spec_skip(s, TU_VPD + PCI_VPD_ADDR, 6);
	for (unsigned i = PCI_CAP_FLAGS; i < TU_VNDR_LEN; i++)
		tu_spec_rw(s, TU_VNDR + i, 1, 0xff);
	tu_spec_rw(s, TU_AER + PCI_ERR_UNCOR_STATUS, 4, AER_UNCOR);
	tu_spec_rw(s, TU_AER + PCI_ERR_UNCOR_MASK, 4, AER_UNCOR);
	tu_spec_rw(s, TU_AER + PCI_ERR_UNCOR_SEVER, 4, AER_UNCOR);
	tu_spec_rw(s, TU_AER + PCI_ERR_COR_STATUS, 4, AER_COR);
	tu_spec_rw(s, TU_AER + PCI_ERR_COR_MASK, 4, AER_COR);
	tu_spec_rw(s, TU_AER + PCI_ERR_CAP, 4, PCI_ERR_CAP_ECRC_GENE |
		   PCI_ERR_CAP_ECRC_CHKE);
	for (unsigned i = 4; i < 16; i++) {
		tu_spec_rw(s, TU_VSEC + i, 1, 0xff);
		tu_spec_rw(s, TU_DVSEC + i, 1, 0xff);
	}
	/* Bytes no capability owns go to the device as they are. */
	tu_spec_rw(s, TU_MSIX + PCI_CAP_MSIX_SIZEOF, 4, 0xffffffff);
	tu_spec_rw(s, TU_PCIE + PCI_CAP_EXP_ENDPOINT_SIZEOF_V2, 2, 0xffff);
	tu_spec_rw(s, TU_AF + PCI_CAP_AF_SIZEOF, 2, 0xffff);
	memset(s->rw + TU_VNDR + TU_VNDR_LEN, 0xff,
	       PCI_CFG_SPACE_SIZE - TU_VNDR - TU_VNDR_LEN);
	memset(s->rw + TU_DVSEC + 16, 0xff, PCI_CFG_EXP_SIZE - TU_DVSEC - 16);
}

uint8_t tu_expect(const struct tu_spec *s, unsigned off, uint8_t old,
		  uint8_t val)
{
	uint8_t v = (uint8_t)((old & ~s->rw[off]) | (val & s->rw[off]));
	return (uint8_t)(v & ~(val & s->w1c[off]));
}

unsigned tu_sweep(struct pci_cfg *cfg, const struct tu_spec *s,
		  unsigned start, unsigned end,
		  void (*prep)(struct pci_cfg *cfg))
{
	static const unsigned widths[3] = { 1, 2, 4 };
	unsigned writes = 0;
	pci_cfg_reset(cfg);
	if (prep)
		prep(cfg);
	for (unsigned off = start; off < end; off++) {
		for (unsigned w = 0; w < 3; w++) {
			unsigned n = widths[w];
			if (off + n > end)
				continue;
			bool skip = false;
			for (unsigned i = 0; i < n; i++)
				skip |= s->skip[off + i];
			if (skip)
				continue;
			const uint32_t pats[3] = { 0xffffffffu, 0, tu_rand() };
			for (unsigned p = 0; p < 3; p++) {
				unsigned ws = off >= start + 4 ? (off & ~3u) - 4 : start;
				ws = ws < start ? start : ws;
				unsigned we = off + n + 4 > end ? end : off + n + 4;
				uint8_t before[16], after[16];
				assert_int_equal(pci_cfg_read(cfg, ws, before, we - ws), 0);
				tu_wr(cfg, off, pats[p], n);
				writes++;
				assert_int_equal(pci_cfg_read(cfg, ws, after, we - ws), 0);
				for (unsigned a = ws; a < we; a++) {
					uint8_t want = before[a - ws];
					if (a >= off && a < off + n)
						want = tu_expect(s, a, want,
								 (uint8_t)(pats[p] >> (8 * (a - off))));
					if (after[a - ws] != want)
						fail_msg("write 0x%08x/%u at 0x%x: byte 0x%x "
							 "reads 0x%02x, want 0x%02x (was 0x%02x)",
							 pats[p], n, off, a, after[a - ws],
							 want, before[a - ws]);
				}
				pci_cfg_reset(cfg);
				if (prep)
					prep(cfg);
			}
		}
	}
	return writes;
}

/* ---- RAM backing ------------------------------------------------------- */

static bool contract(struct tu_ram *r, uint32_t off, size_t len)
{
	if ((len != 1 && len != 2 && len != 4) || off % len ||
	    off + len > PCI_CFG_EXP_SIZE) {
		r->misaligned = true;
		return false;
	}
	return true;
}

static int ram_read(void *opaque, uint32_t off, void *buf, size_t len)
{
	struct tu_ram *r = opaque;
	r->reads++;
	if (!contract(r, off, len))
		return -EINVAL;
	if (r->fail)
		return -r->fail;
	memcpy(buf, r->b + off, len);
	return 0;
}

static int ram_write(void *opaque, uint32_t off, const void *buf, size_t len)
{
	struct tu_ram *r = opaque;
	r->writes++;
	if (!contract(r, off, len))
		return -EINVAL;
	if (r->fail)
		return -r->fail;
	r->last_off = off;
	r->last_len = (unsigned)len;
	if (r->nlog < 64) {
		r->wr_log[r->nlog][0] = off;
		r->wr_log[r->nlog][1] = (unsigned)len;
		r->nlog++;
	}
	const uint8_t *v = buf;
	for (size_t i = 0; i < len; i++)
		r->b[off + i] = (uint8_t)((r->b[off + i] & r->ro[off + i]) |
					  (v[i] & ~r->ro[off + i]));
	return 0;
}

static void ram_reset(void *opaque)
{
	struct tu_ram *r = opaque;
	memcpy(r->b, r->init, sizeof(r->b));
}

struct pci_backing tu_ram_backing(struct tu_ram *ram)
{
	memcpy(ram->init, ram->b, sizeof(ram->init));
	struct pci_backing b = { .read = ram_read, .write = ram_write,
				 .reset = ram_reset, .opaque = ram };
	return b;
}

void tu_ram_from(struct tu_ram *ram, const struct pci_cfg *cfg)
{
	memset(ram, 0, sizeof(*ram));
	assert_int_equal(pci_cfg_phys_read(cfg, 0, ram->b, cfg->size), 0);
}
