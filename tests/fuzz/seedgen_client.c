/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Seed generator, hostile-server half: the real server's replies to the
 * client session, with one kind of lie each — what a malicious or broken
 * server may send: bad VERSION answers, error replies with odd errnos,
 * region-info capability chains that loop, overflow or point outside,
 * an mmap fd smaller than its region, short or mismatched data, requests
 * of its own outside our DMA windows, broken framing.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "seedgen.h"

/* ctl: mode | DMA_WRITE << 2 | fd class << 3 | NO_REPLY << 6 */
#define REPLY 0
#define ERROR 1
#define RAW 2
#define REQUEST 3
#define FD(c) ((uint8_t)((c) << 3))

struct variant {
	const char *name;
	client_hook hook;
};

static bool is_cmd(const struct rec_msg *m, uint16_t cmd)
{
	return (m->hdr.flags & VU_F_TYPE_MASK) == VU_F_TYPE_REPLY &&
	       m->hdr.command == cmd;
}

static void version_reply(struct buf *out, uint16_t minor, const char *json,
			  uint8_t fdclass)
{
	struct buf b = { 0 };
	struct vu_version v = { .major = 0, .minor = minor };
	buf_put(&b, &v, sizeof(v));
	buf_put(&b, json, strlen(json) + 1);
	client_record(out, REPLY | FD(fdclass), b.p, b.len);
	buf_free(&b);
}

static bool v_bad_json(size_t i, const struct rec_msg *m, struct buf *out, void *a)
{
	if (!is_cmd(m, VU_CMD_VERSION))
		return false;
	version_reply(out, 0, "{\"capabilities\":{\"max_msg_fds\":", 0);
	return true;
}

static bool v_minor(size_t i, const struct rec_msg *m, struct buf *out, void *a)
{
	if (!is_cmd(m, VU_CMD_VERSION))
		return false;
	version_reply(out, 7, "{}", 0);
	return true;
}

static bool v_twin_nofd(size_t i, const struct rec_msg *m, struct buf *out, void *a)
{
	if (!is_cmd(m, VU_CMD_VERSION))
		return false;
	version_reply(out, 0, "{\"capabilities\":{\"twin_socket\":"
		      "{\"supported\":true,\"fd_index\":0}}}", 0);
	return true;
}

static bool v_twin_memfd(size_t i, const struct rec_msg *m, struct buf *out, void *a)
{
	if (!is_cmd(m, VU_CMD_VERSION))
		return false;
	version_reply(out, 0, "{\"capabilities\":{\"twin_socket\":"
		      "{\"supported\":true,\"fd_index\":1}}}", 6);
	return true;
}

static bool v_tiny_limits(size_t i, const struct rec_msg *m, struct buf *out, void *a)
{
	if (!is_cmd(m, VU_CMD_VERSION))
		return false;
	version_reply(out, 0, "{\"capabilities\":{\"max_data_xfer_size\":1,"
		      "\"max_msg_fds\":0,\"max_dma_maps\":1}}", 0);
	return true;
}

static bool v_errors(size_t i, const struct rec_msg *m, struct buf *out, void *a)
{
	static const uint32_t errs[] = { 0, EIO, 4095, 4096, 0xffffffffu, EINTR,
					 EAGAIN, ETIMEDOUT };
	if (is_cmd(m, VU_CMD_VERSION) || (m->hdr.flags & VU_F_TYPE_MASK) != 1)
		return false;
	client_record(out, ERROR, &errs[i % 8], 4);
	return true;
}

/* A region-info reply for @m's region with caps built by @kind. */
static void region_info(struct buf *out, const struct rec_msg *m, int kind)
{
	uint8_t b[32 + 16 + 64 * 16 + 64];
	memset(b, 0, sizeof(b));
	struct vu_region_info ri;
	memcpy(&ri, m->body, sizeof(ri));
	size_t len = 32;
	ri.flags |= VFIO_REGION_INFO_FLAG_CAPS | VFIO_REGION_INFO_FLAG_MMAP |
		    VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
	struct vu_cap_sparse_mmap sp = { .header = { .id = 1, .version = 1 } };
	switch (kind) {
	case 0:   /* 33 areas: more than the client takes */
	case 1:   /* areas outside the region */
		sp.nr_areas = kind ? 2 : 33;
		ri.cap_offset = 32;
		memcpy(b + 32, &sp, sizeof(sp));
		for (unsigned k = 0; k < sp.nr_areas; k++) {
			struct vu_sparse_area ar = { .offset = k * 4096ull,
						     .size = 4096 };
			if (kind)
				ar = (struct vu_sparse_area){ .offset = ri.size - 4096,
							      .size = 8192 };
			memcpy(b + 48 + 16 * k, &ar, 16);
		}
		len = 48 + 16 * sp.nr_areas;
		break;
	case 2:   /* a chain that loops */
		ri.cap_offset = 32;
		sp.header.next = 32;
		memcpy(b + 32, &sp, sizeof(sp));
		len = 48;
		break;
	case 3:   /* caps past the end of the reply, and over the header */
		ri.cap_offset = 4000;
		len = 40;
		break;
	case 4:   /* a type cap cut short, argsz larger than sent */
		ri.cap_offset = 36;
		memcpy(b + 36, &(struct vu_cap_header){ .id = 2, .version = 1 }, 8);
		len = 44;
		ri.argsz = 60;
		break;
	default:  /* mmap-able, no caps: the fd is the whole region */
		ri.flags &= ~VFIO_REGION_INFO_FLAG_CAPS;
		ri.cap_offset = 0;
		break;
	}
	if (kind != 4)
		ri.argsz = (uint32_t)len;
	memcpy(b, &ri, sizeof(ri));
	/* A 4 KiB memfd for a region that is larger. */
	client_record(out, REPLY | FD(1), b, len);
}

static int g_kind;

static bool v_region_caps(size_t i, const struct rec_msg *m, struct buf *out, void *a)
{
	if (!is_cmd(m, VU_CMD_DEVICE_GET_REGION_INFO) ||
	    m->hdr.msg_size < 16 + 32)
		return false;
	region_info(out, m, g_kind);
	return true;
}

static bool v_argsz_grows(size_t i, const struct rec_msg *m, struct buf *out, void *a)
{
	if (!is_cmd(m, VU_CMD_DEVICE_GET_REGION_INFO) ||
	    m->hdr.msg_size < 16 + 32)
		return false;
	struct vu_region_info ri;
	memcpy(&ri, m->body, sizeof(ri));
	for (uint32_t k = 0; k < 4; k++) {
		ri.argsz = 2048u << k;
		client_record(out, REPLY, &ri, sizeof(ri));
	}
	return true;
}

/* Data replies that do not match their request. */
static bool v_bad_data(size_t i, const struct rec_msg *m, struct buf *out, void *a)
{
	if (!is_cmd(m, VU_CMD_REGION_READ) && !is_cmd(m, VU_CMD_REGION_WRITE) &&
	    !is_cmd(m, VU_CMD_DMA_UNMAP) && !is_cmd(m, VU_CMD_DEVICE_GET_INFO) &&
	    !is_cmd(m, VU_CMD_DEVICE_GET_IRQ_INFO))
		return false;
	size_t len = m->hdr.msg_size - 16;
	uint8_t b[64];
	memcpy(b, m->body, len < sizeof(b) ? len : sizeof(b));
	switch (i % 4) {
	case 0:   /* short */
		client_record(out, REPLY, b, len ? len - 1 : 0);
		break;
	case 1:   /* other fields */
		b[0] ^= 0x40;
		if (len > 12)
			b[12] ^= 1;
		client_record(out, REPLY, b, len < sizeof(b) ? len : sizeof(b));
		break;
	case 2:   /* longer, and with an fd */
		memset(b + (len < 48 ? len : 48), 0xee, 16);
		client_record(out, REPLY | FD(5), b, (len < 48 ? len : 48) + 16);
		break;
	default:  /* nothing at all */
		client_record(out, REPLY, NULL, 0);
		break;
	}
	return true;
}

/* The server's own requests, before each reply: mostly wrong. */
static bool v_requests(size_t i, const struct rec_msg *m, struct buf *out, void *a)
{
	if (is_cmd(m, VU_CMD_VERSION) || (m->hdr.flags & VU_F_TYPE_MASK) != 1)
		return false;
	const struct { uint64_t addr, count; } rq[] = {
		{ 0x100000, 64 }, { 0x100000 + 16384 - 8, 16 }, { 0, 4 },
		{ UINT64_MAX - 3, 8 }, { 0x100000, 0 }, { 0x100000, 1u << 30 },
	};
	uint8_t b[16 + 64];
	memset(b, 0x3c, sizeof(b));
	memcpy(b, &rq[i % 6], 16);
	uint8_t ctl = REQUEST | (i & 1 ? 4 : 0) | (i % 5 == 0 ? 0x40 : 0) |
		      (i % 7 == 0 ? FD(5) : 0);
	client_record(out, ctl, b, i & 1 ? 16 + (size_t)(rq[i % 6].count <= 64 ?
						       rq[i % 6].count : 8) : 16);
	/* An unsupported command and a reply to nothing, raw. */
	struct vu_hdr h = { .msg_id = 9, .command = (uint16_t)(i % 3 ? 99 : 4),
			    .msg_size = 16, .flags = i % 3 ? 0 : 1 };
	client_record(out, RAW, &h, sizeof(h));
	return false;   /* and then the real reply */
}

static bool v_framing(size_t i, const struct rec_msg *m, struct buf *out, void *a)
{
	if (!is_cmd(m, VU_CMD_DEVICE_GET_IRQ_INFO))
		return false;
	struct vu_hdr h = m->hdr;
	uint8_t b[16 + 16];
	switch (i % 3) {
	case 0:
		h.msg_size = 8;             /* impossible */
		break;
	case 1:
		h.msg_size = 0x7fffffff;    /* more than the client takes */
		break;
	default:
		h.msg_size = 48;            /* the stream ends inside it */
		break;
	}
	memcpy(b, &h, 16);
	memcpy(b + 16, m->body, 16);
	client_record(out, RAW, b, sizeof(b));
	return true;
}

void client_variants(const struct recording *session, uint8_t cfg)
{
	static const struct variant v[] = {
		{ "var-version-bad-json", v_bad_json },
		{ "var-version-minor", v_minor },
		{ "var-version-twin-no-fd", v_twin_nofd },
		{ "var-version-twin-not-socket", v_twin_memfd },
		{ "var-version-tiny-limits", v_tiny_limits },
		{ "var-error-replies", v_errors },
		{ "var-region-argsz-grows", v_argsz_grows },
		{ "var-bad-data", v_bad_data },
		{ "var-server-requests", v_requests },
		{ "var-framing", v_framing },
	};
	struct buf b = { 0 };
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		rec_to_client_seed(session, cfg, &b, v[i].hook, NULL);
		seed_out("client", v[i].name, &b);
		buf_free(&b);
	}
	static const char *const caps[] = {
		"var-region-33-areas", "var-region-area-outside",
		"var-region-cap-loop", "var-region-cap-outside",
		"var-region-cap-short", "var-region-mmap-small-fd",
	};
	for (int k = 0; k < 6; k++) {
		g_kind = k;
		rec_to_client_seed(session, cfg, &b, v_region_caps, NULL);
		seed_out("client", caps[k], &b);
		buf_free(&b);
	}
}
