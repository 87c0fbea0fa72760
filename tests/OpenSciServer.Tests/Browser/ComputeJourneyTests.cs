using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using OpenSciServer.Authorization;
using OpenSciServer.Compat;
using OpenSciServer.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace OpenSciServer.Tests.Browser;

/// <summary>
/// A scientist on the Compute page: creates a session over their persistent volume (read-write) and a
/// data volume (read-only), opens Jupyter through the platform's proxy in a new tab, runs a notebook
/// cell that writes into the volume and one that reads the data volume, opens a terminal and checks
/// who they are there, stops the session from the page and finds the notebook's file in Files.
/// Real Jupyter (Debian's notebook 6), real bubblewrap sandbox, real Chromium.
/// </summary>
public sealed class ComputeJourneyTests(BrowserFixture fixture) : IClassFixture<BrowserFixture>
{
    private const string Password = "browser-test-password";
    private const string DataVolume = "skysurvey";

    [Fact]
    public async Task NewSession_NotebookAndTerminalThroughTheProxy_FileWrittenShowsInFiles()
    {
        var user = PlatformFactory.UniqueName("sci");
        await fixture.CreateUserAsync(user, Password);
        await RegisterDataVolumeAsync();
        await using var context = await fixture.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = fixture.BaseUrl, ViewportSize = new() { Width = 1366, Height = 900 },
        });
        var page = await LogInAsync(context, user);

        // The Compute page from the navigation bar: no sessions yet.
        await page.ClickAsync("nav a[href='compute']");
        await page.WaitForURLAsync("**/compute");
        await Expect(page.Locator("[data-testid=sessions-empty]")).ToBeVisibleAsync();

        // The form offers the Local domain with its limits, the Python image with its kernels, the data
        // volume and the user's own volumes, each with the access the user may have.
        await page.ClickAsync("[data-testid=new-session]");
        await Expect(page.Locator("[data-testid=session-domain] option[value=Local]")).ToHaveCountAsync(1);
        await page.SelectOptionAsync("[data-testid=session-domain]", "Local");
        await Expect(page.Locator("[data-testid=domain-limits]")).ToContainTextAsync("idle");
        await page.SelectOptionAsync("[data-testid=session-image]", "Python 3 (astro)");
        await Expect(page.Locator("[data-testid=image-kernels]")).ToContainTextAsync("python3");
        await page.FillAsync("[data-testid=session-name]", "journey");
        await page.CheckAsync($"[data-testid=dv-check][data-name={DataVolume}]");
        var persistent = $"Storage/{user}/persistent";
        await page.CheckAsync($"[data-testid=uv-mount][data-path='{persistent}']");
        await page.SelectOptionAsync($"[data-testid=uv-access][data-path='{persistent}']", "rw");
        await Screenshot(page, "compute-01-new-session");
        await page.ClickAsync("[data-testid=create-session]");

        // The row appears at once and turns Running without a reload.
        var row = page.Locator("[data-testid=session-row][data-name=journey]");
        await Expect(row.Locator("[data-testid=session-domain]")).ToHaveTextAsync("Local");
        await Expect(row.Locator("[data-testid=session-image]")).ToHaveTextAsync("Python 3 (astro)");
        await Expect(row.Locator("[data-testid=session-volumes]")).ToContainTextAsync($"{persistent}, {DataVolume} (data)");
        await Expect(row.Locator("[data-testid=session-status]")).ToHaveTextAsync("Running", new() { Timeout = 60_000 });
        await Expect(row.Locator("[data-testid=session-reason]")).ToContainTextAsync(new Regex(@"stops at \d\d:\d\d UTC"));
        var id = await row.GetAttributeAsync("data-id");
        await Screenshot(page, "compute-02-running");

        // Open: Jupyter's file tree in a new tab, through the proxy; the folders are the chosen volumes.
        var jupyter = await page.RunAndWaitForPopupAsync(() => row.Locator("[data-testid=session-open]").ClickAsync());
        await jupyter.WaitForURLAsync($"**/compute/sessions/{id}/tree**");
        await Expect(jupyter.Locator("#notebook_list")).ToContainTextAsync("Storage", new() { Timeout = 30_000 });
        await Expect(jupyter.Locator("#notebook_list")).ToContainTextAsync(DataVolume);
        await jupyter.GotoAsync($"/compute/sessions/{id}/tree/{persistent}");
        await Expect(jupyter.Locator(".breadcrumb")).ToContainTextAsync("persistent");
        await Expect(jupyter.Locator("#kernel-python3")).ToHaveCountAsync(1);

        // New → Python 3: a notebook in the volume; one cell writes a file there, one reads the data volume.
        await jupyter.ClickAsync("#new-dropdown-button");
        var notebook = await jupyter.RunAndWaitForPopupAsync(() => jupyter.ClickAsync("#kernel-python3 a"));
        await notebook.WaitForURLAsync("**/notebooks/**.ipynb**");
        await WaitForKernelIdleAsync(notebook);
        var written = await RunCellAsync(notebook, 0,
            $"import getpass\npath = '/home/idies/workspace/{persistent}/from-notebook.txt'\n"
            + "with open(path, 'w') as f:\n    f.write('written by ' + getpass.getuser())\nprint('wrote', path)");
        Assert.Contains($"wrote /home/idies/workspace/{persistent}/from-notebook.txt", written, StringComparison.Ordinal);
        var read = await RunCellAsync(notebook, 1, $"print(open('/home/idies/workspace/{DataVolume}/readme.txt').read().upper())");
        Assert.Contains("THE SKY IS BIG", read, StringComparison.Ordinal);
        var denied = await RunCellAsync(notebook, 2, $"open('/home/idies/workspace/{DataVolume}/mine.txt', 'w')");
        Assert.Contains("Read-only file system", denied, StringComparison.Ordinal);
        await Screenshot(notebook, "compute-03-notebook");

        // New → Terminal: the shell runs as the user.
        await jupyter.BringToFrontAsync();
        await jupyter.GotoAsync($"/compute/sessions/{id}/tree");
        await jupyter.ClickAsync("#new-dropdown-button");
        var terminal = await jupyter.RunAndWaitForPopupAsync(() => jupyter.ClickAsync("#new-terminal a"));
        await terminal.WaitForURLAsync("**/terminals/*");
        await Expect(terminal.Locator("[data-testid=terminal-state]")).ToHaveTextAsync("Connected");
        await Expect(terminal.Locator("[data-testid=terminal-session]")).ToHaveTextAsync("journey");
        await terminal.Locator("[data-testid=terminal-screen]").ClickAsync();
        await terminal.Keyboard.TypeAsync("echo \"I am $(whoami) in $PWD\"\n");
        var text = await WaitForTerminalTextAsync(terminal, $"I am {user} in ");
        Assert.Contains($"I am {user} in /home/idies", text, StringComparison.Ordinal);
        await Screenshot(terminal, "compute-04-terminal");

        // Stop from the page: the row says Stopped with the reason, Open is gone, Start is offered.
        await page.BringToFrontAsync();
        await row.Locator("[data-testid=session-stop]").ClickAsync();
        await Expect(row.Locator("[data-testid=session-status]")).ToHaveTextAsync("Stopped");
        await Expect(row.Locator("[data-testid=session-reason]")).ToHaveTextAsync("Stopped by you.");
        await Expect(row.Locator("[data-testid=session-start]")).ToBeEnabledAsync();
        await Expect(row.Locator("a[data-testid=session-open]")).ToHaveCountAsync(0);
        await Screenshot(page, "compute-05-stopped");
        using (var api = fixture.CreateApiClient())
        {
            // Nothing answers at the session's address any more.
            var cookie = string.Join("; ", (await context.CookiesAsync()).Select(c => $"{c.Name}={c.Value}"));
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/compute/sessions/{id}/api/status");
            request.Headers.Add("Cookie", cookie);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await api.SendAsync(request)).StatusCode);
        }

        // The notebook's file is in the volume, seen from the Files page.
        await page.GotoAsync($"/files/{persistent}");
        var file = page.Locator("[data-testid=entry-row][data-name='from-notebook.txt']");
        await Expect(file).ToBeVisibleAsync();
        await Expect(page.Locator("[data-testid=entry-row][data-name='Untitled.ipynb']")).ToBeVisibleAsync();
        // It holds what the notebook wrote, as the user's own Unix account.
        await file.Locator("[data-testid=entry-link]").ClickAsync();
        await Expect(page.Locator("main")).ToContainTextAsync($"written by {user}");

        // Delete asks first; confirmed, the row goes.
        page.Dialog += (_, dialog) => dialog.AcceptAsync();
        await page.GotoAsync("/compute");
        await page.Locator("[data-testid=session-row][data-name=journey] [data-testid=session-delete]").ClickAsync();
        await Expect(page.Locator("[data-testid=session-row]")).ToHaveCountAsync(0);
        await Expect(page.Locator("[data-testid=sessions-empty]")).ToBeVisibleAsync();
    }

    [Fact]
    public async Task SessionNearItsEnd_PageWarnsWithTheTimes_ExtendAndKeepAliveWork_ErrorsShown()
    {
        // A domain with short limits: 10 minutes idle, 30 minutes per start or extension, at most an hour.
        using (var admin = await AdminClientAsync())
        {
            var put = await admin.PutAsJsonAsync("/api/admin/compute/domains/Short", new
            {
                description = "Short sessions",
                backend = "Local",
                memoryBytes = 512L * 1024 * 1024,
                cpus = 1,
                maxProcesses = 256,
                maxSessionsPerUser = 2,
                idleTimeout = "00:10:00",
                lifetime = "00:30:00",
                maxLifetime = "01:00:00",
            });
            Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());
            Guid resourceId;
            await using (var scope = fixture.Platform.Services.CreateAsyncScope())
            {
                resourceId = (await scope.ServiceProvider.GetRequiredService<AccessService>().FindAsync(ResourceTypes.ComputeDomain, "Short", CancellationToken.None))!.Id;
            }

            var share = await admin.PutAsJsonAsync($"/api/resources/{resourceId}/privileges", new { type = "group", name = "public", actions = new[] { "use" } });
            Assert.True(share.IsSuccessStatusCode, await share.Content.ReadAsStringAsync());

            // And an image whose Jupyter cannot start, usable by everyone.
            var image = await admin.PutAsJsonAsync("/api/admin/compute/images/Broken", new { description = "Fails on purpose", jupyterCommand = "/usr/bin/false", kernels = new[] { "python3" } });
            Assert.True(image.IsSuccessStatusCode, await image.Content.ReadAsStringAsync());
            await using (var scope = fixture.Platform.Services.CreateAsyncScope())
            {
                resourceId = (await scope.ServiceProvider.GetRequiredService<AccessService>().FindAsync(ResourceTypes.ComputeImage, "Broken", CancellationToken.None))!.Id;
            }

            share = await admin.PutAsJsonAsync($"/api/resources/{resourceId}/privileges", new { type = "group", name = "public", actions = new[] { "use" } });
            Assert.True(share.IsSuccessStatusCode, await share.Content.ReadAsStringAsync());
        }

        var user = PlatformFactory.UniqueName("warn");
        await fixture.CreateUserAsync(user, Password);
        await using var context = await fixture.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = fixture.BaseUrl, ViewportSize = new() { Width = 1366, Height = 900 },
        });
        var page = await LogInAsync(context, user);
        await page.GotoAsync("/compute");

        // The domain's limits in words, then a session in it.
        await page.ClickAsync("[data-testid=new-session]");
        await Expect(page.Locator("[data-testid=session-domain] option[value=Short]")).ToHaveCountAsync(1);
        await page.SelectOptionAsync("[data-testid=session-domain]", "Short");
        await Expect(page.Locator("[data-testid=domain-limits]")).ToContainTextAsync(
            "stops after 10 minutes idle; runs 30 minutes per start or extension, at most 1 hour.");
        await page.FillAsync("[data-testid=session-name]", "short one");
        await page.ClickAsync("[data-testid=create-session]");
        var row = page.Locator("[data-testid=session-row][data-name='short one']");
        await Expect(row.Locator("[data-testid=session-status]")).ToHaveTextAsync("Running", new() { Timeout = 60_000 });

        // Both ends are near: the lifetime (30 minutes) and an idle stop (10 minutes), each with its time.
        var lifetime = page.Locator("[data-testid=lifetime-warning]");
        await Expect(lifetime.Locator("[data-testid=warning-text]")).ToContainTextAsync(new Regex(@"Session 'short one' stops at \d\d:\d\d UTC, in (29|30) minutes: the end of its lifetime\."));
        var idle = page.Locator("[data-testid=idle-warning]");
        await Expect(idle.Locator("[data-testid=warning-text]")).ToContainTextAsync(new Regex(@"is idle and stops at \d\d:\d\d UTC, in (9|10) minutes, unless you use it\."));
        await Screenshot(page, "compute-06-warnings");

        // Extend pushes the end to a full lifetime from now (never past the hour).
        string before;
        using (var api = fixture.CreateApiClient())
        {
            before = (await SessionsAsync(context, api)).Single().GetProperty("expiresAt").GetString()!;
        }

        await lifetime.Locator("[data-testid=session-warning-extend]").ClickAsync();
        await Expect(page.Locator("[data-testid=page-message]")).ToContainTextAsync(new Regex(@"Session 'short one' now stops at \d\d:\d\d UTC\."));
        using (var api = fixture.CreateApiClient())
        {
            var after = (await SessionsAsync(context, api)).Single();
            Assert.True(after.GetProperty("expiresAt").GetDateTimeOffset() > DateTimeOffset.Parse(before, System.Globalization.CultureInfo.InvariantCulture));
            Assert.True(after.GetProperty("expiresAt").GetDateTimeOffset() <= after.GetProperty("maxExpiresAt").GetDateTimeOffset());
        }

        // "Keep it running" uses the session through the proxy.
        await idle.Locator("[data-testid=session-keep]").ClickAsync();
        await Expect(page.Locator("[data-testid=page-message]")).ToContainTextAsync("was used just now");

        // A mistake is explained in the form: the same name again.
        await page.ClickAsync("[data-testid=new-session]");
        await page.SelectOptionAsync("[data-testid=session-domain]", "Short");
        await page.FillAsync("[data-testid=session-name]", "short one");
        await page.ClickAsync("[data-testid=create-session]");
        await Expect(page.Locator("[data-testid=form-error]")).ToHaveTextAsync("You have a session named 'short one' already.");
        await Expect(page.Locator("[data-testid=session-row]")).ToHaveCountAsync(1);
        await Screenshot(page, "compute-07-form-error");

        // A session that cannot start turns Failed, with the reason in the row, and can be started again.
        await page.FillAsync("[data-testid=session-name]", "broken");
        await page.SelectOptionAsync("[data-testid=session-image]", "Broken");
        await Expect(page.Locator("[data-testid=image-kernels]")).ToHaveTextAsync("Kernels: python3. Fails on purpose");
        await page.ClickAsync("[data-testid=create-session]");
        var broken = page.Locator("[data-testid=session-row][data-name=broken]");
        await Expect(broken.Locator("[data-testid=session-status]")).ToHaveTextAsync("Failed", new() { Timeout = 60_000 });
        await Expect(broken.Locator("[data-testid=session-reason]")).ToContainTextAsync(new Regex("could not be started|ended during the start"));
        await Expect(broken.Locator("[data-testid=session-start]")).ToBeEnabledAsync();
        await Expect(broken.Locator("button[data-testid=session-open]")).ToBeDisabledAsync();
        await Screenshot(page, "compute-08-failed");

        page.Dialog += (_, dialog) => dialog.AcceptAsync();
        await broken.Locator("[data-testid=session-delete]").ClickAsync();
        await row.Locator("[data-testid=session-delete]").ClickAsync();
        await Expect(page.Locator("[data-testid=session-row]")).ToHaveCountAsync(0);
    }

    /// <summary>The user's sessions from the API, with the browser's login cookie.</summary>
    private static async Task<List<JsonElement>> SessionsAsync(IBrowserContext context, HttpClient api)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/compute/sessions");
        request.Headers.Add("Cookie", string.Join("; ", (await context.CookiesAsync()).Select(c => $"{c.Name}={c.Value}")));
        var response = await api.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).EnumerateArray().ToList();
    }

    /// <summary>Waits until the notebook is loaded and its kernel is connected and idle.</summary>
    private static async Task WaitForKernelIdleAsync(IPage notebook) =>
        await notebook.WaitForFunctionAsync(
            "() => window.Jupyter && Jupyter.notebook && Jupyter.notebook._fully_loaded && Jupyter.notebook.kernel"
            + " && Jupyter.notebook.kernel.is_connected() && document.querySelector('#kernel_indicator_icon.kernel_idle_icon') !== null",
            null, new() { Timeout = 60_000 });

    /// <summary>Puts code into cell N (a new one below the last if needed), runs it with Shift+Enter and returns its output.</summary>
    private static async Task<string> RunCellAsync(IPage notebook, int index, string code)
    {
        await notebook.EvaluateAsync(
            "([i, code]) => { const nb = Jupyter.notebook; while (nb.ncells() <= i) { nb.insert_cell_below('code', nb.ncells() - 1); } nb.get_cell(i).set_text(code); }",
            new object[] { index, code });
        var cell = notebook.Locator(".cell.code_cell").Nth(index);
        await cell.Locator(".input_area").ClickAsync();
        await notebook.Keyboard.PressAsync("Shift+Enter");
        // Executed: the prompt shows a number, the kernel is idle again.
        await Expect(cell.Locator(".input_prompt")).ToHaveTextAsync(new Regex(@"In\s*\[\d+\]"), new() { Timeout = 30_000 });
        await WaitForKernelIdleAsync(notebook);
        return await cell.Locator(".output_area").AllInnerTextsAsync() is { } parts ? string.Join("\n", parts) : "";
    }

    /// <summary>The terminal's screen as text, from xterm.js's buffer.</summary>
    private static async Task<string> WaitForTerminalTextAsync(IPage terminal, string expected)
    {
        var text = "";
        for (var i = 0; i < 100; i++)
        {
            text = await terminal.EvaluateAsync<string>("() => window.sessionTerminalText()");
            if (text.Contains(expected, StringComparison.Ordinal))
            {
                return text;
            }

            await Task.Delay(200);
        }

        Assert.Fail($"the terminal never showed '{expected}': {text}");
        return text;
    }

    private async Task RegisterDataVolumeAsync()
    {
        var folder = Directory.CreateDirectory(Path.Combine(fixture.Platform.DataDirectory, "volumes", "Data", DataVolume)).FullName;
        await File.WriteAllTextAsync(Path.Combine(folder, "readme.txt"), "the sky is big\n");
        using var admin = await AdminClientAsync();
        var registered = await admin.PostAsJsonAsync("/api/admin/data-volumes", new { name = DataVolume, path = folder });
        Assert.True(registered.IsSuccessStatusCode, await registered.Content.ReadAsStringAsync());
        var resourceId = (await registered.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("resourceId").GetGuid();
        var shared = await admin.PutAsJsonAsync($"/api/resources/{resourceId}/privileges", new { type = "group", name = "public", actions = new[] { "read" } });
        Assert.True(shared.IsSuccessStatusCode, await shared.Content.ReadAsStringAsync());
    }

    private async Task<HttpClient> AdminClientAsync()
    {
        using var login = fixture.CreateApiClient();
        var answer = await login.PostAsJsonAsync("/login-portal/keystone/v3/tokens", Keystone.Body("admin", PlatformFactory.AdminPassword));
        return fixture.CreateApiClient(answer.Headers.GetValues(KeystoneEndpoints.SubjectTokenHeader).Single());
    }

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
