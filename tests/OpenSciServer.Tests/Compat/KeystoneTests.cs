using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.Compat;

/// <summary>SciScript's Authentication module against the login-portal routes, on both databases.</summary>
public abstract class KeystoneTests(PlatformFactory platform)
{
    private const string TokensUrl = "/login-portal/keystone/v3/tokens";

    [Fact]
    public async Task Login_ValidPassword_ReturnsTokenInHeaderAndBody()
    {
        var name = PlatformFactory.UniqueName();
        await platform.CreateUserAsync(name, "correct-horse-battery");
        using var client = platform.CreateApiClient();

        var response = await client.PostAsJsonAsync(TokensUrl, Keystone.Body(name, "correct-horse-battery"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var token = Assert.Single(response.Headers.GetValues("X-Subject-Token"));
        Assert.StartsWith("oss_", token, StringComparison.Ordinal);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(token, body.RootElement.GetProperty("token").GetProperty("id").GetString());
        Assert.Equal(name, body.RootElement.GetProperty("token").GetProperty("user").GetProperty("name").GetString());
    }

    [Theory]
    [InlineData("/{0}")]
    [InlineData("//{0}")]
    [InlineData("/{0}/")]
    public async Task GetToken_ValidToken_ReturnsUserIdNameAndExpiry(string suffix)
    {
        var name = PlatformFactory.UniqueName();
        var token = await platform.CreateUserAsync(name);
        using var client = platform.CreateApiClient();

        var response = await client.GetAsync(TokensUrl + string.Format(System.Globalization.CultureInfo.InvariantCulture, suffix, token));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var t = body.RootElement.GetProperty("token");
        Assert.Equal(name, t.GetProperty("user").GetProperty("name").GetString());
        Assert.True(Guid.TryParse(t.GetProperty("user").GetProperty("id").GetString(), out _));
        var expires = DateTimeOffset.Parse(t.GetProperty("expires_at").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(expires - TimeProvider.System.GetUtcNow(), TimeSpan.FromHours(23), TimeSpan.FromHours(25));
    }

    [Theory]
    [InlineData("oss_not-a-real-token-at-all")]
    [InlineData("garbage")]
    public async Task GetToken_UnknownToken_Returns404WithSciServerError(string token)
    {
        using var client = platform.CreateApiClient();

        var response = await client.GetAsync($"{TokensUrl}/{token}");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var error = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("error", error.GetProperty("status").GetString());
        Assert.Contains("invalid", error.GetProperty("error").GetString(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Login_WrongPassword_Returns401WithSciServerError()
    {
        var name = PlatformFactory.UniqueName();
        await platform.CreateUserAsync(name);
        using var client = platform.CreateApiClient();

        var response = await client.PostAsJsonAsync(TokensUrl, Keystone.Body(name, "not-the-password"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.False(response.Headers.Contains("X-Subject-Token"));
        var error = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("Wrong user name or password.", error.GetProperty("error").GetString());
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("{\"auth\":{}}")]
    [InlineData("{not json")]
    [InlineData("[1,2]")]
    public async Task Login_MalformedBody_Returns400WithMessage(string body)
    {
        using var client = platform.CreateApiClient();

        var response = await client.PostAsync(TokensUrl, new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("error", error.GetProperty("status").GetString());
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("error").GetString()));
    }

    [Fact]
    public async Task Revoke_DeleteWithSubjectToken_TokenStopsWorking()
    {
        var token = await platform.CreateUserAsync(PlatformFactory.UniqueName());
        using var client = platform.CreateApiClient(token);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/account")).StatusCode);

        using var revoke = new HttpRequestMessage(HttpMethod.Delete, TokensUrl);
        revoke.Headers.Add("X-Subject-Token", token);
        var response = await platform.CreateApiClient().SendAsync(revoke);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/account")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await platform.CreateApiClient().GetAsync($"{TokensUrl}/{token}")).StatusCode);
    }

    [Fact]
    public async Task Cors_CrossOriginLogin_ExposesSubjectTokenHeader()
    {
        using var client = platform.CreateApiClient();
        using var preflight = new HttpRequestMessage(HttpMethod.Options, TokensUrl);
        preflight.Headers.Add("Origin", "https://notebook.example.org");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        preflight.Headers.Add("Access-Control-Request-Headers", "content-type");
        var pre = await client.SendAsync(preflight);
        Assert.True(pre.Headers.Contains("Access-Control-Allow-Origin"));

        using var login = new HttpRequestMessage(HttpMethod.Post, TokensUrl) { Content = JsonContent.Create(Keystone.Body("admin", PlatformFactory.AdminPassword)) };
        login.Headers.Add("Origin", "https://notebook.example.org");
        var response = await client.SendAsync(login);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var exposed = string.Join(',', response.Headers.GetValues("Access-Control-Expose-Headers"));
        Assert.Contains("X-Subject-Token", exposed, StringComparison.OrdinalIgnoreCase);
        Assert.False(response.Headers.Contains("Access-Control-Allow-Credentials"));
    }

    [Fact]
    public async Task CompatRoutes_TokenInPortalCookieOrQuery_IsAccepted_NativeApiAcceptsOnlyHeader()
    {
        var token = await platform.CreateUserAsync(PlatformFactory.UniqueName());
        using var client = platform.CreateApiClient();

        // The native API takes the header only: a token in the URL would end up in logs and histories.
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync($"/api/account?token={token}")).StatusCode);
        using var withCookie = new HttpRequestMessage(HttpMethod.Get, "/api/account");
        withCookie.Headers.Add("Cookie", $"portalCookie={token}");
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.SendAsync(withCookie)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await platform.CreateApiClient(token).GetAsync("/api/account")).StatusCode);
    }
}

public sealed class KeystoneSqliteTests(SqlitePlatform platform) : KeystoneTests(platform), IClassFixture<SqlitePlatform>;

public sealed class KeystonePostgresTests(PostgresPlatform platform) : KeystoneTests(platform), IClassFixture<PostgresPlatform>;
