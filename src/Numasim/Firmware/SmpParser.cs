namespace Numasim.Firmware;

/// <summary>-smp as given: each value null when omitted.</summary>
public sealed record SmpConfig(int? Cpus = null, int? MaxCpus = null, int? Sockets = null, int? Dies = null,
    int? Clusters = null, int? Cores = null, int? Threads = null);

/// <summary>Applies QEMU 7.2's -smp defaults for the pc machine. Models machine_parse_smp_config(),
/// hw/core/machine-smp.c (7.2: dies supported on pc, clusters not; cores preferred over sockets since
/// machine type 6.2, so "-smp 4" is 1 socket of 4 cores), and the min/max CPU checks of the pc class.</summary>
public static class SmpParser
{
    /// <summary>mc->max_cpus of the pc (i440fx) machine class, hw/i386/pc.c.</summary>
    public const int PcMaxCpus = 255;

    /// <summary>QEMU's name for the 'pc' alias in 7.2.</summary>
    public const string PcMachineName = "pc-i440fx-7.2";

    /// <summary>The resolved topology or QEMU's error text; <paramref name="warnings"/> receives warn_report() lines.</summary>
    public static SmpSpec? Resolve(SmpConfig c, int maxCpusOfMachine, List<string> warnings, out string? error)
    {
        error = null;
        // 7.2: an explicit zero is deprecated (a warning) and treated as omitted.
        if (c.Cpus == 0 || c.MaxCpus == 0 || c.Sockets == 0 || c.Dies == 0 || c.Clusters == 0 || c.Cores == 0 || c.Threads == 0)
            warnings.Add("Deprecated CPU topology (considered invalid): CPU topology parameters must be greater than zero");
        long cpus = c.Cpus ?? 0, maxcpus = c.MaxCpus ?? 0, sockets = c.Sockets ?? 0, dies = c.Dies ?? 0,
             clusters = c.Clusters ?? 0, cores = c.Cores ?? 0, threads = c.Threads ?? 0;
        if (clusters > 1) { error = "clusters not supported by this machine's CPU topology"; return null; }
        dies = dies > 0 ? dies : 1;
        clusters = 1;

        if (cpus == 0 && maxcpus == 0)
        {
            sockets = sockets > 0 ? sockets : 1;
            cores = cores > 0 ? cores : 1;
            threads = threads > 0 ? threads : 1;
        }
        else
        {
            maxcpus = maxcpus > 0 ? maxcpus : cpus;
            // prefer cores over sockets since 6.2
            if (cores == 0)
            {
                sockets = sockets > 0 ? sockets : 1;
                threads = threads > 0 ? threads : 1;
                cores = maxcpus / (sockets * dies * clusters * threads);
            }
            else if (sockets == 0)
            {
                threads = threads > 0 ? threads : 1;
                sockets = maxcpus / (dies * clusters * cores * threads);
            }
            if (threads == 0) threads = maxcpus / (sockets * dies * clusters * cores);
        }

        long product = sockets * dies * clusters * cores * threads;
        maxcpus = maxcpus > 0 ? maxcpus : product;
        cpus = cpus > 0 ? cpus : maxcpus;
        string topo = $"sockets ({sockets}) * dies ({dies}) * cores ({cores}) * threads ({threads})";
        if (product != maxcpus)
        {
            error = $"Invalid CPU topology: product of the hierarchy must match maxcpus: {topo} != maxcpus ({maxcpus})";
            return null;
        }
        if (maxcpus < cpus)
        {
            error = $"Invalid CPU topology: maxcpus must be equal to or greater than smp: {topo} == maxcpus ({maxcpus}) < smp_cpus ({cpus})";
            return null;
        }
        if (maxcpus > maxCpusOfMachine)
        {
            error = $"Invalid SMP CPUs {maxcpus}. The max CPUs supported by machine '{PcMachineName}' is {maxCpusOfMachine}";
            return null;
        }
        return new SmpSpec((int)cpus, (int)maxcpus, (int)sockets, (int)dies, (int)cores, (int)threads);
    }

    /// <summary>Checks an already-resolved topology (machine files): positive, product == maxcpus, cpus &lt;= maxcpus.</summary>
    public static string? Validate(SmpSpec s)
    {
        if (s.Cpus <= 0 || s.MaxCpus <= 0 || s.Sockets <= 0 || s.Dies <= 0 || s.Cores <= 0 || s.Threads <= 0)
            return "Invalid CPU topology: CPU topology parameters must be greater than zero";
        string topo = $"sockets ({s.Sockets}) * dies ({s.Dies}) * cores ({s.Cores}) * threads ({s.Threads})";
        if ((long)s.Sockets * s.Dies * s.Cores * s.Threads != s.MaxCpus)
            return $"Invalid CPU topology: product of the hierarchy must match maxcpus: {topo} != maxcpus ({s.MaxCpus})";
        if (s.MaxCpus < s.Cpus)
            return $"Invalid CPU topology: maxcpus must be equal to or greater than smp: {topo} == maxcpus ({s.MaxCpus}) < smp_cpus ({s.Cpus})";
        return null;
    }
}
