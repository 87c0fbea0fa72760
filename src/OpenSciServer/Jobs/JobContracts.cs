using OpenSciServer.Accounts;

namespace OpenSciServer.Jobs;

/// <summary>A job's status as SciServer's JOBM bit flags; <see cref="Success"/> and above are final.</summary>
[Flags]
public enum JobStatus
{
    None = 0,
    Pending = 1,
    Queued = 2,
    Accepted = 4,
    Started = 8,
    Finished = 16,
    Success = 32,
    Error = 64,
    Canceled = 128,
}

/// <summary>A shell script, or a notebook executed headless with its parameters string.</summary>
public enum JobKind
{
    Command = 0,
    Notebook = 1,
}

/// <summary>A user volume a job mounts (as a session does).</summary>
public sealed record JobUserVolume(string RootVolume, string Owner, string Name, bool Writable);

/// <summary>
/// Everything a user chooses for one job; what the New Job form, the native API, JOBM and a schedule's
/// run all submit.
/// </summary>
/// <param name="Command">Command jobs: the shell script text. Notebook jobs: unused.</param>
/// <param name="NotebookPath">Notebook jobs: the notebook as seen inside, e.g. /home/idies/workspace/Storage/alice/persistent/x.ipynb.</param>
/// <param name="Parameters">Notebook jobs: the parameters string (parameters.txt).</param>
/// <param name="TimeLimit">Null: the domain's.</param>
/// <param name="WorkingDirectory">A folder inside a writable user volume, as seen inside; null: a new unique folder under Temporary/&lt;user&gt;/jobs/.</param>
public sealed record JobSubmission(
    JobKind Kind,
    string? Command,
    string? NotebookPath,
    string? Parameters,
    string Domain,
    string Image,
    IReadOnlyList<string> DataVolumes,
    IReadOnlyList<JobUserVolume> UserVolumes,
    TimeSpan? TimeLimit = null,
    string? WorkingDirectory = null,
    string? Name = null);

/// <summary>How schedules (cron jobs) submit runs and learn whether the previous one still runs.</summary>
public interface IJobSubmitter
{
    /// <summary>Checks every right and input as a submit would, without submitting (schedule creation).</summary>
    /// <exception cref="Infrastructure.PlatformException">What is wrong, for the user.</exception>
    Task ValidateAsync(Caller owner, JobSubmission submission, CancellationToken cancellationToken);

    /// <summary>Submits one job as <paramref name="owner"/>; <paramref name="scheduleId"/> links a schedule's run to it.</summary>
    /// <returns>The new job's id.</returns>
    Task<long> SubmitAsync(Caller owner, JobSubmission submission, long? scheduleId, CancellationToken cancellationToken);

    /// <summary>The job's status, or null if it no longer exists.</summary>
    Task<JobStatus?> GetStatusAsync(long jobId, CancellationToken cancellationToken);
}
