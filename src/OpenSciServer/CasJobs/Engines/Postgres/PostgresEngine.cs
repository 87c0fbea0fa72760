using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Npgsql;
using OpenSciServer.Accounts;
using OpenSciServer.CasJobs.Contexts;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.CasJobs.Engines.Postgres;

/// <summary>A statement for PostgreSQL: its text, whether it is a plain SELECT (read through a cursor, so the row cap stops it), and the user's line it starts on.</summary>
public sealed record PostgresStatement(string Sql, bool IsSelect, int Line, string? IntoTable = null);

/// <summary>
/// Runs user SQL on a catalog that lives in PostgreSQL (server / HPC mode). User SQL runs on a connection
/// that logs in as the user's own role (<c>oss_u_&lt;user id&gt;</c>), never on the platform's admin connection and
/// never through SET ROLE (which the user's SQL could undo with RESET ROLE). The role is created by the platform,
/// holds USAGE/SELECT on the catalog schemas the authorization service lets the user query (synchronised before
/// every query) and owns exactly one schema, the user's MyDB in that database (<c>mydb_&lt;user&gt;</c>). Each query
/// has PostgreSQL's statement_timeout and the platform's watchdog, which cancels the backend at the limit and
/// terminates it if the cancel does not take. See decision 0014.
/// </summary>
public sealed partial class PostgresEngine(IOptions<CasJobsOptions> options, ILogger<PostgresEngine> logger) : IAsyncDisposable
{
    /// <summary>The platform's schema of sky functions (on every user's search_path).</summary>
    public const string SkySchema = "oss_sky";

    /// <summary>The role queries without login run as: SELECT on the public contexts' schemas, no MyDB.</summary>
    public const string AnonymousRole = "oss_anonymous";

    /// <summary>The mark a long query leaves on the table it created (as the DuckDB engine does).</summary>
    public static string JobMark(long jobId) => string.Create(CultureInfo.InvariantCulture, $"Created by long query job {jobId}");

    /// <summary>The watchdog steps in this long after the limit, so that PostgreSQL's own statement_timeout normally answers first.</summary>
    private static readonly TimeSpan WatchdogMargin = TimeSpan.FromSeconds(1);

    private const string CursorPrefix = "DECLARE oss_result NO SCROLL CURSOR FOR ";

    private readonly ConcurrentDictionary<string, NpgsqlDataSource> _sources = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<Task>> _prepared = new(StringComparer.Ordinal);

    /// <summary>The configured server named, or a 400 naming the configured ones.</summary>
    public PostgresServerOptions Server(string name)
    {
        var servers = options.Value.PostgresServers;
        return servers.TryGetValue(name, out var server) && !string.IsNullOrWhiteSpace(server.ConnectionString) ? server
            : throw PlatformException.Invalid(servers.Count == 0
                ? $"There is no PostgreSQL server '{name}': this platform has none configured (CasJobs:PostgresServers:<name>:ConnectionString)."
                : $"There is no PostgreSQL server '{name}' in the platform's configuration; configured: {string.Join(", ", servers.Keys.Order(StringComparer.Ordinal))}.", "server");
    }

    /// <summary>The user's role: stable across the user's life (their id), unrelated to anything they choose.</summary>
    public static string RoleOf(Caller caller)
    {
        ArgumentNullException.ThrowIfNull(caller);
        return caller.IsAnonymous ? AnonymousRole : "oss_u_" + caller.UserId.ToString("N");
    }

    /// <summary>The user's MyDB schema in a PostgreSQL database (user names are valid unquoted identifiers, decision 0004).</summary>
    public static string? MyDbSchemaOf(Caller caller)
    {
        ArgumentNullException.ThrowIfNull(caller);
        return caller.IsAnonymous ? null : "mydb_" + caller.UserName;
    }

    /// <summary>The platform's own connection to a database of a server (creates roles and schemas, grants, reads catalogs' schemas).</summary>
    internal NpgsqlDataSource Admin(string server, string database) =>
        _sources.GetOrAdd($"admin/{server}/{database}", _ =>
        {
            var builder = new NpgsqlConnectionStringBuilder(Server(server).ConnectionString) { Database = database, ApplicationName = "opensciserver-admin" };
            return NpgsqlDataSource.Create(builder.ConnectionString);
        });

    /// <summary>A connection that logs in as the user's role, to the context's database.</summary>
    private NpgsqlDataSource UserSource(string server, string database, string role) =>
        _sources.GetOrAdd($"user/{server}/{database}/{role}", _ =>
        {
            var config = Server(server);
            var builder = new NpgsqlConnectionStringBuilder(config.ConnectionString)
            {
                Database = database,
                Username = role,
                Password = PasswordOf(server, role),
                ApplicationName = QueryApplicationName,
                MaxPoolSize = Math.Max(1, config.ConnectionsPerUser),
                ConnectionIdleLifetime = 60,
                CommandTimeout = 0,
                IncludeErrorDetail = true,
                IncludeFailedBatchedCommand = true,
                Enlist = false,
            };
            return NpgsqlDataSource.Create(builder.ConnectionString);
        });

    /// <summary>The role's password: derived from the server's secret, so it is never stored and the platform can always set it again.</summary>
    private string PasswordOf(string server, string role)
    {
        var config = Server(server);
        var secret = config.RoleSecret.Length > 0 ? config.RoleSecret
            : new NpgsqlConnectionStringBuilder(config.ConnectionString).Password is { Length: > 0 } p ? p : config.ConnectionString;
        return "oss" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(role)));
    }

    /// <summary>
    /// Once per database and process: no CREATE on schema public and no temporary tables for anyone but
    /// the owners (users get exactly their own schema), and the platform's sky schema (USAGE for everyone).
    /// </summary>
    public Task PrepareDatabaseAsync(PostgresLocation location, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(location);
        var key = $"database:{location.Server}/{location.Database}";
        var lazy = _prepared.GetOrAdd(key, _ => new Lazy<Task>(() => PrepareDatabaseCoreAsync(location)));
        return lazy.Value.IsFaulted ? Retry() : lazy.Value.WaitAsync(ct);

        Task Retry()
        {
            _prepared.TryRemove(key, out _);
            return PrepareDatabaseAsync(location, ct);
        }
    }

    /// <summary>Once per context location and process: the database prepared, and the catalog's own sky function (fGetNearbyObjEq).</summary>
    public Task PrepareContextAsync(PostgresLocation location, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(location);
        var key = location.ToString();
        var lazy = _prepared.GetOrAdd(key, _ => new Lazy<Task>(() => PrepareContextCoreAsync(location)));
        return lazy.Value.IsFaulted ? Retry() : lazy.Value.WaitAsync(ct);

        Task Retry()
        {
            _prepared.TryRemove(key, out _);
            return PrepareContextAsync(location, ct);
        }
    }

    private async Task PrepareContextCoreAsync(PostgresLocation location)
    {
        await PrepareDatabaseAsync(location, CancellationToken.None);
        await using var admin = await Admin(location.Server, location.Database).OpenConnectionAsync();
        await PostgresSky.DefineForCatalogAsync(admin, location.Schema, CancellationToken.None);
    }

    private async Task PrepareDatabaseCoreAsync(PostgresLocation location)
    {
        await using var admin = await Admin(location.Server, location.Database).OpenConnectionAsync();
        await ExecuteAsync(admin, $"""
            REVOKE CREATE ON SCHEMA public FROM PUBLIC;
            REVOKE TEMPORARY ON DATABASE {Sql.Identifier(location.Database)} FROM PUBLIC;
            CREATE SCHEMA IF NOT EXISTS {SkySchema};
            REVOKE CREATE ON SCHEMA {SkySchema} FROM PUBLIC;
            GRANT USAGE ON SCHEMA {SkySchema} TO PUBLIC;
            """, CancellationToken.None);
        await PostgresSky.DefineAsync(admin, CancellationToken.None);
        await PrepareQuotaAsync(admin);
    }

    /// <summary>
    /// Makes the caller's role ready to query a context of <paramref name="location"/>'s database: the role and
    /// its MyDB schema exist (created lazily), it may connect, and it holds USAGE and SELECT on exactly the catalog
    /// schemas of <paramref name="allowed"/> among those of the database's contexts (<paramref name="all"/>):
    /// access withdrawn in the authorization service is revoked here before the next query runs.
    /// </summary>
    public async Task EnsureUserAsync(PostgresLocation location, Caller caller, IReadOnlyCollection<string> allowed, IReadOnlyCollection<string> all, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(location);
        ArgumentNullException.ThrowIfNull(allowed);
        ArgumentNullException.ThrowIfNull(all);
        await PrepareContextAsync(location, ct);
        var role = RoleOf(caller);
        // One at a time per role: concurrent GRANTs on the same catalog row fail in PostgreSQL ("tuple concurrently updated").
        var gate = _roleGates.GetOrAdd($"{location.Server}/{role}", _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(ct);
        try
        {
            await EnsureUserCoreAsync(location, caller, role, allowed, all, ct);
        }
        finally
        {
            gate.Release();
        }
    }

    private readonly ConcurrentDictionary<string, SemaphoreSlim> _roleGates = new(StringComparer.Ordinal);

    private async Task EnsureUserCoreAsync(PostgresLocation location, Caller caller, string role, IReadOnlyCollection<string> allowed, IReadOnlyCollection<string> all, CancellationToken ct)
    {
        var schema = MyDbSchemaOf(caller);
        var config = Server(location.Server);
        await using var admin = await Admin(location.Server, location.Database).OpenConnectionAsync(ct);
        var roleExists = await ScalarAsync(admin, "SELECT count(*) FROM pg_catalog.pg_roles WHERE rolname = $1", ct, role) is long n && n > 0;
        if (!roleExists)
        {
            try
            {
                await ExecuteAsync(admin, $"CREATE ROLE {Sql.Identifier(role)} LOGIN NOINHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS " +
                    $"CONNECTION LIMIT {config.ConnectionsPerUser + 2} PASSWORD '{PasswordOf(location.Server, role)}'", ct);
            }
            catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.DuplicateObject or PostgresErrorCodes.UniqueViolation)
            {
                // Another request created it meanwhile.
            }

            // Defaults for a session of the role; the platform sets its own per query, and its watchdog enforces them.
            await ExecuteAsync(admin, $"""
                ALTER ROLE {Sql.Identifier(role)} SET statement_timeout = {(long)options.Value.QuickQueryTimeout.TotalMilliseconds};
                ALTER ROLE {Sql.Identifier(role)} SET idle_in_transaction_session_timeout = 60000;
                ALTER ROLE {Sql.Identifier(role)} SET temp_file_limit = '{Sql.Literal(config.TempFileLimit)}';
                """, ct);
        }
        else if (_passwordSet.TryAdd($"{location.Server}/{role}", true))
        {
            // Once per process: a user may change their own role's password with SQL; the platform sets it back.
            await ExecuteAsync(admin, $"ALTER ROLE {Sql.Identifier(role)} PASSWORD '{PasswordOf(location.Server, role)}'", ct);
        }

        _passwordSet.TryAdd($"{location.Server}/{role}", true);
        if (await ScalarAsync(admin, "SELECT has_database_privilege($1, current_database(), 'CONNECT')", ct, role) is not true)
        {
            // Only when missing (PUBLIC usually has it): every GRANT rewrites the database's catalog row.
            await ExecuteAsync(admin, $"GRANT CONNECT ON DATABASE {Sql.Identifier(location.Database)} TO {Sql.Identifier(role)}", ct);
        }
        if (schema is not null)
        {
            var owner = await ScalarAsync(admin, "SELECT pg_catalog.pg_get_userbyid(nspowner)::text FROM pg_catalog.pg_namespace WHERE nspname = $1", ct, schema) as string;
            if (owner is null)
            {
                try
                {
                    await ExecuteAsync(admin, $"CREATE SCHEMA {Sql.Identifier(schema)} AUTHORIZATION {Sql.Identifier(role)}", ct);
                }
                catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.DuplicateSchema or PostgresErrorCodes.UniqueViolation)
                {
                    // Created meanwhile by another request of the same user.
                }
            }
            else if (owner != role)
            {
                throw PlatformException.Conflict($"The schema {schema} in {location.Database} on {location.Server} belongs to someone else ({owner}); ask an administrator.");
            }
        }

        // The catalog schemas of this database: USAGE and SELECT where the authorization service says so, nothing elsewhere.
        // Schemas of contexts unregistered since are among the "elsewhere": any schema but the system's, the platform's
        // and the MyDBs (whose owners may grant on them themselves) where the role holds an explicit USAGE grant.
        var held = new Dictionary<string, (bool Has, bool Explicit)>(StringComparer.Ordinal);
        await using (var check = new NpgsqlCommand(
            "SELECT n.nspname, has_schema_privilege($1, n.oid, 'USAGE'), " +
            "EXISTS (SELECT 1 FROM pg_catalog.aclexplode(n.nspacl) a JOIN pg_catalog.pg_roles r ON r.oid = a.grantee WHERE r.rolname = $1 AND a.privilege_type = 'USAGE') " +
            "FROM pg_catalog.pg_namespace n WHERE n.nspname = ANY($2) OR (n.nspname NOT LIKE 'pg\\_%' AND n.nspname NOT IN ('information_schema', 'public') " +
            "AND n.nspname NOT LIKE 'mydb\\_%' AND n.nspname NOT LIKE 'oss\\_sky%' AND n.nspacl IS NOT NULL)", admin))
        {
            check.Parameters.Add(new NpgsqlParameter { Value = role });
            check.Parameters.Add(new NpgsqlParameter { Value = all.ToArray() });
            await using var reader = await check.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                held[reader.GetString(0)] = (reader.GetBoolean(1), reader.GetBoolean(2));
            }
        }

        var changes = new StringBuilder();
        foreach (var (catalogSchema, (has, isExplicit)) in held)
        {
            var want = allowed.Contains(catalogSchema, StringComparer.Ordinal);
            if (want && !has)
            {
                changes.Append(CultureInfo.InvariantCulture, $"GRANT USAGE ON SCHEMA {Sql.Identifier(catalogSchema)} TO {Sql.Identifier(role)};")
                    .Append(CultureInfo.InvariantCulture, $"GRANT SELECT ON ALL TABLES IN SCHEMA {Sql.Identifier(catalogSchema)} TO {Sql.Identifier(role)};");
            }
            else if (!want && isExplicit)
            {
                // Only what was granted to the role itself: a schema the admin opened to PUBLIC stays open.
                changes.Append(CultureInfo.InvariantCulture, $"REVOKE ALL ON ALL TABLES IN SCHEMA {Sql.Identifier(catalogSchema)} FROM {Sql.Identifier(role)};")
                    .Append(CultureInfo.InvariantCulture, $"REVOKE ALL ON SCHEMA {Sql.Identifier(catalogSchema)} FROM {Sql.Identifier(role)};");
            }
        }

        if (changes.Length > 0)
        {
            await ExecuteAsync(admin, changes.ToString(), ct);
        }
    }

    private readonly ConcurrentDictionary<string, bool> _passwordSet = new(StringComparer.Ordinal);

    /// <summary>
    /// Runs statements as the caller's role. <paramref name="jobId"/> set: a long query, all statements in one
    /// transaction (nothing half-written stays), the created table marked; every row counted, the first
    /// <paramref name="maxRows"/> kept. Otherwise a quick query: each statement on its own; SELECTs are read
    /// through a cursor that stops at the row cap.
    /// </summary>
    /// <param name="userText">The query as the user wrote it (errors point into it).</param>
    /// <param name="mayReadOnly">
    /// A quick query of SELECTs only runs in a READ ONLY transaction, which PostgreSQL keeps from writing anything (a
    /// user's function that writes is refused, and a transaction cannot be made read-write after its first query), so
    /// MyDB cannot grow and is not measured. When PostgreSQL refuses a write there, the query runs again (it wrote
    /// nothing) in the platform's measured transaction.
    /// </param>
    public async Task<QueryOutcome> RunAsync(PostgresLocation location, Caller caller, IReadOnlyList<PostgresStatement> statements, long maxRows,
        TimeSpan timeout, long? jobId, string? userText, CancellationToken ct, bool mayReadOnly = true)
    {
        ArgumentNullException.ThrowIfNull(location);
        ArgumentNullException.ThrowIfNull(statements);
        var role = RoleOf(caller);
        var myDb = MyDbSchemaOf(caller);
        var config = Server(location.Server);
        if (myDb is not null)
        {
            // The platform commits a query after measuring MyDB (decision 0016): SQL may not end the transaction itself.
            PostgresStatements.RefuseTransactionControl(statements.Select(s => s.Sql));
        }

        NpgsqlConnection connection;
        try
        {
            connection = await UserSource(location.Server, location.Database, role).OpenConnectionAsync(ct);
        }
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.InvalidPassword or PostgresErrorCodes.InvalidAuthorizationSpecification)
        {
            // The role's password was changed (by its own SQL): set it back once and retry.
            _passwordSet.TryRemove($"{location.Server}/{role}", out _);
            await using (var admin = await Admin(location.Server, location.Database).OpenConnectionAsync(ct))
            {
                await ExecuteAsync(admin, $"ALTER ROLE {Sql.Identifier(role)} PASSWORD '{PasswordOf(location.Server, role)}'", ct);
            }

            NpgsqlConnection.ClearPool(new NpgsqlConnection(UserSource(location.Server, location.Database, role).ConnectionString));
            connection = await UserSource(location.Server, location.Database, role).OpenConnectionAsync(ct);
        }

        await using var conn = connection;
        var pid = conn.ProcessID;
        var finished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        Task watchdog = Task.CompletedTask;
        var index = 0;
        var sent = "";
        var readOnly = false;
        var retryMeasured = false;
        try
        {
            var searchPath = string.Join(", ", new[] { location.Schema, PostgresSky.ContextSchema(location.Schema), myDb, SkySchema, "public" }.OfType<string>().Select(Sql.Identifier));
            await ExecuteAsync(conn, $"SET statement_timeout = {(long)Math.Ceiling(timeout.TotalMilliseconds)}; SET search_path = {searchPath}", CancellationToken.None);
            stop.CancelAfter(timeout + WatchdogMargin);
            await using var registration = stop.Token.Register(() => watchdog = StopBackendAsync(location, pid, finished.Task, config.CancelGrace));
            var sets = new List<ResultSet>();
            var affected = new List<long>();
            LongQueryResult? job = null;
            List<string> before = [];
            if (jobId is { } id)
            {
                if (myDb is not null && await MarkedResultAsync(conn, myDb, id) is { } done)
                {
                    // Committed just before the platform stopped: not run twice.
                    return new QueryOutcome([], [], done);
                }
            }

            // A logged-in user's query runs in the platform's transaction, committed only if MyDB stays within its quota;
            // a quick query that only reads, in read-only transactions instead.
            readOnly = mayReadOnly && myDb is not null && jobId is null && statements.All(s => s.IsSelect);
            var guard = myDb is null || readOnly ? null : await BeginGuardedAsync(conn, location, myDb);
            if (jobId is not null)
            {
                if (guard is null)
                {
                    await ExecuteAsync(conn, "BEGIN", CancellationToken.None);
                }

                before = myDb is null ? [] : await TablesOfAsync(conn, myDb);
            }

            long last = 0;
            for (; index < statements.Count; index++)
            {
                var statement = statements[index];
                sent = PostgresText.WithMyDbSchema(statement.Sql, myDb);
                last = guard is null ? await RunStatementAsync(conn, statement, sent, maxRows, countAll: jobId is not null, sets, affected, readOnly)
                    : await RunGuardedStatementAsync(conn, guard, statement, sent, maxRows, countAll: jobId is not null, sets, affected);
            }

            if (jobId is { } jid && myDb is not null)
            {
                var created = (await TablesOfAsync(conn, myDb)).Except(before, StringComparer.Ordinal).ToList();
                string? table = statements.Select(s => s.IntoTable?.Split('.')[^1]).LastOrDefault(t => t is not null && created.Contains(t, StringComparer.Ordinal))
                    ?? (created.Count == 1 ? created[0] : null);
                if (table is not null)
                {
                    await ExecuteAsync(conn, $"COMMENT ON TABLE {Sql.Identifier(myDb)}.{Sql.Identifier(table)} IS '{Sql.Literal(JobMark(jid))}'", CancellationToken.None);
                    last = (long)(await ScalarAsync(conn, $"SELECT count(*) FROM {Sql.Identifier(myDb)}.{Sql.Identifier(table)}", CancellationToken.None))!;
                }

                await CommitAsync(conn, guard);
                job = new LongQueryResult(table, last);
            }
            else if (jobId is not null)
            {
                await CommitAsync(conn, guard);
                job = new LongQueryResult(null, last);
            }
            else if (guard is not null)
            {
                await CommitAsync(conn, guard);
            }

            return new QueryOutcome(sets, affected, job);
        }
        catch (Exception e) when (stop.IsCancellationRequested && e is NpgsqlException or InvalidOperationException or IOException)
        {
            ct.ThrowIfCancellationRequested();
            throw TimeLimit(timeout);
        }
        catch (PostgresException e) when (readOnly && e.SqlState == PostgresErrorCodes.ReadOnlySqlTransaction)
        {
            // A SELECT that writes (through a function): nothing was written; run it again, measured.
            retryMeasured = true;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.QueryCanceled)
        {
            // PostgreSQL's statement_timeout (or a cancel the user's SQL did not catch).
            throw TimeLimit(timeout);
        }
        catch (PostgresException e)
        {
            var statement = index < statements.Count ? statements[index] : statements[^1];
            var (text, position) = PositionIn(e, sent, statement.IsSelect && jobId is null);
            if (PostgresSkyRewriter.ErrorMessage(e, text, position, myDb) is { } crossmatch)
            {
                throw PlatformException.Invalid(crossmatch, "query");
            }

            throw PlatformException.Invalid(PostgresText.ErrorMessage(e.MessageText, e.Detail, e.Hint, text, position, statement.Line + LinesBefore(sent, text), userText), "query");
        }
        finally
        {
            finished.TrySetResult();
            await watchdog;
        }

        return retryMeasured
            ? await RunAsync(location, caller, statements, maxRows, timeout, jobId, userText, ct, mayReadOnly: false)
            : throw new InvalidOperationException("A query ended without an outcome.");
    }

    /// <summary>The time limit was reached (statement_timeout or the watchdog); callers word it for a quick or a long query.</summary>
    private static TimeoutException TimeLimit(TimeSpan timeout) =>
        new($"The query ran longer than its limit of {timeout.TotalSeconds:0} s and was stopped.");

    /// <summary>The text PostgreSQL's position counts in (the statement of a multi-statement text that failed), and the position in it.</summary>
    private static (string Text, int Position) PositionIn(PostgresException e, string sent, bool throughCursor)
    {
        var position = e.Position;
        var failed = e.BatchCommand?.CommandText;
        if (throughCursor && failed?.StartsWith(CursorPrefix, StringComparison.Ordinal) == true)
        {
            return (sent, position > CursorPrefix.Length ? position - CursorPrefix.Length : 0);
        }

        if (failed is not null && failed != sent && sent.Contains(failed, StringComparison.Ordinal))
        {
            return (failed, position);
        }

        return (sent, position);
    }

    /// <summary>Lines of <paramref name="sent"/> before the part <paramref name="part"/> (a statement of several).</summary>
    private static int LinesBefore(string sent, string part)
    {
        var at = part == sent ? 0 : sent.IndexOf(part, StringComparison.Ordinal);
        return at <= 0 ? 0 : sent[..at].Count(c => c == '\n');
    }

    private static async Task<long> RunStatementAsync(NpgsqlConnection conn, PostgresStatement statement, string sql, long maxRows, bool countAll,
        List<ResultSet> sets, List<long> affected, bool readOnly = false)
    {
        if (statement.IsSelect && !countAll)
        {
            // A quick query's SELECT through a cursor: PostgreSQL stops at the row cap instead of sending everything.
            await ExecuteAsync(conn, readOnly ? "BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY" : "BEGIN", CancellationToken.None);
            await ExecuteAsync(conn, CursorPrefix + sql, CancellationToken.None);
            await using (var fetch = new NpgsqlCommand(string.Create(CultureInfo.InvariantCulture, $"FETCH FORWARD {maxRows + 1} FROM oss_result"), conn) { CommandTimeout = 0 })
            await using (var reader = await fetch.ExecuteReaderAsync(CancellationToken.None))
            {
                var (set, total) = await ReadSetAsync(reader, maxRows, countAll: false);
                sets.Add(set);
                await reader.DisposeAsync();
                await ExecuteAsync(conn, "CLOSE oss_result; COMMIT", CancellationToken.None);
                return total;
            }
        }

        await using var command = new NpgsqlCommand(sql, conn) { CommandTimeout = 0 };
        await using var rows = await command.ExecuteReaderAsync(CancellationToken.None);
        long last = 0;
        long counted = 0;
        do
        {
            if (rows.FieldCount == 0)
            {
                // RecordsAffected adds up the statements read so far.
                var sum = Math.Max(0, rows.RecordsAffected);
                last = sum - counted;
                counted = sum;
                affected.Add(last);
            }
            else
            {
                var (set, total) = await ReadSetAsync(rows, maxRows, countAll);
                sets.Add(set);
                last = total;
            }

        }
        while (await rows.NextResultAsync(CancellationToken.None));

        return last;
    }

    private static async Task<(ResultSet Set, long Total)> ReadSetAsync(NpgsqlDataReader reader, long maxRows, bool countAll)
    {
        var columns = Enumerable.Range(0, reader.FieldCount).Select(i => new WorkerColumn(reader.GetName(i), PostgresText.ResultType(reader.GetDataTypeName(i)))).ToList();
        var rows = new List<JsonElement[]>();
        long total = 0;
        var truncated = false;
        while (await reader.ReadAsync(CancellationToken.None))
        {
            total++;
            if (rows.Count >= maxRows)
            {
                truncated = true;
                if (!countAll)
                {
                    break;
                }

                continue;
            }

            var row = new JsonElement[reader.FieldCount];
            for (var i = 0; i < row.Length; i++)
            {
                row[i] = JsonSerializer.SerializeToElement(reader.IsDBNull(i) ? null : ToJsonValue(reader, i), QueryWorker.Json);
            }

            rows.Add(row);
        }

        return (new ResultSet(columns, rows, truncated), total);
    }

    // Whole rows (composite values, e.g. t1 of xmatch) Npgsql cannot read even as text: a 400 saying what to select, not a 500.
    private static string TextOf(NpgsqlDataReader reader, int i)
    {
        try
        {
            return reader.GetFieldValue<string>(i);
        }
        catch (InvalidCastException)
        {
            var name = reader.GetName(i);
            throw PlatformException.Invalid($"The column '{name}' holds values the platform cannot return as they are, such as whole rows (t1 and t2 of xmatch): " +
                $"select their fields instead (x.{name}.id, or x.{name}.* for all of them), or their text ({name}::text).", "query");
        }
    }

    // Values JSON carries as they are; the rest as text a person can read (as the DuckDB worker does).
    private static object? ToJsonValue(NpgsqlDataReader reader, int i)
    {
        object value;
        try
        {
            value = reader.GetValue(i);
        }
        catch (Exception e) when (e is InvalidCastException or OverflowException or NotSupportedException)
        {
            // numeric beyond decimal's range, NaN numerics, types Npgsql does not map: their text.
            return TextOf(reader, i);
        }

        return value switch
        {
            double d => double.IsFinite(d) ? d : null,
            float f => float.IsFinite(f) ? f : null,
            int or long or short or byte or bool or string or decimal => value,
            DateTime d => d.ToString("O", CultureInfo.InvariantCulture),
            DateTimeOffset d => d.ToString("O", CultureInfo.InvariantCulture),
            DateOnly d => d.ToString("O", CultureInfo.InvariantCulture),
            byte[] bytes => Convert.ToBase64String(bytes),
            Array array => JsonSerializer.Serialize(array, QueryWorker.Json),
            _ => Convert.ToString(value, CultureInfo.InvariantCulture),
        };
    }

    /// <summary>The watchdog: cancel the backend (pg_cancel_backend, as NpgsqlCommand.Cancel would); if it is still busy after the grace, terminate it.</summary>
    private async Task StopBackendAsync(PostgresLocation location, int pid, Task finished, TimeSpan grace)
    {
        try
        {
            await using var admin = await Admin(location.Server, location.Database).OpenConnectionAsync();
            await ScalarAsync(admin, "SELECT pg_catalog.pg_cancel_backend($1)", CancellationToken.None, pid);
            if (await Task.WhenAny(finished, Task.Delay(grace)) != finished)
            {
                await ScalarAsync(admin, "SELECT pg_catalog.pg_terminate_backend($1)", CancellationToken.None, pid);
                LogTerminated(logger, pid, location.ToString());
            }
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
        {
            LogWatchdogFailed(logger, pid, e);
        }
    }

    private static async Task<string?> MarkedTableAsync(NpgsqlConnection conn, string schema, long jobId)
    {
        await using var command = new NpgsqlCommand(
            "SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace " +
            "WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND pg_catalog.obj_description(c.oid, 'pg_class') = $2", conn);
        command.Parameters.Add(new NpgsqlParameter { Value = schema });
        command.Parameters.Add(new NpgsqlParameter { Value = JobMark(jobId) });
        return await command.ExecuteScalarAsync() as string;
    }

    private static async Task<LongQueryResult?> MarkedResultAsync(NpgsqlConnection conn, string schema, long jobId)
    {
        var table = await MarkedTableAsync(conn, schema, jobId);
        if (table is null)
        {
            return null;
        }

        var rows = (long)(await ScalarAsync(conn, $"SELECT count(*) FROM {Sql.Identifier(schema)}.{Sql.Identifier(table)}", CancellationToken.None))!;
        return new LongQueryResult(table, rows);
    }

    private static async Task<List<string>> TablesOfAsync(NpgsqlConnection conn, string schema)
    {
        await using var command = new NpgsqlCommand(
            "SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')", conn);
        command.Parameters.Add(new NpgsqlParameter { Value = schema });
        var result = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            result.Add(reader.GetString(0));
        }

        return result;
    }

    /// <summary>
    /// The tables of a schema with row counts (the planner's estimate), columns and sizes; a catalog's views too.
    /// For a user's MyDB schema (<paramref name="owner"/> set) only tables are listed, and tables never analysed yet
    /// are counted on the owner's own connection: the admin connection never reads a user's objects, since a
    /// user's view, policy or function would then run with the admin's rights.
    /// </summary>
    public async Task<IReadOnlyList<TableInfo>> TablesAsync(PostgresLocation location, string schema, DateTimeOffset? createdAt, Caller? owner, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(location);
        var tables = new List<(string Name, long Rows, long Columns, long Size)>();
        await using (var admin = await Admin(location.Server, location.Database).OpenConnectionAsync(ct))
        await using (var command = new NpgsqlCommand(
            "SELECT c.relname, c.reltuples::bigint, (SELECT count(*) FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), " +
            "pg_catalog.pg_total_relation_size(c.oid) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace " +
            $"WHERE n.nspname = $1 AND c.relkind IN ({(owner is null ? "'r', 'p', 'v', 'm'" : "'r', 'p'")}) ORDER BY c.relname", admin))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = schema });
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                tables.Add((reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3)));
            }
        }

        var unknown = tables.Where(t => t.Rows < 0).Select(t => t.Name).ToList();
        var counted = new Dictionary<string, long>(StringComparer.Ordinal);
        if (unknown.Count > 0 && owner is not null)
        {
            await using var conn = await UserSource(location.Server, location.Database, RoleOf(owner)).OpenConnectionAsync(ct);
            await ExecuteAsync(conn, $"SET statement_timeout = {(long)options.Value.QuickQueryTimeout.TotalMilliseconds}", ct);
            foreach (var name in unknown)
            {
                counted[name] = (long)(await ScalarAsync(conn, $"SELECT count(*) FROM {Sql.Identifier(schema)}.{Sql.Identifier(name)}", ct))!;
            }
        }

        return tables.Select(t => new TableInfo(t.Name, t.Rows >= 0 ? t.Rows : counted.GetValueOrDefault(t.Name), t.Columns, "", t.Size, createdAt)).ToList();
    }

    /// <summary>A table's columns (name and type in the words of the DuckDB engine's schema); empty if there is no such table.</summary>
    public async Task<IReadOnlyList<(string Name, string Type)>> ColumnsAsync(PostgresLocation location, string schema, string table, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(location);
        await using var admin = await Admin(location.Server, location.Database).OpenConnectionAsync(ct);
        await using var command = new NpgsqlCommand(
            "SELECT c.relname, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod) FROM pg_catalog.pg_attribute a " +
            "JOIN pg_catalog.pg_class c ON c.oid = a.attrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace " +
            "WHERE n.nspname = $1 AND lower(c.relname) = lower($2) AND c.relkind IN ('r', 'p', 'v', 'm') AND a.attnum > 0 AND NOT a.attisdropped ORDER BY c.relname = $2 DESC, c.relname, a.attnum", admin);
        command.Parameters.Add(new NpgsqlParameter { Value = schema });
        command.Parameters.Add(new NpgsqlParameter { Value = table });
        var result = new List<(string, string)>();
        string? first = null;
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            first ??= reader.GetString(0);
            if (reader.GetString(0) == first)
            {
                result.Add((reader.GetString(1), PostgresText.SchemaType(reader.GetString(2))));
            }
        }

        return result;
    }

    /// <summary>A catalog schema's tables and columns (for registration and the admin page); a 400 saying why when it cannot be read.</summary>
    public async Task<Schema> ReadSchemaAsync(PostgresLocation location, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(location);
        try
        {
            await using var admin = await Admin(location.Server, location.Database).OpenConnectionAsync(ct);
            if (await ScalarAsync(admin, "SELECT count(*) FROM pg_catalog.pg_namespace WHERE nspname = $1", ct, location.Schema) is not long n || n == 0)
            {
                throw PlatformException.Invalid($"There is no schema '{location.Schema}' in the database '{location.Database}' on '{location.Server}'.", "schema");
            }

            var tables = await TablesAsync(location, location.Schema, null, null, ct);
            var columns = new List<SchemaColumn>();
            foreach (var table in tables)
            {
                columns.AddRange((await ColumnsAsync(location, location.Schema, table.Name, ct)).Select(c => new SchemaColumn(table.Name, c.Name, c.Type)));
            }

            return new Schema(tables, columns);
        }
        catch (NpgsqlException e) when (e is not PostgresException || ((PostgresException)e).SqlState is PostgresErrorCodes.InvalidCatalogName or PostgresErrorCodes.InvalidPassword or PostgresErrorCodes.InvalidAuthorizationSpecification)
        {
            throw PlatformException.Invalid($"The database '{location.Database}' on the PostgreSQL server '{location.Server}' could not be opened: {(e is PostgresException p ? p.MessageText : e.Message)}", "database");
        }
    }

    public async Task<bool> SchemaExistsAsync(PostgresLocation location, string schema, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(location);
        await using var admin = await Admin(location.Server, location.Database).OpenConnectionAsync(ct);
        return await ScalarAsync(admin, "SELECT count(*) FROM pg_catalog.pg_namespace WHERE nspname = $1", ct, schema) is long n && n > 0;
    }

    internal static async Task ExecuteAsync(NpgsqlConnection conn, string sql, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(sql, conn) { CommandTimeout = 0 };
        await command.ExecuteNonQueryAsync(ct);
    }

    internal static async Task<object?> ScalarAsync(NpgsqlConnection conn, string sql, CancellationToken ct, params object[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, conn) { CommandTimeout = 0 };
        foreach (var p in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = p });
        }

        var value = await command.ExecuteScalarAsync(ct);
        return value is DBNull ? null : value;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var source in _sources.Values)
        {
            await source.DisposeAsync();
        }

        _sources.Clear();
    }

    [LoggerMessage(1340, LogLevel.Warning, "PostgreSQL backend {Pid} on {Location} did not stop when canceled; terminated it")]
    private static partial void LogTerminated(ILogger logger, int pid, string location);

    [LoggerMessage(1341, LogLevel.Error, "The watchdog could not stop PostgreSQL backend {Pid}")]
    private static partial void LogWatchdogFailed(ILogger logger, int pid, Exception exception);
}
