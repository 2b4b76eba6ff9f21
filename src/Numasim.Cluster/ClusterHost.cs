using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;

namespace Numasim.Cluster;

/// <summary>
/// Silos and clients of a numasim cluster. Membership: Orleans' localhost clustering (one machine, several silo
/// processes, the first — the primary — holding the membership table); docs/checker.md says how to run on several
/// machines with ADO.NET clustering instead.
/// </summary>
public static class ClusterHost
{
    public const string ClusterId = "numasim";
    public const string ServiceId = "numasim-check";

    /// <summary>Starts a silo on 127.0.0.1: silo-to-silo port, client gateway port, and the primary silo's port
    /// (its own for the first silo).</summary>
    public static async Task<IHost> StartSiloAsync(int siloPort, int gatewayPort, int primaryPort, CancellationToken ct = default)
    {
        var host = new HostBuilder()
            .UseOrleans(silo =>
            {
                silo.UseLocalhostClustering(siloPort, gatewayPort, new IPEndPoint(IPAddress.Loopback, primaryPort), ServiceId, ClusterId);
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
                // On loopback a dead silo is declared dead within seconds rather than the WAN defaults' minute.
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
    public static async Task<IHost> ConnectAsync(int[] gatewayPorts, CancellationToken ct = default)
    {
        var host = new HostBuilder()
            .UseOrleansClient(client =>
            {
                client.UseLocalhostClustering(gatewayPorts, ServiceId, ClusterId);
                client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromHours(12));
            })
            .Build();
        await host.StartAsync(ct);
        return host;
    }

    public static IClusterClient Client(IHost host) => host.Services.GetRequiredService<IClusterClient>();
}
