using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Microsoft.Playwright;
using OpenSciServer.Jobs.Schedules;
using OpenSciServer.Tests.Infrastructure;
using OpenSciServer.Tests.Jobs.Schedules;
using static Microsoft.Playwright.Assertions;
using JobsApi = OpenSciServer.Tests.Jobs.Jobs;

namespace OpenSciServer.Tests.Browser;

/// <summary>The browser platform with a clock the test moves: real jobs, real Chromium, injected time.</summary>
public sealed class FakeClockBrowserFixture : IAsyncLifetime
{
    public FakeClockBrowserFixture()
    {
        // Not before the real time (the browser drops cookies that expired by its own clock); ten seconds past a minute.
        var now = TimeProvider.System.GetUtcNow();
        Start = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, now.Minute, 10, TimeSpan.Zero).AddMinutes(1);
        Time = new FakeTimeProvider(Start);
    }

    public BrowserFixture Browser { get; } = new();

    public FakeTimeProvider Time { get; }

    public DateTimeOffset Start { get; }

    public async Task InitializeAsync()
    {
        Browser.Platform.Time = Time;
        Browser.Platform.Settings["Jobs:PollInterval"] = "00:00:00.200";
        await Browser.InitializeAsync();
    }

    public Task DisposeAsync() => Browser.DisposeAsync();

    /// <summary>Moves the platform's clock; the scheduler looks at once.</summary>
    public void Advance(TimeSpan by)
    {
        Time.Advance(by);
        Browser.Platform.Services.GetRequiredService<ScheduleSignal>().Wake();
    }
}

/// <summary>
/// A scientist schedules a command every minute from the schedules page; the platform's clock is moved
/// two minutes (time injected, not waited); two runs appear in the schedule's history while the page is open, and a run's job
/// page shows its stdout. The cron preview answers as the expression is typed.
/// </summary>
public sealed class SchedulesJourneyTests(FakeClockBrowserFixture fixture) : IClassFixture<FakeClockBrowserFixture>
{
    private const string Password = "browser-test-password";

    [Fact]
    public async Task EveryMinuteSchedule_ClockMovedTwoMinutes_TwoRunsInItsHistory_ARunsJobPageShowsItsStdout()
    {
        var user = PlatformFactory.UniqueName("sc");
        var token = await fixture.Browser.CreateUserAsync(user, Password);
        using var api = fixture.Browser.CreateApiClient(token);
        await using var context = await fixture.Browser.Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = fixture.Browser.BaseUrl, ViewportSize = new() { Width = 1280, Height = 1000 } });
        var page = await context.NewPageAsync();
        await page.GotoAsync("/login");
        await page.FillAsync("#username", user);
        await page.FillAsync("#password", Password);
        await page.ClickAsync("button[type=submit]");
        await Expect(page.Locator("[data-testid=current-user]")).ToHaveTextAsync(user);

        await page.ClickAsync("nav a[href='jobs']");
        await page.ClickAsync("[data-testid=schedules-link]");
        await page.WaitForURLAsync("**/jobs/schedules");
        await Expect(page.Locator("[data-testid=no-schedules]")).ToBeVisibleAsync();

        // The preview follows the expression: an error for a broken one, words and the next five runs for a good one.
        var preview = page.Locator("[data-testid=cron-preview]");
        await page.FillAsync("[data-testid=schedule-zone]", "UTC");
        await page.FillAsync("[data-testid=schedule-cron]", "* * *");
        await Expect(preview.Locator("[data-cron-words]")).ToContainTextAsync("'* * *' is not a cron expression: it has 3 fields");
        await Expect(preview.Locator("[data-cron-runs] li")).ToHaveCountAsync(0);
        await page.FillAsync("[data-testid=schedule-cron]", "* * * * *");
        await Expect(preview.Locator("[data-cron-words]")).ToHaveTextAsync("every minute (UTC)");
        await Expect(preview.Locator("[data-cron-runs] li")).ToHaveCountAsync(5);
        // The platform's (fake) clock decides: the first run is the minute after its now.
        var first = fixture.Time.GetUtcNow();
        first = new DateTimeOffset(first.Year, first.Month, first.Day, first.Hour, first.Minute, 0, TimeSpan.Zero).AddMinutes(1);
        await Expect(preview.Locator("[data-cron-runs] li").First).ToContainTextAsync(first.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) + " UTC");

        await page.FillAsync("[data-testid=schedule-name]", "tick");
        await page.FillAsync("[data-testid=schedule-command]", $"echo \"tick $SCISERVER_JOB_ID\" >> /home/idies/workspace/Storage/{user}/persistent/ticks.txt\necho hello from the schedule");
        var persistent = page.Locator($"[data-testid=schedule-user-volume][data-volume='Storage/{user}/persistent'] input[type=checkbox]");
        await persistent.Nth(0).CheckAsync();
        await persistent.Nth(1).CheckAsync();
        await Screenshot(page, "schedules-01-new");
        await page.ClickAsync("[data-testid=create-schedule]");
        await page.WaitForURLAsync("**/jobs/schedules?id=*");
        await Expect(page.Locator("[data-testid=schedule-row]")).ToHaveCountAsync(1);
        await Expect(page.Locator("[data-testid=no-history]")).ToBeVisibleAsync();
        await Expect(page.Locator("[data-testid=next-runs] li").First).ToContainTextAsync(first.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) + " UTC");
        var id = long.Parse(page.Url[(page.Url.IndexOf("id=", StringComparison.Ordinal) + 3)..], CultureInfo.InvariantCulture);

        // Minute one: a real job runs and ends (well within its minute); minute two: the next one.
        fixture.Advance(TimeSpan.FromMinutes(1));
        var run = (await ScheduleWorld.HistoryAsync(api, id, 1))[0];
        await JobsApi.WaitAsync(api, run.GetProperty("jobId").GetInt64(), "Success");
        fixture.Advance(TimeSpan.FromMinutes(1));
        await ScheduleWorld.HistoryAsync(api, id, 2);

        // No reload: the page follows the schedule's history, and the runs appear in it as they happen.
        var rows = page.Locator("[data-testid=history-row]");
        await Expect(rows).ToHaveCountAsync(2, new() { Timeout = 15_000 });
        await Expect(page.Locator("[data-testid=schedule-row] td:nth-child(4) .badge")).ToHaveTextAsync("Submitted");
        await Expect(rows.Locator("td:nth-child(2) .badge")).ToHaveTextAsync(["Submitted", "Submitted"]);
        // The first run's job has ended; each run shows its job's status.
        await Expect(rows.Nth(1).Locator("[data-testid=history-job-status]")).ToHaveTextAsync("SUCCESS");
        // The second one's badge follows its job (live, through jobs.js, if it was still running at the reload).
        await Expect(rows.Nth(0).Locator("[data-testid=history-job-status]")).ToHaveTextAsync("SUCCESS", new() { Timeout = 30_000 });
        await Screenshot(page, "schedules-02-history");

        // The newest run is listed first; its job page follows it to SUCCESS.
        var jobId = await rows.Nth(0).Locator("[data-testid=history-job]").TextContentAsync();
        await rows.Nth(0).Locator("[data-testid=history-job]").ClickAsync();
        await page.WaitForURLAsync($"**/jobs/{jobId}");
        await Expect(page.Locator("[data-testid=job-status]")).ToHaveTextAsync("SUCCESS", new() { Timeout = 60_000 });
        await Expect(page.Locator("[data-testid=stdout]")).ToHaveTextAsync("hello from the schedule\n");
        await Expect(page.Locator("[data-testid=job-schedule]")).ToHaveAttributeAsync("href", $"jobs/schedules?id={id}");
        await Screenshot(page, "schedules-03-run");

        var ticks = Path.Combine(fixture.Browser.Platform.DataDirectory, "volumes", "Storage", user, "persistent", "ticks.txt");
        Assert.Equal(2, (await File.ReadAllLinesAsync(ticks)).Length);
        Assert.Equal($"tick {jobId}", (await File.ReadAllLinesAsync(ticks))[1]);
    }

    private static async Task Screenshot(IPage page, string name)
    {
        await page.EvaluateAsync("() => document.fonts.ready.then(() => true)");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFixture.ScreenshotDirectory, name + ".png"), FullPage = true });
    }
}
