namespace Numasim.Kernel;

/// <summary>Kernel error numbers (include/uapi/asm-generic/errno-base.h, errno.h). Expected failures are
/// returned as these values, never thrown.</summary>
public enum Errno
{
    None = 0,
    EPERM = 1,
    ENOENT = 2,
    EIO = 5,
    ENXIO = 6,
    E2BIG = 7,
    EAGAIN = 11,
    ENOMEM = 12,
    EACCES = 13,
    EFAULT = 14,
    EBUSY = 16,
    EEXIST = 17,
    ENODEV = 19,
    ENOTDIR = 20,
    EISDIR = 21,
    EINVAL = 22,
    ENOSPC = 28,
    ERANGE = 34,
    EOPNOTSUPP = 95,
}

public static class ErrnoExtensions
{
    /// <summary>The message strerror() gives, as a shell prints it after a failed write.</summary>
    public static string Message(this Errno e) => e switch
    {
        Errno.None => "Success",
        Errno.EPERM => "Operation not permitted",
        Errno.ENOENT => "No such file or directory",
        Errno.EIO => "I/O error",
        Errno.ENXIO => "No such device or address",
        Errno.E2BIG => "Argument list too long",
        Errno.EAGAIN => "Resource temporarily unavailable",
        Errno.ENOMEM => "Out of memory",
        Errno.EACCES => "Permission denied",
        Errno.EFAULT => "Bad address",
        Errno.EBUSY => "Device or resource busy",
        Errno.EEXIST => "File exists",
        Errno.ENODEV => "No such device",
        Errno.ENOTDIR => "Not a directory",
        Errno.EISDIR => "Is a directory",
        Errno.EINVAL => "Invalid argument",
        Errno.ENOSPC => "No space left on device",
        Errno.ERANGE => "Numerical result out of range",
        Errno.EOPNOTSUPP => "Operation not supported",
        _ => e.ToString(),
    };

    public static bool TryParse(string name, out Errno errno) =>
        Enum.TryParse(name, ignoreCase: false, out errno) && Enum.IsDefined(errno);
}
