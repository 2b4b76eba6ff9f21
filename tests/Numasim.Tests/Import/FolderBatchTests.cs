using Numasim.Import;
using Xunit.Abstractions;

namespace Numasim.Tests.Import;

/// <summary>
/// Folders read in a batch through io_uring (ConfinedTree.ReadFolders, FolderBatch) come out as the one-by-one reader
/// gives them: the same entries and kinds, the same texts (a file longer than the first read, an empty file, a hard
/// link read once), the same nothing for links, FIFOs and missing folders, and a folder that is a link resolved
/// by its path.
/// </summary>
public sealed class FolderBatchTests(ITestOutputHelper output) : IDisposable
{
    private readonly ScratchFolder _scratch = new("batch-test");
    private string Dir => _scratch.Path;

    public void Dispose() => _scratch.Dispose();

    private static readonly string[] Asked = ["a", "big", "empty", "link", "fifo", "shared", "sub", "absent"];

    private void MakeTree()
    {
        var top = Path.Combine(Dir, "top");
        for (int i = 0; i < 300; i++)
        {
            var d = Path.Combine(top, $"f{i}");
            Directory.CreateDirectory(Path.Combine(d, "sub"));
            File.WriteAllText(Path.Combine(d, "a"), $"text {i}\n");
            File.WriteAllText(Path.Combine(d, "empty"), "");
            if (i % 7 == 0) File.WriteAllText(Path.Combine(d, "big"), new string((char)('a' + i % 26), 20_000 + i));
            if (i % 5 == 0) File.CreateSymbolicLink(Path.Combine(d, "link"), "a");
            if (i == 0) File.WriteAllText(Path.Combine(d, "shared"), "one inode in many folders\n");
            else if (i % 3 == 0) Link(Path.Combine(top, "f0", "shared"), Path.Combine(d, "shared"));
        }
        if (DirectoryReader.Available) MakeFifo(Path.Combine(top, "f1", "fifo"));
        Directory.CreateSymbolicLink(Path.Combine(top, "linked"), "f2");
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "link")]
    private static extern int LinkFile(string from, string to);

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "mkfifo")]
    private static extern int Mkfifo(string path, int mode);

    private static void Link(string from, string to) => Assert.Equal(0, LinkFile(from, to));

    private static void MakeFifo(string path) => Assert.Equal(0, Mkfifo(path, 0x1a4));

    private List<string> Folders()
    {
        var list = Enumerable.Range(0, 300).Select(i => $"top/f{i}").ToList();
        list.AddRange(["top/linked", "top/missing", "top/f3/a", "top"]);
        return list;
    }

    [Fact]
    public void A_batch_through_io_uring_reads_what_the_one_by_one_reader_reads()
    {
        if (!DirectoryReader.Available) return;
        MakeTree();
        var rels = Folders();
        var one = new ConfinedTree(Dir) { Batched = false };
        var expected = rels.Select(r => one.ReadFolder(r, Asked, subfolders: true)).ToList();
        using var parents = new ParentFolders();
        var batched = new ConfinedTree(Dir);
        // the parents must be resolved, as DumpTree's batches find them, for the relative opens to be taken
        batched.ReadFolder("top", [], subfolders: true);
        var got = batched.ReadFolders(rels, Asked, subfolders: true, parents);
        Assert.Equal(rels.Count, got.Length);
        for (int i = 0; i < rels.Count; i++) AssertSame(rels[i], expected[i], got[i]);
        // the big files came back whole, past the first read
        Assert.Equal(20_000 + 7, got[7]!.Text("big")!.Length);
    }

    [Fact]
    public void Without_io_uring_the_batch_reads_one_by_one()
    {
        if (!DirectoryReader.Available) return;
        MakeTree();
        var rels = Folders();
        var expected = rels.Select(r => new ConfinedTree(Dir).ReadFolder(r, Asked, subfolders: false)).ToList();
        var got = new ConfinedTree(Dir) { Batched = false }.ReadFolders(rels, Asked, subfolders: false, null);
        for (int i = 0; i < rels.Count; i++) AssertSame(rels[i], expected[i], got[i]);
    }

    [Fact]
    public void Every_real_dump_and_this_machine_import_the_same_through_io_uring_as_one_by_one()
    {
        if (!DirectoryReader.Available || SharedData.DirOrSkip(output, "the batched reads' comparison") is not { } data) return;
        var trees = Directory.EnumerateFiles(data, "*.tar.*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(trees);
        if (Directory.Exists("/sys/devices/system/cpu")) trees.Add("/sys");
        foreach (var tree in trees)
        {
            using var src = TreeSource.Open(tree);
            string Import(bool batched)
            {
                try
                {
                    var r = SysfsImporter.ImportTree(src.Root, src.Name, new ImportOptions() { Batched = batched });
                    return r.MachineFileText() + string.Join("\n", r.Notes);
                }
                catch (ImportException e) { return "error: " + e.Message; }
            }
            Assert.True(Import(batched: false) == Import(batched: true), tree);
        }
    }

    private static void AssertSame(string rel, FolderListing? want, FolderListing? got)
    {
        if (want is null) { Assert.Null(got); return; }
        Assert.NotNull(got);
        Assert.Equal(want.IsFolder, got!.IsFolder);
        Assert.Equal(want.Names.Order(StringComparer.Ordinal), got.Names.Order(StringComparer.Ordinal));
        foreach (var n in want.Names)
        {
            Assert.True(got.TryGetKind(n, out var k), $"{rel}/{n}");
            want.TryGetKind(n, out var wk);
            Assert.Equal(wk, k);
        }
        foreach (var n in Asked) Assert.True(want.Text(n) == got.Text(n), $"{rel}/{n}: '{want.Text(n)}' != '{got.Text(n)}'");
    }
}
