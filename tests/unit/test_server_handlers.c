/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The server's command handlers (src/server/handlers.c), called in
 * process through handle_message() with payloads allocated to their
 * exact length (so that ASan and valgrind see any read past them), the
 * reply read from the client's end of the socketpair: every command
 * short by a byte, or with argsz below its struct, is EINVAL; unknown
 * and server-to-client commands get ENOSYS/EINVAL/ENOTTY; VERSION must
 * come first, once, without fds, with major 0, and answers the smaller
 * minor; counts and sizes of region access and WRITE_MULTI are checked
 * before anything is written; region info too small for its caps says
 * what it needs; a client that takes no fds gets no mmap; NO_REPLY
 * suppresses error replies too; fds beyond what a command takes are
 * refused and closed, and a DMA_MAP's fd is kept or closed, never leaked.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "srv_fixture.h"
#include "testutil.h"

#define XFER (64u << 10)     /* the server's max_data_xfer_size here */
#define FEAT 77u             /* a feature of the fixture's device */
#define REGION_DEV 9u        /* a device-specific region with a TYPE cap */

static unsigned feat_get_len;   /* what the last GET was offered */

static int feat_get(void *opaque, void *buf, size_t len)
{
	(void)opaque;
	feat_get_len = (unsigned)len;
	size_t n = len < 24 ? len : 24;
	memset(buf, 0x3c, n);
	return (int)n;
}

static void build(struct sfix *f)
{
	assert_int_equal(uvfio_dev_add_region(f->dev, REGION_DEV, 4096,
					      VFIO_REGION_INFO_FLAG_READ |
					      VFIO_REGION_INFO_FLAG_WRITE,
					      0x8086, 7, NULL, NULL), 0);
	assert_int_equal(uvfio_dev_add_feature(f->dev, FEAT, UVFIO_FEATURE_GET,
					       feat_get, NULL, NULL), 0);
}

static const struct uvfio_server_opts opts = { .max_data_xfer_size = XFER };

static int setup_raw(void **state)
{
	struct sfix *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	sfix_init_build(f, &opts, build);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	int r = setup_raw(state);
	if (!r)
		sfix_negotiate(*state, "{\"capabilities\":{\"max_msg_fds\":16}}",
			       false);
	return r;
}

static int teardown(void **state)
{
	struct sfix *f = *state;
	sfix_fini(f);
	free(f);
	return 0;
}

/*
 * Hand @len bytes of @p to handle_message() as command @cmd, in a buffer
 * of exactly that size, and read the reply.  Returns its -errno (0 for a
 * success reply), or 1 when no reply came.
 */
static int handle(struct sfix *f, uint16_t cmd, uint32_t flags, const void *p,
		  size_t len, int *fds, unsigned nfds, struct pmsg *rep)
{
	struct conn *c = sfix_conn(f);
	uint8_t *buf = malloc(len ? len : 1);
	assert_non_null(buf);
	if (len)
		memcpy(buf, p, len);
	struct vu_hdr h = { .msg_id = f->next_id++, .command = cmd,
			    .msg_size = (uint32_t)(sizeof(h) + len),
			    .flags = VU_F_TYPE_COMMAND | flags };
	c->handling = true;
	handle_message(c, &h, buf, (uint32_t)len, fds, nfds, false);
	c->handling = false;
	free(buf);
	while (conn_out_pending(c))
		assert_true(conn_flush(c) >= 0);
	struct pmsg m;
	if (peer_quiet(f->peer, 20))
		return 1;
	assert_int_equal(peer_recv(f->peer, &m, 1000), 0);
	assert_int_equal(m.hdr.msg_id, h.msg_id);
	assert_int_equal(m.hdr.command, cmd);
	assert_int_equal(m.hdr.flags & VU_F_TYPE_MASK, VU_F_TYPE_REPLY);
	int r = 0;
	if (m.hdr.flags & VU_F_ERROR) {
		assert_int_equal(m.len, 0);
		r = -(int)m.hdr.error;
	}
	if (rep)
		*rep = m;
	else
		pmsg_free(&m);
	return r;
}

static int handle_simple(struct sfix *f, uint16_t cmd, const void *p,
			 size_t len)
{
	return handle(f, cmd, 0, p, len, NULL, 0, NULL);
}

/* The connection is still served: GET_INFO answers. */
static void assert_alive(struct sfix *f)
{
	assert_false(sfix_conn(f)->dead);
	struct vu_device_info in = { .argsz = sizeof(in) };
	struct pmsg rep;
	assert_int_equal(handle(f, VU_CMD_DEVICE_GET_INFO, 0, &in, sizeof(in),
				NULL, 0, &rep), 0);
	assert_int_equal(rep.len, sizeof(in));
	pmsg_free(&rep);
}

static void test_every_command_short_by_a_byte_is_einval(void **state)
{
	struct sfix *f = *state;
	static const struct { uint16_t cmd; size_t len; } fixed[] = {
		{ VU_CMD_DMA_MAP, sizeof(struct vu_dma_map) },
		{ VU_CMD_DMA_UNMAP, sizeof(struct vu_dma_unmap) },
		{ VU_CMD_DEVICE_GET_INFO, sizeof(struct vu_device_info) },
		{ VU_CMD_DEVICE_GET_REGION_INFO, sizeof(struct vu_region_info) },
		{ VU_CMD_DEVICE_GET_REGION_IO_FDS,
		  sizeof(struct vu_region_io_fds_req) },
		{ VU_CMD_DEVICE_GET_IRQ_INFO, sizeof(struct vu_irq_info) },
		{ VU_CMD_DEVICE_SET_IRQS, sizeof(struct vu_irq_set) },
		{ VU_CMD_REGION_READ, sizeof(struct vu_region_rw) },
		{ VU_CMD_REGION_WRITE, sizeof(struct vu_region_rw) },
		{ VU_CMD_REGION_WRITE_MULTI, sizeof(struct vu_write_multi) },
		{ VU_CMD_DEVICE_FEATURE, sizeof(struct vu_device_feature) },
	};
	/* Fields that would be valid, were they all there: argsz large,
	 * region 2, count 4... */
	uint8_t good[64];
	memset(good, 0, sizeof(good));
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		uint32_t argsz = 4096;
		memcpy(good, &argsz, sizeof(argsz));
		for (size_t len = 0; len < fixed[i].len; len++) {
			int r = handle_simple(f, fixed[i].cmd, good, len);
			if (r != -EINVAL)
				print_error("command %u, %zu bytes: %d\n",
					    fixed[i].cmd, len, r);
			assert_int_equal(r, -EINVAL);
		}
	}
	assert_int_equal(f->bar2_writes, 0);
	assert_alive(f);
}

static void test_argsz_below_struct_is_einval(void **state)
{
	struct sfix *f = *state;
	struct vu_device_info gi = { .argsz = sizeof(gi) - 1 };
	assert_int_equal(handle_simple(f, VU_CMD_DEVICE_GET_INFO, &gi,
				       sizeof(gi)), -EINVAL);
	struct vu_region_info ri = { .argsz = sizeof(ri) - 1, .index = 0 };
	assert_int_equal(handle_simple(f, VU_CMD_DEVICE_GET_REGION_INFO, &ri,
				       sizeof(ri)), -EINVAL);
	struct vu_irq_info ii = { .argsz = sizeof(ii) - 1, .index = 0 };
	assert_int_equal(handle_simple(f, VU_CMD_DEVICE_GET_IRQ_INFO, &ii,
				       sizeof(ii)), -EINVAL);
	struct vu_irq_set is = { .argsz = sizeof(is) - 1,
				 .flags = VFIO_IRQ_SET_DATA_NONE |
					  VFIO_IRQ_SET_ACTION_TRIGGER,
				 .index = VFIO_PCI_INTX_IRQ_INDEX, .count = 0 };
	assert_int_equal(handle_simple(f, VU_CMD_DEVICE_SET_IRQS, &is,
				       sizeof(is)), -EINVAL);
	struct vu_dma_map dm = { .argsz = sizeof(dm) - 1,
				 .flags = VU_DMA_FLAG_READ, .addr = 0x10000,
				 .size = 0x1000 };
	assert_int_equal(handle_simple(f, VU_CMD_DMA_MAP, &dm, sizeof(dm)),
			 -EINVAL);
	assert_int_equal(uvfio_dev_dma_count(f->dev), 0);
	struct vu_dma_unmap du = { .argsz = sizeof(du) - 1, .addr = 0x10000,
				   .size = 0x1000 };
	assert_int_equal(handle_simple(f, VU_CMD_DMA_UNMAP, &du, sizeof(du)),
			 -EINVAL);
	struct vu_region_io_fds_req io = { .argsz = sizeof(io) - 1,
					   .index = 0 };
	assert_int_equal(handle_simple(f, VU_CMD_DEVICE_GET_REGION_IO_FDS, &io,
				       sizeof(io)), -EINVAL);
	/* The same with argsz right: answered. */
	gi.argsz = sizeof(gi);
	assert_int_equal(handle_simple(f, VU_CMD_DEVICE_GET_INFO, &gi,
				       sizeof(gi)), 0);
	dm.argsz = sizeof(dm);
	assert_int_equal(handle_simple(f, VU_CMD_DMA_MAP, &dm, sizeof(dm)), 0);
	assert_int_equal(uvfio_dev_dma_count(f->dev), 1);
}

static void test_unknown_and_server_commands(void **state)
{
	struct sfix *f = *state;
	static const struct { uint16_t cmd; int want; } cases[] = {
		{ 0, -ENOSYS }, { 14, -ENOSYS }, { VU_CMD_MAX, -ENOSYS },
		{ 200, -ENOSYS }, { 0xffff, -ENOSYS },
		/* The server's own requests, sent to it. */
		{ VU_CMD_DMA_READ, -EINVAL }, { VU_CMD_DMA_WRITE, -EINVAL },
		/* Migration data is not served. */
		{ VU_CMD_MIG_DATA_READ, -ENOTTY },
		{ VU_CMD_MIG_DATA_WRITE, -ENOTTY },
	};
	uint8_t p[32] = { 0 };
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(handle_simple(f, cases[i].cmd, p, sizeof(p)),
				 cases[i].want);
	assert_alive(f);
}

static void test_reply_type_message_is_ignored(void **state)
{
	struct sfix *f = *state;
	struct vu_device_info in = { .argsz = sizeof(in) };
	struct conn *c = sfix_conn(f);
	struct vu_hdr h = { .msg_id = 5, .command = VU_CMD_DEVICE_GET_INFO,
			    .msg_size = 16 + sizeof(in),
			    .flags = VU_F_TYPE_REPLY };
	handle_message(c, &h, (uint8_t *)&in, sizeof(in), NULL, 0, false);
	assert_true(peer_quiet(f->peer, 20));
	assert_alive(f);
}

/* A VERSION payload: major, minor, JSON. */
static size_t version_msg(uint8_t *buf, uint16_t major, uint16_t minor,
			  const char *json)
{
	struct vu_version v = { .major = major, .minor = minor };
	memcpy(buf, &v, sizeof(v));
	size_t n = strlen(json) + 1;
	memcpy(buf + sizeof(v), json, n);
	return sizeof(v) + n;
}

static void test_version_first_once_and_checked(void **state)
{
	struct sfix *f = *state;
	uint8_t buf[256];
	struct {
		const char *what;
		uint16_t cmd, major;
		const char *json;
		size_t cut;      /* payload bytes kept, 0: all */
		bool fd;
		int want;
	} cases[] = {
		{ "not VERSION first", VU_CMD_DEVICE_GET_INFO, 0, "{}", 0, false,
		  -EINVAL },
		{ "major 1", VU_CMD_VERSION, 1, "{}", 0, false, -ENOTSUP },
		{ "shorter than major and minor", VU_CMD_VERSION, 0, "{}", 3,
		  false, -EINVAL },
		{ "not JSON", VU_CMD_VERSION, 0, "{capabilities", 0, false,
		  -EINVAL },
		{ "with an fd", VU_CMD_VERSION, 0, "{}", 0, true, -EINVAL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (i) {
			sfix_fini(f);
			sfix_init_build(f, &opts, build);
		}
		size_t n = version_msg(buf, cases[i].major, 5, cases[i].json);
		if (cases[i].cut)
			n = cases[i].cut;
		int e = eventfd(0, EFD_CLOEXEC);
		int r = handle(f, cases[i].cmd, 0, buf, n, cases[i].fd ? &e : NULL,
			       cases[i].fd ? 1 : 0, NULL);
		close(e);
		if (r != cases[i].want)
			print_error("%s: %d\n", cases[i].what, r);
		assert_int_equal(r, cases[i].want);
		/* Each of these ends the connection. */
		assert_true(sfix_conn(f)->dead);
		assert_false(sfix_conn(f)->negotiated);
	}

	/* A good one: the smaller minor comes back. */
	for (uint16_t minor = 0; minor < 3; minor++) {
		sfix_fini(f);
		sfix_init_build(f, &opts, build);
		size_t n = version_msg(buf, 0, minor, "{}");
		struct pmsg rep;
		assert_int_equal(handle(f, VU_CMD_VERSION, 0, buf, n, NULL, 0,
					&rep), 0);
		struct vu_version v;
		assert_true(rep.len > sizeof(v));
		memcpy(&v, rep.data, sizeof(v));
		assert_int_equal(v.major, 0);
		assert_int_equal(v.minor, minor < UVFIO_PROTO_MINOR ? minor :
					  UVFIO_PROTO_MINOR);
		/* NUL-terminated JSON. */
		assert_int_equal(rep.data[rep.len - 1], 0);
		assert_non_null(strstr((char *)rep.data + sizeof(v),
				       "max_data_xfer_size"));
		pmsg_free(&rep);
		assert_true(sfix_conn(f)->negotiated);
		/* Once only: a second is refused, the connection kept. */
		assert_int_equal(handle(f, VU_CMD_VERSION, 0, buf, n, NULL, 0,
					NULL), -EINVAL);
		assert_alive(f);
	}
}

static void test_region_read_write_counts(void **state)
{
	struct sfix *f = *state;
	struct vu_region_rw rw = { .offset = 0, .region = 2, .count = 0 };
	assert_int_equal(handle_simple(f, VU_CMD_REGION_READ, &rw, sizeof(rw)),
			 -EINVAL);
	rw.count = XFER + 1;
	assert_int_equal(handle_simple(f, VU_CMD_REGION_READ, &rw, sizeof(rw)),
			 -E2BIG);
	rw = (struct vu_region_rw){ .offset = 0, .region = 0, .count = XFER };
	assert_int_equal(handle_simple(f, VU_CMD_REGION_READ, &rw, sizeof(rw)),
			 0);

	/* Writes: count must be exactly the data that came. */
	uint8_t msg[sizeof(rw) + 8];
	memset(msg + sizeof(rw), 0x99, 8);
	static const uint32_t counts[] = { 0, 4, 9 };
	for (size_t i = 0; i < 3; i++) {
		rw = (struct vu_region_rw){ .offset = 16, .region = 2,
					    .count = counts[i] };
		memcpy(msg, &rw, sizeof(rw));
		assert_int_equal(handle_simple(f, VU_CMD_REGION_WRITE, msg,
					       sizeof(msg)), -EINVAL);
	}
	assert_int_equal(f->bar2_writes, 0);
	/* Past the region: refused, nothing written. */
	rw = (struct vu_region_rw){ .offset = SFIX_BAR2_SIZE - 4, .region = 2,
				    .count = 8 };
	memcpy(msg, &rw, sizeof(rw));
	assert_int_equal(handle_simple(f, VU_CMD_REGION_WRITE, msg,
				       sizeof(msg)), -EINVAL);
	assert_int_equal(f->bar2_writes, 0);
	/* And right: written, the reply is the header part. */
	rw.offset = 16;
	memcpy(msg, &rw, sizeof(rw));
	struct pmsg rep;
	assert_int_equal(handle(f, VU_CMD_REGION_WRITE, 0, msg, sizeof(msg),
				NULL, 0, &rep), 0);
	assert_int_equal(rep.len, sizeof(rw));
	assert_memory_equal(rep.data, &rw, sizeof(rw));
	pmsg_free(&rep);
	assert_int_equal(f->bar2_writes, 1);
	uint8_t want[8];
	memset(want, 0x99, 8);
	assert_memory_equal(f->bar2 + 16, want, 8);
}

static void test_write_multi_checked_before_any_write(void **state)
{
	struct sfix *f = *state;
	uint8_t buf[sizeof(struct vu_write_multi) + 3 * sizeof(struct vu_wr_one)];
	struct vu_write_multi *wm = (void *)buf;
	memset(buf, 0, sizeof(buf));
	/* Two good writes, then one of 9 bytes. */
	wm->wr_cnt = 3;
	for (unsigned i = 0; i < 3; i++) {
		wm->wrs[i].offset = 8 * i;
		wm->wrs[i].region = 2;
		wm->wrs[i].count = 4;
		memset(wm->wrs[i].data, 0x40 + i, 8);
	}
	wm->wrs[2].count = 9;
	assert_int_equal(handle_simple(f, VU_CMD_REGION_WRITE_MULTI, buf,
				       sizeof(buf)), -EINVAL);
	wm->wrs[2].count = 0;
	assert_int_equal(handle_simple(f, VU_CMD_REGION_WRITE_MULTI, buf,
				       sizeof(buf)), -EINVAL);
	assert_int_equal(f->bar2_writes, 0);
	/* wr_cnt 0, past the limit, or not what the length holds. */
	wm->wrs[2].count = 4;
	static const uint64_t cnts[] = { 0, 2, 4, VU_MULTI_MAX + 1,
					 UINT64_MAX / 24 + 1 };
	for (size_t i = 0; i < sizeof(cnts) / sizeof(cnts[0]); i++) {
		wm->wr_cnt = cnts[i];
		assert_int_equal(handle_simple(f, VU_CMD_REGION_WRITE_MULTI,
					       buf, sizeof(buf)), -EINVAL);
	}
	assert_int_equal(f->bar2_writes, 0);
	/* All good: all three written, wr_cnt echoed. */
	wm->wr_cnt = 3;
	struct pmsg rep;
	assert_int_equal(handle(f, VU_CMD_REGION_WRITE_MULTI, 0, buf,
				sizeof(buf), NULL, 0, &rep), 0);
	assert_int_equal(rep.len, sizeof(struct vu_write_multi));
	uint64_t cnt;
	memcpy(&cnt, rep.data, sizeof(cnt));
	assert_int_equal(cnt, 3);
	pmsg_free(&rep);
	assert_int_equal(f->bar2_writes, 3);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(f->bar2[8 * i], 0x40 + i);
}

static void test_region_info_caps_and_argsz(void **state)
{
	struct sfix *f = *state;
	struct vu_region_info in = { .argsz = sizeof(in), .index = REGION_DEV };
	struct pmsg rep;
	/* Room for the struct only: the size it needs, no caps. */
	assert_int_equal(handle(f, VU_CMD_DEVICE_GET_REGION_INFO, 0, &in,
				sizeof(in), NULL, 0, &rep), 0);
	struct vu_region_info out;
	assert_int_equal(rep.len, sizeof(out));
	memcpy(&out, rep.data, sizeof(out));
	assert_int_equal(out.argsz, sizeof(out) + sizeof(struct vu_cap_type));
	assert_int_equal(out.cap_offset, 0);
	assert_true(out.flags & VFIO_REGION_INFO_FLAG_CAPS);
	assert_int_equal(out.index, REGION_DEV);
	assert_int_equal(out.size, 4096);
	pmsg_free(&rep);
	/* With the room: the TYPE cap. */
	in.argsz = out.argsz;
	assert_int_equal(handle(f, VU_CMD_DEVICE_GET_REGION_INFO, 0, &in,
				sizeof(in), NULL, 0, &rep), 0);
	assert_int_equal(rep.len, in.argsz);
	memcpy(&out, rep.data, sizeof(out));
	assert_int_equal(out.cap_offset, sizeof(out));
	struct vu_cap_type t;
	memcpy(&t, rep.data + sizeof(out), sizeof(t));
	assert_int_equal(t.header.id, VFIO_REGION_INFO_CAP_TYPE);
	assert_int_equal(t.header.next, 0);
	assert_int_equal(t.type, 0x8086);
	assert_int_equal(t.subtype, 7);
	assert_int_equal(rep.nfds, 0);
	pmsg_free(&rep);
	/* An index the device does not have. */
	in.index = 99;
	assert_int_equal(handle(f, VU_CMD_DEVICE_GET_REGION_INFO, 0, &in,
				sizeof(in), NULL, 0, NULL), -EINVAL);
	/* BAR0 has memory: mmap-able, its fd attached. */
	in = (struct vu_region_info){ .argsz = 1024, .index = 0 };
	assert_int_equal(handle(f, VU_CMD_DEVICE_GET_REGION_INFO, 0, &in,
				sizeof(in), NULL, 0, &rep), 0);
	memcpy(&out, rep.data, sizeof(out));
	assert_true(out.flags & VFIO_REGION_INFO_FLAG_MMAP);
	assert_int_equal(rep.nfds, 1);
	void *m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, rep.fds[0],
		       (off_t)out.offset);
	assert_true(m != MAP_FAILED);
	f->bar0[100] = 0x5e;
	assert_int_equal(((uint8_t *)m)[100], 0x5e);
	munmap(m, 4096);
	pmsg_free(&rep);
}

static void test_no_mmap_for_client_without_fds(void **state)
{
	struct sfix *f = *state;
	sfix_negotiate(f, "{\"capabilities\":{\"max_msg_fds\":0}}", false);
	struct vu_region_info in = { .argsz = 1024, .index = 0 };
	struct pmsg rep;
	assert_int_equal(handle(f, VU_CMD_DEVICE_GET_REGION_INFO, 0, &in,
				sizeof(in), NULL, 0, &rep), 0);
	struct vu_region_info out;
	memcpy(&out, rep.data, sizeof(out));
	assert_false(out.flags & VFIO_REGION_INFO_FLAG_MMAP);
	assert_true(out.flags & VFIO_REGION_INFO_FLAG_READ);
	assert_int_equal(rep.nfds, 0);
	pmsg_free(&rep);
}

static void test_io_fds_request_checked(void **state)
{
	struct sfix *f = *state;
	struct vu_region_io_fds_req in = { .argsz = 1024, .index = 0 };
	in.flags = 1;
	assert_int_equal(handle_simple(f, VU_CMD_DEVICE_GET_REGION_IO_FDS, &in,
				       sizeof(in)), -EINVAL);
	in.flags = 0;
	in.count = 1;
	assert_int_equal(handle_simple(f, VU_CMD_DEVICE_GET_REGION_IO_FDS, &in,
				       sizeof(in)), -EINVAL);
	in.count = 0;
	in.index = 1;   /* no BAR1 */
	assert_int_equal(handle_simple(f, VU_CMD_DEVICE_GET_REGION_IO_FDS, &in,
				       sizeof(in)), -EINVAL);
	in.index = 0;   /* no doorbells: none */
	struct pmsg rep;
	assert_int_equal(handle(f, VU_CMD_DEVICE_GET_REGION_IO_FDS, 0, &in,
				sizeof(in), NULL, 0, &rep), 0);
	struct vu_region_io_fds_req out;
	assert_int_equal(rep.len, sizeof(out));
	memcpy(&out, rep.data, sizeof(out));
	assert_int_equal(out.count, 0);
	assert_int_equal(out.argsz, sizeof(out));
	assert_int_equal(rep.nfds, 0);
	pmsg_free(&rep);
}

static void test_feature_get_bounded(void **state)
{
	struct sfix *f = *state;
	/* argsz offers 4 bytes: the model is offered 4, the reply has 4. */
	struct vu_device_feature in = { .argsz = sizeof(in) + 4,
					.flags = VFIO_DEVICE_FEATURE_GET | FEAT };
	struct pmsg rep;
	assert_int_equal(handle(f, VU_CMD_DEVICE_FEATURE, 0, &in, sizeof(in),
				NULL, 0, &rep), 0);
	assert_int_equal(feat_get_len, 4);
	assert_int_equal(rep.len, sizeof(in) + 4);
	struct vu_device_feature out;
	memcpy(&out, rep.data, sizeof(out));
	assert_int_equal(out.argsz, sizeof(in) + 4);
	pmsg_free(&rep);
	/* A huge argsz: the offer is bounded by max_data_xfer_size. */
	in.argsz = UINT32_MAX;
	assert_int_equal(handle(f, VU_CMD_DEVICE_FEATURE, 0, &in, sizeof(in),
				NULL, 0, &rep), 0);
	assert_int_equal(feat_get_len, XFER);
	assert_int_equal(rep.len, sizeof(in) + 24);
	for (unsigned i = 0; i < 24; i++)
		assert_int_equal(rep.data[sizeof(in) + i], 0x3c);
	pmsg_free(&rep);
	/* An unknown feature. */
	in.flags = VFIO_DEVICE_FEATURE_GET | (FEAT + 1);
	assert_int_equal(handle(f, VU_CMD_DEVICE_FEATURE, 0, &in, sizeof(in),
				NULL, 0, NULL), -ENOTTY);
}

static void test_no_reply_means_none_not_even_an_error(void **state)
{
	struct sfix *f = *state;
	/* A bad posted write, an unknown command, a short one: silence. */
	struct vu_region_rw rw = { .offset = 0, .region = 2, .count = 99 };
	assert_int_equal(handle(f, VU_CMD_REGION_WRITE, VU_F_NO_REPLY, &rw,
				sizeof(rw), NULL, 0, NULL), 1);
	assert_int_equal(handle(f, 200, VU_F_NO_REPLY, &rw, sizeof(rw), NULL, 0,
				NULL), 1);
	assert_int_equal(handle(f, VU_CMD_DEVICE_GET_INFO, VU_F_NO_REPLY, &rw,
				4, NULL, 0, NULL), 1);
	/* A good posted write is done, silently too. */
	uint8_t msg[sizeof(rw) + 4];
	rw.count = 4;
	memcpy(msg, &rw, sizeof(rw));
	memset(msg + sizeof(rw), 0x61, 4);
	assert_int_equal(handle(f, VU_CMD_REGION_WRITE, VU_F_NO_REPLY, msg,
				sizeof(msg), NULL, 0, NULL), 1);
	assert_int_equal(f->bar2_writes, 1);
	assert_int_equal(f->bar2[0], 0x61);
	assert_alive(f);
}

/* Through the loop: fds a command does not take are closed. */
static void test_excess_fds_refused_and_closed(void **state)
{
	struct sfix *f = *state;
	int base = count_open_fds();
	int e[3];
	for (unsigned i = 0; i < 3; i++)
		e[i] = eventfd(0, EFD_CLOEXEC);
	struct vu_device_info gi = { .argsz = sizeof(gi) };
	struct pmsg rep;
	sfix_call(f, VU_CMD_DEVICE_GET_INFO, &gi, sizeof(gi), e, 1, &rep);
	assert_int_equal(rep.hdr.flags & VU_F_ERROR, VU_F_ERROR);
	assert_int_equal(rep.hdr.error, EINVAL);
	pmsg_free(&rep);
	/* DMA_MAP takes one fd at most. */
	struct vu_dma_map dm = { .argsz = sizeof(dm), .flags = VU_DMA_FLAG_READ,
				 .addr = 0x40000, .size = 4096 };
	sfix_call(f, VU_CMD_DMA_MAP, &dm, sizeof(dm), e, 2, &rep);
	assert_int_equal(rep.hdr.error, EINVAL);
	pmsg_free(&rep);
	assert_int_equal(uvfio_dev_dma_count(f->dev), 0);
	/* More than the 16 the server takes: refused, all closed. */
	int many[20];
	for (unsigned i = 0; i < 20; i++)
		many[i] = e[i % 3];
	sfix_call(f, VU_CMD_DEVICE_GET_INFO, &gi, sizeof(gi), many, 20, &rep);
	assert_int_equal(rep.hdr.error, EINVAL);
	pmsg_free(&rep);
	for (unsigned i = 0; i < 3; i++)
		close(e[i]);
	assert_int_equal(count_open_fds(), base);
	assert_true(uvfio_server_has_client(f->srv));
}

static void test_dma_map_fd_kept_or_closed(void **state)
{
	struct sfix *f = *state;
	int base = count_open_fds();
	int mfd = memfd_create("dma", MFD_CLOEXEC);
	assert_true(mfd >= 0);
	assert_int_equal(ftruncate(mfd, 16384), 0);
	struct vu_dma_map dm = { .argsz = sizeof(dm),
				 .flags = VU_DMA_FLAG_READ | VU_DMA_FLAG_WRITE,
				 .offset = 0, .addr = 0x40000, .size = 8192 };
	struct pmsg rep;
	sfix_call(f, VU_CMD_DMA_MAP, &dm, sizeof(dm), &mfd, 1, &rep);
	assert_false(rep.hdr.flags & VU_F_ERROR);
	pmsg_free(&rep);
	/* The device maps it (and keeps the fd, or not), and reaches our
	 * memory through it. */
	uint8_t *mem = mmap(NULL, 16384, PROT_READ | PROT_WRITE, MAP_SHARED,
			    mfd, 0);
	assert_true(mem != MAP_FAILED);
	close(mfd);
	int held = count_open_fds();
	assert_true(held <= base + 1);
	assert_int_equal(uvfio_dev_dma_write(f->dev, 0x40010, "hi", 3), 0);
	assert_string_equal((char *)mem + 0x10, "hi");
	/* An overlapping map is refused, and its fd not kept. */
	int m2 = memfd_create("dma2", MFD_CLOEXEC);
	assert_int_equal(ftruncate(m2, 16384), 0);
	dm.addr = 0x41000;
	sfix_call(f, VU_CMD_DMA_MAP, &dm, sizeof(dm), &m2, 1, &rep);
	assert_int_equal(rep.hdr.error, EEXIST);
	pmsg_free(&rep);
	close(m2);
	assert_int_equal(count_open_fds(), held);
	/* Unmapped: let go. */
	struct vu_dma_unmap du = { .argsz = sizeof(du), .addr = 0x40000,
				   .size = 8192 };
	sfix_call(f, VU_CMD_DMA_UNMAP, &du, sizeof(du), NULL, 0, &rep);
	assert_false(rep.hdr.flags & VU_F_ERROR);
	struct vu_dma_unmap echo;
	assert_int_equal(rep.len, sizeof(echo));
	memcpy(&echo, rep.data, sizeof(echo));
	assert_int_equal(echo.addr, 0x40000);
	assert_int_equal(echo.size, 8192);
	pmsg_free(&rep);
	munmap(mem, 16384);
	assert_int_equal(count_open_fds(), base);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define TR(fn) cmocka_unit_test_setup_teardown(fn, setup_raw, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_every_command_short_by_a_byte_is_einval),
		T(test_argsz_below_struct_is_einval),
		T(test_unknown_and_server_commands),
		T(test_reply_type_message_is_ignored),
		TR(test_version_first_once_and_checked),
		T(test_region_read_write_counts),
		T(test_write_multi_checked_before_any_write),
		T(test_region_info_caps_and_argsz),
		TR(test_no_mmap_for_client_without_fds),
		T(test_io_fds_request_checked),
		T(test_feature_get_bounded),
		T(test_no_reply_means_none_not_even_an_error),
		T(test_excess_fds_refused_and_closed),
		T(test_dma_map_fd_kept_or_closed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
