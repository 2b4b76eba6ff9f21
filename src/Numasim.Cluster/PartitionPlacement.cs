using Orleans.Placement;
using Orleans.Runtime.Placement;

namespace Numasim.Cluster;

/// <summary>Places partition i of a run on silo i mod N, silos in address order, so that the partitions spread evenly
/// over the silos (Orleans' default placement weighs load, and on one loaded machine may put them all on one silo).</summary>
[Serializable, GenerateSerializer, Immutable]
public sealed class PartitionPlacement : PlacementStrategy
{
    internal static PartitionPlacement Instance { get; } = new();
}

[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class PartitionPlacementAttribute() : PlacementAttribute(PartitionPlacement.Instance);

internal sealed class PartitionPlacementDirector : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var silos = context.GetCompatibleSilos(target).Order().ToArray();
        var key = target.GrainIdentity.Key.ToString() ?? "";
        int slash = key.LastIndexOf('/');
        int index = slash >= 0 && int.TryParse(key.AsSpan(slash + 1), System.Globalization.NumberStyles.None,
            System.Globalization.CultureInfo.InvariantCulture, out int i) ? i : 0;
        return Task.FromResult(silos[index % silos.Length]);
    }
}
