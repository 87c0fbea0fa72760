using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace OpenSciServer.Infrastructure;

internal static class DatabaseSetup
{
    /// <summary>Registers <see cref="PlatformDbContext"/> on the configured provider.</summary>
    public static void AddPlatformDatabase(this WebApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection(DatabaseOptions.SectionName).Get<DatabaseOptions>() ?? new DatabaseOptions();
        var connectionString = builder.Configuration.GetConnectionString("Platform");
        if (options.IsPostgres)
        {
            if (string.IsNullOrWhiteSpace(connectionString))
            {
                throw new OptionsValidationException(DatabaseOptions.SectionName, typeof(DatabaseOptions),
                    ["Database:Provider is PostgreSQL but ConnectionStrings:Platform is empty. Set it, e.g. 'Host=db;Database=opensciserver;Username=oss;Password=...'."]);
            }

            builder.Services.AddDbContext<PostgresPlatformDbContext>(o => o.UseNpgsql(connectionString));
            builder.Services.AddScoped<PlatformDbContext>(sp => sp.GetRequiredService<PostgresPlatformDbContext>());
        }
        else
        {
            builder.Services.AddDbContext<SqlitePlatformDbContext>((sp, o) =>
            {
                var cs = connectionString;
                if (string.IsNullOrWhiteSpace(cs))
                {
                    var data = sp.GetRequiredService<IOptions<PlatformOptions>>().Value.DataPath;
                    cs = new SqliteConnectionStringBuilder { DataSource = Path.Combine(data, "platform.db"), Pooling = true }.ToString();
                }

                o.UseSqlite(cs);
            });
            builder.Services.AddScoped<PlatformDbContext>(sp => sp.GetRequiredService<SqlitePlatformDbContext>());
        }

        builder.Services.AddHealthChecks().AddCheck<DatabaseHealthCheck>("database");
    }

    /// <summary>Applies pending migrations of the configured provider before the host serves anything.</summary>
    public static async Task MigratePlatformDatabaseAsync(this WebApplication app)
    {
        await using var scope = app.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PlatformDbContext>();
        if (db.Database.IsSqlite())
        {
            // WAL lets the dashboard read while a writer commits; set once, it is stored in the file.
            await db.Database.OpenConnectionAsync();
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;");
            await db.Database.CloseConnectionAsync();
        }

        await db.Database.MigrateAsync();
        if (db.Database.IsSqlite() && db.Database.GetDbConnection().DataSource is { Length: > 0 } file && File.Exists(file) && !OperatingSystem.IsWindows())
        {
            // Password hashes and token hashes live here: the platform's account only.
            foreach (var part in new[] { file, file + "-wal", file + "-shm" }.Where(File.Exists))
            {
                File.SetUnixFileMode(part, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
        }
    }
}

internal sealed class DatabaseHealthCheck(PlatformDbContext db) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        await db.Database.CanConnectAsync(cancellationToken)
            ? HealthCheckResult.Healthy()
            : HealthCheckResult.Unhealthy("The platform database does not answer.");
}
