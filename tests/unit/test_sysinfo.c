// SPDX-License-Identifier: GPL-3.0-or-later
/* Unit tests for what this machine is using (sysinfo.c), read with libmount
 * from fake tables (LIFEBOAT_MOUNTINFO, LIFEBOAT_SWAPS): the mount source
 * past the " - " separator and the optional fields, octal escapes (spaces,
 * backslashes, a " - " inside a path), junk lines skipped, and a mount
 * matched to a block device by its source when its own device number is an
 * anonymous 0:N (btrfs, FUSE), the whole filesystem's mount before a
 * subvolume's, and the ZFS pools imported here (zfs mounts, the kstat
 * tree: LIFEBOAT_ZFS_KSTAT). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"
#include "system/system.h"

static char dir[] = "/tmp/lb-test-sysinfo.XXXXXX";

static char *write_file(const char *name, const char *text)
{
	char *p = lb_asprintf("%s/%s", dir, name);
	FILE *f = fopen(p, "we");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	return p;
}

/* A block device node in the test's directory: nothing is opened through
 * it, only its device number is read. false when not allowed (not root). */
static bool make_node(const char *name, unsigned maj, unsigned min)
{
	_cleanup_free_ char *p = lb_asprintf("%s/%s", dir, name);

	return mknod(p, S_IFBLK | 0600, makedev(maj, min)) == 0;
}

static struct lb_sysinfo *load(const char *mountinfo, const char *swaps)
{
	_cleanup_free_ char *mi = write_file("mountinfo", mountinfo);
	_cleanup_free_ char *sw = write_file("swaps", swaps);
	struct lb_sysinfo *si = NULL;

	setenv("LIFEBOAT_MOUNTINFO", mi, 1);
	setenv("LIFEBOAT_SWAPS", sw, 1);
	assert_int_equal(lb_sysinfo_load(&si), 0);
	return si;
}

static const struct lb_mount *by_target(const struct lb_sysinfo *si, const char *target)
{
	for (size_t i = 0; i < si->n_mounts; i++)
		if (strcmp(si->mounts[i].target, target) == 0)
			return &si->mounts[i];
	fail_msg("no mount on %s", target);
	return NULL;
}

static void test_mountinfo(void **state)
{
	(void)state;
	struct lb_sysinfo *si = load(
		"36 25 8:3 / / rw,relatime shared:1 - ext4 /dev/sda3 rw,errors=remount-ro\n"
		"this line is junk\n"
		"37 36 8:1 / /boot/efi rw,nosuid - vfat /dev/sda1 rw,fmask=0077\n"
		/* no optional field, several of them */
		"40 36 0:45 /@home /home rw,noatime - btrfs /dev/sdb2 rw,space_cache=v2\n"
		"41 36 0:46 / /srv rw shared:2 master:1 propagation_from:1 - tmpfs tmpfs rw\n"
		/* spaces, a backslash and " - " inside the target and the source */
		"42 36 0:47 / /mnt/my\\040disk\\040-\\040old ro - fuse.sshfs "
		"me@host:/a\\040-\\040b\\134c rw,user_id=0\n",
		"Filename\tType\tSize\tUsed\tPriority\n");
	const struct lb_mount *mt;

	assert_int_equal(si->n_mounts, 5);
	mt = by_target(si, "/");
	assert_int_equal(mt->major, 8);
	assert_int_equal(mt->minor, 3);
	assert_string_equal(mt->options, "rw,relatime");
	assert_string_equal(mt->source, "/dev/sda3");
	mt = by_target(si, "/home");
	assert_int_equal(mt->major, 0);
	assert_int_equal(mt->minor, 45);
	assert_string_equal(mt->options, "rw,noatime");
	assert_string_equal(mt->source, "/dev/sdb2");
	mt = by_target(si, "/srv");
	assert_string_equal(mt->source, "tmpfs");
	assert_int_equal(mt->n_devs, 0);
	mt = by_target(si, "/mnt/my disk - old");
	assert_string_equal(mt->options, "ro");
	assert_string_equal(mt->source, "me@host:/a - b\\c");
	assert_int_equal(mt->n_devs, 0);
	assert_ptr_equal(lb_sysinfo_find_mount(si, 8, 1), by_target(si, "/boot/efi"));
	assert_null(lb_sysinfo_find_mount(si, 8, 2));
	assert_int_equal(si->n_swaps, 0);
	lb_sysinfo_free(si);
}

/* A btrfs or FUSE mount shows 0:N: its block device is its source's. */
static void test_source_device(void **state)
{
	(void)state;
	_cleanup_free_ char *mi = NULL;
	struct lb_sysinfo *si;
	const struct lb_mount *mt;

	if (!make_node("blk\\x", 7, 200) || !make_node("other", 7, 201))
		skip();
	mi = lb_asprintf("36 25 8:3 / / rw - ext4 /dev/sda3 rw\n"
			 "50 36 0:77 / /mnt/ntfs rw - fuseblk %s/blk\\134x rw\n"
			 "51 36 0:77 / /mnt/ntfs\\040bind rw - fuseblk %s/blk\\134x rw\n"
			 "52 36 0:78 / /mnt/gone rw - ext4 %s/missing rw\n",
			 dir, dir, dir);
	si = load(mi, "Filename\tType\tSize\tUsed\tPriority\n");
	assert_int_equal(si->n_mounts, 4);
	/* by the device number alone, not found (the old lookup) */
	assert_null(lb_sysinfo_find_mount(si, 7, 200));
	mt = lb_sysinfo_find_mount_on(si, 7, 200);
	assert_non_null(mt);
	assert_string_equal(mt->target, "/mnt/ntfs");
	assert_int_equal(mt->n_devs, 1);
	assert_true(mt->devs[0] == makedev(7, 200));
	assert_null(lb_sysinfo_find_mount_on(si, 7, 201));
	assert_ptr_equal(lb_sysinfo_find_mount_on(si, 8, 3), by_target(si, "/"));
	/* a directory on the FUSE filesystem (st_dev 0:77) is on 7:200 */
	assert_true(lb_sysinfo_fs_on(si, makedev(0, 77), 7, 200));
	assert_false(lb_sysinfo_fs_on(si, makedev(0, 78), 7, 200));
	assert_false(lb_sysinfo_fs_on(si, makedev(0, 77), 7, 201));
	assert_true(lb_sysinfo_fs_on(si, makedev(8, 3), 8, 3));
	assert_false(lb_sysinfo_fs_on(si, makedev(8, 3), 7, 200));
	lb_sysinfo_free(si);
}

/* Of several mounts of one filesystem, the whole of it (root "/") is the
 * one to name, then the shortest mount point: a btrfs's subvolume at /home
 * is not where the filesystem's files all are. */
static void test_whole_first(void **state)
{
	(void)state;
	_cleanup_free_ char *mi = NULL;
	struct lb_sysinfo *si;
	const struct lb_mount *mt;

	if (!make_node("btr", 7, 220))
		skip();
	mi = lb_asprintf("36 25 8:3 / / rw - ext4 /dev/sda3 rw\n"
			 "60 36 0:90 /@home /home rw - btrfs %s/btr rw\n"
			 "61 36 0:90 / /mnt/the/whole/btrfs ro - btrfs %s/btr rw\n"
			 "62 36 0:90 /@home/me /h rw - btrfs %s/btr rw\n",
			 dir, dir, dir);
	si = load(mi, "Filename\tType\tSize\tUsed\tPriority\n");
	mt = lb_sysinfo_find_mount_on(si, 7, 220);
	assert_non_null(mt);
	assert_string_equal(mt->target, "/mnt/the/whole/btrfs");
	assert_string_equal(mt->root, "/");
	assert_string_equal(by_target(si, "/home")->root, "/@home");
	lb_sysinfo_free(si);

	/* no mount of the whole: the shortest */
	free(mi);
	mi = lb_asprintf("60 36 0:90 /@home /home rw - btrfs %s/btr rw\n"
			 "62 36 0:90 /@home/me /h rw - btrfs %s/btr rw\n",
			 dir, dir);
	si = load(mi, "Filename\tType\tSize\tUsed\tPriority\n");
	mt = lb_sysinfo_find_mount_on(si, 7, 220);
	assert_non_null(mt);
	assert_string_equal(mt->target, "/h");
	lb_sysinfo_free(si);
}

/* The ZFS pools imported here: each zfs mount's pool (its source up to the
 * first / or @) and each directory of the kstat tree (files there are the
 * module's statistics); none at all without either. */
static void test_zfs_pools(void **state)
{
	(void)state;
	_cleanup_free_ char *kstat = lb_asprintf("%s/kstat", dir), *pool = NULL, *arc = NULL;
	_cleanup_free_ char *gone = lb_asprintf("%s/no-kstat", dir);
	struct lb_sysinfo *si;
	static const char mi[] = "36 25 8:3 / / rw - ext4 /dev/sda3 rw\n"
				 "70 36 0:100 / /tank rw - zfs tank rw,xattr\n"
				 "71 36 0:101 / /tank/home rw - zfs tank/home rw,xattr\n"
				 "72 36 0:102 / /snap ro - zfs rpool/ROOT@daily ro\n"
				 "73 36 0:103 / /srv rw - tmpfs zfs-not-a-pool rw\n";

	assert_int_equal(mkdir(kstat, 0700), 0);
	pool = lb_asprintf("%s/kpool", kstat);
	assert_int_equal(mkdir(pool, 0700), 0);
	arc = write_file("kstat/arcstats", "13 1 0x01 1 1 1 1\n");

	setenv("LIFEBOAT_ZFS_KSTAT", kstat, 1);
	si = load(mi, "Filename\tType\tSize\tUsed\tPriority\n");
	assert_int_equal(si->n_zfs_pools, 3);
	assert_true(lb_sysinfo_zfs_imported(si, "tank"));
	assert_true(lb_sysinfo_zfs_imported(si, "rpool"));
	assert_true(lb_sysinfo_zfs_imported(si, "kpool"));
	assert_false(lb_sysinfo_zfs_imported(si, "arcstats"));
	assert_false(lb_sysinfo_zfs_imported(si, "tank/home"));
	assert_false(lb_sysinfo_zfs_imported(si, "zfs-not-a-pool"));
	assert_false(lb_sysinfo_zfs_imported(si, "tan"));
	assert_false(lb_sysinfo_zfs_imported(si, NULL));
	lb_sysinfo_free(si);

	/* no ZFS module, no zfs mount: no pool */
	setenv("LIFEBOAT_ZFS_KSTAT", gone, 1);
	si = load("36 25 8:3 / / rw - ext4 /dev/sda3 rw\n", "Filename\tType\tSize\tUsed\tPriority\n");
	assert_int_equal(si->n_zfs_pools, 0);
	assert_false(lb_sysinfo_zfs_imported(si, "tank"));
	lb_sysinfo_free(si);
	unsetenv("LIFEBOAT_ZFS_KSTAT");
}

static void test_swaps(void **state)
{
	(void)state;
	_cleanup_free_ char *sw = NULL, *file = NULL;
	struct lb_sysinfo *si;

	if (!make_node("swap\\ dev", 7, 210))
		skip();
	file = write_file("swapfile", "");
	sw = lb_asprintf("Filename\tType\tSize\tUsed\tPriority\n"
			 "%s/swap\\134\\040dev\tpartition\t65532\t0\t-2\n"
			 "%s/swapfile\tfile\t1024\t0\t-3\n"
			 "%s/missing\tpartition\t1024\t0\t-4\n",
			 dir, dir, dir);
	si = load("36 25 8:3 / / rw - ext4 /dev/sda3 rw\n", sw);
	assert_int_equal(si->n_swaps, 1);
	assert_true(lb_sysinfo_is_swap(si, 7, 210));
	assert_false(lb_sysinfo_is_swap(si, 8, 3));
	lb_sysinfo_free(si);
}

static void test_missing(void **state)
{
	(void)state;
	_cleanup_free_ char *mi = write_file("mountinfo", "36 25 8:3 / / rw - ext4 /dev/sda3 rw\n");
	_cleanup_free_ char *gone = lb_asprintf("%s/none", dir);
	struct lb_sysinfo *si = NULL;

	/* no swap table: no swap, as on a kernel without swap support */
	setenv("LIFEBOAT_MOUNTINFO", mi, 1);
	setenv("LIFEBOAT_SWAPS", gone, 1);
	assert_int_equal(lb_sysinfo_load(&si), 0);
	assert_int_equal(si->n_mounts, 1);
	assert_int_equal(si->n_swaps, 0);
	lb_sysinfo_free(si);
	/* no mount table: an error */
	si = NULL;
	setenv("LIFEBOAT_MOUNTINFO", gone, 1);
	assert_true(lb_sysinfo_load(&si) < 0);
	assert_null(si);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char *argv[] = { "rm", "-rf", dir, NULL };

	return lb_run(argv, true) < 0 ? -1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mountinfo),
		cmocka_unit_test(test_source_device),
		cmocka_unit_test(test_whole_first),
		cmocka_unit_test(test_zfs_pools),
		cmocka_unit_test(test_swaps),
		cmocka_unit_test(test_missing),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
