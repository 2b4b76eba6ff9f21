using Numasim.Kernel;
using Numasim.Kernel.Mm;
using Numasim.Kernel.Numa;

namespace Numasim.Userspace;

/// <summary>numactl and busybox fallocate on files of the guest's hugetlbfs mount.</summary>
internal static partial class Numactl
{
    /// <summary>[numactl POLICY] busybox fallocate [-o OFFSET] -l LENGTH FILE on a hugetlbfs file: numactl sets the task's
    /// policy, fallocate open(O_CREAT)s the file and posix_fallocate() calls fallocate(2) (hugetlbfs_fallocate()).</summary>
    public static NumactlOutcome Fallocate(KernelContext k, Hugetlbfs fs, NumactlRun r)
    {
        if (!ParseNodes(k, r, out var nodes)) return new("invalid nodes");
        var (pol, err) = TaskMempolicy(k, r, nodes);
        if (err != Errno.None) return new(err.ToString());
        err = fs.Fallocate(r.File!, r.Offset, r.Length, pol, r.Cpu);
        return new(err == Errno.None ? "ok" : err.ToString());
    }

    /// <summary>numactl --length L [--offset O] --file F POLICY [--touch] on a hugetlbfs file: attach_shared() opens the
    /// file (O_CREAT) and grows it with ftruncate() ("ftruncate" error), mmap()s it MAP_SHARED ("shm mmap": the range is
    /// reserved), mbind()s the mapping (the vma's own policy: hugetlb's vm_ops have no set_policy), and --touch faults
    /// every huge page in with it. Outcomes as for tmpfs files; a fault that gets no page is "SIGBUS".</summary>
    private static NumactlOutcome HugetlbfsFile(KernelContext k, Hugetlbfs fs, NumactlRun r, Bitmap nodes)
    {
        string file = r.File!;
        if (fs.Size(file) < 0 && r.Length == 0) return new("need a --length");
        long length = r.Length > 0 ? r.Length : fs.Size(file);
        if (fs.Size(file) < r.Offset + length && fs.Truncate(file, r.Offset + length) is var terr && terr != Errno.None)
            return new(terr.ToString());
        var err = fs.MmapShared(file, r.Offset, length, r.Cpu);
        if (err != Errno.None) return new(err.ToString());
        Mempolicy pol = default;
        if (r.Policy != NumactlPolicy.None)
        {
            err = MbindPolicy(k, r, nodes, out pol);
            if (err != Errno.None) return new(err.ToString());
        }
        if (r.Touch)
        {
            long hpage = Page.Size << Hugetlb.Order;
            for (long i = r.Offset / hpage; i < (r.Offset + length) / hpage; i++)
                if (!fs.Fault(file, i, pol, r.Cpu)) return new("SIGBUS");
        }
        return new("ok");
    }
}
