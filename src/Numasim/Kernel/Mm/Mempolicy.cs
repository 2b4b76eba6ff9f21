using System.Runtime.CompilerServices;
using Numasim.Kernel.Numa;

namespace Numasim.Kernel.Mm;

/// <summary>The memory policy modes of include/uapi/linux/mempolicy.h (MPOL_PREFERRED_MANY from v5.15).</summary>
public enum MpolMode : byte { Default = 0, Preferred = 1, Bind = 2, Interleave = 3, Local = 4, PreferredMany = 5 }

/// <summary>The mode flags of include/uapi/linux/mempolicy.h.</summary>
[Flags]
public enum MpolFlags : ushort { None = 0, StaticNodes = 1 << 15, RelativeNodes = 1 << 14 }

/// <summary>A nodemask_t (MAX_NUMNODES bits) as plain value data, so a policy can live in the compact state.</summary>
[InlineArray(NumaConstants.MaxNumNodes / 64)]
public struct NodemaskWords
{
    private ulong _w0;

    public static NodemaskWords Of(Bitmap b)
    {
        var w = new NodemaskWords();
        foreach (var n in b.Bits()) w[n >> 6] |= 1UL << (n & 63);
        return w;
    }

    /// <summary>Whether the mask holds exactly the bits of <paramref name="b"/> (no allocation: the memory notifier's test).</summary>
    public readonly bool SameAs(Bitmap b)
    {
        int weight = 0;
        for (int i = 0; i < NumaConstants.MaxNumNodes / 64; i++) weight += System.Numerics.BitOperations.PopCount(this[i]);
        if (weight != b.Weight()) return false;
        foreach (var n in b.Bits())
            if (n >= NumaConstants.MaxNumNodes || (this[n >> 6] & (1UL << (n & 63))) == 0) return false;
        return true;
    }

    public readonly Bitmap ToBitmap()
    {
        var b = new Bitmap(NumaConstants.MaxNumNodes);
        for (int i = 0; i < NumaConstants.MaxNumNodes / 64; i++)
            for (ulong v = this[i]; v != 0; v &= v - 1)
                b.Set(i * 64 + System.Numerics.BitOperations.TrailingZeroCount(v));
        return b;
    }
}

/// <summary>struct mempolicy: mode, flags, nodes and w (the user's nodemask with MPOL_F_STATIC_NODES or
/// MPOL_F_RELATIVE_NODES, else the cpuset's mems_allowed when it was made).</summary>
public struct Mempolicy
{
    public MpolMode Mode;
    public MpolFlags Flags;
    public NodemaskWords Nodes;
    public NodemaskWords W;

    public readonly bool StoresUserNodemask => (Flags & (MpolFlags.StaticNodes | MpolFlags.RelativeNodes)) != 0;
}

/// <summary>mm/mempolicy.c: making a policy (mpol_new(), mpol_set_nodemask()), rebinding it when the cpuset's
/// nodes change (mpol_rebind_policy()), and the allocation side (policy_node(), policy_nodemask(),
/// interleave, MPOL_PREFERRED_MANY's two passes) over the page allocator.</summary>
internal static class MempolicyOps
{
    /// <summary>Models mpol_new() and mpol_set_nodemask() with the top cpuset's mems_allowed (N_MEMORY): the policy
    /// or an errno. MPOL_DEFAULT gives Default (no struct mempolicy in the kernel).</summary>
    public static Errno Make(KernelContext k, MpolMode mode, MpolFlags flags, Bitmap nodes, out Mempolicy pol)
    {
        pol = default;
        if (mode == MpolMode.PreferredMany && !k.Profile.MpolPreferredMany) return Errno.EINVAL; // sanitize_mpol_flags(): >= MPOL_MAX
        if ((flags & MpolFlags.StaticNodes) != 0 && (flags & MpolFlags.RelativeNodes) != 0) return Errno.EINVAL;
        if (mode == MpolMode.Default) return nodes.IsEmpty ? Errno.None : Errno.EINVAL;
        if (mode == MpolMode.Preferred && nodes.IsEmpty)
        {
            if (flags != MpolFlags.None) return Errno.EINVAL;
            mode = MpolMode.Local;
        }
        else if (mode == MpolMode.Local)
        {
            if (!nodes.IsEmpty || flags != MpolFlags.None) return Errno.EINVAL;
        }
        else if (nodes.IsEmpty) return Errno.EINVAL;
        pol.Mode = mode;
        pol.Flags = flags;
        if (mode == MpolMode.Local) return Errno.None;
        // mpol_set_nodemask(): the nodes that have memory and the cpuset allows
        var allowed = CpusetMemsAllowed(k);
        var mask = (flags & MpolFlags.RelativeNodes) != 0 ? RelativeNodemask(nodes, allowed) : And(nodes, allowed);
        pol.W = NodemaskWords.Of(pol.StoresUserNodemask ? nodes : allowed);
        if (mask.IsEmpty) return Errno.EINVAL; // mpol_new_nodemask() / mpol_new_preferred()
        if (mode == MpolMode.Preferred) { int first = mask.First(); mask.ClearAll(); mask.Set(first); }
        pol.Nodes = NodemaskWords.Of(mask);
        return Errno.None;
    }

    /// <summary>cpuset_current_mems_allowed of a task in the top cpuset: its effective mems, N_MEMORY.</summary>
    public static Bitmap CpusetMemsAllowed(KernelContext k)
    {
        var b = new Bitmap(NumaConstants.MaxNumNodes);
        foreach (var n in k.NodeStates[NodeState.Memory].Bits()) b.Set(n);
        return b;
    }

    /// <summary>Models mpol_rebind_policy(): a task's policy follows its cpuset's new nodes (mpol_rebind_nodemask() for
    /// bind, interleave and preferred-many; preferred only records them; local never changes).</summary>
    public static void Rebind(ref Mempolicy pol, Bitmap newmems)
    {
        if (pol.Mode is MpolMode.Default or MpolMode.Local) return;
        if (!pol.StoresUserNodemask && pol.W.ToBitmap().Equals(newmems)) return;
        if (pol.Mode == MpolMode.Preferred) { pol.W = NodemaskWords.Of(newmems); return; }
        Bitmap tmp;
        if ((pol.Flags & MpolFlags.StaticNodes) != 0) tmp = And(pol.W.ToBitmap(), newmems);
        else if ((pol.Flags & MpolFlags.RelativeNodes) != 0) tmp = RelativeNodemask(pol.W.ToBitmap(), newmems);
        else
        {
            tmp = NodesRemap(pol.Nodes.ToBitmap(), pol.W.ToBitmap(), newmems);
            pol.W = NodemaskWords.Of(newmems);
        }
        pol.Nodes = NodemaskWords.Of(tmp.IsEmpty ? newmems : tmp);
    }

    /// <summary>Models apply_policy_zone(): a bind policy over nodes with only movable memory applies to ZONE_MOVABLE
    /// allocations only; otherwise to zones from policy_zone up.</summary>
    public static bool ApplyPolicyZone(KernelContext k, in Mempolicy pol, ZoneType zone)
    {
        var dynamic = k.PolicyZone;
        if (!Intersects(pol.Nodes.ToBitmap(), k.NodeStates[NodeState.NormalMemory])) dynamic = ZoneType.Movable;
        return zone >= dynamic;
    }

    /// <summary>Models policy_nodemask(): MPOL_BIND's nodes where they apply (and intersect the task's mems_allowed),
    /// MPOL_PREFERRED_MANY's nodes; otherwise no nodemask.</summary>
    public static Bitmap? PolicyNodemask(KernelContext k, Gfp gfp, in Mempolicy pol)
    {
        if (pol.Mode == MpolMode.Bind && ApplyPolicyZone(k, pol, GfpFlags.GfpZone(gfp))
            && Intersects(pol.Nodes.ToBitmap(), CpusetMemsAllowed(k)))
            return pol.Nodes.ToBitmap();
        return pol.Mode == MpolMode.PreferredMany ? pol.Nodes.ToBitmap() : null;
    }

    /// <summary>Models policy_node(): MPOL_PREFERRED's node, else the given one (no home_node is set).</summary>
    public static int PolicyNode(in Mempolicy pol, int nd) => pol.Mode == MpolMode.Preferred ? pol.Nodes.ToBitmap().First() : nd;

    /// <summary>Models offset_il_node(): the n-th node of the policy's nodes, wrapping around.</summary>
    public static int OffsetIlNode(in Mempolicy pol, long n, int localNid)
    {
        var nodes = pol.Nodes.ToBitmap();
        int nnodes = nodes.Weight();
        if (nnodes == 0) return localNid;
        int target = (int)((ulong)n % (uint)nnodes), nid = nodes.First();
        for (int i = 0; i < target; i++) nid = nodes.NextSet(nid + 1);
        return nid;
    }

    /// <summary>Models vma_alloc_folio() (v6.1) / folio_alloc_mpol() (v6.12) for an order-0 page at interleave index
    /// <paramref name="ilx"/>: interleave by offset with NUMA_INTERLEAVE_HIT, preferred-many's two passes, or
    /// __alloc_pages() with policy_node() and policy_nodemask().</summary>
    public static AllocatedPage? AllocPage(KernelContext k, PageAlloc alloc, Gfp gfp, in Mempolicy pol, long ilx, AllocContext ctx)
    {
        int local = k.Cpus.CpuToNode(ctx.Cpu);
        switch (pol.Mode)
        {
            case MpolMode.Interleave:
            {
                int nid = OffsetIlNode(pol, ilx, local);
                var page = alloc.AllocPages(gfp, 0, nid, null, ctx);
                if (page is not null && page.Node == nid) page.Zone.NumaMut.InterleaveHit++;
                return page;
            }
            case MpolMode.PreferredMany:
            {
                // alloc_pages_preferred_many(): the preferred nodes without reclaim or warning, then any node
                var page = alloc.AllocPages((gfp | Gfp.NoWarn) & ~Gfp.DirectReclaim, 0, local, pol.Nodes.ToBitmap(), ctx);
                return page ?? alloc.AllocPages(gfp, 0, local, null, ctx);
            }
            default:
                return alloc.AllocPages(gfp, 0, PolicyNode(pol, local), PolicyNodemask(k, gfp, pol), ctx);
        }
    }

    /// <summary>The policy's text as numactl --dump prints a range's policy (numactl's show_mempolicy words).</summary>
    public static string ModeName(MpolMode m) => m switch
    {
        MpolMode.Default => "default", MpolMode.Preferred => "preferred", MpolMode.Bind => "bind",
        MpolMode.Interleave => "interleave", MpolMode.Local => "local", _ => "preferred-many",
    };

    private static Bitmap And(Bitmap a, Bitmap b)
    {
        var r = new Bitmap(NumaConstants.MaxNumNodes);
        foreach (var n in a.Bits()) if (n < b.NBits && b[n]) r.Set(n);
        return r;
    }

    private static bool Intersects(Bitmap a, Bitmap b)
    {
        foreach (var n in a.Bits()) if (n < b.NBits && b[n]) return true;
        return false;
    }

    /// <summary>Models mpol_relative_nodemask(): the user's node ids as positions in <paramref name="rel"/>, folded onto its weight.</summary>
    private static Bitmap RelativeNodemask(Bitmap orig, Bitmap rel)
    {
        var r = new Bitmap(NumaConstants.MaxNumNodes);
        int w = rel.Weight();
        if (w == 0) return r;
        var relNodes = rel.Bits().ToArray();
        foreach (var n in orig.Bits()) r.Set(relNodes[n % w]); // nodes_fold() then nodes_onto()
        return r;
    }

    /// <summary>Models nodes_remap() (bitmap_remap()): each node at position p of <paramref name="oldMask"/> goes to the
    /// node at position p mod weight of <paramref name="newMask"/>; nodes outside the old mask stay.</summary>
    private static Bitmap NodesRemap(Bitmap src, Bitmap oldMask, Bitmap newMask)
    {
        var r = new Bitmap(NumaConstants.MaxNumNodes);
        var oldNodes = oldMask.Bits().ToList();
        var newNodes = newMask.Bits().ToArray();
        foreach (var n in src.Bits())
        {
            int pos = oldNodes.IndexOf(n);
            if (pos < 0 || newNodes.Length == 0) r.Set(n);
            else r.Set(newNodes[pos % newNodes.Length]);
        }
        return r;
    }
}
