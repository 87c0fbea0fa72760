using System.Net;
using System.Net.Http.Json;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.Web;

/// <summary>A refusal on a form post is shown on the form's own page, with its status, whatever the status.</summary>
public sealed class FormErrorsTests(SqlitePlatform platform) : IClassFixture<SqlitePlatform>
{
    [Fact]
    public async Task TokensPage_RevokeATokenThatIsGone_Returns404WithTheMessage_NotTheErrorPage()
    {
        var name = PlatformFactory.UniqueName();
        using (var api = platform.CreateApiClient(await platform.CreateUserAsync(name)))
        {
            // One token listed, so the page shows its revoke form.
            await api.PostAsJsonAsync("/api/account/tokens", new { name = "kept" });
        }

        using var browser = new FormClient(platform);
        await browser.LoginAsync(name, "a-good-long-password");

        // A second click on Revoke, or a reload after the first, names a token that no longer exists.
        var (response, html) = await browser.SubmitAsync("/account/tokens", "revoke-token", [new("RevokeId", Guid.NewGuid().ToString())]);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("No such token.", html, StringComparison.Ordinal);
        Assert.Contains("<h1 class=\"h3 mb-1\"><i class=\"bi bi-key me-2 text-primary\" aria-hidden=\"true\"></i>Access tokens</h1>", html, StringComparison.Ordinal);
    }
}
