using System.Runtime.InteropServices;

namespace Numasim.Snapshots;

/// <summary>
/// A sorted map from 64-bit keys to 64-bit values as one region of the compact state: for per-device tables whose
/// number and size are known only after boot (a driver's per-block states, a device's bitmap). Keys are composed
/// by the owner (e.g. device index in the high bits, entry in the low bits); a missing key reads as 0 and a 0 is not
/// stored, so equal maps are equal bytes.
/// </summary>
public sealed class StateMap
{
    [StructLayout(LayoutKind.Sequential)]
    private struct Entry : ISortedRecord
    {
        public long Key;
        public ulong Value;
        public readonly long SortKey => Key;
    }

    private readonly StateArray<Entry> _entries;

    public StateMap(StateStore store, string name) => _entries = new StateArray<Entry>(store, name);

    /// <summary>The value at the key (0 when absent).</summary>
    public ulong this[long key]
    {
        get => _entries.SearchSorted(key) is var i and >= 0 ? _entries[i].Value : 0;
        set
        {
            int i = _entries.SearchSorted(key);
            if (i >= 0)
            {
                if (value == 0) _entries.RemoveAt(i);
                else if (_entries[i].Value != value) _entries.Mut(i).Value = value;
            }
            else if (value != 0) _entries.Insert(~i, new Entry { Key = key, Value = value });
        }
    }

    /// <summary>Removes every entry with a key in [lo, hi) (they read as 0 again).</summary>
    public void ClearIn(long lo, long hi)
    {
        int a = _entries.SearchSorted(lo), b = _entries.SearchSorted(hi);
        int start = a < 0 ? ~a : a, end = b < 0 ? ~b : b;
        for (int i = end - 1; i >= start; i--) _entries.RemoveAt(i);
    }
}
