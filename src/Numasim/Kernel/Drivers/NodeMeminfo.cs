using System.Text;
using Numasim.Kernel.Mm;

namespace Numasim.Kernel.Drivers;

/// <summary>The per-node memory statistics files: nodeN/meminfo (node_read_meminfo()), numastat, vmstat.</summary>
internal sealed class NodeMeminfo
{
    private readonly KernelContext _k;

    public NodeMeminfo(KernelContext k) => _k = k;

    private static readonly string[] ThpLabels = ["AnonHugePages:  ", "ShmemHugePages: ", "ShmemPmdMapped: ", "FileHugePages: ", "FilePmdMapped: "];
    private static readonly string[] ThpLabelsAligned = ["AnonHugePages:  ", "ShmemHugePages: ", "ShmemPmdMapped: ", "FileHugePages:  ", "FilePmdMapped:  "];

    /// <summary>Models si_meminfo_node(): total and free pages of the node's managed zones.</summary>
    public (long Total, long Free) SiMeminfoNode(int nid)
    {
        var p = _k.NodeDataOf(nid);
        if (p is null) return (0, 0);
        long total = 0, free = 0;
        foreach (var z in p.Zones)
        {
            total += z.ManagedPages;
            free += z.FreePages;
        }
        return (total, free);
    }

    /// <summary>Models node_read_meminfo() of v6.1 (x86_64, CONFIG_TRANSPARENT_HUGEPAGE, no HIGHMEM).</summary>
    public string Show(int nid)
    {
        var (total, free) = SiMeminfoNode(nid);
        var sb = new StringBuilder();
        void Kb(string label, long pages) => sb.Append($"Node {nid} {label}{Page.Kb(pages),8} kB\n");
        Kb("MemTotal:       ", total);
        Kb("MemFree:        ", free);
        Kb("MemUsed:        ", total - free);
        // NR_FILE_PAGES and NR_SHMEM: the tmpfs page cache the model holds; the LRU lists are not modelled
        long shmem = _k.Shmem?.PagesOnNode(nid) ?? 0;
        foreach (var label in new[] { "SwapCached:     ", "Active:         ", "Inactive:       ", "Active(anon):   ",
                     "Inactive(anon): ", "Active(file):   ", "Inactive(file): ", "Unevictable:    ", "Mlocked:        ",
                     "Dirty:          ", "Writeback:      ", "FilePages:      ", "Mapped:         ", "AnonPages:      ",
                     "Shmem:          ", "KernelStack:    ", "PageTables:     ", "SecPageTables:  ", "NFS_Unstable:   ",
                     "Bounce:         ", "WritebackTmp:   " })
            Kb(label, label is "FilePages:      " or "Shmem:          " ? shmem : 0);
        // Kernel pages the model holds are not itemised; they count in MemUsed only (see Meminfo).
        Kb("KReclaimable:   ", 0);
        Kb("Slab:           ", 0);
        Kb("SReclaimable:   ", 0);
        Kb("SUnreclaim:     ", 0);
        foreach (var label in _k.Profile.NodeMeminfoFileThpAligned ? ThpLabelsAligned : ThpLabels)
            Kb(label, 0);
        if (_k.Profile.Build.UnacceptedMemory) Kb("Unaccepted:     ", 0);
        // hugetlb_report_node_meminfo(): the default hstate's per-node counters
        var def = _k.Hugetlb?.Default;
        sb.Append($"Node {nid} HugePages_Total: {def?.NrHugePages(nid) ?? 0,5}\n");
        sb.Append($"Node {nid} HugePages_Free:  {def?.FreeHugePages(nid) ?? 0,5}\n");
        sb.Append($"Node {nid} HugePages_Surp:  {def?.SurplusHugePages(nid) ?? 0,5}\n");
        return sb.ToString();
    }

    /// <summary>Models node_read_numastat(): NUMA allocation hit/miss counters of the node's zones.</summary>
    public string Numastat(int nid)
    {
        var s = _k.NumaStats(nid);
        return $"numa_hit {s.Hit}\nnuma_miss {s.Miss}\nnuma_foreign {s.Foreign}\ninterleave_hit {s.InterleaveHit}\nlocal_node {s.Local}\nother_node {s.Other}\n";
    }

    /// <summary>Models node_read_vmstat() (NodeVmstat).</summary>
    public string Vmstat(int nid)
    {
        var (_, free) = SiMeminfoNode(nid);
        return NodeVmstat.Show(_k, free, _k.NumaStats(nid));
    }
}
