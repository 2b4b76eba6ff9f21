using Numasim.Import;

namespace Numasim.Tests.Import;

/// <summary>The device of a tree's folders, taken from the root where no mount point lies between (TreeFileSystem).</summary>
public sealed class TreeFileSystemTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"numasim-treefs-test-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void A_folder_below_no_mount_point_has_the_roots_device()
    {
        if (!DirectoryReader.Available) return;
        Directory.CreateDirectory(Path.Combine(_dir, "a", "b"));
        var fs = TreeFileSystem.Probe(_dir);
        var folder = _dir + "/a/b";
        Assert.Equal(DirectoryReader.DeviceOf(folder), fs.DeviceOf(folder));
        Assert.Equal(DirectoryReader.DeviceOf(_dir), fs.DeviceOf(_dir));
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
        Directory.CreateDirectory(_dir);
        Assert.Null(TreeFileSystem.Probe(_dir).DeviceOf(_dir + "-other"));
    }
}
