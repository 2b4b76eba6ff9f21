namespace Numasim.Import;

/// <summary>What an import could not carry (notes, one line per dropped fact, printed on stderr) and what it inferred
/// (the rule used, written into the machine file as comments).</summary>
internal sealed class ImportLog
{
    public List<string> Notes { get; } = [];
    public List<string> Inferred { get; } = [];

    /// <summary>A fact of the tree the model does not carry, or carries differently.</summary>
    public void Note(string text) { if (!Notes.Contains(text)) Notes.Add(text); }

    /// <summary>A fact the tree does not show, filled in by a stated rule.</summary>
    public void Infer(string text) { if (!Inferred.Contains(text)) Inferred.Add(text); }

    /// <summary>What <paramref name="later"/> logged, as if logged here after what this log holds.</summary>
    public void Append(ImportLog later)
    {
        foreach (var n in later.Notes) Note(n);
        foreach (var i in later.Inferred) Infer(i);
    }
}
