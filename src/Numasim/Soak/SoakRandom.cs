namespace Numasim.Soak;

/// <summary>SplitMix64: the soak's seeded randomness, the same sequence on every runtime (System.Random's algorithm
/// is not promised across .NET versions).</summary>
public struct SoakRandom(ulong seed)
{
    private ulong _s = seed;

    public ulong Next()
    {
        ulong z = _s += 0x9E3779B97F4A7C15;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return z ^ (z >> 31);
    }
}

/// <summary>The random numbers one step consumes; a walk is its list of these, which is what shrinking removes from.</summary>
public readonly record struct StepDraw(ulong Kind, ulong Pick, ulong Arg, ulong Value)
{
    public static StepDraw From(ref SoakRandom r) => new(r.Next(), r.Next(), r.Next(), r.Next());
}
