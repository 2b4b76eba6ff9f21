using System.Globalization;
using System.Text;

namespace Numasim.Report;

/// <summary>A model-checker search in the report: its figures, the violated invariant, the shortest operation
/// sequence, and that sequence replayed as a scenario with every step explained and pictured.</summary>
internal static class CheckSection
{
    public static string Render(CheckReportData c, string id)
    {
        var r = c.Result;
        var sb = new StringBuilder();
        var v = r.Violation;
        sb.Append($"<section class=\"check\" id=\"{id}\"><h2>model checker, profile {Html.Esc(c.Profile)} ")
          .Append(v is null ? "<span class=\"badge pass\">no violation</span>" : "<span class=\"badge fail\">VIOLATION</span>").Append("</h2>");
        sb.Append("<h3>Statistics</h3>");
        Table.Write(sb, ["figure", "value"], [
            ["depth asked / reached", $"{c.Depth} / {r.DepthReached}{(r.Exhausted ? " (state space exhausted)" : "")}{(r.Bounded ? " (stopped at --max-states)" : "")}"],
            ["operations", c.Ops],
            ["distinct states", N(r.States)],
            ["transitions", N(r.Transitions)],
            ["states per depth", string.Join(" ", r.StatesPerDepth.Select(N))],
            ["time", $"{r.Elapsed.TotalSeconds:0.00} s ({r.StatesPerSecond:0} states/s, {r.TransitionsPerSecond:0} transitions/s)"],
            ["boots / restores / skipped by --por", $"{N(r.Boots)} / {N(r.Restores)} / {N(r.Skipped)}"],
            ["bytes: a state / visited set and tree per state", $"{N(r.StateBytes)} / {r.BytesPerState:0.0}"],
            ["jobs", c.Jobs.ToString(CultureInfo.InvariantCulture)],
        ]);
        if (v is null)
        {
            sb.Append("<h3>The machine checked</h3><figure class=\"frame\">").Append(TopologySvg.Render(c.Boot, "after boot")).Append("</figure>");
        }
        else
        {
            sb.Append($"<h3>Violated: {Html.Esc(v.Invariant.Name)}</h3><p>{Html.Esc(v.Invariant.Description)}</p><pre>{Html.Esc(v.Message)}</pre>");
            sb.Append("<h3>Shortest sequence</h3><ol>");
            foreach (var op in v.Path) sb.Append("<li>").Append(Html.Esc(op.ToString())).Append("</li>");
            sb.Append("</ol>");
            if (!v.Reproduced) sb.Append("<p class=\"error\">a fresh replay of this sequence did not break the invariant again</p>");
            if (c.Counterexample is { } ce) sb.Append(ScenarioSection.Render(ce, id + "-counterexample", "h3"));
        }
        sb.Append("</section>");
        return sb.ToString();
    }

    private static string N(long n) => n.ToString("N0", CultureInfo.InvariantCulture);
}

/// <summary>An oracle comparison in the report: the agreement table (per scenario and in all) and every difference.</summary>
internal static class OracleSection
{
    public static string Render(Oracle.OracleSummary o, string id)
    {
        var sb = new StringBuilder();
        int equal = o.Scenarios.Count(s => s.Equal);
        int files = o.Scenarios.Sum(s => s.FilesCompared), filesEqual = o.Scenarios.Sum(s => s.FilesEqual);
        sb.Append($"<section class=\"oracle\" id=\"{id}\"><h2>oracle: kernel {Html.Esc(o.Kernel)} against profile {Html.Esc(o.Profile)} ")
          .Append($"<span class=\"badge {(equal == o.Scenarios.Count ? "pass" : "fail")}\">{equal}/{o.Scenarios.Count} equal</span></h2>");
        sb.Append($"<p class=\"meta\">files {filesEqual}/{files} equal ({Pct(filesEqual, files)}), scenarios {equal}/{o.Scenarios.Count} equal ({Pct(equal, o.Scenarios.Count)}); {o.Refused.Count} refused; {o.Elapsed.TotalSeconds:0.0} s</p>");
        sb.Append("<h3>Agreement</h3>");
        Table.Write(sb, ["scenario", "steps compared", "skipped on the kernel", "files equal", "differences", "boot", "verdict"],
            o.Scenarios.Select(s => (IReadOnlyList<string>)[
                s.File, s.StepsCompared.ToString(CultureInfo.InvariantCulture), s.Skipped.ToString(CultureInfo.InvariantCulture),
                $"{s.FilesEqual}/{s.FilesCompared}", s.Differences.Count.ToString(CultureInfo.InvariantCulture),
                $"{s.Boot.TotalSeconds:0.0} s", s.GuestError is not null ? "guest failure" : s.Equal ? "EQUAL" : "DIFFERS"]).ToList());
        foreach (var s in o.Scenarios.Where(s => !s.Equal))
        {
            sb.Append($"<h3>{Html.Esc(s.File)}: {Html.Esc(s.Name)}</h3>");
            if (s.GuestError is not null) sb.Append("<p class=\"error\">guest failure: ").Append(Html.Esc(s.GuestError)).Append("</p>");
            Table.Write(sb, ["line", "step", "model", "kernel"],
                s.Differences.Select(d => (IReadOnlyList<string>)[d.Line.ToString(CultureInfo.InvariantCulture), d.Step, d.Model, d.Kernel]).ToList());
        }
        if (o.Refused.Count > 0)
        {
            sb.Append("<h3>Refused (QEMU 7.2 TCG cannot run them)</h3><ul>");
            foreach (var r in o.Refused) sb.Append("<li>").Append(Html.Esc(r)).Append("</li>");
            sb.Append("</ul>");
        }
        sb.Append("</section>");
        return sb.ToString();
    }

    private static string Pct(int a, int b) => b == 0 ? "-" : $"{100.0 * a / b:0.#}%";
}

internal static class Table
{
    public static void Write(StringBuilder sb, IReadOnlyList<string> header, IReadOnlyList<IReadOnlyList<string>> rows)
    {
        sb.Append("<table><tr>");
        foreach (var h in header) sb.Append("<th>").Append(Html.Esc(h)).Append("</th>");
        sb.Append("</tr>");
        foreach (var row in rows)
        {
            sb.Append("<tr>");
            foreach (var cell in row) sb.Append("<td>").Append(Html.Esc(cell)).Append("</td>");
            sb.Append("</tr>");
        }
        sb.Append("</table>");
    }
}
