/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * uvfio driver side: open a VFIO device and drive it.  The same calls work
 * whatever serves the device; nothing here says which backend is in use.
 *
 *   struct uvfio_device *d;
 *   uvfio_device_open("/run/uvfio/edu.sock", NULL, &d);
 *   uint32_t id;
 *   uvfio_region_read32(d, VFIO_PCI_BAR0_REGION_INDEX, 0, &id);
 *   uvfio_device_close(d);
 */
#ifndef UVFIO_CLIENT_H
#define UVFIO_CLIENT_H

#include <uvfio/uvfio.h>

#ifdef __cplusplus
extern "C" {
#endif

struct uvfio_device;

struct uvfio_open_opts {
	/* NULL: silent.  @log_opaque must stay valid until the device is
	 * closed: the library logs for as long as the device is open. */
	uvfio_log_fn log;
	void *log_opaque;
	int log_level;                 /* highest syslog level passed to log */
	uint32_t max_data_xfer_size;   /* most data we accept in one message; 0: 1 MiB */
	uint32_t max_msg_fds;          /* fds we accept per message; 0: 16 */
	bool no_twin_socket;           /* do not ask for twin-socket mode */
	/*
	 * By default a library thread serves the device's DMA requests (for
	 * windows mapped without an fd) as they arrive.  With no_dma_thread
	 * they are served inside every call and by uvfio_device_dispatch().
	 */
	bool no_dma_thread;
	int timeout_ms;                /* reply timeout; 0: 5000, <0: none */
	/*
	 * The VF token (a UUID, see uvfio_uuid_parse()) when vf_token_set:
	 * needed to open a VF of a PF whose user set one, and to open such
	 * a PF while its VFs are in use; a device that takes none refuses
	 * it (-EINVAL).  A wrong or missing token is -EACCES.  vfio-user
	 * carries it in VERSION; the kernel backend opens the device
	 * through its group as "ADDR vf_token=UUID".
	 */
	bool vf_token_set;
	uint8_t vf_token[UVFIO_UUID_SIZE];
};

/*
 * Open the device named @path: a PCI address ("0000:01:00.0" or
 * "01:00.0") names a device bound to the kernel's vfio-pci, anything
 * else a vfio-user UNIX socket.  *@out is set on success.  -ENOENT,
 * -ECONNREFUSED, -ENOTSOCK, -EPROTO (peer does not speak vfio-user),
 * -ETIMEDOUT; for a PCI device -ENODEV (no IOMMU group: not bound to
 * vfio-pci, or no IOMMU), -EBUSY (another program has its group), -EPERM
 * (group not viable: a device of the group is bound to a host driver) ...
 * Devices of one program share one IOMMU address space where the kernel
 * allows it: DMA mapped for one is visible to the others.
 */
UVFIO_EXPORT int uvfio_device_open(const char *path,
				   const struct uvfio_open_opts *opts,
				   struct uvfio_device **out);
/*
 * Same over an already connected socket; the device owns @fd afterwards,
 * also when the call fails (it is closed then).
 */
UVFIO_EXPORT int uvfio_device_open_fd(int fd, const struct uvfio_open_opts *opts,
				      struct uvfio_device **out);
UVFIO_EXPORT void uvfio_device_close(struct uvfio_device *dev);

/* What was negotiated: protocol version and the server's capabilities. */
UVFIO_EXPORT int uvfio_device_negotiated(struct uvfio_device *dev,
					 uint16_t *major, uint16_t *minor,
					 struct uvfio_caps *server_caps);

struct uvfio_device_info {
	uint32_t flags;          /* VFIO_DEVICE_FLAGS_RESET, _PCI */
	uint32_t num_regions;
	uint32_t num_irqs;
};
UVFIO_EXPORT int uvfio_device_get_info(struct uvfio_device *dev,
				       struct uvfio_device_info *info);

#define UVFIO_MAX_SPARSE_AREAS 32
struct uvfio_region_area {
	uint64_t offset;
	uint64_t size;
};
struct uvfio_region_info {
	uint32_t index;
	uint32_t flags;          /* VFIO_REGION_INFO_FLAG_* */
	uint64_t size;
	uint64_t offset;         /* the region's offset for mmap */
	uint32_t nr_areas;       /* sparse mmap areas; 0 when not sparse */
	struct uvfio_region_area areas[UVFIO_MAX_SPARSE_AREAS];
	bool has_type;
	uint32_t type, subtype;
	bool msix_mappable;
	/*
	 * A SPARSE_MMAP capability was present: only the areas are
	 * mmap-able (possibly none, nr_areas 0).  Without it the whole
	 * region is, when flags has VFIO_REGION_INFO_FLAG_MMAP.
	 */
	bool sparse;
};
/* -E2BIG when the region has more than UVFIO_MAX_SPARSE_AREAS areas. */
UVFIO_EXPORT int uvfio_region_get_info(struct uvfio_device *dev,
				       unsigned index,
				       struct uvfio_region_info *info);

struct uvfio_irq_info {
	uint32_t index;
	uint32_t flags;          /* VFIO_IRQ_INFO_* */
	uint32_t count;
};
UVFIO_EXPORT int uvfio_irq_get_info(struct uvfio_device *dev, unsigned index,
				    struct uvfio_irq_info *info);

/*
 * Region access.  Returns the number of bytes transferred (== @len) or a
 * negative errno.  Large accesses are split by the transfer limit.
 * Accesses inside a part of the region mapped with uvfio_region_mmap()
 * go through the mapping.
 */
UVFIO_EXPORT ssize_t uvfio_region_read(struct uvfio_device *dev,
				       unsigned index, uint64_t offset,
				       void *buf, size_t len);
UVFIO_EXPORT ssize_t uvfio_region_write(struct uvfio_device *dev,
					unsigned index, uint64_t offset,
					const void *buf, size_t len);
/*
 * A posted write: sent without waiting for the device.  Later reads and
 * writes are ordered behind it.  Errors the device reports for it are
 * not seen.
 */
UVFIO_EXPORT int uvfio_region_write_posted(struct uvfio_device *dev,
					   unsigned index, uint64_t offset,
					   const void *buf, size_t len);

UVFIO_EXPORT int uvfio_region_read8(struct uvfio_device *dev, unsigned index,
				    uint64_t offset, uint8_t *val);
UVFIO_EXPORT int uvfio_region_read16(struct uvfio_device *dev, unsigned index,
				     uint64_t offset, uint16_t *val);
UVFIO_EXPORT int uvfio_region_read32(struct uvfio_device *dev, unsigned index,
				     uint64_t offset, uint32_t *val);
UVFIO_EXPORT int uvfio_region_read64(struct uvfio_device *dev, unsigned index,
				     uint64_t offset, uint64_t *val);
UVFIO_EXPORT int uvfio_region_write8(struct uvfio_device *dev, unsigned index,
				     uint64_t offset, uint8_t val);
UVFIO_EXPORT int uvfio_region_write16(struct uvfio_device *dev, unsigned index,
				      uint64_t offset, uint16_t val);
UVFIO_EXPORT int uvfio_region_write32(struct uvfio_device *dev, unsigned index,
				      uint64_t offset, uint32_t val);
UVFIO_EXPORT int uvfio_region_write64(struct uvfio_device *dev, unsigned index,
				      uint64_t offset, uint64_t val);

/*
 * Map the mmap-able parts of region @index into memory (the whole region
 * is reserved; sparse holes stay inaccessible).  *@addr points at region
 * offset 0.  -ENOTSUP when the region is not mmap-able.
 */
UVFIO_EXPORT int uvfio_region_mmap(struct uvfio_device *dev, unsigned index,
				   void **addr);
UVFIO_EXPORT int uvfio_region_munmap(struct uvfio_device *dev, unsigned index);

/* ---- DMA ------------------------------------------------------------ */

#define UVFIO_DMA_READ   (1u << 0)   /* the device may read the memory */
#define UVFIO_DMA_WRITE  (1u << 1)   /* the device may write the memory */
#define UVFIO_DMA_NO_FD  (1u << 8)   /* do not share: serve DMA by messages */

struct uvfio_dma_buf {
	void *vaddr;
	uint64_t iova;
	size_t size;
};

/*
 * Allocate @size bytes (rounded up to pages) of DMA memory, give it an
 * I/O virtual address and map it for the device.  The memory is a memfd
 * shared with the device unless UVFIO_DMA_NO_FD.  @flags without
 * UVFIO_DMA_READ or UVFIO_DMA_WRITE means both.  uvfio_dma_free() frees
 * the memory whatever the device answers to the unmap.
 */
UVFIO_EXPORT int uvfio_dma_alloc(struct uvfio_device *dev, size_t size,
				 uint32_t flags, struct uvfio_dma_buf **out);
UVFIO_EXPORT int uvfio_dma_free(struct uvfio_device *dev,
				struct uvfio_dma_buf *buf);

/*
 * Map caller memory [@vaddr, @vaddr+@size) at @iova.  @fd >= 0 names a
 * file whose @fd_offset holds the memory, shared with the device; with
 * @fd < 0 the device reaches it through DMA messages only.
 */
UVFIO_EXPORT int uvfio_dma_map(struct uvfio_device *dev, void *vaddr,
			       size_t size, uint64_t iova, uint32_t flags,
			       int fd, uint64_t fd_offset);
UVFIO_EXPORT int uvfio_dma_unmap(struct uvfio_device *dev, uint64_t iova,
				 size_t size);
UVFIO_EXPORT int uvfio_dma_unmap_all(struct uvfio_device *dev);

/*
 * The I/O virtual address ranges the device can reach ([start, last],
 * sorted): fills up to @max of them and returns how many there are.
 * uvfio_dma_alloc() stays inside them.  A device without such limits
 * reports one range, all of the 64-bit space.
 */
struct uvfio_iova_range {
	uint64_t start;
	uint64_t last;           /* inclusive */
};
UVFIO_EXPORT int uvfio_dma_iova_ranges(struct uvfio_device *dev,
				       struct uvfio_iova_range *ranges,
				       unsigned max);

/*
 * Dirty-page tracking of the device's DMA.  Start and stop apply to the
 * whole IOMMU address space the device shares.  A report covers
 * [@iova, @iova+@size), which must begin and end on a mapping's bounds,
 * in pages of @pgsize (4096): bit p of u64 word p/64 of @bitmap, which
 * holds (size/pgsize + 63)/64 words, is set when page p was written.
 * Without an IOMMU that tracks writes, every mapped page counts as dirty.
 * -ENOTSUP where the device has no such tracking.
 */
UVFIO_EXPORT int uvfio_dma_dirty_start(struct uvfio_device *dev);
UVFIO_EXPORT int uvfio_dma_dirty_stop(struct uvfio_device *dev);
UVFIO_EXPORT int uvfio_dma_dirty_report(struct uvfio_device *dev,
					uint64_t iova, uint64_t size,
					uint64_t pgsize, uint64_t *bitmap);

/* ---- interrupts ------------------------------------------------------ */

/* SET_IRQS as VFIO defines it.  @data: bools or int fds per vector. */
UVFIO_EXPORT int uvfio_irq_set(struct uvfio_device *dev, unsigned index,
			       uint32_t flags, uint32_t start, uint32_t count,
			       const void *data);
/* Bind eventfds to vectors [start, start+count); fd -1 unbinds one. */
UVFIO_EXPORT int uvfio_irq_enable(struct uvfio_device *dev, unsigned index,
				  uint32_t start, uint32_t count,
				  const int *fds);
/* Disable every vector of @index. */
UVFIO_EXPORT int uvfio_irq_disable(struct uvfio_device *dev, unsigned index);
UVFIO_EXPORT int uvfio_irq_unmask(struct uvfio_device *dev, unsigned index,
				  uint32_t vector);
UVFIO_EXPORT int uvfio_irq_mask(struct uvfio_device *dev, unsigned index,
				uint32_t vector);

UVFIO_EXPORT int uvfio_device_reset(struct uvfio_device *dev);

/*
 * PCI hot reset: a reset of the bus or slot @dev is on, which resets
 * every device there with it (VFIO_DEVICE_GET_PCI_HOT_RESET_INFO and
 * VFIO_DEVICE_PCI_HOT_RESET).  What identifies each affected device
 * depends on how the kernel backend opened @dev:
 *
 *   through its IOMMU group (type1)   group_id, the device's IOMMU group;
 *                                      UVFIO_HOT_RESET_DEV_ID is clear
 *   through its cdev (iommufd)        devid, UVFIO_HOT_RESET_DEV_ID set:
 *                                      > 0     the device is bound to the
 *                                              iommufd of this program's
 *                                              devices, with that id
 *                                      UVFIO_HOT_RESET_DEVID_OWNED (0)
 *                                              not opened, but owned
 *                                              through an IOMMU group that
 *                                              is (nothing to open)
 *                                      UVFIO_HOT_RESET_DEVID_NOT_OWNED
 *                                              not ours: it blocks the reset
 *
 * UVFIO_HOT_RESET_OWNED says this program owns every affected device, so
 * that uvfio_device_hot_reset() may go ahead: on the cdev path the
 * kernel's VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED; on the group path every
 * group listed is one this program has open (a device of it opened with
 * uvfio_device_open()).  The bits are those of the kernel's
 * VFIO_PCI_HOT_RESET_FLAG_DEV_ID and _DEV_ID_OWNED.
 */
#define UVFIO_HOT_RESET_DEV_ID           (1u << 0)
#define UVFIO_HOT_RESET_OWNED            (1u << 1)
#define UVFIO_HOT_RESET_DEVID_OWNED      0u
#define UVFIO_HOT_RESET_DEVID_NOT_OWNED  0xffffffffu

struct uvfio_hot_reset_dev {
	union {
		uint32_t group_id;       /* without UVFIO_HOT_RESET_DEV_ID */
		uint32_t devid;          /* with it */
	};
	uint16_t segment;
	uint8_t bus;
	uint8_t devfn;           /* slot << 3 | function */
};
/*
 * The devices a hot reset of @dev would reset with it (@dev included):
 * fills up to @max entries, sets *@flags (UVFIO_HOT_RESET_*; @flags may
 * be NULL) and returns how many there are.  -ENOTSUP when the device
 * cannot tell (vfio-user), -ENODEV when it has no bus or slot reset.
 */
UVFIO_EXPORT int uvfio_device_hot_reset_query(struct uvfio_device *dev,
					      uint32_t *flags,
					      struct uvfio_hot_reset_dev *devs,
					      unsigned max);
/* The same without the flags. */
UVFIO_EXPORT int uvfio_device_hot_reset_info(struct uvfio_device *dev,
					     struct uvfio_hot_reset_dev *devs,
					     unsigned max);
/*
 * Hot reset @dev and every device uvfio_device_hot_reset_query() lists.
 * The program must own all of them (UVFIO_HOT_RESET_OWNED), else -EPERM
 * before the kernel is asked (the devices in the way are logged).  On the
 * group path the library hands the kernel the fds of the groups listed
 * as the proof it wants; on the cdev path the kernel checks ownership
 * against the iommufd itself.  -ENOTSUP over vfio-user; else the
 * kernel's errors (-ENODEV: no bus or slot reset; -EBUSY: a device to
 * reset is busy).
 */
UVFIO_EXPORT int uvfio_device_hot_reset(struct uvfio_device *dev);

/*
 * ioeventfd: from now on a write to eventfd @fd makes the device see a
 * write of @data (@size 1, 2, 4 or 8 bytes, little-endian) at @offset of
 * region @index, without a call.  @fd -1 removes the one registered with
 * the same region, offset, size and data.  The kernel's rules on both
 * backends: BAR regions only and the access inside the BAR (-EINVAL),
 * not over the MSI-X table (-EINVAL), -EEXIST for a key registered
 * already, -ENODEV when removing one that is not, -ENOSPC past 1000,
 * -EINVAL for an fd that is not an eventfd.  The kernel does the write
 * itself; over vfio-user, which has no command for it, a thread of the
 * library does: by the device's doorbell eventfd when the device offers
 * one for exactly this write (see uvfio_region_doorbells()), else as a
 * posted REGION_WRITE.  Removed when the device is closed.
 */
UVFIO_EXPORT int uvfio_ioeventfd(struct uvfio_device *dev, unsigned index,
				 uint64_t offset, unsigned size, uint64_t data,
				 int fd);

/*
 * Doorbells the device offers on region @index (vfio-user
 * DEVICE_GET_REGION_IO_FDS): a write to @fd (an eventfd, any value)
 * makes the device see a write of @size bytes at @offset — of @data
 * (little-endian) when @datamatch, else of a value of the device's
 * choosing.  Writes coalesce: the device may see one write for several.
 */
struct uvfio_doorbell {
	uint64_t offset;
	uint32_t size;           /* 1, 2, 4 or 8 */
	bool datamatch;
	uint64_t data;           /* 0 without datamatch */
	int fd;                  /* the caller's to close */
};

/*
 * Fill up to @max doorbells of region @index and return how many the
 * region has.  When it has more than @max, nothing is filled (and no fd
 * is taken): call again with room for all.  -EINVAL for a bad index,
 * -ENOTSUP where the backend has none (the kernel's: see
 * uvfio_ioeventfd()).
 */
UVFIO_EXPORT int uvfio_region_doorbells(struct uvfio_device *dev,
					unsigned index,
					struct uvfio_doorbell *out,
					unsigned max);

/*
 * VFIO_DEVICE_FEATURE: @flags is the feature index with
 * VFIO_DEVICE_FEATURE_GET, _SET or _PROBE; @data (@len bytes) is the
 * feature's payload, filled in by a GET.  -ENOTTY for a feature the
 * device does not have.
 */
UVFIO_EXPORT int uvfio_device_feature(struct uvfio_device *dev,
				      uint32_t flags, void *data, size_t len);

/*
 * For callers that run their own loop (with no_dma_thread): a pollable
 * fd that is readable when the device has requests for us, and the call
 * that serves them without blocking.  -1 when a library thread serves
 * them.
 */
UVFIO_EXPORT int uvfio_device_get_fd(struct uvfio_device *dev);
UVFIO_EXPORT int uvfio_device_dispatch(struct uvfio_device *dev);

/* Number of DMA requests the device sent us that we served. */
UVFIO_EXPORT uint64_t uvfio_device_dma_requests(struct uvfio_device *dev);

#ifdef __cplusplus
}
#endif
#endif
