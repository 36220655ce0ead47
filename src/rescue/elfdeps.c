// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * What an ELF file needs to run, read with libelf (elfutils) as the
 * dynamic loader reads it: through the program headers (PT_INTERP,
 * PT_DYNAMIC, and the string table its DT_STRTAB points to in a PT_LOAD
 * segment), so a file without section headers reads the same. libelf
 * converts either class and byte order to one GElf shape.
 *
 * Then each DT_NEEDED is found where the loader would look: DT_RPATH
 * (only without DT_RUNPATH), DT_RUNPATH, /etc/ld.so.cache, the default
 * directories; $ORIGIN expanded.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rescue/rescue-int.h"

static int elf_open(const char *path, int *ret_fd, Elf **ret)
{
	int fd;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return lb_err(-ENOSYS, "libelf: %s", elf_errmsg(-1));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	*ret = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!*ret) {
		close(fd);
		return -EBADMSG;
	}
	*ret_fd = fd;
	return 0;
}

static void elf_close(int fd, Elf *e)
{
	elf_end(e);
	close(fd);
}

void rs_elf_info_clear(struct rs_elf_info *ei)
{
	free(ei->interp);
	for (size_t i = 0; i < ei->n_needed; i++)
		free(ei->needed[i]);
	free(ei->needed);
	free(ei->rpath);
	free(ei->runpath);
	memset(ei, 0, sizeof(*ei));
}

/* A virtual address to a file offset, through the PT_LOAD segments. */
static bool vaddr_to_offset(Elf *e, size_t nph, uint64_t vaddr, uint64_t *ret)
{
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD && vaddr >= ph.p_vaddr &&
		    vaddr - ph.p_vaddr < ph.p_filesz) {
			*ret = vaddr - ph.p_vaddr + ph.p_offset;
			return true;
		}
	}
	return false;
}

/* PT_INTERP and PT_DYNAMIC: the interpreter into RET, the dynamic section
 * into *RET_DYN (NULL: a static file). */
static int read_segments(const char *path, Elf *e, size_t nph, struct rs_elf_info *ret,
			 Elf_Data **ret_dyn)
{
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		Elf_Data *d;

		if (!gelf_getphdr(e, (int)i, &ph))
			return lb_err(-EBADMSG, "%s: %s", path, elf_errmsg(-1));
		if (ph.p_type == PT_INTERP && ph.p_filesz > 1 && ph.p_filesz < PATH_MAX) {
			d = elf_getdata_rawchunk(e, (int64_t)ph.p_offset, ph.p_filesz, ELF_T_BYTE);
			if (!d)
				return lb_err(-EIO, "%s: cannot read its interpreter", path);
			free(ret->interp);
			ret->interp = strndup(d->d_buf, d->d_size);
			if (!ret->interp)
				abort();
		} else if (ph.p_type == PT_DYNAMIC && ph.p_filesz && ph.p_filesz < (16u << 20)) {
			*ret_dyn = elf_getdata_rawchunk(e, (int64_t)ph.p_offset, ph.p_filesz, ELF_T_DYN);
			if (!*ret_dyn)
				return lb_err(-EIO, "%s: cannot read its dynamic section", path);
		}
	}
	return 0;
}

/* DT_NEEDED, DT_RPATH and DT_RUNPATH from DYN, whose strings are at
 * DT_STRTAB. */
static int read_dynamic(const char *path, Elf *e, size_t nph, Elf_Data *dyn, struct rs_elf_info *ret)
{
	size_t n = dyn->d_size / gelf_fsize(e, ELF_T_DYN, 1, EV_CURRENT);
	uint64_t strtab = 0, strsz = 0, stroff;
	const char *str;
	Elf_Data *sd;
	GElf_Dyn d;

	for (size_t i = 0; i < n && gelf_getdyn(dyn, (int)i, &d) && d.d_tag != DT_NULL; i++) {
		if (d.d_tag == DT_STRTAB)
			strtab = d.d_un.d_ptr;
		else if (d.d_tag == DT_STRSZ)
			strsz = d.d_un.d_val;
	}
	if (!strtab || !strsz || strsz > (64u << 20))
		return 0;
	if (!vaddr_to_offset(e, nph, strtab, &stroff))
		return lb_err(-EBADMSG, "%s: its string table is outside every segment", path);
	sd = elf_getdata_rawchunk(e, (int64_t)stroff, strsz, ELF_T_BYTE);
	if (!sd)
		return lb_err(-EIO, "%s: cannot read its string table", path);
	str = sd->d_buf;
	for (size_t i = 0; i < n && gelf_getdyn(dyn, (int)i, &d) && d.d_tag != DT_NULL; i++) {
		char *s;

		if (d.d_tag != DT_NEEDED && d.d_tag != DT_RPATH && d.d_tag != DT_RUNPATH)
			continue;
		if (d.d_un.d_val >= strsz)
			return lb_err(-EBADMSG, "%s: a dynamic entry points outside the string table", path);
		s = strndup(str + d.d_un.d_val, strsz - d.d_un.d_val);
		if (!s)
			abort();
		if (d.d_tag == DT_NEEDED) {
			ret->needed = lb_realloc_array(ret->needed, ret->n_needed + 1, sizeof(char *));
			ret->needed[ret->n_needed++] = s;
		} else if (d.d_tag == DT_RPATH) {
			free(ret->rpath);
			ret->rpath = s;
		} else {
			free(ret->runpath);
			ret->runpath = s;
		}
	}
	return 0;
}

int rs_elf_read(const char *path, struct rs_elf_info *ret)
{
	const char *ident;
	Elf_Data *dyn = NULL;
	GElf_Ehdr eh;
	size_t nph;
	Elf *e;
	int fd, r;

	memset(ret, 0, sizeof(*ret));
	r = elf_open(path, &fd, &e);
	if (r == -EBADMSG)
		return 0;	/* not something libelf reads: a script or data */
	if (r < 0)
		return lb_err(r, "%s: %s", path, strerror(-r));
	ident = elf_kind(e) == ELF_K_ELF ? elf_getident(e, NULL) : NULL;
	if (!ident) {
		r = 0;	/* not ELF */
		goto out;
	}
	if ((ident[EI_CLASS] != ELFCLASS32 && ident[EI_CLASS] != ELFCLASS64) ||
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	    ident[EI_DATA] != ELFDATA2LSB
#else
	    ident[EI_DATA] != ELFDATA2MSB
#endif
	) {
		r = lb_err(-ENOEXEC, "%s: an ELF file of another class or byte order", path);
		goto out;
	}
	if (!gelf_getehdr(e, &eh) || elf_getphdrnum(e, &nph) < 0 || nph > 4096) {
		r = lb_err(-EBADMSG, "%s: cannot read its ELF program headers", path);
		goto out;
	}
	ret->cls = ident[EI_CLASS];
	ret->machine = eh.e_machine;
	r = read_segments(path, e, nph, ret, &dyn);
	if (r >= 0 && dyn)
		r = read_dynamic(path, e, nph, dyn, ret);
out:
	if (r < 0)
		rs_elf_info_clear(ret);
	elf_close(fd, e);
	return r;
}

bool rs_elf_matches(const char *path, int cls, int machine)
{
	const char *ident;
	GElf_Ehdr eh;
	bool match;
	Elf *e;
	int fd;

	if (elf_open(path, &fd, &e) < 0)
		return false;
	ident = elf_kind(e) == ELF_K_ELF ? elf_getident(e, NULL) : NULL;
	match = ident && ident[EI_CLASS] == cls && gelf_getehdr(e, &eh) && eh.e_machine == machine;
	elf_close(fd, e);
	return match;
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
		if (rs_elf_matches(cand, cls, machine))
			return TAKE_PTR(cand);
	}
	return NULL;
}

char *rs_find_library(struct rs_ldcache **cache, const char *name, const struct rs_elf_info *parent,
		      const char *parent_path)
{
	static const char *const defaults =
		"/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/lib64:/usr/lib64:"
		"/lib/aarch64-linux-gnu:/usr/lib/aarch64-linux-gnu:"
		"/lib/i386-linux-gnu:/usr/lib/i386-linux-gnu:/lib32:/usr/lib32:/lib:/usr/lib";
	_cleanup_free_ char *real = realpath(parent_path, NULL);
	_cleanup_free_ char *origin = lb_strdup(real ? real : parent_path);
	const char *cached;
	char *found, *slash;

	if (strchr(name, '/'))
		return rs_elf_matches(name, parent->cls, parent->machine) ? lb_strdup(name) : NULL;
	slash = strrchr(origin, '/');
	if (slash)
		*slash = '\0';
	if (parent->rpath && !parent->runpath &&
	    (found = search_dirs(parent->rpath, origin, name, parent->cls, parent->machine)))
		return found;
	if (parent->runpath &&
	    (found = search_dirs(parent->runpath, origin, name, parent->cls, parent->machine)))
		return found;
	cached = rs_ldcache_lookup(cache, NULL, name, parent->cls, parent->machine);
	if (cached)
		return lb_strdup(cached);
	return search_dirs(defaults, origin, name, parent->cls, parent->machine);
}
