using Numasim.Kernel.Numa;

namespace Numasim.Checker;

/// <summary>
/// The canonical 64-bit hash of a checker state, computed from the model's state: each possible CPU's presence,
/// onlineness and cpu_to_node; node_states[]; each memory block's node, state and zone; the DIMMs and CPUs the
/// checker plugged; kvm_intel loaded; the checker's pages (node, zone); each zone's present, managed and
/// allocated page counts and span; each pgdat's nr_zones. With symmetry reduction, DIMMs and hot-added blocks count as a multiset (which slot or
/// block number holds them does not matter), and CPUs of one node as a multiset of (present, online).
/// </summary>
public static class StateHasher
{
    private const ulong Seed = 0x9E3779B97F4A7C15;

    public static ulong Hash(CheckDriver d, bool symmetry)
    {
        var m = d.Machine;
        var k = m.Kernel;
        ulong h = Seed;
        if (m.Oops is not null) h = Add(h, 0xDEAD);
        // CPUs.
        var cpus = k.Cpus;
        if (!symmetry)
        {
            foreach (var cpu in cpus.Possible.Bits())
                h = Add(h, (ulong)cpu << 40 | (cpus.Present[cpu] ? 1UL : 0) << 33 | (cpus.Online[cpu] ? 1UL : 0) << 32 | (uint)cpus.CpuToNode(cpu));
            foreach (var (slot, _) in d.PluggedCpus) h = Add(h, 0x100000UL + (ulong)slot);
        }
        else
        {
            ulong multiset = 0;
            foreach (var cpu in cpus.Possible.Bits())
            {
                if (cpu == 0) { h = Add(h, (cpus.Online[0] ? 1UL : 0) << 32 | (uint)cpus.CpuToNode(0)); continue; }
                multiset += Mix((cpus.Present[cpu] ? 1UL : 0) << 33 | (cpus.Online[cpu] ? 1UL : 0) << 32 | (uint)cpus.CpuToNode(cpu));
            }
            h = Add(h, multiset);
            h = Add(h, (ulong)d.PluggedCpus.Count);
        }
        // node_states[].
        for (int s = 0; s <= (int)NodeState.Cpu; s++)
            foreach (var nid in k.NodeStates[(NodeState)s].Bits())
                h = Add(h, (ulong)s << 32 | (uint)nid);
        h = Add(h, d.BootUntouchedNodes);
        // Memory blocks and DIMMs.
        ulong blocks = 0;
        foreach (var mb in k.AllMemoryBlocks)
        {
            ulong v = (uint)mb.Nid | (ulong)mb.State << 32 | (ulong)(mb.Zone is null ? 7 : (int)mb.Zone.Type) << 36;
            if (symmetry && mb.Hotplugged) blocks += Mix(v);
            else h = Add(h, v ^ (ulong)mb.Id << 40);
        }
        h = Add(h, blocks);
        ulong dimms = 0;
        foreach (var (idx, nid) in d.Dimms)
        {
            if (symmetry) dimms += Mix((ulong)nid + 1);
            else h = Add(h, (ulong)idx << 32 | (uint)nid | 1UL << 60);
        }
        h = Add(h, dimms);
        h = Add(h, d.KvmLoaded ? 0x4B564DUL : 0x4E4FUL);
        h = Add(h, Faults.Fingerprint(m));
        foreach (var (key, page) in d.Pages) h = Add(h, (ulong)key << 40 | (ulong)page.Node << 8 | (ulong)page.Zone.Type);
        // Zone accounting, zone spans and nr_zones.
        foreach (var p in k.AllPgData())
        {
            h = Add(h, 0x4E5AUL << 32 | (ulong)p.NodeId << 8 | (uint)p.NrZones);
            foreach (var z in p.Zones)
            {
                if (z.SpannedPages != 0 || z.ZoneStartPfn != 0)
                    h = Add(h, Mix((ulong)z.Id << 1 | 1) ^ (ulong)z.ZoneStartPfn << 24 ^ (ulong)z.SpannedPages);
                if (z.PresentPages == 0 && z.ManagedPages == 0 && z.Pages.AllocatedPages == 0) continue;
                h = Add(h, (ulong)p.NodeId << 8 | (ulong)z.Type);
                h = Add(h, (ulong)z.PresentPages);
                h = Add(h, (ulong)z.ManagedPages);
                h = Add(h, (ulong)z.Pages.AllocatedPages);
            }
        }
        return Mix(h);
    }

    private static ulong Add(ulong h, ulong v) => Mix(h ^ v) + Seed;

    /// <summary>splitmix64's finaliser.</summary>
    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return z ^ (z >> 31);
    }
}
