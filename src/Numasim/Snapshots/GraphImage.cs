namespace Numasim.Snapshots;

/// <summary>
/// A frozen image of an object graph that can be copied many times: each <see cref="Copy"/> is a new graph,
/// identity preserved (shared and cyclic references stay shared and cyclic), in the state the graph had.
/// It is how a modelled machine is snapshotted: the model keeps its state in ordinary objects, so a copy of
/// everything reachable from the machine is the machine in the same state.
/// Making the image walks the graph once and numbers its objects; a copy then needs no hashing: it allocates
/// every object as a raw copy and patches each reference by number. The image holds the graph's objects, not
/// copies of them: the graph must not change while the image is used.
/// Shared by the copies, never copied: strings, reflection objects and the library's stateless comparers.
/// Every other object reachable is copied, so a type that cannot be (a thread, a wait handle) has no place in
/// the model. An image can be copied from several threads at once.
/// </summary>
public sealed class GraphImage<T> where T : class
{
    private readonly object[] _objects;
    private readonly TypeCopyPlan[] _plans;
    private readonly int[] _refs;

    private GraphImage(object[] objects, TypeCopyPlan[] plans, int[] refs)
    {
        _objects = objects;
        _plans = plans;
        _refs = refs;
    }

    /// <summary>Images the graph reachable from <paramref name="root"/>.</summary>
    public static GraphImage<T> Of(T root)
    {
        var w = new GraphWalker(root);
        return new GraphImage<T>(w.Objects, w.Plans, w.Refs);
    }

    /// <summary>Objects a copy allocates.</summary>
    public int ObjectCount => _objects.Length;

    /// <summary>A new graph in the imaged state.</summary>
    public T Copy()
    {
        var copies = new object[_objects.Length];
        for (int i = 0; i < copies.Length; i++) copies[i] = _plans[i].Allocate(_objects[i]);
        int pos = 0;
        for (int i = 0; i < copies.Length; i++) _plans[i].Patch?.Invoke(copies[i], _refs, ref pos, copies);
        return (T)copies[0];
    }
}

/// <summary>Numbers the objects of a graph breadth-first and records, object by object, the number of each
/// reference slot's target (-1: null or shared, kept as it is).</summary>
internal sealed class GraphWalker
{
    private readonly IdentityMap _index = new();
    private readonly List<object> _objects = [];
    private readonly List<TypeCopyPlan> _plans = [];
    private int[] _refs = new int[1024];
    private int _refCount;

    public GraphWalker(object root)
    {
        var plan = TypeCopyPlan.For(root.GetType());
        if (plan.Shared) throw new ArgumentException($"a {root.GetType()} is shared, not copied", nameof(root));
        Number(root, plan);
        for (int i = 0; i < _objects.Count; i++) _plans[i].Gather?.Invoke(_objects[i], this);
    }

    public object[] Objects => [.. _objects];
    public TypeCopyPlan[] Plans => [.. _plans];
    public int[] Refs => _refs.AsSpan(0, _refCount).ToArray();

    /// <summary>Called by the compiled gather routines for each reference slot, in order.</summary>
    public void Visit(object? target)
    {
        int k = -1;
        if (target is not null)
        {
            k = _index.Get(target);
            if (k < 0)
            {
                var plan = TypeCopyPlan.For(target.GetType());
                if (!plan.Shared) k = Number(target, plan);
            }
        }
        if (_refCount == _refs.Length) Array.Resize(ref _refs, _refs.Length * 2);
        _refs[_refCount++] = k;
    }

    private int Number(object o, TypeCopyPlan plan)
    {
        int k = _objects.Count;
        _objects.Add(o);
        _plans.Add(plan);
        _index.Add(o, k);
        return k;
    }
}
