using Numasim.Kernel.Numa;

namespace Numasim.Kernel.Sysfs;

/// <summary>The text formats sysfs show() functions share (sysfs_emit of "%*pbl", "%*pb", numbers).</summary>
public static class SysfsFormat
{
    /// <summary>A nodemask or cpumask as "%*pbl\n".</summary>
    public static string List(Bitmap mask) => mask.ToListString() + "\n";

    /// <summary>A cpumask as "%*pb\n" over nr_cpu_ids bits (cpumap_print_to_pagebuf()).</summary>
    public static string Mask(Bitmap mask, int nbits) => mask.ToMaskString(nbits) + "\n";

    public static string Line(object value) => value + "\n";
}
