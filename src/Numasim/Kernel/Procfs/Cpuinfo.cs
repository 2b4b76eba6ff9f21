using System.Text;

namespace Numasim.Kernel.Procfs;

/// <summary>arch/x86/kernel/cpu/proc.c show_cpuinfo(): one stanza per online CPU, as a qemu64 vCPU reports itself.</summary>
internal static class Cpuinfo
{
    private const string Flags = "fpu de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 syscall nx lm rep_good nopl cpuid extd_apicid tsc_known_freq pni cx16 x2apic hypervisor lahf_lm cmp_legacy 3dnowprefetch vmmcall";

    /// <summary>Models show_cpuinfo(): physical id, siblings, core id, cpu cores and APIC ids from the CPU's topology.</summary>
    public static string Show(KernelContext k)
    {
        var sb = new StringBuilder();
        foreach (var cpu in k.Cpus.Online.Bits())
        {
            var id = k.Cpus.Identity(cpu);
            if (id is null) continue;
            int siblings = 0;
            var cores = new HashSet<(int, int)>();
            foreach (var o in k.Cpus.Online.Bits())
            {
                var oid = k.Cpus.Identity(o);
                if (oid is null || oid.PackageId != id.PackageId) continue;
                siblings++;
                cores.Add((oid.DieId, oid.CoreId));
            }
            sb.Append($"processor\t: {cpu}\n");
            sb.Append("vendor_id\t: AuthenticAMD\n");
            sb.Append("cpu family\t: 15\n");
            sb.Append("model\t\t: 107\n");
            sb.Append("model name\t: QEMU Virtual CPU version 2.5+\n");
            sb.Append("stepping\t: 1\n");
            sb.Append("cpu MHz\t\t: 2400.000\n");
            sb.Append("cache size\t: 512 KB\n");
            sb.Append($"physical id\t: {id.PackageId}\n");
            sb.Append($"siblings\t: {siblings}\n");
            sb.Append($"core id\t\t: {id.CoreId}\n");
            sb.Append($"cpu cores\t: {cores.Count}\n");
            sb.Append($"apicid\t\t: {id.ApicId}\n");
            sb.Append($"initial apicid\t: {id.ApicId}\n");
            sb.Append("fpu\t\t: yes\n");
            sb.Append("fpu_exception\t: yes\n");
            sb.Append("cpuid level\t: 13\n");
            sb.Append("wp\t\t: yes\n");
            sb.Append($"flags\t\t: {Flags}\n");
            sb.Append("bugs\t\t: fxsave_leak sysret_ss_attrs spectre_v1 spectre_v2 spec_store_bypass retbleed\n");
            sb.Append("bogomips\t: 4800.00\n");
            sb.Append("TLB size\t: 1024 4K pages\n");
            sb.Append("clflush size\t: 64\n");
            sb.Append("cache_alignment\t: 64\n");
            sb.Append("address sizes\t: 40 bits physical, 48 bits virtual\n");
            sb.Append("power management:\n\n");
        }
        return sb.ToString();
    }
}
