/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A raw vfio-user client for the malformed-input tests: it sends exactly
 * the bytes and fds a test asks for (through src/wire's framing) and
 * checks what comes back, with no client library in between.
 * The helpers assert with cmocka.
 */
#ifndef UVFIO_TESTS_PROTO_UTIL_H
#define UVFIO_TESTS_PROTO_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/wire.h"
#include "testutil.h"

#define PC_TIMEOUT_MS 5000

struct pc {
	int sock;
	struct vu_rx rx;
	uint16_t next_id;
};

/* The server every test of one executable talks to. */
extern struct served g_served;

/* Group setup/teardown: start `uvfio-serve testdev EXTRA...` / stop it
 * (teardown fails if it did not exit cleanly on SIGTERM). */
int pc_group_setup_args(const char *const *extra);
int pc_group_setup(void **state);
int pc_group_teardown(void **state);
/* Per-test teardown: close whatever a failed test left connected. */
int pc_test_teardown(void **state);

/*
 * A second server for one test (other options, or one a test may crash):
 * stopped by pc_served_stop(), or by pc_test_teardown() when the test
 * failed before.  Returns 0 or -errno.
 */
int pc_served_start(struct served *s, const char *const *extra);
int pc_served_stop(struct served *s);

/* Connect without negotiating (to g_served, or to @path). */
void pc_connect(struct pc *pc);
void pc_connect_to(struct pc *pc, const char *path);
/* Negotiate: VERSION 0.@minor with @json; returns 0 or -errno. */
int pc_version(struct pc *pc, uint16_t minor, const char *json);
/* Connect and negotiate (minor 0, max_msg_fds 16). */
void pc_open(struct pc *pc);
void pc_close(struct pc *pc);

/* Send one message (header built here); returns its msg_id. */
uint16_t pc_send(struct pc *pc, uint16_t cmd, uint32_t flags, const void *p,
		 size_t len, const int *fds, unsigned nfds);
/* Receive one message into pc->rx (released first).  0 or -errno. */
int pc_recv(struct pc *pc, int timeout_ms);
/*
 * Send a command and wait for its reply.  Returns 0 for a success reply
 * (payload in pc->rx), -errno for an error reply.  Fails the test on a
 * timeout, a closed connection or a reply that does not match.
 */
int pc_call(struct pc *pc, uint16_t cmd, const void *p, size_t len,
	    const int *fds, unsigned nfds);
/*
 * The server closes the connection, after an error reply with errno
 * @expect_error (> 0), after an error reply with any errno (< 0), or
 * without any reply (0).
 */
void pc_expect_closed(struct pc *pc, int expect_error);
/* Nothing arrives within @ms. */
void pc_expect_silence(struct pc *pc, int ms);

/* GET_INFO succeeds with testdev's answer. */
void pc_get_info_ok(struct pc *pc);
/* A new client can negotiate and use the server. */
void pc_server_usable(void);

/* REGION_READ/WRITE; return 0 or -errno from the reply. */
int pc_region_read(struct pc *pc, uint32_t region, uint64_t off, void *buf,
		   uint32_t count);
int pc_region_write(struct pc *pc, uint32_t region, uint64_t off,
		    const void *buf, uint32_t count);
uint32_t pc_rd32(struct pc *pc, uint32_t region, uint64_t off);
void pc_wr32(struct pc *pc, uint32_t region, uint64_t off, uint32_t v);

/* The server's open fd count, once two looks 20 ms apart agree. */
int pc_server_fds(void);
/* The server's open fd count, after waiting (up to 2 s) for @want. */
int pc_server_fds_settle(int want);

int pc_eventfd(void);
int pc_memfd(size_t size);

#endif
