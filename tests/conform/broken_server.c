/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A tiny vfio-user server with one deliberate defect, for showing that
 * uvfio-conform's checks can fail:
 *
 *   broken-server MODE SOCKET
 *
 *   lie-bar     GET_REGION_INFO says BAR0 is 8 KiB; BAR sizing says 4 KiB
 *   silent      answers VERSION, then never answers anything
 *   high-minor  answers VERSION with a minor above the one proposed
 *
 * Otherwise it is a plain PCI device: 9 regions, a 256-byte config space
 * with BAR sizing for BAR0, no interrupts.  One client at a time.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/pci_regs.h>

#include "wire/proto.h"

enum mode { LIE_BAR, SILENT, HIGH_MINOR };

#define BAR0_SIZE 0x1000u
#define MAX_PAYLOAD (1u << 16)

static enum mode g_mode;
static uint8_t g_cfg[256];
static uint32_t g_bar0;

static bool io_full(int fd, void *buf, size_t len, bool wr)
{
	uint8_t *b = buf;
	while (len) {
		ssize_t n = wr ? write(fd, b, len) : read(fd, b, len);
		if (n <= 0)
			return false;
		b += n;
		len -= (size_t)n;
	}
	return true;
}

static bool reply(int c, const struct vu_hdr *req, const void *p, size_t len,
		  int err)
{
	struct vu_hdr h = {
		.msg_id = req->msg_id, .command = req->command,
		.msg_size = (uint32_t)(sizeof(h) + (err ? 0 : len)),
		.flags = VU_F_TYPE_REPLY | (err ? VU_F_ERROR : 0),
		.error = (uint32_t)err,
	};
	if (req->flags & VU_F_NO_REPLY)
		return true;
	return io_full(c, &h, sizeof(h), true) &&
	       (err || !len || io_full(c, (void *)p, len, true));
}

static void cfg_init(void)
{
	memset(g_cfg, 0, sizeof(g_cfg));
	g_cfg[PCI_VENDOR_ID] = 0x34;
	g_cfg[PCI_VENDOR_ID + 1] = 0x12;
	g_cfg[PCI_DEVICE_ID] = 0x01;
	g_cfg[PCI_CLASS_DEVICE + 1] = 0xff;
	g_bar0 = 0;
}

static uint32_t cfg_dword(uint32_t off)
{
	if (off == PCI_BASE_ADDRESS_0)
		return g_bar0;
	uint32_t v;
	memcpy(&v, g_cfg + off, 4);
	return v;
}

static bool region_rw(int c, const struct vu_hdr *h, const uint8_t *p,
		      uint32_t len, bool wr)
{
	struct vu_region_rw rw;
	uint8_t out[sizeof(rw) + 256];

	if (len < sizeof(rw))
		return reply(c, h, NULL, 0, EINVAL);
	memcpy(&rw, p, sizeof(rw));
	uint64_t size = rw.region == VFIO_PCI_CONFIG_REGION_INDEX ? 256 :
			rw.region == 0 ? BAR0_SIZE : 0;
	if (rw.count == 0 || rw.count > 256 || rw.offset > size ||
	    rw.count > size - rw.offset ||
	    (wr && len != sizeof(rw) + rw.count))
		return reply(c, h, NULL, 0, EINVAL);
	if (rw.region != VFIO_PCI_CONFIG_REGION_INDEX) {
		memset(out + sizeof(rw), 0, rw.count);   /* BAR0 reads as 0 */
	} else if (wr) {
		/* Only BAR0 is writable: 4-byte accesses, sizing emulated. */
		if (rw.offset == PCI_BASE_ADDRESS_0 && rw.count == 4) {
			uint32_t v;
			memcpy(&v, p + sizeof(rw), 4);
			g_bar0 = v & ~(BAR0_SIZE - 1);
		}
	} else {
		for (uint32_t i = 0; i < rw.count; i++) {
			uint32_t off = (uint32_t)rw.offset + i;
			out[sizeof(rw) + i] = (uint8_t)(cfg_dword(off & ~3u) >>
							(8 * (off & 3)));
		}
	}
	memcpy(out, &rw, sizeof(rw));
	return reply(c, h, out, sizeof(rw) + (wr ? 0 : rw.count), 0);
}

static bool answer(int c, const struct vu_hdr *h, const uint8_t *p,
		   uint32_t len, bool *versioned)
{
	if (!*versioned) {
		static const char json[] = "{\"capabilities\":{}}";
		uint8_t out[sizeof(struct vu_version) + sizeof(json)];
		struct vu_version v;
		if (h->command != VU_CMD_VERSION || len < sizeof(v))
			return reply(c, h, NULL, 0, EINVAL) && false;
		memcpy(&v, p, sizeof(v));
		if (v.major != 0)
			return reply(c, h, NULL, 0, ENOTSUP) && false;
		v.minor = g_mode == HIGH_MINOR ? (uint16_t)(v.minor + 1) : 0;
		memcpy(out, &v, sizeof(v));
		memcpy(out + sizeof(v), json, sizeof(json));
		*versioned = true;
		return reply(c, h, out, sizeof(out), 0);
	}
	if (g_mode == SILENT)
		return true;
	switch (h->command) {
	case VU_CMD_DEVICE_GET_INFO: {
		struct vu_device_info i = { .argsz = sizeof(i),
					    .flags = VFIO_DEVICE_FLAGS_PCI,
					    .num_regions = 9, .num_irqs = 5 };
		return reply(c, h, &i, sizeof(i), 0);
	}
	case VU_CMD_DEVICE_GET_REGION_INFO: {
		struct vu_region_info ri;
		if (len < sizeof(ri))
			return reply(c, h, NULL, 0, EINVAL);
		memcpy(&ri, p, sizeof(ri));
		if (ri.index >= 9 || ri.argsz < sizeof(ri))
			return reply(c, h, NULL, 0, EINVAL);
		uint32_t idx = ri.index;
		memset(&ri, 0, sizeof(ri));
		ri.argsz = sizeof(ri);
		ri.index = idx;
		if (idx == 0)
			ri.size = g_mode == LIE_BAR ? 2 * BAR0_SIZE : BAR0_SIZE;
		if (idx == VFIO_PCI_CONFIG_REGION_INDEX)
			ri.size = 256;
		if (ri.size)
			ri.flags = VFIO_REGION_INFO_FLAG_READ |
				   VFIO_REGION_INFO_FLAG_WRITE;
		return reply(c, h, &ri, sizeof(ri), 0);
	}
	case VU_CMD_DEVICE_GET_IRQ_INFO: {
		struct vu_irq_info q;
		if (len < sizeof(q))
			return reply(c, h, NULL, 0, EINVAL);
		memcpy(&q, p, sizeof(q));
		if (q.index >= 5 || q.argsz < sizeof(q))
			return reply(c, h, NULL, 0, EINVAL);
		q.argsz = sizeof(q);
		q.flags = VFIO_IRQ_INFO_EVENTFD;
		q.count = 0;
		return reply(c, h, &q, sizeof(q), 0);
	}
	case VU_CMD_REGION_READ:
		return region_rw(c, h, p, len, false);
	case VU_CMD_REGION_WRITE:
		return region_rw(c, h, p, len, true);
	case VU_CMD_DEVICE_RESET:
		cfg_init();
		return reply(c, h, NULL, 0, 0);
	default:
		return reply(c, h, NULL, 0, ENOSYS);
	}
}

static void serve(int c)
{
	static uint8_t payload[MAX_PAYLOAD];
	bool versioned = false;
	struct vu_hdr h;

	while (io_full(c, &h, sizeof(h), false)) {
		if (h.msg_size < sizeof(h) || h.msg_size - sizeof(h) > MAX_PAYLOAD)
			return;
		uint32_t len = h.msg_size - (uint32_t)sizeof(h);
		if (!io_full(c, payload, len, false))
			return;
		if (!answer(c, &h, payload, len, &versioned))
			return;
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (argc != 3) {
		fprintf(stderr, "usage: broken-server lie-bar|silent|high-minor "
			"SOCKET\n");
		return 2;
	}
	if (!strcmp(argv[1], "lie-bar"))
		g_mode = LIE_BAR;
	else if (!strcmp(argv[1], "silent"))
		g_mode = SILENT;
	else if (!strcmp(argv[1], "high-minor"))
		g_mode = HIGH_MINOR;
	else
		return 2;
	signal(SIGPIPE, SIG_IGN);
	cfg_init();
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[2]);
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(l, 8) < 0) {
		perror("broken-server");
		return 1;
	}
	for (;;) {
		int c = accept(l, NULL, NULL);
		if (c < 0)
			continue;
		serve(c);
		close(c);
	}
}
