using Numasim.Kernel;

namespace Numasim.Checker;

/// <summary>The checker's fault-injection operations (family "fault", taken only with --ops fault): the memory
/// notifier error injector and fail_page_alloc, applied as scenario steps would apply them.</summary>
internal static class Faults
{
    private const string Knobs = "/sys/kernel/debug/notifier-error-inject/memory/actions/";

    public static void EnabledOps(Machine m, List<CheckOp> ops)
    {
        var inj = m.Modules.MemoryErrorInject;
        if (!inj.Loaded || inj.GoingOfflineError == 0) ops.Add(new(OpKind.InjectMemError, 0));
        if (!inj.Loaded || inj.GoingOnlineError == 0) ops.Add(new(OpKind.InjectMemError, 1));
        if (inj.Loaded && (inj.GoingOfflineError != 0 || inj.GoingOnlineError != 0)) ops.Add(new(OpKind.InjectMemError, 2));
        var f = m.PageAlloc.FailPageAlloc;
        if (f.Probability == 0 || f.Times == 0) ops.Add(new(OpKind.FailNextAlloc, 0));
    }

    public static bool Apply(CheckDriver d, CheckOp op)
    {
        var m = d.Machine;
        if (op.Kind == OpKind.FailNextAlloc)
        {
            var knobs = new Dictionary<string, string> { ["probability"] = "100", ["times"] = "1", ["min-order"] = "0", ["ignore-gfp-wait"] = "N", ["ignore-gfp-highmem"] = "N", ["verbose"] = "1" };
            foreach (var (k, v) in knobs) m.PageAlloc.FailPageAlloc.Set(k, v);
            d.Record("fail_page_alloc", knobs, null);
            return true;
        }
        if (!m.Modules.IsLoaded("memory_notifier_error_inject"))
        {
            if (m.Modprobe("memory-notifier-error-inject") != Errno.None) return false;
            d.Record("modprobe", new Dictionary<string, string> { ["module"] = "memory-notifier-error-inject" }, null);
        }
        return op.Arg switch
        {
            0 => d.Write(Knobs + "MEM_GOING_OFFLINE/error", "-16"),
            1 => d.Write(Knobs + "MEM_GOING_ONLINE/error", "-16"),
            _ => d.Write(Knobs + "MEM_GOING_OFFLINE/error", "0") & d.Write(Knobs + "MEM_GOING_ONLINE/error", "0"),
        };
    }

    /// <summary>The fault-injection state, for the state hash: two injected errors, loaded, and fail_page_alloc's armed knobs.</summary>
    public static ulong Fingerprint(Machine m)
    {
        var inj = m.Modules.MemoryErrorInject;
        var f = m.PageAlloc.FailPageAlloc;
        ulong v = (inj.Loaded ? 1UL : 0) | (ulong)(uint)(-inj.GoingOfflineError) << 1 | (ulong)(uint)(-inj.GoingOnlineError) << 13;
        if (f.Probability > 0 && f.Times != 0)
            v |= 1UL << 25 | (ulong)(uint)f.Probability << 26 | (ulong)(f.Times & 0xff) << 33 | (ulong)(uint)f.MinOrder << 41
               | (f.IgnoreGfpReclaim ? 1UL << 50 : 0) | (f.IgnoreGfpHighmem ? 1UL << 51 : 0) | (ulong)(f.Interval & 0xff) << 52;
        return v;
    }
}
