// SPDX-License-Identifier: GPL-3.0-or-later
/* LUKS containers on the captured devices (libcryptsetup): their identity
 * and parameters, and the header with its keyslots saved byte for byte, so
 * a restore puts back the same container: the same UUID, and the same
 * passphrases, key files and tokens open it. Open containers are found as
 * device-mapper crypt devices (dm/uuid "CRYPT-LUKS<n>-<uuid>-<name>"), closed
 * ones by their signature on a captured partition or disk. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libcryptsetup.h>

#include "disk/stack-int.h"

static int save_header(struct stack_scan *s, struct crypt_device *cd, struct lb_luks *l,
		       const char *node)
{
	_cleanup_free_ char *file = lb_asprintf("%s.header", l->id);
	_cleanup_free_ char *path = lb_asprintf("%s/%s", s->outdir, file);
	char sum[65];
	uint64_t size;
	int r;

	unlink(path);	/* a re-run's; crypt_header_backup will not overwrite */
	r = crypt_header_backup(cd, CRYPT_LUKS, path);
	if (r < 0)
		return lb_err(r, "%s: cannot save its LUKS header: %s", node, strerror(-r));
	r = lb_sha256_file(path, sum, &size);
	if (r < 0)
		return r;
	l->header = lb_artifact_new();
	l->header->file = TAKE_PTR(file);
	l->header->size = size;
	l->header->sha256 = lb_strdup(sum);
	return 0;
}

/* reads the container on the device with kernel name ON (device id ON_ID) */
static int read_container(struct stack_scan *s, const char *on, const char *on_id,
			  struct lb_luks **ret)
{
	_cleanup_free_ char *node = lb_asprintf("/dev/%s", on);
	struct crypt_device *cd = NULL;
	struct lb_luks *l;
	const char *type, *v;
	int r;

	r = crypt_init(&cd, node);
	if (r < 0)
		return lb_err(r, "%s: libcryptsetup cannot open it: %s", node, strerror(-r));
	r = crypt_load(cd, CRYPT_LUKS, NULL);
	if (r < 0) {
		crypt_free(cd);
		return lb_err(r, "%s: no LUKS header libcryptsetup can read: %s", node,
			      strerror(-r));
	}
	if (!s->m->stack)
		s->m->stack = lb_stack_new();
	l = lb_luks_new();
	l->id = lb_asprintf("luks%zu", s->m->stack->n_luks);
	l->on = lb_strdup(on_id);
	type = crypt_get_type(cd);
	l->version = type && strcmp(type, CRYPT_LUKS2) == 0 ? 2 : 1;
	l->uuid = lb_strdup(crypt_get_uuid(cd));
	if (l->version == 2) {
		if ((v = crypt_get_label(cd)) && *v)
			l->label = lb_strdup(v);
		if ((v = crypt_get_subsystem(cd)) && *v)
			l->subsystem = lb_strdup(v);
	}
	l->cipher = lb_asprintf("%s-%s", crypt_get_cipher(cd), crypt_get_cipher_mode(cd));
	l->key_bits = (uint32_t)crypt_get_volume_key_size(cd) * 8;
	l->sector_size = (uint32_t)crypt_get_sector_size(cd);
	l->data_offset = crypt_get_data_offset(cd);
	r = save_header(s, cd, l, node);
	crypt_free(cd);
	if (r < 0) {
		lb_luks_free(l);
		return r;
	}
	*ret = l;
	return 0;
}

/* an open container: dm-N whose dm/uuid says CRYPT-LUKS, on a known device */
static int scan_open(struct stack_scan *s, const char *dm, int *added)
{
	_cleanup_free_ char *uuid = lb_disk_sysattr(dm, "dm/uuid");
	_cleanup_free_ char *slaves = lb_asprintf("/sys/class/block/%s/slaves", dm);
	_cleanup_free_ char *size = NULL;
	DIR *dp;
	struct dirent *e;
	char *on = NULL;
	struct lb_luks *l = NULL;
	int r;

	if (!uuid || strncmp(uuid, "CRYPT-LUKS", 10) != 0)
		return 0;
	dp = opendir(slaves);
	if (!dp)
		return 0;
	while ((e = readdir(dp)))
		if (e->d_name[0] != '.' && !on)
			on = lb_strdup(e->d_name);
	closedir(dp);
	if (!on || !stack_id_of(s, on)) {
		free(on);
		return 0;
	}
	r = read_container(s, on, stack_id_of(s, on), &l);
	if (r >= 0) {
		l->name = lb_disk_sysattr(dm, "dm/name");
		size = lb_disk_sysattr(dm, "size");
		if (size)
			lb_parse_u64(size, &l->size);
		r = stack_node_volume(s, dm, l->id, &l->volume);
	}
	if (r >= 0) {
		stack_dev_add(s, dm, l->id);
		lb_stack_add_luks(s->m->stack, TAKE_PTR(l));
		(*added)++;
	}
	lb_luks_free(l);
	free(on);
	return r;
}

static bool container_known(const struct stack_scan *s, const char *on_id)
{
	for (size_t i = 0; s->m->stack && i < s->m->stack->n_luks; i++)
		if (strcmp(s->m->stack->luks[i]->on, on_id) == 0)
			return true;
	return false;
}

/* a closed container: a captured partition or disk whose volume is LUKS */
static int scan_closed(struct stack_scan *s, int *added)
{
	for (size_t i = 0; i < s->n_devs; i++) {
		struct lb_dev_ref ref = lb_manifest_find_dev(s->m, s->devs[i].id);
		const struct lb_volume *v = ref.part ? ref.part->volume :
					    ref.kind == LB_DEV_DISK ? ref.disk->volume : NULL;
		struct lb_luks *l = NULL;
		int r;

		if (!v || !v->type || strcmp(v->type, "crypto_LUKS") != 0 ||
		    container_known(s, s->devs[i].id))
			continue;
		r = read_container(s, s->devs[i].sysname, s->devs[i].id, &l);
		if (r < 0)
			return r;
		lb_stack_add_luks(s->m->stack, l);
		(*added)++;
	}
	return 0;
}

int stack_scan_luks(struct stack_scan *s)
{
	DIR *dp = opendir("/sys/class/block");
	struct dirent *e;
	int added = 0, r = 0;

	if (!dp)
		return 0;
	while (r >= 0 && (e = readdir(dp)))
		if (strncmp(e->d_name, "dm-", 3) == 0 && !stack_id_of(s, e->d_name))
			r = scan_open(s, e->d_name, &added);
	closedir(dp);
	if (r >= 0)
		r = scan_closed(s, &added);
	return r < 0 ? r : added;
}

int lb_luks_key_opens(const char *header, const char *key_file)
{
	_cleanup_free_ char *key = NULL;
	struct crypt_device *cd = NULL;
	int n, r;

	n = lb_read_file(key_file, &key, 8192);
	if (n < 0)
		return n;
	r = crypt_init(&cd, header);
	if (r >= 0)
		r = crypt_load(cd, CRYPT_LUKS, NULL);
	/* no name: the passphrase is only checked against a keyslot */
	if (r >= 0)
		r = crypt_activate_by_passphrase(cd, NULL, CRYPT_ANY_SLOT, key, (size_t)n, 0);
	crypt_free(cd);
	explicit_bzero(key, (size_t)n);
	return r < 0 ? r : 1;
}
