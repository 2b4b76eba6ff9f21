using System.Runtime.InteropServices;

namespace Numasim.Import;

/// <summary>
/// A minimal io_uring (Linux 5.6 or later) for the importer's opens and closes: many are queued, then one
/// io_uring_enter submits them all and waits, instead of a system call each (a system call costs about 1 µs of entry
/// and exit on this project's virtual machines, and a 1,024-node dump asks for half a million). Reads stay system
/// calls: tmpfs and sysfs files take no non-blocking reads (no FMODE_NOWAIT), so io_uring hands each to a kernel worker
/// thread (io-wq) while the submitter waits. <see cref="TryCreate"/> gives null where the kernel refuses io_uring (too
/// old, disabled, a seccomp filter): the caller then makes the calls one by one. Layouts are
/// include/uapi/linux/io_uring.h's; a ring is used by one thread at a time.
/// </summary>
internal sealed class IoRing : IDisposable
{
    [DllImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static extern int SysSetup(nint number, uint entries, byte[] p);

    [DllImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static extern int SysEnter(nint number, int fd, uint toSubmit, uint minComplete, uint flags, nint sig, nint sigsz);

    [DllImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static extern nint Mmap(nint addr, nint length, int prot, int flags, int fd, long offset);

    [DllImport("libc", EntryPoint = "munmap")]
    private static extern int Munmap(nint addr, nint length);

    [DllImport("libc", EntryPoint = "close")]
    private static extern int Close(int fd);

    // io_uring_setup, io_uring_enter: the same numbers on every architecture (the generic table)
    private const nint NrSetup = 425, NrEnter = 426;
    private const uint EnterGetEvents = 1, FeatSingleMmap = 1;
    private const long OffSqRing = 0, OffCqRing = 0x8000000, OffSqes = 0x10000000;
    private const int ProtRead = 1, ProtWrite = 2, MapShared = 1, MapPopulate = 0x8000;
    private const int Eintr = 4;

    private const byte OpOpenAt = 18, OpClose = 19;
    /// <summary>AT_FDCWD: a path relative to the working directory (an absolute path ignores it).</summary>
    public const int AtFdCwd = -100;

    private readonly int _fd;
    private readonly nint _sqRing, _cqRing, _sqes;
    private readonly nint _sqRingLen, _cqRingLen, _sqesLen;
    private readonly nint _sqTail, _cqHead, _cqTail, _cqes;
    private readonly uint _sqMask, _cqMask;
    private uint _tail, _queued;

    /// <summary>Requests that fit before <see cref="SubmitAndWait"/> must run (the submission queue's size).</summary>
    public int Capacity { get; }

    private IoRing(int fd, byte[] p)
    {
        _fd = fd;
        uint sqEntries = U32(p, 0), cqEntries = U32(p, 4), features = U32(p, 20);
        Capacity = (int)sqEntries;
        _sqRingLen = (nint)(U32(p, 64) + sqEntries * 4);
        _cqRingLen = (nint)(U32(p, 100) + cqEntries * 16);
        if ((features & FeatSingleMmap) != 0) _sqRingLen = _cqRingLen = Math.Max(_sqRingLen, _cqRingLen);
        _sqRing = Map(_sqRingLen, OffSqRing);
        _cqRing = (features & FeatSingleMmap) != 0 ? _sqRing : Map(_cqRingLen, OffCqRing);
        _sqesLen = (nint)(sqEntries * 64);
        _sqes = Map(_sqesLen, OffSqes);
        _sqTail = _sqRing + (nint)U32(p, 44);
        _sqMask = (uint)Marshal.ReadInt32(_sqRing + (nint)U32(p, 48));
        _cqHead = _cqRing + (nint)U32(p, 80);
        _cqTail = _cqRing + (nint)U32(p, 84);
        _cqMask = (uint)Marshal.ReadInt32(_cqRing + (nint)U32(p, 88));
        _cqes = _cqRing + (nint)U32(p, 100);
        // the submission array maps queue positions to entries once: position i is always entry i
        nint array = _sqRing + (nint)U32(p, 64);
        for (int i = 0; i < sqEntries; i++) Marshal.WriteInt32(array, i * 4, i);
        _tail = (uint)Marshal.ReadInt32(_sqTail);
    }

    /// <summary>A ring of <paramref name="entries"/> requests (a power of two), or null where io_uring cannot be used here.</summary>
    public static IoRing? TryCreate(uint entries)
    {
        if (!OperatingSystem.IsLinux()) return null;
        var p = new byte[120];
        int fd;
        try { fd = SysSetup(NrSetup, entries, p); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return null; }
        if (fd < 0) return null;
        try { return new IoRing(fd, p); }
        catch (IOException)
        {
            Close(fd);
            return null;
        }
    }

    private nint Map(nint length, long offset)
    {
        nint a = Mmap(0, length, ProtRead | ProtWrite, MapShared | MapPopulate, _fd, offset);
        return a == -1 ? throw new IOException("io_uring: mmap refused") : a;
    }

    private static uint U32(byte[] p, int at) => BitConverter.ToUInt32(p, at);

    /// <summary>Requests that can still be queued before <see cref="SubmitAndWait"/>.</summary>
    public int Free => Capacity - (int)_queued;

    /// <summary>openat(dirfd, path, flags); the completion gives the descriptor or -errno. <paramref name="path"/>: a
    /// NUL-terminated name in memory that stays put until <see cref="SubmitAndWait"/> returns.</summary>
    public void OpenAt(int dirfd, nint path, int flags, ulong userData)
    {
        nint e = Next(OpOpenAt, dirfd, userData);
        Marshal.WriteInt64(e, 16, path);
        Marshal.WriteInt32(e, 28, flags);
    }

    /// <summary>close(fd).</summary>
    public void CloseFd(int fd, ulong userData) => Next(OpClose, fd, userData);

    /// <summary>The next submission entry, cleared, with the fields every request has.</summary>
    private nint Next(byte op, int fd, ulong userData)
    {
        if (_queued == Capacity) throw new InvalidOperationException("io_uring: the submission queue is full");
        nint e = _sqes + (nint)((_tail & _sqMask) * 64);
        for (int i = 0; i < 64; i += 8) Marshal.WriteInt64(e, i, 0);
        Marshal.WriteByte(e, 0, op);
        Marshal.WriteInt32(e, 4, fd);
        Marshal.WriteInt64(e, 32, (long)userData);
        _tail++;
        _queued++;
        return e;
    }

    /// <summary>Submits what is queued and waits until every request of it has completed; each completion goes to
    /// <paramref name="complete"/> (user data, result: a count, a descriptor, or -errno). False when the kernel
    /// refused the submission (the caller falls back to its one-by-one calls for what it asked).</summary>
    public bool SubmitAndWait(Action<ulong, int> complete)
    {
        uint want = _queued;
        if (want == 0) return true;
        // the entries are written before the tail that publishes them
        Interlocked.MemoryBarrier();
        Marshal.WriteInt32(_sqTail, (int)_tail);
        uint submitted = 0, done = 0;
        while (done < want)
        {
            uint toSubmit = want - submitted;
            int r = SysEnter(NrEnter, _fd, toSubmit, want - done, EnterGetEvents, 0, 0);
            if (r < 0)
            {
                if (Marshal.GetLastPInvokeError() == Eintr) continue;
                if (done == 0 && submitted == 0) { Reset(); return false; }
                throw new ImportException($"io_uring_enter failed (errno {Marshal.GetLastPInvokeError()}) with reads in flight");
            }
            submitted += (uint)r;
            done += Reap(complete);
        }
        _queued = 0;
        return true;
    }

    /// <summary>Takes back what was queued but never submitted.</summary>
    private void Reset()
    {
        _tail -= _queued;
        Interlocked.MemoryBarrier();
        Marshal.WriteInt32(_sqTail, (int)_tail);
        _queued = 0;
    }

    /// <summary>Hands every completion posted so far to <paramref name="complete"/>; their number.</summary>
    private uint Reap(Action<ulong, int> complete)
    {
        uint head = (uint)Marshal.ReadInt32(_cqHead);
        uint tail = (uint)Marshal.ReadInt32(_cqTail);
        Interlocked.MemoryBarrier();
        uint n = 0;
        for (; head != tail; head++, n++)
        {
            nint c = _cqes + (nint)((head & _cqMask) * 16);
            complete((ulong)Marshal.ReadInt64(c, 0), Marshal.ReadInt32(c, 8));
        }
        Interlocked.MemoryBarrier();
        Marshal.WriteInt32(_cqHead, (int)head);
        return n;
    }

    public void Dispose()
    {
        if (_sqes != 0) Munmap(_sqes, _sqesLen);
        if (_cqRing != 0 && _cqRing != _sqRing) Munmap(_cqRing, _cqRingLen);
        if (_sqRing != 0) Munmap(_sqRing, _sqRingLen);
        Close(_fd);
    }
}
