// SPDX-License-Identifier: GPL-3.0-or-later
/* libFuzzer: the data file reader on a data file given as bytes (a memfd):
 * the header, the framing check restore makes before any write with the
 * checksum pass of verify after it, the full read of every chunk, and an
 * image's restore onto a 16 MiB "device" (a memfd), which must not grow:
 * nothing may be written past the end the restore was given. (The data's
 * XXH3 covers neither the extents nor the framing: a seed's chunks, their
 * extents changed, still reach the device.)
 * An encrypted file (header version 2) is read as the manifest would name
 * it, with the seeds' key (fuzz_key): the chunks decrypted and
 * authenticated, the end tag checked; the same file read without the key is
 * refused before any chunk. (The framing is not encrypted: the fuzzer still
 * reaches every check of it; a changed ciphertext byte fails its tag.)
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
	static struct lb_key key;
	struct lb_artifact a = { .file = "fuzz.data", .size = size, .sha256 = ZERO_SUM };
	int fd = fuzz_memfd(data, size);
	uint32_t kind = 0;
	uint64_t vol = 0;

	fuzz_key(&key);
	/* version 2: encrypted, and so recorded */
	if (size >= 12 && data[8] == 2 && !data[9] && !data[10] && !data[11]) {
		a.encrypted = true;
		a.rt_key = &key;
	}

	lb_data_read_header(fd, "fuzz.data", &kind, &vol);
	lb_data_raw_total(fd);
	lb_data_check_sum(fd, "fuzz.data", &a);
	lb_data_verify_file(fd, "fuzz.data", &a, NULL);
	if (kind == LB_CONTAINER_IMAGE) {
		int dev = fuzz_memfd(NULL, 0);
		struct stat st;

		if (ftruncate(dev, DEV_SIZE) < 0)
			abort();
		lb_image_restore(fd, "fuzz.data", a.encrypted ? &a : NULL, dev, DEV_SIZE, NULL, NULL);
		if (fstat(dev, &st) < 0 || st.st_size != DEV_SIZE) {
			fprintf(stderr, "the image restore wrote past the device's end\n");
			abort();
		}
		close(dev);
	}
	close(fd);
	return 0;
}
