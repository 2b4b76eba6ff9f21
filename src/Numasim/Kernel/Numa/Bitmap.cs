using System.Numerics;
using System.Text;

namespace Numasim.Kernel.Numa;

/// <summary>
/// A fixed-size bitmap as include/linux/bitmap.h keeps one: the base of <see cref="NodeMask"/> and
/// <see cref="CpuMask"/>. Formats as the kernel's "%*pbl" (list) and "%*pb" (mask) do.
/// </summary>
public sealed class Bitmap : IEquatable<Bitmap>
{
    private readonly ulong[] _words;

    public Bitmap(int nbits)
    {
        if (nbits < 0) throw new ArgumentOutOfRangeException(nameof(nbits));
        NBits = nbits;
        _words = new ulong[(nbits + 63) / 64];
    }

    public int NBits { get; }

    public bool this[int bit]
    {
        get => (uint)bit < (uint)NBits && (_words[bit >> 6] & (1UL << (bit & 63))) != 0;
        set
        {
            if ((uint)bit >= (uint)NBits) throw new ArgumentOutOfRangeException(nameof(bit), $"bit {bit} outside 0..{NBits - 1}");
            if (value) _words[bit >> 6] |= 1UL << (bit & 63);
            else _words[bit >> 6] &= ~(1UL << (bit & 63));
        }
    }

    public void Set(int bit) => this[bit] = true;
    public void Clear(int bit) => this[bit] = false;
    public void ClearAll() => Array.Clear(_words);

    public int Weight()
    {
        int w = 0;
        foreach (var x in _words) w += BitOperations.PopCount(x);
        return w;
    }

    public bool IsEmpty => Array.TrueForAll(_words, w => w == 0);

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
            if (++wi >= _words.Length) return NBits;
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
        for (int wi = _words.Length - 1; wi >= 0; wi--)
            if (_words[wi] != 0) return (wi << 6) + 63 - BitOperations.LeadingZeroCount(_words[wi]);
        return NBits;
    }

    public IEnumerable<int> Bits()
    {
        for (int b = NextSet(0); b < NBits; b = NextSet(b + 1)) yield return b;
    }

    public Bitmap Clone()
    {
        var b = new Bitmap(NBits);
        Array.Copy(_words, b._words, _words.Length);
        return b;
    }

    public void CopyFrom(Bitmap other)
    {
        if (other.NBits != NBits) throw new ArgumentException("bitmap sizes differ");
        Array.Copy(other._words, _words, _words.Length);
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

    public bool Equals(Bitmap? other) => other is not null && other.NBits == NBits && _words.AsSpan().SequenceEqual(other._words);
    public override bool Equals(object? obj) => Equals(obj as Bitmap);
    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (var w in _words) h.Add(w);
        return h.ToHashCode();
    }

    public override string ToString() => ToListString();
}
