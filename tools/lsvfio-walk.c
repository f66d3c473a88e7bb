/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Walking the capability chains of a config-space image.  The image
 * comes from the device, so every pointer in it is untrusted: each walk
 * is bounded, visits an offset at most once, and says so when it stops
 * early, instead of hanging or reading outside the image.
 */
#include <stdarg.h>
#include <string.h>

#include "lsvfio.h"

/* Bits 31:20 of an extended capability header: the next pointer. */
#define ECAP_NEXT_SHIFT 20

/* ---- helpers the decoders write through ---------------------------- */

void cap_head(struct lsv_cap *c, const char *fmt, ...)
{
	va_list ap;

	c->head_done = true;
	if (!c->f)
		return;
	if (c->ext)
		fprintf(c->f, "\tCapabilities: [%03x v%u] ", c->pos, c->version);
	else
		fprintf(c->f, "\tCapabilities: [%02x] ", c->pos);
	va_start(ap, fmt);
	vfprintf(c->f, fmt, ap);
	va_end(ap);
	fputc('\n', c->f);
}

void cap_line(struct lsv_cap *c, const char *fmt, ...)
{
	va_list ap;

	if (!c->f)
		return;
	fputs("\t\t", c->f);
	va_start(ap, fmt);
	vfprintf(c->f, fmt, ap);
	va_end(ap);
	fputc('\n', c->f);
}

void cap_add(struct lsv_cap *c, const char *key, json_object *v)
{
	if (c->json)
		json_object_object_add(c->json, key, v);
	else
		json_object_put(v);
}

void cap_int(struct lsv_cap *c, const char *key, uint64_t v)
{
	if (c->json)
		json_object_object_add(c->json, key, json_object_new_uint64(v));
}

void cap_bool(struct lsv_cap *c, const char *key, bool v)
{
	if (c->json)
		json_object_object_add(c->json, key, json_object_new_boolean(v));
}

void cap_str(struct lsv_cap *c, const char *key, const char *v)
{
	if (c->json)
		json_object_object_add(c->json, key,
				       v ? json_object_new_string(v) : NULL);
}

static bool cap_in_range(struct lsv_cap *c, unsigned off, unsigned len)
{
	if (c->pos + off + len > c->dev->config_size) {
		c->truncated = true;
		return false;
	}
	return true;
}

uint8_t cap8(struct lsv_cap *c, unsigned off)
{
	cap_in_range(c, off, 1);
	return lsv_cfg8(c->dev, c->pos + off);
}

uint16_t cap16(struct lsv_cap *c, unsigned off)
{
	cap_in_range(c, off, 2);
	return lsv_cfg16(c->dev, c->pos + off);
}

uint32_t cap32(struct lsv_cap *c, unsigned off)
{
	cap_in_range(c, off, 4);
	return lsv_cfg32(c->dev, c->pos + off);
}

/* ---- the walks --------------------------------------------------------- */

struct walk {
	const struct lsv_device *dev;
	FILE *f;
	json_object *notes;
};

static void note(struct walk *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void note(struct walk *w, const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (w->f)
		fprintf(w->f, "\tNote: %s\n", msg);
	if (w->notes)
		json_object_array_add(w->notes, json_object_new_string(msg));
}

static void decode_one(struct walk *w, json_object *list, unsigned pos,
		       unsigned id, unsigned version, bool ext)
{
	struct lsv_cap c = {
		.dev = w->dev, .pos = pos, .id = id, .version = version,
		.ext = ext, .f = w->f,
	};
	if (list) {
		c.json = json_object_new_object();
		json_object_object_add(c.json, "offset", json_object_new_int((int)pos));
		json_object_object_add(c.json, "id", json_object_new_int((int)id));
		if (ext)
			json_object_object_add(c.json, "version",
					       json_object_new_int((int)version));
		const char *name = ext ? lsv_ecap_name(id) : lsv_cap_name(id);
		json_object_object_add(c.json, "name",
				       name ? json_object_new_string(name) : NULL);
	}
	if (ext)
		lsv_decode_ecap(&c);
	else
		lsv_decode_cap(&c);
	if (!c.head_done)
		cap_head(&c, "%s", "?");
	if (c.truncated) {
		cap_line(&c, "<truncated: runs past the end of config space>");
		cap_bool(&c, "truncated", true);
	}
	if (list)
		json_object_array_add(list, c.json);
}

static void walk_standard(struct walk *w, json_object *list)
{
	const struct lsv_device *d = w->dev;
	bool seen[PCI_CFG_SPACE_SIZE] = { false };
	/* Standard capabilities live in the first 256 bytes. */
	size_t end = d->config_size < PCI_CFG_SPACE_SIZE ? d->config_size :
		     PCI_CFG_SPACE_SIZE;

	if (!(lsv_cfg16(d, PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return;
	uint8_t htype = lsv_cfg8(d, PCI_HEADER_TYPE) & PCI_HEADER_TYPE_MASK;
	unsigned ptr = htype == PCI_HEADER_TYPE_CARDBUS ? PCI_CB_CAPABILITY_LIST :
		       PCI_CAPABILITY_LIST;
	/* The two low bits of every pointer are reserved: masked, as Linux does. */
	unsigned pos = lsv_cfg8(d, ptr) & ~3u;
	unsigned prev = ptr;

	for (unsigned n = 0; pos; n++) {
		if (pos < PCI_STD_HEADER_SIZEOF) {
			note(w, "capability pointer at [%02x] points into the "
			     "header ([%02x]), walk stopped", prev, pos);
			return;
		}
		if (pos + PCI_CAP_LIST_NEXT >= end) {
			note(w, "capability pointer at [%02x] points past config "
			     "space ([%02x]), walk stopped", prev, pos);
			return;
		}
		if (seen[pos]) {
			note(w, "capability chain loops back to [%02x] from [%02x], "
			     "walk stopped", pos, prev);
			return;
		}
		/* Cannot trigger with the loop check; kept as the hard bound. */
		if (n >= LSV_CAP_TTL) {
			note(w, "capability chain longer than %u entries, "
			     "walk stopped at [%02x]", LSV_CAP_TTL, pos);
			return;
		}
		seen[pos] = true;
		unsigned id = lsv_cfg8(d, pos + PCI_CAP_LIST_ID);
		if (id == 0xff) {
			/* What a device that is gone reads as. */
			note(w, "capability at [%02x] reads as all ones, walk "
			     "stopped", pos);
			return;
		}
		decode_one(w, list, pos, id, 0, false);
		prev = pos + PCI_CAP_LIST_NEXT;
		pos = lsv_cfg8(d, pos + PCI_CAP_LIST_NEXT) & ~3u;
	}
}

static void walk_extended(struct walk *w, json_object *list)
{
	const struct lsv_device *d = w->dev;
	bool seen[LSV_ECAP_TTL] = { false };
	unsigned pos = PCI_CFG_SPACE_SIZE;
	unsigned prev = 0;

	if (d->config_size < PCI_CFG_SPACE_SIZE + 4)
		return;
	for (unsigned n = 0;; n++) {
		if (pos + 4 > d->config_size) {
			note(w, "extended capability pointer at [%03x] points past "
			     "config space ([%03x]), walk stopped", prev, pos);
			return;
		}
		unsigned slot = (pos - PCI_CFG_SPACE_SIZE) / 4;
		if (seen[slot]) {
			note(w, "extended capability chain loops back to [%03x] "
			     "from [%03x], walk stopped", pos, prev);
			return;
		}
		if (n >= LSV_ECAP_TTL) {
			note(w, "extended capability chain longer than %u "
			     "entries, walk stopped at [%03x]", LSV_ECAP_TTL, pos);
			return;
		}
		seen[slot] = true;
		uint32_t hdr = lsv_cfg32(d, pos);
		if (hdr == 0 && n == 0)
			return;   /* no extended capabilities at all */
		if (hdr == 0 || hdr == 0xffffffff) {
			note(w, "extended capability at [%03x] reads as 0x%08x, "
			     "walk stopped", pos, hdr);
			return;
		}
		decode_one(w, list, pos, PCI_EXT_CAP_ID(hdr),
			   PCI_EXT_CAP_VER(hdr), true);
		unsigned raw = hdr >> ECAP_NEXT_SHIFT;
		unsigned next = PCI_EXT_CAP_NEXT(hdr);
		if (!raw)
			return;
		if (raw != next) {
			note(w, "extended capability at [%03x] has a misaligned "
			     "next pointer [%03x], walk stopped", pos, raw);
			return;
		}
		if (next < PCI_CFG_SPACE_SIZE) {
			note(w, "extended capability at [%03x] points below "
			     "[%03x] ([%03x]), walk stopped", pos,
			     PCI_CFG_SPACE_SIZE, next);
			return;
		}
		prev = pos;
		pos = next;
	}
}

void lsv_walk_caps(const struct lsv_device *d, FILE *f, json_object *caps,
		   json_object *ecaps, json_object *notes)
{
	struct walk w = { .dev = d, .f = f, .notes = notes };

	if (!lsv_has_config(d))
		return;
	walk_standard(&w, caps);
	walk_extended(&w, ecaps);
}

unsigned lsv_find_cap(const struct lsv_device *d, unsigned id)
{
	bool seen[PCI_CFG_SPACE_SIZE] = { false };
	size_t end = d->config_size < PCI_CFG_SPACE_SIZE ? d->config_size :
		     PCI_CFG_SPACE_SIZE;

	if (!lsv_has_config(d) || !(lsv_cfg16(d, PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return 0;
	uint8_t htype = lsv_cfg8(d, PCI_HEADER_TYPE) & PCI_HEADER_TYPE_MASK;
	unsigned pos = lsv_cfg8(d, htype == PCI_HEADER_TYPE_CARDBUS ?
				PCI_CB_CAPABILITY_LIST : PCI_CAPABILITY_LIST) & ~3u;
	/* The walk above's rules: stop where it would stop. */
	for (unsigned n = 0; pos && n < LSV_CAP_TTL; n++) {
		if (pos < PCI_STD_HEADER_SIZEOF || pos + PCI_CAP_LIST_NEXT >= end ||
		    seen[pos])
			return 0;
		seen[pos] = true;
		unsigned got = lsv_cfg8(d, pos + PCI_CAP_LIST_ID);
		if (got == 0xff)
			return 0;
		if (got == id)
			return pos;
		pos = lsv_cfg8(d, pos + PCI_CAP_LIST_NEXT) & ~3u;
	}
	return 0;
}
