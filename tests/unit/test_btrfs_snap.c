// SPDX-License-Identifier: GPL-3.0-or-later
/* What a capture's btrfs snapshot is named, and what is not one: a name
 * taken for one is removed by the next capture (system/btrfs-snap.c), so
 * only .lifeboat-snap.<pid>.<id>.<8 hex digits> exactly is, or an older
 * lifeboat's .lifeboat-snap.<pid>.<id>; and the subvolume paths a
 * restore refuses to make (manifest-btrfs.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/base.h"
#include "model/model.h"
#include "system/system.h"
#include "manifest/manifest.h"

static void test_snap_names(void **state)
{
	static const char *const not_ours[] = {
		".lifeboat-snap.", ".lifeboat-snap.12", ".lifeboat-snap.12.", ".lifeboat-snap..256",
		".lifeboat-snap.0.256", ".lifeboat-snap.-4.256", ".lifeboat-snap.12.256x",
		".lifeboat-snap.12.256.1", ".lifeboat-snap.x.256", "lifeboat-snap.12.256",
		".lifeboat-snapx12.256", "home", "", ".lifeboat-snap.99999999999999999999.5",
		".lifeboat-snap.12.256.0123abc", ".lifeboat-snap.12.256.0123abcde",
		".lifeboat-snap.12.256.0123ABCD", ".lifeboat-snap.12.256.0123abcg",
		".lifeboat-snap.12.256.", ".lifeboat-snap.12..0123abcd", ".lifeboat-snap.+12.256",
		".lifeboat-snap. 12.256", ".lifeboat-snap.12.+256",
	};
	long pid = 0;
	uint64_t id = 0;
	bool old = false;

	(void)state;
	assert_true(lb_btrfs_snap_name(".lifeboat-snap.4242.256.0123abcd", &pid, &id, &old));
	assert_int_equal(pid, 4242);
	assert_int_equal(id, 256);
	assert_false(old);
	/* an older lifeboat's */
	assert_true(lb_btrfs_snap_name(".lifeboat-snap.4242.257", &pid, &id, &old));
	assert_int_equal(id, 257);
	assert_true(old);
	assert_true(lb_btrfs_snap_name(".lifeboat-snap.1.5", NULL, NULL, NULL));
	assert_true(lb_btrfs_snap_name(".lifeboat-snap.1.5.ffffffff", NULL, NULL, NULL));
	for (size_t i = 0; i < LB_ARRAY_SIZE(not_ours); i++)
		if (lb_btrfs_snap_name(not_ours[i], &pid, &id, &old))
			fail_msg("'%s' taken for a capture's snapshot", not_ours[i]);
}

static void test_paths(void **state)
{
	static const char *const good[] = { "home", "a/b/c", "@", "@home", ".snapshots/1/snapshot",
					    "a..b", "...", "x/.y" };
	static const char *const bad[] = { "", "/", "/home", "..", ".", "a/..", "../a", "a/./b",
					   "a//b", "a/", "home/../../etc" };

	(void)state;
	for (size_t i = 0; i < LB_ARRAY_SIZE(good); i++)
		if (lb_btrfs_path_bad(good[i]))
			fail_msg("'%s' refused: %s", good[i], lb_btrfs_path_bad(good[i]));
	for (size_t i = 0; i < LB_ARRAY_SIZE(bad); i++)
		if (!lb_btrfs_path_bad(bad[i]))
			fail_msg("'%s' taken for a subvolume path", bad[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snap_names),
		cmocka_unit_test(test_paths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
