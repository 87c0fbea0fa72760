using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using OpenSciServer.Infrastructure;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.Accounts;

/// <summary>SECURITY.md, "Accounts, tokens, dashboard": each attack tried, each outcome asserted.</summary>
public sealed class AccountSecurityTests(SqlitePlatform platform) : IClassFixture<SqlitePlatform>
{
    [Fact]
    public async Task CookieApiPost_WithoutAntiforgeryToken_Returns400AndChangesNothing()
    {
        var name = PlatformFactory.UniqueName();
        await platform.CreateUserAsync(name);
        using var browser = new FormClient(platform);
        await browser.LoginAsync(name, "a-good-long-password");

        var forged = await browser.Http.PostAsJsonAsync("/api/account/tokens", new { name = "csrf" });

        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        Assert.Contains("antiforgery", await forged.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty((await browser.Http.GetFromJsonAsync<JsonElement[]>("/api/account/tokens"))!);

        // The same call from the dashboard's own page carries the token and succeeds.
        await browser.GetAsync("/account/tokens");
        using var legit = new HttpRequestMessage(HttpMethod.Post, "/api/account/tokens") { Content = JsonContent.Create(new { name = "legit" }) };
        legit.Headers.Add("RequestVerificationToken", browser.AntiforgeryToken);
        Assert.Equal(HttpStatusCode.Created, (await browser.Http.SendAsync(legit)).StatusCode);
    }

    [Fact]
    public async Task LogoutForm_WithoutAntiforgeryToken_Returns400AndStaysLoggedIn()
    {
        using var browser = new FormClient(platform);
        await browser.LoginAsync("admin", PlatformFactory.AdminPassword);

        var response = await browser.Http.PostAsync("/logout", new FormUrlEncodedContent([]));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/")).Response.StatusCode);
    }

    [Fact]
    public async Task DashboardForm_WithoutAntiforgeryToken_Returns400AndCreatesNothing()
    {
        using var browser = new FormClient(platform);
        await browser.LoginAsync("admin", PlatformFactory.AdminPassword);
        var name = PlatformFactory.UniqueName();

        var (response, _) = await browser.SubmitAsync("/admin/users", "create-user",
            [new("Input.Username", name), new("Input.Email", $"{name}@example.org"), new("Input.Password", "a-good-long-password")],
            withAntiforgery: false);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var admin = platform.CreateApiClient(await platform.LoginAdminAsync());
        Assert.DoesNotContain((await admin.GetFromJsonAsync<JsonElement[]>("/api/admin/users"))!, u => u.GetProperty("username").GetString() == name);
    }

    [Fact]
    public async Task Logout_RevokesTheLoginBehindTheCookie()
    {
        using var browser = new FormClient(platform);
        await browser.LoginAsync("admin", PlatformFactory.AdminPassword);
        var stolenCookie = browser.Cookies.GetCookieHeader(new Uri("http://localhost/"));
        await browser.GetAsync("/");

        var response = await browser.Http.PostAsync("/logout", new FormUrlEncodedContent([new("__RequestVerificationToken", browser.AntiforgeryToken!)]));

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        // A copy of the cookie taken before logout no longer works: the server revoked its login.
        using var replay = new HttpRequestMessage(HttpMethod.Get, "/api/account");
        replay.Headers.Add("Cookie", stolenCookie);
        Assert.Equal(HttpStatusCode.Unauthorized, (await platform.CreateApiClient().SendAsync(replay)).StatusCode);
    }

    [Fact]
    public async Task AuthCookie_IsHttpOnlyLaxWithoutDomain_AndSecureOverHttps()
    {
        using var http = new FormClient(platform);
        using var https = new FormClient(platform, "https://localhost");

        var (overHttp, _) = await http.LoginAsync("admin", PlatformFactory.AdminPassword);
        var (overHttps, _) = await https.LoginAsync("admin", PlatformFactory.AdminPassword);

        var cookie = AuthCookie(overHttp);
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=lax", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("domain=", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("secure", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("secure", AuthCookie(overHttps), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task PasswordHash_IsIdentityV3Pbkdf2()
    {
        var name = PlatformFactory.UniqueName();
        await platform.CreateUserAsync(name, "the-password-to-hash");

        await using var scope = platform.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PlatformDbContext>();
        var user = await db.Users.SingleAsync(u => u.UserName == name);

        Assert.DoesNotContain("the-password-to-hash", user.PasswordHash, StringComparison.Ordinal);
        var bytes = Convert.FromBase64String(user.PasswordHash);
        Assert.Equal(0x01, bytes[0]); // format marker: Identity V3
        var prf = (bytes[1] << 24) | (bytes[2] << 16) | (bytes[3] << 8) | bytes[4];
        var iterations = (bytes[5] << 24) | (bytes[6] << 16) | (bytes[7] << 8) | bytes[8];
        Assert.Equal(2, prf); // HMAC-SHA512
        Assert.True(iterations >= 100_000, $"PBKDF2 iterations {iterations}");
    }

    [Fact]
    public async Task Tokens_AreStoredHashed_NeverInPlainText()
    {
        var token = await platform.CreateUserAsync(PlatformFactory.UniqueName());

        await using var scope = platform.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PlatformDbContext>();
        var all = await db.AccessTokens.AsNoTracking().ToListAsync();

        Assert.DoesNotContain(all, t => t.Hash == token || t.Name == token || token.Length > 12 && t.Prefix.Length > 12);
        Assert.Contains(all, t => t.Hash == OpenSciServer.Accounts.TokenService.Hash(token));
    }

    [Fact]
    public async Task Logs_NeverContainPasswordsOrTokens()
    {
        var name = PlatformFactory.UniqueName();
        const string password = "log-leak-canary-password";
        var token = await platform.CreateUserAsync(name, password);
        using var client = platform.CreateApiClient(token);
        var pat = (await (await client.PostAsJsonAsync("/api/account/tokens", new { name = "canary" })).Content.ReadFromJsonAsync<JsonElement>())
            .GetProperty("token").GetString()!;
        await platform.CreateApiClient(pat).GetAsync("/api/account");
        await platform.CreateApiClient().PostAsJsonAsync("/login-portal/keystone/v3/tokens", Keystone.Body(name, "wrong-" + password));
        await platform.CreateApiClient().GetAsync($"/login-portal/keystone/v3/tokens/{token}");

        var logs = string.Join('\n', platform.LogLines);
        Assert.Contains(name, logs, StringComparison.Ordinal); // the log did capture these events
        Assert.DoesNotContain(password, logs, StringComparison.Ordinal);
        Assert.DoesNotContain(token, logs, StringComparison.Ordinal);
        Assert.DoesNotContain(pat, logs, StringComparison.Ordinal);
    }

    private static string AuthCookie(HttpResponseMessage response) =>
        response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith(".OpenSciServer.Auth=", StringComparison.Ordinal));
}

/// <summary>Throttling, expiry, restarts and error pages: each needs a host of its own.</summary>
public sealed class AccountHostTests
{
    [Fact]
    public async Task Login_ManyFailuresForOneAccount_Returns429WithRetryAfter_OtherAccountsUnaffected()
    {
        await using var platform = new PlatformFactory { Time = new FakeTimeProvider(TimeProvider.System.GetUtcNow()) };
        platform.Settings["Accounts:MaxFailuresPerAccount"] = "3";
        await platform.InitializeAsync();
        var victim = PlatformFactory.UniqueName();
        var bystander = PlatformFactory.UniqueName();
        await platform.CreateUserAsync(victim);
        await platform.CreateUserAsync(bystander);
        using var attacker = platform.CreateApiClient(clientAddress: "203.0.113.7");

        for (var i = 0; i < 3; i++)
        {
            var wrong = await attacker.PostAsJsonAsync("/login-portal/keystone/v3/tokens", Keystone.Body(victim, "guess-" + i));
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        }

        // Even the right password is refused while the account is throttled.
        var throttled = await attacker.PostAsJsonAsync("/login-portal/keystone/v3/tokens", Keystone.Body(victim, "a-good-long-password"));
        Assert.Equal((HttpStatusCode)429, throttled.StatusCode);
        var retryAfter = int.Parse(throttled.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(retryAfter, 1, 15 * 60);
        Assert.Contains("Too many failed logins", await throttled.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // The dashboard form is throttled too, with the same status.
        using var browser = new FormClient(platform);
        Assert.Equal((HttpStatusCode)429, (await browser.LoginAsync(victim, "a-good-long-password")).Response.StatusCode);

        // Others, from the same address even, are not affected.
        var other = await attacker.PostAsJsonAsync("/login-portal/keystone/v3/tokens", Keystone.Body(bystander, "a-good-long-password"));
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);

        platform.Time!.Advance(TimeSpan.FromSeconds(retryAfter + 1));
        await platform.LoginAsync(victim, "a-good-long-password");
    }

    [Fact]
    public async Task Login_ManyFailuresFromOneAddress_Returns429ForThatAddressOnly()
    {
        await using var platform = new PlatformFactory();
        platform.Settings["Accounts:MaxFailuresPerAddress"] = "4";
        await platform.InitializeAsync();
        var user = PlatformFactory.UniqueName();
        await platform.CreateUserAsync(user);
        using var sprayer = platform.CreateApiClient(clientAddress: "198.51.100.9");
        using var colleague = platform.CreateApiClient(clientAddress: "198.51.100.10");

        for (var i = 0; i < 4; i++)
        {
            await sprayer.PostAsJsonAsync("/login-portal/keystone/v3/tokens", Keystone.Body(PlatformFactory.UniqueName("spray"), "password-" + i));
        }

        var blocked = await sprayer.PostAsJsonAsync("/login-portal/keystone/v3/tokens", Keystone.Body(user, "a-good-long-password"));
        var allowed = await colleague.PostAsJsonAsync("/login-portal/keystone/v3/tokens", Keystone.Body(user, "a-good-long-password"));

        Assert.Equal((HttpStatusCode)429, blocked.StatusCode);
        Assert.True(blocked.Headers.Contains("Retry-After"));
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
    }

    [Fact]
    public async Task Tokens_Expire_LoginAfter24h_PersonalTokenAtItsDate()
    {
        await using var platform = new PlatformFactory { Time = new FakeTimeProvider(TimeProvider.System.GetUtcNow()) };
        await platform.InitializeAsync();
        var login = await platform.CreateUserAsync(PlatformFactory.UniqueName());
        using var client = platform.CreateApiClient(login);
        var pat = (await (await client.PostAsJsonAsync("/api/account/tokens", new { name = "week", expiresInDays = 7 })).Content.ReadFromJsonAsync<JsonElement>())
            .GetProperty("token").GetString();

        platform.Time!.Advance(TimeSpan.FromHours(23));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/account")).StatusCode);

        platform.Time.Advance(TimeSpan.FromHours(2));
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/account")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await platform.CreateApiClient().GetAsync($"/login-portal/keystone/v3/tokens/{login}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await platform.CreateApiClient(pat).GetAsync("/api/account")).StatusCode);

        platform.Time.Advance(TimeSpan.FromDays(7));
        Assert.Equal(HttpStatusCode.Unauthorized, (await platform.CreateApiClient(pat).GetAsync("/api/account")).StatusCode);
    }

    [Fact]
    public async Task LoginTokenLifetime_IsConfigurable()
    {
        await using var platform = new PlatformFactory();
        platform.Settings["Accounts:LoginTokenLifetime"] = "7.00:00:00";
        await platform.InitializeAsync();

        var token = await platform.LoginAdminAsync();
        var info = await platform.CreateApiClient().GetFromJsonAsync<JsonElement>($"/login-portal/keystone/v3/tokens/{token}");

        var expires = DateTimeOffset.Parse(info.GetProperty("token").GetProperty("expires_at").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(expires - TimeProvider.System.GetUtcNow(), TimeSpan.FromDays(6.9), TimeSpan.FromDays(7.1));
    }

    [Fact]
    public async Task Restart_KeepsUsersLoggedIn()
    {
        var data = Path.Combine(Path.GetTempPath(), "oss-test-restart-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            string cookie;
            await using (var first = new PlatformFactory(dataDirectory: data))
            {
                await first.InitializeAsync();
                using var browser = new FormClient(first);
                await browser.LoginAsync("admin", PlatformFactory.AdminPassword);
                cookie = browser.Cookies.GetCookieHeader(new Uri("http://localhost/"));
            }

            await using var second = new PlatformFactory(dataDirectory: data);
            await second.InitializeAsync();
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/account");
            request.Headers.Add("Cookie", cookie);
            var response = await second.CreateApiClient().SendAsync(request);

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("admin", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("username").GetString());
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public async Task KeysAndDatabase_AreReadableByThePlatformAccountOnly()
    {
        await using var platform = new PlatformFactory();
        await platform.InitializeAsync();

        var keys = File.GetUnixFileMode(Path.Combine(platform.DataDirectory, "keys"));
        var db = File.GetUnixFileMode(Path.Combine(platform.DataDirectory, "platform.db"));

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, keys);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, db);
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(platform.DataDirectory, "keys"), "key-*.xml"));
    }

    [Fact]
    public async Task DeletedAdmin_IsNotRecreatedOnRestart_WhileAnotherAdminExists()
    {
        var data = Path.Combine(Path.GetTempPath(), "oss-test-admin-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var successor = PlatformFactory.UniqueName("boss");
            await using (var first = new PlatformFactory(dataDirectory: data))
            {
                await first.InitializeAsync();
                var token = await first.CreateUserAsync(successor);
                using var admin = first.CreateApiClient(await first.LoginAdminAsync());
                var successorId = (await first.CreateApiClient(token).GetFromJsonAsync<JsonElement>("/api/account")).GetProperty("id").GetString();
                await admin.PutAsJsonAsync($"/api/admin/users/{successorId}/admin", new { isAdmin = true });
                using var boss = first.CreateApiClient(await first.LoginAsync(successor, "a-good-long-password"));
                var adminId = (await admin.GetFromJsonAsync<JsonElement>("/api/account")).GetProperty("id").GetString();
                Assert.Equal(HttpStatusCode.NoContent, (await boss.DeleteAsync($"/api/admin/users/{adminId}")).StatusCode);
            }

            await using var second = new PlatformFactory(dataDirectory: data);
            await second.InitializeAsync();
            var login = await second.CreateApiClient().PostAsJsonAsync("/login-portal/keystone/v3/tokens", Keystone.Body("admin", PlatformFactory.AdminPassword));

            Assert.Equal(HttpStatusCode.Unauthorized, login.StatusCode);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public async Task ForwardedFor_IsBelievedOnlyFromTrustedProxies()
    {
        await using var platform = new PlatformFactory();
        platform.Settings["Accounts:MaxFailuresPerAddress"] = "2";
        platform.Settings["Platform:TrustedProxies:0"] = "10.1.2.3";
        await platform.InitializeAsync();
        var user = PlatformFactory.UniqueName();
        await platform.CreateUserAsync(user);
        using var viaProxy = platform.CreateApiClient(clientAddress: "10.1.2.3");

        // Two users behind the trusted proxy: one sprays wrong passwords, the other is not blocked.
        for (var i = 0; i < 2; i++)
        {
            using var spray = new HttpRequestMessage(HttpMethod.Post, "/login-portal/keystone/v3/tokens") { Content = JsonContent.Create(Keystone.Body("nobody" + i, "wrong-password")) };
            spray.Headers.Add("X-Forwarded-For", "192.0.2.50");
            await viaProxy.SendAsync(spray);
        }

        using var blocked = new HttpRequestMessage(HttpMethod.Post, "/login-portal/keystone/v3/tokens") { Content = JsonContent.Create(Keystone.Body(user, "a-good-long-password")) };
        blocked.Headers.Add("X-Forwarded-For", "192.0.2.50");
        using var colleague = new HttpRequestMessage(HttpMethod.Post, "/login-portal/keystone/v3/tokens") { Content = JsonContent.Create(Keystone.Body(user, "a-good-long-password")) };
        colleague.Headers.Add("X-Forwarded-For", "192.0.2.51");
        Assert.Equal((HttpStatusCode)429, (await viaProxy.SendAsync(blocked)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await viaProxy.SendAsync(colleague)).StatusCode);

        // An untrusted client cannot pick its address with the header.
        using var direct = platform.CreateApiClient(clientAddress: "192.0.2.50");
        Assert.Equal((HttpStatusCode)429, (await direct.PostAsJsonAsync("/login-portal/keystone/v3/tokens", Keystone.Body(user, "a-good-long-password"))).StatusCode);
        using var spoof = new HttpRequestMessage(HttpMethod.Post, "/login-portal/keystone/v3/tokens") { Content = JsonContent.Create(Keystone.Body(user, "a-good-long-password")) };
        spoof.Headers.Add("X-Forwarded-For", "192.0.2.99");
        Assert.Equal((HttpStatusCode)429, (await direct.SendAsync(spoof)).StatusCode);
    }

    [Theory]
    [InlineData("GET", "/api/test/boom", "application/problem+json")]
    [InlineData("GET", "/racm/test/boom", "application/json")]
    [InlineData("GET", "/test/boom", "text/html")]
    public async Task ServerError_ShowsNoStackTraceOrPath(string method, string url, string mediaType)
    {
        await using var platform = new BoomPlatform();
        await platform.InitializeAsync();

        var response = await platform.CreateApiClient().SendAsync(new HttpRequestMessage(new HttpMethod(method), url));
        var body = await response.Content.ReadAsStringAsync();

        Assert.True(response.StatusCode == HttpStatusCode.InternalServerError, $"{(int)response.StatusCode}: {body}");
        Assert.Equal(mediaType, response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("failed to handle this request", body, StringComparison.Ordinal);
        Assert.DoesNotContain(BoomPlatform.Secret, body, StringComparison.Ordinal);
        Assert.DoesNotContain("InvalidOperationException", body, StringComparison.Ordinal);
        Assert.DoesNotContain(" at ", body, StringComparison.Ordinal);
        Assert.Contains(platform.LogLines, l => l.Contains(BoomPlatform.Secret, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Registration_NeedsApproval_UserWaitsUntilAdminApproves()
    {
        await using var platform = new PlatformFactory();
        platform.Settings["Accounts:Registration"] = "Approval";
        await platform.InitializeAsync();
        var name = PlatformFactory.UniqueName();

        var registered = await platform.CreateApiClient().PostAsJsonAsync("/api/account/register", new { username = name, email = $"{name}@example.org", password = "a-good-long-password" });
        Assert.Equal(HttpStatusCode.Created, registered.StatusCode);
        var body = await registered.Content.ReadFromJsonAsync<JsonElement>();
        var id = body.GetProperty("id").GetString();
        Assert.Equal("PendingApproval", body.GetProperty("status").GetString());

        var early = await platform.CreateApiClient().PostAsJsonAsync("/login-portal/keystone/v3/tokens", Keystone.Body(name, "a-good-long-password"));
        Assert.Equal(HttpStatusCode.Forbidden, early.StatusCode);
        Assert.Contains("approval", await early.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var admin = platform.CreateApiClient(await platform.LoginAdminAsync());
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/api/admin/users/{id}/approve", null)).StatusCode);
        await platform.LoginAsync(name, "a-good-long-password");
    }

    [Fact]
    public async Task Registration_Closed_Returns403AndCreatesNothing()
    {
        await using var platform = new PlatformFactory();
        platform.Settings["Accounts:Registration"] = "Closed";
        await platform.InitializeAsync();

        var response = await platform.CreateApiClient().PostAsJsonAsync("/api/account/register", new { username = "someone", email = "someone@example.org", password = "a-good-long-password" });
        var (page, html) = await new FormClient(platform).GetAsync("/register");

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("Registration is closed", html, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        using var admin = platform.CreateApiClient(await platform.LoginAdminAsync());
        Assert.Single((await admin.GetFromJsonAsync<JsonElement[]>("/api/admin/users"))!);
    }

    [Fact]
    public async Task Startup_InvalidConfiguration_FailsWithAClearMessage()
    {
        await using var platform = new PlatformFactory();
        platform.Settings["Accounts:MinPasswordLength"] = "3";

        var error = await Assert.ThrowsAnyAsync<Exception>(platform.InitializeAsync);

        Assert.Contains("Accounts:MinPasswordLength must be between 8 and 128", error.ToString(), StringComparison.Ordinal);
    }

    /// <summary>A host with endpoints that fail, as a bug would.</summary>
    private sealed class BoomPlatform : PlatformFactory
    {
        public const string Secret = "/srv/secret/path/in/exception";

        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            builder.ConfigureServices(services => services.AddSingleton<IStartupFilter, BoomFilter>());
        }

        private sealed class BoomFilter : IStartupFilter
        {
            public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
            {
                next(app);
                // Runs inside the platform's pipeline, after its error handling was set up.
                app.Run(ctx => ctx.Request.Path.Value!.EndsWith("/test/boom", StringComparison.Ordinal)
                    ? throw new InvalidOperationException("Failed at " + Secret)
                    : Task.CompletedTask);
            };
        }
    }
}
