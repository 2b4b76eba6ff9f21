using System.Globalization;
using Numasim.Kernel.Mm;

namespace Numasim.Kernel.FaultInject;

/// <summary>
/// fail_page_alloc (mm/fail_page_alloc.c, lib/fault-inject.c): page allocations fail on purpose, as a kernel built
/// with CONFIG_FAIL_PAGE_ALLOC=y does once its debugfs knobs are set. Debian's 6.1 and 6.12 are built without
/// CONFIG_FAULT_INJECTION, so this is model-only: the scenario step `fail_page_alloc:` sets the knobs. The knobs and
/// the interval counter and random state are this type's mutable state.
/// </summary>
public sealed class FailPageAlloc
{
    private readonly KernelContext _k;

    /// <summary>The fault_attr as a record of the compact state: knobs, the call count, the random state.</summary>
    private struct Attr
    {
        public int Probability, Times, Space, Verbose, MinOrder;
        public long Interval, Count;
        public bool IgnoreGfpReclaim, IgnoreGfpHighmem;
        public ulong Random;
    }

    private readonly Snapshots.StateArray<Attr> _a;

    internal FailPageAlloc(KernelContext k)
    {
        _k = k;
        _a = new Snapshots.StateArray<Attr>(k.State, "fail_page_alloc", 1);
        // FAULT_ATTR_INITIALIZER's and fail_page_alloc's defaults; get_random_u32_below() stand-in: seeded, deterministic.
        _a.Mut(0) = new Attr { Interval = 1, Times = 1, Verbose = 2, MinOrder = 1, IgnoreGfpReclaim = true, IgnoreGfpHighmem = true, Random = 0x6661696C5F706167 };
    }

    private ref Attr M => ref _a.Mut(0);

    /// <summary>The fault_attr knobs.</summary>
    public int Probability { get => _a[0].Probability; private set => M.Probability = value; }
    public long Interval { get => _a[0].Interval; private set => M.Interval = value; }
    public int Times { get => _a[0].Times; private set => M.Times = value; }
    public int Space { get => _a[0].Space; private set => M.Space = value; }
    public int Verbose { get => _a[0].Verbose; private set => M.Verbose = value; }
    public int MinOrder { get => _a[0].MinOrder; private set => M.MinOrder = value; }
    public bool IgnoreGfpReclaim { get => _a[0].IgnoreGfpReclaim; private set => M.IgnoreGfpReclaim = value; }
    public bool IgnoreGfpHighmem { get => _a[0].IgnoreGfpHighmem; private set => M.IgnoreGfpHighmem = value; }

    /// <summary>Names of the knobs, as /sys/kernel/debug/fail_page_alloc/ spells them.</summary>
    public static readonly IReadOnlyList<string> Knobs =
        ["probability", "interval", "times", "space", "verbose", "min-order", "ignore-gfp-wait", "ignore-gfp-highmem"];

    /// <summary>Sets one knob as a write to its debugfs file would (debugfs_create_ulong/atomic_t/bool, kstrtoull /
    /// kstrtobool); EINVAL for a value the file refuses.</summary>
    public Errno Set(string knob, string value)
    {
        if (knob is "ignore-gfp-wait" or "ignore-gfp-highmem")
        {
            var b = Drivers.DeviceCommon.KstrToBool(value);
            if (b is null) return Errno.EINVAL;
            if (knob == "ignore-gfp-wait") IgnoreGfpReclaim = b.Value; else IgnoreGfpHighmem = b.Value;
            return Errno.None;
        }
        var err = Kstrto.Ll(value, out var v);
        if (err != Errno.None) return err;
        switch (knob)
        {
            case "probability": Probability = (int)Math.Clamp(v, 0, 100); break; // fault_attr's probability is a percentage
            case "interval": Interval = Math.Max(v, 1); break;
            case "times": Times = unchecked((int)v); break;
            case "space": Space = unchecked((int)v); break;
            case "verbose": Verbose = unchecked((int)v); break;
            case "min-order": MinOrder = unchecked((int)v); break;
            default: return Errno.ENOENT;
        }
        return Errno.None;
    }

    /// <summary>Models should_fail_alloc_page() → __should_fail_alloc_page() and should_fail_ex(): true when this
    /// allocation is to fail (it then returns NULL from prepare_alloc_pages(), with no allocation-failure warning).</summary>
    internal bool ShouldFail(Gfp gfp, int order, AllocContext ctx)
    {
        if (order < MinOrder) return false;
        if ((gfp & Gfp.NoFail) != 0) return false;
        if (IgnoreGfpHighmem && (gfp & Gfp.HighMem) != 0) return false;
        if (IgnoreGfpReclaim && (gfp & Gfp.DirectReclaim) != 0) return false;
        if (Probability == 0 || Times == 0) return false;
        int size = 1 << order;
        if (Space > size)
        {
            Space -= size;
            return false;
        }
        if (Interval > 1 && ++M.Count % Interval != 0) return false;
        if (Probability <= (int)(NextRandom() % 100)) return false;
        FailDump(ctx);
        if (Times != -1) Times--;
        return true;
    }

    /// <summary>Models fail_dump(): the notice, and with verbose > 1 the dump_stack() header and call trace.</summary>
    private void FailDump(AllocContext ctx)
    {
        if (Verbose <= 0) return;
        var inv = CultureInfo.InvariantCulture;
        _k.Log.Printk("FAULT_INJECTION: forcing a failure.");
        _k.Log.Printk(string.Create(inv, $"name fail_page_alloc, interval {Interval}, probability {Probability}, space {Space}, times {Times}"));
        if (Verbose <= 1) return;
        _k.Log.Printk(string.Create(inv, $"CPU: {ctx.Cpu} PID: {ctx.Pid} Comm: {ctx.Comm} Not tainted {_k.Profile.Release} #1"));
        _k.Log.Printk("Call Trace:");
        foreach (var f in (string[])["dump_stack_lvl", "should_fail_ex", "prepare_alloc_pages", "__alloc_pages", .. ctx.Caller])
            _k.Log.Printk(" " + f);
    }

    private ulong NextRandom()
    {
        ulong z = M.Random += 0x9E3779B97F4A7C15;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return z ^ (z >> 31);
    }
}
