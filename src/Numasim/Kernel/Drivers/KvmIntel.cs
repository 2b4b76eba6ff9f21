using Numasim.Kernel.Mm;
using Numasim.Snapshots;

namespace Numasim.Kernel.Drivers;

/// <summary>arch/x86/kvm/vmx (v4.x vmx.c, 6.1 vmx/vmx.c): the part of kvm_intel's load that allocates per-CPU VMCS pages.</summary>
public sealed class KvmIntel
{
    private readonly KernelContext _k;
    private readonly PageAlloc _alloc;
    // Compact state: whether the module is loaded, and its VMCS pages.
    private readonly StateArray<bool> _loaded;
    private readonly StateArray<PageRef> _vmcs;

    internal KvmIntel(KernelContext k, PageAlloc alloc)
    {
        _k = k;
        _alloc = alloc;
        _loaded = new StateArray<bool>(k.State, "kvm_intel loaded", 1);
        _vmcs = new StateArray<PageRef>(k.State, "kvm_intel vmcs pages");
    }

    public bool Loaded { get => _loaded[0]; private set => _loaded.Mut(0) = value; }

    /// <summary>The VMCS pages, one per possible CPU, once loaded.</summary>
    public IReadOnlyList<AllocatedPage> VmcsPages => PageRef.All(_k, _vmcs);

    /// <summary>Models vmx_init() → kvm_init() → hardware_setup() → alloc_kvm_area(): alloc_vmcs_cpu(cpu) for every
    /// possible CPU, each __alloc_pages_node(cpu_to_node(cpu), GFP_KERNEL, vmcs_config.order). An invalid node
    /// oopses inside (the seed); ENOMEM frees what was taken.</summary>
    public Errno Modprobe(int currentCpu)
    {
        using var call = _k.Trace.Call("vmx_init", "arch/x86/kvm/vmx/vmx.c");
        if (Loaded) return _k.Trace.Fail(Errno.EEXIST, "kvm_intel is loaded already");
        using var init = _k.Trace.Call("kvm_init", "virt/kvm/kvm_main.c");
        using var arch = _k.Trace.Call("kvm_arch_hardware_setup", "arch/x86/kvm/x86.c");
        using var setup = _k.Trace.Call("hardware_setup", "arch/x86/kvm/vmx/vmx.c");
        using var area = _k.Trace.Call("alloc_kvm_area", "arch/x86/kvm/vmx/vmx.c", $"every possible CPU: {_k.Cpus.Possible.ToListString()}");
        var ctx = new AllocContext(currentCpu, "modprobe", 1223, [
            "alloc_vmcs_cpu+0x3d/0x90 [kvm_intel]", "hardware_setup+0x781/0x849 [kvm_intel]",
            "kvm_arch_hardware_setup+0x28/0x190 [kvm]", "kvm_init+0x7c/0x2d0 [kvm]", "vmx_init+0x1e/0x32c [kvm_intel]",
            "do_one_initcall+0xca/0x1f0", "do_init_module+0x5a/0x1d7", "load_module+0x1393/0x1c90",
            "__do_sys_finit_module+0xa0/0xe0", "do_syscall_64+0x5b/0x80", "entry_SYSCALL_64_after_hwframe+0x63/0xcd"]);
        foreach (var cpu in _k.Cpus.Possible.Bits())
        {
            using var vmcs = _k.Trace.Call("alloc_vmcs_cpu", "arch/x86/kvm/vmx/vmx.c", $"cpu {cpu}");
            _k.Trace.Decide($"node = cpu_to_node({cpu}) = {_k.Cpus.CpuToNode(cpu)}");
            var page = _alloc.AllocPagesNodeUnchecked(_k.Cpus.CpuToNode(cpu), Gfp.GfpKernel, 0, ctx);
            if (page is null)
            {
                Rmmod();
                return _k.Trace.Fail(Errno.ENOMEM, $"no page for CPU {cpu}'s VMCS: free_kvm_area() gives back what was taken");
            }
            _vmcs.Add(PageRef.Of(page));
        }
        Loaded = true;
        return Errno.None;
    }

    /// <summary>Models vmx_exit() → free_kvm_area(): every VMCS page goes back.</summary>
    public Errno Rmmod()
    {
        foreach (var p in _vmcs.Items) _alloc.FreePages(p.Pfn, 0);
        _vmcs.Clear();
        bool was = Loaded;
        Loaded = false;
        return was ? Errno.None : Errno.ENOENT;
    }
}
