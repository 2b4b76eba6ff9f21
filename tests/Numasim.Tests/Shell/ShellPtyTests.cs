namespace Numasim.Tests.Shell;

/// <summary>
/// `numasim shell` at a terminal: driven through a pseudo-terminal as a person types, it takes QMP device_add,
/// `echo online &gt; .../state`, cat, Tab completion of commands and paths, the history, a bad line (one line of
/// error, the shell goes on), undo, and exit.
/// </summary>
public class ShellPtyTests
{
    private static string CliDll => Path.Combine(AppContext.BaseDirectory, "Numasim.Cli.dll");

    /// <summary>A fresh prompt (on its own line, after a command's output; each key redraws the current one).</summary>
    private const string AtSystem = "\nnumasim v6.1 /sys/devices/system$ ", AtMemory = "\nnumasim v6.1 /sys/devices/system/memory$ ";

    [Fact]
    public void A_person_at_a_terminal_plugs_a_dimm_onlines_a_block_and_undoes_it()
    {
        using var pty = Pty.Start("dotnet", CliDll, "shell");
        var banner = pty.WaitFor(AtSystem, 60);
        Assert.Contains("numasim shell: v6.1", banner);
        Assert.Contains("memory blocks", banner);   // the boot summary table

        pty.Send("object_add memory-backend-ram,id=mem1,size=512M\r");
        pty.WaitFor(AtSystem);
        // Tab completes the command; the rest is typed.
        pty.Send("device_a\t");
        Assert.Contains("device_add ", pty.WaitFor("device_add "));
        pty.Send("pc-dimm,id=dimm1,memdev=mem1,node=1\r");
        var plugged = pty.WaitFor(AtSystem);
        Assert.Contains("Fallback order for Node 1", plugged);

        // Tab completes a path of the model's tree.
        pty.Send("cd mem\t");
        pty.WaitFor("cd memory/");
        pty.Send("\r");
        pty.WaitFor(AtMemory);
        pty.Send("cat memory32/state\r");
        Assert.Contains("offline\n", pty.WaitFor(AtMemory));

        pty.Send("echo online > memory32/state\r");
        pty.WaitFor(AtMemory);
        pty.Send("cat memory32/state memory32/valid_zones\r");
        var online = pty.WaitFor(AtMemory);
        Assert.Contains("online\nNormal\n", online);

        // A write the kernel refuses: one line, and the shell goes on.
        pty.Send("echo online > memory32/state\r");
        Assert.Contains("echo: write error: Invalid argument (EINVAL)", pty.WaitFor(AtMemory));
        pty.Send("no_such_command\r");
        Assert.Contains("no_such_command: command not found", pty.WaitFor(AtMemory));

        // undo twice: the refused write, then the online.
        pty.Send("undo 2\r");
        var undone = pty.WaitFor(AtMemory);
        Assert.Contains("undone: write /sys/devices/system/memory/memory32/state <- online", undone);
        pty.Send("cat memory32/state\r");
        Assert.Contains("offline\n", pty.WaitFor(AtMemory));

        // Up brings back the last line.
        pty.Send("\x1b[A");
        pty.WaitFor("cat memory32/state");
        pty.Send("\r");
        Assert.Contains("offline\n", pty.WaitFor(AtMemory));

        pty.Send("exit\r");
        Assert.True(pty.Process.WaitForExit(20_000), "the shell did not end on exit");
        Assert.Equal(0, pty.Process.ExitCode);
    }
}
