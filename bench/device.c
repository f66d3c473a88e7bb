/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * uvfio-bench figures: the client library against a testdev server in
 * another process, over a socketpair.  The server is the library itself
 * in a forked child (default) or an exec'd uvfio-serve (--serve).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <uvfio/client.h>
#include <uvfio/device.h>
#include "device/dev.h"
#include "devices/models.h"

#include "bench.h"

#define BAR0 VFIO_PCI_BAR0_REGION_INDEX
#define BAR2 VFIO_PCI_BAR2_REGION_INDEX
#define BAR4 VFIO_PCI_BAR4_REGION_INDEX
#define MMAP_OFF 0x8100u   /* inside BAR4's second mmap area */
#define DMA_CMD_READ  1u   /* the device reads guest memory */
#define DMA_CMD_WRITE 2u   /* the device writes guest memory */
#define MSI_DOORBELL  ((uint32_t)VFIO_PCI_MSI_IRQ_INDEX << 16 | 0u)

/* ---- the server process ------------------------------------------- */

/*
 * How long the device itself took for each DMA command, written by the
 * server process into memory it shares with the bench.  Seen from the
 * client, a command also holds a register write round trip, whose noise
 * (tens of us across CPUs in a VM) would swamp a 30 us copy.
 */
struct dma_probe {
	uint64_t seq;                /* commands timed so far */
	uint64_t last_ns;            /* the last one */
};

struct server_arg {
	int fd;
	const char *serve_path;
	struct dma_probe *probe;
};

/* Server process only: testdev's BAR0 callbacks, wrapped to time DMA_CMD. */
static const struct uvfio_region_ops *g_bar0_ops;
static void *g_bar0_opaque;
static struct dma_probe *g_probe;

static ssize_t timed_read(void *opaque, uint64_t off, void *buf, size_t count)
{
	(void)opaque;
	return g_bar0_ops->read(g_bar0_opaque, off, buf, count);
}

static ssize_t timed_write(void *opaque, uint64_t off, const void *buf,
			   size_t count)
{
	(void)opaque;
	if (off != TESTDEV_REG_DMA_CMD || count != 4)
		return g_bar0_ops->write(g_bar0_opaque, off, buf, count);
	uint64_t t0 = bench_now_ns();
	ssize_t n = g_bar0_ops->write(g_bar0_opaque, off, buf, count);
	__atomic_store_n(&g_probe->last_ns, bench_now_ns() - t0, __ATOMIC_RELAXED);
	__atomic_store_n(&g_probe->seq, g_probe->seq + 1, __ATOMIC_RELEASE);
	return n;
}

static const struct uvfio_region_ops timed_ops = {
	.read = timed_read,
	.write = timed_write,
};

/* The bench links the static library: the region table is reachable. */
static void probe_dma(struct uvfio_dev *dev, struct dma_probe *probe)
{
	struct dev_region *r = dev_region(dev, VFIO_PCI_BAR0_REGION_INDEX);

	if (!probe || !r || !r->ops || !r->ops->read || !r->ops->write)
		return;
	g_bar0_ops = r->ops;
	g_bar0_opaque = r->opaque;
	g_probe = probe;
	r->ops = &timed_ops;
}

static int server_main(void *arg)
{
	struct server_arg *a = arg;

	/* Else the client's close would never reach the server as EOF. */
	bench_keep_fds(&a->fd, 1);
	if (a->serve_path) {
		/* uvfio-serve serves an inherited connected fd, then exits. */
		if (a->fd != 3) {
			if (dup2(a->fd, 3) < 0)
				return -errno;
		} else if (fcntl(3, F_SETFD, 0) < 0) {
			return -errno;
		}
		execlp(a->serve_path, "uvfio-serve", "testdev", "--fd=3",
		       (char *)NULL);
		fprintf(stderr, "uvfio-bench: cannot run %s: %s\n",
			a->serve_path, strerror(errno));
		return -errno;
	}
	void *state = NULL;
	struct uvfio_dev *dev = uvfio_model_testdev.create(&state);
	if (!dev)
		return -ENOMEM;
	probe_dma(dev, a->probe);
	struct uvfio_server *srv = uvfio_server_new(dev, NULL);
	int r = srv ? uvfio_server_adopt_fd(srv, a->fd) : -ENOMEM;
	if (!r)
		r = uvfio_server_run(srv);   /* returns when the client leaves */
	uvfio_server_free(srv);
	uvfio_model_testdev.destroy(state);
	return r;
}

/* ---- what every measurement shares -------------------------------- */

struct dctx {
	struct uvfio_device *dev;
	uint8_t *big;                /* 1 MiB of client memory */
	int efd;                     /* MSI vector 0 */
	int bump_bell, irq_bell;     /* testdev's doorbell eventfds, or -1 */
	uint32_t seq;
	struct dma_probe *probe;     /* NULL: uvfio-serve, not timed there */
};

/* One DMA figure: a window, a direction. */
struct dma_item {
	struct dctx *c;
	struct uvfio_dma_buf *w;
	uint32_t cmd;
	double *e2e;                 /* the samples seen from the client */
	size_t ne2e, e2e_cap;
	bool client_timed;           /* some sample lacked the device's time */
	bool by_messages;            /* fd-less window: the write only starts it */
	struct meas *m;
};

static int run_read4(void *ctx, double *ns, size_t n)
{
	struct dctx *c = ctx;

	for (size_t i = 0; i < n; i++) {
		uint32_t v = 0;
		uint64_t t0 = bench_now_ns();
		int r = uvfio_region_read32(c->dev, BAR0, TESTDEV_REG_ID, &v);
		ns[i] = (double)(bench_now_ns() - t0);
		if (r < 0)
			return r;
		if (v != TESTDEV_ID_VALUE)
			return -EIO;
	}
	return 0;
}

static int run_write4(void *ctx, double *ns, size_t n)
{
	struct dctx *c = ctx;

	for (size_t i = 0; i < n; i++) {
		uint64_t t0 = bench_now_ns();
		int r = uvfio_region_write32(c->dev, BAR0, TESTDEV_REG_SCRATCH,
					     ++c->seq);
		ns[i] = (double)(bench_now_ns() - t0);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * A batch of posted writes, then one read: the read is ordered behind
 * them, so when it returns the device has taken every write.
 */
static int run_posted4(void *ctx, double *ns, size_t n)
{
	struct dctx *c = ctx;

	for (size_t i = 0; i < n; i++) {
		uint64_t t0 = bench_now_ns();
		for (unsigned j = 0; j < BENCH_BATCH; j++) {
			uint32_t v = ++c->seq;
			int r = uvfio_region_write_posted(c->dev, BAR0,
							  TESTDEV_REG_SCRATCH,
							  &v, sizeof(v));
			if (r < 0)
				return r;
		}
		uint32_t back = 0;
		int r = uvfio_region_read32(c->dev, BAR0, TESTDEV_REG_SCRATCH,
					    &back);
		ns[i] = (double)(bench_now_ns() - t0) / BENCH_BATCH;
		if (r < 0)
			return r;
		if (back != c->seq)
			return -EIO;
	}
	return 0;
}

static int run_read1m(void *ctx, double *ns, size_t n)
{
	struct dctx *c = ctx;

	for (size_t i = 0; i < n; i++) {
		uint64_t t0 = bench_now_ns();
		ssize_t r = uvfio_region_read(c->dev, BAR2, 0, c->big, BENCH_MIB);
		ns[i] = (double)(bench_now_ns() - t0);
		if (r < 0)
			return (int)r;
	}
	return 0;
}

static int run_write1m(void *ctx, double *ns, size_t n)
{
	struct dctx *c = ctx;

	for (size_t i = 0; i < n; i++) {
		uint64_t t0 = bench_now_ns();
		ssize_t r = uvfio_region_write(c->dev, BAR2, 0, c->big,
					       BENCH_MIB);
		ns[i] = (double)(bench_now_ns() - t0);
		if (r < 0)
			return (int)r;
	}
	return 0;
}

/*
 * A non-posted DMA_CMD write returns when the DMA is done: testdev copies
 * a mapped window inside the write, and for an fd-less one starts an
 * ordered asynchronous DMA whose completion releases the write's reply.
 * A sample is the device's own time when the probe has it (mapped: the
 * write callback is the whole DMA); else, and always for messages (the
 * callback only starts them), the client's, whose register write round
 * trip is taken off afterwards (uvfio-bench.c).
 */
static int run_dma(void *ctx, double *ns, size_t n)
{
	struct dma_item *d = ctx;
	struct dctx *c = d->c;

	for (size_t i = 0; i < n; i++) {
		uint64_t seq = c->probe ? __atomic_load_n(&c->probe->seq,
							  __ATOMIC_ACQUIRE) : 0;
		uint64_t t0 = bench_now_ns();
		int r = uvfio_region_write32(c->dev, BAR0, TESTDEV_REG_DMA_CMD,
					     d->cmd);
		double e2e = (double)(bench_now_ns() - t0);
		if (r < 0)
			return r;
		if (c->probe && !d->by_messages &&
		    __atomic_load_n(&c->probe->seq,
						__ATOMIC_ACQUIRE) == seq + 1) {
			ns[i] = (double)__atomic_load_n(&c->probe->last_ns,
							__ATOMIC_RELAXED);
		} else {
			ns[i] = e2e;
			d->client_timed = true;
		}
		if (d->ne2e < d->e2e_cap)
			d->e2e[d->ne2e++] = e2e;
	}
	uint32_t st = 0;
	int r = uvfio_region_read32(c->dev, BAR0, TESTDEV_REG_DMA_STATUS, &st);
	if (r < 0)
		return r;
	return st ? -(int)st : 0;
}

/* Point the device at this item's window (not timed). */
static int setup_dma(void *ctx)
{
	struct dma_item *d = ctx;

	return uvfio_region_write64(d->c->dev, BAR0, TESTDEV_REG_DMA_ADDR,
				    d->w->iova);
}

static int wait_irq(int efd)
{
	uint64_t v;
	ssize_t n;

	do {
		n = read(efd, &v, sizeof(v));
	} while (n < 0 && errno == EINTR);
	return n == sizeof(v) ? 0 : -EIO;
}

/* Doorbell as a driver rings it: a posted MMIO write, then the MSI. */
static int run_doorbell(void *ctx, double *ns, size_t n)
{
	struct dctx *c = ctx;
	uint32_t v = MSI_DOORBELL;

	for (size_t i = 0; i < n; i++) {
		uint64_t t0 = bench_now_ns();
		int r = uvfio_region_write_posted(c->dev, BAR0, TESTDEV_REG_IRQ,
						  &v, sizeof(v));
		if (!r)
			r = wait_irq(c->efd);
		ns[i] = (double)(bench_now_ns() - t0);
		if (r < 0)
			return r;
	}
	return 0;
}

static int run_doorbell_np(void *ctx, double *ns, size_t n)
{
	struct dctx *c = ctx;

	for (size_t i = 0; i < n; i++) {
		uint64_t t0 = bench_now_ns();
		int r = uvfio_region_write32(c->dev, BAR0, TESTDEV_REG_IRQ,
					     MSI_DOORBELL);
		if (!r)
			r = wait_irq(c->efd);
		ns[i] = (double)(bench_now_ns() - t0);
		if (r < 0)
			return r;
	}
	return 0;
}

static int ring(int fd)
{
	uint64_t one = 1;
	ssize_t n;

	do {
		n = write(fd, &one, sizeof(one));
	} while (n < 0 && errno == EINTR);
	return n == sizeof(one) ? 0 : -EIO;
}

/*
 * Doorbell writes through the device's ioeventfd: a batch of eventfd
 * writes, then COUNT read until the device has taken them (one wakeup
 * may cover several writes: that is what an eventfd does).  Compared
 * with the posted REGION_WRITE batch, which also ends with one read.
 */
static int run_ioev_writes(void *ctx, double *ns, size_t n)
{
	struct dctx *c = ctx;

	for (size_t i = 0; i < n; i++) {
		uint32_t before = 0, now = 0;
		int r = uvfio_region_read32(c->dev, BAR0, TESTDEV_REG_COUNT,
					    &before);
		if (r < 0)
			return r;
		uint64_t t0 = bench_now_ns();
		for (unsigned j = 0; j < BENCH_BATCH && !r; j++)
			r = ring(c->bump_bell);
		for (unsigned k = 0; !r; k++) {
			r = uvfio_region_read32(c->dev, BAR0, TESTDEV_REG_COUNT,
						&now);
			if (r < 0 || now != before)
				break;
			if (k > 1000000)
				return -ETIMEDOUT;
		}
		ns[i] = (double)(bench_now_ns() - t0) / BENCH_BATCH;
		if (r < 0)
			return r;
	}
	return 0;
}

/* Doorbell by the device's ioeventfd: no message, then the MSI. */
static int run_ioev_irq(void *ctx, double *ns, size_t n)
{
	struct dctx *c = ctx;

	for (size_t i = 0; i < n; i++) {
		uint64_t t0 = bench_now_ns();
		int r = ring(c->irq_bell);
		if (!r)
			r = wait_irq(c->efd);
		ns[i] = (double)(bench_now_ns() - t0);
		if (r < 0)
			return r;
	}
	return 0;
}

/* testdev's two BAR0 doorbells: BUMP (data 1) and IRQ (MSI 0). */
static int get_bells(struct dctx *c)
{
	struct uvfio_doorbell db[8];
	int n = uvfio_region_doorbells(c->dev, BAR0, db, 8);
	if (n < 0)
		return n;
	if (n > 8)
		return -ENOENT;
	for (int i = 0; i < n; i++) {
		if (db[i].offset == TESTDEV_REG_BUMP && db[i].datamatch &&
		    db[i].data == 1 && c->bump_bell < 0)
			c->bump_bell = db[i].fd;
		else if (db[i].offset == TESTDEV_REG_IRQ && db[i].datamatch &&
			 db[i].data == TESTDEV_DOORBELL_MSI0 && c->irq_bell < 0)
			c->irq_bell = db[i].fd;
		else
			close(db[i].fd);
	}
	return c->bump_bell >= 0 && c->irq_bell >= 0 ? 0 : -ENOENT;
}

/* One sample is the mean of a batch: a load is shorter than the clock. */
static int run_mmap4(void *ctx, double *ns, size_t n)
{
	struct dctx *c = ctx;

	for (size_t i = 0; i < n; i++) {
		uint32_t v, sum = 0;
		uint64_t t0 = bench_now_ns();
		for (unsigned j = 0; j < BENCH_MMIO_BATCH; j++) {
			int r = uvfio_region_read32(c->dev, BAR4, MMAP_OFF, &v);
			if (r < 0)
				return r;
			sum += v;
		}
		ns[i] = (double)(bench_now_ns() - t0) / BENCH_MMIO_BATCH;
		__asm__ volatile("" : : "r"(sum));
	}
	return 0;
}

/* ---- DMA windows -------------------------------------------------- */

/* Round trip guest -> device -> guest once, so a broken path is not timed. */
static int dma_check(struct dctx *c, const struct uvfio_dma_buf *w)
{
	uint8_t *mem = w->vaddr;
	uint32_t st = 0;
	int r = uvfio_region_write64(c->dev, BAR0, TESTDEV_REG_DMA_ADDR,
				     w->iova);

	memset(mem, 0x3c, BENCH_MIB);
	if (!r)
		r = uvfio_region_write32(c->dev, BAR0, TESTDEV_REG_DMA_CMD,
					 DMA_CMD_READ);
	if (r < 0)
		return r;
	memset(mem, 0, BENCH_MIB);
	r = uvfio_region_write32(c->dev, BAR0, TESTDEV_REG_DMA_CMD,
				 DMA_CMD_WRITE);
	if (!r)
		r = uvfio_region_read32(c->dev, BAR0, TESTDEV_REG_DMA_STATUS, &st);
	if (r < 0)
		return r;
	if (st || mem[0] != 0x3c || mem[BENCH_MIB / 2] != 0x3c ||
	    mem[BENCH_MIB - 1] != 0x3c)
		return -EIO;
	return 0;
}

/* ---- one server, all figures ------------------------------------- */

enum { DMA_RD_MAP, DMA_WR_MAP, DMA_RD_MSG, DMA_WR_MSG, DMA_ITEMS };

struct bench_dev {
	pid_t pid;
	struct dctx c;
	struct uvfio_dma_buf *win[2];    /* shared (memfd), fd-less */
	struct dma_item dma[DMA_ITEMS];
	bool irq_on;
};

static void item(struct bench_item *it, const char *name, bench_fn fn,
		 void *ctx, size_t iters, struct meas *out)
{
	*it = (struct bench_item){ .name = name, .fn = fn, .ctx = ctx,
				   .iters = iters, .out = out };
}

static void fail(struct bench_item *it, int err)
{
	it->fn = NULL;
	it->out->err = err;
}

static void dma_items(const struct bench_opts *o, struct bench_dev *d,
		      struct meas fig[FIG_COUNT],
		      struct bench_item items[FIG_COUNT])
{
	static const struct { int fig; unsigned win; uint32_t cmd;
			      const char *name; } t[DMA_ITEMS] = {
		[DMA_RD_MAP] = { FIG_DMA_RD_MAP, 0, DMA_CMD_READ, "DMA read, mapped" },
		[DMA_WR_MAP] = { FIG_DMA_WR_MAP, 0, DMA_CMD_WRITE, "DMA write, mapped" },
		[DMA_RD_MSG] = { FIG_DMA_RD_MSG, 1, DMA_CMD_READ, "DMA read, messages" },
		[DMA_WR_MSG] = { FIG_DMA_WR_MSG, 1, DMA_CMD_WRITE, "DMA write, messages" },
	};
	struct dctx *c = &d->c;
	int err[2];

	for (unsigned i = 0; i < 2; i++) {
		uint32_t flags = UVFIO_DMA_READ | UVFIO_DMA_WRITE |
				 (i ? UVFIO_DMA_NO_FD : 0);
		err[i] = uvfio_dma_alloc(c->dev, BENCH_MIB, flags, &d->win[i]);
		if (!err[i])
			err[i] = uvfio_region_write32(c->dev, BAR0,
						      TESTDEV_REG_DMA_LEN,
						      BENCH_MIB);
		if (!err[i])
			err[i] = dma_check(c, d->win[i]);
	}
	size_t cap = (size_t)(o->runs ? o->runs : 1) * o->bw_iters + o->warmup;
	for (unsigned i = 0; i < DMA_ITEMS; i++) {
		struct bench_item *it = &items[t[i].fig];
		struct dma_item *di = &d->dma[i];

		*di = (struct dma_item){ .c = c, .w = d->win[t[i].win],
					 .cmd = t[i].cmd, .m = &fig[t[i].fig],
					 .by_messages = t[i].win == 1 };
		item(it, t[i].name, run_dma, di, o->bw_iters, &fig[t[i].fig]);
		it->setup = setup_dma;
		di->e2e = calloc(cap, sizeof(*di->e2e));
		di->e2e_cap = di->e2e ? cap : 0;
		if (err[t[i].win] < 0)
			fail(it, err[t[i].win]);
	}
}

int bench_device_start(struct bench_dev **out, const struct bench_opts *o,
		       int client_cpu, int server_cpu, struct meas fig[FIG_COUNT],
		       struct bench_item items[FIG_COUNT])
{
	struct bench_dev *d = calloc(1, sizeof(*d));
	int sv[2];
	int r;

	*out = d;
	memset(fig, 0, sizeof(*fig) * FIG_COUNT);
	memset(items, 0, sizeof(*items) * FIG_COUNT);
	for (unsigned i = 0; i < FIG_COUNT; i++)
		items[i] = (struct bench_item){ .name = bench_fig_desc[i].key,
						.out = &fig[i] };
	if (!d)
		return -ENOMEM;
	d->c.efd = -1;
	d->c.bump_bell = d->c.irq_bell = -1;
	/* The library's DMA thread inherits the mask: pin first. */
	r = bench_pin(0, client_cpu);
	if (r < 0)
		return r;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	/* Shared with the server process, which times DMA commands in it. */
	if (!o->serve_path) {
		d->c.probe = mmap(NULL, sizeof(*d->c.probe),
				  PROT_READ | PROT_WRITE,
				  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (d->c.probe == MAP_FAILED)
			d->c.probe = NULL;
	}
	struct server_arg sa = { .fd = sv[1], .serve_path = o->serve_path,
				 .probe = d->c.probe };
	d->pid = bench_fork(server_cpu, server_main, &sa);
	close(sv[1]);
	if (d->pid < 0) {
		close(sv[0]);
		return d->pid;
	}
	d->c.big = aligned_alloc(4096, BENCH_MIB);
	if (!d->c.big) {
		close(sv[0]);
		return -ENOMEM;
	}
	memset(d->c.big, 0x77, BENCH_MIB);
	r = uvfio_device_open_fd(sv[0], NULL, &d->c.dev);
	if (r < 0) {
		fprintf(stderr, "uvfio-bench: cannot open the device: %s\n",
			strerror(-r));
		return r;
	}
	struct dctx *c = &d->c;
	item(&items[FIG_READ4], "REGION_READ 4", run_read4, c, o->lat_iters,
	     &fig[FIG_READ4]);
	item(&items[FIG_WRITE4], "REGION_WRITE 4", run_write4, c, o->lat_iters,
	     &fig[FIG_WRITE4]);
	item(&items[FIG_POSTED4], "posted REGION_WRITE 4", run_posted4, c,
	     o->lat_iters / 4 + 1, &fig[FIG_POSTED4]);
	item(&items[FIG_READ1M], "REGION_READ 1 MiB", run_read1m, c,
	     o->bw_iters, &fig[FIG_READ1M]);
	item(&items[FIG_WRITE1M], "REGION_WRITE 1 MiB", run_write1m, c,
	     o->bw_iters, &fig[FIG_WRITE1M]);
	dma_items(o, d, fig, items);

	item(&items[FIG_DOORBELL], "doorbell", run_doorbell, c, o->lat_iters,
	     &fig[FIG_DOORBELL]);
	item(&items[FIG_DOORBELL_NP], "doorbell non-posted", run_doorbell_np,
	     c, o->lat_iters, &fig[FIG_DOORBELL_NP]);
	c->efd = eventfd(0, EFD_CLOEXEC);
	r = c->efd < 0 ? -errno :
	    uvfio_irq_enable(c->dev, VFIO_PCI_MSI_IRQ_INDEX, 0, 1, &c->efd);
	d->irq_on = !r;
	if (r < 0) {
		fail(&items[FIG_DOORBELL], r);
		fail(&items[FIG_DOORBELL_NP], r);
	}
	item(&items[FIG_IOEV_WRITES], "ioeventfd doorbell writes",
	     run_ioev_writes, c, o->lat_iters / 4 + 1, &fig[FIG_IOEV_WRITES]);
	item(&items[FIG_IOEV_IRQ], "ioeventfd doorbell -> interrupt",
	     run_ioev_irq, c, o->lat_iters, &fig[FIG_IOEV_IRQ]);
	int rb = get_bells(c);
	if (rb < 0) {
		fail(&items[FIG_IOEV_WRITES], rb);
		fail(&items[FIG_IOEV_IRQ], rb);
	} else if (r < 0) {
		fail(&items[FIG_IOEV_IRQ], r);
	}

	/* BAR2 stays unmapped: the 1 MiB figures must go by messages. */
	void *bar4;
	item(&items[FIG_MMAP4], "mmap read 4", run_mmap4, c,
	     o->lat_iters / 8 + 1, &fig[FIG_MMAP4]);
	r = uvfio_region_mmap(c->dev, BAR4, &bar4);
	if (r < 0)
		fail(&items[FIG_MMAP4], r);
	return 0;
}

int bench_device_stop(struct bench_dev *d)
{
	if (!d)
		return 0;
	for (unsigned i = 0; i < DMA_ITEMS; i++) {
		struct dma_item *di = &d->dma[i];
		if (di->m && !di->m->err && di->ne2e) {
			di->m->at_device = !di->client_timed;
			di->m->e2e = bench_median(di->e2e, di->ne2e);
		}
		free(di->e2e);
	}
	struct dctx *c = &d->c;
	if (c->dev) {
		if (d->irq_on)
			uvfio_irq_disable(c->dev, VFIO_PCI_MSI_IRQ_INDEX);
		for (unsigned i = 0; i < 2; i++)
			if (d->win[i])
				uvfio_dma_free(c->dev, d->win[i]);
		uvfio_device_close(c->dev);
	}
	if (c->efd >= 0)
		close(c->efd);
	if (c->bump_bell >= 0)
		close(c->bump_bell);
	if (c->irq_bell >= 0)
		close(c->irq_bell);
	free(c->big);
	int r = 0;
	if (d->pid > 0 && bench_reap(d->pid) < 0) {
		fprintf(stderr, "uvfio-bench: the server did not exit cleanly\n");
		r = -ECHILD;
	}
	if (c->probe)
		munmap(c->probe, sizeof(*c->probe));
	free(d);
	return r;
}
