using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;

namespace Numasim.Import;

/// <summary>
/// Where a tree comes from: a directory holding sys/ (and proc/), or a .tar.gz/.tgz (read with
/// System.Formats.Tar) or .tar.bz2/.tbz2 (extracted by <c>tar -xjf</c>) whose single top folder holds them.
/// A tarball is unpacked into a temporary directory deleted on <see cref="Dispose"/>.
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
            return new TreeSource(full, Path.GetFileName(full) is { Length: > 0 } n ? n : "machine", null);
        }
        if (!File.Exists(path)) throw new ImportException($"{path}: no such file or directory");
        var lower = path.ToLowerInvariant();
        bool gz = lower.EndsWith(".tar.gz", StringComparison.Ordinal) || lower.EndsWith(".tgz", StringComparison.Ordinal);
        bool bz2 = lower.EndsWith(".tar.bz2", StringComparison.Ordinal) || lower.EndsWith(".tbz2", StringComparison.Ordinal);
        if (!gz && !bz2) throw new ImportException($"{path}: not a directory, .tar.gz or .tar.bz2");
        var temp = Path.Combine(Path.GetTempPath(), $"numasim-import-{Guid.NewGuid():N}");
        Directory.CreateDirectory(temp);
        try
        {
            if (gz) ExtractGz(path, temp);
            else ExtractBz2(path, temp);
            var root = FindRoot(path, temp);
            return new TreeSource(root, Path.GetFileName(root) is { Length: > 0 } n && root != temp ? n : StemOf(path), temp);
        }
        catch
        {
            Directory.Delete(temp, recursive: true);
            throw;
        }
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

    /// <summary>Reads the tar stream entry by entry: directories, regular files and symbolic links (kept as they
    /// are, sysfs links being relative); entries that would land outside <paramref name="dest"/> are refused.</summary>
    private static void ExtractGz(string path, string dest)
    {
        try
        {
            using var file = File.OpenRead(path);
            using var gz = new GZipStream(file, CompressionMode.Decompress);
            using var reader = new TarReader(gz);
            var destFull = Path.GetFullPath(dest) + Path.DirectorySeparatorChar;
            while (reader.GetNextEntry() is { } e)
            {
                var target = Path.GetFullPath(Path.Combine(dest, e.Name));
                if (!(target + Path.DirectorySeparatorChar).StartsWith(destFull, StringComparison.Ordinal))
                    throw new ImportException($"{path}: entry '{e.Name}' lies outside the archive's folder");
                switch (e.EntryType)
                {
                    case TarEntryType.Directory:
                        Directory.CreateDirectory(target);
                        break;
                    case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                        e.ExtractToFile(target, overwrite: true);
                        break;
                    case TarEntryType.SymbolicLink:
                        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                        if (!File.Exists(target) && !Directory.Exists(target)) File.CreateSymbolicLink(target, e.LinkName);
                        break;
                }
            }
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException)
        {
            throw new ImportException($"{path}: not a gzip-compressed tar archive ({CliLine(e.Message)})");
        }
    }

    private static void ExtractBz2(string path, string dest)
    {
        var psi = new ProcessStartInfo("tar") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in (string[])["-xjf", Path.GetFullPath(path), "-C", dest]) psi.ArgumentList.Add(a);
        Process p;
        try { p = Process.Start(psi) ?? throw new ImportException("cannot start tar"); }
        catch (System.ComponentModel.Win32Exception) { throw new ImportException($"{path}: tar is needed to read .tar.bz2 and was not found"); }
        using (p)
        {
            var err = p.StandardError.ReadToEndAsync();
            p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0)
            {
                var first = err.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? $"tar exited {p.ExitCode}";
                throw new ImportException($"{path}: not a bzip2-compressed tar archive ({CliLine(first)})");
            }
        }
    }

    private static string CliLine(string s) => s.ReplaceLineEndings(" ").Trim();

    public void Dispose()
    {
        if (_temp is not null && Directory.Exists(_temp)) Directory.Delete(_temp, recursive: true);
    }
}
