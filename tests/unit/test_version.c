/* SPDX-License-Identifier: BSD-3-Clause */
/* The VERSION capabilities JSON: parsing, limits, and the round trip. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "wire/wire.h"

/* Parse a C string, NUL included, as it comes off the wire. */
static int parse(const char *s, struct uvfio_caps *caps, int *twin,
		 char *err, size_t errlen)
{
	return vu_caps_from_json(s, strlen(s) + 1, caps, twin, err, errlen);
}

static void assert_defaults(const struct uvfio_caps *c)
{
	assert_int_equal(c->max_msg_fds, 1);
	assert_int_equal(c->max_data_xfer_size, 1u << 20);
	assert_int_equal(c->max_dma_maps, 65535);
	assert_int_equal(c->pgsizes, 4096);
	assert_false(c->write_multiple);
	assert_false(c->twin_socket);
	assert_false(c->migration);
}

/* A refusal: -EINVAL and a reason a human can read. */
static void assert_refused(const char *json, const char *reason_part)
{
	struct uvfio_caps caps;
	char err[160];
	memset(err, 0, sizeof(err));
	int twin = 5;
	int r = parse(json, &caps, &twin, err, sizeof(err));
	if (r != -EINVAL)
		fail_msg("accepted (%d): %s", r, json);
	if (!err[0])
		fail_msg("no reason given for: %s", json);
	if (reason_part && !strstr(err, reason_part))
		fail_msg("reason '%s' does not mention '%s' (%s)", err,
			 reason_part, json);
}

static void test_defaults(void **state)
{
	struct uvfio_caps c;
	int twin = 7;
	char err[64] = "x";
	vu_caps_default(&c);
	assert_defaults(&c);
	/* No version data at all, an empty string, "{}", empty caps. */
	assert_int_equal(vu_caps_from_json(NULL, 0, &c, &twin, err, sizeof(err)), 0);
	assert_defaults(&c);
	assert_int_equal(twin, -1);
	assert_string_equal(err, "");
	const char *ok[] = { "", "{}", "{\"capabilities\":{}}",
			     " { \"capabilities\" : { } }" };
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		memset(&c, 0xff, sizeof(c));
		twin = 7;
		assert_int_equal(parse(ok[i], &c, &twin, err, sizeof(err)), 0);
		assert_defaults(&c);
		assert_int_equal(twin, -1);
	}
}

static void test_every_key(void **state)
{
	struct uvfio_caps c;
	int twin;
	char err[128];
	const char *j =
		"{\"capabilities\":{\"max_msg_fds\":16,"
		"\"max_data_xfer_size\":2097152,\"max_dma_maps\":100,"
		"\"pgsizes\":2101248,\"write_multiple\":true,"
		"\"twin_socket\":{\"supported\":true,\"fd_index\":2},"
		"\"migration\":{\"pgsize\":4096,\"max_bitmap_size\":1048576}}}";
	assert_int_equal(parse(j, &c, &twin, err, sizeof(err)), 0);
	assert_int_equal(c.max_msg_fds, 16);
	assert_int_equal(c.max_data_xfer_size, 2u << 20);
	assert_int_equal(c.max_dma_maps, 100);
	assert_int_equal(c.pgsizes, 4096 | (2u << 20));
	assert_true(c.write_multiple);
	assert_true(c.twin_socket);
	assert_int_equal(twin, 2);
	assert_true(c.migration);
	assert_int_equal(c.migration_pgsize, 4096);
	assert_int_equal(c.migration_max_bitmap_size, 1u << 20);

	/* Each key alone changes only itself. */
	assert_int_equal(parse("{\"capabilities\":{\"max_msg_fds\":0}}", &c,
			       &twin, err, sizeof(err)), 0);
	assert_int_equal(c.max_msg_fds, 0);
	assert_int_equal(c.max_data_xfer_size, 1u << 20);
	assert_int_equal(parse("{\"capabilities\":{\"write_multiple\":false}}",
			       &c, &twin, err, sizeof(err)), 0);
	assert_false(c.write_multiple);
	assert_int_equal(c.max_msg_fds, 1);
	/* The limits themselves are accepted. */
	assert_int_equal(parse("{\"capabilities\":{\"max_msg_fds\":1024,"
			       "\"max_data_xfer_size\":67108864,"
			       "\"max_dma_maps\":65535}}", &c, &twin, err,
			       sizeof(err)), 0);
	assert_int_equal(c.max_msg_fds, 1024);
	assert_int_equal(c.max_data_xfer_size, 64u << 20);
	assert_int_equal(c.max_dma_maps, 65535);
	assert_int_equal(parse("{\"capabilities\":{\"max_data_xfer_size\":1}}",
			       &c, &twin, err, sizeof(err)), 0);
	assert_int_equal(c.max_data_xfer_size, 1);
}

static void test_bad_types(void **state)
{
	assert_refused("{\"capabilities\":{\"max_msg_fds\":\"16\"}}", "max_msg_fds");
	assert_refused("{\"capabilities\":{\"max_msg_fds\":1.5}}", "max_msg_fds");
	assert_refused("{\"capabilities\":{\"max_msg_fds\":true}}", "max_msg_fds");
	assert_refused("{\"capabilities\":{\"max_msg_fds\":null}}", "max_msg_fds");
	assert_refused("{\"capabilities\":{\"max_msg_fds\":-1}}", "max_msg_fds");
	assert_refused("{\"capabilities\":{\"max_data_xfer_size\":[1]}}",
		       "max_data_xfer_size");
	assert_refused("{\"capabilities\":{\"max_dma_maps\":{}}}", "max_dma_maps");
	assert_refused("{\"capabilities\":{\"pgsizes\":\"4096\"}}", "pgsizes");
	assert_refused("{\"capabilities\":{\"write_multiple\":1}}", "write_multiple");
	assert_refused("{\"capabilities\":{\"write_multiple\":\"true\"}}",
		       "write_multiple");
	assert_refused("{\"capabilities\":{\"twin_socket\":true}}", "twin_socket");
	assert_refused("{\"capabilities\":{\"twin_socket\":{\"supported\":1}}}",
		       "supported");
	assert_refused("{\"capabilities\":{\"twin_socket\":{\"supported\":true,"
		       "\"fd_index\":-1}}}", "fd_index");
	assert_refused("{\"capabilities\":{\"twin_socket\":{\"supported\":true,"
		       "\"fd_index\":\"0\"}}}", "fd_index");
	assert_refused("{\"capabilities\":{\"migration\":5}}", "migration");
	assert_refused("{\"capabilities\":{\"migration\":{\"pgsize\":\"4k\"}}}",
		       "pgsize");
	assert_refused("{\"capabilities\":[]}", "capabilities");
	assert_refused("{\"capabilities\":1}", "capabilities");
}

static void test_out_of_range(void **state)
{
	assert_refused("{\"capabilities\":{\"max_data_xfer_size\":0}}",
		       "max_data_xfer_size");
	assert_refused("{\"capabilities\":{\"max_data_xfer_size\":67108865}}",
		       "max_data_xfer_size");
	assert_refused("{\"capabilities\":{\"max_data_xfer_size\":4294967296}}",
		       "max_data_xfer_size");
	assert_refused("{\"capabilities\":{\"max_msg_fds\":1025}}", "max_msg_fds");
	assert_refused("{\"capabilities\":{\"max_dma_maps\":0}}", "max_dma_maps");
	assert_refused("{\"capabilities\":{\"max_dma_maps\":65536}}", "max_dma_maps");
	/* Page sizes must include 4 KiB. */
	assert_refused("{\"capabilities\":{\"pgsizes\":8192}}", "pgsizes");
	assert_refused("{\"capabilities\":{\"pgsizes\":2097152}}", "pgsizes");
	assert_refused("{\"capabilities\":{\"pgsizes\":0}}", "pgsizes");
	assert_refused("{\"capabilities\":{\"pgsizes\":4095}}", "pgsizes");
}

/* Integers above INT64_MAX are read as themselves, not clamped. */
static void test_u64_values(void **state)
{
	struct uvfio_caps c;
	int twin;
	char err[128];
	assert_int_equal(parse("{\"capabilities\":{\"pgsizes\":"
			       "18446744073709551615}}", &c, &twin, err,
			       sizeof(err)), 0);
	assert_true(c.pgsizes == UINT64_MAX);
	assert_int_equal(parse("{\"capabilities\":{\"migration\":{\"pgsize\":"
			       "9223372036854775808}}}", &c, &twin, err,
			       sizeof(err)), 0);
	assert_true(c.migration_pgsize == (1ull << 63));
}

static void test_missing_nul(void **state)
{
	struct uvfio_caps c;
	char err[128];
	const char *s = "{\"capabilities\":{}}";
	assert_int_equal(vu_caps_from_json(s, strlen(s), &c, NULL, err,
					   sizeof(err)), -EINVAL);
	assert_true(err[0] != 0);
	/* One byte of data and no NUL. */
	assert_int_equal(vu_caps_from_json("{", 1, &c, NULL, err, sizeof(err)),
			 -EINVAL);
	/* Only the bytes given are looked at: "{}" cut before its NUL. */
	assert_int_equal(vu_caps_from_json("{}", 2, &c, NULL, err, sizeof(err)),
			 -EINVAL);
	/* No room for the reason is fine. */
	assert_int_equal(vu_caps_from_json(s, strlen(s), &c, NULL, NULL, 0),
			 -EINVAL);
}

static void test_malformed(void **state)
{
	assert_refused("{", NULL);
	assert_refused("{\"capabilities\":", NULL);
	assert_refused("{\"capabilities\":{\"max_msg_fds\":}}", NULL);
	assert_refused("capabilities", NULL);
	assert_refused("\x01\x02", NULL);
	assert_refused("}", NULL);
}

static void test_trailing_garbage(void **state)
{
	assert_refused("{} x", NULL);
	assert_refused("{}{}", NULL);
	assert_refused("{\"capabilities\":{}}]", NULL);
	assert_refused("{}1", NULL);
}

static void test_non_object_root(void **state)
{
	assert_refused("[]", "object");
	assert_refused("[{\"capabilities\":{}}]", "object");
	assert_refused("\"capabilities\"", "object");
	/* A bare literal at the end of the data: refused (the reason may be
	 * json-c's "continue", as it cannot tell the literal has ended). */
	assert_refused("1", NULL);
	assert_refused("null", NULL);
	assert_refused("true", NULL);
}

static void test_twin_socket(void **state)
{
	struct uvfio_caps c;
	int twin = 9;
	char err[128];
	assert_int_equal(parse("{\"capabilities\":{\"twin_socket\":"
			       "{\"supported\":true,\"fd_index\":0}}}", &c,
			       &twin, err, sizeof(err)), 0);
	assert_true(c.twin_socket);
	assert_int_equal(twin, 0);
	/* A request (client side) carries no index. */
	assert_int_equal(parse("{\"capabilities\":{\"twin_socket\":"
			       "{\"supported\":true}}}", &c, &twin, err,
			       sizeof(err)), 0);
	assert_true(c.twin_socket);
	assert_int_equal(twin, -1);
	assert_int_equal(parse("{\"capabilities\":{\"twin_socket\":"
			       "{\"supported\":false}}}", &c, &twin, err,
			       sizeof(err)), 0);
	assert_false(c.twin_socket);
	/* A NULL index pointer is allowed. */
	assert_int_equal(parse("{\"capabilities\":{\"twin_socket\":"
			       "{\"supported\":true,\"fd_index\":3}}}", &c,
			       NULL, err, sizeof(err)), 0);
	assert_refused("{\"capabilities\":{\"twin_socket\":{\"supported\":true,"
		       "\"fd_index\":1025}}}", "fd_index");
}

static void test_unknown_keys_ignored(void **state)
{
	struct uvfio_caps c;
	int twin;
	char err[128];
	assert_int_equal(parse("{\"vendor\":[1,2,{}],\"capabilities\":"
			       "{\"future\":{\"x\":1},\"max_msg_fds\":4,"
			       "\"also\":\"yes\"},\"z\":null}", &c, &twin,
			       err, sizeof(err)), 0);
	assert_int_equal(c.max_msg_fds, 4);
	assert_int_equal(c.max_data_xfer_size, 1u << 20);
	assert_int_equal(parse("{\"capabilities\":{\"twin_socket\":"
			       "{\"supported\":true,\"mode\":\"x\"}}}", &c,
			       &twin, err, sizeof(err)), 0);
	assert_true(c.twin_socket);
}

/* What QEMU sends. */
static void test_legacy_migration_object(void **state)
{
	struct uvfio_caps c;
	int twin;
	char err[128];
	const char *qemu =
		"{\"capabilities\":{\"max_msg_fds\":8,"
		"\"max_data_xfer_size\":1048576,\"pgsizes\":4096,"
		"\"max_dma_maps\":65535,"
		"\"migration\":{\"pgsize\":4096,\"max_bitmap_size\":"
		"268435456}}}";
	assert_int_equal(parse(qemu, &c, &twin, err, sizeof(err)), 0);
	assert_int_equal(c.max_msg_fds, 8);
	assert_true(c.migration);
	assert_int_equal(c.migration_pgsize, 4096);
	assert_int_equal(c.migration_max_bitmap_size, 256u << 20);
	/* An empty migration object is accepted too. */
	assert_int_equal(parse("{\"capabilities\":{\"migration\":{}}}", &c,
			       &twin, err, sizeof(err)), 0);
	assert_true(c.migration);
	assert_int_equal(c.migration_pgsize, 0);
}

static void roundtrip(const struct uvfio_caps *in, bool twin_request,
		      int twin_index)
{
	char *json = vu_caps_to_json(in, twin_request, twin_index);
	assert_non_null(json);
	struct uvfio_caps out;
	int twin = 99;
	char err[128];
	if (parse(json, &out, &twin, err, sizeof(err)) != 0)
		fail_msg("own JSON refused: %s: %s", json, err);
	assert_int_equal(out.max_msg_fds, in->max_msg_fds);
	assert_int_equal(out.max_data_xfer_size, in->max_data_xfer_size);
	assert_int_equal(out.max_dma_maps, in->max_dma_maps);
	assert_true(out.pgsizes == in->pgsizes);
	assert_int_equal(out.write_multiple, in->write_multiple);
	assert_int_equal(out.twin_socket, twin_request || twin_index >= 0);
	assert_int_equal(twin, twin_index >= 0 ? twin_index : -1);
	assert_int_equal(out.migration, in->migration);
	assert_true(out.migration_pgsize == in->migration_pgsize);
	assert_true(out.migration_max_bitmap_size ==
		    in->migration_max_bitmap_size);
	free(json);
}

/* The uvfio "vf_token" extension: a UUID string, nothing else. */
static void test_vf_token(void **state)
{
	(void)state;
	struct uvfio_caps c;
	char err[160];
	int twin;
	assert_int_equal(parse("{\"capabilities\":{}}", &c, &twin, err,
			       sizeof(err)), 0);
	assert_false(c.has_vf_token);
	assert_int_equal(parse("{\"capabilities\":{\"vf_token\":"
			       "\"00112233-4455-6677-8899-AABBCCDDEEFF\"}}",
			       &c, &twin, err, sizeof(err)), 0);
	assert_true(c.has_vf_token);
	assert_int_equal(c.vf_token[0], 0x00);
	assert_int_equal(c.vf_token[10], 0xaa);
	assert_int_equal(c.vf_token[15], 0xff);
	assert_refused("{\"capabilities\":{\"vf_token\":1}}", "vf_token");
	assert_refused("{\"capabilities\":{\"vf_token\":null}}", "vf_token");
	assert_refused("{\"capabilities\":{\"vf_token\":\"\"}}", "vf_token");
	assert_refused("{\"capabilities\":{\"vf_token\":"
		       "\"00112233-4455-6677-8899-aabbccddeeff \"}}", "vf_token");
	assert_refused("{\"capabilities\":{\"vf_token\":"
		       "\"00112233-4455-6677-8899-aabbccddeeff\\u0000x\"}}",
		       "vf_token");
	assert_refused("{\"capabilities\":{\"vf_token\":"
		       "\"00112233+4455-6677-8899-aabbccddeeff\"}}", "vf_token");

	/* What a client sends comes back as it was. */
	struct uvfio_caps out;
	vu_caps_default(&out);
	out.has_vf_token = true;
	for (unsigned i = 0; i < 16; i++)
		out.vf_token[i] = (uint8_t)(0xf0 + i);
	char *json = vu_caps_to_json(&out, false, -1);
	assert_non_null(json);
	assert_non_null(strstr(json, "\"vf_token\":\"f0f1f2f3-f4f5-f6f7-f8f9-fafbfcfdfeff\""));
	assert_int_equal(vu_caps_from_json(json, strlen(json) + 1, &c, &twin,
					   err, sizeof(err)), 0);
	assert_true(c.has_vf_token);
	assert_memory_equal(c.vf_token, out.vf_token, 16);
	free(json);
	/* A server's caps carry none. */
	vu_caps_default(&out);
	json = vu_caps_to_json(&out, false, -1);
	assert_null(strstr(json, "vf_token"));
	free(json);
}

static void test_roundtrip(void **state)
{
	struct uvfio_caps c;
	vu_caps_default(&c);
	roundtrip(&c, false, -1);
	roundtrip(&c, true, -1);
	roundtrip(&c, false, 0);
	c.max_msg_fds = 16;
	c.max_data_xfer_size = 64u << 20;
	c.max_dma_maps = 1;
	c.pgsizes = 4096 | (1ull << 21) | (1ull << 30);
	c.write_multiple = true;
	c.migration = true;
	c.migration_pgsize = 4096;
	c.migration_max_bitmap_size = 1ull << 40;
	roundtrip(&c, false, 3);
	roundtrip(&c, true, -1);
	c.max_msg_fds = 0;
	c.max_data_xfer_size = 1;
	roundtrip(&c, false, -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_bad_types),
		cmocka_unit_test(test_out_of_range),
		cmocka_unit_test(test_u64_values),
		cmocka_unit_test(test_missing_nul),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_trailing_garbage),
		cmocka_unit_test(test_non_object_root),
		cmocka_unit_test(test_twin_socket),
		cmocka_unit_test(test_unknown_keys_ignored),
		cmocka_unit_test(test_legacy_migration_object),
		cmocka_unit_test(test_vf_token),
		cmocka_unit_test(test_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
