/* SPDX-License-Identifier: BSD-3-Clause */
#include "common/util.h"
#include "wire/proto.h"

const char *uvfio_command_name(unsigned command)
{
	static const char *const names[VU_CMD_MAX] = {
		[VU_CMD_VERSION] = "VERSION",
		[VU_CMD_DMA_MAP] = "DMA_MAP",
		[VU_CMD_DMA_UNMAP] = "DMA_UNMAP",
		[VU_CMD_DEVICE_GET_INFO] = "DEVICE_GET_INFO",
		[VU_CMD_DEVICE_GET_REGION_INFO] = "DEVICE_GET_REGION_INFO",
		[VU_CMD_DEVICE_GET_REGION_IO_FDS] = "DEVICE_GET_REGION_IO_FDS",
		[VU_CMD_DEVICE_GET_IRQ_INFO] = "DEVICE_GET_IRQ_INFO",
		[VU_CMD_DEVICE_SET_IRQS] = "DEVICE_SET_IRQS",
		[VU_CMD_REGION_READ] = "REGION_READ",
		[VU_CMD_REGION_WRITE] = "REGION_WRITE",
		[VU_CMD_DMA_READ] = "DMA_READ",
		[VU_CMD_DMA_WRITE] = "DMA_WRITE",
		[VU_CMD_DEVICE_RESET] = "DEVICE_RESET",
		[VU_CMD_REGION_WRITE_MULTI] = "REGION_WRITE_MULTI",
		[VU_CMD_DEVICE_FEATURE] = "DEVICE_FEATURE",
		[VU_CMD_MIG_DATA_READ] = "MIG_DATA_READ",
		[VU_CMD_MIG_DATA_WRITE] = "MIG_DATA_WRITE",
	};
	if (command < VU_CMD_MAX && names[command])
		return names[command];
	return "?";
}

const char *uvfio_region_name(unsigned index)
{
	static const char *const names[] = {
		[VFIO_PCI_BAR0_REGION_INDEX] = "BAR0",
		[VFIO_PCI_BAR1_REGION_INDEX] = "BAR1",
		[VFIO_PCI_BAR2_REGION_INDEX] = "BAR2",
		[VFIO_PCI_BAR3_REGION_INDEX] = "BAR3",
		[VFIO_PCI_BAR4_REGION_INDEX] = "BAR4",
		[VFIO_PCI_BAR5_REGION_INDEX] = "BAR5",
		[VFIO_PCI_ROM_REGION_INDEX] = "ROM",
		[VFIO_PCI_CONFIG_REGION_INDEX] = "CONFIG",
		[VFIO_PCI_VGA_REGION_INDEX] = "VGA",
	};
	return index < ARRAY_SIZE(names) ? names[index] : NULL;
}

const char *uvfio_irq_name(unsigned index)
{
	static const char *const names[] = {
		[VFIO_PCI_INTX_IRQ_INDEX] = "INTx",
		[VFIO_PCI_MSI_IRQ_INDEX] = "MSI",
		[VFIO_PCI_MSIX_IRQ_INDEX] = "MSI-X",
		[VFIO_PCI_ERR_IRQ_INDEX] = "ERR",
		[VFIO_PCI_REQ_IRQ_INDEX] = "REQ",
	};
	return index < ARRAY_SIZE(names) ? names[index] : "?";
}
