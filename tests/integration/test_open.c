/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Opening a device over vfio-user: what VERSION negotiated, and what a
 * caller gets back from paths and peers that are not a vfio-user server.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <uvfio/client.h>
#include "devices/models.h"
#include "testutil.h"

static struct served g_srv;

/* A test's own server: own_teardown stops it even when the test fails. */
static struct served g_own;

static int own_teardown(void **state)
{
	(void)state;
	if (g_own.pid > 0)
		served_stop(&g_own);
	return 0;
}

/* Options every test starts from; UVFIO_TEST_LOG=1 shows the client's log. */
static struct uvfio_device *open_ok(const char *path,
				    const struct uvfio_open_opts *o)
{
	struct uvfio_device *d = NULL;
	assert_int_equal(uvfio_device_open(path, o, &d), 0);
	assert_non_null(d);
	return d;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* @r must be -@a or -@b. */
static void assert_either(int r, int a, int b, const char *what)
{
	if (r != -a && r != -b)
		fail_msg("%s: got %d (%s), expected -%d (%s) or -%d (%s)", what,
			 r, r < 0 ? strerror(-r) : "not an error", a, strerror(a),
			 b, strerror(b));
}

static int group_setup(void **state)
{
	(void)state;
	return served_start(&g_srv, "testdev", NULL);
}

static int group_teardown(void **state)
{
	(void)state;
	return served_stop_checked(&g_srv);
}

/* ---- negotiation ------------------------------------------------------ */

static void negotiated_defaults(void **state)
{
	(void)state;
	struct uvfio_open_opts o = test_open_opts();
	struct uvfio_device *d = open_ok(g_srv.path, &o);
	uint16_t major = 0xffff, minor = 0xffff;
	struct uvfio_caps caps;
	memset(&caps, 0xa5, sizeof(caps));

	assert_int_equal(uvfio_device_negotiated(d, &major, &minor, &caps), 0);
	assert_int_equal(major, 0);
	assert_int_equal(minor, 1);
	assert_int_equal(caps.max_data_xfer_size, 1u << 20);
	assert_int_equal(caps.max_dma_maps, 65535);
	assert_int_equal(caps.max_msg_fds, 16);
	assert_true(caps.pgsizes & 4096);
	assert_true(caps.write_multiple);
	assert_true(caps.twin_socket);

	/* The connection is usable after negotiation. */
	uint32_t id = 0;
	assert_int_equal(uvfio_region_read32(d, VFIO_PCI_BAR0_REGION_INDEX,
					     TESTDEV_REG_ID, &id), 0);
	assert_int_equal(id, TESTDEV_ID_VALUE);
	uvfio_device_close(d);
}

static void negotiated_null_opts(void **state)
{
	(void)state;
	struct uvfio_device *d = open_ok(g_srv.path, NULL);
	struct uvfio_caps caps;
	assert_int_equal(uvfio_device_negotiated(d, NULL, NULL, &caps), 0);
	assert_true(caps.twin_socket);
	uvfio_device_close(d);
}

static void negotiated_client_no_twin(void **state)
{
	(void)state;
	struct uvfio_open_opts o = test_open_opts();
	o.no_twin_socket = true;
	struct uvfio_device *d = open_ok(g_srv.path, &o);
	uint16_t major, minor;
	struct uvfio_caps caps;
	assert_int_equal(uvfio_device_negotiated(d, &major, &minor, &caps), 0);
	assert_int_equal(major, 0);
	assert_int_equal(minor, 1);
	assert_false(caps.twin_socket);
	assert_true(caps.write_multiple);

	uint32_t id = 0;
	assert_int_equal(uvfio_region_read32(d, VFIO_PCI_BAR0_REGION_INDEX,
					     TESTDEV_REG_ID, &id), 0);
	assert_int_equal(id, TESTDEV_ID_VALUE);
	uvfio_device_close(d);
}

static void negotiated_server_limits(void **state)
{
	(void)state;
	const char *const extra[] = { "--no-twin-socket",
				      "--max-data-xfer-size=65536",
				      "--max-dma-maps=10", "--max-msg-fds=4",
				      NULL };
	assert_int_equal(served_start(&g_own, "testdev", extra), 0);

	struct uvfio_open_opts o = test_open_opts();
	struct uvfio_device *d = open_ok(g_own.path, &o);
	uint16_t major, minor;
	struct uvfio_caps caps;
	assert_int_equal(uvfio_device_negotiated(d, &major, &minor, &caps), 0);
	assert_int_equal(major, 0);
	assert_int_equal(minor, 1);
	assert_false(caps.twin_socket);
	assert_int_equal(caps.max_data_xfer_size, 65536);
	assert_int_equal(caps.max_dma_maps, 10);
	assert_int_equal(caps.max_msg_fds, 4);

	/* A 200 KiB access still works: the client splits it to 64 KiB. */
	size_t len = 200 * 1024;
	uint8_t *a = malloc(len), *b = malloc(len);
	assert_non_null(a);
	assert_non_null(b);
	for (size_t i = 0; i < len; i++)
		a[i] = (uint8_t)(i * 13 + 1);
	assert_int_equal(uvfio_region_write(d, VFIO_PCI_BAR2_REGION_INDEX, 4096,
					    a, len), (ssize_t)len);
	memset(b, 0, len);
	assert_int_equal(uvfio_region_read(d, VFIO_PCI_BAR2_REGION_INDEX, 4096,
					   b, len), (ssize_t)len);
	assert_memory_equal(a, b, len);
	free(a);
	free(b);
	uvfio_device_close(d);
	assert_int_equal(served_stop(&g_own), 0);
}

/* ---- open errors ------------------------------------------------------- */

static void open_missing_path(void **state)
{
	(void)state;
	struct uvfio_open_opts o = test_open_opts();
	struct uvfio_device *d = (struct uvfio_device *)&o;  /* must be reset */
	char path[160];
	snprintf(path, sizeof(path), "%s/no-such.sock", g_srv.dir);
	assert_int_equal(uvfio_device_open(path, &o, &d), -ENOENT);
	assert_null(d);
	assert_int_equal(uvfio_device_open("/nonexistent-dir/x.sock", &o, &d),
			 -ENOENT);
	assert_null(d);
}

static void open_regular_file(void **state)
{
	(void)state;
	char path[160];
	snprintf(path, sizeof(path), "%s/plain-file", g_srv.dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("not a socket\n", f);
	fclose(f);

	struct uvfio_open_opts o = test_open_opts();
	struct uvfio_device *d = NULL;
	int r = uvfio_device_open(path, &o, &d);
	unlink(path);
	assert_either(r, ECONNREFUSED, ENOTSOCK, "open(regular file)");
	assert_null(d);
}

/* A bound, listening socket nobody ever accepts on. */
static int silent_listener(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	return fd;
}

static void open_silent_listener_times_out(void **state)
{
	(void)state;
	char path[160];
	snprintf(path, sizeof(path), "%s/silent.sock", g_srv.dir);
	int lfd = silent_listener(path);

	struct uvfio_open_opts o = test_open_opts();
	o.timeout_ms = 500;
	struct uvfio_device *d = NULL;
	int64_t t0 = now_ms();
	int r = uvfio_device_open(path, &o, &d);
	int64_t dt = now_ms() - t0;
	close(lfd);
	unlink(path);
	assert_int_equal(r, -ETIMEDOUT);
	assert_null(d);
	/* It waited about the timeout: not returned early, not hung. */
	assert_true(dt >= 450);
	assert_true(dt < 3000);
}

static void open_full_backlog_times_out(void **state)
{
	(void)state;
	/* A listener whose backlog is full makes connect() itself wait. */
	char path[160];
	snprintf(path, sizeof(path), "%s/full.sock", g_srv.dir);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, path);
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 0), 0);
	int fill[8], nfill = 0;
	for (; nfill < 8; nfill++) {
		fill[nfill] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
				     SOCK_NONBLOCK, 0);
		assert_true(fill[nfill] >= 0);
		if (connect(fill[nfill], (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			close(fill[nfill]);
			break;
		}
	}
	assert_true(nfill < 8);   /* the backlog is full now */

	struct uvfio_open_opts o = test_open_opts();
	o.timeout_ms = 300;
	struct uvfio_device *d = NULL;
	int64_t t0 = now_ms();
	int r = uvfio_device_open(path, &o, &d);
	int64_t dt = now_ms() - t0;
	for (int i = 0; i < nfill; i++)
		close(fill[i]);
	close(lfd);
	unlink(path);
	assert_int_equal(r, -ETIMEDOUT);
	assert_null(d);
	assert_true(dt >= 250);
	assert_true(dt < 3000);
}

static void open_without_timeout(void **state)
{
	(void)state;
	/* timeout_ms < 0: no timeout at all; a normal session works. */
	struct uvfio_open_opts o = test_open_opts();
	o.timeout_ms = -1;
	struct uvfio_device *d = open_ok(g_srv.path, &o);
	uint32_t id = 0;
	assert_int_equal(uvfio_region_read32(d, VFIO_PCI_BAR0_REGION_INDEX,
					     TESTDEV_REG_ID, &id), 0);
	assert_int_equal(id, TESTDEV_ID_VALUE);
	uvfio_device_close(d);
}

/* ---- peers that answer garbage ------------------------------------------ */

enum junk_kind {
	JUNK_BYTES,           /* 64 bytes of 0xff */
	JUNK_TEXT,            /* an HTTP answer */
	JUNK_CLOSE,           /* accept, read, close */
	JUNK_HALF_HEADER,     /* 7 bytes of a header, then close */
	JUNK_BAD_JSON,        /* a VERSION reply whose JSON is broken */
	JUNK_SHORT_VERSION,   /* a VERSION reply with no version fields */
	JUNK_MAJOR_1,         /* a VERSION reply for major 1 */
	JUNK_MINOR_TOO_HIGH,  /* minor 7 to our 1 */
};

struct junk_peer {
	int lfd;
	enum junk_kind kind;
	pthread_t th;
};

struct hdr {
	uint16_t msg_id, command;
	uint32_t msg_size, flags, error;
} __attribute__((packed));

static void write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		b += w;
		n -= (size_t)w;
	}
}

static void send_version_reply(int c, uint16_t id, uint16_t major,
			       uint16_t minor, const char *json, bool body)
{
	uint8_t buf[256];
	size_t jl = strlen(json) + 1;
	size_t len = sizeof(struct hdr) + (body ? 4 + jl : 0);
	struct hdr h = { .msg_id = id, .command = 1, .msg_size = (uint32_t)len,
			 .flags = 1 };
	memcpy(buf, &h, sizeof(h));
	if (body) {
		memcpy(buf + 16, &major, 2);
		memcpy(buf + 18, &minor, 2);
		memcpy(buf + 20, json, jl);
	}
	write_all(c, buf, len);
}

static void *junk_thread(void *arg)
{
	struct junk_peer *p = arg;
	struct pollfd pf = { .fd = p->lfd, .events = POLLIN };
	if (poll(&pf, 1, 10000) <= 0)
		return NULL;
	int c = accept(p->lfd, NULL, NULL);
	if (c < 0)
		return NULL;
	/* The client's VERSION request, so that its id can be echoed. */
	uint8_t req[4096];
	struct hdr rh = { 0 };
	pf = (struct pollfd){ .fd = c, .events = POLLIN };
	if (poll(&pf, 1, 10000) > 0) {
		ssize_t n = recv(c, req, sizeof(req), 0);
		if (n >= (ssize_t)sizeof(rh))
			memcpy(&rh, req, sizeof(rh));
	}
	static const char http[] = "HTTP/1.1 400 Bad Request\r\n\r\n";
	uint8_t ff[64];
	memset(ff, 0xff, sizeof(ff));
	switch (p->kind) {
	case JUNK_BYTES:
		write_all(c, ff, sizeof(ff));
		break;
	case JUNK_TEXT:
		write_all(c, http, sizeof(http) - 1);
		break;
	case JUNK_CLOSE:
		close(c);
		return NULL;
	case JUNK_HALF_HEADER:
		write_all(c, ff, 7);
		close(c);
		return NULL;
	case JUNK_BAD_JSON:
		send_version_reply(c, rh.msg_id, 0, 1, "{\"capabilities\": [1,", true);
		break;
	case JUNK_SHORT_VERSION:
		send_version_reply(c, rh.msg_id, 0, 1, "", false);
		break;
	case JUNK_MAJOR_1:
		send_version_reply(c, rh.msg_id, 1, 0, "{}", true);
		break;
	case JUNK_MINOR_TOO_HIGH:
		send_version_reply(c, rh.msg_id, 0, 7, "{}", true);
		break;
	}
	/* Stay connected until the client gives up and closes. */
	for (;;) {
		pf = (struct pollfd){ .fd = c, .events = POLLIN };
		if (poll(&pf, 1, 10000) <= 0)
			break;
		if (recv(c, req, sizeof(req), 0) <= 0)
			break;
	}
	close(c);
	return NULL;
}

static int open_against_junk(enum junk_kind kind, int64_t *elapsed)
{
	char path[160];
	snprintf(path, sizeof(path), "%s/junk%d.sock", g_srv.dir, (int)kind);
	struct junk_peer p = { .lfd = silent_listener(path), .kind = kind };
	assert_int_equal(pthread_create(&p.th, NULL, junk_thread, &p), 0);

	struct uvfio_open_opts o = test_open_opts();
	o.timeout_ms = 3000;
	struct uvfio_device *d = NULL;
	int64_t t0 = now_ms();
	int r = uvfio_device_open(path, &o, &d);
	*elapsed = now_ms() - t0;
	if (d)
		uvfio_device_close(d);
	pthread_join(p.th, NULL);
	close(p.lfd);
	unlink(path);
	assert_null(d);
	return r;
}

static void open_garbage_peer(void **state)
{
	(void)state;
	static const struct {
		enum junk_kind kind;
		const char *name;
	} cases[] = {
		{ JUNK_BYTES, "0xff bytes" },
		{ JUNK_TEXT, "HTTP text" },
		{ JUNK_CLOSE, "immediate close" },
		{ JUNK_HALF_HEADER, "half a header then close" },
		{ JUNK_BAD_JSON, "VERSION reply with broken JSON" },
		{ JUNK_SHORT_VERSION, "VERSION reply without body" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t dt;
		int r = open_against_junk(cases[i].kind, &dt);
		assert_either(r, EPROTO, ECONNRESET, cases[i].name);
		/* Garbage is detected when it arrives, not at the timeout. */
		if (dt >= 2500)
			fprintf(stderr, "peer sending %s: took %lld ms\n",
				cases[i].name, (long long)dt);
		assert_true(dt < 2500);
	}
}

static void open_wrong_version_refused(void **state)
{
	(void)state;
	int64_t dt;
	int r = open_against_junk(JUNK_MAJOR_1, &dt);
	assert_either(r, EPROTO, ENOTSUP, "major 1 reply");
	/* A server may not answer a higher minor than the client proposed. */
	r = open_against_junk(JUNK_MINOR_TOO_HIGH, &dt);
	assert_either(r, EPROTO, ENOTSUP, "minor 7 reply");
}

/* ---- open_fd and argument checks ------------------------------------------ */

static void open_fd_connected_socket(void **state)
{
	(void)state;
	int fd = raw_connect(g_srv.path);
	assert_true(fd >= 0);
	struct uvfio_open_opts o = test_open_opts();
	struct uvfio_device *d = NULL;
	assert_int_equal(uvfio_device_open_fd(fd, &o, &d), 0);
	assert_non_null(d);
	uint32_t id = 0;
	assert_int_equal(uvfio_region_read32(d, VFIO_PCI_BAR0_REGION_INDEX,
					     TESTDEV_REG_ID, &id), 0);
	assert_int_equal(id, TESTDEV_ID_VALUE);
	uvfio_device_close(d);
}

static void open_bad_arguments(void **state)
{
	(void)state;
	struct uvfio_device *d = NULL;
	assert_int_equal(uvfio_device_open(g_srv.path, NULL, NULL), -EINVAL);
	assert_int_equal(uvfio_device_open(NULL, NULL, &d), -EINVAL);
	assert_null(d);
	assert_int_equal(uvfio_device_open_fd(-1, NULL, &d), -EBADF);
	assert_null(d);
	/* More than the protocol's ceiling is refused up front. */
	struct uvfio_open_opts o = test_open_opts();
	o.max_data_xfer_size = UVFIO_LIMIT_MAX_DATA_XFER + 1;
	assert_int_equal(uvfio_device_open(g_srv.path, &o, &d), -EINVAL);
	assert_null(d);
	/* The server is still fine. */
	d = open_ok(g_srv.path, NULL);
	uvfio_device_close(d);
}

/* ---- one client at a time -------------------------------------------------- */

static void sequential_clients_share_state(void **state)
{
	(void)state;
	struct uvfio_open_opts o = test_open_opts();
	struct uvfio_device *a = open_ok(g_srv.path, &o);
	assert_int_equal(uvfio_region_write32(a, VFIO_PCI_BAR0_REGION_INDEX,
					      TESTDEV_REG_SCRATCH, 0x5eed1234), 0);
	uvfio_device_close(a);

	struct uvfio_device *b = open_ok(g_srv.path, &o);
	uint32_t v = 0;
	assert_int_equal(uvfio_region_read32(b, VFIO_PCI_BAR0_REGION_INDEX,
					     TESTDEV_REG_SCRATCH, &v), 0);
	assert_int_equal(v, 0x5eed1234);
	uvfio_device_close(b);

	/* Many short sessions in a row; each sees the previous one's write. */
	for (uint32_t i = 0; i < 30; i++) {
		struct uvfio_device *c = open_ok(g_srv.path, &o);
		assert_int_equal(uvfio_region_read32(c, VFIO_PCI_BAR0_REGION_INDEX,
						     TESTDEV_REG_SCRATCH, &v), 0);
		assert_int_equal(v, i == 0 ? 0x5eed1234 : i - 1);
		assert_int_equal(uvfio_region_write32(c, VFIO_PCI_BAR0_REGION_INDEX,
						      TESTDEV_REG_SCRATCH, i), 0);
		uvfio_device_close(c);
	}
}

static void second_client_waits_then_served(void **state)
{
	(void)state;
	struct uvfio_open_opts o = test_open_opts();
	struct uvfio_device *a = open_ok(g_srv.path, &o);

	/* The server serves one client at a time: the second one waits. */
	struct uvfio_open_opts quick = o;
	quick.timeout_ms = 500;
	struct uvfio_device *b = NULL;
	assert_int_equal(uvfio_device_open(g_srv.path, &quick, &b), -ETIMEDOUT);
	assert_null(b);

	assert_int_equal(uvfio_region_write32(a, VFIO_PCI_BAR0_REGION_INDEX,
					      TESTDEV_REG_SCRATCH, 0xabcd0001), 0);
	uvfio_device_close(a);

	/* The one that gave up in the backlog does not wedge the server. */
	struct uvfio_device *c = open_ok(g_srv.path, &o);
	uint32_t v = 0;
	assert_int_equal(uvfio_region_read32(c, VFIO_PCI_BAR0_REGION_INDEX,
					     TESTDEV_REG_SCRATCH, &v), 0);
	assert_int_equal(v, 0xabcd0001);
	uvfio_device_close(c);
	assert_true(served_alive(&g_srv));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(negotiated_defaults),
		cmocka_unit_test(negotiated_null_opts),
		cmocka_unit_test(negotiated_client_no_twin),
		cmocka_unit_test_teardown(negotiated_server_limits, own_teardown),
		cmocka_unit_test(open_missing_path),
		cmocka_unit_test(open_regular_file),
		cmocka_unit_test(open_silent_listener_times_out),
		cmocka_unit_test(open_full_backlog_times_out),
		cmocka_unit_test(open_without_timeout),
		cmocka_unit_test(open_garbage_peer),
		cmocka_unit_test(open_wrong_version_refused),
		cmocka_unit_test(open_fd_connected_socket),
		cmocka_unit_test(open_bad_arguments),
		cmocka_unit_test(sequential_clients_share_state),
		cmocka_unit_test(second_client_waits_then_served),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
