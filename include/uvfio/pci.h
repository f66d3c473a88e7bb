/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * uvfio PCI config-space builder: describe a device's config space —
 * standard header, BARs, ROM, capabilities and extended capabilities —
 * and read back what the driver did with it.
 *
 *   struct uvfio_pci *p = uvfio_dev_pci(dev);
 *   uvfio_pci_set_ids(p, &ids);
 *   uvfio_pci_add_bar(p, 0, 16384, UVFIO_BAR_MEM64, &ops, state);
 *   uvfio_pci_add_pm(p, 0, 0);
 *   uvfio_pci_add_pcie(p, 0, PCI_EXP_TYPE_ENDPOINT, UVFIO_PCIE_FLR);
 *   uvfio_pci_add_msix(p, 0, 16, 0, 0x2000, 0, 0x3000);
 *   uvfio_pci_add_aer(p, 0);
 *
 * The client sees this config space through uvfio's virtualization, which
 * follows the Linux kernel's vfio-pci: per-capability tables decide which
 * bits are emulated and which the client may change; BARs size
 * themselves; COMMAND's INTx disable, MSI and MSI-X enables and masks,
 * PM power states and function level resets act on the device.
 *
 * Capability calls take @offset 0 to place the capability at the lowest
 * free dword that fits (from 0x40, or 0x100 for extended ones), or a
 * fixed dword-aligned offset.  They return the offset, or -EINVAL (bad
 * arguments, or an extended capability on a device without PCI
 * Express), -EEXIST (overlap, or a second MSI/MSI-X/PM/PCIe/... ),
 * -ENOSPC (no room), -EBUSY (the device is already being served).
 * Errors are also logged through the device's log callback.
 */
#ifndef UVFIO_PCI_H
#define UVFIO_PCI_H

#include <uvfio/device.h>

#ifdef __cplusplus
extern "C" {
#endif

struct uvfio_pci;

/* The config space of @dev (never NULL for a valid @dev). */
UVFIO_EXPORT struct uvfio_pci *uvfio_dev_pci(struct uvfio_dev *dev);

/* ---- standard header ---------------------------------------------- */

UVFIO_EXPORT int uvfio_pci_set_ids(struct uvfio_pci *p,
				   const struct uvfio_pci_ids *ids);
/*
 * BAR @bar (0-5): @size a power of two (IO 4..256, memory >= 16, 32-bit
 * memory <= 2 GiB), UVFIO_BAR_* flags.  Same as uvfio_dev_add_bar().
 */
UVFIO_EXPORT int uvfio_pci_add_bar(struct uvfio_pci *p, unsigned bar,
				   uint64_t size, unsigned flags,
				   const struct uvfio_region_ops *ops,
				   void *opaque);
UVFIO_EXPORT int uvfio_pci_add_rom(struct uvfio_pci *p, const void *image,
				   size_t len);
/*
 * With @on, region reads and writes of memory BARs and the ROM fail with
 * EIO while COMMAND's Memory Space Enable is clear or the function is in
 * D3hot, as vfio-pci does; I/O BARs are never gated.  Off by default:
 * uvfio devices power on with COMMAND 0, and drivers written against
 * uvfio devices may touch BARs without enabling memory first.  Memory
 * the client has mmap-ed cannot be revoked and stays reachable.
 */
UVFIO_EXPORT int uvfio_pci_set_decode_gating(struct uvfio_pci *p, bool on);
/*
 * Which header bits the device implements as writable, for models of
 * real hardware: @command the COMMAND bits (at most I/O, memory, bus
 * master, parity error response, SERR and INTx disable, the default),
 * and whether Cache Line Size and Latency Timer are writable (both by
 * default; PCI Express functions hardwire the latency timer to 0).  Bits
 * not implemented read 0 and ignore writes.  -EINVAL for other COMMAND
 * bits, -EBUSY once the device is sealed.
 */
UVFIO_EXPORT int uvfio_pci_set_header_writable(struct uvfio_pci *p,
					       uint16_t command,
					       bool cache_line,
					       bool latency_timer);

/* ---- capabilities ------------------------------------------------- */

/* Power Management: D0/D3hot always; D1/D2 with these flags. */
#define UVFIO_PCI_PM_D1      (1u << 0)
#define UVFIO_PCI_PM_D2      (1u << 1)
UVFIO_EXPORT int uvfio_pci_add_pm(struct uvfio_pci *p, unsigned offset,
				  unsigned flags);

/* MSI with @nvec (1, 2, 4 ... 32) vectors, UVFIO_MSI_* flags. */
UVFIO_EXPORT int uvfio_pci_add_msi(struct uvfio_pci *p, unsigned offset,
				   unsigned nvec, unsigned flags);

/*
 * MSI-X with @nvec (1..2048) vectors; the table at @table_off in memory
 * BAR @table_bar and the pending-bit array at @pba_off in @pba_bar (both
 * 8-byte aligned, inside their BARs, not overlapping).  The BARs must be
 * added first.  uvfio emulates the table and the PBA: region accesses to
 * them never reach the BAR's callbacks or memory, and mmap areas of those
 * BARs leave out the pages that hold them.
 */
UVFIO_EXPORT int uvfio_pci_add_msix(struct uvfio_pci *p, unsigned offset,
				    unsigned nvec, unsigned table_bar,
				    uint32_t table_off, unsigned pba_bar,
				    uint32_t pba_off);

/*
 * PCI Express capability, version 2, of device/port @type
 * (PCI_EXP_TYPE_ENDPOINT, _LEG_END or _RC_END).  Makes config space
 * 4 KiB, and the device reports the ERR interrupt index.
 */
#define UVFIO_PCIE_FLR       (1u << 0)   /* Function Level Reset capable */
UVFIO_EXPORT int uvfio_pci_add_pcie(struct uvfio_pci *p, unsigned offset,
				    unsigned type, unsigned flags);

/* Advanced Features (FLR capable). */
UVFIO_EXPORT int uvfio_pci_add_af(struct uvfio_pci *p, unsigned offset);

/* Vital Product Data: @len (4..32768, multiple of 4) bytes of @data. */
UVFIO_EXPORT int uvfio_pci_add_vpd(struct uvfio_pci *p, unsigned offset,
				   const void *data, size_t len);

/*
 * Vendor-specific capability: @len (0..252) bytes of @data after the
 * ID, next and length bytes.  The client reads and writes them.
 */
UVFIO_EXPORT int uvfio_pci_add_vendor(struct uvfio_pci *p, unsigned offset,
				      const void *data, size_t len);

/* ---- extended capabilities (PCI Express devices only) -------------- */

/* Advanced Error Reporting (endpoint layout). */
UVFIO_EXPORT int uvfio_pci_add_aer(struct uvfio_pci *p, unsigned offset);
/* Device Serial Number. */
UVFIO_EXPORT int uvfio_pci_add_dsn(struct uvfio_pci *p, unsigned offset,
				   uint64_t serial);
/* Alternative Routing-ID Interpretation; @next_fn 0..255. */
UVFIO_EXPORT int uvfio_pci_add_ari(struct uvfio_pci *p, unsigned offset,
				   unsigned next_fn);

/* Single Root I/O Virtualization: read-only to the client, as in vfio, unless
 * the device implements it (uvfio_dev_set_sriov(): VF Enable and NumVFs
 * become the client's to write). */
struct uvfio_pci_sriov {
	uint16_t total_vfs;        /* 1.. */
	uint16_t initial_vfs;      /* <= total_vfs; 0 means total_vfs */
	uint16_t vf_offset;        /* routing ID offset of the first VF (0: 1) */
	uint16_t vf_stride;
	uint16_t vf_device;        /* VF device ID */
	uint32_t page_sizes;       /* supported page sizes; 0 means 4 KiB */
};
UVFIO_EXPORT int uvfio_pci_add_sriov(struct uvfio_pci *p, unsigned offset,
				     const struct uvfio_pci_sriov *sriov);

/* Vendor-specific extended capability: @len (0..4084) bytes of @data. */
UVFIO_EXPORT int uvfio_pci_add_ext_vendor(struct uvfio_pci *p, unsigned offset,
					  uint16_t vsec_id, unsigned rev,
					  const void *data, size_t len);
/* Designated vendor-specific: @len (0..4082) bytes after the headers. */
UVFIO_EXPORT int uvfio_pci_add_dvsec(struct uvfio_pci *p, unsigned offset,
				     uint16_t vendor, unsigned rev,
				     uint16_t dvsec_id, const void *data,
				     size_t len);

/*
 * A capability the builder has no call for: @len bytes of @body after
 * the standard (2-byte) or extended (4-byte) header.  Unless uvfio knows
 * the ID, it is hidden from the client as vfio-pci hides it.  One whose
 * ID uvfio knows is virtualized as that kind, and must be at least as
 * long as that kind's registers (as its own length field or flags say,
 * where it has them): -EINVAL otherwise.
 */
UVFIO_EXPORT int uvfio_pci_add_raw_cap(struct uvfio_pci *p, unsigned offset,
				       uint8_t id, const void *body,
				       size_t len);
UVFIO_EXPORT int uvfio_pci_add_raw_ext_cap(struct uvfio_pci *p,
					   unsigned offset, uint16_t id,
					   unsigned version, const void *body,
					   size_t len);

/*
 * Hide every capability with this ID: it is unlinked from the chain the
 * client walks (a hidden first extended capability stays as a header
 * with ID and version 0) and its bytes are no longer virtualized.
 */
UVFIO_EXPORT int uvfio_pci_hide_cap(struct uvfio_pci *p, uint8_t id);
UVFIO_EXPORT int uvfio_pci_hide_ext_cap(struct uvfio_pci *p, uint16_t id);

/* ---- the device's side --------------------------------------------- */

/*
 * The device's own config registers, as hardware holds them: a write
 * sets any bit, read-only to the client or not (status and error bits,
 * MSI pending bits, the MSI-X function mask ...).  @off + @len inside
 * config space; 0 or -errno.
 */
UVFIO_EXPORT int uvfio_pci_phys_read(struct uvfio_pci *p, unsigned offset,
				     void *buf, size_t len);
UVFIO_EXPORT int uvfio_pci_phys_write(struct uvfio_pci *p, unsigned offset,
				      const void *buf, size_t len);

/* What the driver made of it. */
UVFIO_EXPORT bool uvfio_pci_bus_master(struct uvfio_pci *p);
UVFIO_EXPORT bool uvfio_pci_memory_enabled(struct uvfio_pci *p);
UVFIO_EXPORT bool uvfio_pci_io_enabled(struct uvfio_pci *p);
UVFIO_EXPORT bool uvfio_pci_intx_disabled(struct uvfio_pci *p);
/* 0 (D0) .. 3 (D3hot). */
UVFIO_EXPORT unsigned uvfio_pci_power_state(struct uvfio_pci *p);
/* Vectors MSI is enabled with through SET_IRQS; 0 when disabled. */
UVFIO_EXPORT unsigned uvfio_pci_msi_enabled(struct uvfio_pci *p);
UVFIO_EXPORT bool uvfio_pci_msix_enabled(struct uvfio_pci *p);
/* MSI-X Function Mask. */
UVFIO_EXPORT bool uvfio_pci_msix_masked(struct uvfio_pci *p);
/* MSI-X vector @vector masked in the table. */
UVFIO_EXPORT bool uvfio_pci_msix_vector_masked(struct uvfio_pci *p,
					       unsigned vector);
/*
 * The base address programmed into BAR @bar (0-5; 6 for the ROM), type
 * bits stripped, both dwords of a 64-bit BAR; 0 for an absent BAR.
 */
UVFIO_EXPORT uint64_t uvfio_pci_bar_address(struct uvfio_pci *p,
					    unsigned bar);

#ifdef __cplusplus
}
#endif
#endif
