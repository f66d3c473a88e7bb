/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A model of QEMU's "edu" teaching device (PCI 1234:11e8), written from
 * its specification (QEMU docs/specs/edu.rst): identification, liveness,
 * an asynchronous factorial with a completion interrupt, an interrupt
 * status/raise/acknowledge block, and a DMA engine between guest memory
 * and a 4 KiB buffer at device address 0x40000 with 28-bit addressing.
 * Interrupts go out as MSI when the driver enabled MSI, else as a level
 * INTx line (pin A).  Unlike QEMU's, this edu resets its registers too.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <uvfio/pci.h>

#include "devices/edu/edu.h"
#include "devices/models.h"

struct edu {
	struct uvfio_dev *dev;
	uint32_t liveness;
	uint32_t fact;
	uint32_t status;
	uint32_t irq_status;
	uint64_t dma_src, dma_dst, dma_cnt, dma_cmd;
	uint8_t buf[EDU_DMA_SIZE];
	int fact_timer, dma_timer;
	uint64_t dma_delay_ns;
};

static uint64_t ones(size_t n)
{
	return n >= 8 ? ~0ull : (1ull << (8 * n)) - 1;
}

static bool bus_master(struct edu *e)
{
	uint16_t cmd = 0;
	uvfio_dev_config_read(e->dev, PCI_COMMAND, &cmd, sizeof(cmd));
	return cmd & PCI_COMMAND_MASTER;
}

static void update_irq(struct edu *e, bool raised)
{
	if (uvfio_dev_irq_enabled(e->dev, VFIO_PCI_MSI_IRQ_INDEX, 0)) {
		/* MSI is an edge: one message per raise. */
		if (raised && e->irq_status)
			uvfio_dev_irq_trigger(e->dev, VFIO_PCI_MSI_IRQ_INDEX, 0);
		return;
	}
	uvfio_dev_intx_set(e->dev, e->irq_status != 0);
}

static void raise_irq(struct edu *e, uint32_t val)
{
	e->irq_status |= val;
	update_irq(e, true);
}

static void lower_irq(struct edu *e, uint32_t val)
{
	e->irq_status &= ~val;
	update_irq(e, false);
}

static void fact_done(void *opaque)
{
	struct edu *e = opaque;
	uint32_t r = 1;
	for (uint32_t i = e->fact; i > 0; i--)
		r *= i;
	e->fact = r;
	e->fact_timer = 0;
	e->status &= ~EDU_STATUS_COMPUTING;
	if (e->status & EDU_STATUS_IRQFACT)
		raise_irq(e, EDU_IRQ_FACT);
}

static bool in_buffer(uint64_t addr, uint64_t cnt)
{
	return addr >= EDU_DMA_START && cnt <= EDU_DMA_SIZE &&
	       addr - EDU_DMA_START <= EDU_DMA_SIZE - cnt;
}

static uint64_t clamp(struct edu *e, uint64_t addr)
{
	if (addr & ~EDU_DMA_MASK)
		uvfio_log(e->dev, LOG_NOTICE,
			  "edu: DMA address 0x%llx beyond the 28-bit mask",
			  (unsigned long long)addr);
	return addr & EDU_DMA_MASK;
}

/* The transfer ended: RUN clears, the interrupt is raised if asked. */
static void dma_end(struct edu *e)
{
	e->dma_cmd &= ~(uint64_t)EDU_DMA_RUN;
	if (e->dma_cmd & EDU_DMA_IRQ)
		raise_irq(e, EDU_IRQ_DMA);
}

static void dma_complete(void *opaque, int err)
{
	struct edu *e = opaque;
	if (err == -ECANCELED)
		return;   /* a reset: the model's state goes anyway */
	if (err < 0)
		uvfio_log(e->dev, LOG_NOTICE, "edu: DMA %s failed: %s",
			  e->dma_cmd & EDU_DMA_DIR_TO_RAM ? "to RAM" : "from RAM",
			  strerror(-err));
	dma_end(e);
}

/*
 * The timer fired: move the data.  Asynchronously, so that a client
 * slow to answer for fd-less memory stalls only this device, whose RUN
 * bit stays set meanwhile, as on hardware.
 */
static void dma_done(void *opaque)
{
	struct edu *e = opaque;
	e->dma_timer = 0;
	if (!(e->dma_cmd & EDU_DMA_RUN))
		return;
	bool to_ram = e->dma_cmd & EDU_DMA_DIR_TO_RAM;
	uint64_t dev_addr = to_ram ? e->dma_src : e->dma_dst;
	uint64_t cnt = e->dma_cnt;
	if (!in_buffer(dev_addr, cnt)) {
		uvfio_log(e->dev, LOG_NOTICE,
			  "edu: DMA range 0x%llx+0x%llx outside the device buffer",
			  (unsigned long long)dev_addr, (unsigned long long)cnt);
	} else if (!bus_master(e)) {
		uvfio_log(e->dev, LOG_NOTICE, "edu: DMA without bus master enable dropped");
	} else {
		uint8_t *b = e->buf + (dev_addr - EDU_DMA_START);
		int r = to_ram ?
			uvfio_dev_dma_write_async(e->dev, clamp(e, e->dma_dst),
						  b, cnt, 0, dma_complete, e) :
			uvfio_dev_dma_read_async(e->dev, clamp(e, e->dma_src),
						 b, cnt, 0, dma_complete, e);
		if (r == 0)
			return;
		uvfio_log(e->dev, LOG_NOTICE, "edu: DMA %s 0x%llx failed: %s",
			  to_ram ? "to" : "from",
			  (unsigned long long)(to_ram ? e->dma_dst : e->dma_src),
			  strerror(-r));
	}
	dma_end(e);
}

static ssize_t edu_read(void *opaque, uint64_t off, void *buf, size_t count)
{
	struct edu *e = opaque;
	uint64_t val = ~0ull;
	bool ok = off < 0x80 ? count == 4 : (count == 4 || count == 8);
	if (ok) {
		switch (off) {
		case EDU_REG_ID: val = EDU_ID; break;
		case EDU_REG_LIVENESS: val = e->liveness; break;
		case EDU_REG_FACT: val = e->fact; break;
		case EDU_REG_STATUS: val = e->status; break;
		case EDU_REG_IRQ_STATUS: val = e->irq_status; break;
		case EDU_REG_DMA_SRC: val = e->dma_src; break;
		case EDU_REG_DMA_DST: val = e->dma_dst; break;
		case EDU_REG_DMA_CNT: val = e->dma_cnt; break;
		case EDU_REG_DMA_CMD: val = e->dma_cmd; break;
		default: break;
		}
	}
	val &= ones(count);
	uint8_t *b = buf;
	for (size_t i = 0; i < count; i++)
		b[i] = i < 8 ? (uint8_t)(val >> (8 * i)) : 0xff;
	return (ssize_t)count;
}

static void dma_reg_write(struct edu *e, uint64_t *reg, uint64_t val)
{
	/* The engine's registers are frozen while a transfer runs. */
	if (e->dma_cmd & EDU_DMA_RUN)
		return;
	*reg = val;
}

static ssize_t edu_write(void *opaque, uint64_t off, const void *buf,
			 size_t count)
{
	struct edu *e = opaque;
	bool ok = off < 0x80 ? count == 4 : (count == 4 || count == 8);
	if (!ok)
		return (ssize_t)count;   /* ignored, as on the real device */
	uint64_t val = 0;
	const uint8_t *b = buf;
	for (size_t i = 0; i < count; i++)
		val |= (uint64_t)b[i] << (8 * i);

	switch (off) {
	case EDU_REG_LIVENESS:
		e->liveness = ~(uint32_t)val;
		break;
	case EDU_REG_FACT:
		if (e->status & EDU_STATUS_COMPUTING)
			break;
		e->fact = (uint32_t)val;
		e->status |= EDU_STATUS_COMPUTING;
		e->fact_timer = uvfio_dev_schedule(e->dev, EDU_FACT_DELAY_NS,
						   fact_done, e);
		if (e->fact_timer < 0)
			fact_done(e);
		break;
	case EDU_REG_STATUS:
		if (val & EDU_STATUS_IRQFACT)
			e->status |= EDU_STATUS_IRQFACT;
		else
			e->status &= ~EDU_STATUS_IRQFACT;
		break;
	case EDU_REG_IRQ_RAISE:
		raise_irq(e, (uint32_t)val);
		break;
	case EDU_REG_IRQ_ACK:
		lower_irq(e, (uint32_t)val);
		break;
	case EDU_REG_DMA_SRC: dma_reg_write(e, &e->dma_src, val); break;
	case EDU_REG_DMA_DST: dma_reg_write(e, &e->dma_dst, val); break;
	case EDU_REG_DMA_CNT: dma_reg_write(e, &e->dma_cnt, val); break;
	case EDU_REG_DMA_CMD:
		if (!(val & EDU_DMA_RUN) || (e->dma_cmd & EDU_DMA_RUN))
			break;
		e->dma_cmd = val;
		e->dma_timer = uvfio_dev_schedule(e->dev, e->dma_delay_ns,
						  dma_done, e);
		if (e->dma_timer < 0)
			dma_done(e);
		break;
	default:
		break;
	}
	return (ssize_t)count;
}

static const struct uvfio_region_ops edu_ops = {
	.read = edu_read,
	.write = edu_write,
};

static int edu_reset(void *opaque)
{
	struct edu *e = opaque;
	if (e->fact_timer > 0)
		uvfio_dev_cancel(e->dev, e->fact_timer);
	if (e->dma_timer > 0)
		uvfio_dev_cancel(e->dev, e->dma_timer);
	struct uvfio_dev *dev = e->dev;
	uint64_t delay = e->dma_delay_ns;
	memset(e, 0, sizeof(*e));
	e->dev = dev;
	e->dma_delay_ns = delay;
	uvfio_dev_intx_set(dev, false);
	return 0;
}

static void edu_destroy(void *state)
{
	struct edu *e = state;
	if (!e)
		return;
	uvfio_dev_free(e->dev);
	free(e);
}

struct uvfio_dev *edu_create(void **state, uint64_t dma_delay_ns)
{
	struct edu *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->dma_delay_ns = dma_delay_ns;
	e->dev = uvfio_dev_new("edu");
	if (!e->dev)
		goto fail;
	const struct uvfio_pci_ids ids = {
		.vendor = EDU_VENDOR, .device = EDU_DEVICE,
		.subsystem_vendor = 0x1af4, .subsystem_device = 0x1100,
		.class_code = 0x00ff00, .revision = 0x10, .irq_pin = 1,
	};
	if (uvfio_dev_set_ids(e->dev, &ids) < 0 ||
	    uvfio_dev_add_bar(e->dev, 0, EDU_BAR0_SIZE, UVFIO_BAR_MEM32,
			      &edu_ops, e) < 0 ||
	    uvfio_dev_add_msi(e->dev, 1, UVFIO_MSI_64BIT) < 0 ||
	    /* BAR0 answers only while Memory Space is enabled, as the real
	     * device behind vfio-pci does. */
	    uvfio_pci_set_decode_gating(uvfio_dev_pci(e->dev), true) < 0 ||
	    /* As QEMU's edu: no parity error response, no latency timer. */
	    uvfio_pci_set_header_writable(uvfio_dev_pci(e->dev),
					  PCI_COMMAND_IO | PCI_COMMAND_MEMORY |
					  PCI_COMMAND_MASTER | PCI_COMMAND_SERR |
					  PCI_COMMAND_INTX_DISABLE, true, false) < 0 ||
	    uvfio_dev_set_reset(e->dev, edu_reset, e) < 0)
		goto fail;
	*state = e;
	return e->dev;
fail:
	edu_destroy(e);
	return NULL;
}

static struct uvfio_dev *edu_model_create(void **state)
{
	return edu_create(state, EDU_DMA_DELAY_NS);
}

const struct uvfio_model uvfio_model_edu = {
	.name = "edu",
	.description = "QEMU's edu teaching device (PCI 1234:11e8)",
	.create = edu_model_create,
	.destroy = edu_destroy,
};
