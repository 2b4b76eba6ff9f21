using System.Diagnostics;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;

namespace Numasim.Oracle;

/// <summary>A kernel to boot: the bzImage, what it was resolved from, and the model profile it corresponds to.</summary>
public sealed record OracleKernel(string Spec, string Image, string? Package, string Profile)
{
    /// <summary>6.12 (and a user's own kernel, whose version we do not know) refuses CPU hot-add with QEMU 7.2.</summary>
    public bool CpuHotAddWorks => Spec == "6.1";
}

/// <summary>
/// Getting the parts: QEMU, a static busybox and cpio on the host; the Debian kernel package (apt-get download,
/// dpkg -x) in a cache; the busybox initramfs, built once and cached.
/// </summary>
public static class Toolchain
{
    public const string Qemu = "qemu-system-x86_64";

    /// <summary>The packages the oracle was recorded with (../shared/oracle/README.md); the newest of the
    /// series is taken only when the archive no longer carries these.</summary>
    private static readonly Dictionary<string, (string Pinned, string Pattern, string Profile)> Kernels = new()
    {
        ["6.1"] = ("linux-image-6.1.0-50-amd64", @"^linux-image-6\.1\.0-[0-9]+-amd64$", "v6.1"),
        ["6.12"] = ("linux-image-6.12.111+deb12-amd64", @"^linux-image-6\.12\.[0-9]+\+deb12-amd64$", "v6.12"),
    };

    public static string CacheDir =>
        Environment.GetEnvironmentVariable("NUMASIM_CACHE") is { Length: > 0 } c ? c
        : Path.Combine(Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } x ? x
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"), "numasim");

    /// <summary>Missing host tools → exit 2 with the exact apt-get line.</summary>
    public static void CheckHostTools()
    {
        var missing = new List<string>();
        if (FindOnPath(Qemu) is null) missing.Add("qemu-system-x86");
        if (!IsStaticElf("/bin/busybox") && !IsStaticElf("/usr/bin/busybox")) missing.Add("busybox-static");
        if (FindOnPath("cpio") is null) missing.Add("cpio");
        if (missing.Count > 0)
            throw new OracleSetupException($"oracle needs {string.Join(", ", missing)}: apt-get install -y --no-install-recommends {string.Join(" ", missing)}");
    }

    public static string? FindOnPath(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var p = Path.Combine(dir, name);
            if (File.Exists(p)) return p;
        }
        return null;
    }

    /// <summary>An ELF executable without a PT_INTERP program header (the dynamic busybox package would not boot alone).</summary>
    internal static bool IsStaticElf(string path)
    {
        try
        {
            var b = File.ReadAllBytes(path);
            if (b.Length < 64 || b[0] != 0x7f || b[1] != 'E' || b[2] != 'L' || b[3] != 'F' || b[4] != 2) return false;
            long phoff = BitConverter.ToInt64(b, 0x20);
            int phentsize = BitConverter.ToUInt16(b, 0x36), phnum = BitConverter.ToUInt16(b, 0x38);
            for (int i = 0; i < phnum; i++)
            {
                long off = phoff + (long)i * phentsize;
                if (off + 4 > b.Length) return false;
                if (BitConverter.ToUInt32(b, (int)off) == 3) return false; // PT_INTERP
            }
            return true;
        }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    }

    /// <summary>6.1 / 6.12 → the Debian package's vmlinuz (downloaded and unpacked once); anything else is a bzImage path.</summary>
    public static OracleKernel ResolveKernel(string spec, TextWriter log)
    {
        if (!Kernels.TryGetValue(spec, out var k))
        {
            if (!File.Exists(spec)) throw new OracleSetupException($"--kernel: '{spec}' is neither 6.1, 6.12 nor a kernel image file");
            return new OracleKernel(spec, Path.GetFullPath(spec), null, "v6.1");
        }
        var dir = Path.Combine(CacheDir, "kernels");
        Directory.CreateDirectory(dir);
        var pkg = PackageAvailable(k.Pinned) ? k.Pinned : NewestPackage(k.Pattern)
            ?? throw new OracleSetupException($"no Debian package for kernel {spec} (apt-cache search finds none; run apt-get update)");
        var tree = Path.Combine(dir, pkg);
        var image = FindVmlinuz(tree);
        if (image is null)
        {
            log.WriteLine($"oracle: fetching {pkg} (apt-get download) into {dir}");
            var download = Path.Combine(dir, "download");
            if (Directory.Exists(download)) Directory.Delete(download, true);
            Directory.CreateDirectory(download);
            var (rc, output) = Exec("apt-get", ["download", pkg], download);
            var deb = Directory.GetFiles(download, "*.deb").FirstOrDefault();
            if (rc != 0 || deb is null) throw new OracleSetupException($"apt-get download {pkg} failed: {LastLine(output)}");
            var tmp = tree + ".tmp";
            if (Directory.Exists(tmp)) Directory.Delete(tmp, true);
            (rc, output) = Exec("dpkg", ["-x", deb, tmp], dir);
            if (rc != 0) throw new OracleSetupException($"dpkg -x {deb} failed: {LastLine(output)}");
            if (Directory.Exists(tree)) Directory.Delete(tree, true);
            Directory.Move(tmp, tree);
            Directory.Delete(download, true);
            image = FindVmlinuz(tree) ?? throw new OracleSetupException($"{pkg} holds no boot/vmlinuz-*");
        }
        return new OracleKernel(spec, image, pkg, k.Profile);
    }

    private static string? FindVmlinuz(string tree) =>
        Directory.Exists(Path.Combine(tree, "boot")) ? Directory.GetFiles(Path.Combine(tree, "boot"), "vmlinuz-*").FirstOrDefault() : null;

    private static bool PackageAvailable(string pkg)
    {
        var (rc, output) = Exec("apt-cache", ["policy", pkg], null);
        return rc == 0 && output.Contains("Candidate:", StringComparison.Ordinal) && !output.Contains("Candidate: (none)", StringComparison.Ordinal);
    }

    private static string? NewestPackage(string pattern)
    {
        var (rc, output) = Exec("apt-cache", ["search", "--names-only", pattern], null);
        if (rc != 0) return null;
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')[0])
            .OrderBy(n => n, Comparer<string>.Create(VersionCompare)).LastOrDefault();
    }

    private static int VersionCompare(string a, string b)
    {
        var na = System.Text.RegularExpressions.Regex.Matches(a, "[0-9]+").Select(m => long.Parse(m.Value)).ToList();
        var nb = System.Text.RegularExpressions.Regex.Matches(b, "[0-9]+").Select(m => long.Parse(m.Value)).ToList();
        for (int i = 0; i < Math.Min(na.Count, nb.Count); i++)
            if (na[i] != nb[i]) return na[i].CompareTo(nb[i]);
        return na.Count.CompareTo(nb.Count);
    }

    /// <summary>The guest's /init: mounts proc, sysfs, devtmpfs, silences the console log (dmesg is read on demand),
    /// turns off echo, says GUEST-READY and runs each line it reads in a subshell (a syntax error cannot kill init).</summary>
    internal const string InitScript = """
        #!/bin/busybox sh
        /bin/busybox --install -s /bin
        export PATH=/bin
        mount -t proc proc /proc
        mount -t sysfs sysfs /sys
        mount -t devtmpfs devtmpfs /dev
        exec 0</dev/ttyS0 1>/dev/ttyS0 2>&1
        dmesg -n 1
        stty -echo
        echo GUEST-READY
        while IFS= read -r l; do ( eval "$l" ); done
        poweroff -f

        """;

    /// <summary>The busybox initramfs, built once per (init script, busybox, modules, programs) and cached.</summary>
    public static string Initramfs(GuestModules? modules = null, GuestPrograms? programs = null)
    {
        var busybox = IsStaticElf("/bin/busybox") ? "/bin/busybox" : "/usr/bin/busybox";
        var info = new FileInfo(busybox);
        var key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(InitScript + info.Length + info.LastWriteTimeUtc.Ticks + modules?.Key + programs?.Key)))[..16].ToLowerInvariant();
        var dir = CacheDir;
        Directory.CreateDirectory(dir);
        var target = Path.Combine(dir, $"initramfs-{key}.cpio.gz");
        if (File.Exists(target)) return target;
        var root = Path.Combine(dir, $"initramfs-{key}.root");
        if (Directory.Exists(root)) Directory.Delete(root, true);
        foreach (var d in new[] { "bin", "proc", "sys", "dev", "tmp" }) Directory.CreateDirectory(Path.Combine(root, d));
        File.Copy(busybox, Path.Combine(root, "bin", "busybox"));
        File.WriteAllText(Path.Combine(root, "init"), InitScript.Replace("\r\n", "\n"));
        modules?.CopyInto(root);
        programs?.CopyInto(root);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(Path.Combine(root, "init"), (UnixFileMode)0b111_101_101);
            File.SetUnixFileMode(Path.Combine(root, "bin", "busybox"), (UnixFileMode)0b111_101_101);
        }
        var cpio = Path.Combine(dir, $"initramfs-{key}.cpio");
        var psi = new ProcessStartInfo("sh", ["-c", $"find . | LC_ALL=C sort | cpio -o -H newc --quiet > '{cpio}'"])
        { WorkingDirectory = root, RedirectStandardError = true, UseShellExecute = false };
        using (var p = Process.Start(psi)!)
        {
            var err = p.StandardError.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0) throw new OracleSetupException("building the initramfs with cpio failed: " + LastLine(err));
        }
        var tmp = target + ".tmp";
        using (var input = File.OpenRead(cpio))
        using (var output = File.Create(tmp))
        using (var gz = new GZipStream(output, CompressionLevel.Optimal))
            input.CopyTo(gz);
        File.Move(tmp, target, true);
        File.Delete(cpio);
        Directory.Delete(root, true);
        return target;
    }

    internal static (int Rc, string Output) Exec(string file, string[] args, string? cwd)
    {
        var psi = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (cwd is not null) psi.WorkingDirectory = cwd;
        try
        {
            using var p = Process.Start(psi)!;
            var errTask = p.StandardError.ReadToEndAsync();
            var output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode, output + errTask.Result);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (127, $"{file}: {e.Message}");
        }
    }

    private static string LastLine(string s) =>
        s.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "(no output)";
}
