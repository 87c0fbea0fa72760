using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.Web;

/// <summary>The dashboard shell, driven through its server-rendered pages and forms.</summary>
public sealed class DashboardTests(SqlitePlatform platform) : IClassFixture<SqlitePlatform>
{
    [Fact]
    public async Task LoginForm_RightPassword_RedirectsHomeWhichGreetsTheUser()
    {
        var name = PlatformFactory.UniqueName();
        await platform.CreateUserAsync(name);
        using var browser = new FormClient(platform);

        var (response, _) = await browser.LoginAsync(name, "a-good-long-password");

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/", SameSitePath(response));
        var (home, html) = await browser.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, home.StatusCode);
        Assert.Contains($"Welcome, {name}", html, StringComparison.Ordinal);
        Assert.Contains($"data-testid=\"current-user\">{name}<", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoginForm_WrongPassword_Returns401WithMessageOnThePage()
    {
        using var browser = new FormClient(platform);

        var (response, html) = await browser.LoginAsync("admin", "wrong-password-here");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("Wrong user name or password.", html, StringComparison.Ordinal);
        Assert.DoesNotContain(".OpenSciServer.Auth", string.Join(';', browser.Cookies.GetAllCookies().Select(c => c.Name)), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://evil.example/", "/")]
    [InlineData("//evil.example/", "/")]
    [InlineData("/\\evil.example/", "/")]
    [InlineData("javascript:alert(1)", "/")]
    [InlineData("http:/evil.example", "/")]
    [InlineData("/account/tokens", "/account/tokens")]
    public async Task LoginForm_ReturnUrl_OnlyLocalRedirectsFollowed(string returnUrl, string expected)
    {
        using var browser = new FormClient(platform);

        var (response, _) = await browser.LoginAsync("admin", PlatformFactory.AdminPassword, "/login?returnUrl=" + Uri.EscapeDataString(returnUrl));

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal(expected, SameSitePath(response));
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/account/tokens")]
    [InlineData("/admin/users")]
    public async Task ProtectedPage_Anonymous_RedirectsToLoginWithReturnUrl(string url)
    {
        using var browser = new FormClient(platform);

        var (response, _) = await browser.GetAsync(url);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/login?returnUrl=" + Uri.EscapeDataString(url), SameSitePath(response));
    }

    [Fact]
    public async Task AdminPage_OrdinaryUser_Gets403Page_AdminSeesUsers()
    {
        var name = PlatformFactory.UniqueName();
        await platform.CreateUserAsync(name);
        using var user = new FormClient(platform);
        await user.LoginAsync(name, "a-good-long-password");
        using var admin = new FormClient(platform);
        await admin.LoginAsync("admin", PlatformFactory.AdminPassword);

        var denied = await Follow(user, "/admin/users");
        var (allowed, html) = await admin.GetAsync("/admin/users");

        Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.Contains($"data-testid=\"user-row-{name}\"", html, StringComparison.Ordinal);
        Assert.DoesNotContain("href=\"admin/users\"", (await user.GetAsync("/")).Html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RegisterForm_UnsafeName_Returns400WithMessageBesideTheField()
    {
        using var browser = new FormClient(platform);

        var (response, html) = await browser.SubmitAsync("/register", "register",
        [
            new("Input.Username", "<b>bold</b>"), new("Input.Email", "x@example.org"),
            new("Input.Password", "a-good-long-password"), new("Input.ConfirmPassword", "a-good-long-password"),
        ]);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("<div class=\"validation-message\">A user name may hold only letters a-z", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<b>bold</b>", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RegisterForm_OpenRegistration_LogsTheNewUserIn()
    {
        using var browser = new FormClient(platform);
        var name = PlatformFactory.UniqueName("Reg");

        var (response, _) = await browser.SubmitAsync("/register", "register",
        [
            new("Input.Username", name), new("Input.Email", $"{name}@example.org"),
            new("Input.Password", "a-good-long-password"), new("Input.ConfirmPassword", "a-good-long-password"),
        ]);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Contains($"Welcome, {name.ToLowerInvariant()}", (await browser.GetAsync("/")).Html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Home_CountsFromEveryFeature_AndAppCards()
    {
        var name = PlatformFactory.UniqueName();
        using var owner = platform.CreateApiClient(await platform.CreateUserAsync(name));
        using var inviter = platform.CreateApiClient(await platform.CreateUserAsync(PlatformFactory.UniqueName()));
        await owner.PostAsJsonAsync("/api/groups", new { name = "Home count " + name });
        var other = await (await inviter.PostAsJsonAsync("/api/groups", new { name = "Home invite " + name })).Content.ReadFromJsonAsync<JsonElement>();
        await inviter.PostAsJsonAsync($"/api/groups/{other.GetProperty("id").GetInt64()}/invitations", new { user = name });
        using var browser = new FormClient(platform);
        await browser.LoginAsync(name, "a-good-long-password");

        var (_, html) = await browser.GetAsync("/");

        Assert.Equal("1", ActivityValue(html, "groups-owned"));
        Assert.Equal("1", ActivityValue(html, "group-invitations"));
        Assert.Equal("3", ActivityValue(html, "user-volumes-owned")); // persistent, scratch, jobs
        Assert.Equal("0", ActivityValue(html, "user-volumes-shared"));
        // Compute Jobs has landed: a new user has none running and none completed.
        Assert.Equal("0", ActivityValue(html, "jobs-running"));
        Assert.Equal("0", ActivityValue(html, "jobs-completed-24h"));
        Assert.DoesNotContain("Not available yet", html, StringComparison.Ordinal);
        foreach (var app in new[] { "CasJobs", "Compute", "Compute Jobs" })
        {
            Assert.Contains($"<h3 class=\"h5 mt-2\">{app}</h3>", html, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Footer_ShowsTheBuildVersion()
    {
        var (_, html) = await new FormClient(platform).GetAsync("/login");

        var match = System.Text.RegularExpressions.Regex.Match(html, "data-testid=\"version\">([^<]+)<");
        Assert.True(match.Success);
        var version = WebUtility.HtmlDecode(match.Groups[1].Value);
        Assert.StartsWith("0.1.0+", version, StringComparison.Ordinal);
        Assert.NotEqual("0.1.0+unknown", version);
    }

    [Fact]
    public async Task Resources_SciScriptConfig_PointsAtThisServer()
    {
        var response = await platform.CreateApiClient().GetAsync("/resources/sciscript.json");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("attachment", response.Content.Headers.ContentDisposition?.DispositionType);
        var config = await response.Content.ReadFromJsonAsync<Dictionary<string, string>>();
        Assert.Equal("http://localhost/login-portal/keystone/v3/tokens", config!["AuthenticationURL"]);
        Assert.Equal("http://localhost/racm", config["RacmApiURL"]);
        Assert.Equal("http://localhost/CasJobs/RestApi", config["CasJobsRESTUri"]);
        Assert.Equal("/home/idies/keystone.token", config["KeystoneTokenPath"]);
        var (_, page) = await new FormClient(platform).GetAsync("/resources");
        Assert.Contains("http://localhost/login-portal/keystone/v3/tokens", page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ApiDocs_OpenApiDocumentAndReferencePage_AreServed()
    {
        using var client = platform.CreateApiClient();

        var doc = await client.GetFromJsonAsync<JsonElement>("/openapi/v1.json");
        var docs = await platform.CreateClient().GetAsync("/docs");

        Assert.True(doc.GetProperty("paths").TryGetProperty("/api/admin/users", out _));
        Assert.True(doc.GetProperty("paths").TryGetProperty("/login-portal/keystone/v3/tokens", out _));
        Assert.Equal(HttpStatusCode.OK, docs.StatusCode);
        Assert.Equal("text/html", docs.Content.Headers.ContentType?.MediaType);
        // Everything the reference page loads comes from this server; "try it" uses no outside proxy.
        var html = await docs.Content.ReadAsStringAsync();
        Assert.DoesNotMatch("(src|href)=\"(https?:)?//", html);
        Assert.DoesNotContain("proxy.scalar.com", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownPage_Returns404Page_UnknownApi_Returns404ProblemDetails()
    {
        var (page, html) = await new FormClient(platform).GetAsync("/no/such/page");
        var api = await platform.CreateApiClient().GetAsync("/api/no/such/thing");

        Assert.Equal(HttpStatusCode.NotFound, page.StatusCode);
        Assert.Contains("There is nothing here", html, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, api.StatusCode);
        Assert.Equal("application/problem+json", api.Content.Headers.ContentType?.MediaType);
    }

    /// <summary>The number a Home activity card shows, or null for its empty state.</summary>
    private static string? ActivityValue(string html, string key)
    {
        var match = System.Text.RegularExpressions.Regex.Match(html,
            $"data-testid=\"activity-{key}\"[\\s\\S]*?(?:data-testid=\"activity-value\">(?<v>\\d+)<|stat-empty)");
        Assert.True(match.Success, $"no activity card {key}");
        return match.Groups["v"].Success ? match.Groups["v"].Value : null;
    }

    /// <summary>The path and query of a redirect, which must stay on this site.</summary>
    private static string SameSitePath(HttpResponseMessage response)
    {
        var location = new Uri(new Uri("http://localhost"), response.Headers.Location!);
        Assert.Equal("localhost", location.Host);
        return location.PathAndQuery;
    }

    private static async Task<HttpResponseMessage> Follow(FormClient browser, string url)
    {
        var (response, _) = await browser.GetAsync(url);
        for (var i = 0; i < 5 && response.StatusCode == HttpStatusCode.Redirect; i++)
        {
            (response, _) = await browser.GetAsync(response.Headers.Location!.OriginalString);
        }

        return response;
    }
}
