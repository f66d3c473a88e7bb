/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Hostile messages, one per case, after a correct VERSION: every command
 * with every payload size from 0 to 64 bytes beyond its struct (zero and
 * 0xff filled, with and without NO_REPLY), wrong argsz, every flag bit
 * of the header and of each command, indexes at and past the bounds,
 * offsets near 2^64 and counts that overflow offset + count.  After each
 * the server must be whole (hostile.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/pci_regs.h>
#include <cmocka.h>

#include "devices/models.h"
#include "hostile.h"

#define EXTRA 64
#define IOVA 0x4000000ull

static void b_dma_map(uint8_t *p)
{
	struct vu_dma_map m = { .argsz = sizeof(m), .flags = 3, .addr = IOVA,
				.size = 0x1000 };
	memcpy(p, &m, sizeof(m));
}

static void b_dma_unmap(uint8_t *p)
{
	struct vu_dma_unmap u = { .argsz = sizeof(u), .addr = IOVA, .size = 0x1000 };
	memcpy(p, &u, sizeof(u));
}

static void b_info16(uint8_t *p)
{
	const uint32_t a[4] = { 16, 0, 1, 0 };   /* argsz, flags, index 1 */
	memcpy(p, a, sizeof(a));
}

static void b_region_info(uint8_t *p)
{
	struct vu_region_info i = { .argsz = sizeof(i), .index = 4 };
	memcpy(p, &i, sizeof(i));
}

static void b_set_irqs(uint8_t *p)
{
	struct vu_irq_set s = { .argsz = sizeof(s) + 1,
				.flags = VFIO_IRQ_SET_DATA_BOOL |
					 VFIO_IRQ_SET_ACTION_TRIGGER,
				.index = VFIO_PCI_MSI_IRQ_INDEX, .count = 1 };
	memcpy(p, &s, sizeof(s));
	p[sizeof(s)] = 1;
}

static void b_region_read(uint8_t *p)
{
	struct vu_region_rw r = { .offset = TESTDEV_REG_ID, .region = 0, .count = 4 };
	memcpy(p, &r, sizeof(r));
}

static void b_region_write(uint8_t *p)
{
	struct vu_region_rw r = { .offset = 0x10, .region = 9, .count = 4 };
	memcpy(p, &r, sizeof(r));
	memset(p + sizeof(r), 0x42, 4);
}

static void b_dma_rw(uint8_t *p)
{
	struct vu_dma_rw d = { .addr = IOVA, .count = 4 };
	memcpy(p, &d, sizeof(d));
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
	struct vu_device_feature f = { .argsz = sizeof(f),
				       .flags = VFIO_DEVICE_FEATURE_PROBE |
						VFIO_DEVICE_FEATURE_GET | 1 };
	memcpy(p, &f, sizeof(f));
}

static void b_mig(uint8_t *p)
{
	struct vu_mig_data m = { .argsz = sizeof(m), .size = 64 };
	memcpy(p, &m, sizeof(m));
}

static void b_version(uint8_t *p)
{
	memcpy(p, "\0\0\0\0{}", 7);
}

struct cmd {
	uint16_t cmd;
	size_t size;      /* shorter payloads are EINVAL; 0: no rule */
	void (*build)(uint8_t *p);
};

static const struct cmd cmds[] = {
	{ 0, 0, NULL },
	{ VU_CMD_VERSION, 0, b_version },
	{ VU_CMD_DMA_MAP, 32, b_dma_map },
	{ VU_CMD_DMA_UNMAP, 24, b_dma_unmap },
	{ VU_CMD_DEVICE_GET_INFO, 16, b_info16 },
	{ VU_CMD_DEVICE_GET_REGION_INFO, 32, b_region_info },
	{ VU_CMD_DEVICE_GET_REGION_IO_FDS, 16, b_info16 },
	{ VU_CMD_DEVICE_GET_IRQ_INFO, 16, b_info16 },
	{ VU_CMD_DEVICE_SET_IRQS, 20, b_set_irqs },
	{ VU_CMD_REGION_READ, 16, b_region_read },
	{ VU_CMD_REGION_WRITE, 20, b_region_write },
	{ VU_CMD_DMA_READ, 0, b_dma_rw },
	{ VU_CMD_DMA_WRITE, 0, b_dma_rw },
	{ VU_CMD_DEVICE_RESET, 0, NULL },
	{ 14, 0, NULL },
	{ VU_CMD_REGION_WRITE_MULTI, 32, b_write_multi },
	{ VU_CMD_DEVICE_FEATURE, 8, b_feature },
	{ VU_CMD_MIG_DATA_READ, 0, b_mig },
	{ VU_CMD_MIG_DATA_WRITE, 0, b_mig },
	{ VU_CMD_MAX, 0, NULL },
	{ 0xffff, 0, NULL },
};

static void test_every_command_every_size(void **state)
{
	struct pc pc;
	pc_open(&pc);
	uint8_t buf[32 + EXTRA + 8];
	for (size_t k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++) {
		const struct cmd *c = &cmds[k];
		size_t maxlen = (c->size ? c->size : 32) + EXTRA;
		for (size_t len = 0; len <= maxlen; len++) {
			for (int fill = 0; fill < 2; fill++) {
				for (int nr = 0; nr < 2; nr++) {
					memset(buf, fill ? 0xff : 0, sizeof(buf));
					if (c->build)
						c->build(buf);
					uint32_t flags = nr ? VU_F_NO_REPLY : 0;
					int r = h_exchange(&pc, c->cmd, flags, buf,
							   len, NULL, 0);
					if (r == -ECONNRESET)
						fail_msg("command %u, %zu bytes: dropped",
							 c->cmd, len);
					if (nr && r != 0)
						fail_msg("command %u NO_REPLY answered",
							 c->cmd);
					if (!nr && !r)
						fail_msg("command %u, %zu bytes: no reply",
							 c->cmd, len);
					if (!nr && len < c->size && r != -EINVAL)
						fail_msg("command %u, %zu bytes: %d, "
							 "want EINVAL", c->cmd, len, r);
					h_case_done(&pc, false, "command %u len %zu "
						    "fill %d no-reply %d", c->cmd,
						    len, fill, nr);
				}
			}
		}
	}
	pc_close(&pc);
}

static void test_wrong_argsz(void **state)
{
	static const struct cmd c[] = {
		{ VU_CMD_DMA_MAP, 32, b_dma_map },
		{ VU_CMD_DMA_UNMAP, 24, b_dma_unmap },
		{ VU_CMD_DEVICE_GET_INFO, 16, b_info16 },
		{ VU_CMD_DEVICE_GET_REGION_INFO, 32, b_region_info },
		{ VU_CMD_DEVICE_GET_REGION_IO_FDS, 16, b_info16 },
		{ VU_CMD_DEVICE_GET_IRQ_INFO, 16, b_info16 },
		{ VU_CMD_DEVICE_SET_IRQS, 20, b_set_irqs },
		{ VU_CMD_DEVICE_FEATURE, 8, b_feature },
		{ VU_CMD_MIG_DATA_READ, 8, b_mig },
	};
	const uint32_t sizes[] = { 0, 1, 4, 7, 8, 15, 16, 19, 20, 21, 23, 24, 31,
				   32, 33, 4096, 0x10000, 0x7fffffff, 0x80000000,
				   0xffffffff };
	struct pc pc;
	pc_open(&pc);
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
			uint8_t buf[64] = { 0 };
			c[i].build(buf);
			memcpy(buf, &sizes[k], 4);
			int r = h_exchange(&pc, c[i].cmd, 0, buf, c[i].size + 1,
					   NULL, 0);
			if (r == 0 || r == -ECONNRESET)
				fail_msg("%s argsz %u: %d",
					 uvfio_command_name(c[i].cmd), sizes[k], r);
			if (sizes[k] < c[i].size && c[i].cmd != VU_CMD_MIG_DATA_READ &&
			    r != -EINVAL)
				fail_msg("%s argsz %u: %d, want EINVAL",
					 uvfio_command_name(c[i].cmd), sizes[k], r);
			h_case_done(&pc, false, "%s argsz %u",
				    uvfio_command_name(c[i].cmd), sizes[k]);
		}
	}
	pc_close(&pc);
}

/* Every bit of the header's flags, on a correct GET_INFO. */
static void test_header_flag_bits(void **state)
{
	struct pc pc;
	pc_open(&pc);
	for (unsigned bit = 0; bit < 32; bit++) {
		struct vu_device_info gi = { .argsz = sizeof(gi) };
		uint32_t flags = 1u << bit;
		int r = h_exchange(&pc, VU_CMD_DEVICE_GET_INFO, flags, &gi,
				   sizeof(gi), NULL, 0);
		/* Not typed as a command, or NO_REPLY: no answer. */
		bool silent = (flags & VU_F_TYPE_MASK) || (flags & VU_F_NO_REPLY);
		if (silent ? r != 0 : r != 1)
			fail_msg("GET_INFO with header flags 0x%x: %d", flags, r);
		h_case_done(&pc, false, "header flag bit %u", bit);
	}
	pc_close(&pc);
}

/* Every bit of each command's own flags field. */
static void test_command_flag_bits(void **state)
{
	struct { uint16_t cmd; size_t size; void (*build)(uint8_t *); } c[] = {
		{ VU_CMD_DMA_MAP, 32, b_dma_map },
		{ VU_CMD_DMA_UNMAP, 24, b_dma_unmap },
		{ VU_CMD_DEVICE_GET_INFO, 16, b_info16 },
		{ VU_CMD_DEVICE_GET_REGION_INFO, 32, b_region_info },
		{ VU_CMD_DEVICE_GET_REGION_IO_FDS, 16, b_info16 },
		{ VU_CMD_DEVICE_GET_IRQ_INFO, 16, b_info16 },
		{ VU_CMD_DEVICE_SET_IRQS, 21, b_set_irqs },
		{ VU_CMD_DEVICE_FEATURE, 8, b_feature },
	};
	struct pc pc;
	pc_open(&pc);
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		for (unsigned bit = 0; bit < 33; bit++) {
			uint8_t buf[64] = { 0 };
			c[i].build(buf);
			uint32_t flags;
			memcpy(&flags, buf + 4, 4);
			/* Each bit alone, then each added to the valid flags. */
			flags = bit < 32 ? 1u << bit : 0xffffffffu;
			memcpy(buf + 4, &flags, 4);
			int r = h_exchange(&pc, c[i].cmd, 0, buf, c[i].size, NULL, 0);
			if (r == 0 || r == -ECONNRESET)
				fail_msg("%s flags 0x%x: %d",
					 uvfio_command_name(c[i].cmd), flags, r);
			h_case_done(&pc, false, "%s flags 0x%x",
				    uvfio_command_name(c[i].cmd), flags);
		}
	}
	/* SET_IRQS: every data type with every action, on every index. */
	for (uint32_t index = 0; index < VFIO_PCI_NUM_IRQS; index++) {
		for (unsigned d = 0; d < 4; d++) {
			for (unsigned a = 0; a < 4; a++) {
				struct vu_irq_set s = {
					.argsz = sizeof(s) + 1, .index = index,
					.flags = (d < 3 ? 1u << d : 7u) |
						 (a < 3 ? 8u << a : 0x38u),
					.count = 1,
				};
				uint8_t buf[21];
				memcpy(buf, &s, sizeof(s));
				buf[20] = 1;
				int r = h_exchange(&pc, VU_CMD_DEVICE_SET_IRQS, 0, buf,
						   sizeof(buf), NULL, 0);
				if (r == 0 || r == -ECONNRESET)
					fail_msg("SET_IRQS flags 0x%x: %d", s.flags, r);
				h_case_done(&pc, false, "SET_IRQS index %u flags 0x%x",
					    index, s.flags);
			}
		}
	}
	pc_close(&pc);
}

static const uint32_t bad_regions[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
					15, 16, 17, 100, 0x7fffffff,
					0x80000000, 0xffffffff };

static void test_region_indexes(void **state)
{
	struct pc pc;
	pc_open(&pc);
	for (size_t i = 0; i < sizeof(bad_regions) / sizeof(bad_regions[0]); i++) {
		uint32_t idx = bad_regions[i];
		bool valid = idx <= 9 && idx != 1 && idx != 3 && idx != 8;
		/* Every refusal here is EINVAL: no such region, or not that op. */
		struct vu_region_info ri = { .argsz = 1024, .index = idx };
		int r = h_exchange(&pc, VU_CMD_DEVICE_GET_REGION_INFO, 0, &ri,
				   sizeof(ri), NULL, 0);
		if (r != (idx <= 9 ? 1 : -EINVAL))
			fail_msg("REGION_INFO %u: %d", idx, r);
		h_case_done(&pc, false, "REGION_INFO index %u", idx);

		struct vu_region_io_fds_req io = { .argsz = 64, .index = idx };
		r = h_exchange(&pc, VU_CMD_DEVICE_GET_REGION_IO_FDS, 0, &io,
			       sizeof(io), NULL, 0);
		if (r != (valid ? 1 : -EINVAL))
			fail_msg("IO_FDS %u: %d", idx, r);
		h_case_done(&pc, false, "IO_FDS index %u", idx);

		uint8_t rw[16 + 4] = { 0 };
		memcpy(rw, &(struct vu_region_rw){ .region = idx, .count = 4 }, 16);
		for (int wr = 0; wr < 2; wr++) {
			r = h_exchange(&pc, wr ? VU_CMD_REGION_WRITE : VU_CMD_REGION_READ,
				       0, rw, wr ? 20 : 16, NULL, 0);
			bool ok = valid && !(wr && idx == 6);   /* ROM is read-only */
			if (r != (ok ? 1 : -EINVAL))
				fail_msg("%s region %u: %d", wr ? "write" : "read", idx, r);
			h_case_done(&pc, false, "REGION_%s index %u",
				    wr ? "WRITE" : "READ", idx);
		}
		uint8_t multi[8 + 24] = { 1 };
		memcpy(multi + 8, &(struct vu_wr_one){ .region = idx, .count = 4 }, 24);
		r = h_exchange(&pc, VU_CMD_REGION_WRITE_MULTI, 0, multi,
			       sizeof(multi), NULL, 0);
		if (r != (valid && idx != 6 ? 1 : -EINVAL))
			fail_msg("WRITE_MULTI region %u: %d", idx, r);
		h_case_done(&pc, false, "WRITE_MULTI index %u", idx);
	}
	pc_close(&pc);
}

static void test_irq_indexes_and_ranges(void **state)
{
	/* testdev: INTx 1, MSI 4, MSI-X 8, ERR 1, REQ 1. */
	const uint32_t counts[VFIO_PCI_NUM_IRQS] = { 1, 4, 8, 1, 1 };
	const uint32_t idx[] = { 0, 1, 2, 3, 4, 5, 6, 0x7fffffff, 0xffffffff };
	struct pc pc;
	pc_open(&pc);
	for (size_t i = 0; i < sizeof(idx) / sizeof(idx[0]); i++) {
		struct vu_irq_info ii = { .argsz = 16, .index = idx[i] };
		int r = h_exchange(&pc, VU_CMD_DEVICE_GET_IRQ_INFO, 0, &ii,
				   sizeof(ii), NULL, 0);
		if (r != (idx[i] < VFIO_PCI_NUM_IRQS ? 1 : -EINVAL))
			fail_msg("IRQ_INFO %u: %d", idx[i], r);
		h_case_done(&pc, false, "IRQ_INFO index %u", idx[i]);
	}
	for (uint32_t index = 0; index <= VFIO_PCI_NUM_IRQS; index++) {
		uint32_t n = index < VFIO_PCI_NUM_IRQS ? counts[index] : 1;
		const uint32_t range[][2] = {
			{ 0, n }, { 0, n + 1 }, { n, 0 }, { n, 1 }, { n - 1, 1 },
			{ n - 1, 2 }, { n + 1, 0 }, { 0xffffffff, 1 },
			{ 1, 0xffffffff }, { 0x80000000, 0x80000000 },
			{ 0xffffffff, 0xffffffff },
		};
		for (size_t k = 0; k < sizeof(range) / sizeof(range[0]); k++) {
			for (unsigned d = 0; d < 3; d++) {
				uint8_t buf[20 + 16];
				memset(buf, 1, sizeof(buf));
				struct vu_irq_set s = {
					.argsz = sizeof(buf), .index = index,
					.flags = (1u << d) | VFIO_IRQ_SET_ACTION_TRIGGER,
					.start = range[k][0], .count = range[k][1],
				};
				memcpy(buf, &s, sizeof(s));
				int r = h_exchange(&pc, VU_CMD_DEVICE_SET_IRQS, 0, buf,
						   sizeof(buf), NULL, 0);
				bool in = index < VFIO_PCI_NUM_IRQS &&
					  range[k][0] <= n && range[k][1] <= n - range[k][0];
				if (r == 0 || r == -ECONNRESET || (!in && r != -EINVAL))
					fail_msg("SET_IRQS %u [%u +%u) flags 0x%x: %d",
						 index, range[k][0], range[k][1],
						 s.flags, r);
				h_case_done(&pc, false, "SET_IRQS %u [%u +%u) data %u",
					    index, range[k][0], range[k][1], d);
			}
		}
	}
	pc_close(&pc);
}

static void test_offsets_near_2_64(void **state)
{
	const struct { uint32_t region; uint64_t size; } regs[] = {
		{ 0, TESTDEV_BAR0_SIZE }, { 2, TESTDEV_BAR2_SIZE },
		{ 4, TESTDEV_BAR4_SIZE }, { 5, TESTDEV_BAR5_SIZE },
		{ 6, TESTDEV_ROM_SIZE }, { 7, 256 }, { 9, TESTDEV_REGION9_SIZE },
	};
	struct pc pc;
	pc_open(&pc);
	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++) {
		const uint64_t s = regs[i].size;
		const uint64_t offs[] = { s - 4, s - 1, s, s + 1, 1ull << 32,
					  (1ull << 32) - 4, 1ull << 63,
					  UINT64_MAX - 4095, UINT64_MAX - 3,
					  UINT64_MAX };
		const uint32_t counts[] = { 1, 4, 8, 4096, 0x80000000u, 0xffffffffu };
		for (size_t o = 0; o < sizeof(offs) / sizeof(offs[0]); o++) {
			for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
				struct vu_region_rw rw = { .offset = offs[o],
							   .region = regs[i].region,
							   .count = counts[c] };
				bool inside = offs[o] <= s && counts[c] <= s - offs[o];
				/*
				 * Outside: EFAULT for config space, EINVAL for
				 * the rest, as vfio-pci; a count over any
				 * transfer limit (64 MiB at most) is E2BIG first.
				 */
				int out = regs[i].region == VFIO_PCI_CONFIG_REGION_INDEX ?
					  -EFAULT : -EINVAL;
				int r = h_exchange(&pc, VU_CMD_REGION_READ, 0, &rw,
						   sizeof(rw), NULL, 0);
				if (r == 0 || r == -ECONNRESET ||
				    (counts[c] > UVFIO_LIMIT_MAX_DATA_XFER && r != -E2BIG) ||
				    (counts[c] <= UVFIO_LIMIT_MAX_DATA_XFER && !inside &&
				     r != out))
					fail_msg("read region %u at 0x%llx +%u: %d",
						 regs[i].region,
						 (unsigned long long)offs[o],
						 counts[c], r);
				h_case_done(&pc, false, "read region %u at 0x%llx +%u",
					    regs[i].region,
					    (unsigned long long)offs[o], counts[c]);
				/* A write whose count is not its data length. */
				uint8_t wb[16 + 8] = { 0 };
				memcpy(wb, &rw, 16);
				size_t wl = counts[c] <= 8 ? 16 + counts[c] : sizeof(wb);
				r = h_exchange(&pc, VU_CMD_REGION_WRITE, 0, wb, wl,
					       NULL, 0);
				/* More than 8 bytes claimed, 8 sent: EINVAL. */
				if (r == 0 || r == -ECONNRESET ||
				    (counts[c] > 8 && r != -EINVAL) ||
				    (counts[c] <= 8 && !inside && r != out))
					fail_msg("write region %u at 0x%llx +%u: %d",
						 regs[i].region,
						 (unsigned long long)offs[o],
						 counts[c], r);
				h_case_done(&pc, false, "write region %u at 0x%llx +%u",
					    regs[i].region,
					    (unsigned long long)offs[o], counts[c]);
			}
		}
	}
	pc_close(&pc);
}

static void test_dma_ranges_near_2_64(void **state)
{
	const uint64_t iovas[] = { 0, 0x1000, 1ull << 63, UINT64_MAX - 0xfff,
				   UINT64_MAX - 0x1fff, UINT64_MAX, 0xfff };
	const uint64_t sizes[] = { 0, 0x1000, 0x2000, 1ull << 63,
				   UINT64_MAX - 0xfff, UINT64_MAX };
	const uint64_t offsets[] = { 0, 0x1000, UINT64_MAX - 0xfff };
	struct pc pc;
	pc_open(&pc);
	for (size_t i = 0; i < sizeof(iovas) / sizeof(iovas[0]); i++) {
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			for (size_t o = 0; o < 2 * sizeof(offsets) / sizeof(offsets[0]); o++) {
				bool with_fd = o >= 3;
				int fd = with_fd ? pc_memfd(0x2000) : -1;
				struct vu_dma_map m = { .argsz = 32, .flags = 3,
							.offset = offsets[o % 3],
							.addr = iovas[i],
							.size = sizes[s] };
				int r = h_exchange(&pc, VU_CMD_DMA_MAP, 0, &m, sizeof(m),
						   with_fd ? &fd : NULL, with_fd);
				if (fd >= 0)
					close(fd);
				bool wraps = sizes[s] && iovas[i] + (sizes[s] - 1) < iovas[i];
				/* A map refused here is malformed: EINVAL. */
				if ((r != 1 && r != -EINVAL) ||
				    ((wraps || !sizes[s]) && r != -EINVAL))
					fail_msg("DMA_MAP 0x%llx +0x%llx: %d",
						 (unsigned long long)iovas[i],
						 (unsigned long long)sizes[s], r);
				bool mapped = r == 1;
				struct vu_dma_unmap u = { .argsz = 24,
							  .addr = iovas[i],
							  .size = sizes[s] };
				r = h_exchange(&pc, VU_CMD_DMA_UNMAP, 0, &u, sizeof(u),
					       NULL, 0);
				/* What was mapped goes; nothing else is there. */
				if (r != (mapped ? 1 : !sizes[s] ? -EINVAL : -ENOENT))
					fail_msg("DMA_UNMAP 0x%llx +0x%llx (%s): %d",
						 (unsigned long long)iovas[i],
						 (unsigned long long)sizes[s],
						 mapped ? "mapped" : "refused", r);
				h_case_done(&pc, false, "DMA_MAP 0x%llx +0x%llx off "
					    "0x%llx fd %d",
					    (unsigned long long)iovas[i],
					    (unsigned long long)sizes[s],
					    (unsigned long long)offsets[o % 3], with_fd);
			}
		}
	}
	pc_close(&pc);
}

/* REGION_WRITE_MULTI entry counts whose byte size overflows. */
static void test_write_multi_counts(void **state)
{
	const uint64_t counts[] = { 0, 1, 2, 1024, 1025, 0x0aaaaaaaaaaaaaabull,
				    1ull << 61, UINT64_MAX };
	struct pc pc;
	pc_open(&pc);
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		for (unsigned entries = 0; entries <= 2; entries++) {
			uint8_t buf[8 + 2 * 24];
			memset(buf, 0, sizeof(buf));
			memcpy(buf, &counts[i], 8);
			for (unsigned e = 0; e < entries; e++)
				memcpy(buf + 8 + 24 * e, &(struct vu_wr_one){
					.offset = UINT64_MAX - 3 + e, .region = 9,
					.count = 4 }, 24);
			int r = h_exchange(&pc, VU_CMD_REGION_WRITE_MULTI, 0, buf,
					   8 + 24 * entries, NULL, 0);
			if (r != -EINVAL)
				fail_msg("WRITE_MULTI wr_cnt %llu with %u entries: %d",
					 (unsigned long long)counts[i], entries, r);
			h_case_done(&pc, false, "WRITE_MULTI wr_cnt 0x%llx, %u entries",
				    (unsigned long long)counts[i], entries);
		}
	}
	pc_close(&pc);
}

#define T(f) cmocka_unit_test_teardown(f, pc_test_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_every_command_every_size),
		T(test_wrong_argsz),
		T(test_header_flag_bits),
		T(test_command_flag_bits),
		T(test_region_indexes),
		T(test_irq_indexes_and_ranges),
		T(test_offsets_near_2_64),
		T(test_dma_ranges_near_2_64),
		T(test_write_multi_counts),
	};
	return cmocka_run_group_tests(tests, h_group_setup, h_group_teardown);
}
