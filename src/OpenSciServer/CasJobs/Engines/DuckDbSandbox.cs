using DuckDB.NET.Data;

namespace OpenSciServer.CasJobs.Engines;

/// <summary>Limits for one user query in DuckDB.</summary>
public sealed record DuckDbLimits(string MemoryLimit = "2GiB", int Threads = 2);

/// <summary>
/// Opens the DuckDB connection a user query runs on: the caller's MyDB as the main, writable database,
/// the catalog context attached read-only, and then the doors closed — no file or network access, no
/// extensions, bounded memory and threads — and the configuration locked so SQL cannot reopen them.
/// This is the engine's own layer; the worker process and its sandbox (issue 5) come on top of it.
/// </summary>
public static class DuckDbSandbox
{
    /// <summary>The name user SQL uses for the catalog context.</summary>
    public const string ContextAlias = "ctx";

    /// <summary>
    /// Every MyDB file is named so that DuckDB calls its database "mydb": SciServer's <c>mydb.T</c>
    /// then names a table in it as it is.
    /// </summary>
    public const string MyDbCatalog = "mydb";

    public const string MyDbFileName = MyDbCatalog + ".duckdb";

    /// <summary>In place of a MyDB path: an empty in-memory main database (catalog "memory"), for a query without MyDB (anonymous, or while a long query writes MyDB).</summary>
    public const string InMemory = ":memory:";

    /// <param name="readOnly">Open MyDB read-only: several processes may read one file at once (a writer excludes them all).</param>
    public static DuckDBConnection Open(string myDbPath, string? contextPath, DuckDbLimits limits, bool readOnly = false) =>
        Lock(OpenUnlocked(myDbPath, contextPath, readOnly), limits);

    /// <summary>
    /// The first half of <see cref="Open"/>: MyDB (read-only when <paramref name="readOnly"/>, e.g. over its quota) and the
    /// context attached, nothing locked yet. Only platform code may run on it before <see cref="Lock"/>.
    /// </summary>
    public static DuckDBConnection OpenUnlocked(string myDbPath, string? contextPath, bool readOnly = false)
    {
        var connection = new DuckDBConnection(readOnly ? $"Data Source={myDbPath};ACCESS_MODE=READ_ONLY" : $"Data Source={myDbPath}");
        connection.Open();
        try
        {
            if (contextPath is not null)
            {
                Execute(connection, $"ATTACH '{Sql.Literal(contextPath)}' AS {ContextAlias} (READ_ONLY)");
            }

            // The sky functions' home: one small in-memory catalog per instance, defined once (Lock) for every connection.
            Execute(connection, $"ATTACH ':memory:' AS {Sky.SkyFunctions.Catalog} (READ_WRITE)");
            SetSearchPath(connection, myDbPath, contextPath);
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>The second half of <see cref="Open"/>: closes the doors and locks the configuration.</summary>
    public static DuckDBConnection Lock(DuckDBConnection connection, DuckDbLimits limits)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(limits);
        try
        {
            Execute(connection, "SET autoinstall_known_extensions = false");
            Execute(connection, "SET autoload_known_extensions = false");
            Execute(connection, "SET allow_community_extensions = false");
            Execute(connection, $"SET memory_limit = '{Sql.Literal(limits.MemoryLimit)}'");
            Execute(connection, $"SET threads = {limits.Threads}");
            Sky.SkyFunctions.Define(connection);
            Execute(connection, "SET enable_external_access = false");
            // Last: from here on no SET may change anything above.
            Execute(connection, "SET lock_configuration = true");
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A further connection to a database <see cref="Open"/> opened and still holds: it shares the
    /// instance (its attached context, the sky functions, locked configuration and buffer pool, so what one
    /// query read stays cached for the next), but has its own session (temporary tables, search path).
    /// </summary>
    public static DuckDBConnection Connect(string myDbPath, string? contextPath)
    {
        var connection = new DuckDBConnection($"Data Source={myDbPath}");
        connection.Open();
        try
        {
            SetSearchPath(connection, myDbPath, contextPath);
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>As in CasJobs, the context's tables are named as they are, MyDB's after them; then the sky functions.</summary>
    private static void SetSearchPath(DuckDBConnection connection, string myDbPath, string? contextPath)
    {
        var myDb = myDbPath == InMemory ? "memory" : System.IO.Path.GetFileNameWithoutExtension(myDbPath);
        var path = contextPath is null ? $"{myDb},{Sky.SkyFunctions.Catalog}" : $"{ContextAlias},{myDb},{Sky.SkyFunctions.Catalog}";
        Execute(connection, $"SET search_path = '{Sql.Literal(path)}'");
    }

    private static void Execute(DuckDBConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
