/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vfio-user messages as they travel on the socket.  Every struct is packed
 * and little-endian by definition; sizes are checked at compile time
 * against the specification's tables.
 */
#ifndef UVFIO_WIRE_PROTO_H
#define UVFIO_WIRE_PROTO_H

#include <stdint.h>
#include <linux/vfio.h>

#define VU_PACKED __attribute__((packed))

enum vu_command {
	VU_CMD_VERSION = 1,
	VU_CMD_DMA_MAP = 2,
	VU_CMD_DMA_UNMAP = 3,
	VU_CMD_DEVICE_GET_INFO = 4,
	VU_CMD_DEVICE_GET_REGION_INFO = 5,
	VU_CMD_DEVICE_GET_REGION_IO_FDS = 6,
	VU_CMD_DEVICE_GET_IRQ_INFO = 7,
	VU_CMD_DEVICE_SET_IRQS = 8,
	VU_CMD_REGION_READ = 9,
	VU_CMD_REGION_WRITE = 10,
	VU_CMD_DMA_READ = 11,
	VU_CMD_DMA_WRITE = 12,
	VU_CMD_DEVICE_RESET = 13,
	VU_CMD_REGION_WRITE_MULTI = 15,
	VU_CMD_DEVICE_FEATURE = 16,
	VU_CMD_MIG_DATA_READ = 17,
	VU_CMD_MIG_DATA_WRITE = 18,
	VU_CMD_MAX = 19,
};

#define VU_F_TYPE_MASK     0xfu
#define VU_F_TYPE_COMMAND  0x0u
#define VU_F_TYPE_REPLY    0x1u
#define VU_F_NO_REPLY      0x10u
#define VU_F_ERROR         0x20u

struct vu_hdr {
	uint16_t msg_id;
	uint16_t command;
	uint32_t msg_size;
	uint32_t flags;
	uint32_t error;
} VU_PACKED;

struct vu_version {
	uint16_t major;
	uint16_t minor;
	char data[];             /* JSON, NUL terminated */
} VU_PACKED;

#define VU_DMA_FLAG_READ   (1u << 0)
#define VU_DMA_FLAG_WRITE  (1u << 1)
#define VU_DMA_UNMAP_FLAG_ALL (1u << 1)

struct vu_dma_map {
	uint32_t argsz;
	uint32_t flags;
	uint64_t offset;
	uint64_t addr;
	uint64_t size;
} VU_PACKED;

struct vu_dma_unmap {
	uint32_t argsz;
	uint32_t flags;
	uint64_t addr;
	uint64_t size;
} VU_PACKED;

struct vu_device_info {
	uint32_t argsz;
	uint32_t flags;
	uint32_t num_regions;
	uint32_t num_irqs;
} VU_PACKED;

struct vu_region_info {
	uint32_t argsz;
	uint32_t flags;
	uint32_t index;
	uint32_t cap_offset;
	uint64_t size;
	uint64_t offset;
} VU_PACKED;

struct vu_cap_header {
	uint16_t id;
	uint16_t version;
	uint32_t next;
} VU_PACKED;

struct vu_sparse_area {
	uint64_t offset;
	uint64_t size;
} VU_PACKED;

struct vu_cap_sparse_mmap {
	struct vu_cap_header header;
	uint32_t nr_areas;
	uint32_t reserved;
	struct vu_sparse_area areas[];
} VU_PACKED;

struct vu_cap_type {
	struct vu_cap_header header;
	uint32_t type;
	uint32_t subtype;
} VU_PACKED;

struct vu_region_io_fds_req {
	uint32_t argsz;
	uint32_t flags;
	uint32_t index;
	uint32_t count;
} VU_PACKED;

struct vu_ioeventfd_entry {
	uint64_t offset;
	uint64_t size;
	uint32_t fd_index;
	uint32_t type;           /* 0 ioeventfd, 1 ioregionfd */
	uint32_t flags;          /* 1: datamatch valid */
	uint32_t reserved;
	uint64_t datamatch;
} VU_PACKED;

struct vu_irq_info {
	uint32_t argsz;
	uint32_t flags;
	uint32_t index;
	uint32_t count;
} VU_PACKED;

struct vu_irq_set {
	uint32_t argsz;
	uint32_t flags;
	uint32_t index;
	uint32_t start;
	uint32_t count;
	uint8_t data[];
} VU_PACKED;

struct vu_region_rw {
	uint64_t offset;
	uint32_t region;
	uint32_t count;
	uint8_t data[];
} VU_PACKED;

struct vu_dma_rw {
	uint64_t addr;
	uint64_t count;
	uint8_t data[];
} VU_PACKED;

#define VU_MULTI_DATA 8
struct vu_wr_one {
	uint64_t offset;
	uint32_t region;
	uint32_t count;
	uint8_t data[VU_MULTI_DATA];
} VU_PACKED;

struct vu_write_multi {
	uint64_t wr_cnt;
	struct vu_wr_one wrs[];
} VU_PACKED;

struct vu_device_feature {
	uint32_t argsz;
	uint32_t flags;
	uint8_t data[];
} VU_PACKED;

struct vu_mig_data {
	uint32_t argsz;
	uint32_t size;
	uint8_t data[];
} VU_PACKED;

/* The most REGION_WRITE_MULTI entries uvfio accepts in one message. */
#define VU_MULTI_MAX 1024u

_Static_assert(sizeof(struct vu_hdr) == 16, "header is 16 bytes");
_Static_assert(sizeof(struct vu_version) == 4, "version");
_Static_assert(sizeof(struct vu_dma_map) == 32, "DMA_MAP is 32 bytes");
_Static_assert(sizeof(struct vu_dma_unmap) == 24, "DMA_UNMAP is 24 bytes");
_Static_assert(sizeof(struct vu_device_info) == 16, "DEVICE_GET_INFO");
_Static_assert(sizeof(struct vu_region_info) == 32, "REGION_INFO");
_Static_assert(sizeof(struct vu_cap_header) == 8, "cap header");
_Static_assert(sizeof(struct vu_cap_sparse_mmap) == 16, "sparse cap");
_Static_assert(sizeof(struct vu_sparse_area) == 16, "sparse area");
_Static_assert(sizeof(struct vu_cap_type) == 16, "type cap");
_Static_assert(sizeof(struct vu_region_io_fds_req) == 16, "IO_FDS");
_Static_assert(sizeof(struct vu_ioeventfd_entry) == 40, "ioeventfd entry");
_Static_assert(sizeof(struct vu_irq_info) == 16, "IRQ_INFO");
_Static_assert(sizeof(struct vu_irq_set) == 20, "SET_IRQS");
_Static_assert(sizeof(struct vu_region_rw) == 16, "REGION_READ/WRITE");
_Static_assert(sizeof(struct vu_dma_rw) == 16, "DMA_READ/WRITE");
_Static_assert(sizeof(struct vu_wr_one) == 24, "write multi entry");
_Static_assert(sizeof(struct vu_write_multi) == 8, "write multi");
_Static_assert(sizeof(struct vu_device_feature) == 8, "DEVICE_FEATURE");
_Static_assert(sizeof(struct vu_mig_data) == 8, "MIG_DATA");
_Static_assert(sizeof(struct vu_region_info) ==
	       sizeof(struct vfio_region_info), "matches the kernel's");
_Static_assert(sizeof(struct vu_irq_set) == sizeof(struct vfio_irq_set),
	       "matches the kernel's");

#endif
