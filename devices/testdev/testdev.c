/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * testdev: a device that exercises every part of the device API, used by
 * the test suite (and available from uvfio-serve).  BAR0 holds registers
 * (see devices/models.h), BAR2 is 128 MiB of mmap-able memory, BAR4 is
 * memory of which only two areas are mmap-able, BAR5 is an IO BAR served
 * by callbacks, there is a ROM, MSI with 4 maskable vectors, MSI-X and
 * ERR counts for SET_IRQS tests, and a device-specific region 9.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <uvfio/pci.h>

#include "devices/models.h"

struct testdev {
	struct uvfio_dev *dev;
	uint32_t scratch;
	uint64_t count;
	uint64_t dma_addr;
	uint32_t dma_len;
	uint32_t dma_status;
	uint32_t pending_cmd;
	bool dma_busy;           /* an asynchronous DMA is in flight */
	uint32_t resets;
	uint32_t irq_result;
	uint32_t low_power;
	uint8_t *dma_buf;
	uint8_t io[TESTDEV_BAR5_SIZE];
	uint8_t region9[TESTDEV_REGION9_SIZE];
};

static uint64_t load_le(const void *buf, size_t n)
{
	uint64_t v = 0;
	const uint8_t *b = buf;
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

static void store_le(void *buf, size_t n, uint64_t v)
{
	uint8_t *b = buf;
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

/* Tell the driver: MSI vector 0 if bound, else INTx. */
static void dma_irq(struct testdev *t)
{
	if (uvfio_dev_irq_trigger(t->dev, VFIO_PCI_MSI_IRQ_INDEX, 0) < 0)
		uvfio_dev_irq_trigger(t->dev, VFIO_PCI_INTX_IRQ_INDEX, 0);
}

/* An asynchronous DMA ended; a reset's cancel is not reported. */
static void dma_done(void *opaque, int err)
{
	struct testdev *t = opaque;
	t->dma_busy = false;
	if (err == -ECANCELED)
		return;
	t->dma_status = (uint32_t)-err;
	if (t->pending_cmd & 0x100)
		dma_irq(t);
}

/*
 * A DMA to shared windows is a copy, done at once.  One that needs the
 * client's help (fd-less windows) never blocks the loop: DMA_STATUS
 * reads busy (0xffffffff) until it ends; started by a DMA_CMD write
 * (not by the timer) it is ordered, so the client's next command sees
 * it done, as with a synchronous copy.
 */
static void run_dma(struct testdev *t, uint32_t cmd)
{
	int r;
	bool write = (cmd & 0xff) == 2;
	t->pending_cmd = cmd;
	if (t->dma_len > TESTDEV_DMA_BUF_SIZE) {
		r = -E2BIG;
	} else if ((cmd & 0xff) != 1 && (cmd & 0xff) != 2) {
		r = -EINVAL;
	} else if (uvfio_dev_dma_direct(t->dev, t->dma_addr, t->dma_len, write)) {
		r = write ? uvfio_dev_dma_write(t->dev, t->dma_addr, t->dma_buf,
						t->dma_len)
			  : uvfio_dev_dma_read(t->dev, t->dma_addr, t->dma_buf,
					       t->dma_len);
	} else {
		unsigned flags = cmd & 0x100 ? 0 : UVFIO_DMA_ORDERED;
		t->dma_status = 0xffffffffu;
		r = write ? uvfio_dev_dma_write_async(t->dev, t->dma_addr,
						      t->dma_buf, t->dma_len,
						      flags, dma_done, t)
			  : uvfio_dev_dma_read_async(t->dev, t->dma_addr,
						     t->dma_buf, t->dma_len,
						     flags, dma_done, t);
		if (r == 0) {
			t->dma_busy = true;
			return;
		}
	}
	t->dma_status = (uint32_t)-r;
	if (cmd & 0x100)
		dma_irq(t);
}

static void dma_timer(void *opaque)
{
	struct testdev *t = opaque;
	run_dma(t, t->pending_cmd);
}

/* A register is 4 bytes, except DMA_ADDR (8); sub-register access works. */
static uint64_t reg_read(struct testdev *t, uint64_t reg)
{
	switch (reg) {
	case TESTDEV_REG_ID: return TESTDEV_ID_VALUE;
	case TESTDEV_REG_SCRATCH: return t->scratch;
	case TESTDEV_REG_COUNT: return (uint32_t)t->count;
	case TESTDEV_REG_DMA_ADDR: return (uint32_t)t->dma_addr;
	case TESTDEV_REG_DMA_ADDR + 4: return (uint32_t)(t->dma_addr >> 32);
	case TESTDEV_REG_DMA_LEN: return t->dma_len;
	case TESTDEV_REG_DMA_STATUS: return t->dma_status;
	case TESTDEV_REG_RESETS: return t->resets;
	case TESTDEV_REG_IRQ_RESULT: return t->irq_result;
	case TESTDEV_REG_LOW_POWER: return t->low_power;
	default: return 0;
	}
}

static void reg_write(struct testdev *t, uint64_t reg, uint32_t v)
{
	switch (reg) {
	case TESTDEV_REG_SCRATCH: t->scratch = v; break;
	case TESTDEV_REG_BUMP: t->count += v; break;
	case TESTDEV_REG_DMA_ADDR:
		t->dma_addr = (t->dma_addr & ~0xffffffffull) | v;
		break;
	case TESTDEV_REG_DMA_ADDR + 4:
		t->dma_addr = (t->dma_addr & 0xffffffffull) | (uint64_t)v << 32;
		break;
	case TESTDEV_REG_DMA_LEN: t->dma_len = v; break;
	case TESTDEV_REG_DMA_CMD:
		if (t->dma_busy)
			break;   /* one DMA at a time */
		if (v & 0x100) {
			t->pending_cmd = v;
			t->dma_status = 0xffffffffu;
			if (uvfio_dev_schedule(t->dev, 1000000, dma_timer, t) < 0)
				t->dma_status = EBUSY;
		} else {
			run_dma(t, v);
		}
		break;
	case TESTDEV_REG_IRQ:
		t->irq_result = (uint32_t)-uvfio_dev_irq_trigger(t->dev, v >> 16,
								  v & 0xffff);
		break;
	default: break;
	}
}

static ssize_t bar0_read(void *opaque, uint64_t off, void *buf, size_t count)
{
	struct testdev *t = opaque;
	uint8_t *b = buf;
	for (size_t i = 0; i < count; i++) {
		uint64_t a = off + i;
		b[i] = (uint8_t)(reg_read(t, a & ~3ull) >> (8 * (a & 3)));
	}
	return (ssize_t)count;
}

static ssize_t bar0_write(void *opaque, uint64_t off, const void *buf,
			  size_t count)
{
	struct testdev *t = opaque;
	/* Registers take whole dword writes; 8-byte writes are two dwords. */
	if ((count == 4 || count == 8) && !(off & 3)) {
		for (size_t i = 0; i < count; i += 4)
			reg_write(t, off + i,
				  (uint32_t)load_le((const uint8_t *)buf + i, 4));
		return (ssize_t)count;
	}
	if (off == TESTDEV_REG_SCRATCH && count < 4) {
		uint32_t v = t->scratch;
		uint8_t tmp[4];
		store_le(tmp, 4, v);
		memcpy(tmp, buf, count);
		t->scratch = (uint32_t)load_le(tmp, 4);
	}
	return (ssize_t)count;
}

static const struct uvfio_region_ops bar0_ops = {
	.read = bar0_read,
	.write = bar0_write,
};

static ssize_t io_read(void *opaque, uint64_t off, void *buf, size_t count)
{
	struct testdev *t = opaque;
	memcpy(buf, t->io + off, count);
	return (ssize_t)count;
}

static ssize_t io_write(void *opaque, uint64_t off, const void *buf,
			size_t count)
{
	struct testdev *t = opaque;
	memcpy(t->io + off, buf, count);
	return (ssize_t)count;
}

static const struct uvfio_region_ops io_ops = {
	.read = io_read,
	.write = io_write,
};

static ssize_t r9_read(void *opaque, uint64_t off, void *buf, size_t count)
{
	struct testdev *t = opaque;
	memcpy(buf, t->region9 + off, count);
	return (ssize_t)count;
}

static ssize_t r9_write(void *opaque, uint64_t off, const void *buf,
			size_t count)
{
	struct testdev *t = opaque;
	memcpy(t->region9 + off, buf, count);
	return (ssize_t)count;
}

static const struct uvfio_region_ops r9_ops = {
	.read = r9_read,
	.write = r9_write,
};

static int testdev_reset(void *opaque)
{
	struct testdev *t = opaque;
	t->scratch = 0;
	t->count = 0;
	t->dma_addr = 0;
	t->dma_len = 0;
	t->dma_status = 0;
	t->irq_result = 0;
	t->resets++;
	return 0;
}

static int testdev_low_power(void *opaque, bool enter)
{
	struct testdev *t = opaque;
	t->low_power = enter;
	return 0;
}

static void testdev_destroy(void *state)
{
	struct testdev *t = state;
	if (!t)
		return;
	uvfio_dev_free(t->dev);
	if (t->dma_buf)
		munmap(t->dma_buf, TESTDEV_DMA_BUF_SIZE);
	free(t);
}

static struct uvfio_dev *testdev_create(void **state)
{
	struct testdev *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	/* Page aligned, like a real device's buffer: copies run faster. */
	t->dma_buf = mmap(NULL, TESTDEV_DMA_BUF_SIZE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (t->dma_buf == MAP_FAILED)
		t->dma_buf = NULL;
	t->dev = uvfio_dev_new("testdev");
	if (!t->dma_buf || !t->dev)
		goto fail;
	struct uvfio_dev *d = t->dev;
	const struct uvfio_pci_ids ids = {
		.vendor = TESTDEV_VENDOR, .device = TESTDEV_DEVICE,
		.subsystem_vendor = TESTDEV_VENDOR, .subsystem_device = 1,
		.class_code = 0xff0000, .revision = 1, .irq_pin = 1,
	};
	uint8_t rom[TESTDEV_ROM_SIZE];
	for (unsigned i = 0; i < sizeof(rom); i++)
		rom[i] = (uint8_t)(i * 7 + 3);
	rom[0] = 0x55;
	rom[1] = 0xaa;
	if (uvfio_dev_set_ids(d, &ids) < 0 ||
	    uvfio_dev_add_bar(d, 0, TESTDEV_BAR0_SIZE, UVFIO_BAR_MEM32,
			      &bar0_ops, t) < 0 ||
	    /* A doorbell: each wakeup of its eventfd adds 1 to COUNT. */
	    uvfio_dev_add_doorbell(d, 0, TESTDEV_REG_BUMP, 4, true, 1) < 0 ||
	    /* Another: each wakeup raises MSI vector 0. */
	    uvfio_dev_add_doorbell(d, 0, TESTDEV_REG_IRQ, 4, true,
				   TESTDEV_DOORBELL_MSI0) < 0 ||
	    uvfio_dev_add_bar(d, 2, TESTDEV_BAR2_SIZE,
			      UVFIO_BAR_MEM64 | UVFIO_BAR_PREFETCH, NULL, NULL) < 0 ||
	    uvfio_dev_region_alloc_memory(d, 2, NULL) < 0 ||
	    uvfio_dev_add_bar(d, 4, TESTDEV_BAR4_SIZE, UVFIO_BAR_MEM32, NULL,
			      NULL) < 0 ||
	    uvfio_dev_region_alloc_memory(d, 4, NULL) < 0 ||
	    uvfio_dev_region_add_mmap_area(d, 4, 0x1000, 0x1000) < 0 ||
	    uvfio_dev_region_add_mmap_area(d, 4, 0x8000, 0x8000) < 0 ||
	    uvfio_dev_add_bar(d, 5, TESTDEV_BAR5_SIZE, UVFIO_BAR_IO, &io_ops,
			      t) < 0 ||
	    uvfio_dev_add_rom(d, rom, sizeof(rom)) < 0 ||
	    uvfio_dev_add_region(d, 9, TESTDEV_REGION9_SIZE,
				 VFIO_REGION_INFO_FLAG_READ |
				 VFIO_REGION_INFO_FLAG_WRITE,
				 TESTDEV_REGION9_TYPE, TESTDEV_REGION9_SUBTYPE,
				 &r9_ops, t) < 0 ||
	    uvfio_dev_add_msi(d, 4, UVFIO_MSI_64BIT | UVFIO_MSI_MASKABLE) < 0 ||
	    /* MSI-X: its table and PBA in BAR0's upper half. */
	    uvfio_pci_add_msix(uvfio_dev_pci(d), 0, TESTDEV_MSIX_VECTORS, 0,
			       TESTDEV_MSIX_TABLE, 0, TESTDEV_MSIX_PBA) < 0 ||
	    uvfio_dev_set_irq_count(d, VFIO_PCI_ERR_IRQ_INDEX, 1) < 0 ||
	    uvfio_dev_set_reset(d, testdev_reset, t) < 0 ||
	    uvfio_dev_set_low_power(d, testdev_low_power, t) < 0)
		goto fail;
	*state = t;
	return d;
fail:
	testdev_destroy(t);
	return NULL;
}

const struct uvfio_model uvfio_model_testdev = {
	.name = "testdev",
	.description = "exercises the whole device API (used by the tests)",
	.create = testdev_create,
	.destroy = testdev_destroy,
};
