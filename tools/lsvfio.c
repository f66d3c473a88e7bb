/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lsvfio: list and decode VFIO devices, as lspci does for PCI devices.
 *
 * Devices come from "sources".  A source names the devices it knows (for
 * the listing without arguments), recognises the arguments that name one
 * of its devices, and opens a device into a struct uvfio_device; from
 * there on everything (lsvfio-probe.c, the printers) is the same whatever
 * the source.  Two sources: devices bound to the kernel's vfio-pci (PCI
 * addresses, "0000:01:00.0"; lsvfio-kernel.c) and vfio-user sockets.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>

#include "lsvfio.h"
#include "lsvfio-kernel.h"

#define OPEN_TIMEOUT_MS 3000
#define EXIT_USAGE      2

/* The first thing the library complained about, to say more than an errno. */
struct open_log {
	char msg[256];
};

static void log_keep(void *opaque, int prio, const char *msg)
{
	struct open_log *l = opaque;
	/* The first complaint is the cause; later ones are consequences. */
	if (prio <= LOG_WARNING && !l->msg[0])
		snprintf(l->msg, sizeof(l->msg), "%s", msg);
}

/* A growable list of device names. */
struct names {
	char **v;
	size_t n, cap;
};

static int names_add(struct names *l, char *name)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 8;
		char **v = realloc(l->v, cap * sizeof(*v));
		if (!v) {
			free(name);
			return -ENOMEM;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = name;
	return 0;
}

static void names_free(struct names *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

struct source {
	const char *name;
	/* Does @arg name one of this source's devices? */
	bool (*claims)(const char *arg);
	/*
	 * Open it; on failure print one line to stderr and return -errno.
	 * @log collects the library's complaints while the device is open:
	 * it must outlive the device.
	 */
	int (*open)(const char *arg, struct open_log *log,
		    struct uvfio_device **out);
	/* Add the devices this source can see; *@where says where it looked. */
	int (*enumerate)(struct names *out, char *where, size_t len);
	/*
	 * Or list them itself, without opening them (text to @f, or JSON
	 * objects appended to @json); returns how many, or -errno.
	 */
	int (*list)(FILE *f, json_object *json);
};

/* --vf-token: presented when opening, for the VFs of an SR-IOV PF. */
static bool g_token_set;
static uint8_t g_token[UVFIO_UUID_SIZE];

static void set_token(struct uvfio_open_opts *o)
{
	o->vf_token_set = g_token_set;
	memcpy(o->vf_token, g_token, sizeof(g_token));
}

/* ---- the kernel source (vfio-pci) ------------------------------------ */

static int kernel_open(const char *addr, struct open_log *l,
		       struct uvfio_device **out)
{
	struct uvfio_open_opts o = {
		.log = log_keep,
		.log_opaque = l,
		.log_level = LOG_WARNING,
		.no_dma_thread = true,
	};
	set_token(&o);
	const char *hint;
	int r = lsv_kernel_open(addr, &o, out, &hint);
	if (r < 0)
		fprintf(stderr, "lsvfio: %s: %s%s\n", addr, strerror(-r), hint);
	return r;
}

/* ---- the vfio-user source ------------------------------------------- */

static bool user_claims(const char *arg)
{
	(void)arg;
	return true;   /* any path: the fallback source */
}

static void open_error(const char *path, int err, const struct open_log *l)
{
	const char *detail = l->msg[0] ? l->msg : NULL;

	switch (err) {
	case -ETIMEDOUT:
		fprintf(stderr, "lsvfio: %s: no vfio-user answer within %d ms%s%s%s\n",
			path, OPEN_TIMEOUT_MS, detail ? " (" : "",
			detail ? detail : "", detail ? ")" : "");
		break;
	case -EPROTO:
	case -EPROTOTYPE:
	case -EMSGSIZE:
		fprintf(stderr, "lsvfio: %s: the peer does not speak vfio-user%s%s%s\n",
			path, detail ? " (" : "", detail ? detail : "",
			detail ? ")" : "");
		break;
	case -ECONNRESET:
	case -EPIPE:
		fprintf(stderr, "lsvfio: %s: the peer closed the connection "
			"(not a vfio-user server?)\n", path);
		break;
	case -EACCES:
		fprintf(stderr, "lsvfio: %s: %s (%s)\n", path, strerror(-err),
			g_token_set ? "not the VF token its PF's user set" :
			"an SR-IOV VF or PF in use by VFs: pass --vf-token=UUID");
		break;
	default:
		fprintf(stderr, "lsvfio: %s: %s\n", path, strerror(-err));
		break;
	}
}

static int user_open(const char *path, struct open_log *l,
		     struct uvfio_device **out)
{
	struct stat st;

	/* Say what is wrong with the path before trying to connect to it. */
	if (stat(path, &st) < 0) {
		int e = errno;
		fprintf(stderr, "lsvfio: %s: %s\n", path, strerror(e));
		return -e;
	}
	if (!S_ISSOCK(st.st_mode)) {
		fprintf(stderr, "lsvfio: %s is not a socket\n", path);
		return -ENOTSOCK;
	}
	struct uvfio_open_opts o = {
		.log = log_keep,
		.log_opaque = l,
		.log_level = LOG_WARNING,
		.timeout_ms = OPEN_TIMEOUT_MS,
		/* lsvfio maps no DMA memory: no thread, no second socket. */
		.no_dma_thread = true,
		.no_twin_socket = true,
	};
	set_token(&o);
	int r = uvfio_device_open(path, &o, out);
	if (r < 0)
		open_error(path, r, l);
	return r;
}

static bool is_sock_name(const char *name)
{
	size_t n = strlen(name);
	return n > strlen(".sock") && !strcmp(name + n - strlen(".sock"), ".sock");
}

static int sock_filter(const struct dirent *e)
{
	return e->d_name[0] != '.' && is_sock_name(e->d_name);
}

/* The directory uvfio-serve puts its sockets in, by the same rule. */
static void default_dir(char *buf, size_t len)
{
	const char *base = getenv("XDG_RUNTIME_DIR");
	if (base && *base)
		snprintf(buf, len, "%s/uvfio", base);
	else
		snprintf(buf, len, "/run/uvfio");
}

static int user_enumerate(struct names *out, char *where, size_t len)
{
	struct dirent **ents;

	default_dir(where, len);
	int n = scandir(where, &ents, sock_filter, alphasort);
	if (n < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
	int r = 0;
	for (int i = 0; i < n; i++) {
		char *p;
		if (!r && asprintf(&p, "%s/%s", where, ents[i]->d_name) < 0)
			r = -ENOMEM;
		else if (!r)
			r = names_add(out, p);
		free(ents[i]);
	}
	free(ents);
	return r;
}

static const struct source sources[] = {
	/* Sources that recognise their names go first; vfio-user is the fallback. */
	{ "vfio-pci", lsv_kernel_claims, kernel_open, NULL, lsv_kernel_list },
	{ "vfio-user", user_claims, user_open, user_enumerate, NULL },
};

/* ---- main ------------------------------------------------------------ */

enum mode { MODE_FULL, MODE_SUMMARY };

struct run {
	enum mode mode;
	bool json;
	struct lsv_print_opts popts;
	json_object *devices;
	unsigned shown;
};

/* Open, probe and print one device.  0 or -errno (already reported). */
static int show(struct run *run, const char *arg)
{
	const struct source *src = NULL;
	for (size_t i = 0; i < LSV_ARRAY_SIZE(sources) && !src; i++)
		if (sources[i].claims(arg))
			src = &sources[i];
	if (!src) {
		fprintf(stderr, "lsvfio: %s: not a VFIO device name\n", arg);
		return -EINVAL;
	}

	struct open_log log = { .msg = "" };
	struct uvfio_device *dev;
	int r = src->open(arg, &log, &dev);
	if (r < 0)
		return r;
	struct lsv_device d;
	r = lsv_probe(dev, arg, &d);
	uvfio_device_close(dev);
	if (!r)
		r = lsv_probe_sriov(&d, src == &sources[0]);
	if (r < 0) {
		fprintf(stderr, "lsvfio: %s: reading the device: %s\n", arg,
			strerror(-r));
		lsv_device_fini(&d);
		return r;
	}
	if (run->json) {
		json_object_array_add(run->devices, lsv_device_json(&d, &run->popts));
	} else if (run->mode == MODE_SUMMARY) {
		lsv_print_summary(stdout, &d);
	} else {
		if (run->shown)
			fputc('\n', stdout);
		lsv_print_device(stdout, &d, &run->popts);
	}
	run->shown++;
	lsv_device_fini(&d);
	return 0;
}

static int list_all(struct run *run)
{
	struct names all = { 0 };
	char where[PATH_MAX] = "";
	int status = 0, listed = 0;

	for (size_t i = 0; i < LSV_ARRAY_SIZE(sources); i++) {
		if (sources[i].list) {
			int n = sources[i].list(stdout, run->json ? run->devices : NULL);
			if (n < 0) {
				fprintf(stderr, "lsvfio: %s devices: %s\n",
					sources[i].name, strerror(-n));
				status = 1;
			} else {
				listed += n;
			}
			continue;
		}
		int r = sources[i].enumerate(&all, where, sizeof(where));
		if (r < 0) {
			fprintf(stderr, "lsvfio: %s: %s\n", where, strerror(-r));
			status = 1;
		}
	}
	if (!all.n && !listed && !status && !run->json)
		printf("no vfio-user devices in %s\n", where);
	for (size_t i = 0; i < all.n; i++)
		if (show(run, all.v[i]) < 0)
			status = 1;
	names_free(&all);
	return status;
}

static void usage(FILE *f)
{
	fprintf(f,
"Usage: lsvfio [OPTIONS] [PATH...]\n"
"List VFIO devices and decode what they report, as lspci -vv does.\n"
"\n"
"With PATH (a vfio-user socket, or the PCI address of a device bound to\n"
"vfio-pci, such as 0000:01:00.0), print everything about that device:\n"
"header, VFIO flags, regions, IRQ indexes and the decoded capability\n"
"chains.  (The kernel resets a vfio-pci device when it is opened.)\n"
"Without PATH, print one line per device bound to vfio-pci, with its\n"
"IOMMU group and whether a program has it open, and one line per\n"
"vfio-user socket (*.sock) in $XDG_RUNTIME_DIR/uvfio/ (else /run/uvfio/).\n"
"\n"
"Options:\n"
"  -v, --verbose   also dump the raw config space in hex (like lspci -xxx)\n"
"  -j, --json      print one JSON document instead of text\n"
"  --vf-token=UUID present this VF token when opening (SR-IOV VFs, and\n"
"                  PFs whose VFs are in use)\n"
"  -V, --version   print the version and exit\n"
"  -h, --help      show this help and exit\n"
"\n"
"Exit status: 0 success, 1 a device could not be read, 2 usage error.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "verbose", no_argument, NULL, 'v' },
		{ "json", no_argument, NULL, 'j' },
		{ "vf-token", required_argument, NULL, 'T' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct run run = { .mode = MODE_FULL };
	int c;

	/* getopt's own messages then name the tool, not its full path. */
	argv[0] = (char *)"lsvfio";

	while ((c = getopt_long(argc, argv, "vjVh", opts, NULL)) != -1) {
		switch (c) {
		case 'v': run.popts.hexdump = true; break;
		case 'j': run.json = true; break;
		case 'T':
			if (uvfio_uuid_parse(optarg, g_token) < 0) {
				fprintf(stderr, "lsvfio: --vf-token: '%s' is not a "
					"UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)\n",
					optarg);
				return EXIT_USAGE;
			}
			g_token_set = true;
			break;
		case 'V': printf("lsvfio %s\n", UVFIO_VERSION_STRING); return 0;
		case 'h': usage(stdout); return 0;
		default:
			fprintf(stderr, "Usage: lsvfio [OPTIONS] [PATH...]\n"
				"Try 'lsvfio --help' for more information.\n");
			return EXIT_USAGE;
		}
	}
	if (run.json)
		run.devices = json_object_new_array();

	int status = 0;
	if (optind == argc) {
		run.mode = MODE_SUMMARY;
		status = list_all(&run);
	} else {
		for (int i = optind; i < argc; i++)
			if (show(&run, argv[i]) < 0)
				status = 1;
	}
	if (run.json) {
		json_object *doc = json_object_new_object();
		json_object_object_add(doc, "devices", run.devices);
		puts(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY |
						    JSON_C_TO_STRING_SPACED |
						    JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(doc);
	}
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "lsvfio: writing the output: %s\n", strerror(errno));
		return 1;
	}
	return status;
}
