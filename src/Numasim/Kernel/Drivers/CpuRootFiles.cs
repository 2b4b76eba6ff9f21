using Numasim.Kernel.Arch;
using Numasim.Kernel.Sysfs;

namespace Numasim.Kernel.Drivers;

/// <summary>
/// The files of /sys/devices/system/cpu besides the CPU list masks, and what the ACPI processor driver adds to
/// each cpuN: modalias, nohz_full, crash_hotplug and enabled (drivers/base/cpu.c), smt/ (kernel/cpu.c,
/// CONFIG_HOTPLUG_SMT), cpuidle/ (drivers/cpuidle/sysfs.c), and cpuN/driver with its uevent.
/// </summary>
internal static class CpuRootFiles
{
    /// <summary>Models the cpu_root_attrs and cpu_root_attr_groups beyond the masks, cpuhp_smt_sysfs_init() and
    /// cpuidle_add_interface().</summary>
    public static void Register(KernelContext k, SysfsDirectory root)
    {
        // the text is made when first read (X86Capabilities.Modalias)
        if (X86Capabilities.IsQemu64(k)) root.Attr("modalias", () => X86Capabilities.Modalias(k)!);
        // print_cpus_nohz_full(): "%*pbl" of tick_nohz_full_mask, a NULL cpumask_var_t without nohz_full= (CONFIG_NO_HZ_FULL=y
        // in both configs): vsprintf's error_string() prints "(null)" padded to the field width, nr_cpu_ids
        root.Const("nohz_full", "(null)".PadLeft(k.Cpus.NrCpuIds) + "\n");
        if (k.Profile.Build.CrashHotplug) root.Const("crash_hotplug", CrashHotplugShow());
        if (k.Profile.CpuEnabledFile) root.Attr("enabled", () => SysfsFormat.List(k.Cpus.Present)); // set_cpu_enabled() in register_cpu()
        var smt = root.Dir("smt");
        smt.Attr("control", () => SmtControl(k) + "\n", _ => Errno.EPERM);
        smt.Attr("active", () => (SchedSmtActive(k) ? "1" : "0") + "\n");
        var idle = root.Dir("cpuidle");
        idle.Const("available_governors", string.Concat(k.Profile.Build.CpuidleGovernors.Select(g => g + " ")) + "\n");
        idle.Const("current_driver", "none\n"); // no cpuidle driver registers under TCG (no _CST; haltpoll needs KVM)
        var governor = CurrentGovernor(k) + "\n";
        idle.Attr("current_governor", () => governor, _ => Errno.EINVAL);
        idle.Const("current_governor_ro", governor);
    }

    /// <summary>Models crash_hotplug_show() of the cpu and memory roots: crash_check_hotplug_support(), 0 while no
    /// kexec crash image is loaded.</summary>
    public static string CrashHotplugShow() => "0\n";

    /// <summary>Models cpuidle_find_governor()'s choice at registration: the highest rating; the menu governor (20) beats
    /// the ladder (10) while NO_HZ is enabled.</summary>
    private static string CurrentGovernor(KernelContext k) =>
        k.Profile.Build.CpuidleGovernors.Contains("menu") ? "menu" : k.Profile.Build.CpuidleGovernors[0];

    /// <summary>Models control_show(): cpu_smt_control, CPU_SMT_NOT_SUPPORTED when cpu_smt_check_topology() found one
    /// thread per core (smp_num_siblings 1: qemu64 reports no SMT through CPUID, so each thread is a core).</summary>
    private static string SmtControl(KernelContext k) => SharedCore(k, k.Cpus.Present) ? "on" : "notsupported";

    /// <summary>Models sched_smt_active(): sched_smt_present counts the cores with two or more online threads
    /// (sched_cpu_activate()/sched_cpu_deactivate()).</summary>
    private static bool SchedSmtActive(KernelContext k) => SharedCore(k, k.Cpus.Online);

    private static bool SharedCore(KernelContext k, Numa.Bitmap cpus)
    {
        var cores = new HashSet<(int, int, int)>();
        foreach (var cpu in cpus.Bits())
            if (k.Cpus.Identity(cpu) is { } id && !cores.Add((id.PackageId, id.DieId, id.CoreId))) return true;
        return false;
    }

    /// <summary>Models the ACPI processor driver (drivers/acpi/processor_driver.c, bus cpu_subsys) binding a CPU device
    /// that has its LNXCPU companion: cpuN/driver, and the device's uevent (dev_uevent()'s DRIVER, then cpu_uevent()'s
    /// MODALIAS, whose value print_cpu_modalias() ends with a newline, so the file ends with an empty line).</summary>
    public static void BindProcessorDriver(KernelContext k, SysfsDirectory cpuDir)
    {
        cpuDir.Attr("uevent", () => "DRIVER=processor\n" + (X86Capabilities.Modalias(k) is { } modalias ? "MODALIAS=" + modalias + "\n" : ""),
            _ => Errno.None);
        cpuDir.Link("driver", "/sys/bus/cpu/drivers/processor");
    }
}
