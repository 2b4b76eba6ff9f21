using Numasim.Kernel.Hotplug;
using Numasim.Kernel.Numa;
using Numasim.Snapshots;

namespace Numasim.Kernel.Mm;

/// <summary>A long-lived user task in the top cpuset: its name, the CPU it runs on, its mempolicy and mems_allowed.</summary>
internal struct TaskRecord : INamedRecord
{
    public int Name;
    public int Cpu;
    public Mempolicy Pol;
    public NodemaskWords MemsAllowed;

    public readonly int NameIndex => Name;
}

/// <summary>
/// kernel/cgroup/cpuset.c as far as memory hotplug reaches it: every task is in the top cpuset, whose effective
/// mems follow N_MEMORY. cpuset_track_online_nodes() (a memory notifier) schedules cpuset_hotplug_workfn(), which on
/// a change of N_MEMORY runs update_tasks_nodemask(): each task's mems_allowed becomes the new nodes and its policy
/// is rebound (mpol_rebind_task()). Shared policies of files are not rebound. The model runs the work at once.
/// </summary>
internal sealed class Cpuset
{
    private const int CallbackPriority = 10; // CPUSET_CALLBACK_PRI
    private readonly KernelContext _k;
    private readonly StateStrings _names;
    private readonly StateArray<TaskRecord> _tasks;
    private readonly StateValue<NodemaskWords> _effectiveMems;

    public Cpuset(KernelContext k, MemoryNotifierChain notifiers)
    {
        _k = k;
        _names = new StateStrings(k.State, "task names");
        _tasks = new StateArray<TaskRecord>(k.State, "tasks (mempolicy, mems_allowed)");
        _effectiveMems = new StateValue<NodemaskWords>(k.State, "top_cpuset.effective_mems");
        notifiers.Register(TrackOnlineNodes, CallbackPriority);
    }

    /// <summary>Models cpuset_init_smp(): the top cpuset's effective mems are N_MEMORY once SMP is up.</summary>
    public void InitSmp() => _effectiveMems.Mut = NodemaskWords.Of(_k.NodeStates[NodeState.Memory]);

    /// <summary>A task's index, or -1.</summary>
    public int Find(string name) => _tasks.IndexOfName(_names, name);

    public ref readonly TaskRecord this[int i] => ref _tasks[i];

    /// <summary>A task forked into the top cpuset with a policy (numactl's set_mempolicy() before it execs).</summary>
    public int Start(string name, int cpu, in Mempolicy pol)
    {
        var t = new TaskRecord { Name = _names.Intern(name), Cpu = cpu, Pol = pol, MemsAllowed = _effectiveMems.Value };
        int i = Find(name);
        if (i >= 0) { _tasks.Mut(i) = t; return i; }
        return _tasks.Add(t);
    }

    /// <summary>Models cpuset_track_online_nodes() → cpuset_hotplug_workfn(): on MEM_ONLINE / MEM_OFFLINE, if N_MEMORY
    /// changed, the top cpuset's effective mems take it and update_tasks_nodemask() rebinds every task.</summary>
    private Errno TrackOnlineNodes(MemoryAction action, MemoryNotify arg)
    {
        if (action is not (MemoryAction.Online or MemoryAction.Offline)) return Errno.None;
        var newMems = _k.NodeStates[NodeState.Memory];
        if (_effectiveMems.Value.SameAs(newMems)) return Errno.None;
        using var call = _k.Trace.Call("cpuset_hotplug_workfn", "kernel/cgroup/cpuset.c", $"N_MEMORY now {newMems.ToListString()}");
        _effectiveMems.Mut = NodemaskWords.Of(newMems);
        var wide = _tasks.Length == 0 ? null : MempolicyOps.CpusetMemsAllowed(_k); // no task: nothing to rebind
        for (int i = 0; i < _tasks.Length; i++)
        {
            // cpuset_change_task_nodemask(): mpol_rebind_task(), then mems_allowed
            ref var t = ref _tasks.Mut(i);
            MempolicyOps.Rebind(ref t.Pol, wide!);
            t.MemsAllowed = _effectiveMems.Value;
            _k.Trace.Change($"task {_names[t.Name]}: policy nodes {t.Pol.Nodes.ToBitmap().ToListString()}, mems_allowed {newMems.ToListString()}");
        }
        return Errno.None;
    }
}
