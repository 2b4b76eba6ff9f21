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
