/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Resources over a device's life: after a session that used everything
 * (DMA buffers of both kinds, caller mappings, region mmaps, eventfds,
 * async DMA) is closed, this process has the fds and mappings it had
 * before, and the server returns to its own baseline.  Also failed opens,
 * and clients that die at awkward moments.
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
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <uvfio/client.h>
#include "devices/models.h"
#include "testutil.h"

#define BAR0 VFIO_PCI_BAR0_REGION_INDEX
#define BAR2 VFIO_PCI_BAR2_REGION_INDEX
#define BAR4 VFIO_PCI_BAR4_REGION_INDEX
#define MSI  VFIO_PCI_MSI_IRQ_INDEX
#define RW   (UVFIO_DMA_READ | UVFIO_DMA_WRITE)

static struct served g_srv;
static int g_srv_base;        /* the idle server's fd count */

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

/* The server's fd count once it has settled on @want (or after 2 s). */
static int server_fds_settle(int want)
{
	int n = count_process_fds(g_srv.pid);
	for (int64_t end = now_ms() + 2000; n != want && now_ms() < end;) {
		sleep_ms(20);
		n = count_process_fds(g_srv.pid);
	}
	return n;
}

/* Mappings of memfds in this process (device BARs, DMA buffers). */
static int count_memfd_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	assert_non_null(f);
	char line[512];
	int n = 0;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "/memfd:"))
			n++;
	fclose(f);
	return n;
}

static int group_setup(void **state)
{
	(void)state;
	if (served_start(&g_srv, "testdev", NULL) < 0)
		return -1;
	/* Let the startup probe connection be dropped, then take the count. */
	int prev = -1;
	for (int i = 0; i < 100; i++) {
		sleep_ms(20);
		int n = count_process_fds(g_srv.pid);
		if (n == prev)
			break;
		prev = n;
	}
	g_srv_base = prev;
	return g_srv_base > 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	return served_stop_checked(&g_srv);
}

static uint32_t rd32(struct uvfio_device *d, uint64_t off)
{
	uint32_t v = 0xdeadbeef;
	assert_int_equal(uvfio_region_read32(d, BAR0, off, &v), 0);
	return v;
}

static void program_dma(struct uvfio_device *d, uint64_t iova, uint32_t len,
			uint32_t cmd)
{
	assert_int_equal(uvfio_region_write64(d, BAR0, TESTDEV_REG_DMA_ADDR, iova), 0);
	assert_int_equal(uvfio_region_write32(d, BAR0, TESTDEV_REG_DMA_LEN, len), 0);
	assert_int_equal(uvfio_region_write32(d, BAR0, TESTDEV_REG_DMA_CMD, cmd), 0);
}

/* Wait for @efd, serving the device meanwhile when @loop. */
static void wait_irq(struct uvfio_device *d, int efd, bool loop)
{
	int64_t end = now_ms() + 4000;
	for (;;) {
		struct pollfd p[2] = { { .fd = efd, .events = POLLIN },
				       { .fd = loop ? uvfio_device_get_fd(d) : -1,
					 .events = POLLIN } };
		int64_t left = end - now_ms();
		if (left <= 0)
			fail_msg("no interrupt");
		if (poll(p, 2, (int)left) < 0)
			continue;
		if (p[1].revents)
			assert_true(uvfio_device_dispatch(d) >= 0);
		if (p[0].revents) {
			uint64_t v;
			assert_int_equal(read(efd, &v, sizeof(v)), sizeof(v));
			return;
		}
	}
}

/* Use everything the API offers, then close (optionally tidying first). */
static void full_session(const struct uvfio_open_opts *o, bool tidy)
{
	struct uvfio_device *d = NULL;
	assert_int_equal(uvfio_device_open(g_srv.path, o, &d), 0);
	/* Connected: the server holds more than its baseline. */
	assert_true(count_process_fds(g_srv.pid) > g_srv_base);
	bool loop = o->no_dma_thread;

	struct uvfio_dma_buf *shared = NULL, *nofd = NULL;
	assert_int_equal(uvfio_dma_alloc(d, 1u << 20, 0, &shared), 0);
	assert_int_equal(uvfio_dma_alloc(d, 64 * 1024, UVFIO_DMA_NO_FD, &nofd), 0);
	int mfd = memfd_create("integ-life", MFD_CLOEXEC);
	assert_true(mfd >= 0);
	assert_int_equal(ftruncate(mfd, 8192), 0);
	void *umem = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	assert_true(umem != MAP_FAILED);
	assert_int_equal(uvfio_dma_map(d, umem, 8192, 0x50000000, RW, mfd, 0), 0);
	close(mfd);   /* the mapping keeps the memory */

	void *a2, *a4;
	assert_int_equal(uvfio_region_mmap(d, BAR2, &a2), 0);
	assert_int_equal(uvfio_region_mmap(d, BAR4, &a4), 0);
	memset((uint8_t *)a2 + 4096, 0x11, 4096);
	memset((uint8_t *)a4 + 0x1000, 0x22, 4096);

	int efd[2];
	for (int i = 0; i < 2; i++) {
		efd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		assert_true(efd[i] >= 0);
	}
	assert_int_equal(uvfio_irq_enable(d, MSI, 0, 2, efd), 0);
	assert_int_equal(uvfio_region_write32(d, BAR0, TESTDEV_REG_IRQ,
					      MSI << 16 | 1), 0);
	assert_int_equal(rd32(d, TESTDEV_REG_IRQ_RESULT), 0);

	/* Sync DMA to all three windows, async DMA to the fd-less one. */
	program_dma(d, shared->iova, 1u << 20, 1);
	assert_int_equal(rd32(d, TESTDEV_REG_DMA_STATUS), 0);
	program_dma(d, 0x50000000, 8192, 2);
	assert_int_equal(rd32(d, TESTDEV_REG_DMA_STATUS), 0);
	program_dma(d, nofd->iova, 64 * 1024, 0x102);
	wait_irq(d, efd[0], loop);
	assert_int_equal(rd32(d, TESTDEV_REG_DMA_STATUS), 0);
	uint8_t big[8192];
	assert_int_equal(uvfio_region_read(d, BAR2, 4096, big, sizeof(big)),
			 (ssize_t)sizeof(big));

	if (tidy) {
		assert_int_equal(uvfio_irq_disable(d, MSI), 0);
		assert_int_equal(uvfio_region_munmap(d, BAR2), 0);
		assert_int_equal(uvfio_region_munmap(d, BAR4), 0);
		assert_int_equal(uvfio_dma_unmap(d, 0x50000000, 8192), 0);
		assert_int_equal(uvfio_dma_free(d, shared), 0);
		assert_int_equal(uvfio_dma_free(d, nofd), 0);
	}
	uvfio_device_close(d);
	munmap(umem, 8192);
	close(efd[0]);
	close(efd[1]);
}

static void no_leaks(const struct uvfio_open_opts *o, bool tidy)
{
	int fds0 = count_open_fds();
	int maps0 = count_memfd_maps();
	full_session(o, tidy);
	assert_int_equal(count_open_fds(), fds0);
	assert_int_equal(count_memfd_maps(), maps0);
	/* The server let go of everything the client gave it. */
	assert_int_equal(server_fds_settle(g_srv_base), g_srv_base);
	/* Twice more: nothing accumulates. */
	full_session(o, !tidy);
	full_session(o, tidy);
	assert_int_equal(count_open_fds(), fds0);
	assert_int_equal(count_memfd_maps(), maps0);
	assert_int_equal(server_fds_settle(g_srv_base), g_srv_base);
}

static void no_leaks_default(void **state)
{
	(void)state;
	struct uvfio_open_opts o = test_open_opts();
	no_leaks(&o, false);
}

static void no_leaks_default_tidy(void **state)
{
	(void)state;
	struct uvfio_open_opts o = test_open_opts();
	no_leaks(&o, true);
}

static void no_leaks_own_loop(void **state)
{
	(void)state;
	struct uvfio_open_opts o = test_open_opts();
	o.no_dma_thread = true;
	no_leaks(&o, false);
}

static void no_leaks_no_twin_own_loop(void **state)
{
	(void)state;
	struct uvfio_open_opts o = test_open_opts();
	o.no_twin_socket = true;
	o.no_dma_thread = true;
	no_leaks(&o, false);
}

static void failed_opens_leak_nothing(void **state)
{
	(void)state;
	struct uvfio_open_opts o = test_open_opts();
	o.timeout_ms = 300;
	int fds0 = count_open_fds();
	struct uvfio_device *d = NULL;
	char path[160];

	snprintf(path, sizeof(path), "%s/missing.sock", g_srv.dir);
	assert_int_equal(uvfio_device_open(path, &o, &d), -ENOENT);

	/* A listener that never accepts. */
	snprintf(path, sizeof(path), "%s/silent.sock", g_srv.dir);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, path);
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 4), 0);
	assert_int_equal(uvfio_device_open(path, &o, &d), -ETIMEDOUT);
	close(lfd);
	unlink(path);

	/* open_fd consumes the fd, also when it fails: a peer sending junk... */
	int sp[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	uint8_t junk[64];
	memset(junk, 0xff, sizeof(junk));
	assert_int_equal(write(sp[1], junk, sizeof(junk)), sizeof(junk));
	int r = uvfio_device_open_fd(sp[0], &o, &d);
	assert_true(r < 0);
	close(sp[1]);
	/* ...a peer that hangs up... */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	close(sp[1]);
	assert_true(uvfio_device_open_fd(sp[0], &o, &d) < 0);
	/* ...and something that is not a socket at all. */
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	assert_true(uvfio_device_open_fd(pfd[0], &o, &d) < 0);
	close(pfd[1]);
	assert_null(d);

	assert_int_equal(count_open_fds(), fds0);
	/* The real server is unaffected. */
	assert_int_equal(uvfio_device_open(g_srv.path, NULL, &d), 0);
	uvfio_device_close(d);
	assert_int_equal(count_open_fds(), fds0);
}

/* Kept reachable so that a leak checker does not blame the child. */
static struct uvfio_device *volatile g_child_dev;
static struct uvfio_dma_buf *volatile g_child_buf;

/*
 * A child opens, maps memory and binds eventfds, starts an async DMA to
 * an fd-less window (so the server will be waiting on it), and dies.
 */
static void client_dies(bool no_twin, bool mid_dma)
{
	struct uvfio_open_opts o = test_open_opts();
	o.no_twin_socket = no_twin;
	o.no_dma_thread = no_twin;
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct uvfio_device *d = NULL;
		if (uvfio_device_open(g_srv.path, &o, &d) < 0)
			_exit(3);
		g_child_dev = d;
		struct uvfio_dma_buf *b = NULL, *s = NULL;
		if (uvfio_dma_alloc(d, 1u << 20, UVFIO_DMA_NO_FD, &b) < 0 ||
		    uvfio_dma_alloc(d, 1u << 20, 0, &s) < 0)
			_exit(4);
		g_child_buf = b;
		int e[4];
		for (int i = 0; i < 4; i++)
			e[i] = eventfd(0, EFD_CLOEXEC);
		if (uvfio_irq_enable(d, MSI, 0, 4, e) < 0)
			_exit(5);
		if (uvfio_region_write32(d, BAR0, TESTDEV_REG_SCRATCH, 0xc0ffee) < 0)
			_exit(6);
		if (mid_dma) {
			if (uvfio_region_write64(d, BAR0, TESTDEV_REG_DMA_ADDR,
						 b->iova) < 0 ||
			    uvfio_region_write32(d, BAR0, TESTDEV_REG_DMA_LEN,
						 1u << 20) < 0 ||
			    uvfio_region_write32(d, BAR0, TESTDEV_REG_DMA_CMD,
						 0x101) < 0)
				_exit(7);
			/* Die just as the device starts asking for our memory. */
			struct timespec ts = { 0, 1000000 };
			nanosleep(&ts, NULL);
		}
		_exit(0);
	}
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);

	/* The server survives, drops what the dead client gave it... */
	assert_true(served_alive(&g_srv));
	struct uvfio_device *d = NULL;
	assert_int_equal(uvfio_device_open(g_srv.path, NULL, &d), 0);
	assert_int_equal(rd32(d, TESTDEV_REG_SCRATCH), 0xc0ffee);
	/* ...its eventfds included: nothing is bound any more. */
	assert_int_equal(uvfio_region_write32(d, BAR0, TESTDEV_REG_IRQ, MSI << 16), 0);
	assert_int_equal(rd32(d, TESTDEV_REG_IRQ_RESULT), ENOENT);
	/* The dead client's windows are gone. */
	program_dma(d, 0x100000, 4096, 1);
	assert_int_equal(rd32(d, TESTDEV_REG_DMA_STATUS), EFAULT);
	uvfio_device_close(d);
	assert_int_equal(server_fds_settle(g_srv_base), g_srv_base);
}

static void client_dies_holding_resources(void **state)
{
	(void)state;
	client_dies(false, false);
	client_dies(true, false);
}

static void client_dies_during_device_dma(void **state)
{
	(void)state;
	client_dies(false, true);
	client_dies(true, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(no_leaks_default),
		cmocka_unit_test(no_leaks_default_tidy),
		cmocka_unit_test(no_leaks_own_loop),
		cmocka_unit_test(no_leaks_no_twin_own_loop),
		cmocka_unit_test(failed_opens_leak_nothing),
		cmocka_unit_test(client_dies_holding_resources),
		cmocka_unit_test(client_dies_during_device_dma),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
