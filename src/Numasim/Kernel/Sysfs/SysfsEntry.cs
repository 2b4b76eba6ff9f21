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
/// show functions write it); store() takes what was written and returns 0 or an errno. Either the file's own
/// functions, or a file of an <see cref="AttributeGroup"/> bound to its device.</summary>
public sealed class SysfsAttribute : SysfsEntry
{
    private readonly Func<string>? _show;
    private readonly Func<string, Errno>? _store;
    private readonly DeviceAttribute? _attr;
    private readonly object? _device;

    public SysfsAttribute(string name, Func<string>? show, Func<string, Errno>? store = null, int mode = -1) : base(name)
    {
        _show = show;
        _store = store;
        Mode = mode >= 0 ? mode : (show is not null ? ModeReadAll : 0) | (store is not null ? ModeOwnerWrite : 0);
    }

    /// <summary>A group's file as it shows for one device.</summary>
    internal SysfsAttribute(DeviceAttribute attr, object? device) : base(attr.Name)
    {
        _attr = attr;
        _device = device;
        Mode = attr.Mode;
    }

    /// <summary>0444 and 0200: C# has no octal literals.</summary>
    public const int ModeReadAll = 0x124, ModeOwnerWrite = 0x80;

    /// <summary>File mode bits as ls shows them (0644, 0444, 0200).</summary>
    public int Mode { get; }

    public bool HasShow => _show is not null || _attr?.Show is not null;
    public bool HasStore => _store is not null || _attr?.Store is not null;

    /// <summary>The file's show(); only when <see cref="HasShow"/>.</summary>
    public string Show() => _show is not null ? _show() : _attr!.Show!(_device);

    /// <summary>The file's store(); only when <see cref="HasStore"/>.</summary>
    public Errno Store(string value) => _store is not null ? _store(value) : _attr!.Store!(_device, value);
}

/// <summary>A symlink to another entry, kept by absolute target path (sysfs_create_link()).</summary>
public sealed class SysfsLink : SysfsEntry
{
    public SysfsLink(string name, string target) : base(name) => Target = target;

    public string Target { get; }

    /// <summary>The relative form sysfs shows through readlink, e.g. "../../cpu/cpu0". Models kernfs_get_target_path():
    /// it climbs from the link's directory until it reaches an ancestor of the target's parent, so a link to an
    /// ancestor goes one level above it and down again ("../../../node0", not "../..").</summary>
    public string RelativeTarget
    {
        get
        {
            var from = (Parent?.Path ?? "/").Split('/', StringSplitOptions.RemoveEmptyEntries);
            var to = Target.Split('/', StringSplitOptions.RemoveEmptyEntries);
            int common = 0;
            while (common < from.Length && common < to.Length - 1 && from[common] == to[common]) common++;
            var parts = Enumerable.Repeat("..", from.Length - common).Concat(to.Skip(common));
            return string.Join('/', parts);
        }
    }
}

/// <summary>A directory; children are kept sorted by name (ordinal), so listings are deterministic.</summary>
/// <remarks>
/// A big machine has some 100,000 directories, most with a handful of entries, and a few with tens of thousands
/// (memory/, cpu/, bus/*/devices). Children live in one array: kept sorted (binary search, insertion by shifting)
/// while small; past <see cref="IndexThreshold"/> entries a name index answers lookups and the array is appended
/// to and sorted again only when it is listed. A device's files come from its attribute groups, shared by every
/// device of the kind: the directory keeps the group and the device, and makes a file's entry when it is looked
/// up or listed.
/// </remarks>
public sealed class SysfsDirectory : SysfsEntry
{
    private const int IndexThreshold = 32;
    private static readonly IComparer<SysfsEntry> ByName = Comparer<SysfsEntry>.Create((a, b) => string.CompareOrdinal(a.Name, b.Name));

    private SysfsEntry[] _items = [];
    private int _count;
    private Dictionary<string, SysfsEntry>? _index;
    private bool _unsorted;
    private int _version;
    private (AttributeGroup Group, object? Device)[] _groups = [];
    private ISysfsSource[] _sources = [];

    public SysfsDirectory(string name) : base(name) { }

    /// <summary>A directory made by a source for this parent (not added to it: it is a view of the state).</summary>
    internal SysfsDirectory(string name, SysfsDirectory parent) : base(name) => Parent = parent;

    /// <summary>Entries the directory shows from the machine's state (devices, links), beside its own.</summary>
    public void AddSource(ISysfsSource source)
    {
        _sources = [.. _sources, source];
        _version++;
    }

    public IEnumerable<SysfsEntry> Children => Enumerate();

    public int Count
    {
        get
        {
            int n = _count;
            foreach (var (g, _) in _groups) n += g.Attributes.Count;
            if (_sources.Length > 0) n += SourceNames().Count;
            return n;
        }
    }

    private List<string> SourceNames()
    {
        var names = new List<string>();
        foreach (var s in _sources) s.Names(names);
        return names;
    }

    private IEnumerable<SysfsEntry> Enumerate()
    {
        EnsureSorted();
        int version = _version;
        if (_groups.Length == 0 && _sources.Length == 0)
        {
            for (int i = 0; i < _count; i++)
            {
                yield return _items[i];
                if (version != _version) throw Modified();
            }
            yield break;
        }
        // Group files are shown where their names sort among the directory's own entries.
        var all = new List<SysfsEntry>(Count);
        for (int i = 0; i < _count; i++) all.Add(_items[i]);
        foreach (var (g, device) in _groups)
            foreach (var a in g.Attributes) all.Add(GroupEntry(a, device));
        foreach (var name in SourceNames())
            if (SourceEntry(name) is { } e) all.Add(e);
        all.Sort(ByName);
        foreach (var e in all)
        {
            yield return e;
            if (version != _version) throw Modified();
        }
    }

    private static InvalidOperationException Modified() => new("Collection was modified; enumeration operation may not execute.");

    public SysfsEntry? Child(string name) => OwnEntry(name) ?? GroupFile(name) ?? SourceEntry(name);

    private SysfsEntry? SourceEntry(string name)
    {
        foreach (var s in _sources)
            if (s.Make(this, name) is { } e)
            {
                e.Parent = this;
                return e;
            }
        return null;
    }

    /// <summary>An entry added to this directory (not a group file).</summary>
    private SysfsEntry? OwnEntry(string name)
    {
        if (_index is not null) return _index.GetValueOrDefault(name);
        int i = Find(name);
        return i >= 0 ? _items[i] : null;
    }

    /// <summary>Models sysfs_create_group() for the device this directory shows: the group's files appear here.</summary>
    public void AddGroup(AttributeGroup group, object? device = null)
    {
        foreach (var a in group.Attributes)
            if (HasGroupFile(a.Name) || OwnEntry(a.Name) is not null) throw new InvalidOperationException($"sysfs: cannot create duplicate filename '{Path}/{a.Name}'");
        _groups = [.. _groups, (group, device)];
        _version++;
    }

    private SysfsAttribute? GroupFile(string name)
    {
        foreach (var (g, device) in _groups)
            if (g.Find(name) is { } a) return GroupEntry(a, device);
        return null;
    }

    /// <summary>Whether a group of this directory has a file of that name (no entry is made).</summary>
    private bool HasGroupFile(string name)
    {
        foreach (var (g, _) in _groups)
            if (g.Find(name) is not null) return true;
        return false;
    }

    /// <summary>A group file as an entry of this directory, bound to its device (made when looked up).</summary>
    private SysfsAttribute GroupEntry(DeviceAttribute a, object? device) => new(a, device) { Parent = this };

    public T Add<T>(T entry) where T : SysfsEntry
    {
        if (HasGroupFile(entry.Name)) throw Duplicate(entry);
        if (_index is not null)
        {
            if (!_index.TryAdd(entry.Name, entry)) throw Duplicate(entry);
            if (_count > 0 && !_unsorted && string.CompareOrdinal(_items[_count - 1].Name, entry.Name) > 0) _unsorted = true;
            Grow();
            _items[_count++] = entry;
        }
        else
        {
            int i = Find(entry.Name);
            if (i >= 0) throw Duplicate(entry);
            i = ~i;
            Grow();
            Array.Copy(_items, i, _items, i + 1, _count - i);
            _items[i] = entry;
            _count++;
            if (_count > IndexThreshold)
            {
                _index = new Dictionary<string, SysfsEntry>(_count * 2, StringComparer.Ordinal);
                for (int k = 0; k < _count; k++) _index.Add(_items[k].Name, _items[k]);
            }
        }
        _version++;
        entry.Parent = this;
        return entry;
    }

    private InvalidOperationException Duplicate(SysfsEntry entry) =>
        new($"sysfs: cannot create duplicate filename '{Path}/{entry.Name}'");

    private void Grow()
    {
        if (_count < _items.Length) return;
        Array.Resize(ref _items, Math.Max(4, _items.Length * 2));
    }

    private void EnsureSorted()
    {
        if (!_unsorted) return;
        Array.Sort(_items, 0, _count, ByName);
        _unsorted = false;
    }

    /// <summary>The index of the entry named <paramref name="name"/>, or the complement of where it would go.</summary>
    private int Find(string name)
    {
        EnsureSorted();
        int lo = 0, hi = _count - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            int c = string.CompareOrdinal(_items[mid].Name, name);
            if (c == 0) return mid;
            if (c < 0) lo = mid + 1;
            else hi = mid - 1;
        }
        return ~lo;
    }

    public SysfsDirectory Dir(string name) => Add(new SysfsDirectory(name));

    /// <summary>The child directory, created when missing.</summary>
    public SysfsDirectory GetOrAddDir(string name) =>
        Child(name) is { } e ? (SysfsDirectory)e : Dir(name);

    public SysfsAttribute Attr(string name, Func<string>? show, Func<string, Errno>? store = null, int mode = -1) =>
        Add(new SysfsAttribute(name, show, store, mode));

    /// <summary>A read-only attribute whose value never changes.</summary>
    public SysfsAttribute Const(string name, string text) => Add(new SysfsAttribute(name, () => text));

    public SysfsLink Link(string name, string target) => Add(new SysfsLink(name, target));

    public bool Remove(string name)
    {
        if (_index is not null && !_index.ContainsKey(name)) return false;
        int i = Find(name);
        if (i < 0) return false;
        var e = _items[i];
        _index?.Remove(name);
        Array.Copy(_items, i + 1, _items, i, _count - i - 1);
        _items[--_count] = null!;
        _version++;
        e.Parent = null;
        return true;
    }
}
