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
/*
 * Also drive the liveness register through an ioeventfd: registered
 * (a second registration is -EEXIST), an eventfd write reaches the
 * device, removed it reaches nothing.  The kernel backend has the
 * kernel's VFIO_DEVICE_IOEVENTFD, the vfio-user client does the write
 * itself (src/client/user_ioev.c); tests/vm compares the two.
 */
#define EDU_DRV_IOEVENTFD (1u << 2)

/*
 * Move edu's whole 4 KiB buffer per DMA instead of 2 KiB.  QEMU 7.2's
 * edu aborts on a transfer that ends at the buffer's end, so the
 * kernel comparison leaves this off; uvfio's edu handles it.
 */
#define EDU_DRV_DMA_FULL (1u << 3)

/* Returns the number of failed steps (0: all passed), or -errno. */
int edu_driver_run(struct uvfio_device *d, FILE *out, unsigned flags);
/* The ioeventfd step alone; returns the number of failed steps. */
int edu_driver_ioeventfd(struct uvfio_device *d, FILE *out);

#endif
