using Numasim.Fuzz;

// numasim's fuzz targets (issue 19). Under afl-fuzz (SharpFuzz's fork-server protocol, the target's assemblies
// instrumented with `sharpfuzz`) each input runs through one target; an exception the target does not expect is a
// crash. Without afl-fuzz, `replay TARGET FILE|DIR...` runs inputs once each and names the first that fails.
if (args.Length < 2 || !Targets.All.TryGetValue(args[1], out var target) || args[0] is not ("fuzz" or "replay"))
{
    Console.Error.WriteLine($"usage: Numasim.Fuzz fuzz|replay TARGET [FILE|DIR...]   targets: {string.Join(", ", Targets.All.Keys)}");
    return 2;
}
if (args[0] == "fuzz")
{
    SharpFuzz.Fuzzer.Run(stream =>
    {
        using var ms = new MemoryStream();
        stream.CopyTo(ms);
        target(ms.ToArray());
    });
    return 0;
}
int runs = 0;
foreach (var file in args.Skip(2).SelectMany(p => Directory.Exists(p) ? Directory.GetFiles(p).Order(StringComparer.Ordinal) : (IEnumerable<string>)[p]))
{
    try { target(File.ReadAllBytes(file)); }
    catch (Exception e)
    {
        Console.Error.WriteLine($"{file}: {e.GetType().Name}: {e.Message}");
        Console.Error.WriteLine(e.StackTrace);
        return 1;
    }
    runs++;
}
Console.WriteLine($"{args[1]}: {runs} inputs replayed, 0 failed");
return 0;
