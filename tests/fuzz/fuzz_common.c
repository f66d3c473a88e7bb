/* SPDX-License-Identifier: BSD-3-Clause */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_common.h"

#define FD_MAX 4096
#define SOCK_BUF (64 << 20)

const size_t fuzz_memfd_sizes[4] = { 0, 4096, 64 << 10, 2 << 20 };

static uint8_t fd_before[FD_MAX / 8];

void fuzz_die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "FUZZ FINDING: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

/* The set of open fds below FD_MAX, as a bitmap. */
static int fd_snapshot(uint8_t map[FD_MAX / 8])
{
	memset(map, 0, FD_MAX / 8);
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	int self = dirfd(d);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		int fd = atoi(e->d_name);
		if (fd != self && fd >= 0 && fd < FD_MAX)
			map[fd / 8] |= (uint8_t)(1u << (fd % 8));
	}
	closedir(d);
	return 0;
}

void fuzz_fd_init(void)
{
	if (fd_snapshot(fd_before) < 0)
		fuzz_die("cannot read /proc/self/fd");
}

void fuzz_fd_check(const char *target)
{
	uint8_t now[FD_MAX / 8];
	if (fd_snapshot(now) < 0)
		fuzz_die("cannot read /proc/self/fd");
	for (int fd = 0; fd < FD_MAX; fd++) {
		uint8_t bit = (uint8_t)(1u << (fd % 8));
		if ((now[fd / 8] & bit) && !(fd_before[fd / 8] & bit)) {
			char path[64], what[128] = "?";
			snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
			ssize_t n = readlink(path, what, sizeof(what) - 1);
			what[n > 0 ? n : 1] = 0;
			fuzz_die("%s: fd %d (%s) leaked by the iteration", target,
				 fd, what);
		}
	}
}

static void big_buffers(int fd)
{
	int v = SOCK_BUF;
	/* SO_SNDBUFFORCE needs CAP_NET_ADMIN; else take what is allowed. */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
	v = SOCK_BUF;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
}

int fuzz_socketpair(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	big_buffers(sv[0]);
	big_buffers(sv[1]);
	return 0;
}

int fuzz_send(int sock, const void *buf, size_t len, const int *fds,
	      unsigned nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 32)];
		struct cmsghdr align;
	} ctl;
	const uint8_t *p = buf;
	if (nfds > 32)
		nfds = 32;
	while (len) {
		struct iovec iov = { (void *)p, len };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		if (nfds) {
			memset(&ctl, 0, sizeof(ctl));
			mh.msg_control = ctl.buf;
			mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
			struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
			memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
		}
		ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		nfds = 0;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

long fuzz_drain(int sock)
{
	long total = 0;
	static uint8_t buf[1 << 16];
	for (;;) {
		union {
			char buf[CMSG_SPACE(sizeof(int) * 64)];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = { buf, sizeof(buf) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = ctl.buf,
				     .msg_controllen = sizeof(ctl.buf) };
		ssize_t n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return total;
			return -errno;
		}
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
				close(fd);
			}
		}
		if (n == 0)
			return total ? total : -ECONNRESET;
		total += n;
	}
}

static int make_memfd(size_t size)
{
	int fd = memfd_create("uvfio-fuzz", MFD_CLOEXEC);
	if (fd >= 0 && size && ftruncate(fd, (off_t)size) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

unsigned fuzz_make_fds(enum fuzz_fd_kind kind, unsigned n, size_t memsize,
		       int *fds)
{
	unsigned made = 0;
	for (unsigned i = 0; i < n; i++) {
		int fd = -1;
		switch (kind) {
		case FUZZ_FD_EVENTFD:
			fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
			break;
		case FUZZ_FD_MEMFD:
			fd = make_memfd(memsize);
			break;
		case FUZZ_FD_SOCKET: {
			int sv[2];
			if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				       sv) == 0) {
				close(sv[1]);
				fd = sv[0];
			}
			break;
		}
		case FUZZ_FD_MIXED:
			fd = i & 1 ? make_memfd(memsize) :
				     eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
			break;
		}
		if (fd < 0)
			break;
		fds[made++] = fd;
	}
	return made;
}

void fuzz_close_fds(int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}
