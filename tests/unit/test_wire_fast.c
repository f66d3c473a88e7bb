/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The framing's fast paths, over a real socketpair: a reply's data
 * received straight into a caller's buffer (sink) and only for the reply
 * it names, messages assembled while sleeping in recvmsg (vu_rx_wait)
 * with SO_RCVTIMEO bounding the wait, small messages sent as one buffer,
 * a message with fds sent by one sendmsg (the peer gets header, payload
 * and fds from one recvmsg), and fds a peer attaches past a message's
 * first bytes never handed on.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "wire/wire.h"
#include "testutil.h"

struct pair {
	int a, b;   /* a sends, b receives */
};

static int setup_pair(void **state)
{
	struct pair *p = calloc(1, sizeof(*p));
	int sv[2];
	if (!p || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		free(p);
		return -1;
	}
	p->a = sv[0];
	p->b = sv[1];
	*state = p;
	return 0;
}

static int teardown_pair(void **state)
{
	struct pair *p = *state;
	close(p->a);
	close(p->b);
	free(p);
	return 0;
}

static const struct vu_limits lim = { .max_msg_size = 1u << 21, .max_fds = 4 };

#define DATA_LEN 5000u

/* A REGION_READ-like reply: a 16-byte struct, then DATA_LEN bytes. */
static size_t make_reply(uint8_t *msg, uint16_t id, uint16_t cmd,
			 uint32_t flags)
{
	struct vu_hdr h = { .msg_id = id, .command = cmd,
			    .msg_size = 16 + 16 + DATA_LEN,
			    .flags = VU_F_TYPE_REPLY | flags };
	memcpy(msg, &h, sizeof(h));
	for (size_t i = 16; i < h.msg_size; i++)
		msg[i] = (uint8_t)(i * 13 + 5);
	return h.msg_size;
}

static void send_all(int sock, const uint8_t *p, size_t len, size_t piece)
{
	while (len) {
		size_t n = len < piece ? len : piece;
		assert_int_equal(send(sock, p, n, MSG_NOSIGNAL), (ssize_t)n);
		p += n;
		len -= n;
	}
}

static int recv_all(struct vu_rx *rx, int sock)
{
	int r;
	while ((r = vu_rx_step(rx, sock, &lim)) == 0)
		;
	return r;
}

/* Send in pieces, receiving as they come: the socket never fills up. */
static int send_recv(struct vu_rx *rx, const struct pair *p,
		     const uint8_t *msg, size_t len, size_t piece)
{
	int r = 0;
	for (size_t off = 0; off < len; off += piece) {
		size_t n = len - off < piece ? len - off : piece;
		assert_int_equal(r, 0);
		send_all(p->a, msg + off, n, n);
		r = vu_rx_step(rx, p->b, &lim);
	}
	return r;
}

static void test_sink_takes_the_named_reply(void **state)
{
	struct pair *p = *state;
	static uint8_t msg[16 + 16 + DATA_LEN];
	static uint8_t dst[DATA_LEN];
	size_t len = make_reply(msg, 7, VU_CMD_REGION_READ, 0);
	struct vu_rx_sink sink = { .msg_id = 7, .command = VU_CMD_REGION_READ,
				   .skip = 16, .buf = dst, .len = DATA_LEN };
	/* Whole, and in pieces that straddle the struct/data boundary. */
	const size_t pieces[] = { len, 1, 7, 20 };
	for (size_t k = 0; k < sizeof(pieces) / sizeof(pieces[0]); k++) {
		struct vu_rx rx;
		vu_rx_init(&rx);
		rx.sink = &sink;
		memset(dst, 0, sizeof(dst));
		assert_int_equal(send_recv(&rx, p, msg, len, pieces[k]), 1);
		assert_true(rx.sunk);
		assert_int_equal(vu_rx_len(&rx), 16 + DATA_LEN);
		assert_memory_equal(rx.buf, msg + 16, 16);
		assert_memory_equal(dst, msg + 32, DATA_LEN);
		vu_rx_release(&rx);
		assert_false(rx.sunk);
		vu_rx_fini(&rx);
	}
}

static void test_sink_ignores_other_messages(void **state)
{
	struct pair *p = *state;
	static uint8_t msg[16 + 16 + DATA_LEN];
	static uint8_t dst[DATA_LEN];
	struct vu_rx_sink sink = { .msg_id = 7, .command = VU_CMD_REGION_READ,
				   .skip = 16, .buf = dst, .len = DATA_LEN };
	/* Another id, another command, an error reply, a command. */
	const struct { uint16_t id, cmd; uint32_t flags; } other[] = {
		{ 8, VU_CMD_REGION_READ, 0 },
		{ 7, VU_CMD_REGION_WRITE, 0 },
		{ 7, VU_CMD_REGION_READ, VU_F_ERROR },
	};
	for (size_t k = 0; k < sizeof(other) / sizeof(other[0]); k++) {
		size_t len = make_reply(msg, other[k].id, other[k].cmd,
					other[k].flags);
		struct vu_rx rx;
		vu_rx_init(&rx);
		rx.sink = &sink;
		memset(dst, 0xee, sizeof(dst));
		send_all(p->a, msg, len, len);
		assert_int_equal(recv_all(&rx, p->b), 1);
		assert_false(rx.sunk);
		assert_memory_equal(rx.buf, msg + 16, 16 + DATA_LEN);
		for (size_t i = 0; i < DATA_LEN; i++)
			assert_int_equal(dst[i], 0xee);
		vu_rx_fini(&rx);
	}
	/* The right reply with a size other than the sink's. */
	struct vu_hdr h = { .msg_id = 7, .command = VU_CMD_REGION_READ,
			    .msg_size = 16 + 16 + 4, .flags = VU_F_TYPE_REPLY };
	memcpy(msg, &h, sizeof(h));
	struct vu_rx rx;
	vu_rx_init(&rx);
	rx.sink = &sink;
	send_all(p->a, msg, h.msg_size, h.msg_size);
	assert_int_equal(recv_all(&rx, p->b), 1);
	assert_false(rx.sunk);
	assert_int_equal(vu_rx_len(&rx), 20);
	vu_rx_fini(&rx);
}

struct slow {
	int sock;
	const uint8_t *msg;
	size_t len;
};

static void *slow_sender(void *arg)
{
	struct slow *s = arg;
	for (size_t i = 0; i < s->len; i += 100) {
		size_t n = s->len - i < 100 ? s->len - i : 100;
		struct timespec ts = { 0, 200000 };
		nanosleep(&ts, NULL);
		if (send(s->sock, s->msg + i, n, MSG_NOSIGNAL) != (ssize_t)n)
			break;
	}
	return NULL;
}

static void test_wait_assembles_and_times_out(void **state)
{
	struct pair *p = *state;
	static uint8_t msg[16 + 16 + DATA_LEN];
	size_t len = make_reply(msg, 3, VU_CMD_REGION_READ, 0);
	struct timeval tv = { .tv_usec = 100000 };
	assert_int_equal(setsockopt(p->b, SOL_SOCKET, SO_RCVTIMEO, &tv,
				    sizeof(tv)), 0);

	/* Trickled in: one call sleeps until the message is whole. */
	struct slow s = { .sock = p->a, .msg = msg, .len = len };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, slow_sender, &s), 0);
	struct vu_rx rx;
	vu_rx_init(&rx);
	int r;
	while ((r = vu_rx_wait(&rx, p->b, &lim)) == 0)
		;
	pthread_join(t, NULL);
	assert_int_equal(r, 1);
	assert_memory_equal(rx.buf, msg + 16, 16 + DATA_LEN);
	vu_rx_release(&rx);

	/* Nothing comes: the wait ends with SO_RCVTIMEO, nothing taken. */
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(vu_rx_wait(&rx, p->b, &lim), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 +
		  (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(ms >= 90);
	assert_int_equal(rx.got, 0);

	/* Half a message, then silence: what came is kept for later. */
	send_all(p->a, msg, 10, 10);
	assert_int_equal(vu_rx_wait(&rx, p->b, &lim), 0);
	assert_int_equal(rx.got, 10);
	send_all(p->a, msg + 10, len - 10, len);
	assert_int_equal(vu_rx_wait(&rx, p->b, &lim), 1);
	assert_memory_equal(rx.buf, msg + 16, 16 + DATA_LEN);
	vu_rx_fini(&rx);
}

/* A small message of several parts goes out whole and in order. */
static void test_small_send_is_whole(void **state)
{
	struct pair *p = *state;
	uint8_t a[16], b[100];
	for (size_t i = 0; i < sizeof(a); i++)
		a[i] = (uint8_t)i;
	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(0x80 | i);
	struct iovec iov[3] = { { a, sizeof(a) }, { NULL, 0 }, { b, sizeof(b) } };
	struct vu_hdr h = { .msg_id = 9, .command = VU_CMD_REGION_WRITE };
	assert_int_equal(vu_send(p->a, &h, iov, 3, NULL, 0, 1000), 0);
	assert_int_equal(h.msg_size, 16 + sizeof(a) + sizeof(b));
	uint8_t got[16 + sizeof(a) + sizeof(b)];
	assert_int_equal(recv(p->b, got, sizeof(got), MSG_DONTWAIT),
			 (ssize_t)sizeof(got));
	assert_memory_equal(got, &h, 16);
	assert_memory_equal(got + 16, a, sizeof(a));
	assert_memory_equal(got + 16 + sizeof(a), b, sizeof(b));
}

/*
 * fds belong to a message's first bytes.  A peer that sends them with a
 * later part of a message: they are closed, not handed to this message
 * or the next, and the next message's own fds still arrive with it.
 */
static void test_fds_past_the_header_are_dropped(void **state)
{
	struct pair *p = *state;
	int base = count_open_fds();
	uint8_t msg[16 + 64];
	struct vu_hdr h = { .msg_id = 1, .command = VU_CMD_DMA_MAP,
			    .msg_size = sizeof(msg) };
	memcpy(msg, &h, sizeof(h));
	memset(msg + 16, 0x11, 64);
	int efd = eventfd(0, EFD_CLOEXEC);
	assert_true(efd >= 0);

	/* The header alone, then the payload with an fd attached. */
	assert_int_equal(send(p->a, msg, 16, 0), 16);
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { msg + 16, 64 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	assert_int_equal(scm_attach(&mh, ctl.buf, sizeof(ctl.buf), &efd, 1), 0);
	assert_int_equal(sendmsg(p->a, &mh, 0), 64);

	/* The next message carries its own fd, properly. */
	struct vu_hdr h2 = { .msg_id = 2, .command = VU_CMD_DMA_MAP };
	struct iovec iov2 = { msg + 16, 64 };
	assert_int_equal(vu_send(p->a, &h2, &iov2, 1, &efd, 1, 1000), 0);
	close(efd);

	struct vu_rx rx;
	vu_rx_init(&rx);
	assert_int_equal(recv_all(&rx, p->b), 1);
	assert_int_equal(rx.hdr.msg_id, 1);
	assert_int_equal(rx.nfds, 0);
	assert_memory_equal(rx.buf, msg + 16, 64);
	vu_rx_release(&rx);
	assert_int_equal(recv_all(&rx, p->b), 1);
	assert_int_equal(rx.hdr.msg_id, 2);
	assert_int_equal(rx.nfds, 1);
	vu_rx_fini(&rx);
	assert_int_equal(count_open_fds(), base);
}

/* One recvmsg of up to @len bytes; the fds it brought into @rfd. */
static ssize_t recv_with_fds(int sock, void *buf, size_t len, int *rfd,
			     unsigned *nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 8)];
		struct cmsghdr align;
	} ctl;
	memset(&ctl, 0, sizeof(ctl));
	struct iovec riov = { buf, len };
	struct msghdr mh = { .msg_iov = &riov, .msg_iovlen = 1,
			     .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf) };
	ssize_t n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	*nfds = 0;
	if (n < 0)
		return n;
	assert_false(mh.msg_flags & (MSG_CTRUNC | MSG_TRUNC));
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		assert_int_equal(c->cmsg_level, SOL_SOCKET);
		assert_int_equal(c->cmsg_type, SCM_RIGHTS);
		unsigned k = (unsigned)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		assert_true(*nfds + k <= 8);
		memcpy(rfd + *nfds, CMSG_DATA(c), k * sizeof(int));
		*nfds += k;
	}
	return n;
}

/*
 * Header, payload and fds leave in one sendmsg: a single recvmsg on the
 * peer returns every byte of the message and both fds, and a recvmsg of
 * the header alone gets the fds with it.  (Sending the header with the
 * fds, then the payload, fails the first; the header, then the payload
 * with the fds, the second.)
 */
static void test_one_sendmsg_with_fds(void **state)
{
	struct pair *p = *state;
	uint8_t payload[100];
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(0x30 + i);
	int fds[2] = { eventfd(0, EFD_CLOEXEC), eventfd(0, EFD_CLOEXEC) };
	assert_true(fds[0] >= 0 && fds[1] >= 0);
	assert_int_equal(eventfd_write(fds[1], 42), 0);
	struct iovec iov[2] = { { payload, 40 }, { payload + 40, 60 } };
	struct vu_hdr h = { .msg_id = 77, .command = VU_CMD_DEVICE_SET_IRQS };
	assert_int_equal(vu_send(p->a, &h, iov, 2, fds, 2, 1000), 0);
	assert_int_equal(h.msg_size, 16 + sizeof(payload));

	uint8_t got[4096];
	int rfd[8];
	unsigned nfds;
	assert_int_equal(recv_with_fds(p->b, got, sizeof(got), rfd, &nfds),
			 16 + sizeof(payload));
	assert_memory_equal(got, &h, 16);
	assert_memory_equal(got + 16, payload, sizeof(payload));
	assert_int_equal(nfds, 2);
	/* The same eventfds, in order: the second holds the 42. */
	eventfd_t v = 0;
	assert_int_equal(eventfd_read(rfd[1], &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(eventfd_write(rfd[0], 5), 0);
	assert_int_equal(eventfd_read(fds[0], &v), 0);
	assert_int_equal(v, 5);
	/* Nothing else was sent. */
	assert_int_equal(recv(p->b, got, sizeof(got), MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
	for (int i = 0; i < 2; i++)
		close(rfd[i]);

	/* Again, read as a receiver does: the header first, fds with it. */
	h.msg_id = 78;
	assert_int_equal(vu_send(p->a, &h, iov, 2, fds, 2, 1000), 0);
	assert_int_equal(recv_with_fds(p->b, got, 16, rfd, &nfds), 16);
	assert_int_equal(nfds, 2);
	assert_memory_equal(got, &h, 16);
	assert_int_equal(recv_with_fds(p->b, got, sizeof(got), rfd + 2, &nfds),
			 sizeof(payload));
	assert_int_equal(nfds, 0);
	assert_memory_equal(got, payload, sizeof(payload));
	for (int i = 0; i < 2; i++) {
		close(rfd[i]);
		close(fds[i]);
	}
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup_pair, teardown_pair)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_sink_takes_the_named_reply),
		T(test_sink_ignores_other_messages),
		T(test_wait_assembles_and_times_out),
		T(test_small_send_is_whole),
		T(test_one_sendmsg_with_fds),
		T(test_fds_past_the_header_are_dropped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
