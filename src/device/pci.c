/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The public config-space builder (<uvfio/pci.h>) on top of the engine in
 * src/pci/: argument checks, regions for BARs and the ROM, errors logged
 * through the device's log, and the state getters.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <string.h>
#include <syslog.h>

#include "device/dev.h"

struct uvfio_pci *uvfio_dev_pci(struct uvfio_dev *dev)
{
	return dev ? &dev->pci : NULL;
}

static const char *why(int r)
{
	switch (r) {
	case -EINVAL: return "invalid arguments";
	case -EEXIST: return "overlaps what is there, or is already present";
	case -ENOSPC: return "no room left in config space";
	case -EBUSY: return "the device is already being served";
	case -ENOTSUP: return "not possible with this config space backing";
	case -ENOMEM: return "out of memory";
	default: return strerror(-r);
	}
}

/* Log a refused build step; pass the result through. */
static int built(struct uvfio_pci *p, int r, const char *what, unsigned off)
{
	if (r < 0)
		uvfio_log(p->dev, LOG_ERR, "%s: %s at 0x%x refused: %s",
			  p->dev->name, what, off, why(r));
	return r;
}

static bool building(struct uvfio_pci *p)
{
	return p && p->dev && !p->dev->sealed;
}

#define BUILD(p, what, off, call) \
	(!(p) ? -EINVAL : built(p, building(p) ? (call) : -EBUSY, what, off))

int uvfio_pci_set_ids(struct uvfio_pci *p, const struct uvfio_pci_ids *ids)
{
	if (!p || !ids || ids->irq_pin > 4 || ids->class_code > 0xffffff)
		return -EINVAL;
	if (!building(p))
		return -EBUSY;
	p->dev->ids = *ids;
	pci_cfg_set_ids(p->dev->cfg, ids);
	return 0;
}

int uvfio_pci_add_bar(struct uvfio_pci *p, unsigned bar, uint64_t size,
		      unsigned flags, const struct uvfio_region_ops *ops,
		      void *opaque)
{
	if (!p)
		return -EINVAL;
	struct uvfio_dev *dev = p->dev;
	if (!building(p))
		return -EBUSY;
	int r = pci_cfg_set_bar(dev->cfg, bar, size, flags);
	if (r < 0) {
		uvfio_log(dev, LOG_ERR,
			  "%s: BAR%u: size 0x%llx flags 0x%x rejected: %s",
			  dev->name, bar, (unsigned long long)size, flags,
			  r == -EEXIST ? "BAR already in use" :
			  "size must be a power of two within the BAR type's range");
		return r;
	}
	struct dev_region *reg = &dev->regions[bar];
	reg->present = true;
	reg->size = size;
	reg->flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
	reg->ops = ops;
	reg->opaque = opaque;
	return 0;
}

int uvfio_pci_add_rom(struct uvfio_pci *p, const void *image, size_t len)
{
	if (!p || !image || !len || len > (1u << 24))
		return -EINVAL;
	struct uvfio_dev *dev = p->dev;
	if (!building(p))
		return -EBUSY;
	uint64_t size = 2048;
	while (size < len)
		size <<= 1;
	int r = pci_cfg_set_rom(dev->cfg, size);
	if (r < 0)
		return built(p, r, "ROM", PCI_ROM_ADDRESS);
	struct dev_region *reg = &dev->regions[VFIO_PCI_ROM_REGION_INDEX];
	reg->present = true;
	reg->size = size;
	reg->flags = VFIO_REGION_INFO_FLAG_READ;
	void *mem;
	r = uvfio_dev_region_alloc_memory(dev, VFIO_PCI_ROM_REGION_INDEX, &mem);
	if (r < 0) {
		reg->present = false;
		return r;
	}
	memcpy(mem, image, len);
	return 0;
}

int uvfio_pci_set_decode_gating(struct uvfio_pci *p, bool on)
{
	if (!p)
		return -EINVAL;
	if (!building(p))
		return -EBUSY;
	p->dev->cfg->gate_decode = on;
	return 0;
}

int uvfio_pci_set_header_writable(struct uvfio_pci *p, uint16_t command,
				  bool cache_line, bool latency_timer)
{
	if (!p)
		return -EINVAL;
	if (!building(p))
		return -EBUSY;
	return pci_hdr_set_writable(p->dev->cfg, command, cache_line,
				    latency_timer);
}

/* ---- capabilities ---------------------------------------------------- */

int uvfio_pci_add_pm(struct uvfio_pci *p, unsigned offset, unsigned flags)
{
	return BUILD(p, "PM capability", offset,
		     pci_cap_add_pm(p->dev->cfg, offset, flags));
}

int uvfio_pci_add_msi(struct uvfio_pci *p, unsigned offset, unsigned nvec,
		      unsigned flags)
{
	return BUILD(p, "MSI capability", offset,
		     pci_cap_add_msi(p->dev->cfg, offset, nvec, flags));
}

int uvfio_pci_add_msix(struct uvfio_pci *p, unsigned offset, unsigned nvec,
		       unsigned table_bar, uint32_t table_off, unsigned pba_bar,
		       uint32_t pba_off)
{
	return BUILD(p, "MSI-X capability (table and PBA in present memory "
		     "BARs, 8-byte aligned, inside them, apart)", offset,
		     pci_cap_add_msix(p->dev->cfg, offset, nvec, table_bar,
				      table_off, pba_bar, pba_off));
}

int uvfio_pci_add_pcie(struct uvfio_pci *p, unsigned offset, unsigned type,
		       unsigned flags)
{
	int r = BUILD(p, "PCI Express capability", offset,
		      pci_cap_add_pcie(p->dev->cfg, offset, type, flags));
	if (r >= 0)
		p->dev->regions[VFIO_PCI_CONFIG_REGION_INDEX].size =
			p->dev->cfg->size;
	return r;
}

int uvfio_pci_add_af(struct uvfio_pci *p, unsigned offset)
{
	return BUILD(p, "AF capability", offset,
		     pci_cap_add_af(p->dev->cfg, offset));
}

int uvfio_pci_add_vpd(struct uvfio_pci *p, unsigned offset, const void *data,
		      size_t len)
{
	return BUILD(p, "VPD capability", offset,
		     pci_cap_add_vpd(p->dev->cfg, offset, data, len));
}

int uvfio_pci_add_vendor(struct uvfio_pci *p, unsigned offset,
			 const void *data, size_t len)
{
	return BUILD(p, "vendor-specific capability", offset,
		     pci_cap_add_vendor(p->dev->cfg, offset, data, len));
}

int uvfio_pci_add_aer(struct uvfio_pci *p, unsigned offset)
{
	return BUILD(p, "AER extended capability", offset,
		     pci_cap_add_aer(p->dev->cfg, offset));
}

int uvfio_pci_add_dsn(struct uvfio_pci *p, unsigned offset, uint64_t serial)
{
	return BUILD(p, "DSN extended capability", offset,
		     pci_cap_add_dsn(p->dev->cfg, offset, serial));
}

int uvfio_pci_add_ari(struct uvfio_pci *p, unsigned offset, unsigned next_fn)
{
	return BUILD(p, "ARI extended capability", offset,
		     pci_cap_add_ari(p->dev->cfg, offset, next_fn));
}

int uvfio_pci_add_sriov(struct uvfio_pci *p, unsigned offset,
			const struct uvfio_pci_sriov *sriov)
{
	return BUILD(p, "SR-IOV extended capability", offset,
		     pci_cap_add_sriov(p->dev->cfg, offset, sriov));
}

int uvfio_pci_add_ext_vendor(struct uvfio_pci *p, unsigned offset,
			     uint16_t vsec_id, unsigned rev, const void *data,
			     size_t len)
{
	return BUILD(p, "vendor-specific extended capability", offset,
		     pci_cap_add_ext_vendor(p->dev->cfg, offset, vsec_id, rev,
					    data, len));
}

int uvfio_pci_add_dvsec(struct uvfio_pci *p, unsigned offset, uint16_t vendor,
			unsigned rev, uint16_t dvsec_id, const void *data,
			size_t len)
{
	return BUILD(p, "DVSEC extended capability", offset,
		     pci_cap_add_dvsec(p->dev->cfg, offset, vendor, rev,
				       dvsec_id, data, len));
}

int uvfio_pci_add_raw_cap(struct uvfio_pci *p, unsigned offset, uint8_t id,
			  const void *body, size_t len)
{
	return BUILD(p, "capability", offset,
		     pci_cfg_add_raw(p->dev->cfg, false, id, 0, offset, body,
				     len));
}

int uvfio_pci_add_raw_ext_cap(struct uvfio_pci *p, unsigned offset,
			      uint16_t id, unsigned version, const void *body,
			      size_t len)
{
	if (version > 15)
		return BUILD(p, "extended capability", offset, -EINVAL);
	return BUILD(p, "extended capability", offset,
		     pci_cfg_add_raw(p->dev->cfg, true, id, (uint8_t)version,
				     offset, body, len));
}

static int hide(struct uvfio_pci *p, bool ext, uint16_t id)
{
	if (!p)
		return -EINVAL;
	int r = building(p) ? pci_cfg_hide(p->dev->cfg, ext, id) : -EBUSY;
	if (r < 0)
		uvfio_log(p->dev, LOG_ERR, "%s: hiding %scapability ID 0x%x "
			  "refused: %s", p->dev->name, ext ? "extended " : "",
			  id, why(r));
	return r;
}

int uvfio_pci_hide_cap(struct uvfio_pci *p, uint8_t id)
{
	return hide(p, false, id);
}

int uvfio_pci_hide_ext_cap(struct uvfio_pci *p, uint16_t id)
{
	return hide(p, true, id);
}

/* ---- the device's side ------------------------------------------------ */

int uvfio_pci_phys_read(struct uvfio_pci *p, unsigned offset, void *buf,
			size_t len)
{
	if (!p || (!buf && len))
		return -EINVAL;
	return pci_cfg_phys_read(p->dev->cfg, offset, buf, len);
}

int uvfio_pci_phys_write(struct uvfio_pci *p, unsigned offset,
			 const void *buf, size_t len)
{
	if (!p || (!buf && len))
		return -EINVAL;
	return pci_cfg_phys_write(p->dev->cfg, offset, buf, len);
}

bool uvfio_pci_bus_master(struct uvfio_pci *p)
{
	return p && pci_cfg_command(p->dev->cfg) & PCI_COMMAND_MASTER;
}

bool uvfio_pci_memory_enabled(struct uvfio_pci *p)
{
	return p && pci_cfg_memory_enabled(p->dev->cfg);
}

bool uvfio_pci_io_enabled(struct uvfio_pci *p)
{
	return p && pci_cfg_io_enabled(p->dev->cfg);
}

bool uvfio_pci_intx_disabled(struct uvfio_pci *p)
{
	return p && pci_cfg_intx_disabled(p->dev->cfg);
}

unsigned uvfio_pci_power_state(struct uvfio_pci *p)
{
	return p ? p->dev->cfg->power_state : 0;
}

unsigned uvfio_pci_msi_enabled(struct uvfio_pci *p)
{
	if (!p || p->dev->cfg->irq_type != VFIO_PCI_MSI_IRQ_INDEX)
		return 0;
	return p->dev->cfg->irq_nvec;
}

bool uvfio_pci_msix_enabled(struct uvfio_pci *p)
{
	return p && pci_cfg_msix_enabled(p->dev->cfg);
}

bool uvfio_pci_msix_masked(struct uvfio_pci *p)
{
	return p && pci_cfg_msix_masked(p->dev->cfg);
}

bool uvfio_pci_msix_vector_masked(struct uvfio_pci *p, unsigned vector)
{
	return p && pci_cfg_msix_vector_masked(p->dev->cfg, vector);
}

uint64_t uvfio_pci_bar_address(struct uvfio_pci *p, unsigned bar)
{
	return p ? pci_cfg_bar_addr(p->dev->cfg, bar) : 0;
}
