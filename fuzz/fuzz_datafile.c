// SPDX-License-Identifier: GPL-3.0-or-later
/* libFuzzer: the data file reader on a data file given as bytes (a memfd):
 * the header, the framing check restore makes before any write with the
 * checksum pass of verify after it, and the full read of every chunk.
 * (Slow, a few inputs a second: each reader sets up its pipeline's
 * buffers, tens of MiB, for a file of any size.) */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/base.h"
#include "model/model.h"
#include "data/data.h"
#include "fuzz/fuzz.h"

/* the SHA-256 of nothing: what a manifest could say, never what it is */
static char ZERO_SUM[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lb_artifact a = { .file = "fuzz.data", .size = size, .sha256 = ZERO_SUM };
	int fd = fuzz_memfd(data, size);
	uint32_t kind = 0;
	uint64_t vol = 0;

	lb_data_read_header(fd, "fuzz.data", &kind, &vol);
	lb_data_raw_total(fd);
	lb_data_check_sum(fd, "fuzz.data", &a);
	lb_data_verify_file(fd, "fuzz.data", &a, NULL);
	close(fd);
	return 0;
}
