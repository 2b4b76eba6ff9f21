using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;

namespace Numasim.Cluster;

/// <summary>
/// Several silos in this process on 127.0.0.1 and a client connected to them: <c>numasim check --cluster N</c> and the
/// tests. Each silo is a whole Orleans silo (its own membership entry, messaging and grain activations), so the
/// partitions talk over loopback TCP exactly as silos in separate processes do.
/// </summary>
public sealed class LocalCluster : IAsyncDisposable
{
    private readonly List<IHost?> _silos = [];
    private IHost? _client;

    private LocalCluster() { }

    public IClusterClient Client => ClusterHost.Client(_client!);
    public int Silos => _silos.Count;

    /// <summary>Starts <paramref name="silos"/> silos on free loopback ports (the first is the primary) and connects a client.</summary>
    public static async Task<LocalCluster> StartAsync(int silos, CancellationToken ct = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(silos, 1);
        var c = new LocalCluster();
        try
        {
            var ports = FreePorts(2 * silos);
            for (int i = 0; i < silos; i++)
                c._silos.Add(await ClusterHost.StartSiloAsync(ports[2 * i], ports[2 * i + 1], new Membership.Localhost(ports[0]), ct: ct));
            c._client = await ClusterHost.ConnectAsync([.. Enumerable.Range(0, silos).Select(i => ports[2 * i + 1])], ct);
            return c;
        }
        catch
        {
            await c.DisposeAsync();
            throw;
        }
    }

    /// <summary>Stops one silo abruptly (no graceful shutdown: its grains and their states are lost), as a killed
    /// process would; for the fault-tolerance test.</summary>
    public async Task KillSiloAsync(int index)
    {
        if (_silos[index] is not { } host) return;
        _silos[index] = null;
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        try { await host.StopAsync(cts.Token); } catch (Exception e) when (e is OperationCanceledException or OrleansException) { }
        host.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        if (_client is not null) { await StopQuietly(_client); _client = null; }
        for (int i = _silos.Count - 1; i >= 0; i--)
            if (_silos[i] is { } host) await StopQuietly(host);
        _silos.Clear();
    }

    private static async Task StopQuietly(IHost host)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try { await host.StopAsync(cts.Token); }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or OrleansException) { }
        host.Dispose();
    }

    /// <summary>Distinct free TCP ports on 127.0.0.1 (bound all at once, so that none is handed out twice).</summary>
    public static int[] FreePorts(int n)
    {
        var listeners = new TcpListener[n];
        try
        {
            for (int i = 0; i < n; i++)
            {
                listeners[i] = new TcpListener(IPAddress.Loopback, 0);
                listeners[i].Start();
            }
            return [.. listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port)];
        }
        finally
        {
            foreach (var l in listeners) l?.Stop();
        }
    }
}
