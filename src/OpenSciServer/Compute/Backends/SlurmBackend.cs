using System.Globalization;
using System.Text;
using Microsoft.Extensions.Options;
using OpenSciServer.Compute.Slurm;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.Compute.Backends;

/// <summary>
/// Sessions as Slurm batch jobs (docs/decisions/0011-slurm-sessions.md). The platform writes a job
/// script and the sandbox's files into the session's root-only folder on the shared file system and
/// submits it with sbatch (partition, CPUs, memory and the domain's maximum lifetime as walltime). On
/// the node the script picks a free port, writes "job host port" into that folder, and runs Jupyter in
/// the very sandbox of the local backend (<see cref="Sandbox"/>: bubblewrap, then setpriv to the
/// user's uid). The job id is the backend id; the job's name carries the platform instance, the
/// session and the start, so leftovers are found again after a restart.
/// </summary>
internal sealed partial class SlurmBackend(
    SlurmClient slurm,
    IOptions<ComputeOptions> options,
    IOptions<PlatformOptions> platform,
    ILogger<SlurmBackend> logger) : IComputeBackend
{
    /// <summary>The file the job writes when it has chosen its port: "jobid host port".</summary>
    public const string EndpointFile = "endpoint";

    /// <summary>The file the job writes when Jupyter ended: its exit code.</summary>
    public const string ExitFile = "exit";

    private const string AddressPlaceholder = "--ip=@ADDR@";
    private const string PortPlaceholder = "--port=@PORT@";

    public string Name => ComputeBackends.Slurm;

    public string? Unavailable
    {
        get
        {
            if (Native.GetEffectiveUserId() != 0)
            {
                return "The Slurm compute backend needs the platform to run as root, to submit each session's job for its user's uid.";
            }

            return slurm.Unavailable;
        }
    }

    /// <summary>Where the sessions' job folders live (shared with the nodes).</summary>
    public string SharedFolder => string.IsNullOrWhiteSpace(slurm.Options.SharedFolder)
        ? Path.Combine(platform.Value.DataPath, "compute", "slurm")
        : slurm.Options.SharedFolder;

    /// <summary>The platform's root-only folder of one session on the shared file system (job script, sandbox files, endpoint, logs).</summary>
    public string SessionFolder(Guid sessionId) => Path.Combine(SharedFolder, sessionId.ToString("N"));

    /// <summary>The session's folder on the shared file system (job script, endpoint file, log) goes with the session.</summary>
    public Task ForgetAsync(Guid sessionId, CancellationToken cancellationToken)
    {
        try
        {
            if (Directory.Exists(SessionFolder(sessionId)))
            {
                Directory.Delete(SessionFolder(sessionId), recursive: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A job still writing its log on a slow shared file system: the next delete or an operator removes it.
        }

        return Task.CompletedTask;
    }

    /// <summary>Every job of this platform starts its name with this (several platforms may share a cluster).</summary>
    public string JobNamePrefix => $"oss-{InstancePrefix}-";

    public string JobName(Guid sessionId, int generation) =>
        $"{JobNamePrefix}{sessionId:N}-{generation.ToString(CultureInfo.InvariantCulture)}";

    public async Task<BackendHandle> StartAsync(SessionLaunch launch, CancellationToken cancellationToken)
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

        var name = JobName(launch.SessionId, launch.Generation);
        try
        {
            // One job per session, ever: a job of an interrupted earlier start that still waits in the
            // queue is kept (it reads the files written below when it starts), any other is cancelled.
            string? adopted = null;
            foreach (var job in await slurm.ListJobsAsync($"{JobNamePrefix}{launch.SessionId:N}-", cancellationToken))
            {
                if (job.IsFinished)
                {
                    continue;
                }

                if (adopted is null && job.Name == name && job.IsPending)
                {
                    adopted = job.Id;
                    continue;
                }

                await slurm.CancelAsync(job.Id, cancellationToken);
            }

            var folder = PrepareFolder(launch);
            if (adopted is not null)
            {
                LogAdoptedPending(logger, launch.SessionId, adopted);
                return new BackendHandle(adopted, null, null);
            }

            var id = await slurm.SubmitAsync(new SlurmSubmission(Path.Combine(folder, "session.sh"), name)
            {
                Comment = $"OpenSciServer {InstancePrefix} session {launch.SessionId} of {launch.UserName}",
                Partition = partition,
                CpusPerTask = Math.Max(1, (int)Math.Ceiling(launch.Domain.Cpus)),
                MemoryMegabytes = Math.Max(1, (launch.Domain.MemoryBytes + (1 << 20) - 1) >> 20),
                TimeLimit = launch.Domain.MaxLifetime,
                WorkingDirectory = folder,
                OutputPath = Path.Combine(folder, "slurm.log"),
            }, cancellationToken);
            LogSubmitted(logger, launch.SessionId, launch.UserName, id);
            return new BackendHandle(id, null, null);
        }
        catch (SlurmException e)
        {
            throw PlatformException.Invalid(e.ControllerUnreachable
                ? $"Slurm's controller does not answer, so the session could not be queued; try again later, or ask the administrators. ({e.Message})"
                : $"Slurm did not accept the session: {e.Message}");
        }
    }

    public async Task<BackendState> GetStateAsync(Guid sessionId, string backendId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(backendId);
        SlurmJob? job;
        try
        {
            job = await slurm.GetJobAsync(backendId, cancellationToken);
        }
        catch (SlurmException e)
        {
            // The controller restarting is not the end of its jobs: if the job told us where its Jupyter is, the probe decides.
            LogStateUnknown(logger, sessionId, backendId, e.Message);
            return ReadEndpoint(sessionId, backendId) is { } where
                ? new BackendState(BackendStatus.Running, where.Host, where.Port)
                : new BackendState(BackendStatus.Pending, Reason: $"Slurm's controller does not answer at the moment ({e.Message}).");
        }

        if (job is null)
        {
            return new BackendState(BackendStatus.Gone, Reason: EndReason(sessionId, backendId, null));
        }

        if (job.IsPending || job.IsSuspended)
        {
            return new BackendState(BackendStatus.Pending, Reason: QueueReason(job));
        }

        if (job.IsRunning)
        {
            return ReadEndpoint(sessionId, backendId) is { } where
                ? new BackendState(BackendStatus.Running, where.Host, where.Port)
                : new BackendState(BackendStatus.Running, Reason: $"Running on {job.Nodes}; Jupyter is starting.");
        }

        return new BackendState(BackendStatus.Gone, Reason: EndReason(sessionId, backendId, job));
    }

    public async Task StopAsync(Guid sessionId, string backendId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(backendId);
        try
        {
            await slurm.CancelAsync(backendId, cancellationToken);
            LogStopped(logger, sessionId, backendId);
        }
        catch (SlurmException e)
        {
            // The session is already marked ended and its token revoked; the job ends at the latest at its
            // walltime, and the next platform start cancels it (RemoveOrphansAsync).
            LogStopFailed(logger, sessionId, backendId, e.Message);
        }
    }

    public async Task RemoveOrphansAsync(IReadOnlyCollection<string> keep, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keep);
        try
        {
            foreach (var job in await slurm.ListJobsAsync(JobNamePrefix, cancellationToken))
            {
                if (!job.IsFinished && !keep.Contains(job.Id))
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

    /// <summary>The job script: shell-quoted arguments only, generated from the same sandbox as the local backend.</summary>
    internal string JobScript(SessionLaunch launch, string folder)
    {
        var command = launch.Image.JupyterCommand.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        command.AddRange([
            "--no-browser",
            AddressPlaceholder,
            PortPlaceholder,
            "--port-retries=0",
            $"--NotebookApp.base_url={launch.BaseUrl}",
            $"--NotebookApp.notebook_dir={Sandbox.Workspace}",
        ]);
        var spec = new SandboxSpec(launch.UserName, launch.Uid, launch.Gid, launch.HomeFolder, launch.Mounts, folder, command)
        {
            WorkingDirectory = Sandbox.Workspace,
            ReadOnlyBinds = [new SessionMount(Path.Combine(folder, "jupyter"), LocalBackend.JupyterConfigDir, Writable: false)],
            Environment = new Dictionary<string, string>
            {
                ["JUPYTER_CONFIG_DIR"] = LocalBackend.JupyterConfigDir,
                ["SCISERVER_SESSION"] = launch.SessionId.ToString(),
            },
        };
        var sandbox = new List<string> { options.Value.BubblewrapPath };
        sandbox.AddRange(Sandbox.Arguments(spec, options.Value));
        var line = string.Join(" \\\n  ", sandbox.Select(a => a switch
        {
            AddressPlaceholder => "\"--ip=$ADDR\"",
            PortPlaceholder => "\"--port=$PORT\"",
            _ => Quote(a),
        }));

        var script = new StringBuilder();
        script.Append("#!/bin/sh\n");
        script.Append(CultureInfo.InvariantCulture, $"# OpenSciServer: compute session {launch.SessionId}, start {launch.Generation}, of {launch.UserName} (uid {launch.Uid}).\n");
        script.Append("# Generated by the platform. Runs as root on the node; the sandbox drops to the user's uid.\n");
        script.Append("umask 077\n");
        script.Append(CultureInfo.InvariantCulture, $"DIR={Quote(folder)}\n");
        script.Append("rm -f \"$DIR/" + EndpointFile + "\" \"$DIR/" + ExitFile + "\"\n");
        script.Append("ADDR=$(getent ahostsv4 \"$(hostname)\" | awk 'NR==1 {print $1}')\n");
        script.Append("[ -n \"$ADDR\" ] || ADDR=127.0.0.1\n");
        script.Append("PORT=$(/usr/bin/python3 -I -c 'import socket; s = socket.socket(); s.bind((\"\", 0)); print(s.getsockname()[1])') || { echo 'no free port' >&2; exit 1; }\n");
        script.Append("printf '%s %s %s\\n' \"$SLURM_JOB_ID\" \"$ADDR\" \"$PORT\" > \"$DIR/" + EndpointFile + ".tmp\" && mv \"$DIR/" + EndpointFile + ".tmp\" \"$DIR/" + EndpointFile + "\"\n");
        script.Append(line).Append(" \\\n  >>\"$DIR/jupyter.log\" 2>&1 </dev/null\n");
        script.Append("code=$?\n");
        script.Append("echo \"$code\" > \"$DIR/" + ExitFile + "\"\n");
        script.Append("exit \"$code\"\n");
        return script.ToString();
    }

    /// <summary>Single-quoted for sh: nothing inside is interpreted.</summary>
    internal static string Quote(string value) => "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    private string PrepareFolder(SessionLaunch launch)
    {
        var shared = Directory.CreateDirectory(SharedFolder).FullName;
        SetMode(shared, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var folder = Directory.CreateDirectory(SessionFolder(launch.SessionId)).FullName;
        SetMode(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        foreach (var stale in new[] { EndpointFile, ExitFile })
        {
            File.Delete(Path.Combine(folder, stale));
        }

        LocalBackend.WriteSandboxFiles(folder, launch);
        var script = Path.Combine(folder, "session.sh");
        File.WriteAllText(script, JobScript(launch, folder));
        SetMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return folder;
    }

    private (string Host, int Port)? ReadEndpoint(Guid sessionId, string backendId)
    {
        try
        {
            var path = Path.Combine(SessionFolder(sessionId), EndpointFile);
            if (!File.Exists(path))
            {
                return null;
            }

            var f = File.ReadAllText(path).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            return f.Length == 3 && f[0] == backendId && System.Net.IPAddress.TryParse(f[1], out _)
                && int.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and < 65536
                ? (f[1], port) : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>The scheduler's reason for the user, with Slurm's own word for the administrators.</summary>
    internal static string QueueReason(SlurmJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (job.IsSuspended)
        {
            return $"Suspended in Slurm ({job.State}) by the cluster's administrators.";
        }

        var reason = job.ReasonOrNull;
        var explained = reason switch
        {
            null => "waiting for the scheduler",
            "Resources" => "waiting for a node with enough free CPUs and memory",
            "Priority" => "other jobs come first",
            "PartitionDown" => "the partition is down",
            "PartitionInactive" => "the partition is inactive",
            "PartitionConfig" => "it asks for more than the partition's nodes have (CPUs or memory)",
            "PartitionNodeLimit" or "PartitionTimeLimit" => "it asks for more than the partition allows",
            "ReqNodeNotAvail" or "NodeDown" => "the nodes it needs are not available (down, drained or reserved)",
            "BeginTime" => "it may not start yet",
            "Dependency" => "it waits for another job",
            "JobHeldAdmin" => "an administrator holds it",
            "JobHeldUser" => "it is held",
            "BadConstraints" => "no node can satisfy what it asks for",
            "Reservation" => "it waits for a reservation",
            "Licenses" => "it waits for licenses",
            _ when reason.StartsWith("QOS", StringComparison.Ordinal) || reason.StartsWith("Assoc", StringComparison.Ordinal)
                => "a limit of the account or quality of service is reached",
            _ => "waiting for the scheduler",
        };
        var where = string.IsNullOrEmpty(job.Partition) ? "" : $" (partition '{job.Partition}')";
        return $"Queued in Slurm{where}: {explained}" + (reason is null ? "." : $" [{job.State}, reason {reason}].");
    }

    private string EndReason(Guid sessionId, string backendId, SlurmJob? job)
    {
        var parts = new List<string>();
        parts.Add(job is null
            ? $"Slurm no longer knows its job {backendId}."
            : job.State switch
            {
                "CANCELLED" => $"Its Slurm job {backendId} was cancelled.",
                "TIMEOUT" => $"Its Slurm job {backendId} reached its walltime (the domain's maximum lifetime).",
                "OUT_OF_MEMORY" => $"Its Slurm job {backendId} ran out of memory (the domain's memory limit).",
                "NODE_FAIL" => $"The node of its Slurm job {backendId} failed.",
                "PREEMPTED" => $"Its Slurm job {backendId} was preempted by the scheduler.",
                _ => $"Its Slurm job {backendId} ended ({job.State}" + (job.ReasonOrNull is { } r ? $", {r}" : "") + ").",
            });
        var folder = SessionFolder(sessionId);
        try
        {
            var exit = Path.Combine(folder, ExitFile);
            if (File.Exists(exit))
            {
                parts.Add($"Jupyter exited with code {File.ReadAllText(exit).Trim()}.");
            }

            foreach (var log in new[] { "jupyter.log", "slurm.log" })
            {
                var path = Path.Combine(folder, log);
                if (File.Exists(path))
                {
                    var tail = string.Join(" | ", File.ReadLines(path).Where(l => l.Trim().Length > 0).TakeLast(2).Select(l => l.Length > 300 ? l[..300] : l)).Trim();
                    if (tail.Length > 0)
                    {
                        parts.Add($"Last words ({log}): {tail}");
                        break;
                    }
                }
            }
        }
        catch (IOException)
        {
        }

        return string.Join(" ", parts);
    }

    /// <summary>Derived from the data directory like the local backend's: the same platform after a restart has the same prefix.</summary>
    private string InstancePrefix => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(platform.Value.DataPath)))[..10];

    private static void SetMode(string path, UnixFileMode mode)
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, mode);
        }
    }

    [LoggerMessage(1570, LogLevel.Information, "Session {SessionId} of {UserName} submitted to Slurm as job {JobId}")]
    private static partial void LogSubmitted(ILogger logger, Guid sessionId, string userName, string jobId);

    [LoggerMessage(1571, LogLevel.Information, "Session {SessionId}: its Slurm job {JobId} was cancelled")]
    private static partial void LogStopped(ILogger logger, Guid sessionId, string jobId);

    [LoggerMessage(1572, LogLevel.Warning, "Session {SessionId}: its Slurm job {JobId} could not be cancelled now: {Error}")]
    private static partial void LogStopFailed(ILogger logger, Guid sessionId, string jobId, string error);

    [LoggerMessage(1573, LogLevel.Warning, "Cancelled the Slurm job {JobId} ({JobName}), which no session claims")]
    private static partial void LogOrphanCancelled(ILogger logger, string jobId, string jobName);

    [LoggerMessage(1574, LogLevel.Warning, "Could not look for Slurm jobs that no session claims: {Error}")]
    private static partial void LogOrphansFailed(ILogger logger, string error);

    [LoggerMessage(1575, LogLevel.Warning, "Session {SessionId}: Slurm could not say how its job {JobId} stands: {Error}")]
    private static partial void LogStateUnknown(ILogger logger, Guid sessionId, string jobId, string error);

    [LoggerMessage(1576, LogLevel.Information, "Session {SessionId}: its job {JobId} of an interrupted start still waits in Slurm's queue: kept")]
    private static partial void LogAdoptedPending(ILogger logger, Guid sessionId, string jobId);
}
