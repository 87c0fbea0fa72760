using DuckDB.NET.Data;

namespace OpenSciServer.CasJobs.Engines;

/// <summary>
/// The worker's side of MyDB around a query: opens MyDB (waiting briefly while another process holds it), copies
/// the tables shared with the caller into a read-only <c>shared</c> catalog before the configuration is locked, and
/// afterwards stamps new tables and measures the space used (<see cref="MyDbMetadata"/>).
/// </summary>
public static class MyDbSession
{
    /// <summary>The catalog that holds tables others shared with the caller: <c>shared.&lt;owner&gt;.&lt;table&gt;</c>.</summary>
    public const string SharedCatalog = "shared";

    /// <summary>How long a worker waits for a MyDB that another process is writing to.</summary>
    public static readonly TimeSpan BusyWait = TimeSpan.FromSeconds(5);

    private const string OwnerAlias = "oss_owner_mydb";
    private const string BuildAlias = "oss_shared_build";

    /// <summary>
    /// Opens the request's MyDB and context, attaches the shared tables, and locks the configuration. Only the
    /// platform's own operations pass <paramref name="allowedPaths"/>: the one staged file they read or write.
    /// </summary>
    public static async Task<DuckDBConnection> OpenAsync(WorkerRequest request, IReadOnlyList<string>? allowedPaths = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        var connection = await WhenFreeAsync(() => DuckDbSandbox.OpenUnlocked(request.MyDbPath, request.ContextPath, request.MyDb?.ReadOnly == true),
            "Your MyDB is busy: another of your queries (or a copy of a table you shared) is using it. Try again in a moment.");
        return await PrepareAsync(connection, request, allowedPaths);
    }

    /// <summary>
    /// Opens once, without waiting for a MyDB another process holds (DuckDB's lock error is the caller's to
    /// handle): MyDB at <paramref name="myDbPath"/> (or in memory), the context, the shared tables; locked.
    /// </summary>
    public static async Task<DuckDBConnection> OpenOnceAsync(WorkerRequest request, string myDbPath, bool readOnly)
    {
        ArgumentNullException.ThrowIfNull(request);
        return await PrepareAsync(DuckDbSandbox.OpenUnlocked(myDbPath, request.ContextPath, readOnly), request, null);
    }

    private static async Task<DuckDBConnection> PrepareAsync(DuckDBConnection connection, WorkerRequest request, IReadOnlyList<string>? allowedPaths)
    {
        try
        {
            if (request.MyDb?.Shared is { Count: > 0 } shared)
            {
                // The copies run before the configuration is locked, but already within the query's limits.
                Execute(connection, $"SET memory_limit = '{Sql.Literal(request.MemoryLimit)}'");
                Execute(connection, $"SET threads = {request.Threads}");
                await AttachSharedAsync(connection, shared);
            }

            if (allowedPaths is { Count: > 0 })
            {
                Execute(connection, $"SET allowed_paths = [{string.Join(", ", allowedPaths.Select(p => "'" + Sql.Literal(p) + "'"))}]");
            }

            return DuckDbSandbox.Lock(connection, new DuckDbLimits(request.MemoryLimit, request.Threads));
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Records tables seen for the first time and the space MyDB uses, after a run that could have changed it.
    /// Best effort: a run that failed half-way, or left a transaction open, is measured by the next run.
    /// </summary>
    public static void Stamp(DuckDBConnection db, WorkerRequest request)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(request);
        if (request.MyDb?.ReadOnly == true)
        {
            return;
        }

        try
        {
            TryExecute(db, "CHECKPOINT");
            var names = new List<string>();
            using (var command = db.CreateCommand())
            {
                command.CommandText = $"SELECT table_name FROM duckdb_tables() WHERE database_name = '{DuckDbSandbox.MyDbCatalog}' AND schema_name = 'main'";
                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                    names.Add(reader.GetString(0));
                }
            }

            long? used = null;
            using (var command = db.CreateCommand())
            {
                command.CommandText = $"SELECT used_blocks * block_size FROM pragma_database_size() WHERE database_name = '{DuckDbSandbox.MyDbCatalog}'";
                if (command.ExecuteScalar() is { } value and not DBNull)
                {
                    used = Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture);
                }
            }

            var wal = request.MyDbPath + ".wal";
            if (used is not null && File.Exists(wal))
            {
                used += new FileInfo(wal).Length;
            }

            var old = MyDbMetadata.Read(request.MyDbPath);
            var now = request.MyDb?.Now ?? TimeProvider.System.GetUtcNow();
            var tables = new Dictionary<string, DateTimeOffset>(StringComparer.OrdinalIgnoreCase);
            foreach (var name in names)
            {
                tables[name] = old.Tables.TryGetValue(name, out var seen) ? seen : now;
            }

            // Most runs only read: the file is rewritten only when what it says changed.
            var usedBytes = used ?? old.UsedBytes;
            if (usedBytes != old.UsedBytes || tables.Count != old.Tables.Count || tables.Any(t => !old.Tables.TryGetValue(t.Key, out var seen) || seen != t.Value)
                || !File.Exists(MyDbMetadata.PathBeside(request.MyDbPath)))
            {
                new MyDbMetadata(usedBytes, tables).Write(request.MyDbPath);
            }
        }
        catch (Exception e) when (e is DuckDBException or IOException or UnauthorizedAccessException)
        {
            // Measured again after the next run.
        }
    }

    /// <summary>
    /// Copies each shared table into a DuckDB file in the worker's private /tmp, then attaches that file READ_ONLY as
    /// <c>shared</c>. Each owner's MyDB is attached read-only only while its tables are copied, then detached, so SQL
    /// never sees the owner's other tables and holds no lock on the owner's file while it runs.
    /// </summary>
    private static async Task AttachSharedAsync(DuckDBConnection db, IReadOnlyList<WorkerSharedTable> shared)
    {
        var file = Path.Combine(Path.GetTempPath(), "oss-shared-" + Guid.NewGuid().ToString("N") + ".duckdb");
        AppDomain.CurrentDomain.ProcessExit += (_, _) => TryDelete(file);
        Execute(db, $"ATTACH '{Sql.Literal(file)}' AS {BuildAlias}");
        foreach (var owner in shared.GroupBy(s => s.Owner, StringComparer.Ordinal))
        {
            var path = owner.First().MyDbPath;
            if (!File.Exists(path))
            {
                continue;
            }

            await WhenFreeAsync(() => Execute(db, $"ATTACH '{Sql.Literal(path)}' AS {OwnerAlias} (READ_ONLY)") ?? true,
                $"{owner.Key}'s MyDB, which holds a table shared with you, is busy (a query of theirs is writing to it). Try again in a moment.");
            try
            {
                var present = TableNames(db, OwnerAlias);
                Execute(db, $"CREATE SCHEMA IF NOT EXISTS {BuildAlias}.{Sql.Identifier(owner.Key)}");
                foreach (var table in owner)
                {
                    if (present.FirstOrDefault(t => string.Equals(t, table.Table, StringComparison.OrdinalIgnoreCase)) is { } actual)
                    {
                        Execute(db, $"CREATE TABLE {BuildAlias}.{Sql.Identifier(owner.Key)}.{Sql.Identifier(actual)} AS SELECT * FROM {OwnerAlias}.main.{Sql.Identifier(actual)}");
                    }
                }
            }
            finally
            {
                Execute(db, $"DETACH {OwnerAlias}");
            }
        }

        Execute(db, $"DETACH {BuildAlias}");
        Execute(db, $"ATTACH '{Sql.Literal(file)}' AS {SharedCatalog} (READ_ONLY)");
    }

    internal static List<string> TableNames(DuckDBConnection db, string catalog)
    {
        using var command = db.CreateCommand();
        command.CommandText = $"SELECT table_name FROM duckdb_tables() WHERE database_name = '{Sql.Literal(catalog)}' AND schema_name = 'main'";
        using var reader = command.ExecuteReader();
        var names = new List<string>();
        while (reader.Read())
        {
            names.Add(reader.GetString(0));
        }

        return names;
    }

    // DuckDB locks a database file for one writing process, or for any number of readers.
    private static async Task<T> WhenFreeAsync<T>(Func<T> open, string busyMessage)
    {
        var waited = TimeSpan.Zero;
        var step = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            try
            {
                return open();
            }
            catch (DuckDBException e) when (e.Message.Contains("Could not set lock", StringComparison.Ordinal))
            {
                if (waited >= BusyWait)
                {
                    throw new InvalidDataException(busyMessage, e);
                }
            }

            await Task.Delay(step);
            waited += step;
        }
    }

    internal static bool? Execute(DuckDBConnection db, string sql)
    {
        using var command = db.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
        return null;
    }

    private static void TryExecute(DuckDBConnection db, string sql)
    {
        try
        {
            Execute(db, sql);
        }
        catch (DuckDBException)
        {
            // E.g. a transaction the user's SQL left open.
        }
    }

    private static void TryDelete(string file)
    {
        foreach (var path in new[] { file, file + ".wal" })
        {
            try
            {
                File.Delete(path);
            }
            catch (IOException)
            {
            }
        }
    }
}
