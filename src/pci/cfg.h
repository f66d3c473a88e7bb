/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * PCI config space virtualization with the kernel vfio-pci's semantics
 * (REFERENCE §2).
 *
 * The client sees a virtual config space made of two layers:
 *
 *  - the *backing*: the "physical" config space.  For an emulated device
 *    it is a byte array with hardware write semantics (read-only bits,
 *    write-1-to-clear bits) that the builder fills; later it can be a
 *    real device's config space behind struct pci_backing.
 *  - the *virtual copy* (vconfig): bits the engine emulates.
 *
 * Every capability (the standard header counts as one) has two byte
 * tables indexed by the offset inside it, built by an init routine from
 * <linux/pci_regs.h> names: `virt` (the bit lives in vconfig) and `write`
 * (the client may change the bit).  A byte map names the capability that
 * owns each config byte.  Accesses are cut at dword and capability
 * boundaries into naturally aligned 1/2/4-byte pieces; reads merge
 * virtual and backing bits, writes store writable virtual bits,
 * read-modify-write writable backing bits and drop the rest.
 */
#ifndef UVFIO_PCI_CFG_H
#define UVFIO_PCI_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uvfio/pci.h>

#define PCI_CFG_SIZE       256u
#define PCI_CFG_EXP_SIZE   4096u
#define PCI_CFG_MAX_CAPS   64u
/* Bounds on walking a chain read from a backing: a loop cannot hang us. */
#define PCI_STD_CHAIN_MAX  48u
#define PCI_EXT_CHAIN_MAX  ((PCI_CFG_EXP_SIZE - PCI_CFG_SIZE) / 4)

/* map[] values that are not capability slots. */
#define PCI_MAP_UNOWNED    0xfe    /* raw access to the backing */
#define PCI_MAP_VIRT       0xff    /* plain storage in the virtual copy */

enum pci_cap_kind { PCI_KIND_HDR, PCI_KIND_STD, PCI_KIND_EXT };
/* PMCSR power states. */
enum pci_power { PCI_PM_D0, PCI_PM_D1, PCI_PM_D2, PCI_PM_D3HOT };

/* The "physical" config space behind the virtual one. */
struct pci_backing {
	/* @len is 1, 2 or 4 and @off is aligned to it.  0 or -errno. */
	int (*read)(void *opaque, uint32_t off, void *buf, size_t len);
	int (*write)(void *opaque, uint32_t off, const void *buf, size_t len);
	/* The function was reset: back to power-on values.  May be NULL. */
	void (*reset)(void *opaque);
	void *opaque;
};

/* What the engine asks of the device it belongs to.  Any may be NULL. */
struct pci_cfg_hooks {
	void *opaque;
	/* FLR through PCIe DEVCTL or AF CTRL: reset the function now. */
	void (*flr)(void *opaque);
	/* The client changed COMMAND's INTx disable bit. */
	void (*intx_disable)(void *opaque, bool disabled);
	/* A pending MSI/MSI-X vector was unmasked: signal it. */
	void (*deliver)(void *opaque, unsigned index, unsigned vector);
	/* SR-IOV control may have changed (a client write, or a reset). */
	void (*sriov)(void *opaque);
};

struct pci_cfg;
struct pci_cap;

/*
 * A capability type.  read/write replace the default access when set and
 * call pci_default_read()/pci_default_write() themselves.  @coff is the
 * offset inside the capability, @n the piece size, values little-endian
 * in the low @n bytes.
 */
struct pci_cap_type {
	const char *name;
	uint16_t id;
	bool ext;
	/* Bytes the capability spans, read from the backing at @off (for
	 * walking a backing's chain); 0 when unusable. */
	unsigned (*length)(const struct pci_cfg *cfg, unsigned off);
	int (*init)(struct pci_cfg *cfg, struct pci_cap *cap);
	int (*read)(const struct pci_cfg *cfg, const struct pci_cap *cap,
		    unsigned coff, unsigned n, uint32_t *val);
	int (*write)(struct pci_cfg *cfg, struct pci_cap *cap, unsigned coff,
		     unsigned n, uint32_t val);
};

struct pci_cap {
	uint16_t off, len;
	uint16_t id;
	uint8_t kind;              /* enum pci_cap_kind */
	uint8_t version;           /* extended capabilities */
	bool hidden;               /* unlinked: unknown or hidden by the model */
	bool placeholder;          /* hidden first extended cap, header kept */
	bool filler;               /* builder-made null header at 0x100 */
	uint8_t *virt, *write;     /* [len rounded up to a dword] */
	const struct pci_cap_type *type;   /* NULL: unknown ID */
};

struct pci_msix {
	uint16_t cap;              /* capability offset; 0 without MSI-X */
	uint16_t nvec;
	uint8_t table_bar, pba_bar;
	uint32_t table_off, pba_off, pba_len;
	uint8_t *table;            /* nvec entries of PCI_MSIX_ENTRY_SIZE */
	uint8_t *pba;              /* pba_len bytes */
};

struct pci_vpd {
	uint8_t *data, *init;
	uint32_t len;
};

struct pci_emu;

struct pci_cfg {
	uint32_t size;             /* 256, or 4096 with PCI Express */
	uint8_t *vconfig;          /* the virtual copy */
	uint8_t *vinit;            /* its power-on values */
	uint8_t *map;              /* owner of each byte: slot or PCI_MAP_* */
	struct pci_cap caps[PCI_CFG_MAX_CAPS];   /* [0] is the header */
	unsigned ncaps;
	struct pci_backing bk;
	struct pci_emu *emu;       /* the emulated backing; NULL otherwise */
	struct pci_cfg_hooks hooks;

	uint64_t bar_size[7];      /* BAR0-5, ROM; 0 when absent */
	unsigned bar_flags[6];     /* UVFIO_BAR_* */
	uint32_t rbar[7];          /* backing BARs, to repair a backdoor reset */

	uint8_t msi_off, pm_off, pcie_off, af_off, vpd_off;
	uint16_t aer_off, sriov_off;
	struct pci_msix msix;
	struct pci_vpd vpd;

	int irq_type;              /* index enabled through SET_IRQS, or -1 */
	unsigned irq_nvec;         /* vectors it was enabled with */
	unsigned msi_qmax;         /* log2 of the MSI vectors SET_IRQS allocated */
	bool intx_disabled;        /* the INTx disable state last acted on */
	uint8_t power_state;       /* PCI_D0 .. PCI_D3hot as last set */
	bool gate_decode;          /* memory BAR access needs COMMAND.MEMORY */
	bool sealed;
	uint32_t hide_std[8];      /* standard IDs the model hides */
	uint16_t hide_ext[16];     /* extended IDs the model hides */
	unsigned nhide_ext;
};

/* ---- life cycle ---------------------------------------------------- */

/* An emulated config space (@size 256 or 4096) filled by the builder. */
struct pci_cfg *pci_cfg_new(uint32_t size);
/*
 * A config space virtualizing @bk (a copy is kept): the header is taken
 * as it is and both capability chains are walked, hiding what the engine
 * does not know, as vfio-pci does when it opens a device.
 */
struct pci_cfg *pci_cfg_new_backed(uint32_t size, const struct pci_backing *bk);
void pci_cfg_free(struct pci_cfg *cfg);
void pci_cfg_set_hooks(struct pci_cfg *cfg, const struct pci_cfg_hooks *h);
/* Make the current values the power-on values (end of building). */
void pci_cfg_seal(struct pci_cfg *cfg);
/* Function reset: power-on values, as far as the kernel resets them. */
void pci_cfg_reset(struct pci_cfg *cfg);

/* ---- client access (region 7) ------------------------------------- */

/* 0, -EFAULT for a range outside config space, or a backing's -errno. */
int pci_cfg_read(const struct pci_cfg *cfg, uint64_t off, void *buf,
		 size_t len);
int pci_cfg_write(struct pci_cfg *cfg, uint64_t off, const void *buf,
		  size_t len);

/* ---- the device's own access to its "physical" registers ---------- */

int pci_cfg_phys_read(const struct pci_cfg *cfg, uint32_t off, void *buf,
		      size_t len);
/* Emulated backing only: set bytes whatever the hardware write masks. */
int pci_cfg_phys_write(struct pci_cfg *cfg, uint32_t off, const void *buf,
		       size_t len);

/* ---- building (hdr.c, caps.c, ecaps.c) ---------------------------- */

void pci_cfg_set_ids(struct pci_cfg *cfg, const struct uvfio_pci_ids *ids);
int pci_cfg_set_bar(struct pci_cfg *cfg, unsigned bar, uint64_t size,
		    unsigned flags);
int pci_cfg_set_rom(struct pci_cfg *cfg, uint64_t size);
/* Switch to a 4 KiB config space (done by adding a PCIe capability). */
int pci_cfg_set_express(struct pci_cfg *cfg);
bool pci_cfg_is_express(const struct pci_cfg *cfg);

/*
 * Capabilities.  @off 0 places the capability at the lowest free dword
 * that fits; otherwise at @off.  Return the offset, or -EINVAL (bad
 * arguments), -EEXIST (overlap, or a second of a unique kind), -ENOSPC
 * (no room), -EBUSY (sealed), -ENOTSUP (emulated backing needed).
 */
int pci_cfg_add_cap(struct pci_cfg *cfg, uint8_t id, uint8_t len);
int pci_cfg_add_raw(struct pci_cfg *cfg, bool ext, uint16_t id,
		    uint8_t version, unsigned off, const void *body,
		    size_t len);
int pci_cfg_add_msi(struct pci_cfg *cfg, unsigned nvectors, unsigned flags);
int pci_cap_add_pm(struct pci_cfg *cfg, unsigned off, unsigned flags);
int pci_cap_add_msi(struct pci_cfg *cfg, unsigned off, unsigned nvec,
		    unsigned flags);
int pci_cap_add_msix(struct pci_cfg *cfg, unsigned off, unsigned nvec,
		     unsigned table_bar, uint32_t table_off, unsigned pba_bar,
		     uint32_t pba_off);
int pci_cap_add_pcie(struct pci_cfg *cfg, unsigned off, unsigned type,
		     unsigned flags);
int pci_cap_add_af(struct pci_cfg *cfg, unsigned off);
int pci_cap_add_vpd(struct pci_cfg *cfg, unsigned off, const void *data,
		    size_t len);
int pci_cap_add_vendor(struct pci_cfg *cfg, unsigned off, const void *data,
		       size_t len);
int pci_cap_add_aer(struct pci_cfg *cfg, unsigned off);
int pci_cap_add_dsn(struct pci_cfg *cfg, unsigned off, uint64_t serial);
int pci_cap_add_ari(struct pci_cfg *cfg, unsigned off, unsigned next_fn);
int pci_cap_add_sriov(struct pci_cfg *cfg, unsigned off,
		      const struct uvfio_pci_sriov *s);
/*
 * Let the client program the SR-IOV capability (VF Enable, VF MSE, ARI
 * Capable Hierarchy, NumVFs, System Page Size), as the host does: used
 * when the device creates VFs itself.  -ENOENT without the capability.
 */
int pci_cfg_sriov_control(struct pci_cfg *cfg);
int pci_cap_add_ext_vendor(struct pci_cfg *cfg, unsigned off, uint16_t vsec_id,
			   unsigned rev, const void *data, size_t len);
int pci_cap_add_dvsec(struct pci_cfg *cfg, unsigned off, uint16_t vendor,
		      unsigned rev, uint16_t dvsec_id, const void *data,
		      size_t len);
/* A range that reads and writes as plain storage in the virtual copy. */
int pci_cfg_add_virtual(struct pci_cfg *cfg, unsigned off, unsigned len);
/* Unlink every capability with @id (standard, or extended if @ext). */
int pci_cfg_hide(struct pci_cfg *cfg, bool ext, uint16_t id);

/* ---- state --------------------------------------------------------- */

unsigned pci_cfg_msi_vectors(const struct pci_cfg *cfg);
unsigned pci_cfg_msix_vectors(const struct pci_cfg *cfg);
uint16_t pci_cfg_command(const struct pci_cfg *cfg);
/* COMMAND.MEMORY as the client last wrote it, and not in D3hot. */
bool pci_cfg_memory_enabled(const struct pci_cfg *cfg);
bool pci_cfg_io_enabled(const struct pci_cfg *cfg);
/* Region access to @bar (0-5, 6 ROM) must fail with EIO right now. */
bool pci_cfg_bar_gated(const struct pci_cfg *cfg, unsigned bar);
/* The programmed address of BAR @bar (6: ROM), type bits stripped. */
uint64_t pci_cfg_bar_addr(const struct pci_cfg *cfg, unsigned bar);

/* ---- interrupts (msix.c) ------------------------------------------ */

/* SET_IRQS enabled @index (-1: none) with @nvec vectors allocated. */
void pci_cfg_irq_state(struct pci_cfg *cfg, int index, unsigned nvec);
bool pci_cfg_intx_disabled(const struct pci_cfg *cfg);
/* STATUS's Interrupt Status of an emulated device: its INTx is asserted. */
void pci_cfg_intx_status(struct pci_cfg *cfg, bool asserted);
/* May vector @v fire now?  If masked, its pending bit is set instead. */
bool pci_cfg_msi_gate(struct pci_cfg *cfg, unsigned v);
bool pci_cfg_msix_gate(struct pci_cfg *cfg, unsigned v);
/* The host bound (@bound) or released MSI-X vector @v. */
void pci_cfg_msix_bind(struct pci_cfg *cfg, unsigned v, bool bound);
bool pci_cfg_msix_enabled(const struct pci_cfg *cfg);
bool pci_cfg_msix_masked(const struct pci_cfg *cfg);
bool pci_cfg_msix_vector_masked(const struct pci_cfg *cfg, unsigned v);
/*
 * Region access to the MSI-X table and PBA, which the engine emulates.
 * pci_msix_claim() returns how many bytes from @off go one way: to the
 * engine (*engine true) or to the device model.
 */
size_t pci_msix_claim(const struct pci_cfg *cfg, unsigned bar, uint64_t off,
		      size_t len, bool *engine);
void pci_msix_rw(struct pci_cfg *cfg, unsigned bar, uint64_t off, void *buf,
		 size_t len, bool write);

/* ---- engine internals shared by the pci/ files --------------------- */

int pci_default_read(const struct pci_cfg *cfg, const struct pci_cap *cap,
		     unsigned coff, unsigned n, uint32_t *val);
int pci_default_write(struct pci_cfg *cfg, struct pci_cap *cap,
		      unsigned coff, unsigned n, uint32_t val);
int pci_bk_read(const struct pci_cfg *cfg, uint32_t off, unsigned n,
		uint32_t *val);
int pci_bk_write(const struct pci_cfg *cfg, uint32_t off, unsigned n,
		 uint32_t val);
uint32_t pci_vget(const struct pci_cfg *cfg, uint32_t off, unsigned n);
void pci_vset(struct pci_cfg *cfg, uint32_t off, unsigned n, uint32_t v);
/* Builder: bytes into both the backing and the virtual copy. */
void pci_cfg_poke(struct pci_cfg *cfg, uint32_t off, unsigned n, uint32_t v);
/* Builder: hardware write masks of the emulated backing. */
void pci_emu_wmask(struct pci_cfg *cfg, uint32_t off, unsigned n, uint32_t m);
void pci_emu_w1c(struct pci_cfg *cfg, uint32_t off, unsigned n, uint32_t m);
/* Permission tables of @cap: @n bytes at @coff. */
void pci_perm(struct pci_cap *cap, unsigned coff, unsigned n, uint32_t virt,
	      uint32_t write);
/* Place and register a capability the builder wrote; offset or -errno. */
int pci_cfg_place(struct pci_cfg *cfg, bool ext, unsigned off, unsigned len);
int pci_cap_register(struct pci_cfg *cfg, bool ext, uint16_t id,
		     unsigned off, unsigned len);
/* Before an extended capability goes to @off: make sure 0x100 starts
 * the chain (a null header there if needed). */
int pci_cfg_ext_anchor(struct pci_cfg *cfg, unsigned off);
const struct pci_cap_type *pci_cap_type_find(bool ext, uint16_t id);
struct pci_cap *pci_cap_at(struct pci_cfg *cfg, unsigned off);
/* Recompute the owner map and the virtual chains. */
void pci_cfg_relink(struct pci_cfg *cfg);
void pci_hdr_fixup_bars(struct pci_cfg *cfg);
void pci_hdr_emu_init(struct pci_cfg *cfg);
/* uvfio_pci_set_header_writable(): 0, -EINVAL, -ENOTSUP without an
 * emulated backing. */
int pci_hdr_set_writable(struct pci_cfg *cfg, uint16_t command,
			 bool cache_line, bool latency_timer);
int pci_msix_setup(struct pci_cfg *cfg, struct pci_cap *cap);
void pci_msix_reset(struct pci_cfg *cfg);
void pci_msix_update(struct pci_cfg *cfg);
void pci_msi_update(struct pci_cfg *cfg);

extern const struct pci_cap_type pci_type_header;
extern const struct pci_cap_type pci_type_pm, pci_type_msi, pci_type_msix,
	pci_type_pcie, pci_type_af, pci_type_vpd, pci_type_vendor;
extern const struct pci_cap_type pci_type_aer, pci_type_dsn, pci_type_ari,
	pci_type_sriov, pci_type_ext_vendor, pci_type_dvsec;

#endif
