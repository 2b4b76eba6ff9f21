using System.Numerics;
using System.Text;
using Numasim.Snapshots;

namespace Numasim.Kernel.Numa;

/// <summary>
/// A fixed-size bitmap as include/linux/bitmap.h keeps one: the base of <see cref="NodeMask"/> and
/// <see cref="CpuMask"/>. Formats as the kernel's "%*pbl" (list) and "%*pb" (mask) do.
/// </summary>
public sealed class Bitmap : IEquatable<Bitmap>
{
    // Either the bitmap's own words, or a range of words of a machine's compact state (docs/checker.md).
    private readonly ulong[]? _own;
    private readonly StateArray<ulong>? _region;
    private readonly int _off, _nwords;

    public Bitmap(int nbits)
    {
        if (nbits < 0) throw new ArgumentOutOfRangeException(nameof(nbits));
        NBits = nbits;
        _nwords = (nbits + 63) / 64;
        _own = new ulong[_nwords];
    }

    /// <summary>A bitmap kept in words [offset, offset + words(nbits)) of a state region.</summary>
    public Bitmap(StateArray<ulong> region, int offset, int nbits)
    {
        NBits = nbits;
        _nwords = (nbits + 63) / 64;
        if (offset < 0 || offset + _nwords > region.Length) throw new ArgumentOutOfRangeException(nameof(offset));
        _region = region;
        _off = offset;
    }

    /// <summary>Words needed for nbits.</summary>
    public static int WordsFor(int nbits) => (nbits + 63) / 64;

    /// <summary>Told after a bit changed (bit, new value): how a bitmap of the state feeds the fingerprint.</summary>
    internal Action<int, bool>? Observer { get; set; }

    private ReadOnlySpan<ulong> _words => _own is not null ? _own : _region!.Items.Slice(_off, _nwords);
    private Span<ulong> MutWords => _own is not null ? _own : _region!.MutItems.Slice(_off, _nwords);

    public int NBits { get; }

    public bool this[int bit]
    {
        get => (uint)bit < (uint)NBits && (_words[bit >> 6] & (1UL << (bit & 63))) != 0;
        set
        {
            if ((uint)bit >= (uint)NBits) throw new ArgumentOutOfRangeException(nameof(bit), $"bit {bit} outside 0..{NBits - 1}");
            ulong m = 1UL << (bit & 63);
            ulong w = _words[bit >> 6];
            ulong nw = value ? w | m : w & ~m;
            if (nw == w) return;
            MutWords[bit >> 6] = nw;
            Observer?.Invoke(bit, value);
        }
    }

    public void Set(int bit) => this[bit] = true;
    public void Clear(int bit) => this[bit] = false;
    public void ClearAll()
    {
        if (Observer is not null)
            foreach (var b in Bits().ToList()) this[b] = false;
        else MutWords.Clear();
    }

    public int Weight()
    {
        int w = 0;
        foreach (var x in _words) w += BitOperations.PopCount(x);
        return w;
    }

    public bool IsEmpty => !_words.ContainsAnyExcept(0UL);

    /// <summary>The first set bit at or after <paramref name="from"/>, or NBits when none (find_next_bit()).</summary>
    public int NextSet(int from)
    {
        if (from >= NBits) return NBits;
        if (from < 0) from = 0;
        int wi = from >> 6;
        ulong w = _words[wi] & (~0UL << (from & 63));
        while (true)
        {
            if (w != 0)
            {
                int bit = (wi << 6) + BitOperations.TrailingZeroCount(w);
                return bit < NBits ? bit : NBits;
            }
            if (++wi >= _nwords) return NBits;
            w = _words[wi];
        }
    }

    /// <summary>The first clear bit at or after <paramref name="from"/>, or NBits (find_next_zero_bit()).</summary>
    public int NextClear(int from)
    {
        for (int i = Math.Max(0, from); i < NBits; i++)
            if (!this[i]) return i;
        return NBits;
    }

    public int First() => NextSet(0);

    public int Last()
    {
        var words = _words;
        for (int wi = words.Length - 1; wi >= 0; wi--)
            if (words[wi] != 0) return (wi << 6) + 63 - BitOperations.LeadingZeroCount(words[wi]);
        return NBits;
    }

    /// <summary>The set bits, ascending (a struct enumerator: foreach allocates nothing).</summary>
    public BitEnumerable Bits() => new(this);

    public readonly struct BitEnumerable(Bitmap b) : IEnumerable<int>
    {
        public BitEnumerator GetEnumerator() => new(b);
        IEnumerator<int> IEnumerable<int>.GetEnumerator() => GetEnumerator();
        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    public struct BitEnumerator(Bitmap b) : IEnumerator<int>
    {
        private int _cur = -1;
        public readonly int Current => _cur;
        readonly object System.Collections.IEnumerator.Current => _cur;

        public bool MoveNext()
        {
            _cur = b.NextSet(_cur + 1);
            return _cur < b.NBits;
        }

        public void Reset() => _cur = -1;
        public readonly void Dispose() { }
    }

    public Bitmap Clone()
    {
        var b = new Bitmap(NBits);
        _words.CopyTo(b._own);
        return b;
    }

    public void CopyFrom(Bitmap other)
    {
        if (other.NBits != NBits) throw new ArgumentException("bitmap sizes differ");
        if (Observer is not null)
        {
            for (int b = 0; b < NBits; b++) this[b] = other[b];
            return;
        }
        other._words.CopyTo(MutWords);
    }

    /// <summary>"%*pbl": ranges such as "0-3,8,10-11"; empty string when no bit is set.</summary>
    public string ToListString()
    {
        var sb = new StringBuilder();
        int b = NextSet(0);
        while (b < NBits)
        {
            int end = NextClear(b + 1) - 1;
            if (end < b) end = NBits - 1;
            if (sb.Length > 0) sb.Append(',');
            sb.Append(b);
            if (end > b) sb.Append('-').Append(end);
            b = NextSet(end + 1);
        }
        return sb.ToString();
    }

    /// <summary>"%*pb" over the first <paramref name="nbits"/> bits: hex in 32-bit chunks separated by commas,
    /// the first chunk only as wide as the bits it holds (lib/vsprintf.c bitmap_string()).</summary>
    public string ToMaskString(int nbits)
    {
        var sb = new StringBuilder();
        int chunkSize = nbits % 32 == 0 ? 32 : nbits % 32;
        for (int i = (nbits + 31) / 32 * 32 - 32; i >= 0; i -= 32)
        {
            uint val = 0;
            for (int j = 0; j < chunkSize; j++)
                if (this[i + j]) val |= 1u << j;
            if (sb.Length > 0) sb.Append(',');
            int width = (chunkSize + 3) / 4;
            sb.Append(val.ToString("x" + width));
            chunkSize = 32;
        }
        return sb.ToString();
    }

    /// <summary>Parses a "%*pbl" list ("0-3,5"); returns false on malformed text (bitmap_parselist()).</summary>
    public static bool TryParseList(string text, int nbits, out Bitmap result, out string error)
    {
        result = new Bitmap(nbits);
        error = "";
        var t = text.Trim();
        if (t.Length == 0) return true;
        foreach (var part in t.Split(','))
        {
            var range = part.Split('-');
            if (range.Length > 2 || !int.TryParse(range[0], out int a) || a < 0)
            {
                error = $"malformed list element '{part}'";
                return false;
            }
            int b = a;
            if (range.Length == 2 && (!int.TryParse(range[1], out b) || b < a))
            {
                error = $"malformed range '{part}'";
                return false;
            }
            if (b >= nbits)
            {
                error = $"'{part}' is beyond {nbits - 1}";
                return false;
            }
            for (int i = a; i <= b; i++) result.Set(i);
        }
        return true;
    }

    public bool Equals(Bitmap? other) => other is not null && other.NBits == NBits && _words.SequenceEqual(other._words);
    public override bool Equals(object? obj) => Equals(obj as Bitmap);
    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (var w in _words) h.Add(w);
        return h.ToHashCode();
    }

    public override string ToString() => ToListString();
}
