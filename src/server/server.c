/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The vfio-user server: a listening socket, one client at a time (others
 * wait in the backlog and are served one after another), an epoll set the
 * caller can nest in its own loop, device timers, and the transport that
 * carries the device's fd-less DMA to the client.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "server/server.h"

#define TAG_STOP   1u
#define TAG_TIMER  2u
#define TAG_LISTEN 3u
#define TAG_CONN   4u
#define TAG_WATCH  5u   /* a client eventfd the device watches; fd in the high half */
#define TAG_TWIN   7u   /* the twin socket: replies to the device's requests */

#define DISPATCH_BUDGET 256  /* messages per dispatch, for fairness */
#define DISPATCH_BYTES (4u << 20)  /* and bytes of them */

int server_send_timeout(const struct uvfio_server *srv)
{
	return srv->opts.reply_timeout_ms;
}

static int ep_add(struct uvfio_server *srv, int fd, uint32_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };
	return epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static void ep_del(struct uvfio_server *srv, int fd)
{
	if (fd >= 0)
		epoll_ctl(srv->epfd, EPOLL_CTL_DEL, fd, NULL);
}

struct uvfio_server *uvfio_server_new(struct uvfio_dev *dev,
				      const struct uvfio_server_opts *opts)
{
	if (!dev)
		return NULL;
	struct uvfio_server *srv = calloc(1, sizeof(*srv));
	if (!srv)
		return NULL;
	srv->dev = dev;
	srv->listen_fd = -1;
	srv->stop_fd = -1;
	srv->timer_fd = -1;
	if (opts)
		srv->opts = *opts;
	struct uvfio_server_opts *o = &srv->opts;
	if (!o->max_data_xfer_size)
		o->max_data_xfer_size = UVFIO_DEFAULT_MAX_DATA_XFER;
	if (o->max_data_xfer_size > UVFIO_LIMIT_MAX_DATA_XFER)
		o->max_data_xfer_size = UVFIO_LIMIT_MAX_DATA_XFER;
	if (!o->max_msg_fds)
		o->max_msg_fds = 16;
	if (o->max_msg_fds > UVFIO_LIMIT_MAX_MSG_FDS)
		o->max_msg_fds = UVFIO_LIMIT_MAX_MSG_FDS;
	if (!o->max_dma_maps || o->max_dma_maps > UVFIO_LIMIT_MAX_DMA_MAPS)
		o->max_dma_maps = UVFIO_DEFAULT_MAX_DMA_MAPS;
	if (!o->reply_timeout_ms)
		o->reply_timeout_ms = 5000;
	srv->log.fn = o->log;
	srv->log.opaque = o->log_opaque;
	srv->log.level = o->log ? (o->log_level ? o->log_level : LOG_INFO) : -1;
	if (!dev->log.fn)
		dev->log = srv->log;

	srv->epfd = epoll_create1(EPOLL_CLOEXEC);
	srv->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	srv->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (srv->epfd < 0 || srv->stop_fd < 0 || srv->timer_fd < 0 ||
	    ep_add(srv, srv->stop_fd, TAG_STOP) < 0 ||
	    ep_add(srv, srv->timer_fd, TAG_TIMER) < 0 || dev_seal(dev) < 0) {
		uvfio_server_free(srv);
		return NULL;
	}
	dev_set_dma_max(dev, o->max_dma_maps);
	if (server_vfs_init(srv) < 0) {
		uvfio_server_free(srv);
		return NULL;
	}
	return srv;
}

static void conn_free(struct conn *c);

void uvfio_server_free(struct uvfio_server *srv)
{
	if (!srv)
		return;
	server_vfs_fini(srv);
	if (srv->conn)
		conn_free(srv->conn);
	if (srv->path)
		unlink(srv->path);
	free(srv->path);
	close_fd(&srv->listen_fd);
	close_fd(&srv->stop_fd);
	close_fd(&srv->timer_fd);
	close_fd(&srv->epfd);
	free(srv);
}

int uvfio_server_listen(struct uvfio_server *srv, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (!path || !*path || strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	if (srv->listen_fd >= 0 || srv->conn)
		return -EBUSY;
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A stale socket left by a killed server is replaced; a file is not. */
	struct stat st;
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		bool live = probe >= 0 &&
			    connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		if (probe >= 0)
			close(probe);
		if (live) {
			close(fd);
			return -EADDRINUSE;
		}
		unlink(path);
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 16) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	srv->path = strdup(path);
	srv->listen_fd = fd;
	int r = ep_add(srv, fd, TAG_LISTEN);
	if (r < 0)
		return r;
	ulog_printf(&srv->log, LOG_INFO, "%s: listening on %s",
		    srv->dev->name, path);
	return 0;
}

static int conn_start(struct uvfio_server *srv, int fd);

int uvfio_server_adopt_fd(struct uvfio_server *srv, int fd)
{
	if (fd < 0)
		return -EBADF;
	if (srv->listen_fd >= 0 || srv->conn)
		return -EBUSY;
	int acc = 0;
	socklen_t len = sizeof(acc);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) < 0)
		return -errno;
	if (acc) {
		srv->listen_fd = fd;
		return ep_add(srv, fd, TAG_LISTEN);
	}
	return conn_start(srv, fd);
}

int uvfio_server_get_fd(struct uvfio_server *srv)
{
	return srv->epfd;
}

void uvfio_server_stop(struct uvfio_server *srv)
{
	uint64_t one = 1;
	srv->stopping = true;
	if (write(srv->stop_fd, &one, sizeof(one)) < 0) {
		/* The counter is already non-zero: the loop wakes anyway. */
	}
}

bool uvfio_server_has_client(struct uvfio_server *srv)
{
	return srv->conn != NULL;
}

struct uvfio_dev *uvfio_server_dev(struct uvfio_server *srv)
{
	return srv->dev;
}

/* ---- connections ---- */

static int conn_dma_rw(void *opaque, uint64_t iova, void *buf, size_t len,
		       bool write);
static void conn_kick(void *opaque);

static int conn_watch(void *opaque, int fd, bool add)
{
	struct conn *c = opaque;
	struct uvfio_server *srv = c->srv;
	if (!add) {
		ep_del(srv, fd);
		return 0;
	}
	/* Edge triggered: each write of the client's is one event, so the
	 * counter need not be read — reading a fd the client may also read
	 * could block the server. */
	struct epoll_event ev = {
		.events = EPOLLIN | EPOLLET,
		.data.u64 = TAG_WATCH | (uint64_t)(uint32_t)fd << 32,
	};
	return epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static void watch_fired(struct uvfio_server *srv, int fd)
{
	dev_watch_fire(srv->dev, fd);
}

static int conn_start(struct uvfio_server *srv, int fd)
{
	struct conn *c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	c->srv = srv;
	c->sock = fd;
	c->twin = -1;
	vu_rx_init(&c->rx);
	vu_rx_init(&c->twin_rx);
	/* Before VERSION: a small message and no fds at all. */
	c->lim.max_msg_size = 64 * 1024;
	c->lim.max_fds = 0;
	int r = ep_add(srv, fd, TAG_CONN);
	if (r < 0) {
		close(fd);
		free(c);
		return r;
	}
	c->events = EPOLLIN;
	if (srv->listen_fd >= 0)
		ep_del(srv, srv->listen_fd);
	srv->conn = c;
	struct dev_transport tp = { .opaque = c, .dma_rw = conn_dma_rw,
				    .dma_submit = conn_dma_submit,
				    .dma_forget = conn_dma_forget,
				    .kick = conn_kick, .watch = conn_watch };
	dev_attach(srv->dev, &tp);
	ulog_printf(&srv->log, LOG_INFO, "%s: client connected", srv->dev->name);
	return 0;
}

static void pending_free(struct pending_msg *p)
{
	for (unsigned i = 0; i < p->nfds; i++)
		close_fd(&p->fds[i]);
	free(p->fds);
	free(p->payload);
	free(p);
}

static void conn_free(struct conn *c)
{
	struct uvfio_server *srv = c->srv;
	/* The device's requests end first, and no new one is taken (nor a
	 * synchronous one, from the callbacks). */
	c->dead = true;
	conn_dma_free(c);
	dev_dma_abort(srv->dev, 0, 0, false, c->dma_err ? c->dma_err : -ENOTCONN,
		      true);
	if (c->negotiated)
		dev_client_close(srv->dev);
	dev_detach(srv->dev);
	ep_del(srv, c->sock);
	close_fd(&c->sock);
	if (c->twin_events)
		ep_del(srv, c->twin);
	close_fd(&c->twin);
	vu_rx_fini(&c->rx);
	vu_rx_fini(&c->twin_rx);
	conn_out_free(c);
	while (c->pend_head) {
		struct pending_msg *p = c->pend_head;
		c->pend_head = p->next;
		pending_free(p);
	}
	free(c->tx);
	srv->conn = NULL;
	free(c);
	if (srv->listen_fd >= 0)
		ep_add(srv, srv->listen_fd, TAG_LISTEN);
}

void conn_kill(struct conn *c, const char *why)
{
	if (!c->dead)
		ulog_printf(&c->srv->log, LOG_WARNING, "%s: dropping client: %s",
			    c->srv->dev->name, why);
	c->dead = true;
}

static int queue_pending(struct conn *c, struct vu_rx *rx)
{
	uint32_t len = vu_rx_len(rx);
	if (c->npending >= CONN_MAX_PENDING ||
	    c->pending_bytes + len > CONN_MAX_PENDING_BYTES)
		return -ENOBUFS;
	struct pending_msg *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->hdr = rx->hdr;
	p->payload = malloc(len + 1u);
	p->fds = rx->nfds ? calloc(rx->nfds, sizeof(int)) : NULL;
	if (!p->payload || (rx->nfds && !p->fds)) {
		pending_free(p);
		return -ENOMEM;
	}
	memcpy(p->payload, rx->buf, len);
	p->payload[len] = 0;
	for (unsigned i = 0; i < rx->nfds; i++) {
		p->fds[i] = rx->fds[i];
		rx->fds[i] = -1;
	}
	p->nfds = rx->nfds;
	p->fds_overflow = rx->fds_overflow;
	if (c->pend_tail)
		c->pend_tail->next = p;
	else
		c->pend_head = p;
	c->pend_tail = p;
	c->npending++;
	c->pending_bytes += len;
	return 0;
}

/* Wait for the reply to our request @id/@cmd on @sock. */
static int await_reply(struct conn *c, int sock, struct vu_rx *rx,
		       uint16_t id, uint16_t cmd)
{
	struct vu_limits lim = {
		.max_msg_size = c->peer.max_data_xfer_size + 4096,
		.max_fds = sock == c->sock ? c->lim.max_fds : 0,
	};
	for (;;) {
		/* An async DMA's sink holds for its own reply only. */
		if (!rx->got && rx->sink == &c->dsink)
			rx->sink = NULL;
		int r = vu_recv(rx, sock, &lim, server_send_timeout(c->srv));
		if (r < 0) {
			conn_kill(c, r == -ETIMEDOUT ? "no reply to a DMA request"
						     : "socket failed awaiting a reply");
			return r == -ETIMEDOUT ? r : -EIO;
		}
		uint32_t type = rx->hdr.flags & VU_F_TYPE_MASK;
		if (type == VU_F_TYPE_COMMAND && sock == c->sock) {
			/* Commands keep their order behind the DMA in progress. */
			r = queue_pending(c, rx);
			vu_rx_release(rx);
			if (r < 0) {
				conn_kill(c, "too many commands queued during DMA");
				return -EIO;
			}
			continue;
		}
		if (type == VU_F_TYPE_REPLY && rx->hdr.msg_id != id &&
		    conn_dma_reply(c, rx)) {
			/* An asynchronous request's: the device hears of it
			 * from the loop, not inside this call. */
			if (c->dead)
				return -EIO;
			continue;
		}
		if (type != VU_F_TYPE_REPLY || rx->hdr.msg_id != id ||
		    rx->hdr.command != cmd) {
			vu_rx_release(rx);
			conn_kill(c, "unexpected message instead of a DMA reply");
			return -EIO;
		}
		if (ulog_on(&c->srv->log, LOG_DEBUG))
			conn_log_dma_reply(c, rx);
		if (rx->nfds) {
			vu_rx_release(rx);
			return -EINVAL;
		}
		return 0;
	}
}

static int dma_rw_wait(struct conn *c, uint64_t iova, void *buf, size_t len,
		       bool write)
{
	if (c->dead || !c->negotiated)
		return -ENOTCONN;
	int sock = c->twin >= 0 ? c->twin : c->sock;
	/* A reply still going out must not be cut by our request. */
	if (sock == c->sock && conn_out_pending(c) &&
	    conn_flush_wait(c, server_send_timeout(c->srv)) < 0) {
		conn_kill(c, "client does not read its replies");
		return -EIO;
	}
	/* Nor an asynchronous request half sent on the twin socket. */
	if (sock == c->twin && c->twin_out.iovcnt &&
	    conn_flush_wait_on(c->twin, &c->twin_out,
			       server_send_timeout(c->srv)) < 0) {
		conn_kill(c, "client does not read its DMA requests");
		return -EIO;
	}
	/* Replies go to their own receiver: c->rx may hold the command
	 * being handled right now. */
	struct vu_rx *rx = &c->twin_rx;
	if (sock == c->sock && c->rx.got && !c->rx.complete) {
		/* Finish the client's half-read command and queue it, so our
		 * request's reply is not read into the middle of it. */
		int r = vu_recv(&c->rx, c->sock, &c->lim,
				server_send_timeout(c->srv));
		if (r == 0 && !(c->twin < 0 && conn_dma_reply(c, &c->rx)))
			r = queue_pending(c, &c->rx);
		vu_rx_release(&c->rx);
		if (c->dead)
			return -EIO;
		if (r < 0) {
			conn_kill(c, "client stalled inside a message");
			return -EIO;
		}
	}
	uint16_t cmd = write ? VU_CMD_DMA_WRITE : VU_CMD_DMA_READ;
	size_t chunk_max = c->peer.max_data_xfer_size;
	uint8_t *p = buf;
	while (len) {
		size_t n = MIN(len, chunk_max);
		struct vu_dma_rw req = { .addr = iova, .count = n };
		struct vu_hdr h = { .msg_id = c->next_id++, .command = cmd,
				    .flags = VU_F_TYPE_COMMAND };
		struct iovec iov[2] = {
			{ &req, sizeof(req) },
			{ p, write ? n : 0 },
		};
		if (ulog_on(&c->srv->log, LOG_DEBUG))
			conn_log_dma_req(c, &h, sizeof(h) + sizeof(req) +
					 iov[1].iov_len, iova, n, false);
		int r = vu_send(sock, &h, iov, 2, NULL, 0,
				server_send_timeout(c->srv));
		if (r < 0) {
			conn_kill(c, "cannot send a DMA request");
			return -EIO;
		}
		/* A DMA_READ reply's data lands in @buf, not copied there. */
		struct vu_rx_sink sink = { .msg_id = h.msg_id, .command = cmd,
					   .skip = sizeof(req), .buf = p,
					   .len = n };
		/* A message half read (an async DMA's reply) keeps its own. */
		bool mine = !rx->got;
		if (mine)
			rx->sink = write || n < 512 ? NULL : &sink;
		r = await_reply(c, sock, rx, h.msg_id, cmd);
		if (mine || rx->sink == &sink)
			rx->sink = NULL;
		if (r < 0)
			return r;
		uint32_t rlen = vu_rx_len(rx);
		if (rx->hdr.flags & VU_F_ERROR) {
			uint32_t e = rx->hdr.error;
			vu_rx_release(rx);
			return (e && e < 4096) ? -(int)e : -EIO;
		}
		const struct vu_dma_rw *rep = (const void *)rx->buf;
		bool ok;
		if (write)
			ok = rlen >= 12 && rep->addr == iova &&
			     (uint32_t)rep->count == n;
		else
			ok = rlen == sizeof(*rep) + n && rep->addr == iova &&
			     rep->count == n;
		if (!ok) {
			vu_rx_release(rx);
			return -EIO;
		}
		if (!write && !rx->sunk)
			memcpy(p, rep->data, n);
		vu_rx_release(rx);
		p += n;
		iova += n;
		len -= n;
	}
	return 0;
}

/*
 * Work of the loop's that no fd announces: commands queued while a
 * synchronous DMA awaited its reply, replies to asynchronous requests
 * read meanwhile, a client dropped there.
 */
static bool conn_has_work(const struct conn *c)
{
	return c->dead || c->nanswered ||
	       (c->pend_head && !conn_out_pending(c) &&
		!dev_dma_ordered(c->srv->dev));
}

static void rearm_timer(struct uvfio_server *srv);

/*
 * A synchronous DMA may be made from the model's own code, outside
 * uvfio_server_dispatch(): then nothing would wake the loop for what
 * came meanwhile, and a client waiting for the reply to a command
 * queued here would wait in vain.  The timer wakes it at once.
 */
static int conn_dma_rw(void *opaque, uint64_t iova, void *buf, size_t len,
		       bool write)
{
	struct conn *c = opaque;
	int r = dma_rw_wait(c, iova, buf, len, write);
	if (conn_has_work(c))
		rearm_timer(c->srv);
	return r;
}

static void process(struct conn *c, struct vu_rx *rx)
{
	c->nmsgs++;
	c->handling = true;
	handle_message(c, &rx->hdr, rx->buf, vu_rx_len(rx), rx->fds, rx->nfds,
		       rx->fds_overflow);
	c->handling = false;
	vu_rx_release(rx);
}

static void process_pending(struct conn *c)
{
	/* Behind an ordered DMA of the device's, commands wait. */
	while (c->pend_head && !c->dead && !conn_out_pending(c) &&
	       !dev_dma_ordered(c->srv->dev)) {
		struct pending_msg *p = c->pend_head;
		c->pend_head = p->next;
		if (!c->pend_head)
			c->pend_tail = NULL;
		c->npending--;
		c->pending_bytes -= p->hdr.msg_size - sizeof(struct vu_hdr);
		c->handling = true;
		handle_message(c, &p->hdr, p->payload,
			       p->hdr.msg_size - (uint32_t)sizeof(struct vu_hdr),
			       p->fds, p->nfds, p->fds_overflow);
		c->handling = false;
		pending_free(p);
	}
}

/*
 * Watch for room while a reply waits, else for input: not both, unless
 * replies to the device's requests are due on this socket.  The twin
 * socket is watched for replies, and for room while a request waits.
 */
static void conn_set_events(struct conn *c)
{
	if (c->dead)
		return;
	uint32_t ev = conn_out_pending(c) ? EPOLLOUT : EPOLLIN;
	if (conn_out_pending(c) && conn_dma_main_awaits(c))
		ev |= EPOLLIN;
	if (ev != c->events) {
		struct epoll_event e = { .events = ev, .data.u64 = TAG_CONN };
		if (epoll_ctl(c->srv->epfd, EPOLL_CTL_MOD, c->sock, &e) == 0)
			c->events = ev;
	}
	if (c->twin < 0)
		return;
	ev = EPOLLIN | (c->twin_out.iovcnt ? EPOLLOUT : 0u);
	if (ev == c->twin_events)
		return;
	struct epoll_event e = { .events = ev, .data.u64 = TAG_TWIN };
	if (epoll_ctl(c->srv->epfd, c->twin_events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD,
		      c->twin, &e) == 0)
		c->twin_events = ev;
}

static void conn_readable(struct uvfio_server *srv)
{
	struct conn *c = srv->conn;
	bool answered = false;
	size_t bytes = 0;

	if (conn_out_pending(c)) {
		int r = conn_flush(c);
		if (r < 0) {
			conn_kill(c, "cannot send a reply");
			goto out;
		}
	}
	conn_dma_step(c);
	/*
	 * After a reply, the client is waiting for it and has nothing more
	 * queued: trying the socket again would only return EAGAIN, on the
	 * critical path of the next request.  The epoll set is level
	 * triggered, so anything that is queued is seen on the next round.
	 * Posted writes (no reply) are read on in a batch.  While a reply
	 * waits for room nothing is read, unless the client owes replies to
	 * the device's requests here: then its commands are queued.
	 */
	for (int budget = DISPATCH_BUDGET; budget > 0 && !c->dead && !answered &&
	     bytes < DISPATCH_BYTES; budget--) {
		process_pending(c);
		if (c->dead)
			break;
		if (conn_out_pending(c) && !conn_dma_main_awaits(c))
			break;
		if (c->twin < 0)
			conn_dma_arm_sink(c, &c->rx);
		int r = vu_rx_step(&c->rx, c->sock, &c->lim);
		if (r == 0)
			break;
		if (r < 0) {
			if (r == -ECONNRESET && !c->rx.got)
				ulog_printf(&srv->log, LOG_INFO,
					    "%s: client disconnected",
					    srv->dev->name);
			else if (r == -ECONNRESET)
				conn_kill(c, "stream ended inside a message");
			else if (r == -EMSGSIZE)
				conn_kill(c, "impossible msg_size");
			else
				conn_kill(c, strerror(-r));
			c->dead = true;
			break;
		}
		bytes += c->rx.hdr.msg_size;
		if (c->twin < 0 && conn_dma_reply(c, &c->rx)) {
			conn_dma_step(c);
			continue;
		}
		if ((c->rx.hdr.flags & VU_F_TYPE_MASK) == VU_F_TYPE_COMMAND &&
		    (conn_out_pending(c) || c->pend_head ||
		     dev_dma_ordered(srv->dev))) {
			/* Its turn comes after what it waits behind. */
			r = queue_pending(c, &c->rx);
			vu_rx_release(&c->rx);
			if (r < 0)
				conn_kill(c, "too many commands queued during DMA");
			continue;
		}
		answered = !(c->rx.hdr.flags & VU_F_NO_REPLY);
		process(c, &c->rx);
		conn_dma_step(c);
	}
out:
	if (c->dead)
		conn_free(c);
	else
		conn_set_events(c);
}

static void twin_readable(struct uvfio_server *srv)
{
	struct conn *c = srv->conn;
	if (c->twin_out.iovcnt && conn_flush_on(c->twin, &c->twin_out) < 0)
		conn_kill(c, "cannot send a DMA request");
	const struct vu_limits lim = {
		.max_msg_size = c->peer.max_data_xfer_size + 4096,
		.max_fds = 0,
	};
	for (int budget = DISPATCH_BUDGET; budget > 0 && !c->dead; budget--) {
		conn_dma_arm_sink(c, &c->twin_rx);
		int r = vu_rx_step(&c->twin_rx, c->twin, &lim);
		if (r == 0)
			break;
		if (r == -ECONNRESET && !c->twin_rx.got) {
			ulog_printf(&srv->log, LOG_INFO,
				    "%s: client disconnected (twin socket)",
				    srv->dev->name);
			c->dead = true;
		} else if (r < 0) {
			conn_kill(c, r == -ECONNRESET ? "twin socket closed inside a message"
						      : "twin socket failed");
		}
		if (r < 0)
			break;
		if (!conn_dma_reply(c, &c->twin_rx)) {
			vu_rx_release(&c->twin_rx);
			conn_kill(c, "unexpected message on the twin socket");
		}
	}
	conn_dma_step(c);
	if (c->dead)
		conn_free(c);
	else
		conn_set_events(c);
}

static void accept_client(struct uvfio_server *srv)
{
	int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (srv->conn) {
		close(fd);
		return;
	}
	conn_start(srv, fd);
}

/* The device scheduled a timer, or a reply became due: maybe sooner. */
static void conn_kick(void *opaque)
{
	struct conn *c = opaque;
	rearm_timer(c->srv);
}

void server_kick(struct uvfio_server *srv)
{
	rearm_timer(srv);
}

static void rearm_timer(struct uvfio_server *srv)
{
	int64_t ns = dev_timers_next(srv->dev);
	/* When a client that owes the device replies must give one. */
	int64_t d = srv->conn ? conn_dma_deadline(srv->conn) : -1;
	if (d >= 0) {
		int64_t left = d - server_now_ms();
		int64_t dns = left > 0 ? (left + 1) * 1000000 : 0;
		if (ns < 0 || dns < ns)
			ns = dns;
	}
	if (srv->conn && conn_has_work(srv->conn))
		ns = 0;
	struct itimerspec its = { 0 };
	/* Nearly always no timer, none armed: no syscall per message. */
	if (ns < 0 && !srv->timer_armed)
		return;
	srv->timer_armed = ns >= 0;
	if (ns >= 0) {
		if (ns == 0)
			ns = 1;
		its.it_value.tv_sec = ns / 1000000000;
		its.it_value.tv_nsec = ns % 1000000000;
	}
	timerfd_settime(srv->timer_fd, 0, &its, NULL);
}

/* Handle what is ready, waiting up to @timeout_ms (-1: until something is). */
static int dispatch(struct uvfio_server *srv, int timeout_ms)
{
	struct epoll_event ev[8];
	int n = epoll_wait(srv->epfd, ev, 8, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		switch ((uint32_t)ev[i].data.u64) {
		case TAG_WATCH:
			if (srv->conn)
				watch_fired(srv, (int)(ev[i].data.u64 >> 32));
			break;
		case TAG_STOP: {
			uint64_t v;
			if (read(srv->stop_fd, &v, sizeof(v)) < 0) {
				/* already drained */
			}
			srv->stopping = true;
			break;
		}
		case TAG_TIMER: {
			uint64_t v;
			if (read(srv->timer_fd, &v, sizeof(v)) < 0) {
				/* spurious wakeup */
			}
			break;
		}
		case TAG_LISTEN:
			if (!srv->conn)
				accept_client(srv);
			break;
		case TAG_CONN:
			if (srv->conn)
				conn_readable(srv);
			break;
		case TAG_TWIN:
			if (srv->conn)
				twin_readable(srv);
			break;
		case SERVER_TAG_VF:
			server_vf_dispatch(srv, (unsigned)(ev[i].data.u64 >> 32));
			break;
		}
	}
	dev_timers_run(srv->dev);
	/* Commands that arrived while a timer's DMA awaited its reply, or
	 * that waited behind an ordered DMA now done; requests the timers
	 * made go out; a client that owes a reply too long goes. */
	if (srv->conn && !srv->conn->dead) {
		conn_dma_step(srv->conn);
		process_pending(srv->conn);
		conn_dma_step(srv->conn);
		conn_dma_expire(srv->conn);
	}
	if (srv->conn && srv->conn->dead)
		conn_free(srv->conn);
	else if (srv->conn)
		conn_set_events(srv->conn);
	rearm_timer(srv);
	return 0;
}

int uvfio_server_dispatch(struct uvfio_server *srv)
{
	return dispatch(srv, 0);
}

int uvfio_server_run(struct uvfio_server *srv)
{
	rearm_timer(srv);
	while (!srv->stopping) {
		if (srv->listen_fd < 0 && !srv->conn)
			return 0;  /* served the one adopted client */
		/* Sleep in epoll_wait itself: one syscall per wakeup, not two. */
		int r = dispatch(srv, -1);
		if (r < 0)
			return r;
	}
	return 0;
}
