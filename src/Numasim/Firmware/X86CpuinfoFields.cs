namespace Numasim.Firmware;

/// <summary>The identity fields x86's show_cpuinfo() (arch/x86/kernel/cpu/proc.c) prints, in its order, with their
/// labels: what a machine's CPUs report (<see cref="MachineSpec.CpuInfo"/>). The topology lines (physical id .. initial
/// apicid) are the kernel's and come after "cache size".</summary>
public static class X86CpuinfoFields
{
    public static readonly IReadOnlyList<(string Key, string Label)> All =
    [
        ("vendor_id", "vendor_id\t: "), ("cpu family", "cpu family\t: "), ("model", "model\t\t: "), ("model name", "model name\t: "),
        ("stepping", "stepping\t: "), ("microcode", "microcode\t: "), ("cpu MHz", "cpu MHz\t\t: "), ("cache size", "cache size\t: "),
        ("fpu", "fpu\t\t: "), ("fpu_exception", "fpu_exception\t: "), ("cpuid level", "cpuid level\t: "), ("wp", "wp\t\t: "),
        ("flags", "flags\t\t: "), ("vmx flags", "vmx flags\t: "), ("bugs", "bugs\t\t: "), ("bogomips", "bogomips\t: "),
        ("TLB size", "TLB size\t: "), ("clflush size", "clflush size\t: "), ("cache_alignment", "cache_alignment\t: "),
        ("address sizes", "address sizes\t: "), ("power management", "power management:"),
    ];

    /// <summary>Index of the first field after the topology lines ("fpu").</summary>
    public const int TopologyBefore = 8;
}
