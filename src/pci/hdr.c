/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The standard header: identity, COMMAND (INTx disable, decode enables,
 * repair after a backdoor reset), STATUS, BAR and ROM sizing, and the
 * state a device model reads back from it.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <string.h>

#include "common/util.h"
#include "pci/cfg.h"

#define STATUS_ERRORS (PCI_STATUS_PARITY | PCI_STATUS_SIG_TARGET_ABORT | \
		       PCI_STATUS_REC_TARGET_ABORT | PCI_STATUS_REC_MASTER_ABORT | \
		       PCI_STATUS_SIG_SYSTEM_ERROR | PCI_STATUS_DETECTED_PARITY)

/* COMMAND bits a conventional function implements in the emulated backing. */
#define COMMAND_IMPLEMENTED (PCI_COMMAND_IO | PCI_COMMAND_MEMORY | \
			     PCI_COMMAND_MASTER | PCI_COMMAND_PARITY | \
			     PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE)

#define DECODE (PCI_COMMAND_MEMORY | PCI_COMMAND_IO)

static bool is_bar_off(unsigned off)
{
	return (off >= PCI_BASE_ADDRESS_0 && off < PCI_BASE_ADDRESS_5 + 4) ||
	       (off >= PCI_ROM_ADDRESS && off < PCI_ROM_ADDRESS + 4);
}

static int hdr_init(struct pci_cfg *cfg, struct pci_cap *h)
{
	/* Identity is virtual: a model (or a VF's all-ones) can be masked. */
	pci_perm(h, PCI_VENDOR_ID, 2, 0xffff, 0);
	pci_perm(h, PCI_DEVICE_ID, 2, 0xffff, 0);
	/* INTx disable drives the interrupt state; the rest goes through. */
	pci_perm(h, PCI_COMMAND, 2, PCI_COMMAND_INTX_DISABLE, 0xffff);
	/*
	 * The capability list bit is ours (capabilities can be hidden).
	 * vfio-pci drops STATUS writes; uvfio passes the error bits to the
	 * device, whose hardware clears them on a 1 (REFERENCE §2).
	 */
	pci_perm(h, PCI_STATUS, 2, PCI_STATUS_CAP_LIST, STATUS_ERRORS);
	pci_perm(h, PCI_CACHE_LINE_SIZE, 1, 0, 0xff);
	pci_perm(h, PCI_LATENCY_TIMER, 1, 0, 0xff);
	pci_perm(h, PCI_BIST, 1, 0, 0xff);
	/* BARs never reach the device: sizing is emulated. */
	for (unsigned off = PCI_BASE_ADDRESS_0; off <= PCI_BASE_ADDRESS_5; off += 4)
		pci_perm(h, off, 4, 0xffffffffu, 0xffffffffu);
	pci_perm(h, PCI_ROM_ADDRESS, 4, 0xffffffffu, 0xffffffffu);
	pci_perm(h, PCI_CAPABILITY_LIST, 1, 0xff, 0);
	pci_perm(h, PCI_INTERRUPT_LINE, 1, 0xff, 0xff);
	pci_perm(h, PCI_INTERRUPT_PIN, 1, 0xff, 0);
	return 0;
}

/* The backing lost its BARs (a reset we did not see): put them back. */
static void repair_backdoor_reset(struct pci_cfg *cfg, uint32_t val)
{
	if (!cfg->sealed)
		return;
	uint32_t phys;
	if (pci_bk_read(cfg, PCI_COMMAND, 2, &phys) < 0)
		return;
	uint32_t virt = pci_vget(cfg, PCI_COMMAND, 2);
	bool lost = false;
	for (unsigned b = 0; b < 2; b++) {
		uint32_t bit = b ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY;
		if (val & virt & bit & ~phys)
			lost = true;
	}
	for (unsigned i = 0; i < 6 && !lost; i++) {
		uint32_t v;
		if (cfg->rbar[i] && (pci_bk_read(cfg, PCI_BASE_ADDRESS_0 + 4 * i, 4,
						 &v) < 0 || v != cfg->rbar[i]))
			lost = true;
	}
	if (!lost)
		return;
	for (unsigned i = 0; i < 6; i++)
		pci_bk_write(cfg, PCI_BASE_ADDRESS_0 + 4 * i, 4, cfg->rbar[i]);
	pci_bk_write(cfg, PCI_ROM_ADDRESS, 4, cfg->rbar[6]);
}

static int hdr_write(struct pci_cfg *cfg, struct pci_cap *h, unsigned coff,
		     unsigned n, uint32_t val)
{
	if (coff == PCI_COMMAND)
		repair_backdoor_reset(cfg, val);
	int r = pci_default_write(cfg, h, coff, n, val);
	if (r < 0)
		return r;
	if (coff == PCI_COMMAND) {
		/* Remember the decode enables the client asked for. */
		uint32_t cmd = pci_vget(cfg, PCI_COMMAND, 2);
		pci_vset(cfg, PCI_COMMAND, 2, (cmd & ~DECODE) | (val & DECODE));
	}
	if (coff == PCI_COMMAND || coff == PCI_COMMAND + 1) {
		bool dis = pci_cfg_intx_disabled(cfg);
		if (dis != cfg->intx_disabled) {
			cfg->intx_disabled = dis;
			if (cfg->hooks.intx_disable)
				cfg->hooks.intx_disable(cfg->hooks.opaque, dis);
		}
	}
	if (is_bar_off(coff))
		pci_hdr_fixup_bars(cfg);
	return 0;
}

const struct pci_cap_type pci_type_header = {
	.name = "header",
	.init = hdr_init,
	.write = hdr_write,
};

/* Read back as hardware would: address bits the size decodes, type bits. */
void pci_hdr_fixup_bars(struct pci_cfg *cfg)
{
	for (unsigned i = 0; i < 6; i++) {
		uint32_t off = PCI_BASE_ADDRESS_0 + 4 * i;
		uint64_t size = cfg->bar_size[i];
		if (!size) {
			pci_vset(cfg, off, 4, 0);
			continue;
		}
		unsigned f = cfg->bar_flags[i];
		uint64_t mask = ~(size - 1);
		uint32_t type;
		if (f & UVFIO_BAR_IO)
			type = PCI_BASE_ADDRESS_SPACE_IO;
		else
			type = (f & UVFIO_BAR_MEM64 ? PCI_BASE_ADDRESS_MEM_TYPE_64 : 0) |
			       (f & UVFIO_BAR_PREFETCH ? PCI_BASE_ADDRESS_MEM_PREFETCH : 0);
		uint32_t lo = pci_vget(cfg, off, 4) & (uint32_t)mask;
		lo &= f & UVFIO_BAR_IO ? PCI_BASE_ADDRESS_IO_MASK :
					 PCI_BASE_ADDRESS_MEM_MASK;
		pci_vset(cfg, off, 4, lo | type);
		if (f & UVFIO_BAR_MEM64) {
			/* The upper dword sizes too: ~0 reads back ~0 under 4 GiB. */
			pci_vset(cfg, off + 4, 4,
				 pci_vget(cfg, off + 4, 4) & (uint32_t)(mask >> 32));
			i++;
		}
	}
	uint64_t rom = cfg->bar_size[6];
	uint32_t v = pci_vget(cfg, PCI_ROM_ADDRESS, 4);
	pci_vset(cfg, PCI_ROM_ADDRESS, 4, rom ? v & ((uint32_t)~(rom - 1) |
						     PCI_ROM_ADDRESS_ENABLE) : 0);
}

/* The emulated device's header hardware: what it implements. */
void pci_hdr_emu_init(struct pci_cfg *cfg)
{
	pci_emu_wmask(cfg, PCI_COMMAND, 2, COMMAND_IMPLEMENTED);
	pci_emu_w1c(cfg, PCI_STATUS, 2, STATUS_ERRORS);
	pci_emu_wmask(cfg, PCI_CACHE_LINE_SIZE, 1, 0xff);
	pci_emu_wmask(cfg, PCI_LATENCY_TIMER, 1, 0xff);
	pci_emu_wmask(cfg, PCI_INTERRUPT_LINE, 1, 0xff);
}

int pci_hdr_set_writable(struct pci_cfg *cfg, uint16_t command,
			 bool cache_line, bool latency_timer)
{
	if (command & ~COMMAND_IMPLEMENTED)
		return -EINVAL;
	if (!cfg->emu)
		return -ENOTSUP;
	pci_emu_wmask(cfg, PCI_COMMAND, 2, command);
	pci_emu_wmask(cfg, PCI_CACHE_LINE_SIZE, 1, cache_line ? 0xff : 0);
	pci_emu_wmask(cfg, PCI_LATENCY_TIMER, 1, latency_timer ? 0xff : 0);
	/* Unimplemented bits read 0. */
	uint32_t v = 0;
	pci_bk_read(cfg, PCI_COMMAND, 2, &v);
	pci_cfg_poke(cfg, PCI_COMMAND, 2, v & command);
	if (!cache_line)
		pci_cfg_poke(cfg, PCI_CACHE_LINE_SIZE, 1, 0);
	if (!latency_timer)
		pci_cfg_poke(cfg, PCI_LATENCY_TIMER, 1, 0);
	return 0;
}

void pci_cfg_set_ids(struct pci_cfg *cfg, const struct uvfio_pci_ids *ids)
{
	pci_cfg_poke(cfg, PCI_VENDOR_ID, 2, ids->vendor);
	pci_cfg_poke(cfg, PCI_DEVICE_ID, 2, ids->device);
	pci_cfg_poke(cfg, PCI_REVISION_ID, 1, ids->revision);
	pci_cfg_poke(cfg, PCI_CLASS_PROG, 1, (uint8_t)ids->class_code);
	pci_cfg_poke(cfg, PCI_CLASS_DEVICE, 2, (uint16_t)(ids->class_code >> 8));
	pci_cfg_poke(cfg, PCI_HEADER_TYPE, 1, PCI_HEADER_TYPE_NORMAL);
	pci_cfg_poke(cfg, PCI_SUBSYSTEM_VENDOR_ID, 2, ids->subsystem_vendor);
	pci_cfg_poke(cfg, PCI_SUBSYSTEM_ID, 2, ids->subsystem_device);
	pci_cfg_poke(cfg, PCI_INTERRUPT_PIN, 1, ids->irq_pin);
}

int pci_cfg_set_bar(struct pci_cfg *cfg, unsigned bar, uint64_t size,
		    unsigned flags)
{
	bool io = flags & UVFIO_BAR_IO;
	bool is64 = flags & UVFIO_BAR_MEM64;
	if (cfg->sealed)
		return -EBUSY;
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
	bool upper_of_prev = bar > 0 && cfg->bar_size[bar - 1] &&
			     cfg->bar_flags[bar - 1] & UVFIO_BAR_MEM64;
	if (cfg->bar_size[bar] || upper_of_prev || (is64 && cfg->bar_size[bar + 1]))
		return -EEXIST;
	cfg->bar_size[bar] = size;
	cfg->bar_flags[bar] = flags;
	/* The backing holds the type bits, as hardware BARs do. */
	uint32_t type = io ? PCI_BASE_ADDRESS_SPACE_IO :
		(is64 ? PCI_BASE_ADDRESS_MEM_TYPE_64 : 0) |
		(flags & UVFIO_BAR_PREFETCH ? PCI_BASE_ADDRESS_MEM_PREFETCH : 0);
	if (cfg->emu)
		pci_cfg_poke(cfg, PCI_BASE_ADDRESS_0 + 4 * bar, 4, type);
	pci_hdr_fixup_bars(cfg);
	return 0;
}

int pci_cfg_set_rom(struct pci_cfg *cfg, uint64_t size)
{
	if (cfg->sealed)
		return -EBUSY;
	if (!is_pow2(size) || size < 2048 || size > (1u << 24))
		return -EINVAL;
	if (cfg->bar_size[6])
		return -EEXIST;
	cfg->bar_size[6] = size;
	pci_hdr_fixup_bars(cfg);
	return 0;
}

int pci_cfg_set_express(struct pci_cfg *cfg)
{
	if (cfg->sealed)
		return -EBUSY;
	cfg->size = PCI_CFG_EXP_SIZE;
	pci_cfg_relink(cfg);
	return 0;
}

bool pci_cfg_is_express(const struct pci_cfg *cfg)
{
	return cfg->size == PCI_CFG_EXP_SIZE;
}

/* ---- state ----------------------------------------------------------- */

uint16_t pci_cfg_command(const struct pci_cfg *cfg)
{
	uint8_t b[2] = { 0, 0 };
	pci_cfg_read(cfg, PCI_COMMAND, b, 2);
	return (uint16_t)(b[0] | b[1] << 8);
}

/*
 * As vfio-pci: the enables the client last wrote (kept in the virtual
 * copy even though reads show the device's), and not in D3hot.
 */
bool pci_cfg_memory_enabled(const struct pci_cfg *cfg)
{
	return cfg->power_state < PCI_PM_D3HOT &&
	       (pci_vget(cfg, PCI_COMMAND, 2) & PCI_COMMAND_MEMORY);
}

bool pci_cfg_io_enabled(const struct pci_cfg *cfg)
{
	return pci_vget(cfg, PCI_COMMAND, 2) & PCI_COMMAND_IO;
}

bool pci_cfg_bar_gated(const struct pci_cfg *cfg, unsigned bar)
{
	if (!cfg->gate_decode || bar > 6)
		return false;
	/* Only memory resources are gated: I/O ports tolerate probing. */
	if (bar < 6 && (!cfg->bar_size[bar] || cfg->bar_flags[bar] & UVFIO_BAR_IO))
		return false;
	return !pci_cfg_memory_enabled(cfg);
}

uint64_t pci_cfg_bar_addr(const struct pci_cfg *cfg, unsigned bar)
{
	if (bar == 6)
		return cfg->bar_size[6] ?
		       pci_vget(cfg, PCI_ROM_ADDRESS, 4) & PCI_ROM_ADDRESS_MASK : 0;
	if (bar > 5 || !cfg->bar_size[bar])
		return 0;
	uint32_t off = PCI_BASE_ADDRESS_0 + 4 * bar;
	uint64_t lo = pci_vget(cfg, off, 4);
	if (cfg->bar_flags[bar] & UVFIO_BAR_IO)
		return lo & PCI_BASE_ADDRESS_IO_MASK;
	uint64_t a = lo & PCI_BASE_ADDRESS_MEM_MASK;
	if (cfg->bar_flags[bar] & UVFIO_BAR_MEM64)
		a |= (uint64_t)pci_vget(cfg, off + 4, 4) << 32;
	return a;
}
