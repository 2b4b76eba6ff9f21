using Numasim.Kernel.Mm;

namespace Numasim.Kernel.Drivers;

/// <summary>enum virtio_mem_sbm_mb_state: the state of a Linux memory block in Sub Block Mode (the order matters:
/// a partial state is its full one plus one).</summary>
public enum SbmState : byte { Unused, Plugged, Offline, OfflinePartial, Kernel, KernelPartial, Movable, MovablePartial }

/// <summary>Sub Block Mode (drivers/virtio/virtio_mem.c): memory blocks are added whole to Linux and plugged in
/// sub-blocks of max(device block size, pageblock size); unplugged sub-blocks of an online block stay fake-offline.</summary>
public sealed partial class VirtioMem
{
    // Block states in the driver's map: kind 0 the memory blocks' states, kind 1 their sub-block bitmaps.
    private long MbKey(long mbId) => Key(0, mbId - FirstMbId);
    private int SbWords => (SbsPerMb + 63) / 64;
    private long SbKey(long mbId, int word) => Key(1, (mbId - FirstMbId) * SbWords + word);

    /// <summary>The state of memory block <paramref name="mbId"/> (virtio_mem_sbm_get_mb_state()).</summary>
    public SbmState MbState(long mbId) => (SbmState)_blocks[MbKey(mbId)];

    private void SetMbState(long mbId, SbmState s) => _blocks[MbKey(mbId)] = (ulong)s;

    /// <summary>The device's memory blocks in a state, by id (virtio_mem_sbm_for_each_mb(), _rev descending).</summary>
    private List<long> MbsIn(SbmState s, bool reverse = false)
    {
        var ids = new List<long>();
        for (long id = FirstMbId; id < NextMbId; id++)
            if (MbState(id) == s) ids.Add(id);
        if (reverse) ids.Reverse();
        return ids;
    }

    private void SbmInit(ulong sbSize)
    {
        SbSize = sbSize;
        SbsPerMb = (int)(BlockSize / sbSize);
        ulong addr = Addr + BlockSize - 1;   // round up to the next full memory block
        FirstMbId = NextMbId = (long)(addr / BlockSize);
    }

    private bool SbBit(long mb, int sb) => (_blocks[SbKey(mb, sb >> 6)] & (1UL << (sb & 63))) != 0;

    /// <summary>virtio_mem_sbm_test_sb_plugged(): all <paramref name="count"/> sub-blocks from <paramref name="sb"/> plugged.</summary>
    private bool SbPlugged(long mb, int sb, int count)
    {
        for (int i = sb; i < sb + count; i++) if (!SbBit(mb, i)) return false;
        return true;
    }

    /// <summary>virtio_mem_sbm_test_sb_unplugged().</summary>
    private bool SbUnplugged(long mb, int sb, int count)
    {
        for (int i = sb; i < sb + count; i++) if (SbBit(mb, i)) return false;
        return true;
    }

    private void SetSbs(long mb, int sb, int count, bool plugged)
    {
        for (int i = sb; i < sb + count; i++)
        {
            long key = SbKey(mb, i >> 6);
            ulong w = _blocks[key];
            _blocks[key] = plugged ? w | 1UL << (i & 63) : w & ~(1UL << (i & 63));
        }
    }

    private ulong MbAddr(long mb) => (ulong)mb * BlockSize;

    private long SbPfn(long mb, int sb) => Page.PfnOf(MbAddr(mb) + (ulong)sb * SbSize);

    private long SbPages(int count) => Page.PfnOf((ulong)count * SbSize);

    /// <summary>Models virtio_mem_sbm_plug_sb(): a plug request; the sub-blocks are marked plugged on success.</summary>
    private Errno PlugSb(long mb, int sb, int count)
    {
        var rc = SendPlugRequest(MbAddr(mb) + (ulong)sb * SbSize, (ulong)count * SbSize);
        if (rc == Errno.None) SetSbs(mb, sb, count, true);
        return rc;
    }

    /// <summary>Models virtio_mem_sbm_unplug_sb().</summary>
    private Errno UnplugSb(long mb, int sb, int count)
    {
        var rc = SendUnplugRequest(MbAddr(mb) + (ulong)sb * SbSize, (ulong)count * SbSize);
        if (rc == Errno.None) SetSbs(mb, sb, count, false);
        return rc;
    }

    /// <summary>Models virtio_mem_sbm_prepare_next_mb(): -ENOSPC past the last usable block.</summary>
    private Errno PrepareNextMb(out long mbId)
    {
        mbId = -1;
        if (NextMbId > LastUsableMbId) return Errno.ENOSPC;
        mbId = NextMbId++;
        return Errno.None;
    }

    /// <summary>Models virtio_mem_sbm_plug_and_add_mb(): plug up to a block's worth of sub-blocks from the start, mark
    /// the block offline (partial), then add it to Linux; a failed add unplugs again.</summary>
    private Errno PlugAndAddMb(long mb, ref ulong nbSb)
    {
        int count = (int)Math.Min(nbSb, (ulong)SbsPerMb);
        if (count == 0) return Errno.EINVAL;
        var rc = PlugSb(mb, 0, count);
        if (rc != Errno.None) return rc;
        SetMbState(mb, count == SbsPerMb ? SbmState.Offline : SbmState.OfflinePartial);
        rc = AddMemory(MbAddr(mb), BlockSize);
        if (rc != Errno.None)
        {
            SetMbState(mb, UnplugSb(mb, 0, count) == Errno.None ? SbmState.Unused : SbmState.Plugged);
            return rc;
        }
        nbSb -= (ulong)count;
        return Errno.None;
    }

    /// <summary>Models virtio_mem_sbm_plug_any_sb(): plug unplugged sub-blocks of an added block, lowest first; an online
    /// block's newly plugged pages go to the buddy at once.</summary>
    private Errno PlugAnySb(long mb, ref ulong nbSb)
    {
        var old = MbState(mb);
        if (nbSb == 0) return Errno.EINVAL;
        while (nbSb > 0)
        {
            int sb = 0;
            while (sb < SbsPerMb && SbBit(mb, sb)) sb++;
            if (sb >= SbsPerMb) break;
            int count = 1;
            while ((ulong)count < nbSb && sb + count < SbsPerMb && !SbBit(mb, sb + count)) count++;
            var rc = PlugSb(mb, sb, count);
            if (rc != Errno.None) return rc;
            nbSb -= (ulong)count;
            if (old == SbmState.OfflinePartial) continue;
            FakeOnline(SbPfn(mb, sb), SbPages(count));
        }
        if (SbPlugged(mb, 0, SbsPerMb)) SetMbState(mb, old - 1);
        return Errno.None;
    }

    /// <summary>Models virtio_mem_sbm_plug_request(): partial blocks first (kernel, movable, offline), then unused
    /// blocks, then new ones, as long as the offline threshold allows adding.</summary>
    private Errno SbmPlugRequest(ulong diff)
    {
        ulong nbSb = diff / SbSize;
        if (nbSb == 0) return Errno.None;
        foreach (var state in new[] { SbmState.KernelPartial, SbmState.MovablePartial, SbmState.OfflinePartial })
            foreach (var mb in MbsIn(state))
            {
                var rc = PlugAnySb(mb, ref nbSb);
                if (rc != Errno.None || nbSb == 0) return rc;
            }
        foreach (var mb in MbsIn(SbmState.Unused))
        {
            if (!CouldAddMemory(BlockSize)) return Errno.ENOSPC;
            var rc = PlugAndAddMb(mb, ref nbSb);
            if (rc != Errno.None || nbSb == 0) return rc;
        }
        while (nbSb > 0)
        {
            if (!CouldAddMemory(BlockSize)) return Errno.ENOSPC;
            var rc = PrepareNextMb(out long mb);
            if (rc != Errno.None) return rc;
            rc = PlugAndAddMb(mb, ref nbSb);
            if (rc != Errno.None) return rc;
        }
        return Errno.None;
    }

    /// <summary>Models virtio_mem_sbm_unplug_any_sb_raw(): unplug plugged sub-blocks from the top of the block down.</summary>
    private Errno UnplugAnySbRaw(long mb, ref ulong nbSb)
    {
        int sb = SbsPerMb - 1;
        while (nbSb > 0)
        {
            while (sb >= 0 && !SbBit(mb, sb)) sb--;
            if (sb < 0) break;
            int count = 1;
            while ((ulong)count < nbSb && sb > 0 && SbBit(mb, sb - 1)) { count++; sb--; }
            var rc = UnplugSb(mb, sb, count);
            if (rc != Errno.None) return rc;
            nbSb -= (ulong)count;
            sb--;
        }
        return Errno.None;
    }

    /// <summary>Models virtio_mem_sbm_unplug_any_sb_offline(): an offline block loses sub-blocks; once empty it is removed.</summary>
    private Errno UnplugAnySbOffline(long mb, ref ulong nbSb)
    {
        var rc = UnplugAnySbRaw(mb, ref nbSb);
        if (!SbPlugged(mb, 0, SbsPerMb)) SetMbState(mb, SbmState.OfflinePartial);
        if (rc != Errno.None) return rc;
        if (SbUnplugged(mb, 0, SbsPerMb))
        {
            SetMbState(mb, SbmState.Unused);
            RemoveMemory(MbAddr(mb), BlockSize);
        }
        return Errno.None;
    }

    /// <summary>Models virtio_mem_sbm_unplug_sb_online(): fake-offline the pages, then unplug them; the block turns partial.</summary>
    private Errno UnplugSbOnline(long mb, int sb, int count)
    {
        var old = MbState(mb);
        long pfn = SbPfn(mb, sb), nr = SbPages(count);
        var rc = FakeOffline(pfn, nr);
        if (rc != Errno.None) return rc;
        rc = UnplugSb(mb, sb, count);
        if (rc != Errno.None)
        {
            FakeOnline(pfn, nr);
            return rc;
        }
        if (old == SbmState.Kernel) SetMbState(mb, SbmState.KernelPartial);
        else if (old == SbmState.Movable) SetMbState(mb, SbmState.MovablePartial);
        return Errno.None;
    }

    /// <summary>Models virtio_mem_sbm_unplug_any_sb_online(): the whole block at once when possible, else single
    /// sub-blocks from the top, skipping busy ones; an emptied block is offlined and removed (v6.12 retries later
    /// when that fails).</summary>
    private Errno UnplugAnySbOnline(long mb, ref ulong nbSb)
    {
        bool done = false;
        if (nbSb >= (ulong)SbsPerMb && SbPlugged(mb, 0, SbsPerMb))
        {
            var rc = UnplugSbOnline(mb, 0, SbsPerMb);
            if (rc == Errno.None) { nbSb -= (ulong)SbsPerMb; done = true; }
            else if (rc != Errno.EBUSY) return rc;
        }
        for (int sb = SbsPerMb - 1; !done && sb >= 0 && nbSb > 0; sb--)
        {
            while (sb >= 0 && !SbBit(mb, sb)) sb--;
            if (sb < 0) break;
            var rc = UnplugSbOnline(mb, sb, 1);
            if (rc == Errno.EBUSY) continue;
            if (rc != Errno.None) return rc;
            nbSb--;
        }
        if (SbUnplugged(mb, 0, SbsPerMb))
        {
            var rc = OfflineAndRemoveMemory(MbAddr(mb), BlockSize);
            if (rc == Errno.None) SetMbState(mb, SbmState.Unused);
            else if (_k.Profile.VirtioMemRetriesUnpluggedBlocks) HaveUnpluggedMb = true;
        }
        return Errno.None;
    }

    /// <summary>Models virtio_mem_sbm_unplug_request(): offline partial and offline blocks first, then movable before
    /// kernel, partial before full, highest block first; -EBUSY when not all could go.</summary>
    private Errno SbmUnplugRequest(ulong diff)
    {
        ulong nbSb = diff / SbSize;
        if (nbSb == 0) return Errno.None;
        var order = new[] { SbmState.OfflinePartial, SbmState.Offline, SbmState.MovablePartial, SbmState.KernelPartial, SbmState.Movable, SbmState.Kernel };
        for (int i = 0; i < order.Length; i++)
        {
            foreach (var mb in MbsIn(order[i], reverse: true))
            {
                if (MbState(mb) != order[i]) continue;
                var st = MbState(mb);
                var rc = st is SbmState.OfflinePartial or SbmState.Offline ? UnplugAnySbOffline(mb, ref nbSb) : UnplugAnySbOnline(mb, ref nbSb);
                if (rc != Errno.None || nbSb == 0) return rc;
            }
            if (!Module.UnplugOnline && i == 1) return Errno.None;
        }
        return nbSb > 0 ? Errno.EBUSY : Errno.None;
    }

    /// <summary>Models virtio_mem_cleanup_pending_mb() (v6.12; virtio_mem_unplug_pending_mb() before) in SBM: blocks left
    /// plugged but not added are unplugged; fully unplugged partial blocks are offlined and removed again.</summary>
    private Errno SbmCleanupPendingMb()
    {
        foreach (var mb in MbsIn(SbmState.Plugged))
        {
            ulong all = (ulong)SbsPerMb;
            var rc = UnplugAnySbRaw(mb, ref all);
            if (rc != Errno.None) return rc;
            SetMbState(mb, SbmState.Unused);
        }
        if (!HaveUnpluggedMb) return Errno.None;
        HaveUnpluggedMb = false;
        bool failed = false;
        foreach (var state in new[] { SbmState.MovablePartial, SbmState.KernelPartial, SbmState.OfflinePartial })
            foreach (var mb in MbsIn(state))
                if (SbUnplugged(mb, 0, SbsPerMb))
                {
                    if (OfflineAndRemoveMemory(MbAddr(mb), BlockSize) == Errno.None) SetMbState(mb, SbmState.Unused);
                    else failed = true;
                }
        if (failed) HaveUnpluggedMb = true;
        return Errno.None;
    }

    /// <summary>Models virtio_mem_sbm_notify_going_online(): only an offline block of ours may come online.</summary>
    private bool SbmNotifyGoingOnline(long mb)
    {
        if (mb >= FirstMbId && mb < NextMbId && MbState(mb) is SbmState.Offline or SbmState.OfflinePartial) return true;
        _k.Log.Printk($"virtio_mem virtio{Index}: memory block onlining denied");
        return false;
    }

    /// <summary>Models virtio_mem_sbm_notify_offline().</summary>
    private void SbmNotifyOffline(long mb) =>
        SetMbState(mb, MbState(mb) is SbmState.KernelPartial or SbmState.MovablePartial ? SbmState.OfflinePartial : SbmState.Offline);

    /// <summary>Models virtio_mem_sbm_notify_online(): kernel or movable by the zone the block went to.</summary>
    private void SbmNotifyOnline(long mb, long startPfn)
    {
        bool movable = OnlineZoneOf(startPfn)?.Type == ZoneType.Movable
                       || _k.FindMemoryBlock(startPfn / _k.PagesPerBlock)?.Zone?.Type == ZoneType.Movable;
        bool partial = MbState(mb) == SbmState.OfflinePartial;
        SetMbState(mb, (movable, partial) switch
        {
            (true, true) => SbmState.MovablePartial,
            (true, false) => SbmState.Movable,
            (false, true) => SbmState.KernelPartial,
            _ => SbmState.Kernel,
        });
    }

    /// <summary>Models virtio_mem_sbm_notify_going_offline(): the unplugged sub-blocks are given up for offlining.</summary>
    private void SbmNotifyGoingOffline(long mb)
    {
        for (int sb = 0; sb < SbsPerMb; sb++)
            if (!SbBit(mb, sb)) FakeOfflineGoingOffline(SbPfn(mb, sb), SbPages(1));
    }

    /// <summary>Models virtio_mem_sbm_notify_cancel_offline().</summary>
    private void SbmNotifyCancelOffline(long mb)
    {
        for (int sb = 0; sb < SbsPerMb; sb++)
            if (!SbBit(mb, sb)) FakeOfflineCancelOffline(SbPfn(mb, sb), SbPages(1));
    }
}
