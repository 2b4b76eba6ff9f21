namespace Numasim.Import;

/// <summary>
/// One folder of a tree, listed once with the regular files the importer asked for read (<see cref="DumpTree.Folder"/>).
/// What the listing does not settle, a link, a FIFO or device, a file too large, is asked of the tree by path, which
/// follows links inside it and refuses the rest, as for any file; so is everything when the folder could not be listed.
/// </summary>
internal sealed class DumpFolder : AttributeReader
{
    private readonly DumpTree _tree;
    private readonly FolderListing? _listing;

    public DumpFolder(DumpTree tree, string path, FolderListing? listing)
    {
        _tree = tree;
        Path = path;
        _listing = listing;
    }

    /// <summary>The folder's path inside the tree.</summary>
    public string Path { get; }

    protected override Dictionary<string, SortedSet<int>> MaskCache => _tree.ParsedMasks;

    protected override string PathOf(string name) => $"{Path}/{name}";

    /// <summary>Whether the path is a folder (false when it is missing).</summary>
    public bool IsFolder => _listing?.IsFolder ?? _tree.IsDir(Path);

    private FileKind? KindOf(string name) =>
        _listing is null ? null : _listing.TryGetKind(name, out var k) ? k : FileKind.Missing;

    public override string? TryRead(string name)
    {
        if (_listing is null) return _tree.TryRead(PathOf(name));
        if (!_listing.Contains(name)) return null;
        return _listing.Text(name) is { } text ? DumpTree.Clean(text) : _tree.TryRead(PathOf(name));
    }

    public override bool Exists(string name) => KindOf(name) switch
    {
        null or FileKind.SymbolicLink => _tree.Exists(PathOf(name)),
        var k => k is not (FileKind.Missing or FileKind.Directory),
    };

    /// <summary>Whether <paramref name="name"/> is a folder (a link to one counts).</summary>
    public bool IsDir(string name) => KindOf(name) switch
    {
        null or FileKind.SymbolicLink => _tree.IsDir(PathOf(name)),
        var k => k == FileKind.Directory,
    };

    /// <summary>Whether <paramref name="name"/> is a symbolic link.</summary>
    public bool IsLink(string name) => KindOf(name) is { } k ? k == FileKind.SymbolicLink : _tree.IsLink(PathOf(name));

    /// <summary>A link's own target text (not followed), or null when <paramref name="name"/> is not a link.</summary>
    public string? LinkTarget(string name) => KindOf(name) is { } k && k != FileKind.SymbolicLink ? null : _tree.LinkTarget(PathOf(name));

    /// <summary>Entries name+number in this folder, as paths, in number order.</summary>
    public List<(int Index, string Path)> Numbered(string prefix) =>
        _listing is null ? _tree.Numbered(Path, prefix) : DumpTree.Numbered(Path, _listing.Names, prefix);
}
