/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Kernel backend: the iommufd ioctls.  A device's cdev
 * (/dev/vfio/devices/vfioN) is bound to /dev/iommu and attached to an
 * I/O address space (IOAS) that the program's devices share; DMA is
 * mapped into the IOAS.  kernel_iommu.c decides when, with reg_lock held.
 *
 * No Debian kernel has IOMMUFD (6.1, nor 6.12 in bookworm-backports):
 * this runs against the fake of tests/unit/test_kernel_fake.c only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "client/kernel.h"

int kiommufd_open(struct kdev *k, struct kctx *c)
{
	const struct uvfio_sys *sys = c->sys;

	c->fd = sys->open(sys, KERNEL_DEV_IOMMU, O_RDWR);
	if (c->fd < 0)
		return c->fd;
	struct iommu_ioas_alloc a = { .size = sizeof(a) };
	int r = sys->ioctl(sys, c->fd, IOMMU_IOAS_ALLOC, &a);
	if (r < 0) {
		ulog_printf(&k->log, LOG_ERR, "%s: IOMMU_IOAS_ALLOC: %s",
			    k->addr, strerror(-r));
		return r;
	}
	c->ioas_id = a.out_ioas_id;
	return 0;
}

int kiommufd_bind(struct kdev *k, struct kctx *c, const char *cdev_path)
{
	const struct uvfio_sys *sys = c->sys;
	int dfd = sys->open(sys, cdev_path, O_RDWR);
	if (dfd < 0) {
		ulog_printf(&k->log, LOG_ERR, "%s: %s: %s", k->addr, cdev_path,
			    strerror(-dfd));
		return dfd;
	}
	struct vfio_device_bind_iommufd bind = {
		.argsz = sizeof(bind),
		.iommufd = c->fd,
	};
	int r = sys->ioctl(sys, dfd, VFIO_DEVICE_BIND_IOMMUFD, &bind);
	if (r < 0) {
		ulog_printf(&k->log, LOG_ERR, "%s: VFIO_DEVICE_BIND_IOMMUFD: %s",
			    k->addr, strerror(-r));
		goto fail;
	}
	struct vfio_device_attach_iommufd_pt at = {
		.argsz = sizeof(at),
		.pt_id = c->ioas_id,
	};
	r = sys->ioctl(sys, dfd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at);
	if (r < 0) {
		ulog_printf(&k->log, LOG_ERR,
			    "%s: VFIO_DEVICE_ATTACH_IOMMUFD_PT: %s", k->addr,
			    strerror(-r));
		goto fail;
	}
	ulog_printf(&k->log, LOG_DEBUG, "%s: bound to iommufd, device id %u",
		    k->addr, bind.out_devid);
	return dfd;
fail:
	kclose(sys, &dfd);
	/* The cdev path is not usable: tell "missing" from "refused". */
	return r == -ENOENT ? -EIO : r;
}

int kiommufd_map(struct kctx *c, void *vaddr, uint64_t size, uint64_t iova,
		 uint32_t flags)
{
	struct iommu_ioas_map m = {
		.size = sizeof(m),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA |
			 (flags & UVFIO_DMA_READ ? IOMMU_IOAS_MAP_READABLE : 0) |
			 (flags & UVFIO_DMA_WRITE ? IOMMU_IOAS_MAP_WRITEABLE : 0),
		.ioas_id = c->ioas_id,
		.user_va = (uintptr_t)vaddr,
		.length = size,
		.iova = iova,
	};
	return c->sys->ioctl(c->sys, c->fd, IOMMU_IOAS_MAP, &m);
}

int kiommufd_unmap(struct kctx *c, uint64_t iova, uint64_t size)
{
	struct iommu_ioas_unmap u = {
		.size = sizeof(u),
		.ioas_id = c->ioas_id,
		.iova = iova,
		.length = size,
	};
	int r = c->sys->ioctl(c->sys, c->fd, IOMMU_IOAS_UNMAP, &u);
	/* The kernel says how much it unmapped: all of it, or it failed. */
	return r < 0 ? r : u.length == size ? 0 : -EIO;
}

/* IOMMU_IOAS_IOVA_RANGES, grown when the kernel says EMSGSIZE. */
int kiommufd_ranges(struct kctx *c, struct uvfio_iova_range **v, unsigned *n)
{
	struct iommu_iova_range *ir = NULL;
	uint32_t num = 8;
	int r = -EPROTO;

	for (int tries = 0; tries < IOMMU_INFO_TRIES; tries++) {
		struct iommu_iova_range *p = realloc(ir, num * sizeof(*p));
		if (!p) {
			r = -ENOMEM;
			break;
		}
		ir = p;
		struct iommu_ioas_iova_ranges q = {
			.size = sizeof(q),
			.ioas_id = c->ioas_id,
			.num_iovas = num,
			.allowed_iovas = (uintptr_t)ir,
		};
		r = c->sys->ioctl(c->sys, c->fd, IOMMU_IOAS_IOVA_RANGES, &q);
		if (r == -EMSGSIZE && q.num_iovas > num &&
		    q.num_iovas <= IOVA_RANGES_MAX) {
			num = q.num_iovas;
			r = -EPROTO;
			continue;
		}
		if (r < 0)
			break;
		unsigned cap = 0;
		for (uint32_t i = 0; i < q.num_iovas && i < num && !r; i++)
			r = ir[i].last < ir[i].start ? -EPROTO :
			    kiommu_add_range(v, n, &cap, ir[i].start, ir[i].last);
		break;
	}
	free(ir);
	return r;
}
