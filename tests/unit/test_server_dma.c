/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The server's DMA requests to fd-less windows (src/server/dma_req.c,
 * and the synchronous path in server.c), in process against a scripted
 * client: at most 64 requests await a reply and the rest queue behind
 * them in order; a reply is matched to its request by id, whatever the
 * order; a reply with an unknown id or the wrong command drops the
 * client, one of the wrong size or address fails the DMA with -EIO, an
 * error reply gives its errno, fds on a reply fail it and are closed;
 * a client that owes a reply for reply_timeout_ms is dropped while one
 * that keeps answering is not; a request made while a command is handled
 * goes out after that command's reply (before it with UVFIO_DMA_ORDERED);
 * the late reply of an aborted DMA never reaches the device's buffer,
 * also when it was half received into it (twin socket).  A synchronous
 * DMA made outside the loop leaves nothing behind that the loop does not
 * wake for: commands queued meanwhile, async replies read meanwhile, a
 * client it dropped.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "srv_fixture.h"
#include "testutil.h"

#define IOVA 0x100000ull
#define WSIZE (1ull << 20)
#define PART 4096u           /* the server's max_data_xfer_size here */

struct done_rec {
	unsigned calls;
	int err;
	int64_t at;
};

static void on_done(void *opaque, int err)
{
	struct done_rec *d = opaque;
	d->calls++;
	d->err = err;
	d->at = peer_now_ms();
}

static int setup_opts(void **state, int timeout_ms, bool twin)
{
	struct sfix *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	struct uvfio_server_opts o = { .max_data_xfer_size = PART,
				       .reply_timeout_ms = timeout_ms };
	sfix_init(f, &o);
	sfix_negotiate(f, "{\"capabilities\":{\"max_msg_fds\":16}}", twin);
	sfix_map_fdless(f, IOVA, WSIZE);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_opts(state, 5000, false);
}

static int setup_short_timeout(void **state)
{
	return setup_opts(state, 300, false);
}

static int setup_1s_timeout(void **state)
{
	return setup_opts(state, 1000, false);
}

static int setup_twin(void **state)
{
	return setup_opts(state, 5000, true);
}

static int teardown(void **state)
{
	struct sfix *f = *state;
	sfix_fini(f);
	free(f);
	return 0;
}

static void fill_pattern(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 13 + seed * 31 + 1);
}

/* Messages that arrive on @sock until it is quiet for @quiet_ms. */
static unsigned take_msgs(struct sfix *f, int sock, struct pmsg *out,
			  unsigned max, int quiet_ms)
{
	unsigned n = 0;
	for (;;) {
		sfix_pump(f, 0);
		if (peer_quiet(sock, quiet_ms))
			return n;
		assert_true(n < max);
		assert_int_equal(peer_recv(sock, &out[n], 2000), 0);
		n++;
	}
}

/* A DMA_READ request's fields, checked to be one. */
static struct vu_dma_rw req_rw(const struct pmsg *m, uint16_t cmd)
{
	struct vu_dma_rw rw;
	assert_int_equal(m->hdr.command, cmd);
	assert_int_equal(m->hdr.flags, VU_F_TYPE_COMMAND);
	assert_int_equal(m->nfds, 0);
	assert_true(m->len >= sizeof(rw));
	memcpy(&rw, m->data, sizeof(rw));
	return rw;
}

/* The correct reply to DMA_READ @req, with data of pattern @seed. */
static void reply_read(int sock, const struct pmsg *req, unsigned seed)
{
	struct vu_dma_rw rw = req_rw(req, VU_CMD_DMA_READ);
	assert_int_equal(req->len, sizeof(rw));
	uint8_t *p = malloc(sizeof(rw) + rw.count);
	assert_non_null(p);
	memcpy(p, &rw, sizeof(rw));
	fill_pattern(p + sizeof(rw), rw.count, seed);
	assert_int_equal(peer_reply(sock, req, p, sizeof(rw) + rw.count,
				    NULL, 0), 0);
	free(p);
}

static void pump_until_done(struct sfix *f, struct done_rec *d, int ms)
{
	int64_t deadline = peer_now_ms() + ms;
	while (!d->calls && peer_now_ms() < deadline)
		sfix_pump(f, 10);
}

/* The client is still served: a GET_INFO gets its reply. */
static void assert_still_served(struct sfix *f)
{
	assert_true(uvfio_server_has_client(f->srv));
	struct vu_device_info in = { .argsz = sizeof(in) };
	struct pmsg rep;
	sfix_call(f, VU_CMD_DEVICE_GET_INFO, &in, sizeof(in), NULL, 0, &rep);
	assert_false(rep.hdr.flags & VU_F_ERROR);
	pmsg_free(&rep);
}

/* The client was dropped: its socket reads EOF. */
static void assert_dropped(struct sfix *f)
{
	sfix_pump(f, 20);
	assert_false(uvfio_server_has_client(f->srv));
	struct pmsg m;
	int r;
	/* Whatever was sent before, then the end. */
	while ((r = peer_recv(f->peer, &m, 2000)) == 0)
		pmsg_free(&m);
	assert_int_equal(r, -ECONNRESET);
}

#define NPARTS 100u

static void test_64_in_flight_rest_queued_matched_by_id(void **state)
{
	struct sfix *f = *state;
	uint8_t *buf = malloc(NPARTS * PART);
	assert_non_null(buf);
	memset(buf, 0, NPARTS * PART);
	struct done_rec d = { 0 };
	assert_int_equal(uvfio_dev_dma_read_async(f->dev, IOVA, buf,
						  NPARTS * PART, 0, on_done,
						  &d), 0);
	static struct pmsg out[NPARTS + 8];
	unsigned nout = take_msgs(f, f->peer, out, NPARTS, 100);
	assert_int_equal(nout, 64);
	/* In address order, one part each, every id different. */
	for (unsigned i = 0; i < nout; i++) {
		struct vu_dma_rw rw = req_rw(&out[i], VU_CMD_DMA_READ);
		assert_int_equal(out[i].len, sizeof(rw));
		assert_int_equal(rw.addr, IOVA + (uint64_t)i * PART);
		assert_int_equal(rw.count, PART);
		for (unsigned j = 0; j < i; j++)
			assert_int_not_equal(out[i].hdr.msg_id,
					     out[j].hdr.msg_id);
	}
	/* One answered: one more goes, the 65th part. */
	reply_read(f->peer, &out[0], 0);
	pmsg_free(&out[0]);
	unsigned more = take_msgs(f, f->peer, out + nout, 8, 100);
	assert_int_equal(more, 1);
	assert_int_equal(req_rw(&out[nout], VU_CMD_DMA_READ).addr,
			 IOVA + 64ull * PART);
	nout++;

	/* The rest answered newest first; never more than 64 owed. */
	unsigned first = 1, replied = 1;
	while (replied < NPARTS) {
		assert_int_equal(d.calls, 0);
		assert_true(nout - first <= 64);
		struct pmsg *m = &out[nout - 1];
		struct vu_dma_rw rw = req_rw(m, VU_CMD_DMA_READ);
		reply_read(f->peer, m, (unsigned)((rw.addr - IOVA) / PART));
		pmsg_free(m);
		replied++;
		/* Keep the owed ones contiguous: move the last in. */
		nout--;
		unsigned got = take_msgs(f, f->peer, out + nout, 8, 5);
		nout += got;
		if (nout == first)
			break;
	}
	pump_until_done(f, &d, 2000);
	assert_int_equal(replied, NPARTS);
	assert_int_equal(d.calls, 1);
	assert_int_equal(d.err, 0);
	/* Each part's data where its address says. */
	uint8_t want[PART];
	for (unsigned i = 0; i < NPARTS; i++) {
		fill_pattern(want, PART, i);
		assert_memory_equal(buf + (size_t)i * PART, want, PART);
	}
	assert_true(peer_quiet(f->peer, 20));
	assert_still_served(f);
	free(buf);
}

/* Start a one-part read and return its request. */
static void start_read(struct sfix *f, uint8_t *buf, size_t len,
		       struct done_rec *d, struct pmsg *req)
{
	memset(d, 0, sizeof(*d));
	assert_int_equal(uvfio_dev_dma_read_async(f->dev, IOVA, buf, len, 0,
						  on_done, d), 0);
	assert_int_equal(take_msgs(f, f->peer, req, 1, 50), 1);
}

static void test_reply_with_unknown_id_drops_client(void **state)
{
	struct sfix *f = *state;
	uint8_t buf[PART];
	struct done_rec d;
	struct pmsg req;
	start_read(f, buf, sizeof(buf), &d, &req);
	struct pmsg other = req;
	other.hdr.msg_id = (uint16_t)(req.hdr.msg_id + 1000);
	reply_read(f->peer, &other, 1);
	pmsg_free(&req);
	pump_until_done(f, &d, 2000);
	assert_int_equal(d.calls, 1);
	assert_int_equal(d.err, -ENOTCONN);
	assert_dropped(f);
}

static void test_reply_with_wrong_command_drops_client(void **state)
{
	struct sfix *f = *state;
	uint8_t buf[PART];
	struct done_rec d;
	struct pmsg req;
	start_read(f, buf, sizeof(buf), &d, &req);
	/* The right id, but a DMA_WRITE reply (addr, count). */
	struct vu_dma_rw rw = req_rw(&req, VU_CMD_DMA_READ);
	struct vu_hdr h = { .msg_id = req.hdr.msg_id,
			    .command = VU_CMD_DMA_WRITE,
			    .flags = VU_F_TYPE_REPLY };
	assert_int_equal(peer_send(f->peer, h, &rw, sizeof(rw), NULL, 0), 0);
	pmsg_free(&req);
	pump_until_done(f, &d, 2000);
	assert_int_equal(d.calls, 1);
	assert_int_equal(d.err, -ENOTCONN);
	assert_dropped(f);
}

/* A reply to @req with @delta bytes of data more than asked, address
 * moved by @addr_delta, count field moved by @count_delta. */
static void reply_read_bad(int sock, const struct pmsg *req, int delta,
			   int64_t addr_delta, int64_t count_delta)
{
	struct vu_dma_rw rw = req_rw(req, VU_CMD_DMA_READ);
	size_t n = (size_t)((int64_t)rw.count + delta);
	uint8_t *p = calloc(1, sizeof(rw) + n);
	assert_non_null(p);
	rw.addr += (uint64_t)addr_delta;
	rw.count += (uint64_t)count_delta;
	memcpy(p, &rw, sizeof(rw));
	memset(p + sizeof(rw), 0x77, n);
	assert_int_equal(peer_reply(sock, req, p, sizeof(rw) + n, NULL, 0), 0);
	free(p);
}

static void test_malformed_read_reply_is_eio(void **state)
{
	struct sfix *f = *state;
	static const struct { int delta; int64_t addr, count; } bad[] = {
		{ -1, 0, 0 },       /* a byte short */
		{ 1, 0, 0 },        /* a byte too many */
		{ 0, PART, 0 },     /* another address */
		{ 0, 0, -1 },       /* count not what was asked */
		{ -(int)PART, 0, 0 },  /* no data at all */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t buf[PART];
		struct done_rec d;
		struct pmsg req;
		start_read(f, buf, sizeof(buf), &d, &req);
		reply_read_bad(f->peer, &req, bad[i].delta, bad[i].addr,
			       bad[i].count);
		pmsg_free(&req);
		pump_until_done(f, &d, 2000);
		assert_int_equal(d.calls, 1);
		assert_int_equal(d.err, -EIO);
		/* The client's mistake costs it the DMA, not the connection. */
		assert_still_served(f);
	}
}

static void test_malformed_write_reply_is_eio(void **state)
{
	struct sfix *f = *state;
	uint8_t src[64];
	fill_pattern(src, sizeof(src), 4);
	static const struct { size_t len; int64_t addr, count; } bad[] = {
		{ 8, 0, 0 },            /* shorter than addr + count */
		{ 16, 8, 0 },           /* another address */
		{ 16, 0, 1 },           /* another count */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct done_rec d = { 0 };
		assert_int_equal(uvfio_dev_dma_write_async(f->dev, IOVA + 64,
							   src, sizeof(src), 0,
							   on_done, &d), 0);
		struct pmsg req;
		assert_int_equal(take_msgs(f, f->peer, &req, 1, 50), 1);
		struct vu_dma_rw rw = req_rw(&req, VU_CMD_DMA_WRITE);
		/* The request carries the data. */
		assert_int_equal(rw.addr, IOVA + 64);
		assert_int_equal(rw.count, sizeof(src));
		assert_int_equal(req.len, sizeof(rw) + sizeof(src));
		assert_memory_equal(req.data + sizeof(rw), src, sizeof(src));
		rw.addr += (uint64_t)bad[i].addr;
		rw.count += (uint64_t)bad[i].count;
		assert_int_equal(peer_reply(f->peer, &req, &rw, bad[i].len,
					    NULL, 0), 0);
		pmsg_free(&req);
		pump_until_done(f, &d, 2000);
		assert_int_equal(d.calls, 1);
		assert_int_equal(d.err, -EIO);
		assert_still_served(f);
	}
	/* And the right reply: done with 0. */
	struct done_rec d = { 0 };
	assert_int_equal(uvfio_dev_dma_write_async(f->dev, IOVA + 64, src,
						   sizeof(src), 0, on_done,
						   &d), 0);
	struct pmsg req;
	assert_int_equal(take_msgs(f, f->peer, &req, 1, 50), 1);
	struct vu_dma_rw rw = req_rw(&req, VU_CMD_DMA_WRITE);
	assert_int_equal(peer_reply(f->peer, &req, &rw, sizeof(rw), NULL, 0), 0);
	pmsg_free(&req);
	pump_until_done(f, &d, 2000);
	assert_int_equal(d.calls, 1);
	assert_int_equal(d.err, 0);
}

static void test_error_reply_gives_its_errno(void **state)
{
	struct sfix *f = *state;
	static const struct { uint32_t err; int want; } cases[] = {
		{ EFAULT, -EFAULT },
		{ ENODEV, -ENODEV },
		{ 0, -EIO },            /* an error without an errno */
		{ 70000, -EIO },        /* no errno at all */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t buf[PART];
		memset(buf, 0x11, sizeof(buf));
		struct done_rec d;
		struct pmsg req;
		start_read(f, buf, sizeof(buf), &d, &req);
		assert_int_equal(peer_reply_error(f->peer, &req, cases[i].err), 0);
		pmsg_free(&req);
		pump_until_done(f, &d, 2000);
		assert_int_equal(d.calls, 1);
		assert_int_equal(d.err, cases[i].want);
		assert_still_served(f);
	}
}

static void test_reply_with_fds_is_einval_and_closed(void **state)
{
	struct sfix *f = *state;
	int base = count_open_fds();
	uint8_t buf[PART];
	struct done_rec d;
	struct pmsg req;
	start_read(f, buf, sizeof(buf), &d, &req);
	struct vu_dma_rw rw = req_rw(&req, VU_CMD_DMA_READ);
	uint8_t *p = calloc(1, sizeof(rw) + PART);
	memcpy(p, &rw, sizeof(rw));
	int e[2] = { eventfd(0, EFD_CLOEXEC), eventfd(0, EFD_CLOEXEC) };
	assert_int_equal(peer_reply(f->peer, &req, p, sizeof(rw) + PART, e, 2),
			 0);
	close(e[0]);
	close(e[1]);
	free(p);
	pmsg_free(&req);
	pump_until_done(f, &d, 2000);
	assert_int_equal(d.calls, 1);
	assert_int_equal(d.err, -EINVAL);
	assert_still_served(f);
	/* The server kept neither. */
	assert_int_equal(count_open_fds(), base);
}

static void test_no_reply_within_timeout_drops_client(void **state)
{
	struct sfix *f = *state;
	uint8_t buf[PART];
	struct done_rec d;
	struct pmsg req;
	int64_t t0 = peer_now_ms();
	start_read(f, buf, sizeof(buf), &d, &req);
	pmsg_free(&req);
	/* Nothing happens for a while... */
	sfix_pump(f, 100);
	if (peer_now_ms() - t0 < 250) {   /* (unless the machine stalled) */
		assert_int_equal(d.calls, 0);
		assert_true(uvfio_server_has_client(f->srv));
	}
	/* ...then the client is dropped: no one pumps faster than that. */
	pump_until_done(f, &d, 5000);
	assert_int_equal(d.calls, 1);
	assert_int_equal(d.err, -ETIMEDOUT);
	assert_true(d.at - t0 >= 300);
	assert_true(d.at - t0 < 3000);
	assert_dropped(f);
}

static void test_client_that_keeps_answering_is_not_timed_out(void **state)
{
	struct sfix *f = *state;
	/* Four parts, answered 400 ms apart: 1.6 s in all, each within
	 * the 1 s timeout of the one before. */
	uint8_t *buf = calloc(4, PART);
	struct done_rec d = { 0 };
	assert_int_equal(uvfio_dev_dma_read_async(f->dev, IOVA, buf, 4 * PART,
						  0, on_done, &d), 0);
	struct pmsg req[4];
	assert_int_equal(take_msgs(f, f->peer, req, 4, 50), 4);
	for (unsigned i = 0; i < 4; i++) {
		sfix_pump(f, 400);
		assert_int_equal(d.calls, 0);
		reply_read(f->peer, &req[i], i);
		pmsg_free(&req[i]);
	}
	pump_until_done(f, &d, 2000);
	assert_int_equal(d.calls, 1);
	assert_int_equal(d.err, 0);
	assert_still_served(f);
	free(buf);
}

/* BAR2's write callback starts a DMA, as a device's doorbell would. */
struct kick {
	uint8_t buf[256];
	struct done_rec d;
	unsigned flags;
	int r;
};

static void start_dma_from_callback(struct sfix *f, uint64_t off, size_t len)
{
	struct kick *k = f->user;
	k->r = uvfio_dev_dma_read_async(f->dev, IOVA, k->buf, sizeof(k->buf),
					k->flags, on_done, &k->d);
}

static void test_request_from_handler_goes_after_its_reply(void **state)
{
	struct sfix *f = *state;
	struct kick k = { .flags = 0 };
	f->user = &k;
	f->on_bar2_write = start_dma_from_callback;
	uint8_t w[16] = { 0 };
	struct vu_region_rw *rw = (void *)w;
	uint8_t msg[sizeof(*rw) + 4];
	*rw = (struct vu_region_rw){ .offset = 0, .region = 2, .count = 4 };
	memcpy(msg, rw, sizeof(*rw));
	memset(msg + sizeof(*rw), 1, 4);
	uint16_t id = sfix_send(f, VU_CMD_REGION_WRITE, 0, msg, sizeof(msg),
				NULL, 0);
	struct pmsg m[2];
	assert_int_equal(take_msgs(f, f->peer, m, 2, 100), 2);
	assert_int_equal(k.r, 0);
	/* The command's reply first, then the device's request. */
	assert_int_equal(m[0].hdr.msg_id, id);
	assert_int_equal(m[0].hdr.command, VU_CMD_REGION_WRITE);
	assert_int_equal(m[0].hdr.flags, VU_F_TYPE_REPLY);
	reply_read(f->peer, &m[1], 3);
	pmsg_free(&m[0]);
	pmsg_free(&m[1]);
	pump_until_done(f, &k.d, 2000);
	assert_int_equal(k.d.calls, 1);
	assert_int_equal(k.d.err, 0);
	uint8_t want[256];
	fill_pattern(want, sizeof(want), 3);
	assert_memory_equal(k.buf, want, sizeof(want));
}

static void test_ordered_request_goes_before_its_reply(void **state)
{
	struct sfix *f = *state;
	struct kick k = { .flags = UVFIO_DMA_ORDERED };
	f->user = &k;
	f->on_bar2_write = start_dma_from_callback;
	uint8_t msg[sizeof(struct vu_region_rw) + 4];
	struct vu_region_rw rw = { .offset = 0, .region = 2, .count = 4 };
	memcpy(msg, &rw, sizeof(rw));
	memset(msg + sizeof(rw), 1, 4);
	uint16_t id = sfix_send(f, VU_CMD_REGION_WRITE, 0, msg, sizeof(msg),
				NULL, 0);
	/* A later command waits too. */
	struct vu_device_info in = { .argsz = sizeof(in) };
	uint16_t id2 = sfix_send(f, VU_CMD_DEVICE_GET_INFO, 0, &in, sizeof(in),
				 NULL, 0);
	struct pmsg m[3];
	assert_int_equal(take_msgs(f, f->peer, m, 1, 100), 1);
	assert_int_equal(k.r, 0);
	/* Only the request: the write's reply waits for the DMA. */
	assert_int_equal(m[0].hdr.command, VU_CMD_DMA_READ);
	assert_int_equal(k.d.calls, 0);
	reply_read(f->peer, &m[0], 6);
	pmsg_free(&m[0]);
	assert_int_equal(take_msgs(f, f->peer, m, 2, 100), 2);
	assert_int_equal(k.d.calls, 1);
	assert_int_equal(k.d.err, 0);
	assert_int_equal(m[0].hdr.msg_id, id);
	assert_int_equal(m[0].hdr.command, VU_CMD_REGION_WRITE);
	assert_int_equal(m[1].hdr.msg_id, id2);
	assert_int_equal(m[1].hdr.command, VU_CMD_DEVICE_GET_INFO);
	pmsg_free(&m[0]);
	pmsg_free(&m[1]);
}

static void unmap_window(struct sfix *f)
{
	struct vu_dma_unmap u = { .argsz = sizeof(u), .addr = IOVA,
				  .size = WSIZE };
	struct pmsg rep;
	sfix_call(f, VU_CMD_DMA_UNMAP, &u, sizeof(u), NULL, 0, &rep);
	assert_false(rep.hdr.flags & VU_F_ERROR);
	pmsg_free(&rep);
}

static void test_late_reply_of_aborted_dma_is_dropped(void **state)
{
	struct sfix *f = *state;
	uint8_t buf[PART];
	memset(buf, 0, sizeof(buf));
	struct done_rec d;
	struct pmsg req;
	start_read(f, buf, sizeof(buf), &d, &req);
	/* The window goes: the DMA ends with EFAULT, its buffer is the
	 * device's again. */
	unmap_window(f);
	assert_int_equal(d.calls, 1);
	assert_int_equal(d.err, -EFAULT);
	memset(buf, 0xa5, sizeof(buf));
	/* Its reply comes anyway: read and dropped. */
	reply_read(f->peer, &req, 9);
	pmsg_free(&req);
	sfix_pump(f, 50);
	uint8_t want[PART];
	memset(want, 0xa5, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	assert_int_equal(d.calls, 1);
	assert_still_served(f);
}

static void test_twin_half_received_reply_of_aborted_dma(void **state)
{
	struct sfix *f = *state;
	uint8_t *buf = calloc(1, PART);
	struct done_rec d = { 0 };
	assert_int_equal(uvfio_dev_dma_read_async(f->dev, IOVA, buf, PART, 0,
						  on_done, &d), 0);
	/* On the twin socket, not the main one. */
	struct pmsg req;
	assert_int_equal(take_msgs(f, f->twin, &req, 1, 50), 1);
	assert_true(peer_quiet(f->peer, 10));
	struct vu_dma_rw rw = req_rw(&req, VU_CMD_DMA_READ);
	size_t total = sizeof(struct vu_hdr) + sizeof(rw) + PART;
	uint8_t *msg = malloc(total);
	struct vu_hdr h = { .msg_id = req.hdr.msg_id, .command = VU_CMD_DMA_READ,
			    .msg_size = (uint32_t)total,
			    .flags = VU_F_TYPE_REPLY };
	memcpy(msg, &h, sizeof(h));
	memcpy(msg + sizeof(h), &rw, sizeof(rw));
	fill_pattern(msg + sizeof(h) + sizeof(rw), PART, 2);
	/* Half of it, received (into the device's buffer)... */
	size_t half = sizeof(h) + sizeof(rw) + PART / 2;
	assert_int_equal(peer_send_raw(f->twin, msg, half, NULL, 0), 0);
	sfix_pump(f, 30);
	assert_int_equal(d.calls, 0);
	/* ...then the DMA is aborted and its buffer freed. */
	unmap_window(f);
	assert_int_equal(d.calls, 1);
	assert_int_equal(d.err, -EFAULT);
	memset(buf, 0xa5, PART);
	uint8_t *keep = buf;
	/* The rest must not land there (ASan: nor in freed memory). */
	assert_int_equal(peer_send_raw(f->twin, msg + half, total - half, NULL,
				       0), 0);
	sfix_pump(f, 50);
	for (size_t i = 0; i < PART; i++)
		assert_int_equal(keep[i], 0xa5);
	free(buf);
	free(msg);
	pmsg_free(&req);
	assert_still_served(f);

	/* A new window and DMA work as before. */
	sfix_map_fdless(f, IOVA, WSIZE);
	uint8_t *b2 = calloc(1, PART);
	memset(&d, 0, sizeof(d));
	assert_int_equal(uvfio_dev_dma_read_async(f->dev, IOVA, b2, PART, 0,
						  on_done, &d), 0);
	assert_int_equal(take_msgs(f, f->twin, &req, 1, 50), 1);
	reply_read(f->twin, &req, 8);
	pmsg_free(&req);
	pump_until_done(f, &d, 2000);
	assert_int_equal(d.err, 0);
	uint8_t want[PART];
	fill_pattern(want, PART, 8);
	assert_memory_equal(b2, want, PART);
	free(b2);
}

/*
 * ---- the synchronous path (conn_dma_rw) ----
 *
 * Called here from the test's own code between dispatches, as a model
 * does on its own events (a packet to put in guest memory), with the
 * loop then run as a caller's loop runs it: dispatch when the server's
 * fd is readable.  What the wait left to the loop must make it so.
 */

struct sync_peer {
	int sock;
	bool send_cmd_first;     /* a command before the reply */
	bool answer;
	int r;
	uint16_t cmd_id;
};

static void *sync_peer_main(void *arg)
{
	struct sync_peer *p = arg;
	struct pmsg req;
	p->r = peer_recv(p->sock, &req, 5000);
	if (p->r < 0)
		return NULL;
	if (p->send_cmd_first) {
		struct vu_device_info in = { .argsz = sizeof(in) };
		struct vu_hdr h = { .msg_id = p->cmd_id,
				    .command = VU_CMD_DEVICE_GET_INFO };
		p->r = peer_send(p->sock, h, &in, sizeof(in), NULL, 0);
	}
	if (p->answer && !p->r) {
		struct vu_dma_rw rw;
		memcpy(&rw, req.data, sizeof(rw));
		uint8_t *b = malloc(sizeof(rw) + rw.count);
		memcpy(b, &rw, sizeof(rw));
		fill_pattern(b + sizeof(rw), rw.count, 5);
		p->r = peer_reply(p->sock, &req, b, sizeof(rw) + rw.count,
				  NULL, 0);
		free(b);
	}
	pmsg_free(&req);
	return NULL;
}

static void test_command_queued_by_sync_dma_outside_loop_answered(void **state)
{
	struct sfix *f = *state;
	struct sync_peer p = { .sock = f->peer, .send_cmd_first = true,
			       .answer = true, .cmd_id = 4242 };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, sync_peer_main, &p), 0);
	uint8_t buf[1000];
	assert_int_equal(uvfio_dev_dma_read(f->dev, IOVA + 8, buf,
					    sizeof(buf)), 0);
	pthread_join(t, NULL);
	assert_int_equal(p.r, 0);
	uint8_t want[1000];
	fill_pattern(want, sizeof(want), 5);
	assert_memory_equal(buf, want, sizeof(want));
	/* The command that came meanwhile is answered afterwards. */
	struct pmsg rep;
	assert_int_equal(sfix_recv(f, f->peer, &rep), 0);
	assert_int_equal(rep.hdr.msg_id, 4242);
	assert_int_equal(rep.hdr.command, VU_CMD_DEVICE_GET_INFO);
	assert_false(rep.hdr.flags & VU_F_ERROR);
	pmsg_free(&rep);
}

static void test_sync_dma_timeout_outside_loop_drops_client(void **state)
{
	struct sfix *f = *state;
	struct sync_peer p = { .sock = f->peer, .answer = false };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, sync_peer_main, &p), 0);
	uint8_t buf[64];
	int64_t t0 = peer_now_ms();
	assert_int_equal(uvfio_dev_dma_read(f->dev, IOVA, buf, sizeof(buf)),
			 -ETIMEDOUT);
	int64_t dt = peer_now_ms() - t0;
	pthread_join(t, NULL);
	assert_int_equal(p.r, 0);
	assert_true(dt >= 300);
	assert_true(dt < 3000);
	/* Later calls fail at once; the loop drops the client. */
	assert_int_equal(uvfio_dev_dma_read(f->dev, IOVA, buf, sizeof(buf)),
			 -ENOTCONN);
	assert_dropped(f);
}

/*
 * The reply to an asynchronous request that arrives while a synchronous
 * one is awaited (called from the model's own code, outside the loop):
 * the device hears of it from the loop, which must wake for it.
 */
struct mixed_peer {
	int sock;
	int r;
};

static void *mixed_peer_main(void *arg)
{
	struct mixed_peer *p = arg;
	struct pmsg a, s;
	/* The async request first, then the sync one. */
	if ((p->r = peer_recv(p->sock, &a, 5000)) < 0)
		return NULL;
	if ((p->r = peer_recv(p->sock, &s, 5000)) < 0) {
		pmsg_free(&a);
		return NULL;
	}
	reply_read(p->sock, &a, 1);
	reply_read(p->sock, &s, 2);
	pmsg_free(&a);
	pmsg_free(&s);
	return NULL;
}

static void test_async_reply_read_by_sync_dma_outside_loop_delivered(void **state)
{
	struct sfix *f = *state;
	uint8_t abuf[64], sbuf[64];
	struct done_rec d = { 0 };
	assert_int_equal(uvfio_dev_dma_read_async(f->dev, IOVA, abuf,
						  sizeof(abuf), 0, on_done,
						  &d), 0);
	struct mixed_peer p = { .sock = f->peer };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, mixed_peer_main, &p), 0);
	assert_int_equal(uvfio_dev_dma_read(f->dev, IOVA + 4096, sbuf,
					    sizeof(sbuf)), 0);
	pthread_join(t, NULL);
	assert_int_equal(p.r, 0);
	/* Not told inside the synchronous call... */
	assert_int_equal(d.calls, 0);
	/* ...but by the loop, without anything more from the client. */
	pump_until_done(f, &d, 1000);
	assert_int_equal(d.calls, 1);
	assert_int_equal(d.err, 0);
	uint8_t want[64];
	fill_pattern(want, sizeof(want), 1);
	assert_memory_equal(abuf, want, sizeof(want));
	fill_pattern(want, sizeof(want), 2);
	assert_memory_equal(sbuf, want, sizeof(want));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define TS(fn) cmocka_unit_test_setup_teardown(fn, setup_short_timeout, teardown)
#define T1(fn) cmocka_unit_test_setup_teardown(fn, setup_1s_timeout, teardown)
#define TT(fn) cmocka_unit_test_setup_teardown(fn, setup_twin, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_64_in_flight_rest_queued_matched_by_id),
		T(test_reply_with_unknown_id_drops_client),
		T(test_reply_with_wrong_command_drops_client),
		T(test_malformed_read_reply_is_eio),
		T(test_malformed_write_reply_is_eio),
		T(test_error_reply_gives_its_errno),
		T(test_reply_with_fds_is_einval_and_closed),
		TS(test_no_reply_within_timeout_drops_client),
		T1(test_client_that_keeps_answering_is_not_timed_out),
		T(test_request_from_handler_goes_after_its_reply),
		T(test_ordered_request_goes_before_its_reply),
		T(test_late_reply_of_aborted_dma_is_dropped),
		TT(test_twin_half_received_reply_of_aborted_dma),
		T(test_command_queued_by_sync_dma_outside_loop_answered),
		TS(test_sync_dma_timeout_outside_loop_drops_client),
		T(test_async_reply_read_by_sync_dma_outside_loop_delivered),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
