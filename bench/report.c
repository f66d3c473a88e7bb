/* SPDX-License-Identifier: BSD-3-Clause */
/* uvfio-bench: what each figure is, and the text, Markdown and JSON reports. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <json-c/json.h>
#include <uvfio/uvfio.h>

#include "bench.h"

#define MIB ((double)BENCH_MIB)

/* A baseline: compared with nothing. */
#define BASE(k, l, kd, b, n) \
	{ .key = k, .label = l, .kind = kd, .bytes = b, .base = -1, .note = n }

const struct fig_desc bench_base_desc[BASE_COUNT] = {
	[BASE_PINGPONG] = BASE("raw_pingpong_32", "raw AF_UNIX ping-pong, 32 B",
			       FIG_LATENCY, 0,
			       "write 32 B, the peer reads and writes it back"),
	[BASE_EVENTFD] = BASE("raw_eventfd_pingpong", "raw eventfd ping-pong",
			      FIG_LATENCY, 0,
			      "write eventfd A, the peer reads A and writes eventfd B"),
	[BASE_MEMCPY] = BASE("memcpy_1m", "memcpy 1 MiB", FIG_BANDWIDTH, MIB,
			     "back to back, warm buffers, on the server's CPU"),
	[BASE_XFER] = BASE("raw_xfer_1m", "raw AF_UNIX 1 MiB transfer",
			   FIG_BANDWIDTH, MIB,
			   "32 B request, the peer writes 1 MiB back"),
	[BASE_STREAM] = BASE("raw_stream_36", "raw AF_UNIX 36 B one-way stream",
			     FIG_RATE, 0,
			     "the peer reads one message per read(); 64 a batch"),
	[BASE_DOORBELL] = BASE("raw_pingpong_plus_eventfd_hop",
			       "raw ping-pong + eventfd hop", FIG_LATENCY, 0,
			       "the ping-pong plus half the eventfd ping-pong"),
	[BASE_PEERCOPY] = BASE("raw_peer_copy_1m",
			       "raw peer copy 1 MiB, on request", FIG_BANDWIDTH,
			       MIB,
			       "a peer on the server's CPU copies 1 MiB of shared memory into a buffer like testdev's per request, timed there"),
	[BASE_EFD_STREAM] = BASE("raw_eventfd_stream", "raw eventfd one-way writes",
				 FIG_RATE, 0,
				 "64 eventfd writes, the peer blocked in read() acks the batch"),
};

const struct fig_desc bench_fig_desc[FIG_COUNT] = {
	[FIG_READ4] = {
		.key = "region_read_4", .label = "REGION_READ 4 B",
		.kind = FIG_LATENCY, .base = BASE_PINGPONG,
		.target = TARGET_AT_MOST, .target_ratio = 1.2,
		.note = "uvfio_region_read32 of a BAR0 register",
	},
	[FIG_WRITE4] = {
		.key = "region_write_4", .label = "REGION_WRITE 4 B (non-posted)",
		.kind = FIG_LATENCY, .base = BASE_PINGPONG,
		.note = "uvfio_region_write32 of a BAR0 register",
	},
	[FIG_POSTED4] = {
		.key = "region_write_posted_4", .label = "posted REGION_WRITE 4 B",
		.kind = FIG_RATE, .base = BASE_STREAM,
		.note = "64 posted writes, then one read as a fence",
	},
	[FIG_READ1M] = {
		.key = "region_read_1m", .label = "REGION_READ 1 MiB",
		.kind = FIG_BANDWIDTH, .bytes = MIB, .base = BASE_XFER,
		.target = TARGET_AT_LEAST, .target_ratio = 0.7,
		.note = "uvfio_region_read of BAR2 memory, one message",
	},
	[FIG_WRITE1M] = {
		.key = "region_write_1m", .label = "REGION_WRITE 1 MiB",
		.kind = FIG_BANDWIDTH, .bytes = MIB, .base = BASE_XFER,
		.note = "uvfio_region_write of BAR2 memory, one message",
	},
	[FIG_MMAP4] = {
		.key = "mmap_read_4", .label = "mmapped BAR read 4 B",
		.kind = FIG_LATENCY, .base = BASE_PINGPONG,
		.note = "uvfio_region_read32 through BAR4's mapping (an mmap area)",
	},
	[FIG_DMA_RD_MAP] = {
		.key = "dma_read_1m_mapped",
		.label = "device DMA read 1 MiB, mapped window",
		.kind = FIG_BANDWIDTH, .bytes = MIB, .base = BASE_MEMCPY,
		.target = TARGET_AT_LEAST, .target_ratio = 0.9,
		.note = "the device's time for a DMA_CMD write (non-posted); memfd window",
		.vs_peer_copy = true,
	},
	[FIG_DMA_WR_MAP] = {
		.key = "dma_write_1m_mapped",
		.label = "device DMA write 1 MiB, mapped window",
		.kind = FIG_BANDWIDTH, .bytes = MIB, .base = BASE_MEMCPY,
		.target = TARGET_AT_LEAST, .target_ratio = 0.9,
		.note = "the device's time for a DMA_CMD write (non-posted); memfd window",
		.vs_peer_copy = true,
	},
	[FIG_DMA_RD_MSG] = {
		.key = "dma_read_1m_messages",
		.label = "device DMA read 1 MiB, DMA_READ messages",
		.kind = FIG_BANDWIDTH, .bytes = MIB, .base = BASE_XFER,
		.note = "UVFIO_DMA_NO_FD window, served by the client's DMA thread",
	},
	[FIG_DMA_WR_MSG] = {
		.key = "dma_write_1m_messages",
		.label = "device DMA write 1 MiB, DMA_WRITE messages",
		.kind = FIG_BANDWIDTH, .bytes = MIB, .base = BASE_XFER,
		.note = "UVFIO_DMA_NO_FD window, served by the client's DMA thread",
	},
	[FIG_DOORBELL] = {
		.key = "doorbell_irq", .label = "doorbell -> interrupt (posted)",
		.kind = FIG_LATENCY, .base = BASE_DOORBELL,
		.target = TARGET_AT_MOST, .target_ratio = 1.2,
		.note = "posted write of TESTDEV_REG_IRQ, then read the MSI eventfd",
	},
	[FIG_DOORBELL_NP] = {
		.key = "doorbell_irq_nonposted",
		.label = "doorbell -> interrupt (non-posted)",
		.kind = FIG_LATENCY, .base = BASE_DOORBELL,
		.note = "uvfio_region_write32 of TESTDEV_REG_IRQ, then read the MSI eventfd",
	},
	[FIG_IOEV_WRITES] = {
		.key = "ioeventfd_doorbell_writes",
		.label = "ioeventfd doorbell writes",
		.kind = FIG_RATE, .base = BASE_EFD_STREAM,
		.vs_posted = true, .target_vs_alt = true,
		.target = TARGET_AT_LEAST, .target_ratio = 5.0,
		.note = "64 writes of the device's BUMP doorbell eventfd, then read COUNT until the device has seen them; target against posted REGION_WRITE",
	},
	[FIG_IOEV_IRQ] = {
		.key = "ioeventfd_doorbell_irq",
		.label = "ioeventfd doorbell -> interrupt",
		.kind = FIG_LATENCY, .base = BASE_EVENTFD,
		.target = TARGET_AT_MOST, .target_ratio = 1.2,
		.note = "write the device's IRQ doorbell eventfd, then read the MSI eventfd",
	},
};

static double loadavg(void);

void bench_machine(struct machine *m)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->cpu, sizeof(m->cpu), "unknown");
	FILE *f = fopen("/proc/cpuinfo", "re");
	char line[512];
	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "model name", 10))
			continue;
		char *p = strchr(line, ':');
		if (!p)
			continue;
		p += 1 + strspn(p + 1, " \t");
		p[strcspn(p, "\n")] = 0;
		snprintf(m->cpu, sizeof(m->cpu), "%s", p);
		break;
	}
	if (f)
		fclose(f);
	m->nproc = sysconf(_SC_NPROCESSORS_ONLN);
	/* Others' load moves the figures: say how busy the machine was. */
	m->load_start = loadavg();
	m->load_end = -1;
	struct utsname u;
	if (uname(&u) == 0)
		snprintf(m->kernel, sizeof(m->kernel), "%s %s %s", u.sysname,
			 u.release, u.machine);
}

double report_value(const struct fig_desc *d, double ns)
{
	if (ns <= 0)
		return 0;
	switch (d->kind) {
	case FIG_LATENCY: return ns / 1000.0;          /* us */
	case FIG_BANDWIDTH: return d->bytes / ns;      /* GB/s */
	case FIG_RATE: return 1000.0 / ns;             /* Mops/s */
	}
	return 0;
}

static const char *unit(const struct fig_desc *d)
{
	switch (d->kind) {
	case FIG_LATENCY: return "us";
	case FIG_BANDWIDTH: return "GB/s";
	case FIG_RATE: return "Mops/s";
	}
	return "";
}

/* Figure over baseline, both in display units. */
double report_ratio(const struct fig_desc *d, const struct meas *f,
		    const struct meas *base)
{
	if (d->base < 0 || f->err || base->err || f->med <= 0 || base->med <= 0)
		return NAN;
	const struct fig_desc *bd = &bench_base_desc[d->base];
	return report_value(d, f->med) / report_value(bd, base->med);
}

/*
 * The figure's second comparison, where it has one: against the raw peer
 * copy, or against posted REGION_WRITE (both in display units); else NaN.
 */
static double alt_ratio(const struct fig_desc *d, const struct placement *pl,
			unsigned f)
{
	const struct meas *b;
	const struct fig_desc *bd;

	if (d->vs_peer_copy) {
		b = &pl->base[BASE_PEERCOPY];
		bd = &bench_base_desc[BASE_PEERCOPY];
	} else if (d->vs_posted) {
		b = &pl->fig[FIG_POSTED4];
		bd = &bench_fig_desc[FIG_POSTED4];
	} else {
		return NAN;
	}
	if (pl->fig[f].err || b->err || b->med <= 0 || pl->fig[f].med <= 0)
		return NAN;
	return report_value(d, pl->fig[f].med) / report_value(bd, b->med);
}

static const char *alt_label(const struct fig_desc *d)
{
	return d->vs_posted ? "posted REGION_WRITE" : "raw peer copy";
}

static const char *alt_key(const struct fig_desc *d)
{
	return d->vs_posted ? "ratio_vs_posted_region_write" :
	       "ratio_vs_raw_peer_copy";
}

/* 1 met, 0 missed, -1 no target or not measured. */
static int target_met(const struct fig_desc *d, double ratio)
{
	if (d->target == TARGET_NONE || isnan(ratio))
		return -1;
	if (d->target == TARGET_AT_MOST)
		return ratio <= d->target_ratio;
	return ratio >= d->target_ratio;
}

static void fmt_target(const struct fig_desc *d, char *buf, size_t len)
{
	if (d->target == TARGET_NONE)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%s %.1fx",
			 d->target == TARGET_AT_MOST ? "<=" : ">=",
			 d->target_ratio);
}

/* A value with as many digits as make sense for it. */
static void fmt_value(double v, char *buf, size_t len)
{
	if (v >= 100)
		snprintf(buf, len, "%.0f", v);
	else if (v >= 10)
		snprintf(buf, len, "%.1f", v);
	else if (v >= 1)
		snprintf(buf, len, "%.2f", v);
	else
		snprintf(buf, len, "%.3f", v);
}

static void fmt_meas(const struct fig_desc *d, const struct meas *m,
		     char *med, char *p99, size_t len)
{
	if (m->err) {
		snprintf(med, len, "error %d", m->err);
		snprintf(p99, len, "-");
		return;
	}
	char v[32];
	fmt_value(report_value(d, m->med), v, sizeof(v));
	snprintf(med, len, "%s %s", v, unit(d));
	if (d->kind == FIG_LATENCY) {
		fmt_value(report_value(d, m->p99), v, sizeof(v));
		snprintf(p99, len, "%s %s", v, unit(d));
	} else {
		snprintf(p99, len, "-");
	}
}

static double loadavg(void)
{
	double v = -1;
	FILE *f = fopen("/proc/loadavg", "re");

	if (!f || fscanf(f, "%lf", &v) != 1)
		v = -1;
	if (f)
		fclose(f);
	return v;
}

void bench_machine_end(struct machine *m)
{
	m->load_end = loadavg();
}

static void print_machine(const struct machine *m, const char *prefix)
{
	printf("%sMachine: %s, %ld CPUs online, %s\n", prefix, m->cpu, m->nproc,
	       m->kernel);
	printf("%sLoad average (1 min) before/after: %.2f / %.2f\n", prefix,
	       m->load_start, m->load_end);
}

void report_text(const struct machine *m, const struct placement *p,
		 unsigned np)
{
	print_machine(m, "");
	for (unsigned i = 0; i < np; i++) {
		const struct placement *pl = &p[i];
		char med[48], p99[48], tgt[16];

		printf("\n== %s: client on CPU %d, server on CPU %d ==\n",
		       pl->name, pl->client_cpu, pl->server_cpu);
		if (!pl->done) {
			printf("skipped\n");
			continue;
		}
		printf("%-44s %14s %14s\n", "baseline", "median", "p99");
		for (unsigned b = 0; b < BASE_COUNT; b++) {
			fmt_meas(&bench_base_desc[b], &pl->base[b], med, p99,
				 sizeof(med));
			printf("%-44s %14s %14s\n", bench_base_desc[b].label, med,
			       p99);
		}
		printf("\n%-44s %14s %14s %7s %7s %s\n", "figure", "median",
		       "p99", "ratio", "target", "result");
		for (unsigned f = 0; f < FIG_COUNT; f++) {
			const struct fig_desc *d = &bench_fig_desc[f];
			double ratio = report_ratio(d, &pl->fig[f],
						    &pl->base[d->base]);
			double alt = alt_ratio(d, pl, f);
			int met = target_met(d, d->target_vs_alt ? alt : ratio);

			fmt_meas(d, &pl->fig[f], med, p99, sizeof(med));
			fmt_target(d, tgt, sizeof(tgt));
			printf("%-44s %14s %14s %6.3fx %7s %s", d->label, med,
			       p99, ratio, d->target_vs_alt ? "" : tgt,
			       met < 0 || d->target_vs_alt ? "" :
			       met ? "met" : "MISSED");
			if (!isnan(alt))
				printf(" (%.3fx %s%s%s%s)", alt, alt_label(d),
				       d->target_vs_alt ? ", target " : "",
				       d->target_vs_alt ? tgt : "",
				       !d->target_vs_alt || met < 0 ? "" :
				       met ? ": met" : ": MISSED");
			printf("\n");
		}
		printf("(ratios against: ");
		for (unsigned f = 0; f < FIG_COUNT; f++)
			if (f == 0 || bench_fig_desc[f].base !=
				      bench_fig_desc[f - 1].base)
				printf("%s%s", f ? "; " : "",
				       bench_base_desc[bench_fig_desc[f].base].label);
		printf(")\n");
	}
}

void report_markdown(const struct machine *m, const struct placement *p,
		     unsigned np)
{
	print_machine(m, "");
	for (unsigned i = 0; i < np; i++) {
		const struct placement *pl = &p[i];
		char med[48], p99[48], bmed[48], bp99[48], tgt[16];

		if (!pl->done)
			continue;
		printf("\n%s (client CPU %d, server CPU %d):\n\n", pl->name,
		       pl->client_cpu, pl->server_cpu);
		printf("| figure | median | p99 | baseline | baseline median | ratio | target | result | other |\n");
		printf("|---|---|---|---|---|---|---|---|---|\n");
		for (unsigned f = 0; f < FIG_COUNT; f++) {
			const struct fig_desc *d = &bench_fig_desc[f];
			const struct fig_desc *bd = &bench_base_desc[d->base];
			double ratio = report_ratio(d, &pl->fig[f],
						    &pl->base[d->base]);
			double alt = alt_ratio(d, pl, f);
			int met = target_met(d, d->target_vs_alt ? alt : ratio);

			fmt_meas(d, &pl->fig[f], med, p99, sizeof(med));
			fmt_meas(bd, &pl->base[d->base], bmed, bp99,
				 sizeof(bmed));
			fmt_target(d, tgt, sizeof(tgt));
			char other[96] = "";
			if (!isnan(alt))
				snprintf(other, sizeof(other), "%.3fx %s%s",
					 alt, alt_label(d),
					 d->target_vs_alt ? " (the target's ratio)" : "");
			printf("| %s | %s | %s | %s | %s | %.3fx | %s | %s | %s |\n",
			       d->label, med, p99, bd->label, bmed, ratio, tgt,
			       met < 0 ? "" : met ? "met" : "**missed**", other);
		}
	}
}

static json_object *meas_json(const struct fig_desc *d, const struct meas *m)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "label", json_object_new_string(d->label));
	json_object_object_add(o, "unit", json_object_new_string(unit(d)));
	json_object_object_add(o, "method", json_object_new_string(d->note));
	if (m->err) {
		json_object_object_add(o, "error", json_object_new_int(m->err));
		return o;
	}
	json_object_object_add(o, "median",
			       json_object_new_double(report_value(d, m->med)));
	if (d->kind == FIG_LATENCY)
		json_object_object_add(o, "p99",
				       json_object_new_double(report_value(d, m->p99)));
	json_object_object_add(o, "median_ns", json_object_new_double(m->med));
	json_object_object_add(o, "samples",
			       json_object_new_int64((int64_t)m->samples));
	if (m->subtracted > 0)
		json_object_object_add(o, "subtracted_ns",
				       json_object_new_double(m->subtracted));
	if (m->e2e > 0) {
		json_object_object_add(o, "timed_at",
				       json_object_new_string(m->at_device ?
							      "device" : "client"));
		json_object_object_add(o, "end_to_end_us",
				       json_object_new_double(m->e2e / 1000.0));
	}
	return o;
}

char *report_json(const struct machine *m, const struct bench_opts *o,
		  const struct placement *p, unsigned np)
{
	json_object *root = json_object_new_object();
	json_object *mach = json_object_new_object();
	json_object *pls = json_object_new_array();

	json_object_object_add(root, "tool", json_object_new_string("uvfio-bench"));
	json_object_object_add(root, "version",
			       json_object_new_string(UVFIO_VERSION_STRING));
	json_object_object_add(mach, "cpu", json_object_new_string(m->cpu));
	json_object_object_add(mach, "nproc", json_object_new_int64(m->nproc));
	json_object_object_add(mach, "kernel", json_object_new_string(m->kernel));
	json_object_object_add(mach, "loadavg_start",
			       json_object_new_double(m->load_start));
	json_object_object_add(mach, "loadavg_end",
			       json_object_new_double(m->load_end));
	json_object_object_add(root, "machine", mach);
	json_object_object_add(root, "runs", json_object_new_int((int)o->runs));
	json_object_object_add(root, "server",
			       json_object_new_string(o->serve_path ?
						      o->serve_path : "library (forked)"));
	for (unsigned i = 0; i < np; i++) {
		const struct placement *pl = &p[i];
		json_object *jp = json_object_new_object();

		json_object_object_add(jp, "name", json_object_new_string(pl->name));
		json_object_object_add(jp, "client_cpu",
				       json_object_new_int(pl->client_cpu));
		json_object_object_add(jp, "server_cpu",
				       json_object_new_int(pl->server_cpu));
		json_object_object_add(jp, "measured",
				       json_object_new_boolean(pl->done));
		if (!pl->done) {
			json_object_array_add(pls, jp);
			continue;
		}
		json_object *jb = json_object_new_object();
		for (unsigned b = 0; b < BASE_COUNT; b++)
			json_object_object_add(jb, bench_base_desc[b].key,
					       meas_json(&bench_base_desc[b],
							 &pl->base[b]));
		json_object_object_add(jp, "baselines", jb);
		json_object *jf = json_object_new_object();
		for (unsigned f = 0; f < FIG_COUNT; f++) {
			const struct fig_desc *d = &bench_fig_desc[f];
			json_object *x = meas_json(d, &pl->fig[f]);
			double ratio = report_ratio(d, &pl->fig[f],
						    &pl->base[d->base]);
			double alt = alt_ratio(d, pl, f);
			int met = target_met(d, d->target_vs_alt ? alt : ratio);

			json_object_object_add(x, "baseline",
					       json_object_new_string(bench_base_desc[d->base].key));
			if (!isnan(alt))
				json_object_object_add(x, alt_key(d),
						       json_object_new_double(alt));
			if (!isnan(ratio))
				json_object_object_add(x, "ratio",
						       json_object_new_double(ratio));
			if (d->target != TARGET_NONE) {
				json_object *t = json_object_new_object();
				json_object_object_add(t, "op",
						       json_object_new_string(d->target == TARGET_AT_MOST ? "<=" : ">="));
				json_object_object_add(t, "ratio",
						       json_object_new_double(d->target_ratio));
				json_object_object_add(t, "against",
						       json_object_new_string(d->target_vs_alt ?
									      bench_fig_desc[FIG_POSTED4].key :
									      bench_base_desc[d->base].key));
				json_object_object_add(x, "target", t);
				json_object_object_add(x, "met",
						       json_object_new_boolean(met == 1));
			}
			json_object_object_add(jf, d->key, x);
		}
		json_object_object_add(jp, "figures", jf);
		json_object_array_add(pls, jp);
	}
	json_object_object_add(root, "placements", pls);
	const char *s = json_object_to_json_string_ext(root,
						       JSON_C_TO_STRING_PRETTY |
						       JSON_C_TO_STRING_SPACED);
	char *out = s ? strdup(s) : NULL;
	json_object_put(root);
	return out;
}
