namespace OpenSciServer.CasJobs.Engines.Postgres;

/// <summary>The PostgreSQL catalog engine's services and its one route of its own (the MyDB schemas in PostgreSQL).</summary>
public static class PostgresSetup
{
    public static IServiceCollection AddPostgresCatalogs(this IServiceCollection services)
    {
        services.AddSingleton<PostgresEngine>();
        services.AddScoped<PostgresCatalogs>();
        services.AddHostedService<PostgresOrphans>();
        MyDb.PostgresMyDbEndpoints.AddPostgresMyDb(services);
        return services;
    }

    public static IEndpointRouteBuilder MapPostgresMyDbEndpoints(this IEndpointRouteBuilder app)
    {
        // The routes live with MyDB (MyDb/PostgresMyDbEndpoints.cs): listing with quota, drop, rename.
        MyDb.PostgresMyDbEndpoints.MapPostgresMyDbTables(app);
        return app;
    }
}
