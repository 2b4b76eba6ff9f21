using System.Text;

namespace Numasim.Report;

/// <summary>
/// The HTML report (issue 18): one self-contained file (styles, script and pictures inline; nothing is fetched)
/// with a section per scenario run (timeline of pictures, each step's explanation and file changes), per
/// model-checker search (figures, counterexample) and per oracle comparison (agreement table). The same input
/// gives the same bytes: nothing in it depends on the time or the host.
/// </summary>
public sealed class HtmlReport(string title)
{
    private readonly List<(string Id, string Title, string Html)> _sections = [];

    /// <summary>Adds a scenario run.</summary>
    public void Add(ScenarioReportData run) => Add("scenario", ScenarioSection.Title(run), id => ScenarioSection.Render(run, id));

    /// <summary>Adds a model-checker search.</summary>
    public void Add(CheckReportData check) => Add("check", $"check ({check.Profile}, depth {check.Depth})", id => CheckSection.Render(check, id));

    /// <summary>Adds an oracle comparison.</summary>
    public void Add(Oracle.OracleSummary oracle) => Add("oracle", $"oracle: kernel {oracle.Kernel}", id => OracleSection.Render(oracle, id));

    private void Add(string kind, string sectionTitle, Func<string, string> render)
    {
        var id = $"{kind}-{_sections.Count}";
        _sections.Add((id, sectionTitle, render(id)));
    }

    public string Render()
    {
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
          .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
          .Append("<title>").Append(Html.Esc(title)).Append("</title>\n<style>").Append(Css).Append("</style>\n</head>\n<body>\n")
          .Append("<svg width=\"0\" height=\"0\" style=\"position:absolute\" aria-hidden=\"true\">").Append(Palette.Defs).Append("</svg>\n")
          .Append("<header><h1>").Append(Html.Esc(title)).Append("</h1>")
          .Append("<div class=\"tools\"><button type=\"button\" id=\"expand-all\">expand all steps</button> ")
          .Append("<button type=\"button\" id=\"collapse-all\">collapse all</button></div></header>\n<nav><ul>");
        foreach (var (id, t, _) in _sections) sb.Append("<li><a href=\"#").Append(id).Append("\">").Append(Html.Esc(t)).Append("</a></li>");
        sb.Append("</ul></nav>\n<main>\n");
        foreach (var (_, _, html) in _sections) sb.Append(html).Append('\n');
        sb.Append("</main>\n<footer>numasim report: a model of Linux NUMA, CPU and memory hotplug; one file, nothing fetched.</footer>\n")
          .Append("<script>").Append(Script).Append("</script>\n</body>\n</html>\n");
        return sb.ToString();
    }

    private const string Css = """
        body{font:14px/1.45 "DejaVu Sans","Liberation Sans",Arial,sans-serif;margin:0;color:#1d1d1d;background:#fafafa}
        header{background:#263238;color:#eceff1;padding:10px 18px;display:flex;justify-content:space-between;align-items:center}
        header h1{font-size:18px;margin:0}
        button{font:inherit;padding:2px 8px;cursor:pointer}
        nav{padding:6px 18px;background:#eceff1;border-bottom:1px solid #cfd8dc}nav ul{margin:0;padding:0 0 0 18px}
        main{padding:8px 18px}section{background:#fff;border:1px solid #ddd;border-radius:4px;margin:12px 0;padding:8px 14px}
        h2{font-size:16px;margin:6px 0}h3{font-size:14px;margin:10px 0 4px}
        .badge{font-size:12px;border-radius:3px;padding:1px 6px;color:#fff;vertical-align:middle}
        .pass{background:#2e7d32}.fail{background:#c62828}.meta{color:#555;margin:2px 0 8px}
        .timeline{border:1px solid #cfd8dc;border-radius:4px;padding:6px;margin:6px 0;background:#fdfdfd}
        .timeline .controls{display:flex;gap:8px;align-items:center;margin-bottom:4px}
        .timeline input[type=range]{flex:0 0 320px}.frame-title{font-weight:bold}
        figure.frame{margin:0;overflow-x:auto}figure.frame svg{max-width:100%;height:auto}
        ol.steps{padding-left:34px}li.step{margin:2px 0}li.step summary{cursor:pointer}
        .mark{display:inline-block;min-width:34px;font-weight:bold}.ok .mark{color:#2e7d32}.failed .mark{color:#c62828}
        .skipped{color:#888}.expect{color:#444}
        .why{margin:4px 0 8px 8px;border-left:3px solid #b0bec5;padding-left:8px}
        ul.calls{list-style:none;padding-left:16px;margin:2px 0}ul.calls li{margin:1px 0}
        .call code{background:#eef3f7;padding:0 3px;border-radius:2px}.src{color:#78909c;font-size:11px;margin-left:6px}
        .decision{color:#1a237e}.change{color:#4e342e}.error{color:#b71c1c;font-weight:bold}.oops{color:#fff;background:#b71c1c;padding:0 4px}
        pre{background:#f5f5f5;padding:6px;overflow-x:auto;font-size:12px;margin:4px 0}
        pre.oops-report{background:#ffebee;color:#7f0000;border:1px solid #e57373}
        .files li{font-family:"DejaVu Sans Mono",monospace;font-size:12px;white-space:pre}.files ul{list-style:none;padding-left:8px;margin:2px 0}
        .add{color:#1b5e20}.del{color:#b71c1c}
        table{border-collapse:collapse;margin:4px 0}td,th{border:1px solid #ddd;padding:2px 6px;font-size:12px;vertical-align:top;text-align:left}
        th{background:#eceff1}td.num{text-align:right}table.full td{font-family:"DejaVu Sans Mono",monospace;white-space:pre-wrap}
        footer{color:#777;font-size:12px;padding:10px 18px}
        """;

    private const string Script = """
        (function () {
          'use strict';
          document.querySelectorAll('.timeline').forEach(function (tl) {
            var frames = tl.querySelectorAll('figure.frame');
            var range = tl.querySelector('input[type=range]');
            var title = tl.querySelector('.frame-title');
            function show(i) {
              i = Math.max(0, Math.min(frames.length - 1, i));
              range.value = String(i);
              frames.forEach(function (f, k) { f.hidden = k !== i; });
              title.textContent = frames[i].getAttribute('data-title');
            }
            tl.showFrame = show;
            range.addEventListener('input', function () { show(Number(range.value)); });
            tl.querySelectorAll('button[data-move]').forEach(function (b) {
              b.addEventListener('click', function () { show(Number(range.value) + Number(b.getAttribute('data-move'))); });
            });
            show(Number(range.value));
          });
          document.querySelectorAll('a[data-frame]').forEach(function (a) {
            a.addEventListener('click', function (e) {
              e.preventDefault();
              var tl = document.getElementById(a.getAttribute('data-timeline'));
              tl.showFrame(Number(a.getAttribute('data-frame')));
              tl.scrollIntoView({ block: 'start' });
            });
          });
          function all(open) { document.querySelectorAll('li.step details').forEach(function (d) { d.open = open; }); }
          document.getElementById('expand-all').addEventListener('click', function () { all(true); });
          document.getElementById('collapse-all').addEventListener('click', function () { all(false); });
        })();
        """;
}

/// <summary>HTML escaping.</summary>
internal static class Html
{
    public static string Esc(string s) => SvgWriter.Esc(s);
}
