// SPDX-License-Identifier: GPL-3.0-or-later
/* lifeboat verify CAPTURE: the manifest against its schema, every artifact
 * against its size and SHA-256. Touches no disk. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "model/model.h"
#include "manifest/manifest.h"
#include "ops/ops.h"
#include "cmd/cmd.h"

static void help(FILE *f)
{
	fputs("Usage: lifeboat verify [--key-file FILE]... CAPTURE\n\n"
	      "Check a capture without touching any disk: the manifest against the\n"
	      "schema, every artifact against its recorded size and SHA-256, and every\n"
	      "data file chunk by chunk. An encrypted capture is checked as far as it\n"
	      "can be without its key (framing, sizes, the SHA-256 of what is stored);\n"
	      "with a key file that opens it, every artifact and chunk is decrypted and\n"
	      "authenticated too.\n"
	      "Exit status 0 when all is intact, 1 when an artifact is missing or\n"
	      "damaged (or no key file given opens an encrypted capture), 2 when the\n"
	      "manifest cannot be read.\n\n"
	      "Options:\n"
	      "  -k, --key-file FILE   a key file to try on an encrypted capture\n"
	      "                        (repeatable)\n"
	      "  -h, --help            show this help\n",
	      f);
}

static void show(void *ud, const char *what, const struct lb_artifact *a, int r, const char *msg,
		 const char *method, uint64_t bytes)
{
	(void)ud;
	if (r < 0)
		printf("FAILED %s (%s): %s\n", what, a->file, lb_esc(msg));
	else if (a->encrypted && !a->rt_key)
		printf("ok     %s (%s, encrypted: its SHA-256, without the key)\n", what, a->file);
	else if (method)
		printf("ok     %s (%s, %s, %" PRIu64 " bytes of data)\n", what, a->file, method, bytes);
	else
		printf("ok     %s (%s)\n", what, a->file);
}

int cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key-file", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct lb_manifest *m = NULL;
	char **keys = NULL;
	size_t n_keys = 0;
	unsigned ok = 0, bad = 0, key_bad = 0;
	int c, r, code = LB_EXIT_USAGE;

	while ((c = getopt_long(argc, argv, "k:h", opts, NULL)) != -1) {
		if (c == 'k') {
			keys = lb_realloc_array(keys, n_keys + 1, sizeof(*keys));
			keys[n_keys++] = optarg;
			continue;
		}
		if (c == 'h') {
			help(stdout);
			code = LB_EXIT_OK;
		} else {
			help(stderr);
		}
		goto out;
	}
	if (optind + 1 != argc) {
		fputs("lifeboat verify: expects one CAPTURE\n", stderr);
		goto out;
	}
	r = lb_manifest_load(argv[optind], &m);
	if (r >= 0)
		r = lb_manifest_unlock(m, keys, n_keys);
	if (r < 0) {
		lb_warn("%s", lb_errmsg());
		goto out;
	}
	printf("ok     manifest (%s)\n", argv[optind]);
	if (m->encryption && !m->rt_key && n_keys) {
		printf("FAILED key: none of the %zu key files opens this encrypted capture (wrong "
		       "key)\n", n_keys);
		key_bad = 1;
	} else if (m->encryption) {
		printf("%s key: %s\n", m->rt_key ? "ok    " : "note  ",
		       m->rt_key ? "a key file opens the encrypted capture"
				 : "encrypted capture, no --key-file: checked without decrypting");
	}
	lb_capture_verify(m, show, NULL, &ok, &bad);
	printf("%u artifacts intact, %u damaged or missing\n", ok, bad);
	code = bad || key_bad ? LB_EXIT_FAIL : LB_EXIT_OK;
out:
	lb_manifest_free(m);
	free(keys);
	return code;
}
