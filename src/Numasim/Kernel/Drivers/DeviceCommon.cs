using Numasim.Kernel.Sysfs;

namespace Numasim.Kernel.Drivers;

/// <summary>What drivers/base/core.c gives every device directory: uevent and the power/ group.</summary>
internal static class DeviceCommon
{
    /// <summary>dev_attr_uevent, drivers/base/core.c (a write would send a synthetic uevent).</summary>
    private static readonly AttributeGroup UeventGroup = new(DeviceAttribute.Const("uevent", "", _ => Errno.None));

    /// <summary>pm_attr_group and pm_runtime_attr_group, drivers/base/power/sysfs.c, as a device without runtime PM shows them.</summary>
    private static readonly AttributeGroup PowerGroup = new(
        DeviceAttribute.Const("control", "auto\n", v => v.Trim() is "auto" or "on" ? Errno.None : Errno.EINVAL),
        DeviceAttribute.Const("runtime_active_time", "0\n"),
        DeviceAttribute.Const("runtime_status", "unsupported\n"),
        DeviceAttribute.Const("runtime_suspended_time", "0\n"),
        DeviceAttribute.Const("autosuspend_delay_ms", "", _ => Errno.EIO),
        // CONFIG_PM_ADVANCED_DEBUG=y (config of both Debian builds): power_attrs' async and runtime_attrs' debug files
        DeviceAttribute.Const("async", "disabled\n", v => v.Trim() is "enabled" or "disabled" ? Errno.None : Errno.EINVAL),
        DeviceAttribute.Const("runtime_active_kids", "0\n"),
        DeviceAttribute.Const("runtime_enabled", "disabled\n"),
        DeviceAttribute.Const("runtime_usage", "0\n"));

    /// <summary>pm_attr_group alone: dpm_sysfs_add() merges pm_runtime_attr_group only when the device has runtime PM
    /// callbacks (pm_runtime_callbacks_present()); a bus-less child device such as nodeN/access0 has five files.</summary>
    private static readonly AttributeGroup PowerNoRuntimeGroup = new(
        DeviceAttribute.Const("runtime_status", "unsupported\n"),
        DeviceAttribute.Const("async", "disabled\n", v => v.Trim() is "enabled" or "disabled" ? Errno.None : Errno.EINVAL),
        DeviceAttribute.Const("runtime_active_kids", "0\n"),
        DeviceAttribute.Const("runtime_enabled", "disabled\n"),
        DeviceAttribute.Const("runtime_usage", "0\n"));

    /// <summary>Models device_add() and dpm_sysfs_add() for a device without runtime PM callbacks.</summary>
    public static void AddUeventAndPmAttrs(SysfsDirectory d)
    {
        d.AddGroup(UeventGroup);
        d.Dir("power").AddGroup(PowerNoRuntimeGroup);
    }

    /// <summary>Models device_add()'s uevent attribute and dpm_sysfs_add()'s power/ directory.</summary>
    public static void AddUeventAndPower(SysfsDirectory d)
    {
        d.AddGroup(UeventGroup);
        AddPower(d);
    }

    /// <summary>Models dpm_sysfs_add(): the power/ directory (for a device whose uevent is its own).</summary>
    public static void AddPower(SysfsDirectory d) => d.Dir("power").AddGroup(PowerGroup);

    /// <summary>Models sysfs_streq(): equal, ignoring one trailing newline on either side.</summary>
    public static bool SysfsStreq(string a, string b) =>
        a.AsSpan().TrimEnd('\n').SequenceEqual(b.AsSpan().TrimEnd('\n')) && CountTrailingNl(a) <= 1 && CountTrailingNl(b) <= 1;

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
