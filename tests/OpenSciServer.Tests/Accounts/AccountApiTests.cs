using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.Accounts;

/// <summary>The native account and admin API, as operators script it, on both databases.</summary>
public abstract class AccountApiTests(PlatformFactory platform)
{
    [Fact]
    public async Task CreateUser_AsAdmin_CreatesActiveUserWhoCanLogIn()
    {
        using var admin = platform.CreateApiClient(await platform.LoginAdminAsync());
        var name = PlatformFactory.UniqueName();

        var response = await admin.PostAsJsonAsync("/api/admin/users", new { username = name, email = $"{name}@example.org", password = "a-good-long-password" });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(name, created.GetProperty("username").GetString());
        Assert.Equal("Active", created.GetProperty("status").GetString());
        var listed = await admin.GetFromJsonAsync<JsonElement[]>("/api/admin/users");
        Assert.Contains(listed!, u => u.GetProperty("username").GetString() == name);
        var token = await platform.LoginAsync(name, "a-good-long-password");
        var me = await platform.CreateApiClient(token).GetFromJsonAsync<JsonElement>("/api/account");
        Assert.Equal(name, me.GetProperty("username").GetString());
        Assert.False(me.GetProperty("isAdmin").GetBoolean());
    }

    [Fact]
    public async Task AdminApi_AsOrdinaryUser_Returns403AndCreatesNothing()
    {
        using var user = platform.CreateApiClient(await platform.CreateUserAsync(PlatformFactory.UniqueName()));
        var name = PlatformFactory.UniqueName();

        var create = await user.PostAsJsonAsync("/api/admin/users", new { username = name, email = $"{name}@example.org", password = "a-good-long-password" });
        var list = await user.GetAsync("/api/admin/users");

        Assert.Equal(HttpStatusCode.Forbidden, create.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, list.StatusCode);
        using var admin = platform.CreateApiClient(await platform.LoginAdminAsync());
        var all = await admin.GetFromJsonAsync<JsonElement[]>("/api/admin/users");
        Assert.DoesNotContain(all!, u => u.GetProperty("username").GetString() == name);
    }

    [Theory]
    [InlineData("/api/account")]
    [InlineData("/api/admin/users")]
    [InlineData("/api/account/tokens")]
    public async Task Api_WithoutToken_Returns401ProblemDetails(string url)
    {
        var response = await platform.CreateApiClient().GetAsync(url);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData("<img src=x onerror=alert(1)>", "username")]
    [InlineData("ab", "username")]
    [InlineData("1abc", "username")]
    [InlineData("root", "username")]
    [InlineData("has space", "username")]
    [InlineData("semi;colon", "username")]
    [InlineData("nul\u0000name", "username")]
    [InlineData("../etc", "username")]
    [InlineData("", "username")]
    public async Task CreateUser_UnsafeName_Returns400NamingTheFieldAndCreatesNothing(string username, string field)
    {
        using var admin = platform.CreateApiClient(await platform.LoginAdminAsync());
        var before = (await admin.GetFromJsonAsync<JsonElement[]>("/api/admin/users"))!.Length;

        var response = await admin.PostAsJsonAsync("/api/admin/users", new { username, email = $"{Guid.NewGuid():N}@example.org", password = "a-good-long-password" });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out var messages), await response.Content.ReadAsStringAsync());
        Assert.False(string.IsNullOrWhiteSpace(messages[0].GetString()));
        Assert.Equal(before, (await admin.GetFromJsonAsync<JsonElement[]>("/api/admin/users"))!.Length);
    }

    [Fact]
    public async Task CreateUser_SameNameInOtherCaseOrFullWidth_Returns409()
    {
        using var admin = platform.CreateApiClient(await platform.LoginAdminAsync());
        var name = PlatformFactory.UniqueName("dup");
        await platform.CreateUserAsync(name);

        var upper = await admin.PostAsJsonAsync("/api/admin/users", new { username = name.ToUpperInvariant(), email = $"{Guid.NewGuid():N}@example.org", password = "a-good-long-password" });
        // Full-width Latin letters and digits fold to ASCII under NFKC: "ｄｕｐ１" is "dup1".
        var wide = new string(name.Select(c => (char)(c + 0xFEE0)).ToArray());
        var fullWidth = await admin.PostAsJsonAsync("/api/admin/users", new { username = wide, email = $"{Guid.NewGuid():N}@example.org", password = "a-good-long-password" });

        Assert.Equal(HttpStatusCode.Conflict, upper.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, fullWidth.StatusCode);
    }

    [Theory]
    [InlineData("not-an-email", "a-good-long-password", "email")]
    [InlineData("x@example.org<script>", "a-good-long-password", "email")]
    [InlineData("{0}@example.org", "short", "password")]
    public async Task CreateUser_BadEmailOrPassword_Returns400OnThatField(string email, string password, string field)
    {
        using var admin = platform.CreateApiClient(await platform.LoginAdminAsync());
        var name = PlatformFactory.UniqueName();

        var response = await admin.PostAsJsonAsync("/api/admin/users", new { username = name, email = email.Replace("{0}", name, StringComparison.Ordinal), password });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _));
    }

    [Fact]
    public async Task PersonalTokens_CreateListUseRevoke_RevokedTokenFailsAtOnce()
    {
        using var user = platform.CreateApiClient(await platform.CreateUserAsync(PlatformFactory.UniqueName()));

        var created = await user.PostAsJsonAsync("/api/account/tokens", new { name = "pipeline", expiresInDays = 7 });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var body = await created.Content.ReadFromJsonAsync<JsonElement>();
        var secret = body.GetProperty("token").GetString()!;
        var id = body.GetProperty("id").GetString();

        var list = await user.GetFromJsonAsync<JsonElement[]>("/api/account/tokens");
        var listed = Assert.Single(list!);
        Assert.Equal("pipeline", listed.GetProperty("name").GetString());
        Assert.False(listed.TryGetProperty("token", out _), "the secret is never listed");
        Assert.StartsWith(listed.GetProperty("prefix").GetString()!, secret, StringComparison.Ordinal);

        using var pat = platform.CreateApiClient(secret);
        Assert.Equal(HttpStatusCode.OK, (await pat.GetAsync("/api/account")).StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, (await user.DeleteAsync($"/api/account/tokens/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await pat.GetAsync("/api/account")).StatusCode);
        Assert.Empty((await user.GetFromJsonAsync<JsonElement[]>("/api/account/tokens"))!);
    }

    [Fact]
    public async Task RevokeToken_SomeoneElses_Returns404AndTokenStillWorks()
    {
        using var owner = platform.CreateApiClient(await platform.CreateUserAsync(PlatformFactory.UniqueName()));
        using var other = platform.CreateApiClient(await platform.CreateUserAsync(PlatformFactory.UniqueName()));
        var created = await (await owner.PostAsJsonAsync("/api/account/tokens", new { name = "mine" })).Content.ReadFromJsonAsync<JsonElement>();

        var response = await other.DeleteAsync($"/api/account/tokens/{created.GetProperty("id").GetString()}");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await platform.CreateApiClient(created.GetProperty("token").GetString()).GetAsync("/api/account")).StatusCode);
    }

    [Theory]
    [InlineData("", 7)]
    [InlineData("ok", 0)]
    [InlineData("ok", 5000)]
    public async Task CreateToken_BadNameOrExpiry_Returns400(string name, int days)
    {
        using var user = platform.CreateApiClient(await platform.CreateUserAsync(PlatformFactory.UniqueName()));

        var response = await user.PostAsJsonAsync("/api/account/tokens", new { name, expiresInDays = days });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Empty((await user.GetFromJsonAsync<JsonElement[]>("/api/account/tokens"))!);
    }

    [Fact]
    public async Task Logout_RevokesTheLoginToken()
    {
        var token = await platform.CreateUserAsync(PlatformFactory.UniqueName());
        using var client = platform.CreateApiClient(token);

        var response = await client.PostAsync("/api/account/logout", null);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/account")).StatusCode);
    }

    [Fact]
    public async Task ChangePassword_WrongCurrent_Returns400_RightCurrent_OldPasswordStopsWorking()
    {
        var name = PlatformFactory.UniqueName();
        using var client = platform.CreateApiClient(await platform.CreateUserAsync(name, "first-long-password"));

        var wrong = await client.PostAsJsonAsync("/api/account/password", new { currentPassword = "nope-nope-nope", newPassword = "second-long-password" });
        Assert.Equal(HttpStatusCode.BadRequest, wrong.StatusCode);
        await platform.LoginAsync(name, "first-long-password");

        var right = await client.PostAsJsonAsync("/api/account/password", new { currentPassword = "first-long-password", newPassword = "second-long-password" });
        Assert.Equal(HttpStatusCode.NoContent, right.StatusCode);
        await platform.LoginAsync(name, "second-long-password");
        var old = await platform.CreateApiClient().PostAsJsonAsync("/login-portal/keystone/v3/tokens", Keystone.Body(name, "first-long-password"));
        Assert.Equal(HttpStatusCode.Unauthorized, old.StatusCode);
    }

    [Fact]
    public async Task ChangePassword_EndsOtherLogins_KeepsThisLoginAndPersonalTokens()
    {
        var name = PlatformFactory.UniqueName();
        var current = await platform.CreateUserAsync(name, "first-long-password");
        var otherDevice = await platform.LoginAsync(name, "first-long-password");
        using var client = platform.CreateApiClient(current);
        var pat = (await (await client.PostAsJsonAsync("/api/account/tokens", new { name = "script" })).Content.ReadFromJsonAsync<JsonElement>())
            .GetProperty("token").GetString();

        var response = await client.PostAsJsonAsync("/api/account/password", new { currentPassword = "first-long-password", newPassword = "second-long-password" });

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/account")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await platform.CreateApiClient(pat).GetAsync("/api/account")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await platform.CreateApiClient(otherDevice).GetAsync("/api/account")).StatusCode);
    }

    [Fact]
    public async Task Approve_AccountNotWaiting_Returns409AndDoesNotReEnable()
    {
        var token = await platform.CreateUserAsync(PlatformFactory.UniqueName());
        var id = (await platform.CreateApiClient(token).GetFromJsonAsync<JsonElement>("/api/account")).GetProperty("id").GetString();
        using var admin = platform.CreateApiClient(await platform.LoginAdminAsync());
        await admin.PostAsync($"/api/admin/users/{id}/disable", null);

        var response = await admin.PostAsync($"/api/admin/users/{id}/approve", null);

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal("Disabled", (await admin.GetFromJsonAsync<JsonElement>($"/api/admin/users/{id}")).GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/api/admin/users/{id}/enable", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await admin.PostAsync($"/api/admin/users/{id}/enable", null)).StatusCode);
    }

    [Theory]
    [InlineData("admin")]
    [InlineData("Administrator")]
    public async Task Register_ReservedAdminName_Returns400(string username)
    {
        var response = await platform.CreateApiClient().PostAsJsonAsync("/api/account/register", new { username, email = $"{Guid.NewGuid():N}@example.org", password = "a-good-long-password" });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("reserved", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task DisableUser_TokensStopAtOnce_LoginRefused_EnableRestoresLogin()
    {
        var name = PlatformFactory.UniqueName();
        var token = await platform.CreateUserAsync(name);
        using var user = platform.CreateApiClient(token);
        var id = (await user.GetFromJsonAsync<JsonElement>("/api/account")).GetProperty("id").GetString();
        using var admin = platform.CreateApiClient(await platform.LoginAdminAsync());

        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/api/admin/users/{id}/disable", null)).StatusCode);

        Assert.Equal(HttpStatusCode.Unauthorized, (await user.GetAsync("/api/account")).StatusCode);
        var login = await platform.CreateApiClient().PostAsJsonAsync("/login-portal/keystone/v3/tokens", Keystone.Body(name, "a-good-long-password"));
        Assert.Equal(HttpStatusCode.Forbidden, login.StatusCode);
        Assert.Contains("disabled", (await login.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString(), StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/api/admin/users/{id}/enable", null)).StatusCode);
        await platform.LoginAsync(name, "a-good-long-password");
    }

    [Fact]
    public async Task GrantAdmin_TakesEffectOnNextRequest_DeleteUser_RemovesAccount()
    {
        var token = await platform.CreateUserAsync(PlatformFactory.UniqueName());
        using var user = platform.CreateApiClient(token);
        var id = (await user.GetFromJsonAsync<JsonElement>("/api/account")).GetProperty("id").GetString();
        using var admin = platform.CreateApiClient(await platform.LoginAdminAsync());
        Assert.Equal(HttpStatusCode.Forbidden, (await user.GetAsync("/api/admin/users")).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync($"/api/admin/users/{id}/admin", new { isAdmin = true })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await user.GetAsync("/api/admin/users")).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync($"/api/admin/users/{id}/admin", new { isAdmin = false })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await user.GetAsync("/api/admin/users")).StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/admin/users/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await user.GetAsync("/api/account")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.DeleteAsync($"/api/admin/users/{id}")).StatusCode);
    }

    [Fact]
    public async Task Admin_CannotDisableDemoteOrDeleteThemselves()
    {
        using var admin = platform.CreateApiClient(await platform.LoginAdminAsync());
        var id = (await admin.GetFromJsonAsync<JsonElement>("/api/account")).GetProperty("id").GetString();

        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PostAsync($"/api/admin/users/{id}/disable", null)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PutAsJsonAsync($"/api/admin/users/{id}/admin", new { isAdmin = false })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.DeleteAsync($"/api/admin/users/{id}")).StatusCode);
        Assert.True((await admin.GetFromJsonAsync<JsonElement>("/api/account")).GetProperty("isAdmin").GetBoolean());
    }

    [Theory]
    [InlineData("/api/admin/users/not-a-guid/disable")]
    [InlineData("/api/admin/users/00000000-0000-0000-0000-000000000000/disable")]
    public async Task AdminAction_UnknownUser_Returns404(string url)
    {
        using var admin = platform.CreateApiClient(await platform.LoginAdminAsync());

        var response = await admin.PostAsync(url, null);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Health_DatabaseAnswers_Returns200()
    {
        var response = await platform.CreateApiClient().GetAsync("/health");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", await response.Content.ReadAsStringAsync());
    }
}

public sealed class AccountApiSqliteTests(SqlitePlatform platform) : AccountApiTests(platform), IClassFixture<SqlitePlatform>;

public sealed class AccountApiPostgresTests(PostgresPlatform platform) : AccountApiTests(platform), IClassFixture<PostgresPlatform>;
