// SPDX-License-Identifier: GPL-3.0-or-later
/* Unit tests for an encrypted data file's framing (datafile-crypt.c) and
 * sealed artifacts (base/crypt.c): a round trip holds no plaintext; without
 * the key, with another key or under another name nothing is read; a chunk
 * moved to another place, taken from another file, or dropped from the end
 * with the framing made consistent again (what an attacker who can edit
 * the capture does) is refused; so is a flipped byte in the header. The
 * KDF runs with tiny parameters here: its cost is not what is tested. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"
#include "model/model.h"
#include "data/data.h"
#include "data/datafile-int.h"

#define N_CHUNKS 4
#define DATA_LEN (N_CHUNKS * (size_t)LB_CHUNK_SIZE)

static struct lb_key key_a, key_b;
static uint8_t *data;

static int setup(void **state)
{
	struct lb_kdf kdf = { .time = 1, .memory = 64, .lanes = 1 };

	(void)state;
	memset(kdf.salt, 0x5a, sizeof(kdf.salt));
	assert_int_equal(lb_key_derive("secret a", 8, &kdf, &key_a), 0);
	assert_int_equal(lb_key_derive("secret b", 8, &kdf, &key_b), 0);
	data = malloc(DATA_LEN);
	assert_non_null(data);
	/* every chunk different, and findable in a file */
	for (size_t i = 0; i < DATA_LEN; i++)
		data[i] = (uint8_t)(i * 13 + i / 4093);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(data);
	return 0;
}

/* The pattern written as a stream, encrypted with k for the file name. */
static int write_file(const struct lb_key *k, const char *name, int level, uint64_t *ret_size)
{
	char path[] = "/tmp/lifeboat-unit-XXXXXX", sum[65];
	int fd = mkstemp(path);
	struct lb_dw *w = NULL;

	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(lb_dw_open_key(fd, LB_CONTAINER_STREAM, 0, 0, level, k, name, &w), 0);
	assert_int_equal(lb_dw_write(w, data, DATA_LEN), 0);
	assert_int_equal(lb_dw_close(w, sum, ret_size), 0);
	return fd;
}

/* Reads fd as the artifact name with key k: 0 when it reads whole and is
 * the pattern, else the error. */
static int read_file(int fd, const struct lb_key *k, const char *name)
{
	struct lb_artifact a = { .file = (char *)name, .encrypted = true, .rt_key = k };
	struct lb_dr *r = NULL;
	struct lb_chunk ch;
	uint64_t got = 0;
	int e;

	e = lb_dr_open_artifact(fd, "unit", &a, &r);
	if (e < 0)
		return e;
	while ((e = lb_dr_next(r, &ch)) > 0) {
		assert_true(got + ch.len <= DATA_LEN);
		assert_memory_equal(ch.data, data + got, ch.len);
		got += ch.len;
	}
	lb_dr_close(r);
	if (e == 0)
		assert_int_equal(got, DATA_LEN);
	return e;
}

static uint8_t *slurp(int fd, uint64_t size)
{
	uint8_t *buf = malloc(size);

	assert_non_null(buf);
	assert_int_equal(lb_pread_all(fd, buf, size, 0), 0);
	return buf;
}

/* A new file holding buf. */
static int file_of(const uint8_t *buf, uint64_t size)
{
	char path[] = "/tmp/lifeboat-unit-XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(lb_pwrite_all(fd, buf, size, 0), 0);
	return fd;
}

/* Level 0: every chunk is stored the same size, so chunks can be moved
 * without touching the offsets. The layout of a stream: */
#define CHUNK_STORED (DF_CHUNK_HDR + LB_CHUNK_SIZE + LB_TAG_LEN)
#define CHUNK_AT(i) (DF_HEADER_SIZE + (uint64_t)(i) * CHUNK_STORED)
#define INDEX_AT CHUNK_AT(N_CHUNKS)
#define ENTRY_AT(i) (INDEX_AT + DF_INDEX_HDR + (uint64_t)(i) * DF_INDEX_ENTRY)

static void test_round_trip(void **state)
{
	uint64_t size;

	(void)state;
	alarm(120);
	for (int level = 0; level <= 1; level++) {
		int fd = write_file(&key_a, "vol.data", level, &size);
		uint8_t *buf = slurp(fd, size);

		assert_int_equal(read_file(fd, &key_a, "vol.data"), 0);
		/* no 64 bytes of any chunk's plaintext in the file */
		for (int i = 0; i < N_CHUNKS; i++)
			assert_null(memmem(buf, size, data + (size_t)i * LB_CHUNK_SIZE + 1000, 64));
		/* and what verify does without the key passes */
		struct lb_artifact a = { .file = "vol.data", .encrypted = true, .size = size };
		char sum[65];

		assert_int_equal(lb_sha256_fd(fd, 0, size, sum), 0);
		a.sha256 = sum;
		assert_int_equal(lb_data_check_sum(fd, "unit", &a), 0);
		free(buf);
		close(fd);
	}
	alarm(0);
}

static void test_key_needed(void **state)
{
	uint64_t size;
	int fd = write_file(&key_a, "vol.data", 1, &size);
	struct lb_dr *r = NULL;
	struct lb_chunk ch;

	(void)state;
	/* no key at all */
	assert_int_equal(lb_dr_open(fd, "unit", &r), 0);
	assert_true(lb_dr_encrypted(r));
	assert_int_equal(lb_dr_next(r, &ch), -ENOKEY);
	lb_dr_close(r);
	/* another key, another name: the first chunk fails its tag */
	assert_int_equal(read_file(fd, &key_b, "vol.data"), -EBADMSG);
	assert_non_null(strstr(lb_errmsg(), "tampered"));
	assert_int_equal(read_file(fd, &key_a, "other.data"), -EBADMSG);
	close(fd);
}

/* Chunks 1 and 2 swapped, their sequence numbers and index entries made
 * to fit their new places: the framing checks pass, the tags do not. */
static void test_reordered(void **state)
{
	uint64_t size;
	int fd = write_file(&key_a, "vol.data", 0, &size), fd2;
	uint8_t *buf = slurp(fd, size), *tmp = malloc(CHUNK_STORED), e1[8], e2[8];

	(void)state;
	assert_int_equal(size, INDEX_AT + DF_INDEX_HDR + N_CHUNKS * DF_INDEX_ENTRY + LB_TAG_LEN +
				       DF_TRAILER_SIZE);
	memcpy(tmp, buf + CHUNK_AT(1), CHUNK_STORED);
	memcpy(buf + CHUNK_AT(1), buf + CHUNK_AT(2), CHUNK_STORED);
	memcpy(buf + CHUNK_AT(2), tmp, CHUNK_STORED);
	lb_put_le64(buf + CHUNK_AT(1) + 8, 1);
	lb_put_le64(buf + CHUNK_AT(2) + 8, 2);
	/* the index's XXH3s go with their chunks */
	memcpy(e1, buf + ENTRY_AT(1) + 24, 8);
	memcpy(e2, buf + ENTRY_AT(2) + 24, 8);
	memcpy(buf + ENTRY_AT(1) + 24, e2, 8);
	memcpy(buf + ENTRY_AT(2) + 24, e1, 8);
	fd2 = file_of(buf, size);
	assert_int_equal(lb_data_check_framing(fd2, "unit", NULL), 0);
	assert_int_equal(read_file(fd2, &key_a, "vol.data"), -EBADMSG);
	assert_non_null(strstr(lb_errmsg(), "fails its authentication"));
	free(tmp);
	free(buf);
	close(fd);
	close(fd2);
}

/* Chunk 1 of another file (same key, another name) in place of chunk 1. */
static void test_swapped_between_files(void **state)
{
	uint64_t size, size_b;
	int fd = write_file(&key_a, "vol.data", 0, &size);
	int fd_b = write_file(&key_a, "other.data", 0, &size_b), fd2;
	uint8_t *buf = slurp(fd, size), *other = slurp(fd_b, size_b);

	(void)state;
	assert_int_equal(size, size_b);
	memcpy(buf + CHUNK_AT(1), other + CHUNK_AT(1), CHUNK_STORED);
	memcpy(buf + ENTRY_AT(1) + 24, other + ENTRY_AT(1) + 24, 8);
	fd2 = file_of(buf, size);
	assert_int_equal(lb_data_check_framing(fd2, "unit", NULL), 0);
	assert_int_equal(read_file(fd2, &key_a, "vol.data"), -EBADMSG);
	assert_non_null(strstr(lb_errmsg(), "chunk 1"));
	free(buf);
	free(other);
	close(fd);
	close(fd_b);
	close(fd2);
}

/* The last chunk dropped, the index and trailer written again for the
 * chunks left: sound framing, but the end tag says otherwise. */
static void test_truncated(void **state)
{
	uint64_t size, n = N_CHUNKS - 1, index_off = CHUNK_AT(n), total = n * LB_CHUNK_SIZE;
	int fd = write_file(&key_a, "vol.data", 0, &size), fd2;
	uint8_t *buf = slurp(fd, size), *out = malloc(size), *p;

	(void)state;
	memcpy(out, buf, index_off);
	p = out + index_off;
	memcpy(p, "LBIX", 4);
	lb_put_le64(p + 4, n);
	p += DF_INDEX_HDR;
	memcpy(p, buf + ENTRY_AT(0), n * DF_INDEX_ENTRY);
	p += n * DF_INDEX_ENTRY;
	/* the old end tag: no other can be made without the key */
	memcpy(p, buf + ENTRY_AT(N_CHUNKS), LB_TAG_LEN);
	p += LB_TAG_LEN;
	lb_df_trailer_encode(p, index_off, n, total);
	p += DF_TRAILER_SIZE;
	fd2 = file_of(out, (uint64_t)(p - out));
	assert_int_equal(lb_data_check_framing(fd2, "unit", NULL), 0);
	assert_int_equal(read_file(fd2, &key_a, "vol.data"), -EBADMSG);
	assert_non_null(strstr(lb_errmsg(), "cut short"));
	free(buf);
	free(out);
	close(fd);
	close(fd2);
}

/* A byte of the header (its random bytes, the volume kind's neighbour,
 * the compression), a byte of a chunk's ciphertext, of its tag. */
static void test_flipped_bytes(void **state)
{
	static const uint64_t at[] = { DF_HDR_RAND + 3, 16, CHUNK_AT(2) + DF_CHUNK_HDR + 5,
				       CHUNK_AT(3) - 1 };
	uint64_t size;
	int fd = write_file(&key_a, "vol.data", 0, &size);
	uint8_t *buf = slurp(fd, size);

	(void)state;
	for (size_t i = 0; i < LB_ARRAY_SIZE(at); i++) {
		int fd2;

		buf[at[i]] ^= 0x01;
		fd2 = file_of(buf, size);
		assert_true(read_file(fd2, &key_a, "vol.data") < 0);
		close(fd2);
		buf[at[i]] ^= 0x01;
	}
	free(buf);
	close(fd);
}

static void test_sealed_artifact(void **state)
{
	static const char text[] = "root:$6$secret-hash:19000:0:99999:7:::\n";
	uint8_t *sealed = NULL, *opened = NULL;
	size_t n = 0, m = 0;

	(void)state;
	assert_int_equal(lb_seal_buf(&key_a, "disk0.boot", text, sizeof(text), &sealed, &n), 0);
	assert_int_equal(n, LB_SEAL_HDR + sizeof(text) + LB_TAG_LEN);
	assert_null(memmem(sealed, n, "secret-hash", 11));
	assert_int_equal(lb_unseal_buf(&key_a, "disk0.boot", sealed, n, &opened, &m), 0);
	assert_int_equal(m, sizeof(text));
	assert_memory_equal(opened, text, m);
	free(opened);
	/* another key, another name, a flipped byte anywhere, cut short */
	assert_int_equal(lb_unseal_buf(&key_b, "disk0.boot", sealed, n, &opened, &m), -EBADMSG);
	assert_int_equal(lb_unseal_buf(&key_a, "disk1.boot", sealed, n, &opened, &m), -EBADMSG);
	for (size_t i = 0; i < n; i++) {
		sealed[i] ^= 0x80;
		assert_int_equal(lb_unseal_buf(&key_a, "disk0.boot", sealed, n, &opened, &m), -EBADMSG);
		sealed[i] ^= 0x80;
	}
	assert_int_equal(lb_unseal_buf(&key_a, "disk0.boot", sealed, n - 1, &opened, &m), -EBADMSG);
	assert_non_null(strstr(lb_errmsg(), "disk0.boot"));
	free(sealed);
}

static void test_key_check(void **state)
{
	struct lb_kdf kdf = { .time = 1, .memory = 64, .lanes = 1 };
	struct lb_key k;

	(void)state;
	memset(kdf.salt, 0x5a, sizeof(kdf.salt));
	assert_int_equal(lb_key_derive("secret a", 8, &kdf, &k), 0);
	assert_string_equal(k.check, key_a.check);
	assert_memory_equal(k.master, key_a.master, LB_KEY_LEN);
	assert_string_not_equal(key_a.check, key_b.check);
	/* another salt, another key */
	kdf.salt[0] ^= 1;
	assert_int_equal(lb_key_derive("secret a", 8, &kdf, &k), 0);
	assert_string_not_equal(k.check, key_a.check);
	/* parameters out of range are refused, not run */
	kdf.memory = 1u << 30;
	assert_int_equal(lb_key_derive("secret a", 8, &kdf, &k), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_key_needed),
		cmocka_unit_test(test_reordered),
		cmocka_unit_test(test_swapped_between_files),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_flipped_bytes),
		cmocka_unit_test(test_sealed_artifact),
		cmocka_unit_test(test_key_check),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
