using System.Text.RegularExpressions;
using Numasim.Export;
using Numasim.Firmware;
using Numasim.Import;
using Numasim.Kernel.Profiles;
using Numasim.Tests.RealTools;

namespace Numasim.Tests.Import;

/// <summary>One tree's round trip: imported, written as a machine file and read back, booted under the profile the
/// import names, exported to a temporary folder on tmpfs (the caller deletes it).</summary>
public sealed record RoundTripRun(ImportResult Import, Machine Machine, string Export);

/// <summary>
/// The round trip of a real tree (import → machine file → boot → export) and the real tools run on the original and on
/// the export, with the comparison rules of docs/conformance.md ("Round trips over real data"): every output is compared
/// whole (trailing blanks aside), except for the stated rules at each method.
/// </summary>
public static partial class RoundTrip
{
    /// <summary>Imports <paramref name="root"/>, checks the machine file reads back equal, boots and exports.</summary>
    public static RoundTripRun ImportBootExport(string root, string name, ImportOptions options)
    {
        var r = SysfsImporter.ImportTree(root, name, options);
        var text = r.MachineFileText();
        var spec = MachineFile.Parse(text, name + ".yaml");
        var diff = MachineSpecEquality.Difference(spec, r.Spec);
        Assert.True(diff is null, $"{name}: machine file does not read back equal: {diff}");
        var machine = Machine.Boot(spec, KernelProfile.Find(r.Profile));
        var dir = TempFolders.Create();
        SysfsExporter.Export(machine.Fs, dir);
        return new RoundTripRun(r, machine, dir);
    }

    /// <summary><c>lscpu -s ROOT</c> (null: this machine), as printed.</summary>
    public static string Lscpu(string? root) => Tool("lscpu", root is null ? [] : ["-s", root]);

    /// <summary><c>lscpu -s ROOT -e</c> (its default columns, caches included).</summary>
    public static string LscpuExtended(string? root) => Tool("lscpu", root is null ? ["-e"] : ["-s", root, "-e"]);

    /// <summary><c>lsmem -s ROOT OPTIONS</c>.</summary>
    public static string Lsmem(string? root, string[] options) => Tool("lsmem", [.. root is null ? [] : new[] { "-s", root }, .. options]);

    /// <summary>The option sets util-linux's own lsmem tests use: each "$ lsmem ..." line of the expected file.</summary>
    public static List<string[]> LsmemOptionSets(string expectedFile) =>
        File.ReadLines(expectedFile).Where(l => l.StartsWith("$ lsmem", StringComparison.Ordinal))
            .Select(l => l["$ lsmem".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();

    /// <summary>The option sets used on a tree without util-linux's expectations: the columns the kernel's files give.</summary>
    public static readonly string[][] LsmemDefaultSets = [[], ["-o", "RANGE,SIZE,STATE,REMOVABLE,BLOCK,NODE,ZONES"]];

    /// <summary>Stated rules for lstopo: <c>--no-io</c> (PCI and OS devices are outside the model), <c>--whole-system</c>
    /// (a dump's cgroup cpuset, which hides objects, is outside the model), <c>--filter misc:none</c> (Misc objects come
    /// from DMI memory modules, outside the model).</summary>
    public static readonly string[] LstopoOptions = ["--no-io", "--whole-system", "--filter", "misc:none"];

    /// <summary><c>lstopo-no-graphics -i ROOT</c> with <see cref="LstopoOptions"/> (null root: this machine).</summary>
    public static string Lstopo(string? root) => Tool("lstopo-no-graphics", [.. root is null ? [] : new[] { "-i", root }, .. LstopoOptions]);

    /// <summary><c>numactl --hardware</c> with ROOT/sys/devices/system/node bind-mounted over /sys/devices/system/node in
    /// a private mount namespace (null root: this machine). Stated rule: "node N free: X MB" becomes "node N free: F"
    /// (MemFree depends on what ran since boot; the model's is what boot left).</summary>
    public static string Numactl(string? root)
    {
        var cmd = root is null ? "numactl --hardware"
            : $"mount --bind '{Path.Combine(root, "sys/devices/system/node")}' /sys/devices/system/node && numactl --hardware";
        var r = RealTool.Run("unshare", "-m", "sh", "-c", cmd);
        var text = FreeRx().Replace(r.Out, "$1 F");
        return $"exit {r.Exit}\n{RealTool.TrimLines(text)}{r.Err.Trim()}";
    }

    /// <summary>Stated rules where the original tree lacks what a comparison reads, applied to both outputs: a dump without
    /// nodeN/meminfo (util-linux's lscpu dumps) shows no node sizes, so lstopo's sizes and numactl's size lines are not
    /// compared; a dump with DAX devices (sys/bus/dax, outside the model) makes hwloc give memory nodes a tier subtype
    /// (NUMANode(NVM), (HBM), (DRAM)), which is dropped.</summary>
    public static (string Orig, string Exp) Reconcile(string tool, string root, string orig, string exp)
    {
        bool noMeminfo = Directory.Exists(Path.Combine(root, "sys/devices/system/node"))
            && Directory.EnumerateDirectories(Path.Combine(root, "sys/devices/system/node"), "node*").Any(n => !File.Exists(Path.Combine(n, "meminfo")));
        if (tool == "lstopo")
        {
            if (noMeminfo) (orig, exp) = (LstopoSizeRx().Replace(orig, ""), LstopoSizeRx().Replace(exp, ""));
            if (Directory.Exists(Path.Combine(root, "sys/bus/dax"))) (orig, exp) = (SubtypeRx().Replace(orig, "NUMANode "), SubtypeRx().Replace(exp, "NUMANode "));
        }
        if (tool == "numactl --hardware" && noMeminfo) (orig, exp) = (SizeRx().Replace(orig, "$1 -"), SizeRx().Replace(exp, "$1 -"));
        return (orig, exp);
    }

    /// <summary>Why the tool cannot read the ORIGINAL tree, or null: it exits non-zero (lscpu -s on dumps of kernels
    /// without cpu/possible, lstopo -i on trees hwloc does not recognize), or libnuma says "Cannot parse cpumap" (a
    /// nodeN/cpumap wider than this host's cpumask: depends on the host's NR_CPUS).</summary>
    public static string? Unreadable(string original)
    {
        if (!original.StartsWith("exit 0\n", StringComparison.Ordinal))
            return "the tool fails on the original tree (" + original.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1].Trim() + ")";
        if (original.Contains("libnuma: Warning: Cannot parse cpumap", StringComparison.Ordinal))
            return "libnuma cannot parse the original's nodeN/cpumap on this host (wider than this kernel's cpumask)";
        return null;
    }

    private static string Tool(string tool, string[] args)
    {
        var r = RealTool.Run(tool, args);
        return $"exit {r.Exit}\n{RealTool.TrimLines(r.Out)}{r.Err.Trim()}";
    }

    [GeneratedRegex(@"^(node \d+ free:) (\d+ MB|<not available>)$", RegexOptions.Multiline)]
    private static partial Regex FreeRx();

    [GeneratedRegex(@"^(node \d+ size:) .*$", RegexOptions.Multiline)]
    private static partial Regex SizeRx();

    [GeneratedRegex(@" \(\d+[KMGT]?B total\)| \d+[KMGT]?B(?=\))")]
    private static partial Regex LstopoSizeRx();

    [GeneratedRegex(@"NUMANode\([^)]*\) ")]
    private static partial Regex SubtypeRx();
}
