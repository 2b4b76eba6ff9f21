namespace Numasim.Kernel;

/// <summary>
/// system_freezable_wq as the model runs it: a work item queued during an operation (a driver's config-change
/// handler, a memory notifier asking for a retry) runs once that operation has returned, before the next one
/// starts, in queue order; a work item queued again while it runs runs once more (queue_work() on a running
/// work). Deterministic: nothing runs on a clock.
/// </summary>
public sealed class Workqueue
{
    private readonly List<Action> _queue = [];
    private bool _flushing;

    /// <summary>Models queue_work(): does nothing when the item is already queued and not yet running.</summary>
    public void Queue(Action work)
    {
        if (!_queue.Contains(work)) _queue.Add(work);
    }

    /// <summary>Runs every queued work item, including those queued while running, until none is left.</summary>
    public void Flush()
    {
        if (_flushing) return;
        _flushing = true;
        try
        {
            while (_queue.Count > 0)
            {
                var w = _queue[0];
                _queue.RemoveAt(0);
                w();
            }
        }
        finally { _flushing = false; }
    }
}
