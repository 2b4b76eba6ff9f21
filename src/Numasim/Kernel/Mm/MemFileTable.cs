using Numasim.Snapshots;

namespace Numasim.Kernel.Mm;

/// <summary>A file of an in-memory filesystem (tmpfs, hugetlbfs): its name and i_size in bytes.</summary>
internal readonly record struct MemFile(int NameIndex, long SizeBytes) : INamedRecord;

/// <summary>The files of an in-memory filesystem by path, as compact state ("{owner} file names", "{owner} files"):
/// a file's id is its slot, which an unlinked file keeps (its pages refer to it) under a name no path has.</summary>
internal sealed class MemFileTable(StateStore store, string owner)
{
    private readonly StateStrings _names = new(store, owner + " file names");
    private readonly StateArray<MemFile> _files = new(store, owner + " files");

    /// <summary>The file's id, or -1.</summary>
    public int Find(string path) => _files.IndexOfName(_names, path);

    /// <summary>open(O_CREAT): the file's id, made empty when missing.</summary>
    public int Create(string path) => Find(path) is var f and >= 0 ? f : _files.Add(new MemFile(_names.Intern(path), 0));

    /// <summary>i_size of file f.</summary>
    public long Size(int f) => _files[f].SizeBytes;

    /// <summary>i_size of a path, or -1 when no file has it.</summary>
    public long Size(string path) => Find(path) is var f and >= 0 ? Size(f) : -1;

    public void SetSize(int f, long sizeBytes) => _files.Mut(f) = _files[f] with { SizeBytes = sizeBytes };

    /// <summary>The last link gone: the slot stays, with a name no path has.</summary>
    public void Unlink(int f) => _files.Mut(f) = new MemFile(_names.Intern("\0unlinked"), 0);
}
