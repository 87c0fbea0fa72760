using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Playwright;
using OpenSciServer.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace OpenSciServer.Tests.Browser;

/// <summary>
/// A new scientist on the CasJobs page: picks the Demo catalogue, writes SQL in the editor, runs it as a
/// quick query and looks at the grid, a histogram, a scatter plot and the sky map; then submits a long
/// query into MyDB, watches the job finish without reloading, finds the table in MyDB and downloads it
/// as FITS.
/// </summary>
public sealed class CasJobsJourneyTests(BrowserFixture fixture) : IClassFixture<BrowserFixture>
{
    private const string Password = "browser-test-password";
    private const string QuickSql = "SELECT TOP 100 id, ra, dec, flux_05_2 FROM erass_synthetic";
    private const string SubmitSql = "SELECT TOP 50 id, ra, dec INTO mydb.bright FROM erass_synthetic ORDER BY flux_05_2 DESC";

    [Fact]
    public async Task QuickQuery_OnDemo_ShowsGridPlotsAndSkyMap()
    {
        var user = PlatformFactory.UniqueName("quick");
        await fixture.CreateUserAsync(user, Password);
        await using var context = await NewContextAsync();
        var page = await LogInAsync(context, user);

        // The page opens from the navigation bar on the Demo catalogue, its table listed with its rows.
        await page.ClickAsync("nav a[href='casjobs']");
        await page.WaitForURLAsync("**/casjobs");
        await Expect(page.Locator("[data-testid=context-select] option[value=Demo]")).ToHaveCountAsync(1);
        await page.SelectOptionAsync("[data-testid=context-select]", "Demo");
        await Expect(page.Locator("[data-testid=context-description]")).ToContainTextAsync("SYNTHETIC");
        var table = page.Locator("[data-testid=schema-table][data-table=erass_synthetic]");
        await Expect(table.Locator("[data-testid=schema-rows]")).ToHaveTextAsync("2,000 rows");

        // Typing a table name offers it; Enter takes it.
        await ReplaceSqlAsync(page, "SELECT * FROM eras", closeHints: false);
        await Expect(page.Locator(".CodeMirror-hints li").First).ToHaveTextAsync("erass_synthetic");
        await page.Keyboard.PressAsync("Enter");
        Assert.Equal("SELECT * FROM erass_synthetic", await EditorTextAsync(page));

        // Ctrl+Enter runs the quick query: 100 rows, one page, typed column headers.
        await ReplaceSqlAsync(page, QuickSql);
        Assert.Equal(QuickSql, await EditorTextAsync(page));
        await page.Keyboard.PressAsync("Control+Enter");
        await Expect(page.Locator("[data-testid=run-status]")).ToHaveAttributeAsync("data-state", "done", new() { Timeout = 30_000 });
        await Expect(page.Locator("[data-testid=run-status]")).ToContainTextAsync(new System.Text.RegularExpressions.Regex(@"100 rows in \d+\.\d+ s"));
        await Expect(page.Locator("[data-testid=result-row]")).ToHaveCountAsync(100);
        await Expect(page.Locator("[data-testid=result-grid] thead [data-testid=result-column] > div:first-child")).ToHaveTextAsync(["id", "ra", "dec", "flux_05_2"]);
        await Expect(page.Locator("[data-testid=result-column-type]").Nth(1)).ToHaveTextAsync("Double");
        await Expect(page.Locator("[data-testid=pager-text]")).ToHaveTextAsync("Rows 1–100 of 100 · page 1 of 1");
        await Expect(page.Locator("[data-testid=pager-next]")).ToBeDisabledAsync();
        await Expect(page.Locator("[data-testid=result-count]")).ToHaveTextAsync("100 rows");

        // The sky map drew every position, and its projection puts RA 0, dec 0 in the middle with RA growing leftwards.
        var sky = page.Locator("[data-testid=sky-canvas]");
        await Expect(sky).ToBeVisibleAsync();
        await Expect(sky).ToHaveAttributeAsync("data-points", "100");
        var centre = await page.EvaluateAsync<JsonElement>("() => window.casjobsSkyProject(0, 0)");
        Assert.Equal(centre.GetProperty("width").GetDouble() / 2, centre.GetProperty("x").GetDouble(), 1);
        Assert.Equal(centre.GetProperty("height").GetDouble() / 2, centre.GetProperty("y").GetDouble(), 1);
        var east = await page.EvaluateAsync<JsonElement>("() => window.casjobsSkyProject(90, 0)");
        Assert.True(east.GetProperty("x").GetDouble() < centre.GetProperty("x").GetDouble() - 50, "RA 90° lies left of the centre");
        var north = await page.EvaluateAsync<JsonElement>("() => window.casjobsSkyProject(0, 60)");
        Assert.True(north.GetProperty("y").GetDouble() < centre.GetProperty("y").GetDouble() - 30, "dec +60° lies above the centre");
        // The first row's position is painted in the points' colour where the projection puts it.
        Assert.True(await page.EvaluateAsync<bool>(
            @"() => {
                const cells = document.querySelectorAll('[data-testid=result-row]:first-child td');
                const p = window.casjobsSkyProject(Number(cells[2].textContent), Number(cells[3].textContent));
                const canvas = document.querySelector('[data-testid=sky-canvas]');
                const ratio = canvas.width / p.width;
                const [r, g, b, a] = canvas.getContext('2d').getImageData(Math.round(p.x * ratio), Math.round(p.y * ratio), 1, 1).data;
                return a > 0 && r - g > 60;
            }"), "a point is drawn at the first source's position");

        // A histogram of the flux, then a scatter plot of two columns.
        var plot = page.Locator("[data-testid=plot-canvas]");
        await page.SelectOptionAsync("[data-testid=plot-x]", "flux_05_2");
        await page.SelectOptionAsync("[data-testid=plot-y]", "");
        await Expect(plot).ToHaveAttributeAsync("data-kind", "histogram");
        await Expect(plot).ToHaveAttributeAsync("data-points", "100");
        await Expect(page.Locator("[data-testid=plot-caption]")).ToContainTextAsync("Histogram of flux_05_2: 100 values");
        await Screenshot(page, "casjobs-01-quick-query");
        await page.CheckAsync("#plot-logx");
        await Expect(page.Locator("[data-testid=plot-caption]")).ToContainTextAsync("log₁₀ flux_05_2");
        await page.SelectOptionAsync("[data-testid=plot-x]", "ra");
        await page.SelectOptionAsync("[data-testid=plot-y]", "dec");
        await page.UncheckAsync("#plot-logx");
        await Expect(plot).ToHaveAttributeAsync("data-kind", "scatter");
        await Expect(plot).ToHaveAttributeAsync("data-points", "100");
        await Screenshot(page, "casjobs-02-scatter");

        // The downloads are the same query as files: CSV with a header and 100 lines, a FITS table of 100 rows.
        var csv = await page.RunAndWaitForDownloadAsync(() => page.ClickAsync("[data-testid=download-csv]"));
        Assert.Equal("result.csv", csv.SuggestedFilename);
        var lines = (await File.ReadAllTextAsync((await csv.PathAsync())!)).TrimEnd('\n').Split('\n');
        Assert.Equal("id,ra,dec,flux_05_2", lines[0].TrimEnd('\r'));
        Assert.Equal(101, lines.Length);
        var fits = await page.RunAndWaitForDownloadAsync(() => page.ClickAsync("[data-testid=download-fits]"));
        Assert.Equal("result.fits", fits.SuggestedFilename);
        Assert.Equal(100, FitsTableRows(await File.ReadAllBytesAsync((await fits.PathAsync())!)));

        // More rows than the grid shows: the first 1,000 in pages of 100, all of them on the sky map.
        await ReplaceSqlAsync(page, "SELECT TOP 1500 id, ra, dec FROM erass_synthetic");
        await page.ClickAsync("[data-testid=run-quick]");
        await Expect(page.Locator("[data-testid=pager-text]")).ToHaveTextAsync("Rows 1–100 of 1,000 · page 1 of 10");
        await Expect(page.Locator("[data-testid=result-notice]")).ToContainTextAsync("the grid shows the first 1,000; the downloads hold all 1,500");
        await Expect(sky).ToHaveAttributeAsync("data-points", "1500");
        await page.ClickAsync("[data-testid=pager-next]");
        await Expect(page.Locator("[data-testid=pager-text]")).ToHaveTextAsync("Rows 101–200 of 1,000 · page 2 of 10");
        await Expect(page.Locator("[data-testid=result-row]").First.Locator("td").First).ToHaveTextAsync("101");
        await Screenshot(page, "casjobs-03-paged");

        // Two statements give two result sets, each in its tab.
        await ReplaceSqlAsync(page, "SELECT TOP 3 id FROM erass_synthetic; SELECT TOP 2 class, mag FROM erass_synthetic");
        await page.ClickAsync("[data-testid=run-quick]");
        await Expect(page.Locator("[data-testid=result-tab]")).ToHaveCountAsync(2);
        await Expect(page.Locator("[data-testid=result-row]")).ToHaveCountAsync(3);
        await page.Locator("[data-testid=result-tab]").Nth(1).ClickAsync();
        await Expect(page.Locator("[data-testid=result-row]")).ToHaveCountAsync(2);
        await Expect(page.Locator("[data-testid=result-grid] thead [data-testid=result-column] > div:first-child")).ToHaveTextAsync(["class", "mag"]);
        await Expect(page.Locator("[data-testid=sky-canvas]")).ToBeHiddenAsync();

        // A mistake in the SQL: the engine's message next to the editor, and nothing else changes.
        await ReplaceSqlAsync(page, "SELECT nosuchcolumn FROM erass_synthetic");
        await page.ClickAsync("[data-testid=run-quick]");
        await Expect(page.Locator("[data-testid=query-error]")).ToBeVisibleAsync();
        await Expect(page.Locator("[data-testid=query-error]")).ToContainTextAsync("nosuchcolumn");
        await Expect(page.Locator("[data-testid=run-status]")).ToHaveAttributeAsync("data-state", "error");
        await Screenshot(page, "casjobs-04-error");

        // The page fits a laptop screen without sideways scrolling.
        Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"));
    }

    /// <summary>
    /// Needs the jobs, MyDB and column routes (cj-jobs, cj-mydb, cj-contexts) on top of the page.
    /// </summary>
    [Fact]
    public async Task SubmitIntoMyDb_JobFinishesLive_TableListedAndDownloadsAsFits()
    {
        var user = PlatformFactory.UniqueName("submit");
        await fixture.CreateUserAsync(user, Password);
        await using var context = await NewContextAsync();
        var page = await LogInAsync(context, user);
        page.Dialog += (_, dialog) => dialog.AcceptAsync();

        await page.GotoAsync("/casjobs");
        await Expect(page.Locator("[data-testid=context-select] option[value=Demo]")).ToHaveCountAsync(1);
        await page.SelectOptionAsync("[data-testid=context-select]", "Demo");

        // The schema browser shows the table's columns with their types; the editor completes them.
        var table = page.Locator("[data-testid=schema-table][data-table=erass_synthetic]");
        await table.Locator("[data-testid=schema-toggle]").ClickAsync();
        await Expect(table.Locator("[data-testid=schema-column][data-column=flux_05_2]")).ToBeVisibleAsync();
        await Expect(table.Locator("[data-testid=schema-column][data-column=ra] td").Nth(1)).ToHaveTextAsync("DOUBLE", new() { IgnoreCase = true });
        await ReplaceSqlAsync(page, "SELECT flux_05");
        await page.Keyboard.PressAsync("Control+Space");
        await Expect(page.Locator(".CodeMirror-hints li")).ToContainTextAsync(["flux_05_2", "flux_05_2_err"]);
        await page.Keyboard.PressAsync("Escape");

        // Submit queues the long query; the Jobs tab follows it to Finished without a reload.
        await ReplaceSqlAsync(page, SubmitSql);
        await page.ClickAsync("[data-testid=run-submit]");
        await Expect(page.Locator("[data-testid=submitted-text]")).ToContainTextAsync("submitted");
        await page.ClickAsync("[data-testid=open-jobs]");
        var job = page.Locator("[data-testid=job-row]").First;
        await Expect(job.Locator("[data-testid=job-query]")).ToHaveTextAsync(SubmitSql);
        await Expect(job.Locator("[data-testid=job-status]")).ToHaveTextAsync("Finished", new() { Timeout = 60_000 });
        await Expect(job.Locator("[data-testid=job-rows]")).ToHaveTextAsync("50");
        await Expect(job.Locator("[data-testid=job-table]")).ToContainTextAsync("bright");
        await Expect(page.Locator("[data-testid=jobs-active-badge]")).ToBeHiddenAsync();
        await Expect(page.Locator("[data-testid=jobs-live]")).ToHaveTextAsync("");
        await Screenshot(page, "casjobs-05-jobs");

        // MyDB lists the new table with its 50 rows; its schema and downloads are one click away.
        await page.ClickAsync("[data-testid=tab-mydb]");
        var bright = page.Locator("[data-testid=mydb-row][data-table=bright]");
        await Expect(bright.Locator("[data-testid=mydb-rows]")).ToHaveTextAsync("50");
        await Expect(page.Locator("[data-testid=mydb-usage-text]")).ToBeVisibleAsync();
        await bright.Locator("[data-testid=mydb-details]").ClickAsync();
        await Expect(page.Locator("[data-testid=mydb-schema] [data-testid=schema-column]")).ToHaveCountAsync(3);
        await Screenshot(page, "casjobs-06-mydb");

        var download = await page.RunAndWaitForDownloadAsync(() => page.ClickAsync("[data-testid=mydb-download-fits]"));
        var fits = await File.ReadAllBytesAsync((await download.PathAsync())!);
        Assert.Equal(50, FitsTableRows(fits));

        // A job's query goes back into the editor with its context.
        await page.ClickAsync("[data-testid=tab-jobs]");
        await page.Locator("[data-testid=job-row]").First.Locator("[data-testid=job-load]").ClickAsync();
        await Expect(page.Locator("#pane-query")).ToBeVisibleAsync();
        Assert.Equal(SubmitSql, await EditorTextAsync(page));
        await Expect(page.Locator("[data-testid=context-select]")).ToHaveValueAsync("Demo");
    }

    /// <summary>Rows of the first binary table of a FITS file, read from its 80-character header cards.</summary>
    private static long FitsTableRows(byte[] fits)
    {
        Assert.True(fits.Length >= 2880 && fits.Length % 2880 == 0, $"a FITS file is made of 2880-byte blocks ({fits.Length} bytes)");
        Assert.StartsWith("SIMPLE  =", Encoding.ASCII.GetString(fits, 0, 9), StringComparison.Ordinal);
        var inTable = false;
        for (var offset = 0; offset + 80 <= fits.Length; offset += 80)
        {
            var card = Encoding.ASCII.GetString(fits, offset, 80);
            inTable |= card.StartsWith("XTENSION= 'BINTABLE'", StringComparison.Ordinal);
            if (inTable && card.StartsWith("NAXIS2  =", StringComparison.Ordinal))
            {
                return long.Parse(card[10..30].Trim(), CultureInfo.InvariantCulture);
            }
        }

        throw new Xunit.Sdk.XunitException("No BINTABLE header with NAXIS2 in the file.");
    }

    /// <summary>Replaces the editor's text by typing, as a person would (completion lists come and go).</summary>
    private static async Task ReplaceSqlAsync(IPage page, string sql, bool closeHints = true)
    {
        await page.ClickAsync("[data-testid=sql-codemirror] .CodeMirror-code");
        await page.Keyboard.PressAsync("Control+A");
        await page.Keyboard.PressAsync("Delete");
        await page.Keyboard.TypeAsync(sql);
        if (closeHints)
        {
            await page.Keyboard.PressAsync("Escape");
        }
    }

    private static Task<string> EditorTextAsync(IPage page) =>
        page.EvaluateAsync<string>("() => document.querySelector('[data-testid=sql-codemirror]').CodeMirror.getValue()");

    private Task<IBrowserContext> NewContextAsync() =>
        fixture.Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = fixture.BaseUrl, ViewportSize = new() { Width = 1366, Height = 900 }, AcceptDownloads = true });

    private static async Task<IPage> LogInAsync(IBrowserContext context, string user)
    {
        var page = await context.NewPageAsync();
        await page.GotoAsync("/login");
        await page.FillAsync("#username", user);
        await page.FillAsync("#password", Password);
        await page.ClickAsync("button[type=submit]");
        await Expect(page.Locator("[data-testid=current-user]")).ToHaveTextAsync(user);
        return page;
    }

    private static async Task Screenshot(IPage page, string name)
    {
        await page.EvaluateAsync("() => document.fonts.ready.then(() => true)");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFixture.ScreenshotDirectory, name + ".png"), FullPage = true });
    }
}
