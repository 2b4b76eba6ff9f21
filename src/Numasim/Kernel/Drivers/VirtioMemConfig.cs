namespace Numasim.Kernel.Drivers;

/// <summary>VIRTIO_MEM_RESP_* (include/uapi/linux/virtio_mem.h): the device's answer to a guest request.</summary>
public enum VirtioMemResp { Ack = 0, Nack = 1, Busy = 2, Error = 3 }

/// <summary>
/// What the virtio_mem driver sees of its device: struct virtio_mem_config (the config space, read with
/// virtio_cread_le()) and the single "guest-request" virtqueue (VIRTIO_MEM_REQ_PLUG/UNPLUG/UNPLUG_ALL). The
/// hypervisor side implements it (Hypervisor/VirtioMemDevice.cs); the kernel model knows nothing of QEMU.
/// </summary>
public interface IVirtioMemDevice
{
    /// <summary>block_size: the device block size, the (un)plug granularity.</summary>
    ulong BlockSize { get; }

    /// <summary>node_id: the proximity domain of the memory (used with VIRTIO_MEM_F_ACPI_PXM).</summary>
    int NodeId { get; }

    /// <summary>VIRTIO_MEM_F_ACPI_PXM is offered (QEMU: a machine with NUMA state and ACPI, which pc always is).</summary>
    bool AcpiPxm { get; }

    /// <summary>addr: the start of the device's memory region.</summary>
    ulong Addr { get; }

    /// <summary>region_size: the memory backend's size.</summary>
    ulong RegionSize { get; }

    /// <summary>usable_region_size: how much of the region the guest may plug now.</summary>
    ulong UsableRegionSize { get; }

    /// <summary>plugged_size: what is plugged.</summary>
    ulong PluggedSize { get; }

    /// <summary>requested_size: what the hypervisor wants plugged.</summary>
    ulong RequestedSize { get; }

    /// <summary>VIRTIO_MEM_REQ_PLUG of <paramref name="nbBlocks"/> device blocks at <paramref name="addr"/>.</summary>
    VirtioMemResp Plug(ulong addr, ulong nbBlocks);

    /// <summary>VIRTIO_MEM_REQ_UNPLUG.</summary>
    VirtioMemResp Unplug(ulong addr, ulong nbBlocks);

    /// <summary>VIRTIO_MEM_REQ_UNPLUG_ALL.</summary>
    VirtioMemResp UnplugAll();
}
