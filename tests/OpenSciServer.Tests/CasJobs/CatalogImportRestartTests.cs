using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OpenSciServer.CasJobs.Jobs;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.CasJobs;

/// <summary>
/// The platform killed (SIGKILL) while a catalog import runs and another waits: after the restart the running one is Failed,
/// its worker and partial catalog gone; the waiting one runs.
/// </summary>
public sealed class CatalogImportRestartTests : IAsyncLifetime
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "oss-test-import-" + Guid.NewGuid().ToString("N")[..8]);

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        Directory.Delete(_data, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task KillPlatformDuringAnImport_AfterRestart_ImportIsFailed_PartialCatalogAndWorkerGone_QueuedOneRuns_TheNameCanBeImportedAgain()
    {
        const string name = "Survey";
        var catalogs = Path.Combine(_data, "catalogs");
        var volume = Directory.CreateDirectory(Path.Combine(_data, "volumes", "Data", "surveys")).FullName;
        // Still being read and sorted a few seconds after it starts (the test kills the platform then).
        var big = CatalogFiles.WriteParquet(volume, "big.parquet", 2_000_000);
        var small = CatalogFiles.Write(volume, "small.csv", 500);
        string id, queued;
        List<int> workers;
        await using (var server = new ServerProcess(_data))
        {
            await server.StartAsync();
            using var admin = await server.ClientAsync("admin", PlatformFactory.AdminPassword);
            (await admin.PostAsJsonAsync("/api/admin/data-volumes", new { name = "surveys", path = volume })).EnsureSuccessStatusCode();
            var response = await admin.PostAsJsonAsync("/api/admin/casjobs/contexts", new { name, path = "surveys/big.parquet" });
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
            var work = Path.Combine(catalogs, ".import-" + id);
            // The worker has started and reports (its progress file is in the import's folder).
            Assert.True(await EventuallyAsync(() => File.Exists(Path.Combine(work, "progress.json")) && Workers(work).Count > 0), "the import's worker did not start");
            var running = await admin.GetFromJsonAsync<JsonElement>($"/api/admin/casjobs/imports/{id}");
            Assert.Equal("Importing", running.GetProperty("state").GetString());
            // Accepted behind it: still Queued when the platform dies, it must run after the restart.
            var waiting = await admin.PostAsJsonAsync("/api/admin/casjobs/contexts", new { name = "Waiting", path = "surveys/small.csv" });
            queued = (await waiting.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
            Assert.Equal("Queued", (await admin.GetFromJsonAsync<JsonElement>($"/api/admin/casjobs/imports/{queued}")).GetProperty("state").GetString());
            workers = Workers(work);
            await server.KillAsync(entireProcessTree: false);
            Assert.True(Directory.Exists(work), "the partial import should be there when the platform dies");
        }

        await using (var restarted = new ServerProcess(_data))
        {
            await restarted.StartAsync();
            using var admin = await restarted.ClientAsync("admin", PlatformFactory.AdminPassword);
            var failed = await admin.GetFromJsonAsync<JsonElement>($"/api/admin/casjobs/imports/{id}");
            var context = await admin.GetAsync($"/api/admin/casjobs/contexts/{name}");
            var query = await admin.PostAsJsonAsync($"/api/casjobs/contexts/{name}/query", new { query = "SELECT 1" });

            Assert.Equal("Failed", failed.GetProperty("state").GetString());
            Assert.Contains("The platform stopped while this import ran", failed.GetProperty("error").GetString(), StringComparison.Ordinal);
            Assert.True(workers.All(pid => !QueryJobQueue.IsProcessAlive(pid)), "the orphaned import worker still runs");
            Assert.Empty(Directory.EnumerateDirectories(catalogs, ".import-*"));
            Assert.False(File.Exists(Path.Combine(catalogs, "survey.duckdb")));
            Assert.Equal(HttpStatusCode.NotFound, context.StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, query.StatusCode);

            JsonElement resumed = default;
            Assert.True(await EventuallyAsync(async () =>
            {
                resumed = await admin.GetFromJsonAsync<JsonElement>($"/api/admin/casjobs/imports/{queued}");
                return resumed.GetProperty("final").GetBoolean();
            }), "the queued import did not run after the restart");
            Assert.Equal("Ready", resumed.GetProperty("state").GetString());
            Assert.Equal(500, resumed.GetProperty("rowsRead").GetInt64());

            var again = await admin.PostAsJsonAsync("/api/admin/casjobs/contexts", new { name, path = "surveys/small.csv" });
            Assert.Equal(HttpStatusCode.Accepted, again.StatusCode);
            var againId = (await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();
            JsonElement done = default;
            Assert.True(await EventuallyAsync(async () =>
            {
                done = await admin.GetFromJsonAsync<JsonElement>($"/api/admin/casjobs/imports/{againId}");
                return done.GetProperty("final").GetBoolean();
            }), "the second import did not end");
            Assert.Equal("Ready", done.GetProperty("state").GetString());
            var count = await admin.PostAsJsonAsync($"/api/casjobs/contexts/{name}/query", new { query = "SELECT count(*) FROM small" });
            Assert.Equal(500, (await count.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("resultSets")[0].GetProperty("rows")[0][0].GetInt64());
        }
    }

    /// <summary>The sandboxed workers building in that folder (their command line binds it).</summary>
    private static List<int> Workers(string work) =>
        MachineProcesses.All()
            .Where(p => p.CommandLine.Contains("query-worker", StringComparison.Ordinal) && p.CommandLine.Contains(work, StringComparison.Ordinal) && QueryJobQueue.IsProcessAlive(p.Pid))
            .Select(p => p.Pid).ToList();

    private static Task<bool> EventuallyAsync(Func<bool> condition) => EventuallyAsync(() => Task.FromResult(condition()));

    private static async Task<bool> EventuallyAsync(Func<Task<bool>> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(60))
            {
                return false;
            }

            await Task.Delay(50);
        }

        return true;
    }
}
