/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Version negotiation against a real uvfio-serve: what must be refused
 * (with an error reply and a close, the server staying up for the next
 * client), minor-version negotiation, the limits announced, twin socket,
 * and a client that takes no fds ("max_msg_fds": 0) never being sent one.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices/models.h"
#include "proto_util.h"

/* A refused VERSION: error reply, close, no leak, next client served. */
static void refused(const void *payload, size_t len, const int *fds,
		    unsigned nfds, int expect_errno)
{
	int idle = pc_server_fds();
	struct pc pc;
	pc_connect(&pc);
	pc_send(&pc, VU_CMD_VERSION, VU_F_TYPE_COMMAND, payload, len, fds, nfds);
	pc_expect_closed(&pc, expect_errno);
	pc_close(&pc);
	assert_int_equal(pc_server_fds_settle(idle), idle);
	pc_server_usable();
}

static void refused_json(const char *json, int expect_errno)
{
	uint8_t buf[512];
	struct vu_version *v = (void *)buf;
	v->major = 0;
	v->minor = 0;
	size_t n = strlen(json) + 1;
	memcpy(v->data, json, n);
	refused(buf, sizeof(*v) + n, NULL, 0, expect_errno);
}

static void test_first_message_not_version(void **state)
{
	const uint16_t cmds[] = { VU_CMD_DEVICE_GET_INFO, VU_CMD_REGION_READ,
				  VU_CMD_DMA_MAP, VU_CMD_DEVICE_RESET, 14, 99,
				  0, 65535 };
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		struct pc pc;
		pc_connect(&pc);
		uint8_t payload[32] = { 0 };
		payload[0] = 16;
		uint16_t id = pc_send(&pc, cmds[i], VU_F_TYPE_COMMAND, payload,
				      sizeof(payload), NULL, 0);
		assert_int_equal(pc_recv(&pc, PC_TIMEOUT_MS), 0);
		assert_int_equal(pc.rx.hdr.msg_id, id);
		assert_int_equal(pc.rx.hdr.command, cmds[i]);
		assert_int_equal(pc.rx.hdr.flags, VU_F_TYPE_REPLY | VU_F_ERROR);
		assert_int_equal(pc.rx.hdr.error, EINVAL);
		pc_expect_closed(&pc, 0);
		pc_close(&pc);
		pc_server_usable();
	}
}

/*
 * A major version the server does not speak: ENOTSUP (src/server's
 * handle_version(); every deployed peer speaks major 0).
 */
static void test_wrong_major(void **state)
{
	const uint16_t majors[] = { 1, 2, 0xffff };
	for (size_t i = 0; i < 3; i++) {
		uint8_t buf[16];
		struct vu_version *v = (void *)buf;
		v->major = majors[i];
		v->minor = 0;
		memcpy(v->data, "{}", 3);
		refused(buf, sizeof(*v) + 3, NULL, 0, ENOTSUP);
	}
}

static void test_malformed_json(void **state)
{
	refused_json("{", EINVAL);
	refused_json("{\"capabilities\":", EINVAL);
	refused_json("{} trailing", EINVAL);
	refused_json("[]", EINVAL);
	refused_json("{\"capabilities\":[]}", EINVAL);
	refused_json("{\"capabilities\":{\"max_msg_fds\":\"many\"}}", EINVAL);
	refused_json("{\"capabilities\":{\"pgsizes\":8192}}", EINVAL);
	refused_json("{\"capabilities\":{\"twin_socket\":1}}", EINVAL);
}

/*
 * The VF token extension on a device without SR-IOV: a token that is
 * not a UUID is malformed, and a good one is refused as vfio-pci refuses
 * "ADDR vf_token=..." for a device that is neither PF nor VF.
 */
static void test_vf_token_without_sriov(void **state)
{
	refused_json("{\"capabilities\":{\"vf_token\":\"x\"}}", EINVAL);
	refused_json("{\"capabilities\":{\"vf_token\":[]}}", EINVAL);
	refused_json("{\"capabilities\":{\"vf_token\":"
		     "\"5b0fd3a6-3c1e-4f0b-9d2a-7e6c1b8a4f10\"}}", EINVAL);
}

static void test_max_data_xfer_size_zero(void **state)
{
	refused_json("{\"capabilities\":{\"max_data_xfer_size\":0}}", EINVAL);
	refused_json("{\"capabilities\":{\"max_data_xfer_size\":67108865}}", EINVAL);
}

static void test_missing_nul_and_short(void **state)
{
	uint8_t buf[32];
	struct vu_version *v = (void *)buf;
	v->major = 0;
	v->minor = 0;
	memcpy(v->data, "{}", 2);
	refused(buf, sizeof(*v) + 2, NULL, 0, EINVAL);   /* no NUL */
	refused(buf, 2, NULL, 0, EINVAL);                  /* half a version */
	refused(NULL, 0, NULL, 0, EINVAL);                 /* header only */
}

static void test_fds_on_version(void **state)
{
	uint8_t buf[16];
	struct vu_version *v = (void *)buf;
	v->major = 0;
	v->minor = 0;
	memcpy(v->data, "{}", 3);
	int fds[3] = { pc_eventfd(), pc_memfd(4096), pc_eventfd() };
	refused(buf, sizeof(*v) + 3, fds, 1, EINVAL);
	refused(buf, sizeof(*v) + 3, fds, 3, EINVAL);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
}

static const struct vu_version *negotiate(struct pc *pc, uint16_t minor,
					  const char *json)
{
	int r = pc_version(pc, minor, json);
	if (r)
		fail_msg("VERSION 0.%u %s refused: %d", minor, json, r);
	assert_true(vu_rx_len(&pc->rx) > sizeof(struct vu_version));
	return (const void *)pc->rx.buf;
}

static void test_minor_negotiation(void **state)
{
	const struct { uint16_t ask, want; } m[] = {
		{ 0, 0 }, { 1, UVFIO_PROTO_MINOR }, { 7, UVFIO_PROTO_MINOR },
		{ 0xffff, UVFIO_PROTO_MINOR },
	};
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		struct pc pc;
		pc_connect(&pc);
		const struct vu_version *v = negotiate(&pc, m[i].ask, "{}");
		assert_int_equal(v->major, 0);
		assert_int_equal(v->minor, m[i].want);
		pc_get_info_ok(&pc);
		pc_close(&pc);
	}
}

/* The server's reply: a NUL-terminated JSON with the limits it applies. */
static void test_reply_capabilities(void **state)
{
	struct pc pc;
	pc_connect(&pc);
	const struct vu_version *v = negotiate(&pc, 0, "{}");
	size_t jlen = vu_rx_len(&pc.rx) - sizeof(*v);
	assert_int_equal(v->data[jlen - 1], 0);
	struct uvfio_caps caps;
	int twin;
	char err[128];
	if (vu_caps_from_json(v->data, jlen, &caps, &twin, err, sizeof(err)))
		fail_msg("server JSON: %s: %s", v->data, err);
	/* Within what QEMU accepts. */
	assert_int_equal(caps.max_msg_fds, 16);
	assert_int_equal(caps.max_data_xfer_size, 1u << 20);
	assert_int_equal(caps.max_dma_maps, 65535);
	assert_true(caps.pgsizes & 4096);
	assert_true(caps.write_multiple);
	assert_false(caps.twin_socket);
	assert_int_equal(twin, -1);
	assert_int_equal(pc.rx.nfds, 0);
	pc_close(&pc);
}

static void test_optional_data_accepted(void **state)
{
	const char *ok[] = {
		"",
		"{}",
		/* What QEMU sends. */
		"{\"capabilities\":{\"max_msg_fds\":8,\"max_data_xfer_size\":"
		"1048576,\"pgsizes\":4096,\"max_dma_maps\":65535,\"migration\":"
		"{\"pgsize\":4096,\"max_bitmap_size\":268435456}}}",
		"{\"capabilities\":{\"future_key\":{\"a\":[1,2]}},\"x\":true}",
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct pc pc;
		pc_connect(&pc);
		negotiate(&pc, 0, ok[i]);
		pc_get_info_ok(&pc);
		pc_close(&pc);
	}
	/* Major and minor alone, no JSON at all. */
	struct pc pc;
	pc_connect(&pc);
	struct vu_version v = { 0, 0 };
	assert_int_equal(pc_call(&pc, VU_CMD_VERSION, &v, sizeof(v), NULL, 0), 0);
	pc_get_info_ok(&pc);
	pc_close(&pc);
}

static void test_second_version_refused(void **state)
{
	struct pc pc;
	pc_open(&pc);
	assert_int_equal(pc_version(&pc, 0, "{}"), -EINVAL);
	pc_get_info_ok(&pc);
	pc_close(&pc);
}

static void test_twin_socket_offered_when_asked(void **state)
{
	struct pc pc;
	pc_connect(&pc);
	const struct vu_version *v = negotiate(&pc, 0,
		"{\"capabilities\":{\"max_msg_fds\":16,\"twin_socket\":"
		"{\"supported\":true}}}");
	size_t jlen = vu_rx_len(&pc.rx) - sizeof(*v);
	struct uvfio_caps caps;
	int twin;
	char err[128];
	assert_int_equal(vu_caps_from_json(v->data, jlen, &caps, &twin, err,
					   sizeof(err)), 0);
	assert_true(caps.twin_socket);
	assert_int_equal(twin, 0);
	assert_int_equal(pc.rx.nfds, 1);
	int tfd = pc.rx.fds[0];
	pc.rx.fds[0] = -1;
	struct stat st;
	assert_int_equal(fstat(tfd, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	pc_get_info_ok(&pc);

	/* The device's DMA to an fd-less window now travels on the twin. */
	struct vu_dma_map map = { .argsz = sizeof(map), .flags = 3,
				  .addr = 0x100000, .size = 0x1000 };
	assert_int_equal(pc_call(&pc, VU_CMD_DMA_MAP, &map, sizeof(map), NULL, 0), 0);
	pc_wr32(&pc, 0, TESTDEV_REG_DMA_ADDR, 0x100010);
	pc_wr32(&pc, 0, TESTDEV_REG_DMA_ADDR + 4, 0);
	pc_wr32(&pc, 0, TESTDEV_REG_DMA_LEN, 16);
	uint8_t wr[16 + 4];
	struct vu_region_rw *req = (void *)wr;
	req->offset = TESTDEV_REG_DMA_CMD;
	req->region = 0;
	req->count = 4;
	uint32_t cmd = 1;   /* guest -> device buffer: a DMA_READ to us */
	memcpy(req->data, &cmd, 4);
	uint16_t id = pc_send(&pc, VU_CMD_REGION_WRITE, 0, wr, sizeof(wr), NULL, 0);

	struct vu_rx trx;
	vu_rx_init(&trx);
	const struct vu_limits lim = { .max_msg_size = 1 << 20, .max_fds = 1 };
	assert_int_equal(vu_recv(&trx, tfd, &lim, PC_TIMEOUT_MS), 0);
	assert_int_equal(trx.hdr.command, VU_CMD_DMA_READ);
	assert_int_equal(trx.hdr.flags & VU_F_TYPE_MASK, VU_F_TYPE_COMMAND);
	const struct vu_dma_rw *dr = (const void *)trx.buf;
	assert_int_equal(vu_rx_len(&trx), sizeof(*dr));
	assert_int_equal(dr->addr, 0x100010);
	assert_int_equal(dr->count, 16);
	uint8_t rep[16 + 16];
	struct vu_dma_rw *rr = (void *)rep;
	rr->addr = dr->addr;
	rr->count = 16;
	for (int i = 0; i < 16; i++)
		rr->data[i] = (uint8_t)(0xc0 + i);
	struct vu_hdr h = { .msg_id = trx.hdr.msg_id, .command = VU_CMD_DMA_READ,
			    .flags = VU_F_TYPE_REPLY };
	struct iovec iov = { rep, sizeof(rep) };
	assert_int_equal(vu_send(tfd, &h, &iov, 1, NULL, 0, PC_TIMEOUT_MS), 0);
	vu_rx_fini(&trx);

	/* Then the REGION_WRITE completes on the main socket. */
	assert_int_equal(pc_recv(&pc, PC_TIMEOUT_MS), 0);
	assert_int_equal(pc.rx.hdr.msg_id, id);
	assert_int_equal(pc.rx.hdr.command, VU_CMD_REGION_WRITE);
	assert_false(pc.rx.hdr.flags & VU_F_ERROR);
	assert_int_equal(pc_rd32(&pc, 0, TESTDEV_REG_DMA_STATUS), 0);
	close(tfd);
	pc_close(&pc);
}

static void test_twin_socket_not_offered_otherwise(void **state)
{
	const char *js[] = {
		"{}",
		"{\"capabilities\":{\"twin_socket\":{\"supported\":false}}}",
	};
	for (size_t i = 0; i < 2; i++) {
		struct pc pc;
		pc_connect(&pc);
		const struct vu_version *v = negotiate(&pc, 0, js[i]);
		size_t jlen = vu_rx_len(&pc.rx) - sizeof(*v);
		struct uvfio_caps caps;
		int twin;
		char err[128];
		assert_int_equal(vu_caps_from_json(v->data, jlen, &caps, &twin,
						   err, sizeof(err)), 0);
		assert_false(caps.twin_socket);
		assert_int_equal(twin, -1);
		assert_int_equal(pc.rx.nfds, 0);
		pc_close(&pc);
	}
}

/* A server started with --no-twin-socket does not offer one. */
static void test_twin_socket_refused_by_option(void **state)
{
	struct served s;
	const char *extra[] = { "--no-twin-socket", NULL };
	assert_int_equal(pc_served_start(&s, extra), 0);
	struct pc pc;
	pc_connect_to(&pc, s.path);
	const struct vu_version *v = negotiate(&pc, 0,
		"{\"capabilities\":{\"twin_socket\":{\"supported\":true}}}");
	size_t jlen = vu_rx_len(&pc.rx) - sizeof(*v);
	struct uvfio_caps caps;
	int twin;
	char err[128];
	assert_int_equal(vu_caps_from_json(v->data, jlen, &caps, &twin, err,
					   sizeof(err)), 0);
	assert_int_equal(pc.rx.nfds, 0);
	assert_int_equal(twin, -1);
	assert_false(caps.twin_socket);
	pc_close(&pc);
	assert_int_equal(pc_served_stop(&s), 0);
}

/* Announced limits follow the server's options. */
static void test_limits_follow_options(void **state)
{
	struct served s;
	const char *extra[] = { "--max-data-xfer-size=65536", "--max-msg-fds=4",
				"--max-dma-maps=10", NULL };
	assert_int_equal(pc_served_start(&s, extra), 0);
	struct pc pc;
	pc_connect_to(&pc, s.path);
	const struct vu_version *v = negotiate(&pc, 0, "{}");
	size_t jlen = vu_rx_len(&pc.rx) - sizeof(*v);
	struct uvfio_caps caps;
	int twin;
	char err[128];
	assert_int_equal(vu_caps_from_json(v->data, jlen, &caps, &twin, err,
					   sizeof(err)), 0);
	assert_int_equal(caps.max_data_xfer_size, 65536);
	assert_int_equal(caps.max_msg_fds, 4);
	assert_int_equal(caps.max_dma_maps, 10);
	/* And they are applied. */
	struct vu_region_rw rd = { .offset = 0, .region = 2, .count = 65537 };
	assert_int_equal(pc_call(&pc, VU_CMD_REGION_READ, &rd, sizeof(rd), NULL, 0),
			 -E2BIG);
	rd.count = 65536;
	assert_int_equal(pc_call(&pc, VU_CMD_REGION_READ, &rd, sizeof(rd), NULL, 0), 0);
	for (uint64_t i = 0; i < 10; i++) {
		struct vu_dma_map m = { .argsz = sizeof(m), .flags = 3,
					.addr = 0x100000 * (i + 1), .size = 4096 };
		assert_int_equal(pc_call(&pc, VU_CMD_DMA_MAP, &m, sizeof(m), NULL, 0), 0);
	}
	struct vu_dma_map m = { .argsz = sizeof(m), .flags = 3,
				.addr = 0x10000000, .size = 4096 };
	assert_int_equal(pc_call(&pc, VU_CMD_DMA_MAP, &m, sizeof(m), NULL, 0), -ENOSPC);
	int fds[5];
	for (int i = 0; i < 5; i++)
		fds[i] = pc_eventfd();
	struct vu_irq_set is = { .argsz = sizeof(is),
				 .flags = VFIO_IRQ_SET_DATA_EVENTFD |
					  VFIO_IRQ_SET_ACTION_TRIGGER,
				 .index = VFIO_PCI_MSIX_IRQ_INDEX, .count = 5 };
	assert_int_equal(pc_call(&pc, VU_CMD_DEVICE_SET_IRQS, &is, sizeof(is), fds, 5),
			 -EINVAL);
	is.count = 4;
	assert_int_equal(pc_call(&pc, VU_CMD_DEVICE_SET_IRQS, &is, sizeof(is), fds, 4), 0);
	for (int i = 0; i < 5; i++)
		close(fds[i]);
	pc_close(&pc);
	assert_int_equal(pc_served_stop(&s), 0);
}

/* GET_REGION_INFO for @index with room for every cap; the reply in pc->rx. */
static struct vu_region_info region_info(struct pc *pc, uint32_t index)
{
	struct vu_region_info q = { .argsz = 4096, .index = index };
	assert_int_equal(pc_call(pc, VU_CMD_DEVICE_GET_REGION_INFO, &q, sizeof(q),
				 NULL, 0), 0);
	assert_true(vu_rx_len(&pc->rx) >= sizeof(q));
	struct vu_region_info ri;
	memcpy(&ri, pc->rx.buf, sizeof(ri));
	return ri;
}

/* The cap ids of the reply in pc->rx, in chain order (at most 4). */
static unsigned cap_ids(const struct pc *pc, const struct vu_region_info *ri,
			uint16_t ids[4])
{
	unsigned n = 0;
	uint32_t len = vu_rx_len(&pc->rx);
	for (uint32_t off = ri->cap_offset; off && n < 4; n++) {
		struct vu_cap_header h;
		assert_true(off >= sizeof(*ri) && off + sizeof(h) <= len);
		memcpy(&h, pc->rx.buf + off, sizeof(h));
		ids[n] = h.id;
		off = h.next;
	}
	return n;
}

/*
 * "max_msg_fds": 0 says the client cannot take a single fd.  It gets no
 * twin socket even when it asks for one, and mappable regions are not
 * mmap-able to it (no MMAP flag, no sparse areas, no fd attached), while
 * reads and writes by message work.  The same requests with the default
 * (1) get the twin socket and the fds: the difference is the limit.
 */
static void test_no_fds_to_a_client_that_takes_none(void **state)
{
	for (int takes = 0; takes <= 1; takes++) {
		struct pc pc;
		pc_connect(&pc);
		const struct vu_version *v = negotiate(&pc, 0, takes ?
			"{\"capabilities\":{\"twin_socket\":{\"supported\":true}}}" :
			"{\"capabilities\":{\"max_msg_fds\":0,\"twin_socket\":"
			"{\"supported\":true}}}");
		size_t jlen = vu_rx_len(&pc.rx) - sizeof(*v);
		struct uvfio_caps caps;
		int twin;
		char err[128];
		assert_int_equal(vu_caps_from_json(v->data, jlen, &caps, &twin,
						   err, sizeof(err)), 0);
		assert_int_equal(pc.rx.nfds, takes ? 1 : 0);
		assert_int_equal(twin, takes ? 0 : -1);
		assert_int_equal(caps.twin_socket, takes == 1);
		int tfd = -1;
		if (takes) {
			tfd = pc.rx.fds[0];
			pc.rx.fds[0] = -1;
		}

		/* BAR2: all of it mappable to a client that takes fds. */
		struct vu_region_info ri = region_info(&pc, 2);
		assert_int_equal(ri.size, TESTDEV_BAR2_SIZE);
		assert_true(ri.flags & VFIO_REGION_INFO_FLAG_READ);
		assert_true(ri.flags & VFIO_REGION_INFO_FLAG_WRITE);
		assert_int_equal(!!(ri.flags & VFIO_REGION_INFO_FLAG_MMAP), takes);
		assert_int_equal(pc.rx.nfds, takes ? 1 : 0);

		/* BAR4: sparse areas only for a client that can map them. */
		ri = region_info(&pc, 4);
		assert_int_equal(ri.size, TESTDEV_BAR4_SIZE);
		assert_int_equal(!!(ri.flags & VFIO_REGION_INFO_FLAG_MMAP), takes);
		assert_int_equal(pc.rx.nfds, takes ? 1 : 0);
		uint16_t ids[4];
		unsigned n = cap_ids(&pc, &ri, ids);
		assert_int_equal(n, takes ? 1 : 0);
		if (takes)
			assert_int_equal(ids[0], VFIO_REGION_INFO_CAP_SPARSE_MMAP);
		assert_int_equal(!!(ri.flags & VFIO_REGION_INFO_FLAG_CAPS), takes);
		assert_int_equal(ri.argsz, vu_rx_len(&pc.rx));

		/* Region 9's TYPE cap is no fd: everyone gets it. */
		ri = region_info(&pc, 9);
		n = cap_ids(&pc, &ri, ids);
		assert_int_equal(n, 1);
		assert_int_equal(ids[0], VFIO_REGION_INFO_CAP_TYPE);
		assert_int_equal(pc.rx.nfds, 0);

		/* The regions work by message. */
		pc_wr32(&pc, 2, 0x1000, 0xf00d0000u | (uint32_t)takes);
		assert_int_equal(pc_rd32(&pc, 2, 0x1000), 0xf00d0000u | (uint32_t)takes);
		pc_wr32(&pc, 4, 0x1004, 0xbeef0000u | (uint32_t)takes);
		assert_int_equal(pc_rd32(&pc, 4, 0x1004), 0xbeef0000u | (uint32_t)takes);
		pc_get_info_ok(&pc);
		if (tfd >= 0)
			close(tfd);
		pc_close(&pc);
	}
}

#define T(f) cmocka_unit_test_teardown(f, pc_test_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_first_message_not_version),
		T(test_wrong_major),
		T(test_malformed_json),
		T(test_max_data_xfer_size_zero),
		T(test_vf_token_without_sriov),
		T(test_missing_nul_and_short),
		T(test_fds_on_version),
		T(test_minor_negotiation),
		T(test_reply_capabilities),
		T(test_optional_data_accepted),
		T(test_second_version_refused),
		T(test_twin_socket_offered_when_asked),
		T(test_twin_socket_not_offered_otherwise),
		T(test_twin_socket_refused_by_option),
		T(test_limits_follow_options),
		T(test_no_fds_to_a_client_that_takes_none),
	};
	return cmocka_run_group_tests(tests, pc_group_setup, pc_group_teardown);
}
