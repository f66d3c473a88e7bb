/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Seed generator: `fuzz-seedgen DIR` writes the seed corpora of every
 * fuzz target under DIR/<target>/ (tests/fuzz/corpus in the tree):
 *   server   a valid message of every command (with the fds it takes),
 *            and real client streams recorded against the real server;
 *   client   the real server's replies to the client session, recorded;
 *   version  the capability JSON peers send;
 *   config   config-space access sequences firmware and drivers make.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <uvfio/client.h>
#include <uvfio/device.h>
#include "devices/models.h"
#include "fuzz_common.h"
#include "fuzz_session.h"
#include "seedgen.h"

static char g_dir[4096];
static uint16_t g_id;

void seed_out(const char *target, const char *name, const struct buf *b)
{
	char dir[4200];
	snprintf(dir, sizeof(dir), "%s/%s", g_dir, target);
	seed_write(dir, name, b);
}

static void out(const char *target, const char *name, const struct buf *b)
{
	seed_out(target, name, b);
}

/* ---- server: hand-built messages --------------------------------- */

/* fdspec: count | kind << 3 | memsize class << 5 */
#define SPEC(n, kind, mem) ((uint8_t)((n) | (kind) << 3 | (mem) << 5))

static void msg(struct buf *b, uint8_t spec, uint16_t cmd, uint32_t flags,
		const void *p, size_t len)
{
	struct vu_hdr h = { .msg_id = g_id++, .command = cmd, .flags = flags,
			    .msg_size = (uint32_t)(sizeof(h) + len) };
	buf_u8(b, spec);
	buf_put(b, &h, sizeof(h));
	buf_put(b, p, len);
}

static void rw(struct buf *b, uint16_t cmd, uint32_t flags, uint32_t region,
	       uint64_t off, uint32_t count, const void *data)
{
	uint8_t tmp[16 + 64];
	struct vu_region_rw r = { .offset = off, .region = region,
				  .count = count };
	memcpy(tmp, &r, 16);
	size_t len = 16;
	if (data) {
		memcpy(tmp + 16, data, count);
		len += count;
	}
	msg(b, 0, cmd, flags, tmp, len);
}

static void wr32(struct buf *b, uint32_t region, uint64_t off, uint32_t v)
{
	rw(b, VU_CMD_REGION_WRITE, 0, region, off, 4, &v);
}

static void map(struct buf *b, uint8_t spec, uint32_t flags, uint64_t iova,
		uint64_t size)
{
	struct vu_dma_map m = { .argsz = sizeof(m), .flags = flags,
				.addr = iova, .size = size };
	msg(b, spec, VU_CMD_DMA_MAP, 0, &m, sizeof(m));
}

static void irqs(struct buf *b, uint8_t spec, uint32_t flags, uint32_t index,
		 uint32_t start, uint32_t count, const void *data, size_t dlen)
{
	uint8_t tmp[20 + 64];
	struct vu_irq_set s = { .argsz = (uint32_t)(20 + dlen), .flags = flags,
				.index = index, .start = start, .count = count };
	memcpy(tmp, &s, 20);
	memcpy(tmp + 20, data, dlen);
	msg(b, spec, VU_CMD_DEVICE_SET_IRQS, 0, tmp, 20 + dlen);
}

static void start(struct buf *b, uint8_t cfg)
{
	buf_free(b);
	g_id = 1;
	buf_u8(b, cfg);
}

static void server_commands(void)
{
	struct buf b = { 0 };
	char name[64];

	start(&b, 0);
	map(&b, 0, 3, 0x10000, 0x4000);
	map(&b, SPEC(1, FUZZ_FD_MEMFD, 2), 3, 0x20000, 0x10000);
	struct vu_dma_unmap u = { .argsz = 24, .addr = 0x10000, .size = 0x4000 };
	msg(&b, 0, VU_CMD_DMA_UNMAP, 0, &u, sizeof(u));
	u = (struct vu_dma_unmap){ .argsz = 24, .flags = VU_DMA_UNMAP_FLAG_ALL };
	msg(&b, 0, VU_CMD_DMA_UNMAP, 0, &u, sizeof(u));
	out("server", "cmd-dma-map-unmap", &b);

	start(&b, 0);
	struct vu_device_info gi = { .argsz = 16 };
	msg(&b, 0, VU_CMD_DEVICE_GET_INFO, 0, &gi, sizeof(gi));
	for (uint32_t i = 0; i <= 10; i++) {
		struct vu_region_info ri = { .argsz = i & 1 ? 32 : 1024, .index = i };
		msg(&b, 0, VU_CMD_DEVICE_GET_REGION_INFO, 0, &ri, sizeof(ri));
	}
	out("server", "cmd-region-info", &b);

	start(&b, 0);
	for (uint32_t i = 0; i <= 5; i++) {
		struct vu_irq_info ii = { .argsz = 16, .index = i };
		msg(&b, 0, VU_CMD_DEVICE_GET_IRQ_INFO, 0, &ii, sizeof(ii));
	}
	struct vu_region_io_fds_req io = { .argsz = 16, .index = 0 };
	msg(&b, 0, VU_CMD_DEVICE_GET_REGION_IO_FDS, 0, &io, sizeof(io));
	out("server", "cmd-irq-info-io-fds", &b);

	/* Every region, read and written. */
	for (uint32_t reg = 0; reg <= 9; reg++) {
		start(&b, reg & 1 ? 0x10 : 0);
		uint8_t data[64];
		memset(data, (int)(reg * 17), sizeof(data));
		rw(&b, VU_CMD_REGION_READ, 0, reg, 0, 4, NULL);
		rw(&b, VU_CMD_REGION_WRITE, 0, reg, 8, 8, data);
		rw(&b, VU_CMD_REGION_READ, 0, reg, 0, 64, NULL);
		rw(&b, VU_CMD_REGION_WRITE, VU_F_NO_REPLY, reg, 0x10, 2, data);
		rw(&b, VU_CMD_REGION_READ, 0, reg, 0x1000, 4096, NULL);
		snprintf(name, sizeof(name), "cmd-region-rw-%u", reg);
		out("server", name, &b);
	}

	start(&b, 0);
	uint8_t multi[8 + 3 * 24] = { 0 };
	uint64_t cnt = 3;
	memcpy(multi, &cnt, 8);
	for (int i = 0; i < 3; i++) {
		struct vu_wr_one w = { .offset = TESTDEV_REG_BUMP, .region = 0,
				       .count = 4, .data = { (uint8_t)i, 0, 0, 0 } };
		memcpy(multi + 8 + 24 * i, &w, 24);
	}
	msg(&b, 0, VU_CMD_REGION_WRITE_MULTI, 0, multi, sizeof(multi));
	rw(&b, VU_CMD_REGION_READ, 0, 0, TESTDEV_REG_COUNT, 4, NULL);
	out("server", "cmd-write-multi", &b);

	start(&b, 0);
	msg(&b, 0, VU_CMD_DEVICE_RESET, 0, NULL, 0);
	struct vu_device_feature f = { .argsz = 8, .flags = VFIO_DEVICE_FEATURE_PROBE |
				       VFIO_DEVICE_FEATURE_GET | 1 };
	msg(&b, 0, VU_CMD_DEVICE_FEATURE, 0, &f, sizeof(f));
	struct vu_mig_data md = { .argsz = 8, .size = 16 };
	msg(&b, 0, VU_CMD_MIG_DATA_READ, 0, &md, sizeof(md));
	msg(&b, 0, VU_CMD_MIG_DATA_WRITE, 0, &md, sizeof(md));
	struct vu_dma_rw d = { .addr = 0x1000, .count = 4 };
	msg(&b, 0, VU_CMD_DMA_READ, 0, &d, sizeof(d));
	msg(&b, 0, 99, 0, NULL, 0);
	msg(&b, 0, VU_CMD_VERSION, 0, "\0\0\0\0{}", 7);
	msg(&b, 0, VU_CMD_DEVICE_GET_INFO, VU_F_TYPE_REPLY, &gi, sizeof(gi));
	out("server", "cmd-misc", &b);

	/* Interrupts: MSI, MSI-X, INTx with a resample fd, ERR, REQ. */
	start(&b, 0);
	const uint32_t ev = VFIO_IRQ_SET_DATA_EVENTFD;
	const uint32_t none = VFIO_IRQ_SET_DATA_NONE;
	const uint32_t boolean = VFIO_IRQ_SET_DATA_BOOL;
	const uint32_t trig = VFIO_IRQ_SET_ACTION_TRIGGER;
	irqs(&b, SPEC(4, FUZZ_FD_EVENTFD, 0), ev | trig, VFIO_PCI_MSI_IRQ_INDEX, 0, 4, NULL, 0);
	wr32(&b, 0, TESTDEV_REG_IRQ, VFIO_PCI_MSI_IRQ_INDEX << 16 | 2);
	irqs(&b, 0, none | trig, VFIO_PCI_MSI_IRQ_INDEX, 1, 2, NULL, 0);
	uint8_t bools[4] = { 1, 0, 1, 1 };
	irqs(&b, 0, boolean | trig, VFIO_PCI_MSI_IRQ_INDEX, 0, 4, bools, 4);
	irqs(&b, 0, none | trig, VFIO_PCI_MSI_IRQ_INDEX, 0, 0, NULL, 0);
	irqs(&b, SPEC(6, FUZZ_FD_EVENTFD, 0), ev | trig, VFIO_PCI_MSIX_IRQ_INDEX, 2, 6, NULL, 0);
	irqs(&b, 0, ev | trig, VFIO_PCI_MSIX_IRQ_INDEX, 0, 8, NULL, 0);
	out("server", "cmd-set-irqs-msi", &b);

	start(&b, 0);
	irqs(&b, SPEC(1, FUZZ_FD_EVENTFD, 0), ev | trig, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, NULL, 0);
	irqs(&b, SPEC(1, FUZZ_FD_EVENTFD, 0), ev | VFIO_IRQ_SET_ACTION_UNMASK,
	     VFIO_PCI_INTX_IRQ_INDEX, 0, 1, NULL, 0);
	irqs(&b, 0, none | VFIO_IRQ_SET_ACTION_MASK, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, NULL, 0);
	wr32(&b, 0, TESTDEV_REG_IRQ, 0);
	irqs(&b, 0, boolean | VFIO_IRQ_SET_ACTION_UNMASK, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, bools, 1);
	irqs(&b, SPEC(1, FUZZ_FD_EVENTFD, 0), ev | trig, VFIO_PCI_ERR_IRQ_INDEX, 0, 1, NULL, 0);
	irqs(&b, SPEC(1, FUZZ_FD_EVENTFD, 0), ev | trig, VFIO_PCI_REQ_IRQ_INDEX, 0, 1, NULL, 0);
	irqs(&b, 0, none | trig, VFIO_PCI_REQ_IRQ_INDEX, 0, 1, NULL, 0);
	irqs(&b, 0, none | trig, VFIO_PCI_INTX_IRQ_INDEX, 0, 0, NULL, 0);
	out("server", "cmd-set-irqs-intx-err-req", &b);

	/* Device DMA through messages: the reply follows in the stream. */
	for (int shared = 0; shared < 2; shared++) {
		start(&b, 2);
		map(&b, shared ? SPEC(1, FUZZ_FD_MEMFD, 1) : 0, 3, 0x40000, 0x1000);
		wr32(&b, 0, TESTDEV_REG_DMA_ADDR, 0x40010);
		wr32(&b, 0, TESTDEV_REG_DMA_ADDR + 4, 0);
		wr32(&b, 0, TESTDEV_REG_DMA_LEN, 16);
		wr32(&b, 0, TESTDEV_REG_DMA_CMD, 1);
		/* header, {addr, count}, data */
		struct vu_hdr rh = { .msg_id = 0, .command = VU_CMD_DMA_READ,
				     .msg_size = 48, .flags = VU_F_TYPE_REPLY };
		const uint64_t body[2] = { 0x40010, 16 };
		uint8_t data[16];
		memset(data, 0x5a, 16);
		if (!shared) {
			buf_u8(&b, 0);
			buf_put(&b, &rh, sizeof(rh));
			buf_put(&b, body, sizeof(body));
			buf_put(&b, data, sizeof(data));
		}
		wr32(&b, 0, TESTDEV_REG_DMA_CMD, 2);
		if (!shared) {
			rh.msg_id = 1;
			rh.command = VU_CMD_DMA_WRITE;
			rh.msg_size = 32;
			buf_u8(&b, 0);
			buf_put(&b, &rh, sizeof(rh));
			buf_put(&b, body, sizeof(body));
		}
		rw(&b, VU_CMD_REGION_READ, 0, 0, TESTDEV_REG_DMA_STATUS, 4, NULL);
		wr32(&b, 0, TESTDEV_REG_DMA_CMD, 0x101);
		out("server", shared ? "scn-dma-shared" : "scn-dma-messages", &b);
	}

	/* Commands queued behind a DMA request, then its reply; an error
	 * reply to the next one; the replies wait for room (cfg bit 7). */
	for (int small = 0; small < 2; small++) {
		start(&b, small ? 0x80 : 0);
		map(&b, 0, 3, 0x40000, 0x1000);
		wr32(&b, 0, TESTDEV_REG_DMA_ADDR, 0x40000);
		wr32(&b, 0, TESTDEV_REG_DMA_ADDR + 4, 0);
		wr32(&b, 0, TESTDEV_REG_DMA_LEN, 64);
		wr32(&b, 0, TESTDEV_REG_DMA_CMD, 1);
		rw(&b, VU_CMD_REGION_READ, 0, 2, 0, 4096, NULL);
		msg(&b, 0, VU_CMD_DEVICE_GET_INFO, 0, &gi, sizeof(gi));
		rw(&b, VU_CMD_REGION_WRITE, VU_F_NO_REPLY, 9, 0, 4, "abcd");
		struct vu_hdr rh = { .msg_id = 0, .command = VU_CMD_DMA_READ,
				     .msg_size = 16 + 16 + 64,
				     .flags = VU_F_TYPE_REPLY };
		const uint64_t body[2] = { 0x40000, 64 };
		uint8_t data[64] = { 1, 2, 3 };
		buf_u8(&b, 0);
		buf_put(&b, &rh, sizeof(rh));
		buf_put(&b, body, sizeof(body));
		buf_put(&b, data, sizeof(data));
		wr32(&b, 0, TESTDEV_REG_DMA_CMD, 2);
		rh = (struct vu_hdr){ .msg_id = 1, .command = VU_CMD_DMA_WRITE,
				      .msg_size = 16, .error = EFAULT,
				      .flags = VU_F_TYPE_REPLY | VU_F_ERROR };
		buf_u8(&b, 0);
		buf_put(&b, &rh, sizeof(rh));
		for (int i = 0; i < 8; i++)
			rw(&b, VU_CMD_REGION_READ, 0, 2, (uint64_t)i << 16, 65536, NULL);
		out("server", small ? "scn-dma-pending-small-buffer" :
				      "scn-dma-pending", &b);
	}

	/* Config space: BAR sizing, COMMAND, MSI enable. */
	start(&b, 0);
	for (uint32_t bar = 0; bar < 7; bar++) {
		uint64_t off = bar < 6 ? PCI_BASE_ADDRESS_0 + 4 * bar : PCI_ROM_ADDRESS;
		wr32(&b, 7, off, 0xffffffff);
		rw(&b, VU_CMD_REGION_READ, 0, 7, off, 4, NULL);
	}
	wr32(&b, 7, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	wr32(&b, 7, 0x40, 0x00810005);
	rw(&b, VU_CMD_REGION_READ, 0, 7, 0, 256, NULL);
	out("server", "scn-config", &b);

	/* Framing: a truncated message, a message too big, fds mid-stream. */
	start(&b, 0);
	msg(&b, SPEC(7, FUZZ_FD_EVENTFD, 0), VU_CMD_DEVICE_GET_INFO, 0, &gi, sizeof(gi));
	msg(&b, SPEC(2, FUZZ_FD_SOCKET, 0), VU_CMD_DMA_MAP, 0, &gi, sizeof(gi));
	struct vu_hdr big = { .command = VU_CMD_REGION_WRITE, .msg_size = 1u << 30 };
	buf_u8(&b, 0);
	buf_put(&b, &big, sizeof(big));
	out("server", "frm-bad", &b);
	buf_free(&b);
}

/* ---- recorded sessions -------------------------------------------- */

static void sess_fuzz(int sock, void *arg)
{
	fuzz_session_run(sock, (uint8_t)(uintptr_t)arg);
}

static struct uvfio_device *open_on(int sock)
{
	struct uvfio_open_opts o = { .no_twin_socket = true, .timeout_ms = 5000 };
	struct uvfio_device *d;
	return uvfio_device_open_fd(sock, &o, &d) < 0 ? NULL : d;
}

static void sess_shared_dma(int sock, void *arg)
{
	struct uvfio_device *d = open_on(sock);
	if (!d)
		return;
	struct uvfio_dma_buf *b;
	if (uvfio_dma_alloc(d, 8192, 0, &b) == 0) {
		memset(b->vaddr, 0x3c, 8192);
		uvfio_region_write64(d, 0, TESTDEV_REG_DMA_ADDR, b->iova);
		uvfio_region_write32(d, 0, TESTDEV_REG_DMA_LEN, 4096);
		uvfio_region_write32(d, 0, TESTDEV_REG_DMA_CMD, 1);
		uvfio_region_write64(d, 0, TESTDEV_REG_DMA_ADDR, b->iova + 4096);
		uvfio_region_write32(d, 0, TESTDEV_REG_DMA_CMD, 2);
		uint32_t st;
		uvfio_region_read32(d, 0, TESTDEV_REG_DMA_STATUS, &st);
		uvfio_dma_free(d, b);
	}
	uvfio_device_close(d);
}

static void sess_irqs(int sock, void *arg)
{
	struct uvfio_device *d = open_on(sock);
	if (!d)
		return;
	int e[8];
	for (int i = 0; i < 8; i++)
		e[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	uvfio_irq_enable(d, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, e);
	uvfio_irq_set(d, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_DATA_EVENTFD |
		      VFIO_IRQ_SET_ACTION_UNMASK, 0, 1, &e[1]);
	uvfio_region_write32(d, 0, TESTDEV_REG_IRQ, 0);
	uvfio_irq_unmask(d, VFIO_PCI_INTX_IRQ_INDEX, 0);
	uvfio_irq_disable(d, VFIO_PCI_INTX_IRQ_INDEX);
	uvfio_irq_enable(d, VFIO_PCI_MSIX_IRQ_INDEX, 0, 8, e);
	uvfio_region_write32(d, 0, TESTDEV_REG_IRQ, VFIO_PCI_MSIX_IRQ_INDEX << 16 | 7);
	uvfio_irq_disable(d, VFIO_PCI_MSIX_IRQ_INDEX);
	uvfio_irq_enable(d, VFIO_PCI_ERR_IRQ_INDEX, 0, 1, &e[2]);
	uvfio_irq_enable(d, VFIO_PCI_REQ_IRQ_INDEX, 0, 1, &e[3]);
	uint8_t yes = 1;
	uvfio_irq_set(d, VFIO_PCI_REQ_IRQ_INDEX, VFIO_IRQ_SET_DATA_BOOL |
		      VFIO_IRQ_SET_ACTION_TRIGGER, 0, 1, &yes);
	uvfio_device_reset(d);
	for (int i = 0; i < 8; i++)
		close(e[i]);
	uvfio_device_close(d);
}

static void sess_regions(int sock, void *arg)
{
	struct uvfio_device *d = open_on(sock);
	if (!d)
		return;
	static uint8_t big[70000];
	for (int i = 0; i < 40; i++)
		uvfio_region_write_posted(d, 0, TESTDEV_REG_BUMP, &(uint32_t){ 1 }, 4);
	uint32_t v;
	uvfio_region_read32(d, 0, TESTDEV_REG_COUNT, &v);
	uvfio_region_read(d, 4, 0, big, 65536);
	uvfio_region_write(d, 4, 0x100, big, 0x3000);
	uvfio_region_read(d, 6, 0, big, 4096);
	uvfio_region_write(d, 5, 0, big, 256);
	uvfio_region_read64(d, 9, 8, &(uint64_t){ 0 });
	for (unsigned off = 0x10; off <= 0x30; off += 4) {
		uvfio_region_write32(d, VFIO_PCI_CONFIG_REGION_INDEX, off, 0xffffffff);
		uvfio_region_read32(d, VFIO_PCI_CONFIG_REGION_INDEX, off, &v);
	}
	uvfio_region_write16(d, VFIO_PCI_CONFIG_REGION_INDEX, PCI_COMMAND, 0x0107);
	uvfio_device_close(d);
}

static void recorded(void)
{
	static const struct {
		const char *name;
		void (*fn)(int, void *);
		uintptr_t arg;
		bool server, client;
	} s[] = {
		{ "session-cfg0", sess_fuzz, 0, true, true },
		{ "session-cfg1", sess_fuzz, 1, false, true },
		{ "session-cfg2", sess_fuzz, 2, true, true },
		{ "session-cfg6", sess_fuzz, 6, false, true },
		{ "shared-dma", sess_shared_dma, 0, true, false },
		{ "irqs", sess_irqs, 0, true, false },
		{ "regions", sess_regions, 0, true, false },
	};
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		struct recording r;
		struct uvfio_server_opts o = { .max_data_xfer_size = 65536 };
		record(s[i].fn, (void *)s[i].arg, &o, &r);
		char name[64];
		struct buf b = { 0 };
		if (s[i].server) {
			rec_to_server_seed(&r, 0, &b);
			snprintf(name, sizeof(name), "rec-%s", s[i].name);
			out("server", name, &b);
			buf_free(&b);
		}
		if (s[i].client) {
			rec_to_client_seed(&r, (uint8_t)s[i].arg, &b, NULL, NULL);
			snprintf(name, sizeof(name), "rec-%s", s[i].name);
			out("client", name, &b);
			buf_free(&b);
		}
		if (!strcmp(s[i].name, "session-cfg0"))
			client_variants(&r, 0);
		recording_free(&r);
	}
}

/* ---- version and config ------------------------------------------- */

static void version_seeds(void)
{
	static const char *const j[] = {
		"{}",
		"{\"capabilities\":{}}",
		"{\"capabilities\":{\"max_msg_fds\":16}}",
		"{\"capabilities\":{\"max_msg_fds\":16,\"max_data_xfer_size\":1048576,"
		"\"max_dma_maps\":65535,\"pgsizes\":4096}}",
		"{\"capabilities\":{\"max_msg_fds\":8,\"max_data_xfer_size\":1048576,"
		"\"pgsizes\":4096,\"max_dma_maps\":65535,\"migration\":{\"pgsize\":4096,"
		"\"max_bitmap_size\":134217728}}}",
		"{\"capabilities\":{\"twin_socket\":{\"supported\":true}}}",
		"{\"capabilities\":{\"twin_socket\":{\"supported\":true,\"fd_index\":0},"
		"\"write_multiple\":true}}",
		"{\"capabilities\":{\"max_data_xfer_size\":67108864,\"pgsizes\":12288}}",
		"{\"capabilities\":{\"max_data_xfer_size\":0}}",
		"{\"capabilities\":{\"max_msg_fds\":-1}}",
		"{\"capabilities\":{\"pgsizes\":18446744073709551615}}",
		"{\"capabilities\":{\"max_dma_maps\":\"65535\"}}",
		"{\"capabilities\":[1,2,3]}",
		"{\"capabilities\":{\"migration\":7}}",
		"{\"capabilities\":{\"write_multiple\":1}}",
		"[]",
		"{\"capabilities\":{\"max_msg_fds\":16} trailing",
		"{\"a\":{\"b\":{\"c\":{\"d\":[[[[[[[[[[]]]]]]]]]]}}}}",
		"{\"capabilities\":{\"max_msg_fds\":1e3}}",
		"{\"capabilities\":{\"max_msg_fds\":16,\"max_msg_fds\":17}}",
		"{\"capabilities\":{\"max_data_xfer_size\":4294967296}}",
		"{\"capabilities\":{\"unknown\":{\"x\":null},\"max_msg_fds\":0}}",
	};
	struct buf b = { 0 };
	char name[32];
	for (size_t i = 0; i < sizeof(j) / sizeof(j[0]); i++) {
		buf_free(&b);
		buf_put(&b, j[i], strlen(j[i]) + 1);
		snprintf(name, sizeof(name), "json-%02zu", i);
		out("version", name, &b);
	}
	buf_free(&b);
	buf_put(&b, "{\"capabilities\":{}}", 19);   /* no NUL */
	out("version", "json-no-nul", &b);
	buf_free(&b);
}

/* fuzz_config: op = kind | size index << 3 | sel << 6; u16 offset, value */
static void acc(struct buf *b, unsigned kind, unsigned szi, unsigned sel,
		uint16_t off, const void *val, size_t len)
{
	buf_u8(b, (uint8_t)(kind | szi << 3 | sel << 6));
	buf_u16(b, off);
	if (kind == 1 || kind == 2 || kind == 5)
		buf_put(b, val, len);
}

/* SET_IRQS: data nibble (0 none, 1 bool, 2 eventfd), action (0 mask,
 * 1 unmask, 2 trigger). */
static void cfg_irqs(struct buf *b, unsigned index, unsigned data,
		     unsigned action, uint8_t start, uint8_t count)
{
	buf_u8(b, (uint8_t)(6 | index << 6));
	buf_u8(b, (uint8_t)(data | action << 4));
	buf_u8(b, start);
	buf_u8(b, count);
	for (unsigned i = 0; i < count; i++)
		buf_u8(b, 1);
}

static void config_device(unsigned d, uint16_t cfg_size)
{
	static const uint8_t ones[256] = { [0 ... 255] = 0xff };
	static const uint8_t zero[256];
	static const size_t sz[7] = { 1, 2, 4, 8, 3, 16, 256 };
	struct buf b = { 0 };
	char name[48];

	buf_u8(&b, (uint8_t)d);
	for (unsigned bar = 0; bar < 7; bar++)
		acc(&b, 3, 2, 0, (uint16_t)bar, NULL, 0);
	snprintf(name, sizeof(name), "dev%u-bar-sizing", d);
	out("config", name, &b);
	buf_free(&b);

	for (unsigned szi = 0; szi < 7; szi += 2) {
		buf_u8(&b, (uint8_t)d);
		for (unsigned off = 0; off < cfg_size; off += (unsigned)sz[szi])
			acc(&b, 0, szi, 0, (uint16_t)off, NULL, 0);
		snprintf(name, sizeof(name), "dev%u-read-all-%zu", d, sz[szi]);
		out("config", name, &b);
		buf_free(&b);
	}
	for (unsigned szi = 0; szi < 3; szi++) {
		for (int v = 0; v < 2; v++) {
			buf_u8(&b, (uint8_t)d);
			for (unsigned off = 0; off + sz[szi] <= cfg_size;
			     off += (unsigned)sz[szi])
				acc(&b, 2, szi, 0, (uint16_t)off, v ? ones : zero,
				    sz[szi]);
			snprintf(name, sizeof(name), "dev%u-write-all-%s-%zu", d,
				 v ? "ones" : "zeros", sz[szi]);
			out("config", name, &b);
			buf_free(&b);
		}
	}
	/* A driver: COMMAND, addresses, MSI and MSI-X enabled through
	 * SET_IRQS, the capabilities' control registers all set. */
	buf_u8(&b, (uint8_t)d);
	const uint16_t cmd = PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_IO;
	acc(&b, 2, 1, 0, PCI_COMMAND, &cmd, 2);
	const uint32_t addr[7] = { 0xe0000000, 0x1, 0xfe000000, 0xc001,
				   0xfd000000, 0, 0xfeb00001 };
	for (unsigned i = 0; i < 6; i++)
		acc(&b, 2, 2, 0, (uint16_t)(PCI_BASE_ADDRESS_0 + 4 * i), &addr[i], 4);
	acc(&b, 2, 2, 0, PCI_ROM_ADDRESS, &addr[6], 4);
	cfg_irqs(&b, 1, 2, 2, 0, 4);
	for (unsigned off = 0x40; off < 0x100; off += 2)
		acc(&b, 2, 1, 0, (uint16_t)off, "\x01\x80", 2);
	cfg_irqs(&b, 1, 0, 2, 0, 0);
	cfg_irqs(&b, 2, 2, 2, 0, 16);
	/* The MSI-X table (capdev: BAR2 offset 0) and PBA, vector 3. */
	const uint32_t entry[4] = { 0xfee00000, 0, 0x4041, 0 };
	acc(&b, 5, 5, 1, 0x30, entry, 16);
	acc(&b, 4, 2, 1, 0x1000, NULL, 0);
	cfg_irqs(&b, 0, 2, 2, 0, 1);
	cfg_irqs(&b, 0, 0, 0, 0, 1);
	acc(&b, 2, 1, 0, PCI_COMMAND, "\x07\x04", 2);   /* INTx disable */
	buf_u8(&b, 7);                              /* reset */
	snprintf(name, sizeof(name), "dev%u-driver", d);
	out("config", name, &b);
	buf_free(&b);

	/* Out of range, straddling the end, odd sizes. */
	buf_u8(&b, (uint8_t)d);
	acc(&b, 0, 2, 0, (uint16_t)(cfg_size - 2), NULL, 0);
	acc(&b, 1, 3, 0, (uint16_t)(cfg_size - 4), ones, 8);
	acc(&b, 0, 6, 0, 0x01, NULL, 0);
	acc(&b, 0, 2, 0, 0x1000, NULL, 0);
	acc(&b, 0, 2, 0, 0x0ffc, NULL, 0);
	acc(&b, 4, 2, 3, 0xffff, NULL, 0);
	buf_u8(&b, 1 | 7 << 3);          /* a 10-byte write at 0x3e */
	buf_u8(&b, 9);
	buf_u16(&b, 0x3e);
	buf_put(&b, ones, 10);
	snprintf(name, sizeof(name), "dev%u-edges", d);
	out("config", name, &b);
	buf_free(&b);
}

static void config_seeds(void)
{
	config_device(0, 4096);   /* capdev, PCI Express */
	config_device(1, 256);    /* conventional */
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS-DIR\n", argv[0]);
		return 2;
	}
	snprintf(g_dir, sizeof(g_dir), "%s", argv[1]);
	version_seeds();
	config_seeds();
	server_commands();
	recorded();
	printf("seeds written under %s\n", g_dir);
	return 0;
}
