using System.Net;
using Microsoft.Playwright;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.Browser;

/// <summary>A scientist's first visit, in a real browser: register, log in, a token for scripts, log out.</summary>
public sealed class AccountJourneyTests(BrowserFixture fixture) : IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task Register_LogIn_CreateAndRevokeToken_LogOut()
    {
        var name = PlatformFactory.UniqueName("sci");
        const string password = "browser-test-password";
        await using var context = await fixture.Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = fixture.BaseUrl, ViewportSize = new() { Width = 1280, Height = 900 } });
        var page = await context.NewPageAsync();

        // Register: the form explains the user name rules and logs the new user in.
        await page.GotoAsync("/register");
        Assert.Contains("lower-case letters a-z", await page.InnerTextAsync("#username-help"), StringComparison.Ordinal);
        await page.FillAsync("#username", name);
        await page.FillAsync("#email", $"{name}@example.org");
        await page.FillAsync("#password", password);
        await page.FillAsync("#confirm", password);
        await Screenshot(page, "01-register");
        await page.ClickAsync("button[type=submit]");
        await page.WaitForURLAsync(fixture.BaseUrl + "/");
        Assert.Equal(name, await page.InnerTextAsync("[data-testid=current-user]"));
        Assert.Contains($"Welcome, {name}", await page.InnerTextAsync("h1"), StringComparison.Ordinal);
        await Screenshot(page, "02-home");

        // Log out from the user menu, then log in again.
        await LogOutAsync(page);
        Assert.Contains("You are logged out", await page.InnerTextAsync("main"), StringComparison.Ordinal);
        await page.FillAsync("#username", name);
        await page.FillAsync("#password", "wrong-password-typed");
        await page.ClickAsync("button[type=submit]");
        Assert.Equal("Wrong user name or password.", await page.InnerTextAsync("[data-testid=form-error]"));
        await page.FillAsync("#password", password);
        await page.ClickAsync("button[type=submit]");
        await page.WaitForURLAsync(fixture.BaseUrl + "/");
        Assert.Equal(name, await page.InnerTextAsync("[data-testid=current-user]"));

        // A personal access token: shown once, listed, works for the API, revoked.
        await page.GotoAsync("/account/tokens");
        Assert.True(await page.IsVisibleAsync("[data-testid=no-tokens]"));
        Assert.Equal("30", await page.InputValueAsync("#token-expiry"));
        await page.FillAsync("#token-name", "laptop scripts");
        await page.SelectOptionAsync("#token-expiry", "90");
        await page.ClickAsync("[data-testid=create-token]");
        var secret = (await page.InnerTextAsync("[data-testid=new-token-secret]")).Trim();
        Assert.StartsWith("oss_", secret, StringComparison.Ordinal);
        Assert.Equal(1, await page.Locator("[data-testid=token-row]").CountAsync());
        Assert.Contains("laptop scripts", await page.InnerTextAsync("[data-testid=token-table]"), StringComparison.Ordinal);
        await Screenshot(page, "03-token-created");
        Assert.Equal(HttpStatusCode.OK, await CallApiAsync(secret));

        page.Dialog += (_, dialog) => dialog.AcceptAsync();
        await page.ClickAsync("[data-testid=token-row] button:has-text('Revoke')");
        await page.WaitForSelectorAsync("[data-testid=no-tokens]");
        Assert.Equal(HttpStatusCode.Unauthorized, await CallApiAsync(secret));

        // Logged out, the dashboard sends the browser to the login page.
        await LogOutAsync(page);
        await page.GotoAsync("/account/tokens");
        await page.WaitForURLAsync("**/login?returnUrl=*");
        await Screenshot(page, "04-logged-out");
    }

    [Fact]
    public async Task Admin_SeesAdminArea_ApprovesNothingButListsUsers()
    {
        await using var context = await fixture.Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = fixture.BaseUrl, ViewportSize = new() { Width = 1280, Height = 900 } });
        var page = await context.NewPageAsync();

        await page.GotoAsync("/admin/users");
        await page.WaitForURLAsync("**/login?returnUrl=%2Fadmin%2Fusers");
        await page.FillAsync("#username", "admin");
        await page.FillAsync("#password", PlatformFactory.AdminPassword);
        await page.ClickAsync("button[type=submit]");
        await page.WaitForURLAsync(fixture.BaseUrl + "/admin/users");

        Assert.True(await page.IsVisibleAsync("[data-testid=user-row-admin]"));
        Assert.True(await page.IsVisibleAsync("nav a[href='admin/users']"));
        await Screenshot(page, "05-admin-users");
        await page.GotoAsync("/resources");
        Assert.Contains("/login-portal/keystone/v3/tokens", await page.InnerTextAsync("[data-testid=sciscript-config]"), StringComparison.Ordinal);
        await Screenshot(page, "06-resources");
    }

    private static async Task LogOutAsync(IPage page)
    {
        // Bootstrap's CSS and JS are served (from npm, not a CDN): the menu is closed until clicked.
        Assert.False(await page.IsVisibleAsync("[data-testid=logout]"));
        await page.ClickAsync("[data-testid=user-menu]");
        await page.ClickAsync("[data-testid=logout]");
        await page.WaitForURLAsync("**/login?loggedOut=true");
    }

    private async Task<HttpStatusCode> CallApiAsync(string token)
    {
        using var client = new HttpClient { BaseAddress = new Uri(fixture.BaseUrl) };
        client.DefaultRequestHeaders.Add("X-Auth-Token", token);
        return (await client.GetAsync("/api/account")).StatusCode;
    }

    private static async Task Screenshot(IPage page, string name) =>
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFixture.ScreenshotDirectory, name + ".png"), FullPage = true });
}
