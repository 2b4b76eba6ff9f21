using System.Formats.Tar;
using System.IO.Compression;
using ICSharpCode.SharpZipLib;
using ICSharpCode.SharpZipLib.BZip2;

namespace Numasim.Import;

/// <summary>
/// Where a tree comes from: a directory holding sys/ (and proc/), or a .tar.gz/.tgz or .tar.bz2/.tbz2 whose
/// single top folder holds them. A tarball is unpacked by <see cref="SafeTarExtractor"/> into a temporary
/// directory deleted on <see cref="Dispose"/>, on SIGINT/SIGTERM/SIGHUP, or by the next run when this process
/// was killed outright (the folder's name carries its process id).
/// </summary>
public sealed class TreeSource : IDisposable
{
    private readonly string? _temp;

    private TreeSource(string root, string name, string? temp)
    {
        Root = root;
        Name = name;
        _temp = temp;
    }

    /// <summary>The directory holding sys/ and, where present, proc/.</summary>
    public string Root { get; }

    /// <summary>The machine's name: the directory's or the top folder's name.</summary>
    public string Name { get; }

    public static TreeSource Open(string path)
    {
        if (Directory.Exists(path))
        {
            var full = Path.GetFullPath(path).TrimEnd('/');
            if (full.Length == 0) full = "/";
            // a sysfs mount named itself (numasim import /sys): the tree is its parent, which holds sys/ and proc/
            if (!Directory.Exists(Path.Combine(full, "sys")) && Directory.Exists(Path.Combine(full, "devices", "system")))
            {
                var parent = Path.GetDirectoryName(full) ?? "/";
                if (Path.GetFileName(full) != "sys" || !Directory.Exists(Path.Combine(parent, "sys", "devices", "system")))
                    throw new ImportException($"{path}: holds devices/system as a sysfs mount does, but is not named sys: name the folder holding sys/ (and proc/)");
                full = parent;
            }
            return new TreeSource(full, NameOf(full), null);
        }
        if (!File.Exists(path)) throw new ImportException($"{path}: no such file or directory");
        var lower = path.ToLowerInvariant();
        bool gz = lower.EndsWith(".tar.gz", StringComparison.Ordinal) || lower.EndsWith(".tgz", StringComparison.Ordinal);
        bool bz2 = lower.EndsWith(".tar.bz2", StringComparison.Ordinal) || lower.EndsWith(".tbz2", StringComparison.Ordinal);
        if (!gz && !bz2) throw new ImportException($"{path}: not a directory, .tar.gz or .tar.bz2");
        var temp = TempFolders.Create();
        try
        {
            Extract(path, temp, gz);
            var root = FindRoot(path, temp);
            return new TreeSource(root, Path.GetFileName(root) is { Length: > 0 } n && root != temp ? n : StemOf(path), temp);
        }
        catch
        {
            TempFolders.Delete(temp);
            throw;
        }
    }

    /// <summary>A directory's name; for a live system's root, its host name.</summary>
    private static string NameOf(string dir)
    {
        if (Path.GetFileName(dir) is { Length: > 0 } n) return n;
        var host = new ConfinedTree(dir).ReadText("proc/sys/kernel/hostname")?.Trim();
        return string.IsNullOrEmpty(host) ? "machine" : host;
    }

    private static string StemOf(string path)
    {
        var f = Path.GetFileName(path);
        foreach (var ext in (string[])[".tar.gz", ".tgz", ".tar.bz2", ".tbz2"])
            if (f.EndsWith(ext, StringComparison.OrdinalIgnoreCase)) return f[..^ext.Length];
        return f;
    }

    private static string FindRoot(string path, string temp)
    {
        if (Directory.Exists(Path.Combine(temp, "sys"))) return temp;
        var tops = Directory.GetFileSystemEntries(temp);
        if (tops.Length == 1 && Directory.Exists(tops[0]) && Directory.Exists(Path.Combine(tops[0], "sys"))) return tops[0];
        throw new ImportException($"{path}: expected one top folder holding sys/ (and proc/)");
    }

    /// <summary>Decompresses with GZipStream or SharpZipLib's bzip2 and unpacks through <see cref="SafeTarExtractor"/>.</summary>
    private static void Extract(string path, string dest, bool gz)
    {
        try
        {
            using var file = File.OpenRead(path);
            using Stream decompressed = gz
                ? new GZipStream(file, CompressionMode.Decompress)
                : new BZip2InputStream(file) { IsStreamOwner = false };
            SafeTarExtractor.Extract(decompressed, dest, path);
        }
        // System.Formats.Tar throws OverflowException on an out-of-range numeric field (a GNU timestamp, found by
        // fuzzing) and ArgumentException on some malformed headers: a corrupt archive all the same.
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException or SharpZipBaseException
                                  or OverflowException or ArgumentException)
        {
            throw new ImportException($"{path}: not a {(gz ? "gzip" : "bzip2")}-compressed tar archive ({CliLine(e.Message)})");
        }
        // A GNU sparse entry ('S') makes System.Formats.Tar throw NotSupportedException while reading the header (found
        // by fuzzing); SafeTarExtractor refuses the entry types it does get to see.
        catch (NotSupportedException e)
        {
            throw new ImportException($"{path}: a tar entry of a kind a sysfs tree never holds ({CliLine(e.Message)}): refused");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ImportException($"{path}: cannot unpack ({CliLine(e.Message)})");
        }
    }

    private static string CliLine(string s) => s.ReplaceLineEndings(" ").Trim();

    public void Dispose()
    {
        if (_temp is not null) TempFolders.Delete(_temp);
    }
}
