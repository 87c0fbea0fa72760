using System.ComponentModel;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.Files;

/// <summary>
/// File system access that never follows a symbolic link. Sessions and jobs write into volumes as the
/// user, so a link inside a volume may point anywhere (/etc, another user's volume). Every path is
/// opened one name at a time from the volume's root with O_NOFOLLOW (openat), and work inside a folder
/// goes through its open descriptor (/proc/self/fd/N, renameat2, unlinkat), so a link swapped in
/// after a check cannot redirect it.
/// </summary>
public static partial class NoFollow
{
    private static readonly bool Arm = RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm;

    // Linux open(2) flags; O_DIRECTORY and O_NOFOLLOW differ on ARM.
    private const int ORdOnly = 0;
    private const int OWrOnly = 1;
    private const int OCreat = 0x40;
    private const int OExcl = 0x80;
    private static readonly int ODirectory = Arm ? 0x4000 : 0x10000;
    private static readonly int ONoFollow = Arm ? 0x8000 : 0x20000;
    private const int OCloExec = 0x80000;
    private const int AtRemoveDir = 0x200;
    private const uint RenameNoReplace = 1;

    private const int ENOENT = 2;
    private const int EEXIST = 17;
    private const int ENOTDIR = 20;
    private const int EISDIR = 21;
    private const int ENOSPC = 28;
    private const int ELOOP = 40;
    private const int ENOTEMPTY = 39;
    private const int EXDEV = 18;

    [LibraryImport("libc", EntryPoint = "openat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int OpenAt(int dirfd, string path, int flags, uint mode);

    [LibraryImport("libc", EntryPoint = "mkdirat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int MkdirAt(int dirfd, string path, uint mode);

    [LibraryImport("libc", EntryPoint = "unlinkat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int UnlinkAt(int dirfd, string path, int flags);

    [LibraryImport("libc", EntryPoint = "renameat2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int RenameAt2(int olddirfd, string oldpath, int newdirfd, string newpath, uint flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    /// <summary>Opens the folder at <paramref name="names"/> beneath <paramref name="root"/>, creating missing folders when asked.</summary>
    public static SafeFileHandle OpenDirectory(string root, IReadOnlyList<string> names, bool create = false, UnixFileMode mode = (UnixFileMode)0b111_101_101)
    {
        ArgumentNullException.ThrowIfNull(names);
        var fd = OpenAt(-100 /* AT_FDCWD */, root, ORdOnly | ODirectory | OCloExec, 0);
        if (fd < 0)
        {
            throw Fail(Marshal.GetLastPInvokeError(), "the volume's folder");
        }

        var current = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            foreach (var name in names)
            {
                var next = OpenAt(Fd(current), name, ORdOnly | ODirectory | ONoFollow | OCloExec, 0);
                if (next < 0 && Marshal.GetLastPInvokeError() == ENOENT && create)
                {
                    if (MkdirAt(Fd(current), name, (uint)mode) < 0 && Marshal.GetLastPInvokeError() != EEXIST)
                    {
                        throw Fail(Marshal.GetLastPInvokeError(), name);
                    }

                    next = OpenAt(Fd(current), name, ORdOnly | ODirectory | ONoFollow | OCloExec, 0);
                }

                if (next < 0)
                {
                    throw Fail(Marshal.GetLastPInvokeError(), name);
                }

                current.Dispose();
                current = new SafeFileHandle(next, ownsHandle: true);
            }

            return current;
        }
        catch
        {
            current.Dispose();
            throw;
        }
    }

    /// <summary>A path that reaches into an open folder without resolving its name again.</summary>
    public static string PathOf(SafeFileHandle directory, string? name = null) =>
        name is null ? $"/proc/self/fd/{Fd(directory)}" : $"/proc/self/fd/{Fd(directory)}/{name}";

    /// <summary>Opens a file in an open folder for reading; a link, a folder or a missing file is refused.</summary>
    public static FileStream OpenRead(SafeFileHandle directory, string name, int bufferSize = 81920)
    {
        var fd = OpenAt(Fd(directory), name, ORdOnly | ONoFollow | OCloExec, 0);
        if (fd < 0)
        {
            throw Fail(Marshal.GetLastPInvokeError(), name);
        }

        var handle = new SafeFileHandle(fd, ownsHandle: true);
        if (File.GetAttributes(PathOf(directory, name)).HasFlag(FileAttributes.Directory))
        {
            handle.Dispose();
            throw PlatformException.Invalid($"'{name}' is a folder, not a file.", "path");
        }

        return new FileStream(handle, FileAccess.Read, bufferSize);
    }

    /// <summary>Creates a new file (which must not exist) in an open folder, for writing.</summary>
    public static FileStream CreateNew(SafeFileHandle directory, string name, UnixFileMode mode = (UnixFileMode)0b110_100_100, int bufferSize = 81920)
    {
        var fd = OpenAt(Fd(directory), name, OWrOnly | OCreat | OExcl | ONoFollow | OCloExec, (uint)mode);
        if (fd < 0)
        {
            throw Fail(Marshal.GetLastPInvokeError(), name);
        }

        return new FileStream(new SafeFileHandle(fd, ownsHandle: true), FileAccess.Write, bufferSize);
    }

    /// <summary>Opens an existing file for appending (a resumed upload's partial file).</summary>
    public static FileStream OpenAppend(SafeFileHandle directory, string name, int bufferSize = 81920)
    {
        var fd = OpenAt(Fd(directory), name, OWrOnly | ONoFollow | OCloExec, 0);
        if (fd < 0)
        {
            throw Fail(Marshal.GetLastPInvokeError(), name);
        }

        var stream = new FileStream(new SafeFileHandle(fd, ownsHandle: true), FileAccess.Write, bufferSize);
        stream.Seek(0, SeekOrigin.End);
        return stream;
    }

    /// <summary>Creates a folder in an open folder.</summary>
    public static void CreateDirectory(SafeFileHandle directory, string name, UnixFileMode mode = (UnixFileMode)0b111_101_101)
    {
        if (MkdirAt(Fd(directory), name, (uint)mode) < 0)
        {
            throw Fail(Marshal.GetLastPInvokeError(), name);
        }
    }

    /// <summary>Moves an entry between open folders, atomically; with <paramref name="replace"/> false an existing target is an error.</summary>
    public static void Rename(SafeFileHandle from, string fromName, SafeFileHandle to, string toName, bool replace)
    {
        if (RenameAt2(Fd(from), fromName, Fd(to), toName, replace ? 0 : RenameNoReplace) < 0)
        {
            throw Fail(Marshal.GetLastPInvokeError(), toName);
        }
    }

    /// <summary>Removes a file or a link (the link itself, never its target).</summary>
    public static void DeleteFile(SafeFileHandle directory, string name)
    {
        if (UnlinkAt(Fd(directory), name, 0) < 0)
        {
            throw Fail(Marshal.GetLastPInvokeError(), name);
        }
    }

    /// <summary>Removes a folder and everything in it, without following any link inside.</summary>
    public static void DeleteTree(SafeFileHandle directory, string name)
    {
        using (var child = OpenDirectory(PathOf(directory), [name]))
        {
            foreach (var entry in new DirectoryInfo(PathOf(child)).EnumerateFileSystemInfos())
            {
                if (entry is DirectoryInfo && entry.LinkTarget is null)
                {
                    DeleteTree(child, entry.Name);
                }
                else
                {
                    DeleteFile(child, entry.Name);
                }
            }
        }

        if (UnlinkAt(Fd(directory), name, AtRemoveDir) < 0)
        {
            throw Fail(Marshal.GetLastPInvokeError(), name);
        }
    }

    /// <summary>Flushes a folder's entries (after a rename) to disk.</summary>
    public static void SyncDirectory(SafeFileHandle directory) => Fsync(Fd(directory));

    /// <summary>Whether an entry is a symbolic link, a folder, a file, or absent; never follows the link.</summary>
    public static EntryKind KindOf(SafeFileHandle directory, string name)
    {
        var info = new FileInfo(PathOf(directory, name));
        if (info.LinkTarget is not null)
        {
            return EntryKind.Link;
        }

        var attributes = File.Exists(info.FullName) || Directory.Exists(info.FullName) ? info.Attributes : (FileAttributes)(-1);
        return (int)attributes == -1 ? EntryKind.Missing
            : attributes.HasFlag(FileAttributes.Directory) ? EntryKind.Directory : EntryKind.File;
    }

    /// <summary>True when the error is the disk being full.</summary>
    public static bool IsDiskFull(IOException e) => e?.HResult == ENOSPC || (e?.HResult & 0xFFFF) == ENOSPC || e?.Message.Contains("No space left", StringComparison.Ordinal) == true;

    private static int Fd(SafeFileHandle handle) => (int)handle.DangerousGetHandle();

    private static Exception Fail(int errno, string name) => errno switch
    {
        ELOOP => PlatformException.Forbidden($"'{name}' is a symbolic link; the file service does not follow links."),
        ENOTDIR => PlatformException.Invalid($"'{name}' is not a folder.", "path"),
        EISDIR => PlatformException.Invalid($"'{name}' is a folder.", "path"),
        ENOENT => PlatformException.NotFound($"'{name}' does not exist."),
        EEXIST => PlatformException.Conflict($"'{name}' exists already."),
        ENOTEMPTY => PlatformException.Conflict($"The folder '{name}' is not empty."),
        EXDEV => new IOException($"Cannot move '{name}' across file systems in one step.", new Win32Exception(errno)),
        ENOSPC => new IOException("No space left on the device.", new Win32Exception(errno)) { HResult = ENOSPC },
        _ => new IOException($"File system error on '{name}': {new Win32Exception(errno).Message}", new Win32Exception(errno)),
    };
}

public enum EntryKind
{
    Missing,
    File,
    Directory,
    Link,
}
