using System.CommandLine;
using Numasim.Checker;
using Microsoft.Extensions.Hosting;
using Numasim.Cluster;

namespace Numasim.Cli.Commands;

/// <summary>
/// <c>numasim check --cluster N</c> (N silos in this process), <c>--cluster-gateways PORTS</c> (silos started with
/// <c>numasim check-silo</c> on this machine) or <c>--cluster-redis CONN</c> (silos on several machines): the same search on Microsoft Orleans, partitions of the visited set and
/// frontier as grains (docs/checker.md, "Cluster").
/// </summary>
internal sealed class ClusterCheck
{
    /// <summary>The run could not finish on the cluster (a silo lost, no cluster to reach): EX_UNAVAILABLE.</summary>
    public const int ExitUnavailable = 69;

    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(30);

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
    public Option<string?> Redis { get; } = new("--cluster-redis")
    {
        Description = "run the search on the silos (numasim check-silo --redis) whose membership is in this Redis server, e.g. host:6379",
        HelpName = "CONN",
    };
    public Option<int> Resume { get; } = new("--resume")
    {
        Description = "survive N silo losses: keep a checkpoint of each level (8 bytes a state) and run a lost level again on the silos left (default 0: a loss ends the run)",
        HelpName = "N",
    };
    public Option<int> Partitions { get; } = new("--partitions")
    {
        Description = "hash partitions of the visited set (default 4 per silo; 16 with --cluster-redis)",
        HelpName = "N",
    };

    public void AddTo(Command command)
    {
        command.Options.Add(Silos);
        command.Options.Add(Gateways);
        command.Options.Add(Redis);
        command.Options.Add(Partitions);
        command.Options.Add(Resume);
    }

    public bool Requested(ParseResult parsed) => Ways(parsed) > 0;

    private int Ways(ParseResult parsed) =>
        (parsed.GetResult(Silos) is null ? 0 : 1) + (parsed.GetValue(Gateways) is null ? 0 : 1) + (parsed.GetValue(Redis) is null ? 0 : 1);

    /// <summary>Checks the options that the distributed search does not have (it is exact and level-synchronous).</summary>
    public void Validate(ParseResult parsed, int bitstate)
    {
        if (Ways(parsed) > 1) throw new CliException("check: give one of --cluster N, --cluster-gateways PORTS or --cluster-redis CONN");
        if (parsed.GetResult(Silos) is not null && parsed.GetValue(Silos) is < 1 or > 64)
            throw new CliException("check: --cluster takes 1 to 64 silos");
        if (parsed.GetResult(Partitions) is not null && parsed.GetValue(Partitions) is < 1 or > 4096)
            throw new CliException("check: --partitions takes 1 to 4096");
        if (parsed.GetValue(Resume) is < 0 or > 1000) throw new CliException("check: --resume takes 0 to 1000");
        if (bitstate != 0) throw new CliException("check: --bitstate is not available with --cluster (the partitions keep exact fingerprint sets)");
    }

    /// <summary>Starts or joins the cluster, runs the search, and stops what it started.</summary>
    public CheckResult Run(ParseResult parsed, CheckOptions o, string? qemu, TextWriter stderr)
    {
        int[]? gateways = parsed.GetValue(Gateways) is { } g ? ParsePorts(g) : null;
        var redis = parsed.GetValue(Redis) is { } r ? new Membership.Redis(r) : null;
        int silos = gateways?.Length ?? parsed.GetValue(Silos);
        int partitions = parsed.GetResult(Partitions) is not null ? parsed.GetValue(Partitions) : redis is null ? 4 * silos : 16;
        var options = new ClusterCheckOptions
        {
            Spec = o.Spec, Qemu = qemu, Profile = o.Profile, Depth = o.Depth, Families = o.Families, Symmetry = o.Symmetry,
            PartialOrder = o.PartialOrder, Fingerprint = o.Fingerprint, MaxStates = o.MaxStates, Partitions = partitions, RenderSample = o.RenderSample,
            Progress = o.Progress, Resumes = parsed.GetValue(Resume),
            Notice = m => { lock (stderr) stderr.WriteLine("numasim: check: " + m); },
        };
        try { return RunAsync(options, silos, gateways, redis).GetAwaiter().GetResult(); }
        catch (ClusterRunException e) { throw new CliException("check: " + e.Message, ExitUnavailable); }
        catch (Exception e) when (e is OrleansException or TimeoutException or OperationCanceledException or System.Net.Sockets.SocketException
                                       or StackExchange.Redis.RedisException)
        {
            throw new CliException($"check: the cluster could not be {(gateways is null && redis is null ? "started" : "reached")}: {CliApp.OneLine(e.Message)}",
                ExitUnavailable);
        }
    }

    private static async Task<CheckResult> RunAsync(ClusterCheckOptions options, int silos, int[]? gateways, Membership.Redis? redis)
    {
        if (gateways is null && redis is null)
        {
            await using var local = await LocalCluster.StartAsync(silos);
            return await new ClusterChecker(local.Client, options).RunAsync();
        }
        // Orleans' client keeps retrying an unreachable gateway for minutes; a user waits half a minute.
        IHost client;
        using (var connecting = new CancellationTokenSource(ConnectTimeout))
        {
            try { client = redis is null ? await ClusterHost.ConnectAsync(gateways!, connecting.Token) : await ClusterHost.ConnectAsync(redis, connecting.Token); }
            catch (OperationCanceledException) { throw new TimeoutException($"no gateway answered within {ConnectTimeout.TotalSeconds:F0} s"); }
        }
        using var _ = client;
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
