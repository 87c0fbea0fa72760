using System.Globalization;
using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using OpenSciServer.Accounts;
using OpenSciServer.Compat;
using OpenSciServer.Compute;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.Jobs;

/// <summary>A job to submit. Resubmitting: every field left out keeps the old job's value.</summary>
/// <param name="Kind">command or notebook (default: notebook when notebookPath is given, else command).</param>
/// <param name="TimeLimit">Seconds (600) or hh:mm:ss; empty: the domain's session lifetime.</param>
public sealed record JobRequest(
    string? Kind,
    string? Command,
    string? NotebookPath,
    string? Parameters,
    string? Domain,
    string? Image,
    IReadOnlyList<string>? DataVolumes,
    IReadOnlyList<UserVolumeRequest>? UserVolumes,
    string? TimeLimit,
    string? WorkingDirectory,
    string? Name);

public sealed record JobMessageResponse(string Label, string Content, DateTimeOffset CreatedAt);

/// <summary>A job as its owner sees it.</summary>
/// <param name="StatusCode">SciServer's bit flag: 1 PENDING, 2 QUEUED, 4 ACCEPTED, 8 STARTED, 32 SUCCESS, 64 ERROR, 128 CANCELED.</param>
/// <param name="Folder">The job directory as the Files page names it.</param>
/// <param name="QueueReason">While the job waits (PENDING, QUEUED): why, e.g. your limit of jobs at once, or Slurm's reason (the partition is down, waiting for resources); null once it runs.</param>
public sealed record JobResponse(
    long Id,
    string? Name,
    JobKind Kind,
    JobStatus Status,
    int StatusCode,
    bool Final,
    string? Command,
    string? NotebookPath,
    string? Parameters,
    string Domain,
    string Image,
    IReadOnlyList<SessionDataVolume> DataVolumes,
    IReadOnlyList<SessionUserVolume> UserVolumes,
    TimeSpan TimeLimit,
    string WorkingDirectory,
    string Folder,
    int? ExitCode,
    long? ScheduleId,
    DateTimeOffset SubmittedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    IReadOnlyList<JobMessageResponse> Messages,
    string? QueueReason)
{
    public static JobResponse From(ComputeJob j)
    {
        ArgumentNullException.ThrowIfNull(j);
        return new(j.Id, j.Name, j.Kind, j.Status, (int)j.Status, j.IsFinal, j.Command, j.NotebookPath, j.Parameters, j.Domain!.Name, j.Image!.Name,
            j.Volumes.Where(v => v.Kind == SessionVolumeKind.Data).OrderBy(v => v.Name, StringComparer.Ordinal)
                .Select(v => new SessionDataVolume(v.Name, $"{Compute.Backends.Sandbox.Workspace}/{v.Name}")).ToList(),
            j.Volumes.Where(v => v.Kind == SessionVolumeKind.User).OrderBy(v => v.RootVolume, StringComparer.Ordinal).ThenBy(v => v.Owner, StringComparer.Ordinal).ThenBy(v => v.Name, StringComparer.Ordinal)
                .Select(v => new SessionUserVolume(v.RootVolume!, v.Owner!, v.Name, v.Writable, $"{Compute.Backends.Sandbox.Workspace}/{v.RootVolume}/{v.Owner}/{v.Name}")).ToList(),
            j.TimeLimit, j.WorkingDirectory, JobService.FilesPath(j), j.ExitCode, j.ScheduleId, j.SubmittedAt, j.StartedAt, j.FinishedAt,
            j.Messages.OrderBy(m => m.Id).Select(m => new JobMessageResponse(m.Label, m.Content, m.CreatedAt)).ToList(),
            j.QueueReason);
    }
}

/// <summary>One job with the end of its output (the files hold everything).</summary>
public sealed record JobDetailsResponse(JobResponse Job, OutputTail Stdout, OutputTail Stderr);

/// <summary>The native Jobs API (<c>/api/jobs</c>).</summary>
public static class JobEndpoints
{
    public static IEndpointRouteBuilder MapJobEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/jobs").WithTags("Jobs").RequireAuthorization().RequireCors(PlatformCors.Api);
        api.MapPost("/", SubmitAsync).WithName("SubmitJob")
            .WithSummary("Submit a command job (a shell script) or a notebook job (a .ipynb in your volumes, with a parameters string).")
            .WithDescription("The job waits as Pending, then runs as your own uid in the sandbox with the volumes you chose, in its job directory (default: a new folder in Temporary/<you>/jobs), which receives command.txt or the executed notebook and parameters.txt, stdout.txt, stderr.txt and exitcode.txt. Poll GET /api/jobs/{id}.");
        api.MapGet("/", ListAsync).WithName("ListJobs")
            .WithSummary("Your jobs, newest first. status: names or the bit mask (e.g. started,pending or 9); open=true: unfinished only, false: finished only; top: at most this many.");
        api.MapGet("/{id:long}", GetAsync).WithName("GetJob").WithSummary("One of your jobs with the end of its stdout and stderr (tail: bytes, bounded by the platform).");
        api.MapPost("/{id:long}/cancel", CancelAsync).WithName("CancelJob").WithSummary("Cancel a job: a waiting one never starts, a running one is stopped with every process it started.");
        api.MapPost("/{id:long}/resubmit", ResubmitAsync).WithName("ResubmitJob")
            .WithSummary("Submit a job again as a new job; fields given replace the old job's (a new job directory unless workingDirectory is given).");
        return app;
    }

    private static async Task<Created<JobResponse>> SubmitAsync(JobRequest request, ClaimsPrincipal user, HttpRequest http, JobService jobs,
        IOptions<PlatformOptions> platform, CancellationToken ct)
    {
        var caller = Caller.From(user);
        var id = await jobs.SubmitAsync(caller, ToSubmission(request, null), null, SciScriptConfig.BaseUrl(http, platform), ct);
        return TypedResults.Created($"/api/jobs/{id.ToString(CultureInfo.InvariantCulture)}", JobResponse.From(await jobs.GetAsync(caller, id, ct)));
    }

    private static async Task<Ok<List<JobResponse>>> ListAsync(ClaimsPrincipal user, JobService jobs, string? status, int? top, bool? open, CancellationToken ct) =>
        TypedResults.Ok((await jobs.ListAsync(Caller.From(user), new JobListQuery(ParseStatuses(status), top ?? 100, open), ct)).Select(JobResponse.From).ToList());

    private static async Task<Ok<JobDetailsResponse>> GetAsync(long id, ClaimsPrincipal user, JobService jobs, int? tail, CancellationToken ct)
    {
        var job = await jobs.GetAsync(Caller.From(user), id, ct);
        var (stdout, stderr) = jobs.Output(job, tail);
        return TypedResults.Ok(new JobDetailsResponse(JobResponse.From(job), stdout, stderr));
    }

    private static async Task<Ok<JobResponse>> CancelAsync(long id, ClaimsPrincipal user, JobService jobs, CancellationToken ct) =>
        TypedResults.Ok(JobResponse.From(await jobs.CancelAsync(Caller.From(user), id, ct)));

    private static async Task<Created<JobResponse>> ResubmitAsync(long id, JobRequest? request, ClaimsPrincipal user, HttpRequest http, JobService jobs,
        IOptions<PlatformOptions> platform, CancellationToken ct)
    {
        var caller = Caller.From(user);
        var old = await jobs.GetAsync(caller, id, ct);
        var submission = ToSubmission(request ?? new JobRequest(null, null, null, null, null, null, null, null, null, null, null), JobService.SubmissionOf(old));
        // A resubmission is the user's own job, not a run of the schedule the old one came from (that history does not list it).
        var newId = await jobs.SubmitAsync(caller, submission, scheduleId: null, SciScriptConfig.BaseUrl(http, platform), ct);
        return TypedResults.Created($"/api/jobs/{newId.ToString(CultureInfo.InvariantCulture)}", JobResponse.From(await jobs.GetAsync(caller, newId, ct)));
    }

    /// <summary>A request as a submission; <paramref name="basis"/> fills what the request leaves out (resubmit).</summary>
    public static JobSubmission ToSubmission(JobRequest request, JobSubmission? basis)
    {
        ArgumentNullException.ThrowIfNull(request);
        var notebookPath = request.NotebookPath ?? basis?.NotebookPath;
        var kind = request.Kind?.Trim().ToLowerInvariant() switch
        {
            null or "" => basis?.Kind ?? (string.IsNullOrWhiteSpace(request.NotebookPath) ? JobKind.Command : JobKind.Notebook),
            "command" => JobKind.Command,
            "notebook" => JobKind.Notebook,
            _ => throw PlatformException.Invalid("kind is command or notebook.", "kind"),
        };
        return new JobSubmission(
            kind,
            request.Command ?? basis?.Command,
            notebookPath,
            request.Parameters ?? basis?.Parameters,
            request.Domain ?? basis?.Domain ?? "",
            request.Image ?? basis?.Image ?? "",
            request.DataVolumes ?? basis?.DataVolumes ?? [],
            request.UserVolumes?.Select(v => v is null ? null! : new JobUserVolume(v.RootVolume ?? "", v.Owner ?? "", v.Name ?? "", v.Writable ?? false)).ToList()
                ?? basis?.UserVolumes ?? [],
            request.TimeLimit is null ? basis?.TimeLimit : ParseTimeLimit(request.TimeLimit),
            request.WorkingDirectory ?? basis?.WorkingDirectory,
            request.Name ?? basis?.Name);
    }

    /// <summary>Seconds, or [d.]hh:mm:ss; empty means the domain's.</summary>
    public static TimeSpan? ParseTimeLimit(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var seconds))
        {
            return seconds is > 0 and < 100L * 365 * 86400 ? TimeSpan.FromSeconds(seconds)
                : throw PlatformException.Invalid("timeLimit must be a positive number of seconds, or hh:mm:ss.", "timeLimit");
        }

        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var span) && span > TimeSpan.Zero
            ? span
            : throw PlatformException.Invalid($"timeLimit '{text}' is neither seconds (e.g. 600) nor hh:mm:ss (e.g. 01:30:00).", "timeLimit");
    }

    /// <summary>Status names (pending, queued, accepted, started, success, error, canceled; also running, finished, open) or a number (the mask).</summary>
    public static JobStatus ParseStatuses(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return JobStatus.None;
        }

        if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var mask) && mask is > 0 and < 256)
        {
            return (JobStatus)mask;
        }

        var result = JobStatus.None;
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            result |= part.ToLowerInvariant() switch
            {
                "running" => JobStatus.Accepted | JobStatus.Started,
                "open" => JobService.Active | JobStatus.Pending,
                "finished" or "done" => JobStatus.Success | JobStatus.Error | JobStatus.Canceled,
                var name when part.All(char.IsAsciiLetter) && Enum.TryParse<JobStatus>(name, ignoreCase: true, out var s) && s != JobStatus.None => s,
                _ => throw PlatformException.Invalid($"Unknown status '{part}': use pending, queued, accepted, started, success, error, canceled (or running, open, finished), or the bit mask.", "status"),
            };
        }

        return result;
    }
}
