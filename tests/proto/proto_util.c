/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices/models.h"
#include "proto_util.h"

struct served g_served;

/*
 * Sockets a failing test may leave open, closed by pc_test_teardown so
 * the server can serve the next test.  Only the fd numbers are kept: the
 * struct pc of a failed test lived in a stack frame that is gone.
 */
#define PC_MAX_OPEN 8
static int open_socks[PC_MAX_OPEN] = { -1, -1, -1, -1, -1, -1, -1, -1 };

/* Replies can carry 1 MiB of data; fds at most a handful. */
static const struct vu_limits pc_lim = {
	.max_msg_size = (64u << 20) + 4096, .max_fds = 16,
};

int pc_group_setup_args(const char *const *extra)
{
	int r = served_start(&g_served, "testdev", extra);
	if (r < 0) {
		fprintf(stderr, "cannot start uvfio-serve: %s\n", strerror(-r));
		return -1;
	}
	return 0;
}

int pc_group_setup(void **state)
{
	return pc_group_setup_args(NULL);
}

int pc_group_teardown(void **state)
{
	bool alive = served_alive(&g_served);
	int st = served_stop(&g_served);
	if (!alive || st != 0) {
		fprintf(stderr, "uvfio-serve %s (exit status %d)\n",
			alive ? "did not exit cleanly" : "died during the tests", st);
		return -1;
	}
	return 0;
}

/* Extra servers of the running test, by value: its frame may be gone. */
#define PC_MAX_SERVED 2
static struct served extra_served[PC_MAX_SERVED];

int pc_served_start(struct served *s, const char *const *extra)
{
	for (int i = 0; i < PC_MAX_SERVED; i++) {
		if (extra_served[i].pid > 0)
			continue;
		int r = served_start(s, "testdev", extra);
		if (r == 0)
			extra_served[i] = *s;
		return r;
	}
	return -ENOSPC;
}

int pc_served_stop(struct served *s)
{
	for (int i = 0; i < PC_MAX_SERVED; i++)
		if (extra_served[i].pid == s->pid)
			extra_served[i].pid = 0;
	return served_stop(s);
}

int pc_test_teardown(void **state)
{
	for (int i = 0; i < PC_MAX_SERVED; i++) {
		if (extra_served[i].pid > 0)
			served_stop(&extra_served[i]);
		extra_served[i].pid = 0;
	}
	for (int i = 0; i < PC_MAX_OPEN; i++) {
		if (open_socks[i] >= 0)
			close(open_socks[i]);
		open_socks[i] = -1;
	}
	return 0;
}

void pc_connect(struct pc *pc)
{
	pc_connect_to(pc, g_served.path);
}

void pc_connect_to(struct pc *pc, const char *path)
{
	memset(pc, 0, sizeof(*pc));
	vu_rx_init(&pc->rx);
	pc->next_id = 1;
	pc->sock = raw_connect(path);
	if (pc->sock < 0)
		fail_msg("connect %s: %s", path, strerror(-pc->sock));
	for (int i = 0; i < PC_MAX_OPEN; i++) {
		if (open_socks[i] < 0) {
			open_socks[i] = pc->sock;
			return;
		}
	}
	fail_msg("too many open test clients");
}

void pc_close(struct pc *pc)
{
	for (int i = 0; i < PC_MAX_OPEN; i++)
		if (pc->sock >= 0 && open_socks[i] == pc->sock)
			open_socks[i] = -1;
	if (pc->sock >= 0)
		close(pc->sock);
	pc->sock = -1;
	vu_rx_fini(&pc->rx);
}

uint16_t pc_send(struct pc *pc, uint16_t cmd, uint32_t flags, const void *p,
		 size_t len, const int *fds, unsigned nfds)
{
	struct vu_hdr h = { .msg_id = pc->next_id++, .command = cmd,
			    .flags = flags };
	struct iovec iov = { (void *)p, len };
	int r = vu_send(pc->sock, &h, &iov, 1, fds, nfds, PC_TIMEOUT_MS);
	if (r < 0)
		fail_msg("send command %u: %s", cmd, strerror(-r));
	return h.msg_id;
}

int pc_recv(struct pc *pc, int timeout_ms)
{
	vu_rx_release(&pc->rx);
	return vu_recv(&pc->rx, pc->sock, &pc_lim, timeout_ms);
}

int pc_call(struct pc *pc, uint16_t cmd, const void *p, size_t len,
	    const int *fds, unsigned nfds)
{
	uint16_t id = pc_send(pc, cmd, VU_F_TYPE_COMMAND, p, len, fds, nfds);
	int r = pc_recv(pc, PC_TIMEOUT_MS);
	if (r < 0)
		fail_msg("command %u (%s) len %zu: no reply: %s", cmd,
			 uvfio_command_name(cmd), len, strerror(-r));
	const struct vu_hdr *h = &pc->rx.hdr;
	if (h->msg_id != id || h->command != cmd ||
	    (h->flags & VU_F_TYPE_MASK) != VU_F_TYPE_REPLY)
		fail_msg("command %u id %u: got command %u id %u flags 0x%x", cmd,
			 id, h->command, h->msg_id, h->flags);
	if (h->flags & VU_F_ERROR) {
		/* An error reply is the header alone. */
		assert_int_equal(h->msg_size, sizeof(struct vu_hdr));
		assert_int_equal(pc->rx.nfds, 0);
		if (h->error == 0 || h->error > 4095)
			fail_msg("error reply with errno %u", h->error);
		return -(int)h->error;
	}
	return 0;
}

void pc_expect_closed(struct pc *pc, int expect_error)
{
	int r;
	if (expect_error) {
		r = pc_recv(pc, PC_TIMEOUT_MS);
		if (r < 0)
			fail_msg("no error reply before the close: %s", strerror(-r));
		assert_true(pc->rx.hdr.flags & VU_F_ERROR);
		assert_int_equal(pc->rx.hdr.flags & VU_F_TYPE_MASK, VU_F_TYPE_REPLY);
		assert_int_equal(pc->rx.hdr.msg_size, sizeof(struct vu_hdr));
		if (expect_error > 0)
			assert_int_equal(pc->rx.hdr.error, expect_error);
		else
			assert_true(pc->rx.hdr.error > 0 && pc->rx.hdr.error < 4096);
	}
	r = pc_recv(pc, PC_TIMEOUT_MS);
	if (r != -ECONNRESET)
		fail_msg("connection not closed by the server (%d, command %u)",
			 r, r == 0 ? pc->rx.hdr.command : 0);
}

void pc_expect_silence(struct pc *pc, int ms)
{
	struct pollfd p = { .fd = pc->sock, .events = POLLIN };
	int r = poll(&p, 1, ms);
	if (r != 0)
		fail_msg("unexpected data or close from the server");
}

int pc_version(struct pc *pc, uint16_t minor, const char *json)
{
	uint8_t buf[1024];
	struct vu_version *v = (void *)buf;
	v->major = 0;
	v->minor = minor;
	size_t n = strlen(json) + 1;
	assert_true(n <= sizeof(buf) - sizeof(*v));
	memcpy(v->data, json, n);
	return pc_call(pc, VU_CMD_VERSION, buf, sizeof(*v) + n, NULL, 0);
}

void pc_open(struct pc *pc)
{
	pc_connect(pc);
	assert_int_equal(pc_version(pc, 0, "{\"capabilities\":{\"max_msg_fds\":16}}"), 0);
	assert_int_equal(pc->rx.nfds, 0);
}

void pc_get_info_ok(struct pc *pc)
{
	struct vu_device_info in = { .argsz = sizeof(in) };
	int r = pc_call(pc, VU_CMD_DEVICE_GET_INFO, &in, sizeof(in), NULL, 0);
	if (r)
		fail_msg("GET_INFO: %s", strerror(-r));
	assert_int_equal(vu_rx_len(&pc->rx), sizeof(struct vu_device_info));
	const struct vu_device_info *out = (const void *)pc->rx.buf;
	assert_int_equal(out->argsz, sizeof(*out));
	assert_int_equal(out->flags, VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET);
	assert_int_equal(out->num_regions, 10);
	assert_int_equal(out->num_irqs, VFIO_PCI_NUM_IRQS);
}

void pc_server_usable(void)
{
	assert_true(served_alive(&g_served));
	struct pc pc;
	pc_open(&pc);
	pc_get_info_ok(&pc);
	assert_int_equal(pc_rd32(&pc, 0, TESTDEV_REG_ID), TESTDEV_ID_VALUE);
	pc_close(&pc);
}

int pc_region_read(struct pc *pc, uint32_t region, uint64_t off, void *buf,
		   uint32_t count)
{
	struct vu_region_rw req = { .offset = off, .region = region,
				    .count = count };
	int r = pc_call(pc, VU_CMD_REGION_READ, &req, sizeof(req), NULL, 0);
	if (r)
		return r;
	assert_int_equal(vu_rx_len(&pc->rx), sizeof(req) + count);
	const struct vu_region_rw *out = (const void *)pc->rx.buf;
	assert_true(out->offset == off);
	assert_int_equal(out->region, region);
	assert_int_equal(out->count, count);
	memcpy(buf, out->data, count);
	return 0;
}

int pc_region_write(struct pc *pc, uint32_t region, uint64_t off,
		    const void *buf, uint32_t count)
{
	size_t len = sizeof(struct vu_region_rw) + count;
	struct vu_region_rw *req = malloc(len);
	assert_non_null(req);
	req->offset = off;
	req->region = region;
	req->count = count;
	memcpy(req->data, buf, count);
	int r = pc_call(pc, VU_CMD_REGION_WRITE, req, len, NULL, 0);
	free(req);
	if (r)
		return r;
	assert_int_equal(vu_rx_len(&pc->rx), sizeof(struct vu_region_rw));
	const struct vu_region_rw *out = (const void *)pc->rx.buf;
	assert_true(out->offset == off);
	assert_int_equal(out->region, region);
	assert_int_equal(out->count, count);
	return 0;
}

uint32_t pc_rd32(struct pc *pc, uint32_t region, uint64_t off)
{
	uint32_t v = 0;
	int r = pc_region_read(pc, region, off, &v, 4);
	if (r)
		fail_msg("read region %u at 0x%llx: %s", region,
			 (unsigned long long)off, strerror(-r));
	return v;
}

void pc_wr32(struct pc *pc, uint32_t region, uint64_t off, uint32_t v)
{
	int r = pc_region_write(pc, region, off, &v, 4);
	if (r)
		fail_msg("write region %u at 0x%llx: %s", region,
			 (unsigned long long)off, strerror(-r));
}

int pc_server_fds(void)
{
	int n = count_process_fds(g_served.pid), prev = -1;
	for (int i = 0; i < 50 && n != prev; i++) {
		prev = n;
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		n = count_process_fds(g_served.pid);
	}
	return n;
}

int pc_server_fds_settle(int want)
{
	int n = -1;
	for (int i = 0; i < 200; i++) {
		n = count_process_fds(g_served.pid);
		if (n == want)
			return n;
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return n;
}

int pc_eventfd(void)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

int pc_memfd(size_t size)
{
	int fd = memfd_create("uvfio-proto", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	return fd;
}
