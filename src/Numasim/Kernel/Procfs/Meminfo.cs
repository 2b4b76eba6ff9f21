using System.Text;
using Numasim.Kernel.Mm;

namespace Numasim.Kernel.Procfs;

/// <summary>fs/proc/meminfo.c: /proc/meminfo in v6.1's line order and widths (x86_64, CMA, ZSWAP, THP).</summary>
internal static class Meminfo
{
    /// <summary>Models meminfo_proc_show().</summary>
    public static string Show(KernelContext k)
    {
        long total = 0, free = 0;
        foreach (var z in k.AllZones())
        {
            total += z.ManagedPages;
            free += z.FreePages;
        }
        long available = Math.Max(0, free - k.TotalReservePages);
        var sb = new StringBuilder();
        void Kb(string label, long pages) => Val(label, Page.Kb(pages));
        void Val(string label, long kb) => sb.Append(label).Append(':').Append(' ', Math.Max(1, 15 - label.Length)).Append($"{kb,8} kB\n");
        Kb("MemTotal", total);
        Kb("MemFree", free);
        Kb("MemAvailable", available);
        foreach (var l in new[] { "Buffers", "Cached", "SwapCached", "Active", "Inactive", "Active(anon)", "Inactive(anon)",
                     "Active(file)", "Inactive(file)", "Unevictable", "Mlocked", "SwapTotal", "SwapFree", "Zswap", "Zswapped",
                     "Dirty", "Writeback", "AnonPages", "Mapped", "Shmem", "KReclaimable" })
            Kb(l, 0);
        // The model's own kernel pages are not itemised (slab, page tables...): they show in MemFree and
        // MemUsed only, as the 6.1 guest's 208 kB on a hot-added node showed with Slab at 0.
        Kb("Slab", 0);
        Kb("SReclaimable", 0);
        Kb("SUnreclaim", 0);
        foreach (var l in new[] { "KernelStack", "PageTables", "SecPageTables", "NFS_Unstable", "Bounce", "WritebackTmp" })
            Kb(l, 0);
        long hugetlb = k.Hugetlb?.TotalPages ?? 0;
        Kb("CommitLimit", (total - hugetlb) / 2); // vm_commit_limit(): overcommit_ratio 50 of what hugetlb does not hold
        Kb("Committed_AS", 0);
        Val("VmallocTotal", 34359738367);
        Kb("VmallocUsed", 0);
        Kb("VmallocChunk", 0);
        Kb("Percpu", k.PercpuFirstChunk.UnitPages * k.PercpuFirstChunk.Units); // pcpu_nr_pages() of the first chunk
        Kb("HardwareCorrupted", 0);
        foreach (var l in new[] { "AnonHugePages", "ShmemHugePages", "ShmemPmdMapped", "FileHugePages", "FilePmdMapped" })
            Kb(l, 0);
        if (k.Profile.Build.Cma)
        {
            Kb("CmaTotal", 0);
            Kb("CmaFree", 0);
        }
        if (k.Profile.Build.UnacceptedMemory) Kb("Unaccepted", 0);
        // hugetlb_report_meminfo(): the default hstate's counters, then every hstate's pages
        var def = k.Hugetlb?.Default;
        long nr = def?.NrHugePages() ?? 0, hfree = def?.FreeHugePages() ?? 0;
        foreach (var (l, v) in new[] { ("HugePages_Total", nr), ("HugePages_Free", hfree), ("HugePages_Rsvd", def?.ResvHugePages ?? 0), ("HugePages_Surp", def?.SurplusHugePages() ?? 0) })
            sb.Append(l).Append(':').Append(' ', 15 - l.Length).Append($"{v,8}\n");
        Val("Hugepagesize", def?.SizeKb ?? 2048);
        Kb("Hugetlb", hugetlb);
        DirectMap.Report(k, Val);
        return sb.ToString();
    }
}
