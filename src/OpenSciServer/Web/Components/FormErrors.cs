using Microsoft.AspNetCore.Components.Forms;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.Web.Components;

/// <summary>
/// Puts a service's refusal beside the form field it is about (or above the form when it is about
/// no field), and sets the HTTP status so scripts driving the form see a 4xx, not a 200.
/// </summary>
public sealed class FormErrors
{
    private readonly EditContext _context;
    private readonly ValidationMessageStore _store;

    public FormErrors(EditContext context)
    {
        _context = context;
        _store = new ValidationMessageStore(context);
        context.OnValidationRequested += (_, _) => _store.Clear();
        context.OnFieldChanged += (_, e) => _store.Clear(e.FieldIdentifier);
    }

    /// <summary>The message about no particular field, if any.</summary>
    public string? Summary { get; private set; }

    public void Show(PlatformException error, HttpContext? http)
    {
        ArgumentNullException.ThrowIfNull(error);
        SetStatus(error, http);

        var property = error.Field is { Length: > 0 } f ? char.ToUpperInvariant(f[0]) + f[1..] : null;
        if (property is not null && _context.Model.GetType().GetProperty(property) is not null)
        {
            _store.Add(_context.Field(property), error.Message);
            _context.NotifyValidationStateChanged();
        }
        else
        {
            Summary = error.Message;
        }
    }

    /// <summary>Answers with the refusal's status (and Retry-After), for forms without fields such as row actions.</summary>
    public static void SetStatus(PlatformException error, HttpContext? http)
    {
        ArgumentNullException.ThrowIfNull(error);
        if (http is null || http.Response.HasStarted)
        {
            return;
        }

        if (error.RetryAfterSeconds is { } wait)
        {
            http.Response.Headers.RetryAfter = wait.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        if (error.StatusCode != StatusCodes.Status404NotFound)
        {
            http.Response.StatusCode = error.StatusCode;
            return;
        }

        // Blazor drops the HTML of a page that ends rendering with a 404 (leaving it to the site's
        // not-found page), which would lose the message. The status is set as the response starts,
        // after that check, unless the page answered otherwise meanwhile (a redirect).
        http.Response.OnStarting(() =>
        {
            if (http.Response.StatusCode == StatusCodes.Status200OK)
            {
                http.Response.StatusCode = StatusCodes.Status404NotFound;
            }

            return Task.CompletedTask;
        });
    }
}
