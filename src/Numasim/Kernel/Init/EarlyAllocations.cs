using System.Numerics;
using Numasim.Kernel.Arch;
using Numasim.Kernel.Mm;
using Numasim.Kernel.Numa;

namespace Numasim.Kernel.Init;

/// <summary>
/// The memblock allocations start_kernel() makes between setup_arch() and mm_init()'s memblock_free_all(), in the
/// kernel's order: the command-line copies, the boot cpumasks, the larger log buffer, the early dentry and inode
/// hashes, the cpu_entry_area page tables and the SWIOTLB pool.
/// </summary>
internal static class EarlyAllocations
{
    /// <summary>Models setup_command_line(): saved_command_line and static_command_line, strlen + 1 each.</summary>
    public static void SetupCommandLine(KernelContext k)
    {
        ulong len = (ulong)k.CommandLine.Length + 1;
        k.BootReservations.Alloc("start_kernel", "saved_command_line", len, 64);
        k.BootReservations.Alloc("start_kernel", "static_command_line", len, 64);
    }

    /// <summary>Models setup_node_to_cpumask_map() and the boot cpumask_var_t masks (alloc_bootmem_cpumask_var(),
    /// CONFIG_CPUMASK_OFFSTACK with NR_CPUS 8192): cpumask_size() bytes each.</summary>
    public static void BootCpumasks(KernelContext k)
    {
        ulong size = 8 * (ulong)((k.Cpus.NrCpuIds + 63) / 64);
        for (int i = 0; i < k.NrNodeIds + k.Profile.Build.BootCpumasks; i++)
            k.BootReservations.Alloc("alloc_bootmem_cpumask_var", "boot cpumask", size, 64);
    }

    /// <summary>Models setup_log_buf(0): a larger ring buffer when the possible CPUs' extra share exceeds half the
    /// static one (log_buf_len_cpu_extra), with its descriptors and infos (1 per 2^PRB_AVGBITS bytes).</summary>
    public static void SetupLogBuf(KernelContext k)
    {
        var b = k.Profile.Build;
        ulong logBuf = 1UL << b.LogBufShift, perCpu = 1UL << b.LogCpuMaxBufShift;
        ulong extra = (ulong)(k.Cpus.Possible.Weight() - 1) * perCpu;
        if (extra <= logBuf / 2) return;
        k.Log.Printk($"printk: log_buf_len individual max cpu contribution: {perCpu} bytes");
        k.Log.Printk($"printk: log_buf_len total cpu_extra contributions: {extra} bytes");
        k.Log.Printk($"printk: log_buf_len min size: {logBuf} bytes");
        ulong len = BitOperations.RoundUpToPowerOf2(logBuf + extra);
        ulong descs = len >> 5;
        k.BootReservations.Alloc("setup_log_buf", "printk ring buffer", len, 8);
        k.BootReservations.Alloc("setup_log_buf", "printk descriptors", descs * b.PrbDescBytes, 8);
        k.BootReservations.Alloc("setup_log_buf", "printk infos", descs * b.PrintkInfoBytes, 8);
        k.Log.Printk($"printk: log_buf_len: {len} bytes");
    }

    /// <summary>Models vfs_caches_init_early(): with one node of memory (hashdist off) the dentry and inode hashes come
    /// from memblock (alloc_large_system_hash(HASH_EARLY | HASH_ZERO)); otherwise they are vmalloc'ed later.</summary>
    public static void EarlyHashes(KernelContext k)
    {
        if (k.NodeStates[NodeState.Memory].Weight() != 1) return;
        LargeSystemHash(k, "Dentry cache", 8, 13);
        LargeSystemHash(k, "Inode-cache", 8, 14);
    }

    /// <summary>Models alloc_large_system_hash() sizing: a bucket per 2^scale bytes of nr_kernel_pages, rounded up to
    /// a megabyte, then to a power of two, at most 1/16 of all memory.</summary>
    private static void LargeSystemHash(KernelContext k, string name, ulong bucket, int scale)
    {
        ulong pages = (ulong)k.NrKernelPages;
        ulong n = (pages + 255) / 256 * 256; // round_up(numentries, SZ_1M / PAGE_SIZE)
        n = scale > Page.Shift ? n >> (scale - Page.Shift) : n << (Page.Shift - scale);
        if (n * bucket < (ulong)Page.Size) n = (ulong)Page.Size / bucket;
        n = BitOperations.RoundUpToPowerOf2(n);
        ulong max = Math.Min(((ulong)k.NrAllPages << Page.Shift >> 4) / bucket, 0x80000000UL);
        if (n > max) n = max;
        int log2 = BitOperations.Log2(n);
        ulong size = bucket << log2;
        k.BootReservations.Alloc("alloc_large_system_hash", name + " hash table", size, 64);
        k.Log.Printk($"{name} hash table entries: {1UL << log2} (order: {BitOperations.Log2(size) - Page.Shift}, {size} bytes, linear)");
    }

    /// <summary>Models setup_cpu_entry_areas() (trap_init()): set_pte_vaddr() takes a PUD, PMD and PTE page from
    /// spp_getpage() wherever the read-only IDT page or a possible CPU's mapped pages (GDT, entry stack, TSS, the
    /// DF/NMI/DB/MCE exception stacks) need one; per-CPU areas follow each other (cea_offset() is the CPU number
    /// with nokaslr).</summary>
    public static void CpuEntryAreaTables(KernelContext k)
    {
        const ulong k4 = 4096;
        ulong area = k.Profile.Build.CpuEntryAreaBytes;
        var pte = new HashSet<ulong>();
        var pmd = new HashSet<ulong>();
        void Map(ulong first, ulong last) // the windows of the mapped pages [first, last]
        {
            for (ulong w = first >> 21; w <= last >> 21; w++) pte.Add(w);
            for (ulong w = first >> 30; w <= last >> 30; w++) pmd.Add(w);
        }
        Map(0, 0);
        int cpus = k.Cpus.Possible.Weight();
        for (int c = 0; c < cpus; c++)
        {
            // gdt, entry stack and TSS (7 pages), then the DF, NMI, DB and MCE stacks (2 pages each after a guard
            // page): every mapped page lies in [a, a + 76 KiB), and no 2 MiB window inside that span is unmapped
            ulong a = k4 + (ulong)c * area;
            Map(a, a + 76 * 1024 - 1);
        }
        int pages = 1 + pmd.Count + pte.Count;
        for (int i = 0; i < pages; i++) k.BootReservations.Alloc("spp_getpage", "cpu_entry_area page table", k4, k4);
    }

    /// <summary>Models pci_iommu_alloc() → swiotlb_init(): x86 enables the bounce buffer when memory may exist above
    /// 4 GiB (pci_swiotlb_detect()); the pool below 4 GiB, its slot array and its areas (a power of two per possible CPU).</summary>
    public static void Swiotlb(KernelContext k)
    {
        if (k.MaxPossiblePfn <= ZoneTypes.MaxDma32Pfn) return;
        var b = k.Profile.Build;
        uint areas = BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, k.Cpus.Possible.Weight()));
        k.Log.Printk($"software IO TLB: area num {areas}.");
        ulong nslabs = b.SwiotlbBytes >> 11; // IO_TLB_SHIFT
        ulong pool = k.BootReservations.Alloc("swiotlb_init_remap", "swiotlb pool", b.SwiotlbBytes, (ulong)Page.Size, -1, 0, 0xffffffffUL);
        k.SwiotlbPool = pool;
        ulong slots = (nslabs * b.IoTlbSlotBytes + (ulong)Page.Size - 1) & ~(ulong)(Page.Size - 1);
        k.BootReservations.Alloc("swiotlb_init_remap", "swiotlb slots", slots, (ulong)Page.Size);
        k.BootReservations.Alloc("swiotlb_init_remap", "swiotlb areas", b.IoTlbAreaBytes * areas, 64);
    }
}
