using System.Globalization;
using System.Text.RegularExpressions;

namespace OpenSciServer.CasJobs.Engines;

/// <summary>
/// A memory control group for one query worker: the operating system's own limit on everything the
/// worker allocates (DuckDB's memory_limit covers only DuckDB's buffer manager, not the runtime, the
/// result batches or allocations DuckDB does not track). Past the limit the kernel kills the worker.
/// Works with cgroup v2 and with v1's memory hierarchy; where neither is writable (a laptop run
/// without root) <see cref="WorkerCgroups.TryCreate"/> returns null and DuckDB's limit is what remains.
/// </summary>
public sealed class WorkerCgroup : IAsyncDisposable
{
    private readonly bool _v2;

    internal WorkerCgroup(string path, bool v2, long limitBytes)
    {
        Path = path;
        _v2 = v2;
        LimitBytes = limitBytes;
    }

    /// <summary>The group's folder, e.g. /sys/fs/cgroup/memory/opensciserver-queries/&lt;id&gt;.</summary>
    public string Path { get; }

    public long LimitBytes { get; }

    /// <summary>
    /// Wraps a command so that the process enters the group before it becomes the command: the shell
    /// writes its own pid into cgroup.procs and then execs, so nothing runs outside the limit.
    /// </summary>
    public (string File, List<string> Args) Wrap(string file, IEnumerable<string> args) =>
        ("/bin/sh", ["-c", "echo $$ > \"$0/cgroup.procs\" && exec \"$@\"", Path, file, .. args]);

    /// <summary>Whether the kernel killed a process of the group for going over the limit.</summary>
    public bool OutOfMemory()
    {
        try
        {
            if (_v2)
            {
                var events = File.ReadAllText(System.IO.Path.Combine(Path, "memory.events"));
                return Counter(events, "oom_kill") > 0;
            }

            // v1 counts OOM kills since kernel 4.13 (memory.failcnt would also count page-cache reclaim, which is harmless).
            return Counter(File.ReadAllText(System.IO.Path.Combine(Path, "memory.oom_control")), "oom_kill") > 0;
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>Kills whatever is left in the group and removes it.</summary>
    public async ValueTask DisposeAsync()
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            try
            {
                foreach (var line in File.ReadAllLines(System.IO.Path.Combine(Path, "cgroup.procs")))
                {
                    if (int.TryParse(line, CultureInfo.InvariantCulture, out var pid))
                    {
                        WorkerCgroups.KillProcess(pid);
                    }
                }

                Directory.Delete(Path);
                return;
            }
            catch (DirectoryNotFoundException)
            {
                return;
            }
            catch (IOException)
            {
                // Busy until the killed processes are reaped; try again shortly.
                await Task.Delay(20);
            }
        }
    }

    private static long Counter(string text, string name)
    {
        var match = Regex.Match(text, $@"(?m)^{name}\s+(\d+)");
        return match.Success ? long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
    }
}

/// <summary>Creates <see cref="WorkerCgroup"/>s under one parent group of the platform's.</summary>
public static partial class WorkerCgroups
{
    private const string ParentName = "opensciserver-queries";

    private static readonly Lazy<(string Parent, bool V2)?> Parent = new(FindParent);

    /// <summary>Whether this machine lets the platform limit workers' memory with control groups.</summary>
    public static bool Available => Parent.Value is not null;

    /// <summary>A new group with the given memory limit (swap included where the kernel can), or null where control groups are not writable.</summary>
    public static WorkerCgroup? TryCreate(long limitBytes)
    {
        if (Parent.Value is not { } parent)
        {
            return null;
        }

        var path = System.IO.Path.Combine(parent.Parent, Guid.NewGuid().ToString("N"));
        try
        {
            Directory.CreateDirectory(path);
            var limit = limitBytes.ToString(CultureInfo.InvariantCulture);
            if (parent.V2)
            {
                File.WriteAllText(System.IO.Path.Combine(path, "memory.max"), limit);
                TryWrite(System.IO.Path.Combine(path, "memory.swap.max"), "0");
            }
            else
            {
                File.WriteAllText(System.IO.Path.Combine(path, "memory.limit_in_bytes"), limit);
                TryWrite(System.IO.Path.Combine(path, "memory.memsw.limit_in_bytes"), limit);
                TryWrite(System.IO.Path.Combine(path, "memory.swappiness"), "0");
            }

            return new WorkerCgroup(path, parent.V2, limitBytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try
            {
                Directory.Delete(path);
            }
            catch (IOException)
            {
            }

            return null;
        }
    }

    internal static void KillProcess(int pid)
    {
        _ = Kill(pid, 9);
    }

    private static (string, bool)? FindParent()
    {
        // cgroup v2: the unified hierarchy at /sys/fs/cgroup with the memory controller.
        if (File.Exists("/sys/fs/cgroup/cgroup.controllers")
            && File.ReadAllText("/sys/fs/cgroup/cgroup.controllers").Split(' ', StringSplitOptions.TrimEntries).Contains("memory"))
        {
            var parent = "/sys/fs/cgroup/" + ParentName;
            if (TryPrepare(parent, v2: true))
            {
                return (parent, true);
            }
        }

        if (File.Exists("/sys/fs/cgroup/memory/memory.limit_in_bytes"))
        {
            var parent = "/sys/fs/cgroup/memory/" + ParentName;
            if (TryPrepare(parent, v2: false))
            {
                return (parent, false);
            }
        }

        return null;
    }

    private static bool TryPrepare(string parent, bool v2)
    {
        try
        {
            Directory.CreateDirectory(parent);
            if (v2)
            {
                // Children of the parent get the memory controller.
                File.WriteAllText(System.IO.Path.Combine(parent, "cgroup.subtree_control"), "+memory");
            }

            // Prove a child group can be made and removed here.
            var probe = System.IO.Path.Combine(parent, "probe-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
            Directory.CreateDirectory(probe);
            Directory.Delete(probe);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static void TryWrite(string file, string value)
    {
        try
        {
            File.WriteAllText(file, value);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Not every kernel has swap accounting; the memory limit itself is what matters.
        }
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
