using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OpenSciServer.CasJobs.Jobs;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.CasJobs;

/// <summary>Long queries survive the platform killed (SIGKILL) while one runs and one waits: same ids, both finish, nothing twice.</summary>
public sealed class QueryJobRestartTests : IAsyncLifetime
{
    private const string User = "jobrestart";
    private const string Other = "jobendless";
    private const string Password = "a-good-long-password";
    private readonly string _data = Path.Combine(Path.GetTempPath(), "oss-test-jobs-" + Guid.NewGuid().ToString("N")[..8]);

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        Directory.Delete(_data, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task KillPlatformWhileAJobRuns_AfterRestart_BothJobsKeepTheirIdsAndFinish_TheTableIsWrittenOnce()
    {
        long slow, after, endless;
        List<int> orphans, endlessWorker;
        await using (var server = new ServerProcess(_data))
        {
            await server.StartAsync();
            using var admin = await server.ClientAsync("admin", PlatformFactory.AdminPassword);
            (await admin.PostAsJsonAsync("/api/admin/users", new { username = User, email = "jobs@example.org", password = Password })).EnsureSuccessStatusCode();
            (await admin.PostAsJsonAsync("/api/admin/users", new { username = Other, email = "endless@example.org", password = Password })).EnsureSuccessStatusCode();
            using var client = await server.ClientAsync(User, Password);
            using var other = await server.ClientAsync(Other, Password);
            // Still running when the platform comes back: its orphaned worker must be killed, not left holding MyDB.
            endless = await SubmitAsync(other, "Demo", "SELECT sum(a.range * b.range) AS s FROM range(1000000000) a, range(1000) b");
            await WaitAsync(other, endless, 1);
            // The job's worker binds its owner's MyDB folder (a short-lived worker reading the catalog's sky index does not).
            Assert.True(await EventuallyAsync(() => Workers(Other).Count > 0), "the endless job's worker did not start");
            endlessWorker = Workers(Other);
            slow = await SubmitAsync(client, "Demo", "SELECT sum(a.range * b.range) AS s INTO mydb.slow FROM range(16000) a, range(16000) b");
            // It writes MyDB too, so it waits for the first; and it reads the first one's table.
            after = await SubmitAsync(client, "MyDB", "SELECT count(*) AS n INTO after_restart FROM slow");
            await WaitAsync(client, slow, 1);
            Assert.True(await EventuallyAsync(() => Workers().Except(endlessWorker).Any()), "the slow job's worker did not start");
            Assert.Equal(0, (await JobAsync(client, after)).GetProperty("status").GetInt32());

            orphans = Workers();
            await server.KillAsync(entireProcessTree: false);
        }

        Assert.True(endlessWorker.All(QueryJobQueue.IsProcessAlive), "the endless job's worker should outlive the platform");
        await using (var restarted = new ServerProcess(_data))
        {
            await restarted.StartAsync();
            using var client = await restarted.ClientAsync(User, Password);
            using var other = await restarted.ClientAsync(Other, Password);
            var orphansGone = await EventuallyAsync(() => orphans.All(pid => !QueryJobQueue.IsProcessAlive(pid)));
            var endlessAgain = await WaitAsync(other, endless, 1);
            await other.PostAsync($"/api/casjobs/jobs/{endless}/cancel", null);
            var slowDone = await WaitAsync(client, slow, 5);
            var afterDone = await WaitAsync(client, after, 5);
            var history = await client.GetFromJsonAsync<JsonElement[]>("/api/casjobs/jobs");
            var count = await client.PostAsJsonAsync("/api/casjobs/contexts/MyDB/query", new { query = "SELECT n FROM after_restart" });
            var tables = await client.GetFromJsonAsync<JsonElement[]>("/api/casjobs/contexts/MyDB/tables");

            Assert.Equal([after, slow], history!.Select(j => j.GetProperty("id").GetInt64()));
            Assert.Equal("slow", slowDone.GetProperty("createdTable").GetString());
            Assert.Equal(1, slowDone.GetProperty("rows").GetInt64());
            Assert.Equal("after_restart", afterDone.GetProperty("createdTable").GetString());
            Assert.Equal(1, (await count.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("resultSets")[0].GetProperty("rows")[0][0].GetInt64());
            Assert.Equal(["after_restart", "slow"], tables!.Select(t => t.GetProperty("name").GetString()));
            Assert.True(orphansGone, "an orphaned worker still runs");
            Assert.Contains("queued again", endlessAgain.GetProperty("message").GetString(), StringComparison.Ordinal);
            Assert.Equal(3, (await WaitAsync(other, endless, 3)).GetProperty("status").GetInt32());
        }
    }

    /// <summary>Query workers of this test's platform (the sandbox's processes: their command line names the data directory).</summary>
    private List<int> Workers(string? owner = null) =>
        MachineProcesses.All()
            .Where(p => p.CommandLine.Contains("query-worker", StringComparison.Ordinal) && p.CommandLine.Contains(_data, StringComparison.Ordinal) && QueryJobQueue.IsProcessAlive(p.Pid))
            .Where(p => owner is null || p.Arguments.Any(a => a.Contains(Path.Combine("mydb", owner), StringComparison.Ordinal)))
            .Select(p => p.Pid).ToList();

    private static async Task<long> SubmitAsync(HttpClient client, string context, string query)
    {
        var response = await client.PostAsJsonAsync("/api/casjobs/jobs", new { context, query });
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
    }

    private static async Task<JsonElement> JobAsync(HttpClient client, long id) =>
        await client.GetFromJsonAsync<JsonElement>($"/api/casjobs/jobs/{id}");

    private static async Task<JsonElement> WaitAsync(HttpClient client, long id, int status)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var job = await JobAsync(client, id);
            if (job.GetProperty("status").GetInt32() == status)
            {
                return job;
            }

            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60) && job.GetProperty("status").GetInt32() is not (3 or 4 or 5), $"job {id} did not reach {status}: {job}");
            await Task.Delay(100);
        }
    }

    private static async Task<bool> EventuallyAsync(Func<bool> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(30))
            {
                return false;
            }

            await Task.Delay(50);
        }

        return true;
    }
}
