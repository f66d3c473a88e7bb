/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vfio-user backend, the server's side of the conversation: DMA_READ and
 * DMA_WRITE to the windows we mapped.  Windows mapped with an fd are
 * reached by the server through its own mapping; the others only through
 * these messages.  The server is not trusted: every request is checked
 * against the window table before a byte of our memory is touched.
 *
 * Requests arrive on the twin socket when one was negotiated, else on the
 * main socket between replies.  They are served by the library's thread
 * (which serves the main socket only while no caller is in a request),
 * or by uvfio_device_dispatch() when the caller runs the loop, and in
 * every call that waits for a reply or for room to send.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <syslog.h>
#include <time.h>

#include "client/user.h"

/* ---- window table --------------------------------------------------- */

/* Index of the first window whose last byte is at or above @iova. */
static unsigned win_lower_bound(const struct vu_client *c, uint64_t iova)
{
	unsigned lo = 0, hi = c->nwin;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		const struct vu_window *w = &c->win[mid];

		if (w->iova + (w->size - 1) < iova)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int vuc_win_add(struct vu_client *c, void *vaddr, uint64_t size,
		uint64_t iova, uint32_t flags)
{
	int r = 0;

	pthread_mutex_lock(&c->dma_lock);
	unsigned pos = win_lower_bound(c, iova);
	/* Overlaps make lookups ambiguous; the server refuses them too. */
	if (pos < c->nwin && c->win[pos].iova <= iova + (size - 1)) {
		r = -EEXIST;
		goto out;
	}
	if (c->nwin >= c->srv.max_dma_maps) {
		r = -ENOSPC;
		goto out;
	}
	if (c->nwin == c->win_cap) {
		unsigned cap = c->win_cap ? c->win_cap * 2 : 16;
		struct vu_window *n = realloc(c->win, cap * sizeof(*n));

		if (!n) {
			r = -ENOMEM;
			goto out;
		}
		c->win = n;
		c->win_cap = cap;
	}
	memmove(&c->win[pos + 1], &c->win[pos],
		(c->nwin - pos) * sizeof(*c->win));
	c->win[pos] = (struct vu_window){
		.iova = iova, .size = size, .vaddr = vaddr, .flags = flags,
	};
	c->nwin++;
out:
	pthread_mutex_unlock(&c->dma_lock);
	return r;
}

void vuc_win_del(struct vu_client *c, uint64_t iova, uint64_t size)
{
	pthread_mutex_lock(&c->dma_lock);
	unsigned pos = win_lower_bound(c, iova);
	if (pos < c->nwin && c->win[pos].iova == iova &&
	    c->win[pos].size == size) {
		memmove(&c->win[pos], &c->win[pos + 1],
			(c->nwin - pos - 1) * sizeof(*c->win));
		c->nwin--;
	}
	pthread_mutex_unlock(&c->dma_lock);
}

void vuc_win_clear(struct vu_client *c)
{
	pthread_mutex_lock(&c->dma_lock);
	c->nwin = 0;
	pthread_mutex_unlock(&c->dma_lock);
}

void vuc_win_fini(struct vu_client *c)
{
	free(c->win);
	c->win = NULL;
	c->nwin = c->win_cap = 0;
}

/*
 * The window holding all of [addr, addr+count) with permission @need, or
 * NULL with *@err set.  Called with dma_lock held.
 */
static struct vu_window *win_find(struct vu_client *c, uint64_t addr,
				  uint64_t count, uint32_t need, int *err)
{
	if (addr + (count - 1) < addr) {
		*err = -EFAULT;
		return NULL;
	}
	unsigned pos = win_lower_bound(c, addr);
	if (pos >= c->nwin || c->win[pos].iova > addr) {
		*err = -EFAULT;
		return NULL;
	}
	struct vu_window *w = &c->win[pos];
	if (!range_ok(addr - w->iova, count, w->size) || !w->vaddr) {
		*err = -EFAULT;
		return NULL;
	}
	if (!(w->flags & need)) {
		*err = -EPERM;
		return NULL;
	}
	return w;
}

/* ---- serving requests ---------------------------------------------- */

/*
 * Keep the reply to request @h for later (see struct vu_held): an error
 * reply when @err, else one carrying @rw and, for a DMA_READ, @data
 * (malloc'd, taken over).
 */
static void hold_reply(struct vu_client *c, const struct vu_hdr *h, int err,
		       const struct vu_dma_rw *rw, uint8_t *data)
{
	vuc_held_drop(c);
	c->held = (struct vu_held){
		.valid = true,
		.hdr = {
			.msg_id = h->msg_id,
			.command = h->command,
			.flags = VU_F_TYPE_REPLY | (err ? VU_F_ERROR : 0),
			.error = (uint32_t)(err < 0 ? -err : err),
		},
		.addr = rw && !err ? rw->addr : 0,
		.count = rw && !err ? rw->count : 0,
		.data = err ? NULL : data,
	};
	if (err)
		free(data);
}

/* @hold: keep the reply in c->held instead of sending it on @sock. */
static int reply_error(struct vu_client *c, int sock, const struct vu_hdr *h,
		       int err, bool hold)
{
	ulog_printf(&c->log, LOG_DEBUG, "vfio-user: %s from server: %s",
		    uvfio_command_name(h->command), strerror(-err));
	if (h->flags & VU_F_NO_REPLY)
		return 0;
	if (hold) {
		hold_reply(c, h, err, NULL, NULL);
		return 0;
	}
	return vu_send_error(sock, h, err, c->timeout_ms);
}

/* Header fields common to DMA_READ and DMA_WRITE, checked. */
static int dma_req_parse(struct vu_client *c, const struct vu_rx *rx,
			 struct vu_dma_rw *req)
{
	uint32_t len = vu_rx_len(rx);

	/* The server announced it never sends fds with these; QEMU agrees. */
	if (rx->nfds || rx->fds_overflow)
		return -EINVAL;
	if (len < sizeof(*req))
		return -EINVAL;
	memcpy(req, rx->buf, sizeof(*req));
	if (!req->count)
		return -EINVAL;
	if (req->count > c->ours.max_data_xfer_size)
		return -E2BIG;
	return 0;
}

static int serve_dma_read(struct vu_client *c, int sock,
			  const struct vu_rx *rx, bool hold)
{
	const struct vu_hdr *h = &rx->hdr;
	bool reply = !(h->flags & VU_F_NO_REPLY);
	struct vu_dma_rw req;
	uint8_t *copy = NULL;
	int err = dma_req_parse(c, rx, &req);

	if (!err && vu_rx_len(rx) != sizeof(req))
		err = -EINVAL;
	/* A held reply cannot point into a window that may go meanwhile. */
	if (!err && hold && reply && !(copy = malloc((size_t)req.count)))
		err = -ENOMEM;
	if (err)
		return reply_error(c, sock, h, err, hold);

	pthread_mutex_lock(&c->dma_lock);
	struct vu_window *w = win_find(c, req.addr, req.count,
				       UVFIO_DMA_READ, &err);
	if (!w) {
		pthread_mutex_unlock(&c->dma_lock);
		free(copy);
		return reply_error(c, sock, h, err, hold);
	}
	/* Counted before the reply goes: the server may go on at once. */
	atomic_fetch_add(&c->dma_requests, 1);
	const uint8_t *src = w->vaddr + (req.addr - w->iova);
	int r = 0;
	if (copy) {
		memcpy(copy, src, (size_t)req.count);
		hold_reply(c, h, 0, &req, copy);
	} else if (reply) {
		/*
		 * Send straight from the window, lock held: an unmap waits
		 * until the data is out, so it never reads freed memory.
		 */
		struct vu_hdr rh = {
			.msg_id = h->msg_id,
			.command = h->command,
			.flags = VU_F_TYPE_REPLY,
		};
		struct iovec iov[2] = {
			{ &req, sizeof(req) },
			{ (void *)src, (size_t)req.count },
		};
		r = vu_send(sock, &rh, iov, 2, NULL, 0, c->timeout_ms);
	}
	pthread_mutex_unlock(&c->dma_lock);
	return r;
}

static int serve_dma_write(struct vu_client *c, int sock,
			   const struct vu_rx *rx, bool hold)
{
	const struct vu_hdr *h = &rx->hdr;
	struct vu_dma_rw req;
	int err = dma_req_parse(c, rx, &req);

	if (!err && vu_rx_len(rx) - sizeof(req) != req.count)
		err = -EINVAL;
	if (err)
		return reply_error(c, sock, h, err, hold);

	pthread_mutex_lock(&c->dma_lock);
	struct vu_window *w = win_find(c, req.addr, req.count,
				       UVFIO_DMA_WRITE, &err);
	if (w)
		memcpy(w->vaddr + (req.addr - w->iova), rx->buf + sizeof(req),
		       (size_t)req.count);
	pthread_mutex_unlock(&c->dma_lock);
	if (!w)
		return reply_error(c, sock, h, err, hold);

	atomic_fetch_add(&c->dma_requests, 1);
	if (h->flags & VU_F_NO_REPLY)
		return 0;
	if (hold) {
		hold_reply(c, h, 0, &req, NULL);
		return 0;
	}
	struct vu_hdr rh = {
		.msg_id = h->msg_id,
		.command = h->command,
		.flags = VU_F_TYPE_REPLY,
	};
	struct iovec iov = { &req, sizeof(req) };
	return vu_send(sock, &rh, &iov, 1, NULL, 0, c->timeout_ms);
}

static int serve(struct vu_client *c, int sock, struct vu_rx *rx, bool hold)
{
	switch (rx->hdr.command) {
	case VU_CMD_DMA_READ:
		return serve_dma_read(c, sock, rx, hold);
	case VU_CMD_DMA_WRITE:
		return serve_dma_write(c, sock, rx, hold);
	default:
		ulog_printf(&c->log, LOG_WARNING,
			    "vfio-user: server sent unsupported request %u (%s)",
			    rx->hdr.command,
			    uvfio_command_name(rx->hdr.command));
		return reply_error(c, sock, &rx->hdr, -ENOSYS, hold);
	}
}

int vuc_serve_one(struct vu_client *c, int sock, struct vu_rx *rx)
{
	return serve(c, sock, rx, false);
}

void vuc_serve_held(struct vu_client *c, struct vu_rx *rx)
{
	ulog_printf(&c->log, LOG_DEBUG,
		    "vfio-user: %s request while sending, reply held back",
		    uvfio_command_name(rx->hdr.command));
	serve(c, c->sock, rx, true);   /* holding, nothing is sent */
}

int vuc_send_held(struct vu_client *c)
{
	struct vu_held *hd = &c->held;

	if (!hd->valid)
		return 0;
	struct vu_dma_rw rw = { .addr = hd->addr, .count = hd->count };
	struct iovec iov[2] = {
		{ &rw, sizeof(rw) },
		{ hd->data, hd->data ? (size_t)hd->count : 0 },
	};
	bool body = !(hd->hdr.flags & VU_F_ERROR);
	/* The server waits for this and reads meanwhile: a plain send. */
	int r = vu_send(c->sock, &hd->hdr, iov, body ? 2 : 0, NULL, 0,
			c->timeout_ms);
	vuc_held_drop(c);
	return r;
}

void vuc_held_drop(struct vu_client *c)
{
	free(c->held.data);
	memset(&c->held, 0, sizeof(c->held));
}

/* ---- the twin socket ------------------------------------------------ */

/*
 * Serve every complete message on the twin socket.  The caller owns
 * twin_rx (the thread, or twin_lock held).
 */
static int twin_drain_locked(struct vu_client *c)
{
	int r = atomic_load(&c->twin_err);

	while (!r) {
		r = vu_rx_step(&c->twin_rx, c->twin, &c->lim);
		if (r <= 0)
			break;
		unsigned type = c->twin_rx.hdr.flags & VU_F_TYPE_MASK;
		if (type == VU_F_TYPE_COMMAND) {
			r = vuc_serve_one(c, c->twin, &c->twin_rx);
		} else {
			/* We never send requests on the twin socket. */
			ulog_printf(&c->log, LOG_WARNING,
				    "vfio-user: unexpected message (flags 0x%x) on the twin socket, dropped",
				    c->twin_rx.hdr.flags);
			r = 0;
		}
		vu_rx_release(&c->twin_rx);
	}
	if (r < 0) {
		if (r == -EMSGSIZE)
			r = -EPROTO;
		ulog_printf(&c->log, r == -ECONNRESET ? LOG_INFO : LOG_ERR,
			    "vfio-user: twin socket: %s", strerror(-r));
		atomic_store(&c->twin_err, r);
	}
	return r;
}

int vuc_twin_drain(struct vu_client *c)
{
	pthread_mutex_lock(&c->twin_lock);
	int r = twin_drain_locked(c);
	pthread_mutex_unlock(&c->twin_lock);
	return r;
}

/*
 * Without a twin socket the thread wakes for every reply a caller
 * receives, only to find it gone: that costs the caller a futex wake
 * and lock contention per request.  After this many such wakes in a row
 * (and no long sleep between them) it keeps off the socket for a while;
 * a caller in a request serves what comes meanwhile itself, and the
 * server waits for a DMA reply for seconds.
 */
#define VU_IDLE_WAKES       4
#define VU_IDLE_BACKOFF_MS  1

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The library's thread: serves the twin socket, or without one the main
 * socket while no caller is in a request (a caller waiting for its reply
 * serves the requests that come meanwhile itself).
 */
static void *dma_thread(void *arg)
{
	struct vu_client *c = arg;
	bool twin = c->twin >= 0;
	unsigned idle_wakes = 0;
	int64_t slept = 0;

	for (;;) {
		if (idle_wakes >= VU_IDLE_WAKES) {
			struct pollfd s = { .fd = c->stop_fd, .events = POLLIN };
			idle_wakes = 0;
			if (poll(&s, 1, VU_IDLE_BACKOFF_MS) > 0)
				break;
		}
		if (!twin)
			slept = mono_ms();
		struct pollfd p[2] = {
			{ .fd = twin ? c->twin : c->sock, .events = POLLIN },
			{ .fd = c->stop_fd, .events = POLLIN },
		};
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			ulog_printf(&c->log, LOG_ERR, "vfio-user: poll: %s",
				    strerror(errno));
			break;
		}
		if (p[1].revents)
			break;
		if (!p[0].revents)
			continue;
		/* On error the server is gone; the main socket will tell. */
		if (twin) {
			if (twin_drain_locked(c) < 0)
				break;
			continue;
		}
		/*
		 * Input on the main socket.  vuc_main_drain() waits for
		 * req_lock: while a caller holds it, what came is its reply
		 * or a request it serves itself, and when it is done there
		 * is nothing left to read.  A caller that only posts writes
		 * does not read: the hint makes it serve instead of us.
		 */
		atomic_store(&c->sock_ready, true);
		if (mono_ms() - slept > VU_IDLE_BACKOFF_MS)
			idle_wakes = 0;   /* the client was idle before */
		int r = vuc_main_drain(c);
		if (r < 0)
			break;   /* the connection failed; callers are told */
		idle_wakes = r ? 0 : idle_wakes + 1;
	}
	return NULL;
}

int vuc_thread_start(struct vu_client *c)
{
	c->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->stop_fd < 0)
		return -errno;

	/* The caller's signals are not ours to take. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int r = pthread_create(&c->thread, NULL, dma_thread, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		close_fd(&c->stop_fd);
		return -r;
	}
	c->thread_on = true;
	return 0;
}

void vuc_thread_stop(struct vu_client *c)
{
	if (!c->thread_on)
		return;
	uint64_t one = 1;
	ssize_t n;
	do {
		n = write(c->stop_fd, &one, sizeof(one));
	} while (n < 0 && errno == EINTR);
	pthread_join(c->thread, NULL);
	c->thread_on = false;
	close_fd(&c->stop_fd);
}
