/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: the VERSION capabilities JSON (vu_caps_from_json), as it
 * arrives after the 4-byte version header — any bytes, NUL or not.  What
 * parses must stay within the limits the parser promises, and survive a
 * round trip through vu_caps_to_json unchanged.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "wire/wire.h"

static void check_caps(const struct uvfio_caps *c)
{
	if (c->max_msg_fds > UVFIO_LIMIT_MAX_MSG_FDS ||
	    !c->max_data_xfer_size ||
	    c->max_data_xfer_size > UVFIO_LIMIT_MAX_DATA_XFER ||
	    !c->max_dma_maps || c->max_dma_maps > UVFIO_LIMIT_MAX_DMA_MAPS ||
	    !(c->pgsizes & 4096))
		fuzz_die("version: parsed caps out of range: fds %u xfer %u "
			 "maps %u pgsizes 0x%llx", c->max_msg_fds,
			 c->max_data_xfer_size, c->max_dma_maps,
			 (unsigned long long)c->pgsizes);
}

static bool same_caps(const struct uvfio_caps *a, const struct uvfio_caps *b)
{
	return a->max_msg_fds == b->max_msg_fds &&
	       a->max_data_xfer_size == b->max_data_xfer_size &&
	       a->max_dma_maps == b->max_dma_maps &&
	       a->pgsizes == b->pgsizes &&
	       a->write_multiple == b->write_multiple &&
	       a->twin_socket == b->twin_socket &&
	       a->migration == b->migration &&
	       a->migration_pgsize == b->migration_pgsize &&
	       a->migration_max_bitmap_size == b->migration_max_bitmap_size;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uvfio_caps caps;
	int twin = -2;
	char err[160];

	/* The receiver puts a NUL after every payload; so does this copy. */
	char *buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = 0;
	int r = vu_caps_from_json(buf, size, &caps, &twin, err, sizeof(err));
	if (r < 0) {
		if (r == -EINVAL && (!memchr(err, 0, sizeof(err)) || !err[0]))
			fuzz_die("version: error %d without a reason", r);
		free(buf);
		return 0;
	}
	check_caps(&caps);
	if (twin < -1 || twin > (int)UVFIO_LIMIT_MAX_MSG_FDS)
		fuzz_die("version: twin fd_index %d", twin);

	char *json = vu_caps_to_json(&caps, caps.twin_socket, -1);
	if (!json)
		fuzz_die("version: cannot encode parsed caps");
	struct uvfio_caps again;
	r = vu_caps_from_json(json, strlen(json) + 1, &again, NULL, err,
			      sizeof(err));
	if (r < 0 || !same_caps(&caps, &again))
		fuzz_die("version: round trip changed the caps (%d: %s): %s",
			 r, err, json);
	free(json);
	free(buf);
	return 0;
}
