/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Hostile streams: fds where none belong and more fds than allowed, a
 * close at every point of a message, 10,000 posted writes and 10,000
 * requests sent without reading replies, 65,535 DMA maps then
 * UNMAP_ALL, the file behind a mapped DMA window shrunk under the
 * device, DMA requests answered wrongly.  After each case the server
 * must be whole (hostile.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices/models.h"
#include "hostile.h"
#include "testutil.h"

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

/* Bytes @buf with @fds attached to the first, in one sendmsg. */
static ssize_t send_with_fds(int sock, const void *buf, size_t len,
			     const int *fds, unsigned nfds)
{
	union {
		char b[CMSG_SPACE(sizeof(int) * 253)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	int r = scm_attach(&mh, ctl.b, sizeof(ctl.b), fds, (unsigned)nfds);
	if (r < 0) {
		errno = -r;
		return -1;
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL);
}

static void test_fds_where_none_belong(void **state)
{
	struct vu_device_info gi = { .argsz = 16 };
	struct vu_region_info ri = { .argsz = 32, .index = 2 };
	struct vu_irq_info ii = { .argsz = 16, .index = 1 };
	struct vu_region_rw rr = { .region = 0, .count = 4 };
	uint8_t rw[20] = { 0 };
	memcpy(rw, &(struct vu_region_rw){ .offset = 4, .count = 4 }, 16);
	struct vu_dma_unmap du = { .argsz = 24, .flags = VU_DMA_UNMAP_FLAG_ALL };
	struct vu_region_io_fds_req io = { .argsz = 16 };
	uint8_t multi[32] = { 1 };
	memcpy(multi + 8, &(struct vu_wr_one){ .offset = 4, .count = 4 }, 24);
	struct vu_device_feature f = { .argsz = 8, .flags = VFIO_DEVICE_FEATURE_GET };
	struct vu_irq_set none = { .argsz = 20, .index = 1,
				   .flags = VFIO_IRQ_SET_DATA_NONE |
					    VFIO_IRQ_SET_ACTION_TRIGGER, .count = 1 };
	const struct { uint16_t cmd; const void *p; size_t len; } c[] = {
		{ VU_CMD_DEVICE_GET_INFO, &gi, sizeof(gi) },
		{ VU_CMD_DEVICE_GET_REGION_INFO, &ri, sizeof(ri) },
		{ VU_CMD_DEVICE_GET_IRQ_INFO, &ii, sizeof(ii) },
		{ VU_CMD_DEVICE_GET_REGION_IO_FDS, &io, sizeof(io) },
		{ VU_CMD_REGION_READ, &rr, sizeof(rr) },
		{ VU_CMD_REGION_WRITE, rw, sizeof(rw) },
		{ VU_CMD_REGION_WRITE_MULTI, multi, sizeof(multi) },
		{ VU_CMD_DMA_UNMAP, &du, sizeof(du) },
		{ VU_CMD_DEVICE_RESET, NULL, 0 },
		{ VU_CMD_DEVICE_FEATURE, &f, sizeof(f) },
		{ VU_CMD_DEVICE_SET_IRQS, &none, sizeof(none) },
		{ VU_CMD_DMA_READ, &rr, sizeof(rr) },
		{ 99, NULL, 0 },
	};
	struct pc pc;
	pc_open(&pc);
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		for (unsigned kind = 0; kind < H_FD_KINDS; kind++) {
			for (unsigned n = 1; n <= 2; n++) {
				for (int nr = 0; nr < 2; nr++) {
					int fds[2] = { h_fd_of_kind(kind),
						       h_fd_of_kind((kind + 1) % H_FD_KINDS) };
					int r = h_exchange(&pc, c[i].cmd,
							   nr ? VU_F_NO_REPLY : 0,
							   c[i].p, c[i].len, fds, n);
					close(fds[0]);
					close(fds[1]);
					/*
					 * EINVAL (fds where none belong), or ENOSYS
					 * for a command that does not exist.
					 */
					int want = nr ? 0 : c[i].cmd == 99 ? -ENOSYS
									   : -EINVAL;
					if (r != want)
						fail_msg("%s with %u fds of kind %u: %d",
							 uvfio_command_name(c[i].cmd),
							 n, kind, r);
					h_case_done(&pc, false, "%s, %u fds of kind %u%s",
						    uvfio_command_name(c[i].cmd), n,
						    kind, nr ? ", no reply" : "");
				}
			}
		}
	}
	pc_close(&pc);
}

static void test_more_fds_than_allowed(void **state)
{
	/* The server takes 16; SCM_MAX_FD is 253. */
	const unsigned counts[] = { 16, 17, 32, 64, 253 };
	struct vu_irq_set s = { .argsz = 20, .index = VFIO_PCI_MSIX_IRQ_INDEX,
				.flags = VFIO_IRQ_SET_DATA_EVENTFD |
					 VFIO_IRQ_SET_ACTION_TRIGGER, .count = 8 };
	struct vu_dma_map m = { .argsz = 32, .flags = 3, .addr = 0x100000,
				.size = 0x1000 };
	struct vu_device_info gi = { .argsz = 16 };
	const struct { uint16_t cmd; const void *p; size_t len; } c[] = {
		{ VU_CMD_DEVICE_SET_IRQS, &s, sizeof(s) },
		{ VU_CMD_DMA_MAP, &m, sizeof(m) },
		{ VU_CMD_DEVICE_GET_INFO, &gi, sizeof(gi) },
	};
	static int fds[253];
	struct pc pc;
	pc_open(&pc);
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
			for (unsigned j = 0; j < counts[k]; j++)
				fds[j] = j & 1 ? pc_memfd(4096) : pc_eventfd();
			int r = h_exchange(&pc, c[i].cmd, 0, c[i].p, c[i].len, fds,
					   counts[k]);
			for (unsigned j = 0; j < counts[k]; j++)
				close(fds[j]);
			if (r != -EINVAL)
				fail_msg("%s with %u fds: %d",
					 uvfio_command_name(c[i].cmd), counts[k], r);
			h_case_done(&pc, false, "%s with %u fds",
				    uvfio_command_name(c[i].cmd), counts[k]);
		}
	}
	pc_close(&pc);
}

/* A client gone after every prefix of a message (with its fds). */
static void test_close_inside_message(void **state)
{
	uint8_t msg[3][16 + 64];
	size_t size[3];
	struct vu_device_info gi = { .argsz = 16 };
	struct vu_dma_map m = { .argsz = 32, .flags = 3, .addr = 0x200000,
				.size = 0x1000 };
	struct vu_region_rw rw = { .offset = 0, .region = 9, .count = 48 };
	const struct { uint16_t cmd; const void *p; size_t plen, len; } c[3] = {
		{ VU_CMD_DEVICE_GET_INFO, &gi, sizeof(gi), sizeof(gi) },
		{ VU_CMD_DMA_MAP, &m, sizeof(m), sizeof(m) },
		{ VU_CMD_REGION_WRITE, &rw, sizeof(rw), sizeof(rw) + 48 },
	};
	for (int i = 0; i < 3; i++) {
		memset(msg[i], 0x77, sizeof(msg[i]));
		struct vu_hdr h = { .msg_id = 5, .command = c[i].cmd,
				    .msg_size = (uint32_t)(16 + c[i].len) };
		memcpy(msg[i], &h, 16);
		memcpy(msg[i] + 16, c[i].p, c[i].plen);
		size[i] = 16 + c[i].len;
	}
	for (int i = 0; i < 3; i++) {
		for (size_t cut = 1; cut < size[i]; cut++) {
			for (int with_fd = 0; with_fd < 2; with_fd++) {
				struct pc pc;
				pc_open(&pc);
				int fd = pc_memfd(4096);
				assert_true(send_with_fds(pc.sock, msg[i], cut, &fd,
							  (unsigned)with_fd) == (ssize_t)cut);
				close(fd);
				pc_close(&pc);
				h_case_done_idle("%s cut after %zu bytes%s",
						 uvfio_command_name(c[i].cmd), cut,
						 with_fd ? " with an fd" : "");
			}
		}
	}
	/* Before VERSION too. */
	for (size_t cut = 1; cut < 16 + 8; cut++) {
		struct pc pc;
		pc_connect(&pc);
		uint8_t v[16 + 8] = { 0 };
		memcpy(v, &(struct vu_hdr){ .command = VU_CMD_VERSION,
					    .msg_size = 24 }, 16);
		memcpy(v + 20, "{}", 3);
		write_all(pc.sock, v, cut);
		pc_close(&pc);
		h_case_done_idle("VERSION cut after %zu bytes", cut);
	}
}

static void test_posted_writes_unread(void **state)
{
	struct pc pc;
	pc_open(&pc);
	pc_wr32(&pc, 0, TESTDEV_REG_DMA_LEN, 0);
	assert_int_equal(pc_call(&pc, VU_CMD_DEVICE_RESET, NULL, 0, NULL, 0), 0);
	uint8_t w[20];
	memcpy(w, &(struct vu_region_rw){ .offset = TESTDEV_REG_BUMP, .count = 4 }, 16);
	uint32_t one = 1;
	memcpy(w + 16, &one, 4);
	for (int i = 0; i < 10000; i++)
		pc_send(&pc, VU_CMD_REGION_WRITE, VU_F_NO_REPLY, w, sizeof(w), NULL, 0);
	/* Nothing came back for them; the count is exact. */
	assert_int_equal(pc_rd32(&pc, 0, TESTDEV_REG_COUNT), 10000);
	h_case_done(&pc, false, "10000 posted writes");
	/* Posted writes that fail: still silent. */
	memcpy(w, &(struct vu_region_rw){ .offset = 1ull << 40, .count = 4 }, 16);
	for (int i = 0; i < 10000; i++)
		pc_send(&pc, VU_CMD_REGION_WRITE, VU_F_NO_REPLY, w, sizeof(w), NULL, 0);
	h_case_done(&pc, false, "10000 failing posted writes");
	pc_close(&pc);
}

/*
 * Requests sent as fast as the socket takes them, replies left unread:
 * the server stops reading until its reply goes out, neither blocks nor
 * drops the client, and every reply arrives, in order, once read.
 */
static void unread_requests(uint32_t region, uint32_t count, int n)
{
	struct pc pc;
	pc_open(&pc);
	int fl = fcntl(pc.sock, F_GETFL);
	struct vu_region_rw rr = { .offset = 0, .region = region, .count = count };
	uint8_t msg[32];
	int sent = 0, got = 0;
	uint16_t first = pc.next_id;
	while (got < n) {
		fcntl(pc.sock, F_SETFL, fl | O_NONBLOCK);
		int burst = 0;
		while (sent < n) {
			struct vu_hdr h = { .msg_id = (uint16_t)(first + sent),
					    .command = VU_CMD_REGION_READ,
					    .msg_size = 32 };
			memcpy(msg, &h, 16);
			memcpy(msg + 16, &rr, 16);
			ssize_t k = send(pc.sock, msg, 32, MSG_NOSIGNAL);
			if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				break;
			assert_int_equal(k, 32);   /* small: all or nothing */
			sent++;
			burst++;
		}
		fcntl(pc.sock, F_SETFL, fl);
		if (burst && sent < n) {
			/* Both sockets full: the server must just wait. */
			struct timespec ts = { 0, 200 * 1000 * 1000 };
			nanosleep(&ts, NULL);
			assert_true(served_alive(&g_served));
		}
		/* Read what the server had room for, then go on. */
		do {
			assert_int_equal(pc_recv(&pc, PC_TIMEOUT_MS), 0);
			assert_int_equal(pc.rx.hdr.msg_id, (uint16_t)(first + got));
			assert_false(pc.rx.hdr.flags & VU_F_ERROR);
			assert_int_equal(vu_rx_len(&pc.rx), 16 + count);
			got++;
		} while (got < sent && (got % 512 || sent == n));
	}
	pc.next_id = (uint16_t)(first + n);
	h_case_done(&pc, false, "%d reads of %u bytes, replies unread", n, count);
	pc_close(&pc);
}

static void test_requests_unread(void **state)
{
	unread_requests(0, 4, 10000);
	unread_requests(2, 64 << 10, 1000);
	unread_requests(2, 1 << 20, 64);
}

static void test_65535_dma_maps(void **state)
{
	struct pc pc;
	pc_open(&pc);
	const unsigned n = 65535, batch = 256;
	for (unsigned i = 0; i < n; i += batch) {
		unsigned k = i + batch <= n ? batch : n - i;
		for (unsigned j = 0; j < k; j++) {
			struct vu_dma_map m = { .argsz = 32, .flags = 3,
						.addr = (uint64_t)(i + j) << 13,
						.size = 4096 };
			pc_send(&pc, VU_CMD_DMA_MAP, 0, &m, sizeof(m), NULL, 0);
		}
		for (unsigned j = 0; j < k; j++) {
			assert_int_equal(pc_recv(&pc, PC_TIMEOUT_MS), 0);
			if (pc.rx.hdr.flags & VU_F_ERROR)
				fail_msg("map %u: error %u", i + j, pc.rx.hdr.error);
		}
	}
	/* The limit: one more is refused, and the client stays. */
	struct vu_dma_map m = { .argsz = 32, .flags = 3,
				.addr = (uint64_t)n << 13, .size = 4096 };
	assert_int_equal(pc_call(&pc, VU_CMD_DMA_MAP, &m, sizeof(m), NULL, 0),
			 -ENOSPC);
	struct vu_dma_unmap u = { .argsz = 24, .flags = VU_DMA_UNMAP_FLAG_ALL };
	assert_int_equal(pc_call(&pc, VU_CMD_DMA_UNMAP, &u, sizeof(u), NULL, 0), 0);
	h_case_done(&pc, false, "65535 DMA maps, UNMAP_ALL");
	/* Again, and this time the client just leaves with them mapped. */
	for (unsigned i = 0; i < n; i += batch) {
		for (unsigned j = 0; j < batch && i + j < n; j++) {
			m.addr = (uint64_t)(i + j) << 13;
			pc_send(&pc, VU_CMD_DMA_MAP, VU_F_NO_REPLY, &m, sizeof(m),
				NULL, 0);
		}
	}
	pc_get_info_ok(&pc);
	pc_close(&pc);
	h_case_done_idle("65535 DMA maps, client gone");
}

/* Ask the device for DMA through a window; returns DMA_STATUS. */
static uint32_t device_dma(struct pc *pc, uint64_t iova, uint32_t len,
			   uint32_t cmd)
{
	pc_wr32(pc, 0, TESTDEV_REG_DMA_ADDR, (uint32_t)iova);
	pc_wr32(pc, 0, TESTDEV_REG_DMA_ADDR + 4, (uint32_t)(iova >> 32));
	pc_wr32(pc, 0, TESTDEV_REG_DMA_LEN, len);
	pc_wr32(pc, 0, TESTDEV_REG_DMA_CMD, cmd);
	return pc_rd32(pc, 0, TESTDEV_REG_DMA_STATUS);
}

/*
 * The client shrinks the file behind a window the server has mapped:
 * device DMA there must fail (EFAULT), not kill the server with SIGBUS.
 */
static void test_window_file_shrunk(void **state)
{
	const off_t sizes[] = { 0, 4096, 8192 - 1 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (uint32_t cmd = 1; cmd <= 2; cmd++) {
			struct pc pc;
			pc_open(&pc);
			int fd = pc_memfd(8192);
			struct vu_dma_map m = { .argsz = 32, .flags = 3,
						.addr = 0x7000000, .size = 8192 };
			assert_int_equal(pc_call(&pc, VU_CMD_DMA_MAP, &m, sizeof(m),
						 &fd, 1), 0);
			assert_int_equal(device_dma(&pc, 0x7000000, 8192, cmd), 0);
			assert_int_equal(ftruncate(fd, sizes[i]), 0);
			uint32_t st = device_dma(&pc, 0x7000000 + 4096, 4096, cmd);
			bool gone = sizes[i] <= 4096;   /* the page is gone */
			if (gone && st != EFAULT)
				fail_msg("DMA %u past the shrunk file: status %u",
					 cmd, st);
			assert_int_equal(device_dma(&pc, 0x7000000, 16, cmd),
					 sizes[i] ? 0 : EFAULT);
			close(fd);
			h_case_done(&pc, false, "window file shrunk to %lld, dma %u",
				    (long long)sizes[i], cmd);
			pc_close(&pc);
		}
	}
}

/* Sealed against shrinking, the file stays whole: DMA just works. */
static void test_window_file_sealed(void **state)
{
	struct pc pc;
	pc_open(&pc);
	int fd = memfd_create("uvfio-hostile", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 8192), 0);
	assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK), 0);
	struct vu_dma_map m = { .argsz = 32, .flags = 3, .addr = 0x7100000,
				.size = 8192 };
	assert_int_equal(pc_call(&pc, VU_CMD_DMA_MAP, &m, sizeof(m), &fd, 1), 0);
	assert_int_equal(ftruncate(fd, 0), -1);
	assert_int_equal(errno, EPERM);
	for (uint32_t cmd = 1; cmd <= 2; cmd++)
		assert_int_equal(device_dma(&pc, 0x7100000, 8192, cmd), 0);
	close(fd);
	h_case_done(&pc, false, "sealed window file");
	pc_close(&pc);
}

#define T(f) cmocka_unit_test_teardown(f, pc_test_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_fds_where_none_belong),
		T(test_more_fds_than_allowed),
		T(test_close_inside_message),
		T(test_posted_writes_unread),
		T(test_requests_unread),
		T(test_65535_dma_maps),
		T(test_window_file_shrunk),
		T(test_window_file_sealed),
	};
	return cmocka_run_group_tests(tests, h_group_setup, h_group_teardown);
}
