namespace Numasim.Kernel;

/// <summary>The options every machine boots with before its own (a machine's -append or cmdline: go after them):
/// the real-kernel oracle's guest line. nokaslr keeps the image at CONFIG_PHYSICAL_START (the placement the model
/// reproduces); memblock=debug makes the guest print every boot reservation with its caller, which the oracle
/// compares. The whole line's length sizes setup_command_line()'s two copies.</summary>
public static class DefaultCommandLine
{
    /// <summary>The options, in order.</summary>
    public const string Text = "console=ttyS0 memhp_default_state=offline panic=-1 quiet nokaslr memblock=debug";

    /// <summary>The line a guest sees: these options, then the machine's own.</summary>
    public static string For(string? machineAppend) =>
        string.IsNullOrWhiteSpace(machineAppend) ? Text : Text + " " + machineAppend;

    /// <summary>The line a machine boots with: these options, the machine file's memhp_default_state as the boot option
    /// it stands for (after ours, so it wins: the option's last occurrence counts), then its own command line.</summary>
    public static string For(Firmware.MachineSpec machine) =>
        For(machine.MemhpDefaultState is { } st ? ("memhp_default_state=" + st + " " + machine.CommandLine).TrimEnd() : machine.CommandLine);
}
