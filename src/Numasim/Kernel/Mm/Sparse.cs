namespace Numasim.Kernel.Mm;

/// <summary>
/// mm/sparse.c and mm/sparse-vmemmap.c sparse_init() with SPARSEMEM_EXTREME and SPARSEMEM_VMEMMAP: the section
/// roots, each node's usemaps and its mem_map (struct pages, 2 MiB per section) placed on the node, and the
/// vmemmap page tables. Only the placement and size of each allocation are modelled.
/// </summary>
internal static class Sparse
{
    private const ulong MaxDmaAddress = 16UL << 20, Pmd = 2UL << 20;

    /// <summary>RAM that one vmemmap PMD page (1 GiB of struct pages) and one PUD page (512 GiB) describe.</summary>
    private const long PagesPerVmemmapPmd = (1L << 30) / Page.StructPageSize, PagesPerVmemmapPud = PagesPerVmemmapPmd * 512;

    /// <summary>Models memblocks_present() then sparse_init().</summary>
    public static void Init(KernelContext k)
    {
        var r = k.BootReservations;
        var b = k.Profile.Build;
        // memory_present(): the root array once, then a root (SECTIONS_PER_ROOT sections) on the node that first needs it
        r.Alloc("sparse_init", "mem_section roots", b.MemSectionRootsBytes, 64);
        var sections = new List<(long Nr, int Nid)>();
        var roots = new HashSet<long>();
        long last = -1;
        foreach (var m in k.Memblock.Memory)
            for (long sec = Math.Max(m.Start / Page.PagesPerSection, last + 1); sec <= (m.End - 1) / Page.PagesPerSection; sec++)
            {
                sections.Add((sec, m.Nid));
                last = sec;
                if (roots.Add(sec / b.SectionsPerRoot))
                    r.Alloc("sparse_index_alloc", $"mem_section[{sec / b.SectionsPerRoot}]", (ulong)b.SectionsPerRoot * 32, 64, m.Nid);
            }
        var vmemmapTables = new HashSet<long>();
        for (int i = 0; i < sections.Count;)
        {
            int j = i;
            while (j < sections.Count && sections[j].Nid == sections[i].Nid) j++;
            InitNid(k, sections[i].Nid, sections, i, j, vmemmapTables);
            i = j;
        }
    }

    /// <summary>Models sparse_init_nid(): the usemaps near the node's pgdat, the node's mem_map buffer (exactly on the
    /// node; without room there, a 2 MiB block per section from any node), and each section's vmemmap tables.</summary>
    private static void InitNid(KernelContext k, int nid, List<(long Nr, int Nid)> sections, int from, int to, HashSet<long> tables)
    {
        var r = k.BootReservations;
        int count = to - from;
        ulong usage = k.Profile.Build.MemSectionUsageBytes * (ulong)count;
        ulong goal = k.NodeDataPhys.GetValueOrDefault(nid) & ~((1UL << Page.SectionSizeBits) - 1);
        if (r.Alloc("sparse_init_nid", $"usemaps of node {nid}", usage, 64, nid, goal, goal + (1UL << Page.SectionSizeBits)) == 0)
            r.Alloc("sparse_init_nid", $"usemaps of node {nid}", usage, 64, nid);
        ulong buf = r.Alloc("sparse_init_nid", $"mem_map of node {nid}", (ulong)count * Pmd, Pmd, nid, MaxDmaAddress, exactNid: true);
        for (int i = from; i < to; i++)
        {
            long pfn = sections[i].Nr * Page.PagesPerSection;
            if (tables.Add(-1 - pfn / PagesPerVmemmapPud))
                r.Alloc("vmemmap_alloc_block_zero", "vmemmap page table", (ulong)Page.Size, (ulong)Page.Size, nid, MaxDmaAddress);
            if (tables.Add(pfn / PagesPerVmemmapPmd))
                r.Alloc("vmemmap_alloc_block_zero", "vmemmap page table", (ulong)Page.Size, (ulong)Page.Size, nid, MaxDmaAddress);
            if (buf == 0) r.Alloc("vmemmap_alloc_block", $"mem_map section of node {nid}", Pmd, Pmd, nid, MaxDmaAddress);
        }
    }
}
