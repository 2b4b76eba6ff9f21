using Numasim.Scenarios;

namespace Numasim.Oracle;

/// <summary>Modules a real Debian guest's udev would load by itself for the devices a scenario has (modalias), which
/// the oracle's busybox guest loads before the first step: virtio_pci and virtio_mem for virtio-mem-pci, with the
/// virtio_mem.* options of the machine's command line, as modprobe passes those from /proc/cmdline.</summary>
public sealed partial class GuestModules
{
    /// <summary>The modules the scenario's devices need, in load order.</summary>
    public static IReadOnlyList<string> Preload(Scenario sc)
    {
        bool virtioMem = (sc.MachineQemu?.Contains(Hypervisor.VirtioMemDevice.Driver, StringComparison.Ordinal) ?? false)
                         || sc.Steps.Any(s => s.Kind == "device_add" && s.Args.GetValueOrDefault("driver") == Hypervisor.VirtioMemDevice.Driver);
        return virtioMem ? ["virtio_pci", "virtio_mem"] : [];
    }

    /// <summary>insmods the scenario's preloaded modules (with their command-line options) in the booted guest.</summary>
    internal static void PreloadInto(QemuGuest g, Scenario sc, GuestModules modules)
    {
        var cmdline = sc.MachineQemu is null ? null : OracleRunner.MachineArgs(sc.MachineQemu).Append;
        foreach (var name in Preload(sc))
        {
            var output = g.Shell($"( {modules.InsmodCommand(name, ModuleOptions(cmdline, name))}) 2>&1; echo \"@@rc=$?\"");
            if (!output.TrimEnd().EndsWith("@@rc=0", StringComparison.Ordinal))
                throw new GuestException($"loading {name} into the guest failed: {output.Trim()}");
        }
    }

    /// <summary>"MODULE.param=value" words of the command line as insmod parameters ("param=value ...").</summary>
    internal static string ModuleOptions(string? cmdline, string module)
    {
        if (string.IsNullOrEmpty(cmdline)) return "";
        var prefix = module + ".";
        return string.Join(' ', Kernel.Init.CmdlineParsing.SplitArgs(cmdline, out _)
            .Where(a => a.Param.StartsWith(prefix, StringComparison.Ordinal))
            .Select(a => a.Val is null ? a.Param[prefix.Length..] : $"{a.Param[prefix.Length..]}={a.Val}"));
    }
}
