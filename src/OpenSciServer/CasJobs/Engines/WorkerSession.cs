using System.Diagnostics;
using DuckDB.NET.Data;

namespace OpenSciServer.CasJobs.Engines;

/// <summary>A long query: its statements run in one transaction and the MyDB table it creates is marked with the job's id.</summary>
public sealed record WorkerJob(long Id);

/// <summary>How the worker got at MyDB.</summary>
public enum MyDbMode
{
    ReadWrite,

    /// <summary>Read-only, as asked (a long query that only reads).</summary>
    ReadOnly,

    /// <summary>Read-only because a long query that only reads holds it: a quick query can still read MyDB.</summary>
    BusyReadOnly,

    /// <summary>Without MyDB (an empty in-memory main database) because a long query writes into it: a quick query on a catalog.</summary>
    Without,
}

/// <summary>A refusal the worker words itself (MyDB busy), sent to the user like an engine error.</summary>
public sealed class WorkerRefusalException : Exception
{
    public WorkerRefusalException()
    {
    }

    public WorkerRefusalException(string message)
        : base(message)
    {
    }

    public WorkerRefusalException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// The worker's DuckDB connection. DuckDB lets one process at a time open a file read-write (or several
/// read-only), and a long query holds its owner's MyDB for minutes. So: wait a little for the lock; then a
/// quick query reads MyDB read-only if only readers hold it, or, in a catalog context, runs without MyDB;
/// else it is refused with the job that holds MyDB (named in <see cref="HolderFileName"/> by the platform).
/// </summary>
internal sealed class WorkerSession : IDisposable
{
    /// <summary>The file beside a MyDB where the platform lists the long queries running on it (ids, comma-separated).</summary>
    public const string HolderFileName = ".running-jobs";

    private readonly string? _holder;

    private WorkerSession(DuckDBConnection connection, MyDbMode mode, string? holder, bool inMemory = false)
    {
        Connection = connection;
        Mode = mode;
        _holder = holder;
        MainCatalog = inMemory ? "memory" : DuckDbSandbox.MyDbCatalog;
    }

    public DuckDBConnection Connection { get; }

    /// <summary>The catalog new tables go to: mydb, or "memory" when the worker runs without MyDB.</summary>
    public string MainCatalog { get; }

    public MyDbMode Mode { get; }

    /// <summary>"long query (job 12)", or "query" when the platform does not know which.</summary>
    private string HolderText => _holder ?? "query";

    /// <summary>
    /// The connection a request runs on. A quick query's read-write MyDB instance is kept in
    /// <paramref name="kept"/> for the next request with the same set-up (the catalogue's blocks stay
    /// cached); every request gets a connection of its own (its own temporary tables and settings).
    /// </summary>
    public static async Task<WorkerSession> OpenAsync(WorkerRequest request, KeptInstance kept, StreamWriter writer)
    {
        var setup = KeptInstance.SetupOf(request);
        // Kept: a user's own read-write MyDB only. Not the anonymous in-memory database (several people
        // may send the same request), not shared tables (their copies would go stale), not jobs.
        var keepable = request.Job is null && request.MyDb is not { ReadOnly: true } && request.Upload is null
            && request.MyDbPath != DuckDbSandbox.InMemory && request.MyDb?.Shared is not { Count: > 0 };
        if (keepable && kept.Setup == setup)
        {
            return new WorkerSession(DuckDbSandbox.Connect(request.MyDbPath, request.ContextPath), MyDbMode.ReadWrite, null);
        }

        kept.Close();
        var session = await OpenNewAsync(request, writer);
        if (keepable && session.Mode == MyDbMode.ReadWrite)
        {
            kept.Keep(setup, session.Connection);
            return new WorkerSession(DuckDbSandbox.Connect(request.MyDbPath, request.ContextPath), MyDbMode.ReadWrite, null);
        }

        return session;
    }

    private static async Task<WorkerSession> OpenNewAsync(WorkerRequest request, StreamWriter writer)
    {
        // A quick query waits for another quick query's MyDB as long as the platform lets it run.
        var readOnly = request.MyDb?.ReadOnly == true;
        var waitSeconds = request.MyDb?.WaitSeconds ?? Math.Max(2.5, request.DeadlineSeconds);
        if (request.MyDbPath == DuckDbSandbox.InMemory || (readOnly && !File.Exists(request.MyDbPath)))
        {
            // No MyDB (an anonymous query), or nothing to read yet: opening read-only needs an existing file.
            return new WorkerSession(await MyDbSession.OpenOnceAsync(request, DuckDbSandbox.InMemory, readOnly: false), MyDbMode.ReadOnly, null, inMemory: true);
        }

        var quick = !readOnly && request.Job is null && request.Upload is null;
        var started = Stopwatch.GetTimestamp();
        var waiting = false;
        while (true)
        {
            try
            {
                return new WorkerSession(await MyDbSession.OpenOnceAsync(request, request.MyDbPath, readOnly),
                    readOnly ? MyDbMode.ReadOnly : MyDbMode.ReadWrite, null);
            }
            catch (DuckDBException e) when (IsLocked(e))
            {
                // Another quick query lets go within moments; a long query (named in the holder file) does not.
                if (Stopwatch.GetElapsedTime(started).TotalSeconds >= waitSeconds || (quick && ReadHolder(request.MyDbPath) is not null))
                {
                    break;
                }

                if (!waiting)
                {
                    // The platform tells the user why, if the time limit ends the wait.
                    waiting = true;
                    await QueryWorker.WriteAsync(writer, new WorkerMessage("waiting", -1));
                }

                await Task.Delay(100);
            }
        }

        var holder = ReadHolder(request.MyDbPath);
        if (quick)
        {
            // A reading long query shares MyDB with readers. A writer may hold it for a moment more: the
            // user's idle warm worker that the platform is ending for the job. Then reading works shortly.
            var readStarted = Stopwatch.GetTimestamp();
            while (true)
            {
                try
                {
                    return new WorkerSession(await MyDbSession.OpenOnceAsync(request, request.MyDbPath, readOnly: true), MyDbMode.BusyReadOnly, holder);
                }
                catch (DuckDBException e) when (IsLocked(e))
                {
                    if (Stopwatch.GetElapsedTime(readStarted).TotalSeconds >= Math.Min(3, waitSeconds))
                    {
                        break; // A writer holds it: not even reading.
                    }

                    await Task.Delay(100);
                }
            }

            if (request.ContextPath is not null)
            {
                return new WorkerSession(await MyDbSession.OpenOnceAsync(request, DuckDbSandbox.InMemory, readOnly: false), MyDbMode.Without, holder, inMemory: true);
            }
        }

        throw new WorkerRefusalException(holder is null
            ? "Your MyDB is busy: another query is using it at this moment. Try again in a little while."
            : $"Your MyDB is busy: a running {holder} is writing to it, and a database has one writer at a time. Try again when the job has finished, or cancel it.");
    }

    /// <summary>The engine's message, with what the user needs to know when MyDB was not fully there.</summary>
    public string Explain(string message) => Mode switch
    {
        MyDbMode.Without when message.Contains(DuckDbSandbox.MyDbCatalog, StringComparison.OrdinalIgnoreCase) =>
            $"Your MyDB is in use by a running {HolderText}, so this query ran without it and cannot use MyDB tables. Try again when the job has finished, or cancel it. ({message})",
        MyDbMode.Without => $"{message}\n(Your MyDB is in use by a running {HolderText}; this query ran without it, so MyDB tables were not visible.)",
        MyDbMode.BusyReadOnly when message.Contains("read-only", StringComparison.OrdinalIgnoreCase) =>
            $"Your MyDB is in use by a running {HolderText} and can only be read until it has finished. ({message})",
        MyDbMode.ReadWrite or MyDbMode.ReadOnly or MyDbMode.BusyReadOnly => message,
    };

    /// <summary>Without MyDB, a table created in the in-memory stand-in would vanish silently: refuse instead.</summary>
    public void CheckNothingCreatedWithoutMyDb()
    {
        if (Mode == MyDbMode.Without && Convert.ToInt64(Scalar(Connection,
                "SELECT (SELECT count(*) FROM duckdb_tables() WHERE database_name = 'memory') + (SELECT count(*) FROM duckdb_views() WHERE database_name = 'memory' AND NOT internal)"),
                System.Globalization.CultureInfo.InvariantCulture) > 0)
        {
            throw new WorkerRefusalException(
                $"Your MyDB is in use by a running {HolderText}, and new tables can only be created in MyDB. Try again when the job has finished, or cancel it.");
        }
    }

    public void Dispose() => Connection.Dispose();

    internal static object? Scalar(DuckDBConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    internal static void Execute(DuckDBConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static bool IsLocked(DuckDBException e) => e.Message.Contains("Could not set lock on file", StringComparison.Ordinal);

    private static string? ReadHolder(string myDbPath)
    {
        try
        {
            var ids = File.ReadAllText(Path.Combine(Path.GetDirectoryName(myDbPath)!, HolderFileName)).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            return ids.Length switch
            {
                0 => null,
                1 => $"long query (job {ids[0]})",
                _ => $"long queries (jobs {string.Join(", ", ids)})",
            };
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}

/// <summary>
/// The database instance a worker keeps between requests with the same set-up (MyDB, context, limits,
/// read-write): held open by one connection that runs nothing itself.
/// </summary>
internal sealed class KeptInstance : IDisposable
{
    public string? Setup { get; private set; }

    private DuckDBConnection? _keeper;

    public static string SetupOf(WorkerRequest request) =>
        string.Join('\n', request.MyDbPath, request.ContextPath, request.MemoryLimit, request.Threads.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public void Keep(string setup, DuckDBConnection keeper)
    {
        Close();
        _keeper = keeper;
        Setup = setup;
    }

    public void Close()
    {
        _keeper?.Dispose();
        _keeper = null;
        Setup = null;
    }

    public void Dispose() => Close();
}

/// <summary>
/// A long query's statements in one transaction: a killed worker leaves nothing half-written. The table it
/// creates is marked (a table comment, committed with it) so that a retry after a platform crash that came
/// between the commit and the platform's record sees the job is done instead of running it twice.
/// </summary>
internal sealed class LongQueryTransaction
{
    private readonly WorkerSession _session;
    private readonly string _marker;
    private readonly HashSet<long> _before;

    private LongQueryTransaction(WorkerSession session, string marker, HashSet<long> before, bool alreadyDone)
    {
        _session = session;
        _marker = marker;
        _before = before;
        AlreadyDone = alreadyDone;
    }

    public bool AlreadyDone { get; }

    public static async Task<LongQueryTransaction> BeginAsync(WorkerSession session, WorkerJob job, StreamWriter writer)
    {
        var db = session.Connection;
        var marker = $"Created by long query job {job.Id}";
        var tables = Tables(session);
        if (tables.FirstOrDefault(t => t.Comment == marker) is { } done)
        {
            await QueryWorker.WriteAsync(writer, new WorkerMessage("job", -1, Count: Count(session, done), Table: done.Name));
            return new LongQueryTransaction(session, marker, [], alreadyDone: true);
        }

        WorkerSession.Execute(db, "BEGIN TRANSACTION");
        return new LongQueryTransaction(session, marker, tables.Select(t => t.Oid).ToHashSet(), alreadyDone: false);
    }

    /// <summary>Marks the table the job created, commits, and reports it with its rows (else the last statement's count).</summary>
    public async Task CommitAsync(long lastCount, StreamWriter writer)
    {
        var db = _session.Connection;
        var created = Tables(_session).Where(t => !_before.Contains(t.Oid)).OrderBy(t => t.Oid).LastOrDefault();
        long rows = lastCount;
        if (created is not null)
        {
            WorkerSession.Execute(db, $"COMMENT ON TABLE {Sql.Identifier(_session.MainCatalog)}.{Sql.Identifier(created.Schema)}.{Sql.Identifier(created.Name)} IS '{_marker}'");
            rows = Count(_session, created);
        }

        WorkerSession.Execute(db, "COMMIT");
        await QueryWorker.WriteAsync(writer, new WorkerMessage("job", -1, Count: rows, Table: created?.Name));
    }

    private sealed record Table(string Schema, string Name, long Oid, string? Comment);

    private static List<Table> Tables(WorkerSession session)
    {
        // Not current_database(): in a catalog context that is the catalog (first on the search path).
        using var command = session.Connection.CreateCommand();
        command.CommandText = $"SELECT schema_name, table_name, table_oid, comment FROM duckdb_tables() WHERE database_name = '{session.MainCatalog}' AND NOT temporary";
        using var reader = command.ExecuteReader();
        var tables = new List<Table>();
        while (reader.Read())
        {
            tables.Add(new Table(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.IsDBNull(3) ? null : reader.GetString(3)));
        }

        return tables;
    }

    private static long Count(WorkerSession session, Table table) =>
        Convert.ToInt64(WorkerSession.Scalar(session.Connection, $"SELECT count(*) FROM {Sql.Identifier(session.MainCatalog)}.{Sql.Identifier(table.Schema)}.{Sql.Identifier(table.Name)}"), System.Globalization.CultureInfo.InvariantCulture);
}
