using System.Security.Cryptography;
using static Numasim.Tests.Cli.CliHarness;

namespace Numasim.Tests.Reliability;

/// <summary>The same inputs give byte-identical output across runs and --jobs values: run (text, JSON, uevents,
/// export), boot --export, check (its counterexample and its search figures), soak (its counts).</summary>
public class DeterminismTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("numasim-determinism-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Repo([System.Runtime.CompilerServices.CallerFilePath] string here = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(here)!, "..", "..", ".."));

    private static string[] Scenarios() =>
        [.. Directory.GetFiles(Path.Combine(Repo(), "scenarios", "seed"), "*.yaml").Order(StringComparer.Ordinal),
         Path.Combine(Repo(), "scenarios", "conformance", "memory-notifier-error-inject-v6.1.yaml")];

    /// <summary>Every file below DIR with its bytes' hash, mode and link target (links not followed).</summary>
    private static string Tree(string dir)
    {
        var lines = new List<string>();
        void Walk(string d)
        {
            foreach (var p in Directory.EnumerateFileSystemEntries(d).Order(StringComparer.Ordinal))
            {
                var fi = new FileInfo(p);
                var rel = Path.GetRelativePath(dir, p);
                if (fi.LinkTarget is not null) lines.Add($"{rel} -> {fi.LinkTarget}");
                else if (Directory.Exists(p)) { lines.Add(rel + "/"); Walk(p); }
                else lines.Add($"{rel} {(OperatingSystem.IsWindows() ? "" : File.GetUnixFileMode(p).ToString())} {Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(p)))}");
            }
        }
        Walk(dir);
        return string.Join("\n", lines);
    }

    [Theory]
    [InlineData("text")]
    [InlineData("json")]
    public void Run_prints_the_same_bytes_twice_and_exports_the_same_trees(string format)
    {
        string[] args = ["run", .. Scenarios(), "--format", format, "--uevents"];
        var a = Run([.. args, "--export", Path.Combine(_dir, "a")]);
        var b = Run([.. args, "--export", Path.Combine(_dir, "b")]);
        Assert.Equal("", a.Err);
        Assert.Equal(a.Out, b.Out);
        Assert.Equal(Tree(Path.Combine(_dir, "a")), Tree(Path.Combine(_dir, "b")));
        Assert.NotEmpty(Tree(Path.Combine(_dir, "a")));
    }

    [Fact]
    public void Boot_exports_the_same_tree_for_every_profile_twice()
    {
        foreach (var p in new[] { "v4.19", "v4.20", "v6.1", "v6.12" })
        {
            var x = Path.Combine(_dir, p + "x");
            var y = Path.Combine(_dir, p + "y");
            Assert.Equal(0, Run("boot", "--qemu", OracleQemu, "--profile", p, "--export", x, "--dmesg").Exit);
            Assert.Equal(0, Run("boot", "--qemu", OracleQemu, "--profile", p, "--export", y, "--dmesg").Exit);
            Assert.Equal(Tree(x), Tree(y));
        }
    }

    /// <summary>The figures line holds times and memory; everything else must match.</summary>
    private static string WithoutTimings(string output) =>
        string.Join("\n", output.Split('\n').Where(l => !l.Contains(" s, ", StringComparison.Ordinal) && !l.Contains("states/s", StringComparison.Ordinal)));

    [Fact]
    public void Check_writes_the_same_counterexample_with_one_and_two_jobs()
    {
        var one = Path.Combine(_dir, "one.yaml");
        var two = Path.Combine(_dir, "two.yaml");
        var r1 = Run("check", "--qemu", OracleQemu, "--profile", "v4.19", "--ops", "cpu,kvm", "--depth", "4", "--jobs", "1", "--out", one);
        var r2 = Run("check", "--qemu", OracleQemu, "--profile", "v4.19", "--ops", "cpu,kvm", "--depth", "4", "--jobs", "2", "--out", two);
        Assert.Equal(1, r1.Exit);
        Assert.Equal(r1.Exit, r2.Exit);
        Assert.Equal(File.ReadAllBytes(one), File.ReadAllBytes(two));
        Assert.Equal(WithoutTimings(r1.Out).Replace(one, "OUT"), WithoutTimings(r2.Out).Replace(two, "OUT"));
    }

    [Fact]
    public void Check_explores_the_same_states_with_one_and_two_jobs()
    {
        var r1 = Run("check", "--qemu", OracleQemu, "--profile", "v6.1", "--depth", "3", "--jobs", "1");
        var r2 = Run("check", "--qemu", OracleQemu, "--profile", "v6.1", "--depth", "3", "--jobs", "2");
        Assert.Equal(0, r1.Exit);
        string Figures(string o) => string.Join(" ", o.Split('\n').Where(l => l.Contains("states per depth") || l.StartsWith("check")));
        Assert.Equal(Figures(r1.Out), Figures(r2.Out));
        Assert.Contains("distinct states", r1.Out);
        string States(string o) => o.Split('\n').First(l => l.Contains("distinct states")).Split(',')[0];
        Assert.Equal(States(r1.Out), States(r2.Out));
    }

    [Fact]
    public void Soak_counts_the_same_with_one_and_two_jobs()
    {
        var a = Run("soak", "--steps", "1200", "--walk", "100", "--jobs", "1");
        var b = Run("soak", "--steps", "1200", "--walk", "100", "--jobs", "2");
        Assert.Equal(0, a.Exit);
        string Counts(string o) => o.Split(';')[0];
        Assert.Equal(Counts(a.Out), Counts(b.Out));
    }
}
