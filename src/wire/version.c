/* SPDX-License-Identifier: BSD-3-Clause */
/* The capabilities JSON carried by VERSION. */
#include <errno.h>
#include <stdarg.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/wire.h"

void vu_caps_default(struct uvfio_caps *caps)
{
	memset(caps, 0, sizeof(*caps));
	caps->max_msg_fds = UVFIO_DEFAULT_MAX_MSG_FDS;
	caps->max_data_xfer_size = UVFIO_DEFAULT_MAX_DATA_XFER;
	caps->max_dma_maps = UVFIO_DEFAULT_MAX_DMA_MAPS;
	caps->pgsizes = UVFIO_DEFAULT_PGSIZES;
}

char *vu_caps_to_json(const struct uvfio_caps *caps, bool twin_request,
		      int twin_fd_index)
{
	json_object *root = json_object_new_object();
	json_object *c = json_object_new_object();
	if (!root || !c) {
		json_object_put(root);
		json_object_put(c);
		return NULL;
	}
	json_object_object_add(root, "capabilities", c);
	json_object_object_add(c, "max_msg_fds",
			       json_object_new_int64(caps->max_msg_fds));
	json_object_object_add(c, "max_data_xfer_size",
			       json_object_new_int64(caps->max_data_xfer_size));
	json_object_object_add(c, "max_dma_maps",
			       json_object_new_int64(caps->max_dma_maps));
	/* u64 values above INT64_MAX must not turn negative on the way. */
	json_object_object_add(c, "pgsizes",
			       json_object_new_uint64(caps->pgsizes));
	if (caps->write_multiple)
		json_object_object_add(c, "write_multiple",
				       json_object_new_boolean(1));
	if (twin_request || twin_fd_index >= 0) {
		json_object *t = json_object_new_object();
		json_object_object_add(t, "supported",
				       json_object_new_boolean(1));
		if (twin_fd_index >= 0)
			json_object_object_add(t, "fd_index",
					       json_object_new_int(twin_fd_index));
		json_object_object_add(c, "twin_socket", t);
	}
	if (caps->has_vf_token) {
		char tok[UVFIO_UUID_STRLEN + 1];
		uvfio_uuid_unparse(caps->vf_token, tok);
		json_object_object_add(c, "vf_token", json_object_new_string(tok));
	}
	if (caps->migration) {
		json_object *m = json_object_new_object();
		json_object_object_add(m, "pgsize",
			json_object_new_uint64(caps->migration_pgsize));
		json_object_object_add(m, "max_bitmap_size",
			json_object_new_uint64(caps->migration_max_bitmap_size));
		json_object_object_add(c, "migration", m);
	}
	const char *s = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);
	char *out = s ? strdup(s) : NULL;
	json_object_put(root);
	return out;
}

__attribute__((format(printf, 3, 4)))
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* A non-negative integer member, range-checked. */
static int get_uint(json_object *obj, const char *key, uint64_t lo,
		    uint64_t hi, uint64_t *out, char *err, size_t errlen)
{
	json_object *v;
	if (!json_object_object_get_ex(obj, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return fail(err, errlen, "\"%s\" is not an integer", key);
	/* get_int64 clamps values above INT64_MAX; get_uint64 is exact for
	 * every non-negative value. */
	if (json_object_get_int64(v) < 0)
		return fail(err, errlen, "\"%s\" is negative", key);
	uint64_t u = json_object_get_uint64(v);
	if (u < lo || u > hi)
		return fail(err, errlen, "\"%s\" is out of range", key);
	*out = u;
	return 1;
}

static int get_bool(json_object *obj, const char *key, bool *out, char *err,
		    size_t errlen)
{
	json_object *v;
	if (!json_object_object_get_ex(obj, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return fail(err, errlen, "\"%s\" is not a boolean", key);
	*out = json_object_get_boolean(v);
	return 1;
}

static int parse_caps(json_object *c, struct uvfio_caps *caps,
		      int *twin_fd_index, char *err, size_t errlen)
{
	uint64_t v;
	int r;

	if ((r = get_uint(c, "max_msg_fds", 0, UVFIO_LIMIT_MAX_MSG_FDS, &v,
			  err, errlen)) < 0)
		return r;
	if (r)
		caps->max_msg_fds = (uint32_t)v;
	/* 0 would make every transfer impossible; huge ones exhaust memory. */
	if ((r = get_uint(c, "max_data_xfer_size", 1, UVFIO_LIMIT_MAX_DATA_XFER,
			  &v, err, errlen)) < 0)
		return r;
	if (r)
		caps->max_data_xfer_size = (uint32_t)v;
	if ((r = get_uint(c, "max_dma_maps", 1, UVFIO_LIMIT_MAX_DMA_MAPS, &v,
			  err, errlen)) < 0)
		return r;
	if (r)
		caps->max_dma_maps = (uint32_t)v;
	if ((r = get_uint(c, "pgsizes", 1, UINT64_MAX, &v, err, errlen)) < 0)
		return r;
	if (r) {
		if (!(v & 4096))
			return fail(err, errlen, "\"%s\" lacks 4 KiB pages",
				    "pgsizes");
		caps->pgsizes = v;
	}
	if ((r = get_bool(c, "write_multiple", &caps->write_multiple, err,
			  errlen)) < 0)
		return r;

	json_object *t;
	if (json_object_object_get_ex(c, "twin_socket", &t)) {
		if (!json_object_is_type(t, json_type_object))
			return fail(err, errlen, "\"%s\" is not an object",
				    "twin_socket");
		if ((r = get_bool(t, "supported", &caps->twin_socket, err,
				  errlen)) < 0)
			return r;
		if ((r = get_uint(t, "fd_index", 0, UVFIO_LIMIT_MAX_MSG_FDS,
				  &v, err, errlen)) < 0)
			return r;
		if (r && twin_fd_index)
			*twin_fd_index = (int)v;
	}

	json_object *vt;
	if (json_object_object_get_ex(c, "vf_token", &vt)) {
		if (!json_object_is_type(vt, json_type_string))
			return fail(err, errlen, "\"%s\" is not a string",
				    "vf_token");
		/* The length too: an embedded NUL must not hide a tail. */
		if (json_object_get_string_len(vt) != UVFIO_UUID_STRLEN ||
		    uvfio_uuid_parse(json_object_get_string(vt),
				     caps->vf_token) < 0)
			return fail(err, errlen, "\"%s\" is not a UUID",
				    "vf_token");
		caps->has_vf_token = true;
	}

	json_object *m;
	if (json_object_object_get_ex(c, "migration", &m)) {
		if (!json_object_is_type(m, json_type_object))
			return fail(err, errlen, "\"%s\" is not an object",
				    "migration");
		caps->migration = true;
		if ((r = get_uint(m, "pgsize", 0, UINT64_MAX, &v, err,
				  errlen)) < 0)
			return r;
		if (r)
			caps->migration_pgsize = v;
		if ((r = get_uint(m, "max_bitmap_size", 0, UINT64_MAX, &v, err,
				  errlen)) < 0)
			return r;
		if (r)
			caps->migration_max_bitmap_size = v;
	}
	return 0;
}

int vu_caps_from_json(const char *data, size_t len, struct uvfio_caps *caps,
		      int *twin_fd_index, char *err, size_t errlen)
{
	vu_caps_default(caps);
	if (twin_fd_index)
		*twin_fd_index = -1;
	if (err && errlen)
		err[0] = 0;
	if (len == 0)
		return 0;  /* version data is optional */
	const char *nul = memchr(data, 0, len);
	if (!nul)
		return fail(err, errlen, "%s", "version data is not NUL terminated");
	size_t slen = (size_t)(nul - data);
	if (slen == 0)
		return 0;

	json_tokener *tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	json_object *root = json_tokener_parse_ex(tok, data, (int)slen);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t used = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!root || jerr != json_tokener_success || used != slen) {
		json_object_put(root);
		return fail(err, errlen, "malformed JSON: %s",
			    json_tokener_error_desc(jerr));
	}
	int r = 0;
	if (!json_object_is_type(root, json_type_object)) {
		r = fail(err, errlen, "%s", "version data is not a JSON object");
		goto out;
	}
	json_object *c;
	if (json_object_object_get_ex(root, "capabilities", &c)) {
		if (!json_object_is_type(c, json_type_object)) {
			r = fail(err, errlen, "\"%s\" is not an object",
				 "capabilities");
			goto out;
		}
		r = parse_caps(c, caps, twin_fd_index, err, errlen);
	}
out:
	json_object_put(root);
	return r;
}
