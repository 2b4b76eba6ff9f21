using System.CommandLine;
using System.Runtime.InteropServices;
using Numasim.Cluster;

namespace Numasim.Cli.Commands;

/// <summary>
/// <c>numasim check-silo --port P --gateway G [--primary PP | --redis CONN [--address IP]]</c>: one Orleans silo of a
/// distributed search, until SIGINT or SIGTERM. Localhost clustering (the default): on 127.0.0.1, the silo on the primary
/// port holds the membership table, so start it first; <c>numasim check --cluster-gateways G1,G2,...</c> then runs a
/// search. Redis clustering: silos on several machines, the table in Redis; <c>numasim check --cluster-redis CONN</c>.
/// </summary>
public static class CheckSiloCommand
{
    public static Command Create()
    {
        var port = new Option<int>("--port") { Description = "silo-to-silo TCP port on 127.0.0.1 (default 11111)", HelpName = "P", DefaultValueFactory = _ => 11111 };
        var gateway = new Option<int>("--gateway") { Description = "client gateway TCP port on 127.0.0.1 (default 30000)", HelpName = "G", DefaultValueFactory = _ => 30000 };
        var primary = new Option<int?>("--primary") { Description = "localhost clustering: the primary silo's --port (default: this silo is the primary)", HelpName = "PP" };
        var redis = new Option<string?>("--redis") { Description = "Redis clustering (several machines): the Redis server holding the membership, e.g. host:6379", HelpName = "CONN" };
        var address = new Option<string?>("--address") { Description = "with --redis: this machine's IP address that the other silos and clients reach (default 127.0.0.1)", HelpName = "IP" };
        var command = new Command("check-silo", "start one silo of a distributed check (Orleans, localhost clustering) and run until stopped");
        command.Options.Add(port);
        command.Options.Add(gateway);
        command.Options.Add(primary);
        command.Options.Add(redis);
        command.Options.Add(address);
        command.SetAction(parsed =>
        {
            int p = parsed.GetValue(port), g = parsed.GetValue(gateway), pp = parsed.GetValue(primary) ?? p;
            foreach (var (name, value) in new[] { ("--port", p), ("--gateway", g), ("--primary", pp) })
                if (value is < 1 or > 65535) throw new CliException($"check-silo: {name} must be a TCP port (1 to 65535)");
            if (p == g) throw new CliException("check-silo: --port and --gateway must differ");
            var (membership, advertise) = MembershipOf(parsed.GetValue(redis), parsed.GetValue(address), pp, parsed.GetValue(primary) is not null);
            var stdout = parsed.InvocationConfiguration.Output;
            using var stop = new CancellationTokenSource();
            using var signals = new Signals(stop);
            Microsoft.Extensions.Hosting.IHost silo;
            try { silo = ClusterHost.StartSiloAsync(p, g, membership, advertise, stop.Token).GetAwaiter().GetResult(); }
            catch (Exception e) when (e is OrleansException or OperationCanceledException or System.Net.Sockets.SocketException or IOException
                                           or StackExchange.Redis.RedisException)
            {
                throw new CliException($"check-silo: the silo did not start: {CliApp.OneLine(e.Message)}", ClusterCheck.ExitUnavailable);
            }
            using (silo)
            {
                var where = membership is Membership.Redis r
                    ? $"membership in Redis at {r.Connection}"
                    : $"primary 127.0.0.1:{pp}{(pp == p ? " (this one)" : "")}";
                stdout.WriteLine($"check-silo: silo on {advertise ?? System.Net.IPAddress.Loopback}:{p}, gateway {g}, {where}; stop with Ctrl+C");
                stdout.Flush();
                try { Task.Delay(Timeout.Infinite, stop.Token).GetAwaiter().GetResult(); } catch (OperationCanceledException) { }
                using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(20));
                try { silo.StopAsync(grace.Token).GetAwaiter().GetResult(); } catch (OperationCanceledException) { }
                stdout.WriteLine("check-silo: stopped");
            }
            return CliApp.ExitOk;
        });
        return command;
    }

    private static (Membership, System.Net.IPAddress?) MembershipOf(string? redis, string? address, int primary, bool primaryGiven)
    {
        if (redis is null)
        {
            if (address is not null) throw new CliException("check-silo: --address goes with --redis (localhost clustering is on 127.0.0.1)");
            return (new Membership.Localhost(primary), null);
        }
        if (primaryGiven) throw new CliException("check-silo: give one of --primary (localhost clustering) or --redis");
        System.Net.IPAddress? ip = null;
        if (address is not null && !System.Net.IPAddress.TryParse(address, out ip))
            throw new CliException($"check-silo: --address: '{address}' is not an IP address");
        return (new Membership.Redis(redis), ip);
    }

    /// <summary>SIGINT and SIGTERM stop the silo (gracefully: it leaves the membership).</summary>
    private sealed class Signals : IDisposable
    {
        private readonly PosixSignalRegistration[] _registrations;

        public Signals(CancellationTokenSource stop) =>
            _registrations = [.. new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM }.Select(s => PosixSignalRegistration.Create(s, c =>
            {
                c.Cancel = true;
                stop.Cancel();
            }))];

        public void Dispose()
        {
            foreach (var r in _registrations) r.Dispose();
        }
    }
}
