/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Asynchronous device DMA.  A call becomes an op in one of the device's
 * UVFIO_DMA_ASYNC_MAX slots: its parts in shared windows are copied at
 * once, its parts in fd-less windows are handed to the transport as
 * requests, and the op completes (its callback runs, the slot is free
 * again) when the last reply is in, from a zero-delay timer when there
 * was no request, or when something ends it first: an unmap of a window
 * it uses, a reset, the client going away, the reply timeout.  Ending an
 * op always makes the transport forget its requests before the callback
 * runs, so the caller's buffer is never touched after it.
 */
#include <errno.h>
#include <string.h>

#include "device/dev.h"
#include "wire/proto.h"

static void op_finish(struct dev_dma_op *op)
{
	struct uvfio_dev *dev = op->dev;
	uvfio_dma_done_fn done = op->done;
	void *opaque = op->opaque;
	int err = op->err;
	if (op->ordered)
		dev->dma_ordered--;
	dev->dma_ops_busy--;
	memset(op, 0, sizeof(*op));
	done(opaque, err);
}

static void op_deferred(void *opaque)
{
	struct dev_dma_op *op = opaque;
	op->timer = 0;
	op_finish(op);
}

void dev_dma_part_done(struct uvfio_dev *dev, unsigned slot, int err)
{
	if (slot >= UVFIO_DMA_ASYNC_MAX)
		return;
	struct dev_dma_op *op = &dev->dma_ops[slot];
	if (!op->busy || !op->parts)
		return;
	if (err && !op->err)
		op->err = err;
	if (--op->parts == 0)
		op_finish(op);
}

void dev_dma_abort(struct uvfio_dev *dev, uint64_t iova, uint64_t size,
		   bool wire_only, int err, bool close)
{
	if (close)
		dev->dma_closed = true;
	if (!dev->dma_ops_busy)
		return;
	/* Pick first: callbacks may start new ops in the freed slots. */
	uint64_t pick = 0;
	for (unsigned i = 0; i < UVFIO_DMA_ASYNC_MAX; i++) {
		struct dev_dma_op *op = &dev->dma_ops[i];
		if (!op->busy || (wire_only && !op->parts))
			continue;
		if (size && (op->iova + op->len <= iova ||
			     iova + size <= op->iova))
			continue;
		pick |= 1ull << i;
		if (op->parts && dev->tp.dma_forget)
			dev->tp.dma_forget(dev->tp.opaque, i);
		if (op->timer)
			uvfio_dev_cancel(dev, op->timer);
		op->timer = 0;
		op->parts = 0;
		op->err = err;
	}
	for (unsigned i = 0; i < UVFIO_DMA_ASYNC_MAX; i++)
		if (pick & (1ull << i))
			op_finish(&dev->dma_ops[i]);
}

/*
 * Check [iova, iova+len) as the synchronous path would, without side
 * effects; *@wire is set when some part needs the client's help.
 */
static int check_range(struct uvfio_dev *dev, uint64_t iova, size_t len,
		       uint32_t need, bool *wire)
{
	*wire = false;
	while (len) {
		const struct dev_dma_window *w = dev_dma_find(dev, iova);
		if (!w)
			return -EFAULT;
		if (!(w->prot & need))
			return -EPERM;
		uint64_t n = MIN((uint64_t)len, w->size - (iova - w->iova));
		if (!w->map)
			*wire = true;
		iova += n;
		len -= (size_t)n;
	}
	return 0;
}

static int dma_async(struct uvfio_dev *dev, uint64_t iova, void *buf,
		     size_t len, unsigned flags, bool write,
		     uvfio_dma_done_fn done, void *opaque)
{
	if (!done || (flags & ~UVFIO_DMA_ORDERED))
		return -EINVAL;
	if (!dev->has_client || dev->dma_closed)
		return -ENOTCONN;
	if (len && iova + (len - 1) < iova)
		return -EFAULT;
	bool wire;
	int r = check_range(dev, iova, len, write ? VU_DMA_FLAG_WRITE :
						    VU_DMA_FLAG_READ, &wire);
	if (r < 0)
		return r;
	if (wire && !dev->tp.dma_submit)
		return -ENOTCONN;
	unsigned slot = 0;
	while (slot < UVFIO_DMA_ASYNC_MAX && dev->dma_ops[slot].busy)
		slot++;
	if (slot == UVFIO_DMA_ASYNC_MAX)
		return -EAGAIN;
	struct dev_dma_op *op = &dev->dma_ops[slot];
	*op = (struct dev_dma_op){ .dev = dev, .iova = iova, .len = len,
				   .done = done, .opaque = opaque };
	if (!wire) {
		r = uvfio_dev_schedule(dev, 0, op_deferred, op);
		if (r < 0)
			return r == -ENOSPC ? -EAGAIN : r;
		op->timer = r;
	}
	/* Shared parts first: a failed copy must leave no request behind. */
	uint8_t *p = buf;
	uint64_t a = iova;
	for (size_t left = len; left;) {
		const struct dev_dma_window *w = dev_dma_find(dev, a);
		uint64_t off = a - w->iova;
		size_t n = (size_t)MIN((uint64_t)left, w->size - off);
		if (w->map && (r = dev_dma_window_copy(w, off, p, n, write)) < 0)
			goto fail;
		p += n;
		a += n;
		left -= n;
	}
	/* Then fd-less runs, each window's part as one submission. */
	op->busy = true;
	p = buf;
	a = iova;
	for (size_t left = len; left;) {
		const struct dev_dma_window *w = dev_dma_find(dev, a);
		uint64_t off = a - w->iova;
		size_t n = (size_t)MIN((uint64_t)left, w->size - off);
		if (!w->map) {
			unsigned k = 0;
			r = dev->tp.dma_submit(dev->tp.opaque, slot, a, p, n,
					       write, &k);
			op->parts += k;
			if (r < 0)
				goto fail;
		}
		p += n;
		a += n;
		left -= n;
	}
	dev->dma_ops_busy++;
	if (flags & UVFIO_DMA_ORDERED) {
		op->ordered = true;
		dev->dma_ordered++;
	}
	return 0;
fail:
	if (op->parts && dev->tp.dma_forget)
		dev->tp.dma_forget(dev->tp.opaque, slot);
	if (op->timer)
		uvfio_dev_cancel(dev, op->timer);
	memset(op, 0, sizeof(*op));
	return r;
}

int uvfio_dev_dma_read_async(struct uvfio_dev *dev, uint64_t iova, void *buf,
			     size_t len, unsigned flags,
			     uvfio_dma_done_fn done, void *opaque)
{
	return dma_async(dev, iova, buf, len, flags, false, done, opaque);
}

int uvfio_dev_dma_write_async(struct uvfio_dev *dev, uint64_t iova,
			      const void *buf, size_t len, unsigned flags,
			      uvfio_dma_done_fn done, void *opaque)
{
	return dma_async(dev, iova, (void *)buf, len, flags, true, done,
			 opaque);
}
