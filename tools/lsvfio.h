/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lsvfio internals.  The tool works in two steps: probe (lsvfio-probe.c)
 * asks an open struct uvfio_device everything it can tell and keeps the
 * answers in a struct lsv_device; the printers (lsvfio-print.c for text,
 * lsvfio-json.c for JSON) and the capability decoders (lsvfio-caps.c,
 * lsvfio-ecaps.c) work from that snapshot only.  How the device was
 * opened (a vfio-user socket today, the kernel's vfio-pci later) is the
 * business of lsvfio.c alone.
 */
#ifndef UVFIO_TOOLS_LSVFIO_H
#define UVFIO_TOOLS_LSVFIO_H

#include <errno.h>
#include <json-c/json.h>
#include <linux/pci_regs.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <uvfio/client.h>

/* Definitions newer than the oldest linux-libc-dev headers we build with. */
#ifndef PCI_CAP_ID_FPB
#define PCI_CAP_ID_FPB            0x15   /* Flattening Portal Bridge */
#endif
#ifndef VFIO_DEVICE_FLAGS_CDX
#define VFIO_DEVICE_FLAGS_CDX     (1 << 8)
#endif
#ifndef PCI_EXT_CAP_ID_PL_32GT
#define PCI_EXT_CAP_ID_PL_32GT    0x2A
#endif
#ifndef PCI_EXT_CAP_ID_PL_64GT
#define PCI_EXT_CAP_ID_PL_64GT    0x31
#endif

/* <linux/vfio.h> spells it (1 << 31), which overflows int (UBSan says so). */
#define LSV_REGION_TYPE_PCI_VENDOR (1u << 31)

#define LSV_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* As QEMU: a device reporting more than this is not believed further. */
#define LSV_MAX_REGIONS 100u
#define LSV_MAX_IRQS    50u
/* The kernel's PCI_FIND_CAP_TTL: bound on a standard capability walk. */
#define LSV_CAP_TTL     48u
/* Every dword of extended config space visited at most once. */
#define LSV_ECAP_TTL    ((PCI_CFG_SPACE_EXP_SIZE - PCI_CFG_SPACE_SIZE) / 4)

/* A doorbell the device offers (vfio-user DEVICE_GET_REGION_IO_FDS). */
struct lsv_bell {
	uint64_t offset;
	uint32_t size;
	bool datamatch;
	uint64_t data;
};

struct lsv_region {
	struct uvfio_region_info info;
	int err;                       /* GET_REGION_INFO failed: -errno */
	struct lsv_bell *bells;        /* [nbells] */
	unsigned nbells;
};

/*
 * A region the device does not have: size and flags 0, or EINVAL from
 * GET_REGION_INFO (vfio-pci's answer for VGA on a device without it).
 */
static inline bool lsv_region_absent(const struct lsv_region *r)
{
	return r->err == -EINVAL ||
	       (!r->err && !r->info.size && !r->info.flags);
}

/* DEVICE_FEATURE indexes lsvfio probes (0 .. LSV_NFEATURES-1). */
#define LSV_NFEATURES 11u
#define LSV_FEAT_GET  1u
#define LSV_FEAT_SET  2u

/* SR-IOV relations: the PF of a VF, the VFs of a PF. */
struct lsv_sriov {
	char *pf;                      /* this is a VF: its PF's name */
	int vf_index;                  /* and its index, -1 unknown */
	char **vfs;                    /* this is a PF: its VFs' names */
	unsigned nvfs;
};

/*
 * The VPD image as read through the VPD capability (lsvfio-vpd.c): raw
 * bytes from address 0, decoded only when printed.
 */
struct lsv_vpd {
	bool read;                     /* the device has VPD and it was read */
	uint8_t *data;                 /* [len] */
	size_t len;
	int err;                       /* reading address len failed: -errno */
};

struct lsv_irq {
	struct uvfio_irq_info info;
	int err;
};

/* Everything known about one device, gathered before anything is printed. */
struct lsv_device {
	char *name;                    /* socket path, later a PCI address */
	struct uvfio_device_info info;
	unsigned nregions, nirqs;      /* entries below (bounded) */
	struct lsv_region *regions;
	struct lsv_irq *irqs;
	uint8_t *config;               /* config space image, NULL if none */
	size_t config_size;
	int config_err;                /* reading it failed: -errno */
	bool features_probed;          /* the backend answers DEVICE_FEATURE */
	uint8_t features[LSV_NFEATURES];   /* LSV_FEAT_* supported */
	bool bells_probed;             /* the backend tells doorbells */
	struct lsv_sriov sriov;
	struct lsv_vpd vpd;
};

/* lsvfio-probe.c */
int lsv_probe(struct uvfio_device *dev, const char *name,
	      struct lsv_device *out);
void lsv_device_fini(struct lsv_device *d);
/* Errors after which the connection cannot answer any more. */
bool lsv_fatal_error(int err);

/* Config-space reads, little-endian, all-ones outside the image. */
uint8_t lsv_cfg8(const struct lsv_device *d, unsigned off);
uint16_t lsv_cfg16(const struct lsv_device *d, unsigned off);
uint32_t lsv_cfg32(const struct lsv_device *d, unsigned off);
bool lsv_has_config(const struct lsv_device *d);
/* The 24-bit class code: base class, subclass, programming interface. */
uint32_t lsv_class_code(const struct lsv_device *d);
/* Its upper 16 bits, "[0200]" in lspci's header line. */
#define LSV_CLASS_DEVICE(code) ((code) >> 8)

/* ---- Vital Product Data (lsvfio-vpd.c) ------------------------------- */

/* The VPD address register has 15 bits: no image is larger. */
#define LSV_VPD_MAX_SIZE    0x8000u
/* Resource tags and decoded lines (tags and keywords) at most. */
#define LSV_VPD_MAX_TAGS    16u
#define LSV_VPD_MAX_ENTRIES 64u
/* Waiting for one dword: the F flag is read at most this many times, for
 * at most this long; the whole image may take LSV_VPD_TOTAL_MS. */
#define LSV_VPD_POLL_TRIES  50u
#define LSV_VPD_POLL_MS     100u
#define LSV_VPD_TOTAL_MS    2000u
/* lsv_vpd.err when the F flag never rose / the whole read took too long. */
#define LSV_VPD_ERR_NO_COMPLETION (-EINPROGRESS)
#define LSV_VPD_ERR_TOO_SLOW      (-ETIME)

/*
 * Read the VPD of a device whose config space @d holds a VPD capability,
 * into d->vpd, as far as its resource tags say (up to the end tag).  This
 * writes the VPD address register (F = 0: read), nothing else.  Returns
 * 0, or -errno when the device cannot answer any more.
 */
int lsv_probe_vpd(struct uvfio_device *dev, struct lsv_device *d);
void lsv_vpd_fini(struct lsv_vpd *v);

enum lsv_vpd_kind {
	LSV_VPD_NAME,                  /* 0x82: the identifier string */
	LSV_VPD_RO,                    /* 0x90: VPD-R, its keywords follow */
	LSV_VPD_RW,                    /* 0x91: VPD-W, its keywords follow */
	LSV_VPD_FIELD,                 /* a keyword of the last VPD-R/W */
};

struct lsv_vpd_entry {
	enum lsv_vpd_kind kind;
	unsigned off;                  /* of the tag or of the keyword */
	char key[3];                   /* FIELD: the keyword */
	bool ro;                       /* FIELD: in VPD-R */
	const uint8_t *val;            /* NAME, FIELD: the data, in the image */
	unsigned len;
	int checksum;                  /* the first RV of VPD-R: 1 good, 0 bad;
					  else -1 */
};

enum lsv_vpd_status {
	LSV_VPD_END,                   /* the end tag was reached */
	LSV_VPD_SHORT,                 /* the image stops before it: see need */
	LSV_VPD_BAD,                   /* malformed at bad_off: see why */
};

struct lsv_vpd_parsed {
	enum lsv_vpd_status status;
	unsigned bad_off;              /* SHORT, BAD: where the parse stopped */
	size_t need;                   /* SHORT: bytes [0, need) let it go on */
	char why[80];                  /* SHORT, BAD: what is wrong there */
	unsigned end_off;              /* END: offset of the end tag */
	int checksum;                  /* RV's: -1 none, 0 bad, 1 good */
	unsigned n;
	struct lsv_vpd_entry e[LSV_VPD_MAX_ENTRIES];
};

/*
 * Parse the VPD image @buf[@len] (resource tags 0x82, 0x90, 0x91, 0x78).
 * Never reads outside @buf; stops at the first thing that is wrong.
 */
void lsv_vpd_parse(const uint8_t *buf, size_t len, struct lsv_vpd_parsed *out);
/* "Part number" ... for a keyword, "Unknown" when not in the spec. */
const char *lsv_vpd_keyword_name(const char *key);

/* lsvfio-sriov.c: PF/VF relations from sockets' names or sysfs. */
int lsv_probe_sriov(struct lsv_device *d, bool kernel);
void lsv_sriov_fini(struct lsv_sriov *s);

/* lsvfio-names.c */
/* VFIO_DEVICE_FEATURE name of index @i, or NULL. */
const char *lsv_feature_name(unsigned i);
const char *lsv_vendor_name(uint16_t vendor);
/* "Ethernet controller" ... or NULL; @class is the 24-bit class code. */
const char *lsv_class_name(uint32_t class_code);
const char *lsv_progif_name(uint32_t class_code);
const char *lsv_region_type_name(uint32_t type, uint32_t subtype);
/* "BAR0".."VGA" or "dev-N" (always "dev-N" when not @pci), into @buf. */
const char *lsv_region_name(unsigned index, bool pci, char *buf, size_t len);
/* "INTx".."REQ" or "irq-N" (always "irq-N" when not @pci), into @buf. */
const char *lsv_irq_name(unsigned index, bool pci, char *buf, size_t len);
/* Human size as lspci prints it: "256", "4K", "1M", "128M", "2G". */
const char *lsv_size_str(uint64_t size, char *buf, size_t len);

struct lsv_flag_name {
	uint32_t bit;
	const char *name;
};
extern const struct lsv_flag_name lsv_device_flags[];
extern const struct lsv_flag_name lsv_region_flags[];
extern const struct lsv_flag_name lsv_irq_flags[];
/* Space-separated names of the bits set in @v; unknown bits as 0x... */
void lsv_flags_print(FILE *f, const struct lsv_flag_name *names, uint32_t v);
json_object *lsv_flags_json(const struct lsv_flag_name *names, uint32_t v);

/*
 * BAR type of region @index from config space: "io", "mem32", "mem64",
 * "mem1m", or NULL when @index is not a BAR or nothing is known.
 */
const char *lsv_bar_type(const struct lsv_device *d, unsigned index,
			 bool *prefetch);

/* ---- capability decoding (lsvfio-caps.c, lsvfio-ecaps.c) ------------- */

/*
 * A decoder writes one capability both ways at once: text lines to @f
 * and keys to @json; either may be NULL and is then skipped.
 */
struct lsv_cap {
	const struct lsv_device *dev;
	unsigned pos;                  /* offset of the capability header */
	unsigned id, version;
	bool ext;
	FILE *f;
	json_object *json;
	bool head_done;
	bool truncated;                /* read past the end of config space */
};

/* Start the "Capabilities: [40] NAME: ..." line; ends with cap_end_head. */
void cap_head(struct lsv_cap *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A detail line under the capability. */
void cap_line(struct lsv_cap *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void cap_int(struct lsv_cap *c, const char *key, uint64_t v);
void cap_bool(struct lsv_cap *c, const char *key, bool v);
void cap_str(struct lsv_cap *c, const char *key, const char *v);
void cap_add(struct lsv_cap *c, const char *key, json_object *v);
uint8_t cap8(struct lsv_cap *c, unsigned off);
uint16_t cap16(struct lsv_cap *c, unsigned off);
uint32_t cap32(struct lsv_cap *c, unsigned off);
/* '+' or '-' as lspci writes flags. */
static inline char pm(bool b)
{
	return b ? '+' : '-';
}

/* Name of a capability ID, NULL when unknown. */
const char *lsv_cap_name(unsigned id);
const char *lsv_ecap_name(unsigned id);
void lsv_decode_cap(struct lsv_cap *c);
void lsv_decode_pcie(struct lsv_cap *c);
/* VPD (lsvfio-vpd.c): the image read at probe time, decoded. */
void lsv_decode_vpd(struct lsv_cap *c);
void lsv_decode_ecap(struct lsv_cap *c);

/*
 * Walk both capability chains, calling the decoders.  Text goes to @f
 * (may be NULL); with @caps/@ecaps/@notes (may be NULL) each capability
 * becomes a JSON object appended to @caps or @ecaps, and each remark
 * about a malformed chain a string appended to @notes.
 */
void lsv_walk_caps(const struct lsv_device *d, FILE *f, json_object *caps,
		   json_object *ecaps, json_object *notes);
/* Offset of the first standard capability @id (same bounds), or 0. */
unsigned lsv_find_cap(const struct lsv_device *d, unsigned id);

/* ---- output (lsvfio-print.c, lsvfio-json.c) --------------------------- */

struct lsv_print_opts {
	bool hexdump;                  /* -v: the raw config space too */
};

/* The one-line summary: "PATH: Class [cccc]: Vendor Device [vvvv:dddd]". */
void lsv_print_summary(FILE *f, const struct lsv_device *d);
/* Everything, as lspci -vv (and -xxx with hexdump). */
void lsv_print_device(FILE *f, const struct lsv_device *d,
		      const struct lsv_print_opts *o);
json_object *lsv_device_json(const struct lsv_device *d,
			     const struct lsv_print_opts *o);

#endif
