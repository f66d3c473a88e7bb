/* SPDX-License-Identifier: BSD-3-Clause */
/* Interrupt indexes: GET_IRQ_INFO, SET_IRQS and raising interrupts. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "device/dev.h"

#define DATA_MASK (VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_DATA_BOOL | \
		   VFIO_IRQ_SET_DATA_EVENTFD)
#define ACTION_MASK (VFIO_IRQ_SET_ACTION_MASK | VFIO_IRQ_SET_ACTION_UNMASK | \
		     VFIO_IRQ_SET_ACTION_TRIGGER)

int dev_irq_info(struct uvfio_dev *dev, uint32_t index, uint32_t *flags,
		 uint32_t *count)
{
	if (index >= DEV_NUM_IRQS)
		return -EINVAL;
	/* As vfio-pci: ERR exists only on PCI Express devices. */
	if (index == VFIO_PCI_ERR_IRQ_INDEX && !dev->irqs[index].count)
		return -EINVAL;
	uint32_t f = VFIO_IRQ_INFO_EVENTFD;
	if (index == VFIO_PCI_INTX_IRQ_INDEX)
		f |= VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED;
	else
		f |= VFIO_IRQ_INFO_NORESIZE;
	/* A uvfio device masks MSI/MSI-X vectors one by one through
	 * SET_IRQS MASK/UNMASK (the kernel answers ENOTTY there). */
	if (index == VFIO_PCI_MSI_IRQ_INDEX || index == VFIO_PCI_MSIX_IRQ_INDEX)
		f |= VFIO_IRQ_INFO_MASKABLE;
	*flags = f;
	*count = dev->irqs[index].count;
	return 0;
}

static void signal_fd(int fd)
{
	uint64_t one = 1;
	ssize_t n;
	do {
		n = write(fd, &one, sizeof(one));
	} while (n < 0 && errno == EINTR);
}

static bool index_active(const struct dev_irq *irq)
{
	if (!irq->enabled)
		return false;
	return true;
}

void dev_irq_drop_unmask(struct uvfio_dev *dev, struct dev_irq_vec *vec)
{
	if (vec->unmask < 0)
		return;
	/* The client holds the same eventfd: epoll forgets it only when
	 * told, not when our copy is closed. */
	if (dev->tp.watch)
		dev->tp.watch(dev->tp.opaque, vec->unmask, false);
	close_fd(&vec->unmask);
}

void dev_irq_sync_cfg(struct uvfio_dev *dev, uint32_t index, uint32_t nvec)
{
	if (index > VFIO_PCI_MSIX_IRQ_INDEX)
		return;
	int cur = dev->cfg->irq_type;
	if (dev->irqs[index].enabled && cur != (int)index)
		pci_cfg_irq_state(dev->cfg, (int)index, nvec);
	else if (!dev->irqs[index].enabled && cur == (int)index)
		pci_cfg_irq_state(dev->cfg, -1, 0);
}

static void disable_range(struct uvfio_dev *dev, struct dev_irq *irq,
			  uint32_t start, uint32_t count)
{
	uint32_t index = (uint32_t)(irq - dev->irqs);
	for (uint32_t v = start; v < start + count; v++) {
		close_fd(&irq->vec[v].trigger);
		dev_irq_drop_unmask(dev, &irq->vec[v]);
		irq->vec[v].masked = false;
		irq->vec[v].pending = false;
		irq->vec[v].raised = false;
		if (index == VFIO_PCI_MSIX_IRQ_INDEX)
			pci_cfg_msix_bind(dev->cfg, v, false);
	}
	if (index == VFIO_PCI_INTX_IRQ_INDEX && count)
		pci_cfg_intx_status(dev->cfg, irq->vec[0].line);
	bool any = false;
	for (uint32_t v = 0; v < irq->count; v++)
		any |= irq->vec[v].trigger >= 0;
	irq->enabled = any;
	dev_irq_sync_cfg(dev, index, 0);
}

void dev_irq_release_all(struct uvfio_dev *dev)
{
	for (unsigned i = 0; i < DEV_NUM_IRQS; i++)
		if (dev->irqs[i].vec)
			disable_range(dev, &dev->irqs[i], 0, dev->irqs[i].count);
}

/* INTx, MSI and MSI-X exclude each other. */
static bool other_mode_active(struct uvfio_dev *dev, uint32_t index)
{
	if (index > VFIO_PCI_MSIX_IRQ_INDEX)
		return false;
	for (uint32_t i = VFIO_PCI_INTX_IRQ_INDEX; i <= VFIO_PCI_MSIX_IRQ_INDEX; i++)
		if (i != index && index_active(&dev->irqs[i]))
			return true;
	return false;
}

/* INTx is asserted while the model holds the line, and after an edge
 * until the client unmasks it: STATUS shows it (pci_cfg_intx_status). */
static void intx_status_sync(struct uvfio_dev *dev)
{
	const struct dev_irq_vec *vec = &dev->irqs[VFIO_PCI_INTX_IRQ_INDEX].vec[0];
	pci_cfg_intx_status(dev->cfg, vec->line || vec->pending || vec->raised);
}

static void raise_vec(struct uvfio_dev *dev, struct dev_irq *irq,
		      uint32_t index, uint32_t v)
{
	struct dev_irq_vec *vec = &irq->vec[v];
	if (vec->trigger < 0)
		return;
	switch (index) {
	case VFIO_PCI_INTX_IRQ_INDEX:
		/* Level triggered and auto-masked until the driver unmasks;
		 * COMMAND's INTx disable holds it back too. */
		vec->raised = true;
		intx_status_sync(dev);
		if (vec->masked || pci_cfg_intx_disabled(dev->cfg)) {
			vec->pending = true;
			return;
		}
		vec->masked = true;
		break;
	case VFIO_PCI_MSI_IRQ_INDEX:
		/* A vector masked through SET_IRQS is held back until
		 * UNMASK; one masked in config space sets its pending bit. */
		if (vec->masked) {
			vec->pending = true;
			return;
		}
		if (!pci_cfg_msi_gate(dev->cfg, v))
			return;
		break;
	case VFIO_PCI_MSIX_IRQ_INDEX:
		if (vec->masked) {
			vec->pending = true;
			return;
		}
		if (!pci_cfg_msix_gate(dev->cfg, v))
			return;
		break;
	}
	signal_fd(vec->trigger);
}

static int set_trigger(struct uvfio_dev *dev, uint32_t dtype, uint32_t index,
		       uint32_t start, uint32_t count, const uint8_t *data,
		       int *fds, unsigned nfds)
{
	struct dev_irq *irq = &dev->irqs[index];

	/* As vfio-pci: loopback or release of ERR/REQ needs an eventfd. */
	if ((index == VFIO_PCI_ERR_IRQ_INDEX || index == VFIO_PCI_REQ_IRQ_INDEX) &&
	    dtype != VFIO_IRQ_SET_DATA_EVENTFD && irq->vec[0].trigger < 0)
		return -EINVAL;
	if (dtype == VFIO_IRQ_SET_DATA_EVENTFD) {
		if (nfds == 0) {
			disable_range(dev, irq, start, count);
			return 0;
		}
		/* Only eventfds: a pipe or socket could block the device. */
		for (unsigned i = 0; i < nfds; i++)
			if (!fd_is_eventfd(fds[i]))
				return -EINVAL;
		if (other_mode_active(dev, index))
			return -EINVAL;
		for (uint32_t i = 0; i < count; i++) {
			struct dev_irq_vec *vec = &irq->vec[start + i];
			close_fd(&vec->trigger);
			vec->trigger = fds[i];
			fds[i] = -1;
			if (index == VFIO_PCI_MSIX_IRQ_INDEX)
				pci_cfg_msix_bind(dev->cfg, start + i, true);
		}
		irq->enabled = true;
		dev_irq_sync_cfg(dev, index, start + count);
		return 0;
	}
	if (dtype == VFIO_IRQ_SET_DATA_NONE && count == 0) {
		disable_range(dev, irq, 0, irq->count);
		return 0;
	}
	/* Loopback: signal the eventfd as the kernel does, whatever the
	 * mask state, and without masking (the device did not raise it). */
	for (uint32_t i = 0; i < count; i++)
		if ((dtype == VFIO_IRQ_SET_DATA_NONE || data[i]) &&
		    irq->vec[start + i].trigger >= 0)
			signal_fd(irq->vec[start + i].trigger);
	return 0;
}

static void intx_unmask(struct uvfio_dev *dev, struct dev_irq_vec *vec)
{
	vec->masked = false;
	if ((vec->pending || vec->line) && vec->trigger >= 0) {
		/* Still asserted: fire again and stay masked. */
		vec->raised = vec->pending;
		vec->pending = false;
		vec->masked = true;
		signal_fd(vec->trigger);
	} else {
		vec->raised = false;
	}
	intx_status_sync(dev);
}

/* The client changed COMMAND's INTx disable: clearing it unmasks. */
void dev_irq_intx_disable(struct uvfio_dev *dev, bool disabled)
{
	struct dev_irq *irq = &dev->irqs[VFIO_PCI_INTX_IRQ_INDEX];
	if (!disabled && irq->count && irq->vec)
		intx_unmask(dev, &irq->vec[0]);
}

/* A masked MSI/MSI-X vector that was pending has been unmasked. */
void dev_irq_deliver(struct uvfio_dev *dev, unsigned index, unsigned vector)
{
	if (index >= DEV_NUM_IRQS || !dev->irqs[index].vec ||
	    vector >= dev->irqs[index].count)
		return;
	struct dev_irq_vec *vec = &dev->irqs[index].vec[vector];
	if (vec->masked) {
		vec->pending = true;
		return;
	}
	if (vec->trigger >= 0)
		signal_fd(vec->trigger);
}

/*
 * MSI/MSI-X MASK and UNMASK, per vector (DATA_NONE: every vector of the
 * range, DATA_BOOL: where true).  A vector raised while masked is
 * delivered by its UNMASK, once, as a masked MSI-X entry's pending bit is.
 * Interrupts the config space holds back stay held there.
 */
static int set_vec_mask(struct uvfio_dev *dev, uint32_t index,
			uint32_t action, uint32_t dtype, uint32_t start,
			uint32_t count, const uint8_t *data)
{
	struct dev_irq *irq = &dev->irqs[index];
	if (dtype == VFIO_IRQ_SET_DATA_EVENTFD)
		return -ENOTTY;
	for (uint32_t i = 0; i < count; i++) {
		if (dtype == VFIO_IRQ_SET_DATA_BOOL && !data[i])
			continue;
		struct dev_irq_vec *vec = &irq->vec[start + i];
		if (action == VFIO_IRQ_SET_ACTION_MASK) {
			vec->masked = true;
			continue;
		}
		vec->masked = false;
		if (vec->pending) {
			vec->pending = false;
			raise_vec(dev, irq, index, start + i);
		}
	}
	return 0;
}

/* UNMASK with an eventfd: writing it unmasks (QEMU's resample fd). */
static int set_unmask_fd(struct uvfio_dev *dev, struct dev_irq_vec *vec,
			 int *fds, unsigned nfds)
{
	if (nfds && !fd_is_eventfd(fds[0]))
		return -EINVAL;
	dev_irq_drop_unmask(dev, vec);
	if (!nfds)
		return 0;
	if (dev->tp.watch && dev->tp.watch(dev->tp.opaque, fds[0], true) < 0)
		return -ENOMEM;
	vec->unmask = fds[0];
	fds[0] = -1;
	return 0;
}

static int set_intx_mask(struct uvfio_dev *dev, uint32_t action,
			 uint32_t dtype, const uint8_t *data, int *fds,
			 unsigned nfds)
{
	struct dev_irq_vec *vec = &dev->irqs[VFIO_PCI_INTX_IRQ_INDEX].vec[0];
	if (dtype == VFIO_IRQ_SET_DATA_EVENTFD)
		return action == VFIO_IRQ_SET_ACTION_UNMASK ?
		       set_unmask_fd(dev, vec, fds, nfds) : -ENOTTY;
	if (dtype == VFIO_IRQ_SET_DATA_BOOL && !data[0])
		return 0;
	/*
	 * As vfio-pci: the SET_IRQS mask leaves COMMAND's INTx disable (the
	 * client's own bit) alone, and UNMASK does nothing while that bit
	 * is set — clearing it unmasks (dev_irq_intx_disable).  QEMU's
	 * vfio-user-pci sends UNMASK at its end-of-interrupt while a guest
	 * driver may still hold INTx disabled.
	 */
	if (action == VFIO_IRQ_SET_ACTION_MASK) {
		vec->masked = true;
		return 0;
	}
	if (!pci_cfg_intx_disabled(dev->cfg))
		intx_unmask(dev, vec);
	return 0;
}

int dev_set_irqs(struct uvfio_dev *dev, uint32_t flags, uint32_t index,
		 uint32_t start, uint32_t count, const uint8_t *data,
		 size_t datalen, int *fds, unsigned nfds)
{
	if (flags & ~(DATA_MASK | ACTION_MASK))
		return -EINVAL;
	uint32_t dtype = flags & DATA_MASK, action = flags & ACTION_MASK;
	if (!is_pow2(dtype) || !is_pow2(action))
		return -EINVAL;
	if (index >= DEV_NUM_IRQS)
		return -EINVAL;
	struct dev_irq *irq = &dev->irqs[index];
	if (!irq->count)
		return -EINVAL;
	if (start > irq->count || count > irq->count - start)
		return -EINVAL;
	if (count == 0 && !(dtype == VFIO_IRQ_SET_DATA_NONE &&
			    action == VFIO_IRQ_SET_ACTION_TRIGGER))
		return -EINVAL;
	if (dtype == VFIO_IRQ_SET_DATA_BOOL && datalen < count)
		return -EINVAL;
	if (dtype == VFIO_IRQ_SET_DATA_EVENTFD && nfds && nfds != count)
		return -EINVAL;
	if (dtype != VFIO_IRQ_SET_DATA_EVENTFD && nfds)
		return -EINVAL;

	if (action == VFIO_IRQ_SET_ACTION_TRIGGER)
		return set_trigger(dev, dtype, index, start, count, data, fds,
				   nfds);
	if (index == VFIO_PCI_INTX_IRQ_INDEX)
		return set_intx_mask(dev, action, dtype, data, fds, nfds);
	if (index == VFIO_PCI_MSI_IRQ_INDEX || index == VFIO_PCI_MSIX_IRQ_INDEX)
		return set_vec_mask(dev, index, action, dtype, start, count,
				    data);
	return -ENOTTY;
}

int uvfio_dev_irq_trigger(struct uvfio_dev *dev, unsigned index,
			  unsigned vector)
{
	if (index >= DEV_NUM_IRQS || vector >= dev->irqs[index].count)
		return -EINVAL;
	struct dev_irq *irq = &dev->irqs[index];
	if (irq->vec[vector].trigger < 0)
		return -ENOENT;
	raise_vec(dev, irq, index, vector);
	return 0;
}

int uvfio_dev_request_release(struct uvfio_dev *dev)
{
	struct dev_irq *irq = &dev->irqs[VFIO_PCI_REQ_IRQ_INDEX];
	/* No vector table before sealing, none at all with a count of 0. */
	if (!irq->count || !irq->vec || irq->vec[0].trigger < 0)
		return -ENOENT;
	raise_vec(dev, irq, VFIO_PCI_REQ_IRQ_INDEX, 0);
	return 0;
}

bool uvfio_dev_irq_enabled(struct uvfio_dev *dev, unsigned index,
			   unsigned vector)
{
	if (index >= DEV_NUM_IRQS || vector >= dev->irqs[index].count)
		return false;
	return dev->irqs[index].vec[vector].trigger >= 0;
}

int uvfio_dev_intx_set(struct uvfio_dev *dev, bool asserted)
{
	struct dev_irq *irq = &dev->irqs[VFIO_PCI_INTX_IRQ_INDEX];
	if (!irq->count)
		return -EINVAL;
	struct dev_irq_vec *vec = &irq->vec[0];
	bool rising = asserted && !vec->line;
	vec->line = asserted;
	intx_status_sync(dev);
	if (!rising)
		return 0;
	if (vec->trigger < 0)
		return -ENOENT;
	if (vec->masked || pci_cfg_intx_disabled(dev->cfg))
		return 0;           /* delivered when the driver unmasks */
	vec->masked = true;
	signal_fd(vec->trigger);
	return 0;
}

void dev_watch_fire(struct uvfio_dev *dev, int fd)
{
	if (dev_doorbell_fire(dev, fd))
		return;
	struct dev_irq *irq = &dev->irqs[VFIO_PCI_INTX_IRQ_INDEX];
	if (irq->count && irq->vec[0].unmask == fd)
		set_intx_mask(dev, VFIO_IRQ_SET_ACTION_UNMASK,
			      VFIO_IRQ_SET_DATA_NONE, NULL, NULL, 0);
}
