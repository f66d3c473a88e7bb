/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * uvfio-bench: how far uvfio is from what the kernel gives two processes.
 * Starts its own testdev server, measures baselines and uvfio figures on
 * one CPU and on two, and reports each figure with its ratio to the
 * baseline measured in the same run.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uvfio/uvfio.h>

#include "bench.h"

#ifndef UVFIO_BENCH_SERVE
#define UVFIO_BENCH_SERVE "uvfio-serve"
#endif

static void usage(FILE *f)
{
	fprintf(f,
"Usage: uvfio-bench [OPTIONS]\n"
"Measure uvfio against raw baselines, with client and server on one CPU\n"
"and on two, and report each figure as a ratio to its baseline.\n"
"\n"
"Options:\n"
"  --json              print the results as JSON\n"
"  --markdown          print the results as Markdown tables\n"
"  --quick             a short run (about a second), for smoke tests\n"
"  --cpus=WHICH        1, 2 or both (default both)\n"
"  --runs=N            runs per figure; the figure is the median of the\n"
"                      run medians (default 5)\n"
"  --iterations=N      samples per run for small-message figures\n"
"                      (default 10000; 1 MiB figures use N/50)\n"
"  --serve[=PATH]      run the server by executing uvfio-serve (default:\n"
"                      the one built with uvfio-bench, else the one beside\n"
"                      it, else PATH's) instead of the server library in\n"
"                      a forked child\n"
"  -v, --verbose       progress on stderr\n"
"  -h, --help          show this help and exit\n"
"  --version           show the version and exit\n");
}

static int parse_uint(const char *s, const char *what, unsigned long max,
		      unsigned long *out)
{
	char *end;

	errno = 0;
	unsigned long v = strtoul(s, &end, 0);
	if (errno || end == s || *end || v == 0 || v > max) {
		fprintf(stderr, "uvfio-bench: invalid %s '%s' (1..%lu)\n", what,
			s, max);
		return -1;
	}
	*out = v;
	return 0;
}

/*
 * uvfio-serve for --serve without a path: the one built with the bench,
 * else the one installed beside it, else whichever PATH finds.
 */
static const char *default_serve(void)
{
	static char beside[PATH_MAX + 16];
	char self[PATH_MAX];

	if (access(UVFIO_BENCH_SERVE, X_OK) == 0)
		return UVFIO_BENCH_SERVE;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = 0;
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = 0;
			snprintf(beside, sizeof(beside), "%s/uvfio-serve", self);
			if (access(beside, X_OK) == 0)
				return beside;
		}
	}
	return "uvfio-serve";
}

/* The first two CPUs we may run on; *second is -1 when there is one. */
static int pick_cpus(int *first, int *second)
{
	cpu_set_t set;

	*first = *second = -1;
	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return -errno;
	for (int c = 0; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, &set))
			continue;
		if (*first < 0)
			*first = c;
		else if (*second < 0)
			*second = c;
	}
	return *first < 0 ? -ENODEV : 0;
}

/*
 * Device DMA timed by the client (uvfio-serve, no probe) runs from the
 * DMA_CMD write to its reply; without the register write's own round
 * trip (the median of the 4-byte REGION_WRITE figure), what is left is
 * the device's work.
 */
static void subtract_register_write(struct placement *pl)
{
	static const int dma[] = { FIG_DMA_RD_MAP, FIG_DMA_WR_MAP,
				   FIG_DMA_RD_MSG, FIG_DMA_WR_MSG };
	const struct meas *wr = &pl->fig[FIG_WRITE4];

	if (wr->err)
		return;
	for (size_t i = 0; i < sizeof(dma) / sizeof(dma[0]); i++) {
		struct meas *m = &pl->fig[dma[i]];
		/* Noise can make the difference meaningless: then keep it all. */
		if (m->err || m->at_device || wr->med > m->med * 0.9)
			continue;
		m->med -= wr->med;
		m->subtracted = wr->med;
	}
}

/* Each baseline, then the figures compared with it, in every round. */
static const struct {
	bool base;
	int idx;
} order[] = {
	{ true, BASE_PINGPONG }, { false, FIG_READ4 }, { false, FIG_WRITE4 },
	{ false, FIG_MMAP4 },
	{ true, BASE_EVENTFD }, { false, FIG_DOORBELL },
	{ false, FIG_DOORBELL_NP }, { false, FIG_IOEV_IRQ },
	{ true, BASE_STREAM }, { false, FIG_POSTED4 },
	{ true, BASE_EFD_STREAM }, { false, FIG_IOEV_WRITES },
	{ true, BASE_XFER }, { false, FIG_READ1M }, { false, FIG_WRITE1M },
	{ false, FIG_DMA_RD_MSG }, { false, FIG_DMA_WR_MSG },
	{ true, BASE_MEMCPY }, { true, BASE_PEERCOPY },
	{ false, FIG_DMA_RD_MAP }, { false, FIG_DMA_WR_MAP },
};

/* What could not even start is an error of its own. */
static void mark_unstarted(struct bench_item *it, unsigned n, int err)
{
	for (unsigned i = 0; i < n; i++)
		if (!it[i].fn && !it[i].out->err)
			it[i].out->err = err < 0 ? err : -EIO;
}

static int run_placement(const struct bench_opts *o, struct placement *pl)
{
	struct bench_item bi[BASE_COUNT], fi[FIG_COUNT];
	struct bench_item *list[sizeof(order) / sizeof(order[0])];
	struct baselines *b = NULL;
	struct bench_dev *d = NULL;

	if (o->verbose)
		fprintf(stderr, "uvfio-bench: %s: client CPU %d, server CPU %d\n",
			pl->name, pl->client_cpu, pl->server_cpu);
	int r = bench_pin(0, pl->client_cpu);
	if (r < 0)
		return r;
	/* The peers first: they are forked before the library has a thread. */
	int rb = baselines_start(&b, o, pl->client_cpu, pl->server_cpu,
				 pl->base, bi);
	int rd = bench_device_start(&d, o, pl->client_cpu, pl->server_cpu,
				    pl->fig, fi);
	for (unsigned i = 0; i < BASE_COUNT; i++)
		/* The doorbell baseline is derived, never measured. */
		if (i != BASE_DOORBELL && !bi[i].fn && !bi[i].out->err)
			bi[i].out->err = rb < 0 ? rb : -EIO;
	mark_unstarted(fi, FIG_COUNT, rd);

	unsigned n = 0;
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		list[n++] = order[i].base ? &bi[order[i].idx] : &fi[order[i].idx];
	bench_items_run(o, list, n);

	int rs = bench_device_stop(d);
	baselines_stop(b);
	baselines_derive(pl->base);
	subtract_register_write(pl);
	pl->done = true;

	r = rs;
	for (unsigned i = 0; i < BASE_COUNT && !r; i++)
		r = pl->base[i].err;
	for (unsigned i = 0; i < FIG_COUNT && !r; i++)
		r = pl->fig[i].err;
	if (r < 0)
		fprintf(stderr, "uvfio-bench: %s: not everything could be measured: %s\n",
			pl->name, strerror(-r));
	return r;
}

int main(int argc, char **argv)
{
	enum { OPT_JSON = 256, OPT_MD, OPT_QUICK, OPT_CPUS, OPT_RUNS,
	       OPT_ITERS, OPT_SERVE, OPT_VERSION };
	static const struct option lopts[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "markdown", no_argument, NULL, OPT_MD },
		{ "quick", no_argument, NULL, OPT_QUICK },
		{ "cpus", required_argument, NULL, OPT_CPUS },
		{ "runs", required_argument, NULL, OPT_RUNS },
		{ "iterations", required_argument, NULL, OPT_ITERS },
		{ "serve", optional_argument, NULL, OPT_SERVE },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ 0 },
	};
	struct bench_opts o = { .runs = 5, .lat_iters = 10000 };
	bool json = false, md = false, quick = false;
	bool want1 = true, want2 = true, iters_set = false, runs_set = false;
	unsigned long v;
	int c;

	while ((c = getopt_long(argc, argv, "vh", lopts, NULL)) != -1) {
		switch (c) {
		case OPT_JSON: json = true; break;
		case OPT_MD: md = true; break;
		case OPT_QUICK: quick = true; break;
		case OPT_CPUS:
			want1 = !strcmp(optarg, "1") || !strcmp(optarg, "both");
			want2 = !strcmp(optarg, "2") || !strcmp(optarg, "both");
			if (!want1 && !want2) {
				fprintf(stderr, "uvfio-bench: --cpus takes 1, 2 or both\n");
				return 2;
			}
			break;
		case OPT_RUNS:
			if (parse_uint(optarg, "--runs", 1000, &v) < 0)
				return 2;
			o.runs = (unsigned)v;
			runs_set = true;
			break;
		case OPT_ITERS:
			if (parse_uint(optarg, "--iterations", 10000000, &v) < 0)
				return 2;
			o.lat_iters = v;
			iters_set = true;
			break;
		case OPT_SERVE:
			o.serve_path = optarg ? optarg : default_serve();
			break;
		case 'v': o.verbose = true; break;
		case 'h': usage(stdout); return 0;
		case OPT_VERSION:
			printf("uvfio-bench %s\n", UVFIO_VERSION_STRING);
			return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "uvfio-bench: unexpected argument '%s'\n",
			argv[optind]);
		usage(stderr);
		return 2;
	}
	if (json && md) {
		fprintf(stderr, "uvfio-bench: --json and --markdown exclude each other\n");
		return 2;
	}
	if (quick) {
		if (!runs_set)
			o.runs = 2;
		if (!iters_set)
			o.lat_iters = 600;
	}
	o.bw_iters = o.lat_iters / 50 ? o.lat_iters / 50 : 1;
	o.warmup = o.lat_iters / 10 ? o.lat_iters / 10 : 1;
	if (o.serve_path && access(o.serve_path, X_OK) < 0 &&
	    strchr(o.serve_path, '/')) {
		fprintf(stderr, "uvfio-bench: cannot execute %s: %s\n",
			o.serve_path, strerror(errno));
		return 2;
	}
	/* A peer that dies must show up as an error, not kill us. */
	signal(SIGPIPE, SIG_IGN);

	int cpu0, cpu1;
	int r = pick_cpus(&cpu0, &cpu1);
	if (r < 0) {
		fprintf(stderr, "uvfio-bench: no CPU to run on: %s\n",
			strerror(-r));
		return 1;
	}
	struct placement pl[2] = {
		{ .name = "1cpu", .client_cpu = cpu0, .server_cpu = cpu0 },
		{ .name = "2cpu", .client_cpu = cpu0, .server_cpu = cpu1 },
	};
	struct machine m;
	bench_machine(&m);

	int status = 0;
	if (want1 && run_placement(&o, &pl[0]) < 0)
		status = 1;
	if (want2 && cpu1 < 0)
		fprintf(stderr, "uvfio-bench: one CPU available: two-CPU placement skipped\n");
	else if (want2 && run_placement(&o, &pl[1]) < 0)
		status = 1;

	bench_machine_end(&m);
	if (json) {
		char *s = report_json(&m, &o, pl, 2);
		if (!s) {
			fprintf(stderr, "uvfio-bench: out of memory\n");
			return 1;
		}
		printf("%s\n", s);
		free(s);
	} else if (md) {
		report_markdown(&m, pl, 2);
	} else {
		report_text(&m, pl, 2);
	}
	return status;
}
