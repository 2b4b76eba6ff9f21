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

    /// <summary>The modules built into the kernel (lib/modules/VERSION/modules.builtin: "kernel/drivers/virtio/virtio_pci.ko"),
    /// which need no loading (6.12 builds virtio and virtio_pci in; 6.1 has them as modules).</summary>
    private static HashSet<string> Builtin(OracleKernel kernel)
    {
        var boot = Path.GetDirectoryName(kernel.Image)!;
        var version = Path.GetFileName(kernel.Image)["vmlinuz-".Length..];
        var file = Path.Combine(Path.GetDirectoryName(boot)!, "lib", "modules", version, "modules.builtin");
        var set = new HashSet<string>(StringComparer.Ordinal);
        if (!File.Exists(file)) return set;
        foreach (var line in File.ReadLines(file))
        {
            var name = Path.GetFileName(line.Trim());
            int ko = name.IndexOf(".ko", StringComparison.Ordinal);
            if (ko > 0) set.Add(Canonical(name[..ko]));
        }
        return set;
    }

    /// <summary>insmods the scenario's preloaded modules (with their command-line options) in the booted guest.</summary>
    internal static void PreloadInto(QemuGuest g, Scenario sc, GuestModules modules)
    {
        var cmdline = sc.MachineQemu is null ? null : OracleRunner.MachineArgs(sc.MachineQemu).Append;
        foreach (var name in Preload(sc))
        {
            if (modules.LoadOrder(name).Count == 0) continue;   // built in
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
