/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Gather what a VFIO device tells about itself, through the client API
 * only, so that it works whatever backend opened the device.  lsvfio only
 * looks: the one thing it writes is the VPD address register, which is
 * how VPD is read (lsvfio-vpd.c), as the kernel does for lspci.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lsvfio.h"

bool lsv_fatal_error(int err)
{
	switch (err) {
	case -ETIMEDOUT:
	case -ECONNRESET:
	case -EPIPE:
	case -EPROTO:
	case -ENOTCONN:
	case -ESHUTDOWN:
	case -ENOMEM:
		return true;
	default:
		return false;
	}
}

bool lsv_has_config(const struct lsv_device *d)
{
	return d->config && d->config_size >= PCI_STD_HEADER_SIZEOF;
}

uint8_t lsv_cfg8(const struct lsv_device *d, unsigned off)
{
	if (!d->config || off >= d->config_size)
		return 0xff;
	return d->config[off];
}

uint16_t lsv_cfg16(const struct lsv_device *d, unsigned off)
{
	return (uint16_t)(lsv_cfg8(d, off) | lsv_cfg8(d, off + 1) << 8);
}

uint32_t lsv_cfg32(const struct lsv_device *d, unsigned off)
{
	return (uint32_t)lsv_cfg16(d, off) | (uint32_t)lsv_cfg16(d, off + 2) << 16;
}

uint32_t lsv_class_code(const struct lsv_device *d)
{
	/* The class code is the dword at PCI_CLASS_REVISION above the revision. */
	return (uint32_t)lsv_cfg8(d, PCI_CLASS_PROG) |
	       (uint32_t)lsv_cfg16(d, PCI_CLASS_DEVICE) << 8;
}

const char *lsv_bar_type(const struct lsv_device *d, unsigned index,
			 bool *prefetch)
{
	*prefetch = false;
	if (index > VFIO_PCI_BAR5_REGION_INDEX || !lsv_has_config(d))
		return NULL;
	uint8_t htype = lsv_cfg8(d, PCI_HEADER_TYPE) & PCI_HEADER_TYPE_MASK;
	/* A bridge has two BARs; a CardBus bridge one (its socket registers). */
	if ((htype == PCI_HEADER_TYPE_BRIDGE && index > 1) ||
	    (htype == PCI_HEADER_TYPE_CARDBUS && index > 0))
		return NULL;
	uint32_t bar = lsv_cfg32(d, PCI_BASE_ADDRESS_0 + 4 * index);
	if ((bar & PCI_BASE_ADDRESS_SPACE) == PCI_BASE_ADDRESS_SPACE_IO)
		return "io";
	*prefetch = bar & PCI_BASE_ADDRESS_MEM_PREFETCH;
	switch (bar & PCI_BASE_ADDRESS_MEM_TYPE_MASK) {
	case PCI_BASE_ADDRESS_MEM_TYPE_64: return "mem64";
	case PCI_BASE_ADDRESS_MEM_TYPE_1M: return "mem1m";
	case PCI_BASE_ADDRESS_MEM_TYPE_32: return "mem32";
	default: return "reserved";
	}
}

static int read_config(struct uvfio_device *dev, struct lsv_device *d)
{
	if (!(d->info.flags & VFIO_DEVICE_FLAGS_PCI) ||
	    d->nregions <= VFIO_PCI_CONFIG_REGION_INDEX)
		return 0;
	const struct lsv_region *r = &d->regions[VFIO_PCI_CONFIG_REGION_INDEX];
	if (r->err || !r->info.size)
		return 0;
	/* More than PCIe's 4 KiB is not config space we could decode. */
	size_t size = r->info.size < PCI_CFG_SPACE_EXP_SIZE ?
		      (size_t)r->info.size : PCI_CFG_SPACE_EXP_SIZE;
	d->config = calloc(1, size);
	if (!d->config)
		return -ENOMEM;
	ssize_t n = uvfio_region_read(dev, VFIO_PCI_CONFIG_REGION_INDEX, 0,
				      d->config, size);
	if (n < 0 && size > PCI_CFG_SPACE_SIZE && !lsv_fatal_error((int)n)) {
		/* Some devices refuse the extended part: keep the rest. */
		size = PCI_CFG_SPACE_SIZE;
		n = uvfio_region_read(dev, VFIO_PCI_CONFIG_REGION_INDEX, 0,
				      d->config, size);
	}
	if (n < 0) {
		free(d->config);
		d->config = NULL;
		d->config_err = (int)n;
		return lsv_fatal_error((int)n) ? (int)n : 0;
	}
	d->config_size = size;
	return 0;
}

/*
 * Doorbells of each BAR: the count first, then all of them; the eventfds
 * that come with them are closed at once (lsvfio rings nothing).
 */
static int probe_bells(struct uvfio_device *dev, struct lsv_device *d)
{
	for (unsigned i = 0; i < d->nregions && i <= VFIO_PCI_BAR5_REGION_INDEX;
	     i++) {
		struct lsv_region *r = &d->regions[i];
		if (r->err || !r->info.size)
			continue;
		int n = uvfio_region_doorbells(dev, i, NULL, 0);
		if (n == -ENOTSUP)
			return 0;          /* the kernel's vfio-pci has none */
		if (n < 0 && lsv_fatal_error(n))
			return n;
		d->bells_probed = true;
		if (n <= 0)
			continue;
		struct uvfio_doorbell *db = calloc((size_t)n, sizeof(*db));
		r->bells = calloc((size_t)n, sizeof(*r->bells));
		if (!db || !r->bells) {
			free(db);
			return -ENOMEM;
		}
		int got = uvfio_region_doorbells(dev, i, db, (unsigned)n);
		if (got < 0 && lsv_fatal_error(got)) {
			free(db);
			return got;
		}
		/* More now than a moment ago: nothing was filled. */
		unsigned take = got > 0 && got <= n ? (unsigned)got : 0;
		for (unsigned k = 0; k < take; k++) {
			r->bells[k] = (struct lsv_bell){
				.offset = db[k].offset, .size = db[k].size,
				.datamatch = db[k].datamatch, .data = db[k].data,
			};
			close(db[k].fd);
		}
		r->nbells = take;
		free(db);
	}
	return 0;
}

/* Which DEVICE_FEATUREs the device has: PROBE of GET, then of SET. */
static int probe_features(struct uvfio_device *dev, struct lsv_device *d)
{
	static const uint32_t ops[2] = { VFIO_DEVICE_FEATURE_GET,
					 VFIO_DEVICE_FEATURE_SET };
	static const uint8_t bit[2] = { LSV_FEAT_GET, LSV_FEAT_SET };
	for (unsigned f = 0; f < LSV_NFEATURES; f++) {
		for (unsigned k = 0; k < 2; k++) {
			int r = uvfio_device_feature(dev, VFIO_DEVICE_FEATURE_PROBE |
						     ops[k] | f, NULL, 0);
			if (r == -ENOTSUP)
				return 0;  /* no DEVICE_FEATURE at all */
			if (r < 0 && lsv_fatal_error(r))
				return r;
			d->features_probed = true;
			if (!r)
				d->features[f] |= bit[k];
		}
	}
	return 0;
}

int lsv_probe(struct uvfio_device *dev, const char *name,
	      struct lsv_device *d)
{
	memset(d, 0, sizeof(*d));
	d->sriov.vf_index = -1;
	d->name = strdup(name);
	if (!d->name)
		return -ENOMEM;
	int r = uvfio_device_get_info(dev, &d->info);
	if (r < 0)
		return r;
	d->nregions = d->info.num_regions < LSV_MAX_REGIONS ?
		      d->info.num_regions : LSV_MAX_REGIONS;
	d->nirqs = d->info.num_irqs < LSV_MAX_IRQS ? d->info.num_irqs :
		   LSV_MAX_IRQS;
	d->regions = calloc(d->nregions ? d->nregions : 1, sizeof(*d->regions));
	d->irqs = calloc(d->nirqs ? d->nirqs : 1, sizeof(*d->irqs));
	if (!d->regions || !d->irqs)
		return -ENOMEM;
	for (unsigned i = 0; i < d->nregions; i++) {
		r = uvfio_region_get_info(dev, i, &d->regions[i].info);
		if (r < 0 && lsv_fatal_error(r))
			return r;
		d->regions[i].err = r < 0 ? r : 0;
		d->regions[i].info.index = i;
	}
	for (unsigned i = 0; i < d->nirqs; i++) {
		r = uvfio_irq_get_info(dev, i, &d->irqs[i].info);
		if (r < 0 && lsv_fatal_error(r))
			return r;
		d->irqs[i].err = r < 0 ? r : 0;
		d->irqs[i].info.index = i;
	}
	r = read_config(dev, d);
	if (!r)
		r = lsv_probe_vpd(dev, d);
	if (!r)
		r = probe_bells(dev, d);
	if (!r)
		r = probe_features(dev, d);
	return r;
}

void lsv_device_fini(struct lsv_device *d)
{
	for (unsigned i = 0; d->regions && i < d->nregions; i++)
		free(d->regions[i].bells);
	lsv_sriov_fini(&d->sriov);
	lsv_vpd_fini(&d->vpd);
	free(d->name);
	free(d->regions);
	free(d->irqs);
	free(d->config);
	memset(d, 0, sizeof(*d));
}
