/* SPDX-License-Identifier: BSD-3-Clause */
/* The real system behind struct uvfio_sys: thin wrappers, -errno returns. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "client/sys.h"

static int sys_open(const struct uvfio_sys *s, const char *path, int flags)
{
	(void)s;
	int fd = open(path, flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int sys_close(const struct uvfio_sys *s, int fd)
{
	(void)s;
	/* close() releases the fd even when it reports an error. */
	return close(fd) < 0 && errno != EINTR ? -errno : 0;
}

static int sys_dup(const struct uvfio_sys *s, int fd)
{
	(void)s;
	int r = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	return r < 0 ? -errno : r;
}

static int sys_ioctl(const struct uvfio_sys *s, int fd, unsigned long req,
		     void *arg)
{
	(void)s;
	int r;

	do {
		r = ioctl(fd, req, arg);
	} while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

static ssize_t sys_pread(const struct uvfio_sys *s, int fd, void *buf,
			 size_t len, uint64_t off)
{
	(void)s;
	ssize_t n;

	if (off > (uint64_t)INT64_MAX)
		return -EINVAL;
	do {
		n = pread(fd, buf, len, (off_t)off);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

static ssize_t sys_pwrite(const struct uvfio_sys *s, int fd, const void *buf,
			  size_t len, uint64_t off)
{
	(void)s;
	ssize_t n;

	if (off > (uint64_t)INT64_MAX)
		return -EINVAL;
	do {
		n = pwrite(fd, buf, len, (off_t)off);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

static ssize_t sys_readlink(const struct uvfio_sys *s, const char *path,
			    char *buf, size_t len)
{
	(void)s;
	if (!len)
		return -EINVAL;
	ssize_t n = readlink(path, buf, len);
	if (n < 0)
		return -errno;
	if ((size_t)n >= len)
		return -ENAMETOOLONG;
	buf[n] = '\0';
	return n;
}

static int sys_dir_find(const struct uvfio_sys *s, const char *dir,
			const char *prefix, char *name, size_t len)
{
	(void)s;
	struct dirent **ents;
	int n = scandir(dir, &ents, NULL, alphasort);
	if (n < 0)
		return errno == ENOTDIR ? -ENOENT : -errno;
	int r = -ENOENT;
	size_t pl = strlen(prefix);
	for (int i = 0; i < n; i++) {
		if (r == -ENOENT && !strncmp(ents[i]->d_name, prefix, pl))
			r = snprintf(name, len, "%s", ents[i]->d_name) < (int)len ?
			    0 : -ENAMETOOLONG;
		free(ents[i]);
	}
	free(ents);
	return r;
}

const struct uvfio_sys uvfio_sys_real = {
	.open = sys_open,
	.close = sys_close,
	.dup = sys_dup,
	.ioctl = sys_ioctl,
	.pread = sys_pread,
	.pwrite = sys_pwrite,
	.readlink = sys_readlink,
	.dir_find = sys_dir_find,
};

/* Only tests change it; an atomic keeps a device opening meanwhile sane. */
static _Atomic(const struct uvfio_sys *) sys_current;

const struct uvfio_sys *uvfio_sys_current(void)
{
	const struct uvfio_sys *s = atomic_load(&sys_current);
	return s ? s : &uvfio_sys_real;
}

void uvfio_sys_install(const struct uvfio_sys *s)
{
	atomic_store(&sys_current, s);
}
