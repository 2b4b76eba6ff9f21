using Numasim.Firmware;
using Numasim.Kernel;
using Numasim.Kernel.Drivers;
using Numasim.Kernel.Mm;
using Numasim.Kernel.Numa;
using Numasim.Kernel.Profiles;
using Numasim.Scenarios;

namespace Numasim.Checker;

/// <summary>
/// One booted machine driven by checker operations, with the bookkeeping the model does not expose (which
/// DIMMs and CPUs the checker plugged, the pages it holds, the ranges removed). Every operation is applied the
/// way <see cref="ScenarioRunner"/> applies the equivalent scenario steps, so that a recorded path replays the
/// same. Not thread-safe: one driver per thread.
/// </summary>
public sealed class CheckDriver
{
    /// <summary>Size of the DIMMs the checker plugs: one memory block.</summary>
    public ulong DimmBytes { get; }

    private readonly IReadOnlySet<string> _families;
    private readonly DriverState _st;
    private List<ScenarioStep>? _steps;

    public CheckDriver(MachineSpec spec, KernelProfile profile, IReadOnlySet<string> families, bool record = false)
    {
        Machine = Machine.Boot(spec, profile);
        // The log and uevents are not part of a checker state: exploring runs quiet; a recording replays them.
        Machine.Log.Enabled = record;
        _families = families;
        DimmBytes = Machine.Kernel.MemoryBlockSize;
        if (record) _steps = [];
        _st = new DriverState(Machine.State, spec);
        _st.FaultState = Faults.Fingerprint(Machine);
        // Nodes the boot left online with neither memory nor a present CPU (v4.x onlines possible memoryless nodes).
        ulong untouched = 0;
        foreach (var nid in Machine.Kernel.NodeStates[NodeState.Online].Bits())
            if (!Machine.Kernel.AllMemoryBlocks.Any(b => b.Nid == nid) && !Machine.Kernel.Cpus.PresentCpusOfNode(nid).Any())
                untouched |= 1UL << nid;
        _st.BootUntouchedNodes = untouched;
    }

    public Machine Machine { get; }

    /// <summary>The state of the machine and of this driver's bookkeeping, as a value.</summary>
    public Snapshots.StateSnapshot Save() => Machine.State.Save();

    /// <summary>Puts machine and bookkeeping in a saved state (of a driver of the same spec, profile and families).</summary>
    public void Restore(Snapshots.StateSnapshot s) => Machine.State.Restore(s);

    /// <summary>The scenario steps applied so far (when recording).</summary>
    public IReadOnlyList<ScenarioStep> Steps => _steps ?? [];

    /// <summary>Pages the checker holds, by node*4+kind.</summary>
    public IReadOnlyDictionary<long, AllocatedPage> Pages => _st.Pages(K);

    /// <summary>Physical page ranges of DIMMs that were ejected.</summary>
    public IReadOnlyList<(long Start, long End)> RemovedRanges => _st.Removed.Items.ToArray();

    /// <summary><see cref="RemovedRanges"/> without a copy (read it before the next operation).</summary>
    internal ReadOnlySpan<(long Start, long End)> RemovedRangeSpan => _st.Removed.Items;

    /// <summary>Plugged DIMMs: index -> node.</summary>
    public IReadOnlyDictionary<int, int> Dimms => _st.DimmMap();

    /// <summary>Hot-pluggable CPU slots the checker plugged: slot index -> QMP id.</summary>
    public IReadOnlyDictionary<int, string> PluggedCpus => _st.PluggedMap();

    public bool KvmLoaded { get => _st.KvmLoaded; private set => _st.KvmLoaded = value; }

    /// <summary>Nodes online since boot without memory or present CPUs on which no device was ejected yet: the
    /// kernel keeps them online (v4.x boot rule) although nothing holds them.</summary>
    public ulong BootUntouchedNodes => _st.BootUntouchedNodes;

    private KernelContext K => Machine.Kernel;

    /// <summary>The operations enabled in the current state, in a fixed order.</summary>
    public void EnabledOps(List<CheckOp> ops)
    {
        ops.Clear();
        if (Machine.Oops is not null) return;
        var spec = Machine.Spec;
        foreach (var slot in spec.CpuSlots)
        {
            if (slot.Present) continue;
            if (_st.IsPlugged(slot.Index)) { if (On("cpu-del")) ops.Add(new(OpKind.CpuDel, slot.Index)); }
            else if (On("cpu-add") && K.Cpus.CpuOfApicId(slot.ApicId) < 0) ops.Add(new(OpKind.CpuAdd, slot.Index));
        }
        if (On("cpu-online"))
            foreach (var cpu in K.Cpus.Present.Bits())
                if (Machine.Subsystems.CpuDevices.HasOnlineFile(cpu))
                    ops.Add(new(K.Cpus.Online[cpu] ? OpKind.CpuOffline : OpKind.CpuOnline, cpu));
        int dimms = _st.DimmCount;
        if (On("dimm-add") && dimms < spec.Slots
            && spec.RamBytes + (ulong)(dimms + 1) * DimmBytes <= spec.MaxMemBytes)
            foreach (var nid in spec.NodeIds) ops.Add(new(OpKind.DimmAdd, nid));
        if (On("dimm-del"))
            for (int idx = 0; idx < _st.DimmSlots; idx++)
                if (_st.DimmNode(idx) >= 0) ops.Add(new(OpKind.DimmDel, idx));
        if (On("block"))
            foreach (var mb in K.AllMemoryBlocks)
            {
                if (!mb.Hotplugged) continue;
                if (mb.State == MemoryBlockState.Offline)
                {
                    ops.Add(new(OpKind.BlockOnline, mb.Id));
                    ops.Add(new(OpKind.BlockOnlineKernel, mb.Id));
                    ops.Add(new(OpKind.BlockOnlineMovable, mb.Id));
                }
                else if (mb.State == MemoryBlockState.Online) ops.Add(new(OpKind.BlockOffline, mb.Id));
            }
        if (On("kvm")) ops.Add(new(KvmLoaded ? OpKind.Rmmod : OpKind.Modprobe, 0));
        if (On("alloc"))
            foreach (var nid in K.NodeStates[NodeState.Online].Bits())
                for (int kind = 0; kind < 4; kind++)
                {
                    var op = CheckOp.AllocOp(nid, (AllocKind)kind);
                    if (_st.HoldsPage(op.Arg)) continue;
                    if ((AllocKind)kind == AllocKind.NoNode && FirstOnlineCpuOf(nid) < 0) continue;
                    ops.Add(op);
                }
        if (On("free"))
            for (int key = 0; key < _st.PageKeys; key++)
                if (_st.HoldsPage(key)) ops.Add(new(OpKind.Free, key));
        if (On("fault")) Faults.EnabledOps(Machine, ops);
    }

    private bool On(string family) => _families.Contains(family);

    private int FirstOnlineCpuOf(int nid)
    {
        foreach (var cpu in K.Cpus.Online.Bits())
            if (K.Cpus.CpuToNode(cpu) == nid) return cpu;
        return -1;
    }

    /// <summary>Applies an operation. Returns false when it failed in a way that leaves the state as it was
    /// (an errno, a QMP error, a failed allocation); true when it may have changed the state.</summary>
    public bool Apply(CheckOp op)
    {
        bool changed = ApplyOp(op);
        // The fault injectors' state (which any allocation may change: fail_page_alloc's times) is observed once per
        // operation, as the value Faults.Fingerprint gives.
        _st.FaultState = Faults.Fingerprint(Machine);
        return changed;
    }

    private bool ApplyOp(CheckOp op)
    {
        switch (op.Kind)
        {
            case OpKind.CpuAdd:
            {
                var slot = SlotOf(op.Arg);
                var args = Args((QmpArgs.CpuAdd, slot.Index, 0));
                var r = Machine.Qmp.DeviceAdd(args);
                Record("device_add", args, r.Error);
                if (!r.Ok) return false;
                _st.SetPlugged(slot.Index, true);
                return true;
            }
            case OpKind.CpuDel:
            {
                var slot = SlotOf(op.Arg);
                var args = Args((QmpArgs.CpuDel, slot.Index, 0));
                int cpu = K.Cpus.CpuOfApicId(slot.ApicId);
                int nid = cpu >= 0 ? K.Cpus.CpuToNode(cpu) : -1;
                var r = Machine.Qmp.DeviceDel(args);
                Record("device_del", args, r.Error);
                if (!r.Ok) return false;
                if (K.Cpus.CpuOfApicId(slot.ApicId) >= 0) return false; // the guest refused the eject
                _st.SetPlugged(slot.Index, false);
                if (nid >= 0) _st.BootUntouchedNodes &= ~(1UL << nid);
                return true;
            }
            case OpKind.CpuOnline:
            case OpKind.CpuOffline:
                return WriteCpuOnline((int)op.Arg, op.Kind == OpKind.CpuOnline ? "1" : "0");
            case OpKind.DimmAdd:
            {
                int idx = 0;
                while (_st.DimmNode(idx) >= 0) idx++;
                int nid = (int)op.Arg;
                var obj = Args((QmpArgs.ObjectAdd, idx, 0));
                var r = Machine.Qmp.ObjectAdd(obj);
                Record("object-add", obj, r.Error);
                if (!r.Ok) return false;
                var dev = Args((QmpArgs.DimmAdd, idx, nid));
                r = Machine.Qmp.DeviceAdd(dev);
                Record("device_add", dev, r.Error);
                if (!r.Ok)
                {
                    var del = Args((QmpArgs.ObjectDel, idx, 0));
                    Record("object-del", del, Machine.Qmp.ObjectDel(del).Error);
                    return false;
                }
                _st.SetDimm(idx, nid);
                // A range ejected earlier may come back with the new DIMM: it is memory again.
                string dimmId = DimmId(idx);
                foreach (var b in K.AllMemoryBlocks)
                    if (b.IsOfDevice(dimmId)) _st.Unremove(b.StartPfn, b.EndPfn);
                return true;
            }
            case OpKind.DimmDel:
            {
                int idx = (int)op.Arg;
                string id = DimmId(idx);
                var ranges = _ranges;
                ranges.Clear();
                foreach (var b in K.AllMemoryBlocks)
                    if (b.IsOfDevice(id)) ranges.Add((b.StartPfn, b.EndPfn));
                var args = Args((QmpArgs.DimmDel, idx, 0));
                var r = Machine.Qmp.DeviceDel(args);
                Record("device_del", args, r.Error);
                if (!r.Ok) return false;
                foreach (var b in K.AllMemoryBlocks)
                    if (b.IsOfDevice(id)) return false; // eject refused
                var del = Args((QmpArgs.ObjectDel, idx, 0));
                Record("object-del", del, Machine.Qmp.ObjectDel(del).Error);
                foreach (var range in ranges) _st.Removed.Add(range);
                // The eject offlined the blocks: pages the checker held there were migrated.
                foreach (var (start, end) in ranges) _st.DropPagesIn(start, end);
                _st.BootUntouchedNodes &= ~(1UL << _st.DimmNode(idx));
                _st.SetDimm(idx, -1);
                return true;
            }
            case OpKind.BlockOnline: return WriteBlockState(op.Arg, "online");
            case OpKind.BlockOnlineKernel: return WriteBlockState(op.Arg, "online_kernel");
            case OpKind.BlockOnlineMovable: return WriteBlockState(op.Arg, "online_movable");
            case OpKind.BlockOffline:
            {
                var mb = K.FindMemoryBlock(op.Arg)!;
                long start = mb.StartPfn, end = mb.EndPfn;
                if (!WriteBlockState(op.Arg, "offline")) return false;
                // Pages the checker held there were migrated (the model does not tell where): drop the handles.
                _st.DropPagesIn(start, end);
                return true;
            }
            case OpKind.Modprobe:
            {
                var err = Machine.Modprobe("kvm_intel");
                Record("modprobe", null, null, "kvm_intel");
                if (Machine.Oops is not null) return true;
                if (err != Errno.None) return false;
                KvmLoaded = true;
                return true;
            }
            case OpKind.Rmmod:
            {
                var err = Machine.Rmmod("kvm_intel");
                Record("rmmod", null, null, "kvm_intel");
                if (Machine.Oops is not null) return true;
                KvmLoaded = false;
                return err == Errno.None;
            }
            case OpKind.Alloc: return Alloc(op);
            case OpKind.InjectMemError or OpKind.FailNextAlloc: return Faults.Apply(this, op);
            case OpKind.Free:
            {
                var page = _st.Page((int)op.Arg);
                var err = Machine.PageAlloc.FreePages(page.Pfn, 0);
                if (_steps is not null) Record("free_pages", new Dictionary<string, string> { ["page"] = PageName(op.Arg) }, null);
                _st.SetPage((int)op.Arg, null);
                return err == Errno.None;
            }
        }
        throw new InvalidOperationException("unknown operation " + op);
    }

    private enum QmpArgs { CpuAdd, CpuDel, ObjectAdd, DimmAdd, ObjectDel, DimmDel }

    // The QMP arguments of each operation never change: made once (QMP does not keep or change them).
    private readonly Dictionary<(QmpArgs, int, int), Dictionary<string, string>> _args = [];

    private Dictionary<string, string> Args((QmpArgs Op, int Index, int Node) key) =>
        _args.TryGetValue(key, out var a) ? a : _args[key] = MakeArgs(key);

    private Dictionary<string, string> MakeArgs((QmpArgs Op, int Index, int Node) key)
    {
        int idx = key.Index;
        switch (key.Op)
        {
            case QmpArgs.CpuAdd:
            {
                var slot = SlotOf(idx);
                var a = new Dictionary<string, string>
                {
                    ["driver"] = "qemu64-x86_64-cpu", ["id"] = $"cpu{slot.Index}", ["socket-id"] = slot.SocketId.ToString(),
                };
                if (Machine.Spec.Smp.Dies > 1) a["die-id"] = slot.DieId.ToString();
                a["core-id"] = slot.CoreId.ToString();
                a["thread-id"] = slot.ThreadId.ToString();
                return a;
            }
            case QmpArgs.CpuDel: return new() { ["id"] = $"cpu{idx}" };
            case QmpArgs.ObjectAdd: return new() { ["qom-type"] = "memory-backend-ram", ["id"] = $"memck{idx}", ["size"] = DimmBytes.ToString() };
            case QmpArgs.DimmAdd: return new() { ["driver"] = "pc-dimm", ["id"] = DimmId(idx), ["memdev"] = $"memck{idx}", ["node"] = key.Node.ToString() };
            case QmpArgs.ObjectDel: return new() { ["id"] = $"memck{idx}" };
            case QmpArgs.DimmDel: return new() { ["id"] = DimmId(idx) };
        }
        throw new InvalidOperationException("no QMP arguments for " + key.Op);
    }

    // The QMP id of the checker's DIMM idx ("dimmckN"), made once per index.
    private readonly List<string> _dimmIds = [];

    private string DimmId(int idx)
    {
        while (_dimmIds.Count <= idx) _dimmIds.Add($"dimmck{_dimmIds.Count}");
        return _dimmIds[idx];
    }

    // Scratch for a DIMM eject's ranges (read within the operation).
    private readonly List<(long Start, long End)> _ranges = [];

    private Firmware.CpuSlotSpec SlotOf(long index)
    {
        var slots = Machine.Spec.CpuSlots;
        for (int i = 0; i < slots.Count; i++)
            if (slots[i].Index == index) return slots[i];
        throw new InvalidOperationException($"no CPU slot {index}");
    }

    private static string PageName(long key) => $"n{key / 4}_{((AllocKind)(key % 4)).ToString().ToLowerInvariant()}";

    private static readonly string[] AllocCaller = ["numasim_alloc_step"];

    private bool Alloc(CheckOp op)
    {
        int nid = op.AllocNode;
        var kind = op.AllocKind;
        var (gfp, gfpText) = kind switch
        {
            AllocKind.Movable => (Gfp.GfpHighUserMovable, "GFP_HIGHUSER_MOVABLE"),
            AllocKind.ThisNode => (Gfp.GfpKernel | Gfp.ThisNode, "GFP_KERNEL|__GFP_THISNODE"),
            _ => (Gfp.GfpKernel, "GFP_KERNEL"),
        };
        int cpu = kind == AllocKind.NoNode ? FirstOnlineCpuOf(nid) : 0;
        int target = kind == AllocKind.NoNode ? NumaConstants.NumaNoNode : nid;
        // As ScenarioRunner's alloc_pages step does it.
        var ctx = new AllocContext(cpu, "numasim", 1000, AllocCaller);
        var page = Machine.Guard((Machine.PageAlloc, target, gfp, ctx), static a => a.PageAlloc.AllocPagesNode(a.target, a.gfp, 0, a.ctx), null);
        if (_steps is not null)
        {
            var args = new Dictionary<string, string> { ["nid"] = target.ToString(), ["cpu"] = cpu.ToString(), ["order"] = "0", ["gfp"] = gfpText };
            if (Machine.Oops is null && page is null) args["fails"] = "true";
            else if (Machine.Oops is null) args["as"] = PageName(op.Arg);
            Record("alloc_pages", args, null);
        }
        if (Machine.Oops is not null) return true;
        if (page is null) return false;
        _st.SetPage((int)op.Arg, page);
        return true;
    }

    // Exploring, a write goes straight to the file's store() (the file exists: the operation is enabled); recording,
    // through the sysfs path as the scenario's write step will.
    private bool WriteCpuOnline(int cpu, string value) =>
        _steps is null ? Done(Machine.Subsystems.CpuDevices.WriteOnlineFile(cpu, Line(value))) : Write($"/sys/devices/system/cpu/cpu{cpu}/online", value);

    private bool WriteBlockState(long id, string value) =>
        _steps is null ? Done(Machine.Subsystems.MemoryDevices.WriteStateFile(id, Line(value))) : Write($"/sys/devices/system/memory/memory{id}/state", value);

    /// <summary>The value as echo writes it (with its newline); the operations' values as constants.</summary>
    private static string Line(string value) => value switch
    {
        "0" => "0\n", "1" => "1\n", "online" => "online\n", "online_kernel" => "online_kernel\n",
        "online_movable" => "online_movable\n", "offline" => "offline\n", _ => value + "\n",
    };

    private bool Done(Errno err) => err == Errno.None || Machine.Oops is not null;

    internal bool Write(string path, string value)
    {
        var err = Machine.Write(path, value);
        if (_steps is not null)
        {
            var args = new Dictionary<string, string> { ["path"] = path, ["value"] = value };
            if (err != Errno.None) args["errno"] = err.ToString();
            _steps.Add(new ScenarioStep("write", args, null, 0));
        }
        return err == Errno.None || Machine.Oops is not null;
    }

    internal void Record(string kind, Dictionary<string, string>? args, string? qmpError, string? scalar = null)
    {
        if (_steps is null) return;
        var a = args is null ? new Dictionary<string, string>() : new Dictionary<string, string>(args);
        if (qmpError is not null) a["error"] = qmpError;
        _steps.Add(new ScenarioStep(kind, a, scalar, 0));
    }
}
