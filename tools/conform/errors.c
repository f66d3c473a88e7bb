/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Invalid requests get an error reply (the header alone), and the
 * connection keeps working after each.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "conform.h"

/*
 * @what must be answered with an error reply.  Returns CF_PASS (the errno
 * appended to @r's note), or CF_FAIL with the reason.
 */
static enum cf_result expect_error(struct cf_ctx *ctx, struct cf_res *r,
				   const char *what, uint16_t cmd, const void *p,
				   size_t len)
{
	char eb[64];
	int e = cf_sess_call(ctx, r, cmd, p, len, NULL, 0);
	if (e == 0)
		return cf_fail(r, "%s: answered with success", what);
	if (e < 0) {
		char why[sizeof(r->reason)];
		snprintf(why, sizeof(why), "%s", r->reason);
		return cf_fail(r, "%s: %s", what, why);
	}
	size_t n = strlen(r->reason);
	snprintf(r->reason + n, sizeof(r->reason) - n, "%s%s: %s",
		 n ? "; " : "", what, cf_errname(e, eb, sizeof(eb)));
	return CF_PASS;
}

/* Run a list of expect_error() then check the session still works. */
#define EXPECT(what, cmd, p, len) do { \
		if (expect_error(ctx, r, what, cmd, p, len) != CF_PASS) \
			return CF_FAIL; \
	} while (0)

static enum cf_result alive(struct cf_ctx *ctx, struct cf_res *r)
{
	return cf_still_alive(ctx, r) ? CF_PASS : CF_FAIL;
}

static enum cf_result e_region_index(struct cf_ctx *ctx, struct cf_res *r)
{
	if (!cf_need_info(ctx, r))
		return CF_SKIP;
	struct vu_region_info a = { .argsz = 32, .index = ctx->num_regions };
	struct vu_region_info b = { .argsz = 32, .index = 0xffffffffu };
	EXPECT("index num_regions", VU_CMD_DEVICE_GET_REGION_INFO, &a, sizeof(a));
	EXPECT("index 0xffffffff", VU_CMD_DEVICE_GET_REGION_INFO, &b, sizeof(b));
	struct vu_region_rw rd = { .region = ctx->num_regions, .count = 4 };
	EXPECT("REGION_READ of region num_regions", VU_CMD_REGION_READ, &rd,
	       sizeof(rd));
	return alive(ctx, r);
}

static enum cf_result e_irq_index(struct cf_ctx *ctx, struct cf_res *r)
{
	if (!cf_need_info(ctx, r))
		return CF_SKIP;
	struct vu_irq_info a = { .argsz = 16, .index = ctx->num_irqs };
	struct vu_irq_info b = { .argsz = 16, .index = 0xffffffffu };
	EXPECT("index num_irqs", VU_CMD_DEVICE_GET_IRQ_INFO, &a, sizeof(a));
	EXPECT("index 0xffffffff", VU_CMD_DEVICE_GET_IRQ_INFO, &b, sizeof(b));
	return alive(ctx, r);
}

static enum cf_result e_argsz(struct cf_ctx *ctx, struct cf_res *r)
{
	if (!cf_need_info(ctx, r))
		return CF_SKIP;
	struct vu_device_info i = { .argsz = 8 };
	struct vu_region_info g = { .argsz = 16,
				    .index = VFIO_PCI_CONFIG_REGION_INDEX };
	struct vu_irq_info q = { .argsz = 8, .index = 0 };
	EXPECT("GET_INFO argsz 8", VU_CMD_DEVICE_GET_INFO, &i, sizeof(i));
	EXPECT("GET_REGION_INFO argsz 16", VU_CMD_DEVICE_GET_REGION_INFO, &g,
	       sizeof(g));
	EXPECT("GET_IRQ_INFO argsz 8", VU_CMD_DEVICE_GET_IRQ_INFO, &q, sizeof(q));
	return alive(ctx, r);
}

static enum cf_result e_short(struct cf_ctx *ctx, struct cf_res *r)
{
	if (!cf_need_info(ctx, r))
		return CF_SKIP;
	uint8_t z[12];
	memset(z, 0, sizeof(z));
	EXPECT("GET_REGION_INFO of 12 bytes", VU_CMD_DEVICE_GET_REGION_INFO, z,
	       sizeof(z));
	EXPECT("REGION_READ of 12 bytes", VU_CMD_REGION_READ, z, sizeof(z));
	EXPECT("DMA_MAP of 12 bytes", VU_CMD_DMA_MAP, z, sizeof(z));
	return alive(ctx, r);
}

/* The reply to a too-small argsz says the size needed, without the data. */
static enum cf_result e_small_argsz(struct cf_ctx *ctx, struct cf_res *r)
{
	char eb[64];
	if (!cf_need_info(ctx, r))
		return CF_SKIP;
	for (uint32_t i = 0; i < ctx->num_regions && i < CF_MAX_REGIONS; i++) {
		if (!(ctx->regions[i].flags & VFIO_REGION_INFO_FLAG_CAPS))
			continue;
		struct vu_region_info q = { .argsz = 32, .index = i };
		int e = cf_sess_call(ctx, r, VU_CMD_DEVICE_GET_REGION_INFO, &q,
				     sizeof(q), NULL, 0);
		if (e > 0)
			return cf_fail(r, "region %u with argsz 32: %s", i,
				       cf_errname(e, eb, sizeof(eb)));
		if (e < 0)
			return CF_FAIL;
		uint32_t len = vu_rx_len(&ctx->c.rx);
		if (len < sizeof(q))
			return cf_fail(r, "region %u: reply of %u bytes", i, len);
		memcpy(&q, ctx->c.rx.buf, sizeof(q));
		if (len > 32)
			return cf_fail(r, "region %u: argsz 32 answered with %u "
				       "bytes", i, len);
		if (q.argsz <= 32)
			return cf_fail(r, "region %u has capabilities but the "
				       "reply argsz %u does not ask for more", i,
				       q.argsz);
		snprintf(r->reason, sizeof(r->reason), "region %u: needs %u", i,
			 q.argsz);
		return alive(ctx, r);
	}
	return cf_skip(r, "no region has capabilities");
}

/* A BAR region to read past: the first readable one with a size. */
static int some_bar(const struct cf_ctx *ctx)
{
	for (int i = 0; i < 6; i++)
		if (ctx->regions[i].ok && ctx->regions[i].size >= 4 &&
		    (ctx->regions[i].flags & VFIO_REGION_INFO_FLAG_READ))
			return i;
	return -1;
}

static enum cf_result e_past_end(struct cf_ctx *ctx, struct cf_res *r)
{
	if (!cf_need_info(ctx, r))
		return CF_SKIP;
	int bar = some_bar(ctx);
	if (bar < 0)
		return cf_skip(r, "no readable BAR region");
	uint64_t size = ctx->regions[bar].size;
	struct vu_region_rw a = { .region = (uint32_t)bar, .offset = size,
				  .count = 4 };
	struct vu_region_rw b = { .region = (uint32_t)bar, .offset = size - 2,
				  .count = 4 };
	struct vu_region_rw c = { .region = (uint32_t)bar,
				  .offset = UINT64_MAX - 1, .count = 4 };
	EXPECT("read at the end", VU_CMD_REGION_READ, &a, sizeof(a));
	EXPECT("read across the end", VU_CMD_REGION_READ, &b, sizeof(b));
	EXPECT("read at offset 2^64-2", VU_CMD_REGION_READ, &c, sizeof(c));
	return alive(ctx, r);
}

static enum cf_result e_over_limit(struct cf_ctx *ctx, struct cf_res *r)
{
	if (!cf_need_info(ctx, r))
		return CF_SKIP;
	if (!ctx->have_caps)
		return cf_skip(r, "server capabilities unknown");
	struct vu_region_rw a = { .region = VFIO_PCI_CONFIG_REGION_INDEX,
				  .count = ctx->srv_max_data_xfer + 1 };
	EXPECT("REGION_READ of max_data_xfer_size + 1", VU_CMD_REGION_READ, &a,
	       sizeof(a));
	/* count says 8 bytes follow, only 4 do */
	uint8_t w[sizeof(struct vu_region_rw) + 4];
	struct vu_region_rw h = { .region = VFIO_PCI_CONFIG_REGION_INDEX,
				  .offset = 0x40, .count = 8 };
	memcpy(w, &h, sizeof(h));
	memset(w + sizeof(h), 0, 4);
	EXPECT("REGION_WRITE whose count exceeds its data", VU_CMD_REGION_WRITE,
	       w, sizeof(w));
	return alive(ctx, r);
}

static enum cf_result e_set_irqs(struct cf_ctx *ctx, struct cf_res *r)
{
	if (!cf_need_info(ctx, r))
		return CF_SKIP;
	uint32_t intx = ctx->num_irqs && ctx->irqs[0].ok ? ctx->irqs[0].count : 0;
	struct vu_irq_set bad[] = {
		{ .flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_DATA_BOOL |
			   VFIO_IRQ_SET_ACTION_TRIGGER, .count = 0 },
		{ .flags = VFIO_IRQ_SET_DATA_NONE, .count = 0 },
		{ .flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK |
			   VFIO_IRQ_SET_ACTION_TRIGGER, .count = 0 },
		{ .flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER |
			   (1u << 12), .count = 0 },
		{ .flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
		  .index = ctx->num_irqs, .count = 0 },
		{ .flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
		  .start = intx, .count = 1 },
	};
	static const char *const what[] = {
		"two DATA flags", "no ACTION flag", "two ACTION flags",
		"an unknown flag bit", "index num_irqs", "vectors past the count",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		bad[i].argsz = sizeof(bad[i]);
		EXPECT(what[i], VU_CMD_DEVICE_SET_IRQS, &bad[i], sizeof(bad[i]));
	}
	return alive(ctx, r);
}

static enum cf_result e_unknown(struct cf_ctx *ctx, struct cf_res *r)
{
	static const uint16_t cmds[] = { 0, 14, 0x7fff, 0xffff };
	uint8_t payload[16];
	memset(payload, 0, sizeof(payload));
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		char what[32];
		snprintf(what, sizeof(what), "command %u", cmds[i]);
		EXPECT(what, cmds[i], payload, sizeof(payload));
	}
	return alive(ctx, r);
}

const struct cf_check cf_checks_errors[] = {
	{ "errors.region-index", "an out-of-range region index is refused",
	  "VFIO_USER_DEVICE_GET_REGION_INFO", e_region_index },
	{ "errors.irq-index", "an out-of-range IRQ index is refused",
	  "VFIO_USER_DEVICE_GET_IRQ_INFO", e_irq_index },
	{ "errors.argsz", "argsz below the fixed reply size is refused",
	  "Message sizes", e_argsz },
	{ "errors.short-request", "requests shorter than their struct are "
	  "refused", "Message sizes", e_short },
	{ "errors.small-argsz", "a too-small argsz gets the needed size, not "
	  "the data", "Message sizes", e_small_argsz },
	{ "errors.read-past-end", "BAR reads past the region's end are refused",
	  "VFIO_USER_REGION_READ", e_past_end },
	{ "errors.over-limit", "counts over max_data_xfer_size or the data sent "
	  "are refused", "Read and Write Operations", e_over_limit },
	{ "errors.set-irqs-flags", "SET_IRQS with invalid flags or ranges is "
	  "refused", "VFIO_USER_DEVICE_SET_IRQS", e_set_irqs },
	{ "errors.unknown-command", "unknown commands get an error reply",
	  "Header", e_unknown },
	{ NULL, NULL, NULL, NULL },
};
