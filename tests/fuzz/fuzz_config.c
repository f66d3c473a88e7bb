/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: the config-space engine, through the device model as a
 * client's requests reach it (region access, SET_IRQS, reset).  Two
 * devices built with the <uvfio/pci.h> builder:
 *   0  capdev: a PCI Express endpoint with every capability the builder
 *      offers (PM, MSI, MSI-X in BAR2, PCIe with FLR, AF, VPD, vendor,
 *      a hidden one; AER, DSN, ARI, SR-IOV, vendor, DVSEC, hidden ext),
 *      memory decoding gating its BARs;
 *   1  a conventional PCI device: BARs of every kind (absent, IO, 32-bit,
 *      64-bit above 4 GiB, prefetchable), a ROM, PM, MSI with 32 maskable
 *      vectors, AF, VPD, vendor-specific, an unknown (hidden) capability.
 *
 * Input: u8 device (bit 0), then operations:
 *   u8 op:  bits 0-2  0 config read, 1 config write, 2 config write then
 *                     read back, 3 BAR sizing (~0 to a BAR register),
 *                     4 BAR read, 5 BAR write (MSI-X table, gating),
 *                     6 SET_IRQS, 7 device reset
 *           bits 3-5  size: 1 2 4 8 3 16 256, 7: next byte + 1
 *           bits 6-7  BAR (0, 2, 4, 5) for BAR accesses, IRQ index
 *   u16 offset, then the value bytes of a write; SET_IRQS takes u8
 *   flags (data nibble, action nibble), u8 start, u8 count, count bools.
 * After every operation the rules a client relies on are checked: access
 * results (in range: always done; out of range: refused), read-only
 * identity, BAR and ROM decoding, both capability chains, reads the same
 * whole and byte by byte.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/pci_regs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <uvfio/pci.h>
#include "devices/models.h"
#include "device/dev.h"
#include "fuzz_common.h"

struct bar_info {
	bool present, upper, io;
	uint32_t type;         /* the register's type bits */
	uint64_t size;
};

struct fdev {
	struct uvfio_dev *dev;
	void *state;           /* capdev's */
	uint32_t cfg_size;
	uint64_t rom_size;
	struct bar_info bar[6];
	uint8_t ro[0x40];      /* the header at power-on */
};

static struct fdev g_dev[2];
static int g_evfd = -1;

static int legacy_reset(void *opaque)
{
	return 0;
}

static struct uvfio_dev *build_legacy(void)
{
	struct uvfio_dev *d = uvfio_dev_new("fuzz-config");
	if (!d)
		return NULL;
	struct uvfio_pci *p = uvfio_dev_pci(d);
	const struct uvfio_pci_ids ids = {
		.vendor = 0x1b36, .device = 0x11f0, .subsystem_vendor = 0x1b36,
		.subsystem_device = 7, .class_code = 0x010802, .revision = 3,
		.irq_pin = 2,
	};
	static uint8_t rom[3000], vpd[32] = { 0x82, 3, 0, 'f', 'z', 'z', 0x78 };
	memset(rom, 0xa5, sizeof(rom));
	rom[0] = 0x55;
	rom[1] = 0xaa;
	const uint8_t vendor[5] = { 1, 2, 3, 4, 5 }, raw[6] = { 0 };
	if (uvfio_pci_set_ids(p, &ids) < 0 ||
	    uvfio_pci_add_bar(p, 0, 8ull << 30, UVFIO_BAR_MEM64 |
			      UVFIO_BAR_PREFETCH, NULL, NULL) < 0 ||
	    uvfio_pci_add_bar(p, 2, 4096, UVFIO_BAR_MEM32, NULL, NULL) < 0 ||
	    uvfio_pci_add_bar(p, 3, 256, UVFIO_BAR_IO, NULL, NULL) < 0 ||
	    uvfio_pci_add_bar(p, 4, 16, UVFIO_BAR_MEM32 | UVFIO_BAR_PREFETCH,
			      NULL, NULL) < 0 ||
	    uvfio_pci_add_rom(p, rom, sizeof(rom)) < 0 ||
	    uvfio_pci_add_pm(p, 0, UVFIO_PCI_PM_D1) < 0 ||
	    uvfio_pci_add_msi(p, 0, 32, UVFIO_MSI_64BIT | UVFIO_MSI_MASKABLE) < 0 ||
	    uvfio_pci_add_af(p, 0) < 0 ||
	    uvfio_pci_add_vpd(p, 0, vpd, sizeof(vpd)) < 0 ||
	    uvfio_pci_add_vendor(p, 0, vendor, sizeof(vendor)) < 0 ||
	    uvfio_pci_add_raw_cap(p, 0, 0xfe, raw, sizeof(raw)) < 0 ||
	    uvfio_dev_set_reset(d, legacy_reset, NULL) < 0 ||
	    dev_seal(d) < 0) {
		uvfio_dev_free(d);
		return NULL;
	}
	return d;
}

static ssize_t cfg_rw(struct fdev *f, uint64_t off, void *buf, size_t len,
		      bool write)
{
	return dev_region_access(f->dev, VFIO_PCI_CONFIG_REGION_INDEX, off, buf,
				 len, write);
}

static uint32_t rd32(struct fdev *f, unsigned off)
{
	uint8_t b[4];
	if (cfg_rw(f, off, b, 4, false) != 4)
		fuzz_die("config: read32 at 0x%x refused", off);
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
}

/* What the BARs are, from the device at power-on. */
static void describe(struct fdev *f)
{
	f->cfg_size = (uint32_t)dev_region(f->dev, VFIO_PCI_CONFIG_REGION_INDEX)->size;
	struct dev_region *rom = dev_region(f->dev, VFIO_PCI_ROM_REGION_INDEX);
	f->rom_size = rom && rom->present ? rom->size : 0;
	if (cfg_rw(f, 0, f->ro, sizeof(f->ro), false) != sizeof(f->ro))
		fuzz_die("config: cannot read the header");
	for (unsigned i = 0; i < 6; i++) {
		struct bar_info *b = &f->bar[i];
		if (i > 0 && f->bar[i - 1].present && !f->bar[i - 1].io &&
		    (f->bar[i - 1].type & PCI_BASE_ADDRESS_MEM_TYPE_64)) {
			b->upper = true;
			b->size = f->bar[i - 1].size;
			continue;
		}
		struct dev_region *r = dev_region(f->dev, i);
		uint32_t v = rd32(f, PCI_BASE_ADDRESS_0 + 4 * i);
		b->present = r && r->present;
		b->size = b->present ? r->size : 0;
		b->io = v & PCI_BASE_ADDRESS_SPACE_IO;
		b->type = v & (b->io ? 0x3u : 0xfu);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	g_dev[0].dev = uvfio_model_capdev.create(&g_dev[0].state);
	g_dev[1].dev = build_legacy();
	if (!g_dev[0].dev || !g_dev[1].dev || dev_seal(g_dev[0].dev) < 0)
		fuzz_die("config: cannot build the devices");
	for (int i = 0; i < 2; i++)
		describe(&g_dev[i]);
	g_evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	fuzz_fd_init();
	return 0;
}

static void check_bars(struct fdev *f)
{
	for (unsigned i = 0; i < 6; i++) {
		const struct bar_info *b = &f->bar[i];
		uint32_t v = rd32(f, PCI_BASE_ADDRESS_0 + 4 * i);
		if (b->upper) {
			uint32_t mask = (uint32_t)(~(b->size - 1) >> 32);
			if (v & ~mask)
				fuzz_die("config: BAR%u (upper) 0x%08x decodes "
					 "bits below its size", i, v);
			continue;
		}
		if (!b->present) {
			if (v)
				fuzz_die("config: absent BAR%u reads 0x%08x", i, v);
			continue;
		}
		uint32_t tmask = b->io ? 0x3u : 0xfu;
		if ((v & tmask) != b->type)
			fuzz_die("config: BAR%u type bits 0x%x, want 0x%x", i,
				 v & tmask, b->type);
		if (v & ~tmask & (uint32_t)(b->size - 1))
			fuzz_die("config: BAR%u 0x%08x decodes bits below its "
				 "size 0x%llx", i, v, (unsigned long long)b->size);
	}
	uint32_t rom = rd32(f, PCI_ROM_ADDRESS);
	if (!f->rom_size ? rom != 0 :
	    (rom & ~PCI_ROM_ADDRESS_ENABLE & (uint32_t)(f->rom_size - 1)) != 0)
		fuzz_die("config: ROM BAR 0x%08x, ROM size 0x%llx", rom,
			 (unsigned long long)f->rom_size);
}

static void check_identity(struct fdev *f)
{
	uint8_t now[0x40];
	if (cfg_rw(f, 0, now, sizeof(now), false) != sizeof(now))
		fuzz_die("config: header read refused");
	/* IDs, class, revision, header type, subsystem, pin: read-only. */
	static const unsigned ro[] = { 0, 1, 2, 3, 8, 9, 10, 11, 14,
				       0x2c, 0x2d, 0x2e, 0x2f, 0x3d };
	for (unsigned i = 0; i < sizeof(ro) / sizeof(ro[0]); i++)
		if (now[ro[i]] != f->ro[ro[i]])
			fuzz_die("config: read-only byte 0x%x changed 0x%02x -> "
				 "0x%02x", ro[i], f->ro[ro[i]], now[ro[i]]);
}

static void check_chains(struct fdev *f)
{
	uint8_t st[2], ptr;
	if (cfg_rw(f, PCI_STATUS, st, 2, false) != 2 ||
	    cfg_rw(f, PCI_CAPABILITY_LIST, &ptr, 1, false) != 1)
		fuzz_die("config: status read refused");
	if (!(st[0] & PCI_STATUS_CAP_LIST))
		fuzz_die("config: the capability list bit was cleared");
	for (unsigned steps = 0; ptr; steps++) {
		if (ptr < 0x40 || ptr > 0xfc)
			fuzz_die("config: capability pointer 0x%02x", ptr);
		if (steps > 48)
			fuzz_die("config: capability chain loops");
		uint8_t hdr[2];
		if (cfg_rw(f, ptr & ~3u, hdr, 2, false) != 2)
			fuzz_die("config: capability read refused");
		ptr = hdr[1];
	}
	if (f->cfg_size <= 0x100)
		return;
	unsigned off = 0x100;
	for (unsigned steps = 0; off; steps++) {
		if (off < 0x100 || off > f->cfg_size - 4 || off & 3)
			fuzz_die("config: extended capability at 0x%x", off);
		if (steps > (f->cfg_size - 0x100) / 4)
			fuzz_die("config: extended capability chain loops");
		off = rd32(f, off) >> 20;
	}
}

/* A read gives the same bytes whole and byte by byte. */
static void check_split(struct fdev *f, uint64_t off, const uint8_t *whole,
			size_t len)
{
	for (size_t i = 0; i < len; i++) {
		uint8_t b;
		if (cfg_rw(f, off + i, &b, 1, false) != 1)
			fuzz_die("config: byte read at 0x%llx refused",
				 (unsigned long long)(off + i));
		if (b != whole[i])
			fuzz_die("config: 0x%llx reads 0x%02x alone, 0x%02x in "
				 "a %zu-byte read", (unsigned long long)(off + i),
				 b, whole[i], len);
	}
	uint8_t pub[256];
	if (len <= sizeof(pub) &&
	    (uvfio_dev_config_read(f->dev, (uint32_t)off, pub, len) < 0 ||
	     memcmp(pub, whole, len)))
		fuzz_die("config: uvfio_dev_config_read disagrees at 0x%llx",
			 (unsigned long long)off);
}

static void set_irqs(struct fdev *f, struct fin *in, unsigned index)
{
	uint8_t fl = fin_u8(in);
	uint32_t flags = (1u << (fl & 3)) | (8u << ((fl >> 4) & 3));
	if (fl & 0x4)
		flags |= 1u << (fl & 0x1f);       /* sometimes a stray bit */
	uint32_t start = fin_u8(in) & 0x3f, count = fin_u8(in) & 0x3f;
	uint8_t data[64];
	for (uint32_t i = 0; i < count; i++)
		data[i] = fin_u8(in);
	int fds[64];
	unsigned nfds = 0;
	if ((flags & VFIO_IRQ_SET_DATA_EVENTFD) && !(fl & 0x80))
		for (; nfds < count; nfds++)
			if ((fds[nfds] = fcntl(g_evfd, F_DUPFD_CLOEXEC, 3)) < 0)
				break;
	dev_set_irqs(f->dev, flags, index, start, count, data, count, fds, nfds);
	for (unsigned i = 0; i < nfds; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static void check_all(struct fdev *f)
{
	check_identity(f);
	check_bars(f);
	check_chains(f);
}

static const size_t sizes[8] = { 1, 2, 4, 8, 3, 16, 256, 0 };
static const unsigned bar_sel[4] = { 0, 2, 4, 5 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!g_dev[0].dev)
		LLVMFuzzerInitialize(NULL, NULL);
	fuzz_fd_init();
	struct fin in = { data, size };
	struct fdev *f = &g_dev[fin_u8(&in) & 1];
	uint8_t buf[256], back[256];

	dev_reset(f->dev);
	for (unsigned ops = 0; in.n && ops < 1024; ops++) {
		uint8_t op = fin_u8(&in);
		unsigned kind = op & 7, sel = op >> 6;
		size_t len = sizes[(op >> 3) & 7];
		if (!len)
			len = (size_t)fin_u8(&in) + 1;
		if (kind == 6) {
			set_irqs(f, &in, sel);
			check_all(f);
			continue;
		}
		if (kind == 7) {
			dev_reset(f->dev);
			check_all(f);
			continue;
		}
		uint64_t off = fin_u16(&in);
		if (kind == 4 || kind == 5) {
			if (kind == 5)
				for (size_t i = 0; i < len; i++)
					buf[i] = fin_u8(&in);
			dev_region_access(f->dev, bar_sel[sel], off, buf, len,
					  kind == 5);
			if (kind == 5)
				check_all(f);
			continue;
		}
		off &= 0x1fff;
		if (kind == 3) {
			/* Size a BAR or the ROM the way firmware does. */
			off = PCI_BASE_ADDRESS_0 + 4 * (off % 7);
			if (off == PCI_BASE_ADDRESS_0 + 24)
				off = PCI_ROM_ADDRESS;
			len = 4;
			memset(buf, 0xff, 4);
		} else if (kind) {
			for (size_t i = 0; i < len; i++)
				buf[i] = fin_u8(&in);
		}
		bool inside = off < f->cfg_size && len <= f->cfg_size - off;
		ssize_t r = cfg_rw(f, off, buf, len, kind != 0);
		if (inside && r != (ssize_t)len)
			fuzz_die("config: %s of %zu at 0x%llx refused: %zd",
				 kind ? "write" : "read", len,
				 (unsigned long long)off, r);
		if (!inside && r >= 0)
			fuzz_die("config: access of %zu at 0x%llx past the end "
				 "accepted", len, (unsigned long long)off);
		if (inside && kind >= 2) {
			if (cfg_rw(f, off, back, len, false) != (ssize_t)len)
				fuzz_die("config: read back refused");
			check_split(f, off, back, len);
		} else if (inside && kind == 0) {
			check_split(f, off, buf, len);
		}
		/* Reads change nothing (check_split holds them to it). */
		if (kind)
			check_all(f);
	}
	dev_irq_release_all(f->dev);
	f->dev->ntimers = 0;
	dev_reset(f->dev);
	fuzz_fd_check("config");
	return 0;
}
