using System.Globalization;
using Numasim.Firmware;

namespace Numasim.Import;

/// <summary>
/// /proc/cpuinfo's stanzas read in place: a machine of 8,192 CPUs prints 6.5 MB of nearly identical stanzas, and a
/// string per stanza, line, key and value was 130 MB of garbage. A stanza's identity fields are compared with the groups
/// found so far as spans; strings are made for a new group only, and for a field name not seen before.
/// </summary>
internal static class CpuInfoStanzas
{
    private static readonly HashSet<string> Topology = ["processor", "physical id", "siblings", "core id", "cpu cores", "apicid", "initial apicid"];

    private static readonly HashSet<string> Known = X86CpuinfoFields.All.Select(x => x.Key).ToHashSet();

    /// <summary>One group: its CPUs and the fields they all show.</summary>
    private sealed record Group(List<int> Cpus, List<KeyValuePair<string, string>> Fields);

    /// <summary>The stanzas of <paramref name="text"/> (split at each "\n\n", left to right), each line "key: value";
    /// the topology lines into <paramref name="f"/>'s ids, the identity fields grouped by equal sequence.</summary>
    public static void Read(string text, CpuInfoFacts f, ImportLog log)
    {
        var known = Known.GetAlternateLookup<ReadOnlySpan<char>>();
        var groups = new List<Group>();
        var byHash = new Dictionary<int, List<int>>();
        var dropped = new SortedSet<string>();
        var droppedSeen = new HashSet<string>(StringComparer.Ordinal);
        var fields = new List<(string Key, Range Value)>();
        bool x86 = true;
        var all = text.AsSpan();
        for (int pos = 0; pos < all.Length;)
        {
            int sep = all[pos..].IndexOf("\n\n");
            int end = sep < 0 ? all.Length : pos + sep;
            int? proc = null, socket = null, core = null;
            uint? apic = null;
            fields.Clear();
            for (int line = pos; line <= end;)
            {
                int nl = all[line..end].IndexOf('\n');
                int lineEnd = nl < 0 ? end : line + nl;
                var raw = all[line..lineEnd];
                int colon = raw.IndexOf(':');
                if (colon >= 0)
                {
                    var key = raw[..colon].Trim();
                    int valueStart = line + colon + 1;
                    if (valueStart < lineEnd && all[valueStart] == ' ') valueStart++;
                    var value = all[valueStart..lineEnd];
                    bool num = int.TryParse(value.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var v);
                    switch (key)
                    {
                        case "processor": proc = num ? v : null; break;
                        case "physical id": socket = num ? v : null; break;
                        case "core id": core = num ? v : null; break;
                        case "apicid": apic = num ? (uint)v : null; break;
                    }
                    if (!IsTopology(key))
                    {
                        if (known.TryGetValue(key, out var k)) fields.Add((k, valueStart..lineEnd));
                        else if (!droppedSeen.GetAlternateLookup<ReadOnlySpan<char>>().Contains(key) && key.ToString() is var name && droppedSeen.Add(name)) dropped.Add(name);
                    }
                }
                line = lineEnd + 1;
            }
            pos = sep < 0 ? all.Length : end + 2;
            if (proc is not int p) continue;
            f.Ids[p] = (socket, core);
            if (apic is uint a) f.ApicIds[p] = a;
            if (!fields.Exists(x => x.Key == "vendor_id") || !fields.Exists(x => x.Key == "flags")) x86 = false;
            GroupOf(all, fields, groups, byHash).Cpus.Add(p);
        }
        if (!x86)
        {
            log.Note("/proc/cpuinfo is not x86's (no vendor_id and flags): its identity is not carried; the model's CPUs report QEMU's qemu64");
            return;
        }
        if (dropped.Count > 0) log.Note($"/proc/cpuinfo fields x86's show_cpuinfo() of the model does not print: {string.Join(", ", dropped)}");
        f.Groups = groups.Select(g => new CpuInfoSpec(g.Cpus, g.Fields)).ToList();
    }

    private static bool IsTopology(ReadOnlySpan<char> key) => Topology.GetAlternateLookup<ReadOnlySpan<char>>().Contains(key);

    /// <summary>The group whose fields are the stanza's (the known keys hold no tab or newline and a value no newline,
    /// so equal sequences are what equal "key\tvalue" lines joined by newlines were); a new one, in order, if none.</summary>
    private static Group GroupOf(ReadOnlySpan<char> all, List<(string Key, Range Value)> fields, List<Group> groups, Dictionary<int, List<int>> byHash)
    {
        var hash = new HashCode();
        foreach (var (key, value) in fields)
        {
            hash.Add(key);
            hash.Add(string.GetHashCode(all[value]));
        }
        int h = hash.ToHashCode();
        if (!byHash.TryGetValue(h, out var candidates)) byHash[h] = candidates = [];
        foreach (var gi in candidates)
            if (Same(all, fields, groups[gi].Fields)) return groups[gi];
        var own = new List<KeyValuePair<string, string>>(fields.Count);
        foreach (var (key, value) in fields) own.Add(new(key, all[value].ToString()));
        var g = new Group([], own);
        candidates.Add(groups.Count);
        groups.Add(g);
        return g;
    }

    private static bool Same(ReadOnlySpan<char> all, List<(string Key, Range Value)> fields, List<KeyValuePair<string, string>> group)
    {
        if (fields.Count != group.Count) return false;
        for (int i = 0; i < fields.Count; i++)
            if ((object)fields[i].Key != group[i].Key || !all[fields[i].Value].SequenceEqual(group[i].Value)) return false;
        return true;
    }
}
