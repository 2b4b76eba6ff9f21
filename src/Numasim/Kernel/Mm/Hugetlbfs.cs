using Numasim.Snapshots;

namespace Numasim.Kernel.Mm;

/// <summary>A page of a hugetlbfs file's page cache: file, index (in huge pages) and the huge page's head pfn.</summary>
internal readonly record struct HugetlbfsPage(int File, long Index, long Pfn);

/// <summary>An index of a file's reserve map (inode->i_mapping's resv_map): reserved by a shared mmap() or allocated.</summary>
internal readonly record struct HugetlbfsResv(int File, long Index);

/// <summary>
/// fs/hugetlbfs/inode.c for the files of one hugetlbfs mount of the default hstate (`mount -t hugetlbfs none
/// /dev/hugepages`: no size= or min_size=, so no subpool limits it): a shared mmap() reserves the range's pages in the
/// file's reserve map, fallocate(2) and faults put pages in use in its page cache (consuming a reservation where the
/// map has one), unlink gives both back; a page the offline of its memory block migrates stays in the file.
/// </summary>
internal sealed class Hugetlbfs
{
    /// <summary>Where the guest mounts it (the scenario's files live under it).</summary>
    public const string MountPoint = "/dev/hugepages/";

    private readonly KernelContext _k;
    private readonly Hugetlb _h;
    private readonly MemFileTable _files;
    private readonly StateArray<HugetlbfsPage> _pages;
    private readonly StateArray<HugetlbfsResv> _resvMap;

    public Hugetlbfs(KernelContext k, Hugetlb h)
    {
        _k = k;
        _h = h;
        _files = new MemFileTable(k.State, "hugetlbfs");
        _pages = new StateArray<HugetlbfsPage>(k.State, "hugetlbfs page cache");
        _resvMap = new StateArray<HugetlbfsResv>(k.State, "hugetlbfs reserve maps");
        h.HugePageMigrated += OnMigrated;
    }

    /// <summary>Whether a path names a file of the mount.</summary>
    public static bool IsOnMount(string path) => path.StartsWith(MountPoint, StringComparison.Ordinal) && path.Length > MountPoint.Length;

    /// <summary>Models hugetlbfs_fallocate(file, 0, offset, len) on a file open(O_CREAT)ed first: each huge page index of
    /// the range not yet in the page cache gets alloc_huge_page() with the task's policy (the file has no shared policy:
    /// hugetlb_set_vma_policy() finds none); the first failure ends the call with its error, the pages allocated before
    /// it staying; i_size grows to offset + len on success.</summary>
    public Errno Fallocate(string path, long offset, long len, in Mempolicy pol, int cpu)
    {
        if (_h.Default.IsGigantic) throw new NotSupportedException("hugetlbfs files of the 1 GiB hstate are not modelled");
        if (offset < 0 || len <= 0) return Errno.EINVAL; // vfs_fallocate()
        using var call = _k.Trace.Call("hugetlbfs_fallocate", "fs/hugetlbfs/inode.c", $"{path}, offset {offset}, length {len}");
        int f = _files.Create(path);
        long hpage = Page.Size << Hugetlb.Order;
        long start = offset / hpage, end = (offset + len + hpage - 1) / hpage;
        for (long index = start; index < end; index++)
        {
            if (Find(f, index) >= 0) continue; // find_get_page(): already there
            if (!AddPage(f, index, pol, cpu)) return _k.Trace.Fail(Errno.ENOSPC, $"no huge page for index {index}");
        }
        if (offset + len > _files.Size(f)) _files.SetSize(f, offset + len);
        return Errno.None;
    }

    /// <summary>alloc_huge_page() for an index (a reservation consumed where the map has the index), then
    /// hugetlb_add_to_page_cache() and vma_commit_reservation() (region_add(): the index joins the map).</summary>
    private bool AddPage(int f, long index, in Mempolicy pol, int cpu)
    {
        bool reserved = InResvMap(f, index);
        if (_h.AllocHugePage(pol, index, cpu, reserved) is not { } page) return false;
        _pages.Add(new HugetlbfsPage(f, index, page.Pfn));
        if (!reserved) _resvMap.Add(new HugetlbfsResv(f, index));
        return true;
    }

    private bool InResvMap(int f, long index)
    {
        foreach (var r in _resvMap.Items) if (r.File == f && r.Index == index) return true;
        return false;
    }

    /// <summary>Models hugetlbfs_setattr() growing a file (ftruncate()): a size that is not a multiple of the huge page
    /// size is -EINVAL; growing allocates and reserves nothing. Creates the file (open(O_CREAT)) first.</summary>
    public Errno Truncate(string path, long size)
    {
        if ((size & ((Page.Size << Hugetlb.Order) - 1)) != 0) return Errno.EINVAL;
        int f = _files.Create(path);
        if (size < _files.Size(f)) throw new NotSupportedException("shrinking a hugetlbfs file (hugetlb_vmtruncate()) is not modelled");
        _files.SetSize(f, size);
        return Errno.None;
    }

    /// <summary>i_size of a file, or -1.</summary>
    public long Size(string path) => _files.Size(path);

    /// <summary>Models mmap(MAP_SHARED) of a file → hugetlbfs_file_mmap(): an offset or a length that is not huge page
    /// aligned is -EINVAL (hugetlb_get_unmapped_area()); hugetlb_reserve_pages() then reserves the range's indices not yet
    /// in the reserve map (region_chg()) with hugetlb_acct_memory(), -ENOMEM when it cannot, and region_add()s them.</summary>
    public Errno MmapShared(string path, long offset, long len, int cpu)
    {
        long hpage = Page.Size << Hugetlb.Order;
        if (len <= 0 || (len & (hpage - 1)) != 0 || (offset & (hpage - 1)) != 0) return Errno.EINVAL;
        using var call = _k.Trace.Call("hugetlb_reserve_pages", "mm/hugetlb.c", $"{path}, offset {offset}, length {len}");
        int f = _files.Create(path);
        long from = offset / hpage, to = from + len / hpage, chg = 0;
        for (long i = from; i < to; i++) if (!InResvMap(f, i)) chg++;
        var err = _h.AcctMemory(chg, cpu);
        if (err != Errno.None) return err;
        for (long i = from; i < to; i++) if (!InResvMap(f, i)) _resvMap.Add(new HugetlbfsResv(f, i));
        return Errno.None;
    }

    /// <summary>Models hugetlb_fault() → hugetlb_no_page() of a shared mapping at an index: the cached page, or a new one
    /// with the mapping's policy (its vma policy from mbind()); false is VM_FAULT_SIGBUS.</summary>
    public bool Fault(string path, long index, in Mempolicy vmaPolicy, int cpu)
    {
        int f = _files.Find(path);
        if (f < 0) throw new InvalidOperationException($"BUG: no hugetlbfs file {path}");
        return Find(f, index) >= 0 || AddPage(f, index, vmaPolicy, cpu);
    }

    /// <summary>Models the unlink of a file's last link: hugetlbfs_evict_inode() → remove_inode_hugepages() puts every
    /// page in index order (free_huge_page()), then hugetlb_unreserve_pages() gives back the reservations no page used
    /// (region_del() of the whole map minus the pages freed); false when the file does not exist.</summary>
    public bool Unlink(string path, int cpu = 0)
    {
        int f = _files.Find(path);
        if (f < 0) return false;
        long freed = 0;
        while (true)
        {
            int next = -1;
            for (int i = 0; i < _pages.Length; i++)
                if (_pages[i].File == f && (next < 0 || _pages[i].Index < _pages[next].Index)) next = i;
            if (next < 0) break;
            long pfn = _pages[next].Pfn;
            _pages.RemoveAt(next);
            _h.PutHugePage(pfn);
            freed++;
        }
        long chg = 0;
        for (int i = _resvMap.Length - 1; i >= 0; i--)
            if (_resvMap[i].File == f) { _resvMap.RemoveAt(i); chg++; }
        _h.AcctMemory(-(chg - freed), cpu);
        _files.Unlink(f);
        return true;
    }

    private int Find(int file, long index)
    {
        var items = _pages.Items;
        for (int i = 0; i < items.Length; i++) if (items[i].File == file && items[i].Index == index) return i;
        return -1;
    }

    private void OnMigrated(long oldPfn, HugePage target)
    {
        for (int i = 0; i < _pages.Length; i++)
            if (_pages[i].Pfn == oldPfn) { _pages.Mut(i) = _pages[i] with { Pfn = target.Pfn }; return; }
    }
}
