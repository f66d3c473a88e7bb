/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "srv_fixture.h"

static ssize_t bar2_read(void *opaque, uint64_t off, void *buf, size_t n)
{
	struct sfix *f = opaque;
	memcpy(buf, f->bar2 + off, n);
	return (ssize_t)n;
}

static ssize_t bar2_write(void *opaque, uint64_t off, const void *buf,
			  size_t n)
{
	struct sfix *f = opaque;
	memcpy(f->bar2 + off, buf, n);
	f->bar2_writes++;
	if (f->on_bar2_write)
		f->on_bar2_write(f, off, n);
	return (ssize_t)n;
}

static const struct uvfio_region_ops bar2_ops = {
	.read = bar2_read, .write = bar2_write,
};

void sfix_init(struct sfix *f, const struct uvfio_server_opts *opts)
{
	sfix_init_build(f, opts, NULL);
}

void sfix_init_build(struct sfix *f, const struct uvfio_server_opts *opts,
		     void (*build)(struct sfix *f))
{
	memset(f, 0, sizeof(*f));
	f->twin = -1;
	f->next_id = 100;
	f->dev = uvfio_dev_new("sfix");
	assert_non_null(f->dev);
	const struct uvfio_pci_ids ids = { .vendor = 0x1234, .device = 0x11e8,
					   .class_code = 0x00ff00,
					   .irq_pin = 1 };
	assert_int_equal(uvfio_dev_set_ids(f->dev, &ids), 0);
	assert_int_equal(uvfio_dev_add_bar(f->dev, 0, SFIX_BAR0_SIZE,
					   UVFIO_BAR_MEM32, NULL, NULL), 0);
	void *mem = NULL;
	assert_int_equal(uvfio_dev_region_alloc_memory(f->dev, 0, &mem), 0);
	f->bar0 = mem;
	assert_int_equal(uvfio_dev_add_bar(f->dev, 2, SFIX_BAR2_SIZE,
					   UVFIO_BAR_MEM32, &bar2_ops, f), 0);
	if (build)
		build(f);
	f->srv = uvfio_server_new(f->dev, opts);
	assert_non_null(f->srv);
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			 0);
	assert_int_equal(uvfio_server_adopt_fd(f->srv, sv[0]), 0);
	f->peer = sv[1];
	assert_non_null(sfix_conn(f));
}

void sfix_negotiate(struct sfix *f, const char *caps_json, bool twin)
{
	char json[512];
	if (!caps_json)
		caps_json = "{}";
	if (twin)
		snprintf(json, sizeof(json),
			 "{\"capabilities\":{\"max_msg_fds\":16,"
			 "\"twin_socket\":{\"supported\":true}}}");
	else
		snprintf(json, sizeof(json), "%s", caps_json);
	size_t jl = strlen(json) + 1;
	uint8_t buf[4 + sizeof(json)];
	struct vu_version v = { .major = 0, .minor = 0 };
	memcpy(buf, &v, sizeof(v));
	memcpy(buf + sizeof(v), json, jl);
	struct pmsg rep;
	sfix_call(f, VU_CMD_VERSION, buf, sizeof(v) + jl, NULL, 0, &rep);
	assert_false(rep.hdr.flags & VU_F_ERROR);
	assert_true(rep.len > sizeof(struct vu_version));
	if (twin) {
		assert_int_equal(rep.nfds, 1);
		f->twin = rep.fds[0];
		rep.nfds = 0;
	} else {
		assert_int_equal(rep.nfds, 0);
	}
	pmsg_free(&rep);
	assert_true(sfix_conn(f)->negotiated);
}

void sfix_fini(struct sfix *f)
{
	uvfio_server_free(f->srv);
	uvfio_dev_free(f->dev);
	if (f->peer >= 0)
		close(f->peer);
	if (f->twin >= 0)
		close(f->twin);
	f->peer = f->twin = -1;
}

void sfix_pump(struct sfix *f, int ms)
{
	int64_t deadline = peer_now_ms() + ms;
	for (;;) {
		int64_t left = deadline - peer_now_ms();
		struct pollfd p = { .fd = uvfio_server_get_fd(f->srv),
				    .events = POLLIN };
		int r = poll(&p, 1, left > 0 ? (int)left : 0);
		if (r > 0)
			assert_int_equal(uvfio_server_dispatch(f->srv), 0);
		else if (left <= 0)
			return;
	}
}

uint16_t sfix_send(struct sfix *f, uint16_t cmd, uint32_t flags,
		   const void *p, size_t len, const int *fds, unsigned nfds)
{
	struct vu_hdr h = { .msg_id = f->next_id++, .command = cmd,
			    .flags = VU_F_TYPE_COMMAND | flags };
	assert_int_equal(peer_send(f->peer, h, p, len, fds, nfds), 0);
	return h.msg_id;
}

int sfix_recv(struct sfix *f, int sock, struct pmsg *m)
{
	int64_t deadline = peer_now_ms() + 2000;
	for (;;) {
		struct pollfd p = { .fd = sock, .events = POLLIN };
		if (poll(&p, 1, 0) > 0)
			return peer_recv(sock, m, 2000);
		if (peer_now_ms() >= deadline)
			return -ETIMEDOUT;
		sfix_pump(f, 5);
	}
}

void sfix_call(struct sfix *f, uint16_t cmd, const void *p, size_t len,
	       const int *fds, unsigned nfds, struct pmsg *rep)
{
	uint16_t id = sfix_send(f, cmd, 0, p, len, fds, nfds);
	assert_int_equal(sfix_recv(f, f->peer, rep), 0);
	assert_int_equal(rep->hdr.msg_id, id);
	assert_int_equal(rep->hdr.command, cmd);
	assert_int_equal(rep->hdr.flags & VU_F_TYPE_MASK, VU_F_TYPE_REPLY);
}

void sfix_map_fdless(struct sfix *f, uint64_t iova, uint64_t size)
{
	struct vu_dma_map m = { .argsz = sizeof(m),
				.flags = VU_DMA_FLAG_READ | VU_DMA_FLAG_WRITE,
				.addr = iova, .size = size };
	struct pmsg rep;
	sfix_call(f, VU_CMD_DMA_MAP, &m, sizeof(m), NULL, 0, &rep);
	assert_false(rep.hdr.flags & VU_F_ERROR);
	pmsg_free(&rep);
}
