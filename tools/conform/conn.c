/* SPDX-License-Identifier: BSD-3-Clause */
/* Connections, message exchange with a deadline, and the shared session. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "conform.h"

/* Unspecified errno in an error reply (the spec allows 0). */
#define CF_ERR_UNSPEC 65536

const char cf_client_json[] =
	"{\"capabilities\":{\"max_msg_fds\":16,"
	"\"max_data_xfer_size\":1048576,\"max_dma_maps\":65535,"
	"\"pgsizes\":4096}}";

/* Replies may carry up to 64 MiB of data (QEMU's ceiling). */
static const struct vu_limits cf_lim = {
	.max_msg_size = (64u << 20) + 4096, .max_fds = 16,
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *cf_errname(int err, char *buf, size_t len)
{
	if (err == CF_ERR_UNSPEC)
		snprintf(buf, len, "errno 0 (unspecified)");
	else
		snprintf(buf, len, "%s (%d)", strerror(err), err);
	return buf;
}

static void dump(struct cf_ctx *ctx, const char *dir, const struct vu_hdr *h,
		 const uint8_t *p, size_t len, unsigned nfds)
{
	if (!ctx->verbose)
		return;
	fprintf(stderr, "%s id %u %s (%u) flags 0x%x size %u", dir, h->msg_id,
		uvfio_command_name(h->command), h->command, h->flags, h->msg_size);
	if (h->flags & VU_F_ERROR)
		fprintf(stderr, " error %u", h->error);
	if (nfds)
		fprintf(stderr, " fds %u", nfds);
	size_t n = len < 48 ? len : 48;
	if (n)
		fputs(" :", stderr);
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, " %02x", p[i]);
	fprintf(stderr, "%s\n", n < len ? " ..." : "");
}

int cf_connect(struct cf_ctx *ctx, struct cf_conn *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(c, 0, sizeof(*c));
	vu_rx_init(&c->rx);
	c->sock = -1;
	c->next_id = 1;
	if (strlen(ctx->path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, ctx->path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	c->sock = fd;
	if (ctx->verbose)
		fprintf(stderr, "-- connected to %s\n", ctx->path);
	return 0;
}

void cf_close(struct cf_conn *c)
{
	if (c->sock >= 0)
		close(c->sock);
	c->sock = -1;
	vu_rx_fini(&c->rx);
}

int cf_send(struct cf_ctx *ctx, struct cf_conn *c, uint16_t cmd,
	    uint32_t flags, const void *p, size_t len, const int *fds,
	    unsigned nfds, uint16_t *id)
{
	struct vu_hdr h = { .msg_id = c->next_id++, .command = cmd,
			    .flags = flags };
	struct iovec iov = { (void *)p, len };
	int r = vu_send(c->sock, &h, &iov, len ? 1 : 0, fds, nfds,
			ctx->timeout_ms);
	dump(ctx, "->", &h, p, len, nfds);
	if (id)
		*id = h.msg_id;
	return r;
}

/* A command from the server while we wait: we offer no DMA, refuse it. */
static void refuse_server_command(struct cf_ctx *ctx, struct cf_conn *c)
{
	if (c->rx.hdr.flags & VU_F_NO_REPLY)
		return;
	struct vu_hdr h = {
		.msg_id = c->rx.hdr.msg_id, .command = c->rx.hdr.command,
		.flags = VU_F_TYPE_REPLY | VU_F_ERROR, .error = ENODEV,
	};
	vu_send(c->sock, &h, NULL, 0, NULL, 0, ctx->timeout_ms);
	dump(ctx, "->", &h, NULL, 0, 0);
}

int cf_wait(struct cf_ctx *ctx, struct cf_conn *c, uint16_t id, uint16_t cmd,
	    char *why, size_t whylen)
{
	int64_t deadline = now_ms() + ctx->timeout_ms;

	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			left = 0;
		vu_rx_release(&c->rx);
		int r = vu_recv(&c->rx, c->sock, &cf_lim, (int)left);
		if (r == -ETIMEDOUT) {
			snprintf(why, whylen, "timeout: no reply to %s within %d ms",
				 uvfio_command_name(cmd), ctx->timeout_ms);
			return r;
		}
		if (r == -ECONNRESET) {
			snprintf(why, whylen, "connection closed by the server "
				 "instead of a reply to %s", uvfio_command_name(cmd));
			return r;
		}
		if (r < 0) {
			snprintf(why, whylen, "receive: %s", strerror(-r));
			return r == -EMSGSIZE ? -EPROTO : r;
		}
		const struct vu_hdr *h = &c->rx.hdr;
		dump(ctx, "<-", h, c->rx.buf, vu_rx_len(&c->rx), c->rx.nfds);
		if ((h->flags & VU_F_TYPE_MASK) == VU_F_TYPE_COMMAND) {
			refuse_server_command(ctx, c);
			continue;
		}
		if ((h->flags & VU_F_TYPE_MASK) != VU_F_TYPE_REPLY ||
		    h->msg_id != id || h->command != cmd) {
			snprintf(why, whylen, "expected the reply to %s id %u, got "
				 "command %u id %u flags 0x%x",
				 uvfio_command_name(cmd), id, h->command,
				 h->msg_id, h->flags);
			return -EPROTO;
		}
		if (h->flags & VU_F_ERROR) {
			if (h->msg_size != sizeof(struct vu_hdr) || c->rx.nfds) {
				snprintf(why, whylen, "error reply to %s carries %u "
					 "payload bytes and %u fds (must be the "
					 "header alone)", uvfio_command_name(cmd),
					 vu_rx_len(&c->rx), c->rx.nfds);
				return -EPROTO;
			}
			return h->error ? (int)(h->error & 0xffff) : CF_ERR_UNSPEC;
		}
		return 0;
	}
}

int cf_call(struct cf_ctx *ctx, struct cf_conn *c, uint16_t cmd,
	    const void *p, size_t len, const int *fds, unsigned nfds,
	    char *why, size_t whylen)
{
	uint16_t id;
	int r = cf_send(ctx, c, cmd, VU_F_TYPE_COMMAND, p, len, fds, nfds, &id);
	if (r == -ETIMEDOUT) {
		snprintf(why, whylen, "timeout: the server did not take %s "
			 "within %d ms", uvfio_command_name(cmd), ctx->timeout_ms);
		return r;
	}
	if (r < 0) {
		snprintf(why, whylen, "send %s: %s", uvfio_command_name(cmd),
			 strerror(-r));
		return r;
	}
	return cf_wait(ctx, c, id, cmd, why, whylen);
}

int cf_version(struct cf_ctx *ctx, struct cf_conn *c, uint16_t major,
	       uint16_t minor, const char *json, char *why, size_t whylen)
{
	size_t jl = json ? strlen(json) + 1 : 0;
	uint8_t *buf = calloc(1, sizeof(struct vu_version) + jl);
	if (!buf) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	struct vu_version v = { .major = major, .minor = minor };
	memcpy(buf, &v, sizeof(v));
	if (jl)
		memcpy(buf + sizeof(v), json, jl);
	int r = cf_call(ctx, c, VU_CMD_VERSION, buf, sizeof(v) + jl, NULL, 0,
			why, whylen);
	free(buf);
	return r;
}

struct cf_conn *cf_session(struct cf_ctx *ctx, struct cf_res *r)
{
	char why[256];

	if (ctx->c.sock >= 0)
		return &ctx->c;
	if (ctx->session_dead) {
		cf_skip(r, "no vfio-user session (%s)", ctx->session_err);
		return NULL;
	}
	int e = cf_connect(ctx, &ctx->c);
	if (e < 0) {
		snprintf(ctx->session_err, sizeof(ctx->session_err),
			 "connect: %s", strerror(-e));
		goto dead;
	}
	e = cf_version(ctx, &ctx->c, 0, 0, cf_client_json, why, sizeof(why));
	if (e == 0)
		return &ctx->c;
	if (e > 0)
		snprintf(ctx->session_err, sizeof(ctx->session_err),
			 "VERSION refused: %.60s", cf_errname(e, why, sizeof(why)));
	else
		snprintf(ctx->session_err, sizeof(ctx->session_err),
			 "VERSION: %.140s", why);
	cf_close(&ctx->c);
dead:
	ctx->session_dead = true;
	cf_skip(r, "no vfio-user session (%s)", ctx->session_err);
	return NULL;
}

void cf_session_drop(struct cf_ctx *ctx)
{
	if (ctx->c.sock >= 0 && ctx->verbose)
		fprintf(stderr, "-- dropping the session\n");
	cf_close(&ctx->c);
}

int cf_sess_call(struct cf_ctx *ctx, struct cf_res *r, uint16_t cmd,
		 const void *p, size_t len, const int *fds, unsigned nfds)
{
	struct cf_conn *c = cf_session(ctx, r);
	if (!c)
		return -ENOTCONN;
	int e = cf_call(ctx, c, cmd, p, len, fds, nfds, r->reason,
			sizeof(r->reason));
	if (e < 0)
		cf_session_drop(ctx);
	return e;
}

int cf_region_read(struct cf_ctx *ctx, struct cf_res *r, uint32_t region,
		   uint64_t off, void *buf, uint32_t count)
{
	struct vu_region_rw rw = { .offset = off, .region = region,
				   .count = count };
	int e = cf_sess_call(ctx, r, VU_CMD_REGION_READ, &rw, sizeof(rw),
			     NULL, 0);
	if (e != 0)
		return e;
	struct cf_conn *c = &ctx->c;
	struct vu_region_rw got;
	if (vu_rx_len(&c->rx) != sizeof(rw) + count) {
		snprintf(r->reason, sizeof(r->reason), "REGION_READ of %u bytes "
			 "answered with %u payload bytes (expected %zu)", count,
			 vu_rx_len(&c->rx), sizeof(rw) + count);
		return -EPROTO;
	}
	memcpy(&got, c->rx.buf, sizeof(got));
	if (got.offset != off || got.region != region || got.count != count) {
		snprintf(r->reason, sizeof(r->reason), "REGION_READ reply header "
			 "(region %u offset 0x%llx count %u) does not echo the "
			 "request (region %u offset 0x%llx count %u)", got.region,
			 (unsigned long long)got.offset, got.count, region,
			 (unsigned long long)off, count);
		return -EPROTO;
	}
	memcpy(buf, c->rx.buf + sizeof(rw), count);
	return 0;
}

int cf_region_write(struct cf_ctx *ctx, struct cf_res *r, uint32_t region,
		    uint64_t off, const void *buf, uint32_t count)
{
	uint8_t msg[sizeof(struct vu_region_rw) + 64];
	if (count > 64)
		return -EINVAL;
	struct vu_region_rw rw = { .offset = off, .region = region,
				   .count = count };
	memcpy(msg, &rw, sizeof(rw));
	memcpy(msg + sizeof(rw), buf, count);
	return cf_sess_call(ctx, r, VU_CMD_REGION_WRITE, msg, sizeof(rw) + count,
			    NULL, 0);
}

int cf_cfg_read32(struct cf_ctx *ctx, struct cf_res *r, uint32_t off,
		  uint32_t *v)
{
	uint8_t b[4];
	int e = cf_region_read(ctx, r, VFIO_PCI_CONFIG_REGION_INDEX, off, b, 4);
	if (e == 0)
		*v = cf_le32(b);
	return e;
}

int cf_cfg_write32(struct cf_ctx *ctx, struct cf_res *r, uint32_t off,
		   uint32_t v)
{
	uint8_t b[4] = { v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >> 24 };
	return cf_region_write(ctx, r, VFIO_PCI_CONFIG_REGION_INDEX, off, b, 4);
}

bool cf_still_alive(struct cf_ctx *ctx, struct cf_res *r)
{
	struct vu_device_info in = { .argsz = sizeof(in) };
	struct cf_res tmp = { { 0 } };
	int e = cf_sess_call(ctx, &tmp, VU_CMD_DEVICE_GET_INFO, &in, sizeof(in),
			     NULL, 0);
	if (e == 0)
		return true;
	char eb[64];
	cf_fail(r, "the connection did not keep working: DEVICE_GET_INFO %s",
		e > 0 ? cf_errname(e, eb, sizeof(eb)) : tmp.reason);
	return false;
}

static enum cf_result set_reason(struct cf_res *r, enum cf_result res,
				 const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

static enum cf_result set_reason(struct cf_res *r, enum cf_result res,
				 const char *fmt, va_list ap)
{
	vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
	return res;
}

enum cf_result cf_fail(struct cf_res *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	enum cf_result res = set_reason(r, CF_FAIL, fmt, ap);
	va_end(ap);
	return res;
}

enum cf_result cf_skip(struct cf_res *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	enum cf_result res = set_reason(r, CF_SKIP, fmt, ap);
	va_end(ap);
	return res;
}
