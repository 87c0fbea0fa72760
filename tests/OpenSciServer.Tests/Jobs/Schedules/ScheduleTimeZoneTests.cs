using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using OpenSciServer.Jobs.Schedules;
using OpenSciServer.Tests.Infrastructure;
using static OpenSciServer.Tests.Jobs.Schedules.ScheduleWorld;

namespace OpenSciServer.Tests.Jobs.Schedules;

/// <summary>Schedules read in their time zone across daylight-saving changes (the database plays no part: SQLite only).</summary>
public sealed class ScheduleTimeZoneTests
{
    // Europe/Berlin: summer time starts 2027-03-28 02:00 CET (→ 03:00 CEST) and ends 2027-10-31 03:00 CEST (→ 02:00 CET).
    private static readonly DateTimeOffset BeforeSpring = new(2027, 3, 27, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task DailyAtNineInBerlin_AcrossTheSpringChange_RunsAtNineLocal_EightThenSevenUtc()
    {
        var time = new FakeTimeProvider(BeforeSpring);
        await using var host = new ScheduleHost(DatabaseKind.Sqlite, time, new RecordingJobSubmitter());
        await host.InitializeAsync();
        var user = PlatformFactory.UniqueName("tz");
        await host.CreateUserAsync(user);
        var client = host.CreateApiClient(await host.LoginAsync(user, "a-good-long-password"));
        var id = await CreateAsync(client, Body("morning", cron: "0 9 * * *", timeZone: "Europe/Berlin"));
        DateTimeOffset[] expected = [new(2027, 3, 27, 8, 0, 0, TimeSpan.Zero), new(2027, 3, 28, 7, 0, 0, TimeSpan.Zero), new(2027, 3, 29, 7, 0, 0, TimeSpan.Zero)];

        Assert.Equal(expected, (await GetAsync(client, id)).GetProperty("nextRuns").EnumerateArray().Take(3).Select(r => r.GetDateTimeOffset()));
        for (var run = 1; run <= 3; run++)
        {
            // Step to the announced next run (a day apart: log in again, as login tokens last 24 h).
            var next = Time(await GetAsync(client, id), "nextRunAt");
            time.Advance(next - time.GetUtcNow());
            host.Wake();
            client = host.CreateApiClient(await host.LoginAsync(user, "a-good-long-password"));
            await HistoryAsync(client, id, run);
        }

        var history = await HistoryAsync(client, id, 3);
        Assert.Equal(expected, history.Select(r => Time(r, "dueAt")));
        Assert.All(history, r => Assert.Equal("Submitted", Outcome(r)));
        Assert.All(history, r => Assert.Equal(9, TimeZoneInfo.ConvertTime(Time(r, "dueAt"), TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin")).Hour));
        Assert.Equal(3, host.Submitter.Submissions.Count);
    }

    [Fact]
    public void HalfPastTwoInBerlin_SkippedHourRunsAtItsEnd_RepeatedHourRunsOnce()
    {
        var cron = CronSchedule.Parse("30 2 * * *", "Europe/Berlin");

        var spring = cron.NextRuns(BeforeSpring, 3);
        var autumn = cron.NextRuns(new DateTimeOffset(2027, 10, 30, 0, 0, 0, TimeSpan.Zero), 3);

        // 02:30 does not exist on 28 March: the run moves to the end of the gap, 03:00 CEST = 01:00 UTC.
        Assert.Equal([new DateTimeOffset(2027, 3, 27, 1, 30, 0, TimeSpan.Zero), new(2027, 3, 28, 1, 0, 0, TimeSpan.Zero), new(2027, 3, 29, 0, 30, 0, TimeSpan.Zero)], spring);
        // 02:30 happens twice on 31 October: one run, at the first (CEST = 00:30 UTC).
        Assert.Equal([new DateTimeOffset(2027, 10, 30, 0, 30, 0, TimeSpan.Zero), new(2027, 10, 31, 0, 30, 0, TimeSpan.Zero), new(2027, 11, 1, 1, 30, 0, TimeSpan.Zero)], autumn);
    }

    [Theory]
    [InlineData("* * * * *", "every minute")]
    [InlineData("*/15 * * * *", "every 15 minutes")]
    [InlineData("5 * * * *", "every hour at minute 5")]
    [InlineData("0 */6 * * *", "every 6 hours at minute 0")]
    [InlineData("30 2 * * *", "every day at 02:30")]
    [InlineData("0 8 * * 1-5", "on Monday to Friday at 08:00")]
    [InlineData("0 8 * * 0,6", "on Sunday, Saturday at 08:00")]
    [InlineData("0 0 1 * *", "on day 1 of every month at 00:00")]
    [InlineData("15 0 3 * * *", "every day at 03:00 (second 15)")]
    [InlineData("@daily", "every day at 00:00")]
    [InlineData("0 0 1 1/3 *", "on day of month 1, month 1/3, day of week * at 00:00")]
    public void Describe_CommonExpressions_InWords(string cron, string words) =>
        Assert.Equal(words, CronSchedule.Describe(cron));

    [Fact]
    public void Parse_SixFieldsMeanSecondsFirst_FiveFieldsMinutes()
    {
        var from = new DateTimeOffset(2027, 1, 11, 10, 0, 0, TimeSpan.Zero);

        Assert.Equal(from.AddSeconds(30), CronSchedule.Parse("30 * * * * *", null).NextAfter(from));
        Assert.Equal(from.AddMinutes(1), CronSchedule.Parse("* * * * *", null).NextAfter(from));
        Assert.Equal("UTC", CronSchedule.Parse("* * * * *", null).ZoneId);
    }
}
