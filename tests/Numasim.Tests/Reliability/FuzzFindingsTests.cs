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
    private static byte[] GnuTarWithHugeAtime()
    {
        var h = new byte[512];
        void Put(int at, string s) => Encoding.ASCII.GetBytes(s).CopyTo(h, at);
        Put(0, "m/sys/x");
        Put(100, "0000644\0");
        Put(108, "0000000\0");
        Put(116, "0000000\0");
        Put(124, "00000000000\0");
        Put(136, "00000000000\0");
        h[156] = (byte)'0';
        Put(257, "ustar  \0");
        h[345] = 0x80; // GNU atime, base-256
        for (int i = 346; i < 357; i++) h[i] = 0xff;
        for (int i = 148; i < 156; i++) h[i] = (byte)' ';
        int sum = h.Sum(b => b);
        Put(148, Convert.ToString(sum, 8).PadLeft(6, '0') + "\0 ");
        return [.. h, .. new byte[1024]];
    }

    [Fact]
    public void A_tar_header_with_an_out_of_range_gnu_timestamp_is_a_corrupt_archive_not_an_internal_error()
    {
        var path = Path.Combine(_dir, "m.tar.gz");
        using (var f = File.Create(path))
        using (var z = new GZipStream(f, CompressionLevel.Fastest))
            z.Write(GnuTarWithHugeAtime());
        var e = Assert.Throws<ImportException>(() => SysfsImporter.Import(path));
        Assert.Contains("not a gzip-compressed tar archive", e.Message);
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
