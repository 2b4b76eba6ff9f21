namespace Numasim.Kernel;

/// <summary>The kernel command line a machine boots with when it names none: the real-kernel oracle's guest line.
/// nokaslr keeps the image at CONFIG_PHYSICAL_START (the placement the model reproduces); memblock=debug makes the
/// guest print every boot reservation with its caller, which the oracle compares. Its length sizes
/// setup_command_line()'s two copies.</summary>
public static class BootCommandLine
{
    /// <summary>The options, in order; other engineers' options (a machine's -append) go after them.</summary>
    public static IReadOnlyList<string> OracleOptions { get; } = ["console=ttyS0", "memhp_default_state=offline", "panic=-1", "quiet", "nokaslr", "memblock=debug"];

    public static string Default { get; } = string.Join(" ", OracleOptions);
}
