using Numasim.Firmware;
using Numasim.Hypervisor;
using Numasim.Kernel.Mm;
using Numasim.Kernel;
using Numasim.Kernel.Init;
using Numasim.Kernel.Log;
using Numasim.Kernel.Profiles;
using Numasim.Kernel.Sysfs;

namespace Numasim;

/// <summary>
/// The facade every user of the model goes through (CLI, scenarios, checker, oracle, import): boot a
/// machine under a kernel profile, read and write its /sys and /proc, send hypervisor events, read the log.
/// </summary>
public sealed class Machine
{
    private readonly KernelSubsystems _s;

    private Machine(MachineSpec spec, KernelProfile profile, bool traceBoot = false)
    {
        Spec = spec;
        Profile = profile;
        // QEMU's start-up: the machine's firmware, and the DIMMs given on its command line plugged before the guest runs
        // (QEMU's device memory is compact state too: the store is made first)
        var state = new Snapshots.StateStore();
        var deviceMemory = DeviceMemory.For(spec, state);
        var (dimms, error) = PcMachine.ColdPlug(spec, deviceMemory);
        if (error is not null) throw new ArgumentException("pc-dimm " + error);
        var firmware = PcMachine.Build(spec) with { ColdPlugged = dimms };
        var k = new KernelContext(firmware, spec, profile, state);
        if (traceBoot) k.Trace.Start();
        _s = new KernelSubsystems(k);
        StartKernel.Run(_s);
        Qmp = new Qmp(spec, k, _s.Acpi, deviceMemory, _s.VirtioMem);
        Qmp.ColdPlugDevices();
        _oops = new Snapshots.StateArray<char>(k.State, "oops report");
        MachineRegions = k.State.Regions.Count;
    }

    // The oops report (empty while the kernel lives), as compact state; the KernelOops object is made from it.
    private readonly Snapshots.StateArray<char> _oops;
    private KernelOops? _oopsObject;

    /// <summary>Regions of the machine itself (a driver may add its own after them).</summary>
    internal int MachineRegions { get; }

    /// <summary>The machine's compact state (docs/checker.md): save it, restore it, read its fingerprints.</summary>
    public Snapshots.StateStore State => _s.Kernel.State;

    /// <summary>The hypervisor's QMP interface for hotplug events.</summary>
    public Qmp Qmp { get; }

    /// <summary>The modelled kernel oopsed; it is dead and takes no more steps.</summary>
    public KernelOops? Oops
    {
        get
        {
            if (_oops.Length == 0) return null;
            if (_oopsObject is null || !_oops.Items.SequenceEqual(_oopsObject.Report)) _oopsObject = new KernelOops(new string(_oops.Items));
            return _oopsObject;
        }
    }

    /// <summary>Runs a kernel-internal action; a modelled oops is recorded and logged, never thrown out.</summary>
    public T Guard<T>(Func<T> action, T onOops) => Guard(action, static a => a(), onOops);

    /// <summary><see cref="Guard{T}(Func{T}, T)"/> with the action's arguments passed in (a static lambda: no closure
    /// for the checker's operations, which run millions of times).</summary>
    public T Guard<TState, T>(TState state, Func<TState, T> action, T onOops)
    {
        if (Oops is not null) throw new InvalidOperationException("the modelled kernel has oopsed");
        try
        {
            return action(state);
        }
        catch (KernelOops oops)
        {
            _oops.Resize(oops.Report.Length);
            oops.Report.AsSpan().CopyTo(_oops.MutItems);
            _oopsObject = oops;
            State.Observe(Snapshots.Zobrist.Key(Snapshots.FieldKind.Oops, 0), 0, 1);
            Log.Printk(oops.Report);
            return onOops;
        }
    }

    /// <summary>modprobe MODULE [PARAMS] run on the given CPU: kvm_intel (the seed's trigger) and the fault injectors
    /// (memory-notifier-error-inject); any other module is ENOENT.</summary>
    public Errno Modprobe(string module, int cpu = 0, string parameters = "") =>
        Guard(() => _s.Modules.Modprobe(module, parameters, cpu), Errno.EFAULT);

    /// <summary>numactl (with busybox dd) run in the guest: a memory policy for a task or a tmpfs file, then its
    /// allocations (Userspace/Numactl.cs).</summary>
    public Userspace.NumactlOutcome Numactl(Userspace.NumactlRun run) =>
        Guard(() => Userspace.Numactl.Run(_s.Kernel, _s.Shmem, _s.Hugetlbfs, run), new Userspace.NumactlOutcome("oops"));

    /// <summary>A long-lived task: started under numactl's policy (no <c>Of</c>), or running dd in it.</summary>
    public Userspace.NumactlOutcome Task(string name, Userspace.NumactlRun run) =>
        Guard(() => run.Of is null && run.File is null
            ? Userspace.Numactl.StartTask(_s.Kernel, _s.Cpuset, name, run)
            : Userspace.Numactl.RunInTask(_s.Cpuset, _s.Shmem, name, run), new Userspace.NumactlOutcome("oops"));

    /// <summary>numactl [POLICY] fallocate -l LENGTH FILE on a file of the guest's hugetlbfs mount (Userspace/Numactl.cs).</summary>
    public Userspace.NumactlOutcome Fallocate(Userspace.NumactlRun run) =>
        Guard(() => Userspace.Numactl.Fallocate(_s.Kernel, _s.Hugetlbfs, run), new Userspace.NumactlOutcome("oops"));

    /// <summary>rm of a tmpfs or hugetlbfs file: false when it does not exist.</summary>
    public bool RemoveFile(string path, int cpu = 0) =>
        Numasim.Kernel.Mm.Hugetlbfs.IsOnMount(path) ? Guard(() => _s.Hugetlbfs.Unlink(path), false) : _s.Shmem.Unlink(path, cpu);

    /// <summary>rmmod MODULE.</summary>
    public Errno Rmmod(string module) => Guard(() => _s.Modules.Rmmod(module), Errno.EFAULT);

    /// <summary>The loadable modules and the fault injectors they carry.</summary>
    public Kernel.FaultInject.KernelModules Modules => _s.Modules;

    /// <summary>The page allocator's entry points, for scenario steps and tests.</summary>
    public PageAlloc PageAlloc => _s.PageAlloc;

    /// <summary>The memory hotplug notifier chain (register_memory_notifier()), for users who model a subscriber.</summary>
    public Kernel.Hotplug.MemoryNotifierChain MemoryNotifiers => _s.MemoryHotplug.Notifiers;

    /// <summary>VMCS pages kvm_intel holds.</summary>
    public IReadOnlyList<AllocatedPage> KvmPages => _s.Kvm.VmcsPages;

    /// <summary>Boots the machine: firmware tables from the spec, then the modelled start_kernel().</summary>
    public static Machine Boot(MachineSpec spec, KernelProfile? profile = null) => new(spec, profile ?? KernelProfile.Default);

    /// <summary>Boots with the kernel trace on from the start: <c>Kernel.Trace.Take()</c> then gives the boot's
    /// explanation, and the trace goes on recording (--explain).</summary>
    public static Machine Boot(MachineSpec spec, KernelProfile? profile, bool traceBoot) => new(spec, profile ?? KernelProfile.Default, traceBoot);

    /// <summary>
    /// An independent machine in exactly this state (a snapshot): a machine of the same spec and profile is built
    /// (booted) and this one's compact state restored into it, its log and uevents copied, so the two evolve
    /// separately and deterministically from here. No kernel counterpart; it is what a VM snapshot gives.
    /// </summary>
    public Machine Clone()
    {
        var copy = new Machine(Spec, Profile);
        copy.State.Restore(State.Save(), MachineRegions);
        Log.CopyTo(copy.Log);
        _s.Kernel.Uevents.CopyTo(copy._s.Kernel.Uevents);
        if (Kernel.Trace.Enabled) copy.Kernel.Trace.Start();   // not kernel state: the copy records on its own
        return copy;
    }

    public MachineSpec Spec { get; }
    public KernelProfile Profile { get; }

    /// <summary>The kernel's state, for tests, the checker and invariants (read it; change it only through the facade).</summary>
    public KernelContext Kernel => _s.Kernel;

    internal KernelSubsystems Subsystems => _s;

    public KernelLog Log => _s.Kernel.Log;
    public IReadOnlyList<Uevent> Uevents => _s.Kernel.Uevents.All;

    /// <summary>The virtual file tree holding /sys and /proc.</summary>
    public SysfsTree Fs => _s.Kernel.Fs;

    /// <summary>cat PATH.</summary>
    public ReadResult Read(string path) => Fs.Read(path);

    /// <summary>echo VALUE > PATH: the value is written with echo's trailing newline.</summary>
    /// <summary>A write of VALUE (with its newline) to a file; with <paramref name="under"/> by a task numactl started
    /// with that policy.</summary>
    public Errno Write(string path, string value, Userspace.NumactlRun? under = null)
    {
        var err = under is null ? Fs.Write(path, value + "\n")
            : Userspace.Numactl.WriteUnder(_s.Kernel, under, () => Fs.Write(path, value + "\n"));
        _s.Kernel.Workqueue.Flush();   // work the write queued (a driver's retry) runs before the next step
        return err;
    }

    /// <summary>The virtio_mem driver (its devices' states), for tests and reports.</summary>
    public Kernel.Drivers.VirtioMemDriver VirtioMem => _s.VirtioMem;

    /// <summary>One line per command-line option the kernel acts on that the model does not model, and per option
    /// whose real effect the model cannot show (a kernel that would not boot).</summary>
    public IEnumerable<string> BootWarnings =>
        _s.Kernel.Boot.Unmodelled.Select(o => $"kernel command line: '{o}' is acted on by the kernel but not modelled; the model ignores it")
            .Concat(_s.Kernel.Boot.Warnings.Select(w => "kernel command line: " + w));

    /// <summary>What the model could not reproduce of an imported machine's state at boot, one line each (empty when all of it was).</summary>
    public IReadOnlyList<string> StateNotes => _s.Kernel.StateNotes;

    /// <summary>dmesg, one line per record.</summary>
    public IEnumerable<string> Dmesg() => Log.Records.Select(r => r.ToString());
}
