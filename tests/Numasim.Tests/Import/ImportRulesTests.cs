using Numasim.Firmware;
using Numasim.Import;
using Numasim.Tests.Cli;

namespace Numasim.Tests.Import;

/// <summary>
/// The importer's rules on small hand-written trees: what is kept (sparse CPU numbers, compute units, caches, block
/// states, MemTotal), what is inferred (and said so in the machine file), and bad input (a block list that contradicts
/// itself: one line naming the file, exit 2, nothing written).
/// </summary>
public sealed class ImportRulesTests : IDisposable
{
    private readonly string _dir = TempFolders.Create();

    public void Dispose() => TempFolders.Delete(_dir);

    private string Tree => Path.Combine(_dir, "tree");
    private const string Sys = "sys/devices/system";

    private void Write(string rel, string text)
    {
        var p = Path.Combine(Tree, rel);
        Directory.CreateDirectory(Path.GetDirectoryName(p)!);
        File.WriteAllText(p, text);
    }

    private void Link(string rel, string target)
    {
        var p = Path.Combine(Tree, rel);
        Directory.CreateDirectory(Path.GetDirectoryName(p)!);
        File.CreateSymbolicLink(p, target);
    }

    /// <summary>One node, CPUs <paramref name="cpus"/> online (each its own core in package 0), 128 MiB blocks
    /// 0..<paramref name="blocks"/>-1 online on node 0, MemTotal <paramref name="memTotalKb"/>.</summary>
    private void Machine(int[] cpus, int blocks, ulong memTotalKb)
    {
        Write($"{Sys}/cpu/possible", IdList.Format(cpus) + "\n");
        Write($"{Sys}/cpu/present", IdList.Format(cpus) + "\n");
        Write($"{Sys}/cpu/online", IdList.Format(cpus) + "\n");
        foreach (var c in cpus)
        {
            Write($"{Sys}/cpu/cpu{c}/topology/physical_package_id", "0\n");
            Write($"{Sys}/cpu/cpu{c}/topology/core_id", $"{c}\n");
            Write($"{Sys}/cpu/cpu{c}/topology/thread_siblings_list", $"{c}\n");
            Write($"{Sys}/cpu/cpu{c}/topology/core_siblings_list", IdList.Format(cpus) + "\n");
        }
        Write($"{Sys}/node/possible", "0\n");
        Write($"{Sys}/node/node0/cpulist", IdList.Format(cpus) + "\n");
        Write($"{Sys}/node/node0/distance", "10\n");
        Write($"{Sys}/node/node0/meminfo", $"Node 0 MemTotal:       {memTotalKb} kB\n");
        Write($"{Sys}/memory/block_size_bytes", "8000000\n");
        Write($"{Sys}/memory/auto_online_blocks", "offline\n");
        for (int b = 0; b < blocks; b++) Block(b, "online", b == 0 ? "none" : "DMA32", 0);
    }

    private void Block(int b, string state, string zones, int node)
    {
        Write($"{Sys}/memory/memory{b}/phys_index", $"{b:x8}\n");
        Write($"{Sys}/memory/memory{b}/state", state + "\n");
        Write($"{Sys}/memory/memory{b}/removable", "1\n");
        Write($"{Sys}/memory/memory{b}/valid_zones", zones + "\n");
        Link($"{Sys}/memory/memory{b}/node{node}", $"../../node/node{node}");
        Link($"{Sys}/node/node{node}/memory{b}", $"../../memory/memory{b}");
    }

    private ImportResult Import() => SysfsImporter.ImportTree(Tree, "t", new ImportOptions());

    [Fact]
    public void Blocks_keep_their_addresses_holes_states_and_the_node_keeps_its_memtotal()
    {
        Machine([0, 1], 8, 700000);
        Directory.Delete(Path.Combine(Tree, $"{Sys}/memory/memory3"), recursive: true);   // a hole in the map
        File.Delete(Path.Combine(Tree, $"{Sys}/node/node0/memory3"));
        Write($"{Sys}/memory/memory5/state", "offline\n");
        Write($"{Sys}/memory/memory5/valid_zones", "DMA32\n");
        var r = Import();
        Assert.Equal([new BootRamRange(0, 3UL << 27, 0), new BootRamRange(4UL << 27, 4UL << 27, 0)], r.Spec.BootMemory);
        Assert.Equal([5], r.Spec.OfflineBlocksAtBoot);
        var m = Numasim.Machine.Boot(MachineFile.Parse(r.MachineFileText(), "t.yaml"));
        Assert.Empty(m.StateNotes);
        Assert.Equal("Node 0 MemTotal:         700000 kB", m.Read($"/{Sys}/node/node0/meminfo").Text.Split('\n')[0]);
        Assert.Equal("offline\n", m.Read($"/{Sys}/memory/memory5/state").Text);
        Assert.False(m.Fs.Exists($"/{Sys}/memory/memory3"));
        Assert.Equal("00000007\n", m.Read($"/{Sys}/memory/memory7/phys_index").Text);
    }

    [Fact]
    public void Kernel_code_in_proc_iomem_places_the_image_and_memtotal_stays_the_machines()
    {
        Machine([0, 1], 8, 700000);
        Write("proc/iomem", "00000000-00000fff : Reserved\n00100000-3ffdffff : System RAM\n  0c000000-0d25b13f : Kernel code\n  0d400000-0ddfefff : Kernel rodata\n");
        var r = Import();
        Assert.Equal(0xc000000UL, r.Spec.KernelPhysAddr);
        Assert.Contains("kernel_phys_addr: 0xc000000", r.MachineFileText(), StringComparison.Ordinal);
        var m = Numasim.Machine.Boot(MachineFile.Parse(r.MachineFileText(), "t.yaml"));
        Assert.Empty(m.StateNotes);
        // the observed MemTotal overrides the mechanism's reservations, late frees of the image included
        Assert.Equal("Node 0 MemTotal:         700000 kB", m.Read($"/{Sys}/node/node0/meminfo").Text.Split('\n')[0]);
    }

    [Fact]
    public void Kernel_code_read_without_privilege_is_a_stated_note()
    {
        Machine([0, 1], 8, 700000);
        Write("proc/iomem", "00000000-00000000 : System RAM\n  00000000-00000000 : Kernel code\n");
        var r = Import();
        Assert.Null(r.Spec.KernelPhysAddr);
        Assert.Contains(r.Notes, n => n.Contains("'Kernel code' reads 0", StringComparison.Ordinal));
    }

    [Fact]
    public void A_machine_file_of_millions_of_plain_nodes_is_not_taken_for_an_alias_bomb()
    {
        // an imported 1,024-node machine (8,192 CPUs with their caches) is over a million YAML nodes, none of them aliases
        var text = "cpus: [" + string.Join(", ", Enumerable.Repeat("0", 1_100_000)) + "]\n";
        var root = Assert.IsType<YamlDotNet.RepresentationModel.YamlMappingNode>(Numasim.Input.BoundedYaml.LoadRoot(text));
        Assert.Single(root.Children);
    }

    [Fact]
    public void Sparse_cpu_numbers_stay_sparse()
    {
        Machine([0, 1, 8, 9], 8, 900000);
        var r = Import();
        Assert.True(r.Spec.FirmwareCpuIds);
        Assert.Contains(r.Inferred, i => i.Contains("firmware_cpu_ids keeps the numbers", StringComparison.Ordinal));
        var m = Numasim.Machine.Boot(r.Spec);
        Assert.Equal("0-1,8-9\n", m.Read($"/{Sys}/cpu/present").Text);
        Assert.Equal("0-1,8-9\n", m.Read($"/{Sys}/node/node0/cpulist").Text);
        Assert.Equal("8\n", m.Read($"/{Sys}/cpu/cpu8/topology/core_id").Text);
    }

    [Fact]
    public void Thread_siblings_with_their_own_core_ids_are_a_compute_unit()
    {
        Machine([0, 1, 2, 3], 8, 900000);
        foreach (var c in (int[])[0, 1, 2, 3]) Write($"{Sys}/cpu/cpu{c}/topology/thread_siblings_list", c < 2 ? "0-1\n" : "2-3\n");
        var m = Numasim.Machine.Boot(Import().Spec);
        Assert.Equal("0-1\n", m.Read($"/{Sys}/cpu/cpu1/topology/thread_siblings_list").Text);
        Assert.Equal("1\n", m.Read($"/{Sys}/cpu/cpu1/topology/core_id").Text);
        Assert.Contains("cpu cores\t: 2\n", m.Read("/proc/cpuinfo").Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Caches_come_back_with_their_sharing_and_files()
    {
        Machine([0, 1], 8, 900000);
        foreach (var c in (int[])[0, 1])
        {
            var l1 = $"{Sys}/cpu/cpu{c}/cache/index0";
            Write($"{l1}/level", "1\n"); Write($"{l1}/type", "Data\n"); Write($"{l1}/size", "32K\n"); Write($"{l1}/shared_cpu_map", $"{1 << c}\n");
            var l3 = $"{Sys}/cpu/cpu{c}/cache/index3";
            Write($"{l3}/level", "3\n"); Write($"{l3}/type", "Unified\n"); Write($"{l3}/size", "16384K\n"); Write($"{l3}/shared_cpu_map", "3\n");
            Write($"{l3}/id", "0\n"); Write($"{l3}/write_policy", "WriteBack\n");
        }
        var m = Numasim.Machine.Boot(Import().Spec);
        Assert.Equal("0-1\n", m.Read($"/{Sys}/cpu/cpu1/cache/index3/shared_cpu_list").Text);
        Assert.Equal("1\n", m.Read($"/{Sys}/cpu/cpu1/cache/index0/shared_cpu_list").Text);
        Assert.Equal("WriteBack\n", m.Read($"/{Sys}/cpu/cpu0/cache/index3/write_policy").Text);
        Assert.False(m.Fs.Exists($"/{Sys}/cpu/cpu0/cache/index0/id"));
        Assert.False(m.Fs.Exists($"/{Sys}/cpu/cpu0/cache/index1"));
    }

    [Fact]
    public void A_sysfs_mount_named_sys_imports_from_its_parent()
    {
        Machine([0], 8, 900000);
        var r = SysfsImporter.Import(Path.Combine(Tree, "sys"));
        Assert.Equal("tree", r.Spec.Name);
    }

    private void AssertRefused(string expected)
    {
        var yaml = Path.Combine(_dir, "out.yaml");
        var r = CliHarness.Run("import", Tree, "-o", yaml);
        Assert.Equal(2, r.Exit);
        var line = Assert.Single(r.ErrLines);
        Assert.StartsWith("numasim: import: ", line, StringComparison.Ordinal);
        Assert.True(line.Contains(expected, StringComparison.Ordinal), line);
        Assert.False(File.Exists(yaml), "nothing may be written on bad input");
    }

    [Fact]
    public void A_block_whose_phys_index_contradicts_its_name_is_refused()
    {
        Machine([0], 8, 900000);
        Write($"{Sys}/memory/memory5/phys_index", "00000004\n");
        AssertRefused("sys/devices/system/memory/memory5/phys_index: '00000004' contradicts the block's name memory5");
    }

    [Fact]
    public void A_block_linked_to_two_different_nodes_is_refused()
    {
        Machine([0], 8, 900000);
        Write($"{Sys}/node/node1/meminfo", "Node 1 MemTotal:       0 kB\n");
        Write($"{Sys}/node/node0/distance", "10 20\n");
        Write($"{Sys}/node/node1/distance", "20 10\n");
        File.Delete(Path.Combine(Tree, $"{Sys}/memory/memory5/node0"));
        Link($"{Sys}/memory/memory5/node1", "../../node/node1");
        AssertRefused("memory5/node1: block 5 is linked to node 1 but node0/memory5 says node 0");
    }

    [Fact]
    public void An_unknown_block_state_is_refused()
    {
        Machine([0], 8, 900000);
        Write($"{Sys}/memory/memory2/state", "sleeping\n");
        AssertRefused("sys/devices/system/memory/memory2/state: unknown state 'sleeping'");
    }
}
