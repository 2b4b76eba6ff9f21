namespace Numasim.Kernel.Mm;

/// <summary>Pageblock isolation of mm/page_isolation.c (v6.1) on one zone's buddy state.</summary>
internal static class PageIsolation
{
    private const long PbPages = BuddyConstants.PageblockNrPages;
    private const int PbOrder = BuddyConstants.PageblockOrder;

    /// <summary>Models has_unmovable_pages() in the MEMORY_OFFLINE/REPORT_FAILURE use, mm/page_isolation.c: the first
    /// pfn of the pageblock range that cannot be migrated away, or -1. ZONE_MOVABLE is never checked; CMA blocks
    /// and allocated blocks not requested movable are unmovable. Free and pcp pages (refcount 0) are fine.</summary>
    public static long HasUnmovablePages(BuddyFreeArea zone, long startPfn, long endPfn, bool zoneIsMovable)
    {
        if (zoneIsMovable) return -1;
        if (zone.PageblockMigratetype(startPfn) == MigrateType.Cma) return startPfn;
        return zone.Allocated.FirstUnmovableInRange(startPfn, endPfn);
    }

    /// <summary>Models set_migratetype_isolate(), mm/page_isolation.c: EBUSY when already isolated or unmovable.</summary>
    public static Errno SetMigratetypeIsolate(BuddyFreeArea zone, long pbPfn, bool checkUnmovable, bool zoneIsMovable, out long badPfn)
    {
        badPfn = -1;
        var mt = zone.PageblockMigratetype(pbPfn);
        if (mt == MigrateType.Isolate) { badPfn = pbPfn; return Errno.EBUSY; }
        if (checkUnmovable)
        {
            long s = Math.Max(pbPfn, zone.ZoneStartPfn), e = Math.Min(pbPfn + PbPages, zone.ZoneEndPfn);
            badPfn = HasUnmovablePages(zone, s, e, zoneIsMovable);
            if (badPfn >= 0) return Errno.EBUSY;
        }
        zone.SetPageblockMigratetype(pbPfn, MigrateType.Isolate);
        zone.NrIsolatePageblock++;
        long nr = zone.MoveFreepagesBlock(pbPfn, MigrateType.Isolate, out _);
        zone.ModFreepageState(-nr, mt);
        return Errno.None;
    }

    /// <summary>Models unset_migratetype_isolate(), mm/page_isolation.c.</summary>
    public static void UnsetMigratetypeIsolate(BuddyFreeArea zone, long pbPfn, MigrateType mt)
    {
        if (zone.PageblockMigratetype(pbPfn) != MigrateType.Isolate) return;
        // A free block of order >= pageblock_order whose buddy is free outside isolation is taken out and put
        // back (__isolate_free_page + __putback_isolated_page) so that it can merge.
        bool isolatedPage = false;
        int order = -1;
        long first = Math.Max(pbPfn, zone.ZoneStartPfn);
        if (zone.Lists.TryGetFreeHead(first, out order, out _) && order >= PbOrder && order < BuddyConstants.MaxOrder - 1)
        {
            long buddy = first ^ (1L << order);
            if (zone.ZoneSpansPfn(buddy) && zone.Lists.IsFreeHead(buddy, order, out _)
                && zone.PageblockMigratetype(buddy) != MigrateType.Isolate)
            {
                zone.Lists.Remove(first, order);
                isolatedPage = true;
            }
        }
        if (!isolatedPage)
        {
            long nr = zone.MoveFreepagesBlock(pbPfn, mt, out _);
            zone.ModFreepageState(nr, mt);
        }
        zone.SetPageblockMigratetype(pbPfn, mt);
        if (isolatedPage) zone.FreeOnePage(first, order, mt, toTail: true);
        zone.NrIsolatePageblock--;
    }

    /// <summary>Splits a free block that straddles boundary so that no free block crosses it (what
    /// isolate_single_pageblock() does with split_free_page(), mm/page_isolation.c).</summary>
    private static void SplitAt(BuddyFreeArea zone, long boundary)
    {
        if ((boundary & (BuddyConstants.MaxOrderNrPages - 1)) == 0) return;
        if (zone.Lists.TryFindContaining(boundary - 1, out long head, out int order, out _)
            && head + (1L << order) > boundary)
            zone.SplitFreePage(head, order, boundary - head);
    }

    /// <summary>Models start_isolate_page_range(), mm/page_isolation.c, for a pageblock-aligned range: every pageblock
    /// becomes MIGRATE_ISOLATE and its free pages move to the isolate lists; on failure nothing stays isolated.</summary>
    public static Errno StartIsolatePageRange(BuddyFreeArea zone, long startPfn, long endPfn, bool checkUnmovable, bool zoneIsMovable, out long badPfn)
    {
        badPfn = -1;
        long s = startPfn & ~(PbPages - 1);
        long e = (endPfn + PbPages - 1) & ~(PbPages - 1);
        for (long pfn = s; pfn < e; pfn += PbPages)
        {
            var err = SetMigratetypeIsolate(zone, pfn, checkUnmovable, zoneIsMovable, out badPfn);
            if (err != Errno.None)
            {
                for (long u = s; u < pfn; u += PbPages) UnsetMigratetypeIsolate(zone, u, MigrateType.Movable);
                return err;
            }
        }
        SplitAt(zone, s);
        SplitAt(zone, e);
        return Errno.None;
    }

    /// <summary>Models undo_isolate_page_range(), mm/page_isolation.c.</summary>
    public static void UndoIsolatePageRange(BuddyFreeArea zone, long startPfn, long endPfn, MigrateType mt)
    {
        long s = startPfn & ~(PbPages - 1);
        long e = (endPfn + PbPages - 1) & ~(PbPages - 1);
        for (long pfn = s; pfn < e; pfn += PbPages) UnsetMigratetypeIsolate(zone, pfn, mt);
    }

    /// <summary>Models test_pages_isolated(), mm/page_isolation.c: every pageblock isolated and every page of
    /// [startPfn, endPfn) in a free block (PageBuddy walk); else EBUSY with the first busy pfn.</summary>
    public static Errno TestPagesIsolated(BuddyFreeArea zone, long startPfn, long endPfn, out long failedPfn)
    {
        failedPfn = -1;
        for (long pfn = startPfn & ~(PbPages - 1); pfn < endPfn; pfn += PbPages)
            if (zone.PageblockMigratetype(pfn) != MigrateType.Isolate) { failedPfn = Math.Max(pfn, startPfn); return Errno.EBUSY; }
        for (long pfn = startPfn; pfn < endPfn;)
        {
            if (!zone.Lists.TryGetFreeHead(pfn, out int order, out _)) { failedPfn = pfn; return Errno.EBUSY; }
            pfn += 1L << order;
        }
        return Errno.None;
    }
}
