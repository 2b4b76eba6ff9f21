using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;

namespace Numasim.Cluster;

/// <summary>How the silos of a cluster find each other (Orleans' membership table).</summary>
public abstract record Membership
{
    private Membership() { }

    /// <summary>Orleans' development clustering on one machine: the primary silo (127.0.0.1:<paramref name="PrimaryPort"/>)
    /// holds the table in memory, so it must start first and its loss ends the cluster.</summary>
    public sealed record Localhost(int PrimaryPort) : Membership;

    /// <summary>The table in Redis (a StackExchange.Redis connection string, e.g. "host:6379"): silos on any machines,
    /// none special, each joining or leaving at any time.</summary>
    public sealed record Redis(string Connection) : Membership;
}

/// <summary>
/// Silos and clients of a numasim cluster: localhost clustering for one machine (several silo processes, or several
/// silos in one process), Redis clustering for several machines (docs/checker.md, "Cluster").
/// </summary>
public static class ClusterHost
{
    public const string ClusterId = "numasim";
    public const string ServiceId = "numasim-check";

    /// <summary>Starts a silo: silo-to-silo port, client gateway port, membership, and the address other machines reach
    /// it at (Redis membership; 127.0.0.1 when null).</summary>
    public static async Task<IHost> StartSiloAsync(int siloPort, int gatewayPort, Membership membership, IPAddress? advertise = null,
        CancellationToken ct = default)
    {
        var host = new HostBuilder()
            .UseOrleans(silo =>
            {
                switch (membership)
                {
                    case Membership.Localhost l:
                        silo.UseLocalhostClustering(siloPort, gatewayPort, new IPEndPoint(IPAddress.Loopback, l.PrimaryPort), ServiceId, ClusterId);
                        break;
                    case Membership.Redis r:
                        silo.UseRedisClustering(r.Connection);
                        silo.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (ClusterId, ServiceId));
                        silo.ConfigureEndpoints(advertise ?? IPAddress.Loopback, siloPort, gatewayPort, listenOnAnyHostAddress: advertise is not null);
                        break;
                }
                silo.AddPlacementDirector<PartitionPlacement, PartitionPlacementDirector>();
                silo.Configure<SiloMessagingOptions>(o =>
                {
                    o.ResponseTimeout = TimeSpan.FromHours(12); // a level's expansion is one call; a lost silo fails it sooner (membership)
                    o.SystemResponseTimeout = TimeSpan.FromMinutes(2);
                });
                // A partition holds its states in memory between levels: never collect it for being idle during a run (a
                // partition idles while the others expand). The coordinator releases them at the end; this bounds the
                // life of those a dead coordinator left behind.
                silo.Configure<GrainCollectionOptions>(o => o.CollectionAge = TimeSpan.FromHours(12));
                // A dead silo is declared dead within seconds rather than the defaults' minute.
                silo.Configure<ClusterMembershipOptions>(o =>
                {
                    o.ProbeTimeout = TimeSpan.FromSeconds(2);
                    o.NumMissedProbesLimit = 2;
                    o.NumVotesForDeathDeclaration = 1;
                });
            })
            .Build();
        await host.StartAsync(ct);
        return host;
    }

    /// <summary>A client connected to the gateways on 127.0.0.1.</summary>
    public static Task<IHost> ConnectAsync(int[] gatewayPorts, CancellationToken ct = default) =>
        ConnectAsync(client => client.UseLocalhostClustering(gatewayPorts, ServiceId, ClusterId), ct);

    /// <summary>A client that finds the gateways in the Redis membership table.</summary>
    public static Task<IHost> ConnectAsync(Membership.Redis redis, CancellationToken ct = default) =>
        ConnectAsync(client =>
        {
            client.UseRedisClustering(redis.Connection);
            client.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (ClusterId, ServiceId));
        }, ct);

    private static async Task<IHost> ConnectAsync(Action<IClientBuilder> clustering, CancellationToken ct)
    {
        var host = new HostBuilder()
            .UseOrleansClient(client =>
            {
                clustering(client);
                client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromHours(12));
            })
            .Build();
        await host.StartAsync(ct);
        return host;
    }

    public static IClusterClient Client(IHost host) => host.Services.GetRequiredService<IClusterClient>();
}
