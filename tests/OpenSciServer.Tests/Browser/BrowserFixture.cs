using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using Microsoft.Playwright;
using OpenSciServer.Compat;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.Browser;

/// <summary>
/// The platform on a real Kestrel port and Debian's Chromium driven by Playwright (never a browser
/// Playwright downloads). Screenshots go to <see cref="ScreenshotDirectory"/> for people to look at.
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";

    private IPlaywright? _playwright;

    public PlatformFactory Platform { get; } = new();

    public IBrowser Browser { get; private set; } = default!;

    public string BaseUrl { get; private set; } = "";

    public static string ScreenshotDirectory { get; } =
        Environment.GetEnvironmentVariable("OSS_SCREENSHOTS") is { Length: > 0 } dir ? dir : Path.Combine(AppContext.BaseDirectory, "screenshots");

    public async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException($"{ChromiumPath} is missing: install Debian's 'chromium' package (./test.sh does).");
        }

        var port = TestPorts.Free();
        Platform.KestrelPort = port;
        await Platform.InitializeAsync();
        BaseUrl = $"http://localhost:{port}";
        Directory.CreateDirectory(ScreenshotDirectory);

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args =
            [
                "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
            ],
        });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
        await ((IAsyncLifetime)Platform).DisposeAsync();
    }

    /// <summary>A client for the API on the real port (the factory's own clients aim at http://localhost).</summary>
    public HttpClient CreateApiClient(string? token = null)
    {
        var client = new HttpClient { BaseAddress = new Uri(BaseUrl) };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Add("X-Auth-Token", token);
        }

        return client;
    }

    /// <summary>Creates an active user through the admin API; returns a login token for it.</summary>
    public async Task<string> CreateUserAsync(string username, string password)
    {
        using (var admin = CreateApiClient(await LoginAsync("admin", PlatformFactory.AdminPassword)))
        {
            var response = await admin.PostAsJsonAsync("/api/admin/users", new { username, email = $"{username}@example.org", password });
            Assert.True(response.StatusCode == HttpStatusCode.Created, $"create {username}: {await response.Content.ReadAsStringAsync()}");
        }

        return await LoginAsync(username, password);
    }

    private async Task<string> LoginAsync(string username, string password)
    {
        using var client = CreateApiClient();
        var response = await client.PostAsJsonAsync("/login-portal/keystone/v3/tokens", Keystone.Body(username, password));
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"login as {username}: {(int)response.StatusCode}");
        return response.Headers.GetValues(KeystoneEndpoints.SubjectTokenHeader).Single();
    }
}
