/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * uvfio-conform: a conformance checker for any vfio-user server.  It
 * speaks raw vfio-user through src/wire (no client library), so that it
 * can send requests a well-behaved client never would and see the exact
 * replies.  Checks are small functions over one shared context; each
 * reports PASS, FAIL or SKIP with a reason.
 */
#ifndef UVFIO_CONFORM_H
#define UVFIO_CONFORM_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/wire.h"

struct json_object;

enum cf_result { CF_PASS, CF_FAIL, CF_SKIP };

/* One connection to the server under test. */
struct cf_conn {
	int sock;
	struct vu_rx rx;
	uint16_t next_id;
};

#define CF_MAX_REGIONS 100      /* QEMU refuses more */
#define CF_MAX_IRQS    50
#define CF_CFG_MAX     4096

struct cf_region {
	bool ok;                 /* GET_REGION_INFO answered */
	uint32_t flags;
	uint64_t size;
};

struct cf_irq {
	bool ok;
	uint32_t flags, count;
};

/* What BAR sizing through config space found, per BAR register. */
struct cf_bar {
	bool done;               /* sized (or found absent) */
	bool upper;              /* upper half of the previous 64-bit BAR */
	bool io, mem64, prefetch;
	uint64_t size;           /* 0: not implemented */
};

struct cf_ctx {
	const char *path;
	int timeout_ms;
	bool verbose, json, allow_writes;

	/*
	 * The connection that showed PATH is a listening socket, kept for the
	 * first check: a server that serves a single client then sees one.
	 */
	struct cf_conn first;
	bool have_first;

	/* The session most checks use; sock < 0 when there is none. */
	struct cf_conn c;
	bool session_dead;       /* opening a session failed: stop trying */
	char session_err[160];

	/* What the server said in VERSION. */
	bool have_caps;
	uint16_t minor;
	uint32_t srv_max_msg_fds;
	uint32_t srv_max_data_xfer;
	uint32_t srv_max_dma_maps;
	uint64_t srv_pgsizes;

	/* What discovery found (filled by the info checks). */
	bool have_info;
	uint32_t dev_flags, num_regions, num_irqs;
	struct cf_region regions[CF_MAX_REGIONS];
	struct cf_irq irqs[CF_MAX_IRQS];
	bool have_config;
	uint32_t config_size;    /* bytes of config space read */
	uint8_t config[CF_CFG_MAX];
	bool bars_tried, have_bars;
	char bar_err[256];       /* what BAR sizing found wrong, or "" */
	unsigned nbars;          /* 6 for a type 0 header, 2 for a bridge */
	struct cf_bar bars[7];   /* 0-5 BARs, 6 ROM */

	/* Results. */
	unsigned passed, failed, skipped;
	struct json_object *jresults;
};

/* Where a check writes why it failed or was skipped. */
struct cf_res {
	char reason[512];
};

enum cf_result cf_fail(struct cf_res *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
enum cf_result cf_skip(struct cf_res *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

struct cf_check {
	const char *id;
	const char *desc;
	const char *spec;        /* section of vfio-user.rst */
	enum cf_result (*run)(struct cf_ctx *ctx, struct cf_res *r);
};

/* The check tables, in the order they run. */
extern const struct cf_check cf_checks_version[];
extern const struct cf_check cf_checks_info[];
extern const struct cf_check cf_checks_config[];
extern const struct cf_check cf_checks_errors[];
extern const struct cf_check cf_checks_dma[];
extern const struct cf_check cf_checks_misc[];

/* ---- connections (conn.c) ---- */

/* Connect to ctx->path; 0 or -errno. */
int cf_connect(struct cf_ctx *ctx, struct cf_conn *c);
void cf_close(struct cf_conn *c);
/* Send one message; returns 0 or -errno.  *id receives its msg_id. */
int cf_send(struct cf_ctx *ctx, struct cf_conn *c, uint16_t cmd,
	    uint32_t flags, const void *p, size_t len, const int *fds,
	    unsigned nfds, uint16_t *id);
/*
 * Receive the reply to (@id, @cmd) within the timeout.  Commands the
 * server sends meanwhile are refused with an error reply.  Returns 0 for
 * a success reply (payload in c->rx), > 0 (the errno) for an error reply,
 * or -errno: -ETIMEDOUT, -ECONNRESET, -EPROTO for a reply that breaks the
 * rules (reason in @why).
 */
int cf_wait(struct cf_ctx *ctx, struct cf_conn *c, uint16_t id, uint16_t cmd,
	    char *why, size_t whylen);
/* cf_send + cf_wait. */
int cf_call(struct cf_ctx *ctx, struct cf_conn *c, uint16_t cmd,
	    const void *p, size_t len, const int *fds, unsigned nfds,
	    char *why, size_t whylen);
/*
 * VERSION 0.@minor with @json (NULL: none).  Returns as cf_call; on
 * success the reply is in c->rx.
 */
int cf_version(struct cf_ctx *ctx, struct cf_conn *c, uint16_t major,
	       uint16_t minor, const char *json, char *why, size_t whylen);
/* The JSON uvfio-conform proposes. */
extern const char cf_client_json[];

/*
 * The session checks share: opened (connect + VERSION) when missing.
 * Returns NULL (reason in @r, result SKIP) when none can be had.
 */
struct cf_conn *cf_session(struct cf_ctx *ctx, struct cf_res *r);
/* Drop the session (after a timeout or a close), reopened on demand. */
void cf_session_drop(struct cf_ctx *ctx);

/*
 * Session helpers.  Each returns 0, > 0 for an error reply's errno, or
 * -errno (transport trouble; the session is then dropped and @r says why).
 */
int cf_sess_call(struct cf_ctx *ctx, struct cf_res *r, uint16_t cmd,
		 const void *p, size_t len, const int *fds, unsigned nfds);
int cf_region_read(struct cf_ctx *ctx, struct cf_res *r, uint32_t region,
		   uint64_t off, void *buf, uint32_t count);
int cf_region_write(struct cf_ctx *ctx, struct cf_res *r, uint32_t region,
		    uint64_t off, const void *buf, uint32_t count);
int cf_cfg_read32(struct cf_ctx *ctx, struct cf_res *r, uint32_t off,
		  uint32_t *v);
int cf_cfg_write32(struct cf_ctx *ctx, struct cf_res *r, uint32_t off,
		   uint32_t v);
/* GET_INFO succeeds: the session survived what came before. */
bool cf_still_alive(struct cf_ctx *ctx, struct cf_res *r);

/* "EINVAL (22)" */
const char *cf_errname(int err, char *buf, size_t len);

/* ---- discovery shared by the checks (info.c) ---- */

/* Make sure ctx->have_info/have_config are set; false (SKIP in @r) if not. */
bool cf_need_info(struct cf_ctx *ctx, struct cf_res *r);
bool cf_need_config(struct cf_ctx *ctx, struct cf_res *r);
/* Standard / extended capability offset of @id, or 0. */
unsigned cf_find_cap(const struct cf_ctx *ctx, uint8_t id);
static inline uint16_t cf_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}
static inline uint32_t cf_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

#endif
