using System.Globalization;
using System.Text.RegularExpressions;
using Numasim.Export;
using Numasim.Firmware;
using Numasim.Import;
using Numasim.Tests.RealTools;

namespace Numasim.Tests.Import;

/// <summary>
/// The round trip of one real tree: import, machine file written and read back, boot (profile v6.1), export; then
/// the same real tool on the original tree and on the export, normalized as documented at each method and in
/// docs/conformance.md ("Importing real machines").
/// </summary>
public static partial class RoundTrip
{
    /// <summary>Imports <paramref name="root"/>, writes and re-reads the machine file, boots it and exports it to a new
    /// temporary directory (returned; the caller deletes it).</summary>
    public static (MachineSpec Spec, string Export, IReadOnlyList<string> Notes) ImportBootExport(string root, string name, ImportOptions options)
    {
        var r = SysfsImporter.ImportTree(root, name, options);
        var yaml = MachineFile.Write(r.Spec);
        var spec = MachineFile.Parse(yaml, name + ".yaml");
        var diff = MachineSpecEquality.Difference(spec, r.Spec);
        Assert.True(diff is null, $"{name}: machine file does not read back equal: {diff}");
        var machine = Machine.Boot(spec);
        var dir = Path.Combine(Path.GetTempPath(), $"numasim-import-rt-{Guid.NewGuid():N}");
        SysfsExporter.Export(machine.Fs, dir);
        return (spec, dir, r.Notes);
    }

    /// <summary><c>lscpu -s ROOT -e=CPU,NODE,SOCKET,CORE,ONLINE</c>; null root runs on this machine. Normalized:
    /// trailing blanks only.</summary>
    public static string Lscpu(string? root)
    {
        var args = new List<string>();
        if (root is not null) { args.Add("-s"); args.Add(root); }
        args.Add("-e=CPU,NODE,SOCKET,CORE,ONLINE");
        var r = RealTool.Run("lscpu", [.. args]);
        return $"exit {r.Exit}\n{RealTool.TrimLines(r.Out)}";
    }

    /// <summary><c>lsmem -s ROOT OPTIONS</c>. Normalized: trailing blanks only.</summary>
    public static string Lsmem(string? root, string[] options)
    {
        var args = new List<string>();
        if (root is not null) { args.Add("-s"); args.Add(root); }
        args.AddRange(options);
        var r = RealTool.Run("lsmem", [.. args]);
        return $"exit {r.Exit}\n{RealTool.TrimLines(r.Out)}{r.Err.Trim()}";
    }

    /// <summary>Why the tool cannot read the ORIGINAL tree (so there is nothing to compare), or null: the tool exits
    /// non-zero on it (lscpu -s and lstopo -i on dumps of old kernels without cpu/possible or cpu/present), or libnuma
    /// says "Cannot parse cpumap" (a nodeN/cpumap wider than the running kernel's cpumask, /proc/self/status
    /// Cpus_allowed: it depends on the host's NR_CPUS, so it cannot be a fixed exception).</summary>
    public static string? Unreadable(string original)
    {
        if (!original.StartsWith("exit 0\n", StringComparison.Ordinal)) return "the tool fails on the original tree (" + original.Split('\n')[0] + ")";
        if (original.Contains("libnuma: Warning: Cannot parse cpumap", StringComparison.Ordinal))
            return "libnuma cannot parse the original's nodeN/cpumap on this host (wider than this kernel's cpumask)";
        return null;
    }

    /// <summary>The option sets util-linux's own lsmem tests use: each "$ lsmem ..." line of the expected file.</summary>
    public static List<string[]> LsmemOptionSets(string expectedFile) =>
        File.ReadLines(expectedFile).Where(l => l.StartsWith("$ lsmem", StringComparison.Ordinal))
            .Select(l => l["$ lsmem".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();

    /// <summary><c>numactl --hardware</c> with ROOT/sys/devices/system/node bind-mounted over /sys/devices/system/node in a
    /// private mount namespace (null root: this machine as it is). Normalized: "node N free: X MB" (or
    /// "&lt;not available&gt;", from a dump whose meminfo has no MemFree) becomes "node N free: F" (MemFree depends on what
    /// ran since boot; the model's is MemTotal: free memory is not compared); sizes are
    /// reconciled by <see cref="ReconcileSizes"/>.</summary>
    public static string Numactl(string? root)
    {
        var cmd = root is null ? "numactl --hardware"
            : $"mount --bind '{Path.Combine(root, "sys/devices/system/node")}' /sys/devices/system/node && numactl --hardware";
        var r = RealTool.Run("unshare", "-m", "sh", "-c", cmd);
        var text = Regex.Replace(r.Out, @"^(node \d+ free:) (\d+ MB|<not available>)$", "$1 F", RegexOptions.Multiline);
        return $"exit {r.Exit}\n{RealTool.TrimLines(text)}{r.Err.Trim()}";
    }

    /// <summary><c>lstopo-no-graphics -i ROOT</c> (null: this machine) reduced to its NUMANode and PU objects (a NUMANode's memory-tier subtype dropped), one per
    /// line, in lstopo's order (which follows the package/core tree). Caches, Machine/Package/Die/Core/Group lines,
    /// PCI and OS devices are dropped: the model exports no cpu/cpuN/cache/, no PCI bus, no DMI.</summary>
    public static string Lstopo(string? root)
    {
        var r = root is null ? RealTool.Run("lstopo-no-graphics") : RealTool.Run("lstopo-no-graphics", "-i", root);
        // "NUMANode(DRAM)", "NUMANode(NVM)": hwloc's memory-tier subtype (from memory_tiers/ and DAX devices, outside
        // the model) is dropped
        var objects = ObjectRx().Matches(r.Out).Select(m => SubtypeRx().Replace(m.Value, "NUMANode "));
        return $"exit {r.Exit}\n{string.Join("\n", objects)}\n";
    }

    [GeneratedRegex(@"(NUMANode(\([^)]*\))? L#\d+ \(P#\d+[^)]*\)|PU L#\d+ \(P#\d+\))")]
    private static partial Regex ObjectRx();

    [GeneratedRegex(@"^NUMANode\([^)]*\) ")]
    private static partial Regex SubtypeRx();

    [GeneratedRegex(@"^(node \d+ size:) (\d+) MB$", RegexOptions.Multiline)]
    private static partial Regex NumactlSizeRx();

    [GeneratedRegex(@"(NUMANode L#\d+ \(P#\d+) (\d+)([KMGT]B)\)")]
    private static partial Regex LstopoSizeRx();

    /// <summary>Node sizes as the model can give them: a node's RAM is a whole number of 128 MiB sections and its
    /// MemTotal is what is left after the kernel's reservations (struct pages, firmware holes), which differ from the
    /// real machine's. A size of the export within <paramref name="tolMiB"/> MiB, or 3%, of the original's is
    /// replaced by the original's; any other is left as it is (and the comparison fails).</summary>
    public static string ReconcileSizes(string original, string export, double tolMiB)
    {
        var a = NumactlSizeRx().Matches(original).Concat(LstopoSizeRx().Matches(original)).ToList();
        var b = NumactlSizeRx().Matches(export).Concat(LstopoSizeRx().Matches(export)).ToList();
        if (a.Count != b.Count) return export;
        var sb = export;
        for (int i = a.Count - 1; i >= 0; i--)
        {
            if (a[i].Groups[1].Value != b[i].Groups[1].Value) continue;
            double x = MiB(a[i]), y = MiB(b[i]);
            // lstopo prints whole GB above 1 GB: two sizes within the tolerance can print one unit apart when they
            // straddle a half (the model's 24033 MiB and this host's 24105 MiB print 23GB and 24GB)
            double rounding = a[i].Groups.Count > 3 && a[i].Groups[3].Value == "GB" && b[i].Groups[3].Value == "GB" ? 1024 : 0;
            if (Math.Abs(x - y) <= Math.Max(tolMiB, 0.03 * x) + rounding)
                sb = sb.Remove(b[i].Index, b[i].Length).Insert(b[i].Index, a[i].Value);
        }
        return sb;
    }

    private static double MiB(Match m)
    {
        double v = double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
        var unit = m.Groups.Count > 3 && m.Groups[3].Success ? m.Groups[3].Value : "MB";
        return unit switch { "KB" => v / 1024, "GB" => v * 1024, "TB" => v * 1024 * 1024, _ => v };
    }
}
