// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The image's modules: the numbered directories of initramfs/ (dracut
 * style, one directory each), read in name order. A module is a directory
 * NNname/ holding module.conf, plain text, one "key: value" a line, '#'
 * comments. Conditions and order:
 *
 *   description: TEXT           what it is for (shown with LIFEBOAT_DEBUG)
 *   requires: NAME...           other modules ("base" or "10base"); when one
 *                               of them does not apply, neither does this one
 *   if-exists: PATH...          applies only when every PATH exists here
 *   if-program: NAME...         applies only when every program is found
 *
 * and what it installs, line by line in file order (a trailing '?' on a
 * name makes it optional: a note when missing instead of an error):
 *
 *   dirs: PATH...               directories
 *   symlink: LINK TARGET        a symbolic link
 *   node: PATH c|b MAJ MIN MODE a device node (/dev/console before devtmpfs)
 *   files: PATH...              host files as they are (symlinks followed
 *                               and kept as links)
 *   install: SRC DEST [MODE]    a file of the module directory
 *   programs: NAME...           programs from PATH, with their ELF
 *                               dependencies (interpreter and DT_NEEDED,
 *                               resolved as the dynamic loader does)
 *   self: PATH                  this lifeboat binary, with its libraries
 *   busybox: PATH               busybox with a link for each applet; a real
 *                               program of the same name wins
 *   modules: NAME...            kernel modules (names, aliases or globs)
 *                               with their dependencies and softdeps, as
 *                               modprobe resolves them (libkmod); /init
 *                               loads them when their hardware is there
 *                               (by modalias, with busybox modprobe)
 *   load: NAME...               the same, and /init loads them at boot
 *   icu-data: empty|full        ICU's 31 MiB data library as an empty table
 *                               (see icu.c), or whole
 *
 * Each key is one row of the table below: a condition, or what it
 * installs, with the number of arguments it takes.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rescue/rescue-int.h"

struct key_def;

struct mline {
	unsigned no;
	const struct key_def *def;
	char **args;
	size_t n_args;
};

struct rmod {
	char *dirname;		/* 40storage */
	char *name;		/* storage */
	char *dir;
	char *conf;
	struct mline *lines;
	size_t n_lines;
	int applies;		/* -1 unknown, 0 no, 1 yes */
	char *why_not;
	bool visiting;
};

struct rs_modset {
	struct rmod *mods;
	size_t n;
};

/* One line at work: its module, where it is (file:line), what it says. */
struct line {
	struct rs_image *img;
	const struct rmod *m;
	const struct mline *l;
	const char *where;
};

struct key_def {
	const char *key;
	bool text;		/* the rest of the line is one argument */
	/* a condition: 1 when it holds for ARG, 0 when not (why in
	 * m->why_not), < 0 on error */
	int (*cond)(struct rs_modset *set, struct rmod *m, const struct mline *l, const char *arg);
	/* what it installs */
	int (*install)(const struct line *x);
	/* the arguments install takes (max 0: any number), and what to say
	 * when it gets others */
	size_t min_args, max_args;
	const char *usage;
};

/* ---- conditions ------------------------------------------------------- */

static int rmod_applies(struct rs_modset *set, struct rmod *m);

static struct rmod *rmod_find(struct rs_modset *set, const char *name)
{
	for (size_t i = 0; i < set->n; i++)
		if (strcmp(set->mods[i].name, name) == 0 || strcmp(set->mods[i].dirname, name) == 0)
			return &set->mods[i];
	return NULL;
}

static int cond_exists(struct rs_modset *set, struct rmod *m, const struct mline *l, const char *arg)
{
	(void)set;
	(void)l;
	if (access(arg, F_OK) == 0)
		return 1;
	m->why_not = lb_asprintf("%s does not exist here", arg);
	return 0;
}

static int cond_program(struct rs_modset *set, struct rmod *m, const struct mline *l, const char *arg)
{
	_cleanup_free_ char *p = rs_find_program(arg);

	(void)set;
	(void)l;
	if (p)
		return 1;
	m->why_not = lb_asprintf("no program %s here", arg);
	return 0;
}

static int cond_requires(struct rs_modset *set, struct rmod *m, const struct mline *l, const char *arg)
{
	struct rmod *dep = rmod_find(set, arg);
	int r;

	if (!dep)
		return lb_err(-ENOENT, "%s:%u: requires %s, which is not a module", m->conf, l->no, arg);
	r = rmod_applies(set, dep);
	if (r == 0)
		m->why_not = lb_asprintf("it requires %s, which does not apply", dep->dirname);
	return r;
}

/* Decides whether module M applies: its own conditions, then those of
 * every module it requires, line by line. */
static int rmod_applies(struct rs_modset *set, struct rmod *m)
{
	int r = 1;

	if (m->applies >= 0)
		return m->applies;
	if (m->visiting)
		return lb_err(-ELOOP, "%s: requires itself through other modules", m->conf);
	m->visiting = true;
	for (size_t i = 0; i < m->n_lines && r > 0; i++) {
		const struct mline *l = &m->lines[i];

		for (size_t j = 0; l->def->cond && j < l->n_args && r > 0; j++)
			r = l->def->cond(set, m, l, l->args[j]);
	}
	m->visiting = false;
	if (r >= 0)
		m->applies = r;
	return r;
}

/* ---- what a line installs --------------------------------------------- */

static char *optional_name(const char *arg, bool *optional)
{
	size_t n = strlen(arg);
	char *s;

	*optional = n > 1 && arg[n - 1] == '?';
	s = strndup(arg, *optional ? n - 1 : n);
	if (!s)
		abort();
	return s;
}

static int usage(const struct line *x)
{
	return lb_err(-EINVAL, "%s: expected %s", x->where, x->l->def->usage);
}

static int do_dirs(const struct line *x)
{
	int r = 0;

	for (size_t i = 0; i < x->l->n_args && r >= 0; i++)
		r = rs_add_dir(x->img, x->l->args[i]);
	return r;
}

static int do_symlink(const struct line *x)
{
	return rs_add_link(x->img, x->l->args[0], x->l->args[1], false);
}

static int do_node(const struct line *x)
{
	char *const *a = x->l->args;
	struct rs_entry *e;
	uint32_t maj, min, mode;

	if ((strcmp(a[1], "c") && strcmp(a[1], "b")) || lb_parse_u32(a[2], &maj) < 0 ||
	    lb_parse_u32(a[3], &min) < 0 || sscanf(a[4], "%o", &mode) != 1)
		return usage(x);
	e = lb_zalloc(sizeof(*e));
	e->kind = RS_NODE;
	e->path = lb_strdup(a[0]);
	e->node_type = a[1][0];
	e->node_major = maj;
	e->node_minor = min;
	e->perm = mode & 07777;
	return rs_add_entry(x->img, e, NULL);
}

static int do_files(const struct line *x)
{
	int r = 0;

	for (size_t i = 0; i < x->l->n_args && r >= 0; i++) {
		bool opt;
		_cleanup_free_ char *p = optional_name(x->l->args[i], &opt);

		if (access(p, F_OK) < 0 && opt) {
			rs_note(x->img, "%s: no %s here", x->where, p);
			continue;
		}
		r = rs_install_host_path(x->img, p, NULL, true, 0);
	}
	return r;
}

static int do_install(const struct line *x)
{
	char *const *a = x->l->args;
	_cleanup_free_ char *src = NULL;
	uint32_t mode = 0644;
	char *data = NULL;
	int n;

	if (strstr(a[0], "..") || (x->l->n_args == 3 && sscanf(a[2], "%o", &mode) != 1))
		return usage(x);
	src = lb_asprintf("%s/%s", x->m->dir, a[0]);
	n = lb_read_file(src, &data, 64 << 20);
	if (n < 0)
		return lb_err(n, "%s: %s: %s", x->where, src, strerror(-n));
	return rs_add_data(x->img, a[1], data, (size_t)n, mode & 07777);
}

static int do_programs(const struct line *x)
{
	int r = 0;

	for (size_t i = 0; i < x->l->n_args && r >= 0; i++) {
		bool opt;
		_cleanup_free_ char *name = optional_name(x->l->args[i], &opt);
		_cleanup_free_ char *p = rs_find_program(name);

		if (!p) {
			if (opt) {
				rs_note(x->img, "%s: no program %s here", x->where, name);
				continue;
			}
			return lb_err(-ENOENT, "%s: no program %s here", x->where, name);
		}
		r = rs_install_host_path(x->img, p, NULL, true, 0);
		x->img->stats->n_programs++;
	}
	return r;
}

static int do_self(const struct line *x)
{
	const char *self = x->img->o->self ? x->img->o->self : "/proc/self/exe";
	_cleanup_free_ char *real = realpath(self, NULL);

	return rs_install_host_path(x->img, real ? real : self, x->l->args[0], true, 0);
}

static int do_busybox(const struct line *x)
{
	return rs_install_busybox(x->img, x->l->args[0], x->where);
}

static int do_icu_data(const struct line *x)
{
	const char *a = x->l->args[0];

	if (strcmp(a, "empty") && strcmp(a, "full"))
		return usage(x);
	x->img->icu_empty = strcmp(a, "empty") == 0;
	return 0;
}

static int want_kmods(const struct line *x, bool boot)
{
	for (size_t i = 0; i < x->l->n_args; i++) {
		bool opt;
		_cleanup_free_ char *name = optional_name(x->l->args[i], &opt);
		int r = rs_kmods_want(x->img->kmods, name, boot);

		if (r < 0)
			return r;
		if (r > 0)
			continue;
		if (!opt)
			return lb_err(-ENOENT, "%s: kernel module %s is neither a module nor built into %s "
					       "(mark it optional as %s?)",
				      x->where, name, x->img->kver, name);
		rs_note(x->img, "%s: kernel module %s is not in %s", x->where, name, x->img->kver);
	}
	return 0;
}

static int do_modules(const struct line *x)
{
	return want_kmods(x, false);
}

static int do_load(const struct line *x)
{
	return want_kmods(x, true);
}

static const struct key_def keys[] = {
	{ "description", .text = true },
	{ "requires", .cond = cond_requires },
	{ "if-exists", .cond = cond_exists },
	{ "if-program", .cond = cond_program },
	{ "dirs", .install = do_dirs },
	{ "symlink", .install = do_symlink, 2, 2, "'symlink: LINK TARGET'" },
	{ "node", .install = do_node, 5, 5, "'node: PATH c|b MAJOR MINOR MODE'" },
	{ "files", .install = do_files },
	{ "install", .install = do_install, 2, 3,
	  "'install: SRC DEST [MODE]' (SRC in the module directory)" },
	{ "programs", .install = do_programs },
	{ "self", .install = do_self, 1, 1, "'self: PATH'" },
	{ "busybox", .install = do_busybox, 1, 1, "'busybox: PATH'" },
	{ "modules", .install = do_modules },
	{ "load", .install = do_load },
	{ "icu-data", .install = do_icu_data, 1, 1, "'icu-data: empty' or 'icu-data: full'" },
};

static const struct key_def *find_key(const char *key)
{
	for (size_t i = 0; i < LB_ARRAY_SIZE(keys); i++)
		if (strcmp(keys[i].key, key) == 0)
			return &keys[i];
	return NULL;
}

static int run_line(struct rs_image *img, const struct rmod *m, const struct mline *l)
{
	_cleanup_free_ char *where = lb_asprintf("%s:%u", m->conf, l->no);
	const struct line x = { img, m, l, where };

	if (!l->def->install)
		return 0;
	if (l->def->max_args && (l->n_args < l->def->min_args || l->n_args > l->def->max_args))
		return usage(&x);
	return l->def->install(&x);
}

/* ---- reading ---------------------------------------------------------- */

static void rmod_clear(struct rmod *m)
{
	for (size_t i = 0; i < m->n_lines; i++) {
		for (size_t j = 0; j < m->lines[i].n_args; j++)
			free(m->lines[i].args[j]);
		free(m->lines[i].args);
	}
	free(m->lines);
	free(m->dirname);
	free(m->name);
	free(m->dir);
	free(m->conf);
	free(m->why_not);
}

/* One "key: value" line (S, stripped, not a comment) into M. */
static int parse_line(struct rmod *m, char *s, unsigned no)
{
	char *colon = strchr(s, ':'), *save = NULL;
	const struct key_def *def;
	struct mline *ml;

	if (!colon)
		return lb_err(-EINVAL, "%s:%u: expected 'key: value'", m->conf, no);
	*colon = '\0';
	def = find_key(s);
	if (!def)
		return lb_err(-EINVAL, "%s:%u: unknown key '%s'", m->conf, no, s);
	m->lines = lb_realloc_array(m->lines, m->n_lines + 1, sizeof(*m->lines));
	ml = &m->lines[m->n_lines++];
	memset(ml, 0, sizeof(*ml));
	ml->no = no;
	ml->def = def;
	if (def->text) {
		ml->args = lb_zalloc(2 * sizeof(char *));
		ml->args[0] = lb_strdup(lb_strstrip(colon + 1));
		ml->n_args = 1;
		return 0;
	}
	for (char *w = strtok_r(colon + 1, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		ml->args = lb_realloc_array(ml->args, ml->n_args + 2, sizeof(char *));
		ml->args[ml->n_args++] = lb_strdup(w);
		ml->args[ml->n_args] = NULL;
	}
	return 0;
}

static int rmod_parse(struct rmod *m)
{
	_cleanup_fclose_ FILE *f = fopen(m->conf, "re");
	char *line = NULL;
	size_t cap = 0;
	unsigned no = 0;
	int r = 0;

	if (!f)
		return lb_err(-errno, "%s: %s", m->conf, strerror(errno));
	while (r >= 0 && getline(&line, &cap, f) > 0) {
		char *s = lb_strstrip(line);

		no++;
		if (*s && *s != '#')
			r = parse_line(m, s, no);
	}
	free(line);
	return r;
}

/* DIR/D as a module when it is NNname/ with a module.conf. */
static int rmod_add(struct rs_modset *set, const char *dir, const char *d)
{
	_cleanup_free_ char *conf = lb_asprintf("%s/%s/module.conf", dir, d);
	struct rmod *m;
	size_t k = 0;

	if (d[0] < '0' || d[0] > '9' || access(conf, F_OK) < 0)
		return 0;
	set->mods = lb_realloc_array(set->mods, set->n + 1, sizeof(*set->mods));
	m = &set->mods[set->n++];
	memset(m, 0, sizeof(*m));
	m->dirname = lb_strdup(d);
	while (d[k] >= '0' && d[k] <= '9')
		k++;
	m->name = lb_strdup(d + k);
	m->dir = lb_asprintf("%s/%s", dir, d);
	m->conf = TAKE_PTR(conf);
	m->applies = -1;
	return rmod_parse(m);
}

void rs_modset_free(struct rs_modset *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->n; i++)
		rmod_clear(&set->mods[i]);
	free(set->mods);
	free(set);
}

int rs_modset_load(const char *dir, struct rs_modset **ret)
{
	struct rs_modset *set = lb_zalloc(sizeof(*set));
	struct dirent **list = NULL;
	int cnt, r = 0;

	cnt = scandir(dir, &list, NULL, alphasort);
	if (cnt < 0) {
		free(set);
		return lb_err(-errno, "%s: %s", dir, strerror(errno));
	}
	for (int i = 0; i < cnt; i++) {
		if (r >= 0)
			r = rmod_add(set, dir, list[i]->d_name);
		free(list[i]);
	}
	free(list);
	if (r >= 0 && !set->n)
		r = lb_err(-ENOENT, "%s: no modules (NNname/module.conf)", dir);
	if (r < 0) {
		rs_modset_free(set);
		return r;
	}
	*ret = set;
	return 0;
}

int rs_modset_install(struct rs_modset *set, struct rs_image *img)
{
	struct lb_rescue_stats *st = img->stats;
	int r;

	for (size_t i = 0; i < set->n; i++) {
		struct rmod *m = &set->mods[i];

		r = rmod_applies(set, m);
		if (r < 0)
			return r;
		if (!r) {
			rs_note(img, "module %s left out: %s", m->dirname, m->why_not);
			continue;
		}
		lb_debug("rescue", "module %s", m->dirname);
		st->applied = lb_realloc_array(st->applied, st->n_applied + 1, sizeof(char *));
		st->applied[st->n_applied++] = lb_strdup(m->dirname);
		for (size_t j = 0; j < m->n_lines; j++) {
			r = run_line(img, m, &m->lines[j]);
			if (r < 0)
				return r;
		}
	}
	return 0;
}
