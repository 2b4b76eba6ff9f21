using System.Globalization;
using System.Text.RegularExpressions;

namespace Numasim.Import;

/// <summary>
/// The importer's reading of a tree: paths relative to its root (which holds sys/ and, where present, proc/), read
/// through <see cref="ConfinedTree"/> only; errors name the path inside the tree. The many folders of a big machine
/// (a cpuN/cache/indexK, a memoryN) are read whole, a few at a time ahead of the importer: <see cref="Folders"/>.
/// </summary>
internal sealed partial class DumpTree(string root, bool batched = true) : AttributeReader
{
    public const string Sys = "sys/devices/system";

    /// <summary>Folders read ahead of the importer by <see cref="Folders"/>, on one thread: the reads are system calls (a
    /// machine of 8,192 CPUs has a few hundred thousand folders). One reader, not two: the memory blocks and the CPUs
    /// are read at once (<see cref="SysfsImporter"/>), each with its parser, and two readers each made six threads on two
    /// cores, which cost 0.5 s more CPU and 0.3 s more wall on the 1,024-node dump than four.</summary>
    private const int ReadAhead = 1024;

    private readonly ConfinedTree _t = new(root) { Batched = batched };
    /// <summary>The masks parsed so far, the tree's and its folders'.</summary>
    public Dictionary<string, SortedSet<int>> ParsedMasks { get; } = NewMaskCache();

    protected override Dictionary<string, SortedSet<int>> MaskCache => ParsedMasks;

    protected override string PathOf(string rel) => rel;

    public bool IsDir(string rel) => _t.IsDirectory(rel);

    public override bool Exists(string rel) => _t.Kind(rel) is not (FileKind.Missing or FileKind.Directory);

    public static ImportException Missing(string rel) => new($"{rel}: missing (the model needs it)");

    /// <summary>The file's text, or null when it is missing. Some dumps pad attribute files with NUL bytes after the
    /// text; sysfs never prints them.</summary>
    public override string? TryRead(string rel) => Clean(_t.ReadText(rel));

    /// <summary>The text without NUL padding.</summary>
    public static string? Clean(string? text) => text is null || !text.Contains('\0') ? text : text.Replace("\0", "", StringComparison.Ordinal);

    /// <summary>One folder, listed, with its regular files among <paramref name="names"/> read. A folder that cannot be
    /// read whole (a link that leaves the tree, no reader on this system) is read path by path, so that its errors come
    /// out of the importer's own reads, in their order. <paramref name="subfolders"/>, the folder's own sub-folders are read next, and their paths are kept resolved.</summary>
    public DumpFolder Folder(string rel, IReadOnlyList<string> names, bool subfolders = false)
    {
        FolderListing? listing = null;
        try { listing = _t.ReadFolder(rel, names, subfolders); }
        catch (ImportException) { }
        return new DumpFolder(this, rel, listing);
    }

    /// <summary>The folders <paramref name="dirs"/>, in their order, each as <see cref="Folder"/> gives it, read
    /// <see cref="ReadAhead"/> at a time on a thread of their own (through io_uring where the kernel offers it:
    /// <see cref="ConfinedTree.ReadFolders"/>), those of a shared parent relative to its descriptor
    /// (<see cref="ParentFolders"/>). The next batch is read while the caller works through this one, so that the
    /// reading (system calls) and the caller's parsing use both cores.</summary>
    public IEnumerable<DumpFolder> Folders(IReadOnlyList<string> dirs, IReadOnlyList<string> names, bool subfolders = false)
    {
        int size = Math.Min(ReadAhead, dirs.Count);
        var parents = new ParentFolders();
        Task<DumpFolder[]>? pending = dirs.Count == 0 ? null : Batch(dirs, 0, size, names, subfolders, parents);
        try
        {
            for (int start = 0; start < dirs.Count; start += size)
            {
                var batch = pending!.GetAwaiter().GetResult();
                pending = start + size < dirs.Count ? Batch(dirs, start + size, size, names, subfolders, parents) : null;
                foreach (var d in batch) yield return d;
            }
        }
        finally
        {
            // a caller that stops early (an error in a folder) leaves no read running on the tree it may delete next
            try { pending?.Wait(); }
            catch (AggregateException) { }
            parents.Dispose();
        }
    }

    /// <summary>Folders <paramref name="start"/>.. (at most <paramref name="size"/>) of <paramref name="dirs"/>, read on
    /// a thread of their own (a long-running one: the caller waits for it, and the pool may have no thread to spare).</summary>
    private Task<DumpFolder[]> Batch(IReadOnlyList<string> dirs, int start, int size, IReadOnlyList<string> names, bool subfolders, ParentFolders parents) =>
        Task.Factory.StartNew(() =>
        {
            var rels = new string[Math.Min(size, dirs.Count - start)];
            for (int i = 0; i < rels.Length; i++) rels[i] = dirs[start + i];
            var listings = _t.ReadFolders(rels, names, subfolders, parents);
            var batch = new DumpFolder[rels.Length];
            for (int i = 0; i < batch.Length; i++) batch[i] = new DumpFolder(this, rels[i], listings[i]);
            return batch;
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    /// <summary>A link's own target text (not followed), or null when <paramref name="rel"/> is not a link.</summary>
    public string? LinkTarget(string rel) => _t.LinkTarget(rel);

    /// <summary>Whether <paramref name="rel"/> is a symbolic link.</summary>
    public bool IsLink(string rel) => _t.LinkTarget(rel) is not null;

    /// <summary>The names in a folder, sorted (empty when missing).</summary>
    public IReadOnlyList<string> Names(string dir) => _t.List(dir);

    /// <summary>Entries name+number under <paramref name="dir"/> (folders or links), in number order.</summary>
    public List<(int Index, string Path)> Numbered(string dir, string prefix) => Numbered(dir, _t.List(dir), prefix);

    /// <summary>The names of <paramref name="names"/> (entries of <paramref name="dir"/>) that are prefix+number, as
    /// paths, in number order.</summary>
    public static List<(int Index, string Path)> Numbered(string dir, IEnumerable<string> names, string prefix)
    {
        var list = new List<(int, string)>();
        foreach (var name in names)
        {
            if (name.Length <= prefix.Length || !name.StartsWith(prefix, StringComparison.Ordinal)) continue;
            var num = name.AsSpan(prefix.Length);
            if (num.Length > 9 || !int.TryParse(num, NumberStyles.None, CultureInfo.InvariantCulture, out int n)) continue;
            list.Add((n, $"{dir}/{name}"));
        }
        list.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        return list;
    }

    [GeneratedRegex(@"^(\d+)\s*kB$")]
    public static partial Regex KbRx();
}
