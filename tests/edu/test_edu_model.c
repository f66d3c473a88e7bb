/* SPDX-License-Identifier: BSD-3-Clause */
/* edu register semantics, against the model in-process. */
#include <errno.h>
#include <linux/pci_regs.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "device/dev.h"
#include "devices/edu/edu.h"
#include "devices/models.h"

struct fixture {
	struct uvfio_dev *dev;
	void *state;
	int memfd;
	uint8_t *ram;       /* guest memory: 1 MiB at IOVA 0x100000 */
};

#define RAM_IOVA 0x100000ull
#define RAM_SIZE (1u << 20)

static int setup(void **st)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->dev = edu_create(&f->state, 0);
	assert_non_null(f->dev);
	assert_int_equal(dev_seal(f->dev), 0);
	struct dev_transport tp = { 0 };
	dev_attach(f->dev, &tp);
	f->memfd = memfd_create("ram", MFD_CLOEXEC);
	assert_true(f->memfd >= 0);
	assert_int_equal(ftruncate(f->memfd, RAM_SIZE), 0);
	f->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, f->memfd, 0);
	assert_true(f->ram != MAP_FAILED);
	int fd = dup(f->memfd);
	assert_int_equal(dev_dma_map(f->dev, 3, 0, RAM_IOVA, RAM_SIZE, &fd), 0);
	/* BAR0 is gated by Memory Space Enable, as behind vfio-pci. */
	uint32_t id;
	assert_int_equal(dev_region_access(f->dev, 0, EDU_REG_ID, &id, 4, false), -EIO);
	uint16_t mem = PCI_COMMAND_MEMORY;
	assert_int_equal(dev_region_access(f->dev, VFIO_PCI_CONFIG_REGION_INDEX,
					   PCI_COMMAND, &mem, 2, true), 2);
	*st = f;
	return 0;
}

static int teardown(void **st)
{
	struct fixture *f = *st;
	munmap(f->ram, RAM_SIZE);
	close(f->memfd);
	uvfio_model_edu.destroy(f->state);
	free(f);
	return 0;
}


static uint64_t rd(struct fixture *f, uint64_t off, size_t n)
{
	uint8_t b[8] = { 0 };
	assert_int_equal(dev_region_access(f->dev, 0, off, b, n, false), (ssize_t)n);
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

static void wr(struct fixture *f, uint64_t off, uint64_t v, size_t n)
{
	uint8_t b[8];
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	assert_int_equal(dev_region_access(f->dev, 0, off, b, n, true), (ssize_t)n);
}

static void settle(struct fixture *f)
{
	for (int i = 0; i < 100 && dev_timers_next(f->dev) >= 0; i++) {
		struct timespec ts = { 0, 100000 };
		nanosleep(&ts, NULL);
		dev_timers_run(f->dev);
	}
}

static void set_bus_master(struct fixture *f, bool on)
{
	uint16_t c = on ? PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER : PCI_COMMAND_MEMORY;
	assert_int_equal(dev_region_access(f->dev, VFIO_PCI_CONFIG_REGION_INDEX,
					   PCI_COMMAND, &c, 2, true), 2);
}

static void test_identification(void **st)
{
	struct fixture *f = *st;
	assert_int_equal(rd(f, EDU_REG_ID, 4), EDU_ID);
	/* Only 4-byte accesses below 0x80: others read all ones. */
	assert_int_equal(rd(f, EDU_REG_ID, 2), 0xffff);
	assert_int_equal(rd(f, EDU_REG_ID, 1), 0xff);
	/* Unknown registers read all ones. */
	assert_int_equal(rd(f, 0x40, 4), 0xffffffffu);
	uint8_t cfg[16];
	assert_int_equal(uvfio_dev_config_read(f->dev, 0, cfg, 16), 0);
	/* COMMAND has Memory Space on: the fixture turned it on. */
	const uint8_t want[16] = { 0x34, 0x12, 0xe8, 0x11, 0x02, 0, 0x10, 0,
				   0x10, 0, 0xff, 0, 0, 0, 0, 0 };
	assert_memory_equal(cfg, want, 16);
}

static void test_liveness(void **st)
{
	struct fixture *f = *st;
	wr(f, EDU_REG_LIVENESS, 0x0f0f0f0f, 4);
	assert_int_equal(rd(f, EDU_REG_LIVENESS, 4), 0xf0f0f0f0u);
	/* A 2-byte write is ignored. */
	wr(f, EDU_REG_LIVENESS, 0, 2);
	assert_int_equal(rd(f, EDU_REG_LIVENESS, 4), 0xf0f0f0f0u);
}

static void test_factorial_async(void **st)
{
	struct fixture *f = *st;
	wr(f, EDU_REG_FACT, 10, 4);
	/* Computing until the device gets to run, not inside the write. */
	assert_int_equal(rd(f, EDU_REG_STATUS, 4) & EDU_STATUS_COMPUTING, 1);
	/* Writes while computing are ignored. */
	wr(f, EDU_REG_FACT, 3, 4);
	settle(f);
	assert_int_equal(rd(f, EDU_REG_STATUS, 4) & EDU_STATUS_COMPUTING, 0);
	assert_int_equal(rd(f, EDU_REG_FACT, 4), 3628800);
	/* No interrupt unless asked for. */
	assert_int_equal(rd(f, EDU_REG_IRQ_STATUS, 4), 0);
	wr(f, EDU_REG_STATUS, EDU_STATUS_IRQFACT, 4);
	wr(f, EDU_REG_FACT, 5, 4);
	settle(f);
	assert_int_equal(rd(f, EDU_REG_FACT, 4), 120);
	assert_int_equal(rd(f, EDU_REG_IRQ_STATUS, 4), EDU_IRQ_FACT);
	/* 13! wraps at 32 bits like the real device. */
	wr(f, EDU_REG_FACT, 13, 4);
	settle(f);
	assert_int_equal(rd(f, EDU_REG_FACT, 4), (uint32_t)6227020800ull);
}

static void test_irq_raise_ack(void **st)
{
	struct fixture *f = *st;
	wr(f, EDU_REG_IRQ_RAISE, 0x5, 4);
	wr(f, EDU_REG_IRQ_RAISE, 0x30, 4);
	assert_int_equal(rd(f, EDU_REG_IRQ_STATUS, 4), 0x35);
	wr(f, EDU_REG_IRQ_ACK, 0x14, 4);
	assert_int_equal(rd(f, EDU_REG_IRQ_STATUS, 4), 0x21);
	/* Status 0x24 is read-only. */
	wr(f, EDU_REG_IRQ_STATUS, 0, 4);
	assert_int_equal(rd(f, EDU_REG_IRQ_STATUS, 4), 0x21);
}

static void test_dma_round_trip(void **st)
{
	struct fixture *f = *st;
	set_bus_master(f, true);
	for (unsigned i = 0; i < 4096; i++)
		f->ram[i] = (uint8_t)(i ^ 0x5a);
	wr(f, EDU_REG_DMA_SRC, RAM_IOVA, 8);
	wr(f, EDU_REG_DMA_DST, EDU_DMA_START, 8);
	wr(f, EDU_REG_DMA_CNT, 4096, 8);
	wr(f, EDU_REG_DMA_CMD, EDU_DMA_RUN | EDU_DMA_IRQ, 8);
	assert_int_equal(rd(f, EDU_REG_DMA_CMD, 8) & EDU_DMA_RUN, EDU_DMA_RUN);
	/* Registers are frozen while the transfer runs. */
	wr(f, EDU_REG_DMA_CNT, 1, 8);
	assert_int_equal(rd(f, EDU_REG_DMA_CNT, 8), 4096);
	settle(f);
	assert_int_equal(rd(f, EDU_REG_DMA_CMD, 8) & EDU_DMA_RUN, 0);
	assert_int_equal(rd(f, EDU_REG_IRQ_STATUS, 4) & EDU_IRQ_DMA, EDU_IRQ_DMA);
	/* Back out to another place, through an address above 28 bits that
	 * the mask folds onto the window. */
	wr(f, EDU_REG_DMA_SRC, EDU_DMA_START, 8);
	wr(f, EDU_REG_DMA_DST, (1ull << 28) | (RAM_IOVA + 0x10000), 8);
	wr(f, EDU_REG_DMA_CMD, EDU_DMA_RUN | EDU_DMA_DIR_TO_RAM, 8);
	settle(f);
	assert_memory_equal(f->ram, f->ram + 0x10000, 4096);
}

static void test_dma_needs_bus_master_and_range(void **st)
{
	struct fixture *f = *st;
	set_bus_master(f, false);
	memset(f->ram + 0x20000, 0xee, 64);
	wr(f, EDU_REG_DMA_SRC, EDU_DMA_START, 8);
	wr(f, EDU_REG_DMA_DST, RAM_IOVA + 0x20000, 8);
	wr(f, EDU_REG_DMA_CNT, 64, 8);
	wr(f, EDU_REG_DMA_CMD, EDU_DMA_RUN | EDU_DMA_DIR_TO_RAM, 8);
	settle(f);
	assert_int_equal(f->ram[0x20000], 0xee);   /* dropped */
	set_bus_master(f, true);
	/* Outside the 4 KiB device buffer: nothing moves. */
	wr(f, EDU_REG_DMA_SRC, EDU_DMA_START + 4090, 8);
	wr(f, EDU_REG_DMA_CMD, EDU_DMA_RUN | EDU_DMA_DIR_TO_RAM, 8);
	settle(f);
	assert_int_equal(f->ram[0x20000], 0xee);
	assert_int_equal(rd(f, EDU_REG_DMA_CMD, 8) & EDU_DMA_RUN, 0);
}

/* Every register of BAR0 (ID aside) and the INTx status bit. */
static void assert_power_on(struct fixture *f)
{
	assert_int_equal(rd(f, EDU_REG_ID, 4), EDU_ID);
	assert_int_equal(rd(f, EDU_REG_LIVENESS, 4), 0);
	assert_int_equal(rd(f, EDU_REG_FACT, 4), 0);
	assert_int_equal(rd(f, EDU_REG_STATUS, 4), 0);
	assert_int_equal(rd(f, EDU_REG_IRQ_STATUS, 4), 0);
	assert_int_equal(rd(f, EDU_REG_DMA_SRC, 8), 0);
	assert_int_equal(rd(f, EDU_REG_DMA_DST, 8), 0);
	assert_int_equal(rd(f, EDU_REG_DMA_CNT, 8), 0);
	assert_int_equal(rd(f, EDU_REG_DMA_CMD, 8), 0);
	uint16_t status = 0xffff;
	assert_int_equal(uvfio_dev_config_read(f->dev, PCI_STATUS, &status, 2), 0);
	assert_int_equal(status & PCI_STATUS_INTERRUPT, 0);
}

static void test_reset(void **st)
{
	struct fixture *f = *st;
	set_bus_master(f, true);
	/* A finished DMA leaves its command (direction, IRQ) in DMA_CMD. */
	wr(f, EDU_REG_DMA_SRC, EDU_DMA_START, 8);
	wr(f, EDU_REG_DMA_DST, RAM_IOVA + 0x40000, 8);
	wr(f, EDU_REG_DMA_CNT, 64, 8);
	wr(f, EDU_REG_DMA_CMD, EDU_DMA_RUN | EDU_DMA_DIR_TO_RAM | EDU_DMA_IRQ, 8);
	settle(f);
	assert_int_equal(rd(f, EDU_REG_DMA_CMD, 8), EDU_DMA_DIR_TO_RAM | EDU_DMA_IRQ);
	wr(f, EDU_REG_LIVENESS, 1, 4);
	wr(f, EDU_REG_STATUS, EDU_STATUS_IRQFACT, 4);
	wr(f, EDU_REG_IRQ_RAISE, 7, 4);
	wr(f, EDU_REG_DMA_SRC, 0x1234, 8);
	wr(f, EDU_REG_FACT, 6, 4);
	settle(f);
	/* All of them set, the interrupt line up. */
	assert_int_equal(rd(f, EDU_REG_LIVENESS, 4), 0xfffffffe);
	assert_int_equal(rd(f, EDU_REG_FACT, 4), 720);
	assert_int_equal(rd(f, EDU_REG_STATUS, 4), EDU_STATUS_IRQFACT);
	assert_int_equal(rd(f, EDU_REG_IRQ_STATUS, 4), 7 | EDU_IRQ_FACT | EDU_IRQ_DMA);
	assert_int_equal(rd(f, EDU_REG_DMA_SRC, 8), 0x1234);
	assert_int_equal(rd(f, EDU_REG_DMA_DST, 8), RAM_IOVA + 0x40000);
	assert_int_equal(rd(f, EDU_REG_DMA_CNT, 8), 64);
	uint16_t status = 0;
	uvfio_dev_config_read(f->dev, PCI_STATUS, &status, 2);
	assert_int_equal(status & PCI_STATUS_INTERRUPT, PCI_STATUS_INTERRUPT);

	assert_int_equal(dev_reset(f->dev), 0);
	assert_power_on(f);
	settle(f);
	assert_power_on(f);
	uint16_t cmd = 0xffff;
	uvfio_dev_config_read(f->dev, PCI_COMMAND, &cmd, 2);
	/* COMMAND is written back around a reset, as by vfio-pci. */
	assert_int_equal(cmd, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	/* DMA windows survive a reset. */
	assert_int_equal(uvfio_dev_dma_count(f->dev), 1);
}

static int bind_intx(struct fixture *f)
{
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_true(efd >= 0);
	int mine = dup(efd);
	assert_true(mine >= 0);
	assert_int_equal(dev_set_irqs(f->dev, VFIO_IRQ_SET_DATA_EVENTFD |
				      VFIO_IRQ_SET_ACTION_TRIGGER,
				      VFIO_PCI_INTX_IRQ_INDEX, 0, 1, NULL, 0,
				      &efd, 1), 0);
	return mine;
}

static uint64_t fired(int fd)
{
	uint64_t v = 0;
	if (read(fd, &v, sizeof(v)) != sizeof(v)) {
		assert_int_equal(errno, EAGAIN);
		return 0;
	}
	return v;
}

/*
 * Reset while a factorial and a DMA run: RUN and COMPUTING clear, and
 * nothing of the old work lands later -- not FACT, not the device
 * buffer or guest memory, not an interrupt -- however long one waits.
 * @phase 0: the DMA had not started moving data; 1: it had (its
 * completion was due), in each direction.
 */
static void reset_during_work(struct fixture *f, int phase, bool to_ram)
{
	set_bus_master(f, true);
	/* The device buffer holds pattern A, guest memory B at the target. */
	for (unsigned i = 0; i < EDU_DMA_SIZE; i++) {
		f->ram[i] = (uint8_t)(i * 7 + 1);
		f->ram[0x30000 + i] = 0xb0;
	}
	wr(f, EDU_REG_DMA_SRC, RAM_IOVA, 8);
	wr(f, EDU_REG_DMA_DST, EDU_DMA_START, 8);
	wr(f, EDU_REG_DMA_CNT, EDU_DMA_SIZE, 8);
	wr(f, EDU_REG_DMA_CMD, EDU_DMA_RUN, 8);
	settle(f);
	if (!to_ram)   /* the transfer in flight will bring pattern C in */
		memset(f->ram, 0xcc, EDU_DMA_SIZE);
	int efd = bind_intx(f);

	if (to_ram) {
		wr(f, EDU_REG_DMA_SRC, EDU_DMA_START, 8);
		wr(f, EDU_REG_DMA_DST, RAM_IOVA + 0x30000, 8);
	} else {
		wr(f, EDU_REG_DMA_SRC, RAM_IOVA, 8);
		wr(f, EDU_REG_DMA_DST, EDU_DMA_START, 8);
	}
	wr(f, EDU_REG_DMA_CMD, EDU_DMA_RUN | EDU_DMA_IRQ |
	   (to_ram ? EDU_DMA_DIR_TO_RAM : 0), 8);
	if (phase == 1) {
		/* The engine's timer (no delay here) starts the transfer;
		 * its completion comes from a timer of its own, not yet. */
		dev_timers_run(f->dev);
		assert_true(dev_timers_next(f->dev) >= 0);
	}
	/* No timer runs from here to the reset: the factorial is pending. */
	wr(f, EDU_REG_STATUS, EDU_STATUS_IRQFACT, 4);
	wr(f, EDU_REG_FACT, 10, 4);
	assert_int_equal(rd(f, EDU_REG_STATUS, 4),
			 EDU_STATUS_IRQFACT | EDU_STATUS_COMPUTING);
	assert_int_equal(rd(f, EDU_REG_DMA_CMD, 8) & EDU_DMA_RUN, EDU_DMA_RUN);
	assert_int_equal(rd(f, EDU_REG_IRQ_STATUS, 4), 0);

	assert_int_equal(dev_reset(f->dev), 0);
	assert_power_on(f);
	/* The driver sets the device up again and waits. */
	close(efd);
	efd = bind_intx(f);
	set_bus_master(f, true);
	settle(f);
	struct timespec ts = { 0, 2 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	dev_timers_run(f->dev);
	assert_power_on(f);
	assert_int_equal(fired(efd), 0);
	if (to_ram && phase == 0) {
		/* Guest memory untouched. */
		for (unsigned i = 0; i < EDU_DMA_SIZE; i++)
			if (f->ram[0x30000 + i] != 0xb0)
				fail_msg("guest byte %u changed after the reset", i);
	}
	/* The buffer is all zeros after the reset, and stayed so. */
	memset(f->ram + 0x50000, 0x5a, EDU_DMA_SIZE);
	wr(f, EDU_REG_DMA_SRC, EDU_DMA_START, 8);
	wr(f, EDU_REG_DMA_DST, RAM_IOVA + 0x50000, 8);
	wr(f, EDU_REG_DMA_CNT, EDU_DMA_SIZE, 8);
	wr(f, EDU_REG_DMA_CMD, EDU_DMA_RUN | EDU_DMA_DIR_TO_RAM, 8);
	settle(f);
	assert_int_equal(rd(f, EDU_REG_DMA_CMD, 8), EDU_DMA_DIR_TO_RAM);
	for (unsigned i = 0; i < EDU_DMA_SIZE; i++)
		if (f->ram[0x50000 + i] != 0)
			fail_msg("buffer byte %u is 0x%02x after the reset", i,
				 f->ram[0x50000 + i]);
	/* The device works on: a factorial with its interrupt. */
	wr(f, EDU_REG_STATUS, EDU_STATUS_IRQFACT, 4);
	wr(f, EDU_REG_FACT, 5, 4);
	settle(f);
	assert_int_equal(rd(f, EDU_REG_FACT, 4), 120);
	assert_int_equal(rd(f, EDU_REG_IRQ_STATUS, 4), EDU_IRQ_FACT);
	assert_int_equal(fired(efd), 1);
	close(efd);
}

static void test_reset_during_work(void **st)
{
	reset_during_work(*st, 0, true);
}

static void test_reset_during_work_from_ram(void **st)
{
	reset_during_work(*st, 0, false);
}

static void test_reset_during_transfer(void **st)
{
	reset_during_work(*st, 1, true);
}

static void test_reset_during_transfer_from_ram(void **st)
{
	reset_during_work(*st, 1, false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identification, setup, teardown),
		cmocka_unit_test_setup_teardown(test_liveness, setup, teardown),
		cmocka_unit_test_setup_teardown(test_factorial_async, setup, teardown),
		cmocka_unit_test_setup_teardown(test_irq_raise_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dma_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dma_needs_bus_master_and_range,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_during_work, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_during_work_from_ram,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_during_transfer,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_during_transfer_from_ram,
						setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
