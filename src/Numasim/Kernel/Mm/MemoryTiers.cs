using Numasim.Kernel.Drivers;
using Numasim.Kernel.Numa;
using Numasim.Kernel.Sysfs;

namespace Numasim.Kernel.Mm;

/// <summary>
/// mm/memory-tiers.c (v6.1, KernelProfile.MemoryTiers): every memory node is of the default DRAM type, whose abstract
/// distance (MEMTIER_ADISTANCE_DRAM) puts it in memory_tier4; a node joins when it gets memory (N_MEMORY) and leaves
/// when it loses its last, so the tier's nodelist is N_MEMORY. The model has that one tier.
/// </summary>
internal static class MemoryTiers
{
    /// <summary>Models memory_tier_init() and the tier device's nodelist (nodelist_show()).</summary>
    public static void Init(KernelContext k)
    {
        if (!k.Profile.MemoryTiers) return;
        k.Fs.MakeDirs("/sys/bus/memory_tiering/devices");
        var root = k.Fs.MakeDirs("/sys/devices/virtual/memory_tiering");
        DeviceCommon.AddUeventAndPower(root);
        var tier = root.Dir("memory_tier4");
        tier.Attr("nodelist", () => SysfsFormat.List(k.NodeStates[NodeState.Memory]));
        tier.Link("subsystem", "/sys/bus/memory_tiering");
        DeviceCommon.AddUeventAndPower(tier);
        ((SysfsDirectory)k.Fs.Lookup("/sys/bus/memory_tiering/devices")!).Link("memory_tier4", "/sys/devices/virtual/memory_tiering/memory_tier4");
    }
}
