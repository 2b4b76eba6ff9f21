using Numasim.Firmware;
using Numasim.Kernel.Profiles;
using Numasim.Tests.Cli;

namespace Numasim.Tests.Snapshots;

/// <summary>
/// The compact-state guard for the state the checker's operation families do not reach: virtio-mem (QEMU's device
/// bitmap and sizes, the driver's instances and block states, its notifier and online_page callback), memory groups
/// (DIMMs' static and virtio-mem's dynamic ones), memmap_on_memory's vmemmap pages and the memory_hotplug module
/// parameters written through sysfs. Random walks of qom-set, DIMM add/remove, block online/offline and parameter
/// writes; after each step the state is saved, restored into a machine that was elsewhere, and both must render the
/// same /sys and /proc, hash the same, and go on the same; undoing leaves no byte behind.
/// </summary>
public class CompactStateHotplugGuardTests
{
    private const string VirtioMem =
        "-object memory-backend-ram,id=v,size=1G -device virtio-mem-pci,id=vm0,memdev=v,node=1,requested-size=256M";

    private static Machine Boot(string profile, string append) =>
        Machine.Boot(QemuCommandLine.Parse($"{CliHarness.OracleQemu} {VirtioMem} -append '{append}'").GetSpecOrThrow(), KernelProfile.Find(profile)!);

    /// <summary>What the driver and the device hold beyond /sys and /proc (what a debugger would show): the
    /// driver's sizes and per-block states, the device's sizes and plugged blocks, the blocks' groups.</summary>
    private static string Internals(Machine m)
    {
        var sb = new System.Text.StringBuilder();
        ulong mbSize = m.Kernel.MemoryBlockSize;
        foreach (var vm in m.VirtioMem.Devices)
        {
            sb.Append($"virtio{vm.Index}: plugged {vm.PluggedSize} requested {vm.RequestedSize} sbm {vm.InSbm} mgid {vm.Mgid} nid {vm.Nid}:");
            for (long id = (long)((vm.Addr + mbSize - 1) / mbSize); id < (long)((vm.Addr + vm.RegionSize) / mbSize); id++)
                sb.Append(' ').Append(vm.InSbm ? (int)vm.MbState(id) : (int)vm.BbState(id));
            sb.AppendLine();
        }
        foreach (var (id, dev) in m.Qmp.VirtioMemDevices)
            sb.AppendLine($"{id}: plugged {dev.PluggedSize} in bitmap {dev.PluggedIn(dev.Addr, dev.RegionSize)} requested {dev.RequestedSize} usable {dev.UsableRegionSize}");
        foreach (var mb in m.Kernel.AllMemoryBlocks.Where(b => b.Hotplugged))
            sb.AppendLine($"memory{mb.Id}: group {mb.Group?.Id} {mb.Group?.PresentKernelPages}/{mb.Group?.PresentMovablePages} vmemmap {mb.NrVmemmapPages}");
        return sb.ToString();
    }

    private static void Same(Machine a, Machine b, string when) => GuardWalk.Same(a, b, when, Internals);

    private static readonly string[] Sizes = ["0", "134217728", "314572800", "536870912", "805306368", "1073741824"];

    /// <summary>One random step (its description): the same generator state gives the same step on any machine.</summary>
    private static string Step(Machine m, Random rnd, ref int dimms)
    {
        switch (rnd.Next(5))
        {
            case 0:
            {
                var size = Sizes[rnd.Next(Sizes.Length)];
                m.Qmp.QomSet(new Dictionary<string, string> { ["path"] = "/machine/peripheral/vm0", ["property"] = "requested-size", ["value"] = size });
                return $"qom-set requested-size {size}";
            }
            case 1: return GuardWalk.DeviceAddDimm(m, ref dimms, rnd.Next(2) == 0 ? 128UL << 20 : 256UL << 20, "1");
            case 2: return GuardWalk.DeviceDelDimm(m, rnd, dimms);
            case 3: return GuardWalk.WriteBlockState(m, rnd, ["offline", "online_movable", "online"]);
            default:
            {
                var (name, value) = rnd.Next(3) switch
                {
                    0 => ("online_policy", rnd.Next(2) == 0 ? "auto-movable" : "contig-zones"),
                    1 => ("auto_movable_ratio", rnd.Next(0, 400).ToString()),
                    _ => ("auto_movable_numa_aware", rnd.Next(2) == 0 ? "N" : "Y"),
                };
                m.Write($"/sys/module/memory_hotplug/parameters/{name}", value);
                return $"{name}={value}";
            }
        }
    }

    [Theory]
    [InlineData("v6.1", "memhp_default_state=online_movable", 1)]
    [InlineData("v6.1", "memhp_default_state=online memory_hotplug.memmap_on_memory=1 memory_hotplug.online_policy=auto-movable", 2)]
    [InlineData("v6.12", "memhp_default_state=online_movable memory_hotplug.memmap_on_memory=1", 3)]
    [InlineData("v6.12", "memhp_default_state=online virtio_mem.force_bbm=1", 4)]
    public void A_hotplug_state_restored_from_its_value_renders_and_evolves_as_the_original(string profile, string append, int seed)
    {
        var a = Boot(profile, append);
        var b = Boot(profile, append);
        GuardWalk.Run(a, b, seed, 8, Step, Same);
    }
}
