// SPDX-License-Identifier: GPL-3.0-or-later
/* libFuzzer: the manifest loader (XML, schema, fields, the semantic check),
 * and for a manifest it takes, show (text and JSON) and the writer, whose
 * output must load again. */
#include <stdio.h>
#include <stdlib.h>

#include "base/base.h"
#include "model/model.h"
#include "manifest/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lb_manifest *m = NULL, *again = NULL;
	_cleanup_free_ char *out = NULL;
	size_t out_len = 0;
	FILE *null;

	if (lb_manifest_load_mem((const char *)data, size, "fuzz.xml", &m) < 0)
		return 0;
	null = fopen("/dev/null", "w");
	if (null) {
		lb_show_text(m, null);
		lb_show_json(m, null);
		fclose(null);
	}
	if (lb_manifest_write_mem(m, &out, &out_len) >= 0 &&
	    lb_manifest_load_mem(out, out_len, "rewritten.xml", &again) < 0) {
		/* a manifest taken once and written again must be taken again */
		fprintf(stderr, "the rewritten manifest is refused: %s\n", lb_errmsg());
		abort();
	}
	lb_manifest_free(again);
	lb_manifest_free(m);
	return 0;
}
