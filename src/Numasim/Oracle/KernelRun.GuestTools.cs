using System.Text;
using System.Text.RegularExpressions;
using Numasim.Scenarios;
using Numasim.Userspace;

namespace Numasim.Oracle;

/// <summary>The guest-program steps (numactl, dd, fallocate, rm, snapshot) on the real guest; see <see cref="GuestToolSteps"/>.</summary>
public static partial class KernelRun
{
    /// <summary>The shell line the guest runs for a numactl or dd step. Each CPU's vmstat differences reach the node
    /// counters only when vmstat_update() runs for it (deferrable, so an idle vCPU may keep them for long): the step
    /// ends with a write to /proc/sys/vm/stat_refresh, which folds them all, so the files read next show the counters
    /// as the model keeps them.</summary>
    public static string GuestCommand(NumactlRun r) =>
        $"{(r.File is { } f && Kernel.Mm.Hugetlbfs.IsOnMount(f) ? MountHugetlbfs + "; " : "")}{CommandLine(r)} 2>&1; r=$?; {StatRefresh}; (exit $r)";

    /// <summary>hugetlbfs mounted at the scenario's mount point, once.</summary>
    private static string MountHugetlbfs
    {
        get
        {
            var mnt = Kernel.Mm.Hugetlbfs.MountPoint.TrimEnd('/');
            return $"grep -q ' {mnt} hugetlbfs ' /proc/mounts || {{ mkdir -p {mnt} && mount -t hugetlbfs none {mnt}; }}";
        }
    }

    /// <summary>The numactl and/or dd words of a run, without redirection.</summary>
    private static string CommandLine(NumactlRun r)
    {
        var sb = new StringBuilder();
        if (r.Policy != NumactlPolicy.None || r.File is not null) sb.Append("numactl ");
        if (r.File is not null)
        {
            if (r.Length > 0) sb.Append("--length ").Append(r.Length).Append(' ');
            if (r.Offset > 0) sb.Append("--offset ").Append(r.Offset).Append(' ');
            sb.Append("--file ").Append(Q(r.File)).Append(' ');
        }
        sb.Append(r.Policy switch
        {
            NumactlPolicy.Membind => $"--membind={Q(r.Nodes)} ",
            NumactlPolicy.Interleave => $"--interleave={Q(r.Nodes)} ",
            NumactlPolicy.Preferred => $"--preferred={Q(r.Nodes)} ",
            NumactlPolicy.PreferredMany => $"--preferred-many={Q(r.Nodes)} ",
            NumactlPolicy.Localalloc => "--localalloc ",
            _ => "",
        });
        if (r.File is not null && r.Touch) sb.Append("--touch ");
        if (r.Of is not null)
            sb.Append("dd if=/dev/zero of=").Append(Q(r.Of)).Append(" bs=4096 count=").Append(r.Count).Append(r.NoTrunc ? " conv=notrunc" : "");
        return sb.ToString().TrimEnd();
    }

    /// <summary>A long-lived task in the guest: a shell started under numactl that reads commands from a fifo and
    /// answers on another (pipes, not tmpfs files, so that its replies add nothing to Shmem); or one dd run in it.</summary>
    public static string TaskCommand(string name, NumactlRun r)
    {
        var fifo = $"/tmp/.task-{name}";
        if (r.Of is null)
        {
            var numactl = CommandLine(r with { Of = null });
            var worker = $"exec 3<>{fifo}.in 4<>{fifo}.out; while IFS= read -r c <&3; do (eval \"$c\") >&4 2>&1; echo \"@@done=$?\" >&4; done";
            return $"if {numactl} true 2>&1; then mkfifo {fifo}.in {fifo}.out; {numactl} sh -c {Q(worker)} </dev/null >/dev/null 2>&1 & else false; fi";
        }
        var dd = CommandLine(r with { Policy = NumactlPolicy.None, Nodes = "", File = null });
        return $"echo {Q(dd)} > {fifo}.in; exec 5<>{fifo}.out; r=1; while IFS= read -r l <&5; do case \"$l\" in @@done=*) r=${{l#@@done=}}; break;; esac; echo \"$l\"; done; {StatRefresh}; (exit $r)";
    }

    /// <summary>The shell line for a fallocate step: hugetlbfs mounted at the scenario's mount point once, then
    /// [numactl POLICY] busybox fallocate (the initramfs has no applet links) on the file.</summary>
    public static string FallocateCommand(NumactlRun r)
    {
        var mount = MountHugetlbfs;
        var policy = r.Policy == NumactlPolicy.None ? "" : CommandLine(r with { File = null, Length = 0, Offset = 0, Of = null }) + " ";
        var offset = r.Offset > 0 ? $"-o {r.Offset} " : "";
        return $"{mount}; {policy}busybox fallocate {offset}-l {r.Length} {Q(r.File!)} 2>&1; r=$?; {StatRefresh}; (exit $r)";
    }

    private const string StatRefresh = "echo 1 > /proc/sys/vm/stat_refresh";

    [GeneratedRegex(@"(\d+)\+\d+ records out")]
    private static partial Regex RecordsOut();

    /// <summary>What numactl and dd printed, in <see cref="NumactlOutcome"/>'s words.</summary>
    public static string Outcome(NumactlRun r, bool ok, string output)
    {
        var records = RecordsOut().Match(output) is { Success: true } m ? m.Groups[1].Value : "0";
        if (ok) return r.Of is not null ? $"{records} pages" : "ok";
        if (output.Contains(" is invalid", StringComparison.Ordinal)) return "invalid nodes";
        if (output.Contains("need a --length", StringComparison.Ordinal)) return "need a --length";
        var errno = ErrnoOf(output);
        return output.Contains("dd: ", StringComparison.Ordinal) ? $"{errno} after {records} pages" : errno;
    }

    private static StepObservation GuestTool(Scenario sc, ScenarioStep step, QemuGuest g)
    {
        var run = GuestToolSteps.Parse(sc, step);
        var line = step.Kind switch
        {
            "task" => TaskCommand(step.Args.GetValueOrDefault("name") ?? "", run),
            "fallocate" => FallocateCommand(run),
            _ => GuestCommand(run),
        };
        var (ok, output) = ShellStatus(g, line);
        var got = Outcome(run, ok, output);
        var want = GuestToolSteps.ExpectedOutcome(run, step);
        return new(got == want ? StepStatus.Passed : StepStatus.Failed, got, $"{got} ({output.Trim()})");
    }

    private static StepObservation Remove(ScenarioStep step, QemuGuest g)
    {
        var (ok, output) = ShellStatus(g, $"rm -f {Q(step.Scalar ?? "")} && {StatRefresh}");
        return new(ok ? StepStatus.Passed : StepStatus.Failed, ok ? "done" : "fails", output);
    }

    private static StepObservation Snapshot(ScenarioStep step, QemuGuest g, IDictionary<string, string> snapshots)
    {
        var path = step.Scalar ?? step.Args.GetValueOrDefault("path") ?? "";
        var (ok, output) = ShellStatus(g, $"cat {Q(path)}");
        if (ok) snapshots[path] = output;
        return new(ok ? StepStatus.Passed : StepStatus.Failed, ok ? "done" : "fails", ok ? "done" : output);
    }
}
