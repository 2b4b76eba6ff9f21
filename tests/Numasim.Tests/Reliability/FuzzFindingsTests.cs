using System.IO.Compression;
using System.Text;
using Numasim.Import;

namespace Numasim.Tests.Reliability;

/// <summary>Inputs the fuzz targets (fuzz/run.sh) found, rebuilt here by hand so that no fuzzed copy of shared data
/// sits in the project: each crashed before its fix.</summary>
public class FuzzFindingsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("numasim-fuzzfind-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A one-entry GNU tar whose atime field is a base-256 number beyond Int64 (System.Formats.Tar threw
    /// OverflowException, an internal error).</summary>
    private static byte[] GnuTarWithHugeAtime() => GnuTar('0', hugeAtime: true);

    /// <summary>A one-entry GNU tar (magic "ustar  ") of entry type <paramref name="type"/>, 4 bytes of data.</summary>
    private static byte[] GnuTar(char type, bool hugeAtime = false)
    {
        var h = new byte[512];
        void Put(int at, string s) => Encoding.ASCII.GetBytes(s).CopyTo(h, at);
        Put(0, "m/sys/x");
        Put(100, "0000644\0");
        Put(108, "0000000\0");
        Put(116, "0000000\0");
        Put(124, hugeAtime ? "00000000000\0" : "00000000004\0");
        Put(136, "00000000000\0");
        h[156] = (byte)type;
        Put(257, "ustar  \0");
        if (hugeAtime)
        {
            h[345] = 0x80; // GNU atime, base-256
            for (int i = 346; i < 357; i++) h[i] = 0xff;
        }
        for (int i = 148; i < 156; i++) h[i] = (byte)' ';
        int sum = h.Sum(b => b);
        Put(148, Convert.ToString(sum, 8).PadLeft(6, '0') + "\0 ");
        return hugeAtime ? [.. h, .. new byte[1024]] : [.. h, .. "abc\n"u8, .. new byte[508 + 1024]];
    }

    private string Gzipped(byte[] tar)
    {
        var path = Path.Combine(_dir, "m.tar.gz");
        using var f = File.Create(path);
        using var z = new GZipStream(f, CompressionLevel.Fastest);
        z.Write(tar);
        return path;
    }

    [Fact]
    public void A_tar_header_with_an_out_of_range_gnu_timestamp_is_a_corrupt_archive_not_an_internal_error()
    {
        var e = Assert.Throws<ImportException>(() => SysfsImporter.Import(Gzipped(GnuTarWithHugeAtime())));
        Assert.Contains("not a gzip-compressed tar archive", e.Message);
    }

    /// <summary>AFL++ (import target, 2026-12-07): a GNU sparse entry made System.Formats.Tar throw
    /// NotSupportedException inside GetNextEntry, before SafeTarExtractor could refuse the entry type.</summary>
    [Fact]
    public void A_gnu_sparse_tar_entry_is_refused_not_an_internal_error()
    {
        var e = Assert.Throws<ImportException>(() => SysfsImporter.Import(Gzipped(GnuTar('S'))));
        Assert.Contains("m.tar.gz: a tar entry of a kind a sysfs tree never holds", e.Message);
        Assert.EndsWith(": refused", e.Message);
    }
}

/// <summary>Scenario findings of the fuzz target `scenario`.</summary>
public class ScenarioFuzzFindingsTests
{
    [Fact]
    public void A_malformed_regular_expression_in_expect_matches_is_bad_input_with_its_line()
    {
        var text = "machine: {qemu: \"-m 1G\"}\nsteps:\n  - expect: {path: /sys/devices/system/node/online, matches: \"0)\"}\n";
        var e = Assert.Throws<Numasim.Scenarios.ScenarioFormatException>(() =>
            Numasim.Scenarios.ScenarioRunner.Run(Numasim.Scenarios.ScenarioParser.Parse(text, "m.yaml")));
        Assert.StartsWith("m.yaml:3: expect.matches: not a regular expression", e.Message);
    }
}

/// <summary>Machine-file findings of the fuzz target `machine`.</summary>
public class MachineFuzzFindingsTests
{
    [Fact]
    public void A_cpu_named_twice_for_one_cache_index_is_bad_input_with_its_line_not_a_duplicate_sysfs_directory()
    {
        // found by AFL++ in an imported machine file: "0;1;2;3;4;7;6;7;..." gave CPU 7 two index1 leaves, and
        // cache_add_dev()'s second indexK threw inside the boot
        var text = "qemu: \"-m 1G -smp 2\"\ncaches:\n  - {index: 0, level: 1, type: Data, size: 32K, cpus: \"0;1\"}\n"
            + "  - {index: 1, level: 1, type: Instruction, size: 32K, cpus: \"1;1\"}\n";
        var e = Assert.Throws<Numasim.Firmware.MachineFormatException>(() => Numasim.Firmware.MachineFile.Parse(text, "m.yaml"));
        Assert.StartsWith("m.yaml:4: caches.cpus: CPU 1 has cache index 1 twice", e.Message);
    }
}
