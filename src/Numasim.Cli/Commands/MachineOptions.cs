using System.CommandLine;
using Numasim.Firmware;
using Numasim.Kernel.Profiles;

namespace Numasim.Cli.Commands;

/// <summary>The machine-choosing options shared by boot (and later check): --machine FILE | --qemu "ARGS", --profile P.</summary>
public sealed class MachineOptions
{
    public Option<string?> Machine { get; } = new("--machine") { Description = "a YAML machine file (machines/*.yaml)", HelpName = "FILE" };
    public Option<string?> Qemu { get; } = new("--qemu") { Description = "QEMU command-line options describing the machine", HelpName = "ARGS" };
    public Option<string?> Profile { get; } = ProfileOption();

    public static Option<string?> ProfileOption()
    {
        var o = new Option<string?>("--profile") { Description = "kernel profile: v4.19, v4.20, v6.1 (default), v6.12", HelpName = "P" };
        o.CompletionSources.Add(KernelProfile.All.Select(p => p.Name).ToArray());
        return o;
    }

    public void AddTo(Command command)
    {
        command.Options.Add(Machine);
        command.Options.Add(Qemu);
        command.Options.Add(Profile);
    }

    /// <summary>The profile named, the default when none; a CliException for an unknown name.</summary>
    public static KernelProfile ResolveProfile(string? name)
    {
        if (name is null) return KernelProfile.Default;
        return KernelProfile.Find(name)
            ?? throw new CliException($"unknown profile '{name}' (known: {string.Join(", ", KernelProfile.All.Select(p => p.Name))})");
    }

    /// <summary>The machine spec from exactly one of --machine/--qemu; QEMU's warnings go to <paramref name="stderr"/>.</summary>
    public MachineSpec ResolveSpec(System.CommandLine.ParseResult parsed, string commandName, TextWriter stderr)
    {
        return ResolveSpec(parsed.GetValue(Machine), parsed.GetValue(Qemu), commandName, stderr);
    }

    /// <summary>The machine spec from exactly one of a machine file or QEMU options.</summary>
    public MachineSpec ResolveSpec(string? file, string? qemu, string commandName, TextWriter stderr)
    {
        if (file is null == qemu is null)
            throw new CliException($"{commandName}: give exactly one of --machine FILE or --qemu \"ARGS\"");
        if (file is not null)
        {
            if (!File.Exists(file)) throw new CliException($"{file}: No such file or directory");
            try { return MachineFile.Load(file); }
            catch (MachineFormatException e) { throw new CliException(CliApp.OneLine(e.Message)); }
        }
        var result = QemuCommandLine.Parse(qemu!);
        if (!result.Ok) throw new CliException("qemu: " + CliApp.OneLine(result.ErrorText));
        foreach (var w in result.Warnings) stderr.WriteLine("numasim: qemu: warning: " + CliApp.OneLine(w));
        return result.Spec!;
    }
}
