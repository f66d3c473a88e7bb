/* SPDX-License-Identifier: BSD-3-Clause */
/* The PCI Express capability, decoded as `lspci -vv` does. */
#include <stdbool.h>
#include <string.h>

#include "lsvfio.h"

/* Field positions <linux/pci_regs.h> has masks but no shifts for. */
#define EXP_TYPE_SHIFT        4
#define EXP_IRQ_SHIFT         9
#define DEVCAP_PHANTOM_SHIFT  3
#define DEVCAP_L0S_SHIFT      6
#define DEVCAP_L1_SHIFT       9
#define DEVCAP_PWR_VAL_SHIFT  18
#define DEVCAP_PWR_SCL_SHIFT  26
#define DEVCTL_PAYLOAD_SHIFT  5
#define DEVCTL_READRQ_SHIFT   12
#define LNKCAP_MLW_SHIFT      4
#define LNKCAP_ASPMS_SHIFT    10
#define LNKCAP_L0SEL_SHIFT    12
#define LNKCAP_L1EL_SHIFT     15
#define LNKCAP_PN_SHIFT       24
#define SLTCAP_SPLV_SHIFT     7
#define SLTCAP_SPLS_SHIFT     15
#define SLTCAP_PSN_SHIFT      19
#define DEVCAP2_CTO_RANGES    0x0000000f
#define DEVCAP2_OBFF_SHIFT    18
#define DEVCTL2_OBFF_SHIFT    13
#define RTSTA_PME_RID         0x0000ffff
#define PAYLOAD_MIN           128u

static const char *const speeds[] = {
	[PCI_EXP_LNKCAP_SLS_2_5GB] = "2.5GT/s",
	[PCI_EXP_LNKCAP_SLS_5_0GB] = "5GT/s",
	[PCI_EXP_LNKCAP_SLS_8_0GB] = "8GT/s",
	[PCI_EXP_LNKCAP_SLS_16_0GB] = "16GT/s",
	[PCI_EXP_LNKCAP_SLS_32_0GB] = "32GT/s",
	[PCI_EXP_LNKCAP_SLS_64_0GB] = "64GT/s",
};

static const char *speed_name(unsigned s)
{
	return s < LSV_ARRAY_SIZE(speeds) && speeds[s] ? speeds[s] : "unknown";
}

static const struct {
	const char *text, *key;
} types[] = {
	[PCI_EXP_TYPE_ENDPOINT] = { "Endpoint", "endpoint" },
	[PCI_EXP_TYPE_LEG_END] = { "Legacy Endpoint", "legacy_endpoint" },
	[PCI_EXP_TYPE_ROOT_PORT] = { "Root Port", "root_port" },
	[PCI_EXP_TYPE_UPSTREAM] = { "Upstream Port", "upstream_port" },
	[PCI_EXP_TYPE_DOWNSTREAM] = { "Downstream Port", "downstream_port" },
	[PCI_EXP_TYPE_PCI_BRIDGE] = { "PCI-Express to PCI/PCI-X Bridge",
				      "pcie_to_pci_bridge" },
	[PCI_EXP_TYPE_PCIE_BRIDGE] = { "PCI/PCI-X to PCI-Express Bridge",
				       "pci_to_pcie_bridge" },
	[PCI_EXP_TYPE_RC_END] = { "Root Complex Integrated Endpoint",
				  "rc_integrated_endpoint" },
	[PCI_EXP_TYPE_RC_EC] = { "Root Complex Event Collector",
				 "rc_event_collector" },
};

static const char *const l0s_lat[] = { "<64ns", "<128ns", "<256ns", "<512ns",
				       "<1us", "<2us", "<4us", "unlimited" };
static const char *const l1_lat[] = { "<1us", "<2us", "<4us", "<8us", "<16us",
				      "<32us", "<64us", "unlimited" };

/* Power limit in watts: value times 1, 0.1, 0.01 or 0.001. */
static double power_limit(unsigned value, unsigned scale)
{
	static const double mul[] = { 1.0, 0.1, 0.01, 0.001 };
	return value * mul[scale & 3];
}

static bool has_link(unsigned type)
{
	return type != PCI_EXP_TYPE_RC_END && type != PCI_EXP_TYPE_RC_EC;
}

static void dec_devcap(struct lsv_cap *c, unsigned type)
{
	uint32_t cap = cap32(c, PCI_EXP_DEVCAP);
	uint16_t ctl = cap16(c, PCI_EXP_DEVCTL);
	uint16_t sta = cap16(c, PCI_EXP_DEVSTA);
	unsigned mps = PAYLOAD_MIN << (cap & PCI_EXP_DEVCAP_PAYLOAD);
	unsigned phantom = (cap & PCI_EXP_DEVCAP_PHANTOM) >> DEVCAP_PHANTOM_SHIFT;
	bool ep = type == PCI_EXP_TYPE_ENDPOINT || type == PCI_EXP_TYPE_LEG_END;
	bool flr = cap & PCI_EXP_DEVCAP_FLR;
	unsigned ctl_mps = PAYLOAD_MIN << ((ctl & PCI_EXP_DEVCTL_PAYLOAD) >>
					   DEVCTL_PAYLOAD_SHIFT);
	unsigned mrrs = PAYLOAD_MIN << ((ctl & PCI_EXP_DEVCTL_READRQ) >>
					DEVCTL_READRQ_SHIFT);

	if (ep)
		cap_line(c, "DevCap:\tMaxPayload %u bytes, PhantFunc %u, Latency "
			 "L0s %s, L1 %s", mps, phantom,
			 l0s_lat[(cap & PCI_EXP_DEVCAP_L0S) >> DEVCAP_L0S_SHIFT],
			 l1_lat[(cap & PCI_EXP_DEVCAP_L1) >> DEVCAP_L1_SHIFT]);
	else
		cap_line(c, "DevCap:\tMaxPayload %u bytes, PhantFunc %u", mps,
			 phantom);
	cap_line(c, "\tExtTag%c AttnBtn%c AttnInd%c PwrInd%c RBE%c FLReset%c "
		 "SlotPowerLimit %gW",
		 pm(cap & PCI_EXP_DEVCAP_EXT_TAG), pm(cap & PCI_EXP_DEVCAP_ATN_BUT),
		 pm(cap & PCI_EXP_DEVCAP_ATN_IND), pm(cap & PCI_EXP_DEVCAP_PWR_IND),
		 pm(cap & PCI_EXP_DEVCAP_RBER), pm(flr),
		 power_limit((cap & PCI_EXP_DEVCAP_PWR_VAL) >> DEVCAP_PWR_VAL_SHIFT,
			     (cap & PCI_EXP_DEVCAP_PWR_SCL) >> DEVCAP_PWR_SCL_SHIFT));
	cap_line(c, "DevCtl:\tCorrErr%c NonFatalErr%c FatalErr%c UnsupReq%c",
		 pm(ctl & PCI_EXP_DEVCTL_CERE), pm(ctl & PCI_EXP_DEVCTL_NFERE),
		 pm(ctl & PCI_EXP_DEVCTL_FERE), pm(ctl & PCI_EXP_DEVCTL_URRE));
	cap_line(c, "\tRlxdOrd%c ExtTag%c PhantFunc%c AuxPwr%c NoSnoop%c%s",
		 pm(ctl & PCI_EXP_DEVCTL_RELAX_EN), pm(ctl & PCI_EXP_DEVCTL_EXT_TAG),
		 pm(ctl & PCI_EXP_DEVCTL_PHANTOM), pm(ctl & PCI_EXP_DEVCTL_AUX_PME),
		 pm(ctl & PCI_EXP_DEVCTL_NOSNOOP_EN),
		 !flr ? "" : ctl & PCI_EXP_DEVCTL_BCR_FLR ? " FLReset+" : " FLReset-");
	cap_line(c, "\tMaxPayload %u bytes, MaxReadReq %u bytes", ctl_mps, mrrs);
	cap_line(c, "DevSta:\tCorrErr%c NonFatalErr%c FatalErr%c UnsupReq%c "
		 "AuxPwr%c TransPend%c",
		 pm(sta & PCI_EXP_DEVSTA_CED), pm(sta & PCI_EXP_DEVSTA_NFED),
		 pm(sta & PCI_EXP_DEVSTA_FED), pm(sta & PCI_EXP_DEVSTA_URD),
		 pm(sta & PCI_EXP_DEVSTA_AUXPD), pm(sta & PCI_EXP_DEVSTA_TRPND));
	cap_int(c, "devcap_max_payload", mps);
	cap_int(c, "phantom_functions", phantom);
	cap_bool(c, "ext_tag", cap & PCI_EXP_DEVCAP_EXT_TAG);
	cap_bool(c, "rbe", cap & PCI_EXP_DEVCAP_RBER);
	cap_bool(c, "flr", flr);
	cap_int(c, "max_payload", ctl_mps);
	cap_int(c, "max_read_request", mrrs);
	cap_int(c, "devctl", ctl);
	cap_int(c, "devsta", sta);
}

static void dec_link(struct lsv_cap *c)
{
	static const char *const aspm_sup[] = { "not supported", "L0s", "L1",
						"L0s L1" };
	static const char *const aspm_ctl[] = { "Disabled", "L0s Enabled",
						"L1 Enabled", "L0s L1 Enabled" };
	uint32_t cap = cap32(c, PCI_EXP_LNKCAP);
	uint16_t ctl = cap16(c, PCI_EXP_LNKCTL);
	uint16_t sta = cap16(c, PCI_EXP_LNKSTA);
	unsigned width = (cap & PCI_EXP_LNKCAP_MLW) >> LNKCAP_MLW_SHIFT;
	unsigned cur_w = (sta & PCI_EXP_LNKSTA_NLW) >> PCI_EXP_LNKSTA_NLW_SHIFT;

	cap_line(c, "LnkCap:\tPort #%u, Speed %s, Width x%u, ASPM %s",
		 cap >> LNKCAP_PN_SHIFT, speed_name(cap & PCI_EXP_LNKCAP_SLS), width,
		 aspm_sup[(cap & PCI_EXP_LNKCAP_ASPMS) >> LNKCAP_ASPMS_SHIFT]);
	cap_line(c, "\tExit Latency L0s %s, L1 %s, ClockPM%c Surprise%c "
		 "LLActRep%c BwNot%c",
		 l0s_lat[(cap & PCI_EXP_LNKCAP_L0SEL) >> LNKCAP_L0SEL_SHIFT],
		 l1_lat[(cap & PCI_EXP_LNKCAP_L1EL) >> LNKCAP_L1EL_SHIFT],
		 pm(cap & PCI_EXP_LNKCAP_CLKPM), pm(cap & PCI_EXP_LNKCAP_SDERC),
		 pm(cap & PCI_EXP_LNKCAP_DLLLARC), pm(cap & PCI_EXP_LNKCAP_LBNC));
	cap_line(c, "LnkCtl:\tASPM %s; RCB %u bytes, Disabled%c CommClk%c",
		 aspm_ctl[ctl & PCI_EXP_LNKCTL_ASPMC],
		 ctl & PCI_EXP_LNKCTL_RCB ? 128 : 64, pm(ctl & PCI_EXP_LNKCTL_LD),
		 pm(ctl & PCI_EXP_LNKCTL_CCC));
	cap_line(c, "LnkSta:\tSpeed %s, Width x%u, TrErr- Train%c SlotClk%c "
		 "DLActive%c BWMgmt%c ABWMgmt%c",
		 speed_name(sta & PCI_EXP_LNKSTA_CLS), cur_w,
		 pm(sta & PCI_EXP_LNKSTA_LT), pm(sta & PCI_EXP_LNKSTA_SLC),
		 pm(sta & PCI_EXP_LNKSTA_DLLLA), pm(sta & PCI_EXP_LNKSTA_LBMS),
		 pm(sta & PCI_EXP_LNKSTA_LABS));
	cap_int(c, "link_port", cap >> LNKCAP_PN_SHIFT);
	cap_str(c, "link_speed_max", speed_name(cap & PCI_EXP_LNKCAP_SLS));
	cap_int(c, "link_width_max", width);
	cap_str(c, "link_speed", speed_name(sta & PCI_EXP_LNKSTA_CLS));
	cap_int(c, "link_width", cur_w);
}

static void dec_slot(struct lsv_cap *c)
{
	uint32_t cap = cap32(c, PCI_EXP_SLTCAP);
	uint16_t sta = cap16(c, PCI_EXP_SLTSTA);

	cap_line(c, "SltCap:\tAttnBtn%c PwrCtrl%c MRL%c AttnInd%c PwrInd%c "
		 "HotPlug%c Surprise%c",
		 pm(cap & PCI_EXP_SLTCAP_ABP), pm(cap & PCI_EXP_SLTCAP_PCP),
		 pm(cap & PCI_EXP_SLTCAP_MRLSP), pm(cap & PCI_EXP_SLTCAP_AIP),
		 pm(cap & PCI_EXP_SLTCAP_PIP), pm(cap & PCI_EXP_SLTCAP_HPC),
		 pm(cap & PCI_EXP_SLTCAP_HPS));
	cap_line(c, "\tSlot #%u, PowerLimit %gW; Interlock%c NoCompl%c",
		 cap >> SLTCAP_PSN_SHIFT,
		 power_limit((cap & PCI_EXP_SLTCAP_SPLV) >> SLTCAP_SPLV_SHIFT,
			     (cap & PCI_EXP_SLTCAP_SPLS) >> SLTCAP_SPLS_SHIFT),
		 pm(cap & PCI_EXP_SLTCAP_EIP), pm(cap & PCI_EXP_SLTCAP_NCCS));
	cap_line(c, "SltSta:\tStatus: AttnBtn%c PowerFlt%c MRL%c CmdCplt%c "
		 "PresDet%c Interlock%c",
		 pm(sta & PCI_EXP_SLTSTA_ABP), pm(sta & PCI_EXP_SLTSTA_PFD),
		 pm(sta & PCI_EXP_SLTSTA_MRLSS), pm(sta & PCI_EXP_SLTSTA_CC),
		 pm(sta & PCI_EXP_SLTSTA_PDS), pm(sta & PCI_EXP_SLTSTA_EIS));
	cap_int(c, "slot_number", cap >> SLTCAP_PSN_SHIFT);
	cap_bool(c, "hotplug", cap & PCI_EXP_SLTCAP_HPC);
}

static void dec_root(struct lsv_cap *c)
{
	uint16_t ctl = cap16(c, PCI_EXP_RTCTL);
	uint16_t cap = cap16(c, PCI_EXP_RTCAP);
	uint32_t sta = cap32(c, PCI_EXP_RTSTA);

	cap_line(c, "RootCap: CRSVisible%c", pm(cap & PCI_EXP_RTCAP_CRSVIS));
	cap_line(c, "RootCtl: ErrCorrectable%c ErrNon-Fatal%c ErrFatal%c "
		 "PMEIntEna%c CRSVisible%c",
		 pm(ctl & PCI_EXP_RTCTL_SECEE), pm(ctl & PCI_EXP_RTCTL_SENFEE),
		 pm(ctl & PCI_EXP_RTCTL_SEFEE), pm(ctl & PCI_EXP_RTCTL_PMEIE),
		 pm(ctl & PCI_EXP_RTCTL_CRSSVE));
	cap_line(c, "RootSta: PME ReqID %04x, PMEStatus%c PMEPending%c",
		 sta & RTSTA_PME_RID, pm(sta & PCI_EXP_RTSTA_PME),
		 pm(sta & PCI_EXP_RTSTA_PENDING));
}

static const char *cto_value(unsigned v)
{
	switch (v) {
	case 0x0: return "50us to 50ms";
	case 0x1: return "50us to 100us";
	case 0x2: return "1ms to 10ms";
	case 0x5: return "16ms to 55ms";
	case 0x6: return "65ms to 210ms";
	case 0x9: return "260ms to 900ms";
	case 0xa: return "1s to 3.5s";
	case 0xd: return "4s to 13s";
	case 0xe: return "17s to 64s";
	default: return "Unknown";
	}
}

static void dec_v2(struct lsv_cap *c, unsigned type)
{
	static const char *const obff_sup[] = { "Not Supported", "Via message",
						"Via WAKE#", "Via message/WAKE#" };
	static const char *const obff_ctl[] = { "Disabled", "Via message A",
						"Via message B", "Via WAKE#" };
	uint32_t cap = cap32(c, PCI_EXP_DEVCAP2);
	uint16_t ctl = cap16(c, PCI_EXP_DEVCTL2);
	unsigned ranges = cap & DEVCAP2_CTO_RANGES;
	char rng[16] = "Not Supported";

	if (ranges) {
		static const char letters[] = "ABCD";
		unsigned n = 0;
		n += (unsigned)snprintf(rng, sizeof(rng), "Range ");
		for (unsigned i = 0; i < 4; i++)
			if (ranges & (1u << i))
				rng[n++] = letters[i];
		rng[n] = '\0';
	}
	cap_line(c, "DevCap2: Completion Timeout: %s, TimeoutDis%c ARIFwd%c "
		 "LTR%c OBFF %s", rng, pm(cap & PCI_EXP_DEVCAP2_COMP_TMOUT_DIS),
		 pm(cap & PCI_EXP_DEVCAP2_ARI), pm(cap & PCI_EXP_DEVCAP2_LTR),
		 obff_sup[(cap & PCI_EXP_DEVCAP2_OBFF_MASK) >> DEVCAP2_OBFF_SHIFT]);
	cap_line(c, "\tAtomicOpsCap: Routing%c 32bit%c 64bit%c 128bitCAS%c",
		 pm(cap & PCI_EXP_DEVCAP2_ATOMIC_ROUTE),
		 pm(cap & PCI_EXP_DEVCAP2_ATOMIC_COMP32),
		 pm(cap & PCI_EXP_DEVCAP2_ATOMIC_COMP64),
		 pm(cap & PCI_EXP_DEVCAP2_ATOMIC_COMP128));
	cap_line(c, "DevCtl2: Completion Timeout: %s, TimeoutDis%c ARIFwd%c "
		 "LTR%c OBFF %s", cto_value(ctl & PCI_EXP_DEVCTL2_COMP_TIMEOUT),
		 pm(ctl & PCI_EXP_DEVCTL2_COMP_TMOUT_DIS),
		 pm(ctl & PCI_EXP_DEVCTL2_ARI), pm(ctl & PCI_EXP_DEVCTL2_LTR_EN),
		 obff_ctl[(ctl & PCI_EXP_DEVCTL2_OBFF_WAKE_EN) >> DEVCTL2_OBFF_SHIFT]);
	cap_line(c, "\tAtomicOpsCtl: ReqEn%c EgressBlck%c",
		 pm(ctl & PCI_EXP_DEVCTL2_ATOMIC_REQ),
		 pm(ctl & PCI_EXP_DEVCTL2_ATOMIC_EGRESS_BLOCK));
	cap_int(c, "devcap2", cap);
	cap_bool(c, "ltr", cap & PCI_EXP_DEVCAP2_LTR);
	cap_bool(c, "ari_forwarding", cap & PCI_EXP_DEVCAP2_ARI);
	if (!has_link(type))
		return;

	uint32_t lcap2 = cap32(c, PCI_EXP_LNKCAP2);
	uint16_t lctl2 = cap16(c, PCI_EXP_LNKCTL2);
	/* The supported-speeds vector: bit n set for speed n (bit 0 reserved). */
	unsigned lo = 0, hi = 0;
	for (unsigned s = PCI_EXP_LNKCAP_SLS_2_5GB; s <= PCI_EXP_LNKCAP_SLS_64_0GB; s++) {
		if (lcap2 & (1u << s)) {
			if (!lo)
				lo = s;
			hi = s;
		}
	}
	char sp[32] = "RsvdP";
	if (lo == hi && lo)
		snprintf(sp, sizeof(sp), "%s", speed_name(lo));
	else if (lo) {
		/* "2.5-16GT/s": the low speed without its unit. */
		const char *l = speed_name(lo);
		int ln = (int)(strchr(l, 'G') ? strchr(l, 'G') - l : 0);
		snprintf(sp, sizeof(sp), "%.*s-%s", ln, l, speed_name(hi));
	}
	cap_line(c, "LnkCap2: Supported Link Speeds: %s, Crosslink%c", sp,
		 pm(lcap2 & PCI_EXP_LNKCAP2_CROSSLINK));
	cap_line(c, "LnkCtl2: Target Link Speed: %s, EnterCompliance%c SpeedDis%c",
		 speed_name(lctl2 & PCI_EXP_LNKCTL2_TLS),
		 pm(lctl2 & PCI_EXP_LNKCTL2_ENTER_COMP),
		 pm(lctl2 & PCI_EXP_LNKCTL2_HASD));
	cap_str(c, "supported_link_speeds", sp);
}

void lsv_decode_pcie(struct lsv_cap *c)
{
	uint16_t fl = cap16(c, PCI_EXP_FLAGS);
	unsigned ver = fl & PCI_EXP_FLAGS_VERS;
	unsigned type = (fl & PCI_EXP_FLAGS_TYPE) >> EXP_TYPE_SHIFT;
	bool slot = fl & PCI_EXP_FLAGS_SLOT;
	unsigned irq = (fl & PCI_EXP_FLAGS_IRQ) >> EXP_IRQ_SHIFT;
	bool known = type < LSV_ARRAY_SIZE(types) && types[type].text;
	bool port = type == PCI_EXP_TYPE_ROOT_PORT ||
		    type == PCI_EXP_TYPE_DOWNSTREAM;

	if (known)
		cap_head(c, "Express (v%u) %s%s, MSI %02x", ver, types[type].text,
			 !port ? "" : slot ? " (Slot+)" : " (Slot-)", irq);
	else
		cap_head(c, "Express (v%u) Unknown type %u, MSI %02x", ver, type, irq);
	cap_int(c, "pcie_version", ver);
	cap_str(c, "device_type", known ? types[type].key : "unknown");
	cap_int(c, "device_type_id", type);
	cap_bool(c, "slot_implemented", slot);
	cap_int(c, "interrupt_message", irq);
	dec_devcap(c, type);
	if (has_link(type))
		dec_link(c);
	if (port && slot)
		dec_slot(c);
	if (type == PCI_EXP_TYPE_ROOT_PORT || type == PCI_EXP_TYPE_RC_EC)
		dec_root(c);
	if (ver >= 2)
		dec_v2(c, type);
}
