/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <linux/pci_regs.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fake_vfio_user.h"
#include "lsvfio_util.h"
#include "wire/proto.h"

#define MAX_MSG  (1u << 16)

static bool read_full(int fd, void *buf, size_t len)
{
	uint8_t *b = buf;
	while (len) {
		ssize_t n = read(fd, b, len);
		if (n <= 0)
			return false;
		b += n;
		len -= (size_t)n;
	}
	return true;
}

static bool write_full(int fd, const void *buf, size_t len)
{
	const uint8_t *b = buf;
	while (len) {
		ssize_t n = write(fd, b, len);
		if (n <= 0)
			return false;
		b += n;
		len -= (size_t)n;
	}
	return true;
}

static bool reply(int c, const struct vu_hdr *req, const void *data, size_t len)
{
	struct vu_hdr h = {
		.msg_id = req->msg_id, .command = req->command,
		.msg_size = (uint32_t)(sizeof(h) + len), .flags = VU_F_TYPE_REPLY,
	};
	return write_full(c, &h, sizeof(h)) && (!len || write_full(c, data, len));
}

static bool reply_error(int c, const struct vu_hdr *req, int err)
{
	struct vu_hdr h = {
		.msg_id = req->msg_id, .command = req->command,
		.msg_size = sizeof(h), .flags = VU_F_TYPE_REPLY | VU_F_ERROR,
		.error = (uint32_t)err,
	};
	return write_full(c, &h, sizeof(h));
}

static bool region_info(int c, const struct vu_hdr *h, const uint8_t *p,
			uint32_t len, const struct fake_device *d)
{
	struct vu_region_info ri;
	uint8_t out[256];

	if (len < sizeof(ri))
		return reply_error(c, h, EINVAL);
	memcpy(&ri, p, sizeof(ri));
	if (ri.index >= d->num_regions)
		return reply_error(c, h, EINVAL);
	struct fake_region none = { 0 };
	const struct fake_region *r = ri.index < FAKE_MAX_REGIONS ?
				      &d->regions[ri.index] : &none;
	if (r->error)
		return reply_error(c, h, r->error);

	uint32_t n = sizeof(ri), prev = 0;
	memset(out, 0, sizeof(out));
	ri = (struct vu_region_info){ .index = ri.index, .flags = r->flags,
				      .size = r->size };
	if (r->has_type) {
		struct vu_cap_type t = {
			.header = { .id = VFIO_REGION_INFO_CAP_TYPE, .version = 1 },
			.type = r->type, .subtype = r->subtype,
		};
		ri.cap_offset = n;
		prev = n;
		memcpy(out + n, &t, sizeof(t));
		n += sizeof(t);
	}
	if (r->msix_mappable) {
		struct vu_cap_header m = { .id = VFIO_REGION_INFO_CAP_MSIX_MAPPABLE,
					   .version = 1 };
		if (prev)
			memcpy(out + prev + offsetof(struct vu_cap_header, next), &n,
			       sizeof(n));
		else
			ri.cap_offset = n;
		memcpy(out + n, &m, sizeof(m));
		n += sizeof(m);
	}
	if (ri.cap_offset)
		ri.flags |= VFIO_REGION_INFO_FLAG_CAPS;
	ri.argsz = n;
	memcpy(out, &ri, sizeof(ri));
	return reply(c, h, out, n);
}

static bool region_read(int c, const struct vu_hdr *h, const uint8_t *p,
			uint32_t len, const struct fake_device *d)
{
	struct vu_region_rw rw;
	static uint8_t out[sizeof(struct vu_region_rw) + FAKE_CONFIG_SIZE];

	if (len < sizeof(rw))
		return reply_error(c, h, EINVAL);
	memcpy(&rw, p, sizeof(rw));
	if (rw.region != VFIO_PCI_CONFIG_REGION_INDEX ||
	    rw.offset > FAKE_CONFIG_SIZE || rw.count > FAKE_CONFIG_SIZE - rw.offset)
		return reply_error(c, h, EFAULT);
	if (d->refuse_extended_config && rw.offset + rw.count > 256)
		return reply_error(c, h, EINVAL);
	memcpy(out, &rw, sizeof(rw));
	memcpy(out + sizeof(rw), d->config + rw.offset, rw.count);
	return reply(c, h, out, sizeof(rw) + rw.count);
}

/* Only the VPD address register (two bytes) is writable. */
static bool region_write(int c, const struct vu_hdr *h, const uint8_t *p,
			 uint32_t len, struct fake_device *d)
{
	struct vu_region_rw rw;

	if (!d->vpd_cap)
		return reply_error(c, h, ENOTSUP);
	if (len < sizeof(rw))
		return reply_error(c, h, EINVAL);
	memcpy(&rw, p, sizeof(rw));
	if (rw.region != VFIO_PCI_CONFIG_REGION_INDEX || rw.count != 2 ||
	    len - sizeof(rw) < 2 || rw.offset != d->vpd_cap + PCI_VPD_ADDR)
		return reply_error(c, h, EINVAL);
	uint8_t *a = d->config + d->vpd_cap + PCI_VPD_ADDR;
	uint8_t *data = d->config + d->vpd_cap + PCI_VPD_DATA;
	memcpy(a, p + sizeof(rw), 2);
	unsigned addr = (unsigned)(a[0] | a[1] << 8);
	if (!(addr & PCI_VPD_ADDR_F) && !d->vpd_stuck && addr + 4 <= d->vpd_len &&
	    addr + 4 <= FAKE_VPD_SIZE) {
		memcpy(data, d->vpd + addr, 4);
		a[1] |= PCI_VPD_ADDR_F >> 8;
	}
	return reply(c, h, &rw, sizeof(rw));
}

static bool answer(int c, const struct vu_hdr *h, const uint8_t *p, uint32_t len,
		   struct fake_device *d)
{
	switch (h->command) {
	case VU_CMD_VERSION: {
		static const char json[] = "{\"capabilities\":{}}";
		uint8_t out[sizeof(struct vu_version) + sizeof(json)];
		struct vu_version v = { .major = 0, .minor = 0 };
		memcpy(out, &v, sizeof(v));
		memcpy(out + sizeof(v), json, sizeof(json));
		return reply(c, h, out, sizeof(out));
	}
	case VU_CMD_DEVICE_GET_INFO: {
		struct vu_device_info i = { .argsz = sizeof(i), .flags = d->flags,
					    .num_regions = d->num_regions,
					    .num_irqs = d->num_irqs };
		return reply(c, h, &i, sizeof(i));
	}
	case VU_CMD_DEVICE_GET_REGION_INFO:
		return region_info(c, h, p, len, d);
	case VU_CMD_DEVICE_GET_IRQ_INFO: {
		struct vu_irq_info q;
		if (len < sizeof(q))
			return reply_error(c, h, EINVAL);
		memcpy(&q, p, sizeof(q));
		if (q.index >= d->num_irqs)
			return reply_error(c, h, EINVAL);
		if (q.index < FAKE_MAX_IRQS) {
			q.flags = d->irqs[q.index].flags;
			q.count = d->irqs[q.index].count;
		}
		q.argsz = sizeof(q);
		return reply(c, h, &q, sizeof(q));
	}
	case VU_CMD_REGION_READ:
		return region_read(c, h, p, len, d);
	case VU_CMD_REGION_WRITE:
		return region_write(c, h, p, len, d);
	default:
		return reply_error(c, h, ENOTSUP);
	}
}

/* One client, until it leaves. */
static void serve_client(int c, struct fake_device *d)
{
	static uint8_t payload[MAX_MSG];
	unsigned answered = 0;
	struct vu_hdr h;

	while (read_full(c, &h, sizeof(h))) {
		if (h.msg_size < sizeof(h) || h.msg_size - sizeof(h) > sizeof(payload))
			return;
		uint32_t len = h.msg_size - (uint32_t)sizeof(h);
		if (!read_full(c, payload, len))
			return;
		if (d->answer_only && answered >= d->answer_only)
			continue;   /* heard, never answered */
		answered++;
		if (!answer(c, &h, payload, len, d))
			return;
	}
}

int fake_server_start(struct fake_server *s, const struct fake_device *dev)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(s, 0, sizeof(*s));
	strcpy(s->dir, "/tmp/lsvfio-fake-XXXXXX");
	if (!mkdtemp(s->dir))
		return -errno;
	snprintf(s->path, sizeof(s->path), "%s/fake.sock", s->dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", s->path);
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0)
		return -errno;
	if (bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 4) < 0) {
		int e = -errno;
		close(l);
		return e;
	}
	s->pid = fork();
	if (s->pid == 0) {
		for (;;) {
			int c = accept(l, NULL, NULL);
			if (c < 0)
				continue;
			/* The child's own copy: VPD writes change it. */
			serve_client(c, (struct fake_device *)dev);
			close(c);
		}
	}
	close(l);
	if (s->pid < 0)
		return -errno;
	test_child_track(s->pid);
	return 0;
}

void fake_server_stop(struct fake_server *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
		test_child_forget(s->pid);
		s->pid = 0;
	}
	unlink(s->path);
	rmdir(s->dir);
}
