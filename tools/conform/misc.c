/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Device registers outside config space (only with --allow-writes, and
 * then conservatively: a dword is written back with the value it read),
 * and DEVICE_RESET.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <linux/pci_regs.h>

#include "conform.h"

/* The first BAR region that can be read and written through messages. */
static int rw_bar(const struct cf_ctx *ctx)
{
	const uint32_t rw = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
	for (int i = 0; i < 6; i++)
		if (ctx->regions[i].ok && ctx->regions[i].size >= 4 &&
		    (ctx->regions[i].flags & rw) == rw)
			return i;
	return -1;
}

/*
 * Turn on the decode the BAR needs in COMMAND (as a driver does; servers
 * following vfio-pci refuse BAR access without it).  *@saved receives the
 * old COMMAND for decode_restore().  0, or as cf_region_read().
 */
static int decode_enable(struct cf_ctx *ctx, struct cf_res *r, int bar,
			 uint16_t *saved)
{
	uint8_t b[2];
	int e = cf_region_read(ctx, r, VFIO_PCI_CONFIG_REGION_INDEX, PCI_COMMAND,
			       b, 2);
	if (e)
		return e;
	*saved = cf_le16(b);
	uint16_t want = *saved | (ctx->have_bars && ctx->bars[bar].io ?
				  PCI_COMMAND_IO : PCI_COMMAND_MEMORY);
	if (want == *saved)
		return 0;
	b[0] = want & 0xff;
	b[1] = want >> 8;
	return cf_region_write(ctx, r, VFIO_PCI_CONFIG_REGION_INDEX, PCI_COMMAND,
			       b, 2);
}

static void decode_restore(struct cf_ctx *ctx, uint16_t saved)
{
	struct cf_res tmp = { { 0 } };
	uint8_t b[2] = { saved & 0xff, saved >> 8 };
	cf_region_write(ctx, &tmp, VFIO_PCI_CONFIG_REGION_INDEX, PCI_COMMAND, b, 2);
}

static enum cf_result w_bar(struct cf_ctx *ctx, struct cf_res *r)
{
	uint8_t v[4], after[4];
	char eb[64];

	if (!ctx->allow_writes)
		return cf_skip(r, "needs --allow-writes");
	if (!cf_need_info(ctx, r))
		return CF_SKIP;
	int bar = rw_bar(ctx);
	if (bar < 0)
		return cf_skip(r, "no readable and writable BAR region");
	uint16_t cmd;
	const char *step = "enabling decode in COMMAND";
	int e = decode_enable(ctx, r, bar, &cmd);
	if (e == 0) {
		step = "read";
		e = cf_region_read(ctx, r, (uint32_t)bar, 0, v, 4);
		if (e == 0) {
			step = "write";
			e = cf_region_write(ctx, r, (uint32_t)bar, 0, v, 4);
		}
		if (e == 0) {
			step = "read after the write";
			e = cf_region_read(ctx, r, (uint32_t)bar, 0, after, 4);
		}
		decode_restore(ctx, cmd);
	}
	if (e > 0)
		return cf_fail(r, "BAR%d dword 0: %s: %s", bar, step,
			       cf_errname(e, eb, sizeof(eb)));
	if (e < 0)
		return CF_FAIL;
	snprintf(r->reason, sizeof(r->reason), "BAR%d dword 0: read 0x%08x, "
		 "wrote it back, read 0x%08x (device-specific)", bar, cf_le32(v),
		 cf_le32(after));
	return CF_PASS;
}

static enum cf_result w_posted_bar(struct cf_ctx *ctx, struct cf_res *r)
{
	uint8_t v[4], after[4];

	if (!ctx->allow_writes)
		return cf_skip(r, "needs --allow-writes");
	if (!cf_need_info(ctx, r))
		return CF_SKIP;
	int bar = rw_bar(ctx);
	if (bar < 0)
		return cf_skip(r, "no readable and writable BAR region");
	uint16_t cmd;
	char eb[64];
	int e = decode_enable(ctx, r, bar, &cmd);
	if (e == 0)
		e = cf_region_read(ctx, r, (uint32_t)bar, 0, v, 4);
	if (e > 0)
		return cf_fail(r, "BAR%d dword 0: read: %s", bar,
			       cf_errname(e, eb, sizeof(eb)));
	if (e < 0)
		return CF_FAIL;
	struct cf_conn *c = cf_session(ctx, r);
	if (!c)
		return CF_SKIP;
	uint8_t msg[sizeof(struct vu_region_rw) + 4];
	struct vu_region_rw rw = { .region = (uint32_t)bar, .count = 4 };
	memcpy(msg, &rw, sizeof(rw));
	memcpy(msg + sizeof(rw), v, 4);
	e = cf_send(ctx, c, VU_CMD_REGION_WRITE,
		    VU_F_TYPE_COMMAND | VU_F_NO_REPLY, msg, sizeof(msg),
		    NULL, 0, NULL);
	if (e < 0) {
		cf_session_drop(ctx);
		return cf_fail(r, "send: %s", strerror(-e));
	}
	/* A reply to the posted write would arrive first and fail this. */
	e = cf_region_read(ctx, r, (uint32_t)bar, 0, after, 4);
	decode_restore(ctx, cmd);
	if (e > 0)
		return cf_fail(r, "BAR%d dword 0: read after the posted write: %s",
			       bar, cf_errname(e, eb, sizeof(eb)));
	if (e < 0)
		return CF_FAIL;
	snprintf(r->reason, sizeof(r->reason), "BAR%d dword 0: 0x%08x posted, "
		 "read 0x%08x", bar, cf_le32(v), cf_le32(after));
	return CF_PASS;
}

static enum cf_result m_reset(struct cf_ctx *ctx, struct cf_res *r)
{
	char eb[64];
	if (!cf_need_info(ctx, r))
		return CF_SKIP;
	bool adv = ctx->dev_flags & VFIO_DEVICE_FLAGS_RESET;
	int e = cf_sess_call(ctx, r, VU_CMD_DEVICE_RESET, NULL, 0, NULL, 0);
	if (e < 0)
		return CF_FAIL;
	if (e > 0 && adv)
		return cf_fail(r, "VFIO_DEVICE_FLAGS_RESET advertised, but "
			       "DEVICE_RESET failed: %s",
			       cf_errname(e, eb, sizeof(eb)));
	if (e == 0 && vu_rx_len(&ctx->c.rx))
		return cf_fail(r, "DEVICE_RESET reply carries %u payload bytes "
			       "(expected none)", vu_rx_len(&ctx->c.rx));
	if (!cf_still_alive(ctx, r))
		return CF_FAIL;
	if (ctx->have_config) {
		uint32_t id;
		int e2 = cf_cfg_read32(ctx, r, PCI_VENDOR_ID, &id);
		if (e2 > 0)
			return cf_fail(r, "config read after reset: %s",
				       cf_errname(e2, eb, sizeof(eb)));
		if (e2 < 0)
			return CF_FAIL;
		if (id != cf_le32(ctx->config))
			return cf_fail(r, "vendor/device ID 0x%08x after reset, "
				       "0x%08x before", id, cf_le32(ctx->config));
	}
	snprintf(r->reason, sizeof(r->reason), "%s%s", e ? "refused: " :
		 "reset done", e ? cf_errname(e, eb, sizeof(eb)) : "");
	return CF_PASS;
}

const struct cf_check cf_checks_misc[] = {
	{ "writes.bar", "a BAR dword written back with its own value "
	  "(informative)", "VFIO_USER_REGION_WRITE", w_bar },
	{ "writes.posted-bar", "a posted BAR write gets no reply and is "
	  "ordered before the next read", "Command Concurrency", w_posted_bar },
	{ "reset.device", "DEVICE_RESET succeeds (or fails properly when "
	  "not advertised)", "VFIO_USER_DEVICE_RESET", m_reset },
	{ NULL, NULL, NULL, NULL },
};
