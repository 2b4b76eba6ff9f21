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

    /// <summary>The flags a folder is opened with to be listed; <paramref name="noFollow"/>: refusing a link (a name
    /// looked up in its parent, which the caller has not resolved).</summary>
    internal static int FolderFlags(bool noFollow) => ORdOnly | ODirectory | OCloExec | (noFollow ? ONoFollow : 0);

    /// <summary>The flags a regular file is opened with to be read (<see cref="ReadAt"/>'s).</summary>
    internal const int FileFlags = ORdOnly | ONonBlock | OCloExec;

    /// <summary>Whether this reader works here (Linux on x86_64 or arm64).</summary>
    public static bool Available => OperatingSystem.IsLinux() && SysGetdents64 != 0;

    private static readonly byte[] Empty = [0];

    [ThreadStatic] private static byte[]? t_dents, t_data, t_statx;

    /// <summary>The entries of <paramref name="dir"/> (a real path) and the text of each regular file among
    /// <paramref name="names"/> (at most <paramref name="max"/> bytes; a longer file is left unread, for the caller to
    /// refuse). A file whose inode (on the folder's file system) was read before is not read again: an export writes
    /// identical attribute texts once and links them, so a tree of 8,192 CPUs holds a few hundred thousand distinct
    /// files, not two million. <paramref name="device"/>: the folder's device when known (<see cref="TreeFileSystem"/>),
    /// else it is asked. Null when the folder cannot be opened or listed.</summary>
    public static FolderListing? ReadFolder(string dir, IReadOnlyList<string> names, int max, System.Collections.Concurrent.ConcurrentDictionary<(ulong, ulong), string> byInode, ulong? device)
    {
        int dfd = Open(Z(dir), FolderFlags(noFollow: false));
        return dfd < 0 ? null : ReadOpen(dfd, names, max, byInode, device);
    }

    /// <summary><see cref="ReadFolder"/> of the folder <paramref name="name"/> of an open folder <paramref name="parentFd"/>
    /// (a one-component lookup instead of the whole path's). False when <paramref name="name"/> cannot be opened as a
    /// folder that is not a link (missing, a file, a link: the caller resolves it its own way).</summary>
    public static bool TryReadFolderAt(int parentFd, string name, IReadOnlyList<string> names, int max,
        System.Collections.Concurrent.ConcurrentDictionary<(ulong, ulong), string> byInode, ulong? device, out FolderListing? listing)
    {
        listing = null;
        Span<byte> path = stackalloc byte[NameMax + 1];
        int dfd = OpenAt(parentFd, ref Terminated(name, path), FolderFlags(noFollow: true));
        if (dfd < 0) return false;
        listing = ReadOpen(dfd, names, max, byInode, device);
        return true;
    }

    /// <summary>The folder <paramref name="path"/> (a name in the folder <paramref name="dirfd"/>, or a real path with
    /// <see cref="IoRing.AtFdCwd"/>) opened to be listed (<see cref="FolderFlags"/>); -1 when it cannot be.</summary>
    internal static int OpenFolder(int dirfd, string path, bool noFollow) => OpenAt(dirfd, ref Z(path)[0], FolderFlags(noFollow));

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
    private static FolderListing? ReadOpen(int dfd, IReadOnlyList<string> names, int max, System.Collections.Concurrent.ConcurrentDictionary<(ulong, ulong), string> byInode, ulong? device)
    {
        try
        {
            var toRead = t_toRead ??= [];
            var listing = ListKnown(dfd, names, device, byInode, toRead, out var texts, out var inos, out var dev);
            if (listing is null) return null;
            foreach (int i in toRead)
            {
                texts[i] = ReadAt(dfd, names[i], max);
                if (texts[i] is { } text && dev != ulong.MaxValue) byInode.TryAdd((dev, inos[i]), text);
            }
            return listing;
        }
        finally { Close(dfd); }
    }

    [ThreadStatic] private static List<int>? t_toRead;

    /// <summary>The open folder listed (<see cref="List"/>), with the texts of its asked regular files whose inode
    /// <paramref name="byInode"/> knows filled in, and the indices of the other asked regular files put in
    /// <paramref name="toRead"/>: their inodes are in <paramref name="inos"/>, their file system's device in
    /// <paramref name="dev"/> (asked only when a regular file is, ulong.MaxValue when unknown). Null when it cannot be
    /// listed.</summary>
    internal static FolderListing? ListKnown(int dfd, IReadOnlyList<string> names, ulong? device, System.Collections.Concurrent.ConcurrentDictionary<(ulong, ulong), string> byInode,
        List<int> toRead, out string?[] texts, out ulong[] inos, out ulong dev)
    {
        toRead.Clear();
        inos = names.Count == 0 ? [] : new ulong[names.Count];
        dev = device ?? ulong.MaxValue;
        var listing = List(dfd, names, inos, out texts);
        if (listing is null) return null;
        ulong? d = device;
        for (int i = 0; i < names.Count; i++)
        {
            if (!listing.TryGetKind(names[i], out var kind) || kind != FileKind.Regular) continue;
            d ??= Device(dfd);
            if (d != ulong.MaxValue && byInode.TryGetValue((d.Value, inos[i]), out var known)) { texts[i] = known; continue; }
            toRead.Add(i);
        }
        dev = d ?? ulong.MaxValue;
        return listing;
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

    /// <summary>The folder's entries and their kinds, with <paramref name="texts"/> for the caller to fill; the inode
    /// of each of <paramref name="names"/> into <paramref name="inos"/>. Null when it cannot be listed.</summary>
    private static FolderListing? List(int dfd, IReadOnlyList<string> names, ulong[] inos, out string?[] texts)
    {
        var buf = t_dents ??= new byte[32 << 10];
        var found = t_names ??= new string[64];
        var kinds = t_kinds ??= new FileKind[64];
        int count = 0;
        texts = [];
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
                if (count == found.Length)
                {
                    Array.Resize(ref found, count * 2);
                    Array.Resize(ref kinds, count * 2);
                    t_names = found;
                    t_kinds = kinds;
                }
                found[count] = name;
                kinds[count++] = type == DtUnknown ? KindAt(dfd, name) : KindOf(type);
                for (int i = 0; i < names.Count; i++)
                    if (names[i] == name) inos[i] = ino;
            }
        }
        texts = names.Count == 0 ? [] : new string?[names.Count];
        return Distinct(found.AsSpan(0, count), kinds.AsSpan(0, count), names, texts);
    }

    /// <summary>The entries as a listing, a name listed twice (a folder changing while it is listed) once, at its
    /// first place with its last kind.</summary>
    private static FolderListing Distinct(Span<string> found, Span<FileKind> kinds, IReadOnlyList<string> names, string?[] texts)
    {
        if (found.Length <= FolderListing.Scanned && !HasDuplicate(found)) return new FolderListing(found.ToArray(), kinds.ToArray(), names, texts);
        // many entries, or a name twice: through an index, which the listing keeps for its lookups
        var outNames = new List<string>(found.Length);
        var outKinds = new List<FileKind>(found.Length);
        var at = new Dictionary<string, int>(found.Length, StringComparer.Ordinal);
        for (int i = 0; i < found.Length; i++)
        {
            if (at.TryGetValue(found[i], out int j)) { outKinds[j] = kinds[i]; continue; }
            at[found[i]] = outNames.Count;
            outNames.Add(found[i]);
            outKinds.Add(kinds[i]);
        }
        return new FolderListing([.. outNames], [.. outKinds], names, texts, index: at);
    }

    private static bool HasDuplicate(Span<string> found)
    {
        for (int i = 1; i < found.Length; i++)
            for (int j = 0; j < i; j++)
                if (found[i] == found[j]) return true;
        return false;
    }

    /// <summary>The entries of the folder being listed, before they go into arrays of the right size.</summary>
    [ThreadStatic] private static string[]? t_names;
    [ThreadStatic] private static FileKind[]? t_kinds;

    internal static string? ReadAt(int dfd, string name, int max)
    {
        Span<byte> path = stackalloc byte[NameMax + 1];
        int fd = OpenAt(dfd, ref Terminated(name, path), FileFlags);
        if (fd < 0) return null;
        try { return ReadOpenFile(fd, max); }
        finally { Close(fd); }
    }

    /// <summary>The text of the open regular file <paramref name="fd"/> (at most <paramref name="max"/> bytes; null when
    /// longer or unreadable); the caller closes it.</summary>
    internal static string? ReadOpenFile(int fd, int max)
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
