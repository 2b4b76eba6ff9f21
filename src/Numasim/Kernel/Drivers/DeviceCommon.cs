using Numasim.Kernel.Sysfs;

namespace Numasim.Kernel.Drivers;

/// <summary>What drivers/base/core.c gives every device directory: uevent and the power/ group.</summary>
internal static class DeviceCommon
{
    /// <summary>Models device_add()'s uevent attribute and dpm_sysfs_add()'s power/ directory.</summary>
    public static void AddUeventAndPower(SysfsDirectory d)
    {
        d.Attr("uevent", () => "", _ => Errno.None);
        var power = d.Dir("power");
        power.Attr("control", () => "auto\n", v => v.Trim() is "auto" or "on" ? Errno.None : Errno.EINVAL);
        power.Attr("runtime_active_time", () => "0\n");
        power.Attr("runtime_status", () => "unsupported\n");
        power.Attr("runtime_suspended_time", () => "0\n");
        power.Attr("autosuspend_delay_ms", () => "", _ => Errno.EIO);
    }

    /// <summary>Models sysfs_streq(): equal, ignoring one trailing newline on either side.</summary>
    public static bool SysfsStreq(string a, string b) => a.TrimEnd('\n') == b.TrimEnd('\n') && CountTrailingNl(a) <= 1 && CountTrailingNl(b) <= 1;

    private static int CountTrailingNl(string s)
    {
        int n = 0;
        for (int i = s.Length - 1; i >= 0 && s[i] == '\n'; i--) n++;
        return n;
    }

    /// <summary>Models kstrtobool(): 1/y/Y/on → true, 0/n/N/off → false; anything else EINVAL.</summary>
    public static bool? KstrToBool(string s)
    {
        if (s.Length == 0) return null;
        switch (s[0])
        {
            case 'y': case 'Y': case '1': return true;
            case 'n': case 'N': case '0': return false;
            case 'o': case 'O':
                if (s.Length > 1 && (s[1] == 'n' || s[1] == 'N')) return true;
                if (s.Length > 2 && (s[1] == 'f' || s[1] == 'F') && (s[2] == 'f' || s[2] == 'F')) return false;
                return null;
            default: return null;
        }
    }
}
