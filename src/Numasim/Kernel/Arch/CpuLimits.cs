namespace Numasim.Kernel.Arch;

/// <summary>The command line's CPU limits on x86: nr_cpus= (set_nr_cpu_ids()), possible_cpus= and maxcpus= as
/// generic_processor_info() and prefill_possible_map() apply them (arch/x86/kernel/apic/apic.c, smpboot.c, v6.1).</summary>
internal static class CpuLimits
{
    /// <summary>Models the MADT walk's generic_processor_info() limit and prefill_possible_map(): enabled processors
    /// beyond nr_cpu_ids are ignored (counted as disabled); the possible count is present + hotplug CPUs, or
    /// possible_cpus=, capped at nr_cpu_ids, and at 1 with maxcpus=0 (nosmp). Returns the possible count; updates
    /// <paramref name="present"/> (num_processors) and <paramref name="disabled"/>.</summary>
    public static int PrefillPossibleMap(KernelContext k, ref int present, ref int disabled)
    {
        var boot = k.Boot;
        int nrCpuIds = Math.Min(boot.NrCpuIdsLimit ?? Numa.NumaConstants.NrCpus, Numa.NumaConstants.NrCpus);
        if (present > nrCpuIds)
        {
            for (int i = nrCpuIds; i < present; i++)
            {
                var c = k.Firmware.Cpus.Where(x => x.Enabled).ElementAt(i);
                k.Log.Printk($"NR_CPUS/possible_cpus limit of {nrCpuIds} reached. Processor {i + disabled}/0x{c.ApicId:x} ignored.");
            }
            disabled += present - nrCpuIds;
            present = nrCpuIds;
        }
        int maxCpus = boot.SetupMaxCpus == 0 ? 1 : boot.SetupMaxCpus;
        int possible = boot.PossibleCpus is int p && p >= 0 ? p : present + (boot.SetupMaxCpus != 0 ? disabled : 0);
        if (possible > nrCpuIds)
        {
            k.Log.Printk($"{possible} Processors exceeds NR_CPUS limit of {nrCpuIds}");
            possible = nrCpuIds;
        }
        if (boot.SetupMaxCpus == 0 && possible > maxCpus)
        {
            k.Log.Printk($"{possible} Processors exceeds max_cpus limit of {boot.SetupMaxCpus}");
            possible = maxCpus;
        }
        return Math.Max(possible, 1);
    }

    /// <summary>Models bringup_nonboot_cpus(setup_max_cpus): smp_init() stops once that many CPUs are online.</summary>
    public static bool MayBringUp(KernelContext k) => k.Cpus.Online.Weight() < Math.Max(k.Boot.SetupMaxCpus, 1);
}
