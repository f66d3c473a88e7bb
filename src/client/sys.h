/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The kernel backend's only way to the system: every open, ioctl and
 * sysfs read it makes goes through this table, so that unit tests can
 * put a fake kernel (tests/unit/test_kernel_fake.c) behind the real
 * backend code, and run the iommufd path on kernels that do not have it.
 *
 * Every call returns a count or fd (>= 0) or -errno; none sets errno.
 * Paths are absolute, as the real system would see them.
 */
#ifndef UVFIO_CLIENT_SYS_H
#define UVFIO_CLIENT_SYS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct uvfio_sys {
	/* O_CLOEXEC is added by the callee. */
	int (*open)(const struct uvfio_sys *s, const char *path, int flags);
	int (*close)(const struct uvfio_sys *s, int fd);
	/* A new fd (close-on-exec) for the same file: region mmap fds. */
	int (*dup)(const struct uvfio_sys *s, int fd);
	int (*ioctl)(const struct uvfio_sys *s, int fd, unsigned long req,
		     void *arg);
	ssize_t (*pread)(const struct uvfio_sys *s, int fd, void *buf,
			 size_t len, uint64_t off);
	ssize_t (*pwrite)(const struct uvfio_sys *s, int fd, const void *buf,
			  size_t len, uint64_t off);
	/* The link target, NUL-terminated; -ENAMETOOLONG if it does not fit. */
	ssize_t (*readlink)(const struct uvfio_sys *s, const char *path,
			    char *buf, size_t len);
	/*
	 * The first entry of directory @dir (in name order) whose name starts
	 * with @prefix, into @name; -ENOENT when none or no such directory.
	 */
	int (*dir_find)(const struct uvfio_sys *s, const char *dir,
			const char *prefix, char *name, size_t len);
	void *priv;                   /* the fake's state */
};

/* The real system. */
extern const struct uvfio_sys uvfio_sys_real;

/*
 * The table new kernel devices use: the real one unless a test installed
 * another.  Devices keep the table they were opened with.
 */
const struct uvfio_sys *uvfio_sys_current(void);
/* For tests only: NULL puts the real system back. */
void uvfio_sys_install(const struct uvfio_sys *s);

#endif
