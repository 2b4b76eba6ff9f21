using Numasim.Kernel.Hotplug;
using Numasim.Kernel.Mm;

namespace Numasim.Kernel.Drivers;

/// <summary>virtio_mem's memory notifier, online_page callback and fake-offline helpers (drivers/virtio/virtio_mem.c).
/// "Fake-offline" pages belong to an online memory block but not to the buddy: never onlined (unplugged when the
/// block came online) or taken back with alloc_contig_range() to be unplugged.</summary>
public sealed partial class VirtioMem
{
    /// <summary>Models virtio_mem_memory_notifier_cb(): only ranges overlapping the device; SBM tracks per-block
    /// online/offline states and refuses to online a block it does not expect; offline and online change the
    /// offline-size budget, and onlining half the threshold queues more plugging.</summary>
    internal Errno MemoryNotifierCb(MemoryAction action, MemoryNotify mhp)
    {
        ulong start = Page.AddrOf(mhp.StartPfn), size = Page.AddrOf(mhp.NrPages);
        if (!Overlaps(start, size)) return Errno.None;
        long id = InSbm ? (long)(start / BlockSize) : (long)(start / BbSize);
        switch (action)
        {
            case MemoryAction.GoingOffline:
                if (InSbm) SbmNotifyGoingOffline(id);
                else BbmNotifyGoingOffline(id, mhp.StartPfn, mhp.NrPages);
                return Errno.None;
            case MemoryAction.GoingOnline:
                if (InSbm && !SbmNotifyGoingOnline(id)) return Errno.EPERM;   // NOTIFY_BAD
                return Errno.None;
            case MemoryAction.Offline:
                if (InSbm) SbmNotifyOffline(id);
                OfflineSize += size;
                if (!Module.UnplugOnline) Retry();
                return Errno.None;
            case MemoryAction.Online:
                if (InSbm) SbmNotifyOnline(id, mhp.StartPfn);
                OfflineSize -= size;
                if (!WqActive && CouldAddMemory(OfflineThreshold / 2)) Retry();
                return Errno.None;
            case MemoryAction.CancelOffline:
                if (InSbm) SbmNotifyCancelOffline(id);
                else BbmNotifyCancelOffline(id, mhp.StartPfn, mhp.NrPages);
                return Errno.None;
            default:
                return Errno.None;
        }
    }

    /// <summary>Models virtio_mem_online_page(): the parts of [startPfn, endPfn) that go to the buddy. SBM: the
    /// plugged sub-blocks; BBM: everything unless the big block is being unplugged (fake-offline).</summary>
    internal IEnumerable<(long Start, long End)> OnlinePages(long startPfn, long endPfn)
    {
        if (!InSbm)
        {
            if (BbState(BbIdOfPfn(startPfn)) != BbmState.FakeOffline) yield return (startPfn, endPfn);
            yield break;
        }
        long sbPages = Page.PfnOf(SbSize);
        long runStart = -1;
        for (long pfn = startPfn; pfn < endPfn; pfn += sbPages)
        {
            long mb = (long)(Page.AddrOf(pfn) / BlockSize);
            int sb = (int)((Page.AddrOf(pfn) - (ulong)mb * BlockSize) / SbSize);
            bool plugged = SbPlugged(mb, sb, 1);
            if (plugged && runStart < 0) runStart = pfn;
            else if (!plugged && runStart >= 0)
            {
                yield return (runStart, pfn);
                runStart = -1;
            }
        }
        if (runStart >= 0) yield return (runStart, endPfn);
    }

    /// <summary>The zone an online pfn of the device lies in (page_zone(pfn_to_online_page())); null when offline.
    /// A block going offline is still online here: its sections go offline only at the end of offline_pages().</summary>
    private Zone? OnlineZoneOf(long pfn) =>
        _k.FindMemoryBlock(pfn / _k.PagesPerBlock) is { State: not MemoryBlockState.Offline } mb ? mb.Zone : null;

    /// <summary>Models virtio_mem_fake_offline(): alloc_contig_range() of the range (5 tries on ZONE_MOVABLE); the pages
    /// leave the buddy and the managed count. -EBUSY when something there cannot be migrated.</summary>
    private Errno FakeOffline(long pfn, long nrPages)
    {
        if (_k.Profile.VirtioMemRetriesUnpluggedBlocks && ConfigChangedFlag) return Errno.EAGAIN;
        var zone = OnlineZoneOf(pfn);
        if (zone is null) return Errno.EBUSY;
        return _mhp.AllocContigRange(zone, pfn, pfn + nrPages) == Errno.None ? Errno.None : Errno.EBUSY;
    }

    /// <summary>Models virtio_mem_fake_online(): fake-offline pages go (back) to the buddy: generic_online_page() for
    /// never-onlined ones, free_contig_range() + adjust_managed_page_count() for allocated ones — the same here.</summary>
    private void FakeOnline(long pfn, long nrPages)
    {
        var zone = OnlineZoneOf(pfn);
        if (zone is not null) MemoryHotplug.GenericOnlinePages(zone, pfn, pfn + nrPages);
    }

    /// <summary>Models virtio_mem_fake_offline_going_offline(): before the block's memory goes offline, its fake-offline
    /// pages drop their reference, so that offlining skips them (PageOffline with a zero refcount).</summary>
    private void FakeOfflineGoingOffline(long pfn, long nrPages) => _mhp.OfflineSkipped.Add((pfn, pfn + nrPages));

    /// <summary>Models virtio_mem_fake_offline_cancel_offline(): offlining failed; the pages take their reference back
    /// and stay fake-offline (they never left the driver).</summary>
    private void FakeOfflineCancelOffline(long pfn, long nrPages) => _mhp.OfflineSkipped.Remove((pfn, pfn + nrPages));
}
