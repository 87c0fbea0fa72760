using Microsoft.Extensions.Options;
using OpenSciServer.Accounts;
using OpenSciServer.Astro;
using OpenSciServer.Authorization;
using OpenSciServer.CasJobs.Engines;
using OpenSciServer.CasJobs.MyDb;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.CasJobs;

public static partial class CasJobsSetup
{
    /// <summary>The demo context's name.</summary>
    public const string DemoContext = "Demo";

    /// <summary>HEALPix order of the catalogue index column (nside 65536, pixels of about 3 arcsec).</summary>
    public const int IndexOrder = 16;

    public static void AddCasJobs(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<CasJobsOptions>().BindConfiguration(CasJobsOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<QueryRunner>();
        builder.Services.AddSingleton<Sky.SkyIndexes>();
        builder.Services.AddScoped<QueryService>();
        Jobs.QueryJobsSetup.AddQueryJobs(builder.Services);
        builder.Services.AddMyDb();
        Engines.Postgres.PostgresSetup.AddPostgresCatalogs(builder.Services);
    }

    /// <summary>On first start, builds the synthetic demo catalogue and lets every user query it.</summary>
    public static async Task SeedDemoContextAsync(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var rows = app.Services.GetRequiredService<IOptions<CasJobsOptions>>().Value.DemoRows;
        await using var scope = app.Services.CreateAsyncScope();
        var access = scope.ServiceProvider.GetRequiredService<AccessService>();
        if (rows == 0 || await access.FindAsync(ResourceTypes.DatabaseContext, DemoContext, CancellationToken.None) is not null)
        {
            return;
        }

        var folder = Directory.CreateDirectory(Path.Combine(app.Services.DataPath(), "catalogs"));
        var path = Path.Combine(folder.FullName, "demo.duckdb");
        foreach (var stale in new[] { path, path + ".wal" }.Where(File.Exists))
        {
            // A crash during an earlier first start left a partial file.
            File.Delete(stale);
        }

        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("OpenSciServer.CasJobs");
        LogGenerating(logger, rows);
        DemoCatalog.Generate(path, rows, (ra, dec) => Healpix.Ang2Pix(IndexOrder, ra, dec), indexOrder: IndexOrder);
        var queries = scope.ServiceProvider.GetRequiredService<QueryService>();
        var context = await queries.RegisterContextAsync(DemoContext, path,
            $"SYNTHETIC demo catalogue of {rows:N0} X-ray sources shaped like eROSITA's (not real data): table {DemoCatalog.TableName}.", CancellationToken.None);
        var system = new Caller(Guid.Empty, "platform", IsAdmin: true);
        var resource = (await access.FindAsync(context.ResourceId, CancellationToken.None))!;
        await access.SetPrivilegeAsync(system, resource, PrincipalKind.Group, "public", ResourceActions.Query, CancellationToken.None);
    }

    [LoggerMessage(1310, LogLevel.Information, "Building the synthetic demo catalogue ({Rows} rows)")]
    private static partial void LogGenerating(ILogger logger, long rows);
}
