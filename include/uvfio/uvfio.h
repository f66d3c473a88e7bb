/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * uvfio: VFIO in userspace.  Common types shared by the device side
 * (<uvfio/device.h>) and the driver side (<uvfio/client.h>).
 *
 * Conventions: every fallible call returns 0 (or a non-negative count)
 * on success and a negative errno on failure.  Objects are opaque.
 * The library never prints; it reports through a log callback.
 */
#ifndef UVFIO_UVFIO_H
#define UVFIO_UVFIO_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/vfio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define UVFIO_EXPORT __attribute__((visibility("default")))
#else
#define UVFIO_EXPORT
#endif

#define UVFIO_VERSION_STRING "0.1.0"

/* The vfio-user protocol version uvfio speaks. */
#define UVFIO_PROTO_MAJOR 0
#define UVFIO_PROTO_MINOR 1

/*
 * Log callback.  @priority is a syslog level (LOG_ERR ... LOG_DEBUG);
 * @msg is one line without the trailing newline.
 */
typedef void (*uvfio_log_fn)(void *opaque, int priority, const char *msg);

/* Default limits, as the vfio-user specification defines them. */
#define UVFIO_DEFAULT_MAX_MSG_FDS        1u
#define UVFIO_DEFAULT_MAX_DATA_XFER      (1u << 20)
#define UVFIO_DEFAULT_MAX_DMA_MAPS       65535u
#define UVFIO_DEFAULT_PGSIZES            4096ull

/* Hard ceilings uvfio accepts from a peer during negotiation. */
#define UVFIO_LIMIT_MAX_MSG_FDS          1024u
#define UVFIO_LIMIT_MAX_DATA_XFER        (64u << 20)
#define UVFIO_LIMIT_MAX_DMA_MAPS         65535u

/* Capabilities one side announces in VERSION. */
struct uvfio_caps {
	uint32_t max_msg_fds;
	uint32_t max_data_xfer_size;
	uint32_t max_dma_maps;
	uint64_t pgsizes;
	bool write_multiple;
	bool twin_socket;
	bool migration;          /* the legacy "migration" object was present */
	uint64_t migration_pgsize;
	uint64_t migration_max_bitmap_size;
	/*
	 * uvfio extension: the client presents the VF token of the PF
	 * ("vf_token": "<uuid>"), as "ADDR vf_token=<uuid>" does for the
	 * kernel's vfio-pci.  Only clients send it.
	 */
	bool has_vf_token;
	uint8_t vf_token[16];
};

/* UUIDs (VF tokens): 16 bytes, 36 characters as text (8-4-4-4-12 hex). */
#define UVFIO_UUID_SIZE   16
#define UVFIO_UUID_STRLEN 36
/* Parse exactly one UUID string (either case); 0 or -EINVAL. */
UVFIO_EXPORT int uvfio_uuid_parse(const char *s, uint8_t uuid[UVFIO_UUID_SIZE]);
/* Lower-case text form of @uuid into @out (37 bytes with the NUL). */
UVFIO_EXPORT void uvfio_uuid_unparse(const uint8_t uuid[UVFIO_UUID_SIZE],
				     char out[UVFIO_UUID_STRLEN + 1]);

/* Name of a vfio-user command, "?" for an unknown one. */
UVFIO_EXPORT const char *uvfio_command_name(unsigned command);

/* Name of a PCI region index ("BAR0" ... "CONFIG", "VGA"), NULL if none. */
UVFIO_EXPORT const char *uvfio_region_name(unsigned index);

/* Name of a PCI IRQ index ("INTx", "MSI", "MSI-X", "ERR", "REQ"). */
UVFIO_EXPORT const char *uvfio_irq_name(unsigned index);

#ifdef __cplusplus
}
#endif
#endif
