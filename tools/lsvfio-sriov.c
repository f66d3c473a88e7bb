/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SR-IOV relations between devices.  For the kernel's vfio-pci, sysfs
 * says them (physfn, virtfnN).  For vfio-user, uvfio serves a PF's VFs
 * on sockets named "<PF socket>.vf<N>", so a VF socket names its PF and
 * a PF's VFs are the sockets of that name that exist (up to TotalVFs in
 * its SR-IOV capability).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lsvfio.h"

#define SYSFS_PCI "/sys/bus/pci/devices"

void lsv_sriov_fini(struct lsv_sriov *s)
{
	free(s->pf);
	for (unsigned i = 0; i < s->nvfs; i++)
		free(s->vfs[i]);
	free(s->vfs);
	memset(s, 0, sizeof(*s));
	s->vf_index = -1;
}

static int add_vf(struct lsv_sriov *s, char *name)
{
	if (!name)
		return -ENOMEM;
	char **v = realloc(s->vfs, (s->nvfs + 1) * sizeof(*v));
	if (!v) {
		free(name);
		return -ENOMEM;
	}
	s->vfs = v;
	s->vfs[s->nvfs++] = name;
	return 0;
}

static bool is_socket(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* TotalVFs from the SR-IOV capability, 0 without one. */
static unsigned total_vfs(const struct lsv_device *d)
{
	if (d->config_size < PCI_CFG_SPACE_EXP_SIZE)
		return 0;
	unsigned pos = PCI_CFG_SPACE_SIZE;
	for (unsigned ttl = 0; pos && ttl < LSV_ECAP_TTL; ttl++) {
		if (pos + 4 > d->config_size || pos < PCI_CFG_SPACE_SIZE)
			return 0;
		uint32_t h = lsv_cfg32(d, pos);
		if (PCI_EXT_CAP_ID(h) == PCI_EXT_CAP_ID_SRIOV)
			return lsv_cfg16(d, pos + PCI_SRIOV_TOTAL_VF);
		pos = PCI_EXT_CAP_NEXT(h);
	}
	return 0;
}

static int user_relations(struct lsv_device *d)
{
	struct lsv_sriov *s = &d->sriov;
	const char *dot = strrchr(d->name, '.');
	char *end;
	if (dot && !strncmp(dot, ".vf", 3) && dot[3] >= '0' && dot[3] <= '9') {
		unsigned long n = strtoul(dot + 3, &end, 10);
		if (!*end && n < 65536) {
			char *pf = strndup(d->name, (size_t)(dot - d->name));
			if (!pf)
				return -ENOMEM;
			if (is_socket(pf)) {
				s->pf = pf;
				s->vf_index = (int)n;
			} else {
				free(pf);
			}
		}
	}
	unsigned total = total_vfs(d);
	for (unsigned i = 0; i < total; i++) {
		char *p;
		if (asprintf(&p, "%s.vf%u", d->name, i) < 0)
			return -ENOMEM;
		if (!is_socket(p)) {
			free(p);
			continue;
		}
		int r = add_vf(s, p);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The PCI address a sysfs link points at, or NULL. */
static char *link_target(const char *path)
{
	char buf[PATH_MAX];
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);
	if (n <= 0)
		return NULL;
	buf[n] = 0;
	const char *base = strrchr(buf, '/');
	return strdup(base ? base + 1 : buf);
}

static int kernel_relations(struct lsv_device *d)
{
	struct lsv_sriov *s = &d->sriov;
	char path[PATH_MAX];
	snprintf(path, sizeof(path), SYSFS_PCI "/%s/physfn", d->name);
	s->pf = link_target(path);
	if (s->pf) {
		/* Which of the PF's virtfnN is this one. */
		for (int i = 0; i < 65536; i++) {
			snprintf(path, sizeof(path), SYSFS_PCI "/%s/virtfn%d",
				 s->pf, i);
			char *t = link_target(path);
			if (!t)
				break;
			bool me = !strcmp(t, d->name);
			free(t);
			if (me) {
				s->vf_index = i;
				break;
			}
		}
	}
	for (int i = 0; i < 65536; i++) {
		snprintf(path, sizeof(path), SYSFS_PCI "/%s/virtfn%d", d->name, i);
		char *t = link_target(path);
		if (!t)
			break;
		int r = add_vf(s, t);
		if (r < 0)
			return r;
	}
	return 0;
}

int lsv_probe_sriov(struct lsv_device *d, bool kernel)
{
	lsv_sriov_fini(&d->sriov);
	return kernel ? kernel_relations(d) : user_relations(d);
}
