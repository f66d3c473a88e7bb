/* SPDX-License-Identifier: BSD-3-Clause */
/* The device models built into uvfio-serve. */
#ifndef UVFIO_DEVICES_MODELS_H
#define UVFIO_DEVICES_MODELS_H

#include <uvfio/device.h>

struct uvfio_model {
	const char *name;
	const char *description;
	/* Build the device; *state receives the model's private state. */
	struct uvfio_dev *(*create)(void **state);
	void (*destroy)(void *state);
};

extern const struct uvfio_model uvfio_model_testdev;
extern const struct uvfio_model uvfio_model_edu;
extern const struct uvfio_model uvfio_model_capdev;
extern const struct uvfio_model uvfio_model_sriov;

/* testdev register map (BAR0), used by the test suite. */
#define TESTDEV_VENDOR      0x1234
#define TESTDEV_DEVICE      0x5678
#define TESTDEV_REG_ID      0x00   /* RO 0x75766669 */
#define TESTDEV_ID_VALUE    0x75766669u
#define TESTDEV_REG_SCRATCH 0x04   /* RW */
#define TESTDEV_REG_COUNT   0x08   /* RO: writes seen at TESTDEV_REG_BUMP */
#define TESTDEV_REG_BUMP    0x0c   /* WO: each write adds its value to COUNT */
#define TESTDEV_REG_DMA_ADDR 0x10  /* RW 64-bit */
#define TESTDEV_REG_DMA_LEN 0x18   /* RW */
#define TESTDEV_REG_DMA_CMD 0x1c   /* WO: 1 guest->buffer, 2 buffer->guest;
				      | 0x100: run from a timer 1 ms later */
#define TESTDEV_REG_DMA_STATUS 0x20 /* RO: 0 done ok, errno, or 0xffffffff busy */
#define TESTDEV_REG_IRQ     0x24   /* WO: (index << 16) | vector: raise it */
/* The value testdev's second doorbell writes to TESTDEV_REG_IRQ: MSI 0. */
#define TESTDEV_DOORBELL_MSI0 0x10000u
#define TESTDEV_REG_RESETS  0x28   /* RO: resets seen */
#define TESTDEV_REG_IRQ_RESULT 0x2c /* RO: result of the last IRQ raise */
#define TESTDEV_REG_LOW_POWER 0x30 /* RO: 1 after DEVICE_FEATURE
				      LOW_POWER_ENTRY, 0 after _EXIT */
#define TESTDEV_BAR0_SIZE   4096u
#define TESTDEV_MSIX_VECTORS 8u
#define TESTDEV_MSIX_TABLE  0x800u         /* in BAR0, above the registers */
#define TESTDEV_MSIX_PBA    0xc00u         /* in BAR0 */
#define TESTDEV_BAR2_SIZE   (128u << 20)   /* 64-bit prefetchable memory */
#define TESTDEV_BAR4_SIZE   (64u << 10)    /* memory, sparse mmap */
#define TESTDEV_BAR5_SIZE   256u           /* IO, callbacks */
#define TESTDEV_DMA_BUF_SIZE (64u << 20)
#define TESTDEV_ROM_SIZE    4096u
#define TESTDEV_REGION9_SIZE 4096u
#define TESTDEV_REGION9_TYPE 0x1234u
#define TESTDEV_REGION9_SUBTYPE 5u

/*
 * capdev: a PCI Express endpoint with every capability the builder offers
 * (devices/capdev/capdev.c).  Memory decoding gates its memory BARs.
 */
#define CAPDEV_VENDOR       0x1234
#define CAPDEV_DEVICE       0xcafe
#define CAPDEV_REG_ID       0x00   /* RO CAPDEV_ID_VALUE */
#define CAPDEV_ID_VALUE     0x63617064u
#define CAPDEV_REG_SCRATCH  0x04   /* RW */
#define CAPDEV_REG_IRQ      0x08   /* WO: (index << 16) | vector: raise it */
#define CAPDEV_REG_IRQ_RESULT 0x0c /* RO: -errno of the last raise */
#define CAPDEV_REG_RESETS   0x10   /* RO: resets seen (DEVICE_RESET, FLR) */
#define CAPDEV_REG_STATUS   0x14   /* WO: set these STATUS bits (errors) */
#define CAPDEV_BAR0_SIZE    4096u  /* registers, 32-bit memory */
#define CAPDEV_BAR2_SIZE    16384u /* 64-bit memory: MSI-X table and PBA */
#define CAPDEV_BAR4_SIZE    32u    /* I/O ports: plain storage */
#define CAPDEV_MSI_VECTORS  4u
#define CAPDEV_MSIX_VECTORS 16u
#define CAPDEV_MSIX_TABLE   0x0000u  /* in BAR2 */
#define CAPDEV_MSIX_PBA     0x1000u  /* in BAR2 */
#define CAPDEV_SERIAL       0x0123456789abcdefull
#define CAPDEV_VPD_SIZE     64u

/*
 * sriov: an SR-IOV PF whose VFs its client enables (devices/sriov/).
 * PF and VFs have the same BAR0 registers; VF N is served on
 * "<PF socket>.vfN".
 */
#define SRIOV_VENDOR        0x1234
#define SRIOV_PF_DEVICE     0x5a10
#define SRIOV_VF_DEVICE     0x5a11
#define SRIOV_TOTAL_VFS     4u
#define SRIOV_REG_ID        0x00   /* RO: SRIOV_PF_ID_VALUE / _VF_ID_VALUE */
#define SRIOV_PF_ID_VALUE   0x73727066u  /* "srpf" */
#define SRIOV_VF_ID_VALUE   0x73727666u  /* "srvf" */
#define SRIOV_REG_SCRATCH   0x04   /* RW */
#define SRIOV_REG_INDEX     0x08   /* RO: the VF's index (PF: 0) */
#define SRIOV_BAR0_SIZE     4096u

#endif
