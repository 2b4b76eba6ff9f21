using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Numasim.Tests.Report;

/// <summary>
/// Debian's chromium, headless, driven over the DevTools protocol on a loopback port (a WebSocket to the page):
/// load a page, collect its script errors (uncaught exceptions, console errors), evaluate expressions in it, take a
/// screenshot. Started with the flags that keep it off the network (this machine has none: without them it hangs
/// on connections) and a fresh profile folder, removed afterwards.
/// </summary>
public sealed class HeadlessChromium : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly Process _process;
    private readonly string _profile;
    private readonly ClientWebSocket _ws = new();
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonNode?>> _pending = new();
    private readonly ConcurrentQueue<string> _errors = new();
    private readonly ConcurrentQueue<string> _events = new();
    private readonly CancellationTokenSource _stop = new();
    private Task? _reader;
    private int _nextId;

    private HeadlessChromium(Process process, string profile)
    {
        _process = process;
        _profile = profile;
    }

    /// <summary>Script errors seen so far: uncaught exceptions and console.error / error log entries.</summary>
    public IReadOnlyList<string> Errors => [.. _errors];

    /// <summary>The chromium binary, or null when none is installed.</summary>
    public static string? FindBinary()
    {
        foreach (var name in new[] { "chromium", "chromium-browser", "google-chrome" })
            foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin").Split(':'))
                if (File.Exists(Path.Combine(dir, name))) return Path.Combine(dir, name);
        return null;
    }

    public static async Task<HeadlessChromium> StartAsync(string binary, int width = 1280, int height = 1600)
    {
        var profile = Directory.CreateTempSubdirectory("numasim-chromium-").FullName;
        var psi = new ProcessStartInfo(binary)
        {
            RedirectStandardError = true, RedirectStandardOutput = true, RedirectStandardInput = true, UseShellExecute = false,
        };
        foreach (var a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
                     "--disable-default-apps", "--mute-audio", "--hide-scrollbars", $"--user-data-dir={profile}",
                     "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", $"--window-size={width},{height}", "about:blank" })
            psi.ArgumentList.Add(a);
        var p = Process.Start(psi) ?? throw new InvalidOperationException("chromium did not start");
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        var c = new HeadlessChromium(p, profile);
        try
        {
            await c.ConnectAsync();
        }
        catch
        {
            await c.DisposeAsync();
            throw;
        }
        return c;
    }

    private async Task ConnectAsync()
    {
        // chromium writes the port it chose to DevToolsActivePort in the profile folder.
        var portFile = Path.Combine(_profile, "DevToolsActivePort");
        var sw = Stopwatch.StartNew();
        int port = 0;
        while (port == 0)
        {
            if (_process.HasExited) throw new InvalidOperationException($"chromium exited with {_process.ExitCode} before listening");
            if (sw.Elapsed > Timeout) throw new TimeoutException("chromium did not open its DevTools port");
            if (File.Exists(portFile) && File.ReadAllLines(portFile) is [var first, ..] && int.TryParse(first, out var p)) port = p;
            else await Task.Delay(100);
        }
        using var http = new HttpClient { Timeout = Timeout };
        string? wsUrl = null;
        while (wsUrl is null)
        {
            var list = JsonNode.Parse(await http.GetStringAsync($"http://127.0.0.1:{port}/json/list"))!.AsArray();
            wsUrl = Str(list.FirstOrDefault(t => Str(t, "type") == "page"), "webSocketDebuggerUrl");
            if (wsUrl is null)
            {
                if (sw.Elapsed > Timeout) throw new TimeoutException("chromium has no page target");
                await Task.Delay(100);
            }
        }
        await _ws.ConnectAsync(new Uri(wsUrl), new CancellationTokenSource(Timeout).Token);
        _reader = Task.Run(ReadLoop);
        await SendAsync("Runtime.enable");
        await SendAsync("Log.enable");
        await SendAsync("Page.enable");
    }

    /// <summary>Sends a DevTools command and returns its result.</summary>
    public async Task<JsonNode?> SendAsync(string method, JsonObject? args = null)
    {
        int id = Interlocked.Increment(ref _nextId);
        var tcs = new TaskCompletionSource<JsonNode?>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = tcs;
        var msg = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = args ?? new JsonObject() };
        await _ws.SendAsync(Encoding.UTF8.GetBytes(msg.ToJsonString()), WebSocketMessageType.Text, true, _stop.Token);
        return await tcs.Task.WaitAsync(Timeout);
    }

    /// <summary>Loads <paramref name="url"/> and waits for its load event.</summary>
    public async Task NavigateAsync(string url)
    {
        while (_events.TryDequeue(out _)) { }
        await SendAsync("Page.navigate", new JsonObject { ["url"] = url });
        var sw = Stopwatch.StartNew();
        while (!_events.Contains("Page.loadEventFired"))
        {
            if (sw.Elapsed > Timeout) throw new TimeoutException($"{url} did not finish loading");
            await Task.Delay(50);
        }
    }

    /// <summary>The value of a JavaScript expression in the page (an exception in it is an error).</summary>
    public async Task<JsonNode?> EvaluateAsync(string expression)
    {
        var r = await SendAsync("Runtime.evaluate", new JsonObject { ["expression"] = expression, ["returnByValue"] = true });
        if (r?["exceptionDetails"] is { } ex) throw new InvalidOperationException("evaluate: " + ex.ToJsonString());
        return r?["result"]?["value"];
    }

    /// <summary>A PNG of the whole page.</summary>
    public async Task<byte[]> ScreenshotAsync()
    {
        var r = await SendAsync("Page.captureScreenshot", new JsonObject { ["format"] = "png", ["captureBeyondViewport"] = true });
        return Convert.FromBase64String(r!["data"]!.GetValue<string>());
    }

    private async Task ReadLoop()
    {
        var buffer = new byte[1 << 16];
        var message = new MemoryStream();
        try
        {
            while (_ws.State == WebSocketState.Open && !_stop.IsCancellationRequested)
            {
                var res = await _ws.ReceiveAsync(buffer, _stop.Token);
                if (res.MessageType == WebSocketMessageType.Close) break;
                message.Write(buffer, 0, res.Count);
                if (!res.EndOfMessage) continue;
                var node = JsonNode.Parse(message.ToArray());
                message.SetLength(0);
                if (node?["id"] is { } idNode)
                {
                    if (_pending.TryRemove(idNode.GetValue<int>(), out var tcs))
                    {
                        if (node["error"] is { } err) tcs.TrySetException(new InvalidOperationException(err.ToJsonString()));
                        else tcs.TrySetResult(node["result"]);
                    }
                    continue;
                }
                var method = node?["method"]?.GetValue<string>() ?? "";
                _events.Enqueue(method);
                var p = node?["params"];
                switch (method)
                {
                    case "Runtime.exceptionThrown":
                        _errors.Enqueue("exception: " + p?["exceptionDetails"]?.ToJsonString());
                        break;
                    case "Runtime.consoleAPICalled" when Str(p, "type") == "error":
                        _errors.Enqueue("console.error: " + p?["args"]?.ToJsonString());
                        break;
                    case "Log.entryAdded" when Str(p?["entry"], "level") == "error":
                        _errors.Enqueue("log: " + p?["entry"]?["text"]);
                        break;
                }
            }
        }
        catch (OperationCanceledException) { }
        catch (WebSocketException) { }
    }

    private static string? Str(JsonNode? n, string key) => n?[key] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_ws.State == WebSocketState.Open) await SendAsync("Browser.close").WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception) { }
        _stop.Cancel();
        try { if (!_process.WaitForExit(5000)) _process.Kill(entireProcessTree: true); }
        catch (InvalidOperationException) { }
        if (_reader is not null) try { await _reader.WaitAsync(TimeSpan.FromSeconds(5)); } catch (Exception) { }
        _ws.Dispose();
        _process.Dispose();
        try { Directory.Delete(_profile, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
