/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One handler per vfio-user command.  Each checks every length, index,
 * offset and count of the request before use, makes one call into the
 * device model, and encodes the reply.  An invalid request gets an error
 * reply and the connection stays usable.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>

#include "server/server.h"

void *conn_tx(struct conn *c, size_t len)
{
	if (c->tx_cap < len) {
		size_t cap = c->tx_cap ? c->tx_cap : 4096;
		while (cap < len)
			cap *= 2;
		void *n = realloc(c->tx, cap);
		if (!n)
			return NULL;
		c->tx = n;
		c->tx_cap = cap;
	}
	return c->tx;
}

/*
 * --verbose: a reply, logged before it is sent, so that the line is out
 * before the client can have the reply.  Callers check ulog_on() first.
 */
static void log_reply(const struct conn *c, const struct vu_hdr *req,
		      size_t size, unsigned nfds, uint32_t err)
{
	if (err)
		ulog_printf(&c->srv->log, LOG_DEBUG,
			    "-> %s id=%u size=%zu fds=%u reply error=%u (%s)",
			    uvfio_command_name(req->command), req->msg_id, size,
			    nfds, err, strerror((int)err));
	else
		ulog_printf(&c->srv->log, LOG_DEBUG,
			    "-> %s id=%u size=%zu fds=%u reply",
			    uvfio_command_name(req->command), req->msg_id, size,
			    nfds);
}

int conn_reply(struct conn *c, const struct vu_hdr *req, const void *p1,
	       size_t l1, const void *p2, size_t l2, const int *fds,
	       unsigned nfds)
{
	if (req->flags & VU_F_NO_REPLY)
		return 0;
	if (ulog_on(&c->srv->log, LOG_DEBUG))
		log_reply(c, req, sizeof(struct vu_hdr) + l1 + l2, nfds, 0);
	struct vu_hdr h = { .msg_id = req->msg_id, .command = req->command,
			    .flags = VU_F_TYPE_REPLY };
	struct iovec iov[2] = { { (void *)p1, l1 }, { (void *)p2, l2 } };
	/* The reply buffer stays as it is until the reply is out. */
	unsigned stable = 0;
	for (unsigned i = 0; i < 2; i++)
		if (c->tx && (const uint8_t *)iov[i].iov_base >= c->tx &&
		    (const uint8_t *)iov[i].iov_base < c->tx + c->tx_cap)
			stable |= 1u << i;
	int r = conn_send(c, &h, iov, 2, stable, fds, nfds);
	if (r < 0)
		conn_kill(c, "cannot send a reply");
	return r;
}

int conn_reply_stable(struct conn *c, const struct vu_hdr *req, const void *p1,
		      size_t l1, const void *p2, size_t l2)
{
	if (req->flags & VU_F_NO_REPLY)
		return 0;
	if (ulog_on(&c->srv->log, LOG_DEBUG))
		log_reply(c, req, sizeof(struct vu_hdr) + l1 + l2, 0, 0);
	struct vu_hdr h = { .msg_id = req->msg_id, .command = req->command,
			    .flags = VU_F_TYPE_REPLY };
	struct iovec iov[2] = { { (void *)p1, l1 }, { (void *)p2, l2 } };
	int r = conn_send(c, &h, iov, 2, 2u, NULL, 0);
	if (r < 0)
		conn_kill(c, "cannot send a reply");
	return r;
}

int conn_error(struct conn *c, const struct vu_hdr *req, int err)
{
	bool verbose = ulog_on(&c->srv->log, LOG_DEBUG);
	/* The request's outcome, a posted one's too (nothing is sent). */
	if (verbose)
		ulog_printf(&c->srv->log, LOG_DEBUG, "   %s id=%u -> error %s",
			    uvfio_command_name(req->command), req->msg_id,
			    strerror(err < 0 ? -err : err));
	if (req->flags & VU_F_NO_REPLY)
		return 0;
	struct vu_hdr h = {
		.msg_id = req->msg_id,
		.command = req->command,
		.flags = VU_F_TYPE_REPLY | VU_F_ERROR,
		.error = (uint32_t)(err < 0 ? -err : err),
	};
	if (verbose)
		log_reply(c, req, sizeof(h), 0, h.error);
	int r = conn_send(c, &h, NULL, 0, 0, NULL, 0);
	if (r < 0)
		conn_kill(c, "cannot send a reply");
	return r;
}

struct req {
	struct conn *c;
	const struct vu_hdr *hdr;
	uint8_t *p;
	uint32_t len;
	int *fds;
	unsigned nfds;
	struct uvfio_dev *dev;
};

/* ---- VERSION ---- */

static int handle_version(struct req *q)
{
	struct conn *c = q->c;
	struct uvfio_server *srv = c->srv;
	char why[160];

	if (c->negotiated)
		return -EINVAL;
	if (q->nfds) {
		conn_error(c, q->hdr, EINVAL);
		conn_kill(c, "VERSION carried file descriptors");
		return 0;
	}
	if (q->len < sizeof(struct vu_version)) {
		conn_error(c, q->hdr, EINVAL);
		conn_kill(c, "VERSION too short");
		return 0;
	}
	const struct vu_version *v = (const void *)q->p;
	if (v->major != UVFIO_PROTO_MAJOR) {
		conn_error(c, q->hdr, ENOTSUP);
		snprintf(why, sizeof(why), "client speaks major version %u",
			 v->major);
		conn_kill(c, why);
		return 0;
	}
	struct uvfio_caps peer;
	int twin_idx;
	if (vu_caps_from_json(v->data, q->len - sizeof(*v), &peer, &twin_idx,
			      why, sizeof(why)) < 0) {
		conn_error(c, q->hdr, EINVAL);
		conn_kill(c, why);
		return 0;
	}
	/* The VF token, as vfio-pci checks it when a device is opened. */
	int tr = dev_vf_token_check(srv->dev, peer.has_vf_token ?
					      peer.vf_token : NULL);
	if (tr < 0) {
		conn_error(c, q->hdr, -tr);
		conn_kill(c, tr == -EACCES ? "missing or wrong VF token"
					   : "VF token given to a device without one");
		return 0;
	}

	struct uvfio_caps ours;
	vu_caps_default(&ours);
	ours.max_msg_fds = srv->opts.max_msg_fds;
	ours.max_data_xfer_size = srv->opts.max_data_xfer_size;
	ours.max_dma_maps = srv->opts.max_dma_maps;
	ours.write_multiple = !srv->opts.no_write_multiple;

	int pair[2] = { -1, -1 };
	/* The twin socket is an fd: not for a client that takes none. */
	bool twin = peer.twin_socket && !srv->opts.no_twin_socket &&
		    peer.max_msg_fds > 0;
	if (twin && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
		twin = false;
	char *json = vu_caps_to_json(&ours, false, twin ? 0 : -1);
	if (!json) {
		close_fd(&pair[0]);
		close_fd(&pair[1]);
		return -ENOMEM;
	}
	struct vu_version rv = {
		.major = UVFIO_PROTO_MAJOR,
		.minor = v->minor < UVFIO_PROTO_MINOR ? v->minor : UVFIO_PROTO_MINOR,
	};
	int r = conn_reply(c, q->hdr, &rv, sizeof(rv), json, strlen(json) + 1,
			   twin ? &pair[1] : NULL, twin ? 1 : 0);
	ulog_printf(&srv->log, LOG_INFO,
		    "%s: negotiated %u.%u: client max_data_xfer_size %u, "
		    "max_msg_fds %u, twin socket %s; ours %s",
		    srv->dev->name, rv.major, rv.minor, peer.max_data_xfer_size,
		    peer.max_msg_fds, twin ? "yes" : "no", json);
	free(json);
	close_fd(&pair[1]);
	if (r < 0) {
		close_fd(&pair[0]);
		return 0;
	}
	c->twin = pair[0];
	c->peer = peer;
	c->minor = rv.minor;
	c->negotiated = true;
	dev_client_open(srv->dev);
	uint32_t body = MAX(ours.max_data_xfer_size, 64u * 1024);
	c->lim.max_msg_size = body + 4096;
	c->lim.max_fds = ours.max_msg_fds;
	return 0;
}

/* ---- device information ---- */

static int handle_get_info(struct req *q)
{
	if (q->len < sizeof(struct vu_device_info))
		return -EINVAL;
	const struct vu_device_info *in = (const void *)q->p;
	if (in->argsz < sizeof(*in))
		return -EINVAL;
	uint32_t flags, nregions, nirqs;
	dev_get_info(q->dev, &flags, &nregions, &nirqs);
	struct vu_device_info out = { .argsz = sizeof(out), .flags = flags,
				      .num_regions = nregions,
				      .num_irqs = nirqs };
	return conn_reply(q->c, q->hdr, &out, sizeof(out), NULL, 0, NULL, 0);
}

static int handle_region_info(struct req *q)
{
	if (q->len < sizeof(struct vu_region_info))
		return -EINVAL;
	const struct vu_region_info *in = (const void *)q->p;
	if (in->argsz < sizeof(*in))
		return -EINVAL;
	struct dev_region *r = dev_region(q->dev, in->index);
	if (!r)
		return -EINVAL;

	uint8_t buf[sizeof(struct vu_region_info) + sizeof(struct vu_cap_sparse_mmap) +
		    DEV_MAX_AREAS * sizeof(struct vu_sparse_area) +
		    sizeof(struct vu_cap_type)];
	memset(buf, 0, sizeof(buf));
	struct vu_region_info *out = (void *)buf;
	size_t len = sizeof(*out);
	/*
	 * A mapping needs the region's fd.  To a client that takes no fds
	 * (max_msg_fds 0) the region is not mmap-able: no MMAP flag, no
	 * sparse areas, no fd; it gets at the region by messages.
	 */
	bool can_map = q->c->peer.max_msg_fds > 0;
	out->index = in->index;
	if (r->present) {
		out->size = r->size;
		out->flags = r->flags;
		if (!can_map)
			out->flags &= ~(uint32_t)VFIO_REGION_INFO_FLAG_MMAP;
	}
	/* Offset of the "next" field to patch; 12 is cap_offset itself. */
	size_t link = offsetof(struct vu_region_info, cap_offset);
	if (r->present && r->nr_areas && can_map) {
		struct vu_cap_sparse_mmap *sp = (void *)(buf + len);
		put_le32(buf + link, (uint32_t)len);
		sp->header.id = VFIO_REGION_INFO_CAP_SPARSE_MMAP;
		sp->header.version = 1;
		sp->nr_areas = r->nr_areas;
		for (unsigned i = 0; i < r->nr_areas; i++) {
			sp->areas[i].offset = r->areas[i].offset;
			sp->areas[i].size = r->areas[i].size;
		}
		link = len + offsetof(struct vu_cap_header, next);
		len += sizeof(*sp) + r->nr_areas * sizeof(struct vu_sparse_area);
	}
	if (r->present && r->has_type) {
		struct vu_cap_type *t = (void *)(buf + len);
		put_le32(buf + link, (uint32_t)len);
		t->header.id = VFIO_REGION_INFO_CAP_TYPE;
		t->header.version = 1;
		t->type = r->type;
		t->subtype = r->subtype;
		len += sizeof(*t);
	}
	if (len > sizeof(*out))
		out->flags |= VFIO_REGION_INFO_FLAG_CAPS;
	out->argsz = (uint32_t)len;
	if (in->argsz < len) {
		/* Too small for the caps: say how much is needed. */
		out->cap_offset = 0;
		len = sizeof(*out);
	}
	bool mmap = r->present && (out->flags & VFIO_REGION_INFO_FLAG_MMAP) &&
		    r->memfd >= 0;
	return conn_reply(q->c, q->hdr, buf, len, NULL, 0,
			  mmap ? &r->memfd : NULL, mmap ? 1 : 0);
}

static int handle_irq_info(struct req *q)
{
	if (q->len < sizeof(struct vu_irq_info))
		return -EINVAL;
	const struct vu_irq_info *in = (const void *)q->p;
	if (in->argsz < sizeof(*in))
		return -EINVAL;
	uint32_t flags, count;
	int r = dev_irq_info(q->dev, in->index, &flags, &count);
	if (r < 0)
		return r;
	struct vu_irq_info out = { .argsz = sizeof(out), .flags = flags,
				   .index = in->index, .count = count };
	return conn_reply(q->c, q->hdr, &out, sizeof(out), NULL, 0, NULL, 0);
}

/*
 * The doorbells the device declared on a region (uvfio_dev_add_doorbell),
 * as ioeventfd entries with the device's eventfds attached.  A request
 * with too small an argsz gets the header only: the count and the argsz
 * it needs.
 */
static int handle_region_io_fds(struct req *q)
{
	if (q->len < sizeof(struct vu_region_io_fds_req))
		return -EINVAL;
	const struct vu_region_io_fds_req *in = (const void *)q->p;
	if (in->argsz < sizeof(*in) || in->flags || in->count)
		return -EINVAL;
	struct dev_region *r = dev_region(q->dev, in->index);
	if (!r || !r->present)
		return -EINVAL;

	struct uvfio_dev *dev = q->dev;
	struct vu_ioeventfd_entry ents[DEV_MAX_DOORBELLS];
	int fds[DEV_MAX_DOORBELLS];
	unsigned n = 0;
	for (unsigned i = 0; i < dev->ndoorbells; i++) {
		const struct dev_doorbell *d = &dev->doorbells[i];
		if (d->region != in->index)
			continue;
		ents[n] = (struct vu_ioeventfd_entry){
			.offset = d->offset, .size = d->size, .fd_index = n,
			.type = 0, .flags = d->datamatch ? 1u : 0u,
			.datamatch = d->data,
		};
		fds[n] = d->fd;
		n++;
	}
	uint32_t need = (uint32_t)(sizeof(*in) + n * sizeof(ents[0]));
	struct vu_region_io_fds_req out = { .argsz = need, .index = in->index,
					    .count = n };
	if (in->argsz < need)
		return conn_reply(q->c, q->hdr, &out, sizeof(out), NULL, 0,
				  NULL, 0);
	if (n > q->c->peer.max_msg_fds)
		return -E2BIG;
	for (unsigned i = 0; i < n; i++)
		if (fds[i] < 0)
			return -EIO;    /* its eventfd could not be made */
	return conn_reply(q->c, q->hdr, &out, sizeof(out), ents,
			  n * sizeof(ents[0]), n ? fds : NULL, n);
}

static int handle_set_irqs(struct req *q)
{
	if (q->len < sizeof(struct vu_irq_set))
		return -EINVAL;
	const struct vu_irq_set *in = (const void *)q->p;
	if (in->argsz < sizeof(*in))
		return -EINVAL;
	int r = dev_set_irqs(q->dev, in->flags, in->index, in->start, in->count,
			     in->data, q->len - sizeof(*in), q->fds, q->nfds);
	if (r < 0)
		return r;
	return conn_reply(q->c, q->hdr, NULL, 0, NULL, 0, NULL, 0);
}

/* ---- regions ---- */

static int handle_region_read(struct req *q)
{
	if (q->len < sizeof(struct vu_region_rw))
		return -EINVAL;
	const struct vu_region_rw *in = (const void *)q->p;
	if (!in->count)
		return -EINVAL;
	if (in->count > q->c->srv->opts.max_data_xfer_size)
		return -E2BIG;
	/* Memory is sent from where it lies, not copied into the reply first. */
	const void *mem = dev_region_mem(q->dev, in->region, in->offset,
					 in->count, false);
	if (mem) {
		struct vu_region_rw hdr = *in;
		return conn_reply_stable(q->c, q->hdr, &hdr, sizeof(hdr), mem,
					 in->count);
	}
	struct vu_region_rw *out = conn_tx(q->c, sizeof(*out) + in->count);
	if (!out)
		return -ENOMEM;
	*out = *in;
	ssize_t n = dev_region_access(q->dev, in->region, in->offset, out->data,
				      in->count, false);
	if (n < 0)
		return (int)n;
	return conn_reply(q->c, q->hdr, out, sizeof(*out) + in->count, NULL, 0,
			  NULL, 0);
}

static int handle_region_write(struct req *q)
{
	if (q->len < sizeof(struct vu_region_rw))
		return -EINVAL;
	struct vu_region_rw *in = (void *)q->p;
	if (!in->count || in->count != q->len - sizeof(*in))
		return -EINVAL;
	if (in->count > q->c->srv->opts.max_data_xfer_size)
		return -E2BIG;
	ssize_t n = dev_region_access(q->dev, in->region, in->offset, in->data,
				      in->count, true);
	if (n < 0)
		return (int)n;
	struct vu_region_rw out = *in;
	return conn_reply(q->c, q->hdr, &out, sizeof(out), NULL, 0, NULL, 0);
}

static int handle_write_multi(struct req *q)
{
	if (q->c->srv->opts.no_write_multiple)
		return -ENOSYS;
	if (q->len < sizeof(struct vu_write_multi))
		return -EINVAL;
	struct vu_write_multi *in = (void *)q->p;
	if (!in->wr_cnt || in->wr_cnt > VU_MULTI_MAX ||
	    q->len != sizeof(*in) + in->wr_cnt * sizeof(struct vu_wr_one))
		return -EINVAL;
	for (uint64_t i = 0; i < in->wr_cnt; i++)
		if (!in->wrs[i].count || in->wrs[i].count > VU_MULTI_DATA)
			return -EINVAL;
	for (uint64_t i = 0; i < in->wr_cnt; i++) {
		struct vu_wr_one *w = &in->wrs[i];
		ssize_t n = dev_region_access(q->dev, w->region, w->offset,
					      w->data, w->count, true);
		if (n < 0)
			return (int)n;
	}
	struct vu_write_multi out = { .wr_cnt = in->wr_cnt };
	return conn_reply(q->c, q->hdr, &out, sizeof(out), NULL, 0, NULL, 0);
}

/* ---- DMA ---- */

static int handle_dma_map(struct req *q)
{
	if (q->len < sizeof(struct vu_dma_map))
		return -EINVAL;
	const struct vu_dma_map *in = (const void *)q->p;
	if (in->argsz < sizeof(*in) || q->nfds > 1)
		return -EINVAL;
	int fd = q->nfds ? q->fds[0] : -1;
	int r = dev_dma_map(q->dev, in->flags, in->offset, in->addr, in->size,
			    &fd);
	if (q->nfds)
		q->fds[0] = fd;  /* -1 when the device took it */
	if (r < 0)
		return r;
	return conn_reply(q->c, q->hdr, NULL, 0, NULL, 0, NULL, 0);
}

static int handle_dma_unmap(struct req *q)
{
	if (q->len < sizeof(struct vu_dma_unmap))
		return -EINVAL;
	const struct vu_dma_unmap *in = (const void *)q->p;
	if (in->argsz < sizeof(*in))
		return -EINVAL;
	int r = dev_dma_unmap(q->dev, in->flags, in->addr, in->size);
	if (r < 0)
		return r;
	struct vu_dma_unmap out = *in;
	out.argsz = sizeof(out);
	return conn_reply(q->c, q->hdr, &out, sizeof(out), NULL, 0, NULL, 0);
}

/* ---- the rest ---- */

static int handle_reset(struct req *q)
{
	int r = dev_reset(q->dev);
	if (r < 0)
		return r;
	return conn_reply(q->c, q->hdr, NULL, 0, NULL, 0, NULL, 0);
}

static int handle_feature(struct req *q)
{
	if (q->len < sizeof(struct vu_device_feature))
		return -EINVAL;
	struct vu_device_feature in;
	memcpy(&in, q->p, sizeof(in));
	/* Room for what a GET may return: what argsz offers, bounded. */
	size_t cap = 0;
	if ((in.flags & VFIO_DEVICE_FEATURE_GET) &&
	    !(in.flags & VFIO_DEVICE_FEATURE_PROBE) && in.argsz > sizeof(in))
		cap = MIN((size_t)in.argsz - sizeof(in),
			  (size_t)q->c->srv->opts.max_data_xfer_size);
	uint8_t *tx = conn_tx(q->c, sizeof(in) + cap);
	if (!tx)
		return -ENOMEM;
	size_t outlen = 0;
	int r = dev_feature(q->dev, in.argsz, in.flags, q->p + sizeof(in),
			    q->len - sizeof(in), tx + sizeof(in), cap, &outlen);
	if (r < 0)
		return r;
	/* The reply echoes the header; a GET's data follows it. */
	struct vu_device_feature out = in;
	if ((in.flags & VFIO_DEVICE_FEATURE_GET) &&
	    !(in.flags & VFIO_DEVICE_FEATURE_PROBE))
		out.argsz = (uint32_t)(sizeof(out) + outlen);
	else
		outlen = 0;
	memcpy(tx, &out, sizeof(out));
	return conn_reply(q->c, q->hdr, tx, sizeof(out) + outlen, NULL, 0,
			  NULL, 0);
}

typedef int (*handler_fn)(struct req *q);

struct handler {
	handler_fn fn;
	unsigned max_fds;   /* fds a request may carry; ~0u: count decides */
};

static const struct handler handlers[VU_CMD_MAX] = {
	[VU_CMD_VERSION] = { handle_version, 0 },
	[VU_CMD_DMA_MAP] = { handle_dma_map, 1 },
	[VU_CMD_DMA_UNMAP] = { handle_dma_unmap, 0 },
	[VU_CMD_DEVICE_GET_INFO] = { handle_get_info, 0 },
	[VU_CMD_DEVICE_GET_REGION_INFO] = { handle_region_info, 0 },
	[VU_CMD_DEVICE_GET_REGION_IO_FDS] = { handle_region_io_fds, 0 },
	[VU_CMD_DEVICE_GET_IRQ_INFO] = { handle_irq_info, 0 },
	[VU_CMD_DEVICE_SET_IRQS] = { handle_set_irqs, ~0u },
	[VU_CMD_REGION_READ] = { handle_region_read, 0 },
	[VU_CMD_REGION_WRITE] = { handle_region_write, 0 },
	[VU_CMD_DEVICE_RESET] = { handle_reset, 0 },
	[VU_CMD_REGION_WRITE_MULTI] = { handle_write_multi, 0 },
	[VU_CMD_DEVICE_FEATURE] = { handle_feature, 0 },
};

void handle_message(struct conn *c, const struct vu_hdr *hdr, uint8_t *payload,
		    uint32_t len, int *fds, unsigned nfds, bool fds_overflow)
{
	struct uvfio_server *srv = c->srv;
	uint32_t type = hdr->flags & VU_F_TYPE_MASK;

	if (ulog_on(&srv->log, LOG_DEBUG))
		ulog_printf(&srv->log, LOG_DEBUG, "<- %s id=%u size=%u fds=%u%s",
			    uvfio_command_name(hdr->command), hdr->msg_id,
			    hdr->msg_size, nfds,
			    hdr->flags & VU_F_NO_REPLY ? " no-reply" : "");
	if (type != VU_F_TYPE_COMMAND) {
		/* Nothing of ours awaits a reply here: ignore it. */
		ulog_printf(&srv->log, LOG_NOTICE,
			    "%s: unsolicited message type %u ignored",
			    srv->dev->name, type);
		return;
	}
	if (!c->negotiated && hdr->command != VU_CMD_VERSION) {
		conn_error(c, hdr, EINVAL);
		conn_kill(c, "first message was not VERSION");
		return;
	}
	const struct handler *h =
		hdr->command < VU_CMD_MAX ? &handlers[hdr->command] : NULL;
	if (!h || !h->fn) {
		int e = (hdr->command == VU_CMD_DMA_READ ||
			 hdr->command == VU_CMD_DMA_WRITE) ? EINVAL : ENOSYS;
		if (hdr->command == VU_CMD_MIG_DATA_READ ||
		    hdr->command == VU_CMD_MIG_DATA_WRITE)
			e = ENOTTY;
		conn_error(c, hdr, e);
		return;
	}
	if (hdr->command == VU_CMD_VERSION && (fds_overflow || nfds)) {
		conn_error(c, hdr, EINVAL);
		conn_kill(c, "VERSION carried file descriptors");
		return;
	}
	if (fds_overflow || (h->max_fds != ~0u && nfds > h->max_fds)) {
		conn_error(c, hdr, EINVAL);
		return;
	}
	struct req q = { .c = c, .hdr = hdr, .p = payload, .len = len,
			 .fds = fds, .nfds = nfds, .dev = srv->dev };
	int r = h->fn(&q);
	if (r < 0 && !c->dead)
		conn_error(c, hdr, r);
}
