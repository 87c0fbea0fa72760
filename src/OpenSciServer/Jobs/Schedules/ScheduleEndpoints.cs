using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using OpenSciServer.Accounts;
using OpenSciServer.Compute;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.Jobs.Schedules;

/// <summary>The job a schedule submits: as a job submission, every field optional so that a missing one gets a clear 400.</summary>
public sealed record ScheduledJobRequest(
    JobKind? Kind,
    string? Command,
    string? NotebookPath,
    string? Parameters,
    string? Domain,
    string? Image,
    IReadOnlyList<string>? DataVolumes,
    IReadOnlyList<UserVolumeRequest>? UserVolumes,
    TimeSpan? TimeLimit,
    string? WorkingDirectory,
    string? Name)
{
    public JobSubmission ToSubmission()
    {
        if (Kind is not { } kind || !Enum.IsDefined(kind))
        {
            throw PlatformException.Invalid("job.kind is Command or Notebook.", "job");
        }

        if (string.IsNullOrWhiteSpace(Domain) || string.IsNullOrWhiteSpace(Image))
        {
            throw PlatformException.Invalid("Give the job's domain and image (GET /api/compute/domains and /api/compute/images list yours).", "job");
        }

        var volumes = (UserVolumes ?? []).Select(v => v is { RootVolume: { } root, Owner: { } owner, Name: { } name }
            ? new JobUserVolume(root, owner, name, v.Writable ?? false)
            : throw PlatformException.Invalid("Each of job.userVolumes needs rootVolume, owner and name.", "job")).ToList();
        if (DataVolumes?.Any(v => v is null) == true)
        {
            throw PlatformException.Invalid("job.dataVolumes holds data volume names.", "job");
        }

        return new JobSubmission(kind, Command, NotebookPath, Parameters, Domain.Trim(), Image.Trim(), DataVolumes ?? [], volumes, TimeLimit, WorkingDirectory, Name);
    }
}

/// <summary>Creates or replaces a schedule. Defaults: enabled, time zone UTC, overlap Skip, catch-up RunOnce.</summary>
public sealed record ScheduleRequest(
    string? Name,
    string? Cron,
    string? TimeZone,
    bool? Enabled,
    OverlapPolicy? Overlap,
    CatchUpPolicy? CatchUp,
    ScheduledJobRequest? Job)
{
    public ScheduleInput ToInput() =>
        new(Name, Cron, TimeZone, Enabled ?? true, Overlap ?? OverlapPolicy.Skip, CatchUp ?? CatchUpPolicy.RunOnce,
            Job?.ToSubmission() ?? throw PlatformException.Invalid("Give the job the schedule submits (job: kind, command or notebookPath, domain, image, volumes).", "job"));
}

/// <summary>One entry of a schedule's history. <c>dueAt</c> is the occurrence; <c>occurrences</c> &gt; 1 after downtime.</summary>
public sealed record ScheduleRunResponse(
    DateTimeOffset DueAt, int Occurrences, ScheduleRunOutcome Outcome, DateTimeOffset RecordedAt, DateTimeOffset? SubmittedAt, long? JobId, string? Reason)
{
    public static ScheduleRunResponse From(JobScheduleRun r)
    {
        ArgumentNullException.ThrowIfNull(r);
        return new(r.DueAt, r.Occurrences, r.Outcome, r.RecordedAt, r.SubmittedAt, r.JobId, r.Reason);
    }
}

public sealed record ScheduleResponse(
    long Id,
    string Name,
    string Cron,
    string TimeZone,
    string Description,
    bool Enabled,
    OverlapPolicy Overlap,
    CatchUpPolicy CatchUp,
    DateTimeOffset? NextRunAt,
    JobSubmission Job,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    ScheduleRunResponse? LastRun,
    IReadOnlyList<DateTimeOffset>? NextRuns,
    IReadOnlyList<ScheduleRunResponse>? History)
{
    public static ScheduleResponse From(ScheduleView view, JobScheduleRun? lastRun, bool details)
    {
        ArgumentNullException.ThrowIfNull(view);
        var s = view.Schedule;
        return new(s.Id, s.Name, s.Cron, s.TimeZone, view.Description, s.Enabled, s.Overlap, s.CatchUp, view.NextRuns.Count > 0 ? view.NextRuns[0] : null,
            view.Job, s.CreatedAt, s.UpdatedAt,
            lastRun is null ? view.History.Count > 0 ? ScheduleRunResponse.From(view.History[0]) : null : ScheduleRunResponse.From(lastRun),
            details ? view.NextRuns : null,
            details ? view.History.Select(ScheduleRunResponse.From).ToList() : null);
    }
}

/// <summary>The native API of cron schedules (<c>/api/jobs/schedules</c>): owner-only.</summary>
public static class ScheduleEndpoints
{
    public static IEndpointRouteBuilder MapJobScheduleEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/jobs/schedules").WithTags("Job schedules").RequireAuthorization().RequireCors(PlatformCors.Api);
        api.MapPost("", CreateAsync).WithName("CreateJobSchedule")
            .WithSummary("Schedule a job with a cron expression in a time zone.")
            .WithDescription("cron: 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, or @hourly, @daily...; timeZone: an IANA name (default UTC; daylight-saving changes are handled). "
                + "overlap: Skip (default: a run due while the previous job is not finished is skipped) or Allow. catchUp: RunOnce (default: occurrences missed while the platform was down make one run) or Skip. "
                + "job: what a job submission takes; it is checked now as a submission would be.");
        api.MapGet("", ListAsync).WithName("ListJobSchedules").WithSummary("Your schedules, by name, with their next run and last run.");
        api.MapGet("/preview", Preview).WithName("PreviewJobSchedule")
            .WithSummary("What a cron expression means and when it would run next, without creating anything.");
        api.MapGet("/{id:long}", GetAsync).WithName("GetJobSchedule")
            .WithSummary("One of your schedules with its next run times (next, default 5) and its history, newest first (history, default 50).");
        api.MapPut("/{id:long}", UpdateAsync).WithName("UpdateJobSchedule")
            .WithSummary("Replace a schedule's settings; it continues from the next occurrence after now.");
        api.MapPost("/{id:long}/enable", EnableAsync).WithName("EnableJobSchedule").WithSummary("Turn a schedule on, from its next occurrence after now (no runs are owed for the time it was off).");
        api.MapPost("/{id:long}/disable", DisableAsync).WithName("DisableJobSchedule").WithSummary("Turn a schedule off; its settings and history stay.");
        api.MapDelete("/{id:long}", DeleteAsync).WithName("DeleteJobSchedule").WithSummary("Delete a schedule and its history; the jobs it submitted stay.");
        return app;
    }

    private static async Task<Created<ScheduleResponse>> CreateAsync(ScheduleRequest request, ClaimsPrincipal user, ScheduleService schedules, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        var schedule = await schedules.CreateAsync(Caller.From(user), request.ToInput(), ct);
        return TypedResults.Created($"/api/jobs/schedules/{schedule.Id}", ScheduleResponse.From(schedules.View(schedule, [], 5), null, details: true));
    }

    private static async Task<Ok<List<ScheduleResponse>>> ListAsync(ClaimsPrincipal user, ScheduleService schedules, CancellationToken ct)
    {
        var list = await schedules.ListAsync(Caller.From(user), ct);
        var last = await schedules.LastRunsAsync(list.Select(s => s.Id), ct);
        return TypedResults.Ok(list.Select(s => ScheduleResponse.From(schedules.View(s, [], 1), last.GetValueOrDefault(s.Id), details: false)).ToList());
    }

    private static Ok<CronPreview> Preview(string? cron, string? timeZone, int? count, TimeProvider time) =>
        TypedResults.Ok(ScheduleService.Preview(cron, timeZone, time.GetUtcNow(), count ?? 5));

    private static async Task<Ok<ScheduleResponse>> GetAsync(long id, int? next, int? history, ClaimsPrincipal user, ScheduleService schedules, CancellationToken ct) =>
        TypedResults.Ok(ScheduleResponse.From(await schedules.GetAsync(Caller.From(user), id, next ?? 5, history ?? 50, ct), null, details: true));

    private static async Task<Ok<ScheduleResponse>> UpdateAsync(long id, ScheduleRequest request, ClaimsPrincipal user, ScheduleService schedules, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        await schedules.UpdateAsync(Caller.From(user), id, request.ToInput(), ct);
        return TypedResults.Ok(ScheduleResponse.From(await schedules.GetAsync(Caller.From(user), id, 5, 50, ct), null, details: true));
    }

    private static async Task<Ok<ScheduleResponse>> EnableAsync(long id, ClaimsPrincipal user, ScheduleService schedules, CancellationToken ct)
    {
        await schedules.SetEnabledAsync(Caller.From(user), id, true, ct);
        return TypedResults.Ok(ScheduleResponse.From(await schedules.GetAsync(Caller.From(user), id, 5, 50, ct), null, details: true));
    }

    private static async Task<Ok<ScheduleResponse>> DisableAsync(long id, ClaimsPrincipal user, ScheduleService schedules, CancellationToken ct)
    {
        await schedules.SetEnabledAsync(Caller.From(user), id, false, ct);
        return TypedResults.Ok(ScheduleResponse.From(await schedules.GetAsync(Caller.From(user), id, 5, 50, ct), null, details: true));
    }

    private static async Task<NoContent> DeleteAsync(long id, ClaimsPrincipal user, ScheduleService schedules, CancellationToken ct)
    {
        await schedules.DeleteAsync(Caller.From(user), id, ct);
        return TypedResults.NoContent();
    }
}
