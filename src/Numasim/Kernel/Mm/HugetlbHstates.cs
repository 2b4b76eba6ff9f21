using Numasim.Firmware;

namespace Numasim.Kernel.Mm;

/// <summary>The huge page sizes (hstates) of x86 hugetlb: 2 MiB always (HPAGE_SHIFT), 1 GiB when the boot CPU has
/// X86_FEATURE_GBPAGES ("pdpe1gb"): qemu64 has not, so a guest started with plain <c>-cpu qemu64</c> shows no
/// hugepages-1048576kB directories.</summary>
internal static class HugetlbHstates
{
    /// <summary>Models gigantic_pages_init() (arch/x86/mm/hugetlbpage.c) after hugetlb_init()'s default 2 MiB hstate.</summary>
    public static IEnumerable<string> DirNames(KernelContext k)
    {
        if (BootCpuHasGbPages(k)) yield return "hugepages-1048576kB";
        yield return "hugepages-2048kB";
    }

    /// <summary>boot_cpu_has(X86_FEATURE_GBPAGES): the boot CPU's /proc/cpuinfo flags (an imported machine's own, else
    /// qemu64's with the machine's -cpu features).</summary>
    public static bool BootCpuHasGbPages(KernelContext k)
    {
        if (k.Machine.CpuInfo is { } groups)
        {
            var boot = groups.FirstOrDefault(g => g.Cpus.Contains(0)) ?? groups.FirstOrDefault();
            var flags = boot?.Fields.FirstOrDefault(f => f.Key == "flags").Value ?? "";
            return flags.Split(' ').Contains("pdpe1gb");
        }
        return k.Machine.CpuFeatures.Contains("pdpe1gb");
    }
}
