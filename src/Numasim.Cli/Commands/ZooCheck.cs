using Numasim.Checker;

namespace Numasim.Cli.Commands;

/// <summary>
/// <c>numasim check --zoo [--depth N] [--jobs N] [--out DIR]</c>: every bug of the zoo (<see cref="Zoo.Bugs"/>) is searched
/// for under its buggy profile, then its fixed profile is searched to the depth it was found at. One line per bug; with
/// --out, each counterexample is written as DIR/COMMIT.yaml (replay it with `numasim run`). Exit 0 when every bug is
/// found and every fix is clean, 1 otherwise.
/// </summary>
public static class ZooCheck
{
    public static int Run(TextWriter stdout, int depth, int jobs, string? outDir)
    {
        if (depth < 1) throw new CliException("check --zoo: --depth must be 1 or more");
        if (jobs < 1) throw new CliException("check --zoo: --jobs must be 1 or more");
        stdout.WriteLine($"bug zoo: {Zoo.Bugs.Count} bugs on the oracle machine, operations {Zoo.Ops}, every built-in invariant, depth up to {depth}");
        bool ok = true;
        foreach (var bug in Zoo.Bugs)
        {
            var o = Zoo.Run(bug, depth, jobs);
            stdout.WriteLine(o.Line);
            ok &= o.Found && o.FixedClean;
            if (outDir is null || o.Buggy.Violation is not { } v) continue;
            var file = Path.Combine(outDir, bug.Commit + ".yaml");
            try
            {
                Directory.CreateDirectory(outDir);
                File.WriteAllText(file, ScenarioWriter.Write(v, bug.Buggy.Name, Zoo.MachineQemu, null, o.Depth));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new CliException($"{file}: {e.Message}"); }
            stdout.WriteLine($"  wrote {file} (numasim run {file})");
        }
        stdout.WriteLine(ok ? "bug zoo: every bug found, every fix clean" : "bug zoo: FAILED (a bug not found or a fix not clean)");
        return ok ? CliApp.ExitOk : CliApp.ExitFailed;
    }
}
