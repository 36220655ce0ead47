// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Kernel modules and what they need, resolved by libkmod as modprobe
 * resolves them: names and aliases (modules.alias, modprobe.d's "alias"),
 * dependencies (modules.dep), soft dependencies (modprobe.d's "softdep"
 * and the modules directory's own modules.softdep), built-in modules
 * (modules.builtin). libkmod reads the binary indexes depmod writes; a
 * tree without them gets a scratch copy that has them (kindex.c).
 *
 * The walk is depth first, as modprobe loads: a module's pre softdeps and
 * dependencies before it, its post softdeps after it.
 */
#include <errno.h>
#include <fnmatch.h>
#include <libkmod.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rescue/rescue-int.h"

#define MAX_DEPTH 64

struct rs_kmods {
	struct kmod_ctx *ctx;
	char *kdir;		/* the modules directory */
	char *index_dir;	/* what libkmod reads: the modules directory, or ... */
	char *scratch;		/* ... a copy with indexes, made here (removed at the end) */
	char **names;		/* every module of modules.dep, for globs */
	size_t n_names;
	struct rs_kmod **mods;	/* the modules walked */
	size_t n_mods;
	struct rs_kmod **load;	/* the chosen ones, in load order */
	size_t n_load;
	char *kver;
	char **notes;		/* soft dependencies that are nowhere */
	size_t n_notes;
};

static char *norm_name(const char *s)
{
	char *n = lb_strdup(s);

	for (char *p = n; *p; p++)
		if (*p == '-')
			*p = '_';
	return n;
}

/* libkmod's messages go to the trace, not to stderr. */
static void kmod_log(void *data, int priority, const char *file, int line, const char *fn,
		     const char *format, va_list args)
{
	char *msg = NULL;

	(void)data;
	(void)file;
	(void)line;
	(void)fn;
	if (vasprintf(&msg, format, args) < 0)
		return;
	lb_debug("kmod", "<%d> %s", priority, lb_strstrip(msg));
	free(msg);
}

/* The module names of modules.dep: what a glob ("nls_*") matches. */
static int read_names(struct rs_kmods *km)
{
	_cleanup_free_ char *dep = lb_asprintf("%s/modules.dep", km->index_dir), *buf = NULL;
	char *save = NULL;
	int n;

	n = lb_read_file(dep, &buf, 64 << 20);
	if (n < 0)
		return lb_err(n, "%s: %s", dep, strerror(-n));
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *colon = strchr(line, ':'), *base, *ko;

		if (!colon)
			continue;
		*colon = '\0';
		base = strrchr(line, '/') ? strrchr(line, '/') + 1 : line;
		ko = strstr(base, ".ko");
		if (ko)
			*ko = '\0';
		km->names = lb_realloc_array(km->names, km->n_names + 1, sizeof(char *));
		km->names[km->n_names++] = norm_name(base);
	}
	return 0;
}

int rs_kmods_open(const char *kdir, const char *kver, const char *const *config_paths,
		  struct rs_kmods **ret)
{
	struct rs_kmods *km = lb_zalloc(sizeof(*km));
	_cleanup_free_ char *bin = lb_asprintf("%s/modules.dep.bin", kdir);
	_cleanup_free_ char *txt = lb_asprintf("%s/modules.dep", kdir);
	int r;

	km->kver = lb_strdup(kver);
	km->kdir = lb_strdup(kdir);
	if (access(bin, F_OK) == 0) {
		km->index_dir = lb_strdup(kdir);
	} else if (access(txt, F_OK) < 0) {
		r = lb_err(-errno, "%s: %s (run depmod %s?)", txt, strerror(errno), kver);
		goto fail;
	} else {
		r = rs_kindex_make(kdir, kver, &km->scratch, &km->index_dir);
		if (r < 0)
			goto fail;
	}
	km->ctx = kmod_new(km->index_dir, config_paths);
	if (!km->ctx) {
		r = lb_err(-ENOMEM, "%s: libkmod cannot open it", km->index_dir);
		goto fail;
	}
	kmod_set_log_fn(km->ctx, kmod_log, NULL);
	/* the indexes mapped once; when one is missing, libkmod opens each
	 * on every lookup instead (modprobe goes on the same way) */
	r = kmod_load_resources(km->ctx);
	if (r < 0)
		lb_debug("rescue", "%s: libkmod cannot map its indexes (%s): reading them as needed",
			 km->index_dir, strerror(-r));
	r = read_names(km);
	if (r < 0)
		goto fail;
	*ret = km;
	return 0;
fail:
	rs_kmods_free(km);
	return r;
}

void rs_kmods_free(struct rs_kmods *km)
{
	if (!km)
		return;
	if (km->ctx)
		kmod_unref(km->ctx);
	if (km->scratch)
		lb_rm_rf(km->scratch);
	free(km->scratch);
	free(km->index_dir);
	for (size_t i = 0; i < km->n_names; i++)
		free(km->names[i]);
	free(km->names);
	for (size_t i = 0; i < km->n_mods; i++) {
		struct rs_kmod *k = km->mods[i];

		free(k->name);
		free(k->path);
		for (size_t j = 0; j < k->n_deps; j++)
			free(k->deps[j]);
		free(k->deps);
		free(k);
	}
	free(km->mods);
	free(km->load);
	for (size_t i = 0; i < km->n_notes; i++)
		free(km->notes[i]);
	free(km->notes);
	free(km->kver);
	free(km->kdir);
	free(km);
}

/* MOD's file as modules.dep names it: relative to the modules directory
 * (or absolute, when modules.dep says so). NULL: built in. */
static char *rel_path(const struct rs_kmods *km, const struct kmod_module *mod)
{
	const char *path = kmod_module_get_path(mod);
	size_t n = strlen(km->index_dir);

	if (!path)
		return NULL;
	if (strncmp(path, km->index_dir, n) != 0 || path[n] != '/')
		return lb_strdup(path);
	if (km->scratch)
		return rs_kindex_tree_path(km->kdir, path + n + 1);
	return lb_strdup(path + n + 1);
}

static struct rs_kmod *find_mod(const struct rs_kmods *km, const char *name)
{
	for (size_t i = 0; i < km->n_mods; i++)
		if (strcmp(km->mods[i]->name, name) == 0)
			return km->mods[i];
	return NULL;
}

/* The walk's record of MOD, made on first sight. NULL: built in. */
static struct rs_kmod *get_mod(struct rs_kmods *km, struct kmod_module *mod)
{
	_cleanup_free_ char *name = norm_name(kmod_module_get_name(mod));
	struct rs_kmod *k = find_mod(km, name);
	struct kmod_list *deps, *l;
	char *path;

	if (k)
		return k;
	path = rel_path(km, mod);
	if (!path)
		return NULL;
	k = lb_zalloc(sizeof(*k));
	k->name = TAKE_PTR(name);
	k->path = path;
	/* libkmod lists them in load order, the reverse of modules.dep's */
	deps = kmod_module_get_dependencies(mod);
	kmod_list_foreach_reverse(l, deps) {
		struct kmod_module *dm = kmod_module_get_module(l);
		char *d = rel_path(km, dm);

		kmod_module_unref(dm);

		if (!d)
			continue;
		k->deps = lb_realloc_array(k->deps, k->n_deps + 1, sizeof(char *));
		k->deps[k->n_deps++] = d;
	}
	kmod_module_unref_list(deps);
	km->mods = lb_realloc_array(km->mods, km->n_mods + 1, sizeof(*km->mods));
	km->mods[km->n_mods++] = k;
	return k;
}

static int visit(struct rs_kmods *km, struct kmod_module *mod, unsigned depth, bool boot);

/* Visits the modules of LIST, from its end with BACKWARDS. */
static int visit_list(struct rs_kmods *km, struct kmod_list *list, bool backwards, unsigned depth,
		      bool boot)
{
	struct kmod_list *l = backwards ? kmod_list_last(list) : list;
	int r;

	for (; l; l = backwards ? kmod_list_prev(list, l) : kmod_list_next(list, l)) {
		struct kmod_module *m = kmod_module_get_module(l);

		r = visit(km, m, depth + 1, boot);
		kmod_module_unref(m);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The names a softdep line lists before "post: " (PRE) or after it, as
 * libkmod gives the line: "pre: A B post: C" (kmod 30 leaves out the space
 * before "post:"; names have none). NULL: none. */
static char *softdep_names(const char *value, bool pre)
{
	const char *post = strstr(value, "post: ");

	if (!pre)
		return post ? lb_strdup(post + 6) : NULL;
	if (strncmp(value, "pre: ", 5) != 0)
		return NULL;
	return strndup(value + 5, post ? (size_t)(post - value - 5) : strlen(value + 5));
}

/* A soft dependency of K: every module NAME stands for (a module, an
 * alias such as crypto-crc32c, or built in); a note when none. */
static int visit_softdep(struct rs_kmods *km, const struct rs_kmod *k, const char *name, unsigned depth,
			 bool boot)
{
	struct kmod_list *list = NULL;
	int r;

	r = kmod_module_new_from_lookup(km->ctx, name, &list);
	if (r < 0)
		return lb_err(r, "kernel module %s: its soft dependency %s: %s", k->name, name, strerror(-r));
	if (!list) {
		km->notes = lb_realloc_array(km->notes, km->n_notes + 1, sizeof(char *));
		km->notes[km->n_notes++] = lb_asprintf("kernel module %s: its soft dependency %s is not in %s",
						       k->name, name, km->kver);
		return 0;
	}
	r = visit_list(km, list, false, depth, boot);
	kmod_module_unref_list(list);
	return r;
}

/* K's soft dependencies, PRE or post, from every softdep line that names
 * it: modprobe.d's and the modules directory's modules.softdep, which may
 * hold several lines for one module (btrfs: one per checksum). libkmod
 * reads them; its kmod_module_get_softdeps, like modprobe, takes only the
 * first line, and the kernel may ask for the others' modules later. */
static int visit_softdeps(struct rs_kmods *km, const struct rs_kmod *k, bool pre, unsigned depth,
			  bool boot)
{
	struct kmod_config_iter *it = kmod_config_get_softdeps(km->ctx);
	int r = 0;

	if (!it)
		return 0;
	while (r >= 0 && kmod_config_iter_next(it)) {
		const char *key = kmod_config_iter_get_key(it), *value = kmod_config_iter_get_value(it);
		_cleanup_free_ char *names = NULL;
		char *save = NULL;

		if (!key || !value || fnmatch(key, k->name, 0) != 0 || !(names = softdep_names(value, pre)))
			continue;
		for (char *w = strtok_r(names, " \t", &save); w && r >= 0; w = strtok_r(NULL, " \t", &save))
			r = visit_softdep(km, k, w, depth, boot);
	}
	kmod_config_iter_free_iter(it);
	return r;
}

/* With BOOT, the module and everything it needs are loaded by /init at
 * boot; a module already chosen is walked again to mark them. */
static int visit(struct rs_kmods *km, struct kmod_module *mod, unsigned depth, bool boot)
{
	struct rs_kmod *k = get_mod(km, mod);
	struct kmod_list *deps;
	bool again;
	int r;

	if (!k)
		return 0;	/* built in */
	again = k->state == 2;
	if (k->state == 1 || (again && (!boot || k->boot)))
		return 0;	/* done, or on the way (a cycle: modprobe breaks it too) */
	if (depth > MAX_DEPTH)
		return lb_err(-ELOOP, "kernel module %s: dependencies too deep", k->name);
	k->state = 1;
	k->boot = k->boot || boot;
	r = visit_softdeps(km, k, true, depth, boot);
	if (r < 0)
		return r;
	/* in modules.dep's order, as ever (either order loads each module
	 * after what it needs) */
	deps = kmod_module_get_dependencies(mod);
	r = visit_list(km, deps, true, depth, boot);
	kmod_module_unref_list(deps);
	if (r >= 0) {
		k->state = 2;
		if (!again) {
			km->load = lb_realloc_array(km->load, km->n_load + 1, sizeof(*km->load));
			km->load[km->n_load++] = k;
		}
		r = visit_softdeps(km, k, false, depth, boot);
	}
	return r;
}

static int want_glob(struct rs_kmods *km, const char *pat, bool boot)
{
	for (size_t i = 0; i < km->n_names; i++) {
		struct kmod_module *mod = NULL;
		int r;

		if (fnmatch(pat, km->names[i], 0) != 0)
			continue;
		r = kmod_module_new_from_name(km->ctx, km->names[i], &mod);
		if (r < 0)
			return lb_err(r, "kernel module %s: %s", km->names[i], strerror(-r));
		r = visit(km, mod, 0, boot);
		kmod_module_unref(mod);
		if (r < 0)
			return r;
	}
	return 1;
}

int rs_kmods_want(struct rs_kmods *km, const char *pattern, bool boot)
{
	_cleanup_free_ char *pat = norm_name(pattern);
	struct kmod_list *list = NULL;
	int r;

	if (strpbrk(pat, "*?["))
		return want_glob(km, pat, boot);
	r = kmod_module_new_from_lookup(km->ctx, pat, &list);
	if (r < 0)
		return lb_err(r, "kernel module %s: %s", pattern, strerror(-r));
	if (!list)
		return 0;
	r = visit_list(km, list, false, 0, boot);
	kmod_module_unref_list(list);
	return r < 0 ? r : 1;
}

size_t rs_kmods_n_chosen(const struct rs_kmods *km)
{
	return km->n_load;
}

const struct rs_kmod *rs_kmods_chosen(const struct rs_kmods *km, size_t i)
{
	return i < km->n_load ? km->load[i] : NULL;
}

bool rs_kmods_has(const struct rs_kmods *km, const char *name)
{
	_cleanup_free_ char *n = norm_name(name);
	const struct rs_kmod *k = find_mod(km, n);

	return k && k->state == 2;
}

const char *rs_kmods_index_dir(const struct rs_kmods *km)
{
	return km->index_dir;
}

size_t rs_kmods_n_notes(const struct rs_kmods *km)
{
	return km->n_notes;
}

const char *rs_kmods_note(const struct rs_kmods *km, size_t i)
{
	return i < km->n_notes ? km->notes[i] : NULL;
}
