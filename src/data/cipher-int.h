/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The byte ranges of a LUKS data segment a ciphertext capture takes
 * (cipher.c; private to the data layer and its unit tests). */
#ifndef LIFEBOAT_DATA_CIPHER_INT_H
#define LIFEBOAT_DATA_CIPHER_INT_H

#include <stddef.h>
#include <stdint.h>

#include "data/datafile.h"

struct lb_cipher_ranges {
	struct lb_extent *v;
	size_t n, cap;
	uint64_t limit;		/* the data segment's bytes */
};

/* Adds [off, off + len), cut at the limit; -ERANGE when it starts past it.
 * (ud: a struct lb_cipher_ranges; the used-block walkers' callback) */
int lb_cipher_ranges_add(void *ud, uint64_t off, uint64_t len);
/* In order, each rounded out to whole encryption sectors of sz bytes (the
 * unit dm-crypt encrypts: a part of one cannot be written alone) and cut
 * at the limit, those that touch or overlap made one. */
void lb_cipher_ranges_settle(struct lb_cipher_ranges *rs, uint32_t sz);

#endif
