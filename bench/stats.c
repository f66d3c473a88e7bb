/* SPDX-License-Identifier: BSD-3-Clause */
/* uvfio-bench: runs, medians, percentiles, pinning and helper processes. */
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define MIN(a, b) ((a) < (b) ? (a) : (b))

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Sorts @v in place. */
double bench_median(double *v, size_t n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return n & 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Nearest-rank percentile; sorts @v in place. */
double bench_percentile(double *v, size_t n, double pct)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	size_t rank = (size_t)(pct / 100.0 * (double)n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return v[rank - 1];
}

int series_init(struct series *s, size_t iters, unsigned runs)
{
	memset(s, 0, sizeof(*s));
	s->iters = iters ? iters : 1;
	s->runs = runs ? runs : 1;
	s->all = calloc((size_t)s->runs * s->iters, sizeof(*s->all));
	s->meds = calloc(s->runs, sizeof(*s->meds));
	s->tmp = calloc(s->iters, sizeof(*s->tmp));
	if (!s->all || !s->meds || !s->tmp) {
		series_finish(s, NULL);
		return -ENOMEM;
	}
	return 0;
}

int series_run(struct series *s, bench_fn fn, void *ctx)
{
	if (s->done >= s->runs)
		return -ENOSPC;
	double *run = s->all + (size_t)s->done * s->iters;
	int r = fn(ctx, run, s->iters);
	if (r < 0)
		return r;
	/* The median sorts a copy: all[] is sorted as a whole at the end. */
	memcpy(s->tmp, run, s->iters * sizeof(*s->tmp));
	s->meds[s->done++] = bench_median(s->tmp, s->iters);
	return 0;
}

/*
 * The figure is the median of the run medians (one disturbed run does
 * not move it); the p99 is over every sample of every run.
 */
void series_finish(struct series *s, struct meas *out)
{
	if (out && s->done) {
		out->med = bench_median(s->meds, s->done);
		out->p99 = bench_percentile(s->all, (size_t)s->done * s->iters,
					    99.0);
		out->samples = (size_t)s->done * s->iters;
	}
	free(s->all);
	free(s->meds);
	free(s->tmp);
	s->all = s->meds = s->tmp = NULL;
}

static const char *g_running;    /* for the watchdog's message */

/* A lost reply or interrupt must end the bench, not hang it. */
static void watchdog(int sig)
{
	static const char msg[] = "uvfio-bench: a measurement hung: ";
	ssize_t n = write(2, msg, sizeof(msg) - 1);
	if (g_running)
		n = write(2, g_running, strlen(g_running));
	n = write(2, "\n", 1);
	(void)n;
	(void)sig;
	_exit(1);
}

static int item_run(struct bench_item *it, double *warm, size_t nwarm)
{
	g_running = it->name;
	alarm(BENCH_WATCHDOG_S);
	int r = it->setup ? it->setup(it->ctx) : 0;
	if (!r)
		r = warm ? it->fn(it->ctx, warm, nwarm) :
			   series_run(&it->s, it->fn, it->ctx);
	if (it->teardown)
		it->teardown(it->ctx);
	alarm(0);
	return r;
}

void bench_items_run(const struct bench_opts *o, struct bench_item **items,
		     unsigned n)
{
	unsigned runs = o->runs ? o->runs : 1;
	size_t nwarm = o->warmup ? o->warmup : 1;
	double *warm = calloc(nwarm, sizeof(*warm));
	struct sigaction sa = { .sa_handler = watchdog };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);

	for (unsigned i = 0; i < n; i++) {
		struct bench_item *it = items[i];
		if (!it->fn)
			continue;
		int r = warm ? series_init(&it->s, it->iters, runs) : -ENOMEM;
		if (!r)
			r = item_run(it, warm, MIN(nwarm, it->iters));
		if (r < 0) {
			it->out->err = r;
			it->fn = NULL;
			series_finish(&it->s, NULL);
		}
	}
	for (unsigned k = 0; k < runs; k++) {
		for (unsigned i = 0; i < n; i++) {
			struct bench_item *it = items[i];
			if (!it->fn)
				continue;
			int r = item_run(it, NULL, 0);
			if (r < 0) {
				it->out->err = r;
				it->fn = NULL;
			}
		}
	}
	for (unsigned i = 0; i < n; i++) {
		struct bench_item *it = items[i];
		if (it->s.all)
			series_finish(&it->s, it->out->err ? NULL : it->out);
		if (o->verbose && !it->out->err)
			fprintf(stderr, "uvfio-bench:   %-28s median %.0f ns\n",
				it->name, it->out->med);
	}
	free(warm);
}

int bench_pin(pid_t pid, int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(pid, sizeof(set), &set) < 0 ? -errno : 0;
}

pid_t bench_fork(int cpu, int (*fn)(void *arg), void *arg)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid < 0 ? -errno : pid;
	if (bench_pin(0, cpu) < 0)
		_exit(126);
	_exit(fn(arg) < 0 ? 1 : 0);
}

/*
 * In a forked helper: close every fd but stdio and @keep, so that the
 * ends other helpers' peers hold do not keep their sockets open.
 */
void bench_keep_fds(const int *keep, unsigned n)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return;
	int self = dirfd(d);
	struct dirent *e;
	while ((e = readdir(d))) {
		int fd = atoi(e->d_name);
		bool kept = fd < 3 || fd == self || e->d_name[0] == '.';
		for (unsigned i = 0; i < n && !kept; i++)
			kept = fd == keep[i];
		if (!kept)
			close(fd);
	}
	closedir(d);
}

int bench_reap(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	return -ECHILD;
}

int bench_read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int bench_write_full(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
