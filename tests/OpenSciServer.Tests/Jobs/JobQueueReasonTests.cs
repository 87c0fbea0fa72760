using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.Jobs;

/// <summary>
/// A job held in the platform's queue says why (the user's own limit, or the limit of all users) on the native
/// API, in JOBM's messages and on the Jobs pages, and loses the reason once it runs.
/// </summary>
public abstract class JobQueueReasonTests(DatabaseKind database) : IAsyncLifetime
{
    /// <summary>Runs until a file named go appears in its job directory.</summary>
    private const string Gate = "while [ ! -e go ]; do sleep 0.1; done; echo released";

    private readonly PlatformFactory _platform = new(database);

    public async Task InitializeAsync()
    {
        _platform.Settings["Jobs:MaxRunningPerUser"] = "1";
        _platform.Settings["Jobs:MaxRunning"] = "2";
        _platform.Settings["Jobs:PollInterval"] = "00:00:00.200";
        await _platform.InitializeAsync();
    }

    public async Task DisposeAsync() => await _platform.DisposeAsync();

    [Fact]
    public async Task WaitingJobs_ShowTheLimitThatHoldsThem_OnApiJobmAndPages_AndLoseItOnceTheyRun()
    {
        var aliceName = PlatformFactory.UniqueName("wra");
        using var alice = _platform.CreateApiClient(await _platform.CreateUserAsync(aliceName));
        using var bob = _platform.CreateApiClient(await _platform.CreateUserAsync(PlatformFactory.UniqueName("wrb")));
        using var carol = _platform.CreateApiClient(await _platform.CreateUserAsync(PlatformFactory.UniqueName("wrc")));
        var first = await Jobs.SubmitAsync(alice, Jobs.Command(Gate));
        await Jobs.WaitAsync(alice, first, "Started");
        var bobs = await Jobs.SubmitAsync(bob, Jobs.Command(Gate));
        await Jobs.WaitAsync(bob, bobs, "Started");

        var second = await Jobs.SubmitAsync(alice, Jobs.Command(Gate));
        var carols = await Jobs.SubmitAsync(carol, Jobs.Command("echo carol"));

        // Alice's second job waits for her own first one; Carol's for a slot of the platform's two.
        var mine = await ReasonEventuallyAsync(alice, second);
        Assert.Equal("Waiting for one of your jobs to end: you have 1 job(s) running or queued, and one user may have 1 at once.", mine);
        var all = await ReasonEventuallyAsync(carol, carols);
        Assert.Equal("Waiting for a free slot: 2 job(s) of all users are running or queued, the most this platform runs at once (2); waiting jobs start in turn, fairly between users.", all);
        var details = (await Jobs.DetailsAsync(alice, second)).GetProperty("job");
        Assert.Equal("Pending", details.GetProperty("status").GetString());
        Assert.Null(Reason((await Jobs.DetailsAsync(alice, first)).GetProperty("job")));

        var listed = (await alice.GetFromJsonAsync<JsonElement>("/api/jobs")).EnumerateArray().ToList();
        Assert.Equal(mine, Reason(listed.Single(j => j.GetProperty("id").GetInt64() == second)));
        Assert.Null(Reason(listed.Single(j => j.GetProperty("id").GetInt64() == first)));

        // SciScript's getJobDescription: the reason is the last message, a STATUS.
        var jobm = await alice.GetFromJsonAsync<JsonElement>($"/racm/jobm/rest/jobs/{second}");
        Assert.Equal(1, jobm.GetProperty("status").GetInt32());
        var last = jobm.GetProperty("messages").EnumerateArray().Last();
        Assert.Equal("STATUS", last.GetProperty("label").GetString());
        Assert.Equal(mine, last.GetProperty("content").GetString());

        using (var browser = new FormClient(_platform))
        {
            await browser.LoginAsync(aliceName, "a-good-long-password");
            var (listPage, listHtml) = await browser.GetAsync("/jobs");
            Assert.Equal(HttpStatusCode.OK, listPage.StatusCode);
            Assert.Contains(mine, listHtml, StringComparison.Ordinal);
            var (_, jobHtml) = await browser.GetAsync($"/jobs/{second}");
            Assert.Contains(mine, jobHtml, StringComparison.Ordinal);
        }

        // Alice's first job ends: her second one runs (fair: before Carol's, which is younger) and says nothing more.
        await File.WriteAllTextAsync(Path.Combine(await FolderAsync(alice, first), "go"), "");
        await Jobs.WaitAsync(alice, first, "Success");
        var running = (await Jobs.WaitAsync(alice, second, "Started")).GetProperty("job");
        Assert.Null(Reason(running));
        Assert.DoesNotContain((await alice.GetFromJsonAsync<JsonElement>($"/racm/jobm/rest/jobs/{second}")).GetProperty("messages").EnumerateArray(),
            m => m.GetProperty("content").GetString()!.StartsWith("Waiting", StringComparison.Ordinal));
        Assert.Equal(all, Reason((await Jobs.DetailsAsync(carol, carols)).GetProperty("job")));

        await File.WriteAllTextAsync(Path.Combine(await FolderAsync(bob, bobs), "go"), "");
        var done = (await Jobs.WaitAsync(carol, carols, "Success")).GetProperty("job");
        Assert.Null(Reason(done));
        await File.WriteAllTextAsync(Path.Combine(await FolderAsync(alice, second), "go"), "");
        Assert.Null(Reason((await Jobs.WaitAsync(alice, second, "Success")).GetProperty("job")));
    }

    [Fact]
    public async Task CanceledWaitingJob_LosesItsReason()
    {
        using var alice = _platform.CreateApiClient(await _platform.CreateUserAsync(PlatformFactory.UniqueName("wrx")));
        var first = await Jobs.SubmitAsync(alice, Jobs.Command(Gate));
        var second = await Jobs.SubmitAsync(alice, Jobs.Command(Gate));
        Assert.StartsWith("Waiting for one of your jobs to end", await ReasonEventuallyAsync(alice, second), StringComparison.Ordinal);

        var canceled = await alice.PostAsync($"/api/jobs/{second}/cancel", null);

        var job = await canceled.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("Canceled", job.GetProperty("status").GetString());
        Assert.Null(Reason(job));
        await alice.PostAsync($"/api/jobs/{first}/cancel", null);
    }

    private static string? Reason(JsonElement job) =>
        job.TryGetProperty("queueReason", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() : null;

    private static async Task<string> ReasonEventuallyAsync(HttpClient client, long id)
    {
        for (var i = 0; i < 100; i++)
        {
            if (Reason((await Jobs.DetailsAsync(client, id)).GetProperty("job")) is { } reason)
            {
                return reason;
            }

            await Task.Delay(100);
        }

        Assert.Fail($"job {id} never said why it waits: {await Jobs.DetailsAsync(client, id)}");
        return "";
    }

    private async Task<string> FolderAsync(HttpClient client, long id) =>
        Jobs.Folder(_platform.DataDirectory, (await Jobs.DetailsAsync(client, id)).GetProperty("job"));
}

public sealed class JobQueueReasonSqliteTests() : JobQueueReasonTests(DatabaseKind.Sqlite);

public sealed class JobQueueReasonPostgresTests() : JobQueueReasonTests(DatabaseKind.Postgres);
