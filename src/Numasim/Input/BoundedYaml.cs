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
/// bomb) is refused by an event pass before any tree is built. Every parser failure, whatever YamlDotNet throws,
/// becomes a <see cref="YamlInputException"/> with the line it was found on.
/// </summary>
public static class BoundedYaml
{
    public const int MaxDepth = 64, MaxAliases = 1000, MaxExpandedNodes = 1_000_000;

    /// <summary>The first document's root node, or null for an empty stream.</summary>
    public static YamlNode? LoadRoot(string text)
    {
        Scan(text);
        var yaml = new YamlStream();
        try
        {
            yaml.Load(new StringReader(text));
        }
        catch (YamlException e) { throw new YamlInputException((int)e.Start.Line, "YAML syntax error: " + OneLine(e.Message)); }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or FormatException or OverflowException)
        {
            throw new YamlInputException(0, Stuck);
        }
        return yaml.Documents.Count == 0 ? null : yaml.Documents[0].RootNode;
    }

    /// <summary>The bounds pass over the parser's events. Sizes are per node: a collection counts itself and its
    /// children's expanded sizes; an alias counts its anchor's.</summary>
    private static void Scan(string text)
    {
        var parser = new Parser(new StringReader(text));
        var anchors = new Dictionary<string, long>(StringComparer.Ordinal);
        var open = new Stack<(string? Anchor, long Size)>();
        long expanded = 0; // nodes the aliases add: the text's own nodes are bounded by its size (a 1,024-node machine has millions)
        int aliases = 0;
        Mark at = Mark.Empty;
        try
        {
            while (parser.MoveNext())
            {
                var ev = parser.Current!;
                at = ev.Start;
                switch (ev)
                {
                    case SequenceStart or MappingStart:
                        if (open.Count >= MaxDepth)
                            throw new YamlInputException((int)at.Line, $"nesting deeper than {MaxDepth} levels");
                        open.Push((((NodeEvent)ev).Anchor.IsEmpty ? null : ((NodeEvent)ev).Anchor.Value, 1));
                        break;
                    case SequenceEnd or MappingEnd:
                        var (anchor, s) = open.Pop();
                        if (anchor is not null) anchors[anchor] = s;
                        AddToParent(open, s);
                        continue;
                    case Scalar sc:
                        if (!sc.Anchor.IsEmpty) anchors[sc.Anchor.Value] = 1;
                        AddToParent(open, 1);
                        break;
                    case AnchorAlias a:
                        if (++aliases > MaxAliases) throw new YamlInputException((int)at.Line, $"more than {MaxAliases} aliases");
                        long size = anchors.GetValueOrDefault(a.Value.Value, 1);
                        AddToParent(open, size);
                        expanded += size;
                        break;
                    default:
                        continue;
                }
                if (expanded > MaxExpandedNodes)
                    throw new YamlInputException((int)at.Line, "more than 1,000,000 nodes once aliases are expanded (an alias bomb?)");
            }
        }
        catch (YamlException e) { throw new YamlInputException((int)e.Start.Line, "YAML syntax error: " + OneLine(e.Message)); }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or FormatException or OverflowException)
        {
            throw new YamlInputException((int)at.Line, Stuck);
        }
    }

    /// <summary>YamlDotNet throws InvalidOperationException ("Operation is not valid due to the current state of the
    /// object") where its scanner cannot go on, e.g. text right after a quoted value in a flow collection.</summary>
    private const string Stuck = "YAML syntax error: the parser cannot go past this line (text after a quoted value, or an unclosed '{' or '['?)";

    private static void AddToParent(Stack<(string? Anchor, long Size)> open, long size)
    {
        if (open.Count == 0) return;
        var (a, s) = open.Pop();
        open.Push((a, s + size));
    }

    private static string OneLine(string s) => s.ReplaceLineEndings(" ").Trim();
}
