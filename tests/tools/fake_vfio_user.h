/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A scripted vfio-user server for the lsvfio tests: it answers VERSION,
 * DEVICE_GET_INFO, DEVICE_GET_REGION_INFO, DEVICE_GET_IRQ_INFO and
 * REGION_READ from a description, so that lsvfio can be shown config
 * spaces, region capabilities and failures no device model has.  The one
 * REGION_WRITE it takes is to the address register of a VPD capability.
 */
#ifndef UVFIO_TESTS_FAKE_VFIO_USER_H
#define UVFIO_TESTS_FAKE_VFIO_USER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define FAKE_MAX_REGIONS 16
#define FAKE_MAX_IRQS    8
#define FAKE_CONFIG_SIZE 4096
#define FAKE_VPD_SIZE    256

struct fake_region {
	uint64_t size;
	uint32_t flags;            /* VFIO_REGION_INFO_FLAG_*, CAPS added as needed */
	int error;                 /* > 0: answer GET_REGION_INFO with this errno */
	bool has_type;
	uint32_t type, subtype;
	bool msix_mappable;
};

struct fake_irq {
	uint32_t flags, count;
};

struct fake_device {
	uint32_t flags;            /* VFIO_DEVICE_FLAGS_* */
	uint32_t num_regions;      /* may exceed FAKE_MAX_REGIONS: the rest are empty */
	uint32_t num_irqs;
	struct fake_region regions[FAKE_MAX_REGIONS];
	struct fake_irq irqs[FAKE_MAX_IRQS];
	uint8_t config[FAKE_CONFIG_SIZE];
	/* Reads of config space beyond 256 bytes fail with EINVAL. */
	bool refuse_extended_config;
	/* Stop answering (but stay connected) after this many commands; 0: never. */
	unsigned answer_only;
	/*
	 * The VPD capability at vpd_cap (the test links it into the chain):
	 * writing its address with F = 0 sets F and the data register from
	 * vpd[addr..addr+3], unless vpd_stuck or addr + 4 > vpd_len, when F
	 * stays 0.  vpd_cap 0: every REGION_WRITE is refused (ENOTSUP).
	 */
	unsigned vpd_cap;
	uint8_t vpd[FAKE_VPD_SIZE];
	unsigned vpd_len;
	bool vpd_stuck;
};

struct fake_server {
	pid_t pid;
	char dir[64];
	char path[108];
};

/* Serve @dev (copied) at a fresh temporary socket from a child process. */
int fake_server_start(struct fake_server *s, const struct fake_device *dev);
void fake_server_stop(struct fake_server *s);

#endif
