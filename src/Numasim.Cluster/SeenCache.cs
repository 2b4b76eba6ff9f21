namespace Numasim.Cluster;

/// <summary>
/// The fingerprints a partition generated lately, direct-mapped and lossy (TLC's fingerprint cache on its workers).
/// A hit is always right to skip: a state this partition sent in an earlier level is in its owner's visited set by
/// now, and one sent earlier in this level went with a smaller path (a partition generates in path order), which the
/// owner keeps. A miss (never seen, or overwritten) only sends the candidate, and the owner decides.
/// </summary>
internal sealed class SeenCache(int log2 = 18)
{
    private readonly ulong[] _slots = new ulong[1 << log2];
    private readonly ulong _mask = (1UL << log2) - 1;

    /// <summary>Whether the fingerprint was recorded; records it otherwise. Fingerprint 0 is never recorded (the empty slot).</summary>
    public bool SeenOrAdd(ulong fp)
    {
        // The low bits pick the slot: the owner was chosen by the high bits, so the slots of one owner spread evenly.
        ref ulong slot = ref _slots[fp & _mask];
        if (slot == fp && fp != 0) return true;
        slot = fp;
        return false;
    }
}
