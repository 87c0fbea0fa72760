using System.Net;
using Microsoft.Extensions.Time.Testing;
using OpenSciServer.Jobs;
using OpenSciServer.Tests.Infrastructure;
using static OpenSciServer.Tests.Jobs.Schedules.ScheduleWorld;

namespace OpenSciServer.Tests.Jobs.Schedules;

/// <summary>
/// The scheduler's own decisions under a fake clock, against the stand-in jobs service
/// (<see cref="RecordingJobSubmitter"/>, whose job statuses the test sets): runs at the occurrences, the
/// overlap and catch-up policies, and platform restarts over one database (hosts in sequence). Time is
/// advanced, never waited for. <see cref="ScheduleJobTests"/> does the same with real jobs.
/// </summary>
public abstract class ScheduleRunTests(DatabaseKind database) : IAsyncLifetime
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "oss-test-cron-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly FakeTimeProvider _time = new(Monday);
    private readonly RecordingJobSubmitter _submitter = new();
    private string? _postgres;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_data);
        if (database == DatabaseKind.Postgres)
        {
            _postgres = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        }
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_data, recursive: true);
        return Task.CompletedTask;
    }

    /// <summary>A platform over this test's database; the next one started after disposing it sees the same data.</summary>
    private async Task<ScheduleHost> StartAsync()
    {
        var host = new ScheduleHost(database, _time, _submitter, _data, _postgres);
        await host.InitializeAsync();
        return host;
    }

    private async Task AdvanceAsync(ScheduleHost host, TimeSpan by)
    {
        _time.Advance(by);
        host.Wake();
        await Task.Yield();
    }

    [Fact]
    public async Task EveryMinute_AdvanceTwoMinutes_TwoRunsSubmittedAsTheOwner_DisabledNeverRuns_OverlapSkipWaitsForThePreviousJob()
    {
        await using var host = await StartAsync();
        var (user, client) = await NewUserAsync(host);
        var id = await CreateAsync(client, Body("every-minute"));
        var off = await CreateAsync(client, Body("switched-off", enabled: false));

        await AdvanceAsync(host, TimeSpan.FromMinutes(1));
        await HistoryAsync(client, id, 1);
        await AdvanceAsync(host, TimeSpan.FromMinutes(1));
        var history = await HistoryAsync(client, id, 2);

        Assert.Equal([Monday.AddMinutes(1), Monday.AddMinutes(2)], history.Select(r => Time(r, "dueAt")));
        Assert.All(history, r => Assert.Equal("Submitted", Outcome(r)));
        Assert.Equal([Monday.AddMinutes(1), Monday.AddMinutes(2)], history.Select(r => Time(r, "submittedAt")));
        var submitted = _submitter.For(id);
        Assert.Equal(submitted.Select(s => s.JobId), history.Select(r => r.GetProperty("jobId").GetInt64()));
        Assert.All(submitted, s =>
        {
            Assert.Equal(user, s.Owner.UserName);
            Assert.Equal("echo scheduled > out.txt", s.Job.Command);
            Assert.Equal("Local", s.Job.Domain);
        });
        var schedule = await GetAsync(client, id);
        Assert.Equal(Monday.AddMinutes(3), Time(schedule, "nextRunAt"));
        Assert.Equal(Monday.AddMinutes(2), Time(schedule.GetProperty("lastRun"), "dueAt"));
        Assert.Empty((await GetAsync(client, off)).GetProperty("history").EnumerateArray());
        Assert.Empty(_submitter.For(off));

        // Overlap: from now on jobs keep running until the test finishes them.
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/api/jobs/schedules/{id}")).StatusCode);
        var skip = await CreateAsync(client, Body("skip-overlap", overlap: "Skip"));
        var allow = await CreateAsync(client, Body("allow-overlap", overlap: "Allow"));
        _submitter.NewJobStatus = JobStatus.Started;

        await AdvanceAsync(host, TimeSpan.FromMinutes(1));
        await HistoryAsync(client, skip, 1);
        await HistoryAsync(client, allow, 1);
        var first = Assert.Single(_submitter.For(skip)).JobId;
        await AdvanceAsync(host, TimeSpan.FromMinutes(1));
        var whileRunning = await HistoryAsync(client, skip, 2);
        await HistoryAsync(client, allow, 2);
        _submitter.Statuses[first] = JobStatus.Success;
        await AdvanceAsync(host, TimeSpan.FromMinutes(1));
        var afterwards = await HistoryAsync(client, skip, 3);
        var allowed = await HistoryAsync(client, allow, 3);

        Assert.Equal("Skipped", Outcome(whileRunning[1]));
        Assert.Contains($"The previous run (job {first}) was still STARTED; the overlap policy is Skip.", whileRunning[1].GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.False(whileRunning[1].TryGetProperty("jobId", out _)); // nulls are left out
        Assert.Equal(["Submitted", "Skipped", "Submitted"], afterwards.Select(Outcome));
        Assert.Equal(2, _submitter.For(skip).Count);
        Assert.Equal(["Submitted", "Submitted", "Submitted"], allowed.Select(Outcome));
        Assert.Equal(3, _submitter.For(allow).Count);
        Assert.Empty(_submitter.For(off));
    }

    /// <summary>
    /// Three platforms over one database, in sequence: a restart at the instant an occurrence fired,
    /// a stop in the middle of a submission, then an hour of downtime and the catch-up policies.
    /// </summary>
    [Fact]
    public async Task Restart_NoOccurrenceFiresTwice_AnInterruptedSubmissionIsNotRetried_AfterAnHourDownRunOnceRunsOnceAndSkipRunsNone()
    {
        long id, once, skip;
        string token;
        await using (var host = await StartAsync())
        {
            var (_, client) = await NewUserAsync(host);
            token = client.DefaultRequestHeaders.GetValues("X-Auth-Token").Single();
            id = await CreateAsync(client, Body("restarted"));
            // Not due before the downtime below (10:05 is the first).
            once = await CreateAsync(client, Body("catch-up-once", cron: "*/5 * * * *", catchUp: "RunOnce"));
            skip = await CreateAsync(client, Body("catch-up-skip", cron: "*/5 * * * *", catchUp: "Skip"));
            await AdvanceAsync(host, TimeSpan.FromMinutes(1));
            await HistoryAsync(client, id, 1);
        }

        // Same instant, new platform: 10:01 is done; only 10:02 may run.
        await using (var host = await StartAsync())
        {
            using var client = host.CreateApiClient(token);
            await AdvanceAsync(host, TimeSpan.FromMinutes(1));
            var history = await HistoryAsync(client, id, 2);
            Assert.Equal([Monday.AddMinutes(1), Monday.AddMinutes(2)], history.Select(r => Time(r, "dueAt")));
            Assert.Equal(2, _submitter.For(id).Count);

            // The platform stops while the 10:03 run is being submitted.
            _submitter.Hang = true;
            await AdvanceAsync(host, TimeSpan.FromMinutes(1));
            await _submitter.HangStarted.Task.WaitAsync(TimeSpan.FromSeconds(10));
        }

        // Down from 10:03 to 11:03.
        _submitter.Hang = false;
        _time.Advance(TimeSpan.FromHours(1));
        await using (var host = await StartAsync())
        {
            using var client = host.CreateApiClient(token);
            var history = await HistoryAsync(client, id, 4);
            var onceRuns = await HistoryAsync(client, once, 1);
            var skipRuns = await HistoryAsync(client, skip, 1);

            Assert.Equal([Monday.AddMinutes(1), Monday.AddMinutes(2), Monday.AddMinutes(3), Monday.AddMinutes(4)], history.Select(r => Time(r, "dueAt")));
            Assert.Equal(["Submitted", "Submitted", "Interrupted", "Submitted"], history.Select(Outcome));
            Assert.Contains("It was not submitted again", history[2].GetProperty("reason").GetString(), StringComparison.Ordinal);
            // 10:04 ... 11:03 missed: one run for all of them (RunOnce is the default).
            Assert.Equal(60, history[3].GetProperty("occurrences").GetInt32());
            Assert.Equal(3, _submitter.For(id).Count);
            Assert.Equal(3, _submitter.For(id).Select(s => s.JobId).Distinct().Count());

            // 10:05 ... 11:00 missed by the every-5-minutes schedules.
            var caughtUp = Assert.Single(onceRuns);
            Assert.Equal("Submitted", Outcome(caughtUp));
            Assert.Equal(12, caughtUp.GetProperty("occurrences").GetInt32());
            Assert.Equal(Monday.AddMinutes(5), Time(caughtUp, "dueAt"));
            Assert.Contains("12 occurrences were missed", caughtUp.GetProperty("reason").GetString(), StringComparison.Ordinal);
            Assert.Single(_submitter.For(once));
            var skipped = Assert.Single(skipRuns);
            Assert.Equal("Skipped", Outcome(skipped));
            Assert.Equal(12, skipped.GetProperty("occurrences").GetInt32());
            Assert.Contains("the catch-up policy is Skip, so none ran", skipped.GetProperty("reason").GetString(), StringComparison.Ordinal);
            Assert.Empty(_submitter.For(skip));

            // Both continue from now: 11:05.
            Assert.Equal(Monday.AddMinutes(65), Time(await GetAsync(client, skip), "nextRunAt"));
            await AdvanceAsync(host, TimeSpan.FromMinutes(2));
            Assert.Equal(["Skipped", "Submitted"], (await HistoryAsync(client, skip, 2)).Select(Outcome));
            Assert.Equal(["Submitted", "Submitted"], (await HistoryAsync(client, once, 2)).Select(Outcome));
            Assert.Equal(Monday.AddMinutes(65), Time((await HistoryAsync(client, skip, 2))[1], "dueAt"));
        }
    }
}

public sealed class ScheduleRunSqliteTests() : ScheduleRunTests(DatabaseKind.Sqlite);

public sealed class ScheduleRunPostgresTests() : ScheduleRunTests(DatabaseKind.Postgres);
