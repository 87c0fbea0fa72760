using System.Security.Claims;
using OpenSciServer.Accounts;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.CasJobs.Engines.Postgres;

/// <summary>The PostgreSQL catalog engine's services and its one route of its own (the MyDB schemas in PostgreSQL).</summary>
public static class PostgresSetup
{
    public static IServiceCollection AddPostgresCatalogs(this IServiceCollection services)
    {
        services.AddSingleton<PostgresEngine>();
        services.AddScoped<PostgresCatalogs>();
        return services;
    }

    public static IEndpointRouteBuilder MapPostgresMyDbEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGroup("/api/casjobs/mydb").WithTags("CasJobs: MyDB").RequireAuthorization().RequireCors(PlatformCors.Api)
            .MapGet("/postgres", async (ClaimsPrincipal u, PostgresCatalogs s, CancellationToken ct) => TypedResults.Ok(await s.MyDbsAsync(Caller.From(u), ct)))
            .WithName("MyDbPostgres")
            .WithSummary("Your MyDB schemas in the PostgreSQL databases of the contexts you query (one per database, named mydb_<you>), with their tables.");
        return app;
    }
}
