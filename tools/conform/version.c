/* SPDX-License-Identifier: BSD-3-Clause */
/* VERSION negotiation: minor, capabilities, refusal of bad input. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "conform.h"

#define SPEC_VERSION "VFIO_USER_VERSION"

/*
 * Check a VERSION reply in c->rx: major as expected, JSON (if any) NUL
 * terminated and an object.  Returns the minor, or -1 with @r set.
 * *@jout receives the parsed JSON (NULL if none) when @jout is given.
 */
static int reply_minor(struct cf_conn *c, uint16_t major, struct cf_res *r,
		       struct json_object **jout)
{
	uint32_t len = vu_rx_len(&c->rx);
	struct vu_version v;

	if (jout)
		*jout = NULL;
	if (len < sizeof(v)) {
		cf_fail(r, "VERSION reply has %u payload bytes (less than 4)", len);
		return -1;
	}
	memcpy(&v, c->rx.buf, sizeof(v));
	if (v.major != major) {
		cf_fail(r, "reply major %u to a proposed major %u", v.major, major);
		return -1;
	}
	if (len > sizeof(v)) {
		const char *data = (const char *)c->rx.buf + sizeof(v);
		size_t dl = len - sizeof(v);
		if (memchr(data, '\0', dl) == NULL) {
			cf_fail(r, "version data is not NUL-terminated");
			return -1;
		}
		struct json_tokener *tok = json_tokener_new();
		struct json_object *j = json_tokener_parse_ex(tok, data,
							      (int)strlen(data));
		enum json_tokener_error je = json_tokener_get_error(tok);
		json_tokener_free(tok);
		if (!j || je != json_tokener_success ||
		    !json_object_is_type(j, json_type_object)) {
			json_object_put(j);
			cf_fail(r, "version data is not a JSON object: '%.80s'", data);
			return -1;
		}
		if (jout)
			*jout = j;
		else
			json_object_put(j);
	}
	return v.minor;
}

static bool get_u64(struct json_object *o, const char *key, bool *present,
		    uint64_t *v, struct cf_res *r)
{
	struct json_object *x;
	*present = json_object_object_get_ex(o, key, &x);
	if (!*present)
		return true;
	if (!json_object_is_type(x, json_type_int) || json_object_get_int64(x) < 0) {
		cf_fail(r, "capability %s is not a non-negative integer: %s", key,
			json_object_to_json_string(x));
		return false;
	}
	*v = (uint64_t)json_object_get_int64(x);
	return true;
}

/* The server's capabilities: well-formed and within what clients accept. */
static enum cf_result check_caps(struct cf_ctx *ctx, struct json_object *j,
				 unsigned nfds, struct cf_res *r)
{
	struct json_object *caps = NULL, *x;
	uint64_t v = 0;
	bool has;

	ctx->srv_max_msg_fds = 1;
	ctx->srv_max_data_xfer = 1u << 20;
	ctx->srv_max_dma_maps = 65535;
	ctx->srv_pgsizes = 4096;
	ctx->have_caps = true;
	if (nfds)
		return cf_fail(r, "the VERSION reply carries %u fds though no "
			       "twin socket was asked for", nfds);
	if (!j)
		return CF_PASS;
	if (json_object_object_get_ex(j, "capabilities", &caps) &&
	    !json_object_is_type(caps, json_type_object))
		return cf_fail(r, "\"capabilities\" is not an object");
	if (!caps)
		return CF_PASS;

	if (!get_u64(caps, "max_msg_fds", &has, &v, r))
		return CF_FAIL;
	if (has && v > 16)
		return cf_fail(r, "max_msg_fds %llu: QEMU accepts at most 16",
			       (unsigned long long)v);
	if (has)
		ctx->srv_max_msg_fds = (uint32_t)v;
	if (!get_u64(caps, "max_data_xfer_size", &has, &v, r))
		return CF_FAIL;
	if (has && (v == 0 || v > (64u << 20)))
		return cf_fail(r, "max_data_xfer_size %llu: must be 1..64 MiB",
			       (unsigned long long)v);
	if (has)
		ctx->srv_max_data_xfer = (uint32_t)v;
	if (!get_u64(caps, "max_dma_maps", &has, &v, r))
		return CF_FAIL;
	if (has && (v == 0 || v > 65535))
		return cf_fail(r, "max_dma_maps %llu: must be 1..65535",
			       (unsigned long long)v);
	if (has)
		ctx->srv_max_dma_maps = (uint32_t)v;
	if (!get_u64(caps, "pgsizes", &has, &v, r))
		return CF_FAIL;
	if (has && (v == 0 || (v & 0xfff)))
		return cf_fail(r, "pgsizes 0x%llx: must be non-zero page sizes of "
			       "4 KiB or more", (unsigned long long)v);
	if (has)
		ctx->srv_pgsizes = v;
	if (json_object_object_get_ex(caps, "write_multiple", &x) &&
	    !json_object_is_type(x, json_type_boolean))
		return cf_fail(r, "write_multiple is not a boolean");
	if (json_object_object_get_ex(caps, "twin_socket", &x)) {
		struct json_object *s;
		if (!json_object_is_type(x, json_type_object))
			return cf_fail(r, "twin_socket is not an object");
		if (json_object_object_get_ex(x, "supported", &s) &&
		    json_object_get_boolean(s))
			return cf_fail(r, "twin_socket enabled though the client "
				       "did not propose it (capabilities must "
				       "be a subset of those proposed)");
	}
	snprintf(r->reason, sizeof(r->reason), "max_msg_fds %u, "
		 "max_data_xfer_size %u, max_dma_maps %u, pgsizes 0x%llx",
		 ctx->srv_max_msg_fds, ctx->srv_max_data_xfer,
		 ctx->srv_max_dma_maps, (unsigned long long)ctx->srv_pgsizes);
	return CF_PASS;
}

/* One fresh connection and VERSION 0.@minor; returns the reply's minor. */
static int negotiate(struct cf_ctx *ctx, struct cf_conn *c, uint16_t minor,
		     const char *json, struct cf_res *r,
		     struct json_object **jout)
{
	char eb[64];
	int e = 0;
	if (ctx->have_first) {
		*c = ctx->first;
		ctx->have_first = false;
	} else {
		e = cf_connect(ctx, c);
	}
	if (e < 0) {
		cf_fail(r, "connect: %s%s", strerror(-e), e == -ECONNREFUSED ?
			" (the server no longer accepts clients)" : "");
		return -1;
	}
	e = cf_version(ctx, c, 0, minor, json, r->reason, sizeof(r->reason));
	if (e > 0)
		cf_fail(r, "VERSION 0.%u refused: %s", minor,
			cf_errname(e, eb, sizeof(eb)));
	if (e != 0) {
		cf_close(c);
		return -1;
	}
	int m = reply_minor(c, 0, r, jout);
	if (m < 0)
		cf_close(c);
	return m;
}

static enum cf_result v_basic(struct cf_ctx *ctx, struct cf_res *r)
{
	struct cf_conn c;
	struct json_object *j;
	int m = negotiate(ctx, &c, 0, cf_client_json, r, &j);
	if (m < 0)
		return CF_FAIL;
	cf_close(&c);
	json_object_put(j);
	if (m != 0)
		return cf_fail(r, "proposed 0.0, server answered 0.%d", m);
	return CF_PASS;
}

static enum cf_result v_caps(struct cf_ctx *ctx, struct cf_res *r)
{
	struct cf_conn c;
	struct json_object *j;
	if (negotiate(ctx, &c, 0, cf_client_json, r, &j) < 0)
		return CF_FAIL;
	enum cf_result res = check_caps(ctx, j, c.rx.nfds, r);
	json_object_put(j);
	cf_close(&c);
	return res;
}

static enum cf_result v_minor(struct cf_ctx *ctx, struct cf_res *r)
{
	struct cf_conn c;
	const uint16_t high = 0x7fff;
	int m = negotiate(ctx, &c, high, cf_client_json, r, NULL);
	if (m < 0)
		return CF_FAIL;
	cf_close(&c);
	if (m > high)
		return cf_fail(r, "proposed 0.%u, server answered 0.%d (above the "
			       "proposal)", high, m);
	ctx->minor = (uint16_t)m;
	/* Proposing exactly the server's minor must give it back. */
	int m2 = negotiate(ctx, &c, (uint16_t)m, cf_client_json, r, NULL);
	if (m2 < 0)
		return CF_FAIL;
	cf_close(&c);
	if (m2 != m)
		return cf_fail(r, "proposed 0.%d (its own), server answered 0.%d",
			       m, m2);
	snprintf(r->reason, sizeof(r->reason), "server minor %d", m);
	return CF_PASS;
}

static enum cf_result v_no_json(struct cf_ctx *ctx, struct cf_res *r)
{
	struct cf_conn c;
	int m = negotiate(ctx, &c, 0, NULL, r, NULL);
	if (m < 0)
		return CF_FAIL;
	cf_close(&c);
	if (m != 0)
		return cf_fail(r, "proposed 0.0, server answered 0.%d", m);
	return CF_PASS;
}

/* After a refusal, a new client must still be served. */
static enum cf_result usable_after(struct cf_ctx *ctx, struct cf_res *r,
				   const char *how)
{
	struct cf_conn c;
	struct cf_res tmp = { { 0 } };
	if (negotiate(ctx, &c, 0, cf_client_json, &tmp, NULL) < 0)
		return cf_fail(r, "%s, but a new connection then failed: %s", how,
			       tmp.reason);
	cf_close(&c);
	snprintf(r->reason, sizeof(r->reason), "%s", how);
	return CF_PASS;
}

/*
 * Send @cmd (major @major for VERSION) with @p on a fresh connection and
 * expect an error reply or a close, never success or silence.
 */
static enum cf_result expect_refusal(struct cf_ctx *ctx, struct cf_res *r,
				     uint16_t cmd, const void *p, size_t len,
				     uint16_t major_ok)
{
	struct cf_conn c;
	uint16_t id;
	char why[256], eb[64], how[128];
	int e = cf_connect(ctx, &c);
	if (e < 0)
		return cf_fail(r, "connect: %s", strerror(-e));
	e = cf_send(ctx, &c, cmd, VU_F_TYPE_COMMAND, p, len, NULL, 0, &id);
	if (e == -EPIPE || e == -ECONNRESET) {
		cf_close(&c);
		return usable_after(ctx, r, "connection closed");
	}
	if (e == 0)
		e = cf_wait(ctx, &c, id, cmd, why, sizeof(why));
	else
		snprintf(why, sizeof(why), "send: %s", strerror(-e));
	if (e == 0 && cmd == VU_CMD_VERSION) {
		struct cf_res tmp = { { 0 } };
		int m = reply_minor(&c, major_ok, &tmp, NULL);
		cf_close(&c);
		if (m >= 0)
			return usable_after(ctx, r, "accepted as a supported "
					    "major");
		return cf_fail(r, "accepted: %s", tmp.reason);
	}
	cf_close(&c);
	if (e == 0)
		return cf_fail(r, "the server answered with success");
	if (e > 0) {
		snprintf(how, sizeof(how), "refused with %s",
			 cf_errname(e, eb, sizeof(eb)));
		return usable_after(ctx, r, how);
	}
	if (e == -ECONNRESET)
		return usable_after(ctx, r, "connection closed");
	return cf_fail(r, "%s", why);
}

static enum cf_result v_bad_json(struct cf_ctx *ctx, struct cf_res *r)
{
	static const char bad[] = "{\"capabilities\": {\"max_msg_fds\": ";
	uint8_t msg[sizeof(struct vu_version) + sizeof(bad)];
	memset(msg, 0, sizeof(struct vu_version));
	memcpy(msg + sizeof(struct vu_version), bad, sizeof(bad));
	return expect_refusal(ctx, r, VU_CMD_VERSION, msg, sizeof(msg), 0);
}

static enum cf_result v_bad_major(struct cf_ctx *ctx, struct cf_res *r)
{
	static const char json[] = "{\"capabilities\":{}}";
	uint8_t msg[sizeof(struct vu_version) + sizeof(json)];
	struct vu_version v = { .major = 1, .minor = 0 };
	memcpy(msg, &v, sizeof(v));
	memcpy(msg + sizeof(v), json, sizeof(json));
	return expect_refusal(ctx, r, VU_CMD_VERSION, msg, sizeof(msg), 1);
}

static enum cf_result v_not_first(struct cf_ctx *ctx, struct cf_res *r)
{
	struct vu_device_info in = { .argsz = sizeof(in) };
	return expect_refusal(ctx, r, VU_CMD_DEVICE_GET_INFO, &in, sizeof(in), 0);
}

static enum cf_result v_truncated(struct cf_ctx *ctx, struct cf_res *r)
{
	uint8_t two[2] = { 0, 0 };
	return expect_refusal(ctx, r, VU_CMD_VERSION, two, sizeof(two), 0);
}

const struct cf_check cf_checks_version[] = {
	{ "version.basic", "VERSION 0.0 is accepted with major 0, minor 0 and a "
	  "JSON object", SPEC_VERSION, v_basic },
	{ "version.minor", "the reply's minor is min(proposed, server's)",
	  SPEC_VERSION, v_minor },
	{ "version.capabilities", "capabilities in the reply are well-formed "
	  "and within client limits", SPEC_VERSION, v_caps },
	{ "version.no-data", "VERSION without version data is accepted",
	  SPEC_VERSION, v_no_json },
	{ "version.bad-json", "malformed JSON is refused, the server stays "
	  "usable", SPEC_VERSION, v_bad_json },
	{ "version.bad-major", "an unsupported major is refused, the server "
	  "stays usable", SPEC_VERSION, v_bad_major },
	{ "version.truncated", "a VERSION shorter than 4 bytes is refused",
	  SPEC_VERSION, v_truncated },
	{ "version.not-first", "a first message other than VERSION is refused",
	  "Connection Initiation", v_not_first },
	{ NULL, NULL, NULL, NULL },
};
