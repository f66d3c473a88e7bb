/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Framing: one vfio-user message per sendmsg (header, payload and fds
 * together), and an incremental receiver that assembles a whole message
 * however many reads it takes, validating msg_size before it reads the
 * payload and never reading past the end of the current message (so fds
 * of the next message are never taken for this one).
 */
#ifndef UVFIO_WIRE_WIRE_H
#define UVFIO_WIRE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "wire/proto.h"
#include <uvfio/uvfio.h>

struct vu_limits {
	uint32_t max_msg_size;   /* whole message, header included */
	uint32_t max_fds;        /* fds accepted with one message */
};

/*
 * Where the data of one expected reply goes, so that it is not copied
 * again: a reply with this id and command, no error, and exactly @skip +
 * @len bytes of payload has its first @skip bytes put in rx->buf and the
 * @len after them in @buf.  Any other message is received as usual.
 */
struct vu_rx_sink {
	uint16_t msg_id;
	uint16_t command;
	uint32_t skip;
	void *buf;
	size_t len;
};

/* Incremental receiver; one per socket. */
struct vu_rx {
	struct vu_hdr hdr;
	uint8_t *buf;            /* payload (after the header) */
	size_t cap;
	size_t got;              /* bytes of the whole message received */
	int *fds;
	unsigned nfds;
	unsigned fd_cap;
	bool fds_overflow;       /* the peer attached more than max_fds */
	bool complete;
	const struct vu_rx_sink *sink;  /* set by the owner, or NULL */
	bool sunk;               /* this message's data went to sink->buf */
};

void vu_rx_init(struct vu_rx *rx);
/* Close every fd still held and forget the message. */
void vu_rx_release(struct vu_rx *rx);
void vu_rx_fini(struct vu_rx *rx);

/* Payload of a complete message and its length. */
static inline uint32_t vu_rx_len(const struct vu_rx *rx)
{
	return rx->hdr.msg_size - (uint32_t)sizeof(struct vu_hdr);
}

/*
 * Read what is available.  Returns 1 when a whole message is in @rx,
 * 0 when more data is needed (non-blocking socket, EAGAIN), -ECONNRESET
 * when the peer closed (also mid-message), -EMSGSIZE when msg_size is
 * below 16 or above lim->max_msg_size, or another -errno.
 */
int vu_rx_step(struct vu_rx *rx, int sock, const struct vu_limits *lim);

/*
 * Same, but sleeping in recvmsg until the message is whole, for a
 * blocking socket whose SO_RCVTIMEO bounds each wait: 0 then means that
 * the wait ended (timed out, also with part of the message in, or a
 * signal) before the message was whole, so that the caller can look at
 * its own deadline.  Saves a poll() per message.
 */
int vu_rx_wait(struct vu_rx *rx, int sock, const struct vu_limits *lim);

/*
 * Receive one whole message, waiting at most @timeout_ms in total
 * (-1: forever).  Returns 0, -ETIMEDOUT, or vu_rx_step()'s errors.
 */
int vu_recv(struct vu_rx *rx, int sock, const struct vu_limits *lim,
	    int timeout_ms);

/*
 * Send header + @iov[0..@iovcnt) + @fds in one sendmsg when possible.
 * hdr->msg_size is filled in.  Handles short writes and EAGAIN, waiting
 * at most @timeout_ms for the socket to drain.  Returns 0 or -errno.
 */
int vu_send(int sock, struct vu_hdr *hdr, const struct iovec *iov,
	    unsigned iovcnt, const int *fds, unsigned nfds, int timeout_ms);

/*
 * While vu_send_watch() waits for room to send, it also polls @fd for
 * input (@fd may be the socket being sent on) and calls @readable when
 * there is some, so that a peer that is itself blocked sending to us can
 * be served.  @readable returns < 0 to fail the send with that error,
 * 0 to go on, > 0 to stop watching (@fd is then set to -1).
 */
struct vu_send_watch {
	int fd;
	int (*readable)(void *opaque);
	void *opaque;
};

/* vu_send(), watching @w (may be NULL) while it waits. */
int vu_send_watch(int sock, struct vu_hdr *hdr, const struct iovec *iov,
		  unsigned iovcnt, const int *fds, unsigned nfds,
		  int timeout_ms, struct vu_send_watch *w);

/* Send a bare error reply to @req. */
int vu_send_error(int sock, const struct vu_hdr *req, int err, int timeout_ms);

/* ---- VERSION JSON ---- */

void vu_caps_default(struct uvfio_caps *caps);
/*
 * Build the JSON for @caps.  @twin_fd_index >= 0 adds
 * "twin_socket": {"supported": true, "fd_index": N}; with
 * @twin_request the object carries only "supported": true.
 * Returns a malloc'd NUL-terminated string, or NULL.
 */
char *vu_caps_to_json(const struct uvfio_caps *caps, bool twin_request,
		      int twin_fd_index);
/*
 * Parse @len bytes of version data into @caps (defaults first).
 * @twin_fd_index receives twin_socket.fd_index or -1.  On error returns
 * -EINVAL and writes a human-readable reason into @err.
 */
int vu_caps_from_json(const char *data, size_t len, struct uvfio_caps *caps,
		      int *twin_fd_index, char *err, size_t errlen);

#endif
