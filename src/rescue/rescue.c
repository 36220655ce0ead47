// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The rescue image builder: reads the numbered module manifests in
 * initramfs/ (dracut style, one directory each), gathers what they name —
 * programs with every shared library they load, kernel modules with their
 * dependencies, plain files — into an image tree in memory, and writes it as
 * a compressed cpio (newc) archive with libarchive: zstd, or gzip where
 * libarchive has no zstd.
 *
 * A module is a directory NNname/ holding module.conf, plain text, one
 * "key: value" a line, '#' comments. Conditions and order:
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
 *   modules: NAME...            kernel modules (names or globs) with their
 *                               modules.dep and softdep dependencies; /init
 *                               loads them when their hardware is there
 *                               (by modalias, with busybox modprobe)
 *   load: NAME...               the same, and /init loads them at boot
 *   icu-data: empty|full        ICU's 31 MiB data library as an empty table
 *                               (see icu_stub below), or whole
 *
 * The image mirrors a merged-/usr Debian: paths resolve through the links
 * the base module makes (/bin -> usr/bin, /lib -> usr/lib, ...), so a
 * library found as /lib/x86_64-linux-gnu/libc.so.6 lands in usr/lib.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "model/model.h"
#include "fs/fs.h"
#include "manifest/manifest.h"
#include "rescue/rescue.h"

#define MAX_LINKS 40
#define LDSO_CACHE "/etc/ld.so.cache"

/* ---- the image tree ---------------------------------------------------- */

enum rs_kind {
	RS_DIR,
	RS_FILE,
	RS_LINK,
	RS_NODE,
};

struct rs_entry {
	char *path;		/* in the image: relative, no "." or "..", real parents */
	enum rs_kind kind;
	mode_t perm;
	char *src;		/* RS_FILE: host file to copy, or ... */
	uint8_t *data;		/* ... the content itself */
	size_t len;
	char *target;		/* RS_LINK */
	char node_type;		/* RS_NODE: 'c' or 'b' */
	unsigned node_major, node_minor;
	bool weak;		/* a busybox applet: a real program of that name wins */
	bool elf_done;		/* its ELF dependencies are in */
};

struct kmod {
	char *name;		/* normalized: '-' as '_' */
	char *path;		/* as in modules.dep: kernel/fs/ext4/ext4.ko[.xz] */
	char **deps;		/* paths */
	size_t n_deps;
	int state;		/* 0 new, 1 visiting, 2 in the image */
	bool boot;		/* /init loads it (load:), not only its hardware */
};

struct rs_image {
	const struct lb_rescue_opts *o;
	struct rs_entry **e;
	size_t n;

	char *kver;
	char *kdir;		/* /lib/modules/<kver> on this machine */
	struct kmod *kmods;
	size_t n_kmods;
	char **builtin;		/* module names built into the kernel */
	size_t n_builtin;
	char *alias_buf;	/* modules.alias, read when a softdep needs it */
	char *softdep_buf;
	char **load;		/* module paths in load order */
	size_t n_load;

	char *ldcache;
	size_t ldcache_len;
	bool ldcache_tried;
	bool icu_empty;		/* icu-data: empty */

	struct lb_rescue_stats *stats;
	time_t mtime;
};

static void note(struct rs_image *img, const char *fmt, ...) _printf_(2, 3);
static void note(struct rs_image *img, const char *fmt, ...)
{
	struct lb_rescue_stats *s = img->stats;
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	lb_debug("rescue", "note: %s", msg);
	s->notes = lb_realloc_array(s->notes, s->n_notes + 1, sizeof(char *));
	s->notes[s->n_notes++] = msg;
}

static void entry_free(struct rs_entry *e)
{
	if (!e)
		return;
	free(e->path);
	free(e->src);
	free(e->data);
	free(e->target);
	free(e);
}

static struct rs_entry *find_entry(const struct rs_image *img, const char *path)
{
	for (size_t i = 0; i < img->n; i++)
		if (strcmp(img->e[i]->path, path) == 0)
			return img->e[i];
	return NULL;
}

/* Resolves PATH (absolute, as on the host) to where it lands in the image:
 * every component but the last is followed through the image's links. */
static int image_path(const struct rs_image *img, const char *path, char **ret)
{
	_cleanup_free_ char *todo = lb_strdup(path), *out = lb_strdup("");
	unsigned hops = 0;

	for (;;) {
		char *s = todo, *c, *rest;
		struct rs_entry *e;

		while (*s == '/')
			s++;
		if (!*s)
			break;
		c = s;
		rest = strchr(s, '/');
		if (rest)
			*rest++ = '\0';
		while (rest && *rest == '/')
			rest++;
		if (strcmp(c, ".") == 0) {
			char *next = lb_strdup(rest ? rest : "");
			free(todo);
			todo = next;
			continue;
		}
		if (strcmp(c, "..") == 0) {
			char *slash = strrchr(out, '/');
			char *next = lb_strdup(rest ? rest : "");

			if (slash)
				*slash = '\0';
			else
				out[0] = '\0';
			free(todo);
			todo = next;
			continue;
		}
		_cleanup_free_ char *cand = *out ? lb_asprintf("%s/%s", out, c) : lb_strdup(c);
		e = rest && *rest ? find_entry(img, cand) : NULL;
		if (e && e->kind == RS_LINK) {
			char *next;

			if (++hops > MAX_LINKS)
				return lb_err(-ELOOP, "%s: too many links in the image", path);
			next = lb_asprintf("%s/%s", e->target, rest);
			if (e->target[0] == '/')
				out[0] = '\0';
			free(todo);
			todo = next;
			continue;
		}
		free(out);
		out = TAKE_PTR(cand);
		{
			char *next = lb_strdup(rest ? rest : "");
			free(todo);
			todo = next;
		}
	}
	if (!*out)
		return lb_err(-EINVAL, "%s: not a path for the image", path);
	*ret = TAKE_PTR(out);
	return 0;
}

static int add_dir(struct rs_image *img, const char *path);

/* Adds E (its path as on the host, absolute) to the image, making its
 * parent directories. A later entry replaces an earlier one at the same
 * path, except that a weak entry never replaces a real one. Takes E. */
static int add_entry(struct rs_image *img, struct rs_entry *e, struct rs_entry **ret)
{
	_cleanup_free_ char *where = NULL;
	struct rs_entry *old;
	char *slash;
	int r;

	r = image_path(img, e->path, &where);
	if (r < 0) {
		entry_free(e);
		return r;
	}
	free(e->path);
	e->path = TAKE_PTR(where);
	slash = strrchr(e->path, '/');
	if (slash) {
		_cleanup_free_ char *parent = lb_asprintf("/%.*s", (int)(slash - e->path), e->path);

		r = add_dir(img, parent);
		if (r < 0) {
			entry_free(e);
			return r;
		}
	}
	old = find_entry(img, e->path);
	if (old) {
		if (old->kind == RS_DIR && e->kind == RS_DIR) {
			entry_free(e);
			if (ret)
				*ret = old;
			return 0;
		}
		if (e->weak && !old->weak) {
			entry_free(e);
			if (ret)
				*ret = old;
			return 0;
		}
		if (old->kind == RS_DIR)
			return entry_free(e), lb_err(-EEXIST, "/%s is a directory in the image", old->path);
		if (old->kind == RS_FILE && e->kind == RS_FILE && old->src && e->src &&
		    strcmp(old->src, e->src) == 0) {
			entry_free(e);
			if (ret)
				*ret = old;
			return 0;
		}
		lb_debug("rescue", "/%s replaced", e->path);
		for (size_t i = 0; i < img->n; i++)
			if (img->e[i] == old)
				img->e[i] = e;
		entry_free(old);
	} else {
		img->e = lb_realloc_array(img->e, img->n + 1, sizeof(*img->e));
		img->e[img->n++] = e;
	}
	if (ret)
		*ret = e;
	return 0;
}

static int add_dir(struct rs_image *img, const char *path)
{
	struct rs_entry *e = lb_zalloc(sizeof(*e));

	e->kind = RS_DIR;
	e->perm = 0755;
	e->path = lb_strdup(path);
	return add_entry(img, e, NULL);
}

static int add_link(struct rs_image *img, const char *path, const char *target, bool weak)
{
	struct rs_entry *e = lb_zalloc(sizeof(*e));

	e->kind = RS_LINK;
	e->perm = 0777;
	e->path = lb_strdup(path);
	e->target = lb_strdup(target);
	e->weak = weak;
	return add_entry(img, e, NULL);
}

static int add_data(struct rs_image *img, const char *path, void *data, size_t len, mode_t perm)
{
	struct rs_entry *e = lb_zalloc(sizeof(*e));

	e->kind = RS_FILE;
	e->perm = perm;
	e->path = lb_strdup(path);
	e->data = data;
	e->len = len;
	return add_entry(img, e, NULL);
}

/* ---- ELF dependencies -------------------------------------------------- */

struct elf_info {
	int cls;		/* ELFCLASS32 or ELFCLASS64 */
	int machine;
	char *interp;		/* PT_INTERP */
	char **needed;		/* DT_NEEDED */
	size_t n_needed;
	char *rpath;		/* DT_RPATH, used only without DT_RUNPATH */
	char *runpath;		/* DT_RUNPATH */
};

static void elf_info_clear(struct elf_info *ei)
{
	free(ei->interp);
	for (size_t i = 0; i < ei->n_needed; i++)
		free(ei->needed[i]);
	free(ei->needed);
	free(ei->rpath);
	free(ei->runpath);
	memset(ei, 0, sizeof(*ei));
}

/* The parts of a program header and a dynamic entry we use, in one shape
 * for both ELF classes. */
struct phdr {
	uint32_t type;
	uint64_t offset, vaddr, filesz;
};

static int read_phdrs(int fd, const unsigned char *ident, struct phdr **ret, size_t *ret_n,
		      int *ret_machine)
{
	struct phdr *ph;
	uint64_t phoff;
	size_t n, entsize;
	int r;

	if (ident[EI_CLASS] == ELFCLASS64) {
		Elf64_Ehdr eh;

		r = lb_pread_all(fd, &eh, sizeof(eh), 0);
		if (r < 0)
			return r;
		phoff = eh.e_phoff;
		n = eh.e_phnum;
		entsize = eh.e_phentsize;
		*ret_machine = eh.e_machine;
		if (n && entsize != sizeof(Elf64_Phdr))
			return -EBADMSG;
	} else {
		Elf32_Ehdr eh;

		r = lb_pread_all(fd, &eh, sizeof(eh), 0);
		if (r < 0)
			return r;
		phoff = eh.e_phoff;
		n = eh.e_phnum;
		entsize = eh.e_phentsize;
		*ret_machine = eh.e_machine;
		if (n && entsize != sizeof(Elf32_Phdr))
			return -EBADMSG;
	}
	if (n > 4096)
		return -EBADMSG;
	ph = lb_zalloc((n + 1) * sizeof(*ph));
	for (size_t i = 0; i < n; i++) {
		if (ident[EI_CLASS] == ELFCLASS64) {
			Elf64_Phdr p;

			r = lb_pread_all(fd, &p, sizeof(p), phoff + i * entsize);
			ph[i] = (struct phdr){ p.p_type, p.p_offset, p.p_vaddr, p.p_filesz };
		} else {
			Elf32_Phdr p;

			r = lb_pread_all(fd, &p, sizeof(p), phoff + i * entsize);
			ph[i] = (struct phdr){ p.p_type, p.p_offset, p.p_vaddr, p.p_filesz };
		}
		if (r < 0) {
			free(ph);
			return r;
		}
	}
	*ret = ph;
	*ret_n = n;
	return 0;
}

/* A virtual address to a file offset, through the PT_LOAD segments. */
static bool vaddr_to_offset(const struct phdr *ph, size_t n, uint64_t vaddr, uint64_t *ret)
{
	for (size_t i = 0; i < n; i++)
		if (ph[i].type == PT_LOAD && vaddr >= ph[i].vaddr && vaddr - ph[i].vaddr < ph[i].filesz) {
			*ret = vaddr - ph[i].vaddr + ph[i].offset;
			return true;
		}
	return false;
}

/* Reads what the dynamic loader needs to know about PATH. A file that is
 * not ELF gives cls 0 and nothing else. */

/* One dynamic-section entry, whichever ELF class. */
static void dyn_entry(int cls, const uint8_t *p, uint64_t *tag, uint64_t *val)
{
	if (cls == ELFCLASS64) {
		Elf64_Dyn d;

		memcpy(&d, p, sizeof(d));
		*tag = (uint64_t)d.d_tag;
		*val = d.d_un.d_val;
	} else {
		Elf32_Dyn d;

		memcpy(&d, p, sizeof(d));
		*tag = (uint64_t)(int64_t)d.d_tag;
		*val = d.d_un.d_val;
	}
}

static int elf_read(const char *path, struct elf_info *ret)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ struct phdr *ph = NULL;
	_cleanup_free_ char *strtab = NULL;
	_cleanup_free_ uint8_t *dyn = NULL;
	unsigned char ident[EI_NIDENT];
	uint64_t strtab_addr = 0, strsz = 0, stroff, dynsz = 0;
	size_t nph = 0, dynent;
	int machine = 0, r;

	memset(ret, 0, sizeof(*ret));
	if (fd < 0)
		return lb_err(-errno, "%s: %s", path, strerror(errno));
	r = lb_pread_all(fd, ident, sizeof(ident), 0);
	if (r < 0 || memcmp(ident, ELFMAG, SELFMAG) != 0)
		return 0;	/* short or not ELF: a script or data */
	if ((ident[EI_CLASS] != ELFCLASS32 && ident[EI_CLASS] != ELFCLASS64) ||
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	    ident[EI_DATA] != ELFDATA2LSB
#else
	    ident[EI_DATA] != ELFDATA2MSB
#endif
	)
		return lb_err(-ENOEXEC, "%s: an ELF file of another class or byte order", path);
	r = read_phdrs(fd, ident, &ph, &nph, &machine);
	if (r < 0)
		return lb_err(r, "%s: cannot read its ELF program headers", path);
	ret->cls = ident[EI_CLASS];
	ret->machine = machine;
	dynent = ret->cls == ELFCLASS64 ? sizeof(Elf64_Dyn) : sizeof(Elf32_Dyn);

	for (size_t i = 0; i < nph; i++) {
		if (ph[i].type == PT_INTERP && ph[i].filesz > 1 && ph[i].filesz < PATH_MAX) {
			char *s = lb_zalloc(ph[i].filesz + 1);

			if (lb_pread_all(fd, s, ph[i].filesz, ph[i].offset) < 0) {
				free(s);
				return lb_err(-EIO, "%s: cannot read its interpreter", path);
			}
			free(ret->interp);
			ret->interp = s;
		}
		if (ph[i].type == PT_DYNAMIC && ph[i].filesz && ph[i].filesz < (16u << 20)) {
			dynsz = ph[i].filesz;
			free(dyn);
			dyn = lb_zalloc(dynsz);
			if (lb_pread_all(fd, dyn, dynsz, ph[i].offset) < 0)
				return lb_err(-EIO, "%s: cannot read its dynamic section", path);
		}
	}
	if (!dyn)
		return 0;	/* static */

	/* first the string table, then the entries that point into it */
	for (uint64_t off = 0; off + dynent <= dynsz; off += dynent) {
		uint64_t tag, val;

		dyn_entry(ret->cls, dyn + off, &tag, &val);
		if (tag == DT_NULL)
			break;
		if (tag == DT_STRTAB)
			strtab_addr = val;
		else if (tag == DT_STRSZ)
			strsz = val;
	}
	if (!strtab_addr || !strsz || strsz > (64u << 20))
		return 0;
	if (!vaddr_to_offset(ph, nph, strtab_addr, &stroff))
		return lb_err(-EBADMSG, "%s: its string table is outside every segment", path);
	strtab = lb_zalloc(strsz + 1);
	if (lb_pread_all(fd, strtab, strsz, stroff) < 0)
		return lb_err(-EIO, "%s: cannot read its string table", path);

	for (uint64_t off = 0; off + dynent <= dynsz; off += dynent) {
		uint64_t tag, val;

		dyn_entry(ret->cls, dyn + off, &tag, &val);
		if (tag == DT_NULL)
			break;
		if (tag != DT_NEEDED && tag != DT_RPATH && tag != DT_RUNPATH)
			continue;
		if (val >= strsz)
			return lb_err(-EBADMSG, "%s: a dynamic entry points outside the string table", path);
		if (tag == DT_NEEDED) {
			ret->needed = lb_realloc_array(ret->needed, ret->n_needed + 1, sizeof(char *));
			ret->needed[ret->n_needed++] = lb_strdup(strtab + val);
		} else if (tag == DT_RPATH) {
			free(ret->rpath);
			ret->rpath = lb_strdup(strtab + val);
		} else {
			free(ret->runpath);
			ret->runpath = lb_strdup(strtab + val);
		}
	}
	return 0;
}

/* True when PATH is an ELF shared object of the same class and machine. */
static bool elf_matches(const char *path, int cls, int machine)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	unsigned char ident[EI_NIDENT];
	struct phdr *ph = NULL;
	size_t n = 0;
	int m = 0;

	if (fd < 0 || lb_pread_all(fd, ident, sizeof(ident), 0) < 0 ||
	    memcmp(ident, ELFMAG, SELFMAG) != 0 || ident[EI_CLASS] != cls)
		return false;
	if (read_phdrs(fd, ident, &ph, &n, &m) < 0)
		return false;
	free(ph);
	return m == machine;
}

/* /etc/ld.so.cache, the format glibc 2.32 and later write ("glibc-ld.so.cache1.1",
 * possibly after the old "ld.so-1.7.0" table): a header, nlibs entries of
 * { int32 flags; uint32 key, value; uint32 osversion; uint64 hwcap }, then
 * the strings, offsets counted from the new header. */
struct ldcache_entry {
	int32_t flags;
	uint32_t key, value;
	uint32_t osversion;
	uint64_t hwcap;
};
#define LDCACHE_NEW_MAGIC "glibc-ld.so.cache1.1"
#define LDCACHE_OLD_MAGIC "ld.so-1.7.0"
#define LDCACHE_NEW_HEADER 48

static const char *ldcache_lookup(struct rs_image *img, const char *name, int cls, int machine)
{
	const char *base;
	size_t off = 0, len;
	uint32_t nlibs;

	if (!img->ldcache_tried) {
		char *buf = NULL;
		int n = lb_read_file(LDSO_CACHE, &buf, 64 << 20);

		img->ldcache_tried = true;
		if (n >= 0) {
			img->ldcache = buf;
			img->ldcache_len = (size_t)n;
		} else {
			lb_debug("rescue", "%s: %s; searching the default directories only", LDSO_CACHE,
				 strerror(-n));
		}
	}
	if (!img->ldcache)
		return NULL;
	len = img->ldcache_len;
	if (len >= sizeof(LDCACHE_OLD_MAGIC) - 1 + 4 &&
	    memcmp(img->ldcache, LDCACHE_OLD_MAGIC, sizeof(LDCACHE_OLD_MAGIC) - 1) == 0) {
		uint32_t nold;

		memcpy(&nold, img->ldcache + sizeof(LDCACHE_OLD_MAGIC) - 1, 4);
		off = sizeof(LDCACHE_OLD_MAGIC) - 1 + 4 + (size_t)nold * 12;
		off = (off + 7) & ~(size_t)7;
	}
	if (off + LDCACHE_NEW_HEADER > len ||
	    memcmp(img->ldcache + off, LDCACHE_NEW_MAGIC, sizeof(LDCACHE_NEW_MAGIC) - 1) != 0)
		return NULL;
	base = img->ldcache + off;
	memcpy(&nlibs, base + 20, 4);
	if ((uint64_t)nlibs * sizeof(struct ldcache_entry) > len - off - LDCACHE_NEW_HEADER)
		return NULL;
	for (uint32_t i = 0; i < nlibs; i++) {
		struct ldcache_entry e;
		const char *key, *value;

		memcpy(&e, base + LDCACHE_NEW_HEADER + i * sizeof(e), sizeof(e));
		if (e.key >= len - off || e.value >= len - off)
			continue;
		key = base + e.key;
		value = base + e.value;
		if (!memchr(key, '\0', len - off - e.key) || !memchr(value, '\0', len - off - e.value))
			continue;
		/* a library built for this CPU's extensions (glibc-hwcaps) may
		 * not run on the machine the rescue image boots */
		if (strcmp(key, name) != 0 || e.hwcap || strstr(value, "/glibc-hwcaps/"))
			continue;
		if (elf_matches(value, cls, machine))
			return value;
	}
	return NULL;
}

/* Tries each directory of a colon separated list ($ORIGIN expanded). */
static char *search_dirs(const char *list, const char *origin, const char *name, int cls, int machine)
{
	_cleanup_free_ char *copy = lb_strdup(list);
	char *save = NULL;

	for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		_cleanup_free_ char *dir = NULL, *cand = NULL;

		if (strncmp(d, "$ORIGIN", 7) == 0)
			dir = lb_asprintf("%s%s", origin, d + 7);
		else if (strncmp(d, "${ORIGIN}", 9) == 0)
			dir = lb_asprintf("%s%s", origin, d + 9);
		else
			dir = lb_strdup(d);
		cand = lb_asprintf("%s/%s", dir, name);
		if (elf_matches(cand, cls, machine))
			return TAKE_PTR(cand);
	}
	return NULL;
}

/* Finds NAME as the dynamic loader would for the object at PARENT_PATH:
 * DT_RPATH (when there is no DT_RUNPATH), DT_RUNPATH, ld.so.cache, then
 * the default directories. */
static char *find_library(struct rs_image *img, const char *name, const struct elf_info *parent,
			  const char *parent_path)
{
	static const char *const defaults =
		"/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/lib64:/usr/lib64:"
		"/lib/aarch64-linux-gnu:/usr/lib/aarch64-linux-gnu:"
		"/lib/i386-linux-gnu:/usr/lib/i386-linux-gnu:/lib32:/usr/lib32:/lib:/usr/lib";
	_cleanup_free_ char *real = realpath(parent_path, NULL);
	_cleanup_free_ char *origin = lb_strdup(real ? real : parent_path);
	const char *cached;
	char *found;

	if (strchr(name, '/'))
		return elf_matches(name, parent->cls, parent->machine) ? lb_strdup(name) : NULL;
	*strrchr(origin, '/') = '\0';
	if (parent->rpath && !parent->runpath &&
	    (found = search_dirs(parent->rpath, origin, name, parent->cls, parent->machine)))
		return found;
	if (parent->runpath &&
	    (found = search_dirs(parent->runpath, origin, name, parent->cls, parent->machine)))
		return found;
	cached = ldcache_lookup(img, name, parent->cls, parent->machine);
	if (cached)
		return lb_strdup(cached);
	return search_dirs(defaults, origin, name, parent->cls, parent->machine);
}

static int install_host_path(struct rs_image *img, const char *host, const char *dest, bool deps,
			     unsigned depth);

/* Installs what the ELF file at HOST (in the image as E) needs to run: its
 * interpreter and every DT_NEEDED, recursively. A #! script brings its
 * interpreter. */
static int install_deps(struct rs_image *img, const char *host, unsigned depth)
{
	struct elf_info ei;
	int r;

	r = elf_read(host, &ei);
	if (r < 0)
		return r;
	if (!ei.cls) {
		char line[256] = "";
		_cleanup_fclose_ FILE *f = fopen(host, "re");

		if (f && fgets(line, sizeof(line), f) && strncmp(line, "#!", 2) == 0) {
			char *interp = lb_strstrip(line + 2), *sp = strpbrk(interp, " \t");

			if (sp)
				*sp = '\0';
			/* f is closed by its cleanup attribute, which cppcheck does not see */
			if (*interp == '/' && access(interp, X_OK) == 0)
				// cppcheck-suppress resourceLeak
				return install_host_path(img, interp, NULL, true, depth + 1);
		}
		// cppcheck-suppress resourceLeak
		return 0;
	}
	if (ei.interp) {
		r = install_host_path(img, ei.interp, NULL, false, depth + 1);
		if (r < 0)
			goto out;
	}
	for (size_t i = 0; i < ei.n_needed; i++) {
		_cleanup_free_ char *lib = find_library(img, ei.needed[i], &ei, host);

		if (!lib) {
			r = lb_err(-ENOENT, "%s needs %s, which is nowhere the dynamic loader looks", host,
				   ei.needed[i]);
			goto out;
		}
		lb_debug("rescue", "%s needs %s: %s", host, ei.needed[i], lib);
		r = install_host_path(img, lib, NULL, true, depth + 1);
		if (r < 0)
			goto out;
		img->stats->n_libs++;
	}
	r = 0;
out:
	elf_info_clear(&ei);
	return r;
}

/* Installs the host file HOST at DEST (NULL: the same path). A symbolic
 * link stays a link when it lands at its own path, and what it points to
 * comes along; with DEPS, ELF dependencies come along too. */
static int install_host_path(struct rs_image *img, const char *host, const char *dest, bool deps,
			     unsigned depth)
{
	struct rs_entry *e = NULL;
	struct stat st;
	int r;

	if (depth > MAX_LINKS)
		return lb_err(-ELOOP, "%s: too many levels of links or dependencies", host);
	if (lstat(host, &st) < 0)
		return lb_err(-errno, "%s: %s", host, strerror(errno));
	if (S_ISLNK(st.st_mode) && !dest) {
		char target[PATH_MAX];
		ssize_t n = readlink(host, target, sizeof(target) - 1);
		_cleanup_free_ char *copy = lb_strdup(host), *next = NULL;

		if (n < 0)
			return lb_err(-errno, "%s: %s", host, strerror(errno));
		target[n] = '\0';
		r = add_link(img, host, target, false);
		if (r < 0)
			return r;
		next = target[0] == '/' ? lb_strdup(target) : lb_asprintf("%s/%s", dirname(copy), target);
		return install_host_path(img, next, NULL, deps, depth + 1);
	}
	if (S_ISLNK(st.st_mode) && stat(host, &st) < 0)
		return lb_err(-errno, "%s: %s", host, strerror(errno));
	if (S_ISDIR(st.st_mode))
		return add_dir(img, dest ? dest : host);
	if (!S_ISREG(st.st_mode))
		return lb_err(-EINVAL, "%s: neither a file, a directory nor a link", host);

	e = lb_zalloc(sizeof(*e));
	e->kind = RS_FILE;
	e->perm = st.st_mode & 07777;
	e->path = lb_strdup(dest ? dest : host);
	e->src = lb_strdup(host);
	r = add_entry(img, e, &e);
	if (r < 0)
		return r;
	if (!deps || e->elf_done || !(st.st_mode & 0111 || strstr(host, ".so")))
		return 0;
	e->elf_done = true;
	return install_deps(img, host, depth);
}

/* ---- kernel modules ---------------------------------------------------- */

static char *kmod_name(const char *path)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	char *name = lb_strdup(base), *ko = strstr(name, ".ko");

	if (ko)
		*ko = '\0';
	for (char *s = name; *s; s++)
		if (*s == '-')
			*s = '_';
	return name;
}

static char *norm_name(const char *s)
{
	char *n = lb_strdup(s);

	for (char *p = n; *p; p++)
		if (*p == '-')
			*p = '_';
	return n;
}

/* The path without the compression suffix: what lands in the image. */
static char *kmod_plain_path(const char *path)
{
	char *p = lb_strdup(path), *ko = strstr(p, ".ko");

	if (ko)
		ko[3] = '\0';
	return p;
}

static int load_kmods(struct rs_image *img)
{
	_cleanup_free_ char *dep = lb_asprintf("%s/modules.dep", img->kdir);
	_cleanup_free_ char *bpath = lb_asprintf("%s/modules.builtin", img->kdir);
	_cleanup_free_ char *buf = NULL, *bbuf = NULL;
	char *save = NULL;
	int n;

	n = lb_read_file(dep, &buf, 64 << 20);
	if (n < 0)
		return lb_err(n, "%s: %s (run depmod %s?)", dep, strerror(-n), img->kver);
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *colon = strchr(line, ':'), *save2 = NULL;
		struct kmod *k;

		if (!colon)
			continue;
		*colon = '\0';
		img->kmods = lb_realloc_array(img->kmods, img->n_kmods + 1, sizeof(*img->kmods));
		k = &img->kmods[img->n_kmods++];
		memset(k, 0, sizeof(*k));
		k->path = lb_strdup(line);
		k->name = kmod_name(line);
		for (char *d = strtok_r(colon + 1, " \t", &save2); d; d = strtok_r(NULL, " \t", &save2)) {
			k->deps = lb_realloc_array(k->deps, k->n_deps + 1, sizeof(char *));
			k->deps[k->n_deps++] = lb_strdup(d);
		}
	}
	if (lb_read_file(bpath, &bbuf, 16 << 20) >= 0) {
		save = NULL;
		for (char *line = strtok_r(bbuf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			img->builtin = lb_realloc_array(img->builtin, img->n_builtin + 1, sizeof(char *));
			img->builtin[img->n_builtin++] = kmod_name(line);
		}
	}
	return 0;
}

static struct kmod *kmod_by_path(struct rs_image *img, const char *path)
{
	for (size_t i = 0; i < img->n_kmods; i++)
		if (strcmp(img->kmods[i].path, path) == 0)
			return &img->kmods[i];
	return NULL;
}

static struct kmod *kmod_by_name(struct rs_image *img, const char *name)
{
	_cleanup_free_ char *n = norm_name(name);

	for (size_t i = 0; i < img->n_kmods; i++)
		if (strcmp(img->kmods[i].name, n) == 0)
			return &img->kmods[i];
	return NULL;
}

static bool kmod_builtin(const struct rs_image *img, const char *name)
{
	_cleanup_free_ char *n = norm_name(name);

	for (size_t i = 0; i < img->n_builtin; i++)
		if (strcmp(img->builtin[i], n) == 0)
			return true;
	return false;
}

static int kmod_visit(struct rs_image *img, struct kmod *k, unsigned depth, bool boot);

/* Visits the modules a softdep line names for K, "pre:" or "post:". A
 * softdep name may be an alias (crypto-crc32c): every module it stands for
 * comes along. */
static int kmod_softdeps(struct rs_image *img, const struct kmod *k, const char *which, unsigned depth,
			 bool boot)
{
	_cleanup_free_ char *copy = NULL;
	char *save = NULL;

	if (!img->softdep_buf) {
		_cleanup_free_ char *p = lb_asprintf("%s/modules.softdep", img->kdir);

		if (lb_read_file(p, &img->softdep_buf, 16 << 20) < 0)
			img->softdep_buf = lb_strdup("");
	}
	copy = lb_strdup(img->softdep_buf);
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *save2 = NULL, *w;
		bool on = false;

		w = strtok_r(line, " \t", &save2);
		if (!w || strcmp(w, "softdep") != 0)
			continue;
		w = strtok_r(NULL, " \t", &save2);
		if (!w)
			continue;
		_cleanup_free_ char *mod = norm_name(w);
		if (strcmp(mod, k->name) != 0)
			continue;
		while ((w = strtok_r(NULL, " \t", &save2))) {
			struct kmod *d;
			bool any = false;
			int r;

			if (strcmp(w, "pre:") == 0 || strcmp(w, "post:") == 0) {
				on = strcmp(w, which) == 0;
				continue;
			}
			if (!on)
				continue;
			d = kmod_by_name(img, w);
			if (d) {
				r = kmod_visit(img, d, depth + 1, boot);
				if (r < 0)
					return r;
				continue;
			}
			if (kmod_builtin(img, w))
				continue;
			/* an alias */
			if (!img->alias_buf) {
				_cleanup_free_ char *p = lb_asprintf("%s/modules.alias", img->kdir);

				if (lb_read_file(p, &img->alias_buf, 64 << 20) < 0)
					img->alias_buf = lb_strdup("");
			}
			_cleanup_free_ char *aliases = lb_strdup(img->alias_buf);
			char *save3 = NULL;
			for (char *al = strtok_r(aliases, "\n", &save3); al; al = strtok_r(NULL, "\n", &save3)) {
				char pat[512], target[256];

				if (sscanf(al, "alias %511s %255s", pat, target) != 2 ||
				    fnmatch(pat, w, 0) != 0)
					continue;
				d = kmod_by_name(img, target);
				if (!d)
					continue;
				any = true;
				r = kmod_visit(img, d, depth + 1, boot);
				if (r < 0)
					return r;
			}
			if (!any)
				note(img, "kernel module %s: its soft dependency %s is not in %s", k->name, w,
				     img->kver);
		}
	}
	return 0;
}

/* Depth first: a module's dependencies go into the list before it. With
 * BOOT, it and everything it needs are loaded by /init at boot; a module
 * already in the image is walked again to mark them. */
static int kmod_visit(struct rs_image *img, struct kmod *k, unsigned depth, bool boot)
{
	bool again = k->state == 2;
	int r;

	if (k->state == 1 || (again && (!boot || k->boot)))
		return 0;	/* done, or on the way (a cycle: modprobe breaks it too) */
	if (depth > 64)
		return lb_err(-ELOOP, "kernel module %s: dependencies too deep", k->name);
	k->state = 1;
	k->boot = k->boot || boot;
	r = kmod_softdeps(img, k, "pre:", depth, boot);
	if (r < 0)
		return r;
	for (size_t i = 0; i < k->n_deps; i++) {
		struct kmod *d = kmod_by_path(img, k->deps[i]);

		if (!d)
			return lb_err(-ENOENT, "kernel module %s needs %s, which modules.dep does not list",
				      k->name, k->deps[i]);
		r = kmod_visit(img, d, depth + 1, boot);
		if (r < 0)
			return r;
	}
	k->state = 2;
	if (!again) {
		img->load = lb_realloc_array(img->load, img->n_load + 1, sizeof(char *));
		img->load[img->n_load++] = k->path;
	}
	return kmod_softdeps(img, k, "post:", depth, boot);
}

/* Wants kernel modules by name or glob ("raid*"), in the image (loaded
 * when their hardware shows up) or, with BOOT, loaded at boot too. */
static int want_kmod(struct rs_image *img, const char *pattern, bool optional, bool boot,
		     const char *where)
{
	_cleanup_free_ char *pat = norm_name(pattern);
	bool glob = strpbrk(pat, "*?[") != NULL, any = false;
	int r;

	for (size_t i = 0; i < img->n_kmods; i++) {
		if (glob ? fnmatch(pat, img->kmods[i].name, 0) != 0 : strcmp(pat, img->kmods[i].name) != 0)
			continue;
		any = true;
		r = kmod_visit(img, &img->kmods[i], 0, boot);
		if (r < 0)
			return r;
		if (!glob)
			break;
	}
	if (any || kmod_builtin(img, pat) || glob)
		return 0;
	if (optional) {
		note(img, "%s: kernel module %s is not in %s", where, pattern, img->kver);
		return 0;
	}
	return lb_err(-ENOENT, "%s: kernel module %s is neither a module nor built into %s (mark it "
			       "optional as %s?)", where, pattern, img->kver, pattern);
}

/* Reads a module, decompressing .ko.xz, .ko.zst and .ko.gz: busybox insmod
 * and the kernel of some distributions take only plain ones. */
static int kmod_read(const char *path, uint8_t **ret, size_t *ret_len)
{
	struct archive *a = archive_read_new();
	struct archive_entry *ae;
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0;
	int r;

	archive_read_support_filter_all(a);
	archive_read_support_format_raw(a);
	if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK ||
	    archive_read_next_header(a, &ae) != ARCHIVE_OK) {
		r = lb_err(-EIO, "%s: %s", path, archive_error_string(a));
		goto out;
	}
	for (;;) {
		la_ssize_t n;

		if (cap - len < (1 << 16)) {
			cap = cap ? cap * 2 : (1 << 20);
			buf = lb_realloc_array(buf, cap, 1);
		}
		n = archive_read_data(a, buf + len, cap - len);
		if (n < 0) {
			r = lb_err(-EIO, "%s: %s", path, archive_error_string(a));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*ret = TAKE_PTR(buf);
	*ret_len = len;
	r = 0;
out:
	free(buf);
	archive_read_free(a);
	return r;
}

/* The lines of modules.alias that name a module in the image: what
 * busybox modprobe needs to load drivers by modalias. */
static char *filtered_aliases(struct rs_image *img, size_t *ret_len)
{
	_cleanup_free_ char *p = lb_asprintf("%s/modules.alias", img->kdir);
	char *out = NULL, *save = NULL;
	size_t len = 0;
	FILE *f;

	if (!img->alias_buf && lb_read_file(p, &img->alias_buf, 64 << 20) < 0)
		img->alias_buf = lb_strdup("");
	_cleanup_free_ char *copy = lb_strdup(img->alias_buf);
	f = open_memstream(&out, &len);
	if (!f)
		abort();
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char pat[512], target[256];
		struct kmod *k;

		if (sscanf(line, "alias %511s %255s", pat, target) != 2)
			continue;
		k = kmod_by_name(img, target);
		if (k && k->state == 2)
			fprintf(f, "%s\n", line);
	}
	fclose(f);
	*ret_len = len;
	return out;
}

/* Puts the wanted modules in, uncompressed, with a modules.dep and a
 * modules.alias of their own, the builtin list, and lifeboat.load: the
 * modules /init loads at boot, in order, for insmod. */
static int install_kmods(struct rs_image *img)
{
	_cleanup_free_ char *root = lb_asprintf("/usr/lib/modules/%s", img->kver);
	char *dep = NULL, *load = NULL, *alias = NULL;
	size_t dep_len = 0, load_len = 0, alias_len = 0;
	FILE *fd = open_memstream(&dep, &dep_len), *fl = open_memstream(&load, &load_len);
	int r = 0;

	if (!fd || !fl)
		abort();
	for (size_t i = 0; i < img->n_load && r >= 0; i++) {
		struct kmod *k = kmod_by_path(img, img->load[i]);
		_cleanup_free_ char *plain = kmod_plain_path(k->path);
		_cleanup_free_ char *src = k->path[0] == '/' ? lb_strdup(k->path)
							     : lb_asprintf("%s/%s", img->kdir, k->path);
		_cleanup_free_ char *dest = lb_asprintf("%s/%s", root, plain);

		if (strcmp(plain, k->path) == 0) {
			r = install_host_path(img, src, dest, false, 0);
		} else {
			uint8_t *data = NULL;
			size_t len = 0;

			r = kmod_read(src, &data, &len);
			if (r >= 0)
				r = add_data(img, dest, data, len, 0644);
		}
		if (k->boot)
			fprintf(fl, "%s\n", plain);
		fprintf(fd, "%s:", plain);
		for (size_t j = 0; j < k->n_deps; j++) {
			_cleanup_free_ char *d = kmod_plain_path(k->deps[j]);
			fprintf(fd, " %s", d);
		}
		fputc('\n', fd);
		img->stats->n_kmods++;
	}
	fclose(fd);
	fclose(fl);
	if (r < 0) {
		free(dep);
		free(load);
		return r;
	}
	{
		_cleanup_free_ char *p = lb_asprintf("%s/modules.dep", root);
		r = add_data(img, p, dep, dep_len, 0644);
	}
	if (r >= 0) {
		_cleanup_free_ char *p = lb_asprintf("%s/lifeboat.load", root);
		r = add_data(img, p, load, load_len, 0644);
	} else {
		free(load);
	}
	if (r >= 0) {
		_cleanup_free_ char *p = lb_asprintf("%s/modules.alias", root);

		alias = filtered_aliases(img, &alias_len);
		r = add_data(img, p, alias, alias_len, 0644);
	}
	if (r >= 0) {
		_cleanup_free_ char *src = lb_asprintf("%s/modules.builtin", img->kdir);
		_cleanup_free_ char *dst = lb_asprintf("%s/modules.builtin", root);

		if (access(src, F_OK) == 0)
			r = install_host_path(img, src, dst, false, 0);
	}
	return r;
}

/* ---- the kernel -------------------------------------------------------- */

/* /lib/modules, or LIFEBOAT_MODULES_ROOT (tests: a tree of their own). */
static const char *modules_root(void)
{
	const char *env = getenv("LIFEBOAT_MODULES_ROOT");

	return env && *env ? env : "/lib/modules";
}

/* The version string in an x86 bzImage's setup header ("HdrS" at 0x202,
 * kernel_version at 0x20e, relative to 0x200). */
static int bzimage_version(const char *path, char **ret)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	uint8_t hdr[0x210];
	char s[256];
	uint16_t off;

	if (fd < 0)
		return lb_err(-errno, "%s: %s", path, strerror(errno));
	if (lb_pread_all(fd, hdr, sizeof(hdr), 0) < 0 || memcmp(hdr + 0x202, "HdrS", 4) != 0)
		return -ENOEXEC;
	memcpy(&off, hdr + 0x20e, 2);
	if (!off)
		return -ENOEXEC;
	memset(s, 0, sizeof(s));
	if (lb_pread_all(fd, s, sizeof(s) - 1, (uint64_t)off + 0x200) < 0)
		return -ENOEXEC;
	s[strcspn(s, " \t\n")] = '\0';
	if (!*s)
		return -ENOEXEC;
	*ret = lb_strdup(s);
	return 0;
}

int lb_rescue_kernel(const char *kernel, char **ret_version, char **ret_image)
{
	_cleanup_free_ char *ver = NULL, *image = NULL, *dir = NULL;
	struct utsname u;
	struct stat st;
	int r;

	if (!kernel) {
		if (uname(&u) < 0)
			return lb_err(-errno, "uname: %s", strerror(errno));
		ver = lb_strdup(u.release);
		image = lb_asprintf("/boot/vmlinuz-%s", ver);
	} else if (stat(kernel, &st) == 0 && S_ISREG(st.st_mode)) {
		image = lb_strdup(kernel);
		r = bzimage_version(kernel, &ver);
		if (r < 0) {
			/* not an x86 bzImage: vmlinuz-VERSION by name */
			const char *base = strrchr(kernel, '/') ? strrchr(kernel, '/') + 1 : kernel;
			const char *dash = strchr(base, '-');

			if (!dash || !dash[1])
				return lb_err(-EINVAL, "%s: cannot tell its version (not a bzImage, and "
						       "not named vmlinuz-VERSION)", kernel);
			ver = lb_strdup(dash + 1);
		}
	} else if (!strchr(kernel, '/')) {
		ver = lb_strdup(kernel);	/* a version */
		image = lb_asprintf("/boot/vmlinuz-%s", ver);
	} else {
		return lb_err(-ENOENT, "%s: no such kernel image", kernel);
	}
	dir = lb_asprintf("%s/%s", modules_root(), ver);
	if (access(dir, F_OK) < 0)
		return lb_err(-ENOENT, "kernel %s has no modules in %s%s", ver, dir,
			      kernel ? "" : " (this machine's kernel: name the kernel the rescue image "
					    "boots with --kernel /boot/vmlinuz-VERSION)");
	*ret_version = TAKE_PTR(ver);
	if (ret_image)
		*ret_image = TAKE_PTR(image);
	return 0;
}

/* ---- module manifests -------------------------------------------------- */

struct mline {
	unsigned no;
	char *key;
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

static const char *const known_keys[] = {
	"description", "requires", "if-exists", "if-program", "dirs", "symlink", "node",
	"files", "install", "programs", "self", "busybox", "modules", "load", "icu-data",
};

static void rmod_clear(struct rmod *m)
{
	for (size_t i = 0; i < m->n_lines; i++) {
		free(m->lines[i].key);
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

static int rmod_parse(struct rmod *m)
{
	_cleanup_fclose_ FILE *f = fopen(m->conf, "re");
	char *line = NULL;
	size_t cap = 0;
	unsigned no = 0;
	int r = 0;

	if (!f)
		return lb_err(-errno, "%s: %s", m->conf, strerror(errno));
	while (getline(&line, &cap, f) > 0) {
		char *s = lb_strstrip(line), *colon, *save = NULL;
		struct mline *ml;
		bool known = false;

		no++;
		if (!*s || *s == '#')
			continue;
		colon = strchr(s, ':');
		if (!colon) {
			r = lb_err(-EINVAL, "%s:%u: expected 'key: value'", m->conf, no);
			break;
		}
		*colon = '\0';
		for (size_t i = 0; i < LB_ARRAY_SIZE(known_keys); i++)
			known = known || strcmp(s, known_keys[i]) == 0;
		if (!known) {
			r = lb_err(-EINVAL, "%s:%u: unknown key '%s'", m->conf, no, s);
			break;
		}
		m->lines = lb_realloc_array(m->lines, m->n_lines + 1, sizeof(*m->lines));
		ml = &m->lines[m->n_lines++];
		memset(ml, 0, sizeof(*ml));
		ml->no = no;
		ml->key = lb_strdup(lb_strstrip(s));
		if (strcmp(ml->key, "description") == 0) {
			ml->args = lb_zalloc(2 * sizeof(char *));
			ml->args[0] = lb_strdup(lb_strstrip(colon + 1));
			ml->n_args = 1;
			continue;
		}
		for (char *w = strtok_r(colon + 1, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
			ml->args = lb_realloc_array(ml->args, ml->n_args + 2, sizeof(char *));
			ml->args[ml->n_args++] = lb_strdup(w);
			ml->args[ml->n_args] = NULL;
		}
	}
	free(line);
	return r;
}

static int rmods_load(const char *dir, struct rmod **ret, size_t *ret_n)
{
	struct dirent **list = NULL;
	struct rmod *mods = NULL;
	size_t n = 0;
	int cnt, r = 0;

	cnt = scandir(dir, &list, NULL, alphasort);
	if (cnt < 0)
		return lb_err(-errno, "%s: %s", dir, strerror(errno));
	for (int i = 0; i < cnt; i++) {
		const char *d = list[i]->d_name;
		_cleanup_free_ char *conf = lb_asprintf("%s/%s/module.conf", dir, d);
		struct rmod *m;
		size_t k = 0;

		if (r >= 0 && d[0] >= '0' && d[0] <= '9' && access(conf, F_OK) == 0) {
			mods = lb_realloc_array(mods, n + 1, sizeof(*mods));
			m = &mods[n++];
			memset(m, 0, sizeof(*m));
			m->dirname = lb_strdup(d);
			while (d[k] >= '0' && d[k] <= '9')
				k++;
			m->name = lb_strdup(d + k);
			m->dir = lb_asprintf("%s/%s", dir, d);
			m->conf = TAKE_PTR(conf);
			m->applies = -1;
			r = rmod_parse(m);
		}
		free(list[i]);
	}
	free(list);
	if (r >= 0 && !n)
		r = lb_err(-ENOENT, "%s: no modules (NNname/module.conf)", dir);
	if (r < 0) {
		for (size_t i = 0; i < n; i++)
			rmod_clear(&mods[i]);
		free(mods);
		return r;
	}
	*ret = mods;
	*ret_n = n;
	return 0;
}

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

static char *find_program(const char *name)
{
	const char *path = getenv("PATH");
	_cleanup_free_ char *list = lb_asprintf("%s:/usr/sbin:/usr/bin:/sbin:/bin", path ? path : "");
	char *save = NULL;

	if (strchr(name, '/'))
		return access(name, X_OK) == 0 ? lb_strdup(name) : NULL;
	for (char *d = strtok_r(list, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		_cleanup_free_ char *p = NULL;
		struct stat st;

		if (d[0] != '/')
			continue;	/* never a relative PATH entry */
		p = lb_asprintf("%s/%s", d, name);
		if (stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0)
			return TAKE_PTR(p);
	}
	return NULL;
}

static struct rmod *rmod_find(struct rmod *mods, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(mods[i].name, name) == 0 || strcmp(mods[i].dirname, name) == 0)
			return &mods[i];
	return NULL;
}

/* Decides whether module M applies: its own conditions, then those of
 * every module it requires. */
static int rmod_applies(struct rmod *mods, size_t n, struct rmod *m)
{
	if (m->applies >= 0)
		return m->applies;
	if (m->visiting)
		return lb_err(-ELOOP, "%s: requires itself through other modules", m->conf);
	m->visiting = true;
	m->applies = 1;
	for (size_t i = 0; i < m->n_lines && m->applies; i++) {
		const struct mline *l = &m->lines[i];

		for (size_t j = 0; j < l->n_args && m->applies; j++) {
			if (strcmp(l->key, "if-exists") == 0 && access(l->args[j], F_OK) < 0) {
				m->applies = 0;
				m->why_not = lb_asprintf("%s does not exist here", l->args[j]);
			} else if (strcmp(l->key, "if-program") == 0) {
				_cleanup_free_ char *p = find_program(l->args[j]);

				if (!p) {
					m->applies = 0;
					m->why_not = lb_asprintf("no program %s here", l->args[j]);
				}
			} else if (strcmp(l->key, "requires") == 0) {
				struct rmod *dep = rmod_find(mods, n, l->args[j]);
				int r;

				if (!dep) {
					m->visiting = false;
					return lb_err(-ENOENT, "%s:%u: requires %s, which is not a module",
						      m->conf, l->no, l->args[j]);
				}
				r = rmod_applies(mods, n, dep);
				if (r < 0) {
					m->visiting = false;
					return r;
				}
				if (!r) {
					m->applies = 0;
					m->why_not = lb_asprintf("it requires %s, which does not apply",
								 dep->dirname);
				}
			}
		}
	}
	m->visiting = false;
	return m->applies;
}

static int install_busybox(struct rs_image *img, const char *dest, const char *where)
{
	_cleanup_free_ char *bb = find_program("busybox"), *list = NULL;
	char *argv[] = { NULL, (char *)"--list-full", NULL }, *save = NULL;
	int pipefd[2], status, r;
	size_t len = 0;
	FILE *f;
	pid_t pid;

	if (!bb)
		return lb_err(-ENOENT, "%s: no busybox here (apt-get install busybox-static)", where);
	r = install_host_path(img, bb, dest, true, 0);
	if (r < 0)
		return r;
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return lb_err(-errno, "pipe: %s", strerror(errno));
	argv[0] = bb;
	pid = fork();
	if (pid < 0)
		return lb_err(-errno, "fork: %s", strerror(errno));
	if (pid == 0) {
		dup2(pipefd[1], 1);
		execv(bb, argv);
		_exit(127);
	}
	close(pipefd[1]);
	f = fdopen(pipefd[0], "r");
	if (!f)
		abort();
	{
		char *buf = NULL;
		size_t cap = 0;
		FILE *m = open_memstream(&list, &len);
		ssize_t n;

		while ((n = getline(&buf, &cap, f)) > 0)
			fwrite(buf, 1, (size_t)n, m);
		free(buf);
		fclose(m);
	}
	fclose(f);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !len)
		return lb_err(-EIO, "%s: %s --list-full failed", where, bb);
	for (char *applet = strtok_r(list, "\n", &save); applet; applet = strtok_r(NULL, "\n", &save)) {
		_cleanup_free_ char *link = lb_asprintf("/%s", applet);

		if (strcmp(link, dest) == 0)
			continue;
		r = add_link(img, link, dest, true);
		if (r < 0)
			return r;
	}
	return 0;
}

static int run_line(struct rs_image *img, struct rmod *m, const struct mline *l)
{
	_cleanup_free_ char *where = lb_asprintf("%s:%u", m->conf, l->no);
	const char *k = l->key;
	int r = 0;

	if (strcmp(k, "dirs") == 0) {
		for (size_t i = 0; i < l->n_args && r >= 0; i++)
			r = add_dir(img, l->args[i]);
	} else if (strcmp(k, "symlink") == 0) {
		if (l->n_args != 2)
			return lb_err(-EINVAL, "%s: expected 'symlink: LINK TARGET'", where);
		r = add_link(img, l->args[0], l->args[1], false);
	} else if (strcmp(k, "node") == 0) {
		struct rs_entry *e;
		uint32_t maj, min, mode;

		if (l->n_args != 5 || (strcmp(l->args[1], "c") && strcmp(l->args[1], "b")) ||
		    lb_parse_u32(l->args[2], &maj) < 0 || lb_parse_u32(l->args[3], &min) < 0 ||
		    sscanf(l->args[4], "%o", &mode) != 1)
			return lb_err(-EINVAL, "%s: expected 'node: PATH c|b MAJOR MINOR MODE'", where);
		e = lb_zalloc(sizeof(*e));
		e->kind = RS_NODE;
		e->path = lb_strdup(l->args[0]);
		e->node_type = l->args[1][0];
		e->node_major = maj;
		e->node_minor = min;
		e->perm = mode & 07777;
		r = add_entry(img, e, NULL);
	} else if (strcmp(k, "files") == 0) {
		for (size_t i = 0; i < l->n_args && r >= 0; i++) {
			bool opt;
			_cleanup_free_ char *p = optional_name(l->args[i], &opt);

			if (access(p, F_OK) < 0 && opt) {
				note(img, "%s: no %s here", where, p);
				continue;
			}
			r = install_host_path(img, p, NULL, true, 0);
		}
	} else if (strcmp(k, "install") == 0) {
		_cleanup_free_ char *src = NULL;
		uint32_t mode = 0644;
		char *data = NULL;
		int n;

		if ((l->n_args != 2 && l->n_args != 3) || strstr(l->args[0], "..") ||
		    (l->n_args == 3 && sscanf(l->args[2], "%o", &mode) != 1))
			return lb_err(-EINVAL, "%s: expected 'install: SRC DEST [MODE]' (SRC in the "
					       "module directory)", where);
		src = lb_asprintf("%s/%s", m->dir, l->args[0]);
		n = lb_read_file(src, &data, 64 << 20);
		if (n < 0)
			return lb_err(n, "%s: %s: %s", where, src, strerror(-n));
		r = add_data(img, l->args[1], data, (size_t)n, mode & 07777);
	} else if (strcmp(k, "programs") == 0) {
		for (size_t i = 0; i < l->n_args && r >= 0; i++) {
			bool opt;
			_cleanup_free_ char *name = optional_name(l->args[i], &opt);
			_cleanup_free_ char *p = find_program(name);

			if (!p) {
				if (opt) {
					note(img, "%s: no program %s here", where, name);
					continue;
				}
				return lb_err(-ENOENT, "%s: no program %s here", where, name);
			}
			r = install_host_path(img, p, NULL, true, 0);
			img->stats->n_programs++;
		}
	} else if (strcmp(k, "self") == 0) {
		const char *self = img->o->self ? img->o->self : "/proc/self/exe";
		_cleanup_free_ char *real = realpath(self, NULL);

		if (l->n_args != 1)
			return lb_err(-EINVAL, "%s: expected 'self: PATH'", where);
		r = install_host_path(img, real ? real : self, l->args[0], true, 0);
	} else if (strcmp(k, "busybox") == 0) {
		if (l->n_args != 1)
			return lb_err(-EINVAL, "%s: expected 'busybox: PATH'", where);
		r = install_busybox(img, l->args[0], where);
	} else if (strcmp(k, "icu-data") == 0) {
		if (l->n_args != 1 || (strcmp(l->args[0], "empty") && strcmp(l->args[0], "full")))
			return lb_err(-EINVAL, "%s: expected 'icu-data: empty' or 'icu-data: full'", where);
		img->icu_empty = strcmp(l->args[0], "empty") == 0;
	} else if (strcmp(k, "modules") == 0 || strcmp(k, "load") == 0) {
		for (size_t i = 0; i < l->n_args && r >= 0; i++) {
			bool opt;
			_cleanup_free_ char *name = optional_name(l->args[i], &opt);

			r = want_kmod(img, name, opt, strcmp(k, "load") == 0, where);
		}
	}
	return r;
}

/* ---- ICU's data, left out ------------------------------------------------ */

/*
 * Debian's libxml2 links ICU, and ICU's data library (libicudata.so.NN) is
 * one 31 MiB symbol, icudtNN_dat: two thirds of the image. libxml2 asks ICU
 * only for encodings it does not know itself, and lifeboat reads UTF-8
 * manifests only; but the dynamic loader needs the library and its symbol.
 * With "icu-data: empty" the image gets a copy of the library whose
 * icudtNN_dat is an ICU common-data header with an empty table of contents:
 * ICU loads, and any conversion it were asked for would fail cleanly.
 *
 * The copy: the segment holding the symbol ends right after the stub, the
 * segments after it move down in the file (same addresses, offsets
 * congruent modulo their alignment), and the section headers, which the
 * loader does not read, are dropped. Anything unexpected, and the library
 * goes in as it is.
 */
static int icu_stub(const char *path, uint8_t **ret, size_t *ret_len)
{
	_cleanup_free_ char *buf = NULL;
	Elf64_Ehdr eh;
	Elf64_Phdr *ph;
	Elf64_Shdr *sh;
	const Elf64_Sym *sym = NULL;
	uint8_t *out;
	size_t len, out_len;
	uint64_t sym_off = 0, stub_len, seg_end, pos;
	uint16_t hsize;
	int n, seg = -1;

	n = lb_read_file(path, &buf, 128 << 20);
	if (n < 0)
		return n;
	len = (size_t)n;
	if (len < sizeof(eh))
		return -EBADMSG;
	memcpy(&eh, buf, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_type != ET_DYN ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_shentsize != sizeof(Elf64_Shdr) ||
	    eh.e_phoff + (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > len ||
	    eh.e_shoff + (uint64_t)eh.e_shnum * sizeof(Elf64_Shdr) > len || eh.e_phoff % 8 ||
	    eh.e_shoff % 8)
		return -EBADMSG;
	ph = (Elf64_Phdr *)(void *)(buf + eh.e_phoff);
	sh = (Elf64_Shdr *)(void *)(buf + eh.e_shoff);

	/* the symbol, through .dynsym and its string table */
	for (unsigned i = 0; i < eh.e_shnum && !sym; i++) {
		const Elf64_Shdr *str;

		if (sh[i].sh_type != SHT_DYNSYM || sh[i].sh_link >= eh.e_shnum ||
		    sh[i].sh_offset + sh[i].sh_size > len || sh[i].sh_offset % 8)
			continue;
		str = &sh[sh[i].sh_link];
		if (str->sh_offset + str->sh_size > len)
			continue;
		for (uint64_t j = 0; j < sh[i].sh_size / sizeof(Elf64_Sym); j++) {
			const Elf64_Sym *y = (const Elf64_Sym *)(const void *)(buf + sh[i].sh_offset) + j;

			if (y->st_name < str->sh_size && y->st_shndx != SHN_UNDEF &&
			    strnlen(buf + str->sh_offset + y->st_name, str->sh_size - y->st_name) <
				    str->sh_size - y->st_name &&
			    fnmatch("icudt*_dat", buf + str->sh_offset + y->st_name, 0) == 0)
				sym = y;
		}
	}
	if (!sym)
		return -ENOENT;
	for (int i = 0; i < eh.e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && sym->st_value >= ph[i].p_vaddr &&
		    sym->st_value + sym->st_size <= ph[i].p_vaddr + ph[i].p_filesz)
			seg = i;
	if (seg < 0 || (ph[seg].p_flags & (PF_W | PF_X)) || ph[seg].p_offset + ph[seg].p_filesz > len)
		return -EBADMSG;
	sym_off = sym->st_value - ph[seg].p_vaddr + ph[seg].p_offset;

	/* an ICU data header: headerSize, 0xda 0x27, then UDataInfo with
	 * dataFormat "CmnD"; the table of contents (a count) follows it */
	{
		const uint8_t *h = (const uint8_t *)buf + sym_off;

		hsize = (uint16_t)(h[0] | h[1] << 8);

		if (sym->st_size < 64 || h[2] != 0xda || h[3] != 0x27 || memcmp(h + 12, "CmnD", 4) != 0 ||
		    hsize < 20 || hsize + 4u > sym->st_size)
			return -EBADMSG;
		stub_len = (hsize + 4u + 15u) & ~15u;
	}
	seg_end = sym_off + stub_len;	/* the new end of the symbol's segment, in the file */

	/* nothing else may lie in the symbol's segment after the symbol's start
	 * (a PT_GNU_EH_FRAME there, say): not the layout this knows */
	for (int i = 0; i < eh.e_phnum; i++) {
		if (i == seg || !ph[i].p_filesz)
			continue;
		if (ph[i].p_offset + ph[i].p_filesz <= sym_off ||
		    ph[i].p_offset >= ph[seg].p_offset + ph[seg].p_filesz)
			continue;
		return -EBADMSG;
	}

	out = lb_zalloc(len);
	memcpy(out, buf, seg_end);
	memset(out + sym_off + hsize, 0, stub_len - hsize);	/* an empty table of contents */
	pos = seg_end;
	{
		Elf64_Phdr *nph = (Elf64_Phdr *)(void *)(out + eh.e_phoff);
		Elf64_Ehdr *neh = (Elf64_Ehdr *)(void *)out;

		nph[seg].p_filesz = nph[seg].p_memsz = seg_end - ph[seg].p_offset;
		for (int i = 0; i < eh.e_phnum; i++) {
			uint64_t align, shift, newoff;

			if (ph[i].p_type != PT_LOAD || ph[i].p_offset < ph[seg].p_offset + ph[seg].p_filesz)
				continue;
			align = ph[i].p_align > 1 ? ph[i].p_align : 1;
			newoff = pos + ((ph[i].p_offset % align) - (pos % align) + align) % align;
			if (newoff + ph[i].p_filesz > len) {
				free(out);
				return -EBADMSG;
			}
			memcpy(out + newoff, buf + ph[i].p_offset, ph[i].p_filesz);
			shift = ph[i].p_offset - newoff;
			/* this segment, and what lies in it (PT_DYNAMIC, PT_GNU_RELRO, ...) */
			for (int j = 0; j < eh.e_phnum; j++)
				if (ph[j].p_offset >= ph[i].p_offset &&
				    ph[j].p_offset + ph[j].p_filesz <= ph[i].p_offset + ph[i].p_filesz &&
				    (j == i || ph[j].p_type != PT_LOAD))
					nph[j].p_offset = ph[j].p_offset - shift;
			pos = newoff + ph[i].p_filesz;
		}
		neh->e_shoff = 0;
		neh->e_shnum = 0;
		neh->e_shstrndx = SHN_UNDEF;
	}
	out_len = (size_t)pos;
	*ret = out;
	*ret_len = out_len;
	return 0;
}

static void slim_icu(struct rs_image *img)
{
	for (size_t i = 0; i < img->n; i++) {
		struct rs_entry *e = img->e[i];
		const char *base = strrchr(e->path, '/') ? strrchr(e->path, '/') + 1 : e->path;
		uint8_t *data = NULL;
		size_t len = 0;
		int r;

		if (e->kind != RS_FILE || !e->src || e->data || fnmatch("libicudata.so*", base, 0) != 0)
			continue;
		r = icu_stub(e->src, &data, &len);
		if (r < 0) {
			note(img, "%s: not a layout lifeboat can empty (%s): ICU's data goes in whole",
			     e->src, strerror(-r));
			continue;
		}
		lb_debug("rescue", "%s: ICU data left out (%zu bytes instead of the library)", e->src, len);
		e->data = data;
		e->len = len;
		img->stats->icu_emptied = true;
	}
}

/* ---- the capture, and what the image says about itself ------------------ */

static int add_tree(struct rs_image *img, const char *host, const char *dest, unsigned depth)
{
	struct dirent **list = NULL;
	int cnt, r;

	if (depth > 16)
		return lb_err(-ELOOP, "%s: too deep", host);
	r = add_dir(img, dest);
	if (r < 0)
		return r;
	cnt = scandir(host, &list, NULL, alphasort);
	if (cnt < 0)
		return lb_err(-errno, "%s: %s", host, strerror(errno));
	for (int i = 0; i < cnt; i++) {
		const char *name = list[i]->d_name;
		_cleanup_free_ char *h = lb_asprintf("%s/%s", host, name);
		_cleanup_free_ char *d = lb_asprintf("%s/%s", dest, name);
		struct stat st;

		if (r >= 0 && strcmp(name, ".") && strcmp(name, "..")) {
			if (lstat(h, &st) < 0)
				r = lb_err(-errno, "%s: %s", h, strerror(errno));
			else if (S_ISDIR(st.st_mode))
				r = add_tree(img, h, d, depth + 1);
			else if (S_ISREG(st.st_mode))
				r = install_host_path(img, h, d, false, 0);
			else
				note(img, "%s: not a plain file: left out", h);
		}
		free(list[i]);
	}
	free(list);
	return r;
}

static int add_capture(struct rs_image *img, const char *capture)
{
	struct lb_manifest *m = NULL;
	_cleanup_free_ char *dir = NULL, *copy = NULL, *dest = NULL;
	const char *name;
	int r;

	r = lb_manifest_load(capture, &m);
	if (r < 0)
		return lb_err(r, "--capture %s: %s", capture, lb_errmsg());
	dir = realpath(m->rt_dir, NULL);
	lb_manifest_free(m);
	if (!dir)
		return lb_err(-errno, "--capture %s: %s", capture, strerror(errno));
	copy = lb_strdup(dir);
	name = basename(copy);
	if (!*name || strcmp(name, "/") == 0 || strchr(name, '\n'))
		return lb_err(-EINVAL, "--capture %s: cannot name it in the image", capture);
	dest = lb_asprintf("/lifeboat/%s", name);
	img->stats->capture = lb_strdup(dest);
	return add_tree(img, dir, dest, 0);
}

static int add_info(struct rs_image *img)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct tm tm;
	char stamp[32];

	if (!f)
		abort();
	gmtime_r(&img->mtime, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(f, "version=%s\nkernel=%s\nbuilt=%s\n", LB_VERSION, img->kver, stamp);
	if (img->stats->capture)
		fprintf(f, "capture=%s\n", img->stats->capture);
	fclose(f);
	return add_data(img, "/etc/lifeboat/rescue.conf", buf, len, 0644);
}

/* ---- writing ----------------------------------------------------------- */

static int cmp_entry(const void *a, const void *b)
{
	return strcmp((*(struct rs_entry *const *)a)->path, (*(struct rs_entry *const *)b)->path);
}

/* A busybox applet link gives way to a real program of the same name in
 * any of the image's bin directories. */
static bool shadowed(const struct rs_image *img, const struct rs_entry *e)
{
	static const char *const dirs[] = { "usr/sbin/", "usr/bin/", "sbin/", "bin/" };
	const char *base = strrchr(e->path, '/') ? strrchr(e->path, '/') + 1 : e->path;

	if (!e->weak)
		return false;
	for (size_t i = 0; i < LB_ARRAY_SIZE(dirs); i++) {
		_cleanup_free_ char *p = lb_asprintf("%s%s", dirs[i], base);
		const struct rs_entry *o = find_entry(img, p);

		if (o && !o->weak)
			return true;
	}
	return false;
}

static int write_file_data(struct archive *a, const struct rs_entry *e, const char *out)
{
	_cleanup_close_ int fd = -1;
	uint8_t buf[1 << 16];

	if (e->data || !e->src)
		return archive_write_data(a, e->data, e->len) == (la_ssize_t)e->len
			       ? 0
			       : lb_err(-EIO, "%s: %s", out, archive_error_string(a));
	fd = open(e->src, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return lb_err(-errno, "%s: %s", e->src, strerror(errno));
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return lb_err(-errno, "%s: %s", e->src, strerror(errno));
		if (n == 0)
			return 0;
		if (archive_write_data(a, buf, (size_t)n) != n)
			return lb_err(-EIO, "%s: %s", out, archive_error_string(a));
	}
}

static int write_image(struct rs_image *img, const char *out, const char *tmp)
{
	const struct lb_rescue_opts *o = img->o;
	struct archive *a = archive_write_new();
	struct archive_entry *ae = archive_entry_new();
	const char *comp = o->compress;
	int level = o->level, r = 0;
	char opt[64];

	qsort(img->e, img->n, sizeof(*img->e), cmp_entry);
	archive_write_set_format_cpio_newc(a);
	if (!comp || strcmp(comp, "zstd") == 0) {
		if (archive_write_add_filter_zstd(a) == ARCHIVE_OK) {
			comp = "zstd";
			snprintf(opt, sizeof(opt), "zstd:compression-level=%d", level ? level : 9);
		} else if (comp) {
			r = lb_err(-EOPNOTSUPP, "this libarchive cannot write zstd: %s",
				   archive_error_string(a));
			goto out;
		} else {
			comp = NULL;
		}
	}
	if (!comp || strcmp(comp, "gzip") == 0) {
		if (archive_write_add_filter_gzip(a) != ARCHIVE_OK) {
			r = lb_err(-EOPNOTSUPP, "this libarchive cannot write gzip: %s",
				   archive_error_string(a));
			goto out;
		}
		comp = "gzip";
		snprintf(opt, sizeof(opt), "gzip:compression-level=%d", level ? level : 6);
	} else if (strcmp(comp, "zstd") != 0) {
		r = lb_err(-EINVAL, "compression %s: expected zstd or gzip", comp);
		goto out;
	}
	img->stats->compression = lb_strdup(comp);
	if (archive_write_set_options(a, opt) != ARCHIVE_OK)
		lb_debug("rescue", "%s: %s", opt, archive_error_string(a));
	/* the kernel's unpacker reads the archive as one stream: no padding */
	archive_write_set_bytes_in_last_block(a, 1);
	if (archive_write_open_filename(a, tmp) != ARCHIVE_OK) {
		r = lb_err(-EIO, "%s: %s", tmp, archive_error_string(a));
		goto out;
	}
	for (size_t i = 0; i < img->n && r >= 0; i++) {
		const struct rs_entry *e = img->e[i];
		struct stat st;

		if (shadowed(img, e))
			continue;
		archive_entry_clear(ae);
		archive_entry_set_pathname(ae, e->path);
		archive_entry_set_mtime(ae, img->mtime, 0);
		archive_entry_set_ino64(ae, (la_int64_t)i + 1);
		archive_entry_set_uid(ae, 0);
		archive_entry_set_gid(ae, 0);
		archive_entry_set_size(ae, 0);
		switch (e->kind) {
		case RS_DIR:
			archive_entry_set_filetype(ae, AE_IFDIR);
			archive_entry_set_perm(ae, e->perm);
			archive_entry_set_nlink(ae, 2);
			break;
		case RS_LINK:
			archive_entry_set_filetype(ae, AE_IFLNK);
			archive_entry_set_perm(ae, 0777);
			archive_entry_set_symlink(ae, e->target);
			archive_entry_set_nlink(ae, 1);
			break;
		case RS_NODE:
			archive_entry_set_filetype(ae, e->node_type == 'b' ? AE_IFBLK : AE_IFCHR);
			archive_entry_set_perm(ae, e->perm);
			archive_entry_set_rdev(ae, makedev(e->node_major, e->node_minor));
			archive_entry_set_nlink(ae, 1);
			break;
		case RS_FILE:
			if (e->src && !e->data) {
				if (stat(e->src, &st) < 0) {
					r = lb_err(-errno, "%s: %s", e->src, strerror(errno));
					continue;
				}
				archive_entry_set_size(ae, st.st_size);
				img->stats->bytes += (uint64_t)st.st_size;
			} else {
				archive_entry_set_size(ae, (la_int64_t)e->len);
				img->stats->bytes += e->len;
			}
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_perm(ae, e->perm);
			archive_entry_set_nlink(ae, 1);
			break;
		}
		if (archive_write_header(a, ae) != ARCHIVE_OK) {
			r = lb_err(-EIO, "%s: /%s: %s", out, e->path, archive_error_string(a));
			break;
		}
		if (e->kind == RS_FILE)
			r = write_file_data(a, e, out);
		img->stats->n_files++;
	}
	if (r >= 0 && archive_write_close(a) != ARCHIVE_OK)
		r = lb_err(-EIO, "%s: %s", out, archive_error_string(a));
out:
	archive_entry_free(ae);
	archive_write_free(a);
	return r;
}

/* ---- the build --------------------------------------------------------- */

int lb_rescue_find_modules_dir(char **ret)
{
	const char *env = getenv("LIFEBOAT_INITRAMFS");
	_cleanup_free_ char *exe = realpath("/proc/self/exe", NULL);
	char *cands[4] = { 0 };
	size_t n = 0;
	int r = -ENOENT;

	if (env && *env) {
		*ret = lb_strdup(env);
		return 0;
	}
	if (exe) {
		char *slash = strrchr(exe, '/');

		*slash = '\0';
		cands[n++] = lb_asprintf("%s/initramfs", exe);	/* the source tree */
		cands[n++] = lb_asprintf("%s/../share/lifeboat/initramfs", exe);
	}
	cands[n++] = lb_strdup("/usr/share/lifeboat/initramfs");
	cands[n++] = lb_strdup("/usr/local/share/lifeboat/initramfs");
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *probe = lb_asprintf("%s/.", cands[i]);

		if (r < 0 && access(probe, F_OK) == 0) {
			*ret = realpath(cands[i], NULL);
			r = *ret ? 0 : -errno;
		}
		free(cands[i]);
	}
	if (r < 0)
		return lb_err(r, "cannot find the initramfs module directory (initramfs/ beside the "
				 "lifeboat binary, or share/lifeboat/initramfs); name it with "
				 "--modules-dir or LIFEBOAT_INITRAMFS");
	return 0;
}

void lb_rescue_stats_clear(struct lb_rescue_stats *s)
{
	if (!s)
		return;
	free(s->kver);
	free(s->compression);
	free(s->capture);
	for (size_t i = 0; i < s->n_notes; i++)
		free(s->notes[i]);
	free(s->notes);
	for (size_t i = 0; i < s->n_applied; i++)
		free(s->applied[i]);
	free(s->applied);
	memset(s, 0, sizeof(*s));
}

static void image_clear(struct rs_image *img)
{
	for (size_t i = 0; i < img->n; i++)
		entry_free(img->e[i]);
	free(img->e);
	for (size_t i = 0; i < img->n_kmods; i++) {
		free(img->kmods[i].name);
		free(img->kmods[i].path);
		for (size_t j = 0; j < img->kmods[i].n_deps; j++)
			free(img->kmods[i].deps[j]);
		free(img->kmods[i].deps);
	}
	free(img->kmods);
	for (size_t i = 0; i < img->n_builtin; i++)
		free(img->builtin[i]);
	free(img->builtin);
	free(img->alias_buf);
	free(img->softdep_buf);
	free(img->load);
	free(img->ldcache);
	free(img->kver);
	free(img->kdir);
}

int lb_rescue_build(const struct lb_rescue_opts *o, struct lb_rescue_stats *stats)
{
	struct rs_image img = { .o = o, .stats = stats };
	struct rmod *mods = NULL;
	size_t n_mods = 0;
	_cleanup_free_ char *tmp = NULL;
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	struct stat st;
	int r;

	memset(stats, 0, sizeof(*stats));
	img.mtime = sde && *sde ? (time_t)strtoll(sde, NULL, 10) : time(NULL);
	r = lb_rescue_kernel(o->kernel, &img.kver, NULL);
	if (r < 0)
		goto out;
	stats->kver = lb_strdup(img.kver);
	img.kdir = lb_asprintf("%s/%s", modules_root(), img.kver);
	r = load_kmods(&img);
	if (r < 0)
		goto out;
	r = rmods_load(o->modules_dir, &mods, &n_mods);
	if (r < 0)
		goto out;

	for (size_t i = 0; i < n_mods; i++) {
		struct rmod *m = &mods[i];

		r = rmod_applies(mods, n_mods, m);
		if (r < 0)
			goto out;
		if (!r) {
			note(&img, "module %s left out: %s", m->dirname, m->why_not);
			continue;
		}
		lb_debug("rescue", "module %s", m->dirname);
		stats->applied = lb_realloc_array(stats->applied, stats->n_applied + 1, sizeof(char *));
		stats->applied[stats->n_applied++] = lb_strdup(m->dirname);
		for (size_t j = 0; j < m->n_lines; j++) {
			r = run_line(&img, m, &m->lines[j]);
			if (r < 0)
				goto out;
		}
	}
	r = install_kmods(&img);
	if (r >= 0 && img.icu_empty)
		slim_icu(&img);
	if (r >= 0 && o->capture)
		r = add_capture(&img, o->capture);
	if (r >= 0)
		r = add_info(&img);
	if (r < 0)
		goto out;

	tmp = lb_asprintf("%s.tmp.%d", o->output, (int)getpid());
	r = write_image(&img, o->output, tmp);
	if (r >= 0 && rename(tmp, o->output) < 0)
		r = lb_err(-errno, "%s: %s", o->output, strerror(errno));
	if (r < 0) {
		unlink(tmp);
		goto out;
	}
	if (stat(o->output, &st) == 0)
		stats->compressed = (uint64_t)st.st_size;
	r = 0;
out:
	for (size_t i = 0; i < n_mods; i++)
		rmod_clear(&mods[i]);
	free(mods);
	image_clear(&img);
	return r;
}

/* ---- the ISO ----------------------------------------------------------- */

/* Runs argv with its output into LOG (a file), so that a failure can show
 * it and a success stays quiet. */
static int run_logged(char *const argv[], const char *log)
{
	pid_t pid;
	int status;

	lb_debug("run", "%s ...", argv[0]);
	pid = fork();
	if (pid < 0)
		return lb_err(-errno, "cannot fork for %s: %s", argv[0], strerror(errno));
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execvp(argv[0], argv);
		fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return lb_err(-errno, "waiting for %s: %s", argv[0], strerror(errno));
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

static int copy_file(const char *from, const char *to)
{
	_cleanup_close_ int in = open(from, O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int out = -1;
	uint8_t buf[1 << 16];

	if (in < 0)
		return lb_err(-errno, "%s: %s", from, strerror(errno));
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0)
		return lb_err(-errno, "%s: %s", to, strerror(errno));
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return lb_err(-errno, "%s: %s", from, strerror(errno));
		if (n == 0)
			return 0;
		if (write(out, buf, (size_t)n) != n)
			return lb_err(-errno, "%s: %s", to, strerror(errno));
	}
}

static bool cmdline_safe(const char *s)
{
	for (; s && *s; s++)
		if (*s < 0x20 || *s == 0x7f || strchr("\"'\\$;{}`", *s))
			return false;
	return true;
}

int lb_rescue_make_iso(const char *iso, const char *vmlinuz, const char *initrd, const char *cmdline)
{
	char tmpl[] = "/tmp/lifeboat-iso.XXXXXX";
	_cleanup_free_ char *boot = NULL, *grub = NULL, *cfg = NULL, *log = NULL, *tmp = NULL;
	_cleanup_free_ char *k = NULL, *i = NULL, *text = NULL;
	const char *extra = cmdline ? cmdline : "";
	/* no translations, fonts or themes: the menu is plain text */
	char *argv[] = { (char *)"grub-mkrescue", (char *)"--locales=", (char *)"--fonts=",
			 (char *)"--themes=", (char *)"-o", NULL, NULL, NULL };
	int r;

	if (!cmdline_safe(extra))
		return lb_err(-EINVAL, "--cmdline: quotes, backslashes, '$', ';', braces and control "
				       "characters cannot go into the boot menu");
	if (!lb_program_exists("grub-mkrescue"))
		return lb_err(-ENOENT, "grub-mkrescue is not installed (apt-get install grub-common "
				       "grub-pc-bin grub-efi-amd64-bin xorriso mtools)");
	if (!mkdtemp(tmpl))
		return lb_err(-errno, "cannot make a staging directory: %s", strerror(errno));
	boot = lb_asprintf("%s/boot", tmpl);
	grub = lb_asprintf("%s/boot/grub", tmpl);
	r = lb_mkdir_p(grub, 0755);
	if (r < 0) {
		r = lb_err(r, "%s: %s", grub, strerror(-r));
		goto out;
	}
	k = lb_asprintf("%s/vmlinuz", boot);
	i = lb_asprintf("%s/initrd.img", boot);
	r = copy_file(vmlinuz, k);
	if (r >= 0)
		r = copy_file(initrd, i);
	if (r < 0)
		goto out;
	/* The last console= on the command line is /dev/console, where the
	 * menu runs; the kernel writes its messages to each of them. */
	text = lb_asprintf(
		"# lifeboat rescue ISO (lifeboat mkrescue)\n"
		"serial --unit=0 --speed=115200\n"
		"terminal_input console serial\n"
		"terminal_output console serial\n"
		"set timeout=3\n"
		"set default=0\n"
		"menuentry 'lifeboat rescue' {\n"
		"\tlinux /boot/vmlinuz console=ttyS0,115200 console=tty0 %s\n"
		"\tinitrd /boot/initrd.img\n"
		"}\n"
		"menuentry 'lifeboat rescue (serial console)' {\n"
		"\tlinux /boot/vmlinuz console=tty0 console=ttyS0,115200 %s\n"
		"\tinitrd /boot/initrd.img\n"
		"}\n"
		"menuentry 'lifeboat rescue (shell only)' {\n"
		"\tlinux /boot/vmlinuz console=ttyS0,115200 console=tty0 lifeboat.shell %s\n"
		"\tinitrd /boot/initrd.img\n"
		"}\n",
		extra, extra, extra);
	cfg = lb_asprintf("%s/grub.cfg", grub);
	r = lb_write_file(cfg, text, strlen(text), 0644);
	if (r < 0) {
		r = lb_err(r, "%s: %s", cfg, strerror(-r));
		goto out;
	}
	tmp = lb_asprintf("%s.tmp.%d", iso, (int)getpid());
	log = lb_asprintf("%s.log", tmpl);
	argv[5] = tmp;
	argv[6] = tmpl;
	r = run_logged(argv, log);
	if (r != 0) {
		_cleanup_free_ char *out = NULL;

		if (lb_read_file(log, &out, 1 << 20) >= 0)
			fputs(out, stderr);
		unlink(tmp);
		r = lb_err(-EIO, "grub-mkrescue failed (exit %d; its messages are above)", r);
		goto out;
	}
	if (rename(tmp, iso) < 0) {
		r = lb_err(-errno, "%s: %s", iso, strerror(errno));
		unlink(tmp);
		goto out;
	}
	r = 0;
out:
	if (log)
		unlink(log);
	lb_rm_rf(tmpl);
	return r;
}
