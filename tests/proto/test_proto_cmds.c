/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Every command after negotiation: payloads of every length from 0 to
 * the struct size + 64 get a correct reply or an error reply (never a
 * crash or a dropped connection); unknown commands, bad argsz, the info
 * commands, reset, REGION_WRITE_MULTI, DEVICE_FEATURE, migration data.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/pci_regs.h>
#include <cmocka.h>

#include "devices/models.h"
#include "proto_util.h"

#define SWEEP_EXTRA 64
#define MAP_IOVA 0x4000000ull

static void unmap_quietly(struct pc *pc, uint64_t iova, uint64_t size)
{
	struct vu_dma_unmap u = { .argsz = sizeof(u), .addr = iova, .size = size };
	int r = pc_call(pc, VU_CMD_DMA_UNMAP, &u, sizeof(u), NULL, 0);
	assert_true(r == 0 || r == -ENOENT);
}

static void map_one(struct pc *pc, uint64_t iova, uint64_t size)
{
	struct vu_dma_map m = { .argsz = sizeof(m), .flags = 3, .addr = iova,
				.size = size };
	assert_int_equal(pc_call(pc, VU_CMD_DMA_MAP, &m, sizeof(m), NULL, 0), 0);
}

/* Valid requests, built in a zeroed buffer of the struct size + 64. */
static void b_dma_map(uint8_t *p)
{
	struct vu_dma_map m = { .argsz = sizeof(m), .flags = 3, .addr = MAP_IOVA,
				.size = 0x1000 };
	memcpy(p, &m, sizeof(m));
}

static void b_dma_unmap(uint8_t *p)
{
	struct vu_dma_unmap u = { .argsz = sizeof(u), .addr = MAP_IOVA,
				  .size = 0x1000 };
	memcpy(p, &u, sizeof(u));
}

static void b_get_info(uint8_t *p)
{
	struct vu_device_info i = { .argsz = sizeof(i) };
	memcpy(p, &i, sizeof(i));
}

static void b_region_info(uint8_t *p)
{
	struct vu_region_info i = { .argsz = sizeof(i), .index = 0 };
	memcpy(p, &i, sizeof(i));
}

static void b_io_fds(uint8_t *p)
{
	struct vu_region_io_fds_req i = { .argsz = sizeof(i), .index = 0 };
	memcpy(p, &i, sizeof(i));
}

static void b_irq_info(uint8_t *p)
{
	struct vu_irq_info i = { .argsz = sizeof(i), .index = 1 };
	memcpy(p, &i, sizeof(i));
}

static void b_set_irqs(uint8_t *p)
{
	struct vu_irq_set s = { .argsz = sizeof(s),
				.flags = VFIO_IRQ_SET_DATA_NONE |
					 VFIO_IRQ_SET_ACTION_TRIGGER,
				.index = VFIO_PCI_MSI_IRQ_INDEX };
	memcpy(p, &s, sizeof(s));
}

static void b_region_read(uint8_t *p)
{
	struct vu_region_rw r = { .offset = TESTDEV_REG_ID, .region = 0, .count = 4 };
	memcpy(p, &r, sizeof(r));
}

static void b_region_write(uint8_t *p)
{
	struct vu_region_rw r = { .offset = TESTDEV_REG_SCRATCH, .region = 0,
				  .count = 4 };
	memcpy(p, &r, sizeof(r));
	memset(p + sizeof(r), 0x42, 4);
}

static void b_write_multi(uint8_t *p)
{
	struct vu_write_multi m = { .wr_cnt = 1 };
	struct vu_wr_one w = { .offset = TESTDEV_REG_SCRATCH, .region = 0,
			       .count = 4, .data = { 1, 2, 3, 4 } };
	memcpy(p, &m, sizeof(m));
	memcpy(p + sizeof(m), &w, sizeof(w));
}

static void b_feature(uint8_t *p)
{
	struct vu_device_feature f = {
		.argsz = sizeof(f),
		.flags = VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_GET |
			 VFIO_DEVICE_FEATURE_MIGRATION,
	};
	memcpy(p, &f, sizeof(f));
}

static void b_mig(uint8_t *p)
{
	struct vu_mig_data m = { .argsz = sizeof(m), .size = 0 };
	memcpy(p, &m, sizeof(m));
}

static void b_dma_rw(uint8_t *p)
{
	struct vu_dma_rw d = { .addr = MAP_IOVA, .count = 4 };
	memcpy(p, &d, sizeof(d));
}

struct sweep {
	uint16_t cmd;
	size_t size;          /* the request struct (and valid length) */
	int result;           /* at lengths >= size (or == size if exact) */
	bool exact;           /* other lengths are EINVAL */
	void (*build)(uint8_t *p);
	bool map_before, unmap_after;
};

static const struct sweep sweeps[] = {
	{ VU_CMD_DMA_MAP, 32, 0, false, b_dma_map, false, true },
	{ VU_CMD_DMA_UNMAP, 24, 0, false, b_dma_unmap, true, true },
	{ VU_CMD_DEVICE_GET_INFO, 16, 0, false, b_get_info, false, false },
	{ VU_CMD_DEVICE_GET_REGION_INFO, 32, 0, false, b_region_info, false, false },
	{ VU_CMD_DEVICE_GET_REGION_IO_FDS, 16, 0, false, b_io_fds, false, false },
	{ VU_CMD_DEVICE_GET_IRQ_INFO, 16, 0, false, b_irq_info, false, false },
	{ VU_CMD_DEVICE_SET_IRQS, 20, 0, false, b_set_irqs, false, false },
	{ VU_CMD_REGION_READ, 16, 0, false, b_region_read, false, false },
	{ VU_CMD_REGION_WRITE, 20, 0, true, b_region_write, false, false },
	{ VU_CMD_DEVICE_RESET, 0, 0, false, NULL, false, false },
	{ VU_CMD_REGION_WRITE_MULTI, 32, 0, true, b_write_multi, false, false },
	{ VU_CMD_DEVICE_FEATURE, 8, -ENOTTY, false, b_feature, false, false },
	/* No migration on testdev; not for a client to send; after VERSION. */
	{ VU_CMD_MIG_DATA_READ, 0, -ENOTTY, false, b_mig, false, false },
	{ VU_CMD_MIG_DATA_WRITE, 0, -ENOTTY, false, b_mig, false, false },
	{ VU_CMD_DMA_READ, 0, -EINVAL, false, b_dma_rw, false, false },
	{ VU_CMD_DMA_WRITE, 0, -EINVAL, false, b_dma_rw, false, false },
	{ VU_CMD_VERSION, 0, -EINVAL, false, NULL, false, false },
};

static void check_reply_shape(struct pc *pc, const struct sweep *s,
			      const uint8_t *req)
{
	uint32_t len = vu_rx_len(&pc->rx);
	switch (s->cmd) {
	case VU_CMD_DMA_MAP:
	case VU_CMD_DEVICE_SET_IRQS:
	case VU_CMD_DEVICE_RESET:
		assert_int_equal(len, 0);
		break;
	case VU_CMD_DMA_UNMAP:
		assert_int_equal(len, sizeof(struct vu_dma_unmap));
		assert_memory_equal(pc->rx.buf + 4, req + 4, 20);
		break;
	case VU_CMD_DEVICE_GET_INFO:
		assert_int_equal(len, 16);
		break;
	case VU_CMD_DEVICE_GET_REGION_INFO: {
		const struct vu_region_info *ri = (const void *)pc->rx.buf;
		assert_int_equal(len, 32);
		assert_int_equal(ri->index, 0);
		assert_int_equal(ri->size, TESTDEV_BAR0_SIZE);
		break;
	}
	case VU_CMD_DEVICE_GET_IRQ_INFO: {
		const struct vu_irq_info *ii = (const void *)pc->rx.buf;
		assert_int_equal(len, 16);
		assert_int_equal(ii->index, 1);
		assert_int_equal(ii->count, 4);
		break;
	}
	case VU_CMD_REGION_READ: {
		assert_int_equal(len, 20);
		uint32_t v;
		memcpy(&v, pc->rx.buf + 16, 4);
		assert_int_equal(v, TESTDEV_ID_VALUE);
		break;
	}
	case VU_CMD_REGION_WRITE:
		assert_int_equal(len, 16);
		break;
	case VU_CMD_REGION_WRITE_MULTI: {
		uint64_t n;
		assert_int_equal(len, 8);
		memcpy(&n, pc->rx.buf, 8);
		assert_int_equal(n, 1);
		break;
	}
	default:
		break;
	}
}

static void test_every_command_every_length(void **state)
{
	struct pc pc;
	pc_open(&pc);
	uint8_t buf[64 + SWEEP_EXTRA + 8];
	for (size_t k = 0; k < sizeof(sweeps) / sizeof(sweeps[0]); k++) {
		const struct sweep *s = &sweeps[k];
		size_t maxlen = (s->size ? s->size : 32) + SWEEP_EXTRA;
		for (size_t len = 0; len <= maxlen; len++) {
			memset(buf, 0, sizeof(buf));
			if (s->build)
				s->build(buf);
			if (s->map_before)
				map_one(&pc, MAP_IOVA, 0x1000);
			int r = pc_call(&pc, s->cmd, buf, len, NULL, 0);
			int want;
			if (len < s->size || (s->exact && len != s->size))
				want = -EINVAL;
			else
				want = s->result;
			if (r != want)
				fail_msg("%s with %zu bytes: %d, want %d",
					 uvfio_command_name(s->cmd), len, r, want);
			if (r == 0)
				check_reply_shape(&pc, s, buf);
			if (s->unmap_after)
				unmap_quietly(&pc, MAP_IOVA, 0x1000);
			pc_get_info_ok(&pc);
		}
	}
	assert_true(served_alive(&g_served));
	pc_close(&pc);
}

static void test_unknown_commands_enosys(void **state)
{
	struct pc pc;
	pc_open(&pc);
	const uint16_t cmds[] = { 0, 14, 19, 20, 99, 1000, 0x7fff, 0x8000, 65535 };
	uint8_t payload[40];
	memset(payload, 0xff, sizeof(payload));
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		for (size_t len = 0; len <= sizeof(payload); len += 20) {
			int r = pc_call(&pc, cmds[i], payload, len, NULL, 0);
			if (r != -ENOSYS)
				fail_msg("command %u: %d", cmds[i], r);
			pc_get_info_ok(&pc);
		}
	}
	pc_close(&pc);
}

/* A message typed as a reply is not a command: nothing answers it. */
static void test_unsolicited_reply_ignored(void **state)
{
	struct pc pc;
	pc_open(&pc);
	struct vu_device_info in = { .argsz = sizeof(in) };
	pc_send(&pc, VU_CMD_DEVICE_GET_INFO, VU_F_TYPE_REPLY, &in, sizeof(in), NULL, 0);
	pc_send(&pc, VU_CMD_DMA_READ, VU_F_TYPE_REPLY | VU_F_ERROR, NULL, 0, NULL, 0);
	pc_send(&pc, VU_CMD_DEVICE_RESET, 0x7, NULL, 0, NULL, 0);
	/* The next message we get answers the next command we send. */
	pc_get_info_ok(&pc);
	pc_close(&pc);
}

static void test_wrong_argsz(void **state)
{
	struct pc pc;
	pc_open(&pc);
	struct { uint16_t cmd; size_t size; void (*build)(uint8_t *); } c[] = {
		{ VU_CMD_DMA_MAP, 32, b_dma_map },
		{ VU_CMD_DMA_UNMAP, 24, b_dma_unmap },
		{ VU_CMD_DEVICE_GET_INFO, 16, b_get_info },
		{ VU_CMD_DEVICE_GET_REGION_INFO, 32, b_region_info },
		{ VU_CMD_DEVICE_GET_REGION_IO_FDS, 16, b_io_fds },
		{ VU_CMD_DEVICE_GET_IRQ_INFO, 16, b_irq_info },
		{ VU_CMD_DEVICE_SET_IRQS, 20, b_set_irqs },
		{ VU_CMD_DEVICE_FEATURE, 8, b_feature },
	};
	const uint32_t bad[] = { 0, 1, 4, 7 };
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		uint8_t buf[64] = { 0 };
		c[i].build(buf);
		for (size_t k = 0; k <= sizeof(bad) / sizeof(bad[0]); k++) {
			uint32_t argsz = k < 4 ? bad[k] : (uint32_t)c[i].size - 1;
			memcpy(buf, &argsz, 4);
			int r = pc_call(&pc, c[i].cmd, buf, c[i].size, NULL, 0);
			if (r != -EINVAL)
				fail_msg("%s argsz %u: %d", uvfio_command_name(c[i].cmd),
					 argsz, r);
		}
		pc_get_info_ok(&pc);
	}
	pc_close(&pc);
}

static int region_info(struct pc *pc, uint32_t index, uint32_t argsz)
{
	struct vu_region_info in = { .argsz = argsz, .index = index };
	return pc_call(pc, VU_CMD_DEVICE_GET_REGION_INFO, &in, sizeof(in), NULL, 0);
}

static void test_region_info(void **state)
{
	struct pc pc;
	pc_open(&pc);
	const uint32_t RW = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
	const uint32_t MM = VFIO_REGION_INFO_FLAG_MMAP;
	const uint32_t CAPS = VFIO_REGION_INFO_FLAG_CAPS;
	const struct { uint64_t size; uint32_t flags; unsigned nfds; } want[10] = {
		{ TESTDEV_BAR0_SIZE, RW, 0 }, { 0, 0, 0 },
		{ TESTDEV_BAR2_SIZE, RW | MM, 1 }, { 0, 0, 0 },
		{ TESTDEV_BAR4_SIZE, RW | MM | CAPS, 1 },
		{ TESTDEV_BAR5_SIZE, RW, 0 },
		{ TESTDEV_ROM_SIZE, VFIO_REGION_INFO_FLAG_READ, 0 },
		{ 256, RW, 0 }, { 0, 0, 0 },
		{ TESTDEV_REGION9_SIZE, RW | CAPS, 0 },
	};
	for (uint32_t i = 0; i < 10; i++) {
		assert_int_equal(region_info(&pc, i, 256), 0);
		const struct vu_region_info *ri = (const void *)pc.rx.buf;
		assert_int_equal(ri->index, i);
		if (ri->size != want[i].size || ri->flags != want[i].flags)
			fail_msg("region %u: size 0x%llx flags 0x%x", i,
				 (unsigned long long)ri->size, ri->flags);
		assert_int_equal(pc.rx.nfds, want[i].nfds);
		assert_int_equal(ri->argsz, vu_rx_len(&pc.rx));
		if (!(ri->flags & CAPS))
			assert_int_equal(ri->argsz, 32);
	}
	/* BAR4's sparse areas, once argsz is large enough. */
	assert_int_equal(region_info(&pc, 4, 32), 0);
	const struct vu_region_info *ri = (const void *)pc.rx.buf;
	assert_int_equal(vu_rx_len(&pc.rx), 32);
	assert_int_equal(ri->argsz, 32 + 16 + 2 * 16);
	assert_int_equal(ri->cap_offset, 0);
	assert_true(ri->flags & CAPS);
	assert_int_equal(region_info(&pc, 4, 80), 0);
	ri = (const void *)pc.rx.buf;
	assert_int_equal(vu_rx_len(&pc.rx), 80);
	assert_int_equal(ri->cap_offset, 32);
	const struct vu_cap_sparse_mmap *sp = (const void *)(pc.rx.buf + 32);
	assert_int_equal(sp->header.id, VFIO_REGION_INFO_CAP_SPARSE_MMAP);
	assert_int_equal(sp->header.version, 1);
	assert_int_equal(sp->header.next, 0);
	assert_int_equal(sp->nr_areas, 2);
	assert_int_equal(sp->areas[0].offset, 0x1000);
	assert_int_equal(sp->areas[0].size, 0x1000);
	assert_int_equal(sp->areas[1].offset, 0x8000);
	assert_int_equal(sp->areas[1].size, 0x8000);
	/* Region 9's TYPE capability. */
	assert_int_equal(region_info(&pc, 9, 64), 0);
	ri = (const void *)pc.rx.buf;
	assert_int_equal(ri->cap_offset, 32);
	const struct vu_cap_type *ty = (const void *)(pc.rx.buf + 32);
	assert_int_equal(ty->header.id, VFIO_REGION_INFO_CAP_TYPE);
	assert_int_equal(ty->header.next, 0);
	assert_int_equal(ty->type, TESTDEV_REGION9_TYPE);
	assert_int_equal(ty->subtype, TESTDEV_REGION9_SUBTYPE);
	/* Beyond the regions. */
	assert_int_equal(region_info(&pc, 10, 32), -EINVAL);
	assert_int_equal(region_info(&pc, 16, 32), -EINVAL);
	assert_int_equal(region_info(&pc, UINT32_MAX, 32), -EINVAL);

	/* BAR2's fd is its memory. */
	assert_int_equal(region_info(&pc, 2, 32), 0);
	int fd = pc.rx.fds[0];
	pc.rx.fds[0] = -1;
	uint32_t *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(m != MAP_FAILED);
	pc_wr32(&pc, 2, 8, 0xfeedf00d);
	assert_int_equal(m[2], 0xfeedf00d);
	m[3] = 0x600df00d;
	assert_int_equal(pc_rd32(&pc, 2, 12), 0x600df00d);
	munmap(m, 4096);
	close(fd);
	pc_close(&pc);
}

static int irq_info(struct pc *pc, uint32_t index)
{
	struct vu_irq_info in = { .argsz = sizeof(in), .index = index };
	return pc_call(pc, VU_CMD_DEVICE_GET_IRQ_INFO, &in, sizeof(in), NULL, 0);
}

static void test_irq_info(void **state)
{
	struct pc pc;
	pc_open(&pc);
	const uint32_t E = VFIO_IRQ_INFO_EVENTFD, N = VFIO_IRQ_INFO_NORESIZE;
	const struct { uint32_t flags, count; } want[5] = {
		{ E | VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED, 1 },
		{ E | N | VFIO_IRQ_INFO_MASKABLE, 4 },
		{ E | N | VFIO_IRQ_INFO_MASKABLE, 8 }, { E | N, 1 }, { E | N, 1 },
	};
	for (uint32_t i = 0; i < 5; i++) {
		assert_int_equal(irq_info(&pc, i), 0);
		const struct vu_irq_info *ii = (const void *)pc.rx.buf;
		assert_int_equal(vu_rx_len(&pc.rx), 16);
		assert_int_equal(ii->argsz, 16);
		assert_int_equal(ii->index, i);
		assert_int_equal(ii->flags, want[i].flags);
		assert_int_equal(ii->count, want[i].count);
	}
	assert_int_equal(irq_info(&pc, 5), -EINVAL);
	assert_int_equal(irq_info(&pc, UINT32_MAX), -EINVAL);
	pc_close(&pc);
}

static void test_region_io_fds(void **state)
{
	struct pc pc;
	pc_open(&pc);
	struct vu_region_io_fds_req in = { .argsz = sizeof(in), .index = 0 };
	assert_int_equal(pc_call(&pc, VU_CMD_DEVICE_GET_REGION_IO_FDS, &in,
				 sizeof(in), NULL, 0), 0);
	/* testdev has two doorbells on BAR0: too small, the header only. */
	const struct vu_region_io_fds_req *out = (const void *)pc.rx.buf;
	assert_int_equal(vu_rx_len(&pc.rx), 16);
	assert_int_equal(out->argsz, 16 + 2 * 40);
	assert_int_equal(out->index, 0);
	assert_int_equal(out->count, 2);
	assert_int_equal(pc.rx.nfds, 0);
	/* Room for one of two is still too small. */
	in.argsz = 16 + 40;
	assert_int_equal(pc_call(&pc, VU_CMD_DEVICE_GET_REGION_IO_FDS, &in,
				 sizeof(in), NULL, 0), 0);
	out = (const void *)pc.rx.buf;
	assert_int_equal(vu_rx_len(&pc.rx), 16);
	assert_int_equal(out->count, 2);
	assert_int_equal(pc.rx.nfds, 0);
	/* With room: both entries, one eventfd each. */
	in.argsz = 16 + 2 * 40;
	assert_int_equal(pc_call(&pc, VU_CMD_DEVICE_GET_REGION_IO_FDS, &in,
				 sizeof(in), NULL, 0), 0);
	out = (const void *)pc.rx.buf;
	assert_int_equal(vu_rx_len(&pc.rx), 16 + 2 * 40);
	assert_int_equal(out->argsz, 16 + 2 * 40);
	assert_int_equal(out->count, 2);
	assert_int_equal(pc.rx.nfds, 2);
	const uint64_t want_off[2] = { TESTDEV_REG_BUMP, TESTDEV_REG_IRQ };
	const uint64_t want_data[2] = { 1, TESTDEV_DOORBELL_MSI0 };
	for (unsigned k = 0; k < 2; k++) {
		struct vu_ioeventfd_entry e;
		memcpy(&e, pc.rx.buf + 16 + 40 * k, sizeof(e));
		assert_int_equal(e.offset, want_off[k]);
		assert_int_equal(e.size, 4);
		assert_int_equal(e.fd_index, k);
		assert_int_equal(e.type, 0);
		assert_int_equal(e.flags, 1);
		assert_int_equal(e.reserved, 0);
		assert_int_equal(e.datamatch, want_data[k]);
	}
	/* No doorbells on BAR2. */
	in.index = 2;
	assert_int_equal(pc_call(&pc, VU_CMD_DEVICE_GET_REGION_IO_FDS, &in,
				 sizeof(in), NULL, 0), 0);
	out = (const void *)pc.rx.buf;
	assert_int_equal(vu_rx_len(&pc.rx), 16);
	assert_int_equal(out->argsz, 16);
	assert_int_equal(out->count, 0);
	assert_int_equal(pc.rx.nfds, 0);
	const struct { uint32_t flags, index, count; } bad[] = {
		{ 1, 0, 0 }, { 0, 0, 1 }, { 0, 1, 0 }, { 0, 8, 0 }, { 0, 10, 0 },
		{ 0, UINT32_MAX, 0 }, { 0, 0, UINT32_MAX },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vu_region_io_fds_req b = { .argsz = sizeof(b),
						  .flags = bad[i].flags,
						  .index = bad[i].index,
						  .count = bad[i].count };
		assert_int_equal(pc_call(&pc, VU_CMD_DEVICE_GET_REGION_IO_FDS, &b,
					 sizeof(b), NULL, 0), -EINVAL);
	}
	pc_get_info_ok(&pc);
	pc_close(&pc);
}

static void test_device_reset(void **state)
{
	struct pc pc;
	pc_open(&pc);
	uint32_t resets = pc_rd32(&pc, 0, TESTDEV_REG_RESETS);
	pc_wr32(&pc, 0, TESTDEV_REG_SCRATCH, 0x1234);
	uint16_t cmd = PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	assert_int_equal(pc_region_write(&pc, 7, PCI_COMMAND, &cmd, 2), 0);
	map_one(&pc, 0x7000000, 0x2000);
	assert_int_equal(pc_call(&pc, VU_CMD_DEVICE_RESET, NULL, 0, NULL, 0), 0);
	assert_int_equal(vu_rx_len(&pc.rx), 0);
	assert_int_equal(pc_rd32(&pc, 0, TESTDEV_REG_RESETS), resets + 1);
	assert_int_equal(pc_rd32(&pc, 0, TESTDEV_REG_SCRATCH), 0);
	/* COMMAND is what the kernel writes back around a reset. */
	cmd = 0xffff;
	assert_int_equal(pc_region_read(&pc, 7, PCI_COMMAND, &cmd, 2), 0);
	assert_int_equal(cmd, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	/* DMA windows survive a reset. */
	struct vu_dma_unmap u = { .argsz = sizeof(u), .addr = 0x7000000,
				  .size = 0x2000 };
	assert_int_equal(pc_call(&pc, VU_CMD_DMA_UNMAP, &u, sizeof(u), NULL, 0), 0);
	pc_close(&pc);
}

static void test_write_multi(void **state)
{
	struct pc pc;
	pc_open(&pc);
	uint32_t count0 = pc_rd32(&pc, 0, TESTDEV_REG_COUNT);
	uint8_t buf[8 + 3 * 24];
	memset(buf, 0, sizeof(buf));
	struct vu_write_multi *m = (void *)buf;
	m->wr_cnt = 3;
	m->wrs[0] = (struct vu_wr_one){ .offset = TESTDEV_REG_SCRATCH, .region = 0,
					.count = 4, .data = { 0x11, 0x22, 0x33, 0x44 } };
	m->wrs[1] = (struct vu_wr_one){ .offset = TESTDEV_REG_BUMP, .region = 0,
					.count = 4, .data = { 3 } };
	m->wrs[2] = (struct vu_wr_one){ .offset = 0x10, .region = 2, .count = 8,
					.data = { 1, 2, 3, 4, 5, 6, 7, 8 } };
	assert_int_equal(pc_call(&pc, VU_CMD_REGION_WRITE_MULTI, buf, sizeof(buf),
				 NULL, 0), 0);
	uint64_t n;
	memcpy(&n, pc.rx.buf, 8);
	assert_int_equal(n, 3);
	assert_int_equal(pc_rd32(&pc, 0, TESTDEV_REG_SCRATCH), 0x44332211);
	assert_int_equal(pc_rd32(&pc, 0, TESTDEV_REG_COUNT), count0 + 3);
	uint8_t back[8];
	assert_int_equal(pc_region_read(&pc, 2, 0x10, back, 8), 0);
	assert_memory_equal(back, m->wrs[2].data, 8);

	/* Malformed: zero entries, an entry of 0 or 9 bytes, a length that
	 * does not match wr_cnt, a huge wr_cnt, a bad region. */
	m->wr_cnt = 0;
	assert_int_equal(pc_call(&pc, VU_CMD_REGION_WRITE_MULTI, buf, 8, NULL, 0),
			 -EINVAL);
	m->wr_cnt = 1;
	m->wrs[0].count = 9;
	assert_int_equal(pc_call(&pc, VU_CMD_REGION_WRITE_MULTI, buf, 32, NULL, 0),
			 -EINVAL);
	m->wrs[0].count = 0;
	assert_int_equal(pc_call(&pc, VU_CMD_REGION_WRITE_MULTI, buf, 32, NULL, 0),
			 -EINVAL);
	m->wrs[0].count = 4;
	m->wr_cnt = 2;
	assert_int_equal(pc_call(&pc, VU_CMD_REGION_WRITE_MULTI, buf, 32, NULL, 0),
			 -EINVAL);
	m->wr_cnt = UINT64_MAX / 24 + 2;   /* wr_cnt * 24 wraps */
	assert_int_equal(pc_call(&pc, VU_CMD_REGION_WRITE_MULTI, buf, 32, NULL, 0),
			 -EINVAL);
	m->wr_cnt = 1;
	m->wrs[0].region = 10;
	assert_int_equal(pc_call(&pc, VU_CMD_REGION_WRITE_MULTI, buf, 32, NULL, 0),
			 -EINVAL);
	m->wrs[0].region = 0;
	m->wrs[0].offset = UINT64_MAX - 1;
	assert_int_equal(pc_call(&pc, VU_CMD_REGION_WRITE_MULTI, buf, 32, NULL, 0),
			 -EINVAL);
	/* More entries than the server takes in one message. */
	size_t big = 8 + 1025 * 24;
	uint8_t *many = calloc(1, big);
	assert_non_null(many);
	((struct vu_write_multi *)many)->wr_cnt = 1025;
	for (unsigned i = 0; i < 1025; i++) {
		struct vu_wr_one *w = &((struct vu_write_multi *)many)->wrs[i];
		w->offset = TESTDEV_REG_BUMP;
		w->count = 4;
		w->data[0] = 1;
	}
	assert_int_equal(pc_call(&pc, VU_CMD_REGION_WRITE_MULTI, many, big, NULL, 0),
			 -EINVAL);
	free(many);
	pc_get_info_ok(&pc);
	pc_close(&pc);
}

/*
 * `uvfio-serve --no-write-multiple`: VERSION does not announce
 * write_multiple (the default server does), REGION_WRITE_MULTI gets
 * ENOSYS with none of its writes done, and the connection goes on.
 */
static bool announces_write_multiple(struct pc *pc)
{
	assert_int_equal(pc_version(pc, 0, "{\"capabilities\":{\"max_msg_fds\":16}}"),
			 0);
	const struct vu_version *v = (const void *)pc->rx.buf;
	size_t jlen = vu_rx_len(&pc->rx) - sizeof(*v);
	assert_true(jlen > 0);
	assert_int_equal(v->data[jlen - 1], 0);
	struct uvfio_caps caps;
	int twin;
	char err[128];
	assert_int_equal(vu_caps_from_json(v->data, jlen, &caps, &twin, err,
					   sizeof(err)), 0);
	bool key = strstr(v->data, "\"write_multiple\"") != NULL;
	assert_int_equal(key, caps.write_multiple);
	return key;
}

static void test_write_multi_refused_by_option(void **state)
{
	struct pc pc;
	/* The default server announces it. */
	pc_connect(&pc);
	assert_true(announces_write_multiple(&pc));
	pc_close(&pc);

	struct served s;
	const char *extra[] = { "--no-write-multiple", NULL };
	assert_int_equal(pc_served_start(&s, extra), 0);
	pc_connect_to(&pc, s.path);
	assert_false(announces_write_multiple(&pc));
	pc_wr32(&pc, 0, TESTDEV_REG_SCRATCH, 0x600d);
	uint32_t count0 = pc_rd32(&pc, 0, TESTDEV_REG_COUNT);
	uint8_t buf[8 + 2 * 24];
	memset(buf, 0, sizeof(buf));
	struct vu_write_multi *m = (void *)buf;
	m->wr_cnt = 2;
	m->wrs[0] = (struct vu_wr_one){ .offset = TESTDEV_REG_SCRATCH, .region = 0,
					.count = 4, .data = { 0x11, 0x22, 0x33, 0x44 } };
	m->wrs[1] = (struct vu_wr_one){ .offset = TESTDEV_REG_BUMP, .region = 0,
					.count = 4, .data = { 3 } };
	assert_int_equal(pc_call(&pc, VU_CMD_REGION_WRITE_MULTI, buf, sizeof(buf),
				 NULL, 0), -ENOSYS);
	/* Nothing was written, and the same connection still works. */
	assert_int_equal(pc_rd32(&pc, 0, TESTDEV_REG_SCRATCH), 0x600d);
	assert_int_equal(pc_rd32(&pc, 0, TESTDEV_REG_COUNT), count0);
	pc_wr32(&pc, 0, TESTDEV_REG_SCRATCH, 0x44332211);
	assert_int_equal(pc_rd32(&pc, 0, TESTDEV_REG_SCRATCH), 0x44332211);
	pc_get_info_ok(&pc);
	pc_close(&pc);
	assert_int_equal(pc_served_stop(&s), 0);
}

static int feature(struct pc *pc, uint32_t argsz, uint32_t flags, size_t len)
{
	uint8_t buf[64] = { 0 };
	struct vu_device_feature *f = (void *)buf;
	f->argsz = argsz;
	f->flags = flags;
	return pc_call(pc, VU_CMD_DEVICE_FEATURE, buf, len, NULL, 0);
}

static void test_device_feature(void **state)
{
	struct pc pc;
	pc_open(&pc);
	const uint32_t G = VFIO_DEVICE_FEATURE_GET, S = VFIO_DEVICE_FEATURE_SET,
		       P = VFIO_DEVICE_FEATURE_PROBE;
	assert_int_equal(feature(&pc, 7, G | 1, 8), -EINVAL);
	assert_int_equal(feature(&pc, 0, G | 1, 8), -EINVAL);
	assert_int_equal(feature(&pc, 8, G | 1, 4), -EINVAL);
	assert_int_equal(feature(&pc, 8, (1u << 19) | G | 1, 8), -EINVAL);
	assert_int_equal(feature(&pc, 8, 1u << 31, 8), -EINVAL);
	assert_int_equal(feature(&pc, 16, G | S | 2, 16), -EINVAL);
	/* testdev has only the low-power features (3-5): the others are
	 * ENOTTY, PROBE too. */
	assert_int_equal(feature(&pc, 16, G | 1, 16), -ENOTTY);
	assert_int_equal(feature(&pc, 16, P | G | S | 2, 16), -ENOTTY);
	assert_int_equal(feature(&pc, 24, S | 0, 24), -ENOTTY);
	assert_int_equal(feature(&pc, 8, P | 0xffff, 8), -ENOTTY);
	pc_get_info_ok(&pc);
	pc_close(&pc);
}

#define T(f) cmocka_unit_test_teardown(f, pc_test_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_every_command_every_length),
		T(test_unknown_commands_enosys),
		T(test_unsolicited_reply_ignored),
		T(test_wrong_argsz),
		T(test_region_info),
		T(test_irq_info),
		T(test_region_io_fds),
		T(test_device_reset),
		T(test_write_multi),
		T(test_write_multi_refused_by_option),
		T(test_device_feature),
	};
	return cmocka_run_group_tests(tests, pc_group_setup, pc_group_teardown);
}
