/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <linux/pci_regs.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "pci/cfg.h"

static void set_mask16(uint8_t *m, unsigned off, uint16_t v)
{
	put_le16(m + off, v);
}

static void set_mask32(uint8_t *m, unsigned off, uint32_t v)
{
	put_le32(m + off, v);
}

struct pci_cfg *pci_cfg_new(uint32_t size)
{
	if (size != PCI_CFG_SIZE && size != PCI_CFG_EXP_SIZE)
		return NULL;
	struct pci_cfg *cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return NULL;
	cfg->size = size;
	cfg->cur = calloc(4, size);
	if (!cfg->cur) {
		free(cfg);
		return NULL;
	}
	cfg->init = cfg->cur + size;
	cfg->wmask = cfg->cur + 2 * size;
	cfg->w1c = cfg->cur + 3 * size;
	cfg->next_cap = 0x40;

	/* The header's writable and write-1-to-clear bits. */
	set_mask16(cfg->wmask, PCI_COMMAND,
		   PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
		   PCI_COMMAND_PARITY | PCI_COMMAND_SERR |
		   PCI_COMMAND_INTX_DISABLE);
	set_mask16(cfg->w1c, PCI_STATUS,
		   PCI_STATUS_PARITY | PCI_STATUS_SIG_TARGET_ABORT |
		   PCI_STATUS_REC_TARGET_ABORT | PCI_STATUS_REC_MASTER_ABORT |
		   PCI_STATUS_SIG_SYSTEM_ERROR | PCI_STATUS_DETECTED_PARITY);
	cfg->wmask[PCI_CACHE_LINE_SIZE] = 0xff;
	cfg->wmask[PCI_LATENCY_TIMER] = 0xff;
	cfg->wmask[PCI_INTERRUPT_LINE] = 0xff;
	return cfg;
}

void pci_cfg_free(struct pci_cfg *cfg)
{
	if (!cfg)
		return;
	free(cfg->cur);
	free(cfg);
}

void pci_cfg_set_ids(struct pci_cfg *cfg, const struct uvfio_pci_ids *ids)
{
	uint8_t *c = cfg->cur;
	put_le16(c + PCI_VENDOR_ID, ids->vendor);
	put_le16(c + PCI_DEVICE_ID, ids->device);
	c[PCI_REVISION_ID] = ids->revision;
	c[PCI_CLASS_PROG] = (uint8_t)ids->class_code;
	put_le16(c + PCI_CLASS_DEVICE, (uint16_t)(ids->class_code >> 8));
	c[PCI_HEADER_TYPE] = PCI_HEADER_TYPE_NORMAL;
	put_le16(c + PCI_SUBSYSTEM_VENDOR_ID, ids->subsystem_vendor);
	put_le16(c + PCI_SUBSYSTEM_ID, ids->subsystem_device);
	c[PCI_INTERRUPT_PIN] = ids->irq_pin;
}

int pci_cfg_set_bar(struct pci_cfg *cfg, unsigned bar, uint64_t size,
		    unsigned flags)
{
	bool io = flags & UVFIO_BAR_IO;
	bool is64 = flags & UVFIO_BAR_MEM64;
	if (bar > 5 || !is_pow2(size) || (io && is64) ||
	    (io && (flags & UVFIO_BAR_PREFETCH)) ||
	    flags & ~(UVFIO_BAR_IO | UVFIO_BAR_MEM64 | UVFIO_BAR_PREFETCH))
		return -EINVAL;
	if (io ? (size < 4 || size > 256) : size < 16)
		return -EINVAL;
	if (!is64 && !io && size > (1ull << 31))
		return -EINVAL;
	if (is64 && bar == 5)
		return -EINVAL;
	if (cfg->bar_size[bar] || (bar > 0 && cfg->bar_flags[bar - 1] & UVFIO_BAR_MEM64 &&
				   cfg->bar_size[bar - 1]) ||
	    (is64 && cfg->bar_size[bar + 1]))
		return -EEXIST;

	unsigned off = PCI_BASE_ADDRESS_0 + 4 * bar;
	uint32_t type;
	if (io)
		type = PCI_BASE_ADDRESS_SPACE_IO;
	else
		type = (is64 ? PCI_BASE_ADDRESS_MEM_TYPE_64 : 0) |
		       (flags & UVFIO_BAR_PREFETCH ? PCI_BASE_ADDRESS_MEM_PREFETCH : 0);
	put_le32(cfg->cur + off, type);
	uint64_t mask = ~(size - 1);
	set_mask32(cfg->wmask, off, (uint32_t)mask &
		   (io ? PCI_BASE_ADDRESS_IO_MASK : PCI_BASE_ADDRESS_MEM_MASK));
	if (is64)
		set_mask32(cfg->wmask, off + 4, (uint32_t)(mask >> 32));
	cfg->bar_size[bar] = size;
	cfg->bar_flags[bar] = flags;
	return 0;
}

int pci_cfg_set_rom(struct pci_cfg *cfg, uint64_t size)
{
	if (!is_pow2(size) || size < 2048 || size > (1u << 24))
		return -EINVAL;
	if (cfg->bar_size[6])
		return -EEXIST;
	set_mask32(cfg->wmask, PCI_ROM_ADDRESS,
		   ((uint32_t)~(size - 1) & PCI_ROM_ADDRESS_MASK) |
		   PCI_ROM_ADDRESS_ENABLE);
	cfg->bar_size[6] = size;
	return 0;
}

int pci_cfg_add_cap(struct pci_cfg *cfg, uint8_t id, uint8_t len)
{
	unsigned off = (cfg->next_cap + 3u) & ~3u;
	if (len < 2 || off + len > PCI_CFG_SIZE)
		return -ENOSPC;
	cfg->cur[off + PCI_CAP_LIST_ID] = id;
	cfg->cur[off + PCI_CAP_LIST_NEXT] = 0;
	if (cfg->last_cap)
		cfg->cur[cfg->last_cap + PCI_CAP_LIST_NEXT] = (uint8_t)off;
	else
		cfg->cur[PCI_CAPABILITY_LIST] = (uint8_t)off;
	put_le16(cfg->cur + PCI_STATUS,
		 get_le16(cfg->cur + PCI_STATUS) | PCI_STATUS_CAP_LIST);
	cfg->last_cap = (uint8_t)off;
	cfg->next_cap = (uint8_t)MIN(off + len, 0xffu);
	return (int)off;
}

int pci_cfg_add_msi(struct pci_cfg *cfg, unsigned nvectors, unsigned flags)
{
	if (!is_pow2(nvectors) || nvectors > 32 ||
	    flags & ~(UVFIO_MSI_64BIT | UVFIO_MSI_MASKABLE))
		return -EINVAL;
	if (cfg->msi_off)
		return -EEXIST;
	bool is64 = flags & UVFIO_MSI_64BIT;
	bool mask = flags & UVFIO_MSI_MASKABLE;
	uint8_t len = (uint8_t)(is64 ? 14 : 10);
	if (mask)
		len = (uint8_t)(is64 ? 24 : 20);
	int off = pci_cfg_add_cap(cfg, PCI_CAP_ID_MSI, len);
	if (off < 0)
		return off;
	unsigned mmc = (unsigned)__builtin_ctz(nvectors);
	uint16_t ctl = (uint16_t)(mmc << 1);
	if (is64)
		ctl |= PCI_MSI_FLAGS_64BIT;
	if (mask)
		ctl |= PCI_MSI_FLAGS_MASKBIT;
	put_le16(cfg->cur + off + PCI_MSI_FLAGS, ctl);
	set_mask16(cfg->wmask, (unsigned)off + PCI_MSI_FLAGS,
		   PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE);
	set_mask32(cfg->wmask, (unsigned)off + PCI_MSI_ADDRESS_LO, 0xfffffffcu);
	unsigned data = is64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32;
	if (is64)
		set_mask32(cfg->wmask, (unsigned)off + PCI_MSI_ADDRESS_HI, 0xffffffffu);
	set_mask16(cfg->wmask, (unsigned)off + data, 0xffff);
	if (mask) {
		unsigned m = is64 ? PCI_MSI_MASK_64 : PCI_MSI_MASK_32;
		set_mask32(cfg->wmask, (unsigned)off + m,
			   nvectors == 32 ? 0xffffffffu : (1u << nvectors) - 1);
	}
	cfg->msi_off = (uint8_t)off;
	return off;
}

unsigned pci_cfg_msi_vectors(const struct pci_cfg *cfg)
{
	if (!cfg->msi_off)
		return 0;
	uint16_t ctl = get_le16(cfg->cur + cfg->msi_off + PCI_MSI_FLAGS);
	return 1u << ((ctl & PCI_MSI_FLAGS_QMASK) >> 1);
}

int pci_cfg_read(const struct pci_cfg *cfg, uint64_t off, void *buf,
		 size_t len)
{
	if (!range_ok(off, len, cfg->size))
		return -EFAULT;
	memcpy(buf, cfg->cur + off, len);
	return 0;
}

int pci_cfg_write(struct pci_cfg *cfg, uint64_t off, const void *buf,
		  size_t len)
{
	if (!range_ok(off, len, cfg->size))
		return -EFAULT;
	const uint8_t *v = buf;
	for (size_t i = 0; i < len; i++) {
		size_t o = off + i;
		uint8_t old = cfg->cur[o];
		uint8_t m = cfg->wmask[o];
		uint8_t nv = (uint8_t)((old & ~m) | (v[i] & m));
		nv &= (uint8_t)~(v[i] & cfg->w1c[o]);
		cfg->cur[o] = nv;
	}
	return 0;
}

void pci_cfg_seal(struct pci_cfg *cfg)
{
	memcpy(cfg->init, cfg->cur, cfg->size);
}

void pci_cfg_reset(struct pci_cfg *cfg)
{
	memcpy(cfg->cur, cfg->init, cfg->size);
}
