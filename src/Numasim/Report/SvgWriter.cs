using System.Globalization;
using System.Text;

namespace Numasim.Report;

/// <summary>SVG text built by hand: rectangles, text, groups with class and data-* attributes, escaped.</summary>
internal sealed class SvgWriter
{
    private readonly StringBuilder _sb = new();

    public SvgWriter Raw(string s)
    {
        _sb.Append(s);
        return this;
    }

    /// <summary>Opens a &lt;g&gt; with a class and data-* attributes (name, value pairs).</summary>
    public void Group(string cls, params (string Name, object Value)[] data)
    {
        _sb.Append("<g class=\"").Append(cls).Append('"');
        Data(data);
        _sb.Append('>');
    }

    public void EndGroup() => _sb.Append("</g>");

    public void Rect(double x, double y, double w, double h, string style, string? cls = null, string? title = null,
        params (string Name, object Value)[] data)
    {
        _sb.Append("<rect x=\"").Append(N(x)).Append("\" y=\"").Append(N(y)).Append("\" width=\"").Append(N(w))
            .Append("\" height=\"").Append(N(h)).Append("\" style=\"").Append(style).Append('"');
        if (cls is not null) _sb.Append(" class=\"").Append(cls).Append('"');
        Data(data);
        if (title is null) _sb.Append("/>");
        else _sb.Append("><title>").Append(Esc(title)).Append("</title></rect>");
    }

    /// <summary>Text at (x, y) (the baseline); anchor start, middle or end.</summary>
    public void Text(double x, double y, string text, double size = 12, string anchor = "start", string weight = "normal", string fill = "#222")
    {
        _sb.Append("<text x=\"").Append(N(x)).Append("\" y=\"").Append(N(y)).Append("\" font-size=\"").Append(N(size))
            .Append("\" text-anchor=\"").Append(anchor).Append("\" font-weight=\"").Append(weight).Append("\" fill=\"").Append(fill)
            .Append("\">").Append(Esc(text)).Append("</text>");
    }

    public void Line(double x1, double y1, double x2, double y2, string style) =>
        _sb.Append("<line x1=\"").Append(N(x1)).Append("\" y1=\"").Append(N(y1)).Append("\" x2=\"").Append(N(x2))
            .Append("\" y2=\"").Append(N(y2)).Append("\" style=\"").Append(style).Append("\"/>");

    private void Data((string Name, object Value)[] data)
    {
        foreach (var (name, value) in data)
            _sb.Append(" data-").Append(name).Append("=\"").Append(Esc(Convert.ToString(value, CultureInfo.InvariantCulture) ?? "")).Append('"');
    }

    /// <summary>The whole picture: an &lt;svg&gt; of the given size around what was written.</summary>
    public string Finish(double width, double height, string cls, string label) =>
        $"<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"{cls}\" role=\"img\" aria-label=\"{Esc(label)}\" width=\"{N(width)}\" height=\"{N(height)}\" " +
        $"viewBox=\"0 0 {N(width)} {N(height)}\" font-family=\"DejaVu Sans, Liberation Sans, Arial, sans-serif\">{_sb}</svg>";

    public static string N(double v) => Math.Round(v, 1).ToString(CultureInfo.InvariantCulture);

    public static string Esc(string s) => s.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;").Replace("\"", "&quot;");
}

/// <summary>The picture's colours: a fill per zone, a style per block and CPU state.</summary>
internal static class Palette
{
    public static string ZoneFill(string? zone) => zone switch
    {
        "DMA" => "#c6b4e3",
        "DMA32" => "#8fc1e3",
        "Normal" => "#7cc47f",
        "Movable" => "#f6ad6a",
        "Device" => "#e7cb5f",
        _ => "#bdbdbd",
    };

    public static string Block(BlockShown b) => b.State switch
    {
        Kernel.Drivers.MemoryBlockState.Online when b.Zone is null => "fill:url(#mixed);stroke:#555;stroke-width:0.6",
        Kernel.Drivers.MemoryBlockState.Online => $"fill:{ZoneFill(b.Zone)};stroke:#444;stroke-width:0.6",
        Kernel.Drivers.MemoryBlockState.GoingOffline => "fill:url(#going);stroke:#a00;stroke-width:0.8",
        _ => "fill:#fff;stroke:#888;stroke-width:0.8;stroke-dasharray:2,1.5",
    };

    public static string Cpu(CpuShown s) => s switch
    {
        CpuShown.Online => "fill:#3a78b5;stroke:#1f4e79;stroke-width:0.8",
        CpuShown.Offline => "fill:#dbe8f5;stroke:#3a78b5;stroke-width:0.8",
        _ => "fill:#fff;stroke:#999;stroke-width:0.8;stroke-dasharray:2,1.5",
    };

    public static string CpuText(CpuShown s) => s == CpuShown.Online ? "#fff" : "#345";

    /// <summary>The patterns the styles refer to (blocks across zones, blocks going offline).</summary>
    public const string Defs =
        "<defs><pattern id=\"mixed\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">" +
        "<rect width=\"6\" height=\"6\" fill=\"#ddd\"/><rect width=\"3\" height=\"6\" fill=\"#9e9e9e\"/></pattern>" +
        "<pattern id=\"going\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(-45)\">" +
        "<rect width=\"6\" height=\"6\" fill=\"#fff\"/><rect width=\"2\" height=\"6\" fill=\"#e57373\"/></pattern></defs>";
}
