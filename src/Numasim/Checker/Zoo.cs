using System.Diagnostics;
using Numasim.Firmware;
using Numasim.Kernel.Profiles;

namespace Numasim.Checker;

/// <summary>A historical bug of the subsystem: the profile with it, the profile with its fix, and where it is cited.</summary>
/// <param name="Commit">the fixing commit (12 hex digits), also the scenario's name under scenarios/zoo/</param>
/// <param name="Fixes">the Fixes: commits (or what introduced it when the fix has no tag)</param>
/// <param name="Versions">the kernel versions that had the bug</param>
public sealed record ZooBug(string Commit, string Subject, string Fixes, string Versions, KernelProfile Buggy, KernelProfile Fixed)
{
    /// <summary>The scenario that replays the counterexample under both profiles (scenarios/zoo/COMMIT.yaml).</summary>
    public string Scenario => $"scenarios/zoo/{Commit}.yaml";
}

/// <summary>What the zoo found for one bug: the buggy profile's shortest counterexample, and the fixed profile's search
/// to the same depth.</summary>
public sealed record ZooOutcome(ZooBug Bug, CheckResult Buggy, TimeSpan BuggyTime, CheckResult? Fixed, TimeSpan FixedTime)
{
    public bool Found => Buggy.Violation is not null;
    public int Depth => Buggy.Violation?.Path.Count ?? Buggy.DepthReached;
    public bool FixedClean => Fixed is { Violation: null } f && f.DepthReached >= Depth;

    /// <summary>The one line `numasim check --zoo` prints.</summary>
    public string Line
    {
        get
        {
            var head = $"{Bug.Commit} {Bug.Subject}: ";
            if (Buggy.Violation is not { } v) return head + $"NOT FOUND to depth {Buggy.DepthReached} in {Buggy.States} states under {Bug.Buggy.Name}";
            var found = $"found at depth {Depth} in {Buggy.States} states ({v.Invariant.Name}, {BuggyTime.TotalSeconds:F1} s)";
            var fix = Fixed switch
            {
                { Violation: { } fv } => $"NOT clean when fixed: {fv.Invariant.Name} at depth {fv.Path.Count} under {Bug.Fixed.Name}",
                { } f => $"clean when fixed ({Bug.Fixed.Name}: {f.States} states to depth {f.DepthReached}, {FixedTime.TotalSeconds:F1} s)",
                null => "fixed profile not run",
            };
            return head + found + "; " + fix;
        }
    }
}

/// <summary>
/// The bug zoo: historical hotplug bugs that the checker rediscovers by itself. Every bug is searched for on the same
/// machine (the oracle machine: node 0 with 1 GiB and two CPUs, node 1 possible without memory or CPUs), with the
/// same operations (CPU and DIMM hot-add and eject, CPU and block on/offline, kvm_intel) and the same built-in
/// invariants, none of which names a bug; only the profile changes.
/// </summary>
public static class Zoo
{
    /// <summary>The oracle machine (shared/oracle/README.md).</summary>
    public const string MachineQemu =
        "-m 1G,slots=4,maxmem=8G -smp 2,maxcpus=4,sockets=4,cores=1,threads=1 " +
        "-object memory-backend-ram,id=m0,size=1G -numa node,nodeid=0,memdev=m0 -numa node,nodeid=1 " +
        "-numa cpu,node-id=0,socket-id=0 -numa cpu,node-id=0,socket-id=1 -numa cpu,node-id=1,socket-id=2 " +
        "-numa cpu,node-id=1,socket-id=3 -numa dist,src=0,dst=1,val=21";

    /// <summary>The operations every zoo search explores.</summary>
    public const string Ops = "cpu,mem,kvm";

    /// <summary>Deepest level a zoo search goes to before it gives up on a bug.</summary>
    public const int MaxDepth = 6;

    public static IReadOnlyList<ZooBug> Bugs { get; } =
    [
        new("46a3679b8190", "mm, memory_hotplug: do not clear numa_node association after hot_remove",
            "e13fe8695c57 (\"cpu-hotplug,memory-hotplug: clear cpu_to_node() when offlining the node\")", "v3.8 to v4.19",
            KernelProfile.V4_19, KernelProfile.V4_20),
        new("2c91f8fc6c99", "mm/memory_hotplug: fix try_offline_node()",
            "60a5a19e7419 (\"memory-hotplug: remove sysfs file of node\"), f1dd2cd13c4b (\"mm, memory_hotplug: do not associate hotadded memory to zones until online\")",
            "v4.13 to v5.4 (fixed in v5.5 by date; 4.19.y, 4.14.y backports)", ZooProfiles.Without2c91f8fc6c99, KernelProfile.V6_1),
        new("d9713679dbd2", "memory_hotplug: fix possible incorrect node_states[N_NORMAL_MEMORY]",
            "none (N_NORMAL_MEMORY was never maintained by memory hotplug before it)", "before v3.8 (2012; release by date)",
            ZooProfiles.Withoutd9713679dbd2, KernelProfile.V6_1),
        new("8f416836c0d5", "mm/page_alloc.c: fix calculation of pgdat->nr_zones",
            "none tagged (init_currently_empty_zone() under f1dd2cd13c4b's move_pfn_range_to_zone(), v4.13)", "v4.13 to v4.18 (2018; release by date)",
            ZooProfiles.Without8f416836c0d5, KernelProfile.V6_1),
        new("712cd386fdc9", "Update start_pfn in zone and pg_data when spanned_pages == 0.",
            "none (a fix to the zone/pgdat shrinking of the same v3.8 hot-remove series)", "v3.8 merge window (no release)",
            ZooProfiles.Without712cd386fdc9, KernelProfile.V6_1),
        new("feee6b298916", "mm/memory_hotplug: shrink zones when offlining memory",
            "d0dc12e86b31 (\"mm/memory_hotplug: optimize memory hotplug\")", "v4.13 to v5.4 (fixed in v5.5 by date; 4.19.y, 4.14.y backports)",
            ZooProfiles.Withoutfeee6b298916, KernelProfile.V6_1),
    ];

    /// <summary>Finds a bug by its commit (a prefix of at least 7 digits).</summary>
    public static ZooBug? Find(string commit) =>
        commit.Length >= 7 ? Bugs.FirstOrDefault(b => b.Commit.StartsWith(commit, StringComparison.OrdinalIgnoreCase)) : null;

    /// <summary>Searches the buggy profile breadth-first to <paramref name="maxDepth"/>; when it finds a violation at
    /// depth d, searches the fixed profile to depth d.</summary>
    public static ZooOutcome Run(ZooBug bug, int maxDepth = MaxDepth, int jobs = 1)
    {
        var spec = QemuCommandLine.Parse(MachineQemu).GetSpecOrThrow();
        var families = OpFamilies.Parse(Ops, out _);
        CheckResult Search(KernelProfile p, int depth, out TimeSpan t)
        {
            var sw = Stopwatch.StartNew();
            var r = new ModelChecker(new CheckOptions { Spec = spec, Profile = p, Depth = depth, Families = families, Jobs = jobs }).Run();
            t = sw.Elapsed;
            return r;
        }
        var buggy = Search(bug.Buggy, maxDepth, out var bt);
        if (buggy.Violation is not { } v) return new ZooOutcome(bug, buggy, bt, null, TimeSpan.Zero);
        var fixd = Search(bug.Fixed, v.Path.Count, out var ft);
        return new ZooOutcome(bug, buggy, bt, fixd, ft);
    }
}
