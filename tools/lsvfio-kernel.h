/* SPDX-License-Identifier: BSD-3-Clause */
/* lsvfio's kernel source: devices bound to vfio-pci (lsvfio-kernel.c). */
#ifndef UVFIO_TOOLS_LSVFIO_KERNEL_H
#define UVFIO_TOOLS_LSVFIO_KERNEL_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>

#include <uvfio/client.h>

/* Is @arg a PCI address ("0000:01:00.0", "01:00.0")? */
bool lsv_kernel_claims(const char *arg);

/*
 * Open the vfio-pci device at @addr with @o; -errno, with a hint for
 * the usual causes in @hint (may be "").
 */
int lsv_kernel_open(const char *addr, const struct uvfio_open_opts *o,
		    struct uvfio_device **out, const char **hint);

/*
 * One line per device bound to vfio-pci (to @f), or one JSON object per
 * device appended to @json when it is not NULL: address, IDs and class
 * from sysfs, the IOMMU group, and whether a program has the group open.
 * Devices are not opened (opening one resets it).  Returns the number of
 * devices, or -errno.
 */
int lsv_kernel_list(FILE *f, json_object *json);

#endif
