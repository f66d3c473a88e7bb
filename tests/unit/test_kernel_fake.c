/* SPDX-License-Identifier: BSD-3-Clause */
/* The fake VFIO of test_kernel_fake.h. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "test_kernel_fake.h"

#define FK_DEV_SIZE   0x400000ull   /* the memfd behind device fds */
#define FK_IOAS_ID    42u
#define FK_DEVID(i)   (100u + (uint32_t)(i))   /* BIND_IOMMUFD's out_devid */
#define MIN(a, b) ((a) < (b) ? (a) : (b))

static struct fake_kernel *fk_of(const struct uvfio_sys *s)
{
	return s->priv;
}

static void note(struct fake_kernel *fk, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void note(struct fake_kernel *fk, const char *fmt, ...)
{
	va_list ap;

	if (fk->ncalls >= FK_MAX_CALLS)
		return;
	va_start(ap, fmt);
	vsnprintf(fk->calls[fk->ncalls++], sizeof(fk->calls[0]), fmt, ap);
	va_end(ap);
}

static struct fk_fd *fd_get(struct fake_kernel *fk, int fd)
{
	for (unsigned i = 0; i < FK_MAX_FDS; i++)
		if (fk->fds[i].kind != FK_FREE && fk->fds[i].fd == fd)
			return &fk->fds[i];
	return NULL;
}

static int fd_new(struct fake_kernel *fk, int real, enum fk_kind kind, int id)
{
	for (unsigned i = 0; i < FK_MAX_FDS; i++) {
		if (fk->fds[i].kind == FK_FREE) {
			fk->fds[i] = (struct fk_fd){ .fd = real, .kind = kind,
						     .id = id, .container = -1,
						     .ictx = -1 };
			return real;
		}
	}
	close(real);
	return -EMFILE;
}

static struct fk_dev *dev_by_addr(struct fake_kernel *fk, const char *addr)
{
	for (unsigned i = 0; i < fk->ndevs; i++)
		if (!strcmp(fk->devs[i].addr, addr))
			return &fk->devs[i];
	return NULL;
}

static bool group_exists(struct fake_kernel *fk, int g)
{
	for (unsigned i = 0; i < fk->ndevs; i++)
		if (fk->devs[i].group == g)
			return true;
	return false;
}

/* ---- open / close / dup ---------------------------------------------- */

static int fk_open(const struct uvfio_sys *s, const char *path, int flags)
{
	struct fake_kernel *fk = fk_of(s);
	int g, n;

	(void)flags;
	note(fk, "open %s", path);
	if (!strcmp(path, "/dev/vfio/vfio"))
		return fd_new(fk, open("/dev/null", O_RDWR | O_CLOEXEC),
			      FK_CONTAINER, 0);
	if (!strcmp(path, "/dev/iommu"))
		return fk->iommufd ? fd_new(fk, open("/dev/null", O_RDWR | O_CLOEXEC),
					    FK_IOMMUFD, 0) : -ENOENT;
	if (sscanf(path, "/dev/vfio/devices/vfio%d%n", &g, &n) == 1 && !path[n]) {
		if (fk->cdev_nodes_missing)
			return -ENOENT;
		for (unsigned i = 0; i < fk->ndevs; i++) {
			if (fk->cdevs && fk->devs[i].cdev == g) {
				if (fk->group_busy)
					return -EBUSY;
				fk->devs[i].opens++;
				int fd = fd_new(fk, fcntl(fk->memfd, F_DUPFD_CLOEXEC, 3),
						FK_DEVICE, (int)i);
				if (fd >= 0)
					fd_get(fk, fd)->cdev = true;
				return fd;
			}
		}
		return -ENOENT;
	}
	if (sscanf(path, "/dev/vfio/%d%n", &g, &n) == 1 && !path[n]) {
		if (!group_exists(fk, g))
			return -ENOENT;
		if (fk->group_busy)
			return -EBUSY;
		for (unsigned i = 0; i < FK_MAX_FDS; i++)
			if (fk->fds[i].kind == FK_GROUP && fk->fds[i].id == g)
				return -EBUSY;   /* one open at a time */
		return fd_new(fk, open("/dev/null", O_RDWR | O_CLOEXEC), FK_GROUP, g);
	}
	return -ENOENT;
}

static int fk_close(const struct uvfio_sys *s, int fd)
{
	struct fake_kernel *fk = fk_of(s);
	struct fk_fd *f = fd_get(fk, fd);

	if (!f)
		return -EBADF;
	static const char *const kinds[] = { "?", "container", "group", "device",
					     "iommufd" };
	note(fk, "close %s", kinds[f->kind]);
	if (f->kind == FK_CONTAINER) {
		/* The container's mappings go with it. */
		fk->nmaps = 0;
	}
	f->kind = FK_FREE;
	close(fd);
	return 0;
}

static int fk_dup(const struct uvfio_sys *s, int fd)
{
	struct fake_kernel *fk = fk_of(s);
	struct fk_fd *f = fd_get(fk, fd);

	if (!f || f->kind != FK_DEVICE)
		return -EBADF;
	note(fk, "dup device");
	/* A plain dup: the caller owns and closes it itself. */
	int r = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	return r < 0 ? -errno : r;
}

/* ---- sysfs ------------------------------------------------------------ */

static ssize_t fk_readlink(const struct uvfio_sys *s, const char *path,
			   char *buf, size_t len)
{
	struct fake_kernel *fk = fk_of(s);
	char addr[32];
	int n;

	note(fk, "readlink %s", path);
	if (sscanf(path, "/sys/bus/pci/devices/%12[0-9a-f:.]/iommu_group%n",
		   addr, &n) != 1 || path[n])
		return -ENOENT;
	struct fk_dev *d = dev_by_addr(fk, addr);
	if (!d || d->group < 0)
		return -ENOENT;
	int w = snprintf(buf, len, "../../../../kernel/iommu_groups/%d", d->group);
	return w < (int)len ? w : -ENAMETOOLONG;
}

static int fk_dir_find(const struct uvfio_sys *s, const char *dir,
		       const char *prefix, char *name, size_t len)
{
	struct fake_kernel *fk = fk_of(s);
	char addr[32];
	int n;

	note(fk, "dir_find %s", dir);
	if (!fk->cdevs || strcmp(prefix, "vfio") ||
	    sscanf(dir, "/sys/bus/pci/devices/%12[0-9a-f:.]/vfio-dev%n", addr, &n) != 1 ||
	    dir[n])
		return -ENOENT;
	struct fk_dev *d = dev_by_addr(fk, addr);
	if (!d)
		return -ENOENT;
	snprintf(name, len, "vfio%d", d->cdev);
	return 0;
}

/* ---- region access ---------------------------------------------------- */

static ssize_t fk_pread(const struct uvfio_sys *s, int fd, void *buf,
			size_t len, uint64_t off)
{
	struct fake_kernel *fk = fk_of(s);
	struct fk_fd *f = fd_get(fk, fd);

	if (!f || f->kind != FK_DEVICE)
		return -EBADF;
	note(fk, "pread 0x%llx %zu", (unsigned long long)off, len);
	/* As the kernel: inside one region, else EINVAL. */
	for (unsigned i = 0; i < fk->nregions; i++) {
		const struct fk_region *r = &fk->regions[i];
		if (off >= r->offset && off - r->offset < r->size) {
			size_t n = MIN(len, (size_t)(r->size - (off - r->offset)));
			ssize_t got = pread(fd, buf, n, (off_t)off);
			return got < 0 ? -errno : got;
		}
	}
	return -EINVAL;
}

static ssize_t fk_pwrite(const struct uvfio_sys *s, int fd, const void *buf,
			 size_t len, uint64_t off)
{
	struct fake_kernel *fk = fk_of(s);
	struct fk_fd *f = fd_get(fk, fd);

	if (!f || f->kind != FK_DEVICE)
		return -EBADF;
	note(fk, "pwrite 0x%llx %zu", (unsigned long long)off, len);
	for (unsigned i = 0; i < fk->nregions; i++) {
		const struct fk_region *r = &fk->regions[i];
		if (off >= r->offset && off - r->offset < r->size) {
			size_t n = MIN(len, (size_t)(r->size - (off - r->offset)));
			ssize_t put = pwrite(fd, buf, n, (off_t)off);
			return put < 0 ? -errno : put;
		}
	}
	return -EINVAL;
}

/* ---- container (type1) ------------------------------------------------ */

static bool iova_valid(const struct fake_kernel *fk, uint64_t iova, uint64_t size)
{
	if (!fk->nranges)
		return true;
	for (unsigned i = 0; i < fk->nranges; i++)
		if (iova >= fk->ranges[i].start && iova + size - 1 <= fk->ranges[i].last)
			return true;
	return false;
}

static int map_add(struct fake_kernel *fk, uint64_t iova, uint64_t size,
		   uint64_t vaddr, uint32_t flags, bool iommufd)
{
	if (!size || (iova | size | vaddr) & 0xfff || !iova_valid(fk, iova, size))
		return -EINVAL;
	for (unsigned i = 0; i < fk->nmaps; i++) {
		const struct fk_map *m = &fk->maps[i];
		if (iova < m->iova + m->size && m->iova < iova + size)
			return -EEXIST;
	}
	if (fk->nmaps == FK_MAX_MAPS)
		return -ENOSPC;
	fk->maps[fk->nmaps++] = (struct fk_map){ iova, size, vaddr, flags, iommufd };
	return 0;
}

static int map_del(struct fake_kernel *fk, uint64_t iova, uint64_t size)
{
	for (unsigned i = 0; i < fk->nmaps; i++) {
		if (fk->maps[i].iova == iova && fk->maps[i].size == size) {
			fk->maps[i] = fk->maps[--fk->nmaps];
			return 0;
		}
	}
	return -ENOENT;
}

static int container_info(struct fake_kernel *fk, uint8_t *arg)
{
	struct vfio_iommu_type1_info info;
	size_t cap = sizeof(struct vfio_iommu_type1_info_cap_iova_range) +
		     fk->nranges * sizeof(struct vfio_iova_range);
	size_t need = sizeof(info) + (fk->nranges ? cap : 0);

	memcpy(&info, arg, sizeof(info));
	note(fk, "VFIO_IOMMU_GET_INFO %u", info.argsz);
	if (info.argsz < sizeof(info))
		return -EINVAL;
	info.flags = VFIO_IOMMU_INFO_PGSIZES;
	info.iova_pgsizes = 0x40201000;
	info.cap_offset = 0;
	if (fk->nranges) {
		info.flags |= VFIO_IOMMU_INFO_CAPS;
		if (info.argsz < need) {
			info.argsz = (uint32_t)need;   /* ask for more room */
		} else {
			struct vfio_iommu_type1_info_cap_iova_range c = {
				.header = { .id = VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE,
					    .version = 1 },
				.nr_iovas = fk->nranges,
			};
			memcpy(arg + sizeof(info), &c, sizeof(c));
			for (unsigned i = 0; i < fk->nranges; i++) {
				struct vfio_iova_range r = { fk->ranges[i].start,
							     fk->ranges[i].last };
				memcpy(arg + sizeof(info) + sizeof(c) + i * sizeof(r),
				       &r, sizeof(r));
			}
			info.cap_offset = sizeof(info);
		}
	}
	memcpy(arg, &info, sizeof(info));
	return 0;
}

static int container_ioctl(struct fake_kernel *fk, struct fk_fd *f,
			   unsigned long req, void *arg)
{
	switch (req) {
	case VFIO_GET_API_VERSION:
		note(fk, "VFIO_GET_API_VERSION");
		return fk->api_version;
	case VFIO_CHECK_EXTENSION:
		note(fk, "VFIO_CHECK_EXTENSION %lu", (unsigned long)arg);
		return ((unsigned long)arg == VFIO_TYPE1v2_IOMMU && fk->type1v2) ||
		       ((unsigned long)arg == VFIO_TYPE1_IOMMU && fk->type1);
	case VFIO_SET_IOMMU: {
		note(fk, "VFIO_SET_IOMMU %lu", (unsigned long)arg);
		bool has_group = false;
		for (unsigned i = 0; i < FK_MAX_FDS; i++)
			has_group |= fk->fds[i].kind == FK_GROUP &&
				     fk->fds[i].container == f->fd;
		if (!has_group || f->iommu)
			return -EINVAL;
		f->iommu = (unsigned long)arg;
		return 0;
	}
	case VFIO_IOMMU_GET_INFO:
		return f->iommu ? container_info(fk, arg) : -EINVAL;
	case VFIO_IOMMU_MAP_DMA: {
		struct vfio_iommu_type1_dma_map *m = arg;
		note(fk, "VFIO_IOMMU_MAP_DMA 0x%llx 0x%llx",
		     (unsigned long long)m->iova, (unsigned long long)m->size);
		if (!f->iommu || m->argsz < sizeof(*m) || !m->flags)
			return -EINVAL;
		return map_add(fk, m->iova, m->size, m->vaddr, m->flags, false);
	}
	case VFIO_IOMMU_UNMAP_DMA: {
		struct vfio_iommu_type1_dma_unmap *u = arg;
		note(fk, "VFIO_IOMMU_UNMAP_DMA 0x%llx 0x%llx",
		     (unsigned long long)u->iova, (unsigned long long)u->size);
		int r = map_del(fk, u->iova, u->size);
		if (r < 0)
			u->size = 0;   /* the kernel: nothing unmapped */
		return 0;
	}
	case VFIO_IOMMU_DIRTY_PAGES: {
		struct vfio_iommu_type1_dirty_bitmap h;
		memcpy(&h, arg, sizeof(h));
		note(fk, "VFIO_IOMMU_DIRTY_PAGES 0x%x", h.flags);
		if (f->iommu != VFIO_TYPE1v2_IOMMU)
			return -EACCES;
		if (h.flags == VFIO_IOMMU_DIRTY_PAGES_FLAG_START)
			fk->dirty = true;
		else if (h.flags == VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP)
			fk->dirty = false;
		else if (h.flags == VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP) {
			if (!fk->dirty || h.argsz < sizeof(h) + sizeof(fk->last_dirty))
				return -EINVAL;
			memcpy(&fk->last_dirty, (uint8_t *)arg + sizeof(h),
			       sizeof(fk->last_dirty));
			/* Every other page dirty. */
			uint64_t *bm = (uint64_t *)(uintptr_t)fk->last_dirty.bitmap.data;
			for (uint64_t i = 0; i < fk->last_dirty.bitmap.size / 8; i++)
				bm[i] = 0x5555555555555555ull;
		} else
			return -EINVAL;
		return 0;
	}
	default:
		note(fk, "container ioctl 0x%lx", req);
		return -ENOTTY;
	}
}

/* ---- group ------------------------------------------------------------ */

static int group_ioctl(struct fake_kernel *fk, struct fk_fd *f,
		       unsigned long req, void *arg)
{
	switch (req) {
	case VFIO_GROUP_GET_STATUS: {
		struct vfio_group_status *st = arg;
		note(fk, "VFIO_GROUP_GET_STATUS");
		st->flags = (fk->viable ? VFIO_GROUP_FLAGS_VIABLE : 0) |
			    (f->container >= 0 ? VFIO_GROUP_FLAGS_CONTAINER_SET : 0);
		return 0;
	}
	case VFIO_GROUP_SET_CONTAINER: {
		int cfd = *(int *)arg;
		struct fk_fd *c = fd_get(fk, cfd);
		note(fk, "VFIO_GROUP_SET_CONTAINER");
		if (!c || c->kind != FK_CONTAINER || f->container >= 0)
			return -EINVAL;
		/* A group whose IOMMU cannot share the container's domain. */
		if (c->iommu && fk->refuse_join_group == f->id)
			return -EPERM;
		f->container = cfd;
		return 0;
	}
	case VFIO_GROUP_UNSET_CONTAINER:
		note(fk, "VFIO_GROUP_UNSET_CONTAINER");
		f->container = -1;
		return 0;
	case VFIO_GROUP_GET_DEVICE_FD: {
		/* "ADDR" or "ADDR vf_token=UUID", as vfio-pci matches it. */
		char addr[64];
		const char *name = arg;
		note(fk, "VFIO_GROUP_GET_DEVICE_FD %s", name);
		size_t alen = strcspn(name, " ");
		if (alen >= sizeof(addr))
			return -ENODEV;
		memcpy(addr, name, alen);
		addr[alen] = '\0';
		if (name[alen]) {
			const char *opt = name + alen + strspn(name + alen, " ");
			uint8_t uuid[16];
			if (strncmp(opt, "vf_token=", 9) ||
			    uvfio_uuid_parse(opt + 9, uuid) < 0)
				return -EINVAL;
		}
		struct fk_dev *d = dev_by_addr(fk, addr);
		if (!d || d->group != f->id)
			return -ENODEV;
		struct fk_fd *c = fd_get(fk, f->container);
		if (!c || !c->iommu)
			return -EINVAL;   /* no IOMMU set yet */
		d->opens++;
		return fd_new(fk, fcntl(fk->memfd, F_DUPFD_CLOEXEC, 3), FK_DEVICE,
			      (int)(d - fk->devs));
	}
	default:
		note(fk, "group ioctl 0x%lx", req);
		return -ENOTTY;
	}
}

/* ---- device ----------------------------------------------------------- */

/* The region-info reply with its caps, as the kernel lays it out. */
static int region_info(struct fake_kernel *fk, uint8_t *arg)
{
	struct vfio_region_info ri;
	memcpy(&ri, arg, sizeof(ri));
	if (ri.argsz < sizeof(ri) || ri.index >= fk->nregions)
		return -EINVAL;
	const struct fk_region *r = &fk->regions[ri.index];
	fk->region_info_calls[ri.index]++;
	fk->last_region_argsz[ri.index] = ri.argsz;
	note(fk, "VFIO_DEVICE_GET_REGION_INFO %u %u", ri.index, ri.argsz);

	uint8_t caps[1024];
	size_t clen = 0;
	uint32_t *prev_next = NULL;
	if (r->nareas) {
		struct vfio_region_info_cap_sparse_mmap sp = {
			.header = { .id = VFIO_REGION_INFO_CAP_SPARSE_MMAP, .version = 1 },
			.nr_areas = r->nareas,
		};
		memcpy(caps + clen, &sp, sizeof(sp));
		memcpy(caps + clen + sizeof(sp), r->areas, r->nareas * sizeof(r->areas[0]));
		prev_next = (uint32_t *)(void *)(caps + clen + 4);
		clen += sizeof(sp) + r->nareas * sizeof(r->areas[0]);
	}
	if (r->has_type) {
		struct vfio_region_info_cap_type t = {
			.header = { .id = VFIO_REGION_INFO_CAP_TYPE, .version = 1 },
			.type = r->type, .subtype = r->subtype,
		};
		if (prev_next)
			*prev_next = (uint32_t)(sizeof(ri) + clen);
		memcpy(caps + clen, &t, sizeof(t));
		prev_next = (uint32_t *)(void *)(caps + clen + 4);
		clen += sizeof(t);
	}
	if (r->msix_mappable) {
		struct vfio_info_cap_header h = {
			.id = VFIO_REGION_INFO_CAP_MSIX_MAPPABLE, .version = 1 };
		if (prev_next)
			*prev_next = (uint32_t)(sizeof(ri) + clen);
		memcpy(caps + clen, &h, sizeof(h));
		clen += sizeof(h);
	}

	ri.flags = r->flags;
	ri.size = r->size;
	ri.offset = r->offset;
	ri.cap_offset = 0;
	if (clen) {
		ri.flags |= VFIO_REGION_INFO_FLAG_CAPS;
		if (ri.argsz < sizeof(ri) + clen) {
			ri.argsz = (uint32_t)(sizeof(ri) + clen);
		} else {
			memcpy(arg + sizeof(ri), caps, clen);
			ri.cap_offset = sizeof(ri);
		}
	}
	memcpy(arg, &ri, sizeof(ri));
	return 0;
}

/* ---- hot reset -------------------------------------------------------- */

/* Entry @i of the set a hot reset resets; *@dev: its devs[] index, or -1. */
static struct vfio_pci_dependent_device hr_entry(const struct fake_kernel *fk,
						 uint32_t i, int *dev)
{
	unsigned seg, bus, slot, fn;

	*dev = -1;
	if (i < fk->ndevs && sscanf(fk->devs[i].addr, "%x:%x:%x.%x", &seg, &bus,
				    &slot, &fn) == 4) {
		*dev = (int)i;
		return (struct vfio_pci_dependent_device){
			.group_id = (uint32_t)fk->devs[i].group,
			.segment = (uint16_t)seg, .bus = (uint8_t)bus,
			.devfn = (uint8_t)(slot << 3 | fn) };
	}
	return (struct vfio_pci_dependent_device){
		.group_id = 7 + i, .bus = (uint8_t)(1 + i) };
}

/*
 * The devid the kernel reports to cdev @f for devs[@dev]: its own id when
 * it is bound to @f's iommufd, VFIO_PCI_DEVID_OWNED when not but a device
 * of its IOMMU group is, else VFIO_PCI_DEVID_NOT_OWNED (also for a device
 * outside the dev_set, @dev -1).
 */
static uint32_t hr_devid(const struct fake_kernel *fk, const struct fk_fd *f,
			 int dev)
{
	bool group_owned = false;

	for (unsigned j = 0; dev >= 0 && j < FK_MAX_FDS; j++) {
		const struct fk_fd *o = &fk->fds[j];
		if (o->kind != FK_DEVICE || !o->cdev || !o->bound ||
		    o->ictx != f->ictx)
			continue;
		if (o->id == dev)
			return FK_DEVID(dev);
		group_owned |= fk->devs[o->id].group == fk->devs[dev].group;
	}
	return group_owned ? (uint32_t)VFIO_PCI_DEVID_OWNED :
			     (uint32_t)VFIO_PCI_DEVID_NOT_OWNED;
}

/* As vfio_pci_ioctl_get_pci_hot_reset_info(). */
static int hot_reset_info(struct fake_kernel *fk, const struct fk_fd *f,
			  struct vfio_pci_hot_reset_info *h)
{
	note(fk, "VFIO_DEVICE_GET_PCI_HOT_RESET_INFO %u", h->argsz);
	if (h->argsz < sizeof(*h))
		return -EINVAL;
	h->flags = 0;
	if (!fk->hot_reset_count)
		return -ENODEV;
	if (fk->hot_reset_count > (h->argsz - sizeof(*h)) /
				  sizeof(struct vfio_pci_dependent_device)) {
		h->count = fk->hot_reset_count;   /* and no flags */
		return -ENOSPC;
	}
	uint32_t flags = f->cdev ? VFIO_PCI_HOT_RESET_FLAG_DEV_ID |
				   VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED : 0;
	for (uint32_t i = 0; i < fk->hot_reset_count; i++) {
		int dev;
		h->devices[i] = hr_entry(fk, i, &dev);
		if (!f->cdev)
			continue;
		/* devid shares group_id's place (the header may lack it) */
		h->devices[i].group_id = hr_devid(fk, f, dev);
		if (h->devices[i].group_id == (uint32_t)VFIO_PCI_DEVID_NOT_OWNED)
			flags &= ~(uint32_t)VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED;
	}
	h->count = fk->hot_reset_count;
	h->flags = flags;
	return 0;
}

/* As vfio_pci_ioctl_pci_hot_reset() and vfio_pci_dev_set_hot_reset(). */
static int hot_reset(struct fake_kernel *fk, const struct fk_fd *f,
		     const struct vfio_pci_hot_reset *hr)
{
	note(fk, "VFIO_DEVICE_PCI_HOT_RESET %u %u", hr->argsz, hr->count);
	if (hr->argsz < sizeof(*hr) || hr->flags)
		return -EINVAL;
	/* A zero-length array is for cdevs only, and cdevs take nothing else. */
	if (!!hr->count == f->cdev)
		return -EINVAL;
	if (!fk->hot_reset_count)
		return -ENODEV;
	if (hr->count > fk->hot_reset_count)
		return -EINVAL;
	/* The kernel reads count fds whatever argsz says; the fake checks. */
	if (hr->argsz < sizeof(*hr) + hr->count * sizeof(int32_t) ||
	    hr->count > FK_MAX_DEVS)
		return -EINVAL;
	int groups[FK_MAX_DEVS];
	for (uint32_t i = 0; i < hr->count; i++) {
		const struct fk_fd *g = fd_get(fk, hr->group_fds[i]);
		if (!g)
			return -EBADF;
		if (g->kind != FK_GROUP)
			return -EINVAL;
		groups[i] = g->id;
	}
	/* Every device reset must be in the dev_set and the caller's. */
	for (uint32_t i = 0; i < fk->hot_reset_count; i++) {
		int dev;
		hr_entry(fk, i, &dev);
		if (dev < 0)
			return -EINVAL;
		bool owned = false;
		if (f->cdev) {
			owned = hr_devid(fk, f, dev) != (uint32_t)VFIO_PCI_DEVID_NOT_OWNED;
		} else {
			for (uint32_t j = 0; j < hr->count && !owned; j++)
				owned = groups[j] == fk->devs[dev].group;
		}
		if (!owned)
			return -EINVAL;
	}
	fk->hot_resets++;
	fk->last_hot_reset_count = hr->count;
	memcpy(fk->last_hot_reset_groups, groups, hr->count * sizeof(int));
	return 0;
}

static int device_ioctl(struct fake_kernel *fk, struct fk_fd *f,
			unsigned long req, void *arg)
{
	switch (req) {
	case VFIO_DEVICE_BIND_IOMMUFD: {
		struct vfio_device_bind_iommufd *b = arg;
		note(fk, "VFIO_DEVICE_BIND_IOMMUFD");
		struct fk_fd *i = fd_get(fk, b->iommufd);
		if (b->argsz < sizeof(*b) || b->flags || !i || i->kind != FK_IOMMUFD)
			return -EINVAL;
		f->bound = true;
		f->ictx = b->iommufd;
		b->out_devid = FK_DEVID(f->id);
		return 0;
	}
	case VFIO_DEVICE_ATTACH_IOMMUFD_PT: {
		struct vfio_device_attach_iommufd_pt *a = arg;
		note(fk, "VFIO_DEVICE_ATTACH_IOMMUFD_PT %u", a->pt_id);
		return f->bound && a->pt_id == FK_IOAS_ID ? 0 : -EINVAL;
	}
	default:
		break;
	}
	/* A cdev is usable only once bound. */
	if (f->cdev && !f->bound)
		return -EINVAL;

	switch (req) {
	case VFIO_DEVICE_GET_INFO: {
		struct vfio_device_info *di = arg;
		note(fk, "VFIO_DEVICE_GET_INFO");
		di->flags = fk->dev_flags;
		di->num_regions = fk->nregions;
		di->num_irqs = FK_MAX_IRQS;
		return 0;
	}
	case VFIO_DEVICE_GET_REGION_INFO:
		return region_info(fk, arg);
	case VFIO_DEVICE_GET_IRQ_INFO: {
		struct vfio_irq_info *ii = arg;
		note(fk, "VFIO_DEVICE_GET_IRQ_INFO %u", ii->index);
		if (ii->index >= FK_MAX_IRQS)
			return -EINVAL;
		ii->flags = fk->irq_flags[ii->index];
		ii->count = fk->irq_count[ii->index];
		return 0;
	}
	case VFIO_DEVICE_SET_IRQS: {
		struct vfio_irq_set *s = arg;
		note(fk, "VFIO_DEVICE_SET_IRQS %u 0x%x %u %u", s->index, s->flags,
		     s->start, s->count);
		if (s->argsz > sizeof(fk->last_irq_set) || s->argsz < sizeof(*s))
			return -EINVAL;
		memcpy(fk->last_irq_set, arg, s->argsz);
		if (s->index >= FK_MAX_IRQS ||
		    s->start + s->count > fk->irq_count[s->index])
			return -EINVAL;
		return 0;
	}
	case VFIO_DEVICE_RESET:
		note(fk, "VFIO_DEVICE_RESET");
		fk->resets++;
		return fk->dev_flags & VFIO_DEVICE_FLAGS_RESET ? 0 : -EINVAL;
	case VFIO_DEVICE_GET_PCI_HOT_RESET_INFO:
		return hot_reset_info(fk, f, arg);
	case VFIO_DEVICE_PCI_HOT_RESET:
		return hot_reset(fk, f, arg);
	case VFIO_DEVICE_IOEVENTFD: {
		struct vfio_device_ioeventfd *e = arg;
		note(fk, "VFIO_DEVICE_IOEVENTFD 0x%llx", (unsigned long long)e->offset);
		fk->last_ioeventfd = *e;
		return 0;
	}
	case VFIO_DEVICE_FEATURE: {
		struct vfio_device_feature *ft = arg;
		note(fk, "VFIO_DEVICE_FEATURE 0x%x %u", ft->flags, ft->argsz);
		size_t n = MIN((size_t)ft->argsz, sizeof(fk->last_feature));
		memcpy(fk->last_feature, arg, n);
		if ((ft->flags & VFIO_DEVICE_FEATURE_MASK) != VFIO_DEVICE_FEATURE_MIGRATION)
			return -ENOTTY;
		if (ft->flags & VFIO_DEVICE_FEATURE_GET &&
		    !(ft->flags & VFIO_DEVICE_FEATURE_PROBE)) {
			if (ft->argsz < sizeof(*ft) + 8)
				return -EINVAL;
			uint64_t mig = VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P;
			memcpy(ft->data, &mig, sizeof(mig));
		}
		return 0;
	}
	default:
		note(fk, "device ioctl 0x%lx", req);
		return -ENOTTY;
	}
}

/* ---- iommufd ---------------------------------------------------------- */

static int iommufd_ioctl(struct fake_kernel *fk, unsigned long req, void *arg)
{
	switch (req) {
	case IOMMU_IOAS_ALLOC: {
		struct iommu_ioas_alloc *a = arg;
		note(fk, "IOMMU_IOAS_ALLOC");
		if (a->size < sizeof(*a) || a->flags)
			return -EINVAL;
		fk->ioas_allocs++;
		a->out_ioas_id = FK_IOAS_ID;
		return 0;
	}
	case IOMMU_IOAS_IOVA_RANGES: {
		struct iommu_ioas_iova_ranges *q = arg;
		note(fk, "IOMMU_IOAS_IOVA_RANGES %u", q->num_iovas);
		if (q->ioas_id != FK_IOAS_ID)
			return -ENOENT;
		unsigned n = fk->nranges ? fk->nranges : 1;
		if (q->num_iovas < n) {
			q->num_iovas = n;
			return -EMSGSIZE;
		}
		struct iommu_iova_range *r = (void *)(uintptr_t)q->allowed_iovas;
		for (unsigned i = 0; i < n; i++)
			r[i] = fk->nranges ?
			       (struct iommu_iova_range){ fk->ranges[i].start,
							  fk->ranges[i].last } :
			       (struct iommu_iova_range){ 0, UINT64_MAX };
		q->num_iovas = n;
		q->out_iova_alignment = 4096;
		return 0;
	}
	case IOMMU_IOAS_MAP: {
		struct iommu_ioas_map *m = arg;
		note(fk, "IOMMU_IOAS_MAP 0x%llx 0x%llx 0x%x",
		     (unsigned long long)m->iova, (unsigned long long)m->length,
		     m->flags);
		if (m->ioas_id != FK_IOAS_ID || !(m->flags & IOMMU_IOAS_MAP_FIXED_IOVA))
			return -EINVAL;
		return map_add(fk, m->iova, m->length, m->user_va, m->flags, true);
	}
	case IOMMU_IOAS_UNMAP: {
		struct iommu_ioas_unmap *u = arg;
		note(fk, "IOMMU_IOAS_UNMAP 0x%llx 0x%llx",
		     (unsigned long long)u->iova, (unsigned long long)u->length);
		return u->ioas_id == FK_IOAS_ID ? map_del(fk, u->iova, u->length) :
		       -ENOENT;
	}
	default:
		note(fk, "iommufd ioctl 0x%lx", req);
		return -ENOTTY;
	}
}

static int fk_ioctl(const struct uvfio_sys *s, int fd, unsigned long req,
		    void *arg)
{
	struct fake_kernel *fk = fk_of(s);
	struct fk_fd *f = fd_get(fk, fd);

	if (!f)
		return -EBADF;
	switch (f->kind) {
	case FK_CONTAINER: return container_ioctl(fk, f, req, arg);
	case FK_GROUP: return group_ioctl(fk, f, req, arg);
	case FK_DEVICE: return device_ioctl(fk, f, req, arg);
	case FK_IOMMUFD: return iommufd_ioctl(fk, req, arg);
	default: return -EBADF;
	}
}

/* ---- setup ------------------------------------------------------------ */

void fk_init(struct fake_kernel *fk)
{
	memset(fk, 0, sizeof(*fk));
	fk->sys = (struct uvfio_sys){
		.open = fk_open, .close = fk_close, .dup = fk_dup,
		.ioctl = fk_ioctl, .pread = fk_pread, .pwrite = fk_pwrite,
		.readlink = fk_readlink, .dir_find = fk_dir_find, .priv = fk,
	};
	fk->devs[0] = (struct fk_dev){ "0000:01:00.0", 7, 0, 0 };
	fk->devs[1] = (struct fk_dev){ "0000:02:00.0", 8, 1, 0 };
	fk->ndevs = 2;
	/* Regions at offsets the kernel could choose: not index << 40. */
	fk->regions[0] = (struct fk_region){ .offset = 0x100000, .size = 0x10000,
		.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
			 VFIO_REGION_INFO_FLAG_MMAP };
	fk->regions[7] = (struct fk_region){ .offset = 0x3000, .size = 0x100,
		.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE };
	fk->nregions = 9;
	fk->irq_count[VFIO_PCI_INTX_IRQ_INDEX] = 1;
	fk->irq_flags[VFIO_PCI_INTX_IRQ_INDEX] = VFIO_IRQ_INFO_EVENTFD |
		VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED;
	fk->irq_count[VFIO_PCI_MSIX_IRQ_INDEX] = 8;
	fk->irq_flags[VFIO_PCI_MSIX_IRQ_INDEX] = VFIO_IRQ_INFO_EVENTFD |
		VFIO_IRQ_INFO_NORESIZE;
	fk->dev_flags = VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET;
	fk->api_version = VFIO_API_VERSION;
	fk->type1v2 = fk->type1 = true;
	fk->viable = true;
	fk->refuse_join_group = -1;
	fk->hot_reset_count = 1;
	fk->memfd = memfd_create("fake-vfio-device", MFD_CLOEXEC);
	assert_true(fk->memfd >= 0);
	assert_int_equal(ftruncate(fk->memfd, (off_t)FK_DEV_SIZE), 0);
	uvfio_sys_install(&fk->sys);
}

unsigned fk_open_fds(const struct fake_kernel *fk, enum fk_kind kind)
{
	unsigned n = 0;
	for (unsigned i = 0; i < FK_MAX_FDS; i++)
		n += fk->fds[i].kind == kind;
	return n;
}

void fk_fini(struct fake_kernel *fk)
{
	uvfio_sys_install(NULL);
	unsigned left = 0;
	for (unsigned i = 0; i < FK_MAX_FDS; i++) {
		if (fk->fds[i].kind != FK_FREE) {
			left++;
			close(fk->fds[i].fd);
			fk->fds[i].kind = FK_FREE;
		}
	}
	close(fk->memfd);
	assert_int_equal(left, 0);
}

int fk_find_call(const struct fake_kernel *fk, const char *name, unsigned from)
{
	size_t n = strlen(name);
	for (unsigned i = from; i < fk->ncalls; i++)
		if (!strncmp(fk->calls[i], name, n) &&
		    (fk->calls[i][n] == '\0' || fk->calls[i][n] == ' '))
			return (int)i;
	return -1;
}

const char *fk_calls(const struct fake_kernel *fk)
{
	static char buf[FK_MAX_CALLS * 100];
	size_t len = 0;
	buf[0] = '\0';
	for (unsigned i = 0; i < fk->ncalls && len < sizeof(buf); i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s",
					i ? " | " : "", fk->calls[i]);
	return buf;
}

void fk_clear_calls(struct fake_kernel *fk)
{
	fk->ncalls = 0;
}

void fk_peek(const struct fake_kernel *fk, uint64_t off, void *buf, size_t len)
{
	assert_int_equal(pread(fk->memfd, buf, len, (off_t)off), (ssize_t)len);
}

void fk_poke(const struct fake_kernel *fk, uint64_t off, const void *buf, size_t len)
{
	assert_int_equal(pwrite(fk->memfd, buf, len, (off_t)off), (ssize_t)len);
}
