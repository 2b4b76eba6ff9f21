using Numasim.Firmware;
using Numasim.Kernel.Drivers;
using Numasim.Kernel.Log;
using Numasim.Kernel.Mm;
using Numasim.Kernel.Numa;
using Numasim.Kernel.Profiles;
using Numasim.Kernel.Sysfs;
using Numasim.Kernel.Trace;

namespace Numasim.Kernel;

/// <summary>
/// The modelled kernel's global state: what the real kernel keeps in globals (node_data[], node_states[],
/// the CPU masks, numa_distance, the memory block xarray, the printk log). Subsystem classes operate on it.
/// </summary>
public sealed class KernelContext
{
    /// <summary>The kernel of <paramref name="machine"/>; its compact state in <paramref name="state"/> (which QEMU's
    /// start-up already wrote into: the DIMMs cold-plugged before the guest runs), or a new store.</summary>
    internal KernelContext(FirmwareTables firmware, MachineSpec machine, KernelProfile profile, Snapshots.StateStore? state = null)
    {
        State = state ?? new();
        Firmware = firmware;
        Machine = machine;
        Profile = profile;
        Uevents = new Uevents(Log);
        NodeStates = new NodeStates(State);
        MemoryBlocks = new MemoryBlockTable(this);
        ApicToNode = new ApicNodeMap(State);
        _globals = new Snapshots.StateArray<Globals>(State, "kernel globals", 1);
        _globals.Mut(0) = new Globals { MinFreeKbytes = 1024, UserMinFreeKbytes = -1, PolicyZone = ZoneType.Dma, DefaultOnlineType = OnlineType.Offline };
        MhpParams = new Hotplug.MemoryHotplugParams(profile, State);
        MemoryGroups = new Hotplug.MemoryGroups(State);
        BootReservations = new BootReservations(Memblock);
        KernelPhysAddr = machine.KernelPhysAddr ?? profile.Build.PhysicalStart;
        CommandLine = DefaultCommandLine.For(machine);
    }

    /// <summary>The machine's compact state: every region below registers in it (docs/checker.md).</summary>
    public Snapshots.StateStore State { get; }

    /// <summary>The kernel's scalar globals that change after boot, as one record of the compact state.</summary>
    private struct Globals
    {
        public long TotalReservePages;
        public int MinFreeKbytes, UserMinFreeKbytes;
        public ZoneType PolicyZone;
        public bool PageGroupByMobilityDisabled;
        public OnlineType DefaultOnlineType;
    }

    private readonly Snapshots.StateArray<Globals> _globals;

    /// <summary>What the boot command line set (Init/KernelCommandLine.cs); fixed once start_kernel() parsed it.</summary>
    public Init.BootParams Boot { get; internal set; } = new();

    /// <summary>The memory_hotplug.* module parameters (command line, /sys/module/memory_hotplug/parameters).</summary>
    public Hotplug.MemoryHotplugParams MhpParams { get; }

    /// <summary>system_freezable_wq: work items drivers queue, run after the operation that queued them.</summary>
    public Workqueue Workqueue { get; } = new();

    /// <summary>The memory groups of hot-added devices (DIMMs: static, virtio-mem: dynamic).</summary>
    public Hotplug.MemoryGroups MemoryGroups { get; }

    /// <summary>pxm_to_node_map as acpi_numa_init() filled it (empty without SRAT): pxm_to_node().</summary>
    internal Dictionary<int, int> PxmToNode { get; set; } = [];

    /// <summary>The default hstate's huge page pool (mm/hugetlb.c), wired by KernelSubsystems.</summary>
    internal Mm.Hugetlb? Hugetlb { get; set; }

    /// <summary>current->mempolicy of the task writing a file now (a scenario's write under numactl), null for the
    /// default policy. Set only for the length of one write, so it is not part of the state.</summary>
    internal Mm.Mempolicy? WriterMempolicy { get; set; }

    /// <summary>The rootfs's tmpfs files (their page cache counts in Shmem and FilePages).</summary>
    internal Mm.Shmem? Shmem { get; set; }

    public FirmwareTables Firmware { get; }
    public MachineSpec Machine { get; }
    public KernelProfile Profile { get; }
    public KernelLog Log { get; } = new();

    /// <summary>The --explain recorder: off unless a caller starts it (not kernel state; no kernel counterpart).</summary>
    public KernelTrace Trace { get; } = new();
    public SysfsTree Fs { get; } = new();
    public NodeStates NodeStates { get; }
    public CpuTopology Cpus { get; internal set; } = new(1);
    public Memblock Memblock { get; } = new();
    public NumaDistance Distance { get; internal set; } = new(0);

    /// <summary>The boot reservations as items (name, range), alongside memblock.reserved.</summary>
    public BootReservations BootReservations { get; }

    /// <summary>Where the kernel image starts in physical memory: CONFIG_PHYSICAL_START with nokaslr, or the
    /// machine's kernel_phys_addr (one randomised boot, as /proc/iomem's "Kernel code" showed it).</summary>
    public ulong KernelPhysAddr { get; }

    /// <summary>The kernel command line the boot copies (setup_command_line()).</summary>
    public string CommandLine { get; internal set; }

    /// <summary>The initrd's reserved range as QEMU's loader placed it; null without an initrd.</summary>
    public PhysRange? Initrd { get; internal set; }

    /// <summary>Where alloc_node_data() put each node's pgdat (sparse_init() allocates the usemaps near it).</summary>
    internal Dictionary<int, ulong> NodeDataPhys { get; } = [];

    /// <summary>nr_kernel_pages and nr_all_pages (free_area_init_core()'s estimates; alloc_large_system_hash() sizes from them).</summary>
    public long NrKernelPages { get; internal set; }
    public long NrAllPages { get; internal set; }

    /// <summary>physpages - totalram_pages() right after memblock_free_all() (the "Memory:" line's reserved).</summary>
    public long ReservedAtFreeAll { get; internal set; }

    /// <summary>The SWIOTLB pool's physical start, 0 without one.</summary>
    public ulong SwiotlbPool { get; internal set; }

    /// <summary>The first percpu chunk: pages per unit and units (Percpu in /proc/meminfo counts their product).</summary>
    public (long UnitPages, int Units) PercpuFirstChunk { get; internal set; }

    /// <summary>The physical address of each possible CPU's percpu unit (pcpu_embed_first_chunk(); 0: none).</summary>
    internal ulong[] PercpuUnitPhys { get; set; } = [];

    /// <summary>crash_notes' offset in the first chunk's dynamic area (crash_notes_memory_init()); null: not modelled.</summary>
    internal int? CrashNotesOffset { get; set; }

    /// <summary>node_data[]: a pgdat once allocated is never freed.</summary>
    internal readonly PgData?[] NodeData = new PgData?[NumaConstants.MaxNumNodes];

    /// <summary>nr_node_ids: highest possible node + 1.</summary>
    public int NrNodeIds { get; internal set; } = 1;

    /// <summary>Models NODE_DATA(nid); null where no pgdat was ever allocated.</summary>
    public PgData? NodeDataOf(int nid) => nid >= 0 && nid < NodeData.Length ? NodeData[nid] : null;

    /// <summary>The zone of an id (node * MAX_NR_ZONES + zone type).</summary>
    public Zone ZoneById(int id) => NodeData[id / ZoneTypes.MaxNrZones]!.Zones[id % ZoneTypes.MaxNrZones];

    /// <summary>Models the allocation of NODE_DATA(nid) (arch_alloc_nodedata()): made once, never freed.</summary>
    internal PgData AllocPgData(int nid)
    {
        if (NodeData[nid] is { } p) return p;
        p = NodeData[nid] = new PgData(this, nid);
        int at = _pgdats.FindIndex(q => q.NodeId > nid);
        if (at < 0) at = _pgdats.Count;
        _pgdats.Insert(at, p);
        _zones.InsertRange(at * ZoneTypes.MaxNrZones, p.Zones);
        return p;
    }

    // The allocated pgdats in node order and their zones (structure: a pgdat is never freed).
    private readonly List<PgData> _pgdats = [];
    private readonly List<Zone> _zones = [];

    /// <summary>Every allocated pgdat in node order (for_each_online_pgdat and friends filter further).</summary>
    public IReadOnlyList<PgData> AllPgData() => _pgdats;

    /// <summary>All zones of all allocated nodes, node by node, low zone first (for_each_zone()).</summary>
    public IReadOnlyList<Zone> AllZones() => _zones;

    /// <summary><see cref="AllPgData"/> and <see cref="AllZones"/> as spans, for the loops run after every operation
    /// (no enumerator, no interface call per element).</summary>
    public ReadOnlySpan<PgData> PgDataSpan => System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_pgdats);
    public ReadOnlySpan<Zone> ZoneSpan => System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_zones);

    /// <summary>Memory block size in bytes (memory_block_size_bytes()).</summary>
    public ulong MemoryBlockSize { get; internal set; } = 128UL << 20;
    public long PagesPerBlock => (long)(MemoryBlockSize >> Page.Shift);

    /// <summary>The memory block devices (drivers/base/memory.c memory_blocks xarray), by block id.</summary>
    internal MemoryBlockTable MemoryBlocks { get; }

    public MemoryBlock? FindMemoryBlock(long id) => MemoryBlocks.Find(id);
    public IEnumerable<MemoryBlock> AllMemoryBlocks => MemoryBlocks.All();

    /// <summary>Total pages of zone-managed memory (totalram_pages()).</summary>
    public long TotalRamPages
    {
        get
        {
            long n = 0;
            foreach (var z in ZoneSpan) n += z.ManagedPages;
            return n;
        }
    }

    /// <summary>max_pfn: end of boot RAM in pages.</summary>
    public long MaxPfn { get; internal set; }

    /// <summary>Whether boot has finished (system_state != SYSTEM_BOOTING).</summary>
    public bool Booted { get; internal set; }

    /// <summary>__apicid_to_node[]: the node SRAT gave each APIC id (kept for CPU hot-add, acpi_map_cpu2node()).</summary>
    internal ApicNodeMap ApicToNode { get; }

    /// <summary>numa_reserved_meminfo: SRAT ranges beyond boot memory (hotplug), used by memory_add_physaddr_to_nid().</summary>
    internal List<(ulong Start, ulong End, int Nid)> ReservedNumaMeminfo { get; } = [];

    /// <summary>max_possible_pfn: the end of boot RAM or of any hotpluggable SRAT range.</summary>
    public long MaxPossiblePfn { get; internal set; }

    /// <summary>sum_zone_numa_event_state(): a node's NUMA event counters, summed over its zones.</summary>
    public NumaStat NumaStats(int nid)
    {
        var sum = new NumaStat();
        if (NodeDataOf(nid) is { } p)
            foreach (var z in p.Zones) sum.Add(z.Numa);
        return sum;
    }


    public Uevents Uevents { get; }

    /// <summary>totalreserve_pages (calculate_totalreserve_pages()): high watermark plus the largest lowmem reserve per zone.</summary>
    public long TotalReservePages { get => _globals[0].TotalReservePages; internal set => _globals.Mut(0).TotalReservePages = value; }

    /// <summary>min_free_kbytes and user_min_free_kbytes (the sysctl; -1 when never written).</summary>
    public int MinFreeKbytes { get => _globals[0].MinFreeKbytes; internal set => _globals.Mut(0).MinFreeKbytes = value; }
    public int UserMinFreeKbytes { get => _globals[0].UserMinFreeKbytes; internal set => _globals.Mut(0).UserMinFreeKbytes = value; }

    /// <summary>khugepaged_thread != NULL: hugepage_init() (mm/huge_memory.c, a subsys_initcall) started khugepaged,
    /// which it does not when totalram_pages() is below 512 MiB (transparent_hugepage_flags cleared). Until then, and
    /// then forever on a small machine, khugepaged_min_free_kbytes_update() does nothing: set_recommended_min_free_kbytes()
    /// never raises min_free_kbytes (not even after memory is added). Set once at boot, constant after it.</summary>
    public bool KhugepagedRunning { get; internal set; }

    /// <summary>policy_zone: the highest zone below ZONE_MOVABLE that any node populates.</summary>
    public ZoneType PolicyZone { get => _globals[0].PolicyZone; internal set => _globals.Mut(0).PolicyZone = value; }

    /// <summary>page_group_by_mobility_disabled.</summary>
    public bool PageGroupByMobilityDisabled { get => _globals[0].PageGroupByMobilityDisabled; internal set => _globals.Mut(0).PageGroupByMobilityDisabled = value; }

    /// <summary>Not kernel state: what the model could not reproduce of an imported machine's state at boot (a block that
    /// must be offline but holds unmovable pages, reservations that do not fit), one line each.</summary>
    public List<string> StateNotes { get; } = [];

    /// <summary>mhp_default_online_type as memhp_default_state= or the Kconfig default set it.</summary>
    public OnlineType DefaultOnlineType { get => _globals[0].DefaultOnlineType; internal set => _globals.Mut(0).DefaultOnlineType = value; }
}

/// <summary>The online types memory blocks take (mm/memory_hotplug.c MMOP_*), with "offline" for MMOP_OFFLINE.</summary>
public enum OnlineType { Offline, Online, OnlineKernel, OnlineMovable }

/// <summary>numa_distance[], arch/x86/mm/numa.c: a cnt x cnt byte table, defaults where out of range.</summary>
public sealed class NumaDistance
{
    private readonly byte[] _table;

    public NumaDistance(int cnt)
    {
        Count = cnt;
        _table = new byte[cnt * cnt];
        for (int i = 0; i < cnt; i++)
            for (int j = 0; j < cnt; j++)
                _table[i * cnt + j] = (byte)(i == j ? NumaConstants.LocalDistance : NumaConstants.RemoteDistance);
    }

    public int Count { get; }

    /// <summary>Models numa_set_distance(): invalid values are ignored as the kernel does.</summary>
    public void Set(int from, int to, int distance)
    {
        if (from < 0 || to < 0 || from >= Count || to >= Count) return;
        if (distance is < 0 or > 255 || (from == to && distance != NumaConstants.LocalDistance)) return;
        _table[from * Count + to] = (byte)distance;
    }

    /// <summary>Models __node_distance() (node_distance()).</summary>
    public int Get(int from, int to)
    {
        if (from >= Count || to >= Count || from < 0 || to < 0)
            return from == to ? NumaConstants.LocalDistance : NumaConstants.RemoteDistance;
        return _table[from * Count + to];
    }
}

/// <summary>NUMA event counters (enum numa_stat_item) of a zone, in pages.</summary>
public struct NumaStat
{
    public long Hit, Miss, Foreign, Local, Other, InterleaveHit;

    public void Add(NumaStat o)
    {
        InterleaveHit += o.InterleaveHit;
        Hit += o.Hit;
        Miss += o.Miss;
        Foreign += o.Foreign;
        Local += o.Local;
        Other += o.Other;
    }
}

/// <summary>__apicid_to_node[] as (APIC id, node) pairs in the compact state (few: one per CPU slot).</summary>
internal sealed class ApicNodeMap(Snapshots.StateStore store)
{
    private readonly Snapshots.StateArray<(uint Apic, int Node)> _pairs = new(store, "__apicid_to_node[]");

    public bool TryGetValue(uint apic, out int node)
    {
        foreach (var (a, n) in _pairs.Items)
            if (a == apic) { node = n; return true; }
        node = NumaConstants.NumaNoNode;
        return false;
    }

    public int this[uint apic]
    {
        set
        {
            for (int i = 0; i < _pairs.Length; i++)
                if (_pairs[i].Apic == apic) { _pairs.Mut(i).Node = value; return; }
            _pairs.Add((apic, value));
        }
    }

    public void Remove(uint apic)
    {
        for (int i = 0; i < _pairs.Length; i++)
            if (_pairs[i].Apic == apic) { _pairs.RemoveAt(i); return; }
    }

    public void SetAll(IReadOnlyDictionary<uint, int> map)
    {
        foreach (var (a, n) in map.OrderBy(p => p.Key)) this[a] = n;
    }
}
