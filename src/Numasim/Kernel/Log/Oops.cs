using System.Globalization;
using System.Text;

namespace Numasim.Kernel.Log;

/// <summary>
/// A modelled kernel oops: raised inside the model where the real kernel would fault or BUG, caught by the
/// facade, reported in the kernel's shape, and the modelled kernel is dead afterwards. Never escapes numasim.
/// </summary>
public sealed class KernelOops : Exception
{
    public KernelOops(string report) : base(report) => Report = report;

    /// <summary>The text a console would show, one line per record.</summary>
    public string Report { get; }
}

/// <summary>Builds oops reports as arch/x86/mm/fault.c (page_fault_oops()) and lib/bug.c print them.</summary>
internal static class OopsReport
{
    /// <summary>Models the report of a kernel-mode read of an unmapped address (show_fault_oops() + __die()).</summary>
    public static string PagingRequest(KernelContext k, ulong address, int cpu, string comm, int pid, IReadOnlyList<string> callTrace)
    {
        var sb = new StringBuilder();
        string addr = address.ToString("x16", CultureInfo.InvariantCulture);
        if (k.Profile.OopsStyleV4)
        {
            sb.Append(CultureInfo.InvariantCulture, $"BUG: unable to handle kernel paging request at {addr}\n");
            sb.Append(CultureInfo.InvariantCulture, $"IP: {callTrace[0]}\n");
        }
        else
        {
            sb.Append(CultureInfo.InvariantCulture, $"BUG: unable to handle page fault for address: {addr}\n");
            sb.Append("#PF: supervisor read access in kernel mode\n");
            sb.Append("#PF: error_code(0x0000) - not-present page\n");
        }
        sb.Append("PGD 0 P4D 0\n");
        Die(sb, k, "Oops: 0000 [#1] SMP", cpu, comm, pid, callTrace, $"CR2: {addr}");
        return sb.ToString();
    }

    /// <summary>Models a VM_BUG_ON() failure (CONFIG_DEBUG_VM): "kernel BUG at FILE:LINE!".</summary>
    public static string Bug(KernelContext k, string where, int cpu, string comm, int pid, IReadOnlyList<string> callTrace)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"kernel BUG at {where}!\n");
        Die(sb, k, "invalid opcode: 0000 [#1] SMP", cpu, comm, pid, callTrace, null);
        return sb.ToString();
    }

    /// <summary>Models __die() and show_regs()/show_trace_log_lvl(): the banner, the task, RIP and the call trace.</summary>
    private static void Die(StringBuilder sb, KernelContext k, string banner, int cpu, string comm, int pid,
        IReadOnlyList<string> callTrace, string? cr2Line)
    {
        sb.Append(banner).Append('\n');
        sb.Append(CultureInfo.InvariantCulture, $"CPU: {cpu} PID: {pid} Comm: {comm} Not tainted {k.Profile.Release} #1\n");
        sb.Append("Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.16.2-debian-1.16.2-1 04/01/2014\n");
        sb.Append(CultureInfo.InvariantCulture, $"RIP: 0010:{callTrace[0]}\n");
        if (cr2Line is not null) sb.Append(cr2Line).Append('\n');
        sb.Append("Call Trace:\n");
        foreach (var f in callTrace.Skip(1)) sb.Append(' ').Append(f).Append('\n');
        sb.Append("---[ end trace 0000000000000000 ]---");
    }
}
