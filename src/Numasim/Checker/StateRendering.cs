using System.Text;
using Numasim.Kernel.Sysfs;

namespace Numasim.Checker;

/// <summary>
/// The byte-exact view of a state: every /sys and /proc directory, file text and link target. The checker renders
/// a sampled fraction of its states and the counterexample and compares them with a machine booted and replayed
/// along the same path: a difference means state kept outside the compact value (or a view that reads more than
/// the state), i.e. a bug of the model's representation, reported as the violation of <see cref="Invariant"/>.
/// </summary>
public static class StateRendering
{
    /// <summary>Every entry, depth first in name order: "path/", "path -> target" or "path = text".</summary>
    public static List<string> Render(Machine m)
    {
        var lines = new List<string>();
        void Walk(SysfsDirectory d)
        {
            foreach (var e in d.Children)
                switch (e)
                {
                    case SysfsDirectory sub: lines.Add(sub.Path + "/"); Walk(sub); break;
                    case SysfsAttribute a: lines.Add(a.Path + " = " + (a.HasShow ? Show(a) : "(write-only)")); break;
                    case SysfsLink l: lines.Add(l.Path + " -> " + l.Target); break;
                }
        }
        Walk(m.Fs.Root);
        return lines;
    }

    private static string Show(SysfsAttribute a)
    {
        try { return a.Show(); }
        catch (Exception e) { return $"(read throws {e.GetType().Name}: {e.Message})"; }
    }

    /// <summary>The first entry where the two machines differ, or null.</summary>
    public static string? FirstDifference(Machine state, Machine replayed)
    {
        var a = Render(state);
        var b = Render(replayed);
        for (int i = 0; i < Math.Min(a.Count, b.Count); i++)
            if (a[i] != b[i]) return $"the state shows \"{Cut(a[i])}\", a replay from boot \"{Cut(b[i])}\"";
        if (a.Count != b.Count)
            return a.Count > b.Count ? $"the state shows \"{Cut(a[b.Count])}\", a replay from boot nothing more" : $"a replay from boot shows \"{Cut(b[a.Count])}\", the state nothing more";
        return null;
    }

    private static string Cut(string s)
    {
        var line = s.Split('\n')[0];
        return line.Length > 160 ? line[..160] + "..." : line;
    }

    /// <summary>The invariant a difference violates.</summary>
    public static IInvariant Invariant { get; } = new RenderInvariant();

    private sealed class RenderInvariant : IInvariant
    {
        public string Name => "state-renders-as-replayed";
        public string Description => "the state's /sys and /proc are byte for byte those of a machine booted and replayed along its path";
        public string? Check(CheckDriver d) => null;
    }
}
