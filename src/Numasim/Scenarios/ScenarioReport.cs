using System.Text.Json;
using Numasim.Explain;

namespace Numasim.Scenarios;

/// <summary>How `numasim run` prints results: a line per step, or JSON.</summary>
public static class ScenarioReport
{
    /// <param name="explain">print each step's explanation (when it was recorded).</param>
    public static void WriteText(ScenarioResult r, TextWriter w, bool uevents = false, bool explain = false)
    {
        w.WriteLine($"{r.Scenario.File} ({r.Profile.Name}): {r.Scenario.Name}");
        foreach (var s in r.Steps)
        {
            if (s.Passed) w.WriteLine($"  ok    {s.Message}");
            else
            {
                w.WriteLine($"  FAIL  {ScenarioRunner.Describe(s.Step)}  (line {s.Step.Line})");
                foreach (var line in s.Message.Split('\n')) w.WriteLine($"        {line}");
            }
            if (explain && s.Explanation is { } why) ExplainText.Write(why, w, "        ");
            else if (uevents)
                foreach (var e in s.Uevents) w.WriteLine($"        {e}");
        }
        if (r.Machine.Oops is not null) w.WriteLine("  (the modelled kernel oopsed: " + r.Machine.Oops.Report.Split('\n')[0] + ")");
        w.WriteLine(r.Passed ? "PASS" : "FAIL");
    }

    public static void WriteJson(IReadOnlyList<ScenarioResult> results, TextWriter w, bool explain = false)
    {
        var doc = results.Select(r => new
        {
            file = r.Scenario.File,
            name = r.Scenario.Name,
            profile = r.Profile.Name,
            passed = r.Passed,
            oops = r.Machine.Oops?.Report,
            // A step carries "explain" only when explained, so the output without --explain keeps its shape.
            steps = r.Steps.Select(s => explain && s.Explanation is { } x
                ? (object)new { line = s.Step.Line, kind = s.Step.Kind, passed = s.Passed, message = s.Message, explain = ExplainJson.Of(x) }
                : new { line = s.Step.Line, kind = s.Step.Kind, passed = s.Passed, message = s.Message }),
        });
        w.WriteLine(JsonSerializer.Serialize(doc, new JsonSerializerOptions { WriteIndented = true }));
    }
}
