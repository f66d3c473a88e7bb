/* SPDX-License-Identifier: BSD-3-Clause */
/* The text output: what `lspci -vv` (and -xxx) would print. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "lsvfio.h"

#define STATUS_DEVSEL_SHIFT 9

/* The header line: "PATH: Class [cccc]: Vendor Device [vvvv:dddd] (rev rr)". */
void lsv_print_summary(FILE *f, const struct lsv_device *d)
{
	if (!lsv_has_config(d)) {
		fprintf(f, "%s: VFIO %sdevice (%s)\n", d->name,
			d->info.flags & VFIO_DEVICE_FLAGS_PCI ? "PCI " : "",
			d->config_err ? "config space unreadable" :
			"no PCI config space");
		return;
	}
	uint16_t vendor = lsv_cfg16(d, PCI_VENDOR_ID);
	uint16_t device = lsv_cfg16(d, PCI_DEVICE_ID);
	uint32_t class_code = lsv_class_code(d);
	uint8_t rev = lsv_cfg8(d, PCI_REVISION_ID);
	uint8_t progif = lsv_cfg8(d, PCI_CLASS_PROG);
	const char *cn = lsv_class_name(class_code);
	const char *vn = lsv_vendor_name(vendor);

	fprintf(f, "%s: ", d->name);
	if (cn)
		fprintf(f, "%s [%04x]", cn, LSV_CLASS_DEVICE(class_code));
	else
		fprintf(f, "Class [%04x]", LSV_CLASS_DEVICE(class_code));
	fprintf(f, ": %s%sDevice [%04x:%04x]", vn ? vn : "", vn ? " " : "",
		vendor, device);
	if (rev)
		fprintf(f, " (rev %02x)", rev);
	if (progif) {
		const char *pn = lsv_progif_name(class_code);
		fprintf(f, " (prog-if %02x%s%s%s)", progif, pn ? " [" : "",
			pn ? pn : "", pn ? "]" : "");
	}
	fputc('\n', f);
}

static void print_header(FILE *f, const struct lsv_device *d)
{
	static const char *const devsel[] = { "fast", "medium", "slow", "??" };
	uint8_t htype = lsv_cfg8(d, PCI_HEADER_TYPE) & PCI_HEADER_TYPE_MASK;
	uint16_t cmd = lsv_cfg16(d, PCI_COMMAND);
	uint16_t st = lsv_cfg16(d, PCI_STATUS);
	uint8_t pin = lsv_cfg8(d, PCI_INTERRUPT_PIN);

	if (htype == PCI_HEADER_TYPE_NORMAL || htype == PCI_HEADER_TYPE_CARDBUS) {
		unsigned off = htype == PCI_HEADER_TYPE_NORMAL ?
			       PCI_SUBSYSTEM_VENDOR_ID : PCI_CB_SUBSYSTEM_VENDOR_ID;
		uint16_t sv = lsv_cfg16(d, off), sd = lsv_cfg16(d, off + 2);
		const char *vn = lsv_vendor_name(sv);
		/* As lspci: a subsystem vendor of 0 or ~0 means none. */
		if (sv && sv != 0xffff)
			fprintf(f, "\tSubsystem: %s%sDevice [%04x:%04x]\n",
				vn ? vn : "", vn ? " " : "", sv, sd);
	} else if (htype == PCI_HEADER_TYPE_BRIDGE) {
		fprintf(f, "\tBus: primary=%02x, secondary=%02x, subordinate=%02x\n",
			lsv_cfg8(d, PCI_PRIMARY_BUS), lsv_cfg8(d, PCI_SECONDARY_BUS),
			lsv_cfg8(d, PCI_SUBORDINATE_BUS));
	}
	fprintf(f, "\tControl: I/O%c Mem%c BusMaster%c SpecCycle%c MemWINV%c "
		"VGASnoop%c ParErr%c Stepping%c SERR%c FastB2B%c DisINTx%c\n",
		pm(cmd & PCI_COMMAND_IO), pm(cmd & PCI_COMMAND_MEMORY),
		pm(cmd & PCI_COMMAND_MASTER), pm(cmd & PCI_COMMAND_SPECIAL),
		pm(cmd & PCI_COMMAND_INVALIDATE), pm(cmd & PCI_COMMAND_VGA_PALETTE),
		pm(cmd & PCI_COMMAND_PARITY), pm(cmd & PCI_COMMAND_WAIT),
		pm(cmd & PCI_COMMAND_SERR), pm(cmd & PCI_COMMAND_FAST_BACK),
		pm(cmd & PCI_COMMAND_INTX_DISABLE));
	fprintf(f, "\tStatus: Cap%c 66MHz%c UDF%c FastB2B%c ParErr%c DEVSEL=%s "
		">TAbort%c <TAbort%c <MAbort%c >SERR%c <PERR%c INTx%c\n",
		pm(st & PCI_STATUS_CAP_LIST), pm(st & PCI_STATUS_66MHZ),
		pm(st & PCI_STATUS_UDF), pm(st & PCI_STATUS_FAST_BACK),
		pm(st & PCI_STATUS_PARITY),
		devsel[(st & PCI_STATUS_DEVSEL_MASK) >> STATUS_DEVSEL_SHIFT],
		pm(st & PCI_STATUS_SIG_TARGET_ABORT),
		pm(st & PCI_STATUS_REC_TARGET_ABORT),
		pm(st & PCI_STATUS_REC_MASTER_ABORT),
		pm(st & PCI_STATUS_SIG_SYSTEM_ERROR),
		pm(st & PCI_STATUS_DETECTED_PARITY), pm(st & PCI_STATUS_INTERRUPT));
	if (pin >= 1 && pin <= 4)
		fprintf(f, "\tInterrupt: pin %c\n", 'A' + pin - 1);
	else if (pin)
		fprintf(f, "\tInterrupt: pin ?%u\n", pin);
}

/* "Memory (64-bit, prefetchable)", "I/O ports", "Expansion ROM" ... */
static void region_kind(FILE *f, const struct lsv_device *d, unsigned i)
{
	bool prefetch;
	const char *bt = lsv_bar_type(d, i, &prefetch);

	if (bt && !strcmp(bt, "io")) {
		fputs("I/O ports", f);
	} else if (bt) {
		const char *w = !strcmp(bt, "mem64") ? "64-bit" :
				!strcmp(bt, "mem1m") ? "low-1M" :
				!strcmp(bt, "mem32") ? "32-bit" : "reserved type";
		fprintf(f, "Memory (%s, %s)", w, prefetch ? "prefetchable" :
			"non-prefetchable");
	} else if (!(d->info.flags & VFIO_DEVICE_FLAGS_PCI)) {
		fputs("Device region", f);
	} else if (i == VFIO_PCI_ROM_REGION_INDEX) {
		fputs("Expansion ROM", f);
		if (lsv_has_config(d) &&
		    (lsv_cfg8(d, PCI_HEADER_TYPE) & PCI_HEADER_TYPE_MASK) ==
		    PCI_HEADER_TYPE_NORMAL &&
		    !(lsv_cfg32(d, PCI_ROM_ADDRESS) & PCI_ROM_ADDRESS_ENABLE))
			fputs(" [disabled]", f);
	} else if (i == VFIO_PCI_CONFIG_REGION_INDEX) {
		fputs("Config space", f);
	} else if (i == VFIO_PCI_VGA_REGION_INDEX) {
		fputs("VGA legacy", f);
	} else if (i <= VFIO_PCI_BAR5_REGION_INDEX) {
		fputs("BAR", f);
	} else {
		fputs("Device specific", f);
	}
}

static void print_region(FILE *f, const struct lsv_device *d, unsigned i)
{
	const struct lsv_region *r = &d->regions[i];
	const struct uvfio_region_info *ri = &r->info;
	char name[16], sz[24];

	bool pci = d->info.flags & VFIO_DEVICE_FLAGS_PCI;

	lsv_region_name(i, pci, name, sizeof(name));
	if (lsv_region_absent(r)) {
		fprintf(f, "\tRegion %u %s: not present\n", i, name);
		return;
	}
	if (r->err == -E2BIG) {
		fprintf(f, "\tRegion %u %s: <info unavailable: more than %u sparse "
			"mmap areas>\n", i, name, UVFIO_MAX_SPARSE_AREAS);
		return;
	}
	if (r->err) {
		fprintf(f, "\tRegion %u %s: <info unavailable: %s>\n", i, name,
			strerror(-r->err));
		return;
	}
	fprintf(f, "\tRegion %u %s: ", i, name);
	region_kind(f, d, i);
	fprintf(f, " [size=%s] [0x%" PRIx64 "] flags: ",
		lsv_size_str(ri->size, sz, sizeof(sz)), ri->size);
	lsv_flags_print(f, lsv_region_flags, ri->flags);
	fputc('\n', f);
	if (ri->sparse) {
		fputs("\t\tMmap areas (sparse):", f);
		if (!ri->nr_areas)
			fputs(" none", f);
		for (unsigned a = 0; a < ri->nr_areas; a++)
			fprintf(f, " [0x%" PRIx64 "+0x%" PRIx64 "]",
				ri->areas[a].offset, ri->areas[a].size);
		fputc('\n', f);
	}
	if (ri->has_type) {
		const char *tn = lsv_region_type_name(ri->type, ri->subtype);
		fprintf(f, "\t\tType: 0x%08x subtype 0x%08x%s%s%s\n", ri->type,
			ri->subtype, tn ? " (" : "", tn ? tn : "", tn ? ")" : "");
	}
	if (ri->msix_mappable)
		fputs("\t\tMSIX_MAPPABLE: the MSI-X table may be mmap-ed\n", f);
}

static void print_irq(FILE *f, const struct lsv_device *d, unsigned i)
{
	const struct lsv_irq *q = &d->irqs[i];
	char name[16];

	lsv_irq_name(i, d->info.flags & VFIO_DEVICE_FLAGS_PCI, name, sizeof(name));
	if (q->err == -EINVAL) {
		/* vfio-pci's answer for an index the device lacks (ERR on a
		 * conventional PCI device). */
		fprintf(f, "\tIRQ %u %s: not present\n", i, name);
		return;
	}
	if (q->err) {
		fprintf(f, "\tIRQ %u %s: <info unavailable: %s>\n", i, name,
			strerror(-q->err));
		return;
	}
	fprintf(f, "\tIRQ %u %s: count %u, flags: ", i, name, q->info.count);
	lsv_flags_print(f, lsv_irq_flags, q->info.flags);
	fputc('\n', f);
}

static void print_bells(FILE *f, const struct lsv_device *d)
{
	bool pci = d->info.flags & VFIO_DEVICE_FLAGS_PCI;
	for (unsigned i = 0; i < d->nregions && i <= VFIO_PCI_BAR5_REGION_INDEX;
	     i++) {
		const struct lsv_region *r = &d->regions[i];
		char name[16];
		lsv_region_name(i, pci, name, sizeof(name));
		for (unsigned b = 0; b < r->nbells; b++) {
			fprintf(f, "\tDoorbell: Region %u %s [0x%" PRIx64 "] "
				"size %u, ", i, name, r->bells[b].offset,
				r->bells[b].size);
			if (r->bells[b].datamatch)
				fprintf(f, "writes 0x%" PRIx64 "\n",
					r->bells[b].data);
			else
				fputs("writes a value of the device's choosing\n", f);
		}
	}
}

static void print_features(FILE *f, const struct lsv_device *d)
{
	if (!d->features_probed)
		return;
	fputs("\tFeatures:", f);
	bool any = false;
	for (unsigned i = 0; i < LSV_NFEATURES; i++) {
		uint8_t v = d->features[i];
		if (!v)
			continue;
		any = true;
		fprintf(f, " %s(%s%s%s)", lsv_feature_name(i),
			v & LSV_FEAT_GET ? "get" : "",
			v == (LSV_FEAT_GET | LSV_FEAT_SET) ? "," : "",
			v & LSV_FEAT_SET ? "set" : "");
	}
	fputs(any ? "\n" : " none\n", f);
}

static void print_sriov(FILE *f, const struct lsv_device *d)
{
	const struct lsv_sriov *s = &d->sriov;
	if (s->pf && s->vf_index >= 0)
		fprintf(f, "\tSR-IOV: VF %d of PF %s\n", s->vf_index, s->pf);
	else if (s->pf)
		fprintf(f, "\tSR-IOV: a VF of PF %s\n", s->pf);
	if (s->nvfs) {
		fprintf(f, "\tSR-IOV: PF of %u VF%s:", s->nvfs,
			s->nvfs == 1 ? "" : "s");
		for (unsigned i = 0; i < s->nvfs; i++)
			fprintf(f, " %s", s->vfs[i]);
		fputc('\n', f);
	}
}

static void hexdump(FILE *f, const struct lsv_device *d)
{
	for (size_t i = 0; i < d->config_size; i++) {
		if (!(i % 16))
			fprintf(f, "%02zx:", i);
		fprintf(f, " %02x", d->config[i]);
		if (i % 16 == 15 || i + 1 == d->config_size)
			fputc('\n', f);
	}
}

void lsv_print_device(FILE *f, const struct lsv_device *d,
		      const struct lsv_print_opts *o)
{
	lsv_print_summary(f, d);
	if (lsv_has_config(d))
		print_header(f, d);
	else if (d->config_err)
		fprintf(f, "\tConfig space: unreadable (%s)\n",
			strerror(-d->config_err));
	fputs("\tVFIO: flags ", f);
	lsv_flags_print(f, lsv_device_flags, d->info.flags);
	fprintf(f, ", %u region%s, %u IRQ index%s\n", d->info.num_regions,
		d->info.num_regions == 1 ? "" : "s", d->info.num_irqs,
		d->info.num_irqs == 1 ? "" : "es");
	for (unsigned i = 0; i < d->nregions; i++)
		print_region(f, d, i);
	if (d->nregions < d->info.num_regions)
		fprintf(f, "\tNote: only the first %u regions are shown\n",
			d->nregions);
	for (unsigned i = 0; i < d->nirqs; i++)
		print_irq(f, d, i);
	if (d->nirqs < d->info.num_irqs)
		fprintf(f, "\tNote: only the first %u IRQ indexes are shown\n",
			d->nirqs);
	print_bells(f, d);
	print_features(f, d);
	print_sriov(f, d);
	lsv_walk_caps(d, f, NULL, NULL, NULL);
	if (o->hexdump && d->config)
		hexdump(f, d);
}
