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
/// the folders are opened in one submission, listed (getdents64 has no io_uring form: two calls a folder), their asked
/// regular files opened in one submission, read (a call each: see <see cref="IoRing"/>) and closed in one, then the
/// folders closed in one. A 1,024-node dump's 65,536 memoryN folders cost seven system calls each one by one, three so.
/// The texts, kinds and the inode cache come out as the one-by-one reads give them: a file whose inode is known is
/// not read, and one asked by several folders of the batch is read once.
/// </summary>
internal sealed class FolderBatch
{
    /// <summary>The ring's requests: 256 opens or closes at once.</summary>
    private const uint Entries = 256;

    /// <summary>Readers not in use: a ring and its name buffers are made once, not once a batch (an import reads a
    /// 1,024-node dump in about 115 batches, each on a thread of its own).</summary>
    private static readonly ConcurrentBag<FolderBatch> Idle = [];
    private static volatile bool s_unavailable;

    private readonly IoRing _ring;
    private readonly List<int> _toRead = [];
    private readonly NameBuffer _paths = new(64 << 10), _names = new((int)Entries * 256);

    private FolderBatch(IoRing ring) => _ring = ring;

    /// <summary>A reader for one thread's batch, or null where io_uring cannot be used (then never tried again).</summary>
    public static FolderBatch? Rent()
    {
        if (Idle.TryTake(out var b)) return b;
        if (s_unavailable) return null;
        var ring = IoRing.TryCreate(Entries);
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
        finally { CloseAll(fds, fds.Length); }
    }

    /// <summary>A regular file to read: its folder and name (indices), its inode's key, and the first read of the same
    /// inode in this batch (-1 when this is it).</summary>
    private sealed class FileRead(int folder, int name, ulong device, ulong inode, int copy)
    {
        public int Folder = folder, Name = name, Copy = copy;
        public ulong Device = device, Inode = inode;
        public string? Text;
    }

    /// <summary>Folder <paramref name="i"/> of a chunk listed (null when it cannot be), with its asked regular files
    /// (<paramref name="t"/>) taken from the inode cache or queued to be read (<see cref="DirectoryReader.ListKnown"/>).</summary>
    private FolderListing? Pick(int fd, ulong? device, IReadOnlyList<string> names, ConcurrentDictionary<(ulong, ulong), string> byInode,
        List<FileRead> reads, Dictionary<(ulong, ulong), int> first, int i, out string?[] t)
    {
        var listing = DirectoryReader.ListKnown(fd, names, device, byInode, _toRead, out t, out var inos, out var dev);
        if (listing is null) return null;
        foreach (int j in _toRead)
        {
            var key = (dev, inos[j]);
            int copy = dev != ulong.MaxValue && first.TryGetValue(key, out var f) ? f : -1;
            if (copy < 0 && dev != ulong.MaxValue) first[key] = reads.Count;
            reads.Add(new FileRead(i, j, dev, inos[j], copy));
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
                _ring.OpenAt(o.Dirfd, _paths.Add(o.Path), DirectoryReader.FolderFlags(o.NoFollow), (ulong)k);
            }
            if (!_ring.SubmitAndWait((at, res) => fds[(int)at] = res))
                for (int i = start; i < k; i++) fds[i] = DirectoryReader.OpenFolder(opens[first + i].Dirfd, opens[first + i].Path, opens[first + i].NoFollow);
            start = k;
        }
        return fds;
    }

    /// <summary>Closes descriptors 0..<paramref name="count"/> of <paramref name="fds"/> that are open, a ring's worth at once.</summary>
    private void CloseAll(int[] fds, int count)
    {
        for (int start = 0; start < count;)
        {
            int k = start;
            for (; k < count && _ring.Free > 0; k++)
                if (fds[k] >= 0) _ring.CloseFd(fds[k], 0);
            if (!_ring.SubmitAndWait(static (_, _) => { }))
                for (int i = start; i < k; i++)
                    if (fds[i] >= 0) DirectoryReader.CloseFd(fds[i]);
            start = k;
        }
    }

    /// <summary>The queued files' texts: a ring's worth opened in one submission, each read (a system call: see
    /// <see cref="IoRing"/>), closed in one. Where the kernel refuses a submission, the files are read one by one.</summary>
    private void ReadAll(List<FileRead> reads, int[] fds, IReadOnlyList<string> names, int max)
    {
        var todo = reads.Where(r => r.Copy < 0).ToList();
        var files = new int[_ring.Capacity];
        for (int start = 0; start < todo.Count; start += _ring.Capacity)
        {
            int n = Math.Min(_ring.Capacity, todo.Count - start);
            _names.Clear();
            for (int s = 0; s < n; s++)
                _ring.OpenAt(fds[todo[start + s].Folder], _names.Add(names[todo[start + s].Name]), DirectoryReader.FileFlags, (ulong)s);
            if (!_ring.SubmitAndWait((s, res) => files[(int)s] = res))
            {
                for (int s = 0; s < n; s++) todo[start + s].Text = DirectoryReader.ReadAt(fds[todo[start + s].Folder], names[todo[start + s].Name], max);
                continue;
            }
            for (int s = 0; s < n; s++)
                if (files[s] >= 0) todo[start + s].Text = DirectoryReader.ReadOpenFile(files[s], max);
            CloseAll(files, n);
        }
    }

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
