using Xunit.Abstractions;

namespace Numasim.Tests;

/// <summary>The real data written by others (DEVELOPERS.md): ../shared/data next to the repository.</summary>
public static class SharedData
{
    /// <summary>../shared/data relative to the repository root (the folder holding Numasim.slnx); from a git
    /// worktree (/work/wt/NAME) the same relative path is tried from each parent folder. Null when absent.</summary>
    public static string? Dir()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Numasim.slnx"))) dir = dir.Parent;
        for (var d = dir; d?.Parent is not null; d = d.Parent)
        {
            var p = Path.Combine(d.Parent.FullName, "shared", "data");
            if (Directory.Exists(p)) return p;
        }
        return null;
    }

    /// <summary>The data directory, or null after a note when a clone has no ../shared next to it. Under CI
    /// (CI set) missing data fails the test instead: CI must run these.</summary>
    public static string? DirOrSkip(ITestOutputHelper output, string what)
    {
        if (Dir() is { } data) return data;
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI"))) Assert.Fail("../shared/data not found from the repository root");
        output.WriteLine($"NOTE: ../shared/data not found; {what} not run");
        return null;
    }
}
