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
    private static readonly HashSet<string> Topology = ["processor", "physical id", "siblings", "core id", "cpu cores", "apicid", "initial apicid"];

    public static CpuInfoFacts Read(DumpTree t, ImportLog log)
    {
        var f = new CpuInfoFacts();
        var text = t.TryRead("proc/cpuinfo");
        if (text is not null) Stanzas(text, f, log);
        else log.Note("no /proc/cpuinfo: the model's CPUs report QEMU's qemu64");
        const string vul = DumpTree.Sys + "/cpu/vulnerabilities";
        foreach (var name in t.Names(vul))
            if (t.TryRead($"{vul}/{name}") is { } v) f.Vulnerabilities.Add(new(name, v.TrimEnd('\n')));
        CpuFreq(t, f);
        return f;
    }

    private static void Stanzas(string text, CpuInfoFacts f, ImportLog log)
    {
        var known = X86CpuinfoFields.All.Select(x => x.Key).ToHashSet();
        var groups = new Dictionary<string, (List<int> Cpus, List<KeyValuePair<string, string>> Fields)>();
        var order = new List<string>();
        var dropped = new SortedSet<string>();
        bool x86 = true;
        foreach (var stanza in text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            int? proc = null, socket = null, core = null;
            uint? apic = null;
            var fields = new List<KeyValuePair<string, string>>();
            foreach (var raw in stanza.Split('\n'))
            {
                int colon = raw.IndexOf(':', StringComparison.Ordinal);
                if (colon < 0) continue;
                var key = raw[..colon].Trim();
                var value = raw[(colon + 1)..];
                if (value.StartsWith(' ')) value = value[1..];
                bool num = int.TryParse(value.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var v);
                switch (key)
                {
                    case "processor": proc = num ? v : null; break;
                    case "physical id": socket = num ? v : null; break;
                    case "core id": core = num ? v : null; break;
                    case "apicid": apic = num ? (uint)v : null; break;
                }
                if (Topology.Contains(key)) continue;
                if (known.Contains(key)) fields.Add(new(key, value));
                else dropped.Add(key);
            }
            if (proc is not int p) continue;
            f.Ids[p] = (socket, core);
            if (apic is uint a) f.ApicIds[p] = a;
            if (!fields.Any(x => x.Key == "vendor_id") || !fields.Any(x => x.Key == "flags")) x86 = false;
            var key2 = string.Join('\n', fields.Select(x => x.Key + "\t" + x.Value));
            if (!groups.TryGetValue(key2, out var g)) { groups[key2] = g = ([], fields); order.Add(key2); }
            g.Cpus.Add(p);
        }
        if (!x86)
        {
            log.Note("/proc/cpuinfo is not x86's (no vendor_id and flags): its identity is not carried; the model's CPUs report QEMU's qemu64");
            return;
        }
        if (dropped.Count > 0) log.Note($"/proc/cpuinfo fields x86's show_cpuinfo() of the model does not print: {string.Join(", ", dropped)}");
        f.Groups = order.Select(k => new CpuInfoSpec(groups[k].Cpus, groups[k].Fields)).ToList();
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
