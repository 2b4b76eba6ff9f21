using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace Numasim.Input;

/// <summary>Malformed or oversized YAML: the line (1-based, 0 when unknown) and a one-line reason.</summary>
public sealed class YamlInputException(int line, string message) : Exception(message)
{
    public int Line { get; } = line;
}

/// <summary>
/// Loads the YAML of scenarios and machine files within bounds, so that no input can exhaust the stack, the memory
/// or the time: nesting deeper than <see cref="MaxDepth"/>, more than <see cref="MaxAliases"/> aliases, or a
/// document whose aliases, expanded, add more than <see cref="MaxExpandedNodes"/> nodes (the "billion laughs"
/// bomb) is refused as the parser's events come, while the tree is built (an alias there is a reference to its
/// anchor's node, so the tree grows with the text, not with the expansion). Every parser failure, whatever YamlDotNet
/// throws, becomes a <see cref="YamlInputException"/> with the line it was found on.
/// </summary>
public static class BoundedYaml
{
    public const int MaxDepth = 64, MaxAliases = 1000, MaxExpandedNodes = 1_000_000;

    /// <summary>The first document's root node, or null for an empty stream.</summary>
    public static YamlNode? LoadRoot(string text)
    {
        var parser = new BoundedParser(new Parser(new StringReader(text)));
        var yaml = new YamlStream();
        try
        {
            yaml.Load(parser);
        }
        catch (YamlException e) { throw new YamlInputException((int)e.Start.Line, "YAML syntax error: " + OneLine(e.Message)); }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or FormatException or OverflowException)
        {
            throw new YamlInputException((int)parser.At.Line, Stuck);
        }
        return yaml.Documents.Count == 0 ? null : yaml.Documents[0].RootNode;
    }

    /// <summary>The bounds, checked on each event the loader takes. Sizes are per node: a collection counts itself and
    /// its children's expanded sizes; an alias counts its anchor's.</summary>
    private sealed class BoundedParser(IParser inner) : IParser
    {
        private readonly Dictionary<string, long> _anchors = new(StringComparer.Ordinal);
        private readonly Stack<(string? Anchor, long Size)> _open = new();
        private long _expanded; // nodes the aliases add: the text's own nodes are bounded by its size (a 1,024-node machine has millions)
        private int _aliases;

        /// <summary>Where the last event started.</summary>
        public Mark At { get; private set; } = Mark.Empty;

        public ParsingEvent? Current => inner.Current;

        public bool MoveNext()
        {
            if (!inner.MoveNext()) return false;
            var ev = inner.Current!;
            At = ev.Start;
            switch (ev)
            {
                case SequenceStart or MappingStart:
                    if (_open.Count >= MaxDepth)
                        throw new YamlInputException((int)At.Line, $"nesting deeper than {MaxDepth} levels");
                    _open.Push((((NodeEvent)ev).Anchor.IsEmpty ? null : ((NodeEvent)ev).Anchor.Value, 1));
                    break;
                case SequenceEnd or MappingEnd:
                    var (anchor, s) = _open.Pop();
                    if (anchor is not null) _anchors[anchor] = s;
                    AddToParent(s);
                    break;
                case Scalar sc:
                    if (!sc.Anchor.IsEmpty) _anchors[sc.Anchor.Value] = 1;
                    AddToParent(1);
                    break;
                case AnchorAlias a:
                    if (++_aliases > MaxAliases) throw new YamlInputException((int)At.Line, $"more than {MaxAliases} aliases");
                    long size = _anchors.GetValueOrDefault(a.Value.Value, 1);
                    AddToParent(size);
                    _expanded += size;
                    if (_expanded > MaxExpandedNodes)
                        throw new YamlInputException((int)At.Line, "more than 1,000,000 nodes once aliases are expanded (an alias bomb?)");
                    break;
            }
            return true;
        }

        private void AddToParent(long size)
        {
            if (_open.Count == 0) return;
            var (a, s) = _open.Pop();
            _open.Push((a, s + size));
        }
    }

    /// <summary>YamlDotNet throws InvalidOperationException ("Operation is not valid due to the current state of the
    /// object") where its scanner cannot go on, e.g. text right after a quoted value in a flow collection.</summary>
    private const string Stuck = "YAML syntax error: the parser cannot go past this line (text after a quoted value, or an unclosed '{' or '['?)";

    private static string OneLine(string s) => s.ReplaceLineEndings(" ").Trim();
}
