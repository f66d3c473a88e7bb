/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vfio-user backend: the commands.  Each builds its request, makes one
 * round trip through vuc_call() (user.c) and checks the reply before it
 * believes a field of it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "client/user.h"

/* Smallest REGION_READ whose data is received straight into the caller's buffer. */
#define VU_SINK_MIN 512u

/* Room offered for a region-info reply; grown on request up to the max. */
#define VU_REGION_INFO_ARGSZ  (sizeof(struct vu_region_info) + 1024u)
#define VU_REGION_INFO_TRIES  3

/* ---- device and IRQ info -------------------------------------------- */

/*
 * Copy the fixed part of the reply in c->rx into @rep, and release the
 * reply.  A shorter reply is malformed; a longer one may carry more than
 * we know of (argsz grows with new fields).
 */
static int take_fixed_reply(struct vu_client *c, void *rep, size_t len,
			    const char *what)
{
	int r = 0;

	if (vu_rx_len(&c->rx) < len)
		r = vuc_proto_error(c, what);
	else
		memcpy(rep, c->rx.buf, len);
	vu_rx_release(&c->rx);
	return r;
}

int vuc_get_info(struct uvfio_backend *be, struct uvfio_device_info *info)
{
	struct vu_client *c = to_vu(be);
	struct vu_device_info req = { .argsz = sizeof(req) }, rep = { 0 };
	struct iovec iov = { &req, sizeof(req) };

	pthread_mutex_lock(&c->req_lock);
	int r = vuc_call(c, VU_CMD_DEVICE_GET_INFO, &iov, 1, NULL, 0);
	if (!r)
		r = take_fixed_reply(c, &rep, sizeof(rep), "DEVICE_GET_INFO");
	pthread_mutex_unlock(&c->req_lock);
	if (r < 0)
		return r;
	if (rep.argsz < sizeof(rep))
		return vuc_proto_error(c, "DEVICE_GET_INFO");
	info->flags = rep.flags;
	info->num_regions = rep.num_regions;
	info->num_irqs = rep.num_irqs;
	return 0;
}

int vuc_irq_info(struct uvfio_backend *be, unsigned index,
		 struct uvfio_irq_info *info)
{
	struct vu_client *c = to_vu(be);
	struct vu_irq_info req = { .argsz = sizeof(req), .index = index };
	struct vu_irq_info rep = { 0 };
	struct iovec iov = { &req, sizeof(req) };

	pthread_mutex_lock(&c->req_lock);
	int r = vuc_call(c, VU_CMD_DEVICE_GET_IRQ_INFO, &iov, 1, NULL, 0);
	if (!r)
		r = take_fixed_reply(c, &rep, sizeof(rep),
				     "DEVICE_GET_IRQ_INFO");
	pthread_mutex_unlock(&c->req_lock);
	if (r < 0)
		return r;
	if (rep.argsz < sizeof(rep) || rep.index != index)
		return vuc_proto_error(c, "DEVICE_GET_IRQ_INFO");
	info->index = rep.index;
	info->flags = rep.flags;
	info->count = rep.count;
	return 0;
}

/* ---- doorbells (DEVICE_GET_REGION_IO_FDS) ---------------------------- */

/* Most entries asked for at once (the request's argsz stays small). */

/*
 * Check the REGION_IO_FDS reply in c->rx for a request of @offered bytes
 * with room for @max entries; fill @out, taking the fds, and return the
 * count.  Nothing is taken on error (the fds stay in c->rx).
 */
static int parse_doorbells(struct vu_client *c, unsigned index,
			   uint32_t offered, struct uvfio_doorbell *out,
			   unsigned max)
{
	const char *what = "DEVICE_GET_REGION_IO_FDS";
	const size_t esz = sizeof(struct vu_ioeventfd_entry);
	uint32_t len = vu_rx_len(&c->rx);
	struct vu_region_io_fds_req h;

	if (len < sizeof(h) || c->rx.fds_overflow)
		return vuc_proto_error(c, what);
	memcpy(&h, c->rx.buf, sizeof(h));
	if (h.flags || h.index != index)
		return vuc_proto_error(c, what);
	uint64_t need = sizeof(h) + (uint64_t)h.count * esz;
	if (h.argsz != need)
		return vuc_proto_error(c, what);
	if (h.argsz > offered) {
		/* Too many for our room: the header only, no fds. */
		if (h.count <= max || len != sizeof(h) || c->rx.nfds)
			return vuc_proto_error(c, what);
		return (int)h.count;
	}
	if (h.count > max || len != need || h.count > c->rx.nfds)
		return vuc_proto_error(c, what);

	for (uint32_t i = 0; i < h.count; i++) {
		struct vu_ioeventfd_entry e;
		memcpy(&e, c->rx.buf + sizeof(h) + i * esz, esz);
		if (e.type != 0 || e.flags & ~1u || e.reserved ||
		    (e.size != 1 && e.size != 2 && e.size != 4 &&
		     e.size != 8) ||
		    e.offset + e.size < e.offset ||
		    e.fd_index >= c->rx.nfds || c->rx.fds[e.fd_index] < 0) {
			ulog_printf(&c->log, LOG_ERR,
				    "vfio-user: region %u doorbell %u is malformed",
				    index, i);
			return vuc_proto_error(c, what);
		}
		/* One fd per entry: the caller closes each once. */
		for (uint32_t j = 0; j < i; j++)
			if (out[j].fd == c->rx.fds[e.fd_index])
				return vuc_proto_error(c, what);
		out[i] = (struct uvfio_doorbell){
			.offset = e.offset, .size = (uint32_t)e.size,
			.datamatch = e.flags & 1u,
			.data = (e.flags & 1u) ? e.datamatch : 0,
			.fd = c->rx.fds[e.fd_index],
		};
	}
	/* All good: the fds are the caller's now. */
	for (uint32_t i = 0; i < h.count; i++)
		for (unsigned k = 0; k < c->rx.nfds; k++)
			if (c->rx.fds[k] == out[i].fd)
				c->rx.fds[k] = -1;
	return (int)h.count;
}

int vuc_region_doorbells(struct uvfio_backend *be, unsigned index,
			 struct uvfio_doorbell *out, unsigned max)
{
	struct vu_client *c = to_vu(be);
	unsigned room = MIN(max, VU_DOORBELLS_MAX);
	uint32_t argsz = (uint32_t)(sizeof(struct vu_region_io_fds_req) +
				    room * sizeof(struct vu_ioeventfd_entry));
	struct vu_region_io_fds_req req = { .argsz = argsz, .index = index };
	struct iovec iov = { &req, sizeof(req) };

	pthread_mutex_lock(&c->req_lock);
	int r = vuc_call(c, VU_CMD_DEVICE_GET_REGION_IO_FDS, &iov, 1, NULL, 0);
	if (!r) {
		r = parse_doorbells(c, index, argsz, out, room);
		vu_rx_release(&c->rx);
	}
	pthread_mutex_unlock(&c->req_lock);
	return r;
}

/* ---- region info ---------------------------------------------------- */

/* Keep @fd (or none, -1) as region @index's mmap fd.  req_lock held. */
static void set_region_fd(struct vu_client *c, unsigned index, int fd)
{
	if (index >= VU_MAX_REGION_FDS) {
		close_fd(&fd);
		return;
	}
	if (index >= c->nregion_fds) {
		if (fd < 0)
			return;
		unsigned n = index + 1;
		int *a = realloc(c->region_fds, n * sizeof(*a));
		if (!a) {
			close_fd(&fd);
			return;
		}
		for (unsigned i = c->nregion_fds; i < n; i++)
			a[i] = -1;
		c->region_fds = a;
		c->nregion_fds = n;
	}
	close_fd(&c->region_fds[index]);
	c->region_fds[index] = fd;
}

/*
 * Parse the region-info reply in c->rx, for a request that offered
 * @offered bytes.  Returns 0, the larger argsz the server asks for, or
 * -errno.
 */
static int parse_region_info(struct vu_client *c, unsigned index,
			     uint32_t offered, struct uvfio_region_info *info)
{
	uint32_t len = vu_rx_len(&c->rx);
	struct vu_region_info ri;

	if (len < sizeof(ri) || len > offered)
		return vuc_proto_error(c, "DEVICE_GET_REGION_INFO");
	memcpy(&ri, c->rx.buf, sizeof(ri));
	if (ri.argsz < sizeof(ri) || ri.index != index)
		return vuc_proto_error(c, "DEVICE_GET_REGION_INFO");
	if (ri.argsz > offered)
		return ri.argsz > VU_REGION_INFO_MAX ? -E2BIG : (int)ri.argsz;

	memset(info, 0, sizeof(*info));
	info->index = ri.index;
	info->flags = ri.flags;
	info->size = ri.size;
	info->offset = ri.offset;
	/* Caps must lie inside both what was sent and what argsz claims. */
	if (ri.cap_offset) {
		int r = uvfio_region_parse_caps(c->rx.buf, MIN(len, ri.argsz),
						ri.cap_offset, info, &c->log);
		if (r < 0)
			return r;
	}

	if (info->flags & VFIO_REGION_INFO_FLAG_MMAP) {
		if (c->rx.nfds > 1 || c->rx.fds_overflow) {
			ulog_printf(&c->log, LOG_ERR,
				    "vfio-user: region %u info came with %u fds",
				    index, c->rx.nfds);
			return -EPROTO;
		}
		if (!c->rx.nfds)
			ulog_printf(&c->log, LOG_WARNING,
				    "vfio-user: region %u is mmap-able but came without an fd",
				    index);
		set_region_fd(c, index, c->rx.nfds ? c->rx.fds[0] : -1);
		if (c->rx.nfds)
			c->rx.fds[0] = -1;
	} else {
		if (c->rx.nfds)
			ulog_printf(&c->log, LOG_WARNING,
				    "vfio-user: region %u info: unexpected fd closed",
				    index);
		set_region_fd(c, index, -1);
	}
	return 0;
}

int vuc_region_info(struct uvfio_backend *be, unsigned index,
		    struct uvfio_region_info *info)
{
	struct vu_client *c = to_vu(be);
	uint32_t argsz = VU_REGION_INFO_ARGSZ;
	int r;

	pthread_mutex_lock(&c->req_lock);
	for (int tries = 0;; tries++) {
		struct vu_region_info req = { .argsz = argsz, .index = index };
		struct iovec iov = { &req, sizeof(req) };

		r = vuc_call(c, VU_CMD_DEVICE_GET_REGION_INFO, &iov, 1,
			     NULL, 0);
		if (r < 0)
			break;
		r = parse_region_info(c, index, argsz, info);
		vu_rx_release(&c->rx);
		if (r <= 0)
			break;
		/* A server that keeps asking for more is broken. */
		if (tries + 1 >= VU_REGION_INFO_TRIES) {
			r = vuc_proto_error(c, "DEVICE_GET_REGION_INFO");
			break;
		}
		argsz = (uint32_t)r;
	}
	pthread_mutex_unlock(&c->req_lock);
	return r;
}

int vuc_region_fd(struct uvfio_backend *be, unsigned index)
{
	struct vu_client *c = to_vu(be);
	int r = -ENOTSUP;

	pthread_mutex_lock(&c->req_lock);
	if (index < c->nregion_fds && c->region_fds[index] >= 0) {
		r = fcntl(c->region_fds[index], F_DUPFD_CLOEXEC, 3);
		if (r < 0)
			r = -errno;
	}
	pthread_mutex_unlock(&c->req_lock);
	return r;
}

/* ---- region access -------------------------------------------------- */

static int check_rw_reply(struct vu_client *c, const struct vu_region_rw *req,
			  uint32_t want_len, const char *what)
{
	struct vu_region_rw rep;

	if (vu_rx_len(&c->rx) != want_len)
		return vuc_proto_error(c, what);
	memcpy(&rep, c->rx.buf, sizeof(rep));
	if (rep.offset != req->offset || rep.region != req->region ||
	    rep.count != req->count)
		return vuc_proto_error(c, what);
	return 0;
}

ssize_t vuc_region_read(struct uvfio_backend *be, unsigned index,
			uint64_t offset, void *buf, size_t len)
{
	struct vu_client *c = to_vu(be);
	/* The reply carries the data: both sides' limits apply. */
	uint32_t chunk = MIN(c->ours.max_data_xfer_size,
			     c->srv.max_data_xfer_size);
	size_t done = 0;
	int r = 0;

	pthread_mutex_lock(&c->req_lock);
	while (done < len) {
		struct vu_region_rw req = {
			.offset = offset + done,
			.region = index,
			.count = (uint32_t)MIN(len - done, (size_t)chunk),
		};
		struct iovec iov = { &req, sizeof(req) };
		/*
		 * Bulk data lands in the caller's buffer, not copied there;
		 * a few bytes are cheaper copied than read in two parts.
		 */
		struct vu_rx_sink sink = {
			.skip = sizeof(req),
			.buf = (uint8_t *)buf + done,
			.len = req.count,
		};

		r = vuc_call_sink(c, VU_CMD_REGION_READ, &iov, 1,
				  req.count >= VU_SINK_MIN ? &sink : NULL);
		if (r < 0)
			break;
		r = check_rw_reply(c, &req, sizeof(req) + req.count,
				   "REGION_READ");
		if (!r && !c->rx.sunk)
			memcpy((uint8_t *)buf + done, c->rx.buf + sizeof(req),
			       req.count);
		vu_rx_release(&c->rx);
		if (r < 0)
			break;
		done += req.count;
	}
	pthread_mutex_unlock(&c->req_lock);
	return r < 0 ? r : (ssize_t)len;
}

ssize_t vuc_region_write(struct uvfio_backend *be, unsigned index,
			 uint64_t offset, const void *buf, size_t len,
			 bool posted)
{
	struct vu_client *c = to_vu(be);
	uint32_t chunk = c->srv.max_data_xfer_size;
	size_t done = 0;
	int r = 0;

	pthread_mutex_lock(&c->req_lock);
	while (done < len) {
		struct vu_region_rw req = {
			.offset = offset + done,
			.region = index,
			.count = (uint32_t)MIN(len - done, (size_t)chunk),
		};
		struct iovec iov[2] = {
			{ &req, sizeof(req) },
			{ (uint8_t *)buf + done, req.count },
		};

		if (posted) {
			r = vuc_send_request(c, VU_CMD_REGION_WRITE,
					     VU_F_NO_REPLY, iov, 2, NULL, 0,
					     NULL);
			if (!r)
				atomic_store(&c->posted, true);
		} else {
			r = vuc_call(c, VU_CMD_REGION_WRITE, iov, 2, NULL, 0);
			if (!r) {
				r = check_rw_reply(c, &req, sizeof(req),
						   "REGION_WRITE");
				vu_rx_release(&c->rx);
			}
		}
		if (r < 0)
			break;
		done += req.count;
	}
	pthread_mutex_unlock(&c->req_lock);
	return r < 0 ? r : (ssize_t)len;
}

/*
 * Posted writes are only ordered against later messages.  Before a
 * direct access to a mapping, one round trip makes sure the server has
 * processed them.
 */
int vuc_region_sync(struct uvfio_backend *be)
{
	struct vu_client *c = to_vu(be);
	int r = 0;

	if (!atomic_load(&c->posted))
		return 0;
	pthread_mutex_lock(&c->req_lock);
	if (atomic_exchange(&c->posted, false)) {
		struct vu_device_info req = { .argsz = sizeof(req) };
		struct iovec iov = { &req, sizeof(req) };

		r = vuc_call(c, VU_CMD_DEVICE_GET_INFO, &iov, 1, NULL, 0);
		if (!r)
			vu_rx_release(&c->rx);
	}
	pthread_mutex_unlock(&c->req_lock);
	return r;
}

/* ---- interrupts ----------------------------------------------------- */

static int send_irq_set(struct vu_client *c, unsigned index, uint32_t flags,
			uint32_t start, uint32_t count, const void *data,
			uint32_t datalen, const int *fds, unsigned nfds)
{
	struct vu_irq_set req = {
		.argsz = (uint32_t)sizeof(req) + datalen,
		.flags = flags,
		.index = index,
		.start = start,
		.count = count,
	};
	struct iovec iov[2] = {
		{ &req, sizeof(req) },
		{ (void *)data, datalen },
	};
	int r = vuc_call(c, VU_CMD_DEVICE_SET_IRQS, iov, 2, fds, nfds);
	if (!r)
		vu_rx_release(&c->rx);
	return r;
}

/*
 * Eventfds go as SCM_RIGHTS, at most the server's max_msg_fds a message,
 * so the range is cut into runs.  -1 cannot travel as an fd: a run of
 * them is sent with no fd attached, which unbinds those vectors.
 */
static int irq_set_eventfds(struct vu_client *c, unsigned index,
			    uint32_t flags, uint32_t start, uint32_t count,
			    const int *fds)
{
	if (!count)
		return send_irq_set(c, index, flags, start, 0, NULL, 0, NULL,
				    0);

	for (uint32_t i = 0, j; i < count; i = j) {
		bool bind = fds[i] >= 0;
		int r;

		for (j = i + 1; j < count && (fds[j] >= 0) == bind; j++)
			if (bind && j - i >= c->srv.max_msg_fds)
				break;
		if (bind && !c->srv.max_msg_fds)
			return -EOPNOTSUPP;
		r = send_irq_set(c, index, flags, start + i, j - i, NULL, 0,
				 bind ? fds + i : NULL, bind ? j - i : 0);
		if (r < 0)
			return r;
	}
	return 0;
}

int vuc_irq_set(struct uvfio_backend *be, unsigned index,
		uint32_t flags, uint32_t start, uint32_t count,
		const void *data)
{
	struct vu_client *c = to_vu(be);
	int r;

	pthread_mutex_lock(&c->req_lock);
	switch (flags & VFIO_IRQ_SET_DATA_TYPE_MASK) {
	case VFIO_IRQ_SET_DATA_NONE:
		r = send_irq_set(c, index, flags, start, count, NULL, 0,
				 NULL, 0);
		break;
	case VFIO_IRQ_SET_DATA_BOOL:
		r = count > c->srv.max_data_xfer_size ? -E2BIG :
		    send_irq_set(c, index, flags, start, count, data, count,
				 NULL, 0);
		break;
	case VFIO_IRQ_SET_DATA_EVENTFD:
		r = irq_set_eventfds(c, index, flags, start, count, data);
		break;
	default:
		r = -EINVAL;
		break;
	}
	pthread_mutex_unlock(&c->req_lock);
	return r;
}

/* ---- DMA ------------------------------------------------------------ */

int vuc_dma_map(struct uvfio_backend *be, void *vaddr, size_t size,
		uint64_t iova, uint32_t flags, int fd, uint64_t fd_offset)
{
	struct vu_client *c = to_vu(be);

	if (fd >= 0 && !c->srv.max_msg_fds)
		return -EOPNOTSUPP;
	/* In the table before the server knows: it may DMA at once. */
	int r = vuc_win_add(c, vaddr, size, iova, flags);
	if (r < 0)
		return r;
	struct vu_dma_map req = {
		.argsz = sizeof(req),
		.flags = (flags & UVFIO_DMA_READ ? VU_DMA_FLAG_READ : 0) |
			 (flags & UVFIO_DMA_WRITE ? VU_DMA_FLAG_WRITE : 0),
		.offset = fd >= 0 ? fd_offset : 0,
		.addr = iova,
		.size = size,
	};
	r = vuc_call_simple(c, VU_CMD_DMA_MAP, &req, sizeof(req),
			   fd >= 0 ? &fd : NULL, fd >= 0 ? 1 : 0);
	if (r < 0)
		vuc_win_del(c, iova, size);
	return r;
}

static int dma_unmap(struct vu_client *c, uint32_t flags, uint64_t iova,
		     uint64_t size)
{
	struct vu_dma_unmap req = {
		.argsz = sizeof(req),
		.flags = flags,
		.addr = iova,
		.size = size,
	}, rep = { 0 };
	struct iovec iov = { &req, sizeof(req) };

	pthread_mutex_lock(&c->req_lock);
	int r = vuc_call(c, VU_CMD_DMA_UNMAP, &iov, 1, NULL, 0);
	if (!r)
		r = take_fixed_reply(c, &rep, sizeof(rep), "DMA_UNMAP");
	pthread_mutex_unlock(&c->req_lock);
	if (r < 0)
		return r;
	/* The reply echoes the request: anything else unmapped elsewhere. */
	if (rep.addr != iova || rep.size != size)
		return vuc_proto_error(c, "DMA_UNMAP");
	return 0;
}

/*
 * The window leaves our table whatever the server said: the caller is
 * about to free the memory, and serving a window it gave up would write
 * into freed memory.
 */
int vuc_dma_unmap(struct uvfio_backend *be, uint64_t iova,
		  uint64_t size)
{
	struct vu_client *c = to_vu(be);
	int r = dma_unmap(c, 0, iova, size);

	vuc_win_del(c, iova, size);
	return r;
}

int vuc_dma_unmap_all(struct uvfio_backend *be)
{
	struct vu_client *c = to_vu(be);
	int r = dma_unmap(c, VU_DMA_UNMAP_FLAG_ALL, 0, 0);

	vuc_win_clear(c);
	return r;
}

/* ---- the rest ------------------------------------------------------- */

int vuc_reset(struct uvfio_backend *be)
{
	return vuc_call_simple(to_vu(be), VU_CMD_DEVICE_RESET, NULL, 0, NULL,
			       0);
}

/*
 * DEVICE_FEATURE: the header and, for a SET, the payload; argsz offers
 * room for the payload a GET returns.
 */
int vuc_device_feature(struct uvfio_backend *be, uint32_t flags, void *data,
		       size_t len)
{
	struct vu_client *c = to_vu(be);
	bool probe = flags & VFIO_DEVICE_FEATURE_PROBE;
	bool get = !probe && flags & VFIO_DEVICE_FEATURE_GET;
	bool set = !probe && flags & VFIO_DEVICE_FEATURE_SET;
	struct vu_device_feature req = {
		.argsz = (uint32_t)(sizeof(req) + len),
		.flags = flags,
	};
	struct iovec iov[2] = {
		{ &req, sizeof(req) },
		{ data, set ? len : 0 },
	};

	if (len > c->srv.max_data_xfer_size || len > c->ours.max_data_xfer_size)
		return -E2BIG;
	pthread_mutex_lock(&c->req_lock);
	int r = vuc_call(c, VU_CMD_DEVICE_FEATURE, iov, 2, NULL, 0);
	if (!r) {
		uint32_t rlen = vu_rx_len(&c->rx);
		/* The reply echoes the header; a GET's data follows. */
		if (rlen < sizeof(req) || rlen - sizeof(req) > len)
			r = vuc_proto_error(c, "DEVICE_FEATURE");
		else if (get)
			memcpy(data, c->rx.buf + sizeof(req), rlen - sizeof(req));
		vu_rx_release(&c->rx);
	}
	pthread_mutex_unlock(&c->req_lock);
	return r;
}
