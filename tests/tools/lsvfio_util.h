/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Helpers for the lsvfio tests: run the real binary ($LSVFIO) and
 * capture what it printed, compare with golden files ($LSVFIO_GOLDEN),
 * and fake peers that are not vfio-user servers.
 */
#ifndef UVFIO_TESTS_LSVFIO_UTIL_H
#define UVFIO_TESTS_LSVFIO_UTIL_H

#include <stdbool.h>
#include <sys/types.h>

struct lsv_result {
	int status;            /* exit status; -1 when killed or timed out */
	char *out, *err;       /* NUL-terminated, never NULL */
	double secs;           /* how long it ran */
};

/*
 * Run `$LSVFIO ARGS...` (through $LSVFIO_WRAPPER, e.g. valgrind, when
 * set).  @xdg non-NULL: XDG_RUNTIME_DIR for the child.  Killed after
 * 60 s.  Returns 0, or -errno when it could not be run.
 */
int lsv_run(struct lsv_result *r, const char *xdg, const char *const *args);
void lsv_result_free(struct lsv_result *r);

/* A copy of @s with every @from replaced by @to. */
char *str_replace_all(const char *s, const char *from, const char *to);
/* The whole file, NUL-terminated, or NULL. */
char *read_whole_file(const char *path);

/*
 * Compare @actual with golden file @name.  With LSVFIO_UPDATE_GOLDEN=1
 * the file is (re)written instead.  On a difference the first differing
 * line is printed and the test fails.
 */
void assert_golden_text(const char *name, const char *actual);
/* The same for JSON, compared parsed (formatting does not matter). */
void assert_golden_json(const char *name, const char *actual);

enum fake_peer {
	PEER_STALE,       /* a socket file nobody listens on */
	PEER_SILENT,      /* accepts and never says anything */
	PEER_GARBAGE,     /* accepts and sends bytes that are no message */
	PEER_CLOSE,       /* accepts and closes at once */
	PEER_BAD_VERSION, /* answers VERSION with a reply that is not JSON */
};

struct fake {
	pid_t pid;
	char dir[64];
	char path[108];
};

/* Create the peer at a fresh temporary path (or at @path when given). */
int fake_start(struct fake *f, enum fake_peer kind, const char *path);
void fake_stop(struct fake *f);

/*
 * Children that must die with the test even when an assertion fails
 * before their cleanup (they hold the test's output pipes open).
 */
void test_child_track(pid_t pid);
void test_child_forget(pid_t pid);

/* Start `uvfio-serve MODEL` with XDG_RUNTIME_DIR=@xdg and no socket path
 * (@xdg "": set but empty, so the socket goes to /run/uvfio/). */
pid_t serve_default_dir(const char *model, const char *xdg, char *sock,
			size_t len);
int serve_stop(pid_t pid);

#endif
