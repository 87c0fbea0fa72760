using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using OpenSciServer.Infrastructure;
using OpenSciServer.Jobs;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.Jobs;

/// <summary>
/// The platform killed with SIGKILL while jobs wait, run and finish: after the restart every job keeps
/// its id and reaches the right final state, none is lost and none runs twice.
/// </summary>
public sealed class JobRestartTests : IAsyncLifetime
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "oss-test-jobrestart-" + Guid.NewGuid().ToString("N")[..8]);

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
    public async Task PlatformKilled_WithJobsPendingRunningAndFinishing_AfterRestart_EveryJobEndsOnceWithItsId()
    {
        await using var server = new ServerProcess(_data);
        await server.StartAsync();
        var user = PlatformFactory.UniqueName("dana");
        using (var admin = await server.ClientAsync("admin", PlatformFactory.AdminPassword))
        {
            var created = await admin.PostAsJsonAsync("/api/admin/users", new { username = user, email = $"{user}@example.org", password = "a-good-long-password" });
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        var ids = new List<long>();
        using (var client = await server.ClientAsync(user, "a-good-long-password"))
        {
            // Two run at once per user (the default); the other two wait.
            for (var i = 0; i < 4; i++)
            {
                ids.Add(await Jobs.SubmitAsync(client, Jobs.Command($"echo run >> runs.txt; sleep 3; echo job-{i}")));
            }

            // The two starts run side by side: wait for both, not for whichever the test happens to name.
            await Jobs.WaitAsync(client, ids[0], "Started");
            await Jobs.WaitAsync(client, ids[1], "Started");
            var statuses = await Task.WhenAll(ids.Select(async id => (await Jobs.DetailsAsync(client, id)).GetProperty("job").GetProperty("status").GetString()!));
            Assert.Equal(new[] { "Started", "Started", "Pending", "Pending" }, statuses);
        }

        await server.KillAsync();
        await Task.Delay(TimeSpan.FromSeconds(4)); // the two running ones finish while the platform is down
        await server.StartAsync();

        using (var client = await server.ClientAsync(user, "a-good-long-password"))
        {
            for (var i = 0; i < 4; i++)
            {
                var details = await Jobs.WaitAsync(client, ids[i], "Success", seconds: 60);
                Assert.Equal($"job-{i}\n", Jobs.Stdout(details));
                Assert.Equal("run\n", await File.ReadAllTextAsync(Path.Combine(Jobs.Folder(_data, details.GetProperty("job")), "runs.txt")));
            }

            Assert.Equal(4, (await client.GetFromJsonAsync<JsonElement>("/api/jobs")).GetArrayLength());
        }
    }

    [Fact]
    public async Task CrashBetweenTheBackendStartAndTheDatabaseUpdate_IsReconciledThroughTheMarker_TheJobRunsOnce()
    {
        long id;
        string user;
        await using (var first = new PlatformFactory(DatabaseKind.Sqlite, _data))
        {
            await first.InitializeAsync();
            user = PlatformFactory.UniqueName("erin");
            using var client = first.CreateApiClient(await first.CreateUserAsync(user));
            id = await Jobs.SubmitAsync(client, Jobs.Command("echo run >> runs.txt; sleep 2; echo finished"));
            await Jobs.WaitAsync(client, id, "Started");

            // As if the platform died after the sandbox began but before the row said so.
            using var scope = first.Services.CreateScope();
            var db = scope.ServiceProvider.GetRequiredService<PlatformDbContext>();
            Assert.Equal(1, await db.Set<ComputeJob>().Where(j => j.Id == id)
                .ExecuteUpdateAsync(u => u.SetProperty(j => j.Status, JobStatus.Accepted).SetProperty(j => j.BackendId, (string?)null).SetProperty(j => j.StartedAt, (DateTimeOffset?)null)));
        }

        await using var second = new PlatformFactory(DatabaseKind.Sqlite, _data);
        await second.InitializeAsync();
        using var again = second.CreateApiClient(await second.LoginAsync(user, "a-good-long-password"));
        var details = await Jobs.WaitAsync(again, id, "Success", seconds: 30);

        Assert.Equal("finished\n", Jobs.Stdout(details));
        Assert.Equal("run\n", await File.ReadAllTextAsync(Path.Combine(Jobs.Folder(_data, details.GetProperty("job")), "runs.txt")));
        Assert.Contains(details.GetProperty("job").GetProperty("messages").EnumerateArray(), m => m.GetProperty("content").GetString()!.Contains("adopted", StringComparison.Ordinal));
    }
}
