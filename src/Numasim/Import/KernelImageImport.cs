using System.Globalization;

namespace Numasim.Import;

/// <summary>/proc/iomem's "Kernel code" resource: where that boot put the kernel image (the machine file's
/// kernel_phys_addr), which decides where the early reservations around it go.</summary>
internal static class KernelImageImport
{
    /// <summary>The image's physical start, or null (no /proc/iomem, or a read that hid the addresses).</summary>
    public static ulong? Read(DumpTree t, ImportLog log)
    {
        var text = t.TryRead("proc/iomem");
        if (text is null) return null;
        foreach (var line in text.Split('\n'))
        {
            // "  01000000-0225b13f : Kernel code": a child of a System RAM resource, so indented
            int colon = line.IndexOf(" : ", StringComparison.Ordinal);
            if (colon < 0 || line[(colon + 3)..].Trim() != "Kernel code") continue;
            var range = line[..colon].Trim();
            int dash = range.IndexOf('-');
            if (dash < 0 || !ulong.TryParse(range[..dash], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var start))
            {
                log.Note($"proc/iomem: 'Kernel code' range '{range}' is not an address range; kernel_phys_addr left to the profile's CONFIG_PHYSICAL_START");
                return null;
            }
            if (start == 0)
            {
                // iomem_is_exclusive()/kptr restriction: a reader without CAP_SYS_ADMIN sees every address as 0
                log.Note("proc/iomem: 'Kernel code' reads 0 (read without CAP_SYS_ADMIN); kernel_phys_addr left to the profile's CONFIG_PHYSICAL_START");
                return null;
            }
            if (start % (2UL << 20) != 0 || start < 1UL << 20)
            {
                log.Note($"proc/iomem: 'Kernel code' at 0x{start:x} is not 2 MiB aligned above 1 MiB (CONFIG_PHYSICAL_ALIGN of x86_64); kernel_phys_addr not carried");
                return null;
            }
            return start;
        }
        return null;
    }
}
