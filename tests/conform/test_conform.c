/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * uvfio-conform ($UVFIO_CONFORM) against every model uvfio-serve offers
 * (text, --json, --allow-writes), against a deliberately broken server
 * ($BROKEN_SERVER) whose defect must show as a FAIL of the right check,
 * and against paths that are no server.
 */
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
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "testutil.h"

#define RUN_TIMEOUT_MS 120000

struct run {
	int status;            /* exit status, -1 if killed */
	char *out, *err;
	double secs;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void append(char **buf, size_t *len, int fd, bool *open_)
{
	char tmp[4096];
	ssize_t n = read(fd, tmp, sizeof(tmp));
	if (n <= 0) {
		*open_ = false;
		return;
	}
	*buf = realloc(*buf, *len + (size_t)n + 1);
	assert_non_null(*buf);
	memcpy(*buf + *len, tmp, (size_t)n);
	*len += (size_t)n;
	(*buf)[*len] = '\0';
}

/* Run uvfio-conform with @args (NULL-terminated). */
static void conform(struct run *r, const char *const *args)
{
	const char *bin = getenv("UVFIO_CONFORM");
	const char *argv[16];
	int n = 0, po[2], pe[2];

	assert_non_null(bin);
	argv[n++] = bin;
	for (int i = 0; args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	assert_int_equal(pipe2(po, O_CLOEXEC), 0);
	assert_int_equal(pipe2(pe, O_CLOEXEC), 0);
	double t0 = now_s();
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(po[1], STDOUT_FILENO);
		dup2(pe[1], STDERR_FILENO);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	size_t lo = 0, le = 0;
	bool oo = true, oe = true;
	r->out = calloc(1, 1);
	r->err = calloc(1, 1);
	while (oo || oe) {
		struct pollfd p[2] = { { .fd = oo ? po[0] : -1, .events = POLLIN },
				       { .fd = oe ? pe[0] : -1, .events = POLLIN } };
		int left = RUN_TIMEOUT_MS - (int)((now_s() - t0) * 1000);
		if (left <= 0 || poll(p, 2, left) == 0) {
			kill(pid, SIGKILL);
			break;
		}
		if (p[0].revents)
			append(&r->out, &lo, po[0], &oo);
		if (p[1].revents)
			append(&r->err, &le, pe[0], &oe);
	}
	close(po[0]);
	close(pe[0]);
	int st;
	waitpid(pid, &st, 0);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	r->secs = now_s() - t0;
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

/* The line of check @id in text output, or NULL. */
static const char *check_line(const char *out, const char *id, char *buf,
			      size_t len)
{
	char key[96];
	snprintf(key, sizeof(key), "  %s  ", id);
	for (const char *l = out; l && *l; ) {
		const char *e = strchr(l, '\n');
		size_t n = e ? (size_t)(e - l) : strlen(l);
		if (n > 6 && memmem(l, n, key, strlen(key)) == l + 4) {
			snprintf(buf, len, "%.*s", (int)n, l);
			return buf;
		}
		l = e ? e + 1 : NULL;
	}
	return NULL;
}

static void expect_result(const char *out, const char *id, const char *res)
{
	char line[1024];
	if (!check_line(out, id, line, sizeof(line)))
		fail_msg("no line for %s in:\n%s", id, out);
	if (strncmp(line, res, 4) != 0)
		fail_msg("expected %s for %s, got: %s", res, id, line);
}

/* Check the text output: one line per check, a summary that adds up. */
static void check_text(const char *model, const struct run *r)
{
	unsigned pass = 0, fail = 0, skip = 0, sp, sf, ss;
	const char *l = r->out, *last = NULL;

	while (*l) {
		const char *e = strchr(l, '\n');
		assert_non_null(e);
		if (!strncmp(l, "PASS  ", 6))
			pass++;
		else if (!strncmp(l, "SKIP  ", 6))
			skip++;
		else if (!strncmp(l, "FAIL  ", 6)) {
			fail++;
			fail_msg("%s: %.*s", model, (int)(e - l), l);
		} else {
			last = l;
		}
		if (strncmp(l, "uvfio-conform:", 14) && !strstr(l, "[spec: "))
			fail_msg("%s: a check line without [spec:]: %.*s", model,
				 (int)(e - l), l);
		l = e + 1;
	}
	assert_non_null(last);
	assert_int_equal(sscanf(last, "uvfio-conform: %u passed, %u failed, %u "
				"skipped", &sp, &sf, &ss), 3);
	assert_int_equal(sp, pass);
	assert_int_equal(sf, fail);
	assert_int_equal(ss, skip);
	assert_true(pass >= 25);
	assert_int_equal(fail, 0);
	assert_int_equal(r->status, 0);
}

/* The models uvfio-serve offers (`uvfio-serve --list`). */
static int list_models(char models[][32], int max)
{
	const char *bin = getenv("UVFIO_SERVE");
	char cmd[600];
	assert_non_null(bin);
	snprintf(cmd, sizeof(cmd), "%s --list", bin);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	int n = 0;
	while (n < max && fgets(models[n], 32, f)) {
		models[n][strcspn(models[n], " \t\n")] = '\0';
		if (models[n][0])
			n++;
	}
	pclose(f);
	assert_true(n >= 3);
	return n;
}

static void every_model(void **state)
{
	char models[16][32];
	int n = list_models(models, 16);
	for (int i = 0; i < n; i++) {
		struct served s;
		struct run r;
		assert_int_equal(served_start(&s, models[i], NULL), 0);

		const char *plain[] = { s.path, NULL };
		conform(&r, plain);
		check_text(models[i], &r);
		expect_result(r.out, "writes.bar", "SKIP");
		char line[1024];
		assert_non_null(strstr(check_line(r.out, "writes.bar", line,
						  sizeof(line)),
				       "needs --allow-writes"));
		expect_result(r.out, "version.minor", "PASS");
		expect_result(r.out, "info.bar-sizes", "PASS");
		expect_result(r.out, "dma.overlap", "PASS");
		run_free(&r);

		const char *writes[] = { "--allow-writes", s.path, NULL };
		conform(&r, writes);
		check_text(models[i], &r);
		expect_result(r.out, "writes.bar", "PASS");
		expect_result(r.out, "writes.posted-bar", "PASS");
		run_free(&r);

		/* The server is still healthy after all that. */
		assert_true(served_alive(&s));
		assert_int_equal(served_stop_checked(&s), 0);
	}
}

static void every_model_json(void **state)
{
	char models[16][32];
	int n = list_models(models, 16);
	for (int i = 0; i < n; i++) {
		struct served s;
		struct run r;
		assert_int_equal(served_start(&s, models[i], NULL), 0);
		const char *args[] = { "--json", "--allow-writes", s.path, NULL };
		conform(&r, args);
		assert_int_equal(r.status, 0);

		struct json_object *doc = json_tokener_parse(r.out), *x, *sum;
		if (!doc)
			fail_msg("%s: output is not JSON:\n%s", models[i], r.out);
		assert_true(json_object_object_get_ex(doc, "checks", &x));
		assert_true(json_object_object_get_ex(doc, "summary", &sum));
		struct json_object *jp, *jf, *js;
		assert_true(json_object_object_get_ex(sum, "passed", &jp));
		assert_true(json_object_object_get_ex(sum, "failed", &jf));
		assert_true(json_object_object_get_ex(sum, "skipped", &js));
		int np = json_object_get_int(jp), nf = json_object_get_int(jf),
		    ns = json_object_get_int(js);
		assert_int_equal(nf, 0);
		assert_int_equal((int)json_object_array_length(x), np + nf + ns);
		for (size_t k = 0; k < json_object_array_length(x); k++) {
			struct json_object *c = json_object_array_get_idx(x, k), *v;
			assert_true(json_object_object_get_ex(c, "id", &v));
			const char *id = json_object_get_string(v);
			assert_true(json_object_object_get_ex(c, "spec", &v));
			assert_true(json_object_object_get_ex(c, "result", &v));
			const char *res = json_object_get_string(v);
			if (!strcmp(res, "FAIL"))
				fail_msg("%s: %s failed", models[i], id);
			assert_true(!strcmp(res, "PASS") || !strcmp(res, "FAIL") ||
				    !strcmp(res, "SKIP"));
			if (strcmp(res, "PASS"))
				assert_true(json_object_object_get_ex(c, "reason", &v));
		}
		json_object_put(doc);
		run_free(&r);
		assert_int_equal(served_stop_checked(&s), 0);
	}
}

/* ---- servers that are broken on purpose ---- */

struct broken {
	pid_t pid;
	char dir[64], path[108];
};

static void broken_start(struct broken *b, const char *mode)
{
	const char *bin = getenv("BROKEN_SERVER");
	assert_non_null(bin);
	strcpy(b->dir, "/tmp/uvfio-conform-XXXXXX");
	assert_non_null(mkdtemp(b->dir));
	snprintf(b->path, sizeof(b->path), "%s/broken.sock", b->dir);
	b->pid = fork();
	assert_true(b->pid >= 0);
	if (b->pid == 0) {
		execl(bin, bin, mode, b->path, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500; i++) {
		int fd = raw_connect(b->path);
		if (fd >= 0) {
			close(fd);
			return;
		}
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	fail_msg("broken-server %s did not start", mode);
}

static void broken_stop(struct broken *b)
{
	kill(b->pid, SIGKILL);
	waitpid(b->pid, NULL, 0);
	unlink(b->path);
	rmdir(b->dir);
}

static void broken_lies_about_bar(void **state)
{
	struct broken b;
	struct run r;
	broken_start(&b, "lie-bar");
	const char *args[] = { b.path, NULL };
	conform(&r, args);
	assert_int_equal(r.status, 1);
	expect_result(r.out, "info.bar-sizes", "FAIL");
	char line[1024];
	check_line(r.out, "info.bar-sizes", line, sizeof(line));
	assert_non_null(strstr(line, "BAR0: region size 0x2000, BAR sizing says "
			       "0x1000"));
	/* What it does right still passes. */
	expect_result(r.out, "config.bar-sizing", "PASS");
	expect_result(r.out, "info.device", "PASS");
	expect_result(r.out, "errors.unknown-command", "PASS");
	run_free(&r);
	broken_stop(&b);
}

static void broken_never_answers(void **state)
{
	struct broken b;
	struct run r;
	broken_start(&b, "silent");
	const char *args[] = { "--timeout=200", b.path, NULL };
	conform(&r, args);
	assert_int_equal(r.status, 1);
	expect_result(r.out, "version.basic", "PASS");
	expect_result(r.out, "info.device", "FAIL");
	char line[1024];
	check_line(r.out, "info.device", line, sizeof(line));
	assert_non_null(strstr(line, "timeout"));
	assert_non_null(strstr(r.out, "uvfio-conform: "));
	/* One 200 ms timeout per check at most: no hang. */
	assert_true(r.secs < 30);
	run_free(&r);
	broken_stop(&b);
}

static void broken_minor(void **state)
{
	struct broken b;
	struct run r;
	broken_start(&b, "high-minor");
	const char *args[] = { "--json", b.path, NULL };
	conform(&r, args);
	assert_int_equal(r.status, 1);
	struct json_object *doc = json_tokener_parse(r.out), *checks, *v;
	assert_non_null(doc);
	assert_true(json_object_object_get_ex(doc, "checks", &checks));
	bool seen = false;
	for (size_t k = 0; k < json_object_array_length(checks); k++) {
		struct json_object *c = json_object_array_get_idx(checks, k);
		json_object_object_get_ex(c, "id", &v);
		if (strcmp(json_object_get_string(v), "version.basic"))
			continue;
		json_object_object_get_ex(c, "result", &v);
		assert_string_equal(json_object_get_string(v), "FAIL");
		json_object_object_get_ex(c, "reason", &v);
		assert_non_null(strstr(json_object_get_string(v),
				       "server answered 0.1"));
		seen = true;
	}
	assert_true(seen);
	json_object_put(doc);
	run_free(&r);
	broken_stop(&b);
}

/* ---- paths that are no server ---- */

static void expect_usage_error(const char *path, const char *msg)
{
	struct run r;
	const char *args[] = { path, NULL };
	conform(&r, args);
	assert_int_equal(r.status, 2);
	assert_string_equal(r.out, "");
	char want[512];
	snprintf(want, sizeof(want), "uvfio-conform: %s: %s\n", path, msg);
	assert_string_equal(r.err, want);
	run_free(&r);
}

static void not_a_server(void **state)
{
	expect_usage_error("/nonexistent/uvfio/x.sock", "No such file or directory");
	char dir[] = "/tmp/uvfio-conform-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char file[128], sock[128];
	snprintf(file, sizeof(file), "%s/file", dir);
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);
	expect_usage_error(file, "not a UNIX socket");

	/* A socket file nobody listens on. */
	snprintf(sock, sizeof(sock), "%s/stale.sock", dir);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, sock);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	expect_usage_error(sock, "Connection refused");
	unlink(sock);
	unlink(file);
	rmdir(dir);

	struct run r;
	const char *none[] = { NULL };
	conform(&r, none);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "Usage: uvfio-conform"));
	run_free(&r);
	const char *help[] = { "--help", NULL };
	conform(&r, help);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "--allow-writes"));
	run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_model),
		cmocka_unit_test(every_model_json),
		cmocka_unit_test(broken_lies_about_bar),
		cmocka_unit_test(broken_never_answers),
		cmocka_unit_test(broken_minor),
		cmocka_unit_test(not_a_server),
	};
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
