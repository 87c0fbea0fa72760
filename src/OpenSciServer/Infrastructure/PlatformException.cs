namespace OpenSciServer.Infrastructure;

/// <summary>What went wrong with a request, in terms a client can act on.</summary>
public enum ProblemKind
{
    Invalid,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    TooManyRequests,
    /// <summary>A quota or size limit would be passed (413).</summary>
    TooLarge,
    /// <summary>The disk is full (507).</summary>
    InsufficientStorage,
    /// <summary>A precondition of the request (such as an upload offset) does not hold (409 with details).</summary>
    RangeNotSatisfiable,
}

/// <summary>
/// A refusal with a message meant for the user. Services throw it; the error handler turns it into
/// ProblemDetails (native API), the SciServer error JSON (compatible routes) or a message beside a
/// form field (dashboard). Anything else that escapes is a bug and becomes a bare 500.
/// </summary>
public sealed class PlatformException : Exception
{
    public PlatformException(ProblemKind kind, string message, string? field = null)
        : base(message)
    {
        Kind = kind;
        Field = field;
    }

    public PlatformException()
        : this(ProblemKind.Invalid, "The request is invalid.")
    {
    }

    public PlatformException(string message)
        : this(ProblemKind.Invalid, message)
    {
    }

    public PlatformException(string message, Exception innerException)
        : base(message, innerException)
    {
        Kind = ProblemKind.Invalid;
    }

    public ProblemKind Kind { get; }

    /// <summary>The input field the message is about, when there is one (camelCase, as in JSON).</summary>
    public string? Field { get; }

    /// <summary>For a resumable upload sent from the wrong offset: the byte to resume from.</summary>
    public long? ResumeOffset { get; init; }

    /// <summary>Seconds the client should wait, for <see cref="ProblemKind.TooManyRequests"/>.</summary>
    public int? RetryAfterSeconds { get; init; }

    public int StatusCode => Kind switch
    {
        ProblemKind.Invalid => StatusCodes.Status400BadRequest,
        ProblemKind.Unauthorized => StatusCodes.Status401Unauthorized,
        ProblemKind.Forbidden => StatusCodes.Status403Forbidden,
        ProblemKind.NotFound => StatusCodes.Status404NotFound,
        ProblemKind.Conflict => StatusCodes.Status409Conflict,
        ProblemKind.TooManyRequests => StatusCodes.Status429TooManyRequests,
        ProblemKind.TooLarge => StatusCodes.Status413PayloadTooLarge,
        ProblemKind.InsufficientStorage => StatusCodes.Status507InsufficientStorage,
        ProblemKind.RangeNotSatisfiable => StatusCodes.Status416RangeNotSatisfiable,
    };

    public static PlatformException Invalid(string message, string? field = null) => new(ProblemKind.Invalid, message, field);

    public static PlatformException NotFound(string message) => new(ProblemKind.NotFound, message);

    public static PlatformException Conflict(string message, string? field = null) => new(ProblemKind.Conflict, message, field);

    public static PlatformException Forbidden(string message) => new(ProblemKind.Forbidden, message);
}
