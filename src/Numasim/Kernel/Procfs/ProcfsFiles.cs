namespace Numasim.Kernel.Procfs;

/// <summary>The /proc files the model shows (fs/proc/meminfo.c, mm/vmstat.c, arch/x86/kernel/cpu/proc.c).</summary>
internal sealed class ProcfsFiles
{
    private readonly KernelContext _k;

    public ProcfsFiles(KernelContext k) => _k = k;

    /// <summary>Creates /proc/{meminfo,buddyinfo,zoneinfo,cpuinfo} and /proc/sys/vm/stat_refresh.</summary>
    public void Register()
    {
        var proc = _k.Fs.MakeDirs("/proc");
        proc.Attr("meminfo", () => Meminfo.Show(_k));
        proc.Attr("buddyinfo", () => Buddyinfo.Show(_k));
        proc.Attr("zoneinfo", () => Zoneinfo.Show(_k));
        proc.Attr("cpuinfo", () => Cpuinfo.Show(_k));
        // vmstat_refresh(), mm/vmstat.c: a write folds every CPU's vm_stat_diff into the counters (reads give nothing).
        // The model keeps no per-CPU differences, so its counters are always what the kernel shows after it.
        _k.Fs.MakeDirs("/proc/sys/vm").Attr("stat_refresh", () => "", _ => Errno.None, 0b110_000_000);
    }
}
