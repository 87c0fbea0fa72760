using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Serialization;
using OpenSciServer.Accounts;
using OpenSciServer.CasJobs.Jobs;

namespace OpenSciServer.Compat;

/// <summary>SciServer CasJobs' job submission: <c>{"Query", "TaskName", "CreateTable", "TableName"}</c>.</summary>
public sealed record CasJobsSubmitRequest(
    [property: JsonPropertyName("Query")] string? Query,
    [property: JsonPropertyName("TaskName")] string? TaskName,
    [property: JsonPropertyName("CreateTable")] JsonElement? CreateTable,
    [property: JsonPropertyName("TableName")] string? TableName);

/// <summary>A job as SciServer CasJobs shows it: times in epoch milliseconds, absent while unknown.</summary>
public sealed record CasJobsJob(
    [property: JsonPropertyName("JobID")] long JobId,
    [property: JsonPropertyName("Status")] int Status,
    [property: JsonPropertyName("Query")] string Query,
    [property: JsonPropertyName("Context")] string Context,
    [property: JsonPropertyName("TimeSubmit")] long TimeSubmit,
    [property: JsonPropertyName("TimeStart")] long? TimeStart,
    [property: JsonPropertyName("TimeEnd")] long? TimeEnd,
    [property: JsonPropertyName("Rows")] long? Rows,
    [property: JsonPropertyName("Message")] string Message,
    [property: JsonPropertyName("OutputLoc")] string OutputLoc,
    [property: JsonPropertyName("TaskName")] string TaskName,
    [property: JsonPropertyName("Created_Table")] string? CreatedTable)
{
    public static CasJobsJob From(QueryJobResponse job)
    {
        ArgumentNullException.ThrowIfNull(job);
        return new CasJobsJob(job.Id, job.Status, job.Query, job.Context, job.SubmittedAt.ToUnixTimeMilliseconds(),
            job.StartedAt?.ToUnixTimeMilliseconds(), job.FinishedAt?.ToUnixTimeMilliseconds(), job.Rows, job.Message ?? "", "", job.TaskName, job.CreatedTable);
    }
}

/// <summary>SciServer CasJobs' long query routes (SciScript's submitJob, getJobStatus, waitForJob, cancelJob) onto the job service.</summary>
public static class CasJobsJobsEndpoints
{
    public static IEndpointRouteBuilder MapCasJobsJobsEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/CasJobs/RestApi").WithTags("SciServer: CasJobs").RequireAuthorization().RequireCors(Infrastructure.PlatformCors.Api);
        api.MapPut("/contexts/{context}/jobs", SubmitAsync).WithName("CasJobsSubmitJob")
            .WithSummary("Submit a long query; the answer is the JobID as plain text. CreateTable=true with TableName puts the result of a single SELECT into that new MyDB table.");
        api.MapGet("/jobs", async (ClaimsPrincipal u, QueryJobService jobs, CancellationToken ct) =>
                TypedResults.Ok((await jobs.ListAsync(Caller.From(u), QueryJobService.MaxTop, ct)).Select(CasJobsJob.From).ToList()))
            .WithName("CasJobsListJobs").WithSummary("Your jobs, newest first: [{JobID, Status, Query, Context, TimeSubmit, TimeStart, TimeEnd, Rows, Message, OutputLoc, TaskName, Created_Table}].");
        api.MapGet("/jobs/{id:long}", async (long id, ClaimsPrincipal u, QueryJobService jobs, CancellationToken ct) =>
                TypedResults.Ok(CasJobsJob.From(await jobs.GetAsync(Caller.From(u), id, ct))))
            .WithName("CasJobsGetJob").WithSummary("A job's status: 0 Ready, 1 Started, 2 Canceling, 3 Canceled, 4 Failed, 5 Finished; times in epoch milliseconds.");
        api.MapDelete("/jobs/{id:long}", async (long id, ClaimsPrincipal u, QueryJobService jobs, CancellationToken ct) =>
                TypedResults.Ok(CasJobsJob.From(await jobs.CancelAsync(Caller.From(u), id, ct))))
            .WithName("CasJobsCancelJob").WithSummary("Cancel a job (a running one is stopped within a second).");
        return app;
    }

    private static async Task<IResult> SubmitAsync(string context, CasJobsSubmitRequest request, ClaimsPrincipal user, QueryJobService jobs, CancellationToken ct)
    {
        string? table = null;
        if (IsTrue(request.CreateTable))
        {
            table = string.IsNullOrWhiteSpace(request.TableName)
                ? throw Infrastructure.PlatformException.Invalid("CreateTable is true but TableName is empty: name the MyDB table the result goes into.", "TableName")
                : request.TableName.Trim();
        }

        var job = await jobs.SubmitAsync(Caller.From(user), context, request.Query, request.TaskName, table, ct);
        return TypedResults.Text(job.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), "text/plain");
    }

    // Python clients write True; JSON has true; some send "true" or 1.
    private static bool IsTrue(JsonElement? value) => value?.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.String => bool.TryParse(value.Value.GetString(), out var b) && b,
        JsonValueKind.Number => value.Value.TryGetInt64(out var n) && n != 0,
        _ => false,
    };
}
