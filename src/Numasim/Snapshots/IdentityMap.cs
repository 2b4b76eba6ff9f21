using System.Runtime.CompilerServices;

namespace Numasim.Snapshots;

/// <summary>
/// Object -> index by reference identity, for the walk that numbers a graph's objects. Open addressing with
/// linear probing: about half the cost of a Dictionary with ReferenceEqualityComparer on this hot path.
/// </summary>
internal sealed class IdentityMap
{
    private object?[] _keys;
    private int[] _values;

    public IdentityMap(int capacity = 2048)
    {
        int size = 16;
        while (size < capacity * 2) size *= 2;
        _keys = new object?[size];
        _values = new int[size];
    }

    public int Count { get; private set; }

    /// <summary>The index of <paramref name="key"/>, or -1.</summary>
    public int Get(object key)
    {
        int mask = _keys.Length - 1;
        for (int i = RuntimeHelpers.GetHashCode(key) & mask; _keys[i] is { } k; i = (i + 1) & mask)
            if (ReferenceEquals(k, key)) return _values[i];
        return -1;
    }

    /// <summary>Adds a key that is not in the map.</summary>
    public void Add(object key, int value)
    {
        if ((Count + 1) * 2 > _keys.Length) Grow();
        int mask = _keys.Length - 1;
        int i = RuntimeHelpers.GetHashCode(key) & mask;
        while (_keys[i] is not null) i = (i + 1) & mask;
        _keys[i] = key;
        _values[i] = value;
        Count++;
    }

    private void Grow()
    {
        var (keys, values) = (_keys, _values);
        _keys = new object?[keys.Length * 2];
        _values = new int[keys.Length * 2];
        Count = 0;
        for (int i = 0; i < keys.Length; i++)
            if (keys[i] is { } k) Add(k, values[i]);
    }
}
