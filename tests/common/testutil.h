/* SPDX-License-Identifier: BSD-3-Clause */
/* Helpers shared by the tests: starting uvfio-serve, counting fds. */
#ifndef UVFIO_TESTUTIL_H
#define UVFIO_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct served {
	pid_t pid;
	char path[108];
	char dir[64];
};

/*
 * Start `uvfio-serve MODEL --socket-path=<tmp> EXTRA...` ($UVFIO_SERVE)
 * and wait until its socket accepts connections.  @extra is a
 * NULL-terminated argument list or NULL.  Returns 0 or -errno.
 * With $UVFIO_SERVE_WRAPPER set (e.g. "valgrind --error-exitcode=99 -q")
 * the server runs under that command; a server the wrapper ends with its
 * --error-exitcode fails served_stop_checked() and, even where a test
 * ignores the status, makes the test program exit non-zero.
 */
int served_start(struct served *s, const char *model, const char *const *extra);
/* SIGTERM it, wait, and return its exit status (or -1 when killed). */
int served_stop(struct served *s);
/* served_stop() for a teardown: 0 when the server exited with status 0,
 * else -1 after saying how it ended. */
int served_stop_checked(struct served *s);
/* True while the server process is alive. */
bool served_alive(struct served *s);

/* A raw connected socket to @path, or -errno. */
int raw_connect(const char *path);

/*
 * Attach @nfds fds to @mh as one SCM_RIGHTS message in @ctl (@ctl_size
 * bytes, aligned for a struct cmsghdr).  Nothing is attached for 0.
 * Returns 0, or -EINVAL when they do not fit.
 */
struct msghdr;
int scm_attach(struct msghdr *mh, void *ctl, size_t ctl_size,
	       const int *fds, unsigned nfds);

/* Number of open fds in this process. */
int count_open_fds(void);
/* The permission string ("r--s", "rw-p") of this process's mapping that
 * holds @addr, from /proc/self/maps; "none" when no mapping does. */
void map_perms(const void *addr, char perms[5]);
/* Number of open fds of process @pid (under $UVFIO_SERVE_WRAPPER, not
 * counting the fds valgrind keeps for itself). */
int count_process_fds(pid_t pid);

/*
 * Tests that use the system's /run/uvfio/ (the tools' fallback directory)
 * take this lock first, so that two of them (or one and its valgrind
 * twin) never meet there.  Returns the fd that holds it (close() drops
 * it), or -errno.
 */
int run_uvfio_lock(void);

/* Client options for tests: silent, or logging to stderr when
 * UVFIO_TEST_LOG is set in the environment. */
#include <uvfio/client.h>
void test_client_log(void *opaque, int prio, const char *msg);
struct uvfio_open_opts test_open_opts(void);

#endif
