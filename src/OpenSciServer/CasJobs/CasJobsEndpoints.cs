using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using OpenSciServer.Accounts;
using OpenSciServer.CasJobs.Contexts;
using OpenSciServer.CasJobs.Engines;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.CasJobs;

public sealed record QueryRequest(string? Query);

public sealed record ResultSetResponse(IReadOnlyList<WorkerColumn> Columns, IReadOnlyList<JsonElement[]> Rows, bool Truncated);

public sealed record QueryResponse(IReadOnlyList<ResultSetResponse> ResultSets, IReadOnlyList<long> RowsAffected);

/// <summary>The native catalog query API (<c>/api/casjobs</c>); SciServer's CasJobs routes adapt the same service.</summary>
public static class CasJobsEndpoints
{
    public static IEndpointRouteBuilder MapCasJobsEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/casjobs").WithTags("CasJobs").RequireAuthorization().RequireCors(PlatformCors.Api);
        // Without login these answer for contexts shared with the group public (Contexts/AnonymousQueries.cs).
        api.MapGet("/contexts", async (HttpContext http, QueryService q, CancellationToken ct) => TypedResults.Ok(await q.ContextsAsync(AnonymousQueries.CallerOf(http), ct)))
            .AllowAnonymous().WithName("ListContexts").WithSummary("Contexts (catalogs) you may query, and MyDB; without login, the public contexts.");
        api.MapGet("/contexts/{context}/tables", async (string context, HttpContext http, QueryService q, CancellationToken ct) =>
                TypedResults.Ok(await q.TablesAsync(AnonymousQueries.QueryCallerOf(http), context, ct)))
            .AllowAnonymous().WithName("ListTables").WithSummary("The tables of a context, or of your MyDB, with row and column counts and descriptions.");
        api.MapPost("/contexts/{context}/query", QuickAsync).AllowAnonymous().WithName("QuickQuery").Produces<QueryResponse>()
            .WithSummary("Run a quick query (T-SQL as in SciServer CasJobs, or DuckDB SQL) with the context's time and row limits; format=csv|fits|votable|votable-binary2|parquet returns the first result set as a file.");
        return app;
    }

    private static async Task<IResult> QuickAsync(string context, string? format, QueryRequest request, HttpContext http, QueryService queries, CancellationToken ct)
    {
        var outcome = await queries.QuickAsync(AnonymousQueries.QueryCallerOf(http), context, request.Query, ct);
        if (string.Equals(format, "parquet", StringComparison.OrdinalIgnoreCase))
        {
            return await MyDb.MyDbEndpoints.ParquetResultAsync(http, outcome, ct);
        }

        if (await ResultFormats.FileResultAsync(outcome, format?.ToLowerInvariant(), ct) is { } file)
        {
            return file;
        }

        return TypedResults.Ok(new QueryResponse(outcome.ResultSets.Select(s => new ResultSetResponse(s.Columns, s.Rows, s.Truncated)).ToList(), outcome.Affected));
    }
}
