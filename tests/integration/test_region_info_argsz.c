/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * DEVICE_GET_REGION_INFO's argsz retry in the client, against a scripted
 * peer on a socketpair (uvfio-serve's caps always fit the first request):
 * a server that first answers with the argsz it needs and no caps, then
 * with the whole cap chain, gives uvfio_region_get_info() its sparse
 * areas and type; a server whose argsz keeps growing gets -EPROTO after
 * a bounded number of requests, and one asking for more than the client
 * takes gets -E2BIG at once.  Neither hangs, and the device stays usable.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include <uvfio/client.h>
#include "wire/proto.h"
#include "wire/wire.h"
#include "testutil.h"

enum peer_mode {
	PEER_HONEST,    /* argsz it needs, caps once that is offered */
	PEER_GROWING,   /* always 4 KiB more than offered */
	PEER_HUGE,      /* more than any client takes (1 MiB) */
};

#define REGION 4
#define REGION_SIZE 0x10000u
#define NAREAS 3
#define PAD_CAP_BODY 2000u   /* an unknown cap that pushes argsz past 1 KiB */
#define TYPE_OFF (32u + 16u + NAREAS * 16u + 8u + PAD_CAP_BODY)
#define FULL_ARGSZ (TYPE_OFF + 16u)

struct peer {
	int sock;
	enum peer_mode mode;
	pthread_t thread;
	unsigned info_requests;     /* GET_REGION_INFO for REGION */
	uint32_t offered[8];        /* the argsz of each */
	int memfd;
};

static const struct vu_sparse_area areas[NAREAS] = {
	{ 0x1000, 0x1000 }, { 0x4000, 0x2000 }, { 0xc000, 0x4000 },
};

/* The region-info reply of the scripted server, into @out; its length. */
static size_t region_info_reply(struct peer *p, uint32_t offered,
				uint8_t *out, int *fd)
{
	struct vu_region_info ri = {
		.index = REGION, .size = REGION_SIZE,
		.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
			 VFIO_REGION_INFO_FLAG_MMAP | VFIO_REGION_INFO_FLAG_CAPS,
	};
	*fd = -1;
	switch (p->mode) {
	case PEER_GROWING:
		ri.argsz = offered + 4096;
		break;
	case PEER_HUGE:
		ri.argsz = 1u << 20;
		break;
	case PEER_HONEST:
		ri.argsz = FULL_ARGSZ;
		break;
	}
	if (offered < ri.argsz) {
		/* Like the kernel: the fixed part, the size needed, no caps. */
		memcpy(out, &ri, sizeof(ri));
		return sizeof(ri);
	}
	memset(out, 0, FULL_ARGSZ);
	ri.cap_offset = 32;
	memcpy(out, &ri, sizeof(ri));
	/* SPARSE_MMAP, then an unknown cap of PAD_CAP_BODY bytes, then TYPE. */
	size_t off = 32;
	struct vu_cap_sparse_mmap sp = {
		.header = { .id = VFIO_REGION_INFO_CAP_SPARSE_MMAP, .version = 1 },
		.nr_areas = NAREAS,
	};
	size_t pad = off + sizeof(sp) + sizeof(areas);
	sp.header.next = (uint32_t)pad;
	memcpy(out + off, &sp, sizeof(sp));
	memcpy(out + off + sizeof(sp), areas, sizeof(areas));
	struct vu_cap_header unknown = { .id = 0x7777, .version = 1,
					 .next = TYPE_OFF };
	memcpy(out + pad, &unknown, sizeof(unknown));
	memset(out + pad + sizeof(unknown), 0xee, PAD_CAP_BODY);
	struct vu_cap_type t = {
		.header = { .id = VFIO_REGION_INFO_CAP_TYPE, .version = 1 },
		.type = 0x1234, .subtype = 7,
	};
	memcpy(out + TYPE_OFF, &t, sizeof(t));
	*fd = p->memfd;
	return FULL_ARGSZ;
}

static void *peer_main(void *arg)
{
	struct peer *p = arg;
	const struct vu_limits lim = { .max_msg_size = 1u << 20, .max_fds = 4 };
	struct vu_rx rx;
	static uint8_t out[1u << 16];
	vu_rx_init(&rx);
	while (vu_recv(&rx, p->sock, &lim, -1) == 0) {
		struct vu_hdr h = { .msg_id = rx.hdr.msg_id,
				    .command = rx.hdr.command,
				    .flags = VU_F_TYPE_REPLY };
		struct iovec iov = { out, 0 };
		int fd = -1;
		switch (rx.hdr.command) {
		case VU_CMD_VERSION: {
			static const char json[] = "{\"capabilities\":{}}";
			struct vu_version v = { 0, 0 };
			memcpy(out, &v, sizeof(v));
			memcpy(out + sizeof(v), json, sizeof(json));
			iov.iov_len = sizeof(v) + sizeof(json);
			break;
		}
		case VU_CMD_DEVICE_GET_INFO: {
			struct vu_device_info i = {
				.argsz = sizeof(i), .flags = VFIO_DEVICE_FLAGS_PCI,
				.num_regions = 9, .num_irqs = 5,
			};
			memcpy(out, &i, sizeof(i));
			iov.iov_len = sizeof(i);
			break;
		}
		case VU_CMD_DEVICE_GET_REGION_INFO: {
			struct vu_region_info q;
			if (vu_rx_len(&rx) < sizeof(q)) {
				h.flags |= VU_F_ERROR;
				h.error = EINVAL;
				break;
			}
			memcpy(&q, rx.buf, sizeof(q));
			if (q.index != REGION) {
				h.flags |= VU_F_ERROR;
				h.error = EINVAL;
				break;
			}
			if (p->info_requests < 8)
				p->offered[p->info_requests] = q.argsz;
			p->info_requests++;
			iov.iov_len = region_info_reply(p, q.argsz, out, &fd);
			break;
		}
		default:
			h.flags |= VU_F_ERROR;
			h.error = ENOTSUP;
			break;
		}
		int r = vu_send(p->sock, &h, &iov, 1, fd >= 0 ? &fd : NULL,
				fd >= 0 ? 1 : 0, 5000);
		vu_rx_release(&rx);
		if (r < 0)
			break;
	}
	vu_rx_fini(&rx);
	return NULL;
}

/* A device whose peer is a scripted server in @mode. */
static struct uvfio_device *open_fake(struct peer *p, enum peer_mode mode)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	memset(p, 0, sizeof(*p));
	p->sock = sv[1];
	p->mode = mode;
	p->memfd = memfd_create("fake-region", MFD_CLOEXEC);
	assert_true(p->memfd >= 0);
	assert_int_equal(ftruncate(p->memfd, REGION_SIZE), 0);
	assert_int_equal(pthread_create(&p->thread, NULL, peer_main, p), 0);
	struct uvfio_open_opts o = test_open_opts();
	o.no_twin_socket = true;
	o.no_dma_thread = true;
	struct uvfio_device *d = NULL;
	assert_int_equal(uvfio_device_open_fd(sv[0], &o, &d), 0);
	return d;
}

static void close_fake(struct peer *p, struct uvfio_device *d)
{
	uvfio_device_close(d);     /* the peer sees the end of the stream */
	pthread_join(p->thread, NULL);
	close(p->sock);
	close(p->memfd);
}

/* The device still answers after the region-info exchange. */
static void still_usable(struct uvfio_device *d)
{
	struct uvfio_device_info di;
	assert_int_equal(uvfio_device_get_info(d, &di), 0);
	assert_int_equal(di.num_regions, 9);
	assert_int_equal(di.num_irqs, 5);
}

static void retry_with_the_argsz_asked_for(void **state)
{
	(void)state;
	struct peer p;
	struct uvfio_device *d = open_fake(&p, PEER_HONEST);
	struct uvfio_region_info info;
	memset(&info, 0xa5, sizeof(info));
	assert_int_equal(uvfio_region_get_info(d, REGION, &info), 0);
	/* Two requests: the first too small for the caps, then exactly. */
	assert_int_equal(p.info_requests, 2);
	assert_true(p.offered[0] < FULL_ARGSZ);
	assert_int_equal(p.offered[1], FULL_ARGSZ);

	assert_int_equal(info.index, REGION);
	assert_int_equal(info.size, REGION_SIZE);
	assert_true(info.flags & VFIO_REGION_INFO_FLAG_MMAP);
	assert_true(info.sparse);
	assert_int_equal(info.nr_areas, NAREAS);
	for (unsigned i = 0; i < NAREAS; i++) {
		assert_int_equal(info.areas[i].offset, areas[i].offset);
		assert_int_equal(info.areas[i].size, areas[i].size);
	}
	/* The cap after 2 KiB of unknown cap was read too. */
	assert_true(info.has_type);
	assert_int_equal(info.type, 0x1234);
	assert_int_equal(info.subtype, 7);
	assert_false(info.msix_mappable);

	/* And the areas are what uvfio_region_mmap() maps. */
	uint32_t v = 0x600df00d;
	assert_int_equal(pwrite(p.memfd, &v, 4, 0x4000 + 0x10), 4);
	void *a = NULL;
	assert_int_equal(uvfio_region_mmap(d, REGION, &a), 0);
	assert_memory_equal((uint8_t *)a + 0x4010, &v, 4);
	assert_int_equal(uvfio_region_munmap(d, REGION), 0);
	still_usable(d);
	close_fake(&p, d);
}

static void growing_argsz_is_a_protocol_error(void **state)
{
	(void)state;
	struct peer p;
	struct uvfio_device *d = open_fake(&p, PEER_GROWING);
	struct uvfio_region_info info;
	assert_int_equal(uvfio_region_get_info(d, REGION, &info), -EPROTO);
	/* Each retry offered what was asked, and the client gave up soon. */
	assert_true(p.info_requests >= 2);
	assert_true(p.info_requests <= 4);
	for (unsigned i = 1; i < p.info_requests; i++)
		assert_int_equal(p.offered[i], p.offered[i - 1] + 4096);
	/* The same again: no state left behind. */
	unsigned n = p.info_requests;
	assert_int_equal(uvfio_region_get_info(d, REGION, &info), -EPROTO);
	assert_int_equal(p.info_requests, 2 * n);
	still_usable(d);
	close_fake(&p, d);
}

static void huge_argsz_is_e2big(void **state)
{
	(void)state;
	struct peer p;
	struct uvfio_device *d = open_fake(&p, PEER_HUGE);
	struct uvfio_region_info info;
	assert_int_equal(uvfio_region_get_info(d, REGION, &info), -E2BIG);
	assert_int_equal(p.info_requests, 1);
	still_usable(d);
	close_fake(&p, d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(retry_with_the_argsz_asked_for),
		cmocka_unit_test(growing_argsz_is_a_protocol_error),
		cmocka_unit_test(huge_argsz_is_e2big),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
