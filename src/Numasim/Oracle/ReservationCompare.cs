using System.Globalization;
using System.Text.RegularExpressions;
using Numasim.Kernel;

namespace Numasim.Oracle;

/// <summary>One kernel function's boot reservations on one node, as bytes and pieces, on both sides.</summary>
public sealed record ReservationGroup(string Caller, int Node, long ModelBytes, int ModelPieces, long KernelBytes, int KernelPieces)
{
    public bool Equal => ModelBytes == KernelBytes;
}

/// <summary>
/// The guest's memblock=debug log turned into reservations (caller, range), cut by its frees as the kernel cuts
/// them, and compared with the model's <see cref="Kernel.Mm.BootReservations"/> per (caller, node) in bytes.
/// Reservations made before memblock=debug is parsed (the kernel image, initrd, low memory, BIOS regions) are not
/// in the log and not compared.
/// </summary>
public static partial class ReservationCompare
{
    /// <summary>The model's callers whose reservations precede early parameter parsing.</summary>
    private static readonly HashSet<string> BeforeDebug = ["early_reserve_memory", "early_reserve_initrd", "reserve_bios_regions"];

    [GeneratedRegex(@"^memblock_(alloc[a-z_]*|phys_alloc_range|phys_alloc_try_nid): \d+ bytes .* ([A-Za-z0-9_.]+)\+0x[0-9a-f]+/0x[0-9a-f]+$")]
    private static partial Regex AllocLine();

    [GeneratedRegex(@"^memblock_reserve: \[0x([0-9a-f]+)-0x([0-9a-f]+)\] ([A-Za-z0-9_.]+)\+0x")]
    private static partial Regex ReserveLine();

    [GeneratedRegex(@"^memblock_(?:phys_)?free: \[0x([0-9a-f]+)-0x([0-9a-f]+)\]")]
    private static partial Regex FreeLine();

    [GeneratedRegex(@"^\s*node\s+(\d+): \[mem 0x([0-9a-f]+)-0x([0-9a-f]+)\]")]
    private static partial Regex NodeRange();

    [GeneratedRegex(@"^NODE_DATA\(\d+\) allocated")]
    private static partial Regex NodeDataLine();

    /// <summary>The caller's function name without the compiler's suffixes (.constprop.0, .isra.0, .part.0).</summary>
    public static string Normalize(string caller)
    {
        int dot = caller.IndexOf('.');
        return dot > 0 ? caller[..dot] : caller;
    }

    /// <summary>Reservations (caller, start, end) from boot log lines (timestamps stripped), frees applied.</summary>
    public static (List<(string Caller, ulong Start, ulong End)> Items, List<(ulong Start, ulong End, int Nid)> Nodes) Parse(IReadOnlyList<string> log)
    {
        var items = new List<(string Caller, ulong Start, ulong End)>();
        var nodes = new List<(ulong, ulong, int)>();
        string? pendingAlloc = null;
        for (int i = 0; i < log.Count; i++)
        {
            var l = log[i];
            if (AllocLine().Match(l) is { Success: true } a) { pendingAlloc = Normalize(a.Groups[2].Value); continue; }
            if (ReserveLine().Match(l) is { Success: true } r)
            {
                ulong s = Hex(r.Groups[1].Value), e = Hex(r.Groups[2].Value) + 1;
                string caller = Normalize(r.Groups[3].Value);
                if (caller == "memblock_alloc_range_nid")
                {
                    // memblock_phys_alloc_try_nid() does not log: NODE_DATA is named by the line after it
                    caller = pendingAlloc ?? (i + 1 < log.Count && NodeDataLine().IsMatch(log[i + 1]) ? "alloc_node_data" : "memblock_alloc_range_nid");
                }
                pendingAlloc = null;
                items.Add((caller, s, e));
                continue;
            }
            if (FreeLine().Match(l) is { Success: true } f) { Cut(items, Hex(f.Groups[1].Value), Hex(f.Groups[2].Value) + 1); continue; }
            if (NodeRange().Match(l) is { Success: true } n)
                nodes.Add((Hex(n.Groups[2].Value), Hex(n.Groups[3].Value) + 1, int.Parse(n.Groups[1].Value, CultureInfo.InvariantCulture)));
        }
        return (items, nodes);
    }

    private static void Cut(List<(string Caller, ulong Start, ulong End)> items, ulong s, ulong e)
    {
        for (int i = items.Count - 1; i >= 0; i--)
        {
            var it = items[i];
            if (it.End <= s || it.Start >= e) continue;
            items.RemoveAt(i);
            if (it.End > e) items.Insert(i, (it.Caller, e, it.End));
            if (it.Start < s) items.Insert(i, (it.Caller, it.Start, s));
        }
    }

    private static ulong Hex(string s) => ulong.Parse(s, NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    private static int NodeOf(List<(ulong Start, ulong End, int Nid)> nodes, ulong addr)
    {
        foreach (var (s, e, n) in nodes) if (addr >= s && addr < e) return n;
        return -1;
    }

    /// <summary>Both sides grouped by (caller, node); empty when the log has no memblock=debug lines.</summary>
    public static List<ReservationGroup> Compare(KernelContext model, IReadOnlyList<string> kernelLog)
    {
        var (kitems, nodes) = Parse(kernelLog);
        if (kitems.Count == 0) return [];
        var groups = new SortedDictionary<(string, int), (long Mb, int Mp, long Kb, int Kp)>();
        foreach (var r in model.BootReservations.Items)
        {
            if (BeforeDebug.Contains(r.Caller)) continue;
            var key = (r.Caller, model.Memblock.NidOf(r.Start));
            if (key.Item2 < 0) continue; // outside RAM (the first 1 MiB from page 0, firmware tables): no MemTotal effect
            var g = groups.GetValueOrDefault(key);
            groups[key] = (g.Mb + (long)r.Size, g.Mp + 1, g.Kb, g.Kp);
        }
        foreach (var (caller, s, e) in kitems)
        {
            var key = (caller, NodeOf(nodes, s));
            if (key.Item2 < 0) continue;
            var g = groups.GetValueOrDefault(key);
            groups[key] = (g.Mb, g.Mp, g.Kb + (long)(e - s), g.Kp + 1);
        }
        return groups.Select(kv => new ReservationGroup(kv.Key.Item1, kv.Key.Item2, kv.Value.Mb, kv.Value.Mp, kv.Value.Kb, kv.Value.Kp)).ToList();
    }
}
