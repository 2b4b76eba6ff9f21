using Numasim.Kernel.Numa;
namespace Numasim.Kernel.Mm;

/// <summary>hugetlb_init() (a subsys_initcall, mm/hugetlb.c): the hstates the command line and the architecture
/// registered, the boot-time pool of the default 2 MiB hstate from the buddy allocator, report_hugepages(), then the
/// sysfs and sysctl files.</summary>
internal sealed partial class Hugetlb
{
    private static readonly AllocContext BootCaller = new(0, "swapper/0", 1, ["alloc_buddy_huge_page", "alloc_fresh_huge_page",
        "alloc_pool_huge_page", "hugetlb_hstate_alloc_pages", "hugetlb_init", "do_one_initcall", "kernel_init"]);

    /// <summary>Models hugetlb_init() after gigantic_pages_init() (an arch_initcall, arch/x86/mm/hugetlbpage.c, which
    /// adds the PUD-sized hstate when the CPU has GBPAGES): the default hstate, hugetlb_init_hstates() for the
    /// non-gigantic hstates, report_hugepages(), hugetlb_sysfs_init() and (6.12) hugetlb_sysctl_init().</summary>
    public void Init()
    {
        using var call = _k.Trace.Call("hugetlb_init", "mm/hugetlb.c");
        var c = _k.Boot.Hugetlb;
        if (Arch.X86Capabilities.BootCpuHas(_k, "pdpe1gb")) c.AddHstate(30 - Page.Shift); // gigantic_pages_init()
        c.AddHstate(Order);
        if (!c.ParsedDefaultHugepagesz)
        {
            c.DefaultHstateIdx = c.IndexOf(Order);
            if (c.DefaultHstateMaxHugePages != 0)
            {
                var d = c.Hstates[c.DefaultHstateIdx];
                if (d.MaxHugePages != 0)
                {
                    _k.Log.Printk($"HugeTLB: Ignoring hugepages={d.MaxHugePages} associated with {SizeString(d.SizeBytes)} page size");
                    _k.Log.Printk($"HugeTLB: Using hugepages={c.DefaultHstateMaxHugePages} for number of default huge pages");
                }
                c.TakeDefaultCounter(_k);
            }
        }
        // hugetlb_init_hstates() allocates the non-gigantic hstate; a gigantic one got its pages from memblock while
        // the command line was parsed.
        HstateAllocPages(c.Hstates[c.IndexOf(Order)]);
        Gigantic.GatherBootmemPrealloc();
        foreach (var h in c.Hstates) // report_hugepages()
        {
            long free = h.Order == Order ? FreeHugePages() : h.Order == HugetlbGigantic.Order ? Gigantic.NrHugePages() : 0;
            long vmemmap = Math.Max(0, (1L << h.Order) * Page.StructPageSize - Page.Size); // hugetlb_vmemmap_optimizable_size()
            _k.Log.Printk($"HugeTLB: registered {SizeString(h.SizeBytes)} page size, pre-allocated {free} pages");
            _k.Log.Printk($"HugeTLB: {vmemmap / 1024} KiB vmemmap can be freed for a {SizeString(h.SizeBytes)} page");
        }
        SysfsInit();
        Gigantic.SysfsInit();
        if (c.Hstates[c.DefaultHstateIdx].IsGigantic && Gigantic.Registered) Default = Gigantic; // default_hstate_idx
        HugetlbSysctl.Register(_k, Default); // 6.1: kernel/sysctl.c's vm_table (registered earlier, same files)
    }

    /// <summary>Models hugetlb_hstate_alloc_pages() for the 2 MiB hstate: the node-specific counts first
    /// (hugetlb_hstate_alloc_pages_onenode()), otherwise max_huge_pages balanced over N_MEMORY; a shortfall is
    /// reported and max_huge_pages cut to what was allocated.</summary>
    private void HstateAllocPages(BootHstate h)
    {
        if (h.MaxHugePages == 0) return;
        ulong max = h.MaxHugePages;
        bool nodeSpecific = false;
        foreach (int nid in _k.NodeStates[NodeState.Online].Bits())
        {
            if (h.MaxHugePagesNode[nid] == 0) continue;
            nodeSpecific = true;
            uint want = h.MaxHugePagesNode[nid], i = 0;
            var memory = _k.NodeStates[NodeState.Memory];
            while (i < want && AllocFreshHugePage(nid, memory, BootCaller)) i++;
            if (i == want) continue;
            _k.Log.Printk($"HugeTLB: allocating {want} of page size {SizeString(h.SizeBytes)} failed node{nid}.  Only allocated {i} hugepages.");
            max -= want - i;
            h.MaxHugePagesNode[nid] = i;
        }
        if (!nodeSpecific)
        {
            ulong allocated = _k.Profile.HugetlbBootAllocInChunks ? PagesAllocBoot(max) : PoolAllocBoot(max);
            if (allocated < max)
                _k.Log.Printk($"HugeTLB: allocating {max} of page size {SizeString(h.SizeBytes)} failed.  Only allocated {allocated} hugepages.");
            max = Math.Min(max, allocated);
        }
        h.MaxHugePages = max;
        _maxHugePages.Mut = (long)max;
    }

    /// <summary>6.1's loop: alloc_pool_huge_page(h, &amp;node_states[N_MEMORY], node_alloc_noretry) on the hstate's cursor
    /// until the first failure.</summary>
    private ulong PoolAllocBoot(ulong max)
    {
        ulong i = 0;
        var memory = _k.NodeStates[NodeState.Memory];
        while (i < max && AllocPoolHugePage(memory, BootCaller)) i++;
        return i;
    }

    /// <summary>Models hugetlb_pages_alloc_boot() (6.12): padata_do_multithreaded() with max_threads = 2 *
    /// nr N_MEMORY nodes, min_chunk = max / nodes / 2 and load_balance_factor 4 cuts [0, max) into chunks; each
    /// hugetlb_pages_alloc_boot_node() call starts at first_online_node with its own cursor and stops at its first
    /// failure. Which pages a node gets does not depend on the threads' timing, only the list order would.</summary>
    private ulong PagesAllocBoot(ulong max)
    {
        var memory = _k.NodeStates[NodeState.Memory];
        ulong nodes = (ulong)Math.Max(1, memory.Weight());
        ulong minChunk = max / nodes / 2;
        ulong nworks = Math.Min(Math.Max(max / Math.Max(minChunk, 1), 1), nodes * 2);
        ulong chunk = nworks == 1 ? max : Math.Max(Math.Max(max / (nworks * 4), minChunk), 1);
        int firstOnline = _k.NodeStates[NodeState.Online].First();
        for (ulong start = 0; start < max; start += chunk)
        {
            ulong num = Math.Min(chunk, max - start);
            int cursor = firstOnline;
            for (ulong i = 0; i < num; i++)
                if (!AllocPoolHugePage(memory, ref cursor, BootCaller)) break;
        }
        return (ulong)NrHugePages();
    }

    /// <summary>string_get_size(size, 1, STRING_UNITS_2, ...) for the power-of-two sizes of hstates: "2.00 MiB", "1.00 GiB".</summary>
    internal static string SizeString(ulong bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        int u = 0;
        while (bytes >= 1024 && bytes % 1024 == 0 && u < units.Length - 1) { bytes /= 1024; u++; }
        return u == 0 ? $"{bytes} B" : $"{bytes}.00 {units[u]}";
    }
}
