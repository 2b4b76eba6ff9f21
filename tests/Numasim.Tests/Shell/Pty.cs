using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace Numasim.Tests.Shell;

/// <summary>
/// A pseudo-terminal for driving an interactive program as a person at a terminal would: the program's stdin,
/// stdout and stderr are the pty's slave (its controlling terminal, through setsid), the test writes keys to the
/// master and reads the screen's bytes back. Linux only (posix_openpt and friends from libc).
/// </summary>
public sealed partial class Pty : IDisposable
{
    private const int ORdWr = 2, ONoCtty = 0x100;
    private const nuint TiocSWinSz = 0x5414;

    [StructLayout(LayoutKind.Sequential)]
    private struct WinSize
    {
        public ushort Rows, Cols, X, Y;
    }

    [DllImport("libc", SetLastError = true)] private static extern int posix_openpt(int flags);
    [DllImport("libc", SetLastError = true)] private static extern int grantpt(int fd);
    [DllImport("libc", SetLastError = true)] private static extern int unlockpt(int fd);
    [DllImport("libc", SetLastError = true)] private static extern int ptsname_r(int fd, byte[] buf, nuint len);
    [DllImport("libc", SetLastError = true)] private static extern int ioctl(int fd, nuint request, ref WinSize ws);
    [DllImport("libc", SetLastError = true)] private static extern nint read(int fd, byte[] buf, nuint count);
    [DllImport("libc", SetLastError = true)] private static extern nint write(int fd, byte[] buf, nuint count);
    [DllImport("libc", SetLastError = true)] private static extern int close(int fd);

    private readonly int _master;
    private readonly Process _process;
    private readonly StringBuilder _screen = new();
    private readonly Thread _reader;
    private int _mark;

    private Pty(int master, Process process)
    {
        _master = master;
        _process = process;
        _reader = new Thread(ReadLoop) { IsBackground = true };
        _reader.Start();
    }

    public Process Process => _process;

    /// <summary>Starts <paramref name="file"/> on a new 50x120 pty with TERM=xterm.</summary>
    public static Pty Start(string file, params string[] args)
    {
        int m = posix_openpt(ORdWr | ONoCtty);
        if (m < 0 || grantpt(m) != 0 || unlockpt(m) != 0) throw new InvalidOperationException($"no pty: errno {Marshal.GetLastPInvokeError()}");
        var name = new byte[128];
        if (ptsname_r(m, name, (nuint)name.Length) != 0) throw new InvalidOperationException("ptsname_r failed");
        var slave = Encoding.ASCII.GetString(name, 0, Array.IndexOf(name, (byte)0));
        var ws = new WinSize { Rows = 50, Cols = 120 };
        ioctl(m, TiocSWinSz, ref ws);
        // setsid makes a new session; the shell's open of the slave then makes it the controlling terminal.
        var psi = new ProcessStartInfo("setsid") { UseShellExecute = false };
        foreach (var a in new[] { "sh", "-c", "exec \"$0\" \"$@\" <>\"$NUMASIM_PTY\" >&0 2>&0", file }.Concat(args)) psi.ArgumentList.Add(a);
        psi.Environment["NUMASIM_PTY"] = slave;
        psi.Environment["TERM"] = "xterm";
        psi.Environment.Remove("CI");
        return new Pty(m, Process.Start(psi)!);
    }

    private void ReadLoop()
    {
        var buf = new byte[4096];
        while (true)
        {
            var n = read(_master, buf, (nuint)buf.Length);
            if (n <= 0) break; // EIO once the program and every holder of the slave are gone
            lock (_screen) _screen.Append(Encoding.UTF8.GetString(buf, 0, (int)n));
        }
    }

    /// <summary>Types <paramref name="keys"/> ("\r" is Enter, "\t" Tab, "\x1b[A" Up).</summary>
    public void Send(string keys)
    {
        var b = Encoding.UTF8.GetBytes(keys);
        if (write(_master, b, (nuint)b.Length) != b.Length) throw new IOException("write to the pty failed");
    }

    /// <summary>Waits until the output since the last wait contains <paramref name="text"/> (escape sequences
    /// removed) and returns that output.</summary>
    public string WaitFor(string text, int seconds = 30)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            string seen;
            lock (_screen) seen = _screen.ToString(_mark, _screen.Length - _mark);
            var plain = Plain(seen);
            int at = plain.IndexOf(text, StringComparison.Ordinal);
            if (at >= 0)
            {
                lock (_screen) _mark = _screen.Length;
                return plain;
            }
            if (sw.Elapsed.TotalSeconds > seconds || _process.HasExited && sw.Elapsed.TotalSeconds > 1)
                throw new TimeoutException($"'{text}' did not appear; the terminal showed:\n{plain}");
            Thread.Sleep(20);
        }
    }

    /// <summary>Terminal output without escape sequences and carriage returns.</summary>
    public static string Plain(string s) => Escapes().Replace(s, "").Replace("\r", "");

    [GeneratedRegex(@"\x1b(\[[0-9;?]*[ -/]*[@-~]|[()][0-9A-Za-z]|[=>]|\][^\x07]*\x07)")]
    private static partial Regex Escapes();

    public void Dispose()
    {
        try { if (!_process.HasExited) _process.Kill(entireProcessTree: true); }
        catch (InvalidOperationException) { }
        _process.WaitForExit(5000);
        close(_master);
        _process.Dispose();
    }
}
