/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Seed generator, recording half: real conversations between the client
 * library and a real testdev server, captured by a proxy in between, and
 * turned into inputs for the server and client fuzz targets.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/models.h"
#include "fuzz_common.h"
#include "seedgen.h"
#include "wire/wire.h"

void buf_put(struct buf *b, const void *p, size_t len)
{
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + len)
			cap *= 2;
		b->p = realloc(b->p, cap);
		if (!b->p)
			abort();
		b->cap = cap;
	}
	if (len)
		memcpy(b->p + b->len, p, len);
	b->len += len;
}

void buf_u8(struct buf *b, uint8_t v)
{
	buf_put(b, &v, 1);
}

void buf_u16(struct buf *b, uint16_t v)
{
	buf_put(b, &v, 2);
}

void buf_free(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

void seed_write(const char *dir, const char *name, const struct buf *b)
{
	char path[4096];
	mkdir(dir, 0755);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(b->p, 1, b->len, f) != b->len || fclose(f)) {
		fprintf(stderr, "seedgen: cannot write %s\n", path);
		exit(1);
	}
}

static int fd_kind(int fd, size_t *size)
{
	char path[64], what[128];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(path, what, sizeof(what) - 1);
	what[n > 0 ? n : 0] = 0;
	struct stat st;
	if (strstr(what, "eventfd"))
		return FUZZ_FD_EVENTFD;
	if (strstr(what, "socket"))
		return FUZZ_FD_SOCKET;
	if (fstat(fd, &st) == 0)
		*size = (size_t)st.st_size;
	return FUZZ_FD_MEMFD;
}

struct proxy {
	int a, b;                  /* client side, server side */
	struct recording *rec;
};

static void keep(struct proxy *p, struct vu_rx *rx, bool to_client)
{
	struct recording *r = p->rec;
	r->m = realloc(r->m, (r->n + 1) * sizeof(*r->m));
	struct rec_msg *m = &r->m[r->n++];
	memset(m, 0, sizeof(*m));
	m->to_client = to_client;
	m->hdr = rx->hdr;
	uint32_t len = vu_rx_len(rx);
	m->body = malloc(len + 1u);
	memcpy(m->body, rx->buf, len);
	m->nfds = rx->nfds;
	m->fd_kind = -1;
	for (unsigned i = 0; i < rx->nfds; i++) {
		size_t size = 0;
		int k = fd_kind(rx->fds[i], &size);
		m->fd_kind = m->fd_kind < 0 || m->fd_kind == k ? k : FUZZ_FD_MIXED;
		if (size > m->memsize)
			m->memsize = size;
	}
}

/* Forward complete messages from @from to @to; -1 when @from closed. */
static int pump(struct proxy *p, struct vu_rx *rx, int from, int to,
		bool to_client)
{
	const struct vu_limits lim = { .max_msg_size = (64u << 20) + 4096,
				       .max_fds = 64 };
	for (;;) {
		int r = vu_rx_step(rx, from, &lim);
		if (r < 0)
			return -1;
		if (!r)
			return 0;
		keep(p, rx, to_client);
		struct vu_hdr h = rx->hdr;
		struct iovec iov = { rx->buf, vu_rx_len(rx) };
		vu_send(to, &h, &iov, 1, rx->fds, rx->nfds, 5000);
		vu_rx_release(rx);
	}
}

static void *proxy_thread(void *arg)
{
	struct proxy *p = arg;
	struct vu_rx ra, rb;
	vu_rx_init(&ra);
	vu_rx_init(&rb);
	bool a_open = true, b_open = true;
	while (a_open && b_open) {
		struct pollfd pf[2] = { { .fd = p->a, .events = POLLIN },
					{ .fd = p->b, .events = POLLIN } };
		if (poll(pf, 2, 10000) <= 0)
			break;
		if (pf[0].revents && pump(p, &ra, p->a, p->b, false) < 0)
			a_open = false;
		if (pf[1].revents && pump(p, &rb, p->b, p->a, true) < 0)
			b_open = false;
	}
	shutdown(p->a, SHUT_RDWR);
	shutdown(p->b, SHUT_RDWR);
	vu_rx_fini(&ra);
	vu_rx_fini(&rb);
	return NULL;
}

struct served_dev {
	struct uvfio_server *srv;
};

static void *server_thread(void *arg)
{
	struct served_dev *s = arg;
	uvfio_server_run(s->srv);
	return NULL;
}

void record(void (*session)(int sock, void *arg), void *arg,
	    const struct uvfio_server_opts *srv_opts, struct recording *out)
{
	memset(out, 0, sizeof(*out));
	void *state;
	struct uvfio_dev *dev = uvfio_model_testdev.create(&state);
	struct served_dev s = { .srv = dev ? uvfio_server_new(dev, srv_opts) : NULL };
	int ca[2], cb[2];
	if (!s.srv || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ca) ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, cb) ||
	    uvfio_server_adopt_fd(s.srv, cb[1]) < 0) {
		fprintf(stderr, "seedgen: cannot set up a recording\n");
		exit(1);
	}
	struct proxy p = { .a = ca[1], .b = cb[0], .rec = out };
	pthread_t ts, tp;
	pthread_create(&ts, NULL, server_thread, &s);
	pthread_create(&tp, NULL, proxy_thread, &p);
	session(ca[0], arg);
	pthread_join(tp, NULL);
	pthread_join(ts, NULL);
	close(ca[1]);
	close(cb[0]);
	uvfio_server_free(s.srv);
	uvfio_model_testdev.destroy(state);
}

void recording_free(struct recording *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->m[i].body);
	free(r->m);
	memset(r, 0, sizeof(*r));
}

static unsigned memsize_class(size_t size)
{
	for (unsigned i = 0; i < 4; i++)
		if (size <= fuzz_memfd_sizes[i])
			return i;
	return 3;
}

void rec_to_server_seed(const struct recording *r, uint8_t cfg,
			struct buf *out)
{
	buf_u8(out, cfg);
	bool first = true;
	for (size_t i = 0; i < r->n; i++) {
		const struct rec_msg *m = &r->m[i];
		if (m->to_client)
			continue;
		if (first) {          /* VERSION: the target sends its own */
			first = false;
			continue;
		}
		unsigned n = m->nfds > 6 ? 7 : m->nfds;
		unsigned kind = m->fd_kind < 0 ? 0 : (unsigned)m->fd_kind;
		buf_u8(out, (uint8_t)(n | kind << 3 | memsize_class(m->memsize) << 5));
		buf_put(out, &m->hdr, sizeof(m->hdr));
		buf_put(out, m->body, m->hdr.msg_size - sizeof(m->hdr));
	}
}

static uint8_t client_fd_class(const struct rec_msg *m)
{
	if (!m->nfds)
		return 0;
	switch (m->fd_kind) {
	case FUZZ_FD_SOCKET:
		return 4;
	case FUZZ_FD_EVENTFD:
		return 5;
	default:
		if (m->nfds > 1)
			return 6;
		return m->memsize <= 4096 ? 1 : m->memsize <= (64 << 10) ? 2 : 3;
	}
}

void client_record(struct buf *out, uint8_t ctl, const void *p, size_t len)
{
	if (len > 0xffff)
		len = 0xffff;   /* a big read: its data cut short */
	buf_u8(out, ctl);
	buf_u16(out, (uint16_t)len);
	buf_put(out, p, len);
}

void rec_to_client_seed(const struct recording *r, uint8_t cfg,
			struct buf *out, client_hook hook, void *arg)
{
	buf_u8(out, cfg);
	for (size_t i = 0; i < r->n; i++) {
		const struct rec_msg *m = &r->m[i];
		if (!m->to_client)
			continue;
		if (hook && hook(i, m, out, arg))
			continue;
		uint32_t len = m->hdr.msg_size - (uint32_t)sizeof(m->hdr);
		uint8_t ctl = (uint8_t)(client_fd_class(m) << 3);
		const void *body = m->body;
		if ((m->hdr.flags & VU_F_TYPE_MASK) == VU_F_TYPE_COMMAND) {
			ctl |= 3;
			if (m->hdr.command == VU_CMD_DMA_WRITE)
				ctl |= 4;
			if (m->hdr.flags & VU_F_NO_REPLY)
				ctl |= 0x40;
		} else if (m->hdr.flags & VU_F_ERROR) {
			ctl |= 1;
			len = 4;
			body = &m->hdr.error;
		}
		client_record(out, ctl, body, len);
	}
}
