namespace Numasim.Checker;

/// <summary>Machines the checker's benchmarks and tests explore besides the oracle machine.</summary>
public static class CheckerMachines
{
    /// <summary>Four nodes with memory and two CPU sockets each (one present), distances 21 and 31.</summary>
    public const string FourNodeQemu =
        "-m 2G,slots=4,maxmem=8G -smp 4,maxcpus=8,sockets=8,cores=1,threads=1 " +
        "-object memory-backend-ram,id=m0,size=512M -object memory-backend-ram,id=m1,size=512M " +
        "-object memory-backend-ram,id=m2,size=512M -object memory-backend-ram,id=m3,size=512M " +
        "-numa node,nodeid=0,memdev=m0 -numa node,nodeid=1,memdev=m1 -numa node,nodeid=2,memdev=m2 -numa node,nodeid=3,memdev=m3 " +
        "-numa cpu,node-id=0,socket-id=0 -numa cpu,node-id=0,socket-id=1 -numa cpu,node-id=1,socket-id=2 -numa cpu,node-id=1,socket-id=3 " +
        "-numa cpu,node-id=2,socket-id=4 -numa cpu,node-id=2,socket-id=5 -numa cpu,node-id=3,socket-id=6 -numa cpu,node-id=3,socket-id=7 " +
        "-numa dist,src=0,dst=1,val=21 -numa dist,src=0,dst=2,val=31 -numa dist,src=0,dst=3,val=31 " +
        "-numa dist,src=1,dst=2,val=31 -numa dist,src=1,dst=3,val=31 -numa dist,src=2,dst=3,val=21";

}
