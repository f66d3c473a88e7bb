/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * uvfio device side: describe a PCI device, implement its registers with
 * callbacks or shared memory, and serve it over vfio-user.
 *
 *   struct uvfio_dev *dev = uvfio_dev_new("mydev");
 *   uvfio_dev_set_ids(dev, &ids);
 *   uvfio_dev_add_bar(dev, 0, 4096, UVFIO_BAR_MEM32, &ops, state);
 *   struct uvfio_server *srv = uvfio_server_new(dev, NULL);
 *   uvfio_server_listen(srv, "/run/mydev.sock");
 *   uvfio_server_run(srv);
 *
 * A device is transport independent: the server turns each vfio-user
 * command into one call on the device, the way an ioctl becomes one call
 * into the kernel's vfio-pci.  Everything runs on the thread that calls
 * uvfio_server_dispatch()/uvfio_server_run(); callbacks must not block.
 */
#ifndef UVFIO_DEVICE_H
#define UVFIO_DEVICE_H

#include <uvfio/uvfio.h>

#ifdef __cplusplus
extern "C" {
#endif

struct uvfio_dev;
struct uvfio_server;

/*
 * Region access callbacks.  @offset is inside the region and
 * [offset, offset+count) is inside its size (checked by uvfio).  Return
 * @count on success or a negative errno; the errno is what the client
 * sees.  A NULL callback makes the access go to the region's memory if it
 * has some, else reads return zeroes / writes are dropped.
 */
struct uvfio_region_ops {
	ssize_t (*read)(void *opaque, uint64_t offset, void *buf, size_t count);
	ssize_t (*write)(void *opaque, uint64_t offset, const void *buf,
			 size_t count);
};

/* BAR flags for uvfio_dev_add_bar(). */
#define UVFIO_BAR_MEM32     0u
#define UVFIO_BAR_MEM64     (1u << 0)
#define UVFIO_BAR_IO        (1u << 1)
#define UVFIO_BAR_PREFETCH  (1u << 2)

/* PCI identity of a device: the standard header's read-only fields. */
struct uvfio_pci_ids {
	uint16_t vendor;
	uint16_t device;
	uint16_t subsystem_vendor;
	uint16_t subsystem_device;
	uint32_t class_code;     /* 24 bits: base class, sub class, prog-if */
	uint8_t revision;
	uint8_t irq_pin;         /* 0 none, 1 INTA# ... 4 INTD# */
};

/* ---- building a device -------------------------------------------- */

UVFIO_EXPORT struct uvfio_dev *uvfio_dev_new(const char *name);
UVFIO_EXPORT void uvfio_dev_free(struct uvfio_dev *dev);
UVFIO_EXPORT const char *uvfio_dev_name(const struct uvfio_dev *dev);
UVFIO_EXPORT void uvfio_dev_set_log(struct uvfio_dev *dev, uvfio_log_fn fn,
				    void *opaque);

UVFIO_EXPORT int uvfio_dev_set_ids(struct uvfio_dev *dev,
				   const struct uvfio_pci_ids *ids);

/*
 * Add BAR @bar (0-5).  @size must be a power of two (IO >= 4, memory >=
 * 16 bytes); a 64-bit BAR occupies @bar and @bar+1.  @ops may be NULL
 * for a BAR backed by memory only (see uvfio_dev_region_alloc_memory).
 */
UVFIO_EXPORT int uvfio_dev_add_bar(struct uvfio_dev *dev, unsigned bar,
				   uint64_t size, unsigned flags,
				   const struct uvfio_region_ops *ops,
				   void *opaque);

/*
 * Give region @index a memfd-backed memory of its full size, returned in
 * *@mem.  The client may mmap it (the whole region, or only the areas
 * added with uvfio_dev_region_add_mmap_area()).  Accesses through
 * messages inside an mmap area go to the memory; outside, to the ops.
 */
UVFIO_EXPORT int uvfio_dev_region_alloc_memory(struct uvfio_dev *dev,
					       unsigned index, void **mem);
UVFIO_EXPORT int uvfio_dev_region_add_mmap_area(struct uvfio_dev *dev,
						unsigned index,
						uint64_t offset,
						uint64_t size);

/* An expansion ROM holding @len bytes of @image (size rounded up to 2^n). */
UVFIO_EXPORT int uvfio_dev_add_rom(struct uvfio_dev *dev, const void *image,
				   size_t len);

/*
 * A device-specific region (index >= VFIO_PCI_NUM_REGIONS), reported with
 * a TYPE capability.  @flags: VFIO_REGION_INFO_FLAG_READ / _WRITE.
 */
UVFIO_EXPORT int uvfio_dev_add_region(struct uvfio_dev *dev, unsigned index,
				      uint64_t size, uint32_t flags,
				      uint32_t type, uint32_t subtype,
				      const struct uvfio_region_ops *ops,
				      void *opaque);

/*
 * A doorbell (vfio-user DEVICE_GET_REGION_IO_FDS, an ioeventfd the device
 * offers): the client gets an eventfd, and each wakeup of it makes the
 * device see a write of @size (1, 2, 4 or 8) bytes at @offset of BAR
 * region @region (0-5), exactly as a REGION_WRITE would, without a
 * message.  The value written is @data (little-endian) with @datamatch,
 * 0 without: an eventfd carries no value, and writes coalesce, so the
 * device does one write per wakeup however many the client made.  Call
 * before serving.  -EINVAL for a bad region, size, range, or @data wider
 * than @size; -ENOSPC past 64 per device; -EBUSY once serving.
 */
UVFIO_EXPORT int uvfio_dev_add_doorbell(struct uvfio_dev *dev, unsigned region,
					uint64_t offset, unsigned size,
					bool datamatch, uint64_t data);

/* MSI capability with @nvectors (1, 2, 4 ... 32) vectors. */
#define UVFIO_MSI_64BIT     (1u << 0)
#define UVFIO_MSI_MASKABLE  (1u << 1)
UVFIO_EXPORT int uvfio_dev_add_msi(struct uvfio_dev *dev, unsigned nvectors,
				   unsigned flags);

/*
 * Override the number of interrupts reported for IRQ index @index
 * (VFIO_PCI_INTX_IRQ_INDEX ... VFIO_PCI_REQ_IRQ_INDEX).  By default the
 * counts derive from config space (interrupt pin, MSI capability) and
 * REQ has 1.
 */
UVFIO_EXPORT int uvfio_dev_set_irq_count(struct uvfio_dev *dev,
					 unsigned index, uint32_t count);

/* Reset callback.  Without one, the device does not advertise RESET. */
UVFIO_EXPORT int uvfio_dev_set_reset(struct uvfio_dev *dev,
				     int (*reset)(void *opaque), void *opaque);

/*
 * VFIO_DEVICE_FEATURE: answer feature @feature (0-0xffff) with @get and/or
 * @set, as @ops (UVFIO_FEATURE_GET | UVFIO_FEATURE_SET) says.  @get fills
 * at most @len bytes of @buf and returns the bytes written, or a negative
 * errno (-EINVAL when @len is too small); @set receives the @len bytes the
 * client sent and returns 0 or a negative errno.  The header checks and
 * PROBE are done by uvfio.  -EEXIST when @feature is registered already.
 */
#define UVFIO_FEATURE_GET  (1u << 0)
#define UVFIO_FEATURE_SET  (1u << 1)
UVFIO_EXPORT int uvfio_dev_add_feature(
	struct uvfio_dev *dev, unsigned feature, unsigned ops,
	int (*get)(void *opaque, void *buf, size_t len),
	int (*set)(void *opaque, const void *buf, size_t len), void *opaque);

/*
 * Low-power callback: with one, the device has the SET-only features
 * LOW_POWER_ENTRY (@enter true) and LOW_POWER_EXIT (@enter false), and
 * LOW_POWER_ENTRY_WITH_WAKEUP, which needs an eventfd vfio-user cannot
 * pass here (EINVAL).  Return 0 or a negative errno.
 */
UVFIO_EXPORT int uvfio_dev_set_low_power(struct uvfio_dev *dev,
					 int (*cb)(void *opaque, bool enter),
					 void *opaque);

/*
 * SR-IOV: make @pf, which has an SR-IOV capability (uvfio_pci_add_sriov),
 * a physical function that creates its virtual functions itself.  The
 * client of the PF programs the capability as the host does: NumVFs
 * (taken only while VF Enable is clear, and only up to TotalVFs), then VF
 * Enable.  Setting VF Enable with NumVFs = n builds VFs 0 .. n-1 with
 * @ops->vf_new; clearing it (or a reset of the PF) removes them, after
 * their clients are disconnected.
 *
 * @ops->vf_new returns a new, unserved device built like any other
 * (uvfio_dev_new, BARs, capabilities ...); *@vf_state is handed back to
 * @ops->vf_free (may be NULL) after uvfio frees the device.  uvfio makes
 * the VF look like one: vendor ID the PF's, device ID the capability's VF
 * Device ID, no INTx.
 *
 * The PF gets the DEVICE_FEATURE PCI_VF_TOKEN (SET only, a 16-byte
 * UUID), and opening its devices follows the kernel's VF token rules: a
 * client of a VF must present the PF's token, a client of the PF must
 * present it while a VF has a client (a token given to the PF when no VF
 * is in use becomes the token), and a token given to any other device is
 * EINVAL.  Over vfio-user the client presents it in VERSION.
 *
 * A server of the PF serves the VFs in its own loop, each on the UNIX
 * socket "<PF socket path>.vf<index>" (see uvfio_server_get_vf()); a
 * PF served on an adopted fd has no path, and its VFs are not served.
 * Call before serving; -ENOENT without the SR-IOV capability, -EBUSY
 * once served.
 */
struct uvfio_sriov_ops {
	struct uvfio_dev *(*vf_new)(void *opaque, unsigned index,
				    void **vf_state);
	void (*vf_free)(void *opaque, unsigned index, void *vf_state);
};
UVFIO_EXPORT int uvfio_dev_set_sriov(struct uvfio_dev *pf,
				     const struct uvfio_sriov_ops *ops,
				     void *opaque);
/* VFs currently enabled, and VF @index of @pf (NULL when absent). */
UVFIO_EXPORT unsigned uvfio_dev_num_vfs(struct uvfio_dev *pf);
UVFIO_EXPORT struct uvfio_dev *uvfio_dev_get_vf(struct uvfio_dev *pf,
						unsigned index);

/* ---- running a device --------------------------------------------- */

/* Read the virtual config space as the client sees it. */
UVFIO_EXPORT int uvfio_dev_config_read(struct uvfio_dev *dev, uint32_t offset,
				       void *buf, size_t len);

/*
 * Raise interrupt @vector of IRQ index @index.  Returns 0 when an eventfd
 * was signalled, -ENOENT when the client has none bound for it, -EINVAL
 * for a bad index or vector.
 */
UVFIO_EXPORT int uvfio_dev_irq_trigger(struct uvfio_dev *dev, unsigned index,
				       unsigned vector);

/*
 * Drive the INTx line as a level: asserted, the interrupt fires (and is
 * auto-masked until the driver unmasks it, when it fires again if the
 * line is still asserted); deasserted, nothing is pending any more.
 */
UVFIO_EXPORT int uvfio_dev_intx_set(struct uvfio_dev *dev, bool asserted);

/*
 * Ask the client to release the device: signal the REQ interrupt.  0 when
 * signalled, -ENOENT when the client has installed no REQ eventfd.
 */
UVFIO_EXPORT int uvfio_dev_request_release(struct uvfio_dev *dev);

/* Log through the device's log callback (syslog @prio). */
UVFIO_EXPORT void uvfio_log(struct uvfio_dev *dev, int prio, const char *fmt,
			    ...) __attribute__((format(printf, 3, 4)));

/* True when the client has an eventfd bound for @index/@vector. */
UVFIO_EXPORT bool uvfio_dev_irq_enabled(struct uvfio_dev *dev, unsigned index,
					unsigned vector);

/*
 * Read or write client (guest) memory at I/O virtual address @iova.  Uses
 * the shared mapping when the client gave an fd for the window, and
 * DMA_READ/DMA_WRITE messages otherwise.  -EFAULT when [iova, iova+len)
 * is not inside mapped windows, -EPERM when a window lacks the needed
 * READ/WRITE permission, -ENOTCONN with no client.
 *
 * For a window mapped without an fd these calls block the server's
 * thread until the client answers (at most the server's
 * reply_timeout_ms, after which the client is dropped), and with it
 * every other device served by that thread (an SR-IOV PF and its VFs,
 * several servers in one loop).  A model that may be served alongside
 * others should use the asynchronous calls below, or these only where
 * uvfio_dev_dma_direct() is true.
 */
UVFIO_EXPORT int uvfio_dev_dma_read(struct uvfio_dev *dev, uint64_t iova,
				    void *buf, size_t len);
UVFIO_EXPORT int uvfio_dev_dma_write(struct uvfio_dev *dev, uint64_t iova,
				     const void *buf, size_t len);

/*
 * True when all of [iova, iova+len) lies in windows the client shared
 * (mapped with an fd) with the needed permission (@write: the device
 * writes guest memory): uvfio_dev_dma_read/write() on it is a copy and
 * never waits for the client.
 */
UVFIO_EXPORT bool uvfio_dev_dma_direct(struct uvfio_dev *dev, uint64_t iova,
				       size_t len, bool write);

/*
 * Asynchronous DMA: never blocks the server's thread.
 *
 * The call checks the whole range first (-EFAULT, -EPERM, -ENOTCONN as
 * above; -EINVAL for unknown @flags or a NULL @done; -EAGAIN when
 * UVFIO_DMA_ASYNC_MAX calls of this device are in flight, or when a
 * call on shared windows only finds the device's timers all in use) and
 * then returns 0 or that error.  After an error nothing was done and @done
 * is never called.  After 0, @done(@opaque, err) is called exactly once,
 * on the server's thread, and never before the call returned:
 *   - parts in shared windows are copied during the call; when that is
 *     all, @done runs from the server's loop (a zero-delay timer);
 *   - parts in fd-less windows become DMA_READ/DMA_WRITE requests (split
 *     at the client's and the server's max_data_xfer_size), sent without
 *     waiting; @done runs when the last reply arrives, with 0 or the
 *     first error (the client's errno, or -EIO for a malformed reply);
 *   - err is -EFAULT when a window the call uses is unmapped first,
 *     -ECANCELED on a device reset (DEVICE_RESET, FLR; before the
 *     model's reset callback), -ENOTCONN when the client disconnects,
 *     -ETIMEDOUT when the client, owing replies, has given none for the
 *     server's reply_timeout_ms (the client is dropped then).  These
 *     complete @done during the event that causes them, outside any
 *     model callback.
 * @buf must stay valid until @done runs; a read fills it only before
 * @done, never after, and a write's data is taken from it until then.
 *
 * Requests go out in order, at most 64 messages awaiting a reply per
 * client (more wait their turn); a call made while a command is handled
 * sends them when its handler has returned.  The client's commands are
 * handled meanwhile, unless @flags has UVFIO_DMA_ORDERED: then the
 * reply to the command being handled (if the call is made from its
 * region callback) and the client's later commands wait until @done has
 * run, as they do behind a synchronous call — a non-posted register
 * write that starts the DMA returns when it is done, a read after it
 * sees it finished — while the thread serves everything else.
 */
#define UVFIO_DMA_ASYNC_MAX  64u
#define UVFIO_DMA_ORDERED    (1u << 0)
typedef void (*uvfio_dma_done_fn)(void *opaque, int err);
UVFIO_EXPORT int uvfio_dev_dma_read_async(struct uvfio_dev *dev, uint64_t iova,
					  void *buf, size_t len, unsigned flags,
					  uvfio_dma_done_fn done, void *opaque);
UVFIO_EXPORT int uvfio_dev_dma_write_async(struct uvfio_dev *dev,
					   uint64_t iova, const void *buf,
					   size_t len, unsigned flags,
					   uvfio_dma_done_fn done,
					   void *opaque);

/* Number of DMA windows currently mapped by the client. */
UVFIO_EXPORT unsigned uvfio_dev_dma_count(struct uvfio_dev *dev);

/*
 * Run @fn(@opaque) once, @delay_ns from now, on the server's thread.
 * Device models use this for work that completes asynchronously.
 * Returns a positive timer id, or a negative errno.
 */
UVFIO_EXPORT int uvfio_dev_schedule(struct uvfio_dev *dev, uint64_t delay_ns,
				    void (*fn)(void *opaque), void *opaque);
UVFIO_EXPORT void uvfio_dev_cancel(struct uvfio_dev *dev, int timer_id);

/* ---- serving a device over vfio-user ------------------------------ */

struct uvfio_server_opts {
	/* Limits announced to the client; 0 means the default. */
	uint32_t max_data_xfer_size;   /* default 1 MiB, at most 64 MiB */
	uint32_t max_msg_fds;          /* default 16 */
	uint32_t max_dma_maps;         /* default 65535 */
	bool no_twin_socket;           /* refuse twin-socket mode */
	bool no_write_multiple;        /* do not accept REGION_WRITE_MULTI */
	uvfio_log_fn log;              /* NULL: silent */
	void *log_opaque;
	int log_level;                 /* highest syslog level passed to log */
	int reply_timeout_ms;          /* wait for DMA_READ/WRITE replies; 0: 5000 */
};

UVFIO_EXPORT struct uvfio_server *uvfio_server_new(
	struct uvfio_dev *dev, const struct uvfio_server_opts *opts);
UVFIO_EXPORT void uvfio_server_free(struct uvfio_server *srv);

/* Create, bind and listen on a UNIX socket at @path (removed on free). */
UVFIO_EXPORT int uvfio_server_listen(struct uvfio_server *srv,
				     const char *path);
/* Use @fd, a listening socket or an already connected one. */
UVFIO_EXPORT int uvfio_server_adopt_fd(struct uvfio_server *srv, int fd);

/* A pollable fd: readable when uvfio_server_dispatch() has work. */
UVFIO_EXPORT int uvfio_server_get_fd(struct uvfio_server *srv);
/* Handle everything that is ready, without blocking.  0 or -errno. */
UVFIO_EXPORT int uvfio_server_dispatch(struct uvfio_server *srv);
/* Loop until uvfio_server_stop().  0 or -errno. */
UVFIO_EXPORT int uvfio_server_run(struct uvfio_server *srv);
/* Ask uvfio_server_run() to return.  Async-signal-safe. */
UVFIO_EXPORT void uvfio_server_stop(struct uvfio_server *srv);

/*
 * The server of VF @index of the PF @srv serves (see uvfio_dev_set_sriov),
 * or NULL.  It is dispatched by the PF's server: uvfio_server_run() and
 * uvfio_server_dispatch() of the PF serve its VFs too, and the PF's fd
 * is readable when one of them has work.  It exists while the VF does.
 */
UVFIO_EXPORT struct uvfio_server *uvfio_server_get_vf(struct uvfio_server *srv,
						      unsigned index);
/* The socket path @srv listens on, or NULL. */
UVFIO_EXPORT const char *uvfio_server_path(struct uvfio_server *srv);

UVFIO_EXPORT bool uvfio_server_has_client(struct uvfio_server *srv);
UVFIO_EXPORT struct uvfio_dev *uvfio_server_dev(struct uvfio_server *srv);

#ifdef __cplusplus
}
#endif
#endif
