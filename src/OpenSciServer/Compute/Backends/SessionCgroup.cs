using OpenSciServer.Infrastructure;

namespace OpenSciServer.Compute.Backends;

/// <summary>
/// The control groups of one local session (<c>opensciserver-sessions/&lt;name&gt;</c>): memory (the
/// kernel's OOM killer acts inside the session only), processes (a fork bomb hits its own ceiling) and
/// CPU time. They hold every process the session starts, so stopping the session means killing what is
/// in its group, and finding a session again after a platform restart means looking at its group.
/// </summary>
public sealed class SessionCgroup
{
    private static readonly ControlGroupFamily Family = new("opensciserver-sessions", processes: true);

    private readonly ControlGroup _group;

    private SessionCgroup(ControlGroup group) => _group = group;

    /// <summary>Why sessions cannot be limited here, or null when they can.</summary>
    public static string? Unavailable => Family.Unavailable;

    public string Name => _group.Name;

    /// <summary>The folders where the session's processes are listed (one on v2; memory, pids and cpu on v1).</summary>
    public IReadOnlyList<string> Folders => _group.Folders;

    /// <summary>Creates the groups with their limits (or opens them again if they exist).</summary>
    public static SessionCgroup Create(string name, long memoryBytes, int maxProcesses, double cpus) =>
        new(Family.Create(name, new ControlGroupLimits(memoryBytes, maxProcesses, cpus)));

    /// <summary>The group of a session started earlier (by this or an earlier platform process), or null where control groups are unavailable.</summary>
    public static SessionCgroup? Open(string name) => Family.Open(name) is { } group ? new SessionCgroup(group) : null;

    /// <summary>The names of existing session groups that start with a prefix.</summary>
    public static IReadOnlyList<string> Names(string prefix) => Family.Names(prefix);

    /// <inheritdoc cref="ControlGroup.EnterScript"/>
    public string EnterScript() => _group.EnterScript();

    /// <summary>The processes in the session's groups.</summary>
    public IReadOnlyList<int> Processes() => _group.Processes();

    /// <summary>How many times the kernel killed a process of the session for its memory limit.</summary>
    public long OutOfMemoryKills() => _group.OutOfMemoryKills();

    /// <summary>Kills every process of the session and removes the groups.</summary>
    public Task KillAndRemoveAsync(CancellationToken cancellationToken) => _group.KillAndRemoveAsync(cancellationToken);
}

internal static partial class Native
{
    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "fchown", SetLastError = true)]
    public static partial int FChown(int fd, int uid, int gid);

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "geteuid")]
    public static partial uint GetEffectiveUserId();
}
