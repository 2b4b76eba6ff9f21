namespace Numasim.Snapshots;

/// <summary>
/// Names a state holds (QMP device and backend ids, which the guest sees as ACPI device names): an append-only
/// pool of text in the compact state, each name once, referred to by index. The strings handed out are cached
/// beside the state and checked against it, so reading a name does not allocate.
/// </summary>
public sealed class StateStrings
{
    private readonly StateArray<char> _chars;
    private readonly StateArray<(int Offset, int Length)> _entries;
    private readonly List<string?> _cache = [];

    public StateStrings(StateStore store, string name)
    {
        _chars = new StateArray<char>(store, name + " (text)");
        _entries = new StateArray<(int, int)>(store, name + " (entries)");
    }

    public int Count => _entries.Length;

    private ReadOnlySpan<char> Span(int i) => _chars.Items.Slice(_entries[i].Offset, _entries[i].Length);

    /// <summary>The index of a name, added when new.</summary>
    public int Intern(string s)
    {
        int i = IndexOf(s);
        if (i >= 0) return i;
        int off = _chars.Length;
        _chars.Resize(off + s.Length);
        s.AsSpan().CopyTo(_chars.MutItems[off..]);
        return _entries.Add((off, s.Length));
    }

    /// <summary>The index of a name, or -1.</summary>
    public int IndexOf(ReadOnlySpan<char> s)
    {
        for (int i = 0; i < _entries.Length; i++)
            if (Span(i).SequenceEqual(s)) return i;
        return -1;
    }

    public string this[int i]
    {
        get
        {
            var text = Span(i);
            while (_cache.Count <= i) _cache.Add(null);
            if (_cache[i] is { } c && text.SequenceEqual(c)) return c;
            return (_cache[i] = new string(text));
        }
    }

    /// <summary>Whether name i is s.</summary>
    public bool Is(int i, ReadOnlySpan<char> s) => Span(i).SequenceEqual(s);
}
