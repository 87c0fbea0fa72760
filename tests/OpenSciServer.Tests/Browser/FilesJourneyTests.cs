using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Playwright;
using OpenSciServer.Tests.Infrastructure;
using OpenSciServer.Tests.Web;
using static Microsoft.Playwright.Assertions;

namespace OpenSciServer.Tests.Browser;

/// <summary>
/// Two scientists in two browsers: Alice uploads files into her volume (file picker and drag-and-drop,
/// with progress bars), makes and deletes a folder, and shares the volume read-only with Bob; Bob finds
/// it under "Shared with me", previews and downloads a file, and has no way to change anything.
/// </summary>
public sealed class FilesJourneyTests(BrowserFixture fixture) : IClassFixture<BrowserFixture>
{
    private const string Password = "browser-test-password";
    private const string HtmlName = "<img src=x onerror=alert(1)>.csv";

    [Fact]
    public async Task UploadShareReadOnly_ReaderPreviewsAndDownloads_ButCannotChangeAnything()
    {
        var alice = PlatformFactory.UniqueName("alice");
        var bob = PlatformFactory.UniqueName("bob");
        await fixture.CreateUserAsync(alice, Password);
        var bobToken = await fixture.CreateUserAsync(bob, Password);
        await using var aliceContext = await NewContextAsync();
        await using var bobContext = await NewContextAsync();
        var a = await LogInAsync(aliceContext, alice);
        a.Dialog += (_, dialog) => dialog.AcceptAsync();
        var volume = $"Storage/{alice}/persistent";

        // Alice opens Files: her volumes per root, with the quota and the Temporary purge policy.
        await a.ClickAsync("nav a[href='files']");
        await Expect(a.Locator("[data-testid=volumes-table] [data-testid=volume-row]")).ToHaveCountAsync(3);
        await Expect(a.Locator("[data-testid=tree-root-Temporary] [data-testid=purge-policy]")).ToHaveTextAsync("Files untouched for 30 days are deleted automatically.");
        await Expect(a.Locator("[data-testid=quota-Storage] [data-testid=quota-bytes]")).ToHaveTextAsync("0 bytes of 10 GiB");
        await Screenshot(a, "files-01-home");
        await a.ClickAsync($"[data-testid='volume-{volume}']");
        await a.WaitForURLAsync($"**/files/{volume}");
        await Expect(a.Locator("[data-testid=empty-folder]")).ToBeVisibleAsync();

        // She picks a CSV file; on a slow line its bar and the overall bar climb to 100 %, then the listing shows it.
        var csv = Encoding.UTF8.GetBytes("ra,dec,mag\n" + string.Concat(Enumerable.Range(0, 60_000).Select(i => $"{i * 0.001:F3},{-5 + (i * 0.0001):F4},{12 + (i % 7)}\n")));
        var cdp = await aliceContext.NewCDPSessionAsync(a);
        await cdp.SendAsync("Network.enable");
        await cdp.SendAsync("Network.emulateNetworkConditions", new Dictionary<string, object>
        {
            ["offline"] = false, ["latency"] = 20, ["downloadThroughput"] = -1, ["uploadThroughput"] = 600_000,
        });
        await a.SetInputFilesAsync("[data-testid=upload-input]", new FilePayload { Name = "survey.csv", MimeType = "text/csv", Buffer = csv });
        var fileBar = a.Locator("[data-testid=upload-item] [data-testid=upload-progress]");
        await Expect(a.Locator("[data-testid=upload-panel]")).ToBeVisibleAsync();
        await a.WaitForFunctionAsync("() => { const v = Number(document.querySelector('[data-testid=upload-progress]')?.getAttribute('aria-valuenow')); return v > 5 && v < 100; }");
        await Screenshot(a, "files-02-uploading");
        await Expect(fileBar).ToHaveAttributeAsync("aria-valuenow", "100", new() { Timeout = 30_000 });
        await Expect(a.Locator("[data-testid=upload-overall]")).ToHaveAttributeAsync("aria-valuenow", "100");
        await Expect(a.Locator("[data-testid=upload-status]")).ToHaveTextAsync("Done");
        await cdp.SendAsync("Network.emulateNetworkConditions", new Dictionary<string, object>
        {
            ["offline"] = false, ["latency"] = 0, ["downloadThroughput"] = -1, ["uploadThroughput"] = -1,
        });
        await Expect(Row(a, "survey.csv")).ToBeVisibleAsync();
        await Expect(Row(a, "survey.csv").Locator("[data-testid=entry-size]")).ToHaveTextAsync(FileSize(csv.Length));

        // A second file arrives by drag-and-drop; the listing follows without a reload.
        var fits = FilesPagesTests.Fits("SIMPLE  =                    T", "BITPIX  =                  -32", "NAXIS   =                    0", "OBJECT  = 'NGC 1275'");
        await DropAsync(a, "ngc1275.fits", fits);
        await Expect(Row(a, "ngc1275.fits")).ToBeVisibleAsync();
        await Expect(a.Locator("[data-testid=upload-overall]")).ToHaveAttributeAsync("aria-valuenow", "100");
        await Expect(a.Locator("[data-testid=upload-summary]")).ToHaveTextAsync("1 of 1 uploaded.");
        await Screenshot(a, "files-03-uploaded");

        // A folder made through the dialog, then deleted after the confirmation.
        await a.ClickAsync("[data-testid=new-folder]");
        await Expect(a.Locator("[data-testid=dialog-new-folder]")).ToBeVisibleAsync();
        await a.FillAsync("#folder-name", "..");
        await a.ClickAsync("[data-testid=create-folder]");
        await Expect(a.Locator("[data-testid=dialog-new-folder] .validation-message")).ToContainTextAsync("Names made only of dots");
        await Screenshot(a, "files-04-new-folder-error");
        await a.FillAsync("#folder-name", "old runs");
        await a.ClickAsync("[data-testid=create-folder]");
        await Expect(a.Locator("[data-testid=files-message]")).ToHaveTextAsync("Folder created.");
        await Expect(Row(a, "old runs")).ToHaveClassAsync("entry-highlight");
        await Row(a, "old runs").Locator("[data-testid=delete]").ClickAsync();
        await Expect(a.Locator("[data-testid=files-message]")).ToHaveTextAsync("Deleted.");
        await Expect(Row(a, "old runs")).ToHaveCountAsync(0);

        // A new volume for data cubes, in Temporary, from the tree; then its settings, and deleting it.
        await a.ClickAsync("[data-testid=volume-tree] [data-testid=new-volume]");
        await a.CheckAsync("#root-Temporary");
        await a.FillAsync("#volume-name", "cubes");
        await a.FillAsync("#volume-description", "Reduced IFU cubes, kept for a month.");
        await Screenshot(a, "files-05-new-volume");
        await a.ClickAsync("[data-testid=create-volume]");
        await a.WaitForURLAsync($"**/files/Temporary/{alice}/cubes?done=volume-created");
        await Expect(a.Locator("[data-testid=volume-description]")).ToHaveTextAsync("Reduced IFU cubes, kept for a month.");
        await Expect(a.Locator($"[data-testid='volume-Temporary/{alice}/cubes']")).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("active"));
        await a.ClickAsync("[data-testid=volume-settings]");
        await Expect(a.Locator("[data-testid=delete-volume]")).ToHaveAttributeAsync("data-confirm", new System.Text.RegularExpressions.Regex("ALL the files in it"));
        await Screenshot(a, "files-06-volume-settings");
        await a.ClickAsync("[data-testid=delete-volume]");
        await a.WaitForURLAsync("**/files?done=volume-deleted");
        await Expect(a.Locator($"[data-testid='volume-Temporary/{alice}/cubes']")).ToHaveCountAsync(0);
        await a.GotoAsync($"/files/{volume}");

        // She shares the volume with Bob, read-only, through the share dialog.
        await a.ClickAsync("[data-testid=share]");
        await Expect(a.Locator("[data-testid=not-shared]")).ToBeVisibleAsync();
        await a.FillAsync("#share-name", bob);
        Assert.True(await a.IsCheckedAsync("#share-read"));
        Assert.False(await a.IsCheckedAsync("#share-write"));
        await a.ClickAsync("[data-testid=share-save]");
        await Expect(a.Locator("[data-testid=share-message]")).ToHaveTextAsync($"Shared with {bob}: read.");
        await Expect(a.Locator($"[data-principal='user:{bob}'] [data-testid=privilege-actions]")).ToHaveTextAsync("read");
        await Screenshot(a, "files-07-share-dialog");
        await a.ClickAsync("[data-testid=dialog-share] [data-testid=dialog-close]");
        await Expect(a.Locator("[data-testid=dialog-share]")).ToHaveCountAsync(0);

        // Bob finds it under "Shared with me", with its owner, and opens it.
        var b = await LogInAsync(bobContext, bob);
        await b.GotoAsync("/files");
        var sharedLink = b.Locator($"[data-testid=tree-shared] [data-testid='volume-{volume}']");
        await Expect(sharedLink.Locator("[data-testid=shared-owner]")).ToHaveTextAsync($"{alice} · Storage");
        await sharedLink.ClickAsync();
        await b.WaitForURLAsync($"**/files/{volume}");
        await Expect(b.Locator("[data-testid=access-text]")).ToHaveTextAsync("You can read this volume only.");
        await Expect(Row(b, "survey.csv")).ToBeVisibleAsync();
        foreach (var control in new[] { "delete", "rename", "upload-zone", "upload-button", "new-folder", "share", "volume-settings" })
        {
            await Expect(b.Locator($"[data-testid={control}]")).ToHaveCountAsync(0);
        }

        await Expect(Row(b, "survey.csv").Locator("[data-testid=move]")).ToHaveAttributeAsync("title", "Copy");
        await Screenshot(b, "files-08-shared-read-only");

        // He previews the CSV as a table, and the FITS file's header.
        await Row(b, "survey.csv").Locator("[data-testid=entry-link]").ClickAsync();
        await Expect(b.Locator("[data-testid=csv-table] thead th")).ToHaveTextAsync(["ra", "dec", "mag"]);
        await Expect(b.Locator("[data-testid=preview-note]")).ToHaveTextAsync("The first 200 rows; download the file for all of it");
        await Expect(b.Locator("[data-testid=delete]")).ToHaveCountAsync(0);
        await Expect(b.Locator("[data-testid=rename]")).ToHaveCountAsync(0);
        await Screenshot(b, "files-09-csv-preview");

        // The download is the very bytes Alice uploaded.
        var download = await b.RunAndWaitForDownloadAsync(() => b.ClickAsync("[data-testid=download-file]"));
        Assert.Equal("survey.csv", download.SuggestedFilename);
        Assert.Equal(SHA256.HashData(csv), SHA256.HashData(await File.ReadAllBytesAsync((await download.PathAsync())!)));

        await b.GotoAsync($"/files/{volume}/ngc1275.fits");
        await Expect(b.Locator("[data-testid=fits-card]")).ToHaveCountAsync(4);
        await Expect(b.Locator("[data-testid=fits-card]").Nth(3)).ToContainTextAsync("NGC 1275");
        await Screenshot(b, "files-10-fits-header");

        // He may copy it into a volume of his own; the dialog offers his persistent volume.
        await b.GotoAsync($"/files/{volume}");
        await Row(b, "survey.csv").Locator("[data-testid=move]").ClickAsync();
        await Expect(b.Locator("#transfer-target")).ToHaveValueAsync($"Storage/{bob}/persistent/survey.csv");
        await Expect(b.Locator("[data-testid=move-save]")).ToHaveCountAsync(0);
        await Screenshot(b, "files-11-copy-dialog");
        await b.ClickAsync("[data-testid=copy-save]");
        await Expect(b.Locator("[data-testid=files-message]")).ToHaveTextAsync("Copied.");
        await b.ClickAsync($"[data-testid='volume-Storage/{bob}/persistent']");
        await Expect(Row(b, "survey.csv")).ToBeVisibleAsync();

        // Forcing a delete through the API with his own credentials is refused, and nothing goes.
        using (var api = fixture.CreateApiClient(bobToken))
        {
            var forced = await api.DeleteAsync($"/api/files/entry/{volume}/survey.csv");
            Assert.Equal(HttpStatusCode.Forbidden, forced.StatusCode);
            var listing = await api.GetFromJsonAsync<JsonElement>($"/api/files/list/{volume}");
            Assert.Equal(2, listing.GetProperty("total").GetInt32());
        }
    }

    [Fact]
    public async Task HtmlInAFileName_IsShownAsText_AndRunsNothing()
    {
        var carol = PlatformFactory.UniqueName("carol");
        var token = await fixture.CreateUserAsync(carol, Password);
        var volume = $"Storage/{carol}/persistent";
        using (var api = fixture.CreateApiClient(token))
        {
            var put = await api.PutAsync($"/api/files/content/{volume}/{Uri.EscapeDataString(HtmlName)}",
                new ByteArrayContent("name,note\n<script>alert(2)</script>,\"<img src=y onerror=alert(3)>\"\n"u8.ToArray()));
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }

        await using var context = await NewContextAsync();
        var page = await LogInAsync(context, carol);
        var dialogs = new List<string>();
        page.Dialog += (_, dialog) =>
        {
            dialogs.Add(dialog.Message);
            _ = dialog.DismissAsync();
        };

        await page.GotoAsync($"/files/{volume}");
        var link = Row(page, HtmlName).Locator("[data-testid=entry-link]");
        await Expect(link).ToHaveTextAsync(HtmlName);
        await Expect(page.Locator("img[src=x]")).ToHaveCountAsync(0);
        await Screenshot(page, "files-12-html-name");
        await link.ClickAsync();
        await Expect(page.Locator("[data-testid=files-title]")).ToHaveTextAsync(HtmlName);
        await Expect(page.Locator("[data-testid=csv-table] tbody td").First).ToHaveTextAsync("<script>alert(2)</script>");
        await Expect(page.Locator("img[src=x], img[src=y]")).ToHaveCountAsync(0);
        await Screenshot(page, "files-13-html-name-preview");
        // Give any injected handler the chance to fire before concluding that none did.
        await page.WaitForTimeoutAsync(500);
        Assert.Empty(dialogs);
    }

    [Fact]
    public async Task BigFile_GoesInChunks_ResumesAfterAReload_AndNeverAppendsToAnotherFilesPart()
    {
        var dave = PlatformFactory.UniqueName("dave");
        var token = await fixture.CreateUserAsync(dave, Password);
        var volume = $"Temporary/{dave}/scratch";
        const int size = (70 << 20) + 12_345;
        const int chunk = 16 << 20;
        var bytes = new byte[size];
        new Random(7).NextBytes(bytes);
        var file = Path.Combine(Path.GetTempPath(), $"oss-big-{Guid.NewGuid():N}.bin");
        var name = Path.GetFileName(file);
        await File.WriteAllBytesAsync(file, bytes);
        using var api = fixture.CreateApiClient(token);
        try
        {
            // A script once sent 16 MiB of another file of the same size to the same path and gave up.
            var other = new byte[chunk];
            new Random(8).NextBytes(other);
            using (var stale = new HttpRequestMessage(HttpMethod.Put, $"/api/files/content/{volume}/{name}") { Content = new ByteArrayContent(other) })
            {
                stale.Content.Headers.ContentRange = new System.Net.Http.Headers.ContentRangeHeaderValue(0, chunk - 1, size);
                Assert.Equal(HttpStatusCode.Accepted, (await api.SendAsync(stale)).StatusCode);
            }

            await using var context = await NewContextAsync();
            var page = await LogInAsync(context, dave);
            page.Dialog += (_, dialog) => dialog.AcceptAsync();
            var ranges = new List<string>();
            page.Request += (_, request) =>
            {
                if (request.Method == "PUT" && request.Headers.TryGetValue("content-range", out var range))
                {
                    ranges.Add(range);
                }
            };
            var cdp = await context.NewCDPSessionAsync(page);
            await cdp.SendAsync("Network.enable");
            await cdp.SendAsync("Network.emulateNetworkConditions", new Dictionary<string, object>
            {
                ["offline"] = false, ["latency"] = 5, ["downloadThroughput"] = -1, ["uploadThroughput"] = 24 << 20,
            });
            await page.GotoAsync($"/files/{volume}");

            // The browser did not send that part: it starts again from byte 0. After one chunk, the page reloads.
            var firstChunk = page.WaitForResponseAsync(r => r.Request.Method == "PUT" && r.Status == 202);
            await page.SetInputFilesAsync("[data-testid=upload-input]", file);
            await firstChunk;
            await page.ReloadAsync();
            Assert.StartsWith("bytes 0-", ranges[0], StringComparison.Ordinal);
            var standing = await StableUploadOffsetAsync(api, $"{volume}/{name}", size);
            Assert.InRange(standing, chunk, size - 1);

            // The same file chosen again goes on from where the server stands.
            ranges.Clear();
            await page.SetInputFilesAsync("[data-testid=upload-input]", file);
            await Expect(page.Locator("[data-testid=upload-progress]")).ToHaveAttributeAsync("aria-valuenow", "100", new() { Timeout = 120_000 });
            await Expect(page.Locator("[data-testid=upload-status]")).ToHaveTextAsync("Done");
            await Expect(Row(page, name)).ToBeVisibleAsync();
            Assert.Equal($"bytes {standing}-{Math.Min(standing + chunk, size) - 1}/{size}", ranges[0]);
            Assert.Equal($"bytes {size - ((size - standing) % chunk == 0 ? chunk : (size - standing) % chunk)}-{size - 1}/{size}", ranges[^1]);
            var stored = await api.GetByteArrayAsync($"/api/files/content/{volume}/{name}");
            Assert.Equal(SHA256.HashData(bytes), SHA256.HashData(stored));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task FilesPage_OnAPhone_StaysReadable()
    {
        var erin = PlatformFactory.UniqueName("erin");
        var token = await fixture.CreateUserAsync(erin, Password);
        var volume = $"Storage/{erin}/persistent";
        using (var api = fixture.CreateApiClient(token))
        {
            await api.PutAsync($"/api/files/folder/{volume}/spectra", null);
            await api.PutAsync($"/api/files/content/{volume}/a-rather-long-file-name-from-the-pipeline-run-2024-11-03.fits",
                new ByteArrayContent(FilesPagesTests.Fits("SIMPLE  =                    T", "NAXIS   =                    0")));
        }

        await using var context = await fixture.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = fixture.BaseUrl, ViewportSize = new() { Width = 390, Height = 844 }, IsMobile = true, HasTouch = true,
        });
        var page = await LogInAsync(context, erin);

        await page.GotoAsync($"/files/{volume}");
        await Expect(page.Locator("[data-testid=entry-row]")).ToHaveCountAsync(2);
        Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"));
        await Screenshot(page, "files-14-phone-folder");
        await page.GotoAsync($"/files/{volume}?act=share");
        await Expect(page.Locator("[data-testid=dialog-share]")).ToBeVisibleAsync();
        await Screenshot(page, "files-15-phone-share");
    }

    /// <summary>Where an interrupted upload stands once the server has finished with the aborted request.</summary>
    private static async Task<long> StableUploadOffsetAsync(HttpClient api, string path, long size)
    {
        long last = -1;
        for (var i = 0; i < 50; i++)
        {
            var status = await api.GetFromJsonAsync<JsonElement>($"/api/files/upload-status/{path}?size={size}");
            var received = status.GetProperty("received").GetInt64();
            if (received == last)
            {
                return received;
            }

            last = received;
            await Task.Delay(200);
        }

        return last;
    }

    private static ILocator Row(IPage page, string name) =>
        page.Locator("[data-testid=entry-row]").Filter(new() { Has = page.Locator("[data-testid=entry-link]", new() { HasTextString = name }) });

    private static string FileSize(long bytes) => bytes < 1024 * 1024
        ? $"{bytes / 1024.0:0.#} KiB"
        : $"{bytes / 1024.0 / 1024.0:0.#} MiB";

    private static async Task DropAsync(IPage page, string name, byte[] bytes) =>
        await page.EvaluateAsync(
            @"([name, data]) => {
                const transfer = new DataTransfer();
                transfer.items.add(new File([new Uint8Array(data)], name, { type: 'application/fits' }));
                const target = document.querySelector('[data-drop-target]');
                for (const type of ['dragenter', 'dragover', 'drop']) {
                    target.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: transfer }));
                }
            }",
            new object[] { name, bytes.Select(b => (int)b).ToArray() });

    private Task<IBrowserContext> NewContextAsync() =>
        fixture.Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = fixture.BaseUrl, ViewportSize = new() { Width = 1280, Height = 900 }, AcceptDownloads = true });

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
        // The icon font loads after the page; wait for it so the pictures show what people see.
        await page.EvaluateAsync("() => document.fonts.ready.then(() => true)");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFixture.ScreenshotDirectory, name + ".png"), FullPage = true });
    }
}
