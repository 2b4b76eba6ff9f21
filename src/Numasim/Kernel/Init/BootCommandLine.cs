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
        k.Boot = KernelCommandLine.ParseEarly(k.Machine.CommandLine, k.Profile);
        k.Log.Printk("Command line: " + k.Boot.Text);
        foreach (var line in k.Boot.EarlyLog) k.Log.Printk(line);
    }

    /// <summary>Models start_kernel()'s "Kernel command line:", parse_args("Booting kernel") and
    /// print_unknown_bootoptions(), init/main.c.</summary>
    public static void ParseArgs(KernelContext k) =>
        KernelCommandLine.ParseArgs(k.Boot, k.Profile, k.MhpParams, k.Log.Printk, () => MemmapPages(k));

    /// <summary>memory_block_memmap_on_memory_pages() (v6.12) and what "force" adds to it: the struct pages of one
    /// memory block, rounded up to whole pageblocks.</summary>
    private static (long Memmap, long Wasted) MemmapPages(KernelContext k)
    {
        long pages = (long)(StartKernel.ProbeMemoryBlockSize(k) >> Page.Shift);
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
