using System.Globalization;
using Numasim.Firmware;

namespace Numasim.Import;

/// <summary>What /proc/cpuinfo and the CPUs' other reports tell.</summary>
internal sealed class CpuInfoFacts
{
    /// <summary>"physical id" and "core id" per processor (x86 prints them).</summary>
    public Dictionary<int, (int? Socket, int? Core)> Ids = [];
    public Dictionary<int, uint> ApicIds = [];
    /// <summary>The x86 identity per group of CPUs; null when there is none to carry (no file, or another architecture).</summary>
    public List<CpuInfoSpec>? Groups;
    public List<KeyValuePair<string, string>> Vulnerabilities = [];
    public List<CpuFreqSpec> CpuFreq = [];
    public int? Boost;
}

/// <summary>/proc/cpuinfo identity (x86's show_cpuinfo() fields), cpu/vulnerabilities and cpuN/cpufreq.</summary>
internal static class CpuInfoImport
{
    public static CpuInfoFacts Read(DumpTree t, ImportLog log)
    {
        var f = new CpuInfoFacts();
        var text = t.TryRead("proc/cpuinfo");
        if (text is not null) CpuInfoStanzas.Read(text, f, log);
        else log.Note("no /proc/cpuinfo: the model's CPUs report QEMU's qemu64");
        const string vul = DumpTree.Sys + "/cpu/vulnerabilities";
        foreach (var name in t.Names(vul))
            if (t.TryRead($"{vul}/{name}") is { } v) f.Vulnerabilities.Add(new(name, v.TrimEnd('\n')));
        CpuFreq(t, f);
        return f;
    }

    /// <summary>cpuN/cpufreq's cpuinfo_max_freq, cpuinfo_min_freq and scaling_cur_freq (what lscpu reads), grouped.</summary>
    private static void CpuFreq(DumpTree t, CpuInfoFacts f)
    {
        var groups = new Dictionary<(long?, long?, long?), List<int>>();
        var order = new List<(long?, long?, long?)>();
        foreach (var (cpu, dir) in t.Numbered(DumpTree.Sys + "/cpu", "cpu"))
        {
            var fd = $"{dir}/cpufreq";
            if (!t.IsDir(fd)) continue;
            var key = (t.Long($"{fd}/cpuinfo_max_freq"), t.Long($"{fd}/cpuinfo_min_freq"), t.Long($"{fd}/scaling_cur_freq"));
            if (key == (null, null, null)) continue;
            if (!groups.TryGetValue(key, out var l)) { groups[key] = l = []; order.Add(key); }
            l.Add(cpu);
        }
        foreach (var k in order) f.CpuFreq.Add(new CpuFreqSpec(groups[k], k.Item1, k.Item2, k.Item3));
        f.Boost = (int?)t.Long(DumpTree.Sys + "/cpu/cpufreq/boost");
    }
}
