using System.Diagnostics;
using System.Text.Json.Nodes;
using Numasim.Scenarios;

namespace Numasim.Oracle;

/// <summary>
/// After a virtio-mem device_add or a qom-set of its requested-size, the guest's virtio_mem driver plugs, adds and
/// onlines memory from a work item, asynchronously. The oracle waits until QEMU's plugged "size" has reached
/// "requested-size" (or stopped moving: the guest may not be able to get there) and the guest's memory blocks and
/// MemTotal have stopped changing, so that the next step sees what the driver finished with, as the model does.
/// </summary>
internal static class VirtioMemSettle
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(90);

    /// <summary>Waits; returns a note for the step's text ("" when it settled as asked).</summary>
    public static string Wait(QemuGuest g, ScenarioStep step)
    {
        var id = step.Kind == "qom-set"
            ? step.Args.GetValueOrDefault("path", "").Split('/').LastOrDefault()
            : step.Args.GetValueOrDefault("id");
        return string.IsNullOrEmpty(id) ? "" : WaitDevice(g, id);
    }

    /// <summary>Waits for the machine's cold-plugged virtio-mem devices (-device virtio-mem-pci): the driver, loaded
    /// before the first step, plugs their requested size from its work item as a device_add's would be.</summary>
    public static void WaitColdPlugged(QemuGuest g, Scenario sc)
    {
        if (sc.MachineQemu is null) return;
        foreach (var d in Firmware.QemuCommandLine.Parse(sc.MachineQemu).Spec?.Devices ?? [])
            if (d.Any(p => p.Key == "driver" && p.Value == Hypervisor.VirtioMemDevice.Driver)
                && d.FirstOrDefault(p => p.Key == "id").Value is { Length: > 0 } id)
            {
                var note = WaitDevice(g, id);
                if (note.Length > 0) throw new GuestException($"cold-plugged {id}:{note}");
            }
    }

    private static string WaitDevice(QemuGuest g, string id)
    {
        var path = "/machine/peripheral/" + id;
        var sw = Stopwatch.StartNew();
        ulong last = ulong.MaxValue;
        int still = 0;
        while (sw.Elapsed < Limit)
        {
            ulong size = Get(g, path, "size"), requested = Get(g, path, "requested-size");
            if (size == requested) break;
            still = size == last ? still + 1 : 0;
            if (still >= 10) break;   // no progress for 5 s: the guest stopped (threshold, busy memory)
            last = size;
            Thread.Sleep(500);
        }
        // the last block's add and online come after its plug request was answered
        string before = GuestState(g);
        while (sw.Elapsed < Limit)
        {
            Thread.Sleep(500);
            string now = GuestState(g);
            if (now == before) return "";
            before = now;
        }
        return $" (the guest had not settled after {Limit.TotalSeconds:0} s)";
    }

    private static ulong Get(QemuGuest g, string path, string prop)
    {
        var r = g.Query("qom-get", new JsonObject { ["path"] = path, ["property"] = prop }, out _);
        return r is JsonValue v && v.TryGetValue(out ulong n) ? n : 0;
    }

    private static string GuestState(QemuGuest g) =>
        g.Shell("cat /sys/devices/system/memory/memory*/state 2>/dev/null | wc -l; grep -c online /sys/devices/system/memory/memory*/state 2>/dev/null | grep -c :1; grep MemTotal /proc/meminfo; dmesg | wc -l");
}
