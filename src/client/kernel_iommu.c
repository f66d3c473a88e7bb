/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Kernel backend: IOMMU contexts and groups, and DMA through them
 * (the iommufd ioctls themselves are in kernel_iommufd.c).
 *
 * The registry below is process-wide on purpose: the kernel lets one
 * group be opened once (a second open is EBUSY), so two devices of one
 * group must share its fd, and devices that share a container share
 * their DMA mappings, which is what a program driving several devices
 * wants.  reg_lock guards the lists, the refcounts and every context's
 * mapping table; ioctls on a context are made with it held, which keeps
 * the table and the kernel in step.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <syslog.h>

#include "client/kernel.h"

#define IOMMU_INFO_MAX     (64u << 10)
#define IOMMU_CAP_TTL      64u

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kctx *ctx_list;
static struct kgroup *group_list;

int kclose(const struct uvfio_sys *sys, int *fd)
{
	int r = 0;

	if (*fd >= 0)
		r = sys->close(sys, *fd);
	*fd = -1;
	return r;
}

/* ---- contexts ------------------------------------------------------- */

static void ctx_unlink(struct kctx *c)
{
	for (struct kctx **pp = &ctx_list; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
}

/* Drop one reference; the last closes the container or iommufd. */
static void ctx_put(struct kctx *c)
{
	if (--c->refs)
		return;
	ctx_unlink(c);
	for (unsigned i = 0; i < c->nmaps; i++)
		if (c->maps[i].own_mem)
			munmap(c->maps[i].own_mem, (size_t)c->maps[i].size);
	kclose(c->sys, &c->fd);
	free(c->maps);
	free(c);
}

static const char *type_name(unsigned long type)
{
	return type == VFIO_TYPE1v2_IOMMU ? "type1v2" : "type1";
}

/*
 * A new type1 container with @gfd's group in it.  The IOMMU type is set
 * after the group joins: the kernel needs a group to pick the IOMMU.
 */
static int ctx_new_type1(struct kdev *k, int gfd, struct kctx **out)
{
	const struct uvfio_sys *sys = k->sys;
	struct kctx *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->sys = sys;
	c->fd = sys->open(sys, KERNEL_DEV_VFIO, O_RDWR);
	int r = c->fd;
	if (r < 0) {
		ulog_printf(&k->log, LOG_ERR, "%s: %s: %s", k->addr,
			    KERNEL_DEV_VFIO, strerror(-r));
		goto fail;
	}
	r = sys->ioctl(sys, c->fd, VFIO_GET_API_VERSION, NULL);
	if (r != VFIO_API_VERSION) {
		ulog_printf(&k->log, LOG_ERR,
			    "%s: VFIO API version %d, expected %d", k->addr, r,
			    VFIO_API_VERSION);
		r = r < 0 ? r : -ENOTSUP;
		goto fail;
	}
	static const unsigned long types[] = { VFIO_TYPE1v2_IOMMU,
					       VFIO_TYPE1_IOMMU };
	for (size_t i = 0; i < ARRAY_SIZE(types) && !c->iommu_type; i++)
		if (sys->ioctl(sys, c->fd, VFIO_CHECK_EXTENSION,
			       (void *)types[i]) > 0)
			c->iommu_type = types[i];
	if (!c->iommu_type) {
		ulog_printf(&k->log, LOG_ERR,
			    "%s: the VFIO container has no type1 IOMMU", k->addr);
		r = -ENOTSUP;
		goto fail;
	}
	r = sys->ioctl(sys, gfd, VFIO_GROUP_SET_CONTAINER, &c->fd);
	if (r < 0) {
		ulog_printf(&k->log, LOG_ERR, "%s: VFIO_GROUP_SET_CONTAINER: %s",
			    k->addr, strerror(-r));
		goto fail;
	}
	r = sys->ioctl(sys, c->fd, VFIO_SET_IOMMU, (void *)c->iommu_type);
	if (r < 0) {
		ulog_printf(&k->log, LOG_ERR, "%s: VFIO_SET_IOMMU %s: %s%s",
			    k->addr, type_name(c->iommu_type), strerror(-r),
			    r == -EPERM ? " (no interrupt remapping? see "
			    "vfio_iommu_type1 allow_unsafe_interrupts)" : "");
		sys->ioctl(sys, gfd, VFIO_GROUP_UNSET_CONTAINER, NULL);
		goto fail;
	}
	ulog_printf(&k->log, LOG_DEBUG, "%s: new container, %s IOMMU", k->addr,
		    type_name(c->iommu_type));
	c->next = ctx_list;
	ctx_list = c;
	*out = c;
	return 0;
fail:
	kclose(sys, &c->fd);
	free(c);
	return r;
}

/* Put group @gfd in one of our containers, or a new one.  reg_lock held. */
static int group_join(struct kdev *k, int gfd, struct kctx **out)
{
	for (struct kctx *c = ctx_list; c; c = c->next) {
		if (c->sys != k->sys || c->iommufd)
			continue;
		/* The kernel refuses a group whose IOMMU differs: EPERM. */
		int r = k->sys->ioctl(k->sys, gfd, VFIO_GROUP_SET_CONTAINER,
				      &c->fd);
		if (!r) {
			c->refs++;
			*out = c;
			return 0;
		}
		ulog_printf(&k->log, LOG_DEBUG,
			    "%s: cannot share container: %s", k->addr,
			    strerror(-r));
	}
	int r = ctx_new_type1(k, gfd, out);
	if (!r)
		(*out)->refs = 1;
	return r;
}

int kiommu_attach_group(struct kdev *k, int group_id, int *group_fd)
{
	const struct uvfio_sys *sys = k->sys;
	char path[64];
	int r;

	pthread_mutex_lock(&reg_lock);
	for (struct kgroup *g = group_list; g; g = g->next) {
		if (g->sys == sys && g->id == group_id) {
			g->refs++;
			k->group = g;
			k->ctx = g->ctx;
			*group_fd = g->fd;
			pthread_mutex_unlock(&reg_lock);
			return 0;
		}
	}

	struct kgroup *g = calloc(1, sizeof(*g));
	if (!g) {
		r = -ENOMEM;
		goto out;
	}
	g->sys = sys;
	g->id = group_id;
	snprintf(path, sizeof(path), "/dev/vfio/%d", group_id);
	g->fd = sys->open(sys, path, O_RDWR);
	if (g->fd < 0) {
		r = g->fd;
		ulog_printf(&k->log, LOG_ERR, "%s: %s: %s%s", k->addr, path,
			    strerror(-r), r == -EBUSY ?
			    " (the group is in use by another program)" : "");
		goto fail;
	}
	struct vfio_group_status st = { .argsz = sizeof(st) };
	r = sys->ioctl(sys, g->fd, VFIO_GROUP_GET_STATUS, &st);
	if (r < 0)
		goto fail;
	if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		ulog_printf(&k->log, LOG_ERR,
			    "%s: IOMMU group %d is not viable: bind every "
			    "device of the group to vfio-pci", k->addr, group_id);
		r = -EPERM;
		goto fail;
	}
	if (st.flags & VFIO_GROUP_FLAGS_CONTAINER_SET) {
		r = -EBUSY;
		goto fail;
	}
	r = group_join(k, g->fd, &g->ctx);
	if (r < 0)
		goto fail;
	g->refs = 1;
	g->next = group_list;
	group_list = g;
	k->group = g;
	k->ctx = g->ctx;
	*group_fd = g->fd;
	goto out;
fail:
	kclose(sys, &g->fd);
	free(g);
out:
	pthread_mutex_unlock(&reg_lock);
	return r;
}

/* ---- iommufd (the ioctls are in kernel_iommufd.c) ------------------ */

static int ctx_new_iommufd(struct kdev *k, struct kctx **out)
{
	struct kctx *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->sys = k->sys;
	c->iommufd = true;
	c->fd = -1;
	int r = kiommufd_open(k, c);
	if (r < 0) {
		kclose(c->sys, &c->fd);
		free(c);
		return r;
	}
	c->next = ctx_list;
	ctx_list = c;
	*out = c;
	return 0;
}

int kiommu_attach_cdev(struct kdev *k, const char *cdev_path)
{
	const struct uvfio_sys *sys = k->sys;
	struct kctx *c = NULL;
	int r = 0;

	pthread_mutex_lock(&reg_lock);
	for (struct kctx *i = ctx_list; i && !c; i = i->next)
		if (i->sys == sys && i->iommufd)
			c = i;
	if (!c) {
		r = ctx_new_iommufd(k, &c);
		if (r < 0)
			goto out;
	}
	c->refs++;
	r = kiommufd_bind(k, c, cdev_path);
	if (r < 0) {
		ctx_put(c);
		goto out;
	}
	k->fd = r;
	k->ctx = c;
	r = 0;
out:
	pthread_mutex_unlock(&reg_lock);
	return r;
}

/* ---- mappings, reg_lock held ---------------------------------------- */

static unsigned map_lower_bound(const struct kctx *c, uint64_t iova)
{
	unsigned lo = 0, hi = c->nmaps;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		const struct kmap *m = &c->maps[mid];

		if (m->iova + (m->size - 1) < iova)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int map_insert(struct kctx *c, const struct kmap *m)
{
	unsigned pos = map_lower_bound(c, m->iova);

	if (pos < c->nmaps && c->maps[pos].iova <= m->iova + (m->size - 1))
		return -EEXIST;
	if (c->nmaps == c->maps_cap) {
		unsigned cap = c->maps_cap ? 2 * c->maps_cap : 16;
		struct kmap *n = realloc(c->maps, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		c->maps = n;
		c->maps_cap = cap;
	}
	memmove(&c->maps[pos + 1], &c->maps[pos],
		(c->nmaps - pos) * sizeof(*c->maps));
	c->maps[pos] = *m;
	c->nmaps++;
	return 0;
}

static int kernel_map(struct kctx *c, void *vaddr, uint64_t size,
		      uint64_t iova, uint32_t flags)
{
	if (c->iommufd)
		return kiommufd_map(c, vaddr, size, iova, flags);
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = (flags & UVFIO_DMA_READ ? VFIO_DMA_MAP_FLAG_READ : 0) |
			 (flags & UVFIO_DMA_WRITE ? VFIO_DMA_MAP_FLAG_WRITE : 0),
		.vaddr = (uintptr_t)vaddr,
		.iova = iova,
		.size = size,
	};
	return c->sys->ioctl(c->sys, c->fd, VFIO_IOMMU_MAP_DMA, &m);
}

static int kernel_unmap(struct kctx *c, uint64_t iova, uint64_t size)
{
	if (c->iommufd)
		return kiommufd_unmap(c, iova, size);
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u),
		.iova = iova,
		.size = size,
	};
	int r = c->sys->ioctl(c->sys, c->fd, VFIO_IOMMU_UNMAP_DMA, &u);
	/* The kernel says how much it unmapped: all of it, or it failed. */
	return r < 0 ? r : u.size == size ? 0 : -EIO;
}

/* Unmap entry @i and drop it from the table, whatever the kernel says. */
static int map_remove(struct kctx *c, unsigned i)
{
	struct kmap m = c->maps[i];
	int r = kernel_unmap(c, m.iova, m.size);

	if (m.own_mem)
		munmap(m.own_mem, (size_t)m.size);
	memmove(&c->maps[i], &c->maps[i + 1],
		(c->nmaps - i - 1) * sizeof(*c->maps));
	c->nmaps--;
	return r;
}

int kiommu_dma_map(struct kdev *k, void *vaddr, size_t size, uint64_t iova,
		   uint32_t flags, int fd, uint64_t fd_offset)
{
	struct kmap m = { .iova = iova, .size = size, .owner = k };

	/*
	 * The kernel pins by address: memory given only as an fd is mapped
	 * here first, and that mapping lives as long as the DMA mapping.
	 */
	if (!vaddr) {
		if (fd < 0 || fd_offset > (uint64_t)INT64_MAX)
			return -EINVAL;
		int prot = PROT_READ | (flags & UVFIO_DMA_WRITE ? PROT_WRITE : 0);
		void *p = mmap(NULL, size, prot, MAP_SHARED, fd, (off_t)fd_offset);
		if (p == MAP_FAILED)
			return -errno;
		m.own_mem = vaddr = p;
	}

	pthread_mutex_lock(&reg_lock);
	struct kctx *c = k->ctx;
	int r = 0;
	unsigned pos = map_lower_bound(c, iova);
	if (pos < c->nmaps && c->maps[pos].iova <= iova + (size - 1))
		r = -EEXIST;
	if (!r && c->nmaps == c->maps_cap) {
		unsigned cap = c->maps_cap ? 2 * c->maps_cap : 16;
		struct kmap *n = realloc(c->maps, cap * sizeof(*n));
		if (n) {
			c->maps = n;
			c->maps_cap = cap;
		} else {
			r = -ENOMEM;
		}
	}
	if (!r)
		r = kernel_map(c, vaddr, size, iova, flags);
	if (!r)
		r = map_insert(c, &m);   /* room was made: cannot fail */
	pthread_mutex_unlock(&reg_lock);
	if (r < 0) {
		ulog_printf(&k->log, LOG_DEBUG,
			    "%s: DMA map 0x%" PRIx64 "+0x%zx: %s", k->addr,
			    iova, size, strerror(-r));
		if (m.own_mem)
			munmap(m.own_mem, size);
	}
	return r;
}

int kiommu_dma_unmap(struct kdev *k, uint64_t iova, uint64_t size)
{
	pthread_mutex_lock(&reg_lock);
	struct kctx *c = k->ctx;
	unsigned pos = map_lower_bound(c, iova);
	int r = -ENOENT;
	/* Exact, and only what this device mapped. */
	if (pos < c->nmaps && c->maps[pos].iova == iova &&
	    c->maps[pos].size == size && c->maps[pos].owner == k)
		r = map_remove(c, pos);
	pthread_mutex_unlock(&reg_lock);
	return r;
}

int kiommu_dma_unmap_all(struct kdev *k)
{
	int r = 0;

	pthread_mutex_lock(&reg_lock);
	struct kctx *c = k->ctx;
	for (unsigned i = 0; c && i < c->nmaps;) {
		if (c->maps[i].owner != k) {
			i++;
			continue;
		}
		int e = map_remove(c, i);
		if (e < 0 && !r)
			r = e;
	}
	pthread_mutex_unlock(&reg_lock);
	return r;
}

/* Drop one reference to @g; the last closes it.  reg_lock held. */
static void group_put(struct kgroup *g)
{
	if (--g->refs)
		return;
	for (struct kgroup **pp = &group_list; *pp; pp = &(*pp)->next) {
		if (*pp == g) {
			*pp = g->next;
			break;
		}
	}
	/* Closing the group takes it out of its container. */
	kclose(g->sys, &g->fd);
	ctx_put(g->ctx);
	free(g);
}

void kiommu_detach(struct kdev *k)
{
	pthread_mutex_lock(&reg_lock);
	if (k->group)
		group_put(k->group);
	else if (k->ctx)
		ctx_put(k->ctx);
	k->group = NULL;
	k->ctx = NULL;
	pthread_mutex_unlock(&reg_lock);
}

int kiommu_groups_get(struct kdev *k, const uint32_t *ids, unsigned n,
		      struct kgroup **held, uint32_t *missing)
{
	unsigned count = 0;
	int r = 0;

	pthread_mutex_lock(&reg_lock);
	for (unsigned i = 0; i < n && !r; i++) {
		struct kgroup *g = group_list;
		while (g && (g->sys != k->sys || g->id < 0 ||
			     (uint32_t)g->id != ids[i]))
			g = g->next;
		if (!g) {
			*missing = ids[i];
			r = -EPERM;
			break;
		}
		bool seen = false;
		for (unsigned j = 0; j < i && !seen; j++)
			seen = ids[j] == ids[i];
		if (seen)
			continue;
		if (held) {
			g->refs++;
			held[count] = g;
		}
		count++;
	}
	if (r < 0 && held)
		for (unsigned j = 0; j < count; j++)
			group_put(held[j]);
	pthread_mutex_unlock(&reg_lock);
	return r < 0 ? r : (int)count;
}

void kiommu_groups_put(struct kgroup **held, unsigned n)
{
	pthread_mutex_lock(&reg_lock);
	for (unsigned i = 0; i < n; i++)
		group_put(held[i]);
	pthread_mutex_unlock(&reg_lock);
}

/* ---- IOVA ranges ---------------------------------------------------- */

int kiommu_add_range(struct uvfio_iova_range **v, unsigned *n, unsigned *cap,
		     uint64_t start, uint64_t last)
{
	if (*n == *cap) {
		unsigned nc = *cap ? 2 * *cap : 8;
		struct uvfio_iova_range *p = realloc(*v, nc * sizeof(*p));
		if (!p)
			return -ENOMEM;
		*v = p;
		*cap = nc;
	}
	(*v)[(*n)++] = (struct uvfio_iova_range){ start, last };
	return 0;
}

/* The IOVA_RANGE cap of a VFIO_IOMMU_GET_INFO reply in @buf. */
static int parse_type1_caps(const uint8_t *buf, size_t len, uint32_t off,
			    struct uvfio_iova_range **v, unsigned *n)
{
	unsigned cap = 0;

	for (unsigned ttl = 0; off; ttl++) {
		struct vfio_info_cap_header h;

		if (ttl >= IOMMU_CAP_TTL || off < sizeof(struct vfio_iommu_type1_info) ||
		    off > len || len - off < sizeof(h))
			return -EPROTO;
		memcpy(&h, buf + off, sizeof(h));
		if (h.id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
			struct vfio_iommu_type1_info_cap_iova_range cr;

			if (len - off < sizeof(cr))
				return -EPROTO;
			memcpy(&cr, buf + off, sizeof(cr));
			size_t room = len - off - sizeof(cr);
			if (cr.nr_iovas > IOVA_RANGES_MAX ||
			    room / sizeof(struct vfio_iova_range) < cr.nr_iovas)
				return -EPROTO;
			for (uint32_t i = 0; i < cr.nr_iovas; i++) {
				struct vfio_iova_range ir;

				memcpy(&ir, buf + off + sizeof(cr) + i * sizeof(ir),
				       sizeof(ir));
				if (ir.end < ir.start)
					return -EPROTO;
				int r = kiommu_add_range(v, n, &cap, ir.start, ir.end);
				if (r < 0)
					return r;
			}
			return 0;
		}
		off = h.next;
	}
	return 0;
}

static int type1_ranges(struct kctx *c, struct uvfio_iova_range **v,
			unsigned *n)
{
	uint32_t argsz = sizeof(struct vfio_iommu_type1_info) + 256;
	uint8_t *buf = NULL;
	int r = -EPROTO;

	for (int tries = 0; tries < IOMMU_INFO_TRIES; tries++) {
		uint8_t *nb = realloc(buf, argsz);
		if (!nb) {
			r = -ENOMEM;
			break;
		}
		buf = nb;
		memset(buf, 0, argsz);
		struct vfio_iommu_type1_info info = { .argsz = argsz };
		memcpy(buf, &info, sizeof(info));
		r = c->sys->ioctl(c->sys, c->fd, VFIO_IOMMU_GET_INFO, buf);
		if (r < 0)
			break;
		memcpy(&info, buf, sizeof(info));
		if (info.argsz > argsz) {
			r = -EPROTO;
			if (info.argsz > IOMMU_INFO_MAX)
				break;
			argsz = info.argsz;
			continue;
		}
		r = 0;
		if (info.flags & VFIO_IOMMU_INFO_CAPS && info.cap_offset)
			r = parse_type1_caps(buf, argsz, info.cap_offset, v, n);
		break;
	}
	free(buf);
	return r;
}

/* @v minus the mappings of other devices; both sorted. */
static int subtract_foreign(const struct kctx *c, const void *self,
			    struct uvfio_iova_range **v, unsigned *n)
{
	struct uvfio_iova_range *out = NULL;
	unsigned no = 0, cap = 0;
	int r = 0;

	for (unsigned i = 0; i < *n && !r; i++) {
		uint64_t s = (*v)[i].start, l = (*v)[i].last;
		bool open = true;

		for (unsigned j = 0; j < c->nmaps && open && !r; j++) {
			const struct kmap *m = &c->maps[j];
			uint64_t ml = m->iova + (m->size - 1);

			if (m->owner == self || ml < s || m->iova > l)
				continue;
			if (m->iova > s)
				r = kiommu_add_range(&out, &no, &cap, s, m->iova - 1);
			if (ml >= l)
				open = false;
			else
				s = ml + 1;
		}
		if (open && !r)
			r = kiommu_add_range(&out, &no, &cap, s, l);
	}
	free(*v);
	*v = out;
	*n = no;
	return r;
}

int kiommu_iova_ranges(struct kdev *k, bool for_alloc,
		       struct uvfio_iova_range **out)
{
	struct uvfio_iova_range *v = NULL;
	unsigned n = 0, cap = 0;

	pthread_mutex_lock(&reg_lock);
	struct kctx *c = k->ctx;
	int r = c->iommufd ? kiommufd_ranges(c, &v, &n) : type1_ranges(c, &v, &n);
	/* No IOVA_RANGE cap (older kernels): the kernel did not limit it. */
	if (!r && !n)
		r = kiommu_add_range(&v, &n, &cap, 0, UINT64_MAX);
	if (!r && for_alloc)
		r = subtract_foreign(c, k, &v, &n);
	pthread_mutex_unlock(&reg_lock);
	if (r < 0) {
		ulog_printf(&k->log, LOG_ERR, "%s: IOVA ranges: %s", k->addr,
			    strerror(-r));
		free(v);
		return r;
	}
	*out = v;
	return (int)n;
}

/* ---- dirty pages ---------------------------------------------------- */

int kiommu_dirty_ctl(struct kdev *k, bool on)
{
	struct vfio_iommu_type1_dirty_bitmap d = {
		.argsz = sizeof(d),
		.flags = on ? VFIO_IOMMU_DIRTY_PAGES_FLAG_START :
			      VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP,
	};

	pthread_mutex_lock(&reg_lock);
	struct kctx *c = k->ctx;
	/* iommufd tracks dirty pages per HW pagetable: not done here yet. */
	int r = c->iommufd ? -ENOTSUP :
		c->sys->ioctl(c->sys, c->fd, VFIO_IOMMU_DIRTY_PAGES, &d);
	if (!r)
		c->dirty_on = on;
	pthread_mutex_unlock(&reg_lock);
	return r;
}

int kiommu_dirty_report(struct kdev *k, uint64_t iova, uint64_t size,
			uint64_t pgsize, uint64_t *bitmap)
{
	/* The request is a header and a flexible payload: built in bytes. */
	struct vfio_iommu_type1_dirty_bitmap h = {
		.argsz = sizeof(h) + sizeof(struct vfio_iommu_type1_dirty_bitmap_get),
		.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP,
	};
	struct vfio_iommu_type1_dirty_bitmap_get g = { 0 };
	uint64_t q[(sizeof(h) + sizeof(g) + 7) / 8];

	if (!is_pow2(pgsize) || !size || iova % pgsize || size % pgsize ||
	    iova + (size - 1) < iova || !bitmap)
		return -EINVAL;
	uint64_t pages = size / pgsize;
	g.iova = iova;
	g.size = size;
	g.bitmap.pgsize = pgsize;
	g.bitmap.size = (pages + 63) / 64 * sizeof(uint64_t);
	g.bitmap.data = (__u64 *)bitmap;
	memcpy(q, &h, sizeof(h));
	memcpy((uint8_t *)q + sizeof(h), &g, sizeof(g));

	pthread_mutex_lock(&reg_lock);
	struct kctx *c = k->ctx;
	int r = c->iommufd ? -ENOTSUP :
		c->sys->ioctl(c->sys, c->fd, VFIO_IOMMU_DIRTY_PAGES, q);
	pthread_mutex_unlock(&reg_lock);
	return r < 0 ? r : 0;
}
