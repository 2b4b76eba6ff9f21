using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Numasim.Oracle;

/// <summary>
/// One QEMU process with the scenario's machine, a serial shell and a QMP socket. QEMU runs in its own session
/// (setsid), so that Dispose can kill its whole process group; Dispose always runs (callers use <c>using</c>),
/// and a process-exit hook kills it too when the host process is interrupted.
/// </summary>
public sealed partial class QemuGuest : IDisposable
{
    public static readonly TimeSpan BootTimeout = TimeSpan.FromSeconds(120);
    public static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);
    public static readonly TimeSpan EventTimeout = TimeSpan.FromSeconds(60);

    private readonly Process _proc;
    private readonly string _dir;
    private readonly Socket _serial, _qmp;
    private readonly StringBuilder _serialBuf = new();
    private readonly List<JsonObject> _events = [];
    private readonly Queue<JsonObject> _replies = new();
    private readonly object _lock = new();
    private bool _serialClosed, _qmpClosed, _disposed;
    private int _seq;
    private readonly StringBuilder _qemuOut = new();

    public TimeSpan BootTime { get; }
    public string BootLog { get; }
    public IReadOnlyList<string> CommandLine { get; }

    [DllImport("libc", SetLastError = true, EntryPoint = "kill")]
    private static extern int SysKill(int pid, int sig);

    private QemuGuest(OracleKernel kernel, string initrd, IReadOnlyList<string> machineArgs, string append)
    {
        _dir = Directory.CreateTempSubdirectory("numasim-oracle-").FullName;
        var ser = Path.Combine(_dir, "serial.sock");
        var qmp = Path.Combine(_dir, "qmp.sock");
        var args = new List<string> { Toolchain.Qemu, "-accel", "tcg", "-machine", "pc", "-cpu", "qemu64" };
        args.AddRange(machineArgs);
        args.AddRange(["-kernel", kernel.Image, "-initrd", initrd, "-append", append,
            "-serial", $"unix:{ser},server=on,wait=off", "-qmp", $"unix:{qmp},server=on,wait=off",
            "-display", "none", "-monitor", "none", "-no-reboot"]);
        CommandLine = args;
        var psi = new ProcessStartInfo("setsid", args) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        var sw = Stopwatch.StartNew();
        _proc = Process.Start(psi) ?? throw new OracleSetupException("cannot start " + Toolchain.Qemu);
        AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
        _proc.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_qemuOut) _qemuOut.AppendLine(e.Data); };
        _proc.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_qemuOut) _qemuOut.AppendLine(e.Data); };
        _proc.BeginOutputReadLine();
        _proc.BeginErrorReadLine();
        try
        {
            _serial = Connect(ser);
            _qmp = Connect(qmp);
            new Thread(SerialReader) { IsBackground = true, Name = "qemu-serial" }.Start();
            new Thread(QmpReader) { IsBackground = true, Name = "qemu-qmp" }.Start();
            WaitReply("QMP greeting", BootTimeout); // {"QMP": ...}
            Execute("qmp_capabilities", null, BootTimeout);
            BootLog = ReadSerialUntil("GUEST-READY", BootTimeout, "booting to a shell");
            // the rest of the GUEST-READY line
            ReadSerialUntil("\n", CommandTimeout, "booting to a shell");
            BootTime = sw.Elapsed;
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Boots the kernel with the machine's QEMU options and waits for the guest's shell. The machine's own
    /// -append text (<paramref name="machineAppend"/>) follows the oracle's options on the guest's command
    /// line, so that its options win where the kernel takes the last one.</summary>
    public static QemuGuest Boot(OracleKernel kernel, string initrd, IReadOnlyList<string> machineArgs, string? machineAppend = null) =>
        new(kernel, initrd, machineArgs, Numasim.Kernel.DefaultCommandLine.For(machineAppend));

    /// <summary>Boots as <see cref="Boot"/>, once more when the first QEMU dies before the guest's shell (QEMU 7.2 under
    /// TCG now and then closes its serial socket at start, printing nothing): nothing of the scenario ran yet, so a
    /// second boot observes the same. The first failure is returned in <paramref name="firstFailure"/> to be shown.</summary>
    public static QemuGuest BootRetrying(OracleKernel kernel, string initrd, IReadOnlyList<string> machineArgs, string? machineAppend,
        out string? firstFailure)
    {
        firstFailure = null;
        try { return Boot(kernel, initrd, machineArgs, machineAppend); }
        catch (GuestException e) { firstFailure = e.Message; }
        return Boot(kernel, initrd, machineArgs, machineAppend);
    }

    private Socket Connect(string path)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            if (_proc.HasExited) throw new GuestException($"QEMU exited with status {_proc.ExitCode} before opening {Path.GetFileName(path)}: {QemuTail()}");
            try
            {
                var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                s.Connect(new UnixDomainSocketEndPoint(path));
                return s;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline) { Thread.Sleep(50); }
            catch (SocketException e) { throw new GuestException($"cannot connect to QEMU's {Path.GetFileName(path)} within 30 s: {e.Message}"); }
        }
    }

    private string QemuTail()
    {
        Thread.Sleep(100);
        lock (_qemuOut)
        {
            var lines = _qemuOut.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            return lines.Length == 0 ? "(QEMU printed nothing)" : string.Join(" | ", lines.TakeLast(3));
        }
    }

    private void SerialReader()
    {
        var buf = new byte[65536];
        try
        {
            while (true)
            {
                int n = _serial.Receive(buf);
                if (n <= 0) break;
                var text = Encoding.Latin1.GetString(buf, 0, n).Replace("\r", "");
                lock (_lock) { _serialBuf.Append(text); Monitor.PulseAll(_lock); }
            }
        }
        catch (SocketException) { }
        catch (ObjectDisposedException) { }
        lock (_lock) { _serialClosed = true; Monitor.PulseAll(_lock); }
    }

    private void QmpReader()
    {
        try
        {
            using var reader = new StreamReader(new NetworkStream(_qmp, ownsSocket: false), Encoding.UTF8);
            while (reader.ReadLine() is { } line)
            {
                if (line.Trim().Length == 0) continue;
                if (JsonNode.Parse(line) is not JsonObject o) continue;
                lock (_lock)
                {
                    if (o.ContainsKey("event")) _events.Add(o);
                    else _replies.Enqueue(o);
                    Monitor.PulseAll(_lock);
                }
            }
        }
        catch (IOException) { }
        catch (ObjectDisposedException) { }
        catch (JsonException) { }
        lock (_lock) { _qmpClosed = true; Monitor.PulseAll(_lock); }
    }

    private string Dead(string what) =>
        $"QEMU {(_proc.HasExited ? $"exited with status {_proc.ExitCode}" : "closed its socket")} while {what}: {QemuTail()}";

    private string ReadSerialUntil(string token, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        lock (_lock)
        {
            while (true)
            {
                var s = _serialBuf.ToString();
                int i = s.IndexOf(token, StringComparison.Ordinal);
                if (i >= 0)
                {
                    _serialBuf.Remove(0, i + token.Length);
                    return s[..i].Replace("\r\n", "\n").Replace("\r", "");
                }
                if (_serialClosed) throw new GuestException(Dead(what));
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero)
                    throw new GuestException($"the guest did not answer within {timeout.TotalSeconds:0} s while {what}; serial tail: {Tail(s)}");
                Monitor.Wait(_lock, left < TimeSpan.FromMilliseconds(500) ? left : TimeSpan.FromMilliseconds(500));
            }
        }
    }

    private static string Tail(string s)
    {
        s = s.Replace("\r", "").Trim();
        return s.Length == 0 ? "(nothing)" : CliOneLine(s.Length > 300 ? s[^300..] : s);
    }

    private static string CliOneLine(string s) => s.ReplaceLineEndings(" | ");

    /// <summary>Runs a shell line in the guest and returns what it printed (stdout and stderr).</summary>
    public string Shell(string command, TimeSpan? timeout = null)
    {
        int n = ++_seq;
        var line = $"{command}; echo @@E''ND-{n}@@\n";
        if (Encoding.UTF8.GetByteCount(line) > 4000) throw new GuestException("guest command longer than the tty's 4 KiB line: " + command[..60]);
        lock (_lock) { if (_serialClosed) throw new GuestException(Dead("sending a command")); }
        _serial.Send(Encoding.UTF8.GetBytes(line));
        return ReadSerialUntil($"@@END-{n}@@\n", timeout ?? CommandTimeout, $"running '{Shorten(command)}'");
    }

    private static string Shorten(string s) => s.Length > 80 ? s[..80] + "..." : s;

    private JsonObject WaitReply(string what, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        lock (_lock)
        {
            while (_replies.Count == 0)
            {
                if (_qmpClosed) throw new GuestException(Dead("waiting for " + what));
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero) throw new GuestException($"QEMU did not answer {what} within {timeout.TotalSeconds:0} s");
                Monitor.Wait(_lock, left);
            }
            return _replies.Dequeue();
        }
    }

    /// <summary>Sends a QMP command; returns null on success, else QEMU's error description.</summary>
    public string? Execute(string command, JsonObject? arguments, TimeSpan? timeout = null)
    {
        var msg = new JsonObject { ["execute"] = command };
        if (arguments is not null) msg["arguments"] = arguments;
        var bytes = Encoding.UTF8.GetBytes(msg.ToJsonString() + "\n");
        lock (_lock) { if (_qmpClosed) throw new GuestException(Dead("sending " + command)); }
        _qmp.Send(bytes);
        var reply = WaitReply(command, timeout ?? CommandTimeout);
        if (reply["error"] is JsonObject err) return err["desc"]?.GetValue<string>() ?? err.ToJsonString();
        return null;
    }

    /// <summary>Sends a QMP command and returns its "return" value (null on error, with the error in <paramref name="error"/>).</summary>
    public JsonNode? Query(string command, JsonObject? arguments, out string? error)
    {
        var msg = new JsonObject { ["execute"] = command };
        if (arguments is not null) msg["arguments"] = arguments;
        lock (_lock) { if (_qmpClosed) throw new GuestException(Dead("sending " + command)); }
        _qmp.Send(Encoding.UTF8.GetBytes(msg.ToJsonString() + "\n"));
        var reply = WaitReply(command, CommandTimeout);
        error = reply["error"] is JsonObject err ? err["desc"]?.GetValue<string>() ?? err.ToJsonString() : null;
        return error is null ? reply["return"]?.DeepClone() : null;
    }

    /// <summary>The number of QMP events seen so far (a mark for <see cref="WaitEvent"/>).</summary>
    public int EventMark { get { lock (_lock) return _events.Count; } }

    /// <summary>Waits for the first event after <paramref name="mark"/> that <paramref name="match"/> accepts.</summary>
    public JsonObject WaitEvent(int mark, Func<JsonObject, bool> match, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        lock (_lock)
        {
            while (true)
            {
                for (int i = mark; i < _events.Count; i++)
                    if (match(_events[i])) return _events[i];
                if (_qmpClosed) throw new GuestException(Dead("waiting for " + what));
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero) throw new GuestException($"no {what} within {timeout.TotalSeconds:0} s");
                Monitor.Wait(_lock, left);
            }
        }
    }

    /// <summary>The index of an event returned by <see cref="WaitEvent"/>.</summary>
    public int EventIndex(JsonObject e) { lock (_lock) return _events.IndexOf(e); }

    public bool HasExited => _proc.HasExited;

    private void OnProcessExit(object? sender, EventArgs e) => Kill();

    private void Kill()
    {
        try
        {
            if (!_proc.HasExited)
            {
                SysKill(-_proc.Id, 9); // the process group setsid made: QEMU and anything it started
                _proc.Kill(entireProcessTree: true);
                _proc.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException) { }
        catch (System.ComponentModel.Win32Exception) { }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Kill();
        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
        try { _serial?.Dispose(); } catch (SocketException) { }
        try { _qmp?.Dispose(); } catch (SocketException) { }
        _proc.Dispose();
        try { Directory.Delete(_dir, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
