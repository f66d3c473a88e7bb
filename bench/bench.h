/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * uvfio-bench: shared declarations.  Every measurement yields samples in
 * nanoseconds per operation; figures are compared with baselines measured
 * in the same run, on the same CPU placement.
 */
#ifndef UVFIO_BENCH_BENCH_H
#define UVFIO_BENCH_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define BENCH_MIB        (1u << 20)
#define BENCH_SMALL_MSG  32u     /* a 4-byte REGION_READ request: hdr + rw */
#define BENCH_POSTED_MSG 36u     /* a 4-byte REGION_WRITE: hdr + rw + data */
#define BENCH_BATCH      64u     /* posted writes / stream messages per sample */
#define BENCH_MMIO_BATCH 256u    /* mapped loads per sample */
#define BENCH_WATCHDOG_S 120u    /* the longest one run of an item may take */

static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* How a figure reads: a time per operation, bytes per second, ops/s. */
enum fig_kind { FIG_LATENCY, FIG_BANDWIDTH, FIG_RATE };
/* Which way the ratio to the baseline must go to meet the target. */
enum fig_target { TARGET_NONE, TARGET_AT_MOST, TARGET_AT_LEAST };

/* One measured quantity, in ns per operation. */
struct meas {
	double med;              /* median of the run medians */
	double p99;              /* p99 over all samples */
	size_t samples;
	int err;                 /* 0, or -errno when it could not be measured */
	double subtracted;       /* ns taken off med: a register write round trip */
	bool at_device;          /* DMA: timed by the device, not the client */
	double e2e;              /* DMA: median ns from the write to its reply */
};

/* How much to measure. */
struct bench_opts {
	unsigned runs;           /* runs per figure; median of run medians */
	size_t lat_iters;        /* samples per run, small-message figures */
	size_t bw_iters;         /* samples per run, 1 MiB figures */
	size_t warmup;           /* samples thrown away before the runs */
	const char *serve_path;  /* exec this uvfio-serve; NULL: fork the library */
	bool verbose;
};

/* Fills @ns[0..n) with ns per operation; 0 or -errno. */
typedef int (*bench_fn)(void *ctx, double *ns, size_t n);

/* The samples of one quantity, run after run. */
struct series {
	double *all;             /* runs * iters samples */
	double *meds;            /* one median per run */
	double *tmp;             /* iters, for a run's median */
	size_t iters;
	unsigned runs, done;
};

/*
 * One measured quantity.  Runs of all items alternate (a baseline run,
 * then runs of the figures compared with it, ...), so that a burst of
 * load from elsewhere on the machine hits both sides of a ratio.
 */
struct bench_item {
	const char *name;
	bench_fn fn;             /* NULL: not measured (out->err says why) */
	void *ctx;
	size_t iters;
	int (*setup)(void *ctx);     /* before each run, not timed */
	void (*teardown)(void *ctx); /* after each run */
	struct meas *out;
	struct series s;
};

/* stats.c */
int series_init(struct series *s, size_t iters, unsigned runs);
int series_run(struct series *s, bench_fn fn, void *ctx);
void series_finish(struct series *s, struct meas *out);
/* Warm up every item, then o->runs rounds of one run of each. */
void bench_items_run(const struct bench_opts *o, struct bench_item **items,
		     unsigned n);
double bench_median(double *v, size_t n);
double bench_percentile(double *v, size_t n, double pct);
int bench_pin(pid_t pid, int cpu);
/* Fork a child pinned to @cpu running @fn(@arg); it _exits with its return. */
pid_t bench_fork(int cpu, int (*fn)(void *arg), void *arg);
int bench_reap(pid_t pid);
void bench_keep_fds(const int *keep, unsigned n);
int bench_read_full(int fd, void *buf, size_t len);
int bench_write_full(int fd, const void *buf, size_t len);

/* Baselines, measured between two processes (baseline.c). */
enum {
	BASE_PINGPONG,           /* 32-byte AF_UNIX round trip */
	BASE_EVENTFD,            /* eventfd round trip */
	BASE_MEMCPY,             /* 1 MiB memcpy */
	BASE_XFER,               /* 32-byte request, 1 MiB answer on AF_UNIX */
	BASE_STREAM,             /* one-way 36-byte messages, one read each */
	BASE_DOORBELL,           /* derived: ping-pong + one eventfd hop */
	BASE_PEERCOPY,           /* a peer's 1 MiB memcpy, done on request */
	BASE_EFD_STREAM,         /* one-way eventfd writes a peer reads, 64 a batch */
	BASE_COUNT
};

/*
 * The peers of the baselines, on @server_cpu; the memcpy runs there too,
 * where the device's DMA copies run.  items[BASE_*] measure into base[].
 */
struct baselines;
int baselines_start(struct baselines **out, const struct bench_opts *o,
		    int client_cpu, int server_cpu, struct meas base[BASE_COUNT],
		    struct bench_item items[BASE_COUNT]);
void baselines_stop(struct baselines *b);
/* The derived doorbell baseline, once the others are measured. */
void baselines_derive(struct meas base[BASE_COUNT]);

/* uvfio figures against a server on @server_cpu (device.c). */
enum {
	FIG_READ4,               /* REGION_READ 4 bytes, round trip */
	FIG_WRITE4,              /* REGION_WRITE 4 bytes, round trip */
	FIG_POSTED4,             /* posted REGION_WRITE 4 bytes */
	FIG_READ1M,              /* REGION_READ 1 MiB */
	FIG_WRITE1M,             /* REGION_WRITE 1 MiB */
	FIG_MMAP4,               /* 4-byte read of the mmapped BAR */
	FIG_DMA_RD_MAP,          /* device reads 1 MiB, shared window */
	FIG_DMA_WR_MAP,          /* device writes 1 MiB, shared window */
	FIG_DMA_RD_MSG,          /* device reads 1 MiB by DMA_READ messages */
	FIG_DMA_WR_MSG,          /* device writes 1 MiB by DMA_WRITE messages */
	FIG_DOORBELL,            /* posted doorbell write -> MSI eventfd */
	FIG_DOORBELL_NP,         /* non-posted doorbell write -> MSI eventfd */
	FIG_IOEV_WRITES,         /* device doorbell eventfd writes, 64 a batch */
	FIG_IOEV_IRQ,            /* device doorbell eventfd -> MSI eventfd */
	FIG_COUNT
};
/* A testdev server on @server_cpu, opened; items[FIG_*] measure into fig[]. */
struct bench_dev;
int bench_device_start(struct bench_dev **out, const struct bench_opts *o,
		       int client_cpu, int server_cpu, struct meas fig[FIG_COUNT],
		       struct bench_item items[FIG_COUNT]);
/* Finish what items measured (DMA end-to-end medians), close, reap. */
int bench_device_stop(struct bench_dev *d);

/* Static description of a baseline or a figure (report.c). */
struct fig_desc {
	const char *key;         /* JSON name */
	const char *label;       /* table label */
	enum fig_kind kind;
	double bytes;            /* bytes per operation (FIG_BANDWIDTH) */
	int base;                /* BASE_* it is compared with, -1 none */
	enum fig_target target;
	double target_ratio;
	const char *note;        /* how it is measured, one line */
	bool vs_peer_copy;       /* also shown against BASE_PEERCOPY */
	bool vs_posted;          /* also shown against FIG_POSTED4 */
	bool target_vs_alt;      /* the target is on that second ratio */
};
extern const struct fig_desc bench_base_desc[BASE_COUNT];
extern const struct fig_desc bench_fig_desc[FIG_COUNT];

/* One CPU placement's results. */
struct placement {
	const char *name;        /* "1cpu", "2cpu" */
	int client_cpu, server_cpu;
	bool done;
	struct meas base[BASE_COUNT];
	struct meas fig[FIG_COUNT];
};

struct machine {
	char cpu[128];
	long nproc;
	char kernel[400];
	double load_start, load_end;   /* 1-minute load average, -1 unknown */
};

void bench_machine(struct machine *m);
/* The load average once measuring is over. */
void bench_machine_end(struct machine *m);
void report_text(const struct machine *m, const struct placement *p,
		 unsigned np);
void report_markdown(const struct machine *m, const struct placement *p,
		     unsigned np);
/* JSON document; NULL on allocation failure.  Caller frees. */
char *report_json(const struct machine *m, const struct bench_opts *o,
		  const struct placement *p, unsigned np);
/* Figure value in its display unit (us, GB/s, Mops/s). */
double report_value(const struct fig_desc *d, double ns);
double report_ratio(const struct fig_desc *d, const struct meas *f,
		    const struct meas *base);

#endif
