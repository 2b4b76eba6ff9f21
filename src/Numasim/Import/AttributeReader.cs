using System.Globalization;

namespace Numasim.Import;

/// <summary>
/// The attribute formats sysfs prints, read from a tree (<see cref="DumpTree"/>, names are paths) or from one of its
/// folders (<see cref="DumpFolder"/>, names are entries): integers, cpulists ("%*pbl") and masks ("%*pb"). A malformed
/// file is an <see cref="ImportException"/> naming its path inside the tree.
/// </summary>
internal abstract class AttributeReader
{
    /// <summary>The file's text, or null when it is missing.</summary>
    public abstract string? TryRead(string name);

    /// <summary>Present and not a folder: a FIFO or device counts, so that reading it refuses it by name.</summary>
    public abstract bool Exists(string name);

    /// <summary>The path of <paramref name="name"/> inside the tree, for messages.</summary>
    protected abstract string PathOf(string name);

    /// <summary>Masks already parsed, by the text object read: a big machine's masks repeat (a package's CPUs show one
    /// core_siblings), and the reader hands out one string for a file linked into many places (an export's).</summary>
    protected abstract Dictionary<string, SortedSet<int>> MaskCache { get; }

    /// <summary>A new <see cref="MaskCache"/>.</summary>
    protected static Dictionary<string, SortedSet<int>> NewMaskCache() => new(ReferenceEqualityComparer.Instance);

    public string Read(string name) => TryRead(name) ?? throw DumpTree.Missing(PathOf(name));

    /// <summary>A cpulist or nodelist file.</summary>
    public SortedSet<int> List(string name) => SysfsLists.ParseList(Read(name), PathOf(name));

    /// <summary>A mask file; a set of the caller's own.</summary>
    public SortedSet<int> Mask(string name) => Mask(Read(name), name);

    /// <summary>Masks kept in <see cref="MaskCache"/> at most (a tree read path by path gives each read its own string).</summary>
    private const int MaxCachedMasks = 1 << 16;

    private SortedSet<int> Mask(string text, string name)
    {
        var cache = MaskCache;
        SortedSet<int>? set;
        lock (cache)
            if (cache.TryGetValue(text, out set)) return new SortedSet<int>(set);
        set = SysfsLists.ParseMask(text, PathOf(name));
        lock (cache)
            if (cache.Count < MaxCachedMasks) cache.TryAdd(text, set);
        return new SortedSet<int>(set);
    }

    /// <summary>A CPU set from NAME (the mask, which real tools read) or else NAME_list; null when neither exists.</summary>
    public SortedSet<int>? MaskOrList(string name) =>
        Exists(name) && Read(name) is var text && text.AsSpan().Trim().Length > 0 ? Mask(text, name)
        : Exists(name + "_list") ? List(name + "_list") : null;

    /// <summary>A decimal integer file; <paramref name="fallback"/> when missing.</summary>
    public int Int(string name, int fallback)
    {
        var text = TryRead(name);
        if (text is null) return fallback;
        var s = text.AsSpan().Trim();
        return int.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v)
            ? v : throw new ImportException($"{PathOf(name)}: '{s}' is not an integer");
    }

    /// <summary>A decimal integer file, or null when missing or empty.</summary>
    public long? Long(string name)
    {
        var s = TryRead(name).AsSpan().Trim();
        if (s.IsEmpty) return null;
        return long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v)
            ? v : throw new ImportException($"{PathOf(name)}: '{s}' is not an integer");
    }
}
