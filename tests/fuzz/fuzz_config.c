/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: the config-space engine, through the device model's region
 * access (region 7), as a client's REGION_READ/WRITE reach it.  The
 * device is built with the public builder and every feature it offers:
 * BARs of every kind (absent, IO, 32-bit, 64-bit below and above 4 GiB,
 * prefetchable), a ROM, MSI with 32 maskable vectors, a device-specific
 * region.
 *
 * Input: a sequence of accesses, each
 *   u8 op:  bits 0-1  0 read, 1 write, 2 write then read back,
 *                     3 BAR sizing (~0 to a BAR register, read back)
 *           bits 2-4  size: 1 2 4 8 3 16 256, 7: next byte + 1
 *           bit  7    device reset before the access
 *   u16 offset (0 .. 0x1fff: in and past the space)
 *   the value bytes of a write
 * After every access the rules a client relies on are checked: access
 * results (in range: always done; out of range: refused), read-only
 * identity, BAR and ROM decoding, the capability chain, and that reads
 * are the same whole or byte by byte.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <stdlib.h>
#include <string.h>

#include "device/dev.h"
#include "fuzz_common.h"

#define VENDOR 0x1b36
#define DEVICE 0x11f0

struct bar_desc {
	uint64_t size;         /* 0: absent */
	unsigned flags;
};

/* BAR0 64-bit 8 GiB prefetchable, BAR2 32-bit, BAR3 IO, BAR4 64-bit. */
static const struct bar_desc bars[6] = {
	{ 8ull << 30, UVFIO_BAR_MEM64 | UVFIO_BAR_PREFETCH },
	{ 0, 0 },                            /* upper half of BAR0 */
	{ 4096, UVFIO_BAR_MEM32 },
	{ 256, UVFIO_BAR_IO },
	{ 1u << 20, UVFIO_BAR_MEM64 },
	{ 0, 0 },                            /* upper half of BAR4 */
};

static struct uvfio_dev *g_dev;
static uint32_t g_cfg_size;
static uint64_t g_rom_size;
static uint8_t g_id_bytes[16];    /* vendor .. header type at power-on */

static int reset_cb(void *opaque)
{
	return 0;
}

static struct uvfio_dev *build(void)
{
	struct uvfio_dev *d = uvfio_dev_new("fuzz-config");
	if (!d)
		return NULL;
	const struct uvfio_pci_ids ids = {
		.vendor = VENDOR, .device = DEVICE,
		.subsystem_vendor = VENDOR, .subsystem_device = 7,
		.class_code = 0x010802, .revision = 3, .irq_pin = 2,
	};
	static uint8_t rom[3000];
	memset(rom, 0xa5, sizeof(rom));
	rom[0] = 0x55;
	rom[1] = 0xaa;
	if (uvfio_dev_set_ids(d, &ids) < 0 ||
	    uvfio_dev_add_rom(d, rom, sizeof(rom)) < 0 ||
	    uvfio_dev_add_region(d, 9, 4096, VFIO_REGION_INFO_FLAG_READ,
				 1, 2, NULL, NULL) < 0 ||
	    uvfio_dev_add_msi(d, 32, UVFIO_MSI_64BIT | UVFIO_MSI_MASKABLE) < 0 ||
	    uvfio_dev_set_reset(d, reset_cb, NULL) < 0)
		goto fail;
	for (unsigned i = 0; i < 6; i++)
		if (bars[i].size && uvfio_dev_add_bar(d, i, bars[i].size,
						      bars[i].flags, NULL,
						      NULL) < 0)
			goto fail;
	if (dev_seal(d) < 0)
		goto fail;
	return d;
fail:
	uvfio_dev_free(d);
	return NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	g_dev = build();
	if (!g_dev)
		fuzz_die("config: cannot build the device");
	struct dev_region *r = dev_region(g_dev, VFIO_PCI_CONFIG_REGION_INDEX);
	g_cfg_size = (uint32_t)r->size;
	g_rom_size = dev_region(g_dev, VFIO_PCI_ROM_REGION_INDEX)->size;
	if (uvfio_dev_config_read(g_dev, 0, g_id_bytes, sizeof(g_id_bytes)) < 0)
		fuzz_die("config: cannot read the header");
	return 0;
}

static ssize_t cfg_rw(uint64_t off, void *buf, size_t len, bool write)
{
	return dev_region_access(g_dev, VFIO_PCI_CONFIG_REGION_INDEX, off, buf,
				 len, write);
}

static uint32_t rd32(unsigned off)
{
	uint8_t b[4];
	if (cfg_rw(off, b, 4, false) != 4)
		fuzz_die("config: read32 at 0x%x refused", off);
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
}

static void check_bars(void)
{
	for (unsigned i = 0; i < 6; i++) {
		const struct bar_desc *b = &bars[i];
		uint32_t v = rd32(PCI_BASE_ADDRESS_0 + 4 * i);
		bool upper = i > 0 && bars[i - 1].flags & UVFIO_BAR_MEM64 &&
			     bars[i - 1].size;
		if (upper) {
			uint64_t size = bars[i - 1].size;
			uint32_t mask = (uint32_t)(~(size - 1) >> 32);
			if (v & ~mask)
				fuzz_die("config: BAR%u (upper) 0x%08x decodes "
					 "bits below its size", i, v);
			continue;
		}
		if (!b->size) {
			if (v)
				fuzz_die("config: absent BAR%u reads 0x%08x", i, v);
			continue;
		}
		uint32_t type, tmask;
		if (b->flags & UVFIO_BAR_IO) {
			type = PCI_BASE_ADDRESS_SPACE_IO;
			tmask = 0x3;
		} else {
			type = (b->flags & UVFIO_BAR_MEM64 ?
				PCI_BASE_ADDRESS_MEM_TYPE_64 : 0) |
			       (b->flags & UVFIO_BAR_PREFETCH ?
				PCI_BASE_ADDRESS_MEM_PREFETCH : 0);
			tmask = 0xf;
		}
		if ((v & tmask) != type)
			fuzz_die("config: BAR%u type bits 0x%x, want 0x%x", i,
				 v & tmask, type);
		if (v & ~tmask & (uint32_t)(b->size - 1))
			fuzz_die("config: BAR%u 0x%08x decodes bits below its "
				 "size 0x%llx", i, v, (unsigned long long)b->size);
	}
	uint32_t rom = rd32(PCI_ROM_ADDRESS);
	if (rom & ~PCI_ROM_ADDRESS_ENABLE & (uint32_t)(g_rom_size - 1))
		fuzz_die("config: ROM BAR 0x%08x decodes bits below its size",
			 rom);
}

static void check_identity(void)
{
	uint8_t now[16];
	if (cfg_rw(0, now, sizeof(now), false) != sizeof(now))
		fuzz_die("config: header read refused");
	/* IDs, class, revision, header type: read-only. */
	static const unsigned ro[] = { 0, 1, 2, 3, 8, 9, 10, 11, 14 };
	for (unsigned i = 0; i < sizeof(ro) / sizeof(ro[0]); i++)
		if (now[ro[i]] != g_id_bytes[ro[i]])
			fuzz_die("config: read-only byte 0x%x changed 0x%02x -> "
				 "0x%02x", ro[i], g_id_bytes[ro[i]], now[ro[i]]);
	uint8_t pin;
	if (cfg_rw(PCI_INTERRUPT_PIN, &pin, 1, false) != 1 || pin != 2)
		fuzz_die("config: interrupt pin changed to %u", pin);
}

static void check_caps(void)
{
	uint8_t st[2], ptr;
	if (cfg_rw(PCI_STATUS, st, 2, false) != 2 ||
	    cfg_rw(PCI_CAPABILITY_LIST, &ptr, 1, false) != 1)
		fuzz_die("config: status read refused");
	if (!(st[0] & PCI_STATUS_CAP_LIST))
		fuzz_die("config: the capability list bit was cleared");
	unsigned steps = 0;
	while (ptr) {
		if (ptr < 0x40 || ptr > 0xfc)
			fuzz_die("config: capability pointer 0x%02x", ptr);
		if (++steps > 48)
			fuzz_die("config: capability chain loops");
		uint8_t hdr[2];
		if (cfg_rw(ptr & ~3u, hdr, 2, false) != 2)
			fuzz_die("config: capability read refused");
		ptr = hdr[1];
	}
}

/* A read gives the same bytes whole and byte by byte. */
static void check_split(uint64_t off, const uint8_t *whole, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		uint8_t b;
		if (cfg_rw(off + i, &b, 1, false) != 1)
			fuzz_die("config: byte read at 0x%llx refused",
				 (unsigned long long)(off + i));
		if (b != whole[i])
			fuzz_die("config: 0x%llx reads 0x%02x alone, 0x%02x in "
				 "a %zu-byte read", (unsigned long long)(off + i),
				 b, whole[i], len);
	}
	uint8_t pub[256];
	if (len <= sizeof(pub) &&
	    (uvfio_dev_config_read(g_dev, (uint32_t)off, pub, len) < 0 ||
	     memcmp(pub, whole, len)))
		fuzz_die("config: uvfio_dev_config_read disagrees at 0x%llx",
			 (unsigned long long)off);
}

static const size_t sizes[8] = { 1, 2, 4, 8, 3, 16, 256, 0 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!g_dev)
		LLVMFuzzerInitialize(NULL, NULL);
	struct fin in = { data, size };
	uint8_t buf[256], back[256];

	dev_reset(g_dev);
	for (unsigned ops = 0; in.n && ops < 4096; ops++) {
		uint8_t op = fin_u8(&in);
		size_t len = sizes[(op >> 2) & 7];
		if (!len)
			len = (size_t)fin_u8(&in) + 1;
		uint64_t off = fin_u16(&in) & 0x1fff;
		unsigned kind = op & 3;
		if (op & 0x80)
			dev_reset(g_dev);
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
		bool inside = off < g_cfg_size && len <= g_cfg_size - off;
		ssize_t r = cfg_rw(off, buf, len, kind != 0);
		if (inside && r != (ssize_t)len)
			fuzz_die("config: %s of %zu at 0x%llx refused: %zd",
				 kind ? "write" : "read", len,
				 (unsigned long long)off, r);
		if (!inside && r >= 0)
			fuzz_die("config: access of %zu at 0x%llx past the end "
				 "accepted", len, (unsigned long long)off);
		if (inside && kind >= 2) {
			if (cfg_rw(off, back, len, false) != (ssize_t)len)
				fuzz_die("config: read back refused");
			check_split(off, back, len);
		} else if (inside && kind == 0) {
			check_split(off, buf, len);
		}
		check_identity();
		check_bars();
		check_caps();
	}
	return 0;
}
