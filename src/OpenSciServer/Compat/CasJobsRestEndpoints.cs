using System.Security.Claims;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using OpenSciServer.Accounts;
using OpenSciServer.CasJobs;
using OpenSciServer.CasJobs.Contexts;

namespace OpenSciServer.Compat;

/// <summary>SciServer CasJobs' quick query body: <c>{"Query": ..., "TaskName": ...}</c>.</summary>
public sealed record CasJobsQueryRequest(
    [property: JsonPropertyName("Query")] string? Query,
    [property: JsonPropertyName("TaskName")] string? TaskName);

public sealed record CasJobsResultSet(
    [property: JsonPropertyName("Columns")] IReadOnlyList<string> Columns,
    [property: JsonPropertyName("Data")] IReadOnlyList<System.Text.Json.JsonElement[]> Data);

public sealed record CasJobsUser([property: JsonPropertyName("WebServicesId")] int WebServicesId);

public sealed record CasJobsTable(
    [property: JsonPropertyName("Name")] string Name,
    [property: JsonPropertyName("Rows")] long Rows,
    [property: JsonPropertyName("Size")] long? Size,
    [property: JsonPropertyName("Date")] DateTimeOffset? Date);

public sealed record CasJobsQueryResponse([property: JsonPropertyName("Result")] IReadOnlyList<CasJobsResultSet> Result);

/// <summary>SciServer CasJobs REST routes (<c>/CasJobs/RestApi</c>) as adapters onto the query service.</summary>
public static class CasJobsRestEndpoints
{
    public static IEndpointRouteBuilder MapCasJobsRestEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/CasJobs/RestApi").WithTags("SciServer: CasJobs").RequireAuthorization().RequireCors(Infrastructure.PlatformCors.Api);
        api.MapGet("/contexts/{context}/Tables", TablesAsync)
            .AllowAnonymous().WithName("CasJobsTables").WithSummary("Tables of a context: [{Name, Rows, Size, Date}] (Size in bytes; Date: MyDB tables' creation, catalog tables' registration).");
        api.MapGet("/users/{userId}", (string userId, ClaimsPrincipal u) => GetUser(userId, u))
            .WithName("CasJobsUser").WithSummary("Your CasJobs identity, {WebServicesId}; SciScript names your schema wsid_<id> from it. Only your own id answers.");
        api.MapPost("/contexts/{context}/Tables/{table}", UploadAsync).WithName("CasJobsUploadTable")
            .WithSummary("Create a MyDB table from a CSV body with a header row (column types inferred: BIGINT, DOUBLE or VARCHAR).");
        api.MapPost("/contexts/{context}/query", QuickAsync).AllowAnonymous().WithName("CasJobsQuickQuery")
            .WithSummary("Quick query. Accept: application/json+array gives {Result:[{Columns,Data}]} (one entry per statement); text/plain gives CSV; application/fits gives a FITS binary table; application/x-votable+xml a VOTable (TABLEDATA).");
        return app;
    }

    private static Microsoft.AspNetCore.Http.HttpResults.Ok<CasJobsUser> GetUser(string userId, ClaimsPrincipal user)
    {
        var caller = Caller.From(user);
        if (!Guid.TryParse(userId, out var id) || id != caller.UserId)
        {
            throw Infrastructure.PlatformException.NotFound("No such user.");
        }

        // A stable positive number per account (the GUID's first 31 bits); SciServer's ids were integers.
        Span<byte> bytes = stackalloc byte[16];
        id.TryWriteBytes(bytes);
        return TypedResults.Ok(new CasJobsUser(BitConverter.ToInt32(bytes) & int.MaxValue));
    }

    private static async Task<Ok<List<CasJobsTable>>> TablesAsync(string context, HttpContext http, QueryService queries, CasJobs.MyDb.MyDbService myDb, CancellationToken ct)
    {
        var caller = AnonymousQueries.QueryCallerOf(http);
        var tables = await queries.TablesAsync(caller, context, ct, withSizes: true);
        if (!string.Equals(context, QueryService.MyDbContext, StringComparison.OrdinalIgnoreCase))
        {
            return TypedResults.Ok(tables.Select(t => new CasJobsTable(t.Name, t.Rows, t.SizeBytes, t.CreatedAt)).ToList());
        }

        // MyDB: its own listing knows each table's size and creation time.
        var known = (await myDb.OverviewAsync(caller, ct)).Tables.ToDictionary(t => t.Name, StringComparer.OrdinalIgnoreCase);
        return TypedResults.Ok(tables.Select(t => known.TryGetValue(t.Name, out var m)
            ? new CasJobsTable(t.Name, m.Rows, m.SizeBytes, m.CreatedAt)
            : new CasJobsTable(t.Name, t.Rows, null, null)).ToList());
    }

    private static async Task<IResult> UploadAsync(string context, string table, HttpContext http, ClaimsPrincipal user, QueryService queries, CancellationToken ct)
    {
        if (http.Request.ContentLength > CsvTable.MaxBytes)
        {
            throw new Infrastructure.PlatformException(Infrastructure.ProblemKind.TooLarge, $"A CSV upload is at most {CsvTable.MaxBytes / (1024 * 1024)} MiB; import bigger files from a volume.");
        }

        if (http.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = CsvTable.MaxBytes;
        }

        using var reader = new StreamReader(http.Request.Body);
        var text = new System.Text.StringBuilder();
        var chunk = new char[81920];
        int read;
        while ((read = await reader.ReadAsync(chunk.AsMemory(), ct)) > 0)
        {
            text.Append(chunk, 0, read);
            if (text.Length > CsvTable.MaxBytes)
            {
                throw new Infrastructure.PlatformException(Infrastructure.ProblemKind.TooLarge, $"A CSV upload is at most {CsvTable.MaxBytes / (1024 * 1024)} MiB; import bigger files from a volume.");
            }
        }

        var rows = await queries.UploadCsvAsync(Caller.From(user), context, table, text.ToString(), ct);
        return TypedResults.Ok(new { Rows = rows });
    }

    private static async Task<IResult> QuickAsync(string context, CasJobsQueryRequest request, HttpContext http, QueryService queries, CancellationToken ct)
    {
        // Anonymous where the context is public, as in SciServer.
        var outcome = await queries.QuickAsync(AnonymousQueries.QueryCallerOf(http), context, request.Query, ct);
        var accept = http.Request.Headers.Accept.ToString();
        if (ResultFormats.FromAccept(accept) == "parquet")
        {
            return await CasJobs.MyDb.MyDbEndpoints.ParquetResultAsync(http, outcome, ct);
        }

        if (await ResultFormats.FileResultAsync(outcome, ResultFormats.FromAccept(accept), ct) is { } file)
        {
            return file;
        }

        return TypedResults.Ok(new CasJobsQueryResponse(outcome.ResultSets.Select(s => new CasJobsResultSet(s.Columns.Select(c => c.Name).ToList(), s.Rows)).ToList()));
    }
}
