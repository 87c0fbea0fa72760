using OpenSciServer.Web;

namespace OpenSciServer.Tests.Web;

public sealed class SafeRedirectTests
{
    [Theory]
    [InlineData("/", "/")]
    [InlineData("/files?path=a", "/files?path=a")]
    [InlineData("/account/tokens#new", "/account/tokens#new")]
    [InlineData(null, "/fallback")]
    [InlineData("", "/fallback")]
    [InlineData("https://evil.example/", "/fallback")]
    [InlineData("//evil.example", "/fallback")]
    [InlineData("/\\evil.example", "/fallback")]
    [InlineData("/a\\b", "/fallback")]
    [InlineData("javascript:alert(1)", "/fallback")]
    [InlineData("/x\r\nLocation: https://evil.example", "/fallback")]
    [InlineData("evil.example", "/fallback")]
    public void Local_OnlySameSitePathsPass(string? url, string expected) =>
        Assert.Equal(expected, SafeRedirect.Local(url, "/fallback"));
}
