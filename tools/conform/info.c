/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * DEVICE_GET_INFO, GET_REGION_INFO and GET_IRQ_INFO: each well-formed,
 * and consistent with each other and with config space.  The answers are
 * kept in the context for the checks that follow.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <linux/pci_regs.h>

#include "conform.h"

#define REGION_FLAGS_KNOWN (VFIO_REGION_INFO_FLAG_READ | \
			    VFIO_REGION_INFO_FLAG_WRITE | \
			    VFIO_REGION_INFO_FLAG_MMAP | \
			    VFIO_REGION_INFO_FLAG_CAPS)

static bool fetch_info(struct cf_ctx *ctx, struct cf_res *r)
{
	struct vu_device_info in = { .argsz = sizeof(in) }, out;
	char eb[64];
	int e = cf_sess_call(ctx, r, VU_CMD_DEVICE_GET_INFO, &in, sizeof(in),
			     NULL, 0);
	if (e > 0)
		cf_fail(r, "DEVICE_GET_INFO refused: %s",
			cf_errname(e, eb, sizeof(eb)));
	if (e != 0)
		return false;
	if (vu_rx_len(&ctx->c.rx) < sizeof(out)) {
		cf_fail(r, "DEVICE_GET_INFO reply has %u bytes (expected 16)",
			vu_rx_len(&ctx->c.rx));
		return false;
	}
	memcpy(&out, ctx->c.rx.buf, sizeof(out));
	ctx->dev_flags = out.flags;
	ctx->num_regions = out.num_regions;
	ctx->num_irqs = out.num_irqs;
	if (out.argsz < sizeof(out)) {
		cf_fail(r, "reply argsz %u is below 16", out.argsz);
		return false;
	}
	ctx->have_info = true;
	return true;
}

bool cf_need_info(struct cf_ctx *ctx, struct cf_res *r)
{
	struct cf_res tmp = { { 0 } };
	if (ctx->have_info)
		return true;
	if (!fetch_info(ctx, &tmp)) {
		cf_skip(r, "no device info (%s)", tmp.reason);
		return false;
	}
	return true;
}

static enum cf_result i_device(struct cf_ctx *ctx, struct cf_res *r)
{
	if (!fetch_info(ctx, r))
		return r->reason[0] ? CF_FAIL : CF_SKIP;
	if (!(ctx->dev_flags & VFIO_DEVICE_FLAGS_PCI))
		return cf_fail(r, "flags 0x%x lack VFIO_DEVICE_FLAGS_PCI (the "
			       "protocol only supports PCI devices)",
			       ctx->dev_flags);
	if (ctx->num_regions > CF_MAX_REGIONS)
		return cf_fail(r, "num_regions %u: QEMU refuses more than %u",
			       ctx->num_regions, CF_MAX_REGIONS);
	if (ctx->num_irqs > CF_MAX_IRQS)
		return cf_fail(r, "num_irqs %u: QEMU refuses more than %u",
			       ctx->num_irqs, CF_MAX_IRQS);
	if (ctx->num_regions < VFIO_PCI_NUM_REGIONS)
		return cf_fail(r, "num_regions %u: a PCI device has at least %u",
			       ctx->num_regions, VFIO_PCI_NUM_REGIONS);
	snprintf(r->reason, sizeof(r->reason), "flags 0x%x, %u regions, %u "
		 "irq indexes", ctx->dev_flags, ctx->num_regions, ctx->num_irqs);
	return CF_PASS;
}

/* The capability chain of one region-info reply of @len bytes. */
static bool region_caps(struct cf_res *r, uint32_t idx, const uint8_t *p,
			uint32_t len, const struct vu_region_info *ri,
			bool *has_type)
{
	uint32_t off = ri->cap_offset;
	unsigned steps = 0;

	*has_type = false;
	while (off) {
		struct vu_cap_header h;
		if (++steps > 32) {
			cf_fail(r, "region %u: capability chain loops", idx);
			return false;
		}
		if (off < sizeof(*ri) || off > len || len - off < sizeof(h) ||
		    off % 4) {
			cf_fail(r, "region %u: capability at %u outside the %u-byte "
				"reply or misaligned", idx, off, len);
			return false;
		}
		memcpy(&h, p + off, sizeof(h));
		uint32_t need = sizeof(h);
		if (h.id == VFIO_REGION_INFO_CAP_TYPE)
			need = sizeof(struct vu_cap_type);
		if (h.id == VFIO_REGION_INFO_CAP_SPARSE_MMAP) {
			struct vu_cap_sparse_mmap sm;
			if (len - off < sizeof(sm)) {
				cf_fail(r, "region %u: truncated SPARSE_MMAP", idx);
				return false;
			}
			memcpy(&sm, p + off, sizeof(sm));
			if (sm.nr_areas > (len - off - sizeof(sm)) /
			    sizeof(struct vu_sparse_area)) {
				cf_fail(r, "region %u: SPARSE_MMAP with %u areas "
					"does not fit the reply", idx, sm.nr_areas);
				return false;
			}
			for (uint32_t i = 0; i < sm.nr_areas; i++) {
				struct vu_sparse_area a;
				memcpy(&a, p + off + sizeof(sm) + i * sizeof(a),
				       sizeof(a));
				if (a.offset > ri->size || a.size > ri->size - a.offset) {
					cf_fail(r, "region %u: sparse area %u "
						"[0x%llx, +0x%llx) beyond the region "
						"size 0x%llx", idx, i,
						(unsigned long long)a.offset,
						(unsigned long long)a.size,
						(unsigned long long)ri->size);
					return false;
				}
			}
			need = sizeof(sm) + sm.nr_areas *
			       (uint32_t)sizeof(struct vu_sparse_area);
		}
		if (len - off < need) {
			cf_fail(r, "region %u: capability %u truncated", idx, h.id);
			return false;
		}
		if (h.id == VFIO_REGION_INFO_CAP_TYPE)
			*has_type = true;
		if (h.next && h.next <= off) {
			cf_fail(r, "region %u: capability at %u points back to %u",
				idx, off, h.next);
			return false;
		}
		off = h.next;
	}
	return true;
}

static enum cf_result one_region(struct cf_ctx *ctx, struct cf_res *r,
				 uint32_t idx)
{
	uint8_t req[sizeof(struct vu_region_info)];
	struct vu_region_info ri = { .argsz = 4096, .index = idx };
	char eb[64];

	memcpy(req, &ri, sizeof(ri));
	int e = cf_sess_call(ctx, r, VU_CMD_DEVICE_GET_REGION_INFO, req,
			     sizeof(req), NULL, 0);
	if (e > 0)
		return cf_fail(r, "region %u: GET_REGION_INFO refused: %s", idx,
			       cf_errname(e, eb, sizeof(eb)));
	if (e < 0)
		return CF_FAIL;
	const struct vu_rx *rx = &ctx->c.rx;
	uint32_t len = vu_rx_len(rx);
	if (len < sizeof(ri))
		return cf_fail(r, "region %u: reply of %u bytes (less than 32)",
			       idx, len);
	memcpy(&ri, rx->buf, sizeof(ri));
	if (ri.index != idx)
		return cf_fail(r, "region %u: reply names index %u", idx, ri.index);
	if (ri.argsz < sizeof(ri) || ri.argsz > len)
		return cf_fail(r, "region %u: reply argsz %u but %u payload bytes",
			       idx, ri.argsz, len);
	if (ri.flags & ~REGION_FLAGS_KNOWN)
		return cf_fail(r, "region %u: unknown flags 0x%x", idx, ri.flags);
	if ((ri.flags & VFIO_REGION_INFO_FLAG_MMAP) && ri.size) {
		if (rx->nfds != 1)
			return cf_fail(r, "region %u: MMAP flag with %u fds "
				       "(expected 1)", idx, rx->nfds);
	} else if (rx->nfds) {
		return cf_fail(r, "region %u: %u fds with a region that is not "
			       "mmap-able", idx, rx->nfds);
	}
	if (!!(ri.flags & VFIO_REGION_INFO_FLAG_CAPS) != !!ri.cap_offset)
		return cf_fail(r, "region %u: CAPS flag %s but cap_offset %u", idx,
			       ri.flags & VFIO_REGION_INFO_FLAG_CAPS ? "set" :
			       "clear", ri.cap_offset);
	bool has_type;
	if (!region_caps(r, idx, rx->buf, ri.argsz, &ri, &has_type))
		return CF_FAIL;
	if (idx >= VFIO_PCI_NUM_REGIONS && ri.size && !has_type)
		return cf_fail(r, "region %u: a device-specific region without a "
			       "TYPE capability", idx);
	ctx->regions[idx] = (struct cf_region){ .ok = true, .flags = ri.flags,
						.size = ri.size };
	return CF_PASS;
}

static enum cf_result i_regions(struct cf_ctx *ctx, struct cf_res *r)
{
	if (!cf_need_info(ctx, r))
		return CF_SKIP;
	uint32_t n = ctx->num_regions < CF_MAX_REGIONS ? ctx->num_regions :
		     CF_MAX_REGIONS;
	for (uint32_t i = 0; i < n; i++) {
		enum cf_result res = one_region(ctx, r, i);
		if (res != CF_PASS)
			return res;
	}
	snprintf(r->reason, sizeof(r->reason), "%u regions", n);
	return CF_PASS;
}

/* Read config space into ctx->config; false with @r set. */
static bool read_config(struct cf_ctx *ctx, struct cf_res *r)
{
	const struct cf_region *cfg = &ctx->regions[VFIO_PCI_CONFIG_REGION_INDEX];
	char eb[64];
	uint32_t size = cfg->size < CF_CFG_MAX ? (uint32_t)cfg->size : CF_CFG_MAX;
	uint32_t chunk = ctx->srv_max_data_xfer && ctx->srv_max_data_xfer < 256 ?
			 ctx->srv_max_data_xfer : 256;

	for (uint32_t off = 0; off < size; off += chunk) {
		uint32_t n = size - off < chunk ? size - off : chunk;
		int e = cf_region_read(ctx, r, VFIO_PCI_CONFIG_REGION_INDEX, off,
				       ctx->config + off, n);
		if (e > 0)
			cf_fail(r, "config read of %u bytes at 0x%x refused: %s",
				n, off, cf_errname(e, eb, sizeof(eb)));
		if (e)
			return false;
	}
	ctx->config_size = size;
	ctx->have_config = true;
	return true;
}

static enum cf_result i_config(struct cf_ctx *ctx, struct cf_res *r)
{
	if (!cf_need_info(ctx, r))
		return CF_SKIP;
	const struct cf_region *cfg = &ctx->regions[VFIO_PCI_CONFIG_REGION_INDEX];
	if (!cfg->ok)
		return cf_skip(r, "no region info for the config region");
	if (cfg->size < 256)
		return cf_fail(r, "config region of %llu bytes (at least 256)",
			       (unsigned long long)cfg->size);
	if ((cfg->flags & (VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE)) !=
	    (VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE))
		return cf_fail(r, "config region flags 0x%x: not readable and "
			       "writable", cfg->flags);
	if (!read_config(ctx, r))
		return CF_FAIL;
	uint16_t vendor = cf_le16(ctx->config + PCI_VENDOR_ID);
	if (vendor == 0xffff || vendor == 0)
		return cf_fail(r, "vendor ID 0x%04x", vendor);
	snprintf(r->reason, sizeof(r->reason), "%04x:%04x, %u bytes", vendor,
		 cf_le16(ctx->config + PCI_DEVICE_ID), ctx->config_size);
	return CF_PASS;
}

bool cf_need_config(struct cf_ctx *ctx, struct cf_res *r)
{
	if (!cf_need_info(ctx, r))
		return false;
	if (!ctx->have_config) {
		cf_skip(r, "config space could not be read");
		return false;
	}
	return true;
}

unsigned cf_find_cap(const struct cf_ctx *ctx, uint8_t id)
{
	if (!(cf_le16(ctx->config + PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return 0;
	unsigned pos = ctx->config[PCI_CAPABILITY_LIST] & ~3u;
	for (int steps = 0; pos >= 0x40 && pos < 256 && steps < 48; steps++) {
		if (ctx->config[pos] == id)
			return pos;
		pos = ctx->config[pos + 1] & ~3u;
	}
	return 0;
}

static enum cf_result one_irq(struct cf_ctx *ctx, struct cf_res *r,
			      uint32_t idx)
{
	struct vu_irq_info q = { .argsz = sizeof(q), .index = idx };
	char eb[64];
	int e = cf_sess_call(ctx, r, VU_CMD_DEVICE_GET_IRQ_INFO, &q, sizeof(q),
			     NULL, 0);
	/* As the kernel's vfio-pci: no ERR index on a conventional device. */
	if (e > 0 && idx == VFIO_PCI_ERR_IRQ_INDEX && ctx->have_config &&
	    !cf_find_cap(ctx, PCI_CAP_ID_EXP)) {
		ctx->irqs[idx] = (struct cf_irq){ .ok = true };
		return CF_PASS;
	}
	if (e > 0)
		return cf_fail(r, "irq index %u: GET_IRQ_INFO refused: %s", idx,
			       cf_errname(e, eb, sizeof(eb)));
	if (e < 0)
		return CF_FAIL;
	if (vu_rx_len(&ctx->c.rx) < sizeof(q))
		return cf_fail(r, "irq index %u: reply of %u bytes", idx,
			       vu_rx_len(&ctx->c.rx));
	memcpy(&q, ctx->c.rx.buf, sizeof(q));
	if (q.index != idx || q.argsz < sizeof(q))
		return cf_fail(r, "irq index %u: reply names index %u argsz %u",
			       idx, q.index, q.argsz);
	if (q.count && !(q.flags & VFIO_IRQ_INFO_EVENTFD))
		return cf_fail(r, "irq index %u: %u vectors but no EVENTFD flag",
			       idx, q.count);
	ctx->irqs[idx] = (struct cf_irq){ .ok = true, .flags = q.flags,
					  .count = q.count };
	return CF_PASS;
}

static enum cf_result i_irqs(struct cf_ctx *ctx, struct cf_res *r)
{
	if (!cf_need_info(ctx, r))
		return CF_SKIP;
	uint32_t n = ctx->num_irqs < CF_MAX_IRQS ? ctx->num_irqs : CF_MAX_IRQS;
	char *p = r->reason;
	size_t left = sizeof(r->reason);
	for (uint32_t i = 0; i < n; i++) {
		enum cf_result res = one_irq(ctx, r, i);
		if (res != CF_PASS)
			return res;
		if (left > 24) {
			int k = snprintf(p, left, "%s%u:%u", i ? ", " : "", i,
					 ctx->irqs[i].count);
			p += k;
			left -= (size_t)k;
		}
	}
	return CF_PASS;
}

static enum cf_result i_irq_counts(struct cf_ctx *ctx, struct cf_res *r)
{
	if (!cf_need_config(ctx, r))
		return CF_SKIP;
	uint32_t n = ctx->num_irqs < CF_MAX_IRQS ? ctx->num_irqs : CF_MAX_IRQS;
	for (uint32_t i = 0; i < n && i < 3; i++)
		if (!ctx->irqs[i].ok)
			return cf_skip(r, "GET_IRQ_INFO did not answer index %u", i);

	/* What config space says each index must count (absent index: 0). */
	uint32_t want[3] = { 0, 0, 0 };
	if (ctx->config[PCI_INTERRUPT_PIN])
		want[VFIO_PCI_INTX_IRQ_INDEX] = 1;
	unsigned msi = cf_find_cap(ctx, PCI_CAP_ID_MSI);
	if (msi) {
		uint16_t fl = cf_le16(ctx->config + msi + PCI_MSI_FLAGS);
		want[VFIO_PCI_MSI_IRQ_INDEX] = 1u << ((fl & PCI_MSI_FLAGS_QMASK) >> 1);
	}
	unsigned msix = cf_find_cap(ctx, PCI_CAP_ID_MSIX);
	if (msix) {
		uint16_t fl = cf_le16(ctx->config + msix + PCI_MSIX_FLAGS);
		want[VFIO_PCI_MSIX_IRQ_INDEX] = (fl & PCI_MSIX_FLAGS_QSIZE) + 1u;
	}
	static const char *const names[] = { "INTx", "MSI", "MSI-X" };
	static const char *const why[] = {
		"interrupt pin", "MSI Multiple Message Capable",
		"MSI-X capability (table size, or none)",
	};
	for (uint32_t i = 0; i < 3; i++) {
		uint32_t got = i < n ? ctx->irqs[i].count : 0;
		if (got != want[i])
			return cf_fail(r, "%s count %u, but the %s says %u", names[i],
				       got, why[i], want[i]);
	}
	snprintf(r->reason, sizeof(r->reason), "INTx %u, MSI %u, MSI-X %u",
		 want[0], want[1], want[2]);
	return CF_PASS;
}

const struct cf_check cf_checks_info[] = {
	{ "info.device", "DEVICE_GET_INFO: a PCI device with at least 9 regions",
	  "VFIO_USER_DEVICE_GET_INFO", i_device },
	{ "info.regions", "GET_REGION_INFO for every region: well-formed "
	  "flags, fds and capabilities", "VFIO_USER_DEVICE_GET_REGION_INFO",
	  i_regions },
	{ "info.config-region", "config region present, >= 256 bytes, "
	  "readable", "VFIO_USER_DEVICE_GET_REGION_INFO", i_config },
	{ "info.irqs", "GET_IRQ_INFO for every index: well-formed, EVENTFD "
	  "where vectors exist", "VFIO_USER_DEVICE_GET_IRQ_INFO", i_irqs },
	{ "info.irq-counts", "INTx, MSI and MSI-X counts match interrupt pin, "
	  "MSI and MSI-X capabilities", "VFIO_USER_DEVICE_GET_IRQ_INFO",
	  i_irq_counts },
	{ NULL, NULL, NULL, NULL },
};
