using System.Runtime.InteropServices;
using System.Text;

namespace Numasim.Import;

/// <summary>
/// The device of a tree's folders without a statx per folder (Linux): a folder has its root's device unless a mount
/// point lies on its path, and the mount points below the root are in /proc/self/mountinfo, read once. The device keys
/// <see cref="DirectoryReader"/>'s inode cache; a 1,024-node dump has 116 k folders to read. A folder some mount point
/// covers, or any folder when mountinfo or the root cannot be read, is asked its own device, as before.
/// </summary>
internal sealed class TreeFileSystem
{
    [DllImport("libc", EntryPoint = "realpath", SetLastError = true)]
    private static extern nint RealPath([MarshalAs(UnmanagedType.LPUTF8Str)] string path, nint resolved);

    [DllImport("libc", EntryPoint = "free")]
    private static extern void Free(nint p);

    private readonly string _root, _realSlash;
    /// <summary>Mount points strictly below the real root, each with a trailing '/'; null when unknown (every folder is asked).</summary>
    private readonly string[]? _mounts;
    private readonly ulong _device;

    private TreeFileSystem(string root, string real, string[]? mounts, ulong device)
    {
        _root = root;
        _realSlash = real == "/" ? "/" : real + "/";
        _mounts = mounts;
        _device = device;
    }

    /// <summary>The tree under <paramref name="root"/> (a path without a trailing '/', or "/").</summary>
    public static TreeFileSystem Probe(string root)
    {
        if (!DirectoryReader.Available) return new(root, root, null, ulong.MaxValue);
        var real = Real(root);
        ulong dev = real is null ? ulong.MaxValue : DirectoryReader.DeviceOf(root);
        var mounts = real is null || dev == ulong.MaxValue ? null : MountsBelow(real);
        return new(root, real ?? root, mounts, dev);
    }

    /// <summary>The device of the folder <paramref name="dir"/> (a real path under the root, as
    /// <see cref="ConfinedTree"/> resolves it), or null when it must be asked.</summary>
    public ulong? DeviceOf(string dir)
    {
        if (_mounts is null) return null;
        var d = dir.AsSpan();
        ReadOnlySpan<char> rest;
        if (d.SequenceEqual(_root)) rest = "";
        else if (_root == "/" ? d.StartsWith('/') : d.Length > _root.Length && d.StartsWith(_root) && d[_root.Length] == '/') rest = d[(_root == "/" ? 1 : _root.Length + 1)..];
        else return null;
        // the real path, with a trailing '/', compared piecewise: no string per folder (a dump has none of these mounts)
        var real = _realSlash;
        foreach (var m in _mounts)
        {
            var mount = m.AsSpan();
            if (mount.Length > real.Length + rest.Length + 1 || !mount.StartsWith(real)) continue;
            var tail = mount[real.Length..];
            if (rest.StartsWith(tail) || (tail.Length == rest.Length + 1 && tail.StartsWith(rest))) return null;
        }
        return _device;
    }

    private static string? Real(string path)
    {
        nint p = RealPath(path, 0);
        if (p == 0) return null;
        try { return Marshal.PtrToStringUTF8(p); }
        finally { Free(p); }
    }

    /// <summary>The mount points of /proc/self/mountinfo (its fifth field, octal escapes decoded) strictly below
    /// <paramref name="real"/>, each ending in '/'; null when it cannot be read.</summary>
    private static string[]? MountsBelow(string real)
    {
        string text;
        try { text = File.ReadAllText("/proc/self/mountinfo"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
        var prefix = real == "/" ? "/" : real + "/";
        var list = new List<string>();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var fields = line.Split(' ');
            if (fields.Length < 5) return null;
            var m = Unescape(fields[4]);
            if (m.Length > prefix.Length && m.StartsWith(prefix, StringComparison.Ordinal)) list.Add(m.TrimEnd('/') + "/");
        }
        return [.. list];
    }

    /// <summary>mountinfo's escapes of a space, tab, newline and backslash (\040, \011, \012, \134: seq_path's mangling).</summary>
    private static string Unescape(string s)
    {
        if (!s.Contains('\\')) return s;
        var sb = new StringBuilder(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && i + 3 < s.Length && IsOctal(s[i + 1]) && IsOctal(s[i + 2]) && IsOctal(s[i + 3]))
            {
                sb.Append((char)(((s[i + 1] - '0') << 6) | ((s[i + 2] - '0') << 3) | (s[i + 3] - '0')));
                i += 3;
            }
            else sb.Append(s[i]);
        }
        return sb.ToString();
    }

    private static bool IsOctal(char c) => c is >= '0' and <= '7';
}
