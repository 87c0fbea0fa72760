using System.Text.Json;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.Jobs;

/// <summary>The queue: per-user and global limits, fair between users (a later user does not wait behind an earlier user's backlog).</summary>
public sealed class JobQueueTests : IAsyncLifetime
{
    private readonly PlatformFactory _platform = new(DatabaseKind.Sqlite);

    public async Task InitializeAsync()
    {
        _platform.Settings["Jobs:MaxRunningPerUser"] = "1";
        _platform.Settings["Jobs:MaxRunning"] = "2";
        _platform.Settings["Jobs:PollInterval"] = "00:00:00.200";
        await _platform.InitializeAsync();
    }

    public async Task DisposeAsync() => await _platform.DisposeAsync();

    [Fact]
    public async Task Queue_WithOneJobPerUserAndTwoInAll_RunsALaterUsersJobBeforeTheBacklogOfAnEarlierUser()
    {
        using var alice = _platform.CreateApiClient(await _platform.CreateUserAsync(PlatformFactory.UniqueName("qa")));
        using var bob = _platform.CreateApiClient(await _platform.CreateUserAsync(PlatformFactory.UniqueName("qb")));
        var aliceJobs = new List<long>();
        for (var i = 0; i < 3; i++)
        {
            aliceJobs.Add(await Jobs.SubmitAsync(alice, Jobs.Command("sleep 1")));
        }

        var bobJob = await Jobs.SubmitAsync(bob, Jobs.Command("sleep 1"));

        var a = new List<JsonElement>();
        foreach (var id in aliceJobs)
        {
            a.Add((await Jobs.WaitAsync(alice, id, "Success")).GetProperty("job"));
        }

        var b = (await Jobs.WaitAsync(bob, bobJob, "Success")).GetProperty("job");
        DateTimeOffset At(JsonElement job, string field) => job.GetProperty(field).GetDateTimeOffset();

        // Bob's job started before Alice's second, although submitted after it.
        Assert.True(At(b, "startedAt") < At(a[1], "startedAt"), $"bob started {At(b, "startedAt"):O}, alice's second {At(a[1], "startedAt"):O}");
        // Alice never had two running at once.
        Assert.True(At(a[0], "finishedAt") <= At(a[1], "startedAt"));
        Assert.True(At(a[1], "finishedAt") <= At(a[2], "startedAt"));
    }
}
