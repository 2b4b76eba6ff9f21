using System.IO.Compression;
using System.Text;
using Numasim.Firmware;
using Numasim.Import;
using Numasim.Input;
using Numasim.Scenarios;

namespace Numasim.Fuzz;

/// <summary>
/// One fuzz target per input numasim reads. Each turns the bytes into that input, runs it as the CLI would, and lets
/// only the exceptions that are a user's error (the ones the CLI prints as one line) pass; anything else, a hang
/// (afl-fuzz's timeout) or a crash of the process is a finding.
/// </summary>
public static class Targets
{
    public static readonly IReadOnlyDictionary<string, Action<byte[]>> All = new Dictionary<string, Action<byte[]>>
    {
        ["qemu"] = Qemu,
        ["machine"] = MachineYaml,
        ["scenario"] = ScenarioYaml,
        ["sysfs"] = SysfsWrites,
        ["import"] = ImportTarball,
    };

    private static string Text(byte[] data) => Encoding.UTF8.GetString(data);

    /// <summary>QEMU's options: parsed as `--qemu` takes them, then booted when accepted.</summary>
    private static void Qemu(byte[] data)
    {
        var r = QemuCommandLine.Parse(Text(data));
        if (r.Ok) Machine.Boot(r.Spec!);
    }

    /// <summary>A YAML machine file, parsed and booted.</summary>
    private static void MachineYaml(byte[] data)
    {
        MachineSpec spec;
        try { spec = MachineFile.Parse(Text(data), "fuzz.yaml"); }
        catch (MachineFormatException) { return; }
        Machine.Boot(spec);
    }

    /// <summary>A scenario file, parsed and run (its machine must be QEMU options: a machine file path would read the disk).</summary>
    private static void ScenarioYaml(byte[] data)
    {
        try
        {
            var sc = ScenarioParser.Parse(Text(data), "fuzz.yaml");
            if (sc.MachineQemu is null) return;
            ScenarioRunner.Run(sc);
        }
        catch (ScenarioFormatException) { }
        catch (MachineFormatException) { }
    }

    private static Machine? _base;

    /// <summary>Writes to any path with any bytes on the oracle machine with a DIMM plugged and onlined: each line is
    /// "PATH VALUE" (PATH relative to /sys/devices/system when it does not start with '/'); every file written is read back.</summary>
    private static void SysfsWrites(byte[] data)
    {
        var m = (_base ??= BaseMachine()).Clone();
        int n = 0;
        foreach (var line in Text(data).Split('\n'))
        {
            if (++n > 16) break;
            int sp = line.IndexOf(' ');
            var path = sp < 0 ? line : line[..sp];
            var value = sp < 0 ? "" : line[(sp + 1)..];
            if (!path.StartsWith('/')) path = "/sys/devices/system/" + path;
            m.Fs.Write(path, value.Replace("\\n", "\n"));
            if (m.Oops is not null) return; // a modelled oops is a report, not a crash
            m.Read(path);
        }
    }

    private static Machine BaseMachine()
    {
        var m = Machine.Boot(QemuCommandLine.Parse(
            "-m 1G,slots=4,maxmem=8G -smp 2,maxcpus=4,sockets=4,cores=1,threads=1 -object memory-backend-ram,id=m0,size=1G " +
            "-numa node,nodeid=0,memdev=m0 -numa node,nodeid=1 -numa cpu,node-id=0,socket-id=0 -numa cpu,node-id=0,socket-id=1 " +
            "-numa cpu,node-id=1,socket-id=2 -numa cpu,node-id=1,socket-id=3 -numa dist,src=0,dst=1,val=21").Spec!);
        m.Qmp.ObjectAdd(new Dictionary<string, string> { ["qom-type"] = "memory-backend-ram", ["id"] = "mem1", ["size"] = "536870912" });
        m.Qmp.DeviceAdd(new Dictionary<string, string> { ["driver"] = "pc-dimm", ["id"] = "dimm1", ["memdev"] = "mem1", ["node"] = "1" });
        m.Qmp.DeviceAdd(new Dictionary<string, string> { ["driver"] = "qemu64-x86_64-cpu", ["id"] = "cpu2", ["socket-id"] = "2", ["core-id"] = "0", ["thread-id"] = "0" });
        m.Write("/sys/devices/system/memory/memory32/state", "online_movable");
        m.Modprobe("memory-notifier-error-inject");
        return m;
    }

    private static readonly string Scratch = Directory.CreateTempSubdirectory("numasim-fuzz-import-").FullName;

    /// <summary>A tarball as `numasim import` takes it: the bytes as a tar (gzip-wrapped here, so that mutations act on
    /// the tar itself), or as they are when they already are gzip or bzip2.</summary>
    private static void ImportTarball(byte[] data)
    {
        bool gz = data.Length > 2 && data[0] == 0x1f && data[1] == 0x8b;
        bool bz2 = data.Length > 3 && data[0] == 'B' && data[1] == 'Z' && data[2] == 'h';
        var file = Path.Combine(Scratch, bz2 ? "m.tar.bz2" : "m.tar.gz");
        using (var f = File.Create(file))
        {
            if (gz || bz2) f.Write(data);
            else
            {
                using var z = new GZipStream(f, CompressionLevel.Fastest);
                z.Write(data);
            }
        }
        try { SysfsImporter.Import(file); }
        catch (ImportException) { }
        catch (MachineFormatException) { }
        catch (InputFileException) { }
    }
}
