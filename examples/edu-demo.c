/* SPDX-License-Identifier: BSD-3-Clause */
/* uvfio-edu-demo: drive an edu device through the uvfio client library. */
#include <stdio.h>
#include <string.h>

#include <uvfio/client.h>
#include "edu_driver.h"

int main(int argc, char **argv)
{
	if (argc != 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fprintf(argc == 2 ? stdout : stderr,
			"Usage: uvfio-edu-demo DEVICE\n"
			"Drive the edu device at DEVICE -- a vfio-user socket (such as one\n"
			"served by `uvfio-serve edu`) or a PCI address bound to vfio-pci\n"
			"(0000:01:00.0): check its ID and liveness, compute 10! with the\n"
			"completion interrupt on an eventfd, and do a 4 KiB DMA round trip\n"
			"through memfd-backed memory.\n");
		return argc == 2 ? 0 : 2;
	}
	struct uvfio_device *d;
	int r = uvfio_device_open(argv[1], NULL, &d);
	if (r < 0) {
		fprintf(stderr, "uvfio-edu-demo: %s: %s\n", argv[1], strerror(-r));
		return 1;
	}
	int failed = edu_driver_run(d, stdout, EDU_DRV_DMA_FULL);
	uvfio_device_close(d);
	if (failed)
		fprintf(stderr, "uvfio-edu-demo: %d step(s) failed\n", failed);
	return failed ? 1 : 0;
}
