/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: the server's message handling.  A testdev is served by a
 * real uvfio_server over one end of a socketpair; this side sends a
 * valid VERSION, then the input as a stream of messages, then closes its
 * sending half, and drives uvfio_server_dispatch() until the server has
 * dropped the client, draining the replies meanwhile.  Nothing waits:
 * when the device sends a DMA request (fd-less windows) its reply must
 * already be in the stream (the input may hold reply messages) or the
 * server sees the end of the stream.
 *
 * Input:
 *   u8 config: bits 0-1 the VERSION JSON (see versions[]),
 *              bit 4 server max_data_xfer_size 4 KiB (else 64 KiB),
 *              bit 5 server max_msg_fds 1 (else 16),
 *              bit 6 server refuses REGION_WRITE_MULTI
 *              bit 7 small server send buffer: replies wait for room
 *   then records: u8 fdspec, a message (its own msg_size says how long)
 *     fdspec bits 0-2 fds attached (7: 17, more than allowed),
 *            bits 3-4 kind (eventfd, memfd, socket, mixed),
 *            bits 5-6 memfd size (0, 4 KiB, 64 KiB, 2 MiB)
 *   A record whose msg_size is below 16 or past the input sends the
 *   rest of the input as it is (a framing error or a truncated message).
 *
 * Each iteration ends with the client gone, the device reset, every DMA
 * window and fd released: fds are checked, memory by LeakSanitizer.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/models.h"
#include "device/dev.h"
#include "fuzz_common.h"
#include "server/server.h"

#define MAX_ROUNDS 100000
#define MAX_FDS 17

static struct uvfio_dev *g_dev;
static void *g_state;

static const char *const versions[4] = {
	"{\"capabilities\":{\"max_msg_fds\":16}}",
	"{}",
	"{\"capabilities\":{\"max_msg_fds\":16,\"max_data_xfer_size\":4096,"
	"\"write_multiple\":true,\"twin_socket\":{\"supported\":true}}}",
	"{\"capabilities\":{\"max_msg_fds\":1,\"max_data_xfer_size\":64,"
	"\"max_dma_maps\":4,\"pgsizes\":4096,"
	"\"migration\":{\"pgsize\":4096,\"max_bitmap_size\":1024}}}",
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	g_dev = uvfio_model_testdev.create(&g_state);
	if (!g_dev)
		fuzz_die("server: cannot create testdev");
	/* Sealing opens the device's own fds (its doorbells' eventfds),
	 * which live as long as it: part of the baseline, not leaks. */
	if (dev_seal(g_dev) < 0)
		fuzz_die("server: cannot seal testdev");
	fuzz_fd_init();
	return 0;
}

/* Send VERSION and take its reply (closing a twin socket fd at once). */
static int negotiate(struct uvfio_server *srv, int sock, unsigned which)
{
	uint8_t buf[16 + 4 + 256];
	const char *json = versions[which & 3];
	size_t jl = strlen(json) + 1;
	struct vu_hdr h = { .command = VU_CMD_VERSION,
			    .msg_size = (uint32_t)(16 + 4 + jl) };
	struct vu_version v = { .major = 0, .minor = 0 };
	memcpy(buf, &h, 16);
	memcpy(buf + 16, &v, 4);
	memcpy(buf + 20, json, jl);
	if (fuzz_send(sock, buf, h.msg_size, NULL, 0) < 0)
		return -1;
	for (int i = 0; i < 16 && uvfio_server_has_client(srv); i++) {
		uvfio_server_dispatch(srv);
		if (fuzz_drain(sock) > 0)
			return 0;
	}
	return -1;
}

/* Send the input's records; returns when the input is used up. */
static void send_stream(struct fin *in, int sock)
{
	while (in->n) {
		uint8_t spec = fin_u8(in);
		if (in->n < sizeof(struct vu_hdr)) {
			fuzz_send(sock, in->p, in->n, NULL, 0);
			return;
		}
		struct vu_hdr h;
		memcpy(&h, in->p, sizeof(h));
		size_t len = h.msg_size;
		bool whole = len >= sizeof(h) && len <= in->n;
		if (!whole)
			len = in->n;
		int fds[MAX_FDS];
		unsigned n = spec & 7;
		if (n == 7)
			n = MAX_FDS;
		n = fuzz_make_fds((enum fuzz_fd_kind)((spec >> 3) & 3), n,
				  fuzz_memfd_sizes[(spec >> 5) & 3], fds);
		/* Eventfds arrive signalled: an INTx unmask fd fires. */
		for (unsigned i = 0; i < n; i++) {
			struct stat st;
			if (fstat(fds[i], &st) == 0 && !S_ISREG(st.st_mode) &&
			    !S_ISSOCK(st.st_mode) &&
			    write(fds[i], &(uint64_t){ 1 }, 8) < 0) {
				/* a full counter: fine */
			}
		}
		int r = fuzz_send(sock, in->p, len, fds, n);
		fuzz_close_fds(fds, n);
		in->p += len;
		in->n -= len;
		if (r < 0 || !whole)
			return;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!g_dev)
		LLVMFuzzerInitialize(NULL, NULL);
	if (!size)
		return 0;
	fuzz_fd_init();
	struct fin in = { data, size };
	uint8_t cfg = fin_u8(&in);
	struct uvfio_server_opts o = {
		.max_data_xfer_size = cfg & 0x10 ? 4096 : 65536,
		.max_msg_fds = cfg & 0x20 ? 1 : 16,
		.no_write_multiple = cfg & 0x40,
		/* A safety net only: with the stream closed nothing waits,
		 * except for room in a small send buffer (bit 7). */
		.reply_timeout_ms = cfg & 0x80 ? 1 : 50,
	};
	struct uvfio_server *srv = uvfio_server_new(g_dev, &o);
	if (!srv)
		fuzz_die("server: uvfio_server_new failed");
	int sv[2];
	if (fuzz_socketpair(sv) < 0)
		fuzz_die("server: socketpair failed");
	if (cfg & 0x80) {
		int small = 4096;
		setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	}
	if (uvfio_server_adopt_fd(srv, sv[1]) < 0)
		fuzz_die("server: adopt failed");

	if (negotiate(srv, sv[0], cfg) == 0)
		send_stream(&in, sv[0]);
	shutdown(sv[0], SHUT_WR);
	int rounds = 0;
	while (uvfio_server_has_client(srv)) {
		if (++rounds > MAX_ROUNDS)
			fuzz_die("server: still serving a closed stream after "
				 "%d dispatches", MAX_ROUNDS);
		uvfio_server_dispatch(srv);
		fuzz_drain(sv[0]);
	}
	fuzz_drain(sv[0]);
	close(sv[0]);
	uvfio_server_free(srv);

	if (uvfio_dev_dma_count(g_dev))
		fuzz_die("server: %u DMA windows left after the client went",
			 uvfio_dev_dma_count(g_dev));
	/* Timers the client started would fire in the next iteration. */
	g_dev->ntimers = 0;
	dev_reset(g_dev);
	fuzz_fd_check("server");
	return 0;
}
