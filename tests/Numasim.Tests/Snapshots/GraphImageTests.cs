using Numasim.Snapshots;

namespace Numasim.Tests.Snapshots;

public class GraphImageTests
{
    private sealed class Node
    {
        public readonly List<Node> Children = [];
        public Node? Parent;
        public string Name = "";
        public int[] Numbers = [];
        public (string Key, Node? Target)[] Pairs = [];
        public Dictionary<string, Node> ByName = new(StringComparer.Ordinal);
        public Func<string>? Show;
        public object? Boxed;
    }

    private struct Holder
    {
        public Node? Target;
        public long Value;
    }

    private static Node Sample()
    {
        var root = new Node { Name = "root", Numbers = [1, 2, 3] };
        var a = new Node { Name = "a", Parent = root };
        var b = new Node { Name = "b", Parent = root };
        root.Children.AddRange([a, b]);
        root.ByName["a"] = a;
        root.ByName["b"] = b;
        root.Pairs = [("first", a), ("none", null), ("again", a)];
        a.Show = () => a.Name + "/" + a.Parent!.Name;   // a closure over a graph object
        b.Boxed = new Holder { Target = b, Value = 7 };  // a boxed struct holding a cycle
        return root;
    }

    [Fact]
    public void A_copy_keeps_sharing_and_cycles_and_is_independent_of_the_original()
    {
        var root = Sample();
        var copy = GraphImage<Node>.Of(root).Copy();

        Assert.NotSame(root, copy);
        var (a, b) = (copy.Children[0], copy.Children[1]);
        Assert.NotSame(root.Children[0], a);
        Assert.Same(copy, a.Parent);
        Assert.Same(a, copy.ByName["a"]);
        Assert.Same(a, copy.Pairs[0].Target);
        Assert.Same(a, copy.Pairs[2].Target);
        Assert.Null(copy.Pairs[1].Target);
        Assert.Same(root.Name, copy.Name); // strings are shared, not copied
        Assert.Equal([1, 2, 3], copy.Numbers);
        Assert.NotSame(root.Numbers, copy.Numbers);
        var holder = Assert.IsType<Holder>(b.Boxed);
        Assert.Same(b, holder.Target);
        Assert.Equal(7, holder.Value);

        // The closure was copied with what it captured: it reads the copy, not the original.
        a.Name = "changed";
        Assert.Equal("changed/root", a.Show!());
        Assert.Equal("a/root", root.Children[0].Show!());

        copy.Numbers[0] = 99;
        copy.ByName.Remove("b");
        copy.Children.Add(new Node());
        Assert.Equal(1, root.Numbers[0]);
        Assert.Equal(2, root.ByName.Count);
        Assert.Equal(2, root.Children.Count);
        Assert.Same(root.Children[1], root.ByName["b"]);
    }

    [Fact]
    public void Copies_of_one_image_are_independent_of_each_other()
    {
        var image = GraphImage<Node>.Of(Sample());
        var x = image.Copy();
        var y = image.Copy();
        x.Children[0].Name = "x";
        Assert.Equal("a", y.Children[0].Name);
        Assert.NotSame(x.Children[0], y.Children[0]);
        Assert.Equal(image.ObjectCount, GraphImage<Node>.Of(y).ObjectCount);
    }

    [Fact]
    public void A_dictionary_copy_still_finds_its_keys()
    {
        var d = new Dictionary<long, List<string>>();
        for (int i = 0; i < 100; i++) d[i * 7919L] = [i.ToString()];
        var copy = GraphImage<Dictionary<long, List<string>>>.Of(d).Copy();
        for (int i = 0; i < 100; i++) Assert.Equal(i.ToString(), copy[i * 7919L][0]);
        copy[5] = ["new"];
        Assert.False(d.ContainsKey(5));
    }

    [Fact]
    public void A_set_of_objects_hashed_by_identity_cannot_be_imaged()
    {
        var set = new HashSet<Node> { new() };
        var e = Assert.Throws<NotSupportedException>(() => GraphImage<HashSet<Node>>.Of(set));
        Assert.Contains("identity", e.Message);
    }

    [Fact]
    public void A_graph_holding_a_thread_cannot_be_imaged()
    {
        var holder = new List<object> { new Thread(() => { }) };
        Assert.Throws<NotSupportedException>(() => GraphImage<List<object>>.Of(holder));
    }
}
