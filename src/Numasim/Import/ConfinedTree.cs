namespace Numasim.Import;

/// <summary>
/// Read-only access to a tree that never leaves it: every path is resolved component by component, symbolic
/// links included (sysfs is full of them), and a link whose target lies outside the root is refused, as is
/// anything that is not a directory or a regular file (a FIFO would block, a device never ends) and any file
/// larger than <see cref="MaxFileBytes"/>. Errors name the path inside the tree and never quote what lies
/// outside it. Works on a live /sys as on a dump: sysfs files are regular files whatever their size says.
/// </summary>
public sealed class ConfinedTree
{
    /// <summary>The largest file read (a sysfs attribute is at most a page; /proc/cpuinfo of a big machine a few MiB).</summary>
    public const int MaxFileBytes = 16 << 20;

    /// <summary>Links followed in one lookup before giving up, as the kernel's ELOOP limit (40).</summary>
    private const int MaxLinks = 40;

    private readonly string _root;

    /// <param name="root">The tree's top; a link to it is followed once, as the user named it.</param>
    public ConfinedTree(string root)
    {
        var full = Path.GetFullPath(root);
        _root = (Directory.ResolveLinkTarget(full, returnFinalTarget: true)?.FullName ?? full).TrimEnd('/');
        if (_root.Length == 0) _root = "/";
    }

    public string Root => _root;

    /// <summary>Whether <see cref="ReadFolders"/> reads through io_uring where the kernel offers it (else one by one).</summary>
    internal bool Batched { get; init; } = true;

    /// <summary>Directories already resolved, by the path asked for: a tree is read many files per folder (a machine of
    /// 8,192 CPUs has half a million sysfs files), so each folder's links are followed once, not once per file.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _dirs = new(StringComparer.Ordinal);

    /// <summary><see cref="_dirs"/> looked up by a part of a path, without a string for it.</summary>
    private System.Collections.Concurrent.ConcurrentDictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> DirsBySpan =>
        _dirs.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>Folders listed with their sub-folders to be remembered (<see cref="ReadFolder"/>), by the path asked for:
    /// their real path and listing. A sub-folder the listing shows as a real folder resolves from it when first asked,
    /// with no lstat and no string made for the many never asked (memory/ lists 65,536 memoryN).</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (string Dir, FolderListing Listing)> _listed = new(StringComparer.Ordinal);

    private System.Collections.Concurrent.ConcurrentDictionary<string, (string Dir, FolderListing Listing)>.AlternateLookup<ReadOnlySpan<char>> ListedBySpan =>
        _listed.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>The real path of <paramref name="rel"/> inside the tree (links resolved), or an error when a link
    /// leaves it. A missing component ends the walk: the path is returned as if it existed.</summary>
    public string Resolve(string rel) => Stat(rel).Full;

    /// <summary><see cref="Resolve"/> with what the final path is (lstat of the resolved path).</summary>
    private (string Full, FileKind Kind, ulong Size) Stat(string rel)
    {
        rel = rel.Trim('/');
        if (rel.Length == 0) return (_root, FileKind.Directory, 0);
        int slash = rel.LastIndexOf('/');
        var name = rel[(slash + 1)..];
        if (name is "." or ".." || rel.Contains("/./", StringComparison.Ordinal) || rel.Contains("/../", StringComparison.Ordinal) || rel.StartsWith("../", StringComparison.Ordinal))
            return Walk(rel);
        var dir = slash < 0 ? _root : ResolveDir(rel.AsSpan(0, slash));
        if (dir is null) return Walk(rel);
        var here = dir == "/" ? "/" + name : dir + "/" + name;
        var (kind, size) = FileStatus.Lstat(here);
        return kind == FileKind.SymbolicLink ? Walk(rel) : (here, kind, size);
    }

    /// <summary>The real path of a folder, cached; null when it is missing or not a folder (the caller walks).</summary>
    private string? ResolveDir(ReadOnlySpan<char> rel)
    {
        if (KnownDir(rel) is { } d) return d;
        var key = rel.ToString();
        var (full, kind, _) = Stat(key);
        if (kind != FileKind.Directory) return null;
        _dirs[key] = full;
        return full;
    }

    /// <summary>The real path of a folder already resolved, or shown as a real folder by its parent's listing; null
    /// when it must be looked up.</summary>
    private string? KnownDir(ReadOnlySpan<char> rel)
    {
        if (DirsBySpan.TryGetValue(rel, out var d)) return d;
        int slash = rel.LastIndexOf('/');
        var name = rel[(slash + 1)..];
        if (name.IsEmpty || name is "." or ".." || !ListedBySpan.TryGetValue(slash < 0 ? "" : rel[..slash], out var parent)
            || !parent.Listing.TryGetKind(name, out var kind) || kind != FileKind.Directory) return null;
        var full = parent.Dir == "/" ? "/" + name.ToString() : string.Concat(parent.Dir, "/", name);
        _dirs.TryAdd(rel.ToString(), full);
        return full;
    }

    /// <summary>Resolves component by component, following every link.</summary>
    private (string Full, FileKind Kind, ulong Size) Walk(string rel)
    {
        var parts = new List<string>();
        var pending = new Stack<string>(Split(rel).Reverse());
        int links = 0;
        while (pending.Count > 0)
        {
            var c = pending.Pop();
            if (c == ".") continue;
            if (c == "..")
            {
                if (parts.Count == 0) throw Outside(rel);
                parts.RemoveAt(parts.Count - 1);
                continue;
            }
            parts.Add(c);
            var here = Join(parts);
            var (kind, _) = FileStatus.Lstat(here);
            if (kind == FileKind.Missing)
            {
                // the rest cannot exist either; keep the names so the caller reports the path as missing
                foreach (var rest in pending) parts.Add(rest);
                return (Join(parts), FileKind.Missing, 0);
            }
            if (kind != FileKind.SymbolicLink) continue;
            if (++links > MaxLinks) throw new ImportException($"{rel}: too many levels of symbolic links");
            var target = new FileInfo(here).LinkTarget ?? "";
            parts.RemoveAt(parts.Count - 1);
            if (target.StartsWith('/'))
            {
                // an absolute link is inside only when it names a place under the root
                var abs = Path.GetFullPath(target);
                if (abs != _root && !abs.StartsWith(_root == "/" ? "/" : _root + "/", StringComparison.Ordinal)) throw Outside(rel);
                parts.Clear();
                target = abs.Length > _root.Length ? abs[(_root.Length + 1)..] : "";
            }
            foreach (var t in Split(target).Reverse()) pending.Push(t);
        }
        var full = Join(parts);
        var (k, size) = FileStatus.Lstat(full);
        return (full, k, size);
    }

    /// <summary>What <paramref name="rel"/> is once its links are followed (a link leaving the tree is an error).</summary>
    public FileKind Kind(string rel) => Stat(rel).Kind;

    public bool IsDirectory(string rel) => Kind(rel) == FileKind.Directory;
    public bool IsFile(string rel) => Kind(rel) == FileKind.Regular;

    [ThreadStatic] private static byte[]? t_buffer;

    /// <summary>The text of a regular file inside the tree; null when it is missing.</summary>
    public string? ReadText(string rel)
    {
        var (full, kind, size) = Stat(rel);
        if (kind == FileKind.Missing) return null;
        if (kind != FileKind.Regular) throw new ImportException($"{rel}: {FileStatus.Describe(kind)}, not a file: refused");
        if (size > MaxFileBytes) throw TooLarge(rel);
        try
        {
            var buf = t_buffer ??= new byte[64 << 10];
            int n = FileStatus.ReadRegular(full, size, ref buf, MaxFileBytes);
            t_buffer = buf;
            if (n == -1) return null;
            if (n == -2) n = ReadPortable(full, ref buf);
            if (n > MaxFileBytes) throw TooLarge(rel);
            return System.Text.Encoding.UTF8.GetString(buf, 0, n);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException) { return null; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ImportException($"{rel}: cannot read ({e.GetType().Name.Replace("Exception", "", StringComparison.Ordinal)})");
        }
    }

    /// <summary>The folder <paramref name="relDir"/> listed, with the texts of its regular files among
    /// <paramref name="names"/> (<see cref="DirectoryReader"/>); entries the listing does not settle (links, FIFOs,
    /// devices, files too large) are left for <see cref="ReadText"/> to follow or refuse. <see cref="FolderListing.NoFolder"/>
    /// when the path is missing or not a folder; null where the reader is not available or the folder cannot be listed.
    /// With <paramref name="subfolders"/>, its sub-folders are remembered as resolved, so that reading in them needs no
    /// lstat of the folder itself.</summary>
    /// <remarks>With <paramref name="parents"/>, a folder whose parent is resolved is opened relative to the parent's
    /// descriptor, without a lookup of the whole path or an lstat of its own (a real folder opened with O_NOFOLLOW is
    /// what that lstat would have found).</remarks>
    internal FolderListing? ReadFolder(string relDir, IReadOnlyList<string> names, bool subfolders, ParentFolders? parents = null)
    {
        if (!DirectoryReader.Available) return null;
        var rel = relDir.Trim('/');
        FolderListing? listing = null;
        string? dir = null;
        if (InResolvedParent(rel, parents) is var (pfd, name, full))
        {
            if (DirectoryReader.TryReadFolderAt(pfd, name, names, MaxFileBytes, _byInode, Fs.DeviceOf(full), out listing))
            {
                dir = full;
                _dirs.TryAdd(rel, full);
            }
        }
        if (dir is null)
        {
            dir = rel.Length == 0 ? _root : ResolveDir(rel);
            if (dir is null) return FolderListing.NoFolder;
            listing = DirectoryReader.ReadFolder(dir, names, MaxFileBytes, _byInode, Fs.DeviceOf(dir));
        }
        if (listing is not null && subfolders) RememberSubfolders(rel, dir, listing);
        return listing;
    }

    /// <summary>A folder in a resolved parent, with the parent's descriptor (<see cref="ReadFolder"/>'s shortcut).</summary>
    /// <remarks><paramref name="byPath"/>: where the parent has no descriptor, its real path and the name (for
    /// <see cref="IoRing.AtFdCwd"/>), opened without following a link as well: what an lstat would have found.</remarks>
    private (int Fd, string Name, string Full)? InResolvedParent(string rel, ParentFolders? parents, bool byPath = false)
    {
        int slash = rel.LastIndexOf('/');
        if ((parents is null && !byPath) || slash <= 0 || rel[(slash + 1)..] is not (var name and not ("." or "..")) || KnownDir(rel.AsSpan(0, slash)) is not { } parent)
            return null;
        var full = parent == "/" ? "/" + name : parent + "/" + name;
        int pfd = parents?.Fd(parent) ?? -1;
        return pfd >= 0 ? (pfd, name, full) : byPath ? (IoRing.AtFdCwd, full, full) : null;
    }

    /// <summary>The folder's sub-folders, to resolve from its listing when asked (<see cref="KnownDir"/>).</summary>
    private void RememberSubfolders(string rel, string dir, FolderListing listing) => _listed.TryAdd(rel, (dir, listing));

    /// <summary><see cref="ReadFolder"/> of each of <paramref name="rels"/> (an ImportException of one folder gives it
    /// null), all at once through io_uring where the kernel offers it (<see cref="FolderBatch"/>): the same listings,
    /// texts and cached paths as one by one, with a few system calls a folder instead of seven.</summary>
    internal FolderListing?[] ReadFolders(IReadOnlyList<string> rels, IReadOnlyList<string> names, bool subfolders, ParentFolders? parents)
    {
        var result = new FolderListing?[rels.Count];
        var batch = Batched && DirectoryReader.Available ? FolderBatch.Rent() : null;
        if (batch is null)
        {
            for (int i = 0; i < rels.Count; i++) result[i] = TryReadFolder(rels[i], names, subfolders, parents);
            return result;
        }
        try
        {
            var opens = new List<FolderOpen>(rels.Count);
            var of = new List<(int At, string Rel, string Dir)>(rels.Count);
            for (int i = 0; i < rels.Count; i++)
            {
                var rel = rels[i].Trim('/');
                try
                {
                    if (InResolvedParent(rel, parents, byPath: true) is var (pfd, name, full))
                    {
                        opens.Add(new FolderOpen(pfd, name, NoFollow: true, Fs.DeviceOf(full)));
                        of.Add((i, rel, full));
                        continue;
                    }
                    var dir = rel.Length == 0 ? _root : ResolveDir(rel);
                    if (dir is null) { result[i] = FolderListing.NoFolder; continue; }
                    opens.Add(new FolderOpen(IoRing.AtFdCwd, dir, NoFollow: false, Fs.DeviceOf(dir)));
                    of.Add((i, rel, dir));
                }
                catch (ImportException) { }
            }
            var opened = new bool[opens.Count];
            var listings = batch.Read(opens, names, MaxFileBytes, _byInode, opened);
            for (int k = 0; k < opens.Count; k++)
            {
                var (i, rel, dir) = of[k];
                // a name its parent does not hold as a real folder (a link, a file, missing): resolved by path, as ReadFolder does
                if (!opened[k]) { result[i] = opens[k].NoFollow ? TryReadFolder(rel, names, subfolders, null) : null; continue; }
                if (opens[k].NoFollow) _dirs.TryAdd(rel, dir);
                result[i] = listings[k];
                if (listings[k] is { } l && subfolders) RememberSubfolders(rel, dir, l);
            }
            return result;
        }
        finally { batch.Return(); }
    }

    private FolderListing? TryReadFolder(string rel, IReadOnlyList<string> names, bool subfolders, ParentFolders? parents)
    {
        try { return ReadFolder(rel, names, subfolders, parents); }
        catch (ImportException) { return null; }
    }

    /// <summary>The tree's file system, looked at once (mountinfo), when a folder is first read (by either reader thread).</summary>
    private TreeFileSystem Fs => LazyInitializer.EnsureInitialized(ref _fs, () => TreeFileSystem.Probe(_root));
    private TreeFileSystem? _fs;

    /// <summary>Texts already read, by (device, inode): a file linked into many places is read once.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(ulong, ulong), string> _byInode = new();

    /// <summary>Where open/read are not at hand: .NET's handles.</summary>
    private static int ReadPortable(string full, ref byte[] buf)
    {
        using var h = File.OpenHandle(full, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        int n = 0;
        while (true)
        {
            if (n == buf.Length)
            {
                if (buf.Length > MaxFileBytes) return n;
                Array.Resize(ref buf, Math.Min(MaxFileBytes + 1, buf.Length * 2));
            }
            int r = RandomAccess.Read(h, buf.AsSpan(n), n);
            if (r == 0) return n;
            n += r;
        }
    }

    /// <summary>The target of a symbolic link inside the tree as readlink shows it (not followed), or null when
    /// <paramref name="rel"/> is not a link. The text is the link's own; where it leads is not checked here.</summary>
    public string? LinkTarget(string rel)
    {
        rel = rel.Trim('/');
        int slash = rel.LastIndexOf('/');
        var dir = slash < 0 ? _root : ResolveDir(rel.AsSpan(0, slash));
        if (dir is null) return null;
        var here = (dir == "/" ? "/" : dir + "/") + rel[(slash + 1)..];
        return FileStatus.Lstat(here).Kind == FileKind.SymbolicLink ? new FileInfo(here).LinkTarget : null;
    }

    /// <summary>The names in a directory inside the tree (files, folders and links), sorted; empty when it is missing.</summary>
    public IReadOnlyList<string> List(string rel)
    {
        List<string> names;
        if (ReadFolder(rel, [], subfolders: true) is { } listing) names = [.. listing.Names];
        else
        {
            var full = Resolve(rel);
            if (FileStatus.Lstat(full).Kind != FileKind.Directory) return [];
            names = Directory.EnumerateFileSystemEntries(full).Select(p => Path.GetFileName(p)).ToList();
        }
        names.Sort(StringComparer.Ordinal);
        return names;
    }

    private string Join(List<string> parts) => parts.Count == 0 ? _root : (_root == "/" ? "/" : _root + "/") + string.Join('/', parts);

    private static IEnumerable<string> Split(string p) => p.Split('/', StringSplitOptions.RemoveEmptyEntries);

    private static ImportException Outside(string rel) => new($"{rel}: a symbolic link leads outside the tree: refused");

    private static ImportException TooLarge(string rel) => new($"{rel}: larger than {MaxFileBytes >> 20} MiB, not a sysfs or procfs file: refused");
}
