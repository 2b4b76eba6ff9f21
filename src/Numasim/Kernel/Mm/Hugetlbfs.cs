using Numasim.Snapshots;

namespace Numasim.Kernel.Mm;

/// <summary>A hugetlbfs file: its name and i_size in bytes.</summary>
internal readonly record struct HugetlbfsFile(int NameIndex, long SizeBytes) : INamedRecord;

/// <summary>A page of a hugetlbfs file's page cache: file, index (in huge pages) and the huge page's head pfn.</summary>
internal readonly record struct HugetlbfsPage(int File, long Index, long Pfn);

/// <summary>
/// fs/hugetlbfs/inode.c for the files of one hugetlbfs mount of the default hstate (`mount -t hugetlbfs none
/// /dev/hugepages`: no size= or min_size=, so no subpool limits it): fallocate(2) puts pages in use in a file's page
/// cache, unlink gives them back; a page the offline of its memory block migrates stays in the file at its new place.
/// </summary>
internal sealed class Hugetlbfs
{
    /// <summary>Where the guest mounts it (the scenario's files live under it).</summary>
    public const string MountPoint = "/dev/hugepages/";

    private readonly KernelContext _k;
    private readonly Hugetlb _h;
    private readonly StateStrings _names;
    private readonly StateArray<HugetlbfsFile> _files;
    private readonly StateArray<HugetlbfsPage> _pages;

    public Hugetlbfs(KernelContext k, Hugetlb h)
    {
        _k = k;
        _h = h;
        _names = new StateStrings(k.State, "hugetlbfs file names");
        _files = new StateArray<HugetlbfsFile>(k.State, "hugetlbfs files");
        _pages = new StateArray<HugetlbfsPage>(k.State, "hugetlbfs page cache");
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
        int f = Create(path);
        long hpage = Page.Size << Hugetlb.Order;
        long start = offset / hpage, end = (offset + len + hpage - 1) / hpage;
        for (long index = start; index < end; index++)
        {
            if (Find(f, index) >= 0) continue; // find_get_page(): already there
            if (_h.AllocHugePage(pol, index, cpu) is not { } page) return _k.Trace.Fail(Errno.ENOSPC, $"no huge page for index {index}");
            _pages.Add(new HugetlbfsPage(f, index, page.Pfn));
        }
        if (offset + len > _files[f].SizeBytes) _files.Mut(f) = _files[f] with { SizeBytes = offset + len };
        return Errno.None;
    }

    /// <summary>Models the unlink of a file's last link: hugetlbfs_evict_inode() → remove_inode_hugepages() puts every
    /// page in index order (free_huge_page()); false when the file does not exist.</summary>
    public bool Unlink(string path)
    {
        int f = _files.IndexOfName(_names, path);
        if (f < 0) return false;
        while (true)
        {
            int next = -1;
            for (int i = 0; i < _pages.Length; i++)
                if (_pages[i].File == f && (next < 0 || _pages[i].Index < _pages[next].Index)) next = i;
            if (next < 0) break;
            long pfn = _pages[next].Pfn;
            _pages.RemoveAt(next);
            _h.PutHugePage(pfn);
        }
        // the slot stays (the other files' pages refer to theirs by id), with a name no path has
        _files.Mut(f) = new HugetlbfsFile(_names.Intern("\0unlinked"), 0);
        return true;
    }

    private int Create(string path)
    {
        int f = _files.IndexOfName(_names, path);
        return f >= 0 ? f : _files.Add(new HugetlbfsFile(_names.Intern(path), 0));
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
