using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Options;
using OpenSciServer.Compute;
using OpenSciServer.Compute.Backends;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.Jobs;

/// <summary>
/// Jobs as sandboxed processes on the platform's own machine: the sessions' bubblewrap sandbox
/// (<see cref="Sandbox"/>) as the user's uid, in control groups with the domain's memory, process and
/// CPU limits, started detached (setsid) so a platform restart or crash does not end them. The control
/// group's name carries the job id and attempt: it is the marker that finds a job again after a crash.
/// </summary>
internal sealed partial class LocalJobBackend(IOptions<ComputeOptions> options, IOptions<PlatformOptions> platform, ILogger<LocalJobBackend> logger) : IJobBackend
{
    public string Name => ComputeBackends.Local;

    public string? Unavailable
    {
        get
        {
            if (Native.GetEffectiveUserId() != 0)
            {
                return "The local compute backend needs the platform to run as root, to start each job as its user's own uid.";
            }

            if (!File.Exists(options.Value.BubblewrapPath) || !File.Exists(options.Value.SetprivPath))
            {
                return $"The local compute backend needs bubblewrap ({options.Value.BubblewrapPath}) and setpriv ({options.Value.SetprivPath}); install the bubblewrap and util-linux packages.";
            }

            return SessionCgroup.Unavailable is { } why ? $"The local compute backend cannot limit jobs: {why}." : null;
        }
    }

    /// <summary>The platform's private folder for one job's sandbox files (passwd, group, the sandbox's own errors). Never mounted.</summary>
    public string PrivateFolder(long jobId) => Path.Combine(platform.Value.DataPath, "compute", "local-jobs", jobId.ToString(CultureInfo.InvariantCulture));

    /// <summary>
    /// This platform's job groups: "job-", a prefix derived from the data directory (several platforms may
    /// share a machine), the job and the attempt. Unlike session groups they do not begin with the bare
    /// prefix, so the session backend's orphan cleanup never touches them.
    /// </summary>
    public string GroupName(long jobId, int attempt) =>
        $"{GroupPrefix}{jobId.ToString(CultureInfo.InvariantCulture)}-{attempt.ToString(CultureInfo.InvariantCulture)}";

    private string GroupPrefix => "job-" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(platform.Value.DataPath)))[..10] + "-";

    public async Task<string> StartAsync(JobLaunch launch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(launch);
        if (Unavailable is { } why)
        {
            throw PlatformException.Invalid(why);
        }

        var name = GroupName(launch.JobId, launch.Attempt);
        var folder = Directory.CreateDirectory(PrivateFolder(launch.JobId)).FullName;
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        var sandbox = JobSandbox.Command(launch, folder, options.Value);
        var group = SessionCgroup.Create(name, launch.Domain.MemoryBytes, launch.Domain.MaxProcesses, launch.Domain.Cpus);
        var started = false;
        try
        {
            // sh enters the control groups, then execs the sandbox; the sandbox's own errors (not the job's
            // output, which the wrapper writes into the job directory) go to the private folder.
            var script = "exec >>\"$LOG\" 2>&1 </dev/null; " + group.EnterScript() + " && exec \"$@\"";
            var psi = new ProcessStartInfo("/usr/bin/setsid", ["-f", "/bin/sh", "-c", script, "sh", .. sandbox])
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = "/",
            };
            psi.Environment.Clear();
            psi.Environment["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin";
            psi.Environment["LOG"] = Path.Combine(folder, "sandbox.log");
            using var process = Process.Start(psi) ?? throw new InvalidOperationException("setsid could not be started.");
            var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
            _ = process.StandardOutput.ReadToEndAsync(cancellationToken);
            await process.WaitForExitAsync(cancellationToken);
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"The sandbox could not be started (exit {process.ExitCode}): {await stderr}");
            }

            // setsid -f returns before its child has entered the groups: the job has begun once it has (or,
            // for a very short one, once its exit code is there).
            for (var i = 0; i < 200 && group.Processes().Count == 0 && JobFiles.ReadExitCode(launch.JobDirectory) is null; i++)
            {
                await Task.Delay(25, cancellationToken);
            }

            if (group.Processes().Count == 0 && JobFiles.ReadExitCode(launch.JobDirectory) is null)
            {
                throw new InvalidOperationException("The sandbox ended at once. " + SandboxWords(launch.JobId));
            }

            started = true;
        }
        finally
        {
            if (!started)
            {
                await group.KillAndRemoveAsync(CancellationToken.None);
            }
        }

        LogStarted(logger, launch.JobId, launch.UserName, launch.Uid);
        return name;
    }

    public Task<JobBackendState> GetStateAsync(long jobId, string backendId, JobDirectory directory, CancellationToken cancellationToken)
    {
        var group = SessionCgroup.Open(backendId);
        var exit = JobFiles.ReadExitCode(directory);
        var oom = group?.OutOfMemoryKills() > 0 ? "It ran out of memory (the domain's memory limit); the kernel stopped a process of it." : null;
        if (exit is { } code)
        {
            return Task.FromResult(new JobBackendState(JobBackendStatus.Finished, code, oom));
        }

        if (group is not null && group.Processes().Count > 0)
        {
            return Task.FromResult(new JobBackendState(JobBackendStatus.Running));
        }

        // The wrapper may have written the code just after the first look.
        exit = JobFiles.ReadExitCode(directory);
        return Task.FromResult(exit is { } late
            ? new JobBackendState(JobBackendStatus.Finished, late, oom)
            : new JobBackendState(JobBackendStatus.Gone, Reason: oom ?? SandboxWords(jobId)));
    }

    public async Task CancelAsync(long jobId, string backendId, CancellationToken cancellationToken)
    {
        if (SessionCgroup.Open(backendId) is { } group)
        {
            await group.KillAndRemoveAsync(cancellationToken);
            if (Exists(backendId))
            {
                // A fork bomb can outlast one round of kills, and the kernel may hold an emptied group for a
                // while: keep at it in the background rather than hold up the dispatcher.
                _ = Task.Run(async () =>
                {
                    for (var i = 0; i < 12 && Exists(backendId); i++)
                    {
                        await group.KillAndRemoveAsync(CancellationToken.None);
                    }
                }, CancellationToken.None);
            }
        }

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

    public Task<string?> FindAsync(long jobId, int attempt, CancellationToken cancellationToken)
    {
        var name = GroupName(jobId, attempt);
        return Task.FromResult(Exists(name) ? name : null);
    }

    private static bool Exists(string name) => SessionCgroup.Names(name).Contains(name, StringComparer.Ordinal);

    public async Task RemoveOrphansAsync(IReadOnlyCollection<string> keep, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keep);
        foreach (var name in SessionCgroup.Names(GroupPrefix))
        {
            if (!keep.Contains(name) && SessionCgroup.Open(name) is { } orphan)
            {
                await orphan.KillAndRemoveAsync(cancellationToken);
                LogOrphanRemoved(logger, name);
            }
        }
    }

    /// <summary>The job's processes (tests).</summary>
    public static IReadOnlyList<int> Processes(string backendId) => SessionCgroup.Open(backendId)?.Processes() ?? [];

    private string? SandboxWords(long jobId)
    {
        try
        {
            var log = Path.Combine(PrivateFolder(jobId), "sandbox.log");
            if (File.Exists(log))
            {
                var tail = string.Join(" | ", File.ReadLines(log).TakeLast(3).Select(l => l.Length > 300 ? l[..300] : l)).Trim();
                return tail.Length == 0 ? null : "The sandbox said: " + tail;
            }
        }
        catch (IOException)
        {
        }

        return null;
    }

    [LoggerMessage(1600, LogLevel.Information, "Job {JobId} of {UserName} started locally as uid {Uid}")]
    private static partial void LogStarted(ILogger logger, long jobId, string userName, int uid);

    [LoggerMessage(1601, LogLevel.Warning, "Removed the leftover job group {Group}, which no unfinished job claims")]
    private static partial void LogOrphanRemoved(ILogger logger, string group);
}
