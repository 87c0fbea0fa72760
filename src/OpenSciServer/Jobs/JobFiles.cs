using System.Globalization;
using System.Text;
using Microsoft.Win32.SafeHandles;
using OpenSciServer.Compute;
using OpenSciServer.Files;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.Jobs;

/// <summary>
/// A job directory on the machine: a folder beneath a user volume's folder. The volume's folder is the
/// platform's; everything beneath it is the user's to change, so it is always opened without following
/// links.
/// </summary>
public sealed record JobDirectory(string VolumeFolder, IReadOnlyList<string> Names)
{
    public string HostPath => Path.Combine([VolumeFolder, .. Names]);

    public SafeFileHandle Open(bool create = false) => NoFollow.OpenDirectory(VolumeFolder, Names, create);
}

/// <summary>The end of an output file, bounded in size; the file itself holds everything.</summary>
public sealed record OutputTail(string Text, long Size, bool Truncated);

/// <summary>The files of a job directory and how the platform reads and writes them.</summary>
public static class JobFiles
{
    public const string Command = "command.txt";
    public const string Parameters = "parameters.txt";
    public const string Stdout = "stdout.txt";
    public const string Stderr = "stderr.txt";
    public const string ExitCode = "exitcode.txt";

    /// <summary>The file in the job's home that names the job directory (SciScript's Jobs.getJobDirectory).</summary>
    public const string JobsPathFile = "jobs.path";

    /// <summary>
    /// Runs as the user inside the sandbox, in the job directory: the job's command with its output in
    /// stdout.txt and stderr.txt, then its exit status into exitcode.txt. The user's text is never part
    /// of this script: it is the file command.txt, which bash reads as a script.
    /// </summary>
    public const string Wrapper = "\"$@\" >" + Stdout + " 2>" + Stderr + " </dev/null; printf '%s\\n' \"$?\" >" + ExitCode;

    /// <summary>The program and arguments that run the wrapper around <paramref name="command"/>.</summary>
    public static IReadOnlyList<string> Wrapped(IEnumerable<string> command) => ["/bin/bash", "-c", Wrapper, "oss-job", .. command];

    /// <summary>The exit code the wrapper wrote, or null if there is none (yet).</summary>
    public static int? ReadExitCode(JobDirectory directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        try
        {
            using var dir = directory.Open();
            using var stream = NoFollow.OpenRead(dir, ExitCode, 64);
            var buffer = new byte[32];
            var read = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
            var text = Encoding.ASCII.GetString(buffer, 0, read).Trim();
            return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var code) ? code : null;
        }
        catch (Exception e) when (e is PlatformException or IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The last <paramref name="maxBytes"/> of an output file (empty if it does not exist).</summary>
    public static OutputTail ReadTail(JobDirectory directory, string name, int maxBytes)
    {
        ArgumentNullException.ThrowIfNull(directory);
        try
        {
            using var dir = directory.Open();
            using var stream = NoFollow.OpenRead(dir, name, 4096);
            var size = stream.Length;
            var start = Math.Max(0, size - maxBytes);
            stream.Seek(start, SeekOrigin.Begin);
            var buffer = new byte[size - start];
            var read = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
            var offset = 0;
            // Do not begin in the middle of a UTF-8 character.
            while (start > 0 && offset < read && offset < 4 && (buffer[offset] & 0xC0) == 0x80)
            {
                offset++;
            }

            return new OutputTail(Encoding.UTF8.GetString(buffer, offset, read - offset), size, start > 0);
        }
        catch (Exception e) when (e is PlatformException or IOException or UnauthorizedAccessException)
        {
            return new OutputTail("", 0, false);
        }
    }

    /// <summary>Writes a new file owned by the user: created new (never through a link), then renamed over any old one.</summary>
    public static void WriteFile(SafeFileHandle directory, string name, ReadOnlySpan<byte> content, UnixAccount account)
    {
        ArgumentNullException.ThrowIfNull(account);
        var temp = ".oss-" + Guid.NewGuid().ToString("N");
        using (var stream = NoFollow.CreateNew(directory, temp, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead))
        {
            stream.Write(content);
            stream.Flush(flushToDisk: true);
            Chown(stream.SafeFileHandle, account);
        }

        NoFollow.Rename(directory, temp, directory, name, replace: true);
    }

    /// <summary>Removes a file (or a link) if it is there.</summary>
    public static void Remove(SafeFileHandle directory, string name)
    {
        try
        {
            NoFollow.DeleteFile(directory, name);
        }
        catch (PlatformException e) when (e.Kind == ProblemKind.NotFound)
        {
        }
    }

    internal static void Chown(SafeFileHandle handle, UnixAccount account)
    {
        if (Compute.Backends.Native.FChown((int)handle.DangerousGetHandle(), account.Uid, account.Gid) != 0)
        {
            throw new IOException($"fchown failed (errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}).");
        }
    }
}
