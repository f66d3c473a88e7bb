/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The driver-side API of <uvfio/client.h>, the same whatever serves the
 * device.  Backends (backend.h) move VFIO operations; what is common to
 * all of them lives here: argument checks, region mmap and direct access
 * through it, DMA buffers and the IOVA allocator, and the region-info
 * capability parser.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <syslog.h>

#include "client/client_priv.h"

#define DEFAULT_TIMEOUT_MS   5000
#define DEFAULT_MAX_MSG_FDS  16u

/* ---- region-info capabilities ------------------------------------- */

static int cap_error(const struct ulog *log, const char *why, uint32_t off)
{
	ulog_printf(log, LOG_ERR, "region info: %s (cap at %u)", why, off);
	return -EPROTO;
}

static int parse_sparse(const uint8_t *buf, size_t len, uint32_t off,
			struct uvfio_region_info *info, const struct ulog *log)
{
	struct vfio_region_info_cap_sparse_mmap sp;

	if (len - off < sizeof(sp))
		return cap_error(log, "short sparse-mmap cap", off);
	memcpy(&sp, buf + off, sizeof(sp));
	if (sp.nr_areas > UVFIO_MAX_SPARSE_AREAS) {
		ulog_printf(log, LOG_ERR,
			    "region info: %u sparse areas, at most %u supported",
			    sp.nr_areas, UVFIO_MAX_SPARSE_AREAS);
		return -E2BIG;
	}
	size_t room = len - off - sizeof(sp);

	if (room / sizeof(struct vfio_region_sparse_mmap_area) < sp.nr_areas)
		return cap_error(log, "sparse areas past the reply", off);
	for (uint32_t i = 0; i < sp.nr_areas; i++) {
		struct vfio_region_sparse_mmap_area a;

		memcpy(&a, buf + off + sizeof(sp) + i * sizeof(a), sizeof(a));
		/* An area outside the region would map over foreign memory. */
		if (!range_ok(a.offset, a.size, info->size))
			return cap_error(log, "sparse area outside the region",
					 off);
		info->areas[i].offset = a.offset;
		info->areas[i].size = a.size;
	}
	info->nr_areas = sp.nr_areas;
	info->sparse = true;
	return 0;
}

int uvfio_region_parse_caps(const uint8_t *buf, size_t len,
			    uint32_t cap_offset, struct uvfio_region_info *info,
			    const struct ulog *log)
{
	uint32_t off = cap_offset;

	for (unsigned n = 0; off; n++) {
		struct vfio_info_cap_header h;

		/* Inside the reply, and not over the fixed part. */
		if (n >= UVFIO_MAX_REGION_CAPS)
			return cap_error(log, "cap chain too long or looped",
					 off);
		if (off < sizeof(struct vfio_region_info) || off > len ||
		    len - off < sizeof(h))
			return cap_error(log, "cap offset outside the reply",
					 off);
		memcpy(&h, buf + off, sizeof(h));
		switch (h.id) {
		case VFIO_REGION_INFO_CAP_SPARSE_MMAP: {
			int r = parse_sparse(buf, len, off, info, log);
			if (r < 0)
				return r;
			break;
		}
		case VFIO_REGION_INFO_CAP_TYPE: {
			struct vfio_region_info_cap_type t;

			if (len - off < sizeof(t))
				return cap_error(log, "short type cap", off);
			memcpy(&t, buf + off, sizeof(t));
			info->has_type = true;
			info->type = t.type;
			info->subtype = t.subtype;
			break;
		}
		case VFIO_REGION_INFO_CAP_MSIX_MAPPABLE:
			info->msix_mappable = true;
			break;
		default:
			/* Unknown caps are skipped, as kernel users do. */
			break;
		}
		off = h.next;
	}
	return 0;
}

/* ---- opening and closing ------------------------------------------ */

static int resolve_conf(const struct uvfio_open_opts *o,
			struct uvfio_backend_conf *conf)
{
	static const struct uvfio_open_opts none;

	if (!o)
		o = &none;
	if (o->max_data_xfer_size > UVFIO_LIMIT_MAX_DATA_XFER ||
	    o->max_msg_fds > UVFIO_LIMIT_MAX_MSG_FDS)
		return -EINVAL;
	*conf = (struct uvfio_backend_conf){
		/* As the server does: 0 is "unset", not LOG_EMERG. */
		.log = { .fn = o->log, .opaque = o->log_opaque,
			 .level = o->log_level ? o->log_level : LOG_INFO },
		.timeout_ms = o->timeout_ms ?: DEFAULT_TIMEOUT_MS,
		.max_data_xfer_size = o->max_data_xfer_size ?
				      o->max_data_xfer_size :
				      UVFIO_DEFAULT_MAX_DATA_XFER,
		.max_msg_fds = o->max_msg_fds ? o->max_msg_fds :
			       DEFAULT_MAX_MSG_FDS,
		.twin_socket = !o->no_twin_socket,
		.dma_thread = !o->no_dma_thread,
	};
	if (conf->timeout_ms < 0)
		conf->timeout_ms = -1;
	conf->vf_token_set = o->vf_token_set;
	if (o->vf_token_set)
		memcpy(conf->vf_token, o->vf_token, sizeof(conf->vf_token));
	return 0;
}

static struct uvfio_device *device_new(const struct uvfio_backend_conf *conf)
{
	struct uvfio_device *dev = calloc(1, sizeof(*dev));
	if (!dev)
		return NULL;
	dev->log = conf->log;
	pthread_rwlock_init(&dev->map_lock, NULL);
	pthread_mutex_init(&dev->dma_lock, NULL);
	return dev;
}

static void device_free(struct uvfio_device *dev)
{
	pthread_rwlock_destroy(&dev->map_lock);
	pthread_mutex_destroy(&dev->dma_lock);
	free(dev->maps);
	free(dev->ranges);
	free(dev);
}

/*
 * The backend for @path: a PCI address is a device bound to the
 * kernel's vfio-pci, anything else a vfio-user socket.  (A socket named
 * like a PCI address is reached as "./0000:01:00.0".)
 */
static int open_backend(const char *path, const struct uvfio_backend_conf *conf,
			struct uvfio_backend **be)
{
	if (uvfio_is_pci_address(path, NULL))
		return uvfio_kernel_open(path, conf, be);
	return uvfio_user_open_path(path, conf, be);
}

int uvfio_device_open(const char *path, const struct uvfio_open_opts *opts,
		      struct uvfio_device **out)
{
	struct uvfio_backend_conf conf;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!path)
		return -EINVAL;
	int r = resolve_conf(opts, &conf);
	if (r < 0)
		return r;
	struct uvfio_device *dev = device_new(&conf);
	if (!dev)
		return -ENOMEM;
	r = open_backend(path, &conf, &dev->be);
	if (r < 0) {
		device_free(dev);
		return r;
	}
	*out = dev;
	return 0;
}

int uvfio_device_open_fd(int fd, const struct uvfio_open_opts *opts,
			 struct uvfio_device **out)
{
	struct uvfio_backend_conf conf;
	int r = -EINVAL;

	if (out)
		*out = NULL;
	if (fd < 0)
		return -EBADF;
	if (out)
		r = resolve_conf(opts, &conf);
	if (r < 0) {
		close_fd(&fd);
		return r;
	}
	struct uvfio_device *dev = device_new(&conf);
	if (!dev) {
		close_fd(&fd);
		return -ENOMEM;
	}
	r = uvfio_user_open_fd(fd, &conf, &dev->be);
	if (r < 0) {
		device_free(dev);
		return r;
	}
	*out = dev;
	return 0;
}

void uvfio_device_close(struct uvfio_device *dev)
{
	if (!dev)
		return;
	/* First: stops the backend's thread, which may be using our memory. */
	dev->be->ops->close(dev->be);
	for (unsigned i = 0; i < dev->nmaps; i++)
		munmap(dev->maps[i].base, dev->maps[i].len);
	client_dma_release(dev);
	device_free(dev);
}

int uvfio_device_negotiated(struct uvfio_device *dev, uint16_t *major,
			    uint16_t *minor, struct uvfio_caps *server_caps)
{
	if (!dev)
		return -EINVAL;
	if (!dev->be->ops->negotiated)
		return -ENOTSUP;
	return dev->be->ops->negotiated(dev->be, major, minor, server_caps);
}

/* ---- info ------------------------------------------------------------ */

int uvfio_device_get_info(struct uvfio_device *dev,
			  struct uvfio_device_info *info)
{
	if (!dev || !info)
		return -EINVAL;
	return dev->be->ops->get_info(dev->be, info);
}

int uvfio_region_get_info(struct uvfio_device *dev, unsigned index,
			  struct uvfio_region_info *info)
{
	if (!dev || !info)
		return -EINVAL;
	return dev->be->ops->region_info(dev->be, index, info);
}

int uvfio_irq_get_info(struct uvfio_device *dev, unsigned index,
		       struct uvfio_irq_info *info)
{
	if (!dev || !info)
		return -EINVAL;
	return dev->be->ops->irq_info(dev->be, index, info);
}

/* ---- region mmap ------------------------------------------------------ */

/* Called with map_lock held. */
static struct region_map *find_map(struct uvfio_device *dev, unsigned index)
{
	for (unsigned i = 0; i < dev->nmaps; i++)
		if (dev->maps[i].index == index)
			return &dev->maps[i];
	return NULL;
}

/* Map the areas of @info at @m->base from @fd. */
static int map_areas(struct region_map *m, const struct uvfio_region_info *info,
		     int fd)
{
	int prot = (info->flags & VFIO_REGION_INFO_FLAG_READ ? PROT_READ : 0) |
		   (info->flags & VFIO_REGION_INFO_FLAG_WRITE ? PROT_WRITE : 0);
	/* Pages past the end of a file fault (SIGBUS) when touched. */
	struct stat st;
	bool file = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);

	for (unsigned i = 0; i < m->nr_areas; i++) {
		const struct uvfio_region_area *a = &m->areas[i];

		if (!a->size)
			continue;
		if (a->offset & (PAGE_SIZE_4K - 1) ||
		    info->offset & (PAGE_SIZE_4K - 1) ||
		    info->offset + a->offset > (uint64_t)INT64_MAX)
			return -EINVAL;
		if (file && (info->offset + a->offset > (uint64_t)st.st_size ||
			     a->size > (uint64_t)st.st_size -
				       (info->offset + a->offset)))
			return -EINVAL;
		void *p = mmap(m->base + a->offset, (size_t)a->size, prot,
			       MAP_SHARED | MAP_FIXED, fd,
			       (off_t)(info->offset + a->offset));
		if (p == MAP_FAILED)
			return -errno;
	}
	return 0;
}

static int region_map_new(struct uvfio_device *dev, unsigned index,
			  struct region_map *m)
{
	struct uvfio_region_info info;
	int r = dev->be->ops->region_info(dev->be, index, &info);
	if (r < 0)
		return r;
	if (!(info.flags & VFIO_REGION_INFO_FLAG_MMAP) ||
	    !(info.flags & (VFIO_REGION_INFO_FLAG_READ |
			    VFIO_REGION_INFO_FLAG_WRITE)))
		return -ENOTSUP;
	if (!info.size || info.size > SIZE_MAX - PAGE_SIZE_4K)
		return -EINVAL;

	*m = (struct region_map){
		.index = index,
		.len = (size_t)((info.size + PAGE_SIZE_4K - 1) &
				~(PAGE_SIZE_4K - 1)),
		.flags = info.flags,
	};
	if (info.sparse) {
		m->nr_areas = info.nr_areas;
		memcpy(m->areas, info.areas, sizeof(m->areas));
	} else {
		m->nr_areas = 1;
		m->areas[0] = (struct uvfio_region_area){ 0, info.size };
	}

	int fd = dev->be->ops->region_fd(dev->be, index);
	if (fd < 0)
		return fd;
	/* Reserve the whole region so that sparse holes fault, not alias. */
	void *base = mmap(NULL, m->len, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED) {
		r = -errno;
		close_fd(&fd);
		return r;
	}
	m->base = base;
	r = map_areas(m, &info, fd);
	close_fd(&fd);
	if (r < 0) {
		ulog_printf(&dev->log, LOG_ERR, "region %u: mmap failed: %s",
			    index, strerror(-r));
		munmap(base, m->len);
	}
	return r;
}

int uvfio_region_mmap(struct uvfio_device *dev, unsigned index, void **addr)
{
	if (!dev || !addr)
		return -EINVAL;

	pthread_rwlock_wrlock(&dev->map_lock);
	struct region_map *m = find_map(dev, index);
	int r = 0;
	if (m) {
		*addr = m->base;   /* mapped already: same address */
		goto out;
	}
	struct region_map nm;
	r = region_map_new(dev, index, &nm);
	if (r < 0)
		goto out;
	m = realloc(dev->maps, (dev->nmaps + 1) * sizeof(*m));
	if (!m) {
		munmap(nm.base, nm.len);
		r = -ENOMEM;
		goto out;
	}
	dev->maps = m;
	dev->maps[dev->nmaps++] = nm;
	*addr = nm.base;
out:
	pthread_rwlock_unlock(&dev->map_lock);
	return r;
}

int uvfio_region_munmap(struct uvfio_device *dev, unsigned index)
{
	if (!dev)
		return -EINVAL;

	pthread_rwlock_wrlock(&dev->map_lock);
	struct region_map *m = find_map(dev, index);
	int r = -ENOENT;
	if (m) {
		munmap(m->base, m->len);
		*m = dev->maps[--dev->nmaps];
		r = 0;
	}
	pthread_rwlock_unlock(&dev->map_lock);
	return r;
}

/* ---- region access ---------------------------------------------------- */

static bool map_covers(const struct region_map *m, uint64_t off, size_t len,
		       bool write)
{
	if (!(m->flags & (write ? VFIO_REGION_INFO_FLAG_WRITE :
				  VFIO_REGION_INFO_FLAG_READ)))
		return false;
	for (unsigned i = 0; i < m->nr_areas; i++) {
		const struct uvfio_region_area *a = &m->areas[i];

		if (off >= a->offset && range_ok(off - a->offset, len, a->size))
			return true;
	}
	return false;
}

/*
 * Device registers want one access of the size the driver asked for, not
 * whatever memcpy picks.
 */
static void mmio_read(void *dst, const uint8_t *src, size_t len)
{
	bool aligned = !((uintptr_t)src & (len - 1));

	if (len == 1) {
		*(uint8_t *)dst = *(const volatile uint8_t *)src;
	} else if (len == 2 && aligned) {
		uint16_t v = *(const volatile uint16_t *)(const void *)src;
		memcpy(dst, &v, 2);
	} else if (len == 4 && aligned) {
		uint32_t v = *(const volatile uint32_t *)(const void *)src;
		memcpy(dst, &v, 4);
	} else if (len == 8 && aligned) {
		uint64_t v = *(const volatile uint64_t *)(const void *)src;
		memcpy(dst, &v, 8);
	} else {
		memcpy(dst, src, len);
	}
}

static void mmio_write(uint8_t *dst, const void *src, size_t len)
{
	bool aligned = !((uintptr_t)dst & (len - 1));

	if (len == 1) {
		*(volatile uint8_t *)dst = *(const uint8_t *)src;
	} else if (len == 2 && aligned) {
		uint16_t v;
		memcpy(&v, src, 2);
		*(volatile uint16_t *)(void *)dst = v;
	} else if (len == 4 && aligned) {
		uint32_t v;
		memcpy(&v, src, 4);
		*(volatile uint32_t *)(void *)dst = v;
	} else if (len == 8 && aligned) {
		uint64_t v;
		memcpy(&v, src, 8);
		*(volatile uint64_t *)(void *)dst = v;
	} else {
		memcpy(dst, src, len);
	}
}

/*
 * Access through a mapping when one covers the whole access.  Returns 1
 * when done, 0 when the backend must do it, or -errno.
 */
static int mapped_access(struct uvfio_device *dev, unsigned index,
			 uint64_t offset, void *buf, size_t len, bool write)
{
	int r = 0;

	pthread_rwlock_rdlock(&dev->map_lock);
	struct region_map *m = dev->nmaps ? find_map(dev, index) : NULL;
	if (m && map_covers(m, offset, len, write)) {
		if (dev->be->ops->region_sync)
			r = dev->be->ops->region_sync(dev->be);
		if (!r) {
			if (write)
				mmio_write(m->base + offset, buf, len);
			else
				mmio_read(buf, m->base + offset, len);
			r = 1;
		}
	}
	pthread_rwlock_unlock(&dev->map_lock);
	return r;
}

static int check_access(struct uvfio_device *dev, uint64_t offset,
			const void *buf, size_t len)
{
	if (!dev || (!buf && len) || len > SSIZE_MAX ||
	    offset + len < offset)
		return -EINVAL;
	return 0;
}

ssize_t uvfio_region_read(struct uvfio_device *dev, unsigned index,
			  uint64_t offset, void *buf, size_t len)
{
	int r = check_access(dev, offset, buf, len);
	if (r < 0)
		return r;
	if (!len)
		return 0;
	r = mapped_access(dev, index, offset, buf, len, false);
	if (r)
		return r < 0 ? r : (ssize_t)len;
	return dev->be->ops->region_read(dev->be, index, offset, buf, len);
}

ssize_t uvfio_region_write(struct uvfio_device *dev, unsigned index,
			   uint64_t offset, const void *buf, size_t len)
{
	int r = check_access(dev, offset, buf, len);
	if (r < 0)
		return r;
	if (!len)
		return 0;
	r = mapped_access(dev, index, offset, (void *)buf, len, true);
	if (r)
		return r < 0 ? r : (ssize_t)len;
	return dev->be->ops->region_write(dev->be, index, offset, buf, len,
					  false);
}

int uvfio_region_write_posted(struct uvfio_device *dev, unsigned index,
			      uint64_t offset, const void *buf, size_t len)
{
	int r = check_access(dev, offset, buf, len);
	if (r < 0)
		return r;
	if (!len)
		return 0;
	r = mapped_access(dev, index, offset, (void *)buf, len, true);
	if (r)
		return r < 0 ? r : 0;
	ssize_t n = dev->be->ops->region_write(dev->be, index, offset, buf,
					       len, true);
	return n < 0 ? (int)n : 0;
}

static int read_exact(struct uvfio_device *dev, unsigned index,
		      uint64_t offset, void *buf, size_t len)
{
	ssize_t n = uvfio_region_read(dev, index, offset, buf, len);
	if (n < 0)
		return (int)n;
	return (size_t)n == len ? 0 : -EIO;
}

static int write_exact(struct uvfio_device *dev, unsigned index,
		       uint64_t offset, const void *buf, size_t len)
{
	ssize_t n = uvfio_region_write(dev, index, offset, buf, len);
	if (n < 0)
		return (int)n;
	return (size_t)n == len ? 0 : -EIO;
}

static uint64_t get_le64(const uint8_t *b)
{
	return (uint64_t)get_le32(b) | (uint64_t)get_le32(b + 4) << 32;
}

static void put_le64(uint8_t *b, uint64_t v)
{
	put_le32(b, (uint32_t)v);
	put_le32(b + 4, (uint32_t)(v >> 32));
}

int uvfio_region_read8(struct uvfio_device *dev, unsigned index,
		       uint64_t offset, uint8_t *val)
{
	if (!val)
		return -EINVAL;
	return read_exact(dev, index, offset, val, 1);
}

int uvfio_region_read16(struct uvfio_device *dev, unsigned index,
			uint64_t offset, uint16_t *val)
{
	uint8_t b[2] = { 0 };
	int r = val ? read_exact(dev, index, offset, b, sizeof(b)) : -EINVAL;
	if (!r)
		*val = get_le16(b);
	return r;
}

int uvfio_region_read32(struct uvfio_device *dev, unsigned index,
			uint64_t offset, uint32_t *val)
{
	uint8_t b[4] = { 0 };
	int r = val ? read_exact(dev, index, offset, b, sizeof(b)) : -EINVAL;
	if (!r)
		*val = get_le32(b);
	return r;
}

int uvfio_region_read64(struct uvfio_device *dev, unsigned index,
			uint64_t offset, uint64_t *val)
{
	uint8_t b[8] = { 0 };
	int r = val ? read_exact(dev, index, offset, b, sizeof(b)) : -EINVAL;
	if (!r)
		*val = get_le64(b);
	return r;
}

int uvfio_region_write8(struct uvfio_device *dev, unsigned index,
			uint64_t offset, uint8_t val)
{
	return write_exact(dev, index, offset, &val, 1);
}

int uvfio_region_write16(struct uvfio_device *dev, unsigned index,
			 uint64_t offset, uint16_t val)
{
	uint8_t b[2];
	put_le16(b, val);
	return write_exact(dev, index, offset, b, sizeof(b));
}

int uvfio_region_write32(struct uvfio_device *dev, unsigned index,
			 uint64_t offset, uint32_t val)
{
	uint8_t b[4];
	put_le32(b, val);
	return write_exact(dev, index, offset, b, sizeof(b));
}

int uvfio_region_write64(struct uvfio_device *dev, unsigned index,
			 uint64_t offset, uint64_t val)
{
	uint8_t b[8];
	put_le64(b, val);
	return write_exact(dev, index, offset, b, sizeof(b));
}

/* ---- interrupts ------------------------------------------------------- */

int uvfio_irq_set(struct uvfio_device *dev, unsigned index, uint32_t flags,
		  uint32_t start, uint32_t count, const void *data)
{
	uint32_t dtype = flags & VFIO_IRQ_SET_DATA_TYPE_MASK;
	uint32_t action = flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;

	/* Exactly one data type and one action, as the kernel demands. */
	if (!dev || flags & ~(dtype | action) || !is_pow2(dtype) ||
	    !is_pow2(action) || start + count < start)
		return -EINVAL;
	if (dtype == VFIO_IRQ_SET_DATA_NONE)
		data = NULL;
	else if (count && !data)
		return -EINVAL;
	return dev->be->ops->irq_set(dev->be, index, flags, start, count, data);
}

int uvfio_irq_enable(struct uvfio_device *dev, unsigned index, uint32_t start,
		     uint32_t count, const int *fds)
{
	return uvfio_irq_set(dev, index, VFIO_IRQ_SET_DATA_EVENTFD |
			     VFIO_IRQ_SET_ACTION_TRIGGER, start, count, fds);
}

int uvfio_irq_disable(struct uvfio_device *dev, unsigned index)
{
	return uvfio_irq_set(dev, index, VFIO_IRQ_SET_DATA_NONE |
			     VFIO_IRQ_SET_ACTION_TRIGGER, 0, 0, NULL);
}

int uvfio_irq_unmask(struct uvfio_device *dev, unsigned index,
		     uint32_t vector)
{
	return uvfio_irq_set(dev, index, VFIO_IRQ_SET_DATA_NONE |
			     VFIO_IRQ_SET_ACTION_UNMASK, vector, 1, NULL);
}

int uvfio_irq_mask(struct uvfio_device *dev, unsigned index, uint32_t vector)
{
	return uvfio_irq_set(dev, index, VFIO_IRQ_SET_DATA_NONE |
			     VFIO_IRQ_SET_ACTION_MASK, vector, 1, NULL);
}

/* ---- the rest --------------------------------------------------------- */

int uvfio_device_reset(struct uvfio_device *dev)
{
	if (!dev)
		return -EINVAL;
	return dev->be->ops->reset(dev->be);
}

/* The entry kept its size and layout when devid joined group_id. */
_Static_assert(sizeof(struct uvfio_hot_reset_dev) == 8 &&
	       offsetof(struct uvfio_hot_reset_dev, segment) == 4,
	       "struct uvfio_hot_reset_dev is ABI");

int uvfio_device_hot_reset_query(struct uvfio_device *dev, uint32_t *flags,
				 struct uvfio_hot_reset_dev *devs, unsigned max)
{
	uint32_t f = 0;

	if (!dev || (!devs && max))
		return -EINVAL;
	if (!dev->be->ops->hot_reset_info)
		return -ENOTSUP;
	int r = dev->be->ops->hot_reset_info(dev->be, &f, devs, max);
	if (r >= 0 && flags)
		*flags = f;
	return r;
}

int uvfio_device_hot_reset_info(struct uvfio_device *dev,
				struct uvfio_hot_reset_dev *devs, unsigned max)
{
	return uvfio_device_hot_reset_query(dev, NULL, devs, max);
}

int uvfio_device_hot_reset(struct uvfio_device *dev)
{
	if (!dev)
		return -EINVAL;
	if (!dev->be->ops->hot_reset)
		return -ENOTSUP;
	return dev->be->ops->hot_reset(dev->be);
}

int uvfio_ioeventfd(struct uvfio_device *dev, unsigned index, uint64_t offset,
		    unsigned size, uint64_t data, int fd)
{
	if (!dev || (size != 1 && size != 2 && size != 4 && size != 8) ||
	    offset + size < offset)
		return -EINVAL;
	if (!dev->be->ops->ioeventfd)
		return -ENOTSUP;
	return dev->be->ops->ioeventfd(dev->be, index, offset, size, data, fd);
}

int uvfio_region_doorbells(struct uvfio_device *dev, unsigned index,
			   struct uvfio_doorbell *out, unsigned max)
{
	if (!dev || (!out && max))
		return -EINVAL;
	if (!dev->be->ops->region_doorbells)
		return -ENOTSUP;
	return dev->be->ops->region_doorbells(dev->be, index, out, max);
}

int uvfio_device_feature(struct uvfio_device *dev, uint32_t flags, void *data,
			 size_t len)
{
	uint32_t known = VFIO_DEVICE_FEATURE_MASK | VFIO_DEVICE_FEATURE_GET |
			 VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_PROBE;

	if (!dev || flags & ~known || (!data && len) ||
	    len > UVFIO_LIMIT_MAX_DATA_XFER)
		return -EINVAL;
	if (!dev->be->ops->device_feature)
		return -ENOTSUP;
	return dev->be->ops->device_feature(dev->be, flags, data, len);
}

int uvfio_device_get_fd(struct uvfio_device *dev)
{
	if (!dev || !dev->be->ops->get_fd)
		return -1;
	return dev->be->ops->get_fd(dev->be);
}

int uvfio_device_dispatch(struct uvfio_device *dev)
{
	if (!dev)
		return -EINVAL;
	if (!dev->be->ops->dispatch)
		return 0;
	return dev->be->ops->dispatch(dev->be);
}

uint64_t uvfio_device_dma_requests(struct uvfio_device *dev)
{
	if (!dev || !dev->be->ops->dma_requests)
		return 0;
	return dev->be->ops->dma_requests(dev->be);
}
