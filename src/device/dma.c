/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The DMA address space: windows the client mapped, kept sorted by IOVA
 * so a lookup is a binary search, and device access to them through the
 * shared mapping or, for fd-less windows, through the transport.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>
#include <unistd.h>

#include "device/dev.h"
#include "wire/proto.h"

void dev_set_dma_max(struct uvfio_dev *dev, unsigned max)
{
	dev->dma_max = max;
}

/*
 * A client can shrink the file behind a window after the server mapped
 * it; touching the pages past the new end would then kill the server
 * with SIGBUS.  Only a file sealed against shrinking (F_SEAL_SHRINK, as
 * QEMU's memory-backend-memfd does by default) is touched directly.
 * Other windows are copied by process_vm_readv/writev on our own
 * mapping, which fail with EFAULT instead of faulting, or, where that
 * call is not allowed, by pread/pwrite on the file, kept open for it.
 */
static bool cannot_shrink(int fd, const struct stat *st)
{
	if (!S_ISREG(st->st_mode))
		return false;
	int seals = fcntl(fd, F_GET_SEALS);
	return seals >= 0 && (seals & F_SEAL_SHRINK);
}

/* process_vm_readv may be refused (seccomp); asked once per window. */
static bool pvm_ok(void)
{
	uint64_t a = 1, b = 0;
	struct iovec l = { &b, sizeof(b) }, r = { &a, sizeof(a) };
	return process_vm_readv(getpid(), &l, 1, &r, 1, 0) ==
	       (ssize_t)sizeof(b) && b == 1;
}

/* Copy between @buf and the window without ever faulting on it. */
static int copy_checked(const struct dev_dma_window *w, uint64_t off,
			void *buf, size_t n, bool write)
{
	uint8_t *p = buf;
	struct stat st;
	/* A write must not grow the file back either. */
	if (w->fd >= 0 && write &&
	    (fstat(w->fd, &st) < 0 || w->offset + off > (uint64_t)st.st_size ||
	     n > (uint64_t)st.st_size - (w->offset + off)))
		return -EFAULT;
	while (n) {
		ssize_t r;
		if (w->fd >= 0) {
			r = write ? pwrite(w->fd, p, n, (off_t)(w->offset + off)) :
				    pread(w->fd, p, n, (off_t)(w->offset + off));
		} else {
			struct iovec l = { p, n };
			struct iovec m = { (uint8_t *)w->map + off, n };
			r = write ? process_vm_writev(getpid(), &l, 1, &m, 1, 0) :
				    process_vm_readv(getpid(), &l, 1, &m, 1, 0);
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -EFAULT;   /* past the end of the file now */
		p += r;
		off += (uint64_t)r;
		n -= (size_t)r;
	}
	return 0;
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

struct dev_dma_window *dev_dma_find(struct uvfio_dev *dev, uint64_t iova)
{
	unsigned pos = lower_bound(dev, iova);
	if (pos >= dev->dma_count || dev->dma[pos].iova > iova)
		return NULL;
	return &dev->dma[pos];
}

int dev_dma_window_copy(const struct dev_dma_window *w, uint64_t off, void *buf,
			size_t n, bool write)
{
	if (w->may_shrink)
		return copy_checked(w, off, buf, n, write);
	if (write)
		memcpy((uint8_t *)w->map + off, buf, n);
	else
		memcpy(buf, (uint8_t *)w->map + off, n);
	return 0;
}

bool uvfio_dev_dma_direct(struct uvfio_dev *dev, uint64_t iova, size_t len,
			  bool write)
{
	uint32_t need = write ? VU_DMA_FLAG_WRITE : VU_DMA_FLAG_READ;
	if (!dev->has_client || (len && iova + (len - 1) < iova))
		return false;
	while (len) {
		const struct dev_dma_window *w = dev_dma_find(dev, iova);
		if (!w || !w->map || !(w->prot & need))
			return false;
		uint64_t n = MIN((uint64_t)len, w->size - (iova - w->iova));
		iova += n;
		len -= (size_t)n;
	}
	return true;
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
			/* An fd that is not memory (an eventfd, a socket, a
			 * pipe): mmap says ENODEV, which over vfio-user would
			 * read as "no device"; it is a bad argument. */
			return e == ENODEV ? -EINVAL : -e;
		}
		/* The mapping keeps the memory; holding the fd would cap the
		 * number of windows at the process's fd limit. */
		w.map = p;
		w.may_shrink = !cannot_shrink(*fd, &st);
		if (w.may_shrink && !pvm_ok()) {
			w.fd = *fd;
			*fd = -1;
		}
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
	/* Requests into the window are answered by no one we listen to. */
	dev_dma_abort(dev, iova, size, true, -EFAULT, false);
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
	dev_dma_abort(dev, 0, 0, true, -EFAULT, false);
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
			int r = dev_dma_window_copy(w, off, p, n, write);
			if (r < 0)
				return r;
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
