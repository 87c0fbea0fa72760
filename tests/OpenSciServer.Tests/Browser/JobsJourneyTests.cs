using Microsoft.Playwright;
using OpenSciServer.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace OpenSciServer.Tests.Browser;

/// <summary>A scientist submits a command job from the Jobs page, watches it reach SUCCESS, reads its output and finds its file in Files.</summary>
public sealed class JobsJourneyTests(BrowserFixture fixture) : IClassFixture<BrowserFixture>
{
    private const string Password = "browser-test-password";

    [Fact]
    public async Task NewCommandJob_ReachesSuccess_ShowsItsStdout_AndItsFileIsInFiles()
    {
        var user = PlatformFactory.UniqueName("jo");
        await fixture.CreateUserAsync(user, Password);
        await using var context = await fixture.Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = fixture.BaseUrl, ViewportSize = new() { Width = 1280, Height = 900 } });
        var page = await context.NewPageAsync();
        await page.GotoAsync("/login");
        await page.FillAsync("#username", user);
        await page.FillAsync("#password", Password);
        await page.ClickAsync("button[type=submit]");
        await Expect(page.Locator("[data-testid=current-user]")).ToHaveTextAsync(user);

        await page.ClickAsync("nav a[href='jobs']");
        await Expect(page.Locator("[data-testid=no-jobs]")).ToBeVisibleAsync();
        await page.FillAsync("[data-testid=job-command]", "echo hello from the browser\nsleep 1\necho made > made-by-job.txt");
        await Screenshot(page, "jobs-01-new");
        await page.ClickAsync("[data-testid=submit-job]");
        await page.WaitForURLAsync("**/jobs/*");

        // The page follows the job live until it ends.
        await Expect(page.Locator("[data-testid=job-status]")).ToHaveTextAsync("SUCCESS", new() { Timeout = 60_000 });
        await Expect(page.Locator("[data-testid=stdout]")).ToHaveTextAsync("hello from the browser\n");
        await Expect(page.Locator("[data-testid=stderr]")).ToHaveTextAsync("");
        await Expect(page.Locator("[data-testid=exit-code]")).ToHaveTextAsync("exit code 0");
        await Screenshot(page, "jobs-02-success");

        await page.ClickAsync("[data-testid=job-folder]");
        await page.WaitForURLAsync($"**/files/Temporary/{user}/jobs/*");
        await Expect(page.Locator("[data-testid=entry-row][data-name='made-by-job.txt']")).ToBeVisibleAsync();
        await Expect(page.Locator("[data-testid=entry-row][data-name='stdout.txt']")).ToBeVisibleAsync();
        await Screenshot(page, "jobs-03-files");

        await page.GotoAsync("/jobs");
        await Expect(page.Locator("[data-testid=job-row] [data-testid=job-status]")).ToHaveTextAsync("SUCCESS");
    }

    private static async Task Screenshot(IPage page, string name)
    {
        await page.EvaluateAsync("() => document.fonts.ready.then(() => true)");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFixture.ScreenshotDirectory, name + ".png"), FullPage = true });
    }
}
