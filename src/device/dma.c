/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The DMA address space: windows the client mapped, kept sorted by IOVA
 * so a lookup is a binary search, and device access to them through the
 * shared mapping or, for fd-less windows, through the transport.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <syslog.h>

#include "device/dev.h"
#include "wire/proto.h"

void dev_set_dma_max(struct uvfio_dev *dev, unsigned max)
{
	dev->dma_max = max;
}

/* Index of the first window whose end is above @iova. */
static unsigned lower_bound(const struct uvfio_dev *dev, uint64_t iova)
{
	unsigned lo = 0, hi = dev->dma_count;
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		const struct dev_dma_window *w = &dev->dma[mid];
		if (w->iova + (w->size - 1) < iova)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void window_release(struct dev_dma_window *w)
{
	if (w->map)
		munmap(w->map, (size_t)w->size);
	w->map = NULL;
	close_fd(&w->fd);
}

int dev_dma_map(struct uvfio_dev *dev, uint32_t flags, uint64_t offset,
		uint64_t iova, uint64_t size, int *fd)
{
	if (flags & ~(VU_DMA_FLAG_READ | VU_DMA_FLAG_WRITE))
		return -EINVAL;
	if (!size || iova + (size - 1) < iova)
		return -EINVAL;
	/* Windows are page granular (pgsizes: 4 KiB). */
	if ((iova | size) & 4095)
		return -EINVAL;
	if (*fd >= 0 && (offset & 4095 || offset + size < offset))
		return -EINVAL;
	if (size > SIZE_MAX)
		return -EINVAL;
	unsigned pos = lower_bound(dev, iova);
	if (pos < dev->dma_count && dev->dma[pos].iova <= iova + (size - 1))
		return -EEXIST;
	if (dev->dma_count >= dev->dma_max)
		return -ENOSPC;
	if (dev->dma_count == dev->dma_cap) {
		unsigned cap = dev->dma_cap ? dev->dma_cap * 2 : 16;
		struct dev_dma_window *n = realloc(dev->dma, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		dev->dma = n;
		dev->dma_cap = cap;
	}

	struct dev_dma_window w = {
		.iova = iova, .size = size, .prot = flags, .fd = -1,
		.offset = offset,
	};
	if (*fd >= 0) {
		/* Pages past the end of the file would fault (SIGBUS) on access. */
		struct stat st;
		if (fstat(*fd, &st) < 0)
			return -errno;
		if (S_ISREG(st.st_mode) &&
		    (offset > (uint64_t)st.st_size ||
		     size > (uint64_t)st.st_size - offset))
			return -EINVAL;
		int prot = (flags & VU_DMA_FLAG_READ ? PROT_READ : 0) |
			   (flags & VU_DMA_FLAG_WRITE ? PROT_WRITE : 0);
		void *p = mmap(NULL, (size_t)size, prot ? prot : PROT_NONE,
			       MAP_SHARED, *fd, (off_t)offset);
		if (p == MAP_FAILED) {
			int e = errno;
			ulog_printf(&dev->log, LOG_WARNING,
				    "%s: DMA_MAP iova 0x%llx size 0x%llx: mmap failed: %s",
				    dev->name, (unsigned long long)iova,
				    (unsigned long long)size, strerror(e));
			return -e;
		}
		/* The mapping keeps the memory; holding the fd would cap the
		 * number of windows at the process's fd limit. */
		w.map = p;
	}
	memmove(&dev->dma[pos + 1], &dev->dma[pos],
		(dev->dma_count - pos) * sizeof(*dev->dma));
	dev->dma[pos] = w;
	dev->dma_count++;
	return 0;
}

int dev_dma_unmap(struct uvfio_dev *dev, uint32_t flags, uint64_t iova,
		  uint64_t size)
{
	if (flags & ~VU_DMA_UNMAP_FLAG_ALL)
		return -EINVAL;
	if (flags & VU_DMA_UNMAP_FLAG_ALL) {
		if (iova || size)
			return -EINVAL;
		dev_dma_unmap_all(dev);
		return 0;
	}
	if (!size)
		return -EINVAL;
	unsigned pos = lower_bound(dev, iova);
	if (pos >= dev->dma_count || dev->dma[pos].iova != iova ||
	    dev->dma[pos].size != size)
		return -ENOENT;
	window_release(&dev->dma[pos]);
	memmove(&dev->dma[pos], &dev->dma[pos + 1],
		(dev->dma_count - pos - 1) * sizeof(*dev->dma));
	dev->dma_count--;
	return 0;
}

void dev_dma_unmap_all(struct uvfio_dev *dev)
{
	for (unsigned i = 0; i < dev->dma_count; i++)
		window_release(&dev->dma[i]);
	dev->dma_count = 0;
	if (dev->dma_cap > 1024) {
		free(dev->dma);
		dev->dma = NULL;
		dev->dma_cap = 0;
	}
}

unsigned uvfio_dev_dma_count(struct uvfio_dev *dev)
{
	return dev->dma_count;
}

/* Largest message payload used for one DMA_READ/WRITE from the device. */
static int dma_access(struct uvfio_dev *dev, uint64_t iova, void *buf,
		      size_t len, bool write)
{
	if (!dev->has_client)
		return -ENOTCONN;
	if (!len)
		return 0;
	if (iova + (len - 1) < iova)
		return -EFAULT;
	uint8_t *p = buf;
	uint32_t need = write ? VU_DMA_FLAG_WRITE : VU_DMA_FLAG_READ;
	while (len) {
		unsigned pos = lower_bound(dev, iova);
		if (pos >= dev->dma_count || dev->dma[pos].iova > iova)
			return -EFAULT;
		struct dev_dma_window *w = &dev->dma[pos];
		if (!(w->prot & need))
			return -EPERM;
		uint64_t off = iova - w->iova;
		size_t n = (size_t)MIN((uint64_t)len, w->size - off);
		if (w->map) {
			if (write)
				memcpy((uint8_t *)w->map + off, p, n);
			else
				memcpy(p, (uint8_t *)w->map + off, n);
		} else {
			if (!dev->tp.dma_rw)
				return -ENOTCONN;
			int r = dev->tp.dma_rw(dev->tp.opaque, iova, p, n, write);
			if (r < 0)
				return r;
		}
		p += n;
		iova += n;
		len -= n;
	}
	return 0;
}

int uvfio_dev_dma_read(struct uvfio_dev *dev, uint64_t iova, void *buf,
		       size_t len)
{
	return dma_access(dev, iova, buf, len, false);
}

int uvfio_dev_dma_write(struct uvfio_dev *dev, uint64_t iova, const void *buf,
			size_t len)
{
	return dma_access(dev, iova, (void *)buf, len, true);
}
