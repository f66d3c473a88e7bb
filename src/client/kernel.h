/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The kernel backend's private state, shared by
 *
 *   kernel.c          opening a device by PCI address, the device ioctls
 *   kernel_iommu.c    the process-wide registry of IOMMU contexts and
 *                     groups; DMA mapping, IOVA ranges, dirty pages
 *                     (type1 container, and iommufd IOAS)
 *   kernel_iommufd.c  the iommufd ioctls (device cdev, IOAS)
 *
 * An IOMMU context (struct kctx) is one DMA address space: a type1
 * container (/dev/vfio/vfio) or an iommufd IOAS.  Every device a program
 * opens joins the first context the kernel lets it join, so DMA mapped
 * once is visible to all of them, as in a VMM.  Groups and contexts are
 * refcounted; the last device to go closes them.  Each mapping records
 * the device that made it: a device's close or unmap-all removes its own
 * mappings only.
 *
 * All system access goes through the struct uvfio_sys of the device
 * (sys.h); contexts and groups are only shared between devices opened
 * with the same one.
 */
#ifndef UVFIO_CLIENT_KERNEL_H
#define UVFIO_CLIENT_KERNEL_H

#include <pthread.h>

#include "client/backend.h"
#include "client/sys.h"
#include "common/linux_compat.h"

#define KERNEL_DEV_VFIO       "/dev/vfio/vfio"
#define KERNEL_DEV_IOMMU      "/dev/iommu"
#define KERNEL_SYSFS_PCI      "/sys/bus/pci/devices"

struct kmap {
	uint64_t iova, size;
	const void *owner;            /* the struct kdev that mapped it */
	void *own_mem;                /* our mmap of the caller's fd, or NULL */
};

struct kctx {
	const struct uvfio_sys *sys;
	bool iommufd;
	int fd;                       /* container, or iommufd */
	uint32_t ioas_id;             /* iommufd */
	unsigned long iommu_type;     /* type1: VFIO_TYPE1v2_IOMMU / _TYPE1 */
	unsigned refs;                /* groups (type1) or devices (iommufd) */
	bool dirty_on;
	struct kmap *maps;            /* sorted by iova */
	unsigned nmaps, maps_cap;
	struct kctx *next;
};

struct kgroup {
	const struct uvfio_sys *sys;
	int id;
	int fd;
	unsigned refs;                /* devices */
	struct kctx *ctx;
	struct kgroup *next;
};

struct kregion {
	bool valid;                   /* fetched */
	uint32_t flags;
	uint64_t size, offset;
};

struct kdev {
	struct uvfio_backend be;
	struct ulog log;
	const struct uvfio_sys *sys;
	char addr[16];
	int fd;                       /* the device */
	struct kgroup *group;         /* NULL on the iommufd path */
	struct kctx *ctx;
	struct uvfio_device_info info;

	pthread_mutex_t lock;         /* regions */
	struct kregion *regions;      /* [info.num_regions] */
};

static inline struct kdev *to_kdev(struct uvfio_backend *be)
{
	return (struct kdev *)be;
}

#define IOMMU_INFO_TRIES      3
#define IOVA_RANGES_MAX       4096u

/* ---- kernel_iommu.c ------------------------------------------------- */

/* Close *@fd through @sys if open; *@fd becomes -1. */
int kclose(const struct uvfio_sys *sys, int *fd);
/* Append [@start, @last] to the growable array *@v of *@n (room *@cap). */
int kiommu_add_range(struct uvfio_iova_range **v, unsigned *n, unsigned *cap,
		     uint64_t start, uint64_t last);

/*
 * Attach @k to an IOMMU context: through its group @group_id (type1), or
 * with @cdev_path (the device's /dev/vfio/devices/vfioN, iommufd path,
 * in which case k->fd is set too).  On success k->group/k->ctx are set,
 * and for type1 @group_fd is the group fd to get the device from.
 */
int kiommu_attach_group(struct kdev *k, int group_id, int *group_fd);
int kiommu_attach_cdev(struct kdev *k, const char *cdev_path);
/* Undo the attach: drop the device's mappings, its group and context. */
void kiommu_detach(struct kdev *k);
/*
 * The proof of ownership VFIO_DEVICE_PCI_HOT_RESET wants on the group
 * path: the distinct groups among @ids[0..@n) that this program has open
 * (through @k's sys), into @held with a reference each (drop them with
 * kiommu_groups_put()); @held NULL only counts.  Returns how many, or
 * -EPERM with *@missing the first of @ids that is not open here.
 */
int kiommu_groups_get(struct kdev *k, const uint32_t *ids, unsigned n,
		      struct kgroup **held, uint32_t *missing);
void kiommu_groups_put(struct kgroup **held, unsigned n);

int kiommu_dma_map(struct kdev *k, void *vaddr, size_t size, uint64_t iova,
		   uint32_t flags, int fd, uint64_t fd_offset);
int kiommu_dma_unmap(struct kdev *k, uint64_t iova, uint64_t size);
int kiommu_dma_unmap_all(struct kdev *k);
int kiommu_iova_ranges(struct kdev *k, bool for_alloc,
		       struct uvfio_iova_range **out);
int kiommu_dirty_ctl(struct kdev *k, bool on);
int kiommu_dirty_report(struct kdev *k, uint64_t iova, uint64_t size,
			uint64_t pgsize, uint64_t *bitmap);

/* ---- kernel_iommufd.c: the iommufd ioctls, reg_lock held ------------ */

/* Open /dev/iommu into @c->fd and allocate its IOAS (@c->ioas_id). */
int kiommufd_open(struct kdev *k, struct kctx *c);
/* Open the device cdev, bind it to @c and attach it to the IOAS: the fd. */
int kiommufd_bind(struct kdev *k, struct kctx *c, const char *cdev_path);
int kiommufd_map(struct kctx *c, void *vaddr, uint64_t size, uint64_t iova,
		 uint32_t flags);
int kiommufd_unmap(struct kctx *c, uint64_t iova, uint64_t size);
int kiommufd_ranges(struct kctx *c, struct uvfio_iova_range **v, unsigned *n);

#endif
