/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * uvfio-clash: a program that defines functions named like the library's
 * internal ones (handle_message, pci_cfg_read, dev_reset ...), linked
 * statically with libuvfio.a.  It serves a device to itself over a
 * socketpair (the server on a thread, the client on the main thread) and
 * drives it through paths that run those internal functions: VERSION,
 * DEVICE_GET_INFO, config space, a BAR, SET_IRQS and an MSI, DEVICE_RESET.
 *
 * Every name of the library's must stay the library's: were one of this
 * program's functions called by the library (as with an archive whose
 * internal symbols are global: the program's definition takes their
 * place), it says so and the program exits 1 there.  Exit 0 when the
 * library called none of them, and calling them directly reaches the
 * program's own.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <uvfio/client.h>
#include <uvfio/device.h>

/*
 * Internal functions of src/ that the paths below run (checked in a
 * debugger, at the time of writing), and kclose, the kernel backend's,
 * which they do not: a name in the library that a program must be free
 * to define all the same.
 */
#define CLASHING(X)                                                      \
	X(handle_message) X(conn_reply) X(conn_send) X(conn_tx)          \
	X(conn_out_kick) X(server_vfs_init) X(vu_send_watch)             \
	X(vu_rx_wait) X(vu_rx_step) X(vu_caps_default)                   \
	X(vu_caps_to_json) X(vu_caps_from_json) X(dev_reset)             \
	X(dev_function_reset) X(dev_get_info) X(dev_region)              \
	X(dev_region_access) X(dev_set_irqs) X(dev_irq_info)             \
	X(dev_irq_sync_cfg) X(dev_timers_run) X(dev_attach)              \
	X(dev_detach) X(dev_seal) X(pci_cfg_read) X(pci_cfg_write)       \
	X(pci_cfg_new) X(pci_cfg_reset) X(pci_cfg_set_ids)               \
	X(pci_cfg_command) X(pci_cfg_msi_gate) X(pci_hdr_emu_init)       \
	X(pci_emu_new) X(pci_cap_add_msi) X(vuc_call) X(vuc_get_info)    \
	X(vuc_region_info) X(vuc_region_read) X(vuc_region_write)        \
	X(vuc_irq_info) X(vuc_irq_set) X(vuc_reset) X(vuc_send_request)  \
	X(vuc_thread_start) X(ulog_printf) X(fd_is_eventfd) X(kclose)

static volatile int own_call;   /* main() calls them itself at the end */
static unsigned ncalled;

static int clash(const char *name)
{
	if (!own_call) {
		fprintf(stderr, "uvfio-clash: FAIL: the library called this "
			"program's %s()\n", name);
		_exit(1);
	}
	ncalled++;
	return 0;
}

#define DEFINE(name)                                                     \
	int name(void);                                                  \
	int name(void) { return clash(#name); }
CLASHING(DEFINE)

static int fail(const char *what, int r)
{
	fprintf(stderr, "uvfio-clash: FAIL: %s: %s\n", what, strerror(-r));
	return 1;
}

/* BAR0: a scratch register at 0; a write at 4 raises MSI vector 0. */
struct state {
	struct uvfio_dev *dev;
	uint32_t scratch;
	unsigned resets;
};

static ssize_t bar_read(void *opaque, uint64_t off, void *buf, size_t n)
{
	struct state *s = opaque;
	memset(buf, 0, n);
	if (off == 0 && n == 4)
		memcpy(buf, &s->scratch, 4);
	return (ssize_t)n;
}

static ssize_t bar_write(void *opaque, uint64_t off, const void *buf, size_t n)
{
	struct state *s = opaque;
	if (off == 0 && n == 4)
		memcpy(&s->scratch, buf, 4);
	if (off == 4) {
		int r = uvfio_dev_irq_trigger(s->dev, VFIO_PCI_MSI_IRQ_INDEX, 0);
		if (r < 0)
			return r;
	}
	return (ssize_t)n;
}

static const struct uvfio_region_ops bar_ops = { bar_read, bar_write };

static int on_reset(void *opaque)
{
	struct state *s = opaque;
	s->scratch = 0;
	s->resets++;
	return 0;
}

static void *serve(void *srv)
{
	return (void *)(intptr_t)uvfio_server_run(srv);
}

static int drive(struct uvfio_device *d, struct state *s)
{
	struct uvfio_device_info info;
	int r = uvfio_device_get_info(d, &info);
	if (r < 0)
		return fail("DEVICE_GET_INFO", r);
	if (!(info.flags & VFIO_DEVICE_FLAGS_PCI) ||
	    !(info.flags & VFIO_DEVICE_FLAGS_RESET))
		return fail("DEVICE_GET_INFO flags", -EPROTO);
	struct uvfio_region_info ri;
	if ((r = uvfio_region_get_info(d, VFIO_PCI_BAR0_REGION_INDEX, &ri)) < 0)
		return fail("REGION_INFO", r);
	if (ri.size != 4096)
		return fail("BAR0 size", -EPROTO);

	uint16_t vendor, device;
	if ((r = uvfio_region_read16(d, VFIO_PCI_CONFIG_REGION_INDEX, 0, &vendor)) < 0 ||
	    (r = uvfio_region_read16(d, VFIO_PCI_CONFIG_REGION_INDEX, 2, &device)) < 0)
		return fail("config read", r);
	if (vendor != 0x1b36 || device != 0xc1a5)
		return fail("config vendor/device", -EPROTO);
	/* Memory Space on, through the emulated Command register. */
	if ((r = uvfio_region_write16(d, VFIO_PCI_CONFIG_REGION_INDEX, 4, 0x2)) < 0)
		return fail("config write", r);

	uint32_t v;
	if ((r = uvfio_region_write32(d, VFIO_PCI_BAR0_REGION_INDEX, 0, 0xc1a5c1a5)) < 0 ||
	    (r = uvfio_region_read32(d, VFIO_PCI_BAR0_REGION_INDEX, 0, &v)) < 0)
		return fail("BAR0 access", r);
	if (v != 0xc1a5c1a5)
		return fail("BAR0 scratch", -EPROTO);

	struct uvfio_irq_info ii;
	if ((r = uvfio_irq_get_info(d, VFIO_PCI_MSI_IRQ_INDEX, &ii)) < 0)
		return fail("IRQ_INFO", r);
	int efd = eventfd(0, EFD_CLOEXEC);
	if (efd < 0)
		return fail("eventfd", -errno);
	if ((r = uvfio_irq_enable(d, VFIO_PCI_MSI_IRQ_INDEX, 0, 1, &efd)) < 0 ||
	    (r = uvfio_region_write32(d, VFIO_PCI_BAR0_REGION_INDEX, 4, 1)) < 0) {
		close(efd);
		return fail("MSI", r);
	}
	struct pollfd p = { .fd = efd, .events = POLLIN };
	uint64_t n = 0;
	if (poll(&p, 1, 5000) != 1 || read(efd, &n, sizeof(n)) != sizeof(n) || n != 1) {
		close(efd);
		return fail("MSI vector 0 did not fire", -EPROTO);
	}
	close(efd);
	if ((r = uvfio_irq_disable(d, VFIO_PCI_MSI_IRQ_INDEX)) < 0)
		return fail("SET_IRQS disable", r);

	if ((r = uvfio_device_reset(d)) < 0)
		return fail("DEVICE_RESET", r);
	if ((r = uvfio_region_read32(d, VFIO_PCI_BAR0_REGION_INDEX, 0, &v)) < 0)
		return fail("BAR0 read after reset", r);
	if (s->resets != 1 || v != 0)
		return fail("reset callback", -EPROTO);
	printf("uvfio-clash: served and drove a device: config, BAR0, MSI, reset\n");
	return 0;
}

int main(void)
{
	alarm(60);
	struct state s = { 0 };
	struct uvfio_pci_ids ids = { .vendor = 0x1b36, .device = 0xc1a5,
				     .class_code = 0xff0000 };
	int r;
	s.dev = uvfio_dev_new("clash");
	if (!s.dev)
		return fail("uvfio_dev_new", -ENOMEM);
	if ((r = uvfio_dev_set_ids(s.dev, &ids)) < 0 ||
	    (r = uvfio_dev_add_bar(s.dev, 0, 4096, UVFIO_BAR_MEM32, &bar_ops, &s)) < 0 ||
	    (r = uvfio_dev_add_msi(s.dev, 1, 0)) < 0 ||
	    (r = uvfio_dev_set_reset(s.dev, on_reset, &s)) < 0)
		return fail("building the device", r);
	struct uvfio_server *srv = uvfio_server_new(s.dev, NULL);
	if (!srv)
		return fail("uvfio_server_new", -ENOMEM);
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return fail("socketpair", -errno);
	if ((r = uvfio_server_adopt_fd(srv, sv[0])) < 0)
		return fail("uvfio_server_adopt_fd", r);
	pthread_t t;
	if ((r = pthread_create(&t, NULL, serve, srv)) != 0)
		return fail("pthread_create", -r);

	struct uvfio_device *d;
	if ((r = uvfio_device_open_fd(sv[1], NULL, &d)) < 0)
		return fail("uvfio_device_open_fd", r);
	int st = drive(d, &s);
	uvfio_device_close(d);
	void *ret;
	pthread_join(t, &ret);   /* run returns when its one client is gone */
	uvfio_server_free(srv);
	uvfio_dev_free(s.dev);
	if (st)
		return st;
	if ((intptr_t)ret < 0)
		return fail("uvfio_server_run", (int)(intptr_t)ret);

	/* The program's own functions are what its own calls reach. */
	own_call = 1;
	unsigned n = 0;
#define CALL(name) n++; name();
	CLASHING(CALL)
	if (ncalled != n) {
		fprintf(stderr, "uvfio-clash: FAIL: %u of the program's %u "
			"functions did not answer its own calls\n", n - ncalled, n);
		return 1;
	}
	printf("uvfio-clash: the library called none of the program's %u "
	       "functions named like its internal ones\n", n);
	return 0;
}
