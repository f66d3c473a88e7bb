/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The hostile-client suite: each case sends one hostile input to a real
 * `uvfio-serve testdev` process (tests/proto/proto_util.h's raw client),
 * then checks that the server survived it whole:
 *   - it is alive and answers correct requests correctly (GET_INFO, a
 *     register read) — on the same connection, or, for a case that may
 *     be dropped (framing corruption), on a new one;
 *   - once the case's leftovers are released with correct requests (DMA
 *     UNMAP_ALL, interrupts disabled), its open fd count is back to the
 *     baseline, its memory (VmRSS less RssShmem: device BAR memory a
 *     client may touch is no leak) within H_RSS_SLACK_KB of the baseline
 *     (16 MiB; 64 MiB under ASan, whose quarantine keeps freed memory)
 *     and its mapping count within H_MAPS_SLACK.
 * Every case is counted; the count is printed at the end.
 */
#ifndef UVFIO_TESTS_HOSTILE_H
#define UVFIO_TESTS_HOSTILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto_util.h"

/* Under AddressSanitizer freed memory sits in its quarantine a while,
 * and its allocator maps regions of its own. */
#if defined(__SANITIZE_ADDRESS__)
#define H_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define H_ASAN 1
#endif
#endif
#ifdef H_ASAN
#define H_RSS_SLACK_KB (64 * 1024)
#define H_MAPS_SLACK 64
#else
#define H_RSS_SLACK_KB (16 * 1024)
#define H_MAPS_SLACK 16
#endif

/* Group setup: start the server, warm it up, take the baselines. */
int h_group_setup(void **state);
/* Group teardown: stop the server (it must exit cleanly), print the count. */
int h_group_teardown(void **state);

/*
 * A case on @pc (connected and negotiated) is over: check the server as
 * described above.  @may_drop: the server may have closed @pc (it is
 * then reopened).  Any message still unread on @pc fails the case.
 */
void h_case_done(struct pc *pc, bool may_drop, const char *what, ...)
	__attribute__((format(printf, 3, 4)));
/* Same for a case that ran on its own connections, all closed now. */
void h_case_done_idle(const char *what, ...)
	__attribute__((format(printf, 1, 2)));

/*
 * Send one message with any header flags and wait for what comes back:
 * 1 a reply (success, payload in pc->rx), -errno an error reply, 0 no
 * reply (checked by a GET_INFO sent after it, whose reply must come
 * next), -ECONNRESET the server closed the connection.
 */
int h_exchange(struct pc *pc, uint16_t cmd, uint32_t flags, const void *p,
	       size_t len, const int *fds, unsigned nfds);

/* The server's memory in KiB (VmRSS - RssShmem) and mapping count. */
long h_server_rss_kb(void);
int h_server_maps(void);

/* Fds of many kinds for the "fds where none belong" cases. */
int h_fd_of_kind(unsigned kind);   /* 0 eventfd, 1 memfd, 2 socket, 3 pipe, 4 /dev/null */
#define H_FD_KINDS 5

unsigned h_cases(void);

#endif
