using Numasim.Export;
using Numasim.Kernel.Sysfs;

namespace Numasim.Cli.Commands;

/// <summary>The exporter as the commands use it: its refusals become one-line CLI errors (exit 2).</summary>
internal static class ExportTarget
{
    /// <summary>Refuses a directory the exporter would not write, before any work is done.</summary>
    public static void Check(string dir) => Guard(() => SysfsExporter.CheckTarget(dir));

    /// <summary>Writes the tree under <paramref name="dir"/>.</summary>
    public static void Write(SysfsTree tree, string dir) => Guard(() => SysfsExporter.Export(tree, dir));

    private static void Guard(Action action)
    {
        try { action(); }
        catch (ExportException e) { throw new CliException("export: " + e.Message); }
    }
}
