/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The driver side's backends.  client*.c implement the public API of
 * <uvfio/client.h> once, on top of this table; a backend only moves VFIO
 * operations to whatever serves the device:
 *
 *   user*.c   a vfio-user server over a UNIX socket
 *   kernel*.c the kernel's vfio-pci through /dev/vfio (group/container
 *             with type1, or the device cdev with iommufd)
 *
 * What is the same for every backend stays in client*.c: argument checks,
 * region mmap and the direct access through it, DMA buffer allocation and
 * the IOVA allocator, the region-info capability chain parser (the kernel
 * and vfio-user share the layout).
 *
 * Every op returns 0 (or a count) or a negative errno.  Ops may be called
 * from several threads at once; a backend serializes what it must.
 */
#ifndef UVFIO_CLIENT_BACKEND_H
#define UVFIO_CLIENT_BACKEND_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <uvfio/client.h>
#include "common/util.h"

struct uvfio_backend_ops;

/* Embedded first in each backend's own object. */
struct uvfio_backend {
	const struct uvfio_backend_ops *ops;
};

/* Options as client.c resolved them (defaults applied, ranges checked). */
struct uvfio_backend_conf {
	struct ulog log;
	int timeout_ms;                /* every wait for the device; <0: none */
	uint32_t max_data_xfer_size;   /* most data we accept in one message */
	uint32_t max_msg_fds;          /* most fds we accept with one message */
	bool twin_socket;              /* ask for a separate request channel */
	bool dma_thread;               /* serve device requests on a thread */
	bool vf_token_set;             /* present vf_token when opening */
	uint8_t vf_token[UVFIO_UUID_SIZE];
};

struct uvfio_backend_ops {
	const char *name;

	/* Release everything; nothing needs to reach the device. */
	void (*close)(struct uvfio_backend *be);

	/* Protocol version and the server's limits; -ENOTSUP if none. */
	int (*negotiated)(struct uvfio_backend *be, uint16_t *major,
			  uint16_t *minor, struct uvfio_caps *caps);

	int (*get_info)(struct uvfio_backend *be,
			struct uvfio_device_info *info);
	/* Fills @info completely, caps parsed (uvfio_region_parse_caps). */
	int (*region_info)(struct uvfio_backend *be, unsigned index,
			   struct uvfio_region_info *info);
	/*
	 * A new fd (the caller closes it) to mmap region @index from, at
	 * the info's offset.  Valid after region_info reported
	 * VFIO_REGION_INFO_FLAG_MMAP; -ENOTSUP otherwise.
	 */
	int (*region_fd)(struct uvfio_backend *be, unsigned index);
	/*
	 * Access through the backend (never through a client.c mmap).
	 * Returns @len or -errno; the backend splits by its own limits.
	 * @posted: do not wait for the device (a backend without posted
	 * writes just writes).
	 */
	ssize_t (*region_read)(struct uvfio_backend *be, unsigned index,
			       uint64_t offset, void *buf, size_t len);
	ssize_t (*region_write)(struct uvfio_backend *be, unsigned index,
				uint64_t offset, const void *buf, size_t len,
				bool posted);
	/*
	 * Optional.  Called before client.c touches a region mapping, so
	 * that earlier posted writes have reached the device first.
	 */
	int (*region_sync)(struct uvfio_backend *be);

	int (*irq_info)(struct uvfio_backend *be, unsigned index,
			struct uvfio_irq_info *info);
	/*
	 * VFIO_DEVICE_SET_IRQS semantics; @flags already checked (one data
	 * type, one action), @data: @count bools or @count int fds (-1
	 * unbinds a vector) or NULL for DATA_NONE.
	 */
	int (*irq_set)(struct uvfio_backend *be, unsigned index, uint32_t flags,
		       uint32_t start, uint32_t count, const void *data);

	/*
	 * Map [@vaddr, @vaddr+@size) at @iova; @flags: UVFIO_DMA_READ /
	 * _WRITE only.  @fd >= 0 (with @fd_offset) backs the memory and may
	 * be shared with the device; a backend that pins by address ignores
	 * it.  @vaddr may be NULL only with an fd.  Arguments were checked
	 * (size non-zero, no wrap-around); overlaps are the backend's call.
	 */
	int (*dma_map)(struct uvfio_backend *be, void *vaddr, size_t size,
		       uint64_t iova, uint32_t flags, int fd,
		       uint64_t fd_offset);
	/*
	 * Exact unmap.  Whatever the result, the backend no longer touches
	 * the memory afterwards (the caller may free it).
	 */
	int (*dma_unmap)(struct uvfio_backend *be, uint64_t iova,
			 uint64_t size);
	int (*dma_unmap_all)(struct uvfio_backend *be);

	int (*reset)(struct uvfio_backend *be);

	/*
	 * The rest is optional: NULL makes the public call -ENOTSUP (or, for
	 * iova_ranges, the whole 64-bit space).
	 *
	 * IOVA ranges the device can reach, sorted, in a malloc'd *@out;
	 * returns the count.  With @for_alloc, also without what other
	 * users of a shared IOMMU address space have mapped, so that the
	 * generic IOVA allocator (client_dma.c) picks free addresses.
	 */
	int (*iova_ranges)(struct uvfio_backend *be, bool for_alloc,
			   struct uvfio_iova_range **out);
	/* Dirty-page tracking: start (@on) or stop; a report. */
	int (*dirty_ctl)(struct uvfio_backend *be, bool on);
	int (*dirty_report)(struct uvfio_backend *be, uint64_t iova,
			    uint64_t size, uint64_t pgsize, uint64_t *bitmap);
	/* @size is 1, 2, 4 or 8 (checked). */
	int (*ioeventfd)(struct uvfio_backend *be, unsigned index,
			 uint64_t offset, unsigned size, uint64_t data, int fd);
	/* Doorbells of region @index (see uvfio_region_doorbells). */
	int (*region_doorbells)(struct uvfio_backend *be, unsigned index,
				struct uvfio_doorbell *out, unsigned max);
	/* @flags checked for unknown bits; @data has @len bytes. */
	int (*device_feature)(struct uvfio_backend *be, uint32_t flags,
			      void *data, size_t len);
	/* Fill up to @max of the devices and *@flags (UVFIO_HOT_RESET_*). */
	int (*hot_reset_info)(struct uvfio_backend *be, uint32_t *flags,
			      struct uvfio_hot_reset_dev *devs, unsigned max);
	int (*hot_reset)(struct uvfio_backend *be);

	/* Event-loop integration: see uvfio_device_get_fd/_dispatch. */
	int (*get_fd)(struct uvfio_backend *be);
	int (*dispatch)(struct uvfio_backend *be);
	uint64_t (*dma_requests)(struct uvfio_backend *be);
};

/* ---- client.c: helpers for backends --------------------------------- */

/* Region-info caps parsed per chain walk at most. */
#define UVFIO_MAX_REGION_CAPS 32

/*
 * Walk the capability chain of a region-info reply.  @buf holds @len
 * bytes that start with the 32-byte struct vfio_region_info; @cap_offset
 * and every "next" count from @buf.  Fills the sparse areas, type and
 * MSI-X-mappable fields of @info.  -EPROTO for a chain that leaves @buf,
 * loops, or holds a malformed cap; -E2BIG for more than
 * UVFIO_MAX_SPARSE_AREAS sparse areas.
 */
int uvfio_region_parse_caps(const uint8_t *buf, size_t len,
			    uint32_t cap_offset, struct uvfio_region_info *info,
			    const struct ulog *log);

/* ---- backends ------------------------------------------------------ */

/* vfio-user: connect to the UNIX socket at @path. */
int uvfio_user_open_path(const char *path,
			 const struct uvfio_backend_conf *conf,
			 struct uvfio_backend **out);
/* vfio-user over connected socket @fd, which is consumed (also on error). */
int uvfio_user_open_fd(int fd, const struct uvfio_backend_conf *conf,
		       struct uvfio_backend **out);

/*
 * Is @name a PCI address ("0000:01:00.0", or "01:00.0" in domain 0)?
 * With @canon (13 bytes), the full lower-case form is stored there.
 */
bool uvfio_is_pci_address(const char *name, char *canon);
/* The kernel's vfio-pci: the device at PCI address @addr. */
int uvfio_kernel_open(const char *addr, const struct uvfio_backend_conf *conf,
		      struct uvfio_backend **out);

#endif
