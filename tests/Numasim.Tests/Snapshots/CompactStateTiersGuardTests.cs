using Numasim.Firmware;
using Numasim.Kernel.Profiles;
using Numasim.Tests.Firmware;

namespace Numasim.Tests.Snapshots;

/// <summary>
/// The compact-state guard for the HMAT and memory tiering state: targets registered once per boot, their access
/// coordinates and links, each node's memory type (computed at the node's first online and kept after its memory goes),
/// demotion_enabled. Random walks of DIMM add/remove on the CPU-less node, block online/offline and demotion_enabled
/// writes; after each step the state is restored into a machine that was elsewhere and both must render and go on alike.
/// </summary>
public class CompactStateTiersGuardTests
{
    private static Machine Boot(string profile) =>
        Machine.Boot(QemuCommandLine.Parse(HmatTests.Machine).GetSpecOrThrow(), KernelProfile.Find(profile)!);

    /// <summary>What /sys does not show: each node's demotion targets and whether it is a top tier node.</summary>
    private static string Internals(Machine m)
    {
        var t = m.Subsystems.MemoryTiers;
        var sb = new System.Text.StringBuilder();
        for (int n = 0; n < m.Kernel.NrNodeIds; n++) sb.AppendLine($"node{n}: {t.DemotionTargets(n)} top {t.NodeIsToptier(n)}");
        return sb.ToString();
    }

    private static string Step(Machine m, Random rnd, ref int dimms)
    {
        switch (rnd.Next(4))
        {
            case 0: return GuardWalk.DeviceAddDimm(m, ref dimms, 256UL << 20, rnd.Next(2) == 0 ? "2" : "1");
            case 1: return GuardWalk.DeviceDelDimm(m, rnd, dimms);
            case 2: return GuardWalk.WriteBlockState(m, rnd, ["offline", "online_movable"]);
            default:
            {
                string v = rnd.Next(2) == 0 ? "1" : "n";
                m.Write("/sys/kernel/mm/numa/demotion_enabled", v);
                return $"demotion_enabled {v}";
            }
        }
    }

    [Theory]
    [InlineData("v6.1", 1)]
    [InlineData("v6.12", 2)]
    [InlineData("v6.12", 3)]
    public void A_tiering_state_restored_from_its_value_renders_and_evolves_as_the_original(string profile, int seed)
    {
        var a = Boot(profile);
        var b = Boot(profile);
        GuardWalk.Run(a, b, seed, 8, Step, (x, y, when) => GuardWalk.Same(x, y, when, Internals));
    }
}
