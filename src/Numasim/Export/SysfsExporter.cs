using System.Text;
using Numasim.Kernel.Sysfs;

namespace Numasim.Export;

/// <summary>An export that cannot be written (target not empty and not ours, or an I/O error).</summary>
public sealed class ExportException(string message) : Exception(message);

/// <summary>
/// Writes a <see cref="SysfsTree"/> to a real directory so that real tools read it as a sysfs root:
/// <c>lsmem -s DIR</c>, <c>lscpu -s DIR</c>, <c>lstopo-no-graphics -i DIR</c>, and numactl through a bind mount
/// of DIR/sys/devices/system/node. Directories become directories (0755), attributes regular files holding
/// their show() text (empty when the attribute has no show(), as a write-only sysfs file reads as nothing
/// useful), with the attribute's mode; symlinks keep the relative target readlink shows on sysfs.
/// The output is deterministic: the same tree gives byte-identical files, written in name order.
///
/// Target policy: DIR may be missing or empty. A non-empty DIR is refused unless it holds the marker file
/// <see cref="MarkerName"/> written by an earlier export; such a DIR is emptied and written again.
/// </summary>
public static class SysfsExporter
{
    /// <summary>The marker written at the top of every export.</summary>
    public const string MarkerName = ".numasim-export";

    private const UnixFileMode DirMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    /// <summary>Throws <see cref="ExportException"/> when <paramref name="dir"/> may not be written.</summary>
    public static void CheckTarget(string dir)
    {
        // Never through a link: emptying a marked export behind it would delete what the link points to.
        var kind = Import.FileStatus.Lstat(dir.TrimEnd('/') is { Length: > 0 } d ? d : dir).Kind;
        if (kind == Import.FileKind.SymbolicLink)
            throw new ExportException($"{dir}: is a symbolic link; export writes only into a real directory (name the directory itself)");
        if (kind is not (Import.FileKind.Missing or Import.FileKind.Directory))
            throw new ExportException($"{dir}: exists and is not a directory");
        if (!Directory.Exists(dir)) return;
        if (!Directory.EnumerateFileSystemEntries(dir).Any()) return;
        if (!File.Exists(Path.Combine(dir, MarkerName)))
            throw new ExportException($"{dir}: directory is not empty and was not written by numasim (no {MarkerName})");
    }

    /// <summary>Writes the whole tree under <paramref name="dir"/> (DIR/sys/..., DIR/proc/...).</summary>
    public static void Export(SysfsTree tree, string dir)
    {
        CheckTarget(dir);
        try
        {
            Directory.CreateDirectory(dir);
            foreach (var old in Directory.EnumerateFileSystemEntries(dir))
            {
                var info = new FileInfo(old);
                if (info.LinkTarget is null && Directory.Exists(old)) Directory.Delete(old, recursive: true);
                else File.Delete(old);
            }
            File.WriteAllText(Path.Combine(dir, MarkerName), "written by numasim boot --export\n");
            WriteDir(tree.Root, dir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ExportException(e.Message);
        }
    }

    private static void WriteDir(SysfsDirectory source, string target)
    {
        foreach (var entry in source.Children)
        {
            // A name is one path component: nothing the model holds may write beside or above the target.
            if (entry.Name is "" or "." or ".." || entry.Name.Contains('/') || entry.Name.Contains('\0'))
                throw new ExportException($"{Input.Printable.Escape(entry.Name)}: not a file name an export can write");
            var path = Path.Combine(target, entry.Name);
            switch (entry)
            {
                case SysfsDirectory d:
                    Directory.CreateDirectory(path);
                    WriteDir(d, path);
                    SetMode(path, DirMode);
                    break;
                case SysfsAttribute a:
                    File.WriteAllText(path, a.HasShow ? a.Show() : "", Utf8NoBom);
                    SetMode(path, (UnixFileMode)a.Mode);
                    break;
                case SysfsLink l:
                    File.CreateSymbolicLink(path, l.RelativeTarget);
                    break;
            }
        }
    }

    private static readonly Encoding Utf8NoBom = new UTF8Encoding(false);

    private static void SetMode(string path, UnixFileMode mode)
    {
        if (OperatingSystem.IsWindows()) return;
        File.SetUnixFileMode(path, mode);
    }
}
