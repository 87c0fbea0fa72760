using System.Net;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.Jobs.Schedules;

/// <summary>The schedules page, driven through its forms as a browser without JavaScript would.</summary>
public sealed class SchedulePageTests(SqliteScheduleHost platform) : IClassFixture<SqliteScheduleHost>
{
    [Fact]
    public async Task CreateEveryMinute_PreviewAndHistoryShow_ThenDisable_BadCronIs400_OthersScheduleIs404()
    {
        var user = PlatformFactory.UniqueName("page");
        await platform.CreateUserAsync(user);
        using var browser = new FormClient(platform);
        await browser.LoginAsync(user, "a-good-long-password");

        var (bad, badHtml) = await browser.SubmitAsync("/jobs/schedules", "create-schedule",
            [new("Input.Name", "broken"), new("Input.Cron", "* * *"), new("Input.TimeZone", "UTC"), new("Input.Command", "date")]);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("&#x27;* * *&#x27; is not a cron expression: it has 3 fields", badHtml, StringComparison.Ordinal);
        Assert.Contains("data-testid=\"no-schedules\"", badHtml, StringComparison.Ordinal);

        var (created, _) = await browser.SubmitAsync("/jobs/schedules", "create-schedule",
            [new("Input.Name", "minutely <b>check</b>"), new("Input.Cron", "* * * * *"), new("Input.TimeZone", "Europe/Berlin"), new("Input.Command", "date > now.txt"),
             new("Input.Domain", "Local"), new("Input.Image", "Python 3 (astro)"), new("Input.Overlap", "Allow"), new("Input.MountPersistent", "true")]);
        Assert.Equal(HttpStatusCode.Redirect, created.StatusCode);
        var page = new Uri(new Uri("http://localhost/"), created.Headers.Location!).PathAndQuery;
        Assert.Contains("jobs/schedules?id=", page, StringComparison.Ordinal);
        var (_, html) = await browser.GetAsync(page);
        Assert.Contains("minutely &lt;b&gt;check&lt;/b&gt;", html, StringComparison.Ordinal);
        Assert.Contains("every minute (Europe/Berlin)", html, StringComparison.Ordinal);
        Assert.Contains("2027-01-11 10:01 UTC", html, StringComparison.Ordinal);
        Assert.Contains("2027-01-11 11:05 Europe/Berlin", html, StringComparison.Ordinal);
        Assert.Contains("data-testid=\"no-history\"", html, StringComparison.Ordinal);

        platform.Time!.Advance(TimeSpan.FromMinutes(1));
        platform.Wake();
        for (var i = 0; i < 200 && !html.Contains(">Submitted</span>", StringComparison.Ordinal); i++)
        {
            await Task.Delay(50);
            (_, html) = await browser.GetAsync(page);
        }

        Assert.Contains("data-testid=\"history-row\"", html, StringComparison.Ordinal);
        Assert.Contains(">Submitted</span>", html, StringComparison.Ordinal);
        var submitted = Assert.Single(platform.Submitter.Submissions, s => s.Owner.UserName == user);
        Assert.Equal("date > now.txt", submitted.Job.Command);
        Assert.Equal("persistent", Assert.Single(submitted.Job.UserVolumes).Name);
        Assert.Contains($">{submitted.JobId}</a>", html, StringComparison.Ordinal);

        var id = page[(page.IndexOf("id=", StringComparison.Ordinal) + 3)..];
        var (disabled, disabledHtml) = await browser.SubmitAsync("/jobs/schedules", "schedule-action", [new("Action", $"disable:{id}")]);
        Assert.Equal(HttpStatusCode.OK, disabled.StatusCode);
        Assert.Contains($"value=\"enable:{id}\"", disabledHtml, StringComparison.Ordinal);

        var other = PlatformFactory.UniqueName("page");
        await platform.CreateUserAsync(other);
        using var intruder = new FormClient(platform);
        await intruder.LoginAsync(other, "a-good-long-password");
        var (foreign, foreignHtml) = await intruder.GetAsync($"/jobs/schedules?id={id}");
        Assert.Equal(HttpStatusCode.NotFound, foreign.StatusCode);
        Assert.Contains($"You have no schedule {id}", foreignHtml, StringComparison.Ordinal);
        Assert.DoesNotContain("minutely", foreignHtml, StringComparison.Ordinal);
        var (stolen, _) = await intruder.SubmitAsync("/jobs/schedules", "schedule-action", [new("Action", $"delete:{id}")]);
        Assert.Equal(HttpStatusCode.NotFound, stolen.StatusCode);
        var (_, stillThere) = await browser.GetAsync("/jobs/schedules");
        Assert.Contains("minutely", stillThere, StringComparison.Ordinal);
    }
}
