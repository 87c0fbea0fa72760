using System.Security.Claims;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using OpenSciServer.Accounts;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.CasJobs.MyDb;

public sealed record RenameTableRequest(string? Name);

public sealed record ImportTableRequest(string? Path, string? Table, string? Format);

public sealed record ExportTableRequest(string? Path, string? Format, bool Overwrite = false);

/// <summary>MyDB management, sharing, import and export (<c>/api/casjobs/mydb</c>).</summary>
public static class MyDbEndpoints
{
    public static IServiceCollection AddMyDb(this IServiceCollection services)
    {
        services.AddScoped<MyDbAccess>();
        services.AddScoped<MyDbService>();
        return services;
    }

    public static IEndpointRouteBuilder MapMyDbEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/casjobs/mydb").WithTags("CasJobs: MyDB").RequireAuthorization().RequireCors(PlatformCors.Api);
        api.MapGet("", async (ClaimsPrincipal u, MyDbService s, CancellationToken ct) => TypedResults.Ok(await s.OverviewAsync(Caller.From(u), ct)))
            .WithName("MyDbOverview").WithSummary("Your MyDB: space used and quota, and each table with rows, columns, size and creation date.");
        api.MapGet("/shared", async (ClaimsPrincipal u, MyDbService s, CancellationToken ct) => TypedResults.Ok(await s.SharedWithMeAsync(Caller.From(u), ct)))
            .WithName("MyDbSharedWithMe").WithSummary("Tables others shared with you, and the name to use in SQL (shared.owner.table).");
        api.MapPost("/import", async (ImportTableRequest r, ClaimsPrincipal u, MyDbService s, CancellationToken ct) =>
                TypedResults.Ok(await s.ImportAsync(Caller.From(u), r.Path, r.Table, r.Format, ct)))
            .WithName("MyDbImport").WithSummary("Create a table from a CSV, Parquet or FITS (binary table) file in a volume you may read.");
        var table = api.MapGroup("/tables/{table}");
        table.MapGet("", async (string table, ClaimsPrincipal u, MyDbService s, CancellationToken ct) => TypedResults.Ok(await s.DescribeAsync(Caller.From(u), table, ct)))
            .WithName("MyDbTable").WithSummary("A table of your MyDB with its columns and types.");
        table.MapPatch("", async (string table, RenameTableRequest r, ClaimsPrincipal u, MyDbService s, CancellationToken ct) =>
                TypedResults.Ok(await s.RenameAsync(Caller.From(u), table, r.Name, ct)))
            .WithName("MyDbRenameTable").WithSummary("Rename a table; its sharing follows it.");
        table.MapDelete("", async (string table, ClaimsPrincipal u, MyDbService s, CancellationToken ct) =>
            {
                await s.DropAsync(Caller.From(u), table, ct);
                return TypedResults.NoContent();
            })
            .WithName("MyDbDropTable").WithSummary("Drop a table (and stop sharing it); this frees its space for the quota.");
        table.MapGet("/download", DownloadAsync).WithName("MyDbDownloadTable")
            .WithSummary("The whole table as a file: format=csv (default), fits, votable, votable-binary2 or parquet.");
        table.MapPost("/export", async (string table, ExportTableRequest r, ClaimsPrincipal u, MyDbService s, CancellationToken ct) =>
                TypedResults.Ok(await s.ExportAsync(Caller.From(u), table, r.Path, r.Format, r.Overwrite, ct)))
            .WithName("MyDbExportTable").WithSummary("Write the table into a volume you may write (csv, fits, votable, votable-binary2, parquet; from the file name if not given).");
        table.MapPost("/upload", UploadAsync).WithName("MyDbUploadTable")
            .WithSummary("Create the table from the request body: format=csv (default, with a header line), parquet or fits.");
        table.MapGet("/sharing", async (string table, ClaimsPrincipal u, MyDbService s, CancellationToken ct) => TypedResults.Ok(await s.SharingAsync(Caller.From(u), table, ct)))
            .WithName("MyDbTableSharing").WithSummary("Users and groups the table is shared with (read-only).");
        table.MapPut("/sharing", async (string table, List<TableSharing> r, ClaimsPrincipal u, MyDbService s, CancellationToken ct) =>
                TypedResults.Ok(await s.ShareAsync(Caller.From(u), table, r, ct)))
            .WithName("MyDbShareTable").WithSummary("Replace whom the table is shared with: [{name, kind: \"user\"|\"group\"}]; they query it as shared.<you>.<table>.");
        return app;
    }

    /// <summary>Sends a quick query's first result set as Parquet (DuckDB writes it in a worker).</summary>
    public static async Task<IResult> ParquetResultAsync(HttpContext http, Engines.QueryOutcome outcome, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(outcome);
        if (outcome.ResultSets.Count == 0)
        {
            throw PlatformException.Invalid("The query returned no result set to put in a file.", "query");
        }

        var service = http.RequestServices.GetRequiredService<MyDbService>();
        var file = await service.ParquetAsync(Caller.From(http.User), outcome.ResultSets[0], ct);
        return TypedResults.Stream(file.Stream, file.ContentType, file.FileName);
    }

    private static async Task<FileStreamHttpResult> DownloadAsync(string table, string? format, ClaimsPrincipal u, MyDbService s, CancellationToken ct)
    {
        var file = await s.DownloadAsync(Caller.From(u), table, format, ct);
        return TypedResults.Stream(file.Stream, file.ContentType, file.FileName);
    }

    private static async Task<Ok<TableLoaded>> UploadAsync(string table, string? format, HttpContext http, MyDbService s, CancellationToken ct)
    {
        // The MyDB quota bounds an upload, not the server's default request size.
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = null;
        }

        return TypedResults.Ok(await s.UploadAsync(Caller.From(http.User), table, format, http.Request.Body, http.Request.ContentLength, ct));
    }
}
