using System.Globalization;

namespace Numasim.Kernel.Mm;

/// <summary>The boot reservations as a table (`numasim boot --reservations`): where the memory MemTotal misses went.</summary>
public static class ReservationReport
{
    /// <summary>One line per reservation in address order (node, range, size, the kernel function, what it is for),
    /// then per node the pages memblock_free_all() kept and the pages given back after boot.</summary>
    public static IEnumerable<string> Lines(KernelContext k)
    {
        var inv = CultureInfo.InvariantCulture;
        yield return "NODE  RANGE                                      SIZE        PAGES  CALLER                      WHAT";
        foreach (var r in k.BootReservations.Items.OrderBy(r => r.Start))
        {
            int nid = k.Memblock.NidOf(r.Start);
            ulong pages = ((r.End + (ulong)Page.Size - 1) >> Page.Shift) - (r.Start >> Page.Shift);
            yield return string.Create(inv,
                $"{(nid < 0 ? "-" : nid.ToString(inv)),4}  [mem 0x{r.Start:x16}-0x{r.End - 1:x16}]  {r.Size,10}  {pages,5}  {r.Caller,-26}  {r.What}");
        }
        foreach (var p in k.AllPgData())
        {
            long present = p.Zones.Sum(z => z.PresentPages);
            if (present == 0) continue;
            long managed = p.Zones.Sum(z => z.ManagedPages);
            yield return string.Create(inv, $"node {p.NodeId}: present {Page.Kb(present)} kB, MemTotal {Page.Kb(managed)} kB, not managed {Page.Kb(present - managed)} kB");
        }
    }
}
