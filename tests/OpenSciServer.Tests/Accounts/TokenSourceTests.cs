using Microsoft.AspNetCore.Http;
using OpenSciServer.Accounts;

namespace OpenSciServer.Tests.Accounts;

/// <summary>Where a request may carry its token: the header everywhere, cookie and query only on SciServer routes.</summary>
public sealed class TokenSourceTests
{
    [Theory]
    [InlineData("/racm/storem/fileservices", "oss_q", "oss_q", "Token")]
    [InlineData("/CasJobs/RestApi/contexts/x/query", "oss_q", "oss_q", "Token")]
    [InlineData("/fileservice/api/volumes", null, "oss_c", "TokenCookie")]
    [InlineData("/api/account", "oss_q", null, "Token")]
    [InlineData("/files", "oss_q", null, "Token")]
    public void FindTokenWithSource_QueryAndPortalCookie_OnlyOnCompatRoutes(string path, string? query, string? expected, string authType)
    {
        var context = new DefaultHttpContext();
        context.Request.Path = path;
        if (query is not null)
        {
            context.Request.QueryString = new QueryString("?token=" + query);
        }

        context.Request.Headers.Cookie = "portalCookie=oss_c";

        var (token, type) = PlatformAuth.FindTokenWithSource(context.Request);

        Assert.Equal(expected, token);
        Assert.Equal(authType, type);
    }

    [Fact]
    public void FindTokenWithSource_HeaderWinsOverQueryAndCookie()
    {
        var context = new DefaultHttpContext();
        context.Request.Path = "/racm/storem/fileservices";
        context.Request.QueryString = new QueryString("?token=oss_q");
        context.Request.Headers.Cookie = "portalCookie=oss_c";
        context.Request.Headers["X-Auth-Token"] = " oss_h ";

        Assert.Equal(("oss_h", "Token"), PlatformAuth.FindTokenWithSource(context.Request));
    }
}
