/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The JSON output: the same facts as the text, under keys documented in
 * lsvfio(1) and kept stable.  Numbers are JSON integers; what the device
 * does not have is null rather than absent; a region or IRQ index the
 * device does not have is {index, name, "present": false} alone.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lsvfio.h"

static json_object *jint(uint64_t v)
{
	return json_object_new_uint64(v);
}

static json_object *jstr(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

static void add(json_object *o, const char *key, json_object *v)
{
	json_object_object_add(o, key, v);
}

static json_object *region_json(const struct lsv_device *d, unsigned i)
{
	const struct lsv_region *r = &d->regions[i];
	const struct uvfio_region_info *ri = &r->info;
	json_object *o = json_object_new_object();
	char name[16];
	bool prefetch;
	const char *bt = lsv_bar_type(d, i, &prefetch);

	add(o, "index", jint(i));
	add(o, "name", jstr(lsv_region_name(i, d->info.flags & VFIO_DEVICE_FLAGS_PCI,
					    name, sizeof(name))));
	add(o, "present", json_object_new_boolean(!lsv_region_absent(r)));
	if (lsv_region_absent(r))
		return o;
	if (r->err) {
		add(o, "error", jstr(strerror(-r->err)));
		return o;
	}
	add(o, "size", jint(ri->size));
	add(o, "offset", jint(ri->offset));
	add(o, "flags", lsv_flags_json(lsv_region_flags, ri->flags));
	add(o, "bar_type", jstr(bt));
	add(o, "prefetchable", bt ? json_object_new_boolean(prefetch) : NULL);
	add(o, "sparse", json_object_new_boolean(ri->sparse));
	json_object *areas = json_object_new_array();
	if (ri->sparse) {
		for (unsigned a = 0; a < ri->nr_areas; a++) {
			json_object *ao = json_object_new_object();
			add(ao, "offset", jint(ri->areas[a].offset));
			add(ao, "size", jint(ri->areas[a].size));
			json_object_array_add(areas, ao);
		}
	} else if (ri->flags & VFIO_REGION_INFO_FLAG_MMAP) {
		json_object *ao = json_object_new_object();
		add(ao, "offset", jint(0));
		add(ao, "size", jint(ri->size));
		json_object_array_add(areas, ao);
	}
	add(o, "mmap_areas", areas);
	if (ri->has_type) {
		json_object *t = json_object_new_object();
		add(t, "type", jint(ri->type));
		add(t, "subtype", jint(ri->subtype));
		add(t, "name", jstr(lsv_region_type_name(ri->type, ri->subtype)));
		add(o, "type", t);
	} else {
		add(o, "type", NULL);
	}
	add(o, "msix_mappable", json_object_new_boolean(ri->msix_mappable));
	if (d->bells_probed && i <= VFIO_PCI_BAR5_REGION_INDEX) {
		const struct lsv_region *rg = &d->regions[i];
		json_object *bells = json_object_new_array();
		for (unsigned b = 0; b < rg->nbells; b++) {
			json_object *bo = json_object_new_object();
			add(bo, "offset", jint(rg->bells[b].offset));
			add(bo, "size", jint(rg->bells[b].size));
			add(bo, "datamatch",
			    json_object_new_boolean(rg->bells[b].datamatch));
			add(bo, "data", rg->bells[b].datamatch ?
				jint(rg->bells[b].data) : NULL);
			json_object_array_add(bells, bo);
		}
		add(o, "doorbells", bells);
	}
	return o;
}

/* {"NAME": ["get", "set"], ...}; null when the backend has no features. */
static json_object *features_json(const struct lsv_device *d)
{
	if (!d->features_probed)
		return NULL;
	json_object *o = json_object_new_object();
	for (unsigned f = 0; f < LSV_NFEATURES; f++) {
		if (!d->features[f])
			continue;
		json_object *ops = json_object_new_array();
		if (d->features[f] & LSV_FEAT_GET)
			json_object_array_add(ops, jstr("get"));
		if (d->features[f] & LSV_FEAT_SET)
			json_object_array_add(ops, jstr("set"));
		add(o, lsv_feature_name(f), ops);
	}
	return o;
}

static json_object *sriov_json(const struct lsv_device *d)
{
	const struct lsv_sriov *s = &d->sriov;
	if (!s->pf && !s->nvfs)
		return NULL;
	json_object *o = json_object_new_object();
	add(o, "pf", jstr(s->pf));
	add(o, "vf_index", s->pf && s->vf_index >= 0 ?
		jint((uint64_t)s->vf_index) : NULL);
	json_object *vfs = json_object_new_array();
	for (unsigned i = 0; i < s->nvfs; i++)
		json_object_array_add(vfs, jstr(s->vfs[i]));
	add(o, "vfs", vfs);
	return o;
}

static json_object *irq_json(const struct lsv_device *d, unsigned i)
{
	const struct lsv_irq *q = &d->irqs[i];
	json_object *o = json_object_new_object();
	char name[16];

	add(o, "index", jint(i));
	add(o, "name", jstr(lsv_irq_name(i, d->info.flags & VFIO_DEVICE_FLAGS_PCI,
					 name, sizeof(name))));
	add(o, "present", json_object_new_boolean(q->err != -EINVAL));
	if (q->err) {
		if (q->err != -EINVAL)
			add(o, "error", jstr(strerror(-q->err)));
		return o;
	}
	add(o, "count", jint(q->info.count));
	add(o, "flags", lsv_flags_json(lsv_irq_flags, q->info.flags));
	return o;
}

static void header_json(json_object *o, const struct lsv_device *d)
{
	bool cfg = lsv_has_config(d);
	uint8_t htype = lsv_cfg8(d, PCI_HEADER_TYPE) & PCI_HEADER_TYPE_MASK;
	uint32_t class_code = lsv_class_code(d);
	uint16_t vendor = lsv_cfg16(d, PCI_VENDOR_ID);
	unsigned ss = htype == PCI_HEADER_TYPE_NORMAL ? PCI_SUBSYSTEM_VENDOR_ID :
		      htype == PCI_HEADER_TYPE_CARDBUS ? PCI_CB_SUBSYSTEM_VENDOR_ID : 0;

	add(o, "vendor_id", cfg ? jint(vendor) : NULL);
	add(o, "vendor_name", cfg ? jstr(lsv_vendor_name(vendor)) : NULL);
	add(o, "device_id", cfg ? jint(lsv_cfg16(d, PCI_DEVICE_ID)) : NULL);
	add(o, "subsystem_vendor_id", cfg && ss ? jint(lsv_cfg16(d, ss)) : NULL);
	add(o, "subsystem_id", cfg && ss ? jint(lsv_cfg16(d, ss + 2)) : NULL);
	add(o, "revision", cfg ? jint(lsv_cfg8(d, PCI_REVISION_ID)) : NULL);
	add(o, "class", cfg ? jint(class_code) : NULL);
	add(o, "class_name", cfg ? jstr(lsv_class_name(class_code)) : NULL);
	add(o, "prog_if", cfg ? jint(lsv_cfg8(d, PCI_CLASS_PROG)) : NULL);
	add(o, "header_type", cfg ? jint(htype) : NULL);
	add(o, "command", cfg ? jint(lsv_cfg16(d, PCI_COMMAND)) : NULL);
	add(o, "status", cfg ? jint(lsv_cfg16(d, PCI_STATUS)) : NULL);
	add(o, "irq_pin", cfg ? jint(lsv_cfg8(d, PCI_INTERRUPT_PIN)) : NULL);
}

json_object *lsv_device_json(const struct lsv_device *d,
			     const struct lsv_print_opts *opts)
{
	json_object *o = json_object_new_object();

	add(o, "path", jstr(d->name));
	header_json(o, d);
	add(o, "flags", lsv_flags_json(lsv_device_flags, d->info.flags));
	add(o, "num_regions", jint(d->info.num_regions));
	add(o, "num_irqs", jint(d->info.num_irqs));

	json_object *regions = json_object_new_array();
	for (unsigned i = 0; i < d->nregions; i++)
		json_object_array_add(regions, region_json(d, i));
	add(o, "regions", regions);
	json_object *irqs = json_object_new_array();
	for (unsigned i = 0; i < d->nirqs; i++)
		json_object_array_add(irqs, irq_json(d, i));
	add(o, "irqs", irqs);
	add(o, "features", features_json(d));
	add(o, "sriov", sriov_json(d));

	json_object *caps = json_object_new_array();
	json_object *ecaps = json_object_new_array();
	json_object *notes = json_object_new_array();
	lsv_walk_caps(d, NULL, caps, ecaps, notes);
	if (d->nregions < d->info.num_regions)
		json_object_array_add(notes, json_object_new_string(
			"more regions than lsvfio shows"));
	if (d->nirqs < d->info.num_irqs)
		json_object_array_add(notes, json_object_new_string(
			"more IRQ indexes than lsvfio shows"));
	add(o, "capabilities", caps);
	add(o, "extended_capabilities", ecaps);
	add(o, "config_error", d->config_err ? jstr(strerror(-d->config_err)) : NULL);
	add(o, "notes", notes);
	if (opts->hexdump) {
		char *hex = NULL;
		if (d->config) {
			hex = malloc(d->config_size * 2 + 1);
			if (hex) {
				for (size_t i = 0; i < d->config_size; i++)
					snprintf(hex + 2 * i, 3, "%02x", d->config[i]);
				hex[d->config_size * 2] = '\0';
			}
		}
		add(o, "config", jstr(hex));
		free(hex);
	}
	return o;
}
