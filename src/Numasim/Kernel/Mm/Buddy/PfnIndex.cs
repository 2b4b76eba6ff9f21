using System.Runtime.CompilerServices;
using Numasim.Snapshots;

namespace Numasim.Kernel.Mm;

/// <summary>A map from pfn to a small integer kept in the compact state: open addressing with linear probing and
/// backward-shift deletion over one region (what a Dictionary&lt;long, int&gt; would be, as plain values).</summary>
internal sealed class PfnIndex
{
    private struct Slot
    {
        public long KeyPlus1; // 0: empty
        public int Value;
    }

    private readonly StateArray<Slot> _slots;
    private readonly StateArray<int> _count;

    public PfnIndex(StateStore store, string name)
    {
        _slots = new StateArray<Slot>(store, name);
        _count = new StateArray<int>(store, name + " (count)", 1);
    }

    public int Count => _count[0];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Home(long key, int mask) => (int)(Zobrist.Mix((ulong)key) & (uint)mask);

    public bool TryGetValue(long key, out int value)
    {
        var s = _slots.Items;
        if (s.Length == 0) { value = 0; return false; }
        int mask = s.Length - 1;
        for (int i = Home(key, mask); ; i = (i + 1) & mask)
        {
            long k = s[i].KeyPlus1;
            if (k == 0) { value = 0; return false; }
            if (k == key + 1) { value = s[i].Value; return true; }
        }
    }

    public void Add(long key, int value)
    {
        if ((_count[0] + 1) * 2 > _slots.Length) Grow();
        var s = _slots.MutItems;
        int mask = s.Length - 1;
        for (int i = Home(key, mask); ; i = (i + 1) & mask)
        {
            long k = s[i].KeyPlus1;
            if (k == key + 1) throw new ArgumentException($"pfn {key:x} is indexed twice");
            if (k != 0) continue;
            s[i] = new Slot { KeyPlus1 = key + 1, Value = value };
            _count.Mut(0)++;
            return;
        }
    }

    public bool Remove(long key)
    {
        var s = _slots.MutItems;
        if (s.Length == 0) return false;
        int mask = s.Length - 1;
        int i = Home(key, mask);
        while (true)
        {
            long k = s[i].KeyPlus1;
            if (k == 0) return false;
            if (k == key + 1) break;
            i = (i + 1) & mask;
        }
        // Backward shift: move later entries of the probe run into the hole when their home allows it.
        int hole = i;
        for (int j = (i + 1) & mask; s[j].KeyPlus1 != 0; j = (j + 1) & mask)
        {
            int home = Home(s[j].KeyPlus1 - 1, mask);
            bool between = hole <= j ? home > hole && home <= j : home > hole || home <= j;
            if (between) continue;
            s[hole] = s[j];
            hole = j;
        }
        s[hole] = default;
        _count.Mut(0)--;
        return true;
    }

    public void Clear()
    {
        _slots.Clear();
        _count.Mut(0) = 0;
    }

    private void Grow()
    {
        // The old slots in a pooled buffer: after a restore the region is small again, so a search grows it anew on
        // most transitions.
        int n = _slots.Length;
        var old = System.Buffers.ArrayPool<Slot>.Shared.Rent(n);
        _slots.Items.CopyTo(old);
        int cap = Math.Max(16, n * 2);
        _slots.Resize(0);
        _slots.Resize(cap);
        _count.Mut(0) = 0;
        for (int i = 0; i < n; i++)
            if (old[i].KeyPlus1 != 0) Add(old[i].KeyPlus1 - 1, old[i].Value);
        System.Buffers.ArrayPool<Slot>.Shared.Return(old);
    }
}
