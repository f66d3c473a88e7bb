/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * uvfio-serve as a program (doc/uvfio-serve.1): --help, --list and usage
 * errors, the default socket under $XDG_RUNTIME_DIR, exit status 0 and
 * the socket gone after SIGTERM and SIGINT (also when the signal comes
 * during start-up), --fd with a listening and with a connected socket,
 * and --verbose logging every request.  Each test runs its own process
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

static void test_verbose_logs_every_request(void **st)
{
	struct fx *f = *st;
	char path[128], arg[160];
	snprintf(path, sizeof(path), "%s/edu.sock", f->dir);
	snprintf(arg, sizeof(arg), "--socket-path=%s", path);
	const char *args[] = { "edu", arg, "--verbose", NULL };
	f->pid = spawn(f, args, -1, NULL);
	wait_socket(f, path);

	/* A known sequence, each request with its own id. */
	struct raw c = { .sock = raw_connect(path), .id = 100 };
	assert_true(c.sock >= 0);
	vu_rx_init(&c.rx);
	struct { uint16_t cmd, id; int err; } sent[32];
	unsigned n = 0;
	uint8_t buf[256];
	struct vu_version *v = (void *)buf;
	v->major = 0;
	v->minor = 0;
	strcpy(v->data, "{}");
	sent[n].cmd = VU_CMD_VERSION;
	sent[n].err = raw_call(&c, VU_CMD_VERSION, buf, sizeof(*v) + 3, &sent[n].id);
	n++;
	struct vu_device_info info = { .argsz = sizeof(info) };
	sent[n].cmd = VU_CMD_DEVICE_GET_INFO;
	sent[n].err = raw_call(&c, VU_CMD_DEVICE_GET_INFO, &info, sizeof(info),
			       &sent[n].id);
	n++;
	for (int i = 0; i < 5; i++) {
		struct vu_region_rw rd = { .offset = EDU_REG_ID, .region = 0, .count = 4 };
		sent[n].cmd = VU_CMD_REGION_READ;
		sent[n].err = raw_call(&c, VU_CMD_REGION_READ, &rd, sizeof(rd),
				       &sent[n].id);
		n++;
	}
	for (int i = 0; i < 3; i++) {
		uint8_t wr[sizeof(struct vu_region_rw) + 4];
		struct vu_region_rw h = { .offset = EDU_REG_LIVENESS, .region = 0,
					  .count = 4 };
		uint32_t val = (uint32_t)i;
		memcpy(wr, &h, sizeof(h));
		memcpy(wr + sizeof(h), &val, 4);
		sent[n].cmd = VU_CMD_REGION_WRITE;
		sent[n].err = raw_call(&c, VU_CMD_REGION_WRITE, wr, sizeof(wr),
				       &sent[n].id);
		n++;
	}
	/* Two that fail: a region edu does not have, a DMA_UNMAP of nothing. */
	struct vu_region_rw bad = { .offset = 0, .region = 5, .count = 4 };
	sent[n].cmd = VU_CMD_REGION_READ;
	sent[n].err = raw_call(&c, VU_CMD_REGION_READ, &bad, sizeof(bad), &sent[n].id);
	n++;
	struct vu_dma_unmap un = { .argsz = sizeof(un), .addr = 0x1000, .size = 0x1000 };
	sent[n].cmd = VU_CMD_DMA_UNMAP;
	sent[n].err = raw_call(&c, VU_CMD_DMA_UNMAP, &un, sizeof(un), &sent[n].id);
	n++;
	assert_int_equal(sent[0].err, 0);
	assert_true(sent[n - 2].err < 0);
	assert_true(sent[n - 1].err < 0);
	vu_rx_fini(&c.rx);
	close(c.sock);
	assert_int_equal(kill(f->pid, SIGTERM), 0);
	assert_int_equal(reap(f, EXIT_TIMEOUT_MS), 0);

	char *log = slurp(f->err);
	/* Each request once, by command and id; each error reply once. */
	for (unsigned i = 0; i < n; i++) {
		char line[96];
		snprintf(line, sizeof(line), "debug: <- %s id=%u ",
			 uvfio_command_name(sent[i].cmd), sent[i].id);
		if (count_in(log, line) != 1)
			fail_msg("'%s' logged %u times:\n%s", line,
				 count_in(log, line), log);
		snprintf(line, sizeof(line), "debug:    %s id=%u -> error %s\n",
			 uvfio_command_name(sent[i].cmd), sent[i].id,
			 strerror(-sent[i].err));
		if (count_in(log, line) != (sent[i].err < 0 ? 1u : 0u))
			fail_msg("'%s' logged %u times:\n%s", line,
				 count_in(log, line), log);
	}
	/* Per command: 5 + 1 reads, 3 writes, and nothing else received
	 * (the probe of wait_socket() sent nothing). */
	assert_int_equal(count_in(log, "<- REGION_READ "), 6);
	assert_int_equal(count_in(log, "<- REGION_WRITE "), 3);
	assert_int_equal(count_in(log, "<- "), n);
	free(log);

	/* Without --verbose: none of it. */
	const char *quiet[] = { "edu", arg, NULL };
	f->pid = spawn(f, quiet, -1, NULL);
	wait_socket(f, path);
	struct uvfio_device *d = open_edu(path);
	uvfio_device_close(d);
	assert_int_equal(kill(f->pid, SIGTERM), 0);
	assert_int_equal(reap(f, EXIT_TIMEOUT_MS), 0);
	log = slurp(f->err);
	assert_int_equal(count_in(log, "<- "), 0);
	assert_int_equal(count_in(log, "debug"), 0);
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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
