using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OpenSciServer.Tests.Infrastructure;
using static OpenSciServer.Tests.Jobs.Schedules.ScheduleWorld;

namespace OpenSciServer.Tests.Jobs.Schedules;

/// <summary>The schedules API: what it stores and shows, what it refuses, and that a schedule is its owner's alone.</summary>
public abstract class ScheduleApiTests(ScheduleHost platform)
{
    [Fact]
    public async Task Create_DailyInBerlin_ShowsWordsNextFiveRunsInUtc_ThenListUpdateDisableEnableDelete()
    {
        var (user, client) = await NewUserAsync(platform);

        var created = await client.PostAsJsonAsync("/api/jobs/schedules", Body("reduce", cron: "0 3 * * *", timeZone: "Europe/Berlin"));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var schedule = await created.Content.ReadFromJsonAsync<JsonElement>();
        var id = schedule.GetProperty("id").GetInt64();
        var now = platform.Time!.GetUtcNow();
        var firstDay = now.UtcDateTime.Date.AddDays(now.UtcDateTime.Hour >= 2 ? 1 : 0);

        Assert.Equal("every day at 03:00 (Europe/Berlin)", schedule.GetProperty("description").GetString());
        // 03:00 in Berlin in winter is 02:00 UTC.
        Assert.Equal(Enumerable.Range(0, 5).Select(d => new DateTimeOffset(firstDay.AddDays(d).AddHours(2), TimeSpan.Zero)),
            schedule.GetProperty("nextRuns").EnumerateArray().Select(r => r.GetDateTimeOffset()));
        Assert.Equal("Skip", schedule.GetProperty("overlap").GetString());
        Assert.Equal("RunOnce", schedule.GetProperty("catchUp").GetString());
        Assert.Equal("echo scheduled > out.txt", schedule.GetProperty("job").GetProperty("command").GetString());
        Assert.Equal(id, Assert.Single((await client.GetFromJsonAsync<JsonElement>("/api/jobs/schedules")).EnumerateArray()).GetProperty("id").GetInt64());

        var updated = await client.PutAsJsonAsync($"/api/jobs/schedules/{id}",
            Body("reduce-weekdays", cron: "30 7 * * 1-5", timeZone: "America/Chicago", overlap: "Allow", catchUp: "Skip", job: Job("python3 reduce.py")));
        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        var after = await updated.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("reduce-weekdays", after.GetProperty("name").GetString());
        Assert.Equal("on Monday to Friday at 07:30 (America/Chicago)", after.GetProperty("description").GetString());
        Assert.Equal("Allow", after.GetProperty("overlap").GetString());
        Assert.Equal("Skip", after.GetProperty("catchUp").GetString());
        Assert.Equal("python3 reduce.py", after.GetProperty("job").GetProperty("command").GetString());
        // 07:30 in Chicago in winter is 13:30 UTC, on weekdays only.
        Assert.All(after.GetProperty("nextRuns").EnumerateArray().Select(r => r.GetDateTimeOffset()), r =>
        {
            Assert.Equal(new TimeSpan(13, 30, 0), r.UtcDateTime.TimeOfDay);
            Assert.DoesNotContain(r.UtcDateTime.DayOfWeek, new[] { DayOfWeek.Saturday, DayOfWeek.Sunday });
        });

        var disabled = await (await client.PostAsync($"/api/jobs/schedules/{id}/disable", null)).Content.ReadFromJsonAsync<JsonElement>();
        Assert.False(disabled.GetProperty("enabled").GetBoolean());
        Assert.False(disabled.TryGetProperty("nextRunAt", out _)); // nulls are left out
        Assert.Empty(disabled.GetProperty("nextRuns").EnumerateArray());
        var enabled = await (await client.PostAsync($"/api/jobs/schedules/{id}/enable", null)).Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(enabled.GetProperty("enabled").GetBoolean());
        Assert.Equal(5, enabled.GetProperty("nextRuns").GetArrayLength());

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/api/jobs/schedules/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/api/jobs/schedules/{id}")).StatusCode);
        Assert.Empty((await client.GetFromJsonAsync<JsonElement>("/api/jobs/schedules")).EnumerateArray());
        Assert.NotEmpty(user);
    }

    [Theory]
    [InlineData("* * *", "'* * *' is not a cron expression: it has 3 fields")]
    [InlineData("61 * * * *", "'61 * * * *' is not a cron expression: ")]
    [InlineData("* * * * * * *", "is not a cron expression: it has 7 fields")]
    [InlineData("0 0 30 2 *", "never fires")]
    [InlineData("*/10 * * * * *", "would run every 10 seconds; schedules on this platform run at most every 1 minute")]
    [InlineData("", "Give a cron expression")]
    public async Task Create_WithABadCronExpression_Is400SayingWhy_AndCreatesNothing(string cron, string message)
    {
        var (_, client) = await NewUserAsync(platform);

        await AssertProblemAsync(await client.PostAsJsonAsync("/api/jobs/schedules", Body(cron: cron)), 400, message);

        Assert.Empty((await client.GetFromJsonAsync<JsonElement>("/api/jobs/schedules")).EnumerateArray());
    }

    [Theory]
    [InlineData("Mars/Olympus_Mons")]
    [InlineData("../../../etc/passwd")]
    [InlineData("/etc/localtime")]
    [InlineData("Europe/Berlin\nX")]
    public async Task Create_WithAnUnknownTimeZone_Is400NamingIana(string zone)
    {
        var (_, client) = await NewUserAsync(platform);

        await AssertProblemAsync(await client.PostAsJsonAsync("/api/jobs/schedules", Body(timeZone: zone)), 400, "is not a time zone: use an IANA name");
    }

    [Fact]
    public async Task Create_WithAJobTheJobsServiceRefuses_IsRefusedWithItsMessage_AndMissingPartsAre400()
    {
        var (_, client) = await NewUserAsync(platform);

        await AssertProblemAsync(await client.PostAsJsonAsync("/api/jobs/schedules", Body(job: Job(domain: "Nowhere"))), 404, "no compute domain 'Nowhere'");
        await AssertProblemAsync(await client.PostAsJsonAsync("/api/jobs/schedules", Body(job: Job(command: " "))), 400, "needs the command");
        await AssertProblemAsync(await client.PostAsJsonAsync("/api/jobs/schedules", new { name = "x", cron = "* * * * *" }), 400, "Give the job");
        await AssertProblemAsync(await client.PostAsJsonAsync("/api/jobs/schedules", Body(name: "")), 400, "name of 1 to 64");
        await AssertProblemAsync(await client.PostAsJsonAsync("/api/jobs/schedules", Body(overlap: "Sometimes")), 400, "");

        Assert.Empty((await client.GetFromJsonAsync<JsonElement>("/api/jobs/schedules")).EnumerateArray());
        await CreateAsync(client, Body("twice"));
        await AssertProblemAsync(await client.PostAsJsonAsync("/api/jobs/schedules", Body("twice")), 409, "already have a schedule named 'twice'");
    }

    [Fact]
    public async Task AnotherUsersSchedule_Is404ForEveryAction_AndStaysUnchanged()
    {
        var (_, alice) = await NewUserAsync(platform);
        var (_, bob) = await NewUserAsync(platform);
        var id = await CreateAsync(alice, Body("alices", cron: "0 4 * * *"));

        await AssertProblemAsync(await bob.GetAsync($"/api/jobs/schedules/{id}"), 404, $"You have no schedule {id}");
        await AssertProblemAsync(await bob.PutAsJsonAsync($"/api/jobs/schedules/{id}", Body("stolen")), 404, "no schedule");
        await AssertProblemAsync(await bob.PostAsync($"/api/jobs/schedules/{id}/disable", null), 404, "no schedule");
        await AssertProblemAsync(await bob.PostAsync($"/api/jobs/schedules/{id}/enable", null), 404, "no schedule");
        await AssertProblemAsync(await bob.DeleteAsync($"/api/jobs/schedules/{id}"), 404, "no schedule");
        await AssertProblemAsync(await bob.GetAsync("/api/jobs/schedules/999999999"), 404, "no schedule");
        Assert.Empty((await bob.GetFromJsonAsync<JsonElement>("/api/jobs/schedules")).EnumerateArray());
        Assert.Equal(HttpStatusCode.Unauthorized, (await platform.CreateApiClient().GetAsync("/api/jobs/schedules")).StatusCode);

        var still = await GetAsync(alice, id);
        Assert.Equal("alices", still.GetProperty("name").GetString());
        Assert.True(still.GetProperty("enabled").GetBoolean());
    }

    [Fact]
    public async Task Preview_SaysTheExpressionInWordsAndTheNextRuns_OrWhyItIsWrong()
    {
        var (_, client) = await NewUserAsync(platform);

        var preview = await client.GetFromJsonAsync<JsonElement>("/api/jobs/schedules/preview?cron=*/15%20*%20*%20*%20*&timeZone=UTC&count=3");
        var bad = await client.GetAsync("/api/jobs/schedules/preview?cron=*%20*%20*&timeZone=UTC");

        Assert.Equal("every 15 minutes (UTC)", preview.GetProperty("description").GetString());
        var runs = preview.GetProperty("nextRuns").EnumerateArray().Select(r => r.GetDateTimeOffset()).ToList();
        Assert.Equal(3, runs.Count);
        Assert.All(runs, r => Assert.Equal(0, r.Minute % 15));
        Assert.Equal(TimeSpan.FromMinutes(15), runs[1] - runs[0]);
        await AssertProblemAsync(bad, 400, "'* * *' is not a cron expression");
    }
}

public sealed class ScheduleApiSqliteTests(SqliteScheduleHost platform) : ScheduleApiTests(platform), IClassFixture<SqliteScheduleHost>;

public sealed class ScheduleApiPostgresTests(PostgresScheduleHost platform) : ScheduleApiTests(platform), IClassFixture<PostgresScheduleHost>;
