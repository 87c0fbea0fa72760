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
            .WithSummary("Register a context: a DuckDB file in a read-only data volume (path DataVolume/folder/file.duckdb), or a new one imported from a CSV or Parquet file there.");
        admin.MapGet("/{name}", GetAsync).WithName("AdminGetContext").WithSummary("One context, as in the list.");
        admin.MapPut("/{name}", UpdateAsync).WithName("AdminUpdateContext")
            .WithSummary("Change a context's description, quick-query time limit (1-3600 s; 0 restores the default) or whether anyone may query it without login (isPublic).");
        admin.MapDelete("/{name}", UnregisterAsync).WithName("AdminUnregisterContext")
            .WithSummary("Unregister a context: its registration, descriptions and privileges go; a file you pointed to stays, a file the platform imported is deleted.");
        admin.MapPut("/{name}/descriptions", SetDescriptionsAsync).WithName("AdminSetContextDescriptions")
            .WithSummary("Describe tables and columns: [{table, column, description, unit}] (column empty for the table); empty text and unit remove an entry. Unknown tables or columns are refused.");
        return app;
    }

    private static async Task<Ok<IReadOnlyList<CatalogColumn>>> ColumnsAsync(string context, string table, HttpContext http, CatalogContextService contexts, CancellationToken ct) =>
        TypedResults.Ok(await contexts.ColumnsAsync(AnonymousQueries.QueryCallerOf(http), context, table, ct));

    private static async Task<Ok<IReadOnlyList<AdminContextInfo>>> ListAsync(ClaimsPrincipal user, CatalogContextService contexts, CancellationToken ct) =>
        TypedResults.Ok(await contexts.ListAsync(Caller.From(user), ct));

    private static async Task<Ok<AdminContextInfo>> GetAsync(string name, ClaimsPrincipal user, CatalogContextService contexts, CancellationToken ct) =>
        TypedResults.Ok(await contexts.GetAsync(Caller.From(user), name, ct));

    private static async Task<Created<AdminContextInfo>> RegisterAsync(RegisterContextRequest request, ClaimsPrincipal user, CatalogContextService contexts, CancellationToken ct)
    {
        var context = await contexts.RegisterAsync(Caller.From(user), request, ct);
        return TypedResults.Created($"/api/admin/casjobs/contexts/{context.Name}", context);
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
