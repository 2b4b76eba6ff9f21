using System.CommandLine;
using Numasim.Firmware;
using Numasim.Import;

namespace Numasim.Cli.Commands;

/// <summary>
/// <c>numasim import SYSFS_ROOT [-o FILE] [--fill-missing]</c>: reads a real machine's tree (a directory holding
/// sys/ and proc/, or a .tar.gz/.tar.bz2 of one) and writes the machine file (YAML) that, booted, shows the same
/// CPUs, nodes, distances and memory blocks. Notes on what was assumed go to stderr as "numasim: import: note: ...".
/// Bad input: one line "numasim: import: ...", exit 2, nothing written.
/// </summary>
public static class ImportCommand
{
    public static Command Create()
    {
        var root = new Argument<string>("SYSFS_ROOT") { Description = "a directory holding sys/ (and proc/), or a .tar.gz/.tar.bz2 of one" };
        var output = new Option<string?>("--output", "-o") { Description = "write the machine file here instead of stdout", HelpName = "FILE" };
        var fill = new Option<bool>("--fill-missing")
        {
            Description = "partial dumps: assume one CPU when cpu/ is missing and 1G per node when nodeN/meminfo is missing",
        };
        var command = new Command("import", "import a real machine's /sys and /proc into a machine file");
        command.Arguments.Add(root);
        command.Options.Add(output);
        command.Options.Add(fill);
        command.SetAction(parsed =>
        {
            var stdout = parsed.InvocationConfiguration.Output;
            var stderr = parsed.InvocationConfiguration.Error;
            ImportResult r;
            try { r = SysfsImporter.Import(parsed.GetValue(root)!, new ImportOptions(parsed.GetValue(fill))); }
            catch (ImportException e) { throw new CliException("import: " + CliApp.OneLine(e.Message)); }
            var yaml = MachineFile.Write(r.Spec);
            try { MachineFile.Parse(yaml, "imported"); }
            catch (MachineFormatException e) { throw new CliException("import: the imported machine is not valid: " + CliApp.OneLine(e.Message)); }
            var file = parsed.GetValue(output);
            if (file is null) stdout.Write(yaml);
            else
            {
                try { File.WriteAllText(file, yaml); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw new CliException($"import: {file}: {CliApp.OneLine(e.Message)}");
                }
            }
            foreach (var n in r.Notes) stderr.WriteLine("numasim: import: note: " + CliApp.OneLine(n));
            return CliApp.ExitOk;
        });
        return command;
    }
}
