using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Numasim.Snapshots;

/// <summary>The two fingerprints a state carries, both kept up to date by the writers of observed fields:
/// <see cref="Plain"/> is a Zobrist hash of the observation, <see cref="Symmetric"/> the same with the fields of
/// interchangeable objects (DIMM slots, hot-added blocks, CPUs) summed as a multiset of their values.</summary>
public struct Fingerprints
{
    public ulong Plain;
    /// <summary>The symmetric fingerprint's two parts: positional fields XORed, interchangeable objects summed (the
    /// two must not share a word: XOR and addition do not commute).</summary>
    public ulong SymmetricXor, SymmetricSum;

    public readonly ulong Symmetric => Zobrist.Mix(SymmetricXor ^ Zobrist.Mix(SymmetricSum + 0x51ED));
}

/// <summary>
/// A machine's compact state: every piece of kernel, hypervisor and checker state that changes after boot lives
/// in one of its regions (<see cref="StateArray{T}"/>, <see cref="StateValue{T}"/>), registered while the machine
/// is built, in a fixed order. A state is then a value: <see cref="Save"/> copies the regions into a
/// <see cref="StateSnapshot"/> (a few KiB of bytes), <see cref="Restore"/> copies them back: after an operation,
/// only the regions it wrote. What never changes after boot (firmware tables, the e820 map, the boot
/// reservations, the sysfs skeleton and attribute groups) stays in ordinary objects shared by all states; what
/// is derived (/sys and /proc text) is a view computed from the state. docs/checker.md says how to add state.
/// </summary>
public sealed class StateStore
{
    private readonly List<StateRegion> _regions = [];
    private readonly List<StateRegion> _dirty = [];
    private readonly List<Action> _onRestore = [];
    private StateSnapshot? _base;
    private bool _sealed;

    public StateStore() => Fp = new StateValue<Fingerprints>(this, "fingerprints");

    /// <summary>The incremental fingerprints (the first region: they are saved and restored with the state).</summary>
    internal StateValue<Fingerprints> Fp { get; }

    public IReadOnlyList<StateRegion> Regions => _regions;

    /// <summary>Bytes a saved state takes now.</summary>
    public int StateBytes
    {
        get
        {
            int n = StateSnapshot.HeaderBytes(_regions.Count);
            foreach (var r in _regions) n += r.ByteLength;
            return n;
        }
    }

    internal int Register(StateRegion region)
    {
        if (_sealed)
            throw new InvalidOperationException($"state region '{region.Name}' registered after the machine's state was first saved: " +
                                                "every region must exist once boot is over (docs/checker.md)");
        _regions.Add(region);
        return _regions.Count - 1;
    }

    internal void MarkDirty(StateRegion r)
    {
        r.Dirty = true;
        _dirty.Add(r);
    }

    /// <summary>Runs after every restore: caches kept beside the state (last pageblock used, APIC lookups) forget.</summary>
    public void OnRestore(Action invalidate) => _onRestore.Add(invalidate);

    /// <summary>The plain and symmetric fingerprints of the current state.</summary>
    public Fingerprints Fingerprints => Fp.Value;

    /// <summary>Records that an observed field changed (Zobrist update): key names the field (kind and index),
    /// symmetryClass is nonzero for a field of an interchangeable object (the symmetric fingerprint then counts
    /// its value, not its position).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Observe(ulong key, ulong oldValue, ulong newValue, ulong symmetryClass = 0)
    {
        if (oldValue == newValue) return;
        ref var fp = ref Fp.Mut;
        ulong d = Zobrist.Term(key, oldValue) ^ Zobrist.Term(key, newValue);
        fp.Plain ^= d;
        if (symmetryClass == 0) fp.SymmetricXor ^= d;
        else fp.SymmetricSum += Zobrist.Term(symmetryClass, newValue) - Zobrist.Term(symmetryClass, oldValue);
    }

    /// <summary>The current state as a value. The machine then counts as being in that state (see Restore).</summary>
    public StateSnapshot Save() => Save(null);

    /// <summary>Saves into a snapshot no longer needed (its bytes are overwritten when the size fits; else a new one).</summary>
    public StateSnapshot Save(StateSnapshot? reuse)
    {
        _sealed = true;
        var parent = _base; // the state is the base's plus the regions written since (none known when null)
        var s = StateSnapshot.Capture(_regions, reuse);
        s.SetParent(ReferenceEquals(parent, s) ? null : parent, _dirty);
        ClearDirty();
        _base = s;
        return s;
    }

    /// <summary>Puts the machine in a saved state. When it was last saved or restored from the same snapshot, only
    /// the regions written since are copied back (an undo at region granularity).</summary>
    public void Restore(StateSnapshot s) => Restore(s, _regions.Count);

    /// <summary>Restores the first <paramref name="regions"/> regions of a snapshot that may hold more (a machine's
    /// own regions, from a snapshot that also holds a checker driver's).</summary>
    public void Restore(StateSnapshot s, int regions)
    {
        _sealed = true;
        if (regions != _regions.Count) throw new ArgumentException("restore the machine's own regions", nameof(regions));
        if (s.RegionCount != _regions.Count)
        {
            s.CheckLayout(_regions, prefix: true);
            for (int i = 0; i < _regions.Count; i++) _regions[i].LoadFrom(s.RegionBytes(i));
            _base = null;
        }
        else if (ReferenceEquals(s, _base))
        {
            foreach (var r in _dirty) r.LoadFrom(s.RegionBytes(r.Index));
        }
        else if (_base is { } b && b.IsChildOf(s))
        {
            // Back to the state the base was saved from (the checker moving to a sibling): only the regions that step
            // wrote and those written since differ from it.
            foreach (int i in b.ParentDiff) _regions[i].LoadFrom(s.RegionBytes(i));
            foreach (var r in _dirty) r.LoadFrom(s.RegionBytes(r.Index));
            _base = s;
        }
        else
        {
            s.CheckLayout(_regions);
            for (int i = 0; i < _regions.Count; i++) _regions[i].LoadFrom(s.RegionBytes(i));
            _base = s;
        }
        ClearDirty();
        foreach (var a in _onRestore) a();
    }

    /// <summary>A 64-bit hash of the whole state (every region's bytes, the fingerprints excepted): the exact
    /// fingerprint, which tells apart states the observation merges (buddy layout, pcp contents, migratetypes).</summary>
    public ulong ExactHash()
    {
        ulong h = 0x9E3779B97F4A7C15;
        for (int r = 1; r < _regions.Count; r++)
        {
            var b = _regions[r].Bytes;
            h = Zobrist.Mix(h ^ (ulong)b.Length ^ (ulong)r << 40);
            int i = 0;
            for (; i + 8 <= b.Length; i += 8) h = (h ^ BinaryPrimitives.ReadUInt64LittleEndian(b[i..])) * 0x9E3779B97F4A7C15 + (h >> 29);
            for (; i < b.Length; i++) h = (h ^ b[i]) * 0x100000001B3;
        }
        return Zobrist.Mix(h);
    }

    /// <summary>Whether anything was written since the last save or restore.</summary>
    public bool Changed => _dirty.Count > 0;

    private void ClearDirty()
    {
        foreach (var r in _dirty) r.Dirty = false;
        _dirty.Clear();
    }
}

/// <summary>A machine's state as bytes: a header (region count, then each region's byte length) and the regions'
/// bytes in registration order. Independent of the machine it came from: it can be sent to another process
/// (<see cref="ToBytes"/>, <see cref="FromBytes"/>) and restored into any machine booted from the same spec and
/// profile.</summary>
public sealed class StateSnapshot
{
    // _data may be longer than the state (a reused snapshot keeps its array when a smaller state is saved into it):
    // the state is its first _offsets[^1] bytes.
    private byte[] _data;
    private int[] _offsets;

    private StateSnapshot(byte[] data)
    {
        _data = data;
        _offsets = ParseOffsets(data);
    }

    private static int[] ParseOffsets(byte[] data)
    {
        int n = BinaryPrimitives.ReadInt32LittleEndian(data);
        if (n < 1 || HeaderBytes(n) > data.Length) throw new FormatException("not a saved machine state");
        var offsets = new int[n + 1];
        int off = HeaderBytes(n);
        for (int i = 0; i < n; i++)
        {
            int len = BinaryPrimitives.ReadInt32LittleEndian(data.AsSpan(4 + 4 * i));
            if (len < 0 || off + len > data.Length) throw new FormatException("saved machine state: a region runs past the end");
            offsets[i] = off;
            off += len;
        }
        offsets[n] = off;
        if (off != data.Length) throw new FormatException("saved machine state: region lengths do not add up");
        return offsets;
    }

    internal static int HeaderBytes(int regions) => 4 + 4 * regions;

    internal static StateSnapshot Capture(List<StateRegion> regions, StateSnapshot? reuse)
    {
        int size = HeaderBytes(regions.Count);
        foreach (var r in regions) size += r.ByteLength;
        // A snapshot no longer needed keeps its arrays when the state fits (states on one path differ by a few list
        // nodes, so nearly every save fits into the spare of an earlier one): a save then allocates nothing.
        bool inPlace = reuse is not null && reuse._data.Length >= size && reuse._offsets.Length == regions.Count + 1;
        var data = inPlace ? reuse!._data : GC.AllocateUninitializedArray<byte>(size + size / 8);
        var offsets = inPlace ? reuse!._offsets : new int[regions.Count + 1];
        BinaryPrimitives.WriteInt32LittleEndian(data, regions.Count);
        int off = HeaderBytes(regions.Count);
        for (int i = 0; i < regions.Count; i++)
        {
            int len = regions[i].ByteLength;
            BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(4 + 4 * i), len);
            regions[i].SaveTo(data.AsSpan(off, len));
            offsets[i] = off;
            off += len;
        }
        offsets[regions.Count] = off;
        if (inPlace) return reuse!;
        var s = new StateSnapshot(data, offsets);
        return s;
    }

    private StateSnapshot(byte[] data, int[] offsets)
    {
        _data = data;
        _offsets = offsets;
    }

    // Which state this one was saved from and the regions written in between (StateStore.Restore's shortcut back to
    // it); a version per capture tells a parent overwritten in place since.
    private static long s_versions;
    private long _version;
    private StateSnapshot? _parent;
    private long _parentVersion;
    private int[] _parentDiff = [];
    private int _parentDiffCount;

    internal void SetParent(StateSnapshot? parent, List<StateRegion> written)
    {
        _version = Interlocked.Increment(ref s_versions);
        _parent = parent;
        _parentVersion = parent?._version ?? 0;
        if (_parentDiff.Length < written.Count) _parentDiff = new int[Math.Max(16, written.Count * 2)];
        for (int i = 0; i < written.Count; i++) _parentDiff[i] = written[i].Index;
        _parentDiffCount = written.Count;
    }

    internal bool IsChildOf(StateSnapshot s) => ReferenceEquals(_parent, s) && _parentVersion == s._version && s._version != 0;

    internal ReadOnlySpan<int> ParentDiff => _parentDiff.AsSpan(0, _parentDiffCount);

    internal int RegionCount => _offsets.Length - 1;

    /// <summary>Bytes of the saved state.</summary>
    public int Length => _offsets[^1];

    /// <summary>The fingerprints the state carried when saved.</summary>
    public Fingerprints Fingerprints => System.Runtime.InteropServices.MemoryMarshal.Read<Fingerprints>(RegionBytes(0));

    internal ReadOnlySpan<byte> RegionBytes(int i) => _data.AsSpan(_offsets[i], _offsets[i + 1] - _offsets[i]);

    internal void CheckLayout(List<StateRegion> regions, bool prefix = false)
    {
        int n = _offsets.Length - 1;
        if (prefix ? n < regions.Count : n != regions.Count)
            throw new InvalidOperationException($"saved state has {n} regions, the machine {regions.Count}: not the same spec and profile");
    }

    /// <summary>The state as bytes (a copy).</summary>
    public byte[] ToBytes() => AsSpan().ToArray();

    public ReadOnlySpan<byte> AsSpan() => _data.AsSpan(0, Length);

    /// <summary>A state from bytes made by <see cref="ToBytes"/>.</summary>
    public static StateSnapshot FromBytes(ReadOnlySpan<byte> bytes) => new(bytes.ToArray());

    /// <summary>Whether two saved states are byte for byte the same.</summary>
    public bool SameAs(StateSnapshot other) => AsSpan().SequenceEqual(other.AsSpan());
}

/// <summary>Zobrist-style terms: a field's (key, value) pair mixed to 64 random-looking bits, so a fingerprint is
/// the XOR of its fields' terms and one field's change costs two terms.</summary>
public static class Zobrist
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Term(ulong key, ulong value) => Mix(Mix(key + 0x9E3779B97F4A7C15) ^ value);

    /// <summary>splitmix64's finaliser.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return z ^ (z >> 31);
    }

    /// <summary>A field key: what kind of field (see <see cref="FieldKind"/>) and which (a CPU, a block id, a zone...).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Key(FieldKind kind, long index) => (ulong)kind << 48 ^ (ulong)index;
}

/// <summary>The observed fields of a state: what the fingerprint covers (the checker's abstraction, docs/checker.md).
/// A field of an interchangeable object is observed as one packed value, so that the symmetric fingerprint counts
/// whole objects.</summary>
public enum FieldKind : ushort
{
    Oops = 1,
    /// <summary>A possible CPU: present, online and cpu_to_node packed (<c>CpuTopology</c>).</summary>
    Cpu,
    /// <summary>A word of node_states[s] (index s * words + w).</summary>
    NodeState,
    /// <summary>A memory block: exists, node, state and zone packed (index: block id).</summary>
    Block,
    ZonePresent, ZoneManaged, ZoneAllocated,
    // The checker's own bookkeeping (CheckDriver).
    PluggedCpu, Dimm, KvmLoaded, HeldPage, BootUntouchedNodes,
    /// <summary>The fault injectors (memory-notifier-error-inject's errors, fail_page_alloc's armed knobs).</summary>
    Faults,
    /// <summary>A zone's span (zone_start_pfn, spanned_pages; index: zone id) and a pgdat's nr_zones (index: node), which
    /// the zone-span and pgdat invariants read.</summary>
    ZoneStart, ZoneSpanned, PgdatNrZones,
}
