/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lsvfio's second source: PCI devices bound to the kernel's vfio-pci.
 * The listing reads sysfs only; decoding one opens it through the
 * client library, as for a vfio-user socket.
 *
 * LSVFIO_SYSFS and LSVFIO_DEV (default /sys and /dev) move the roots the
 * listing looks at, so that it can be tested against a made-up tree.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lsvfio.h"
#include "lsvfio-kernel.h"

#define VFIO_PCI_DRIVER "bus/pci/drivers/vfio-pci"

static const char *root(const char *env, const char *def)
{
	const char *r = getenv(env);
	return r && *r ? r : def;
}

/* "DDDD:BB:DD.F" or "BB:DD.F", hex digits where they belong. */
bool lsv_kernel_claims(const char *arg)
{
	static const char pat[] = "hhhh:hh:hh.d";
	size_t n = strlen(arg);

	if (n != 12 && n != 7)
		return false;
	const char *p = pat + (12 - n);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)arg[i];
		if (p[i] == 'h' ? !isxdigit(c) :
		    p[i] == 'd' ? c < '0' || c > '7' : c != (unsigned char)p[i])
			return false;
	}
	return true;
}

int lsv_kernel_open(const char *addr, const struct uvfio_open_opts *o,
		    struct uvfio_device **out, const char **hint)
{
	int r = uvfio_device_open(addr, o, out);

	switch (r) {
	case 0:
		*hint = "";
		break;
	case -ENODEV:
		*hint = " (no such device, or no IOMMU group: is it bound to vfio-pci?)";
		break;
	case -EBUSY:
		*hint = " (another program has its IOMMU group open)";
		break;
	case -EPERM:
		*hint = " (IOMMU group not viable: bind all of its devices to vfio-pci)";
		break;
	case -EACCES:
		*hint = " (no permission on /dev/vfio)";
		break;
	default:
		*hint = "";
		break;
	}
	return r;
}

/* A small sysfs file of one hex number ("0x1234\n"). */
static long read_hex(const char *dir, const char *name)
{
	char path[PATH_MAX], buf[32];

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	char *end;
	long v = strtol(buf, &end, 16);
	return end == buf ? -1 : v;
}

static int group_of(const char *dir)
{
	char path[PATH_MAX], link[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/iommu_group", dir) >= (int)sizeof(path))
		return -1;
	ssize_t n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return -1;
	link[n] = '\0';
	const char *base = strrchr(link, '/');
	base = base ? base + 1 : link;
	char *end;
	long id = strtol(base, &end, 10);
	return *base && !*end && id >= 0 && id <= INT_MAX ? (int)id : -1;
}

/*
 * Whether a program has group @id open: the kernel lets one open it at a
 * time (EBUSY).  1 in use, 0 free, -errno when it cannot tell.
 */
static int group_in_use(int id)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/vfio/%d", root("LSVFIO_DEV", "/dev"), id);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	return errno == EBUSY ? 1 : -errno;
}

static int pci_filter(const struct dirent *e)
{
	return lsv_kernel_claims(e->d_name);
}

static void print_one(FILE *f, const char *addr, long vendor, long device,
		      long class_code, long rev, int group, int use)
{
	const char *cn = class_code >= 0 ? lsv_class_name((uint32_t)class_code) : NULL;
	const char *vn = vendor >= 0 ? lsv_vendor_name((uint16_t)vendor) : NULL;

	fprintf(f, "%s: ", addr);
	if (cn)
		fprintf(f, "%s [%04lx]", cn, (unsigned long)class_code >> 8);
	else
		fprintf(f, "Class [%04lx]", class_code >= 0 ?
			(unsigned long)class_code >> 8 : 0xffffUL);
	fprintf(f, ": %s%sDevice [%04lx:%04lx]", vn ? vn : "", vn ? " " : "",
		vendor & 0xffff, device & 0xffff);
	if (rev > 0)
		fprintf(f, " (rev %02lx)", rev);
	fprintf(f, " (vfio-pci");
	if (group >= 0)
		fprintf(f, ", IOMMU group %d", group);
	else
		fprintf(f, ", no IOMMU group");
	if (use >= 0)
		fprintf(f, ", %s)\n", use ? "in use" : "free");
	else
		fprintf(f, ", use unknown: %s)\n", strerror(-use));
}

static json_object *json_one(const char *addr, long vendor, long device,
			     long class_code, int group, int use)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(addr));
	json_object_object_add(o, "source", json_object_new_string("vfio-pci"));
	json_object_object_add(o, "vendor", json_object_new_int((int)vendor));
	json_object_object_add(o, "device", json_object_new_int((int)device));
	json_object_object_add(o, "class", json_object_new_int((int)class_code));
	json_object_object_add(o, "iommu_group",
			       group >= 0 ? json_object_new_int(group) : NULL);
	json_object_object_add(o, "in_use",
			       use >= 0 ? json_object_new_boolean(use) : NULL);
	return o;
}

int lsv_kernel_list(FILE *f, json_object *json)
{
	char drv[PATH_MAX];
	struct dirent **ents;

	snprintf(drv, sizeof(drv), "%s/%s", root("LSVFIO_SYSFS", "/sys"),
		 VFIO_PCI_DRIVER);
	int n = scandir(drv, &ents, pci_filter, alphasort);
	if (n < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		char dir[PATH_MAX];
		const char *addr = ents[i]->d_name;

		if (snprintf(dir, sizeof(dir), "%s/%s", drv, addr) >= (int)sizeof(dir))
			dir[0] = '\0';
		long vendor = read_hex(dir, "vendor");
		long device = read_hex(dir, "device");
		long class_code = read_hex(dir, "class");
		long rev = read_hex(dir, "revision");
		int group = group_of(dir);
		int use = group >= 0 ? group_in_use(group) : -ENODEV;
		if (json)
			json_object_array_add(json, json_one(addr, vendor, device,
							     class_code, group, use));
		else
			print_one(f, addr, vendor, device, class_code, rev,
				  group, use);
		free(ents[i]);
	}
	free(ents);
	return n;
}
