using System.Text.RegularExpressions;

namespace OpenSciServer.CasJobs.Engines.Postgres;

/// <summary>
/// A PostgreSQL server catalogs may live on (<c>CasJobs:PostgresServers:&lt;name&gt;</c>). Admins register a
/// context by the server's name; connection strings live only here, never in requests or in the platform database.
/// </summary>
public sealed class PostgresServerOptions
{
    /// <summary>
    /// The platform's admin connection (a superuser, or a role with CREATEROLE that owns or may grant on the
    /// catalog schemas). Its Database is replaced by each context's database. It creates the per-user roles and
    /// schemas and grants; user SQL never runs on it.
    /// </summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>
    /// Secret the per-user roles' passwords are derived from (HMAC-SHA256 of the role name): the passwords are
    /// never stored. Empty: the admin connection's password is the secret.
    /// </summary>
    public string RoleSecret { get; set; } = "";

    /// <summary>Connections one user may hold to this server at once (the role's CONNECTION LIMIT, and its pool).</summary>
    public int ConnectionsPerUser { get; set; } = 6;

    /// <summary>PostgreSQL's temp_file_limit for user roles (sorts and hashes spilled to disk); a user cannot raise it.</summary>
    public string TempFileLimit { get; set; } = "20GB";

    /// <summary>How long the watchdog waits after pg_cancel_backend before it terminates the backend.</summary>
    public TimeSpan CancelGrace { get; set; } = TimeSpan.FromSeconds(2);
}

/// <summary>
/// Where a PostgreSQL context lives: <c>postgres://&lt;server&gt;/&lt;database&gt;/&lt;schema&gt;</c>, kept as the context's
/// Path (a DuckDB context's Path is an absolute file path, so the two never mix).
/// </summary>
public sealed partial record PostgresLocation(string Server, string Database, string Schema)
{
    public const string Prefix = "postgres://";

    public override string ToString() => $"{Prefix}{Server}/{Database}/{Schema}";

    public static bool IsPostgres(string? path) => path?.StartsWith(Prefix, StringComparison.Ordinal) == true;

    public static PostgresLocation? TryParse(string? path)
    {
        if (!IsPostgres(path))
        {
            return null;
        }

        var parts = path![Prefix.Length..].Split('/');
        return parts.Length == 3 && parts.All(p => NamePattern().IsMatch(p)) ? new PostgresLocation(parts[0], parts[1], parts[2]) : null;
    }

    /// <summary>A server, database or schema name: lower-case letters, digits and '_', starting with a letter or '_', at most 63 (PostgreSQL's limit).</summary>
    public static bool IsValidName(string? name) => name is not null && NamePattern().IsMatch(name);

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$")]
    private static partial Regex NamePattern();
}
