// SPDX-License-Identifier: GPL-3.0-or-later
/* Scanning the storage stack (stack-int.h): the devices the capture
 * knows, grown pass by pass. An array may sit on partitions, a LUKS
 * container on the array, a volume group on the container, another LUKS
 * container on a logical volume: each pass of md, luks and lvm adds what
 * sits on a device already known, until a pass adds nothing. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "disk/disk.h"
#include "disk/stack-int.h"

/* deeper stacks than this are not seen in the wild */
#define PASSES_MAX 8

const char *stack_id_of(const struct stack_scan *s, const char *sysname)
{
	for (size_t i = 0; sysname && i < s->n_devs; i++)
		if (strcmp(s->devs[i].sysname, sysname) == 0)
			return s->devs[i].id;
	return NULL;
}

void stack_dev_add(struct stack_scan *s, const char *sysname, const char *id)
{
	s->devs = lb_realloc_array(s->devs, s->n_devs + 1, sizeof(*s->devs));
	s->devs[s->n_devs].sysname = lb_strdup(sysname);
	s->devs[s->n_devs].id = lb_strdup(id);
	s->n_devs++;
}

char *stack_sysname_of_path(const char *path)
{
	char link[PATH_MAX], buf[64];
	struct stat st;
	ssize_t n;
	const char *slash;

	if (stat(path, &st) < 0 || !S_ISBLK(st.st_mode))
		return NULL;
	snprintf(buf, sizeof(buf), "/sys/dev/block/%u:%u", major(st.st_rdev), minor(st.st_rdev));
	n = readlink(buf, link, sizeof(link) - 1);
	if (n <= 0)
		return NULL;
	link[n] = '\0';
	slash = strrchr(link, '/');
	return lb_strdup(slash ? slash + 1 : link);
}

/* types that are a layer of the stack, not a volume */
static bool is_member_type(const char *type)
{
	static const char *const members[] = {
		"linux_raid_member", "crypto_LUKS", "LVM2_member", "raw",
	};

	for (size_t i = 0; i < LB_ARRAY_SIZE(members); i++)
		if (strcmp(type, members[i]) == 0)
			return true;
	return false;
}

int stack_node_volume(struct stack_scan *s, const char *sysname, const char *id,
		      struct lb_volume **ret)
{
	_cleanup_free_ char *path = lb_asprintf("/dev/%s", sysname);
	_cleanup_free_ char *size = lb_disk_sysattr(sysname, "size");
	_cleanup_free_ char *lbs = lb_disk_sysattr(sysname, "queue/logical_block_size");
	_cleanup_free_ char *dev = lb_disk_sysattr(sysname, "dev");
	uint64_t sectors = 0;
	uint32_t sector_size = 512;
	unsigned maj = 0, mnr = 0;
	struct lb_volume *v = NULL;
	int r;

	*ret = NULL;
	if (!size || lb_parse_u64(size, &sectors) < 0 || sectors == 0)
		return 0;
	if (lbs)
		lb_parse_u32(lbs, &sector_size);
	if (dev)
		sscanf(dev, "%u:%u", &maj, &mnr);
	r = lb_scan_node_volume(path, id, sector_size, sectors * 512, maj, mnr, s->si, s->m,
				s->geometry, &v);
	if (r < 0)
		return r;
	if (is_member_type(v->type)) {
		lb_volume_free(v);
		return 0;
	}
	*ret = v;
	return 0;
}

static void add_known_devices(struct stack_scan *s)
{
	for (size_t i = 0; i < s->m->n_disks; i++) {
		const struct lb_disk *d = s->m->disks[i];

		if (d->sysname)
			stack_dev_add(s, d->sysname, d->id);
		for (size_t j = 0; j < d->n_parts; j++) {
			const struct lb_partition *p = d->parts[j];
			_cleanup_free_ char *id = lb_asprintf("%sp%u", d->id, p->number);
			const char *slash = p->path ? strrchr(p->path, '/') : NULL;

			if (slash)
				stack_dev_add(s, slash + 1, id);
		}
	}
}

int lb_stack_scan(struct lb_manifest *m, const struct lb_sysinfo *si, const char *outdir,
		  bool geometry)
{
	struct stack_scan s = { .m = m, .si = si, .outdir = outdir, .geometry = geometry };
	int r = 0, added = 1;

	add_known_devices(&s);
	for (int pass = 0; pass < PASSES_MAX && added > 0; pass++) {
		int a;

		added = 0;
		r = stack_scan_md(&s);
		if (r < 0)
			break;
		added += r;
		r = stack_scan_luks(&s);
		if (r < 0)
			break;
		added += r;
		a = stack_scan_lvm(&s);
		r = a;
		if (r < 0)
			break;
		added += a;
	}
	for (size_t i = 0; i < s.n_devs; i++) {
		free(s.devs[i].sysname);
		free(s.devs[i].id);
	}
	free(s.devs);
	if (r < 0)
		return r;
	if (m->stack && !m->stack->n_mds && !m->stack->n_luks && !m->stack->n_vgs) {
		lb_stack_free(m->stack);
		m->stack = NULL;
	}
	return 0;
}
