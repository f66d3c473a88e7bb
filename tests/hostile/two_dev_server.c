/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * two-dev-server PATH_A PATH_B [REPLY_TIMEOUT_MS]: one process serving two
 * testdev devices, each with its own uvfio_server, from one thread and
 * one epoll loop (each server's fd nested in it) — how a VMM-side
 * process serves several devices.  The limits test floods device A and
 * measures round trips on device B.  Exits cleanly on SIGTERM.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <syslog.h>
#include <unistd.h>

#include <uvfio/device.h>
#include "devices/models.h"

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	stop = 1;
}

static void log_stderr(void *opaque, int prio, const char *msg)
{
	fprintf(stderr, "two-dev-server %s: %s\n", (const char *)opaque, msg);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s PATH_A PATH_B [REPLY_TIMEOUT_MS]\n",
			argv[0]);
		return 2;
	}
	struct uvfio_server_opts o = {
		.log = log_stderr, .log_level = LOG_NOTICE,
		.reply_timeout_ms = argc > 3 ? atoi(argv[3]) : 0,
	};
	static const char *const names[2] = { "A", "B" };
	void *state[2];
	struct uvfio_dev *dev[2];
	struct uvfio_server *srv[2];
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		return 1;
	for (int i = 0; i < 2; i++) {
		dev[i] = uvfio_model_testdev.create(&state[i]);
		o.log_opaque = (void *)names[i];
		srv[i] = dev[i] ? uvfio_server_new(dev[i], &o) : NULL;
		if (!srv[i] || uvfio_server_listen(srv[i], argv[1 + i]) < 0) {
			fprintf(stderr, "two-dev-server: cannot serve %s\n",
				argv[1 + i]);
			return 1;
		}
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
		if (epoll_ctl(ep, EPOLL_CTL_ADD, uvfio_server_get_fd(srv[i]), &ev) < 0)
			return 1;
	}
	struct sigaction sa = { .sa_handler = on_term };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	int rc = 0;
	while (!stop) {
		struct epoll_event ev[2];
		int n = epoll_wait(ep, ev, 2, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = 1;
			break;
		}
		for (int i = 0; i < n; i++) {
			if (uvfio_server_dispatch(srv[ev[i].data.u32]) < 0) {
				rc = 1;
				stop = 1;
			}
		}
	}
	for (int i = 0; i < 2; i++) {
		uvfio_server_free(srv[i]);
		uvfio_model_testdev.destroy(state[i]);
	}
	close(ep);
	return rc;
}
