using System.Globalization;

namespace Numasim.Kernel.Sysfs;

/// <summary>
/// Entries of a directory computed from the machine's state when looked up or listed: what the kernel makes when
/// a device registers (device_add(), sysfs_create_link()), the model derives from the compact state, so that /sys
/// is a view and not part of any state (docs/checker.md). A source must show only what the state says.
/// </summary>
public interface ISysfsSource
{
    /// <summary>Adds the names the source shows now (any order).</summary>
    void Names(List<string> into);

    /// <summary>The entry of that name made for the parent, or null when the source does not show it now.</summary>
    SysfsEntry? Make(SysfsDirectory parent, string name);
}

/// <summary>Devices or links named PREFIX + number ("cpu2", "node1", "memory32") for each number the state lists.</summary>
public sealed class NumberedSource(string prefix, Action<List<long>> numbers, Func<long, bool> exists, Func<SysfsDirectory, string, long, SysfsEntry> make)
    : ISysfsSource
{
    private readonly List<long> _scratch = [];

    public void Names(List<string> into)
    {
        _scratch.Clear();
        numbers(_scratch);
        foreach (var n in _scratch) into.Add(prefix + n.ToString(CultureInfo.InvariantCulture));
    }

    public SysfsEntry? Make(SysfsDirectory parent, string name)
    {
        if (!name.StartsWith(prefix, StringComparison.Ordinal)) return null;
        var digits = name.AsSpan(prefix.Length);
        if (digits.Length == 0 || (digits.Length > 1 && digits[0] == '0')) return null;
        foreach (var c in digits) if (c is < '0' or > '9') return null;
        if (!long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out long n) || !exists(n)) return null;
        return make(parent, name, n);
    }
}

/// <summary>One entry shown while a condition of the state holds.</summary>
public sealed class ConditionalSource(string name, Func<bool> shown, Func<SysfsDirectory, string, SysfsEntry> make) : ISysfsSource
{
    public void Names(List<string> into)
    {
        if (shown()) into.Add(name);
    }

    public SysfsEntry? Make(SysfsDirectory parent, string n) => n == name && shown() ? make(parent, n) : null;
}
