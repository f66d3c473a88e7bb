/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What a driver does with a device, through the client library: the
 * conversation the client fuzz target feeds with a hostile server's
 * replies, and that the seed generator records against the real server
 * (so the seeds are real replies to exactly these requests).
 */
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <uvfio/client.h>
#include "devices/models.h"
#include "fuzz_session.h"

/* Memory the device may reach through DMA messages (no fd shared). */
static uint8_t dma_mem[FUZZ_SESSION_DMA_SIZE] __attribute__((aligned(4096)));

void fuzz_session_opts(uint8_t cfg, struct uvfio_open_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->no_dma_thread = true;
	o->timeout_ms = FUZZ_SESSION_TIMEOUT_MS;
	o->no_twin_socket = !(cfg & 1);
	o->max_data_xfer_size = cfg & 2 ? 4096 : 0;
	o->max_msg_fds = cfg & 4 ? 1 : 0;
}

static void regions(struct uvfio_device *d, unsigned n)
{
	struct uvfio_region_info ri;
	for (unsigned i = 0; i < n; i++)
		uvfio_region_get_info(d, i, &ri);
}

/* Through the mapping when the region is mmap-able. */
static void mapped(struct uvfio_device *d, unsigned index)
{
	void *base;
	struct uvfio_region_info ri;
	if (uvfio_region_get_info(d, index, &ri) < 0 ||
	    uvfio_region_mmap(d, index, &base) < 0)
		return;
	uint32_t v = 0;
	uvfio_region_read(d, index, 0, &v, sizeof(v));
	if (ri.size >= 8)
		uvfio_region_write(d, index, ri.size - 4, &v, sizeof(v));
	uvfio_region_munmap(d, index);
}

void fuzz_session_run(int sock, uint8_t cfg)
{
	struct uvfio_open_opts o;
	struct uvfio_device *d;
	fuzz_session_opts(cfg, &o);
	if (uvfio_device_open_fd(sock, &o, &d) < 0)
		return;

	uint16_t major, minor;
	struct uvfio_caps caps;
	uvfio_device_negotiated(d, &major, &minor, &caps);
	struct uvfio_device_info info = { .num_regions = 10 };
	uvfio_device_get_info(d, &info);
	regions(d, info.num_regions < 12 ? info.num_regions : 12);
	for (unsigned i = 0; i < VFIO_PCI_NUM_IRQS; i++) {
		struct uvfio_irq_info ii;
		uvfio_irq_get_info(d, i, &ii);
	}

	uint32_t v = 0;
	uvfio_region_read32(d, 0, TESTDEV_REG_ID, &v);
	static uint8_t big[3 * 4096 + 100];
	uvfio_region_read(d, 2, 0x1000, big, sizeof(big));
	uvfio_region_write32(d, 0, TESTDEV_REG_SCRATCH, 0x12345678);
	uint16_t w = 0xabcd;
	uvfio_region_write_posted(d, 9, 2, &w, sizeof(w));
	uvfio_region_read(d, 9, 0, &w, sizeof(w));
	uint8_t cfgsp[64];
	uvfio_region_read(d, VFIO_PCI_CONFIG_REGION_INDEX, 0, cfgsp,
			  sizeof(cfgsp));
	mapped(d, 2);
	mapped(d, 4);

	/* The device reads and writes our memory through messages. */
	if (uvfio_dma_map(d, dma_mem, sizeof(dma_mem), FUZZ_SESSION_IOVA,
			  UVFIO_DMA_READ | UVFIO_DMA_WRITE, -1, 0) == 0) {
		uvfio_region_write64(d, 0, TESTDEV_REG_DMA_ADDR,
				     FUZZ_SESSION_IOVA + 0x100);
		uvfio_region_write32(d, 0, TESTDEV_REG_DMA_LEN, 64);
		uvfio_region_write32(d, 0, TESTDEV_REG_DMA_CMD, 1);
		uvfio_region_write32(d, 0, TESTDEV_REG_DMA_CMD, 2);
		uvfio_device_dispatch(d);
		uvfio_dma_unmap(d, FUZZ_SESSION_IOVA, sizeof(dma_mem));
	}

	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (efd >= 0) {
		uvfio_irq_enable(d, VFIO_PCI_MSI_IRQ_INDEX, 0, 1, &efd);
		uvfio_irq_mask(d, VFIO_PCI_INTX_IRQ_INDEX, 0);
		uvfio_irq_unmask(d, VFIO_PCI_INTX_IRQ_INDEX, 0);
		uvfio_irq_disable(d, VFIO_PCI_MSI_IRQ_INDEX);
		close(efd);
	}
	uvfio_device_reset(d);
	uvfio_dma_unmap_all(d);
	uvfio_device_dispatch(d);
	uvfio_device_close(d);
}
