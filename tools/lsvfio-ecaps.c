/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Extended (PCIe, from 0x100) capabilities, decoded the way `lspci -vv`
 * prints them: the name and version of every one, details of the ones a
 * VFIO user meets most.
 */
#include <inttypes.h>

#include "lsvfio.h"

/* IDs newer than the uapi header this builds with. */
#define ECAP_ID_NULL        0x00
#define ECAP_ID_LNR         0x1C
#define ECAP_ID_MPHY        0x20
#define ECAP_ID_FRS         0x21
#define ECAP_ID_RTR         0x22
#define ECAP_ID_VF_REBAR    0x24
#define ECAP_ID_LMR         0x27
#define ECAP_ID_HIER_ID     0x28
#define ECAP_ID_NPEM        0x29
#define ECAP_ID_ALT_PROTO   0x2B
#define ECAP_ID_SFI         0x2C
#define ECAP_ID_SHADOW      0x2D
#define ECAP_ID_DEV3        0x2F
#define ECAP_ID_IDE         0x30
#define ECAP_ID_FLIT_LOG    0x32
#define ECAP_ID_FLIT_PERF   0x33
#define ECAP_ID_FLIT_ERR    0x34

/* Fields the uapi header has no macro for. */
#define VC_CAP1_LPEVCC_SHIFT   4
#define DSN_LOW                4
#define DSN_HIGH               8
#define SRIOV_CAP_INTR_MASK    0x7ff
#define PTM_CAP_RES            0x00000002   /* Responder capable */
#define PTM_GRANULARITY_SHIFT  8
#define PTM_GRANULARITY_NONE   0
#define PTM_GRANULARITY_BIG    255
#define PASID_CAP_WIDTH        0x1f00
#define PASID_CAP_WIDTH_SHIFT  8
#define REBAR_ENTRY_SIZE       8
#define REBAR_SIZE_SHIFT       4           /* CAP bit 4 is 1 MB */
#define REBAR_MAX_BARS         6
#define LTR_SCALE_BITS         5           /* each scale step is 2^5 */
#define LTR_SCALE_MAX          5
#define DPC_RP_PIO_LOG_SHIFT   8
#define DPC_TRIGGER_RSN_SHIFT  1
#define DLF_STATUS             0x08
#define DLF_FEATURES           0x007fffff
#define DLF_STATUS_VALID       0x80000000
#define PL16_CAP               0x04
#define PL16_CTL               0x08
#define PL16_STA               0x0c
#define PL16_STA_EQU_COMPLETE  0x01
#define PL16_STA_EQU_PHASE1    0x02
#define PL16_STA_EQU_PHASE2    0x04
#define PL16_STA_EQU_PHASE3    0x08
#define PL16_STA_LINK_EQU_REQ  0x10
#define PRI_MAX_REQ_OFF        PCI_PRI_MAX_REQ
#define MB                     (1ull << 20)

const char *lsv_ecap_name(unsigned id)
{
	static const char *const names[] = {
		[ECAP_ID_NULL] = "Null",
		[PCI_EXT_CAP_ID_ERR] = "Advanced Error Reporting",
		[PCI_EXT_CAP_ID_VC] = "Virtual Channel",
		[PCI_EXT_CAP_ID_DSN] = "Device Serial Number",
		[PCI_EXT_CAP_ID_PWR] = "Power Budgeting",
		[PCI_EXT_CAP_ID_RCLD] = "Root Complex Link",
		[PCI_EXT_CAP_ID_RCILC] = "Root Complex Internal Link Control",
		[PCI_EXT_CAP_ID_RCEC] = "Root Complex Event Collector Endpoint Association",
		[PCI_EXT_CAP_ID_MFVC] = "Multi-Function Virtual Channel",
		[PCI_EXT_CAP_ID_VC9] = "Virtual Channel",
		[PCI_EXT_CAP_ID_RCRB] = "Root Complex Register Block",
		[PCI_EXT_CAP_ID_VNDR] = "Vendor Specific Information",
		[PCI_EXT_CAP_ID_CAC] = "Configuration Access Correlation",
		[PCI_EXT_CAP_ID_ACS] = "Access Control Services",
		[PCI_EXT_CAP_ID_ARI] = "Alternative Routing-ID Interpretation (ARI)",
		[PCI_EXT_CAP_ID_ATS] = "Address Translation Service (ATS)",
		[PCI_EXT_CAP_ID_SRIOV] = "Single Root I/O Virtualization (SR-IOV)",
		[PCI_EXT_CAP_ID_MRIOV] = "Multi-Root I/O Virtualization (MR-IOV)",
		[PCI_EXT_CAP_ID_MCAST] = "Multicast",
		[PCI_EXT_CAP_ID_PRI] = "Page Request Interface (PRI)",
		[PCI_EXT_CAP_ID_AMD_XXX] = "Reserved for AMD",
		[PCI_EXT_CAP_ID_REBAR] = "Physical Resizable BAR",
		[PCI_EXT_CAP_ID_DPA] = "Dynamic Power Allocation",
		[PCI_EXT_CAP_ID_TPH] = "Transaction Processing Hints",
		[PCI_EXT_CAP_ID_LTR] = "Latency Tolerance Reporting",
		[PCI_EXT_CAP_ID_SECPCI] = "Secondary PCI Express",
		[PCI_EXT_CAP_ID_PMUX] = "Protocol Multiplexing",
		[PCI_EXT_CAP_ID_PASID] = "Process Address Space ID (PASID)",
		[ECAP_ID_LNR] = "LN Requester",
		[PCI_EXT_CAP_ID_DPC] = "Downstream Port Containment",
		[PCI_EXT_CAP_ID_L1SS] = "L1 PM Substates",
		[PCI_EXT_CAP_ID_PTM] = "Precision Time Measurement",
		[ECAP_ID_MPHY] = "PCI Express over M-PHY",
		[ECAP_ID_FRS] = "FRS Queueing",
		[ECAP_ID_RTR] = "Readiness Time Reporting",
		[PCI_EXT_CAP_ID_DVSEC] = "Designated Vendor-Specific",
		[ECAP_ID_VF_REBAR] = "VF Resizable BAR",
		[PCI_EXT_CAP_ID_DLF] = "Data Link Feature",
		[PCI_EXT_CAP_ID_PL_16GT] = "Physical Layer 16.0 GT/s",
		[ECAP_ID_LMR] = "Lane Margining at the Receiver",
		[ECAP_ID_HIER_ID] = "Hierarchy ID",
		[ECAP_ID_NPEM] = "Native PCIe Enclosure Management",
		[PCI_EXT_CAP_ID_PL_32GT] = "Physical Layer 32.0 GT/s",
		[ECAP_ID_ALT_PROTO] = "Alternate Protocol",
		[ECAP_ID_SFI] = "System Firmware Intermediary",
		[ECAP_ID_SHADOW] = "Shadow Functions",
		[PCI_EXT_CAP_ID_DOE] = "Data Object Exchange",
		[ECAP_ID_DEV3] = "Device 3",
		[ECAP_ID_IDE] = "Integrity and Data Encryption",
		[PCI_EXT_CAP_ID_PL_64GT] = "Physical Layer 64.0 GT/s",
		[ECAP_ID_FLIT_LOG] = "Flit Logging",
		[ECAP_ID_FLIT_PERF] = "Flit Performance Measurement",
		[ECAP_ID_FLIT_ERR] = "Flit Error Injection",
	};
	return id < LSV_ARRAY_SIZE(names) ? names[id] : NULL;
}

static void aer_unc(struct lsv_cap *c, const char *label, uint32_t v)
{
	cap_line(c, "%s\tDLP%c SDES%c TLP%c FCP%c CmpltTO%c CmpltAbrt%c "
		 "UnxCmplt%c RxOF%c MalfTLP%c", label,
		 pm(v & PCI_ERR_UNC_DLP), pm(v & PCI_ERR_UNC_SURPDN),
		 pm(v & PCI_ERR_UNC_POISON_TLP), pm(v & PCI_ERR_UNC_FCP),
		 pm(v & PCI_ERR_UNC_COMP_TIME), pm(v & PCI_ERR_UNC_COMP_ABORT),
		 pm(v & PCI_ERR_UNC_UNX_COMP), pm(v & PCI_ERR_UNC_RX_OVER),
		 pm(v & PCI_ERR_UNC_MALF_TLP));
	cap_line(c, "\tECRC%c UnsupReq%c ACSViol%c UncorrIntErr%c BlockedTLP%c "
		 "AtomicOpBlocked%c TLPBlockedErr%c",
		 pm(v & PCI_ERR_UNC_ECRC), pm(v & PCI_ERR_UNC_UNSUP),
		 pm(v & PCI_ERR_UNC_ACSV), pm(v & PCI_ERR_UNC_INTN),
		 pm(v & PCI_ERR_UNC_MCBTLP), pm(v & PCI_ERR_UNC_ATOMEG),
		 pm(v & PCI_ERR_UNC_TLPPRE));
}

static void aer_cor(struct lsv_cap *c, const char *label, uint32_t v)
{
	cap_line(c, "%s\tRxErr%c BadTLP%c BadDLLP%c Rollover%c Timeout%c "
		 "AdvNonFatalErr%c CorrIntErr%c HeaderOF%c", label,
		 pm(v & PCI_ERR_COR_RCVR), pm(v & PCI_ERR_COR_BAD_TLP),
		 pm(v & PCI_ERR_COR_BAD_DLLP), pm(v & PCI_ERR_COR_REP_ROLL),
		 pm(v & PCI_ERR_COR_REP_TIMER), pm(v & PCI_ERR_COR_ADV_NFAT),
		 pm(v & PCI_ERR_COR_INTERNAL), pm(v & PCI_ERR_COR_LOG_OVER));
}

static void dec_aer(struct lsv_cap *c)
{
	uint32_t ust = cap32(c, PCI_ERR_UNCOR_STATUS);
	uint32_t umsk = cap32(c, PCI_ERR_UNCOR_MASK);
	uint32_t usev = cap32(c, PCI_ERR_UNCOR_SEVER);
	uint32_t cst = cap32(c, PCI_ERR_COR_STATUS);
	uint32_t cmsk = cap32(c, PCI_ERR_COR_MASK);
	uint32_t acap = cap32(c, PCI_ERR_CAP);

	cap_head(c, "Advanced Error Reporting");
	aer_unc(c, "UESta:", ust);
	aer_unc(c, "UEMsk:", umsk);
	aer_unc(c, "UESvrt:", usev);
	aer_cor(c, "CESta:", cst);
	aer_cor(c, "CEMsk:", cmsk);
	cap_line(c, "AERCap:\tFirst Error Pointer: %02x, ECRCGenCap%c ECRCGenEn%c "
		 "ECRCChkCap%c ECRCChkEn%c", PCI_ERR_CAP_FEP(acap),
		 pm(acap & PCI_ERR_CAP_ECRC_GENC), pm(acap & PCI_ERR_CAP_ECRC_GENE),
		 pm(acap & PCI_ERR_CAP_ECRC_CHKC), pm(acap & PCI_ERR_CAP_ECRC_CHKE));
	cap_int(c, "uncorrectable_status", ust);
	cap_int(c, "uncorrectable_mask", umsk);
	cap_int(c, "uncorrectable_severity", usev);
	cap_int(c, "correctable_status", cst);
	cap_int(c, "correctable_mask", cmsk);
	cap_int(c, "first_error_pointer", PCI_ERR_CAP_FEP(acap));
	cap_bool(c, "ecrc_generation_capable", acap & PCI_ERR_CAP_ECRC_GENC);
	cap_bool(c, "ecrc_check_capable", acap & PCI_ERR_CAP_ECRC_CHKC);
}

static void dec_vc(struct lsv_cap *c)
{
	uint32_t cap1 = cap32(c, PCI_VC_PORT_CAP1);
	unsigned evc = cap1 & PCI_VC_CAP1_EVCC;
	unsigned lpevc = (cap1 & PCI_VC_CAP1_LPEVCC) >> VC_CAP1_LPEVCC_SHIFT;

	cap_head(c, "Virtual Channel");
	cap_line(c, "Caps:\tExtVC=%u LPEVC=%u", evc, lpevc);
	cap_int(c, "extended_vc_count", evc);
	cap_int(c, "low_priority_vc_count", lpevc);
}

static void dec_dsn(struct lsv_cap *c)
{
	uint32_t lo = cap32(c, DSN_LOW);
	uint32_t hi = cap32(c, DSN_HIGH);
	char sn[24];

	snprintf(sn, sizeof(sn), "%02x-%02x-%02x-%02x-%02x-%02x-%02x-%02x",
		 hi >> 24, (hi >> 16) & 0xff, (hi >> 8) & 0xff, hi & 0xff,
		 lo >> 24, (lo >> 16) & 0xff, (lo >> 8) & 0xff, lo & 0xff);
	cap_head(c, "Device Serial Number %s", sn);
	cap_str(c, "serial_number", sn);
}

static void dec_pwr(struct lsv_cap *c)
{
	uint32_t data = cap32(c, PCI_PWR_DATA);
	uint8_t sel = cap8(c, PCI_PWR_DSR);
	uint8_t pcap = cap8(c, PCI_PWR_CAP);

	cap_head(c, "Power Budgeting");
	cap_line(c, "DataSelect: %u, Data: %08x, SystemAllocated%c", sel, data,
		 pm(PCI_PWR_CAP_BUDGET(pcap)));
	cap_int(c, "data_select", sel);
	cap_int(c, "data", data);
}

static void dec_vndr(struct lsv_cap *c)
{
	uint32_t h = cap32(c, PCI_VNDR_HEADER);

	cap_head(c, "Vendor Specific Information: ID=%04x Rev=%u Len=%03x",
		 PCI_VNDR_HEADER_ID(h), PCI_VNDR_HEADER_REV(h),
		 PCI_VNDR_HEADER_LEN(h));
	cap_int(c, "vsec_id", PCI_VNDR_HEADER_ID(h));
	cap_int(c, "vsec_rev", PCI_VNDR_HEADER_REV(h));
	cap_int(c, "vsec_length", PCI_VNDR_HEADER_LEN(h));
}

static void acs_line(struct lsv_cap *c, const char *label, uint16_t v)
{
	cap_line(c, "%s\tSrcValid%c TransBlk%c ReqRedir%c CmpltRedir%c "
		 "UpstreamFwd%c EgressCtrl%c DirectTrans%c", label,
		 pm(v & PCI_ACS_SV), pm(v & PCI_ACS_TB), pm(v & PCI_ACS_RR),
		 pm(v & PCI_ACS_CR), pm(v & PCI_ACS_UF), pm(v & PCI_ACS_EC),
		 pm(v & PCI_ACS_DT));
}

static void dec_acs(struct lsv_cap *c)
{
	uint16_t cap = cap16(c, PCI_ACS_CAP);
	uint16_t ctl = cap16(c, PCI_ACS_CTRL);

	cap_head(c, "Access Control Services");
	acs_line(c, "ACSCap:", cap);
	acs_line(c, "ACSCtl:", ctl);
	cap_int(c, "acs_cap", cap);
	cap_int(c, "acs_ctl", ctl);
}

static void dec_ari(struct lsv_cap *c)
{
	uint16_t cap = cap16(c, PCI_ARI_CAP);
	uint16_t ctl = cap16(c, PCI_ARI_CTRL);

	cap_head(c, "Alternative Routing-ID Interpretation (ARI)");
	cap_line(c, "ARICap:\tMFVC%c ACS%c, Next Function: %u",
		 pm(cap & PCI_ARI_CAP_MFVC), pm(cap & PCI_ARI_CAP_ACS),
		 PCI_ARI_CAP_NFN(cap));
	cap_line(c, "ARICtl:\tMFVC%c ACS%c, Function Group: %u",
		 pm(ctl & PCI_ARI_CTRL_MFVC), pm(ctl & PCI_ARI_CTRL_ACS),
		 PCI_ARI_CTRL_FG(ctl));
	cap_int(c, "next_function", PCI_ARI_CAP_NFN(cap));
	cap_int(c, "function_group", PCI_ARI_CTRL_FG(ctl));
}

static void dec_ats(struct lsv_cap *c)
{
	uint16_t cap = cap16(c, PCI_ATS_CAP);
	uint16_t ctl = cap16(c, PCI_ATS_CTRL);
	/* A depth of 0 means the maximum. */
	unsigned qdep = PCI_ATS_CAP_QDEP(cap) ? PCI_ATS_CAP_QDEP(cap) :
			PCI_ATS_MAX_QDEP;

	cap_head(c, "Address Translation Service (ATS)");
	cap_line(c, "ATSCap:\tInvalidate Queue Depth: %02x", PCI_ATS_CAP_QDEP(cap));
	cap_line(c, "ATSCtl:\tEnable%c, Smallest Translation Unit: %02x",
		 pm(ctl & PCI_ATS_CTRL_ENABLE), PCI_ATS_CTRL_STU(ctl));
	cap_int(c, "queue_depth", qdep);
	cap_bool(c, "enabled", ctl & PCI_ATS_CTRL_ENABLE);
	cap_int(c, "stu", PCI_ATS_CTRL_STU(ctl));
}

static void dec_sriov(struct lsv_cap *c)
{
	uint32_t cap = cap32(c, PCI_SRIOV_CAP);
	uint16_t ctl = cap16(c, PCI_SRIOV_CTRL);
	uint16_t sta = cap16(c, PCI_SRIOV_STATUS);
	uint16_t initial = cap16(c, PCI_SRIOV_INITIAL_VF);
	uint16_t total = cap16(c, PCI_SRIOV_TOTAL_VF);
	uint16_t num = cap16(c, PCI_SRIOV_NUM_VF);
	uint8_t link = cap8(c, PCI_SRIOV_FUNC_LINK);
	uint16_t off = cap16(c, PCI_SRIOV_VF_OFFSET);
	uint16_t stride = cap16(c, PCI_SRIOV_VF_STRIDE);
	uint16_t did = cap16(c, PCI_SRIOV_VF_DID);
	uint32_t sup = cap32(c, PCI_SRIOV_SUP_PGSIZE);
	uint32_t sys = cap32(c, PCI_SRIOV_SYS_PGSIZE);

	cap_head(c, "Single Root I/O Virtualization (SR-IOV)");
	cap_line(c, "IOVCap:\tMigration%c, Interrupt Message Number: %03x",
		 pm(cap & PCI_SRIOV_CAP_VFM),
		 PCI_SRIOV_CAP_INTR(cap) & SRIOV_CAP_INTR_MASK);
	cap_line(c, "IOVCtl:\tEnable%c Migration%c Interrupt%c MSE%c ARIHierarchy%c",
		 pm(ctl & PCI_SRIOV_CTRL_VFE), pm(ctl & PCI_SRIOV_CTRL_VFM),
		 pm(ctl & PCI_SRIOV_CTRL_INTR), pm(ctl & PCI_SRIOV_CTRL_MSE),
		 pm(ctl & PCI_SRIOV_CTRL_ARI));
	cap_line(c, "IOVSta:\tMigration%c", pm(sta & PCI_SRIOV_STATUS_VFM));
	cap_line(c, "Initial VFs: %u, Total VFs: %u, Number of VFs: %u, "
		 "Function Dependency Link: %02x", initial, total, num, link);
	cap_line(c, "VF offset: %u, stride: %u, Device ID: %04x", off, stride, did);
	cap_line(c, "Supported Page Size: %08x, System Page Size: %08x", sup, sys);
	for (unsigned i = 0; i < PCI_SRIOV_NUM_BARS; i++) {
		uint32_t bar = cap32(c, PCI_SRIOV_BAR + 4 * i);
		if (!bar)
			continue;
		bool io = (bar & PCI_BASE_ADDRESS_SPACE) == PCI_BASE_ADDRESS_SPACE_IO;
		bool is64 = !io && (bar & PCI_BASE_ADDRESS_MEM_TYPE_MASK) ==
				   PCI_BASE_ADDRESS_MEM_TYPE_64;
		cap_line(c, "VF BAR%u: %s%s%s", i, io ? "I/O" : "Memory",
			 io ? "" : is64 ? " (64-bit" : " (32-bit",
			 io ? "" : bar & PCI_BASE_ADDRESS_MEM_PREFETCH ?
			 ", prefetchable)" : ", non-prefetchable)");
		if (is64)
			i++;
	}
	cap_bool(c, "vf_enable", ctl & PCI_SRIOV_CTRL_VFE);
	cap_int(c, "initial_vfs", initial);
	cap_int(c, "total_vfs", total);
	cap_int(c, "num_vfs", num);
	cap_int(c, "vf_offset", off);
	cap_int(c, "vf_stride", stride);
	cap_int(c, "vf_device_id", did);
	cap_int(c, "supported_page_sizes", sup);
	cap_int(c, "system_page_size", sys);
}

static void dec_pri(struct lsv_cap *c)
{
	uint16_t ctl = cap16(c, PCI_PRI_CTRL);
	uint16_t sta = cap16(c, PCI_PRI_STATUS);
	uint32_t max = cap32(c, PRI_MAX_REQ_OFF);
	uint32_t alloc = cap32(c, PCI_PRI_ALLOC_REQ);

	cap_head(c, "Page Request Interface (PRI)");
	cap_line(c, "PRICtl: Enable%c Reset%c", pm(ctl & PCI_PRI_CTRL_ENABLE),
		 pm(ctl & PCI_PRI_CTRL_RESET));
	cap_line(c, "PRISta: RF%c UPRGI%c Stopped%c PASID%c",
		 pm(sta & PCI_PRI_STATUS_RF), pm(sta & PCI_PRI_STATUS_UPRGI),
		 pm(sta & PCI_PRI_STATUS_STOPPED), pm(sta & PCI_PRI_STATUS_PASID));
	cap_line(c, "Page Request Capacity: %08x, Page Request Allocation: %08x",
		 max, alloc);
	cap_int(c, "capacity", max);
	cap_int(c, "allocation", alloc);
}

static void rebar_size(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "MGTPE";
	unsigned u = 0;
	uint64_t v = bytes / MB;
	while (v >= 1024 && u < sizeof(units) - 2) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, "%" PRIu64 "%cB", v, units[u]);
}

static void dec_rebar(struct lsv_cap *c)
{
	uint32_t ctl0 = cap32(c, PCI_REBAR_CTRL);
	unsigned n = (ctl0 & PCI_REBAR_CTRL_NBAR_MASK) >> PCI_REBAR_CTRL_NBAR_SHIFT;
	json_object *list = c->json ? json_object_new_array() : NULL;

	cap_head(c, "Physical Resizable BAR");
	if (n > REBAR_MAX_BARS)
		n = REBAR_MAX_BARS;
	for (unsigned i = 0; i < n && !c->truncated; i++) {
		uint32_t cap = cap32(c, PCI_REBAR_CAP + i * REBAR_ENTRY_SIZE);
		uint32_t ctl = cap32(c, PCI_REBAR_CTRL + i * REBAR_ENTRY_SIZE);
		unsigned cur = (ctl & PCI_REBAR_CTRL_BAR_SIZE) >> PCI_REBAR_CTRL_BAR_SHIFT;
		char sz[16], sup[256] = "";
		size_t used = 0;
		rebar_size(MB << cur, sz, sizeof(sz));
		for (unsigned b = REBAR_SIZE_SHIFT; b < 32; b++) {
			if (!(cap & PCI_REBAR_CAP_SIZES & (1u << b)))
				continue;
			char one[16];
			rebar_size(MB << (b - REBAR_SIZE_SHIFT), one, sizeof(one));
			used += (size_t)snprintf(sup + used, sizeof(sup) - used, "%s%s",
						 used ? " " : "", one);
			if (used >= sizeof(sup))
				break;
		}
		cap_line(c, "BAR %u: current size: %s, supported: %s",
			 ctl & PCI_REBAR_CTRL_BAR_IDX, sz, sup);
		if (list) {
			json_object *j = json_object_new_object();
			json_object_object_add(j, "bar", json_object_new_int(
				(int)(ctl & PCI_REBAR_CTRL_BAR_IDX)));
			json_object_object_add(j, "current_size",
					       json_object_new_uint64(MB << cur));
			json_object_object_add(j, "supported_sizes",
					       json_object_new_uint64(
						       (cap & PCI_REBAR_CAP_SIZES) >>
						       REBAR_SIZE_SHIFT));
			json_object_array_add(list, j);
		}
	}
	if (list)
		cap_add(c, "bars", list);
}

static uint64_t ltr_ns(uint16_t v)
{
	unsigned scale = (v & PCI_LTR_SCALE_MASK) >> PCI_LTR_SCALE_SHIFT;
	if (scale > LTR_SCALE_MAX)
		return 0;
	return (uint64_t)(v & PCI_LTR_VALUE_MASK) << (LTR_SCALE_BITS * scale);
}

static void dec_ltr(struct lsv_cap *c)
{
	uint64_t snoop = ltr_ns(cap16(c, PCI_LTR_MAX_SNOOP_LAT));
	uint64_t nosnoop = ltr_ns(cap16(c, PCI_LTR_MAX_NOSNOOP_LAT));

	cap_head(c, "Latency Tolerance Reporting");
	cap_line(c, "Max snoop latency: %" PRIu64 "ns", snoop);
	cap_line(c, "Max no snoop latency: %" PRIu64 "ns", nosnoop);
	cap_int(c, "max_snoop_latency_ns", snoop);
	cap_int(c, "max_no_snoop_latency_ns", nosnoop);
}

static void dec_pasid(struct lsv_cap *c)
{
	uint16_t cap = cap16(c, PCI_PASID_CAP);
	uint16_t ctl = cap16(c, PCI_PASID_CTRL);
	unsigned width = (cap & PASID_CAP_WIDTH) >> PASID_CAP_WIDTH_SHIFT;

	cap_head(c, "Process Address Space ID (PASID)");
	cap_line(c, "PASIDCap: Exec%c Priv%c, Max PASID Width: %02x",
		 pm(cap & PCI_PASID_CAP_EXEC), pm(cap & PCI_PASID_CAP_PRIV), width);
	cap_line(c, "PASIDCtl: Enable%c Exec%c Priv%c",
		 pm(ctl & PCI_PASID_CTRL_ENABLE), pm(ctl & PCI_PASID_CTRL_EXEC),
		 pm(ctl & PCI_PASID_CTRL_PRIV));
	cap_int(c, "max_pasid_width", width);
	cap_bool(c, "enabled", ctl & PCI_PASID_CTRL_ENABLE);
}

static void dec_dpc(struct lsv_cap *c)
{
	uint16_t cap = cap16(c, PCI_EXP_DPC_CAP);
	uint16_t ctl = cap16(c, PCI_EXP_DPC_CTL);
	uint16_t sta = cap16(c, PCI_EXP_DPC_STATUS);
	uint16_t src = cap16(c, PCI_EXP_DPC_SOURCE_ID);

	cap_head(c, "Downstream Port Containment");
	cap_line(c, "DpcCap:\tIntMsgNum %u, RPExt%c PoisonedTLP%c SwTrigger%c "
		 "RP PIO Log %u, DL_ActiveErr%c", cap & PCI_EXP_DPC_IRQ,
		 pm(cap & PCI_EXP_DPC_CAP_RP_EXT),
		 pm(cap & PCI_EXP_DPC_CAP_POISONED_TLP),
		 pm(cap & PCI_EXP_DPC_CAP_SW_TRIGGER),
		 (cap & PCI_EXP_DPC_RP_PIO_LOG_SIZE) >> DPC_RP_PIO_LOG_SHIFT,
		 pm(cap & PCI_EXP_DPC_CAP_DL_ACTIVE));
	cap_line(c, "DpcCtl:\tTrigger:%s INT%c",
		 ctl & PCI_EXP_DPC_CTL_EN_NONFATAL ? "non-fatal" :
		 ctl & PCI_EXP_DPC_CTL_EN_FATAL ? "fatal" : "off",
		 pm(ctl & PCI_EXP_DPC_CTL_INT_EN));
	cap_line(c, "DpcSta:\tTrigger%c Reason:%02x INT%c RPBusy%c",
		 pm(sta & PCI_EXP_DPC_STATUS_TRIGGER),
		 (sta & PCI_EXP_DPC_STATUS_TRIGGER_RSN) >> DPC_TRIGGER_RSN_SHIFT,
		 pm(sta & PCI_EXP_DPC_STATUS_INTERRUPT), pm(sta & PCI_EXP_DPC_RP_BUSY));
	cap_line(c, "Source:\t%04x", src);
	cap_int(c, "dpc_cap", cap);
	cap_int(c, "dpc_ctl", ctl);
	cap_int(c, "dpc_status", sta);
}

static void dec_l1ss(struct lsv_cap *c)
{
	uint32_t cap = cap32(c, PCI_L1SS_CAP);
	uint32_t ctl = cap32(c, PCI_L1SS_CTL1);

	cap_head(c, "L1 PM Substates");
	cap_line(c, "L1SubCap: PCI-PM_L1.2%c PCI-PM_L1.1%c ASPM_L1.2%c ASPM_L1.1%c "
		 "L1_PM_Substates%c", pm(cap & PCI_L1SS_CAP_PCIPM_L1_2),
		 pm(cap & PCI_L1SS_CAP_PCIPM_L1_1), pm(cap & PCI_L1SS_CAP_ASPM_L1_2),
		 pm(cap & PCI_L1SS_CAP_ASPM_L1_1), pm(cap & PCI_L1SS_CAP_L1_PM_SS));
	cap_line(c, "L1SubCtl1: PCI-PM_L1.2%c PCI-PM_L1.1%c ASPM_L1.2%c ASPM_L1.1%c",
		 pm(ctl & PCI_L1SS_CTL1_PCIPM_L1_2), pm(ctl & PCI_L1SS_CTL1_PCIPM_L1_1),
		 pm(ctl & PCI_L1SS_CTL1_ASPM_L1_2), pm(ctl & PCI_L1SS_CTL1_ASPM_L1_1));
	cap_int(c, "l1ss_cap", cap);
	cap_int(c, "l1ss_ctl1", ctl);
}

static void dec_ptm(struct lsv_cap *c)
{
	uint32_t cap = cap32(c, PCI_PTM_CAP);
	uint32_t ctl = cap32(c, PCI_PTM_CTRL);
	unsigned g = (cap & PCI_PTM_GRANULARITY_MASK) >> PTM_GRANULARITY_SHIFT;
	char gs[32];

	if (g == PTM_GRANULARITY_NONE)
		snprintf(gs, sizeof(gs), "Unimplemented");
	else if (g == PTM_GRANULARITY_BIG)
		snprintf(gs, sizeof(gs), "Greater than 254ns");
	else
		snprintf(gs, sizeof(gs), "%uns", g);
	cap_head(c, "Precision Time Measurement");
	cap_line(c, "PTMCap: Requester:%c Responder:%c Root:%c",
		 pm(cap & PCI_PTM_CAP_REQ), pm(cap & PTM_CAP_RES),
		 pm(cap & PCI_PTM_CAP_ROOT));
	cap_line(c, "PTMClockGranularity: %s", gs);
	cap_line(c, "PTMControl: Enabled:%c RootSelected:%c",
		 pm(ctl & PCI_PTM_CTRL_ENABLE), pm(ctl & PCI_PTM_CTRL_ROOT));
	cap_bool(c, "requester", cap & PCI_PTM_CAP_REQ);
	cap_bool(c, "responder", cap & PTM_CAP_RES);
	cap_bool(c, "root", cap & PCI_PTM_CAP_ROOT);
	cap_int(c, "granularity", g);
	cap_bool(c, "enabled", ctl & PCI_PTM_CTRL_ENABLE);
}

static void dec_dvsec(struct lsv_cap *c)
{
	uint32_t h1 = cap32(c, PCI_DVSEC_HEADER1);
	uint16_t h2 = cap16(c, PCI_DVSEC_HEADER2);
	unsigned vid = PCI_DVSEC_HEADER1_VID(h1);
	const char *vn = lsv_vendor_name((uint16_t)vid);

	cap_head(c, "Designated Vendor-Specific: Vendor=%04x%s%s%s ID=%04x Rev=%u "
		 "Len=%u", vid, vn ? " (" : "", vn ? vn : "", vn ? ")" : "",
		 PCI_DVSEC_HEADER2_ID(h2), PCI_DVSEC_HEADER1_REV(h1),
		 PCI_DVSEC_HEADER1_LEN(h1));
	cap_int(c, "dvsec_vendor_id", vid);
	cap_int(c, "dvsec_id", PCI_DVSEC_HEADER2_ID(h2));
	cap_int(c, "dvsec_rev", PCI_DVSEC_HEADER1_REV(h1));
	cap_int(c, "dvsec_length", PCI_DVSEC_HEADER1_LEN(h1));
}

static void dec_dlf(struct lsv_cap *c)
{
	uint32_t cap = cap32(c, PCI_DLF_CAP);
	uint32_t sta = cap32(c, DLF_STATUS);

	cap_head(c, "Data Link Feature");
	cap_line(c, "DLFCap:\tLocal features: %06x, Exchange Enable%c",
		 cap & DLF_FEATURES, pm(cap & PCI_DLF_EXCHANGE_ENABLE));
	cap_line(c, "DLFSta:\tRemote features: %06x, Valid%c", sta & DLF_FEATURES,
		 pm(sta & DLF_STATUS_VALID));
	cap_int(c, "local_features", cap & DLF_FEATURES);
	cap_bool(c, "exchange_enable", cap & PCI_DLF_EXCHANGE_ENABLE);
	cap_int(c, "remote_features", sta & DLF_FEATURES);
}

static void dec_pl16(struct lsv_cap *c)
{
	uint32_t sta = cap32(c, PL16_STA);

	cap_head(c, "Physical Layer 16.0 GT/s");
	cap_line(c, "Phy16Cap: %08x  Phy16Ctl: %08x", cap32(c, PL16_CAP),
		 cap32(c, PL16_CTL));
	cap_line(c, "Phy16Sta: EquComplete%c EquPhase1%c EquPhase2%c EquPhase3%c "
		 "LinkEquRequest%c", pm(sta & PL16_STA_EQU_COMPLETE),
		 pm(sta & PL16_STA_EQU_PHASE1), pm(sta & PL16_STA_EQU_PHASE2),
		 pm(sta & PL16_STA_EQU_PHASE3), pm(sta & PL16_STA_LINK_EQU_REQ));
	cap_bool(c, "equalization_complete", sta & PL16_STA_EQU_COMPLETE);
}

static void dec_doe(struct lsv_cap *c)
{
	uint32_t cap = cap32(c, PCI_DOE_CAP);
	uint32_t sta = cap32(c, PCI_DOE_STATUS);

	cap_head(c, "Data Object Exchange");
	cap_line(c, "DOECap: IntSup%c", pm(cap & PCI_DOE_CAP_INT_SUP));
	cap_line(c, "DOESta: Busy%c IntSta%c Error%c ObjectReady%c",
		 pm(sta & PCI_DOE_STATUS_BUSY), pm(sta & PCI_DOE_STATUS_INT_STATUS),
		 pm(sta & PCI_DOE_STATUS_ERROR),
		 pm(sta & PCI_DOE_STATUS_DATA_OBJECT_READY));
	cap_bool(c, "interrupt_support", cap & PCI_DOE_CAP_INT_SUP);
}

void lsv_decode_ecap(struct lsv_cap *c)
{
	const char *name = lsv_ecap_name(c->id);

	switch (c->id) {
	case PCI_EXT_CAP_ID_ERR: dec_aer(c); break;
	case PCI_EXT_CAP_ID_VC:
	case PCI_EXT_CAP_ID_VC9: dec_vc(c); break;
	case PCI_EXT_CAP_ID_DSN: dec_dsn(c); break;
	case PCI_EXT_CAP_ID_PWR: dec_pwr(c); break;
	case PCI_EXT_CAP_ID_VNDR: dec_vndr(c); break;
	case PCI_EXT_CAP_ID_ACS: dec_acs(c); break;
	case PCI_EXT_CAP_ID_ARI: dec_ari(c); break;
	case PCI_EXT_CAP_ID_ATS: dec_ats(c); break;
	case PCI_EXT_CAP_ID_SRIOV: dec_sriov(c); break;
	case PCI_EXT_CAP_ID_PRI: dec_pri(c); break;
	case PCI_EXT_CAP_ID_REBAR: dec_rebar(c); break;
	case PCI_EXT_CAP_ID_LTR: dec_ltr(c); break;
	case PCI_EXT_CAP_ID_PASID: dec_pasid(c); break;
	case PCI_EXT_CAP_ID_DPC: dec_dpc(c); break;
	case PCI_EXT_CAP_ID_L1SS: dec_l1ss(c); break;
	case PCI_EXT_CAP_ID_PTM: dec_ptm(c); break;
	case PCI_EXT_CAP_ID_DVSEC: dec_dvsec(c); break;
	case PCI_EXT_CAP_ID_DLF: dec_dlf(c); break;
	case PCI_EXT_CAP_ID_PL_16GT: dec_pl16(c); break;
	case PCI_EXT_CAP_ID_DOE: dec_doe(c); break;
	default:
		if (name)
			cap_head(c, "%s", name);
		else
			cap_head(c, "Unknown extended capability (ID 0x%04x)", c->id);
		break;
	}
}
