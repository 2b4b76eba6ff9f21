using System.Runtime.InteropServices;

namespace Numasim.Import;

/// <summary>What a path is, as lstat(2) says, without following a final symbolic link.</summary>
public enum FileKind { Missing, Regular, Directory, SymbolicLink, Fifo, CharDevice, BlockDevice, Socket, Other }

/// <summary>
/// lstat(2) through statx(2): .NET does not say whether a path is a FIFO or a device, and opening a FIFO blocks.
/// statx's struct is the same on every Linux architecture (unlike struct stat), so one declaration serves all.
/// </summary>
internal static class FileStatus
{
    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxType = 0x1, StatxSize = 0x200;

    /// <summary>struct statx (include/uapi/linux/stat.h): 256 bytes; only stx_mode and stx_size are read.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    private struct Statx
    {
        [FieldOffset(28)] public ushort Mode;
        [FieldOffset(40)] public ulong Size;
    }

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int NativeOpen([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", EntryPoint = "read", SetLastError = true)]
    private static extern nint NativeRead(int fd, ref byte buf, nint count);

    [DllImport("libc", EntryPoint = "close")]
    private static extern int NativeClose(int fd);

    // O_NONBLOCK: a file swapped for a FIFO between the lstat and the open must not block the reader
    private const int ORdOnly = 0, ONonBlock = 0x800, OCloExec = 0x80000, ENoEnt = 2, EIntr = 4;

    /// <summary>Reads a file already known to be regular (its lstat said so) into <paramref name="buf"/>, growing it up to
    /// <paramref name="max"/> + 1 bytes; returns the bytes read, -1 when it vanished, or throws IOException. open/read/close
    /// without .NET's file handles: a tree of a big machine is half a million small files. A file that reports its size
    /// (a dump's) is done when that much was read; sysfs and procfs files report 4096 or 0 and are read to the end.</summary>
    public static int ReadRegular(string path, ulong size, ref byte[] buf, int max)
    {
        if (!OperatingSystem.IsLinux()) return -2;
        int fd = NativeOpen(path, ORdOnly | ONonBlock | OCloExec);
        if (fd < 0)
        {
            int err = Marshal.GetLastPInvokeError();
            if (err == ENoEnt) return -1;
            throw new IOException($"open failed (errno {err})");
        }
        try
        {
            int n = 0;
            while (true)
            {
                if (n == buf.Length)
                {
                    if (buf.Length > max) return n;
                    Array.Resize(ref buf, Math.Min(max + 1, buf.Length * 2));
                }
                nint r = NativeRead(fd, ref buf[n], buf.Length - n);
                if (r < 0)
                {
                    if (Marshal.GetLastPInvokeError() == EIntr) continue;
                    throw new IOException($"read failed (errno {Marshal.GetLastPInvokeError()})");
                }
                if (r == 0) return n;
                n += (int)r;
                if (size is > 0 and not 4096 && (ulong)n >= size) return n;
            }
        }
        finally { NativeClose(fd); }
    }

    [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
    private static extern int NativeStatx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, out Statx buf);

    /// <summary>The kind and size of <paramref name="path"/> (a final link is not followed).</summary>
    public static (FileKind Kind, ulong Size) Lstat(string path) => StatOf(path, follow: false);

    /// <summary>The kind and size of what <paramref name="path"/> names, following links (stat(2)).</summary>
    public static (FileKind Kind, ulong Size) Stat(string path) => StatOf(path, follow: true);

    private static (FileKind Kind, ulong Size) StatOf(string path, bool follow)
    {
        if (!OperatingSystem.IsLinux()) return Portable(path);
        if (NativeStatx(AtFdCwd, path, follow ? 0 : AtSymlinkNoFollow, StatxType | StatxSize, out var st) != 0)
            return (FileKind.Missing, 0);
        return (KindOfMode(st.Mode), st.Size);
    }

    /// <summary>The kind an st_mode's S_IFMT bits name.</summary>
    public static FileKind KindOfMode(ushort mode) => (mode & 0xF000) switch
    {
        0x8000 => FileKind.Regular,
        0x4000 => FileKind.Directory,
        0xA000 => FileKind.SymbolicLink,
        0x1000 => FileKind.Fifo,
        0x2000 => FileKind.CharDevice,
        0x6000 => FileKind.BlockDevice,
        0xC000 => FileKind.Socket,
        _ => FileKind.Other,
    };

    /// <summary>Where statx is not there: what .NET can tell (no FIFOs or devices).</summary>
    private static (FileKind, ulong) Portable(string path)
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is not null) return (FileKind.SymbolicLink, 0);
        if (Directory.Exists(path)) return (FileKind.Directory, 0);
        return info.Exists ? (FileKind.Regular, (ulong)info.Length) : (FileKind.Missing, 0);
    }

    public static string Describe(FileKind k) => k switch
    {
        FileKind.Fifo => "a FIFO",
        FileKind.CharDevice => "a character device",
        FileKind.BlockDevice => "a block device",
        FileKind.Socket => "a socket",
        FileKind.SymbolicLink => "a symbolic link",
        FileKind.Directory => "a directory",
        FileKind.Regular => "a regular file",
        FileKind.Missing => "missing",
        _ => "not a regular file",
    };
}
