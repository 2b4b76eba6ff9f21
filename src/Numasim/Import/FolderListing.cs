namespace Numasim.Import;

/// <summary>
/// What <see cref="DirectoryReader.ReadFolder"/> found: every entry's name and kind, in the listing's order (from
/// d_type, an lstat where the file system gives none), and the text of each of the names asked for
/// that is a regular file and was read (null otherwise). Two arrays, not a dictionary: a big
/// machine has 116 k folders of about ten entries each, and a dictionary per folder was a fifth of what an import
/// allocated; a folder of many entries (memory/, 65,536 memoryN) gets an index on its first lookup.
/// <see cref="IsFolder"/> is false for <see cref="NoFolder"/>: the path is missing or not a folder.
/// </summary>
internal sealed class FolderListing(string[] names, FileKind[] kinds, IReadOnlyList<string> asked, string?[] texts, bool isFolder = true,
    Dictionary<string, int>? index = null)
{
    public static readonly FolderListing NoFolder = new([], [], [], [], false);

    /// <summary>Entries past which a lookup builds an index rather than scanning.</summary>
    public const int Scanned = 16;

    private Dictionary<string, int>? _index = index;

    public bool IsFolder => isFolder;

    /// <summary>The entries' names, in the listing's order.</summary>
    public IReadOnlyList<string> Names => names;

    /// <summary>The kind of the entry <paramref name="name"/>; false when the folder has none.</summary>
    public bool TryGetKind(ReadOnlySpan<char> name, out FileKind kind)
    {
        int i = IndexOf(name);
        kind = i < 0 ? FileKind.Missing : kinds[i];
        return i >= 0;
    }

    public bool Contains(string name) => IndexOf(name) >= 0;

    private int IndexOf(ReadOnlySpan<char> name)
    {
        if (names.Length <= Scanned)
        {
            for (int i = 0; i < names.Length; i++)
                if (name.SequenceEqual(names[i])) return i;
            return -1;
        }
        var index = Volatile.Read(ref _index);
        if (index is null)
        {
            index = new Dictionary<string, int>(names.Length, StringComparer.Ordinal);
            for (int i = 0; i < names.Length; i++) index.TryAdd(names[i], i);
            Volatile.Write(ref _index, index);
        }
        return index.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(name, out var at) ? at : -1;
    }

    /// <summary>The text read for <paramref name="name"/>, or null when it was not asked for or not read.</summary>
    public string? Text(string name)
    {
        for (int i = 0; i < asked.Count; i++)
            if (asked[i] == name) return texts[i];
        return null;
    }
}
