/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Config-space rules every PCI device follows: read-only IDs, BAR sizing,
 * well-formed capability chains, bounded accesses, posted-write ordering.
 * Every value written is restored.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <linux/pci_regs.h>

#include "conform.h"

#define CFG VFIO_PCI_CONFIG_REGION_INDEX

static enum cf_result c_ids(struct cf_ctx *ctx, struct cf_res *r)
{
	uint32_t v, after;
	char eb[64];

	if (!cf_need_config(ctx, r))
		return CF_SKIP;
	int e = cf_cfg_read32(ctx, r, PCI_VENDOR_ID, &v);
	if (e == 0)
		e = cf_cfg_write32(ctx, r, PCI_VENDOR_ID, ~v);
	if (e > 0)
		return cf_fail(r, "write to vendor/device ID refused with %s "
			       "(read-only bits must be ignored, not refused)",
			       cf_errname(e, eb, sizeof(eb)));
	if (e == 0)
		e = cf_cfg_read32(ctx, r, PCI_VENDOR_ID, &after);
	if (e)
		return CF_FAIL;
	if (after != v) {
		cf_cfg_write32(ctx, r, PCI_VENDOR_ID, v);
		return cf_fail(r, "vendor/device ID 0x%08x became 0x%08x after a "
			       "write of 0x%08x", v, after, ~v);
	}
	return CF_PASS;
}

/* Size BAR register @i (0-5, 6 ROM); false on transport trouble. */
static bool size_one(struct cf_ctx *ctx, struct cf_res *r, unsigned i,
		     char *err, size_t errlen)
{
	struct cf_bar *b = &ctx->bars[i];
	bool rom = i == 6;
	uint32_t reg = rom ? (ctx->nbars == 6 ? PCI_ROM_ADDRESS : PCI_ROM_ADDRESS1) :
		       PCI_BASE_ADDRESS_0 + 4 * i;
	uint32_t orig, v, origh = 0, vh = 0, back;
	uint64_t mask;

	if (cf_cfg_read32(ctx, r, reg, &orig) ||
	    cf_cfg_write32(ctx, r, reg, rom ? ~(uint32_t)PCI_ROM_ADDRESS_ENABLE :
			   0xffffffffu) ||
	    cf_cfg_read32(ctx, r, reg, &v))
		return false;
	if (rom) {
		mask = v & PCI_ROM_ADDRESS_MASK;
	} else if (orig & PCI_BASE_ADDRESS_SPACE_IO) {
		b->io = true;
		mask = v & PCI_BASE_ADDRESS_IO_MASK;
		if (mask && !(mask & 0xffff0000u))
			mask |= 0xffff0000u;     /* a 16-bit decoder */
		if ((v & 1) != 1 && !err[0])
			snprintf(err, errlen, "BAR%u: the I/O bit is lost in the "
				 "sizing read-back 0x%08x", i, v);
	} else {
		b->mem64 = (orig & PCI_BASE_ADDRESS_MEM_TYPE_MASK) ==
			   PCI_BASE_ADDRESS_MEM_TYPE_64;
		b->prefetch = orig & PCI_BASE_ADDRESS_MEM_PREFETCH;
		if ((v & 0xf) != (orig & 0xf) && !err[0])
			snprintf(err, errlen, "BAR%u: type bits 0x%x became 0x%x in "
				 "the sizing read-back", i, orig & 0xf, v & 0xf);
		mask = v & PCI_BASE_ADDRESS_MEM_MASK;
		if (b->mem64 && i + 1 >= ctx->nbars) {
			if (!err[0])
				snprintf(err, errlen, "BAR%u: 64-bit in the last BAR "
					 "register", i);
			b->mem64 = false;
		}
		if (b->mem64) {
			if (cf_cfg_read32(ctx, r, reg + 4, &origh) ||
			    cf_cfg_write32(ctx, r, reg + 4, 0xffffffffu) ||
			    cf_cfg_read32(ctx, r, reg + 4, &vh) ||
			    cf_cfg_write32(ctx, r, reg + 4, origh))
				return false;
			mask |= (uint64_t)vh << 32;
			ctx->bars[i + 1] = (struct cf_bar){ .done = true,
							   .upper = true };
		}
	}
	if (!b->mem64 && mask)
		mask |= 0xffffffff00000000ull;
	b->size = mask ? ~mask + 1 : 0;
	if (b->mem64 && mask && !(mask >> 32) && !err[0])
		snprintf(err, errlen, "BAR%u: the upper dword of a 64-bit BAR "
			 "sizes to 0 (reads 0x%08x after all-ones)", i, vh);
	if (b->size & (b->size - 1) && !err[0])
		snprintf(err, errlen, "BAR%u: sizing read-back 0x%08x%08x is not "
			 "a power-of-two size", i, vh, v);
	if (cf_cfg_write32(ctx, r, reg, orig) || cf_cfg_read32(ctx, r, reg, &back))
		return false;
	if (back != orig && !err[0])
		snprintf(err, errlen, "%s%u: restoring 0x%08x read back 0x%08x",
			 rom ? "ROM" : "BAR", rom ? 0 : i, orig, back);
	b->done = true;
	return true;
}

/* Size every BAR once; the results serve two checks. */
static bool size_bars(struct cf_ctx *ctx, struct cf_res *r)
{
	if (ctx->bars_tried) {
		if (!ctx->have_bars)
			cf_skip(r, "BAR sizing could not be done");
		return ctx->have_bars;
	}
	ctx->bars_tried = true;
	uint8_t type = ctx->config[PCI_HEADER_TYPE] & 0x7f;
	ctx->nbars = type == PCI_HEADER_TYPE_NORMAL ? 6 :
		     type == PCI_HEADER_TYPE_BRIDGE ? 2 : 0;
	memset(ctx->bars, 0, sizeof(ctx->bars));
	for (unsigned i = 0; i < ctx->nbars; i++) {
		if (ctx->bars[i].upper)
			continue;
		if (!size_one(ctx, r, i, ctx->bar_err, sizeof(ctx->bar_err)))
			goto refused;
	}
	if (ctx->nbars && !size_one(ctx, r, 6, ctx->bar_err, sizeof(ctx->bar_err)))
		goto refused;
	ctx->have_bars = true;
	return true;
refused:
	if (!r->reason[0])
		cf_fail(r, "a BAR sizing access was refused");
	snprintf(ctx->bar_err, sizeof(ctx->bar_err), "%.200s", r->reason);
	return false;
}

static enum cf_result c_bar_sizing(struct cf_ctx *ctx, struct cf_res *r)
{
	if (!cf_need_config(ctx, r))
		return CF_SKIP;
	if (!size_bars(ctx, r))
		return CF_FAIL;
	if (ctx->nbars == 0)
		return cf_skip(r, "header type 0x%02x has no BARs",
			       ctx->config[PCI_HEADER_TYPE]);
	if (ctx->bar_err[0])
		return cf_fail(r, "%s", ctx->bar_err);
	char *p = r->reason;
	size_t left = sizeof(r->reason);
	for (unsigned i = 0; i < 7 && left > 40; i++) {
		const struct cf_bar *b = &ctx->bars[i];
		if (!b->done || b->upper || !b->size)
			continue;
		int n = snprintf(p, left, "%s%s%u 0x%llx%s", p == r->reason ? "" :
				 ", ", i == 6 ? "ROM" : "BAR", i == 6 ? 0 : i,
				 (unsigned long long)b->size,
				 b->io ? " io" : b->mem64 ? " 64-bit" : "");
		p += n;
		left -= (size_t)n;
	}
	return CF_PASS;
}

static enum cf_result c_bar_regions(struct cf_ctx *ctx, struct cf_res *r)
{
	if (!cf_need_config(ctx, r))
		return CF_SKIP;
	if (!ctx->bars_tried)
		size_bars(ctx, r);
	if (!ctx->have_bars)
		return cf_skip(r, "BAR sizing could not be done");
	if (ctx->nbars == 0)
		return cf_skip(r, "no BARs");
	for (unsigned i = 0; i < 6; i++) {
		const struct cf_bar *b = &ctx->bars[i];
		const struct cf_region *reg = &ctx->regions[i];
		uint64_t want = i < ctx->nbars && !b->upper ? b->size : 0;
		if (!reg->ok)
			return cf_skip(r, "no region info for BAR%u", i);
		if (reg->size != want)
			return cf_fail(r, "BAR%u: region size 0x%llx, BAR sizing "
				       "says 0x%llx%s", i,
				       (unsigned long long)reg->size,
				       (unsigned long long)want, b->upper ?
				       " (upper half of a 64-bit BAR)" : "");
	}
	const struct cf_region *rom = &ctx->regions[VFIO_PCI_ROM_REGION_INDEX];
	if (rom->ok && rom->size != ctx->bars[6].size)
		return cf_fail(r, "ROM: region size 0x%llx, ROM BAR sizing says "
			       "0x%llx", (unsigned long long)rom->size,
			       (unsigned long long)ctx->bars[6].size);
	return CF_PASS;
}

static enum cf_result c_caps(struct cf_ctx *ctx, struct cf_res *r)
{
	bool seen[256] = { false };
	unsigned n = 0;

	if (!cf_need_config(ctx, r))
		return CF_SKIP;
	if (!(cf_le16(ctx->config + PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return cf_skip(r, "STATUS has no capability list");
	unsigned pos = ctx->config[PCI_CAPABILITY_LIST];
	while (pos) {
		if (pos & 3)
			return cf_fail(r, "capability pointer 0x%02x is not dword "
				       "aligned", pos);
		if (pos < 0x40 || pos > 0xfc)
			return cf_fail(r, "capability pointer 0x%02x outside "
				       "0x40-0xfc", pos);
		if (seen[pos])
			return cf_fail(r, "capability chain loops back to 0x%02x",
				       pos);
		seen[pos] = true;
		if (++n > 48)
			return cf_fail(r, "capability chain longer than 48 entries");
		pos = ctx->config[pos + PCI_CAP_LIST_NEXT];
	}
	snprintf(r->reason, sizeof(r->reason), "%u capabilities", n);
	return CF_PASS;
}

static enum cf_result c_ecaps(struct cf_ctx *ctx, struct cf_res *r)
{
	static bool seen[CF_CFG_MAX / 4];
	unsigned n = 0;

	if (!cf_need_config(ctx, r))
		return CF_SKIP;
	if (!cf_find_cap(ctx, PCI_CAP_ID_EXP))
		return cf_skip(r, "not PCI Express");
	if (ctx->config_size < CF_CFG_MAX)
		return cf_skip(r, "config region is %u bytes: no extended space",
			       ctx->config_size);
	memset(seen, 0, sizeof(seen));
	unsigned pos = PCI_CFG_SPACE_SIZE;
	uint32_t h = cf_le32(ctx->config + pos);
	if (h == 0 || h == 0xffffffffu)
		return CF_PASS;
	for (;;) {
		if (seen[pos / 4])
			return cf_fail(r, "extended chain loops back to 0x%03x", pos);
		seen[pos / 4] = true;
		if (++n > (CF_CFG_MAX - PCI_CFG_SPACE_SIZE) / 8)
			return cf_fail(r, "extended chain too long");
		h = cf_le32(ctx->config + pos);
		unsigned next = h >> 20;
		if (next == 0)
			break;
		if (next & 3)
			return cf_fail(r, "extended capability at 0x%03x: next "
				       "0x%03x is not dword aligned", pos, next);
		if (next < PCI_CFG_SPACE_SIZE || next > CF_CFG_MAX - 4)
			return cf_fail(r, "extended capability at 0x%03x: next "
				       "0x%03x outside 0x100-0xffc", pos, next);
		pos = next;
	}
	snprintf(r->reason, sizeof(r->reason), "%u extended capabilities", n);
	return CF_PASS;
}

static enum cf_result c_beyond(struct cf_ctx *ctx, struct cf_res *r)
{
	uint8_t buf[8];
	if (!cf_need_config(ctx, r))
		return CF_SKIP;
	uint64_t size = ctx->regions[CFG].size;
	static const struct { int64_t back; uint32_t count; } probes[] = {
		{ 0, 4 }, { 2, 4 }, { -4096, 4 },
	};
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		uint64_t off = (uint64_t)((int64_t)size - probes[i].back);
		int e = cf_region_read(ctx, r, CFG, off, buf, probes[i].count);
		if (e == 0)
			return cf_fail(r, "a read of %u bytes at 0x%llx (config "
				       "size 0x%llx) succeeded", probes[i].count,
				       (unsigned long long)off,
				       (unsigned long long)size);
		if (e < 0)
			return CF_FAIL;
	}
	if (!cf_still_alive(ctx, r))
		return CF_FAIL;
	return CF_PASS;
}

static int cfg_rw16(struct cf_ctx *ctx, struct cf_res *r, bool write,
		    uint16_t *v)
{
	uint8_t b[2] = { *v & 0xff, *v >> 8 };
	if (write)
		return cf_region_write(ctx, r, CFG, PCI_COMMAND, b, 2);
	int e = cf_region_read(ctx, r, CFG, PCI_COMMAND, b, 2);
	if (e == 0)
		*v = cf_le16(b);
	return e;
}

/* A COMMAND bit the server lets us toggle, or 0. */
static uint16_t toggle_bit(struct cf_ctx *ctx, struct cf_res *r, uint16_t cmd)
{
	static const uint16_t cand[] = { PCI_COMMAND_INTX_DISABLE,
					 PCI_COMMAND_SERR, PCI_COMMAND_PARITY };
	for (size_t i = 0; i < sizeof(cand) / sizeof(cand[0]); i++) {
		uint16_t w = cmd ^ cand[i], got = 0;
		if (cfg_rw16(ctx, r, true, &w) || cfg_rw16(ctx, r, false, &got))
			return 0;
		uint16_t back = cmd;
		cfg_rw16(ctx, r, true, &back);
		if (got == w)
			return cand[i];
	}
	return 0;
}

static enum cf_result c_posted(struct cf_ctx *ctx, struct cf_res *r)
{
	uint16_t cmd, bit;
	if (!cf_need_config(ctx, r))
		return CF_SKIP;
	if (cfg_rw16(ctx, r, false, &cmd))
		return CF_FAIL;
	bit = toggle_bit(ctx, r, cmd);
	if (!bit)
		return r->reason[0] ? CF_FAIL :
		       cf_skip(r, "no COMMAND bit could be toggled");

	struct cf_conn *c = cf_session(ctx, r);
	if (!c)
		return CF_SKIP;
	uint16_t w = cmd ^ bit;
	uint8_t msg[sizeof(struct vu_region_rw) + 2];
	struct vu_region_rw rw = { .offset = PCI_COMMAND, .region = CFG,
				   .count = 2 };
	memcpy(msg, &rw, sizeof(rw));
	msg[sizeof(rw)] = w & 0xff;
	msg[sizeof(rw) + 1] = w >> 8;
	int e = cf_send(ctx, c, VU_CMD_REGION_WRITE,
			VU_F_TYPE_COMMAND | VU_F_NO_REPLY, msg, sizeof(msg),
			NULL, 0, NULL);
	if (e < 0) {
		cf_session_drop(ctx);
		return cf_fail(r, "send: %s", strerror(-e));
	}
	/* The next reply must be the read's: a posted write gets none. */
	uint16_t got = 0;
	e = cfg_rw16(ctx, r, false, &got);
	uint16_t back = cmd;
	if (e == 0)
		cfg_rw16(ctx, r, true, &back);
	if (e)
		return CF_FAIL;
	if (got != w)
		return cf_fail(r, "COMMAND read 0x%04x after a posted write of "
			       "0x%04x (the write was not ordered before the "
			       "read)", got, w);
	snprintf(r->reason, sizeof(r->reason), "toggled COMMAND bit 0x%x", bit);
	return CF_PASS;
}

const struct cf_check cf_checks_config[] = {
	{ "config.ids-readonly", "writes to vendor/device ID are ignored, not "
	  "refused", "VFIO_USER_REGION_WRITE", c_ids },
	{ "config.bar-sizing", "BAR sizing (all-ones, read back, restore) "
	  "gives power-of-two sizes and keeps type bits",
	  "VFIO_USER_REGION_WRITE", c_bar_sizing },
	{ "info.bar-sizes", "BAR region sizes equal BAR sizing; a 64-bit BAR "
	  "consumes the next", "VFIO_USER_DEVICE_GET_REGION_INFO",
	  c_bar_regions },
	{ "config.cap-chain", "capability chain aligned, inside 256 bytes, "
	  "no loops, bounded", "VFIO_USER_REGION_READ", c_caps },
	{ "config.ecap-chain", "PCIe extended capability chain from 0x100 "
	  "well-formed", "VFIO_USER_REGION_READ", c_ecaps },
	{ "config.read-beyond", "config reads past the end are refused",
	  "VFIO_USER_REGION_READ", c_beyond },
	{ "config.posted-write", "a posted (No_reply) write is seen by the "
	  "next read, and gets no reply", "Command Concurrency", c_posted },
	{ NULL, NULL, NULL, NULL },
};
