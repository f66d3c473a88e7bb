/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * uvfio-conform: check that the vfio-user server at a socket follows the
 * protocol.  Assumes nothing about the device behind it.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "tools/conform/conform.h"

static void usage(FILE *f)
{
	fprintf(f,
"Usage: uvfio-conform [OPTIONS] PATH\n"
"Check that the vfio-user server listening on the UNIX socket PATH follows\n"
"the vfio-user protocol.  Each check prints one line:\n"
"  PASS|FAIL|SKIP  CHECK-ID  DESCRIPTION  [spec: SECTION]  -- REASON\n"
"then a summary.  Exit status: 0 no check failed, 1 some check failed,\n"
"2 usage error or PATH is no reachable socket.\n"
"\n"
"Options:\n"
"  --timeout=MS       give up on a reply after MS milliseconds (default 5000)\n"
"  --allow-writes     also write device registers outside config space\n"
"                     (config-space writes are always restored)\n"
"  --json             print the results as one JSON document\n"
"  -v, --verbose      show every message exchanged (on stderr)\n"
"  -l, --list         list the checks and exit\n"
"  -h, --help         show this help and exit\n");
}

static const struct cf_check *const tables[] = {
	cf_checks_version, cf_checks_info, cf_checks_config,
	cf_checks_errors, cf_checks_dma, cf_checks_misc,
};

static const char *result_name(enum cf_result r)
{
	return r == CF_PASS ? "PASS" : r == CF_FAIL ? "FAIL" : "SKIP";
}

static void run_one(struct cf_ctx *ctx, const struct cf_check *ck)
{
	struct cf_res r = { { 0 } };
	enum cf_result res = ck->run(ctx, &r);

	if (res == CF_PASS)
		ctx->passed++;
	else if (res == CF_FAIL)
		ctx->failed++;
	else
		ctx->skipped++;
	if (ctx->verbose)
		fprintf(stderr, "== %s %s\n", result_name(res), ck->id);
	if (ctx->json) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_string(ck->id));
		json_object_object_add(o, "result",
				       json_object_new_string(result_name(res)));
		json_object_object_add(o, "description",
				       json_object_new_string(ck->desc));
		json_object_object_add(o, "spec", json_object_new_string(ck->spec));
		if (r.reason[0])
			json_object_object_add(o, "reason",
					       json_object_new_string(r.reason));
		json_object_array_add(ctx->jresults, o);
		return;
	}
	printf("%s  %s  %s  [spec: %s]", result_name(res), ck->id, ck->desc,
	       ck->spec);
	if (r.reason[0] && res != CF_PASS)
		printf("  -- %s", r.reason);
	else if (r.reason[0])
		printf("  (%s)", r.reason);
	putchar('\n');
	fflush(stdout);
}

/* A clear one-line error when PATH cannot be a vfio-user server. */
static int check_path(struct cf_ctx *ctx, const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		fprintf(stderr, "uvfio-conform: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		fprintf(stderr, "uvfio-conform: %s: not a UNIX socket\n", path);
		return -1;
	}
	int e = cf_connect(ctx, &ctx->first);
	if (e < 0) {
		fprintf(stderr, "uvfio-conform: %s: %s\n", path, strerror(-e));
		return -1;
	}
	ctx->have_first = true;
	return 0;
}

static int parse_ms(const char *s, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > 3600000)
		return -1;
	*out = (int)v;
	return 0;
}

int main(int argc, char **argv)
{
	enum { OPT_TIMEOUT = 256, OPT_JSON, OPT_WRITES };
	static const struct option opts[] = {
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "allow-writes", no_argument, NULL, OPT_WRITES },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "verbose", no_argument, NULL, 'v' },
		{ "list", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct cf_ctx ctx;
	bool list = false;
	int o;

	ctx.timeout_ms = 5000;
	ctx.c.sock = -1;
	while ((o = getopt_long(argc, argv, "vlh", opts, NULL)) != -1) {
		switch (o) {
		case OPT_TIMEOUT:
			if (parse_ms(optarg, &ctx.timeout_ms) < 0) {
				fprintf(stderr, "uvfio-conform: invalid timeout: "
					"'%s'\n", optarg);
				return 2;
			}
			break;
		case OPT_WRITES:
			ctx.allow_writes = true;
			break;
		case OPT_JSON:
			ctx.json = true;
			break;
		case 'v':
			ctx.verbose = true;
			break;
		case 'l':
			list = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (list) {
		for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
			for (const struct cf_check *ck = tables[t]; ck->id; ck++)
				printf("%-24s %s  [spec: %s]\n", ck->id, ck->desc,
				       ck->spec);
		return 0;
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	ctx.path = argv[optind];
	/* A server that closes on us must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	if (check_path(&ctx, ctx.path) < 0)
		return 2;

	if (ctx.json)
		ctx.jresults = json_object_new_array();
	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
		for (const struct cf_check *ck = tables[t]; ck->id; ck++)
			run_one(&ctx, ck);
	cf_session_drop(&ctx);
	if (ctx.have_first)
		cf_close(&ctx.first);

	if (ctx.json) {
		struct json_object *doc = json_object_new_object();
		json_object_object_add(doc, "socket",
				       json_object_new_string(ctx.path));
		json_object_object_add(doc, "checks", ctx.jresults);
		struct json_object *sum = json_object_new_object();
		json_object_object_add(sum, "passed",
				       json_object_new_int((int)ctx.passed));
		json_object_object_add(sum, "failed",
				       json_object_new_int((int)ctx.failed));
		json_object_object_add(sum, "skipped",
				       json_object_new_int((int)ctx.skipped));
		json_object_object_add(doc, "summary", sum);
		puts(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY |
						    JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(doc);
	} else {
		printf("uvfio-conform: %u passed, %u failed, %u skipped\n",
		       ctx.passed, ctx.failed, ctx.skipped);
	}
	return ctx.failed ? 1 : 0;
}
