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
    [Url(ErrorMessage = "Platform:PublicBaseUrl must be an absolute http(s) URL, or empty.")]
    public string? PublicBaseUrl { get; set; }

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

    /// <summary>Filled from ConnectionStrings:Platform; for SQLite, empty means &lt;data&gt;/platform.db.</summary>
    public string? ConnectionString { get; set; }

    public bool IsPostgres => string.Equals(Provider, DatabaseProviders.PostgreSql, StringComparison.OrdinalIgnoreCase);
}

public static class DatabaseProviders
{
    public const string Sqlite = nameof(Sqlite);
    public const string PostgreSql = "PostgreSQL";
}
