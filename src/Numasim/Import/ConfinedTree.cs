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

    /// <summary>The real path of <paramref name="rel"/> inside the tree (links resolved), or an error when a link
    /// leaves it. A missing component ends the walk: the path is returned as if it existed.</summary>
    public string Resolve(string rel)
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
                return Join(parts);
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
        return Join(parts);
    }

    /// <summary>What <paramref name="rel"/> is once its links are followed (a link leaving the tree is an error).</summary>
    public FileKind Kind(string rel) => FileStatus.Lstat(Resolve(rel)).Kind;

    public bool IsDirectory(string rel) => Kind(rel) == FileKind.Directory;
    public bool IsFile(string rel) => Kind(rel) == FileKind.Regular;

    /// <summary>The text of a regular file inside the tree; null when it is missing.</summary>
    public string? ReadText(string rel)
    {
        var full = Resolve(rel);
        var (kind, size) = FileStatus.Lstat(full);
        if (kind == FileKind.Missing) return null;
        if (kind != FileKind.Regular) throw new ImportException($"{rel}: {FileStatus.Describe(kind)}, not a file: refused");
        if (size > MaxFileBytes) throw TooLarge(rel);
        try
        {
            using var s = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 4096, FileOptions.None);
            var buf = new byte[Math.Min(MaxFileBytes + 1, Math.Max(4096, (int)size + 1))];
            int n = 0;
            while (true)
            {
                if (n == buf.Length)
                {
                    if (buf.Length > MaxFileBytes) throw TooLarge(rel);
                    Array.Resize(ref buf, Math.Min(MaxFileBytes + 1, buf.Length * 2));
                }
                int r = s.Read(buf, n, buf.Length - n);
                if (r == 0) break;
                n += r;
            }
            return System.Text.Encoding.UTF8.GetString(buf, 0, n);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException) { return null; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ImportException($"{rel}: cannot read ({e.GetType().Name.Replace("Exception", "", StringComparison.Ordinal)})");
        }
    }

    /// <summary>The names in a directory inside the tree (files, folders and links), sorted; empty when it is missing.</summary>
    public IReadOnlyList<string> List(string rel)
    {
        var full = Resolve(rel);
        if (FileStatus.Lstat(full).Kind != FileKind.Directory) return [];
        var names = Directory.EnumerateFileSystemEntries(full).Select(p => Path.GetFileName(p)).ToList();
        names.Sort(StringComparer.Ordinal);
        return names;
    }

    private string Join(List<string> parts) => parts.Count == 0 ? _root : (_root == "/" ? "/" : _root + "/") + string.Join('/', parts);

    private static IEnumerable<string> Split(string p) => p.Split('/', StringSplitOptions.RemoveEmptyEntries);

    private static ImportException Outside(string rel) => new($"{rel}: a symbolic link leads outside the tree: refused");

    private static ImportException TooLarge(string rel) => new($"{rel}: larger than {MaxFileBytes >> 20} MiB, not a sysfs or procfs file: refused");
}
