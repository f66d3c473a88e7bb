/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The other end of a vfio-user socketpair, written independently of
 * src/wire/: raw sendmsg/recvmsg of whole messages with their fds, so
 * that the server and client units are checked against the protocol as
 * the specification frames it, not against their own framing code.
 */
#ifndef UVFIO_TEST_VU_PEER_H
#define UVFIO_TEST_VU_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/proto.h"

#define PMSG_MAX_FDS 32

struct pmsg {
	struct vu_hdr hdr;
	uint8_t *data;           /* payload, NUL-terminated; NULL when none */
	uint32_t len;            /* payload bytes */
	int fds[PMSG_MAX_FDS];
	unsigned nfds;
};

/*
 * Read one whole message within @timeout_ms: 0, -ETIMEDOUT (nothing, or
 * only part of one, came), -ECONNRESET (EOF), -EPROTO (msg_size < 16).
 */
int peer_recv(int sock, struct pmsg *m, int timeout_ms);
/* Close the message's fds and free its payload. */
void pmsg_free(struct pmsg *m);

/*
 * Send one message: @h with msg_size filled in, @len bytes of @p, @fds
 * with the first byte.  Blocks until all of it is written; 0 or -errno.
 */
int peer_send(int sock, struct vu_hdr h, const void *p, size_t len,
	      const int *fds, unsigned nfds);
/* A reply to @req: same id and command, TYPE_REPLY. */
int peer_reply(int sock, const struct pmsg *req, const void *p, size_t len,
	       const int *fds, unsigned nfds);
/* An error reply to @req with @err (positive errno). */
int peer_reply_error(int sock, const struct pmsg *req, uint32_t err);
/* Raw bytes, all of them, with optional fds on the first. */
int peer_send_raw(int sock, const void *buf, size_t len, const int *fds,
		  unsigned nfds);

/* True when nothing at all arrives on @sock within @ms. */
bool peer_quiet(int sock, int ms);

/* Milliseconds on CLOCK_MONOTONIC. */
int64_t peer_now_ms(void);

/* Whether @fd is an open descriptor. */
bool fd_open(int fd);

#endif
