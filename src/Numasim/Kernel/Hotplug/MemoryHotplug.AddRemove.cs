using Numasim.Kernel.Drivers;
using Numasim.Kernel.Mm;
using Numasim.Kernel.Numa;

namespace Numasim.Kernel.Hotplug;

/// <summary>Flags of add_memory() (include/linux/memory_hotplug.h MHP_*).</summary>
[Flags]
public enum MhpFlags
{
    None = 0,
    /// <summary>MHP_MERGE_RESOURCE: the resource may merge with neighbours ("System RAM (virtio_mem)").</summary>
    MergeResource = 1,
    /// <summary>MHP_MEMMAP_ON_MEMORY: the memmap may live in the added memory.</summary>
    MemmapOnMemory = 2,
    /// <summary>MHP_NID_IS_MGID: the nid argument is a memory group id.</summary>
    NidIsMgid = 4,
}

/// <summary>Adding and removing memory: add_memory_resource(), try_remove_memory(), offline_and_remove_memory(),
/// and online_pages_range() with its online_page_callback (mm/memory_hotplug.c, v6.1/v6.12).</summary>
public sealed partial class MemoryHotplug
{
    /// <summary>online_page_callback as set_online_page_callback() set it (virtio-mem): given a range being onlined,
    /// the parts to hand to the buddy with generic_online_page(); the rest stays fake-offline. Null: everything.</summary>
    internal Func<long, long, IEnumerable<(long Start, long End)>>? OnlinePageCallback { get; set; }

    /// <summary>Models online_pages_range(): every page of the range is present in the zone; the callback decides
    /// which reach the buddy (generic_online_page() → __free_pages_core(), totalram_pages_add()).</summary>
    private void OnlinePagesRange(Zone zone, long start, long nr)
    {
        if (OnlinePageCallback is not { } cb)
        {
            GenericOnlinePages(zone, start, start + nr);
            return;
        }
        foreach (var (s, e) in cb(start, start + nr)) GenericOnlinePages(zone, s, e);
    }

    /// <summary>Pages a memory notifier gave up for the offlining under way (virtio-mem's fake-offline pages once
    /// virtio_mem_fake_offline_going_offline() dropped their reference): PageOffline with a zero refcount, which
    /// test_pages_isolated() and __offline_isolated_pages() skip. Emptied when the offlining ends either way.</summary>
    internal List<(long Start, long End)> OfflineSkipped { get; } = [];

    /// <summary>Models test_pages_isolated(MEMORY_OFFLINE): every page free in the buddy, or skipped (PageOffline, no ref).</summary>
    private Errno TestPagesIsolated(ZonePageAllocator pages, long start, long end, out long badPfn)
    {
        badPfn = -1;
        foreach (var (s, e) in NotSkipped(start, end))
        {
            var err = pages.TestPagesIsolated(s, e, out badPfn);
            if (err != Errno.None) return err;
        }
        return Errno.None;
    }

    /// <summary>Models __offline_isolated_pages(): the free pages leave the buddy; skipped pages just stay out. Returns
    /// how many left the buddy (what offline_pages() takes from the managed count in v6.12, and in effect in v6.1,
    /// which first gave the skipped ones back to it).</summary>
    private long OfflineIsolatedPages(ZonePageAllocator pages, long start, long end)
    {
        long n = 0;
        foreach (var (s, e) in NotSkipped(start, end)) n += pages.OfflineIsolated(s, e);
        OfflineSkipped.Clear();
        return n;
    }

    private IEnumerable<(long, long)> NotSkipped(long start, long end)
    {
        long cur = start;
        foreach (var (s, e) in OfflineSkipped.Where(r => r.End > start && r.Start < end).OrderBy(r => r.Start))
        {
            if (s > cur) yield return (cur, s);
            cur = Math.Max(cur, e);
        }
        if (cur < end) yield return (cur, end);
    }

    /// <summary>Models generic_online_page() over [start, end): the pages join the buddy and the managed count.</summary>
    internal static void GenericOnlinePages(Zone zone, long start, long end)
    {
        if (end <= start) return;
        zone.ManagedPages += end - start;
        zone.ReleaseRange(start, end, initPageblocks: true);
    }

    /// <summary>Models alloc_contig_range(start, end, MIGRATE_MOVABLE) as virtio-mem uses it: the pageblocks are
    /// isolated (an unmovable page outside ZONE_MOVABLE refuses), movable pages migrated away, and the then free
    /// range taken out of the buddy and the managed count (adjust_managed_page_count()). EBUSY, changing nothing,
    /// when that fails.</summary>
    internal Errno AllocContigRange(Zone zone, long start, long end)
    {
        var pages = zone.Pages;
        pages.DrainPcp();
        var err = pages.Isolate(start, end, out _, checkUnmovable: true, zoneIsMovable: zone.Type == ZoneType.Movable);
        if (err != Errno.None) return err;
        if (MigrateRange is not null) err = MigrateRange(zone, start, end);
        if (err == Errno.None) err = pages.TestPagesIsolated(start, end, out _);
        if (err != Errno.None)
        {
            pages.UndoIsolate(start, end);
            return Errno.EBUSY;
        }
        zone.ManagedPages -= pages.OfflineIsolated(start, end);
        pages.UndoIsolate(start, end);
        return Errno.None;
    }

    /// <summary>Models mhp_supports_memmap_on_memory(): memory_hotplug.memmap_on_memory on, the memmap of one block a
    /// whole number of PMDs (2 MiB) and of pageblocks, leaving memory to online; v6.1 also wants the range to be
    /// exactly one block (<paramref name="size"/>), v6.12 checks the per-block layout ("force" rounds it up).</summary>
    public bool MhpSupportsMemmapOnMemory(ulong size)
    {
        if (!_k.MhpParams.Exist || _k.MhpParams.MemmapOnMemory == MemmapOnMemoryMode.Disable) return false;
        ulong block = _k.MemoryBlockSize;
        ulong vmemmapSize = (block >> Page.Shift) * (ulong)Page.StructPageSize;
        const ulong pmd = 2UL << 20, pageblockBytes = (ulong)Page.PageblockNrPages << Page.Shift;
        if (!_k.Profile.MemmapOnMemoryPerBlock)
            return size == block && vmemmapSize % pmd == 0 && (size - vmemmapSize) % pageblockBytes == 0;
        if (vmemmapSize % (ulong)Page.Size != 0) return false;
        long memmapPages = MemoryBlockMemmapOnMemoryPages();
        if (memmapPages % Page.PageblockNrPages != 0) return false;
        if (memmapPages == (long)(block >> Page.Shift)) return false;
        return vmemmapSize % pmd == 0;
    }

    /// <summary>Models memory_block_memmap_on_memory_pages() (v6.12): the block's struct pages in pages, rounded up to
    /// pageblocks in "force" mode. In v6.1, PFN_UP of the memmap size.</summary>
    private long MemoryBlockMemmapOnMemoryPages()
    {
        long pages = (long)(_k.MemoryBlockSize >> Page.Shift);
        long memmap = (pages * Page.StructPageSize + Page.Size - 1) >> Page.Shift;
        if (_k.MhpParams.MemmapOnMemory == MemmapOnMemoryMode.Force)
            memmap = (memmap + Page.PageblockNrPages - 1) / Page.PageblockNrPages * Page.PageblockNrPages;
        return memmap;
    }

    /// <summary>Models add_memory_resource() for [start, start + size): check_hotplug_memory_range(), the memory group
    /// (MHP_NID_IS_MGID), __try_online_node(nid, false), the memory blocks (offline, with their memmap at their start
    /// when memmap_on_memory applies), the new node set online and registered, the blocks linked under it, and
    /// auto-onlining as auto_online_blocks says. <paramref name="deviceId"/> names an ACPI memory device (its
    /// firmware_node link, to PNP0C80:<paramref name="acpiSlot"/>); null for driver-managed memory. A block
    /// <paramref name="onlineTypeOf"/> names is onlined as it says (a DIMM present at boot with its blocks' states).</summary>
    public Errno AddMemoryResource(int nid, ulong start, ulong size, MhpFlags flags, string? deviceId, int acpiSlot = 0,
        Func<long, OnlineType?>? onlineTypeOf = null)
    {
        using var call = _k.Trace.Call("add_memory_resource", "mm/memory_hotplug.c", $"[mem 0x{start:x}-0x{start + size - 1:x}], {((flags & MhpFlags.NidIsMgid) != 0 ? "memory group" : "node")} {nid}, {flags}");
        long startPfn = Page.PfnOf(start), nr = Page.PfnOf(size);
        long ppb = _k.PagesPerBlock;
        if (size == 0 || startPfn % ppb != 0 || nr % ppb != 0)
        {
            _k.Log.Printk($"Block size [{_k.MemoryBlockSize:x}] unaligned hotplug range: start {start:x}, size {size:x}");
            return _k.Trace.Fail(Errno.EINVAL, $"the range is not aligned to the memory block size ({_k.MemoryBlockSize >> 20} MiB; check_hotplug_memory_range())");
        }
        MemoryGroup? group = null;
        if ((flags & MhpFlags.NidIsMgid) != 0)
        {
            group = _k.MemoryGroups.Find(nid);
            if (group is null) return _k.Trace.Fail(Errno.EINVAL, $"no memory group {nid}");
            nid = group.Nid;
        }
        if (!_k.NodeStates.Has(nid, NodeState.Possible))
        {
            _k.Log.Printk($"node {nid} was absent from the node_possible_map");
            return _k.Trace.Fail(Errno.EINVAL, $"node {nid} is not possible");
        }
        // register_memory_resource(): mem= limits only what boot adds (system_state < SYSTEM_RUNNING).
        for (long pfn = startPfn; pfn < startPfn + nr; pfn += ppb)
            if (_k.FindMemoryBlock(pfn / ppb) is not null) return _k.Trace.Fail(Errno.EEXIST, $"memory{pfn / ppb} exists already");
        bool newNode = _nodeHotplug.TryOnlineNode(nid, setNodeOnline: false) == 1;
        long vmemmap = 0;
        if ((flags & MhpFlags.MemmapOnMemory) != 0 && MhpSupportsMemmapOnMemory(size))
            vmemmap = MemoryBlockMemmapOnMemoryPages();
        else if ((flags & MhpFlags.MemmapOnMemory) != 0 && !_k.Profile.MemmapOnMemoryPerBlock)
            return _k.Trace.Fail(Errno.EINVAL, "MHP_MEMMAP_ON_MEMORY asked for, and this size does not support it");   // v6.1
        var blocks = new List<MemoryBlock>();
        for (long pfn = startPfn; pfn < startPfn + nr; pfn += ppb)
        {
            var mb = new MemoryBlock(pfn / ppb, pfn, ppb, nid, hotplugged: true)
            {
                PresentPages = ppb,
                DeviceId = deviceId,
                AcpiSlot = acpiSlot,
                Group = group,
                // v6.1 has one altmap for the whole (single-block) range; v6.12 one per block.
                NrVmemmapPages = vmemmap,
            };
            _devices.AddMemoryBlock(mb);
            blocks.Add(mb);
        }
        _k.Trace.Change($"memory{blocks[0].Id}-memory{blocks[^1].Id} added offline on node {nid} (create_memory_block_devices()){(vmemmap > 0 ? $", {vmemmap} memmap pages at each block's start" : "")}");
        if (newNode)
        {
            _k.Trace.Change($"node_states[N_ONLINE] += node {nid} and __register_one_node({nid}): a new node");
            _k.NodeStates.Set(nid, NodeState.Online);
            _nodes.RegisterOneNode(nid);
        }
        else
        {
            foreach (var mb in blocks) _nodes.LinkMemoryBlock(mb, nid);
        }
        _k.Trace.Decide(_k.DefaultOnlineType == OnlineType.Offline, $"auto_online_blocks = {MemoryDevices.OnlineTypeName(_k.DefaultOnlineType)}: the blocks stay offline",
            $"auto_online_blocks = {MemoryDevices.OnlineTypeName(_k.DefaultOnlineType)}: online_memory_block() for each");
        foreach (var mb in blocks)
        {
            var type = onlineTypeOf?.Invoke(mb.Id) ?? _k.DefaultOnlineType;
            if (type != OnlineType.Offline) Online(mb, type);
        }
        return Errno.None;
    }

    /// <summary>Models try_remove_memory(): every block offline (else -EBUSY, "removing memory fails, because memory
    /// [...] is onlined"), then the blocks go and try_offline_node() runs.</summary>
    public Errno RemoveMemory(ulong start, ulong size)
    {
        using var call = _k.Trace.Call("try_remove_memory", "mm/memory_hotplug.c", $"[mem 0x{start:x}-0x{start + size - 1:x}]");
        var blocks = BlocksIn(start, size);
        foreach (var mb in blocks)
        {
            if (mb.State == MemoryBlockState.Offline) continue;
            ulong b = Page.AddrOf(mb.StartPfn);
            _k.Log.Printk($"removing memory fails, because memory [0x{b:x16}-0x{b + _k.MemoryBlockSize - 1:x16}] is onlined");
            return _k.Trace.Fail(Errno.EBUSY, $"memory{mb.Id} is online");
        }
        if (blocks.Count == 0) return Errno.None;
        int nid = blocks[0].Nid;
        _k.Trace.Change($"memory{blocks[0].Id}-memory{blocks[^1].Id} removed (remove_memory_block_devices())");
        foreach (var mb in blocks)
        {
            if (!_k.Profile.Fixfeee6b298916) RemoveZoneOnRemove(mb);
            _nodes.UnlinkMemoryBlock(mb);
            _devices.RemoveMemoryBlock(mb);
        }
        _nodeHotplug.TryOfflineNode(nid);
        return Errno.None;
    }

    /// <summary>Models __remove_pages() → __remove_zone() before feee6b298916: the zone of the range's first page shrinks
    /// when the memory is removed rather than when it went offline. The memmap of offline memory still names the zone it
    /// was onlined to: each zone of the node that spans the block shrinks as shrink_zone_span() does.</summary>
    private void RemoveZoneOnRemove(MemoryBlock mb)
    {
        var p = _k.NodeDataOf(mb.Nid);
        if (p is null) return;
        foreach (var z in p.Zones)
            if (!z.IsEmpty && mb.StartPfn < z.ZoneEndPfn && mb.EndPfn > z.ZoneStartPfn) RemovePfnRangeFromZone(z, mb.StartPfn, mb.EndPfn);
        p.RecomputeSpan();
    }

    /// <summary>Models offline_and_remove_memory(): offlines each online block (remembering whether it was MOVABLE);
    /// when one refuses, the ones offlined are onlined again to their kind of zone and the error returned; else the
    /// memory is removed.</summary>
    public Errno OfflineAndRemoveMemory(ulong start, ulong size)
    {
        var blocks = BlocksIn(start, size);
        var offlined = new List<(MemoryBlock Block, OnlineType Type)>();
        foreach (var mb in blocks)
        {
            if (mb.State == MemoryBlockState.Offline) continue;
            var type = mb.Zone?.Type == ZoneType.Movable ? OnlineType.OnlineMovable : OnlineType.OnlineKernel;
            var err = Offline(mb);
            if (err != Errno.None)
            {
                foreach (var (b, t) in offlined) Online(b, t);
                return err;
            }
            offlined.Add((mb, type));
        }
        return RemoveMemory(start, size);
    }

    private List<MemoryBlock> BlocksIn(ulong start, ulong size)
    {
        long s = Page.PfnOf(start), e = Page.PfnOf(start + size);
        return _k.AllMemoryBlocks.Where(mb => mb.StartPfn >= s && mb.EndPfn <= e).ToList();
    }
}
