/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
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
#include <json-c/json.h>

#include "lsvfio_util.h"
#include "testutil.h"

extern char **environ;

#define RUN_TIMEOUT_MS 60000

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct buf {
	char *p;
	size_t len, cap;
};

static int buf_read(struct buf *b, int fd)
{
	if (b->cap - b->len < 4096) {
		size_t cap = b->cap ? 2 * b->cap : 8192;
		char *p = realloc(b->p, cap);
		if (!p)
			return -ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	ssize_t n = read(fd, b->p + b->len, b->cap - b->len - 1);
	if (n < 0)
		return errno == EINTR ? 1 : -errno;
	b->len += (size_t)n;
	b->p[b->len] = '\0';
	return n > 0;
}

/* The environment for the child: ours, with XDG_RUNTIME_DIR replaced. */
static char **child_env(const char *xdg)
{
	size_t n = 0;
	while (environ[n])
		n++;
	char **env = calloc(n + 2, sizeof(*env));
	if (!env)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (!xdg || strncmp(environ[i], "XDG_RUNTIME_DIR=", 16))
			env[k++] = environ[i];
	if (xdg && asprintf(&env[k++], "XDG_RUNTIME_DIR=%s", xdg) < 0) {
		free(env);
		return NULL;
	}
	return env;
}

static void child_env_free(char **env, const char *xdg)
{
	if (xdg && env) {
		for (size_t i = 0; env[i]; i++)
			if (!strncmp(env[i], "XDG_RUNTIME_DIR=", 16))
				free(env[i]);
	}
	free(env);
}

int lsv_run(struct lsv_result *r, const char *xdg, const char *const *args)
{
	const char *bin = getenv("LSVFIO");
	const char *wrapper = getenv("LSVFIO_WRAPPER");
	const char *argv[64];
	char *wcopy = NULL;
	int n = 0;

	memset(r, 0, sizeof(*r));
	r->status = -1;
	if (!bin)
		return -ENOENT;
	if (wrapper && *wrapper) {
		wcopy = strdup(wrapper);
		for (char *save, *t = strtok_r(wcopy, " ", &save); t && n < 16;
		     t = strtok_r(NULL, " ", &save))
			argv[n++] = t;
	}
	argv[n++] = bin;
	for (int i = 0; args && args[i] && n < 63; i++)
		argv[n++] = args[i];
	argv[n] = NULL;

	int po[2], pe[2];
	if (pipe2(po, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(pe, O_CLOEXEC) < 0) {
		close(po[0]);
		close(po[1]);
		return -errno;
	}
	char **env = child_env(xdg);
	double t0 = now_s();
	pid_t pid = env ? fork() : -1;
	if (pid == 0) {
		dup2(po[1], STDOUT_FILENO);
		dup2(pe[1], STDERR_FILENO);
		execve(argv[0], (char *const *)argv, env);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	child_env_free(env, xdg);
	free(wcopy);
	if (pid < 0) {
		close(po[0]);
		close(pe[0]);
		return -ENOMEM;
	}

	struct buf out = { 0 }, err = { 0 };
	struct pollfd p[2] = { { .fd = po[0], .events = POLLIN },
			       { .fd = pe[0], .events = POLLIN } };
	bool killed = false;
	while (p[0].fd >= 0 || p[1].fd >= 0) {
		int left = RUN_TIMEOUT_MS - (int)((now_s() - t0) * 1000);
		if (left <= 0 || poll(p, 2, left) == 0) {
			kill(pid, SIGKILL);
			killed = true;
			break;
		}
		for (int i = 0; i < 2; i++) {
			if (p[i].fd < 0 || !p[i].revents)
				continue;
			if (buf_read(i ? &err : &out, p[i].fd) <= 0) {
				close(p[i].fd);
				p[i].fd = -1;
			}
		}
	}
	for (int i = 0; i < 2; i++)
		if (p[i].fd >= 0)
			close(p[i].fd);
	int st;
	waitpid(pid, &st, 0);
	r->secs = now_s() - t0;
	r->status = !killed && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	r->out = out.p ? out.p : strdup("");
	r->err = err.p ? err.p : strdup("");
	if (r->status < 0)
		fprintf(stderr, "lsvfio %s (stderr: %s)\n",
			killed ? "timed out" : "was killed by a signal", r->err);
	return 0;
}

void lsv_result_free(struct lsv_result *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

char *str_replace_all(const char *s, const char *from, const char *to)
{
	size_t fl = strlen(from), tl = strlen(to), n = 0;
	for (const char *p = strstr(s, from); fl && p; p = strstr(p + fl, from))
		n++;
	char *out = malloc(strlen(s) + n * tl + 1);
	if (!out)
		return NULL;
	char *o = out;
	const char *p;
	while (fl && (p = strstr(s, from))) {
		memcpy(o, s, (size_t)(p - s));
		o += p - s;
		memcpy(o, to, tl);
		o += tl;
		s = p + fl;
	}
	strcpy(o, s);
	return out;
}

char *read_whole_file(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	struct buf b = { 0 };
	int r;
	while ((r = buf_read(&b, fileno(f))) > 0)
		;
	fclose(f);
	if (r < 0) {
		free(b.p);
		return NULL;
	}
	return b.p ? b.p : strdup("");
}

static char *golden_path(const char *name)
{
	const char *dir = getenv("LSVFIO_GOLDEN");
	char *p;
	if (!dir || asprintf(&p, "%s/%s", dir, name) < 0)
		return NULL;
	return p;
}

/* Returns the golden contents, or NULL after updating it. */
static char *golden_load(const char *name, const char *actual)
{
	char *path = golden_path(name);
	assert_non_null(path);
	if (getenv("LSVFIO_UPDATE_GOLDEN")) {
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		fputs(actual, f);
		assert_int_equal(fclose(f), 0);
		fprintf(stderr, "updated %s\n", path);
		free(path);
		return NULL;
	}
	char *want = read_whole_file(path);
	if (!want)
		fprintf(stderr, "cannot read golden file %s\n", path);
	assert_non_null(want);
	free(path);
	return want;
}

static void report_first_difference(const char *want, const char *got)
{
	unsigned line = 1;
	const char *w = want, *g = got;
	while (*w && *w == *g) {
		if (*w == '\n')
			line++;
		w++;
		g++;
	}
	const char *wl = w, *gl = g;
	while (wl > want && wl[-1] != '\n')
		wl--;
	while (gl > got && gl[-1] != '\n')
		gl--;
	fprintf(stderr, "first difference at line %u:\n  expected: %.*s\n  actual:   %.*s\n",
		line, (int)strcspn(wl, "\n"), wl, (int)strcspn(gl, "\n"), gl);
}

void assert_golden_text(const char *name, const char *actual)
{
	char *want = golden_load(name, actual);
	if (!want)
		return;
	if (strcmp(want, actual)) {
		fprintf(stderr, "output differs from golden %s\n", name);
		report_first_difference(want, actual);
		fprintf(stderr, "--- actual output ---\n%s--- end ---\n", actual);
	}
	assert_string_equal(want, actual);
	free(want);
}

void assert_golden_json(const char *name, const char *actual)
{
	json_object *got = json_tokener_parse(actual);
	assert_non_null(got);
	char *want_s = golden_load(name, actual);
	if (!want_s) {
		json_object_put(got);
		return;
	}
	json_object *want = json_tokener_parse(want_s);
	assert_non_null(want);
	int same = json_object_equal(want, got);
	if (!same) {
		const char *a = json_object_to_json_string_ext(want, JSON_C_TO_STRING_PRETTY);
		char *as = strdup(a);
		const char *b = json_object_to_json_string_ext(got, JSON_C_TO_STRING_PRETTY);
		fprintf(stderr, "JSON differs from golden %s\n", name);
		report_first_difference(as, b);
		free(as);
	}
	assert_true(same);
	json_object_put(want);
	json_object_put(got);
	free(want_s);
}

/* ---- children that must not outlive the test ------------------------- */

/*
 * A failed assertion jumps out of a test before its cleanup; a peer or
 * server left running would keep the test's output pipes open and make
 * the harness wait for it.  Whatever is still registered at exit dies.
 */
static pid_t children[16];

static void kill_leftovers(void)
{
	for (size_t i = 0; i < sizeof(children) / sizeof(children[0]); i++) {
		if (children[i] > 0) {
			kill(children[i], SIGKILL);
			waitpid(children[i], NULL, 0);
			children[i] = 0;
		}
	}
}

void test_child_track(pid_t pid)
{
	static bool registered;
	if (!registered) {
		atexit(kill_leftovers);
		registered = true;
	}
	for (size_t i = 0; i < sizeof(children) / sizeof(children[0]); i++) {
		if (children[i] <= 0) {
			children[i] = pid;
			return;
		}
	}
}

void test_child_forget(pid_t pid)
{
	for (size_t i = 0; i < sizeof(children) / sizeof(children[0]); i++)
		if (children[i] == pid)
			children[i] = 0;
}

/* ---- fake peers --------------------------------------------------------- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static bool read_full(int fd, void *buf, size_t len)
{
	uint8_t *b = buf;
	while (len) {
		ssize_t n = read(fd, b, len);
		if (n <= 0)
			return false;
		b += n;
		len -= (size_t)n;
	}
	return true;
}

/* Reply to the VERSION request with version 0.0 and a payload that is not JSON. */
static void bad_version(int c)
{
	static const char junk[] = "this is not json";
	uint8_t h[16], discard[256];
	if (!read_full(c, h, sizeof(h)))
		return;
	uint32_t size = (uint32_t)h[4] | (uint32_t)h[5] << 8 |
			(uint32_t)h[6] << 16 | (uint32_t)h[7] << 24;
	for (uint32_t left = size > 16 ? size - 16 : 0; left;) {
		size_t n = left < sizeof(discard) ? left : sizeof(discard);
		if (!read_full(c, discard, n))
			return;
		left -= (uint32_t)n;
	}
	uint8_t reply[16 + 4 + sizeof(junk)];
	memset(reply, 0, sizeof(reply));
	memcpy(reply, h, 4);                  /* msg_id and command echoed */
	put32(reply + 4, sizeof(reply));
	put32(reply + 8, 1);                  /* a reply */
	memcpy(reply + 20, junk, sizeof(junk));
	if (write(c, reply, sizeof(reply)) != (ssize_t)sizeof(reply))
		return;
}

static void fake_serve(int l, enum fake_peer kind)
{
	static const char garbage[] = "GET / HTTP/1.1\r\nHost: uvfio\r\n\r\n";
	for (;;) {
		int c = accept(l, NULL, NULL);
		if (c < 0)
			continue;
		switch (kind) {
		case PEER_SILENT:
			continue;   /* held open, never answered */
		case PEER_GARBAGE:
			if (write(c, garbage, sizeof(garbage) - 1) < 0)
				break;
			continue;   /* and stay connected */
		case PEER_BAD_VERSION:
			bad_version(c);
			continue;   /* stays connected after its answer */
		default:
			break;
		}
		close(c);
	}
}

int fake_start(struct fake *f, enum fake_peer kind, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(f, 0, sizeof(*f));
	if (path) {
		snprintf(f->path, sizeof(f->path), "%s", path);
	} else {
		strcpy(f->dir, "/tmp/lsvfio-test-XXXXXX");
		if (!mkdtemp(f->dir))
			return -errno;
		snprintf(f->path, sizeof(f->path), "%s/peer.sock", f->dir);
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0)
		return -errno;
	if (bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = -errno;
		close(l);
		return e;
	}
	if (kind == PEER_STALE) {
		close(l);   /* the file stays, nobody listens */
		return 0;
	}
	if (listen(l, 8) < 0) {
		int e = -errno;
		close(l);
		return e;
	}
	f->pid = fork();
	if (f->pid == 0) {
		fake_serve(l, kind);
		_exit(0);
	}
	close(l);
	if (f->pid < 0)
		return -errno;
	test_child_track(f->pid);
	return 0;
}

void fake_stop(struct fake *f)
{
	if (f->pid > 0) {
		kill(f->pid, SIGKILL);
		waitpid(f->pid, NULL, 0);
		test_child_forget(f->pid);
		f->pid = 0;
	}
	unlink(f->path);
	if (f->dir[0])
		rmdir(f->dir);
}

/* ---- uvfio-serve in its default directory ---------------------------- */

pid_t serve_default_dir(const char *model, const char *xdg, char *sock,
			size_t len)
{
	const char *bin = getenv("UVFIO_SERVE");
	if (!bin)
		return -1;
	if (*xdg)
		snprintf(sock, len, "%s/uvfio/%s.sock", xdg, model);
	else
		snprintf(sock, len, "/run/uvfio/%s.sock", model);
	char **env = child_env(xdg);
	if (!env)
		return -1;
	const char *argv[] = { bin, model, NULL };
	pid_t pid = fork();
	if (pid == 0) {
		execve(bin, (char *const *)argv, env);
		_exit(127);
	}
	child_env_free(env, xdg);
	if (pid < 0)
		return -1;
	test_child_track(pid);
	for (int i = 0; i < 500; i++) {
		int fd = raw_connect(sock);
		if (fd >= 0) {
			close(fd);
			return pid;
		}
		if (waitpid(pid, NULL, WNOHANG) == pid) {
			test_child_forget(pid);
			return -1;
		}
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	serve_stop(pid);
	return -1;
}

int serve_stop(pid_t pid)
{
	int st;
	if (pid <= 0)
		return -1;
	kill(pid, SIGTERM);
	pid_t w = waitpid(pid, &st, 0);
	test_child_forget(pid);
	if (w != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
