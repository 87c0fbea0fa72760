using System.Net;
using System.Net.Http.Json;
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
             new("Input.Domain", "Local"), new("Input.Image", "Python 3 (astro)"), new("Input.Overlap", "Allow"),
             new("Input.UserVolumes[0].Key", $"Storage/{user}/persistent"), new("Input.UserVolumes[0].Selected", "true"), new("Input.UserVolumes[0].Writable", "true")]);
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
        Assert.Equal(new OpenSciServer.Jobs.JobUserVolume("Storage", user, "persistent", Writable: true), Assert.Single(submitted.Job.UserVolumes));
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

    [Fact]
    public async Task EditForm_FilledWithTheSchedule_SavesNewCronAndVolumes_ScheduleThisJob_FillsTheFormFromTheJob()
    {
        var user = PlatformFactory.UniqueName("edit");
        var token = await platform.CreateUserAsync(user);
        using var api = platform.CreateApiClient(token);
        using var browser = new FormClient(platform);
        await browser.LoginAsync(user, "a-good-long-password");
        var id = await ScheduleWorld.CreateAsync(api, ScheduleWorld.Body("nightly-reduce", cron: "0 3 * * *", timeZone: "Europe/Berlin", job: new
        {
            kind = "Command", command = "python3 reduce.py", domain = "Local", image = "Python 3 (astro)",
            userVolumes = new[] { new { rootVolume = "Storage", owner = user, name = "persistent", writable = true } },
        }));

        var (_, form) = await browser.GetAsync($"/jobs/schedules?id={id}&edit={id}");

        Assert.Contains("Edit schedule nightly-reduce", form, StringComparison.Ordinal);
        Assert.Contains($"name=\"Input.EditId\" value=\"{id}\"", form, StringComparison.Ordinal);
        Assert.Contains("value=\"0 3 * * *\"", form, StringComparison.Ordinal);
        Assert.Contains("value=\"Europe/Berlin\"", form, StringComparison.Ordinal);
        Assert.Contains("python3 reduce.py</textarea>", form, StringComparison.Ordinal);
        Assert.Matches($"data-volume=\"Storage/{user}/persistent\"[^>]*>\\s*<input[^>]*>\\s*<div class=\"form-check\">\\s*<input[^>]*checked", form);
        Assert.Contains("Save changes", form, StringComparison.Ordinal);

        var (saved, _) = await browser.SubmitAsync("/jobs/schedules", "create-schedule",
            [new("Input.EditId", id.ToString(System.Globalization.CultureInfo.InvariantCulture)), new("Input.Name", "nightly-reduce"), new("Input.Cron", "30 4 * * *"),
             new("Input.TimeZone", "Europe/Berlin"), new("Input.Command", "python3 reduce.py --all"), new("Input.Domain", "Local"), new("Input.Image", "Python 3 (astro)"),
             new("Input.WorkingDirectory", $"/home/idies/workspace/Storage/{user}/persistent/nightly"), new("Input.TimeLimit", "00:30:00")]);

        Assert.Equal(HttpStatusCode.Redirect, saved.StatusCode);
        var schedule = await ScheduleWorld.GetAsync(api, id);
        Assert.Equal("30 4 * * *", schedule.GetProperty("cron").GetString());
        var job = schedule.GetProperty("job");
        Assert.Equal("python3 reduce.py --all", job.GetProperty("command").GetString());
        Assert.Equal($"/home/idies/workspace/Storage/{user}/persistent/nightly", job.GetProperty("workingDirectory").GetString());
        Assert.Equal("00:30:00", job.GetProperty("timeLimit").GetString());
        Assert.Empty(job.GetProperty("userVolumes").EnumerateArray());
        Assert.Single((await api.GetFromJsonAsync<System.Text.Json.JsonElement>("/api/jobs/schedules")).EnumerateArray());

        // "Schedule this job" on a job's page: the form holds the job (its default folder stays the default).
        var jobId = await Jobs.SubmitAsync(api, Jobs.Command("echo from a job", name: "quick look",
            userVolumes: new[] { new { rootVolume = "Storage", owner = user, name = "persistent", writable = false } }));
        var (_, jobPage) = await browser.GetAsync($"/jobs/{jobId}");
        Assert.Contains($"href=\"jobs/schedules?from={jobId}\"", jobPage, StringComparison.Ordinal);

        var (_, fromJob) = await browser.GetAsync($"/jobs/schedules?from={jobId}");

        Assert.Contains($"Schedule job {jobId}", fromJob, StringComparison.Ordinal);
        Assert.Contains("value=\"quick look\"", fromJob, StringComparison.Ordinal);
        Assert.Contains("echo from a job</textarea>", fromJob, StringComparison.Ordinal);
        Assert.Matches($"data-volume=\"Storage/{user}/persistent\"[^>]*>\\s*<input[^>]*>\\s*<div class=\"form-check\">\\s*<input[^>]*checked", fromJob);
        Assert.DoesNotContain("name=\"Input.EditId\"", fromJob, StringComparison.Ordinal);
        Assert.DoesNotContain($"/jobs/{jobId}_", fromJob, StringComparison.Ordinal);
    }
}
