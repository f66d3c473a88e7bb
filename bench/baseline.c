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
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"

struct peer {
	int fd;                  /* socket, or the eventfd we read */
	int fd2;                 /* the eventfd we write */
	uint8_t *big;            /* 1 MiB, for the transfer */
	int other;               /* the parent's end, closed in the child */
};

/* Without the parent's end closed here, its close() would be no EOF. */
static void peer_start(struct peer *p)
{
	if (p->other >= 0)
		close(p->other);
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

	for (;;) {
		if (read(p->fd, &v, sizeof(v)) != sizeof(v))
			return -EIO;
		if (v >= EVENTFD_STOP)
			return 0;
		if (write(p->fd2, &one, sizeof(one)) != sizeof(one))
			return -EIO;
	}
}

static int peer_xfer(void *arg)
{
	struct peer *p = arg;
	uint8_t req[BENCH_SMALL_MSG];

	peer_start(p);
	while (bench_read_full(p->fd, req, sizeof(req)) == 0)
		if (bench_write_full(p->fd, p->big, BENCH_MIB) < 0)
			return -EIO;
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

struct copy_ctx {
	uint8_t *src, *dst;
};

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

/* ---- one baseline: a peer on the server CPU, measured from here ----- */

static int socket_baseline(const struct bench_opts *o, int server_cpu,
			   int (*peer_fn)(void *), bench_fn fn, size_t iters,
			   uint8_t *big, struct meas *out)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	struct peer child = { .fd = sv[1], .fd2 = -1, .big = big,
			      .other = sv[0] };
	pid_t pid = bench_fork(server_cpu, peer_fn, &child);
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		return pid;
	}
	struct peer self = { .fd = sv[0], .fd2 = -1, .big = big, .other = -1 };
	int r = bench_measure(o, fn, &self, iters, out);
	close(sv[0]);               /* EOF ends the peer */
	int w = bench_reap(pid);
	return r < 0 ? r : w;
}

static int eventfd_baseline(const struct bench_opts *o, int server_cpu,
			    struct meas *out)
{
	int ping = eventfd(0, EFD_CLOEXEC), pong = eventfd(0, EFD_CLOEXEC);
	int r = -errno;

	if (ping < 0 || pong < 0)
		goto out;
	struct peer child = { .fd = ping, .fd2 = pong, .other = -1 };
	pid_t pid = bench_fork(server_cpu, peer_eventfd, &child);
	if (pid < 0) {
		r = pid;
		goto out;
	}
	struct peer self = { .fd = ping, .fd2 = pong, .other = -1 };
	r = bench_measure(o, run_eventfd, &self, o->lat_iters, out);
	uint64_t stop = EVENTFD_STOP;
	if (write(ping, &stop, sizeof(stop)) != sizeof(stop))
		kill(pid, SIGKILL);
	int w = bench_reap(pid);
	if (!r)
		r = w;
out:
	if (ping >= 0)
		close(ping);
	if (pong >= 0)
		close(pong);
	return r;
}

static uint8_t *alloc_mib(uint8_t fill)
{
	uint8_t *p = aligned_alloc(4096, BENCH_MIB);
	if (p)
		memset(p, fill, BENCH_MIB);   /* faulted in before timing */
	return p;
}

int bench_baselines(const struct bench_opts *o, int client_cpu,
		    int server_cpu, struct meas base[BASE_COUNT])
{
	uint8_t *a = alloc_mib(0x5a), *b = alloc_mib(0xa5);
	int r = -ENOMEM;

	memset(base, 0, sizeof(*base) * BASE_COUNT);
	if (!a || !b)
		goto out;
	r = bench_pin(0, client_cpu);
	if (r < 0)
		goto out;
	base[BASE_PINGPONG].err = socket_baseline(o, server_cpu, peer_pingpong,
						  run_pingpong, o->lat_iters,
						  NULL, &base[BASE_PINGPONG]);
	base[BASE_EVENTFD].err = eventfd_baseline(o, server_cpu,
						  &base[BASE_EVENTFD]);
	struct copy_ctx cc = { .src = a, .dst = b };
	base[BASE_MEMCPY].err = bench_measure(o, run_memcpy, &cc, o->bw_iters,
					      &base[BASE_MEMCPY]);
	/* Each process has its own copy of the buffer after the fork. */
	base[BASE_XFER].err = socket_baseline(o, server_cpu, peer_xfer,
					      run_xfer, o->bw_iters, a,
					      &base[BASE_XFER]);
	base[BASE_STREAM].err = socket_baseline(o, server_cpu, peer_stream,
						run_stream, o->lat_iters / 4 + 1,
						NULL, &base[BASE_STREAM]);

	/* A doorbell costs a message there and an eventfd hop back. */
	struct meas *db = &base[BASE_DOORBELL];
	const struct meas *pp = &base[BASE_PINGPONG], *ev = &base[BASE_EVENTFD];
	db->err = pp->err ? pp->err : ev->err;
	if (!db->err) {
		db->med = pp->med + ev->med / 2;
		db->p99 = pp->p99 + ev->p99 / 2;
		db->samples = pp->samples;
	}
	r = 0;
	for (unsigned i = 0; i < BASE_COUNT; i++)
		if (base[i].err && !r)
			r = base[i].err;
out:
	free(a);
	free(b);
	return r;
}
