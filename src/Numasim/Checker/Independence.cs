using Numasim.Kernel;

namespace Numasim.Checker;

/// <summary>
/// The partial-order reduction (sleep sets of depth one, docs/checker.md). Every operation has a footprint: the
/// parts of the kernel it reads or writes (the nodes it concerns, the page allocator, the logical CPU numbering,
/// the CPUs' onlineness, the DIMM indices, kvm_intel). Two operations with disjoint footprints commute: either
/// order reaches the same state. In a state reached by operation a, an operation b that comes before a in the
/// operation order and is independent of a is skipped, because the state b;a... is reached the other way round,
/// from the sibling that b reached: breadth-first, the lexicographically least path to every state still exists,
/// so the states, the search tree and the counterexample stay the same, with fewer transitions.
/// </summary>
public static class Independence
{
    [Flags]
    private enum Resource : ulong
    {
        None = 0,
        /// <summary>The page allocator: free lists, watermarks (recomputed for every zone by memory on/offline).</summary>
        Alloc = 1UL << 48,
        /// <summary>Logical CPU numbers (acpi_map_cpu() takes the lowest not present).</summary>
        CpuNumbers = 1UL << 49,
        /// <summary>Which CPUs are online (cpu_down() refuses the last; GFP from a node's first online CPU).</summary>
        CpuOnline = 1UL << 50,
        /// <summary>The checker's DIMM indices (a DIMM takes the lowest free one) and QEMU's slots.</summary>
        DimmIndex = 1UL << 51,
        Kvm = 1UL << 52,
        /// <summary>Nodes 0..47, each a bit; a node beyond counts as all of them.</summary>
        AllNodes = (1UL << 48) - 1,
    }

    private static Resource Node(int nid) => nid is >= 0 and < 48 ? (Resource)(1UL << nid) : Resource.AllNodes;

    /// <summary>What the operation reads or writes, in the driver's current state (before or after it: a footprint
    /// does not depend on which).</summary>
    private static Resource Footprint(CheckOp op, CheckDriver d)
    {
        var spec = d.Machine.Spec;
        var k = d.Machine.Kernel;
        switch (op.Kind)
        {
            case OpKind.CpuAdd:
            case OpKind.CpuDel:
            {
                var slot = spec.CpuSlots.First(s => s.Index == op.Arg);
                // An eject offlines the CPU and may take its node offline (v4.19 clears cpu_to_node there).
                return Node(slot.NodeId) | Resource.CpuNumbers | (op.Kind == OpKind.CpuDel ? Resource.CpuOnline | Resource.Alloc : 0);
            }
            case OpKind.CpuOnline:
            case OpKind.CpuOffline:
                return Node(k.Cpus.CpuToNode((int)op.Arg)) | Resource.CpuOnline | Resource.Alloc;
            case OpKind.DimmAdd:
                // Blocks come offline unless auto_online_blocks onlines them (then the allocator is involved).
                return Node((int)op.Arg) | Resource.DimmIndex | (k.DefaultOnlineType != OnlineType.Offline ? Resource.Alloc : 0);
            case OpKind.DimmDel:
                return Node(d.Dimms.TryGetValue((int)op.Arg, out int n) ? n : -1) | Resource.DimmIndex | Resource.Alloc;
            case OpKind.BlockOnline:
            case OpKind.BlockOnlineKernel:
            case OpKind.BlockOnlineMovable:
            case OpKind.BlockOffline:
                return Node(k.FindMemoryBlock(op.Arg)?.Nid ?? -1) | Resource.Alloc;
            case OpKind.Modprobe:
            case OpKind.Rmmod:
                return Resource.Kvm | Resource.Alloc | Resource.AllNodes;
            default: // Alloc, Free
                return Resource.Alloc | Resource.CpuOnline | Resource.AllNodes;
        }
    }

    /// <summary>Whether the two operations commute in the driver's state.</summary>
    public static bool Independent(CheckOp a, CheckOp b, CheckDriver d) => (Footprint(a, d) & Footprint(b, d)) == 0;

    /// <summary>The operation order the reduction relies on: the order <see cref="CheckDriver.EnabledOps"/> lists
    /// operations in (CPU slots, CPU onlining, DIMM add, DIMM remove, blocks, kvm, allocations, frees).</summary>
    public static ulong OrderKey(CheckOp op)
    {
        ulong group = op.Kind switch
        {
            OpKind.CpuAdd or OpKind.CpuDel => 0,
            OpKind.CpuOnline or OpKind.CpuOffline => 1,
            OpKind.DimmAdd => 2,
            OpKind.DimmDel => 3,
            OpKind.BlockOnline or OpKind.BlockOnlineKernel or OpKind.BlockOnlineMovable or OpKind.BlockOffline => 4,
            OpKind.Modprobe or OpKind.Rmmod => 5,
            OpKind.Alloc => 6,
            _ => 7,
        };
        return group << 56 | (ulong)op.Arg << 8 | (ulong)op.Kind;
    }

    /// <summary>In a state reached by <paramref name="last"/>: skip <paramref name="next"/> (it comes earlier in the
    /// order and commutes with the last operation).</summary>
    public static bool SkipAfter(CheckOp last, CheckOp next, CheckDriver d) =>
        OrderKey(next) < OrderKey(last) && Independent(last, next, d);
}
