using System.Globalization;
using System.Text;
using Microsoft.Extensions.Options;
using OpenSciServer.Compute;
using OpenSciServer.Compute.Backends;
using OpenSciServer.Compute.Slurm;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.Jobs;

/// <summary>
/// Jobs as Slurm batch jobs (docs/decisions/0012-compute-jobs.md, "Jobs on Slurm"). Like Slurm sessions
/// (0011) the job is submitted as root and its script runs the very sandbox of the local job backend
/// (<see cref="JobSandbox"/>: bubblewrap, then setpriv to the user's uid) on the node, so the wrapper
/// writes stdout.txt, stderr.txt and exitcode.txt into the job directory on the shared file system.
/// The Slurm job id is the backend id. The job's name <c>ossjob-&lt;instance&gt;-&lt;job&gt;-&lt;attempt&gt;</c>
/// (and its comment) is the marker that finds a start again after a crash; it never begins with the
/// session backend's <c>oss-&lt;instance&gt;-</c>, so neither backend's orphan clean-up touches the other's jobs.
/// </summary>
internal sealed partial class SlurmJobBackend(
    SlurmClient slurm,
    IOptions<ComputeOptions> options,
    IOptions<PlatformOptions> platform,
    ILogger<SlurmJobBackend> logger) : IJobBackend
{
    /// <summary>The file the job script writes on the node before the sandbox starts: "slurm-job-id attempt".</summary>
    public const string StartedFile = "started";

    public string Name => ComputeBackends.Slurm;

    public string? Unavailable => Native.GetEffectiveUserId() != 0
        ? "The Slurm compute backend needs the platform to run as root, to start each job as its user's own uid."
        : slurm.Unavailable;

    /// <summary>Every job of this platform starts its name with this (several platforms may share a cluster).</summary>
    public string JobNamePrefix => $"ossjob-{InstancePrefix}-";

    public string JobName(long jobId, int attempt) =>
        $"{JobNamePrefix}{jobId.ToString(CultureInfo.InvariantCulture)}-{attempt.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>The platform's root-only folder of one job on the shared file system: job script, sandbox files, Slurm's log.</summary>
    public string PrivateFolder(long jobId) => Path.Combine(SharedFolder, "jobs", jobId.ToString(CultureInfo.InvariantCulture));

    private string SharedFolder => string.IsNullOrWhiteSpace(slurm.Options.SharedFolder)
        ? Path.Combine(platform.Value.DataPath, "compute", "slurm")
        : slurm.Options.SharedFolder;

    private string InstancePrefix => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(platform.Value.DataPath)))[..10];

    public async Task<string> StartAsync(JobLaunch launch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(launch);
        if (Unavailable is { } why)
        {
            throw PlatformException.Invalid(why);
        }

        var partition = launch.Domain.Partition;
        if (partition is not null && !partition.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
        {
            throw PlatformException.Invalid($"The domain's Slurm partition '{partition}' is not a partition name.");
        }

        var name = JobName(launch.JobId, launch.Attempt);
        var folder = PrepareFolder(launch);
        var submission = new SlurmSubmission(Path.Combine(folder, "job.sh"), name)
        {
            Comment = $"OpenSciServer {InstancePrefix} job {launch.JobId.ToString(CultureInfo.InvariantCulture)} attempt {launch.Attempt.ToString(CultureInfo.InvariantCulture)} of {launch.UserName}",
            Partition = partition,
            CpusPerTask = Math.Max(1, (int)Math.Ceiling(launch.Domain.Cpus)),
            MemoryMegabytes = Math.Max(1, (launch.Domain.MemoryBytes + (1 << 20) - 1) >> 20),
            TimeLimit = launch.TimeLimit,
            WorkingDirectory = launch.JobDirectory.HostPath,
            OutputPath = Path.Combine(folder, "slurm.log"),
        };
        try
        {
            var id = await slurm.SubmitAsync(submission, cancellationToken);
            LogSubmitted(logger, launch.JobId, launch.UserName, id);
            return id;
        }
        catch (SlurmException e) when (e.ControllerUnreachable)
        {
            // The controller may have taken the job before its answer was lost: a job carrying this start's
            // name is adopted, never submitted a second time.
            try
            {
                if ((await slurm.ListJobsAsync(name, cancellationToken)).FirstOrDefault(j => j.Name == name) is { } accepted)
                {
                    LogSubmitted(logger, launch.JobId, launch.UserName, accepted.Id);
                    return accepted.Id;
                }
            }
            catch (SlurmException)
            {
                // Still unreachable: if it was accepted after all, the next platform start cancels it (RemoveOrphansAsync), and
                // removing the folder below makes it fail at once should it start before that.
            }

            RemoveFolder(launch.JobId);
            throw PlatformException.Invalid($"Slurm's controller does not answer, so the job could not be queued; submit it again later, or ask the administrators. ({e.Message})");
        }
        catch (SlurmException e)
        {
            RemoveFolder(launch.JobId);
            throw PlatformException.Invalid($"Slurm did not accept the job: {e.Message}");
        }
    }

    public async Task<JobBackendState> GetStateAsync(long jobId, string backendId, JobDirectory directory, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(backendId);
        if (JobFiles.ReadExitCode(directory) is { } code)
        {
            return new JobBackendState(JobBackendStatus.Finished, code);
        }

        SlurmJob? job;
        try
        {
            var id = await ResolveAsync(backendId, cancellationToken);
            if (id is null)
            {
                // A start adopted by name while the controller did not answer, which Slurm turns out never to have had.
                return new JobBackendState(JobBackendStatus.Gone,
                    Reason: "A platform restart interrupted its submission to Slurm, and Slurm never received it: it did not run. Submit it again.");
            }

            backendId = id;
            job = await slurm.GetJobAsync(id, cancellationToken);
        }
        catch (SlurmException e)
        {
            // The controller being away is not the end of the job: the node's own word (the started file) says whether it runs.
            LogStateUnknown(logger, jobId, backendId, e.Message);
            return ReadStarted(jobId) is { } started && started.SlurmId == backendId
                ? new JobBackendState(JobBackendStatus.Running, Reason: $"Slurm's controller does not answer at the moment ({e.Message}).")
                : new JobBackendState(JobBackendStatus.Queued, Reason: $"Slurm's controller does not answer at the moment ({e.Message}).");
        }

        if (job is not null && (job.IsPending || job.IsSuspended))
        {
            return new JobBackendState(JobBackendStatus.Queued, Reason: SlurmBackend.QueueReason(job));
        }

        if (job is not null && job.IsRunning)
        {
            return new JobBackendState(JobBackendStatus.Running);
        }

        // Ended (or forgotten): the wrapper may have written the code just after the first look.
        return JobFiles.ReadExitCode(directory) is { } late
            ? new JobBackendState(JobBackendStatus.Finished, late)
            : new JobBackendState(JobBackendStatus.Gone, Reason: EndReason(jobId, backendId, job));
    }

    public async Task CancelAsync(long jobId, string backendId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(backendId);
        try
        {
            if (await ResolveAsync(backendId, cancellationToken) is { } id)
            {
                await slurm.CancelAsync(id, cancellationToken);
            }
        }
        catch (SlurmException e)
        {
            // The job is already marked ended and its token revoked; without its folder (removed below) a start
            // still to come fails at once, one that runs ends at its --time, and the next platform start cancels it.
            LogCancelFailed(logger, jobId, backendId, e.Message);
        }

        RemoveFolder(jobId);
    }

    public async Task<string?> FindAsync(long jobId, int attempt, CancellationToken cancellationToken)
    {
        var name = JobName(jobId, attempt);
        try
        {
            if ((await slurm.ListJobsAsync(name, cancellationToken)).FirstOrDefault(j => j.Name == name) is { } job)
            {
                return job.Id;
            }
        }
        catch (SlurmException e)
        {
            LogFindUnknown(logger, jobId, e.Message);
            // Unknown: the start may sit in Slurm's queue. The name stands for the job until the controller answers
            // (GetStateAsync resolves it); queueing the job again could run it twice.
            return ReadStarted(jobId) is { } began && began.Attempt == attempt ? began.SlurmId : name;
        }

        // Slurm forgets finished jobs after MinJobAge: a start that ran while the platform was down left its mark on the node.
        return ReadStarted(jobId) is { } started && started.Attempt == attempt ? started.SlurmId : null;
    }

    public async Task RemoveOrphansAsync(IReadOnlyCollection<string> keep, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keep);
        try
        {
            foreach (var job in await slurm.ListJobsAsync(JobNamePrefix, cancellationToken))
            {
                if (!job.IsFinished && !keep.Contains(job.Id) && !keep.Contains(job.Name))
                {
                    await slurm.CancelAsync(job.Id, cancellationToken);
                    LogOrphanCancelled(logger, job.Id, job.Name);
                }
            }
        }
        catch (SlurmException e)
        {
            // A platform must start even while the cluster is away; the next start tries again.
            LogOrphansFailed(logger, e.Message);
        }
    }

    /// <summary>The job script: shell-quoted arguments only. Runs as root on the node; the sandbox drops to the user's uid.</summary>
    internal static string JobScript(JobLaunch launch, string folder, IReadOnlyList<string> sandbox)
    {
        var script = new StringBuilder();
        script.Append("#!/bin/sh\n");
        script.Append(CultureInfo.InvariantCulture, $"# OpenSciServer: compute job {launch.JobId}, attempt {launch.Attempt}, of {launch.UserName} (uid {launch.Uid}).\n");
        script.Append("# Generated by the platform. Runs as root on the node; the sandbox drops to the user's uid and writes the job's\n");
        script.Append("# stdout.txt, stderr.txt and exitcode.txt into the job directory. Nothing here writes relative to the working directory.\n");
        script.Append("umask 077\n");
        script.Append(CultureInfo.InvariantCulture, $"DIR={SlurmBackend.Quote(folder)}\n");
        script.Append(CultureInfo.InvariantCulture, $"printf '%s %s\\n' \"$SLURM_JOB_ID\" {launch.Attempt} > \"$DIR/{StartedFile}.tmp\" && mv \"$DIR/{StartedFile}.tmp\" \"$DIR/{StartedFile}\"\n");
        script.Append("exec ").Append(string.Join(" \\\n  ", sandbox.Select(SlurmBackend.Quote))).Append(" \\\n  </dev/null\n");
        return script.ToString();
    }

    private string PrepareFolder(JobLaunch launch)
    {
        const UnixFileMode RootOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        foreach (var parent in new[] { SharedFolder, Path.Combine(SharedFolder, "jobs") })
        {
            SetMode(Directory.CreateDirectory(parent).FullName, RootOnly);
        }

        var folder = Directory.CreateDirectory(PrivateFolder(launch.JobId)).FullName;
        SetMode(folder, RootOnly);
        File.Delete(Path.Combine(folder, StartedFile));
        var sandbox = JobSandbox.Command(launch, folder, options.Value);
        var script = Path.Combine(folder, "job.sh");
        File.WriteAllText(script, JobScript(launch, folder, sandbox));
        SetMode(script, RootOnly);
        return folder;
    }

    /// <summary>A Slurm job id, or (after a restart while the controller was away) the start's job name to look up.</summary>
    private async Task<string?> ResolveAsync(string backendId, CancellationToken cancellationToken)
    {
        if (backendId.Length > 0 && backendId.All(char.IsAsciiDigit))
        {
            return backendId;
        }

        if (!backendId.StartsWith(JobNamePrefix, StringComparison.Ordinal))
        {
            return null;
        }

        return (await slurm.ListJobsAsync(backendId, cancellationToken)).FirstOrDefault(j => j.Name == backendId)?.Id;
    }

    private (string SlurmId, int Attempt)? ReadStarted(long jobId)
    {
        try
        {
            var path = Path.Combine(PrivateFolder(jobId), StartedFile);
            if (!File.Exists(path))
            {
                return null;
            }

            var f = File.ReadAllText(path).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            return f.Length == 2 && f[0].Length > 0 && f[0].All(char.IsAsciiDigit)
                && int.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out var attempt) ? (f[0], attempt) : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private string EndReason(long jobId, string backendId, SlurmJob? job)
    {
        var parts = new List<string>
        {
            job is null
                ? $"Slurm no longer knows its job {backendId}."
                : job.State switch
                {
                    "CANCELLED" => $"Its Slurm job {backendId} was cancelled.",
                    "TIMEOUT" => $"Its Slurm job {backendId} reached its time limit in Slurm (TIMEOUT) and was stopped.",
                    "OUT_OF_MEMORY" => $"Its Slurm job {backendId} ran out of memory (the domain's memory limit).",
                    "NODE_FAIL" => $"The node of its Slurm job {backendId} failed.",
                    "PREEMPTED" => $"Its Slurm job {backendId} was preempted by the scheduler.",
                    _ => $"Its Slurm job {backendId} ended ({job.State}" + (job.ReasonOrNull is { } r ? $", {r}" : "") + ").",
                },
        };
        try
        {
            var log = Path.Combine(PrivateFolder(jobId), "slurm.log");
            if (File.Exists(log))
            {
                var tail = string.Join(" | ", File.ReadLines(log).Where(l => l.Trim().Length > 0).TakeLast(3).Select(l => l.Length > 300 ? l[..300] : l)).Trim();
                if (tail.Length > 0)
                {
                    parts.Add("The sandbox said: " + tail);
                }
            }
        }
        catch (IOException)
        {
        }

        return string.Join(" ", parts);
    }

    private void RemoveFolder(long jobId)
    {
        try
        {
            var folder = PrivateFolder(jobId);
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
        catch (IOException)
        {
        }
    }

    private static void SetMode(string path, UnixFileMode mode)
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, mode);
        }
    }

    [LoggerMessage(1640, LogLevel.Information, "Job {JobId} of {UserName} submitted to Slurm as job {SlurmJobId}")]
    private static partial void LogSubmitted(ILogger logger, long jobId, string userName, string slurmJobId);

    [LoggerMessage(1641, LogLevel.Warning, "Job {JobId}: Slurm could not say how its job {SlurmJobId} stands: {Error}")]
    private static partial void LogStateUnknown(ILogger logger, long jobId, string slurmJobId, string error);

    [LoggerMessage(1642, LogLevel.Warning, "Job {JobId}: its Slurm job {SlurmJobId} could not be cancelled now: {Error}")]
    private static partial void LogCancelFailed(ILogger logger, long jobId, string slurmJobId, string error);

    [LoggerMessage(1643, LogLevel.Warning, "Job {JobId}: Slurm could not say whether its interrupted start reached it ({Error}); it is held by name until it answers")]
    private static partial void LogFindUnknown(ILogger logger, long jobId, string error);

    [LoggerMessage(1644, LogLevel.Warning, "Cancelled the Slurm job {SlurmJobId} ({JobName}), which no job claims")]
    private static partial void LogOrphanCancelled(ILogger logger, string slurmJobId, string jobName);

    [LoggerMessage(1645, LogLevel.Warning, "Could not look for Slurm jobs that no job claims: {Error}")]
    private static partial void LogOrphansFailed(ILogger logger, string error);
}
