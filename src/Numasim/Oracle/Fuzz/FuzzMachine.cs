using System.Globalization;
using System.Text;

namespace Numasim.Oracle.Fuzz;

/// <summary>One CPU slot of the <c>-smp</c> topology: QEMU's socket-id/core-id/thread-id, as device_add names it.</summary>
public readonly record struct CpuSlot(int Socket, int Core, int Thread);

/// <summary>
/// A random machine QEMU 7.2's pc machine accepts (issue 12 item 6): 1-8 NUMA nodes, boot memory in 128 MiB
/// multiples per node (zero for memoryless nodes, node 0 always has memory), an <c>-smp</c> layout of sockets × cores
/// × threads (1-2 cores, 1-2 threads, at most 8 CPUs) whose sockets are spread over the nodes (<c>-numa cpu</c> per
/// socket; CPU-less nodes have none; a node with neither memory nor CPUs is hotplug-only), hot-pluggable CPUs where
/// the kernel can take them (6.1: the last slots of the topology, not present at boot), a symmetric distance matrix,
/// 2-8 DIMM slots and maxmem for them. Boot RAM above 3.5 GiB crosses the PCI hole (QEMU then keeps 3 GiB below 4 GiB).
/// </summary>
public sealed record FuzzMachine(int[] NodeMiB, int[] SocketNode, int Cores, int Threads, int BootCpus, int[,] Distance, int Slots, int MaxMemMiB)
{
    public const int BlockMiB = 128;
    private const int MaxCpusDrawn = 8;
    public int Nodes => NodeMiB.Length;
    public int Sockets => SocketNode.Length;
    public int MaxCpus => Sockets * Cores * Threads;
    public int BootMiB => NodeMiB.Sum();

    /// <summary>CPU index <paramref name="i"/> of QEMU's possible-CPU list (sockets, then cores, then threads: the
    /// order -smp's first N CPUs are created in).</summary>
    public CpuSlot Slot(int i) => new(i / (Cores * Threads), i / Threads % Cores, i % Threads);

    /// <summary>Draws a machine; <paramref name="cpuHotplug"/> false (6.12 with QEMU 7.2) keeps maxcpus = cpus.</summary>
    public static FuzzMachine Draw(Random r, bool cpuHotplug)
    {
        int nodes = r.Next(8) < 5 ? r.Next(1, 5) : r.Next(5, 9);
        var mem = new int[nodes];
        // node 0 holds the kernel: 512 MiB at least so the TCG guest boots quickly and the initramfs fits
        mem[0] = BlockMiB * r.Next(4, 9);
        int perNode = nodes > 4 ? 5 : 9;
        for (int n = 1; n < nodes; n++) mem[n] = r.Next(3) == 0 ? 0 : BlockMiB * r.Next(1, perNode);
        // now and then, enough RAM to cross the PCI hole (pc: more than 3.5 GiB below 4 GiB -> 3 GiB low, the rest at 4 GiB)
        if (r.Next(6) == 0) mem[nodes - 1] += BlockMiB * r.Next(24, 30);
        int cores = r.Next(4) == 0 ? 2 : 1, threads = r.Next(4) == 0 ? 2 : 1;
        int perSocket = cores * threads;
        int sockets = r.Next(1, MaxCpusDrawn / perSocket + 1);
        int max = sockets * perSocket;
        // hot-pluggable CPUs are the last slots: at least one socket's worth of CPUs is present at boot
        int boot = cpuHotplug && max > perSocket && r.Next(2) == 0 ? r.Next(perSocket, max) : max;
        var socketNode = new int[sockets];
        for (int s = 1; s < sockets; s++) socketNode[s] = r.Next(nodes);
        var dist = new int[nodes, nodes];
        for (int i = 0; i < nodes; i++)
        {
            dist[i, i] = 10;
            for (int j = i + 1; j < nodes; j++) dist[i, j] = dist[j, i] = r.Next(12, 41);
        }
        int bootMiB = mem.Sum();
        int maxMem = (bootMiB + 4096 + 1023) / 1024 * 1024;
        return new FuzzMachine(mem, socketNode, cores, threads, boot, dist, r.Next(2, 9), maxMem);
    }

    /// <summary>The machine as QEMU options (the scenario's <c>machine: {qemu: ...}</c>).</summary>
    public string Qemu()
    {
        var b = new StringBuilder();
        b.Append(CultureInfo.InvariantCulture, $"-m {BootMiB}M,slots={Slots},maxmem={MaxMemMiB}M -smp {BootCpus},maxcpus={MaxCpus},sockets={Sockets},cores={Cores},threads={Threads}");
        for (int n = 0; n < Nodes; n++)
            if (NodeMiB[n] > 0) b.Append(CultureInfo.InvariantCulture, $" -object memory-backend-ram,id=m{n},size={NodeMiB[n]}M");
        for (int n = 0; n < Nodes; n++)
            b.Append(CultureInfo.InvariantCulture, $" -numa node,nodeid={n}").Append(NodeMiB[n] > 0 ? $",memdev=m{n}" : "");
        for (int s = 0; s < Sockets; s++) b.Append(CultureInfo.InvariantCulture, $" -numa cpu,node-id={SocketNode[s]},socket-id={s}");
        for (int i = 0; i < Nodes; i++)
            for (int j = i + 1; j < Nodes; j++) b.Append(CultureInfo.InvariantCulture, $" -numa dist,src={i},dst={j},val={Distance[i, j]}");
        return b.ToString();
    }
}
