using System.Globalization;
using Numasim.Firmware;
using Numasim.Kernel.Sysfs;

namespace Numasim.Kernel.Drivers;

/// <summary>
/// What the CPUs report beyond topology: drivers/base/cpu.c's vulnerabilities/ (cpu_show_*() texts of the machine's
/// CPUs, else 6.1's on qemu64) and a cpufreq driver's policies (drivers/cpufreq/cpufreq.c) that report the machine's
/// fixed frequencies; a QEMU guest has no cpufreq driver.
/// </summary>
internal static class CpuReports
{
    /// <summary>Models cpu_register_vulnerabilities(): /sys/devices/system/cpu/vulnerabilities/.</summary>
    public static void RegisterVulnerabilities(KernelContext k, SysfsDirectory cpuRoot)
    {
        var list = k.Machine.Vulnerabilities ?? Qemu64Cpu.Vulnerabilities;
        if (list.Count == 0) return;
        var d = cpuRoot.Dir("vulnerabilities");
        foreach (var (name, text) in list) d.Const(name, text + "\n");
    }

    /// <summary>Models cpufreq_add_dev() of a CPU its policy covers: cpufreq/policyN with the frequencies, and the
    /// cpuN/cpufreq link to it (cpufreq_add_dev_symlink()).</summary>
    public static void RegisterCpufreq(KernelContext k, int cpu, SysfsDirectory cpuRoot, SysfsDirectory cpuDir)
    {
        var f = k.Machine.CpuFreq.FirstOrDefault(x => x.Cpus.Contains(cpu));
        if (f is null) return;
        var policies = cpuRoot.Child("cpufreq") as SysfsDirectory ?? cpuRoot.Dir("cpufreq");
        if (k.Machine.CpuFreqBoost is int boost && policies.Child("boost") is null) policies.Const("boost", boost.ToString(CultureInfo.InvariantCulture) + "\n");
        var name = "policy" + cpu.ToString(CultureInfo.InvariantCulture);
        if (policies.Child(name) is null)
        {
            var p = policies.Dir(name);
            if (f.MaxKhz is long max) p.Const("cpuinfo_max_freq", max.ToString(CultureInfo.InvariantCulture) + "\n");
            if (f.MinKhz is long min) p.Const("cpuinfo_min_freq", min.ToString(CultureInfo.InvariantCulture) + "\n");
            if (f.CurKhz is long cur) p.Const("scaling_cur_freq", cur.ToString(CultureInfo.InvariantCulture) + "\n");
        }
        if (cpuDir.Child("cpufreq") is null) cpuDir.Link("cpufreq", $"{CpuDevices.CpuRoot}/cpufreq/{name}");
    }
}
