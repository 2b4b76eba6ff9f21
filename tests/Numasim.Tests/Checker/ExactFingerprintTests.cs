using Numasim.Checker;
using Numasim.Firmware;
using Numasim.Kernel.Profiles;
using Numasim.Tests.Cli;

namespace Numasim.Tests.Checker;

/// <summary>The exact fingerprint (every state byte) is a function of the state, not of how the machine got there:
/// every two-operation path applied on a fresh boot and on a machine that restored other states before hashes the
/// same. (PerCpuPages.Grow once copied a rented array's leftovers into the free slots of the pcp lists, so
/// `--fingerprint exact` counted different states for --jobs 1 and 2.)</summary>
public class ExactFingerprintTests
{
    [Fact]
    public void A_state_hashes_the_same_whatever_was_restored_before_it()
    {
        var spec = QemuCommandLine.Parse(CliHarness.OracleQemu).GetSpecOrThrow();
        var families = OpFamilies.All.ToHashSet();
        var reused = new CheckDriver(spec, KernelProfile.V6_1, families);
        var root = reused.Save();
        var first = new List<CheckOp>();
        reused.EnabledOps(first);
        var differing = new List<string>();
        foreach (var op1 in first)
        {
            reused.Restore(root);
            reused.Apply(op1);
            var s1 = reused.Save();
            var second = new List<CheckOp>();
            reused.EnabledOps(second);
            foreach (var op2 in second)
            {
                reused.Restore(s1);
                reused.Apply(op2);
                var fresh = new CheckDriver(spec, KernelProfile.V6_1, families);
                fresh.Apply(op1);
                fresh.Apply(op2);
                if (fresh.Machine.State.ExactHash() != reused.Machine.State.ExactHash()) differing.Add($"{op1} ; {op2}");
            }
        }
        Assert.Empty(differing);
    }
}
