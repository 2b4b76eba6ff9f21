using System.Text;
using Numasim.Firmware;

namespace Numasim.Kernel.Procfs;

/// <summary>arch/x86/kernel/cpu/proc.c show_cpuinfo(): one stanza per online CPU. The identity fields are what the CPU
/// reports (the machine's <see cref="MachineSpec.CpuInfo"/>, else QEMU's qemu64, <see cref="Qemu64Cpu"/>); the
/// topology lines are the kernel's.</summary>
internal static class Cpuinfo
{
    /// <summary>Models show_cpuinfo() and show_cpuinfo_core(): physical id, siblings (online CPUs of the package), core id,
    /// cpu cores (its booted cores) and APIC ids from the CPU's topology.</summary>
    public static string Show(KernelContext k)
    {
        var sb = new StringBuilder();
        var qemu = k.Machine.CpuInfo is null ? Qemu64Cpu.CpuInfoFields(k.Machine.Smp, k.Machine.CpuFeatures) : null;
        var byCpu = new Dictionary<int, IReadOnlyList<KeyValuePair<string, string>>>();
        foreach (var g in k.Machine.CpuInfo ?? [])
            foreach (var c in g.Cpus) byCpu.TryAdd(c, g.Fields);
        foreach (var cpu in k.Cpus.Online.Bits())
        {
            var id = k.Cpus.Identity(cpu);
            if (id is null) continue;
            var fields = qemu ?? byCpu.GetValueOrDefault(cpu) ?? [];
            sb.Append("processor\t: ").Append(cpu).Append('\n');
            var all = X86CpuinfoFields.All;
            for (int i = 0; i < all.Count; i++)
            {
                if (i == X86CpuinfoFields.TopologyBefore) Topology(k, sb, cpu, id);
                var (key, label) = all[i];
                foreach (var (fk, fv) in fields)
                {
                    if (fk != key) continue;
                    sb.Append(label);
                    // power management: each flag is printed as " %s"
                    sb.Append(key == "power management" && fv.Length > 0 ? " " + fv : fv).Append('\n');
                    break;
                }
            }
            sb.Append('\n');
        }
        return sb.ToString();
    }

    private static void Topology(KernelContext k, StringBuilder sb, int cpu, Numa.CpuIdentity id)
    {
        int siblings = 0;
        var cores = new HashSet<(int, bool, int)>(); // SMT groups: a core, or an AMD compute unit's cores

        foreach (var o in k.Cpus.Online.Bits())
        {
            var oid = k.Cpus.Identity(o);
            if (oid is null || oid.PackageId != id.PackageId) continue;
            siblings++;
            cores.Add(oid.ComputeUnitId >= 0 ? (oid.DieId, true, oid.ComputeUnitId) : (oid.DieId, false, oid.CoreId));
        }
        sb.Append("physical id\t: ").Append(id.PackageId).Append('\n');
        sb.Append("siblings\t: ").Append(siblings).Append('\n');
        sb.Append("core id\t\t: ").Append(id.CoreId).Append('\n');
        sb.Append("cpu cores\t: ").Append(cores.Count).Append('\n');
        sb.Append("apicid\t\t: ").Append(id.ApicId).Append('\n');
        sb.Append("initial apicid\t: ").Append(id.ApicId).Append('\n');
    }
}
