namespace OpenSciServer.Infrastructure;

/// <summary>Which URL spaces are APIs (JSON errors, no login redirects) and which are SciServer-compatible.</summary>
public static class ApiPaths
{
    /// <summary>The native API, documented by OpenAPI.</summary>
    public const string Native = "/api";

    /// <summary>Route prefixes of the SciServer-compatible adapters (SCISERVER-API.md).</summary>
    public static readonly IReadOnlyList<string> Compat =
    [
        "/login-portal",
        "/racm",
        "/CasJobs",
        "/fileservice",
    ];

    public static bool IsCompat(PathString path)
    {
        foreach (var prefix in Compat)
        {
            if (path.StartsWithSegments(prefix, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    public static bool IsNative(PathString path) => path.StartsWithSegments(Native, StringComparison.OrdinalIgnoreCase);

    /// <summary>True for every path where a client expects JSON rather than a page.</summary>
    public static bool IsApi(PathString path) =>
        IsNative(path) || IsCompat(path) || path.StartsWithSegments("/openapi", StringComparison.OrdinalIgnoreCase)
        || path.StartsWithSegments("/health", StringComparison.OrdinalIgnoreCase);
}
