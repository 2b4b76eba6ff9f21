namespace Numasim.Firmware;

public sealed partial record MachineSpec
{
    /// <summary>-machine hmat=on and its -numa options: the ACPI HMAT QEMU builds; null without hmat=on.</summary>
    public HmatSpec? Hmat { get; init; }

    /// <summary>vCPU feature flags beyond qemu64's that the kernel acts on (QEMU's <c>-cpu qemu64,+pdpe1gb</c>; machine
    /// file <c>cpu_features:</c>): "pdpe1gb" (X86_FEATURE_GBPAGES) makes the 1 GiB hstate exist.</summary>
    public IReadOnlyList<string> CpuFeatures { get; init; } = [];
}
