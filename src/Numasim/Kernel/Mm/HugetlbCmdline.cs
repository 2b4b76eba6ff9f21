using Numasim.Kernel.Numa;
using Numasim.Kernel.Arch;
using Numasim.Kernel.Init;

namespace Numasim.Kernel.Mm;

/// <summary>One struct hstate as the boot sees it: its order and the pages asked for (max_huge_pages and
/// max_huge_pages_node[]).</summary>
internal sealed class BootHstate(int order)
{
    public int Order { get; } = order;
    public ulong MaxHugePages { get; set; }
    public uint[] MaxHugePagesNode { get; } = new uint[Numa.NumaConstants.MaxNumNodes];
    public bool IsGigantic => Order >= BuddyConstants.MaxOrder; // hstate_is_gigantic(): order >= MAX_ORDER (6.1), > MAX_PAGE_ORDER (6.12)
    public ulong SizeBytes => 1UL << (Order + Page.Shift);
}

/// <summary>mm/hugetlb.c's boot options: hugepages_setup(), hugepagesz_setup(), default_hugepagesz_setup() and the
/// __initdata they share (parsed_valid_hugepagesz, parsed_default_hugepagesz, parsed_hstate, default_hstate_idx,
/// default_hstate_max_huge_pages, default_hugepages_in_node[], hugepages_setup()'s last_mhp), and the hstates
/// (hugetlb_add_hstate()) in the order they were registered. hugetlb_init() then takes it over (Hugetlb.Init()).</summary>
internal sealed class HugetlbCmdline
{
    private const int DefaultCounter = -1; // last_mhp == &default_hstate_max_huge_pages

    /// <summary>The hugepages=, hugepagesz= and default_hugepagesz= words, in command-line order: (handler, value).</summary>
    public List<(string Setup, string Value)> Words { get; } = [];

    /// <summary>hstates[0 .. hugetlb_max_hstate).</summary>
    public List<BootHstate> Hstates { get; } = [];
    public bool ParsedDefaultHugepagesz { get; private set; }
    public int DefaultHstateIdx { get; set; }
    public ulong DefaultHstateMaxHugePages { get; set; }
    public uint[] DefaultHugepagesInNode { get; } = new uint[Numa.NumaConstants.MaxNumNodes];

    private bool _parsedValidHugepagesz = true;
    private int _parsedHstate = -1;
    private int? _lastMhp;

    /// <summary>Runs the handlers of <see cref="Words"/> in order, as obsolete_checksetup() calls them from parse_args().</summary>
    public void Setup(KernelContext k, Action<string> printk)
    {
        foreach (var (setup, value) in Words)
        {
            switch (setup)
            {
                case "hugepages=": HugepagesSetup(k, value, printk); break;
                case "hugepagesz=": HugepageszSetup(k, value, printk); break;
                default: DefaultHugepageszSetup(k, value, printk); break;
            }
        }
    }

    /// <summary>Models hugetlb_add_hstate(): nothing when the size exists; otherwise a new hstate becomes parsed_hstate.</summary>
    public void AddHstate(int order)
    {
        if (IndexOf(order) >= 0) return;
        Hstates.Add(new BootHstate(order));
        _parsedHstate = Hstates.Count - 1;
    }

    public int IndexOf(int order) => Hstates.FindIndex(h => h.Order == order);

    /// <summary>Models arch_hugetlb_valid_size(), arch/x86/mm/hugetlbpage.c: PMD_SIZE, or PUD_SIZE with X86_FEATURE_GBPAGES.</summary>
    public static bool ArchValidSize(KernelContext k, ulong size) =>
        size == 2UL << 20 || (size == 1UL << 30 && X86Capabilities.BootCpuHas(k, "pdpe1gb"));

    /// <summary>Models hugepages_setup(): "N" for the hstate of the last valid hugepagesz= (or the default hstate
    /// before any), or "nid:N,nid:N" per online node; an invalid value clears what this hstate had.</summary>
    private void HugepagesSetup(KernelContext k, string s, Action<string> printk)
    {
        if (!_parsedValidHugepagesz)
        {
            printk($"HugeTLB: hugepages={s} does not follow a valid hugepagesz, ignoring");
            _parsedValidHugepagesz = true;
            return;
        }
        int mhp = Hstates.Count == 0 ? DefaultCounter : _parsedHstate;
        if (mhp == _lastMhp)
        {
            printk($"HugeTLB: hugepages= specified twice without interleaving hugepagesz=, ignoring hugepages={s}");
            return;
        }
        int p = 0;
        while (p < s.Length)
        {
            if (!ScanUlong(s, p, out ulong tmp, out int count)) { Invalid(s, p, printk); return; }
            if (p + count < s.Length && s[p + count] == ':')
            {
                if (tmp >= Numa.NumaConstants.MaxNumNodes || !k.NodeStates[NodeState.Online][(int)tmp]) { Invalid(s, p, printk); return; }
                int node = (int)tmp;
                p += count + 1;
                if (!ScanUlong(s, p, out tmp, out count)) { Invalid(s, p, printk); return; }
                if (mhp == DefaultCounter) DefaultHugepagesInNode[node] = (uint)tmp;
                else Hstates[mhp].MaxHugePagesNode[node] = (uint)tmp;
                AddToCounter(mhp, tmp);
                if (p + count < s.Length && s[p + count] == ',') p += count + 1;
                else break;
            }
            else
            {
                if (p != 0) { Invalid(s, p, printk); return; }
                SetCounter(mhp, tmp);
                break;
            }
        }
        // hugetlb_hstate_alloc_pages() of a gigantic hstate runs here, while memblock still is the allocator.
        if (mhp >= 0 && Hstates[mhp].IsGigantic && k.Hugetlb is { } hugetlb) hugetlb.Gigantic.BootAllocPages(Hstates[mhp], printk);
        _lastMhp = mhp;
    }

    private void Invalid(string s, int p, Action<string> printk)
    {
        printk($"HugeTLB: Invalid hugepages parameter {s[p..]}");
        // hugepages_clear_pages_in_node()
        if (Hstates.Count == 0)
        {
            DefaultHstateMaxHugePages = 0;
            Array.Clear(DefaultHugepagesInNode);
        }
        else
        {
            Hstates[_parsedHstate].MaxHugePages = 0;
            Array.Clear(Hstates[_parsedHstate].MaxHugePagesNode);
        }
    }

    private void SetCounter(int mhp, ulong v)
    {
        if (mhp == DefaultCounter) DefaultHstateMaxHugePages = v; else Hstates[mhp].MaxHugePages = v;
    }

    private void AddToCounter(int mhp, ulong v)
    {
        if (mhp == DefaultCounter) DefaultHstateMaxHugePages = unchecked(DefaultHstateMaxHugePages + v);
        else Hstates[mhp].MaxHugePages = unchecked(Hstates[mhp].MaxHugePages + v);
    }

    /// <summary>Models hugepagesz_setup(): a valid size gets its hstate (a second time only for the default one
    /// while it has no pages yet), an unsupported one is reported and the hugepages= after it ignored.</summary>
    private void HugepageszSetup(KernelContext k, string s, Action<string> printk)
    {
        _parsedValidHugepagesz = false;
        ulong size = CmdlineParsing.Memparse(s, out _);
        if (!ArchValidSize(k, size))
        {
            printk($"HugeTLB: unsupported hugepagesz={s}");
            return;
        }
        int idx = IndexOf(Log2(size) - Page.Shift);
        if (idx >= 0)
        {
            if (!ParsedDefaultHugepagesz || idx != DefaultHstateIdx || Hstates[DefaultHstateIdx].MaxHugePages != 0)
            {
                printk($"HugeTLB: hugepagesz={s} specified twice, ignoring");
                return;
            }
            _parsedHstate = idx;
            _parsedValidHugepagesz = true;
            return;
        }
        AddHstate(Log2(size) - Page.Shift);
        _parsedValidHugepagesz = true;
    }

    /// <summary>Models default_hugepagesz_setup(): once only; a valid size becomes the default hstate and takes a
    /// hugepages= given before it.</summary>
    private void DefaultHugepageszSetup(KernelContext k, string s, Action<string> printk)
    {
        _parsedValidHugepagesz = false;
        if (ParsedDefaultHugepagesz)
        {
            printk($"HugeTLB: default_hugepagesz previously specified, ignoring {s}");
            return;
        }
        ulong size = CmdlineParsing.Memparse(s, out _);
        if (!ArchValidSize(k, size))
        {
            printk($"HugeTLB: unsupported default_hugepagesz={s}");
            return;
        }
        int order = Log2(size) - Page.Shift;
        AddHstate(order);
        _parsedValidHugepagesz = true;
        ParsedDefaultHugepagesz = true;
        DefaultHstateIdx = IndexOf(order);
        if (DefaultHstateMaxHugePages != 0)
        {
            // a hugepages= before it: a gigantic default hstate gets its pages from memblock here
            TakeDefaultCounter(k);
            if (Hstates[DefaultHstateIdx].IsGigantic && k.Hugetlb is { } hugetlb) hugetlb.Gigantic.BootAllocPages(Hstates[DefaultHstateIdx], printk);
            DefaultHstateMaxHugePages = 0;
        }
    }

    /// <summary>default_hstate.max_huge_pages = default_hstate_max_huge_pages, and the online nodes' counts.</summary>
    public void TakeDefaultCounter(KernelContext k)
    {
        var h = Hstates[DefaultHstateIdx];
        h.MaxHugePages = DefaultHstateMaxHugePages;
        foreach (int n in k.NodeStates[NodeState.Online].Bits()) h.MaxHugePagesNode[n] = DefaultHugepagesInNode[n];
    }

    private static int Log2(ulong v) => 63 - System.Numerics.BitOperations.LeadingZeroCount(v);

    /// <summary>vsscanf(p, "%lu%n"): white space skipped, then decimal digits (no sign), wrapping on overflow.</summary>
    private static bool ScanUlong(string s, int at, out ulong val, out int count)
    {
        val = 0;
        int i = at;
        while (i < s.Length && s[i] is ' ' or '\t' or '\n' or '\v' or '\f' or '\r') i++;
        if (i >= s.Length || !char.IsAsciiDigit(s[i]))
        {
            count = 0;
            return false;
        }
        for (; i < s.Length && char.IsAsciiDigit(s[i]); i++) val = unchecked(val * 10 + (ulong)(s[i] - '0'));
        count = i - at;
        return true;
    }
}
