/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A fake Linux VFIO for the kernel backend's unit tests: a struct
 * uvfio_sys whose opens, ioctls and sysfs reads are answered by a model
 * of /dev/vfio (groups, type1 containers), the vfio device cdev and
 * /dev/iommu (iommufd), with the checks the kernel makes.  Fds are real
 * (a device fd is a memfd holding its regions at their reported offsets,
 * so pread, pwrite and mmap work); the fake records what it was asked.
 */
#ifndef UVFIO_TESTS_KERNEL_FAKE_H
#define UVFIO_TESTS_KERNEL_FAKE_H

#include <stdbool.h>
#include <stdint.h>

#include <uvfio/client.h>
#include "client/sys.h"
#include "common/linux_compat.h"

#define FK_MAX_DEVS     4
#define FK_MAX_REGIONS  10
#define FK_MAX_IRQS     5
#define FK_MAX_FDS      64
#define FK_MAX_MAPS     64
#define FK_MAX_CALLS    128
#define FK_MAX_RANGES   12

struct fk_region {
	uint64_t offset, size;
	uint32_t flags;
	unsigned nareas;                 /* sparse mmap areas; 0: none */
	struct vfio_region_sparse_mmap_area areas[16];
	bool msix_mappable;
	bool has_type;
	uint32_t type, subtype;
};

struct fk_dev {
	const char *addr;                /* "0000:01:00.0" */
	int group;                       /* IOMMU group; -1: none */
	int cdev;                        /* N of /dev/vfio/devices/vfioN */
	int opens;                       /* device fds handed out */
};

struct fk_map {
	uint64_t iova, size, vaddr;
	uint32_t flags;
	bool iommufd;
};

enum fk_kind { FK_FREE, FK_CONTAINER, FK_GROUP, FK_DEVICE, FK_IOMMUFD };

struct fk_fd {
	int fd;
	enum fk_kind kind;
	int id;                          /* group number, device index */
	int container;                   /* group: its container fd, or -1 */
	unsigned long iommu;             /* container: type set, or 0 */
	bool cdev;                       /* device: opened as its cdev */
	bool bound;                      /* cdev: bound to an iommufd */
	int ictx;                        /* cdev: the iommufd fd it is bound to */
};

struct fake_kernel {
	struct uvfio_sys sys;            /* first: what the backend gets */

	/* What the fake machine has; tests set these before opening. */
	struct fk_dev devs[FK_MAX_DEVS];
	unsigned ndevs;
	struct fk_region regions[FK_MAX_REGIONS];
	unsigned nregions;
	uint32_t irq_count[FK_MAX_IRQS], irq_flags[FK_MAX_IRQS];
	uint32_t dev_flags;
	int api_version;
	bool type1v2, type1;
	bool viable;
	bool group_busy;                 /* another program holds the groups */
	int refuse_join_group;           /* SET_CONTAINER into a used container: EPERM */
	bool iommufd;                    /* /dev/iommu exists */
	bool cdevs;                      /* devices have vfio-dev/vfioN */
	bool cdev_nodes_missing;         /* ... but /dev/vfio/devices is empty */
	struct uvfio_iova_range ranges[FK_MAX_RANGES];
	unsigned nranges;                /* 0: no IOVA_RANGE cap */
	/*
	 * How many devices a hot reset resets (0: the device has no bus or
	 * slot reset, ENODEV).  Entry i is devs[i] while there is one (bound
	 * to vfio-pci), past those a device on bus 1+i bound to a host
	 * driver, in group 7+i, which nothing here can own.
	 */
	uint32_t hot_reset_count;

	/* What happened. */
	int memfd;                       /* the device fds' backing */
	struct fk_fd fds[FK_MAX_FDS];
	struct fk_map maps[FK_MAX_MAPS];
	unsigned nmaps;
	char calls[FK_MAX_CALLS][96];
	unsigned ncalls;
	unsigned region_info_calls[FK_MAX_REGIONS];
	uint32_t last_region_argsz[FK_MAX_REGIONS];
	uint8_t last_irq_set[256];       /* the last SET_IRQS, whole */
	struct vfio_device_ioeventfd last_ioeventfd;
	uint8_t last_feature[64];
	unsigned resets;
	unsigned hot_resets;             /* VFIO_DEVICE_PCI_HOT_RESET done */
	uint32_t last_hot_reset_count;   /* its group fd count */
	int last_hot_reset_groups[FK_MAX_DEVS];   /* their group numbers */
	bool dirty;
	struct vfio_iommu_type1_dirty_bitmap_get last_dirty;
	unsigned ioas_allocs;
};

/* A machine with edu-like devices at 0000:01:00.0 (group 7) and
 * 0000:02:00.0 (group 8), installed as the backend's system. */
void fk_init(struct fake_kernel *fk);
/* Uninstall; fails the test when an fd the fake handed out is open. */
void fk_fini(struct fake_kernel *fk);
/* Fds of @kind still open. */
unsigned fk_open_fds(const struct fake_kernel *fk, enum fk_kind kind);
/* Index of the first call named @name at or after @from, or -1. */
int fk_find_call(const struct fake_kernel *fk, const char *name, unsigned from);
/* The calls joined by spaces, for assertions and failure messages. */
const char *fk_calls(const struct fake_kernel *fk);
void fk_clear_calls(struct fake_kernel *fk);
/* The bytes of the device's memfd at @off. */
void fk_peek(const struct fake_kernel *fk, uint64_t off, void *buf, size_t len);
void fk_poke(const struct fake_kernel *fk, uint64_t off, const void *buf, size_t len);

#endif
