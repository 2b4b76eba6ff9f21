using System.CommandLine;
using Numasim.Kernel.Profiles;
using Numasim.Scenarios;

namespace Numasim.Cli.Commands;

/// <summary><c>numasim demo</c> (CONTRACT §1, §2): the seed scenario under v4.19 and v6.1 side by side.</summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var command = new Command("demo", "the seed scenario under v4.19 and v6.1, side by side");
        command.SetAction(parsed => Execute(parsed.InvocationConfiguration.Output, parsed.InvocationConfiguration.Error));
        return command;
    }

    /// <summary>Runs the demo; returns 0.</summary>
    public static int Execute(TextWriter stdout, TextWriter stderr)
    {
        var dir = FindSeedDir() ?? throw new CliException("scenarios/seed/ not found (run from the repository)");
        foreach (var file in Directory.EnumerateFiles(dir, "*.yaml").Order(StringComparer.Ordinal))
        {
            var sc = ScenarioParser.Load(file);
            var before = ScenarioRunner.Run(sc, KernelProfile.V4_19);
            var after = ScenarioRunner.Run(sc, KernelProfile.V6_1);
            stdout.WriteLine($"== {sc.Name}  ({Path.GetFileName(file)})");
            stdout.WriteLine($"   {"v4.19",-6} {"v6.1",-6} step");
            for (int i = 0; i < sc.Steps.Count; i++)
                stdout.WriteLine($"   {Mark(before.Steps[i]),-6} {Mark(after.Steps[i]),-6} {ScenarioRunner.Describe(sc.Steps[i])}");
            stdout.WriteLine();
            stdout.WriteLine("-- v4.19 (e13fe8695c57 clears cpu_to_node when the node goes offline):");
            var m = before.Machine;
            stdout.WriteLine(m.Oops is null ? "   no oops" : string.Join("\n", m.Oops.Report.Split('\n').Select(l => "   " + l)));
            stdout.WriteLine("-- v6.1 (46a3679b8190 keeps the association; NODE_DATA stays, the zonelist falls back):");
            var a = after.Machine;
            if (a.Oops is not null) stdout.WriteLine("   oops: " + a.Oops.Report.Split('\n')[0]);
            if (a.Oops is null && a.KvmPages.Count == 0) stdout.WriteLine("   (this scenario does not load kvm_intel)");
            for (int cpu = 0; cpu < a.KvmPages.Count; cpu++)
                stdout.WriteLine($"   alloc_vmcs_cpu({cpu}): cpu_to_node={a.Kernel.Cpus.CpuToNode(cpu)} -> page 0x{a.KvmPages[cpu].Pfn:x} on node {a.KvmPages[cpu].Node}, zone {a.KvmPages[cpu].Zone.Name}");
            stdout.WriteLine();
        }
        return CliApp.ExitOk;
    }

    private static string Mark(StepResult r) => r.Message.Contains("(skipped", StringComparison.Ordinal) ? "-" : r.Passed ? "ok" : "FAIL";

    private static string? FindSeedDir()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var d = start; d is not null; d = Path.GetDirectoryName(d))
                if (Directory.Exists(Path.Combine(d, "scenarios", "seed"))) return Path.Combine(d, "scenarios", "seed");
        }
        return null;
    }
}
