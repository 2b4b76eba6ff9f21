namespace Numasim.Kernel.Sysfs;

/// <summary>
/// Models struct device_attribute: one file that every device of a kind shows, with show() and store() given
/// the device (DEVICE_ATTR_RO() and friends are static definitions, not one per device).
/// </summary>
public sealed class DeviceAttribute
{
    private DeviceAttribute(string name, Func<object?, string>? show, Func<object?, string, Errno>? store, int mode)
    {
        Name = name;
        Show = show;
        Store = store;
        Mode = mode >= 0 ? mode : (show is not null ? SysfsAttribute.ModeReadAll : 0) | (store is not null ? SysfsAttribute.ModeOwnerWrite : 0);
    }

    public string Name { get; }
    public Func<object?, string>? Show { get; }
    public Func<object?, string, Errno>? Store { get; }
    public int Mode { get; }

    /// <summary>A read-only file (DEVICE_ATTR_RO()).</summary>
    public static DeviceAttribute Ro<TDevice>(string name, Func<TDevice, string> show) =>
        new(name, d => show((TDevice)d!), null, -1);

    /// <summary>A read-write file (DEVICE_ATTR_RW()).</summary>
    public static DeviceAttribute Rw<TDevice>(string name, Func<TDevice, string> show, Func<TDevice, string, Errno> store) =>
        new(name, d => show((TDevice)d!), (d, v) => store((TDevice)d!, v), -1);

    /// <summary>A write-only file (DEVICE_ATTR_WO()).</summary>
    public static DeviceAttribute Wo<TDevice>(string name, Func<TDevice, string, Errno> store) =>
        new(name, null, (d, v) => store((TDevice)d!, v), -1);

    /// <summary>A read-only file whose text never changes.</summary>
    public static DeviceAttribute Const(string name, string text) => new(name, _ => text, null, -1);

    /// <summary>A file with a fixed text and a store that ignores the device.</summary>
    public static DeviceAttribute Const(string name, string text, Func<string, Errno> store) => new(name, _ => text, (_, v) => store(v), -1);
}

/// <summary>
/// Models struct attribute_group: the files sysfs_create_group() puts in a device's directory. Defined once per
/// kind of device and shared by all of them (and by every snapshot of the machine); the directory holds the
/// group and its device, and shows the files when they are looked up or listed.
/// </summary>
public sealed class AttributeGroup
{
    private readonly DeviceAttribute[] _attrs;

    public AttributeGroup(params DeviceAttribute[] attrs)
    {
        _attrs = [.. attrs.OrderBy(a => a.Name, StringComparer.Ordinal)];
        for (int i = 1; i < _attrs.Length; i++)
            if (_attrs[i].Name == _attrs[i - 1].Name) throw new ArgumentException($"attribute group: duplicate file '{_attrs[i].Name}'");
    }

    /// <summary>The files, sorted by name (ordinal).</summary>
    public IReadOnlyList<DeviceAttribute> Attributes => _attrs;

    public DeviceAttribute? Find(string name)
    {
        int lo = 0, hi = _attrs.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            int c = string.CompareOrdinal(_attrs[mid].Name, name);
            if (c == 0) return _attrs[mid];
            if (c < 0) lo = mid + 1;
            else hi = mid - 1;
        }
        return null;
    }
}
