using Numasim.Kernel.Numa;

namespace Numasim.Kernel.Arch;

/// <summary>arch/x86/kernel/apic/apic.c and smpboot.c: logical CPU numbers from the MADT, the possible map.</summary>
internal static class X86Smp
{
    /// <summary>Models acpi_parse_lapic() → generic_processor_info() for each MADT entry and
    /// prefill_possible_map(): enabled entries get logical numbers in table order, disabled ones count
    /// as hotplug CPUs; possible = present + hotplug. With MachineSpec.FirmwareCpuIds (an imported machine of an
    /// architecture that numbers CPUs from firmware) a CPU's number is its entry's position, so sparse numbers stay.</summary>
    public static void EnumerateCpus(KernelContext k)
    {
        var madt = k.Firmware.Cpus;
        int present = madt.Count(c => c.Enabled);
        // 6.12's topology code takes a disabled entry as hotpluggable only when the MADT marks it online-capable,
        // which QEMU 7.2 never does ("CPU topo: Allowing 2 present CPUs plus 0 hotplug CPUs")
        int disabled = k.Profile.MadtDisabledCpusNeedOnlineCapable ? 0 : madt.Count - present;
        int possible = CpuLimits.PrefillPossibleMap(k, ref present, ref disabled);
        k.Cpus = new CpuTopology(Math.Max(possible, 1), k.NrNodeIds, k.State, apic => IdentityOfApic(k.Machine, apic, k.Profile.AmdTopologyFromLeaf0xB));
        int cpu = 0, presentSet = 0;
        for (int i = 0; i < madt.Count; i++)
        {
            var c = madt[i];
            if (k.Machine.FirmwareCpuIds) cpu = i;
            if (!c.Enabled || cpu >= possible || presentSet >= present) continue;
            k.Cpus.Present.Set(cpu);
            k.Cpus.SetIdentity(cpu, CpuIdentityOf(k.Machine, c, k.Profile.AmdTopologyFromLeaf0xB));
            cpu++;
            presentSet++;
        }
        for (int i = 0; i < possible; i++) k.Cpus.Possible.Set(i);
    }

    /// <summary>The identity a CPU of that APIC id gets from its slot (as at boot or hot-add; no slot: ids 0); also
    /// what a restored state's hot-added CPU is resolved to.</summary>
    public static CpuIdentity IdentityOfApic(Firmware.MachineSpec m, uint apic, bool leaf0xB)
    {
        var slot = m.CpuSlots.FirstOrDefault(s => s.ApicId == apic);
        return CpuIdentityOf(m, slot is null ? new Firmware.MadtCpu(apic, true, 0, 0, 0, 0)
            : new Firmware.MadtCpu(apic, true, slot.SocketId, slot.DieId, slot.CoreId, slot.ThreadId, slot.ClusterId, slot.ComputeUnitId), leaf0xB);
    }

    /// <summary>Models the topology detect_extended_topology()/amd_get_topology() (6.1) and parse_topology_amd() (6.12)
    /// derive from CPUID. With a vCPU that reports no SMT (qemu64: AMD family 15 without HT or topoext) every logical
    /// CPU is a core: core_id is the APIC id within the package (x86_coreid_bits from CPUID 0x80000008 cover QEMU's
    /// thread, core and die fields). <paramref name="leaf0xB"/>: QEMU's leaf 0xB gives the SMT shift (its thread
    /// field), so core_id is the package-relative APIC id above it and threads of a core are siblings. The die is the
    /// package either way (no die level). A machine whose CPUID reports SMT (imported) keeps the firmware's ids.</summary>
    public static CpuIdentity CpuIdentityOf(Firmware.MachineSpec m, Firmware.MadtCpu c, bool leaf0xB)
    {
        uint apicId = c.ApicId;
        int package = c.SocketId;
        if (m.CpuidReportsSmt) return new CpuIdentity(apicId, package, c.DieId, c.CoreId, c.ThreadId, c.ClusterId, c.ComputeUnitId);
        int smtShift = leaf0xB ? Firmware.X86Topology.ApicIdBitWidthForCount(m.Smp.Threads) : 0;
        int pkgShift = Firmware.X86Topology.ApicIdPkgOffset(m.Smp);
        uint inPackage = apicId & ((1u << pkgShift) - 1);
        // Without extended topology the die id is the package id (die_cpus_list spans the package; seen on 6.1).
        return new CpuIdentity(apicId, package, package, (int)(inPackage >> smtShift), (int)(inPackage & ((1u << smtShift) - 1)));
    }

    /// <summary>Models calculate_max_logical_packages() from native_smp_cpus_done(): the possible CPUs over the boot
    /// CPU's booted cores times its SMT threads, rounded up ("smpboot: Max logical packages: N").</summary>
    public static void CalculateMaxLogicalPackages(KernelContext k)
    {
        var boot = k.Cpus.Identity(0);
        if (boot is null) return;
        var cores = new HashSet<(int, int)>();
        int threads = 0;
        foreach (var cpu in k.Cpus.Online.Bits())
        {
            var id = k.Cpus.Identity(cpu);
            if (id is null || id.PackageId != boot.PackageId) continue;
            cores.Add((id.DieId, id.CoreId));
            if (id.CoreId == boot.CoreId && id.DieId == boot.DieId) threads++;
        }
        int ncpus = Math.Max(1, cores.Count * Math.Max(1, threads));
        int possible = k.Cpus.Possible.Weight();
        k.Log.Printk($"smpboot: Max logical packages: {(possible + ncpus - 1) / ncpus}");
    }

    /// <summary>The line prefill_possible_map() prints (after paging_init() in the boot log).</summary>
    public static void ReportPossible(KernelContext k)
    {
        int possible = k.Cpus.Possible.Weight(), present = k.Cpus.Present.Weight();
        int hotplug = Math.Max(possible - present, 0);
        k.Log.Printk(k.Profile.MadtDisabledCpusNeedOnlineCapable
            ? $"CPU topo: Allowing {present} present CPUs plus {hotplug} hotplug CPUs"
            : $"smpboot: Allowing {possible} CPUs, {hotplug} hotplug CPUs");
    }

    /// <summary>Models numa_init_array(): CPUs without a node get the online nodes round robin (before
    /// init_cpu_to_node() gives the enumerated CPUs their SRAT nodes).</summary>
    public static void NumaInitArrayBeforeCpuNodes(KernelContext k)
    {
        var online = k.NodeStates[NodeState.Online];
        int rr = online.First();
        if (rr >= online.NBits) return;
        foreach (var cpu in k.Cpus.Possible.Bits())
        {
            if (k.Cpus.CpuToNode(cpu) != NumaConstants.NumaNoNode) continue;
            k.Cpus.NumaSetNode(cpu, rr);
            rr = online.NextSet(rr + 1);
            if (rr >= online.NBits) rr = online.First();
        }
    }
}
