/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The VFIO device model, transport independent.  The server decodes a
 * vfio-user command and makes one call here, the way an ioctl becomes one
 * call into the kernel's vfio-pci.
 */
#ifndef UVFIO_DEVICE_DEV_H
#define UVFIO_DEVICE_DEV_H

#include <stdbool.h>
#include <stdint.h>

#include <uvfio/device.h>
#include <uvfio/pci.h>
#include "common/util.h"
#include "pci/cfg.h"

#define DEV_MAX_REGIONS     16u
#define DEV_MAX_AREAS       16u
#define DEV_NUM_IRQS        VFIO_PCI_NUM_IRQS
#define DEV_MAX_IRQ_COUNT   2048u
#define DEV_MAX_TIMERS      256u
#define DEV_MAX_FEATURES    64u
#define DEV_MAX_DOORBELLS   64u

struct dev_region {
	bool present;
	uint64_t size;
	uint32_t flags;            /* VFIO_REGION_INFO_FLAG_READ/WRITE/MMAP */
	const struct uvfio_region_ops *ops;
	void *opaque;
	void *mem;                 /* memfd mapping, or NULL */
	int memfd;
	unsigned nr_areas;         /* explicit sparse areas */
	struct { uint64_t offset, size; } areas[DEV_MAX_AREAS];
	bool has_type;
	uint32_t type, subtype;
};

struct dev_irq_vec {
	int trigger;               /* eventfd or -1 */
	int unmask;                /* INTx unmask eventfd or -1 */
	bool masked;
	bool pending;              /* an edge arrived while masked */
	bool line;                 /* INTx level, from uvfio_dev_intx_set */
	bool raised;               /* INTx edge raised, not yet unmasked */
};

struct dev_irq {
	uint32_t count;
	bool count_set;            /* overridden by uvfio_dev_set_irq_count */
	bool enabled;              /* some vector was bound through SET_IRQS */
	struct dev_irq_vec *vec;   /* [count] */
};

struct dev_dma_window {
	uint64_t iova, size;
	uint32_t prot;             /* VU_DMA_FLAG_READ/WRITE */
	int fd;
	uint64_t offset;
	void *map;                 /* NULL for fd-less windows */
	/* The file can shrink under the mapping (not sealed): access it
	 * only in ways that fail instead of faulting (dma.c). */
	bool may_shrink;
};

/* How the device reaches the client; set by the server per connection. */
struct dev_transport {
	void *opaque;
	/* Fd-less DMA through messages; @len bounded by the caller. */
	int (*dma_rw)(void *opaque, uint64_t iova, void *buf, size_t len,
		      bool write);
	/*
	 * Asynchronous fd-less DMA for device op slot @op: queue the
	 * request(s) for [iova, iova+len) and return; each reply is
	 * reported with dev_dma_part_done(), once per part, @nparts set to
	 * how many parts were queued.  0 or -errno (nothing queued).
	 */
	int (*dma_submit)(void *opaque, unsigned op, uint64_t iova, void *buf,
			  size_t len, bool write, unsigned *nparts);
	/* Forget op @op's requests: their replies are dropped unseen. */
	void (*dma_forget)(void *opaque, unsigned op);
	/* Something changed that the server's loop must look at (timers). */
	void (*kick)(void *opaque);
	/* Watch (@add) or stop watching an eventfd of the client's; when
	 * it is written the server calls dev_watch_fire(). */
	int (*watch)(void *opaque, int fd, bool add);
};

/* An asynchronous DMA call in flight (dma_async.c). */
struct dev_dma_op {
	struct uvfio_dev *dev;
	bool busy;
	bool ordered;              /* UVFIO_DMA_ORDERED */
	uint64_t iova;             /* the whole range, for unmap */
	size_t len;
	unsigned parts;            /* requests whose reply is awaited */
	int err;                   /* first error of a part */
	int timer;                 /* completion deferred by a timer, or 0 */
	uvfio_dma_done_fn done;
	void *opaque;
};

struct dev_feature {
	uint16_t index;
	unsigned ops;              /* UVFIO_FEATURE_GET/SET */
	int (*get)(void *opaque, void *buf, size_t len);
	int (*set)(void *opaque, const void *buf, size_t len);
	void *opaque;
};

/*
 * A doorbell the device declares (uvfio_dev_add_doorbell): a write to its
 * eventfd makes the device see a write of @data at @offset of @region.
 * The eventfd is the device's own (non-blocking, read by dev_watch_fire),
 * made at seal, watched while a client is attached, and replaced when
 * the client leaves, so a former client's copy pokes nothing.
 */
struct dev_doorbell {
	uint32_t region;
	uint32_t size;             /* 1, 2, 4 or 8 */
	uint64_t offset;
	bool datamatch;
	uint64_t data;             /* 0 without datamatch */
	int fd;                    /* eventfd, or -1 when it could not be made */
};

struct dev_timer {
	int id;
	uint64_t deadline;         /* CLOCK_MONOTONIC ns */
	void (*fn)(void *opaque);
	void *opaque;
};

/*
 * Where a PF's VFs are served (the server of the PF): told when VF
 * @index appears and before it goes away.
 */
struct dev_sriov_host {
	void *opaque;
	int (*add)(void *opaque, unsigned index, struct uvfio_dev *vf);
	void (*remove)(void *opaque, unsigned index);
};

/* A PF that creates its VFs (sriov.c). */
struct dev_sriov {
	struct uvfio_sriov_ops ops;
	void *opaque;
	uint16_t total;            /* TotalVFs */
	uint16_t vf_device;        /* VF Device ID */
	bool enabled;              /* VF Enable as last acted on */
	unsigned nvfs;             /* VFs built: vfs[0 .. nvfs) */
	struct uvfio_dev **vfs;    /* [total] */
	void **vf_state;           /* [total] */
	uint8_t token[16];         /* the VF token */
	unsigned users;            /* VFs that have a client */
	struct dev_sriov_host host;
};

/* The handle uvfio_dev_pci() gives out: the device's config space. */
struct uvfio_pci {
	struct uvfio_dev *dev;
};

struct uvfio_dev {
	char *name;
	struct ulog log;
	bool sealed;
	struct uvfio_pci_ids ids;
	struct pci_cfg *cfg;
	struct uvfio_pci pci;
	struct dev_region regions[DEV_MAX_REGIONS];
	unsigned num_regions;
	struct dev_irq irqs[DEV_NUM_IRQS];
	int (*reset)(void *opaque);
	void *reset_opaque;

	struct dev_dma_window *dma;  /* sorted by iova */
	unsigned dma_count, dma_cap;
	unsigned dma_max;
	struct dev_dma_op dma_ops[UVFIO_DMA_ASYNC_MAX];
	unsigned dma_ops_busy;
	unsigned dma_ordered;        /* busy ops with UVFIO_DMA_ORDERED */
	bool dma_closed;             /* the client is going: no new requests */

	struct dev_timer timers[DEV_MAX_TIMERS];
	unsigned ntimers;
	int next_timer_id;

	struct dev_feature features[DEV_MAX_FEATURES];
	unsigned nfeatures;
	int (*low_power)(void *opaque, bool enter);
	void *low_power_opaque;

	struct dev_doorbell doorbells[DEV_MAX_DOORBELLS];
	unsigned ndoorbells;

	struct dev_transport tp;
	bool has_client;

	struct dev_sriov *sriov;   /* a PF that creates VFs, else NULL */
	struct uvfio_dev *pf;      /* a VF: its PF, else NULL */
	unsigned vf_index;
};

/* Finish building: config space power-on values, IRQ vector tables. */
int dev_seal(struct uvfio_dev *dev);

void dev_get_info(struct uvfio_dev *dev, uint32_t *flags, uint32_t *nregions,
		  uint32_t *nirqs);
/* Region description for GET_REGION_INFO; -EINVAL for a bad index. */
struct dev_region *dev_region(struct uvfio_dev *dev, uint32_t index);
/* Access: returns @count or -errno. */
ssize_t dev_region_access(struct uvfio_dev *dev, uint32_t index, uint64_t off,
			  void *buf, size_t count, bool write);
/*
 * The region memory an access of @count bytes at @off goes to, when
 * dev_region_access() would copy it to or from memory; NULL when it goes
 * elsewhere (callbacks, config space) or is invalid.
 */
void *dev_region_mem(struct uvfio_dev *dev, uint32_t index, uint64_t off,
		     size_t count, bool write);

int dev_irq_info(struct uvfio_dev *dev, uint32_t index, uint32_t *flags,
		 uint32_t *count);
/*
 * SET_IRQS.  @data/@datalen are the bytes after the fixed header; @fds
 * are the eventfds attached.  Fds the device keeps are set to -1 in @fds.
 */
int dev_set_irqs(struct uvfio_dev *dev, uint32_t flags, uint32_t index,
		 uint32_t start, uint32_t count, const uint8_t *data,
		 size_t datalen, int *fds, unsigned nfds);
void dev_irq_release_all(struct uvfio_dev *dev);
/* Stop watching and close INTx's unmask eventfd. */
void dev_irq_drop_unmask(struct uvfio_dev *dev, struct dev_irq_vec *vec);
/* A watched eventfd was written by the client. */
void dev_watch_fire(struct uvfio_dev *dev, int fd);
/* If @fd is a doorbell's eventfd: drain it, do its write, true. */
bool dev_doorbell_fire(struct uvfio_dev *dev, int fd);

/* DMA windows.  @fd is taken (set to -1) on success. */
int dev_dma_map(struct uvfio_dev *dev, uint32_t flags, uint64_t offset,
		uint64_t iova, uint64_t size, int *fd);
int dev_dma_unmap(struct uvfio_dev *dev, uint32_t flags, uint64_t iova,
		  uint64_t size);
void dev_dma_unmap_all(struct uvfio_dev *dev);
void dev_set_dma_max(struct uvfio_dev *dev, unsigned max);
/* The window holding @iova, or NULL. */
struct dev_dma_window *dev_dma_find(struct uvfio_dev *dev, uint64_t iova);
/* Copy @n bytes at @off of a window with shared memory. */
int dev_dma_window_copy(const struct dev_dma_window *w, uint64_t off, void *buf,
			size_t n, bool write);

/*
 * dma_async.c.  A reply to one part of op @op arrived (@err 0 or
 * -errno); the op completes with its last part.  dev_dma_abort()
 * completes with @err every busy op (with requests outstanding only,
 * when @wire_only) whose range meets [iova, iova+size) (size 0: all),
 * after telling the transport to forget their requests.  With @close
 * no new requests are accepted until the next dev_attach().
 */
void dev_dma_part_done(struct uvfio_dev *dev, unsigned op, int err);
void dev_dma_abort(struct uvfio_dev *dev, uint64_t iova, uint64_t size,
		   bool wire_only, int err, bool close);
/* Commands of the client wait: an ordered op is in flight. */
static inline bool dev_dma_ordered(const struct uvfio_dev *dev)
{
	return dev->dma_ordered != 0;
}

/*
 * VFIO_DEVICE_FEATURE with header flags @flags and argsz @argsz.  @in
 * (@inlen bytes) is what follows the header; a GET writes at most @outcap
 * bytes to @out and sets *@outlen (0 for SET and PROBE).  0 or -errno.
 */
int dev_feature(struct uvfio_dev *dev, uint32_t argsz, uint32_t flags,
		const uint8_t *in, size_t inlen, uint8_t *out, size_t outcap,
		size_t *outlen);

int dev_reset(struct uvfio_dev *dev);
/*
 * Reset the function whether or not the model has a reset callback (FLR
 * from config space): interrupts off, config space to power-on values,
 * then the model's callback.
 */
int dev_function_reset(struct uvfio_dev *dev);
/* Config space hooks (pci/cfg.h) the device answers. */
void dev_irq_intx_disable(struct uvfio_dev *dev, bool disabled);
void dev_irq_deliver(struct uvfio_dev *dev, unsigned index, unsigned vector);
/* Tell config space which index SET_IRQS has enabled. */
void dev_irq_sync_cfg(struct uvfio_dev *dev, uint32_t index, uint32_t nvec);

void dev_attach(struct uvfio_dev *dev, const struct dev_transport *tp);
/* The client went away: drop its DMA windows and eventfds, keep state. */
void dev_detach(struct uvfio_dev *dev);

/* Nanoseconds until the next timer (0: due now), or -1 with none. */
int64_t dev_timers_next(struct uvfio_dev *dev);
void dev_timers_run(struct uvfio_dev *dev);

uint64_t dev_now_ns(void);

/*
 * sriov.c.  dev_vf_token_check(): may a client presenting @token (NULL:
 * none) open @dev?  0, -EACCES or -EINVAL (vfio_pci_validate_vf_token).
 * dev_client_open()/_close(): a client passed the check / went away.
 */
int dev_vf_token_check(struct uvfio_dev *dev, const uint8_t *token);
void dev_client_open(struct uvfio_dev *dev);
void dev_client_close(struct uvfio_dev *dev);
/* Serve the PF's VFs through @host (NULL: stop); existing VFs are added. */
void dev_sriov_set_host(struct uvfio_dev *dev, const struct dev_sriov_host *host);
void dev_sriov_free(struct uvfio_dev *dev);

#endif
