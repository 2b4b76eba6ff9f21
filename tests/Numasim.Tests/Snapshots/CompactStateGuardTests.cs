using Numasim.Checker;
using Numasim.Firmware;
using Numasim.Kernel.Profiles;
using Numasim.Snapshots;
using Numasim.Tests.Cli;

namespace Numasim.Tests.Snapshots;

/// <summary>
/// The guard of the compact state (docs/checker.md): a machine's state restored from its saved value must render
/// the same /sys and /proc, carry the same fingerprints and hash, and go on exactly as the original. Kernel state
/// kept outside the state regions (a field, a dictionary, a cache that is not forgotten on restore) makes one of
/// these fail: that is the point. Random walks of every operation family, on every profile, on two machines.
/// </summary>
public class CompactStateGuardTests
{
    public const string FourNodeQemu = CheckerMachines.FourNodeQemu;

    private static MachineSpec Spec(string qemu) => QemuCommandLine.Parse(qemu).GetSpecOrThrow();

    public static IEnumerable<object[]> Cases()
    {
        foreach (var p in KernelProfile.Named)
            foreach (var (machine, seed) in new[] { ("oracle", 1), ("oracle", 2), ("four-node", 3) })
                yield return [p.Name, machine, seed];
    }

    private static void Same(CheckDriver a, CheckDriver b, string when)
    {
        var ra = StateRendering.Render(a.Machine);
        var rb = StateRendering.Render(b.Machine);
        var diff = StateRendering.FirstDifference(a.Machine, b.Machine);
        Assert.True(diff is null, $"{when}: {diff}");
        Assert.Equal(ra.Count, rb.Count);
        Assert.Equal(a.Machine.State.Fingerprints, b.Machine.State.Fingerprints);
        Assert.Equal(a.Machine.State.ExactHash(), b.Machine.State.ExactHash());
        Assert.Equal(a.Machine.Oops?.Report, b.Machine.Oops?.Report);
    }

    private static CheckOp? Pick(CheckDriver d, Random rnd, List<CheckOp> ops)
    {
        d.EnabledOps(ops);
        return ops.Count == 0 ? null : ops[rnd.Next(ops.Count)];
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_state_restored_from_its_value_renders_and_evolves_as_the_original(string profile, string machine, int seed)
    {
        var spec = Spec(machine == "oracle" ? CliHarness.OracleQemu : FourNodeQemu);
        var p = KernelProfile.Find(profile)!;
        var families = OpFamilies.All.Concat(OpFamilies.Optional).ToHashSet(); // fault injection too
        var a = new CheckDriver(spec, p, families);
        var b = new CheckDriver(spec, p, families); // restored into again and again, from whatever state it was in
        var rnd = new Random(seed);
        var ops = new List<CheckOp>();
        for (int round = 0; round < 6; round++)
        {
            for (int i = 0; i < 3; i++)
                if (Pick(a, rnd, ops) is { } op) a.Apply(op);
            var saved = a.Save();
            b.Restore(StateSnapshot.FromBytes(saved.ToBytes()));
            Same(a, b, $"round {round}: restored");
            // The same operations from here give the same machines; an undone operation leaves nothing behind.
            var r1 = new Random(seed * 100 + round);
            var r2 = new Random(seed * 100 + round);
            for (int i = 0; i < 4; i++)
            {
                var oa = Pick(a, r1, ops);
                var ob = Pick(b, r2, ops);
                Assert.Equal(oa, ob);
                if (oa is null) break;
                a.Apply(oa.Value);
                b.Apply(ob!.Value);
                Same(a, b, $"round {round}: after {oa}");
            }
            a.Restore(saved);
            b.Restore(saved);
            Same(a, b, $"round {round}: undone");
            Assert.True(a.Machine.State.Save().SameAs(saved), "an undone operation left bytes behind");
        }
    }

    [Fact]
    public void A_region_made_after_the_first_save_is_refused()
    {
        var d = new CheckDriver(Spec(CliHarness.OracleQemu), KernelProfile.V6_1, OpFamilies.All.ToHashSet());
        d.Save();
        var e = Assert.Throws<InvalidOperationException>(() => new StateArray<int>(d.Machine.State, "late", 1));
        Assert.Contains("after the machine's state was first saved", e.Message);
    }
}
