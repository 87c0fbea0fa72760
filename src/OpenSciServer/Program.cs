using OpenSciServer.Accounts;
using OpenSciServer.Authorization;
using OpenSciServer.CasJobs;
using OpenSciServer.CasJobs.MyDb;
using OpenSciServer.CasJobs.Contexts;
using OpenSciServer.CasJobs.Engines;
using OpenSciServer.CasJobs.Jobs;
using OpenSciServer.Compat;
using OpenSciServer.Compute;
using OpenSciServer.Files;
using OpenSciServer.Groups;
using OpenSciServer.Infrastructure;
using OpenSciServer.Jobs;
using OpenSciServer.Jobs.Schedules;
using OpenSciServer.Web;

// The same binary runs user SQL in a sandboxed worker process (CasJobs/Engines/QueryWorker.cs).
if (args is [QueryWorker.Verb, ..])
{
    Environment.ExitCode = await QueryWorker.RunAsync(Console.OpenStandardInput(), Console.OpenStandardOutput());
    return;
}

// Operator and benchmark tools on catalogues (CasJobs/CatalogCommands.cs).
if (args is [CatalogCommands.Verb, ..])
{
    Environment.ExitCode = CatalogCommands.Run(args[1..], Console.Out);
    return;
}

var builder = WebApplication.CreateBuilder(args);

builder.AddPlatformInfrastructure();
builder.AddAccounts();
builder.AddResourceAuthorization();
builder.AddGroups();
builder.AddFiles();
builder.AddCasJobs();
builder.AddCatalogContexts();
builder.AddCompute();
builder.AddJobs();
builder.AddJobSchedules();
builder.AddWeb();

var app = builder.Build();

await app.MigratePlatformDatabaseAsync();
await app.SeedAdminAsync();
await app.SeedGroupsAsync();
await app.SeedDemoContextAsync();
await app.PrepareCatalogContextsAsync();

app.UsePlatformErrorHandling();
app.UseRouting();
app.UseCors();
app.UseAuthentication();
app.UseAuthorization();
app.UseMiddleware<CookieCsrfMiddleware>();
app.UseAntiforgery();

app.MapPlatformInfrastructure();
app.MapAccountEndpoints();
app.MapKeystoneEndpoints();
app.MapResourceEndpoints();
app.MapGroupEndpoints();
app.MapFileEndpoints();
app.MapFileServiceEndpoints();
app.MapUgmEndpoints();
app.MapCasJobsEndpoints();
app.MapMyDbEndpoints();
app.MapCatalogContextEndpoints();
OpenSciServer.CasJobs.Engines.Postgres.PostgresSetup.MapPostgresMyDbEndpoints(app);
app.MapCasJobsRestEndpoints();
app.MapQueryJobEndpoints();
app.MapCasJobsJobsEndpoints();
app.MapCompute();
app.MapJobs();
app.MapJobScheduleEndpoints();
app.MapWeb();
app.PrintReadyBanner();

await app.RunAsync();

/// <summary>The entry point, visible to WebApplicationFactory in the tests.</summary>
public partial class Program;
