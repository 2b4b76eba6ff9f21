using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;

namespace Numasim.Oracle;

/// <summary>
/// Kernel modules in the oracle's guest, one mechanism for every issue that needs one (COMMON.md): module names →
/// the .ko files of the same Debian linux-image package the guest boots (its lib/modules/VERSION/kernel tree,
/// decompressed when shipped as .ko.xz or .ko.zst) and their dependencies (the package ships no modules.dep, which
/// depmod makes at install time: each module's own .modinfo "depends=" is read instead) → /lib/modules/NAME.ko in
/// the initramfs → insmod, dependencies first, with the step's parameters, when the scenario's modprobe step runs.
/// </summary>
public sealed partial class GuestModules
{
    /// <summary>Where the modules sit in the guest.</summary>
    public const string GuestDir = "/lib/modules";

    /// <summary>Modules a scenario's modprobe may load into the real kernel; every other modprobe is model-only
    /// (kvm_intel cannot load under TCG, which has no VMX).</summary>
    public static readonly IReadOnlySet<string> Live = new HashSet<string>(StringComparer.Ordinal)
    {
        "notifier_error_inject", "memory_notifier_error_inject",
    };

    private readonly SortedDictionary<string, (string File, string[] Deps)> _modules = new(StringComparer.Ordinal);

    private GuestModules() { }

    public static string Canonical(string name) => name.Replace('-', '_');

    /// <summary>Whether a modprobe/rmmod step runs on the real kernel.</summary>
    public static bool RunsLive(Scenarios.ScenarioStep s) =>
        s.Kind is "modprobe" or "rmmod" && Live.Contains(Canonical(s.Scalar ?? s.Args.GetValueOrDefault("module") ?? ""));

    /// <summary>The modules a scenario loads live, with what they depend on; empty when none.</summary>
    public static GuestModules For(OracleKernel kernel, Scenarios.Scenario sc)
    {
        var m = new GuestModules();
        var wanted = sc.Steps.Where(RunsLive).Select(s => Canonical(s.Scalar ?? s.Args["module"])).Concat(Preload(sc)).Distinct().ToList();
        if (wanted.Count == 0) return m;
        var index = Index(kernel);
        var builtin = Builtin(kernel);
        var todo = new Stack<string>(wanted);
        while (todo.Count > 0)
        {
            var n = todo.Pop();
            if (m._modules.ContainsKey(n) || builtin.Contains(n)) continue;
            if (!index.TryGetValue(n, out var file))
                throw new OracleSetupException($"module {n} is not in {kernel.Package ?? kernel.Image}");
            var deps = Depends(Decompressed(file));
            m._modules[n] = (file, deps);
            foreach (var d in deps) todo.Push(d);
        }
        return m;
    }

    public bool IsEmpty => _modules.Count == 0;

    /// <summary>The modules, dependencies before the modules needing them, that loading <paramref name="name"/> inserts.</summary>
    public IReadOnlyList<string> LoadOrder(string name)
    {
        var order = new List<string>();
        void Visit(string n)
        {
            if (order.Contains(n) || !_modules.TryGetValue(n, out var e)) return;
            foreach (var d in e.Deps) Visit(d);
            order.Add(n);
        }
        Visit(Canonical(name));
        return order;
    }

    /// <summary>A short key naming this set of files (for the initramfs cache).</summary>
    public string Key => IsEmpty ? "" : Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(
        string.Join(";", _modules.Select(kv => kv.Key + ":" + new FileInfo(kv.Value.File).Length + ":" + kv.Value.File)))))[..12].ToLowerInvariant();

    /// <summary>Writes NAME.ko of every module under ROOT/lib/modules.</summary>
    internal void CopyInto(string root)
    {
        var dir = Path.Combine(root, GuestDir.TrimStart('/'));
        Directory.CreateDirectory(dir);
        foreach (var (name, e) in _modules) File.WriteAllBytes(Path.Combine(dir, name + ".ko"), Decompressed(e.File));
    }

    /// <summary>The shell line that loads <paramref name="name"/> with <paramref name="parameters"/>: debugfs mounted
    /// (the injectors' knobs live there), then insmod of each module of the load order not yet in /proc/modules.</summary>
    public string InsmodCommand(string name, string parameters)
    {
        var sb = new StringBuilder("grep -q ' /sys/kernel/debug ' /proc/mounts || mount -t debugfs debugfs /sys/kernel/debug; ");
        var order = LoadOrder(name);
        foreach (var n in order)
        {
            var p = n == Canonical(name) && parameters.Length > 0 ? " " + parameters : "";
            sb.Append($"grep -q '^{n} ' /proc/modules || insmod {GuestDir}/{n}.ko{p} || exit 1; ");
        }
        return sb.ToString();
    }

    /// <summary>Every module of the package, by canonical name.</summary>
    private static Dictionary<string, string> Index(OracleKernel kernel)
    {
        var boot = Path.GetDirectoryName(kernel.Image)!;
        var version = Path.GetFileName(kernel.Image)["vmlinuz-".Length..];
        var dir = Path.Combine(Path.GetDirectoryName(boot)!, "lib", "modules", version, "kernel");
        if (!Directory.Exists(dir)) throw new OracleSetupException($"{kernel.Package ?? kernel.Image} has no module tree ({dir})");
        var index = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var f in Directory.EnumerateFiles(dir, "*.ko*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var file = Path.GetFileName(f);
            int ko = file.IndexOf(".ko", StringComparison.Ordinal);
            index.TryAdd(Canonical(file[..ko]), f);
        }
        return index;
    }

    /// <summary>The module's bytes: as shipped, or through xz / zstd.</summary>
    private static byte[] Decompressed(string file)
    {
        string? tool = file.EndsWith(".ko.xz", StringComparison.Ordinal) ? "xz"
            : file.EndsWith(".ko.zst", StringComparison.Ordinal) ? "zstd" : null;
        if (tool is null) return File.ReadAllBytes(file);
        var psi = new ProcessStartInfo(tool, ["-dc", file]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var p = Process.Start(psi) ?? throw new OracleSetupException($"cannot start {tool} to unpack {file}");
        var err = p.StandardError.ReadToEndAsync();
        using var ms = new MemoryStream();
        p.StandardOutput.BaseStream.CopyTo(ms);
        p.WaitForExit();
        if (p.ExitCode != 0) throw new OracleSetupException($"{tool} -dc {file} failed: {err.Result.Trim()}");
        return ms.ToArray();
    }

    /// <summary>The "depends=" of an ELF64 module's .modinfo section (NUL-separated key=value strings).</summary>
    internal static string[] Depends(byte[] elf)
    {
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != 'E' || elf[2] != 'L' || elf[3] != 'F' || elf[4] != 2) return [];
        long shoff = BitConverter.ToInt64(elf, 0x28);
        int shentsize = BitConverter.ToUInt16(elf, 0x3A), shnum = BitConverter.ToUInt16(elf, 0x3C), shstrndx = BitConverter.ToUInt16(elf, 0x3E);
        if (shoff <= 0 || shstrndx >= shnum || shoff + (long)shnum * shentsize > elf.Length) return [];
        (long Off, long Size) Section(int i)
        {
            long h = shoff + (long)i * shentsize;
            return (BitConverter.ToInt64(elf, (int)h + 24), BitConverter.ToInt64(elf, (int)h + 32));
        }
        var (strOff, _) = Section(shstrndx);
        for (int i = 0; i < shnum; i++)
        {
            int nameOff = BitConverter.ToInt32(elf, (int)(shoff + (long)i * shentsize));
            int end = Array.IndexOf(elf, (byte)0, (int)(strOff + nameOff));
            if (end < 0 || Encoding.ASCII.GetString(elf, (int)(strOff + nameOff), end - (int)(strOff + nameOff)) != ".modinfo") continue;
            var (off, size) = Section(i);
            if (off < 0 || off + size > elf.Length) return [];
            foreach (var kv in Encoding.ASCII.GetString(elf, (int)off, (int)size).Split('\0'))
                if (kv.StartsWith("depends=", StringComparison.Ordinal))
                    return kv["depends=".Length..].Split(',', StringSplitOptions.RemoveEmptyEntries).Select(Canonical).ToArray();
            return [];
        }
        return [];
    }
}
