using System.CommandLine;
using Numasim.Firmware;
using Numasim.Import;

namespace Numasim.Cli.Commands;

/// <summary>
/// <c>numasim import SYSFS_ROOT [-o FILE] [--strict]</c>: reads a real machine's tree (a directory holding sys/ and
/// proc/, a sysfs mount such as /sys, or a .tar.gz/.tar.bz2 of one) and writes the machine file (YAML) that, booted,
/// shows the same state; the rules used for what the tree does not show are comments in it. What the model does not
/// carry goes to stderr, one line per fact: "numasim: import: note: ...". Bad input: one line
/// "numasim: import: ...", exit 2, nothing written.
/// </summary>
public static class ImportCommand
{
    public static Command Create()
    {
        var root = new Argument<string>("SYSFS_ROOT") { Description = "a directory holding sys/ (and proc/), or a .tar.gz/.tar.bz2 of one" };
        var output = new Option<string?>("--output", "-o") { Description = "write the machine file here instead of stdout", HelpName = "FILE" };
        var strict = new Option<bool>("--strict")
        {
            Description = "refuse a partial tree (no cpu/, no nodeN/meminfo) instead of filling in by a stated rule",
        };
        var command = new Command("import", "import a real machine's /sys and /proc into a machine file");
        command.Arguments.Add(root);
        command.Options.Add(output);
        command.Options.Add(strict);
        command.SetAction(parsed =>
        {
            var stdout = parsed.InvocationConfiguration.Output;
            var stderr = parsed.InvocationConfiguration.Error;
            ImportResult r;
            try { r = SysfsImporter.Import(parsed.GetValue(root)!, new ImportOptions(Strict: parsed.GetValue(strict))); }
            catch (ImportException e) { throw new CliException("import: " + CliApp.OneLine(e.Message)); }
            var yaml = r.MachineFileText();
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
            if (r.ProfileReason is not null) stderr.WriteLine($"numasim: import: note: {CliApp.OneLine(r.ProfileReason)}: boot it with --profile {r.Profile}");
            return CliApp.ExitOk;
        });
        return command;
    }
}
