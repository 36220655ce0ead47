// SPDX-License-Identifier: GPL-3.0-or-later
/* Unit tests for archive data without a device: a small tree captured
 * (archive-capture.c, through the walk with read-ahead, walk.c, and the
 * data file writer), compared with itself (nothing differs), then changed
 * and compared again (archive-compare.c): what differs comes back to the
 * caller, in archive order, the first LB_DIFFS_NAMED of them named, and
 * nothing is printed. An excluded directory stays out of the archive.
 * The inode flags' record (archive-flags.c): letters both ways, refused
 * when not letters, unknown letters set aside. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>
#include <archive.h>
#include <archive_entry.h>

#include "base/base.h"
#include "model/model.h"
#include "data/data.h"
#include "data/datafile.h"
#include "data/archive-int.h"

#include <linux/fs.h>

static char dir[64], tree[80], data[80];

static void put(const char *rel, const char *text)
{
	_cleanup_free_ char *p = lb_asprintf("%s/%s", tree, rel);

	assert_int_equal(lb_write_file(p, text, strlen(text), 0644), 0);
}

static int setup(void **state)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp";
	_cleanup_free_ char *sub = NULL, *skip = NULL, *lnk = NULL, *hard = NULL, *a = NULL;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/lb-ar-XXXXXX", tmp);
	if (!mkdtemp(dir))
		return -1;
	snprintf(tree, sizeof(tree), "%s/tree", dir);
	snprintf(data, sizeof(data), "%s/vol.data", dir);
	sub = lb_asprintf("%s/sub", tree);
	skip = lb_asprintf("%s/skip", tree);
	if (mkdir(tree, 0755) < 0 || mkdir(sub, 0755) < 0 || mkdir(skip, 0755) < 0)
		return -1;
	for (int i = 0; i < 12; i++) {
		char name[32], text[32];

		snprintf(name, sizeof(name), "sub/f%02d", i);
		snprintf(text, sizeof(text), "file %d\n", i);
		put(name, text);
	}
	put("a", "the first file\n");
	put("skip/x", "left out\n");
	a = lb_asprintf("%s/a", tree);
	lnk = lb_asprintf("%s/l", tree);
	hard = lb_asprintf("%s/h", tree);
	if (symlink("a", lnk) < 0 || link(a, hard) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return lb_rm_rf(dir) < 0 ? -1 : 0;
}

static void capture(void)
{
	_cleanup_free_ char *skip = lb_asprintf("%s/skip", tree);
	char *excl[] = { skip };
	char sum[65];
	uint64_t size = 0;
	int fd = open(data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(lb_archive_capture(tree, excl, 1, fd, 1, NULL, NULL, NULL, NULL, sum, &size), 0);
	close(fd);
	assert_true(size > 0);
	assert_int_equal(strlen(sum), 64);
}

static int compare(struct lb_archive_diffs *d)
{
	int fd = open(data, O_RDONLY | O_CLOEXEC), r;

	assert_true(fd >= 0);
	r = lb_archive_compare(fd, "vol", NULL, tree, d);
	close(fd);
	return r;
}

static void test_same_tree(void **state)
{
	struct lb_archive_diffs d;

	(void)state;
	capture();
	assert_int_equal(compare(&d), 0);
	assert_int_equal(d.n, 0);
	lb_archive_diffs_clear(&d);
}

/* Walk order is readdir order: what differs is looked up by path, not by
 * its place in the list. */
static const char *what_of(const struct lb_archive_diffs *d, const char *rel)
{
	_cleanup_free_ char *p = lb_asprintf("%s/./%s", tree, rel);

	for (unsigned i = 0; i < d->n && i < LB_DIFFS_NAMED; i++)
		if (strcmp(d->named[i].path, p) == 0)
			return d->named[i].what;
	return NULL;
}

static void test_changes_returned(void **state)
{
	_cleanup_free_ char *b = lb_asprintf("%s/sub/f00", tree);
	_cleanup_free_ char *l = lb_asprintf("%s/l", tree);
	struct lb_archive_diffs d;

	(void)state;
	capture();
	assert_int_equal(chmod(b, 0600), 0);
	assert_int_equal(unlink(l), 0);
	assert_int_equal(compare(&d), 0);
	assert_int_equal(d.n, 2);
	assert_non_null(what_of(&d, "sub/f00"));
	assert_string_equal(what_of(&d, "sub/f00"), "mode");
	assert_non_null(what_of(&d, "l"));
	assert_string_equal(what_of(&d, "l"), "existence");
	lb_archive_diffs_clear(&d);
	assert_int_equal(d.n, 0);

	/* more than LB_DIFFS_NAMED: all counted, the first named */
	for (int i = 0; i < 12; i++) {
		_cleanup_free_ char *f = lb_asprintf("%s/sub/f%02d", tree, i);

		assert_int_equal(unlink(f), 0);
	}
	assert_int_equal(compare(&d), 0);
	assert_int_equal(d.n, 13);
	for (unsigned i = 0; i < LB_DIFFS_NAMED; i++) {
		assert_non_null(d.named[i].path);
		assert_string_equal(d.named[i].what, "existence");
	}
	lb_archive_diffs_clear(&d);
}

/* The walk: stopped after one entry (its threads cancelled, what they had
 * queued freed: ASan's leak check sees it), and a root that is no
 * directory failing after nothing. */
static void test_walk_stop_and_fail(void **state)
{
	_cleanup_free_ char *a = lb_asprintf("%s/a", tree);
	struct lb_walk *w = NULL;
	struct lb_walk_entry we;

	(void)state;
	assert_int_equal(lb_walk_start(tree, NULL, 0, &w), 0);
	assert_int_equal(lb_walk_next(w, &we), 1);
	assert_string_equal(we.rel, "./");
	lb_walk_free(w);

	assert_int_equal(lb_walk_start(a, NULL, 0, &w), 0);
	assert_int_equal(lb_walk_next(w, &we), -ENOTDIR);
	assert_non_null(strstr(lb_errmsg(), "not a directory"));
	assert_int_equal(lb_walk_next(w, &we), -ENOTDIR);
	lb_walk_free(w);
}

static void test_flags_record(void **state)
{
	uint32_t bits;
	char text[32], unknown[16];

	(void)state;
	/* (immutable and append-only last: set one at a time, nothing else
	 * can be set after them) */
	assert_int_equal(lb_ar_flags_text(FS_IMMUTABLE_FL | FS_NOCOW_FL | FS_APPEND_FL |
					  FS_NODUMP_FL, text, sizeof(text)), 4);
	assert_string_equal(text, "Cdai");
	assert_int_equal(lb_ar_flags_parse(text, strlen(text), &bits, unknown, sizeof(unknown)), 0);
	assert_int_equal(bits, FS_IMMUTABLE_FL | FS_NOCOW_FL | FS_APPEND_FL | FS_NODUMP_FL);
	assert_string_equal(unknown, "");
	/* not carried: extents, project inherit (with the project ID) */
	assert_int_equal(lb_ar_flags_carried() & (FS_EXTENT_FL | FS_PROJINHERIT_FL), 0);
	assert_int_equal(lb_ar_flags_text(FS_EXTENT_FL, text, sizeof(text)), 0);
	assert_string_equal(text, "");
	/* a newer lifeboat's letter: set aside, the rest kept */
	assert_int_equal(lb_ar_flags_parse("dQ", 2, &bits, unknown, sizeof(unknown)), 0);
	assert_int_equal(bits, FS_NODUMP_FL);
	assert_string_equal(unknown, "Q");
	/* anything but letters: not a record lifeboat writes */
	assert_int_equal(lb_ar_flags_parse("i;x", 3, &bits, unknown, sizeof(unknown)), -EBADMSG);
	assert_int_equal(lb_ar_flags_parse("i\0", 2, &bits, unknown, sizeof(unknown)), -EBADMSG);
	/* (a buffer too small is cut, NUL-terminated) */
	assert_int_equal(lb_ar_flags_text(FS_IMMUTABLE_FL | FS_NOCOW_FL, text, 2), 1);
	assert_string_equal(text, "C");
}

/* A pax stream with "a", a file of TEXT (or a node of TYPE), then "b": a clone of the entry
 * CLONE names, of SIZE bytes and no data (a hole-only sparse map, as
 * capture writes a clone), as data file dir/clone.data: its fd, described
 * in *a (sum its SHA-256's room). */
static int write_clone_of(mode_t type, const char *text, const char *clone, int64_t size,
			  struct lb_artifact *a, char sum[65])
{
	struct archive *w = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	static const char zeros[4096];
	size_t cap = 1u << 16, used = 0;
	_cleanup_free_ char *buf = lb_zalloc(cap), *file = lb_asprintf("%s/clone.data", dir);
	struct lb_dw *dw = NULL;
	int fd;

	archive_write_set_format_pax(w);
	assert_int_equal(archive_write_open_memory(w, buf, cap, &used), ARCHIVE_OK);
	archive_entry_set_pathname(e, "./a");
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, 0644);
	if (type == AE_IFREG)
		archive_entry_set_size(e, (int64_t)strlen(text));
	else
		archive_entry_set_rdev(e, makedev(1, 3));	/* /dev/null's */
	assert_int_equal(archive_write_header(w, e), ARCHIVE_OK);
	if (type == AE_IFREG)
		assert_int_equal(archive_write_data(w, text, strlen(text)), (ssize_t)strlen(text));
	archive_entry_clear(e);
	archive_entry_set_pathname(e, "./b");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0600);
	archive_entry_set_size(e, size);
	archive_entry_sparse_add_entry(e, 0, 0);
	archive_entry_xattr_add_entry(e, CLONE_XATTR, clone, strlen(clone));
	assert_int_equal(archive_write_header(w, e), ARCHIVE_OK);
	assert_true(archive_write_data(w, zeros, (size_t)size) >= 0);
	assert_int_equal(archive_write_close(w), ARCHIVE_OK);
	archive_write_free(w);
	archive_entry_free(e);

	*a = (struct lb_artifact){ .file = "clone.data", .sha256 = sum };
	fd = open(file, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(lb_dw_open(fd, LB_CONTAINER_STREAM, 0, 0, 0, &dw), 0);
	assert_int_equal(lb_dw_write(dw, buf, used), 0);
	assert_int_equal(lb_dw_close(dw, sum, &a->size), 0);
	return fd;
}

/* The same with "a" a regular file. */
static int write_clone(const char *text, const char *clone, int64_t size, struct lb_artifact *a,
		       char sum[65])
{
	return write_clone_of(AE_IFREG, text, clone, size, a, sum);
}

/* write_clone's stream extracted into a directory of its own: the
 * extraction's result; the directory in ret_dir. */
static int extract_clone(const char *text, const char *clone, int64_t size, char **ret_dir)
{
	char sum[65];
	struct lb_artifact a;
	int fd = write_clone(text, clone, size, &a, sum), r;

	*ret_dir = lb_asprintf("%s/x%d", dir, (int)random());
	assert_int_equal(mkdir(*ret_dir, 0755), 0);
	r = lb_archive_extract(fd, "clone", &a, *ret_dir, NULL, NULL);
	close(fd);
	return r;
}

/* A clone's bytes come from the entry it names (copied where they cannot
 * be shared, as here on a filesystem without reflinks, or shared); a
 * record naming something outside the tree, a link, a file of another
 * size, or itself is refused with the entry named. */
static void test_clone_records(void **state)
{
	const char *text = "the same bytes\n";
	_cleanup_free_ char *out = NULL, *b = NULL, *got = NULL;
	struct {
		const char *clone;
		int64_t size;
	} bad[] = {
		{ "../a", 15 }, { "/a", 15 }, { "./b", 15 }, { "./nothere", 15 }, { "./a", 5 },
		{ "", 15 },
	};

	(void)state;
	assert_int_equal(extract_clone(text, "./a", 15, &out), 0);
	b = lb_asprintf("%s/b", out);
	assert_true(lb_read_file(b, &got, 64) >= 0);
	assert_string_equal(got, text);
	for (size_t i = 0; i < LB_ARRAY_SIZE(bad); i++) {
		_cleanup_free_ char *o = NULL;

		assert_true(extract_clone(text, bad[i].clone, bad[i].size, &o) < 0);
		assert_non_null(strstr(lb_errmsg(), "clone"));
	}
}

/* A clone of a sparse file copied where it cannot be shared (this
 * filesystem has no reflinks) copies the data, not the holes: a small
 * archive cannot make the restore write the whole size of its sparse
 * files once more. */
static void test_clone_sparse_copied(void **state)
{
	const int64_t size = 256ll << 20;
	struct archive *w = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	_cleanup_free_ char *zeros = lb_zalloc(1u << 20), *buf = lb_zalloc(1u << 16);
	_cleanup_free_ char *file = lb_asprintf("%s/sparse.data", dir), *out = NULL, *b = NULL;
	size_t used = 0;
	char sum[65], tail[4];
	struct lb_artifact a = { .file = "sparse.data", .sha256 = sum };
	struct lb_dw *dw = NULL;
	struct stat st;
	int fd, bfd;

	(void)state;
	archive_write_set_format_pax(w);
	assert_int_equal(archive_write_open_memory(w, buf, 1u << 16, &used), ARCHIVE_OK);
	for (int i = 0; i < 2; i++) {
		archive_entry_clear(e);
		archive_entry_set_pathname(e, i ? "./b" : "./a");
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_size(e, size);
		/* a: holes, then "tail" at its end; b: a clone of a, no data */
		archive_entry_sparse_add_entry(e, i ? 0 : size - 4, i ? 0 : 4);
		if (i)
			archive_entry_xattr_add_entry(e, CLONE_XATTR, "./a", 3);
		assert_int_equal(archive_write_header(w, e), ARCHIVE_OK);
		for (int64_t off = 0; off < size - 4; off += 1 << 20)
			assert_true(archive_write_data(w, zeros, (size_t)(size - 4 - off < (1 << 20)
									       ? size - 4 - off
									       : (1 << 20))) >= 0);
		assert_true(archive_write_data(w, i ? "\0\0\0\0" : "tail", 4) >= 0);
	}
	assert_int_equal(archive_write_close(w), ARCHIVE_OK);
	archive_write_free(w);
	archive_entry_free(e);
	fd = open(file, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(lb_dw_open(fd, LB_CONTAINER_STREAM, 0, 0, 0, &dw), 0);
	assert_int_equal(lb_dw_write(dw, buf, used), 0);
	assert_int_equal(lb_dw_close(dw, sum, &a.size), 0);
	out = lb_asprintf("%s/sparse", dir);
	assert_int_equal(mkdir(out, 0755), 0);
	assert_int_equal(lb_archive_extract(fd, "sparse", &a, out, NULL, NULL), 0);
	close(fd);
	b = lb_asprintf("%s/b", out);
	bfd = open(b, O_RDONLY | O_CLOEXEC);
	assert_true(bfd >= 0);
	assert_int_equal(fstat(bfd, &st), 0);
	assert_int_equal(st.st_size, size);
	assert_true((uint64_t)st.st_blocks * 512 < (1u << 20));
	assert_int_equal(pread(bfd, tail, 4, size - 4), 4);
	assert_memory_equal(tail, "tail", 4);
	close(bfd);
}

/* A drill of a clone restored as a copy (this filesystem shares no
 * extents: a copy's are its own) finds nothing different: its bytes are
 * compared, not its extents. */
static void test_clone_compared(void **state)
{
	const char *text = "the same bytes\n";
	_cleanup_free_ char *out = NULL;
	struct lb_archive_diffs d;
	struct lb_artifact a;
	char sum[65];
	int fd;

	(void)state;
	assert_int_equal(extract_clone(text, "./a", 15, &out), 0);
	fd = write_clone(text, "./a", 15, &a, sum);
	assert_int_equal(lb_archive_compare(fd, "clone", &a, out, &d), 0);
	close(fd);
	for (unsigned i = 0; i < d.n && i < LB_DIFFS_NAMED; i++)
		print_message("%s: %s\n", d.named[i].path, d.named[i].what);
	assert_int_equal(d.n, 0);
	lb_archive_diffs_clear(&d);
}

/* A drill looks for a clone's source inside the restored tree, as the
 * restore did (a restored link to an absolute path leads into the tree,
 * not out of it), and opens nothing but a regular file (a FIFO there
 * would block it). */
static void test_clone_compared_inside(void **state)
{
	const char *text = "the same bytes\n";
	_cleanup_free_ char *root = lb_asprintf("%s/drilled", dir), *outside = lb_asprintf("%s/outside", dir);
	_cleanup_free_ char *x = lb_asprintf("%s/x", outside), *l = lb_asprintf("%s/l", root);
	_cleanup_free_ char *b = lb_asprintf("%s/b", root), *ra = lb_asprintf("%s/a", root);
	_cleanup_free_ char *p = lb_asprintf("%s/p", root);
	const char *via[] = { "l/x", "p" };

	(void)state;
	assert_int_equal(mkdir(root, 0755), 0);
	assert_int_equal(mkdir(outside, 0755), 0);
	assert_int_equal(lb_write_file(x, text, strlen(text), 0644), 0);
	assert_int_equal(lb_write_file(b, text, strlen(text), 0600), 0);
	assert_int_equal(lb_write_file(ra, text, strlen(text), 0644), 0);
	assert_int_equal(symlink(outside, l), 0);
	assert_int_equal(mkfifo(p, 0644), 0);
	for (size_t i = 0; i < LB_ARRAY_SIZE(via); i++) {
		struct lb_archive_diffs d;
		struct lb_artifact a;
		char sum[65];
		bool found = false;
		int fd = write_clone(text, via[i], 15, &a, sum);

		assert_int_equal(lb_archive_compare(fd, "clone", &a, root, &d), 0);
		close(fd);
		for (unsigned k = 0; k < d.n && k < LB_DIFFS_NAMED; k++)
			found = found || (strcmp(d.named[k].what, "content (a clone)") == 0 &&
					  strstr(d.named[k].path, "/b"));
		assert_true(found);
		lb_archive_diffs_clear(&d);
	}
}

/* A restore opens no device node a clone record names (its open may do
 * something): refused unopened (no IN_OPEN on it). */
static void test_clone_node_unopened(void **state)
{
	_cleanup_free_ char *out = lb_asprintf("%s/node", dir);
	struct lb_artifact a;
	char sum[65], ev[4096] __attribute__((aligned(8)));
	bool opened = false;
	int fd, in, wd;
	ssize_t n;

	(void)state;
	if (geteuid() != 0)
		skip();
	fd = write_clone_of(AE_IFCHR, "", "./a", 15, &a, sum);
	assert_int_equal(mkdir(out, 0755), 0);
	in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	assert_true(in >= 0);
	wd = inotify_add_watch(in, out, IN_OPEN);
	assert_true(wd >= 0);
	assert_true(lb_archive_extract(fd, "clone", &a, out, NULL, NULL) < 0);
	assert_non_null(strstr(lb_errmsg(), "clone"));
	close(fd);
	while ((n = read(in, ev, sizeof(ev))) > 0)
		for (ssize_t at = 0; at < n;) {
			const struct inotify_event *ie = (const struct inotify_event *)(ev + at);

			opened = opened || (ie->len && strcmp(ie->name, "a") == 0);
			at += (ssize_t)(sizeof(*ie) + ie->len);
		}
	close(in);
	assert_false(opened);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_same_tree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changes_returned, setup, teardown),
		cmocka_unit_test_setup_teardown(test_walk_stop_and_fail, setup, teardown),
		cmocka_unit_test(test_flags_record),
		cmocka_unit_test_setup_teardown(test_clone_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clone_compared, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clone_sparse_copied, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clone_compared_inside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clone_node_unopened, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
