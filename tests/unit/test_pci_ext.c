/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The public extended-capability builders of <uvfio/pci.h> as a client
 * sees their work through the config region: uvfio_pci_add_ari(),
 * uvfio_pci_add_sriov(), uvfio_pci_add_dvsec(), uvfio_pci_add_ext_vendor()
 * and uvfio_pci_hide_ext_cap().  Placement at automatic and fixed
 * offsets, the errors the header documents, the chain links, which bits
 * a client can change (every offset, width, all-ones and zero), and
 * hidden capabilities: unlinked, and a hidden first one left at 0x100 as
 * a header with ID and version 0 that links on.
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

#define CFG VFIO_PCI_CONFIG_REGION_INDEX
#define EXT PCI_CFG_SPACE_SIZE                 /* 0x100 */
#define EXT_END PCI_CFG_SPACE_EXP_SIZE         /* 0x1000 */

static const uint8_t pay[8] = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88 };
static const uint8_t big[4096];

/* A PCI Express endpoint (PCIe capability at 0x40, FLR capable). */
static struct uvfio_dev *pcie_dev(const char *name, struct uvfio_pci **p)
{
	struct uvfio_dev *d = uvfio_dev_new(name);
	assert_non_null(d);
	*p = uvfio_dev_pci(d);
	assert_int_equal(uvfio_pci_add_pcie(*p, 0, PCI_EXP_TYPE_ENDPOINT,
					    UVFIO_PCIE_FLR), 0x40);
	return d;
}

static uint32_t rd(struct uvfio_dev *d, unsigned off, unsigned len)
{
	uint8_t b[4] = { 0 };
	assert_int_equal(dev_region_access(d, CFG, off, b, len, false),
			 (ssize_t)len);
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
}

static void wr(struct uvfio_dev *d, unsigned off, uint32_t v, unsigned len)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
			 (uint8_t)(v >> 24) };
	assert_int_equal(dev_region_access(d, CFG, off, b, len, true),
			 (ssize_t)len);
}

/* The device's own register (what its hardware holds). */
static uint32_t phys(struct uvfio_pci *p, unsigned off, unsigned len)
{
	uint8_t b[4] = { 0 };
	assert_int_equal(uvfio_pci_phys_read(p, off, b, len), 0);
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
}

struct link {
	unsigned off, id, ver;
};

/* Walk the extended chain as a driver does; fail on a loop. */
static unsigned walk(struct uvfio_dev *d, struct link *l, unsigned max)
{
	unsigned pos = EXT, n = 0;
	while (pos) {
		assert_true(pos >= EXT && pos + 4 <= EXT_END && !(pos & 3));
		assert_true(n < (EXT_END - EXT) / 4);
		uint32_t h = rd(d, pos, 4);
		if (!h)
			break;
		if (n < max)
			l[n] = (struct link){ pos, PCI_EXT_CAP_ID(h),
					      PCI_EXT_CAP_VER(h) };
		n++;
		pos = PCI_EXT_CAP_NEXT(h);
	}
	return n;
}

static void check_chain(struct uvfio_dev *d, const struct link *want,
			unsigned n)
{
	struct link got[32];
	assert_int_equal(walk(d, got, 32), n);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(got[i].off, want[i].off);
		assert_int_equal(got[i].id, want[i].id);
		assert_int_equal(got[i].ver, want[i].ver);
	}
}

static void test_ext_placement(void **state)
{
	struct uvfio_pci *p;
	struct uvfio_dev *d = pcie_dev("ext-place", &p);
	const struct uvfio_pci_sriov sr = {
		.total_vfs = 6, .vf_offset = 4, .vf_stride = 2, .vf_device = 0x1235,
	};
	/* Automatic: from 0x100, each at the lowest free dword that fits. */
	assert_int_equal(uvfio_pci_add_ari(p, 0, 9), 0x100);          /* 8 */
	assert_int_equal(uvfio_pci_add_sriov(p, 0, &sr), 0x108);      /* 64 */
	assert_int_equal(uvfio_pci_add_dvsec(p, 0, 0x1af4, 3, 7, pay, 1),
			 0x148);                                       /* 11 */
	assert_int_equal(uvfio_pci_add_ext_vendor(p, 0, 0x42, 5, NULL, 0),
			 0x154);                                       /* 8 */
	/* Fixed offsets, then a gap filled automatically. */
	assert_int_equal(uvfio_pci_add_ext_vendor(p, 0x400, 0x43, 1, pay, 8), 0x400);
	assert_int_equal(uvfio_pci_add_dvsec(p, 0x200, 0x8086, 2, 8, pay, 2), 0x200);
	assert_int_equal(uvfio_pci_add_ext_vendor(p, 0, 0x44, 1, pay, 4), 0x15c);
	assert_int_equal(uvfio_pci_add_ari(p, 0, 0), -EEXIST);
	assert_int_equal(dev_seal(d), 0);

	/* The chain follows addresses, not the order of the calls. */
	const struct link want[] = {
		{ 0x100, PCI_EXT_CAP_ID_ARI, 1 }, { 0x108, PCI_EXT_CAP_ID_SRIOV, 1 },
		{ 0x148, PCI_EXT_CAP_ID_DVSEC, 1 }, { 0x154, PCI_EXT_CAP_ID_VNDR, 1 },
		{ 0x15c, PCI_EXT_CAP_ID_VNDR, 1 }, { 0x200, PCI_EXT_CAP_ID_DVSEC, 1 },
		{ 0x400, PCI_EXT_CAP_ID_VNDR, 1 },
	};
	check_chain(d, want, sizeof(want) / sizeof(want[0]));
	assert_int_equal(PCI_EXT_CAP_NEXT(rd(d, 0x400, 4)), 0);

	/* What each holds. */
	assert_int_equal(PCI_ARI_CAP_NFN(rd(d, 0x100 + PCI_ARI_CAP, 2)), 9);
	assert_int_equal(rd(d, 0x100 + PCI_ARI_CTRL, 2), 0);
	unsigned s = 0x108;
	assert_int_equal(rd(d, s + PCI_SRIOV_TOTAL_VF, 2), 6);
	assert_int_equal(rd(d, s + PCI_SRIOV_INITIAL_VF, 2), 6);  /* 0: total */
	assert_int_equal(rd(d, s + PCI_SRIOV_NUM_VF, 2), 0);
	assert_int_equal(rd(d, s + PCI_SRIOV_CTRL, 2), 0);
	assert_int_equal(rd(d, s + PCI_SRIOV_VF_OFFSET, 2), 4);
	assert_int_equal(rd(d, s + PCI_SRIOV_VF_STRIDE, 2), 2);
	assert_int_equal(rd(d, s + PCI_SRIOV_VF_DID, 2), 0x1235);
	assert_int_equal(rd(d, s + PCI_SRIOV_SUP_PGSIZE, 4), 1);  /* 0: 4 KiB */
	assert_int_equal(rd(d, s + PCI_SRIOV_SYS_PGSIZE, 4), 1);
	uint32_t h1 = rd(d, 0x148 + PCI_DVSEC_HEADER1, 4);
	assert_int_equal(PCI_DVSEC_HEADER1_VID(h1), 0x1af4);
	assert_int_equal(PCI_DVSEC_HEADER1_REV(h1), 3);
	assert_int_equal(PCI_DVSEC_HEADER1_LEN(h1), 11);
	assert_int_equal(PCI_DVSEC_HEADER2_ID(rd(d, 0x148 + PCI_DVSEC_HEADER2, 2)), 7);
	assert_int_equal(rd(d, 0x148 + 10, 1), pay[0]);
	assert_int_equal(rd(d, 0x154 + PCI_VSEC_HDR, 4),
			 0x42 | 5u << 16 | 8u << PCI_VSEC_HDR_LEN_SHIFT);
	assert_int_equal(rd(d, 0x15c + PCI_VSEC_HDR, 4),
			 0x44 | 1u << 16 | 12u << PCI_VSEC_HDR_LEN_SHIFT);
	assert_int_equal(rd(d, 0x15c + 8, 4), 0x44332211);
	assert_int_equal(rd(d, 0x400 + 12, 4), 0x88776655);
	uvfio_dev_free(d);

	/* The chain starts at 0x100: a first capability elsewhere gets a
	 * null header there, which a later one at 0x100 replaces. */
	d = pcie_dev("ext-place-first", &p);
	assert_int_equal(uvfio_pci_add_dvsec(p, 0x300, 0x1234, 1, 1, NULL, 0), 0x300);
	uint32_t h = rd(d, EXT, 4);
	assert_int_equal(PCI_EXT_CAP_ID(h), 0);
	assert_int_equal(PCI_EXT_CAP_VER(h), 0);
	assert_int_equal(PCI_EXT_CAP_NEXT(h), 0x300);
	assert_int_equal(uvfio_pci_add_ari(p, 0, 1), 0x100);
	assert_int_equal(dev_seal(d), 0);
	const struct link want2[] = {
		{ 0x100, PCI_EXT_CAP_ID_ARI, 1 }, { 0x300, PCI_EXT_CAP_ID_DVSEC, 1 },
	};
	check_chain(d, want2, 2);
	uvfio_dev_free(d);
}

static void test_ext_errors(void **state)
{
	const struct uvfio_pci_sriov sr = { .total_vfs = 2, .vf_stride = 1 };
	struct uvfio_pci *p;
	/* A conventional function has no extended config space. */
	struct uvfio_dev *d = uvfio_dev_new("ext-conventional");
	p = uvfio_dev_pci(d);
	assert_int_equal(uvfio_pci_add_ari(p, 0, 0), -EINVAL);
	assert_int_equal(uvfio_pci_add_sriov(p, 0, &sr), -EINVAL);
	assert_int_equal(uvfio_pci_add_dvsec(p, 0, 1, 1, 1, NULL, 0), -EINVAL);
	assert_int_equal(uvfio_pci_add_ext_vendor(p, 0, 1, 1, NULL, 0), -EINVAL);
	uvfio_dev_free(d);

	d = pcie_dev("ext-errors", &p);
	/* Fixed offsets: dword aligned, in extended space, all of it. */
	const unsigned bad_off[] = { 0x102, 0x101, 0xfc, 0x40 };
	for (size_t i = 0; i < sizeof(bad_off) / sizeof(bad_off[0]); i++) {
		unsigned o = bad_off[i];
		assert_int_equal(uvfio_pci_add_ari(p, o, 0), -EINVAL);
		assert_int_equal(uvfio_pci_add_sriov(p, o, &sr), -EINVAL);
		assert_int_equal(uvfio_pci_add_dvsec(p, o, 1, 1, 1, NULL, 0), -EINVAL);
		assert_int_equal(uvfio_pci_add_ext_vendor(p, o, 1, 1, NULL, 0), -EINVAL);
	}
	assert_int_equal(uvfio_pci_add_ari(p, 0xffc, 0), -EINVAL);
	assert_int_equal(uvfio_pci_add_sriov(p, 0xfc4, &sr), -EINVAL);
	assert_int_equal(uvfio_pci_add_dvsec(p, 0xff8, 1, 1, 1, NULL, 0), -EINVAL);
	assert_int_equal(uvfio_pci_add_ext_vendor(p, 0xffc, 1, 1, NULL, 0), -EINVAL);
	/* Exactly at the end is fine. */
	assert_int_equal(uvfio_pci_add_ari(p, 0xff8, 0), 0xff8);
	assert_int_equal(uvfio_pci_add_sriov(p, 0xf00, &sr), 0xf00);
	/* Overlaps, at either end. */
	assert_int_equal(uvfio_pci_add_ext_vendor(p, 0x100, 1, 1, pay, 8), 0x100);
	assert_int_equal(uvfio_pci_add_dvsec(p, 0x10c, 1, 1, 1, NULL, 0), -EEXIST);
	assert_int_equal(uvfio_pci_add_ext_vendor(p, 0xef8, 1, 1, pay, 4), -EEXIST);
	assert_int_equal(uvfio_pci_add_dvsec(p, 0xff4, 1, 1, 1, NULL, 0), -EEXIST);
	/* One ARI and one SR-IOV, however placed; vendor ones repeat. */
	assert_int_equal(uvfio_pci_add_ari(p, 0x800, 0), -EEXIST);
	assert_int_equal(uvfio_pci_add_ari(p, 0, 0), -EEXIST);
	assert_int_equal(uvfio_pci_add_sriov(p, 0x800, &sr), -EEXIST);
	assert_int_equal(uvfio_pci_add_ext_vendor(p, 0, 1, 1, pay, 8), 0x110);
	assert_int_equal(uvfio_pci_add_dvsec(p, 0, 1, 1, 1, NULL, 0), 0x120);
	assert_int_equal(uvfio_pci_add_dvsec(p, 0, 1, 1, 1, NULL, 0), 0x12c);
	assert_int_equal(dev_seal(d), 0);
	/* Sealed: nothing more. */
	assert_int_equal(uvfio_pci_add_ari(p, 0, 0), -EBUSY);
	assert_int_equal(uvfio_pci_add_sriov(p, 0, &sr), -EBUSY);
	assert_int_equal(uvfio_pci_add_dvsec(p, 0, 1, 1, 1, NULL, 0), -EBUSY);
	assert_int_equal(uvfio_pci_add_ext_vendor(p, 0, 1, 1, NULL, 0), -EBUSY);
	assert_int_equal(uvfio_pci_hide_ext_cap(p, PCI_EXT_CAP_ID_ARI), -EBUSY);
	uvfio_dev_free(d);

	/* Bad arguments. */
	d = pcie_dev("ext-args", &p);
	assert_int_equal(uvfio_pci_add_ari(NULL, 0, 0), -EINVAL);
	assert_int_equal(uvfio_pci_add_ari(p, 0, 256), -EINVAL);
	assert_int_equal(uvfio_pci_add_sriov(NULL, 0, &sr), -EINVAL);
	assert_int_equal(uvfio_pci_add_sriov(p, 0, NULL), -EINVAL);
	const struct uvfio_pci_sriov bad_sr[] = {
		{ .total_vfs = 0, .vf_stride = 1 },
		{ .total_vfs = 2, .initial_vfs = 3, .vf_stride = 1 },
		{ .total_vfs = 2, .vf_stride = 0 },
	};
	for (size_t i = 0; i < sizeof(bad_sr) / sizeof(bad_sr[0]); i++)
		assert_int_equal(uvfio_pci_add_sriov(p, 0, &bad_sr[i]), -EINVAL);
	assert_int_equal(uvfio_pci_add_ext_vendor(NULL, 0, 1, 1, NULL, 0), -EINVAL);
	assert_int_equal(uvfio_pci_add_ext_vendor(p, 0, 1, 16, NULL, 0), -EINVAL);
	assert_int_equal(uvfio_pci_add_ext_vendor(p, 0, 1, 1, NULL, 4), -EINVAL);
	assert_int_equal(uvfio_pci_add_ext_vendor(p, 0, 1, 1, big, 4085), -EINVAL);
	assert_int_equal(uvfio_pci_add_dvsec(NULL, 0, 1, 1, 1, NULL, 0), -EINVAL);
	assert_int_equal(uvfio_pci_add_dvsec(p, 0, 1, 16, 1, NULL, 0), -EINVAL);
	assert_int_equal(uvfio_pci_add_dvsec(p, 0, 1, 1, 1, NULL, 2), -EINVAL);
	assert_int_equal(uvfio_pci_add_dvsec(p, 0, 1, 1, 1, big, 4083), -EINVAL);
	assert_int_equal(uvfio_pci_hide_ext_cap(NULL, 1), -EINVAL);
	/* Within the limits but more than 3840 bytes: no room. */
	assert_int_equal(uvfio_pci_add_ext_vendor(p, 0, 1, 1, big, 4084), -ENOSPC);
	assert_int_equal(uvfio_pci_add_ext_vendor(p, 0, 1, 1, big, 3833), -ENOSPC);
	assert_int_equal(uvfio_pci_add_dvsec(p, 0, 1, 1, 1, big, 3831), -ENOSPC);
	/* A single SR-IOV VF needs no stride. */
	const struct uvfio_pci_sriov one = { .total_vfs = 1 };
	assert_int_equal(uvfio_pci_add_sriov(p, 0, &one), 0x100);
	uvfio_dev_free(d);

	/* All the room taken: nothing fits anywhere. */
	d = pcie_dev("ext-full", &p);
	assert_int_equal(uvfio_pci_add_ext_vendor(p, 0, 1, 1, big, 3832), 0x100);
	assert_int_equal(rd(d, 0x100 + PCI_VSEC_HDR, 4) >> PCI_VSEC_HDR_LEN_SHIFT,
			 3840);
	assert_int_equal(uvfio_pci_add_ari(p, 0, 0), -ENOSPC);
	assert_int_equal(uvfio_pci_add_sriov(p, 0, &sr), -ENOSPC);
	assert_int_equal(uvfio_pci_add_dvsec(p, 0, 1, 1, 1, NULL, 0), -ENOSPC);
	assert_int_equal(uvfio_pci_add_ext_vendor(p, 0, 1, 1, NULL, 0), -ENOSPC);
	assert_int_equal(uvfio_pci_add_ari(p, 0x800, 0), -EEXIST);
	uvfio_dev_free(d);
	d = pcie_dev("ext-full-dvsec", &p);
	assert_int_equal(uvfio_pci_add_dvsec(p, 0, 1, 1, 1, big, 3830), 0x100);
	assert_int_equal(uvfio_pci_add_ari(p, 0, 0), -ENOSPC);
	uvfio_dev_free(d);
}

/*
 * Every byte of ARI, SR-IOV, a vendor-specific and a DVSEC capability
 * under all-ones and zero at widths 1, 2 and 4: the headers (virtual)
 * and ARI and SR-IOV (read-only to the client, as in vfio-pci) never
 * change; the vendor payloads take the value and it reaches the device.
 * Nothing outside the bytes written changes.
 */
#define B_ARI   0x100u
#define B_SRIOV 0x108u
#define B_VSEC  0x148u     /* 8 payload bytes: 16 */
#define B_DVSEC 0x158u     /* 6 payload bytes: 16 */
#define B_END   0x16cu     /* and a dword nobody owns */

static void test_ext_bits(void **state)
{
	struct uvfio_pci *p;
	struct uvfio_dev *d = pcie_dev("ext-bits", &p);
	const struct uvfio_pci_sriov sr = {
		.total_vfs = 8, .initial_vfs = 2, .vf_offset = 1, .vf_stride = 1,
		.vf_device = 0xabcd, .page_sizes = 0x553,
	};
	assert_int_equal(uvfio_pci_add_ari(p, 0, 3), B_ARI);
	assert_int_equal(uvfio_pci_add_sriov(p, 0, &sr), B_SRIOV);
	assert_int_equal(uvfio_pci_add_ext_vendor(p, 0, 0x77, 2, pay, 8), B_VSEC);
	assert_int_equal(uvfio_pci_add_dvsec(p, 0, 0x1234, 1, 0x99, pay, 6), B_DVSEC);
	assert_int_equal(dev_seal(d), 0);

	static uint8_t rw[EXT_END];
	memset(rw, 0, sizeof(rw));
	memset(rw + B_VSEC + 8, 0xff, 8);
	memset(rw + B_DVSEC + 10, 0xff, 6);
	uint8_t cur[B_END], now[B_END];
	for (unsigned o = 0; o < B_END; o++)
		cur[o] = (uint8_t)rd(d, o, 1);
	const uint32_t pats[2] = { 0xffffffffu, 0 };
	static const unsigned widths[3] = { 4, 2, 1 };
	unsigned writes = 0;
	for (unsigned off = EXT; off < B_END; off++)
		for (unsigned w = 0; w < 3; w++) {
			unsigned n = widths[w];
			if (off % n || off + n > B_END)
				continue;
			for (unsigned k = 0; k < 2; k++) {
				wr(d, off, pats[k], n);
				writes++;
				assert_int_equal(dev_region_access(d, CFG, 0, now, B_END,
								   false), B_END);
				for (unsigned o = 0; o < B_END; o++) {
					uint8_t want = cur[o];
					if (o >= off && o < off + n)
						want = (uint8_t)((cur[o] & ~rw[o]) |
								 ((uint8_t)pats[k] & rw[o]));
					if (now[o] != want)
						fail_msg("write 0x%x/%u at 0x%x: byte 0x%x "
							 "reads 0x%02x, want 0x%02x", pats[k],
							 n, off, o, now[o], want);
				}
				memcpy(cur, now, sizeof(cur));
			}
		}
	assert_true(writes > 300);
	/* Read-only, as vfio-pci has them: no VFs, no ARI control. */
	assert_int_equal(rd(d, B_SRIOV + PCI_SRIOV_CTRL, 2), 0);
	assert_int_equal(rd(d, B_SRIOV + PCI_SRIOV_NUM_VF, 2), 0);
	assert_int_equal(rd(d, B_SRIOV + PCI_SRIOV_INITIAL_VF, 2), 2);
	assert_int_equal(rd(d, B_SRIOV + PCI_SRIOV_SUP_PGSIZE, 4), 0x553);
	assert_int_equal(rd(d, B_SRIOV + PCI_SRIOV_SYS_PGSIZE, 4), 1);
	assert_int_equal(rd(d, B_ARI + PCI_ARI_CAP, 2), 3u << 8);
	assert_int_equal(rd(d, B_ARI + PCI_ARI_CTRL, 2), 0);
	/* The vendor payloads are the device's registers. */
	wr(d, B_VSEC + 8, 0x12345678, 4);
	assert_int_equal(phys(p, B_VSEC + 8, 4), 0x12345678);
	wr(d, B_DVSEC + 12, 0xcafe, 2);
	assert_int_equal(phys(p, B_DVSEC + 12, 2), 0xcafe);
	const uint8_t dv = 0x5a;
	assert_int_equal(uvfio_pci_phys_write(p, B_DVSEC + 15, &dv, 1), 0);
	assert_int_equal(rd(d, B_DVSEC + 15, 1), 0x5a);
	/* The chain is intact. */
	const struct link want[] = {
		{ B_ARI, PCI_EXT_CAP_ID_ARI, 1 }, { B_SRIOV, PCI_EXT_CAP_ID_SRIOV, 1 },
		{ B_VSEC, PCI_EXT_CAP_ID_VNDR, 1 }, { B_DVSEC, PCI_EXT_CAP_ID_DVSEC, 1 },
	};
	check_chain(d, want, 4);
	uvfio_dev_free(d);
}

static void flr(struct uvfio_dev *d)
{
	wr(d, 0x40 + PCI_EXP_DEVCTL, rd(d, 0x40 + PCI_EXP_DEVCTL, 2) |
	   PCI_EXP_DEVCTL_BCR_FLR, 2);
}

static void test_ext_hide(void **state)
{
	struct uvfio_pci *p;
	struct uvfio_dev *d = pcie_dev("ext-hide", &p);
	const struct uvfio_pci_sriov sr = { .total_vfs = 2, .vf_stride = 1 };
	assert_int_equal(uvfio_pci_add_ari(p, 0, 2), 0x100);
	assert_int_equal(uvfio_pci_add_sriov(p, 0, &sr), 0x108);
	assert_int_equal(uvfio_pci_add_ext_vendor(p, 0, 0x42, 1, pay, 8), 0x148);
	assert_int_equal(uvfio_pci_add_ext_vendor(p, 0, 0x43, 1, NULL, 0), 0x158);
	assert_int_equal(uvfio_pci_add_dvsec(p, 0, 0x1234, 1, 5, pay, 2), 0x160);
	/* The first one, and every vendor-specific one. */
	assert_int_equal(uvfio_pci_hide_ext_cap(p, PCI_EXT_CAP_ID_ARI), 0);
	assert_int_equal(uvfio_pci_hide_ext_cap(p, PCI_EXT_CAP_ID_VNDR), 0);
	assert_int_equal(uvfio_pci_hide_ext_cap(p, PCI_EXT_CAP_ID_VNDR), 0);
	assert_int_equal(dev_seal(d), 0);

	/* 0x100 keeps a header with ID and version 0 that links on. */
	uint32_t h = rd(d, EXT, 4);
	assert_int_equal(PCI_EXT_CAP_ID(h), 0);
	assert_int_equal(PCI_EXT_CAP_VER(h), 0);
	assert_int_equal(PCI_EXT_CAP_NEXT(h), 0x108);
	const struct link want[] = {
		{ 0x100, 0, 0 }, { 0x108, PCI_EXT_CAP_ID_SRIOV, 1 },
		{ 0x160, PCI_EXT_CAP_ID_DVSEC, 1 },
	};
	check_chain(d, want, 3);
	/* The headers are virtual: the device's own chain still has them. */
	assert_int_equal(PCI_EXT_CAP_NEXT(rd(d, 0x108, 4)), 0x160);
	assert_int_equal(PCI_EXT_CAP_NEXT(phys(p, 0x108, 4)), 0x148);
	assert_int_equal(PCI_EXT_CAP_ID(phys(p, 0x100, 4)), PCI_EXT_CAP_ID_ARI);
	/* The header at 0x100 cannot be written. */
	wr(d, EXT, 0xffffffff, 4);
	wr(d, EXT, 0, 4);
	wr(d, EXT + 2, 0xffff, 2);
	assert_int_equal(rd(d, EXT, 4), h);
	/* The rest of a hidden capability is no longer virtualized: reads
	 * show the device's registers. */
	assert_int_equal(rd(d, 0x100 + PCI_ARI_CAP, 2), 2u << 8);
	assert_int_equal(rd(d, 0x148, 4), phys(p, 0x148, 4));
	assert_int_equal(rd(d, 0x148 + 8, 4), phys(p, 0x148 + 8, 4));
	/* A function reset leaves the chain as it was. */
	flr(d);
	assert_int_equal(rd(d, EXT, 4), h);
	check_chain(d, want, 3);
	uvfio_dev_free(d);

	/* Hiding is by ID: before the capability is added works too, and
	 * the last visible one gone leaves 0x100 reading 0. */
	d = pcie_dev("ext-hide-first", &p);
	assert_int_equal(uvfio_pci_hide_ext_cap(p, PCI_EXT_CAP_ID_DVSEC), 0);
	assert_int_equal(uvfio_pci_add_dvsec(p, 0, 0x1234, 1, 5, NULL, 0), 0x100);
	assert_int_equal(dev_seal(d), 0);
	assert_int_equal(rd(d, EXT, 4), 0);
	assert_int_equal(PCI_EXT_CAP_ID(phys(p, EXT, 4)), PCI_EXT_CAP_ID_DVSEC);
	uvfio_dev_free(d);

	/* Hiding in the middle only: the first stays as it is. */
	d = pcie_dev("ext-hide-middle", &p);
	assert_int_equal(uvfio_pci_add_ari(p, 0, 0), 0x100);
	assert_int_equal(uvfio_pci_add_sriov(p, 0, &sr), 0x108);
	assert_int_equal(uvfio_pci_add_dvsec(p, 0, 0x1234, 1, 5, NULL, 0), 0x148);
	assert_int_equal(uvfio_pci_hide_ext_cap(p, PCI_EXT_CAP_ID_SRIOV), 0);
	assert_int_equal(dev_seal(d), 0);
	const struct link want2[] = {
		{ 0x100, PCI_EXT_CAP_ID_ARI, 1 }, { 0x148, PCI_EXT_CAP_ID_DVSEC, 1 },
	};
	check_chain(d, want2, 2);
	uvfio_dev_free(d);

	/* Standard and extended IDs are separate: AER is 1, and so is PM. */
	d = pcie_dev("ext-hide-kind", &p);
	assert_int_equal(uvfio_pci_add_pm(p, 0, 0), 0x74);
	assert_int_equal(uvfio_pci_add_aer(p, 0), 0x100);
	assert_int_equal(uvfio_pci_add_ari(p, 0, 0), 0x12c);
	assert_int_equal(uvfio_pci_hide_ext_cap(p, PCI_EXT_CAP_ID_ERR), 0);
	assert_int_equal(dev_seal(d), 0);
	assert_int_equal(rd(d, 0x40 + PCI_CAP_LIST_NEXT, 1), 0x74);
	assert_int_equal(rd(d, 0x74, 1), PCI_CAP_ID_PM);
	assert_int_equal(rd(d, EXT, 4), 0x12cu << 20);
	uvfio_dev_free(d);

	/* Room for 16 IDs; the same one again takes none. */
	d = pcie_dev("ext-hide-many", &p);
	for (uint16_t id = 0x100; id < 0x110; id++)
		assert_int_equal(uvfio_pci_hide_ext_cap(p, id), 0);
	assert_int_equal(uvfio_pci_hide_ext_cap(p, 0x100), 0);
	assert_int_equal(uvfio_pci_hide_ext_cap(p, 0x110), -ENOSPC);
	uvfio_dev_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ext_placement),
		cmocka_unit_test(test_ext_errors),
		cmocka_unit_test(test_ext_bits),
		cmocka_unit_test(test_ext_hide),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
