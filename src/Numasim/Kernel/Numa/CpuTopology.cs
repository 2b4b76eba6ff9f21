using Numasim.Snapshots;

namespace Numasim.Kernel.Numa;

/// <summary>What CPUID and the MADT tell the kernel about one logical CPU (struct cpuinfo_x86 topology fields, with
/// cpu_l2c_id as <see cref="L2cId"/> (-1: BAD_APICID, not set up) and an AMD compute unit's cu_id (-1: 0xff, none)).</summary>
public sealed record CpuIdentity(uint ApicId, int PackageId, int DieId, int CoreId, int ThreadId, int L2cId = -1, int ComputeUnitId = -1);

/// <summary>
/// The CPU masks and per-CPU NUMA association: cpu_possible/present/online masks (kernel/cpu.c),
/// x86_cpu_to_node_map / numa_node (arch/x86/mm/numa.c), numa_mem (include/linux/topology.h),
/// node_to_cpumask_map, and the APIC id of each logical CPU. All of it is compact state (docs/checker.md):
/// the masks are words of one region, the per-CPU values one record per CPU.
/// </summary>
public sealed class CpuTopology
{
    /// <summary>One CPU's values: cpu_to_node, cpu_to_mem, and the APIC id + 1 of its identity (0: none).</summary>
    private struct CpuRecord
    {
        public int Node;
        public int NumaMem;
        public uint ApicPlus1;
    }

    private readonly StateArray<CpuRecord> _cpu;
    private readonly Bitmap[] _nodeToCpumask;
    private readonly Bitmap _noNode;
    private readonly StateStore? _store;
    // Identities by APIC id (immutable records, shared by every state), and the reverse lookup (a cache).
    private readonly Dictionary<uint, CpuIdentity> _identityOfApic = [];
    private Dictionary<uint, int>? _cpuOfApic;
    // Makes the identity of an APIC id no state of this machine has shown yet (a restored state's hot-added CPU).
    private readonly Func<uint, CpuIdentity?>? _resolve;

    /// <summary>A topology for nrCpuIds CPUs and nrNodes nodes; its state is registered in the store (none: its own,
    /// a placeholder before the CPUs are enumerated).</summary>
    public CpuTopology(int nrCpuIds, int nrNodes = 1, StateStore? store = null, Func<uint, CpuIdentity?>? identityOfApic = null)
    {
        _resolve = identityOfApic;
        NrCpuIds = nrCpuIds;
        _store = store;
        int w = Bitmap.WordsFor(nrCpuIds);
        var s = store ?? new StateStore();
        var masks = new StateArray<ulong>(s, "cpu masks (possible, present, online, node_to_cpumask_map)", w * (3 + nrNodes));
        Possible = new Bitmap(masks, 0, nrCpuIds);
        Present = new Bitmap(masks, w, nrCpuIds);
        Online = new Bitmap(masks, 2 * w, nrCpuIds);
        _nodeToCpumask = new Bitmap[nrNodes];
        for (int n = 0; n < nrNodes; n++) _nodeToCpumask[n] = new Bitmap(masks, (3 + n) * w, nrCpuIds);
        _noNode = new Bitmap(nrCpuIds);
        _cpu = new StateArray<CpuRecord>(s, "cpus (cpu_to_node, cpu_to_mem, apic id)", nrCpuIds);
        var init = new CpuRecord { Node = NumaConstants.NumaNoNode, NumaMem = NumaConstants.NumaNoNode };
        _cpu.Fill(init);
        if (store is null) return;
        Present.Observer = (cpu, v) => ObserveCpu(cpu, Packed(cpu, present: !v));
        Online.Observer = (cpu, v) => ObserveCpu(cpu, Packed(cpu, online: !v));
        store.OnRestore(() => _cpuOfApic = null);
    }

    /// <summary>nr_cpu_ids: the possible CPUs' count (highest possible + 1).</summary>
    public int NrCpuIds { get; }

    public Bitmap Possible { get; }
    public Bitmap Present { get; }
    public Bitmap Online { get; }

    /// <summary>A CPU's observed value for the fingerprint: present, online, cpu_to_node.</summary>
    private ulong Packed(int cpu, bool? present = null, bool? online = null, int? node = null) =>
        ((present ?? Present[cpu]) ? 1UL : 0) | ((online ?? Online[cpu]) ? 2UL : 0) | (ulong)(uint)((node ?? _cpu[cpu].Node) + 1) << 2;

    private void ObserveCpu(int cpu, ulong old) =>
        _store?.Observe(Zobrist.Key(FieldKind.Cpu, cpu), old, Packed(cpu), cpu == 0 ? 0 : (ulong)FieldKind.Cpu);

    /// <summary>Models cpu_to_node().</summary>
    public int CpuToNode(int cpu) => _cpu[cpu].Node;

    /// <summary>Models numa_set_node(), arch/x86/mm/numa.c.</summary>
    public void NumaSetNode(int cpu, int node)
    {
        ulong old = Packed(cpu);
        _cpu.Mut(cpu).Node = node;
        ObserveCpu(cpu, old);
    }

    /// <summary>Models numa_clear_node(), arch/x86/mm/numa.c.</summary>
    public void NumaClearNode(int cpu) => NumaSetNode(cpu, NumaConstants.NumaNoNode);

    /// <summary>Models cpu_to_mem(): the nearest node with memory for a CPU of a memoryless node.</summary>
    public int CpuToMem(int cpu) => _cpu[cpu].NumaMem;

    /// <summary>Models set_cpu_numa_mem().</summary>
    public void SetCpuNumaMem(int cpu, int node) => _cpu.Mut(cpu).NumaMem = node;

    public CpuIdentity? Identity(int cpu)
    {
        uint a = _cpu[cpu].ApicPlus1;
        if (a == 0) return null;
        if (_identityOfApic.TryGetValue(a - 1, out var id)) return id;
        id = _resolve?.Invoke(a - 1) ?? throw new InvalidOperationException($"cpu{cpu}: no identity for APIC id {a - 1}");
        return _identityOfApic[a - 1] = id;
    }

    public void SetIdentity(int cpu, CpuIdentity? id)
    {
        if (id is not null) _identityOfApic[id.ApicId] = id;
        _cpu.Mut(cpu).ApicPlus1 = id is null ? 0 : id.ApicId + 1;
        _cpuOfApic = null;
    }

    /// <summary>The logical CPU number of an APIC id, or -1 (cpuid_to_apicid reverse lookup).</summary>
    public int CpuOfApicId(uint apicId)
    {
        // A few CPUs: a scan (lowest CPU first, as the map keeps it) costs less than remaking the map after a restore.
        if (NrCpuIds <= 64)
        {
            for (int cpu = 0; cpu < NrCpuIds; cpu++)
                if (_cpu[cpu].ApicPlus1 is var a and > 0 && a - 1 == apicId) return cpu;
            return -1;
        }
        if (_cpuOfApic is null)
        {
            _cpuOfApic = [];
            for (int cpu = 0; cpu < NrCpuIds; cpu++)
                if (_cpu[cpu].ApicPlus1 is var a and > 0) _cpuOfApic.TryAdd(a - 1, cpu);
        }
        return _cpuOfApic.TryGetValue(apicId, out int c) ? c : -1;
    }

    /// <summary>Models cpumask_of_node(): node_to_cpumask_map[node], kept by numa_add_cpu()/numa_remove_cpu().</summary>
    public Bitmap CpumaskOfNode(int node) => (uint)node < (uint)_nodeToCpumask.Length ? _nodeToCpumask[node] : _noNode;

    /// <summary>Models numa_add_cpu(), arch/x86/mm/numa.c.</summary>
    public void NumaAddCpu(int cpu)
    {
        int node = CpuToNode(cpu);
        if (node >= 0) CpumaskOfNode(node).Set(cpu);
    }

    /// <summary>Models numa_remove_cpu(), arch/x86/mm/numa.c.</summary>
    public void NumaRemoveCpu(int cpu)
    {
        // Only the node the CPU was added under holds it; clearing all keeps this independent of cpu_to_node now.
        foreach (var m in _nodeToCpumask) m.Clear(cpu);
    }

    /// <summary>Present CPUs whose cpu_to_node is the node: the ones __register_one_node() links.</summary>
    public IEnumerable<int> PresentCpusOfNode(int node)
    {
        foreach (var cpu in Present.Bits())
            if (_cpu[cpu].Node == node) yield return cpu;
    }
}
