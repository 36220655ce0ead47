// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The hybrid ISO (BIOS and UEFI) around a kernel and the rescue image:
 * grub-mkrescue over a staging directory holding both and a plain-text
 * GRUB menu.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs/fs.h"
#include "rescue/rescue-int.h"

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

/* The GRUB menu. The last console= on the command line is /dev/console,
 * where the menu runs; the kernel writes its messages to each of them. */
static int write_grub_cfg(const char *grub, const char *extra)
{
	_cleanup_free_ char *cfg = lb_asprintf("%s/grub.cfg", grub);
	_cleanup_free_ char *text = lb_asprintf(
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
	int r = lb_write_file(cfg, text, strlen(text), 0644);

	return r < 0 ? lb_err(r, "%s: %s", cfg, strerror(-r)) : 0;
}

/* STAGE/boot: the kernel, the image and the menu. */
static int stage(const char *stage_dir, const char *vmlinuz, const char *initrd, const char *extra)
{
	_cleanup_free_ char *grub = lb_asprintf("%s/boot/grub", stage_dir);
	_cleanup_free_ char *k = lb_asprintf("%s/boot/vmlinuz", stage_dir);
	_cleanup_free_ char *i = lb_asprintf("%s/boot/initrd.img", stage_dir);
	int r;

	r = lb_mkdir_p(grub, 0755);
	if (r < 0)
		return lb_err(r, "%s: %s", grub, strerror(-r));
	r = copy_file(vmlinuz, k);
	if (r >= 0)
		r = copy_file(initrd, i);
	if (r >= 0)
		r = write_grub_cfg(grub, extra);
	return r;
}

/* grub-mkrescue STAGE into ISO (through a temporary name); its messages,
 * kept, go into the error when it fails. */
static int run_mkrescue(const char *stage_dir, const char *iso)
{
	_cleanup_free_ char *tmp = lb_asprintf("%s.tmp.%d", iso, (int)getpid()), *out = NULL;
	/* no translations, fonts or themes: the menu is plain text */
	char *argv[] = { (char *)"grub-mkrescue", (char *)"--locales=", (char *)"--fonts=",
			 (char *)"--themes=", (char *)"-o", tmp, (char *)stage_dir, NULL };
	struct lb_spawn_opts so = { .ret_out = &out, .also_stderr = true };
	size_t len = 0;
	int r;

	so.ret_out_len = &len;
	r = lb_spawn(argv, &so);
	if (r != 0) {
		unlink(tmp);
		if (r < 0)
			return r;
		/* the end of what it said: where it failed */
		return lb_err(-EIO, "grub-mkrescue failed (exit %d): %s", r,
			      lb_strstrip(out + (len > 2000 ? len - 2000 : 0)));
	}
	if (rename(tmp, iso) < 0) {
		r = lb_err(-errno, "%s: %s", iso, strerror(errno));
		unlink(tmp);
		return r;
	}
	return 0;
}

int lb_rescue_make_iso(const char *iso, const char *vmlinuz, const char *initrd, const char *cmdline)
{
	char tmpl[] = "/tmp/lifeboat-iso.XXXXXX";
	const char *extra = cmdline ? cmdline : "";
	int r;

	if (!cmdline_safe(extra))
		return lb_err(-EINVAL, "--cmdline: quotes, backslashes, '$', ';', braces and control "
				       "characters cannot go into the boot menu");
	if (!lb_program_exists("grub-mkrescue"))
		return lb_err(-ENOENT, "grub-mkrescue is not installed (apt-get install grub-common "
				       "grub-pc-bin grub-efi-amd64-bin xorriso mtools)");
	if (!mkdtemp(tmpl))
		return lb_err(-errno, "cannot make a staging directory: %s", strerror(errno));
	r = stage(tmpl, vmlinuz, initrd, extra);
	if (r >= 0)
		r = run_mkrescue(tmpl, iso);
	lb_rm_rf(tmpl);
	return r < 0 ? r : 0;
}
