/* SPDX-License-Identifier: BSD-3-Clause */
/* The device object behind <uvfio/client.h>, shared by client*.c. */
#ifndef UVFIO_CLIENT_CLIENT_PRIV_H
#define UVFIO_CLIENT_CLIENT_PRIV_H

#include <pthread.h>

#include "client/backend.h"

#define PAGE_SIZE_4K 4096ull

/* A region mapped by uvfio_region_mmap(). */
struct region_map {
	unsigned index;
	uint8_t *base;               /* region offset 0 */
	size_t len;                  /* reserved, page rounded */
	uint32_t flags;              /* VFIO_REGION_INFO_FLAG_READ/WRITE */
	unsigned nr_areas;
	struct uvfio_region_area areas[UVFIO_MAX_SPARSE_AREAS];
};

struct iova_range {
	uint64_t iova, size;
};

struct dma_buf {
	struct uvfio_dma_buf pub;    /* first: what the caller holds */
	struct dma_buf *next;
	size_t len;                  /* of the mapping */
	bool mapped;                 /* still mapped for the device */
};

struct uvfio_device {
	struct uvfio_backend *be;
	struct ulog log;

	/* Readers access through maps; writers change the table. */
	pthread_rwlock_t map_lock;
	struct region_map *maps;
	unsigned nmaps;

	/* IOVA space in use (sorted, no overlap) and our buffers. */
	pthread_mutex_t dma_lock;
	struct iova_range *ranges;
	unsigned nranges, ranges_cap;
	struct dma_buf *bufs;
};

/* client_dma.c: free every DMA buffer's memory (the backend is closed). */
void client_dma_release(struct uvfio_device *dev);

#endif
