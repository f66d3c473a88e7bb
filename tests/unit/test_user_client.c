/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The driver side's vfio-user backend (src/client/user*.c) in process,
 * against a scripted server thread on the other end of a socketpair:
 * a reply with another id or command is -EPROTO and, once late replies
 * come, they are dropped rather than taken for later requests; short or
 * mismatched replies are -EPROTO; error replies become their -errno;
 * a reply bigger than the caller's buffer is refused without writing
 * past it; fds on replies that carry none are closed; a server that
 * closes mid-reply is a prompt, sticky error; a reply that does not
 * come is -ETIMEDOUT within the timeout, and dropped when it comes late,
 * and one trickled a byte at a time is -ETIMEDOUT within the timeout too;
 * the server's DMA requests that come while a reply is awaited are
 * served, checked against the window table; VERSION replies are checked.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "client/user.h"
#include "testutil.h"
#include "vu_peer.h"

#define TIMEOUT_MS 300
#define SRV_XFER (64u << 10)

struct cfix;
typedef int (*script_fn)(struct cfix *f);

struct cfix {
	int srv;                     /* the scripted server's end */
	struct uvfio_backend *be;
	const struct uvfio_backend_ops *ops;
	pthread_t t;
	bool running;
	script_fn fn;
	int r;                       /* the script's result: 0, or -line */
	atomic_bool gave_up;         /* the client's call returned */
	const char *version_json;    /* the server's VERSION reply */
	uint16_t version_minor;
	void *arg;
};

#define CHECK(x) do { if (!(x)) return -__LINE__; } while (0)

static void *script_main(void *arg)
{
	struct cfix *f = arg;
	f->r = f->fn(f);
	return NULL;
}

static void script_start(struct cfix *f, script_fn fn)
{
	f->fn = fn;
	f->r = 1;
	atomic_store(&f->gave_up, false);
	assert_int_equal(pthread_create(&f->t, NULL, script_main, f), 0);
	f->running = true;
}

/* Wait for the script and check that it did what it meant to. */
static void script_join(struct cfix *f)
{
	pthread_join(f->t, NULL);
	f->running = false;
	if (f->r)
		print_error("script failed at line %d\n", -f->r);
	assert_int_equal(f->r, 0);
}

/* The server's side of VERSION. */
static int script_version(struct cfix *f)
{
	struct pmsg m;
	CHECK(peer_recv(f->srv, &m, 3000) == 0);
	CHECK(m.hdr.command == VU_CMD_VERSION);
	const char *json = f->version_json ? f->version_json :
			   "{\"capabilities\":{\"max_msg_fds\":16,"
			   "\"max_data_xfer_size\":65536}}";
	uint8_t buf[512];
	struct vu_version v = { .major = 0, .minor = f->version_minor };
	memcpy(buf, &v, sizeof(v));
	size_t n = strlen(json) + 1;
	memcpy(buf + sizeof(v), json, n);
	int *fds = f->arg;
	unsigned nfds = 0;
	while (fds && fds[nfds] >= 0)
		nfds++;
	CHECK(peer_reply(f->srv, &m, buf, sizeof(v) + n, fds, nfds) == 0);
	pmsg_free(&m);
	return 0;
}

static struct uvfio_backend_conf conf(void)
{
	return (struct uvfio_backend_conf){
		.log = { .fn = test_client_log, .level = LOG_DEBUG },
		.timeout_ms = TIMEOUT_MS,
		.max_data_xfer_size = 1u << 20,
		.max_msg_fds = 16,
		.twin_socket = false,
		.dma_thread = false,
	};
}

/* Open the backend against the script's VERSION; its result. */
static int cfix_open(struct cfix *f)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			 0);
	f->srv = sv[1];
	f->be = NULL;
	script_start(f, script_version);
	struct uvfio_backend_conf cf = conf();
	int r = uvfio_user_open_fd(sv[0], &cf, &f->be);
	script_join(f);
	f->ops = f->be ? f->be->ops : NULL;
	return r;
}

static void cfix_close(struct cfix *f)
{
	if (f->running) {
		pthread_join(f->t, NULL);
		f->running = false;
	}
	if (f->be)
		f->be->ops->close(f->be);
	f->be = NULL;
	if (f->srv >= 0)
		close(f->srv);
	f->srv = -1;
}

static int setup(void **state)
{
	struct cfix *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	f->srv = -1;
	*state = f;
	return cfix_open(f);
}

static int teardown(void **state)
{
	struct cfix *f = *state;
	cfix_close(f);
	free(f);
	return 0;
}

/* ---- scripted replies ---- */

/* The next request, which must be @cmd. */
static int want_req(struct cfix *f, struct pmsg *m, uint16_t cmd)
{
	CHECK(peer_recv(f->srv, m, 3000) == 0);
	CHECK(m->hdr.command == cmd);
	CHECK((m->hdr.flags & VU_F_TYPE_MASK) == VU_F_TYPE_COMMAND);
	return 0;
}

static int reply_info(struct cfix *f, const struct pmsg *req, uint32_t nreg)
{
	struct vu_device_info out = { .argsz = sizeof(out),
				      .flags = VFIO_DEVICE_FLAGS_PCI,
				      .num_regions = nreg, .num_irqs = 5 };
	return peer_reply(f->srv, req, &out, sizeof(out), NULL, 0);
}

static int get_info(struct cfix *f, uint32_t *nreg)
{
	struct uvfio_device_info info = { 0 };
	int r = f->ops->get_info(f->be, &info);
	if (!r && nreg)
		*nreg = info.num_regions;
	return r;
}

/* A GET_INFO answered right: the connection still works. */
static int script_info_ok(struct cfix *f)
{
	struct pmsg m;
	int r = want_req(f, &m, VU_CMD_DEVICE_GET_INFO);
	if (r)
		return r;
	CHECK(reply_info(f, &m, 42) == 0);
	pmsg_free(&m);
	return 0;
}

static void assert_usable(struct cfix *f)
{
	script_start(f, script_info_ok);
	uint32_t n = 0;
	assert_int_equal(get_info(f, &n), 0);
	script_join(f);
	assert_int_equal(n, 42);
}

/* ---- mismatched replies ---- */

static int script_wrong_id_then_late(struct cfix *f)
{
	struct pmsg m1, m2;
	int r = want_req(f, &m1, VU_CMD_DEVICE_GET_INFO);
	if (r)
		return r;
	/* Another id: not this request's reply. */
	struct pmsg other = m1;
	other.hdr.msg_id = (uint16_t)(m1.hdr.msg_id + 7);
	CHECK(reply_info(f, &other, 1) == 0);
	/* The client gave up on m1; its real reply comes late, before
	 * the reply to the next request. */
	if ((r = want_req(f, &m2, VU_CMD_DEVICE_GET_INFO)))
		return r;
	CHECK(m2.hdr.msg_id != m1.hdr.msg_id);
	CHECK(reply_info(f, &m1, 2) == 0);
	CHECK(reply_info(f, &m2, 3) == 0);
	pmsg_free(&m1);
	pmsg_free(&m2);
	return 0;
}

static void test_reply_with_other_id_then_late_reply_dropped(void **state)
{
	struct cfix *f = *state;
	script_start(f, script_wrong_id_then_late);
	uint32_t n = 0;
	assert_int_equal(get_info(f, &n), -EPROTO);
	/* The late reply (2) is not taken for the next request's (3). */
	assert_int_equal(get_info(f, &n), 0);
	assert_int_equal(n, 3);
	script_join(f);
	assert_usable(f);
}

static int script_wrong_command(struct cfix *f)
{
	struct pmsg m;
	int r = want_req(f, &m, VU_CMD_DEVICE_GET_INFO);
	if (r)
		return r;
	struct pmsg other = m;
	other.hdr.command = VU_CMD_DEVICE_GET_IRQ_INFO;
	CHECK(reply_info(f, &other, 1) == 0);
	pmsg_free(&m);
	return 0;
}

static void test_reply_with_other_command_is_eproto(void **state)
{
	struct cfix *f = *state;
	script_start(f, script_wrong_command);
	assert_int_equal(get_info(f, NULL), -EPROTO);
	script_join(f);
	assert_usable(f);
}

/* ---- short and mismatched bodies ---- */

static int script_short_bodies(struct cfix *f)
{
	struct pmsg m;
	int r;
	/* GET_INFO: 8 bytes of 16. */
	if ((r = want_req(f, &m, VU_CMD_DEVICE_GET_INFO)))
		return r;
	struct vu_device_info out = { .argsz = 16, .num_regions = 9 };
	CHECK(peer_reply(f->srv, &m, &out, 8, NULL, 0) == 0);
	pmsg_free(&m);
	/* GET_INFO: argsz below its struct. */
	if ((r = want_req(f, &m, VU_CMD_DEVICE_GET_INFO)))
		return r;
	out.argsz = 15;
	CHECK(peer_reply(f->srv, &m, &out, sizeof(out), NULL, 0) == 0);
	pmsg_free(&m);
	/* IRQ_INFO for another index. */
	if ((r = want_req(f, &m, VU_CMD_DEVICE_GET_IRQ_INFO)))
		return r;
	struct vu_irq_info ii;
	memcpy(&ii, m.data, sizeof(ii));
	ii.index++;
	ii.count = 1;
	CHECK(peer_reply(f->srv, &m, &ii, sizeof(ii), NULL, 0) == 0);
	pmsg_free(&m);
	/* REGION_READ: a byte short, then another offset, then count. */
	for (int k = 0; k < 3; k++) {
		if ((r = want_req(f, &m, VU_CMD_REGION_READ)))
			return r;
		struct vu_region_rw rw;
		memcpy(&rw, m.data, sizeof(rw));
		size_t n = rw.count;
		if (k == 0)
			n--;
		if (k == 1)
			rw.offset += 4;
		if (k == 2)
			rw.count--;
		uint8_t *b = malloc(sizeof(rw) + n);
		memcpy(b, &rw, sizeof(rw));
		memset(b + sizeof(rw), 0xcd, n);
		CHECK(peer_reply(f->srv, &m, b, sizeof(rw) + n, NULL, 0) == 0);
		free(b);
		pmsg_free(&m);
	}
	/* DMA_UNMAP: an echo of another range. */
	if ((r = want_req(f, &m, VU_CMD_DMA_UNMAP)))
		return r;
	struct vu_dma_unmap du;
	memcpy(&du, m.data, sizeof(du));
	du.size *= 2;
	CHECK(peer_reply(f->srv, &m, &du, sizeof(du), NULL, 0) == 0);
	pmsg_free(&m);
	return 0;
}

static void test_short_or_mismatched_reply_is_eproto(void **state)
{
	struct cfix *f = *state;
	script_start(f, script_short_bodies);
	uint32_t n = 77;
	assert_int_equal(get_info(f, &n), -EPROTO);
	assert_int_equal(get_info(f, &n), -EPROTO);
	assert_int_equal(n, 77);
	struct uvfio_irq_info ii = { 0 };
	assert_int_equal(f->ops->irq_info(f->be, 2, &ii), -EPROTO);
	uint8_t buf[1024];
	for (int k = 0; k < 3; k++) {
		size_t len = k == 2 ? 8 : sizeof(buf);
		assert_int_equal(f->ops->region_read(f->be, 0, 0x100, buf, len),
				 -EPROTO);
	}
	assert_int_equal(f->ops->dma_unmap(f->be, 0x10000, 0x1000), -EPROTO);
	script_join(f);
	assert_usable(f);
}

/* ---- error replies ---- */

static const struct { uint32_t err; int want; } errs[] = {
	{ EINVAL, -EINVAL }, { ENODEV, -ENODEV }, { 4095, -4095 },
	{ 0, -EIO }, { 4096, -EIO }, { 0x80000000u, -EIO },
};
#define NERRS (sizeof(errs) / sizeof(errs[0]))

static int script_errors(struct cfix *f)
{
	for (size_t i = 0; i < 2 * NERRS; i++) {
		struct pmsg m;
		uint16_t cmd = i < NERRS ? VU_CMD_DEVICE_RESET : VU_CMD_REGION_READ;
		int r = want_req(f, &m, cmd);
		if (r)
			return r;
		CHECK(peer_reply_error(f->srv, &m, errs[i % NERRS].err) == 0);
		pmsg_free(&m);
	}
	return 0;
}

static void test_error_reply_is_its_errno(void **state)
{
	struct cfix *f = *state;
	script_start(f, script_errors);
	for (size_t i = 0; i < NERRS; i++)
		assert_int_equal(f->ops->reset(f->be), errs[i].want);
	uint8_t buf[600];
	for (size_t i = 0; i < NERRS; i++)
		assert_int_equal(f->ops->region_read(f->be, 0, 0, buf,
						     sizeof(buf)),
				 errs[i].want);
	script_join(f);
	assert_usable(f);
}

/* ---- replies bigger than the caller's buffer ---- */

static int script_too_big(struct cfix *f)
{
	struct pmsg m;
	int r;
	/* DEVICE_FEATURE GET: 16 bytes of data for 8 offered. */
	if ((r = want_req(f, &m, VU_CMD_DEVICE_FEATURE)))
		return r;
	uint8_t b[8 + 16];
	memcpy(b, m.data, 8);
	memset(b + 8, 0xee, 16);
	CHECK(peer_reply(f->srv, &m, b, sizeof(b), NULL, 0) == 0);
	pmsg_free(&m);
	/* REGION_READ: 4 bytes more data than asked. */
	if ((r = want_req(f, &m, VU_CMD_REGION_READ)))
		return r;
	struct vu_region_rw rw;
	memcpy(&rw, m.data, sizeof(rw));
	uint8_t *p = malloc(sizeof(rw) + rw.count + 4);
	memcpy(p, &rw, sizeof(rw));
	memset(p + sizeof(rw), 0xee, rw.count + 4);
	CHECK(peer_reply(f->srv, &m, p, sizeof(rw) + rw.count + 4, NULL,
			 0) == 0);
	free(p);
	pmsg_free(&m);
	/* REGION_INFO: more than argsz offered. */
	if ((r = want_req(f, &m, VU_CMD_DEVICE_GET_REGION_INFO)))
		return r;
	struct vu_region_info ri;
	memcpy(&ri, m.data, sizeof(ri));
	size_t n = ri.argsz + 8;
	p = calloc(1, n);
	ri.size = 4096;
	memcpy(p, &ri, sizeof(ri));
	CHECK(peer_reply(f->srv, &m, p, n, NULL, 0) == 0);
	free(p);
	pmsg_free(&m);
	return 0;
}

static void test_reply_bigger_than_buffer_refused(void **state)
{
	struct cfix *f = *state;
	script_start(f, script_too_big);
	uint8_t buf[8 + 64];
	memset(buf, 0x11, sizeof(buf));
	assert_int_equal(f->ops->device_feature(f->be,
				VFIO_DEVICE_FEATURE_GET | 3, buf, 8), -EPROTO);
	/* Not a byte past the 8 offered. */
	for (size_t i = 8; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0x11);
	memset(buf, 0x11, sizeof(buf));
	assert_int_equal(f->ops->region_read(f->be, 0, 0, buf, 8), -EPROTO);
	for (size_t i = 8; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0x11);
	struct uvfio_region_info ri;
	assert_int_equal(f->ops->region_info(f->be, 0, &ri), -EPROTO);
	script_join(f);
	assert_usable(f);
}

/* ---- fds nobody asked for ---- */

static int script_fds(struct cfix *f)
{
	struct pmsg m;
	int r, e[20];
	for (unsigned i = 0; i < 20; i++)
		CHECK((e[i] = eventfd(0, EFD_CLOEXEC)) >= 0);
	/* RESET's reply with 3 fds. */
	if ((r = want_req(f, &m, VU_CMD_DEVICE_RESET)))
		return r;
	CHECK(peer_reply(f->srv, &m, NULL, 0, e, 3) == 0);
	pmsg_free(&m);
	/* An error reply with one. */
	if ((r = want_req(f, &m, VU_CMD_DEVICE_RESET)))
		return r;
	struct vu_hdr h = { .msg_id = m.hdr.msg_id, .command = m.hdr.command,
			    .flags = VU_F_TYPE_REPLY | VU_F_ERROR,
			    .error = EBUSY };
	CHECK(peer_send(f->srv, h, NULL, 0, e, 1) == 0);
	pmsg_free(&m);
	/* REGION_READ's reply with 2, GET_INFO's with 20 (past 16). */
	if ((r = want_req(f, &m, VU_CMD_REGION_READ)))
		return r;
	struct vu_region_rw rw;
	memcpy(&rw, m.data, sizeof(rw));
	uint8_t b[sizeof(rw) + 4] = { 0 };
	memcpy(b, &rw, sizeof(rw));
	CHECK(peer_reply(f->srv, &m, b, sizeof(b), e, 2) == 0);
	pmsg_free(&m);
	if ((r = want_req(f, &m, VU_CMD_DEVICE_GET_INFO)))
		return r;
	struct vu_device_info out = { .argsz = sizeof(out), .num_regions = 9 };
	CHECK(peer_reply(f->srv, &m, &out, sizeof(out), e, 20) == 0);
	pmsg_free(&m);
	/* Region info without MMAP, with an fd. */
	if ((r = want_req(f, &m, VU_CMD_DEVICE_GET_REGION_INFO)))
		return r;
	struct vu_region_info ri;
	memcpy(&ri, m.data, sizeof(ri));
	ri.argsz = sizeof(ri);
	ri.cap_offset = 0;
	ri.flags = VFIO_REGION_INFO_FLAG_READ;
	ri.size = 4096;
	CHECK(peer_reply(f->srv, &m, &ri, sizeof(ri), e, 1) == 0);
	pmsg_free(&m);
	for (unsigned i = 0; i < 20; i++)
		close(e[i]);
	return 0;
}

static void test_unexpected_fds_on_replies_closed(void **state)
{
	struct cfix *f = *state;
	int base = count_open_fds();
	script_start(f, script_fds);
	assert_int_equal(f->ops->reset(f->be), 0);
	assert_int_equal(f->ops->reset(f->be), -EBUSY);
	uint8_t buf[4];
	assert_int_equal(f->ops->region_read(f->be, 0, 0, buf, 4), 4);
	uint32_t n = 0;
	assert_int_equal(get_info(f, &n), 0);
	assert_int_equal(n, 9);
	struct uvfio_region_info ri;
	assert_int_equal(f->ops->region_info(f->be, 1, &ri), 0);
	assert_int_equal(ri.size, 4096);
	assert_int_equal(f->ops->region_fd(f->be, 1), -ENOTSUP);
	script_join(f);
	/* The script closed its copies: ours must be gone as well. */
	assert_int_equal(count_open_fds(), base);
	assert_usable(f);
}

/* ---- the server goes away, or stays silent ---- */

static int script_close_mid_header(struct cfix *f)
{
	struct pmsg m;
	int r = want_req(f, &m, VU_CMD_DEVICE_GET_INFO);
	if (r)
		return r;
	struct vu_hdr h = { .msg_id = m.hdr.msg_id, .command = m.hdr.command,
			    .msg_size = 32, .flags = VU_F_TYPE_REPLY };
	CHECK(peer_send_raw(f->srv, &h, 10, NULL, 0) == 0);
	pmsg_free(&m);
	close(f->srv);
	f->srv = -1;
	return 0;
}

static int script_close_mid_payload(struct cfix *f)
{
	struct pmsg m;
	int r = want_req(f, &m, VU_CMD_DEVICE_GET_INFO);
	if (r)
		return r;
	uint8_t b[16 + 6];
	struct vu_hdr h = { .msg_id = m.hdr.msg_id, .command = m.hdr.command,
			    .msg_size = 32, .flags = VU_F_TYPE_REPLY };
	memcpy(b, &h, sizeof(h));
	memset(b + 16, 0, 6);
	CHECK(peer_send_raw(f->srv, b, sizeof(b), NULL, 0) == 0);
	pmsg_free(&m);
	close(f->srv);
	f->srv = -1;
	return 0;
}

static void test_server_closes_mid_reply(void **state)
{
	struct cfix *f = *state;
	script_fn scripts[2] = { script_close_mid_header,
				 script_close_mid_payload };
	for (int k = 0; k < 2; k++) {
		if (k) {
			cfix_close(f);
			assert_int_equal(cfix_open(f), 0);
		}
		script_start(f, scripts[k]);
		int r = get_info(f, NULL);
		script_join(f);
		/* Told the server is gone, not timed out. */
		assert_int_equal(r, -ECONNRESET);
		/* Every later call: the same error, without a wait. */
		int64_t t0 = peer_now_ms();
		assert_int_equal(f->ops->reset(f->be), -ECONNRESET);
		assert_int_equal(get_info(f, NULL), -ECONNRESET);
		assert_true(peer_now_ms() - t0 < TIMEOUT_MS);
	}
}

static int script_late(struct cfix *f)
{
	struct pmsg m1, m2;
	int r = want_req(f, &m1, VU_CMD_DEVICE_GET_INFO);
	if (r)
		return r;
	/* Answer m1 after the client gave up, and m2 after that. */
	if ((r = want_req(f, &m2, VU_CMD_DEVICE_GET_INFO)))
		return r;
	CHECK(reply_info(f, &m1, 1) == 0);
	CHECK(reply_info(f, &m2, 2) == 0);
	pmsg_free(&m1);
	pmsg_free(&m2);
	return 0;
}

static void test_no_reply_times_out_late_reply_dropped(void **state)
{
	struct cfix *f = *state;
	script_start(f, script_late);
	int64_t t0 = peer_now_ms();
	assert_int_equal(get_info(f, NULL), -ETIMEDOUT);
	int64_t dt = peer_now_ms() - t0;
	assert_true(dt >= TIMEOUT_MS - 10);
	assert_true(dt < 4 * TIMEOUT_MS);
	uint32_t n = 0;
	assert_int_equal(get_info(f, &n), 0);
	assert_int_equal(n, 2);
	script_join(f);
	assert_usable(f);
}

/* The reply, a byte every TIMEOUT_MS / 3 until the test stops waiting. */
static int script_trickle(struct cfix *f)
{
	struct pmsg m;
	int r = want_req(f, &m, VU_CMD_DEVICE_GET_INFO);
	if (r)
		return r;
	struct vu_device_info out = { .argsz = sizeof(out), .num_regions = 1 };
	uint8_t b[16 + sizeof(out)];
	struct vu_hdr h = { .msg_id = m.hdr.msg_id, .command = m.hdr.command,
			    .msg_size = sizeof(b), .flags = VU_F_TYPE_REPLY };
	memcpy(b, &h, sizeof(h));
	memcpy(b + 16, &out, sizeof(out));
	pmsg_free(&m);
	size_t i = 0;
	for (; i < sizeof(b) && !atomic_load(&f->gave_up); i++) {
		CHECK(peer_send_raw(f->srv, b + i, 1, NULL, 0) == 0);
		struct timespec ts = { 0, TIMEOUT_MS / 3 * 1000000L };
		nanosleep(&ts, NULL);
	}
	/* The client gave up: the rest, then the next request's reply. */
	CHECK(peer_send_raw(f->srv, b + i, sizeof(b) - i, NULL, 0) == 0);
	return script_info_ok(f);
}

static void test_trickled_reply_bounded_by_timeout(void **state)
{
	struct cfix *f = *state;
	script_start(f, script_trickle);
	int64_t t0 = peer_now_ms();
	int r = get_info(f, NULL);
	int64_t dt = peer_now_ms() - t0;
	atomic_store(&f->gave_up, true);
	/* 32 bytes take 32 * TIMEOUT_MS / 3: no waiting for that. */
	assert_int_equal(r, -ETIMEDOUT);
	assert_true(dt < 4 * TIMEOUT_MS);
	/* Its reply, whole at last, is dropped; the next one is taken. */
	uint32_t n = 0;
	assert_int_equal(get_info(f, &n), 0);
	assert_int_equal(n, 42);
	script_join(f);
}

/* ---- the server's requests while a reply is awaited ---- */

#define WIN_IOVA 0x200000ull

struct dma_seen {
	uint32_t w_err, r_err, fd_err, cmd_err;
	uint8_t read_back[8];
	int fd_copy;
};

static int serve_check(struct cfix *f, uint16_t cmd, const void *body,
		       size_t len, const int *fds, unsigned nfds,
		       struct pmsg *rep)
{
	struct vu_hdr h = { .msg_id = 900, .command = cmd,
			    .flags = VU_F_TYPE_COMMAND };
	CHECK(peer_send(f->srv, h, body, len, fds, nfds) == 0);
	CHECK(peer_recv(f->srv, rep, 3000) == 0);
	CHECK(rep->hdr.msg_id == 900 && rep->hdr.command == cmd);
	CHECK((rep->hdr.flags & VU_F_TYPE_MASK) == VU_F_TYPE_REPLY);
	return 0;
}

static int script_dma(struct cfix *f)
{
	struct dma_seen *s = f->arg;
	struct pmsg m, rep;
	int r;
	if ((r = want_req(f, &m, VU_CMD_DMA_MAP)))
		return r;
	CHECK(m.nfds == 0);
	CHECK(peer_reply(f->srv, &m, NULL, 0, NULL, 0) == 0);
	pmsg_free(&m);

	if ((r = want_req(f, &m, VU_CMD_DEVICE_GET_INFO)))
		return r;
	/* Write 8 bytes into the window. */
	uint8_t wb[16 + 8];
	struct vu_dma_rw rw = { .addr = WIN_IOVA + 16, .count = 8 };
	memcpy(wb, &rw, sizeof(rw));
	memcpy(wb + 16, "written!", 8);
	if ((r = serve_check(f, VU_CMD_DMA_WRITE, wb, sizeof(wb), NULL, 0,
			     &rep)))
		return r;
	s->w_err = rep.hdr.flags & VU_F_ERROR ? rep.hdr.error : 0;
	pmsg_free(&rep);
	/* Read them back. */
	if ((r = serve_check(f, VU_CMD_DMA_READ, &rw, sizeof(rw), NULL, 0,
			     &rep)))
		return r;
	s->r_err = rep.hdr.flags & VU_F_ERROR ? rep.hdr.error : 0;
	if (!s->r_err && rep.len == 16 + 8)
		memcpy(s->read_back, rep.data + 16, 8);
	pmsg_free(&rep);
	/* Past the window's end, and one with an fd attached. */
	struct vu_dma_rw out = { .addr = WIN_IOVA + 4096 - 4, .count = 8 };
	if ((r = serve_check(f, VU_CMD_DMA_READ, &out, sizeof(out), NULL, 0,
			     &rep)))
		return r;
	s->cmd_err = rep.hdr.flags & VU_F_ERROR ? rep.hdr.error : 0;
	pmsg_free(&rep);
	int e = eventfd(0, EFD_CLOEXEC);
	if ((r = serve_check(f, VU_CMD_DMA_READ, &rw, sizeof(rw), &e, 1,
			     &rep)))
		return r;
	close(e);
	s->fd_err = rep.hdr.flags & VU_F_ERROR ? rep.hdr.error : 0;
	pmsg_free(&rep);
	/* Now the reply the client waits for. */
	CHECK(reply_info(f, &m, 6) == 0);
	pmsg_free(&m);
	return 0;
}

static void test_server_requests_served_while_waiting(void **state)
{
	struct cfix *f = *state;
	int base = count_open_fds();
	uint8_t *win = calloc(1, 4096);
	struct dma_seen s = { 0 };
	f->arg = &s;
	script_start(f, script_dma);
	assert_int_equal(f->ops->dma_map(f->be, win, 4096, WIN_IOVA,
					 UVFIO_DMA_READ | UVFIO_DMA_WRITE, -1,
					 0), 0);
	uint32_t n = 0;
	assert_int_equal(get_info(f, &n), 0);
	script_join(f);
	f->arg = NULL;
	assert_int_equal(n, 6);
	assert_int_equal(s.w_err, 0);
	assert_memory_equal(win + 16, "written!", 8);
	assert_int_equal(s.r_err, 0);
	assert_memory_equal(s.read_back, "written!", 8);
	assert_int_equal(s.cmd_err, EFAULT);
	assert_int_equal(s.fd_err, EINVAL);
	/* Nothing else in the window was touched. */
	for (size_t i = 0; i < 4096; i++)
		if (i < 16 || i >= 24)
			assert_int_equal(win[i], 0);
	assert_int_equal(count_open_fds(), base);
	/* The window leaves the table before the memory is freed. */
	vuc_win_del((struct vu_client *)f->be, WIN_IOVA, 4096);
	free(win);
}

/* ---- VERSION ---- */

static void test_version_reply_checked(void **state)
{
	struct cfix *f = *state;
	cfix_close(f);
	int base = count_open_fds();
	/* A minor above ours. */
	f->version_minor = UVFIO_PROTO_MINOR + 1;
	assert_int_equal(cfix_open(f), -EPROTO);
	assert_null(f->be);
	cfix_close(f);
	f->version_minor = 0;
	/* A twin socket announced, its fd missing. */
	f->version_json = "{\"capabilities\":{\"twin_socket\":"
			  "{\"supported\":true,\"fd_index\":0}}}";
	assert_int_equal(cfix_open(f), -EPROTO);
	cfix_close(f);
	/* Its fd not a socket. */
	int e[2] = { eventfd(0, EFD_CLOEXEC), -1 };
	f->arg = e;
	assert_int_equal(cfix_open(f), -EPROTO);
	cfix_close(f);
	/* Bad JSON. */
	f->arg = NULL;
	f->version_json = "{\"capabilities\":";
	assert_int_equal(cfix_open(f), -EPROTO);
	cfix_close(f);
	/* Fds nobody announced: closed, the device opened. */
	int e2[3] = { eventfd(0, EFD_CLOEXEC), eventfd(0, EFD_CLOEXEC), -1 };
	f->arg = e2;
	f->version_json = NULL;
	assert_int_equal(cfix_open(f), 0);
	f->arg = NULL;
	close(e[0]);
	close(e2[0]);
	close(e2[1]);
	assert_usable(f);
	cfix_close(f);
	/* Every socket and fd of the failed opens is gone. */
	assert_int_equal(count_open_fds(), base);
	assert_int_equal(cfix_open(f), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_reply_with_other_id_then_late_reply_dropped),
		T(test_reply_with_other_command_is_eproto),
		T(test_short_or_mismatched_reply_is_eproto),
		T(test_error_reply_is_its_errno),
		T(test_reply_bigger_than_buffer_refused),
		T(test_unexpected_fds_on_replies_closed),
		T(test_server_closes_mid_reply),
		T(test_no_reply_times_out_late_reply_dropped),
		T(test_trickled_reply_bounded_by_timeout),
		T(test_server_requests_served_while_waiting),
		T(test_version_reply_checked),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
