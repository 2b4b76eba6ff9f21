namespace Numasim.Soak;

/// <summary>The machine shapes a soak walks on, as QEMU options (so that a failure's scenario also runs on QEMU).</summary>
public static class SoakShapes
{
    public static readonly IReadOnlyList<(string Name, string Qemu)> All =
    [
        ("oracle", "-m 1G,slots=4,maxmem=8G -smp 2,maxcpus=4,sockets=4,cores=1,threads=1 -object memory-backend-ram,id=m0,size=1G " +
                   "-numa node,nodeid=0,memdev=m0 -numa node,nodeid=1 -numa cpu,node-id=0,socket-id=0 -numa cpu,node-id=0,socket-id=1 " +
                   "-numa cpu,node-id=1,socket-id=2 -numa cpu,node-id=1,socket-id=3 -numa dist,src=0,dst=1,val=21"),
        ("smt-4node", "-m 2G,slots=6,maxmem=8G -smp 4,maxcpus=8,sockets=2,cores=2,threads=2 " +
                   "-object memory-backend-ram,id=m0,size=1G -object memory-backend-ram,id=m1,size=512M -object memory-backend-ram,id=m2,size=512M " +
                   "-numa node,nodeid=0,memdev=m0 -numa node,nodeid=1,memdev=m1 -numa node,nodeid=2,memdev=m2 -numa node,nodeid=3 " +
                   "-numa cpu,node-id=0,socket-id=0 -numa cpu,node-id=3,socket-id=1 " +
                   "-numa dist,src=0,dst=1,val=20 -numa dist,src=0,dst=2,val=30 -numa dist,src=0,dst=3,val=25 " +
                   "-numa dist,src=1,dst=2,val=20 -numa dist,src=1,dst=3,val=30 -numa dist,src=2,dst=3,val=20"),
        ("one-node", "-m 1G,slots=2,maxmem=3G -smp 1,maxcpus=2"),
    ];
}
