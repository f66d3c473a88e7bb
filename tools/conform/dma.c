/* SPDX-License-Identifier: BSD-3-Clause */
/* DMA_MAP / DMA_UNMAP rules: exact unmaps, EEXIST on overlap, unmap-all. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "conform.h"

#define SPEC_MAP   "VFIO_USER_DMA_MAP"
#define SPEC_UNMAP "VFIO_USER_DMA_UNMAP"

/* Far from anything a real client would map. */
#define IOVA_BASE  0x4000000000ull
#define WIN        0x10000ull

static int dma_map(struct cf_ctx *ctx, struct cf_res *r, uint64_t iova,
		   uint64_t size, int fd)
{
	struct vu_dma_map m = {
		.argsz = sizeof(m), .flags = VU_DMA_FLAG_READ | VU_DMA_FLAG_WRITE,
		.addr = iova, .size = size,
	};
	return cf_sess_call(ctx, r, VU_CMD_DMA_MAP, &m, sizeof(m),
			    fd >= 0 ? &fd : NULL, fd >= 0 ? 1 : 0);
}

static int dma_unmap(struct cf_ctx *ctx, struct cf_res *r, uint64_t iova,
		     uint64_t size, uint32_t flags)
{
	struct vu_dma_unmap u = { .argsz = sizeof(u), .flags = flags,
				  .addr = iova, .size = size };
	return cf_sess_call(ctx, r, VU_CMD_DMA_UNMAP, &u, sizeof(u), NULL, 0);
}

/* Best effort, for cleanup after a failure. */
static void unmap_quietly(struct cf_ctx *ctx, uint64_t iova, uint64_t size)
{
	struct cf_res tmp = { { 0 } };
	dma_unmap(ctx, &tmp, iova, size, 0);
}

static enum cf_result map_or_fail(struct cf_ctx *ctx, struct cf_res *r,
				  uint64_t iova, uint64_t size, int fd)
{
	char eb[64];
	int e = dma_map(ctx, r, iova, size, fd);
	if (e > 0)
		return cf_fail(r, "DMA_MAP [0x%llx, +0x%llx)%s refused: %s",
			       (unsigned long long)iova, (unsigned long long)size,
			       fd >= 0 ? " with an fd" : "",
			       cf_errname(e, eb, sizeof(eb)));
	return e < 0 ? CF_FAIL : CF_PASS;
}

/* Unmap exactly, and check the reply echoes the request. */
static enum cf_result unmap_or_fail(struct cf_ctx *ctx, struct cf_res *r,
				    uint64_t iova, uint64_t size)
{
	char eb[64];
	int e = dma_unmap(ctx, r, iova, size, 0);
	if (e > 0)
		return cf_fail(r, "DMA_UNMAP of the mapped [0x%llx, +0x%llx) "
			       "refused: %s", (unsigned long long)iova,
			       (unsigned long long)size,
			       cf_errname(e, eb, sizeof(eb)));
	if (e < 0)
		return CF_FAIL;
	struct vu_dma_unmap u;
	if (vu_rx_len(&ctx->c.rx) < sizeof(u))
		return cf_fail(r, "DMA_UNMAP reply of %u bytes: the reply is the "
			       "original DMA entry (24 bytes)",
			       vu_rx_len(&ctx->c.rx));
	memcpy(&u, ctx->c.rx.buf, sizeof(u));
	if (u.addr != iova || u.size != size)
		return cf_fail(r, "DMA_UNMAP reply names [0x%llx, +0x%llx), not "
			       "the request's", (unsigned long long)u.addr,
			       (unsigned long long)u.size);
	return CF_PASS;
}

static bool have_session(struct cf_ctx *ctx, struct cf_res *r)
{
	return cf_session(ctx, r) != NULL;
}

static enum cf_result d_map_unmap(struct cf_ctx *ctx, struct cf_res *r)
{
	if (!have_session(ctx, r))
		return CF_SKIP;
	if (map_or_fail(ctx, r, IOVA_BASE, WIN, -1) != CF_PASS)
		return CF_FAIL;
	return unmap_or_fail(ctx, r, IOVA_BASE, WIN);
}

static enum cf_result d_memfd(struct cf_ctx *ctx, struct cf_res *r)
{
	if (!have_session(ctx, r))
		return CF_SKIP;
	if (ctx->have_caps && ctx->srv_max_msg_fds == 0)
		return cf_skip(r, "the server accepts no fds (max_msg_fds 0)");
	int fd = memfd_create("uvfio-conform-dma", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)WIN) < 0) {
		if (fd >= 0)
			close(fd);
		return cf_skip(r, "memfd: %s", strerror(errno));
	}
	enum cf_result res = map_or_fail(ctx, r, IOVA_BASE + 0x100000, WIN, fd);
	close(fd);
	if (res != CF_PASS)
		return res;
	return unmap_or_fail(ctx, r, IOVA_BASE + 0x100000, WIN);
}

static enum cf_result d_overlap(struct cf_ctx *ctx, struct cf_res *r)
{
	char eb[64];
	if (!have_session(ctx, r))
		return CF_SKIP;
	uint64_t base = IOVA_BASE + 0x200000;
	if (map_or_fail(ctx, r, base, WIN, -1) != CF_PASS)
		return CF_FAIL;
	static const struct { int64_t off; uint64_t size; const char *what; }
	over[] = {
		{ 0, WIN, "the same window" },
		{ 0x1000, 0x1000, "a page inside" },
		{ -0x1000, 0x2000, "a window straddling the start" },
		{ (int64_t)WIN - 0x1000, 0x2000, "a window straddling the end" },
	};
	for (size_t i = 0; i < sizeof(over) / sizeof(over[0]); i++) {
		uint64_t iova = (uint64_t)((int64_t)base + over[i].off);
		int e = dma_map(ctx, r, iova, over[i].size, -1);
		if (e == 0)
			unmap_quietly(ctx, iova, over[i].size);
		if (e < 0)
			return CF_FAIL;
		if (e != EEXIST) {
			unmap_quietly(ctx, base, WIN);
			return cf_fail(r, "mapping %s of a mapped window: %s "
				       "(expected EEXIST)", over[i].what,
				       e ? cf_errname(e, eb, sizeof(eb)) : "success");
		}
	}
	return unmap_or_fail(ctx, r, base, WIN);
}

static enum cf_result d_unmap_unknown(struct cf_ctx *ctx, struct cf_res *r)
{
	char eb[64];
	if (!have_session(ctx, r))
		return CF_SKIP;
	uint64_t base = IOVA_BASE + 0x400000;
	int e = dma_unmap(ctx, r, base + 0x100000, 0x1000, 0);
	if (e == 0)
		return cf_fail(r, "unmap of a range never mapped succeeded");
	if (e < 0)
		return CF_FAIL;
	snprintf(r->reason, sizeof(r->reason), "never mapped: %s",
		 cf_errname(e, eb, sizeof(eb)));
	if (map_or_fail(ctx, r, base, WIN, -1) != CF_PASS)
		return CF_FAIL;
	e = dma_unmap(ctx, r, base, 0x1000, 0);
	if (e == 0) {
		unmap_quietly(ctx, base + 0x1000, WIN - 0x1000);
		return cf_fail(r, "unmap of the first page of a 64 KiB window "
			       "succeeded (unmaps must match a map exactly)");
	}
	if (e < 0)
		return CF_FAIL;
	size_t n = strlen(r->reason);
	snprintf(r->reason + n, sizeof(r->reason) - n, "; partial: %s",
		 cf_errname(e, eb, sizeof(eb)));
	char keep[sizeof(r->reason)];
	memcpy(keep, r->reason, sizeof(keep));
	if (unmap_or_fail(ctx, r, base, WIN) != CF_PASS)
		return CF_FAIL;
	memcpy(r->reason, keep, sizeof(keep));
	return CF_PASS;
}

static enum cf_result d_unmap_all(struct cf_ctx *ctx, struct cf_res *r)
{
	char eb[64];
	if (!have_session(ctx, r))
		return CF_SKIP;
	uint64_t a = IOVA_BASE + 0x600000, b = IOVA_BASE + 0x800000;
	if (map_or_fail(ctx, r, a, WIN, -1) != CF_PASS)
		return CF_FAIL;
	if (map_or_fail(ctx, r, b, WIN, -1) != CF_PASS) {
		unmap_quietly(ctx, a, WIN);
		return CF_FAIL;
	}
	int e = dma_unmap(ctx, r, 0, 0, VU_DMA_UNMAP_FLAG_ALL);
	if (e < 0)
		return CF_FAIL;
	if (e > 0) {
		unmap_quietly(ctx, a, WIN);
		unmap_quietly(ctx, b, WIN);
		return cf_skip(r, "VFIO_DMA_UNMAP_FLAG_ALL not supported (%s)",
			       cf_errname(e, eb, sizeof(eb)));
	}
	e = dma_unmap(ctx, r, a, WIN, 0);
	if (e == 0)
		return cf_fail(r, "a window was still mapped after unmap-all");
	if (e < 0)
		return CF_FAIL;
	r->reason[0] = '\0';
	return CF_PASS;
}

const struct cf_check cf_checks_dma[] = {
	{ "dma.map-unmap", "an fd-less window maps and unmaps exactly; the "
	  "unmap reply echoes the request", SPEC_UNMAP, d_map_unmap },
	{ "dma.map-memfd", "a window backed by a memfd maps and unmaps",
	  SPEC_MAP, d_memfd },
	{ "dma.overlap", "a map overlapping a mapped window fails with EEXIST",
	  SPEC_MAP, d_overlap },
	{ "dma.unmap-unmapped", "unmaps of ranges never mapped, or of part of a "
	  "window, are refused", SPEC_UNMAP, d_unmap_unknown },
	{ "dma.unmap-all", "VFIO_DMA_UNMAP_FLAG_ALL unmaps every window",
	  SPEC_UNMAP, d_unmap_all },
	{ NULL, NULL, NULL, NULL },
};
