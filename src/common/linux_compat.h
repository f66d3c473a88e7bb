/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * uAPI definitions newer than the oldest <linux/vfio.h> uvfio builds
 * with (Debian 12's linux-libc-dev is 6.1: no <linux/iommufd.h>, no vfio
 * cdev ioctls).  Each block is taken as the kernel defines it and only
 * used when the installed headers lack it, so a newer header always
 * wins.  The layouts are ABI: they never change once in a release.
 */
#ifndef UVFIO_COMMON_LINUX_COMPAT_H
#define UVFIO_COMMON_LINUX_COMPAT_H

#include <linux/ioctl.h>
#include <linux/types.h>
#include <linux/vfio.h>

#if defined(__has_include)
#if __has_include(<linux/iommufd.h>)
#include <linux/iommufd.h>
#endif
#endif

/* ---- vfio: the device cdev bound to an iommufd (Linux 6.6) ---------- */

#ifndef VFIO_DEVICE_BIND_IOMMUFD
struct vfio_device_bind_iommufd {
	__u32 argsz;
	__u32 flags;
	__s32 iommufd;
	__u32 out_devid;
};
#define VFIO_DEVICE_BIND_IOMMUFD       _IO(VFIO_TYPE, VFIO_BASE + 18)
#endif

#ifndef VFIO_DEVICE_ATTACH_IOMMUFD_PT
struct vfio_device_attach_iommufd_pt {
	__u32 argsz;
	__u32 flags;
	__u32 pt_id;
};
#define VFIO_DEVICE_ATTACH_IOMMUFD_PT  _IO(VFIO_TYPE, VFIO_BASE + 19)
#endif

#ifndef VFIO_DEVICE_DETACH_IOMMUFD_PT
struct vfio_device_detach_iommufd_pt {
	__u32 argsz;
	__u32 flags;
};
#define VFIO_DEVICE_DETACH_IOMMUFD_PT  _IO(VFIO_TYPE, VFIO_BASE + 20)
#endif

/* ---- vfio: hot reset of a cdev-opened device (Linux 6.6) ----------- */

/*
 * A device opened as a cdev gets iommufd device ids instead of group
 * numbers in VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, and resets with an
 * empty group fd array.  Newer headers put the id in a union with
 * group_id ("devid"); older ones have group_id only, so uvfio reads
 * both through group_id, which is the same four bytes.
 */
#ifndef VFIO_PCI_HOT_RESET_FLAG_DEV_ID
#define VFIO_PCI_HOT_RESET_FLAG_DEV_ID        (1 << 0)
#endif
#ifndef VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED
#define VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED  (1 << 1)
#endif
#ifndef VFIO_PCI_DEVID_OWNED
#define VFIO_PCI_DEVID_OWNED      0
#endif
#ifndef VFIO_PCI_DEVID_NOT_OWNED
#define VFIO_PCI_DEVID_NOT_OWNED  -1
#endif

/* ---- iommufd (Linux 6.2) -------------------------------------------- */

#ifndef IOMMUFD_TYPE
#define IOMMUFD_TYPE (';')
#endif

#define UVFIO_IOMMUFD_CMD_DESTROY          0x80
#define UVFIO_IOMMUFD_CMD_IOAS_ALLOC       0x81
#define UVFIO_IOMMUFD_CMD_IOAS_IOVA_RANGES 0x84
#define UVFIO_IOMMUFD_CMD_IOAS_MAP         0x85
#define UVFIO_IOMMUFD_CMD_IOAS_UNMAP       0x86

#ifndef IOMMU_DESTROY
struct iommu_destroy {
	__u32 size;
	__u32 id;
};
#define IOMMU_DESTROY _IO(IOMMUFD_TYPE, UVFIO_IOMMUFD_CMD_DESTROY)
#endif

#ifndef IOMMU_IOAS_ALLOC
struct iommu_ioas_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_ioas_id;
};
#define IOMMU_IOAS_ALLOC _IO(IOMMUFD_TYPE, UVFIO_IOMMUFD_CMD_IOAS_ALLOC)
#endif

#ifndef IOMMU_IOAS_IOVA_RANGES
struct iommu_iova_range {
	__aligned_u64 start;
	__aligned_u64 last;
};
struct iommu_ioas_iova_ranges {
	__u32 size;
	__u32 ioas_id;
	__u32 num_iovas;
	__u32 __reserved;
	__aligned_u64 allowed_iovas;
	__aligned_u64 out_iova_alignment;
};
#define IOMMU_IOAS_IOVA_RANGES \
	_IO(IOMMUFD_TYPE, UVFIO_IOMMUFD_CMD_IOAS_IOVA_RANGES)
#endif

#ifndef IOMMU_IOAS_MAP
enum iommufd_ioas_map_flags {
	IOMMU_IOAS_MAP_FIXED_IOVA = 1 << 0,
	IOMMU_IOAS_MAP_WRITEABLE = 1 << 1,
	IOMMU_IOAS_MAP_READABLE = 1 << 2,
};
struct iommu_ioas_map {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__u32 __reserved;
	__aligned_u64 user_va;
	__aligned_u64 length;
	__aligned_u64 iova;
};
#define IOMMU_IOAS_MAP _IO(IOMMUFD_TYPE, UVFIO_IOMMUFD_CMD_IOAS_MAP)
#endif

#ifndef IOMMU_IOAS_UNMAP
struct iommu_ioas_unmap {
	__u32 size;
	__u32 ioas_id;
	__aligned_u64 iova;
	__aligned_u64 length;
};
#define IOMMU_IOAS_UNMAP _IO(IOMMUFD_TYPE, UVFIO_IOMMUFD_CMD_IOAS_UNMAP)
#endif

#endif
