using System.Formats.Tar;
using System.IO.Compression;
using System.Diagnostics;
using ICSharpCode.SharpZipLib.BZip2;
using Numasim.Import;
using Numasim.Tests.Cli;
using Xunit.Abstractions;

namespace Numasim.Tests.Import;

/// <summary>
/// Hostile trees and tarballs (issue 19): nothing is written outside the importer's own temporary folder, nothing
/// is read outside the tree named, nothing blocks or eats memory, and each refusal is one line naming the entry.
/// </summary>
public sealed class HostileTreeTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"numasim-hostile-test-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private string Work
    {
        get
        {
            Directory.CreateDirectory(_dir);
            return _dir;
        }
    }

    private string Victim
    {
        get
        {
            var v = Path.Combine(_dir, "victim");
            Directory.CreateDirectory(v);
            return v;
        }
    }

    /// <summary>Writes a tarball of the given entries, gzip- or bzip2-compressed.</summary>
    private string Tarball(string name, bool bz2, params TarEntry[] entries)
    {
        var path = Path.Combine(Work, name + (bz2 ? ".tar.bz2" : ".tar.gz"));
        using var f = File.Create(path);
        using Stream c = bz2 ? new BZip2OutputStream(f) : new GZipStream(f, CompressionLevel.Fastest);
        using (var w = new TarWriter(c, TarEntryFormat.Pax, leaveOpen: true))
            foreach (var e in entries) w.WriteEntry(e);
        return path;
    }

    private static PaxTarEntry Dir(string name) => new(TarEntryType.Directory, name);

    private static PaxTarEntry FileEntry(string name, string text) =>
        new(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(text)) };

    private static PaxTarEntry Link(string name, string target) => new(TarEntryType.SymbolicLink, name) { LinkName = target };

    private static PaxTarEntry HardLink(string name, string target) => new(TarEntryType.HardLink, name) { LinkName = target };

    private void AssertRefused(string expected, string input)
    {
        var yaml = Path.Combine(_dir, "out.yaml");
        var r = CliHarness.Run("import", input, "-o", yaml);
        Assert.Equal(2, r.Exit);
        var line = Assert.Single(r.ErrLines);
        Assert.StartsWith("numasim: import: ", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.False(File.Exists(yaml), "nothing may be written on bad input");
    }

    [Theory]
    [InlineData(false, true)]
    [InlineData(false, false)]
    [InlineData(true, true)]
    [InlineData(true, false)]
    public void A_file_behind_a_link_entry_is_not_written_through_the_link(bool bz2, bool absolute)
    {
        var victim = Victim;
        var target = absolute ? victim : Path.GetRelativePath(Path.Combine(Path.GetTempPath(), "x", "m", "sys"), victim);
        var tar = Tarball("evil", bz2, Dir("m/"), Dir("m/sys/"), Link("m/sys/evil", target), FileEntry("m/sys/evil/pwned", "owned\n"));
        AssertRefused("links outside the archive's folder", tar);
        Assert.Empty(Directory.EnumerateFileSystemEntries(victim));
    }

    [Fact]
    public void A_file_behind_an_inside_link_is_refused_too()
    {
        var tar = Tarball("inner", false, Dir("m/"), Dir("m/sys/"), Dir("m/sys/real/"), Link("m/sys/alias", "real"), FileEntry("m/sys/alias/x", "1\n"));
        AssertRefused("lies behind the link 'm/sys/alias'", tar);
    }

    [Fact]
    public void Dot_dot_and_absolute_entries_are_refused()
    {
        AssertRefused("climbs out with '..'", Tarball("dotdot", false, Dir("m/"), FileEntry("m/../../x", "1\n")));
        AssertRefused("has an absolute path", Tarball("abs", true, FileEntry("/tmp/numasim-should-not-exist", "1\n")));
        Assert.False(File.Exists("/tmp/numasim-should-not-exist"));
    }

    [Fact]
    public void The_issue_s_tarball_with_dot_dot_and_a_link_to_etc_is_refused_and_writes_nothing_outside()
    {
        var outDir = Path.Combine(_dir, "o");
        Directory.CreateDirectory(outDir);
        var tar = Tarball("issue", false, Dir("m/"), Dir("m/sys/"), Link("m/sys/etc", "/etc"), FileEntry("m/../../x", "1\n"));
        var r = CliHarness.Run("import", tar, "-o", Path.Combine(outDir, "m.yaml"));
        Assert.Equal(2, r.Exit);
        Assert.Contains("refused", Assert.Single(r.ErrLines), StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(outDir));
        Assert.False(File.Exists(Path.Combine(Path.GetTempPath(), "x")) && File.ReadAllText(Path.Combine(Path.GetTempPath(), "x")) == "1\n");
    }

    [Fact]
    public void Hard_links_outside_and_devices_and_fifos_in_a_tarball_are_refused()
    {
        AssertRefused("is a hard link to '/etc/passwd'", Tarball("hard", false, Dir("m/"), HardLink("m/p", "/etc/passwd")));
        AssertRefused("is a hard link to 'm/none'", Tarball("hard2", false, Dir("m/"), HardLink("m/p", "m/none")));
        AssertRefused("is a FIFO", Tarball("fifo", false, Dir("m/"), new PaxTarEntry(TarEntryType.Fifo, "m/f")));
        AssertRefused("is a character device", Tarball("chr", true, Dir("m/"), new PaxTarEntry(TarEntryType.CharacterDevice, "m/zero") { DeviceMajor = 1, DeviceMinor = 5 }));
    }

    [Fact]
    public void A_decompression_bomb_stops_at_the_bound()
    {
        // 64 MiB of zeros in one entry, against a 1 MiB bound: the extractor stops reading at the bound
        var path = Path.Combine(Work, "bomb.tar");
        using (var f = File.Create(path))
        using (var w = new TarWriter(f, TarEntryFormat.Pax))
            w.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "m/zeros") { DataStream = new ZeroStream(64 << 20) });
        var dest = Path.Combine(_dir, "dest");
        Directory.CreateDirectory(dest);
        using var s = File.OpenRead(path);
        var e = Assert.Throws<ImportException>(() => SafeTarExtractor.Extract(s, dest, "bomb.tar", maxUnpackedBytes: 1 << 20));
        Assert.Contains("decompression bomb", e.Message, StringComparison.Ordinal);
    }

    private void WriteTree(string rel, string text)
    {
        var p = Path.Combine(_dir, "tree", rel);
        Directory.CreateDirectory(Path.GetDirectoryName(p)!);
        File.WriteAllText(p, text);
    }

    [Fact]
    public void A_link_out_of_a_directory_tree_is_refused_without_quoting_its_target()
    {
        WriteTree("sys/devices/system/cpu/present", "0\n");
        File.CreateSymbolicLink(Path.Combine(_dir, "tree/sys/devices/system/cpu/possible"), "/etc/passwd");
        var yaml = Path.Combine(_dir, "out.yaml");
        var r = CliHarness.Run("import", Path.Combine(_dir, "tree"), "-o", yaml);
        Assert.Equal(2, r.Exit);
        var line = Assert.Single(r.ErrLines);
        Assert.Contains("cpu/possible: a symbolic link leads outside the tree: refused", line, StringComparison.Ordinal);
        Assert.DoesNotContain("root", line, StringComparison.Ordinal);
    }

    [Fact]
    public void A_fifo_in_a_directory_tree_is_refused_instead_of_blocking()
    {
        WriteTree("sys/devices/system/cpu/present", "0\n");
        var fifo = Path.Combine(_dir, "tree/sys/devices/system/cpu/possible");
        using (var p = Process.Start("mkfifo", [fifo])) p.WaitForExit();
        AssertRefused("cpu/possible: a FIFO, not a file: refused", Path.Combine(_dir, "tree"));
    }

    [Fact]
    public void A_huge_sparse_file_in_a_directory_tree_is_refused_unread()
    {
        WriteTree("sys/devices/system/cpu/present", "0\n");
        using (var f = File.Create(Path.Combine(_dir, "tree/sys/devices/system/cpu/possible")))
            f.SetLength(2L << 30);
        AssertRefused("cpu/possible: larger than 16 MiB", Path.Combine(_dir, "tree"));
    }

    /// <summary>Files inside the many folders the importer reads whole (a memory block, a cache index): the listing
    /// reads only regular files, the rest is refused by name as anywhere else.</summary>
    [Theory]
    [InlineData("memory/memory1/state", "fifo", "memory/memory1/state: a FIFO, not a file: refused")]
    [InlineData("memory/memory0/valid_zones", "link", "memory/memory0/valid_zones: a symbolic link leads outside the tree: refused")]
    [InlineData("cpu/cpu0/cache/index0/size", "huge", "cpu/cpu0/cache/index0/size: larger than 16 MiB")]
    [InlineData("cpu/cpu0/topology/thread_siblings", "fifo", "cpu/cpu0/topology/thread_siblings: a FIFO, not a file: refused")]
    public void A_hostile_file_among_a_folder_s_attributes_is_refused(string rel, string kind, string expected)
    {
        const string sys = "sys/devices/system";
        foreach (var (f, text) in (ValueTuple<string, string>[])[("cpu/possible", "0\n"), ("cpu/present", "0\n"), ("cpu/online", "0\n"),
            ("cpu/cpu0/topology/core_id", "0\n"), ("cpu/cpu0/topology/thread_siblings", "1\n"), ("cpu/cpu0/cache/index0/level", "1\n"),
            ("cpu/cpu0/cache/index0/size", "32K\n"), ("memory/block_size_bytes", "8000000\n")])
            WriteTree($"{sys}/{f}", text);
        for (int b = 0; b < 2; b++)
            foreach (var (f, text) in (ValueTuple<string, string>[])[("phys_index", $"{b:x8}\n"), ("state", "online\n"), ("valid_zones", "Normal\n")])
                WriteTree($"{sys}/memory/memory{b}/{f}", text);
        for (int b = 0; b < 2; b++)
            File.CreateSymbolicLink(Path.Combine(_dir, "tree", sys, $"memory/memory{b}/node0"), "../../node/node0");
        WriteTree($"{sys}/node/node0/cpulist", "0\n");
        var path = Path.Combine(_dir, "tree", sys, rel);
        File.Delete(path);
        if (kind == "fifo") using (var p = Process.Start("mkfifo", [path])) p.WaitForExit();
        else if (kind == "link") File.CreateSymbolicLink(path, "/etc/hostname");
        else using (var f = File.Create(path)) f.SetLength(1L << 30);
        AssertRefused(expected, Path.Combine(_dir, "tree"));
    }

    [Fact]
    public void A_character_device_behind_an_inside_link_is_refused()
    {
        var sys = Path.Combine(_dir, "tree/sys");
        Directory.CreateDirectory(Path.Combine(sys, "devices/system/cpu"));
        // the link itself stays inside (to dev/zero of the tree), which is a link to the real /dev/zero: refused there
        Directory.CreateDirectory(Path.Combine(_dir, "tree/dev"));
        File.CreateSymbolicLink(Path.Combine(_dir, "tree/dev/zero"), "/dev/zero");
        File.CreateSymbolicLink(Path.Combine(sys, "devices/system/cpu/possible"), "../../../../dev/zero");
        AssertRefused("a symbolic link leads outside the tree", Path.Combine(_dir, "tree"));
    }

    [Fact]
    public void Every_real_dump_unpacks_without_a_refusal()
    {
        var data = SharedData.DirOrSkip(output, "the real dumps' unpacking");
        if (data is null) return;
        var dumps = Directory.EnumerateFiles(data, "*.tar.*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(dumps);
        foreach (var d in dumps)
        {
            using var t = TreeSource.Open(d);
            Assert.True(Directory.Exists(Path.Combine(t.Root, "sys")), d);
        }
    }

    /// <summary>A stream of zeros of a given length, without holding them.</summary>
    private sealed class ZeroStream(long length) : Stream
    {
        private long _pos;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => length;
        public override long Position { get => _pos; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override int Read(byte[] buffer, int offset, int count)
        {
            int n = (int)Math.Min(count, length - _pos);
            Array.Clear(buffer, offset, n);
            _pos += n;
            return n;
        }
    }
}
