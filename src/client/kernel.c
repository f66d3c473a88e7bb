/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Kernel backend: a PCI device bound to vfio-pci, opened by its address.
 *
 *   sysfs .../ADDR/iommu_group -> /dev/vfio/N -> container -> device fd
 *   (or, with iommufd, .../ADDR/vfio-dev/vfioN -> /dev/vfio/devices/vfioN)
 *
 * Every VFIO operation is one ioctl, pread or pwrite on the device fd;
 * regions are reached at the offset the kernel reports for them, never
 * at an offset guessed from the index.  The IOMMU side (groups,
 * containers, DMA) is in kernel_iommu.c.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "client/kernel.h"

/* More is not a PCI device we could drive (QEMU's limits). */
#define KERNEL_MAX_REGIONS      100u
#define KERNEL_MAX_IRQS         50u
#define REGION_INFO_ARGSZ       256u
#define REGION_INFO_MAX         (64u << 10)
#define INFO_TRIES              3
#define HOT_RESET_MAX_DEVS      256u

/* ---- names ---------------------------------------------------------- */

static bool hex_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

bool uvfio_is_pci_address(const char *name, char *canon)
{
	char full[16];
	size_t len = name ? strlen(name) : 0;

	/* "DDDD:BB:DD.F", or "BB:DD.F" in domain 0. */
	if (len == 7)
		snprintf(full, sizeof(full), "0000:%s", name);
	else if (len == 12)
		snprintf(full, sizeof(full), "%s", name);
	else
		return false;
	if (!hex_digits(full, 4) || full[4] != ':' || !hex_digits(full + 5, 2) ||
	    full[7] != ':' || !hex_digits(full + 8, 2) || full[10] != '.' ||
	    full[11] < '0' || full[11] > '7')
		return false;
	/* Device numbers stop at 0x1f. */
	if (strtoul((char[]){ full[8], full[9], 0 }, NULL, 16) > 0x1f)
		return false;
	if (canon) {
		for (size_t i = 0; i < 12; i++)
			canon[i] = (char)tolower((unsigned char)full[i]);
		canon[12] = '\0';
	}
	return true;
}

/* ---- info ----------------------------------------------------------- */

static int kernel_get_info(struct uvfio_backend *be,
			   struct uvfio_device_info *info)
{
	*info = to_kdev(be)->info;
	return 0;
}

static int kernel_irq_info(struct uvfio_backend *be, unsigned index,
			   struct uvfio_irq_info *info)
{
	struct kdev *k = to_kdev(be);
	struct vfio_irq_info ii = { .argsz = sizeof(ii), .index = index };

	int r = k->sys->ioctl(k->sys, k->fd, VFIO_DEVICE_GET_IRQ_INFO, &ii);
	if (r < 0)
		return r;
	info->index = ii.index;
	info->flags = ii.flags;
	info->count = ii.count;
	return 0;
}

/*
 * One VFIO_DEVICE_GET_REGION_INFO, grown while the kernel asks for more
 * room for the capability chain.  Fills @info (caps parsed) and the
 * region cache.
 */
static int fetch_region(struct kdev *k, unsigned index,
			struct uvfio_region_info *info)
{
	uint32_t argsz = REGION_INFO_ARGSZ;
	uint8_t *buf = NULL;
	int r = -EPROTO;

	for (int tries = 0; tries < INFO_TRIES; tries++) {
		uint8_t *nb = realloc(buf, argsz);
		if (!nb) {
			r = -ENOMEM;
			break;
		}
		buf = nb;
		memset(buf, 0, argsz);
		struct vfio_region_info ri = { .argsz = argsz, .index = index };
		memcpy(buf, &ri, sizeof(ri));
		r = k->sys->ioctl(k->sys, k->fd, VFIO_DEVICE_GET_REGION_INFO, buf);
		if (r < 0)
			break;
		memcpy(&ri, buf, sizeof(ri));
		if (ri.argsz > argsz) {
			r = -EPROTO;
			if (ri.argsz > REGION_INFO_MAX)
				break;
			argsz = ri.argsz;
			continue;
		}
		memset(info, 0, sizeof(*info));
		info->index = index;
		info->flags = ri.flags;
		info->size = ri.size;
		info->offset = ri.offset;
		r = 0;
		if (ri.flags & VFIO_REGION_INFO_FLAG_CAPS && ri.cap_offset)
			r = uvfio_region_parse_caps(buf, argsz, ri.cap_offset,
						    info, &k->log);
		break;
	}
	free(buf);
	if (r < 0)
		return r;
	if (index < k->info.num_regions) {
		pthread_mutex_lock(&k->lock);
		k->regions[index] = (struct kregion){
			.valid = true,
			.flags = info->flags,
			.size = info->size,
			.offset = info->offset,
		};
		pthread_mutex_unlock(&k->lock);
	}
	return 0;
}

static int kernel_region_info(struct uvfio_backend *be, unsigned index,
			      struct uvfio_region_info *info)
{
	return fetch_region(to_kdev(be), index, info);
}

/* Where region @index lives in the device fd, fetched once. */
static int region_get(struct kdev *k, unsigned index, struct kregion *out)
{
	if (index >= k->info.num_regions)
		return -EINVAL;
	pthread_mutex_lock(&k->lock);
	*out = k->regions[index];
	pthread_mutex_unlock(&k->lock);
	if (out->valid)
		return 0;
	struct uvfio_region_info info;
	int r = fetch_region(k, index, &info);
	if (r < 0)
		return r;
	*out = (struct kregion){ true, info.flags, info.size, info.offset };
	return 0;
}

/* ---- region access -------------------------------------------------- */

static int region_span(struct kdev *k, unsigned index, uint64_t offset,
		       size_t len, uint32_t need, uint64_t *at)
{
	struct kregion rg;
	int r = region_get(k, index, &rg);
	if (r < 0)
		return r;
	if (!(rg.flags & need))
		return -EINVAL;
	/* Out of range: EFAULT for config space, as vfio-pci answers. */
	if (!range_ok(offset, len, rg.size) || rg.offset + offset < rg.offset)
		return index == VFIO_PCI_CONFIG_REGION_INDEX ? -EFAULT : -EINVAL;
	*at = rg.offset + offset;
	return 0;
}

static ssize_t kernel_region_read(struct uvfio_backend *be, unsigned index,
				  uint64_t offset, void *buf, size_t len)
{
	struct kdev *k = to_kdev(be);
	uint64_t at;
	int r = region_span(k, index, offset, len, VFIO_REGION_INFO_FLAG_READ,
			    &at);
	if (r < 0)
		return r;
	for (size_t done = 0; done < len;) {
		ssize_t n = k->sys->pread(k->sys, k->fd, (uint8_t *)buf + done,
					  len - done, at + done);
		if (n < 0)
			return n;
		if (!n)
			return -EIO;
		done += (size_t)n;
	}
	return (ssize_t)len;
}

static ssize_t kernel_region_write(struct uvfio_backend *be, unsigned index,
				   uint64_t offset, const void *buf, size_t len,
				   bool posted)
{
	struct kdev *k = to_kdev(be);
	uint64_t at;
	(void)posted;   /* a pwrite is as quick as it gets */
	int r = region_span(k, index, offset, len, VFIO_REGION_INFO_FLAG_WRITE,
			    &at);
	if (r < 0)
		return r;
	for (size_t done = 0; done < len;) {
		ssize_t n = k->sys->pwrite(k->sys, k->fd,
					   (const uint8_t *)buf + done,
					   len - done, at + done);
		if (n < 0)
			return n;
		if (!n)
			return -EIO;
		done += (size_t)n;
	}
	return (ssize_t)len;
}

/* client.c maps from the info's offset: the device fd itself serves. */
static int kernel_region_fd(struct uvfio_backend *be, unsigned index)
{
	struct kdev *k = to_kdev(be);
	struct kregion rg;
	int r = region_get(k, index, &rg);
	if (r < 0)
		return r;
	if (!(rg.flags & VFIO_REGION_INFO_FLAG_MMAP))
		return -ENOTSUP;
	return k->sys->dup(k->sys, k->fd);
}

/* ---- interrupts ----------------------------------------------------- */

static int kernel_irq_set(struct uvfio_backend *be, unsigned index,
			  uint32_t flags, uint32_t start, uint32_t count,
			  const void *data)
{
	struct kdev *k = to_kdev(be);
	size_t each = 0;

	switch (flags & VFIO_IRQ_SET_DATA_TYPE_MASK) {
	case VFIO_IRQ_SET_DATA_BOOL:
		each = sizeof(uint8_t);
		break;
	case VFIO_IRQ_SET_DATA_EVENTFD:
		each = sizeof(int32_t);
		break;
	default:
		break;
	}
	if (each && count > (UINT32_MAX - sizeof(struct vfio_irq_set)) / each)
		return -EINVAL;
	size_t dlen = each * count;
	struct vfio_irq_set *s = calloc(1, sizeof(*s) + dlen);
	if (!s)
		return -ENOMEM;
	s->argsz = (uint32_t)(sizeof(*s) + dlen);
	s->flags = flags;
	s->index = index;
	s->start = start;
	s->count = count;
	if (dlen)
		memcpy(s->data, data, dlen);
	int r = k->sys->ioctl(k->sys, k->fd, VFIO_DEVICE_SET_IRQS, s);
	free(s);
	return r < 0 ? r : 0;
}

/* ---- reset, features, ioeventfd ------------------------------------- */

static int kernel_reset(struct uvfio_backend *be)
{
	struct kdev *k = to_kdev(be);
	int r = k->sys->ioctl(k->sys, k->fd, VFIO_DEVICE_RESET, NULL);
	return r < 0 ? r : 0;
}

/*
 * VFIO_DEVICE_GET_PCI_HOT_RESET_INFO into a reply of the right size
 * (*@out, the caller frees it).  Too small a buffer is ENOSPC with the
 * count the kernel needs room for (and no flags): ask again with that.
 */
static int fetch_hot_reset(struct kdev *k, struct vfio_pci_hot_reset_info **out)
{
	uint32_t n = 8;
	int r = -EPROTO;

	for (int tries = 0; tries < INFO_TRIES; tries++) {
		size_t len = sizeof(struct vfio_pci_hot_reset_info) +
			     n * sizeof(struct vfio_pci_dependent_device);
		struct vfio_pci_hot_reset_info *h = calloc(1, len);
		if (!h)
			return -ENOMEM;
		h->argsz = (uint32_t)len;
		r = k->sys->ioctl(k->sys, k->fd,
				  VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, h);
		if (r == -ENOSPC && h->count > n && h->count <= HOT_RESET_MAX_DEVS) {
			n = h->count;
			free(h);
			r = -EPROTO;
			continue;
		}
		if (!r && h->count > n)
			r = -EPROTO;
		if (r < 0) {
			free(h);
			return r;
		}
		*out = h;
		return 0;
	}
	return r;
}

/* Whose an entry's id is: the group, or the device id and its state. */
static void describe_dep(const struct vfio_pci_hot_reset_info *h, uint32_t i,
			 char *buf, size_t len)
{
	uint32_t id = h->devices[i].group_id;   /* devid, in the same place */

	if (!(h->flags & VFIO_PCI_HOT_RESET_FLAG_DEV_ID))
		snprintf(buf, len, "group %u", id);
	else if (id == (uint32_t)VFIO_PCI_DEVID_NOT_OWNED)
		snprintf(buf, len, "not owned");
	else if (id == VFIO_PCI_DEVID_OWNED)
		snprintf(buf, len, "owned through its IOMMU group");
	else
		snprintf(buf, len, "device id %u", id);
}

/*
 * Whether the program owns every device of reply @h.  With device ids
 * the kernel says so; with groups, each must be one we have open.
 * Logs the devices in the way when @why.
 */
static bool hot_reset_owned(struct kdev *k,
			    const struct vfio_pci_hot_reset_info *h, bool why)
{
	if (h->flags & VFIO_PCI_HOT_RESET_FLAG_DEV_ID) {
		if (h->flags & VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED)
			return true;
		for (uint32_t i = 0; i < h->count && why; i++) {
			const struct vfio_pci_dependent_device *d = &h->devices[i];
			if (d->group_id == (uint32_t)VFIO_PCI_DEVID_NOT_OWNED)
				ulog_printf(&k->log, LOG_ERR, "%s: hot reset: "
					    "%04x:%02x:%02x.%x is not bound to "
					    "this program's iommufd", k->addr,
					    d->segment, d->bus, d->devfn >> 3,
					    d->devfn & 7);
		}
		return false;
	}
	uint32_t *ids = calloc(h->count ? h->count : 1, sizeof(*ids));
	if (!ids)
		return false;
	for (uint32_t i = 0; i < h->count; i++)
		ids[i] = h->devices[i].group_id;
	uint32_t missing = 0;
	int r = kiommu_groups_get(k, ids, h->count, NULL, &missing);
	free(ids);
	if (r == -EPERM && why)
		ulog_printf(&k->log, LOG_ERR, "%s: hot reset: IOMMU group %u is "
			    "not open in this program", k->addr, missing);
	return r >= 0;
}

static int kernel_hot_reset_info(struct uvfio_backend *be, uint32_t *flags,
				 struct uvfio_hot_reset_dev *devs, unsigned max)
{
	struct kdev *k = to_kdev(be);
	struct vfio_pci_hot_reset_info *h;

	int r = fetch_hot_reset(k, &h);
	if (r < 0)
		return r;
	for (uint32_t i = 0; i < h->count && i < max; i++) {
		devs[i] = (struct uvfio_hot_reset_dev){
			.group_id = h->devices[i].group_id,
			.segment = h->devices[i].segment,
			.bus = h->devices[i].bus,
			.devfn = h->devices[i].devfn,
		};
		char what[48];
		describe_dep(h, i, what, sizeof(what));
		ulog_printf(&k->log, LOG_DEBUG, "%s: hot reset resets "
			    "%04x:%02x:%02x.%x (%s)", k->addr, devs[i].segment,
			    devs[i].bus, devs[i].devfn >> 3, devs[i].devfn & 7,
			    what);
	}
	*flags = (h->flags & VFIO_PCI_HOT_RESET_FLAG_DEV_ID ?
		  UVFIO_HOT_RESET_DEV_ID : 0) |
		 (hot_reset_owned(k, h, false) ? UVFIO_HOT_RESET_OWNED : 0);
	r = (int)h->count;
	free(h);
	return r;
}

/* The group path: prove ownership with the fd of every group listed. */
static int hot_reset_groups(struct kdev *k,
			    const struct vfio_pci_hot_reset_info *h)
{
	uint32_t *ids = calloc(h->count ? h->count : 1, sizeof(*ids));
	struct kgroup **held = calloc(h->count ? h->count : 1, sizeof(*held));
	struct vfio_pci_hot_reset *hr = calloc(1, sizeof(*hr) +
					       h->count * sizeof(int32_t));
	int r = -ENOMEM;

	if (!ids || !held || !hr)
		goto out;
	for (uint32_t i = 0; i < h->count; i++)
		ids[i] = h->devices[i].group_id;
	uint32_t missing = 0;
	r = kiommu_groups_get(k, ids, h->count, held, &missing);
	if (r < 0) {
		ulog_printf(&k->log, LOG_ERR, "%s: hot reset: IOMMU group %u is "
			    "not open in this program", k->addr, missing);
		goto out;
	}
	unsigned n = (unsigned)r;
	hr->argsz = (uint32_t)(sizeof(*hr) + n * sizeof(int32_t));
	hr->count = n;
	for (unsigned i = 0; i < n; i++)
		hr->group_fds[i] = held[i]->fd;
	r = k->sys->ioctl(k->sys, k->fd, VFIO_DEVICE_PCI_HOT_RESET, hr);
	kiommu_groups_put(held, n);
out:
	free(hr);
	free(held);
	free(ids);
	return r;
}

static int kernel_hot_reset(struct uvfio_backend *be)
{
	struct kdev *k = to_kdev(be);
	struct vfio_pci_hot_reset_info *h;

	int r = fetch_hot_reset(k, &h);
	if (r < 0)
		return r;
	bool devids = h->flags & VFIO_PCI_HOT_RESET_FLAG_DEV_ID;
	if (devids != !k->group) {
		/* Groups for a cdev, or device ids for a group: the kernel
		 * would refuse the reset we could build. */
		ulog_printf(&k->log, LOG_ERR, "%s: hot reset: the kernel lists "
			    "%s for a device opened through its %s", k->addr,
			    devids ? "device ids" : "groups",
			    k->group ? "group" : "cdev");
		r = -EPROTO;
	} else if (!hot_reset_owned(k, h, true)) {
		r = -EPERM;
	} else if (!k->group) {
		/* The cdev: no group fds; the kernel checks the iommufd. */
		struct vfio_pci_hot_reset hr = { .argsz = sizeof(hr) };
		r = k->sys->ioctl(k->sys, k->fd, VFIO_DEVICE_PCI_HOT_RESET, &hr);
	} else {
		r = hot_reset_groups(k, h);
	}
	uint32_t count = h->count;
	free(h);
	if (r < 0 && r != -EPERM && r != -EPROTO)   /* those said why */
		ulog_printf(&k->log, LOG_ERR, "%s: VFIO_DEVICE_PCI_HOT_RESET: %s",
			    k->addr, strerror(-r));
	else if (!r)
		ulog_printf(&k->log, LOG_DEBUG, "%s: hot reset, %u device(s)",
			    k->addr, count);
	return r < 0 ? r : 0;
}

static int kernel_ioeventfd(struct uvfio_backend *be, unsigned index,
			    uint64_t offset, unsigned size, uint64_t data,
			    int fd)
{
	struct kdev *k = to_kdev(be);
	uint64_t at;
	int r = region_span(k, index, offset, size, VFIO_REGION_INFO_FLAG_WRITE,
			    &at);
	if (r < 0)
		return r;
	/* The kernel takes the device-fd offset, region included. */
	struct vfio_device_ioeventfd e = {
		.argsz = sizeof(e),
		.flags = size == 1 ? VFIO_DEVICE_IOEVENTFD_8 :
			 size == 2 ? VFIO_DEVICE_IOEVENTFD_16 :
			 size == 4 ? VFIO_DEVICE_IOEVENTFD_32 :
				     VFIO_DEVICE_IOEVENTFD_64,
		.offset = at,
		.data = data,
		.fd = fd,
	};
	r = k->sys->ioctl(k->sys, k->fd, VFIO_DEVICE_IOEVENTFD, &e);
	return r < 0 ? r : 0;
}

static int kernel_device_feature(struct uvfio_backend *be, uint32_t flags,
				 void *data, size_t len)
{
	struct kdev *k = to_kdev(be);

	if (len > UINT32_MAX - sizeof(struct vfio_device_feature))
		return -EINVAL;
	struct vfio_device_feature *f = calloc(1, sizeof(*f) + len);
	if (!f)
		return -ENOMEM;
	f->argsz = (uint32_t)(sizeof(*f) + len);
	f->flags = flags;
	if (len)
		memcpy(f->data, data, len);
	int r = k->sys->ioctl(k->sys, k->fd, VFIO_DEVICE_FEATURE, f);
	if (r >= 0 && flags & VFIO_DEVICE_FEATURE_GET &&
	    !(flags & VFIO_DEVICE_FEATURE_PROBE) && len)
		memcpy(data, f->data, len);
	free(f);
	return r < 0 ? r : 0;
}

/* ---- DMA ------------------------------------------------------------ */

static int kernel_dma_map(struct uvfio_backend *be, void *vaddr, size_t size,
			  uint64_t iova, uint32_t flags, int fd,
			  uint64_t fd_offset)
{
	return kiommu_dma_map(to_kdev(be), vaddr, size, iova, flags, fd,
			      fd_offset);
}

static int kernel_dma_unmap(struct uvfio_backend *be, uint64_t iova,
			    uint64_t size)
{
	return kiommu_dma_unmap(to_kdev(be), iova, size);
}

static int kernel_dma_unmap_all(struct uvfio_backend *be)
{
	return kiommu_dma_unmap_all(to_kdev(be));
}

static int kernel_iova_ranges(struct uvfio_backend *be, bool for_alloc,
			      struct uvfio_iova_range **out)
{
	return kiommu_iova_ranges(to_kdev(be), for_alloc, out);
}

static int kernel_dirty_ctl(struct uvfio_backend *be, bool on)
{
	return kiommu_dirty_ctl(to_kdev(be), on);
}

static int kernel_dirty_report(struct uvfio_backend *be, uint64_t iova,
			       uint64_t size, uint64_t pgsize, uint64_t *bitmap)
{
	return kiommu_dirty_report(to_kdev(be), iova, size, pgsize, bitmap);
}

/* ---- open and close ------------------------------------------------- */

static void kdev_free(struct kdev *k)
{
	/* Own mappings go first: the caller frees the memory next. */
	if (k->ctx)
		kiommu_dma_unmap_all(k);
	if (k->fd >= 0)
		k->sys->close(k->sys, k->fd);
	k->fd = -1;
	kiommu_detach(k);
	pthread_mutex_destroy(&k->lock);
	free(k->regions);
	free(k);
}

static void kernel_close(struct uvfio_backend *be)
{
	kdev_free(to_kdev(be));
}

static const struct uvfio_backend_ops kernel_ops = {
	.name = "vfio-pci",
	.close = kernel_close,
	.get_info = kernel_get_info,
	.region_info = kernel_region_info,
	.region_fd = kernel_region_fd,
	.region_read = kernel_region_read,
	.region_write = kernel_region_write,
	.irq_info = kernel_irq_info,
	.irq_set = kernel_irq_set,
	.dma_map = kernel_dma_map,
	.dma_unmap = kernel_dma_unmap,
	.dma_unmap_all = kernel_dma_unmap_all,
	.reset = kernel_reset,
	.iova_ranges = kernel_iova_ranges,
	.dirty_ctl = kernel_dirty_ctl,
	.dirty_report = kernel_dirty_report,
	.ioeventfd = kernel_ioeventfd,
	.device_feature = kernel_device_feature,
	.hot_reset_info = kernel_hot_reset_info,
	.hot_reset = kernel_hot_reset,
};

/* The IOMMU group number from sysfs, -ENODEV when there is none. */
static int iommu_group_of(struct kdev *k)
{
	char path[PATH_MAX], link[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s/iommu_group", KERNEL_SYSFS_PCI,
		 k->addr);
	ssize_t n = k->sys->readlink(k->sys, path, link, sizeof(link));
	if (n < 0) {
		ulog_printf(&k->log, LOG_ERR, "%s: no IOMMU group (%s): no such "
			    "device, or no IOMMU", k->addr, strerror((int)-n));
		return -ENODEV;
	}
	const char *base = strrchr(link, '/');
	base = base ? base + 1 : link;
	char *end;
	errno = 0;
	unsigned long id = strtoul(base, &end, 10);
	if (!*base || *end || errno || id > INT_MAX) {
		ulog_printf(&k->log, LOG_ERR, "%s: odd IOMMU group link %s",
			    k->addr, link);
		return -ENODEV;
	}
	return (int)id;
}

/*
 * The iommufd path when the kernel has it (the device has a vfio cdev
 * and /dev/iommu exists), else the group and a type1 container.
 * Returns 1 when the iommufd path is not available.
 */
static int open_cdev(struct kdev *k)
{
	char dir[PATH_MAX], name[64], cdev[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s/%s/vfio-dev", KERNEL_SYSFS_PCI, k->addr);
	if (k->sys->dir_find(k->sys, dir, "vfio", name, sizeof(name)) < 0)
		return 1;
	snprintf(cdev, sizeof(cdev), "/dev/vfio/devices/%s", name);
	int r = kiommu_attach_cdev(k, cdev);
	/* No /dev/iommu (or not ours to use): the group still works. */
	if (r == -ENOENT || r == -ENODEV || r == -ENXIO || r == -EACCES) {
		ulog_printf(&k->log, LOG_DEBUG,
			    "%s: iommufd not usable (%s), using the group",
			    k->addr, strerror(-r));
		return 1;
	}
	return r;
}

/*
 * The name VFIO_GROUP_GET_DEVICE_FD takes: the address, and with a VF
 * token "ADDR vf_token=UUID", which vfio-pci checks (vfio_pci_core_match).
 */
static void device_name(const struct kdev *k,
			const struct uvfio_backend_conf *conf, char *buf,
			size_t len)
{
	if (!conf->vf_token_set) {
		snprintf(buf, len, "%s", k->addr);
		return;
	}
	char uuid[UVFIO_UUID_STRLEN + 1];
	uvfio_uuid_unparse(conf->vf_token, uuid);
	snprintf(buf, len, "%s vf_token=%s", k->addr, uuid);
}

static int open_group(struct kdev *k, const struct uvfio_backend_conf *conf)
{
	char name[sizeof(k->addr) + sizeof(" vf_token=") + UVFIO_UUID_STRLEN];
	int id = iommu_group_of(k);
	if (id < 0)
		return id;
	int gfd;
	int r = kiommu_attach_group(k, id, &gfd);
	if (r < 0)
		return r;
	device_name(k, conf, name, sizeof(name));
	r = k->sys->ioctl(k->sys, gfd, VFIO_GROUP_GET_DEVICE_FD, name);
	if (r < 0) {
		ulog_printf(&k->log, LOG_ERR, "%s: VFIO_GROUP_GET_DEVICE_FD: %s",
			    k->addr, strerror(-r));
		return r;
	}
	k->fd = r;
	return 0;
}

int uvfio_kernel_open(const char *addr, const struct uvfio_backend_conf *conf,
		      struct uvfio_backend **out)
{
	struct kdev *k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->be.ops = &kernel_ops;
	k->log = conf->log;
	k->sys = uvfio_sys_current();
	k->fd = -1;
	pthread_mutex_init(&k->lock, NULL);
	if (!uvfio_is_pci_address(addr, k->addr)) {
		kdev_free(k);
		return -EINVAL;
	}

	/* The cdev takes a VF token only from Linux 6.17 on (BIND_FLAG_TOKEN);
	 * the group takes it everywhere. */
	int r = conf->vf_token_set ? 1 : open_cdev(k);
	if (r > 0)
		r = open_group(k, conf);
	if (r < 0)
		goto fail;

	struct vfio_device_info di = { .argsz = sizeof(di) };
	r = k->sys->ioctl(k->sys, k->fd, VFIO_DEVICE_GET_INFO, &di);
	if (r < 0)
		goto fail;
	if (di.num_regions > KERNEL_MAX_REGIONS || di.num_irqs > KERNEL_MAX_IRQS) {
		ulog_printf(&k->log, LOG_ERR, "%s: %u regions, %u IRQ indexes: "
			    "too many", k->addr, di.num_regions, di.num_irqs);
		r = -EPROTO;
		goto fail;
	}
	k->info = (struct uvfio_device_info){
		.flags = di.flags,
		.num_regions = di.num_regions,
		.num_irqs = di.num_irqs,
	};
	k->regions = calloc(di.num_regions ? di.num_regions : 1,
			    sizeof(*k->regions));
	if (!k->regions) {
		r = -ENOMEM;
		goto fail;
	}
	ulog_printf(&k->log, LOG_DEBUG, "%s: open (%s), %u regions, %u IRQs",
		    k->addr, k->group ? "group" : "iommufd", di.num_regions,
		    di.num_irqs);
	*out = &k->be;
	return 0;
fail:
	kdev_free(k);
	return r;
}
