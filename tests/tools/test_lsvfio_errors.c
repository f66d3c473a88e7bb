/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lsvfio's errors (paths that are no device, peers that are no vfio-user
 * server: one line on stderr, exit status 1, no hang), its usage errors
 * (status 2), and the listing of the default directory.
 */
#include <errno.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "lsvfio_util.h"
#include "testutil.h"

/* Run lsvfio with one argument and check status and the exact stderr. */
static void expect_failure(const char *arg, int status, const char *err)
{
	const char *args[] = { arg, NULL };
	struct lsv_result r;
	assert_int_equal(lsv_run(&r, NULL, args), 0);
	assert_int_equal(r.status, status);
	assert_string_equal(r.out, "");
	assert_string_equal(r.err, err);
	lsv_result_free(&r);
}

static char *line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *line(const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	assert_true(n > 0);
	return s;
}

static void missing_path(void **state)
{
	(void)state;
	expect_failure("/nonexistent/uvfio/x.sock", 1,
		       "lsvfio: /nonexistent/uvfio/x.sock: No such file or directory\n");
}

static void not_a_socket(void **state)
{
	(void)state;
	char dir[] = "/tmp/lsvfio-test-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char *file = line("%s/regular.sock", dir);
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);

	char *want = line("lsvfio: %s is not a socket\n", file);
	expect_failure(file, 1, want);
	free(want);
	/* A directory is not one either. */
	want = line("lsvfio: %s is not a socket\n", dir);
	expect_failure(dir, 1, want);
	free(want);
	unlink(file);
	free(file);
	rmdir(dir);
}

static void connection_refused(void **state)
{
	(void)state;
	struct fake f;
	assert_int_equal(fake_start(&f, PEER_STALE, NULL), 0);
	char *want = line("lsvfio: %s: Connection refused\n", f.path);
	expect_failure(f.path, 1, want);
	free(want);
	fake_stop(&f);
}

/* A peer that accepts and never answers: given up on after 3 s, not hung. */
static void silent_peer(void **state)
{
	(void)state;
	struct fake f;
	assert_int_equal(fake_start(&f, PEER_SILENT, NULL), 0);
	const char *args[] = { f.path, NULL };
	struct lsv_result r;
	assert_int_equal(lsv_run(&r, NULL, args), 0);
	assert_int_equal(r.status, 1);
	assert_string_equal(r.out, "");
	char *want = line("lsvfio: %s: no vfio-user answer within 3000 ms", f.path);
	assert_memory_equal(r.err, want, strlen(want));
	assert_int_equal(strchr(r.err, '\n') - r.err + 1, (long)strlen(r.err));
	assert_true(r.secs >= 2.5);
	assert_true(r.secs < 30);
	free(want);
	lsv_result_free(&r);
	fake_stop(&f);
}

static void expect_not_vfio_user(enum fake_peer kind, const char *what)
{
	struct fake f;
	assert_int_equal(fake_start(&f, kind, NULL), 0);
	const char *args[] = { f.path, NULL };
	struct lsv_result r;
	assert_int_equal(lsv_run(&r, NULL, args), 0);
	assert_int_equal(r.status, 1);
	assert_string_equal(r.out, "");
	char *want = line("lsvfio: %s: ", f.path);
	assert_memory_equal(r.err, want, strlen(want));
	if (!strstr(r.err, what))
		fprintf(stderr, "stderr: %s", r.err);
	assert_non_null(strstr(r.err, what));
	/* One line. */
	assert_int_equal(strchr(r.err, '\n') - r.err + 1, (long)strlen(r.err));
	assert_true(r.secs < 30);
	free(want);
	lsv_result_free(&r);
	fake_stop(&f);
}

static void garbage_peer(void **state)
{
	(void)state;
	expect_not_vfio_user(PEER_GARBAGE, "the peer does not speak vfio-user");
}

static void bad_version_peer(void **state)
{
	(void)state;
	expect_not_vfio_user(PEER_BAD_VERSION, "the peer does not speak vfio-user");
}

static void closing_peer(void **state)
{
	(void)state;
	expect_not_vfio_user(PEER_CLOSE, "the peer closed the connection");
}

/* Devices that work are shown even when another one fails. */
static struct served g_edu;

static int group_setup(void **state)
{
	(void)state;
	return served_start(&g_edu, "edu", NULL);
}

static int group_teardown(void **state)
{
	(void)state;
	return served_stop(&g_edu) == 0 ? 0 : -1;
}

static void one_good_one_bad(void **state)
{
	(void)state;
	const char *args[] = { "/nonexistent.sock", g_edu.path, NULL };
	struct lsv_result r;
	assert_int_equal(lsv_run(&r, NULL, args), 0);
	assert_int_equal(r.status, 1);
	assert_string_equal(r.err, "lsvfio: /nonexistent.sock: No such file or directory\n");
	assert_non_null(strstr(r.out, "Device [1234:11e8]"));
	lsv_result_free(&r);
	/* The server took the failed neighbour in its stride. */
	assert_true(served_alive(&g_edu));
}

/* ---- usage ----------------------------------------------------------- */

static void usage_errors(void **state)
{
	(void)state;
	const char *bad[][3] = { { "--bogus", NULL }, { "-x", NULL },
				 { "--json=1", NULL } };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct lsv_result r;
		assert_int_equal(lsv_run(&r, NULL, bad[i]), 0);
		assert_int_equal(r.status, 2);
		assert_string_equal(r.out, "");
		assert_memory_equal(r.err, "lsvfio: ", 8);
		assert_non_null(strstr(r.err, "Usage: lsvfio"));
		lsv_result_free(&r);
	}
}

static void help(void **state)
{
	(void)state;
	const char *args[][2] = { { "--help", NULL }, { "-h", NULL } };
	for (size_t i = 0; i < 2; i++) {
		struct lsv_result r;
		assert_int_equal(lsv_run(&r, NULL, args[i]), 0);
		assert_int_equal(r.status, 0);
		assert_memory_equal(r.out, "Usage: lsvfio [OPTIONS] [PATH...]\n", 34);
		assert_non_null(strstr(r.out, "--json"));
		assert_string_equal(r.err, "");
		lsv_result_free(&r);
	}
}

/* ---- listing ------------------------------------------------------- */

static void list_empty_dir(void **state)
{
	(void)state;
	char xdg[] = "/tmp/lsvfio-xdg-XXXXXX";
	assert_non_null(mkdtemp(xdg));
	struct lsv_result r;
	/* No uvfio/ directory at all, then an empty one. */
	for (int i = 0; i < 2; i++) {
		if (i) {
			char *d = line("%s/uvfio", xdg);
			assert_int_equal(mkdir(d, 0700), 0);
			free(d);
		}
		assert_int_equal(lsv_run(&r, xdg, NULL), 0);
		assert_int_equal(r.status, 0);
		char *want = line("no vfio-user devices in %s/uvfio\n", xdg);
		assert_string_equal(r.out, want);
		assert_string_equal(r.err, "");
		free(want);
		lsv_result_free(&r);
	}
	const char *json[] = { "--json", NULL };
	assert_int_equal(lsv_run(&r, xdg, json), 0);
	assert_int_equal(r.status, 0);
	json_object *doc = json_tokener_parse(r.out);
	assert_non_null(doc);
	assert_int_equal(json_object_array_length(json_object_object_get(doc, "devices")), 0);
	json_object_put(doc);
	lsv_result_free(&r);
	char *d = line("%s/uvfio", xdg);
	rmdir(d);
	free(d);
	rmdir(xdg);
}

/* uvfio-serve without --socket-path puts its socket where lsvfio looks. */
static void list_default_dir(void **state)
{
	(void)state;
	char xdg[] = "/tmp/lsvfio-xdg-XXXXXX";
	char sock[160];
	assert_non_null(mkdtemp(xdg));
	pid_t pid = serve_default_dir("edu", xdg, sock, sizeof(sock));
	assert_true(pid > 0);
	/* Names that are not *.sock are not looked at. */
	char *other = line("%s/uvfio/README", xdg);
	FILE *f = fopen(other, "w");
	assert_non_null(f);
	fclose(f);

	struct lsv_result r;
	assert_int_equal(lsv_run(&r, xdg, NULL), 0);
	assert_int_equal(r.status, 0);
	char *want = line("%s: Unclassified device [00ff]: Device [1234:11e8] (rev 10)\n", sock);
	assert_string_equal(r.out, want);
	assert_string_equal(r.err, "");
	free(want);
	lsv_result_free(&r);

	const char *json[] = { "--json", NULL };
	assert_int_equal(lsv_run(&r, xdg, json), 0);
	assert_int_equal(r.status, 0);
	json_object *doc = json_tokener_parse(r.out);
	assert_non_null(doc);
	json_object *devs = json_object_object_get(doc, "devices");
	assert_int_equal(json_object_array_length(devs), 1);
	json_object *d = json_object_array_get_idx(devs, 0);
	assert_string_equal(json_object_get_string(json_object_object_get(d, "path")), sock);
	/* The listing in JSON is the full decode. */
	assert_int_equal(json_object_array_length(json_object_object_get(d, "capabilities")), 1);
	json_object_put(doc);
	lsv_result_free(&r);

	/* A stale socket is reported, the live one still listed; status 1. */
	char *stale = line("%s/uvfio/zz-stale.sock", xdg);
	struct fake fk;
	assert_int_equal(fake_start(&fk, PEER_STALE, stale), 0);
	assert_int_equal(lsv_run(&r, xdg, NULL), 0);
	assert_int_equal(r.status, 1);
	want = line("%s: Unclassified device [00ff]: Device [1234:11e8] (rev 10)\n", sock);
	assert_string_equal(r.out, want);
	free(want);
	want = line("lsvfio: %s: Connection refused\n", stale);
	assert_string_equal(r.err, want);
	free(want);
	lsv_result_free(&r);
	fake_stop(&fk);
	free(stale);

	assert_int_equal(serve_stop(pid), 0);
	unlink(other);
	free(other);
	char *dir = line("%s/uvfio", xdg);
	rmdir(dir);
	free(dir);
	rmdir(xdg);
}

/*
 * With XDG_RUNTIME_DIR unusable (empty) both tools fall back to
 * /run/uvfio/.  Root only (the directory is the system's), under the
 * lock such tests share, and only when no testdev server of somebody
 * else's is there; a directory the test made is removed again.  Sockets
 * of others there may be listed too, so only ours is looked for.
 */
static void list_run_dir(void **state)
{
	(void)state;
	struct stat sb;
	int lock = geteuid() == 0 ? run_uvfio_lock() : -EPERM;
	if (lock < 0 || lstat("/run/uvfio/testdev.sock", &sb) == 0) {
		if (lock >= 0)
			close(lock);
		print_message("skipped: needs root and no /run/uvfio/testdev.sock\n");
		skip();
	}
	bool made = lstat("/run/uvfio", &sb) < 0;
	char sock[160];
	pid_t pid = serve_default_dir("testdev", "", sock, sizeof(sock));
	assert_true(pid > 0);
	assert_string_equal(sock, "/run/uvfio/testdev.sock");
	struct lsv_result r;
	assert_int_equal(lsv_run(&r, "", NULL), 0);
	assert_int_equal(r.status, 0);
	char *want = line("%s: ", sock);
	char *at = strstr(r.out, want);
	assert_non_null(at);
	assert_true(at == r.out || at[-1] == '\n');
	free(want);
	lsv_result_free(&r);
	assert_int_equal(serve_stop(pid), 0);
	assert_int_equal(lstat(sock, &sb), -1);
	if (made)
		assert_int_equal(rmdir("/run/uvfio"), 0);
	close(lock);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(missing_path),
		cmocka_unit_test(not_a_socket),
		cmocka_unit_test(connection_refused),
		cmocka_unit_test(silent_peer),
		cmocka_unit_test(garbage_peer),
		cmocka_unit_test(bad_version_peer),
		cmocka_unit_test(closing_peer),
		cmocka_unit_test(one_good_one_bad),
		cmocka_unit_test(usage_errors),
		cmocka_unit_test(help),
		cmocka_unit_test(list_empty_dir),
		cmocka_unit_test(list_default_dir),
		cmocka_unit_test(list_run_dir),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
