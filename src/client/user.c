/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vfio-user backend: the requests we send.  One request is on the main
 * socket at a time (req_lock); its reply is read into c->rx, checked
 * against what was asked (id, command, sizes) and parsed in place.  The
 * server is untrusted: nothing is read beyond what a reply carries, and
 * no reply can make us hang past the timeout.
 *
 * While a reply is awaited the server may send its own requests (DMA to
 * fd-less windows): on the main socket when there is no twin socket, on
 * the twin socket otherwise.  They are served in between, else a server
 * that needs our memory to finish a region access would deadlock us.
 * The same while a message of ours waits for room in the socket: the
 * server may be blocked sending a big request to us and read nothing.
 * On the main socket its reply then waits (c->held) until our message is
 * out, so the two never interleave.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>

#include "client/user.h"

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The stream cannot be trusted any more (closed, or a message could not
 * be framed): every later request fails with the same error.
 */
static int vuc_fail(struct vu_client *c, int err)
{
	if (err == -EMSGSIZE)
		err = -EPROTO;
	if (!c->dead) {
		ulog_printf(&c->log, err == -ECONNRESET ? LOG_INFO : LOG_ERR,
			    "vfio-user: connection failed: %s", strerror(-err));
		c->dead = err;
	}
	return err;
}

static void stale_add(struct vu_client *c, uint16_t id)
{
	c->stale[c->stale_pos] = id;
	c->stale_valid[c->stale_pos] = true;
	c->stale_pos = (c->stale_pos + 1) % VU_STALE_IDS;
}

static bool stale_take(struct vu_client *c, uint16_t id)
{
	for (unsigned i = 0; i < VU_STALE_IDS; i++) {
		if (c->stale_valid[i] && c->stale[i] == id) {
			c->stale_valid[i] = false;
			return true;
		}
	}
	return false;
}

/*
 * A complete message is in c->rx.  Returns 1 when it is the reply to
 * @id/@cmd (left in c->rx), 0 when it was consumed (a server request
 * served, a late reply dropped), or -errno.  @id < 0: no reply awaited.
 * @hold: one of our messages is half sent, a request's reply waits in
 * c->held.
 */
static int take_message(struct vu_client *c, int id, uint16_t cmd, bool hold)
{
	const struct vu_hdr *h = &c->rx.hdr;
	unsigned type = h->flags & VU_F_TYPE_MASK;
	int r = 0;

	if (type == VU_F_TYPE_COMMAND && !c->negotiating) {
		if (hold)
			vuc_serve_held(c, &c->rx);
		else
			r = vuc_serve_one(c, c->sock, &c->rx);
		vu_rx_release(&c->rx);
		return r < 0 ? vuc_fail(c, r) : 0;
	}
	if (type == VU_F_TYPE_REPLY && id >= 0 && h->msg_id == id &&
	    h->command == cmd)
		return 1;
	if (type == VU_F_TYPE_REPLY && stale_take(c, h->msg_id)) {
		ulog_printf(&c->log, LOG_DEBUG,
			    "vfio-user: late reply %u (%s) dropped", h->msg_id,
			    uvfio_command_name(h->command));
	} else {
		ulog_printf(&c->log, LOG_WARNING,
			    "vfio-user: unexpected message id %u command %u flags 0x%x%s",
			    h->msg_id, h->command, h->flags,
			    id >= 0 ? "" : " while idle");
		r = id >= 0 ? -EPROTO : 0;
	}
	vu_rx_release(&c->rx);
	return r;
}

/*
 * Sleep until the main socket is readable, serving the twin socket
 * meanwhile when no thread does.  0, or -ETIMEDOUT past @deadline.
 */
static int wait_io(struct vu_client *c, int64_t deadline)
{
	struct pollfd p[2] = { { .fd = c->sock, .events = POLLIN } };
	nfds_t n = 1;
	int t = -1;

	if (c->twin >= 0 && !c->thread_on && !atomic_load(&c->twin_err)) {
		p[1] = (struct pollfd){ .fd = c->twin, .events = POLLIN };
		n = 2;
	}
	if (deadline >= 0) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		t = left > 1000000 ? 1000000 : (int)left;
	}
	int r = poll(p, n, t);
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	if (n == 2 && p[1].revents)
		vuc_twin_drain(c);   /* a failure is sticky and logged there */
	return 0;
}

/* Wait for the reply to @id/@cmd, left in c->rx. */
static int wait_reply(struct vu_client *c, uint16_t id, uint16_t cmd)
{
	int64_t deadline = c->timeout_ms < 0 ? -1 : now_ms() + c->timeout_ms;
	/*
	 * With no twin socket for us to serve meanwhile, sleep in recvmsg
	 * itself (SO_RCVTIMEO bounds it): a poll() per reply saved.
	 */
	bool in_recv = c->recv_waits && (c->twin < 0 || c->thread_on);

	for (;;) {
		int r = in_recv ? vu_rx_wait(&c->rx, c->sock, &c->lim) :
				  vu_rx_step(&c->rx, c->sock, &c->lim);
		if (r < 0)
			return vuc_fail(c, r);
		if (r > 0) {
			r = take_message(c, id, cmd, false);
			if (r > 0)
				return 0;
		}
		/* A server flooding us with requests cannot stop the clock. */
		if (!r && deadline >= 0 && now_ms() >= deadline)
			r = -ETIMEDOUT;
		if (!r)
			r = wait_io(c, deadline);
		if (r < 0) {
			if (r == -ETIMEDOUT)
				ulog_printf(&c->log, LOG_WARNING,
					    "vfio-user: no reply to %s within %d ms",
					    uvfio_command_name(cmd),
					    c->timeout_ms);
			/* Its late reply must not pass for another. */
			stale_add(c, id);
			return r;
		}
	}
}

/*
 * Serve what is complete on the main socket without blocking.  req_lock
 * held, no request in progress: no reply of ours can be in the stream.
 * Returns how many messages were taken, plus 1 if a partial one grew.
 */
static int main_drain_locked(struct vu_client *c)
{
	size_t got = c->rx.got;
	int n = 0;

	atomic_store(&c->sock_ready, false);
	while (!c->dead) {
		int r = vu_rx_step(&c->rx, c->sock, &c->lim);
		if (r < 0) {
			vuc_fail(c, r);
			break;
		}
		if (!r)
			break;
		got = 0;
		if (take_message(c, -1, 0, false) < 0)
			break;
		if (n < INT_MAX - 1)
			n++;
	}
	if (c->dead)
		return c->dead;
	return n + (c->rx.got != got);
}

int vuc_main_drain(struct vu_client *c)
{
	pthread_mutex_lock(&c->req_lock);
	int r = main_drain_locked(c);
	pthread_mutex_unlock(&c->req_lock);
	return r;
}

/*
 * Our message is stuck half sent and the main socket has input: with no
 * twin socket it may be a server request, the server blocked sending it
 * as we are.  Read it; its reply waits in c->held until our message is
 * out.  Then stop reading: the server waits for that reply and sends
 * nothing else.
 */
static int main_readable(void *opaque)
{
	struct vu_client *c = opaque;

	while (!c->held.valid) {
		int r = vu_rx_step(&c->rx, c->sock, &c->lim);
		if (r < 0)
			return vuc_fail(c, r);
		if (!r)
			return 0;
		r = take_message(c, -1, 0, true);
		if (r < 0)
			return r;
	}
	return 1;
}

/* Same with a twin socket that no thread serves. */
static int twin_readable(void *opaque)
{
	struct vu_client *c = opaque;

	vuc_twin_drain(c);   /* a failure is sticky and logged there */
	return atomic_load(&c->twin_err) ? 1 : 0;
}

int vuc_send_request(struct vu_client *c, uint16_t cmd, uint32_t flags,
		     const struct iovec *iov, unsigned niov, const int *fds,
		     unsigned nfds, uint16_t *id)
{
	if (c->dead)
		return c->dead;
	struct vu_send_watch w = { .fd = -1, .opaque = c };
	if (c->negotiating) {
		/* Nothing but the VERSION reply may come. */
	} else if (c->twin < 0) {
		/* A caller that only posts never reads: see dma_thread(). */
		if ((flags & VU_F_NO_REPLY) &&
		    atomic_load_explicit(&c->sock_ready, memory_order_relaxed)) {
			int r = main_drain_locked(c);
			if (r < 0)
				return r;
		}
		w.fd = c->sock;
		w.readable = main_readable;
	} else if (!c->thread_on && !atomic_load(&c->twin_err)) {
		w.fd = c->twin;
		w.readable = twin_readable;
	}
	struct vu_hdr h = {
		.msg_id = c->next_id++,
		.command = cmd,
		.flags = VU_F_TYPE_COMMAND | flags,
	};
	/* While it waits for room, the server's requests are served. */
	int r = vu_send_watch(c->sock, &h, iov, niov, fds, nfds,
			      c->timeout_ms, &w);
	/* A reply held back meanwhile goes right after our message. */
	if (!r)
		r = vuc_send_held(c);
	if (r < 0) {
		vuc_held_drop(c);
		return vuc_fail(c, r);   /* part of it may be out: desynced */
	}
	if (id)
		*id = h.msg_id;
	return 0;
}

/*
 * Send a request and wait for its reply, which is left in c->rx for the
 * caller to check and release.  An error reply is turned into its errno.
 * Called with req_lock held.
 */
static int call(struct vu_client *c, uint16_t cmd, const struct iovec *iov,
		unsigned niov, const int *fds, unsigned nfds,
		struct vu_rx_sink *sink)
{
	uint16_t id = 0;
	int r = vuc_send_request(c, cmd, 0, iov, niov, fds, nfds, &id);
	if (r < 0)
		return r;
	if (sink) {
		/* Only wait_reply() reads c->rx: set before it, it is in time. */
		sink->msg_id = id;
		sink->command = cmd;
		c->rx.sink = sink;
	}
	r = wait_reply(c, id, cmd);
	c->rx.sink = NULL;
	if (r < 0)
		return r;
	if (c->rx.hdr.flags & VU_F_ERROR) {
		uint32_t e = c->rx.hdr.error;
		vu_rx_release(&c->rx);
		/* 0 is no error; above 4095 is no errno. */
		return e == 0 || e > 4095 ? -EIO : -(int)e;
	}
	return 0;
}

int vuc_call(struct vu_client *c, uint16_t cmd, const struct iovec *iov,
	     unsigned niov, const int *fds, unsigned nfds)
{
	return call(c, cmd, iov, niov, fds, nfds, NULL);
}

int vuc_call_sink(struct vu_client *c, uint16_t cmd, const struct iovec *iov,
		  unsigned niov, struct vu_rx_sink *sink)
{
	return call(c, cmd, iov, niov, NULL, 0, sink);
}

/* A request whose reply carries nothing we use. */
int vuc_call_simple(struct vu_client *c, uint16_t cmd, const void *req,
		    size_t len, const int *fds, unsigned nfds)
{
	struct iovec iov = { (void *)req, len };

	pthread_mutex_lock(&c->req_lock);
	int r = vuc_call(c, cmd, &iov, len ? 1 : 0, fds, nfds);
	if (!r)
		vu_rx_release(&c->rx);
	pthread_mutex_unlock(&c->req_lock);
	return r;
}

int vuc_proto_error(struct vu_client *c, const char *what)
{
	ulog_printf(&c->log, LOG_ERR, "vfio-user: malformed %s reply", what);
	return -EPROTO;
}

/* ---- VERSION --------------------------------------------------------- */

/* The twin socket the reply announced, taken out of c->rx. */
static int take_twin(struct vu_client *c, int index)
{
	struct stat st;

	if (index < 0 || (unsigned)index >= c->rx.nfds) {
		ulog_printf(&c->log, LOG_ERR,
			    "vfio-user: twin socket announced without its fd");
		return -EPROTO;
	}
	int fd = c->rx.fds[index];
	if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode)) {
		ulog_printf(&c->log, LOG_ERR,
			    "vfio-user: twin socket fd is not a socket");
		return -EPROTO;
	}
	c->rx.fds[index] = -1;
	c->twin = fd;
	return 0;
}

static int parse_version(struct vu_client *c, bool want_twin)
{
	uint32_t len = vu_rx_len(&c->rx);
	struct vu_version v;
	char err[128];
	int twin_index;

	if (len < sizeof(v))
		return vuc_proto_error(c, "VERSION");
	memcpy(&v, c->rx.buf, sizeof(v));
	if (v.major != UVFIO_PROTO_MAJOR || v.minor > UVFIO_PROTO_MINOR) {
		ulog_printf(&c->log, LOG_ERR,
			    "vfio-user: server answered version %u.%u to our %u.%u",
			    v.major, v.minor, UVFIO_PROTO_MAJOR,
			    UVFIO_PROTO_MINOR);
		return -EPROTO;
	}
	int r = vu_caps_from_json((const char *)c->rx.buf + sizeof(v),
				  len - sizeof(v), &c->srv, &twin_index, err,
				  sizeof(err));
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		ulog_printf(&c->log, LOG_ERR,
			    "vfio-user: server capabilities: %s", err);
		return -EPROTO;
	}
	if (c->srv.twin_socket) {
		r = take_twin(c, twin_index);
		if (r < 0)
			return r;
		if (!want_twin)
			ulog_printf(&c->log, LOG_NOTICE,
				    "vfio-user: server uses a twin socket we did not ask for");
	}
	c->major = v.major;
	c->minor = v.minor;
	ulog_printf(&c->log, LOG_DEBUG,
		    "vfio-user: version %u.%u, max_data_xfer_size %u, max_msg_fds %u%s",
		    v.major, v.minor, c->srv.max_data_xfer_size,
		    c->srv.max_msg_fds, c->twin >= 0 ? ", twin socket" : "");
	return 0;
}

static int negotiate(struct vu_client *c, bool want_twin)
{
	char *json = vu_caps_to_json(&c->ours, want_twin, -1);
	if (!json)
		return -ENOMEM;
	struct vu_version v = {
		.major = UVFIO_PROTO_MAJOR,
		.minor = UVFIO_PROTO_MINOR,
	};
	struct iovec iov[2] = {
		{ &v, sizeof(v) },
		{ json, strlen(json) + 1 },
	};

	pthread_mutex_lock(&c->req_lock);
	c->negotiating = true;
	int r = vuc_call(c, VU_CMD_VERSION, iov, 2, NULL, 0);
	c->negotiating = false;
	if (!r) {
		r = parse_version(c, want_twin);
		vu_rx_release(&c->rx);   /* closes fds we did not take */
	}
	pthread_mutex_unlock(&c->req_lock);
	free(json);
	return r;
}

static int vuc_negotiated(struct uvfio_backend *be, uint16_t *major,
			  uint16_t *minor, struct uvfio_caps *caps)
{
	struct vu_client *c = to_vu(be);

	if (major)
		*major = c->major;
	if (minor)
		*minor = c->minor;
	if (caps)
		*caps = c->srv;
	return 0;
}

static int vuc_get_fd(struct uvfio_backend *be)
{
	struct vu_client *c = to_vu(be);

	if (c->thread_on)
		return -1;
	return c->twin >= 0 ? c->twin : c->sock;
}

static int vuc_dispatch(struct uvfio_backend *be)
{
	struct vu_client *c = to_vu(be);
	int r = 0;

	if (c->thread_on)
		return 0;
	if (c->twin >= 0) {
		r = vuc_twin_drain(c);
		return r < 0 ? r : 0;
	}

	/* Requests come between replies on the main socket. */
	r = vuc_main_drain(c);
	return r < 0 ? r : 0;
}

static uint64_t vuc_dma_requests(struct uvfio_backend *be)
{
	return atomic_load(&to_vu(be)->dma_requests);
}

static void vuc_close(struct uvfio_backend *be)
{
	struct vu_client *c = to_vu(be);

	if (!c)
		return;
	vuc_ioev_fini(c);
	vuc_thread_stop(c);
	vuc_held_drop(c);
	for (unsigned i = 0; i < c->nregion_fds; i++)
		close_fd(&c->region_fds[i]);
	free(c->region_fds);
	vu_rx_fini(&c->rx);
	vu_rx_fini(&c->twin_rx);
	close_fd(&c->twin);
	close_fd(&c->sock);
	vuc_win_fini(c);
	pthread_mutex_destroy(&c->dma_lock);
	pthread_mutex_destroy(&c->twin_lock);
	pthread_mutex_destroy(&c->req_lock);
	free(c);
}

static const struct uvfio_backend_ops vuc_ops = {
	.name = "vfio-user",
	.close = vuc_close,
	.negotiated = vuc_negotiated,
	.get_info = vuc_get_info,
	.region_info = vuc_region_info,
	.region_fd = vuc_region_fd,
	.region_read = vuc_region_read,
	.region_write = vuc_region_write,
	.region_sync = vuc_region_sync,
	.irq_info = vuc_irq_info,
	.irq_set = vuc_irq_set,
	.dma_map = vuc_dma_map,
	.dma_unmap = vuc_dma_unmap,
	.dma_unmap_all = vuc_dma_unmap_all,
	.reset = vuc_reset,
	.device_feature = vuc_device_feature,
	.region_doorbells = vuc_region_doorbells,
	/* Client-chosen ioeventfds have no vfio-user command: the client
	 * performs them (user_ioev.c). */
	.ioeventfd = vuc_ioeventfd,
	.get_fd = vuc_get_fd,
	.dispatch = vuc_dispatch,
	.dma_requests = vuc_dma_requests,
};

/* ---- opening -------------------------------------------------------- */

/* vfio-user needs a connected AF_UNIX stream socket (fds travel with it). */
static int check_socket(int fd)
{
	int v;
	socklen_t l = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &l) < 0)
		return -errno;
	if (v != SOCK_STREAM)
		return -EPROTOTYPE;
	l = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &l) < 0)
		return -errno;
	if (v != AF_UNIX)
		return -EAFNOSUPPORT;
	return 0;
}

static struct vu_client *client_new(int fd,
				    const struct uvfio_backend_conf *conf)
{
	struct vu_client *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->be.ops = &vuc_ops;
	c->log = conf->log;
	c->timeout_ms = conf->timeout_ms;
	c->sock = fd;
	c->twin = -1;
	c->stop_fd = -1;
	vu_rx_init(&c->rx);
	vu_rx_init(&c->twin_rx);
	pthread_mutex_init(&c->req_lock, NULL);
	pthread_mutex_init(&c->twin_lock, NULL);
	pthread_mutex_init(&c->dma_lock, NULL);

	vu_caps_default(&c->ours);
	c->ours.max_msg_fds = conf->max_msg_fds;
	c->ours.max_data_xfer_size = conf->max_data_xfer_size;
	c->ours.max_dma_maps = UVFIO_DEFAULT_MAX_DMA_MAPS;
	c->ours.pgsizes = UVFIO_DEFAULT_PGSIZES;
	c->ours.has_vf_token = conf->vf_token_set;
	if (conf->vf_token_set)
		memcpy(c->ours.vf_token, conf->vf_token, sizeof(c->ours.vf_token));
	vu_caps_default(&c->srv);
	/*
	 * The largest message we take: a REGION_READ reply or DMA_WRITE
	 * request of our transfer limit, or a region-info reply (also
	 * bounds the VERSION JSON).
	 */
	c->lim.max_msg_size = (uint32_t)(sizeof(struct vu_hdr) +
			      sizeof(struct vu_region_rw)) +
			      MAX(conf->max_data_xfer_size, VU_REGION_INFO_MAX);
	c->lim.max_fds = conf->max_msg_fds;
	return c;
}

int uvfio_user_open_fd(int fd, const struct uvfio_backend_conf *conf,
		       struct uvfio_backend **out)
{
	int r = check_socket(fd);
	if (r < 0) {
		close_fd(&fd);
		return r;
	}
	struct vu_client *c = client_new(fd, conf);
	if (!c) {
		close_fd(&fd);
		return -ENOMEM;
	}
	/* Replies are awaited inside recvmsg; each wait is bounded here. */
	if (conf->timeout_ms >= 0) {
		struct timeval tv = {
			.tv_sec = conf->timeout_ms / 1000,
			.tv_usec = (conf->timeout_ms % 1000) * 1000,
		};
		c->recv_waits = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
					   sizeof(tv)) == 0;
	} else {
		c->recv_waits = true;
	}
	r = negotiate(c, conf->twin_socket);
	/* Serving the twin socket, or the main one between our requests. */
	if (!r && conf->dma_thread)
		r = vuc_thread_start(c);
	if (r < 0) {
		vuc_close(&c->be);
		return r;
	}
	*out = &c->be;
	return 0;
}

int uvfio_user_open_path(const char *path,
			 const struct uvfio_backend_conf *conf,
			 struct uvfio_backend **out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n = strlen(path);

	if (!n)
		return -ENOENT;
	if (n >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, n);

	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A listener that never accepts fills its backlog: bound the wait. */
	if (conf->timeout_ms >= 0) {
		struct timeval tv = {
			.tv_sec = conf->timeout_ms / 1000,
			.tv_usec = (conf->timeout_ms % 1000) * 1000,
		};
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = errno == EAGAIN ? -ETIMEDOUT : -errno;
		/* Linux says ECONNREFUSED for a path that is no socket. */
		struct stat st;
		if (r == -ECONNREFUSED && stat(path, &st) == 0 &&
		    !S_ISSOCK(st.st_mode))
			r = -ENOTSOCK;
		ulog_printf(&conf->log, LOG_DEBUG, "vfio-user: connect %s: %s",
			    path, strerror(-r));
		close_fd(&fd);
		return r;
	}
	struct timeval zero = { 0 };
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &zero, sizeof(zero));
	return uvfio_user_open_fd(fd, conf, out);
}
