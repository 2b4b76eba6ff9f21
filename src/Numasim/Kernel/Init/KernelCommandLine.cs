using Numasim.Kernel.Drivers;
using Numasim.Kernel.Hotplug;
using Numasim.Kernel.Profiles;

namespace Numasim.Kernel.Init;

/// <summary>
/// The kernel command line as start_kernel() takes it apart (init/main.c, kernel/params.c): parse_early_param()
/// runs every early_param() handler whose name matches; parse_args("Booting kernel") then gives each word to
/// the built-in module parameters (memory_hotplug.*), else to unknown_bootoption(): __setup() handlers
/// (obsolete_checksetup()), unused module parameters (a '.' in the name) silently dropped, the rest passed to
/// init and named in "Unknown kernel command line parameters ...". Handlers the model has change what they
/// change; a known option the model lacks is named in <see cref="BootParams.Unmodelled"/>.
/// </summary>
public static class KernelCommandLine
{
    /// <summary>Options the kernel acts on whose effect lies outside what the model shows (consoles, log levels,
    /// panic, the root file system and init). Not nokaslr: x86's decompressor reads it, the kernel proper has no
    /// handler, so it is passed to init and named in "Unknown kernel command line parameters" (recorded on 6.1).</summary>
    private static readonly HashSet<string> OutsideModel =
    [
        "console", "earlycon", "earlyprintk", "quiet", "loglevel", "ignore_loglevel", "debug", "panic", "printk.time",
        "printk.devkmsg", "root", "rootfstype", "rootwait", "ro", "rw", "init", "rdinit", "initrd", "noapic",
        "BOOT_IMAGE", "systemd.unit", "net.ifnames", "biosdevname", "splash", "nomodeset", "mitigations",
    ];

    /// <summary>Built-in parameters declared with core_param() (no module prefix), which parse_args() sets before
    /// unknown_bootoption() sees the word: kernel/panic.c (panic, panic_print, pause_on_oops, panic_on_warn,
    /// crash_kexec_post_notifiers), init/main.c (initcall_debug), kernel/module/main.c (nomodule).</summary>
    private static readonly HashSet<string> CoreParams =
        ["panic", "panic_print", "pause_on_oops", "panic_on_warn", "crash_kexec_post_notifiers", "initcall_debug", "nomodule"];

    private const string Mhp = "memory_hotplug.";

    /// <summary>Models parse_early_param() in setup_arch(): every word whose name is an early_param() runs its
    /// handler. <paramref name="text"/> null: no command line.</summary>
    public static BootParams ParseEarly(string? text, KernelProfile profile)
    {
        var bp = new BootParams { Text = text ?? "" };
        var known = Known.For(profile);
        foreach (var a in CmdlineParsing.SplitArgs(bp.Text, out var afterDashes))
        {
            bp.AfterDashes = afterDashes;
            foreach (var early in known.Early)
                if (CmdlineParsing.ParamEq(a.Param, early) && !EarlyParam(bp, early, a.Val))
                    bp.EarlyLog.Add($"Malformed early option '{a.Param}'");
        }
        return bp;
    }

    /// <summary>Models start_kernel()'s "Kernel command line:" line, parse_args("Booting kernel", ...) with the
    /// built-in module parameters (memory_hotplug.*, set in <paramref name="mhp"/>) and unknown_bootoption(), and
    /// print_unknown_bootoptions(); each line goes to <paramref name="printk"/>. <paramref name="memmapPages"/> gives
    /// the pages memmap_on_memory=force sets aside per block, for the line set_memmap_mode() prints.</summary>
    public static void ParseArgs(BootParams bp, KernelProfile profile, MemoryHotplugParams mhp, Action<string> printk, Func<(long Memmap, long Wasted)> memmapPages)
    {
        var known = Known.For(profile);
        printk("Kernel command line: " + bp.Text);
        var argv = new List<string>();
        var envp = new List<string>();
        foreach (var a in CmdlineParsing.SplitArgs(bp.Text, out _))
        {
            if (mhp.Exist && a.Param.Length > Mhp.Length && CmdlineParsing.ParamEqN(a.Param, Mhp, Mhp.Length)
                && MemoryHotplugParams.Names.FirstOrDefault(n => CmdlineParsing.ParamEq(a.Param[Mhp.Length..], n)) is { } name)
            {
                bool wasForce = mhp.ForceModeSet;
                var err = mhp.Set(name, a.Val);
                if (err != Errno.None) printk($"Booting kernel: `{a.Val ?? ""}' invalid for parameter `{a.Param}'");
                else if (!wasForce && mhp.ForceModeSet) printk($"Memory hotplug will waste {memmapPages().Wasted} pages in each memory block");
                continue;
            }
            if (CoreParams.Contains(a.Param))
            {
                NoteUnmodelled(bp, a.Param);
                continue;
            }
            if (UnknownBootoption(bp, known, a)) continue;
            if (a.Param.StartsWith("virtio_mem.", StringComparison.Ordinal) || a.Param.StartsWith("virtio-mem.", StringComparison.Ordinal))
            {
                bp.ModuleOptions.Add(("virtio_mem", a.Param[11..].Replace('-', '_'), a.Val));
                continue;
            }
            if (a.Param.Contains('.'))
            {
                // An unused module parameter: a module not built in (virtio_mem.force_bbm=1 waits for modprobe).
                NoteUnmodelled(bp, a.Param);
                continue;
            }
            if (a.Val is not null)
            {
                var env = a.Param + "=" + a.Val;
                int same = envp.FindIndex(e => e.StartsWith(a.Param + "=", StringComparison.Ordinal));
                if (same >= 0) envp[same] = env; else envp.Add(env);
            }
            else argv.Add(a.Param);
        }
        if (argv.Count + envp.Count > 0)
            printk($"Unknown kernel command line parameters \"{string.Join(' ', argv.Concat(envp))}\", will be passed to user space.");
    }

    /// <summary>The options of <paramref name="text"/> the kernel acts on that the model does not model, both phases,
    /// without booting (for warnings where a machine is read).</summary>
    public static IReadOnlyList<string> Unmodelled(string? text, KernelProfile profile)
    {
        var bp = ParseEarly(text, profile);
        var k = new MemoryHotplugParams(profile, new Snapshots.StateStore());
        ParseArgs(bp, profile, k, _ => { }, () => (0, 0));
        return bp.Unmodelled;
    }

    /// <summary>Models unknown_bootoption() up to its env/argv part: the bootloader's identifiers, sysctl aliases and
    /// obsolete_checksetup() (a __setup() name as prefix; an early one needs its exact name). True when consumed.</summary>
    private static bool UnknownBootoption(BootParams bp, Known known, CmdlineParsing.Arg a)
    {
        var line = a.Val is null ? a.Param : a.Param + "=" + a.Val;
        if (line.StartsWith("BOOT_IMAGE=", StringComparison.Ordinal) || line.StartsWith("kexec", StringComparison.Ordinal)) return true;
        if (a.Param is "hardlockup_all_cpu_backtrace" or "hung_task_panic" or "numa_zonelist_order" or "softlockup_all_cpu_backtrace")
        {
            NoteUnmodelled(bp, a.Param);
            return true;
        }
        bool consumed = false;
        foreach (var s in known.Setup)
        {
            if (!CmdlineParsing.ParamEqN(line, s, s.Length)) continue;
            if (s == "memhp_default_state=")
            {
                // setup_memhp_default_state(): an unknown state is ignored; the handler always returns 1.
                var t = MemoryDevices.OnlineTypeFromString(line[s.Length..]);
                if (t is not null) bp.MemhpDefaultState = t;
            }
            else if (s is "hugepages=" or "hugepagesz=" or "default_hugepagesz=") HugetlbOption(bp, s, line[s.Length..]);
            else NoteUnmodelled(bp, s.TrimEnd('='));
            return true;
        }
        foreach (var e in known.Early)
            if (CmdlineParsing.ParamEqN(line, e, e.Length) && (line.Length == e.Length || line[e.Length] == '='))
                consumed = true;
        return consumed;
    }

    /// <summary>Runs the early_param() handler of <paramref name="name"/>; false when it returns an error
    /// (do_early_param() then prints "Malformed early option").</summary>
    private static bool EarlyParam(BootParams bp, string name, string? val)
    {
        switch (name)
        {
            case "movable_node":   // cmdline_parse_movable_node()
                bp.MovableNode = true;
                return true;
            case "kernelcore":     // cmdline_parse_kernelcore()
                if (val is null)
                {
                    // parse_option_str(NULL, "mirror") dereferences NULL: the real kernel dies here, before any console.
                    bp.Warnings.Add("'kernelcore' without a value: cmdline_parse_kernelcore() passes NULL to parse_option_str(), which dereferences it; the real kernel (6.1, 6.12) does not boot. The model carries on as if the option were absent.");
                    return true;
                }
                if (CmdlineParsing.ParseOptionStr(val, "mirror"))
                {
                    bp.MirroredKernelcore = true;
                    return true;
                }
                return ParseCore(val, out var kc, out var kp) && Set(() => { bp.RequiredKernelcore = kc; bp.RequiredKernelcorePercent = kp; });
            case "movablecore":    // cmdline_parse_movablecore()
                return ParseCore(val, out var mc, out var mp) && Set(() => { bp.RequiredMovablecore = mc; bp.RequiredMovablecorePercent = mp; });
            case "mem":            // parse_memopt(), arch/x86/kernel/e820.c
            {
                if (val is null) return false;
                if (val == "nopentium")
                {
                    bp.EarlyLog.Add("mem=nopentium ignored! (only supported on x86_32)");
                    return false;
                }
                ulong size = CmdlineParsing.Memparse(val, out _);
                if (size == 0) return false;   // "Don't remove all memory when getting mem={invalid}"
                bp.MemLimit = size;
                // e820__range_remove(mem_size, ULLONG_MAX - mem_size, E820_TYPE_RAM, 1), printed at KERN_DEBUG
                bp.EarlyLog.Add($"e820: remove [mem 0x{size:x8}-0xfffffffffffffffe] usable");
                return true;
            }
            case "numa":           // numa_setup(), arch/x86/mm/numa.c
                if (val is null) return false;
                if (val.StartsWith("off", StringComparison.Ordinal)) bp.NumaOff = true;
                if (val.StartsWith("fake=", StringComparison.Ordinal))
                {
                    bp.NumaFake = val[5..];
                    NoteUnmodelled(bp, "numa=fake");   // numa_emulation() is not modelled yet: the nodes stay the firmware's
                }
                if (val.StartsWith("noacpi", StringComparison.Ordinal)) bp.NumaNoAcpi = true;
                if (val.StartsWith("nohmat", StringComparison.Ordinal)) NoteUnmodelled(bp, "numa=nohmat");
                return true;
            case "nr_cpus":        // nrcpus(), kernel/smp.c: a hard limit below the current nr_cpu_ids
                if (CmdlineParsing.GetOption(val, out int nr) != 0 && nr > 0 && nr < BootParams.NrCpus)
                    bp.NrCpuIdsLimit = Math.Min(nr, bp.NrCpuIdsLimit ?? nr);
                return true;
            case "maxcpus":        // maxcpus(), kernel/smp.c: get_option() leaves the value alone when no number
                if (CmdlineParsing.GetOption(val, out int max) != 0) bp.SetupMaxCpus = max;
                return true;
            case "noreplace-smp":  // setup_noreplace_smp(), arch/x86/kernel/alternative.c
                bp.NoReplaceSmp = true;
                return true;
            case "nosmp":          // nosmp()
                bp.SetupMaxCpus = 0;
                return true;
            case "possible_cpus":  // _setup_possible_cpus() (6.1) / setup_possible_cpus() (6.12)
                if (CmdlineParsing.GetOption(val, out int pc) != 0) bp.PossibleCpus = pc;
                return true;
            case "console":
                return true;
            case "memblock":       // early_memblock(), mm/memblock.c: "debug" prints every memblock call; the model
                                   // keeps those calls as BootReservations items (numasim boot --reservations)
                if (val is not null && val.Contains("debug", StringComparison.Ordinal)) bp.MemblockDebug = true;
                return true;
            default:
                NoteUnmodelled(bp, name);
                return true;
        }
    }

    private static bool Set(Action a)
    {
        a();
        return true;
    }

    /// <summary>Models cmdline_parse_core(): "N%" a percentage, otherwise memparse() bytes (in pages); no value is -EINVAL.</summary>
    private static bool ParseCore(string? p, out long pages, out long percent)
    {
        pages = percent = 0;
        if (p is null) return false;
        ulong v = CmdlineParsing.SimpleStrtoull(p, 0, out int end);
        if (end < p.Length && p[end] == '%')
        {
            percent = (long)v;
            return true;
        }
        pages = (long)(CmdlineParsing.Memparse(p, out _) >> Mm.Page.Shift);
        return true;
    }

    /// <summary>Keeps a hugetlb option for its handler (Mm.HugetlbCmdline, run with the kernel's state).</summary>
    private static void HugetlbOption(BootParams bp, string setup, string value) => bp.Hugetlb.Words.Add((setup, value));

    private static void NoteUnmodelled(BootParams bp, string name)
    {
        var n = name.Split('=')[0];
        if (OutsideModel.Contains(n) || bp.Unmodelled.Contains(n)) return;
        bp.Unmodelled.Add(n);
    }

    /// <summary>The early_param() and __setup() names of the profile's kernel, split once per table.</summary>
    private sealed class Known
    {
        public required string[] Early { get; init; }
        public required string[] Setup { get; init; }

        // Keyed by the profile object: a key of the two name lists hashed and compared kilobytes of text at every
        // lookup (two per boot, 4% of the oracle machine's boot).
        private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<KernelProfile, Known> Cache = new();

        public static Known For(KernelProfile p) => Cache.GetValue(p, static q => new Known
        {
            Early = q.EarlyParamNames.Split((char[])[' ', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries),
            Setup = q.SetupParamNames.Split((char[])[' ', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries),
        });
    }
}
