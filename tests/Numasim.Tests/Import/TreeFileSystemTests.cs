using Numasim.Import;

namespace Numasim.Tests.Import;

/// <summary>The device of a tree's folders, taken from the root where no mount point lies between (TreeFileSystem).</summary>
public sealed class TreeFileSystemTests : IDisposable
{
    private readonly ScratchFolder _scratch = new("treefs-test");
    private string Dir => _scratch.Path;

    public void Dispose() => _scratch.Dispose();

    [Fact]
    public void A_folder_below_no_mount_point_has_the_roots_device()
    {
        if (!DirectoryReader.Available) return;
        Directory.CreateDirectory(Path.Combine(Dir, "a", "b"));
        var fs = TreeFileSystem.Probe(Dir);
        var folder = Dir + "/a/b";
        Assert.Equal(DirectoryReader.DeviceOf(folder), fs.DeviceOf(folder));
        Assert.Equal(DirectoryReader.DeviceOf(Dir), fs.DeviceOf(Dir));
    }

    [Fact]
    public void A_folder_on_or_under_a_mount_point_is_asked_its_own_device()
    {
        if (!DirectoryReader.Available) return;
        var fs = TreeFileSystem.Probe("/");
        Assert.Null(fs.DeviceOf("/proc"));
        Assert.Null(fs.DeviceOf("/proc/self"));
    }

    [Fact]
    public void A_folder_outside_the_root_is_asked_its_own_device()
    {
        if (!DirectoryReader.Available) return;
        Directory.CreateDirectory(Dir);
        Assert.Null(TreeFileSystem.Probe(Dir).DeviceOf(Dir + "-other"));
    }
}
