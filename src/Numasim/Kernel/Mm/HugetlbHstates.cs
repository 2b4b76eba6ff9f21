using Numasim.Kernel.Arch;

namespace Numasim.Kernel.Mm;

/// <summary>The huge page sizes (struct hstate) the kernel registers at boot on x86_64, as nodeN/hugepages/ names them.</summary>
internal static class HugetlbHstates
{
    /// <summary>Models hugetlb_init()'s default hstate (HPAGE_SHIFT, 2 MiB) and gigantic_pages_init()
    /// (arch/x86/mm/hugetlbpage.c), which adds the PUD-sized hstate only when the boot CPU has X86_FEATURE_GBPAGES
    /// ("pdpe1gb"; QEMU's qemu64 lacks it), in the directory order sysfs lists them.</summary>
    public static IReadOnlyList<string> DirectoryNames(KernelContext k) =>
        X86Capabilities.BootCpuHas(k, "pdpe1gb") ? ["hugepages-1048576kB", "hugepages-2048kB"] : ["hugepages-2048kB"];
}

/// <summary>What /proc/meminfo, nodeN/meminfo and /proc/sys/vm read and write of the default hstate (default_hstate:
/// the 2 MiB one, or the 1 GiB one after default_hugepagesz=1G).</summary>
internal interface IHstate
{
    /// <summary>huge_page_size(h) / SZ_1K: /proc/meminfo's Hugepagesize.</summary>
    long SizeKb { get; }

    /// <summary>h->nr_huge_pages(_node[nid]); nid &lt; 0 for all nodes.</summary>
    long NrHugePages(int nid = -1);

    /// <summary>h->free_huge_pages(_node[nid]).</summary>
    long FreeHugePages(int nid = -1);

    /// <summary>h->surplus_huge_pages(_node[nid]).</summary>
    long SurplusHugePages(int nid = -1);

    /// <summary>h->resv_huge_pages.</summary>
    long ResvHugePages { get; }

    /// <summary>h->max_huge_pages: /proc/sys/vm/nr_hugepages.</summary>
    long MaxHugePages { get; }

    /// <summary>h->nr_overcommit_huge_pages.</summary>
    ulong NrOvercommitHugePages { get; }

    /// <summary>Models __nr_hugepages_store_common() after the caller's parse (obey_mempolicy for the *_mempolicy files).</summary>
    Errno NrHugepagesStoreCommon(ulong count, int nid, bool obeyMempolicy = false);

    /// <summary>Models hugetlb_overcommit_handler()'s write once parsed (a gigantic hstate refuses it first).</summary>
    Errno SetNrOvercommitHugePages(ulong count);

    /// <summary>hstate_is_gigantic(h).</summary>
    bool IsGigantic { get; }
}
