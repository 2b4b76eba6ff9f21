using System.Text;
using Numasim.Explain;
using Numasim.Kernel;
using Numasim.Kernel.Trace;
using Numasim.Scenarios;

namespace Numasim.Report;

/// <summary>A scenario run in the report: a timeline of pictures (after boot, after each step that can change the
/// machine), then each step with its verdict, explanation, changed files, log lines and uevents.</summary>
internal static class ScenarioSection
{
    public static string Title(ScenarioReportData d) => $"{d.Result.Scenario.Name} ({d.Result.Profile.Name})";

    public static string Render(ScenarioReportData d, string id, string heading = "h2")
    {
        var r = d.Result;
        var sb = new StringBuilder();
        sb.Append($"<section class=\"scenario\" id=\"{id}\">");
        sb.Append($"<{heading}>{Html.Esc(r.Scenario.Name)} <span class=\"badge {(r.Passed ? "pass" : "fail")}\">{(r.Passed ? "PASS" : "FAIL")}</span></{heading}>");
        int passed = r.Steps.Count(s => s.Passed);
        sb.Append($"<p class=\"meta\">{Html.Esc(r.Scenario.File)} · profile {Html.Esc(r.Profile.Name)} · {r.Steps.Count} steps, {passed} passed, {r.Steps.Count - passed} failed</p>");
        if (r.Machine.Oops is { } oops)
            sb.Append("<h3>The modelled kernel oopsed</h3><pre class=\"oops-report\">").Append(Html.Esc(oops.Report)).Append("</pre>");
        Timeline(sb, d, id);
        Steps(sb, d, id);
        sb.Append("</section>");
        return sb.ToString();
    }

    /// <summary>The frames: boot, then every step that has a picture; a slider shows one at a time (the last first).</summary>
    private static void Timeline(StringBuilder sb, ScenarioReportData d, string id)
    {
        var frames = new List<(string Title, TopologyView View)> { ("after boot", d.Boot) };
        foreach (var f in d.Steps)
            if (f.After is not null) frames.Add(($"after step {f.Index + 1}: {ScenarioRunner.Describe(f.Result.Step)}", f.After));
        sb.Append($"<h3>The machine, step by step</h3><div class=\"timeline\" id=\"{id}-timeline\" data-frames=\"{frames.Count}\">");
        sb.Append("<div class=\"controls\"><button type=\"button\" data-move=\"-1\" title=\"previous\">◀</button>")
          .Append($"<input type=\"range\" min=\"0\" max=\"{frames.Count - 1}\" value=\"{frames.Count - 1}\" aria-label=\"step\">")
          .Append("<button type=\"button\" data-move=\"1\" title=\"next\">▶</button><span class=\"frame-title\"></span></div><div class=\"frames\">");
        for (int i = 0; i < frames.Count; i++)
        {
            var (title, v) = frames[i];
            sb.Append($"<figure class=\"frame\" id=\"{id}-frame-{i}\" data-title=\"{Html.Esc(title)}\" data-nodes=\"{v.Nodes.Count}\" data-blocks=\"{v.BlockCount}\">")
              .Append(TopologySvg.Render(v, $"{title} ({v.Profile}{(v.Oopsed ? ", oopsed" : "")})")).Append("</figure>");
        }
        sb.Append("</div></div>");
    }

    private static void Steps(StringBuilder sb, ScenarioReportData d, string id)
    {
        sb.Append("<h3>Steps</h3><ol class=\"steps\">");
        int frame = 0;
        foreach (var f in d.Steps)
        {
            var s = f.Result;
            if (f.After is not null) frame++;
            bool skipped = s.Message.Contains("(skipped:", StringComparison.Ordinal);
            string cls = skipped ? "skipped" : !s.Passed ? "failed" : s.Step.Kind == "expect" ? "ok expect" : "ok";
            string mark = skipped ? "-" : s.Passed ? "ok" : "FAIL";
            string desc = Html.Esc(ScenarioRunner.Describe(s.Step));
            sb.Append($"<li class=\"step {cls}\" id=\"{id}-step-{f.Index + 1}\">");
            if (s.Explanation is not { } why)
            {
                sb.Append($"<span class=\"mark\">{mark}</span> {desc}");
                if (!s.Passed) sb.Append("<pre>").Append(Html.Esc(s.Message)).Append("</pre>");
                sb.Append("</li>");
                continue;
            }
            sb.Append($"<details{(s.Passed ? "" : " open")}><summary><span class=\"mark\">{mark}</span> {desc}")
              .Append($" <a href=\"#{id}-timeline\" data-timeline=\"{id}-timeline\" data-frame=\"{frame}\">picture</a></summary>");
            if (!s.Passed) sb.Append("<pre>").Append(Html.Esc(s.Message)).Append("</pre>");
            Why(sb, why);
            sb.Append("</details></li>");
        }
        sb.Append("</ol>");
    }

    /// <summary>One explanation: the call tree, then the changed files, the log and the uevents.</summary>
    public static void Why(StringBuilder sb, StepExplanation why)
    {
        sb.Append("<div class=\"why\">");
        var calls = why.Calls;
        if (calls.Count == 0) sb.Append("<p class=\"meta\">no modelled kernel code ran</p>");
        else
        {
            sb.Append("<ul class=\"calls\">");
            foreach (var n in calls) Node(sb, n);
            sb.Append("</ul>");
        }
        Files(sb, why.Files);
        if (why.Dmesg.Count > 0) sb.Append("<h3>dmesg</h3><pre>").Append(Html.Esc(string.Join('\n', why.Dmesg))).Append("</pre>");
        if (why.Uevents.Count > 0) sb.Append("<h3>uevents</h3><pre>").Append(Html.Esc(string.Join('\n', why.Uevents))).Append("</pre>");
        sb.Append("</div>");
    }

    private static void Node(StringBuilder sb, CallNode n)
    {
        if (!n.IsCall)
        {
            var cls = n.Event.Kind switch { TraceKind.Decision => "decision", TraceKind.Change => "change", TraceKind.Error => "error", _ => "oops" };
            sb.Append($"<li class=\"{cls}\">").Append(Html.Esc(ExplainText.EventLine(n.Event))).Append("</li>");
            return;
        }
        var (chain, last) = n.Chain();
        sb.Append("<li class=\"call\">");
        for (int i = 0; i < chain.Count; i++)
        {
            if (i > 0) sb.Append(" → ");
            sb.Append("<code title=\"").Append(Html.Esc(chain[i].Event.Source)).Append("\">").Append(Html.Esc(chain[i].Label)).Append("</code>");
        }
        sb.Append("<span class=\"src\">").Append(Html.Esc(last.Event.Source)).Append("</span>");
        if (last.Children.Count > 0)
        {
            sb.Append("<ul class=\"calls\">");
            foreach (var c in last.Children) Node(sb, c);
            sb.Append("</ul>");
        }
        sb.Append("</li>");
    }

    private static void Files(StringBuilder sb, IReadOnlyList<SysfsChange> files)
    {
        if (files.Count == 0) return;
        sb.Append($"<h3>/sys and /proc: {files.Count} entries changed</h3><div class=\"files\"><ul>");
        foreach (var line in ExplainText.FileLines(files))
        {
            var cls = line.StartsWith("+ ", StringComparison.Ordinal) ? "add" : line.StartsWith("- ", StringComparison.Ordinal) ? "del" : "mod";
            sb.Append($"<li class=\"{cls}\">").Append(Html.Esc(line)).Append("</li>");
        }
        sb.Append("</ul><details><summary>every changed entry</summary><table class=\"full\"><tr><th>path</th><th>before</th><th>after</th></tr>");
        foreach (var f in files)
        {
            sb.Append("<tr><td>").Append(Html.Esc(f.Path)).Append("</td>");
            if (f.Before is not null && f.After is not null && (f.Before.TrimEnd('\n').Contains('\n') || f.After.TrimEnd('\n').Contains('\n')))
                sb.Append("<td colspan=\"2\">").Append(Html.Esc(string.Join('\n', ExplainText.LineDiff(f.Before, f.After)))).Append("</td>");
            else
                sb.Append("<td>").Append(Html.Esc(Cell(f.Before))).Append("</td><td>").Append(Html.Esc(Cell(f.After))).Append("</td>");
            sb.Append("</tr>");
        }
        sb.Append("</table></details></div>");
    }

    private static string Cell(string? v) => v is null ? "(none)" : v.TrimEnd('\n');
}
