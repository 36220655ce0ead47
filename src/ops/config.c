// SPDX-License-Identifier: GPL-3.0-or-later
/* lifeboat.conf(5): "key = value" lines, blank lines, and comment lines
 * whose first character that is not a blank is '#'. Every key is a long
 * option of capture, list or status, or one of the hook keys; a repeatable
 * key may be given many times and the others once. A value is the rest of
 * the line after '=', blanks at both ends taken off: a '#' in it is part of
 * it (a program path may hold one).
 *
 * Parsed through one table: key, field, parser. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "data/data.h"
#include "ops/ops.h"

#define CONFIG_MAX (1024 * 1024)

enum kind {
	K_PATH,		/* an absolute path, once */
	K_WORD,		/* any text, once */
	K_LIST,		/* any text, repeatable */
	K_PROGRAMS,	/* absolute paths, repeatable */
	K_UINT,		/* with its has_ flag */
	K_BOOL,
	K_DAYS,
	K_DATA,		/* none, auto, image or archive */
	K_COMPRESS,	/* 1-19 or none */
	K_ONFAIL,	/* stop or continue: true for continue */
};

struct key {
	const char *name;
	enum kind kind;
	size_t off;		/* the field */
	size_t off_n;		/* a list's count, or a value's has_ flag */
	uint32_t min;		/* K_UINT */
};

#define F(f) offsetof(struct lb_config, f)
static const struct key keys[] = {
	{ "into", K_PATH, F(into), 0, 0 },
	{ "output", K_PATH, F(output), 0, 0 },
	{ "keep", K_UINT, F(keep), F(has_keep), 1 },
	{ "disk", K_LIST, F(disks), F(n_disks), 0 },
	{ "exclude-disk", K_LIST, F(exclude), F(n_exclude), 0 },
	{ "data", K_DATA, F(data), 0, 0 },
	{ "compress", K_COMPRESS, F(compress), 0, 0 },
	{ "encrypt", K_BOOL, F(encrypt), F(has_encrypt), 0 },
	{ "key-file", K_LIST, F(key_files), F(n_key_files), 0 },
	{ "max-age", K_DAYS, F(max_age), F(has_max_age), 0 },
	{ "json", K_BOOL, F(json), F(has_json), 0 },
	{ "pre-capture", K_PROGRAMS, F(pre), F(n_pre), 0 },
	{ "post-capture", K_PROGRAMS, F(post), F(n_post), 0 },
	{ "hook-timeout", K_UINT, F(hook_timeout), F(has_hook_timeout), 0 },
	{ "pre-capture-failure", K_ONFAIL, F(pre_continue), F(has_pre_continue), 0 },
};
#undef F

int lb_parse_days(const char *s, double *ret)
{
	char *end;
	double v;

	if (!s || !*s || strchr(" \t+-", s[0]))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < 0 || strpbrk(s, "xXpPnNiI"))
		return -EINVAL;
	*ret = v;
	return 0;
}

int lb_parse_compress(const char *s, int *ret)
{
	uint32_t v;

	if (strcmp(s, "none") == 0) {
		*ret = 0;
		return 0;
	}
	if (lb_parse_u32(s, &v) < 0 || v < 1 || v > 19)
		return -EINVAL;
	*ret = (int)v;
	return 0;
}

static bool parse_bool(const char *s, bool *ret)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < LB_ARRAY_SIZE(yes); i++) {
		if (strcmp(s, yes[i]) == 0) {
			*ret = true;
			return true;
		}
		if (strcmp(s, no[i]) == 0) {
			*ret = false;
			return true;
		}
	}
	return false;
}

static void append(struct lb_config *c, const struct key *k, const char *value)
{
	char ***list = (char ***)((char *)c + k->off);
	size_t *n = (size_t *)((char *)c + k->off_n);

	*list = lb_realloc_array(*list, *n + 1, sizeof(char *));
	(*list)[(*n)++] = lb_strdup(value);
}

/* Sets k from value; an error message (without the place) or NULL. */
static char *set(struct lb_config *c, const struct key *k, const char *value)
{
	char *base = (char *)c;
	bool *has = (bool *)(base + k->off_n);
	enum lb_data_mode mode;
	int level;
	uint32_t u;
	double d;
	bool b;

	if (k->kind != K_LIST && k->kind != K_PROGRAMS) {
		bool given = k->off_n ? *has : *(char **)(base + k->off) != NULL;

		if (given)
			return lb_asprintf("%s is given twice (only %s may be repeated)", k->name,
					   "disk, exclude-disk, key-file, pre-capture and post-capture");
	}
	switch (k->kind) {
	case K_PATH:
		if (value[0] != '/')
			return lb_asprintf("%s: '%s' is not an absolute path", k->name, value);
		/* fall through */
	case K_WORD:
		*(char **)(base + k->off) = lb_strdup(value);
		return NULL;
	case K_LIST:
		append(c, k, value);
		return NULL;
	case K_PROGRAMS:
		if (value[0] != '/')
			return lb_asprintf("%s: '%s' is not an absolute path (no PATH search, no shell)",
					   k->name, value);
		append(c, k, value);
		return NULL;
	case K_UINT:
		if (lb_parse_u32(value, &u) < 0 || u < k->min)
			return lb_asprintf("%s: '%s' is not a whole number of at least %u", k->name,
					   value, k->min);
		memcpy(base + k->off, &u, sizeof(u));
		break;
	case K_BOOL:
		if (!parse_bool(value, &b))
			return lb_asprintf("%s: '%s' is not yes or no", k->name, value);
		memcpy(base + k->off, &b, sizeof(b));
		break;
	case K_DAYS:
		if (lb_parse_days(value, &d) < 0)
			return lb_asprintf("%s: '%s' is not a number of days", k->name, value);
		memcpy(base + k->off, &d, sizeof(d));
		break;
	case K_DATA:
		if (lb_data_mode_parse(value, &mode) < 0)
			return lb_asprintf("%s: '%s': expected none, auto, image or archive", k->name,
					   value);
		*(char **)(base + k->off) = lb_strdup(value);
		return NULL;
	case K_COMPRESS:
		if (lb_parse_compress(value, &level) < 0)
			return lb_asprintf("%s: '%s': expected 1-19 or none", k->name, value);
		*(char **)(base + k->off) = lb_strdup(value);
		return NULL;
	case K_ONFAIL:
		if (strcmp(value, "stop") != 0 && strcmp(value, "continue") != 0)
			return lb_asprintf("%s: '%s': expected stop or continue", k->name, value);
		b = strcmp(value, "continue") == 0;
		memcpy(base + k->off, &b, sizeof(b));
		break;
	default:
		return lb_strdup("unknown kind");
	}
	*has = true;
	return NULL;
}

/* One line, blanks stripped at both ends; an error message or NULL. */
static char *parse_line(struct lb_config *c, char *line)
{
	char *eq, *key, *value;

	if (!*line || *line == '#')
		return NULL;
	eq = strchr(line, '=');
	if (!eq)
		return lb_asprintf("expected 'key = value' or a '#' comment");
	*eq = '\0';
	key = lb_strstrip(line);
	value = lb_strstrip(eq + 1);
	if (!*key)
		return lb_asprintf("no key before '='");
	if (!lb_utf8_is_printable(value))
		return lb_asprintf("%s: the value holds control characters or bad UTF-8", key);
	for (size_t i = 0; i < LB_ARRAY_SIZE(keys); i++) {
		if (strcmp(key, keys[i].name) != 0)
			continue;
		if (!*value)
			return lb_asprintf("%s: no value", key);
		return set(c, &keys[i], value);
	}
	return lb_asprintf("unknown key '%s'", lb_esc(key));
}

int lb_config_parse(struct lb_config *c, const char *buf, size_t len, const char *name)
{
	_cleanup_free_ char *copy = NULL;
	char *line, *next;
	unsigned no = 0;

	if (memchr(buf, '\0', len))
		return lb_err(-EINVAL, "%s: holds a NUL byte: not a configuration file", name);
	copy = lb_zalloc(len + 1);
	memcpy(copy, buf, len);
	for (line = copy; line; line = next) {
		_cleanup_free_ char *msg = NULL;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		no++;
		if (!next && !*line)
			break;
		msg = parse_line(c, lb_strstrip(line));
		if (msg)
			return lb_err(-EINVAL, "%s:%u: %s", name, no, msg);
	}
	return 0;
}

int lb_config_load(struct lb_config *c, const char *path)
{
	_cleanup_free_ char *buf = NULL;
	const char *name = path ? path : LB_CONFIG_FILE;
	struct stat st;
	int r;

	if (stat(name, &st) < 0) {
		if (errno == ENOENT && !path)
			return 0;
		return lb_err(-errno, "%s: %s", name, strerror(errno));
	}
	/* it names programs run as whoever runs lifeboat: only they (or root)
	 * may change it */
	if ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & 0022))
		return lb_err(-EPERM, "%s: writable by others than its owner, or owned by another "
				      "user: refused, since it names programs to run",
			      name);
	r = lb_read_file(name, &buf, CONFIG_MAX);
	if (r < 0)
		return lb_err(r, "%s: %s", name, strerror(-r));
	return lb_config_parse(c, buf, (size_t)r, name);
}

static void free_list(char **l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(l[i]);
	free(l);
}

void lb_config_clear(struct lb_config *c)
{
	free(c->into);
	free(c->output);
	free_list(c->disks, c->n_disks);
	free_list(c->exclude, c->n_exclude);
	free(c->data);
	free(c->compress);
	free_list(c->key_files, c->n_key_files);
	free_list(c->pre, c->n_pre);
	free_list(c->post, c->n_post);
	memset(c, 0, sizeof(*c));
}
