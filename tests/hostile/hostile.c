/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices/models.h"
#include "hostile.h"

static unsigned g_cases;
static int g_fds_conn, g_fds_idle;
static long g_rss_kb;
static int g_maps;

unsigned h_cases(void)
{
	return g_cases;
}

static long status_kb(const char *field)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)g_served.pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	long v = 0;
	size_t n = strlen(field);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, n) && line[n] == ':')
			v = strtol(line + n + 1, NULL, 10);
	fclose(f);
	return v;
}

long h_server_rss_kb(void)
{
	return status_kb("VmRSS") - status_kb("RssShmem");
}

int h_server_maps(void)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)g_served.pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	int n = 0;
	while (fgets(line, sizeof(line), f))
		n++;
	fclose(f);
	return n;
}

int h_fd_of_kind(unsigned kind)
{
	int fd = -1, p[2];
	switch (kind) {
	case 0:
		return pc_eventfd();
	case 1:
		return pc_memfd(8192);
	case 2:
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) == 0) {
			close(p[1]);
			fd = p[0];
		}
		break;
	case 3:
		if (pipe2(p, O_CLOEXEC) == 0) {
			close(p[1]);
			fd = p[0];
		}
		break;
	default:
		fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		break;
	}
	assert_true(fd >= 0);
	return fd;
}

/* Release what a case may have left bound, with correct requests. */
static void release_all(struct pc *pc)
{
	struct vu_dma_unmap u = { .argsz = sizeof(u),
				  .flags = VU_DMA_UNMAP_FLAG_ALL };
	assert_int_equal(pc_call(pc, VU_CMD_DMA_UNMAP, &u, sizeof(u), NULL, 0), 0);
	for (uint32_t i = 0; i < VFIO_PCI_NUM_IRQS; i++) {
		struct vu_irq_set s = { .argsz = sizeof(s), .index = i,
					.flags = VFIO_IRQ_SET_DATA_NONE |
						 VFIO_IRQ_SET_ACTION_TRIGGER };
		int r = pc_call(pc, VU_CMD_DEVICE_SET_IRQS, &s, sizeof(s), NULL, 0);
		/* ERR/REQ refuse a release with nothing installed. */
		assert_true(r == 0 || r == -EINVAL);
	}
	/* A reset brings config space (MSI enable ...) back to power-on. */
	assert_int_equal(pc_call(pc, VU_CMD_DEVICE_RESET, NULL, 0, NULL, 0), 0);
}

/* The server answers correctly: device info and a register. */
static void answers(struct pc *pc)
{
	pc_get_info_ok(pc);
	assert_int_equal(pc_rd32(pc, 0, TESTDEV_REG_ID), TESTDEV_ID_VALUE);
}

static void check_resources(int want_fds, const char *what)
{
	int fds = pc_server_fds_settle(want_fds);
	if (fds != want_fds)
		fail_msg("%s: server has %d fds, baseline %d", what, fds, want_fds);
	long rss = h_server_rss_kb();
	if (rss > g_rss_kb + H_RSS_SLACK_KB)
		fail_msg("%s: server memory %ld KiB, baseline %ld KiB", what, rss,
			 g_rss_kb);
	int maps = h_server_maps();
	if (maps > g_maps + H_MAPS_SLACK)
		fail_msg("%s: server has %d mappings, baseline %d", what, maps,
			 g_maps);
}

/* Has the server closed @pc?  Fails on unread data. */
static bool dropped(struct pc *pc, const char *what)
{
	struct pollfd p = { .fd = pc->sock, .events = POLLIN };
	if (poll(&p, 1, 0) == 0)
		return false;
	char c;
	ssize_t n = recv(pc->sock, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n > 0)
		fail_msg("%s: a message nobody asked for is waiting", what);
	return true;
}

void h_case_done(struct pc *pc, bool may_drop, const char *what, ...)
{
	char name[200];
	va_list ap;
	va_start(ap, what);
	vsnprintf(name, sizeof(name), what, ap);
	va_end(ap);

	if (!served_alive(&g_served))
		fail_msg("%s: the server died", name);
	if (dropped(pc, name)) {
		if (!may_drop)
			fail_msg("%s: the server dropped the connection", name);
		pc_close(pc);
		pc_open(pc);
	}
	answers(pc);
	release_all(pc);
	check_resources(g_fds_conn, name);
	g_cases++;
}

void h_case_done_idle(const char *what, ...)
{
	char name[200];
	va_list ap;
	va_start(ap, what);
	vsnprintf(name, sizeof(name), what, ap);
	va_end(ap);

	if (!served_alive(&g_served))
		fail_msg("%s: the server died", name);
	struct pc pc;
	pc_open(&pc);
	answers(&pc);
	release_all(&pc);
	pc_close(&pc);
	check_resources(g_fds_idle, name);
	g_cases++;
}

int h_exchange(struct pc *pc, uint16_t cmd, uint32_t flags, const void *p,
	       size_t len, const int *fds, unsigned nfds)
{
	uint16_t id = pc_send(pc, cmd, flags, p, len, fds, nfds);
	struct vu_device_info gi = { .argsz = sizeof(gi) };
	/* The peer may be gone already: a failed send is a drop. */
	struct vu_hdr h = { .msg_id = pc->next_id++,
			    .command = VU_CMD_DEVICE_GET_INFO };
	struct iovec iov = { &gi, sizeof(gi) };
	if (vu_send(pc->sock, &h, &iov, 1, NULL, 0, PC_TIMEOUT_MS) < 0)
		return -ECONNRESET;
	int result = 0;
	for (int n = 0;; n++) {
		int r = pc_recv(pc, PC_TIMEOUT_MS);
		if (r == -ECONNRESET)
			return r;
		if (r < 0)
			fail_msg("command %u: no reply: %s", cmd, strerror(-r));
		const struct vu_hdr *rh = &pc->rx.hdr;
		if ((rh->flags & VU_F_TYPE_MASK) != VU_F_TYPE_REPLY)
			fail_msg("command %u: got a message of type %u", cmd,
				 rh->flags & VU_F_TYPE_MASK);
		if (rh->msg_id == h.msg_id && rh->command == h.command) {
			assert_false(rh->flags & VU_F_ERROR);
			return result;
		}
		if (n > 0 || rh->msg_id != id || rh->command != cmd)
			fail_msg("command %u id %u: unexpected reply id %u "
				 "command %u", cmd, id, rh->msg_id, rh->command);
		if (flags & VU_F_NO_REPLY)
			fail_msg("command %u: a NO_REPLY request was answered", cmd);
		if (rh->flags & VU_F_ERROR) {
			/* An error reply is the header alone, with an errno. */
			assert_int_equal(rh->msg_size, sizeof(struct vu_hdr));
			assert_int_equal(pc->rx.nfds, 0);
			if (!rh->error || rh->error > 4095)
				fail_msg("command %u: error reply with errno %u",
					 cmd, rh->error);
			result = -(int)rh->error;
		} else {
			result = 1;
		}
	}
}

int h_group_setup(void **state)
{
	if (pc_group_setup(state) < 0)
		return -1;
	/* Warm up: buffers that grow once and stay (1 MiB transfers). */
	struct pc pc;
	pc_open(&pc);
	struct vu_region_rw *rw = calloc(1, sizeof(*rw) + (1u << 20));
	assert_non_null(rw);
	*rw = (struct vu_region_rw){ .region = 2, .count = 1u << 20 };
	assert_int_equal(pc_call(&pc, VU_CMD_REGION_WRITE, rw,
				 sizeof(*rw) + (1u << 20), NULL, 0), 0);
	assert_int_equal(pc_call(&pc, VU_CMD_REGION_READ, rw, sizeof(*rw),
				 NULL, 0), 0);
	rw->region = 9;
	rw->count = 4096;
	assert_int_equal(pc_call(&pc, VU_CMD_REGION_READ, rw, sizeof(*rw),
				 NULL, 0), 0);
	free(rw);
	release_all(&pc);
	answers(&pc);
	g_fds_conn = pc_server_fds();
	g_rss_kb = h_server_rss_kb();
	g_maps = h_server_maps();
	pc_close(&pc);
	g_fds_idle = pc_server_fds();
	return 0;
}

int h_group_teardown(void **state)
{
	printf("hostile cases: %u\n", g_cases);
	fflush(stdout);
	return pc_group_teardown(state);
}
