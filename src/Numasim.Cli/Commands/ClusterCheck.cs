using System.CommandLine;
using Numasim.Checker;
using Numasim.Cluster;

namespace Numasim.Cli.Commands;

/// <summary>
/// <c>numasim check --cluster N</c> (N silos in this process) or <c>numasim check --cluster-gateways PORTS</c> (silos
/// started with <c>numasim check-silo</c>): the same search on Microsoft Orleans, partitions of the visited set and
/// frontier as grains (docs/checker.md, "Cluster").
/// </summary>
internal sealed class ClusterCheck
{
    /// <summary>The run could not finish on the cluster (a silo lost, no cluster to reach): EX_UNAVAILABLE.</summary>
    public const int ExitUnavailable = 69;

    public Option<int> Silos { get; } = new("--cluster")
    {
        Description = "run the search on N Orleans silos started in this process (loopback), partitions of the visited set as grains",
        HelpName = "N",
    };
    public Option<string?> Gateways { get; } = new("--cluster-gateways")
    {
        Description = "run the search on running silos (numasim check-silo): their gateway ports on 127.0.0.1, comma-separated",
        HelpName = "PORTS",
    };
    public Option<int> Partitions { get; } = new("--partitions")
    {
        Description = "hash partitions of the visited set with --cluster (default 4 per silo)",
        HelpName = "N",
    };

    public void AddTo(Command command)
    {
        command.Options.Add(Silos);
        command.Options.Add(Gateways);
        command.Options.Add(Partitions);
    }

    public bool Requested(ParseResult parsed) => parsed.GetResult(Silos) is not null || parsed.GetValue(Gateways) is not null;

    /// <summary>Checks the options that the distributed search does not have (it is exact and level-synchronous).</summary>
    public void Validate(ParseResult parsed, int bitstate)
    {
        if (parsed.GetResult(Silos) is not null && parsed.GetValue(Gateways) is not null)
            throw new CliException("check: give one of --cluster N or --cluster-gateways PORTS");
        if (parsed.GetResult(Silos) is not null && parsed.GetValue(Silos) is < 1 or > 64)
            throw new CliException("check: --cluster takes 1 to 64 silos");
        if (parsed.GetResult(Partitions) is not null && parsed.GetValue(Partitions) is < 1 or > 4096)
            throw new CliException("check: --partitions takes 1 to 4096");
        if (bitstate != 0) throw new CliException("check: --bitstate is not available with --cluster (the partitions keep exact fingerprint sets)");
    }

    /// <summary>Starts or joins the cluster, runs the search, and stops what it started.</summary>
    public CheckResult Run(ParseResult parsed, CheckOptions o, string? qemu)
    {
        int[]? gateways = parsed.GetValue(Gateways) is { } g ? ParsePorts(g) : null;
        int silos = gateways?.Length ?? parsed.GetValue(Silos);
        int partitions = parsed.GetResult(Partitions) is not null ? parsed.GetValue(Partitions) : 4 * silos;
        var options = new ClusterCheckOptions
        {
            Spec = o.Spec, Qemu = qemu, Profile = o.Profile, Depth = o.Depth, Families = o.Families, Symmetry = o.Symmetry,
            PartialOrder = o.PartialOrder, Fingerprint = o.Fingerprint, MaxStates = o.MaxStates, Partitions = partitions, RenderSample = o.RenderSample,
            Progress = o.Progress,
        };
        try { return RunAsync(options, silos, gateways).GetAwaiter().GetResult(); }
        catch (ClusterRunException e) { throw new CliException("check: " + e.Message, ExitUnavailable); }
        catch (Exception e) when (e is OrleansException or TimeoutException or System.Net.Sockets.SocketException)
        {
            throw new CliException($"check: the cluster could not be {(gateways is null ? "started" : "reached")}: {CliApp.OneLine(e.Message)}",
                ExitUnavailable);
        }
    }

    private static async Task<CheckResult> RunAsync(ClusterCheckOptions options, int silos, int[]? gateways)
    {
        if (gateways is null)
        {
            await using var local = await LocalCluster.StartAsync(silos);
            return await new ClusterChecker(local.Client, options).RunAsync();
        }
        using var client = await ClusterHost.ConnectAsync(gateways);
        try { return await new ClusterChecker(ClusterHost.Client(client), options).RunAsync(); }
        finally { await client.StopAsync(); }
    }

    private static int[] ParsePorts(string text)
    {
        var ports = new List<int>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
            if (int.TryParse(part, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int p) && p is > 0 and < 65536)
                ports.Add(p);
            else
                throw new CliException($"check: --cluster-gateways: '{part}' is not a TCP port");
        return [.. ports];
    }
}
