/* SPDX-License-Identifier: BSD-3-Clause */
/* Building a device and serving its regions. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <linux/pci_regs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "device/dev.h"

uint64_t dev_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void doorbells_detach(struct uvfio_dev *dev, bool renew);

/* ---- what config space asks of the device ---- */

static void cfg_flr(void *opaque)
{
	dev_function_reset(opaque);
}

static void cfg_intx_disable(void *opaque, bool disabled)
{
	dev_irq_intx_disable(opaque, disabled);
}

static void cfg_deliver(void *opaque, unsigned index, unsigned vector)
{
	dev_irq_deliver(opaque, index, vector);
}

struct uvfio_dev *uvfio_dev_new(const char *name)
{
	struct uvfio_dev *dev = calloc(1, sizeof(*dev));
	if (!dev)
		return NULL;
	dev->name = strdup(name ? name : "uvfio");
	dev->cfg = pci_cfg_new(PCI_CFG_SIZE);
	if (!dev->name || !dev->cfg) {
		uvfio_dev_free(dev);
		return NULL;
	}
	dev->pci.dev = dev;
	const struct pci_cfg_hooks hooks = {
		.opaque = dev, .flr = cfg_flr,
		.intx_disable = cfg_intx_disable, .deliver = cfg_deliver,
	};
	pci_cfg_set_hooks(dev->cfg, &hooks);
	for (unsigned i = 0; i < DEV_MAX_REGIONS; i++)
		dev->regions[i].memfd = -1;
	dev->num_regions = VFIO_PCI_NUM_REGIONS;
	struct dev_region *c = &dev->regions[VFIO_PCI_CONFIG_REGION_INDEX];
	c->present = true;
	c->size = dev->cfg->size;
	c->flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
	dev->irqs[VFIO_PCI_REQ_IRQ_INDEX].count = 1;
	dev->dma_max = UVFIO_DEFAULT_MAX_DMA_MAPS;
	dev->next_timer_id = 1;
	return dev;
}

void uvfio_dev_free(struct uvfio_dev *dev)
{
	if (!dev)
		return;
	dev_sriov_free(dev);
	dev_detach(dev);
	doorbells_detach(dev, false);
	for (unsigned i = 0; i < DEV_MAX_REGIONS; i++) {
		struct dev_region *r = &dev->regions[i];
		if (r->mem)
			munmap(r->mem, r->size);
		close_fd(&r->memfd);
	}
	for (unsigned i = 0; i < DEV_NUM_IRQS; i++)
		free(dev->irqs[i].vec);
	free(dev->dma);
	pci_cfg_free(dev->cfg);
	free(dev->name);
	free(dev);
}

void uvfio_log(struct uvfio_dev *dev, int prio, const char *fmt, ...)
{
	if (!dev->log.fn || prio > dev->log.level)
		return;
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	dev->log.fn(dev->log.opaque, prio, buf);
}

const char *uvfio_dev_name(const struct uvfio_dev *dev)
{
	return dev->name;
}

void uvfio_dev_set_log(struct uvfio_dev *dev, uvfio_log_fn fn, void *opaque)
{
	dev->log.fn = fn;
	dev->log.opaque = opaque;
	dev->log.level = LOG_DEBUG;
}

int uvfio_dev_set_ids(struct uvfio_dev *dev, const struct uvfio_pci_ids *ids)
{
	return uvfio_pci_set_ids(uvfio_dev_pci(dev), ids);
}

int uvfio_dev_add_bar(struct uvfio_dev *dev, unsigned bar, uint64_t size,
		      unsigned flags, const struct uvfio_region_ops *ops,
		      void *opaque)
{
	return uvfio_pci_add_bar(uvfio_dev_pci(dev), bar, size, flags, ops,
				 opaque);
}

int uvfio_dev_region_alloc_memory(struct uvfio_dev *dev, unsigned index,
				  void **mem)
{
	if (dev->sealed)
		return -EBUSY;
	if (index >= DEV_MAX_REGIONS || index == VFIO_PCI_CONFIG_REGION_INDEX)
		return -EINVAL;
	struct dev_region *r = &dev->regions[index];
	if (!r->present || r->mem)
		return r->mem ? -EEXIST : -ENOENT;
	if (r->size > (1ull << 40))
		return -E2BIG;
	int fd = memfd_create(dev->name, MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t len = (size_t)r->size;
	if (ftruncate(fd, (off_t)len) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		int e = -errno;
		close(fd);
		return e;
	}
	r->mem = p;
	r->memfd = fd;
	if (index != VFIO_PCI_ROM_REGION_INDEX)
		r->flags |= VFIO_REGION_INFO_FLAG_MMAP;
	if (mem)
		*mem = p;
	return 0;
}

int uvfio_dev_region_add_mmap_area(struct uvfio_dev *dev, unsigned index,
				   uint64_t offset, uint64_t size)
{
	if (dev->sealed)
		return -EBUSY;
	if (index >= DEV_MAX_REGIONS)
		return -EINVAL;
	struct dev_region *r = &dev->regions[index];
	if (!r->present || !r->mem)
		return -ENOENT;
	if (!size || (offset | size) & 4095 || !range_ok(offset, size, r->size))
		return -EINVAL;
	if (r->nr_areas >= DEV_MAX_AREAS)
		return -ENOSPC;
	for (unsigned i = 0; i < r->nr_areas; i++)
		if (offset < r->areas[i].offset + r->areas[i].size &&
		    r->areas[i].offset < offset + size)
			return -EEXIST;
	r->areas[r->nr_areas].offset = offset;
	r->areas[r->nr_areas].size = size;
	r->nr_areas++;
	return 0;
}

int uvfio_dev_add_doorbell(struct uvfio_dev *dev, unsigned region,
			   uint64_t offset, unsigned size, bool datamatch,
			   uint64_t data)
{
	if (!dev)
		return -EINVAL;
	if (dev->sealed)
		return -EBUSY;
	if (region > VFIO_PCI_BAR5_REGION_INDEX)
		return -EINVAL;
	const struct dev_region *r = &dev->regions[region];
	if (!r->present || !(r->flags & VFIO_REGION_INFO_FLAG_WRITE))
		return -EINVAL;
	if (size != 1 && size != 2 && size != 4 && size != 8)
		return -EINVAL;
	if (!range_ok(offset, size, r->size))
		return -EINVAL;
	if (datamatch && size < 8 && data >> (size * 8))
		return -EINVAL;
	if (dev->ndoorbells >= DEV_MAX_DOORBELLS)
		return -ENOSPC;
	struct dev_doorbell *d = &dev->doorbells[dev->ndoorbells++];
	d->region = region;
	d->offset = offset;
	d->size = size;
	d->datamatch = datamatch;
	d->data = datamatch ? data : 0;
	d->fd = -1;
	return 0;
}

static int doorbell_open(struct uvfio_dev *dev, unsigned i)
{
	struct dev_doorbell *d = &dev->doorbells[i];
	if (d->fd >= 0)
		return 0;
	d->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->fd < 0) {
		int e = errno;
		ulog_printf(&dev->log, LOG_ERR, "%s: doorbell %u: eventfd: %s",
			    dev->name, i, strerror(e));
		return -e;
	}
	return 0;
}

/* At seal: one eventfd per doorbell, the device's own. */
static int doorbells_open(struct uvfio_dev *dev)
{
	for (unsigned i = 0; i < dev->ndoorbells; i++) {
		int r = doorbell_open(dev, i);
		if (r < 0)
			return r;
	}
	return 0;
}

/* A client arrived: watch the eventfds. */
static void doorbells_attach(struct uvfio_dev *dev)
{
	for (unsigned i = 0; i < dev->ndoorbells; i++) {
		struct dev_doorbell *d = &dev->doorbells[i];
		if (doorbell_open(dev, i) < 0)
			continue;     /* REGION_IO_FDS answers EIO for it */
		if (dev->tp.watch &&
		    dev->tp.watch(dev->tp.opaque, d->fd, true) < 0) {
			ulog_printf(&dev->log, LOG_ERR,
				    "%s: doorbell %u: cannot watch it",
				    dev->name, i);
			close_fd(&d->fd);
		}
	}
}

/*
 * The client left: stop watching, and (@renew) replace each eventfd with
 * a fresh one, so that the copies the client kept poke nothing.
 */
static void doorbells_detach(struct uvfio_dev *dev, bool renew)
{
	for (unsigned i = 0; i < dev->ndoorbells; i++) {
		struct dev_doorbell *d = &dev->doorbells[i];
		if (d->fd < 0)
			continue;
		if (dev->tp.watch)
			dev->tp.watch(dev->tp.opaque, d->fd, false);
		close_fd(&d->fd);
		if (renew)
			doorbell_open(dev, i);
	}
}

bool dev_doorbell_fire(struct uvfio_dev *dev, int fd)
{
	for (unsigned i = 0; i < dev->ndoorbells; i++) {
		struct dev_doorbell *d = &dev->doorbells[i];
		if (d->fd < 0 || d->fd != fd)
			continue;
		/* Our own non-blocking eventfd: drain it, then one write for
		 * however many the counter coalesced. */
		uint64_t v;
		if (read(d->fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
			return true;    /* nothing pending (a stale event) */
		uint8_t buf[8];
		for (unsigned b = 0; b < d->size; b++)
			buf[b] = (uint8_t)(d->data >> (8 * b));
		ssize_t r = dev_region_access(dev, d->region, d->offset, buf,
					      d->size, true);
		if (r < 0)
			ulog_printf(&dev->log, LOG_DEBUG,
				    "%s: doorbell %u (region %u +0x%llx): %s",
				    dev->name, i, d->region,
				    (unsigned long long)d->offset,
				    strerror((int)-r));
		return true;
	}
	return false;
}

int uvfio_dev_add_rom(struct uvfio_dev *dev, const void *image, size_t len)
{
	return uvfio_pci_add_rom(uvfio_dev_pci(dev), image, len);
}

int uvfio_dev_add_region(struct uvfio_dev *dev, unsigned index, uint64_t size,
			 uint32_t flags, uint32_t type, uint32_t subtype,
			 const struct uvfio_region_ops *ops, void *opaque)
{
	if (dev->sealed)
		return -EBUSY;
	if (index < VFIO_PCI_NUM_REGIONS || index >= DEV_MAX_REGIONS || !size ||
	    flags & ~(VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE))
		return -EINVAL;
	struct dev_region *r = &dev->regions[index];
	if (r->present)
		return -EEXIST;
	r->present = true;
	r->size = size;
	r->flags = flags;
	r->ops = ops;
	r->opaque = opaque;
	r->has_type = true;
	r->type = type;
	r->subtype = subtype;
	if (index + 1 > dev->num_regions)
		dev->num_regions = index + 1;
	return 0;
}

int uvfio_dev_add_msi(struct uvfio_dev *dev, unsigned nvectors, unsigned flags)
{
	int r = uvfio_pci_add_msi(uvfio_dev_pci(dev), 0, nvectors, flags);
	return r < 0 ? r : 0;
}

int uvfio_dev_set_irq_count(struct uvfio_dev *dev, unsigned index,
			    uint32_t count)
{
	if (dev->sealed)
		return -EBUSY;
	if (index >= DEV_NUM_IRQS || count > DEV_MAX_IRQ_COUNT)
		return -EINVAL;
	if (index == VFIO_PCI_INTX_IRQ_INDEX && count > 1)
		return -EINVAL;
	dev->irqs[index].count = count;
	dev->irqs[index].count_set = true;
	return 0;
}

int uvfio_dev_set_reset(struct uvfio_dev *dev, int (*reset)(void *opaque),
			void *opaque)
{
	if (dev->sealed)
		return -EBUSY;
	dev->reset = reset;
	dev->reset_opaque = opaque;
	return 0;
}

/*
 * A BAR holding the MSI-X table or PBA may be mmap-able, but never the
 * pages holding them: those accesses must reach the engine.
 */
/*
 * A doorbell may not write into the MSI-X table or PBA: those are the
 * interrupt layer's (the kernel refuses ioeventfds there as well).  Known
 * only once the capabilities are all in, so checked at seal.
 */
static int doorbells_check_msix(struct uvfio_dev *dev)
{
	const struct pci_msix *m = &dev->cfg->msix;
	if (!m->cap)
		return 0;
	for (unsigned i = 0; i < dev->ndoorbells; i++) {
		const struct dev_doorbell *d = &dev->doorbells[i];
		uint64_t tend = m->table_off + (uint64_t)m->nvec * PCI_MSIX_ENTRY_SIZE;
		uint64_t pend = m->pba_off + (uint64_t)m->pba_len;
		bool in_table = d->region == m->table_bar &&
				d->offset < tend && m->table_off < d->offset + d->size;
		bool in_pba = d->region == m->pba_bar &&
			      d->offset < pend && m->pba_off < d->offset + d->size;
		if (in_table || in_pba) {
			uvfio_log(dev, LOG_ERR, "%s: doorbell %u (BAR%u +0x%llx) "
				  "overlaps the MSI-X %s", dev->name, i, d->region,
				  (unsigned long long)d->offset,
				  in_table ? "table" : "PBA");
			return -EINVAL;
		}
	}
	return 0;
}

static int msix_mmap_areas(struct uvfio_dev *dev, unsigned bar)
{
	const struct pci_msix *m = &dev->cfg->msix;
	struct dev_region *r = &dev->regions[bar];
	if (!m->cap || !r->mem || (bar != m->table_bar && bar != m->pba_bar))
		return 0;
	uint64_t ex[2][2];
	unsigned nex = 0;
	if (bar == m->table_bar) {
		ex[nex][0] = m->table_off & ~4095ull;
		ex[nex][1] = (m->table_off + (uint64_t)m->nvec * PCI_MSIX_ENTRY_SIZE +
			      4095) & ~4095ull;
		nex++;
	}
	if (bar == m->pba_bar) {
		ex[nex][0] = m->pba_off & ~4095ull;
		ex[nex][1] = (m->pba_off + m->pba_len + 4095) & ~4095ull;
		nex++;
	}
	if (nex == 2 && ex[1][0] < ex[0][0]) {
		uint64_t t0 = ex[0][0], t1 = ex[0][1];
		ex[0][0] = ex[1][0], ex[0][1] = ex[1][1];
		ex[1][0] = t0, ex[1][1] = t1;
	}
	if (r->nr_areas) {
		for (unsigned i = 0; i < r->nr_areas; i++)
			for (unsigned j = 0; j < nex; j++)
				if (r->areas[i].offset < ex[j][1] &&
				    ex[j][0] < r->areas[i].offset + r->areas[i].size) {
					uvfio_log(dev, LOG_ERR, "%s: BAR%u: mmap area "
						  "0x%llx+0x%llx covers the MSI-X "
						  "table or PBA", dev->name, bar,
						  (unsigned long long)r->areas[i].offset,
						  (unsigned long long)r->areas[i].size);
					return -EINVAL;
				}
		return 0;
	}
	uint64_t at = 0;
	for (unsigned j = 0; j <= nex; j++) {
		uint64_t end = j < nex ? MIN(ex[j][0], r->size) : r->size;
		if (end > at) {
			r->areas[r->nr_areas].offset = at;
			r->areas[r->nr_areas].size = end - at;
			r->nr_areas++;
		}
		if (j < nex && ex[j][1] > at)
			at = ex[j][1];
	}
	if (!r->nr_areas)
		r->flags &= ~(uint32_t)VFIO_REGION_INFO_FLAG_MMAP;
	return 0;
}

int dev_seal(struct uvfio_dev *dev)
{
	if (dev->sealed)
		return 0;
	struct pci_cfg *cfg = dev->cfg;
	struct dev_irq *irq = dev->irqs;
	/* Counts follow config space unless the model overrode them. */
	if (!irq[VFIO_PCI_INTX_IRQ_INDEX].count_set)
		irq[VFIO_PCI_INTX_IRQ_INDEX].count =
			pci_vget(cfg, PCI_INTERRUPT_PIN, 1) ? 1 : 0;
	if (!irq[VFIO_PCI_MSI_IRQ_INDEX].count_set)
		irq[VFIO_PCI_MSI_IRQ_INDEX].count = pci_cfg_msi_vectors(cfg);
	if (!irq[VFIO_PCI_MSIX_IRQ_INDEX].count_set)
		irq[VFIO_PCI_MSIX_IRQ_INDEX].count = pci_cfg_msix_vectors(cfg);
	if (!irq[VFIO_PCI_ERR_IRQ_INDEX].count_set)
		irq[VFIO_PCI_ERR_IRQ_INDEX].count = cfg->pcie_off ? 1 : 0;
	for (unsigned b = 0; b < 6; b++) {
		int r = msix_mmap_areas(dev, b);
		if (r < 0)
			return r;
	}
	int dr = doorbells_check_msix(dev);
	if (dr < 0)
		return dr;
	for (unsigned i = 0; i < DEV_NUM_IRQS; i++) {
		if (!irq[i].count)
			continue;
		irq[i].vec = calloc(irq[i].count, sizeof(*irq[i].vec));
		if (!irq[i].vec)
			return -ENOMEM;
		for (uint32_t v = 0; v < irq[i].count; v++) {
			irq[i].vec[v].trigger = -1;
			irq[i].vec[v].unmask = -1;
		}
	}
	dev->regions[VFIO_PCI_CONFIG_REGION_INDEX].size = cfg->size;
	pci_cfg_seal(cfg);
	int r = doorbells_open(dev);
	if (r < 0)
		return r;
	dev->sealed = true;
	return 0;
}

void dev_get_info(struct uvfio_dev *dev, uint32_t *flags, uint32_t *nregions,
		  uint32_t *nirqs)
{
	*flags = VFIO_DEVICE_FLAGS_PCI | (dev->reset ? VFIO_DEVICE_FLAGS_RESET : 0);
	*nregions = dev->num_regions;
	*nirqs = DEV_NUM_IRQS;
}

struct dev_region *dev_region(struct uvfio_dev *dev, uint32_t index)
{
	if (index >= dev->num_regions)
		return NULL;
	return &dev->regions[index];
}

static bool in_mmap_area(const struct dev_region *r, uint64_t off, size_t len)
{
	if (!r->mem)
		return false;
	if (!r->nr_areas)
		return true;
	for (unsigned i = 0; i < r->nr_areas; i++)
		if (off >= r->areas[i].offset &&
		    range_ok(off - r->areas[i].offset, len, r->areas[i].size))
			return true;
	return false;
}

static ssize_t config_access(struct uvfio_dev *dev, uint64_t off, void *buf,
			     size_t count, bool write)
{
	int r = write ? pci_cfg_write(dev->cfg, off, buf, count)
		      : pci_cfg_read(dev->cfg, off, buf, count);
	return r < 0 ? r : (ssize_t)count;
}

/* An access the device model serves: its memory or its callbacks. */
static ssize_t model_access(struct dev_region *r, uint64_t off, void *buf,
			    size_t count, bool write)
{
	bool use_mem = in_mmap_area(r, off, count) || (r->mem && !r->ops);
	if (use_mem) {
		if (write)
			memcpy((uint8_t *)r->mem + off, buf, count);
		else
			memcpy(buf, (uint8_t *)r->mem + off, count);
		return (ssize_t)count;
	}
	if (!r->ops || !(write ? (void *)r->ops->write : (void *)r->ops->read)) {
		if (!write)
			memset(buf, 0, count);
		return (ssize_t)count;
	}
	ssize_t n = write ? r->ops->write(r->opaque, off, buf, count)
			  : r->ops->read(r->opaque, off, buf, count);
	if (n >= 0 && (size_t)n != count)
		return -EIO;
	if (n < -4095)
		return -EIO;
	return n;
}

ssize_t dev_region_access(struct uvfio_dev *dev, uint32_t index, uint64_t off,
			  void *buf, size_t count, bool write)
{
	struct dev_region *r = dev_region(dev, index);
	if (!r || !r->present)
		return -EINVAL;
	if (!count)
		return -EINVAL;
	/* As vfio-pci: config space out of range is EFAULT, a BAR's EINVAL. */
	if (!range_ok(off, count, r->size))
		return index == VFIO_PCI_CONFIG_REGION_INDEX ? -EFAULT : -EINVAL;
	if (write && !(r->flags & VFIO_REGION_INFO_FLAG_WRITE))
		return -EINVAL;
	if (!write && !(r->flags & VFIO_REGION_INFO_FLAG_READ))
		return -EINVAL;
	if (index == VFIO_PCI_CONFIG_REGION_INDEX)
		return config_access(dev, off, buf, count, write);
	/* As vfio-pci: memory BARs answer EIO while decoding is off. */
	if (index <= VFIO_PCI_ROM_REGION_INDEX &&
	    pci_cfg_bar_gated(dev->cfg, index))
		return -EIO;
	if (index >= VFIO_PCI_ROM_REGION_INDEX)
		return model_access(r, off, buf, count, write);
	/* The MSI-X table and PBA are the engine's, the rest the model's. */
	uint8_t *b = buf;
	size_t done = 0;
	while (done < count) {
		bool engine;
		size_t n = pci_msix_claim(dev->cfg, index, off + done,
					  count - done, &engine);
		if (engine) {
			pci_msix_rw(dev->cfg, index, off + done, b + done, n, write);
		} else {
			ssize_t m = model_access(r, off + done, b + done, n, write);
			if (m < 0)
				return m;
		}
		done += n;
	}
	return (ssize_t)count;
}

void *dev_region_mem(struct uvfio_dev *dev, uint32_t index, uint64_t off,
		     size_t count, bool write)
{
	struct dev_region *r = dev_region(dev, index);
	if (!r || !r->present || !r->mem || !count ||
	    !range_ok(off, count, r->size) ||
	    index == VFIO_PCI_CONFIG_REGION_INDEX)
		return NULL;
	if (!(r->flags & (write ? VFIO_REGION_INFO_FLAG_WRITE :
				  VFIO_REGION_INFO_FLAG_READ)))
		return NULL;
	/* The rules of dev_region_access(). */
	if (index <= VFIO_PCI_ROM_REGION_INDEX &&
	    pci_cfg_bar_gated(dev->cfg, index))
		return NULL;
	if (index < VFIO_PCI_ROM_REGION_INDEX) {
		bool engine;
		if (pci_msix_claim(dev->cfg, index, off, count, &engine) != count ||
		    engine)
			return NULL;
	}
	if (!in_mmap_area(r, off, count) && r->ops)
		return NULL;
	return (uint8_t *)r->mem + off;
}

int uvfio_dev_config_read(struct uvfio_dev *dev, uint32_t offset, void *buf,
			  size_t len)
{
	return pci_cfg_read(dev->cfg, offset, buf, len);
}

int dev_reset(struct uvfio_dev *dev)
{
	if (!dev->reset)
		return -ENOTTY;
	return dev_function_reset(dev);
}

int dev_function_reset(struct uvfio_dev *dev)
{
	/* DMA the function started ends before it resets; windows stay. */
	dev_dma_abort(dev, 0, 0, false, -ECANCELED, false);
	/* Interrupts off as the kernel does. */
	for (unsigned i = 0; i < DEV_NUM_IRQS; i++) {
		if (i == VFIO_PCI_ERR_IRQ_INDEX || i == VFIO_PCI_REQ_IRQ_INDEX)
			continue;
		struct dev_irq *irq = &dev->irqs[i];
		for (uint32_t v = 0; v < irq->count; v++) {
			close_fd(&irq->vec[v].trigger);
			dev_irq_drop_unmask(dev, &irq->vec[v]);
			irq->vec[v].masked = false;
			irq->vec[v].pending = false;
			irq->vec[v].raised = false;
		}
		irq->enabled = false;
	}
	pci_cfg_irq_state(dev->cfg, -1, 0);
	pci_cfg_reset(dev->cfg);
	return dev->reset ? dev->reset(dev->reset_opaque) : 0;
}

void dev_attach(struct uvfio_dev *dev, const struct dev_transport *tp)
{
	dev->tp = *tp;
	dev->has_client = true;
	dev->dma_closed = false;
	doorbells_attach(dev);
}

void dev_detach(struct uvfio_dev *dev)
{
	dev_dma_abort(dev, 0, 0, false, -ENOTCONN, true);
	doorbells_detach(dev, dev->has_client);
	dev_dma_unmap_all(dev);
	dev_irq_release_all(dev);
	memset(&dev->tp, 0, sizeof(dev->tp));
	dev->has_client = false;
}

/* ---- timers ---- */

int uvfio_dev_schedule(struct uvfio_dev *dev, uint64_t delay_ns,
		       void (*fn)(void *opaque), void *opaque)
{
	if (!fn)
		return -EINVAL;
	if (dev->ntimers >= DEV_MAX_TIMERS)
		return -ENOSPC;
	struct dev_timer *t = &dev->timers[dev->ntimers++];
	t->id = dev->next_timer_id++;
	if (dev->next_timer_id <= 0)
		dev->next_timer_id = 1;
	t->deadline = dev_now_ns() + delay_ns;
	t->fn = fn;
	t->opaque = opaque;
	if (dev->tp.kick)
		dev->tp.kick(dev->tp.opaque);
	return t->id;
}

void uvfio_dev_cancel(struct uvfio_dev *dev, int timer_id)
{
	for (unsigned i = 0; i < dev->ntimers; i++) {
		if (dev->timers[i].id == timer_id) {
			dev->timers[i] = dev->timers[--dev->ntimers];
			return;
		}
	}
}

int64_t dev_timers_next(struct uvfio_dev *dev)
{
	if (!dev->ntimers)
		return -1;
	uint64_t now = dev_now_ns();
	uint64_t best = UINT64_MAX;
	for (unsigned i = 0; i < dev->ntimers; i++)
		if (dev->timers[i].deadline < best)
			best = dev->timers[i].deadline;
	return best <= now ? 0 : (int64_t)(best - now);
}

void dev_timers_run(struct uvfio_dev *dev)
{
	if (!dev->ntimers)
		return;     /* the usual case: no clock read per dispatch */
	/* Callbacks may schedule more timers; run only those due now. */
	uint64_t now = dev_now_ns();
	for (;;) {
		unsigned pick = DEV_MAX_TIMERS;
		for (unsigned i = 0; i < dev->ntimers; i++)
			if (dev->timers[i].deadline <= now &&
			    (pick == DEV_MAX_TIMERS ||
			     dev->timers[i].deadline < dev->timers[pick].deadline))
				pick = i;
		if (pick == DEV_MAX_TIMERS)
			return;
		struct dev_timer t = dev->timers[pick];
		dev->timers[pick] = dev->timers[--dev->ntimers];
		t.fn(t.opaque);
	}
}
