using Numasim.Kernel.Drivers;
using Numasim.Kernel.Hotplug;
using Numasim.Kernel.Mm;
using Numasim.Kernel.Procfs;

namespace Numasim.Kernel;

/// <summary>The modelled kernel's subsystems, wired once at boot (what initcalls set up in the real kernel).</summary>
internal sealed class KernelSubsystems
{
    public KernelSubsystems(KernelContext k)
    {
        Kernel = k;
        var meminfo = new NodeMeminfo(k);
        NodeDevices = new NodeDevices(k, meminfo);
        CpuDevices = new CpuDevices(k);
        MemoryDevices = new MemoryDevices(k, NodeDevices);
        NodeDevices.CpuRegistered = CpuDevices.IsRegistered;
        CpuDevices.Nodes = NodeDevices;
        NodeHotplug = new NodeHotplug(k, NodeDevices);
        CpuHotplug = new CpuHotplug(k, NodeHotplug, CpuDevices);
        MemoryHotplug = new MemoryHotplug(k, MemoryDevices, NodeDevices, NodeHotplug);
        MemoryDevices.Onlining = MemoryHotplug;
        PageAlloc = new PageAlloc(k);
        MemoryHotplug.MigrateRange = (zone, start, end) => PageAlloc.MigrateRange(zone, start, end);
        k.Hugetlb = Hugetlb = new Hugetlb(k, PageAlloc);
        PageAlloc.SkipInScan = Hugetlb.SkipInScan;
        PageAlloc.MigrateHugePage = Hugetlb.MigrateHugePage;
        MemoryHotplug.DissolveFreeHugePages = Hugetlb.DissolveFreeHugePages;
        MemoryHotplug.IsolationBlockedByHugePage = Hugetlb.Gigantic.Straddles;
        k.Shmem = Shmem = new Shmem(k, PageAlloc);
        Hugetlbfs = new Hugetlbfs(k, Hugetlb);
        Cpuset = new Cpuset(k, MemoryHotplug.Notifiers);
        FirmwareMemmap = new FirmwareMemmap(k);
        Acpi = new AcpiHotplug(k, CpuHotplug, CpuDevices, NodeDevices, NodeHotplug, MemoryHotplug, MemoryDevices) { FirmwareMemmap = FirmwareMemmap };
        Kvm = new KvmIntel(k, PageAlloc);
        Modules = new FaultInject.KernelModules(k, Kvm, MemoryHotplug.Notifiers);
        VirtioMem = new VirtioMemDriver(k, MemoryHotplug);
        var kernelAllocations = new KernelAllocations(k, PageAlloc);
        CpuHotplug.KernelAllocations = MemoryHotplug.KernelAllocations = kernelAllocations;
        Procfs = new ProcfsFiles(k);
        MemoryTiers = new MemoryTiers(k);
        Hmat = new Numa.AcpiHmat(k);
    }

    public KernelContext Kernel { get; }
    public NodeDevices NodeDevices { get; }
    public CpuDevices CpuDevices { get; }
    public MemoryDevices MemoryDevices { get; }
    public NodeHotplug NodeHotplug { get; }
    public CpuHotplug CpuHotplug { get; }
    public MemoryHotplug MemoryHotplug { get; }
    public ProcfsFiles Procfs { get; }
    public PageAlloc PageAlloc { get; }
    public AcpiHotplug Acpi { get; }
    public FirmwareMemmap FirmwareMemmap { get; }
    public KvmIntel Kvm { get; }
    public FaultInject.KernelModules Modules { get; }
    public VirtioMemDriver VirtioMem { get; }
    public MemoryTiers MemoryTiers { get; }
    public Numa.AcpiHmat Hmat { get; }
    public Hugetlb Hugetlb { get; }
    public Shmem Shmem { get; }
    public Hugetlbfs Hugetlbfs { get; }
    public Cpuset Cpuset { get; }

    /// <summary>memory_tier_init() (subsys_initcall), hmat_init() (6.1 device_initcall, 6.12 subsys_initcall after it,
    /// with the HMAT adistance algorithm) and memory_tier_late_init() (6.12 late_initcall).</summary>
    public void InitMemoryTiersAndHmat()
    {
        MemoryTiers.Init(MemoryHotplug.Notifiers);
        Hmat.Init(MemoryHotplug.Notifiers, NodeDevices);
        Hmat.RegisterAdistanceAlgorithm(MemoryTiers);
        MemoryTiers.LateInit();
        Hugetlb.Init(); // hugetlb_init() (subsys_initcall): boot pool, report_hugepages(), sysfs and sysctl files
    }
}
