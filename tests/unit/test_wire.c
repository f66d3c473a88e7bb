/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Framing over a real socketpair: one message per sendmsg with its fds,
 * assembly of messages that arrive in pieces, size limits checked before
 * the payload is read, fd accounting (excess closed, untaken closed on
 * release, never mixed between messages), EOF in the middle of a message.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
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
	if (p->a >= 0)
		close(p->a);
	if (p->b >= 0)
		close(p->b);
	free(p);
	return 0;
}

static const struct vu_limits lim_default = {
	.max_msg_size = 1u << 20, .max_fds = 16,
};

static bool fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/* Inode of @fd, to tell which file a received fd refers to. */
static ino_t fd_ino(int fd)
{
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	return st.st_ino;
}

static int new_memfd(void)
{
	int fd = memfd_create("uvfio-test", MFD_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

/* Send raw bytes with optional fds in one sendmsg. */
static void send_raw(int sock, const void *buf, size_t len, const int *fds,
		     unsigned nfds)
{
	struct iovec iov = { (void *)buf, len };
	union {
		char buf[CMSG_SPACE(sizeof(int) * 64)];
		struct cmsghdr align;
	} ctl;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	assert_true(nfds <= 64);
	assert_int_equal(scm_attach(&mh, ctl.buf, sizeof(ctl.buf), fds,
				    (unsigned)nfds), 0);
	assert_int_equal(sendmsg(sock, &mh, MSG_NOSIGNAL), (ssize_t)len);
}

/* Bytes waiting unread in @sock. */
static int pending_bytes(int sock)
{
	int n = -1;
	assert_int_equal(ioctl(sock, FIONREAD, &n), 0);
	return n;
}

static void test_header_payload_fds_one_message(void **state)
{
	struct pair *p = *state;
	int base = count_open_fds();
	uint8_t payload[100];
	for (unsigned i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 3 + 1);
	int fds[2] = { new_memfd(), new_memfd() };
	struct vu_hdr h = { .msg_id = 0x1234, .command = VU_CMD_DMA_MAP,
			    .flags = VU_F_TYPE_COMMAND };
	struct iovec iov = { payload, sizeof(payload) };
	assert_int_equal(vu_send(p->a, &h, &iov, 1, fds, 2, 1000), 0);
	assert_int_equal(h.msg_size, 16 + sizeof(payload));

	struct vu_rx rx;
	vu_rx_init(&rx);
	assert_int_equal(vu_recv(&rx, p->b, &lim_default, 1000), 0);
	assert_true(rx.complete);
	assert_int_equal(rx.hdr.msg_id, 0x1234);
	assert_int_equal(rx.hdr.command, VU_CMD_DMA_MAP);
	assert_int_equal(rx.hdr.msg_size, 16 + sizeof(payload));
	assert_int_equal(vu_rx_len(&rx), sizeof(payload));
	assert_memory_equal(rx.buf, payload, sizeof(payload));
	/* A NUL after the payload keeps string parsing in bounds. */
	assert_int_equal(rx.buf[sizeof(payload)], 0);
	assert_int_equal(rx.nfds, 2);
	assert_false(rx.fds_overflow);
	assert_int_equal(fd_ino(rx.fds[0]), fd_ino(fds[0]));
	assert_int_equal(fd_ino(rx.fds[1]), fd_ino(fds[1]));
	assert_int_not_equal(fd_ino(fds[0]), fd_ino(fds[1]));
	/* Received fds are close-on-exec. */
	assert_true(fcntl(rx.fds[0], F_GETFD) & FD_CLOEXEC);
	/* Nothing of the message is left in the socket. */
	assert_int_equal(pending_bytes(p->b), 0);
	close(fds[0]);
	close(fds[1]);
	vu_rx_fini(&rx);
	assert_int_equal(count_open_fds(), base);
}

static void test_header_only_message(void **state)
{
	struct pair *p = *state;
	struct vu_hdr req = { .msg_id = 9, .command = VU_CMD_DEVICE_RESET };
	assert_int_equal(vu_send_error(p->a, &req, -EFAULT, 1000), 0);
	struct vu_rx rx;
	vu_rx_init(&rx);
	assert_int_equal(vu_recv(&rx, p->b, &lim_default, 1000), 0);
	assert_int_equal(rx.hdr.msg_size, 16);
	assert_int_equal(vu_rx_len(&rx), 0);
	assert_int_equal(rx.hdr.msg_id, 9);
	assert_int_equal(rx.hdr.command, VU_CMD_DEVICE_RESET);
	assert_int_equal(rx.hdr.flags, VU_F_TYPE_REPLY | VU_F_ERROR);
	assert_int_equal(rx.hdr.error, EFAULT);
	assert_int_equal(rx.nfds, 0);
	vu_rx_fini(&rx);
}

/* Every byte written separately: no message until the last byte. */
static void test_one_byte_at_a_time_same_thread(void **state)
{
	struct pair *p = *state;
	const size_t plen = 300;
	uint8_t msg[16 + 300];
	struct vu_hdr h = { .msg_id = 77, .command = VU_CMD_REGION_WRITE,
			    .msg_size = (uint32_t)sizeof(msg) };
	memcpy(msg, &h, sizeof(h));
	for (size_t i = 0; i < plen; i++)
		msg[16 + i] = (uint8_t)(0xa5 ^ i);
	int fd = new_memfd();
	struct vu_rx rx;
	vu_rx_init(&rx);
	for (size_t i = 0; i < sizeof(msg); i++) {
		/* The fd travels with the first byte, as sendmsg would put it. */
		send_raw(p->a, msg + i, 1, i == 0 ? &fd : NULL, i == 0 ? 1 : 0);
		int r = vu_rx_step(&rx, p->b, &lim_default);
		if (i + 1 < sizeof(msg)) {
			assert_int_equal(r, 0);
			assert_false(rx.complete);
		} else {
			assert_int_equal(r, 1);
		}
	}
	assert_true(rx.complete);
	assert_int_equal(rx.hdr.msg_id, 77);
	assert_int_equal(vu_rx_len(&rx), plen);
	assert_memory_equal(rx.buf, msg + 16, plen);
	assert_int_equal(rx.nfds, 1);
	assert_int_equal(fd_ino(rx.fds[0]), fd_ino(fd));
	close(fd);
	vu_rx_fini(&rx);
}

struct slow_writer {
	int sock;
	const uint8_t *buf;
	size_t len;
};

static void *slow_writer_fn(void *arg)
{
	struct slow_writer *w = arg;
	for (size_t i = 0; i < w->len; i++) {
		if (write(w->sock, w->buf + i, 1) != 1)
			break;
		if (i % 64 == 0)
			usleep(100);
	}
	return NULL;
}

/* The same from another thread, racing with the receiver. */
static void test_one_byte_at_a_time_thread(void **state)
{
	struct pair *p = *state;
	enum { PLEN = 4096 };
	uint8_t *msg = malloc(16 + PLEN);
	assert_non_null(msg);
	struct vu_hdr h = { .msg_id = 5, .command = VU_CMD_REGION_WRITE,
			    .msg_size = 16 + PLEN };
	memcpy(msg, &h, sizeof(h));
	for (size_t i = 0; i < PLEN; i++)
		msg[16 + i] = (uint8_t)(i * 13);
	struct slow_writer w = { p->a, msg, 16 + PLEN };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, slow_writer_fn, &w), 0);

	struct vu_rx rx;
	vu_rx_init(&rx);
	int steps_incomplete = 0, r;
	for (;;) {
		r = vu_rx_step(&rx, p->b, &lim_default);
		assert_true(r >= 0);
		if (r == 1)
			break;
		steps_incomplete++;
		struct pollfd pf = { .fd = p->b, .events = POLLIN };
		assert_int_equal(poll(&pf, 1, 5000), 1);
	}
	pthread_join(t, NULL);
	assert_true(steps_incomplete > 0);
	assert_int_equal(rx.hdr.msg_size, 16 + PLEN);
	assert_memory_equal(rx.buf, msg + 16, PLEN);
	/* Nothing read beyond the message. */
	assert_int_equal(pending_bytes(p->b), 0);
	vu_rx_fini(&rx);
	free(msg);
}

struct big_sender {
	int sock;
	uint8_t *payload;
	size_t len;
	int result;
};

static void *big_sender_fn(void *arg)
{
	struct big_sender *s = arg;
	struct vu_hdr h = { .msg_id = 64, .command = VU_CMD_REGION_WRITE };
	struct iovec iov = { s->payload, s->len };
	s->result = vu_send(s->sock, &h, &iov, 1, NULL, 0, 60000);
	return NULL;
}

static void test_64mib_message(void **state)
{
	struct pair *p = *state;
	const size_t len = 64u << 20;
	uint8_t *payload = malloc(len);
	assert_non_null(payload);
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (size_t i = 0; i < len; i += 8) {
		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		memcpy(payload + i, &x, 8);
	}
	struct big_sender s = { p->a, payload, len, -1 };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, big_sender_fn, &s), 0);
	const struct vu_limits lim = { .max_msg_size = (64u << 20) + 16,
				       .max_fds = 1 };
	struct vu_rx rx;
	vu_rx_init(&rx);
	int r = vu_recv(&rx, p->b, &lim, 60000);
	pthread_join(t, NULL);
	assert_int_equal(r, 0);
	assert_int_equal(s.result, 0);
	assert_int_equal(rx.hdr.msg_size, len + 16);
	assert_int_equal(vu_rx_len(&rx), len);
	assert_true(memcmp(rx.buf, payload, len) == 0);
	vu_rx_release(&rx);
	vu_rx_fini(&rx);
	free(payload);
}

/* A bad msg_size is refused with the payload still unread. */
static void check_bad_size(struct pair *p, uint32_t msg_size,
			   const struct vu_limits *lim)
{
	uint8_t buf[16 + 64];
	memset(buf, 0x5a, sizeof(buf));
	struct vu_hdr h = { .msg_id = 1, .command = VU_CMD_REGION_WRITE,
			    .msg_size = msg_size };
	memcpy(buf, &h, sizeof(h));
	send_raw(p->a, buf, sizeof(buf), NULL, 0);
	struct vu_rx rx;
	vu_rx_init(&rx);
	assert_int_equal(vu_rx_step(&rx, p->b, lim), -EMSGSIZE);
	assert_false(rx.complete);
	assert_int_equal(pending_bytes(p->b), 64);
	vu_rx_fini(&rx);
	/* Drain for the next check. */
	assert_int_equal(read(p->b, buf, sizeof(buf)), 64);
}

static void test_msg_size_limits(void **state)
{
	struct pair *p = *state;
	const struct vu_limits lim = { .max_msg_size = 4096, .max_fds = 1 };
	check_bad_size(p, 0, &lim);
	check_bad_size(p, 8, &lim);
	check_bad_size(p, 15, &lim);
	check_bad_size(p, 4097, &lim);
	check_bad_size(p, 0xffffffffu, &lim);

	/* Exactly the limit is fine. */
	uint8_t *payload = calloc(1, 4096 - 16);
	assert_non_null(payload);
	struct vu_hdr h = { .command = VU_CMD_REGION_WRITE };
	struct iovec iov = { payload, 4096 - 16 };
	assert_int_equal(vu_send(p->a, &h, &iov, 1, NULL, 0, 1000), 0);
	struct vu_rx rx;
	vu_rx_init(&rx);
	assert_int_equal(vu_recv(&rx, p->b, &lim, 1000), 0);
	assert_int_equal(rx.hdr.msg_size, 4096);
	vu_rx_fini(&rx);
	free(payload);
}

static void test_excess_fds_closed(void **state)
{
	struct pair *p = *state;
	const unsigned counts[] = { 5, 40 };   /* 40: beyond the control buffer */
	for (unsigned k = 0; k < 2; k++) {
		unsigned n = counts[k];
		int base = count_open_fds();
		int fds[40];
		for (unsigned i = 0; i < n; i++)
			fds[i] = new_memfd();
		uint32_t payload = 0xabcd;
		struct vu_hdr h = { .command = VU_CMD_DEVICE_SET_IRQS };
		struct iovec iov = { &payload, sizeof(payload) };
		assert_int_equal(vu_send(p->a, &h, &iov, 1, fds, n, 1000), 0);
		for (unsigned i = 0; i < n; i++)
			close(fds[i]);
		const struct vu_limits lim = { .max_msg_size = 4096, .max_fds = 2 };
		struct vu_rx rx;
		vu_rx_init(&rx);
		assert_int_equal(vu_recv(&rx, p->b, &lim, 1000), 0);
		assert_true(rx.fds_overflow);
		assert_int_equal(rx.nfds, 2);
		assert_int_equal(vu_rx_len(&rx), 4);
		/* Only the two kept fds exist in this process now. */
		assert_int_equal(count_open_fds(), base + 2);
		vu_rx_release(&rx);
		assert_false(rx.fds_overflow);
		assert_int_equal(count_open_fds(), base);
		vu_rx_fini(&rx);
	}
}

static void test_max_fds_exactly_is_fine(void **state)
{
	struct pair *p = *state;
	int base = count_open_fds();
	int fds[3] = { new_memfd(), new_memfd(), new_memfd() };
	struct vu_hdr h = { .command = VU_CMD_DEVICE_SET_IRQS };
	assert_int_equal(vu_send(p->a, &h, NULL, 0, fds, 3, 1000), 0);
	const struct vu_limits lim = { .max_msg_size = 4096, .max_fds = 3 };
	struct vu_rx rx;
	vu_rx_init(&rx);
	assert_int_equal(vu_recv(&rx, p->b, &lim, 1000), 0);
	assert_false(rx.fds_overflow);
	assert_int_equal(rx.nfds, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(fd_ino(rx.fds[i]), fd_ino(fds[i]));
		close(fds[i]);
	}
	vu_rx_fini(&rx);
	assert_int_equal(count_open_fds(), base);
}

/* No fds allowed at all (before VERSION): any fd is an overflow. */
static void test_zero_max_fds(void **state)
{
	struct pair *p = *state;
	int base = count_open_fds();
	int fd = new_memfd();
	struct vu_hdr h = { .command = VU_CMD_VERSION };
	assert_int_equal(vu_send(p->a, &h, NULL, 0, &fd, 1, 1000), 0);
	close(fd);
	const struct vu_limits lim = { .max_msg_size = 4096, .max_fds = 0 };
	struct vu_rx rx;
	vu_rx_init(&rx);
	assert_int_equal(vu_recv(&rx, p->b, &lim, 1000), 0);
	assert_true(rx.fds_overflow);
	assert_int_equal(rx.nfds, 0);
	assert_int_equal(count_open_fds(), base);
	vu_rx_fini(&rx);
}

static void test_release_closes_untaken_fds(void **state)
{
	struct pair *p = *state;
	int base = count_open_fds();
	int fds[3] = { new_memfd(), new_memfd(), new_memfd() };
	struct vu_hdr h = { .command = VU_CMD_DEVICE_SET_IRQS };
	assert_int_equal(vu_send(p->a, &h, NULL, 0, fds, 3, 1000), 0);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	struct vu_rx rx;
	vu_rx_init(&rx);
	assert_int_equal(vu_recv(&rx, p->b, &lim_default, 1000), 0);
	assert_int_equal(rx.nfds, 3);
	int got[3] = { rx.fds[0], rx.fds[1], rx.fds[2] };
	/* The caller takes the middle one. */
	int taken = rx.fds[1];
	rx.fds[1] = -1;
	vu_rx_release(&rx);
	assert_int_equal(rx.nfds, 0);
	assert_false(fd_is_open(got[0]));
	assert_true(fd_is_open(taken));
	assert_false(fd_is_open(got[2]));
	close(taken);
	/* Releasing twice closes nothing more and does not crash. */
	vu_rx_release(&rx);
	vu_rx_fini(&rx);
	assert_int_equal(count_open_fds(), base);
}

static void check_eof_after(struct pair *p, size_t nbytes)
{
	uint8_t buf[16 + 100];
	memset(buf, 0x11, sizeof(buf));
	struct vu_hdr h = { .msg_id = 3, .command = VU_CMD_REGION_WRITE,
			    .msg_size = sizeof(buf) };
	memcpy(buf, &h, sizeof(h));
	if (nbytes)
		send_raw(p->a, buf, nbytes, NULL, 0);
	close(p->a);
	p->a = -1;
	struct vu_rx rx;
	vu_rx_init(&rx);
	assert_int_equal(vu_recv(&rx, p->b, &lim_default, 1000), -ECONNRESET);
	assert_false(rx.complete);
	vu_rx_fini(&rx);
}

static void test_eof_mid_payload(void **state)
{
	check_eof_after(*state, 16 + 10);
}

static void test_eof_mid_header(void **state)
{
	check_eof_after(*state, 8);
}

static void test_eof_between_messages(void **state)
{
	check_eof_after(*state, 0);
}

/* EOF mid-message with an fd received: the fd is not leaked. */
static void test_eof_mid_message_fd_released(void **state)
{
	struct pair *p = *state;
	int base = count_open_fds();
	uint8_t buf[16 + 4];
	struct vu_hdr h = { .command = VU_CMD_DMA_MAP, .msg_size = 16 + 100 };
	memcpy(buf, &h, sizeof(h));
	memset(buf + 16, 0, 4);
	int fd = new_memfd();
	send_raw(p->a, buf, sizeof(buf), &fd, 1);
	close(fd);
	close(p->a);
	p->a = -1;
	struct vu_rx rx;
	vu_rx_init(&rx);
	assert_int_equal(vu_recv(&rx, p->b, &lim_default, 1000), -ECONNRESET);
	vu_rx_fini(&rx);
	/* Only the closed sending end is gone. */
	assert_int_equal(count_open_fds(), base - 1);
}

static void test_back_to_back_messages_keep_their_fds(void **state)
{
	struct pair *p = *state;
	int base = count_open_fds();
	int f1[1] = { new_memfd() };
	int f2[2] = { new_memfd(), new_memfd() };
	uint64_t pay1 = 111, pay2 = 222;
	struct vu_hdr h1 = { .msg_id = 1, .command = VU_CMD_DMA_MAP };
	struct vu_hdr h2 = { .msg_id = 2, .command = VU_CMD_DEVICE_SET_IRQS };
	struct iovec i1 = { &pay1, sizeof(pay1) }, i2 = { &pay2, sizeof(pay2) };
	assert_int_equal(vu_send(p->a, &h1, &i1, 1, f1, 1, 1000), 0);
	assert_int_equal(vu_send(p->a, &h2, &i2, 1, f2, 2, 1000), 0);
	/* A third message without fds right behind. */
	struct vu_hdr h3 = { .msg_id = 3, .command = VU_CMD_DEVICE_RESET };
	assert_int_equal(vu_send(p->a, &h3, NULL, 0, NULL, 0, 1000), 0);

	struct vu_rx rx;
	vu_rx_init(&rx);
	assert_int_equal(vu_recv(&rx, p->b, &lim_default, 1000), 0);
	assert_int_equal(rx.hdr.msg_id, 1);
	assert_int_equal(rx.nfds, 1);
	assert_int_equal(fd_ino(rx.fds[0]), fd_ino(f1[0]));
	assert_memory_equal(rx.buf, &pay1, 8);
	vu_rx_release(&rx);

	assert_int_equal(vu_recv(&rx, p->b, &lim_default, 1000), 0);
	assert_int_equal(rx.hdr.msg_id, 2);
	assert_int_equal(rx.nfds, 2);
	assert_int_equal(fd_ino(rx.fds[0]), fd_ino(f2[0]));
	assert_int_equal(fd_ino(rx.fds[1]), fd_ino(f2[1]));
	assert_memory_equal(rx.buf, &pay2, 8);
	vu_rx_release(&rx);

	assert_int_equal(vu_recv(&rx, p->b, &lim_default, 1000), 0);
	assert_int_equal(rx.hdr.msg_id, 3);
	assert_int_equal(rx.nfds, 0);
	vu_rx_fini(&rx);
	close(f1[0]);
	close(f2[0]);
	close(f2[1]);
	assert_int_equal(count_open_fds(), base);
}

static void test_recv_timeout(void **state)
{
	struct pair *p = *state;
	struct vu_rx rx;
	vu_rx_init(&rx);
	assert_int_equal(vu_recv(&rx, p->b, &lim_default, 50), -ETIMEDOUT);
	/* Half a header, then silence: still a timeout, and the rest later
	 * completes the same message. */
	struct vu_hdr h = { .msg_id = 8, .command = VU_CMD_DEVICE_RESET,
			    .msg_size = 16 };
	send_raw(p->a, &h, 8, NULL, 0);
	assert_int_equal(vu_recv(&rx, p->b, &lim_default, 50), -ETIMEDOUT);
	send_raw(p->a, (uint8_t *)&h + 8, 8, NULL, 0);
	assert_int_equal(vu_recv(&rx, p->b, &lim_default, 1000), 0);
	assert_int_equal(rx.hdr.msg_id, 8);
	vu_rx_fini(&rx);
}

static void test_send_gathers_iovecs(void **state)
{
	struct pair *p = *state;
	uint8_t a[3] = { 1, 2, 3 }, b[5] = { 4, 5, 6, 7, 8 };
	struct iovec iov[3] = { { a, 3 }, { NULL, 0 }, { b, 5 } };
	struct vu_hdr h = { .msg_id = 2, .command = VU_CMD_REGION_READ };
	assert_int_equal(vu_send(p->a, &h, iov, 3, NULL, 0, 1000), 0);
	struct vu_rx rx;
	vu_rx_init(&rx);
	assert_int_equal(vu_recv(&rx, p->b, &lim_default, 1000), 0);
	assert_int_equal(vu_rx_len(&rx), 8);
	const uint8_t want[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	assert_memory_equal(rx.buf, want, 8);
	vu_rx_fini(&rx);
	/* A closed peer is an error, not a SIGPIPE. */
	close(p->b);
	p->b = -1;
	assert_int_equal(vu_send(p->a, &h, iov, 3, NULL, 0, 1000), -EPIPE);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup_pair, teardown_pair)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_header_payload_fds_one_message),
		T(test_header_only_message),
		T(test_one_byte_at_a_time_same_thread),
		T(test_one_byte_at_a_time_thread),
		T(test_64mib_message),
		T(test_msg_size_limits),
		T(test_excess_fds_closed),
		T(test_max_fds_exactly_is_fine),
		T(test_zero_max_fds),
		T(test_release_closes_untaken_fds),
		T(test_eof_mid_payload),
		T(test_eof_mid_header),
		T(test_eof_between_messages),
		T(test_eof_mid_message_fd_released),
		T(test_back_to_back_messages_keep_their_fds),
		T(test_recv_timeout),
		T(test_send_gathers_iovecs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
