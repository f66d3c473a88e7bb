/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A driver for QEMU's edu device written once against the uvfio client
 * API, so the same code drives QEMU's edu through the kernel's vfio-pci
 * and uvfio's edu through vfio-user.  Each step prints one result line;
 * two runs are compared line by line.
 */
#ifndef UVFIO_EDU_DRIVER_H
#define UVFIO_EDU_DRIVER_H

#include <stdio.h>
#include <uvfio/client.h>

#define EDU_DRV_INTX   (1u << 0)   /* also run the factorial with INTx */
#define EDU_DRV_RESET  (1u << 1)   /* end with a device reset */

/* Returns the number of failed steps (0: all passed), or -errno. */
int edu_driver_run(struct uvfio_device *d, FILE *out, unsigned flags);

#endif
