using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using OpenSciServer.Accounts;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.CasJobs.Contexts;

/// <summary>
/// The schema of a context (columns with descriptions and units, for everyone who may query it) and
/// the admins' API for contexts (<c>/api/admin/casjobs/contexts</c>).
/// </summary>
public static class ContextEndpoints
{
    public static IEndpointRouteBuilder MapCatalogContextEndpoints(this IEndpointRouteBuilder app)
    {
        var casjobs = app.MapGroup("/api/casjobs").WithTags("CasJobs").RequireCors(PlatformCors.Api);
        casjobs.MapGet("/contexts/{context}/tables/{table}/columns", ColumnsAsync).AllowAnonymous().WithName("ListColumns")
            .WithSummary("The columns of a table with their types, descriptions and units; for MyDB descriptions and units are empty. Answers without login for public contexts.");

        var admin = app.MapGroup("/api/admin/casjobs/contexts").WithTags("Admin").RequireAuthorization(PlatformAuth.AdminPolicy).RequireCors(PlatformCors.Api);
        admin.MapGet("", ListAsync).WithName("AdminListContexts").WithSummary("Every catalog context with its file, tables, time limit, whether it is public, and descriptions.");
        admin.MapPost("", RegisterAsync).WithName("AdminRegisterContext")
            .WithSummary("Register a context: a DuckDB file in a read-only data volume (path DataVolume/folder/file.duckdb) or a PostgreSQL schema (201 with the context); " +
                "or import a CSV, Parquet or FITS file there into a new catalog (202 with the import, which runs in the background; the context is registered when it is Ready).");
        admin.MapGet("/{name}", GetAsync).WithName("AdminGetContext").WithSummary("One context, as in the list.");
        admin.MapPut("/{name}", UpdateAsync).WithName("AdminUpdateContext")
            .WithSummary("Change a context's description, quick-query time limit (1-3600 s; 0 restores the default) or whether anyone may query it without login (isPublic).");
        admin.MapDelete("/{name}", UnregisterAsync).WithName("AdminUnregisterContext")
            .WithSummary("Unregister a context: its registration, descriptions and privileges go; a file you pointed to stays, a file the platform imported is deleted.");
        admin.MapPut("/{name}/descriptions", SetDescriptionsAsync).WithName("AdminSetContextDescriptions")
            .WithSummary("Describe tables and columns: [{table, column, description, unit}] (column empty for the table); empty text and unit remove an entry. Unknown tables or columns are refused.");

        var imports = app.MapGroup("/api/admin/casjobs/imports").WithTags("Admin").RequireAuthorization(PlatformAuth.AdminPolicy).RequireCors(PlatformCors.Api);
        imports.MapGet("", ListImportsAsync).WithName("AdminListCatalogImports")
            .WithSummary("Catalog imports, newest first (finished ones for 30 days): state, phase, rows and bytes read, spill, elapsed, the error of a failed one.");
        imports.MapGet("/{id}", GetImportAsync).WithName("AdminGetCatalogImport")
            .WithSummary("One catalog import: state (Queued, Importing, Ready, Failed, Canceled), phase (queued, reading, sorting, writing, done), rows read of the total where known, bytes of the file read, elapsed seconds.");
        imports.MapPost("/{id}/cancel", CancelImportAsync).WithName("AdminCancelCatalogImport")
            .WithSummary("Cancel a queued or running import: its worker stops, its partial catalog is removed, nothing is registered. 409 once it has ended.");
        return app;
    }

    private static Ok<IReadOnlyList<CatalogImportInfo>> ListImportsAsync(CatalogImports imports) => TypedResults.Ok(imports.List());

    private static Ok<CatalogImportInfo> GetImportAsync(string id, CatalogImports imports) => TypedResults.Ok(imports.Get(id));

    private static Ok<CatalogImportInfo> CancelImportAsync(string id, ClaimsPrincipal user, CatalogImports imports) =>
        TypedResults.Ok(imports.Cancel(Caller.From(user), id));

    private static async Task<Ok<IReadOnlyList<CatalogColumn>>> ColumnsAsync(string context, string table, HttpContext http, CatalogContextService contexts, CancellationToken ct) =>
        TypedResults.Ok(await contexts.ColumnsAsync(AnonymousQueries.QueryCallerOf(http), context, table, ct));

    private static async Task<Ok<IReadOnlyList<AdminContextInfo>>> ListAsync(ClaimsPrincipal user, CatalogContextService contexts, CancellationToken ct) =>
        TypedResults.Ok(await contexts.ListAsync(Caller.From(user), ct));

    private static async Task<Ok<AdminContextInfo>> GetAsync(string name, ClaimsPrincipal user, CatalogContextService contexts, CancellationToken ct) =>
        TypedResults.Ok(await contexts.GetAsync(Caller.From(user), name, ct));

    private static async Task<Results<Created<AdminContextInfo>, Accepted<CatalogImportInfo>>> RegisterAsync(RegisterContextRequest request, ClaimsPrincipal user,
        CatalogContextService contexts, CancellationToken ct)
    {
        var registered = await contexts.RegisterAsync(Caller.From(user), request, ct);
        return registered.Import is { } import
            ? TypedResults.Accepted($"/api/admin/casjobs/imports/{import.Id}", import)
            : TypedResults.Created($"/api/admin/casjobs/contexts/{registered.Context!.Name}", registered.Context);
    }

    private static async Task<Ok<AdminContextInfo>> UpdateAsync(string name, UpdateContextRequest request, ClaimsPrincipal user, CatalogContextService contexts, CancellationToken ct) =>
        TypedResults.Ok(await contexts.UpdateAsync(Caller.From(user), name, request, ct));

    private static async Task<NoContent> UnregisterAsync(string name, ClaimsPrincipal user, CatalogContextService contexts, CancellationToken ct)
    {
        await contexts.UnregisterAsync(Caller.From(user), name, ct);
        return TypedResults.NoContent();
    }

    private static async Task<Ok<IReadOnlyList<ContextDescription>>> SetDescriptionsAsync(string name, IReadOnlyList<DescriptionInput> request, ClaimsPrincipal user,
        CatalogContextService contexts, CancellationToken ct) =>
        TypedResults.Ok(await contexts.SetDescriptionsAsync(Caller.From(user), name, request, ct));
}
