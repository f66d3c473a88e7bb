/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: the client library against a hostile server.  A fake
 * server thread answers each request of a driver's session
 * (fuzz_session.c: open, info for every region and IRQ, reads, writes,
 * mmap, DMA through messages, interrupts, reset) with the next record
 * of the input, at once, and closes the connection when the input is
 * used up: nothing waits for a timeout.
 *
 * Input: u8 config (fuzz_session_opts), then records
 *   u8 ctl:  bits 0-1  0 reply: header made here (the request's id and
 *                        command), the payload is its body
 *                      1 error reply, errno = the payload's first u32
 *                      2 raw: the payload is a whole message, header too
 *                      3 a request of the server's: DMA_READ (bit 2 clear)
 *                        or DMA_WRITE, NO_REPLY with bit 6, the payload
 *                        its body
 *            bits 3-5  fds attached: none, memfd 4 KiB, memfd 64 KiB,
 *                      memfd 128 MiB, a socket, an eventfd, 2 memfds,
 *                      17 memfds
 *   u16 payload length, the payload.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "fuzz_session.h"
#include "wire/wire.h"

#define FAKE_WAIT_MS 5000
#define MAX_FDS 17

struct fake {
	int sock;
	struct fin in;
	struct vu_rx rx;
	bool have_req;
	struct vu_hdr req;       /* the request awaiting our answer */
	uint16_t next_id;        /* ids of our own requests */
};

static unsigned attach(uint8_t ctl, int *fds)
{
	static const struct { enum fuzz_fd_kind kind; unsigned n; size_t size; }
	spec[8] = {
		{ FUZZ_FD_MEMFD, 0, 0 },
		{ FUZZ_FD_MEMFD, 1, 4096 },
		{ FUZZ_FD_MEMFD, 1, 64 << 10 },
		{ FUZZ_FD_MEMFD, 1, 128 << 20 },
		{ FUZZ_FD_SOCKET, 1, 0 },
		{ FUZZ_FD_EVENTFD, 1, 0 },
		{ FUZZ_FD_MEMFD, 2, 64 << 10 },
		{ FUZZ_FD_MEMFD, MAX_FDS, 4096 },
	};
	unsigned k = (ctl >> 3) & 7;
	return fuzz_make_fds(spec[k].kind, spec[k].n, spec[k].size, fds);
}

/* Read the client's messages until a request that wants an answer. */
static int next_request(struct fake *f)
{
	const struct vu_limits lim = { .max_msg_size = 64u << 20,
				       .max_fds = 64 };
	while (!f->have_req) {
		vu_rx_release(&f->rx);
		int r = vu_recv(&f->rx, f->sock, &lim, FAKE_WAIT_MS);
		if (r == -ETIMEDOUT)
			fuzz_die("client: no request for %d ms (hang?)",
				 FAKE_WAIT_MS);
		if (r < 0)
			return r;
		const struct vu_hdr *h = &f->rx.hdr;
		if ((h->flags & VU_F_TYPE_MASK) == VU_F_TYPE_COMMAND &&
		    !(h->flags & VU_F_NO_REPLY)) {
			f->req = *h;
			f->have_req = true;
		}
	}
	return 0;
}

static void *fake_server(void *arg)
{
	struct fake *f = arg;
	while (f->in.n) {
		uint8_t ctl = fin_u8(&f->in);
		size_t len = fin_u16(&f->in);
		if (len > f->in.n)
			len = f->in.n;
		const uint8_t *p = f->in.p;
		f->in.p += len;
		f->in.n -= len;

		unsigned mode = ctl & 3;
		struct vu_hdr h = { 0 };
		bool framed = true;
		if (mode == 3) {
			h.msg_id = f->next_id++;
			h.command = ctl & 4 ? VU_CMD_DMA_WRITE : VU_CMD_DMA_READ;
			h.flags = VU_F_TYPE_COMMAND | (ctl & 0x40 ? VU_F_NO_REPLY : 0);
		} else if (mode == 2) {
			if (len >= sizeof(h))
				memcpy(&h, p, sizeof(h));
			framed = len >= sizeof(h) && h.msg_size == len;
		} else {
			if (next_request(f) < 0)
				break;
			h.msg_id = f->req.msg_id;
			h.command = f->req.command;
			h.flags = VU_F_TYPE_REPLY;
			if (mode == 1) {
				uint32_t e = 0;
				memcpy(&e, p, len < 4 ? len : 4);
				h.flags |= VU_F_ERROR;
				h.error = e;
				len = 0;
			}
		}
		/* A raw reply answers the request only if it says it is one. */
		if (mode < 2 || (mode == 2 && (h.flags & VU_F_TYPE_MASK) ==
						 VU_F_TYPE_REPLY))
			f->have_req = false;

		int fds[MAX_FDS];
		unsigned nfds = attach(ctl, fds);
		int r;
		if (mode == 2) {
			r = fuzz_send(f->sock, p, len, fds, nfds);
		} else {
			struct iovec iov = { (void *)p, len };
			r = vu_send(f->sock, &h, &iov, 1, fds, nfds, FAKE_WAIT_MS);
		}
		fuzz_close_fds(fds, nfds);
		if (r < 0 || !framed)
			break;
	}
	/* Out of input: the server goes away. */
	shutdown(f->sock, SHUT_RDWR);
	return NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_fd_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	fuzz_fd_init();
	struct fake f = { .in = { data, size } };
	uint8_t cfg = fin_u8(&f.in);
	int sv[2];
	if (fuzz_socketpair(sv) < 0)
		fuzz_die("client: socketpair failed");
	f.sock = sv[1];
	vu_rx_init(&f.rx);
	pthread_t t;
	if (pthread_create(&t, NULL, fake_server, &f))
		fuzz_die("client: cannot start the fake server");
	fuzz_session_run(sv[0], cfg);   /* consumes sv[0] */
	pthread_join(t, NULL);
	vu_rx_fini(&f.rx);
	close(sv[1]);
	fuzz_fd_check("client");
	return 0;
}
