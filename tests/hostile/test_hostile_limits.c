/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The limits of README "Limits", each enforced — message size, fds per
 * message, commands queued while a DMA request waits, clients per
 * device, the DMA reply timeout — and a client flooding device A never
 * slowing device B served by the same process (two-dev-server: two
 * uvfio_server objects in one epoll loop).  A thread makes round trips
 * on B throughout and records its worst latency, phase by phase.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices/models.h"
#include "hostile.h"

#define REPLY_TIMEOUT_MS 1000
/* B's worst round trip while A is flooded, or leaves a DMA unanswered:
 * nothing of A's may hold the loop anywhere near the reply timeout. */
#define FLOOD_BOUND_MS 250

static char path_b[108];
static unsigned g_ncases;
static int g_idle_fds;

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

/* ---- the server process ------------------------------------------- */

static int group_setup(void **state)
{
	const char *bin = getenv("TWO_DEV_SERVER");
	if (!bin)
		return -1;
	memset(&g_served, 0, sizeof(g_served));
	strcpy(g_served.dir, "/tmp/uvfio-limits-XXXXXX");
	if (!mkdtemp(g_served.dir))
		return -1;
	snprintf(g_served.path, sizeof(g_served.path), "%s/a.sock", g_served.dir);
	snprintf(path_b, sizeof(path_b), "%s/b.sock", g_served.dir);
	char timeout[16];
	snprintf(timeout, sizeof(timeout), "%d", REPLY_TIMEOUT_MS);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		execl(bin, bin, g_served.path, path_b, timeout, (char *)NULL);
		_exit(127);
	}
	g_served.pid = pid;
	for (int i = 0; i < 500; i++) {
		int a = raw_connect(g_served.path), b = raw_connect(path_b);
		if (a >= 0)
			close(a);
		if (b >= 0)
			close(b);
		if (a >= 0 && b >= 0) {
			g_idle_fds = pc_server_fds();
			return 0;
		}
		sleep_ms(10);
	}
	return -1;
}

static int group_teardown(void **state)
{
	printf("hostile cases: %u\n", g_ncases);
	bool alive = served_alive(&g_served);
	int st = -1;
	if (g_served.pid > 0) {
		kill(g_served.pid, SIGTERM);
		int w;
		if (waitpid(g_served.pid, &w, 0) == g_served.pid && WIFEXITED(w))
			st = WEXITSTATUS(w);
		g_served.pid = 0;
	}
	unlink(g_served.path);
	unlink(path_b);
	rmdir(g_served.dir);
	if (!alive || st != 0) {
		fprintf(stderr, "two-dev-server %s (status %d)\n",
			alive ? "did not exit cleanly" : "died", st);
		return -1;
	}
	return 0;
}

/* Device A answers a new client correctly; the fds are back to idle. */
static void a_whole(const char *what)
{
	assert_true(served_alive(&g_served));
	struct pc pc;
	pc_open(&pc);
	pc_get_info_ok(&pc);
	assert_int_equal(pc_rd32(&pc, 0, TESTDEV_REG_ID), TESTDEV_ID_VALUE);
	struct vu_dma_unmap u = { .argsz = 24, .flags = VU_DMA_UNMAP_FLAG_ALL };
	assert_int_equal(pc_call(&pc, VU_CMD_DMA_UNMAP, &u, sizeof(u), NULL, 0), 0);
	pc_close(&pc);
	int fds = pc_server_fds_settle(g_idle_fds);
	if (fds != g_idle_fds)
		fail_msg("%s: server has %d fds, idle %d", what, fds, g_idle_fds);
	g_ncases++;
}

/* ---- device B's round trips --------------------------------------- */

struct prober {
	pthread_t t;
	atomic_bool stop;
	atomic_llong worst_us;
	atomic_int errors;
	atomic_long trips;
};

static void *probe_b(void *arg)
{
	struct prober *p = arg;
	struct pc b;
	/* No cmocka here: failures are counted. */
	memset(&b, 0, sizeof(b));
	vu_rx_init(&b.rx);
	b.sock = raw_connect(path_b);
	const struct vu_limits lim = { .max_msg_size = 1 << 20, .max_fds = 4 };
	uint8_t v[7] = { 0, 0, 0, 0, '{', '}', 0 };
	struct vu_hdr h = { .msg_id = 1, .command = VU_CMD_VERSION };
	struct iovec iov = { v, sizeof(v) };
	if (b.sock < 0 || vu_send(b.sock, &h, &iov, 1, NULL, 0, 5000) < 0 ||
	    vu_recv(&b.rx, b.sock, &lim, 5000) < 0) {
		atomic_fetch_add(&p->errors, 1);
		return NULL;
	}
	uint16_t id = 2;
	while (!atomic_load(&p->stop)) {
		struct vu_region_rw rr = { .offset = TESTDEV_REG_ID, .count = 4 };
		struct vu_hdr q = { .msg_id = id, .command = VU_CMD_REGION_READ };
		struct iovec qi = { &rr, sizeof(rr) };
		int64_t t0 = now_us();
		vu_rx_release(&b.rx);
		if (vu_send(b.sock, &q, &qi, 1, NULL, 0, 10000) < 0 ||
		    vu_recv(&b.rx, b.sock, &lim, 10000) < 0 ||
		    b.rx.hdr.msg_id != id || vu_rx_len(&b.rx) != 20 ||
		    memcmp(b.rx.buf + 16, &(uint32_t){ TESTDEV_ID_VALUE }, 4)) {
			atomic_fetch_add(&p->errors, 1);
			break;
		}
		int64_t dt = now_us() - t0;
		if (dt > atomic_load(&p->worst_us))
			atomic_store(&p->worst_us, dt);
		atomic_fetch_add(&p->trips, 1);
		id++;
		sleep_ms(1);
	}
	vu_rx_fini(&b.rx);
	close(b.sock);
	return NULL;
}

/* The prober running, stopped by the teardown if a test fails. */
static struct prober *g_prober;

static void probe_start(struct prober *p)
{
	memset(p, 0, sizeof(*p));
	assert_int_equal(pthread_create(&p->t, NULL, probe_b, p), 0);
	g_prober = p;
	sleep_ms(50);
}

/* Stop probing B; check its round trips stayed under @bound_ms. */
static void probe_end(struct prober *p, int bound_ms, const char *what)
{
	atomic_store(&p->stop, true);
	pthread_join(p->t, NULL);
	g_prober = NULL;
	long long worst = atomic_load(&p->worst_us);
	printf("%-44s B: %ld round trips, worst %lld us\n", what,
	       (long)atomic_load(&p->trips), worst);
	assert_int_equal(atomic_load(&p->errors), 0);
	assert_true(atomic_load(&p->trips) > 0);
	if (worst > (long long)bound_ms * 1000)
		fail_msg("%s: device B took %lld us for a round trip (bound %d ms)",
			 what, worst, bound_ms);
}

/* ---- floods on A, B probed ---------------------------------------- */

static void test_posted_flood_a(void **state)
{
	struct prober p;
	probe_start(&p);
	struct pc pc;
	pc_open(&pc);
	size_t len = 16 + (1u << 20);
	uint8_t *w = calloc(1, len);
	assert_non_null(w);
	memcpy(w, &(struct vu_region_rw){ .region = 2, .count = 1u << 20 }, 16);
	int64_t end = now_us() + 1500 * 1000;
	unsigned n = 0;
	while (now_us() < end) {
		pc_send(&pc, VU_CMD_REGION_WRITE, VU_F_NO_REPLY, w, len, NULL, 0);
		n++;
	}
	free(w);
	pc_get_info_ok(&pc);
	pc_close(&pc);
	probe_end(&p, FLOOD_BOUND_MS, "A: 1 MiB posted writes, 1.5 s");
	printf("  (%u posted writes of 1 MiB)\n", n);
	a_whole("posted flood");
}

static void test_unread_flood_a(void **state)
{
	struct prober p;
	probe_start(&p);
	struct pc pc;
	pc_open(&pc);
	int fl = fcntl(pc.sock, F_GETFL);
	fcntl(pc.sock, F_SETFL, fl | O_NONBLOCK);
	/* 64 KiB reads, sent until both socket buffers are full. */
	uint8_t m[32];
	memcpy(m, &(struct vu_hdr){ .command = VU_CMD_REGION_READ, .msg_size = 32 }, 16);
	memcpy(m + 16, &(struct vu_region_rw){ .region = 2, .count = 65536 }, 16);
	int64_t end = now_us() + 1000 * 1000;
	while (now_us() < end) {
		if (send(pc.sock, m, 32, MSG_NOSIGNAL) < 0)
			sleep_ms(1);
	}
	fcntl(pc.sock, F_SETFL, fl);
	/* The server waits for us without dropping us or stalling B. */
	sleep_ms(300);
	assert_true(served_alive(&g_served));
	pc_close(&pc);
	probe_end(&p, FLOOD_BOUND_MS, "A: 64 KiB reads never read back, 1.3 s");
	a_whole("unread flood");
}

static void *reader(void *arg)
{
	struct pc *pc = arg;
	char buf[65536];
	while (recv(pc->sock, buf, sizeof(buf), 0) > 0)
		;
	return NULL;
}

static void test_request_flood_a(void **state)
{
	struct prober p;
	probe_start(&p);
	struct pc pc;
	pc_open(&pc);
	pthread_t r;
	assert_int_equal(pthread_create(&r, NULL, reader, &pc), 0);
	uint8_t m[32];
	memcpy(m, &(struct vu_hdr){ .command = VU_CMD_DEVICE_GET_INFO, .msg_size = 32 }, 16);
	memcpy(m + 16, &(struct vu_device_info){ .argsz = 16 }, 16);
	uint8_t batch[32 * 64];
	for (int i = 0; i < 64; i++)
		memcpy(batch + 32 * i, m, 32);
	int64_t end = now_us() + 1500 * 1000;
	while (now_us() < end)
		if (send(pc.sock, batch, sizeof(batch), MSG_NOSIGNAL) < 0)
			break;
	shutdown(pc.sock, SHUT_WR);
	pthread_join(r, NULL);
	pc_close(&pc);
	probe_end(&p, FLOOD_BOUND_MS, "A: GET_INFO pipelined, 1.5 s");
	a_whole("request flood");
}

/* A 1 MiB message trickled in 4 KiB pieces, the socket held open. */
static void test_slow_message_a(void **state)
{
	struct prober p;
	probe_start(&p);
	struct pc pc;
	pc_open(&pc);
	size_t len = 16 + 16 + (1u << 20);
	uint8_t *m = calloc(1, len);
	assert_non_null(m);
	memcpy(m, &(struct vu_hdr){ .msg_id = 77, .command = VU_CMD_REGION_WRITE,
				     .msg_size = (uint32_t)len }, 16);
	memcpy(m + 16, &(struct vu_region_rw){ .region = 2, .count = 1u << 20 }, 16);
	for (size_t off = 0; off < len; off += 4096) {
		size_t k = len - off < 4096 ? len - off : 4096;
		assert_int_equal(send(pc.sock, m + off, k, MSG_NOSIGNAL), (ssize_t)k);
		if ((off / 4096) % 8 == 0)
			sleep_ms(1);
	}
	free(m);
	assert_int_equal(pc_recv(&pc, PC_TIMEOUT_MS), 0);
	assert_int_equal(pc.rx.hdr.msg_id, 77);
	assert_false(pc.rx.hdr.flags & VU_F_ERROR);
	pc_close(&pc);
	probe_end(&p, FLOOD_BOUND_MS, "A: 1 MiB message trickled");
	a_whole("slow message");
}

/* Clients per device: one served, the rest wait or are refused. */
static void test_connection_flood_a(void **state)
{
	struct prober p;
	probe_start(&p);
	struct pc first;
	pc_open(&first);
	int socks[256], waiting = 0, refused = 0;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, g_served.path);
	for (int i = 0; i < 256; i++) {
		socks[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		assert_true(socks[i] >= 0);
		if (connect(socks[i], (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			waiting++;
		} else {
			assert_int_equal(errno, EAGAIN);   /* backlog full */
			refused++;
			close(socks[i]);
			socks[i] = -1;
		}
	}
	printf("  256 connects to busy A: %d wait in the backlog, %d refused\n",
	       waiting, refused);
	/* The waiting ones cost the server nothing: the first client and
	 * B's prober are all it holds.  The first is still served. */
	int fds = pc_server_fds();
	pc_get_info_ok(&first);
	for (int i = 0; i < 256; i++)
		if (socks[i] >= 0)
			close(socks[i]);
	pc_close(&first);
	assert_true(refused > 0);
	assert_int_equal(fds, g_idle_fds + 2);
	probe_end(&p, FLOOD_BOUND_MS, "A: 256 connections while busy");
	a_whole("connection flood");
}

/* ---- DMA requests A's client leaves unanswered --------------------- */

/*
 * Map an fd-less window and make device A DMA @len bytes of it (@cmd 1:
 * it reads, DMA_READ; 2: it writes, DMA_WRITE carrying the data).  With
 * @read_request the request is read (and never answered), else the
 * socket is never read at all.
 */
static void start_dma_len(struct pc *pc, uint32_t cmd, uint32_t len,
			  bool read_request)
{
	struct vu_dma_map m = { .argsz = 32, .flags = 3, .addr = 0x100000,
				.size = 1u << 20 };
	assert_int_equal(pc_call(pc, VU_CMD_DMA_MAP, &m, sizeof(m), NULL, 0), 0);
	pc_wr32(pc, 0, TESTDEV_REG_DMA_ADDR, 0x100000);
	pc_wr32(pc, 0, TESTDEV_REG_DMA_ADDR + 4, 0);
	pc_wr32(pc, 0, TESTDEV_REG_DMA_LEN, len);
	uint8_t w[20];
	memcpy(w, &(struct vu_region_rw){ .offset = TESTDEV_REG_DMA_CMD, .count = 4 }, 16);
	memcpy(w + 16, &cmd, 4);
	pc_send(pc, VU_CMD_REGION_WRITE, 0, w, sizeof(w), NULL, 0);
	if (!read_request)
		return;
	/* The device's request arrives; we do not answer. */
	assert_int_equal(pc_recv(pc, PC_TIMEOUT_MS), 0);
	assert_int_equal(pc->rx.hdr.command,
			 cmd == 1 ? VU_CMD_DMA_READ : VU_CMD_DMA_WRITE);
}

static void start_dma(struct pc *pc)
{
	start_dma_len(pc, 1, 64, true);
}

/*
 * A's client leaves the DMA request of device A unanswered (it reads it,
 * or never reads its socket at all, while a 1 MiB DMA_WRITE waits to go
 * out): device B, in the same process and thread, answers every round
 * trip promptly all along — the device's DMA does not hold the loop —
 * and A is dropped after the reply timeout, the server back to its fds
 * and memory.
 */
static void test_dma_reply_timeout(void **state)
{
	static const struct { uint32_t cmd, len; bool read; const char *what; } m[] = {
		{ 1, 64, true, "A: DMA request never answered" },
		{ 2, 1u << 20, false, "A: 1 MiB DMA_WRITE, socket never read" },
	};
	long rss0 = h_server_rss_kb();
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		struct prober p;
		probe_start(&p);
		struct pc pc;
		pc_open(&pc);
		int64_t t0 = now_us();
		long trips0 = atomic_load(&p.trips);
		start_dma_len(&pc, m[i].cmd, m[i].len, m[i].read);
		/* Halfway to the timeout, B has made its round trips. */
		sleep_ms(REPLY_TIMEOUT_MS / 2);
		long mid = atomic_load(&p.trips) - trips0;
		long long worst_mid = atomic_load(&p.worst_us);
		if (!m[i].read) {
			/* Whatever A's socket holds, then the end. */
			int r;
			while ((r = pc_recv(&pc, REPLY_TIMEOUT_MS + 3000)) == 0)
				;
			assert_int_equal(r, -ECONNRESET);
		} else {
			/* After the reply timeout the client is dropped. */
			assert_int_equal(pc_recv(&pc, REPLY_TIMEOUT_MS + 3000),
					 -ECONNRESET);
		}
		int64_t waited = (now_us() - t0) / 1000;
		printf("  %s: dropped after %lld ms; B meanwhile %ld round trips "
		       "in the first %d ms, worst %lld us\n", m[i].what,
		       (long long)waited, mid, REPLY_TIMEOUT_MS / 2, worst_mid);
		assert_true(waited >= REPLY_TIMEOUT_MS - 50);
		assert_true(mid >= 100);
		pc_close(&pc);
		probe_end(&p, FLOOD_BOUND_MS, m[i].what);
		a_whole("DMA reply timeout");
	}
	long rss = h_server_rss_kb();
	printf("  server memory %ld KiB, before %ld KiB\n", rss, rss0);
	if (rss > rss0 + H_RSS_SLACK_KB)
		fail_msg("server memory %ld KiB after, %ld KiB before", rss, rss0);
}

/* More than 4096 commands queued behind a DMA request: dropped. */
static void test_pending_limit(void **state)
{
	struct prober p;
	probe_start(&p);
	struct pc pc;
	pc_open(&pc);
	start_dma(&pc);
	int64_t t0 = now_us();
	struct vu_device_info gi = { .argsz = 16 };
	uint8_t m[32];
	memcpy(m, &(struct vu_hdr){ .command = VU_CMD_DEVICE_GET_INFO, .msg_size = 32 }, 16);
	memcpy(m + 16, &gi, 16);
	int sent = 0;
	for (; sent < 4097; sent++)
		if (send(pc.sock, m, 32, MSG_NOSIGNAL) != 32)
			break;
	assert_int_equal(sent, 4097);
	int r = pc_recv(&pc, PC_TIMEOUT_MS);
	if (r == 0)
		r = pc_recv(&pc, PC_TIMEOUT_MS);
	assert_int_equal(r, -ECONNRESET);
	int64_t ms = (now_us() - t0) / 1000;
	printf("  4097 commands behind a DMA request: dropped after %lld ms\n",
	       (long long)ms);
	assert_true(ms < REPLY_TIMEOUT_MS);   /* by the limit, not the timeout */
	pc_close(&pc);
	probe_end(&p, FLOOD_BOUND_MS, "A: 4097 commands queued behind DMA");
	a_whole("pending limit");
}

/* ---- message size and fds per message ------------------------------ */

static void test_message_size_limit(void **state)
{
	/* Accepted: 1 MiB of data + 4 KiB after VERSION; 64 KiB before. */
	const uint32_t after = (1u << 20) + 4096, before = 64u << 10;
	for (int neg = 0; neg < 2; neg++) {
		for (int over = 0; over < 2; over++) {
			struct pc pc;
			if (neg)
				pc_open(&pc);
			else
				pc_connect(&pc);
			uint32_t size = (neg ? after : before) + (uint32_t)over;
			uint8_t *m = calloc(1, size);
			assert_non_null(m);
			struct vu_hdr h = { .msg_id = 9, .msg_size = size,
					    .command = neg ? VU_CMD_REGION_WRITE
							   : VU_CMD_VERSION };
			memcpy(m, &h, 16);
			memcpy(m + 16, &(struct vu_region_rw){ .region = 9,
				.count = size - 32 }, 16);
			size_t off = 0;
			while (off < size) {
				ssize_t k = send(pc.sock, m + off, size - off,
						 MSG_NOSIGNAL);
				if (k <= 0)
					break;
				off += (size_t)k;
			}
			free(m);
			int r = pc_recv(&pc, PC_TIMEOUT_MS);
			if (over) {
				/* Dropped before the payload is read. */
				assert_int_equal(r, -ECONNRESET);
			} else {
				/* Read whole and answered (a VERSION with empty
				 * JSON is fine; the write is over the limit). */
				assert_int_equal(r, 0);
				assert_int_equal(pc.rx.hdr.msg_id, 9);
				if (neg)
					assert_int_equal(pc.rx.hdr.error, E2BIG);
			}
			pc_close(&pc);
			a_whole("message size");
		}
	}
}

static void test_fds_limit(void **state)
{
	struct pc pc;
	pc_open(&pc);
	int base = pc_server_fds();
	int fds[17];
	for (int i = 0; i < 17; i++)
		fds[i] = pc_eventfd();
	struct vu_irq_set s = { .argsz = 20, .index = VFIO_PCI_MSIX_IRQ_INDEX,
				.flags = VFIO_IRQ_SET_DATA_EVENTFD |
					 VFIO_IRQ_SET_ACTION_TRIGGER, .count = 8 };
	/* 16 is the limit: taken (then refused, 8 vectors), 17 refused. */
	assert_int_equal(pc_call(&pc, VU_CMD_DEVICE_SET_IRQS, &s, sizeof(s),
				 fds, 16), -EINVAL);
	assert_int_equal(pc_call(&pc, VU_CMD_DEVICE_SET_IRQS, &s, sizeof(s),
				 fds, 17), -EINVAL);
	assert_int_equal(pc_server_fds_settle(base), base);
	assert_int_equal(pc_call(&pc, VU_CMD_DEVICE_SET_IRQS, &s, sizeof(s),
				 fds, 8), 0);
	assert_int_equal(pc_server_fds_settle(base + 8), base + 8);
	for (int i = 0; i < 17; i++)
		close(fds[i]);
	pc_close(&pc);
	a_whole("fds per message");
}

static int teardown(void **state)
{
	if (g_prober) {
		atomic_store(&g_prober->stop, true);
		pthread_join(g_prober->t, NULL);
		g_prober = NULL;
	}
	return pc_test_teardown(state);
}

#define T(f) cmocka_unit_test_teardown(f, teardown)

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	const struct CMUnitTest tests[] = {
		T(test_message_size_limit),
		T(test_fds_limit),
		T(test_posted_flood_a),
		T(test_unread_flood_a),
		T(test_request_flood_a),
		T(test_slow_message_a),
		T(test_connection_flood_a),
		T(test_dma_reply_timeout),
		T(test_pending_limit),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
