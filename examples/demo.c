/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * uvfio-demo: a driver written on the client library, talking to a
 * device served by uvfio-serve.  Prints what was negotiated and what it
 * exchanged with the device.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <uvfio/client.h>
#include "devices/models.h"

#define BAR0 VFIO_PCI_BAR0_REGION_INDEX

static int fail(const char *what, int r)
{
	fprintf(stderr, "uvfio-demo: %s: %s\n", what, strerror(-r));
	return 1;
}

static const char *region_flags(uint32_t f, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s", f & VFIO_REGION_INFO_FLAG_READ ? "R" : "-",
		 f & VFIO_REGION_INFO_FLAG_WRITE ? "W" : "-",
		 f & VFIO_REGION_INFO_FLAG_MMAP ? "M" : "-",
		 f & VFIO_REGION_INFO_FLAG_CAPS ? "C" : "-");
	return buf;
}

int main(int argc, char **argv)
{
	if (argc != 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fprintf(argc == 2 ? stdout : stderr,
			"Usage: uvfio-demo SOCKET\n"
			"Drive the testdev model served at SOCKET (uvfio-serve testdev)\n"
			"through the uvfio client library and print each exchange.\n");
		return argc == 2 ? 0 : 2;
	}
	struct uvfio_device *d;
	int r = uvfio_device_open(argv[1], NULL, &d);
	if (r < 0)
		return fail(argv[1], r);

	uint16_t major, minor;
	struct uvfio_caps caps;
	uvfio_device_negotiated(d, &major, &minor, &caps);
	printf("negotiated: vfio-user %u.%u, server max_data_xfer_size %u, "
	       "max_msg_fds %u, max_dma_maps %u, write_multiple %s, twin socket %s\n",
	       major, minor, caps.max_data_xfer_size, caps.max_msg_fds,
	       caps.max_dma_maps, caps.write_multiple ? "yes" : "no",
	       caps.twin_socket ? "yes" : "no");

	struct uvfio_device_info info;
	if ((r = uvfio_device_get_info(d, &info)) < 0)
		return fail("DEVICE_GET_INFO", r);
	printf("device: flags%s%s, %u regions, %u irq indexes\n",
	       info.flags & VFIO_DEVICE_FLAGS_PCI ? " PCI" : "",
	       info.flags & VFIO_DEVICE_FLAGS_RESET ? " RESET" : "",
	       info.num_regions, info.num_irqs);
	for (unsigned i = 0; i < info.num_regions; i++) {
		struct uvfio_region_info ri;
		if ((r = uvfio_region_get_info(d, i, &ri)) < 0)
			return fail("DEVICE_GET_REGION_INFO", r);
		if (!ri.size)
			continue;
		char fl[8];
		const char *name = uvfio_region_name(i);
		printf("  region %u %-6s size 0x%llx flags %s", i, name ? name : "dev",
		       (unsigned long long)ri.size, region_flags(ri.flags, fl, sizeof(fl)));
		for (unsigned a = 0; a < ri.nr_areas; a++)
			printf(" mmap[0x%llx+0x%llx]", (unsigned long long)ri.areas[a].offset,
			       (unsigned long long)ri.areas[a].size);
		if (ri.has_type)
			printf(" type 0x%x/%u", ri.type, ri.subtype);
		printf("\n");
	}
	for (unsigned i = 0; i < info.num_irqs; i++) {
		struct uvfio_irq_info ii;
		if ((r = uvfio_irq_get_info(d, i, &ii)) < 0)
			return fail("DEVICE_GET_IRQ_INFO", r);
		printf("  irq %u %-5s count %u\n", i, uvfio_irq_name(i), ii.count);
	}

	uint16_t vendor, devid;
	uvfio_region_read16(d, VFIO_PCI_CONFIG_REGION_INDEX, 0, &vendor);
	uvfio_region_read16(d, VFIO_PCI_CONFIG_REGION_INDEX, 2, &devid);
	printf("config: vendor 0x%04x device 0x%04x\n", vendor, devid);

	uint32_t id, v;
	if ((r = uvfio_region_read32(d, BAR0, TESTDEV_REG_ID, &id)) < 0)
		return fail("REGION_READ", r);
	printf("BAR0 ID register: 0x%08x (%s)\n", id,
	       id == TESTDEV_ID_VALUE ? "ok" : "WRONG");
	uvfio_region_write32(d, BAR0, TESTDEV_REG_SCRATCH, 0xc0ffee);
	uvfio_region_read32(d, BAR0, TESTDEV_REG_SCRATCH, &v);
	printf("BAR0 scratch: wrote 0xc0ffee, read 0x%x\n", v);

	/* DMA: the device reads our buffer, then writes it back elsewhere. */
	struct uvfio_dma_buf *src, *dst;
	if ((r = uvfio_dma_alloc(d, 4096, UVFIO_DMA_READ | UVFIO_DMA_WRITE, &src)) < 0 ||
	    (r = uvfio_dma_alloc(d, 4096, UVFIO_DMA_READ | UVFIO_DMA_WRITE |
					  UVFIO_DMA_NO_FD, &dst)) < 0)
		return fail("DMA_MAP", r);
	for (unsigned i = 0; i < 4096; i++)
		((uint8_t *)src->vaddr)[i] = (uint8_t)(i * 31 + 7);
	uvfio_region_write64(d, BAR0, TESTDEV_REG_DMA_ADDR, src->iova);
	uvfio_region_write32(d, BAR0, TESTDEV_REG_DMA_LEN, 4096);
	uvfio_region_write32(d, BAR0, TESTDEV_REG_DMA_CMD, 1);
	uint32_t st;
	uvfio_region_read32(d, BAR0, TESTDEV_REG_DMA_STATUS, &st);
	printf("DMA 4 KiB from shared memory (iova 0x%llx) into the device: status %u\n",
	       (unsigned long long)src->iova, st);

	int efd = eventfd(0, EFD_CLOEXEC);
	uvfio_irq_enable(d, VFIO_PCI_MSI_IRQ_INDEX, 0, 1, &efd);
	uvfio_region_write64(d, BAR0, TESTDEV_REG_DMA_ADDR, dst->iova);
	uvfio_region_write32(d, BAR0, TESTDEV_REG_DMA_CMD, 0x102);
	struct pollfd p = { .fd = efd, .events = POLLIN };
	int got = poll(&p, 1, 5000);
	uint64_t cnt = 0;
	if (got == 1 && read(efd, &cnt, sizeof(cnt)) != sizeof(cnt))
		cnt = 0;
	uvfio_region_read32(d, BAR0, TESTDEV_REG_DMA_STATUS, &st);
	bool same = !memcmp(src->vaddr, dst->vaddr, 4096);
	printf("DMA 4 KiB from the device into unshared memory (iova 0x%llx, "
	       "by %llu DMA_WRITE message%s): status %u, MSI %s, data %s\n",
	       (unsigned long long)dst->iova,
	       (unsigned long long)uvfio_device_dma_requests(d),
	       uvfio_device_dma_requests(d) == 1 ? "" : "s", st,
	       cnt ? "received" : "MISSING", same ? "identical" : "DIFFERENT");
	uvfio_irq_disable(d, VFIO_PCI_MSI_IRQ_INDEX);
	close(efd);

	r = uvfio_device_reset(d);
	uvfio_region_read32(d, BAR0, TESTDEV_REG_SCRATCH, &v);
	printf("DEVICE_RESET: %s, scratch now 0x%x\n", r ? strerror(-r) : "ok", v);
	uvfio_dma_free(d, src);
	uvfio_dma_free(d, dst);
	uvfio_device_close(d);
	return (id == TESTDEV_ID_VALUE && st == 0 && same && cnt) ? 0 : 1;
}
