/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * uvfio-vm-cfgdiff DEVICE: the config-space differential test.  The same
 * write sequence goes to edu's config region, and after each write the
 * touched register is read back and printed.  tests/vm/run.sh runs it
 * against QEMU's edu through the kernel's vfio-pci (in the guest) and
 * against uvfio's edu over vfio-user (on the host) and compares every
 * line.  Registers whose content the platform decides (BAR addresses the
 * guest's firmware assigned, interrupt routing) are overwritten before
 * they are read, so both sides start from what the test wrote.
 */
#include <linux/pci_regs.h>
#include <stdio.h>
#include <string.h>

#include <uvfio/client.h>

#define CFG VFIO_PCI_CONFIG_REGION_INDEX

struct step {
	uint16_t off;
	uint8_t size;
	uint32_t val;
	const char *what;
};

static const struct step steps[] = {
	{ PCI_VENDOR_ID, 4, 0xffffffff, "vendor/device are read-only" },
	{ PCI_REVISION_ID, 4, 0, "revision/class are read-only" },
	{ PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, "COMMAND mem+master" },
	{ PCI_COMMAND, 1, PCI_COMMAND_MEMORY, "COMMAND low byte alone" },
	{ PCI_COMMAND + 1, 1, PCI_COMMAND_INTX_DISABLE >> 8, "COMMAND high byte: INTx disable" },
	{ PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, "COMMAND INTx enabled again" },
	{ PCI_CACHE_LINE_SIZE, 1, 0x10, "cache line size" },
	{ PCI_BASE_ADDRESS_0, 4, 0xffffffff, "BAR0 sizing" },
	{ PCI_BASE_ADDRESS_0 + 2, 2, 0xffff, "BAR0 upper half alone" },
	{ PCI_BASE_ADDRESS_0, 4, 0xfe100000, "BAR0 address" },
	{ PCI_BASE_ADDRESS_0 + 3, 1, 0xfd, "BAR0 top byte alone" },
	{ PCI_BASE_ADDRESS_1, 4, 0xffffffff, "BAR1 absent" },
	{ PCI_BASE_ADDRESS_2, 4, 0xffffffff, "BAR2 absent" },
	{ PCI_BASE_ADDRESS_5, 4, 0xffffffff, "BAR5 absent" },
	{ PCI_ROM_ADDRESS, 4, 0xffffffff, "no ROM" },
	{ PCI_SUBSYSTEM_VENDOR_ID, 4, 0, "subsystem IDs are read-only" },
	{ PCI_CAPABILITY_LIST, 1, 0x80, "capability pointer is read-only" },
	{ PCI_INTERRUPT_LINE, 1, 0x0b, "interrupt line" },
	{ PCI_INTERRUPT_PIN, 1, 0x04, "interrupt pin is read-only" },
	{ 0x40, 2, 0xffff, "MSI: ID and next are read-only" },
	/*
	 * The capability bits are written back unchanged: vfio-pci lets a
	 * write change the virtual 64-bit and Multiple Message Capable bits
	 * (they read back as written), uvfio keeps them read-only.
	 */
	{ 0x40 + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_ENABLE,
	  "MSI enable without SET_IRQS" },
	{ 0x40 + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_64BIT | (5u << 4),
	  "MSI Multiple Message Enable clamped" },
	{ 0x40 + PCI_MSI_ADDRESS_LO, 4, 0xfee00000, "MSI address" },
	{ 0x40 + PCI_MSI_ADDRESS_HI, 4, 0x00000001, "MSI upper address" },
	{ 0x40 + PCI_MSI_DATA_64, 2, 0x4041, "MSI data" },
	{ PCI_COMMAND, 2, 0, "COMMAND cleared" },
};

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "Usage: uvfio-vm-cfgdiff DEVICE\n");
		return 2;
	}
	struct uvfio_device *d;
	int r = uvfio_device_open(argv[1], NULL, &d);
	if (r < 0) {
		printf("FAIL open: %s\n", strerror(-r));
		return 1;
	}
	int failed = 0;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		const struct step *s = &steps[i];
		uint8_t buf[4] = { (uint8_t)s->val, (uint8_t)(s->val >> 8),
				   (uint8_t)(s->val >> 16), (uint8_t)(s->val >> 24) };
		ssize_t w = uvfio_region_write(d, CFG, s->off, buf, s->size);
		/* Read back the naturally aligned register the write hit. */
		uint16_t roff = (uint16_t)(s->off & ~(s->size == 4 ? 3u : s->size == 2 ? 1u : 0u));
		uint8_t rb[4] = { 0 };
		ssize_t n = uvfio_region_read(d, CFG, roff & ~3u, rb, 4);
		uint32_t v = (uint32_t)rb[0] | (uint32_t)rb[1] << 8 |
			     (uint32_t)rb[2] << 16 | (uint32_t)rb[3] << 24;
		bool ok = w == s->size && n == 4;
		failed += !ok;
		printf("%s write 0x%02x/%u 0x%0*x -> dword 0x%02x reads 0x%08x  (%s)\n",
		       ok ? "ok  " : "FAIL", s->off, s->size, 2 * s->size, s->val,
		       roff & ~3u, v, s->what);
	}
	uvfio_device_close(d);
	return failed ? 1 : 0;
}
