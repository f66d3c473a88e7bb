/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sriov: a small SR-IOV physical function whose virtual functions are
 * created by its client (uvfio_dev_set_sriov): the PF's user writes
 * NumVFs and then VF Enable in the SR-IOV capability, and each VF appears
 * on "<PF socket>.vf<N>".  Opening a VF takes the VF token the PF's user
 * set with DEVICE_FEATURE PCI_VF_TOKEN.
 *
 *  - PF: PCI Express endpoint with FLR, BAR0 registers (ID, scratch), SR-IOV with
 *    SRIOV_TOTAL_VFS VFs of device ID SRIOV_VF_DEVICE;
 *  - VF: BAR0 registers (ID, scratch, its index), MSI-X-less, no INTx.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uvfio/pci.h>
#include "devices/models.h"

struct sriov_fn {
	struct uvfio_dev *dev;
	uint32_t id;
	uint32_t index;
	uint32_t scratch;
};

static uint32_t fn_reg_read(struct sriov_fn *f, uint64_t reg)
{
	switch (reg) {
	case SRIOV_REG_ID: return f->id;
	case SRIOV_REG_SCRATCH: return f->scratch;
	case SRIOV_REG_INDEX: return f->index;
	default: return 0;
	}
}

static ssize_t bar0_read(void *opaque, uint64_t off, void *buf, size_t count)
{
	struct sriov_fn *f = opaque;
	uint8_t *out = buf;
	for (size_t i = 0; i < count; i++) {
		uint64_t at = off + i;
		uint32_t v = fn_reg_read(f, at & ~3ull);
		out[i] = (uint8_t)(v >> (8 * (at & 3)));
	}
	return (ssize_t)count;
}

static ssize_t bar0_write(void *opaque, uint64_t off, const void *buf,
			  size_t count)
{
	struct sriov_fn *f = opaque;
	const uint8_t *in = buf;
	for (size_t i = 0; i < count; i++) {
		uint64_t at = off + i;
		if ((at & ~3ull) != SRIOV_REG_SCRATCH)
			continue;
		unsigned sh = 8 * (unsigned)(at & 3);
		f->scratch = (f->scratch & ~(0xffu << sh)) | (uint32_t)in[i] << sh;
	}
	return (ssize_t)count;
}

static const struct uvfio_region_ops bar0_ops = {
	.read = bar0_read,
	.write = bar0_write,
};

static void fn_free(struct sriov_fn *f)
{
	if (!f)
		return;
	uvfio_dev_free(f->dev);
	free(f);
}

/* The parts PF and VFs share: a PCIe function with BAR0 registers. */
static struct sriov_fn *fn_new(const char *name, const struct uvfio_pci_ids *ids,
			       uint32_t id, uint32_t index, unsigned pcie_flags)
{
	struct sriov_fn *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->id = id;
	f->index = index;
	f->dev = uvfio_dev_new(name);
	if (!f->dev) {
		free(f);
		return NULL;
	}
	struct uvfio_pci *p = uvfio_dev_pci(f->dev);
	if (uvfio_pci_set_ids(p, ids) < 0 ||
	    uvfio_pci_add_bar(p, 0, SRIOV_BAR0_SIZE, UVFIO_BAR_MEM32,
			      &bar0_ops, f) < 0 ||
	    uvfio_pci_add_pcie(p, 0, PCI_EXP_TYPE_ENDPOINT, pcie_flags) < 0) {
		fn_free(f);
		return NULL;
	}
	return f;
}

static struct uvfio_dev *vf_new(void *opaque, unsigned index, void **vf_state)
{
	(void)opaque;
	char name[32];
	snprintf(name, sizeof(name), "sriov-vf%u", index);
	/* Vendor and device ID come from the PF (uvfio sets them). */
	const struct uvfio_pci_ids ids = {
		.subsystem_vendor = SRIOV_VENDOR, .subsystem_device = 0x10,
		.class_code = 0xff0000, .revision = 1,
	};
	struct sriov_fn *f = fn_new(name, &ids, SRIOV_VF_ID_VALUE, index, 0);
	if (!f)
		return NULL;
	*vf_state = f;
	return f->dev;
}

static void vf_free(void *opaque, unsigned index, void *vf_state)
{
	(void)opaque;
	(void)index;
	/* uvfio freed the device already. */
	free(vf_state);
}

static const struct uvfio_sriov_ops vf_ops = {
	.vf_new = vf_new,
	.vf_free = vf_free,
};

static void sriov_destroy(void *state)
{
	fn_free(state);
}

static struct uvfio_dev *sriov_create(void **state)
{
	const struct uvfio_pci_ids ids = {
		.vendor = SRIOV_VENDOR, .device = SRIOV_PF_DEVICE,
		.subsystem_vendor = SRIOV_VENDOR, .subsystem_device = 1,
		.class_code = 0xff0000, .revision = 1, .irq_pin = 1,
	};
	/* FLR of the PF clears VF Enable: its VFs go away. */
	struct sriov_fn *pf = fn_new("sriov", &ids, SRIOV_PF_ID_VALUE, 0,
				     UVFIO_PCIE_FLR);
	if (!pf)
		return NULL;
	const struct uvfio_pci_sriov cap = {
		.total_vfs = SRIOV_TOTAL_VFS, .vf_offset = 1, .vf_stride = 1,
		.vf_device = SRIOV_VF_DEVICE,
	};
	struct uvfio_pci *p = uvfio_dev_pci(pf->dev);
	if (uvfio_pci_add_ari(p, 0, 0) < 0 ||
	    uvfio_pci_add_sriov(p, 0, &cap) < 0 ||
	    uvfio_dev_set_sriov(pf->dev, &vf_ops, pf) < 0) {
		fn_free(pf);
		return NULL;
	}
	*state = pf;
	return pf->dev;
}

const struct uvfio_model uvfio_model_sriov = {
	.name = "sriov",
	.description = "SR-IOV PF whose VFs its client enables (VF token)",
	.create = sriov_create,
	.destroy = sriov_destroy,
};
