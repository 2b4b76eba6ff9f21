using System.Globalization;
using System.Text;

namespace Numasim.Oracle.Fuzz;

/// <summary>
/// A random machine QEMU 7.2's pc machine accepts (issue 12 item 6): 1-4 NUMA nodes, boot memory in 128 MiB
/// multiples per node (zero for memoryless nodes, node 0 always has memory), sockets of one core spread over the nodes
/// (CPU-less nodes have none), hot-pluggable sockets where the kernel can take them (6.1), a symmetric distance matrix,
/// 4 DIMM slots and maxmem for them. Boot RAM above 3.5 GiB crosses the PCI hole (QEMU then keeps 3 GiB below 4 GiB).
/// </summary>
public sealed record FuzzMachine(int[] NodeMiB, int[] SocketNode, int BootCpus, int[,] Distance, int Slots, int MaxMemMiB)
{
    public const int BlockMiB = 128;
    public int Nodes => NodeMiB.Length;
    public int MaxCpus => SocketNode.Length;
    public int BootMiB => NodeMiB.Sum();

    /// <summary>Draws a machine; <paramref name="cpuHotplug"/> false (6.12 with QEMU 7.2) keeps maxcpus = cpus.</summary>
    public static FuzzMachine Draw(Random r, bool cpuHotplug)
    {
        int nodes = r.Next(1, 5);
        var mem = new int[nodes];
        // node 0 holds the kernel: 512 MiB at least so the TCG guest boots quickly and the initramfs fits
        mem[0] = BlockMiB * r.Next(4, 9);
        for (int n = 1; n < nodes; n++) mem[n] = r.Next(3) == 0 ? 0 : BlockMiB * r.Next(1, 9);
        // now and then, enough RAM to cross the PCI hole (pc: more than 3.5 GiB below 4 GiB -> 3 GiB low, the rest at 4 GiB)
        if (r.Next(6) == 0) mem[nodes - 1] += BlockMiB * r.Next(24, 30);
        int boot = r.Next(1, 5);
        int max = cpuHotplug ? boot + r.Next(0, 3) : boot;
        var socketNode = new int[max];
        for (int s = 0; s < max; s++)
            socketNode[s] = s == 0 ? 0 : r.Next(nodes);
        var dist = new int[nodes, nodes];
        for (int i = 0; i < nodes; i++)
        {
            dist[i, i] = 10;
            for (int j = i + 1; j < nodes; j++) dist[i, j] = dist[j, i] = r.Next(12, 41);
        }
        int bootMiB = mem.Sum();
        int maxMem = (bootMiB + 4096 + 1023) / 1024 * 1024;
        return new FuzzMachine(mem, socketNode, boot, dist, 4, maxMem);
    }

    /// <summary>The machine as QEMU options (the scenario's <c>machine: {qemu: ...}</c>).</summary>
    public string Qemu()
    {
        var b = new StringBuilder();
        b.Append(CultureInfo.InvariantCulture, $"-m {BootMiB}M,slots={Slots},maxmem={MaxMemMiB}M -smp {BootCpus},maxcpus={MaxCpus},sockets={MaxCpus},cores=1,threads=1");
        for (int n = 0; n < Nodes; n++)
            if (NodeMiB[n] > 0) b.Append(CultureInfo.InvariantCulture, $" -object memory-backend-ram,id=m{n},size={NodeMiB[n]}M");
        for (int n = 0; n < Nodes; n++)
            b.Append(CultureInfo.InvariantCulture, $" -numa node,nodeid={n}").Append(NodeMiB[n] > 0 ? $",memdev=m{n}" : "");
        for (int s = 0; s < MaxCpus; s++) b.Append(CultureInfo.InvariantCulture, $" -numa cpu,node-id={SocketNode[s]},socket-id={s}");
        for (int i = 0; i < Nodes; i++)
            for (int j = i + 1; j < Nodes; j++) b.Append(CultureInfo.InvariantCulture, $" -numa dist,src={i},dst={j},val={Distance[i, j]}");
        return b.ToString();
    }
}
