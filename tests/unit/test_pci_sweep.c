/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The registers the other sweeps leave out because writing them has side
 * effects, swept at every offset and width (1, 2, 4, 8) with all-ones,
 * zero and seeded random values against a model written from
 * <linux/pci_regs.h> names and REFERENCE §2:
 *
 *  - MSI Message Control: Enable sticks only while SET_IRQS has MSI
 *    enabled, Multiple Message Enable is clamped to what SET_IRQS
 *    allocated, Multiple Message Capable, 64-bit and per-vector masking
 *    are read-only; the device model sees what the client sees.  At
 *    every SET_IRQS vector count, through the engine and through
 *    SET_IRQS itself;
 *  - VPD address and data: an address write with F=0 reads 4 bytes and
 *    sets F, with F=1 writes 4 bytes and clears F, out of range nothing
 *    happens (F stays) and nothing outside the image is read or written;
 *  - a property run over both, SET_IRQS changes in between, no resets;
 *  - the MSI-X table and PBA in their BAR: which bytes the engine
 *    claims, then every entry and byte through region accesses: address
 *    bits 1:0 read 0, upper address and data writable, only the mask bit
 *    of vector control, the PBA read-only, pending vectors delivered on
 *    unmask, and the model's memory around them untouched.
 *
 * Everything else written must behave as tu_spec_full() says, and every
 * other byte of config space (or of the BARs) must not change.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <cmocka.h>

#include "device/dev.h"
#include "pci_testutil.h"

#define MSI_FL   (TU_MSI + PCI_MSI_FLAGS)
#define MSI_LEN  24u                     /* 64-bit with per-vector masking */
#define MSI_RW   (PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE)
#define VPD_A    (TU_VPD + PCI_VPD_ADDR)
#define VPD_D    (TU_VPD + PCI_VPD_DATA)
#define VPD_F_HI (PCI_VPD_ADDR_F >> 8)   /* F in the address's high byte */

static const unsigned widths[] = { 1, 2, 4, 8 };
#define NWIDTHS (sizeof(widths) / sizeof(widths[0]))

static uint64_t rand64(void)
{
	uint64_t hi = tu_rand();
	return hi << 32 | tu_rand();
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static unsigned log2_up(unsigned n)
{
	unsigned q = 0;
	while ((1u << q) < n)
		q++;
	return q;
}

/* The image tu_full_cfg() gives its VPD. */
static uint8_t vpd_image(unsigned i)
{
	return (uint8_t)(0x80 + i);
}

/* ---- the model of what a client reads --------------------------------- */

struct model {
	uint8_t cs[PCI_CFG_EXP_SIZE];    /* config space */
	uint8_t vpd[TU_VPD_LEN];         /* VPD contents */
	bool msi_on;                     /* SET_IRQS has MSI enabled */
	unsigned qmax;                   /* log2 of the vectors it allocated */
};

/* What a write reaching the flags leaves there (vfio-pci's fix-up). */
static void msi_fixup(struct model *m)
{
	uint8_t fl = m->cs[MSI_FL];
	if (!m->msi_on)
		fl &= (uint8_t)~PCI_MSI_FLAGS_ENABLE;
	if ((unsigned)(fl & PCI_MSI_FLAGS_QSIZE) >> 4 > m->qmax)
		fl = (uint8_t)((fl & ~PCI_MSI_FLAGS_QSIZE) | m->qmax << 4);
	m->cs[MSI_FL] = fl;
}

/* The F flag was written: one VPD access, or none when out of range. */
static void vpd_act(struct model *m)
{
	unsigned addr = m->cs[VPD_A] | (unsigned)m->cs[VPD_A + 1] << 8;
	unsigned a = addr & PCI_VPD_ADDR_MASK;
	if (a + 4 > TU_VPD_LEN)
		return;                   /* F stays: the driver times out */
	if (addr & PCI_VPD_ADDR_F)
		memcpy(m->vpd + a, m->cs + VPD_D, 4);
	else
		memcpy(m->cs + VPD_D, m->vpd + a, 4);
	m->cs[VPD_A + 1] ^= VPD_F_HI;
}

/*
 * A client write of @n bytes of @val at @off.  Bytes are taken in order,
 * as the engine's pieces are: a VPD access starts when the byte holding
 * F is written, before the data register bytes of the same write.
 */
static void model_write(struct model *m, const struct tu_spec *s,
			unsigned off, unsigned n, uint64_t val)
{
	bool msi = false;
	for (unsigned i = 0; i < n; i++) {
		unsigned a = off + i;
		uint8_t v = (uint8_t)(val >> (8 * i));
		if (a == MSI_FL)
			m->cs[a] = (uint8_t)((m->cs[a] & ~MSI_RW) | (v & MSI_RW));
		else if (a >= VPD_A && a < VPD_D + 4)
			m->cs[a] = v;
		else
			m->cs[a] = tu_expect(s, a, m->cs[a], v);
		/*
		 * As vfio-pci's vfio_msi_config_write(): the fix-up runs for
		 * any piece with offset <= PCI_MSI_FLAGS and offset + count
		 * >= PCI_MSI_FLAGS, so also for one that ends right before
		 * the flags (a write of the next pointer).  It only ever
		 * clears a stale Enable: MSI is off through SET_IRQS then.
		 */
		if (a == MSI_FL - 1 || a == MSI_FL)
			msi = true;
		if (a == VPD_A + 1)
			vpd_act(m);
	}
	if (msi)
		msi_fixup(m);
}

static void wr_n(struct pci_cfg *cfg, unsigned off, uint64_t v, unsigned n)
{
	uint8_t b[8];
	for (unsigned i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	assert_int_equal(pci_cfg_write(cfg, off, b, n), 0);
}

/* Client write through both the engine and the model. */
static void both_write(struct pci_cfg *cfg, struct model *m,
		       const struct tu_spec *s, unsigned off, unsigned n,
		       uint64_t val)
{
	wr_n(cfg, off, val, n);
	model_write(m, s, off, n, val);
}

static void check_cs(const struct pci_cfg *cfg, const struct model *m,
		     const char *ctx)
{
	static uint8_t now[PCI_CFG_EXP_SIZE];
	assert_int_equal(pci_cfg_read(cfg, 0, now, cfg->size), 0);
	for (unsigned a = 0; a < cfg->size; a++)
		if (now[a] != m->cs[a])
			fail_msg("%s: byte 0x%x reads 0x%02x, want 0x%02x", ctx, a,
				 now[a], m->cs[a]);
}

/* Read the whole image through the capability (F=0 at each dword). */
static void vpd_readback(struct pci_cfg *cfg, struct model *m,
			 const struct tu_spec *s, const char *ctx)
{
	for (unsigned a = 0; a < TU_VPD_LEN; a += 4) {
		both_write(cfg, m, s, VPD_A, 2, a);
		uint32_t addr = tu_rd(cfg, VPD_A, 2), d = tu_rd(cfg, VPD_D, 4);
		if (addr != (a | PCI_VPD_ADDR_F) || d != le32(m->vpd + a))
			fail_msg("%s: VPD read of 0x%x: address 0x%04x data 0x%08x, "
				 "want 0x%04x 0x%08x", ctx, a, addr, d,
				 a | PCI_VPD_ADDR_F, le32(m->vpd + a));
	}
}

/* Power-on flags: the read-only bits every write must leave alone. */
static uint16_t msi_ro_flags(void)
{
	return (uint16_t)(log2_up(TU_MSI_VECTORS) << 1 | PCI_MSI_FLAGS_64BIT |
			  PCI_MSI_FLAGS_MASKBIT);
}

/* The flags as the client and as the device model see them. */
static void check_msi_flags(const struct pci_cfg *cfg, const char *ctx)
{
	uint16_t fl = (uint16_t)tu_rd(cfg, MSI_FL, 2);
	uint8_t phys[2];
	assert_int_equal(pci_cfg_phys_read(cfg, MSI_FL, phys, 2), 0);
	if ((fl & ~MSI_RW) != msi_ro_flags())
		fail_msg("%s: flags 0x%04x: read-only bits changed", ctx, fl);
	/*
	 * Enable and MME may be left over from before SET_IRQS disabled MSI
	 * (or enabled it again with fewer vectors), as in vfio-pci, which
	 * fixes the flags up only when a write reaches them: the model says
	 * when.
	 */
	if ((phys[0] | phys[1] << 8) != fl)
		fail_msg("%s: device flags 0x%02x%02x, client 0x%04x", ctx,
			 phys[1], phys[0], fl);
}

/* ---- (a) MSI flags through the engine --------------------------------- */

struct msi_state {
	const char *name;
	int index;          /* what SET_IRQS has enabled at the end, or -1 */
	unsigned nvec;      /* MSI vectors allocated by the last MSI enable */
	bool stale;         /* the client set Enable and MME before the end */
};

/* SET_IRQS (and the client) bring the function to @st; the model too. */
static void msi_prep(struct pci_cfg *cfg, struct model *m,
		     const struct msi_state *st)
{
	pci_cfg_irq_state(cfg, -1, 0);
	m->msi_on = false;
	m->qmax = 0;
	if (st->nvec) {
		pci_cfg_irq_state(cfg, VFIO_PCI_MSI_IRQ_INDEX, st->nvec);
		m->qmax = log2_up(st->nvec);
	}
	if (st->stale) {
		wr_n(cfg, MSI_FL, MSI_RW, 1);
		assert_int_equal(tu_rd(cfg, MSI_FL, 2), msi_ro_flags() |
				 PCI_MSI_FLAGS_ENABLE | m->qmax << 4);
	}
	if (st->index != VFIO_PCI_MSI_IRQ_INDEX)
		pci_cfg_irq_state(cfg, st->index, 4);
	m->msi_on = st->index == VFIO_PCI_MSI_IRQ_INDEX;
	for (unsigned i = 0; i < TU_VPD_LEN; i++)
		m->vpd[i] = vpd_image(i);
	assert_int_equal(pci_cfg_read(cfg, 0, m->cs, cfg->size), 0);
}

static void test_msi_flags_sweep(void **state)
{
	static const struct msi_state states[] = {
		{ "never enabled", -1, 0, false },
		{ "MSI, 1 vector", VFIO_PCI_MSI_IRQ_INDEX, 1, false },
		{ "MSI, 2 vectors", VFIO_PCI_MSI_IRQ_INDEX, 2, false },
		{ "MSI, 3 vectors", VFIO_PCI_MSI_IRQ_INDEX, 3, false },
		{ "MSI, 4 vectors", VFIO_PCI_MSI_IRQ_INDEX, 4, false },
		{ "MSI, 5 vectors", VFIO_PCI_MSI_IRQ_INDEX, 5, false },
		{ "MSI, 7 vectors", VFIO_PCI_MSI_IRQ_INDEX, 7, false },
		{ "MSI, 8 vectors", VFIO_PCI_MSI_IRQ_INDEX, 8, false },
		{ "MSI, 2 vectors, the client asked for 128", VFIO_PCI_MSI_IRQ_INDEX,
		  2, true },
		{ "MSI 3, enabled by the client, then off", -1, 3, true },
		{ "MSI 8, enabled by the client, then off", -1, 8, true },
		{ "MSI 1, enabled by the client, then MSI-X", VFIO_PCI_MSIX_IRQ_INDEX,
		  1, true },
		{ "MSI-X after MSI 4", VFIO_PCI_MSIX_IRQ_INDEX, 4, false },
	};
	static struct tu_spec s;
	static struct model m;
	tu_spec_full(&s);
	tu_srand(0x5eed0001);
	unsigned writes = 0;
	char ctx[160];
	for (size_t k = 0; k < sizeof(states) / sizeof(states[0]); k++) {
		const struct msi_state *st = &states[k];
		/* A new function each time: msi_qmax outlives SET_IRQS. */
		struct pci_cfg *cfg = tu_full_cfg();
		for (unsigned off = TU_MSI - 7; off < TU_MSI + MSI_LEN; off++) {
			for (unsigned w = 0; w < NWIDTHS; w++) {
				unsigned n = widths[w];
				const uint64_t pats[4] = { ~0ull, 0, rand64(), rand64() };
				for (unsigned p = 0; p < 4; p++) {
					pci_cfg_reset(cfg);
					msi_prep(cfg, &m, st);
					both_write(cfg, &m, &s, off, n, pats[p]);
					writes++;
					snprintf(ctx, sizeof(ctx), "%s: write 0x%016llx/%u at 0x%x",
						 st->name, (unsigned long long)pats[p], n, off);
					check_cs(cfg, &m, ctx);
					check_msi_flags(cfg, ctx);
				}
			}
		}
		/* Every value of the low byte, alone and with the high byte. */
		for (unsigned v = 0; v < 0x10000; v += v < 0x100 ? 1 : 0x1ff) {
			unsigned n = v < 0x100 ? 1 : 2;
			pci_cfg_reset(cfg);
			msi_prep(cfg, &m, st);
			both_write(cfg, &m, &s, MSI_FL, n, v);
			writes++;
			snprintf(ctx, sizeof(ctx), "%s: flags write 0x%x/%u", st->name, v, n);
			check_cs(cfg, &m, ctx);
			check_msi_flags(cfg, ctx);
			/* What a driver reads back is what it wrote, as far as
			 * SET_IRQS allows. */
			unsigned mme = (v & PCI_MSI_FLAGS_QSIZE) >> 4;
			uint32_t want = msi_ro_flags() |
					(m.msi_on ? v & PCI_MSI_FLAGS_ENABLE : 0) |
					(mme < m.qmax ? mme : m.qmax) << 4;
			assert_int_equal(tu_rd(cfg, MSI_FL, 2), want);
		}
		pci_cfg_free(cfg);
	}
	assert_true(writes > 13 * 31 * 16);
}

/* ---- (a) MSI flags through SET_IRQS ----------------------------------- */

static int new_efd(void)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

/* SET_IRQS TRIGGER with eventfds for [start, start+count): our dups in
 * mine[start..]. */
static void bind_range(struct uvfio_dev *d, unsigned index, unsigned start,
		       unsigned count, int *mine)
{
	int fds[128];
	assert_true(count <= 128);
	for (unsigned i = 0; i < count; i++) {
		fds[i] = new_efd();
		mine[start + i] = dup(fds[i]);
		assert_true(mine[start + i] >= 0);
	}
	assert_int_equal(dev_set_irqs(d, VFIO_IRQ_SET_DATA_EVENTFD |
				      VFIO_IRQ_SET_ACTION_TRIGGER, index, start,
				      count, NULL, 0, fds, count), 0);
}

static void release_index(struct uvfio_dev *d, unsigned index)
{
	assert_int_equal(dev_set_irqs(d, VFIO_IRQ_SET_DATA_NONE |
				      VFIO_IRQ_SET_ACTION_TRIGGER, index, 0, 0,
				      NULL, 0, NULL, 0), 0);
}

static uint32_t dcfg_rd(struct uvfio_dev *d, unsigned off, unsigned n)
{
	uint8_t b[4] = { 0 };
	assert_int_equal(dev_region_access(d, VFIO_PCI_CONFIG_REGION_INDEX, off,
					   b, n, false), (ssize_t)n);
	return le32(b);
}

static void dcfg_wr(struct uvfio_dev *d, unsigned off, uint32_t v, unsigned n)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
			 (uint8_t)(v >> 24) };
	assert_int_equal(dev_region_access(d, VFIO_PCI_CONFIG_REGION_INDEX, off,
					   b, n, true), (ssize_t)n);
}

/* Every low-byte value, then 2- and 4-byte writes over the flags. */
static void dev_flags_all(struct uvfio_dev *d, struct uvfio_pci *p,
			  unsigned msi, uint16_t ro, bool on, unsigned qmax)
{
	unsigned fl = msi + PCI_MSI_FLAGS;
	for (unsigned v = 0; v < 0x100; v++) {
		const unsigned at[3] = { fl, fl, msi };
		const unsigned n[3] = { 1, 2, 4 };
		const uint32_t val[3] = { v, 0xff00u | v, (v << 16) | 0xffff };
		for (unsigned k = 0; k < 3; k++) {
			dcfg_wr(d, at[k], val[k], n[k]);
			unsigned mme = (v & PCI_MSI_FLAGS_QSIZE) >> 4;
			uint32_t want = ro | (on ? v & PCI_MSI_FLAGS_ENABLE : 0) |
					(mme < qmax ? mme : qmax) << 4;
			uint32_t got = dcfg_rd(d, fl, 2);
			if (got != want)
				fail_msg("MSI %s, MME limit %u: write 0x%x/%u at 0x%x: "
					 "flags 0x%04x, want 0x%04x", on ? "on" : "off",
					 qmax, val[k], n[k], at[k], got, want);
			/* The capability ID and next pointer stay. */
			assert_int_equal(dcfg_rd(d, msi, 1), PCI_CAP_ID_MSI);
			uint8_t phys[2];
			assert_int_equal(uvfio_pci_phys_read(p, fl, phys, 2), 0);
			assert_int_equal(phys[0] | phys[1] << 8, want);
		}
	}
}

static void test_msi_flags_through_set_irqs(void **state)
{
	struct uvfio_dev *d = uvfio_dev_new("msi-sweep");
	struct uvfio_pci *p = uvfio_dev_pci(d);
	int r = uvfio_pci_add_msi(p, 0, 4, UVFIO_MSI_64BIT | UVFIO_MSI_MASKABLE);
	assert_true(r > 0);
	unsigned msi = (unsigned)r;
	assert_int_equal(dev_seal(d), 0);
	const uint16_t ro = 2 << 1 | PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_MASKBIT;
	assert_int_equal(dcfg_rd(d, msi + PCI_MSI_FLAGS, 2), ro);
	/* Never enabled: nothing sticks. */
	dev_flags_all(d, p, msi, ro, false, 0);
	/* Vector ranges SET_IRQS enables: MME up to start + count. */
	static const unsigned ranges[][2] = { { 0, 1 }, { 0, 2 }, { 0, 3 },
					      { 0, 4 }, { 1, 1 }, { 2, 1 },
					      { 3, 1 }, { 1, 2 } };
	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		int mine[4];
		unsigned start = ranges[i][0], count = ranges[i][1];
		bind_range(d, VFIO_PCI_MSI_IRQ_INDEX, start, count, mine);
		assert_int_equal(uvfio_pci_msi_enabled(p), start + count);
		unsigned q = log2_up(start + count);
		dev_flags_all(d, p, msi, ro, true, q);
		/* Enabled by the client, then released: the next write
		 * reaching the flags drops Enable; the clamp stays. */
		dcfg_wr(d, msi + PCI_MSI_FLAGS, PCI_MSI_FLAGS_ENABLE | q << 4, 1);
		release_index(d, VFIO_PCI_MSI_IRQ_INDEX);
		assert_int_equal(uvfio_pci_msi_enabled(p), 0);
		assert_int_equal(dcfg_rd(d, msi + PCI_MSI_FLAGS, 2),
				 ro | PCI_MSI_FLAGS_ENABLE | q << 4);
		dev_flags_all(d, p, msi, ro, false, q);
		for (unsigned v = start; v < start + count; v++)
			close(mine[v]);
	}
	uvfio_dev_free(d);
}

/* ---- (b) VPD -------------------------------------------------------------- */

static void vpd_prep(struct pci_cfg *cfg, struct model *m)
{
	m->msi_on = false;
	m->qmax = 0;
	for (unsigned i = 0; i < TU_VPD_LEN; i++)
		m->vpd[i] = vpd_image(i);
	assert_int_equal(pci_cfg_read(cfg, 0, m->cs, cfg->size), 0);
	/* Power-on: no address, no data, F clear. */
	assert_int_equal(le32(m->cs + VPD_D), 0);
	assert_int_equal(m->cs[VPD_A] | m->cs[VPD_A + 1], 0);
}

static void test_vpd_sweep(void **state)
{
	static struct tu_spec s;
	static struct model m;
	tu_spec_full(&s);
	tu_srand(0x5eed0002);
	struct pci_cfg *cfg = tu_full_cfg();
	unsigned writes = 0;
	char ctx[128];
	/* Addresses in range, at the end, past it, and with F set. */
	static const uint64_t special[] = {
		0x0000, 0x0004, 0x0001, 0x001c, 0x001d, 0x0020, 0x7ffc,
		0x8000, 0x8004, 0x801c, 0x801e, 0x8020, 0xfffc,
		0x12345678001cull, 0xdeadbeef8008ull,
	};
	for (unsigned off = TU_VPD - 7; off < TU_VPD + PCI_CAP_VPD_SIZEOF; off++) {
		for (unsigned w = 0; w < NWIDTHS; w++) {
			unsigned n = widths[w];
			uint64_t pats[4 + sizeof(special) / sizeof(special[0])];
			unsigned np = 0;
			pats[np++] = ~0ull;
			pats[np++] = 0;
			pats[np++] = rand64();
			pats[np++] = rand64();
			/* Aim the special values at the address register. */
			if (off <= VPD_A && off + n >= VPD_A + 2)
				for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++)
					pats[np++] = special[i] << (8 * (VPD_A - off));
			for (unsigned p = 0; p < np; p++) {
				pci_cfg_reset(cfg);
				vpd_prep(cfg, &m);
				/* A data value waiting to be written. */
				both_write(cfg, &m, &s, VPD_D, 4, 0xa1b2c3d4);
				both_write(cfg, &m, &s, off, n, pats[p]);
				writes++;
				snprintf(ctx, sizeof(ctx), "write 0x%016llx/%u at 0x%x",
					 (unsigned long long)pats[p], n, off);
				check_cs(cfg, &m, ctx);
				vpd_readback(cfg, &m, &s, ctx);
				check_cs(cfg, &m, ctx);
			}
		}
	}
	assert_true(writes > 15 * 16);
	pci_cfg_free(cfg);
}

/*
 * Every address, both ways.  Reads: in range F sets and the data register
 * holds image bytes a..a+3; out of range F stays clear and the data
 * register keeps what was there (nothing from past the image).  Writes:
 * in range F clears and the image takes the data; out of range F stays
 * set and nothing changes, neither the image nor what a reset restores.
 */
static void test_vpd_every_address(void **state)
{
	struct pci_cfg *cfg = tu_full_cfg();
	/* Before any read completes, the data register reads 0. */
	assert_int_equal(tu_rd(cfg, VPD_D, 4), 0);
	for (unsigned a = 0; a <= PCI_VPD_ADDR_MASK; a++) {
		uint32_t sentinel = 0x5a000000u | a;
		tu_wr(cfg, VPD_D, sentinel, 4);
		tu_wr(cfg, VPD_A, a, 2);
		uint32_t addr = tu_rd(cfg, VPD_A, 2), d = tu_rd(cfg, VPD_D, 4);
		if (a + 4 <= TU_VPD_LEN) {
			uint8_t want[4];
			for (unsigned i = 0; i < 4; i++)
				want[i] = vpd_image(a + i);
			if (addr != (a | PCI_VPD_ADDR_F) || d != le32(want))
				fail_msg("read 0x%x: address 0x%04x data 0x%08x", a, addr, d);
		} else if (addr != a || d != sentinel) {
			fail_msg("read 0x%x out of range: address 0x%04x data 0x%08x",
				 a, addr, d);
		}
	}
	/* Write the dwords of the image's second half, and everything past
	 * it; each write's data is its address. */
	uint8_t img[TU_VPD_LEN];
	for (unsigned i = 0; i < TU_VPD_LEN; i++)
		img[i] = vpd_image(i);
	for (unsigned a = TU_VPD_LEN / 2; a <= PCI_VPD_ADDR_MASK; a++) {
		if (a < TU_VPD_LEN && a % 4)
			continue;
		tu_wr(cfg, VPD_D, 0xc0000000u | a, 4);
		tu_wr(cfg, VPD_A, a | PCI_VPD_ADDR_F, 2);
		uint32_t addr = tu_rd(cfg, VPD_A, 2);
		if (a + 4 <= TU_VPD_LEN) {
			for (unsigned i = 0; i < 4; i++)
				img[a + i] = (uint8_t)((0xc0000000u | a) >> (8 * i));
			if (addr != a)
				fail_msg("write 0x%x: address 0x%04x", a, addr);
		} else if (addr != (a | PCI_VPD_ADDR_F)) {
			fail_msg("write 0x%x out of range: address 0x%04x", a, addr);
		}
	}
	for (unsigned a = 0; a < TU_VPD_LEN; a += 4) {
		tu_wr(cfg, VPD_A, a, 2);
		assert_int_equal(tu_rd(cfg, VPD_D, 4), le32(img + a));
	}
	/* A reset brings the image back, whole. */
	pci_cfg_reset(cfg);
	for (unsigned i = 0; i < TU_VPD_LEN; i++)
		img[i] = vpd_image(i);
	assert_int_equal(tu_rd(cfg, VPD_D, 4), 0);
	for (unsigned a = 0; a < TU_VPD_LEN; a += 4) {
		tu_wr(cfg, VPD_A, a, 2);
		assert_int_equal(tu_rd(cfg, VPD_D, 4), le32(img + a));
	}
	pci_cfg_free(cfg);
}

/* ---- property: MSI flags and VPD, no resets ---------------------------- */

static void test_property_msi_vpd(void **state)
{
	static struct tu_spec s;
	static struct model m;
	tu_spec_full(&s);
	char ctx[160];
	for (uint32_t seed = 1; seed <= 3; seed++) {
		tu_srand(seed * 65537);
		struct pci_cfg *cfg = tu_full_cfg();
		vpd_prep(cfg, &m);
		int irq = -1;
		for (unsigned op = 0; op < 20000; op++) {
			unsigned r = tu_rand() % 100;
			if (r < 4) {
				/* SET_IRQS: off, MSI with 1..8 vectors, or MSI-X. */
				int idx = (int)(tu_rand() % 3) - 1;
				unsigned nvec = 1 + tu_rand() % TU_MSI_VECTORS;
				if (idx == 0)
					idx = VFIO_PCI_MSI_IRQ_INDEX;
				else if (idx == 1)
					idx = VFIO_PCI_MSIX_IRQ_INDEX;
				pci_cfg_irq_state(cfg, idx, nvec);
				if (idx == VFIO_PCI_MSI_IRQ_INDEX && irq != idx)
					m.qmax = log2_up(nvec);
				m.msi_on = idx == VFIO_PCI_MSI_IRQ_INDEX;
				/* MSI-X Enable follows SET_IRQS. */
				uint8_t *mc = &m.cs[TU_MSIX + PCI_MSIX_FLAGS + 1];
				*mc = (uint8_t)((*mc & ~(PCI_MSIX_FLAGS_ENABLE >> 8)) |
						(idx == VFIO_PCI_MSIX_IRQ_INDEX ?
						 PCI_MSIX_FLAGS_ENABLE >> 8 : 0));
				irq = idx;
				snprintf(ctx, sizeof(ctx), "seed %u op %u: SET_IRQS %d/%u",
					 seed, op, idx, nvec);
			} else {
				bool vpd = r >= 52;
				unsigned base = vpd ? TU_VPD : TU_MSI;
				unsigned span = vpd ? PCI_CAP_VPD_SIZEOF : MSI_LEN;
				unsigned off = base - 3 + tu_rand() % (span + 3);
				unsigned n = widths[tu_rand() % NWIDTHS];
				uint64_t val = rand64();
				if (tu_rand() % 4 == 0)
					val = tu_rand() % 2 ? ~0ull : 0;
				/* Often a plausible VPD address (F random). */
				if (vpd && tu_rand() % 2) {
					off = VPD_A;
					n = 2;
					val = (tu_rand() % (TU_VPD_LEN + 8)) |
					      (tu_rand() % 2 ? PCI_VPD_ADDR_F : 0);
				}
				both_write(cfg, &m, &s, off, n, val);
				snprintf(ctx, sizeof(ctx), "seed %u op %u: write 0x%llx/%u "
					 "at 0x%x", seed, op, (unsigned long long)val, n, off);
			}
			check_cs(cfg, &m, ctx);
			check_msi_flags(cfg, ctx);
			if (op % 1024 == 0)
				vpd_readback(cfg, &m, &s, ctx);
		}
		vpd_readback(cfg, &m, &s, "end");
		pci_cfg_free(cfg);
	}
}

/* ---- (c) MSI-X table and PBA -------------------------------------------- */

#define MX_BAR_SIZE 16384u
#define MX_MAXV 72u

struct mx_layout {
	const char *name;
	unsigned nvec, tbar;
	uint32_t toff;
	unsigned pbar;
	uint32_t poff;
};

static const struct mx_layout layouts[] = {
	{ "PBA right after the table", 12, 0, 0x1000, 0, 0x10c0 },
	{ "PBA right before the table", 3, 0, 0x1008, 0, 0x1000 },
	{ "table at the BAR's start, PBA in BAR2", 70, 0, 0, 2, 0x808 },
};
#define NLAYOUTS (sizeof(layouts) / sizeof(layouts[0]))

static uint32_t pba_len(const struct mx_layout *l)
{
	return (l->nvec + 63) / 64 * 8;
}

static uint32_t table_end(const struct mx_layout *l)
{
	return l->toff + l->nvec * PCI_MSIX_ENTRY_SIZE;
}

/* 1: the table's byte, 2: the PBA's, 0: the model's. */
static int owner(const struct mx_layout *l, unsigned bar, uint64_t off)
{
	if (bar == l->tbar && off >= l->toff && off < table_end(l))
		return 1;
	if (bar == l->pbar && off >= l->poff && off < l->poff + pba_len(l))
		return 2;
	return 0;
}

/* What a write of each table byte keeps (the rest reads 0 forever). */
static uint8_t entry_wmask(unsigned field)
{
	if (field == PCI_MSIX_ENTRY_LOWER_ADDR)
		return 0xfc;          /* dword-aligned message address */
	if (field < PCI_MSIX_ENTRY_VECTOR_CTRL)
		return 0xff;          /* rest of the address, upper, data */
	if (field == PCI_MSIX_ENTRY_VECTOR_CTRL)
		return PCI_MSIX_ENTRY_CTRL_MASKBIT;
	return 0;                     /* reserved vector control bits */
}

static void test_msix_claim(void **state)
{
	for (size_t k = 0; k < NLAYOUTS; k++) {
		const struct mx_layout *l = &layouts[k];
		struct pci_cfg *cfg = pci_cfg_new(PCI_CFG_SIZE);
		assert_non_null(cfg);
		assert_int_equal(pci_cfg_set_bar(cfg, 0, MX_BAR_SIZE, UVFIO_BAR_MEM32), 0);
		assert_int_equal(pci_cfg_set_bar(cfg, 2, MX_BAR_SIZE, UVFIO_BAR_MEM32), 0);
		assert_true(pci_cap_add_msix(cfg, 0, l->nvec, l->tbar, l->toff,
					     l->pbar, l->poff) > 0);
		pci_cfg_seal(cfg);
		/*
		 * The rule: a claim covers the longest run from @off of bytes
		 * with one owner — the table, the PBA (two runs even when they
		 * touch), or the model — and is the engine's for the first two.
		 */
		static const size_t lens[] = { 1, 2, 3, 4, 7, 8, 9, 16, 17, 4096 };
		for (unsigned bar = 0; bar < 4; bar++) {
			for (uint64_t off = 0; off < 0x1200; off++) {
				for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
					size_t len = lens[i];
					int o = owner(l, bar, off);
					size_t want = 1;
					while (want < len && owner(l, bar, off + want) == o)
						want++;
					bool engine = !o;
					size_t got = pci_msix_claim(cfg, bar, off, len, &engine);
					if (got != want || engine != (o != 0))
						fail_msg("%s: claim BAR%u 0x%llx+%zu: %zu %s, want "
							 "%zu %s", l->name, bar,
							 (unsigned long long)off, len, got,
							 engine ? "engine" : "model", want,
							 o ? "engine" : "model");
				}
			}
		}
		/*
		 * pci_msix_rw() serves only what pci_msix_claim() gave the
		 * engine: a range that leaves the table or the PBA is neither
		 * read (the buffer keeps its bytes) nor written.
		 */
		uint8_t before[MX_MAXV * PCI_MSIX_ENTRY_SIZE + 16];
		size_t tl = l->nvec * PCI_MSIX_ENTRY_SIZE;
		memcpy(before, cfg->msix.table, tl + pba_len(l));
		const struct { unsigned bar; uint64_t off; } straddle[] = {
			{ l->tbar, table_end(l) - 4 }, { l->tbar, l->toff - 4 },
			{ l->pbar, l->poff - 4 }, { l->pbar, l->poff + pba_len(l) - 4 },
			{ l->tbar, table_end(l) - 1 },
		};
		for (size_t i = 0; i < sizeof(straddle) / sizeof(straddle[0]); i++) {
			if (straddle[i].off > MX_BAR_SIZE)
				continue;     /* the table at 0: nothing before */
			uint8_t buf[8];
			memset(buf, 0xff, sizeof(buf));
			pci_msix_rw(cfg, straddle[i].bar, straddle[i].off, buf, 8, true);
			assert_memory_equal(cfg->msix.table, before, tl + pba_len(l));
			memset(buf, 0x3c, sizeof(buf));
			pci_msix_rw(cfg, straddle[i].bar, straddle[i].off, buf, 8, false);
			for (unsigned b = 0; b < 8; b++)
				assert_int_equal(buf[b], 0x3c);
		}
		pci_cfg_free(cfg);
	}
}

struct mx {
	const struct mx_layout *l;
	struct uvfio_dev *dev;
	struct uvfio_pci *p;
	uint8_t *mem[3];                 /* BAR0 and BAR2: the model's memory */
	uint8_t shadow[3][MX_BAR_SIZE];  /* what it must hold */
	uint8_t tab[MX_MAXV * PCI_MSIX_ENTRY_SIZE];
	bool pend[MX_MAXV];
	unsigned fires[MX_MAXV];         /* deliveries not yet seen */
	bool fmask;
	int fd[MX_MAXV];
	unsigned step;
};

static bool mx_masked(const struct mx *x, unsigned v)
{
	return x->tab[v * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL] &
	       PCI_MSIX_ENTRY_CTRL_MASKBIT;
}

/* Pending vectors that are no longer masked go out. */
static void mx_deliver(struct mx *x)
{
	if (x->fmask)
		return;
	for (unsigned v = 0; v < x->l->nvec; v++)
		if (x->pend[v] && !mx_masked(x, v)) {
			x->pend[v] = false;
			x->fires[v]++;
		}
}

static uint8_t mx_expect(const struct mx *x, unsigned bar, uint64_t off)
{
	const struct mx_layout *l = x->l;
	switch (owner(l, bar, off)) {
	case 1:
		return x->tab[off - l->toff];
	case 2: {
		unsigned v0 = (unsigned)(off - l->poff) * 8;
		uint8_t b = 0;
		for (unsigned i = 0; i < 8 && v0 + i < l->nvec; i++)
			b |= (uint8_t)(x->pend[v0 + i] << i);
		return b;
	}
	default:
		return x->shadow[bar][off];
	}
}

static void mx_check_fires(struct mx *x, unsigned v)
{
	uint64_t got = 0;
	if (read(x->fd[v], &got, sizeof(got)) != sizeof(got))
		got = 0;
	if (got != x->fires[v])
		fail_msg("%s step %u: vector %u fired %llu times, want %u",
			 x->l->name, x->step, v, (unsigned long long)got,
			 x->fires[v]);
	x->fires[v] = 0;
}

/* Read [start, end) of @bar back at once and compare; invariants too. */
static void mx_check_range(struct mx *x, unsigned bar, uint64_t start,
			   uint64_t end, const char *ctx)
{
	static uint8_t buf[MX_BAR_SIZE];
	size_t n = (size_t)(end - start);
	memset(buf, 0xa5, n);
	assert_int_equal(dev_region_access(x->dev, bar, start, buf, n, false),
			 (ssize_t)n);
	for (uint64_t a = start; a < end; a++) {
		uint8_t want = mx_expect(x, bar, a), got = buf[a - start];
		if (got != want)
			fail_msg("%s: BAR%u byte 0x%llx reads 0x%02x, want 0x%02x",
				 ctx, bar, (unsigned long long)a, got, want);
		if (owner(x->l, bar, a) == 1 &&
		    got & ~entry_wmask((unsigned)(a - x->l->toff) % PCI_MSIX_ENTRY_SIZE))
			fail_msg("%s: table byte 0x%llx reads 0x%02x: reserved or "
				 "dropped bits set", ctx, (unsigned long long)a, got);
	}
}

static void mx_check_all(struct mx *x, const char *ctx)
{
	const struct mx_layout *l = x->l;
	uint64_t ts = l->toff >= 16 ? l->toff - 16 : 0;
	mx_check_range(x, l->tbar, ts, table_end(l) + 16, ctx);
	uint64_t ps = l->poff >= 16 ? l->poff - 16 : 0;
	mx_check_range(x, l->pbar, ps, l->poff + pba_len(l) + 16, ctx);
	for (unsigned b = 0; b < 3; b += 2)
		if (memcmp(x->mem[b], x->shadow[b], MX_BAR_SIZE)) {
			for (unsigned a = 0; a < MX_BAR_SIZE; a++)
				if (x->mem[b][a] != x->shadow[b][a])
					fail_msg("%s: the model's BAR%u byte 0x%x is 0x%02x, "
						 "want 0x%02x", ctx, b, a, x->mem[b][a],
						 x->shadow[b][a]);
		}
}

static void mx_set_fmask(struct mx *x, bool on)
{
	uint8_t mc[2];
	unsigned at = (unsigned)x->dev->cfg->msix.cap + PCI_MSIX_FLAGS;
	assert_int_equal(uvfio_pci_phys_read(x->p, at, mc, 2), 0);
	mc[1] = (uint8_t)(on ? mc[1] | PCI_MSIX_FLAGS_MASKALL >> 8 :
			       mc[1] & ~(PCI_MSIX_FLAGS_MASKALL >> 8));
	assert_int_equal(uvfio_pci_phys_write(x->p, at, mc, 2), 0);
	x->fmask = on;
	assert_true(uvfio_pci_msix_masked(x->p) == on);
	mx_deliver(x);
}

static void mx_setup(struct mx *x, const struct mx_layout *l)
{
	memset(x, 0, sizeof(*x));
	x->l = l;
	x->dev = uvfio_dev_new("msix-sweep");
	x->p = uvfio_dev_pci(x->dev);
	for (unsigned b = 0; b < 3; b += 2) {
		void *mem;
		assert_int_equal(uvfio_pci_add_bar(x->p, b, MX_BAR_SIZE,
						   UVFIO_BAR_MEM32, NULL, NULL), 0);
		assert_int_equal(uvfio_dev_region_alloc_memory(x->dev, b, &mem), 0);
		x->mem[b] = mem;
	}
	assert_true(uvfio_pci_add_msix(x->p, 0, l->nvec, l->tbar, l->toff,
				       l->pbar, l->poff) > 0);
	assert_int_equal(dev_seal(x->dev), 0);
	for (unsigned b = 0; b < 3; b += 2) {
		for (unsigned a = 0; a < MX_BAR_SIZE; a++)
			x->mem[b][a] = (uint8_t)(a * 7 + b + 3);
		memcpy(x->shadow[b], x->mem[b], MX_BAR_SIZE);
	}
	/* Power-on: entries zero and masked, nothing pending. */
	for (unsigned v = 0; v < l->nvec; v++)
		x->tab[v * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL] =
			PCI_MSIX_ENTRY_CTRL_MASKBIT;
	mx_check_all(x, "power-on");
	/* SET_IRQS binds every vector, which unmasks them. */
	bind_range(x->dev, VFIO_PCI_MSIX_IRQ_INDEX, 0, l->nvec, x->fd);
	memset(x->tab, 0, sizeof(x->tab));
	mx_check_all(x, "bound");
}

static void mx_teardown(struct mx *x)
{
	release_index(x->dev, VFIO_PCI_MSIX_IRQ_INDEX);
	for (unsigned v = 0; v < x->l->nvec; v++)
		close(x->fd[v]);
	uvfio_dev_free(x->dev);
}

/* A client write of @n bytes at @off of @bar, and the model's view. */
static void mx_write(struct mx *x, unsigned bar, uint64_t off, unsigned n,
		     uint64_t val)
{
	uint8_t b[8];
	bool table = false;
	for (unsigned i = 0; i < n; i++) {
		b[i] = (uint8_t)(val >> (8 * i));
		uint64_t a = off + i;
		switch (owner(x->l, bar, a)) {
		case 1: {
			unsigned t = (unsigned)(a - x->l->toff);
			uint8_t m = entry_wmask(t % PCI_MSIX_ENTRY_SIZE);
			x->tab[t] = (uint8_t)((x->tab[t] & ~m) | (b[i] & m));
			table = true;
			break;
		}
		case 2:
			break;            /* the PBA is read-only */
		default:
			x->shadow[bar][a] = b[i];
		}
	}
	assert_int_equal(dev_region_access(x->dev, bar, off, b, n, true),
			 (ssize_t)n);
	if (table)
		mx_deliver(x);
}

/* The device raises @v: held as pending while masked. */
static void mx_raise(struct mx *x, unsigned v)
{
	assert_int_equal(uvfio_dev_irq_trigger(x->dev, VFIO_PCI_MSIX_IRQ_INDEX, v), 0);
	if (x->fmask || mx_masked(x, v))
		x->pend[v] = true;
	else
		x->fires[v]++;
}

/* Every offset around [start, end) of @bar at every width and pattern. */
static void mx_sweep(struct mx *x, unsigned bar, uint64_t start, uint64_t end)
{
	char ctx[160];
	uint64_t lo = start >= 9 ? start - 9 : 0;
	for (uint64_t off = lo; off < end + 1; off++) {
		for (unsigned w = 0; w < NWIDTHS; w++) {
			unsigned n = widths[w];
			const uint64_t pats[4] = { ~0ull, 0, rand64(), rand64() };
			for (unsigned p = 0; p < 4; p++) {
				x->step++;
				if (x->step % 97 == 0)
					mx_set_fmask(x, !x->fmask);
				/* Something pending most of the time. */
				unsigned rv = tu_rand() % x->l->nvec;
				mx_raise(x, rv);
				mx_write(x, bar, off, n, pats[p]);
				snprintf(ctx, sizeof(ctx), "%s step %u: write 0x%016llx/%u "
					 "at BAR%u 0x%llx%s", x->l->name, x->step,
					 (unsigned long long)pats[p], n, bar,
					 (unsigned long long)off,
					 x->fmask ? " (function masked)" : "");
				mx_check_all(x, ctx);
				mx_check_fires(x, rv);
				for (unsigned i = 0; i < n; i++)
					if (owner(x->l, bar, off + i) == 1)
						mx_check_fires(x, (unsigned)(off + i - x->l->toff) /
							       PCI_MSIX_ENTRY_SIZE);
				if (x->step % 64 == 0)
					for (unsigned v = 0; v < x->l->nvec; v++)
						mx_check_fires(x, v);
			}
		}
	}
}

/* Reads at every offset and width: the same bytes, nothing consumed. */
static void mx_read_sweep(struct mx *x, unsigned bar, uint64_t start,
			  uint64_t end)
{
	uint64_t lo = start >= 9 ? start - 9 : 0;
	for (uint64_t off = lo; off < end + 1; off++) {
		for (unsigned w = 0; w < NWIDTHS; w++) {
			unsigned n = widths[w];
			for (unsigned fill = 0; fill < 2; fill++) {
				uint8_t b[8];
				memset(b, fill ? 0xff : 0, sizeof(b));
				assert_int_equal(dev_region_access(x->dev, bar, off, b, n,
								   false), (ssize_t)n);
				for (unsigned i = 0; i < n; i++)
					if (b[i] != mx_expect(x, bar, off + i))
						fail_msg("%s: read %u at BAR%u 0x%llx: byte %u "
							 "0x%02x, want 0x%02x", x->l->name, n, bar,
							 (unsigned long long)off, i, b[i],
							 mx_expect(x, bar, off + i));
			}
		}
	}
	mx_check_all(x, "after reads");
}

static void test_msix_table_pba_sweep(void **state)
{
	static struct mx x;
	tu_srand(0x5eed0003);
	for (size_t k = 0; k < NLAYOUTS; k++) {
		const struct mx_layout *l = &layouts[k];
		mx_setup(&x, l);
		mx_sweep(&x, l->tbar, l->toff, table_end(l));
		/* Something pending and held: PBA writes must not clear it. */
		mx_set_fmask(&x, true);
		for (unsigned v = 0; v < l->nvec; v += 2)
			mx_raise(&x, v);
		mx_sweep(&x, l->pbar, l->poff, l->poff + pba_len(l));
		mx_read_sweep(&x, l->tbar, l->toff, table_end(l));
		mx_read_sweep(&x, l->pbar, l->poff, l->poff + pba_len(l));
		/* Unmask everything, release the function mask: whatever was
		 * pending goes out once. */
		for (unsigned v = 0; v < l->nvec; v++)
			mx_write(&x, l->tbar, l->toff + v * PCI_MSIX_ENTRY_SIZE +
				 PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 0);
		mx_set_fmask(&x, false);
		mx_check_all(&x, "all unmasked");
		for (unsigned v = 0; v < l->nvec; v++) {
			assert_false(x.pend[v]);
			mx_check_fires(&x, v);
		}
		mx_teardown(&x);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_msi_flags_sweep),
		cmocka_unit_test(test_msi_flags_through_set_irqs),
		cmocka_unit_test(test_vpd_sweep),
		cmocka_unit_test(test_vpd_every_address),
		cmocka_unit_test(test_property_msi_vpd),
		cmocka_unit_test(test_msix_claim),
		cmocka_unit_test(test_msix_table_pba_sweep),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
