/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lsvfio against real `uvfio-serve edu`, `testdev` and `capdev`
 * processes: the full decode (golden), JSON (golden), the hex dump, what
 * it says about testdev's BARs, regions and MSI, and capdev's VPD read
 * through its capability.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>
#include <linux/pci_regs.h>

#include <uvfio/client.h>
#include "lsvfio_util.h"
#include "testutil.h"

#define PLACEHOLDER "@PATH@"

static struct served g_edu, g_testdev, g_capdev;

static int group_setup(void **state)
{
	(void)state;
	if (served_start(&g_edu, "edu", NULL) < 0 ||
	    served_start(&g_testdev, "testdev", NULL) < 0)
		return -1;
	return served_start(&g_capdev, "capdev", NULL);
}

static int group_teardown(void **state)
{
	(void)state;
	int a = served_stop(&g_edu);
	int b = served_stop(&g_testdev);
	int c = served_stop(&g_capdev);
	return a == 0 && b == 0 && c == 0 ? 0 : -1;
}

/* Run lsvfio ARGS... expecting success and no complaint; stdout normalised. */
static char *run_ok(const char *path, const char *const *args)
{
	struct lsv_result r;
	assert_int_equal(lsv_run(&r, NULL, args), 0);
	if (r.status != 0 || r.err[0])
		fprintf(stderr, "stderr: %s\n", r.err);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.err, "");
	char *out = str_replace_all(r.out, path, PLACEHOLDER);
	lsv_result_free(&r);
	return out;
}

/* The line of @text that starts with @prefix (after tabs), or NULL. */
static char *line_starting(const char *text, const char *prefix)
{
	for (const char *l = text; l && *l;) {
		const char *s = l + strspn(l, "\t");
		size_t n = strcspn(l, "\n");
		if (!strncmp(s, prefix, strlen(prefix)))
			return strndup(s, n - (size_t)(s - l));
		l = l[n] ? l + n + 1 : NULL;
	}
	return NULL;
}

static void assert_line(const char *text, const char *prefix, const char *whole)
{
	char *l = line_starting(text, prefix);
	if (!l)
		fprintf(stderr, "no line starting with '%s' in:\n%s", prefix, text);
	assert_non_null(l);
	assert_string_equal(l, whole);
	free(l);
}

/* ---- edu ------------------------------------------------------------- */

static void edu_text_golden(void **state)
{
	(void)state;
	const char *args[] = { g_edu.path, NULL };
	char *out = run_ok(g_edu.path, args);
	assert_golden_text("edu.txt", out);
	free(out);
}

static void edu_json_golden(void **state)
{
	(void)state;
	const char *args[] = { "--json", g_edu.path, NULL };
	char *out = run_ok(g_edu.path, args);
	assert_golden_json("edu.json", out);

	/* The keys a script would use, checked one by one too. */
	json_object *doc = json_tokener_parse(out), *v;
	assert_non_null(doc);
	json_object *devs = json_object_object_get(doc, "devices");
	assert_int_equal(json_object_array_length(devs), 1);
	json_object *d = json_object_array_get_idx(devs, 0);
	assert_string_equal(json_object_get_string(json_object_object_get(d, "path")),
			    PLACEHOLDER);
	assert_int_equal(json_object_get_int(json_object_object_get(d, "vendor_id")), 0x1234);
	assert_int_equal(json_object_get_int(json_object_object_get(d, "device_id")), 0x11e8);
	assert_int_equal(json_object_get_int(json_object_object_get(d, "subsystem_vendor_id")),
			 0x1af4);
	assert_int_equal(json_object_get_int(json_object_object_get(d, "subsystem_id")), 0x1100);
	assert_int_equal(json_object_get_int(json_object_object_get(d, "revision")), 0x10);
	assert_int_equal(json_object_get_int(json_object_object_get(d, "class")), 0x00ff00);
	assert_string_equal(json_object_get_string(json_object_object_get(d, "class_name")),
			    "Unclassified device");
	assert_int_equal(json_object_get_int(json_object_object_get(d, "irq_pin")), 1);
	assert_true(json_object_is_type(json_object_object_get(d, "vendor_id"), json_type_int));
	json_object *regions = json_object_object_get(d, "regions");
	json_object *bar0 = json_object_array_get_idx(regions, 0);
	assert_string_equal(json_object_get_string(json_object_object_get(bar0, "name")), "BAR0");
	assert_int_equal(json_object_get_int64(json_object_object_get(bar0, "size")), 1 << 20);
	assert_string_equal(json_object_get_string(json_object_object_get(bar0, "bar_type")),
			    "mem32");
	json_object *caps = json_object_object_get(d, "capabilities");
	assert_int_equal(json_object_array_length(caps), 1);
	json_object *msi = json_object_array_get_idx(caps, 0);
	assert_int_equal(json_object_get_int(json_object_object_get(msi, "offset")), 0x40);
	assert_int_equal(json_object_get_int(json_object_object_get(msi, "id")), 5);
	assert_string_equal(json_object_get_string(json_object_object_get(msi, "name")), "MSI");
	assert_true(json_object_get_boolean(json_object_object_get(msi, "64bit")));
	assert_false(json_object_get_boolean(json_object_object_get(msi, "maskable")));
	assert_int_equal(json_object_get_int(json_object_object_get(msi, "count")), 1);
	assert_int_equal(json_object_array_length(json_object_object_get(d,
				"extended_capabilities")), 0);
	/* "config" only with -v. */
	assert_false(json_object_object_get_ex(d, "config", &v));
	json_object_put(doc);
	free(out);
}

static void edu_hexdump(void **state)
{
	(void)state;
	const char *args[] = { "-v", g_edu.path, NULL };
	char *out = run_ok(g_edu.path, args);
	/* Power-on config space: COMMAND is 0 for our edu. */
	assert_line(out, "00:", "00: 34 12 e8 11 00 00 10 00 10 00 ff 00 00 00 00 00");
	assert_line(out, "f0:", "f0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00");
	/* The decode comes first, as lspci -vv -xxx prints it. */
	assert_true(strstr(out, "Capabilities: [40] MSI") < strstr(out, "\n00: "));
	/* 256 bytes: 16 lines, the last one f0. */
	assert_null(strstr(out, "\n100: "));
	free(out);
}

static void edu_json_config_with_v(void **state)
{
	(void)state;
	const char *args[] = { "-v", "--json", g_edu.path, NULL };
	char *out = run_ok(g_edu.path, args);
	json_object *doc = json_tokener_parse(out);
	assert_non_null(doc);
	json_object *d = json_object_array_get_idx(json_object_object_get(doc, "devices"), 0);
	const char *hex = json_object_get_string(json_object_object_get(d, "config"));
	assert_non_null(hex);
	assert_int_equal(strlen(hex), 512);
	assert_memory_equal(hex, "3412e811000010001000ff0000000000", 32);
	json_object_put(doc);
	free(out);
}

/* lsvfio only reads: the device looks the same afterwards, to it and to us. */
static void edu_is_left_untouched(void **state)
{
	(void)state;
	const char *args[] = { "-v", g_edu.path, NULL };
	char *first = run_ok(g_edu.path, args);
	char *second = run_ok(g_edu.path, args);
	assert_string_equal(first, second);
	free(first);
	free(second);

	struct uvfio_device *d;
	assert_int_equal(uvfio_device_open(g_edu.path, NULL, &d), 0);
	uint16_t cmd = 0xffff;
	assert_int_equal(uvfio_region_read16(d, VFIO_PCI_CONFIG_REGION_INDEX, 4, &cmd), 0);
	assert_int_equal(cmd, 0);
	uvfio_device_close(d);
	assert_true(served_alive(&g_edu));
}

/* ---- testdev --------------------------------------------------------- */

static void testdev_text(void **state)
{
	(void)state;
	const char *args[] = { g_testdev.path, NULL };
	char *out = run_ok(g_testdev.path, args);

	assert_line(out, PLACEHOLDER ":",
		    PLACEHOLDER ": Unassigned class [ff00]: Device [1234:5678] (rev 01)");
	assert_line(out, "Region 0 ", "Region 0 BAR0: Memory (32-bit, non-prefetchable) "
		    "[size=4K] [0x1000] flags: read write");
	assert_line(out, "Region 2 ", "Region 2 BAR2: Memory (64-bit, prefetchable) "
		    "[size=128M] [0x8000000] flags: read write mmap");
	/* Every region is shown, those the device lacks as such: BAR1,
	 * BAR3 (BAR2's upper half), VGA. */
	assert_line(out, "Region 1 ", "Region 1 BAR1: not present");
	assert_line(out, "Region 3 ", "Region 3 BAR3: not present");
	assert_line(out, "Region 8 ", "Region 8 VGA: not present");
	assert_line(out, "Region 4 ", "Region 4 BAR4: Memory (32-bit, non-prefetchable) "
		    "[size=64K] [0x10000] flags: read write mmap caps");
	assert_line(out, "Mmap areas", "Mmap areas (sparse): [0x1000+0x1000] [0x8000+0x8000]");
	assert_line(out, "Region 5 ", "Region 5 BAR5: I/O ports [size=256] [0x100] "
		    "flags: read write");
	assert_line(out, "Region 6 ", "Region 6 ROM: Expansion ROM [disabled] [size=4K] "
		    "[0x1000] flags: read");
	assert_line(out, "Region 9 ", "Region 9 dev-9: Device specific [size=4K] [0x1000] "
		    "flags: read write caps");
	assert_line(out, "Type:", "Type: 0x00001234 subtype 0x00000005");
	assert_line(out, "Capabilities: [40]",
		    "Capabilities: [40] MSI: Enable- Count=1/4 Maskable+ 64bit+");
	assert_line(out, "Masking:", "Masking: 00000000  Pending: 00000000");
	assert_line(out, "IRQ 1 ", "IRQ 1 MSI: count 4, flags: EVENTFD MASKABLE NORESIZE");
	assert_line(out, "IRQ 2 ", "IRQ 2 MSI-X: count 8, flags: EVENTFD MASKABLE NORESIZE");
	assert_line(out, "IRQ 3 ", "IRQ 3 ERR: count 1, flags: EVENTFD NORESIZE");
	assert_line(out, "VFIO:", "VFIO: flags PCI RESET, 10 regions, 5 IRQ indexes");
	/* Its doorbells, in the order declared, and its features, probed. */
	assert_line(out, "Doorbell: Region 0 BAR0 [0xc]",
		    "Doorbell: Region 0 BAR0 [0xc] size 4, writes 0x1");
	assert_line(out, "Doorbell: Region 0 BAR0 [0x24]",
		    "Doorbell: Region 0 BAR0 [0x24] size 4, writes 0x10000");
	assert_null(line_starting(out, "Doorbell: Region 2"));
	assert_line(out, "Features:", "Features: LOW_POWER_ENTRY(set) "
		    "LOW_POWER_ENTRY_WITH_WAKEUP(set) LOW_POWER_EXIT(set)");
	assert_null(line_starting(out, "SR-IOV:"));
	free(out);
}

static json_object *region_by_index(json_object *dev, int index)
{
	json_object *regions = json_object_object_get(dev, "regions");
	for (size_t i = 0; i < json_object_array_length(regions); i++) {
		json_object *r = json_object_array_get_idx(regions, i);
		if (json_object_get_int(json_object_object_get(r, "index")) == index)
			return r;
	}
	return NULL;
}

static void testdev_json(void **state)
{
	(void)state;
	const char *args[] = { "-j", g_testdev.path, NULL };
	char *out = run_ok(g_testdev.path, args);
	json_object *doc = json_tokener_parse(out);
	assert_non_null(doc);
	json_object *d = json_object_array_get_idx(json_object_object_get(doc, "devices"), 0);

	json_object *bar2 = region_by_index(d, 2);
	assert_non_null(bar2);
	assert_string_equal(json_object_get_string(json_object_object_get(bar2, "bar_type")),
			    "mem64");
	assert_true(json_object_get_boolean(json_object_object_get(bar2, "prefetchable")));
	assert_true(json_object_get_boolean(json_object_object_get(bar2, "present")));
	/* Absent: index, name and "present": false, nothing else. */
	json_object *bar3 = region_by_index(d, 3);
	assert_non_null(bar3);
	assert_string_equal(json_object_get_string(json_object_object_get(bar3, "name")),
			    "BAR3");
	assert_true(json_object_is_type(json_object_object_get(bar3, "present"),
					json_type_boolean));
	assert_false(json_object_get_boolean(json_object_object_get(bar3, "present")));
	assert_int_equal(json_object_object_length(bar3), 3);
	assert_int_equal(json_object_array_length(json_object_object_get(d, "regions")), 10);

	json_object *bar4 = region_by_index(d, 4);
	assert_true(json_object_get_boolean(json_object_object_get(bar4, "sparse")));
	json_object *areas = json_object_object_get(bar4, "mmap_areas");
	assert_int_equal(json_object_array_length(areas), 2);
	json_object *a1 = json_object_array_get_idx(areas, 1);
	assert_int_equal(json_object_get_int64(json_object_object_get(a1, "offset")), 0x8000);
	assert_int_equal(json_object_get_int64(json_object_object_get(a1, "size")), 0x8000);

	json_object *bar5 = region_by_index(d, 5);
	assert_string_equal(json_object_get_string(json_object_object_get(bar5, "bar_type")), "io");

	json_object *r9 = region_by_index(d, 9);
	assert_string_equal(json_object_get_string(json_object_object_get(r9, "name")), "dev-9");
	json_object *type = json_object_object_get(r9, "type");
	assert_int_equal(json_object_get_int(json_object_object_get(type, "type")), 0x1234);
	assert_int_equal(json_object_get_int(json_object_object_get(type, "subtype")), 5);
	assert_null(json_object_object_get(region_by_index(d, 0), "type"));

	json_object *irqs = json_object_object_get(d, "irqs");
	assert_int_equal(json_object_array_length(irqs), 5);
	json_object *msi = json_object_array_get_idx(irqs, 1);
	assert_string_equal(json_object_get_string(json_object_object_get(msi, "name")), "MSI");
	assert_int_equal(json_object_get_int(json_object_object_get(msi, "count")), 4);

	json_object *cap = json_object_array_get_idx(json_object_object_get(d, "capabilities"), 0);
	assert_true(json_object_get_boolean(json_object_object_get(cap, "maskable")));
	assert_int_equal(json_object_get_int(json_object_object_get(cap, "count")), 4);
	json_object_put(doc);
	free(out);
}

/* ---- capdev: every capability, and VPD -------------------------------- */

static void capdev_text_golden(void **state)
{
	(void)state;
	const char *args[] = { g_capdev.path, NULL };
	char *out = run_ok(g_capdev.path, args);
	assert_golden_text("capdev.txt", out);
	/* Its VPD, decoded (whatever the golden file says). */
	char *vpd = strstr(out, "Vital Product Data\n");
	assert_non_null(vpd);
	assert_non_null(strstr(vpd, "Vital Product Data\n"
		"\t\tProduct Name: capdev\n"
		"\t\tRead-only fields:\n"
		"\t\t\t[PN] Part number: CD-01\n"
		"\t\t\t[EC] Engineering changes: A1\n"
		"\t\t\t[SN] Serial number: UV00042\n"
		"\t\t\t[V0] Vendor specific: uvfio\n"
		"\t\t\t[RV] Reserved: checksum good, 0 byte(s) reserved\n"
		"\t\tRead/write fields:\n"
		"\t\t\t[YA] Asset tag: A42\n"
		"\t\t\t[RW] Read-write area: 4 byte(s) free\n"
		"\t\tEnd\n\tCapabilities: "));
	free(out);
}

static void capdev_json_golden(void **state)
{
	(void)state;
	const char *args[] = { "--json", g_capdev.path, NULL };
	char *out = run_ok(g_capdev.path, args);
	assert_golden_json("capdev.json", out);

	json_object *doc = json_tokener_parse(out);
	assert_non_null(doc);
	json_object *d = json_object_array_get_idx(json_object_object_get(doc, "devices"), 0);
	json_object *caps = json_object_object_get(d, "capabilities"), *vpd = NULL;
	for (size_t i = 0; i < json_object_array_length(caps); i++) {
		json_object *c = json_object_array_get_idx(caps, i);
		if (json_object_get_int(json_object_object_get(c, "id")) == PCI_CAP_ID_VPD)
			vpd = json_object_object_get(c, "vpd");
	}
	assert_non_null(vpd);
	assert_string_equal(json_object_get_string(json_object_object_get(vpd,
				"product_name")), "capdev");
	assert_string_equal(json_object_get_string(json_object_object_get(vpd,
				"checksum")), "good");
	assert_true(json_object_get_boolean(json_object_object_get(vpd, "end")));
	assert_null(json_object_object_get(vpd, "error"));
	json_object *ro = json_object_object_get(vpd, "read_only");
	assert_int_equal(json_object_array_length(ro), 5);
	json_object *sn = json_object_array_get_idx(ro, 2);
	assert_string_equal(json_object_get_string(json_object_object_get(sn, "keyword")),
			    "SN");
	assert_string_equal(json_object_get_string(json_object_object_get(sn, "value")),
			    "UV00042");
	json_object *rw = json_object_object_get(vpd, "read_write");
	assert_int_equal(json_object_array_length(rw), 2);
	json_object_put(doc);
	free(out);
}

/*
 * Reading VPD writes only its address register (F = 0, a read): the
 * image is the same afterwards, byte for byte, and so is the next decode.
 */
static void capdev_vpd_read_only(void **state)
{
	(void)state;
	const char *args[] = { g_capdev.path, NULL };
	char *first = run_ok(g_capdev.path, args);
	char *second = run_ok(g_capdev.path, args);
	assert_string_equal(first, second);
	free(first);
	free(second);

	struct uvfio_device *d;
	assert_int_equal(uvfio_device_open(g_capdev.path, NULL, &d), 0);
	unsigned cap = 0;
	uint8_t ptr = 0, id = 0;
	assert_int_equal(uvfio_region_read8(d, VFIO_PCI_CONFIG_REGION_INDEX,
					    PCI_CAPABILITY_LIST, &ptr), 0);
	for (int i = 0; i < 48 && ptr && !cap; i++) {
		assert_int_equal(uvfio_region_read8(d, VFIO_PCI_CONFIG_REGION_INDEX,
						    ptr, &id), 0);
		if (id == PCI_CAP_ID_VPD)
			cap = ptr;
		else
			assert_int_equal(uvfio_region_read8(d, VFIO_PCI_CONFIG_REGION_INDEX,
							    ptr + 1u, &ptr), 0);
	}
	assert_true(cap);
	/* The last address lsvfio asked for: the dword with the end tag,
	 * completed (F set); never one past it. */
	uint16_t last = 0;
	assert_int_equal(uvfio_region_read16(d, VFIO_PCI_CONFIG_REGION_INDEX,
					     cap + PCI_VPD_ADDR, &last), 0);
	assert_int_equal(last, 0x3c | PCI_VPD_ADDR_F);
	/* The start, the RW keyword with its 4 free bytes (0x3b..0x3e) and
	 * the end tag (0x3f), as built. */
	static const struct { uint16_t addr; uint32_t v; } want[] = {
		{ 0x00, 0x63000682 }, { 0x38, 0x00045752 }, { 0x3c, 0x78000000 },
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		uint16_t a = 0;
		uint32_t v = 0;
		assert_int_equal(uvfio_region_write16(d, VFIO_PCI_CONFIG_REGION_INDEX,
						      cap + PCI_VPD_ADDR, want[i].addr), 0);
		assert_int_equal(uvfio_region_read16(d, VFIO_PCI_CONFIG_REGION_INDEX,
						     cap + PCI_VPD_ADDR, &a), 0);
		assert_true(a & PCI_VPD_ADDR_F);
		assert_int_equal(uvfio_region_read32(d, VFIO_PCI_CONFIG_REGION_INDEX,
						     cap + PCI_VPD_DATA, &v), 0);
		assert_int_equal(v, want[i].v);
	}
	uvfio_device_close(d);
	assert_true(served_alive(&g_capdev));
}

/*
 * SR-IOV: a PF (`uvfio-serve sriov`) whose user set a VF token and
 * enabled two VFs lists them; a VF names its PF; opening a VF needs the
 * token (--vf-token), and a wrong or malformed one is refused clearly.
 */
static void sriov_relations(void **state)
{
	(void)state;
	static const char *const T = "5b0fd3a6-3c1e-4f0b-9d2a-7e6c1b8a4f10";
	struct served pf;
	assert_int_equal(served_start(&pf, "sriov", NULL), 0);
	struct uvfio_device *d;
	assert_int_equal(uvfio_device_open(pf.path, NULL, &d), 0);
	uint8_t tok[16];
	assert_int_equal(uvfio_uuid_parse(T, tok), 0);
	assert_int_equal(uvfio_device_feature(d, VFIO_DEVICE_FEATURE_SET |
					      VFIO_DEVICE_FEATURE_PCI_VF_TOKEN,
					      tok, sizeof(tok)), 0);
	/* The SR-IOV capability, then NumVFs = 2 and VF Enable. */
	unsigned cap = 0x100;
	for (int i = 0; i < 64 && cap; i++) {
		uint32_t h = 0;
		assert_int_equal(uvfio_region_read32(d, VFIO_PCI_CONFIG_REGION_INDEX,
						     cap, &h), 0);
		if (PCI_EXT_CAP_ID(h) == PCI_EXT_CAP_ID_SRIOV)
			break;
		cap = PCI_EXT_CAP_NEXT(h);
	}
	assert_true(cap >= 0x100);
	assert_int_equal(uvfio_region_write16(d, VFIO_PCI_CONFIG_REGION_INDEX,
					      cap + PCI_SRIOV_NUM_VF, 2), 0);
	assert_int_equal(uvfio_region_write16(d, VFIO_PCI_CONFIG_REGION_INDEX,
					      cap + PCI_SRIOV_CTRL,
					      PCI_SRIOV_CTRL_VFE), 0);
	uvfio_device_close(d);

	const char *args[] = { pf.path, NULL };
	char *out = run_ok(pf.path, args);
	assert_line(out, "SR-IOV: PF", "SR-IOV: PF of 2 VFs: " PLACEHOLDER
		    ".vf0 " PLACEHOLDER ".vf1");
	free(out);

	char vf[160];
	snprintf(vf, sizeof(vf), "%s.vf1", pf.path);
	char tokopt[64];
	snprintf(tokopt, sizeof(tokopt), "--vf-token=%s", T);
	const char *vargs[] = { tokopt, vf, NULL };
	out = run_ok(pf.path, vargs);
	assert_line(out, "SR-IOV: VF", "SR-IOV: VF 1 of PF " PLACEHOLDER);
	free(out);

	/* Without the token, with a wrong one, with a malformed one. */
	struct lsv_result r;
	const char *noargs[] = { vf, NULL };
	assert_int_equal(lsv_run(&r, NULL, noargs), 0);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "pass --vf-token=UUID"));
	lsv_result_free(&r);
	const char *badargs[] = { "--vf-token=0c9e8d7f-6a5b-4c3d-8e2f-1a0b9c8d7e6f",
				  vf, NULL };
	assert_int_equal(lsv_run(&r, NULL, badargs), 0);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "not the VF token"));
	lsv_result_free(&r);
	const char *malargs[] = { "--vf-token=xyz", vf, NULL };
	assert_int_equal(lsv_run(&r, NULL, malargs), 0);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "is not a UUID"));
	lsv_result_free(&r);
	assert_int_equal(served_stop(&pf), 0);
}

/* Several paths: each decoded, separated by an empty line, in order. */
static void two_devices(void **state)
{
	(void)state;
	const char *args[] = { g_edu.path, g_testdev.path, NULL };
	struct lsv_result r;
	assert_int_equal(lsv_run(&r, NULL, args), 0);
	assert_int_equal(r.status, 0);
	char *edu = strstr(r.out, "Device [1234:11e8]");
	char *td = strstr(r.out, "Device [1234:5678]");
	assert_non_null(edu);
	assert_non_null(td);
	assert_true(edu < td);
	assert_non_null(strstr(r.out, "\n\n"));
	lsv_result_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(edu_text_golden),
		cmocka_unit_test(edu_json_golden),
		cmocka_unit_test(edu_hexdump),
		cmocka_unit_test(edu_json_config_with_v),
		cmocka_unit_test(edu_is_left_untouched),
		cmocka_unit_test(testdev_text),
		cmocka_unit_test(testdev_json),
		cmocka_unit_test(capdev_text_golden),
		cmocka_unit_test(capdev_json_golden),
		cmocka_unit_test(capdev_vpd_read_only),
		cmocka_unit_test(two_devices),
		cmocka_unit_test(sriov_relations),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
