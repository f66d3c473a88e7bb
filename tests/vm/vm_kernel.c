/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * uvfio-vm-kernel: what only the kernel backend does, checked inside the
 * guest of tests/vm/run.sh against QEMU's edu and nvme bound to vfio-pci.
 *
 *   uvfio-vm-kernel checks EDU NVME F0 F1
 *                                     IOVA ranges, a container shared by
 *                                     two groups, dirty pages, hot-reset
 *                                     info, DEVICE_FEATURE, BAR mmap,
 *                                     MSI-X, reset; two devices of one
 *                                     IOMMU group (the functions F0 and
 *                                     F1 of a multifunction edu pair)
 *   uvfio-vm-kernel hold SECS ADDR... keep the ADDRs open for SECS seconds
 *   uvfio-vm-kernel busy ADDR...      opening each ADDR must fail with EBUSY
 *
 * One "ok  " or "FAIL" line per check; the exit status is the number of
 * failures.  Statically linked: the guest has no libraries.
 */
#include <errno.h>
#include <inttypes.h>
#include <linux/pci_regs.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <uvfio/client.h>
#include "client/client_priv.h"
#include "client/kernel.h"
#include "devices/edu/edu.h"
#include "examples/edu_driver.h"

#define BAR0 VFIO_PCI_BAR0_REGION_INDEX
#define CFG  VFIO_PCI_CONFIG_REGION_INDEX

static int failed;

static void check(bool ok, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void check(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s ", ok ? "ok  " : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (!ok)
		failed++;
}

static const char *err(int r)
{
	return r ? strerror(-r) : "ok";
}

static struct uvfio_device *open_dev(const char *addr)
{
	struct uvfio_device *d = NULL;
	int r = uvfio_device_open(addr, NULL, &d);
	check(r == 0, "open %s: %s", addr, err(r));
	return r ? NULL : d;
}

/* Memory decoding and bus mastering on, as a driver's probe does. */
static void enable(struct uvfio_device *d)
{
	uint16_t cmd = 0;
	uvfio_region_read16(d, CFG, PCI_COMMAND, &cmd);
	uvfio_region_write16(d, CFG, PCI_COMMAND,
			     cmd | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
}

static bool wait_fd(int efd)
{
	struct pollfd p = { .fd = efd, .events = POLLIN };
	uint64_t n;
	return poll(&p, 1, 5000) == 1 && read(efd, &n, sizeof(n)) == sizeof(n);
}

static bool in_ranges(const struct uvfio_iova_range *r, int n, uint64_t iova,
		      uint64_t size)
{
	for (int i = 0; i < n; i++)
		if (iova >= r[i].start && iova + size - 1 <= r[i].last)
			return true;
	return false;
}

/* The kernel backend's state of @d: its group and IOMMU context. */
static struct kdev *kdev_of(struct uvfio_device *d)
{
	return d ? to_kdev(d->be) : NULL;
}

static void iova_and_sharing(struct uvfio_device *edu, struct uvfio_device *nvme)
{
	struct uvfio_iova_range r[16];
	int n = uvfio_dma_iova_ranges(edu, r, 16);
	char txt[512] = "";
	size_t len = 0;
	for (int i = 0; i < n && i < 16 && len < sizeof(txt); i++)
		len += (size_t)snprintf(txt + len, sizeof(txt) - len,
					" [0x%" PRIx64 "-0x%" PRIx64 "]",
					r[i].start, r[i].last);
	check(n >= 1, "IOVA ranges from VFIO_IOMMU_GET_INFO:%s", n > 0 ? txt : err(n));

	struct uvfio_dma_buf *a = NULL, *b = NULL;
	int ra = uvfio_dma_alloc(edu, 8192, 0, &a);
	int rb = nvme ? uvfio_dma_alloc(nvme, 8192, 0, &b) : -ENODEV;
	check(!ra && in_ranges(r, n, a->iova, a->size),
	      "DMA buffer allocated inside the IOVA ranges: %s", err(ra));
	/* One container: the second device's allocator avoids the first's. */
	struct kdev *ke = kdev_of(edu), *kn = kdev_of(nvme);
	bool one = ke && kn && ke->ctx == kn->ctx;
	check(one && !ra && !rb &&
	      (b->iova >= a->iova + a->size || a->iova >= b->iova + b->size),
	      "edu and nvme share one container (%s): their buffers do not overlap: %s/%s",
	      one ? "the same" : "DIFFERENT", err(ra), err(rb));
	if (a)
		uvfio_dma_free(edu, a);
	if (b)
		uvfio_dma_free(nvme, b);
}

/* The device writes a buffer while dirty tracking is on. */
static void dirty_pages(struct uvfio_device *edu)
{
	struct uvfio_dma_buf *b = NULL;
	int efd = eventfd(0, EFD_CLOEXEC);
	int r = uvfio_dma_alloc(edu, 2 * 4096, 0, &b);
	if (r == 0)
		r = uvfio_irq_enable(edu, VFIO_PCI_MSI_IRQ_INDEX, 0, 1, &efd);
	check(r == 0, "dirty pages: buffer and MSI: %s", err(r));
	if (r) {
		close(efd);
		return;
	}
	int start = uvfio_dma_dirty_start(edu);
	uvfio_region_write32(edu, BAR0, EDU_REG_DMA_SRC, EDU_DMA_START);
	uvfio_region_write32(edu, BAR0, EDU_REG_DMA_DST, (uint32_t)b->iova + 4096);
	uvfio_region_write32(edu, BAR0, EDU_REG_DMA_CNT, 64);
	uvfio_region_write32(edu, BAR0, EDU_REG_DMA_CMD,
			     EDU_DMA_RUN | EDU_DMA_DIR_TO_RAM | EDU_DMA_IRQ);
	bool irq = wait_fd(efd);
	uvfio_region_write32(edu, BAR0, EDU_REG_IRQ_ACK, EDU_IRQ_DMA);
	uint64_t bm[1] = { 0 };
	int rep = uvfio_dma_dirty_report(edu, b->iova, b->size, 4096, bm);
	/* A range that does not start at a mapping's start is refused. */
	uint64_t bm2[1];
	int bad = uvfio_dma_dirty_report(edu, b->iova + 4096, 4096, 4096, bm2);
	int stop = uvfio_dma_dirty_stop(edu);
	/*
	 * type1 without a page-tracking IOMMU reports every pinned page as
	 * dirty, so the bitmap cannot tell the device's write to page 1 from
	 * the untouched page 0: what is checked is that the report covers
	 * the written page and that tracking starts, reports and stops.
	 */
	check(!start && irq && !rep && (bm[0] & 2) && bad == -EINVAL && !stop,
	      "dirty pages: start %s, device wrote page 1, report %s bitmap 0x%" PRIx64
	      ", misaligned range %s, stop %s", err(start), err(rep), bm[0],
	      bad == -EINVAL ? "EINVAL" : err(bad), err(stop));
	uvfio_irq_disable(edu, VFIO_PCI_MSI_IRQ_INDEX);
	uvfio_dma_free(edu, b);
	close(efd);
}

static void hot_reset_info(struct uvfio_device *d, const char *addr)
{
	struct uvfio_hot_reset_dev devs[8];
	uint32_t flags = 0xdead;
	int n = uvfio_device_hot_reset_query(d, &flags, devs, 8);
	char txt[512] = "";
	size_t len = 0;
	bool self = false;
	unsigned bus = 0, dev = 0, fn = 0;
	sscanf(addr + 5, "%x:%x.%x", &bus, &dev, &fn);
	for (int i = 0; i < n && i < 8 && len < sizeof(txt); i++) {
		len += (size_t)snprintf(txt + len, sizeof(txt) - len,
					" %04x:%02x:%02x.%x (group %u)",
					devs[i].segment, devs[i].bus,
					devs[i].devfn >> 3, devs[i].devfn & 7,
					devs[i].group_id);
		self |= devs[i].bus == bus && devs[i].devfn == (dev << 3 | fn);
	}
	check(n >= 1 && self, "hot reset of %s would reset:%s", addr,
	      n > 0 ? txt : err(n));
	/* Opened through its group: entries are group ids, and the one
	 * group is ours. */
	check(n >= 1 && flags == UVFIO_HOT_RESET_OWNED,
	      "hot reset of %s: entries are IOMMU groups (DEV_ID %s), all owned "
	      "by this program (OWNED %s)", addr,
	      flags & UVFIO_HOT_RESET_DEV_ID ? "set" : "clear",
	      flags & UVFIO_HOT_RESET_OWNED ? "set" : "clear");
}

/*
 * VFIO_DEVICE_PCI_HOT_RESET through the library (the group fds as proof):
 * the kernel resets the bus behind @d's root port and restores config
 * space; the device answers after it and COMMAND is back as it was.
 */
static void hot_reset_do(struct uvfio_device *d, const char *addr)
{
	uint16_t before = 0, after = 0;
	uint32_t id = 0;
	uvfio_region_read16(d, CFG, PCI_COMMAND, &before);
	int r = uvfio_device_hot_reset(d);
	uvfio_region_read16(d, CFG, PCI_COMMAND, &after);
	int ri = uvfio_region_read32(d, CFG, PCI_VENDOR_ID, &id);
	check(r == 0 && !ri && id != 0xffffffff && before == after,
	      "hot reset of %s: %s, then vendor/device 0x%08x, COMMAND 0x%04x "
	      "before, 0x%04x after", addr, err(r), id, before, after);
}

static void features(struct uvfio_device *d)
{
	uint8_t uuid[16] = { 0 };
	int tok = uvfio_device_feature(d, VFIO_DEVICE_FEATURE_PCI_VF_TOKEN |
				       VFIO_DEVICE_FEATURE_PROBE |
				       VFIO_DEVICE_FEATURE_SET, uuid, sizeof(uuid));
	uint64_t mig = 0;
	int m = uvfio_device_feature(d, VFIO_DEVICE_FEATURE_MIGRATION |
				     VFIO_DEVICE_FEATURE_GET, &mig, sizeof(mig));
	int lp = uvfio_device_feature(d, 3 /* LOW_POWER_ENTRY */ |
				      VFIO_DEVICE_FEATURE_PROBE |
				      VFIO_DEVICE_FEATURE_SET, NULL, 0);
	int bad = uvfio_device_feature(d, VFIO_DEVICE_FEATURE_GET |
				       VFIO_DEVICE_FEATURE_SET, NULL, 0);
	check(tok == -ENOTTY && m == -ENOTTY && lp == 0 && bad == -EINVAL,
	      "DEVICE_FEATURE: VF token probe %s, migration %s, low-power entry "
	      "probe %s, GET|SET %s", err(tok), err(m), err(lp), err(bad));
}

/*
 * The kernel saves config space around a reset and restores it: COMMAND
 * comes back as it was (uvfio's edu model keeps it too, pci_cfg_reset()).
 */
static void edu_reset(struct uvfio_device *d)
{
	uint16_t before = 0, after = 0;
	uvfio_region_read16(d, CFG, PCI_COMMAND, &before);
	int r = uvfio_device_reset(d);
	uvfio_region_read16(d, CFG, PCI_COMMAND, &after);
	check(r == 0, "edu reset (bus reset behind its root port): %s, COMMAND "
	      "0x%04x before, 0x%04x after", err(r), before, after);
}

/* The BAR index (BIR) of @d's MSI-X table, from its capability; -errno. */
static int msix_bir(struct uvfio_device *d)
{
	uint8_t p = 0;
	if (uvfio_region_read8(d, CFG, PCI_CAPABILITY_LIST, &p) < 0)
		return -EIO;
	for (int n = 0; p >= 0x40 && n < 48; n++) {
		uint8_t id = 0, next = 0;
		uint32_t table = 0;
		p &= 0xfc;
		uvfio_region_read8(d, CFG, p, &id);
		uvfio_region_read8(d, CFG, p + 1u, &next);
		if (id == PCI_CAP_ID_MSIX) {
			if (uvfio_region_read32(d, CFG, p + PCI_MSIX_TABLE, &table) < 0)
				return -EIO;
			return (int)(table & PCI_MSIX_TABLE_BIR);
		}
		p = next;
	}
	return -ENOENT;
}

static void nvme_checks(struct uvfio_device *d, const char *addr)
{
	enable(d);
	struct uvfio_region_info ri;
	int r = uvfio_region_get_info(d, BAR0, &ri);
	check(r == 0 && (ri.flags & VFIO_REGION_INFO_FLAG_MMAP),
	      "nvme BAR0: %s, size 0x%" PRIx64 ", offset 0x%" PRIx64
	      ", mmap %s, sparse %s (%u areas), MSI-X mappable %s", err(r), ri.size,
	      ri.offset, ri.flags & VFIO_REGION_INFO_FLAG_MMAP ? "yes" : "no",
	      ri.sparse ? "yes" : "no", ri.nr_areas,
	      ri.msix_mappable ? "yes" : "no");
	/*
	 * The BAR with the MSI-X table (its BIR in the capability) is
	 * reported mappable as a whole: VFIO_REGION_INFO_CAP_MSIX_MAPPABLE
	 * (the kernel has it since 4.16), parsed from the region info.
	 */
	int bir = msix_bir(d);
	struct uvfio_region_info mi;
	int rm = bir < 0 ? bir : uvfio_region_get_info(d, (unsigned)bir, &mi);
	check(!rm && mi.msix_mappable && (mi.flags & VFIO_REGION_INFO_FLAG_MMAP),
	      "nvme MSI-X table in BAR%d: region info %s, MSIX_MAPPABLE cap %s",
	      bir, err(rm), !rm && mi.msix_mappable ? "reported" : "MISSING");

	uint64_t cap_rd = 0, cap_mm = 0;
	int r1 = uvfio_region_read64(d, BAR0, 0, &cap_rd);
	void *base = NULL;
	int r2 = uvfio_region_mmap(d, BAR0, &base);
	int r3 = r2 ? r2 : uvfio_region_read64(d, BAR0, 0, &cap_mm);
	uint32_t vs = 0;
	if (!r2)
		vs = *(volatile uint32_t *)((uint8_t *)base + 8);
	check(!r1 && !r3 && cap_rd == cap_mm && cap_rd && vs,
	      "nvme CAP 0x%016" PRIx64 " by pread, 0x%016" PRIx64
	      " through the BAR mmap (%s), VS 0x%08x", cap_rd, cap_mm, err(r2), vs);
	if (!r2)
		uvfio_region_munmap(d, BAR0);

	struct uvfio_irq_info ii;
	r = uvfio_irq_get_info(d, VFIO_PCI_MSIX_IRQ_INDEX, &ii);
	int fds[2] = { eventfd(0, EFD_CLOEXEC), eventfd(0, EFD_CLOEXEC) };
	int en = r ? r : uvfio_irq_enable(d, VFIO_PCI_MSIX_IRQ_INDEX, 0, 2, fds);
	/* A loopback trigger of vector 1 reaches its eventfd. */
	int trig = en ? en : uvfio_irq_set(d, VFIO_PCI_MSIX_IRQ_INDEX,
					   VFIO_IRQ_SET_DATA_NONE |
					   VFIO_IRQ_SET_ACTION_TRIGGER, 1, 1, NULL);
	bool got = !trig && wait_fd(fds[1]);
	int dis = uvfio_irq_disable(d, VFIO_PCI_MSIX_IRQ_INDEX);
	check(!r && ii.count > 2 && !en && got && !dis,
	      "nvme MSI-X: %u vectors, 2 bound %s, vector 1 triggered %s, disable %s",
	      ii.count, err(en), got ? "and received" : "MISSING", err(dis));
	close(fds[0]);
	close(fds[1]);

	struct uvfio_device_info di;
	uvfio_device_get_info(d, &di);
	r = uvfio_device_reset(d);
	uint16_t cmd = 0xffff;
	uvfio_region_read16(d, CFG, PCI_COMMAND, &cmd);
	check(r == 0 && (di.flags & VFIO_DEVICE_FLAGS_RESET),
	      "nvme reset (RESET flag %s): %s, COMMAND after it 0x%04x",
	      di.flags & VFIO_DEVICE_FLAGS_RESET ? "set" : "clear", err(r), cmd);
	hot_reset_info(d, addr);
}

/* The IOMMU group of @addr as sysfs names it, or -1. */
static int sysfs_group(const char *addr)
{
	char path[128], link[256];
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", addr);
	ssize_t n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return -1;
	link[n] = '\0';
	const char *base = strrchr(link, '/');
	return base ? atoi(base + 1) : -1;
}

/*
 * One DMA of edu's, polled to completion (no interrupt): @len bytes
 * between RAM at @ram and edu's buffer.  True when the device finished.
 */
static bool edu_dma_poll(struct uvfio_device *d, uint64_t ram, uint32_t len,
			 bool to_ram)
{
	uint64_t src = to_ram ? EDU_DMA_START : ram;
	uint64_t dst = to_ram ? ram : EDU_DMA_START;
	uvfio_region_write64(d, BAR0, EDU_REG_DMA_SRC, src);
	uvfio_region_write64(d, BAR0, EDU_REG_DMA_DST, dst);
	uvfio_region_write64(d, BAR0, EDU_REG_DMA_CNT, len);
	uvfio_region_write64(d, BAR0, EDU_REG_DMA_CMD,
			     EDU_DMA_RUN | (to_ram ? EDU_DMA_DIR_TO_RAM : 0));
	for (int i = 0; i < 5000; i++) {
		uint32_t cmd = EDU_DMA_RUN;
		if (uvfio_region_read32(d, BAR0, EDU_REG_DMA_CMD, &cmd) < 0)
			return false;
		if (!(cmd & EDU_DMA_RUN))
			return true;
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
	return false;
}

/*
 * @d copies @from into its buffer and from there into @to (2 KiB: QEMU
 * 7.2's edu aborts on a transfer that ends at its buffer's end).  True
 * when @to holds @from's bytes afterwards.
 */
static bool edu_round_trip(struct uvfio_device *d, struct uvfio_dma_buf *from,
			   struct uvfio_dma_buf *to, uint8_t seed)
{
	const uint32_t len = 2048;
	uint8_t *a = from->vaddr, *b = to->vaddr;
	for (uint32_t i = 0; i < len; i++) {
		a[i] = (uint8_t)(i * 7 + seed);
		b[i] = (uint8_t)~a[i];
	}
	return edu_dma_poll(d, from->iova, len, false) &&
	       edu_dma_poll(d, to->iova, len, true) && !memcmp(a, b, len);
}

/*
 * The two functions of a multifunction edu without ACS: one IOMMU group
 * (the kernel cannot tell their DMA apart), opened by one program.  The
 * group can be opened once, so the second device must come from the
 * group fd the first opened, in the container the first set up.
 */
static void group_pair(const char *a0, const char *a1)
{
	int g0 = sysfs_group(a0), g1 = sysfs_group(a1);
	check(g0 >= 0 && g0 == g1, "%s and %s: sysfs iommu_group %d and %d",
	      a0, a1, g0, g1);
	struct uvfio_device *f0 = open_dev(a0);
	struct uvfio_device *f1 = open_dev(a1);
	if (!f0 || !f1) {
		if (f0)
			uvfio_device_close(f0);
		if (f1)
			uvfio_device_close(f1);
		return;
	}
	struct kdev *k0 = kdev_of(f0), *k1 = kdev_of(f1);
	check(k0->group && k0->group == k1->group && k0->group->id == g0 &&
	      k0->group->refs == 2 && k0->ctx == k1->ctx && k0->ctx->refs == 1,
	      "%s and %s share group %d (one group fd, %u devices) and one "
	      "container (%s, %u group(s) in it)", a0, a1,
	      k0->group ? k0->group->id : -1, k0->group ? k0->group->refs : 0,
	      k0->ctx == k1->ctx ? "the same" : "DIFFERENT", k0->ctx->refs);

	/* Hot reset of either function resets both, both in the group. */
	struct uvfio_hot_reset_dev devs[8];
	int n = uvfio_device_hot_reset_info(f1, devs, 8);
	unsigned bus = 0, dev = 0;
	sscanf(a0 + 5, "%x:%x", &bus, &dev);
	int fns = 0;
	for (int i = 0; i < n && i < 8; i++)
		fns += devs[i].bus == bus && devs[i].devfn >> 3 == dev &&
		       (devs[i].devfn & 7) <= 1 && (int)devs[i].group_id == g0;
	check(n == 2 && fns == 2, "hot reset of %s would reset %d device(s), "
	      "%d of them the pair's functions in group %d", a1, n, fns, g0);
	/* One group fd, held for both: the reset of both functions is ours. */
	hot_reset_do(f1, a1);

	enable(f0);
	enable(f1);
	struct uvfio_dma_buf *b0 = NULL, *b1 = NULL, *c0 = NULL;
	int r0 = uvfio_dma_alloc(f0, 4096, 0, &b0);
	int r1 = uvfio_dma_alloc(f1, 4096, 0, &b1);
	int r2 = uvfio_dma_alloc(f0, 4096, 0, &c0);
	bool apart = !r0 && !r1 && !r2 &&
		     (b1->iova >= b0->iova + b0->size || b0->iova >= b1->iova + b1->size) &&
		     (b1->iova >= c0->iova + c0->size || c0->iova >= b1->iova + b1->size);
	check(apart, "buffers allocated through %s and %s: %s/%s, IOVAs 0x%" PRIx64
	      " and 0x%" PRIx64 " do not overlap", a0, a1, err(r0), err(r1),
	      b0 ? b0->iova : 0, b1 ? b1->iova : 0);
	if (apart) {
		/* Each function moves data both ways; and since the
		 * container is one, mappings made through one function are
		 * the other's too. */
		bool t0 = edu_round_trip(f0, b0, c0, 1);
		bool t1 = edu_round_trip(f1, b0, b1, 2);
		bool t2 = edu_round_trip(f0, b1, c0, 3);
		check(t0 && t1 && t2, "DMA round trips: %s between its own "
		      "buffers %s; %s from %s's buffer into its own %s; %s "
		      "from %s's buffer %s", a0, t0 ? "ok" : "FAILED", a1, a0,
		      t1 ? "ok" : "FAILED", a0, a1, t2 ? "ok" : "FAILED");
	}
	if (b0)
		uvfio_dma_free(f0, b0);
	if (c0)
		uvfio_dma_free(f0, c0);
	/* The group stays open for the device still using it. */
	uvfio_device_close(f0);
	uint32_t id = 0;
	uvfio_region_read32(f1, BAR0, EDU_REG_ID, &id);
	struct uvfio_dma_buf *d1 = NULL;
	bool t3 = false;
	if (b1 && !uvfio_dma_alloc(f1, 4096, 0, &d1))
		t3 = edu_round_trip(f1, b1, d1, 4);
	check(id == EDU_ID && k1->group && k1->group->refs == 1 && t3,
	      "%s after %s closed: ID 0x%08x, group fd kept for %u device(s), "
	      "DMA round trip %s", a1, a0, id, k1->group ? k1->group->refs : 0,
	      t3 ? "ok" : "FAILED");
	if (d1)
		uvfio_dma_free(f1, d1);
	if (b1)
		uvfio_dma_free(f1, b1);
	uvfio_device_close(f1);
}

static int checks(const char *edu_addr, const char *nvme_addr,
		  const char *f0_addr, const char *f1_addr)
{
	struct uvfio_device *edu = open_dev(edu_addr);
	if (!edu)
		return 1;
	enable(edu);

	/* A second open of a device of the same group shares the group. */
	struct uvfio_device *again = open_dev(edu_addr);
	uint32_t id = 0;
	if (again) {
		uvfio_region_read32(again, BAR0, EDU_REG_ID, &id);
		uvfio_device_close(again);
	}
	uint32_t id2 = 0;
	uvfio_region_read32(edu, BAR0, EDU_REG_ID, &id2);
	check(id == EDU_ID && id2 == EDU_ID,
	      "edu opened twice in one program (one group fd): 0x%08x, "
	      "still 0x%08x after the second closed", id, id2);

	struct uvfio_device *nvme = open_dev(nvme_addr);
	iova_and_sharing(edu, nvme);
	dirty_pages(edu);
	hot_reset_info(edu, edu_addr);
	hot_reset_do(edu, edu_addr);
	features(edu);
	edu_reset(edu);
	if (nvme) {
		nvme_checks(nvme, nvme_addr);
		uvfio_device_close(nvme);
	}
	uvfio_device_close(edu);
	group_pair(f0_addr, f1_addr);
	printf("%d failed\n", failed);
	return failed;
}

int main(int argc, char **argv)
{
	if (argc == 6 && !strcmp(argv[1], "checks"))
		return checks(argv[2], argv[3], argv[4], argv[5]) ? 1 : 0;
	if (argc >= 4 && argc <= 10 && !strcmp(argv[1], "hold")) {
		struct uvfio_device *d[8] = { NULL };
		for (int i = 3; i < argc; i++)
			if (!(d[i - 3] = open_dev(argv[i])))
				return 1;
		sleep((unsigned)atoi(argv[2]));
		for (int i = 3; i < argc; i++)
			uvfio_device_close(d[i - 3]);
		return 0;
	}
	if (argc >= 3 && !strcmp(argv[1], "busy")) {
		for (int i = 2; i < argc; i++) {
			struct uvfio_device *d = NULL;
			int r = uvfio_device_open(argv[i], NULL, &d);
			check(r == -EBUSY, "open %s while another program holds "
			      "its group: %s", argv[i], err(r));
			if (d)
				uvfio_device_close(d);
		}
		return failed ? 1 : 0;
	}
	fprintf(stderr, "Usage: uvfio-vm-kernel checks EDU NVME F0 F1 | "
		"hold SECS ADDR... | busy ADDR...\n");
	return 2;
}
