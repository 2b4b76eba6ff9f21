using System.Security.Cryptography;
using System.Text;

namespace Numasim.Oracle;

/// <summary>
/// Host programs a scenario runs in the oracle's guest (numactl for the numactl steps): the host's binary goes to
/// /bin in the initramfs with the shared libraries and the dynamic loader ldd names for it, at their own paths.
/// The guest's initramfs grows with them, and the model boots with that size (the initrd's place moves the early
/// allocations). The host's numactl is Debian 12's numactl 2.0.16 (.ci/run installs it).
/// </summary>
public sealed class GuestPrograms
{
    private readonly SortedDictionary<string, string> _files = new(StringComparer.Ordinal); // guest path -> host file

    private GuestPrograms() { }

    /// <summary>The programs the scenario's steps run in the guest.</summary>
    public static GuestPrograms For(Scenarios.Scenario sc)
    {
        var p = new GuestPrograms();
        if (sc.Steps.Any(s => s.Kind == "numactl" || s.Kind is "fallocate" or "write" && Scenarios.GuestToolSteps.PolicyFields.Any(s.Args.ContainsKey)))
            p.Add("numactl");
        return p;
    }

    public bool IsEmpty => _files.Count == 0;

    private void Add(string program)
    {
        var host = Toolchain.FindOnPath(program) ?? throw new OracleSetupException($"the guest needs {program}: apt-get install {program}");
        _files["/bin/" + program] = host;
        var (rc, output) = Toolchain.Exec("ldd", [host], null);
        if (rc != 0) throw new OracleSetupException($"ldd {host} failed: {output.Trim()}");
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            // "libnuma.so.1 => /lib/x86_64-linux-gnu/libnuma.so.1 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)"
            var path = line.Contains(" => ", StringComparison.Ordinal) ? line[(line.IndexOf(" => ", StringComparison.Ordinal) + 4)..] : line;
            path = path.Split(' ')[0];
            if (path.StartsWith('/')) _files[path] = path;
        }
    }

    /// <summary>A short key naming these files (for the initramfs cache).</summary>
    public string Key => IsEmpty ? "" : Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(
        string.Join(";", _files.Select(kv => kv.Key + ":" + new FileInfo(kv.Value).Length)))))[..12].ToLowerInvariant();

    /// <summary>Copies every file (symbolic links resolved) under ROOT at its guest path, executable.</summary>
    internal void CopyInto(string root)
    {
        foreach (var (guest, host) in _files)
        {
            var target = Path.Combine(root, guest.TrimStart('/'));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            var real = new FileInfo(host).ResolveLinkTarget(true)?.FullName ?? host;
            File.Copy(real, target, true);
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(target, (UnixFileMode)0b111_101_101);
        }
    }
}
