/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Kernel-style ioeventfds over vfio-user: "when this eventfd fires,
 * write this value there".  vfio-user has no command that hands the
 * server a client-chosen eventfd, so the client library does the write
 * itself, from a thread that waits on every registered eventfd: through
 * the device's own doorbell eventfd when it offers one for exactly that
 * write (no socket message at all), else as a posted REGION_WRITE.
 *
 * The registration rules are the kernel's VFIO_DEVICE_IOEVENTFD ones:
 * BAR regions only, the access inside the BAR and clear of the MSI-X
 * table, key (region, offset, size, data), EEXIST for a key registered
 * already, a negative fd deletes (ENODEV when there is nothing to delete), at
 * most UVFIO_IOEVENTFD_MAX per device.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/pci_regs.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <syslog.h>
#include <unistd.h>

#include "client/user.h"

struct vu_ioev {
	bool used;
	uint64_t id;             /* epoll cookie: slot | generation << 16 */
	unsigned index;
	uint64_t offset;
	unsigned size;
	uint64_t data;
	int fd;                  /* our dup of the caller's eventfd */
	int bell;                /* the device's doorbell for it, or -1 */
};

struct vu_ioev_set {
	pthread_mutex_t lock;
	struct vu_ioev *e;       /* UVFIO_IOEVENTFD_MAX slots */
	unsigned n;
	uint64_t gen;
	int epfd;
	int stop_fd;
	pthread_t thread;
	bool thread_on;
	/* The MSI-X table, found once: BAR, byte range. */
	bool msix_known;
	int msix_bar;            /* -1: no MSI-X */
	uint64_t msix_off, msix_len;
};

static void signal_efd(int fd)
{
	uint64_t one = 1;
	ssize_t n;
	do {
		n = write(fd, &one, sizeof(one));
	} while (n < 0 && errno == EINTR);
}

/* Perform the registered write of @e (lock held). */
static void ioev_fire(struct vu_client *c, struct vu_ioev *e)
{
	uint64_t cnt;
	if (read(e->fd, &cnt, sizeof(cnt)) != sizeof(cnt))
		return;          /* spurious: someone else consumed it */
	if (e->bell >= 0) {
		signal_efd(e->bell);
		return;
	}
	uint8_t buf[8];
	for (unsigned i = 0; i < e->size; i++)
		buf[i] = (uint8_t)(e->data >> (8 * i));
	ssize_t r = vuc_region_write(&c->be, e->index, e->offset, buf, e->size,
				     true);
	if (r < 0)
		ulog_printf(&c->log, LOG_WARNING,
			    "vfio-user: ioeventfd write to region %u offset "
			    "0x%llx failed: %s", e->index,
			    (unsigned long long)e->offset, strerror((int)-r));
}

static void *ioev_thread(void *arg)
{
	struct vu_client *c = arg;
	struct vu_ioev_set *s = c->ioev;
	struct epoll_event ev[32];

	for (;;) {
		int n = epoll_wait(s->epfd, ev, 32, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		bool stop = false;
		pthread_mutex_lock(&s->lock);
		for (int i = 0; i < n; i++) {
			uint64_t id = ev[i].data.u64;
			if (id == UINT64_MAX) {
				stop = true;
				continue;
			}
			/* The registration may be gone (or replaced) since
			 * epoll_wait returned: the generation tells. */
			struct vu_ioev *e = &s->e[id & 0xffff];
			if (e->used && e->id == id)
				ioev_fire(c, e);
		}
		pthread_mutex_unlock(&s->lock);
		if (stop)
			break;
	}
	return NULL;
}

static void set_free(struct vu_ioev_set *s)
{
	if (!s)
		return;
	if (s->e)
		for (unsigned i = 0; i < UVFIO_IOEVENTFD_MAX; i++) {
			close_fd(&s->e[i].fd);
			close_fd(&s->e[i].bell);
		}
	free(s->e);
	close_fd(&s->epfd);
	close_fd(&s->stop_fd);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static int set_create(struct vu_client *c)
{
	struct vu_ioev_set *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->e = calloc(UVFIO_IOEVENTFD_MAX, sizeof(*s->e));
	if (s->e)
		for (unsigned i = 0; i < UVFIO_IOEVENTFD_MAX; i++)
			s->e[i].fd = s->e[i].bell = -1;
	int r = 0;
	if (s->epfd < 0 || s->stop_fd < 0)
		r = -errno;
	else if (!s->e)
		r = -ENOMEM;
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = UINT64_MAX };
	if (!r && epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->stop_fd, &ev) < 0)
		r = -errno;
	if (r) {
		set_free(s);
		return r;
	}
	c->ioev = s;
	/* The caller's signals are not ours to take. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&s->thread, NULL, ioev_thread, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		c->ioev = NULL;
		set_free(s);
		return -r;
	}
	s->thread_on = true;
	return 0;
}

void vuc_ioev_fini(struct vu_client *c)
{
	struct vu_ioev_set *s = c->ioev;
	if (!s)
		return;
	if (s->thread_on) {
		signal_efd(s->stop_fd);
		pthread_join(s->thread, NULL);
	}
	c->ioev = NULL;
	set_free(s);
}

/* Find the MSI-X table through config space (region 7), once. */
static int find_msix(struct vu_client *c, struct vu_ioev_set *s)
{
	if (s->msix_known)
		return 0;
	uint8_t cfg[256];
	ssize_t n = vuc_region_read(&c->be, VFIO_PCI_CONFIG_REGION_INDEX, 0,
				    cfg, sizeof(cfg));
	if (n < 0)
		return (int)n;
	if (n != (ssize_t)sizeof(cfg))
		return -EIO;
	s->msix_bar = -1;
	if (get_le16(cfg + PCI_STATUS) & PCI_STATUS_CAP_LIST) {
		unsigned pos = cfg[PCI_CAPABILITY_LIST] & ~3u;
		for (int steps = 0; pos >= 0x40 && pos < 0xff && steps < 48;
		     steps++) {
			if (cfg[pos] == PCI_CAP_ID_MSIX && pos + 12 <= 0x100) {
				uint16_t ctl = get_le16(cfg + pos + PCI_MSIX_FLAGS);
				uint32_t tbl = get_le32(cfg + pos + PCI_MSIX_TABLE);
				s->msix_bar = (int)(tbl & PCI_MSIX_TABLE_BIR);
				s->msix_off = tbl & PCI_MSIX_TABLE_OFFSET;
				s->msix_len = ((uint64_t)(ctl & PCI_MSIX_FLAGS_QSIZE) + 1) *
					      PCI_MSIX_ENTRY_SIZE;
				break;
			}
			pos = cfg[pos + 1] & ~3u;
		}
	}
	s->msix_known = true;
	return 0;
}

/* The device's doorbell that performs exactly this write, or -1. */
static int matching_bell(struct vu_client *c, unsigned index, uint64_t offset,
			 unsigned size, uint64_t data)
{
	struct uvfio_doorbell *db = calloc(VU_DOORBELLS_MAX, sizeof(*db));
	if (!db)
		return -1;
	int n = vuc_region_doorbells(&c->be, index, db, VU_DOORBELLS_MAX);
	if (n <= 0 || n > (int)VU_DOORBELLS_MAX) {
		free(db);
		return -1;
	}
	int bell = -1;
	for (int i = 0; i < n; i++) {
		if (bell < 0 && db[i].offset == offset && db[i].size == size &&
		    db[i].datamatch && db[i].data == data) {
			bell = db[i].fd;
			continue;
		}
		close(db[i].fd);
	}
	free(db);
	return bell;
}

static struct vu_ioev *find_key(struct vu_ioev_set *s, unsigned index,
				uint64_t offset, unsigned size, uint64_t data)
{
	for (unsigned i = 0; i < UVFIO_IOEVENTFD_MAX; i++) {
		struct vu_ioev *e = &s->e[i];
		if (e->used && e->index == index && e->offset == offset &&
		    e->size == size && e->data == data)
			return e;
	}
	return NULL;
}

static void drop(struct vu_ioev_set *s, struct vu_ioev *e)
{
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, e->fd, NULL);
	close_fd(&e->fd);
	close_fd(&e->bell);
	e->used = false;
	s->n--;
}

int vuc_ioeventfd(struct uvfio_backend *be, unsigned index, uint64_t offset,
		  unsigned size, uint64_t data, int fd)
{
	struct vu_client *c = to_vu(be);
	if (index > VFIO_PCI_BAR5_REGION_INDEX)
		return -EINVAL;
	struct uvfio_region_info ri;
	int r = vuc_region_info(be, index, &ri);
	if (r < 0)
		return r;
	if (!range_ok(offset, size, ri.size))
		return -EINVAL;
	if (!c->ioev && (r = set_create(c)) < 0)
		return r;
	struct vu_ioev_set *s = c->ioev;
	if ((r = find_msix(c, s)) < 0)
		return r;
	if (s->msix_bar == (int)index && offset < s->msix_off + s->msix_len &&
	    s->msix_off < offset + size)
		return -EINVAL;

	pthread_mutex_lock(&s->lock);
	struct vu_ioev *e = find_key(s, index, offset, size, data);
	if (fd < 0) {
		r = -ENODEV;
		if (e) {
			drop(s, e);
			r = 0;
		}
		pthread_mutex_unlock(&s->lock);
		return r;
	}
	if (e) {
		pthread_mutex_unlock(&s->lock);
		return -EEXIST;
	}
	if (s->n >= UVFIO_IOEVENTFD_MAX) {
		pthread_mutex_unlock(&s->lock);
		return -ENOSPC;
	}
	pthread_mutex_unlock(&s->lock);

	/* Outside the lock: these are messages to the device. */
	if (fcntl(fd, F_GETFD) < 0)
		return -EBADF;
	if (!fd_is_eventfd(fd))
		return -EINVAL;
	int mine = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (mine < 0)
		return -errno;
	int bell = matching_bell(c, index, offset, size, data);

	pthread_mutex_lock(&s->lock);
	/* Registered meanwhile by another thread: same answer as above. */
	r = find_key(s, index, offset, size, data) ? -EEXIST :
	    s->n >= UVFIO_IOEVENTFD_MAX ? -ENOSPC : 0;
	unsigned slot = 0;
	while (!r && s->e[slot].used)
		slot++;
	if (!r) {
		e = &s->e[slot];
		*e = (struct vu_ioev){
			.used = true, .index = index, .offset = offset,
			.size = size, .data = data, .fd = mine, .bell = bell,
			.id = slot | (++s->gen << 16),
		};
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = e->id };
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, mine, &ev) < 0) {
			r = -errno;
			e->used = false;
			e->fd = e->bell = -1;
		} else {
			s->n++;
		}
	}
	pthread_mutex_unlock(&s->lock);
	if (r) {
		close(mine);
		if (bell >= 0)
			close(bell);
	}
	return r;
}
