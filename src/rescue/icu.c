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
int rs_icu_stub(const char *path, uint8_t **ret, size_t *ret_len)
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
