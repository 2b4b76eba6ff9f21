namespace Numasim.Kernel.Procfs;

/// <summary>arch/x86/mm/pat/set_memory.c arch_report_meminfo(): how the direct map covers RAM.</summary>
internal static class DirectMap
{
    /// <summary>Splits each RAM range of the E820 map as kernel_physical_mapping_init() maps it: 2 MiB pages
    /// where a whole aligned 2 MiB lies inside, 4 KiB pages elsewhere (the qemu64 CPU has no 1 GiB pages).</summary>
    public static void Report(KernelContext k, Action<string, long> val)
    {
        const long twoM = 2L << 20;
        long k4 = 0, m2 = 0;
        foreach (var e in k.Firmware.E820)
        {
            if (e.Type != Numasim.Firmware.E820Type.Ram) continue;
            long start = (long)e.Start & ~0xfffL, end = ((long)e.End + 0xfff) & ~0xfffL;
            long a = (start + twoM - 1) / twoM * twoM, b = end / twoM * twoM;
            if (a < b)
            {
                m2 += b - a;
                k4 += (a - start) + (end - b);
            }
            else k4 += end - start;
        }
        val("DirectMap4k", k4 >> 10);
        val("DirectMap2M", m2 >> 10);
    }
}
