namespace Numasim.Scenarios;

/// <summary>
/// The fields each scenario step takes (CONTRACT §4), so that a misspelt field is an error naming it rather than a
/// step that silently does something else. QMP steps pass every field to the modelled QEMU, which refuses unknown
/// properties with QEMU's own message; only `error` and `when` are the scenario's.
/// </summary>
public static class StepFields
{
    private static readonly Dictionary<string, string[]> Fields = new()
    {
        ["write"] = ["path", "value", "errno", .. GuestToolSteps.PolicyFields],
        ["expect"] = ["path", "exists", "equals", "contains", "matches", "dmesg", "present", "oops", "no_oops", "uevent",
                      "vmcs", "node", "page", "zone", "demotion", "delta"],
        ["modprobe"] = ["module", "cpu", "params", "errno"],
        ["rmmod"] = ["module", "errno"],
        ["alloc_pages"] = ["nid", "cpu", "order", "gfp", "as", "fails", "fn", "comm"],
        ["free_pages"] = ["page", "cpu"],
        ["qom-set"] = ["path", "property", "value", "error"],
        ["fail_page_alloc"] = [.. Kernel.FaultInject.FailPageAlloc.Knobs],
        ["numactl"] = GuestToolSteps.NumactlFields,
        ["dd"] = GuestToolSteps.DdFields,
        ["fallocate"] = GuestToolSteps.FallocateFields,
        ["rm"] = [],
        ["task"] = GuestToolSteps.TaskFields,
        ["snapshot"] = ["path"],
    };

    private static readonly HashSet<string> Qmp = ["device_add", "device_del", "object-add", "object-del"];

    /// <summary>Fields every step may carry: `when` (profiles); QMP steps also `error` (QEMU's expected error).</summary>
    public static bool Allows(string kind, string field)
    {
        if (field == "when") return true;
        if (Qmp.Contains(kind)) return true;
        return Fields.TryGetValue(kind, out var f) && f.Contains(field);
    }

    public static string Describe(string kind) =>
        Fields.TryGetValue(kind, out var f) ? "it takes " + string.Join(", ", f) + ", when" : "";
}
