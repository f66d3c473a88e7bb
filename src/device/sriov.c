/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SR-IOV physical functions that create their virtual functions, and the
 * VF token (REFERENCE §5; vfio_pci_core.c: vfio_pci_core_feature_token,
 * vfio_pci_validate_vf_token).
 *
 * The client of the PF plays the host's part: it programs NumVFs and VF
 * Enable in the SR-IOV capability, and the device builds or drops its
 * VFs.  Who serves them is the host's business (struct dev_sriov_host:
 * the PF's server).  The token is a UUID shared by the PF's user and the
 * VFs' users, proving they cooperate: the PF starts with a random one
 * nobody knows, so no VF can be opened until the PF's user sets it.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <syslog.h>

#include "device/dev.h"

#define VF_TOKEN_SIZE 16u

/* ---- the VF token feature ---- */

static int token_set(void *opaque, const void *buf, size_t len)
{
	struct uvfio_dev *dev = opaque;
	if (len < VF_TOKEN_SIZE)
		return -EINVAL;
	memcpy(dev->sriov->token, buf, VF_TOKEN_SIZE);
	return 0;
}

int dev_vf_token_check(struct uvfio_dev *dev, const uint8_t *token)
{
	if (dev->pf) {
		/* Our PF always has a token: a VF needs it. */
		if (!token ||
		    memcmp(token, dev->pf->sriov->token, VF_TOKEN_SIZE))
			return -EACCES;
		return 0;
	}
	if (dev->sriov) {
		struct dev_sriov *s = dev->sriov;
		if (s->users) {
			if (!token || memcmp(token, s->token, VF_TOKEN_SIZE))
				return -EACCES;
		} else if (token) {
			/* No VF in use: the PF's new user sets the token. */
			memcpy(s->token, token, VF_TOKEN_SIZE);
		}
		return 0;
	}
	return token ? -EINVAL : 0;
}

void dev_client_open(struct uvfio_dev *dev)
{
	if (dev->pf)
		dev->pf->sriov->users++;
}

void dev_client_close(struct uvfio_dev *dev)
{
	if (dev->pf && dev->pf->sriov->users)
		dev->pf->sriov->users--;
}

/* ---- creating and removing VFs ---- */

static uint16_t sriov_reg(struct uvfio_dev *dev, unsigned reg)
{
	uint8_t b[2] = { 0, 0 };
	pci_cfg_phys_read(dev->cfg, dev->cfg->sriov_off + reg, b, 2);
	return get_le16(b);
}

/* What makes @vf a VF of @pf in config space. */
static int vf_prepare(struct uvfio_dev *pf, struct uvfio_dev *vf,
		      unsigned index)
{
	struct uvfio_pci_ids ids = vf->ids;
	/* A VF's vendor and device ID read 0xffff; vfio-pci shows the
	 * PF's vendor and the VF Device ID instead, and so do we. */
	ids.vendor = pf->ids.vendor;
	ids.device = pf->sriov->vf_device;
	ids.irq_pin = 0;           /* VFs have no INTx */
	int r = uvfio_pci_set_ids(uvfio_dev_pci(vf), &ids);
	if (r < 0)
		return r;
	vf->pf = pf;
	vf->vf_index = index;
	return 0;
}

static void vfs_remove(struct uvfio_dev *pf)
{
	struct dev_sriov *s = pf->sriov;
	while (s->nvfs) {
		unsigned i = --s->nvfs;
		struct uvfio_dev *vf = s->vfs[i];
		void *state = s->vf_state[i];
		/* First the server: it disconnects the VF's client. */
		if (s->host.remove)
			s->host.remove(s->host.opaque, i);
		s->vfs[i] = NULL;
		s->vf_state[i] = NULL;
		vf->pf = NULL;
		uvfio_dev_free(vf);
		if (s->ops.vf_free)
			s->ops.vf_free(s->opaque, i, state);
	}
	s->users = 0;
}

static void vfs_add(struct uvfio_dev *pf, unsigned n)
{
	struct dev_sriov *s = pf->sriov;
	for (unsigned i = 0; i < n; i++) {
		void *state = NULL;
		struct uvfio_dev *vf = s->ops.vf_new(s->opaque, i, &state);
		int r = vf ? vf_prepare(pf, vf, i) : -ENOMEM;
		if (r < 0) {
			uvfio_log(pf, LOG_ERR, "%s: cannot build VF %u: %s",
				  pf->name, i, strerror(-r));
			uvfio_dev_free(vf);
			if (vf && s->ops.vf_free)
				s->ops.vf_free(s->opaque, i, state);
			return;
		}
		s->vfs[i] = vf;
		s->vf_state[i] = state;
		s->nvfs = i + 1;
		if (s->host.add && (r = s->host.add(s->host.opaque, i, vf)) < 0)
			uvfio_log(pf, LOG_ERR, "%s: cannot serve VF %u: %s",
				  pf->name, i, strerror(-r));
	}
}

/* Config space hook: VF Enable may have changed. */
static void sriov_changed(void *opaque)
{
	struct uvfio_dev *pf = opaque;
	struct dev_sriov *s = pf->sriov;
	if (!s)
		return;
	bool enable = sriov_reg(pf, PCI_SRIOV_CTRL) & PCI_SRIOV_CTRL_VFE;
	if (enable == s->enabled)
		return;
	s->enabled = enable;
	if (!enable) {
		uvfio_log(pf, LOG_INFO, "%s: VFs disabled", pf->name);
		vfs_remove(pf);
		return;
	}
	/* NumVFs is never above TotalVFs (the capability refuses it). */
	unsigned n = MIN(sriov_reg(pf, PCI_SRIOV_NUM_VF), s->total);
	uvfio_log(pf, LOG_INFO, "%s: enabling %u VFs", pf->name, n);
	vfs_add(pf, n);
}

int uvfio_dev_set_sriov(struct uvfio_dev *pf, const struct uvfio_sriov_ops *ops,
			void *opaque)
{
	if (!pf || !ops || !ops->vf_new || pf->pf)
		return -EINVAL;
	if (pf->sealed)
		return -EBUSY;
	if (pf->sriov)
		return -EEXIST;
	if (!pf->cfg->sriov_off)
		return -ENOENT;
	struct dev_sriov *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->total = sriov_reg(pf, PCI_SRIOV_TOTAL_VF);
	s->vf_device = sriov_reg(pf, PCI_SRIOV_VF_DID);
	s->vfs = calloc(s->total, sizeof(*s->vfs));
	s->vf_state = calloc(s->total, sizeof(*s->vf_state));
	int r = s->vfs && s->vf_state ? 0 : -ENOMEM;
	if (!r)
		r = uvfio_dev_add_feature(pf, VFIO_DEVICE_FEATURE_PCI_VF_TOKEN,
					  UVFIO_FEATURE_SET, NULL, token_set,
					  pf);
	if (!r)
		r = pci_cfg_sriov_control(pf->cfg);
	if (r < 0) {
		free(s->vfs);
		free(s->vf_state);
		free(s);
		return r;
	}
	/* Unknown until the PF's user sets it: no VF opens before that. */
	if (getrandom(s->token, sizeof(s->token), 0) != sizeof(s->token))
		memset(s->token, 0xa5, sizeof(s->token));
	s->ops = *ops;
	s->opaque = opaque;
	pf->sriov = s;
	pf->cfg->hooks.sriov = sriov_changed;
	return 0;
}

unsigned uvfio_dev_num_vfs(struct uvfio_dev *pf)
{
	return pf && pf->sriov ? pf->sriov->nvfs : 0;
}

struct uvfio_dev *uvfio_dev_get_vf(struct uvfio_dev *pf, unsigned index)
{
	if (!pf || !pf->sriov || index >= pf->sriov->nvfs)
		return NULL;
	return pf->sriov->vfs[index];
}

void dev_sriov_set_host(struct uvfio_dev *dev, const struct dev_sriov_host *host)
{
	struct dev_sriov *s = dev->sriov;
	if (!s)
		return;
	if (!host) {
		memset(&s->host, 0, sizeof(s->host));
		return;
	}
	s->host = *host;
	for (unsigned i = 0; i < s->nvfs; i++) {
		int r = s->host.add(s->host.opaque, i, s->vfs[i]);
		if (r < 0)
			uvfio_log(dev, LOG_ERR, "%s: cannot serve VF %u: %s",
				  dev->name, i, strerror(-r));
	}
}

void dev_sriov_free(struct uvfio_dev *dev)
{
	struct dev_sriov *s = dev->sriov;
	if (!s)
		return;
	vfs_remove(dev);
	dev->cfg->hooks.sriov = NULL;
	free(s->vfs);
	free(s->vf_state);
	free(s);
	dev->sriov = NULL;
}
