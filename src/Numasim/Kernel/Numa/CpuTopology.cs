namespace Numasim.Kernel.Numa;

/// <summary>What CPUID and the MADT tell the kernel about one logical CPU (struct cpuinfo_x86 topology fields, with
/// cpu_l2c_id as <see cref="L2cId"/> (-1: BAD_APICID, not set up) and an AMD compute unit's cu_id (-1: 0xff, none)).</summary>
public sealed record CpuIdentity(uint ApicId, int PackageId, int DieId, int CoreId, int ThreadId, int L2cId = -1, int ComputeUnitId = -1);

/// <summary>
/// The CPU masks and per-CPU NUMA association: cpu_possible/present/online masks (kernel/cpu.c),
/// x86_cpu_to_node_map / numa_node (arch/x86/mm/numa.c), numa_mem (include/linux/topology.h),
/// node_to_cpumask_map, and the APIC id of each logical CPU.
/// </summary>
public sealed class CpuTopology
{
    private readonly int[] _cpuToNode;
    private readonly int[] _numaMem;
    private readonly CpuIdentity?[] _identity;
    private readonly Dictionary<int, Bitmap> _nodeToCpumask = [];

    public CpuTopology(int nrCpuIds)
    {
        NrCpuIds = nrCpuIds;
        Possible = new Bitmap(nrCpuIds);
        Present = new Bitmap(nrCpuIds);
        Online = new Bitmap(nrCpuIds);
        _cpuToNode = new int[nrCpuIds];
        _numaMem = new int[nrCpuIds];
        _identity = new CpuIdentity?[nrCpuIds];
        Array.Fill(_cpuToNode, NumaConstants.NumaNoNode);
        Array.Fill(_numaMem, NumaConstants.NumaNoNode);
    }

    /// <summary>nr_cpu_ids: the possible CPUs' count (highest possible + 1).</summary>
    public int NrCpuIds { get; }

    public Bitmap Possible { get; }
    public Bitmap Present { get; }
    public Bitmap Online { get; }

    /// <summary>Models cpu_to_node().</summary>
    public int CpuToNode(int cpu) => _cpuToNode[cpu];

    /// <summary>Models numa_set_node(), arch/x86/mm/numa.c.</summary>
    public void NumaSetNode(int cpu, int node) => _cpuToNode[cpu] = node;

    /// <summary>Models numa_clear_node(), arch/x86/mm/numa.c.</summary>
    public void NumaClearNode(int cpu) => NumaSetNode(cpu, NumaConstants.NumaNoNode);

    /// <summary>Models cpu_to_mem(): the nearest node with memory for a CPU of a memoryless node.</summary>
    public int CpuToMem(int cpu) => _numaMem[cpu];

    /// <summary>Models set_cpu_numa_mem().</summary>
    public void SetCpuNumaMem(int cpu, int node) => _numaMem[cpu] = node;

    public CpuIdentity? Identity(int cpu) => _identity[cpu];
    public void SetIdentity(int cpu, CpuIdentity? id)
    {
        _identity[cpu] = id;
        _cpuOfApic = null;
    }

    /// <summary>The lowest logical CPU of each APIC id; rebuilt after an identity changes.</summary>
    private Dictionary<uint, int>? _cpuOfApic;

    /// <summary>The logical CPU number of an APIC id, or -1 (cpuid_to_apicid reverse lookup).</summary>
    public int CpuOfApicId(uint apicId)
    {
        if (_cpuOfApic is null)
        {
            _cpuOfApic = [];
            for (int cpu = 0; cpu < NrCpuIds; cpu++)
                if (_identity[cpu] is { } id) _cpuOfApic.TryAdd(id.ApicId, cpu);
        }
        return _cpuOfApic.TryGetValue(apicId, out int c) ? c : -1;
    }

    /// <summary>Models cpumask_of_node(): node_to_cpumask_map[node], kept by numa_add_cpu()/numa_remove_cpu().</summary>
    public Bitmap CpumaskOfNode(int node)
    {
        if (!_nodeToCpumask.TryGetValue(node, out var m))
            _nodeToCpumask[node] = m = new Bitmap(NrCpuIds);
        return m;
    }

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
        foreach (var m in _nodeToCpumask.Values) m.Clear(cpu);
    }

    /// <summary>Present CPUs whose cpu_to_node is the node: the ones __register_one_node() links.</summary>
    public IEnumerable<int> PresentCpusOfNode(int node)
    {
        foreach (var cpu in Present.Bits())
            if (_cpuToNode[cpu] == node) yield return cpu;
    }
}
