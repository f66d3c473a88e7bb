/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVFIO_TESTS_FUZZ_SEEDGEN_H
#define UVFIO_TESTS_FUZZ_SEEDGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/proto.h"

/* A growing byte buffer: one seed file. */
struct buf {
	uint8_t *p;
	size_t len, cap;
};
void buf_put(struct buf *b, const void *p, size_t len);
void buf_u8(struct buf *b, uint8_t v);
void buf_u16(struct buf *b, uint16_t v);
void buf_free(struct buf *b);
/* Write @b to @dir/@name; exits on failure. */
void seed_write(const char *dir, const char *name, const struct buf *b);

/* One message of a recorded conversation. */
struct rec_msg {
	bool to_client;          /* sent by the server */
	struct vu_hdr hdr;
	uint8_t *body;           /* msg_size - 16 bytes */
	unsigned nfds;
	int fd_kind;             /* enum fuzz_fd_kind of the fds, -1 none */
	size_t memsize;          /* largest memfd attached */
};

struct recording {
	struct rec_msg *m;
	size_t n;
};

/*
 * Run @session(sock, arg) — a client on @sock, which it consumes —
 * against a real testdev server (fresh, options @srv_opts), through a
 * proxy that records every message both ways.
 */
struct uvfio_server_opts;
void record(void (*session)(int sock, void *arg), void *arg,
	    const struct uvfio_server_opts *srv_opts, struct recording *out);
void recording_free(struct recording *r);

/* Seeds from a recording for the server target (client to server
 * messages after VERSION) and the client target (the server's side). */
void rec_to_server_seed(const struct recording *r, uint8_t cfg,
			struct buf *out);
/*
 * @hook (may be NULL) sees each message of the server's side first; when
 * it returns true it has written its own records in its place.
 */
typedef bool (*client_hook)(size_t i, const struct rec_msg *m,
			    struct buf *out, void *arg);
void rec_to_client_seed(const struct recording *r, uint8_t cfg,
			struct buf *out, client_hook hook, void *arg);
/* One record of a client-target input (fuzz_client.c). */
void client_record(struct buf *out, uint8_t ctl, const void *p, size_t len);
/* Hostile variants of the client session's replies (seedgen_client.c). */
void client_variants(const struct recording *session, uint8_t cfg);
/* Write a seed under the corpus directory (seedgen.c). */
void seed_out(const char *target, const char *name, const struct buf *b);

#endif
