/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shared by the fuzz targets (built with libFuzzer, or with replay_main.c
 * for the normal test suite) and the seed generator: reading an input,
 * socket plumbing, the fds a target attaches, and the per-iteration leak
 * check on file descriptors.
 */
#ifndef UVFIO_TESTS_FUZZ_COMMON_H
#define UVFIO_TESTS_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A fuzz input consumed from the front; reads past the end give zeroes. */
struct fin {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t fin_u8(struct fin *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static inline uint16_t fin_u16(struct fin *in)
{
	uint16_t lo = fin_u8(in);
	return (uint16_t)(lo | fin_u8(in) << 8);
}

static inline uint32_t fin_u32(struct fin *in)
{
	uint32_t lo = fin_u16(in);
	return lo | (uint32_t)fin_u16(in) << 16;
}

/* Stop with a message: a finding the sanitizers would not report. */
void fuzz_die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/*
 * Fd leak check: fuzz_fd_init() notes the open fds at the start of an
 * iteration and fuzz_fd_check() dies if any other fd is open at its end.
 * The snapshot is taken per iteration because libFuzzer itself opens fds
 * between iterations (the symbolizer's pipes, when it first prints a
 * NEW_FUNC), and those are not the target's leaks.
 */
void fuzz_fd_init(void);
void fuzz_fd_check(const char *target);

/* A socketpair with large send buffers, so no side blocks on a full one. */
int fuzz_socketpair(int sv[2]);

/*
 * Send @len bytes as one sendmsg with @nfds fds attached to the first
 * byte (blocking).  Returns 0 or -errno.
 */
int fuzz_send(int sock, const void *buf, size_t len, const int *fds,
	      unsigned nfds);

/* Read and discard what is queued on @sock (non-blocking), closing any
 * fds that came with it.  Returns the bytes read, or -errno on EOF/error. */
long fuzz_drain(int sock);

/* Fds a target attaches to a message, chosen by a byte of the input. */
enum fuzz_fd_kind {
	FUZZ_FD_EVENTFD,
	FUZZ_FD_MEMFD,
	FUZZ_FD_SOCKET,      /* neither an eventfd nor mappable */
	FUZZ_FD_MIXED,       /* alternating eventfd and memfd */
};
/*
 * Make @n fds of @kind (memfds of @memsize bytes) in @fds; returns how
 * many were made.  fuzz_close_fds() closes them.
 */
unsigned fuzz_make_fds(enum fuzz_fd_kind kind, unsigned n, size_t memsize,
		       int *fds);
void fuzz_close_fds(int *fds, unsigned n);

/* Memfd sizes a spec byte selects (0-3). */
extern const size_t fuzz_memfd_sizes[4];

#endif
