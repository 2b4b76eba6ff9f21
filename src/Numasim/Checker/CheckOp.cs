namespace Numasim.Checker;

/// <summary>The kinds of operation the checker explores (each maps to one or two scenario steps).</summary>
public enum OpKind : byte
{
    CpuAdd, CpuDel, CpuOnline, CpuOffline, DimmAdd, DimmDel,
    BlockOnline, BlockOnlineKernel, BlockOnlineMovable, BlockOffline,
    Modprobe, Rmmod, Alloc, Free,
    /// <summary>memory-notifier-error-inject: Arg 0 fails MEM_GOING_OFFLINE with -EBUSY, 1 MEM_GOING_ONLINE, 2 clears both.</summary>
    InjectMemError,
    /// <summary>fail_page_alloc armed to fail the next allocation of any order and gfp.</summary>
    FailNextAlloc,
}

/// <summary>The representative allocations the checker makes on each node.</summary>
public enum AllocKind : byte
{
    /// <summary>alloc_pages_node(nid, GFP_KERNEL, 0).</summary>
    Kernel,
    /// <summary>alloc_pages_node(nid, GFP_HIGHUSER_MOVABLE, 0).</summary>
    Movable,
    /// <summary>alloc_pages_node(nid, GFP_KERNEL | __GFP_THISNODE, 0).</summary>
    ThisNode,
    /// <summary>alloc_pages_node(NUMA_NO_NODE, GFP_KERNEL, 0) on the first online CPU of the node.</summary>
    NoNode,
}

/// <summary>One operation: its kind and one argument (socket, CPU, node, DIMM index, block id, or node*4+alloc kind).</summary>
public readonly record struct CheckOp(OpKind Kind, long Arg)
{
    public static CheckOp AllocOp(int nid, AllocKind k) => new(OpKind.Alloc, nid * 4 + (int)k);

    /// <summary>The operation in 32 bits (kind, then a 24-bit argument), as the search tree keeps it.</summary>
    public uint Pack()
    {
        if ((ulong)Arg >= 1 << 24) throw new InvalidOperationException($"operation argument {Arg} does not fit the search tree");
        return (uint)Kind << 24 | (uint)Arg;
    }

    public static CheckOp Unpack(uint v) => new((OpKind)(v >> 24), v & 0xFFFFFF);
    public int AllocNode => (int)(Arg / 4);
    public AllocKind AllocKind => (AllocKind)(Arg % 4);

    /// <summary>The --ops family the operation belongs to.</summary>
    public string Family => Kind switch
    {
        OpKind.CpuAdd => "cpu-add",
        OpKind.CpuDel => "cpu-del",
        OpKind.CpuOnline or OpKind.CpuOffline => "cpu-online",
        OpKind.DimmAdd => "dimm-add",
        OpKind.DimmDel => "dimm-del",
        OpKind.BlockOnline or OpKind.BlockOnlineKernel or OpKind.BlockOnlineMovable or OpKind.BlockOffline => "block",
        OpKind.Modprobe or OpKind.Rmmod => "kvm",
        OpKind.Alloc => "alloc",
        OpKind.InjectMemError or OpKind.FailNextAlloc => "fault",
        _ => "free",
    };

    public override string ToString() => Kind switch
    {
        OpKind.CpuAdd => $"device_add cpu socket {Arg}",
        OpKind.CpuDel => $"device_del cpu socket {Arg}",
        OpKind.CpuOnline => $"cpu{Arg}/online <- 1",
        OpKind.CpuOffline => $"cpu{Arg}/online <- 0",
        OpKind.DimmAdd => $"object-add + device_add pc-dimm on node {Arg}",
        OpKind.DimmDel => $"device_del dimm{Arg} (+ object-del)",
        OpKind.BlockOnline => $"memory{Arg}/state <- online",
        OpKind.BlockOnlineKernel => $"memory{Arg}/state <- online_kernel",
        OpKind.BlockOnlineMovable => $"memory{Arg}/state <- online_movable",
        OpKind.BlockOffline => $"memory{Arg}/state <- offline",
        OpKind.Modprobe => "modprobe kvm_intel",
        OpKind.Rmmod => "rmmod kvm_intel",
        OpKind.Alloc => $"alloc_pages {AllocKind} on node {AllocNode}",
        OpKind.InjectMemError => Arg switch { 0 => "MEM_GOING_OFFLINE/error <- -16", 1 => "MEM_GOING_ONLINE/error <- -16", _ => "notifier errors <- 0" },
        OpKind.FailNextAlloc => "fail_page_alloc: fail the next allocation",
        _ => $"free_pages {(AllocKind)(Arg % 4)} of node {Arg / 4}",
    };
}

/// <summary>The operation families --ops takes, and the aliases that name several.</summary>
public static class OpFamilies
{
    public static readonly IReadOnlyList<string> All =
        ["cpu-add", "cpu-del", "cpu-online", "dimm-add", "dimm-del", "block", "kvm", "alloc", "free"];

    /// <summary>Families taken only when named (they multiply the states): fault injection.</summary>
    public static readonly IReadOnlyList<string> Optional = ["fault"];

    /// <summary>Parses "cpu,dimm,kvm" (families or aliases: cpu, dimm, mem, alloc=alloc+free, all); null and an error for an unknown name.</summary>
    public static IReadOnlySet<string>? Parse(string? list, out string error)
    {
        error = "";
        var set = new HashSet<string>();
        if (string.IsNullOrWhiteSpace(list)) { set.UnionWith(All); return set; }
        foreach (var raw in list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            switch (raw)
            {
                case "all": set.UnionWith(All); break;
                case "cpu": set.UnionWith(["cpu-add", "cpu-del", "cpu-online"]); break;
                case "dimm": set.UnionWith(["dimm-add", "dimm-del"]); break;
                case "mem": set.UnionWith(["dimm-add", "dimm-del", "block"]); break;
                case "pages": set.UnionWith(["alloc", "free"]); break;
                default:
                    if (!All.Contains(raw) && !Optional.Contains(raw))
                    {
                        error = $"unknown operation '{raw}' (known: {string.Join(", ", All.Concat(Optional))}; aliases cpu, dimm, mem, pages, all)";
                        return null;
                    }
                    set.Add(raw);
                    break;
            }
        }
        return set;
    }
}
