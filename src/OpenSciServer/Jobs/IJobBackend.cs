using OpenSciServer.Compute;

namespace OpenSciServer.Jobs;

/// <summary>
/// Everything a backend needs to run one job; the platform prepared the files (job directory, home with
/// the token) and checked every right.
/// </summary>
/// <param name="Attempt">The start of this row; with <see cref="JobId"/> the marker that finds the job again after a crash (Slurm: sbatch --comment).</param>
/// <param name="JobDirectory">The job directory on the machine (or the shared file system); the exit code file appears here.</param>
/// <param name="WorkingDirectory">The job directory as seen inside, where the command starts.</param>
/// <param name="Command">What runs as the user inside the sandbox (the platform's wrapper, which writes stdout, stderr and the exit code).</param>
public sealed record JobLaunch(
    long JobId,
    int Attempt,
    string UserName,
    int Uid,
    int Gid,
    ComputeDomain Domain,
    ComputeImage Image,
    IReadOnlyList<SessionMount> Mounts,
    string HomeFolder,
    JobDirectory JobDirectory,
    string WorkingDirectory,
    IReadOnlyList<string> Command,
    IReadOnlyDictionary<string, string> Environment,
    TimeSpan TimeLimit);

public enum JobBackendStatus
{
    /// <summary>Accepted, waiting in the backend's own queue (Slurm PENDING).</summary>
    Queued,
    Running,
    /// <summary>The command ended; <see cref="JobBackendState.ExitCode"/> is from the exit code file.</summary>
    Finished,
    /// <summary>Nothing of it runs and it left no exit code (killed, the machine rebooted...).</summary>
    Gone,
}

/// <param name="Reason">What is known beyond the exit code (out of memory, the sandbox's last words), for the user.</param>
public sealed record JobBackendState(JobBackendStatus Status, int? ExitCode = null, string? Reason = null);

/// <summary>
/// Runs jobs somewhere: the platform's machine (Local), a Slurm cluster. The platform keeps the state
/// (the row is the truth) and polls; a backend keeps nothing it cannot find again after a restart, and
/// every start carries a marker (job id and attempt) so a start whose id never reached the database is
/// found by <see cref="FindAsync"/> instead of being started twice.
/// </summary>
public interface IJobBackend
{
    /// <summary>One of <see cref="ComputeBackends"/>, as domains name them.</summary>
    string Name { get; }

    /// <summary>Whether this backend can run jobs here at all, and if not, why (for the user).</summary>
    string? Unavailable { get; }

    /// <summary>Submits the job and returns the backend's id as soon as it is accepted.</summary>
    Task<string> StartAsync(JobLaunch launch, CancellationToken cancellationToken);

    /// <summary>Where the job stands; the exit code comes from the job directory's exit code file.</summary>
    Task<JobBackendState> GetStateAsync(long jobId, string backendId, JobDirectory directory, CancellationToken cancellationToken);

    /// <summary>Ends every process of the job and what the backend kept of it; idempotent (also the cleanup after a job ended).</summary>
    Task CancelAsync(long jobId, string backendId, CancellationToken cancellationToken);

    /// <summary>The backend id of the given start of a job, if it was started (reconciling a start a crash interrupted), or null.</summary>
    Task<string?> FindAsync(long jobId, int attempt, CancellationToken cancellationToken);

    /// <summary>At platform start: ends what this platform started that no unfinished job claims any more.</summary>
    Task RemoveOrphansAsync(IReadOnlyCollection<string> keep, CancellationToken cancellationToken);
}

/// <summary>The job backends by name.</summary>
public sealed class JobBackendRegistry(IEnumerable<IJobBackend> backends)
{
    private readonly Dictionary<string, IJobBackend> _byName = backends.ToDictionary(b => b.Name, StringComparer.Ordinal);

    public IJobBackend? Find(string name) => _byName.GetValueOrDefault(name);

    public IEnumerable<IJobBackend> All => _byName.Values;
}
