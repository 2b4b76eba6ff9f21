namespace Numasim.Firmware;

/// <summary>
/// QEMU 7.2's default vCPU model, qemu64 (AMD family 15 model 107, target/i386/cpu.c builtin_x86_defs, legacy cache
/// info), as Debian's 6.1.176 kernel showed it under TCG on this project's hosts (recorded with the oracle guest of
/// ../shared/oracle/README.md, machines "-smp 2,maxcpus=4,sockets=4" and "-smp 8,sockets=2,cores=2,threads=2").
/// A machine file's cpuinfo, caches and vulnerabilities replace these for an imported machine.
/// </summary>
public static class Qemu64Cpu
{
    /// <summary>The leaves 6.1's amd_cpuid4() makes of CPUID 0x80000005/0x80000006 (cpu/cpuN/cache/index0-3);
    /// which CPUs share them, and the id each shows (the APIC id), is the kernel's rule (arch/x86/kernel/cpu/cacheinfo.c).</summary>
    public static readonly IReadOnlyList<CacheSpec> CacheLeaves =
    [
        new(0, []) { Level = 1, Type = "Data", SizeKb = 64, Ways = 2, LineSize = 64, Sets = 512, Partition = 1, Ids = [0] },
        new(1, []) { Level = 1, Type = "Instruction", SizeKb = 64, Ways = 2, LineSize = 64, Sets = 512, Partition = 1, Ids = [0] },
        new(2, []) { Level = 2, Type = "Unified", SizeKb = 512, Ways = 16, LineSize = 64, Sets = 512, Partition = 1, Ids = [0] },
        new(3, []) { Level = 3, Type = "Unified", SizeKb = 16384, Ways = 16, LineSize = 64, Sets = 16384, Partition = 1, Ids = [0] },
    ];

    /// <summary>/proc/cpuinfo's identity fields. "ht" (CPUID.1:EDX.HTT) and "cmp_legacy" (CPUID 0x80000001:ECX) are
    /// set by QEMU when a package holds more than one logical CPU (cpu_x86_cpuid(): threads per package > 1). cpu MHz
    /// and bogomips come from the host's TSC calibration and vary from host to host (and bogomips from CPU to CPU);
    /// the values are those of the first recording.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> CpuInfoFields(SmpSpec smp, IReadOnlyList<string>? features = null)
    {
        bool multi = smp.Dies * smp.Cores * smp.Threads > 1;
        // x86_cap_flags order: pdpe1gb (CPUID 0x80000001 EDX bit 26) comes after nx (bit 20), before lm (bit 29)
        var flags = "fpu de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 "
            + (multi ? "ht " : "") + "syscall nx " + (features?.Contains("pdpe1gb") == true ? "pdpe1gb " : "") + "lm rep_good nopl cpuid extd_apicid pni cx16 hypervisor lahf_lm "
            + (multi ? "cmp_legacy " : "") + "svm 3dnowprefetch vmmcall";
        return
        [
            new("vendor_id", "AuthenticAMD"), new("cpu family", "15"), new("model", "107"),
            new("model name", "QEMU Virtual CPU version 2.5+"), new("stepping", "1"), new("microcode", "0x1000065"),
            new("cpu MHz", "2596.114"), new("cache size", "512 KB"), new("fpu", "yes"), new("fpu_exception", "yes"),
            new("cpuid level", "13"), new("wp", "yes"), new("flags", flags),
            new("bugs", "fxsave_leak sysret_ss_attrs null_seg swapgs_fence amd_e400 spectre_v1 spectre_v2"),
            new("bogomips", "5192.22"), new("TLB size", "1024 4K pages"), new("clflush size", "64"),
            new("cache_alignment", "64"), new("address sizes", "40 bits physical, 48 bits virtual"), new("power management", ""),
        ];
    }

    /// <summary>/sys/devices/system/cpu/vulnerabilities as 6.1.176 shows them on qemu64 under TCG.</summary>
    public static readonly IReadOnlyList<KeyValuePair<string, string>> Vulnerabilities =
    [
        new("gather_data_sampling", "Not affected"), new("indirect_target_selection", "Not affected"),
        new("itlb_multihit", "Not affected"), new("l1tf", "Not affected"), new("mds", "Not affected"),
        new("meltdown", "Not affected"), new("mmio_stale_data", "Not affected"), new("reg_file_data_sampling", "Not affected"),
        new("retbleed", "Not affected"), new("spec_rstack_overflow", "Not affected"), new("spec_store_bypass", "Not affected"),
        new("spectre_v1", "Mitigation: usercopy/swapgs barriers and __user pointer sanitization"),
        new("spectre_v2", "Mitigation: Retpolines; STIBP: disabled; RSB filling; PBRSB-eIBRS: Not affected; BHI: Not affected"),
        new("srbds", "Not affected"), new("tsa", "Not affected"), new("tsx_async_abort", "Not affected"), new("vmscape", "Not affected"),
    ];
}
