/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * DMA for the driver side: the IOVA space this device object has mapped
 * (so that uvfio_dma_alloc() can pick free addresses) and the buffers it
 * allocated.  The backend does the mapping itself.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <syslog.h>

#include "client/client_priv.h"

/* Low, so that devices with narrow DMA (edu: 28 bits) reach buffers. */
#define IOVA_ALLOC_BASE 0x100000ull

#define DMA_ACCESS (UVFIO_DMA_READ | UVFIO_DMA_WRITE)
#define DMA_FLAGS  (DMA_ACCESS | UVFIO_DMA_NO_FD)

/* ---- IOVA space, dma_lock held ----------------------------------- */

/* Index of the first range whose last byte is at or above @iova. */
static unsigned range_lower_bound(const struct uvfio_device *dev,
				  uint64_t iova)
{
	unsigned lo = 0, hi = dev->nranges;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		const struct iova_range *r = &dev->ranges[mid];

		if (r->iova + (r->size - 1) < iova)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int range_add(struct uvfio_device *dev, uint64_t iova, uint64_t size)
{
	unsigned pos = range_lower_bound(dev, iova);

	if (pos < dev->nranges && dev->ranges[pos].iova <= iova + (size - 1))
		return -EEXIST;
	if (dev->nranges == dev->ranges_cap) {
		unsigned cap = dev->ranges_cap ? dev->ranges_cap * 2 : 16;
		struct iova_range *n = realloc(dev->ranges, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		dev->ranges = n;
		dev->ranges_cap = cap;
	}
	memmove(&dev->ranges[pos + 1], &dev->ranges[pos],
		(dev->nranges - pos) * sizeof(*dev->ranges));
	dev->ranges[pos] = (struct iova_range){ iova, size };
	dev->nranges++;
	return 0;
}

static void range_del(struct uvfio_device *dev, uint64_t iova, uint64_t size)
{
	unsigned pos = range_lower_bound(dev, iova);

	if (pos < dev->nranges && dev->ranges[pos].iova == iova &&
	    dev->ranges[pos].size == size) {
		memmove(&dev->ranges[pos], &dev->ranges[pos + 1],
			(dev->nranges - pos - 1) * sizeof(*dev->ranges));
		dev->nranges--;
	}
}

/* First fit from IOVA_ALLOC_BASE, page aligned; @size is page aligned. */
static int iova_alloc(struct uvfio_device *dev, uint64_t size, uint64_t *iova)
{
	uint64_t cand = IOVA_ALLOC_BASE;

	for (unsigned i = 0; i < dev->nranges; i++) {
		const struct iova_range *r = &dev->ranges[i];
		uint64_t end = r->iova + (r->size - 1);

		if (end < cand)
			continue;
		if (r->iova > cand && r->iova - cand >= size)
			break;
		/* Past this range, rounded up to a page. */
		if (end > UINT64_MAX - PAGE_SIZE_4K)
			return -ENOSPC;
		cand = (end + PAGE_SIZE_4K) & ~(PAGE_SIZE_4K - 1);
	}
	if (cand + (size - 1) < cand)
		return -ENOSPC;
	*iova = cand;
	return range_add(dev, cand, size);
}

/* ---- mapping caller memory ----------------------------------------- */

int uvfio_dma_map(struct uvfio_device *dev, void *vaddr, size_t size,
		  uint64_t iova, uint32_t flags, int fd, uint64_t fd_offset)
{
	if (!dev || !size || flags & ~DMA_FLAGS || !(flags & DMA_ACCESS) ||
	    iova + (size - 1) < iova ||
	    (uintptr_t)vaddr + (size - 1) < (uintptr_t)vaddr)
		return -EINVAL;
	if (flags & UVFIO_DMA_NO_FD || fd < 0) {
		fd = -1;
		fd_offset = 0;
	}
	/* Without an fd the memory is reached through vaddr only. */
	if (fd < 0 && !vaddr)
		return -EINVAL;
	if (fd >= 0 && fd_offset + (size - 1) < fd_offset)
		return -EINVAL;

	pthread_mutex_lock(&dev->dma_lock);
	int r = range_add(dev, iova, size);
	pthread_mutex_unlock(&dev->dma_lock);
	if (r < 0)
		return r;
	r = dev->be->ops->dma_map(dev->be, vaddr, size, iova,
				  flags & DMA_ACCESS, fd, fd_offset);
	if (r < 0) {
		pthread_mutex_lock(&dev->dma_lock);
		range_del(dev, iova, size);
		pthread_mutex_unlock(&dev->dma_lock);
	}
	return r;
}

/* A buffer whose window went away is not unmapped again when freed. */
static void forget_mapping(struct uvfio_device *dev, uint64_t iova,
			   uint64_t size)
{
	range_del(dev, iova, size);
	for (struct dma_buf *b = dev->bufs; b; b = b->next)
		if (b->mapped && b->pub.iova == iova && b->len == size)
			b->mapped = false;
}

int uvfio_dma_unmap(struct uvfio_device *dev, uint64_t iova, size_t size)
{
	if (!dev || !size)
		return -EINVAL;
	/* The backend drops the window whatever the result; so do we. */
	int r = dev->be->ops->dma_unmap(dev->be, iova, size);
	pthread_mutex_lock(&dev->dma_lock);
	forget_mapping(dev, iova, size);
	pthread_mutex_unlock(&dev->dma_lock);
	return r;
}

int uvfio_dma_unmap_all(struct uvfio_device *dev)
{
	if (!dev)
		return -EINVAL;
	int r = dev->be->ops->dma_unmap_all(dev->be);
	pthread_mutex_lock(&dev->dma_lock);
	dev->nranges = 0;
	for (struct dma_buf *b = dev->bufs; b; b = b->next)
		b->mapped = false;
	pthread_mutex_unlock(&dev->dma_lock);
	return r;
}

/* ---- buffers ------------------------------------------------------- */

/* Page-rounded shared memory; *@fd keeps the memfd for the mapping. */
static int dma_memory(size_t len, void **mem, int *fd)
{
	*fd = memfd_create("uvfio-dma", MFD_CLOEXEC);
	if (*fd < 0)
		return -errno;
	if (ftruncate(*fd, (off_t)len) < 0) {
		int r = -errno;
		close_fd(fd);
		return r;
	}
	*mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	if (*mem == MAP_FAILED) {
		int r = -errno;
		close_fd(fd);
		return r;
	}
	return 0;
}

int uvfio_dma_alloc(struct uvfio_device *dev, size_t size, uint32_t flags,
		    struct uvfio_dma_buf **out)
{
	if (out)
		*out = NULL;
	if (!dev || !out || !size || flags & ~DMA_FLAGS ||
	    size > SIZE_MAX - PAGE_SIZE_4K || size > (size_t)INT64_MAX)
		return -EINVAL;
	if (!(flags & DMA_ACCESS))
		flags |= DMA_ACCESS;
	size_t len = (size + PAGE_SIZE_4K - 1) & ~(PAGE_SIZE_4K - 1);

	struct dma_buf *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	int fd;
	int r = dma_memory(len, &b->pub.vaddr, &fd);
	if (r < 0) {
		free(b);
		return r;
	}
	b->len = len;
	b->pub.size = len;

	pthread_mutex_lock(&dev->dma_lock);
	r = iova_alloc(dev, len, &b->pub.iova);
	pthread_mutex_unlock(&dev->dma_lock);
	if (!r) {
		/* The device gets its own reference to the memfd, or none. */
		r = dev->be->ops->dma_map(dev->be, b->pub.vaddr, len,
					  b->pub.iova, flags & DMA_ACCESS,
					  flags & UVFIO_DMA_NO_FD ? -1 : fd, 0);
		if (r < 0) {
			pthread_mutex_lock(&dev->dma_lock);
			range_del(dev, b->pub.iova, len);
			pthread_mutex_unlock(&dev->dma_lock);
		}
	}
	close_fd(&fd);
	if (r < 0) {
		ulog_printf(&dev->log, LOG_DEBUG, "DMA alloc of %zu bytes: %s",
			    size, strerror(-r));
		munmap(b->pub.vaddr, len);
		free(b);
		return r;
	}

	pthread_mutex_lock(&dev->dma_lock);
	b->mapped = true;
	b->next = dev->bufs;
	dev->bufs = b;
	pthread_mutex_unlock(&dev->dma_lock);
	*out = &b->pub;
	return 0;
}

int uvfio_dma_free(struct uvfio_device *dev, struct uvfio_dma_buf *buf)
{
	struct dma_buf *b = NULL;
	bool mapped = false;

	if (!dev || !buf)
		return -EINVAL;
	/* Only buffers of this device; never trust the pointer blindly. */
	pthread_mutex_lock(&dev->dma_lock);
	for (struct dma_buf **pp = &dev->bufs; *pp; pp = &(*pp)->next) {
		if (&(*pp)->pub == buf) {
			b = *pp;
			*pp = b->next;
			mapped = b->mapped;
			break;
		}
	}
	pthread_mutex_unlock(&dev->dma_lock);
	if (!b)
		return -EINVAL;

	int r = 0;
	if (mapped) {
		r = dev->be->ops->dma_unmap(dev->be, b->pub.iova, b->len);
		pthread_mutex_lock(&dev->dma_lock);
		range_del(dev, b->pub.iova, b->len);
		pthread_mutex_unlock(&dev->dma_lock);
	}
	munmap(b->pub.vaddr, b->len);
	free(b);
	return r;
}

void client_dma_release(struct uvfio_device *dev)
{
	while (dev->bufs) {
		struct dma_buf *b = dev->bufs;

		dev->bufs = b->next;
		munmap(b->pub.vaddr, b->len);
		free(b);
	}
}
