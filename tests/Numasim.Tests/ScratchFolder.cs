namespace Numasim.Tests;

/// <summary>A folder of its own under the system's temporary folder, removed with everything in it when disposed.</summary>
public sealed class ScratchFolder(string purpose) : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"numasim-{purpose}-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(Path)) Directory.Delete(Path, recursive: true);
    }
}
