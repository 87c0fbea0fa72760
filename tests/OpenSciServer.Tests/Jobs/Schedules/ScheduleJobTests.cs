using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using OpenSciServer.Jobs.Schedules;
using OpenSciServer.Tests.Infrastructure;
using static OpenSciServer.Tests.Jobs.Schedules.ScheduleWorld;

namespace OpenSciServer.Tests.Jobs.Schedules;

/// <summary>
/// Schedules with the REAL jobs service: the platform's own JobService, dispatcher and local sandbox
/// backend. The scheduler's clock is a fake one the test advances (time injected, not waited); each job
/// then runs for real, in real time, as its owner.
/// </summary>
public sealed class ScheduleJobTests : IAsyncLifetime
{
    private readonly PlatformFactory _platform = new(DatabaseKind.Sqlite) { Time = new FakeTimeProvider(Monday) };

    public async Task InitializeAsync()
    {
        _platform.Settings["Jobs:PollInterval"] = "00:00:00.200";
        await _platform.InitializeAsync();
    }

    public async Task DisposeAsync() => await _platform.DisposeAsync();

    private async Task AdvanceAsync(TimeSpan by)
    {
        _platform.Time!.Advance(by);
        _platform.Services.GetRequiredService<ScheduleSignal>().Wake();
        await Task.Yield();
    }

    private static object PersistentJob(string user, string command) => new
    {
        kind = "Command",
        command,
        domain = Jobs.Domain,
        image = Jobs.Image,
        userVolumes = new[] { new { rootVolume = "Storage", owner = user, name = "persistent", writable = true } },
    };

    [Fact]
    public async Task EveryMinute_ClockAdvancedTwoMinutes_TwoRealJobsSucceed_WithTheirStdout_AndBothLinesInThePersistentVolume()
    {
        var (user, client) = await NewUserAsync(_platform);
        var log = $"/home/idies/workspace/Storage/{user}/persistent/cron.log";
        var id = await CreateAsync(client, Body("every-minute", job: PersistentJob(user, $"echo \"run $SCISERVER_JOB_ID\" >> {log}\necho \"hello from job $SCISERVER_JOB_ID\"")));

        await AdvanceAsync(TimeSpan.FromMinutes(1));
        // A real job takes real time: let the first end, as it would within its minute (the overlap policy is Skip).
        await Jobs.WaitAsync(client, (await HistoryAsync(client, id, 1))[0].GetProperty("jobId").GetInt64(), "Success");
        await AdvanceAsync(TimeSpan.FromMinutes(1));
        var history = await HistoryAsync(client, id, 2);

        Assert.Equal([Monday.AddMinutes(1), Monday.AddMinutes(2)], history.Select(r => Time(r, "dueAt")));
        Assert.Equal(["Submitted", "Submitted"], history.Select(Outcome));
        var jobIds = history.Select(r => r.GetProperty("jobId").GetInt64()).ToList();
        Assert.Equal(2, jobIds.Distinct().Count());
        foreach (var jobId in jobIds)
        {
            var details = await Jobs.WaitAsync(client, jobId, "Success");
            Assert.Equal($"hello from job {jobId}\n", Jobs.Stdout(details));
            var job = details.GetProperty("job");
            Assert.Equal(id, job.GetProperty("scheduleId").GetInt64());
            Assert.Equal(32, job.GetProperty("statusCode").GetInt32());
            // Each run works in a new folder of its own under Temporary/<user>/jobs.
            Assert.StartsWith($"/home/idies/workspace/Temporary/{user}/jobs/{jobId}_", job.GetProperty("workingDirectory").GetString(), StringComparison.Ordinal);
        }

        var file = Path.Combine(_platform.DataDirectory, "volumes", "Storage", user, "persistent", "cron.log");
        Assert.Equal(jobIds.Select(j => $"run {j}"), await File.ReadAllLinesAsync(file));

        // A run resubmitted by its owner is their own job, not one of the schedule's runs.
        var again = await client.PostAsJsonAsync($"/api/jobs/{jobIds[0]}/resubmit", new { });
        Assert.Equal(HttpStatusCode.Created, again.StatusCode);
        Assert.False((await again.Content.ReadFromJsonAsync<JsonElement>()).TryGetProperty("scheduleId", out _));
        Assert.Equal(2, (await HistoryAsync(client, id, 2)).Count);
    }

    [Fact]
    public async Task OverlapSkip_PreviousRealJobStillSleeping_RunIsSkipped_AfterItIsCanceledTheNextRunIsSubmitted()
    {
        var (_, client) = await NewUserAsync(_platform);
        var marker = Random.Shared.Next(100000, 999999).ToString(CultureInfo.InvariantCulture);
        var id = await CreateAsync(client, Body("long-runs", overlap: "Skip", job: Job($"echo started\nsleep 300.{marker}")));

        await AdvanceAsync(TimeSpan.FromMinutes(1));
        var first = (await HistoryAsync(client, id, 1))[0].GetProperty("jobId").GetInt64();
        await Jobs.WaitAsync(client, first, "Started");
        Assert.True(await EventuallyAsync(() => SleepRuns(marker)), "the first run's sleep did not start");

        await AdvanceAsync(TimeSpan.FromMinutes(1));
        var whileRunning = await HistoryAsync(client, id, 2);

        Assert.Equal(["Submitted", "Skipped"], whileRunning.Select(Outcome));
        Assert.Equal($"The previous run (job {first}) was still STARTED; the overlap policy is Skip.", whileRunning[1].GetProperty("reason").GetString());
        Assert.False(whileRunning[1].TryGetProperty("jobId", out _));

        var canceled = await client.PostAsync($"/api/jobs/{first}/cancel", null);
        Assert.Equal(HttpStatusCode.OK, canceled.StatusCode);
        Assert.Equal("Canceled", (await canceled.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());
        Assert.True(await EventuallyAsync(() => !SleepRuns(marker)), "the canceled job's sleep still runs");

        await AdvanceAsync(TimeSpan.FromMinutes(1));
        var afterwards = await HistoryAsync(client, id, 3);

        Assert.Equal(["Submitted", "Skipped", "Submitted"], afterwards.Select(Outcome));
        var second = afterwards[2].GetProperty("jobId").GetInt64();
        Assert.NotEqual(first, second);
        await Jobs.WaitAsync(client, second, "Started");
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/api/jobs/schedules/{id}")).StatusCode);
        Assert.Equal("Canceled", (await (await client.PostAsync($"/api/jobs/{second}/cancel", null)).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());
        Assert.True(await EventuallyAsync(() => !SleepRuns(marker)), "the second job's sleep still runs after its cancel");
    }

    /// <summary>Whether a process whose command line holds the test's unique sleep runs on this machine.</summary>
    private static bool SleepRuns(string marker)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc").Where(d => Path.GetFileName(d).All(char.IsAsciiDigit)))
        {
            try
            {
                if (File.ReadAllText(Path.Combine(dir, "cmdline")).Contains($"300.{marker}", StringComparison.Ordinal))
                {
                    return true;
                }
            }
            catch (IOException)
            {
                // The process ended meanwhile.
            }
            catch (UnauthorizedAccessException)
            {
                // Not ours to read.
            }
        }

        return false;
    }

    private static async Task<bool> EventuallyAsync(Func<bool> condition)
    {
        for (var i = 0; i < 150; i++)
        {
            if (condition())
            {
                return true;
            }

            await Task.Delay(100);
        }

        return false;
    }
}
