/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The vfio-user backend's private state, shared by user.c (connection,
 * framing of request and reply), user_cmd.c (the commands) and
 * user_dma.c (requests the server sends us: DMA to windows mapped
 * without an fd).
 */
#ifndef UVFIO_CLIENT_USER_H
#define UVFIO_CLIENT_USER_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/uio.h>

#include "client/backend.h"
#include "common/util.h"
#include "wire/wire.h"

/* One DMA window we mapped, as the server may ask us to access it. */
struct vu_window {
	uint64_t iova;
	uint64_t size;
	uint8_t *vaddr;          /* NULL: fd-only window, not served here */
	uint32_t flags;          /* UVFIO_DMA_READ / UVFIO_DMA_WRITE */
};

/*
 * The reply to a server request that was read from the main socket while
 * a message of ours was half sent: it goes out once ours is complete (two
 * messages never interleave on the stream).  The server has at most one
 * request outstanding, so one is enough.
 */
struct vu_held {
	bool valid;
	struct vu_hdr hdr;       /* of the reply: id, command, flags, error */
	uint64_t addr, count;    /* the reply's body, unless an error */
	uint8_t *data;           /* DMA_READ: a copy of the data, count bytes */
};

/* Ids of requests we gave up on, whose late replies are dropped. */
#define VU_STALE_IDS 8

/* Region indexes whose mmap fd we keep. */
#define VU_MAX_REGION_FDS 1024u

/* Most doorbells of one region we take from DEVICE_GET_REGION_IO_FDS. */
#define VU_DOORBELLS_MAX 1024u

/* Kernel-style ioeventfds per device, as the kernel's limit. */
#define UVFIO_IOEVENTFD_MAX 1000u

/* Largest region-info reply we accept (argsz the server may ask for). */
#define VU_REGION_INFO_MAX (64u << 10)

struct vu_client {
	struct uvfio_backend be;
	struct ulog log;
	int timeout_ms;
	struct uvfio_caps ours;          /* what we announced */
	struct uvfio_caps srv;           /* what the server announced */
	uint16_t major, minor;

	/*
	 * Main socket.  req_lock is held from sending a request until its
	 * reply is consumed, so requests never interleave on the stream.
	 */
	pthread_mutex_t req_lock;
	int sock;
	struct vu_rx rx;
	struct vu_limits lim;
	uint16_t next_id;
	uint16_t stale[VU_STALE_IDS];
	bool stale_valid[VU_STALE_IDS];
	unsigned stale_pos;
	int dead;                        /* sticky transport error, or 0 */
	bool recv_waits;                 /* SO_RCVTIMEO bounds a blocking recv */
	bool negotiating;                /* VERSION: nothing else is valid */
	int *region_fds;                 /* [nregion_fds], -1 when none */
	unsigned nregion_fds;
	atomic_bool posted;              /* posted writes not yet fenced */
	struct vu_held held;             /* req_lock */
	/*
	 * Set by the thread that serves the main socket (no twin socket)
	 * when it found input while a caller held req_lock: a caller that
	 * only posts writes, and so never reads, serves it instead.
	 */
	atomic_bool sock_ready;

	/*
	 * Twin socket: the server's requests, when negotiated.  The thread
	 * (dma_thread) serves the twin socket, or without one the main
	 * socket between our requests.
	 */
	int twin;
	pthread_mutex_t twin_lock;       /* twin_rx, when no thread owns it */
	struct vu_rx twin_rx;
	atomic_int twin_err;             /* sticky, or 0 */
	bool thread_on;
	pthread_t thread;
	int stop_fd;                     /* eventfd that stops the thread */

	/* DMA windows sorted by iova; held while serving from them. */
	pthread_mutex_t dma_lock;
	struct vu_window *win;
	unsigned nwin, win_cap;
	atomic_uint_fast64_t dma_requests;

	/* Kernel-style ioeventfds (user_ioev.c), made on first use. */
	struct vu_ioev_set *ioev;
};

static inline struct vu_client *to_vu(struct uvfio_backend *be)
{
	return (struct vu_client *)be;
}

/* user.c: requests on the main socket, with req_lock held */
int vuc_send_request(struct vu_client *c, uint16_t cmd, uint32_t flags,
		     const struct iovec *iov, unsigned niov, const int *fds,
		     unsigned nfds, uint16_t *id);
/*
 * Send a request and wait for its reply, left in c->rx for the caller to
 * check and release; an error reply becomes its -errno.
 */
int vuc_call(struct vu_client *c, uint16_t cmd, const struct iovec *iov,
	     unsigned niov, const int *fds, unsigned nfds);
/*
 * vuc_call() for a reply whose data @sink receives in place (its id and
 * command are filled in); c->rx.sunk tells whether it did.  @sink may
 * be NULL.
 */
int vuc_call_sink(struct vu_client *c, uint16_t cmd, const struct iovec *iov,
		  unsigned niov, struct vu_rx_sink *sink);
/* Same, taking req_lock, for a reply that carries nothing we use. */
int vuc_call_simple(struct vu_client *c, uint16_t cmd, const void *req,
		    size_t len, const int *fds, unsigned nfds);
/*
 * Serve what is complete on the main socket without blocking (no twin
 * socket); takes req_lock.  Returns > 0 when it read anything, 0 when
 * there was nothing, -errno when the connection failed.
 */
int vuc_main_drain(struct vu_client *c);
/* Log a malformed reply; returns -EPROTO. */
int vuc_proto_error(struct vu_client *c, const char *what);

/* user_cmd.c: the backend ops that are one command each */
int vuc_get_info(struct uvfio_backend *be, struct uvfio_device_info *info);
int vuc_irq_info(struct uvfio_backend *be, unsigned index,
		 struct uvfio_irq_info *info);
int vuc_region_info(struct uvfio_backend *be, unsigned index,
		    struct uvfio_region_info *info);
int vuc_region_fd(struct uvfio_backend *be, unsigned index);
ssize_t vuc_region_read(struct uvfio_backend *be, unsigned index,
			uint64_t offset, void *buf, size_t len);
ssize_t vuc_region_write(struct uvfio_backend *be, unsigned index,
			 uint64_t offset, const void *buf, size_t len,
			 bool posted);
int vuc_region_sync(struct uvfio_backend *be);
int vuc_irq_set(struct uvfio_backend *be, unsigned index, uint32_t flags,
		uint32_t start, uint32_t count, const void *data);
int vuc_dma_map(struct uvfio_backend *be, void *vaddr, size_t size,
		uint64_t iova, uint32_t flags, int fd, uint64_t fd_offset);
int vuc_dma_unmap(struct uvfio_backend *be, uint64_t iova, uint64_t size);
int vuc_dma_unmap_all(struct uvfio_backend *be);
int vuc_reset(struct uvfio_backend *be);
int vuc_region_doorbells(struct uvfio_backend *be, unsigned index,
			 struct uvfio_doorbell *out, unsigned max);
int vuc_device_feature(struct uvfio_backend *be, uint32_t flags, void *data,
		       size_t len);

/* user_ioev.c: uvfio_ioeventfd() done by the client (see there) */
int vuc_ioeventfd(struct uvfio_backend *be, unsigned index, uint64_t offset,
		  unsigned size, uint64_t data, int fd);
/* Stop the ioeventfd thread and close every registration. */
void vuc_ioev_fini(struct vu_client *c);

/* user_dma.c */
int vuc_win_add(struct vu_client *c, void *vaddr, uint64_t size,
		uint64_t iova, uint32_t flags);
void vuc_win_del(struct vu_client *c, uint64_t iova, uint64_t size);
void vuc_win_clear(struct vu_client *c);
void vuc_win_fini(struct vu_client *c);

/*
 * Handle the complete server request in @rx, which arrived on @sock.
 * Problems with the request are answered with an error reply; the
 * return is -errno only when the socket failed.
 */
int vuc_serve_one(struct vu_client *c, int sock, struct vu_rx *rx);
/*
 * Same for a request read from the main socket while one of our messages
 * is half sent (req_lock held): a DMA_WRITE's data is stored at once, a
 * DMA_READ's copied, and the reply waits in c->held for vuc_send_held().
 */
void vuc_serve_held(struct vu_client *c, struct vu_rx *rx);
/* Send the held reply, if any, on the main socket; 0 or -errno. */
int vuc_send_held(struct vu_client *c);
/* Forget the held reply (the connection failed). */
void vuc_held_drop(struct vu_client *c);

/* Serve whatever is complete on the twin socket without blocking. */
int vuc_twin_drain(struct vu_client *c);
int vuc_thread_start(struct vu_client *c);
void vuc_thread_stop(struct vu_client *c);

#endif
