using Numasim.Kernel.Mm;

namespace Numasim.Kernel.Init;

/// <summary>Where start_kernel() reads its command line: setup_arch()'s "Command line:" and parse_early_param(),
/// start_kernel()'s parse_args(), and the files that show it afterwards (/proc/cmdline, /sys/module/memory_hotplug).</summary>
internal static class BootCommandLine
{
    /// <summary>Models the command-line part of setup_arch(), arch/x86/kernel/setup.c: the "Command line:" line,
    /// then parse_early_param() with the lines its handlers print.</summary>
    public static void SetupArch(KernelContext k)
    {
        using var call = k.Trace.Call("parse_early_param", "init/main.c");
        k.Boot = KernelCommandLine.ParseEarly(k.CommandLine, k.Profile);
        k.Trace.Decide($"command line: {k.Boot.Text}");
        k.Log.Printk("Command line: " + k.Boot.Text);
        foreach (var line in k.Boot.EarlyLog) k.Log.Printk(line);
        // e820__finish_early_params(): a user-defined map (mem=) is printed whole.
        if (k.Boot.MemLimit is not null)
        {
            k.Log.Printk("user-defined physical RAM map:");
            foreach (var e in E820(k))
                k.Log.Printk($"user: [mem 0x{e.Start:x16}-0x{e.End - 1:x16}] {TypeName(e.Type)}");
        }
    }

    /// <summary>The E820 map after the command line: mem= removes RAM at and above its limit
    /// (e820__range_remove(..., E820_TYPE_RAM, check_type=1): other types stay).</summary>
    public static IReadOnlyList<Firmware.E820Entry> E820(KernelContext k)
    {
        if (k.Boot.MemLimit is not ulong limit) return k.Firmware.E820;
        var list = new List<Firmware.E820Entry>();
        foreach (var e in k.Firmware.E820)
        {
            if (e.Type != Firmware.E820Type.Ram || e.End <= limit) list.Add(e);
            else if (e.Start < limit) list.Add(e with { Size = limit - e.Start });
        }
        return list;
    }

    /// <summary>e820_print_type()'s names.</summary>
    private static string TypeName(Firmware.E820Type t) => t switch
    {
        Firmware.E820Type.Ram => "usable",
        Firmware.E820Type.Reserved => "reserved",
        Firmware.E820Type.Acpi => "ACPI data",
        Firmware.E820Type.Nvs => "ACPI NVS",
        _ => $"type {(int)t}",
    };

    /// <summary>Models start_kernel()'s "Kernel command line:", parse_args("Booting kernel") and
    /// print_unknown_bootoptions(), init/main.c.</summary>
    public static void ParseArgs(KernelContext k)
    {
        KernelCommandLine.ParseArgs(k.Boot, k.Profile, k.MhpParams, k.Log.Printk, () => MemmapPages(k));
        k.Boot.Hugetlb.Setup(k, k.Log.Printk); // the hugetlb __setup() handlers (the model prints their lines after parse_args()'s)
    }

    /// <summary>memory_block_memmap_on_memory_pages() (v6.12) and what "force" adds to it: the struct pages of one
    /// memory block, rounded up to whole pageblocks.</summary>
    private static (long Memmap, long Wasted) MemmapPages(KernelContext k)
    {
        long pages = (long)((k.Machine.MemoryBlockSizeBytes ?? StartKernel.ProbeMemoryBlockSize(k)) >> Page.Shift);
        long memmap = (pages * Page.StructPageSize + Page.Size - 1) >> Page.Shift;
        long aligned = (memmap + Page.PageblockNrPages - 1) / Page.PageblockNrPages * Page.PageblockNrPages;
        return (aligned, aligned - memmap);
    }

    /// <summary>/proc/cmdline (proc_cmdline_show(): saved_command_line and a newline) and the memory_hotplug
    /// module's parameters.</summary>
    public static void RegisterFiles(KernelContext k)
    {
        k.Fs.MakeDirs("/proc").Attr("cmdline", () => k.Boot.Text + "\n");
        k.MhpParams.RegisterSysfs(k.Fs);
    }
}
