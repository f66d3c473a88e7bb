/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * uvfio-serve as a program (doc/uvfio-serve.1): --help, --list and usage
 * errors, the default socket under $XDG_RUNTIME_DIR, exit status 0 and
 * the socket gone after SIGTERM and SIGINT (also when the signal comes
 * during start-up), --fd with a listening and with a connected socket,
 * and --verbose logging every request, every reply, and the server's own
 * DMA requests with their replies.  Each test runs its own process
 * (no served_start(), whose teardown would unlink the socket itself) and
 * looks at the socket before anything of the test removes it.
 */
#include <dirent.h>
#include <errno.h>
#include <linux/pci_regs.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <uvfio/client.h>
#include "devices/edu/edu.h"
#include "wire/wire.h"
#include "testutil.h"

#define EXIT_TIMEOUT_MS 5000
#define FD_IN_CHILD 7

static const char *const model_names[] = { "edu", "testdev", "capdev", "sriov" };

struct fx {
	char dir[64];
	pid_t pid;          /* the server, while it may be running */
	char out[128];      /* its stdout and stderr, as files */
	char err[128];
};

static int setup(void **st)
{
	struct fx *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/uvfio-serve-test-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->out, sizeof(f->out), "%s/stdout", f->dir);
	snprintf(f->err, sizeof(f->err), "%s/stderr", f->dir);
	*st = f;
	return 0;
}

static void rm_tree(const char *path)
{
	DIR *d = opendir(path);
	if (!d) {
		unlink(path);
		return;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char sub[512];
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		rm_tree(sub);
	}
	closedir(d);
	rmdir(path);
}

static int teardown(void **st)
{
	struct fx *f = *st;
	if (f->pid > 0) {
		kill(f->pid, SIGKILL);
		waitpid(f->pid, NULL, 0);
	}
	rm_tree(f->dir);
	free(f);
	return 0;
}

/*
 * Start uvfio-serve with @args (NULL-terminated, after the program
 * name), stdout and stderr to f->out and f->err, and @keep_fd (>= 0) as
 * fd FD_IN_CHILD.  @xdg: XDG_RUNTIME_DIR for it (NULL: unset).
 */
static pid_t spawn(struct fx *f, const char *const *args, int keep_fd,
		   const char *xdg)
{
	const char *bin = getenv("UVFIO_SERVE");
	assert_non_null(bin);
	const char *argv[16] = { bin };
	int n = 1;
	for (int i = 0; args[i]; i++) {
		assert_true(n < 15);
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int o = open(f->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(f->err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(126);
		if (keep_fd >= 0 && dup2(keep_fd, FD_IN_CHILD) < 0)
			_exit(126);
		if (xdg)
			setenv("XDG_RUNTIME_DIR", xdg, 1);
		else
			unsetenv("XDG_RUNTIME_DIR");
		/* Signals as a shell would leave them. */
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	return pid;
}

/*
 * Wait for @pid to end, at most @ms.  Returns its exit status, 1000 +
 * the signal that killed it, or -1 after a timeout (it is killed then).
 */
static int wait_exit(pid_t pid, int ms)
{
	int st;
	for (int waited = 0;; waited++) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			break;
		assert_int_equal(r, 0);
		if (waited >= ms) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -1;
		}
		struct timespec ts = { 0, 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1000 + WTERMSIG(st);
}

static int reap(struct fx *f, int ms)
{
	int st = wait_exit(f->pid, ms);
	f->pid = 0;
	return st;
}

/* Wait until @path accepts a connection (the probe is served and
 * dropped); fails the test if the server exits first. */
static void wait_socket(struct fx *f, const char *path)
{
	for (int i = 0; i < 1000; i++) {
		int fd = raw_connect(path);
		if (fd >= 0) {
			close(fd);
			return;
		}
		int st;
		if (waitpid(f->pid, &st, WNOHANG) == f->pid) {
			f->pid = 0;
			fail_msg("uvfio-serve exited (status 0x%x) before %s appeared",
				 st, path);
		}
		struct timespec ts = { 0, 5 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	fail_msg("%s never accepted a connection", path);
}

static char *slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	assert_non_null(fp);
	char *buf = calloc(1, 1 << 20);
	assert_non_null(buf);
	size_t n = fread(buf, 1, (1 << 20) - 1, fp);
	buf[n] = 0;
	fclose(fp);
	return buf;
}

static unsigned count_lines(const char *s)
{
	unsigned n = 0;
	for (; *s; s++)
		if (*s == '\n')
			n++;
	return n;
}

static void assert_gone(const char *path)
{
	struct stat sb;
	errno = 0;
	assert_int_equal(lstat(path, &sb), -1);
	assert_int_equal(errno, ENOENT);
}

/* Open the edu device at @path with the client library and check its ID. */
static struct uvfio_device *open_edu(const char *path)
{
	struct uvfio_device *d = NULL;
	struct uvfio_open_opts o = test_open_opts();
	int r = uvfio_device_open(path, &o, &d);
	if (r < 0)
		fail_msg("open %s: %s", path, strerror(-r));
	/* Memory decoding on, as a driver's probe does: BAR0 is gated. */
	assert_int_equal(uvfio_region_write16(d, VFIO_PCI_CONFIG_REGION_INDEX,
					      PCI_COMMAND, PCI_COMMAND_MEMORY), 0);
	uint32_t id = 0;
	assert_int_equal(uvfio_region_read32(d, VFIO_PCI_BAR0_REGION_INDEX,
					     EDU_REG_ID, &id), 0);
	assert_int_equal(id, EDU_ID);
	return d;
}

/* ---- command line ---- */

static void test_help(void **st)
{
	struct fx *f = *st;
	const char *variants[][2] = { { "--help", NULL }, { "-h", NULL } };
	for (size_t v = 0; v < 2; v++) {
		f->pid = spawn(f, variants[v], -1, NULL);
		assert_int_equal(reap(f, EXIT_TIMEOUT_MS), 0);
		char *out = slurp(f->out), *err = slurp(f->err);
		assert_non_null(strstr(out, "Usage: uvfio-serve MODEL"));
		/* Every option of the man page, and every model with its
		 * description in the list after "Models:". */
		static const char *const opts[] = {
			"--socket-path=PATH", "--fd=N", "--max-data-xfer-size=N",
			"--max-msg-fds=N", "--max-dma-maps=N", "--no-twin-socket",
			"--no-write-multiple", "--verbose", "--list", "--help",
		};
		for (size_t i = 0; i < sizeof(opts) / sizeof(*opts); i++)
			if (!strstr(out, opts[i]))
				fail_msg("--help does not mention %s", opts[i]);
		const char *models = strstr(out, "\nModels:\n");
		assert_non_null(models);
		for (size_t i = 0; i < sizeof(model_names) / sizeof(*model_names); i++) {
			char line[64];
			snprintf(line, sizeof(line), "\n  %-10s ", model_names[i]);
			if (!strstr(models, line))
				fail_msg("--help does not list the model %s", model_names[i]);
		}
		/* No claim -v cannot keep. */
		assert_null(strstr(out, "twice"));
		assert_string_equal(err, "");
		free(out);
		free(err);
	}
}

static void test_list(void **st)
{
	struct fx *f = *st;
	const char *args[] = { "--list", NULL };
	f->pid = spawn(f, args, -1, NULL);
	assert_int_equal(reap(f, EXIT_TIMEOUT_MS), 0);
	char *out = slurp(f->out), *err = slurp(f->err);
	assert_string_equal(out, "edu\ntestdev\ncapdev\nsriov\n");
	assert_string_equal(err, "");
	free(out);
	free(err);
}

/* Usage errors: status 2, nothing on stdout, one line on stderr that
 * names the culprit, and no socket made. */
static void test_usage_errors(void **st)
{
	struct fx *f = *st;
	static const struct {
		const char *args[4];
		const char *says;
	} cases[] = {
		{ { "nope", NULL }, "unknown model 'nope'" },
		{ { NULL }, "expected exactly one MODEL" },
		{ { "edu", "testdev", NULL }, "expected exactly one MODEL" },
		{ { "--bogus", "edu", NULL }, "--bogus" },
		{ { "-q", "edu", NULL }, "-q" },
		{ { "edu", "--fd", NULL }, "--fd" },
		{ { "edu", "--fd=x", NULL }, "invalid --fd" },
		{ { "edu", "--max-msg-fds=0", NULL }, "--max-msg-fds must be" },
		{ { "edu", "--fd=3", "--socket-path=/tmp/x.sock", NULL },
		  "exclude each other" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		f->pid = spawn(f, cases[i].args, -1, f->dir);
		int status = reap(f, EXIT_TIMEOUT_MS);
		char *out = slurp(f->out), *err = slurp(f->err);
		if (status != 2 || *out || count_lines(err) != 1 ||
		    !strstr(err, cases[i].says) || strncmp(err, "uvfio-serve: ", 13))
			fail_msg("case %zu (%s ...): status %d, stdout '%s', stderr '%s'",
				 i, cases[i].args[0] ? cases[i].args[0] : "", status,
				 out, err);
		free(out);
		free(err);
		char sub[128];
		snprintf(sub, sizeof(sub), "%s/uvfio", f->dir);
		assert_gone(sub);
	}
}

/* ---- signals and the socket ---- */

static void stop_by_signal(struct fx *f, int sig, bool with_client)
{
	char path[128], arg[160];
	snprintf(path, sizeof(path), "%s/edu.sock", f->dir);
	snprintf(arg, sizeof(arg), "--socket-path=%s", path);
	const char *args[] = { "edu", arg, NULL };
	f->pid = spawn(f, args, -1, NULL);
	wait_socket(f, path);
	struct uvfio_device *d = with_client ? open_edu(path) : NULL;
	assert_int_equal(kill(f->pid, sig), 0);
	assert_int_equal(reap(f, EXIT_TIMEOUT_MS), 0);
	/* Removed by the server itself: nothing here unlinked it. */
	assert_gone(path);
	if (d) {
		/* The client sees the server gone. */
		uint32_t id;
		assert_true(uvfio_region_read32(d, 0, EDU_REG_ID, &id) < 0);
		uvfio_device_close(d);
	}
	char *err = slurp(f->err);
	char says[200];
	snprintf(says, sizeof(says), "uvfio-serve: edu listening on %s\n", path);
	assert_non_null(strstr(err, says));
	free(err);
}

static void test_sigterm(void **st)
{
	stop_by_signal(*st, SIGTERM, false);
	stop_by_signal(*st, SIGTERM, true);
}

static void test_sigint(void **st)
{
	stop_by_signal(*st, SIGINT, false);
	stop_by_signal(*st, SIGINT, true);
}

/*
 * SIGTERM at moments spread over start-up: whenever it comes, the
 * process ends (exit 0 once it could handle the signal, else killed by
 * it before it made anything) and leaves no socket behind.
 */
static void test_signal_during_startup(void **st)
{
	struct fx *f = *st;
	char path[128], arg[160];
	snprintf(path, sizeof(path), "%s/edu.sock", f->dir);
	snprintf(arg, sizeof(arg), "--socket-path=%s", path);
	const char *args[] = { "edu", arg, NULL };
	/* How long a start takes here, to spread the signals over. */
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	f->pid = spawn(f, args, -1, NULL);
	wait_socket(f, path);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	kill(f->pid, SIGTERM);
	assert_int_equal(reap(f, EXIT_TIMEOUT_MS), 0);
	assert_gone(path);
	long start_us = (t1.tv_sec - t0.tv_sec) * 1000000L +
			(t1.tv_nsec - t0.tv_nsec) / 1000;
	unsigned exited = 0;
	const int rounds = 150;
	for (int i = 0; i < rounds; i++) {
		f->pid = spawn(f, args, -1, NULL);
		struct timespec ts = { 0, (start_us * 1000 * 3 / 2) * i / rounds };
		nanosleep(&ts, NULL);
		kill(f->pid, SIGTERM);
		int status = reap(f, EXIT_TIMEOUT_MS);
		if (status != 0 && status != 1000 + SIGTERM)
			fail_msg("round %d: status %d", i, status);
		exited += status == 0;
		assert_gone(path);
	}
	/* The late ones at least got to handle it. */
	assert_true(exited > 0);
}

/* Without --socket-path: $XDG_RUNTIME_DIR/uvfio/MODEL.sock, 0700 dir. */
static void test_default_socket(void **st)
{
	struct fx *f = *st;
	char dir[128], path[160];
	snprintf(dir, sizeof(dir), "%s/uvfio", f->dir);
	snprintf(path, sizeof(path), "%s/edu.sock", dir);
	const char *args[] = { "edu", NULL };
	f->pid = spawn(f, args, -1, f->dir);
	wait_socket(f, path);
	struct stat sb;
	assert_int_equal(lstat(path, &sb), 0);
	assert_true(S_ISSOCK(sb.st_mode));
	assert_int_equal(lstat(dir, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(sb.st_mode & 0777, 0700);
	struct uvfio_device *d = open_edu(path);
	uvfio_device_close(d);
	/* A second one on the same default socket is refused while the
	 * first lives, and leaves it alone. */
	pid_t first = f->pid;
	f->pid = spawn(f, args, -1, f->dir);
	assert_int_equal(reap(f, EXIT_TIMEOUT_MS), 1);
	f->pid = first;
	d = open_edu(path);
	uvfio_device_close(d);
	assert_int_equal(kill(f->pid, SIGTERM), 0);
	assert_int_equal(reap(f, EXIT_TIMEOUT_MS), 0);
	assert_gone(path);
}

/*
 * Without --socket-path nor XDG_RUNTIME_DIR: /run/uvfio/MODEL.sock.
 * Runs only as root (the directory is the system's), under the lock
 * other such tests take, and when no edu server of somebody else's is
 * there already; a directory it had to make is removed again.
 */
static void test_default_socket_run(void **st)
{
	struct fx *f = *st;
	const char *dir = "/run/uvfio", *path = "/run/uvfio/edu.sock";
	struct stat sb;
	int lock = geteuid() == 0 ? run_uvfio_lock() : -EPERM;
	if (lock < 0 || lstat(path, &sb) == 0) {
		if (lock >= 0)
			close(lock);
		print_message("skipped: needs root and no %s\n", path);
		skip();
	}
	bool made = lstat(dir, &sb) < 0;
	const char *args[] = { "edu", NULL };
	f->pid = spawn(f, args, -1, NULL);
	wait_socket(f, path);
	assert_int_equal(lstat(path, &sb), 0);
	assert_true(S_ISSOCK(sb.st_mode));
	assert_int_equal(lstat(dir, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	if (made)
		assert_int_equal(sb.st_mode & 0777, 0700);
	struct uvfio_device *d = open_edu(path);
	uint32_t id = 0;
	assert_int_equal(uvfio_region_read32(d, 0, EDU_REG_ID, &id), 0);
	assert_int_equal(id & 0xffff, 0x00ed);
	uvfio_device_close(d);
	assert_int_equal(kill(f->pid, SIGTERM), 0);
	assert_int_equal(reap(f, EXIT_TIMEOUT_MS), 0);
	assert_gone(path);
	if (made)
		assert_int_equal(rmdir(dir), 0);
	close(lock);
}

/* ---- --fd ---- */

static void test_fd_listening(void **st)
{
	struct fx *f = *st;
	char path[128], arg[32];
	snprintf(path, sizeof(path), "%s/inherited.sock", f->dir);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, path);
	int ls = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(ls >= 0);
	assert_int_equal(bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(ls, 4), 0);
	snprintf(arg, sizeof(arg), "--fd=%d", FD_IN_CHILD);
	const char *args[] = { "edu", arg, NULL };
	f->pid = spawn(f, args, ls, NULL);
	close(ls);
	/* Clients one after another, the device state kept between them. */
	struct uvfio_device *d = open_edu(path);
	assert_int_equal(uvfio_region_write32(d, 0, EDU_REG_LIVENESS, 0x0f0f0f0f), 0);
	uvfio_device_close(d);
	d = open_edu(path);
	uint32_t live = 0;
	assert_int_equal(uvfio_region_read32(d, 0, EDU_REG_LIVENESS, &live), 0);
	assert_int_equal(live, 0xf0f0f0f0);
	uvfio_device_close(d);
	/* The server outlives its clients on a listening socket... */
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	int wst;
	assert_int_equal(waitpid(f->pid, &wst, WNOHANG), 0);
	/* ...until a signal; it leaves the socket file it did not make. */
	assert_int_equal(kill(f->pid, SIGTERM), 0);
	assert_int_equal(reap(f, EXIT_TIMEOUT_MS), 0);
	struct stat sb;
	assert_int_equal(lstat(path, &sb), 0);
	assert_true(S_ISSOCK(sb.st_mode));
	/* Nobody listens on it any more. */
	assert_int_equal(raw_connect(path), -ECONNREFUSED);
}

/*
 * A connected socket: the one client is served, and the program exits
 * with status 0 when it leaves (after using the device, or without ever
 * saying VERSION).
 */
static void test_fd_connected(void **st)
{
	struct fx *f = *st;
	char arg[32];
	snprintf(arg, sizeof(arg), "--fd=%d", FD_IN_CHILD);
	const char *args[] = { "edu", arg, NULL };
	for (int round = 0; round < 2; round++) {
		int sv[2];
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
		f->pid = spawn(f, args, sv[1], NULL);
		close(sv[1]);
		if (round == 0) {
			struct uvfio_device *d = NULL;
			struct uvfio_open_opts o = test_open_opts();
			assert_int_equal(uvfio_device_open_fd(sv[0], &o, &d), 0);
			assert_int_equal(uvfio_region_write16(d, VFIO_PCI_CONFIG_REGION_INDEX,
							      PCI_COMMAND,
							      PCI_COMMAND_MEMORY), 0);
			uint32_t id = 0;
			assert_int_equal(uvfio_region_read32(d, 0, EDU_REG_ID, &id), 0);
			assert_int_equal(id, EDU_ID);
			/* Alive while the client is. */
			struct timespec ts = { 0, 50 * 1000 * 1000 };
			nanosleep(&ts, NULL);
			int wst;
			assert_int_equal(waitpid(f->pid, &wst, WNOHANG), 0);
			uvfio_device_close(d);
		} else {
			close(sv[0]);
		}
		assert_int_equal(reap(f, EXIT_TIMEOUT_MS), 0);
		char *err = slurp(f->err);
		/* No listening line, and no complaint. */
		assert_null(strstr(err, "listening"));
		assert_null(strstr(err, "error"));
		free(err);
	}
}

/* ---- --verbose ---- */

struct raw {
	int sock;
	struct vu_rx rx;
	uint16_t id;
};

static const struct vu_limits raw_lim = { .max_msg_size = 1 << 20, .max_fds = 8 };

/* Send a command and wait for its reply: 0, or -errno of an error reply. */
static int raw_call(struct raw *c, uint16_t cmd, const void *p, size_t len,
		    uint16_t *id)
{
	struct vu_hdr h = { .msg_id = c->id++, .command = cmd,
			    .flags = VU_F_TYPE_COMMAND };
	struct iovec iov = { (void *)p, len };
	assert_int_equal(vu_send(c->sock, &h, &iov, 1, NULL, 0, 5000), 0);
	vu_rx_release(&c->rx);
	assert_int_equal(vu_recv(&c->rx, c->sock, &raw_lim, 5000), 0);
	assert_int_equal(c->rx.hdr.msg_id, h.msg_id);
	assert_int_equal(c->rx.hdr.command, cmd);
	*id = h.msg_id;
	return c->rx.hdr.flags & VU_F_ERROR ? -(int)c->rx.hdr.error : 0;
}

/* Lines of @log that contain @needle. */
static unsigned count_in(const char *log, const char *needle)
{
	unsigned n = 0;
	for (const char *p = log; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* A request of the test and what the client got back. */
struct sent {
	uint16_t cmd, id;
	int err;            /* 0, or -errno of the error (reply) */
	size_t req_size;    /* of the request, header included */
	uint32_t size;      /* of the reply, header included */
	unsigned nfds;      /* that came with the reply */
	bool posted;        /* sent with NO_REPLY: no reply */
};

/* raw_call(), recorded in @s. */
static void call(struct raw *c, struct sent *s, uint16_t cmd, const void *p,
		 size_t len)
{
	*s = (struct sent){ .cmd = cmd, .req_size = sizeof(struct vu_hdr) + len };
	s->err = raw_call(c, cmd, p, len, &s->id);
	s->size = c->rx.hdr.msg_size;
	s->nfds = c->rx.nfds;
}

/* A posted request (NO_REPLY), recorded in @s. */
static void post(struct raw *c, struct sent *s, uint16_t cmd, const void *p,
		 size_t len)
{
	struct vu_hdr h = { .msg_id = c->id++, .command = cmd,
			    .flags = VU_F_TYPE_COMMAND | VU_F_NO_REPLY };
	struct iovec iov = { (void *)p, len };
	assert_int_equal(vu_send(c->sock, &h, &iov, 1, NULL, 0, 5000), 0);
	*s = (struct sent){ .cmd = cmd, .id = h.msg_id, .posted = true,
			    .req_size = sizeof(h) + len };
}

static void expect_lines(const char *log, const char *line, unsigned want)
{
	unsigned got = count_in(log, line);
	if (got != want)
		fail_msg("'%s' logged %u times, not %u:\n%s", line, got, want, log);
}

/* uvfio-serve edu --verbose on @path (in the fixture's directory). */
static void start_verbose_edu(struct fx *f, char *path, size_t len)
{
	char arg[160];
	snprintf(path, len, "%s/edu.sock", f->dir);
	snprintf(arg, sizeof(arg), "--socket-path=%s", path);
	const char *args[] = { "edu", arg, "--verbose", NULL };
	f->pid = spawn(f, args, -1, NULL);
	wait_socket(f, path);
}

static void test_verbose_logs_every_request(void **st)
{
	struct fx *f = *st;
	char path[128];
	start_verbose_edu(f, path, sizeof(path));

	/* A known sequence, each request with its own id. */
	struct raw c = { .sock = raw_connect(path), .id = 100 };
	assert_true(c.sock >= 0);
	vu_rx_init(&c.rx);
	struct sent sent[32];
	unsigned n = 0;
	uint8_t buf[256];
	struct vu_version *v = (void *)buf;
	v->major = 0;
	v->minor = 0;
	strcpy(v->data, "{}");
	call(&c, &sent[n++], VU_CMD_VERSION, buf, sizeof(*v) + 3);
	struct vu_device_info info = { .argsz = sizeof(info) };
	call(&c, &sent[n++], VU_CMD_DEVICE_GET_INFO, &info, sizeof(info));
	/* Memory decoding on: edu's BAR0 answers only then. */
	uint8_t mem[sizeof(struct vu_region_rw) + 2];
	struct vu_region_rw mh = { .offset = PCI_COMMAND, .count = 2,
				   .region = VFIO_PCI_CONFIG_REGION_INDEX };
	uint16_t memcmd = PCI_COMMAND_MEMORY;
	memcpy(mem, &mh, sizeof(mh));
	memcpy(mem + sizeof(mh), &memcmd, sizeof(memcmd));
	call(&c, &sent[n++], VU_CMD_REGION_WRITE, mem, sizeof(mem));
	for (int i = 0; i < 5; i++) {
		struct vu_region_rw rd = { .offset = EDU_REG_ID, .region = 0, .count = 4 };
		call(&c, &sent[n++], VU_CMD_REGION_READ, &rd, sizeof(rd));
	}
	uint8_t wr[sizeof(struct vu_region_rw) + 4];
	for (int i = 0; i < 3; i++) {
		struct vu_region_rw h = { .offset = EDU_REG_LIVENESS, .region = 0,
					  .count = 4 };
		uint32_t val = (uint32_t)i;
		memcpy(wr, &h, sizeof(h));
		memcpy(wr + sizeof(h), &val, 4);
		call(&c, &sent[n++], VU_CMD_REGION_WRITE, wr, sizeof(wr));
	}
	/* Posted writes: one that works, one to a region edu does not have;
	 * the read after them is answered after both were handled. */
	post(&c, &sent[n++], VU_CMD_REGION_WRITE, wr, sizeof(wr));
	struct vu_region_rw badw = { .offset = 0, .region = 5, .count = 4 };
	memcpy(wr, &badw, sizeof(badw));
	post(&c, &sent[n++], VU_CMD_REGION_WRITE, wr, sizeof(wr));
	sent[n - 1].err = -EINVAL;     /* no reply to say so */
	struct vu_region_rw rd = { .offset = EDU_REG_LIVENESS, .region = 0,
				   .count = 4 };
	call(&c, &sent[n++], VU_CMD_REGION_READ, &rd, sizeof(rd));
	/* Two that fail: a region edu does not have, a DMA_UNMAP of nothing. */
	struct vu_region_rw bad = { .offset = 0, .region = 5, .count = 4 };
	call(&c, &sent[n++], VU_CMD_REGION_READ, &bad, sizeof(bad));
	struct vu_dma_unmap un = { .argsz = sizeof(un), .addr = 0x1000, .size = 0x1000 };
	call(&c, &sent[n++], VU_CMD_DMA_UNMAP, &un, sizeof(un));
	assert_int_equal(sent[0].err, 0);
	assert_true(sent[n - 2].err < 0);
	assert_true(sent[n - 1].err < 0);
	assert_true(n <= sizeof(sent) / sizeof(sent[0]));
	vu_rx_fini(&c.rx);
	close(c.sock);
	assert_int_equal(kill(f->pid, SIGTERM), 0);
	assert_int_equal(reap(f, EXIT_TIMEOUT_MS), 0);

	char *log = slurp(f->err);
	/*
	 * Each request once, by command and id; each reply once, with the
	 * size and fds the client received; each error once, and an error
	 * reply with its errno.  A posted request: no reply line, but its
	 * error is told.
	 */
	unsigned replies = 0;
	for (unsigned i = 0; i < n; i++) {
		const struct sent *s = &sent[i];
		const char *name = uvfio_command_name(s->cmd);
		char line[160];
		snprintf(line, sizeof(line), "debug: <- %s id=%u ", name, s->id);
		expect_lines(log, line, 1);
		snprintf(line, sizeof(line), "debug: <- %s id=%u size=%zu fds=0%s\n",
			 name, s->id, s->req_size, s->posted ? " no-reply" : "");
		expect_lines(log, line, 1);
		snprintf(line, sizeof(line), "debug:    %s id=%u -> error %s\n",
			 name, s->id, strerror(-s->err));
		expect_lines(log, line, s->err < 0 ? 1 : 0);
		/* Any reply line at all of that id. */
		snprintf(line, sizeof(line), "debug: -> %s id=%u ", name, s->id);
		expect_lines(log, line, s->posted ? 0 : 1);
		if (s->posted)
			continue;
		replies++;
		if (s->err < 0)
			snprintf(line, sizeof(line),
				 "debug: -> %s id=%u size=%u fds=%u reply error=%d (%s)\n",
				 name, s->id, s->size, s->nfds, -s->err,
				 strerror(-s->err));
		else
			snprintf(line, sizeof(line),
				 "debug: -> %s id=%u size=%u fds=%u reply\n",
				 name, s->id, s->size, s->nfds);
		expect_lines(log, line, 1);
		/* The sizes as the wire has them: an error reply is a
		 * header, a read's reply its 4 bytes after the echo. */
		if (s->err < 0)
			assert_int_equal(s->size, sizeof(struct vu_hdr));
		else if (s->cmd == VU_CMD_REGION_READ)
			assert_int_equal(s->size, sizeof(struct vu_hdr) +
					 sizeof(struct vu_region_rw) + 4);
		else if (s->cmd == VU_CMD_REGION_WRITE)
			assert_int_equal(s->size, sizeof(struct vu_hdr) +
					 sizeof(struct vu_region_rw));
	}
	expect_lines(log, "-> REGION_READ id=", 7);
	expect_lines(log, "-> REGION_WRITE id=", 4);
	/* Per command: 6 + 1 reads, 4 + 2 writes, and nothing else received
	 * (the probe of wait_socket() sent nothing) or sent. */
	expect_lines(log, "<- REGION_READ ", 7);
	expect_lines(log, "<- REGION_WRITE ", 6);
	expect_lines(log, " no-reply\n", 2);
	expect_lines(log, "<- ", n);
	expect_lines(log, "-> ", replies + 3);    /* + the three "-> error" */
	expect_lines(log, " reply", replies);
	expect_lines(log, " reply error=", 2);
	expect_lines(log, "-> error", 3);
	free(log);

	/* Without --verbose: none of it. */
	char arg[160];
	snprintf(arg, sizeof(arg), "--socket-path=%s", path);
	const char *quiet[] = { "edu", arg, NULL };
	f->pid = spawn(f, quiet, -1, NULL);
	wait_socket(f, path);
	struct uvfio_device *d = open_edu(path);
	uvfio_device_close(d);
	assert_int_equal(kill(f->pid, SIGTERM), 0);
	assert_int_equal(reap(f, EXIT_TIMEOUT_MS), 0);
	log = slurp(f->err);
	assert_int_equal(count_in(log, "<- "), 0);
	assert_int_equal(count_in(log, "-> "), 0);
	assert_int_equal(count_in(log, "debug"), 0);
	free(log);
}

/*
 * The device's own requests: edu's DMA to windows mapped without an fd
 * goes out as DMA_READ and DMA_WRITE, each logged with its id and size,
 * and the client's reply to each once, with that id.
 */
static void test_verbose_logs_server_requests(void **st)
{
	struct fx *f = *st;
	char path[128];
	start_verbose_edu(f, path, sizeof(path));

	struct uvfio_device *d = open_edu(path);
	assert_int_equal(uvfio_region_write16(d, VFIO_PCI_CONFIG_REGION_INDEX,
					      PCI_COMMAND, PCI_COMMAND_MEMORY |
					      PCI_COMMAND_MASTER), 0);
	struct uvfio_dma_buf *a, *b;
	uint32_t fl = UVFIO_DMA_READ | UVFIO_DMA_WRITE | UVFIO_DMA_NO_FD;
	assert_int_equal(uvfio_dma_alloc(d, 4096, fl, &a), 0);
	assert_int_equal(uvfio_dma_alloc(d, 4096, fl, &b), 0);
	memset(a->vaddr, 0x5a, 4096);
	/* a -> the device's buffer -> b, each polled to its end. */
	const uint64_t steps[2][3] = {
		{ a->iova, EDU_DMA_START, EDU_DMA_RUN },
		{ EDU_DMA_START, b->iova, EDU_DMA_RUN | EDU_DMA_DIR_TO_RAM },
	};
	for (int s = 0; s < 2; s++) {
		assert_int_equal(uvfio_region_write64(d, 0, EDU_REG_DMA_SRC, steps[s][0]), 0);
		assert_int_equal(uvfio_region_write64(d, 0, EDU_REG_DMA_DST, steps[s][1]), 0);
		assert_int_equal(uvfio_region_write64(d, 0, EDU_REG_DMA_CNT, 4096), 0);
		assert_int_equal(uvfio_region_write64(d, 0, EDU_REG_DMA_CMD, steps[s][2]), 0);
		uint64_t cmd = EDU_DMA_RUN;
		for (int i = 0; i < 5000 && (cmd & EDU_DMA_RUN); i++) {
			struct timespec ts = { 0, 1000 * 1000 };
			nanosleep(&ts, NULL);
			assert_int_equal(uvfio_region_read64(d, 0, EDU_REG_DMA_CMD,
							     &cmd), 0);
		}
		assert_false(cmd & EDU_DMA_RUN);
	}
	assert_memory_equal(a->vaddr, b->vaddr, 4096);
	uvfio_dma_free(d, a);
	uvfio_dma_free(d, b);
	uvfio_device_close(d);
	assert_int_equal(kill(f->pid, SIGTERM), 0);
	assert_int_equal(reap(f, EXIT_TIMEOUT_MS), 0);

	char *log = slurp(f->err);
	unsigned reqs[2] = { 0, 0 };
	for (unsigned write = 0; write < 2; write++) {
		const char *name = write ? "DMA_WRITE" : "DMA_READ";
		char start[32];
		snprintf(start, sizeof(start), "debug: -> %s ", name);
		for (const char *p = log; (p = strstr(p, start)); p++) {
			unsigned id, size;
			unsigned long long addr;
			size_t count;
			char async[8] = "";
			if (sscanf(p + strlen(start),
				   "id=%u size=%u addr=0x%llx count=%zu %7s", &id,
				   &size, &addr, &count, async) != 5 ||
			    strcmp(async, "(async)"))
				fail_msg("not an async DMA request line: %.80s", p);
			reqs[write]++;
			/* A DMA_WRITE carries the data, a DMA_READ's reply. */
			size_t hdrs = sizeof(struct vu_hdr) +
				      sizeof(struct vu_dma_rw);
			assert_int_equal(size, hdrs + (write ? count : 0));
			char line[128];
			snprintf(line, sizeof(line), "debug: <- %s id=%u ", name, id);
			expect_lines(log, line, 1);
			snprintf(line, sizeof(line),
				 "debug: <- %s id=%u size=%zu fds=0 reply\n", name,
				 id, hdrs + (write ? 0 : count));
			expect_lines(log, line, 1);
		}
	}
	assert_true(reqs[0] > 0);
	assert_true(reqs[1] > 0);
	/* Every one answered, none with an error. */
	expect_lines(log, "<- DMA_READ ", reqs[0]);
	expect_lines(log, "<- DMA_WRITE ", reqs[1]);
	expect_lines(log, "reply error", 0);
	expect_lines(log, "-> error", 0);
	free(log);
}

#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		T(test_help),
		T(test_list),
		T(test_usage_errors),
		T(test_sigterm),
		T(test_sigint),
		T(test_signal_during_startup),
		T(test_default_socket),
		T(test_default_socket_run),
		T(test_fd_listening),
		T(test_fd_connected),
		T(test_verbose_logs_every_request),
		T(test_verbose_logs_server_requests),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
