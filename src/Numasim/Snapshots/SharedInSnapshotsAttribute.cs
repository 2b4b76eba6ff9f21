namespace Numasim.Snapshots;

/// <summary>
/// Marks a type whose instances never change once made (static definitions such as sysfs attribute groups):
/// a snapshot shares them instead of copying them.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class SharedInSnapshotsAttribute : Attribute;
