using Numasim.Kernel.Numa;
namespace Numasim.Kernel.Mm;

/// <summary>The hugetlb entries of /proc/sys/vm (kernel/sysctl.c's vm_table in 6.1, mm/hugetlb.c's hugetlb_table
/// registered by hugetlb_sysctl_init() in 6.12): nr_hugepages, nr_hugepages_mempolicy, nr_overcommit_hugepages, all
/// 0644 on the default hstate. Their parser is proc_doulongvec_minmax(), not kstrtoul().</summary>
internal static class HugetlbSysctl
{
    private const int Mode0644 = 0b110_100_100;
    private const int TmpBufLen = 22; // TMPBUFLEN, kernel/sysctl.c

    /// <summary>Models register_sysctl("vm", ...) for the hugetlb entries. MakeDirs returns /proc/sys/vm when another
    /// subsystem made it first, so every registration lands in the one directory.</summary>
    public static void Register(KernelContext k, IHstate h)
    {
        var vm = k.Fs.MakeDirs("/proc/sys/vm");
        vm.Attr("nr_hugepages", () => $"{(ulong)h.MaxHugePages}\n", v => HugetlbSysctlHandler(h, v, false), Mode0644);
        vm.Attr("nr_hugepages_mempolicy", () => $"{(ulong)h.MaxHugePages}\n", v => HugetlbSysctlHandler(h, v, true), Mode0644);
        vm.Attr("nr_overcommit_hugepages", () => $"{h.NrOvercommitHugePages}\n", v => HugetlbOvercommitHandler(h, v), Mode0644);
    }

    /// <summary>Models hugetlb_sysctl_handler_common() (both hugetlb_sysctl_handler() and
    /// hugetlb_mempolicy_sysctl_handler()): proc_doulongvec_minmax() into a copy of max_huge_pages, then
    /// __nr_hugepages_store_common(NUMA_NO_NODE).</summary>
    private static Errno HugetlbSysctlHandler(IHstate h, string buf, bool obeyMempolicy)
    {
        var err = ProcDoulongvecMinmax(buf, out var count);
        return err != Errno.None ? err : h.NrHugepagesStoreCommon(count, NumaConstants.NumaNoNode, obeyMempolicy);
    }

    /// <summary>Models hugetlb_overcommit_handler(): a write to a gigantic default hstate is -EINVAL before parsing;
    /// otherwise the parsed value becomes h->nr_overcommit_huge_pages.</summary>
    private static Errno HugetlbOvercommitHandler(IHstate h, string buf)
    {
        if (h.IsGigantic) return Errno.EINVAL;
        var err = ProcDoulongvecMinmax(buf, out var count);
        return err != Errno.None ? err : h.SetNrOvercommitHugePages(count);
    }

    /// <summary>Models a write through __do_proc_doulongvec_minmax() with one value and no bounds (maxlen is one
    /// unsigned long): leading white space skipped (isspace), then proc_get_long() with proc_wspace_sep: an optional
    /// '-' (then -EINVAL), a digit, strtoul_lenient() base 0 ("0x1f" hex, "017" octal), at most 20 characters, and
    /// the next character ' ', '\t' or '\n' or the end. A buffer of white space only is -EINVAL. What follows the
    /// value is left unconsumed: the write returns short, and the writer's retry at a non-zero position is ignored
    /// (proc_first_pos_non_zero_ignore() with sysctl_writes_strict = 1), so "5 x" sets 5.</summary>
    public static Errno ProcDoulongvecMinmax(string buf, out ulong val)
    {
        val = 0;
        int p = 0;
        int len = (int)Math.Min(buf.Length, Page.Size - 1);
        while (p < len && IsSpace(buf[p])) p++;            // proc_skip_spaces()
        if (p == len) return Errno.EINVAL;                  // write && first: nothing converted
        return ProcGetLong(buf.AsSpan(p, len - p), out val);
    }

    /// <summary>Models proc_get_long() with perm_tr = proc_wspace_sep, a negative value refused by the caller.</summary>
    private static Errno ProcGetLong(ReadOnlySpan<char> s, out ulong val)
    {
        val = 0;
        var tmp = s[..Math.Min(s.Length, TmpBufLen - 1)];
        int i = 0;
        bool neg = tmp[0] == '-' && s.Length > 1;
        if (neg) i++;
        if (i >= tmp.Length || !char.IsAsciiDigit(tmp[i])) return Errno.EINVAL;
        if (!StrtoulLenient(tmp, ref i, out val)) return Errno.EINVAL;
        if (i == TmpBufLen - 1) return Errno.EINVAL;        // the number may go on past the copy
        if (i < s.Length && s[i] is not (' ' or '\t' or '\n')) return Errno.EINVAL;
        return neg ? Errno.EINVAL : Errno.None;
    }

    /// <summary>Models strtoul_lenient(cp, &amp;endp, 0, &amp;res): _parse_integer_fixup_radix() then _parse_integer();
    /// false on overflow (-ERANGE).</summary>
    private static bool StrtoulLenient(ReadOnlySpan<char> s, ref int i, out ulong val)
    {
        val = 0;
        uint radix = 10;
        if (s[i] == '0')
        {
            if (i + 2 < s.Length && (s[i + 1] | 0x20) == 'x' && char.IsAsciiHexDigit(s[i + 2])) { radix = 16; i += 2; }
            else radix = 8;
        }
        for (; i < s.Length; i++)
        {
            uint d = char.IsAsciiDigit(s[i]) ? (uint)(s[i] - '0') : char.IsAsciiHexDigit(s[i]) ? (uint)((s[i] | 0x20) - 'a' + 10) : 99;
            if (d >= radix) break;
            if (val > (ulong.MaxValue - d) / radix) return false;
            val = val * radix + d;
        }
        return true;
    }

    /// <summary>isspace() of lib/ctype.c for the ASCII range.</summary>
    private static bool IsSpace(char c) => c is ' ' or '\t' or '\n' or '\v' or '\f' or '\r';
}
