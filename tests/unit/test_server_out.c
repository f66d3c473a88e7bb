/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The server's output path (src/server/out.c) on a real socketpair whose
 * send buffer is made small: a reply the socket takes only in part is
 * kept and finished later, intact even when the caller reuses its
 * buffer; a reply that comes meanwhile waits behind it, whole and in
 * order, and a third is refused; fds travel with the first byte of their
 * own message, also when not a byte could go at once; a peer that is
 * gone is -EPIPE (never SIGPIPE) and leaves no fd behind; and at the
 * loop's level a client that does not read its replies stalls only
 * itself and then gets every reply, in order.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "srv_fixture.h"
#include "testutil.h"

#define BIG (256u << 10)

static int setup(void **state)
{
	struct sfix *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	sfix_init(f, NULL);
	sfix_negotiate(f, "{\"capabilities\":{\"max_msg_fds\":16}}", false);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct sfix *f = *state;
	sfix_fini(f);
	free(f);
	return 0;
}

/* Make the server's end of the socket take little at a time. */
static void small_sndbuf(struct sfix *f)
{
	int v = 4096;
	assert_int_equal(setsockopt(sfix_conn(f)->sock, SOL_SOCKET, SO_SNDBUF,
				    &v, sizeof(v)), 0);
}

static void fill_pattern(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + seed + (i >> 9));
}

/* A reader thread: the next @n messages on @sock. */
struct reader {
	pthread_t t;
	int sock;
	unsigned n;
	struct pmsg m[8];
	int r[8];
};

static void *reader_main(void *arg)
{
	struct reader *rd = arg;
	for (unsigned i = 0; i < rd->n; i++) {
		rd->r[i] = peer_recv(rd->sock, &rd->m[i], 5000);
		if (rd->r[i] < 0)
			break;
	}
	return NULL;
}

static void reader_start(struct reader *rd, int sock, unsigned n)
{
	memset(rd, 0, sizeof(*rd));
	for (unsigned i = 0; i < 8; i++)
		rd->r[i] = -1;
	rd->sock = sock;
	rd->n = n;
	assert_int_equal(pthread_create(&rd->t, NULL, reader_main, rd), 0);
}

static void reader_join(struct reader *rd)
{
	pthread_join(rd->t, NULL);
}

static void reader_free(struct reader *rd)
{
	for (unsigned i = 0; i < rd->n; i++)
		pmsg_free(&rd->m[i]);
}

/* Flush c->out and whatever is held behind it, up to 5 s. */
static void flush_all(struct conn *c)
{
	int64_t deadline = peer_now_ms() + 5000;
	for (;;) {
		int r = conn_flush(c);
		assert_true(r >= 0);
		if (r == 1 && !c->out_next.iovcnt)
			return;
		assert_true(peer_now_ms() < deadline);
		struct pollfd p = { .fd = c->sock, .events = POLLOUT };
		poll(&p, 1, 100);
	}
}

static struct vu_hdr reply_hdr(uint16_t id, uint16_t cmd)
{
	return (struct vu_hdr){ .msg_id = id, .command = cmd,
				.flags = VU_F_TYPE_REPLY };
}

static void test_partial_reply_kept_and_finished_intact(void **state)
{
	struct sfix *f = *state;
	struct conn *c = sfix_conn(f);
	small_sndbuf(f);
	uint8_t *want = malloc(BIG), *buf = malloc(BIG);
	assert_non_null(want);
	assert_non_null(buf);
	fill_pattern(want, BIG, 3);
	memcpy(buf, want, BIG);
	struct vu_hdr h = reply_hdr(7, VU_CMD_REGION_READ);
	struct iovec iov[2] = { { buf, 100 }, { buf + 100, BIG - 100 } };
	assert_int_equal(conn_send(c, &h, iov, 2, 0, NULL, 0), 0);
	/* The socket took part of it: the rest waits. */
	assert_true(conn_out_pending(c));
	/* The caller's buffer is free again once conn_send returned. */
	memset(buf, 0xee, BIG);
	free(buf);

	struct reader rd;
	reader_start(&rd, f->peer, 1);
	flush_all(c);
	reader_join(&rd);
	assert_int_equal(rd.r[0], 0);
	assert_int_equal(rd.m[0].hdr.msg_id, 7);
	assert_int_equal(rd.m[0].hdr.command, VU_CMD_REGION_READ);
	assert_int_equal(rd.m[0].hdr.flags, VU_F_TYPE_REPLY);
	assert_int_equal(rd.m[0].hdr.msg_size, 16 + BIG);
	assert_int_equal(rd.m[0].len, BIG);
	assert_memory_equal(rd.m[0].data, want, BIG);
	assert_int_equal(rd.m[0].nfds, 0);
	assert_false(conn_out_pending(c));
	/* Nothing more than that one message. */
	assert_true(peer_quiet(f->peer, 20));
	reader_free(&rd);
	free(want);
}

static void test_second_reply_waits_whole_third_refused(void **state)
{
	struct sfix *f = *state;
	struct conn *c = sfix_conn(f);
	small_sndbuf(f);
	uint8_t *a = malloc(BIG);
	assert_non_null(a);
	fill_pattern(a, BIG, 1);
	struct vu_hdr ha = reply_hdr(1, VU_CMD_REGION_READ);
	struct iovec ia = { a, BIG };
	assert_int_equal(conn_send(c, &ha, &ia, 1, 0, NULL, 0), 0);
	assert_true(conn_out_pending(c));

	uint8_t b[300];
	fill_pattern(b, sizeof(b), 2);
	struct vu_hdr hb = reply_hdr(2, VU_CMD_DEVICE_GET_INFO);
	struct iovec ib = { b, sizeof(b) };
	assert_int_equal(conn_send(c, &hb, &ib, 1, 0, NULL, 0), 0);
	memset(b, 0, sizeof(b));   /* kept as a copy */

	/* One waits, one is held: no room for a third. */
	struct vu_hdr hc = reply_hdr(3, VU_CMD_DEVICE_RESET);
	assert_int_equal(conn_send(c, &hc, NULL, 0, 0, NULL, 0), -EBUSY);

	struct reader rd;
	reader_start(&rd, f->peer, 2);
	flush_all(c);
	reader_join(&rd);
	assert_int_equal(rd.r[0], 0);
	assert_int_equal(rd.r[1], 0);
	/* In order, never interleaved: each arrives whole. */
	assert_int_equal(rd.m[0].hdr.msg_id, 1);
	assert_int_equal(rd.m[0].len, BIG);
	assert_memory_equal(rd.m[0].data, a, BIG);
	assert_int_equal(rd.m[1].hdr.msg_id, 2);
	assert_int_equal(rd.m[1].hdr.command, VU_CMD_DEVICE_GET_INFO);
	uint8_t want_b[300];
	fill_pattern(want_b, sizeof(want_b), 2);
	assert_int_equal(rd.m[1].len, sizeof(want_b));
	assert_memory_equal(rd.m[1].data, want_b, sizeof(want_b));
	assert_true(peer_quiet(f->peer, 20));
	reader_free(&rd);
	free(a);

	/* Both out: the next goes straight away. */
	assert_int_equal(conn_send(c, &hc, NULL, 0, 0, NULL, 0), 0);
	assert_false(conn_out_pending(c));
	struct pmsg m;
	assert_int_equal(peer_recv(f->peer, &m, 1000), 0);
	assert_int_equal(m.hdr.msg_id, 3);
	assert_int_equal(m.len, 0);
	pmsg_free(&m);
}

/* Same file: a write to one is read from the other. */
static void assert_same_eventfd(int a, int b)
{
	uint64_t v = 5;
	assert_int_equal(write(a, &v, sizeof(v)), sizeof(v));
	v = 0;
	assert_int_equal(read(b, &v, sizeof(v)), sizeof(v));
	assert_int_equal(v, 5);
}

static void test_fds_travel_with_their_own_message(void **state)
{
	struct sfix *f = *state;
	struct conn *c = sfix_conn(f);
	int base = count_open_fds();
	small_sndbuf(f);
	uint8_t *a = malloc(BIG);
	assert_non_null(a);
	fill_pattern(a, BIG, 9);

	/* A: big, with fd ea; partly sent, so ea went with its first byte. */
	int ea = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int ea_keep = dup(ea);
	struct vu_hdr ha = reply_hdr(1, VU_CMD_DEVICE_GET_REGION_INFO);
	struct iovec ia = { a, BIG };
	assert_int_equal(conn_send(c, &ha, &ia, 1, 0, &ea, 1), 0);
	assert_true(conn_out_pending(c));
	close(ea);

	/* B: held behind A with fd eb, which the caller closes at once:
	 * what is held keeps its own reference. */
	int eb = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int eb_keep = dup(eb);
	struct vu_hdr hb = reply_hdr(2, VU_CMD_DEVICE_GET_REGION_INFO);
	uint32_t body = 0xabcd;
	struct iovec ib = { &body, sizeof(body) };
	assert_int_equal(conn_send(c, &hb, &ib, 1, 0, &eb, 1), 0);
	close(eb);

	struct reader rd;
	reader_start(&rd, f->peer, 2);
	flush_all(c);
	reader_join(&rd);
	assert_int_equal(rd.r[0], 0);
	assert_int_equal(rd.r[1], 0);
	assert_int_equal(rd.m[0].hdr.msg_id, 1);
	assert_int_equal(rd.m[0].nfds, 1);
	assert_same_eventfd(rd.m[0].fds[0], ea_keep);
	assert_int_equal(rd.m[1].hdr.msg_id, 2);
	assert_int_equal(rd.m[1].nfds, 1);
	assert_same_eventfd(rd.m[1].fds[0], eb_keep);
	reader_free(&rd);
	free(a);
	close(ea_keep);
	close(eb_keep);
	/* The server keeps no copy of either. */
	assert_int_equal(count_open_fds(), base);
}

static void test_fd_kept_when_not_a_byte_went(void **state)
{
	struct sfix *f = *state;
	struct conn *c = sfix_conn(f);
	int base = count_open_fds();
	small_sndbuf(f);
	/* Fill the socket behind the server's back. */
	size_t junk = 0;
	uint8_t pad[1024];
	memset(pad, 0x5a, sizeof(pad));
	for (;;) {
		ssize_t n = send(c->sock, pad, sizeof(pad), MSG_DONTWAIT);
		if (n < 0) {
			assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
			break;
		}
		junk += (size_t)n;
	}
	assert_true(junk > 0);

	int e = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int keep = dup(e);
	struct vu_hdr h = reply_hdr(4, VU_CMD_DEVICE_GET_REGION_INFO);
	uint64_t body = 0x1122334455667788ull;
	struct iovec iov = { &body, sizeof(body) };
	assert_int_equal(conn_send(c, &h, &iov, 1, 0, &e, 1), 0);
	assert_true(conn_out_pending(c));
	close(e);

	/* Drain the junk: no fd comes with it. */
	uint8_t *sink = malloc(junk);
	size_t got = 0;
	while (got < junk) {
		ssize_t n = recv(f->peer, sink + got, junk - got, 0);
		assert_true(n > 0);
		got += (size_t)n;
	}
	free(sink);
	assert_int_equal(conn_flush(c), 1);
	struct pmsg m;
	assert_int_equal(peer_recv(f->peer, &m, 1000), 0);
	assert_int_equal(m.hdr.msg_id, 4);
	assert_int_equal(m.len, sizeof(body));
	assert_memory_equal(m.data, &body, sizeof(body));
	assert_int_equal(m.nfds, 1);
	assert_same_eventfd(m.fds[0], keep);
	pmsg_free(&m);
	close(keep);
	assert_int_equal(count_open_fds(), base);
}

static void test_peer_gone_epipe_no_fd_left(void **state)
{
	struct sfix *f = *state;
	struct conn *c = sfix_conn(f);
	int base = count_open_fds();
	small_sndbuf(f);
	uint8_t *a = calloc(1, BIG);
	assert_non_null(a);
	struct vu_hdr ha = reply_hdr(1, VU_CMD_REGION_READ);
	struct iovec ia = { a, BIG };
	assert_int_equal(conn_send(c, &ha, &ia, 1, 0, NULL, 0), 0);
	/* Held behind it, with a dup of an eventfd. */
	int e = eventfd(0, EFD_CLOEXEC);
	struct vu_hdr hb = reply_hdr(2, VU_CMD_DEVICE_GET_REGION_INFO);
	assert_int_equal(conn_send(c, &hb, NULL, 0, 0, &e, 1), 0);
	close(e);
	assert_int_equal(count_open_fds(), base + 1);   /* the held dup */

	close(f->peer);
	f->peer = -1;
	/* No SIGPIPE (we are still here), an error, and nothing kept. */
	assert_int_equal(conn_flush(c), -EPIPE);
	assert_false(conn_out_pending(c));
	conn_out_free(c);
	assert_int_equal(count_open_fds(), base - 1);   /* f->peer closed */
	assert_int_equal(conn_send(c, &hb, NULL, 0, 0, NULL, 0), -EPIPE);
	free(a);
}

static void test_dead_conn_sends_nothing(void **state)
{
	struct sfix *f = *state;
	struct conn *c = sfix_conn(f);
	c->dead = true;
	struct vu_hdr h = reply_hdr(1, VU_CMD_DEVICE_RESET);
	assert_int_equal(conn_send(c, &h, NULL, 0, 0, NULL, 0), -EPIPE);
	assert_true(peer_quiet(f->peer, 20));
	c->dead = false;
	/* At most 3 parts after the header. */
	uint8_t x = 0;
	struct iovec iov[4] = { { &x, 1 }, { &x, 1 }, { &x, 1 }, { &x, 1 } };
	assert_int_equal(conn_send(c, &h, iov, 4, 0, NULL, 0), -EINVAL);
	assert_true(peer_quiet(f->peer, 20));
}

static void test_flush_wait_times_out(void **state)
{
	struct sfix *f = *state;
	struct conn *c = sfix_conn(f);
	small_sndbuf(f);
	uint8_t *a = calloc(1, BIG);
	assert_non_null(a);
	struct vu_hdr h = reply_hdr(1, VU_CMD_REGION_READ);
	struct iovec iov = { a, BIG };
	assert_int_equal(conn_send(c, &h, &iov, 1, 0, NULL, 0), 0);
	int64_t t0 = peer_now_ms();
	assert_int_equal(conn_flush_wait(c, 150), -ETIMEDOUT);
	int64_t dt = peer_now_ms() - t0;
	assert_true(dt >= 150);
	assert_true(dt < 3000);
	/* Still kept: a reader gets it whole after all. */
	struct reader rd;
	reader_start(&rd, f->peer, 1);
	assert_int_equal(conn_flush_wait(c, 5000), 0);
	reader_join(&rd);
	assert_int_equal(rd.r[0], 0);
	assert_int_equal(rd.m[0].len, BIG);
	reader_free(&rd);
	free(a);
}

/*
 * Through the loop: a client sends many REGION_READs and reads nothing.
 * Each dispatch returns at once, the server holds one reply at most,
 * and when the client reads, every reply comes, in order, right.
 */
#define NREQ 24
#define RLEN (48u << 10)

struct collect {
	int sock;
	unsigned n;
	int r;
	uint16_t ids[NREQ];
	bool data_ok[NREQ];
	const uint8_t *bar0;
};

static void *collect_main(void *arg)
{
	struct collect *k = arg;
	for (k->n = 0; k->n < NREQ; k->n++) {
		struct pmsg m;
		k->r = peer_recv(k->sock, &m, 5000);
		if (k->r < 0)
			return NULL;
		k->ids[k->n] = m.hdr.msg_id;
		const struct vu_region_rw *rw = (const void *)m.data;
		k->data_ok[k->n] =
			m.len == sizeof(*rw) + RLEN && rw->count == RLEN &&
			memcmp(rw->data, k->bar0 + rw->offset, RLEN) == 0;
		pmsg_free(&m);
	}
	return NULL;
}

static void test_client_not_reading_stalls_only_itself(void **state)
{
	struct sfix *f = *state;
	fill_pattern(f->bar0, SFIX_BAR0_SIZE, 5);
	uint16_t ids[NREQ];
	for (unsigned i = 0; i < NREQ; i++) {
		struct vu_region_rw rq = { .offset = (i * 512) % (SFIX_BAR0_SIZE - RLEN),
					   .region = 0, .count = RLEN };
		ids[i] = sfix_send(f, VU_CMD_REGION_READ, 0, &rq, sizeof(rq),
				   NULL, 0);
	}
	for (int k = 0; k < 50; k++) {
		int64_t t0 = peer_now_ms();
		assert_int_equal(uvfio_server_dispatch(f->srv), 0);
		assert_true(peer_now_ms() - t0 < 1000);
	}
	struct conn *c = sfix_conn(f);
	assert_non_null(c);
	/* Waiting for room, not reading more requests meanwhile. */
	assert_true(conn_out_pending(c));
	assert_true(c->events == EPOLLOUT);
	assert_true(c->nmsgs < NREQ + 1);

	struct collect k = { .sock = f->peer, .bar0 = f->bar0 };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, collect_main, &k), 0);
	int64_t deadline = peer_now_ms() + 10000;
	while (peer_now_ms() < deadline && sfix_conn(f) &&
	       sfix_conn(f)->nmsgs < NREQ + 1)
		sfix_pump(f, 10);
	pthread_join(t, NULL);
	assert_int_equal(k.r, 0);
	assert_int_equal(k.n, NREQ);
	for (unsigned i = 0; i < NREQ; i++) {
		assert_int_equal(k.ids[i], ids[i]);
		assert_true(k.data_ok[i]);
	}
	assert_non_null(sfix_conn(f));
}

/* A client that leaves before reading its reply is dropped, quietly. */
static void test_client_gone_before_reply_is_dropped(void **state)
{
	struct sfix *f = *state;
	small_sndbuf(f);
	struct vu_region_rw rq = { .offset = 0, .region = 0, .count = RLEN };
	sfix_send(f, VU_CMD_REGION_READ, 0, &rq, sizeof(rq), NULL, 0);
	sfix_pump(f, 20);
	assert_true(uvfio_server_has_client(f->srv));
	assert_true(conn_out_pending(sfix_conn(f)));
	close(f->peer);
	f->peer = -1;
	sfix_pump(f, 200);
	assert_false(uvfio_server_has_client(f->srv));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_partial_reply_kept_and_finished_intact),
		T(test_second_reply_waits_whole_third_refused),
		T(test_fds_travel_with_their_own_message),
		T(test_fd_kept_when_not_a_byte_went),
		T(test_peer_gone_epipe_no_fd_left),
		T(test_dead_conn_sends_nothing),
		T(test_flush_wait_times_out),
		T(test_client_not_reading_stalls_only_itself),
		T(test_client_gone_before_reply_is_dropped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
