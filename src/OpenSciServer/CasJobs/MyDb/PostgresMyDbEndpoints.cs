using System.Security.Claims;
using OpenSciServer.Accounts;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.CasJobs.MyDb;

/// <summary>The caller's MyDB schemas in PostgreSQL (<c>/api/casjobs/mydb/postgres</c>): listing with quota, a table's columns, drop, rename.</summary>
public static class PostgresMyDbEndpoints
{
    public static IServiceCollection AddPostgresMyDb(this IServiceCollection services)
    {
        services.AddScoped<PostgresMyDbService>();
        return services;
    }

    public static IEndpointRouteBuilder MapPostgresMyDbTables(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/casjobs/mydb/postgres").WithTags("CasJobs: MyDB").RequireAuthorization().RequireCors(PlatformCors.Api);
        api.MapGet("", async (ClaimsPrincipal u, PostgresMyDbService s, CancellationToken ct) => TypedResults.Ok(await s.ListAsync(Caller.From(u), ct)))
            .WithName("MyDbPostgres")
            .WithSummary("Your MyDB schemas in the PostgreSQL databases of the contexts you query (one per database, named mydb_<you>): size, quota and tables.");
        var table = api.MapGroup("/{server}/{database}/tables/{table}");
        table.MapGet("", async (string server, string database, string table, ClaimsPrincipal u, PostgresMyDbService s, CancellationToken ct) =>
                TypedResults.Ok(await s.DescribeAsync(Caller.From(u), server, database, table, ct)))
            .WithName("MyDbPostgresTable").WithSummary("A table of your MyDB in a PostgreSQL database: rows, size and columns.");
        table.MapPatch("", async (string server, string database, string table, RenameTableRequest r, ClaimsPrincipal u, PostgresMyDbService s, CancellationToken ct) =>
                TypedResults.Ok(await s.RenameAsync(Caller.From(u), server, database, table, r.Name, ct)))
            .WithName("MyDbPostgresRenameTable").WithSummary("Rename a table of your MyDB in a PostgreSQL database (the new name is folded to lower case).");
        table.MapDelete("", async (string server, string database, string table, ClaimsPrincipal u, PostgresMyDbService s, CancellationToken ct) =>
            {
                await s.DropAsync(Caller.From(u), server, database, table, ct);
                return TypedResults.NoContent();
            })
            .WithName("MyDbPostgresDropTable").WithSummary("Drop a table of your MyDB in a PostgreSQL database (as your own role); frees its space for the quota.");
        return app;
    }
}
