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

    /// <summary>Writes the whole tree under <paramref name="dir"/> (DIR/sys/..., DIR/proc/...); with
    /// <paramref name="include"/>, only the entries whose path (e.g. "/proc/zoneinfo") it accepts.</summary>
    public static void Export(SysfsTree tree, string dir, Func<string, bool>? include = null)
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
            WriteDir(tree.Root, dir, include, new Dictionary<(string, int), string>());
            WriteHwlocInfo(dir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ExportException(e.Message);
        }
    }

    /// <param name="written">The first file written with each (text, mode): later ones are hard links to it. A 1,024-node
    /// machine's tree has two million attribute files of a few hundred thousand distinct texts; linked, it takes a tenth
    /// of the room on tmpfs and is written and read faster. Readers see the same files.</param>
    private static void WriteDir(SysfsDirectory source, string target, Func<string, bool>? include, Dictionary<(string, int), string> written)
    {
        foreach (var entry in source.Children)
        {
            // A name is one path component: nothing the model holds may write beside or above the target.
            if (entry.Name is "" or "." or ".." || entry.Name.Contains('/') || entry.Name.Contains('\0'))
                throw new ExportException($"{Input.Printable.Escape(entry.Name)}: not a file name an export can write");
            if (include is not null && !include(entry.Path)) continue;
            var path = Path.Combine(target, entry.Name);
            switch (entry)
            {
                case SysfsDirectory d:
                    Directory.CreateDirectory(path);
                    WriteDir(d, path, include, written);
                    SetMode(path, DirMode);
                    break;
                case SysfsAttribute a:
                    var text = a.HasShow ? a.Show() : "";
                    if (written.TryGetValue((text, a.Mode), out var first) && HardLink(first, path)) break;
                    File.WriteAllText(path, text, Utf8NoBom);
                    SetMode(path, (UnixFileMode)a.Mode);
                    if (text.Length <= 4096) written.TryAdd((text, a.Mode), path);
                    break;
                case SysfsLink l:
                    File.CreateSymbolicLink(path, l.RelativeTarget);
                    break;
            }
        }
    }

    /// <summary>DIR/proc/hwloc-nofile-info: the uname facts hwloc-gather-topology records beside a gathered tree, which
    /// hwloc -i reads for the tree's architecture (without it, it skips its x86 handling, e.g. of AMD compute units).
    /// The model is an x86_64 kernel. Not a kernel file: metadata for the tools, like the marker file.</summary>
    private static void WriteHwlocInfo(string dir)
    {
        var proc = Path.Combine(dir, "proc");
        if (!Directory.Exists(proc)) return;
        File.WriteAllText(Path.Combine(proc, "hwloc-nofile-info"), "OSName: Linux\nArchitecture: x86_64\n", Utf8NoBom);
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "link", SetLastError = true)]
    private static extern int NativeLink([System.Runtime.InteropServices.MarshalAs(System.Runtime.InteropServices.UnmanagedType.LPUTF8Str)] string oldPath,
        [System.Runtime.InteropServices.MarshalAs(System.Runtime.InteropServices.UnmanagedType.LPUTF8Str)] string newPath);

    /// <summary>link(2) where there is one; false when the file must be written (another OS, or link refused).</summary>
    private static bool HardLink(string existing, string path) => OperatingSystem.IsLinux() && NativeLink(existing, path) == 0;

    private static readonly Encoding Utf8NoBom = new UTF8Encoding(false);

    private static void SetMode(string path, UnixFileMode mode)
    {
        if (OperatingSystem.IsWindows()) return;
        File.SetUnixFileMode(path, mode);
    }
}
