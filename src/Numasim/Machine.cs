using Numasim.Firmware;
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

    private Machine(MachineSpec spec, KernelProfile profile)
    {
        Spec = spec;
        Profile = profile;
        var firmware = PcMachine.Build(spec);
        var k = new KernelContext(firmware, spec, profile);
        _s = new KernelSubsystems(k);
        StartKernel.Run(_s);
    }

    /// <summary>Boots the machine: firmware tables from the spec, then the modelled start_kernel().</summary>
    public static Machine Boot(MachineSpec spec, KernelProfile? profile = null) => new(spec, profile ?? KernelProfile.Default);

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
    public Errno Write(string path, string value) => Fs.Write(path, value + "\n");

    /// <summary>dmesg, one line per record.</summary>
    public IEnumerable<string> Dmesg() => Log.Records.Select(r => r.ToString());
}
