using Numasim.Snapshots;

namespace Numasim.Kernel.Mm;

/// <summary>A page of a tmpfs file's page cache: file, index, and the page (head pfn, zone).</summary>
internal readonly record struct ShmemPage(int File, long Index, long Pfn, int ZoneId);

/// <summary>An sp_node of a file's shared policy tree: pages [Start, End) and their policy.</summary>
internal struct SharedPolicyRange
{
    public int File;
    public long Start, End;
    public Mempolicy Pol;
}

/// <summary>
/// mm/shmem.c for the files of the guest's rootfs (tmpfs): page cache pages allocated with the shared policy of
/// their index (mbind() on a mapping of the file: mpol_set_shared_policy()) or else the writing task's policy, as
/// shmem_alloc_folio() does; truncation and unlink free them; offline migration moves them. The interleave index is
/// the page index plus i_ino, and the model takes i_ino as 0 (a fresh guest's inode numbers are not modelled): the
/// per-node counts of an interleaved file are exact when its page count is a multiple of the policy's weight.
/// </summary>
internal sealed class Shmem
{
    private static readonly string[] Caller = ["shmem_alloc_folio", "shmem_alloc_and_acct_folio", "shmem_get_folio_gfp"];
    private readonly KernelContext _k;
    private readonly PageAlloc _alloc;
    private readonly MemFileTable _files;
    private readonly StateArray<ShmemPage> _pages;
    private readonly StateArray<SharedPolicyRange> _policies;

    public Shmem(KernelContext k, PageAlloc alloc)
    {
        _k = k;
        _alloc = alloc;
        _files = new MemFileTable(k.State, "tmpfs");
        _pages = new StateArray<ShmemPage>(k.State, "tmpfs page cache");
        _policies = new StateArray<SharedPolicyRange>(k.State, "tmpfs shared policies");
        alloc.PageMigrated += OnMigrated;
    }

    public bool Exists(string path) => _files.Find(path) >= 0;

    /// <summary>i_size of a file, or -1.</summary>
    public long Size(string path) => _files.Size(path);

    /// <summary>Pages of all tmpfs files on a node (NR_SHMEM, and NR_FILE_PAGES of tmpfs).</summary>
    public long PagesOnNode(int nid)
    {
        long n = 0;
        foreach (var p in _pages.Items) if (_k.ZoneById(p.ZoneId).NodeId == nid) n++;
        return n;
    }

    /// <summary>The node of each page of a file, by index (numactl --dump-nodes reads them with get_mempolicy()).</summary>
    public List<(long Index, int Node)> PageNodes(string path)
    {
        int f = _files.Find(path);
        var l = new List<(long, int)>();
        foreach (var p in _pages.Items)
            if (p.File == f) l.Add((p.Index, _k.ZoneById(p.ZoneId).NodeId));
        l.Sort();
        return l;
    }

    /// <summary>Models shmem_create() (open(O_CREAT)) of a missing file; then the file's id.</summary>
    public int Create(string path) => _files.Create(path);

    /// <summary>Models shmem_setattr() → shmem_truncate_range(): the pages from the new size on are freed.</summary>
    public void Truncate(int file, long sizeBytes, int cpu)
    {
        long keep = (sizeBytes + Page.Size - 1) / Page.Size;
        for (int i = _pages.Length - 1; i >= 0; i--)
        {
            var p = _pages[i];
            if (p.File != file || p.Index < keep) continue;
            _alloc.FreePages(p.Pfn, cpu);
            _pages.RemoveAt(i);
        }
        _files.SetSize(file, sizeBytes);
    }

    /// <summary>Models shmem_unlink() of the last link: the file's pages and shared policy go (shmem_evict_inode()).</summary>
    public bool Unlink(string path, int cpu)
    {
        int f = _files.Find(path);
        if (f < 0) return false;
        Truncate(f, 0, cpu);
        for (int i = _policies.Length - 1; i >= 0; i--) if (_policies[i].File == f) _policies.RemoveAt(i);
        _files.Unlink(f);
        return true;
    }

    /// <summary>Models shmem_set_policy() → mpol_set_shared_policy() → shared_policy_replace(): the range takes the
    /// new policy, the parts of older ranges outside it stay.</summary>
    public void SetPolicy(int file, long start, long end, in Mempolicy pol)
    {
        for (int i = _policies.Length - 1; i >= 0; i--)
        {
            var r = _policies[i];
            if (r.File != file || r.End <= start || r.Start >= end) continue;
            _policies.RemoveAt(i);
            if (r.Start < start) _policies.Add(r with { End = start });
            if (r.End > end) _policies.Add(r with { Start = end });
        }
        if (pol.Mode != MpolMode.Default) _policies.Add(new SharedPolicyRange { File = file, Start = start, End = end, Pol = pol });
    }

    /// <summary>Models mpol_shared_policy_lookup(): the policy of the range holding the index, if any.</summary>
    public bool TryGetPolicy(int file, long index, out Mempolicy pol)
    {
        foreach (ref readonly var r in _policies.Items)
            if (r.File == file && r.Start <= index && index < r.End) { pol = r.Pol; return true; }
        pol = default;
        return false;
    }

    /// <summary>Models shmem_get_folio_gfp() for a write or a fault at an index: the cached page, or a new one from
    /// shmem_alloc_folio() (GFP_HIGHUSER_MOVABLE, the shared policy of the index or else the task's). False when the
    /// allocation failed (-ENOMEM).</summary>
    public bool GetPage(int file, long index, in Mempolicy taskPolicy, int cpu, string comm)
    {
        foreach (var p in _pages.Items) if (p.File == file && p.Index == index) return true;
        var pol = TryGetPolicy(file, index, out var shared) ? shared : taskPolicy;
        var ctx = new AllocContext(cpu, comm, 1000, Caller);
        var page = MempolicyOps.AllocPage(_k, _alloc, Gfp.GfpHighUserMovable, pol, index, ctx);
        if (page is null) return false;
        _pages.Add(new ShmemPage(file, index, page.Pfn, page.Zone.Id));
        return true;
    }

    /// <summary>generic_perform_write() of whole pages from the start of the file: pages written before a failure stay,
    /// i_size grows to what was written. Returns the pages written.</summary>
    public long Write(int file, long pages, in Mempolicy taskPolicy, int cpu, string comm)
    {
        long done = 0;
        while (done < pages && GetPage(file, done, taskPolicy, cpu, comm)) done++;
        long end = done * Page.Size;
        if (end > _files.Size(file)) _files.SetSize(file, end);
        return done;
    }

    private void OnMigrated(long oldPfn, AllocatedPage target)
    {
        for (int i = 0; i < _pages.Length; i++)
            if (_pages[i].Pfn == oldPfn) { _pages.Mut(i) = _pages[i] with { Pfn = target.Pfn, ZoneId = target.Zone.Id }; return; }
    }
}
