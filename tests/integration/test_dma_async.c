/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * uvfio_dev_dma_read_async/_write_async, in process: a server on one end
 * of a socketpair, dispatched by the test (its thread is the server's),
 * and a raw vfio-user client on the other end that answers the device's
 * requests when, how and in the order a case wants, or never.  Each
 * case checks the data that moved, and that the callback ran exactly
 * once, with the error the API promises, never before the call returned
 * and never followed by a write to the buffer (buffers are freed by
 * their callback: ASan and valgrind see any late write).
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <uvfio/device.h>
#include "wire/wire.h"

#define NOFD_IOVA 0x100000ull      /* fd-less window */
#define NOFD_SIZE 0x100000ull
#define MAP_IOVA  (NOFD_IOVA + NOFD_SIZE)  /* memfd window, right after */
#define MAP_SIZE  0x10000ull
#define XFER      4096u            /* the client's max_data_xfer_size */
#define TIMEOUT_MS 400

struct h {
	struct uvfio_dev *dev;
	struct uvfio_server *srv;
	int cs;                  /* client end of the main socket */
	int ctwin;               /* client end of the twin socket, or -1 */
	struct vu_rx rx, trx;
	uint16_t id;
	uint8_t *guest;          /* what the fd-less window holds */
	uint8_t *mem;            /* the memfd window, as the client sees it */
	char order[64];          /* "D" done, "R" reset callback, in order */
	struct done *bar_done;   /* the op BAR0's write starts */
	uint8_t bar_buf[64];
};

struct req {
	uint16_t id, cmd;
	uint64_t addr, count;
};

struct done {
	struct h *h;
	int calls;
	int err;
	uint8_t *buf;            /* freed by the callback when set */
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A failed case may leave calls pending on its stack: teardown ends
 * them without looking. */
static bool g_tearing_down;

static void on_done(void *opaque, int err)
{
	if (g_tearing_down)
		return;
	struct done *d = opaque;
	d->calls++;
	d->err = err;
	free(d->buf);
	d->buf = NULL;
	if (d->h)
		strcat(d->h->order, "D");
}

static int on_reset(void *opaque)
{
	struct h *h = opaque;
	strcat(h->order, "R");
	return 0;
}

/* BAR0: a write starts an ordered 64-byte read of the fd-less window. */
static ssize_t bar_write(void *opaque, uint64_t off, const void *buf,
			 size_t count)
{
	struct h *h = opaque;
	(void)off;
	(void)buf;
	int r = uvfio_dev_dma_read_async(h->dev, NOFD_IOVA, h->bar_buf, 64,
					 UVFIO_DMA_ORDERED, on_done, h->bar_done);
	return r < 0 ? r : (ssize_t)count;
}

static const struct uvfio_region_ops bar_ops = { .write = bar_write };

/* Let the server work for @ms (0: one dispatch round). */
static void run(struct h *h, int ms)
{
	int64_t end = now_ms() + ms;
	do {
		struct pollfd p = { .fd = uvfio_server_get_fd(h->srv),
				    .events = POLLIN };
		if (ms)
			poll(&p, 1, 5);
		assert_int_equal(uvfio_server_dispatch(h->srv), 0);
	} while (now_ms() < end);
}

/* Receive one message on @sock, dispatching the server meanwhile. */
static int crecv(struct h *h, int sock, struct vu_rx *rx, int ms)
{
	const struct vu_limits lim = { .max_msg_size = 1u << 21, .max_fds = 1 };
	vu_rx_release(rx);
	int64_t end = now_ms() + ms;
	for (;;) {
		run(h, 0);
		int r = vu_rx_step(rx, sock, &lim);
		if (r == 1)
			return 0;
		if (r < 0)
			return r;
		if (now_ms() >= end)
			return -ETIMEDOUT;
		struct pollfd p = { .fd = sock, .events = POLLIN };
		poll(&p, 1, 2);
	}
}

static uint16_t csend(struct h *h, uint16_t cmd, const void *p, size_t len,
		      const int *fds, unsigned nfds)
{
	struct vu_hdr hd = { .msg_id = h->id++, .command = cmd,
			     .flags = VU_F_TYPE_COMMAND };
	struct iovec iov = { (void *)p, len };
	assert_int_equal(vu_send(h->cs, &hd, &iov, 1, fds, nfds, 1000), 0);
	return hd.msg_id;
}

/* A command and its reply (commands reply on the main socket). */
static int ccall(struct h *h, uint16_t cmd, const void *p, size_t len,
		 const int *fds, unsigned nfds)
{
	uint16_t id = csend(h, cmd, p, len, fds, nfds);
	assert_int_equal(crecv(h, h->cs, &h->rx, 2000), 0);
	assert_int_equal(h->rx.hdr.msg_id, id);
	assert_int_equal(h->rx.hdr.flags & VU_F_TYPE_MASK, VU_F_TYPE_REPLY);
	return h->rx.hdr.flags & VU_F_ERROR ? -(int)h->rx.hdr.error : 0;
}

static void get_info_ok(struct h *h)
{
	struct vu_device_info in = { .argsz = sizeof(in) };
	assert_int_equal(ccall(h, VU_CMD_DEVICE_GET_INFO, &in, sizeof(in),
			       NULL, 0), 0);
}

/* The device's next request, to the socket requests go to. */
static int get_req(struct h *h, struct req *q, int ms)
{
	int sock = h->ctwin >= 0 ? h->ctwin : h->cs;
	struct vu_rx *rx = h->ctwin >= 0 ? &h->trx : &h->rx;
	int r = crecv(h, sock, rx, ms);
	if (r < 0)
		return r;
	assert_int_equal(rx->hdr.flags & VU_F_TYPE_MASK, VU_F_TYPE_COMMAND);
	const struct vu_dma_rw *d = (const void *)rx->buf;
	*q = (struct req){ .id = rx->hdr.msg_id, .cmd = rx->hdr.command,
			   .addr = d->addr, .count = d->count };
	assert_true(q->addr >= NOFD_IOVA &&
		    q->addr + q->count <= NOFD_IOVA + NOFD_SIZE);
	assert_true(q->count <= XFER);
	if (q->cmd == VU_CMD_DMA_WRITE) {
		assert_int_equal(vu_rx_len(rx), 16 + q->count);
		memcpy(h->guest + (q->addr - NOFD_IOVA), d->data, q->count);
	} else {
		assert_int_equal(q->cmd, VU_CMD_DMA_READ);
		assert_int_equal(vu_rx_len(rx), 16);
	}
	return 0;
}

/* Answer @q: an error reply with @err, else the right one, with @addr
 * and @count changed by @daddr/@dcount. */
static void answer(struct h *h, const struct req *q, int err, int64_t daddr,
		   int64_t dcount)
{
	int sock = h->ctwin >= 0 ? h->ctwin : h->cs;
	struct vu_hdr hd = { .msg_id = q->id, .command = q->cmd,
			     .flags = VU_F_TYPE_REPLY };
	struct vu_dma_rw rw = { .addr = q->addr + (uint64_t)daddr,
				.count = q->count + (uint64_t)dcount };
	struct iovec iov[2] = { { &rw, sizeof(rw) }, { NULL, 0 } };
	if (q->cmd == VU_CMD_DMA_READ)
		iov[1] = (struct iovec){ h->guest + (q->addr - NOFD_IOVA),
					 q->count };
	if (err) {
		hd.flags |= VU_F_ERROR;
		hd.error = (uint32_t)err;
		iov[0].iov_len = iov[1].iov_len = 0;
	}
	assert_int_equal(vu_send(sock, &hd, iov, 2, NULL, 0, 1000), 0);
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 31 + seed);
}

static int open_h(void **state, bool twin)
{
	struct h *h = calloc(1, sizeof(*h));
	assert_non_null(h);
	h->ctwin = -1;
	h->id = 1;
	vu_rx_init(&h->rx);
	vu_rx_init(&h->trx);
	h->guest = calloc(1, NOFD_SIZE);
	h->bar_done = calloc(1, sizeof(*h->bar_done));
	h->dev = uvfio_dev_new("async");
	assert_non_null(h->dev);
	assert_int_equal(uvfio_dev_add_bar(h->dev, 0, 4096, UVFIO_BAR_MEM32,
					   &bar_ops, h), 0);
	assert_int_equal(uvfio_dev_set_reset(h->dev, on_reset, h), 0);
	struct uvfio_server_opts o = { .reply_timeout_ms = TIMEOUT_MS };
	h->srv = uvfio_server_new(h->dev, &o);
	assert_non_null(h->srv);
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(uvfio_server_adopt_fd(h->srv, sv[0]), 0);
	h->cs = sv[1];

	char v[160];
	struct vu_version *ver = (void *)v;
	ver->major = 0;
	ver->minor = 0;
	int n = snprintf(ver->data, sizeof(v) - 4,
			 "{\"capabilities\":{\"max_data_xfer_size\":%u%s}}",
			 XFER, twin ? ",\"twin_socket\":{\"supported\":true}" : "");
	assert_int_equal(ccall(h, VU_CMD_VERSION, v, 4 + (size_t)n + 1, NULL, 0), 0);
	if (twin) {
		assert_int_equal(h->rx.nfds, 1);
		h->ctwin = h->rx.fds[0];
		h->rx.fds[0] = -1;
	}
	struct vu_dma_map m = { .argsz = 32, .flags = 3, .addr = NOFD_IOVA,
				.size = NOFD_SIZE };
	assert_int_equal(ccall(h, VU_CMD_DMA_MAP, &m, sizeof(m), NULL, 0), 0);
	int fd = memfd_create("map", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, MAP_SIZE), 0);
	h->mem = mmap(NULL, MAP_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(h->mem != MAP_FAILED);
	m = (struct vu_dma_map){ .argsz = 32, .flags = 3, .addr = MAP_IOVA,
				 .size = MAP_SIZE };
	assert_int_equal(ccall(h, VU_CMD_DMA_MAP, &m, sizeof(m), &fd, 1), 0);
	close(fd);
	*state = h;
	return 0;
}

static int setup(void **state) { return open_h(state, false); }
static int setup_twin(void **state) { return open_h(state, true); }

static int teardown(void **state)
{
	struct h *h = *state;
	g_tearing_down = true;
	if (h->cs >= 0)
		close(h->cs);
	if (h->ctwin >= 0)
		close(h->ctwin);
	run(h, 0);
	uvfio_server_free(h->srv);
	uvfio_dev_free(h->dev);
	g_tearing_down = false;
	vu_rx_fini(&h->rx);
	vu_rx_fini(&h->trx);
	munmap(h->mem, MAP_SIZE);
	free(h->guest);
	free(h->bar_done);
	free(h);
	return 0;
}

/* ---- cases ---------------------------------------------------------- */

/* Shared memory: copied in the call, @done from the loop. */
static void test_mapped_window(void **state)
{
	struct h *h = *state;
	fill(h->mem, MAP_SIZE, 7);
	uint8_t buf[5000];
	struct done d = { 0 };
	assert_int_equal(uvfio_dev_dma_read_async(h->dev, MAP_IOVA + 100, buf,
						  sizeof(buf), 0, on_done, &d), 0);
	assert_int_equal(d.calls, 0);
	assert_memory_equal(buf, h->mem + 100, sizeof(buf));
	run(h, 0);
	assert_int_equal(d.calls, 1);
	assert_int_equal(d.err, 0);

	fill(buf, sizeof(buf), 99);
	d.calls = 0;
	assert_int_equal(uvfio_dev_dma_write_async(h->dev, MAP_IOVA + 8000, buf,
						   sizeof(buf), 0, on_done, &d), 0);
	assert_memory_equal(h->mem + 8000, buf, sizeof(buf));
	assert_int_equal(d.calls, 0);
	run(h, 0);
	assert_int_equal(d.calls, 1);
	assert_int_equal(d.err, 0);

	assert_true(uvfio_dev_dma_direct(h->dev, MAP_IOVA, MAP_SIZE, true));
	assert_false(uvfio_dev_dma_direct(h->dev, NOFD_IOVA, 16, false));
	assert_false(uvfio_dev_dma_direct(h->dev, MAP_IOVA - 16, 32, false));
	assert_false(uvfio_dev_dma_direct(h->dev, MAP_IOVA + MAP_SIZE, 1, false));
}

/* Refused calls: an error, nothing done, no callback ever. */
static void test_refused(void **state)
{
	struct h *h = *state;
	uint8_t buf[64];
	struct done d = { 0 };
	assert_int_equal(uvfio_dev_dma_read_async(h->dev, 0x10, buf, 64, 0,
						  on_done, &d), -EFAULT);
	assert_int_equal(uvfio_dev_dma_read_async(h->dev, MAP_IOVA + MAP_SIZE - 8,
						  buf, 64, 0, on_done, &d), -EFAULT);
	assert_int_equal(uvfio_dev_dma_read_async(h->dev, UINT64_MAX - 8, buf,
						  64, 0, on_done, &d), -EFAULT);
	assert_int_equal(uvfio_dev_dma_read_async(h->dev, NOFD_IOVA, buf, 64,
						  0x80, on_done, &d), -EINVAL);
	assert_int_equal(uvfio_dev_dma_read_async(h->dev, NOFD_IOVA, buf, 64, 0,
						  NULL, NULL), -EINVAL);
	run(h, 20);
	assert_int_equal(d.calls, 0);
	struct req q;
	assert_int_equal(get_req(h, &q, 50), -ETIMEDOUT);
}

/* Fd-less: split at max_data_xfer_size, answered out of order. */
static void test_nofd_split(void **state)
{
	struct h *h = *state;
	fill(h->guest, NOFD_SIZE, 3);
	const size_t len = 2 * XFER + 1808;
	uint8_t *buf = calloc(1, len);
	struct done d = { 0 };
	assert_int_equal(uvfio_dev_dma_read_async(h->dev, NOFD_IOVA + 10, buf,
						  len, 0, on_done, &d), 0);
	struct req q[3];
	for (int i = 0; i < 3; i++) {
		assert_int_equal(get_req(h, &q[i], 1000), 0);
		assert_int_equal(q[i].addr, NOFD_IOVA + 10 + (uint64_t)i * XFER);
		assert_int_equal(q[i].count, i < 2 ? XFER : 1808);
	}
	for (int i = 2; i >= 0; i--) {
		assert_int_equal(d.calls, 0);
		answer(h, &q[i], 0, 0, 0);
		run(h, 20);
	}
	assert_int_equal(d.calls, 1);
	assert_int_equal(d.err, 0);
	assert_memory_equal(buf, h->guest + 10, len);

	/* And a write, the commands still served meanwhile. */
	fill(buf, len, 55);
	d.calls = 0;
	assert_int_equal(uvfio_dev_dma_write_async(h->dev, NOFD_IOVA + 0x8000,
						   buf, len, 0, on_done, &d), 0);
	if (h->ctwin >= 0)
		get_info_ok(h);   /* else the requests come first here */
	for (int i = 0; i < 3; i++)
		assert_int_equal(get_req(h, &q[i], 1000), 0);
	get_info_ok(h);
	for (int i = 0; i < 3; i++)
		answer(h, &q[i], 0, 0, 0);
	run(h, 20);
	assert_int_equal(d.calls, 1);
	assert_int_equal(d.err, 0);
	assert_memory_equal(h->guest + 0x8000, buf, len);
	free(buf);
}

/* A range across the fd-less window and the shared one after it. */
static void test_mixed_range(void **state)
{
	struct h *h = *state;
	fill(h->guest, NOFD_SIZE, 1);
	fill(h->mem, MAP_SIZE, 2);
	uint8_t buf[2 * XFER];
	struct done d = { 0 };
	assert_int_equal(uvfio_dev_dma_read_async(h->dev, MAP_IOVA - XFER, buf,
						  sizeof(buf), 0, on_done, &d), 0);
	assert_memory_equal(buf + XFER, h->mem, XFER);
	struct req q;
	assert_int_equal(get_req(h, &q, 1000), 0);
	assert_int_equal(q.addr, MAP_IOVA - XFER);
	assert_int_equal(d.calls, 0);
	answer(h, &q, 0, 0, 0);
	run(h, 20);
	assert_int_equal(d.calls, 1);
	assert_int_equal(d.err, 0);
	assert_memory_equal(buf, h->guest + NOFD_SIZE - XFER, XFER);
}

/* 64 calls in flight; the 65th is refused; all complete once. */
static void test_many_in_flight(void **state)
{
	struct h *h = *state;
	fill(h->guest, NOFD_SIZE, 9);
	static uint8_t bufs[UVFIO_DMA_ASYNC_MAX][16];
	struct done d[UVFIO_DMA_ASYNC_MAX];
	memset(d, 0, sizeof(d));
	for (unsigned i = 0; i < UVFIO_DMA_ASYNC_MAX; i++)
		assert_int_equal(uvfio_dev_dma_read_async(h->dev,
				NOFD_IOVA + i * 64, bufs[i], 16, 0, on_done,
				&d[i]), 0);
	struct done extra = { 0 };
	uint8_t x[16];
	assert_int_equal(uvfio_dev_dma_read_async(h->dev, NOFD_IOVA, x, 16, 0,
						  on_done, &extra), -EAGAIN);
	/* Shared memory too: the limit counts calls. */
	assert_int_equal(uvfio_dev_dma_read_async(h->dev, MAP_IOVA, x, 16, 0,
						  on_done, &extra), -EAGAIN);
	struct req q[UVFIO_DMA_ASYNC_MAX];
	for (unsigned i = 0; i < UVFIO_DMA_ASYNC_MAX; i++)
		assert_int_equal(get_req(h, &q[i], 1000), 0);
	for (unsigned i = 0; i < UVFIO_DMA_ASYNC_MAX; i++)
		answer(h, &q[UVFIO_DMA_ASYNC_MAX - 1 - i], 0, 0, 0);
	run(h, 50);
	for (unsigned i = 0; i < UVFIO_DMA_ASYNC_MAX; i++) {
		assert_int_equal(d[i].calls, 1);
		assert_int_equal(d[i].err, 0);
		assert_memory_equal(bufs[i], h->guest + i * 64, 16);
	}
	assert_int_equal(extra.calls, 0);

	/* One call of 100 messages: at most 64 await a reply at a time. */
	const size_t len = 100 * XFER;
	uint8_t *big = calloc(1, len);
	struct done bd = { 0 };
	assert_int_equal(uvfio_dev_dma_read_async(h->dev, NOFD_IOVA, big, len, 0,
						  on_done, &bd), 0);
	unsigned got = 0, answered = 0;
	struct req r[100];
	while (got < 64)
		assert_int_equal(get_req(h, &r[got++], 1000), 0);
	assert_int_equal(get_req(h, &r[got], 50), -ETIMEDOUT);
	while (answered < 100) {
		answer(h, &r[answered++], 0, 0, 0);
		run(h, 0);
		while (got < 100 && got < answered + 64)
			assert_int_equal(get_req(h, &r[got++], 1000), 0);
	}
	run(h, 20);
	assert_int_equal(bd.calls, 1);
	assert_int_equal(bd.err, 0);
	assert_memory_equal(big, h->guest, len);
	free(big);
}

/* Error and malformed replies: the device sees the error, the client
 * stays; a reply to something never asked drops the client. */
static void test_bad_replies(void **state)
{
	struct h *h = *state;
	const struct { int err; int64_t daddr, dcount; int want; } c[] = {
		{ EFAULT, 0, 0, -EFAULT },
		{ 0, 8, 0, -EIO },
		{ 0, 0, -1, -EIO },
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		uint8_t *buf = calloc(1, 64);
		struct done d = { .buf = buf };
		assert_int_equal(uvfio_dev_dma_read_async(h->dev, NOFD_IOVA, buf,
							  64, 0, on_done, &d), 0);
		struct req q;
		assert_int_equal(get_req(h, &q, 1000), 0);
		answer(h, &q, c[i].err, c[i].daddr, c[i].dcount);
		run(h, 20);
		assert_int_equal(d.calls, 1);
		assert_int_equal(d.err, c[i].want);
		get_info_ok(h);
	}
	uint8_t *buf = calloc(1, 64);
	struct done d = { .buf = buf };
	assert_int_equal(uvfio_dev_dma_write_async(h->dev, NOFD_IOVA, buf, 64, 0,
						   on_done, &d), 0);
	struct req q;
	assert_int_equal(get_req(h, &q, 1000), 0);
	q.id++;
	answer(h, &q, 0, 0, 0);
	run(h, 20);
	assert_int_equal(d.calls, 1);
	assert_int_equal(d.err, -ENOTCONN);
	assert_false(uvfio_server_has_client(h->srv));
	assert_int_equal(crecv(h, h->cs, &h->rx, 200), -ECONNRESET);
}

/* The client goes: pending calls end with -ENOTCONN, once. */
static void test_disconnect_pending(void **state)
{
	struct h *h = *state;
	struct done d[3] = { { 0 } };
	for (int i = 0; i < 3; i++) {
		d[i].buf = calloc(1, 2 * XFER);
		assert_int_equal(uvfio_dev_dma_read_async(h->dev,
				NOFD_IOVA + (uint64_t)i * 2 * XFER, d[i].buf,
				2 * XFER, 0, on_done, &d[i]), 0);
	}
	struct req q;
	assert_int_equal(get_req(h, &q, 1000), 0);
	close(h->cs);
	h->cs = -1;
	if (h->ctwin >= 0) {
		close(h->ctwin);
		h->ctwin = -1;
	}
	run(h, 50);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(d[i].calls, 1);
		assert_int_equal(d[i].err, -ENOTCONN);
	}
	assert_false(uvfio_server_has_client(h->srv));
	uint8_t x[8];
	assert_int_equal(uvfio_dev_dma_read_async(h->dev, NOFD_IOVA, x, 8, 0,
						  on_done, &d[0]), -ENOTCONN);
}

/* DEVICE_RESET: -ECANCELED before the model's reset; the late reply is
 * dropped, the buffer (freed) untouched. */
static void test_reset_pending(void **state)
{
	struct h *h = *state;
	struct done d = { .h = h, .buf = calloc(1, 256) };
	struct done m = { .h = h };
	uint8_t mb[16];
	assert_int_equal(uvfio_dev_dma_read_async(h->dev, NOFD_IOVA, d.buf, 256,
						  0, on_done, &d), 0);
	struct req q;
	assert_int_equal(get_req(h, &q, 1000), 0);
	/* A shared-memory one waiting for the loop ends too (the reset is
	 * handled in the next round, before the timers run). */
	assert_int_equal(uvfio_dev_dma_read_async(h->dev, MAP_IOVA, mb, 16, 0,
						  on_done, &m), 0);
	assert_int_equal(ccall(h, VU_CMD_DEVICE_RESET, NULL, 0, NULL, 0), 0);
	assert_string_equal(h->order, "DDR");
	assert_int_equal(d.err, -ECANCELED);
	assert_int_equal(m.err, -ECANCELED);
	answer(h, &q, 0, 0, 0);
	run(h, 20);
	assert_int_equal(d.calls, 1);
	assert_int_equal(m.calls, 1);
	assert_true(uvfio_server_has_client(h->srv));
	get_info_ok(h);
}

/*
 * A DMA_READ reply's data is received straight into the device's buffer.
 * A reset while the reply is half in: the op ends (its buffer is freed
 * by the callback) and the rest of the reply lands elsewhere (ASan and
 * valgrind see a write to the freed buffer).  Twin socket only: the
 * reset comes on the main socket while the reply is cut on the twin.
 */
static void test_reset_mid_reply(void **state)
{
	struct h *h = *state;
	struct done d = { .h = h, .buf = calloc(1, XFER) };
	fill(h->guest, XFER, 7);
	assert_int_equal(uvfio_dev_dma_read_async(h->dev, NOFD_IOVA, d.buf, XFER,
						  0, on_done, &d), 0);
	struct req q;
	assert_int_equal(get_req(h, &q, 1000), 0);
	assert_int_equal(q.count, XFER);
	uint8_t msg[sizeof(struct vu_hdr) + sizeof(struct vu_dma_rw) + XFER];
	struct vu_hdr hd = { .msg_id = q.id, .command = q.cmd,
			     .msg_size = sizeof(msg), .flags = VU_F_TYPE_REPLY };
	struct vu_dma_rw rw = { .addr = q.addr, .count = q.count };
	memcpy(msg, &hd, sizeof(hd));
	memcpy(msg + sizeof(hd), &rw, sizeof(rw));
	memcpy(msg + sizeof(hd) + sizeof(rw), h->guest, XFER);
	const size_t cut = sizeof(hd) + sizeof(rw) + 1000;
	assert_int_equal(send(h->ctwin, msg, cut, 0), (ssize_t)cut);
	run(h, 20);
	assert_int_equal(d.calls, 0);
	assert_int_equal(ccall(h, VU_CMD_DEVICE_RESET, NULL, 0, NULL, 0), 0);
	assert_int_equal(d.calls, 1);
	assert_int_equal(d.err, -ECANCELED);
	assert_int_equal(send(h->ctwin, msg + cut, sizeof(msg) - cut, 0),
			 (ssize_t)(sizeof(msg) - cut));
	run(h, 20);
	assert_int_equal(d.calls, 1);
	assert_true(uvfio_server_has_client(h->srv));
	get_info_ok(h);

	/* And a whole reply still lands where it belongs. */
	d = (struct done){ .h = h };
	uint8_t *buf = calloc(1, XFER);
	fill(h->guest, XFER, 9);
	assert_int_equal(uvfio_dev_dma_read_async(h->dev, NOFD_IOVA, buf, XFER,
						  0, on_done, &d), 0);
	assert_int_equal(get_req(h, &q, 1000), 0);
	answer(h, &q, 0, 0, 0);
	run(h, 20);
	assert_int_equal(d.calls, 1);
	assert_int_equal(d.err, 0);
	assert_memory_equal(buf, h->guest, XFER);
	free(buf);
}

/* DMA_UNMAP of the window: -EFAULT; others go on. */
static void test_unmap_pending(void **state)
{
	struct h *h = *state;
	fill(h->mem, MAP_SIZE, 4);
	struct done d = { .buf = calloc(1, 128) };
	struct done m = { 0 };
	uint8_t mb[16];
	assert_int_equal(uvfio_dev_dma_write_async(h->dev, NOFD_IOVA + 64, d.buf,
						   128, 0, on_done, &d), 0);
	assert_int_equal(uvfio_dev_dma_read_async(h->dev, MAP_IOVA, mb, 16, 0,
						  on_done, &m), 0);
	struct req q;
	assert_int_equal(get_req(h, &q, 1000), 0);
	struct vu_dma_unmap u = { .argsz = 24, .addr = NOFD_IOVA,
				  .size = NOFD_SIZE };
	assert_int_equal(ccall(h, VU_CMD_DMA_UNMAP, &u, sizeof(u), NULL, 0), 0);
	assert_int_equal(d.calls, 1);
	assert_int_equal(d.err, -EFAULT);
	answer(h, &q, 0, 0, 0);
	run(h, 20);
	assert_int_equal(d.calls, 1);
	assert_int_equal(m.calls, 1);
	assert_int_equal(m.err, 0);
	assert_memory_equal(mb, h->mem, 16);
	get_info_ok(h);
	uint8_t x[8];
	assert_int_equal(uvfio_dev_dma_read_async(h->dev, NOFD_IOVA, x, 8, 0,
						  on_done, &d), -EFAULT);
}

/* No answer: -ETIMEDOUT after reply_timeout_ms, the client dropped. */
static void test_timeout(void **state)
{
	struct h *h = *state;
	struct done d = { .buf = calloc(1, 64) };
	int64_t t0 = now_ms();
	assert_int_equal(uvfio_dev_dma_read_async(h->dev, NOFD_IOVA, d.buf, 64,
						  0, on_done, &d), 0);
	struct req q;
	assert_int_equal(get_req(h, &q, 1000), 0);
	while (!d.calls && now_ms() - t0 < 5 * TIMEOUT_MS) {
		/* The server sleeps in its own timer, not in a recv. */
		struct pollfd p = { .fd = uvfio_server_get_fd(h->srv),
				    .events = POLLIN };
		poll(&p, 1, 1000);
		run(h, 0);
	}
	int64_t waited = now_ms() - t0;
	assert_int_equal(d.calls, 1);
	assert_int_equal(d.err, -ETIMEDOUT);
	assert_true(waited >= TIMEOUT_MS - 20 && waited < 3 * TIMEOUT_MS);
	assert_false(uvfio_server_has_client(h->srv));
	assert_int_equal(crecv(h, h->cs, &h->rx, 200), -ECONNRESET);
}

/* Pipelined and slow, but answering: no timeout, however long it all
 * takes; the timeout counts from the last reply. */
static void test_slow_but_steady(void **state)
{
	struct h *h = *state;
	fill(h->guest, NOFD_SIZE, 17);
	const unsigned n = 80;
	uint8_t *buf = calloc(n, XFER);
	struct done d = { 0 };
	int64_t t0 = now_ms();
	assert_int_equal(uvfio_dev_dma_read_async(h->dev, NOFD_IOVA, buf,
						  (size_t)n * XFER, 0, on_done,
						  &d), 0);
	for (unsigned i = 0; i < n; i++) {
		struct req q;
		assert_int_equal(get_req(h, &q, 1000), 0);
		run(h, 15);
		answer(h, &q, 0, 0, 0);
	}
	run(h, 20);
	assert_true(now_ms() - t0 > 2 * TIMEOUT_MS);
	assert_int_equal(d.calls, 1);
	assert_int_equal(d.err, 0);
	assert_memory_equal(buf, h->guest, (size_t)n * XFER);
	assert_true(uvfio_server_has_client(h->srv));
	free(buf);
}

/* UVFIO_DMA_ORDERED: the client's commands, and the reply to the one
 * that started the DMA, wait for it. */
static void test_ordered(void **state)
{
	struct h *h = *state;
	fill(h->guest, NOFD_SIZE, 21);
	struct done d = { 0 };
	uint8_t buf[64];
	assert_int_equal(uvfio_dev_dma_read_async(h->dev, NOFD_IOVA, buf, 64,
						  UVFIO_DMA_ORDERED, on_done, &d), 0);
	struct vu_device_info in = { .argsz = sizeof(in) };
	uint16_t gi = csend(h, VU_CMD_DEVICE_GET_INFO, &in, sizeof(in), NULL, 0);
	struct req q;
	assert_int_equal(get_req(h, &q, 1000), 0);
	if (h->ctwin >= 0)
		assert_int_equal(crecv(h, h->cs, &h->rx, 100), -ETIMEDOUT);
	answer(h, &q, 0, 0, 0);
	assert_int_equal(crecv(h, h->cs, &h->rx, 1000), 0);
	assert_int_equal(h->rx.hdr.msg_id, gi);
	assert_int_equal(d.calls, 1);
	assert_memory_equal(buf, h->guest, 64);

	/* Started by a register write: its reply comes after the DMA. */
	memset(h->bar_done, 0, sizeof(*h->bar_done));
	uint8_t w[20] = { 0 };
	memcpy(w, &(struct vu_region_rw){ .region = 0, .count = 4 }, 16);
	uint16_t wid = csend(h, VU_CMD_REGION_WRITE, w, sizeof(w), NULL, 0);
	assert_int_equal(get_req(h, &q, 1000), 0);
	if (h->ctwin >= 0)
		assert_int_equal(crecv(h, h->cs, &h->rx, 100), -ETIMEDOUT);
	assert_int_equal(h->bar_done->calls, 0);
	answer(h, &q, 0, 0, 0);
	assert_int_equal(crecv(h, h->cs, &h->rx, 1000), 0);
	assert_int_equal(h->rx.hdr.msg_id, wid);
	assert_int_equal(h->rx.hdr.flags, VU_F_TYPE_REPLY);
	assert_int_equal(h->bar_done->calls, 1);
	assert_int_equal(h->bar_done->err, 0);
	assert_memory_equal(h->bar_buf, h->guest, 64);
}

#define BOTH(f) cmocka_unit_test_setup_teardown(f, setup, teardown), \
		cmocka_unit_test_setup_teardown(f, setup_twin, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_mapped_window),
		BOTH(test_refused),
		BOTH(test_nofd_split),
		BOTH(test_mixed_range),
		BOTH(test_many_in_flight),
		BOTH(test_bad_replies),
		BOTH(test_disconnect_pending),
		BOTH(test_reset_pending),
		BOTH(test_unmap_pending),
		BOTH(test_timeout),
		BOTH(test_slow_but_steady),
		BOTH(test_ordered),
		cmocka_unit_test_setup_teardown(test_reset_mid_reply, setup_twin,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
