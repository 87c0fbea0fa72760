using OpenSciServer.Infrastructure;

namespace OpenSciServer.CasJobs.Engines;

/// <summary>
/// A memory control group for one query worker: the operating system's own limit on everything the
/// worker allocates (DuckDB's memory_limit covers only DuckDB's buffer manager, not the runtime, the
/// result batches or allocations DuckDB does not track). Past the limit the kernel kills the worker.
/// Where control groups are not writable (a laptop run without root) <see cref="WorkerCgroups.TryCreate"/>
/// returns null and DuckDB's limit is what remains.
/// </summary>
public sealed class WorkerCgroup : IAsyncDisposable
{
    private readonly ControlGroup _group;

    internal WorkerCgroup(ControlGroup group, long limitBytes)
    {
        _group = group;
        LimitBytes = limitBytes;
    }

    /// <summary>The group's folder, e.g. /sys/fs/cgroup/memory/opensciserver-queries/&lt;id&gt;.</summary>
    public string Path => _group.Folders[0];

    public long LimitBytes { get; }

    /// <summary>Wraps a command so that the process enters the group before it becomes the command (the shell enters, then execs).</summary>
    public (string File, List<string> Args) Wrap(string file, IEnumerable<string> args) =>
        ("/bin/sh", ["-c", _group.EnterScript() + " && exec \"$@\"", "sh", file, .. args]);

    /// <summary>Whether the kernel killed a process of the group for going over the limit.</summary>
    public bool OutOfMemory() => _group.OutOfMemoryKills() > 0;

    /// <summary>Kills whatever is left in the group and removes it.</summary>
    public async ValueTask DisposeAsync() => await _group.KillAndRemoveAsync(CancellationToken.None);
}

/// <summary>Creates <see cref="WorkerCgroup"/>s under the platform's parent group for query workers.</summary>
public static class WorkerCgroups
{
    private static readonly ControlGroupFamily Family = new("opensciserver-queries", processes: false);

    /// <summary>Whether this machine lets the platform limit workers' memory with control groups.</summary>
    public static bool Available => Family.Unavailable is null;

    /// <summary>A new group with the given memory limit (swap included where the kernel can), or null where control groups are not writable.</summary>
    public static WorkerCgroup? TryCreate(long limitBytes)
    {
        if (!Available)
        {
            return null;
        }

        var name = Guid.NewGuid().ToString("N");
        try
        {
            return new WorkerCgroup(Family.Create(name, new ControlGroupLimits(limitBytes)), limitBytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            if (Family.Open(name) is { } half)
            {
                try
                {
                    Directory.Delete(half.Folders[0]);
                }
                catch (IOException)
                {
                }
            }

            return null;
        }
    }
}
