/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * uvfio-bench baselines: what two processes get from the kernel with no
 * protocol at all, measured on the same CPUs as the uvfio figures.  The
 * peer uses plain blocking read()/write(), one call per message.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"
#include "devices/models.h"

/* One end of a baseline: the measuring side's, or its peer's. */
struct peer {
	int fd;                  /* the socket, or the eventfd the peer reads */
	int fd2;                 /* the eventfd the peer writes, or -1 */
	uint8_t *big;            /* measuring side: 1 MiB to receive into */
	uint8_t *win;            /* peer copy: 1 MiB shared with the peer */
	volatile uint64_t *copy_ns;  /* peer copy: the last copy's time */
};

/*
 * Only our own fds stay open here: else the parent's end of a socket,
 * held by another helper too, would never reach its peer as EOF.
 */
static void peer_start(struct peer *p)
{
	int keep[2] = { p->fd, p->fd2 };

	bench_keep_fds(keep, 2);
}

/* ---- the peer processes -------------------------------------------- */

static int peer_pingpong(void *arg)
{
	struct peer *p = arg;
	uint8_t buf[BENCH_SMALL_MSG];

	peer_start(p);
	while (bench_read_full(p->fd, buf, sizeof(buf)) == 0)
		if (bench_write_full(p->fd, buf, sizeof(buf)) < 0)
			return -EIO;
	return 0;
}

#define EVENTFD_STOP (1ull << 32)

static int peer_eventfd(void *arg)
{
	struct peer *p = arg;
	uint64_t v, one = 1;

	peer_start(p);
	for (;;) {
		if (read(p->fd, &v, sizeof(v)) != sizeof(v))
			return -EIO;
		if (v >= EVENTFD_STOP)
			return 0;
		if (write(p->fd2, &one, sizeof(one)) != sizeof(one))
			return -EIO;
	}
}

/*
 * One-way eventfd writes: the peer blocks in read() as a device's loop
 * waits for its doorbell, and acks a batch when the value it read holds
 * the batch's last write (EFD_BATCH_END, larger than any batch of ones).
 */
#define EFD_BATCH_END (1ull << 16)

static int peer_efd_stream(void *arg)
{
	struct peer *p = arg;
	uint64_t v, one = 1;

	peer_start(p);
	for (;;) {
		if (read(p->fd, &v, sizeof(v)) != sizeof(v))
			return -EIO;
		if (v >= EVENTFD_STOP)
			return 0;
		if (v >= EFD_BATCH_END &&
		    write(p->fd2, &one, sizeof(one)) != sizeof(one))
			return -EIO;
	}
}

static int peer_xfer(void *arg)
{
	struct peer *p = arg;
	uint8_t req[BENCH_SMALL_MSG];
	uint8_t *big = malloc(BENCH_MIB);

	peer_start(p);
	if (!big)
		return -ENOMEM;
	memset(big, 0x5a, BENCH_MIB);
	while (bench_read_full(p->fd, req, sizeof(req)) == 0)
		if (bench_write_full(p->fd, big, BENCH_MIB) < 0)
			return -EIO;
	free(big);
	return 0;
}

/*
 * A device's DMA without uvfio: on each request, copy 1 MiB out of
 * memory shared with the requester and time the copy, as the bench
 * times testdev's DMA inside the server.  The copy goes into a buffer
 * allocated as testdev allocates its own (calloc, 64 MiB), whose
 * placement costs a few percent against page-aligned buffers.
 */
static int peer_copy(void *arg)
{
	struct peer *p = arg;
	uint8_t req;
	uint8_t *dst = calloc(1, TESTDEV_DMA_BUF_SIZE);

	peer_start(p);
	if (!dst)
		return -ENOMEM;
	memset(dst, 0, BENCH_MIB);
	while (bench_read_full(p->fd, &req, 1) == 0) {
		uint64_t t0 = bench_now_ns();
		memcpy(dst, p->win, BENCH_MIB);
		__asm__ volatile("" : : "r"(dst) : "memory");
		*p->copy_ns = bench_now_ns() - t0;
		if (bench_write_full(p->fd, &req, 1) < 0)
			return -EIO;
	}
	free(dst);
	return 0;
}

static int peer_stream(void *arg)
{
	struct peer *p = arg;
	uint8_t msg[BENCH_POSTED_MSG];

	peer_start(p);
	while (bench_read_full(p->fd, msg, sizeof(msg)) == 0)
		if (msg[0] && bench_write_full(p->fd, msg, 1) < 0)
			return -EIO;
	return 0;
}

/* ---- the measuring side ------------------------------------------- */

static int run_pingpong(void *ctx, double *ns, size_t n)
{
	struct peer *p = ctx;
	uint8_t buf[BENCH_SMALL_MSG] = { 1 };

	for (size_t i = 0; i < n; i++) {
		uint64_t t0 = bench_now_ns();
		int r = bench_write_full(p->fd, buf, sizeof(buf));
		if (!r)
			r = bench_read_full(p->fd, buf, sizeof(buf));
		if (r < 0)
			return r;
		ns[i] = (double)(bench_now_ns() - t0);
	}
	return 0;
}

static int run_eventfd(void *ctx, double *ns, size_t n)
{
	struct peer *p = ctx;   /* fd: we write, fd2: we read */
	uint64_t one = 1, v;

	for (size_t i = 0; i < n; i++) {
		uint64_t t0 = bench_now_ns();
		if (write(p->fd, &one, sizeof(one)) != sizeof(one) ||
		    read(p->fd2, &v, sizeof(v)) != sizeof(v))
			return -EIO;
		ns[i] = (double)(bench_now_ns() - t0);
	}
	return 0;
}

static int run_efd_stream(void *ctx, double *ns, size_t n)
{
	struct peer *p = ctx;   /* fd: we write, fd2: the peer's acks */
	uint64_t one = 1, end = EFD_BATCH_END, v;

	for (size_t i = 0; i < n; i++) {
		uint64_t t0 = bench_now_ns();
		for (unsigned j = 0; j < BENCH_BATCH; j++) {
			const uint64_t *w = j == BENCH_BATCH - 1 ? &end : &one;
			if (write(p->fd, w, sizeof(*w)) != sizeof(*w))
				return -EIO;
		}
		if (read(p->fd2, &v, sizeof(v)) != sizeof(v))
			return -EIO;
		ns[i] = (double)(bench_now_ns() - t0) / BENCH_BATCH;
	}
	return 0;
}

struct copy_ctx {
	uint8_t *src, *dst;
	int cpu, home;               /* where to copy, where to return */
};

/* The copy runs where the device's DMA copies run: the server's CPU. */
static int memcpy_setup(void *ctx)
{
	struct copy_ctx *c = ctx;

	if (c->cpu == c->home)
		return 0;
	int r = bench_pin(0, c->cpu);
	if (!r)
		memcpy(c->dst, c->src, BENCH_MIB);   /* warm this CPU's caches */
	return r;
}

static void memcpy_teardown(void *ctx)
{
	struct copy_ctx *c = ctx;

	if (c->cpu != c->home)
		bench_pin(0, c->home);
}

static int run_memcpy(void *ctx, double *ns, size_t n)
{
	struct copy_ctx *c = ctx;

	for (size_t i = 0; i < n; i++) {
		uint64_t t0 = bench_now_ns();
		memcpy(c->dst, c->src, BENCH_MIB);
		/* The copy is observable: the compiler must do it here. */
		__asm__ volatile("" : : "r"(c->dst) : "memory");
		ns[i] = (double)(bench_now_ns() - t0);
	}
	return 0;
}

static int run_xfer(void *ctx, double *ns, size_t n)
{
	struct peer *p = ctx;
	uint8_t req[BENCH_SMALL_MSG] = { 1 };

	for (size_t i = 0; i < n; i++) {
		uint64_t t0 = bench_now_ns();
		int r = bench_write_full(p->fd, req, sizeof(req));
		if (!r)
			r = bench_read_full(p->fd, p->big, BENCH_MIB);
		if (r < 0)
			return r;
		ns[i] = (double)(bench_now_ns() - t0);
	}
	return 0;
}

static int run_copy(void *ctx, double *ns, size_t n)
{
	struct peer *p = ctx;
	uint8_t req = 1;

	for (size_t i = 0; i < n; i++) {
		int r = bench_write_full(p->fd, &req, 1);
		if (!r)
			r = bench_read_full(p->fd, &req, 1);
		if (r < 0)
			return r;
		ns[i] = (double)*p->copy_ns;
	}
	return 0;
}

static int run_stream(void *ctx, double *ns, size_t n)
{
	struct peer *p = ctx;
	uint8_t msg[BENCH_POSTED_MSG] = { 0 };

	for (size_t i = 0; i < n; i++) {
		uint64_t t0 = bench_now_ns();
		for (unsigned j = 0; j < BENCH_BATCH; j++) {
			msg[0] = j == BENCH_BATCH - 1;   /* the last asks for an ack */
			int r = bench_write_full(p->fd, msg, sizeof(msg));
			if (r < 0)
				return r;
		}
		int r = bench_read_full(p->fd, msg, 1);
		if (r < 0)
			return r;
		ns[i] = (double)(bench_now_ns() - t0) / BENCH_BATCH;
	}
	return 0;
}

/* ---- the peers, alive for a whole placement -------------------------- */

enum { PEER_PINGPONG, PEER_EVENTFD, PEER_XFER, PEER_STREAM, PEER_COPY,
       PEER_EFD_STREAM, PEER_COUNT };

struct baselines {
	pid_t pid[PEER_COUNT];
	struct peer self[PEER_COUNT];    /* our ends */
	struct copy_ctx copy;
	uint8_t *a, *b, *xbuf;
	uint8_t *shared;             /* peer copy: window + time, MAP_SHARED */
};

static pid_t socket_peer(int cpu, int (*fn)(void *), struct peer *self)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	struct peer child = { .fd = sv[1], .fd2 = -1, .win = self->win,
			      .copy_ns = self->copy_ns };
	pid_t pid = bench_fork(cpu, fn, &child);
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		return pid;
	}
	self->fd = sv[0];
	return pid;
}

static pid_t eventfd_peer(int cpu, int (*fn)(void *), struct peer *self)
{
	self->fd = eventfd(0, EFD_CLOEXEC);    /* we write, it reads */
	self->fd2 = eventfd(0, EFD_CLOEXEC);   /* it writes, we read */
	if (self->fd < 0 || self->fd2 < 0)
		return -errno;
	struct peer child = { .fd = self->fd, .fd2 = self->fd2 };
	return bench_fork(cpu, fn, &child);
}

static uint8_t *alloc_mib(uint8_t fill)
{
	uint8_t *p = aligned_alloc(4096, BENCH_MIB);
	if (p)
		memset(p, fill, BENCH_MIB);   /* faulted in before timing */
	return p;
}

void baselines_stop(struct baselines *b)
{
	if (!b)
		return;
	for (unsigned i = 0; i < PEER_COUNT; i++) {
		struct peer *p = &b->self[i];
		if ((i == PEER_EVENTFD || i == PEER_EFD_STREAM) && b->pid[i] > 0) {
			uint64_t stop = EVENTFD_STOP;
			if (write(p->fd, &stop, sizeof(stop)) != sizeof(stop))
				kill(b->pid[i], SIGKILL);
		}
		if (p->fd >= 0)
			close(p->fd);          /* EOF ends a socket peer */
		if (p->fd2 >= 0)
			close(p->fd2);
		if (b->pid[i] > 0)
			bench_reap(b->pid[i]);
	}
	free(b->a);
	free(b->b);
	free(b->xbuf);
	if (b->shared)
		munmap(b->shared, BENCH_MIB + 4096);
	free(b);
}

static void item(struct bench_item *it, const char *name, bench_fn fn,
		 void *ctx, size_t iters, struct meas *out)
{
	*it = (struct bench_item){ .name = name, .fn = fn, .ctx = ctx,
				   .iters = iters, .out = out };
}

int baselines_start(struct baselines **out, const struct bench_opts *o,
		    int client_cpu, int server_cpu, struct meas base[BASE_COUNT],
		    struct bench_item items[BASE_COUNT])
{
	struct baselines *b = calloc(1, sizeof(*b));

	*out = b;
	memset(base, 0, sizeof(*base) * BASE_COUNT);
	for (unsigned i = 0; i < BASE_COUNT; i++)
		items[i] = (struct bench_item){ .name = bench_base_desc[i].key,
						.out = &base[i] };
	if (!b)
		return -ENOMEM;
	for (unsigned i = 0; i < PEER_COUNT; i++)
		b->self[i] = (struct peer){ .fd = -1, .fd2 = -1 };
	b->a = alloc_mib(0x5a);
	b->b = alloc_mib(0xa5);
	b->xbuf = alloc_mib(0);
	if (!b->a || !b->b || !b->xbuf)
		return -ENOMEM;
	/* Forked before any thread exists: the peers copy only this one. */
	b->pid[PEER_PINGPONG] = socket_peer(server_cpu, peer_pingpong,
					    &b->self[PEER_PINGPONG]);
	b->pid[PEER_EVENTFD] = eventfd_peer(server_cpu, peer_eventfd,
					    &b->self[PEER_EVENTFD]);
	b->pid[PEER_EFD_STREAM] = eventfd_peer(server_cpu, peer_efd_stream,
					       &b->self[PEER_EFD_STREAM]);
	b->pid[PEER_XFER] = socket_peer(server_cpu, peer_xfer,
					&b->self[PEER_XFER]);
	b->pid[PEER_STREAM] = socket_peer(server_cpu, peer_stream,
					  &b->self[PEER_STREAM]);
	/* Like a DMA window: memory both processes map, written by us. */
	b->shared = mmap(NULL, BENCH_MIB + 4096, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (b->shared == MAP_FAILED) {
		b->shared = NULL;
		b->pid[PEER_COPY] = -ENOMEM;
	} else {
		memset(b->shared, 0x3c, BENCH_MIB);
		b->self[PEER_COPY].win = b->shared;
		b->self[PEER_COPY].copy_ns = (uint64_t *)(b->shared + BENCH_MIB);
		b->pid[PEER_COPY] = socket_peer(server_cpu, peer_copy,
						&b->self[PEER_COPY]);
	}
	b->self[PEER_XFER].big = b->xbuf;
	b->copy = (struct copy_ctx){ .src = b->a, .dst = b->b,
				     .cpu = server_cpu, .home = client_cpu };

	item(&items[BASE_PINGPONG], "raw ping-pong", run_pingpong,
	     &b->self[PEER_PINGPONG], o->lat_iters, &base[BASE_PINGPONG]);
	item(&items[BASE_EVENTFD], "raw eventfd", run_eventfd,
	     &b->self[PEER_EVENTFD], o->lat_iters, &base[BASE_EVENTFD]);
	item(&items[BASE_MEMCPY], "memcpy", run_memcpy, &b->copy, o->bw_iters,
	     &base[BASE_MEMCPY]);
	items[BASE_MEMCPY].setup = memcpy_setup;
	items[BASE_MEMCPY].teardown = memcpy_teardown;
	item(&items[BASE_XFER], "raw 1 MiB", run_xfer, &b->self[PEER_XFER],
	     o->bw_iters, &base[BASE_XFER]);
	item(&items[BASE_STREAM], "raw stream", run_stream,
	     &b->self[PEER_STREAM], o->lat_iters / 4 + 1, &base[BASE_STREAM]);
	item(&items[BASE_PEERCOPY], "raw peer copy", run_copy,
	     &b->self[PEER_COPY], o->bw_iters, &base[BASE_PEERCOPY]);
	item(&items[BASE_EFD_STREAM], "raw eventfd stream", run_efd_stream,
	     &b->self[PEER_EFD_STREAM], o->lat_iters / 4 + 1,
	     &base[BASE_EFD_STREAM]);
	/* items[BASE_DOORBELL] is derived, not measured: no fn. */

	static const int peer_of[PEER_COUNT] = { BASE_PINGPONG, BASE_EVENTFD,
						 BASE_XFER, BASE_STREAM,
						 BASE_PEERCOPY, BASE_EFD_STREAM };
	int r = 0;
	for (unsigned i = 0; i < PEER_COUNT; i++) {
		if (b->pid[i] >= 0)
			continue;
		base[peer_of[i]].err = (int)b->pid[i];
		items[peer_of[i]].fn = NULL;
		b->pid[i] = 0;
		r = r ? r : base[peer_of[i]].err;
	}
	return r;
}

/* A doorbell costs a message there and an eventfd hop back. */
void baselines_derive(struct meas base[BASE_COUNT])
{
	struct meas *db = &base[BASE_DOORBELL];
	const struct meas *pp = &base[BASE_PINGPONG], *ev = &base[BASE_EVENTFD];

	memset(db, 0, sizeof(*db));
	db->err = pp->err ? pp->err : ev->err;
	if (db->err)
		return;
	db->med = pp->med + ev->med / 2;
	db->p99 = pp->p99 + ev->p99 / 2;
	db->samples = pp->samples;
}
