/* SPDX-License-Identifier: BSD-3-Clause */
/* QEMU's edu device: register map (docs/specs/edu.rst). */
#ifndef UVFIO_DEVICES_EDU_H
#define UVFIO_DEVICES_EDU_H

#include <uvfio/device.h>

#define EDU_VENDOR            0x1234
#define EDU_DEVICE            0x11e8
#define EDU_BAR0_SIZE         (1u << 20)
#define EDU_ID                0x010000edu

#define EDU_REG_ID            0x00
#define EDU_REG_LIVENESS      0x04
#define EDU_REG_FACT          0x08
#define EDU_REG_STATUS        0x20
#define EDU_REG_IRQ_STATUS    0x24
#define EDU_REG_IRQ_RAISE     0x60
#define EDU_REG_IRQ_ACK       0x64
#define EDU_REG_DMA_SRC       0x80
#define EDU_REG_DMA_DST       0x88
#define EDU_REG_DMA_CNT       0x90
#define EDU_REG_DMA_CMD       0x98

#define EDU_STATUS_COMPUTING  0x01
#define EDU_STATUS_IRQFACT    0x80
#define EDU_IRQ_FACT          0x001
#define EDU_IRQ_DMA           0x100

#define EDU_DMA_RUN           0x1
#define EDU_DMA_DIR_TO_RAM    0x2
#define EDU_DMA_IRQ           0x4
#define EDU_DMA_START         0x40000u
#define EDU_DMA_SIZE          4096u
#define EDU_DMA_MASK          ((1ull << 28) - 1)

/* Completion delays: asynchronous, as in QEMU, but quick. */
#define EDU_FACT_DELAY_NS     10000ull
#define EDU_DMA_DELAY_NS      1000000ull

/* Build an edu device; *state gets the model's state for destroy. */
struct uvfio_dev *edu_create(void **state, uint64_t dma_delay_ns);

#endif
