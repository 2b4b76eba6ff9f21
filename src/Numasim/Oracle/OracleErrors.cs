namespace Numasim.Oracle;

/// <summary>The oracle cannot run: a missing tool or kernel, bad input, a refused scenario. Exit code 2 unless given.</summary>
public sealed class OracleSetupException(string message, int exitCode = 2) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

/// <summary>The guest or QEMU misbehaved while a scenario ran: a timeout, a crash, a closed socket.</summary>
public sealed class GuestException(string message) : Exception(message);
