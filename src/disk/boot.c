// SPDX-License-Identifier: GPL-3.0-or-later
/* Boot configuration: firmware kind, EFI boot entries and BootOrder
 * (libefivar/libefiboot), the ESP and BIOS boot partition, the boot loader,
 * and the references to identities in fstab, crypttab and the kernel
 * command line, each resolved to the volume it names. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <efiboot.h>
#include <efivar.h>

#include "base/base.h"
#include "model/model.h"
#include "system/system.h"
#include "disk/disk.h"

#define LB_LOAD_OPTION_ACTIVE 0x00000001u /* UEFI spec 3.1.3 */
#define GPT_TYPE_ESP "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
#define GPT_TYPE_BIOS_BOOT "21686148-6449-6E6F-744E-656564454649"

static const char *etc_path(const char *name, char *buf, size_t len)
{
	const char *root = getenv("LIFEBOAT_SYSROOT");

	snprintf(buf, len, "%s/%s", root ? root : "", name);
	return buf;
}

static int scan_efi_entry(struct lb_boot *b, const char *name)
{
	uint8_t *data = NULL;
	size_t size = 0;
	uint32_t attrs = 0;
	struct lb_efi_entry *e;
	efi_load_option *opt;
	const unsigned char *desc;
	efidp dp;
	char path[4096];

	if (efi_get_variable(EFI_GLOBAL_GUID, name, &data, &size, &attrs) < 0)
		return lb_err(-errno, "cannot read EFI variable %s: %s", name, strerror(errno));
	e = lb_efi_entry_new();
	e->name = lb_strdup(name);
	e->attributes = attrs;
	e->data = lb_hex_encode(data, size);
	opt = (efi_load_option *)data;
	if (size >= 6) {
		e->active = efi_loadopt_attrs(opt) & LB_LOAD_OPTION_ACTIVE;
		desc = efi_loadopt_desc(opt, (ssize_t)size);
		if (desc && lb_utf8_is_printable((const char *)desc))
			e->description = lb_strdup((const char *)desc);
		dp = efi_loadopt_path(opt, (ssize_t)size);
		if (dp && efidp_format_device_path(path, sizeof(path), dp,
						   efi_loadopt_pathlen(opt, (ssize_t)size)) > 0 &&
		    lb_utf8_is_printable(path))
			e->device_path = lb_strdup(path);
	}
	free(data);
	lb_boot_add_efi(b, e);
	return 0;
}

static int cmp_efi(const void *a, const void *b)
{
	return strcmp((*(struct lb_efi_entry *const *)a)->name,
		      (*(struct lb_efi_entry *const *)b)->name);
}

static char *u16_list(const uint8_t *data, size_t size)
{
	char *r = lb_zalloc(size / 2 * 5 + 1);

	for (size_t i = 0; i + 1 < size; i += 2)
		sprintf(r + strlen(r), "%s%04X", i ? "," : "", data[i] | data[i + 1] << 8);
	return r;
}

static int scan_efi(struct lb_boot *b)
{
	efi_guid_t *guid = NULL;
	char *name = NULL;
	int rc;

	if (!efi_variables_supported())
		return 0;
	while ((rc = efi_get_next_variable_name(&guid, &name)) > 0) {
		efi_guid_t global = EFI_GLOBAL_GUID;
		uint8_t *data = NULL;
		size_t size = 0;
		uint32_t attrs;

		if (efi_guid_cmp(guid, &global) != 0)
			continue;
		if (strlen(name) == 8 && strncmp(name, "Boot", 4) == 0 && isxdigit(name[4]) &&
		    isxdigit(name[5]) && isxdigit(name[6]) && isxdigit(name[7])) {
			int r = scan_efi_entry(b, name);

			if (r < 0)
				return r;
		} else if ((strcmp(name, "BootOrder") == 0 || strcmp(name, "BootCurrent") == 0) &&
			   efi_get_variable(global, name, &data, &size, &attrs) == 0) {
			char **dst = name[4] == 'O' ? &b->boot_order : &b->boot_current;

			free(*dst);
			*dst = u16_list(data, size);
			free(data);
		}
	}
	if (b->n_efi)
		qsort(b->efi, b->n_efi, sizeof(*b->efi), cmp_efi);
	return 0;
}

/* The id of the volume whose identity key=value names, or of the LUKS
 * container whose UUID it is (crypttab's source names the container, not
 * what is inside it), or NULL. */
static const char *resolve(const struct lb_manifest *m, const char *key, const char *value)
{
	const struct lb_volume *v = lb_manifest_resolve(m, key, value);

	if (v)
		return v->id;
	for (size_t i = 0; strcmp(key, "UUID") == 0 && m->stack && i < m->stack->n_luks; i++)
		if (m->stack->luks[i]->uuid && strcasecmp(m->stack->luks[i]->uuid, value) == 0)
			return m->stack->luks[i]->id;
	return NULL;
}

/* Recognises KEY=value and /dev/disk/by-KEY/value forms in one token. */
static void add_ref(struct lb_manifest *m, const char *source, uint32_t line, const char *token,
		    const char *where)
{
	static const struct {
		const char *prefix, *key;
	} forms[] = {
		{ "UUID=", "UUID" },
		{ "PARTUUID=", "PARTUUID" },
		{ "LABEL=", "LABEL" },
		{ "PARTLABEL=", "PARTLABEL" },
		{ "/dev/disk/by-uuid/", "UUID" },
		{ "/dev/disk/by-partuuid/", "PARTUUID" },
		{ "/dev/disk/by-label/", "LABEL" },
		{ "/dev/disk/by-partlabel/", "PARTLABEL" },
	};
	const char *val;

	for (size_t i = 0; i < LB_ARRAY_SIZE(forms); i++) {
		struct lb_boot_ref *r;
		_cleanup_free_ char *v = NULL;
		const char *res;

		if (strncmp(token, forms[i].prefix, strlen(forms[i].prefix)) != 0)
			continue;
		val = token + strlen(forms[i].prefix);
		/* /dev/disk/by-label/my\x20disk names "my disk" */
		v = val[-1] == '/' ? lb_udev_unescape(val) : lb_strdup(val);
		if (v[0] == '"' && strlen(v) >= 2 && v[strlen(v) - 1] == '"') {
			v[strlen(v) - 1] = '\0';
			memmove(v, v + 1, strlen(v));
		}
		/* cryptdevice=UUID=...:name, resume=UUID=...:offset */
		if (strcmp(forms[i].key, "UUID") == 0 || strcmp(forms[i].key, "PARTUUID") == 0) {
			char *colon = strchr(v, ':');

			if (colon)
				*colon = '\0';
		}
		if (!*v || !lb_utf8_is_printable(v))
			return;
		r = lb_boot_ref_new();
		r->source = lb_strdup(source);
		r->line = line;
		r->key = lb_strdup(forms[i].key);
		r->value = lb_strdup(v);
		r->where = lb_strdup(where);
		res = resolve(m, forms[i].key, v);
		r->resolves = lb_strdup(res);
		lb_boot_add_ref(m->boot, r);
		return;
	}
}

/* A file of the system being captured: this machine's (under
 * LIFEBOAT_SYSROOT when set) or, for an offline capture, the one found on
 * the disks. */
static int read_sys_file(const struct lb_sysroot *sr, const char *name, size_t max, char **ret)
{
	char path[4096];

	if (sr)
		return lb_sysroot_read(sr, name, max, ret);
	return lb_read_file(etc_path(name, path, sizeof(path)), ret, 0);
}

static bool sys_file_exists(const struct lb_sysroot *sr, const char *name)
{
	char path[4096];

	if (sr)
		return lb_sysroot_exists(sr, name);
	return access(etc_path(name, path, sizeof(path)), F_OK) == 0;
}

/* fstab and crypttab: whitespace separated fields, # comments. */
static void scan_table_file(struct lb_manifest *m, const struct lb_sysroot *sr, const char *name,
			    int dev_field, int where_field)
{
	_cleanup_free_ char *buf = NULL;
	char *line, *next;
	uint32_t no = 0;
	const char *source = strrchr(name, '/') + 1;

	if (read_sys_file(sr, name, 1u << 20, &buf) < 0)
		return;
	next = buf;
	while ((line = strsep(&next, "\n"))) {
		char *fields[4] = { 0 }, *save = NULL, *tok;
		int n = 0;

		no++;
		if (line[strspn(line, " \t")] == '#')
			continue;
		for (tok = strtok_r(line, " \t\n", &save); tok && n < 4; tok = strtok_r(NULL, " \t\n", &save))
			fields[n++] = tok;
		if (n > dev_field && n > where_field) {
			_cleanup_free_ char *dev = lb_unescape_octal(fields[dev_field]);
			_cleanup_free_ char *where = lb_unescape_octal(fields[where_field]);

			add_ref(m, source, no, dev, where);
		}
	}
}

/* An offline system's kernel command line: /etc/kernel/cmdline (systemd's
 * kernel-install), else the first linux line of grub.cfg (its default
 * entry, as grub-mkconfig writes them). */
static char *offline_cmdline(struct lb_manifest *m, const struct lb_sysroot *sr)
{
	static const char *const grub[] = { "boot/grub/grub.cfg", "boot/grub2/grub.cfg" };
	_cleanup_free_ char *buf = NULL;
	char *line, *next;

	if (read_sys_file(sr, "etc/kernel/cmdline", 64u << 10, &buf) >= 0) {
		char *nl = strchr(buf, '\n');

		if (nl)
			*nl = '\0';
		lb_strstrip(buf);
		if (*buf) {
			if (m->system)
				lb_system_note(m->system, "kernel command line read from /etc/kernel/cmdline");
			return TAKE_PTR(buf);
		}
	}
	for (size_t i = 0; i < LB_ARRAY_SIZE(grub); i++) {
		free(buf);
		buf = NULL;
		if (read_sys_file(sr, grub[i], 8u << 20, &buf) < 0)
			continue;
		next = buf;
		while ((line = strsep(&next, "\n"))) {
			char *save = NULL, *tok = strtok_r(line, " \t", &save);

			if (!tok || (strcmp(tok, "linux") != 0 && strcmp(tok, "linuxefi") != 0 &&
				     strcmp(tok, "linux16") != 0))
				continue;
			if (!strtok_r(NULL, " \t", &save) || !save)
				continue;	/* no arguments after the kernel */
			save += strspn(save, " \t");
			lb_strstrip(save);
			if (!*save)
				continue;
			if (m->system)
				lb_system_note(m->system, "kernel command line read from the first entry of "
							  "/%s", grub[i]);
			return lb_strdup(save);
		}
	}
	return NULL;
}

static void scan_cmdline(struct lb_manifest *m, const struct lb_sysroot *sr)
{
	const char *path = getenv("LIFEBOAT_CMDLINE");
	_cleanup_free_ char *s = NULL;
	char *save = NULL, *tok;

	if (sr)
		s = offline_cmdline(m, sr);
	else if (lb_read_line(path ? path : "/proc/cmdline", &s) < 0)
		s = NULL;
	if (!s)
		return;
	if (lb_utf8_is_printable(s))
		m->boot->cmdline = lb_strdup(s);
	for (tok = strtok_r(s, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(tok, '=');

		if (!eq)
			continue;
		*eq = '\0';
		if (strcmp(tok, "root") == 0 || strcmp(tok, "resume") == 0 ||
		    strcmp(tok, "cryptdevice") == 0 ||
		    strcmp(tok, "systemd.swap") == 0 || strcmp(tok, "usr") == 0 ||
		    strcmp(tok, "mount.usr") == 0) {
			_cleanup_free_ char *key = lb_strdup(tok);

			add_ref(m, "cmdline", 1, eq + 1, key);
		} else if (strcmp(tok, "rd.luks.uuid") == 0 || strcmp(tok, "rd.luks.name") == 0) {
			/* a bare UUID, "luks-" prefixed or not; rd.luks.name=UUID=name */
			_cleanup_free_ char *key = lb_strdup(tok);
			const char *u = eq + 1;
			_cleanup_free_ char *form = NULL;

			if (strncmp(u, "luks-", 5) == 0)
				u += 5;
			form = lb_asprintf("UUID=%s", u);
			if (strcmp(tok, "rd.luks.name") == 0 && strchr(form, '='))
				*strchr(form + 5, '=') = '\0';
			add_ref(m, "cmdline", 1, form, key);
		}
	}
}

static bool area_mentions(const struct lb_manifest *m, const struct lb_artifact *a,
			  const char *word)
{
	_cleanup_free_ char *path = NULL, *buf = NULL;
	int n;

	if (!a || !m->rt_dir)
		return false;
	path = lb_asprintf("%s/%s", m->rt_dir, a->file);
	n = lb_read_file(path, &buf, 64 << 20);
	return n > 0 && memmem(buf, (size_t)n, word, strlen(word)) != NULL;
}

int lb_boot_scan(struct lb_manifest *m, const struct lb_sysroot *sr)
{
	struct lb_boot *b = lb_boot_new();
	int r;

	m->boot = b;
	b->firmware = lb_strdup(access("/sys/firmware/efi", F_OK) == 0 ? "uefi" : "bios");
	if (strcmp(b->firmware, "uefi") == 0) {
		r = scan_efi(b);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < m->n_disks; i++) {
		const struct lb_disk *d = m->disks[i];

		for (size_t j = 0; j < d->n_parts; j++) {
			const struct lb_partition *p = d->parts[j];
			bool esp = p->type && (strcasecmp(p->type, GPT_TYPE_ESP) == 0 ||
					       strcmp(p->type, "0xef") == 0);

			if (!p->volume)
				continue;
			if (esp && d->selected && (!b->esp || p->volume->mountpoint)) {
				free(b->esp);
				b->esp = lb_strdup(p->volume->id);
			}
			if (p->type && strcasecmp(p->type, GPT_TYPE_BIOS_BOOT) == 0 && !b->bios_boot)
				b->bios_boot = lb_strdup(p->volume->id);
		}
		if (!b->loader && (area_mentions(m, d->boot_code, "GRUB") ||
				   area_mentions(m, d->mbr_gap, "GRUB")))
			b->loader = lb_strdup("grub");
	}
	if (!b->loader && (sys_file_exists(sr, "boot/grub/grub.cfg") ||
			   sys_file_exists(sr, "boot/grub2/grub.cfg")))
		b->loader = lb_strdup("grub");
	if (!b->loader && (sys_file_exists(sr, "boot/efi/loader/loader.conf") ||
			   sys_file_exists(sr, "efi/loader/loader.conf")))
		b->loader = lb_strdup("systemd-boot");
	scan_table_file(m, sr, "etc/fstab", 0, 1);
	scan_table_file(m, sr, "etc/crypttab", 1, 0);
	scan_cmdline(m, sr);
	return 0;
}

/* Puts the recorded EFI boot entries and BootOrder back, on a machine
 * booted through UEFI, where they differ. Their device paths name the
 * ESP's partition GUID, which the restore gives back. Returns how many
 * variables were written. */
int lb_boot_restore_efi(const struct lb_manifest *m, char **ret_note)
{
	const struct lb_boot *b = m->boot;
	efi_guid_t global = EFI_GLOBAL_GUID;
	int written = 0;

	*ret_note = NULL;
	if (!b || !b->firmware || strcmp(b->firmware, "uefi") != 0 || (!b->n_efi && !b->boot_order))
		return 0;
	if (!efi_variables_supported()) {
		*ret_note = lb_strdup("the capture has EFI boot entries, but this machine was not booted "
				      "through UEFI: they were not written");
		return 0;
	}
	for (size_t i = 0; i < b->n_efi; i++) {
		const struct lb_efi_entry *e = b->efi[i];
		uint8_t *want = NULL, *cur = NULL;
		size_t want_len = 0, cur_len = 0;
		uint32_t cur_attrs = 0;

		if (lb_hex_decode(e->data, &want, &want_len) < 0)
			return lb_err(-EINVAL, "EFI entry %s: its recorded data is not valid", e->name);
		if (efi_get_variable(global, e->name, &cur, &cur_len, &cur_attrs) == 0 &&
		    cur_len == want_len && memcmp(cur, want, cur_len) == 0) {
			free(cur);
			free(want);
			continue;
		}
		free(cur);
		if (efi_set_variable(global, e->name, want, want_len, e->attributes, 0644) < 0) {
			int err = errno;

			free(want);
			return lb_err(-err, "cannot write EFI variable %s: %s", e->name, strerror(err));
		}
		free(want);
		written++;
	}
	if (b->boot_order && *b->boot_order) {
		size_t n = (strlen(b->boot_order) + 1) / 5;
		_cleanup_free_ uint8_t *order = lb_zalloc(n * 2);
		uint8_t *cur = NULL;
		size_t cur_len = 0;
		uint32_t attrs = 0;

		for (size_t i = 0; i < n; i++) {
			unsigned v = (unsigned)strtoul(b->boot_order + i * 5, NULL, 16);

			order[2 * i] = (uint8_t)(v & 0xff);
			order[2 * i + 1] = (uint8_t)(v >> 8);
		}
		if (efi_get_variable(global, "BootOrder", &cur, &cur_len, &attrs) != 0 ||
		    cur_len != n * 2 || memcmp(cur, order, cur_len) != 0) {
			if (efi_set_variable(global, "BootOrder", order, n * 2,
					     EFI_VARIABLE_NON_VOLATILE | EFI_VARIABLE_BOOTSERVICE_ACCESS |
						     EFI_VARIABLE_RUNTIME_ACCESS,
					     0644) < 0) {
				int err = errno;

				free(cur);
				return lb_err(-err, "cannot write BootOrder: %s", strerror(err));
			}
			written++;
		}
		free(cur);
	}
	return written;
}
