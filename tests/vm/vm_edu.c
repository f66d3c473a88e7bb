/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * uvfio-vm-edu DEVICE: the shared edu driver test (examples/edu_driver.c)
 * against DEVICE, one result line per step on stdout.  tests/vm/run.sh
 * runs it inside the guest against QEMU's edu through the kernel's
 * vfio-pci (DEVICE is a PCI address) and on the host against
 * `uvfio-serve edu` (DEVICE is its socket), and compares the two logs
 * line by line.  Statically linked: the guest has no libraries.
 */
#include <stdio.h>
#include <string.h>

#include <uvfio/client.h>
#include "examples/edu_driver.h"

/*
 * The steps both targets run.  Not EDU_DRV_DMA_FULL: QEMU 7.2's edu
 * aborts on a transfer that ends at its buffer's end.
 */
#define SHARED_STEPS (EDU_DRV_INTX | EDU_DRV_IOEVENTFD | EDU_DRV_RESET)

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "Usage: uvfio-vm-edu DEVICE\n");
		return 2;
	}
	struct uvfio_device *d;
	int r = uvfio_device_open(argv[1], NULL, &d);
	if (r < 0) {
		printf("FAIL open: %s\n", strerror(-r));
		return 1;
	}
	int failed = edu_driver_run(d, stdout, SHARED_STEPS);
	uvfio_device_close(d);
	if (failed)
		fprintf(stderr, "uvfio-vm-edu: %d step(s) failed\n", failed);
	return failed ? 1 : 0;
}
