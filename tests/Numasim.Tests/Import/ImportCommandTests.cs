using System.Formats.Tar;
using System.IO.Compression;
using Numasim.Firmware;
using Numasim.Import;
using Numasim.Tests.Cli;

namespace Numasim.Tests.Import;

/// <summary>
/// <c>numasim import</c> on small synthetic trees: an unusual machine (sparse node ids 0,2,4; node 4 CPU-less;
/// CPUs 4-5 possible only; CPU 3 offline without topology/) is imported and boots to the same state; bad input exits 2 with
/// one line naming the file, and writes nothing.
/// </summary>
public sealed class ImportCommandTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"numasim-import-test-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private void Write(string rel, string text)
    {
        var p = Path.Combine(_dir, "tree", rel);
        Directory.CreateDirectory(Path.GetDirectoryName(p)!);
        File.WriteAllText(p, text);
    }

    private string Tree => Path.Combine(_dir, "tree");

    /// <summary>Nodes 0, 2, 4: node 0 has CPUs 0-1 and 2 GiB, node 2 CPUs 2-3 and 512 MiB, node 4 1 GiB and no CPU.
    /// (A node with present CPUs and no memory is not used here: the model's v6.1 boot fails on it, see
    /// docs/conformance.md, "Importing real machines".)
    /// CPUs 0-5 possible, 0-3 present, 3 offline (no topology/ folder, as the kernel removes it).</summary>
    private void WriteSparseMachine()
    {
        const string sys = "sys/devices/system";
        Write($"{sys}/cpu/possible", "0-5\n");
        Write($"{sys}/cpu/present", "0-3\n");
        Write($"{sys}/cpu/online", "0-2\n");
        for (int c = 0; c < 3; c++)
        {
            Write($"{sys}/cpu/cpu{c}/topology/physical_package_id", $"{c / 2}\n");
            Write($"{sys}/cpu/cpu{c}/topology/die_id", "0\n");
            Write($"{sys}/cpu/cpu{c}/topology/core_id", $"{c % 2}\n");
            Write($"{sys}/cpu/cpu{c}/topology/thread_siblings_list", $"{c}\n");
        }
        Write($"{sys}/node/possible", "0,2,4\n");
        Write($"{sys}/node/online", "0,2,4\n");
        (int Id, string Cpus, ulong Kb, string Dist)[] nodes = [(0, "0-1", 2UL << 20, "10 21 31"), (2, "2-3", 512UL << 10, "21 10 31"), (4, "", 1UL << 20, "31 31 10")];
        foreach (var (id, cpus, kb, dist) in nodes)
        {
            Write($"{sys}/node/node{id}/cpulist", cpus + "\n");
            Write($"{sys}/node/node{id}/distance", dist + "\n");
            Write($"{sys}/node/node{id}/meminfo", $"Node {id} MemTotal:       {kb} kB\nNode {id} MemFree:        {kb} kB\n");
        }
    }

    [Fact]
    public void An_unusual_machine_is_imported_and_boots_to_the_same_state()
    {
        WriteSparseMachine();
        var yaml = Path.Combine(_dir, "m.yaml");
        var r = CliHarness.Run("import", Tree, "-o", yaml);
        Assert.Equal(0, r.Exit);
        Assert.DoesNotContain(r.ErrLines, l => !l.StartsWith("numasim: import: note: ", StringComparison.Ordinal));
        var spec = MachineFile.Load(yaml);
        Assert.True(spec.FirmwareNodeIds);
        Assert.Equal([0, 2, 4], spec.Nodes.Select(n => n.NodeId));
        Assert.Equal(0UL, spec.Nodes[1].MemBytes % SysfsImporter.SectionBytes);

        var m = Machine.Boot(spec);
        string Cat(string p) => m.Read(p).Text;
        Assert.Equal("0,2,4\n", Cat("/sys/devices/system/node/possible"));
        Assert.Equal("0,2,4\n", Cat("/sys/devices/system/node/online"));
        Assert.Equal("0-5\n", Cat("/sys/devices/system/cpu/possible"));
        Assert.Equal("0-3\n", Cat("/sys/devices/system/cpu/present"));
        Assert.Equal("0-2\n", Cat("/sys/devices/system/cpu/online"));
        Assert.Equal("0-1\n", Cat("/sys/devices/system/node/node0/cpulist"));
        // x86's node_to_cpumask_map holds online CPUs only (numa_remove_cpu() at offline): CPU 3 is offline
        Assert.Equal("2\n", Cat("/sys/devices/system/node/node2/cpulist"));
        Assert.Equal("\n", Cat("/sys/devices/system/node/node4/cpulist"));
        Assert.Equal("10 21 31\n", Cat("/sys/devices/system/node/node0/distance"));
        Assert.Equal("31 31 10\n", Cat("/sys/devices/system/node/node4/distance"));
        Assert.Equal("1\n", Cat("/sys/devices/system/cpu/cpu2/topology/physical_package_id"));
        Assert.Equal("0\n", Cat("/sys/devices/system/cpu/cpu2/topology/core_id"));
    }

    [Fact]
    public void Without_output_the_machine_file_goes_to_stdout_and_reads_back()
    {
        WriteSparseMachine();
        var r = CliHarness.Run("import", Tree);
        Assert.Equal(0, r.Exit);
        var spec = MachineFile.Parse(r.Out, "stdout");
        Assert.Equal(6, spec.CpuSlots.Count);
        Assert.False(spec.CpuSlots[3].OnlineAtBoot);
    }

    [Fact]
    public void A_gzip_tarball_with_one_top_folder_is_imported()
    {
        WriteSparseMachine();
        var top = Path.Combine(_dir, "pack");
        Directory.CreateDirectory(top);
        Directory.Move(Tree, Path.Combine(top, "sparse-box"));
        var tgz = Path.Combine(_dir, "sparse-box.tar.gz");
        using (var f = File.Create(tgz))
        using (var gz = new GZipStream(f, CompressionLevel.Fastest))
            TarFile.CreateFromDirectory(top, gz, includeBaseDirectory: false);
        var r = CliHarness.Run("import", tgz);
        Assert.Equal(0, r.Exit);
        Assert.StartsWith("# numasim import of sparse-box\n", r.Out, StringComparison.Ordinal);
        Assert.Contains("\nname: \"sparse-box\"\n", r.Out, StringComparison.Ordinal);
    }

    private void AssertRefused(string expectedInMessage, params string[] args)
    {
        var yaml = Path.Combine(_dir, "out.yaml");
        var r = CliHarness.Run(["import", .. args, "-o", yaml]);
        Assert.Equal(2, r.Exit);
        var line = Assert.Single(r.ErrLines);
        Assert.StartsWith("numasim: import: ", line, StringComparison.Ordinal);
        Assert.Contains(expectedInMessage, line, StringComparison.Ordinal);
        Assert.Equal("", r.Out);
        Assert.False(File.Exists(yaml), "nothing may be written on bad input");
    }

    [Fact]
    public void A_missing_meminfo_is_filled_in_by_a_stated_rule_and_named_under_strict()
    {
        WriteSparseMachine();
        foreach (var n in (int[])[0, 2, 4]) File.Delete(Path.Combine(Tree, $"sys/devices/system/node/node{n}/meminfo"));
        var yaml = Path.Combine(_dir, "m.yaml");
        var r = CliHarness.Run("import", Tree, "-o", yaml);
        Assert.Equal(0, r.Exit);
        Assert.Contains("# inferred: no nodeN/meminfo and no memory blocks for nodes 0,2,4: 1G each assumed", File.ReadAllText(yaml), StringComparison.Ordinal);
        AssertRefused("sys/devices/system/node/node0/meminfo: missing", "--strict", Tree);
    }

    [Fact]
    public void A_missing_cpu_folder_is_filled_in_by_a_stated_rule_and_named_under_strict()
    {
        WriteSparseMachine();
        Directory.Delete(Path.Combine(Tree, "sys/devices/system/cpu"), recursive: true);
        var yaml = Path.Combine(_dir, "m.yaml");
        var r = CliHarness.Run("import", Tree, "-o", yaml);
        Assert.Equal(0, r.Exit);
        Assert.Contains("# inferred: sys/devices/system/cpu missing: one online CPU assumed, on node 0", File.ReadAllText(yaml), StringComparison.Ordinal);
        Assert.Single(MachineFile.Load(yaml).CpuSlots);
        AssertRefused("sys/devices/system/cpu: missing", "--strict", Tree);
    }

    [Fact]
    public void A_malformed_cpulist_is_named()
    {
        WriteSparseMachine();
        Write("sys/devices/system/node/node0/cpulist", "0-x\n");
        AssertRefused("sys/devices/system/node/node0/cpulist: malformed list '0-x'", Tree);
    }

    [Fact]
    public void A_distance_matrix_that_is_not_square_is_refused()
    {
        WriteSparseMachine();
        Write("sys/devices/system/node/node2/distance", "21 10\n");
        AssertRefused("sys/devices/system/node/node2/distance: 2 distances but 3 nodes (the distance matrix must be square)", Tree);
    }

    [Fact]
    public void A_file_that_is_not_a_tarball_is_refused()
    {
        Directory.CreateDirectory(_dir);
        var gz = Path.Combine(_dir, "junk.tar.gz");
        var bz = Path.Combine(_dir, "junk.tar.bz2");
        var txt = Path.Combine(_dir, "junk.txt");
        foreach (var f in (string[])[gz, bz, txt]) File.WriteAllText(f, "not a tarball\n");
        AssertRefused("not a gzip-compressed tar archive", gz);
        AssertRefused("not a bzip2-compressed tar archive", bz);
        AssertRefused("not a directory, .tar.gz or .tar.bz2", txt);
        AssertRefused("no such file or directory", Path.Combine(_dir, "nowhere"));
    }
}
