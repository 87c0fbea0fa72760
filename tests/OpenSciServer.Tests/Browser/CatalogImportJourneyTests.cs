using System.Net;
using System.Net.Http.Json;
using Microsoft.Playwright;
using OpenSciServer.Tests.CasJobs;
using OpenSciServer.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace OpenSciServer.Tests.Browser;

/// <summary>
/// An admin imports a CSV catalogue on Admin › Catalogs: the import appears with its bar and phase, the page follows it
/// (catalogs.js polls the import route) until it is Ready and the new context is listed; then the admin queries it on the
/// CasJobs page.
/// </summary>
public sealed class CatalogImportJourneyTests(BrowserFixture fixture) : IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task ImportCsv_OnTheCatalogsPage_BarReachesReady_ThenTheContextAnswersAQuery()
    {
        const int rows = 100_000;
        var volume = PlatformFactory.UniqueName("dv");
        var folder = Directory.CreateDirectory(Path.Combine(fixture.Platform.DataDirectory, "volumes", "Data", volume)).FullName;
        CatalogFiles.Write(folder, "sources.csv", rows);
        using (var admin = fixture.CreateApiClient(await LoginTokenAsync()))
        {
            var published = await admin.PostAsJsonAsync("/api/admin/data-volumes", new { name = volume, path = folder });
            Assert.Equal(HttpStatusCode.Created, published.StatusCode);
        }

        var name = PlatformFactory.UniqueName("Web");
        await using var context = await fixture.Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = fixture.BaseUrl, ViewportSize = new() { Width = 1366, Height = 900 } });
        var page = await context.NewPageAsync();
        await page.GotoAsync("/login");
        await page.FillAsync("#username", "admin");
        await page.FillAsync("#password", PlatformFactory.AdminPassword);
        await page.ClickAsync("button[type=submit]");
        await Expect(page.Locator("[data-testid=current-user]")).ToHaveTextAsync("admin");
        await page.GotoAsync("/admin/catalogs");

        // The form posts; the page answers with the import listed, its bar and state, before it is done.
        await page.FillAsync("#cat-name", name);
        await page.FillAsync("#cat-path", $"{volume}/sources.csv");
        await page.FillAsync("#cat-description", "Sources imported in the browser test");
        await page.CheckAsync("#cat-public");
        await page.ClickAsync("form:has(#cat-name) button[type=submit]");
        await Expect(page.Locator("[data-testid=admin-message]")).ToContainTextAsync($"Importing '{name}'");
        var item = page.Locator($"[data-testid=import-{name}]");
        await Expect(item.Locator("[data-import-bar]")).ToBeVisibleAsync();
        await Expect(item.Locator("[data-import-state]")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^(Queued|Importing|Ready)$"));
        await Screenshot(page, "catalog-import-running");

        // catalogs.js follows it to the end and loads the page again: Ready, a full green bar, the rows, and the new context.
        await Expect(item.Locator("[data-import-state]")).ToHaveTextAsync("Ready", new() { Timeout = 60_000 });
        await Expect(page.Locator($"[data-testid=catalog-{name}]")).ToBeVisibleAsync(new() { Timeout = 10_000 });
        await Expect(item.Locator("[data-import-bar]")).ToHaveAttributeAsync("aria-valuenow", "100");
        await Expect(item.Locator("[data-import-bar] .progress-bar")).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("bg-success"));
        await Expect(item.Locator("[data-import-detail]")).ToContainTextAsync("done · 100,000 rows");
        await Expect(page.Locator($"[data-testid=catalog-{name}]")).ToContainTextAsync("sources");
        await Expect(page.Locator($"[data-testid=catalog-{name}] [data-testid=public-badge]")).ToBeVisibleAsync();
        await Screenshot(page, "catalog-import-ready");

        // The new context answers on the CasJobs page, ordered by its sky index.
        await page.GotoAsync("/casjobs");
        await page.SelectOptionAsync("[data-testid=context-select]", name);
        await page.ClickAsync("[data-testid=sql-codemirror] .CodeMirror-code");
        await page.Keyboard.PressAsync("Control+A");
        await page.Keyboard.PressAsync("Delete");
        await page.Keyboard.TypeAsync("SELECT CAST(count(*) AS VARCHAR) || ' sources' AS n, CAST(count(healpix) AS VARCHAR) || ' indexed' AS h FROM sources");
        await page.Keyboard.PressAsync("Escape");
        await page.Keyboard.PressAsync("Control+Enter");
        await Expect(page.Locator("[data-testid=run-status]")).ToHaveAttributeAsync("data-state", "done", new() { Timeout = 30_000 });
        await Expect(page.Locator("[data-testid=result-row]")).ToHaveCountAsync(1);
        // The first cell is the row number.
        await Expect(page.Locator("[data-testid=result-row] td").Nth(1)).ToHaveTextAsync($"{rows} sources");
        await Expect(page.Locator("[data-testid=result-row] td").Nth(2)).ToHaveTextAsync($"{rows} indexed");
    }

    private async Task<string> LoginTokenAsync()
    {
        using var client = fixture.CreateApiClient();
        var response = await client.PostAsJsonAsync("/login-portal/keystone/v3/tokens", Keystone.Body("admin", PlatformFactory.AdminPassword));
        response.EnsureSuccessStatusCode();
        return response.Headers.GetValues(OpenSciServer.Compat.KeystoneEndpoints.SubjectTokenHeader).Single();
    }

    private static async Task Screenshot(IPage page, string name)
    {
        await page.EvaluateAsync("() => document.fonts.ready.then(() => true)");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFixture.ScreenshotDirectory, name + ".png"), FullPage = true });
    }
}
