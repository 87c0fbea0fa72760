using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.Options;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.Accounts;

/// <summary>Names of the platform's authentication schemes and claims.</summary>
public static class PlatformAuth
{
    /// <summary>Picks the scheme per request: a token when one is presented, else the dashboard cookie.</summary>
    public const string Scheme = "Platform";
    public const string CookieScheme = CookieAuthenticationDefaults.AuthenticationScheme;
    public const string TokenScheme = "Token";

    public const string TokenHeader = "X-Auth-Token";
    public const string PortalCookie = "portalCookie";
    public const string TokenQuery = "token";
    public const string AuthCookieName = ".OpenSciServer.Auth";

    /// <summary>The authentication type of a principal whose token came in the portalCookie: ambient, like a cookie login.</summary>
    public const string PortalCookieAuthType = "TokenCookie";

    public const string TokenIdClaim = "oss:tid";
    public const string AdminRole = "admin";
    public const string AdminPolicy = "Admin";

    public static Guid UserId(this ClaimsPrincipal user)
    {
        ArgumentNullException.ThrowIfNull(user);
        var id = user.FindFirstValue(ClaimTypes.NameIdentifier);
        return Guid.TryParse(id, out var g) ? g : throw new PlatformException(ProblemKind.Unauthorized, "Log in first.");
    }

    public static Guid? TokenId(this ClaimsPrincipal user) =>
        Guid.TryParse(user?.FindFirstValue(TokenIdClaim), out var g) ? g : null;

    public static ClaimsPrincipal CreatePrincipal(TokenPrincipal p, string authenticationType)
    {
        ArgumentNullException.ThrowIfNull(p);
        var claims = new List<Claim>
        {
            new(ClaimTypes.NameIdentifier, p.UserId.ToString()),
            new(ClaimTypes.Name, p.UserName),
            new(TokenIdClaim, p.TokenId.ToString()),
        };
        if (p.IsAdmin)
        {
            claims.Add(new Claim(ClaimTypes.Role, AdminRole));
        }

        return new ClaimsPrincipal(new ClaimsIdentity(claims, authenticationType));
    }

    /// <summary>The token a request presents: header everywhere; cookie and query only on SciServer-compatible routes.</summary>
    public static string? FindToken(HttpRequest request) => FindTokenWithSource(request).Token;

    /// <summary>The token and the authentication type it earns: a cookie-borne token is ambient.</summary>
    public static (string? Token, string AuthType) FindTokenWithSource(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Headers.TryGetValue(TokenHeader, out var header) && !string.IsNullOrWhiteSpace(header))
        {
            return (header.ToString().Trim(), TokenScheme);
        }

        if (ApiPaths.IsCompat(request.Path))
        {
            if (request.Query.TryGetValue(TokenQuery, out var query) && !string.IsNullOrWhiteSpace(query))
            {
                return (query.ToString(), TokenScheme);
            }

            if (request.Cookies.TryGetValue(PortalCookie, out var cookie) && !string.IsNullOrWhiteSpace(cookie))
            {
                return (cookie, PortalCookieAuthType);
            }
        }

        return (null, TokenScheme);
    }
}

/// <summary>Authenticates <c>X-Auth-Token</c> (and on compatible routes <c>portalCookie</c> and <c>?token=</c>).</summary>
internal sealed class TokenAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    TokenService tokens)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var (secret, authType) = PlatformAuth.FindTokenWithSource(Request);
        if (secret is null)
        {
            return AuthenticateResult.NoResult();
        }

        var principal = await tokens.ValidateAsync(secret, Context.RequestAborted);
        if (principal is null)
        {
            return AuthenticateResult.Fail("The token is invalid, expired or revoked.");
        }

        return AuthenticateResult.Success(new AuthenticationTicket(PlatformAuth.CreatePrincipal(principal, authType), Scheme.Name));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties) =>
        ErrorResponses.WriteAsync(Context, StatusCodes.Status401Unauthorized,
            PlatformAuth.FindToken(Request) is null
                ? "Authentication required: send a token in the X-Auth-Token header."
                : "The token is invalid, expired or revoked: log in again to get a new one.");

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        ErrorResponses.WriteAsync(Context, StatusCodes.Status403Forbidden, "You are not allowed to do this.");
}

/// <summary>
/// Cookie-borne credentials are sent by the browser on cross-site requests too, so a state-changing API
/// call authenticated by one (the dashboard cookie or SciServer's portalCookie) must carry the
/// antiforgery token (header <c>RequestVerificationToken</c>; pages publish it in a meta tag). Calls
/// authenticated by <c>X-Auth-Token</c> are not ambient and need none. Dashboard forms are checked by
/// the Razor components' own antiforgery middleware.
/// </summary>
internal sealed class CookieCsrfMiddleware(RequestDelegate next, IAntiforgery antiforgery)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method) && !HttpMethods.IsOptions(request.Method)
            && ApiPaths.IsApi(request.Path)
            && context.User.Identity?.AuthenticationType is PlatformAuth.CookieScheme or PlatformAuth.PortalCookieAuthType)
        {
            try
            {
                await antiforgery.ValidateRequestAsync(context);
            }
            catch (AntiforgeryValidationException)
            {
                await ErrorResponses.WriteAsync(context, StatusCodes.Status400BadRequest,
                    "This request relies on a browser cookie but has no valid antiforgery token. Scripts should send an X-Auth-Token header instead.");
                return;
            }
        }

        await next(context);
    }
}

internal static class PlatformAuthenticationExtensions
{
    public static void AddPlatformAuthentication(this WebApplicationBuilder builder)
    {
        builder.Services.AddAuthentication(PlatformAuth.Scheme)
            .AddPolicyScheme(PlatformAuth.Scheme, "Token or cookie", o =>
                o.ForwardDefaultSelector = ctx => PlatformAuth.FindToken(ctx.Request) is null ? PlatformAuth.CookieScheme : PlatformAuth.TokenScheme)
            .AddScheme<AuthenticationSchemeOptions, TokenAuthenticationHandler>(PlatformAuth.TokenScheme, null)
            .AddCookie(PlatformAuth.CookieScheme, o =>
            {
                o.Cookie.Name = PlatformAuth.AuthCookieName;
                o.Cookie.HttpOnly = true;
                o.Cookie.SameSite = SameSiteMode.Lax;
                o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                o.LoginPath = "/login";
                o.LogoutPath = "/logout";
                o.AccessDeniedPath = "/denied";
                o.ReturnUrlParameter = "returnUrl";
                o.SlidingExpiration = false;
                o.Events = new CookieAuthenticationEvents
                {
                    OnValidatePrincipal = ValidateCookieAsync,
                    OnRedirectToLogin = ctx => ApiPaths.IsApi(ctx.Request.Path)
                        ? ErrorResponses.WriteAsync(ctx.HttpContext, StatusCodes.Status401Unauthorized, "Authentication required: send a token in the X-Auth-Token header.")
                        : Redirect(ctx),
                    OnRedirectToAccessDenied = ctx => ApiPaths.IsApi(ctx.Request.Path)
                        ? ErrorResponses.WriteAsync(ctx.HttpContext, StatusCodes.Status403Forbidden, "You are not allowed to do this.")
                        : Redirect(ctx),
                };
            });
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(PlatformAuth.AdminPolicy, p => p.RequireAuthenticatedUser().RequireRole(PlatformAuth.AdminRole));
        builder.Services.AddCascadingAuthenticationState();
    }

    private static Task Redirect(RedirectContext<CookieAuthenticationOptions> ctx)
    {
        ctx.Response.Redirect(ctx.RedirectUri);
        return Task.CompletedTask;
    }

    /// <summary>
    /// The cookie names a login token; each request re-checks it, so logout, revocation, disabling the
    /// account and a change of role all take effect on the very next request.
    /// </summary>
    private static async Task ValidateCookieAsync(CookieValidatePrincipalContext context)
    {
        var tokenId = context.Principal?.TokenId();
        var tokens = context.HttpContext.RequestServices.GetRequiredService<TokenService>();
        var current = tokenId is { } id ? await tokens.ValidateByIdAsync(id, context.HttpContext.RequestAborted) : null;
        if (current is null)
        {
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(PlatformAuth.CookieScheme);
            return;
        }

        context.ReplacePrincipal(PlatformAuth.CreatePrincipal(current, PlatformAuth.CookieScheme));
    }
}

/// <summary>Who is asking: what every service's permission check needs to know about the caller.</summary>
public sealed record Caller(Guid UserId, string UserName, bool IsAdmin)
{
    /// <summary>
    /// Someone who sent no credentials: no account and no MyDB; holds only what the group <c>public</c>
    /// holds. Only routes that say so accept it (e.g. queries on a public catalog).
    /// </summary>
    public static Caller Anonymous { get; } = new(Guid.Empty, "", IsAdmin: false);

    public bool IsAnonymous => UserId == Guid.Empty && !IsAdmin;

    public static Caller From(ClaimsPrincipal principal)
    {
        ArgumentNullException.ThrowIfNull(principal);
        return new Caller(principal.UserId(), principal.Identity?.Name ?? "", principal.IsInRole(PlatformAuth.AdminRole));
    }
}
