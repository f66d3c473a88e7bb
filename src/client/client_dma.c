/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * DMA for the driver side: the IOVA space this device object has mapped
 * (so that uvfio_dma_alloc() can pick free addresses) and the buffers it
 * allocated.  The backend does the mapping itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <syslog.h>

#include "client/client_priv.h"

/* Low, so that devices with narrow DMA (edu: 28 bits) reach buffers. */
#define IOVA_ALLOC_BASE 0x100000ull

/* Attempts when the chosen IOVA is taken meanwhile (shared IOMMU space). */
#define DMA_ALLOC_TRIES 4

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

/*
 * First fit at or above IOVA_ALLOC_BASE inside the @nusable ranges the
 * device can reach (sorted), page aligned; @size is page aligned.
 */
static int iova_alloc(struct uvfio_device *dev, uint64_t size,
		      const struct uvfio_iova_range *usable, unsigned nusable,
		      uint64_t *iova)
{
	for (unsigned u = 0; u < nusable; u++) {
		uint64_t lo = MAX(usable[u].start, IOVA_ALLOC_BASE);
		uint64_t hi = usable[u].last;

		if (lo > hi || lo > UINT64_MAX - (PAGE_SIZE_4K - 1))
			continue;
		uint64_t cand = (lo + PAGE_SIZE_4K - 1) & ~(PAGE_SIZE_4K - 1);
		for (unsigned i = range_lower_bound(dev, cand);; i++) {
			if (cand > hi || hi - cand < size - 1)
				break;
			if (i >= dev->nranges ||
			    dev->ranges[i].iova > cand + (size - 1)) {
				*iova = cand;
				return range_add(dev, cand, size);
			}
			/* Past this range, rounded up to a page. */
			const struct iova_range *r = &dev->ranges[i];
			uint64_t end = r->iova + (r->size - 1);
			if (end > UINT64_MAX - PAGE_SIZE_4K)
				break;
			cand = (end + PAGE_SIZE_4K) & ~(PAGE_SIZE_4K - 1);
		}
	}
	return -ENOSPC;
}

/*
 * Where the allocator may put new buffers: the backend's ranges, less
 * what others sharing the IOMMU address space mapped; or everything.
 * *@owned is the array to free, if any.
 */
static int usable_ranges(struct uvfio_device *dev,
			 const struct uvfio_iova_range **out,
			 struct uvfio_iova_range **owned)
{
	static const struct uvfio_iova_range all = { 0, UINT64_MAX };

	*owned = NULL;
	if (!dev->be->ops->iova_ranges) {
		*out = &all;
		return 1;
	}
	int n = dev->be->ops->iova_ranges(dev->be, true, owned);
	*out = *owned;
	return n;
}

int uvfio_dma_iova_ranges(struct uvfio_device *dev,
			  struct uvfio_iova_range *ranges, unsigned max)
{
	if (!dev || (!ranges && max))
		return -EINVAL;
	if (!dev->be->ops->iova_ranges) {
		if (max)
			ranges[0] = (struct uvfio_iova_range){ 0, UINT64_MAX };
		return 1;
	}
	struct uvfio_iova_range *v = NULL;
	int n = dev->be->ops->iova_ranges(dev->be, false, &v);
	if (n > 0 && max)
		memcpy(ranges, v, MIN((unsigned)n, max) * sizeof(*v));
	free(v);
	return n;
}

/* ---- dirty pages ---------------------------------------------------- */

int uvfio_dma_dirty_start(struct uvfio_device *dev)
{
	if (!dev)
		return -EINVAL;
	return dev->be->ops->dirty_ctl ? dev->be->ops->dirty_ctl(dev->be, true) :
	       -ENOTSUP;
}

int uvfio_dma_dirty_stop(struct uvfio_device *dev)
{
	if (!dev)
		return -EINVAL;
	return dev->be->ops->dirty_ctl ? dev->be->ops->dirty_ctl(dev->be, false) :
	       -ENOTSUP;
}

int uvfio_dma_dirty_report(struct uvfio_device *dev, uint64_t iova,
			   uint64_t size, uint64_t pgsize, uint64_t *bitmap)
{
	if (!dev || !bitmap || !size || !is_pow2(pgsize) || size % pgsize ||
	    iova % pgsize || iova + (size - 1) < iova)
		return -EINVAL;
	if (!dev->be->ops->dirty_report)
		return -ENOTSUP;
	return dev->be->ops->dirty_report(dev->be, iova, size, pgsize, bitmap);
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
	*fd = memfd_create("uvfio-dma", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (*fd < 0)
		return -errno;
	if (ftruncate(*fd, (off_t)len) < 0) {
		int r = -errno;
		close_fd(fd);
		return r;
	}
	/*
	 * Sealed at its size, a server may touch the memory directly: it
	 * knows it cannot shrink under its mapping (else it copies through
	 * a system call that cannot fault).  Best effort.
	 */
	fcntl(*fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
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

	/*
	 * Another device sharing the IOMMU address space may take the
	 * address between the look and the map: look again then.
	 */
	for (int tries = 0; tries < DMA_ALLOC_TRIES; tries++) {
		const struct uvfio_iova_range *usable;
		struct uvfio_iova_range *owned;
		int n = usable_ranges(dev, &usable, &owned);
		if (n < 0) {
			r = n;
			break;
		}
		pthread_mutex_lock(&dev->dma_lock);
		r = iova_alloc(dev, len, usable, (unsigned)n, &b->pub.iova);
		pthread_mutex_unlock(&dev->dma_lock);
		free(owned);
		if (r < 0)
			break;
		/* The device gets its own reference to the memfd, or none. */
		r = dev->be->ops->dma_map(dev->be, b->pub.vaddr, len,
					  b->pub.iova, flags & DMA_ACCESS,
					  flags & UVFIO_DMA_NO_FD ? -1 : fd, 0);
		if (r < 0) {
			pthread_mutex_lock(&dev->dma_lock);
			range_del(dev, b->pub.iova, len);
			pthread_mutex_unlock(&dev->dma_lock);
		}
		if (r != -EEXIST)
			break;
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
