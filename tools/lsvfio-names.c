/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Names: a small built-in table of vendors and PCI classes (the common
 * ones, spelled as pci.ids spells them; lsvfio does not read pci.ids),
 * VFIO flag names, region names and sizes.
 */
#include <inttypes.h>
#include <string.h>

#include "lsvfio.h"

const char *lsv_vendor_name(uint16_t vendor)
{
	/*
	 * 1234 is deliberately absent: QEMU's edu and bochs-display squat
	 * on it, and it is no more QEMU's than anyone else's.
	 */
	static const struct {
		uint16_t id;
		const char *name;
	} vendors[] = {
		{ 0x1002, "Advanced Micro Devices, Inc. [AMD/ATI]" },
		{ 0x1022, "Advanced Micro Devices, Inc. [AMD]" },
		{ 0x10de, "NVIDIA Corporation" },
		{ 0x144d, "Samsung Electronics Co Ltd" },
		{ 0x15b3, "Mellanox Technologies" },
		{ 0x1af4, "Red Hat, Inc." },
		{ 0x1b36, "Red Hat, Inc." },
		{ 0x8086, "Intel Corporation" },
	};
	for (size_t i = 0; i < LSV_ARRAY_SIZE(vendors); i++)
		if (vendors[i].id == vendor)
			return vendors[i].name;
	return NULL;
}

struct class_name {
	uint16_t code;                 /* base class << 8 | subclass */
	const char *name;
};

/* Base classes: subclass 0xff here stands for "the base class itself". */
#define BASE(b, n) { (uint16_t)((b) << 8 | 0xff), n }
#define SUB(b, s, n) { (uint16_t)((b) << 8 | (s)), n }

static const struct class_name classes[] = {
	BASE(0x00, "Unclassified device"),
	SUB(0x00, 0x00, "Non-VGA unclassified device"),
	SUB(0x00, 0x01, "VGA compatible unclassified device"),
	BASE(0x01, "Mass storage controller"),
	SUB(0x01, 0x00, "SCSI storage controller"),
	SUB(0x01, 0x01, "IDE interface"),
	SUB(0x01, 0x02, "Floppy disk controller"),
	SUB(0x01, 0x04, "RAID bus controller"),
	SUB(0x01, 0x05, "ATA controller"),
	SUB(0x01, 0x06, "SATA controller"),
	SUB(0x01, 0x07, "Serial Attached SCSI controller"),
	SUB(0x01, 0x08, "Non-Volatile memory controller"),
	SUB(0x01, 0x09, "Universal Flash Storage controller"),
	BASE(0x02, "Network controller"),
	SUB(0x02, 0x00, "Ethernet controller"),
	SUB(0x02, 0x01, "Token ring network controller"),
	SUB(0x02, 0x02, "FDDI network controller"),
	SUB(0x02, 0x03, "ATM network controller"),
	SUB(0x02, 0x04, "ISDN controller"),
	SUB(0x02, 0x07, "Infiniband controller"),
	SUB(0x02, 0x08, "Fabric controller"),
	BASE(0x03, "Display controller"),
	SUB(0x03, 0x00, "VGA compatible controller"),
	SUB(0x03, 0x01, "XGA compatible controller"),
	SUB(0x03, 0x02, "3D controller"),
	BASE(0x04, "Multimedia controller"),
	SUB(0x04, 0x00, "Multimedia video controller"),
	SUB(0x04, 0x01, "Multimedia audio controller"),
	SUB(0x04, 0x02, "Computer telephony device"),
	SUB(0x04, 0x03, "Audio device"),
	BASE(0x05, "Memory controller"),
	SUB(0x05, 0x00, "RAM memory"),
	SUB(0x05, 0x01, "FLASH memory"),
	SUB(0x05, 0x02, "CXL"),
	BASE(0x06, "Bridge"),
	SUB(0x06, 0x00, "Host bridge"),
	SUB(0x06, 0x01, "ISA bridge"),
	SUB(0x06, 0x02, "EISA bridge"),
	SUB(0x06, 0x04, "PCI bridge"),
	SUB(0x06, 0x05, "PCMCIA bridge"),
	SUB(0x06, 0x07, "CardBus bridge"),
	SUB(0x06, 0x09, "Semi-transparent PCI-to-PCI bridge"),
	BASE(0x07, "Communication controller"),
	SUB(0x07, 0x00, "Serial controller"),
	SUB(0x07, 0x01, "Parallel controller"),
	SUB(0x07, 0x03, "Modem"),
	BASE(0x08, "Generic system peripheral"),
	SUB(0x08, 0x00, "PIC"),
	SUB(0x08, 0x01, "DMA controller"),
	SUB(0x08, 0x02, "Timer"),
	SUB(0x08, 0x03, "RTC"),
	SUB(0x08, 0x04, "PCI Hot-plug controller"),
	SUB(0x08, 0x05, "SD Host controller"),
	SUB(0x08, 0x06, "IOMMU"),
	SUB(0x08, 0x80, "System peripheral"),
	BASE(0x09, "Input device controller"),
	BASE(0x0a, "Docking station"),
	BASE(0x0b, "Processor"),
	BASE(0x0c, "Serial bus controller"),
	SUB(0x0c, 0x00, "FireWire (IEEE 1394)"),
	SUB(0x0c, 0x03, "USB controller"),
	SUB(0x0c, 0x04, "Fibre Channel"),
	SUB(0x0c, 0x05, "SMBus"),
	SUB(0x0c, 0x06, "InfiniBand"),
	BASE(0x0d, "Wireless controller"),
	BASE(0x0e, "Intelligent controller"),
	BASE(0x0f, "Satellite communications controller"),
	BASE(0x10, "Encryption controller"),
	BASE(0x11, "Signal processing controller"),
	BASE(0x12, "Processing accelerators"),
	BASE(0x13, "Non-Essential Instrumentation"),
	BASE(0x40, "Coprocessor"),
	BASE(0xff, "Unassigned class"),
};

const char *lsv_class_name(uint32_t class_code)
{
	uint16_t cls = (uint16_t)LSV_CLASS_DEVICE(class_code);
	uint16_t base = (uint16_t)(cls | 0xff);
	const char *fallback = NULL;

	/* A subclass pci.ids knows wins; else the base class, as lspci does. */
	for (size_t i = 0; i < LSV_ARRAY_SIZE(classes); i++) {
		if (classes[i].code == cls && (cls & 0xff) != 0xff)
			return classes[i].name;
		if (classes[i].code == base)
			fallback = classes[i].name;
	}
	return fallback;
}

const char *lsv_progif_name(uint32_t class_code)
{
	static const struct {
		uint32_t code;
		const char *name;
	} progifs[] = {
		{ 0x010601, "AHCI 1.0" },
		{ 0x010802, "NVM Express" },
		{ 0x0c0300, "UHCI" },
		{ 0x0c0310, "OHCI" },
		{ 0x0c0320, "EHCI" },
		{ 0x0c0330, "XHCI" },
		{ 0x030000, "VGA controller" },
	};
	for (size_t i = 0; i < LSV_ARRAY_SIZE(progifs); i++)
		if (progifs[i].code == class_code)
			return progifs[i].name;
	return NULL;
}

const char *lsv_region_type_name(uint32_t type, uint32_t subtype)
{
	if (type & LSV_REGION_TYPE_PCI_VENDOR) {
		uint32_t vendor = type & VFIO_REGION_TYPE_PCI_VENDOR_MASK;
		if (vendor == 0x8086) {
			switch (subtype) {
			case VFIO_REGION_SUBTYPE_INTEL_IGD_OPREGION:
				return "Intel IGD OpRegion";
			case VFIO_REGION_SUBTYPE_INTEL_IGD_HOST_CFG:
				return "Intel IGD host bridge config";
			case VFIO_REGION_SUBTYPE_INTEL_IGD_LPC_CFG:
				return "Intel IGD LPC bridge config";
			}
		}
		if (vendor == 0x10de &&
		    subtype == VFIO_REGION_SUBTYPE_NVIDIA_NVLINK2_RAM)
			return "NVIDIA NVLink2 RAM";
		if (vendor == 0x1014 &&
		    subtype == VFIO_REGION_SUBTYPE_IBM_NVLINK2_ATSD)
			return "IBM NVLink2 ATSD";
		return "PCI vendor specific";
	}
	switch (type) {
	case VFIO_REGION_TYPE_GFX:
		return subtype == VFIO_REGION_SUBTYPE_GFX_EDID ? "graphics EDID" :
		       "graphics";
	case VFIO_REGION_TYPE_CCW:
		return "CCW";
	case VFIO_REGION_TYPE_MIGRATION_DEPRECATED:
		return "migration (deprecated)";
	default:
		return NULL;
	}
}

const char *lsv_region_name(unsigned index, bool pci, char *buf, size_t len)
{
	const char *n = pci ? uvfio_region_name(index) : NULL;
	if (n)
		snprintf(buf, len, "%s", n);
	else
		snprintf(buf, len, "dev-%u", index);
	return buf;
}

const char *lsv_irq_name(unsigned index, bool pci, char *buf, size_t len)
{
	const char *n = pci ? uvfio_irq_name(index) : "?";
	/* The library names an index it does not know "?". */
	if (strcmp(n, "?"))
		snprintf(buf, len, "%s", n);
	else
		snprintf(buf, len, "irq-%u", index);
	return buf;
}

const char *lsv_size_str(uint64_t size, char *buf, size_t len)
{
	static const char units[] = "KMGTPE";
	unsigned u = 0;
	/* The largest unit that divides the size, as lspci does. */
	while (size && !(size & 1023) && u < sizeof(units) - 1) {
		size >>= 10;
		u++;
	}
	if (u)
		snprintf(buf, len, "%" PRIu64 "%c", size, units[u - 1]);
	else
		snprintf(buf, len, "%" PRIu64, size);
	return buf;
}

const struct lsv_flag_name lsv_device_flags[] = {
	{ VFIO_DEVICE_FLAGS_PCI, "PCI" },
	{ VFIO_DEVICE_FLAGS_RESET, "RESET" },
	{ VFIO_DEVICE_FLAGS_PLATFORM, "PLATFORM" },
	{ VFIO_DEVICE_FLAGS_AMBA, "AMBA" },
	{ VFIO_DEVICE_FLAGS_CCW, "CCW" },
	{ VFIO_DEVICE_FLAGS_AP, "AP" },
	{ VFIO_DEVICE_FLAGS_FSL_MC, "FSL_MC" },
	{ VFIO_DEVICE_FLAGS_CAPS, "CAPS" },
	{ VFIO_DEVICE_FLAGS_CDX, "CDX" },
	{ 0, NULL },
};

const struct lsv_flag_name lsv_region_flags[] = {
	{ VFIO_REGION_INFO_FLAG_READ, "read" },
	{ VFIO_REGION_INFO_FLAG_WRITE, "write" },
	{ VFIO_REGION_INFO_FLAG_MMAP, "mmap" },
	{ VFIO_REGION_INFO_FLAG_CAPS, "caps" },
	{ 0, NULL },
};

const struct lsv_flag_name lsv_irq_flags[] = {
	{ VFIO_IRQ_INFO_EVENTFD, "EVENTFD" },
	{ VFIO_IRQ_INFO_MASKABLE, "MASKABLE" },
	{ VFIO_IRQ_INFO_AUTOMASKED, "AUTOMASKED" },
	{ VFIO_IRQ_INFO_NORESIZE, "NORESIZE" },
	{ 0, NULL },
};

static uint32_t unknown_bits(const struct lsv_flag_name *names, uint32_t v)
{
	for (size_t i = 0; names[i].name; i++)
		v &= ~names[i].bit;
	return v;
}

void lsv_flags_print(FILE *f, const struct lsv_flag_name *names, uint32_t v)
{
	const char *sep = "";
	for (size_t i = 0; names[i].name; i++) {
		if (v & names[i].bit) {
			fprintf(f, "%s%s", sep, names[i].name);
			sep = " ";
		}
	}
	uint32_t rest = unknown_bits(names, v);
	if (rest)
		fprintf(f, "%s0x%x", sep, rest);
	else if (!*sep)
		fputs("none", f);
}

json_object *lsv_flags_json(const struct lsv_flag_name *names, uint32_t v)
{
	json_object *a = json_object_new_array();
	char buf[16];
	for (size_t i = 0; names[i].name; i++)
		if (v & names[i].bit)
			json_object_array_add(a, json_object_new_string(names[i].name));
	uint32_t rest = unknown_bits(names, v);
	if (rest) {
		snprintf(buf, sizeof(buf), "0x%x", rest);
		json_object_array_add(a, json_object_new_string(buf));
	}
	return a;
}

const char *lsv_feature_name(unsigned i)
{
	static const char *const names[LSV_NFEATURES] = {
		"PCI_VF_TOKEN", "MIGRATION", "MIG_DEVICE_STATE",
		"LOW_POWER_ENTRY", "LOW_POWER_ENTRY_WITH_WAKEUP",
		"LOW_POWER_EXIT", "DMA_LOGGING_START", "DMA_LOGGING_STOP",
		"DMA_LOGGING_REPORT", "MIG_DATA_SIZE", "BUS_MASTER",
	};
	return i < LSV_NFEATURES ? names[i] : NULL;
}
