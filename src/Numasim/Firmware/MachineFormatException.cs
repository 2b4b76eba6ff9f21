namespace Numasim.Firmware;

/// <summary>A bad machine file: Message is "FILE:LINE: message" naming the field (CONTRACT §2 error format).</summary>
public sealed class MachineFormatException(string file, int line, string message) : Exception(line > 0 ? $"{file}:{line}: {message}" : $"{file}: {message}")
{
    /// <summary>The machine file's name as given.</summary>
    public string File { get; } = file;

    /// <summary>1-based line of the offending field.</summary>
    public int Line { get; } = line;

    /// <summary>The message without the "FILE:LINE: " prefix.</summary>
    public string Detail { get; } = message;
}
