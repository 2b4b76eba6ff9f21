namespace Numasim.Kernel.Procfs;

/// <summary>arch/x86/mm/pat/set_memory.c arch_report_meminfo(): how the direct map covers RAM.</summary>
internal static class DirectMap
{
    /// <summary>Splits each RAM range of the E820 map as split_mem_range() / kernel_physical_mapping_init() map it:
    /// 1 GiB pages where a whole aligned GiB lies inside and the CPU has them (X86_FEATURE_GBPAGES, "pdpe1gb"; not
    /// qemu64), 2 MiB pages where a whole aligned 2 MiB does, 4 KiB pages elsewhere. DirectMap1G is printed only
    /// with GBPAGES.</summary>
    public static void Report(KernelContext k, Action<string, long> val)
    {
        const long twoM = 2L << 20, oneG = 1L << 30;
        bool gbpages = Arch.X86Capabilities.BootCpuHas(k, "pdpe1gb");
        long k4 = 0, m2 = 0, g1 = 0;
        foreach (var e in k.Firmware.E820)
        {
            if (e.Type != Numasim.Firmware.E820Type.Ram) continue;
            long start = (long)e.Start & ~0xfffL, end = ((long)e.End + 0xfff) & ~0xfffL;
            long a = (start + twoM - 1) / twoM * twoM, b = end / twoM * twoM;
            if (a >= b) { k4 += end - start; continue; }
            k4 += (a - start) + (end - b);
            long ga = (a + oneG - 1) / oneG * oneG, gb = b / oneG * oneG;
            if (gbpages && ga < gb)
            {
                g1 += gb - ga;
                m2 += (ga - a) + (b - gb);
            }
            else m2 += b - a;
        }
        val("DirectMap4k", k4 >> 10);
        val("DirectMap2M", m2 >> 10);
        if (gbpages) val("DirectMap1G", g1 >> 10);
    }
}
