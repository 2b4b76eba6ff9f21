namespace Numasim.Scenarios;

/// <summary>One step of a scenario file (CONTRACT §4): its kind, its arguments, and where it stands in the file.</summary>
public sealed record ScenarioStep(string Kind, IReadOnlyDictionary<string, string> Args, string? Scalar, int Line);

/// <summary>A parsed scenario: name, machine (QEMU options or a machine file path), profile, steps.</summary>
public sealed record Scenario(string File, string Name, string? MachineQemu, string? MachineFile, string? Profile, IReadOnlyList<ScenarioStep> Steps)
{
    /// <summary>The profiles the story applies to (the file's `profiles:`); null for all.</summary>
    public IReadOnlyList<string>? Profiles { get; init; }

    public bool AppliesTo(string profile) => Profiles is null || Profiles.Contains(profile);
}

/// <summary>A malformed scenario file: "FILE:LINE: message".</summary>
public sealed class ScenarioFormatException(string file, int line, string message) : Exception(line > 0 ? $"{file}:{line}: {message}" : $"{file}: {message}")
{
    public string File { get; } = file;
    public int LineNumber { get; } = line;
}
