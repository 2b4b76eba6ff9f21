using Numasim.Cli;

namespace Numasim.Tests.Cli;

/// <summary>Runs the CLI in-process through <see cref="CliApp.Run"/>, capturing stdout and stderr.</summary>
public static class CliHarness
{
    /// <summary>The QEMU options of the real-kernel oracle machine (/work/shared/oracle/README.md),
    /// without the options that only start QEMU (-accel, -cpu, -kernel, -initrd, -serial, -qmp ...).</summary>
    public const string OracleQemu =
        "-m 1G,slots=4,maxmem=8G -smp 2,maxcpus=4,sockets=4,cores=1,threads=1 " +
        "-object memory-backend-ram,id=m0,size=1G -numa node,nodeid=0,memdev=m0 -numa node,nodeid=1 " +
        "-numa cpu,node-id=0,socket-id=0 -numa cpu,node-id=0,socket-id=1 -numa cpu,node-id=1,socket-id=2 " +
        "-numa cpu,node-id=1,socket-id=3 -numa dist,src=0,dst=1,val=21";

    public sealed record Outcome(int Exit, string Out, string Err)
    {
        public string[] ErrLines => Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    public static Outcome Run(params string[] args)
    {
        var o = new StringWriter { NewLine = "\n" };
        var e = new StringWriter { NewLine = "\n" };
        int exit = CliApp.Run(args, o, e);
        return new Outcome(exit, o.ToString(), e.ToString());
    }
}
