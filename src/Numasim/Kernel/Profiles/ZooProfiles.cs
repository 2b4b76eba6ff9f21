namespace Numasim.Kernel.Profiles;

/// <summary>
/// The bug zoo's kernels: v6.1 with one historical fix taken out (a <see cref="KernelProfile"/> switch named after the
/// fixing commit), so that the buggy behaviour runs on today's model of everything else. Named "zoo-COMMIT"; the
/// checker's zoo (Checker/Zoo.cs) pairs each with the profile that has the fix.
/// </summary>
public static class ZooProfiles
{
    private static KernelProfile Without(string commit, Func<KernelProfile, KernelProfile> revert) =>
        revert(KernelProfile.V6_1) with { Name = "zoo-" + commit, Release = "6.1.0-zoo-" + commit };

    /// <summary>v6.1 without 2c91f8fc6c99: try_offline_node() walks the node's span.</summary>
    public static readonly KernelProfile Without2c91f8fc6c99 = Without("2c91f8fc6c99", p => p with { Fix2c91f8fc6c99 = false });

    /// <summary>v6.1 without d9713679dbd2: memory hotplug leaves N_NORMAL_MEMORY alone.</summary>
    public static readonly KernelProfile Withoutd9713679dbd2 = Without("d9713679dbd2", p => p with { Fixd9713679dbd2 = false });

    /// <summary>v6.1 without 8f416836c0d5: init_currently_empty_zone() sets nr_zones unconditionally.</summary>
    public static readonly KernelProfile Without8f416836c0d5 = Without("8f416836c0d5", p => p with { Fix8f416836c0d5 = false });

    /// <summary>v6.1 without 712cd386fdc9: an emptied zone keeps start_pfn 0 when it grows again.</summary>
    public static readonly KernelProfile Without712cd386fdc9 = Without("712cd386fdc9", p => p with { Fix712cd386fdc9 = false });

    /// <summary>v6.1 without feee6b298916: zone spans shrink only when memory is removed, not when it goes offline.</summary>
    public static readonly KernelProfile Withoutfeee6b298916 = Without("feee6b298916", p => p with { Fixfeee6b298916 = false });

    /// <summary>Every zoo profile.</summary>
    public static IReadOnlyList<KernelProfile> All { get; } =
        [Without2c91f8fc6c99, Withoutd9713679dbd2, Without8f416836c0d5, Without712cd386fdc9, Withoutfeee6b298916];

    /// <summary>A zoo profile by name ("zoo-2c91f8fc6c99"); null when none has it.</summary>
    public static KernelProfile? Find(string name) => All.FirstOrDefault(p => p.Name == name);
}
