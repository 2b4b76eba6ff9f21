using System.Globalization;
using Numasim.Firmware;
using Numasim.Kernel.Numa;
using Numasim.Kernel.Sysfs;

namespace Numasim.Kernel.Drivers;

/// <summary>
/// drivers/base/cacheinfo.c with arch/x86/kernel/cpu/cacheinfo.c: cpu/cpuN/cache/indexK exists while the CPU is online
/// (CPUHP_AP_BASE_CACHEINFO_ONLINE), and shared_cpu_map holds the online CPUs sharing the leaf. The leaves are the
/// machine's <see cref="MachineSpec.Caches"/> (an imported machine: which CPUs share each cache is what its kernel
/// showed), else QEMU's qemu64 leaves (<see cref="Qemu64Cpu.CacheLeaves"/>), shared as 6.1's AMD legacy path shares them.
/// </summary>
internal sealed class CacheInfo
{
    private readonly KernelContext _k;
    private readonly Dictionary<int, List<CacheSpec>>? _imported;

    /// <summary>Per CPU, the CPUs of its package (bit: APIC id within the package) its L3 shared_cpu_map holds, where
    /// the map outlives offline (<see cref="Profiles.KernelProfile.CacheinfoRemoveComparesIds"/>); null otherwise
    /// (the map is then the online siblings).</summary>
    private Snapshots.StateArray<ulong>? _l3Map;
    private int _packageShift;

    public CacheInfo(KernelContext k)
    {
        _k = k;
        if (k.Machine.Caches is not { } caches) return;
        _imported = [];
        foreach (var c in caches)
            foreach (var cpu in c.Cpus)
            {
                if (!_imported.TryGetValue(cpu, out var l)) _imported[cpu] = l = [];
                l.Add(c);
            }
        foreach (var l in _imported.Values) l.Sort((a, b) => a.Index.CompareTo(b.Index));
    }

    /// <summary>Sets up the L3 maps' state once the CPUs are enumerated (cpu_dev_init()). A package of more than 64 APIC
    /// ids keeps the stateless rule (online siblings).</summary>
    public void Init()
    {
        _packageShift = X86Topology.ApicIdPkgOffset(_k.Machine.Smp);
        if (_imported is null && _k.Profile.CacheinfoRemoveComparesIds && _packageShift <= 6)
            _l3Map = new Snapshots.StateArray<ulong>(_k.State, "cacheinfo L3 shared_cpu_map (package-relative APIC ids)", _k.Cpus.NrCpuIds);
    }

    private ulong PackageBit(CpuIdentity id) => 1UL << (int)(id.ApicId & ((1u << _packageShift) - 1));

    /// <summary>Models __cache_amd_cpumap_setup() for index 3, arch/x86/kernel/cpu/cacheinfo.c, from
    /// cacheinfo_cpu_online(): every CPU of the new one's cpu_llc_shared_mask gets the online ones in its map. Only
    /// cache_shared_cpu_map_remove() clears bits, and not here (the leaves' ids differ).</summary>
    public void CpuOnline(int cpu)
    {
        if (_l3Map is null || _k.Cpus.Identity(cpu) is not { } me) return;
        ulong llc = 0;
        var shared = LlcShared(cpu, me);
        foreach (var o in shared) llc |= PackageBit(_k.Cpus.Identity(o)!);
        foreach (var o in shared) _l3Map.Set(o, _l3Map[o] | llc);
    }

    /// <summary>cpu_llc_shared_mask(): the online CPUs of the same last-level cache (cpu_llc_id is the die id on family
    /// 15) and node (match_llc()'s topology_sane()). They share the package, so only its APIC ids (at most 64 when
    /// <see cref="_l3Map"/> exists) are looked at, in APIC id order, not every online CPU.</summary>
    private List<int> LlcShared(int cpu, CpuIdentity me)
    {
        var shared = new List<int>();
        uint first = me.ApicId & ~((1u << _packageShift) - 1);
        for (uint a = first; a < first + (1u << _packageShift); a++)
        {
            int o = _k.Cpus.CpuOfApicId(a);
            if (o >= 0 && _k.Cpus.Online[o] && _k.Cpus.Identity(o) is { } id && id.DieId == me.DieId && id.PackageId == me.PackageId
                && _k.Cpus.CpuToNode(o) == _k.Cpus.CpuToNode(cpu))
                shared.Add(o);
        }
        return shared;
    }

    /// <summary>The leaf one indexK directory shows, for one CPU.</summary>
    private sealed class CacheDevice(CacheInfo owner, int cpu, CacheSpec leaf)
    {
        public readonly CacheInfo Owner = owner;
        public readonly int Cpu = cpu;
        public readonly CacheSpec Leaf = leaf;
    }

    /// <summary>Models cache_add_dev() (cacheinfo_cpu_online()): cache/ and an indexK device per leaf, in the cpuN directory
    /// view of an online CPU (cache_remove_dev() at cacheinfo_cpu_pre_down(): the view of an offline CPU has none).</summary>
    public void AddCacheDir(int cpu, SysfsDirectory cpuDir)
    {
        var leaves = Leaves(cpu);
        if (leaves.Count == 0 || cpuDir.Child("cache") is not null) return;
        var cache = cpuDir.Dir("cache");
        cache.AddGroup(UeventGroup);
        foreach (var leaf in leaves)
        {
            var d = cache.Dir("index" + leaf.Index.ToString(CultureInfo.InvariantCulture));
            d.AddGroup(GroupFor(leaf), new CacheDevice(this, cpu, leaf));
            d.AddGroup(UeventGroup);
        }
    }

    /// <summary>Models init_cache_level()/populate_cache_leaves(): the CPU's leaves in index order.</summary>
    private IReadOnlyList<CacheSpec> Leaves(int cpu) =>
        _imported is null ? Qemu64Cpu.CacheLeaves : _imported.TryGetValue(cpu, out var l) ? l : [];

    /// <summary>Models cache_shared_cpu_map_setup(): the online CPUs sharing the leaf. Imported leaves list them; for
    /// qemu64, __cache_amd_cpumap_setup() shares index 3 over cpu_llc_shared_mask (cpu_llc_id is the die id on family
    /// 15, and match_llc()'s topology_sane() keeps it within a node) and the others are per CPU (num_threads_sharing 1).</summary>
    private Bitmap SharedCpus(int cpu, CacheSpec leaf)
    {
        var m = new Bitmap(_k.Cpus.NrCpuIds);
        if (_imported is not null)
        {
            // an offline CPU leaves the map only when cache_leaves_are_shared() finds the ids equal (a CPU the dump lists
            // while offline, whose id it cannot show, was kept by its kernel)
            bool compareIds = _k.Profile.CacheinfoRemoveComparesIds;
            foreach (var c in leaf.Shared ?? leaf.Cpus)
                if (c < _k.Cpus.NrCpuIds && (_k.Cpus.Online[c] || (compareIds && !(leaf.IdOf(c) is int a && leaf.IdOf(cpu) is int b && a == b)))) m.Set(c);
        }
        else if (leaf.Index == 3 && _k.Cpus.Identity(cpu) is { } me)
        {
            if (_l3Map is null)
                foreach (var o in LlcShared(cpu, me)) m.Set(o);
            else
                foreach (var o in _k.Cpus.Possible.Bits())
                    if (_k.Cpus.Identity(o) is { } id && id.PackageId == me.PackageId && (_l3Map[cpu] & PackageBit(id)) != 0) m.Set(o);
        }
        m.Set(cpu);
        return m;
    }

    /// <summary>Models get_cache_id(): the APIC id shifted by the leaf's sharing width (qemu64: the APIC id).</summary>
    private int? Id(int cpu, CacheSpec leaf) =>
        _imported is not null ? leaf.IdOf(cpu) : (int?)(_k.Cpus.Identity(cpu)?.ApicId ?? 0);

    private static readonly AttributeGroup UeventGroup = new(DeviceAttribute.Const("uevent", "", _ => Errno.None));

    /// <summary>cache_default_attrs with cache_default_attrs_is_visible(): a file only where the leaf has the value.</summary>
    private static AttributeGroup GroupFor(CacheSpec leaf)
    {
        int key = (leaf.Level is null ? 0 : 1) | (leaf.Type is null ? 0 : 2) | (leaf.SizeKb is null ? 0 : 4) | (leaf.Ways is null ? 0 : 8)
            | (leaf.LineSize is null ? 0 : 16) | (leaf.Sets is null ? 0 : 32) | (leaf.Partition is null ? 0 : 64)
            | (leaf.WritePolicy is null ? 0 : 128) | (leaf.AllocationPolicy is null ? 0 : 256) | (leaf.Ids is null ? 0 : 512);
        lock (Groups)
        {
            if (Groups.TryGetValue(key, out var g)) return g;
            var attrs = new List<DeviceAttribute>
            {
                DeviceAttribute.Ro<CacheDevice>("shared_cpu_map", d => SysfsFormat.Mask(d.Owner.SharedCpus(d.Cpu, d.Leaf), d.Owner._k.Cpus.NrCpuIds)),
                DeviceAttribute.Ro<CacheDevice>("shared_cpu_list", d => SysfsFormat.List(d.Owner.SharedCpus(d.Cpu, d.Leaf))),
            };
            void Add(int bit, string name, Func<CacheDevice, string> show) { if ((key & bit) != 0) attrs.Add(DeviceAttribute.Ro(name, show)); }
            Add(1, "level", d => SysfsFormat.Line(d.Leaf.Level!));
            Add(2, "type", d => SysfsFormat.Line(d.Leaf.Type!));
            Add(4, "size", d => d.Leaf.SizeKb!.Value.ToString(CultureInfo.InvariantCulture) + "K\n");
            Add(8, "ways_of_associativity", d => SysfsFormat.Line(d.Leaf.Ways!));
            Add(16, "coherency_line_size", d => SysfsFormat.Line(d.Leaf.LineSize!));
            Add(32, "number_of_sets", d => SysfsFormat.Line(d.Leaf.Sets!));
            Add(64, "physical_line_partition", d => SysfsFormat.Line(d.Leaf.Partition!));
            Add(128, "write_policy", d => SysfsFormat.Line(d.Leaf.WritePolicy!));
            Add(256, "allocation_policy", d => SysfsFormat.Line(d.Leaf.AllocationPolicy!));
            Add(512, "id", d => SysfsFormat.Line(d.Owner.Id(d.Cpu, d.Leaf) ?? 0));
            return Groups[key] = new AttributeGroup([.. attrs]);
        }
    }

    private static readonly Dictionary<int, AttributeGroup> Groups = [];
}
