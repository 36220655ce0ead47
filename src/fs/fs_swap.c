// SPDX-License-Identifier: GPL-3.0-or-later
/* Linux swap: the page size and header version mkswap needs to make the
 * same area again (UUID and label come from blkid). */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "base/base.h"
#include "model/model.h"
#include "fs/fs.h"

int lb_swap_read_geom(int fd, uint64_t offset, uint64_t size, struct lb_swap_geom **ret)
{
	static const uint32_t pages[] = { 4096, 8192, 16384, 32768, 65536 };
	uint8_t hdr[12];
	char sig[10];
	int r;

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

char **lb_swap_mkfs_argv(const struct lb_volume *v, const char *dev, bool quick)
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
