/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "wire/wire.h"

#define FD_SPACE_MAX 1024u

void vu_rx_init(struct vu_rx *rx)
{
	memset(rx, 0, sizeof(*rx));
}

void vu_rx_release(struct vu_rx *rx)
{
	for (unsigned i = 0; i < rx->nfds; i++)
		close_fd(&rx->fds[i]);
	rx->nfds = 0;
	rx->got = 0;
	rx->complete = false;
	rx->fds_overflow = false;
	rx->sunk = false;
	/* Do not keep a huge buffer around after one huge message. */
	if (rx->cap > (4u << 20)) {
		free(rx->buf);
		rx->buf = NULL;
		rx->cap = 0;
	}
}

void vu_rx_fini(struct vu_rx *rx)
{
	vu_rx_release(rx);
	free(rx->buf);
	free(rx->fds);
	memset(rx, 0, sizeof(*rx));
}

/* Move the fds of one recvmsg into @rx, closing any beyond its room. */
static void take_fds(struct vu_rx *rx, struct msghdr *mh, unsigned max_fds)
{
	if (mh->msg_flags & MSG_CTRUNC)
		rx->fds_overflow = true;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		const unsigned char *p = CMSG_DATA(c);
		for (size_t i = 0; i < n; i++) {
			int fd;
			memcpy(&fd, p + i * sizeof(int), sizeof(fd));
			if (rx->nfds >= max_fds || rx->nfds >= rx->fd_cap) {
				rx->fds_overflow = true;
				close(fd);
				continue;
			}
			rx->fds[rx->nfds++] = fd;
		}
	}
}

static int ensure_fd_cap(struct vu_rx *rx, unsigned want)
{
	if (want > FD_SPACE_MAX)
		want = FD_SPACE_MAX;
	if (rx->fd_cap >= want)
		return 0;
	int *n = realloc(rx->fds, want * sizeof(int));
	if (!n)
		return -ENOMEM;
	rx->fds = n;
	rx->fd_cap = want;
	return 0;
}

static int ensure_buf(struct vu_rx *rx, size_t want)
{
	if (rx->cap >= want)
		return 0;
	size_t cap = rx->cap ? rx->cap : 4096;
	while (cap < want)
		cap *= 2;
	uint8_t *n = realloc(rx->buf, cap);
	if (!n)
		return -ENOMEM;
	rx->buf = n;
	rx->cap = cap;
	return 0;
}

/* The reply the owner set a sink for, so its data goes straight there. */
static bool sink_matches(const struct vu_rx *rx)
{
	const struct vu_rx_sink *s = rx->sink;

	return s && (rx->hdr.flags & (VU_F_TYPE_MASK | VU_F_ERROR)) ==
		    VU_F_TYPE_REPLY &&
	       rx->hdr.msg_id == s->msg_id && rx->hdr.command == s->command &&
	       (size_t)rx->hdr.msg_size - sizeof(struct vu_hdr) ==
		    (size_t)s->skip + s->len;
}

/* Where the rest of the message goes: the header, rx->buf, the sink. */
static unsigned rx_iov(struct vu_rx *rx, struct iovec iov[2])
{
	const size_t hsz = sizeof(struct vu_hdr);

	if (rx->got < hsz) {
		iov[0].iov_base = (uint8_t *)&rx->hdr + rx->got;
		iov[0].iov_len = hsz - rx->got;
		return 1;
	}
	size_t off = rx->got - hsz, left = rx->hdr.msg_size - rx->got;
	size_t skip = rx->sunk ? rx->sink->skip : SIZE_MAX;
	if (off < skip) {
		iov[0].iov_base = rx->buf + off;
		iov[0].iov_len = rx->sunk ? skip - off : left;
		if (!rx->sunk)
			return 1;
		iov[1].iov_base = rx->sink->buf;
		iov[1].iov_len = rx->sink->len;
		return 2;
	}
	iov[0].iov_base = (uint8_t *)rx->sink->buf + (off - skip);
	iov[0].iov_len = left;
	return 1;
}

static int rx_step(struct vu_rx *rx, int sock, const struct vu_limits *lim,
		   bool wait)
{
	if (rx->complete)
		return 1;
	/* One slot more than allowed, so an excess is detected, not hidden. */
	unsigned fd_room = lim->max_fds + 1;
	int r = ensure_fd_cap(rx, fd_room);
	if (r < 0)
		return r;
	union {
		char buf[CMSG_SPACE(sizeof(int) * FD_SPACE_MAX)];
		struct cmsghdr align;
	} ctl;
	/*
	 * Waiting, the kernel fills all that is asked in one call; what is
	 * asked never goes past the end of this message either way.
	 */
	int flags = MSG_CMSG_CLOEXEC | (wait ? MSG_WAITALL : MSG_DONTWAIT);

	for (;;) {
		struct iovec iov[2];
		const size_t hsz = sizeof(struct vu_hdr);
		if (rx->got >= hsz && rx->got == rx->hdr.msg_size) {
			rx->complete = true;
			return 1;
		}
		struct msghdr mh = {
			.msg_iov = iov,
			.msg_iovlen = rx_iov(rx, iov),
			.msg_control = ctl.buf,
			.msg_controllen = CMSG_SPACE(sizeof(int) *
						     MIN(fd_room, FD_SPACE_MAX)),
		};
		/*
		 * A message's fds travel with its first bytes (one sendmsg
		 * per message), so they come with the header.  The payload
		 * is read with recv(), without the msghdr round trip; fds a
		 * peer attached to a later part of a message are closed by
		 * the kernel, never handed to this message or the next.
		 */
		size_t want = iov[0].iov_len +
			      (mh.msg_iovlen == 2 ? iov[1].iov_len : 0);
		bool payload = rx->got >= hsz && mh.msg_iovlen == 1;
		ssize_t n = payload ? recv(sock, iov[0].iov_base, iov[0].iov_len,
					   flags) :
				      recvmsg(sock, &mh, flags);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* Waiting, EAGAIN is SO_RCVTIMEO running out. */
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -errno;
		}
		if (!payload)
			take_fds(rx, &mh, lim->max_fds);
		if (n == 0)
			return -ECONNRESET;
		rx->got += (size_t)n;
		if (rx->got == hsz) {
			/* Validate the size before a single payload byte is read. */
			if (rx->hdr.msg_size < hsz ||
			    rx->hdr.msg_size > lim->max_msg_size)
				return -EMSGSIZE;
			rx->sunk = sink_matches(rx);
			r = ensure_buf(rx, (rx->sunk ? rx->sink->skip :
					    rx->hdr.msg_size - hsz) + 1);
			if (r < 0)
				return r;
			if (rx->hdr.msg_size == hsz) {
				rx->complete = true;
				rx->buf[0] = 0;
				return 1;
			}
		} else if (rx->got > hsz && rx->got == rx->hdr.msg_size) {
			/* A NUL after the payload keeps string parsing safe. */
			rx->buf[rx->sunk ? rx->sink->skip : rx->got - hsz] = 0;
			rx->complete = true;
			return 1;
		}
		/*
		 * Waiting, a short read is SO_RCVTIMEO running out with some
		 * bytes in (or a signal, or fds ending a chunk): the caller
		 * looks at its deadline, which a peer that trickles a byte
		 * now and then must not push back for ever.
		 */
		if (wait && (size_t)n < want)
			return 0;
	}
}

int vu_rx_step(struct vu_rx *rx, int sock, const struct vu_limits *lim)
{
	return rx_step(rx, sock, lim, false);
}

int vu_rx_wait(struct vu_rx *rx, int sock, const struct vu_limits *lim)
{
	return rx_step(rx, sock, lim, true);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int t = -1;
		if (deadline >= 0) {
			int64_t left = deadline - now_ms();
			if (left <= 0)
				return -ETIMEDOUT;
			t = left > 1000000 ? 1000000 : (int)left;
		}
		struct pollfd p = { .fd = fd, .events = events };
		int r = poll(&p, 1, t);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			continue;
		return 0;
	}
}

int vu_recv(struct vu_rx *rx, int sock, const struct vu_limits *lim,
	    int timeout_ms)
{
	int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	for (;;) {
		int r = vu_rx_step(rx, sock, lim);
		if (r != 0)
			return r < 0 ? r : 0;
		r = wait_fd(sock, POLLIN, deadline);
		if (r < 0)
			return r;
	}
}

/*
 * Wait for room to send on @sock, meanwhile polling w->fd for input and
 * calling w->readable when it has some (see vu_send_watch()).
 */
static int wait_send_watch(int sock, int64_t deadline, struct vu_send_watch *w)
{
	for (;;) {
		int t = -1;
		if (deadline >= 0) {
			int64_t left = deadline - now_ms();
			if (left <= 0)
				return -ETIMEDOUT;
			t = left > 1000000 ? 1000000 : (int)left;
		}
		struct pollfd p[2] = {
			{ .fd = sock, .events = POLLOUT },
			{ .fd = w->fd, .events = POLLIN },
		};
		nfds_t n = 1;
		if (w->fd == sock)
			p[0].events |= POLLIN;
		else if (w->fd >= 0)
			n = 2;
		int r = poll(p, n, t);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		short in = w->fd < 0 ? 0 : w->fd == sock ?
			   (short)(p[0].revents & POLLIN) : p[1].revents;
		if (in) {
			r = w->readable(w->opaque);
			if (r < 0)
				return r;
			if (r > 0)
				w->fd = -1;
		}
		/* Room, or an error that the next send reports. */
		if (p[0].revents & (POLLOUT | POLLERR | POLLHUP | POLLNVAL))
			return 0;
	}
}

int vu_send(int sock, struct vu_hdr *hdr, const struct iovec *iov,
	    unsigned iovcnt, const int *fds, unsigned nfds, int timeout_ms)
{
	return vu_send_watch(sock, hdr, iov, iovcnt, fds, nfds, timeout_ms,
			     NULL);
}

int vu_send_watch(int sock, struct vu_hdr *hdr, const struct iovec *iov,
		  unsigned iovcnt, const int *fds, unsigned nfds,
		  int timeout_ms, struct vu_send_watch *w)
{
	struct iovec v[8];
	if (iovcnt > ARRAY_SIZE(v) - 1 || nfds > FD_SPACE_MAX)
		return -EINVAL;
	size_t total = sizeof(*hdr);
	v[0].iov_base = hdr;
	v[0].iov_len = sizeof(*hdr);
	unsigned cnt = 1;
	for (unsigned i = 0; i < iovcnt; i++) {
		if (!iov[i].iov_len)
			continue;
		v[cnt++] = iov[i];
		total += iov[i].iov_len;
	}
	if (total > UINT32_MAX)
		return -EMSGSIZE;
	hdr->msg_size = (uint32_t)total;
	/* A small message goes out as one buffer by send(): no msghdr. */
	uint8_t flat[256];
	if (!nfds && cnt > 1 && total <= sizeof(flat)) {
		size_t off = 0;
		for (unsigned i = 0; i < cnt; i++) {
			memcpy(flat + off, v[i].iov_base, v[i].iov_len);
			off += v[i].iov_len;
		}
		v[0].iov_base = flat;
		v[0].iov_len = total;
		cnt = 1;
	}

	union {
		char buf[CMSG_SPACE(sizeof(int) * 64)];
		struct cmsghdr align;
	} ctl;
	char *ctlbuf = ctl.buf;
	char *heap = NULL;
	size_t ctllen = 0;
	if (nfds) {
		ctllen = CMSG_SPACE(sizeof(int) * nfds);
		if (ctllen > sizeof(ctl.buf)) {
			heap = calloc(1, ctllen);
			if (!heap)
				return -ENOMEM;
			ctlbuf = heap;
		} else {
			memset(ctlbuf, 0, ctllen);
		}
	}

	/* The clock is read only if the socket is full: rarely. */
	int64_t deadline = INT64_MIN;
	struct iovec *cur = v;
	unsigned left_iov = cnt;
	bool fds_sent = false;
	int ret = 0;
	while (left_iov) {
		struct msghdr mh = { .msg_iov = cur, .msg_iovlen = left_iov };
		if (nfds && !fds_sent) {
			mh.msg_control = ctlbuf;
			mh.msg_controllen = ctllen;
			struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
			memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
		}
		ssize_t n = left_iov == 1 && !mh.msg_control ?
			    send(sock, cur->iov_base, cur->iov_len,
				 MSG_NOSIGNAL | MSG_DONTWAIT) :
			    sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (deadline == INT64_MIN)
					deadline = timeout_ms < 0 ? -1 :
						   now_ms() + timeout_ms;
				ret = w && w->fd >= 0 ?
				      wait_send_watch(sock, deadline, w) :
				      wait_fd(sock, POLLOUT, deadline);
				if (ret < 0)
					break;
				continue;
			}
			ret = -errno;
			break;
		}
		fds_sent = true;
		size_t done = (size_t)n;
		while (left_iov && done >= cur->iov_len) {
			done -= cur->iov_len;
			cur++;
			left_iov--;
		}
		if (left_iov && done) {
			cur->iov_base = (uint8_t *)cur->iov_base + done;
			cur->iov_len -= done;
		}
	}
	free(heap);
	return ret;
}

int vu_send_error(int sock, const struct vu_hdr *req, int err, int timeout_ms)
{
	struct vu_hdr h = {
		.msg_id = req->msg_id,
		.command = req->command,
		.flags = VU_F_TYPE_REPLY | VU_F_ERROR,
		.error = (uint32_t)(err < 0 ? -err : err),
	};
	return vu_send(sock, &h, NULL, 0, NULL, 0, timeout_ms);
}
