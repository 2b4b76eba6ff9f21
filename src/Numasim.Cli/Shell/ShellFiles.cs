using Numasim.Kernel;
using Numasim.Kernel.Sysfs;

namespace Numasim.Cli.Shell;

/// <summary>The shell's file commands over the model's tree (cat, ls, tree, cd, pwd, dmesg), with a working
/// directory; errors read as coreutils prints them.</summary>
internal sealed class ShellFiles(Func<Machine> machine, TextWriter output)
{
    /// <summary>The working directory (absolute, no trailing slash but for "/").</summary>
    public string Cwd { get; private set; } = "/sys/devices/system";

    private SysfsTree Fs => machine().Fs;

    /// <summary>An absolute path for <paramref name="path"/> from the working directory, "." and ".." folded.</summary>
    public string Resolve(string path)
    {
        var parts = new List<string>();
        if (!path.StartsWith('/')) parts.AddRange(SysfsTree.Split(Cwd));
        foreach (var p in SysfsTree.Split(path))
        {
            if (p == ".") continue;
            if (p == "..") { if (parts.Count > 0) parts.RemoveAt(parts.Count - 1); continue; }
            parts.Add(p);
        }
        return "/" + string.Join('/', parts);
    }

    /// <summary>Runs a file command; false when <paramref name="cmd"/> is none.</summary>
    public bool Run(string cmd, List<string> args)
    {
        switch (cmd)
        {
            case "cat": Cat(args); return true;
            case "ls": Ls(args); return true;
            case "tree": Tree(args); return true;
            case "cd": Cd(args); return true;
            case "pwd": output.WriteLine(Cwd); return true;
            case "dmesg": Dmesg(args); return true;
            default: return false;
        }
    }

    private void Cat(List<string> args)
    {
        if (args.Count == 0) { output.WriteLine("cat: usage: cat FILE..."); return; }
        foreach (var a in args)
        {
            var r = Fs.Read(Resolve(a));
            if (r.Ok) output.Write(r.Text);
            else output.WriteLine($"cat: {a}: {r.Error.Message()}");
        }
    }

    private void Ls(List<string> args)
    {
        bool longForm = args.Remove("-l");
        var targets = args.Count == 0 ? [Cwd] : args;
        foreach (var a in targets)
        {
            var path = Resolve(a);
            var entry = Fs.Lookup(path);
            if (entry is null) { output.WriteLine($"ls: cannot access '{a}': No such file or directory"); continue; }
            if (targets.Count > 1) output.WriteLine(a + ":");
            if (entry is not SysfsDirectory d) { output.WriteLine(longForm ? Long(Fs.Lookup(path, followLastLink: false)!) : a); continue; }
            foreach (var c in d.Children) output.WriteLine(longForm ? Long(c) : Short(c));
        }
    }

    private static string Short(SysfsEntry e) => e switch { SysfsDirectory => e.Name + "/", SysfsLink => e.Name + "@", _ => e.Name };

    private static string Long(SysfsEntry e) => e switch
    {
        SysfsDirectory => $"drwxr-xr-x {e.Name}",
        SysfsLink l => $"lrwxrwxrwx {e.Name} -> {l.RelativeTarget}",
        SysfsAttribute a => $"{Mode(a.Mode)} {e.Name}",
        _ => e.Name,
    };

    private static string Mode(int m)
    {
        var s = new char[10];
        s[0] = '-';
        const string rwx = "rwx";
        for (int i = 0; i < 9; i++) s[i + 1] = (m & (1 << (8 - i))) != 0 ? rwx[i % 3] : '-';
        return new string(s);
    }

    /// <summary>Lines tree prints at most; the rest is counted.</summary>
    private const int MaxTreeLines = 400;

    private void Tree(List<string> args)
    {
        int depth = 3;
        int l = args.IndexOf("-L");
        if (l >= 0)
        {
            if (l + 1 >= args.Count || !int.TryParse(args[l + 1], out depth) || depth < 1) { output.WriteLine("tree: -L needs a level of 1 or more"); return; }
            args.RemoveRange(l, 2);
        }
        var path = Resolve(args.Count > 0 ? args[0] : ".");
        if (Fs.Lookup(path) is not SysfsDirectory d) { output.WriteLine($"{args.FirstOrDefault() ?? "."} [error opening dir]"); return; }
        output.WriteLine(path);
        int lines = 0, more = 0, dirs = 0, files = 0;
        void Walk(SysfsDirectory dir, string indent, int level)
        {
            var children = dir.Children.ToList();
            for (int i = 0; i < children.Count; i++)
            {
                var c = children[i];
                bool last = i == children.Count - 1;
                if (c is SysfsDirectory) dirs++; else files++;
                if (lines < MaxTreeLines)
                {
                    output.WriteLine($"{indent}{(last ? "└── " : "├── ")}{c.Name}{(c is SysfsLink link ? " -> " + link.RelativeTarget : "")}");
                    lines++;
                }
                else more++;
                if (c is SysfsDirectory sub && level < depth) Walk(sub, indent + (last ? "    " : "│   "), level + 1);
            }
        }
        Walk(d, "", 1);
        if (more > 0) output.WriteLine($"... {more} more (tree -L N shows fewer levels)");
        output.WriteLine($"\n{dirs} directories, {files} files");
    }

    private void Cd(List<string> args)
    {
        var target = args.Count == 0 ? "/sys/devices/system" : args[0];
        var path = Resolve(target);
        if (Fs.Lookup(path) is SysfsDirectory) Cwd = path;
        else if (Fs.Lookup(path) is null) output.WriteLine($"cd: {target}: No such file or directory");
        else output.WriteLine($"cd: {target}: Not a directory");
    }

    private void Dmesg(List<string> args)
    {
        var lines = machine().Dmesg().ToList();
        if (args is ["-n", var n] && int.TryParse(n, out int count) && count >= 0) lines = lines.TakeLast(count).ToList();
        else if (args.Count > 0) { output.WriteLine("dmesg: usage: dmesg [-n N] (the last N lines)"); return; }
        foreach (var line in lines) output.WriteLine(line);
    }

    /// <summary>Names in the directory of <paramref name="partial"/> that complete it (directories with a "/").</summary>
    public IEnumerable<string> CompletePath(string partial)
    {
        int slash = partial.LastIndexOf('/');
        string dirPart = slash >= 0 ? partial[..(slash + 1)] : "";
        string prefix = slash >= 0 ? partial[(slash + 1)..] : partial;
        var dir = Fs.Lookup(Resolve(dirPart.Length == 0 ? "." : dirPart)) as SysfsDirectory;
        if (dir is null) yield break;
        foreach (var c in dir.Children)
        {
            if (!c.Name.StartsWith(prefix, StringComparison.Ordinal)) continue;
            bool isDir = c is SysfsDirectory || (c is SysfsLink && Fs.Lookup(Resolve(dirPart + c.Name)) is SysfsDirectory);
            yield return dirPart + c.Name + (isDir ? "/" : "");
        }
    }
}
