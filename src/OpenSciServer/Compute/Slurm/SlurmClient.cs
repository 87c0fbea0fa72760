using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Options;

namespace OpenSciServer.Compute.Slurm;

/// <summary>A job as <c>squeue</c> sees it.</summary>
/// <param name="State">Slurm's state name: PENDING, RUNNING, COMPLETING, COMPLETED, CANCELLED, FAILED, TIMEOUT, OUT_OF_MEMORY, ...</param>
/// <param name="Reason">Why it waits (PENDING: Resources, Priority, PartitionDown, ...) or ended; "None" when there is nothing to say.</param>
/// <param name="Nodes">The node list once it runs; empty while pending.</param>
public sealed record SlurmJob(string Id, string Name, string State, string Reason, string Nodes, string Partition, string Comment)
{
    /// <summary>Waiting for the scheduler (or for its node to boot or be configured).</summary>
    public bool IsPending => State is "PENDING" or "CONFIGURING" or "REQUEUED" or "REQUEUE_HOLD" or "REQUEUE_FED" or "RESV_DEL_HOLD";

    public bool IsRunning => State is "RUNNING" or "RESIZING";

    /// <summary>Suspended or stopped by an administrator: alive, but not running now.</summary>
    public bool IsSuspended => State is "SUSPENDED" or "STOPPED";

    /// <summary>Ended (or ending): nothing of it will run again.</summary>
    public bool IsFinished => !IsPending && !IsRunning && !IsSuspended;

    /// <summary>The reason, or null when Slurm has none.</summary>
    public string? ReasonOrNull => Reason is "" or "None" or "(null)" ? null : Reason;
}

/// <summary>What to hand to <c>sbatch</c>. Each property becomes one argument; nothing goes through a shell.</summary>
/// <param name="ScriptPath">The job script (on the shared file system; Slurm copies it at submission).</param>
public sealed record SlurmSubmission(string ScriptPath, string JobName)
{
    public string? Comment { get; init; }

    public string? Partition { get; init; }

    public int? CpusPerTask { get; init; }

    public long? MemoryMegabytes { get; init; }

    /// <summary>The walltime; Slurm ends the job after it.</summary>
    public TimeSpan? TimeLimit { get; init; }

    public string? WorkingDirectory { get; init; }

    /// <summary>Where stdout and stderr of the job script go (sbatch --output).</summary>
    public string? OutputPath { get; init; }

    /// <summary>Run the job as this account (sbatch --uid, the submitter must be root or SlurmUser); null: as the submitter.</summary>
    public string? User { get; init; }

    public string? Group { get; init; }

    /// <summary>Further sbatch options, each one argument (e.g. "--qos=debug").</summary>
    public IReadOnlyList<string> ExtraOptions { get; init; } = [];
}

/// <summary>A Slurm command failed; <see cref="Exception.Message"/> is Slurm's own words.</summary>
public class SlurmException(string message, bool controllerUnreachable = false) : Exception(message)
{
    /// <summary>The controller (slurmctld) did not answer: the job's fate is unknown, not decided.</summary>
    public bool ControllerUnreachable { get; } = controllerUnreachable;
}

/// <summary>
/// Talks to a Slurm cluster through its own commands (sbatch, squeue, scontrol, scancel) with the
/// configured SLURM_CONF: each call is one process with an argument list (never a shell) and an
/// environment of PATH, LANG and SLURM_CONF only, so nothing of the platform's environment reaches
/// Slurm or a job. Used by the Slurm session backend and by batch jobs.
/// </summary>
public sealed partial class SlurmClient(IOptions<SlurmOptions> options, ILogger<SlurmClient> logger)
{
    private const char Separator = '\u001f';

    /// <summary>squeue's fields, in <see cref="SlurmJob"/>'s order; name and comment last-but-one and last (they are free text).</summary>
    private static readonly string SqueueFormat = string.Join(Separator, "%i", "%T", "%r", "%N", "%P", "%j", "%k");

    public SlurmOptions Options => options.Value;

    /// <summary>Why Slurm cannot be used from here, or null (the commands and a configuration exist; the controller is not asked).</summary>
    public string? Unavailable
    {
        get
        {
            var o = options.Value;
            var missing = new[] { o.SbatchPath, o.SqueuePath, o.ScontrolPath, o.ScancelPath }.FirstOrDefault(p => !File.Exists(p));
            if (missing is not null)
            {
                return $"Slurm's commands are not installed here ({missing} is missing; install the slurm-client package).";
            }

            return File.Exists(o.EffectiveConfigPath) ? null
                : $"There is no Slurm configuration at {o.EffectiveConfigPath}; set Compute:Slurm:ConfigPath to the cluster's slurm.conf.";
        }
    }

    /// <summary>Submits a batch job and returns its id.</summary>
    /// <exception cref="SlurmException">sbatch refused it (Slurm's reason), or the controller did not answer.</exception>
    public async Task<string> SubmitAsync(SlurmSubmission submission, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(submission);
        var args = new List<string> { "--parsable", $"--job-name={submission.JobName}", "--nodes=1", "--ntasks=1", "--no-requeue" };
        if (!string.IsNullOrEmpty(submission.Comment))
        {
            args.Add($"--comment={submission.Comment}");
        }

        var partition = string.IsNullOrWhiteSpace(submission.Partition) ? options.Value.DefaultPartition : submission.Partition;
        if (!string.IsNullOrWhiteSpace(partition))
        {
            args.Add($"--partition={partition}");
        }

        if (submission.CpusPerTask is { } cpus)
        {
            args.Add($"--cpus-per-task={cpus.ToString(CultureInfo.InvariantCulture)}");
        }

        if (submission.MemoryMegabytes is { } mb)
        {
            args.Add($"--mem={mb.ToString(CultureInfo.InvariantCulture)}M");
        }

        if (submission.TimeLimit is { } limit)
        {
            args.Add($"--time={FormatTime(limit)}");
        }

        if (submission.WorkingDirectory is { } dir)
        {
            args.Add($"--chdir={dir}");
        }

        if (submission.OutputPath is { } output)
        {
            args.AddRange([$"--output={output}", "--open-mode=append"]);
        }

        if (submission.User is { } user)
        {
            args.Add($"--uid={user}");
        }

        if (submission.Group is { } group)
        {
            args.Add($"--gid={group}");
        }

        args.AddRange(submission.ExtraOptions);
        args.Add(submission.ScriptPath);
        var result = await RunAsync(options.Value.SbatchPath, args, cancellationToken);
        if (result.ExitCode != 0)
        {
            throw Failure("sbatch", result);
        }

        // --parsable: "id" or "id;cluster".
        var id = result.Output.Trim().Split(';')[0];
        if (id.Length == 0 || !id.All(char.IsAsciiDigit))
        {
            throw new SlurmException($"sbatch answered something that is not a job id: {Clip(result.Output)}");
        }

        LogSubmitted(logger, id, submission.JobName);
        return id;
    }

    /// <summary>One job, or null when Slurm does not know it (any more: finished jobs are forgotten after MinJobAge).</summary>
    public async Task<SlurmJob?> GetJobAsync(string jobId, CancellationToken cancellationToken)
    {
        CheckJobId(jobId);
        var result = await RunAsync(options.Value.SqueuePath, ["--noheader", "--states=all", $"--jobs={jobId}", $"--format={SqueueFormat}"], cancellationToken);
        if (result.ExitCode != 0)
        {
            if (result.Error.Contains("Invalid job id", StringComparison.OrdinalIgnoreCase))
            {
                return null;
            }

            throw Failure("squeue", result);
        }

        return Parse(result.Output).FirstOrDefault(j => j.Id == jobId);
    }

    /// <summary>The jobs Slurm knows (pending, running and recently finished), optionally only those whose name starts with a prefix.</summary>
    public async Task<IReadOnlyList<SlurmJob>> ListJobsAsync(string? namePrefix, CancellationToken cancellationToken)
    {
        var result = await RunAsync(options.Value.SqueuePath, ["--noheader", "--states=all", $"--format={SqueueFormat}"], cancellationToken);
        if (result.ExitCode != 0)
        {
            throw Failure("squeue", result);
        }

        return Parse(result.Output).Where(j => namePrefix is null || j.Name.StartsWith(namePrefix, StringComparison.Ordinal)).ToList();
    }

    /// <summary><c>scontrol show job</c> as key=value pairs (ExitCode, NodeList, StartTime, ...), or null when Slurm does not know the job.</summary>
    public async Task<IReadOnlyDictionary<string, string>?> ShowJobAsync(string jobId, CancellationToken cancellationToken)
    {
        CheckJobId(jobId);
        var result = await RunAsync(options.Value.ScontrolPath, ["show", "job", "--oneliner", jobId], cancellationToken);
        if (result.ExitCode != 0)
        {
            if (result.Error.Contains("Invalid job id", StringComparison.OrdinalIgnoreCase))
            {
                return null;
            }

            throw Failure("scontrol", result);
        }

        return ParseKeyValues(result.Output);
    }

    /// <summary>Cancels a job with all its processes; a job Slurm no longer knows or that already ended is fine (idempotent).</summary>
    public async Task CancelAsync(string jobId, CancellationToken cancellationToken)
    {
        CheckJobId(jobId);
        var result = await RunAsync(options.Value.ScancelPath, ["--full", jobId], cancellationToken);
        if (result.ExitCode != 0
            && !result.Error.Contains("Invalid job id", StringComparison.OrdinalIgnoreCase)
            && !result.Error.Contains("already completing or completed", StringComparison.OrdinalIgnoreCase))
        {
            throw Failure("scancel", result);
        }

        LogCancelled(logger, jobId);
    }

    /// <summary>Parses squeue output in <see cref="SqueueFormat"/>.</summary>
    internal static IEnumerable<SlurmJob> Parse(string output)
    {
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var f = line.Split(Separator, 7);
            if (f.Length == 7)
            {
                yield return new SlurmJob(f[0], f[5], f[1], f[2], f[3], f[4], f[6] == "(null)" ? "" : f[6]);
            }
        }
    }

    /// <summary>Parses scontrol's one-line "Key=Value Key=Value" answer (values without spaces; the last field may have some).</summary>
    internal static Dictionary<string, string> ParseKeyValues(string output)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        string? lastKey = null;
        foreach (var token in output.Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = token.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0 && token[..eq].All(c => char.IsAsciiLetterOrDigit(c) || c is ':' or '_' or '/'))
            {
                lastKey = token[..eq];
                result[lastKey] = token[(eq + 1)..];
            }
            else if (lastKey is not null)
            {
                result[lastKey] += " " + token; // a value with a space (a comment, a path)
            }
        }

        return result;
    }

    /// <summary>Slurm's time format: [days-]hours:minutes:seconds, rounded up to whole minutes.</summary>
    internal static string FormatTime(TimeSpan span)
    {
        var minutes = Math.Max(1, (long)Math.Ceiling(span.TotalMinutes));
        var days = minutes / (24 * 60);
        var rest = minutes % (24 * 60);
        return string.Create(CultureInfo.InvariantCulture, $"{days}-{rest / 60:00}:{rest % 60:00}:00");
    }

    private static void CheckJobId(string jobId)
    {
        // A job id (or array job id_index): digits and at most one underscore; never an option.
        if (string.IsNullOrEmpty(jobId) || !jobId.All(c => char.IsAsciiDigit(c) || c == '_') || !char.IsAsciiDigit(jobId[0]))
        {
            throw new ArgumentException($"'{jobId}' is not a Slurm job id.", nameof(jobId));
        }
    }

    private static SlurmException Failure(string command, CommandResult result)
    {
        var words = Clip(result.Error.Length > 0 ? result.Error : result.Output);
        var unreachable = words.Contains("Unable to contact slurm controller", StringComparison.OrdinalIgnoreCase)
            || words.Contains("Socket timed out", StringComparison.OrdinalIgnoreCase)
            || result.ExitCode == -1;
        return new SlurmException($"{command}: {(words.Length > 0 ? words : $"exit code {result.ExitCode.ToString(CultureInfo.InvariantCulture)}")}", unreachable);
    }

    private static string Clip(string text)
    {
        var line = string.Join(" ", text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        return line.Length > 500 ? line[..500] : line;
    }

    private sealed record CommandResult(int ExitCode, string Output, string Error);

    private async Task<CommandResult> RunAsync(string program, IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        var psi = new ProcessStartInfo(program)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = "/",
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var arg in args)
        {
            psi.ArgumentList.Add(arg);
        }

        // Nothing of the platform's environment (connection strings, keys) goes to Slurm, which would pass it to jobs.
        psi.Environment.Clear();
        psi.Environment["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin";
        psi.Environment["LANG"] = "C.UTF-8";
        psi.Environment["SLURM_CONF"] = options.Value.EffectiveConfigPath;
        using var process = Process.Start(psi) ?? throw new SlurmException($"{program} could not be started.");
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var error = process.StandardError.ReadToEndAsync(CancellationToken.None);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Value.CommandTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            cancellationToken.ThrowIfCancellationRequested();
            return new CommandResult(-1, await output, $"{Path.GetFileName(program)} did not answer within {options.Value.CommandTimeout.TotalSeconds:0} s (Unable to contact slurm controller?)");
        }

        return new CommandResult(process.ExitCode, await output, (await error).Trim());
    }

    [LoggerMessage(1560, LogLevel.Information, "Slurm job {JobId} submitted ({JobName})")]
    private static partial void LogSubmitted(ILogger logger, string jobId, string jobName);

    [LoggerMessage(1561, LogLevel.Information, "Slurm job {JobId} cancelled")]
    private static partial void LogCancelled(ILogger logger, string jobId);
}
