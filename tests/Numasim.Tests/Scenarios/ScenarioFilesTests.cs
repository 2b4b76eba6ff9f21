using Numasim.Kernel.Profiles;
using Numasim.Scenarios;

namespace Numasim.Tests.Scenarios;

/// <summary>Every file under scenarios/ is a test: it must pass under its own profile (and the seed under every profile).</summary>
public class ScenarioFilesTests
{
    public static string RepoRoot()
    {
        var dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Numasim.slnx"))) dir = Path.GetDirectoryName(dir);
        return dir ?? throw new InvalidOperationException("repo root not found");
    }

    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        var root = Path.Combine(RepoRoot(), "scenarios");
        foreach (var f in Directory.EnumerateFiles(root, "*.yaml", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            data.Add(Path.GetRelativePath(root, f));
        return data;
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Scenario_file_passes(string file)
    {
        var sc = ScenarioParser.Load(Path.Combine(RepoRoot(), "scenarios", file));
        // The seed runs under every version; a zoo file under the buggy profile and the fixed one it names.
        IReadOnlyList<KernelProfile?> profiles =
            file.StartsWith("seed", StringComparison.Ordinal) ? [.. KernelProfile.All.Where(p => sc.AppliesTo(p.Name))]
            : file.StartsWith("zoo", StringComparison.Ordinal) ? [.. KernelProfile.All.Concat(ZooProfiles.All).Where(p => sc.Profiles is not null && sc.AppliesTo(p.Name))]
            : [(KernelProfile?)null];
        Assert.NotEmpty(profiles);
        foreach (var p in profiles)
        {
            var r = ScenarioRunner.Run(sc, p);
            var failures = r.Steps.Where(s => !s.Passed).Select(s => $"line {s.Step.Line}: {s.Message}");
            Assert.True(r.Passed, $"{file} under {r.Profile.Name}:\n" + string.Join("\n", failures));
        }
    }
}
