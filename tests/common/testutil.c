/* SPDX-License-Identifier: BSD-3-Clause */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

int raw_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

/*
 * $UVFIO_SERVE_WRAPPER ("valgrind --error-exitcode=99 ..."): a command the
 * server runs under, split at spaces and looked up in $PATH.  Its
 * --error-exitcode, when it has one, is the status that means "the
 * wrapper found errors in the server".
 */
static const char *serve_wrapper(void)
{
	const char *w = getenv("UVFIO_SERVE_WRAPPER");
	return w && *w ? w : NULL;
}

static int wrapper_error_status(void)
{
	const char *w = serve_wrapper();
	const char *e = w ? strstr(w, "--error-exitcode=") : NULL;
	return e ? atoi(e + strlen("--error-exitcode=")) : -1;
}

/*
 * A test that ignores how a server ended (a stop on an error path, a
 * server expected to be killed) must still fail when the wrapper found
 * errors in it: the test program's exit status is made non-zero.
 */
static pid_t wrapper_owner;
static bool wrapper_failed;

static void wrapper_atexit(void)
{
	if (wrapper_failed && getpid() == wrapper_owner) {
		fprintf(stderr, "FAILED: a uvfio-serve run under '%s' reported errors\n",
			serve_wrapper());
		fflush(NULL);
		_exit(98);
	}
}

int served_start(struct served *s, const char *model, const char *const *extra)
{
	const char *bin = getenv("UVFIO_SERVE");
	if (!bin)
		return -ENOENT;
	memset(s, 0, sizeof(*s));
	strcpy(s->dir, "/tmp/uvfio-test-XXXXXX");
	if (!mkdtemp(s->dir))
		return -errno;
	snprintf(s->path, sizeof(s->path), "%s/%s.sock", s->dir, model);
	char sockarg[160];
	snprintf(sockarg, sizeof(sockarg), "--socket-path=%s", s->path);

	const char *argv[64];
	int n = 0;
	char wbuf[512] = "";
	if (serve_wrapper()) {
		if (!wrapper_owner) {
			wrapper_owner = getpid();
			atexit(wrapper_atexit);
		}
		snprintf(wbuf, sizeof(wbuf), "%s", serve_wrapper());
		for (char *save, *t = strtok_r(wbuf, " ", &save); t && n < 24;
		     t = strtok_r(NULL, " ", &save))
			argv[n++] = t;
	}
	argv[n++] = bin;
	argv[n++] = model;
	argv[n++] = sockarg;
	for (int i = 0; extra && extra[i] && n < 63; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	s->pid = pid;
	/* Up to 30 s: a server under valgrind on a busy machine is slow. */
	for (int i = 0; i < 3000; i++) {
		int fd = raw_connect(s->path);
		if (fd >= 0) {
			/* The probe connection is served and dropped. */
			close(fd);
			return 0;
		}
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			s->pid = 0;
			if (WIFEXITED(st) && WEXITSTATUS(st) == wrapper_error_status())
				wrapper_failed = true;
			return -ECHILD;
		}
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	served_stop(s);
	return -ETIMEDOUT;
}

bool served_alive(struct served *s)
{
	if (s->pid <= 0)
		return false;
	int st;
	pid_t r = waitpid(s->pid, &st, WNOHANG);
	if (r == s->pid && WIFEXITED(st) &&
	    WEXITSTATUS(st) == wrapper_error_status())
		wrapper_failed = true;
	return r == 0;
}

int served_stop(struct served *s)
{
	int status = -1;
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		int st;
		if (waitpid(s->pid, &st, 0) == s->pid && WIFEXITED(st))
			status = WEXITSTATUS(st);
		s->pid = 0;
		if (status >= 0 && status == wrapper_error_status()) {
			fprintf(stderr, "uvfio-serve: '%s' found errors (exit status %d)\n",
				serve_wrapper(), status);
			wrapper_failed = true;
		}
	}
	unlink(s->path);
	rmdir(s->dir);
	return status;
}

int served_stop_checked(struct served *s)
{
	int st = served_stop(s);
	if (st != 0)
		fprintf(stderr, "uvfio-serve exited with status %d\n", st);
	return st == 0 ? 0 : -1;
}

/* Entries of /proc/.../fd named below @limit (all when @limit < 0). */
static int count_dir(const char *dir, long limit)
{
	DIR *d = opendir(dir);
	if (!d)
		return -errno;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && (limit < 0 || atol(e->d_name) < limit))
			n++;
	closedir(d);
	return n;
}

int scm_attach(struct msghdr *mh, void *ctl, size_t ctl_size,
	       const int *fds, unsigned nfds)
{
	if (!nfds)
		return 0;
	if (CMSG_SPACE(sizeof(int) * nfds) > ctl_size)
		return -EINVAL;
	memset(ctl, 0, CMSG_SPACE(sizeof(int) * nfds));
	mh->msg_control = ctl;
	mh->msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
	struct cmsghdr *c = CMSG_FIRSTHDR(mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	return 0;
}

int run_uvfio_lock(void)
{
	int fd = open("/run/uvfio-tests.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int e = errno;
			close(fd);
			return -e;
		}
	}
	return fd;
}

int count_open_fds(void)
{
	return count_dir("/proc/self/fd", -1) - 1;  /* the DIR's own fd */
}

/*
 * valgrind keeps its own fds (the executable, a log pipe, vgdb's FIFO,
 * files it reads debug info from for a moment) in the top 12 slots below
 * the process's open-file limit, which it lowers by as much for the
 * program it runs.  Under $UVFIO_SERVE_WRAPPER those slots are not the
 * server's and are not counted.
 */
#define WRAPPER_RESERVED_FDS 12

static long nofile_soft_limit(pid_t pid)
{
	char p[64], line[256];
	snprintf(p, sizeof(p), "/proc/%d/limits", (int)pid);
	FILE *f = fopen(p, "r");
	long soft = -1;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Max open files %ld", &soft) == 1)
			break;
	fclose(f);
	return soft;
}

int count_process_fds(pid_t pid)
{
	char p[64];
	long limit = -1;
	if (serve_wrapper()) {
		limit = nofile_soft_limit(pid);
		if (limit > WRAPPER_RESERVED_FDS)
			limit -= WRAPPER_RESERVED_FDS;
	}
	snprintf(p, sizeof(p), "/proc/%d/fd", (int)pid);
	return count_dir(p, limit);
}

void test_client_log(void *opaque, int prio, const char *msg)
{
	(void)opaque;
	fprintf(stderr, "  [client %d] %s\n", prio, msg);
}

struct uvfio_open_opts test_open_opts(void)
{
	struct uvfio_open_opts o = { 0 };
	if (getenv("UVFIO_TEST_LOG")) {
		o.log = test_client_log;
		o.log_level = 7;
	}
	return o;
}

void map_perms(const void *addr, char perms[5])
{
	strcpy(perms, "none");
	FILE *f = fopen("/proc/self/maps", "r");
	if (!f)
		return;
	char line[512];
	uintptr_t a = (uintptr_t)addr;
	while (fgets(line, sizeof(line), f)) {
		uintptr_t lo, hi;
		char p[5];
		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %4s", &lo, &hi, p) != 3)
			continue;
		if (a >= lo && a < hi) {
			memcpy(perms, p, 5);
			break;
		}
	}
	fclose(f);
}
