using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Text;

namespace Numasim.Import;

/// <summary>One folder of a <see cref="FolderBatch"/>: a name looked up in the open folder <paramref name="Dirfd"/>
/// without following a link (<paramref name="NoFollow"/>), or a real path (<see cref="IoRing.AtFdCwd"/>);
/// <paramref name="Device"/>: its file system's device when known.</summary>
internal readonly record struct FolderOpen(int Dirfd, string Path, bool NoFollow, ulong? Device);

/// <summary>
/// What <see cref="DirectoryReader.ReadFolder"/> does for one folder, for many at once through an <see cref="IoRing"/>:
/// the folders are opened in one submission, listed (getdents64 has no io_uring form: two calls a folder), and their
/// asked regular files are each opened, read and closed by one linked chain, all in a few submissions, then the
/// folders are closed in one. A 1,024-node dump's 65,536 memoryN folders cost seven system calls each one by one.
/// The texts, kinds and the inode cache come out as the one-by-one reads give them: a file whose inode is known is
/// not read, and one asked by several folders of the batch is read once.
/// </summary>
internal sealed class FolderBatch
{
    /// <summary>A file's first read: an attribute is at most a page; a longer file is read again one by one.</summary>
    private const int ReadBytes = 8 << 10;

    /// <summary>The ring's requests: an open, a read and a close for each of 85 files at once.</summary>
    private const uint Entries = 256;

    /// <summary>Readers not in use: a ring and its buffers are made once, not once a batch (an import reads a
    /// 1,024-node dump in about 115 batches, each on a thread of its own).</summary>
    private static readonly ConcurrentBag<FolderBatch> Idle = [];
    private static volatile bool s_unavailable;

    private readonly IoRing _ring;
    private readonly int _chains;
    private readonly byte[] _data;
    private readonly nint _dataAt;
    private readonly NameBuffer _paths = new(64 << 10), _names;

    private FolderBatch(IoRing ring)
    {
        _ring = ring;
        _chains = Math.Min(ring.Slots, ring.Capacity / 3);
        _data = GC.AllocateArray<byte>(_chains * ReadBytes, pinned: true);
        _dataAt = Marshal.UnsafeAddrOfPinnedArrayElement(_data, 0);
        _names = new NameBuffer(_chains * 256);
    }

    /// <summary>A reader for one thread's batch, or null where io_uring cannot be used (then never tried again).</summary>
    public static FolderBatch? Rent()
    {
        if (Idle.TryTake(out var b)) return b;
        if (s_unavailable) return null;
        var ring = IoRing.TryCreate(Entries, (int)Entries / 3);
        if (ring is null) { s_unavailable = true; return null; }
        return new FolderBatch(ring);
    }

    /// <summary>Gives the reader back once its batch is read (nothing of it is in flight then).</summary>
    public void Return() => Idle.Add(this);

    /// <summary>The batch's <paramref name="opens"/>, listed, with the texts of their regular files among
    /// <paramref name="names"/>; null where a folder was opened but could not be listed. <paramref name="opened"/>[i]
    /// says whether folder i could be opened (the caller resolves the ones that could not its own way).</summary>
    public FolderListing?[] Read(IReadOnlyList<FolderOpen> opens, IReadOnlyList<string> names, int max,
        ConcurrentDictionary<(ulong, ulong), string> byInode, bool[] opened)
    {
        var listings = new FolderListing?[opens.Count];
        // a ring's worth of folders open at a time: two readers' batches of 1,024 would need 2,048 descriptors at once
        for (int start = 0; start < opens.Count; start += (int)Entries)
            ReadChunk(opens, start, Math.Min((int)Entries, opens.Count - start), names, max, byInode, opened, listings);
        return listings;
    }

    /// <summary>Folders <paramref name="start"/>.. (<paramref name="count"/>) of <see cref="Read"/>: opened, listed,
    /// their files read, closed.</summary>
    private void ReadChunk(IReadOnlyList<FolderOpen> opens, int start, int count, IReadOnlyList<string> names, int max,
        ConcurrentDictionary<(ulong, ulong), string> byInode, bool[] opened, FolderListing?[] listings)
    {
        var fds = OpenAll(opens, start, count);
        try
        {
            var texts = new string?[count][];
            var reads = new List<FileRead>();
            var first = new Dictionary<(ulong, ulong), int>();
            for (int i = 0; i < count; i++)
            {
                opened[start + i] = fds[i] >= 0;
                if (fds[i] >= 0 && Pick(fds[i], opens[start + i].Device, names, byInode, reads, first, i, out texts[i]) is { } l) listings[start + i] = l;
            }
            ReadAll(reads, fds, names, max);
            foreach (var r in reads)
            {
                // a file a later folder asked again takes the first read's text; after a failed read it tries its own, as one by one
                var text = r.Copy < 0 ? r.Text : reads[r.Copy].Text ?? DirectoryReader.ReadAt(fds[r.Folder], names[r.Name], max);
                texts[r.Folder][r.Name] = text;
                if (text is not null && r.Device != ulong.MaxValue) byInode.TryAdd((r.Device, r.Inode), text);
            }
        }
        finally { CloseAll(fds); }
    }

    /// <summary>A regular file to read: its folder and name (indices), its inode's key, and the first read of the same
    /// inode in this batch (-1 when this is it).</summary>
    private sealed class FileRead(int folder, int name, ulong device, ulong inode, int copy)
    {
        public int Folder = folder, Name = name, Copy = copy;
        public ulong Device = device, Inode = inode;
        public string? Text;
    }

    /// <summary>Folder <paramref name="i"/> of a chunk listed (null when it cannot be), and its asked regular files
    /// (<paramref name="t"/>) either taken from the inode cache or queued to be read.</summary>
    private static FolderListing? Pick(int fd, ulong? device, IReadOnlyList<string> names, ConcurrentDictionary<(ulong, ulong), string> byInode,
        List<FileRead> reads, Dictionary<(ulong, ulong), int> first, int i, out string?[] t)
    {
        var inos = names.Count == 0 ? [] : new ulong[names.Count];
        var listing = DirectoryReader.List(fd, names, inos, out t);
        if (listing is null) return null;
        ulong? dev = device;
        for (int j = 0; j < names.Count; j++)
        {
            if (!listing.TryGetKind(names[j], out var kind) || kind != FileKind.Regular) continue;
            dev ??= DirectoryReader.Device(fd);
            var key = (dev.Value, inos[j]);
            if (dev != ulong.MaxValue && byInode.TryGetValue(key, out var known)) { t[j] = known; continue; }
            int copy = dev != ulong.MaxValue && first.TryGetValue(key, out var f) ? f : -1;
            if (copy < 0 && dev != ulong.MaxValue) first[key] = reads.Count;
            reads.Add(new FileRead(i, j, dev.Value, inos[j], copy));
        }
        return listing;
    }

    /// <summary>Each folder's descriptor, or -1 where it cannot be opened.</summary>
    private int[] OpenAll(IReadOnlyList<FolderOpen> opens, int first, int count)
    {
        var fds = new int[count];
        for (int start = 0; start < count;)
        {
            _paths.Clear();
            int k = start;
            for (; k < count && _ring.Free > 0 && _paths.Fits(opens[first + k].Path); k++)
            {
                var o = opens[first + k];
                _ring.OpenAt(o.Dirfd, _paths.Add(o.Path), DirectoryReader.FolderFlags(o.NoFollow), slot: -1, (ulong)k);
            }
            if (!_ring.SubmitAndWait((at, res) => fds[(int)at] = res))
                for (int i = start; i < k; i++) fds[i] = DirectoryReader.OpenFolder(opens[first + i].Dirfd, opens[first + i].Path, opens[first + i].NoFollow);
            start = k;
        }
        return fds;
    }

    private void CloseAll(int[] fds)
    {
        for (int start = 0; start < fds.Length;)
        {
            int k = start;
            for (; k < fds.Length && _ring.Free > 0; k++)
                if (fds[k] >= 0) _ring.CloseFd(fds[k], 0);
            if (!_ring.SubmitAndWait(static (_, _) => { }))
                for (int i = start; i < k; i++)
                    if (fds[i] >= 0) DirectoryReader.CloseFd(fds[i]);
            start = k;
        }
    }

    /// <summary>The queued files' texts: each opened into a slot, read and closed (open, then read only when it opened,
    /// then close whatever the read gave), as many at once as the ring holds. A file that fills the buffer, or whose
    /// chain the kernel refused, is read one by one.</summary>
    private void ReadAll(List<FileRead> reads, int[] fds, IReadOnlyList<string> names, int max)
    {
        var todo = reads.Where(r => r.Copy < 0).ToList();
        var lengths = new int[_chains];
        for (int start = 0; start < todo.Count; start += _chains)
        {
            int n = Math.Min(_chains, todo.Count - start);
            _names.Clear();
            for (int s = 0; s < n; s++)
            {
                var r = todo[start + s];
                lengths[s] = -1;
                _ring.OpenAt(fds[r.Folder], _names.Add(names[r.Name]), DirectoryReader.DirectFileFlags, s, Tag(s, 0), IoRing.Link);
                _ring.ReadFixed(s, _dataAt + s * ReadBytes, ReadBytes, Tag(s, 1), IoRing.HardLink);
                _ring.CloseFixed(s, Tag(s, 2));
            }
            bool ok = _ring.SubmitAndWait((tag, res) => { if ((tag & 3) == 1) lengths[(int)(tag >> 2)] = res; });
            for (int s = 0; s < n; s++)
            {
                var r = todo[start + s];
                int len = ok ? lengths[s] : ReadBytes;
                // a failed open cancels the read (-ECANCELED): the file is missing or unreadable, as ReadAt finds it
                r.Text = len < 0 ? null
                    : len < ReadBytes ? Encoding.UTF8.GetString(_data, s * ReadBytes, len)
                    : DirectoryReader.ReadAt(fds[r.Folder], names[r.Name], max);
            }
        }
    }

    private static ulong Tag(int slot, int step) => ((ulong)slot << 2) | (uint)step;

    /// <summary>NUL-terminated UTF-8 names in pinned memory, for the kernel to read during a submission.</summary>
    private sealed class NameBuffer(int bytes)
    {
        private readonly byte[] _buf = GC.AllocateArray<byte>(bytes, pinned: true);
        private int _used;

        public void Clear() => _used = 0;

        public bool Fits(string s) => _used + Encoding.UTF8.GetMaxByteCount(s.Length) + 1 <= _buf.Length;

        public nint Add(string s)
        {
            if (!Fits(s)) throw new ImportException($"{s}: name too long to read");
            int at = _used;
            int n = Encoding.UTF8.GetBytes(s, 0, s.Length, _buf, at);
            _buf[at + n] = 0;
            _used = at + n + 1;
            return Marshal.UnsafeAddrOfPinnedArrayElement(_buf, at);
        }
    }
}
