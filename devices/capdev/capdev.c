/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * capdev: a PCI Express endpoint built with every part of the config-space
 * builder (<uvfio/pci.h>), for the tests and for trying clients against:
 *
 *  - BAR0: registers (see devices/models.h), BAR2: 64-bit memory holding
 *    the MSI-X table and PBA (the rest is mmap-able), BAR4: I/O ports;
 *  - PM, MSI (64-bit, per-vector masking), MSI-X, PCI Express v2 with
 *    FLR, Advanced Features, VPD, a vendor-specific capability, and one
 *    capability uvfio does not know (hidden from the client);
 *  - extended: a capability the model hides at 0x100 (so the chain starts
 *    with a bare header), AER, DSN, ARI, SR-IOV, vendor-specific, DVSEC,
 *    and one uvfio does not know (unlinked);
 *  - memory BARs gated by COMMAND's Memory Space Enable, as in vfio-pci.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <stdlib.h>
#include <string.h>

#include <uvfio/pci.h>
#include "devices/models.h"

struct capdev {
	struct uvfio_dev *dev;
	uint32_t scratch;
	uint32_t irq_result;
	uint32_t resets;
	uint8_t io[CAPDEV_BAR4_SIZE];
};

static uint32_t reg_read(struct capdev *c, uint64_t reg)
{
	switch (reg) {
	case CAPDEV_REG_ID: return CAPDEV_ID_VALUE;
	case CAPDEV_REG_SCRATCH: return c->scratch;
	case CAPDEV_REG_IRQ_RESULT: return c->irq_result;
	case CAPDEV_REG_RESETS: return c->resets;
	default: return 0;
	}
}

static void reg_write(struct capdev *c, uint64_t reg, uint32_t v)
{
	switch (reg) {
	case CAPDEV_REG_SCRATCH:
		c->scratch = v;
		break;
	case CAPDEV_REG_IRQ:
		c->irq_result = (uint32_t)-uvfio_dev_irq_trigger(c->dev, v >> 16,
								 v & 0xffff);
		break;
	case CAPDEV_REG_STATUS: {
		/* The device raises error bits in its own STATUS register. */
		struct uvfio_pci *p = uvfio_dev_pci(c->dev);
		uint8_t st[2];
		if (uvfio_pci_phys_read(p, PCI_STATUS, st, 2) == 0) {
			st[0] |= (uint8_t)v;
			st[1] |= (uint8_t)(v >> 8);
			uvfio_pci_phys_write(p, PCI_STATUS, st, 2);
		}
		break;
	}
	default:
		break;
	}
}

static ssize_t bar0_read(void *opaque, uint64_t off, void *buf, size_t count)
{
	uint8_t *b = buf;
	for (size_t i = 0; i < count; i++) {
		uint64_t a = off + i;
		b[i] = (uint8_t)(reg_read(opaque, a & ~3ull) >> (8 * (a & 3)));
	}
	return (ssize_t)count;
}

static ssize_t bar0_write(void *opaque, uint64_t off, const void *buf,
			  size_t count)
{
	/* Registers take whole, aligned dwords. */
	if (count != 4 || off & 3)
		return (ssize_t)count;
	const uint8_t *b = buf;
	reg_write(opaque, off, (uint32_t)b[0] | (uint32_t)b[1] << 8 |
		  (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24);
	return (ssize_t)count;
}

static const struct uvfio_region_ops bar0_ops = {
	.read = bar0_read,
	.write = bar0_write,
};

static ssize_t io_read(void *opaque, uint64_t off, void *buf, size_t count)
{
	memcpy(buf, ((struct capdev *)opaque)->io + off, count);
	return (ssize_t)count;
}

static ssize_t io_write(void *opaque, uint64_t off, const void *buf,
			size_t count)
{
	memcpy(((struct capdev *)opaque)->io + off, buf, count);
	return (ssize_t)count;
}

static const struct uvfio_region_ops io_ops = {
	.read = io_read,
	.write = io_write,
};

static int capdev_reset(void *opaque)
{
	struct capdev *c = opaque;
	c->scratch = 0;
	c->irq_result = 0;
	memset(c->io, 0, sizeof(c->io));
	c->resets++;
	return 0;
}

static void capdev_destroy(void *state)
{
	struct capdev *c = state;
	if (!c)
		return;
	uvfio_dev_free(c->dev);
	free(c);
}

/*
 * A small VPD image as a real card carries one: the identifier string,
 * VPD-R (part number, EC level, serial number, a vendor keyword and RV
 * with the checksum), VPD-W (an asset tag and the free read/write area),
 * the end tag; CAPDEV_VPD_SIZE bytes in all.
 */
static const uint8_t capdev_vpd[CAPDEV_VPD_SIZE] = {
	0x82, 6, 0, 'c', 'a', 'p', 'd', 'e', 'v',          /* 0x00 */
	0x90, 35, 0,                                       /* 0x09 VPD-R */
	'P', 'N', 5, 'C', 'D', '-', '0', '1',
	'E', 'C', 2, 'A', '1',
	'S', 'N', 7, 'U', 'V', '0', '0', '0', '4', '2',
	'V', '0', 5, 'u', 'v', 'f', 'i', 'o',
	'R', 'V', 1, 0,                                    /* checksum: 0x2e */
	0x91, 13, 0,                                       /* 0x2f VPD-W */
	'Y', 'A', 3, 'A', '4', '2',
	'R', 'W', 4, 0, 0, 0, 0,
	0x78,                                              /* 0x3f end */
};
#define CAPDEV_VPD_RV_SUM 0x2e

static int build_caps(struct uvfio_pci *p)
{
	uint8_t vpd[CAPDEV_VPD_SIZE];
	memcpy(vpd, capdev_vpd, sizeof(vpd));
	/* RV's byte makes bytes 0 .. 0x2e sum to 0. */
	uint8_t sum = 0;
	for (unsigned i = 0; i < CAPDEV_VPD_RV_SUM; i++)
		sum = (uint8_t)(sum + vpd[i]);
	vpd[CAPDEV_VPD_RV_SUM] = (uint8_t)-sum;
	const uint8_t vendor[8] = { 'u', 'v', 'f', 'i', 'o', 0, 1, 2 };
	const uint8_t unknown[6] = { 0 };
	const uint8_t dvsec[6] = { 1, 2, 3, 4, 5, 6 };
	const uint8_t ltr[4] = { 0 };
	const struct uvfio_pci_sriov sriov = {
		.total_vfs = 4, .vf_offset = 1, .vf_stride = 1,
		.vf_device = CAPDEV_DEVICE + 1,
	};
	if (uvfio_pci_add_pm(p, 0, UVFIO_PCI_PM_D1 | UVFIO_PCI_PM_D2) < 0 ||
	    uvfio_pci_add_msi(p, 0, CAPDEV_MSI_VECTORS,
			      UVFIO_MSI_64BIT | UVFIO_MSI_MASKABLE) < 0 ||
	    uvfio_pci_add_msix(p, 0, CAPDEV_MSIX_VECTORS, 2, CAPDEV_MSIX_TABLE,
			       2, CAPDEV_MSIX_PBA) < 0 ||
	    uvfio_pci_add_pcie(p, 0, PCI_EXP_TYPE_ENDPOINT, UVFIO_PCIE_FLR) < 0 ||
	    uvfio_pci_add_af(p, 0) < 0 ||
	    uvfio_pci_add_vpd(p, 0, vpd, sizeof(vpd)) < 0 ||
	    uvfio_pci_add_vendor(p, 0, vendor, sizeof(vendor)) < 0 ||
	    uvfio_pci_add_raw_cap(p, 0, PCI_CAP_ID_DBG, unknown,
				  sizeof(unknown)) < 0)
		return -1;
	/* Extended: the first one is hidden by the model. */
	if (uvfio_pci_add_raw_ext_cap(p, 0, PCI_EXT_CAP_ID_LTR, 1, ltr,
				      sizeof(ltr)) < 0 ||
	    uvfio_pci_hide_ext_cap(p, PCI_EXT_CAP_ID_LTR) < 0 ||
	    uvfio_pci_add_aer(p, 0) < 0 ||
	    uvfio_pci_add_dsn(p, 0, CAPDEV_SERIAL) < 0 ||
	    uvfio_pci_add_raw_ext_cap(p, 0, PCI_EXT_CAP_ID_PTM, 1, ltr,
				      sizeof(ltr)) < 0 ||
	    uvfio_pci_add_ari(p, 0, 0) < 0 ||
	    uvfio_pci_add_sriov(p, 0, &sriov) < 0 ||
	    uvfio_pci_add_ext_vendor(p, 0, 0x1234, 1, vendor, sizeof(vendor)) < 0 ||
	    uvfio_pci_add_dvsec(p, 0, CAPDEV_VENDOR, 1, 0x42, dvsec,
				sizeof(dvsec)) < 0)
		return -1;
	return 0;
}

static struct uvfio_dev *capdev_create(void **state)
{
	struct capdev *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->dev = uvfio_dev_new("capdev");
	if (!c->dev)
		goto fail;
	struct uvfio_pci *p = uvfio_dev_pci(c->dev);
	const struct uvfio_pci_ids ids = {
		.vendor = CAPDEV_VENDOR, .device = CAPDEV_DEVICE,
		.subsystem_vendor = CAPDEV_VENDOR, .subsystem_device = 2,
		.class_code = 0xff0000, .revision = 1, .irq_pin = 1,
	};
	if (uvfio_pci_set_ids(p, &ids) < 0 ||
	    uvfio_pci_add_bar(p, 0, CAPDEV_BAR0_SIZE, UVFIO_BAR_MEM32,
			      &bar0_ops, c) < 0 ||
	    uvfio_pci_add_bar(p, 2, CAPDEV_BAR2_SIZE, UVFIO_BAR_MEM64, NULL,
			      NULL) < 0 ||
	    uvfio_dev_region_alloc_memory(c->dev, 2, NULL) < 0 ||
	    uvfio_pci_add_bar(p, 4, CAPDEV_BAR4_SIZE, UVFIO_BAR_IO, &io_ops,
			      c) < 0 ||
	    build_caps(p) < 0 ||
	    uvfio_pci_set_decode_gating(p, true) < 0 ||
	    uvfio_dev_set_reset(c->dev, capdev_reset, c) < 0)
		goto fail;
	*state = c;
	return c->dev;
fail:
	capdev_destroy(c);
	return NULL;
}

const struct uvfio_model uvfio_model_capdev = {
	.name = "capdev",
	.description = "PCIe endpoint with every capability (config-space tests)",
	.create = capdev_create,
	.destroy = capdev_destroy,
};
