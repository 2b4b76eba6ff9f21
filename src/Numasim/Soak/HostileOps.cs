using Numasim.Checker;
using Numasim.Kernel;
using Numasim.Kernel.Drivers;
using Numasim.Scenarios;

namespace Numasim.Soak;

/// <summary>
/// What the checker's operations leave out and a soak adds: sysfs writes of any value to the files a user writes
/// (and to read-only and missing ones), QMP commands with wrong arguments, and the memory notifier error
/// injector. Each is run against the machine and described as the scenario step that replays it.
/// </summary>
internal static class HostileOps
{
    private static readonly string[] Values =
    [
        "online", "offline", "online_kernel", "online_movable", "1", "0", "on", "off", "y", "N", "", "onlin", "online\n\n",
        "2", "-1", "0x1", "99999999999999999999", "online_movable ", " 1", "\u00e9", "offline\0", "-12", "-16", "abc",
    ];

    private static readonly string[] InjectErrors = ["0", "-12", "-16", "-1", "-22", "-4095", "5", "x"];

    /// <summary>One hostile step chosen by <paramref name="d"/>; returns the step as written and the errno or QMP error seen.</summary>
    public static (ScenarioStep Step, Errno Errno) Run(CheckDriver driver, StepDraw d)
    {
        var m = driver.Machine;
        switch (d.Pick % 4)
        {
            case 0:
            case 1:
            {
                var path = WritablePath(m, d.Arg);
                var value = Values[d.Value % (ulong)Values.Length];
                var err = m.Write(path, value);
                return (Write(path, value, err), err);
            }
            case 2:
            {
                var args = BadQmp(m, d.Arg, d.Value, out var kind);
                var r = kind switch
                {
                    "device_add" => m.Qmp.DeviceAdd(args),
                    "device_del" => m.Qmp.DeviceDel(args),
                    "object-add" => m.Qmp.ObjectAdd(args),
                    _ => m.Qmp.ObjectDel(args),
                };
                var a = new Dictionary<string, string>(args);
                if (!r.Ok) a["error"] = r.Error!;
                return (new ScenarioStep(kind, a, null, 0), Errno.None);
            }
            default:
            {
                const string knob = "/sys/kernel/debug/notifier-error-inject/memory/actions/";
                if (!m.Modules.IsLoaded("memory_notifier_error_inject") || d.Arg % 8 == 0)
                {
                    bool load = !m.Modules.IsLoaded("memory_notifier_error_inject");
                    var e = load ? m.Modprobe("memory-notifier-error-inject") : m.Rmmod("memory-notifier-error-inject");
                    var a = new Dictionary<string, string> { ["module"] = "memory-notifier-error-inject" };
                    if (e != Errno.None) a["errno"] = e.ToString();
                    return (new ScenarioStep(load ? "modprobe" : "rmmod", a, null, 0), e);
                }
                var path = knob + (d.Arg % 2 == 0 ? "MEM_GOING_OFFLINE" : "MEM_GOING_ONLINE") + "/error";
                var value = InjectErrors[d.Value % (ulong)InjectErrors.Length];
                var err = m.Write(path, value);
                return (Write(path, value, err), err);
            }
        }
    }

    private static ScenarioStep Write(string path, string value, Errno err)
    {
        var a = new Dictionary<string, string> { ["path"] = path, ["value"] = value };
        if (err != Errno.None) a["errno"] = err.ToString();
        return new ScenarioStep("write", a, null, 0);
    }

    /// <summary>A file of the running machine a user writes, or one a write must refuse.</summary>
    private static string WritablePath(Machine m, ulong pick)
    {
        var k = m.Kernel;
        var blocks = k.AllMemoryBlocks.ToList();
        switch (pick % 8)
        {
            case 0 or 1 or 2 when blocks.Count > 0:
            {
                var mb = blocks[(int)(pick / 8 % (ulong)blocks.Count)];
                return $"/sys/devices/system/memory/memory{mb.Id}/{(pick % 2 == 0 ? "state" : "online")}";
            }
            case 3:
                return $"/sys/devices/system/cpu/cpu{pick / 8 % (ulong)Math.Max(1, k.Cpus.NrCpuIds)}/online";
            case 4:
                return "/sys/devices/system/memory/auto_online_blocks";
            case 5:
                return (pick / 8 % 3) switch
                {
                    0 => "/sys/devices/system/node/online",          // read-only: EACCES
                    1 => "/sys/devices/system/memory/memory9999/state", // missing: ENOENT
                    _ => "/sys/devices/system/memory/soft_offline_page",
                };
            case 6:
                return $"/sys/devices/system/cpu/cpu{pick / 8 % 4}/hotplug/fail";
            default:
                return "/proc/sys/vm/min_free_kbytes";
        }
    }

    /// <summary>A QMP command with a wrong, missing or out-of-range argument.</summary>
    private static Dictionary<string, string> BadQmp(Machine m, ulong pick, ulong value, out string kind)
    {
        string[] nodes = ["abc", "99999999999", "-1", "", "0x0", "7", "0"];
        var node = nodes[value % (ulong)nodes.Length];
        switch (pick % 5)
        {
            case 0:
                kind = "device_add";
                return new() { ["driver"] = "pc-dimm", ["id"] = $"bad{value % 3}", ["memdev"] = "nosuch", ["node"] = node };
            case 1:
                kind = "device_add";
                return new() { ["driver"] = "qemu64-x86_64-cpu", ["id"] = $"badcpu{value % 3}", ["socket-id"] = node, ["core-id"] = "0", ["thread-id"] = "0" };
            case 2:
                kind = "device_del";
                return new() { ["id"] = value % 2 == 0 ? "nosuch" : "memck0" };
            case 3:
                kind = "object-add";
                return new() { ["qom-type"] = value % 2 == 0 ? "memory-backend-file" : "memory-backend-ram", ["id"] = $"memck{value % 3}", ["size"] = value % 3 == 0 ? "0" : "1G" };
            default:
                kind = "object-del";
                return new() { ["id"] = value % 2 == 0 ? "memck0" : "m0" };
        }
    }
}
