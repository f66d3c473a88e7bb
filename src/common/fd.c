/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdio.h>

#include "common/util.h"

bool fd_is_eventfd(int fd)
{
	char path[64], target[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return errno == ENOENT ? false : true;  /* no /proc: trust */
	target[n] = 0;
	return strcmp(target, "anon_inode:[eventfd]") == 0;
}
