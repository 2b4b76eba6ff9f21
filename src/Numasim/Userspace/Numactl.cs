using Numasim.Kernel;
using Numasim.Kernel.Mm;
using Numasim.Kernel.Numa;

namespace Numasim.Userspace;

/// <summary>numactl's memory policy options: --membind, --interleave, --preferred, --preferred-many, --localalloc.</summary>
public enum NumactlPolicy { None, Membind, Interleave, Preferred, PreferredMany, Localalloc }

/// <summary>One numactl run. With <see cref="File"/> the policy goes on that tmpfs file's range (numactl --length L
/// [--offset O] --file F POLICY [--touch]); otherwise numactl sets the task's policy and runs
/// <c>dd if=/dev/zero of=Of bs=4096 count=Count [conv=notrunc]</c> under it.</summary>
public sealed record NumactlRun(NumactlPolicy Policy, string Nodes, string? File = null, long Length = 0, long Offset = 0,
    bool Touch = false, string? Of = null, long Count = 0, bool NoTrunc = false, int Cpu = 0);

/// <summary>What a run printed, as the oracle compares it: "ok", "N pages" (dd), "ERRNO after N pages", "ERRNO"
/// (numactl's perror of a system call), "invalid nodes" or "need a --length" (numactl refused its arguments).</summary>
public readonly record struct NumactlOutcome(string Text);

/// <summary>
/// The guest's numactl 2.0.16 (Debian 12's, with its libnuma) and busybox dd, over the modelled kernel's
/// set_mempolicy(), mbind() on a tmpfs mapping, page faults and write(): libnuma's node parsing against the task's
/// Mems_allowed, numactl's order of operations, then the kernel's answer.
/// </summary>
internal static partial class Numactl
{
    private const string Comm = "dd";

    /// <summary>Runs numactl (and dd) as the guest would.</summary>
    public static NumactlOutcome Run(KernelContext k, Shmem shmem, Hugetlbfs hugetlbfs, NumactlRun r)
    {
        if (!ParseNodes(k, r, out var nodes)) return new("invalid nodes");
        if (r.File is not null && Hugetlbfs.IsOnMount(r.File)) return HugetlbfsFile(k, hugetlbfs, r, nodes);
        return r.File is not null ? SharedFile(k, shmem, r, nodes) : TaskPolicy(k, shmem, r, nodes);
    }

    /// <summary>libnuma's numa_parse_nodestring(): "all" is the task's Mems_allowed; a node outside it is "out of
    /// range" and numactl prints "&lt;NODES&gt; is invalid" and its usage; --preferred takes exactly one node.</summary>
    private static bool ParseNodes(KernelContext k, NumactlRun r, out Bitmap nodes)
    {
        var memsAllowed = MempolicyOps.CpusetMemsAllowed(k);
        nodes = new Bitmap(NumaConstants.MaxNumNodes);
        if (r.Policy is NumactlPolicy.None or NumactlPolicy.Localalloc) return true;
        if (r.Nodes == "all") { nodes = memsAllowed; return true; }
        if (!Bitmap.TryParseList(r.Nodes, NumaConstants.MaxNumNodes, out nodes, out _) || nodes.IsEmpty
            || nodes.Bits().Any(n => !memsAllowed[n]))
            return false;
        return r.Policy != NumactlPolicy.Preferred || nodes.Weight() == 1;
    }

    /// <summary>numactl POLICY starting a long-lived task (a shell the scenario later asks to run dd): the policy as
    /// for a one-shot run, kept with the task in the top cpuset so that memory hotplug rebinds it.</summary>
    public static NumactlOutcome StartTask(KernelContext k, Cpuset cpuset, string name, NumactlRun r)
    {
        if (!ParseNodes(k, r, out var nodes)) return new("invalid nodes");
        var (pol, err) = TaskMempolicy(k, r, nodes);
        if (err != Errno.None) return new(err.ToString());
        cpuset.Start(name, r.Cpu, pol);
        return new("ok");
    }

    /// <summary>A started task runs dd with its policy as it is now (rebound by hotplug since).</summary>
    public static NumactlOutcome RunInTask(Cpuset cpuset, Shmem shmem, string name, NumactlRun r)
    {
        int t = cpuset.Find(name);
        if (t < 0) return new("no such task");
        return Dd(shmem, r.Of!, r.Count, r.NoTrunc, cpuset[t].Pol, cpuset[t].Cpu);
    }

    /// <summary>What set_mempolicy() numactl's options make (numa_set_membind(), numa_set_interleave_mask(),
    /// numa_set_preferred(), numa_set_preferred_many(), numa_set_localalloc()).</summary>
    private static (Mempolicy Pol, Errno Err) TaskMempolicy(KernelContext k, NumactlRun r, Bitmap nodes)
    {
        if (r.Policy == NumactlPolicy.None) return (default, Errno.None);
        var (mode, mask) = r.Policy switch
        {
            NumactlPolicy.Membind => (MpolMode.Bind, nodes),
            NumactlPolicy.Interleave => (MpolMode.Interleave, nodes),
            NumactlPolicy.Preferred => (MpolMode.Preferred, nodes),
            NumactlPolicy.PreferredMany => (MpolMode.PreferredMany, nodes),
            _ => (MpolMode.Local, new Bitmap(NumaConstants.MaxNumNodes)),
        };
        var err = MempolicyOps.Make(k, mode, MpolFlags.None, mask, out var pol);
        return (pol, err);
    }

    /// <summary>numactl's policy for a process: set_mempolicy() then exec dd.</summary>
    private static NumactlOutcome TaskPolicy(KernelContext k, Shmem shmem, NumactlRun r, Bitmap nodes)
    {
        var (pol, err) = TaskMempolicy(k, r, nodes);
        if (err != Errno.None) return new(err.ToString());
        return Dd(shmem, r.Of ?? throw new ArgumentException("numactl: a command (of:) or --file is required"), r.Count, r.NoTrunc, pol, r.Cpu);
    }

    /// <summary>numactl --length L [--offset O] --file F POLICY [--touch]: attach_shared() creates the file or extends it
    /// to L with ftruncate(), mmap()s it, mbind()s the range with the policy, and --touch faults every page in.</summary>
    private static NumactlOutcome SharedFile(KernelContext k, Shmem shmem, NumactlRun r, Bitmap nodes)
    {
        if (!shmem.Exists(r.File!) && r.Length == 0) return new("need a --length");
        int f = shmem.Create(r.File!);
        long length = r.Length > 0 ? r.Length : shmem.Size(r.File!);
        if (r.Offset + length > shmem.Size(r.File!)) shmem.Truncate(f, r.Offset + length, r.Cpu);
        long start = r.Offset / Page.Size, end = (r.Offset + length + Page.Size - 1) / Page.Size; // the mapping's pages
        if (r.Policy != NumactlPolicy.None)
        {
            var err = MbindPolicy(k, r, nodes, out var pol);
            if (err != Errno.None) return new(err.ToString()); // numa_error("mbind")
            shmem.SetPolicy(f, start, end, pol);
        }
        if (r.Touch)
        {
            // numa_police_memory(): a read and a write of each page; numactl itself runs with the default policy
            for (long i = start; i < end; i++)
                if (!shmem.GetPage(f, i, default, r.Cpu, "numactl")) return new("ENOMEM");
        }
        return new("ok");
    }

    /// <summary>numactl POLICY sh -c 'echo VALUE &gt; FILE': one write by a task with that policy (what the hugetlb
    /// *_mempolicy files read with init_nodemask_of_mempolicy()). A policy numactl refuses is -EINVAL.</summary>
    public static Errno WriteUnder(KernelContext k, NumactlRun r, Func<Errno> write)
    {
        if (!ParseNodes(k, r, out var nodes)) return Errno.EINVAL;
        var (pol, err) = TaskMempolicy(k, r, nodes);
        if (err != Errno.None) return err;
        k.WriterMempolicy = pol;
        try { return write(); }
        finally { k.WriterMempolicy = null; }
    }

    /// <summary>The policy numactl's mbind() of a --file mapping gives (a struct mempolicy from mpol_new()).</summary>
    private static Errno MbindPolicy(KernelContext k, NumactlRun r, Bitmap nodes, out Mempolicy pol)
    {
        var (mode, mask) = r.Policy switch
        {
            NumactlPolicy.Membind => (MpolMode.Bind, nodes),          // numa_tonodemask_memory(), bind_policy MPOL_BIND
            NumactlPolicy.Interleave => (MpolMode.Interleave, nodes), // numa_interleave_memory()
            NumactlPolicy.Localalloc => (MpolMode.Local, new Bitmap(NumaConstants.MaxNumNodes)), // numa_setlocal_memory()
            // --preferred and --preferred-many: libnuma 2.0.16 calls mbind(MPOL_PREFERRED_MANY) with an empty nodemask
            // (strace in the 6.1 and 6.12 guests, for every node list), which mpol_new() refuses: EINVAL
            _ => (MpolMode.PreferredMany, new Bitmap(NumaConstants.MaxNumNodes)),
        };
        return MempolicyOps.Make(k, mode, MpolFlags.None, mask, out pol);
    }

    /// <summary>busybox dd if=/dev/zero of=F bs=4096 count=N [conv=notrunc] with the task's policy: open(O_CREAT, O_TRUNC
    /// unless notrunc), then one write() per page.</summary>
    public static NumactlOutcome Dd(Shmem shmem, string of, long count, bool notrunc, in Mempolicy pol, int cpu)
    {
        int f = shmem.Create(of);
        if (!notrunc) shmem.Truncate(f, 0, cpu);
        long done = shmem.Write(f, count, pol, cpu, Comm);
        return new(done == count ? $"{count} pages" : $"ENOMEM after {done} pages");
    }
}
