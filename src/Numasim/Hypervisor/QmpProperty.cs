using System.Globalization;

namespace Numasim.Hypervisor;

/// <summary>
/// Integer properties of QMP device_add as QEMU 7.2 takes them. device_add accepts a JSON number or a string
/// (qdev properties go through a keyval-style visitor that parses strings with qemu_strtoi64()/qemu_strtou64(),
/// base 0, so "0x1" is 1); anything else is "Parameter 'P' expects integer", and a number outside the property's
/// type "Parameter 'P' expects uint32_t" / "int32_t". Checked against qemu-system-x86_64 7.2.22 over QMP.
/// </summary>
public static class QmpProperty
{
    /// <summary>A uint32 property (pc-dimm's node, slot): the value, or QEMU's error.</summary>
    public static bool TryUInt32(string name, string text, out uint value, out string? error)
    {
        value = 0;
        if (!TryInteger(text, out var v)) { error = $"Parameter '{name}' expects integer"; return false; }
        if (v < 0 || v > uint.MaxValue) { error = $"Parameter '{name}' expects uint32_t"; return false; }
        value = (uint)v;
        error = null;
        return true;
    }

    /// <summary>An int32 property (a CPU's socket-id, core-id...): the value, or QEMU's error.</summary>
    public static bool TryInt32(string name, string text, out int value, out string? error)
    {
        value = 0;
        if (!TryInteger(text, out var v)) { error = $"Parameter '{name}' expects integer"; return false; }
        if (v < int.MinValue || v > int.MaxValue) { error = $"Parameter '{name}' expects int32_t"; return false; }
        value = (int)v;
        error = null;
        return true;
    }

    /// <summary>A uint64 device property (pc-dimm's addr): the value, or QEMU's error.</summary>
    public static bool TryUInt64(string name, string text, out ulong value, out string? error)
    {
        error = null;
        // qemu_strtou64() takes "-1" as UINT64_MAX, as strtoull does; above INT64_MAX only decimal is modelled.
        if (TryInteger(text, out var v)) { value = unchecked((ulong)v); return true; }
        if (ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value)) return true;
        error = $"Parameter '{name}' expects integer";
        return false;
    }

    /// <summary>object-add's size (QAPI uint64, strictly typed): a JSON number only. The oracle sends a value that
    /// parses as a decimal integer as a number, anything else as a string, which QEMU refuses.</summary>
    public static bool TryUInt64Number(string name, string text, out ulong value, out string? error)
    {
        error = null;
        if (ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value)) return true;
        error = $"Parameter '{name}' expects uint64";
        return false;
    }

    /// <summary>The properties each modelled device and backend has in QEMU 7.2 (device_add refuses any other
    /// with "Property 'DRIVER.NAME' not found", object-add and the *-del commands with "Parameter 'NAME' is
    /// unexpected"). memory-backend-ram's host-side properties are taken and do not change the guest.</summary>
    public static readonly IReadOnlySet<string> DimmProperties = new HashSet<string> { "driver", "id", "memdev", "node", "slot", "addr" },
        CpuProperties = new HashSet<string> { "driver", "id", "socket-id", "die-id", "core-id", "thread-id", "node-id" },
        BackendProperties = new HashSet<string> { "qom-type", "id", "size", "merge", "dump", "prealloc", "share", "reserve",
            "host-nodes", "policy", "prealloc-threads", "prealloc-context", "x-use-canonical-path-for-ramblock-id" },
        DelProperties = new HashSet<string> { "id" };

    /// <summary>The first argument a command does not take, as QEMU words the refusal; null when all are known.</summary>
    public static string? Unknown(IReadOnlyDictionary<string, string> args, IReadOnlySet<string> known, string? driver)
    {
        // The first unknown one in ordinal order (what QEMU names); sorted only when there is one.
        string? first = null;
        if (args is Dictionary<string, string> d) // the usual case: its key enumerator is a struct
        {
            foreach (var k in d.Keys)
                if (!known.Contains(k) && (first is null || string.CompareOrdinal(k, first) < 0)) first = k;
        }
        else
            foreach (var k in args.Keys)
                if (!known.Contains(k) && (first is null || string.CompareOrdinal(k, first) < 0)) first = k;
        if (first is null) return null;
        return driver is null ? $"Parameter '{first}' is unexpected" : $"Property '{driver}.{first}' not found";
    }

    /// <summary>Models qemu_strtoi64() with base 0 over the whole string: an optional sign, then decimal, 0x hex or
    /// leading-0 octal digits; surrounding garbage or an empty string is refused. Out of the int64 range: refused.</summary>
    private static bool TryInteger(string text, out long value)
    {
        value = 0;
        var t = text.AsSpan();
        int i = 0;
        while (i < t.Length && char.IsWhiteSpace(t[i])) i++; // strtoll skips leading white space
        bool neg = false;
        if (i < t.Length && (t[i] == '+' || t[i] == '-')) { neg = t[i] == '-'; i++; }
        int radix = 10;
        if (i + 1 < t.Length && t[i] == '0' && (t[i + 1] == 'x' || t[i + 1] == 'X')) { radix = 16; i += 2; }
        else if (i < t.Length && t[i] == '0' && i + 1 < t.Length) { radix = 8; i++; }
        if (i >= t.Length) return radix == 8 ? Done(0, neg, out value) : false;
        ulong acc = 0;
        for (; i < t.Length; i++)
        {
            int d = HexDigit(t[i]);
            if (d < 0 || d >= radix) return false;
            if (acc > (ulong.MaxValue - (ulong)d) / (ulong)radix) return false;
            acc = acc * (ulong)radix + (ulong)d;
        }
        if (acc > (neg ? 1UL << 63 : long.MaxValue)) return false;
        return Done(acc, neg, out value);
    }

    private static bool Done(ulong acc, bool neg, out long value)
    {
        value = neg ? (long)(0 - acc) : (long)acc;
        return true;
    }

    private static int HexDigit(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => -1,
    };
}
