/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVFIO_SERVER_SERVER_H
#define UVFIO_SERVER_SERVER_H

#include <stdbool.h>
#include <signal.h>
#include <stdint.h>

#include <uvfio/device.h>
#include "common/util.h"
#include "device/dev.h"
#include "wire/wire.h"

/* A command that arrived while we waited for a reply to our own request. */
struct pending_msg {
	struct pending_msg *next;
	struct vu_hdr hdr;
	uint8_t *payload;
	int *fds;
	unsigned nfds;
	bool fds_overflow;
};

#define CONN_MAX_PENDING        4096u
#define CONN_MAX_PENDING_BYTES  (256u << 20)

/* The part of a reply the socket did not take yet (out.c). */
#define CONN_OUT_IOV 4
struct conn_out {
	struct iovec iov[CONN_OUT_IOV];  /* left to send: [first, first+iovcnt) */
	unsigned first, iovcnt;
	uint8_t *copy;               /* header and parts that may not stay put */
	size_t copy_cap;
	int *fds;                    /* dups, when not a byte went yet */
	unsigned nfds;
};

/*
 * An asynchronous DMA request of the device's (dma.c), queued until the
 * socket takes it, then awaiting its reply.  @op is the device's op
 * slot, -1 once the op is gone: the reply is then read and dropped.
 */
struct conn_req {
	struct conn_req *next;
	int op;
	bool write;
	bool sent;
	bool answered;               /* reply in, the device not told yet */
	int err;                     /* of the reply */
	uint16_t id;
	uint64_t iova;
	uint8_t *buf;
	size_t len;
};

/* Requests awaiting a reply per client; more wait their turn. */
#define CONN_MAX_SENT 64u

struct conn {
	struct uvfio_server *srv;
	int sock;
	int twin;                    /* server end of the twin socket, or -1 */
	bool negotiated;
	uint16_t minor;
	struct uvfio_caps peer;      /* the client's capabilities */
	struct vu_limits lim;        /* what we accept on the main socket */
	struct vu_rx rx;             /* main socket receiver */
	struct vu_rx twin_rx;        /* replies to our requests */
	uint16_t next_id;            /* ids of our requests */
	struct pending_msg *pend_head, *pend_tail;
	unsigned npending;
	size_t pending_bytes;
	uint8_t *tx;                 /* reply buffer, reused */
	size_t tx_cap;
	bool dead;                   /* drop after the current message */
	uint64_t nmsgs;
	struct conn_out out;         /* a reply waiting for room */
	struct conn_out out_next;    /* a reply held behind it (out.c) */
	uint32_t events;             /* what epoll watches on sock */
	struct conn_req *req_head, *req_tail;  /* async DMA, oldest first */
	unsigned nsent;              /* of them sent, reply awaited */
	unsigned nanswered;          /* of them answered, not delivered */
	int64_t dma_progress_ms;     /* last reply, or first request owed */
	struct conn_out twin_out;    /* a request waiting for room on twin */
	uint32_t twin_events;        /* what epoll watches on twin (0: none) */
	int dma_err;                 /* why the client is dropped, for the ops */
	bool handling;               /* inside a command's handler */
	/*
	 * Where the data of the oldest awaited DMA_READ reply is received:
	 * straight into the device's buffer (dma_req.c), or into dsink_spill
	 * when the op went away while its reply was half read.
	 */
	struct vu_rx_sink dsink;
	uint8_t *dsink_spill;
};

struct uvfio_server {
	struct uvfio_dev *dev;
	struct uvfio_server_opts opts;
	struct ulog log;
	int epfd;
	int listen_fd;
	char *path;                  /* socket we created, unlinked on free */
	int stop_fd;                 /* eventfd */
	int timer_fd;
	bool timer_armed;            /* timer_fd is set: disarm when idle */
	volatile sig_atomic_t stopping;  /* set from signal handlers too */
	struct conn *conn;
	struct uvfio_server **vfs;   /* an SR-IOV PF's VF servers (vfs.c) */
	unsigned nvf_slots;          /* TotalVFs */
};

/* epoll tag of a VF server's epoll fd in its PF's set; index << 32. */
#define SERVER_TAG_VF 6u

/* handlers.c */
void handle_message(struct conn *c, const struct vu_hdr *hdr, uint8_t *payload,
		    uint32_t len, int *fds, unsigned nfds, bool fds_overflow);
int conn_reply(struct conn *c, const struct vu_hdr *req, const void *p1,
	       size_t l1, const void *p2, size_t l2, const int *fds,
	       unsigned nfds);
int conn_error(struct conn *c, const struct vu_hdr *req, int err);
void *conn_tx(struct conn *c, size_t len);

/*
 * out.c.  conn_send() sends a message without blocking; what the socket
 * does not take waits in c->out (iov entries whose bit is set in
 * @stable are referenced, not copied: they stay put until it is sent).
 * Returns 0 (sent or kept), -EBUSY while another waits, or -errno.
 * conn_flush() sends what waits: 1 when all went, 0 when the socket is
 * full, -errno.  conn_flush_wait() blocks up to @timeout_ms.
 */
int conn_send(struct conn *c, const struct vu_hdr *hdr, const struct iovec *iov,
	      unsigned iovcnt, unsigned stable, const int *fds, unsigned nfds);
bool conn_out_pending(const struct conn *c);
int conn_flush(struct conn *c);
int conn_flush_wait(struct conn *c, int timeout_ms);
/* The same on another socket and its own waiting message. */
int conn_send_on(struct conn *c, int sock, struct conn_out *o,
		 const struct vu_hdr *hdr, const struct iovec *iov,
		 unsigned iovcnt, unsigned stable, const int *fds,
		 unsigned nfds);
int conn_flush_on(int sock, struct conn_out *o);
int conn_flush_wait_on(int sock, struct conn_out *o, int timeout_ms);
void conn_out_free(struct conn *c);
/* Send the held reply if nothing holds it any more. */
void conn_out_kick(struct conn *c);
/* A reply whose @p2 (device memory) stays put until it is sent. */
int conn_reply_stable(struct conn *c, const struct vu_hdr *req, const void *p1,
		      size_t l1, const void *p2, size_t l2);

/*
 * dma.c: the device's asynchronous DMA requests.  conn_dma_submit() and
 * conn_dma_forget() are the transport's dma_submit/dma_forget.
 * conn_dma_pump() sends what is queued, as far as the socket takes it
 * without waiting (never inside a command's handling: its reply comes
 * first).  conn_dma_reply(): @rx holds a reply; if it answers one of our
 * requests it is consumed (checked, data copied, marked answered; or the
 * client killed for a reply that does not fit) and true returned.
 * conn_dma_step() tells the device of answered requests, then pumps:
 * from the loop only.  conn_dma_deadline(): the
 * earliest reply deadline (ms, CLOCK_MONOTONIC) or -1;
 * conn_dma_expire() drops a client past it.  conn_dma_free() forgets
 * everything without telling the device.
 */
int conn_dma_submit(void *opaque, unsigned op, uint64_t iova, void *buf,
		    size_t len, bool write, unsigned *nparts);
void conn_dma_forget(void *opaque, unsigned op);
void conn_dma_pump(struct conn *c);
void conn_dma_step(struct conn *c);
bool conn_dma_reply(struct conn *c, struct vu_rx *rx);
int64_t conn_dma_deadline(const struct conn *c);
/* Before reading the socket DMA replies come on: aim @rx's sink. */
void conn_dma_arm_sink(struct conn *c, struct vu_rx *rx);
void conn_dma_expire(struct conn *c);
void conn_dma_free(struct conn *c);
/* Requests sent on the main socket whose replies we read there. */
static inline bool conn_dma_main_awaits(const struct conn *c)
{
	return c->twin < 0 && c->nsent;
}
int64_t server_now_ms(void);
/* --verbose lines (dma_req.c): our request, the client's reply to it. */
void conn_log_dma_req(const struct conn *c, const struct vu_hdr *h,
		      size_t size, uint64_t iova, size_t count, bool async);
void conn_log_dma_reply(const struct conn *c, const struct vu_rx *rx);

/* vfs.c */
int server_vfs_init(struct uvfio_server *srv);
void server_vfs_fini(struct uvfio_server *srv);
void server_vf_dispatch(struct uvfio_server *srv, unsigned index);

/* server.c */
void conn_kill(struct conn *c, const char *why);
/* Arm the server's timer for the device's timers and reply deadlines. */
void server_kick(struct uvfio_server *srv);
int server_send_timeout(const struct uvfio_server *srv);

#endif
