/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * An in-process vfio-user server for the server's unit tests: a small
 * device (BAR0: 64 KiB of memory; BAR2: 4 KiB of callbacks the test can
 * hook), its uvfio_server on one end of a socketpair, the test on the
 * other, and the loop pumped by the test itself.
 */
#ifndef UVFIO_TEST_SRV_FIXTURE_H
#define UVFIO_TEST_SRV_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "server/server.h"
#include "vu_peer.h"

#define SFIX_BAR0_SIZE (64u << 10)
#define SFIX_BAR2_SIZE 4096u

struct sfix {
	struct uvfio_dev *dev;
	struct uvfio_server *srv;
	int peer;                /* the client's end of the main socket */
	int twin;                /* the client's end of the twin socket, or -1 */
	uint16_t next_id;        /* the client's message ids */
	uint8_t *bar0;
	uint8_t bar2[SFIX_BAR2_SIZE];
	unsigned bar2_writes;
	/* Called from BAR2's write callback, after the write is stored. */
	void (*on_bar2_write)(struct sfix *f, uint64_t off, size_t len);
	void *user;
};

/* Build the device and server, adopt a socketpair; no VERSION yet. */
void sfix_init(struct sfix *f, const struct uvfio_server_opts *opts);
/* Same, with @build adding to the device before it is served. */
void sfix_init_build(struct sfix *f, const struct uvfio_server_opts *opts,
		     void (*build)(struct sfix *f));
/* VERSION with @caps_json (NULL: "{}"); twin: ask for a twin socket. */
void sfix_negotiate(struct sfix *f, const char *caps_json, bool twin);
void sfix_fini(struct sfix *f);

/* The server's connection (NULL once it dropped the client). */
static inline struct conn *sfix_conn(struct sfix *f)
{
	return f->srv->conn;
}

/* Run the server's loop as a caller's loop would (dispatch when its fd
 * is readable) for @ms; with 0, one round if anything is ready. */
void sfix_pump(struct sfix *f, int ms);

/* Send a command from the client; returns its id. */
uint16_t sfix_send(struct sfix *f, uint16_t cmd, uint32_t flags,
		   const void *p, size_t len, const int *fds, unsigned nfds);
/* Pump the loop until a message arrives on @sock (2 s at most). */
int sfix_recv(struct sfix *f, int sock, struct pmsg *m);
/* A command and its reply (asserted to be the reply to it). */
void sfix_call(struct sfix *f, uint16_t cmd, const void *p, size_t len,
	       const int *fds, unsigned nfds, struct pmsg *rep);

/* Map an fd-less DMA window from the client, asserting success. */
void sfix_map_fdless(struct sfix *f, uint64_t iova, uint64_t size);

#endif
