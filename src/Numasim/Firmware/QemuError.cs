namespace Numasim.Firmware;

/// <summary>An error as QEMU reports it (error_setg() text), optionally naming the option it came from.</summary>
public sealed record QemuError(string Message, string? Option = null)
{
    /// <summary>"OPTION: message" when an option is known, else the message.</summary>
    public override string ToString() => Option is null ? Message : $"{Option}: {Message}";
}

/// <summary>The outcome of <see cref="QemuCommandLine.Parse"/>: a machine (with QEMU's warnings) or an error.</summary>
public sealed record ParseResult
{
    /// <summary>The parsed machine, null on error.</summary>
    public MachineSpec? Spec { get; init; }

    /// <summary>The error, null on success.</summary>
    public QemuError? Error { get; init; }

    /// <summary>warn_report() lines QEMU would print (e.g. CPUs not in any NUMA node).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>Whether parsing succeeded.</summary>
    public bool Ok => Spec is not null;

    /// <summary>The error's full text ("-smp ...: message"), empty on success.</summary>
    public string ErrorText => Error?.ToString() ?? "";

    /// <summary>A success.</summary>
    public static ParseResult Success(MachineSpec spec, IReadOnlyList<string> warnings) => new() { Spec = spec, Warnings = warnings };

    /// <summary>A failure with QEMU's message, naming the option.</summary>
    public static ParseResult Fail(string? option, string message) => new() { Error = new QemuError(message, option) };

    /// <summary>The spec, or an exception carrying the error text.</summary>
    public MachineSpec GetSpecOrThrow() => Spec ?? throw new InvalidOperationException(ErrorText);
}
