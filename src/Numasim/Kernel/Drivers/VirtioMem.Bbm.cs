using Numasim.Kernel.Mm;

namespace Numasim.Kernel.Drivers;

/// <summary>enum virtio_mem_bbm_bb_state: a Big Block's state in Big Block Mode.</summary>
public enum BbmState : byte { Unused, Plugged, Added, FakeOffline }

/// <summary>Big Block Mode (drivers/virtio/virtio_mem.c): device blocks at least a memory block big are plugged,
/// added and removed whole (bbm_safe_unplug: fake-offline everything first, always so in v6.12).</summary>
public sealed partial class VirtioMem
{
    // Big block states in the driver's map: kind 2.
    private long BbKey(long bbId) => Key(2, bbId - FirstBbId);

    /// <summary>The state of big block <paramref name="bbId"/>.</summary>
    public BbmState BbState(long bbId) => (BbmState)_blocks[BbKey(bbId)];

    private void SetBbState(long bbId, BbmState s) => _blocks[BbKey(bbId)] = (ulong)s;

    private long BbIdOfPfn(long pfn) => (long)(Page.AddrOf(pfn) / BbSize);

    private ulong BbAddr(long bb) => (ulong)bb * BbSize;

    private List<long> BbsIn(BbmState s, bool reverse = false)
    {
        var ids = new List<long>();
        for (long id = FirstBbId; id < NextBbId; id++)
            if (BbState(id) == s) ids.Add(id);
        if (reverse) ids.Reverse();
        return ids;
    }

    /// <summary>The BBM part of virtio_mem_init_hotplug(): big blocks of max(device block, memory block), or
    /// bbm_block_size when it is a larger power of two; the threshold allows two of them.</summary>
    private void BbmInit()
    {
        BbSize = Math.Max(DeviceBlockSize, BlockSize);
        ulong p = Module.BbmBlockSize;
        if (p != 0)
        {
            if ((p & (p - 1)) != 0) Info("bbm_block_size is not a power of 2");
            else if (p < BbSize) Info("bbm_block_size is too small");
            else BbSize = p;
        }
        ulong addr = Addr + BbSize - 1;
        FirstBbId = NextBbId = (long)(addr / BbSize);
        OfflineThreshold = Math.Max(2 * BbSize, OfflineThreshold);
    }

    /// <summary>Models virtio_mem_bbm_plug_and_add_bb(): plug the big block, mark it added, add it to Linux; a failed
    /// add unplugs it again (or leaves it plugged for a later cleanup).</summary>
    private Errno PlugAndAddBb(long bb)
    {
        if (BbState(bb) != BbmState.Unused) return Errno.EINVAL;
        var rc = SendPlugRequest(BbAddr(bb), BbSize);
        if (rc != Errno.None) return rc;
        SetBbState(bb, BbmState.Added);
        rc = AddMemory(BbAddr(bb), BbSize);
        if (rc != Errno.None)
            SetBbState(bb, SendUnplugRequest(BbAddr(bb), BbSize) == Errno.None ? BbmState.Unused : BbmState.Plugged);
        return rc;
    }

    /// <summary>Models virtio_mem_bbm_plug_request(): unused big blocks first, then new ones, within the threshold.</summary>
    private Errno BbmPlugRequest(ulong diff)
    {
        ulong nbBb = diff / BbSize;
        if (nbBb == 0) return Errno.None;
        foreach (var bb in BbsIn(BbmState.Unused))
        {
            if (!CouldAddMemory(BbSize)) return Errno.ENOSPC;
            var rc = PlugAndAddBb(bb);
            if (rc == Errno.None) nbBb--;
            if (rc != Errno.None || nbBb == 0) return rc;
        }
        while (nbBb > 0)
        {
            if (!CouldAddMemory(BbSize)) return Errno.ENOSPC;
            if (NextBbId > LastUsableBbId) return Errno.ENOSPC;
            long bb = NextBbId++;
            var rc = PlugAndAddBb(bb);
            if (rc != Errno.None) return rc;
            nbBb--;
        }
        return Errno.None;
    }

    /// <summary>Whether every memory block of the big block is offline (virtio_mem_bbm_bb_is_offline()) or
    /// online only in ZONE_MOVABLE (virtio_mem_bbm_bb_is_movable()).</summary>
    private bool BbAll(long bb, Func<MemoryBlock, bool> test)
    {
        long first = Page.PfnOf(BbAddr(bb)) / _k.PagesPerBlock, n = (long)(BbSize / BlockSize);
        for (long id = first; id < first + n; id++)
            if (_k.FindMemoryBlock(id) is { } mb && !test(mb)) return false;
        return true;
    }

    /// <summary>Models virtio_mem_bbm_offline_remove_and_unplug_bb(): fake-offline every online section (a busy one rolls
    /// back with -EBUSY), offline and remove the memory, then unplug.</summary>
    private Errno OfflineRemoveAndUnplugBb(long bb)
    {
        if (BbState(bb) != BbmState.Added) return Errno.EINVAL;
        long start = Page.PfnOf(BbAddr(bb)), end = start + Page.PfnOf(BbSize);
        SetBbState(bb, BbmState.FakeOffline);
        var done = new List<long>();
        Errno rc = Errno.None;
        for (long pfn = start; pfn < end; pfn += Page.PagesPerSection)
        {
            if (OnlineZoneOf(pfn) is null) continue;
            rc = FakeOffline(pfn, Page.PagesPerSection);
            if (rc != Errno.None) break;
            done.Add(pfn);
        }
        if (rc == Errno.None)
        {
            rc = OfflineAndRemoveMemory(BbAddr(bb), BbSize);
            if (rc == Errno.None)
            {
                rc = SendUnplugRequest(BbAddr(bb), BbSize);
                SetBbState(bb, rc == Errno.None ? BbmState.Unused : BbmState.Plugged);
                return rc;
            }
        }
        foreach (var pfn in done) FakeOnline(pfn, Page.PagesPerSection);
        SetBbState(bb, BbmState.Added);
        return rc;
    }

    /// <summary>Models virtio_mem_bbm_unplug_request(): offline big blocks first, then movable ones, then any,
    /// highest first; busy ones are skipped.</summary>
    private Errno BbmUnplugRequest(ulong diff)
    {
        ulong nbBb = diff / BbSize;
        if (nbBb == 0) return Errno.None;
        for (int i = 0; i < 3; i++)
        {
            foreach (var bb in BbsIn(BbmState.Added, reverse: true))
            {
                if (BbState(bb) != BbmState.Added) continue;
                if (i == 0 && !BbAll(bb, mb => mb.State == MemoryBlockState.Offline)) continue;
                if (i == 1 && !BbAll(bb, mb => mb.State == MemoryBlockState.Offline || mb.Zone?.Type == ZoneType.Movable)) continue;
                var rc = OfflineRemoveAndUnplugBb(bb);
                if (rc == Errno.EBUSY) continue;
                if (rc == Errno.None) nbBb--;
                if (rc != Errno.None || nbBb == 0) return rc;
            }
            if (i == 0 && !Module.UnplugOnline) return Errno.None;
        }
        return nbBb > 0 ? Errno.EBUSY : Errno.None;
    }

    /// <summary>The BBM part of virtio_mem_cleanup_pending_mb(): plugged but not added big blocks are unplugged.</summary>
    private Errno BbmCleanupPendingBb()
    {
        foreach (var bb in BbsIn(BbmState.Plugged))
        {
            var rc = SendUnplugRequest(BbAddr(bb), BbSize);
            if (rc != Errno.None) return rc;
            SetBbState(bb, BbmState.Unused);
        }
        return Errno.None;
    }

    /// <summary>Models virtio_mem_bbm_notify_going_offline(): only a fake-offline big block gives its pages up.</summary>
    private void BbmNotifyGoingOffline(long bb, long pfn, long nr)
    {
        if (BbState(bb) == BbmState.FakeOffline) FakeOfflineGoingOffline(pfn, nr);
    }

    /// <summary>Models virtio_mem_bbm_notify_cancel_offline().</summary>
    private void BbmNotifyCancelOffline(long bb, long pfn, long nr)
    {
        if (BbState(bb) == BbmState.FakeOffline) FakeOfflineCancelOffline(pfn, nr);
    }
}
