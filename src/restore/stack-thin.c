// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Thin pools (stack.h). vgcfgrestore puts back LVM's text about a pool (its
 * thin LVs with their device ids, the pool's transaction id) but not the
 * pool's own metadata, which the kernel keeps inside the pool's hidden
 * metadata LV: which thin devices exist, and the transaction id. Without
 * it LVM refuses the pool ("transaction_id is 0, while expected N"), and a
 * reused disk may hold some other pool's metadata there. So, once the PVs
 * and the recorded metadata are back:
 *   1. what the recorded metadata says (lvs): each pool's transaction id and
 *      metadata LV, each thin LV's device id; where the metadata LV starts
 *      on its PV (pvs --segments);
 *   2. the metadata LV's first 4 KiB zeroed: dm-thin formats fresh
 *      metadata (no thin devices, transaction id 0) on an all-zero
 *      superblock, so nothing older is taken for the pool's, whatever an
 *      earlier run or the disk's past left there;
 *   3. the recorded metadata with every transaction_id 0 restored, each pool
 *      activated alone: 0 is what fresh metadata has, and LVM runs no
 *      thin_check on an unused pool;
 *   4. each thin device created with its recorded id (the pool's
 *      create_thin message), the transaction id set to the recorded one,
 *      the pool deactivated;
 *   5. the recorded metadata restored as it is; the caller activates.
 * A thin snapshot is made as a thin device of its own (create_thin, not
 * create_snap): its captured data is written into it like any volume's, so
 * its contents come back and its sharing of blocks with its origin does
 * not (the pool needs room for both: the plan says so).
 * thin_restore (thin-provisioning-tools) would do 2-4 from an XML file, but
 * it is a C++ program of megabytes, and the rescue image has no room.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "base/base.h"
#include "base/spawn.h"
#include "model/model.h"
#include "manifest/manifest.h"
#include "disk/disk.h"
#include "restore/stack.h"
#include "restore/internal.h"

/* dm-thin's metadata block: all zero, and the pool formats itself */
#define THIN_SUPERBLOCK 4096

struct thin_pool {
	char *name;
	char *meta_lv;		/* "[pool_tmeta]", as lvs names it */
	uint64_t transaction_id;
	uint64_t *ids;		/* its thin LVs' device ids */
	size_t n_ids;
};

static void pools_free(struct thin_pool *pools, size_t n)
{
	for (size_t i = 0; pools && i < n; i++) {
		free(pools[i].name);
		free(pools[i].meta_lv);
		free(pools[i].ids);
	}
	free(pools);
}

static struct thin_pool *pool_named(struct thin_pool *pools, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(pools[i].name, name) == 0)
			return &pools[i];
	return NULL;
}

/* step 1: the pools and their thin device ids, as the restored metadata
 * says (the recorded text, checked against its SHA-256) */
static int read_pools(const struct lb_vg *vg, struct thin_pool **ret, size_t *ret_n)
{
	char *args[] = { "lvs", "-a", "-o", "lv_name,segtype,thin_id,transaction_id,pool_lv,metadata_lv",
			 vg->name };
	json_object *root, *rows = lb_lvm_report(args, LB_ARRAY_SIZE(args), "lv", &root);
	struct thin_pool *pools = NULL;
	size_t n = 0, len;
	int r = 0;

	if (!rows)
		return lb_err(-EIO, "%s: lvm lvs gave no report of volume group %s", vg->id, vg->name);
	len = json_object_array_length(rows);
	pools = lb_zalloc((len + 1) * sizeof(*pools));
	for (size_t i = 0; i < len; i++) {
		json_object *row = json_object_array_get_idx(rows, i);

		if (strcmp(lb_lvm_field(row, "segtype"), "thin-pool") != 0)
			continue;
		pools[n].name = lb_strdup(lb_lvm_field(row, "lv_name"));
		pools[n].meta_lv = lb_strdup(lb_lvm_field(row, "metadata_lv"));
		pools[n].transaction_id = lb_lvm_field_u64(row, "transaction_id");
		pools[n].ids = lb_zalloc((len + 1) * sizeof(uint64_t));
		n++;
	}
	for (size_t i = 0; i < len && r >= 0; i++) {
		json_object *row = json_object_array_get_idx(rows, i);
		struct thin_pool *tp;
		uint64_t id;

		if (strcmp(lb_lvm_field(row, "segtype"), "thin") != 0)
			continue;
		tp = pool_named(pools, n, lb_lvm_field(row, "pool_lv"));
		if (!tp || lb_parse_u64(lb_lvm_field(row, "thin_id"), &id) < 0)
			r = lb_err(-EINVAL, "%s: thin volume %s: no pool or no device id in the recorded metadata",
				   vg->id, lb_esc(lb_lvm_field(row, "lv_name")));
		else
			tp->ids[tp->n_ids++] = id;
	}
	json_object_put(root);
	if (r < 0) {
		pools_free(pools, n);
		return r;
	}
	*ret = pools;
	*ret_n = n;
	return 0;
}

/* the PV node of the recorded PV with UUID, or NULL */
static const char *pv_node_of(const struct lb_vg *vg, char *const *pv_nodes, const char *uuid,
			      const struct lb_pv **ret_pv)
{
	for (size_t i = 0; i < vg->n_pvs; i++)
		if (strcmp(vg->pvs[i]->uuid, uuid) == 0) {
			*ret_pv = vg->pvs[i];
			return pv_nodes[i];
		}
	return NULL;
}

static int zero_at(const char *node, uint64_t offset, const char *what)
{
	int fd = open(node, O_RDWR | O_CLOEXEC);
	int r;

	if (fd < 0)
		return lb_err(-errno, "%s: cannot open %s: %s", what, node, strerror(errno));
	r = lb_zero_range(fd, offset, THIN_SUPERBLOCK, true);
	if (r >= 0 && fsync(fd) < 0)
		r = lb_err(-errno, "%s: cannot sync %s: %s", what, node, strerror(errno));
	close(fd);
	return r;
}

/* step 2: the first 4 KiB of the pool's metadata LV, on its PV; bounded by
 * the LV's extents there and the PV's recorded size */
static int zero_metadata(const struct lb_vg *vg, char *const *pv_nodes, const struct thin_pool *tp)
{
	char *args[] = { "pvs", "--segments", "-o",
			 "pv_uuid,pe_start,pvseg_start,pvseg_size,vg_name,lv_name,seg_start_pe,segtype" };
	json_object *root, *rows = lb_lvm_report(args, LB_ARRAY_SIZE(args), "pvseg", &root);
	int r = -ENOENT;

	if (!rows)
		return lb_err(-EIO, "%s: lvm pvs gave no report of the segments", vg->id);
	for (size_t i = 0; i < json_object_array_length(rows) && r == -ENOENT; i++) {
		json_object *row = json_object_array_get_idx(rows, i);
		const struct lb_pv *pv = NULL;
		const char *node;
		uint64_t at, room, pe_start, pe = vg->extent_size * 512;

		if (strcmp(lb_lvm_field(row, "vg_name"), vg->name) != 0 ||
		    strcmp(lb_lvm_field(row, "lv_name"), tp->meta_lv) != 0 ||
		    lb_lvm_field_u64(row, "seg_start_pe") != 0)
			continue;
		if (strcmp(lb_lvm_field(row, "segtype"), "linear") != 0) {
			r = lb_err(-EOPNOTSUPP, "%s: thin pool %s: its metadata LV is %s; lifeboat makes "
						"pools whose metadata LV is linear",
				   vg->id, tp->name, lb_esc(lb_lvm_field(row, "segtype")));
			break;
		}
		node = pv_node_of(vg, pv_nodes, lb_lvm_field(row, "pv_uuid"), &pv);
		/* (a pe_start lvm does not give, 0, or not the recorded one: no
		 * guess at where to write) */
		pe_start = lb_lvm_field_u64(row, "pe_start");
		at = pe_start * 512 + lb_lvm_field_u64(row, "pvseg_start") * pe;
		room = lb_lvm_field_u64(row, "pvseg_size") * pe;
		if (!node || pe_start == 0 || pe_start != pv->pe_start || room < THIN_SUPERBLOCK ||
		    at + THIN_SUPERBLOCK > pv->dev_size * 512) {
			r = lb_err(-ERANGE, "%s: thin pool %s: its metadata LV is not where the recorded "
					    "physical volumes are", vg->id, tp->name);
			break;
		}
		lb_debug("stack", "%s: pool %s: zeroing %s at %" PRIu64, vg->id, tp->name, node, at);
		r = zero_at(node, at, vg->id);
	}
	json_object_put(root);
	if (r == -ENOENT)
		return lb_err(r, "%s: thin pool %s: lvm does not say where its metadata LV %s is", vg->id,
			      tp->name, tp->meta_lv);
	return r;
}

/* step 3's text: every "transaction_id = N" line with 0 */
char *lb_thin_zero_transactions(const char *text, size_t len, size_t *ret_len)
{
	static const char key[] = "transaction_id = ";
	char *out = lb_zalloc(len + 1), *o = out;
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl + 1 : end, *q = p;

		while (q < eol && (*q == '\t' || *q == ' '))
			q++;
		/* (only "key = <digit>...": then the line never grows; anything
		 * else is copied as it is) */
		if ((size_t)(eol - q) > sizeof(key) - 1 && memcmp(q, key, sizeof(key) - 1) == 0 &&
		    q[sizeof(key) - 1] >= '0' && q[sizeof(key) - 1] <= '9') {
			memcpy(o, p, (size_t)(q - p) + sizeof(key) - 1);
			o += (q - p) + sizeof(key) - 1;
			*o++ = '0';
			if (nl)
				*o++ = '\n';
		} else {
			memcpy(o, p, (size_t)(eol - p));
			o += eol - p;
		}
		p = eol;
	}
	*ret_len = (size_t)(o - out);
	return out;
}

static int restore_text(const struct lb_vg *vg, const char *file)
{
	char *argv[] = { "lvm", "vgcfgrestore", "-q", "-f", (char *)file, "--force", "--", vg->name, NULL };

	return lb_stack_run_tool(argv, vg->id);
}

static int pool_change(const struct lb_vg *vg, const struct thin_pool *tp, const char *how)
{
	_cleanup_free_ char *lv = lb_asprintf("%s/%s", vg->name, tp->name);
	char *argv[] = { "lvm", "lvchange", "-q", (char *)how, "--", lv, NULL };

	return lb_stack_run_tool(argv, vg->id);
}

/* the pool's dm name once active alone: VG-POOL-tpool when LVM layers it,
 * else VG-POOL; whichever holds the thin-pool target */
static char *pool_dm_name(const struct lb_vg *vg, const struct thin_pool *tp)
{
	struct lb_lv lv = { .name = tp->name };
	_cleanup_free_ char *node = lb_stack_lv_node(vg, &lv);
	const char *base = node + strlen("/dev/mapper/");
	char *names[2] = { lb_asprintf("%s-tpool", base), lb_strdup(base) };

	for (size_t i = 0; i < 2; i++) {
		_cleanup_free_ char *out = NULL;
		char *argv[] = { "dmsetup", "table", "--", names[i], NULL };
		struct lb_spawn_opts o = { .quiet = true, .ret_out = &out, .stdin_fd = -1 };

		if (lb_spawn(argv, &o) == 0 && out && strstr(out, " thin-pool ")) {
			free(names[1 - i]);
			return names[i];
		}
	}
	free(names[0]);
	free(names[1]);
	return NULL;
}

static int pool_message(const struct lb_vg *vg, const char *dm, const char *msg)
{
	char *argv[] = { "dmsetup", "message", "--", (char *)dm, "0", (char *)msg, NULL };

	lb_debug("stack", "%s: %s: %s", vg->id, dm, msg);
	return lb_stack_run_tool(argv, vg->id);
}

/* step 4: the pool active alone, its thin devices and transaction id */
static int make_devices(const struct lb_vg *vg, const struct thin_pool *tp)
{
	_cleanup_free_ char *dm = NULL, *tid = NULL;
	int r = pool_change(vg, tp, "-ay");

	if (r < 0)
		return r;
	dm = pool_dm_name(vg, tp);
	if (!dm)
		r = lb_err(-ENODEV, "%s: thin pool %s: active, but no thin-pool target found", vg->id,
			   tp->name);
	for (size_t i = 0; i < tp->n_ids && r >= 0; i++) {
		_cleanup_free_ char *msg = lb_asprintf("create_thin %" PRIu64, tp->ids[i]);

		r = pool_message(vg, dm, msg);
	}
	if (r >= 0 && tp->transaction_id) {
		tid = lb_asprintf("set_transaction_id 0 %" PRIu64, tp->transaction_id);
		r = pool_message(vg, dm, tid);
	}
	/* deactivated even after a failure: a re-run finds nothing in use */
	if (pool_change(vg, tp, "-an") < 0 && r >= 0)
		r = -EIO;
	return r;
}

int lb_stack_make_thin(const struct lb_manifest *m, const struct lb_vg *vg, char *const *pv_nodes,
		       const char *restorefile)
{
	_cleanup_free_ uint8_t *text = NULL;
	_cleanup_free_ char *variant = NULL, *file = NULL;
	struct thin_pool *pools = NULL;
	size_t n = 0, vlen = 0, tlen = 0;
	int r;

	r = read_pools(vg, &pools, &n);
	for (size_t i = 0; i < n && r >= 0; i++)
		r = zero_metadata(vg, pv_nodes, &pools[i]);
	if (r >= 0)
		r = lb_artifact_load(m, vg->metadata, &text, &tlen);
	if (r >= 0) {
		variant = lb_thin_zero_transactions((const char *)text, tlen, &vlen);
		r = lb_stack_private_file("thin.lvm", variant, vlen, vg->metadata->encrypted, &file);
	}
	if (r >= 0)
		r = restore_text(vg, file);
	for (size_t i = 0; i < n && r >= 0; i++)
		r = make_devices(vg, &pools[i]);
	if (r >= 0)
		r = restore_text(vg, restorefile);
	if (file)
		unlink(file);
	pools_free(pools, n);
	return r;
}
