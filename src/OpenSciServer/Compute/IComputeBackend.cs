namespace OpenSciServer.Compute;

/// <summary>The backends by name, as domains name them.</summary>
public static class ComputeBackends
{
    /// <summary>Sandboxed processes on the platform's own machine.</summary>
    public const string Local = nameof(Local);

    /// <summary>A job on a Slurm cluster (another branch).</summary>
    public const string Slurm = nameof(Slurm);

    public static readonly IReadOnlyList<string> Known = [Local, Slurm];
}

/// <summary>A folder the session sees, and where.</summary>
/// <param name="Source">The folder on the machine (or the shared file system).</param>
/// <param name="Target">Where it appears inside, e.g. /home/idies/workspace/Storage/alice/persistent.</param>
public sealed record SessionMount(string Source, string Target, bool Writable);

/// <summary>Everything a backend needs to start one session; the platform prepared the files and checked every right.</summary>
public sealed record SessionLaunch(
    Guid SessionId,
    int Generation,
    string UserName,
    int Uid,
    int Gid,
    ComputeImage Image,
    ComputeDomain Domain,
    IReadOnlyList<SessionMount> Mounts,
    string HomeFolder,
    string BaseUrl,
    string JupyterToken,
    TimeSpan Lifetime);

/// <summary>Where a launched session stands, as its backend sees it.</summary>
public enum BackendStatus
{
    /// <summary>Accepted but not running yet (a Slurm job in the queue).</summary>
    Pending,
    /// <summary>Its processes run; <see cref="BackendState.Host"/> and <see cref="BackendState.Port"/> say where Jupyter listens.</summary>
    Running,
    /// <summary>Nothing of it is left.</summary>
    Gone,
}

/// <param name="Reason">For Pending: the scheduler's reason; for Gone: what is known about the end.</param>
public sealed record BackendState(BackendStatus Status, string? Host = null, int? Port = null, string? Reason = null);

/// <summary>What a start returns: the backend's handle, and the address if already known.</summary>
public sealed record BackendHandle(string BackendId, string? Host, int? Port);

/// <summary>
/// Runs sessions somewhere: the platform's own machine (Local), a Slurm cluster, later Kubernetes. The
/// platform keeps the state (the database row is the truth) and calls these; a backend keeps nothing it
/// cannot find again from <c>backendId</c> after a platform restart. Implementations are registered with
/// TryAddEnumerable and picked by <see cref="Name"/>, which a domain names.
/// </summary>
public interface IComputeBackend
{
    /// <summary>One of <see cref="ComputeBackends"/>.</summary>
    string Name { get; }

    /// <summary>Whether this backend can run here at all, and if not, why (for the user).</summary>
    string? Unavailable { get; }

    /// <summary>Starts the session; returns as soon as it is submitted (the platform then polls <see cref="GetStateAsync"/>).</summary>
    /// <exception cref="Infrastructure.PlatformException">The backend refused it, with a reason for the user.</exception>
    Task<BackendHandle> StartAsync(SessionLaunch launch, CancellationToken cancellationToken);

    /// <summary>Where a session stands; also used after a platform restart to adopt or forget sessions.</summary>
    Task<BackendState> GetStateAsync(Guid sessionId, string backendId, CancellationToken cancellationToken);

    /// <summary>Stops the session and every process it started; idempotent.</summary>
    Task StopAsync(Guid sessionId, string backendId, CancellationToken cancellationToken);

    /// <summary>
    /// At platform start: ends whatever this platform started earlier that no session row claims any
    /// more (a session deleted while the platform was down, a start interrupted by a crash).
    /// </summary>
    Task RemoveOrphansAsync(IReadOnlyCollection<string> keep, CancellationToken cancellationToken);

    /// <summary>Removes what the backend keeps of a deleted (and stopped) session: its private files. Idempotent.</summary>
    Task ForgetAsync(Guid sessionId, CancellationToken cancellationToken) => Task.CompletedTask;
}
