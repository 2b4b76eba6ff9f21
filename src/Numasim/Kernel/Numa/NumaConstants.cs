namespace Numasim.Kernel.Numa;

/// <summary>Compile-time NUMA limits of the modelled x86_64 kernels (Debian's config: NODES_SHIFT=10, NR_CPUS=8192).</summary>
public static class NumaConstants
{
    /// <summary>NUMA_NO_NODE, include/linux/numa.h.</summary>
    public const int NumaNoNode = -1;
    public const int NodesShift = 10;
    /// <summary>MAX_NUMNODES.</summary>
    public const int MaxNumNodes = 1 << NodesShift;
    /// <summary>NR_CPUS (CONFIG_NR_CPUS of Debian's x86_64 kernels).</summary>
    public const int NrCpus = 8192;
    /// <summary>LOCAL_DISTANCE and REMOTE_DISTANCE, include/linux/topology.h.</summary>
    public const int LocalDistance = 10;
    public const int RemoteDistance = 20;
}
