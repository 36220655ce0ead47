// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * /etc/ld.so.cache, where the dynamic loader looks after DT_RUNPATH: the
 * format glibc 2.32 and later write ("glibc-ld.so.cache1.1", possibly
 * after the old "ld.so-1.7.0" table): a header, nlibs entries of
 * { int32 flags; uint32 key, value; uint32 osversion; uint64 hwcap }, then
 * the strings, offsets counted from the new header. No library reads it
 * for another program; glibc's ldconfig -p only prints it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rescue/rescue-int.h"

#define LDSO_CACHE "/etc/ld.so.cache"
#define LDCACHE_NEW_MAGIC "glibc-ld.so.cache1.1"
#define LDCACHE_OLD_MAGIC "ld.so-1.7.0"
#define LDCACHE_NEW_HEADER 48

struct ldcache_entry {
	int32_t flags;
	uint32_t key, value;
	uint32_t osversion;
	uint64_t hwcap;
};

struct rs_ldcache {
	char *buf;		/* NULL: unreadable, the default directories only */
	size_t len;
};

void rs_ldcache_free(struct rs_ldcache *cache)
{
	if (!cache)
		return;
	free(cache->buf);
	free(cache);
}

static struct rs_ldcache *ldcache_read(const char *path)
{
	struct rs_ldcache *c = lb_zalloc(sizeof(*c));
	int n = lb_read_file(path, &c->buf, 64 << 20);

	if (n >= 0)
		c->len = (size_t)n;
	else
		lb_debug("rescue", "%s: %s; searching the default directories only", path, strerror(-n));
	return c;
}

/* Where the new table starts, after the old one if there is one; or
 * (size_t)-1. */
static size_t new_table(const struct rs_ldcache *c)
{
	size_t off = 0;

	if (c->len >= sizeof(LDCACHE_OLD_MAGIC) - 1 + 4 &&
	    memcmp(c->buf, LDCACHE_OLD_MAGIC, sizeof(LDCACHE_OLD_MAGIC) - 1) == 0) {
		uint32_t nold;

		memcpy(&nold, c->buf + sizeof(LDCACHE_OLD_MAGIC) - 1, 4);
		off = sizeof(LDCACHE_OLD_MAGIC) - 1 + 4 + (size_t)nold * 12;
		off = (off + 7) & ~(size_t)7;
	}
	if (off + LDCACHE_NEW_HEADER > c->len ||
	    memcmp(c->buf + off, LDCACHE_NEW_MAGIC, sizeof(LDCACHE_NEW_MAGIC) - 1) != 0)
		return (size_t)-1;
	return off;
}

const char *rs_ldcache_lookup(struct rs_ldcache **cache, const char *path, const char *name, int cls,
			      int machine)
{
	const struct rs_ldcache *c;
	const char *base;
	size_t off, len;
	uint32_t nlibs;

	if (!*cache)
		*cache = ldcache_read(path ? path : LDSO_CACHE);
	c = *cache;
	if (!c->buf || (off = new_table(c)) == (size_t)-1)
		return NULL;
	len = c->len - off;
	base = c->buf + off;
	memcpy(&nlibs, base + 20, 4);
	if ((uint64_t)nlibs * sizeof(struct ldcache_entry) > len - LDCACHE_NEW_HEADER)
		return NULL;
	for (uint32_t i = 0; i < nlibs; i++) {
		struct ldcache_entry e;
		const char *key, *value;

		memcpy(&e, base + LDCACHE_NEW_HEADER + i * sizeof(e), sizeof(e));
		if (e.key >= len || e.value >= len)
			continue;
		key = base + e.key;
		value = base + e.value;
		if (!memchr(key, '\0', len - e.key) || !memchr(value, '\0', len - e.value))
			continue;
		/* a library built for this CPU's extensions (glibc-hwcaps) may
		 * not run on the machine the rescue image boots */
		if (strcmp(key, name) != 0 || e.hwcap || strstr(value, "/glibc-hwcaps/"))
			continue;
		if (rs_elf_matches(value, cls, machine))
			return value;
	}
	return NULL;
}
