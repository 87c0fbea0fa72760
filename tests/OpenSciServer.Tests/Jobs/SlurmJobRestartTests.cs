using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using OpenSciServer.Infrastructure;
using OpenSciServer.Jobs;
using OpenSciServer.Tests.Compute;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.Jobs;

/// <summary>
/// The platform killed (SIGKILL) or stopped while Slurm jobs run: after the restart each job is found
/// again through its Slurm job id or, for a start whose id never reached the database, through its
/// name and comment, and runs exactly once.
/// </summary>
public sealed class SlurmJobRestartTests(SlurmClusterFixture fixture) : IClassFixture<SlurmClusterFixture>, IAsyncLifetime
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "oss-test-slurmjob-restart-" + Guid.NewGuid().ToString("N")[..8]);

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        if (Directory.Exists(_data))
        {
            Directory.Delete(_data, recursive: true);
        }

        return Task.CompletedTask;
    }

    [Fact]
    public async Task PlatformKilled_WhileSlurmJobsRunAndFinish_AfterRestart_EachEndsSuccessOnce()
    {
        var user = PlatformFactory.UniqueName("sjr");
        await using (var setup = new PlatformFactory(DatabaseKind.Sqlite, _data))
        {
            await SlurmWorld.PrepareAsync(setup, fixture.Cluster);
            await setup.CreateUserAsync(user);
        }

        await using var server = new ServerProcess(_data);
        foreach (var (key, value) in fixture.Cluster.PlatformSettings())
        {
            server.Settings[key] = value!;
        }

        server.Settings["Jobs:PollInterval"] = "00:00:00.250";
        await server.StartAsync();
        long finishing, running;
        string runningSlurmId;
        using (var client = await server.ClientAsync(user, "a-good-long-password"))
        {
            finishing = await Jobs.SubmitAsync(client, Jobs.Command("echo run >> runs.txt; sleep 2; echo finishing", domain: SlurmWorld.Domain));
            running = await Jobs.SubmitAsync(client, Jobs.Command("echo run >> runs.txt; sleep 8; echo running", domain: SlurmWorld.Domain));
            await Jobs.WaitAsync(client, finishing, "Started", seconds: 60);
            await Jobs.WaitAsync(client, running, "Started", seconds: 60);
            runningSlurmId = await SlurmIdAsync(running);
        }

        await server.KillAsync();
        await Task.Delay(TimeSpan.FromSeconds(3)); // one finishes while the platform is down, the other still runs
        Assert.Equal("RUNNING", await fixture.Cluster.JobStateAsync(runningSlurmId));
        await server.StartAsync();

        using (var client = await server.ClientAsync(user, "a-good-long-password"))
        {
            foreach (var (id, said) in new[] { (finishing, "finishing\n"), (running, "running\n") })
            {
                var details = await Jobs.WaitAsync(client, id, "Success", seconds: 60);
                Assert.Equal(said, Jobs.Stdout(details));
                Assert.Equal("run\n", await File.ReadAllTextAsync(Path.Combine(Jobs.Folder(_data, details.GetProperty("job")), "runs.txt")));
            }

            Assert.Equal(2, (await client.GetFromJsonAsync<JsonElement>("/api/jobs")).GetArrayLength());
        }

        Assert.Equal(runningSlurmId, await SlurmIdAsync(running)); // the same Slurm job, not a second one
    }

    [Fact]
    public async Task CrashBetweenSbatchAndTheDatabaseUpdate_IsReconciledThroughTheJobName_TheJobRunsOnce()
    {
        long id;
        string user, slurmId;
        await using (var first = new PlatformFactory(DatabaseKind.Sqlite, _data))
        {
            first.Settings["Jobs:PollInterval"] = "00:00:00.250";
            await SlurmWorld.PrepareAsync(first, fixture.Cluster);
            user = PlatformFactory.UniqueName("sjc");
            using var client = first.CreateApiClient(await first.CreateUserAsync(user));
            id = await Jobs.SubmitAsync(client, Jobs.Command("echo run >> runs.txt; sleep 3; echo finished", domain: SlurmWorld.Domain));
            await Jobs.WaitAsync(client, id, "Started", seconds: 60);
            slurmId = (await SlurmJobWorld.RowAsync(first, id)).BackendId!;

            // As if the platform died after sbatch answered but before the row said so.
            using var scope = first.Services.CreateScope();
            var db = scope.ServiceProvider.GetRequiredService<PlatformDbContext>();
            Assert.Equal(1, await db.Set<ComputeJob>().Where(j => j.Id == id)
                .ExecuteUpdateAsync(u => u.SetProperty(j => j.Status, JobStatus.Accepted).SetProperty(j => j.BackendId, (string?)null).SetProperty(j => j.StartedAt, (DateTimeOffset?)null)));
        }

        await using var second = new PlatformFactory(DatabaseKind.Sqlite, _data);
        second.Settings["Jobs:PollInterval"] = "00:00:00.250";
        foreach (var (key, value) in fixture.Cluster.PlatformSettings())
        {
            second.Settings[key] = value;
        }

        await second.InitializeAsync();
        using var again = second.CreateApiClient(await second.LoginAsync(user, "a-good-long-password"));
        var details = await Jobs.WaitAsync(again, id, "Success", seconds: 60);

        Assert.Equal("finished\n", Jobs.Stdout(details));
        Assert.Equal("run\n", await File.ReadAllTextAsync(Path.Combine(Jobs.Folder(_data, details.GetProperty("job")), "runs.txt")));
        Assert.Contains(details.GetProperty("job").GetProperty("messages").EnumerateArray(), m => m.GetProperty("content").GetString()!.Contains("adopted", StringComparison.Ordinal));
        Assert.Equal(slurmId, (await SlurmJobWorld.RowAsync(second, id)).BackendId);
        var prefix = second.Services.GetServices<IJobBackend>().OfType<SlurmJobBackend>().Single().JobName(id, 1);
        var named = await fixture.Cluster.RunAsync("/usr/bin/squeue", "--noheader", "--states=all", "--format=%i %j");
        Assert.Single(named.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.EndsWith(" " + prefix, StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.OK, (await again.GetAsync($"/api/jobs/{id}")).StatusCode);
    }

    [Fact]
    public async Task CrashBeforeTheDatabaseUpdate_RestartWhileTheControllerIsAway_HoldsTheJobByName_UntilSlurmAnswers_NeverSubmittingTwice()
    {
        long id;
        string user, slurmId, name;
        await using (var first = new PlatformFactory(DatabaseKind.Sqlite, _data))
        {
            first.Settings["Jobs:PollInterval"] = "00:00:00.250";
            await SlurmWorld.PrepareAsync(first, fixture.Cluster);
            user = PlatformFactory.UniqueName("sjn");
            using var client = first.CreateApiClient(await first.CreateUserAsync(user));
            id = await Jobs.SubmitAsync(client, Jobs.Command("echo never", domain: SlurmWorld.ClosedDomain));
            await Jobs.WaitAsync(client, id, "Queued", seconds: 60);
            slurmId = (await SlurmJobWorld.RowAsync(first, id)).BackendId!;
            name = first.Services.GetServices<IJobBackend>().OfType<SlurmJobBackend>().Single().JobName(id, 1);
            using var scope = first.Services.CreateScope();
            var db = scope.ServiceProvider.GetRequiredService<PlatformDbContext>();
            Assert.Equal(1, await db.Set<ComputeJob>().Where(j => j.Id == id)
                .ExecuteUpdateAsync(u => u.SetProperty(j => j.Status, JobStatus.Accepted).SetProperty(j => j.BackendId, (string?)null).SetProperty(j => j.StartedAt, (DateTimeOffset?)null)));
        }

        // The platform comes back while Slurm's controller does not answer: whether the start reached Slurm is unknown.
        await using (var away = Restarted(reachable: false))
        {
            await away.InitializeAsync();
            using var client = away.CreateApiClient(await away.LoginAsync(user, "a-good-long-password"));
            await Jobs.WaitAsync(client, id, "Queued", seconds: 30);
            Assert.Equal(name, (await SlurmJobWorld.RowAsync(away, id)).BackendId);
        }

        await using var back = Restarted(reachable: true);
        await back.InitializeAsync();
        using var again = back.CreateApiClient(await back.LoginAsync(user, "a-good-long-password"));
        await Jobs.WaitAsync(again, id, "Queued", seconds: 30);
        Assert.Equal("PENDING", await fixture.Cluster.JobStateAsync(slurmId)); // not cancelled as an orphan

        var canceled = await again.PostAsync($"/api/jobs/{id}/cancel", null);

        Assert.Equal("Canceled", (await canceled.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());
        for (var i = 0; i < 100 && await fixture.Cluster.JobStateAsync(slurmId) != "CANCELLED"; i++)
        {
            await Task.Delay(100);
        }

        Assert.Equal("CANCELLED", await fixture.Cluster.JobStateAsync(slurmId));
        var named = await fixture.Cluster.RunAsync("/usr/bin/squeue", "--noheader", "--states=all", "--format=%i %j");
        Assert.Single(named.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.EndsWith(" " + name, StringComparison.Ordinal));
    }

    private PlatformFactory Restarted(bool reachable)
    {
        var platform = new PlatformFactory(DatabaseKind.Sqlite, _data);
        platform.Settings["Jobs:PollInterval"] = "00:00:00.250";
        foreach (var (key, value) in fixture.Cluster.PlatformSettings(reachable))
        {
            platform.Settings[key] = value;
        }

        return platform;
    }

    private async Task<string> SlurmIdAsync(long id)
    {
        // Reading the row directly: the database file is the server process's (SQLite in the data directory).
        var options = new DbContextOptionsBuilder<SqlitePlatformDbContext>().UseSqlite($"Data Source={Path.Combine(_data, "platform.db")}").Options;
        await using var db = new SqlitePlatformDbContext(options);
        return (await db.Set<ComputeJob>().AsNoTracking().FirstAsync(j => j.Id == id)).BackendId!;
    }
}
