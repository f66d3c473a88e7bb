/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lsvfio against a scripted vfio-user server: what it reads over the
 * wire (4 KiB config space with extended capabilities, region-info
 * capabilities, failed region info), and how it copes with a server that
 * refuses part of config space, stops answering half-way, or reports
 * more regions than anyone should; and VPD read through its capability
 * from a device that never completes a read, stops midway, refuses the
 * write or serves a malformed image.
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
#include <json-c/json.h>
#include <linux/vfio.h>

#include "fake_vfio_user.h"
#include "lsvfio_util.h"

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

static void ecap(uint8_t *c, unsigned off, uint16_t id, unsigned ver, unsigned next)
{
	put32(c, off, (uint32_t)id | (uint32_t)ver << 16 | (uint32_t)next << 20);
}

/* A PCIe Ethernet function with SR-IOV, as a kernel vfio-pci would show it. */
static struct fake_device *nic(void)
{
	struct fake_device *d = calloc(1, sizeof(*d));
	assert_non_null(d);
	uint8_t *c = d->config;

	d->flags = VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET;
	d->num_regions = VFIO_PCI_NUM_REGIONS + 1;
	d->num_irqs = VFIO_PCI_NUM_IRQS;
	d->regions[0] = (struct fake_region){ .size = 128 << 10,
		.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE,
		.msix_mappable = true };
	/* EINVAL is vfio-pci's "no such region"; other errors are failures. */
	d->regions[3] = (struct fake_region){ .error = EINVAL };
	d->regions[5] = (struct fake_region){ .error = EIO };
	d->regions[VFIO_PCI_CONFIG_REGION_INDEX] = (struct fake_region){
		.size = FAKE_CONFIG_SIZE,
		.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE };
	d->regions[9] = (struct fake_region){ .size = 8 << 10,
		.flags = VFIO_REGION_INFO_FLAG_READ, .has_type = true,
		.type = (1u << 31) | 0x8086, .subtype = 1 };
	d->irqs[0] = (struct fake_irq){ VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_MASKABLE |
					VFIO_IRQ_INFO_AUTOMASKED, 1 };
	d->irqs[2] = (struct fake_irq){ VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE, 16 };

	put16(c, PCI_VENDOR_ID, 0x15b3);
	put16(c, PCI_DEVICE_ID, 0x1017);
	put32(c, PCI_CLASS_REVISION, 0x02000000);
	put16(c, PCI_STATUS, PCI_STATUS_CAP_LIST);
	put32(c, PCI_BASE_ADDRESS_0, PCI_BASE_ADDRESS_MEM_TYPE_64 |
	      PCI_BASE_ADDRESS_MEM_PREFETCH);
	c[PCI_CAPABILITY_LIST] = 0x60;
	c[0x60 + PCI_CAP_LIST_ID] = PCI_CAP_ID_EXP;
	c[0x60 + PCI_CAP_LIST_NEXT] = 0x9c;
	put16(c, 0x60 + PCI_EXP_FLAGS, 2 | PCI_EXP_TYPE_ENDPOINT << 4);
	put32(c, 0x60 + PCI_EXP_DEVCAP, PCI_EXP_DEVCAP_FLR | 1);
	c[0x9c + PCI_CAP_LIST_ID] = PCI_CAP_ID_MSIX;
	put16(c, 0x9c + PCI_MSIX_FLAGS, 15);
	put32(c, 0x9c + PCI_MSIX_TABLE, 0x2000);
	put32(c, 0x9c + PCI_MSIX_PBA, 0x3000);
	ecap(c, 0x100, PCI_EXT_CAP_ID_ERR, 1, 0x150);
	ecap(c, 0x150, PCI_EXT_CAP_ID_DSN, 1, 0x180);
	put32(c, 0x154, 0xcafef00d);
	put32(c, 0x158, 0x0123abcd);
	ecap(c, 0x180, PCI_EXT_CAP_ID_SRIOV, 1, 0);
	put16(c, 0x180 + PCI_SRIOV_TOTAL_VF, 8);
	put16(c, 0x180 + PCI_SRIOV_INITIAL_VF, 8);
	put16(c, 0x180 + PCI_SRIOV_VF_OFFSET, 2);
	put16(c, 0x180 + PCI_SRIOV_VF_STRIDE, 1);
	put16(c, 0x180 + PCI_SRIOV_VF_DID, 0x1018);
	return d;
}

static char *line_of(const char *text, const char *prefix)
{
	for (const char *l = text; l && *l;) {
		const char *s = l + strspn(l, "\t");
		size_t n = strcspn(l, "\n");
		if (!strncmp(s, prefix, strlen(prefix)))
			return strndup(s, n - (size_t)(s - l));
		l = l[n] ? l + n + 1 : NULL;
	}
	fprintf(stderr, "no line starting with '%s' in:\n%s", prefix, text);
	fail();
	return NULL;
}

static void assert_line(const char *text, const char *prefix, const char *whole)
{
	char *l = line_of(text, prefix);
	assert_string_equal(l, whole);
	free(l);
}

static void run(struct lsv_result *r, const char *opt, const char *path)
{
	const char *args[] = { opt ? opt : path, opt ? path : NULL, NULL };
	assert_int_equal(lsv_run(r, NULL, args), 0);
}

static void extended_config_over_the_wire(void **state)
{
	(void)state;
	struct fake_device *d = nic();
	struct fake_server s;
	assert_int_equal(fake_server_start(&s, d), 0);
	struct lsv_result r;
	run(&r, "-v", s.path);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.err, "");
	assert_line(r.out, "Region 0 ", "Region 0 BAR0: Memory (64-bit, prefetchable) "
		    "[size=128K] [0x20000] flags: read write caps");
	assert_line(r.out, "MSIX_MAPPABLE", "MSIX_MAPPABLE: the MSI-X table may be mmap-ed");
	assert_line(r.out, "Region 3 ", "Region 3 BAR3: not present");
	assert_line(r.out, "Region 4 ", "Region 4 BAR4: not present");
	assert_line(r.out, "Region 5 ", "Region 5 BAR5: <info unavailable: "
		    "Input/output error>");
	assert_line(r.out, "Region 7 ", "Region 7 CONFIG: Config space [size=4K] [0x1000] "
		    "flags: read write");
	assert_line(r.out, "Type:", "Type: 0x80008086 subtype 0x00000001 (Intel IGD OpRegion)");
	assert_line(r.out, "Capabilities: [60]", "Capabilities: [60] Express (v2) "
		    "Endpoint, MSI 00");
	assert_line(r.out, "Capabilities: [9c]", "Capabilities: [9c] MSI-X: Enable- "
		    "Count=16 Masked-");
	assert_line(r.out, "Capabilities: [100", "Capabilities: [100 v1] Advanced Error "
		    "Reporting");
	assert_line(r.out, "Capabilities: [150", "Capabilities: [150 v1] Device Serial "
		    "Number 01-23-ab-cd-ca-fe-f0-0d");
	assert_line(r.out, "VF offset", "VF offset: 2, stride: 1, Device ID: 1018");
	/* The whole 4 KiB dumped. */
	assert_line(r.out, "100:", "100: 01 00 01 15 00 00 00 00 00 00 00 00 00 00 00 00");
	assert_line(r.out, "ff0:", "ff0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00");
	lsv_result_free(&r);

	run(&r, "--json", s.path);
	assert_int_equal(r.status, 0);
	json_object *doc = json_tokener_parse(r.out);
	assert_non_null(doc);
	json_object *dev = json_object_array_get_idx(json_object_object_get(doc, "devices"), 0);
	assert_string_equal(json_object_get_string(json_object_object_get(dev, "class_name")),
			    "Ethernet controller");
	assert_string_equal(json_object_get_string(json_object_object_get(dev, "vendor_name")),
			    "Mellanox Technologies");
	json_object *ecaps = json_object_object_get(dev, "extended_capabilities");
	assert_int_equal(json_object_array_length(ecaps), 3);
	json_object *sriov = json_object_array_get_idx(ecaps, 2);
	assert_int_equal(json_object_get_int(json_object_object_get(sriov, "total_vfs")), 8);
	assert_int_equal(json_object_get_int(json_object_object_get(sriov, "vf_device_id")),
			 0x1018);
	json_object *regions = json_object_object_get(dev, "regions");
	assert_int_equal(json_object_array_length(regions), VFIO_PCI_NUM_REGIONS + 1);
	json_object *bar3 = json_object_array_get_idx(regions, 3);
	assert_int_equal(json_object_get_int(json_object_object_get(bar3, "index")), 3);
	assert_false(json_object_get_boolean(json_object_object_get(bar3, "present")));
	assert_false(json_object_object_get_ex(bar3, "error", NULL));
	assert_false(json_object_object_get_ex(bar3, "size", NULL));
	json_object *bar5 = json_object_array_get_idx(regions, 5);
	assert_true(json_object_get_boolean(json_object_object_get(bar5, "present")));
	assert_string_equal(json_object_get_string(json_object_object_get(bar5, "error")),
			    "Input/output error");
	assert_false(json_object_object_get_ex(bar5, "size", NULL));
	json_object_put(doc);
	lsv_result_free(&r);
	fake_server_stop(&s);
	free(d);
}

/* A server that refuses the extended part: the first 256 bytes still decode. */
static void extended_config_refused(void **state)
{
	(void)state;
	struct fake_device *d = nic();
	d->refuse_extended_config = true;
	struct fake_server s;
	assert_int_equal(fake_server_start(&s, d), 0);
	struct lsv_result r;
	run(&r, "-v", s.path);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.err, "");
	assert_line(r.out, "Capabilities: [9c]", "Capabilities: [9c] MSI-X: Enable- "
		    "Count=16 Masked-");
	assert_null(strstr(r.out, "Capabilities: [100"));
	assert_null(strstr(r.out, "\n100: "));
	assert_line(r.out, "f0:", "f0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00");
	lsv_result_free(&r);
	fake_server_stop(&s);
	free(d);
}

/*
 * A server that answers VERSION and DEVICE_GET_INFO, then goes quiet:
 * one timeout, not one per region.
 */
static void server_stops_answering(void **state)
{
	(void)state;
	struct fake_device *d = nic();
	d->answer_only = 2;
	struct fake_server s;
	assert_int_equal(fake_server_start(&s, d), 0);
	struct lsv_result r;
	run(&r, NULL, s.path);
	assert_int_equal(r.status, 1);
	assert_string_equal(r.out, "");
	char *want;
	assert_true(asprintf(&want, "lsvfio: %s: reading the device: Connection timed out\n",
			     s.path) > 0);
	assert_string_equal(r.err, want);
	free(want);
	assert_true(r.secs < 8);
	lsv_result_free(&r);
	fake_server_stop(&s);
	free(d);
}

static void not_pci(void **state)
{
	(void)state;
	struct fake_device *d = calloc(1, sizeof(*d));
	assert_non_null(d);
	d->flags = VFIO_DEVICE_FLAGS_PLATFORM;
	d->num_regions = 1;
	d->regions[0] = (struct fake_region){ .size = 4096,
		.flags = VFIO_REGION_INFO_FLAG_READ };
	struct fake_server s;
	assert_int_equal(fake_server_start(&s, d), 0);
	struct lsv_result r;
	run(&r, NULL, s.path);
	assert_int_equal(r.status, 0);
	char *want;
	assert_true(asprintf(&want, "%s: VFIO device (no PCI config space)\n"
			     "\tVFIO: flags PLATFORM, 1 region, 0 IRQ indexes\n"
			     "\tRegion 0 dev-0: Device region [size=4K] [0x1000] flags: read\n",
			     s.path) > 0);
	assert_string_equal(r.out, want);
	free(want);
	lsv_result_free(&r);
	fake_server_stop(&s);
	free(d);
}

/* Thousands of regions claimed: the first 100 are asked for, and it says so. */
static void too_many_regions(void **state)
{
	(void)state;
	struct fake_device *d = nic();
	d->num_regions = 5000;
	d->num_irqs = 1000;
	struct fake_server s;
	assert_int_equal(fake_server_start(&s, d), 0);
	struct lsv_result r;
	run(&r, NULL, s.path);
	assert_int_equal(r.status, 0);
	assert_line(r.out, "VFIO:", "VFIO: flags PCI RESET, 5000 regions, 1000 IRQ indexes");
	assert_line(r.out, "Note: only the first 100", "Note: only the first 100 regions "
		    "are shown");
	assert_line(r.out, "Note: only the first 50", "Note: only the first 50 IRQ indexes "
		    "are shown");
	assert_line(r.out, "IRQ 49 ", "IRQ 49 irq-49: count 0, flags: none");
	lsv_result_free(&r);
	fake_server_stop(&s);
	free(d);
}

/* A loop in the chain a server sends: noted, and lsvfio finishes. */
static void looped_chain(void **state)
{
	(void)state;
	struct fake_device *d = nic();
	ecap(d->config, 0x180, PCI_EXT_CAP_ID_SRIOV, 1, 0x100);
	d->config[0x9c + PCI_CAP_LIST_NEXT] = 0x60;
	struct fake_server s;
	assert_int_equal(fake_server_start(&s, d), 0);
	struct lsv_result r;
	run(&r, NULL, s.path);
	assert_int_equal(r.status, 0);
	assert_line(r.out, "Note: capability", "Note: capability chain loops back to [60] "
		    "from [9d], walk stopped");
	assert_line(r.out, "Note: extended", "Note: extended capability chain loops back "
		    "to [100] from [180], walk stopped");
	lsv_result_free(&r);
	fake_server_stop(&s);
	free(d);
}

/* ---- VPD ------------------------------------------------------------ */

#define VPD_CAP 0xd0

/* nic() with a VPD capability after MSI-X, serving @img[@len]. */
static struct fake_device *nic_vpd(const uint8_t *img, unsigned len)
{
	struct fake_device *d = nic();
	d->config[0x9c + PCI_CAP_LIST_NEXT] = VPD_CAP;
	d->config[VPD_CAP + PCI_CAP_LIST_ID] = PCI_CAP_ID_VPD;
	d->vpd_cap = VPD_CAP;
	assert_true(len <= sizeof(d->vpd));
	memcpy(d->vpd, img, len);
	d->vpd_len = len;
	return d;
}

/* Run lsvfio (text, then JSON) on @d: the VPD line, the JSON "vpd". */
static void vpd_case(struct fake_device *d, const char *line, const char *json_error,
		     double max_secs)
{
	struct fake_server s;
	assert_int_equal(fake_server_start(&s, d), 0);
	struct lsv_result r;
	run(&r, NULL, s.path);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.err, "");
	assert_true(r.secs < max_secs);
	assert_line(r.out, "Capabilities: [d0]", "Capabilities: [d0] Vital Product Data");
	assert_line(r.out, "VPD:", line);
	/* The rest of the device is decoded all the same. */
	assert_line(r.out, "Capabilities: [180", "Capabilities: [180 v1] Single Root "
		    "I/O Virtualization (SR-IOV)");
	lsv_result_free(&r);

	run(&r, "--json", s.path);
	assert_int_equal(r.status, 0);
	json_object *doc = json_tokener_parse(r.out);
	assert_non_null(doc);
	json_object *dev = json_object_array_get_idx(json_object_object_get(doc, "devices"), 0);
	json_object *caps = json_object_object_get(dev, "capabilities");
	json_object *vpd = json_object_object_get(json_object_array_get_idx(caps, 2), "vpd");
	assert_non_null(vpd);
	assert_string_equal(json_object_get_string(json_object_object_get(vpd, "error")),
			    json_error);
	assert_false(json_object_get_boolean(json_object_object_get(vpd, "end")));
	json_object_put(doc);
	lsv_result_free(&r);
	fake_server_stop(&s);
	free(d);
}

/* F never rises: given up on after a bounded wait, once. */
static void vpd_never_completes(void **state)
{
	(void)state;
	static const uint8_t img[] = { 0x82, 1, 0, 'x', 0x78, 0, 0, 0 };
	struct fake_device *d = nic_vpd(img, sizeof(img));
	d->vpd_stuck = true;
	vpd_case(d, "VPD: not readable at offset 0x0: the device did not complete "
		 "the read (F stayed 0)", "not readable at offset 0x0: the device "
		 "did not complete the read (F stayed 0)", 3);
}

/* The image says more than the device has: read up to where it stops. */
static void vpd_stops_midway(void **state)
{
	(void)state;
	static const uint8_t img[16] = { 0x82, 3, 0, 'n', 'i', 'c', 0x90, 100, 0,
					 'P', 'N', 2, 'x', 'y' };
	struct fake_device *d = nic_vpd(img, sizeof(img));
	struct fake_server s;
	assert_int_equal(fake_server_start(&s, d), 0);
	struct lsv_result r;
	run(&r, NULL, s.path);
	assert_int_equal(r.status, 0);
	assert_line(r.out, "Product Name:", "Product Name: nic");
	assert_line(r.out, "VPD:", "VPD: not readable at offset 0x10: the device did "
		    "not complete the read (F stayed 0)");
	lsv_result_free(&r);
	fake_server_stop(&s);
	free(d);
}

/* A backend that refuses config writes (the kernel's, for a read-only open). */
static void vpd_write_refused(void **state)
{
	(void)state;
	static const uint8_t img[] = { 0x78, 0, 0, 0 };
	struct fake_device *d = nic_vpd(img, sizeof(img));
	d->vpd_cap = 0;
	vpd_case(d, "VPD: not readable at offset 0x0: Operation not supported",
		 "not readable at offset 0x0: Operation not supported", 3);
}

/* A tag no VPD has: malformed, said so, and nothing past it is asked for. */
static void vpd_malformed(void **state)
{
	(void)state;
	static const uint8_t img[] = { 0x82, 3, 0, 'a', 'b', 'c', 0x12, 0x34,
				       0x78, 0, 0, 0 };
	vpd_case(nic_vpd(img, sizeof(img)),
		 "VPD: malformed at offset 0x6: unknown resource tag 0x12",
		 "malformed at offset 0x6: unknown resource tag 0x12", 3);

	/* The next run's hex dump shows the VPD registers as the last read
	 * left them: address 4 (the dword with the bad tag), F set. */
	struct fake_device *d = nic_vpd(img, sizeof(img));
	struct fake_server s;
	assert_int_equal(fake_server_start(&s, d), 0);
	struct lsv_result r;
	run(&r, NULL, s.path);
	assert_int_equal(r.status, 0);
	lsv_result_free(&r);
	run(&r, "-v", s.path);
	assert_int_equal(r.status, 0);
	assert_line(r.out, "d0:", "d0: 03 00 04 80 62 63 12 34 00 00 00 00 00 00 00 00");
	lsv_result_free(&r);
	fake_server_stop(&s);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(extended_config_over_the_wire),
		cmocka_unit_test(extended_config_refused),
		cmocka_unit_test(server_stops_answering),
		cmocka_unit_test(not_pci),
		cmocka_unit_test(too_many_regions),
		cmocka_unit_test(looped_chain),
		cmocka_unit_test(vpd_never_completes),
		cmocka_unit_test(vpd_stops_midway),
		cmocka_unit_test(vpd_write_refused),
		cmocka_unit_test(vpd_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
