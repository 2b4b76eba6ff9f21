using Numasim.Kernel.Profiles;
using Numasim.Scenarios;

namespace Numasim.Oracle;

/// <summary>
/// Known QEMU 7.2 TCG limits (../shared/oracle/README.md): a CPU device_add after any CPU device_del and a DIMM
/// device_add after a failed DIMM eject crash QEMU, and so
/// (found by this oracle, 3 runs of 3) does a DIMM eject after a CPU eject, and (oracle fuzz, 2 of 2) a DIMM hot-add after one. Such scenarios are refused before
/// anything boots, naming the step. (6.12 refusing CPU hot-add is kernel behaviour the model reproduces.)
/// </summary>
public static class QemuLimits
{
    public static bool IsCpuDriver(string? driver) => driver is not null && driver.EndsWith("-cpu", StringComparison.Ordinal);

    /// <summary>Whether a step runs under the profile (its <c>when:</c>).</summary>
    public static bool InProfile(ScenarioStep s, KernelProfile p) =>
        !s.Args.TryGetValue("when", out var when) || when.Split(',', StringSplitOptions.TrimEntries).Contains(p.Name);

    /// <summary>Null when the scenario can run on this kernel under QEMU 7.2 TCG, else "FILE:LINE: why".</summary>
    public static string? Refusal(Scenario sc, OracleKernel kernel, KernelProfile profile)
    {
        if (sc.MachineQemu is null)
            return $"{sc.File}:1: the oracle needs the machine as QEMU options (machine: {{qemu: \"...\"}}), not a machine file";
        // A scenario written for another kernel's behaviour is compared on that kernel only.
        if ((sc.Profile is not null && sc.Profile != profile.Name) || !sc.AppliesTo(profile.Name))
            return $"{sc.File}:1: not for this kernel: the scenario is for {sc.Profile ?? string.Join(",", sc.Profiles!)}, the kernel's profile is {profile.Name}";
        if (VirtioMemUnplugExpected(sc, profile) is { } line)
            return $"{sc.File}:{line}: refused: device_del of a virtio-mem-pci device expected to succeed: QEMU 7.2 cannot unplug virtio-mem devices (\"virtio based memory devices cannot be unplugged.\"; QEMU 8.2 can)";
        var cpus = new HashSet<string>();
        var dimms = new HashSet<string>();
        int? cpuDelLine = null, failedEjectLine = null;
        for (int i = 0; i < sc.Steps.Count; i++)
        {
            var s = sc.Steps[i];
            if (!InProfile(s, profile)) continue;
            var id = s.Args.GetValueOrDefault("id");
            if (s.Kind == "device_add" && IsCpuDriver(s.Args.GetValueOrDefault("driver")))
            {
                if (cpuDelLine is not null)
                    return $"{sc.File}:{s.Line}: refused: CPU device_add after the CPU device_del of line {cpuDelLine}: QEMU 7.2 under TCG crashes on CPU re-plug after unplug";
                if (id is not null) cpus.Add(id);
            }
            else if (s.Kind == "device_add" && s.Args.GetValueOrDefault("driver") == "pc-dimm")
            {
                if (cpuDelLine is not null)
                    return $"{sc.File}:{s.Line}: refused: DIMM device_add after the CPU device_del of line {cpuDelLine}: QEMU 7.2 under TCG dies during such a hot-add (found by oracle fuzz, 2 cases of 2)";
                if (failedEjectLine is not null)
                    return $"{sc.File}:{s.Line}: refused: DIMM device_add after the failed DIMM eject of line {failedEjectLine}: QEMU 7.2 under TCG crashes there";
                if (id is not null) dimms.Add(id);
            }
            else if (s.Kind == "device_del" && id is not null && cpus.Contains(id))
                cpuDelLine ??= s.Line;
            else if (s.Kind == "device_del" && id is not null && dimms.Contains(id) && cpuDelLine is not null)
                return $"{sc.File}:{s.Line}: refused: DIMM device_del after the CPU device_del of line {cpuDelLine}: QEMU 7.2 under TCG dies (SIGSEGV, heap corruption) right after that eject";
            else if (s.Kind == "device_del" && id is not null && dimms.Contains(id) && failedEjectLine is null
                     && sc.Steps.Skip(i + 1).Any(t => t.Kind == "device_add" && t.Args.GetValueOrDefault("driver") == "pc-dimm" && InProfile(t, profile))
                     && EjectFailsOnModel(sc, i, id, profile))
                failedEjectLine = s.Line;
        }
        return null;
    }

    /// <summary>Runs the model up to and including step <paramref name="index"/> and asks it whether the DIMM is still plugged.</summary>
    private static bool EjectFailsOnModel(Scenario sc, int index, string id, KernelProfile profile)
    {
        try
        {
            var prefix = sc with { Steps = sc.Steps.Take(index + 1).ToList() };
            var r = ScenarioRunner.Run(prefix, profile);
            return r.Machine.Qmp.DeviceDel(new Dictionary<string, string> { ["id"] = id }).Ok;
        }
        catch (ScenarioFormatException) { return false; }
    }

    /// <summary>The line of a device_del, without an expected error, of a virtio-mem-pci the scenario plugged.</summary>
    private static int? VirtioMemUnplugExpected(Scenario sc, KernelProfile profile)
    {
        var ids = new HashSet<string>();
        foreach (var d in Firmware.QemuCommandLine.Parse(sc.MachineQemu!).Spec?.Devices ?? [])
            foreach (var (k, v) in d) if (k == "id") ids.Add(v);
        foreach (var s in sc.Steps.Where(s => InProfile(s, profile)))
        {
            if (s.Kind == "device_add" && s.Args.GetValueOrDefault("driver") == Hypervisor.VirtioMemDevice.Driver && s.Args.TryGetValue("id", out var id)) ids.Add(id);
            if (s.Kind == "device_del" && ids.Contains(s.Args.GetValueOrDefault("id") ?? "") && !s.Args.ContainsKey("error")) return s.Line;
        }
        return null;
    }
}
