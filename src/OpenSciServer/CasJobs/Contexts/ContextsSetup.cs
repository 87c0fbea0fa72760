using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.CasJobs.Contexts;

public static partial class ContextsSetup
{
    public static void AddCatalogContexts(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddScoped<CatalogContextService>();
        builder.Services.AddSingleton<CatalogImports>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<CatalogImports>());
        builder.Services.AddSingleton<AnonymousQueryLimiter>();
        builder.Services.AddSingleton<CatalogSchemaCache>();
    }

    /// <summary>
    /// At start: fails the imports a crash or stop interrupted (their workers killed, their folders removed) and queues again the
    /// ones that had not started (<see cref="CatalogImports.RecoverAsync"/>); removes other import folders a crash left behind
    /// (once older than any import may run), and gives the platform's demo context its
    /// descriptions and units where it has none (also on servers whose demo predates them).
    /// </summary>
    public static async Task PrepareCatalogContextsAsync(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        await using var scope = app.Services.CreateAsyncScope();
        var service = scope.ServiceProvider.GetRequiredService<CatalogContextService>();
        await app.Services.GetRequiredService<CatalogImports>().RecoverAsync(app.Lifetime.ApplicationStopping);
        if (Directory.Exists(service.CatalogsFolder))
        {
            // Older than any import may run: no other server process sharing the data directory is still building it.
            var before = app.Services.GetRequiredService<TimeProvider>().GetUtcNow() - app.Services.GetRequiredService<IOptions<CasJobsOptions>>().Value.CatalogImportTimeout;
            foreach (var stale in Directory.EnumerateDirectories(service.CatalogsFolder, CatalogContextService.ImportFolderPrefix + "*")
                         .Where(d => Directory.GetLastWriteTimeUtc(d) < before.UtcDateTime))
            {
                Directory.Delete(stale, recursive: true);
            }
        }

        var db = scope.ServiceProvider.GetRequiredService<PlatformDbContext>();
        var demo = await db.Set<CatalogContext>().FirstOrDefaultAsync(c => c.Name == CasJobsSetup.DemoContext);
        // Only the platform's own demo file: an admin's catalog that happens to be called Demo is left alone.
        if (demo is null || !service.BuiltByPlatform(demo) || await db.Set<CatalogDescription>().AnyAsync(d => d.ContextId == demo.Id))
        {
            return;
        }

        db.Add(new CatalogDescription { ContextId = demo.Id, Table = DemoCatalog.TableName, Description = DemoDescriptions.Table });
        foreach (var (column, description, unit) in DemoDescriptions.Columns)
        {
            db.Add(new CatalogDescription { ContextId = demo.Id, Table = DemoCatalog.TableName, Column = column, Description = description, Unit = unit });
        }

        await db.SaveChangesAsync();
        LogSeeded(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("OpenSciServer.CasJobs"));
    }

    [LoggerMessage(1322, LogLevel.Information, "Described the demo catalogue's columns and units")]
    private static partial void LogSeeded(ILogger logger);
}
