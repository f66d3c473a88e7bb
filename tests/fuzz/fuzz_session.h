/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVFIO_TESTS_FUZZ_SESSION_H
#define UVFIO_TESTS_FUZZ_SESSION_H

#include <stdint.h>
#include <uvfio/client.h>

#define FUZZ_SESSION_TIMEOUT_MS 50
#define FUZZ_SESSION_IOVA 0x100000ull
#define FUZZ_SESSION_DMA_SIZE (16u << 10)

/*
 * Client options for config byte @cfg: bit 0 asks for a twin socket,
 * bit 1 takes at most 4 KiB per message, bit 2 at most 1 fd.
 */
void fuzz_session_opts(uint8_t cfg, struct uvfio_open_opts *o);
/* Open the device on @sock (consumed) and drive it; closes it. */
void fuzz_session_run(int sock, uint8_t cfg);

#endif
