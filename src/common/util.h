/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVFIO_COMMON_UTIL_H
#define UVFIO_COMMON_UTIL_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* @fd is an eventfd (fd.c; true where /proc cannot tell). */
bool fd_is_eventfd(int fd);

static inline void close_fd(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
		*fd = -1;
	}
}

static inline bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/* [off, off+len) lies inside [0, size), without overflow. */
static inline bool range_ok(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

static inline uint16_t get_le16(const void *p)
{
	const uint8_t *b = p;
	return (uint16_t)(b[0] | b[1] << 8);
}

static inline uint32_t get_le32(const void *p)
{
	const uint8_t *b = p;
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
}

static inline void put_le16(void *p, uint16_t v)
{
	uint8_t *b = p;
	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
}

static inline void put_le32(void *p, uint32_t v)
{
	uint8_t *b = p;
	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
	b[2] = (uint8_t)(v >> 16);
	b[3] = (uint8_t)(v >> 24);
}

/* Logging helper shared by client and server objects. */
#include <uvfio/uvfio.h>
struct ulog {
	uvfio_log_fn fn;
	void *opaque;
	int level;
};
void ulog_printf(const struct ulog *log, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * Whether a message of @prio would be logged: a caller on a hot path
 * checks this first, so that with logging off nothing is formatted and
 * no argument is computed.
 */
static inline bool ulog_on(const struct ulog *log, int prio)
{
	return log && log->fn && prio <= log->level;
}

#endif
