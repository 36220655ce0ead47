// SPDX-License-Identifier: GPL-3.0-or-later
/* Linux swap: the page size and header version mkswap needs to make the
 * same area again (UUID and label come from blkid). */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "base/base.h"
#include "model/model.h"
#include "fs/fs.h"

static int swap_read(const char *dev, int fd, uint64_t offset, uint64_t size, void **ret)
{
	static const uint32_t pages[] = { 4096, 8192, 16384, 32768, 65536 };
	uint8_t hdr[12];
	char sig[10];
	int r;

	(void)dev;
	for (size_t i = 0; i < LB_ARRAY_SIZE(pages); i++) {
		struct lb_swap_geom *g;

		if (pages[i] > size)
			break;
		r = lb_pread_all(fd, sig, sizeof(sig), offset + pages[i] - 10);
		if (r < 0)
			return lb_err(r, "cannot read the swap header: %s", strerror(-r));
		if (memcmp(sig, "SWAPSPACE2", 10) != 0 && memcmp(sig, "SWAP-SPACE", 10) != 0)
			continue;
		r = lb_pread_all(fd, hdr, sizeof(hdr), offset + 1024);
		if (r < 0)
			return lb_err(r, "cannot read the swap header: %s", strerror(-r));
		g = lb_swap_geom_new();
		g->page_size = pages[i];
		g->version = (uint32_t)hdr[0] | (uint32_t)hdr[1] << 8 | (uint32_t)hdr[2] << 16 |
			     (uint32_t)hdr[3] << 24;
		g->pages = (uint32_t)hdr[4] | (uint32_t)hdr[5] << 8 | (uint32_t)hdr[6] << 16 |
			   (uint32_t)hdr[7] << 24;
		*ret = g;
		return 0;
	}
	return lb_err(-EINVAL, "no swap signature found");
}

static char **swap_mkfs_argv(const struct lb_volume *v, const char *dev, bool quick)
{
	const struct lb_swap_geom *g = v->swap;
	char **argv = lb_argv_new("mkswap");

	(void)quick;
	lb_argv_add(&argv, "-f");
	if (v->uuid) {
		lb_argv_add(&argv, "-U");
		lb_argv_add(&argv, "%s", v->uuid);
	}
	if (v->label) {
		lb_argv_add(&argv, "-L");
		lb_argv_add(&argv, "%s", v->label);
	}
	if (g) {
		lb_argv_add(&argv, "-p");
		lb_argv_add(&argv, "%u", g->page_size);
	}
	lb_argv_add(&argv, "%s", dev);
	if (g && g->pages)
		lb_argv_add(&argv, "%" PRIu64, (g->pages + 1) * g->page_size / 1024);
	return argv;
}

static int swap_check(const void *geom, char **ret_why)
{
	const struct lb_swap_geom *g = geom;

	if (!lb_is_pow2(g->page_size) || g->page_size < 4096 || g->page_size > 65536) {
		*ret_why = lb_asprintf("swap page size %u is not valid", g->page_size);
		return -EINVAL;
	}
	return 0;
}

/* the header page and pages 1..last */
static int swap_bytes(const void *geom, uint64_t *ret)
{
	const struct lb_swap_geom *g = geom;

	if (g->pages == UINT64_MAX)
		return -EOVERFLOW;
	if (__builtin_mul_overflow(g->pages + 1, (uint64_t)g->page_size, ret))
		return -EOVERFLOW;
	return 0;
}

static void swap_free(void *g)
{
	lb_swap_geom_free(g);
}

static const struct lb_field swap_fields[] = {
	LB_FIELD(lb_swap_geom, "page-size", LB_F_U32, page_size, 0),
	LB_FIELD(lb_swap_geom, "pages", LB_F_U64, pages, 0),
	LB_FIELD(lb_swap_geom, "version", LB_F_U32, version, 0),
	LB_FIELD_END,
};

static const struct lb_fs_geom swap_geom = {
	.element = "swap",
	.fields = swap_fields,
	.json = (const char *const[]){ "page-size", "version", NULL },
	.size = sizeof(struct lb_swap_geom),
	.slot = offsetof(struct lb_volume, swap),
	.read = swap_read,
	.check = swap_check,
	.bytes = swap_bytes,
	.free = swap_free,
};

const struct lb_fs_ops lb_fs_swap = {
	.type = "swap",
	.program = "mkswap",
	.geom = &swap_geom,
	.mkfs_argv = swap_mkfs_argv,
};
