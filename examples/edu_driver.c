/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdarg.h>
#include <linux/pci_regs.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "devices/edu/edu.h"
#include "edu_driver.h"

#define BAR0 VFIO_PCI_BAR0_REGION_INDEX
#define CFG VFIO_PCI_CONFIG_REGION_INDEX
#define IRQ_TIMEOUT_MS 5000
/*
 * Bytes per DMA transfer: less than edu's whole 4 KiB buffer, because
 * QEMU 7.2's edu (Debian 12) takes a transfer that ends exactly at the
 * buffer's end for out of bounds and aborts the whole VM (hw_error).
 */
#define DMA_LEN_SAFE 2048u

struct drv {
	struct uvfio_device *d;
	FILE *out;
	int failed;
	unsigned dma_len;
};
#define DMA_LEN (v->dma_len)

static void result(struct drv *v, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void result(struct drv *v, bool ok, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(v->out, "%s ", ok ? "ok  " : "FAIL");
	vfprintf(v->out, fmt, ap);
	fputc('\n', v->out);
	fflush(v->out);
	va_end(ap);
	if (!ok)
		v->failed++;
}

static uint32_t rd32(struct drv *v, uint64_t off)
{
	uint32_t x = 0xdeadbeef;
	int r = uvfio_region_read32(v->d, BAR0, off, &x);
	if (r < 0)
		result(v, false, "read BAR0+0x%llx: %s", (unsigned long long)off,
		       strerror(-r));
	return x;
}

static void wr32(struct drv *v, uint64_t off, uint32_t x)
{
	int r = uvfio_region_write32(v->d, BAR0, off, x);
	if (r < 0)
		result(v, false, "write BAR0+0x%llx: %s", (unsigned long long)off,
		       strerror(-r));
}

static void wr64(struct drv *v, uint64_t off, uint64_t x)
{
	int r = uvfio_region_write64(v->d, BAR0, off, x);
	if (r < 0)
		result(v, false, "write BAR0+0x%llx: %s", (unsigned long long)off,
		       strerror(-r));
}

/* Wait for @efd to fire; returns the count read, 0 on timeout. */
static uint64_t wait_irq(int efd)
{
	struct pollfd p = { .fd = efd, .events = POLLIN };
	if (poll(&p, 1, IRQ_TIMEOUT_MS) != 1)
		return 0;
	uint64_t c = 0;
	if (read(efd, &c, sizeof(c)) != sizeof(c))
		return 0;
	return c;
}

static bool no_irq(int efd, int ms)
{
	struct pollfd p = { .fd = efd, .events = POLLIN };
	return poll(&p, 1, ms) == 0;
}

static void factorial(struct drv *v, int efd, const char *how, unsigned index)
{
	wr32(v, EDU_REG_STATUS, EDU_STATUS_IRQFACT);
	wr32(v, EDU_REG_FACT, 10);
	uint64_t n = wait_irq(efd);
	uint32_t f = rd32(v, EDU_REG_FACT);
	uint32_t st = rd32(v, EDU_REG_IRQ_STATUS);
	result(v, n && f == 3628800 && (st & EDU_IRQ_FACT),
	       "factorial 10! = %u, completion interrupt by %s %s, irq status 0x%x",
	       f, how, n ? "received" : "MISSING", st);
	wr32(v, EDU_REG_IRQ_ACK, EDU_IRQ_FACT);
	if (index == VFIO_PCI_INTX_IRQ_INDEX) {
		/* Auto-masked: the line is low again after the ack, so an
		 * unmask must not bring another interrupt. */
		int r = uvfio_irq_unmask(v->d, VFIO_PCI_INTX_IRQ_INDEX, 0);
		result(v, r == 0 && no_irq(efd, 100),
		       "INTx unmask after acknowledge: %s, no spurious interrupt",
		       r ? strerror(-r) : "ok");
		/* Raise while unmasked fires once; a second raise while
		 * auto-masked waits for the unmask. */
		wr32(v, EDU_REG_IRQ_RAISE, 0x10);
		uint64_t a = wait_irq(efd);
		wr32(v, EDU_REG_IRQ_RAISE, 0x20);
		bool quiet = no_irq(efd, 100);
		r = uvfio_irq_unmask(v->d, VFIO_PCI_INTX_IRQ_INDEX, 0);
		uint64_t b = wait_irq(efd);
		result(v, a && quiet && b,
		       "INTx auto-masked: first raise %s, second held while masked %s, "
		       "delivered on unmask %s", a ? "fired" : "MISSING",
		       quiet ? "yes" : "NO", b ? "yes" : "NO");
		wr32(v, EDU_REG_IRQ_ACK, 0x30);
		uvfio_irq_unmask(v->d, VFIO_PCI_INTX_IRQ_INDEX, 0);
	}
}

static void dma(struct drv *v, int efd)
{
	struct uvfio_dma_buf *a = NULL, *b = NULL;
	int r = uvfio_dma_alloc(v->d, 4096, UVFIO_DMA_READ | UVFIO_DMA_WRITE, &a);
	if (r == 0)
		r = uvfio_dma_alloc(v->d, 4096, UVFIO_DMA_READ | UVFIO_DMA_WRITE, &b);
	if (r < 0) {
		result(v, false, "DMA memory: %s", strerror(-r));
		goto out;
	}
	uint8_t *pa = a->vaddr, *pb = b->vaddr;
	for (unsigned i = 0; i < 4096; i++) {
		pa[i] = (uint8_t)(i * 13 + 5);
		pb[i] = 0;
	}
	/* RAM -> device buffer. */
	wr64(v, EDU_REG_DMA_SRC, a->iova);
	wr64(v, EDU_REG_DMA_DST, EDU_DMA_START);
	wr64(v, EDU_REG_DMA_CNT, DMA_LEN);
	wr64(v, EDU_REG_DMA_CMD, EDU_DMA_RUN | EDU_DMA_IRQ);
	uint64_t n1 = wait_irq(efd);
	uint32_t st = rd32(v, EDU_REG_IRQ_STATUS);
	wr32(v, EDU_REG_IRQ_ACK, EDU_IRQ_DMA);
	result(v, n1 && (st & EDU_IRQ_DMA),
	       "DMA %u bytes RAM -> device: interrupt 0x%x %s", DMA_LEN, st & EDU_IRQ_DMA,
	       n1 ? "received" : "MISSING");
	/* Device buffer -> other RAM. */
	wr64(v, EDU_REG_DMA_SRC, EDU_DMA_START);
	wr64(v, EDU_REG_DMA_DST, b->iova);
	wr64(v, EDU_REG_DMA_CNT, DMA_LEN);
	wr64(v, EDU_REG_DMA_CMD, EDU_DMA_RUN | EDU_DMA_DIR_TO_RAM | EDU_DMA_IRQ);
	uint64_t n2 = wait_irq(efd);
	wr32(v, EDU_REG_IRQ_ACK, EDU_IRQ_DMA);
	bool same = !memcmp(pa, pb, DMA_LEN);
	bool rest = true;   /* and not a byte more */
	for (unsigned i = DMA_LEN; i < 4096; i++)
		rest &= pb[i] == 0;
	result(v, n2 && same && rest,
	       "DMA %u bytes device -> RAM: interrupt %s, data %s, rest %s", DMA_LEN,
	       n2 ? "received" : "MISSING", same ? "identical" : "DIFFERENT",
	       rest ? "untouched" : "WRITTEN");
	/*
	 * Unmapped, the same memory is out of the device's reach: a DMA to
	 * its old address is dropped (by the IOMMU, or by the vfio-user
	 * server), and the device completes it all the same.
	 */
	memset(pb, 0x5a, 4096);
	uint64_t gone = b->iova;
	r = uvfio_dma_unmap(v->d, gone, b->size);
	wr64(v, EDU_REG_DMA_SRC, EDU_DMA_START);
	wr64(v, EDU_REG_DMA_DST, gone);
	wr64(v, EDU_REG_DMA_CNT, DMA_LEN);
	wr64(v, EDU_REG_DMA_CMD, EDU_DMA_RUN | EDU_DMA_DIR_TO_RAM | EDU_DMA_IRQ);
	uint64_t n3 = wait_irq(efd);
	wr32(v, EDU_REG_IRQ_ACK, EDU_IRQ_DMA);
	bool kept = true;
	for (unsigned i = 0; i < 4096; i++)
		kept &= pb[i] == 0x5a;
	result(v, r == 0 && n3 && kept,
	       "DMA device -> RAM to an unmapped IOVA: unmap %s, interrupt %s, "
	       "destination %s", r ? strerror(-r) : "ok",
	       n3 ? "received" : "MISSING", kept ? "unchanged" : "WRITTEN");
out:
	if (a)
		uvfio_dma_free(v->d, a);
	if (b)
		uvfio_dma_free(v->d, b);
}

/* Liveness as the device returns it once @want shows, or after ~1 s. */
static uint32_t liveness_settle(struct drv *v, uint32_t want)
{
	uint32_t live = 0;

	for (int i = 0; i < 1000; i++) {
		live = rd32(v, EDU_REG_LIVENESS);
		if (live == want)
			break;
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
	return live;
}

static void ioeventfd(struct drv *v)
{
	const uint32_t data = 0xcafe0001;
	uint64_t one = 1;
	int efd = eventfd(0, EFD_CLOEXEC);
	if (efd < 0) {
		result(v, false, "ioeventfd: eventfd: %s", strerror(errno));
		return;
	}
	wr32(v, EDU_REG_LIVENESS, 0);
	int r = uvfio_ioeventfd(v->d, BAR0, EDU_REG_LIVENESS, 4, data, efd);
	int dup = r ? r : uvfio_ioeventfd(v->d, BAR0, EDU_REG_LIVENESS, 4, data, efd);
	bool sent = write(efd, &one, sizeof(one)) == sizeof(one);
	uint32_t live = liveness_settle(v, ~data);
	result(v, r == 0 && dup == -EEXIST && sent && live == ~data,
	       "ioeventfd: register %s, again %s, eventfd write made the device "
	       "see 0x%08x, liveness 0x%08x", r ? strerror(-r) : "ok",
	       dup == -EEXIST ? "EEXIST" : dup ? strerror(-dup) : "ACCEPTED",
	       data, live);
	/* Removed, the eventfd reaches nothing. */
	int del = uvfio_ioeventfd(v->d, BAR0, EDU_REG_LIVENESS, 4, data, -1);
	wr32(v, EDU_REG_LIVENESS, 0x0f0f0f0f);
	sent = write(efd, &one, sizeof(one)) == sizeof(one);
	nanosleep(&(struct timespec){ 0, 50000000 }, NULL);
	live = rd32(v, EDU_REG_LIVENESS);
	result(v, del == 0 && sent && live == ~0x0f0f0f0fu,
	       "ioeventfd: removed %s, liveness after an eventfd write 0x%08x",
	       del ? strerror(-del) : "ok", live);
	close(efd);
}

int edu_driver_ioeventfd(struct uvfio_device *d, FILE *out)
{
	struct drv v = { .d = d, .out = out };
	ioeventfd(&v);
	return v.failed;
}

int edu_driver_run(struct uvfio_device *d, FILE *out, unsigned flags)
{
	struct drv v = { .d = d, .out = out,
			 .dma_len = flags & EDU_DRV_DMA_FULL ? 4096u : DMA_LEN_SAFE };
	uint16_t vendor = 0, device = 0;
	uvfio_region_read16(d, CFG, PCI_VENDOR_ID, &vendor);
	uvfio_region_read16(d, CFG, PCI_DEVICE_ID, &device);
	result(&v, vendor == EDU_VENDOR && device == EDU_DEVICE,
	       "PCI ID %04x:%04x", vendor, device);
	/* Memory decoding and bus mastering, as a driver's probe does. */
	uint16_t cmd = 0;
	uvfio_region_read16(d, CFG, PCI_COMMAND, &cmd);
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	uvfio_region_write16(d, CFG, PCI_COMMAND, cmd);

	uint32_t id = rd32(&v, EDU_REG_ID);
	result(&v, id == EDU_ID, "identification 0x%08x", id);
	wr32(&v, EDU_REG_LIVENESS, 0x12345678);
	uint32_t live = rd32(&v, EDU_REG_LIVENESS);
	result(&v, live == (uint32_t)~0x12345678u, "liveness: wrote 0x12345678, read 0x%08x",
	       live);
	if (flags & EDU_DRV_IOEVENTFD)
		ioeventfd(&v);

	int efd = eventfd(0, EFD_CLOEXEC);
	if (efd < 0)
		return -errno;
	int r = uvfio_irq_enable(d, VFIO_PCI_MSI_IRQ_INDEX, 0, 1, &efd);
	result(&v, r == 0, "MSI vector 0 bound to an eventfd: %s", r ? strerror(-r) : "ok");
	if (r == 0) {
		factorial(&v, efd, "MSI", VFIO_PCI_MSI_IRQ_INDEX);
		dma(&v, efd);
		uvfio_irq_disable(d, VFIO_PCI_MSI_IRQ_INDEX);
	}
	if (flags & EDU_DRV_INTX) {
		r = uvfio_irq_enable(d, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, &efd);
		result(&v, r == 0, "INTx bound to an eventfd: %s", r ? strerror(-r) : "ok");
		if (r == 0) {
			factorial(&v, efd, "INTx", VFIO_PCI_INTX_IRQ_INDEX);
			uvfio_irq_disable(d, VFIO_PCI_INTX_IRQ_INDEX);
		}
	}
	close(efd);
	if (flags & EDU_DRV_RESET) {
		/*
		 * Config space after a reset is compared byte by byte by
		 * tests/vm's differential (both keep what vfio-pci restores
		 * around a reset); the registers differ (QEMU's edu has no
		 * reset handler for them), so only what both do is printed.
		 * The driver re-enables the device, as drivers do after a
		 * reset.
		 */
		r = uvfio_device_reset(d);
		uint16_t c2 = 0, vendor2 = 0, device2 = 0;
		uvfio_region_read16(d, CFG, PCI_COMMAND, &c2);
		uvfio_region_write16(d, CFG, PCI_COMMAND,
				     c2 | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
		uvfio_region_read16(d, CFG, PCI_VENDOR_ID, &vendor2);
		uvfio_region_read16(d, CFG, PCI_DEVICE_ID, &device2);
		id = rd32(&v, EDU_REG_ID);
		wr32(&v, EDU_REG_LIVENESS, 0x5a5a0f0f);
		live = rd32(&v, EDU_REG_LIVENESS);
		result(&v, r == 0 && vendor2 == EDU_VENDOR && device2 == EDU_DEVICE &&
		       id == EDU_ID && live == ~0x5a5a0f0fu,
		       "reset: %s, then PCI ID %04x:%04x, identification 0x%08x, "
		       "liveness 0x%08x", r ? strerror(-r) : "ok", vendor2, device2,
		       id, live);
	}
	return v.failed;
}
