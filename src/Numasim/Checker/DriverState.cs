using Numasim.Firmware;
using Numasim.Kernel;
using Numasim.Kernel.Mm;
using Numasim.Snapshots;

namespace Numasim.Checker;

/// <summary>
/// What a <see cref="CheckDriver"/> knows beyond the model (the CPU slots and DIMMs it plugged, the pages it holds,
/// the ranges ejected), as regions of the machine's compact state: a saved state restores driver and machine
/// together. Every observed field feeds the fingerprint (the checker's abstraction, docs/checker.md).
/// </summary>
internal sealed class DriverState
{
    private struct Scalars
    {
        public ulong BootUntouchedNodes, FaultState;
        public bool KvmLoaded;
    }

    private readonly StateStore _store;
    private readonly StateArray<Scalars> _scalars;
    private readonly StateArray<bool> _plugged;            // by CPU slot index
    private readonly StateArray<int> _dimmNode;            // by DIMM index: node, -1 none
    private readonly StateArray<PageRef> _pages;           // by node*4+kind; Order -1: none
    public readonly StateArray<(long Start, long End)> Removed;

    public DriverState(StateStore store, MachineSpec spec)
    {
        _store = store;
        _scalars = new StateArray<Scalars>(store, "checker: scalars", 1);
        _plugged = new StateArray<bool>(store, "checker: plugged cpu slots", spec.CpuSlots.Count == 0 ? 0 : spec.CpuSlots.Max(s => s.Index) + 1);
        _dimmNode = new StateArray<int>(store, "checker: dimms", Math.Max(spec.Slots, 0));
        _dimmNode.Fill(-1);
        int nodes = spec.NodeIds.DefaultIfEmpty(0).Max() + 1;
        _pages = new StateArray<PageRef>(store, "checker: pages held", nodes * 4);
        _pages.Fill(new PageRef(0, -1, -1));
        Removed = new StateArray<(long, long)>(store, "checker: removed ranges");
    }

    public ulong BootUntouchedNodes
    {
        get => _scalars[0].BootUntouchedNodes;
        set
        {
            _store.Observe(Zobrist.Key(FieldKind.BootUntouchedNodes, 0), _scalars[0].BootUntouchedNodes, value);
            _scalars.Mut(0).BootUntouchedNodes = value;
        }
    }

    /// <summary>The fault injectors' observed value (Faults.Fingerprint).</summary>
    public ulong FaultState
    {
        get => _scalars[0].FaultState;
        set
        {
            if (value == _scalars[0].FaultState) return;
            _store.Observe(Zobrist.Key(FieldKind.Faults, 0), _scalars[0].FaultState, value);
            _scalars.Mut(0).FaultState = value;
        }
    }

    public bool KvmLoaded
    {
        get => _scalars[0].KvmLoaded;
        set
        {
            _store.Observe(Zobrist.Key(FieldKind.KvmLoaded, 0), _scalars[0].KvmLoaded ? 1UL : 0, value ? 1UL : 0);
            _scalars.Mut(0).KvmLoaded = value;
        }
    }

    public bool IsPlugged(int slot) => (uint)slot < (uint)_plugged.Length && _plugged[slot];

    public void SetPlugged(int slot, bool plugged)
    {
        _store.Observe(Zobrist.Key(FieldKind.PluggedCpu, slot), _plugged[slot] ? 1UL : 0, plugged ? 1UL : 0, (ulong)FieldKind.PluggedCpu);
        _plugged.Mut(slot) = plugged;
    }

    public IReadOnlyDictionary<int, string> PluggedMap()
    {
        var d = new SortedDictionary<int, string>();
        for (int i = 0; i < _plugged.Length; i++) if (_plugged[i]) d[i] = $"cpu{i}";
        return d;
    }

    public int DimmSlots => _dimmNode.Length;
    public int DimmNode(int idx) => (uint)idx < (uint)_dimmNode.Length ? _dimmNode[idx] : -1;

    public int DimmCount
    {
        get
        {
            int n = 0;
            foreach (var x in _dimmNode.Items) if (x >= 0) n++;
            return n;
        }
    }

    public void SetDimm(int idx, int node)
    {
        _store.Observe(Zobrist.Key(FieldKind.Dimm, idx), (ulong)(_dimmNode[idx] + 1), (ulong)(node + 1), (ulong)FieldKind.Dimm);
        _dimmNode.Mut(idx) = node;
    }

    public IReadOnlyDictionary<int, int> DimmMap()
    {
        var d = new SortedDictionary<int, int>();
        for (int i = 0; i < _dimmNode.Length; i++) if (_dimmNode[i] >= 0) d[i] = _dimmNode[i];
        return d;
    }

    public int PageKeys => _pages.Length;
    public bool HoldsPage(long key) => (ulong)key < (ulong)_pages.Length && _pages[(int)key].Order >= 0;
    public PageRef Page(int key) => _pages[key];

    private static ulong Observed(PageRef p) => p.Order < 0 ? 0 : 1UL << 32 | (ulong)(uint)p.ZoneId;

    public void SetPage(int key, AllocatedPage? page)
    {
        var v = page is null ? new PageRef(0, -1, -1) : PageRef.Of(page);
        _store.Observe(Zobrist.Key(FieldKind.HeldPage, key), Observed(_pages[key]), Observed(v));
        _pages.Mut(key) = v;
    }

    /// <summary>Forgets the pages held in [start, end) (migrated by an offline: the model does not say where).</summary>
    public void DropPagesIn(long start, long end)
    {
        for (int k = 0; k < _pages.Length; k++)
            if (_pages[k].Order >= 0 && _pages[k].Pfn >= start && _pages[k].Pfn < end) SetPage(k, null);
    }

    public IReadOnlyDictionary<long, AllocatedPage> Pages(KernelContext k)
    {
        var d = new SortedDictionary<long, AllocatedPage>();
        for (int i = 0; i < _pages.Length; i++) if (_pages[i].Order >= 0) d[i] = _pages[i].ToPage(k);
        return d;
    }

    /// <summary>A range plugged again is memory again.</summary>
    public void Unremove(long start, long end)
    {
        for (int i = Removed.Length - 1; i >= 0; i--)
            if (Removed[i].Start < end && start < Removed[i].End) Removed.RemoveAt(i);
    }
}
