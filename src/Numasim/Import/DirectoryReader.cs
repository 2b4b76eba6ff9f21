using System.Runtime.InteropServices;
using System.Text;

namespace Numasim.Import;

/// <summary>
/// Reads several files of one directory with few system calls (Linux): the directory is opened once, listed once with
/// getdents64 (whose d_type says which entries are regular files, so no stat per file), and each regular file is read
/// with openat/read/close relative to it (a one-component lookup). A machine of 8,192 CPUs has half a million sysfs
/// files to read; on this project's virtual machines a system call costs about 2 µs. Entries that are not regular
/// files (links, FIFOs, devices, folders) are not opened: the caller reads them its safe way.
/// </summary>
internal static class DirectoryReader
{
    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int Open(byte[] path, int flags);

    [DllImport("libc", EntryPoint = "openat", SetLastError = true)]
    private static extern int OpenAt(int dirfd, ref byte path, int flags);

    [DllImport("libc", EntryPoint = "read", SetLastError = true)]
    private static extern nint Read(int fd, ref byte buf, nint count);

    [DllImport("libc", EntryPoint = "close")]
    private static extern int Close(int fd);

    [DllImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static extern nint Getdents64(nint number, int fd, byte[] buf, nint count);

    [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
    private static extern int Statx(int dirfd, ref byte path, int flags, uint mask, byte[] buf);

    private const int AtEmptyPath = 0x1000, AtSymlinkNoFollow = 0x100;
    private const uint StatxType = 0x1;

    // O_NONBLOCK: an entry swapped for a FIFO between the listing and the open must not block the reader
    private const int ORdOnly = 0, ONonBlock = 0x800, OCloExec = 0x80000;
    private const byte DtUnknown = 0, DtReg = 8, DtLnk = 10;

    /// <summary>getdents64's system call number, per architecture (x86_64 217, arm64 61); 0 where unknown.</summary>
    private static readonly nint SysGetdents64 = RuntimeInformation.OSArchitecture switch
    {
        Architecture.X64 => 217,
        Architecture.Arm64 => 61,
        _ => 0,
    };

    /// <summary>O_DIRECTORY and O_NOFOLLOW, which differ between the architectures (asm/fcntl.h); O_PATH does not.</summary>
    private static readonly int ODirectory = RuntimeInformation.OSArchitecture == Architecture.Arm64 ? 0x4000 : 0x10000,
        ONoFollow = RuntimeInformation.OSArchitecture == Architecture.Arm64 ? 0x8000 : 0x20000;

    private const int OPath = 0x200000;

    /// <summary>Whether this reader works here (Linux on x86_64 or arm64).</summary>
    public static bool Available => OperatingSystem.IsLinux() && SysGetdents64 != 0;

    private static readonly byte[] Empty = [0];

    [ThreadStatic] private static byte[]? t_dents, t_data, t_statx;

    /// <summary>What <see cref="ReadFolder"/> found: every entry's kind (from d_type, an lstat where the file system
    /// gives none), and the text of each of the names asked for (<see cref="Asked"/>) that is a regular file and was
    /// read (null otherwise). <see cref="IsFolder"/> is false for <see cref="NoFolder"/>: the path is missing or not a
    /// folder, so nothing lies under it.</summary>
    public sealed record Listing(Dictionary<string, FileKind> Entries, IReadOnlyList<string> Asked, string?[] Texts, bool IsFolder = true)
    {
        public static readonly Listing NoFolder = new([], [], [], false);

        /// <summary>The text read for <paramref name="name"/>, or null when it was not asked for or not read.</summary>
        public string? Text(string name)
        {
            for (int i = 0; i < Asked.Count; i++)
                if (Asked[i] == name) return Texts[i];
            return null;
        }
    }

    /// <summary>The entries of <paramref name="dir"/> (a real path) and the text of each regular file among
    /// <paramref name="names"/> (at most <paramref name="max"/> bytes; a longer file is left unread, for the caller to
    /// refuse). A file whose inode (on the folder's file system) was read before is not read again: an export writes
    /// identical attribute texts once and links them, so a tree of 8,192 CPUs holds a few hundred thousand distinct
    /// files, not two million. <paramref name="device"/>: the folder's device when known (<see cref="TreeFileSystem"/>),
    /// else it is asked. Null when the folder cannot be opened or listed.</summary>
    public static Listing? ReadFolder(string dir, IReadOnlyList<string> names, int max, System.Collections.Concurrent.ConcurrentDictionary<(ulong, ulong), string> byInode, ulong? device)
    {
        int dfd = Open(Z(dir), ORdOnly | ODirectory | OCloExec);
        return dfd < 0 ? null : ReadOpen(dfd, names, max, byInode, device);
    }

    /// <summary><see cref="ReadFolder"/> of the folder <paramref name="name"/> of an open folder <paramref name="parentFd"/>
    /// (a one-component lookup instead of the whole path's). False when <paramref name="name"/> cannot be opened as a
    /// folder that is not a link (missing, a file, a link: the caller resolves it its own way).</summary>
    public static bool TryReadFolderAt(int parentFd, string name, IReadOnlyList<string> names, int max,
        System.Collections.Concurrent.ConcurrentDictionary<(ulong, ulong), string> byInode, ulong? device, out Listing? listing)
    {
        listing = null;
        Span<byte> path = stackalloc byte[NameMax + 1];
        int dfd = OpenAt(parentFd, ref Terminated(name, path), ORdOnly | ODirectory | ONoFollow | OCloExec);
        if (dfd < 0) return false;
        listing = ReadOpen(dfd, names, max, byInode, device);
        return true;
    }

    /// <summary>A descriptor of the folder <paramref name="dir"/> to look names up in (O_PATH), or -1.</summary>
    public static int OpenPath(string dir) => Open(Z(dir), OPath | ODirectory | OCloExec);

    public static void CloseFd(int fd) => Close(fd);

    /// <summary>The device of what <paramref name="path"/> names (stx_dev_major, stx_dev_minor), or ulong.MaxValue.</summary>
    public static ulong DeviceOf(string path)
    {
        int fd = OpenPath(path);
        if (fd < 0) return ulong.MaxValue;
        try { return Device(fd); }
        finally { Close(fd); }
    }

    /// <summary>Lists the open folder <paramref name="dfd"/> and reads its files (<see cref="ReadFolder"/>); closes it.</summary>
    private static Listing? ReadOpen(int dfd, IReadOnlyList<string> names, int max, System.Collections.Concurrent.ConcurrentDictionary<(ulong, ulong), string> byInode, ulong? device)
    {
        try
        {
            var inos = names.Count == 0 ? [] : new ulong[names.Count];
            var kinds = List(dfd, names, inos);
            if (kinds is null) return null;
            var texts = names.Count == 0 ? [] : new string?[names.Count];
            var listing = new Listing(kinds, names, texts);
            ulong? dev = device;
            for (int i = 0; i < names.Count; i++)
            {
                if (kinds.GetValueOrDefault(names[i]) != FileKind.Regular) continue;
                dev ??= Device(dfd);
                if (dev != ulong.MaxValue && byInode.TryGetValue((dev.Value, inos[i]), out var known)) { texts[i] = known; continue; }
                texts[i] = ReadAt(dfd, names[i], max);
                if (texts[i] is { } text && dev != ulong.MaxValue) byInode.TryAdd((dev.Value, inos[i]), text);
            }
            return listing;
        }
        finally { Close(dfd); }
    }

    /// <summary>The device of an open folder's file system (statx's stx_dev_major, stx_dev_minor), or ulong.MaxValue.</summary>
    private static ulong Device(int dfd)
    {
        var st = t_statx ??= new byte[256];
        return Statx(dfd, ref Empty[0], AtEmptyPath, 0, st) == 0 ? ((ulong)BitConverter.ToUInt32(st, 136) << 32) | BitConverter.ToUInt32(st, 140) : ulong.MaxValue;
    }

    /// <summary>lstat of one entry, for file systems whose d_type is DT_UNKNOWN.</summary>
    private static FileKind KindAt(int dfd, string name)
    {
        var st = t_statx ??= new byte[256];
        Span<byte> path = stackalloc byte[NameMax + 1];
        if (Statx(dfd, ref Terminated(name, path), AtSymlinkNoFollow, StatxType, st) != 0) return FileKind.Missing;
        return FileStatus.KindOfMode(BitConverter.ToUInt16(st, 28));
    }

    private static FileKind KindOf(byte dt) => dt switch
    {
        1 => FileKind.Fifo, 2 => FileKind.CharDevice, 4 => FileKind.Directory, 6 => FileKind.BlockDevice,
        DtReg => FileKind.Regular, DtLnk => FileKind.SymbolicLink, 12 => FileKind.Socket, _ => FileKind.Other,
    };

    /// <summary>The folder's entries and their kinds; the inode of each of <paramref name="names"/> into
    /// <paramref name="inos"/>. Null when it cannot be listed.</summary>
    private static Dictionary<string, FileKind>? List(int dfd, IReadOnlyList<string> names, ulong[] inos)
    {
        var buf = t_dents ??= new byte[32 << 10];
        var found = t_found ??= [];
        found.Clear();
        while (true)
        {
            nint n = Getdents64(SysGetdents64, dfd, buf, buf.Length);
            if (n < 0) return null;
            if (n == 0) break;
            for (int off = 0; off < n;)
            {
                ulong ino = BitConverter.ToUInt64(buf, off);
                int reclen = BitConverter.ToUInt16(buf, off + 16);
                byte type = buf[off + 18];
                int nameStart = off + 19, end = nameStart;
                while (end < off + reclen && buf[end] != 0) end++;
                off += reclen;
                var name = NameTable.Get(buf.AsSpan(nameStart, end - nameStart));
                if (name is "." or "..") continue;
                found.Add((name, type == DtUnknown ? KindAt(dfd, name) : KindOf(type)));
                for (int i = 0; i < names.Count; i++)
                    if (names[i] == name) inos[i] = ino;
            }
        }
        var kinds = new Dictionary<string, FileKind>(found.Count, StringComparer.Ordinal);
        foreach (var (name, kind) in found) kinds[name] = kind;
        return kinds;
    }

    /// <summary>The entries of the folder being listed, before they go into a dictionary of the right size.</summary>
    [ThreadStatic] private static List<(string Name, FileKind Kind)>? t_found;

    private static string? ReadAt(int dfd, string name, int max)
    {
        Span<byte> path = stackalloc byte[NameMax + 1];
        int fd = OpenAt(dfd, ref Terminated(name, path), ORdOnly | ONonBlock | OCloExec);
        if (fd < 0) return null;
        try
        {
            var buf = t_data ??= new byte[64 << 10];
            int len = 0;
            while (true)
            {
                if (len == buf.Length)
                {
                    if (buf.Length > max) return null;
                    Array.Resize(ref buf, Math.Min(max + 1, buf.Length * 2));
                    t_data = buf;
                }
                nint r = Read(fd, ref buf[len], buf.Length - len);
                if (r < 0) return null;
                if (r == 0) break;
                len += (int)r;
                // a regular file's short read is its end (sysfs gives an attribute whole in one read)
                if (len < buf.Length) break;
            }
            return Encoding.UTF8.GetString(buf, 0, len);
        }
        finally { Close(fd); }
    }

    /// <summary>NAME_MAX: the longest name getdents64 returns, in bytes.</summary>
    private const int NameMax = 255;

    /// <summary><paramref name="name"/> (an entry's name, at most <see cref="NameMax"/> bytes) NUL-terminated in
    /// <paramref name="buf"/>; a reference to its first byte.</summary>
    private static ref byte Terminated(string name, Span<byte> buf)
    {
        int n = Encoding.UTF8.GetBytes(name, buf[..NameMax]);
        buf[n] = 0;
        return ref buf[0];
    }

    /// <summary>A NUL-terminated UTF-8 path.</summary>
    private static byte[] Z(string s)
    {
        var b = new byte[Encoding.UTF8.GetByteCount(s) + 1];
        Encoding.UTF8.GetBytes(s, 0, s.Length, b, 0);
        return b;
    }
}
