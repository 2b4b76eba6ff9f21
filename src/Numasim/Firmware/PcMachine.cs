namespace Numasim.Firmware;

/// <summary>
/// The firmware QEMU 7.2's pc (i440fx) machine with SeaBIOS presents to Linux: the RAM split around the PCI
/// hole (pc_init1(), hw/i386/pc_piix.c), the device-memory region (pc_memory_init(), hw/i386/pc.c), the
/// E820 map as SeaBIOS hands it on, and the ACPI MADT/SRAT/SLIT (build_madt()/build_srat()/build_slit(),
/// hw/i386/acpi-build.c, hw/acpi/aml-build.c).
/// </summary>
public static class PcMachine
{
    /// <summary>1 GiB.</summary>
    public const ulong GiB = QemuSize.GiB;

    /// <summary>4 GiB: where RAM above the PCI hole starts.</summary>
    public const ulong FourGiB = 4 * GiB;

    /// <summary>max-ram-below-4g's default: 3.5 GiB.</summary>
    public const ulong DefaultMaxRamBelow4G = 0xe0000000;

    /// <summary>The split used for gigabyte alignment when RAM reaches 3.5 GiB.</summary>
    public const ulong GigabyteAlignedLowMem = 0xc0000000;

    /// <summary>HOLE_640K_START / HOLE_640K_END, hw/i386/acpi-build.c.</summary>
    public const ulong Hole640KStart = 640 * QemuSize.KiB, Hole640KEnd = QemuSize.MiB;

    /// <summary>What SeaBIOS's high zone at the top of low RAM keeps for QEMU's ACPI tables (the oracle's node 0 ends at
    /// 0x3ffdffff for 1 GiB): the tables blob, padded to ACPI_BUILD_TABLE_SIZE (hw/i386/acpi-build.c).</summary>
    public const ulong SeaBiosHighTableReserve = 0x20000;

    /// <summary>The reserved top of low RAM: the ACPI tables and, when it is too long for the F-segment, the SMBIOS
    /// table (<see cref="QemuSmbios"/>).</summary>
    public static ulong SeaBiosHighReserve(MachineSpec spec)
    {
        var (_, above) = SplitRam(spec.RamBytes);
        int smbios = QemuSmbios.TableLength(spec.Smp.Sockets, spec.RamBytes, above > 0 ? 2 : 1);
        return SeaBiosHighTableReserve + QemuSmbios.HighZoneBytes(smbios);
    }

    /// <summary>AMD_HT_START and the end of AMD's HyperTransport range (hw/i386/pc.c).</summary>
    public const ulong AmdHtStart = 0xfd00000000, AmdHtEnd = 0x10000000000;

    /// <summary>RAM below and above 4 GiB. Models the lowmem computation of pc_init1() with gigabyte_align.</summary>
    public static (ulong Below4G, ulong Above4G) SplitRam(ulong ram)
    {
        ulong lowmem = DefaultMaxRamBelow4G;
        if (ram >= lowmem && lowmem > GigabyteAlignedLowMem) lowmem = GigabyteAlignedLowMem;
        return ram >= lowmem ? (lowmem, ram - lowmem) : (ram, 0);
    }

    /// <summary>The DIMM region: base ROUND_UP(4 GiB + above-4G RAM, 1 GiB), size maxmem - ram + 1 GiB per slot
    /// (enforce_aligned_dimm); null without memory hotplug (maxmem == ram). Models pc_memory_init().</summary>
    public static DeviceMemoryRegion? DeviceMemoryRegionFor(MachineSpec spec)
    {
        if (spec.MaxMemBytes <= spec.RamBytes) return null;
        var (_, above) = SplitRam(spec.RamBytes);
        ulong baseAddr = spec.DeviceMemoryBase
            ?? (spec.BootMemory is { Count: > 0 } bm ? RoundUp(Math.Max(FourGiB, bm[^1].End), GiB) : RoundUp(FourGiB + above, GiB));
        ulong size = spec.MaxMemBytes - spec.RamBytes + GiB * (ulong)spec.Slots;
        return new DeviceMemoryRegion(baseAddr, size, spec.Slots);
    }

    /// <summary>Builds E820, MADT, SRAT, SLIT and the device-memory region for <paramref name="spec"/>.</summary>
    public static FirmwareTables Build(MachineSpec spec)
    {
        var (below, above) = SplitRam(spec.RamBytes);
        var devmem = DeviceMemoryRegionFor(spec);
        var cpus = new List<MadtCpu>(spec.CpuSlots.Count);
        foreach (var c in spec.CpuSlots) cpus.Add(new MadtCpu(c.ApicId, c.Present, c.SocketId, c.DieId, c.CoreId, c.ThreadId, c.ClusterId, c.ComputeUnitId));

        bool numa = spec.Nodes.Count > 0;
        var sratCpus = new List<SratCpuAffinity>(numa ? spec.CpuSlots.Count : 0);
        var sratMem = new List<SratMemoryAffinity>();
        if (numa)
        {
            foreach (var c in spec.CpuSlots) sratCpus.Add(new SratCpuAffinity(c.ApicId, c.NodeId));
            if (spec.BootMemory is { } map)
            {
                foreach (var r in map) sratMem.Add(new SratMemoryAffinity(r.Start, r.Size, r.Node, false));
                if (devmem is { Size: > 0 } d) sratMem.Add(new SratMemoryAffinity(d.Base, d.Size, spec.Nodes[^1].NodeId, true));
            }
            else BuildSratMemory(spec, below, devmem, sratMem);
            // nodes the firmware names only in a hotpluggable range: one (empty) gigabyte each above everything else
            ulong next = RoundUp(Math.Max(devmem?.End ?? 0, sratMem.Count == 0 ? 0 : sratMem.Max(m => m.End)), GiB);
            foreach (var n in spec.HotplugOnlyNodes)
            {
                sratMem.Add(new SratMemoryAffinity(next, GiB, n, true));
                next += GiB;
            }
        }
        return new FirmwareTables
        {
            E820 = spec.BootMemory is { } ram ? BuildE820(ram, spec.FirmwareReserved) : BuildE820(below, above, SeaBiosHighReserve(spec)),
            Cpus = cpus,
            SratCpus = sratCpus,
            SratMemory = sratMem,
            Slit = numa ? SlitByPxm(spec) : null,
            SratGenericInitiators = numa ? spec.GenericInitiatorNodes : [],
            DeviceMemory = devmem,
            Hmat = numa ? AcpiHmatBuilder.Build(spec) : null,
        };
    }

    /// <summary>The BIOS memory map Linux prints as BIOS-e820 lines (QEMU's fw_cfg e820 table as SeaBIOS extends it).</summary>
    public static List<E820Entry> BuildE820(ulong below4G, ulong above4G, ulong highReserve = SeaBiosHighTableReserve)
    {
        var e = new List<E820Entry>();
        void Add(ulong start, ulong end, E820Type t) { if (end > start) e.Add(new E820Entry(start, end - start, t)); }
        Add(0, Math.Min(below4G, 0x9fc00), E820Type.Ram);
        Add(0x9fc00, 0xa0000, E820Type.Reserved);     // EBDA
        Add(0xf0000, 0x100000, E820Type.Reserved);    // BIOS
        if (below4G > Hole640KEnd)
        {
            ulong top = below4G > Hole640KEnd + highReserve ? below4G - highReserve : below4G;
            Add(Hole640KEnd, top, E820Type.Ram);
            Add(top, below4G, E820Type.Reserved);
        }
        Add(0xfffc0000, FourGiB, E820Type.Reserved);     // BIOS ROM
        Add(FourGiB, FourGiB + above4G, E820Type.Ram);
        // pc_memory_init(): an AMD vCPU (qemu64) gets the HyperTransport range reserved (QEMU 7.1+); KVM's identity
        // map and TSS pages (0xfeffc000) exist only under KVM, not TCG
        if (FourGiB + above4G <= AmdHtStart) Add(AmdHtStart, AmdHtEnd, E820Type.Reserved);
        return e;
    }

    /// <summary>The memory map of a machine whose boot RAM is given (an imported one): its RAM ranges, adjacent ones
    /// merged, and its reserved ranges, in address order as the firmware's map lists them.</summary>
    public static List<E820Entry> BuildE820(IReadOnlyList<BootRamRange> ram, IReadOnlyList<E820Entry> reserved)
    {
        var e = new List<E820Entry>();
        foreach (var r in ram)
        {
            if (e.Count > 0 && e[^1].End == r.Start) e[^1] = e[^1] with { Size = e[^1].Size + r.Size };
            else e.Add(new E820Entry(r.Start, r.Size, E820Type.Ram));
        }
        e.AddRange(reserved);
        e.Sort((a, b) => a.Start.CompareTo(b.Start));
        return e;
    }

    /// <summary>Plugs the machine's cold-plugged DIMMs into <paramref name="deviceMemory"/> as QEMU does at start-up
    /// (pc_dimm_pre_plug()/pc_dimm_plug() for each -device pc-dimm, in command-line order); null error on success.</summary>
    public static (List<PluggedDimm> Dimms, string? Error) ColdPlug(MachineSpec spec, DeviceMemory deviceMemory)
    {
        var list = new List<PluggedDimm>();
        foreach (var d in spec.Dimms)
        {
            var r = deviceMemory.Plug(d.Id, d.SizeBytes, d.Node, d.Slot, d.Address);
            if (!r.Ok) return (list, $"{d.Id}: {r.Error!.Message}");
            list.Add(r.Dimm!);
        }
        return (list, null);
    }

    /// <summary>Memory affinity entries as build_srat() lays them out: each node's RAM taken in order from
    /// address 0, the 640K hole cut out, split at the end of below-4G RAM and continued at 4 GiB; zero-length
    /// and padding (disabled) entries omitted; the device-memory region last, hotpluggable, on the last node.</summary>
    private static void BuildSratMemory(MachineSpec spec, ulong below4G, DeviceMemoryRegion? devmem, List<SratMemoryAffinity> srat)
    {
        ulong next = 0;
        foreach (var node in spec.Nodes)
        {
            ulong memBase = next;
            ulong memLen = node.MemBytes;
            next = memBase + memLen;
            int pxm = node.NodeId;
            if (memBase <= Hole640KStart && next > Hole640KStart)
            {
                memLen -= next - Hole640KStart;
                if (memLen > 0) srat.Add(new SratMemoryAffinity(memBase, memLen, pxm, false));
                if (next <= Hole640KEnd) { next = Hole640KEnd; continue; }   // 640K < RAM < 1M
                memBase = Hole640KEnd;
                memLen = next - Hole640KEnd;
            }
            if (memBase <= below4G && next > below4G)
            {
                memLen -= next - below4G;
                if (memLen > 0) srat.Add(new SratMemoryAffinity(memBase, memLen, pxm, false));
                memBase = FourGiB;
                memLen = next - below4G;
                next = memBase + memLen;
            }
            if (memLen > 0) srat.Add(new SratMemoryAffinity(memBase, memLen, pxm, false));
        }
        if (devmem is { Size: > 0 } d)
            srat.Add(new SratMemoryAffinity(d.Base, d.Size, spec.Nodes[^1].NodeId, true));
    }

    /// <summary>The SLIT is indexed by proximity domain. QEMU's node ids are dense, so the matrix by node position is
    /// the SLIT; an imported machine with sparse ids (FirmwareNodeIds) gets a SLIT of max id + 1 localities, the
    /// unused ones at 10 local, 20 remote.</summary>
    private static IReadOnlyList<IReadOnlyList<int>>? SlitByPxm(MachineSpec spec)
    {
        if (spec.Distances is null || !spec.FirmwareNodeIds) return spec.Distances;
        int n = spec.Nodes.Max(x => x.NodeId) + 1;
        var m = new int[n][];
        for (int i = 0; i < n; i++) { m[i] = new int[n]; for (int j = 0; j < n; j++) m[i][j] = i == j ? 10 : 20; }
        for (int i = 0; i < spec.Nodes.Count; i++)
            for (int j = 0; j < spec.Nodes.Count; j++) m[spec.Nodes[i].NodeId][spec.Nodes[j].NodeId] = spec.Distances[i][j];
        return m;
    }

    private static ulong RoundUp(ulong v, ulong a) => (v + a - 1) / a * a;
}
