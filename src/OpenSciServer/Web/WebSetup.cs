using System.Security.Claims;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using OpenSciServer.Accounts;
using OpenSciServer.Compat;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.Web;

public static class WebSetup
{
    public static void AddWeb(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddRazorComponents();
        builder.Services.AddHttpContextAccessor();
        builder.Services.AddScoped<Layout.NavigationCounts>();
        builder.Services.AddAntiforgery(o =>
        {
            o.HeaderName = "RequestVerificationToken";
            o.Cookie.Name = ".OpenSciServer.Antiforgery";
            o.Cookie.SameSite = SameSiteMode.Strict;
        });
    }

    public static void MapWeb(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapStaticAssets();
        app.MapRazorComponents<App>();

        app.MapPost("/logout", LogoutAsync).ExcludeFromDescription().DisableAntiforgery();
        app.MapGet("/resources/sciscript.json", (HttpRequest request, IOptions<PlatformOptions> options) =>
                TypedResults.File(
                    System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(SciScriptConfig.For(SciScriptConfig.BaseUrl(request, options)), JsonIndented),
                    "application/json", "sciscript.json"))
            .AllowAnonymous().WithTags("SciServer: Client").WithName("DownloadSciScriptConfig")
            .WithSummary("SciScript's configuration file filled with this server's URLs.");
        app.MapGet("/api/activity", ActivityCountsAsync)
            .RequireAuthorization().RequireCors(PlatformCors.Api).WithTags("Dashboard").WithName("GetActivityCounts")
            .WithSummary("Your figures on Home (group-invitations, groups-owned, ...), by key; only features enabled on this server answer.");
    }

    // Home's figures as JSON, so its script can refresh them (a new invitation shows without a reload).
    private static async Task<Ok<Dictionary<string, int>>> ActivityCountsAsync(
        ClaimsPrincipal user, [FromServices] IEnumerable<IActivityCount> counts, CancellationToken ct)
    {
        var userId = user.UserId();
        var values = new Dictionary<string, int>(StringComparer.Ordinal);
        // One after another: the counts share the request's DbContext.
        foreach (var count in counts)
        {
            values[count.Key] = await count.CountAsync(userId, ct);
        }

        return TypedResults.Ok(values);
    }

    private static readonly System.Text.Json.JsonSerializerOptions JsonIndented = new() { WriteIndented = true };

    // The logout form posts here; like every cookie-authenticated change it must carry the antiforgery token.
    private static async Task<IResult> LogoutAsync(HttpContext context, IAntiforgery antiforgery, TokenService tokens, CancellationToken ct)
    {
        try
        {
            await antiforgery.ValidateRequestAsync(context);
        }
        catch (AntiforgeryValidationException)
        {
            return TypedResults.BadRequest("The logout form expired. Reload the page and log out again.");
        }

        await CookieLogin.SignOutAsync(context, tokens, ct);
        var returnUrl = context.Request.HasFormContentType ? (await context.Request.ReadFormAsync(ct))["returnUrl"].ToString() : null;
        return TypedResults.LocalRedirect(SafeRedirect.Local(returnUrl, "/login?loggedOut=true"));
    }
}

/// <summary>Return URLs are followed only when they stay on this site.</summary>
public static class SafeRedirect
{
    public static string Local(string? url, string fallback = "/")
    {
        if (string.IsNullOrEmpty(url) || url.Length > 2048)
        {
            return fallback;
        }

        // "/x" is local; "//host" and "/\host" are protocol-relative to another host; anything with a
        // scheme or control characters is not ours.
        var ok = url[0] == '/'
            && (url.Length == 1 || (url[1] != '/' && url[1] != '\\'))
            && !url.Any(c => char.IsControl(c) || c == '\\');
        return ok ? url : fallback;
    }
}
