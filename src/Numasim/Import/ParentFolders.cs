namespace Numasim.Import;

/// <summary>
/// Descriptors (O_PATH) of the parent folders of the folders one <see cref="DumpTree.Folders"/> reads:
/// 65,536 memoryN share one parent. A parent is opened (and closed) only once more than <see cref="Few"/> folders
/// were asked in it: for a CPU's one topology or four cache indexK folders the two system calls would cost more than
/// the path walks they save.
/// </summary>
internal sealed class ParentFolders : IDisposable
{
    private const int Few = 4;

    /// <summary>Per parent, its descriptor once opened (-1 before, or when it cannot be), and how often it was asked.</summary>
    private readonly Dictionary<string, (int Fd, int Asked)> _parents = new(StringComparer.Ordinal);

    /// <summary>A descriptor of the real folder <paramref name="dir"/>, or -1 (not yet worth one, or not openable).</summary>
    public int Fd(string dir)
    {
        lock (_parents)
        {
            var (fd, asked) = _parents.GetValueOrDefault(dir, (-1, 0));
            if (++asked == Few + 1) fd = DirectoryReader.OpenPath(dir);
            _parents[dir] = (fd, asked);
            return fd;
        }
    }

    public void Dispose()
    {
        lock (_parents)
        {
            foreach (var (fd, _) in _parents.Values)
                if (fd >= 0) DirectoryReader.CloseFd(fd);
            _parents.Clear();
        }
    }
}
