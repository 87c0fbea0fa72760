using System.Globalization;
using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using OpenSciServer.Accounts;
using OpenSciServer.Authorization;
using OpenSciServer.Compute;
using OpenSciServer.Compute.Backends;
using OpenSciServer.Files;
using OpenSciServer.Infrastructure;
using OpenSciServer.Jobs;

namespace OpenSciServer.Compat;

public sealed record JobmImage(
    [property: JsonPropertyName("id")] long Id,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("description")] string Description);

public sealed record JobmDataVolume(
    [property: JsonPropertyName("id")] long Id,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("description")] string Description,
    [property: JsonPropertyName("writable")] bool Writable);

public sealed record JobmUserVolume(
    [property: JsonPropertyName("id")] long Id,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("description")] string Description,
    [property: JsonPropertyName("rootVolumeName")] string RootVolumeName,
    [property: JsonPropertyName("owner")] string Owner,
    [property: JsonPropertyName("fullPath")] string FullPath,
    [property: JsonPropertyName("allowedActions")] IReadOnlyList<string> AllowedActions);

/// <summary>A compute domain as SciScript's Jobs.getDockerComputeDomains reads it.</summary>
public sealed record JobmDomain(
    [property: JsonPropertyName("id")] long Id,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("description")] string Description,
    [property: JsonPropertyName("apiEndpoint")] string ApiEndpoint,
    [property: JsonPropertyName("images")] IReadOnlyList<JobmImage> Images,
    [property: JsonPropertyName("volumes")] IReadOnlyList<JobmDataVolume> Volumes,
    [property: JsonPropertyName("userVolumes")] IReadOnlyList<JobmUserVolume> UserVolumes);

public sealed record JobmVolumeContainer([property: JsonPropertyName("name")] string? Name);

public sealed record JobmUserVolumeRef(
    [property: JsonPropertyName("userVolumeId")] long? UserVolumeId,
    [property: JsonPropertyName("needsWriteAccess")] bool? NeedsWriteAccess,
    [property: JsonPropertyName("fullPath")] string? FullPath = null);

/// <summary>SciScript's submitShellCommandJob / submitNotebookJob body (a notebook job has scriptURI, and its parameters in command).</summary>
public sealed record JobmDockerJobRequest(
    [property: JsonPropertyName("command")] string? Command,
    [property: JsonPropertyName("scriptURI")] string? ScriptUri,
    [property: JsonPropertyName("submitterDID")] string? SubmitterDid,
    [property: JsonPropertyName("dockerComputeEndpoint")] string? DockerComputeEndpoint,
    [property: JsonPropertyName("dockerImageName")] string? DockerImageName,
    [property: JsonPropertyName("resultsFolderURI")] string? ResultsFolderUri,
    [property: JsonPropertyName("volumeContainers")] IReadOnlyList<JobmVolumeContainer>? VolumeContainers,
    [property: JsonPropertyName("userVolumes")] IReadOnlyList<JobmUserVolumeRef>? UserVolumes);

public sealed record JobmMessage(
    [property: JsonPropertyName("jobId")] long JobId,
    [property: JsonPropertyName("content")] string Content,
    [property: JsonPropertyName("label")] string Label);

/// <summary>A job as JOBM's COMPMDockerJobModel: dates in epoch milliseconds, duration and timeout in seconds, nulls left out.</summary>
public sealed record JobmJob(
    [property: JsonPropertyName("id")] long Id,
    [property: JsonPropertyName("submitterDID")] string? SubmitterDid,
    [property: JsonPropertyName("username")] string Username,
    [property: JsonPropertyName("submissionTime")] long SubmissionTime,
    [property: JsonPropertyName("startTime")] long? StartTime,
    [property: JsonPropertyName("endTime")] long? EndTime,
    [property: JsonPropertyName("duration")] double? Duration,
    [property: JsonPropertyName("timeout")] long Timeout,
    [property: JsonPropertyName("status")] int Status,
    [property: JsonPropertyName("resultsFolderURI")] string ResultsFolderUri,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("command")] string? Command,
    [property: JsonPropertyName("scriptURI")] string? ScriptUri,
    [property: JsonPropertyName("dockerImageName")] string DockerImageName,
    [property: JsonPropertyName("dockerComputeEndpoint")] string DockerComputeEndpoint,
    [property: JsonPropertyName("volumeContainers")] IReadOnlyList<JobmVolumeContainer> VolumeContainers,
    [property: JsonPropertyName("userVolumes")] IReadOnlyList<JobmUserVolumeRef> UserVolumes,
    [property: JsonPropertyName("messages")] IReadOnlyList<JobmMessage> Messages);

/// <summary>
/// SciServer's JOBM routes (<c>/racm/jobm/rest</c>) for SciScript's Jobs module, adapters onto
/// <see cref="JobService"/>: compute domains, docker job submission, status, list and cancel.
/// </summary>
public static class JobmEndpoints
{
    public const string Prefix = "/racm/jobm/rest";

    public const string DockerJobType = "jobm.model.COMPMDockerJobModel";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    public static IEndpointRouteBuilder MapJobmEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup(Prefix).WithTags("SciServer: Jobs").RequireAuthorization().RequireCors(PlatformCors.Api);
        api.MapGet("/computedomains", DomainsAsync).WithName("JobmComputeDomains")
            .WithSummary("The compute domains you may run jobs in, with their images, data volumes and your user volumes (batch=true, interactive=false as SciScript asks).");
        api.MapGet("/computedomains/rdb", () => TypedResults.Json(Array.Empty<object>(), Json)).WithName("JobmRdbComputeDomains")
            .WithSummary("Relational-database compute domains: none here (queries run in CasJobs).");
        api.MapPost("/jobs/docker", SubmitAsync).WithName("JobmSubmitDockerJob")
            .WithSummary("Submit a shell command job, or a notebook job (scriptURI = the notebook as seen inside, command = its parameters). Answers the job.");
        api.MapGet("/jobs/{id:long}", GetAsync).WithName("JobmGetJob").WithSummary("A job: status 1 PENDING, 2 QUEUED, 4 ACCEPTED, 8 STARTED, 32 SUCCESS, 64 ERROR, 128 CANCELED (32 and above are final).");
        api.MapPost("/jobs/{id:long}/cancel", CancelAsync).WithName("JobmCancelJob").WithSummary("Cancel a job.");
        api.MapGet("/jobs", ListAsync).WithName("JobmListJobs").WithSummary("Your jobs, newest first: top, start and end (yyyy-MM-dd HH:mm:ss.SSS, on the submission time), open (present: unfinished only).");
        api.MapGet("/dockerjobs", ListAsync).WithName("JobmListDockerJobs").WithSummary("Your jobs (all of them are docker-style jobs here); the same filters as /jobs.");
        api.MapGet("/rdbjobs", () => TypedResults.Json(Array.Empty<object>(), Json)).WithName("JobmListRdbJobs").WithSummary("Relational-database jobs: none here.");
        return app;
    }

    private static string Endpoint(string baseUrl, long domainId) => $"{baseUrl}{Prefix}/computedomains/{domainId.ToString(CultureInfo.InvariantCulture)}";

    private static async Task<IResult> DomainsAsync(ClaimsPrincipal user, HttpRequest http, ComputeCatalog catalog, VolumeService volumes,
        JobBackendRegistry backends, IOptions<PlatformOptions> platform, CancellationToken ct)
    {
        var caller = Caller.From(user);
        var baseUrl = SciScriptConfig.BaseUrl(http, platform);
        var images = (await catalog.ImagesAsync(caller, ct)).Select(i => new JobmImage(i.Id, i.Name, i.Description)).ToList();
        var data = (await volumes.DataVolumesAsync(caller, ct)).Select(d => new JobmDataVolume(d.Id, d.Name, d.Description, Writable: false)).ToList();
        var mine = await volumes.OwnedAsync(caller, ct);
        var shared = await volumes.SharedWithAsync(caller, ct);
        var userVolumes = mine.Concat(shared).Select(v => new JobmUserVolume(v.Id, v.Name, v.Description, v.RootVolume, v.Owner,
            $"{Sandbox.Workspace}/{v.RootVolume}/{v.Owner}/{v.Name}", ResourceTypes.Names(v.Actions))).ToList();
        var domains = (await catalog.DomainsAsync(caller, ct)).Where(d => backends.Find(d.Backend) is not null)
            .Select(d => new JobmDomain(d.Id, d.Name, d.Description, Endpoint(baseUrl, d.Id), images, data, userVolumes)).ToList();
        return TypedResults.Json(domains, Json);
    }

    private static async Task<IResult> SubmitAsync(JobmDockerJobRequest request, ClaimsPrincipal user, HttpRequest http, JobService jobs, ComputeCatalog catalog,
        VolumeService volumes, IOptions<PlatformOptions> platform, CancellationToken ct)
    {
        var caller = Caller.From(user);
        var domains = await catalog.DomainsAsync(caller, ct);
        var endpoint = request.DockerComputeEndpoint?.Trim().TrimEnd('/') ?? "";
        var tail = endpoint[(endpoint.LastIndexOf('/') + 1)..];
        var domain = domains.FirstOrDefault(d => long.TryParse(tail, NumberStyles.Integer, CultureInfo.InvariantCulture, out var id) && d.Id == id
                && endpoint.Contains("/computedomains/", StringComparison.Ordinal))
            ?? domains.FirstOrDefault(d => d.Name == endpoint)
            ?? throw PlatformException.NotFound($"There is no compute domain '{request.DockerComputeEndpoint}' that you may use: give the apiEndpoint of one listed by GET {Prefix}/computedomains.");

        var mine = await volumes.OwnedAsync(caller, ct);
        var shared = await volumes.SharedWithAsync(caller, ct);
        var reachable = mine.Concat(shared).ToDictionary(v => v.Id);
        var userVolumes = new List<JobUserVolume>();
        foreach (var v in request.UserVolumes ?? [])
        {
            if (v?.UserVolumeId is not { } id || !reachable.TryGetValue(id, out var info))
            {
                throw PlatformException.NotFound($"There is no user volume with id {v?.UserVolumeId} that you can reach; the ids are in the userVolumes of GET {Prefix}/computedomains.");
            }

            userVolumes.Add(new JobUserVolume(info.RootVolume, info.Owner, info.Name, v.NeedsWriteAccess == true));
        }

        var notebook = !string.IsNullOrWhiteSpace(request.ScriptUri);
        var results = request.ResultsFolderUri?.Trim().TrimEnd('/');
        // SciServer's default results folder is the jobs folder itself: each job gets a new folder in it.
        if (string.IsNullOrEmpty(results) || results == $"{Sandbox.Workspace}/Temporary/{caller.UserName}/{JobService.JobsVolume}")
        {
            results = null;
        }

        var submission = new JobSubmission(
            notebook ? JobKind.Notebook : JobKind.Command,
            notebook ? null : request.Command,
            notebook ? request.ScriptUri!.Trim() : null,
            notebook ? request.Command ?? "" : null,
            domain.Name,
            request.DockerImageName ?? "",
            request.VolumeContainers?.Select(c => c?.Name ?? "").ToList() ?? [],
            userVolumes,
            TimeLimit: null,
            WorkingDirectory: results,
            Name: request.SubmitterDid);
        var jobId = await jobs.SubmitAsync(caller, submission, null, SciScriptConfig.BaseUrl(http, platform), ct);
        return TypedResults.Json(await ToJobmAsync(await jobs.GetAsync(caller, jobId, ct), SciScriptConfig.BaseUrl(http, platform), jobs, ct), Json);
    }

    private static async Task<IResult> GetAsync(long id, ClaimsPrincipal user, HttpRequest http, JobService jobs, IOptions<PlatformOptions> platform, CancellationToken ct) =>
        TypedResults.Json(await ToJobmAsync(await jobs.GetAsync(Caller.From(user), id, ct), SciScriptConfig.BaseUrl(http, platform), jobs, ct), Json);

    private static async Task<IResult> CancelAsync(long id, ClaimsPrincipal user, HttpRequest http, JobService jobs, IOptions<PlatformOptions> platform, CancellationToken ct) =>
        TypedResults.Json(await ToJobmAsync(await jobs.CancelAsync(Caller.From(user), id, ct), SciScriptConfig.BaseUrl(http, platform), jobs, ct), Json);

    private static async Task<IResult> ListAsync(ClaimsPrincipal user, HttpRequest http, JobService jobs, IOptions<PlatformOptions> platform,
        string? top, string? start, string? end, CancellationToken ct)
    {
        int count = JobService.MaxTop;
        if (!string.IsNullOrWhiteSpace(top) && !top.Equals("None", StringComparison.OrdinalIgnoreCase)
            && (!int.TryParse(top, NumberStyles.Integer, CultureInfo.InvariantCulture, out count) || count < 1))
        {
            throw PlatformException.Invalid("top is a positive number of jobs.", "top");
        }

        // As the real server does: the presence of open, whatever its value, means unfinished jobs only.
        bool? open = http.Query.ContainsKey("open") ? true : null;
        var query = new JobListQuery(JobStatus.None, count, open, ParseDate(start, "start"), ParseDate(end, "end"));
        var baseUrl = SciScriptConfig.BaseUrl(http, platform);
        var result = new List<JobmJob>();
        foreach (var job in await jobs.ListAsync(Caller.From(user), query, ct))
        {
            result.Add(await ToJobmAsync(job, baseUrl, jobs, ct));
        }

        return TypedResults.Json(result, Json);
    }

    private static DateTimeOffset? ParseDate(string? text, string field)
    {
        if (string.IsNullOrWhiteSpace(text) || text.Equals("None", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var ms))
        {
            return DateTimeOffset.FromUnixTimeMilliseconds(ms);
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at)
            ? at
            : throw PlatformException.Invalid($"{field} is a date like 2026-01-31 13:45:00.000 (UTC), or epoch milliseconds.", field);
    }

    private static async Task<JobmJob> ToJobmAsync(ComputeJob job, string baseUrl, JobService jobs, CancellationToken ct)
    {
        var userVolumes = (await jobs.UserVolumeIdsAsync(job, ct))
            .Select(x => new JobmUserVolumeRef(x.Id, x.Volume.Writable, $"{Sandbox.Workspace}/{x.Volume.RootVolume}/{x.Volume.Owner}/{x.Volume.Name}")).ToList();

        // Seconds from start to end; none while it runs, as SciServer shows it.
        double? duration = job.StartedAt is { } s && job.FinishedAt is { } e ? Math.Round((e - s).TotalSeconds, 3) : null;

        return new JobmJob(job.Id, job.Name, job.OwnerName, job.SubmittedAt.ToUnixTimeMilliseconds(), job.StartedAt?.ToUnixTimeMilliseconds(),
            job.FinishedAt?.ToUnixTimeMilliseconds(), duration, (long)job.TimeLimit.TotalSeconds, (int)job.Status, job.WorkingDirectory + "/",
            DockerJobType, job.Kind == JobKind.Command ? job.Command : job.Parameters, job.NotebookPath, job.Image!.Name, Endpoint(baseUrl, job.DomainId),
            job.Volumes.Where(v => v.Kind == SessionVolumeKind.Data).Select(v => new JobmVolumeContainer(v.Name)).ToList(),
            userVolumes,
            Messages(job));
    }

    /// <summary>JOBM's messages; while the job waits, the last one (STATUS) says why (JOBM has no field of its own for it).</summary>
    private static List<JobmMessage> Messages(ComputeJob job)
    {
        var messages = job.Messages.OrderBy(m => m.Id).Select(m => new JobmMessage(job.Id, m.Content, m.Label)).ToList();
        if (job.QueueReason is { } reason)
        {
            messages.Add(new JobmMessage(job.Id, reason, JobMessageLabels.Status));
        }

        return messages;
    }
}
