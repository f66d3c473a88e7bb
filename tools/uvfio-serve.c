/* SPDX-License-Identifier: BSD-3-Clause */
/* uvfio-serve: serve one of uvfio's built-in device models over vfio-user. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <uvfio/device.h>
#include "devices/models.h"

static const struct uvfio_model *const models[] = {
	&uvfio_model_edu,
	&uvfio_model_testdev,
	&uvfio_model_capdev,
	&uvfio_model_sriov,
};

static struct uvfio_server *g_srv;
static bool g_verbose;

static void on_signal(int sig)
{
	(void)sig;
	if (g_srv)
		uvfio_server_stop(g_srv);
}

static void log_stderr(void *opaque, int prio, const char *msg)
{
	(void)opaque;
	static const char *const names[] = { "emerg", "alert", "crit", "error",
					     "warning", "notice", "info", "debug" };
	fprintf(stderr, "uvfio-serve: %s: %s\n",
		prio >= 0 && prio <= 7 ? names[prio] : "?", msg);
}

static void usage(FILE *f)
{
	fprintf(f,
"Usage: uvfio-serve MODEL [OPTIONS]\n"
"Serve a built-in PCI device model over vfio-user until SIGTERM/SIGINT.\n"
"\n"
"Options:\n"
"  --socket-path=PATH        listen on the UNIX socket PATH (default:\n"
"                            $XDG_RUNTIME_DIR/uvfio/MODEL.sock, else\n"
"                            /run/uvfio/MODEL.sock)\n"
"  --fd=N                    serve on inherited fd N (listening or connected)\n"
"  --max-data-xfer-size=N    most bytes in one read/write message (default 1 MiB,\n"
"                            at most 64 MiB)\n"
"  --max-msg-fds=N           most fds accepted in one message (default 16)\n"
"  --max-dma-maps=N          most DMA windows at once (default 65535)\n"
"  --no-twin-socket          refuse twin-socket mode\n"
"  --no-write-multiple       refuse REGION_WRITE_MULTI (not announced)\n"
"  -v, --verbose             log every message received and sent: requests\n"
"                            and their replies, the server's DMA requests\n"
"                            and the client's replies to them\n"
"  -l, --list                list the models and exit\n"
"  -h, --help                show this help and exit\n"
"\n"
"Models:\n");
	for (size_t i = 0; i < sizeof(models) / sizeof(models[0]); i++)
		fprintf(f, "  %-10s %s\n", models[i]->name, models[i]->description);
}

static int parse_u32(const char *s, const char *what, uint32_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s || *end || v > UINT32_MAX) {
		fprintf(stderr, "uvfio-serve: invalid %s: '%s'\n", what, s);
		return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

static char *default_socket_path(const char *model)
{
	const char *base = getenv("XDG_RUNTIME_DIR");
	char dir[PATH_MAX];
	if (base && *base)
		snprintf(dir, sizeof(dir), "%s/uvfio", base);
	else
		snprintf(dir, sizeof(dir), "/run/uvfio");
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "uvfio-serve: cannot create %s: %s\n", dir,
			strerror(errno));
		return NULL;
	}
	char *p;
	if (asprintf(&p, "%s/%s.sock", dir, model) < 0)
		return NULL;
	return p;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket-path", required_argument, NULL, 's' },
		{ "fd", required_argument, NULL, 'f' },
		{ "max-data-xfer-size", required_argument, NULL, 'x' },
		{ "max-msg-fds", required_argument, NULL, 'm' },
		{ "max-dma-maps", required_argument, NULL, 'd' },
		{ "no-twin-socket", no_argument, NULL, 't' },
		{ "no-write-multiple", no_argument, NULL, 'w' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "list", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct uvfio_server_opts so = { .log = log_stderr, .log_level = LOG_NOTICE };
	const char *path = NULL;
	int fd = -1;
	uint32_t v;
	int c;
	opterr = 0;   /* one line of our own instead */
	while ((c = getopt_long(argc, argv, "vlh", opts, NULL)) != -1) {
		switch (c) {
		case 's': path = optarg; break;
		case 'f':
			if (parse_u32(optarg, "--fd", &v) < 0 || v > INT_MAX)
				return 2;
			fd = (int)v;
			break;
		case 'x':
			if (parse_u32(optarg, "--max-data-xfer-size", &v) < 0)
				return 2;
			if (v == 0 || v > UVFIO_LIMIT_MAX_DATA_XFER) {
				fprintf(stderr, "uvfio-serve: --max-data-xfer-size "
					"must be 1..%u\n", UVFIO_LIMIT_MAX_DATA_XFER);
				return 2;
			}
			so.max_data_xfer_size = v;
			break;
		case 'm':
			if (parse_u32(optarg, "--max-msg-fds", &v) < 0)
				return 2;
			if (v == 0 || v > UVFIO_LIMIT_MAX_MSG_FDS) {
				fprintf(stderr, "uvfio-serve: --max-msg-fds must be 1..%u\n",
					UVFIO_LIMIT_MAX_MSG_FDS);
				return 2;
			}
			so.max_msg_fds = v;
			break;
		case 'd':
			if (parse_u32(optarg, "--max-dma-maps", &v) < 0)
				return 2;
			if (v == 0 || v > UVFIO_LIMIT_MAX_DMA_MAPS) {
				fprintf(stderr, "uvfio-serve: --max-dma-maps must be 1..%u\n",
					UVFIO_LIMIT_MAX_DMA_MAPS);
				return 2;
			}
			so.max_dma_maps = v;
			break;
		case 't': so.no_twin_socket = true; break;
		case 'w': so.no_write_multiple = true; break;
		case 'v': g_verbose = true; break;
		case 'l':
			for (size_t i = 0; i < sizeof(models) / sizeof(models[0]); i++)
				printf("%s\n", models[i]->name);
			return 0;
		case 'h': usage(stdout); return 0;
		default: {
			const char *arg = argv[optind - 1];
			if (!strncmp(arg, "--", 2))
				fprintf(stderr, "uvfio-serve: unknown option or missing "
					"argument: %s (try --help)\n", arg);
			else
				fprintf(stderr, "uvfio-serve: unknown option or missing "
					"argument: -%c (try --help)\n", optopt);
			return 2;
		}
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "uvfio-serve: expected exactly one MODEL "
			"(try --help)\n");
		return 2;
	}
	const char *name = argv[optind];
	const struct uvfio_model *model = NULL;
	for (size_t i = 0; i < sizeof(models) / sizeof(models[0]); i++)
		if (!strcmp(models[i]->name, name))
			model = models[i];
	if (!model) {
		fprintf(stderr, "uvfio-serve: unknown model '%s' (try --list)\n", name);
		return 2;
	}
	if (path && fd >= 0) {
		fprintf(stderr, "uvfio-serve: --socket-path and --fd exclude each other\n");
		return 2;
	}
	so.log_level = g_verbose ? LOG_DEBUG : LOG_NOTICE;

	/*
	 * SIGTERM and SIGINT wait, blocked, until the server runs: one that
	 * arrives while the socket is being set up then stops the server
	 * right away, which removes the socket, instead of killing the
	 * process and leaving the socket behind.
	 */
	sigset_t stop_sigs, old_mask;
	sigemptyset(&stop_sigs);
	sigaddset(&stop_sigs, SIGTERM);
	sigaddset(&stop_sigs, SIGINT);
	sigprocmask(SIG_BLOCK, &stop_sigs, &old_mask);
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	void *state = NULL;
	struct uvfio_dev *dev = model->create(&state);
	if (!dev) {
		fprintf(stderr, "uvfio-serve: cannot create the %s device\n", name);
		return 1;
	}
	g_srv = uvfio_server_new(dev, &so);
	if (!g_srv) {
		fprintf(stderr, "uvfio-serve: cannot create the server\n");
		model->destroy(state);
		return 1;
	}
	char *owned = NULL;
	int r;
	if (fd >= 0) {
		r = uvfio_server_adopt_fd(g_srv, fd);
	} else {
		if (!path)
			path = owned = default_socket_path(name);
		r = path ? uvfio_server_listen(g_srv, path) : -ENOMEM;
	}
	if (r < 0) {
		fprintf(stderr, "uvfio-serve: cannot serve on %s: %s\n",
			fd >= 0 ? "the given fd" : path, strerror(-r));
		uvfio_server_free(g_srv);
		model->destroy(state);
		free(owned);
		return 1;
	}
	/* One fd per DMA map in flight and per eventfd: allow the most the
	 * hard limit permits. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (fd < 0)
		fprintf(stderr, "uvfio-serve: %s listening on %s\n", name, path);

	/* A stop signal that came meanwhile is handled here. */
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	r = uvfio_server_run(g_srv);
	uvfio_server_free(g_srv);   /* removes the socket */
	g_srv = NULL;
	model->destroy(state);
	free(owned);
	if (r < 0) {
		fprintf(stderr, "uvfio-serve: %s\n", strerror(-r));
		return 1;
	}
	return 0;
}
