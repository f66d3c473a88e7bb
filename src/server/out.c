/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Replies never block the server's loop.  A reply goes out with one
 * non-blocking sendmsg; what the socket does not take is kept (the
 * header and small parts copied, the bulk referenced where it stays put:
 * the reply buffer, device memory) and sent when the socket has room
 * again.  Meanwhile nothing more is read from that client (server.c
 * watches only EPOLLOUT), so a client that does not read its replies
 * holds at most one reply of memory and stalls only itself, never the
 * other devices a process serves.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "server/server.h"

bool conn_out_pending(const struct conn *c)
{
	return c->out.iovcnt != 0;
}

static void out_clear(struct conn_out *o)
{
	for (unsigned i = 0; i < o->nfds; i++)
		close_fd(&o->fds[i]);
	free(o->fds);
	o->fds = NULL;
	o->nfds = 0;
	o->iovcnt = 0;
	o->first = 0;
	/* Keep a small copy buffer; drop a big one. */
	if (o->copy_cap > 65536) {
		free(o->copy);
		o->copy = NULL;
		o->copy_cap = 0;
	}
}

void conn_out_free(struct conn *c)
{
	struct conn_out *outs[3] = { &c->out, &c->out_next, &c->twin_out };
	for (unsigned i = 0; i < 3; i++) {
		out_clear(outs[i]);
		free(outs[i]->copy);
		outs[i]->copy = NULL;
		outs[i]->copy_cap = 0;
	}
}

/* One non-blocking sendmsg of @iov (fds with the first byte); bytes sent,
 * 0 when the socket is full, or -errno. */
static ssize_t send_some(int sock, struct iovec *iov, unsigned cnt,
			 const int *fds, unsigned nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 16)];
		struct cmsghdr align;
	} ctl;
	char *heap = NULL;
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = cnt };
	if (nfds) {
		size_t len = CMSG_SPACE(sizeof(int) * nfds);
		char *cbuf = ctl.buf;
		if (len > sizeof(ctl.buf)) {
			heap = calloc(1, len);
			if (!heap)
				return -ENOMEM;
			cbuf = heap;
		} else {
			memset(cbuf, 0, len);
		}
		mh.msg_control = cbuf;
		mh.msg_controllen = len;
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	ssize_t n;
	do {
		n = !nfds && cnt == 1 ?
		    send(sock, iov[0].iov_base, iov[0].iov_len,
			 MSG_DONTWAIT | MSG_NOSIGNAL) :
		    sendmsg(sock, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	free(heap);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
	return n;
}

/* Drop @n sent bytes from the front of @iov[*first ...]. */
static void advance(struct iovec *iov, unsigned *first, unsigned *cnt,
		    size_t n)
{
	while (*cnt && n >= iov[*first].iov_len) {
		n -= iov[*first].iov_len;
		(*first)++;
		(*cnt)--;
	}
	if (*cnt && n) {
		iov[*first].iov_base = (uint8_t *)iov[*first].iov_base + n;
		iov[*first].iov_len -= n;
	}
}

static int send_or_keep(struct conn *c, int sock, struct conn_out *o,
			const struct vu_hdr *hdr, const struct iovec *iov,
			unsigned iovcnt, unsigned stable, const int *fds,
			unsigned nfds, bool hold);

/*
 * A reply.  Behind an ordered DMA of the device's (UVFIO_DMA_ORDERED),
 * or behind a request of its still going out, it is held, whole, in
 * c->out_next, and goes when that is over: the client sees its command
 * end after the DMA it started, as with a synchronous one.
 */
int conn_send(struct conn *c, const struct vu_hdr *hdr, const struct iovec *iov,
	      unsigned iovcnt, unsigned stable, const int *fds, unsigned nfds)
{
	if (c->out.iovcnt || dev_dma_ordered(c->srv->dev))
		return send_or_keep(c, c->sock, &c->out_next, hdr, iov, iovcnt,
				    0, fds, nfds, true);
	return send_or_keep(c, c->sock, &c->out, hdr, iov, iovcnt, stable, fds,
			    nfds, false);
}

int conn_send_on(struct conn *c, int sock, struct conn_out *o,
		 const struct vu_hdr *hdr, const struct iovec *iov,
		 unsigned iovcnt, unsigned stable, const int *fds,
		 unsigned nfds)
{
	return send_or_keep(c, sock, o, hdr, iov, iovcnt, stable, fds, nfds,
			    false);
}

static int send_or_keep(struct conn *c, int sock, struct conn_out *o,
			const struct vu_hdr *hdr, const struct iovec *iov,
			unsigned iovcnt, unsigned stable, const int *fds,
			unsigned nfds, bool hold)
{
	struct vu_hdr h = *hdr;
	struct iovec v[CONN_OUT_IOV];
	unsigned cnt = 0;
	size_t total = sizeof(h);

	if (c->dead)
		return -EPIPE;
	if (iovcnt > CONN_OUT_IOV - 1)
		return -EINVAL;
	v[cnt++] = (struct iovec){ &h, sizeof(h) };
	unsigned stable_bits = 0;
	for (unsigned i = 0; i < iovcnt; i++) {
		if (!iov[i].iov_len)
			continue;
		if (stable & (1u << i))
			stable_bits |= 1u << cnt;
		v[cnt++] = iov[i];
		total += iov[i].iov_len;
	}
	if (total > UINT32_MAX)
		return -EMSGSIZE;
	h.msg_size = (uint32_t)total;
	/* Nothing is read while a reply waits: one at a time. */
	if (o->iovcnt)
		return -EBUSY;
	/* A small message goes out as one buffer by send(): no msghdr. */
	uint8_t flat[256];
	if (!nfds && cnt > 1 && total <= sizeof(flat)) {
		size_t off = 0;
		for (unsigned i = 0; i < cnt; i++) {
			memcpy(flat + off, v[i].iov_base, v[i].iov_len);
			off += v[i].iov_len;
		}
		v[0] = (struct iovec){ flat, total };
		cnt = 1;
		stable_bits = 0;
	}

	ssize_t n = 0;
	if (!hold) {
		n = send_some(sock, v, cnt, fds, nfds);
		if (n < 0)
			return (int)n;
		if ((size_t)n == total)
			return 0;
	}

	/* Keep the rest: copy what may not stay put, then point at it. */
	unsigned first = 0;
	advance(v, &first, &cnt, (size_t)n);
	size_t need = 0;
	for (unsigned i = first; i < first + cnt; i++)
		if (!(stable_bits & (1u << i)))
			need += v[i].iov_len;
	if (need > o->copy_cap) {
		uint8_t *p = realloc(o->copy, need);
		if (!p)
			return -ENOMEM;
		o->copy = p;
		o->copy_cap = need;
	}
	size_t off = 0;
	o->iovcnt = 0;
	o->first = 0;
	for (unsigned i = first; i < first + cnt; i++) {
		struct iovec e = v[i];
		if (!(stable_bits & (1u << i))) {
			memcpy(o->copy + off, e.iov_base, e.iov_len);
			e.iov_base = o->copy + off;
			off += e.iov_len;
		}
		o->iov[o->iovcnt++] = e;
	}
	if (n == 0 && nfds) {
		/* Not a byte went: the fds still travel with the first. */
		o->fds = calloc(nfds, sizeof(int));
		if (!o->fds) {
			out_clear(o);
			return -ENOMEM;
		}
		for (unsigned i = 0; i < nfds; i++) {
			o->fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
			if (o->fds[i] < 0) {
				int e = -errno;
				o->nfds = i;
				out_clear(o);
				return e;
			}
		}
		o->nfds = nfds;
	}
	return 0;
}

/* The held reply moves up once the socket and the device let it. */
static void out_release(struct conn *c)
{
	if (!c->out.iovcnt && c->out_next.iovcnt &&
	    !dev_dma_ordered(c->srv->dev)) {
		struct conn_out t = c->out;
		c->out = c->out_next;
		c->out_next = t;
	}
}

int conn_flush(struct conn *c)
{
	for (;;) {
		out_release(c);
		int r = conn_flush_on(c->sock, &c->out);
		if (r != 1 || !c->out_next.iovcnt ||
		    dev_dma_ordered(c->srv->dev))
			return r;
	}
}

int conn_flush_on(int sock, struct conn_out *o)
{
	while (o->iovcnt) {
		ssize_t n = send_some(sock, o->iov + o->first, o->iovcnt,
				      o->fds, o->nfds);
		if (n < 0) {
			out_clear(o);
			return (int)n;
		}
		if (n == 0)
			return 0;
		for (unsigned i = 0; i < o->nfds; i++)
			close_fd(&o->fds[i]);
		o->nfds = 0;
		advance(o->iov, &o->first, &o->iovcnt, (size_t)n);
	}
	out_clear(o);
	return 1;
}

void conn_out_kick(struct conn *c)
{
	if (!c->dead && !c->out.iovcnt && c->out_next.iovcnt &&
	    conn_flush(c) < 0)
		conn_kill(c, "cannot send a reply");
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int conn_flush_wait(struct conn *c, int timeout_ms)
{
	return conn_flush_wait_on(c->sock, &c->out, timeout_ms);
}

int conn_flush_wait_on(int sock, struct conn_out *o, int timeout_ms)
{
	int64_t deadline = timeout_ms < 0 ? -1 : mono_ms() + timeout_ms;
	for (;;) {
		int r = conn_flush_on(sock, o);
		if (r)
			return r < 0 ? r : 0;
		int t = -1;
		if (deadline >= 0) {
			int64_t left = deadline - mono_ms();
			if (left <= 0)
				return -ETIMEDOUT;
			t = (int)MIN(left, 1000000);
		}
		struct pollfd p = { .fd = sock, .events = POLLOUT };
		if (poll(&p, 1, t) < 0 && errno != EINTR)
			return -errno;
	}
}
