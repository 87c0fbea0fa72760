using System.Reflection;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Options;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.Routing;
using Scalar.AspNetCore;

namespace OpenSciServer.Infrastructure;

/// <summary>Plumbing every feature relies on: options, database, errors, health, OpenAPI, CORS.</summary>
public static class PlatformHost
{
    /// <summary>The build's version: <c>git describe</c> at build time.</summary>
    public static string Version { get; } =
        typeof(PlatformHost).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    public static void AddPlatformInfrastructure(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.AddPlatformOptions();
        builder.AddPlatformDatabase();
        builder.Services.AddProblemDetails();
        builder.Services.AddExceptionHandler<ApiExceptionHandler>();
        // Bad JSON or route values reach the exception handler, which answers in the caller's format.
        builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        builder.Services.Configure<JsonOptions>(o =>
        {
            o.SerializerOptions.DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull;
            // Enums travel as their names ("Owner", "Public"), read case-insensitively.
            o.SerializerOptions.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter(allowIntegerValues: false));
        });
        builder.Services.AddPlatformCors();
        builder.Services.AddOptions<ForwardedHeadersOptions>().Configure<IOptions<PlatformOptions>>(ConfigureProxies);
        builder.Services.AddOpenApi(o => o.AddDocumentTransformer((doc, _, _) =>
        {
            doc.Info.Title = "OpenSciServer API";
            doc.Info.Version = Version;
            doc.Info.Description = "The native API (/api) and the SciServer-compatible routes. Authenticate with the X-Auth-Token header.";
            doc.Components ??= new Microsoft.OpenApi.OpenApiComponents();
            doc.Components.SecuritySchemes ??= new Dictionary<string, Microsoft.OpenApi.IOpenApiSecurityScheme>();
            doc.Components.SecuritySchemes["XAuthToken"] = new Microsoft.OpenApi.OpenApiSecurityScheme
            {
                Type = Microsoft.OpenApi.SecuritySchemeType.ApiKey,
                In = Microsoft.OpenApi.ParameterLocation.Header,
                Name = "X-Auth-Token",
                Description = "A login token (POST /login-portal/keystone/v3/tokens) or a personal access token.",
            };
            doc.Security = [new Microsoft.OpenApi.OpenApiSecurityRequirement { [new Microsoft.OpenApi.OpenApiSecuritySchemeReference("XAuthToken", doc)] = [] }];
            return Task.CompletedTask;
        }));
        builder.Logging.Configure(o => o.ActivityTrackingOptions = ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId);
    }

    /// <summary>Error handling, status pages and security headers; runs first in the pipeline.</summary>
    public static void UsePlatformErrorHandling(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (app.Services.GetRequiredService<IOptions<PlatformOptions>>().Value.TrustedProxies.Length > 0)
        {
            app.UseForwardedHeaders();
        }

        app.UseExceptionHandler("/error");
        // The error page is re-executed with the failed request's method; a failed form POST would
        // otherwise reach the page as an unnamed form post and answer 400 instead of the error page.
        app.Use(static (ctx, next) =>
        {
            if (ctx.Features.Get<Microsoft.AspNetCore.Diagnostics.IExceptionHandlerFeature>() is not null && !HttpMethods.IsGet(ctx.Request.Method))
            {
                ctx.Request.Method = HttpMethods.Get;
                // Routing already picked an endpoint for the old method; let it choose again.
                ctx.SetEndpoint(null);
                ctx.Request.RouteValues.Clear();
            }

            return next(ctx);
        });
        // JSON clients get a JSON body for every error status; people get a page.
        app.UseWhen(ctx => ApiPaths.IsApi(ctx.Request.Path), api => api.UseStatusCodePages(ctx =>
            ErrorResponses.WriteAsync(ctx.HttpContext, ctx.HttpContext.Response.StatusCode, StatusMessage(ctx.HttpContext.Response.StatusCode))));
        app.UseWhen(ctx => !ApiPaths.IsApi(ctx.Request.Path), web => web.UseStatusCodePagesWithReExecute("/not-found"));
        app.Use(static (ctx, next) =>
        {
            var headers = ctx.Response.Headers;
            headers.XContentTypeOptions = "nosniff";
            headers["Referrer-Policy"] = "same-origin";
            headers.XFrameOptions = "SAMEORIGIN";
            return next(ctx);
        });
    }

    public static void MapPlatformInfrastructure(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapHealthChecks("/health", new HealthCheckOptions
        {
            ResultStatusCodes = { [Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable },
        }).AllowAnonymous();
        app.MapOpenApi().AllowAnonymous();
        // The reference page talks to this server only: no third-party proxy for "try it" (it would see
        // users' tokens), no telemetry, no hosted AI or deploy buttons. Its scripts ship in the package.
        app.MapScalarApiReference("/docs", o =>
            {
                o.WithTitle("OpenSciServer API").WithOpenApiRoutePattern("/openapi/{documentName}.json");
                o.ProxyUrl = null;
                o.Telemetry = false;
                o.ShowDeveloperTools = DeveloperToolsVisibility.Never;
                o.Agent = new ScalarAgentOptions { Disabled = true };
                o.Mcp = new ScalarMcpOptions { Disabled = true };
            })
            .AllowAnonymous();
    }

    /// <summary>Tells the person who started the server where it is and how to get in.</summary>
    public static void PrintReadyBanner(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var addresses = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
                .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()?.Addresses ?? [];
            if (addresses.Count == 0)
            {
                return;
            }

            Console.Out.WriteLine($"""

                OpenSciServer {Version} is ready:
                  {string.Join("\n  ", addresses)}
                Log in as 'admin' (the password was printed at first start, or is OPENSCISERVER_ADMIN_PASSWORD).
                API reference: {addresses.First().TrimEnd('/')}/docs
                """);
        });
    }

    private static void ConfigureProxies(ForwardedHeadersOptions options, IOptions<PlatformOptions> platform)
    {
        options.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto | ForwardedHeaders.XForwardedHost;
        options.KnownProxies.Clear();
        options.KnownIPNetworks.Clear();
        foreach (var entry in platform.Value.TrustedProxies)
        {
            if (System.Net.IPNetwork.TryParse(entry, out var network))
            {
                options.KnownIPNetworks.Add(network);
            }
            else if (System.Net.IPAddress.TryParse(entry, out var address))
            {
                options.KnownProxies.Add(address);
            }
            else
            {
                throw new OptionsValidationException(PlatformOptions.SectionName, typeof(PlatformOptions),
                    [$"Platform:TrustedProxies: '{entry}' is neither an IP address nor a network like 10.0.0.0/8."]);
            }
        }
    }

    private static string StatusMessage(int status) => status switch
    {
        404 => "There is nothing at this address. Check the URL against the API reference at /docs.",
        405 => "This address does not accept this HTTP method.",
        401 => "Authentication required: send a token in the X-Auth-Token header.",
        403 => "You are not allowed to do this.",
        415 => "Send the body as JSON (Content-Type: application/json).",
        _ => ErrorResponses.ReasonTitle(status) + ".",
    };
}
