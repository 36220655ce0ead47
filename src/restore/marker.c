// SPDX-License-Identifier: GPL-3.0-or-later
/* The restore-session marker: tells the restored system that a bare-metal
 * restore happened (ASR's LastInstance and RestoredVolumes). Its shape is
 * an interface: root <restore-session instance="UUID">; see
 * lifeboat-manifest(5). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/tree.h>
#include <uuid/uuid.h>

#include "base/base.h"
#include "model/model.h"
#include "disk/disk.h"
#include "plan/plan.h"
#include "restore/internal.h"

/* The marker's XML for plan P, with a fresh instance UUID. */
int lb_marker_render(const struct lb_plan *p, char **ret_xml, size_t *ret_len, char **ret_instance)
{
	xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
	xmlNodePtr root = xmlNewNode(NULL, BAD_CAST "restore-session"), n;
	_cleanup_free_ char *now = lb_utc_now();
	xmlChar *mem = NULL;
	int len = 0;
	uuid_t uu;
	char us[37];

	uuid_generate_random(uu);
	uuid_unparse_lower(uu, us);
	xmlDocSetRootElement(doc, root);
	xmlNewProp(root, BAD_CAST "instance", BAD_CAST us);
	xmlNewProp(root, BAD_CAST "format", BAD_CAST "1");
	xmlNewProp(root, BAD_CAST "time", BAD_CAST now);
	xmlNewProp(root, BAD_CAST "generator", BAD_CAST "lifeboat " LB_VERSION);
	n = xmlNewChild(root, NULL, BAD_CAST "capture", NULL);
	xmlNewProp(n, BAD_CAST "id", BAD_CAST p->m->id);
	xmlNewProp(n, BAD_CAST "time", BAD_CAST p->m->time);
	if (p->m->hostname && lb_utf8_is_printable(p->m->hostname))
		xmlNewProp(n, BAD_CAST "hostname", BAD_CAST p->m->hostname);
	if (p->m->rt_dir && lb_utf8_is_printable(p->m->rt_dir))
		xmlNewProp(n, BAD_CAST "path", BAD_CAST p->m->rt_dir);
	for (size_t i = 0; i < p->n_disks; i++) {
		const struct lb_plan_disk *pd = &p->disks[i];

		n = xmlNewChild(root, NULL, BAD_CAST "disk", NULL);
		xmlNewProp(n, BAD_CAST "id", BAD_CAST pd->disk->id);
		xmlNewProp(n, BAD_CAST "verdict", BAD_CAST lb_verdict_name(pd->verdict));
		if (pd->target) {
			xmlNewProp(n, BAD_CAST "device", BAD_CAST pd->target->path);
			xmlNewProp(n, BAD_CAST "matched-by", BAD_CAST lb_match_name(pd->how));
		}
	}
	for (size_t i = 0; i < p->n_vols; i++) {
		const struct lb_plan_volume *pv = &p->vols[i];

		n = xmlNewChild(root, NULL, BAD_CAST "volume", NULL);
		xmlNewProp(n, BAD_CAST "id", BAD_CAST pv->vol->id);
		xmlNewProp(n, BAD_CAST "type", BAD_CAST pv->vol->type);
		if (pv->vol->uuid && lb_utf8_is_printable(pv->vol->uuid))
			xmlNewProp(n, BAD_CAST "uuid", BAD_CAST pv->vol->uuid);
		if (pv->vol->mountpoint && lb_utf8_is_printable(pv->vol->mountpoint))
			xmlNewProp(n, BAD_CAST "mountpoint", BAD_CAST pv->vol->mountpoint);
		xmlNewProp(n, BAD_CAST "action", BAD_CAST lb_vol_action_name(pv->action));
		if (pv->vol->data && (pv->action == LB_VOL_IMAGE || pv->extract))
			xmlNewProp(n, BAD_CAST "data", BAD_CAST pv->vol->data_method);
		else if (pv->action == LB_VOL_CIPHERTEXT)
			xmlNewProp(n, BAD_CAST "data", BAD_CAST "ciphertext");
		/* ASR's RestoredVolumes on a disk kept as it was: why this
		 * volume's content was put back */
		if (pv->rollback)
			xmlNewProp(n, BAD_CAST "rollback", BAD_CAST lb_vol_rollback_name(pv->rollback));
		if (pv->result && lb_utf8_is_printable(pv->result))
			xmlNewProp(n, BAD_CAST "result", BAD_CAST pv->result);
	}
	xmlDocDumpFormatMemoryEnc(doc, &mem, &len, "UTF-8", 1);
	xmlFreeDoc(doc);
	if (!mem || len < 0)
		return lb_err(-ENOMEM, "cannot write the restore-session marker");
	*ret_xml = lb_zalloc((size_t)len + 1);
	memcpy(*ret_xml, mem, (size_t)len);
	*ret_len = (size_t)len;
	xmlFree(mem);
	if (ret_instance)
		*ret_instance = lb_strdup(us);
	return 0;
}

/* The marker at PATH (--marker: a path the admin chose on this system). */
int lb_marker_write(const struct lb_plan *p, const char *path, char **ret_instance)
{
	_cleanup_free_ char *xml = NULL, *inst = NULL;
	size_t len = 0;
	int r;

	r = lb_marker_render(p, &xml, &len, &inst);
	if (r < 0)
		return r;
	r = lb_write_file(path, xml, len, 0644);
	if (r < 0)
		return lb_err(r, "%s: cannot write the restore-session marker: %s", path, strerror(-r));
	if (ret_instance)
		*ret_instance = TAKE_PTR(inst);
	return 0;
}

/* Mounts the restored root volume and writes the marker and the restore
 * log in it, every path resolved inside it. */
int lb_run_marker_in_root(struct lb_run *run, const struct lb_plan_volume *root, char **ret_instance)
{
	struct lb_plan *p = run->p;
	const char *log_path = run->log_path;
	_cleanup_free_ char *node = NULL, *inst = NULL;
	char *tmpl = NULL;
	int rootfd, r;

	if (root->node) {
		const char *n = lb_run_dev_node(run, root->vol->id);

		if (!n)
			return lb_err(-ENODEV, "%s: %s was not made by this restore: no marker in it",
				      root->vol->id, root->node->id);
		node = lb_strdup(n);
	} else if (root->part) {
		int fd = open(root->pd->target->path, O_RDONLY | O_CLOEXEC);

		if (fd >= 0) {
			lb_kernel_ensure_partitions(root->pd->disk, root->pd->target->sysname, fd);
			close(fd);
		}
		r = lb_partition_node(root->pd->target->sysname, root->part->number, &node);
		if (r < 0)
			return lb_err(r, "%s: no device node to mount", root->vol->id);
	} else {
		node = lb_strdup(root->pd->target->path);
	}
	r = lb_mount_tmp(node, root->vol->type, false, &tmpl);
	if (r < 0)
		return lb_err(r, "the restored root, to write the marker: %s", lb_errmsg());
	/* what the restored root holds was made by the capture's data: every
	 * path is resolved inside it, never through a link out of it */
	rootfd = open(tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		r = lb_err(-errno, "the restored root: %s", strerror(errno));
	} else {
		_cleanup_free_ char *xml = NULL;
		size_t len = 0;

		r = lb_marker_render(p, &xml, &len, &inst);
		if (r >= 0)
			r = lb_write_file_in_root(rootfd, "var/lib/lifeboat", "restore-session.xml", xml, len,
						  0644);
		if (r < 0 && xml)
			r = lb_err(r, "%s: /var/lib/lifeboat/restore-session.xml in the restored root: %s",
				   root->vol->id, strerror(-r));
		if (r >= 0 && ret_instance)
			*ret_instance = TAKE_PTR(inst);
	}
	if (r >= 0 && log_path) {
		_cleanup_free_ char *buf = NULL;
		int n = lb_read_file(log_path, &buf, 64 << 20);

		if (n >= 0)
			lb_write_file_in_root(rootfd, "var/log/lifeboat", strrchr(log_path, '/') + 1, buf,
					      (size_t)n, 0600);
	}
	if (rootfd >= 0)
		close(rootfd);
	if (lb_umount_tmp(tmpl) < 0 && r >= 0)
		r = lb_err(-EBUSY, "the restored root: %s", lb_errmsg());
	if (r >= 0)
		lb_run_say(run, "%s: restore-session marker written (/var/lib/lifeboat/restore-session.xml)",
			   root->vol->id);
	return r;
}

