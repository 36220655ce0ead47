// SPDX-License-Identifier: GPL-3.0-or-later
#include <elf.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "rescue/rescue-int.h"

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
/* The library as read, and what the steps below find in it. */
struct icu_lib {
	char *buf;
	size_t len;
	Elf64_Ehdr eh;
	const Elf64_Phdr *ph;
	const Elf64_Shdr *sh;
	const Elf64_Sym *sym;	/* icudtNN_dat */
	int seg;		/* the PT_LOAD segment holding it */
	uint64_t sym_off;	/* its offset in the file */
	uint16_t hsize;		/* its ICU header's size */
	uint64_t stub_len;	/* header and empty table of contents */
};

/* A 64-bit little-endian shared object whose tables lie in the file. */
static int check_elf(struct icu_lib *L)
{
	const Elf64_Ehdr *eh = &L->eh;

	if (L->len < sizeof(*eh))
		return -EBADMSG;
	memcpy(&L->eh, L->buf, sizeof(L->eh));
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_ident[EI_DATA] != ELFDATA2LSB || eh->e_type != ET_DYN ||
	    eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_shentsize != sizeof(Elf64_Shdr) ||
	    eh->e_phoff + (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > L->len ||
	    eh->e_shoff + (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) > L->len || eh->e_phoff % 8 ||
	    eh->e_shoff % 8)
		return -EBADMSG;
	L->ph = (const Elf64_Phdr *)(const void *)(L->buf + eh->e_phoff);
	L->sh = (const Elf64_Shdr *)(const void *)(L->buf + eh->e_shoff);
	return 0;
}

/* The symbol, through .dynsym and its string table. */
static int find_symbol(struct icu_lib *L)
{
	const Elf64_Shdr *sh = L->sh;

	for (unsigned i = 0; i < L->eh.e_shnum && !L->sym; i++) {
		const Elf64_Shdr *str;

		if (sh[i].sh_type != SHT_DYNSYM || sh[i].sh_link >= L->eh.e_shnum ||
		    sh[i].sh_offset + sh[i].sh_size > L->len || sh[i].sh_offset % 8)
			continue;
		str = &sh[sh[i].sh_link];
		if (str->sh_offset + str->sh_size > L->len)
			continue;
		for (uint64_t j = 0; j < sh[i].sh_size / sizeof(Elf64_Sym); j++) {
			const Elf64_Sym *y = (const Elf64_Sym *)(const void *)(L->buf + sh[i].sh_offset) + j;
			const char *name = L->buf + str->sh_offset + y->st_name;

			if (y->st_name < str->sh_size && y->st_shndx != SHN_UNDEF &&
			    strnlen(name, str->sh_size - y->st_name) < str->sh_size - y->st_name &&
			    fnmatch("icudt*_dat", name, 0) == 0)
				L->sym = y;
		}
	}
	return L->sym ? 0 : -ENOENT;
}

/* The read-only segment that holds the symbol, and the ICU data header at
 * its start: headerSize, 0xda 0x27, then UDataInfo with dataFormat "CmnD";
 * the table of contents (a count) follows it. */
static int find_data(struct icu_lib *L)
{
	const Elf64_Phdr *ph = L->ph;
	const Elf64_Sym *sym = L->sym;
	const uint8_t *h;

	L->seg = -1;
	for (int i = 0; i < L->eh.e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && sym->st_value >= ph[i].p_vaddr &&
		    sym->st_value + sym->st_size <= ph[i].p_vaddr + ph[i].p_filesz)
			L->seg = i;
	if (L->seg < 0 || (ph[L->seg].p_flags & (PF_W | PF_X)) ||
	    ph[L->seg].p_offset + ph[L->seg].p_filesz > L->len)
		return -EBADMSG;
	L->sym_off = sym->st_value - ph[L->seg].p_vaddr + ph[L->seg].p_offset;
	h = (const uint8_t *)L->buf + L->sym_off;
	L->hsize = (uint16_t)(h[0] | h[1] << 8);
	if (sym->st_size < 64 || h[2] != 0xda || h[3] != 0x27 || memcmp(h + 12, "CmnD", 4) != 0 ||
	    L->hsize < 20 || L->hsize + 4u > sym->st_size)
		return -EBADMSG;
	L->stub_len = (L->hsize + 4u + 15u) & ~15u;

	/* nothing else may lie in the symbol's segment after the symbol's
	 * start (a PT_GNU_EH_FRAME there, say): not the layout this knows */
	for (int i = 0; i < L->eh.e_phnum; i++) {
		if (i == L->seg || !ph[i].p_filesz)
			continue;
		if (ph[i].p_offset + ph[i].p_filesz <= L->sym_off ||
		    ph[i].p_offset >= ph[L->seg].p_offset + ph[L->seg].p_filesz)
			continue;
		return -EBADMSG;
	}
	return 0;
}

/* The copy: up to the stub as it is, the table of contents empty, the
 * segments after it moved down, no section headers. */
static int write_copy(const struct icu_lib *L, uint8_t **ret, size_t *ret_len)
{
	const Elf64_Phdr *ph = L->ph;
	const Elf64_Phdr *sp = &ph[L->seg];
	uint64_t seg_end = L->sym_off + L->stub_len, pos = seg_end;
	uint8_t *out = lb_zalloc(L->len);
	Elf64_Phdr *nph = (Elf64_Phdr *)(void *)(out + L->eh.e_phoff);
	Elf64_Ehdr *neh = (Elf64_Ehdr *)(void *)out;

	memcpy(out, L->buf, seg_end);
	memset(out + L->sym_off + L->hsize, 0, L->stub_len - L->hsize);
	nph[L->seg].p_filesz = nph[L->seg].p_memsz = seg_end - sp->p_offset;
	for (int i = 0; i < L->eh.e_phnum; i++) {
		uint64_t align, shift, newoff;

		if (ph[i].p_type != PT_LOAD || ph[i].p_offset < sp->p_offset + sp->p_filesz)
			continue;
		align = ph[i].p_align > 1 ? ph[i].p_align : 1;
		newoff = pos + ((ph[i].p_offset % align) - (pos % align) + align) % align;
		if (newoff + ph[i].p_filesz > L->len) {
			free(out);
			return -EBADMSG;
		}
		memcpy(out + newoff, L->buf + ph[i].p_offset, ph[i].p_filesz);
		shift = ph[i].p_offset - newoff;
		/* this segment, and what lies in it (PT_DYNAMIC, PT_GNU_RELRO, ...) */
		for (int j = 0; j < L->eh.e_phnum; j++)
			if (ph[j].p_offset >= ph[i].p_offset &&
			    ph[j].p_offset + ph[j].p_filesz <= ph[i].p_offset + ph[i].p_filesz &&
			    (j == i || ph[j].p_type != PT_LOAD))
				nph[j].p_offset = ph[j].p_offset - shift;
		pos = newoff + ph[i].p_filesz;
	}
	neh->e_shoff = 0;
	neh->e_shnum = 0;
	neh->e_shstrndx = SHN_UNDEF;
	*ret = out;
	*ret_len = (size_t)pos;
	return 0;
}

int rs_icu_stub(const char *path, uint8_t **ret, size_t *ret_len)
{
	struct icu_lib L = { 0 };
	int n;

	n = lb_read_file(path, &L.buf, 128 << 20);
	if (n < 0)
		return n;
	L.len = (size_t)n;
	n = check_elf(&L);
	if (n >= 0)
		n = find_symbol(&L);
	if (n >= 0)
		n = find_data(&L);
	if (n >= 0)
		n = write_copy(&L, ret, ret_len);
	free(L.buf);
	return n;
}

void rs_slim_icu(struct rs_image *img)
{
	for (size_t i = 0; i < img->n; i++) {
		struct rs_entry *e = img->e[i];
		const char *base = strrchr(e->path, '/') ? strrchr(e->path, '/') + 1 : e->path;
		uint8_t *data = NULL;
		size_t len = 0;
		int r;

		if (e->kind != RS_FILE || !e->src || e->data || fnmatch("libicudata.so*", base, 0) != 0)
			continue;
		r = rs_icu_stub(e->src, &data, &len);
		if (r < 0) {
			rs_note(img, "%s: not a layout lifeboat can empty (%s): ICU's data goes in whole",
			     e->src, strerror(-r));
			continue;
		}
		lb_debug("rescue", "%s: ICU data left out (%zu bytes instead of the library)", e->src, len);
		e->data = data;
		e->len = len;
		img->stats->icu_emptied = true;
	}
}
