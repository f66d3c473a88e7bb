/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench-smoke: run `uvfio-bench --quick --json` and check that it exits
 * cleanly, that its output is valid JSON of the documented shape, and
 * that the numbers are sane (positive, finite, p99 >= median, each
 * figure's ratio its median over its baseline's, a mapped read faster
 * than a message round trip), and that the "1cpu" placement was
 * measured, and "2cpu" too when there are two CPUs to run on.  Not a
 * performance gate.
 */
#include <errno.h>
#include <sched.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

static const char *const baselines[] = {
	"raw_pingpong_32", "raw_eventfd_pingpong", "memcpy_1m",
	"raw_xfer_1m", "raw_stream_36", "raw_pingpong_plus_eventfd_hop",
	"raw_peer_copy_1m", "raw_eventfd_stream",
};

static const char *const figures[] = {
	"region_read_4", "region_write_4", "region_write_posted_4",
	"region_read_1m", "region_write_1m", "mmap_read_4",
	"dma_read_1m_mapped", "dma_write_1m_mapped", "dma_read_1m_messages",
	"dma_write_1m_messages", "doorbell_irq", "doorbell_irq_nonposted",
	"ioeventfd_doorbell_writes", "ioeventfd_doorbell_irq",
};

static int failures;

static void fail(const char *where, const char *what)
{
	fprintf(stderr, "bench-smoke: %s: %s\n", where, what);
	failures++;
}

static json_object *member(json_object *o, const char *key, json_type t,
			   const char *where)
{
	json_object *v = NULL;

	if (!o || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, t)) {
		char buf[160];
		snprintf(buf, sizeof(buf), "missing or mistyped \"%s\"", key);
		fail(where, buf);
		return NULL;
	}
	return v;
}

static double number(json_object *o, const char *key, const char *where)
{
	json_object *v = NULL;

	if (!o || !json_object_object_get_ex(o, key, &v) ||
	    !(json_object_is_type(v, json_type_double) ||
	      json_object_is_type(v, json_type_int))) {
		char buf[160];
		snprintf(buf, sizeof(buf), "\"%s\" is not a number", key);
		fail(where, buf);
		return NAN;
	}
	return json_object_get_double(v);
}

/* A measured value: finite, positive, p99 not below the median. */
static double check_meas(json_object *set, const char *key, bool figure,
			 json_object *bases)
{
	json_object *m = member(set, key, json_type_object, key);
	if (!m)
		return NAN;
	if (json_object_object_get_ex(m, "error", NULL)) {
		fail(key, "not measured (error)");
		return NAN;
	}
	double med = number(m, "median", key);
	if (!(isfinite(med) && med > 0))
		fail(key, "median is not a positive number");
	json_object *u = member(m, "unit", json_type_string, key);
	if (u && !strcmp(json_object_get_string(u), "us")) {
		double p99 = number(m, "p99", key);
		if (!(p99 >= med))
			fail(key, "p99 below the median");
		if (!(med < 1e6))
			fail(key, "a latency above one second");
	}
	if (figure) {
		double ratio = number(m, "ratio", key);
		if (!(isfinite(ratio) && ratio > 0))
			fail(key, "ratio is not a positive number");
		json_object *b = member(m, "baseline", json_type_string, key);
		json_object *bm = NULL;
		if (b && !json_object_object_get_ex(bases,
						     json_object_get_string(b),
						     &bm))
			fail(key, "its baseline is not reported");
		/* The ratio is the figure's median over the baseline's (both
		 * in the units reported), up to the rounding of the output. */
		double bmed = bm ? number(bm, "median", key) : NAN;
		double want = med / bmed;
		if (isfinite(ratio) && isfinite(want) &&
		    !(fabs(ratio - want) <= 1e-6 * fabs(want))) {
			char buf[160];
			snprintf(buf, sizeof(buf), "ratio %g is not median/baseline "
				 "median = %g / %g = %g", ratio, med, bmed, want);
			fail(key, buf);
		}
		if (json_object_object_get_ex(m, "target", NULL))
			member(m, "met", json_type_boolean, key);
	}
	return med;
}

static void check_placement(json_object *p)
{
	json_object *name = member(p, "name", json_type_string, "placement");
	const char *where = name ? json_object_get_string(name) : "placement";
	json_object *done = member(p, "measured", json_type_boolean, where);

	if (!done || !json_object_get_boolean(done))
		return;
	json_object *bases = member(p, "baselines", json_type_object, where);
	json_object *figs = member(p, "figures", json_type_object, where);
	if (!bases || !figs)
		return;
	for (size_t i = 0; i < sizeof(baselines) / sizeof(*baselines); i++)
		check_meas(bases, baselines[i], false, bases);
	double mm = NAN, rd = NAN;
	for (size_t i = 0; i < sizeof(figures) / sizeof(*figures); i++) {
		double v = check_meas(figs, figures[i], true, bases);
		if (!strcmp(figures[i], "mmap_read_4"))
			mm = v;
		else if (!strcmp(figures[i], "region_read_4"))
			rd = v;
	}
	/* Both in us: a load through the mapping beats a message round trip. */
	if (!(mm < rd))
		fail(where, "a mapped read is not faster than REGION_READ");
}

/* Run @argv, collecting its stdout; returns the exit status or -1. */
static int run(char *const argv[], char **out)
{
	int pfd[2];

	if (pipe(pfd) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		close(pfd[1]);
		execv(argv[0], argv);
		perror("bench-smoke: exec");
		_exit(127);
	}
	close(pfd[1]);
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap);
	for (;;) {
		if (!buf)
			break;
		if (len + 1 >= cap) {
			char *n = realloc(buf, cap *= 2);
			if (!n) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = n;
		}
		ssize_t n = read(pfd[0], buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(pfd[0]);
	if (buf)
		buf[len] = 0;
	*out = buf;
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: bench-smoke PATH-TO-uvfio-bench\n");
		return 2;
	}
	char *args[] = { argv[1], "--quick", "--json", NULL };
	char *out = NULL;
	int st = run(args, &out);
	if (st != 0)
		fail("uvfio-bench", "did not exit with status 0");
	if (!out) {
		fail("uvfio-bench", "no output");
		return 1;
	}
	enum json_tokener_error jerr;
	json_object *root = json_tokener_parse_verbose(out, &jerr);
	if (!root) {
		fail("output", json_tokener_error_desc(jerr));
		fprintf(stderr, "%s\n", out);
		free(out);
		return 1;
	}
	json_object *tool = member(root, "tool", json_type_string, "output");
	if (tool && strcmp(json_object_get_string(tool), "uvfio-bench"))
		fail("output", "\"tool\" is not uvfio-bench");
	json_object *mach = member(root, "machine", json_type_object, "output");
	member(mach, "cpu", json_type_string, "machine");
	member(mach, "kernel", json_type_string, "machine");
	if (!(number(mach, "nproc", "machine") >= 1))
		fail("machine", "nproc below 1");
	json_object *pls = member(root, "placements", json_type_array, "output");
	size_t measured = 0;
	bool one = false, two = false;
	for (size_t i = 0; pls && i < json_object_array_length(pls); i++) {
		json_object *p = json_object_array_get_idx(pls, i);
		json_object *d = NULL, *name = NULL;
		if (json_object_object_get_ex(p, "measured", &d) &&
		    json_object_get_boolean(d)) {
			measured++;
			if (json_object_object_get_ex(p, "name", &name)) {
				const char *n = json_object_get_string(name);
				one |= !strcmp(n, "1cpu");
				two |= !strcmp(n, "2cpu");
			}
		}
		check_placement(p);
	}
	if (!measured)
		fail("output", "no placement was measured");
	if (!one)
		fail("output", "the 1cpu placement was not measured");
	/* Two CPUs online, and two we (and so uvfio-bench) may run on. */
	cpu_set_t set;
	int usable = sched_getaffinity(0, sizeof(set), &set) == 0 ?
		     CPU_COUNT(&set) : 1;
	if (number(mach, "nproc", "machine") >= 2 && usable >= 2 && !two)
		fail("output", "two CPUs, but the 2cpu placement was not measured");
	json_object_put(root);
	if (failures)
		fprintf(stderr, "%s\n", out);
	free(out);
	if (failures)
		return 1;
	printf("bench-smoke: ok (%zu placements)\n", measured);
	return 0;
}
