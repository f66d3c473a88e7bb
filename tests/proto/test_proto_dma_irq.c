/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * DMA_MAP/DMA_UNMAP and the device's DMA (through shared fds and through
 * DMA_READ/DMA_WRITE requests to us), and SET_IRQS with real eventfds,
 * against a real uvfio-serve, with the server's fd count watched.
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
#include <cmocka.h>

#include "devices/models.h"
#include "proto_util.h"

static int dma_map(struct pc *pc, uint32_t flags, uint64_t offset,
		   uint64_t iova, uint64_t size, const int *fds, unsigned nfds)
{
	struct vu_dma_map m = { .argsz = sizeof(m), .flags = flags,
				.offset = offset, .addr = iova, .size = size };
	return pc_call(pc, VU_CMD_DMA_MAP, &m, sizeof(m), fds, nfds);
}

static int dma_unmap(struct pc *pc, uint32_t flags, uint64_t iova,
		     uint64_t size)
{
	struct vu_dma_unmap u = { .argsz = sizeof(u), .flags = flags,
				  .addr = iova, .size = size };
	int r = pc_call(pc, VU_CMD_DMA_UNMAP, &u, sizeof(u), NULL, 0);
	if (r == 0) {
		/* The reply echoes the request. */
		assert_int_equal(vu_rx_len(&pc->rx), sizeof(u));
		assert_memory_equal(pc->rx.buf, &u, sizeof(u));
	}
	return r;
}

static void test_dma_map_unmap_errors(void **state)
{
	struct pc pc;
	pc_open(&pc);
	assert_int_equal(dma_map(&pc, 3, 0, 0x10000, 0x4000, NULL, 0), 0);
	/* Every kind of overlap. */
	const struct { uint64_t iova, size; } ov[] = {
		{ 0x10000, 0x4000 }, { 0x11000, 0x1000 }, { 0xf000, 0x2000 },
		{ 0x13000, 0x2000 }, { 0x8000, 0x20000 },
	};
	for (size_t i = 0; i < sizeof(ov) / sizeof(ov[0]); i++)
		assert_int_equal(dma_map(&pc, 3, 0, ov[i].iova, ov[i].size, NULL, 0),
				 -EEXIST);
	/* Unmap of nothing, or of part of a window. */
	assert_int_equal(dma_unmap(&pc, 0, 0x100000, 0x1000), -ENOENT);
	assert_int_equal(dma_unmap(&pc, 0, 0x10000, 0x1000), -ENOENT);
	assert_int_equal(dma_unmap(&pc, 0, 0x11000, 0x3000), -ENOENT);
	assert_int_equal(dma_unmap(&pc, 0, 0x10000, 0x8000), -ENOENT);
	/* Malformed. */
	assert_int_equal(dma_map(&pc, 3, 0, 0x20000, 0, NULL, 0), -EINVAL);
	assert_int_equal(dma_map(&pc, 3, 0, 0x20001, 0x1000, NULL, 0), -EINVAL);
	assert_int_equal(dma_map(&pc, 3, 0, 0x20000, 0xfff, NULL, 0), -EINVAL);
	assert_int_equal(dma_map(&pc, 4, 0, 0x20000, 0x1000, NULL, 0), -EINVAL);
	assert_int_equal(dma_map(&pc, 3, 0, UINT64_MAX - 0xfff, 0x2000, NULL, 0),
			 -EINVAL);
	assert_int_equal(dma_unmap(&pc, 0, 0x10000, 0), -EINVAL);
	assert_int_equal(dma_unmap(&pc, 1, 0x10000, 0x4000), -EINVAL);
	assert_int_equal(dma_unmap(&pc, VU_DMA_UNMAP_FLAG_ALL, 0x10000, 0x4000),
			 -EINVAL);
	assert_int_equal(dma_unmap(&pc, VU_DMA_UNMAP_FLAG_ALL, 0, 0x4000), -EINVAL);
	/* Two fds on one map. */
	int fds[2] = { pc_memfd(0x4000), pc_memfd(0x4000) };
	assert_int_equal(dma_map(&pc, 3, 0, 0x40000, 0x4000, fds, 2), -EINVAL);
	/* An fd with an unaligned offset, or one that cannot be mapped. */
	assert_int_equal(dma_map(&pc, 3, 0x10, 0x40000, 0x1000, fds, 1), -EINVAL);
	/*
	 * An fd that is not memory (an eventfd): EINVAL, not the ENODEV
	 * mmap(2) gives, which would read as "no device" (src/device/dma.c).
	 */
	int ev = pc_eventfd();
	assert_int_equal(dma_map(&pc, 3, 0, 0x40000, 0x1000, &ev, 1), -EINVAL);
	close(ev);
	close(fds[0]);
	close(fds[1]);
	/* The window is still there, exactly. */
	assert_int_equal(dma_unmap(&pc, 0, 0x10000, 0x4000), 0);
	assert_int_equal(dma_unmap(&pc, 0, 0x10000, 0x4000), -ENOENT);
	/* UNMAP_ALL. */
	for (uint64_t i = 1; i <= 5; i++)
		assert_int_equal(dma_map(&pc, 1, 0, i << 20, 0x1000, NULL, 0), 0);
	assert_int_equal(dma_unmap(&pc, VU_DMA_UNMAP_FLAG_ALL, 0, 0), 0);
	for (uint64_t i = 1; i <= 5; i++)
		assert_int_equal(dma_map(&pc, 1, 0, i << 20, 0x1000, NULL, 0), 0);
	pc_get_info_ok(&pc);
	pc_close(&pc);
}

/* Program testdev's DMA engine and run one command; returns its status. */
static uint32_t device_dma(struct pc *pc, uint64_t iova, uint32_t len,
			   uint32_t cmd)
{
	pc_wr32(pc, 0, TESTDEV_REG_DMA_ADDR, (uint32_t)iova);
	pc_wr32(pc, 0, TESTDEV_REG_DMA_ADDR + 4, (uint32_t)(iova >> 32));
	pc_wr32(pc, 0, TESTDEV_REG_DMA_LEN, len);
	pc_wr32(pc, 0, TESTDEV_REG_DMA_CMD, cmd);
	return pc_rd32(pc, 0, TESTDEV_REG_DMA_STATUS);
}

static void test_dma_through_shared_fd(void **state)
{
	struct pc pc;
	pc_open(&pc);
	int base = pc_server_fds();
	const size_t size = 64 << 10;
	int memfd = pc_memfd(size);
	uint8_t *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	assert_true(mem != MAP_FAILED);
	for (size_t i = 0; i < 0x4000; i++)
		mem[i] = (uint8_t)(i * 7 + 1);
	/* iova 0x2000000 -> file offset 0; 0x3000000 -> offset 0x8000. */
	assert_int_equal(dma_map(&pc, 3, 0, 0x2000000, 0x8000, &memfd, 1), 0);
	assert_int_equal(dma_map(&pc, 3, 0x8000, 0x3000000, 0x8000, &memfd, 1), 0);
	/* The server holds at most one fd per window. */
	assert_true(pc_server_fds() <= base + 2);

	assert_int_equal(device_dma(&pc, 0x2000000, 0x4000, 1), 0);
	assert_int_equal(device_dma(&pc, 0x3000100, 0x4000, 2), 0);
	assert_memory_equal(mem + 0x8100, mem, 0x4000);
	/* Outside every window: EFAULT. */
	assert_int_equal(device_dma(&pc, 0x2008000, 16, 1), EFAULT);
	assert_int_equal(device_dma(&pc, 0x2007ff0, 32, 2), EFAULT);

	/* A read-only window cannot be written by the device. */
	assert_int_equal(dma_map(&pc, 1, 0, 0x5000000, 0x1000, &memfd, 1), 0);
	memset(mem, 0xab, 16);
	assert_int_equal(device_dma(&pc, 0x5000000, 16, 1), 0);
	assert_int_equal(device_dma(&pc, 0x5000000, 16, 2), EPERM);

	assert_int_equal(dma_unmap(&pc, 0, 0x2000000, 0x8000), 0);
	assert_int_equal(dma_unmap(&pc, 0, 0x5000000, 0x1000), 0);
	assert_true(pc_server_fds() <= base + 1);
	assert_int_equal(device_dma(&pc, 0x2000000, 16, 1), EFAULT);
	/* Disconnecting drops the rest: the server holds nothing of ours. */
	pc_close(&pc);
	assert_int_equal(pc_server_fds_settle(base - 1), base - 1);
	munmap(mem, size);
	close(memfd);
	pc_server_usable();
}

/* Run a DMA command whose data travels in DMA_READ/DMA_WRITE to us. */
static void test_dma_through_messages(void **state)
{
	struct pc pc;
	pc_open(&pc);
	assert_int_equal(dma_map(&pc, 3, 0, 0x6000000, 0x2000, NULL, 0), 0);
	pc_wr32(&pc, 0, TESTDEV_REG_DMA_ADDR, 0x6000ff0);
	pc_wr32(&pc, 0, TESTDEV_REG_DMA_ADDR + 4, 0);
	pc_wr32(&pc, 0, TESTDEV_REG_DMA_LEN, 64);
	uint8_t guest[64];
	for (int i = 0; i < 64; i++)
		guest[i] = (uint8_t)(0x30 + i);

	for (int round = 0; round < 3; round++) {
		/* 1: guest -> device (DMA_READ), 2: device -> guest (DMA_WRITE);
		 * round 2 answers the DMA_READ with an error. */
		uint32_t cmd = round == 1 ? 2 : 1;
		uint8_t wr[20];
		struct vu_region_rw *req = (void *)wr;
		*req = (struct vu_region_rw){ .offset = TESTDEV_REG_DMA_CMD,
					      .region = 0, .count = 4 };
		memcpy(req->data, &cmd, 4);
		uint16_t id = pc_send(&pc, VU_CMD_REGION_WRITE, 0, wr, sizeof(wr),
				      NULL, 0);
		assert_int_equal(pc_recv(&pc, PC_TIMEOUT_MS), 0);
		uint16_t want = cmd == 1 ? VU_CMD_DMA_READ : VU_CMD_DMA_WRITE;
		assert_int_equal(pc.rx.hdr.command, want);
		assert_int_equal(pc.rx.hdr.flags & VU_F_TYPE_MASK, VU_F_TYPE_COMMAND);
		const struct vu_dma_rw *d = (const void *)pc.rx.buf;
		assert_int_equal(d->addr, 0x6000ff0);
		assert_int_equal(d->count, 64);
		struct vu_hdr h = { .msg_id = pc.rx.hdr.msg_id, .command = want,
				    .flags = VU_F_TYPE_REPLY };
		uint8_t rep[16 + 64];
		struct vu_dma_rw *rr = (void *)rep;
		rr->addr = d->addr;
		rr->count = 64;
		size_t rlen = 16;
		if (cmd == 1) {
			assert_int_equal(vu_rx_len(&pc.rx), 16);
			memcpy(rr->data, guest, 64);
			rlen += 64;
		} else {
			assert_int_equal(vu_rx_len(&pc.rx), 16 + 64);
			assert_memory_equal(d->data, guest, 64);
		}
		if (round == 2) {
			h.flags |= VU_F_ERROR;
			h.error = EFAULT;
			rlen = 0;
		}
		struct iovec iov = { rep, rlen };
		assert_int_equal(vu_send(pc.sock, &h, &iov, 1, NULL, 0,
					 PC_TIMEOUT_MS), 0);
		assert_int_equal(pc_recv(&pc, PC_TIMEOUT_MS), 0);
		assert_int_equal(pc.rx.hdr.msg_id, id);
		assert_int_equal(pc.rx.hdr.command, VU_CMD_REGION_WRITE);
		assert_false(pc.rx.hdr.flags & VU_F_ERROR);
		assert_int_equal(pc_rd32(&pc, 0, TESTDEV_REG_DMA_STATUS),
				 round == 2 ? EFAULT : 0);
	}
	pc_close(&pc);
}

/* DMA_READ/DMA_WRITE are the server's requests; a client sending them
 * gets EINVAL, fds or not. */
static void test_client_dma_rw_refused(void **state)
{
	struct pc pc;
	pc_open(&pc);
	int base = pc_server_fds();
	uint8_t buf[16 + 8] = { 0 };
	int fd = pc_memfd(4096);
	assert_int_equal(pc_call(&pc, VU_CMD_DMA_READ, buf, 16, NULL, 0), -EINVAL);
	assert_int_equal(pc_call(&pc, VU_CMD_DMA_WRITE, buf, 24, NULL, 0), -EINVAL);
	assert_int_equal(pc_call(&pc, VU_CMD_DMA_WRITE, buf, 24, &fd, 1), -EINVAL);
	close(fd);
	assert_int_equal(pc_server_fds_settle(base), base);
	pc_get_info_ok(&pc);
	pc_close(&pc);
}

static int set_irqs(struct pc *pc, uint32_t flags, uint32_t index,
		    uint32_t start, uint32_t count, const void *data,
		    size_t dlen, const int *fds, unsigned nfds)
{
	uint8_t buf[64];
	struct vu_irq_set *s = (void *)buf;
	assert_true(dlen <= sizeof(buf) - sizeof(*s));
	*s = (struct vu_irq_set){ .argsz = (uint32_t)(sizeof(*s) + dlen),
				  .flags = flags, .index = index,
				  .start = start, .count = count };
	if (dlen)
		memcpy(s->data, data, dlen);
	return pc_call(pc, VU_CMD_DEVICE_SET_IRQS, buf, sizeof(*s) + dlen, fds, nfds);
}

/* Raise @index/@vector through testdev's IRQ register; returns its errno. */
static uint32_t raise_irq(struct pc *pc, uint32_t index, uint32_t vector)
{
	pc_wr32(pc, 0, TESTDEV_REG_IRQ, index << 16 | vector);
	return pc_rd32(pc, 0, TESTDEV_REG_IRQ_RESULT);
}

static uint64_t fired(int fd)
{
	uint64_t v = 0;
	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

#define EFD_TRIG (VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER)
#define NONE_TRIG (VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER)

static void test_set_irqs_msi(void **state)
{
	struct pc pc;
	pc_open(&pc);
	int base = pc_server_fds();
	int fds[4];
	for (int i = 0; i < 4; i++)
		fds[i] = pc_eventfd();
	assert_int_equal(set_irqs(&pc, EFD_TRIG, VFIO_PCI_MSI_IRQ_INDEX, 0, 4, NULL,
				  0, fds, 4), 0);
	assert_int_equal(pc_server_fds_settle(base + 4), base + 4);
	for (uint32_t v = 0; v < 4; v++) {
		assert_int_equal(raise_irq(&pc, VFIO_PCI_MSI_IRQ_INDEX, v), 0);
		for (uint32_t k = 0; k < 4; k++)
			assert_int_equal(fired(fds[k]), k == v ? 1 : 0);
	}
	/* Loopback through SET_IRQS. */
	assert_int_equal(set_irqs(&pc, NONE_TRIG, VFIO_PCI_MSI_IRQ_INDEX, 3, 1, NULL,
				  0, NULL, 0), 0);
	assert_int_equal(fired(fds[3]), 1);
	/* De-assign exactly [1, 3). */
	assert_int_equal(set_irqs(&pc, EFD_TRIG, VFIO_PCI_MSI_IRQ_INDEX, 1, 2, NULL,
				  0, NULL, 0), 0);
	assert_int_equal(pc_server_fds_settle(base + 2), base + 2);
	assert_int_equal(raise_irq(&pc, VFIO_PCI_MSI_IRQ_INDEX, 0), 0);
	assert_int_equal(raise_irq(&pc, VFIO_PCI_MSI_IRQ_INDEX, 1), ENOENT);
	assert_int_equal(raise_irq(&pc, VFIO_PCI_MSI_IRQ_INDEX, 2), ENOENT);
	assert_int_equal(raise_irq(&pc, VFIO_PCI_MSI_IRQ_INDEX, 3), 0);
	assert_int_equal(fired(fds[0]), 1);
	assert_int_equal(fired(fds[1]), 0);
	assert_int_equal(fired(fds[2]), 0);
	assert_int_equal(fired(fds[3]), 1);

	/* MSI active: INTx and MSI-X are refused; MSI MASK takes no eventfd. */
	assert_int_equal(set_irqs(&pc, EFD_TRIG, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, NULL,
				  0, fds, 1), -EINVAL);
	assert_int_equal(set_irqs(&pc, EFD_TRIG, VFIO_PCI_MSIX_IRQ_INDEX, 0, 1, NULL,
				  0, fds, 1), -EINVAL);
	assert_int_equal(set_irqs(&pc, VFIO_IRQ_SET_DATA_EVENTFD |
				  VFIO_IRQ_SET_ACTION_MASK, VFIO_PCI_MSI_IRQ_INDEX,
				  0, 1, NULL, 0, fds, 1), -ENOTTY);
	assert_int_equal(set_irqs(&pc, VFIO_IRQ_SET_DATA_NONE |
				  VFIO_IRQ_SET_ACTION_MASK, VFIO_PCI_MSI_IRQ_INDEX,
				  0, 1, NULL, 0, NULL, 0), 0);
	assert_int_equal(set_irqs(&pc, VFIO_IRQ_SET_DATA_NONE |
				  VFIO_IRQ_SET_ACTION_UNMASK, VFIO_PCI_MSI_IRQ_INDEX,
				  0, 1, NULL, 0, NULL, 0), 0);
	/* Fds the server refused are not kept. */
	assert_int_equal(pc_server_fds_settle(base + 2), base + 2);
	/* Disable the index: every fd released. */
	assert_int_equal(set_irqs(&pc, NONE_TRIG, VFIO_PCI_MSI_IRQ_INDEX, 0, 0, NULL,
				  0, NULL, 0), 0);
	assert_int_equal(pc_server_fds_settle(base), base);
	assert_int_equal(raise_irq(&pc, VFIO_PCI_MSI_IRQ_INDEX, 0), ENOENT);
	for (int i = 0; i < 4; i++)
		close(fds[i]);
	pc_close(&pc);
}

static void test_set_irqs_intx(void **state)
{
	struct pc pc;
	pc_open(&pc);
	int fd = pc_eventfd();
	assert_int_equal(set_irqs(&pc, EFD_TRIG, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, NULL,
				  0, &fd, 1), 0);
	assert_int_equal(raise_irq(&pc, VFIO_PCI_INTX_IRQ_INDEX, 0), 0);
	assert_int_equal(fired(fd), 1);
	/* Auto-masked until UNMASK, which fires again while still pending. */
	assert_int_equal(raise_irq(&pc, VFIO_PCI_INTX_IRQ_INDEX, 0), 0);
	assert_int_equal(fired(fd), 0);
	assert_int_equal(set_irqs(&pc, VFIO_IRQ_SET_DATA_NONE |
				  VFIO_IRQ_SET_ACTION_UNMASK,
				  VFIO_PCI_INTX_IRQ_INDEX, 0, 1, NULL, 0, NULL, 0), 0);
	assert_int_equal(fired(fd), 1);
	/* QEMU's attach sequence pieces: NONE|MASK, NONE|UNMASK, disable. */
	assert_int_equal(set_irqs(&pc, VFIO_IRQ_SET_DATA_NONE |
				  VFIO_IRQ_SET_ACTION_MASK,
				  VFIO_PCI_INTX_IRQ_INDEX, 0, 1, NULL, 0, NULL, 0), 0);
	assert_int_equal(set_irqs(&pc, NONE_TRIG, VFIO_PCI_INTX_IRQ_INDEX, 0, 0, NULL,
				  0, NULL, 0), 0);
	assert_int_equal(raise_irq(&pc, VFIO_PCI_INTX_IRQ_INDEX, 0), ENOENT);
	/* Malformed. */
	const uint8_t yes[8] = { 1, 1, 1, 1, 1, 1, 1, 1 };
	assert_int_equal(set_irqs(&pc, EFD_TRIG, VFIO_PCI_INTX_IRQ_INDEX, 0, 2, NULL,
				  0, NULL, 0), -EINVAL);
	assert_int_equal(set_irqs(&pc, EFD_TRIG, 5, 0, 1, NULL, 0, &fd, 1), -EINVAL);
	assert_int_equal(set_irqs(&pc, VFIO_IRQ_SET_DATA_BOOL |
				  VFIO_IRQ_SET_ACTION_TRIGGER,
				  VFIO_PCI_MSIX_IRQ_INDEX, 0, 8, yes, 4, NULL, 0),
			 -EINVAL);
	assert_int_equal(set_irqs(&pc, 0x40 | NONE_TRIG, VFIO_PCI_MSI_IRQ_INDEX, 0, 1,
				  NULL, 0, NULL, 0), -EINVAL);
	int mfd = pc_memfd(4096);
	assert_int_equal(set_irqs(&pc, EFD_TRIG, VFIO_PCI_MSIX_IRQ_INDEX, 0, 1, NULL,
				  0, &mfd, 1), -EINVAL);
	close(mfd);
	close(fd);
	pc_get_info_ok(&pc);
	pc_close(&pc);
}

/* On disconnect the server releases the client's eventfds and windows. */
static void test_disconnect_releases_fds(void **state)
{
	struct pc pc;
	pc_open(&pc);
	int base = pc_server_fds();
	int fds[8];
	for (int i = 0; i < 8; i++)
		fds[i] = pc_eventfd();
	assert_int_equal(set_irqs(&pc, EFD_TRIG, VFIO_PCI_MSIX_IRQ_INDEX, 0, 8, NULL,
				  0, fds, 8), 0);
	int err = pc_eventfd();
	assert_int_equal(set_irqs(&pc, EFD_TRIG, VFIO_PCI_ERR_IRQ_INDEX, 0, 1, NULL,
				  0, &err, 1), 0);
	int m = pc_memfd(0x10000);
	assert_int_equal(dma_map(&pc, 3, 0, 0x1000000, 0x10000, &m, 1), 0);
	/* The 9 eventfds are held; the window's fd maybe. */
	int held = pc_server_fds() - base;
	if (held != 9 && held != 10)
		fail_msg("server holds %d fds for 9 eventfds and 1 window", held);
	pc_close(&pc);
	/* Minus the connection itself. */
	assert_int_equal(pc_server_fds_settle(base - 1), base - 1);
	for (int i = 0; i < 8; i++)
		close(fds[i]);
	close(err);
	close(m);
	/* Device state is kept for the next client, windows are not. */
	pc_open(&pc);
	assert_int_equal(dma_unmap(&pc, 0, 0x1000000, 0x10000), -ENOENT);
	assert_int_equal(raise_irq(&pc, VFIO_PCI_MSIX_IRQ_INDEX, 0), ENOENT);
	pc_close(&pc);
}

/* Send a REGION_WRITE of a 4-byte register without waiting for the reply. */
static uint16_t post_reg(struct pc *pc, uint64_t reg, uint32_t v)
{
	uint8_t wr[20];
	memcpy(wr, &(struct vu_region_rw){ .offset = reg, .region = 0,
					   .count = 4 }, 16);
	memcpy(wr + 16, &v, 4);
	return pc_send(pc, VU_CMD_REGION_WRITE, 0, wr, sizeof(wr), NULL, 0);
}

/* Receive the server's DMA request; returns its msg_id. */
static uint16_t expect_dma_request(struct pc *pc, uint16_t cmd, uint64_t addr,
				   uint64_t count)
{
	assert_int_equal(pc_recv(pc, PC_TIMEOUT_MS), 0);
	if (pc->rx.hdr.command != cmd ||
	    (pc->rx.hdr.flags & VU_F_TYPE_MASK) != VU_F_TYPE_COMMAND)
		fail_msg("expected a DMA request %u, got command %u flags 0x%x",
			 cmd, pc->rx.hdr.command, pc->rx.hdr.flags);
	const struct vu_dma_rw *d = (const void *)pc->rx.buf;
	assert_true(d->addr == addr);
	assert_true(d->count == count);
	return pc->rx.hdr.msg_id;
}

static void reply_dma_read(struct pc *pc, uint16_t id, uint64_t addr,
			   const void *data, uint64_t count, size_t len)
{
	uint8_t rep[16 + 256];
	assert_true(len <= sizeof(rep));
	struct vu_dma_rw *rr = (void *)rep;
	rr->addr = addr;
	rr->count = count;
	memcpy(rr->data, data, len > 16 ? len - 16 : 0);
	struct vu_hdr h = { .msg_id = id, .command = VU_CMD_DMA_READ,
			    .flags = VU_F_TYPE_REPLY };
	struct iovec iov = { rep, len };
	assert_int_equal(vu_send(pc->sock, &h, &iov, 1, NULL, 0, PC_TIMEOUT_MS), 0);
}

/*
 * A DMA the device starts from a timer, while the client is in the
 * middle of a command and sends more before answering: the commands are
 * answered after the DMA, in order, and the DMA gets its data.
 */
static void test_timer_dma_keeps_command_order(void **state)
{
	struct pc pc;
	pc_open(&pc);
	assert_int_equal(dma_map(&pc, 3, 0, 0x6100000, 0x1000, NULL, 0), 0);
	pc_wr32(&pc, 0, TESTDEV_REG_DMA_ADDR, 0x6100040);
	pc_wr32(&pc, 0, TESTDEV_REG_DMA_ADDR + 4, 0);
	pc_wr32(&pc, 0, TESTDEV_REG_DMA_LEN, 32);
	pc_wr32(&pc, 0, TESTDEV_REG_DMA_CMD, 0x101);   /* read, 1 ms later */
	/* Half of a GET_INFO, a pause (the timer fires), the rest. */
	uint8_t gi[32] = { 0 };
	struct vu_hdr h = { .msg_id = 900, .command = VU_CMD_DEVICE_GET_INFO,
			    .msg_size = 32 };
	memcpy(gi, &h, 16);
	gi[16] = 16;
	assert_int_equal(write(pc.sock, gi, 10), 10);
	usleep(100 * 1000);
	assert_int_equal(write(pc.sock, gi + 10, 22), 22);
	uint16_t id = expect_dma_request(&pc, VU_CMD_DMA_READ, 0x6100040, 32);
	/* Another command while the server waits for our answer. */
	struct vu_device_info in = { .argsz = 16 };
	uint16_t second = pc_send(&pc, VU_CMD_DEVICE_GET_INFO, 0, &in, sizeof(in),
				  NULL, 0);
	uint8_t data[32];
	for (int i = 0; i < 32; i++)
		data[i] = (uint8_t)(0xe0 + i);
	reply_dma_read(&pc, id, 0x6100040, data, 32, 16 + 32);
	const uint16_t ids[2] = { 900, second };
	for (int i = 0; i < 2; i++) {
		assert_int_equal(pc_recv(&pc, PC_TIMEOUT_MS), 0);
		assert_int_equal(pc.rx.hdr.msg_id, ids[i]);
		assert_int_equal(pc.rx.hdr.command, VU_CMD_DEVICE_GET_INFO);
		assert_int_equal(pc.rx.hdr.flags, VU_F_TYPE_REPLY);
	}
	assert_int_equal(pc_rd32(&pc, 0, TESTDEV_REG_DMA_STATUS), 0);
	/* The data arrived: send it back out through a DMA_WRITE. */
	uint16_t wid = post_reg(&pc, TESTDEV_REG_DMA_CMD, 2);
	expect_dma_request(&pc, VU_CMD_DMA_WRITE, 0x6100040, 32);
	assert_int_equal(vu_rx_len(&pc.rx), 16 + 32);
	assert_memory_equal(pc.rx.buf + 16, data, 32);
	struct vu_hdr wh = { .msg_id = pc.rx.hdr.msg_id, .command = VU_CMD_DMA_WRITE,
			     .flags = VU_F_TYPE_REPLY };
	struct vu_dma_rw wr = { .addr = 0x6100040, .count = 32 };
	struct iovec iov = { &wr, sizeof(wr) };
	assert_int_equal(vu_send(pc.sock, &wh, &iov, 1, NULL, 0, PC_TIMEOUT_MS), 0);
	assert_int_equal(pc_recv(&pc, PC_TIMEOUT_MS), 0);
	assert_int_equal(pc.rx.hdr.msg_id, wid);
	assert_int_equal(pc_rd32(&pc, 0, TESTDEV_REG_DMA_STATUS), 0);
	pc_close(&pc);
}

/* Replies to the server's DMA requests that are wrong in some way. */
static void test_bad_dma_replies(void **state)
{
	struct pc pc;
	pc_open(&pc);
	assert_int_equal(dma_map(&pc, 3, 0, 0x6200000, 0x1000, NULL, 0), 0);
	pc_wr32(&pc, 0, TESTDEV_REG_DMA_ADDR, 0x6200000);
	pc_wr32(&pc, 0, TESTDEV_REG_DMA_ADDR + 4, 0);
	pc_wr32(&pc, 0, TESTDEV_REG_DMA_LEN, 64);
	uint8_t data[64] = { 0 };
	/* Too short, another address, another count: EIO for the device. */
	const struct { uint64_t addr, count; size_t len; } bad[] = {
		{ 0x6200000, 64, 16 + 32 }, { 0x6200000, 64, 16 },
		{ 0x6200008, 64, 16 + 64 }, { 0x6200000, 32, 16 + 64 },
		{ 0x6200000, 64, 8 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint16_t w = post_reg(&pc, TESTDEV_REG_DMA_CMD, 1);
		uint16_t id = expect_dma_request(&pc, VU_CMD_DMA_READ, 0x6200000, 64);
		reply_dma_read(&pc, id, bad[i].addr, data, bad[i].count, bad[i].len);
		assert_int_equal(pc_recv(&pc, PC_TIMEOUT_MS), 0);
		assert_int_equal(pc.rx.hdr.msg_id, w);
		assert_int_equal(pc_rd32(&pc, 0, TESTDEV_REG_DMA_STATUS), EIO);
	}
	/* A reply carrying fds: refused, and the fd is not kept. */
	int base = pc_server_fds();
	uint16_t w = post_reg(&pc, TESTDEV_REG_DMA_CMD, 1);
	uint16_t id = expect_dma_request(&pc, VU_CMD_DMA_READ, 0x6200000, 64);
	uint8_t rep[16 + 64] = { 0 };
	memcpy(rep, &(struct vu_dma_rw){ .addr = 0x6200000, .count = 64 }, 16);
	struct vu_hdr h = { .msg_id = id, .command = VU_CMD_DMA_READ,
			    .flags = VU_F_TYPE_REPLY };
	struct iovec iov = { rep, sizeof(rep) };
	int fd = pc_memfd(4096);
	assert_int_equal(vu_send(pc.sock, &h, &iov, 1, &fd, 1, PC_TIMEOUT_MS), 0);
	close(fd);
	assert_int_equal(pc_recv(&pc, PC_TIMEOUT_MS), 0);
	assert_int_equal(pc.rx.hdr.msg_id, w);
	assert_int_equal(pc_rd32(&pc, 0, TESTDEV_REG_DMA_STATUS), EINVAL);
	assert_int_equal(pc_server_fds_settle(base), base);
	/* A reply to something the server never asked: that client goes. */
	post_reg(&pc, TESTDEV_REG_DMA_CMD, 1);
	id = expect_dma_request(&pc, VU_CMD_DMA_READ, 0x6200000, 64);
	reply_dma_read(&pc, (uint16_t)(id + 1), 0x6200000, data, 64, 16 + 64);
	/* The command in progress may still be answered before the close. */
	int r = pc_recv(&pc, PC_TIMEOUT_MS);
	if (r == 0)
		assert_int_equal(pc.rx.hdr.command, VU_CMD_REGION_WRITE);
	if (r == 0)
		r = pc_recv(&pc, PC_TIMEOUT_MS);
	assert_int_equal(r, -ECONNRESET);
	pc_close(&pc);
	pc_server_usable();
}

/*
 * A window larger than the file behind it: the device must not fault on
 * the pages past the end of the file (the map is refused, or the access
 * fails), and the server keeps running.  Its own server, as a crash here
 * must not take the other tests down.
 */
static void test_window_past_end_of_file(void **state)
{
	struct served s;
	assert_int_equal(pc_served_start(&s, NULL), 0);
	struct pc pc;
	pc_connect_to(&pc, s.path);
	int r = pc_version(&pc, 0, "{}");
	int m = pc_memfd(0x1000);
	if (r == 0)
		r = dma_map(&pc, 3, 0, 0x6300000, 0x4000, &m, 1);
	close(m);
	int mapped = r, st = -1;
	if (r == 0) {
		/* Both inside the file and past its end. */
		pc_wr32(&pc, 0, TESTDEV_REG_DMA_ADDR, 0x6302000);
		pc_wr32(&pc, 0, TESTDEV_REG_DMA_ADDR + 4, 0);
		pc_wr32(&pc, 0, TESTDEV_REG_DMA_LEN, 16);
		uint8_t w[20];
		memcpy(w, &(struct vu_region_rw){ .offset = TESTDEV_REG_DMA_CMD,
						  .count = 4 }, 16);
		uint32_t cmd = 1;
		memcpy(w + 16, &cmd, 4);
		pc_send(&pc, VU_CMD_REGION_WRITE, 0, w, sizeof(w), NULL, 0);
		if (pc_recv(&pc, PC_TIMEOUT_MS) == 0) {
			uint32_t v = 0;
			if (pc_region_read(&pc, 0, TESTDEV_REG_DMA_STATUS, &v, 4) == 0)
				st = (int)v;
		}
	}
	pc_close(&pc);
	usleep(100 * 1000);   /* a crashing server takes a moment to exit */
	bool alive = served_alive(&s);
	pc_served_stop(&s);
	if (mapped == 0)
		assert_true(st > 0);   /* the DMA failed, with an errno */
	else
		assert_int_equal(mapped, -EINVAL);
	assert_true(alive);
}

#define T(f) cmocka_unit_test_teardown(f, pc_test_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_dma_map_unmap_errors),
		T(test_dma_through_shared_fd),
		T(test_dma_through_messages),
		T(test_client_dma_rw_refused),
		T(test_set_irqs_msi),
		T(test_set_irqs_intx),
		T(test_disconnect_releases_fds),
		T(test_timer_dma_keeps_command_order),
		T(test_bad_dma_replies),
		T(test_window_past_end_of_file),
	};
	return cmocka_run_group_tests(tests, pc_group_setup, pc_group_teardown);
}
