// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The rescue image builder: reads the numbered module manifests in
 * initramfs/ (modconf.c has the reference), gathers what they name —
 * programs with every shared library they load, kernel modules with their
 * dependencies, plain files — into an image tree in memory, and writes it
 * as a compressed cpio (newc) archive.
 *
 * lb_rescue_build reads as the steps it takes: the kernel and its modules,
 * the module manifests, what they install, the kernel modules they chose,
 * ICU emptied, the capture, the image's own description, the archive.
 *
 * The image mirrors a merged-/usr Debian: paths resolve through the links
 * the base module makes (/bin -> usr/bin, /lib -> usr/lib, ...), so a
 * library found as /lib/x86_64-linux-gnu/libc.so.6 lands in usr/lib.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "model/model.h"
#include "manifest/manifest.h"
#include "rescue/rescue-int.h"

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

/* ---- the capture, and what the image says about itself ------------------ */

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
	return rs_add_tree(img, dir, dest, 0);
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
	return rs_add_data(img, "/etc/lifeboat/rescue.conf", buf, len, 0644);
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


/* The image's date: SOURCE_DATE_EPOCH, for reproducible builds, or now. */
static time_t build_time(void)
{
	const char *sde = getenv("SOURCE_DATE_EPOCH");

	return sde && *sde ? (time_t)strtoll(sde, NULL, 10) : time(NULL);
}

/* The archive, written beside OUT and renamed into place. */
static int write_output(struct rs_image *img, const char *out)
{
	_cleanup_free_ char *tmp = lb_asprintf("%s.tmp.%d", out, (int)getpid());
	struct stat st;
	int r;

	r = rs_write_image(img, out, tmp);
	if (r >= 0 && rename(tmp, out) < 0)
		r = lb_err(-errno, "%s: %s", out, strerror(errno));
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	if (stat(out, &st) == 0)
		img->stats->compressed = (uint64_t)st.st_size;
	return 0;
}

int lb_rescue_build(const struct lb_rescue_opts *o, struct lb_rescue_stats *stats)
{
	struct rs_image img = { .o = o, .stats = stats };
	struct rs_modset *mods = NULL;
	int r;

	memset(stats, 0, sizeof(*stats));
	img.mtime = build_time();
	r = lb_rescue_kernel(o->kernel, &img.kver, NULL);
	if (r < 0)
		goto out;
	stats->kver = lb_strdup(img.kver);
	img.kdir = lb_asprintf("%s/%s", modules_root(), img.kver);
	r = rs_kmods_open(img.kdir, img.kver, NULL, &img.kmods);
	if (r >= 0)
		r = rs_modset_load(o->modules_dir, &mods);
	if (r >= 0)
		r = rs_modset_install(mods, &img);
	if (r >= 0)
		r = rs_install_kmods(&img);
	for (size_t i = 0; r >= 0 && i < rs_kmods_n_notes(img.kmods); i++)
		rs_note(&img, "%s", rs_kmods_note(img.kmods, i));
	if (r >= 0 && img.icu_empty)
		rs_slim_icu(&img);
	if (r >= 0 && o->capture)
		r = add_capture(&img, o->capture);
	if (r >= 0)
		r = add_info(&img);
	if (r >= 0)
		r = write_output(&img, o->output);
out:
	rs_modset_free(mods);
	rs_image_clear(&img);
	return r < 0 ? r : 0;
}
