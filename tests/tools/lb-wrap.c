// SPDX-License-Identifier: GPL-3.0-or-later
/* Test tool: wraps standard input into a lifeboat data container (stream
 * kind) at FILE and prints its SHA-256 and size, so tests can hand restore
 * an archive of their own making (hostile entries).
 *     lb-wrap FILE < archive.tar */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

#include "data/datafile.h"

int main(int argc, char **argv)
{
	struct lb_dw *w = NULL;
	char buf[65536], sum[65];
	uint64_t size = 0;
	ssize_t n;
	int fd;

	if (argc != 2) {
		fputs("usage: lb-wrap FILE < input\n", stderr);
		return 2;
	}
	fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || lb_dw_open(fd, LB_CONTAINER_STREAM, 0, 0, 1, &w) < 0) {
		perror(argv[1]);
		return 1;
	}
	while ((n = read(0, buf, sizeof(buf))) > 0)
		if (lb_dw_write(w, buf, (size_t)n) < 0)
			return 1;
	if (n < 0 || lb_dw_close(w, sum, &size) < 0)
		return 1;
	printf("%s %" PRIu64 "\n", sum, size);
	return close(fd) < 0;
}
