using System.Security.Claims;
using OpenSciServer.Accounts;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.CasJobs.Jobs;

public static class QueryJobsSetup
{
    /// <summary>The long query service and its queue (a hosted service).</summary>
    public static void AddQueryJobs(this IServiceCollection services)
    {
        services.AddSingleton<QueryJobQueue>();
        services.AddHostedService(sp => sp.GetRequiredService<QueryJobQueue>());
        services.AddScoped<QueryJobService>();
    }
}

/// <summary>Long (queued) queries in the native API, <c>/api/casjobs/jobs</c>; SciServer's job routes adapt the same service.</summary>
public static class QueryJobEndpoints
{
    public static IEndpointRouteBuilder MapQueryJobEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/casjobs/jobs").WithTags("CasJobs").RequireAuthorization().RequireCors(PlatformCors.Api);
        api.MapPost("", SubmitAsync).WithName("SubmitQueryJob")
            .WithSummary("Submit a long query: queued (status 0), run in a sandboxed worker (1), ending Finished (5), Failed (4) or Canceled (3). Write results into MyDB with SELECT ... INTO mydb.T or CREATE TABLE mydb.T AS.");
        api.MapGet("", async (int? top, ClaimsPrincipal u, QueryJobService jobs, CancellationToken ct) => TypedResults.Ok(await jobs.ListAsync(Caller.From(u), top, ct)))
            .WithName("ListQueryJobs").WithSummary("Your long queries, newest first (top: how many, default 50).");
        api.MapGet("/{id:long}", async (long id, ClaimsPrincipal u, QueryJobService jobs, CancellationToken ct) => TypedResults.Ok(await jobs.GetAsync(Caller.From(u), id, ct)))
            .WithName("GetQueryJob").WithSummary("One of your long queries.");
        api.MapPost("/{id:long}/cancel", async (long id, ClaimsPrincipal u, QueryJobService jobs, CancellationToken ct) => TypedResults.Ok(await jobs.CancelAsync(Caller.From(u), id, ct)))
            .WithName("CancelQueryJob").WithSummary("Cancel a long query: a queued one at once (3), a running one is stopped (2, then 3).");
        api.MapPost("/{id:long}/rerun", RerunAsync).WithName("RerunQueryJob").WithSummary("Submit the same query in the same context again, as a new job.");
        return app;
    }

    private static async Task<Microsoft.AspNetCore.Http.HttpResults.Created<QueryJobResponse>> SubmitAsync(SubmitQueryJobRequest request, ClaimsPrincipal user, QueryJobService jobs, CancellationToken ct)
    {
        var job = await jobs.SubmitAsync(Caller.From(user), request.Context, request.Query, request.TaskName, intoTable: null, ct);
        return TypedResults.Created($"/api/casjobs/jobs/{job.Id}", job);
    }

    private static async Task<Microsoft.AspNetCore.Http.HttpResults.Created<QueryJobResponse>> RerunAsync(long id, ClaimsPrincipal user, QueryJobService jobs, CancellationToken ct)
    {
        var job = await jobs.RerunAsync(Caller.From(user), id, ct);
        return TypedResults.Created($"/api/casjobs/jobs/{job.Id}", job);
    }
}
