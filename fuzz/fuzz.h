/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What the libFuzzer harnesses share: the fuzzed bytes as a file. */
#ifndef LIFEBOAT_FUZZ_H
#define LIFEBOAT_FUZZ_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/base.h"

/* The bytes in an anonymous file (memfd), its offset at 0; aborts when the
 * machine cannot make one (nothing to fuzz then). */
static inline int fuzz_memfd(const uint8_t *data, size_t size)
{
	int fd = memfd_create("lifeboat-fuzz", MFD_CLOEXEC);
	size_t done = 0;

	if (fd < 0)
		abort();
	while (done < size) {
		ssize_t n = write(fd, data + done, size - done);

		if (n <= 0)
			abort();
		done += (size_t)n;
	}
	if (lseek(fd, 0, SEEK_SET) != 0)
		abort();
	return fd;
}

/* The key of the encrypted seeds (fuzz/decode.c --encrypted-seeds makes
 * them): fixed bytes, no KDF; their name in the capture is "fuzz.data". */
static inline void fuzz_key(struct lb_key *k)
{
	memset(k, 0, sizeof(*k));
	for (int i = 0; i < LB_KEY_LEN; i++)
		k->master[i] = (uint8_t)(0xa5 ^ i);
}

#endif
