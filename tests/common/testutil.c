/* SPDX-License-Identifier: BSD-3-Clause */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	const char *argv[32] = { bin, model, sockarg };
	int n = 3;
	for (int i = 0; extra && extra[i] && n < 31; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	s->pid = pid;
	for (int i = 0; i < 500; i++) {
		int fd = raw_connect(s->path);
		if (fd >= 0) {
			/* The probe connection is served and dropped. */
			close(fd);
			return 0;
		}
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			s->pid = 0;
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
	return waitpid(s->pid, &st, WNOHANG) == 0;
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

static int count_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return -errno;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;  /* the DIR's own fd */
}

int count_open_fds(void)
{
	return count_dir("/proc/self/fd");
}

int count_process_fds(pid_t pid)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/%d/fd", (int)pid);
	return count_dir(p) + 1;
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
