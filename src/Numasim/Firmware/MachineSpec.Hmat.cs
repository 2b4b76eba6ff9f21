namespace Numasim.Firmware;

public sealed partial record MachineSpec
{
    /// <summary>-machine hmat=on and its -numa options: the ACPI HMAT QEMU builds; null without hmat=on.</summary>
    public HmatSpec? Hmat { get; init; }
}
