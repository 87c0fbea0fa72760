using System.ComponentModel.DataAnnotations;

namespace OpenSciServer.Infrastructure;

/// <summary>Where the platform keeps its state and how it names itself to clients.</summary>
public sealed class PlatformOptions
{
    public const string SectionName = "Platform";

    /// <summary>The data directory (database, volumes, keys). Environment OPENSCISERVER_DATA overrides it.</summary>
    [Required(ErrorMessage = "Platform:DataDirectory must name a folder for the platform's data.")]
    public string DataDirectory { get; set; } = "data";

    /// <summary>
    /// The base URL clients use to reach this server (e.g. https://sciserver.example.org). When empty,
    /// the URL of the incoming request is used, which is right unless a proxy rewrites the host.
    /// </summary>
    [RegularExpression(@"^(https?://[^\s/?#]+(/[^\s?#]*)?)?$", ErrorMessage = "Platform:PublicBaseUrl must be an absolute http(s) URL without query, or empty.")]
    public string? PublicBaseUrl { get; set; }

    /// <summary>
    /// Addresses of reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed
    /// (e.g. "127.0.0.1", "10.0.0.0/8"). Without them, every user seems to come from the proxy, and
    /// login throttling by address would lock everyone out at once.
    /// </summary>
    public string[] TrustedProxies { get; set; } = [];

    /// <summary>The full path of the data directory.</summary>
    public string DataPath => Path.GetFullPath(DataDirectory);
}

/// <summary>Which database holds the platform's metadata.</summary>
public sealed class DatabaseOptions
{
    public const string SectionName = "Database";

    /// <summary><c>Sqlite</c> (embedded default) or <c>PostgreSQL</c> (server / HPC mode).</summary>
    [Required]
    [RegularExpression("^(?i)(Sqlite|PostgreSQL)$", ErrorMessage = "Database:Provider must be 'Sqlite' or 'PostgreSQL'.")]
    public string Provider { get; set; } = DatabaseProviders.Sqlite;

    public bool IsPostgres => string.Equals(Provider, DatabaseProviders.PostgreSql, StringComparison.OrdinalIgnoreCase);
}

public static class DatabaseProviders
{
    public const string Sqlite = nameof(Sqlite);
    public const string PostgreSql = "PostgreSQL";
}
