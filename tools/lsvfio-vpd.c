/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Vital Product Data.  The probe reads the image through the VPD
 * capability, as the kernel does for lspci: write the address register
 * with F = 0, wait (a bounded number of tries, a bounded time) for the
 * device to set F, then read four bytes from the data register.  It reads
 * only as far as the resource tags lead, so a device is never asked for
 * an address past its end tag.  The printers decode the bytes as
 * `lspci -vv` does.  The image is the device's word: every length in it
 * is checked against what was read, every loop is bounded, and the first
 * thing that is wrong ends the decode with its offset.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lsvfio.h"

/* Resource data types (PCI Local Bus 3.0 appendix I, PCIe 6.28). */
#define VPD_LARGE          0x80   /* large resource: tag, 16-bit length */
#define VPD_TAG_ID_STRING  0x82
#define VPD_TAG_RO         0x90   /* VPD-R: read-only keywords */
#define VPD_TAG_RW         0x91   /* VPD-W: read/write keywords */
#define VPD_SMALL_NAME(t)  (((t) >> 3) & 0x0f)
#define VPD_SMALL_END      0x0f   /* the end tag, 0x78 */
#define VPD_LARGE_HDR      3u
#define VPD_SMALL_HDR      1u
#define VPD_KW_HDR         3u     /* two keyword characters, a length */
#define VPD_POLL_FIRST_NS  10000L /* first wait for F; doubles each time */
#define VPD_POLL_MAX_SHIFT 7      /* ... up to 1.28 ms */
#define NS_PER_MS          1000000L
#define MS_PER_S           1000L

/* ---- the parser --------------------------------------------------------- */

static void stop(struct lsv_vpd_parsed *p, enum lsv_vpd_status st, size_t off,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void stop(struct lsv_vpd_parsed *p, enum lsv_vpd_status st, size_t off,
		 const char *fmt, ...)
{
	va_list ap;

	p->status = st;
	p->bad_off = (unsigned)off;
	va_start(ap, fmt);
	vsnprintf(p->why, sizeof(p->why), fmt, ap);
	va_end(ap);
}

/* The image stops before byte @need - 1: more to read, or malformed. */
static void too_short(struct lsv_vpd_parsed *p, size_t off, size_t need,
		      const char *what)
{
	if (need > LSV_VPD_MAX_SIZE) {
		stop(p, LSV_VPD_BAD, off, "%s runs past 32 KiB", what);
		return;
	}
	stop(p, LSV_VPD_SHORT, off, "%s runs past the end", what);
	p->need = need;
}

static struct lsv_vpd_entry *add_entry(struct lsv_vpd_parsed *p,
				       enum lsv_vpd_kind kind, size_t off)
{
	if (p->n >= LSV_VPD_MAX_ENTRIES) {
		stop(p, LSV_VPD_BAD, off, "more than %u tags and keywords",
		     LSV_VPD_MAX_ENTRIES);
		return NULL;
	}
	struct lsv_vpd_entry *e = &p->e[p->n++];
	e->kind = kind;
	e->off = (unsigned)off;
	e->checksum = -1;
	return e;
}

static bool kw_char(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
	       (c >= 'a' && c <= 'z');
}

/* The keywords of a VPD-R or VPD-W resource, @buf[@body .. @end). */
static bool parse_keywords(const uint8_t *buf, size_t body, size_t end, bool ro,
			   struct lsv_vpd_parsed *p)
{
	/* Each keyword takes at least 3 bytes of a resource <= 64 KiB. */
	for (size_t k = body; k < end;) {
		if (end - k < VPD_KW_HDR) {
			stop(p, LSV_VPD_BAD, k, "keyword header runs past the "
			     "end of its resource");
			return false;
		}
		if (!kw_char(buf[k]) || !kw_char(buf[k + 1])) {
			stop(p, LSV_VPD_BAD, k, "keyword 0x%02x 0x%02x is not two "
			     "letters or digits", buf[k], buf[k + 1]);
			return false;
		}
		char key[3] = { (char)buf[k], (char)buf[k + 1], '\0' };
		unsigned n = buf[k + 2];
		if (n > end - k - VPD_KW_HDR) {
			stop(p, LSV_VPD_BAD, k, "keyword %s of %u bytes runs past "
			     "the end of its resource", key, n);
			return false;
		}
		struct lsv_vpd_entry *e = add_entry(p, LSV_VPD_FIELD, k);
		if (!e)
			return false;
		memcpy(e->key, key, sizeof(key));
		e->ro = ro;
		e->val = buf + k + VPD_KW_HDR;
		e->len = n;
		if (ro && !strcmp(key, "RV") && p->checksum < 0) {
			/* Bytes 0 up to RV's first data byte sum to 0. */
			if (!n) {
				stop(p, LSV_VPD_BAD, k, "keyword RV has no checksum "
				     "byte");
				return false;
			}
			uint8_t sum = 0;
			for (size_t i = 0; i <= k + VPD_KW_HDR; i++)
				sum = (uint8_t)(sum + buf[i]);
			e->checksum = p->checksum = sum == 0;
		}
		k += VPD_KW_HDR + n;
	}
	return true;
}

void lsv_vpd_parse(const uint8_t *buf, size_t len, struct lsv_vpd_parsed *p)
{
	memset(p, 0, sizeof(*p));
	p->checksum = -1;
	if (!buf)
		len = 0;
	size_t off = 0;
	for (unsigned tags = 0;; tags++) {
		if (off >= len && off >= LSV_VPD_MAX_SIZE) {
			stop(p, LSV_VPD_BAD, off, "no end tag in 32 KiB");
			return;
		}
		if (off >= len) {
			stop(p, LSV_VPD_SHORT, off, "no end tag");
			p->need = off + 1;
			return;
		}
		uint8_t t = buf[off];
		if (!(t & VPD_LARGE)) {
			if (VPD_SMALL_NAME(t) == VPD_SMALL_END) {
				p->status = LSV_VPD_END;
				p->end_off = (unsigned)off;
				return;
			}
			stop(p, LSV_VPD_BAD, off, "unknown resource tag 0x%02x", t);
			return;
		}
		if (t != VPD_TAG_ID_STRING && t != VPD_TAG_RO && t != VPD_TAG_RW) {
			stop(p, LSV_VPD_BAD, off, "unknown resource tag 0x%02x", t);
			return;
		}
		if (tags >= LSV_VPD_MAX_TAGS) {
			stop(p, LSV_VPD_BAD, off, "more than %u resource tags",
			     LSV_VPD_MAX_TAGS);
			return;
		}
		if (len - off < VPD_LARGE_HDR) {
			too_short(p, off, off + VPD_LARGE_HDR, "resource tag header");
			return;
		}
		size_t n = buf[off + 1] | (size_t)buf[off + 2] << 8;
		size_t body = off + VPD_LARGE_HDR;
		if (n > len - body) {
			char what[48];
			snprintf(what, sizeof(what), "resource 0x%02x of %zu bytes", t, n);
			too_short(p, off, body + n, what);
			return;
		}
		enum lsv_vpd_kind kind = t == VPD_TAG_ID_STRING ? LSV_VPD_NAME :
					 t == VPD_TAG_RO ? LSV_VPD_RO : LSV_VPD_RW;
		struct lsv_vpd_entry *e = add_entry(p, kind, off);
		if (!e)
			return;
		e->val = buf + body;
		e->len = (unsigned)n;
		if (kind != LSV_VPD_NAME &&
		    !parse_keywords(buf, body, body + n, kind == LSV_VPD_RO, p))
			return;
		off = body + n;
	}
}

const char *lsv_vpd_keyword_name(const char *key)
{
	static const struct {
		const char key[3];
		const char *name;
	} names[] = {
		{ "PN", "Part number" }, { "EC", "Engineering changes" },
		{ "FG", "Fabric geography" }, { "LC", "Location" },
		{ "MN", "Manufacture ID" }, { "PG", "PCI geography" },
		{ "SN", "Serial number" }, { "CP", "Extended capability" },
		{ "RV", "Reserved" }, { "YA", "Asset tag" },
		{ "RW", "Read-write area" },
	};
	for (size_t i = 0; i < LSV_ARRAY_SIZE(names); i++)
		if (!strcmp(key, names[i].key))
			return names[i].name;
	if (key[0] == 'V' && kw_char((uint8_t)key[1]))
		return "Vendor specific";
	if (key[0] == 'Y' && kw_char((uint8_t)key[1]))
		return "System specific";
	return "Unknown";
}

/* ---- reading it from the device ----------------------------------------- */

struct vpd_io {
	struct uvfio_device *dev;
	unsigned cap;
	struct timespec start;
};

static long ms_since(const struct timespec *t0)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * MS_PER_S +
	       (now.tv_nsec - t0->tv_nsec) / NS_PER_MS;
}

static int cfg_rw(struct vpd_io *io, bool write, unsigned off, void *buf,
		  size_t len)
{
	ssize_t r = write ?
		uvfio_region_write(io->dev, VFIO_PCI_CONFIG_REGION_INDEX, off, buf, len) :
		uvfio_region_read(io->dev, VFIO_PCI_CONFIG_REGION_INDEX, off, buf, len);
	if (r < 0)
		return (int)r;
	return (size_t)r == len ? 0 : -EIO;
}

/* Four bytes of VPD at @addr into @out. */
static int read_dword(struct vpd_io *io, unsigned addr, uint8_t out[4])
{
	uint8_t a[2] = { (uint8_t)addr,
			 (uint8_t)((addr & PCI_VPD_ADDR_MASK) >> 8) };   /* F = 0 */
	int r = cfg_rw(io, true, io->cap + PCI_VPD_ADDR, a, sizeof(a));
	if (r < 0)
		return r;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned i = 0;; i++) {
		r = cfg_rw(io, false, io->cap + PCI_VPD_ADDR, a, sizeof(a));
		if (r < 0)
			return r;
		if (a[1] & (PCI_VPD_ADDR_F >> 8))
			break;
		if (i + 1 >= LSV_VPD_POLL_TRIES || ms_since(&t0) >= LSV_VPD_POLL_MS)
			return LSV_VPD_ERR_NO_COMPLETION;
		struct timespec nap = {
			.tv_nsec = VPD_POLL_FIRST_NS <<
				   (i < VPD_POLL_MAX_SHIFT ? i : VPD_POLL_MAX_SHIFT),
		};
		nanosleep(&nap, NULL);
	}
	return cfg_rw(io, false, io->cap + PCI_VPD_DATA, out, 4);
}

int lsv_probe_vpd(struct uvfio_device *dev, struct lsv_device *d)
{
	struct lsv_vpd *v = &d->vpd;
	unsigned cap = lsv_find_cap(d, PCI_CAP_ID_VPD);

	if (!cap || cap + PCI_CAP_VPD_SIZEOF > d->config_size)
		return 0;
	struct lsv_vpd_parsed *p = malloc(sizeof(*p));
	if (!p)
		return -ENOMEM;
	struct vpd_io io = { .dev = dev, .cap = cap };
	clock_gettime(CLOCK_MONOTONIC, &io.start);
	v->read = true;
	int ret = 0;
	/*
	 * Read what the parse asks for, parse again: each round takes the
	 * parse at least one header or one resource further, so the tag
	 * bound bounds the rounds.
	 */
	for (unsigned round = 0; round < 2 * LSV_VPD_MAX_TAGS + 2; round++) {
		lsv_vpd_parse(v->data, v->len, p);
		if (p->status != LSV_VPD_SHORT || p->need <= v->len)
			break;
		/* Whole dwords; need is at most LSV_VPD_MAX_SIZE. */
		size_t want = (p->need + 3) & ~(size_t)3;
		uint8_t *nd = realloc(v->data, want);
		if (!nd) {
			ret = -ENOMEM;
			break;
		}
		v->data = nd;
		while (v->len < want && !v->err) {
			if (ms_since(&io.start) >= (long)LSV_VPD_TOTAL_MS) {
				v->err = LSV_VPD_ERR_TOO_SLOW;
				break;
			}
			int r = read_dword(&io, (unsigned)v->len, v->data + v->len);
			if (r < 0) {
				v->err = r;
				if (lsv_fatal_error(r))
					ret = r;
				break;
			}
			v->len += 4;
		}
		if (v->err)
			break;
	}
	free(p);
	return ret;
}

void lsv_vpd_fini(struct lsv_vpd *v)
{
	free(v->data);
	memset(v, 0, sizeof(*v));
}

/* ---- the decode ---------------------------------------------------------- */

/* Printable ASCII as is, anything else (and '\') as \xNN.  NULL: no memory. */
static char *escape(const uint8_t *p, unsigned n)
{
	char *s = malloc((size_t)n * 4 + 1), *o = s;
	if (!s)
		return NULL;
	for (unsigned i = 0; i < n; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\')
			*o++ = (char)p[i];
		else
			o += sprintf(o, "\\x%02x", p[i]);
	}
	*o = '\0';
	return s;
}

static char *hex(const uint8_t *p, unsigned n, const char *sep)
{
	size_t w = 2 + strlen(sep);
	char *s = malloc((size_t)n * w + 1), *o = s;
	if (!s)
		return NULL;
	*o = '\0';
	for (unsigned i = 0; i < n; i++)
		o += sprintf(o, "%s%02x", i ? sep : "", p[i]);
	return s;
}

static const char *err_text(int err)
{
	switch (err) {
	case LSV_VPD_ERR_NO_COMPLETION:
		return "the device did not complete the read (F stayed 0)";
	case LSV_VPD_ERR_TOO_SLOW:
		return "reading it took longer than 2 s";
	default:
		return strerror(-err);
	}
}

static void field(struct lsv_cap *c, const struct lsv_vpd_entry *e,
		  json_object *list)
{
	const char *name = lsv_vpd_keyword_name(e->key);
	char *val = NULL;
	json_object *jval = NULL;

	if (!strcmp(e->key, "RV") && e->checksum >= 0) {
		cap_line(c, "\t[RV] %s: checksum %s, %u byte(s) reserved", name,
			 e->checksum ? "good" : "bad", e->len - 1);
	} else if (!strcmp(e->key, "RV") || !strcmp(e->key, "RW")) {
		cap_line(c, "\t[%s] %s: %u byte(s)%s", e->key, name, e->len,
			 e->key[1] == 'W' ? " free" : "");
	} else if (!strcmp(e->key, "CP")) {
		val = hex(e->val, e->len, " ");
		cap_line(c, "\t[CP] %s: %s", name, val ? val : "?");
		free(val);
		val = hex(e->val, e->len, "");
		jval = val ? json_object_new_string(val) : NULL;
	} else {
		val = escape(e->val, e->len);
		cap_line(c, "\t[%s] %s: %s", e->key, name, val ? val : "?");
		jval = val ? json_object_new_string(val) : NULL;
	}
	free(val);
	if (!list) {
		json_object_put(jval);
		return;
	}
	json_object *o = json_object_new_object();
	json_object_object_add(o, "keyword", json_object_new_string(e->key));
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "length", json_object_new_int((int)e->len));
	json_object_object_add(o, "value", jval);
	json_object_array_add(list, o);
}

void lsv_decode_vpd(struct lsv_cap *c)
{
	const struct lsv_vpd *v = &c->dev->vpd;

	cap_head(c, "Vital Product Data");
	if (!v->read) {
		cap_add(c, "vpd", NULL);   /* not read: a snapshot without it */
		return;
	}
	struct lsv_vpd_parsed *p = malloc(sizeof(*p));
	if (!p) {
		cap_line(c, "VPD: not decoded (out of memory)");
		cap_add(c, "vpd", NULL);
		return;
	}
	lsv_vpd_parse(v->data, v->len, p);

	json_object *name = NULL, *ro = NULL, *rw = NULL, *list = NULL;
	for (unsigned i = 0; i < p->n; i++) {
		const struct lsv_vpd_entry *e = &p->e[i];
		switch (e->kind) {
		case LSV_VPD_NAME: {
			char *s = escape(e->val, e->len);
			cap_line(c, "Product Name: %s", s ? s : "?");
			if (c->json && s && !name)
				name = json_object_new_string(s);
			free(s);
			break;
		}
		case LSV_VPD_RO:
			cap_line(c, "Read-only fields:");
			if (c->json && !ro)
				ro = json_object_new_array();
			list = ro;
			break;
		case LSV_VPD_RW:
			cap_line(c, "Read/write fields:");
			if (c->json && !rw)
				rw = json_object_new_array();
			list = rw;
			break;
		case LSV_VPD_FIELD:
			field(c, e, list);
			break;
		}
	}

	char msg[160] = "";
	if (p->status == LSV_VPD_END)
		cap_line(c, "End");
	else if (p->status == LSV_VPD_SHORT && v->err)
		snprintf(msg, sizeof(msg), "not readable at offset 0x%zx: %s",
			 v->len, err_text(v->err));
	else
		snprintf(msg, sizeof(msg), "malformed at offset 0x%x: %s",
			 p->bad_off, p->why);
	if (msg[0])
		cap_line(c, "VPD: %s", msg);
	if (c->json) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "product_name", name);
		json_object_object_add(o, "read_only", ro);
		json_object_object_add(o, "read_write", rw);
		json_object_object_add(o, "checksum", p->checksum < 0 ? NULL :
				       json_object_new_string(p->checksum ? "good" :
							      "bad"));
		json_object_object_add(o, "end", json_object_new_boolean(
					       p->status == LSV_VPD_END));
		json_object_object_add(o, "error", msg[0] ?
				       json_object_new_string(msg) : NULL);
		cap_add(c, "vpd", o);
	}
	free(p);
}
