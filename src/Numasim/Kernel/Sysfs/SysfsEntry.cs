namespace Numasim.Kernel.Sysfs;

/// <summary>A node of the virtual tree (a kernfs_node): a directory, an attribute or a symlink.</summary>
public abstract class SysfsEntry
{
    protected SysfsEntry(string name) => Name = name;

    public string Name { get; }
    public SysfsDirectory? Parent { get; internal set; }

    /// <summary>Absolute path from the tree's root, e.g. "/sys/devices/system/node/node0".</summary>
    public string Path => Parent is null ? "/" : (Parent.Parent is null ? "/" + Name : Parent.Path + "/" + Name);
}

/// <summary>A sysfs attribute: show() gives the whole file text (with its final newline, as the kernel's
/// show functions write it); store() takes what was written and returns 0 or an errno.</summary>
public sealed class SysfsAttribute : SysfsEntry
{
    public SysfsAttribute(string name, Func<string>? show, Func<string, Errno>? store = null, int mode = -1) : base(name)
    {
        Show = show;
        Store = store;
        Mode = mode >= 0 ? mode : (show is not null ? ModeReadAll : 0) | (store is not null ? ModeOwnerWrite : 0);
    }

    /// <summary>0444 and 0200: C# has no octal literals.</summary>
    public const int ModeReadAll = 0x124, ModeOwnerWrite = 0x80;

    public Func<string>? Show { get; }
    public Func<string, Errno>? Store { get; }
    /// <summary>File mode bits as ls shows them (0644, 0444, 0200).</summary>
    public int Mode { get; }
}

/// <summary>A symlink to another entry, kept by absolute target path (sysfs_create_link()).</summary>
public sealed class SysfsLink : SysfsEntry
{
    public SysfsLink(string name, string target) : base(name) => Target = target;

    public string Target { get; }

    /// <summary>The relative form sysfs shows through readlink, e.g. "../../cpu/cpu0".</summary>
    public string RelativeTarget
    {
        get
        {
            var from = (Parent?.Path ?? "/").Split('/', StringSplitOptions.RemoveEmptyEntries);
            var to = Target.Split('/', StringSplitOptions.RemoveEmptyEntries);
            int common = 0;
            while (common < from.Length && common < to.Length && from[common] == to[common]) common++;
            var parts = Enumerable.Repeat("..", from.Length - common).Concat(to.Skip(common));
            return string.Join('/', parts);
        }
    }
}

/// <summary>A directory; children are kept sorted by name (ordinal), so listings are deterministic.</summary>
public sealed class SysfsDirectory : SysfsEntry
{
    private readonly SortedDictionary<string, SysfsEntry> _children = new(StringComparer.Ordinal);

    public SysfsDirectory(string name) : base(name) { }

    public IEnumerable<SysfsEntry> Children => _children.Values;
    public int Count => _children.Count;

    public SysfsEntry? Child(string name) => _children.GetValueOrDefault(name);

    public T Add<T>(T entry) where T : SysfsEntry
    {
        if (!_children.TryAdd(entry.Name, entry))
            throw new InvalidOperationException($"sysfs: cannot create duplicate filename '{Path}/{entry.Name}'");
        entry.Parent = this;
        return entry;
    }

    public SysfsDirectory Dir(string name) => Add(new SysfsDirectory(name));

    /// <summary>The child directory, created when missing.</summary>
    public SysfsDirectory GetOrAddDir(string name) =>
        _children.TryGetValue(name, out var e) ? (SysfsDirectory)e : Dir(name);

    public SysfsAttribute Attr(string name, Func<string>? show, Func<string, Errno>? store = null, int mode = -1) =>
        Add(new SysfsAttribute(name, show, store, mode));

    /// <summary>A read-only attribute whose value never changes.</summary>
    public SysfsAttribute Const(string name, string text) => Add(new SysfsAttribute(name, () => text));

    public SysfsLink Link(string name, string target) => Add(new SysfsLink(name, target));

    public bool Remove(string name)
    {
        if (!_children.Remove(name, out var e)) return false;
        e.Parent = null;
        return true;
    }
}
