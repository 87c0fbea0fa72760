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

    /// <summary>The main database of a caller without a MyDB (anonymous queries): in memory, gone with the worker.</summary>
    public const string InMemory = ":memory:";

    public static DuckDBConnection Open(string myDbPath, string? contextPath, DuckDbLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        var connection = new DuckDBConnection($"Data Source={myDbPath}");
        connection.Open();
        try
        {
            if (contextPath is not null)
            {
                Execute(connection, $"ATTACH '{Quote(contextPath)}' AS {ContextAlias} (READ_ONLY)");
                // As in CasJobs, the context's tables are named as they are; MyDB's tables after them.
                var myDb = myDbPath == InMemory ? "memory" : System.IO.Path.GetFileNameWithoutExtension(myDbPath);
                Execute(connection, $"SET search_path = '{ContextAlias},{Quote(myDb)}'");
            }

            Execute(connection, "SET autoinstall_known_extensions = false");
            Execute(connection, "SET autoload_known_extensions = false");
            Execute(connection, "SET allow_community_extensions = false");
            Execute(connection, $"SET memory_limit = '{Quote(limits.MemoryLimit)}'");
            Execute(connection, $"SET threads = {limits.Threads}");
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

    private static void Execute(DuckDBConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static string Quote(string value) => value.Replace("'", "''", StringComparison.Ordinal);
}
