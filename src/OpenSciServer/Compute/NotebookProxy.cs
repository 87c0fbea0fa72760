using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Http.Features;
using OpenSciServer.Accounts;
using OpenSciServer.Infrastructure;
using Yarp.ReverseProxy.Forwarder;

namespace OpenSciServer.Compute;

/// <summary>
/// Forwards <c>/compute/sessions/{id}/...</c> (HTTP and WebSockets: kernels, terminals) to the session's
/// Jupyter server, for the session's owner only. The upstream address and the Jupyter token come from
/// the server-side record, never from the request; the token is added here and never reaches the
/// browser. The platform's own cookies and tokens are not passed upstream (user code could read them).
/// </summary>
public static partial class NotebookProxy
{
    public const string Prefix = "/compute/sessions";

    public static IEndpointRouteBuilder MapNotebookProxy(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        // Routing matches before authorization runs; this handler decides itself (404 for others, login for nobody).
        app.Map(Prefix + "/{id:guid}", (HttpContext ctx, Guid id, IHttpForwarder forwarder, ProxyInvoker invoker, SessionService sessions, TimeProvider time, ILoggerFactory loggers) =>
        {
            // Routing also matches the session's own URL (with its trailing slash) here: that one is Jupyter's.
            if (ctx.Request.Path.Value?.EndsWith('/') == true)
            {
                return ForwardAsync(ctx, id, forwarder, invoker, sessions, time, loggers);
            }

            ctx.Response.Redirect($"{Prefix}/{id}/{ctx.Request.QueryString}");
            return Task.CompletedTask;
        }).AllowAnonymous().ExcludeFromDescription();
        app.Map(Prefix + "/{id:guid}/{**rest}", ForwardAsync).AllowAnonymous().ExcludeFromDescription();
        return app;
    }

    private static async Task ForwardAsync(HttpContext context, Guid id, IHttpForwarder forwarder, ProxyInvoker invoker, SessionService sessions,
        TimeProvider time, ILoggerFactory loggers)
    {
        var request = context.Request;
        var isWebSocket = request.Headers.Upgrade.ToString().Contains("websocket", StringComparison.OrdinalIgnoreCase);
        if (context.User.Identity?.IsAuthenticated != true)
        {
            if (isWebSocket || IsApiLike(request))
            {
                await ErrorResponses.WriteAsync(context, StatusCodes.Status401Unauthorized, "Log in to use this session.");
            }
            else
            {
                context.Response.Redirect("/login?returnUrl=" + Uri.EscapeDataString(request.Path + request.QueryString));
            }

            return;
        }

        var session = await sessions.FindForProxyAsync(context.User.UserId(), id, context.RequestAborted);
        if (session is null)
        {
            // Someone else's session is not there for this user, exactly like one that does not exist.
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        if (session.Status != SessionStatus.Running || session.UpstreamHost is null || session.UpstreamPort is null || session.JupyterToken is null)
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            context.Response.ContentType = "text/plain; charset=utf-8";
            await context.Response.WriteAsync(session.Status == SessionStatus.Starting
                ? "This session is starting; try again in a few seconds."
                : $"This session is {session.Status.ToString().ToLowerInvariant()}: start it again from Compute.", context.RequestAborted);
            return;
        }

        if (IsCrossSite(context, isWebSocket))
        {
            await ErrorResponses.WriteAsync(context, StatusCodes.Status403Forbidden,
                "This request came from another site and relies on your browser's cookie: refused.");
            return;
        }

        await sessions.TouchAsync(session, context.RequestAborted);
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodySize)
        {
            // Notebook uploads go through here; the volume's own quota and the disk are the limits.
            bodySize.MaxRequestBodySize = null;
        }

        var error = await forwarder.SendAsync(context, $"http://{session.UpstreamHost}:{session.UpstreamPort}", invoker.Client,
            new ForwarderRequestConfig { ActivityTimeout = TimeSpan.FromMinutes(15) }, new SessionTransformer(session.JupyterToken));
        if (error != ForwarderError.None)
        {
            LogForwardFailed(loggers.CreateLogger(typeof(NotebookProxy)), id, error);
            if (!context.Response.HasStarted)
            {
                context.Response.Clear();
                context.Response.StatusCode = StatusCodes.Status502BadGateway;
                context.Response.ContentType = "text/plain; charset=utf-8";
                await context.Response.WriteAsync("The session's Jupyter server did not answer. If this persists, stop and start the session.", context.RequestAborted);
            }
        }
    }

    /// <summary>Clients that want data rather than a page get 401 rather than a redirect to the login page.</summary>
    private static bool IsApiLike(HttpRequest request)
    {
        var rest = request.Path.Value ?? "";
        return rest.Contains("/api/", StringComparison.Ordinal) || !request.Headers.Accept.ToString().Contains("text/html", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// A browser sends the dashboard cookie with requests other sites trigger too. Jupyter skips its own
    /// XSRF check for requests that carry its token (which we add), so state changes and WebSocket
    /// upgrades authenticated by a cookie must come from this origin.
    /// </summary>
    private static bool IsCrossSite(HttpContext context, bool isWebSocket)
    {
        var request = context.Request;
        var ambient = context.User.Identity?.AuthenticationType is PlatformAuth.CookieScheme or PlatformAuth.PortalCookieAuthType;
        var safe = HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || HttpMethods.IsOptions(request.Method);
        if (!ambient || (safe && !isWebSocket))
        {
            return false;
        }

        var site = request.Headers["Sec-Fetch-Site"].ToString();
        if (site is "cross-site" or "same-site")
        {
            return true;
        }

        var origin = request.Headers.Origin.ToString();
        return origin.Length > 0 && (!Uri.TryCreate(origin, UriKind.Absolute, out var o)
            || !string.Equals(o.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase));
    }

    private sealed class SessionTransformer(string jupyterToken) : HttpTransformer
    {
        public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
        {
            await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);
            proxyRequest.Headers.Remove(PlatformAuth.TokenHeader);
            proxyRequest.Headers.Remove("Authorization");
            proxyRequest.Headers.TryAddWithoutValidation("Authorization", "token " + jupyterToken);
            // Jupyter compares Origin with Host (WebSockets, API calls): let it see the host the browser used.
            proxyRequest.Headers.Host = httpContext.Request.Host.Value;
            // Identity encoding only, so pages can be checked for the token (compression buys nothing on loopback).
            proxyRequest.Headers.Remove("Accept-Encoding");
            proxyRequest.Headers.Remove("Cookie");
            var kept = httpContext.Request.Headers.Cookie.SelectMany(h => (h ?? "").Split(';'))
                .Select(c => c.Trim()).Where(c => c.Length > 0 && !IsPlatformCookie(c[..Math.Max(0, c.IndexOf('=', StringComparison.Ordinal))]))
                .ToList();
            if (kept.Count > 0)
            {
                proxyRequest.Headers.TryAddWithoutValidation("Cookie", string.Join("; ", kept));
            }
        }

        /// <summary>
        /// Jupyter writes its token into its pages (for its own scripts' API calls, which the proxy
        /// authenticates anyway): it is taken out of every page before the browser sees it.
        /// </summary>
        public override async ValueTask<bool> TransformResponseAsync(HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken)
        {
            var copyBody = await base.TransformResponseAsync(httpContext, proxyResponse, cancellationToken);
            if (proxyResponse?.Content is not { } content || content.Headers.ContentType?.MediaType is not "text/html")
            {
                return copyBody;
            }

            var text = await content.ReadAsStringAsync(cancellationToken);
            httpContext.Response.Headers.ContentLength = null;
            httpContext.Response.Headers.Remove("Content-Encoding");
            httpContext.Response.Headers.ETag = default;
            await httpContext.Response.WriteAsync(text.Replace(jupyterToken, "", StringComparison.Ordinal), cancellationToken);
            return false;
        }

        private static bool IsPlatformCookie(string name) =>
            name.StartsWith(".OpenSciServer", StringComparison.Ordinal) || name.StartsWith(".AspNetCore.", StringComparison.Ordinal)
            || string.Equals(name, PlatformAuth.PortalCookie, StringComparison.Ordinal);
    }

    [LoggerMessage(1530, LogLevel.Warning, "Forwarding to session {SessionId} failed: {Error}")]
    private static partial void LogForwardFailed(ILogger logger, Guid sessionId, ForwarderError error);
}

/// <summary>The one HTTP client of the proxy: no proxy, no redirects, no cookies, no decompression.</summary>
public sealed class ProxyInvoker : IDisposable
{
    public HttpMessageInvoker Client { get; } = new(new SocketsHttpHandler
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        UseCookies = false,
        EnableMultipleHttp2Connections = true,
        ActivityHeadersPropagator = new ReverseProxyPropagator(DistributedContextPropagator.Current),
        ConnectTimeout = TimeSpan.FromSeconds(15),
    });

    public void Dispose() => Client.Dispose();
}
