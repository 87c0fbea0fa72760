using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace OpenSciServer.Infrastructure;

/// <summary>The error body SciServer's clients show to their users.</summary>
public sealed record SciServerError(
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("error")] string Error)
{
    public static SciServerError Of(string message) => new("error", message);
}

/// <summary>
/// Writes errors in the shape the caller understands: ProblemDetails on the native API, SciServer's
/// error JSON on compatible routes. Messages are for people; never a stack trace or a server path.
/// </summary>
public static class ErrorResponses
{
    public static async Task WriteAsync(HttpContext context, int status, string message, string? field = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Response.StatusCode = status;
        if (ApiPaths.IsCompat(OriginalPath(context)))
        {
            await context.Response.WriteAsJsonAsync(SciServerError.Of(message), context.RequestAborted);
            return;
        }

        ProblemDetails problem = field is null
            ? new ProblemDetails()
            : new HttpValidationProblemDetails(new Dictionary<string, string[]> { [field] = [message] });
        problem.Status = status;
        problem.Title = ReasonTitle(status);
        problem.Detail = message;
        var writer = context.RequestServices.GetRequiredService<IProblemDetailsService>();
        await writer.WriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem });
    }

    /// <summary>The path the client asked for, also while the exception handler re-executes under /error.</summary>
    public static PathString OriginalPath(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Features.Get<IExceptionHandlerPathFeature>()?.Path is { } original ? new PathString(original) : context.Request.Path;
    }

    public static string ReasonTitle(int status) => status switch
    {
        400 => "The request is invalid",
        401 => "Authentication required",
        403 => "Not allowed",
        404 => "Not found",
        405 => "Method not allowed",
        409 => "Conflict",
        413 => "Too large",
        416 => "Range not satisfiable",
        507 => "Insufficient storage",
        415 => "Unsupported media type",
        429 => "Too many requests",
        >= 500 => "Server error",
        _ => "Request failed",
    };
}

/// <summary>Turns exceptions on API paths into clean error responses; pages fall through to /Error.</summary>
internal sealed partial class ApiExceptionHandler(ILogger<ApiExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var path = ErrorResponses.OriginalPath(httpContext);
        if (!ApiPaths.IsApi(path))
        {
            if (exception is BadHttpRequestException pageBad)
            {
                // A malformed form post to a page: the client's fault, not a server error.
                httpContext.Response.StatusCode = pageBad.StatusCode;
                httpContext.Response.ContentType = "text/plain; charset=utf-8";
                await httpContext.Response.WriteAsync("The request could not be read: " + FirstLine(pageBad.Message), cancellationToken);
                return true;
            }

            return false;
        }

        switch (exception)
        {
            case PlatformException pe:
                if (pe.ResumeOffset is { } offset)
                {
                    // Where a resumable upload stands: tus-style and Range-style, so either kind of client can resume.
                    httpContext.Response.Headers["Upload-Offset"] = offset.ToString(System.Globalization.CultureInfo.InvariantCulture);
                }

                if (pe.RetryAfterSeconds is { } wait)
                {
                    httpContext.Response.Headers.RetryAfter = wait.ToString(System.Globalization.CultureInfo.InvariantCulture);
                }

                await ErrorResponses.WriteAsync(httpContext, pe.StatusCode, pe.Message, pe.Field);
                return true;
            case BadHttpRequestException bad:
                // Malformed JSON, a missing body, a route value that does not parse.
                await ErrorResponses.WriteAsync(httpContext, bad.StatusCode, "The request could not be read: " + FirstLine(bad.Message));
                return true;
            case OperationCanceledException when httpContext.RequestAborted.IsCancellationRequested:
                return true;
            default:
                LogUnhandled(logger, httpContext.Request.Method, path, exception);
                await ErrorResponses.WriteAsync(httpContext, StatusCodes.Status500InternalServerError,
                    "The server failed to handle this request. The error was logged; please report it with the time it happened.");
                return true;
        }
    }

    private static string FirstLine(string message)
    {
        var end = message.IndexOfAny(['\r', '\n']);
        return end < 0 ? message : message[..end];
    }

    [LoggerMessage(100, LogLevel.Error, "Unhandled error on {Method} {Path}")]
    private static partial void LogUnhandled(ILogger logger, string method, PathString path, Exception exception);
}
