/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The byte stream and its fds against a real uvfio-serve: fds where none
 * are taken, too many fds, NO_REPLY failures, a 1 MiB message in many
 * small writes, impossible msg_size values, a client vanishing inside a
 * message, pipelined commands, clients waiting their turn.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices/models.h"
#include "proto_util.h"
#include "testutil.h"

#define MIB (1u << 20)
/* What the server accepts after VERSION with its default 1 MiB limit. */
#define SERVER_MAX_MSG (MIB + 4096)

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

static void write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			fail_msg("write: %s", strerror(errno));
		p += n;
		len -= (size_t)n;
	}
}

static void test_fds_on_commands_taking_none(void **state)
{
	struct pc pc;
	pc_open(&pc);
	int base = pc_server_fds();
	struct vu_device_info gi = { .argsz = sizeof(gi) };
	struct vu_region_info ri = { .argsz = sizeof(ri), .index = 0 };
	struct vu_irq_info ii = { .argsz = sizeof(ii), .index = 0 };
	struct vu_region_rw rr = { .offset = 0, .region = 0, .count = 4 };
	uint8_t rw[20] = { 0 };
	memcpy(rw, &(struct vu_region_rw){ .offset = TESTDEV_REG_SCRATCH,
					   .count = 4 }, 16);
	struct vu_dma_unmap du = { .argsz = sizeof(du), .flags = 2 };
	struct vu_region_io_fds_req io = { .argsz = sizeof(io) };
	const struct { uint16_t cmd; const void *p; size_t len; } c[] = {
		{ VU_CMD_DEVICE_GET_INFO, &gi, sizeof(gi) },
		{ VU_CMD_DEVICE_GET_REGION_INFO, &ri, sizeof(ri) },
		{ VU_CMD_DEVICE_GET_IRQ_INFO, &ii, sizeof(ii) },
		{ VU_CMD_DEVICE_GET_REGION_IO_FDS, &io, sizeof(io) },
		{ VU_CMD_REGION_READ, &rr, sizeof(rr) },
		{ VU_CMD_REGION_WRITE, rw, sizeof(rw) },
		{ VU_CMD_DMA_UNMAP, &du, sizeof(du) },
		{ VU_CMD_DEVICE_RESET, NULL, 0 },
		{ 99, NULL, 0 },
	};
	int fds[3] = { pc_memfd(4096), pc_eventfd(), pc_memfd(8192) };
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		for (unsigned n = 1; n <= 3; n += 2) {
			int r = pc_call(&pc, c[i].cmd, c[i].p, c[i].len, fds, n);
			int want = c[i].cmd == 99 ? -ENOSYS : -EINVAL;
			if (r != want)
				fail_msg("%s with %u fds: %d", uvfio_command_name(c[i].cmd),
					 n, r);
			pc_get_info_ok(&pc);
			/* The server closed what it was sent. */
			int now = pc_server_fds_settle(base);
			if (now != base)
				fail_msg("%s with %u fds: server fds %d -> %d",
					 uvfio_command_name(c[i].cmd), n, base, now);
		}
	}
	/* DMA_MAP takes at most one. */
	struct vu_dma_map dm = { .argsz = sizeof(dm), .flags = 3, .addr = 1 << 20,
				 .size = 4096 };
	assert_int_equal(pc_call(&pc, VU_CMD_DMA_MAP, &dm, sizeof(dm), fds, 2), -EINVAL);
	assert_int_equal(pc_server_fds_settle(base), base);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	pc_close(&pc);
}

static void test_more_fds_than_max_msg_fds(void **state)
{
	struct pc pc;
	pc_open(&pc);
	int base = pc_server_fds();
	int fds[40];
	for (int i = 0; i < 40; i++)
		fds[i] = pc_eventfd();
	struct vu_irq_set s = { .argsz = sizeof(s),
				.flags = VFIO_IRQ_SET_DATA_EVENTFD |
					 VFIO_IRQ_SET_ACTION_TRIGGER,
				.index = VFIO_PCI_MSIX_IRQ_INDEX, .count = 8 };
	const unsigned counts[] = { 17, 40 };
	for (int k = 0; k < 2; k++) {
		s.count = 8;
		assert_int_equal(pc_call(&pc, VU_CMD_DEVICE_SET_IRQS, &s, sizeof(s),
					 fds, counts[k]), -EINVAL);
		assert_int_equal(pc_server_fds_settle(base), base);
		pc_get_info_ok(&pc);
	}
	/* Exactly 16 is within the limit (then refused for the count). */
	assert_int_equal(pc_call(&pc, VU_CMD_DEVICE_SET_IRQS, &s, sizeof(s), fds, 16),
			 -EINVAL);
	assert_int_equal(pc_server_fds_settle(base), base);
	/* And 8 for 8 vectors works. */
	assert_int_equal(pc_call(&pc, VU_CMD_DEVICE_SET_IRQS, &s, sizeof(s), fds, 8), 0);
	assert_int_equal(pc_server_fds_settle(base + 8), base + 8);
	for (int i = 0; i < 40; i++)
		close(fds[i]);
	pc_close(&pc);
}

static void test_no_reply_failures_are_silent(void **state)
{
	struct pc pc;
	pc_open(&pc);
	int base = pc_server_fds();
	uint8_t bad_write[20] = { 0 };
	memcpy(bad_write, &(struct vu_region_rw){ .region = 10, .count = 4 }, 16);
	struct vu_dma_unmap du = { .argsz = sizeof(du), .addr = 0x7770000,
				   .size = 4096 };
	struct vu_irq_set is = { .argsz = sizeof(is), .flags = 0x40, .index = 1 };
	struct vu_region_rw big = { .region = 2, .count = 2 * MIB };
	int fd = pc_eventfd();
	const uint32_t NR = VU_F_TYPE_COMMAND | VU_F_NO_REPLY;
	pc_send(&pc, VU_CMD_REGION_WRITE, NR, bad_write, sizeof(bad_write), NULL, 0);
	pc_send(&pc, VU_CMD_DMA_UNMAP, NR, &du, sizeof(du), NULL, 0);
	pc_send(&pc, VU_CMD_DEVICE_SET_IRQS, NR, &is, sizeof(is), NULL, 0);
	pc_send(&pc, VU_CMD_REGION_READ, NR, &big, sizeof(big), NULL, 0);
	pc_send(&pc, 99, NR, NULL, 0, NULL, 0);
	pc_send(&pc, VU_CMD_DEVICE_GET_INFO, NR, NULL, 0, &fd, 1);
	pc_send(&pc, VU_CMD_VERSION, NR, NULL, 0, NULL, 0);
	/* A posted write that succeeds is ordered before the read. */
	uint8_t ok_write[20];
	memcpy(ok_write, &(struct vu_region_rw){ .offset = TESTDEV_REG_SCRATCH,
						 .region = 0, .count = 4 }, 16);
	uint32_t v = 0x50573ed;
	memcpy(ok_write + 16, &v, 4);
	pc_send(&pc, VU_CMD_REGION_WRITE, NR, ok_write, sizeof(ok_write), NULL, 0);
	/* The next message to arrive is this GET_INFO's reply. */
	pc_get_info_ok(&pc);
	assert_int_equal(pc_rd32(&pc, 0, TESTDEV_REG_SCRATCH), 0x50573ed);
	assert_int_equal(pc_server_fds_settle(base), base);
	close(fd);
	pc_close(&pc);
}

static void test_1mib_write_in_small_pieces(void **state)
{
	struct pc pc;
	pc_open(&pc);
	const size_t len = 16 + 16 + MIB;
	uint8_t *msg = malloc(len);
	assert_non_null(msg);
	struct vu_hdr h = { .msg_id = 0x4242, .command = VU_CMD_REGION_WRITE,
			    .msg_size = (uint32_t)len };
	struct vu_region_rw rw = { .offset = 0x100000, .region = 2, .count = MIB };
	memcpy(msg, &h, 16);
	memcpy(msg + 16, &rw, 16);
	uint32_t x = 0x12345678;
	for (size_t i = 32; i < len; i++) {
		x = x * 1103515245u + 12345u;
		msg[i] = (uint8_t)(x >> 16);
	}
	/* The header a byte at a time, then pieces of varying small sizes. */
	size_t off = 0;
	for (; off < 16; off++) {
		write_all(pc.sock, msg + off, 1);
		sleep_ms(1);
	}
	unsigned n = 0;
	while (off < len - 1) {
		size_t piece = 1 + (n * 397u) % 4000;
		if (piece > len - 1 - off)
			piece = len - 1 - off;
		write_all(pc.sock, msg + off, piece);
		off += piece;
		if (++n % 64 == 0)
			sleep_ms(1);
	}
	assert_true(n > 200);
	/* Everything but the last byte: nothing may be answered yet. */
	pc_expect_silence(&pc, 100);
	write_all(pc.sock, msg + off, 1);
	assert_int_equal(pc_recv(&pc, PC_TIMEOUT_MS), 0);
	assert_int_equal(pc.rx.hdr.msg_id, 0x4242);
	assert_int_equal(pc.rx.hdr.command, VU_CMD_REGION_WRITE);
	assert_int_equal(pc.rx.hdr.flags, VU_F_TYPE_REPLY);
	/* Read it back in one REGION_READ of 1 MiB. */
	uint8_t *back = malloc(MIB);
	assert_non_null(back);
	assert_int_equal(pc_region_read(&pc, 2, 0x100000, back, MIB), 0);
	assert_true(memcmp(back, msg + 32, MIB) == 0);
	free(back);
	free(msg);
	pc_close(&pc);
}

/* A header claiming an impossible size: that client is dropped. */
static void absurd(bool negotiate, uint32_t msg_size)
{
	struct pc pc;
	if (negotiate)
		pc_open(&pc);
	else
		pc_connect(&pc);
	uint8_t buf[64] = { 0 };
	struct vu_hdr h = { .msg_id = 1, .command = VU_CMD_REGION_WRITE,
			    .msg_size = msg_size };
	memcpy(buf, &h, 16);
	write_all(pc.sock, buf, sizeof(buf));
	pc_expect_closed(&pc, 0);
	pc_close(&pc);
	pc_server_usable();
}

static void test_absurd_msg_size(void **state)
{
	const uint32_t after[] = { 0, 8, 15, 0xffffffffu, 0x80000000u,
				   SERVER_MAX_MSG + 1 };
	for (size_t i = 0; i < sizeof(after) / sizeof(after[0]); i++)
		absurd(true, after[i]);
	/* Before VERSION only a small message is accepted. */
	absurd(false, 8);
	absurd(false, 0xffffffffu);
	absurd(false, (64u << 10) + 1);
}

/* The largest message the server takes is answered, not dropped. */
static void test_largest_message_answered(void **state)
{
	struct pc pc;
	pc_open(&pc);
	size_t len = SERVER_MAX_MSG - 16;
	uint8_t *p = calloc(1, len);
	assert_non_null(p);
	struct vu_region_rw rw = { .region = 2, .count = (uint32_t)(len - 16) };
	memcpy(p, &rw, 16);
	/* count > max_data_xfer_size: E2BIG, and the connection stays. */
	assert_int_equal(pc_call(&pc, VU_CMD_REGION_WRITE, p, len, NULL, 0), -E2BIG);
	pc_get_info_ok(&pc);
	free(p);
	pc_close(&pc);
}

static void test_close_mid_message(void **state)
{
	int idle = pc_server_fds();
	const size_t cut[] = { 1, 8, 15, 16, 20, 500 };
	for (size_t i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
		for (int neg = 0; neg < 2; neg++) {
			struct pc pc;
			if (neg)
				pc_open(&pc);
			else
				pc_connect(&pc);
			uint8_t buf[1024] = { 0 };
			struct vu_hdr h = { .command = neg ? VU_CMD_REGION_WRITE
							   : VU_CMD_VERSION,
					    .msg_size = 1000 };
			memcpy(buf, &h, 16);
			write_all(pc.sock, buf, cut[i]);
			sleep_ms(5);
			pc_close(&pc);
			pc_server_usable();
		}
	}
	/* With an fd attached to the unfinished message: no leak. */
	struct pc pc;
	pc_open(&pc);
	struct vu_hdr h = { .command = VU_CMD_DMA_MAP, .msg_size = 48 };
	int fd = pc_memfd(4096);
	struct iovec iov = { &h, 16 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	assert_int_equal(scm_attach(&mh, ctl.buf, sizeof(ctl.buf), &fd, 1), 0);
	assert_int_equal(sendmsg(pc.sock, &mh, 0), 16);
	close(fd);
	sleep_ms(20);
	pc_close(&pc);
	assert_int_equal(pc_server_fds_settle(idle), idle);
	pc_server_usable();
}

/* Commands sent back to back, each with its own fd, keep them apart. */
static void test_pipelined_commands_with_fds(void **state)
{
	struct pc pc;
	pc_open(&pc);
	int base = pc_server_fds();
	int m1 = pc_memfd(0x2000), m2 = pc_memfd(0x1000);
	struct vu_dma_map a = { .argsz = 32, .flags = 3, .addr = 0x8000000,
				.size = 0x2000 };
	struct vu_dma_map b = { .argsz = 32, .flags = 3, .offset = 0,
				.addr = 0x9000000, .size = 0x1000 };
	struct vu_device_info gi = { .argsz = 16 };
	uint16_t ia = pc_send(&pc, VU_CMD_DMA_MAP, 0, &a, sizeof(a), &m1, 1);
	uint16_t ib = pc_send(&pc, VU_CMD_DMA_MAP, 0, &b, sizeof(b), &m2, 1);
	uint16_t ig = pc_send(&pc, VU_CMD_DEVICE_GET_INFO, 0, &gi, sizeof(gi), NULL, 0);
	const uint16_t ids[3] = { ia, ib, ig };
	for (int i = 0; i < 3; i++) {
		assert_int_equal(pc_recv(&pc, PC_TIMEOUT_MS), 0);
		assert_int_equal(pc.rx.hdr.msg_id, ids[i]);
		assert_false(pc.rx.hdr.flags & VU_F_ERROR);
	}
	assert_true(pc_server_fds() <= base + 2);
	/* m2's window is 1 page: had it got m1 (2 pages) nothing would show;
	 * check through the device that each window reaches its own file. */
	uint32_t tag1 = 0x11111111, tag2 = 0x22222222;
	assert_int_equal(pwrite(m1, &tag1, 4, 0x1000), 4);
	assert_int_equal(pwrite(m2, &tag2, 4, 0), 4);
	pc_wr32(&pc, 0, TESTDEV_REG_DMA_LEN, 4);
	pc_wr32(&pc, 0, TESTDEV_REG_DMA_ADDR + 4, 0);
	const struct { uint64_t src, dst; uint32_t want; } t[2] = {
		{ 0x8001000, 0x8000000, 0x11111111 },
		{ 0x9000000, 0x8000010, 0x22222222 },
	};
	for (int i = 0; i < 2; i++) {
		pc_wr32(&pc, 0, TESTDEV_REG_DMA_ADDR, (uint32_t)t[i].src);
		pc_wr32(&pc, 0, TESTDEV_REG_DMA_CMD, 1);
		assert_int_equal(pc_rd32(&pc, 0, TESTDEV_REG_DMA_STATUS), 0);
		pc_wr32(&pc, 0, TESTDEV_REG_DMA_ADDR, (uint32_t)t[i].dst);
		pc_wr32(&pc, 0, TESTDEV_REG_DMA_CMD, 2);
		assert_int_equal(pc_rd32(&pc, 0, TESTDEV_REG_DMA_STATUS), 0);
		uint32_t got = 0;
		assert_int_equal(pread(m1, &got, 4, (off_t)(t[i].dst - 0x8000000)), 4);
		assert_int_equal(got, t[i].want);
	}
	close(m1);
	close(m2);
	pc_close(&pc);
}

/* One client at a time: the next one is served when the first leaves. */
static void test_second_client_waits(void **state)
{
	struct pc first, second;
	pc_open(&first);
	pc_connect(&second);
	uint8_t v[7] = { 0, 0, 0, 0, '{', '}', 0 };
	uint16_t id = pc_send(&second, VU_CMD_VERSION, 0, v, sizeof(v), NULL, 0);
	pc_expect_silence(&second, 200);
	pc_get_info_ok(&first);
	pc_close(&first);
	assert_int_equal(pc_recv(&second, PC_TIMEOUT_MS), 0);
	assert_int_equal(second.rx.hdr.msg_id, id);
	assert_false(second.rx.hdr.flags & VU_F_ERROR);
	pc_get_info_ok(&second);
	pc_close(&second);
}

#define T(f) cmocka_unit_test_teardown(f, pc_test_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_fds_on_commands_taking_none),
		T(test_more_fds_than_max_msg_fds),
		T(test_no_reply_failures_are_silent),
		T(test_1mib_write_in_small_pieces),
		T(test_absurd_msg_size),
		T(test_largest_message_answered),
		T(test_close_mid_message),
		T(test_pipelined_commands_with_fds),
		T(test_second_client_waits),
	};
	return cmocka_run_group_tests(tests, pc_group_setup, pc_group_teardown);
}
