/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "vu_peer.h"
#include "testutil.h"

int64_t peer_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool fd_open(int fd)
{
	return fd >= 0 && fcntl(fd, F_GETFD) >= 0;
}

static int wait_in(int sock, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - peer_now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd p = { .fd = sock, .events = POLLIN };
		int r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r > 0)
			return 0;
	}
}

/* Read exactly @len bytes (fds of the first read into @m). */
static int read_full(int sock, void *buf, size_t len, struct pmsg *m,
		     int64_t deadline)
{
	size_t got = 0;
	while (got < len) {
		int r = wait_in(sock, deadline);
		if (r < 0)
			return r;
		union {
			char b[CMSG_SPACE(sizeof(int) * PMSG_MAX_FDS)];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = { (uint8_t *)buf + got, len - got };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = ctl.b,
				     .msg_controllen = sizeof(ctl.b) };
		ssize_t n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			return -errno;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c;
		     c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level != SOL_SOCKET ||
			    c->cmsg_type != SCM_RIGHTS)
				continue;
			size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t i = 0; i < k; i++) {
				int fd;
				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int),
				       sizeof(fd));
				if (m->nfds < PMSG_MAX_FDS)
					m->fds[m->nfds++] = fd;
			}
		}
		if (n == 0)
			return -ECONNRESET;
		got += (size_t)n;
	}
	return 0;
}

int peer_recv(int sock, struct pmsg *m, int timeout_ms)
{
	int64_t deadline = peer_now_ms() + timeout_ms;
	memset(m, 0, sizeof(*m));
	int r = read_full(sock, &m->hdr, sizeof(m->hdr), m, deadline);
	if (r < 0)
		return r;
	if (m->hdr.msg_size < sizeof(m->hdr))
		return -EPROTO;
	m->len = m->hdr.msg_size - (uint32_t)sizeof(m->hdr);
	m->data = calloc(1, (size_t)m->len + 1);
	if (!m->data)
		return -ENOMEM;
	return read_full(sock, m->data, m->len, m, deadline);
}

void pmsg_free(struct pmsg *m)
{
	for (unsigned i = 0; i < m->nfds; i++)
		close(m->fds[i]);
	m->nfds = 0;
	free(m->data);
	m->data = NULL;
}

int peer_send_raw(int sock, const void *buf, size_t len, const int *fds,
		  unsigned nfds)
{
	size_t done = 0;
	bool first = true;
	do {
		union {
			char b[CMSG_SPACE(sizeof(int) * PMSG_MAX_FDS)];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = { (uint8_t *)buf + done, len - done };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		if (first && nfds) {
			if (nfds > PMSG_MAX_FDS)
				return -EINVAL;
			int r = scm_attach(&mh, ctl.b, sizeof(ctl.b), fds, nfds);
			if (r < 0)
				return r;
		}
		ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		first = false;
		done += (size_t)n;
	} while (done < len);
	return 0;
}

int peer_send(int sock, struct vu_hdr h, const void *p, size_t len,
	      const int *fds, unsigned nfds)
{
	h.msg_size = (uint32_t)(sizeof(h) + len);
	uint8_t *buf = malloc(sizeof(h) + len);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, &h, sizeof(h));
	if (len)
		memcpy(buf + sizeof(h), p, len);
	int r = peer_send_raw(sock, buf, sizeof(h) + len, fds, nfds);
	free(buf);
	return r;
}

int peer_reply(int sock, const struct pmsg *req, const void *p, size_t len,
	       const int *fds, unsigned nfds)
{
	struct vu_hdr h = { .msg_id = req->hdr.msg_id,
			    .command = req->hdr.command,
			    .flags = VU_F_TYPE_REPLY };
	return peer_send(sock, h, p, len, fds, nfds);
}

int peer_reply_error(int sock, const struct pmsg *req, uint32_t err)
{
	struct vu_hdr h = { .msg_id = req->hdr.msg_id,
			    .command = req->hdr.command,
			    .flags = VU_F_TYPE_REPLY | VU_F_ERROR,
			    .error = err };
	return peer_send(sock, h, NULL, 0, NULL, 0);
}

bool peer_quiet(int sock, int ms)
{
	struct pollfd p = { .fd = sock, .events = POLLIN };
	int r;
	do {
		r = poll(&p, 1, ms);
	} while (r < 0 && errno == EINTR);
	return r == 0;
}
