/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The capability map: placing and registering capabilities, the owner of
 * each byte, the chains the client walks (with hidden capabilities
 * unlinked), and walking a backing's chains as vfio-pci does at open.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "pci/cfg.h"
#include "pci/emu.h"

static const struct pci_cap_type *const known_types[] = {
	&pci_type_pm, &pci_type_msi, &pci_type_msix, &pci_type_pcie,
	&pci_type_af, &pci_type_vpd, &pci_type_vendor,
	&pci_type_aer, &pci_type_dsn, &pci_type_ari, &pci_type_sriov,
	&pci_type_ext_vendor, &pci_type_dvsec,
};

const struct pci_cap_type *pci_cap_type_find(bool ext, uint16_t id)
{
	for (size_t i = 0; i < ARRAY_SIZE(known_types); i++)
		if (known_types[i]->ext == ext && known_types[i]->id == id)
			return known_types[i];
	return NULL;
}

struct pci_cap *pci_cap_at(struct pci_cfg *cfg, unsigned off)
{
	for (unsigned i = 1; i < cfg->ncaps; i++)
		if (cfg->caps[i].off == off)
			return &cfg->caps[i];
	return NULL;
}

static bool hidden_by_model(const struct pci_cfg *cfg, const struct pci_cap *c)
{
	if (c->kind == PCI_KIND_STD)
		return c->id < 256 && cfg->hide_std[c->id / 32] & (1u << (c->id % 32));
	for (unsigned i = 0; i < cfg->nhide_ext; i++)
		if (cfg->hide_ext[i] == c->id)
			return true;
	return false;
}

/* Free for a new capability: no capability (fillers aside), no virtual range. */
static bool range_free(const struct pci_cfg *cfg, unsigned off, unsigned len)
{
	for (unsigned i = 0; i < cfg->ncaps; i++) {
		const struct pci_cap *c = &cfg->caps[i];
		if (!c->filler && off < c->off + c->len && c->off < off + len)
			return false;
	}
	for (unsigned o = off; o < off + len; o++)
		if (cfg->map[o] == PCI_MAP_VIRT)
			return false;
	return true;
}

int pci_cfg_place(struct pci_cfg *cfg, bool ext, unsigned off, unsigned len)
{
	if (cfg->sealed)
		return -EBUSY;
	if (!cfg->emu)
		return -ENOTSUP;
	if (ext && !pci_cfg_is_express(cfg))
		return -EINVAL;
	unsigned lo = ext ? PCI_CFG_SIZE : PCI_STD_HEADER_SIZEOF;
	unsigned hi = ext ? cfg->size : PCI_CFG_SIZE;
	if (len < (ext ? 4u : 2u))
		return -EINVAL;
	if (len > hi - lo)
		return -ENOSPC;
	if (cfg->ncaps >= PCI_CFG_MAX_CAPS)
		return -ENOSPC;
	if (off) {
		if (off % 4 || off < lo || off + len > hi)
			return -EINVAL;
		return range_free(cfg, off, len) ? (int)off : -EEXIST;
	}
	for (unsigned o = lo; o + len <= hi; o += 4)
		if (range_free(cfg, o, len))
			return (int)o;
	return -ENOSPC;
}

static void cap_remove(struct pci_cfg *cfg, unsigned slot)
{
	free(cfg->caps[slot].virt);
	memmove(&cfg->caps[slot], &cfg->caps[slot + 1],
		(cfg->ncaps - slot - 1) * sizeof(cfg->caps[0]));
	cfg->ncaps--;
	memset(&cfg->caps[cfg->ncaps], 0, sizeof(cfg->caps[0]));
}

static int cap_register(struct pci_cfg *cfg, bool ext, uint16_t id,
			unsigned off, unsigned len,
			const struct pci_cap_type *type)
{
	/* A builder filler at 0x100 gives way to a real capability. */
	for (unsigned i = 1; i < cfg->ncaps; i++) {
		struct pci_cap *c = &cfg->caps[i];
		if (c->filler && off < c->off + c->len && c->off < off + len) {
			cap_remove(cfg, i);
			i--;
		}
	}
	if (cfg->ncaps >= PCI_CFG_MAX_CAPS)
		return -ENOSPC;
	unsigned tlen = (len + 3u) & ~3u;
	uint8_t *tables = calloc(2, tlen);
	if (!tables)
		return -ENOMEM;
	/* Slots stay in address order: the order of the chains. */
	unsigned slot = 1;
	while (slot < cfg->ncaps && cfg->caps[slot].off < off)
		slot++;
	memmove(&cfg->caps[slot + 1], &cfg->caps[slot],
		(cfg->ncaps - slot) * sizeof(cfg->caps[0]));
	cfg->ncaps++;
	struct pci_cap *c = &cfg->caps[slot];
	memset(c, 0, sizeof(*c));
	c->off = (uint16_t)off;
	c->len = (uint16_t)len;
	c->id = id;
	c->kind = ext ? PCI_KIND_EXT : PCI_KIND_STD;
	c->type = type;
	c->virt = tables;
	c->write = tables + tlen;

	/* The virtual copy starts as the backing holds it. */
	for (unsigned o = off; o < off + len; o++) {
		uint32_t v;
		if (pci_bk_read(cfg, o, 1, &v) == 0)
			cfg->vconfig[o] = (uint8_t)v;
	}
	if (ext)
		c->version = (uint8_t)PCI_EXT_CAP_VER(pci_vget(cfg, off, 4));
	/* The header holds the chain: always virtual and read-only. */
	if (ext)
		pci_perm(c, 0, 4, 0xffffffffu, 0);
	else
		pci_perm(c, PCI_CAP_LIST_ID, 2, 0xffff, 0);
	int r = type && type->init ? type->init(cfg, c) : 0;
	if (r < 0) {
		cap_remove(cfg, slot);
		pci_cfg_relink(cfg);
		return r;
	}
	pci_cfg_relink(cfg);
	return (int)off;
}

int pci_cap_register(struct pci_cfg *cfg, bool ext, uint16_t id,
		     unsigned off, unsigned len)
{
	return cap_register(cfg, ext, id, off, len, pci_cap_type_find(ext, id));
}

/* ---- the chains ----------------------------------------------------- */

/* The emulated device's own chains, hidden capabilities included. */
static void emu_relink(struct pci_cfg *cfg)
{
	uint8_t ptr = 0;
	unsigned prev = PCI_CAPABILITY_LIST;
	uint8_t b;
	for (unsigned i = 1; i < cfg->ncaps; i++) {
		const struct pci_cap *c = &cfg->caps[i];
		if (c->kind != PCI_KIND_STD)
			continue;
		b = (uint8_t)c->off;
		pci_emu_poke(cfg->emu, prev, &b, 1);
		prev = c->off + PCI_CAP_LIST_NEXT;
		ptr = 1;
	}
	b = 0;
	pci_emu_poke(cfg->emu, prev, &b, 1);
	uint32_t st;
	pci_bk_read(cfg, PCI_STATUS, 2, &st);
	st = ptr ? st | PCI_STATUS_CAP_LIST : st & ~(uint32_t)PCI_STATUS_CAP_LIST;
	uint8_t sb[2] = { (uint8_t)st, (uint8_t)(st >> 8) };
	pci_emu_poke(cfg->emu, PCI_STATUS, sb, 2);

	for (unsigned i = 1; i < cfg->ncaps; i++) {
		const struct pci_cap *c = &cfg->caps[i];
		if (c->kind != PCI_KIND_EXT)
			continue;
		unsigned next = 0;
		for (unsigned j = i + 1; j < cfg->ncaps && !next; j++)
			if (cfg->caps[j].kind == PCI_KIND_EXT)
				next = cfg->caps[j].off;
		uint32_t h;
		pci_bk_read(cfg, c->off, 4, &h);
		h = (h & 0x000fffffu) | (uint32_t)next << 20;
		uint8_t hb[4] = { (uint8_t)h, (uint8_t)(h >> 8), (uint8_t)(h >> 16),
				  (uint8_t)(h >> 24) };
		pci_emu_poke(cfg->emu, c->off, hb, 4);
	}
}

static void map_cap(struct pci_cfg *cfg, unsigned slot, unsigned len)
{
	const struct pci_cap *c = &cfg->caps[slot];
	for (unsigned o = c->off; o < c->off + len && o < PCI_CFG_EXP_SIZE; o++)
		cfg->map[o] = (uint8_t)slot;
}

void pci_cfg_relink(struct pci_cfg *cfg)
{
	if (cfg->emu)
		emu_relink(cfg);
	for (unsigned o = 0; o < PCI_CFG_EXP_SIZE; o++)
		if (cfg->map[o] != PCI_MAP_VIRT)
			cfg->map[o] = PCI_MAP_UNOWNED;
	map_cap(cfg, 0, PCI_STD_HEADER_SIZEOF);

	/* Standard chain: visible capabilities in address order. */
	unsigned prev = PCI_CAPABILITY_LIST;
	bool any = false;
	struct pci_cap *head = NULL;
	for (unsigned i = 1; i < cfg->ncaps; i++) {
		struct pci_cap *c = &cfg->caps[i];
		c->hidden = !c->type || c->filler || hidden_by_model(cfg, c);
		c->placeholder = false;
		if (c->kind == PCI_KIND_EXT && c->off == PCI_CFG_SIZE)
			head = c;
		if (c->hidden || c->kind != PCI_KIND_STD)
			continue;
		map_cap(cfg, i, c->len);
		cfg->vconfig[prev] = (uint8_t)c->off;
		prev = c->off + PCI_CAP_LIST_NEXT;
		any = true;
	}
	cfg->vconfig[prev] = 0;
	uint16_t st = (uint16_t)pci_vget(cfg, PCI_STATUS, 2);
	st = any ? st | PCI_STATUS_CAP_LIST : st & ~PCI_STATUS_CAP_LIST;
	pci_vset(cfg, PCI_STATUS, 2, st);

	if (!pci_cfg_is_express(cfg))
		return;
	/*
	 * Extended chain.  It must start at 0x100, so a hidden capability
	 * there stays as a bare header (ID and version 0) that links on.
	 */
	unsigned prev_ext = 0, first = 0;
	if (head && head->hidden) {
		head->placeholder = true;
		map_cap(cfg, (unsigned)(head - cfg->caps), 4);
	}
	for (unsigned i = 1; i < cfg->ncaps; i++) {
		struct pci_cap *c = &cfg->caps[i];
		if (c->hidden || c->kind != PCI_KIND_EXT)
			continue;
		map_cap(cfg, i, c->len);
		pci_vset(cfg, c->off, 4, pci_vget(cfg, c->off, 4) & 0x000fffffu);
		if (prev_ext)
			pci_vset(cfg, prev_ext, 4, pci_vget(cfg, prev_ext, 4) |
				 (uint32_t)c->off << 20);
		else
			first = c->off;
		prev_ext = c->off;
	}
	if (head && head->hidden)
		pci_vset(cfg, PCI_CFG_SIZE, 4, first << 20);
}

/* ---- building ------------------------------------------------------- */

static void emu_bytes(struct pci_cfg *cfg, unsigned off, const void *data,
		      size_t len)
{
	const uint8_t *b = data;
	for (size_t i = 0; i < len; i++)
		pci_cfg_poke(cfg, (uint32_t)(off + i), 1, b[i]);
}

/*
 * Write the bytes (header included) of a capability of @len at @off.  A
 * capability of a kind uvfio virtualizes must hold that kind's registers:
 * its handlers reach them, and past a short one they would act on the
 * next capability's bytes.  If it does not, the bytes are put back and
 * -EINVAL.
 */
static int poke_cap(struct pci_cfg *cfg, bool ext, uint16_t id, unsigned off,
		    const uint8_t *bytes, unsigned len)
{
	uint8_t *old = malloc(len);
	if (!old)
		return -ENOMEM;
	int r = pci_cfg_phys_read(cfg, off, old, len);
	if (r == 0) {
		emu_bytes(cfg, off, bytes, len);
		const struct pci_cap_type *t = pci_cap_type_find(ext, id);
		if (t && t->length && t->length(cfg, off) > len) {
			emu_bytes(cfg, off, old, len);
			r = -EINVAL;
		}
	}
	free(old);
	return r;
}

int pci_cfg_add_raw(struct pci_cfg *cfg, bool ext, uint16_t id,
		    uint8_t version, unsigned off, const void *body,
		    size_t len)
{
	unsigned hdr = ext ? 4 : 2;
	if ((len && !body) || len > PCI_CFG_EXP_SIZE || version > 15)
		return -EINVAL;
	if (!ext && id > 0xff)
		return -EINVAL;
	unsigned total = hdr + (unsigned)len;
	int o = pci_cfg_place(cfg, ext, off, total);
	if (o < 0)
		return o;
	uint8_t *bytes = calloc(1, total);
	if (!bytes)
		return -ENOMEM;
	uint32_t h = ext ? id | (uint32_t)version << 16 : id;
	for (unsigned i = 0; i < hdr; i++)
		bytes[i] = (uint8_t)(h >> (8 * i));
	if (len)
		memcpy(bytes + hdr, body, len);
	int r = poke_cap(cfg, ext, id, (unsigned)o, bytes, total);
	free(bytes);
	if (r < 0)
		return r;
	r = ext ? pci_cfg_ext_anchor(cfg, (unsigned)o) : 0;
	if (r < 0)
		return r;
	return pci_cap_register(cfg, ext, id, (unsigned)o, total);
}

/* Kept for the first builder API: an empty standard capability. */
int pci_cfg_add_cap(struct pci_cfg *cfg, uint8_t id, uint8_t len)
{
	if (len < 2)
		return -EINVAL;
	int o = pci_cfg_place(cfg, false, 0, len);
	if (o < 0)
		return o;
	uint8_t bytes[256] = { id };
	if (id == PCI_CAP_ID_VNDR && len > PCI_CAP_FLAGS)
		bytes[PCI_CAP_FLAGS] = len;
	int r = poke_cap(cfg, false, id, (unsigned)o, bytes, len);
	if (r < 0)
		return r;
	return pci_cap_register(cfg, false, id, (unsigned)o, len);
}

/*
 * The first extended capability must sit at 0x100; when the builder
 * puts one elsewhere first, a null header there starts the chain.
 */
int pci_cfg_ext_anchor(struct pci_cfg *cfg, unsigned off)
{
	if (off == PCI_CFG_SIZE || !range_free(cfg, PCI_CFG_SIZE, 4))
		return 0;
	for (unsigned i = 1; i < cfg->ncaps; i++)
		if (cfg->caps[i].off == PCI_CFG_SIZE)
			return 0;
	pci_cfg_poke(cfg, PCI_CFG_SIZE, 4, 0);
	int r = cap_register(cfg, true, 0, PCI_CFG_SIZE, 4, NULL);
	if (r < 0)
		return r;
	pci_cap_at(cfg, PCI_CFG_SIZE)->filler = true;
	pci_cfg_relink(cfg);
	return 0;
}

int pci_cfg_add_virtual(struct pci_cfg *cfg, unsigned off, unsigned len)
{
	if (cfg->sealed)
		return -EBUSY;
	if (!len || !range_ok(off, len, cfg->size) || off < PCI_STD_HEADER_SIZEOF)
		return -EINVAL;
	if (!range_free(cfg, off, len))
		return -EEXIST;
	memset(cfg->map + off, PCI_MAP_VIRT, len);
	return (int)off;
}

int pci_cfg_hide(struct pci_cfg *cfg, bool ext, uint16_t id)
{
	if (cfg->sealed)
		return -EBUSY;
	if (!ext) {
		if (id > 0xff)
			return -EINVAL;
		cfg->hide_std[id / 32] |= 1u << (id % 32);
	} else {
		for (unsigned i = 0; i < cfg->nhide_ext; i++)
			if (cfg->hide_ext[i] == id)
				return 0;
		if (cfg->nhide_ext >= ARRAY_SIZE(cfg->hide_ext))
			return -ENOSPC;
		cfg->hide_ext[cfg->nhide_ext++] = id;
	}
	pci_cfg_relink(cfg);
	return 0;
}

/* ---- walking a backing's chains ------------------------------------- */

static uint32_t bk(const struct pci_cfg *cfg, uint32_t off, unsigned n)
{
	uint32_t v;
	return pci_bk_read(cfg, off, n, &v) < 0 ? 0 : v;
}

static void scan_std(struct pci_cfg *cfg)
{
	if (!(bk(cfg, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST))
		return;
	uint64_t seen = 0;
	unsigned pos = bk(cfg, PCI_CAPABILITY_LIST, 1) & ~3u;
	for (unsigned n = 0; pos && n < PCI_STD_CHAIN_MAX; n++) {
		if (pos < PCI_STD_HEADER_SIZEOF || pos > PCI_CFG_SIZE - 4)
			break;
		unsigned dw = (pos - PCI_STD_HEADER_SIZEOF) / 4;
		if (seen & (1ull << dw))
			break;         /* a loop: every capability is known */
		seen |= 1ull << dw;
		uint8_t id = (uint8_t)bk(cfg, pos + PCI_CAP_LIST_ID, 1);
		unsigned next = bk(cfg, pos + PCI_CAP_LIST_NEXT, 1) & ~3u;
		const struct pci_cap_type *t = pci_cap_type_find(false, id);
		unsigned len = t && t->length ? t->length(cfg, pos) : 0;
		/* Unknown or unusable: left out of the map and the chain. */
		if (len >= 2 && pos + len <= PCI_CFG_SIZE && range_free(cfg, pos, len))
			cap_register(cfg, false, id, pos, len, t);
		pos = next;
	}
}

static void scan_ext(struct pci_cfg *cfg)
{
	uint32_t seen[PCI_EXT_CHAIN_MAX / 32] = { 0 };
	unsigned pos = PCI_CFG_SIZE;
	for (unsigned n = 0; n < PCI_EXT_CHAIN_MAX; n++) {
		if (pos < PCI_CFG_SIZE || pos + 4 > cfg->size)
			break;
		unsigned dw = (pos - PCI_CFG_SIZE) / 4;
		if (seen[dw / 32] & (1u << (dw % 32)))
			break;
		seen[dw / 32] |= 1u << (dw % 32);
		uint32_t hdr = bk(cfg, pos, 4);
		if (pos == PCI_CFG_SIZE && (hdr == 0 || hdr == 0xffffffffu)) {
			/* None (or no device answering): reads as 0. */
			cap_register(cfg, true, 0, pos, 4, NULL);
			break;
		}
		uint16_t id = (uint16_t)PCI_EXT_CAP_ID(hdr);
		const struct pci_cap_type *t = pci_cap_type_find(true, id);
		unsigned len = t && t->length ? t->length(cfg, pos) : 0;
		bool ok = len >= 4 && pos + len <= cfg->size &&
			  range_free(cfg, pos, len);
		if (ok)
			cap_register(cfg, true, id, pos, len, t);
		else if (pos == PCI_CFG_SIZE)
			cap_register(cfg, true, id, pos, 4, NULL);
		pos = PCI_EXT_CAP_NEXT(hdr);
		if (!pos)
			break;
	}
}

struct pci_cfg *pci_cfg_new_backed(uint32_t size, const struct pci_backing *b)
{
	if (!b || !b->read || !b->write || (size != PCI_CFG_SIZE &&
					    size != PCI_CFG_EXP_SIZE))
		return NULL;
	struct pci_cfg *cfg = pci_cfg_new(size);
	if (!cfg)
		return NULL;
	pci_emu_free(cfg->emu);
	cfg->emu = NULL;
	cfg->bk = *b;
	uint32_t v;
	for (uint32_t o = 0; o < PCI_STD_HEADER_SIZEOF; o += 4)
		if (pci_bk_read(cfg, o, 4, &v) == 0)
			pci_vset(cfg, o, 4, v);
	cfg->caps[0].type->init(cfg, &cfg->caps[0]);
	scan_std(cfg);
	if (size == PCI_CFG_EXP_SIZE)
		scan_ext(cfg);
	pci_cfg_relink(cfg);
	pci_hdr_fixup_bars(cfg);
	return cfg;
}
