using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Numasim.Snapshots;

/// <summary>One region of a machine's compact state: plain values copied as bytes.</summary>
public abstract class StateRegion
{
    internal StateRegion(StateStore store, string name)
    {
        Store = store;
        Name = name;
        Index = store.Register(this);
    }

    public StateStore Store { get; }

    /// <summary>Who owns the region and what it holds, e.g. "zone 0/2 free-list nodes" (error messages, figures).</summary>
    public string Name { get; }

    /// <summary>Position in the store's registration order (the order of a saved state).</summary>
    internal int Index { get; }

    /// <summary>Written since the state was last saved or restored.</summary>
    internal bool Dirty;

    /// <summary>Bytes the region holds now.</summary>
    public abstract int ByteLength { get; }

    internal abstract void SaveTo(Span<byte> dest);

    /// <summary>The region's bytes now.</summary>
    internal abstract ReadOnlySpan<byte> Bytes { get; }
    internal abstract void LoadFrom(ReadOnlySpan<byte> src);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    protected void Touch()
    {
        if (!Dirty) Store.MarkDirty(this);
    }
}

/// <summary>
/// A growable array of unmanaged values that is part of a machine's compact state (struct records, counters,
/// bitmap words, list nodes). Reading is free; every write goes through <see cref="Mut"/>, <see cref="Set"/> or the
/// mutating methods, which mark the region dirty so that a restore copies back only what an operation changed.
/// Writing through a <see cref="Get"/> reference would go unnoticed: never do it.
/// </summary>
public sealed class StateArray<T> : StateRegion where T : unmanaged
{
    private T[] _items;
    private int _length;

    public StateArray(StateStore store, string name, int length = 0) : base(store, name)
    {
        _items = length == 0 ? [] : new T[length];
        _length = length;
    }

    public int Length => _length;

    public override int ByteLength => _length * Unsafe.SizeOf<T>();

    /// <summary>Read access (no write through it).</summary>
    public ref readonly T this[int i]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            if ((uint)i >= (uint)_length) ThrowIndex(i);
            return ref _items[i];
        }
    }

    /// <summary>The value at i.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public T Get(int i) => this[i];

    /// <summary>Write access to element i: marks the region dirty.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref T Mut(int i)
    {
        if ((uint)i >= (uint)_length) ThrowIndex(i);
        Touch();
        return ref _items[i];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Set(int i, T value) => Mut(i) = value;

    /// <summary>The elements, read-only.</summary>
    public ReadOnlySpan<T> Items => _items.AsSpan(0, _length);

    /// <summary>The elements for writing (marks the region dirty).</summary>
    public Span<T> MutItems
    {
        get
        {
            Touch();
            return _items.AsSpan(0, _length);
        }
    }

    /// <summary>Sets the length; new elements are default.</summary>
    public void Resize(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        Touch();
        if (length > _items.Length) Array.Resize(ref _items, Math.Max(length, Math.Max(4, _items.Length * 2)));
        // Elements past the length are left as they were (a restore does not clear them): clear what comes back.
        if (length > _length) Array.Clear(_items, _length, length - _length);
        _length = length;
    }

    /// <summary>Appends a value; returns its index.</summary>
    public int Add(T value)
    {
        Touch();
        if (_length == _items.Length) Array.Resize(ref _items, Math.Max(4, _items.Length * 2));
        _items[_length] = value;
        return _length++;
    }

    public void Insert(int index, T value)
    {
        if ((uint)index > (uint)_length) ThrowIndex(index);
        Touch();
        if (_length == _items.Length) Array.Resize(ref _items, Math.Max(4, _items.Length * 2));
        Array.Copy(_items, index, _items, index + 1, _length - index);
        _items[index] = value;
        _length++;
    }

    public void RemoveAt(int index)
    {
        if ((uint)index >= (uint)_length) ThrowIndex(index);
        Touch();
        Array.Copy(_items, index + 1, _items, index, _length - index - 1);
        --_length;
    }

    public void Clear()
    {
        if (_length == 0) return;
        Touch();
        _length = 0;
    }

    /// <summary>Sets every element to a value (length unchanged).</summary>
    public void Fill(T value)
    {
        Touch();
        _items.AsSpan(0, _length).Fill(value);
    }

    internal override void SaveTo(Span<byte> dest) => MemoryMarshal.AsBytes(_items.AsSpan(0, _length)).CopyTo(dest);

    internal override ReadOnlySpan<byte> Bytes => MemoryMarshal.AsBytes(_items.AsSpan(0, _length));

    internal override void LoadFrom(ReadOnlySpan<byte> src)
    {
        int n = src.Length / Unsafe.SizeOf<T>();
        if (n > _items.Length) _items = new T[Math.Max(n, _items.Length * 2)];
        src.CopyTo(MemoryMarshal.AsBytes(_items.AsSpan(0, n)));
        _length = n;
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private void ThrowIndex(int i) => throw new IndexOutOfRangeException($"{Name}: index {i} outside 0..{_length - 1}");
}

/// <summary>One value of unmanaged type (a struct of scalars) that is part of a machine's compact state.</summary>
public sealed class StateValue<T> : StateRegion where T : unmanaged
{
    private T _value;

    public StateValue(StateStore store, string name, T initial = default) : base(store, name) => _value = initial;

    public override int ByteLength => Unsafe.SizeOf<T>();

    public ref readonly T Value => ref _value;

    /// <summary>Write access: marks the region dirty.</summary>
    public ref T Mut
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            Touch();
            return ref _value;
        }
    }

    internal override void SaveTo(Span<byte> dest) => MemoryMarshal.Write(dest, in _value);

    internal override ReadOnlySpan<byte> Bytes => MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in _value));
    internal override void LoadFrom(ReadOnlySpan<byte> src) => _value = MemoryMarshal.Read<T>(src);
}

/// <summary>A record of a region kept sorted by a 64-bit key.</summary>
public interface ISortedRecord
{
    long SortKey { get; }
}

/// <summary>A record that names an entry of a <see cref="StateStrings"/> pool.</summary>
public interface INamedRecord
{
    int NameIndex { get; }
}

public static class StateArrayExtensions
{
    /// <summary>Binary search of a region sorted by key: the index, or the complement of where it would go.</summary>
    public static int SearchSorted<T>(this StateArray<T> a, long key) where T : unmanaged, ISortedRecord
    {
        var items = a.Items;
        int lo = 0, hi = items.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            long v = items[mid].SortKey;
            if (v == key) return mid;
            if (v < key) lo = mid + 1;
            else hi = mid - 1;
        }
        return ~lo;
    }

    /// <summary>The index of the record whose name is s, or -1.</summary>
    public static int IndexOfName<T>(this StateArray<T> a, StateStrings names, string s) where T : unmanaged, INamedRecord
    {
        var items = a.Items;
        for (int i = 0; i < items.Length; i++)
            if (names.Is(items[i].NameIndex, s)) return i;
        return -1;
    }
}
