/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Standard (first 256 bytes) PCI capabilities, decoded the way
 * `lspci -vv` prints them.  PCI Express is in lsvfio-pcie.c.  Every
 * register is read through cap8/16/32, which stay inside the image.
 */
#include <inttypes.h>
#include <linux/pci.h>
#include <string.h>

#include "lsvfio.h"

/* Positions of fields the uapi header has no shift or mask macro for. */
#define PM_AUX_SHIFT        6
#define PM_DSEL_SHIFT       9
#define PM_DSCALE_SHIFT     13
#define MSI_QMASK_SHIFT     1
#define MSI_QSIZE_SHIFT     4
#define AGP_MAJOR_SHIFT     4
#define AGP_VERSION_MINOR   0x0f
#define AGP_RQ_SHIFT        24
#define SID_CHASSIS_SHIFT   8
#define SATA_REV_MAJOR      0xf0
#define SATA_REV_MINOR      0x0f
#define SATA_REV_MAJOR_SHIFT 4
#define SATA_BAR_OFF_SHIFT  4
#define DBG_BAR_SHIFT       13
#define DBG_OFFSET_MASK     0x1fff
#define EA_BEI_SHIFT        4
#define EA_PP_SHIFT         8
#define EA_SP_SHIFT         16
#define EA_ENTRY_SIZE_DW    1     /* ES counts dwords after the first */
#define PCIX_CMD_READ_SHIFT 2
#define PCIX_CMD_SPLIT_SHIFT 4
#define PCIX_STATUS_BUS_SHIFT 8

const char *lsv_cap_name(unsigned id)
{
	static const char *const names[] = {
		[PCI_CAP_ID_PM] = "Power Management",
		[PCI_CAP_ID_AGP] = "AGP",
		[PCI_CAP_ID_VPD] = "Vital Product Data",
		[PCI_CAP_ID_SLOTID] = "Slot ID",
		[PCI_CAP_ID_MSI] = "MSI",
		[PCI_CAP_ID_CHSWP] = "CompactPCI hot-swap",
		[PCI_CAP_ID_PCIX] = "PCI-X",
		[PCI_CAP_ID_HT] = "HyperTransport",
		[PCI_CAP_ID_VNDR] = "Vendor Specific Information",
		[PCI_CAP_ID_DBG] = "Debug port",
		[PCI_CAP_ID_CCRC] = "CompactPCI central resource control",
		[PCI_CAP_ID_SHPC] = "PCI Hot-plug",
		[PCI_CAP_ID_SSVID] = "Bridge subsystem vendor/device ID",
		[PCI_CAP_ID_AGP3] = "AGP 8x",
		[PCI_CAP_ID_SECDEV] = "Secure device",
		[PCI_CAP_ID_EXP] = "PCI Express",
		[PCI_CAP_ID_MSIX] = "MSI-X",
		[PCI_CAP_ID_SATA] = "SATA HBA",
		[PCI_CAP_ID_AF] = "PCI Advanced Features",
		[PCI_CAP_ID_EA] = "Enhanced Allocation",
		[PCI_CAP_ID_FPB] = "Flattening Portal Bridge",
	};
	return id < LSV_ARRAY_SIZE(names) ? names[id] : NULL;
}

static void dec_pm(struct lsv_cap *c)
{
	static const unsigned aux_ma[] = { 0, 55, 100, 160, 220, 270, 320, 375 };
	static const char *const dstate[] = { "D0", "D1", "D2", "D3hot" };
	uint16_t pmc = cap16(c, PCI_PM_PMC);
	uint16_t csr = cap16(c, PCI_PM_CTRL);
	unsigned aux = aux_ma[(pmc & PCI_PM_CAP_AUX_POWER) >> PM_AUX_SHIFT];

	cap_head(c, "Power Management version %u", pmc & PCI_PM_CAP_VER_MASK);
	cap_line(c, "Flags: PMEClk%c DSI%c D1%c D2%c AuxCurrent=%umA "
		 "PME(D0%c,D1%c,D2%c,D3hot%c,D3cold%c)",
		 pm(pmc & PCI_PM_CAP_PME_CLOCK), pm(pmc & PCI_PM_CAP_DSI),
		 pm(pmc & PCI_PM_CAP_D1), pm(pmc & PCI_PM_CAP_D2), aux,
		 pm(pmc & PCI_PM_CAP_PME_D0), pm(pmc & PCI_PM_CAP_PME_D1),
		 pm(pmc & PCI_PM_CAP_PME_D2), pm(pmc & PCI_PM_CAP_PME_D3hot),
		 pm(pmc & PCI_PM_CAP_PME_D3cold));
	cap_line(c, "Status: %s NoSoftRst%c PME-Enable%c DSel=%u DScale=%u PME%c",
		 dstate[csr & PCI_PM_CTRL_STATE_MASK],
		 pm(csr & PCI_PM_CTRL_NO_SOFT_RESET),
		 pm(csr & PCI_PM_CTRL_PME_ENABLE),
		 (csr & PCI_PM_CTRL_DATA_SEL_MASK) >> PM_DSEL_SHIFT,
		 (csr & PCI_PM_CTRL_DATA_SCALE_MASK) >> PM_DSCALE_SHIFT,
		 pm(csr & PCI_PM_CTRL_PME_STATUS));
	cap_int(c, "pm_version", pmc & PCI_PM_CAP_VER_MASK);
	cap_bool(c, "d1", pmc & PCI_PM_CAP_D1);
	cap_bool(c, "d2", pmc & PCI_PM_CAP_D2);
	cap_int(c, "aux_current_ma", aux);
	cap_int(c, "pme_support", (pmc & PCI_PM_CAP_PME_MASK) >> PCI_PM_CAP_PME_SHIFT);
	cap_str(c, "power_state", dstate[csr & PCI_PM_CTRL_STATE_MASK]);
	cap_bool(c, "no_soft_reset", csr & PCI_PM_CTRL_NO_SOFT_RESET);
	cap_bool(c, "pme_enable", csr & PCI_PM_CTRL_PME_ENABLE);
	cap_bool(c, "pme_status", csr & PCI_PM_CTRL_PME_STATUS);
}

static void dec_agp(struct lsv_cap *c)
{
	uint8_t ver = cap8(c, PCI_AGP_VERSION);
	uint32_t st = cap32(c, PCI_AGP_STATUS);
	uint32_t cmd = cap32(c, PCI_AGP_COMMAND);

	cap_head(c, "%s version %u.%u", c->id == PCI_CAP_ID_AGP3 ? "AGP3" : "AGP",
		 ver >> AGP_MAJOR_SHIFT, ver & AGP_VERSION_MINOR);
	char rate[16] = "";
	static const struct {
		uint32_t bit;
		const char *name;
	} rates[] = { { PCI_AGP_STATUS_RATE1, "x1" }, { PCI_AGP_STATUS_RATE2, "x2" },
		      { PCI_AGP_STATUS_RATE4, "x4" } };
	for (size_t i = 0; i < LSV_ARRAY_SIZE(rates); i++)
		if (st & rates[i].bit)
			snprintf(rate + strlen(rate), sizeof(rate) - strlen(rate),
				 "%s%s", rate[0] ? "," : "", rates[i].name);
	cap_line(c, "Status: RQ=%u SBA%c 64bit%c FW%c Rate=%s",
		 ((st & PCI_AGP_STATUS_RQ_MASK) >> AGP_RQ_SHIFT) + 1,
		 pm(st & PCI_AGP_STATUS_SBA), pm(st & PCI_AGP_STATUS_64BIT),
		 pm(st & PCI_AGP_STATUS_FW), rate);
	cap_line(c, "Command: RQ=%u SBA%c AGP%c 64bit%c FW%c",
		 ((cmd & PCI_AGP_COMMAND_RQ_MASK) >> AGP_RQ_SHIFT) + 1,
		 pm(cmd & PCI_AGP_COMMAND_SBA), pm(cmd & PCI_AGP_COMMAND_AGP),
		 pm(cmd & PCI_AGP_COMMAND_64BIT), pm(cmd & PCI_AGP_COMMAND_FW));
	cap_int(c, "agp_major", ver >> AGP_MAJOR_SHIFT);
	cap_int(c, "agp_minor", ver & AGP_VERSION_MINOR);
	cap_int(c, "status", st);
	cap_int(c, "command", cmd);
}

static void dec_slotid(struct lsv_cap *c)
{
	uint16_t w = cap16(c, PCI_SID_ESR);
	unsigned chassis = w >> SID_CHASSIS_SHIFT;

	cap_head(c, "Slot ID: %u slots, First%c, chassis %02x",
		 w & PCI_SID_ESR_NSLOTS, pm(w & PCI_SID_ESR_FIC), chassis);
	cap_int(c, "slots", w & PCI_SID_ESR_NSLOTS);
	cap_bool(c, "first_in_chassis", w & PCI_SID_ESR_FIC);
	cap_int(c, "chassis", chassis);
}

static void dec_msi(struct lsv_cap *c)
{
	uint16_t fl = cap16(c, PCI_MSI_FLAGS);
	bool is64 = fl & PCI_MSI_FLAGS_64BIT;
	bool maskable = fl & PCI_MSI_FLAGS_MASKBIT;
	unsigned max = 1u << ((fl & PCI_MSI_FLAGS_QMASK) >> MSI_QMASK_SHIFT);
	unsigned cur = 1u << ((fl & PCI_MSI_FLAGS_QSIZE) >> MSI_QSIZE_SHIFT);
	uint64_t addr = cap32(c, PCI_MSI_ADDRESS_LO);
	uint16_t data;

	if (is64) {
		addr |= (uint64_t)cap32(c, PCI_MSI_ADDRESS_HI) << 32;
		data = cap16(c, PCI_MSI_DATA_64);
	} else {
		data = cap16(c, PCI_MSI_DATA_32);
	}
	cap_head(c, "MSI: Enable%c Count=%u/%u Maskable%c 64bit%c",
		 pm(fl & PCI_MSI_FLAGS_ENABLE), cur, max, pm(maskable), pm(is64));
	if (is64)
		cap_line(c, "Address: %016" PRIx64 "  Data: %04x", addr, data);
	else
		cap_line(c, "Address: %08" PRIx64 "  Data: %04x", addr, data);
	cap_bool(c, "enabled", fl & PCI_MSI_FLAGS_ENABLE);
	cap_int(c, "count", max);
	cap_int(c, "count_enabled", cur);
	cap_bool(c, "maskable", maskable);
	cap_bool(c, "64bit", is64);
	cap_int(c, "address", addr);
	cap_int(c, "data", data);
	if (maskable) {
		uint32_t mask = cap32(c, is64 ? PCI_MSI_MASK_64 : PCI_MSI_MASK_32);
		uint32_t pend = cap32(c, is64 ? PCI_MSI_PENDING_64 :
					       PCI_MSI_PENDING_32);
		cap_line(c, "Masking: %08x  Pending: %08x", mask, pend);
		cap_int(c, "mask", mask);
		cap_int(c, "pending", pend);
	}
}

static void dec_chswp(struct lsv_cap *c)
{
	uint8_t csr = cap8(c, PCI_CHSWP_CSR);

	cap_head(c, "CompactPCI hot-swap: DHA%c EIM%c PIE%c LOO%c EXT%c INS%c",
		 pm(csr & PCI_CHSWP_DHA), pm(csr & PCI_CHSWP_EIM),
		 pm(csr & PCI_CHSWP_PIE), pm(csr & PCI_CHSWP_LOO),
		 pm(csr & PCI_CHSWP_EXT), pm(csr & PCI_CHSWP_INS));
	cap_int(c, "csr", csr);
}

static void dec_pcix(struct lsv_cap *c)
{
	static const unsigned split[] = { 1, 2, 3, 4, 8, 12, 16, 32 };
	uint8_t htype = lsv_cfg8(c->dev, PCI_HEADER_TYPE) & PCI_HEADER_TYPE_MASK;

	if (htype == PCI_HEADER_TYPE_BRIDGE) {
		uint16_t sst = cap16(c, PCI_X_BRIDGE_SSTATUS);
		uint32_t st = cap32(c, PCI_X_BRIDGE_STATUS);
		cap_head(c, "PCI-X bridge device");
		cap_line(c, "Secondary Status: 64bit%c 133MHz%c",
			 pm(sst & PCI_X_SSTATUS_64BIT), pm(sst & PCI_X_SSTATUS_133MHZ));
		cap_line(c, "Status: 64bit%c 133MHz%c",
			 pm(st & PCI_X_STATUS_64BIT), pm(st & PCI_X_STATUS_133MHZ));
		cap_bool(c, "bridge", true);
		cap_int(c, "secondary_status", sst);
		cap_int(c, "status", st);
		return;
	}
	uint16_t cmd = cap16(c, PCI_X_CMD);
	uint32_t st = cap32(c, PCI_X_STATUS);
	unsigned rbc = 512u << ((cmd & PCI_X_CMD_MAX_READ) >> PCIX_CMD_READ_SHIFT);
	unsigned ost = split[(cmd & PCI_X_CMD_MAX_SPLIT) >> PCIX_CMD_SPLIT_SHIFT];
	unsigned devfn = st & PCI_X_STATUS_DEVFN;

	cap_head(c, "PCI-X non-bridge device");
	cap_line(c, "Command: DPERE%c ERO%c RBC=%u OST=%u",
		 pm(cmd & PCI_X_CMD_DPERR_E), pm(cmd & PCI_X_CMD_ERO), rbc, ost);
	cap_line(c, "Status: Dev=%02x:%02x.%u 64bit%c 133MHz%c SCD%c USC%c "
		 "266MHz%c 533MHz%c",
		 (st & PCI_X_STATUS_BUS) >> PCIX_STATUS_BUS_SHIFT,
		 PCI_SLOT(devfn), PCI_FUNC(devfn), pm(st & PCI_X_STATUS_64BIT), pm(st & PCI_X_STATUS_133MHZ),
		 pm(st & PCI_X_STATUS_SPL_DISC), pm(st & PCI_X_STATUS_UNX_SPL),
		 pm(st & PCI_X_STATUS_266MHZ), pm(st & PCI_X_STATUS_533MHZ));
	cap_bool(c, "bridge", false);
	cap_int(c, "max_read_byte_count", rbc);
	cap_int(c, "max_split_transactions", ost);
	cap_int(c, "command", cmd);
	cap_int(c, "status", st);
}

static const char *ht_type_name(uint8_t t)
{
	switch (t & HT_3BIT_CAP_MASK) {
	case HT_CAPTYPE_SLAVE: return "Slave or Primary Interface";
	case HT_CAPTYPE_HOST: return "Host or Secondary Interface";
	}
	switch (t & HT_5BIT_CAP_MASK) {
	case HT_CAPTYPE_IRQ: return "Interrupt Discovery and Configuration";
	case HT_CAPTYPE_REMAPPING_40: return "Address Remapping";
	case HT_CAPTYPE_UNITID_CLUMP: return "UnitID Clumping";
	case HT_CAPTYPE_EXTCONF: return "Extended Configuration Space Access";
	case HT_CAPTYPE_MSI_MAPPING: return "MSI Mapping";
	case HT_CAPTYPE_DIRECT_ROUTE: return "DirectRoute";
	case HT_CAPTYPE_VCSET: return "VCSet";
	case HT_CAPTYPE_ERROR_RETRY: return "Retry Mode";
	case HT_CAPTYPE_GEN3: return "Gen3";
	case HT_CAPTYPE_PM: return "Function-Level Extension";
	}
	return NULL;
}

static void dec_ht(struct lsv_cap *c)
{
	/* The type is the high byte of the 16-bit command register at +2. */
	uint8_t t = cap8(c, PCI_CAP_FLAGS + 1);
	const char *name = ht_type_name(t);

	if (name)
		cap_head(c, "HyperTransport: %s", name);
	else
		cap_head(c, "HyperTransport: #%02x", t);
	if ((t & HT_5BIT_CAP_MASK) == HT_CAPTYPE_MSI_MAPPING) {
		uint8_t fl = cap8(c, HT_MSI_FLAGS);
		cap_line(c, "Enable%c Fixed%c", pm(fl & HT_MSI_FLAGS_ENABLE),
			 pm(fl & HT_MSI_FLAGS_FIXED));
		cap_bool(c, "enabled", fl & HT_MSI_FLAGS_ENABLE);
		cap_bool(c, "fixed", fl & HT_MSI_FLAGS_FIXED);
	}
	cap_int(c, "ht_type", t);
	cap_str(c, "ht_type_name", name);
}

static void dec_vndr(struct lsv_cap *c)
{
	/* The byte after the next pointer is the capability's length. */
	uint8_t len = cap8(c, PCI_CAP_FLAGS);

	cap_head(c, "Vendor Specific Information: Len=%02x", len);
	cap_int(c, "length", len);
}

static void dec_dbg(struct lsv_cap *c)
{
	uint16_t w = cap16(c, PCI_CAP_FLAGS);

	cap_head(c, "Debug port: BAR=%u offset=%04x", w >> DBG_BAR_SHIFT,
		 w & DBG_OFFSET_MASK);
	cap_int(c, "bar", w >> DBG_BAR_SHIFT);
	cap_int(c, "bar_offset", w & DBG_OFFSET_MASK);
}

static void dec_ssvid(struct lsv_cap *c)
{
	uint16_t v = cap16(c, PCI_SSVID_VENDOR_ID);
	uint16_t d = cap16(c, PCI_SSVID_DEVICE_ID);
	const char *vn = lsv_vendor_name(v);

	cap_head(c, "Subsystem: %s%sDevice [%04x:%04x]", vn ? vn : "",
		 vn ? " " : "", v, d);
	cap_int(c, "subsystem_vendor_id", v);
	cap_int(c, "subsystem_id", d);
}

static void dec_msix(struct lsv_cap *c)
{
	uint16_t fl = cap16(c, PCI_MSIX_FLAGS);
	uint32_t table = cap32(c, PCI_MSIX_TABLE);
	uint32_t pba = cap32(c, PCI_MSIX_PBA);
	unsigned n = (fl & PCI_MSIX_FLAGS_QSIZE) + 1;

	cap_head(c, "MSI-X: Enable%c Count=%u Masked%c",
		 pm(fl & PCI_MSIX_FLAGS_ENABLE), n, pm(fl & PCI_MSIX_FLAGS_MASKALL));
	cap_line(c, "Vector table: BAR=%u offset=%08x", table & PCI_MSIX_TABLE_BIR,
		 table & PCI_MSIX_TABLE_OFFSET);
	cap_line(c, "PBA: BAR=%u offset=%08x", pba & PCI_MSIX_PBA_BIR,
		 pba & PCI_MSIX_PBA_OFFSET);
	cap_bool(c, "enabled", fl & PCI_MSIX_FLAGS_ENABLE);
	cap_bool(c, "masked", fl & PCI_MSIX_FLAGS_MASKALL);
	cap_int(c, "table_size", n);
	cap_int(c, "table_bir", table & PCI_MSIX_TABLE_BIR);
	cap_int(c, "table_offset", table & PCI_MSIX_TABLE_OFFSET);
	cap_int(c, "pba_bir", pba & PCI_MSIX_PBA_BIR);
	cap_int(c, "pba_offset", pba & PCI_MSIX_PBA_OFFSET);
}

static void dec_sata(struct lsv_cap *c)
{
	uint8_t rev = cap8(c, PCI_CAP_FLAGS);
	uint32_t regs = cap32(c, PCI_SATA_REGS);
	unsigned major = (rev & SATA_REV_MAJOR) >> SATA_REV_MAJOR_SHIFT;
	unsigned minor = rev & SATA_REV_MINOR;
	unsigned loc = regs & PCI_SATA_REGS_MASK;

	if (loc == PCI_SATA_REGS_INLINE)
		cap_head(c, "SATA HBA v%u.%u InCfgSpace", major, minor);
	else
		cap_head(c, "SATA HBA v%u.%u BAR%u Offset=%08x", major, minor,
			 loc, (regs >> SATA_BAR_OFF_SHIFT) * 4);
	cap_int(c, "sata_major", major);
	cap_int(c, "sata_minor", minor);
	cap_bool(c, "inline", loc == PCI_SATA_REGS_INLINE);
	if (loc != PCI_SATA_REGS_INLINE) {
		cap_int(c, "bar", loc);
		cap_int(c, "bar_offset", (uint64_t)(regs >> SATA_BAR_OFF_SHIFT) * 4);
	}
}

static void dec_af(struct lsv_cap *c)
{
	uint8_t cap = cap8(c, PCI_AF_CAP);
	uint8_t ctrl = cap8(c, PCI_AF_CTRL);
	uint8_t st = cap8(c, PCI_AF_STATUS);

	cap_head(c, "PCI Advanced Features");
	cap_line(c, "AFCap: TP%c FLR%c", pm(cap & PCI_AF_CAP_TP),
		 pm(cap & PCI_AF_CAP_FLR));
	cap_line(c, "AFCtrl: FLR%c", pm(ctrl & PCI_AF_CTRL_FLR));
	cap_line(c, "AFStatus: TP%c", pm(st & PCI_AF_STATUS_TP));
	cap_int(c, "length", cap8(c, PCI_AF_LENGTH));
	cap_bool(c, "tp", cap & PCI_AF_CAP_TP);
	cap_bool(c, "flr", cap & PCI_AF_CAP_FLR);
	cap_bool(c, "tp_pending", st & PCI_AF_STATUS_TP);
}

static const char *ea_prop_name(unsigned p)
{
	switch (p) {
	case PCI_EA_P_MEM: return "memory, non-prefetchable";
	case PCI_EA_P_MEM_PREFETCH: return "memory, prefetchable";
	case PCI_EA_P_IO: return "I/O";
	case PCI_EA_P_VF_MEM_PREFETCH: return "VF memory, prefetchable";
	case PCI_EA_P_VF_MEM: return "VF memory, non-prefetchable";
	case PCI_EA_P_BRIDGE_MEM: return "bridge memory, non-prefetchable";
	case PCI_EA_P_BRIDGE_MEM_PREFETCH: return "bridge memory, prefetchable";
	case PCI_EA_P_BRIDGE_IO: return "bridge I/O";
	case PCI_EA_P_MEM_RESERVED: return "memory, reserved";
	case PCI_EA_P_IO_RESERVED: return "I/O, reserved";
	case PCI_EA_P_UNAVAILABLE: return "unavailable";
	default: return "reserved";
	}
}

/* One EA entry at @off; returns its size in bytes. */
static unsigned ea_entry(struct lsv_cap *c, unsigned i, unsigned off,
			 json_object *list)
{
	uint32_t e = cap32(c, off);
	unsigned size = ((e & PCI_EA_ES) + EA_ENTRY_SIZE_DW) * 4;
	unsigned bei = (e & PCI_EA_BEI) >> EA_BEI_SHIFT;
	unsigned pp = (e & PCI_EA_PP) >> EA_PP_SHIFT;
	unsigned sp = (e & PCI_EA_SP) >> EA_SP_SHIFT;
	uint32_t base_lo = size > 4 ? cap32(c, off + PCI_EA_BASE) : 0;
	uint32_t max_lo = size > 8 ? cap32(c, off + PCI_EA_MAX_OFFSET) : 0;
	unsigned next = off + PCI_EA_MAX_OFFSET + 4;
	uint64_t base = base_lo & PCI_EA_FIELD_MASK;
	uint64_t max = (max_lo & PCI_EA_FIELD_MASK) | ~PCI_EA_FIELD_MASK;

	/* The upper halves follow when the IS_64 bits say so. */
	if ((base_lo & PCI_EA_IS_64) && next + 4 <= off + size) {
		base |= (uint64_t)cap32(c, next) << 32;
		next += 4;
	}
	if ((max_lo & PCI_EA_IS_64) && next + 4 <= off + size)
		max |= (uint64_t)cap32(c, next) << 32;
	cap_line(c, "Entry %u: Enable%c Writable%c EntrySize=%u", i,
		 pm(e & PCI_EA_ENABLE), pm(e & PCI_EA_WRITABLE), e & PCI_EA_ES);
	cap_line(c, "\tBAR Equivalent Indicator: %u, PrimaryProperties: %s, "
		 "SecondaryProperties: %s", bei, ea_prop_name(pp), ea_prop_name(sp));
	cap_line(c, "\tBase: %" PRIx64 ", MaxOffset: %" PRIx64, base, max);
	if (list) {
		json_object *j = json_object_new_object();
		json_object_object_add(j, "enabled",
				       json_object_new_boolean(e & PCI_EA_ENABLE));
		json_object_object_add(j, "writable",
				       json_object_new_boolean(e & PCI_EA_WRITABLE));
		json_object_object_add(j, "bei", json_object_new_int((int)bei));
		json_object_object_add(j, "primary_properties",
				       json_object_new_int((int)pp));
		json_object_object_add(j, "secondary_properties",
				       json_object_new_int((int)sp));
		json_object_object_add(j, "base", json_object_new_uint64(base));
		json_object_object_add(j, "max_offset", json_object_new_uint64(max));
		json_object_array_add(list, j);
	}
	return size;
}

static void dec_ea(struct lsv_cap *c)
{
	unsigned n = cap8(c, PCI_EA_NUM_ENT) & PCI_EA_NUM_ENT_MASK;
	uint8_t htype = lsv_cfg8(c->dev, PCI_HEADER_TYPE) & PCI_HEADER_TYPE_MASK;
	unsigned off = htype == PCI_HEADER_TYPE_BRIDGE ? PCI_EA_FIRST_ENT_BRIDGE :
		       PCI_EA_FIRST_ENT;
	json_object *list = c->json ? json_object_new_array() : NULL;

	cap_head(c, "Enhanced Allocation (EA): NumEntries=%u", n);
	if (htype == PCI_HEADER_TYPE_BRIDGE) {
		uint32_t b = cap32(c, PCI_EA_FIRST_ENT);
		cap_line(c, "FixedSecondaryBusNumber=%u FixedSubordinateBusNumber=%u",
			 b & PCI_EA_SEC_BUS_MASK,
			 (b & PCI_EA_SUB_BUS_MASK) >> PCI_EA_SUB_BUS_SHIFT);
	}
	cap_int(c, "num_entries", n);
	/* Entries stop at the end of standard config space whatever n says. */
	for (unsigned i = 0; i < n && c->pos + off + 4 <= PCI_CFG_SPACE_SIZE &&
			     !c->truncated; i++)
		off += ea_entry(c, i, off, list);
	if (list)
		cap_add(c, "entries", list);
}

void lsv_decode_cap(struct lsv_cap *c)
{
	const char *name = lsv_cap_name(c->id);

	switch (c->id) {
	case PCI_CAP_ID_PM: dec_pm(c); break;
	case PCI_CAP_ID_AGP:
	case PCI_CAP_ID_AGP3: dec_agp(c); break;
	case PCI_CAP_ID_SLOTID: dec_slotid(c); break;
	case PCI_CAP_ID_MSI: dec_msi(c); break;
	case PCI_CAP_ID_CHSWP: dec_chswp(c); break;
	case PCI_CAP_ID_PCIX: dec_pcix(c); break;
	case PCI_CAP_ID_HT: dec_ht(c); break;
	case PCI_CAP_ID_VNDR: dec_vndr(c); break;
	case PCI_CAP_ID_DBG: dec_dbg(c); break;
	case PCI_CAP_ID_SSVID: dec_ssvid(c); break;
	case PCI_CAP_ID_EXP: lsv_decode_pcie(c); break;
	case PCI_CAP_ID_MSIX: dec_msix(c); break;
	case PCI_CAP_ID_SATA: dec_sata(c); break;
	case PCI_CAP_ID_AF: dec_af(c); break;
	case PCI_CAP_ID_EA: dec_ea(c); break;
	case PCI_CAP_ID_VPD: lsv_decode_vpd(c); break;
	default:
		if (name)
			cap_head(c, "%s", name);
		else
			cap_head(c, "Unknown capability (ID 0x%02x)", c->id);
		break;
	}
}
