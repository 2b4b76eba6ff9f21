using System.Formats.Tar;

namespace Numasim.Import;

/// <summary>
/// Unpacks a tar stream into a folder and never writes outside it: entry names must be relative without
/// <c>..</c>; no entry is written through a symbolic link (a link made by an earlier entry included); a link's
/// target must stay inside the folder; a hard link copies a file already unpacked; devices, FIFOs and sparse
/// entries are refused; and the unpacked size and entry count are bounded, so a decompression bomb ends with an
/// error instead of filling the disk. Every refusal names the archive and the entry.
/// </summary>
public static class SafeTarExtractor
{
    /// <summary>The most bytes the decompressed stream may hold (a sysfs dump of a 1,024-node machine is far less).</summary>
    public const long MaxUnpackedBytes = 2L << 30;

    /// <summary>The most entries an archive may hold.</summary>
    public const int MaxEntries = 4_000_000;

    /// <summary>The deepest entry path (components); sysfs is about 12 deep.</summary>
    public const int MaxDepth = 64;

    /// <summary>Unpacks <paramref name="tar"/> (already decompressed) into <paramref name="dest"/>, which must exist.</summary>
    public static void Extract(Stream tar, string dest, string archive, long maxUnpackedBytes = MaxUnpackedBytes)
    {
        var root = Path.GetFullPath(dest).TrimEnd('/');
        using var bounded = new BoundedStream(tar, maxUnpackedBytes, archive);
        using var reader = new TarReader(bounded);
        int count = 0;
        while (reader.GetNextEntry() is { } e)
        {
            if (++count > MaxEntries) throw new ImportException($"{archive}: more than {MaxEntries:N0} entries: refused");
            if (e.EntryType is TarEntryType.GlobalExtendedAttributes) continue;
            var rel = Check(e.Name, archive);
            if (rel.Count == 0) continue; // "./"
            var name = string.Join('/', rel);
            var target = root + "/" + name;
            switch (e.EntryType)
            {
                case TarEntryType.Directory:
                    MakeDirs(root, rel, rel.Count, archive, name);
                    break;
                case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                    MakeDirs(root, rel, rel.Count - 1, archive, name);
                    ReplaceFile(target, archive, name);
                    using (var o = new FileStream(target, FileMode.CreateNew, FileAccess.Write))
                        e.DataStream?.CopyTo(o);
                    break;
                case TarEntryType.SymbolicLink:
                    MakeDirs(root, rel, rel.Count - 1, archive, name);
                    if (!LinkStaysInside(rel, e.LinkName))
                        throw new ImportException($"{archive}: entry '{name}' links outside the archive's folder: refused");
                    if (FileStatus.Lstat(target).Kind != FileKind.Missing)
                        throw new ImportException($"{archive}: entry '{name}' is a link over an earlier entry: refused");
                    File.CreateSymbolicLink(target, e.LinkName);
                    break;
                case TarEntryType.HardLink:
                {
                    if (e.LinkName.StartsWith('/') || e.LinkName.Split('/').Contains(".."))
                        throw new ImportException($"{archive}: entry '{name}' is a hard link to '{e.LinkName}', outside the archive's folder: refused");
                    var from = Check(e.LinkName, archive);
                    var source = root + "/" + string.Join('/', from);
                    if (from.Count == 0 || !InRealFolders(root, from) || FileStatus.Lstat(source).Kind != FileKind.Regular)
                        throw new ImportException($"{archive}: entry '{name}' is a hard link to '{e.LinkName}', which is not a file unpacked before it: refused");
                    MakeDirs(root, rel, rel.Count - 1, archive, name);
                    ReplaceFile(target, archive, name);
                    File.Copy(source, target);
                    break;
                }
                default:
                    throw new ImportException($"{archive}: entry '{name}' is {Describe(e.EntryType)}, not a file, folder or link of a sysfs tree: refused");
            }
        }
    }

    /// <summary>The entry's path as components: relative, no "..", not too deep.</summary>
    private static List<string> Check(string entry, string archive)
    {
        if (entry.StartsWith('/')) throw new ImportException($"{archive}: entry '{entry}' has an absolute path: refused");
        if (entry.Contains('\0')) throw new ImportException($"{archive}: an entry name holds a NUL byte: refused");
        var parts = entry.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(p => p != ".").ToList();
        if (parts.Contains("..")) throw new ImportException($"{archive}: entry '{entry}' climbs out with '..': refused");
        if (parts.Count > MaxDepth) throw new ImportException($"{archive}: entry '{entry}' is more than {MaxDepth} folders deep: refused");
        return parts;
    }

    /// <summary>Creates the first <paramref name="n"/> components as real folders; a component that exists must be
    /// a folder, never a link (the attack: a link entry, then a file "through" it).</summary>
    private static void MakeDirs(string root, List<string> parts, int n, string archive, string name)
    {
        var p = root;
        for (int i = 0; i < n; i++)
        {
            p += "/" + parts[i];
            switch (FileStatus.Lstat(p).Kind)
            {
                case FileKind.Directory: continue;
                case FileKind.Missing: Directory.CreateDirectory(p); continue;
                case FileKind.SymbolicLink:
                    throw new ImportException($"{archive}: entry '{name}' lies behind the link '{string.Join('/', parts.Take(i + 1))}': refused");
                default:
                    throw new ImportException($"{archive}: entry '{name}' lies under '{string.Join('/', parts.Take(i + 1))}', which is not a folder: refused");
            }
        }
    }

    /// <summary>Whether every folder above the last component exists and is a real folder, not a link.</summary>
    private static bool InRealFolders(string root, List<string> parts)
    {
        var p = root;
        for (int i = 0; i < parts.Count - 1; i++)
        {
            p += "/" + parts[i];
            if (FileStatus.Lstat(p).Kind != FileKind.Directory) return false;
        }
        return true;
    }

    /// <summary>A later entry of the same name replaces a regular file (tar's rule); anything else in the way is refused.</summary>
    private static void ReplaceFile(string target, string archive, string name)
    {
        switch (FileStatus.Lstat(target).Kind)
        {
            case FileKind.Missing: return;
            case FileKind.Regular: File.Delete(target); return;
            default: throw new ImportException($"{archive}: entry '{name}' would replace a folder or link: refused");
        }
    }

    /// <summary>A link target stays inside when it is relative and, read from the link's folder, never climbs above the top.</summary>
    private static bool LinkStaysInside(List<string> linkPath, string target)
    {
        if (target.Length == 0 || target.StartsWith('/') || target.Contains('\0')) return false;
        int depth = linkPath.Count - 1;
        foreach (var c in target.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (c == ".") continue;
            depth += c == ".." ? -1 : 1;
            if (depth < 0) return false;
        }
        return true;
    }

    private static string Describe(TarEntryType t) => t switch
    {
        TarEntryType.CharacterDevice => "a character device",
        TarEntryType.BlockDevice => "a block device",
        TarEntryType.Fifo => "a FIFO",
        TarEntryType.SparseFile => "a GNU sparse file",
        _ => $"a tar entry of type '{(char)t}'",
    };

    /// <summary>A read-only view that fails once more than a bound has been read from the decompressor.</summary>
    private sealed class BoundedStream(Stream inner, long max, string archive) : Stream
    {
        private long _read;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _read; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override int Read(byte[] buffer, int offset, int count)
        {
            int n = inner.Read(buffer, offset, count);
            _read += n;
            if (_read > max)
                throw new ImportException($"{archive}: unpacks to more than {max >> 20} MiB (a decompression bomb?): refused");
            return n;
        }
    }
}
