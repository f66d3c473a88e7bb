/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lsvfio's VPD parser and decoder fed images no device has: a good one,
 * then every way an image can be wrong (a truncated tag, a length past
 * the end or past 32 KiB, a missing end tag, a bad checksum, unknown
 * tags, bad keywords, too many tags or keywords).  Each image is parsed
 * from a heap copy of exactly its size, so that a sanitizer build sees
 * any read past it; the decode must name the offset, never print garbage.
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

#include "tools/lsvfio.h"

#define VPD_CAP 0x40

/* ---- building images ------------------------------------------------ */

struct img {
	uint8_t b[1024];
	size_t n;
	size_t tag;                /* where the open large resource starts */
	size_t rv;                 /* RV's checksum byte, 0: none */
};

static void bytes(struct img *m, const void *p, size_t n)
{
	assert_true(m->n + n <= sizeof(m->b));
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

static void byte(struct img *m, uint8_t v)
{
	bytes(m, &v, 1);
}

/* Open a large resource; its length is filled in by close_res(). */
static void open_res(struct img *m, uint8_t tag)
{
	m->tag = m->n;
	byte(m, tag);
	byte(m, 0);
	byte(m, 0);
}

static void close_res(struct img *m)
{
	size_t len = m->n - m->tag - 3;
	m->b[m->tag + 1] = (uint8_t)len;
	m->b[m->tag + 2] = (uint8_t)(len >> 8);
	if (m->rv) {
		/* Everything up to RV's byte is final now: sum it to 0. */
		uint8_t sum = 0;
		for (size_t i = 0; i < m->rv; i++)
			sum = (uint8_t)(sum + m->b[i]);
		m->b[m->rv] = (uint8_t)-sum;
		m->rv = 0;
	}
}

static void kw(struct img *m, const char *key, const void *val, uint8_t n)
{
	bytes(m, key, 2);
	byte(m, n);
	bytes(m, val, n);
}

static void name(struct img *m, const char *s)
{
	open_res(m, 0x82);
	bytes(m, s, strlen(s));
	close_res(m);
}

/* RV with its checksum byte (set when VPD-R is closed) and @reserved more. */
static void rv(struct img *m, uint8_t reserved)
{
	static const uint8_t zero[8];
	assert_true(reserved < sizeof(zero));
	bytes(m, "RV", 2);
	byte(m, (uint8_t)(1 + reserved));
	m->rv = m->n;
	byte(m, 0);
	bytes(m, zero, reserved);
}

/* What a card carries: name, VPD-R with RV, VPD-W, end. */
static void good_image(struct img *m)
{
	memset(m, 0, sizeof(*m));
	name(m, "Example NIC");
	open_res(m, 0x90);
	kw(m, "PN", "EX-100", 6);
	kw(m, "EC", "A2", 2);
	kw(m, "SN", "S\001\\", 3);       /* escaped: S\x01\x5c */
	kw(m, "V7", "vendor", 6);
	rv(m, 2);
	close_res(m);
	open_res(m, 0x91);
	kw(m, "YA", "asset", 5);
	kw(m, "CP", "\x01\x02\x10\x00", 4);
	kw(m, "ZZ", "?", 1);
	kw(m, "RW", "\0\0\0\0\0\0\0\0\0\0", 10);
	close_res(m);
	byte(m, 0x78);
}

/* ---- parsing and decoding ---------------------------------------------- */

struct parsed {
	uint8_t *copy;
	struct lsv_vpd_parsed p;
};

/* Parse a heap copy of exactly @len bytes. */
static struct parsed *parse(const uint8_t *img, size_t len)
{
	struct parsed *r = calloc(1, sizeof(*r));
	assert_non_null(r);
	r->copy = malloc(len ? len : 1);
	assert_non_null(r->copy);
	memcpy(r->copy, img, len);
	lsv_vpd_parse(r->copy, len, &r->p);
	return r;
}

static void parsed_free(struct parsed *r)
{
	free(r->copy);
	free(r);
}

static void assert_stops(const uint8_t *img, size_t len, enum lsv_vpd_status st,
			 unsigned off, size_t need, const char *why)
{
	struct parsed *r = parse(img, len);
	if (r->p.status != st || strcmp(r->p.why, why))
		fprintf(stderr, "status %d at 0x%x: %s\n", r->p.status, r->p.bad_off,
			r->p.why);
	assert_int_equal(r->p.status, st);
	assert_int_equal(r->p.bad_off, off);
	assert_string_equal(r->p.why, why);
	if (st == LSV_VPD_SHORT)
		assert_int_equal(r->p.need, need);
	parsed_free(r);
}

/*
 * The VPD capability of a device whose VPD read gave @img[@len] (and
 * then failed with @err): its text, and its JSON "vpd" in *@json.
 */
static char *decode(const uint8_t *img, size_t len, int err, json_object **json)
{
	uint8_t cfg[PCI_CFG_SPACE_SIZE] = { 0 };
	struct lsv_device d = { .config = cfg, .config_size = sizeof(cfg) };
	cfg[PCI_STATUS] = PCI_STATUS_CAP_LIST;
	cfg[PCI_CAPABILITY_LIST] = VPD_CAP;
	cfg[VPD_CAP + PCI_CAP_LIST_ID] = PCI_CAP_ID_VPD;
	d.vpd.read = true;
	d.vpd.data = malloc(len ? len : 1);
	assert_non_null(d.vpd.data);
	memcpy(d.vpd.data, img, len);
	d.vpd.len = len;
	d.vpd.err = err;

	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	assert_non_null(f);
	json_object *caps = json_object_new_array();
	lsv_walk_caps(&d, f, caps, NULL, NULL);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(json_object_array_length(caps), 1);
	json_object *vpd = NULL;
	assert_true(json_object_object_get_ex(json_object_array_get_idx(caps, 0),
					      "vpd", &vpd));
	*json = json_object_get(vpd);
	json_object_put(caps);
	free(d.vpd.data);
	return buf;
}

static const char *jstr(json_object *o, const char *key)
{
	json_object *v = NULL;
	assert_true(json_object_object_get_ex(o, key, &v));
	return v ? json_object_get_string(v) : NULL;
}

/* The decode stops with @line, and JSON says the same with "end": false. */
static void assert_decode_error(const uint8_t *img, size_t len, int err,
				const char *line)
{
	json_object *j;
	char *out = decode(img, len, err, &j);
	char *want;
	assert_true(asprintf(&want, "\t\tVPD: %s\n", line) > 0);
	if (!strstr(out, want))
		fprintf(stderr, "no '%s' in:\n%s", line, out);
	assert_non_null(strstr(out, want));
	/* The error is the last line: nothing is decoded past it. */
	assert_string_equal(out + strlen(out) - strlen(want), want);
	assert_null(strstr(out, "\t\tEnd\n"));
	assert_string_equal(jstr(j, "error"), line);
	assert_false(json_object_get_boolean(json_object_object_get(j, "end")));
	free(want);
	free(out);
	json_object_put(j);
}

/* ---- a good image ---------------------------------------------------- */

static void good(void **state)
{
	(void)state;
	struct img m;
	good_image(&m);
	struct parsed *r = parse(m.b, m.n);
	struct lsv_vpd_parsed *p = &r->p;
	assert_int_equal(p->status, LSV_VPD_END);
	assert_int_equal(p->end_off, m.n - 1);
	assert_int_equal(p->checksum, 1);
	assert_int_equal(p->n, 12);   /* name, VPD-R + 5 keywords, VPD-W + 4 */
	assert_int_equal(p->e[0].kind, LSV_VPD_NAME);
	assert_memory_equal(p->e[0].val, "Example NIC", 11);
	assert_int_equal(p->e[1].kind, LSV_VPD_RO);
	assert_int_equal(p->e[2].kind, LSV_VPD_FIELD);
	assert_string_equal(p->e[2].key, "PN");
	assert_true(p->e[2].ro);
	assert_int_equal(p->e[2].len, 6);
	assert_memory_equal(p->e[2].val, "EX-100", 6);
	assert_string_equal(p->e[6].key, "RV");
	assert_int_equal(p->e[6].checksum, 1);
	assert_int_equal(p->e[7].kind, LSV_VPD_RW);
	assert_string_equal(p->e[8].key, "YA");
	assert_false(p->e[8].ro);
	parsed_free(r);

	json_object *j;
	char *out = decode(m.b, m.n, 0, &j);
	assert_string_equal(out,
		"\tCapabilities: [40] Vital Product Data\n"
		"\t\tProduct Name: Example NIC\n"
		"\t\tRead-only fields:\n"
		"\t\t\t[PN] Part number: EX-100\n"
		"\t\t\t[EC] Engineering changes: A2\n"
		"\t\t\t[SN] Serial number: S\\x01\\x5c\n"
		"\t\t\t[V7] Vendor specific: vendor\n"
		"\t\t\t[RV] Reserved: checksum good, 2 byte(s) reserved\n"
		"\t\tRead/write fields:\n"
		"\t\t\t[YA] Asset tag: asset\n"
		"\t\t\t[CP] Extended capability: 01 02 10 00\n"
		"\t\t\t[ZZ] Unknown: ?\n"
		"\t\t\t[RW] Read-write area: 10 byte(s) free\n"
		"\t\tEnd\n");
	free(out);
	assert_string_equal(jstr(j, "product_name"), "Example NIC");
	assert_string_equal(jstr(j, "checksum"), "good");
	assert_true(json_object_get_boolean(json_object_object_get(j, "end")));
	assert_null(jstr(j, "error"));
	json_object *ro = json_object_object_get(j, "read_only");
	assert_int_equal(json_object_array_length(ro), 5);
	json_object *sn = json_object_array_get_idx(ro, 2);
	assert_string_equal(jstr(sn, "keyword"), "SN");
	assert_string_equal(jstr(sn, "name"), "Serial number");
	assert_string_equal(jstr(sn, "value"), "S\\x01\\x5c");
	assert_null(jstr(json_object_array_get_idx(ro, 4), "value"));   /* RV */
	json_object *rw = json_object_object_get(j, "read_write");
	assert_int_equal(json_object_array_length(rw), 4);
	assert_string_equal(jstr(json_object_array_get_idx(rw, 1), "value"), "01021000");
	json_object_put(j);
}

/* ---- malformed images ------------------------------------------------ */

static void bad_checksum(void **state)
{
	(void)state;
	struct img m;
	good_image(&m);
	m.b[5] ^= 0x20;                  /* "Example" -> "ExAmple" */
	struct parsed *r = parse(m.b, m.n);
	assert_int_equal(r->p.status, LSV_VPD_END);
	assert_int_equal(r->p.checksum, 0);
	parsed_free(r);
	json_object *j;
	char *out = decode(m.b, m.n, 0, &j);
	assert_non_null(strstr(out, "\t\t\t[RV] Reserved: checksum bad, 2 byte(s) "
			       "reserved\n"));
	assert_string_equal(jstr(j, "checksum"), "bad");
	free(out);
	json_object_put(j);

	/* A byte after RV is not covered by the checksum. */
	good_image(&m);
	m.b[m.n - 3] ^= 0xff;
	r = parse(m.b, m.n);
	assert_int_equal(r->p.checksum, 1);
	parsed_free(r);
}

static void truncated_tag(void **state)
{
	(void)state;
	static const uint8_t one[] = { 0x82 };
	static const uint8_t two[] = { 0x90, 0x05 };
	assert_stops(one, sizeof(one), LSV_VPD_SHORT, 0, 3,
		     "resource tag header runs past the end");
	assert_stops(two, sizeof(two), LSV_VPD_SHORT, 0, 3,
		     "resource tag header runs past the end");
	assert_decode_error(one, sizeof(one), 0, "malformed at offset 0x0: resource "
			    "tag header runs past the end");
	/* After a good name. */
	struct img m = { 0 };
	name(&m, "abc");
	byte(&m, 0x91);
	assert_stops(m.b, m.n, LSV_VPD_SHORT, 6, 9,
		     "resource tag header runs past the end");
	/* The name is still shown, then the complaint. */
	json_object *j;
	char *out = decode(m.b, m.n, 0, &j);
	assert_string_equal(out, "\tCapabilities: [40] Vital Product Data\n"
			    "\t\tProduct Name: abc\n"
			    "\t\tVPD: malformed at offset 0x6: resource tag header "
			    "runs past the end\n");
	free(out);
	json_object_put(j);
}

static void length_past_end(void **state)
{
	(void)state;
	/* The resource says 16 bytes, 2 are there. */
	static const uint8_t img[] = { 0x82, 0x10, 0x00, 'a', 'b' };
	assert_stops(img, sizeof(img), LSV_VPD_SHORT, 0, 0x13,
		     "resource 0x82 of 16 bytes runs past the end");
	assert_decode_error(img, sizeof(img), 0, "malformed at offset 0x0: resource "
			    "0x82 of 16 bytes runs past the end");

	/* A keyword longer than its resource. */
	static const uint8_t kwlong[] = { 0x90, 5, 0, 'P', 'N', 5, 'a', 'b', 0x78 };
	assert_stops(kwlong, sizeof(kwlong), LSV_VPD_BAD, 3, 0,
		     "keyword PN of 5 bytes runs past the end of its resource");
	/* A keyword header cut by the end of its resource. */
	static const uint8_t kwcut[] = { 0x90, 5, 0, 'P', 'N', 0, 'E', 'C', 0x78 };
	assert_stops(kwcut, sizeof(kwcut), LSV_VPD_BAD, 6, 0,
		     "keyword header runs past the end of its resource");

	/* Past 32 KiB (the VPD address has 15 bits): malformed, not "read more". */
	uint8_t *big = calloc(1, LSV_VPD_MAX_SIZE);
	assert_non_null(big);
	big[0] = 0x82;
	big[1] = 0xf0;                   /* 0x7ff0 bytes of name */
	big[2] = 0x7f;
	big[0x7ff3] = 0x90;              /* then 0x100 bytes of VPD-R */
	big[0x7ff4] = 0x00;
	big[0x7ff5] = 0x01;
	assert_stops(big, 0x7ff6, LSV_VPD_BAD, 0x7ff3, 0,
		     "resource 0x90 of 256 bytes runs past 32 KiB");
	/* A header that would straddle 32 KiB. */
	big[1] = 0xfb;                   /* name up to 0x7ffe */
	big[0x7ffe] = 0x91;
	assert_stops(big, LSV_VPD_MAX_SIZE - 1, LSV_VPD_BAD, 0x7ffe, 0,
		     "resource tag header runs past 32 KiB");
	/* Exactly 32 KiB of tags and no end tag. */
	big[1] = 0xfd;                   /* name up to 0x8000 */
	assert_stops(big, LSV_VPD_MAX_SIZE, LSV_VPD_BAD, LSV_VPD_MAX_SIZE, 0,
		     "no end tag in 32 KiB");
	free(big);
}

static void missing_end_tag(void **state)
{
	(void)state;
	struct img m = { 0 };
	name(&m, "card");
	open_res(&m, 0x90);
	rv(&m, 0);
	close_res(&m);
	assert_stops(m.b, m.n, LSV_VPD_SHORT, (unsigned)m.n, m.n + 1, "no end tag");
	assert_decode_error(m.b, m.n, 0, "malformed at offset 0xe: no end tag");
	/* Nothing at all. */
	assert_stops(m.b, 0, LSV_VPD_SHORT, 0, 1, "no end tag");

	/* When the read stopped there, the decode says that instead. */
	assert_decode_error(m.b, 8, LSV_VPD_ERR_NO_COMPLETION,
			    "not readable at offset 0x8: the device did not "
			    "complete the read (F stayed 0)");
	assert_decode_error(m.b, 0, -EIO, "not readable at offset 0x0: "
			    "Input/output error");
	assert_decode_error(m.b, 4, LSV_VPD_ERR_TOO_SLOW, "not readable at offset "
			    "0x4: reading it took longer than 2 s");
	/* ... but a malformation in what was read comes first. */
	static const uint8_t junk[] = { 0xff, 0xff, 0xff, 0xff };
	assert_decode_error(junk, sizeof(junk), LSV_VPD_ERR_NO_COMPLETION,
			    "malformed at offset 0x0: unknown resource tag 0xff");
}

static void unknown_tags_and_keywords(void **state)
{
	(void)state;
	/* Blank EEPROMs. */
	static const uint8_t ones[] = { 0xff, 0xff, 0xff, 0xff };
	static const uint8_t zeros[] = { 0, 0, 0, 0 };
	assert_stops(ones, sizeof(ones), LSV_VPD_BAD, 0, 0, "unknown resource tag 0xff");
	assert_stops(zeros, sizeof(zeros), LSV_VPD_BAD, 0, 0, "unknown resource tag 0x00");
	/* A small tag other than the end, after a name. */
	static const uint8_t small[] = { 0x82, 1, 0, 'x', 0x22, 0, 0, 0x78 };
	assert_stops(small, sizeof(small), LSV_VPD_BAD, 4, 0, "unknown resource tag 0x22");
	/* Keywords must be two letters or digits. */
	static const uint8_t kwbad[] = { 0x90, 4, 0, 'P', 0x01, 1, 'x', 0x78 };
	assert_stops(kwbad, sizeof(kwbad), LSV_VPD_BAD, 3, 0,
		     "keyword 0x50 0x01 is not two letters or digits");
	/* RV needs its checksum byte. */
	static const uint8_t rv0[] = { 0x90, 3, 0, 'R', 'V', 0, 0x78 };
	assert_stops(rv0, sizeof(rv0), LSV_VPD_BAD, 3, 0, "keyword RV has no checksum byte");
	assert_decode_error(rv0, sizeof(rv0), 0, "malformed at offset 0x3: keyword RV "
			    "has no checksum byte");
}

static void bounds(void **state)
{
	(void)state;
	/* 16 resource tags, then the end tag: fine; a 17th: malformed. */
	struct img m = { 0 };
	for (int i = 0; i < 16; i++)
		name(&m, "");
	byte(&m, 0x78);
	struct parsed *r = parse(m.b, m.n);
	assert_int_equal(r->p.status, LSV_VPD_END);
	parsed_free(r);
	m.n--;
	name(&m, "");
	byte(&m, 0x78);
	assert_stops(m.b, m.n, LSV_VPD_BAD, 48, 0, "more than 16 resource tags");

	/* 63 keywords and their VPD-R fill the 64 entries; one more does not. */
	memset(&m, 0, sizeof(m));
	open_res(&m, 0x90);
	for (int i = 0; i < 63; i++)
		kw(&m, "V1", "", 0);
	close_res(&m);
	byte(&m, 0x78);
	r = parse(m.b, m.n);
	assert_int_equal(r->p.status, LSV_VPD_END);
	assert_int_equal(r->p.n, LSV_VPD_MAX_ENTRIES);
	parsed_free(r);
	memset(&m, 0, sizeof(m));
	open_res(&m, 0x90);
	for (int i = 0; i < 64; i++)
		kw(&m, "V1", "", 0);
	close_res(&m);
	byte(&m, 0x78);
	assert_stops(m.b, m.n, LSV_VPD_BAD, 3 + 63 * 3, 0,
		     "more than 64 tags and keywords");
}

/* A device whose VPD was not read (a snapshot without it): name only. */
static void not_read(void **state)
{
	(void)state;
	uint8_t cfg[PCI_CFG_SPACE_SIZE] = { 0 };
	struct lsv_device d = { .config = cfg, .config_size = sizeof(cfg) };
	cfg[PCI_STATUS] = PCI_STATUS_CAP_LIST;
	cfg[PCI_CAPABILITY_LIST] = VPD_CAP;
	cfg[VPD_CAP + PCI_CAP_LIST_ID] = PCI_CAP_ID_VPD;
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	assert_non_null(f);
	json_object *caps = json_object_new_array();
	lsv_walk_caps(&d, f, caps, NULL, NULL);
	assert_int_equal(fclose(f), 0);
	assert_string_equal(buf, "\tCapabilities: [40] Vital Product Data\n");
	json_object *v = caps;           /* must become NULL */
	assert_true(json_object_object_get_ex(json_object_array_get_idx(caps, 0),
					      "vpd", &v));
	assert_null(v);
	json_object_put(caps);
	free(buf);
	assert_string_equal(lsv_vpd_keyword_name("MN"), "Manufacture ID");
	assert_string_equal(lsv_vpd_keyword_name("VZ"), "Vendor specific");
	assert_string_equal(lsv_vpd_keyword_name("Y3"), "System specific");
	assert_string_equal(lsv_vpd_keyword_name("QQ"), "Unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(good),
		cmocka_unit_test(bad_checksum),
		cmocka_unit_test(truncated_tag),
		cmocka_unit_test(length_past_end),
		cmocka_unit_test(missing_end_tag),
		cmocka_unit_test(unknown_tags_and_keywords),
		cmocka_unit_test(bounds),
		cmocka_unit_test(not_read),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
