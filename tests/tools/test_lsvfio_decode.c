/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lsvfio's decoders fed config spaces no device model has: a PCIe
 * endpoint with every common capability, a legacy device with the older
 * ones, malformed chains (loops, bad pointers, truncation) that must
 * neither hang nor read outside the image, and the name tables.
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

#include "lsvfio_util.h"
#include "tools/lsvfio.h"

#define PATH_NAME "synthetic"

struct fixture {
	struct lsv_device d;
	uint8_t *cfg;
};

static void put8(uint8_t *c, unsigned off, uint8_t v)
{
	c[off] = v;
}

static void put16(uint8_t *c, unsigned off, uint16_t v)
{
	c[off] = (uint8_t)v;
	c[off + 1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *c, unsigned off, uint32_t v)
{
	put16(c, off, (uint16_t)v);
	put16(c, off + 2, (uint16_t)(v >> 16));
}

/* A standard capability header. */
static void cap(uint8_t *c, unsigned off, uint8_t id, uint8_t next)
{
	put8(c, off + PCI_CAP_LIST_ID, id);
	put8(c, off + PCI_CAP_LIST_NEXT, next);
}

/* An extended capability header. */
static void ecap(uint8_t *c, unsigned off, uint16_t id, unsigned ver, unsigned next)
{
	put32(c, off, (uint32_t)id | (uint32_t)ver << 16 | (uint32_t)next << 20);
}

/* A device as a probe would have left it, with @size bytes of config. */
static struct fixture *fixture_new(size_t size)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->d.name = strdup(PATH_NAME);
	f->d.info.flags = VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET;
	f->d.info.num_regions = VFIO_PCI_NUM_REGIONS;
	f->d.info.num_irqs = VFIO_PCI_NUM_IRQS;
	f->d.nregions = VFIO_PCI_NUM_REGIONS;
	f->d.nirqs = VFIO_PCI_NUM_IRQS;
	f->d.regions = calloc(f->d.nregions, sizeof(*f->d.regions));
	f->d.irqs = calloc(f->d.nirqs, sizeof(*f->d.irqs));
	assert_non_null(f->d.regions);
	assert_non_null(f->d.irqs);
	for (unsigned i = 0; i < f->d.nregions; i++)
		f->d.regions[i].info.index = i;
	for (unsigned i = 0; i < f->d.nirqs; i++)
		f->d.irqs[i].info.index = i;
	f->d.regions[VFIO_PCI_CONFIG_REGION_INDEX].info.size = size;
	f->d.regions[VFIO_PCI_CONFIG_REGION_INDEX].info.flags =
		VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
	f->cfg = calloc(1, size);
	assert_non_null(f->cfg);
	f->d.config = f->cfg;
	f->d.config_size = size;
	return f;
}

static void fixture_free(struct fixture *f)
{
	lsv_device_fini(&f->d);   /* frees cfg too */
	free(f);
}

/* A type-0 header with a capability list starting at @first. */
static void header(uint8_t *c, uint16_t vendor, uint16_t device, uint32_t class_rev,
		   uint8_t first)
{
	put16(c, PCI_VENDOR_ID, vendor);
	put16(c, PCI_DEVICE_ID, device);
	put32(c, PCI_CLASS_REVISION, class_rev);
	put16(c, PCI_STATUS, first ? PCI_STATUS_CAP_LIST : 0);
	put8(c, PCI_CAPABILITY_LIST, first);
}

static char *print_text(const struct lsv_device *d, bool hexdump)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	struct lsv_print_opts o = { .hexdump = hexdump };
	lsv_print_device(f, d, &o);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static json_object *device_json(const struct lsv_device *d)
{
	struct lsv_print_opts o = { 0 };
	return lsv_device_json(d, &o);
}

static json_object *jget(json_object *o, const char *key)
{
	json_object *v = NULL;
	bool found = json_object_object_get_ex(o, key, &v);
	if (!found)
		fprintf(stderr, "no key %s in %s\n", key, json_object_to_json_string(o));
	assert_true(found);
	return v;   /* NULL for a JSON null */
}

/* ---- a PCIe endpoint with everything ---------------------------------- */

static struct fixture *pcie_endpoint(void)
{
	struct fixture *f = fixture_new(PCI_CFG_SPACE_EXP_SIZE);
	uint8_t *c = f->cfg;

	header(c, 0x8086, 0x0953, 0x01080201, 0x40);   /* NVMe, rev 01 */
	put32(c, PCI_BASE_ADDRESS_0, PCI_BASE_ADDRESS_MEM_TYPE_64);
	put16(c, PCI_SUBSYSTEM_VENDOR_ID, 0x8086);
	put16(c, PCI_SUBSYSTEM_ID, 0x3702);
	put8(c, PCI_INTERRUPT_PIN, 1);
	f->d.regions[0].info.size = 16 << 10;
	f->d.regions[0].info.flags = VFIO_REGION_INFO_FLAG_READ |
		VFIO_REGION_INFO_FLAG_WRITE | VFIO_REGION_INFO_FLAG_MMAP |
		VFIO_REGION_INFO_FLAG_CAPS;
	f->d.regions[0].info.sparse = true;
	f->d.regions[0].info.nr_areas = 1;
	f->d.regions[0].info.areas[0].offset = 0x3000;
	f->d.regions[0].info.areas[0].size = 0x1000;
	f->d.regions[0].info.msix_mappable = true;
	f->d.irqs[0].info = (struct uvfio_irq_info){ 0, VFIO_IRQ_INFO_EVENTFD |
		VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED, 1 };
	f->d.irqs[2].info = (struct uvfio_irq_info){ 2, VFIO_IRQ_INFO_EVENTFD, 32 };

	cap(c, 0x40, PCI_CAP_ID_PM, 0x50);
	put16(c, 0x40 + PCI_PM_PMC, PCI_PM_CAP_PME_D3hot | PCI_PM_CAP_PME_D3cold | 3);
	put16(c, 0x40 + PCI_PM_CTRL, PCI_PM_CTRL_NO_SOFT_RESET);
	cap(c, 0x50, PCI_CAP_ID_MSI, 0x60);
	put16(c, 0x50 + PCI_MSI_FLAGS, PCI_MSI_FLAGS_64BIT | 3 << 1);
	put32(c, 0x50 + PCI_MSI_ADDRESS_LO, 0xfee00000);
	put16(c, 0x50 + PCI_MSI_DATA_64, 0x4021);
	cap(c, 0x60, PCI_CAP_ID_EXP, 0xb0);
	put16(c, 0x60 + PCI_EXP_FLAGS, 2 | PCI_EXP_TYPE_ENDPOINT << 4);
	put32(c, 0x60 + PCI_EXP_DEVCAP, PCI_EXP_DEVCAP_FLR | PCI_EXP_DEVCAP_RBER |
	      PCI_EXP_DEVCAP_EXT_TAG | 2);
	put16(c, 0x60 + PCI_EXP_DEVCTL, PCI_EXP_DEVCTL_READRQ_512B |
	      PCI_EXP_DEVCTL_NOSNOOP_EN | PCI_EXP_DEVCTL_RELAX_EN |
	      PCI_EXP_DEVCTL_PAYLOAD_256B);
	put32(c, 0x60 + PCI_EXP_LNKCAP, PCI_EXP_LNKCAP_SLS_8_0GB | 4 << 4 |
	      PCI_EXP_LNKCAP_ASPMS);
	put16(c, 0x60 + PCI_EXP_LNKSTA, PCI_EXP_LNKSTA_CLS_8_0GB | PCI_EXP_LNKSTA_NLW_X4 |
	      PCI_EXP_LNKSTA_SLC);
	put32(c, 0x60 + PCI_EXP_DEVCAP2, PCI_EXP_DEVCAP2_LTR | 0xf);
	put32(c, 0x60 + PCI_EXP_LNKCAP2, PCI_EXP_LNKCAP2_SLS_2_5GB |
	      PCI_EXP_LNKCAP2_SLS_5_0GB | PCI_EXP_LNKCAP2_SLS_8_0GB);
	put16(c, 0x60 + PCI_EXP_LNKCTL2, PCI_EXP_LNKCTL2_TLS_8_0GT);
	cap(c, 0xb0, PCI_CAP_ID_MSIX, 0xc0);
	put16(c, 0xb0 + PCI_MSIX_FLAGS, 31);
	put32(c, 0xb0 + PCI_MSIX_TABLE, 0x2000);
	put32(c, 0xb0 + PCI_MSIX_PBA, 0x3000);
	cap(c, 0xc0, PCI_CAP_ID_VNDR, 0xd0);
	put8(c, 0xc0 + PCI_CAP_FLAGS, 0x0c);
	cap(c, 0xd0, PCI_CAP_ID_AF, 0);
	put8(c, 0xd0 + PCI_AF_LENGTH, PCI_CAP_AF_SIZEOF);
	put8(c, 0xd0 + PCI_AF_CAP, PCI_AF_CAP_TP | PCI_AF_CAP_FLR);

	ecap(c, 0x100, PCI_EXT_CAP_ID_ERR, 2, 0x150);
	put32(c, 0x100 + PCI_ERR_UNCOR_MASK, PCI_ERR_UNC_UNSUP);
	put32(c, 0x100 + PCI_ERR_UNCOR_SEVER, PCI_ERR_UNC_DLP | PCI_ERR_UNC_SURPDN |
	      PCI_ERR_UNC_FCP | PCI_ERR_UNC_RX_OVER | PCI_ERR_UNC_MALF_TLP);
	put32(c, 0x100 + PCI_ERR_COR_STATUS, PCI_ERR_COR_ADV_NFAT);
	put32(c, 0x100 + PCI_ERR_CAP, PCI_ERR_CAP_ECRC_GENC | PCI_ERR_CAP_ECRC_CHKC);
	ecap(c, 0x150, PCI_EXT_CAP_ID_DSN, 1, 0x160);
	put32(c, 0x154, 0x11223344);
	put32(c, 0x158, 0x55667788);
	ecap(c, 0x160, PCI_EXT_CAP_ID_SRIOV, 1, 0x1a0);
	put16(c, 0x160 + PCI_SRIOV_INITIAL_VF, 64);
	put16(c, 0x160 + PCI_SRIOV_TOTAL_VF, 64);
	put16(c, 0x160 + PCI_SRIOV_NUM_VF, 4);
	put16(c, 0x160 + PCI_SRIOV_CTRL, PCI_SRIOV_CTRL_VFE | PCI_SRIOV_CTRL_MSE);
	put16(c, 0x160 + PCI_SRIOV_VF_OFFSET, 0x80);
	put16(c, 0x160 + PCI_SRIOV_VF_STRIDE, 2);
	put16(c, 0x160 + PCI_SRIOV_VF_DID, 0x10ca);
	put32(c, 0x160 + PCI_SRIOV_SUP_PGSIZE, 0x553);
	put32(c, 0x160 + PCI_SRIOV_SYS_PGSIZE, 1);
	put32(c, 0x160 + PCI_SRIOV_BAR, PCI_BASE_ADDRESS_MEM_TYPE_64 |
	      PCI_BASE_ADDRESS_MEM_PREFETCH);
	ecap(c, 0x1a0, PCI_EXT_CAP_ID_ARI, 1, 0x1b0);
	put16(c, 0x1a0 + PCI_ARI_CAP, 1 << 8);
	ecap(c, 0x1b0, PCI_EXT_CAP_ID_ATS, 1, 0x1c0);
	put16(c, 0x1b0 + PCI_ATS_CTRL, PCI_ATS_CTRL_ENABLE);
	ecap(c, 0x1c0, PCI_EXT_CAP_ID_ACS, 1, 0x1d0);
	put16(c, 0x1c0 + PCI_ACS_CAP, PCI_ACS_SV | PCI_ACS_TB | PCI_ACS_RR |
	      PCI_ACS_CR | PCI_ACS_UF | PCI_ACS_DT);
	put16(c, 0x1c0 + PCI_ACS_CTRL, PCI_ACS_SV | PCI_ACS_RR | PCI_ACS_CR |
	      PCI_ACS_UF);
	ecap(c, 0x1d0, PCI_EXT_CAP_ID_LTR, 1, 0x1d8);
	put16(c, 0x1d0 + PCI_LTR_MAX_SNOOP_LAT, 0x1003);      /* 3 << 20 ns */
	put16(c, 0x1d0 + PCI_LTR_MAX_NOSNOOP_LAT, 0x0c64);    /* 100 << 15 ns */
	ecap(c, 0x1d8, PCI_EXT_CAP_ID_L1SS, 1, 0x1e8);
	put32(c, 0x1d8 + PCI_L1SS_CAP, PCI_L1SS_CAP_PCIPM_L1_2 | PCI_L1SS_CAP_PCIPM_L1_1 |
	      PCI_L1SS_CAP_ASPM_L1_2 | PCI_L1SS_CAP_ASPM_L1_1 | PCI_L1SS_CAP_L1_PM_SS);
	ecap(c, 0x1e8, PCI_EXT_CAP_ID_PASID, 1, 0x1f0);
	put16(c, 0x1e8 + PCI_PASID_CAP, 0x14 << 8 | PCI_PASID_CAP_EXEC);
	ecap(c, 0x1f0, PCI_EXT_CAP_ID_DVSEC, 1, 0x200);
	put32(c, 0x1f0 + PCI_DVSEC_HEADER1, 0x1e98 | 1 << 16 | 0x38 << 20);
	put16(c, 0x1f0 + PCI_DVSEC_HEADER2, 0x0003);
	ecap(c, 0x200, PCI_EXT_CAP_ID_DPC, 1, 0x210);
	put16(c, 0x200 + PCI_EXP_DPC_CAP, PCI_EXP_DPC_CAP_RP_EXT |
	      PCI_EXP_DPC_CAP_POISONED_TLP | PCI_EXP_DPC_CAP_SW_TRIGGER | 4 << 8);
	ecap(c, 0x210, PCI_EXT_CAP_ID_PTM, 1, 0x220);
	put32(c, 0x210 + PCI_PTM_CAP, PCI_PTM_CAP_REQ | 0x10 << 8);
	ecap(c, 0x220, PCI_EXT_CAP_ID_REBAR, 1, 0x230);
	put32(c, 0x220 + PCI_REBAR_CAP, 0x1ff0);             /* 1 MB .. 256 MB */
	put32(c, 0x220 + PCI_REBAR_CTRL, 1 << PCI_REBAR_CTRL_NBAR_SHIFT |
	      8 << PCI_REBAR_CTRL_BAR_SHIFT | 2);
	ecap(c, 0x230, PCI_EXT_CAP_ID_VNDR, 1, 0x240);
	put32(c, 0x230 + PCI_VNDR_HEADER, 0x0023 | 1 << 16 | 0x010 << 20);
	ecap(c, 0x240, PCI_EXT_CAP_ID_DLF, 1, 0x250);
	put32(c, 0x240 + PCI_DLF_CAP, PCI_DLF_EXCHANGE_ENABLE | 1);
	ecap(c, 0x250, PCI_EXT_CAP_ID_PL_16GT, 1, 0x280);
	put32(c, 0x250 + 0x0c, 0x1f);
	ecap(c, 0x280, PCI_EXT_CAP_ID_PL_32GT, 1, 0x2a0);
	ecap(c, 0x2a0, 0x7f, 1, 0);
	return f;
}

static void pcie_endpoint_golden(void **state)
{
	(void)state;
	struct fixture *f = pcie_endpoint();
	char *out = print_text(&f->d, false);
	assert_golden_text("synthetic-pcie.txt", out);
	free(out);
	fixture_free(f);
}

static json_object *cap_at(json_object *list, int offset)
{
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		json_object *c = json_object_array_get_idx(list, i);
		if (json_object_get_int(jget(c, "offset")) == offset)
			return c;
	}
	fprintf(stderr, "no capability at 0x%x\n", offset);
	fail();
	return NULL;
}

static void pcie_endpoint_json(void **state)
{
	(void)state;
	struct fixture *f = pcie_endpoint();
	json_object *d = device_json(&f->d);

	assert_string_equal(json_object_get_string(jget(d, "class_name")),
			    "Non-Volatile memory controller");
	assert_string_equal(json_object_get_string(jget(d, "vendor_name")),
			    "Intel Corporation");
	json_object *caps = jget(d, "capabilities");
	assert_int_equal(json_object_array_length(caps), 6);
	json_object *exp = cap_at(caps, 0x60);
	assert_string_equal(json_object_get_string(jget(exp, "name")), "PCI Express");
	assert_string_equal(json_object_get_string(jget(exp, "device_type")), "endpoint");
	assert_int_equal(json_object_get_int(jget(exp, "devcap_max_payload")), 512);
	assert_true(json_object_get_boolean(jget(exp, "flr")));
	assert_int_equal(json_object_get_int(jget(exp, "max_payload")), 256);
	assert_int_equal(json_object_get_int(jget(exp, "max_read_request")), 512);
	json_object *msix = cap_at(caps, 0xb0);
	assert_int_equal(json_object_get_int(jget(msix, "table_size")), 32);
	assert_int_equal(json_object_get_int(jget(msix, "table_bir")), 0);
	assert_int_equal(json_object_get_int(jget(msix, "table_offset")), 0x2000);
	assert_int_equal(json_object_get_int(jget(msix, "pba_offset")), 0x3000);
	json_object *msi = cap_at(caps, 0x50);
	assert_int_equal(json_object_get_int(jget(msi, "count")), 8);
	assert_int_equal(json_object_get_int64(jget(msi, "address")), 0xfee00000);

	json_object *ecaps = jget(d, "extended_capabilities");
	assert_int_equal(json_object_array_length(ecaps), 18);
	json_object *aer = cap_at(ecaps, 0x100);
	assert_int_equal(json_object_get_int(jget(aer, "version")), 2);
	assert_int_equal(json_object_get_int(jget(aer, "id")), PCI_EXT_CAP_ID_ERR);
	json_object *sriov = cap_at(ecaps, 0x160);
	assert_int_equal(json_object_get_int(jget(sriov, "total_vfs")), 64);
	assert_int_equal(json_object_get_int(jget(sriov, "num_vfs")), 4);
	assert_int_equal(json_object_get_int(jget(sriov, "vf_offset")), 0x80);
	assert_int_equal(json_object_get_int(jget(sriov, "vf_stride")), 2);
	assert_int_equal(json_object_get_int(jget(sriov, "vf_device_id")), 0x10ca);
	json_object *dvsec = cap_at(ecaps, 0x1f0);
	assert_int_equal(json_object_get_int(jget(dvsec, "dvsec_vendor_id")), 0x1e98);
	assert_int_equal(json_object_get_int(jget(dvsec, "dvsec_id")), 3);
	json_object *dsn = cap_at(ecaps, 0x150);
	assert_string_equal(json_object_get_string(jget(dsn, "serial_number")),
			    "55-66-77-88-11-22-33-44");
	json_object *ltr = cap_at(ecaps, 0x1d0);
	assert_int_equal(json_object_get_int64(jget(ltr, "max_snoop_latency_ns")), 3 << 20);
	assert_int_equal(json_object_get_int64(jget(ltr, "max_no_snoop_latency_ns")),
			 100 << 15);
	json_object *unknown = cap_at(ecaps, 0x2a0);
	assert_true(json_object_is_type(jget(unknown, "name"), json_type_null));
	assert_int_equal(json_object_array_length(jget(d, "notes")), 0);

	json_object *bar0 = json_object_array_get_idx(jget(d, "regions"), 0);
	assert_string_equal(json_object_get_string(jget(bar0, "bar_type")), "mem64");
	assert_true(json_object_get_boolean(jget(bar0, "msix_mappable")));
	assert_int_equal(json_object_array_length(jget(bar0, "mmap_areas")), 1);
	json_object_put(d);
	fixture_free(f);
}

/* ---- the older capabilities ------------------------------------------ */

/*
 * The VPD the legacy device's probe read: name (with a byte to escape),
 * VPD-R with RV, VPD-W with a binary CP and a keyword of no spec, end.
 */
static const uint8_t legacy_vpd[] = {
	0x82, 11, 0, 'L', 'e', 'g', 'a', 'c', 'y', ' ', 'G', 'P', 'U', 0x01,
	0x90, 34, 0,
	'P', 'N', 4, 'L', 'G', '-', '7',
	'E', 'C', 1, 'B',
	'M', 'N', 4, '1', '0', 'd', 'e',
	'S', 'N', 3, 'A', '\\', 'B',
	'V', '1', 1, 'x',
	'R', 'V', 3, 0, 0, 0,            /* checksum at LEGACY_VPD_RV */
	0x91, 28, 0,
	'Y', '1', 3, 's', 'y', 's',
	'C', 'P', 4, 1, 2, 0x10, 0,
	'Z', 'Z', 1, '?',
	'R', 'W', 8, 0, 0, 0, 0, 0, 0, 0, 0,
	0x78,
};
#define LEGACY_VPD_RV 48

static struct fixture *legacy_device(void)
{
	struct fixture *f = fixture_new(PCI_CFG_SPACE_SIZE);
	uint8_t *c = f->cfg;

	header(c, 0x10de, 0x1234, 0x03000001, 0x40);   /* VGA, rev 01 */
	put32(c, PCI_BASE_ADDRESS_0, PCI_BASE_ADDRESS_MEM_PREFETCH);
	put32(c, PCI_BASE_ADDRESS_1, PCI_BASE_ADDRESS_SPACE_IO);
	put32(c, PCI_ROM_ADDRESS, PCI_ROM_ADDRESS_ENABLE);
	f->d.regions[0].info.size = 256 << 20;
	f->d.regions[0].info.flags = VFIO_REGION_INFO_FLAG_READ |
		VFIO_REGION_INFO_FLAG_WRITE | VFIO_REGION_INFO_FLAG_MMAP;
	f->d.regions[1].info.size = 128;
	f->d.regions[1].info.flags = VFIO_REGION_INFO_FLAG_READ |
		VFIO_REGION_INFO_FLAG_WRITE;
	f->d.regions[6].info.size = 128 << 10;
	f->d.regions[6].info.flags = VFIO_REGION_INFO_FLAG_READ;
	f->d.regions[8].info.size = 0xc0000;
	f->d.regions[8].info.flags = VFIO_REGION_INFO_FLAG_READ |
		VFIO_REGION_INFO_FLAG_WRITE;
	f->d.regions[3].err = -EINVAL;     /* vfio-pci's "no such region" */
	f->d.regions[4].err = -EIO;        /* a failure */

	cap(c, 0x40, PCI_CAP_ID_AGP, 0x4c);
	put8(c, 0x40 + PCI_AGP_VERSION, 0x30);
	put32(c, 0x40 + PCI_AGP_STATUS, 0x1f000000 | PCI_AGP_STATUS_SBA |
	      PCI_AGP_STATUS_RATE4 | PCI_AGP_STATUS_RATE2);
	cap(c, 0x4c, PCI_CAP_ID_SLOTID, 0x50);
	put16(c, 0x4c + PCI_SID_ESR, 0x0203 | PCI_SID_ESR_FIC);
	cap(c, 0x50, PCI_CAP_ID_VPD, 0x58);
	f->d.vpd.read = true;
	f->d.vpd.len = sizeof(legacy_vpd);
	f->d.vpd.data = malloc(sizeof(legacy_vpd));
	assert_non_null(f->d.vpd.data);
	memcpy(f->d.vpd.data, legacy_vpd, sizeof(legacy_vpd));
	assert_memory_equal(f->d.vpd.data + LEGACY_VPD_RV - 3, "RV", 2);
	uint8_t sum = 0;
	for (unsigned i = 0; i < LEGACY_VPD_RV; i++)
		sum = (uint8_t)(sum + legacy_vpd[i]);
	f->d.vpd.data[LEGACY_VPD_RV] = (uint8_t)-sum;
	cap(c, 0x58, PCI_CAP_ID_CHSWP, 0x5c);
	put8(c, 0x58 + PCI_CHSWP_CSR, PCI_CHSWP_INS | PCI_CHSWP_LOO);
	cap(c, 0x5c, PCI_CAP_ID_PCIX, 0x64);
	put16(c, 0x5c + PCI_X_CMD, PCI_X_CMD_READ_2K | PCI_X_CMD_SPLIT_8 | PCI_X_CMD_ERO);
	put32(c, 0x5c + PCI_X_STATUS, 0x0218 | PCI_X_STATUS_64BIT | PCI_X_STATUS_133MHZ);
	cap(c, 0x64, PCI_CAP_ID_HT, 0x6c);
	put8(c, 0x64 + HT_MSI_FLAGS + 1, HT_CAPTYPE_MSI_MAPPING);
	put8(c, 0x64 + HT_MSI_FLAGS, HT_MSI_FLAGS_ENABLE | HT_MSI_FLAGS_FIXED);
	cap(c, 0x6c, PCI_CAP_ID_DBG, 0x70);
	put16(c, 0x6c + PCI_CAP_FLAGS, 1 << 13 | 0x00a0);
	cap(c, 0x70, PCI_CAP_ID_SSVID, 0x78);
	put16(c, 0x70 + PCI_SSVID_VENDOR_ID, 0x1af4);
	put16(c, 0x70 + PCI_SSVID_DEVICE_ID, 0x1100);
	cap(c, 0x78, PCI_CAP_ID_SECDEV, 0x7c);
	cap(c, 0x7c, PCI_CAP_ID_SATA, 0x84);
	put8(c, 0x7c + PCI_CAP_FLAGS, 0x10);
	put32(c, 0x7c + PCI_SATA_REGS, 0x48 << 4 | 5);   /* BAR5, 0x120 */
	cap(c, 0x84, PCI_CAP_ID_SHPC, 0x88);
	cap(c, 0x88, PCI_CAP_ID_CCRC, 0x8c);
	cap(c, 0x8c, PCI_CAP_ID_FPB, 0x90);
	cap(c, 0x90, PCI_CAP_ID_EA, 0xc0);
	put8(c, 0x90 + PCI_EA_NUM_ENT, 2);
	/* Entry 0: BAR0, 64-bit base, enabled. */
	put32(c, 0x94, PCI_EA_ENABLE | 4 | PCI_EA_P_MEM_PREFETCH << 8 |
	      PCI_EA_P_MEM_PREFETCH << 16);
	put32(c, 0x98, 0xe0000000 | PCI_EA_IS_64);
	put32(c, 0x9c, 0x0ffffffc);
	put32(c, 0xa0, 0x00000001);
	put32(c, 0xa4, 0);                  /* ES 4: one dword spare */
	/* Entry 1: I/O, BEI 7. */
	put32(c, 0xa8, PCI_EA_ENABLE | PCI_EA_WRITABLE | 2 | PCI_EA_BEI_ENI << 4 |
	      PCI_EA_P_IO << 8 | PCI_EA_P_UNAVAILABLE << 16);
	put32(c, 0xac, 0x1000);
	put32(c, 0xb0, 0xfc);
	cap(c, 0xc0, 0x3f, 0xc8);              /* unknown */
	cap(c, 0xc8, PCI_CAP_ID_MSI, 0);
	put16(c, 0xc8 + PCI_MSI_FLAGS, PCI_MSI_FLAGS_MASKBIT | PCI_MSI_FLAGS_ENABLE |
	      1 << 1 | 1 << 4);
	put32(c, 0xc8 + PCI_MSI_ADDRESS_LO, 0xfee01000);
	put16(c, 0xc8 + PCI_MSI_DATA_32, 0x0041);
	put32(c, 0xc8 + PCI_MSI_MASK_32, 0x2);
	put32(c, 0xc8 + PCI_MSI_PENDING_32, 0x1);
	return f;
}

static void legacy_golden(void **state)
{
	(void)state;
	struct fixture *f = legacy_device();
	char *out = print_text(&f->d, false);
	assert_golden_text("synthetic-legacy.txt", out);
	free(out);
	fixture_free(f);
}

/* ---- malformed chains ----------------------------------------------- */

/* Text and JSON agree on the notes; returns the number of notes. */
static size_t notes_of(struct fixture *f, const char *expect)
{
	char *out = print_text(&f->d, false);
	json_object *d = device_json(&f->d);
	json_object *notes = jget(d, "notes");
	size_t n = json_object_array_length(notes);
	if (expect) {
		assert_true(n >= 1);
		const char *s = json_object_get_string(json_object_array_get_idx(notes, 0));
		if (strcmp(s, expect))
			fprintf(stderr, "note: %s\n", s);
		assert_string_equal(s, expect);
		char *line;
		assert_true(asprintf(&line, "\tNote: %s\n", expect) > 0);
		assert_non_null(strstr(out, line));
		free(line);
	}
	json_object_put(d);
	free(out);
	return n;
}

static size_t ncaps(struct fixture *f, const char *key)
{
	json_object *d = device_json(&f->d);
	size_t n = json_object_array_length(jget(d, key));
	json_object_put(d);
	return n;
}

static void std_chain_loop(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(PCI_CFG_SPACE_SIZE);
	header(f->cfg, 0x1234, 1, 0, 0x40);
	cap(f->cfg, 0x40, PCI_CAP_ID_PM, 0x50);
	cap(f->cfg, 0x50, PCI_CAP_ID_MSI, 0x40);
	assert_int_equal(notes_of(f, "capability chain loops back to [40] from [51], "
				  "walk stopped"), 1);
	assert_int_equal(ncaps(f, "capabilities"), 2);
	/* A capability pointing at itself. */
	cap(f->cfg, 0x40, PCI_CAP_ID_PM, 0x40);
	assert_int_equal(notes_of(f, "capability chain loops back to [40] from [41], "
				  "walk stopped"), 1);
	assert_int_equal(ncaps(f, "capabilities"), 1);
	fixture_free(f);
}

static void std_chain_bad_pointers(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(PCI_CFG_SPACE_SIZE);
	header(f->cfg, 0x1234, 1, 0, 0x40);
	cap(f->cfg, 0x40, PCI_CAP_ID_PM, 0x10);
	assert_int_equal(notes_of(f, "capability pointer at [41] points into the "
				  "header ([10]), walk stopped"), 1);
	assert_int_equal(ncaps(f, "capabilities"), 1);

	/* The first pointer itself. */
	put8(f->cfg, PCI_CAPABILITY_LIST, 0x3c);
	assert_int_equal(notes_of(f, "capability pointer at [34] points into the "
				  "header ([3c]), walk stopped"), 1);
	assert_int_equal(ncaps(f, "capabilities"), 0);

	/* All ones: a device that went away. */
	put8(f->cfg, PCI_CAPABILITY_LIST, 0x40);
	cap(f->cfg, 0x40, PCI_CAP_ID_PM, 0xfc);
	cap(f->cfg, 0xfc, 0xff, 0xff);
	assert_int_equal(notes_of(f, "capability at [fc] reads as all ones, walk "
				  "stopped"), 1);

	/* Low bits of pointers are reserved: masked, not an error. */
	cap(f->cfg, 0x40, PCI_CAP_ID_PM, 0x53);
	cap(f->cfg, 0x50, PCI_CAP_ID_MSI, 0);
	assert_int_equal(notes_of(f, NULL), 0);
	assert_int_equal(ncaps(f, "capabilities"), 2);

	/* No CAP_LIST in STATUS: the pointer is not looked at. */
	put16(f->cfg, PCI_STATUS, 0);
	assert_int_equal(ncaps(f, "capabilities"), 0);
	fixture_free(f);
}

/* A config space shorter than the pointer says. */
static void std_chain_short_config(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(0x80);
	header(f->cfg, 0x1234, 1, 0, 0x40);
	cap(f->cfg, 0x40, PCI_CAP_ID_PM, 0xc0);
	assert_int_equal(notes_of(f, "capability pointer at [41] points past config "
				  "space ([c0]), walk stopped"), 1);
	/* A capability whose registers run past the end is marked truncated. */
	cap(f->cfg, 0x40, PCI_CAP_ID_PM, 0x7c);
	cap(f->cfg, 0x7c, PCI_CAP_ID_MSIX, 0);
	char *out = print_text(&f->d, false);
	assert_non_null(strstr(out, "\tCapabilities: [7c] MSI-X: Enable- Count=1 Masked-\n"
			       "\t\tVector table: BAR=7 offset=fffffff8\n"
			       "\t\tPBA: BAR=7 offset=fffffff8\n"
			       "\t\t<truncated: runs past the end of config space>\n"));
	free(out);
	json_object *d = device_json(&f->d);
	json_object *msix = cap_at(jget(d, "capabilities"), 0x7c);
	assert_true(json_object_get_boolean(jget(msix, "truncated")));
	json_object_put(d);
	fixture_free(f);
}

/* 48 capabilities fill 0x40-0xff exactly; all are shown, none twice. */
static void std_chain_longest(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(PCI_CFG_SPACE_SIZE);
	header(f->cfg, 0x1234, 1, 0, 0x40);
	for (unsigned p = 0x40; p < 0x100; p += 4)
		cap(f->cfg, p, PCI_CAP_ID_VNDR, p + 4 < 0x100 ? (uint8_t)(p + 4) : 0);
	assert_int_equal(notes_of(f, NULL), 0);
	assert_int_equal(ncaps(f, "capabilities"), 48);
	/* And back to the start: stopped by the loop check. */
	cap(f->cfg, 0xfc, PCI_CAP_ID_VNDR, 0x40);
	assert_int_equal(notes_of(f, "capability chain loops back to [40] from [fd], "
				  "walk stopped"), 1);
	assert_int_equal(ncaps(f, "capabilities"), 48);
	fixture_free(f);
}

static void ext_chain_malformed(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(PCI_CFG_SPACE_EXP_SIZE);
	header(f->cfg, 0x1234, 1, 0, 0);

	/* Nothing at 0x100: no extended capabilities, no complaint. */
	assert_int_equal(notes_of(f, NULL), 0);
	assert_int_equal(ncaps(f, "extended_capabilities"), 0);

	ecap(f->cfg, 0x100, PCI_EXT_CAP_ID_ERR, 1, 0x140);
	ecap(f->cfg, 0x140, PCI_EXT_CAP_ID_DSN, 1, 0x100);
	assert_int_equal(notes_of(f, "extended capability chain loops back to [100] "
				  "from [140], walk stopped"), 1);
	assert_int_equal(ncaps(f, "extended_capabilities"), 2);

	ecap(f->cfg, 0x140, PCI_EXT_CAP_ID_DSN, 1, 0x0c0);
	assert_int_equal(notes_of(f, "extended capability at [140] points below [100] "
				  "([0c0]), walk stopped"), 1);

	ecap(f->cfg, 0x140, PCI_EXT_CAP_ID_DSN, 1, 0x182);
	assert_int_equal(notes_of(f, "extended capability at [140] has a misaligned "
				  "next pointer [182], walk stopped"), 1);
	assert_int_equal(ncaps(f, "extended_capabilities"), 2);

	ecap(f->cfg, 0x140, PCI_EXT_CAP_ID_DSN, 1, 0x180);
	put32(f->cfg, 0x180, 0xffffffff);
	assert_int_equal(notes_of(f, "extended capability at [180] reads as 0xffffffff, "
				  "walk stopped"), 1);

	/* VFIO's hidden first capability: ID 0, followed to the next one. */
	ecap(f->cfg, 0x100, 0, 0, 0x140);
	ecap(f->cfg, 0x140, PCI_EXT_CAP_ID_DSN, 1, 0);
	assert_int_equal(notes_of(f, NULL), 0);
	char *out = print_text(&f->d, false);
	assert_non_null(strstr(out, "\tCapabilities: [100 v0] Null\n"
			       "\tCapabilities: [140 v1] Device Serial Number "));
	free(out);
	fixture_free(f);
}

/* Every dword of extended space in one chain: 960 entries, then the end. */
static void ext_chain_longest(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(PCI_CFG_SPACE_EXP_SIZE);
	header(f->cfg, 0x1234, 1, 0, 0);
	for (unsigned p = 0x100; p < 0x1000; p += 4)
		ecap(f->cfg, p, PCI_EXT_CAP_ID_VNDR, 1, p + 4 < 0x1000 ? p + 4 : 0);
	assert_int_equal(notes_of(f, NULL), 0);
	assert_int_equal(ncaps(f, "extended_capabilities"), LSV_ECAP_TTL);
	ecap(f->cfg, 0xffc, PCI_EXT_CAP_ID_VNDR, 1, 0x100);
	assert_int_equal(notes_of(f, "extended capability chain loops back to [100] "
				  "from [ffc], walk stopped"), 1);
	fixture_free(f);
}

/* Extended space shorter than 4 KiB: pointers beyond it are refused. */
static void ext_chain_short_config(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(0x200);
	header(f->cfg, 0x1234, 1, 0, 0);
	ecap(f->cfg, 0x100, PCI_EXT_CAP_ID_ERR, 1, 0x400);
	assert_int_equal(notes_of(f, "extended capability pointer at [100] points past "
				  "config space ([400]), walk stopped"), 1);
	assert_int_equal(ncaps(f, "extended_capabilities"), 1);
	fixture_free(f);
}

/* ---- devices without config space, with failed info ------------------ */

static void no_config(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(PCI_CFG_SPACE_SIZE);
	f->d.config = NULL;
	f->d.config_size = 0;
	f->d.config_err = -EIO;
	f->d.irqs[1].err = -ENOTTY;
	free(f->cfg);
	char *out = print_text(&f->d, true);
	const char *want = PATH_NAME ": VFIO PCI device (config space unreadable)\n"
			   "\tConfig space: unreadable (Input/output error)\n"
			   "\tVFIO: flags PCI RESET, 9 regions, 5 IRQ indexes\n";
	assert_memory_equal(out, want, strlen(want));
	assert_non_null(strstr(out, "\tIRQ 1 MSI: <info unavailable: Inappropriate ioctl "
			       "for device>\n"));
	assert_null(strstr(out, "Capabilities"));
	free(out);
	json_object *d = device_json(&f->d);
	assert_true(json_object_is_type(jget(d, "vendor_id"), json_type_null));
	assert_string_equal(json_object_get_string(jget(d, "config_error")),
			    "Input/output error");
	json_object_put(d);
	fixture_free(f);
}

/* ---- names ---------------------------------------------------------- */

static void class_names(void **state)
{
	(void)state;
	static const struct {
		uint32_t code;
		const char *name;
	} t[] = {
		{ 0x00ff00, "Unclassified device" },
		{ 0x000000, "Non-VGA unclassified device" },
		{ 0x010802, "Non-Volatile memory controller" },
		{ 0x010601, "SATA controller" },
		{ 0x018000, "Mass storage controller" },
		{ 0x020000, "Ethernet controller" },
		{ 0x028000, "Network controller" },
		{ 0x030000, "VGA compatible controller" },
		{ 0x030200, "3D controller" },
		{ 0x060000, "Host bridge" },
		{ 0x060400, "PCI bridge" },
		{ 0x0c0330, "USB controller" },
		{ 0x120000, "Processing accelerators" },
		{ 0xff0000, "Unassigned class" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_string_equal(lsv_class_name(t[i].code), t[i].name);
	assert_null(lsv_class_name(0x7f0000));
	assert_string_equal(lsv_progif_name(0x010802), "NVM Express");
	assert_string_equal(lsv_progif_name(0x0c0330), "XHCI");
	assert_null(lsv_progif_name(0x010800));
}

static void vendor_names(void **state)
{
	(void)state;
	assert_string_equal(lsv_vendor_name(0x8086), "Intel Corporation");
	assert_string_equal(lsv_vendor_name(0x1af4), "Red Hat, Inc.");
	assert_string_equal(lsv_vendor_name(0x1b36), "Red Hat, Inc.");
	assert_string_equal(lsv_vendor_name(0x10de), "NVIDIA Corporation");
	assert_string_equal(lsv_vendor_name(0x1022), "Advanced Micro Devices, Inc. [AMD]");
	assert_string_equal(lsv_vendor_name(0x15b3), "Mellanox Technologies");
	assert_string_equal(lsv_vendor_name(0x144d), "Samsung Electronics Co Ltd");
	/* QEMU's edu and bochs squat on 1234: no name for it. */
	assert_null(lsv_vendor_name(0x1234));
	assert_null(lsv_vendor_name(0xffff));
}

static void sizes_and_names(void **state)
{
	(void)state;
	char b[32];
	assert_string_equal(lsv_size_str(0, b, sizeof(b)), "0");
	assert_string_equal(lsv_size_str(256, b, sizeof(b)), "256");
	assert_string_equal(lsv_size_str(1000, b, sizeof(b)), "1000");
	assert_string_equal(lsv_size_str(4096, b, sizeof(b)), "4K");
	assert_string_equal(lsv_size_str(0x1800, b, sizeof(b)), "6K");
	assert_string_equal(lsv_size_str(1 << 20, b, sizeof(b)), "1M");
	assert_string_equal(lsv_size_str(128u << 20, b, sizeof(b)), "128M");
	assert_string_equal(lsv_size_str(16ull << 30, b, sizeof(b)), "16G");
	assert_string_equal(lsv_size_str(1ull << 40, b, sizeof(b)), "1T");
	assert_string_equal(lsv_region_name(0, true, b, sizeof(b)), "BAR0");
	assert_string_equal(lsv_region_name(7, true, b, sizeof(b)), "CONFIG");
	assert_string_equal(lsv_region_name(8, true, b, sizeof(b)), "VGA");
	assert_string_equal(lsv_region_name(12, true, b, sizeof(b)), "dev-12");
	assert_string_equal(lsv_region_name(0, false, b, sizeof(b)), "dev-0");
	assert_string_equal(lsv_irq_name(2, true, b, sizeof(b)), "MSI-X");
	assert_string_equal(lsv_irq_name(5, true, b, sizeof(b)), "irq-5");
	assert_string_equal(lsv_irq_name(0, false, b, sizeof(b)), "irq-0");
	assert_string_equal(lsv_region_type_name(LSV_REGION_TYPE_PCI_VENDOR | 0x8086,
						 VFIO_REGION_SUBTYPE_INTEL_IGD_OPREGION),
			    "Intel IGD OpRegion");
	assert_string_equal(lsv_region_type_name(VFIO_REGION_TYPE_GFX,
						 VFIO_REGION_SUBTYPE_GFX_EDID),
			    "graphics EDID");
	assert_null(lsv_region_type_name(0x1234, 5));
	assert_string_equal(lsv_cap_name(PCI_CAP_ID_EXP), "PCI Express");
	assert_null(lsv_cap_name(0x40));
	assert_string_equal(lsv_ecap_name(PCI_EXT_CAP_ID_SRIOV),
			    "Single Root I/O Virtualization (SR-IOV)");
	assert_null(lsv_ecap_name(0x1000));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pcie_endpoint_golden),
		cmocka_unit_test(pcie_endpoint_json),
		cmocka_unit_test(legacy_golden),
		cmocka_unit_test(std_chain_loop),
		cmocka_unit_test(std_chain_bad_pointers),
		cmocka_unit_test(std_chain_short_config),
		cmocka_unit_test(std_chain_longest),
		cmocka_unit_test(ext_chain_malformed),
		cmocka_unit_test(ext_chain_longest),
		cmocka_unit_test(ext_chain_short_config),
		cmocka_unit_test(no_config),
		cmocka_unit_test(class_names),
		cmocka_unit_test(vendor_names),
		cmocka_unit_test(sizes_and_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
