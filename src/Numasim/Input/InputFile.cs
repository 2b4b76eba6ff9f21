using Numasim.Import;

namespace Numasim.Input;

/// <summary>A file a user named (a scenario, a machine file) could not be read; Message says why in one line.</summary>
public sealed class InputFileException(string path, string message) : Exception($"{path}: {message}")
{
    public string Path { get; } = path;
}

/// <summary>
/// Reads the text files users name on the command line or in a scenario, bounded: a FIFO or a device (which would
/// block or never end, e.g. /dev/zero) is refused before it is opened, and so is a file over <see cref="MaxBytes"/>,
/// without reading it. Links are followed: the user named the file.
/// </summary>
public static class InputFile
{
    /// <summary>Scenarios and machine files are a few KiB; the biggest machine file (1,024 nodes) is under 1 MiB.</summary>
    public const int MaxBytes = 16 << 20;

    public static string ReadText(string path)
    {
        var (kind, size) = FileStatus.Stat(path);
        if (kind == FileKind.Missing) throw new InputFileException(path, "No such file or directory");
        if (kind == FileKind.Directory) throw new InputFileException(path, "Is a directory");
        if (kind != FileKind.Regular) throw new InputFileException(path, $"is {FileStatus.Describe(kind)}, not a regular file");
        if (size > MaxBytes) throw new InputFileException(path, $"{size} bytes: larger than the {MaxBytes >> 20} MiB an input file may have");
        try
        {
            using var s = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            // stat's size may be 0 (procfs) or change under us: the read itself is bounded too.
            var bytes = new MemoryStream();
            var chunk = new byte[64 << 10];
            int r;
            while ((r = s.Read(chunk, 0, chunk.Length)) > 0)
            {
                bytes.Write(chunk, 0, r);
                if (bytes.Length > MaxBytes) throw new InputFileException(path, $"larger than the {MaxBytes >> 20} MiB an input file may have");
            }
            bytes.Position = 0;
            using var reader = new StreamReader(bytes, System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
            return reader.ReadToEnd();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputFileException(path, e.Message);
        }
    }
}
