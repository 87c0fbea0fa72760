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
        if (http is not null && !http.Response.HasStarted)
        {
            http.Response.StatusCode = error.StatusCode;
            if (error.RetryAfterSeconds is { } wait)
            {
                http.Response.Headers.RetryAfter = wait.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
        }

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
}
