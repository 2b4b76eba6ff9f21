using System.Numerics;

namespace Numasim.Checker;

/// <summary>
/// The states seen, by 64-bit fingerprint (hash compaction: two states whose fingerprints collide are taken for
/// one, with probability about n² / 2⁶⁵ for n states). Open addressing with linear probing over one array of
/// ulongs, 8 bytes a slot, kept at most 3/4 full (10.7 to 16 bytes a state). One thread adds (the level merge);
/// any thread may look up meanwhile: a lookup that misses a fingerprint added concurrently only makes a candidate
/// that the merge then drops.
/// </summary>
public class VisitedSet
{
    private ulong[] _slots;
    private long _count;

    public VisitedSet(long expected = 1 << 16)
    {
        int bits = Math.Max(10, 64 - BitOperations.LeadingZeroCount((ulong)Math.Max(1, expected * 4 / 3)));
        _slots = new ulong[1L << bits];
    }

    public long Count => Interlocked.Read(ref _count);

    /// <summary>Bytes the set holds.</summary>
    public virtual long Bytes => (long)_slots.Length * 8;

    /// <summary>The fingerprint as stored: 0 marks an empty slot.</summary>
    private static ulong Key(ulong fp) => fp == 0 ? 0x9E3779B97F4A7C15 : fp;

    public virtual bool Contains(ulong fp)
    {
        ulong k = Key(fp);
        var s = Volatile.Read(ref _slots);
        int mask = s.Length - 1;
        for (int i = (int)(k & (ulong)mask); ; i = (i + 1) & mask)
        {
            ulong v = Volatile.Read(ref s[i]);
            if (v == k) return true;
            if (v == 0) return false;
        }
    }

    /// <summary>Adds a fingerprint; false when it was there (single writer).</summary>
    public virtual bool Add(ulong fp)
    {
        ulong k = Key(fp);
        if ((_count + 1) * 4 > (long)_slots.Length * 3) Grow();
        var s = _slots;
        int mask = s.Length - 1;
        for (int i = (int)(k & (ulong)mask); ; i = (i + 1) & mask)
        {
            ulong v = s[i];
            if (v == k) return false;
            if (v != 0) continue;
            Volatile.Write(ref s[i], k);
            Interlocked.Increment(ref _count);
            return true;
        }
    }

    private void Grow()
    {
        var old = _slots;
        var s = new ulong[old.Length * 2];
        int mask = s.Length - 1;
        foreach (ulong k in old)
        {
            if (k == 0) continue;
            int i = (int)(k & (ulong)mask);
            while (s[i] != 0) i = (i + 1) & mask;
            s[i] = k;
        }
        Volatile.Write(ref _slots, s);
    }

    /// <summary>The probability that two of n distinct states had the same fingerprint (birthday bound).</summary>
    public virtual double CollisionProbability(long n) => Math.Min(1, (double)n * n / Math.Pow(2, 65));

    public virtual string Mode => "hash compaction, 64-bit fingerprints";
}

/// <summary>
/// Bitstate hashing (Holzmann's supertrace): each state sets k = 2 bits of a 2^b-bit array, chosen from its
/// fingerprint; a state whose bits are all set counts as seen. Memory is fixed (2^b / 8 bytes) whatever the
/// number of states; the price is states omitted (never expanded) when their bits were set by others.
/// </summary>
public sealed class BitstateSet : VisitedSet
{
    private readonly ulong[] _bits;
    private readonly int _log2;
    private long _count;

    public BitstateSet(int log2Bits) : base(16)
    {
        if (log2Bits is < 10 or > 40) throw new ArgumentOutOfRangeException(nameof(log2Bits), "bitstate size: 2^10 to 2^40 bits");
        _log2 = log2Bits;
        _bits = new ulong[Math.Max(1, (1L << log2Bits) / 64)];
    }

    public override long Bytes => (long)_bits.Length * 8;

    private (long A, long B) Bits(ulong fp)
    {
        long mask = (1L << _log2) - 1;
        return ((long)(fp & (ulong)mask), (long)(Snapshots.Zobrist.Mix(fp) & (ulong)mask));
    }

    private bool Test(long bit) => (Volatile.Read(ref _bits[bit >> 6]) & (1UL << (int)(bit & 63))) != 0;

    public override bool Contains(ulong fp)
    {
        var (a, b) = Bits(fp);
        return Test(a) && Test(b);
    }

    public override bool Add(ulong fp)
    {
        var (a, b) = Bits(fp);
        if (Test(a) && Test(b)) return false;
        _bits[a >> 6] |= 1UL << (int)(a & 63);
        _bits[b >> 6] |= 1UL << (int)(b & 63);
        _count++;
        return true;
    }

    /// <summary>The probability that a new state is taken for seen when n states were added: (1 - e^(-kn/m))^k.</summary>
    public override double CollisionProbability(long n) => Math.Pow(1 - Math.Exp(-2.0 * n / Math.Pow(2, _log2)), 2);

    public override string Mode => $"bitstate, 2^{_log2} bits ({Bytes >> 20} MiB), 2 bits a state";
}
