namespace Numasim.Import;

/// <summary>A tree that cannot be imported: a missing file (named), a malformed list, a distance matrix that is not
/// square, a file that is not a tarball. The message is one line, naming the file.</summary>
public sealed class ImportException(string message) : Exception(message);
