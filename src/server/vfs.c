/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The VFs of an SR-IOV PF, served by the PF's server: each VF gets a
 * server of its own listening on "<PF socket>.vf<index>", whose epoll fd
 * sits in the PF's epoll set, so that whoever runs or dispatches the PF's
 * server serves every VF in the same loop.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/un.h>
#include <syslog.h>

#include "server/server.h"

static int vf_add(void *opaque, unsigned index, struct uvfio_dev *vf)
{
	struct uvfio_server *srv = opaque;
	struct sockaddr_un sa;
	char path[sizeof(sa.sun_path)];

	if (index >= srv->nvf_slots || srv->vfs[index])
		return -EINVAL;
	/* VF sockets are named after the PF's: without one, nowhere. */
	if (!srv->path)
		return -ENOTSUP;
	int n = snprintf(path, sizeof(path), "%s.vf%u", srv->path, index);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	struct uvfio_server *v = uvfio_server_new(vf, &srv->opts);
	if (!v)
		return -ENOMEM;
	int r = uvfio_server_listen(v, path);
	if (r == 0) {
		struct epoll_event ev = {
			.events = EPOLLIN,
			.data.u64 = SERVER_TAG_VF | (uint64_t)index << 32,
		};
		if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, v->epfd, &ev) < 0)
			r = -errno;
	}
	if (r < 0) {
		uvfio_server_free(v);
		return r;
	}
	srv->vfs[index] = v;
	return 0;
}

static void vf_remove(void *opaque, unsigned index)
{
	struct uvfio_server *srv = opaque;
	if (index >= srv->nvf_slots || !srv->vfs[index])
		return;
	struct uvfio_server *v = srv->vfs[index];
	srv->vfs[index] = NULL;
	epoll_ctl(srv->epfd, EPOLL_CTL_DEL, v->epfd, NULL);
	/* Disconnects its client and removes the socket. */
	uvfio_server_free(v);
}

int server_vfs_init(struct uvfio_server *srv)
{
	struct dev_sriov *s = srv->dev->sriov;
	if (!s || !s->total)
		return 0;
	srv->vfs = calloc(s->total, sizeof(*srv->vfs));
	if (!srv->vfs)
		return -ENOMEM;
	srv->nvf_slots = s->total;
	const struct dev_sriov_host host = {
		.opaque = srv, .add = vf_add, .remove = vf_remove,
	};
	dev_sriov_set_host(srv->dev, &host);
	return 0;
}

void server_vfs_fini(struct uvfio_server *srv)
{
	if (!srv->vfs)
		return;
	for (unsigned i = 0; i < srv->nvf_slots; i++)
		vf_remove(srv, i);
	/* The VF devices stay with the PF device, unserved. */
	dev_sriov_set_host(srv->dev, NULL);
	free(srv->vfs);
	srv->vfs = NULL;
	srv->nvf_slots = 0;
}

void server_vf_dispatch(struct uvfio_server *srv, unsigned index)
{
	/* A VF removed earlier in this round has no server any more. */
	if (index < srv->nvf_slots && srv->vfs[index])
		uvfio_server_dispatch(srv->vfs[index]);
}

struct uvfio_server *uvfio_server_get_vf(struct uvfio_server *srv,
					 unsigned index)
{
	if (!srv || index >= srv->nvf_slots)
		return NULL;
	return srv->vfs[index];
}

const char *uvfio_server_path(struct uvfio_server *srv)
{
	return srv ? srv->path : NULL;
}
