namespace Numasim.Kernel.Hotplug;

/// <summary>The memory hotplug notifier actions, include/linux/memory.h.</summary>
public enum MemoryAction { GoingOnline, CancelOnline, Online, GoingOffline, CancelOffline, Offline }

/// <summary>struct memory_notify: the range and the nodes whose N_MEMORY / N_NORMAL_MEMORY state changes (-1: none).</summary>
public readonly record struct MemoryNotify(long StartPfn, long NrPages, int StatusChangeNid, int StatusChangeNidNormal);

/// <summary>
/// The memory hotplug notifier chain (register_memory_notifier() / memory_notify(), drivers/base/memory.c).
/// A callback returning an errno on MEM_GOING_ONLINE or MEM_GOING_OFFLINE vetoes the operation, which then
/// sends MEM_CANCEL_ONLINE / MEM_CANCEL_OFFLINE.
/// </summary>
public sealed class MemoryNotifierChain
{
    private readonly List<Func<MemoryAction, MemoryNotify, Errno>> _callbacks = [];
    private readonly List<int> _priorities = [];

    /// <summary>Models register_memory_notifier() → notifier_chain_register(): higher priority first, and after the
    /// callbacks of the same priority already there.</summary>
    public void Register(Func<MemoryAction, MemoryNotify, Errno> callback, int priority = 0)
    {
        int i = 0;
        while (i < _priorities.Count && _priorities[i] >= priority) i++;
        _callbacks.Insert(i, callback);
        _priorities.Insert(i, priority);
    }

    /// <summary>Models unregister_memory_notifier().</summary>
    public void Unregister(Func<MemoryAction, MemoryNotify, Errno> callback)
    {
        int i = _callbacks.IndexOf(callback);
        if (i < 0) return;
        _callbacks.RemoveAt(i);
        _priorities.RemoveAt(i);
    }

    /// <summary>Models memory_notify(): the first callback's error stops the chain (notifier_to_errno()).</summary>
    public Errno Notify(MemoryAction action, MemoryNotify arg)
    {
        foreach (var cb in _callbacks)
        {
            var e = cb(action, arg);
            if (e != Errno.None) return e;
        }
        return Errno.None;
    }
}
