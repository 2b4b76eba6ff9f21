using Numasim.Snapshots;

namespace Numasim.Kernel.Mm;

/// <summary>The free_area[order].free_list[migratetype] lists of one zone with their counts (struct free_area,
/// include/linux/mmzone.h), stored so that memory follows fragmentation, not zone size. A free block is a node
/// in a doubly linked list per (order, migratetype); list order is the kernel's (head = next to be taken).
/// A node of order MAX_ORDER-1 may stand for a run of physically consecutive max-order blocks that sit next to
/// each other in the list in ascending pfn order, which is exactly what freeing a range with FPI_TO_TAIL
/// produces; a 16 TiB zone freshly freed is one node.</summary>
internal sealed class FreeLists
{
    private const int Top = BuddyConstants.MaxOrder - 1;
    private const long TopPages = BuddyConstants.MaxOrderNrPages;
    private const int NLists = BuddyConstants.MaxOrder * MigrateTypes.Count;

    private struct Node
    {
        public long Pfn;
        public long Count;
        public int Prev, Next;
        public int Order;
        public MigrateType Mt;
    }

    private struct ListHead
    {
        public int Head, Tail;
        public long Blocks;
    }

    // All of it is compact state: the list nodes (_n, its length the nodes used), the free node chain, the
    // per-list heads, tails and counts, nr_free per order, the pfn index and the sorted runs.
    private readonly StateArray<Node> _n;
    private readonly StateArray<int> _freeNode;
    private readonly StateArray<ListHead> _lists;
    private readonly StateArray<long> _nrFree;
    private readonly PfnIndex _byPfn;
    /// <summary>Max-order nodes with Count &gt; 1, sorted by Pfn.</summary>
    private readonly StateArray<int> _runs;

    public FreeLists(StateStore store, string owner)
    {
        _n = new StateArray<Node>(store, owner + " free-list nodes");
        _freeNode = new StateArray<int>(store, owner + " free-list spare node", 1);
        _freeNode.Mut(0) = -1;
        // Sized when the first block arrives: most zones never hold one, and an empty region costs nothing to save.
        _lists = new StateArray<ListHead>(store, owner + " free_area lists");
        _nrFree = new StateArray<long>(store, owner + " free_area nr_free", BuddyConstants.MaxOrder);
        _byPfn = new PfnIndex(store, owner + " free-list pfn index");
        _runs = new StateArray<int>(store, owner + " free-list runs");
    }

    /// <summary>No free block at all (a newly made zone).</summary>
    public void Reset()
    {
        _n.Clear();
        _freeNode.Mut(0) = -1;
        _lists.Clear();
        _nrFree.Fill(0);
        _byPfn.Clear();
        _runs.Clear();
    }

    private ref ListHead Lh(int list)
    {
        if (_lists.Length == 0)
        {
            _lists.Resize(NLists);
            _lists.Fill(new ListHead { Head = -1, Tail = -1 });
        }
        return ref _lists.Mut(list);
    }

    private static readonly ListHead NoList = new() { Head = -1, Tail = -1 };

    /// <summary>A list's head, tail and count for reading.</summary>
    private ref readonly ListHead List(int list)
    {
        if (_lists.Length == 0) return ref NoList;
        return ref _lists[list];
    }
    private ref Node N(int i) => ref _n.Mut(i);

    private static int L(int order, MigrateType mt) => order * MigrateTypes.Count + (int)mt;

    /// <summary>free_area[order].nr_free: blocks of that order on all lists.</summary>
    public long NrFree(int order) => _nrFree[order];

    /// <summary>Blocks on free_area[order].free_list[mt] (what /proc/pagetypeinfo counts).</summary>
    public long NrFree(int order, MigrateType mt) => List(L(order, mt)).Blocks;

    /// <summary>For the free-pages-sum invariant, in one pass over the list heads: the pages on the lists outside
    /// MIGRATE_ISOLATE; mismatch is the first order whose nr_free is not the blocks on its lists (blocks: how many
    /// they hold; the sum then stops there), else -1.</summary>
    public long ListedPages(out int mismatch, out long blocks)
    {
        var lists = _lists.Items;
        var nr = _nrFree.Items;
        long sum = 0;
        for (int order = 0; order < BuddyConstants.MaxOrder; order++)
        {
            long b = 0;
            if (lists.Length != 0)
                for (int mt = 0; mt < MigrateTypes.Count; mt++)
                {
                    long n = lists[L(order, (MigrateType)mt)].Blocks;
                    b += n;
                    if ((MigrateType)mt != MigrateType.Isolate) sum += n << order;
                }
            if (b != nr[order])
            {
                mismatch = order;
                blocks = b;
                return sum;
            }
        }
        mismatch = -1;
        blocks = 0;
        return sum;
    }

    /// <summary>Models free_area_empty(), mm/internal.h.</summary>
    public bool IsEmpty(int order, MigrateType mt) => List(L(order, mt)).Head < 0;

    /// <summary>Number of list nodes in use (for memory figures).</summary>
    public int NodeCount => _byPfn.Count;

    public int NodeCapacity => _n.Length;

    private int NewNode(long pfn, long count, int order, MigrateType mt)
    {
        int i;
        if (_freeNode[0] >= 0) { i = _freeNode[0]; _freeNode.Mut(0) = _n[i].Next; }
        else i = _n.Add(default);
        N(i) = new Node { Pfn = pfn, Count = count, Order = order, Mt = mt, Prev = -1, Next = -1 };
        _byPfn.Add(pfn, i);
        if (count > 1) RunInsert(i);
        return i;
    }

    private void ReleaseNode(int i)
    {
        _byPfn.Remove(_n[i].Pfn);
        if (_n[i].Count > 1) RunRemove(i);
        N(i).Next = _freeNode[0];
        N(i).Order = -1;
        _freeNode.Mut(0) = i;
    }

    private int RunSearch(long pfn)
    {
        int lo = 0, hi = _runs.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            long p = _n[_runs[mid]].Pfn;
            if (p == pfn) return mid;
            if (p < pfn) lo = mid + 1; else hi = mid - 1;
        }
        return ~lo;
    }

    private void RunInsert(int i)
    {
        int pos = RunSearch(_n[i].Pfn);
        if (pos >= 0) throw new InvalidOperationException("BUG: duplicate run");
        _runs.Insert(~pos, i);
    }

    private void RunRemove(int i)
    {
        int pos = RunSearch(_n[i].Pfn);
        if (pos < 0) throw new InvalidOperationException("BUG: run missing");
        _runs.RemoveAt(pos);
    }

    private void SetCount(int i, long count)
    {
        long old = _n[i].Count;
        if (old > 1 && count <= 1) RunRemove(i);
        N(i).Count = count;
        if (old <= 1 && count > 1) RunInsert(i);
    }

    private void SetPfn(int i, long pfn)
    {
        // The node keeps its place among runs: a run only moves within space that no other node covers.
        _byPfn.Remove(_n[i].Pfn);
        N(i).Pfn = pfn;
        _byPfn.Add(pfn, i);
    }

    // The list head is passed by reference: it lives in _lists, which none of the node, index or run regions'
    // writes can move.
    private void LinkHead(int i, ref ListHead lh)
    {
        int h = lh.Head;
        ref var n = ref N(i);
        n.Prev = -1;
        n.Next = h;
        if (h >= 0) N(h).Prev = i; else lh.Tail = i;
        lh.Head = i;
    }

    private void LinkTail(int i, ref ListHead lh)
    {
        int t = lh.Tail;
        ref var n = ref N(i);
        n.Next = -1;
        n.Prev = t;
        if (t >= 0) N(t).Next = i; else lh.Head = i;
        lh.Tail = i;
    }

    private void LinkAfter(int i, int after, ref ListHead lh)
    {
        int nx = _n[after].Next;
        ref var n = ref N(i);
        n.Prev = after;
        n.Next = nx;
        N(after).Next = i;
        if (nx >= 0) N(nx).Prev = i; else lh.Tail = i;
    }

    private void Unlink(int i, ref ListHead lh)
    {
        int p = _n[i].Prev, nx = _n[i].Next;
        if (p >= 0) N(p).Next = nx; else lh.Head = nx;
        if (nx >= 0) N(nx).Prev = p; else lh.Tail = p;
    }

    /// <summary>Models add_to_free_list(): list_add at the head, nr_free++.</summary>
    public void AddHead(long pfn, int order, MigrateType mt)
    {
        ref var lh = ref Lh(L(order, mt));
        lh.Blocks++;
        _nrFree.Mut(order)++;
        if (order == Top)
        {
            int h = lh.Head;
            if (h >= 0 && _n[h].Pfn == pfn + TopPages)
            {
                SetPfn(h, pfn);
                SetCount(h, _n[h].Count + 1);
                return;
            }
        }
        LinkHead(NewNode(pfn, 1, order, mt), ref lh);
    }

    /// <summary>Models add_to_free_list_tail(): list_add_tail, nr_free++.</summary>
    public void AddTail(long pfn, int order, MigrateType mt) => AddTailRun(pfn, 1, order, mt);

    /// <summary>count consecutive max-order blocks (or one block of a lower order) added at the tail one after
    /// the other, as a loop of add_to_free_list_tail() would.</summary>
    public void AddTailRun(long pfn, long count, int order, MigrateType mt)
    {
        if (count > 1 && order != Top) throw new ArgumentException("runs exist only at MAX_ORDER-1");
        ref var lh = ref Lh(L(order, mt));
        lh.Blocks += count;
        _nrFree.Mut(order) += count;
        if (order == Top)
        {
            int t = lh.Tail;
            if (t >= 0 && _n[t].Pfn + _n[t].Count * TopPages == pfn)
            {
                SetCount(t, _n[t].Count + count);
                return;
            }
        }
        LinkTail(NewNode(pfn, count, order, mt), ref lh);
    }

    /// <summary>Models get_page_from_free_area(): the head block's pfn or -1.</summary>
    public long PeekHead(int order, MigrateType mt)
    {
        int h = List(L(order, mt)).Head;
        return h < 0 ? -1 : _n[h].Pfn;
    }

    /// <summary>Finds the node holding the free block with head pfn of the given order, or -1.</summary>
    private int FindNode(long pfn, int order)
    {
        if (_byPfn.TryGetValue(pfn, out int i))
            return _n[i].Order == order ? i : -1;
        if (order != Top || _runs.Length == 0 || (pfn & (TopPages - 1)) != 0) return -1;
        int r = RunContaining(pfn);
        return r;
    }

    private int RunContaining(long pfn)
    {
        int pos = RunSearch(pfn);
        if (pos >= 0) return _runs[pos];
        pos = ~pos - 1;
        if (pos < 0) return -1;
        int i = _runs[pos];
        ref readonly var n = ref _n[i];
        if (pfn < n.Pfn + n.Count * TopPages && ((pfn - n.Pfn) & (TopPages - 1)) == 0) return i;
        return -1;
    }

    /// <summary>Models page_is_buddy() as used by find_buddy_page_pfn(): is there a free block of exactly this
    /// order with head pfn; gives the list (migratetype) it is on.</summary>
    public bool IsFreeHead(long pfn, int order, out MigrateType mt)
    {
        int i = FindNode(pfn, order);
        mt = i >= 0 ? _n[i].Mt : default;
        return i >= 0;
    }

    /// <summary>Models PageBuddy(pfn_to_page(pfn)) + buddy_order(): a free block starts at pfn.</summary>
    public bool TryGetFreeHead(long pfn, out int order, out MigrateType mt)
    {
        if (_byPfn.TryGetValue(pfn, out int i)) { order = _n[i].Order; mt = _n[i].Mt; return true; }
        if ((pfn & (TopPages - 1)) == 0 && _runs.Length > 0)
        {
            int r = RunContaining(pfn);
            if (r >= 0) { order = Top; mt = _n[r].Mt; return true; }
        }
        order = -1; mt = default;
        return false;
    }

    /// <summary>Models is_free_buddy_page(): the free block containing pfn, if any.</summary>
    public bool TryFindContaining(long pfn, out long head, out int order, out MigrateType mt)
    {
        for (int o = 0; o < BuddyConstants.MaxOrder; o++)
        {
            long h = pfn & ~((1L << o) - 1);
            if (_byPfn.TryGetValue(h, out int i) && _n[i].Order >= o && h + (_n[i].Count << _n[i].Order) > pfn)
            {
                var n = _n[i];
                head = n.Order == Top ? h + ((pfn - h) & ~(TopPages - 1)) : h;
                order = n.Order; mt = n.Mt;
                return true;
            }
        }
        if (_runs.Length > 0)
        {
            int r = RunContaining(pfn & ~(TopPages - 1));
            if (r >= 0) { head = pfn & ~(TopPages - 1); order = Top; mt = _n[r].Mt; return true; }
        }
        head = -1; order = -1; mt = default;
        return false;
    }

    /// <summary>Models del_page_from_free_list(): removes the free block with head pfn of this order; returns
    /// the migratetype of the list it was on. Missing block = bug.</summary>
    public MigrateType Remove(long pfn, int order)
    {
        int i = FindNode(pfn, order);
        if (i < 0) throw new InvalidOperationException($"BUG: pfn {pfn:x} order {order} is not a free block");
        return RemoveFrom(i, pfn, order);
    }

    /// <summary>Removes the block with head pfn from node i, which holds it (Remove after the lookup).</summary>
    private MigrateType RemoveFrom(int i, long pfn, int order)
    {
        var mt = _n[i].Mt;
        ref var lh = ref Lh(L(order, mt));
        lh.Blocks--;
        _nrFree.Mut(order)--;
        long count = _n[i].Count;
        if (count == 1)
        {
            Unlink(i, ref lh);
            ReleaseNode(i);
            return mt;
        }
        long k = (pfn - _n[i].Pfn) >> Top;
        if (k == 0) { SetPfn(i, pfn + TopPages); SetCount(i, count - 1); }
        else if (k == count - 1) SetCount(i, count - 1);
        else
        {
            SetCount(i, k);
            int j = NewNode(pfn + TopPages, count - k - 1, order, mt);
            LinkAfter(j, i, ref lh);
        }
        return mt;
    }

    /// <summary>Removes and returns the head block of a list, or -1 when empty.</summary>
    public long RemoveHead(int order, MigrateType mt)
    {
        // The head node holds the head block (for a run, its first block): what Remove(PeekHead()) finds by pfn.
        int h = List(L(order, mt)).Head;
        if (h < 0) return -1;
        long pfn = _n[h].Pfn;
        RemoveFrom(h, pfn, order);
        return pfn;
    }

    /// <summary>Models move_to_free_list(): list_move_tail onto another migratetype's list.</summary>
    public void MoveTail(long pfn, int order, MigrateType mt)
    {
        Remove(pfn, order);
        AddTail(pfn, order, mt);
    }

    /// <summary>All free blocks of one list in list order (runs expanded), for tests and /proc dumps.</summary>
    public IEnumerable<long> Blocks(int order, MigrateType mt)
    {
        for (int i = List(L(order, mt)).Head; i >= 0; i = _n[i].Next)
        {
            long c = _n[i].Count, p = _n[i].Pfn;
            for (long k = 0; k < c; k++) yield return p + (k << order);
        }
    }

    /// <summary>List segments (pfn, count of blocks) of one list, for tests and memory figures.</summary>
    public IEnumerable<(long Pfn, long Count)> Segments(int order, MigrateType mt)
    {
        for (int i = List(L(order, mt)).Head; i >= 0; i = _n[i].Next) yield return (_n[i].Pfn, _n[i].Count);
    }
}
