/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The emulated backing: the "physical" config space of a device model, a
 * byte array with the write semantics of hardware.  Bits outside the
 * write mask ignore writes; write-1-to-clear bits clear where a 1 is
 * written.  The builder sets values and masks; the engine reaches it only
 * through struct pci_backing, as it would reach a real device.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "pci/emu.h"

struct pci_emu {
	uint8_t val[PCI_CFG_EXP_SIZE];
	uint8_t init[PCI_CFG_EXP_SIZE];
	uint8_t wmask[PCI_CFG_EXP_SIZE];
	uint8_t w1c[PCI_CFG_EXP_SIZE];
};

static int emu_read(void *opaque, uint32_t off, void *buf, size_t len)
{
	struct pci_emu *e = opaque;
	if (!range_ok(off, len, PCI_CFG_EXP_SIZE))
		return -EFAULT;
	memcpy(buf, e->val + off, len);
	return 0;
}

static int emu_write(void *opaque, uint32_t off, const void *buf, size_t len)
{
	struct pci_emu *e = opaque;
	if (!range_ok(off, len, PCI_CFG_EXP_SIZE))
		return -EFAULT;
	const uint8_t *v = buf;
	for (size_t i = 0; i < len; i++) {
		uint8_t *b = &e->val[off + i];
		uint8_t m = e->wmask[off + i], c = e->w1c[off + i];
		*b = (uint8_t)((*b & ~m) | (v[i] & m));
		*b &= (uint8_t)~(v[i] & c);
	}
	return 0;
}

static void emu_reset(void *opaque)
{
	struct pci_emu *e = opaque;
	memcpy(e->val, e->init, sizeof(e->val));
}

struct pci_emu *pci_emu_new(struct pci_backing *bk)
{
	struct pci_emu *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	bk->read = emu_read;
	bk->write = emu_write;
	bk->reset = emu_reset;
	bk->opaque = e;
	return e;
}

void pci_emu_free(struct pci_emu *e)
{
	free(e);
}

void pci_emu_poke(struct pci_emu *e, uint32_t off, const void *buf, size_t len)
{
	if (range_ok(off, len, PCI_CFG_EXP_SIZE))
		memcpy(e->val + off, buf, len);
}

static void set_le(uint8_t *p, unsigned n, uint32_t v)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

void pci_emu_set_wmask(struct pci_emu *e, uint32_t off, unsigned n, uint32_t m)
{
	if (range_ok(off, n, PCI_CFG_EXP_SIZE))
		set_le(e->wmask + off, n, m);
}

void pci_emu_set_w1c(struct pci_emu *e, uint32_t off, unsigned n, uint32_t m)
{
	if (range_ok(off, n, PCI_CFG_EXP_SIZE))
		set_le(e->w1c + off, n, m);
}

void pci_emu_seal(struct pci_emu *e)
{
	memcpy(e->init, e->val, sizeof(e->init));
}
