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

    /// <summary>The cpufreq policies of a machine with cpufreq (null without): made at cpu_dev_init() on the CPU root.</summary>
    public static Policies? CpufreqPolicies(KernelContext k, SysfsDirectory cpuRoot) =>
        k.Machine.CpuFreq.Count == 0 ? null : new Policies(k, cpuRoot);

    /// <summary>
    /// cpufreq_add_dev() of a CPU its policy covers: cpufreq/policyN with the machine's frequencies and the cpuN/cpufreq
    /// link to it (cpufreq_add_dev_symlink()). The policies made are compact state (one bit a CPU: a policy stays once
    /// made, as the model always had it); cpufreq/ and its policyN directories are a view of them.
    /// </summary>
    public sealed class Policies
    {
        private readonly KernelContext _k;
        private readonly Numa.Bitmap _made;

        internal Policies(KernelContext k, SysfsDirectory cpuRoot)
        {
            _k = k;
            int n = k.Cpus.NrCpuIds;
            var made = _made = new Numa.Bitmap(new Snapshots.StateArray<ulong>(k.State, "cpufreq policies", Numa.Bitmap.WordsFor(n)), 0, n);
            cpuRoot.AddSource(new ConditionalSource("cpufreq", () => !made.IsEmpty, (parent, name) =>
            {
                var policies = new SysfsDirectory(name, parent);
                if (k.Machine.CpuFreqBoost is int boost) policies.Const("boost", boost.ToString(CultureInfo.InvariantCulture) + "\n");
                policies.AddSource(new NumberedSource("policy", ids => { foreach (var c in made.Bits()) ids.Add(c); },
                    c => c < n && made[(int)c], (p, policy, c) => PolicyDir(p, policy, Of((int)c)!)));
                return policies;
            }));
        }

        private CpuFreqSpec? Of(int cpu) => _k.Machine.CpuFreq.FirstOrDefault(x => x.Cpus.Contains(cpu));

        private static SysfsDirectory PolicyDir(SysfsDirectory parent, string name, CpuFreqSpec f)
        {
            var p = new SysfsDirectory(name, parent);
            if (f.MaxKhz is long max) p.Const("cpuinfo_max_freq", max.ToString(CultureInfo.InvariantCulture) + "\n");
            if (f.MinKhz is long min) p.Const("cpuinfo_min_freq", min.ToString(CultureInfo.InvariantCulture) + "\n");
            if (f.CurKhz is long cur) p.Const("scaling_cur_freq", cur.ToString(CultureInfo.InvariantCulture) + "\n");
            return p;
        }

        /// <summary>Models cpufreq_add_dev() for a registered CPU.</summary>
        public void Add(int cpu)
        {
            if (Of(cpu) is not null) _made.Set(cpu);
        }

        /// <summary>The cpuN/cpufreq link of a registered CPU.</summary>
        public void LinkFrom(int cpu, SysfsDirectory cpuDir)
        {
            if (_made[cpu]) cpuDir.Link("cpufreq", $"{CpuDevices.CpuRoot}/cpufreq/policy{cpu.ToString(CultureInfo.InvariantCulture)}");
        }
    }
}
