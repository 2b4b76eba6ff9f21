namespace Numasim.Kernel.Procfs;

/// <summary>The /proc files the model shows (fs/proc/meminfo.c, mm/vmstat.c, arch/x86/kernel/cpu/proc.c).</summary>
internal sealed class ProcfsFiles
{
    private readonly KernelContext _k;

    public ProcfsFiles(KernelContext k) => _k = k;

    /// <summary>Creates /proc/{meminfo,buddyinfo,zoneinfo,cpuinfo}.</summary>
    public void Register()
    {
        var proc = _k.Fs.MakeDirs("/proc");
        proc.Attr("meminfo", () => Meminfo.Show(_k));
        proc.Attr("buddyinfo", () => Buddyinfo.Show(_k));
        proc.Attr("zoneinfo", () => Zoneinfo.Show(_k));
        proc.Attr("cpuinfo", () => Cpuinfo.Show(_k));
    }
}
