/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The device's asynchronous DMA to fd-less windows, on the server's
 * side: requests queue in order, go out as far as the socket (the twin
 * socket when there is one) takes them without waiting, at most
 * CONN_MAX_SENT awaiting a reply; a reply read in the normal dispatch
 * of that socket is checked as the synchronous path checks it, its data
 * copied, and the request marked answered.  The device hears about it
 * from conn_dma_step(), called from the loop only: never while a
 * command is being handled, nor inside a synchronous DMA's wait.  A
 * client that leaves a request unanswered for reply_timeout_ms is
 * dropped; nothing waits for it meanwhile.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "server/server.h"

int64_t server_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * --verbose: a DMA request of ours as it is sent, and the client's reply
 * to it as it is received.  Callers check ulog_on() first.
 */
void conn_log_dma_req(const struct conn *c, const struct vu_hdr *h,
		      size_t size, uint64_t iova, size_t count, bool async)
{
	ulog_printf(&c->srv->log, LOG_DEBUG,
		    "-> %s id=%u size=%zu addr=0x%llx count=%zu%s",
		    uvfio_command_name(h->command), h->msg_id, size,
		    (unsigned long long)iova, count, async ? " (async)" : "");
}

void conn_log_dma_reply(const struct conn *c, const struct vu_rx *rx)
{
	const struct vu_hdr *h = &rx->hdr;
	if (h->flags & VU_F_ERROR)
		ulog_printf(&c->srv->log, LOG_DEBUG,
			    "<- %s id=%u size=%u fds=%u reply error=%u (%s)",
			    uvfio_command_name(h->command), h->msg_id,
			    h->msg_size, rx->nfds, h->error,
			    strerror((int)h->error));
	else
		ulog_printf(&c->srv->log, LOG_DEBUG,
			    "<- %s id=%u size=%u fds=%u reply",
			    uvfio_command_name(h->command), h->msg_id,
			    h->msg_size, rx->nfds);
}

/* A DMA_READ reply must fit what we accept on the socket it comes on. */
static size_t chunk_max(const struct conn *c)
{
	size_t n = MIN(c->peer.max_data_xfer_size,
		       c->srv->opts.max_data_xfer_size);
	return n ? n : 1;
}

static void req_unlink(struct conn *c, struct conn_req *prev,
		       struct conn_req *r)
{
	if (prev)
		prev->next = r->next;
	else
		c->req_head = r->next;
	if (c->req_tail == r)
		c->req_tail = prev;
}

int conn_dma_submit(void *opaque, unsigned op, uint64_t iova, void *buf,
		    size_t len, bool write, unsigned *nparts)
{
	struct conn *c = opaque;
	*nparts = 0;
	if (c->dead || !c->negotiated)
		return -ENOTCONN;
	uint8_t *p = buf;
	while (len) {
		size_t n = MIN(len, chunk_max(c));
		struct conn_req *r = calloc(1, sizeof(*r));
		if (!r)
			return -ENOMEM;
		*r = (struct conn_req){ .op = (int)op, .write = write,
					.iova = iova, .buf = p, .len = n };
		if (c->req_tail)
			c->req_tail->next = r;
		else
			c->req_head = r;
		c->req_tail = r;
		(*nparts)++;
		p += n;
		iova += n;
		len -= n;
	}
	/* Out now, unless a command is being handled: its reply first.
	 * Called outside the loop, the deadline must still wake it. */
	if (!c->handling)
		conn_dma_pump(c);
	server_kick(c->srv);
	return 0;
}

/* The socket DMA replies come on, and its receiver. */
static struct vu_rx *reply_rx(struct conn *c)
{
	return c->twin >= 0 ? &c->twin_rx : &c->rx;
}

/*
 * The op of @r is going away: its buffer may be freed.  If its reply is
 * being received into that buffer, the rest goes to a spill buffer.
 */
static void sink_release(struct conn *c, const struct conn_req *r)
{
	struct vu_rx *rx = reply_rx(c);
	if (rx->sink != &c->dsink || c->dsink.msg_id != r->id ||
	    c->dsink.buf != r->buf)
		return;
	if (!rx->sunk) {
		rx->sink = NULL;        /* its header is not in yet */
		return;
	}
	c->dsink_spill = malloc(c->dsink.len);
	if (!c->dsink_spill) {
		conn_kill(c, "out of memory for a DMA reply");
		rx->sink = NULL;
		c->dsink = (struct vu_rx_sink){ 0 };
		return;
	}
	c->dsink.buf = c->dsink_spill;
}

/*
 * Before a read of the socket DMA replies come on, with no message
 * begun: the data of a reply to the oldest awaited DMA_READ (the usual
 * next one) is received straight into the device's buffer, as the
 * synchronous path does, not copied there out of the receive buffer.
 * Any other message is received as usual (vu_rx matches id, command,
 * no error and the exact size before it uses a sink).
 */
void conn_dma_arm_sink(struct conn *c, struct vu_rx *rx)
{
	if (rx->got)
		return;                 /* decided when its header came */
	rx->sink = NULL;
	free(c->dsink_spill);
	c->dsink_spill = NULL;
	for (const struct conn_req *r = c->req_head; r; r = r->next) {
		if (!r->sent || r->answered)
			continue;
		if (r->write || r->op < 0 || r->len < 512)
			return;
		c->dsink = (struct vu_rx_sink){
			.msg_id = r->id, .command = VU_CMD_DMA_READ,
			.skip = sizeof(struct vu_dma_rw), .buf = r->buf,
			.len = r->len,
		};
		rx->sink = &c->dsink;
		return;
	}
}

void conn_dma_forget(void *opaque, unsigned op)
{
	struct conn *c = opaque;
	struct conn_req *prev = NULL, *r = c->req_head;
	while (r) {
		struct conn_req *next = r->next;
		if (r->op == (int)op) {
			if (r->sent && !r->answered) {
				r->op = -1;     /* its reply is still owed */
				sink_release(c, r);
			} else {
				if (r->answered)
					c->nanswered--;
				req_unlink(c, prev, r);
				free(r);
				r = next;
				continue;
			}
		}
		prev = r;
		r = next;
	}
}

void conn_dma_pump(struct conn *c)
{
	if (c->dead)
		return;
	bool twin = c->twin >= 0;
	int sock = twin ? c->twin : c->sock;
	struct conn_out *o = twin ? &c->twin_out : &c->out;
	for (struct conn_req *r = c->req_head;
	     r && c->nsent < CONN_MAX_SENT && !o->iovcnt; r = r->next) {
		if (r->sent)
			continue;
		uint16_t cmd = r->write ? VU_CMD_DMA_WRITE : VU_CMD_DMA_READ;
		struct vu_dma_rw q = { .addr = r->iova, .count = r->len };
		struct vu_hdr h = { .msg_id = c->next_id++, .command = cmd,
				    .flags = VU_F_TYPE_COMMAND };
		struct iovec iov[2] = {
			{ &q, sizeof(q) },
			{ r->buf, r->write ? r->len : 0 },
		};
		if (ulog_on(&c->srv->log, LOG_DEBUG))
			conn_log_dma_req(c, &h, sizeof(h) + sizeof(q) +
					 iov[1].iov_len, r->iova, r->len, true);
		/* What the socket does not take is copied: the device's
		 * buffer is not referenced once the op may end. */
		int e = conn_send_on(c, sock, o, &h, iov, 2, 0, NULL, 0);
		if (e < 0) {
			conn_kill(c, "cannot send a DMA request");
			return;
		}
		r->id = h.msg_id;
		r->sent = true;
		if (!c->nsent++)
			c->dma_progress_ms = server_now_ms();
	}
}

/* The checks of the synchronous path (server.c, conn_dma_rw). */
static int reply_check(const struct conn_req *r, struct vu_rx *rx)
{
	if (rx->nfds || rx->fds_overflow)
		return -EINVAL;
	if (rx->hdr.flags & VU_F_ERROR) {
		uint32_t e = rx->hdr.error;
		return (e && e < 4096) ? -(int)e : -EIO;
	}
	uint32_t rlen = vu_rx_len(rx);
	const struct vu_dma_rw *rep = (const void *)rx->buf;
	if (r->write)
		return rlen >= 12 && rep->addr == r->iova &&
		       (uint32_t)rep->count == r->len ? 0 : -EIO;
	if (rlen != sizeof(*rep) + r->len || rep->addr != r->iova ||
	    rep->count != r->len)
		return -EIO;
	/* Received in place, unless it went elsewhere. */
	if (!rx->sunk)
		memcpy(r->buf, rep->data, r->len);
	return 0;
}

bool conn_dma_reply(struct conn *c, struct vu_rx *rx)
{
	if ((rx->hdr.flags & VU_F_TYPE_MASK) != VU_F_TYPE_REPLY)
		return false;
	struct conn_req *r = c->req_head;
	while (r && !(r->sent && !r->answered && r->id == rx->hdr.msg_id))
		r = r->next;
	if (!r) {
		if (!c->nsent)
			return false;
		vu_rx_release(rx);
		conn_kill(c, "unexpected message instead of a DMA reply");
		return true;
	}
	uint16_t cmd = r->write ? VU_CMD_DMA_WRITE : VU_CMD_DMA_READ;
	if (rx->hdr.command != cmd) {
		vu_rx_release(rx);
		conn_kill(c, "unexpected message instead of a DMA reply");
		return true;
	}
	if (ulog_on(&c->srv->log, LOG_DEBUG))
		conn_log_dma_reply(c, rx);
	r->err = r->op >= 0 ? reply_check(r, rx) : 0;
	r->answered = true;
	/* The buffer is the device's again: nothing more may land in it. */
	if (rx->sink == &c->dsink && c->dsink.msg_id == r->id)
		rx->sink = NULL;
	c->nsent--;
	c->dma_progress_ms = server_now_ms();
	c->nanswered++;
	vu_rx_release(rx);
	return true;
}

void conn_dma_step(struct conn *c)
{
	/* Callbacks may queue or forget requests: rescan after each. */
	while (c->nanswered && !c->dead) {
		struct conn_req *prev = NULL, *r = c->req_head;
		while (r && !r->answered) {
			prev = r;
			r = r->next;
		}
		if (!r)
			break;
		req_unlink(c, prev, r);
		c->nanswered--;
		int op = r->op, err = r->err;
		free(r);
		if (op >= 0)
			dev_dma_part_done(c->srv->dev, (unsigned)op, err);
	}
	conn_out_kick(c);
	conn_dma_pump(c);
}

/*
 * A client that owes replies must give one within the timeout of the
 * last (or of the first request it owes, one it does not even read
 * included): a transfer of any size, pipelined, may take its time while
 * the client keeps answering.  A request not sent yet waits for earlier
 * ones, or for the client to read its replies, and is not timed.
 */
int64_t conn_dma_deadline(const struct conn *c)
{
	if (!c->nsent)
		return -1;
	return c->dma_progress_ms + server_send_timeout(c->srv);
}

void conn_dma_expire(struct conn *c)
{
	int64_t d = conn_dma_deadline(c);
	if (c->dead || d < 0 || server_now_ms() < d)
		return;
	c->dma_err = -ETIMEDOUT;
	conn_kill(c, "no reply to a DMA request");
}

void conn_dma_free(struct conn *c)
{
	while (c->req_head) {
		struct conn_req *r = c->req_head;
		c->req_head = r->next;
		free(r);
	}
	c->req_tail = NULL;
	c->nsent = 0;
	c->nanswered = 0;
	reply_rx(c)->sink = NULL;
	free(c->dsink_spill);
	c->dsink_spill = NULL;
}
