/* SPDX-License-Identifier: BSD-3-Clause */
/* uvfio-bench: runs, medians, percentiles, pinning and helper processes. */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

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

/*
 * Warm up, then o->runs runs of @iters samples each.  The figure is the
 * median of the run medians (one disturbed run does not move it); the
 * p99 is over every sample of every run.
 */
int bench_measure(const struct bench_opts *o, bench_fn fn, void *ctx,
		  size_t iters, struct meas *out)
{
	unsigned runs = o->runs ? o->runs : 1;
	size_t warm = o->warmup < iters ? o->warmup : iters;
	double *all = calloc((size_t)runs * iters, sizeof(*all));
	double *meds = calloc(runs, sizeof(*meds));
	int r = -ENOMEM;

	memset(out, 0, sizeof(*out));
	if (!all || !meds)
		goto out;
	if (warm) {
		r = fn(ctx, all, warm);
		if (r < 0)
			goto out;
	}
	for (unsigned i = 0; i < runs; i++) {
		double *run = all + (size_t)i * iters;
		r = fn(ctx, run, iters);
		if (r < 0)
			goto out;
		/* The median sorts a copy: all[] is sorted as a whole later. */
		double *tmp = malloc(iters * sizeof(*tmp));
		if (!tmp) {
			r = -ENOMEM;
			goto out;
		}
		memcpy(tmp, run, iters * sizeof(*tmp));
		meds[i] = bench_median(tmp, iters);
		free(tmp);
	}
	out->med = bench_median(meds, runs);
	out->p99 = bench_percentile(all, (size_t)runs * iters, 99.0);
	out->samples = (size_t)runs * iters;
	r = 0;
out:
	out->err = r;
	free(all);
	free(meds);
	return r;
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
