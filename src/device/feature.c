/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * VFIO_DEVICE_FEATURE (REFERENCE §5): the header checks of the kernel's
 * vfio_ioctl_device_feature(), then per feature those of
 * vfio_check_feature(): an op the feature lacks is EINVAL, PROBE then
 * succeeds, otherwise GET or SET must be asked for and argsz must cover
 * the feature's minimum.  Unknown features are ENOTTY, PROBE included.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "device/dev.h"

#define FEAT_HDR   8u
#define FEAT_GET   VFIO_DEVICE_FEATURE_GET
#define FEAT_SET   VFIO_DEVICE_FEATURE_SET
#define FEAT_PROBE VFIO_DEVICE_FEATURE_PROBE

#ifndef VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY
#define VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY 3
#define VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP 4
#define VFIO_DEVICE_FEATURE_LOW_POWER_EXIT 5
#endif

/* struct vfio_device_low_power_entry_with_wakeup: s32 fd, u32 reserved. */
#define LOW_POWER_WAKEUP_MINSZ 8u

int uvfio_dev_add_feature(struct uvfio_dev *dev, unsigned feature,
			  unsigned ops,
			  int (*get)(void *opaque, void *buf, size_t len),
			  int (*set)(void *opaque, const void *buf, size_t len),
			  void *opaque)
{
	const unsigned all = UVFIO_FEATURE_GET | UVFIO_FEATURE_SET;
	if (!dev || feature > VFIO_DEVICE_FEATURE_MASK || !ops || ops & ~all ||
	    ((ops & UVFIO_FEATURE_GET) && !get) ||
	    ((ops & UVFIO_FEATURE_SET) && !set))
		return -EINVAL;
	if (dev->sealed)
		return -EBUSY;
	for (unsigned i = 0; i < dev->nfeatures; i++)
		if (dev->features[i].index == feature)
			return -EEXIST;
	if (dev->nfeatures >= DEV_MAX_FEATURES)
		return -ENOSPC;
	dev->features[dev->nfeatures++] = (struct dev_feature){
		.index = (uint16_t)feature,
		.ops = ops,
		.get = (ops & UVFIO_FEATURE_GET) ? get : NULL,
		.set = (ops & UVFIO_FEATURE_SET) ? set : NULL,
		.opaque = opaque,
	};
	return 0;
}

int uvfio_dev_set_low_power(struct uvfio_dev *dev,
			    int (*cb)(void *opaque, bool enter), void *opaque)
{
	if (!dev)
		return -EINVAL;
	if (dev->sealed)
		return -EBUSY;
	dev->low_power = cb;
	dev->low_power_opaque = cb ? opaque : NULL;
	return 0;
}

static const struct dev_feature *find_feature(struct uvfio_dev *dev,
					      uint32_t index)
{
	for (unsigned i = 0; i < dev->nfeatures; i++)
		if (dev->features[i].index == index)
			return &dev->features[i];
	return NULL;
}

static bool is_low_power(uint32_t index)
{
	return index == VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY ||
	       index == VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP ||
	       index == VFIO_DEVICE_FEATURE_LOW_POWER_EXIT;
}

/* vfio_check_feature(): 1 to go on, else the result to return. */
static int check_feature(uint32_t flags, size_t len, uint32_t supported,
			 size_t minsz)
{
	if ((flags & (FEAT_GET | FEAT_SET)) & ~supported)
		return -EINVAL;
	if (flags & FEAT_PROBE)
		return 0;
	if (!(flags & (FEAT_GET | FEAT_SET)))
		return -EINVAL;
	if (len < minsz)
		return -EINVAL;
	return 1;
}

static int low_power(struct uvfio_dev *dev, uint32_t index, uint32_t flags,
		     size_t len)
{
	size_t minsz = index == VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP
			       ? LOW_POWER_WAKEUP_MINSZ : 0;
	int r = check_feature(flags, len, FEAT_SET, minsz);
	if (r != 1)
		return r;
	switch (index) {
	case VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY:
		return dev->low_power(dev->low_power_opaque, true);
	case VFIO_DEVICE_FEATURE_LOW_POWER_EXIT:
		return dev->low_power(dev->low_power_opaque, false);
	default:
		/* The wakeup eventfd cannot be passed over vfio-user here. */
		return -EINVAL;
	}
}

int dev_feature(struct uvfio_dev *dev, uint32_t argsz, uint32_t flags,
		const uint8_t *in, size_t inlen, uint8_t *out, size_t outcap,
		size_t *outlen)
{
	const uint32_t known = VFIO_DEVICE_FEATURE_MASK | FEAT_GET | FEAT_SET |
			       FEAT_PROBE;
	*outlen = 0;
	if (argsz < FEAT_HDR || flags & ~known)
		return -EINVAL;
	if (!(flags & FEAT_PROBE) && (flags & FEAT_GET) && (flags & FEAT_SET))
		return -EINVAL;
	uint32_t index = flags & VFIO_DEVICE_FEATURE_MASK;
	size_t len = argsz - FEAT_HDR;   /* the feature's data, as argsz says */

	const struct dev_feature *f = find_feature(dev, index);
	if (!f) {
		if (is_low_power(index) && dev->low_power)
			return low_power(dev, index, flags, len);
		return -ENOTTY;
	}
	uint32_t supported = ((f->ops & UVFIO_FEATURE_GET) ? FEAT_GET : 0) |
			     ((f->ops & UVFIO_FEATURE_SET) ? FEAT_SET : 0);
	int r = check_feature(flags, len, supported, 0);
	if (r != 1)
		return r;
	if (flags & FEAT_SET) {
		/* The data argsz announces must be in the message. */
		if (inlen < len)
			return -EINVAL;
		r = f->set(f->opaque, in, len);
		return r < 0 ? r : 0;
	}
	if (len > outcap)
		len = outcap;
	r = f->get(f->opaque, out, len);
	if (r < 0)
		return r;
	if ((size_t)r > len)
		return -EIO;   /* the model wrote past what it was given */
	*outlen = (size_t)r;
	return 0;
}
