/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The DMA map table: exact map/unmap, overlap refusal, argument checks,
 * the map limit, and device access through fd-backed windows (checked
 * through the memfd) and fd-less ones (through the transport); a window
 * mapped with its flags' protection only, and lookups that stay
 * logarithmic in the number of windows.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "device/dev.h"
#include "wire/proto.h"
#include "testutil.h"

#define RW (VU_DMA_FLAG_READ | VU_DMA_FLAG_WRITE)
#define PG 4096ull

/* The transport records what fd-less DMA asked for. */
struct fake_tp {
	unsigned calls;
	uint64_t iova;
	size_t len;
	bool write;
	uint8_t mem[2 * 4096];   /* backs iova 0x900000.. for fd-less reads */
};

struct fixture {
	struct uvfio_dev *dev;
	struct fake_tp tp;
};

static int fake_dma_rw(void *opaque, uint64_t iova, void *buf, size_t len,
		       bool write)
{
	struct fake_tp *t = opaque;
	t->calls++;
	t->iova = iova;
	t->len = len;
	t->write = write;
	if (iova < 0x900000 || iova - 0x900000 + len > sizeof(t->mem))
		return -EIO;
	if (write)
		memcpy(t->mem + (iova - 0x900000), buf, len);
	else
		memcpy(buf, t->mem + (iova - 0x900000), len);
	return 0;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	f->dev = uvfio_dev_new("dma-test");
	if (!f->dev || dev_seal(f->dev) < 0)
		return -1;
	struct dev_transport tp = { .opaque = &f->tp, .dma_rw = fake_dma_rw };
	dev_attach(f->dev, &tp);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	uvfio_dev_free(f->dev);
	free(f);
	return 0;
}

static int map_nofd(struct uvfio_dev *dev, uint32_t flags, uint64_t iova,
		    uint64_t size)
{
	int fd = -1;
	return dev_dma_map(dev, flags, 0, iova, size, &fd);
}

/*
 * Map a window backed by a dup of @src.  Whether the device keeps the fd
 * (dev.h: set to -1) or only the mapping, the test's copy is closed here
 * when it is still ours, so fd counts show what the device holds.
 */
static int map_fd(struct uvfio_dev *dev, uint32_t flags, uint64_t offset,
		  uint64_t iova, uint64_t size, int src)
{
	int fd = dup(src);
	assert_true(fd >= 0);
	int r = dev_dma_map(dev, flags, offset, iova, size, &fd);
	if (fd >= 0)
		close(fd);
	return r;
}

static int new_memfd(size_t size)
{
	int fd = memfd_create("dma-test", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	return fd;
}

static bool fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static void test_map_unmap_exact(void **state)
{
	struct uvfio_dev *dev = ((struct fixture *)*state)->dev;
	assert_int_equal(uvfio_dev_dma_count(dev), 0);
	assert_int_equal(map_nofd(dev, RW, 0x10000, 0x4000), 0);
	assert_int_equal(uvfio_dev_dma_count(dev), 1);
	assert_int_equal(dev_dma_unmap(dev, 0, 0x10000, 0x4000), 0);
	assert_int_equal(uvfio_dev_dma_count(dev), 0);
	/* The same range maps again once it is free. */
	assert_int_equal(map_nofd(dev, VU_DMA_FLAG_READ, 0x10000, 0x4000), 0);
	assert_int_equal(dev_dma_unmap(dev, 0, 0x10000, 0x4000), 0);
	/* Windows without permissions are legal too. */
	assert_int_equal(map_nofd(dev, 0, 0x10000, 0x1000), 0);
	assert_int_equal(dev_dma_unmap(dev, 0, 0x10000, 0x1000), 0);
}

static void test_overlap_eexist(void **state)
{
	struct uvfio_dev *dev = ((struct fixture *)*state)->dev;
	assert_int_equal(map_nofd(dev, RW, 0x10000, 0x4000), 0);
	assert_int_equal(map_nofd(dev, RW, 0x30000, 0x1000), 0);
	const struct { uint64_t iova, size; } bad[] = {
		{ 0x10000, 0x4000 },   /* identical */
		{ 0x11000, 0x1000 },   /* inside */
		{ 0x10000, 0x1000 },   /* first page */
		{ 0x13000, 0x1000 },   /* last page */
		{ 0xf000, 0x2000 },    /* straddling the start */
		{ 0x13000, 0x2000 },   /* straddling the end */
		{ 0xf000, 0x10000 },   /* covering */
		{ 0x0, 0x100000 },     /* covering both */
		{ 0x14000, 0x1d000 },  /* between, touching the second */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int fd = new_memfd(0x100000);
		int r = dev_dma_map(dev, RW, 0, bad[i].iova, bad[i].size, &fd);
		if (r != -EEXIST)
			fail_msg("map 0x%llx+0x%llx: %d", (unsigned long long)bad[i].iova,
				 (unsigned long long)bad[i].size, r);
		/* A refused map does not take the fd. */
		assert_true(fd >= 0 && fd_is_open(fd));
		close(fd);
		assert_int_equal(map_nofd(dev, RW, bad[i].iova, bad[i].size), -EEXIST);
	}
	assert_int_equal(uvfio_dev_dma_count(dev), 2);
	/* Touching but not overlapping is fine on both sides. */
	assert_int_equal(map_nofd(dev, RW, 0xf000, 0x1000), 0);
	assert_int_equal(map_nofd(dev, RW, 0x14000, 0x1000), 0);
	assert_int_equal(map_nofd(dev, RW, 0x15000, 0x1b000), 0);
	assert_int_equal(uvfio_dev_dma_count(dev), 5);
}

static void test_unmap_enoent(void **state)
{
	struct uvfio_dev *dev = ((struct fixture *)*state)->dev;
	assert_int_equal(dev_dma_unmap(dev, 0, 0x10000, 0x1000), -ENOENT);
	assert_int_equal(map_nofd(dev, RW, 0x10000, 0x4000), 0);
	const struct { uint64_t iova, size; } bad[] = {
		{ 0x10000, 0x1000 },   /* same start, shorter */
		{ 0x10000, 0x5000 },   /* same start, longer */
		{ 0x11000, 0x1000 },   /* inside */
		{ 0x11000, 0x3000 },   /* the tail */
		{ 0xf000, 0x5000 },    /* covering */
		{ 0x20000, 0x4000 },   /* elsewhere */
		{ 0xfffffffffffff000ull, 0x1000 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(dev_dma_unmap(dev, 0, bad[i].iova, bad[i].size),
				 -ENOENT);
	assert_int_equal(uvfio_dev_dma_count(dev), 1);
	assert_int_equal(dev_dma_unmap(dev, 0, 0x10000, 0x4000), 0);
	assert_int_equal(dev_dma_unmap(dev, 0, 0x10000, 0x4000), -ENOENT);
}

static void test_unmap_all(void **state)
{
	struct uvfio_dev *dev = ((struct fixture *)*state)->dev;
	int base = count_open_fds();
	int memfd = new_memfd(PG);
	for (int i = 0; i < 3; i++)
		assert_int_equal(map_fd(dev, RW, 0, 0x100000 * (uint64_t)(i + 1), PG,
					memfd), 0);
	close(memfd);
	assert_true(count_open_fds() <= base + 3);
	assert_int_equal(map_nofd(dev, RW, 0x10000000, PG), 0);
	assert_int_equal(uvfio_dev_dma_count(dev), 4);
	/* ALL with an address or a size is malformed and unmaps nothing. */
	assert_int_equal(dev_dma_unmap(dev, VU_DMA_UNMAP_FLAG_ALL, 0x100000, 0), -EINVAL);
	assert_int_equal(dev_dma_unmap(dev, VU_DMA_UNMAP_FLAG_ALL, 0, PG), -EINVAL);
	assert_int_equal(dev_dma_unmap(dev, VU_DMA_UNMAP_FLAG_ALL, 0x100000, PG), -EINVAL);
	/* Unknown flags. */
	assert_int_equal(dev_dma_unmap(dev, 1, 0x100000, PG), -EINVAL);
	assert_int_equal(dev_dma_unmap(dev, 4, 0x100000, PG), -EINVAL);
	assert_int_equal(uvfio_dev_dma_count(dev), 4);
	uint8_t b;
	assert_int_equal(uvfio_dev_dma_read(dev, 0x300000, &b, 1), 0);
	assert_int_equal(dev_dma_unmap(dev, VU_DMA_UNMAP_FLAG_ALL, 0, 0), 0);
	assert_int_equal(uvfio_dev_dma_count(dev), 0);
	/* Nothing of the windows is held any more. */
	assert_int_equal(count_open_fds(), base);
	assert_int_equal(uvfio_dev_dma_read(dev, 0x100000, &b, 1), -EFAULT);
	/* Nothing to unmap is not an error for ALL. */
	assert_int_equal(dev_dma_unmap(dev, VU_DMA_UNMAP_FLAG_ALL, 0, 0), 0);
}

static void test_bad_args_einval(void **state)
{
	struct uvfio_dev *dev = ((struct fixture *)*state)->dev;
	assert_int_equal(map_nofd(dev, RW, 0x10000, 0), -EINVAL);
	assert_int_equal(map_nofd(dev, RW, 0, 0), -EINVAL);
	assert_int_equal(map_nofd(dev, RW, 0xfffffffffffff000ull, 0x2000), -EINVAL);
	assert_int_equal(map_nofd(dev, RW, 0xffffffffffff0000ull, 0x20000), -EINVAL);
	assert_int_equal(map_nofd(dev, RW, 0x2000, UINT64_MAX & ~0xfffull), -EINVAL);
	assert_int_equal(map_nofd(dev, RW, 0x10001, 0x1000), -EINVAL);
	assert_int_equal(map_nofd(dev, RW, 0x10800, 0x1000), -EINVAL);
	assert_int_equal(map_nofd(dev, RW, 0x10000, 0x1001), -EINVAL);
	assert_int_equal(map_nofd(dev, RW, 0x10000, 0x800), -EINVAL);
	assert_int_equal(map_nofd(dev, 4, 0x10000, 0x1000), -EINVAL);
	assert_int_equal(map_nofd(dev, 0x80000000u, 0x10000, 0x1000), -EINVAL);
	int fd = new_memfd(0x10000);
	/* With an fd the file offset must be page aligned and not wrap. */
	assert_int_equal(dev_dma_map(dev, RW, 0x10, 0x10000, 0x1000, &fd), -EINVAL);
	assert_int_equal(dev_dma_map(dev, RW, 0xfffffffffffff000ull, 0x10000,
				     0x2000, &fd), -EINVAL);
	assert_true(fd_is_open(fd));
	/* An fd that cannot be mapped is refused and stays the caller's. */
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	int p = pfd[0];
	assert_true(dev_dma_map(dev, RW, 0, 0x10000, 0x1000, &p) < 0);
	assert_int_equal(p, pfd[0]);
	assert_true(fd_is_open(pfd[0]));
	close(pfd[0]);
	close(pfd[1]);
	close(fd);
	assert_int_equal(uvfio_dev_dma_count(dev), 0);
	/* Unmap of size 0. */
	assert_int_equal(dev_dma_unmap(dev, 0, 0x10000, 0), -EINVAL);
	/* Windows may end at the very top: iova + size - 1 = 2^64 - 1. */
	assert_int_equal(map_nofd(dev, RW, 0xfffffffffffff000ull, 0x1000), 0);
	assert_int_equal(dev_dma_unmap(dev, 0, 0xfffffffffffff000ull, 0x1000), 0);
	assert_int_equal(map_nofd(dev, RW, 0x1000, UINT64_MAX & ~0xfffull), 0);
	assert_int_equal(map_nofd(dev, RW, 0xfffffffffffff000ull, 0x1000), -EEXIST);
	assert_int_equal(dev_dma_unmap(dev, 0, 0x1000, UINT64_MAX & ~0xfffull), 0);
}

static void test_max_maps_enospc(void **state)
{
	struct uvfio_dev *dev = ((struct fixture *)*state)->dev;
	dev_set_dma_max(dev, 4);
	for (uint64_t i = 0; i < 4; i++)
		assert_int_equal(map_nofd(dev, RW, 0x100000 * (i + 1), PG), 0);
	int fd = new_memfd(PG);
	assert_int_equal(dev_dma_map(dev, RW, 0, 0x1000000, PG, &fd), -ENOSPC);
	assert_true(fd >= 0);
	close(fd);
	/* An overlapping one is still EEXIST, not ENOSPC. */
	assert_int_equal(map_nofd(dev, RW, 0x100000, PG), -EEXIST);
	assert_int_equal(dev_dma_unmap(dev, 0, 0x200000, PG), 0);
	assert_int_equal(map_nofd(dev, RW, 0x1000000, PG), 0);
	assert_int_equal(uvfio_dev_dma_count(dev), 4);
}

/*
 * 1000 fd-backed windows mapped in a scrambled order, with one free page
 * between neighbours; each window is a different page of one memfd,
 * assigned backwards, so a lookup that picks a neighbour shows.
 */
#define NWIN 1000u
#define WIN_IOVA(i) (0x40000000ull + (uint64_t)(i) * 2 * PG)
#define WIN_OFF(i) ((uint64_t)(NWIN - 1 - (i)) * PG)

static void test_1000_windows(void **state)
{
	struct uvfio_dev *dev = ((struct fixture *)*state)->dev;
	int memfd = new_memfd(NWIN * PG);
	int base = count_open_fds();
	for (unsigned k = 0; k < NWIN; k++) {
		unsigned i = (k * 617u) % NWIN;   /* 617 is prime to 1000 */
		int r = map_fd(dev, RW, WIN_OFF(i), WIN_IOVA(i), PG, memfd);
		if (r)
			fail_msg("window %u: %d", i, r);
	}
	assert_int_equal(uvfio_dev_dma_count(dev), NWIN);
	/* At most one fd per window is held. */
	assert_true(count_open_fds() <= base + (int)NWIN);

	for (unsigned i = 0; i < NWIN; i++) {
		uint32_t tag = 0xd0000000u | i;
		assert_int_equal(uvfio_dev_dma_write(dev, WIN_IOVA(i) + 8 * (i % 500),
						     &tag, sizeof(tag)), 0);
	}
	for (unsigned i = 0; i < NWIN; i++) {
		uint32_t got = 0;
		assert_int_equal(pread(memfd, &got, sizeof(got),
				       (off_t)(WIN_OFF(i) + 8 * (i % 500))), 4);
		if (got != (0xd0000000u | i))
			fail_msg("window %u: 0x%x", i, got);
		/* And the other way: memfd first, device read after. */
		uint32_t v = 0x5a000000u | i, back = 0;
		assert_int_equal(pwrite(memfd, &v, 4, (off_t)(WIN_OFF(i) + PG - 4)), 4);
		assert_int_equal(uvfio_dev_dma_read(dev, WIN_IOVA(i) + PG - 4,
						    &back, 4), 0);
		assert_int_equal(back, v);
		/* The page after each window is unmapped. */
		assert_int_equal(uvfio_dev_dma_read(dev, WIN_IOVA(i) + PG, &back, 4),
				 -EFAULT);
		/* Running off the end of a window fails. */
		assert_int_equal(uvfio_dev_dma_read(dev, WIN_IOVA(i) + PG - 2,
						    &back, 4), -EFAULT);
	}
	/* Unmapping every other window leaves the rest reachable. */
	for (unsigned i = 0; i < NWIN; i += 2)
		assert_int_equal(dev_dma_unmap(dev, 0, WIN_IOVA(i), PG), 0);
	assert_true(count_open_fds() <= base + (int)NWIN / 2);
	for (unsigned i = 0; i < NWIN; i++) {
		uint32_t back;
		int r = uvfio_dev_dma_read(dev, WIN_IOVA(i) + PG - 4, &back, 4);
		assert_int_equal(r, i % 2 ? 0 : -EFAULT);
		if (!r)
			assert_int_equal(back, 0x5a000000u | i);
	}
	assert_int_equal(uvfio_dev_dma_count(dev), NWIN / 2);
	/* Disconnecting the client drops the rest and closes their fds. */
	dev_detach(dev);
	assert_int_equal(uvfio_dev_dma_count(dev), 0);
	assert_int_equal(count_open_fds(), base);
	close(memfd);
}

/* An access that spans two adjacent windows lands in both. */
static void test_access_spanning_windows(void **state)
{
	struct uvfio_dev *dev = ((struct fixture *)*state)->dev;
	int memfd = new_memfd(4 * PG);
	/* iova 0x200000 -> file page 3; iova 0x201000 -> file page 0. */
	assert_int_equal(map_fd(dev, RW, 3 * PG, 0x200000, PG, memfd), 0);
	assert_int_equal(map_fd(dev, RW, 0, 0x201000, PG, memfd), 0);
	uint8_t buf[256];
	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i + 1);
	assert_int_equal(uvfio_dev_dma_write(dev, 0x201000 - 100, buf, sizeof(buf)), 0);
	uint8_t f[256];
	assert_int_equal(pread(memfd, f, 100, (off_t)(4 * PG - 100)), 100);
	assert_memory_equal(f, buf, 100);
	assert_int_equal(pread(memfd, f, 156, 0), 156);
	assert_memory_equal(f, buf + 100, 156);
	uint8_t back[256] = { 0 };
	assert_int_equal(uvfio_dev_dma_read(dev, 0x201000 - 100, back, sizeof(back)), 0);
	assert_memory_equal(back, buf, sizeof(buf));
	/* Zero bytes is a no-op anywhere. */
	assert_int_equal(uvfio_dev_dma_read(dev, 0x7000000, back, 0), 0);
	close(memfd);
}

static void test_permissions_eperm(void **state)
{
	struct uvfio_dev *dev = ((struct fixture *)*state)->dev;
	int memfd = new_memfd(2 * PG);
	uint32_t v = 0x11223344;
	assert_int_equal(pwrite(memfd, &v, 4, 0), 4);
	assert_int_equal(map_fd(dev, VU_DMA_FLAG_READ, 0, 0x300000, PG, memfd), 0);
	assert_int_equal(map_fd(dev, VU_DMA_FLAG_WRITE, PG, 0x400000, PG, memfd), 0);
	uint32_t x = 0;
	assert_int_equal(uvfio_dev_dma_read(dev, 0x300000, &x, 4), 0);
	assert_int_equal(x, 0x11223344);
	uint32_t w = 0xdeadbeef;
	assert_int_equal(uvfio_dev_dma_write(dev, 0x300000, &w, 4), -EPERM);
	/* Nothing was written. */
	assert_int_equal(pread(memfd, &x, 4, 0), 4);
	assert_int_equal(x, 0x11223344);
	assert_int_equal(uvfio_dev_dma_write(dev, 0x400000, &w, 4), 0);
	assert_int_equal(pread(memfd, &x, 4, PG), 4);
	assert_int_equal(x, 0xdeadbeef);
	assert_int_equal(uvfio_dev_dma_read(dev, 0x400000, &x, 4), -EPERM);
	/* The same rules for fd-less windows, before the transport is used. */
	struct fake_tp *tp = &((struct fixture *)*state)->tp;
	assert_int_equal(map_nofd(dev, VU_DMA_FLAG_READ, 0x900000, PG), 0);
	assert_int_equal(uvfio_dev_dma_write(dev, 0x900000, &w, 4), -EPERM);
	assert_int_equal(tp->calls, 0);
	close(memfd);
}

static void test_outside_windows_efault(void **state)
{
	struct uvfio_dev *dev = ((struct fixture *)*state)->dev;
	int memfd = new_memfd(PG);
	assert_int_equal(map_fd(dev, RW, 0, 0x500000, PG, memfd), 0);
	uint8_t b[16];
	assert_int_equal(uvfio_dev_dma_read(dev, 0, b, 1), -EFAULT);
	assert_int_equal(uvfio_dev_dma_read(dev, 0x4fffff, b, 1), -EFAULT);
	assert_int_equal(uvfio_dev_dma_read(dev, 0x4ffff8, b, 16), -EFAULT);
	assert_int_equal(uvfio_dev_dma_read(dev, 0x501000, b, 1), -EFAULT);
	assert_int_equal(uvfio_dev_dma_write(dev, 0x501000, b, 1), -EFAULT);
	assert_int_equal(uvfio_dev_dma_read(dev, UINT64_MAX, b, 1), -EFAULT);
	assert_int_equal(uvfio_dev_dma_read(dev, UINT64_MAX - 4, b, 16), -EFAULT);
	assert_int_equal(uvfio_dev_dma_read(dev, 0x500ff8, b, 8), 0);
	/* After unmap the window is gone for the device. */
	assert_int_equal(dev_dma_unmap(dev, 0, 0x500000, PG), 0);
	assert_int_equal(uvfio_dev_dma_read(dev, 0x500000, b, 1), -EFAULT);
	close(memfd);
}

static void test_fdless_windows_use_transport(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(map_nofd(f->dev, RW, 0x900000, 2 * PG), 0);
	uint8_t data[64];
	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(0x80 + i);
	assert_int_equal(uvfio_dev_dma_write(f->dev, 0x900010, data, sizeof(data)), 0);
	assert_int_equal(f->tp.calls, 1);
	assert_true(f->tp.write);
	assert_int_equal(f->tp.iova, 0x900010);
	assert_int_equal(f->tp.len, sizeof(data));
	assert_memory_equal(f->tp.mem + 0x10, data, sizeof(data));
	uint8_t back[64] = { 0 };
	assert_int_equal(uvfio_dev_dma_read(f->dev, 0x900010, back, sizeof(back)), 0);
	assert_int_equal(f->tp.calls, 2);
	assert_false(f->tp.write);
	assert_memory_equal(back, data, sizeof(data));
	/* The transport's error is the device's error. */
	assert_int_equal(map_nofd(f->dev, RW, 0xa00000, PG), 0);
	assert_int_equal(uvfio_dev_dma_read(f->dev, 0xa00000, back, 4), -EIO);
}

static void test_no_client_enotconn(void **state)
{
	struct uvfio_dev *dev = uvfio_dev_new("lonely");
	assert_non_null(dev);
	assert_int_equal(dev_seal(dev), 0);
	uint8_t b[4];
	assert_int_equal(uvfio_dev_dma_read(dev, 0x1000, b, 4), -ENOTCONN);
	assert_int_equal(uvfio_dev_dma_write(dev, 0x1000, b, 4), -ENOTCONN);
	uvfio_dev_free(dev);
}

/* A device freed with windows still mapped releases them. */
static void test_free_releases_windows(void **state)
{
	int base = count_open_fds();
	struct uvfio_dev *dev = uvfio_dev_new("freed");
	assert_non_null(dev);
	assert_int_equal(dev_seal(dev), 0);
	struct dev_transport tp = { 0 };
	dev_attach(dev, &tp);
	int memfd = new_memfd(PG);
	for (int i = 0; i < 3; i++)
		assert_int_equal(map_fd(dev, RW, 0, 0x10000 * (uint64_t)(i + 1), PG,
					memfd), 0);
	close(memfd);
	assert_true(count_open_fds() <= base + 3);
	uvfio_dev_free(dev);
	assert_int_equal(count_open_fds(), base);
}

/*
 * Check one READ-only window on @fd (a file that cannot be mapped
 * writable, for the reason @werr gives): it maps, shared and read-only;
 * the device reads the file's data through it and a device write is
 * refused; READ|WRITE and WRITE windows on the same file fail with
 * -@werr and leave nothing mapped.
 */
static void read_only_window(struct uvfio_dev *dev, int fd, int werr,
			     uint32_t want)
{
	const uint64_t iova = 0x700000;
	assert_int_equal(map_fd(dev, VU_DMA_FLAG_READ, PG, iova, PG, fd), 0);
	const struct dev_dma_window *w = dev_dma_find(dev, iova);
	assert_non_null(w);
	assert_non_null(w->map);
	char p[5];
	map_perms(w->map, p);
	assert_string_equal(p, "r--s");
	map_perms((const uint8_t *)w->map + PG - 1, p);
	assert_string_equal(p, "r--s");
	uint32_t v = 0;
	assert_int_equal(uvfio_dev_dma_read(dev, iova + 16, &v, 4), 0);
	assert_int_equal(v, want);
	uint32_t x = 0xbad0bad0;
	assert_int_equal(uvfio_dev_dma_write(dev, iova + 16, &x, 4), -EPERM);
	assert_int_equal(dev_dma_unmap(dev, 0, iova, PG), 0);

	assert_int_equal(map_fd(dev, RW, PG, iova, PG, fd), -werr);
	assert_int_equal(map_fd(dev, VU_DMA_FLAG_WRITE, PG, iova, PG, fd), -werr);
	assert_int_equal(uvfio_dev_dma_count(dev), 0);
	assert_null(dev_dma_find(dev, iova));
	/* READ again, after the failures: still fine. */
	assert_int_equal(map_fd(dev, VU_DMA_FLAG_READ, PG, iova, PG, fd), 0);
	assert_int_equal(uvfio_dev_dma_read(dev, iova + 16, &v, 4), 0);
	assert_int_equal(v, want);
	assert_int_equal(dev_dma_unmap(dev, 0, iova, PG), 0);
}

/*
 * A READ window is mapped read-only, so a client may give a file it
 * only has read access to (or one sealed against writes): the device
 * gets it, and a READ|WRITE window on it is refused by mmap's errno.
 */
static void test_read_window_mapped_read_only(void **state)
{
	struct uvfio_dev *dev = ((struct fixture *)*state)->dev;
	int memfd = memfd_create("dma-ro", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	assert_true(memfd >= 0);
	assert_int_equal(ftruncate(memfd, 2 * PG), 0);
	uint32_t v = 0x0dd0c0de;
	assert_int_equal(pwrite(memfd, &v, 4, PG + 16), 4);

	/* The same file opened read-only: mmap with PROT_WRITE is EACCES. */
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	int ro = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(ro >= 0);
	read_only_window(dev, ro, EACCES, 0x0dd0c0de);
	close(ro);

	/* Sealed against writes: mmap with PROT_WRITE, MAP_SHARED is EPERM. */
	v = 0x5ea1ed00;
	assert_int_equal(pwrite(memfd, &v, 4, PG + 16), 4);
	assert_int_equal(fcntl(memfd, F_ADD_SEALS, F_SEAL_WRITE), 0);
	read_only_window(dev, memfd, EPERM, 0x5ea1ed00);
	close(memfd);
}

/*
 * Lookups are a binary search: the time for one grows with log(n), not
 * n.  Lookups among 65535 windows against lookups among 16, as thread
 * CPU time (not disturbed by other processes on the machine), the median
 * of several interleaved runs: a binary search costs a few times more
 * (16 steps against 4, and cache misses), a linear scan thousands.
 */
struct count_tp {
	unsigned long calls;
};

static int count_dma_rw(void *opaque, uint64_t iova, void *buf, size_t len,
			bool write)
{
	(void)iova;
	(void)write;
	struct count_tp *t = opaque;
	t->calls++;
	memset(buf, 0, len);
	return 0;
}

#define LOOKUPS 20000u
#define REPS 9

static uint64_t thread_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static struct uvfio_dev *dev_with_windows(unsigned n, struct count_tp *tp)
{
	struct uvfio_dev *dev = uvfio_dev_new("lookup");
	assert_non_null(dev);
	assert_int_equal(dev_seal(dev), 0);
	struct dev_transport t = { .opaque = tp, .dma_rw = count_dma_rw };
	dev_attach(dev, &t);
	dev_set_dma_max(dev, n);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(map_nofd(dev, RW, (uint64_t)i * 2 * PG, PG), 0);
	assert_int_equal(uvfio_dev_dma_count(dev), n);
	return dev;
}

/* ns for LOOKUPS reads at scattered windows of @n, and one each side. */
static uint64_t time_lookups(struct uvfio_dev *dev, unsigned n, uint32_t seed)
{
	uint32_t x = seed;
	uint64_t t0 = thread_ns();
	for (unsigned k = 0; k < LOOKUPS; k++) {
		x = x * 1664525u + 1013904223u;
		unsigned i = (x >> 8) % n;
		uint64_t iova = (uint64_t)i * 2 * PG + ((x >> 4) & 0xff8);
		uint32_t v;
		if (uvfio_dev_dma_read(dev, iova, &v, 4) != 0)
			fail_msg("lookup of window %u failed", i);
		/* The gap after it is no window: a miss is searched too. */
		if (dev_dma_find(dev, iova + PG) != NULL)
			fail_msg("gap after window %u found", i);
	}
	return thread_ns() - t0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void test_lookup_is_logarithmic(void **state)
{
	(void)state;
	struct count_tp tsmall = { 0 }, tbig = { 0 };
	struct uvfio_dev *small = dev_with_windows(16, &tsmall);
	struct uvfio_dev *big = dev_with_windows(65535, &tbig);
	uint64_t ts[REPS], tb[REPS];
	time_lookups(small, 16, 1);     /* warm up */
	time_lookups(big, 65535, 1);
	for (int r = 0; r < REPS; r++) {
		ts[r] = time_lookups(small, 16, 7u + (uint32_t)r);
		tb[r] = time_lookups(big, 65535, 7u + (uint32_t)r);
	}
	assert_int_equal(tsmall.calls, (REPS + 1) * LOOKUPS);
	assert_int_equal(tbig.calls, (REPS + 1) * LOOKUPS);
	qsort(ts, REPS, sizeof(ts[0]), cmp_u64);
	qsort(tb, REPS, sizeof(tb[0]), cmp_u64);
	uint64_t ms = ts[REPS / 2] ? ts[REPS / 2] : 1, mb = tb[REPS / 2];
	double ratio = (double)mb / (double)ms;
	print_message("%u lookups: %.1f us among 16 windows, %.1f us among 65535: x%.1f\n",
		      LOOKUPS, (double)ms / 1e3, (double)mb / 1e3, ratio);
	assert_true(ratio < 25.0);
	uvfio_dev_free(small);
	uvfio_dev_free(big);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_map_unmap_exact),
		T(test_overlap_eexist),
		T(test_unmap_enoent),
		T(test_unmap_all),
		T(test_bad_args_einval),
		T(test_max_maps_enospc),
		T(test_1000_windows),
		T(test_access_spanning_windows),
		T(test_permissions_eperm),
		T(test_outside_windows_efault),
		T(test_fdless_windows_use_transport),
		T(test_read_window_mapped_read_only),
		cmocka_unit_test(test_lookup_is_logarithmic),
		cmocka_unit_test(test_no_client_enotconn),
		cmocka_unit_test(test_free_releases_windows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
