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
    private static extern int OpenAt(int dirfd, byte[] path, int flags);

    [DllImport("libc", EntryPoint = "read", SetLastError = true)]
    private static extern nint Read(int fd, ref byte buf, nint count);

    [DllImport("libc", EntryPoint = "close")]
    private static extern int Close(int fd);

    [DllImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static extern nint Getdents64(nint number, int fd, byte[] buf, nint count);

    [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
    private static extern int Statx(int dirfd, byte[] path, int flags, uint mask, byte[] buf);

    private const int AtEmptyPath = 0x1000;

    private const int ORdOnly = 0, ODirectory = 0x10000, OCloExec = 0x80000;
    private const byte DtReg = 8;

    /// <summary>getdents64's system call number, per architecture (x86_64 217, arm64 61); 0 where unknown.</summary>
    private static readonly nint SysGetdents64 = RuntimeInformation.OSArchitecture switch
    {
        Architecture.X64 => 217,
        Architecture.Arm64 => 61,
        _ => 0,
    };

    /// <summary>Whether this reader works here (Linux on x86_64 or arm64).</summary>
    public static bool Available => OperatingSystem.IsLinux() && SysGetdents64 != 0;

    private const byte DtLnk = 10;
    private static readonly byte[] Empty = [0];

    [ThreadStatic] private static byte[]? t_dents, t_data, t_statx;

    /// <summary>What <see cref="ReadMany"/> found: the texts of the regular files asked for (null for a name that does
    /// not exist), and the names of the folder's symbolic links.</summary>
    public sealed record Listing(Dictionary<string, string?> Texts, HashSet<string> Links);

    /// <summary>The regular files of <paramref name="dir"/> (a real path) among <paramref name="names"/> and their text
    /// (at most <paramref name="max"/> bytes each; a longer file is left out, for the caller to refuse), and the folder's
    /// links. A file whose inode (on the folder's file system) was read before is not read again: an export writes
    /// identical attribute texts once and links them, so a tree of 8,192 CPUs holds a few hundred thousand distinct
    /// files, not two million. Null when the folder cannot be opened or listed.</summary>
    public static Listing? ReadMany(string dir, IReadOnlyCollection<string> names, int max, System.Collections.Concurrent.ConcurrentDictionary<(ulong, ulong), string> byInode)
    {
        int dfd = Open(Z(dir), ORdOnly | ODirectory | OCloExec);
        if (dfd < 0) return null;
        try
        {
            var entries = List(dfd);
            if (entries is null) return null;
            var st = t_statx ??= new byte[256];
            ulong dev = Statx(dfd, Empty, AtEmptyPath, 0, st) == 0 ? ((ulong)BitConverter.ToUInt32(st, 136) << 32) | BitConverter.ToUInt32(st, 140) : ulong.MaxValue;
            var result = new Dictionary<string, string?>(names.Count, StringComparer.Ordinal);
            foreach (var name in names)
            {
                if (!entries.TryGetValue(name, out var e)) { result[name] = null; continue; }
                if (e.Type != DtReg) continue;
                if (dev != ulong.MaxValue && byInode.TryGetValue((dev, e.Ino), out var known)) { result[name] = known; continue; }
                var text = ReadAt(dfd, name, max);
                if (text is null) continue;
                result[name] = text;
                if (dev != ulong.MaxValue) byInode.TryAdd((dev, e.Ino), text);
            }
            var links = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (name, e) in entries) if (e.Type == DtLnk) links.Add(name);
            return new Listing(result, links);
        }
        finally { Close(dfd); }
    }

    /// <summary>The entries of <paramref name="dir"/> (a real path) with their kinds from d_type (DT_UNKNOWN: 0), or
    /// null when it cannot be opened or listed.</summary>
    public static List<(string Name, FileKind Kind)>? ListKinds(string dir)
    {
        int dfd = Open(Z(dir), ORdOnly | ODirectory | OCloExec);
        if (dfd < 0) return null;
        try
        {
            var entries = List(dfd);
            return entries?.Where(e => e.Key is not ("." or "..")).Select(e => (e.Key, KindOf(e.Value.Type))).ToList();
        }
        finally { Close(dfd); }
    }

    private static FileKind KindOf(byte dt) => dt switch
    {
        1 => FileKind.Fifo, 2 => FileKind.CharDevice, 4 => FileKind.Directory, 6 => FileKind.BlockDevice,
        DtReg => FileKind.Regular, DtLnk => FileKind.SymbolicLink, 12 => FileKind.Socket, _ => FileKind.Missing,
    };

    private static Dictionary<string, (byte Type, ulong Ino)>? List(int dfd)
    {
        var buf = t_dents ??= new byte[32 << 10];
        var kinds = new Dictionary<string, (byte, ulong)>(StringComparer.Ordinal);
        while (true)
        {
            nint n = Getdents64(SysGetdents64, dfd, buf, buf.Length);
            if (n < 0) return null;
            if (n == 0) return kinds;
            for (int off = 0; off < n;)
            {
                ulong ino = BitConverter.ToUInt64(buf, off);
                int reclen = BitConverter.ToUInt16(buf, off + 16);
                byte type = buf[off + 18];
                int nameStart = off + 19, end = nameStart;
                while (end < off + reclen && buf[end] != 0) end++;
                kinds[Encoding.UTF8.GetString(buf, nameStart, end - nameStart)] = (type, ino);
                off += reclen;
            }
        }
    }

    private static string? ReadAt(int dfd, string name, int max)
    {
        int fd = OpenAt(dfd, Z(name), ORdOnly | OCloExec);
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

    /// <summary>A NUL-terminated UTF-8 path.</summary>
    private static byte[] Z(string s)
    {
        var b = new byte[Encoding.UTF8.GetByteCount(s) + 1];
        Encoding.UTF8.GetBytes(s, 0, s.Length, b, 0);
        return b;
    }
}
