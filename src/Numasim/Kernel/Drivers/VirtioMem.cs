using Numasim.Kernel.Arch;
using Numasim.Kernel.Hotplug;
using Numasim.Kernel.Mm;
using Numasim.Kernel.Numa;

namespace Numasim.Kernel.Drivers;

/// <summary>
/// One virtio-mem device as drivers/virtio/virtio_mem.c (v6.1, v6.12) drives it (struct virtio_mem): probe and
/// init, the config-change work item that plugs or unplugs toward requested_size, the memory notifier and the
/// online_page callback that keep unplugged parts of added memory blocks away from the buddy ("fake-offline").
/// Sub Block Mode (device blocks smaller than a memory block) and Big Block Mode are in VirtioMem.Sbm.cs and
/// VirtioMem.Bbm.cs. A handle: sizes, flags, the per-block / per-big-block states and the sub-block bitmap are the
/// driver's regions of the compact state (<see cref="Record"/>, the driver's block map).
/// The work item runs to completion when queued (the real one runs on a workqueue within moments); the
/// retry timer (50 s and up) is not modelled.
/// </summary>
public sealed partial class VirtioMem
{
    /// <summary>VIRTIO_MEM_DEFAULT_OFFLINE_THRESHOLD: at most 1 GiB of added memory may stay offline.</summary>
    private const ulong DefaultOfflineThreshold = 1UL << 30;

    /// <summary>struct virtio_mem's values as a record of the compact state (the driver's instances region); the
    /// per-block states and sub-block bitmaps are in the driver's block map under the instance's index.</summary>
    internal struct Record
    {
        public int Index, Device, Nid, Mgid, SbsPerMb;
        public bool InSbm, ConfigChanged, UnplugAllRequired, Broken, WqActive, Pending, HaveUnpluggedMb;
        public ulong PluggedSize, RequestedSize, DeviceBlockSize, Addr, RegionSize, OfflineSize, OfflineThreshold, SbSize, BbSize;
        public long FirstMbId, LastUsableMbId, NextMbId, FirstBbId, LastUsableBbId, NextBbId;
    }

    private readonly KernelContext _k;
    private readonly MemoryHotplug _mhp;
    private readonly IVirtioMemDevice _dev;
    private readonly Snapshots.StateArray<Record> _recs;
    private readonly Snapshots.StateMap _blocks;
    private readonly int _r;

    internal VirtioMem(KernelContext k, MemoryHotplug mhp, IVirtioMemDevice dev, Snapshots.StateArray<Record> recs, Snapshots.StateMap blocks, int r)
    {
        _k = k;
        _mhp = mhp;
        _dev = dev;
        _recs = recs;
        _blocks = blocks;
        _r = r;
    }

    private ref readonly Record R => ref _recs[_r];
    private ref Record M => ref _recs.Mut(_r);

    /// <summary>A key of the driver's block map: this instance, a kind of table, an entry.</summary>
    private long Key(int kind, long entry) => (long)_r << 40 | (long)kind << 36 | entry;

    /// <summary>The virtio device index: the driver's messages say "virtio_mem virtioN:".</summary>
    public int Index => R.Index;

    /// <summary>The device this driver instance drives.</summary>
    public IVirtioMemDevice Device => _dev;

    public ulong PluggedSize { get => R.PluggedSize; private set => M.PluggedSize = value; }
    public ulong RequestedSize { get => R.RequestedSize; private set => M.RequestedSize = value; }
    public ulong DeviceBlockSize { get => R.DeviceBlockSize; private set => M.DeviceBlockSize = value; }
    public int Nid { get => R.Nid; private set => M.Nid = value; }
    public ulong Addr { get => R.Addr; private set => M.Addr = value; }
    public ulong RegionSize { get => R.RegionSize; private set => M.RegionSize = value; }

    /// <summary>The driver runs in Sub Block Mode (else Big Block Mode).</summary>
    public bool InSbm { get => R.InSbm; private set => M.InSbm = value; }

    /// <summary>The memory group (dynamic) all of the device's memory belongs to.</summary>
    public int Mgid { get => R.Mgid; private set => M.Mgid = value; }

    private bool ConfigChangedFlag { get => R.ConfigChanged; set => M.ConfigChanged = value; }
    private bool UnplugAllRequired { get => R.UnplugAllRequired; set => M.UnplugAllRequired = value; }
    private bool Broken { get => R.Broken; set => M.Broken = value; }
    private bool WqActive { get => R.WqActive; set => M.WqActive = value; }
    private bool Pending { get => R.Pending; set => M.Pending = value; }
    private bool HaveUnpluggedMb { get => R.HaveUnpluggedMb; set => M.HaveUnpluggedMb = value; }
    private ulong OfflineSize { get => R.OfflineSize; set => M.OfflineSize = value; }
    private ulong OfflineThreshold { get => R.OfflineThreshold; set => M.OfflineThreshold = value; }
    private ulong SbSize { get => R.SbSize; set => M.SbSize = value; }
    private int SbsPerMb { get => R.SbsPerMb; set => M.SbsPerMb = value; }
    private long FirstMbId { get => R.FirstMbId; set => M.FirstMbId = value; }
    private long LastUsableMbId { get => R.LastUsableMbId; set => M.LastUsableMbId = value; }
    private long NextMbId { get => R.NextMbId; set => M.NextMbId = value; }
    private ulong BbSize { get => R.BbSize; set => M.BbSize = value; }
    private long FirstBbId { get => R.FirstBbId; set => M.FirstBbId = value; }
    private long LastUsableBbId { get => R.LastUsableBbId; set => M.LastUsableBbId = value; }
    private long NextBbId { get => R.NextBbId; set => M.NextBbId = value; }

    private void Info(string msg) => _k.Log.Printk($"virtio_mem virtio{Index}: {msg}");

    private ulong BlockSize => _k.MemoryBlockSize;

    /// <summary>Models virtio_mem_probe(): virtio_mem_init() reads the fixed config, then the first work item runs
    /// to plug requested_size. Returns an errno when the device cannot be used.</summary>
    internal Errno Probe()
    {
        using var call = _k.Trace.Call("virtio_mem_probe", "drivers/virtio/virtio_mem.c", $"virtio{Index}");
        var err = Init();
        if (err != Errno.None) return err;
        ConfigChangedFlag = true;
        Retry();
        return Errno.None;
    }

    /// <summary>Models virtio_mem_init(): plugged size, device block size, node (pxm_to_node() with
    /// VIRTIO_MEM_F_ACPI_PXM, else by the start address), address and region size, and their dmesg lines.</summary>
    private Errno Init()
    {
        PluggedSize = _dev.PluggedSize;
        DeviceBlockSize = _dev.BlockSize;
        Nid = _dev.AcpiPxm ? AcpiNuma.PxmToNode(_k, _dev.NodeId) : NumaConstants.NumaNoNode;
        Addr = _dev.Addr;
        RegionSize = _dev.RegionSize;
        if (Nid == NumaConstants.NumaNoNode) Nid = AcpiNuma.MemoryAddPhysaddrToNid(_k, Addr);
        Info($"start address: 0x{Addr:x}");
        Info($"region size: 0x{RegionSize:x}");
        Info($"device block size: 0x{DeviceBlockSize:x}");
        if (Nid != NumaConstants.NumaNoNode) Info($"nid: {Nid}");
        return InitHotplug();
    }

    /// <summary>Models virtio_mem_init_hotplug(): alignment warnings, the offline threshold, the mode (SBM when a
    /// sub-block — the device block, at least a pageblock — is smaller than a memory block), the first block id,
    /// the dynamic memory group, and the notifiers.</summary>
    private Errno InitHotplug()
    {
        if (Addr % BlockSize != 0)
            _k.Log.Printk($"virtio_mem virtio{Index}: The alignment of the physical start address can make some memory unusable.");
        if ((Addr + RegionSize) % BlockSize != 0)
            _k.Log.Printk($"virtio_mem virtio{Index}: The alignment of the physical end address can make some memory unusable.");
        OfflineThreshold = Math.Max(2 * BlockSize, DefaultOfflineThreshold);
        ulong sbSize = Math.Max(DeviceBlockSize, (ulong)Page.PageblockNrPages << Page.Shift);
        if (sbSize < BlockSize && !Module.ForceBbm)
        {
            InSbm = true;
            SbmInit(sbSize);
        }
        else BbmInit();
        _k.Trace.Decide(InSbm, $"Sub Block Mode: sub-blocks of 0x{SbSize:x} are smaller than a memory block (0x{BlockSize:x}); node {Nid}",
            $"Big Block Mode: big blocks of 0x{BbSize:x}, at least a memory block (0x{BlockSize:x}); node {Nid}");
        Info($"memory block size: 0x{BlockSize:x}");
        Info(InSbm ? $"subblock size: 0x{SbSize:x}" : $"big block size: 0x{BbSize:x}");
        long unitPages = Page.PfnOf(InSbm ? BlockSize : BbSize);
        Mgid = _k.MemoryGroups.RegisterDynamic(Nid, unitPages);
        if (Mgid < 0) return (Errno)(-Mgid);
        if (PluggedSize != 0)
        {
            UnplugAllRequired = true;
            Info("unplugging all memory is required");
        }
        return Errno.None;
    }

    /// <summary>The driver's module parameters (force_bbm, bbm_block_size, unplug_online).</summary>
    internal VirtioMemModule Module { get; init; } = new();

    /// <summary>Models virtio_mem_config_changed(): the config is re-read on the next work item, queued now.</summary>
    internal void ConfigChanged()
    {
        ConfigChangedFlag = true;
        Retry();
    }

    /// <summary>Models virtio_mem_retry() → queue_work() on system_freezable_wq.</summary>
    private void Retry()
    {
        if (WqActive) Pending = true;
        else _k.Workqueue.Queue(_work ??= RunWqAgain);
    }

    private Action? _work;

    /// <summary>The work item: virtio_mem_run_wq(), once more if it was queued while it ran.</summary>
    private void RunWqAgain()
    {
        do
        {
            Pending = false;
            RunWq();
        }
        while (Pending);
    }

    /// <summary>Models virtio_mem_run_wq(): unplug-all when required, refresh the config, clean up leftovers, then
    /// plug or unplug the difference to requested_size. -EAGAIN retries at once; an unknown error marks the device
    /// broken.</summary>
    private void RunWq()
    {
        using var call = _k.Trace.Call("virtio_mem_run_wq", "drivers/virtio/virtio_mem.c", $"virtio{Index}");
        if (Broken) { _k.Trace.Decide("the device is broken: nothing is done"); return; }
        WqActive = true;
        Errno rc;
        do
        {
            rc = Errno.None;
            if (UnplugAllRequired) rc = SendUnplugAllRequest();
            if (ConfigChangedFlag)
            {
                ConfigChangedFlag = false;
                RefreshConfig();
            }
            if (rc == Errno.None) rc = InSbm ? SbmCleanupPendingMb() : BbmCleanupPendingBb();
            if (rc == Errno.None && RequestedSize != PluggedSize)
                _k.Trace.Decide(RequestedSize > PluggedSize, $"requested 0x{RequestedSize:x} > plugged 0x{PluggedSize:x}: plug 0x{RequestedSize - PluggedSize:x}",
                    $"requested 0x{RequestedSize:x} < plugged 0x{PluggedSize:x}: unplug 0x{PluggedSize - RequestedSize:x}");
            if (rc == Errno.None && RequestedSize != PluggedSize)
                rc = RequestedSize > PluggedSize ? PlugRequest(RequestedSize - PluggedSize) : UnplugRequest(PluggedSize - RequestedSize);
            if (rc == Errno.None && InSbm && HaveUnpluggedMb) rc = Errno.EBUSY;
        }
        while (rc == Errno.EAGAIN);
        if (rc is not (Errno.None or Errno.ENOSPC or Errno.EBUSY or Errno.ENOMEM or ErrnoTxtBusy))
        {
            _k.Log.Printk($"virtio_mem virtio{Index}: unknown error, marking device broken: -{(int)rc}");
            _k.Trace.Fail(rc, "an unknown error: the device is marked broken");
            Broken = true;
        }
        WqActive = false;
    }

    /// <summary>ETXTBSY (26): the hypervisor is busy; retried by the timer.</summary>
    private const Errno ErrnoTxtBusy = (Errno)26;

    /// <summary>Models virtio_mem_refresh_config(): plugged size, the last usable block from usable_region_size
    /// (within mhp_get_pluggable_range()), requested size, and the two dmesg lines.</summary>
    private void RefreshConfig()
    {
        PluggedSize = _dev.PluggedSize;
        ulong endAddr = Addr + _dev.UsableRegionSize - 1;
        if (InSbm)
        {
            LastUsableMbId = (long)(endAddr / BlockSize);
            if ((endAddr + 1) % BlockSize != 0) LastUsableMbId--;
        }
        else
        {
            LastUsableBbId = (long)(endAddr / BbSize);
            if ((endAddr + 1) % BbSize != 0) LastUsableBbId--;
        }
        RequestedSize = _dev.RequestedSize;
        Info($"plugged size: 0x{PluggedSize:x}");
        Info($"requested size: 0x{RequestedSize:x}");
    }

    private Errno PlugRequest(ulong diff) => InSbm ? SbmPlugRequest(diff) : BbmPlugRequest(diff);

    private Errno UnplugRequest(ulong diff) => InSbm ? SbmUnplugRequest(diff) : BbmUnplugRequest(diff);

    /// <summary>Models virtio_mem_send_plug_request(): -EAGAIN while a config change is pending; the device's answer
    /// as an errno (NACK -EAGAIN, BUSY -ETXTBSY, ERROR -EINVAL).</summary>
    private Errno SendPlugRequest(ulong addr, ulong size)
    {
        if (ConfigChangedFlag) return Errno.EAGAIN;
        switch (_dev.Plug(addr, size / DeviceBlockSize))
        {
            case VirtioMemResp.Ack: PluggedSize += size; return Errno.None;
            case VirtioMemResp.Nack: return Errno.EAGAIN;
            case VirtioMemResp.Busy: return ErrnoTxtBusy;
            default: return Errno.EINVAL;
        }
    }

    /// <summary>Models virtio_mem_send_unplug_request().</summary>
    private Errno SendUnplugRequest(ulong addr, ulong size)
    {
        if (ConfigChangedFlag) return Errno.EAGAIN;
        switch (_dev.Unplug(addr, size / DeviceBlockSize))
        {
            case VirtioMemResp.Ack: PluggedSize -= size; return Errno.None;
            case VirtioMemResp.Busy: return ErrnoTxtBusy;
            case VirtioMemResp.Error: return Errno.EINVAL;
            default: return Errno.ENOMEM;
        }
    }

    /// <summary>Models virtio_mem_send_unplug_all_request().</summary>
    private Errno SendUnplugAllRequest()
    {
        if (_dev.UnplugAll() != VirtioMemResp.Ack) return ErrnoTxtBusy;
        UnplugAllRequired = false;
        PluggedSize = 0;
        ConfigChangedFlag = true;   // the usable region might have shrunk
        return Errno.None;
    }

    /// <summary>Models virtio_mem_could_add_memory(): adding stays within the offline threshold.</summary>
    private bool CouldAddMemory(ulong size) => size <= OfflineThreshold && OfflineSize + size <= OfflineThreshold;

    /// <summary>Models virtio_mem_add_memory(): add_memory_driver_managed("System RAM (virtio_mem)") into the
    /// device's memory group; the memory may be onlined right away (auto_online_blocks).</summary>
    private Errno AddMemory(ulong addr, ulong size)
    {
        OfflineSize += size;
        var rc = _mhp.AddMemoryResource(Mgid, addr, size, MhpFlags.MergeResource | MhpFlags.NidIsMgid, deviceId: null);
        if (rc != Errno.None)
        {
            OfflineSize -= size;
            Info($"adding memory failed: -{(int)rc}");
        }
        return rc;
    }

    /// <summary>Models virtio_mem_remove_memory(): remove_memory(); on success the work item is queued again.</summary>
    private Errno RemoveMemory(ulong addr, ulong size)
    {
        var rc = _mhp.RemoveMemory(addr, size);
        if (rc == Errno.None)
        {
            OfflineSize -= size;
            Retry();
        }
        return rc;
    }

    /// <summary>Models virtio_mem_offline_and_remove_memory(); v6.12 reduces failures to -ENOMEM or -EBUSY.</summary>
    private Errno OfflineAndRemoveMemory(ulong addr, ulong size)
    {
        var rc = _mhp.OfflineAndRemoveMemory(addr, size);
        if (rc == Errno.None)
        {
            OfflineSize -= size;
            Retry();
            return rc;
        }
        return _k.Profile.VirtioMemRetriesUnpluggedBlocks && rc != Errno.ENOMEM ? Errno.EBUSY : rc;
    }

    /// <summary>Models virtio_mem_overlaps_range() and virtio_mem_contains_range().</summary>
    private bool Overlaps(ulong start, ulong size) => start < Addr + RegionSize && Addr < start + size;

    internal bool Contains(ulong start, ulong size) => start >= Addr && start + size <= Addr + RegionSize;
}

/// <summary>virtio_mem's module parameters: unplug_online (0644, default Y), force_bbm, bbm_block_size (0444).</summary>
public sealed class VirtioMemModule
{
    public bool UnplugOnline { get; set; } = true;
    public bool ForceBbm { get; init; }
    public ulong BbmBlockSize { get; init; }

    /// <summary>The parameters from MODULE.param=value options; a value the parameter type refuses is ignored, as
    /// load_module()'s parse_args() fails only that parameter's set.</summary>
    internal static VirtioMemModule From(IEnumerable<(string Module, string Param, string? Value)> options)
    {
        bool unplugOnline = true, forceBbm = false;
        ulong bbm = 0;
        foreach (var (_, p, v) in options)
        {
            switch (p)
            {
                case "unplug_online": unplugOnline = Init.CmdlineParsing.KstrToBool(v ?? "1") ?? unplugOnline; break;
                case "force_bbm": forceBbm = Init.CmdlineParsing.KstrToBool(v ?? "1") ?? forceBbm; break;
                case "bbm_block_size":
                    if (v is not null && ulong.TryParse(v, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var b)) bbm = b;
                    break;
            }
        }
        return new VirtioMemModule { UnplugOnline = unplugOnline, ForceBbm = forceBbm, BbmBlockSize = bbm };
    }
}
