// SPDX-License-Identifier: GPL-3.0-or-later
/* libFuzzer: the data file reader on a data file given as bytes (a memfd):
 * the header, the framing check restore makes before any write with the
 * checksum pass of verify after it, the full read of every chunk, and an
 * image's restore onto a 16 MiB "device" (a memfd), which must not grow:
 * nothing may be written past the end the restore was given. (The data's
 * XXH3 covers neither the extents nor the framing: a seed's chunks, their
 * extents changed, still reach the device.)
 * (Slow, a few inputs a second: each reader sets up its pipeline's
 * buffers, tens of MiB, for a file of any size.) */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "model/model.h"
#include "data/data.h"
#include "data/datafile.h"
#include "fuzz/fuzz.h"

#define DEV_SIZE (16u << 20)

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
	if (kind == LB_CONTAINER_IMAGE) {
		int dev = fuzz_memfd(NULL, 0);
		struct stat st;

		if (ftruncate(dev, DEV_SIZE) < 0)
			abort();
		lb_image_restore(fd, "fuzz.data", NULL, dev, DEV_SIZE, NULL, NULL);
		if (fstat(dev, &st) < 0 || st.st_size != DEV_SIZE) {
			fprintf(stderr, "the image restore wrote past the device's end\n");
			abort();
		}
		close(dev);
	}
	close(fd);
	return 0;
}
