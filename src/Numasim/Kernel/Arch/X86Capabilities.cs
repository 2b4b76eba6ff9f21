using System.Globalization;
using System.Text;
using Numasim.Firmware;

namespace Numasim.Kernel.Arch;

/// <summary>
/// boot_cpu_data.x86_capability of a QEMU qemu64 guest, numbered as arch/x86/include/asm/cpufeatures.h numbers them
/// (word * 32 + bit): the CPUID words get_cpu_cap() reads (QEMU's qemu64 leaves: the model's cpuinfo flags of those
/// words, and leaf 0x80000001 EDX which QEMU fills for an AMD vendor with leaf 1 EDX's CPUID_EXT2_AMD_ALIASES bits),
/// the Linux-defined bits the kernel sets and names in /proc/cpuinfo (rep_good, nopl, cpuid, extd_apicid, vmmcall),
/// and the build's unnamed synthetic bits (<see cref="Profiles.KernelBuild.Qemu64SyntheticCapabilities"/>).
/// </summary>
internal static class X86Capabilities
{
    /// <summary>X86_FEATURE_GBPAGES, "pdpe1gb" (1*32+26).</summary>
    public const int GbPages = 32 + 26;

    /// <summary>CPUID_EXT2_AMD_ALIASES (QEMU target/i386/cpu.h): leaf 1 EDX bits 0-9, 12-17, 23 and 24, which an AMD
    /// vendor's leaf 0x80000001 EDX repeats (x86_cpu_realizefn()).</summary>
    private const uint AmdAliases = 0x0183F3FF;

    /// <summary>The cpuinfo names of the bits qemu64 can show and their numbers (cpufeatures.h; the same in 6.1 and 6.12).</summary>
    private static readonly Dictionary<string, int> Named = new(StringComparer.Ordinal)
    {
        ["fpu"] = 0, ["vme"] = 1, ["de"] = 2, ["pse"] = 3, ["tsc"] = 4, ["msr"] = 5, ["pae"] = 6, ["mce"] = 7, ["cx8"] = 8,
        ["apic"] = 9, ["sep"] = 11, ["mtrr"] = 12, ["pge"] = 13, ["mca"] = 14, ["cmov"] = 15, ["pat"] = 16, ["pse36"] = 17,
        ["clflush"] = 19, ["mmx"] = 23, ["fxsr"] = 24, ["sse"] = 25, ["sse2"] = 26, ["ht"] = 28,
        ["syscall"] = 32 + 11, ["nx"] = 32 + 20, ["pdpe1gb"] = GbPages, ["lm"] = 32 + 29,
        ["rep_good"] = 96 + 16, ["nopl"] = 96 + 20, ["cpuid"] = 96 + 25, ["extd_apicid"] = 96 + 26,
        ["pni"] = 128, ["cx16"] = 128 + 13, ["hypervisor"] = 128 + 31,
        ["lahf_lm"] = 192, ["cmp_legacy"] = 193, ["svm"] = 194, ["3dnowprefetch"] = 200,
        ["vmmcall"] = 256 + 15,
    };

    /// <summary>Whether the boot CPU has the feature: the machine's CPU 0 cpuinfo flags, else qemu64's.</summary>
    public static bool BootCpuHas(KernelContext k, string flag) => Flags(k).Contains(flag);

    /// <summary>The boot CPU's identity fields: the machine's CPU 0 cpuinfo, else qemu64's.</summary>
    private static IReadOnlyList<KeyValuePair<string, string>> BootCpuFields(KernelContext k) =>
        k.Machine.CpuInfo is { } ci ? ci.FirstOrDefault(g => g.Cpus.Contains(0))?.Fields ?? [] : Qemu64Cpu.CpuInfoFields(k.Machine.Smp, k.Machine.CpuFeatures);

    private static string Field(IReadOnlyList<KeyValuePair<string, string>> fields, string key) => fields.FirstOrDefault(f => f.Key == key).Value ?? "";

    private static HashSet<string> Flags(KernelContext k) => [.. Field(BootCpuFields(k), "flags").Split(' ', StringSplitOptions.RemoveEmptyEntries)];

    /// <summary>Whether the boot CPU is QEMU's qemu64 (no identity given, or the identity qemu64 reports: an imported
    /// qemu64 guest), whose synthetic bits the build facts hold.</summary>
    internal static bool IsQemu64(KernelContext k)
    {
        if (k.Machine.CpuInfo is null) return true;
        var f = BootCpuFields(k);
        var q = Qemu64Cpu.CpuInfoFields(k.Machine.Smp);
        return new[] { "vendor_id", "cpu family", "model", "model name" }.All(key => Field(f, key) == Field(q, key));
    }

    /// <summary>The set bits of qemu64's x86_capability in ascending order; null for another CPU (the model knows its
    /// cpuinfo flags, not its synthetic bits).</summary>
    public static IReadOnlyList<int>? Qemu64Bits(KernelContext k)
    {
        if (!IsQemu64(k)) return null;
        var bits = new SortedSet<int>();
        foreach (var f in Flags(k))
            if (Named.TryGetValue(f, out var n)) bits.Add(n);
        foreach (var n in bits.Where(b => b < 32 && (AmdAliases & (1u << b)) != 0).ToList()) bits.Add(32 + n);
        foreach (var n in k.Profile.Build.Qemu64SyntheticCapabilities) bits.Add(n);
        return [.. bits];
    }

    /// <summary>Models print_cpu_modalias(), drivers/base/cpu.c (arch/x86 CPU_FEATURE_TYPEFMT: vendor, family and
    /// model of boot_cpu_data, then every set capability bit); null when the bits are not known.</summary>
    public static string? Modalias(KernelContext k) => ModaliasTexts.GetValue(k, static m => new(Format(m))).Value;

    // boot_cpu_data does not change after boot: the text is made once per machine, when first read (formatting every
    // capability bit at each boot and CPU registration was a tenth of a boot), and shared by cpu/modalias and every
    // cpuN/uevent.
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<KernelContext, System.Runtime.CompilerServices.StrongBox<string?>> ModaliasTexts = new();

    private static string? Format(KernelContext k)
    {
        if (Qemu64Bits(k) is not { } bits) return null;
        var id = BootCpuFields(k);
        int vendor = Field(id, "vendor_id") == "AuthenticAMD" ? 2 : 0; // X86_VENDOR_AMD, X86_VENDOR_INTEL
        int family = int.Parse(Field(id, "cpu family"), CultureInfo.InvariantCulture), model = int.Parse(Field(id, "model"), CultureInfo.InvariantCulture);
        var sb = new StringBuilder().Append(CultureInfo.InvariantCulture, $"cpu:type:x86,ven{vendor:X4}fam{family:X4}mod{model:X4}:feature:");
        foreach (var b in bits) sb.Append(CultureInfo.InvariantCulture, $",{b:X4}");
        return sb.Append('\n').ToString();
    }
}
