namespace Numasim.Kernel.Sysfs;

/// <summary>The result of reading a file: its text, or the errno the read gave.</summary>
public readonly record struct ReadResult(Errno Error, string Text)
{
    public bool Ok => Error == Errno.None;
}

/// <summary>
/// The virtual file tree (fs/kernfs, fs/sysfs) rooted at "/": /sys and the /proc files the model shows.
/// Reads call show(), writes call store(); symlinks are followed on lookup.
/// </summary>
public sealed class SysfsTree
{
    private const int MaxLinkDepth = 40;

    public SysfsDirectory Root { get; } = new("");

    /// <summary>The directory at <paramref name="path"/>, created with its parents when missing.</summary>
    public SysfsDirectory MakeDirs(string path)
    {
        var dir = Root;
        foreach (var part in Split(path)) dir = dir.GetOrAddDir(part);
        return dir;
    }

    /// <summary>Looks an entry up; with <paramref name="followLastLink"/>, a final symlink is resolved too.</summary>
    public SysfsEntry? Lookup(string path, bool followLastLink = true) => Resolve(Split(path), followLastLink, 0);

    private SysfsEntry? Resolve(IReadOnlyList<string> parts, bool followLast, int depth)
    {
        if (depth > MaxLinkDepth) return null;
        SysfsEntry cur = Root;
        for (int i = 0; i < parts.Count; i++)
        {
            var part = parts[i];
            if (part == ".") continue;
            if (part == "..")
            {
                cur = cur.Parent ?? Root;
                continue;
            }
            if (cur is not SysfsDirectory d) return null;
            var next = d.Child(part);
            if (next is null) return null;
            if (next is SysfsLink link && (i < parts.Count - 1 || followLast))
            {
                next = Resolve(Split(link.Target), true, depth + 1);
                if (next is null) return null;
            }
            cur = next;
        }
        return cur;
    }

    public bool Exists(string path) => Lookup(path) is not null;

    /// <summary>Reads a file as cat does: ENOENT when missing, EISDIR for a directory, EIO without show().</summary>
    public ReadResult Read(string path)
    {
        return Lookup(path) switch
        {
            null => new ReadResult(Errno.ENOENT, ""),
            SysfsDirectory => new ReadResult(Errno.EISDIR, ""),
            SysfsAttribute { HasShow: false } => new ReadResult(Errno.EACCES, ""),
            SysfsAttribute a => new ReadResult(Errno.None, a.Show()),
            _ => new ReadResult(Errno.EIO, ""),
        };
    }

    /// <summary>Writes as "echo VALUE > PATH" does. A missing file in an existing sysfs directory gives EACCES
    /// (kernfs has no create()), a read-only attribute EACCES (kernfs_fop_open()).</summary>
    public Errno Write(string path, string value)
    {
        var entry = Lookup(path);
        if (entry is null)
        {
            var parts = Split(path);
            var parent = parts.Count > 0 ? Resolve(parts.Take(parts.Count - 1).ToList(), true, 0) : null;
            return parent is SysfsDirectory ? Errno.EACCES : Errno.ENOENT;
        }
        return entry switch
        {
            SysfsDirectory => Errno.EISDIR,
            SysfsAttribute { HasStore: false } => Errno.EACCES,
            SysfsAttribute a => a.Store(value),
            _ => Errno.EIO,
        };
    }

    /// <summary>Names in a directory, sorted as ls sorts them in the C locale.</summary>
    public IReadOnlyList<string>? List(string path) =>
        Lookup(path) is SysfsDirectory d ? d.Children.Select(c => c.Name).ToList() : null;

    public static IReadOnlyList<string> Split(string path) =>
        path.Split('/', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Every entry below <paramref name="dir"/>, depth first in name order (links not followed).</summary>
    public static IEnumerable<SysfsEntry> Walk(SysfsDirectory dir)
    {
        foreach (var c in dir.Children)
        {
            yield return c;
            if (c is SysfsDirectory sub)
                foreach (var e in Walk(sub)) yield return e;
        }
    }
}
