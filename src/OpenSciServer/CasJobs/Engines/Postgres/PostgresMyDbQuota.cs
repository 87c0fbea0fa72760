using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Npgsql;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.CasJobs.Engines.Postgres;

/// <summary>What a user's MyDB schema in one database holds (see <see cref="PostgresEngine.MyDbUsageAsync"/>).</summary>
public sealed record PostgresMyDbUsage(long UsedBytes, long QuotaBytes);

/// <summary>
/// The MyDB quota of the PostgreSQL engine (decision 0016). Every query of a logged-in user runs in one
/// transaction that the platform opens and commits: its SQL is sent statement by statement as single-statement
/// protocol messages (PostgreSQL itself refuses a message that holds two), statements that end or open a transaction
/// are refused before anything runs, and before the platform's COMMIT the schema is measured on the user's own
/// connection (so uncommitted tables count). A query that grew the schema past the quota is rolled back: nothing it
/// wrote stays. A query that does not grow it (reads, DROP, DELETE) always commits, so a user over quota can still
/// read and clean up.
/// </summary>
public sealed partial class PostgresEngine
{
    /// <summary>The platform's function measuring a MyDB schema (in the sky schema every role may use, not writable by users).</summary>
    private const string UsageFunction = SkySchema + ".mydb_usage";

    /// <summary>The prefix of the application_name of connections that run user SQL; then the platform's id and this process's.</summary>
    public const string QueryApplication = "opensciserver-query";

    private readonly string _processTag = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));

    /// <summary>Which platform (data directory) this process serves, once <see cref="Identify"/> was told; blank before.</summary>
    public string PlatformTag { get; private set; } = "";

    /// <summary>The application_name of this process's user connections: what the sweep at the next start looks for.</summary>
    public string QueryApplicationName => PlatformTag.Length == 0 ? QueryApplication : $"{QueryApplication} {PlatformTag} {_processTag}";

    /// <summary>Called once at start (before any query) with the platform's stable id.</summary>
    internal void Identify(string platformTag) => PlatformTag = platformTag;

    /// <summary>The quota of each MyDB schema (the DuckDB MyDB's, CasJobs:MyDbQuota, per database).</summary>
    public long MyDbQuotaBytes => CasJobsOptions.ParseSize(options.Value.MyDbQuota);

    /// <summary>
    /// Defines the measuring function (pinned to pg_catalog, so a user's own functions or operators cannot stand in
    /// for the ones it calls) and closes large objects to users: their bytes live outside any schema.
    /// </summary>
    private static async Task PrepareQuotaAsync(NpgsqlConnection admin)
    {
        await ExecuteAsync(admin, $$"""
            CREATE OR REPLACE FUNCTION {{UsageFunction}}(schema_name text, OUT bytes bigint, OUT deferred_triggers bigint)
            LANGUAGE sql STABLE SECURITY INVOKER
            SET search_path = pg_catalog SET enable_seqscan = on SET enable_indexscan = on SET enable_bitmapscan = on
            SET enable_hashjoin = on SET enable_nestloop = on SET enable_mergejoin = on SET jit = off
            AS $oss$
              WITH ns AS (SELECT n.oid FROM pg_namespace n WHERE n.nspname = schema_name),
              rels AS (SELECT c.oid, c.relkind FROM pg_class c JOIN ns ON c.relnamespace = ns.oid),
              procs AS (SELECT p.oid, pg_column_size(p.*) AS size FROM pg_proc p JOIN ns ON p.pronamespace = ns.oid),
              objects AS (
                SELECT oid FROM ns UNION ALL SELECT oid FROM rels UNION ALL SELECT oid FROM procs
                UNION ALL SELECT t.oid FROM pg_type t JOIN ns ON t.typnamespace = ns.oid
                UNION ALL SELECT k.oid FROM pg_constraint k JOIN ns ON k.connamespace = ns.oid)
              SELECT
                (SELECT coalesce(sum(pg_total_relation_size(r.oid)), 0) FROM rels r WHERE r.relkind IN ('r', 'm', 'S'))::bigint
                + (SELECT coalesce(sum(p.size), 0) FROM procs p)::bigint
                + (SELECT coalesce(sum(pg_column_size(w.ev_action)), 0) FROM pg_rewrite w JOIN rels r ON r.oid = w.ev_class)::bigint
                + (SELECT coalesce(sum(pg_column_size(d.description)), 0) FROM pg_description d JOIN (SELECT DISTINCT oid FROM objects) o ON o.oid = d.objoid)::bigint,
                (SELECT count(*) FROM pg_trigger t JOIN rels r ON r.oid = t.tgrelid WHERE t.tgdeferrable AND NOT t.tgisinternal)
              FROM ns
            $oss$;
            REVOKE ALL ON FUNCTION {{UsageFunction}}(text) FROM PUBLIC;
            GRANT EXECUTE ON FUNCTION {{UsageFunction}}(text) TO PUBLIC;
            REVOKE EXECUTE ON FUNCTION pg_catalog.lo_creat(integer), pg_catalog.lo_create(oid), pg_catalog.lo_from_bytea(oid, bytea) FROM PUBLIC;
            """, CancellationToken.None);
    }

    /// <summary>What the caller's MyDB schema holds in a database, as committed (read on the admin connection from pg_catalog only).</summary>
    public async Task<PostgresMyDbUsage> MyDbUsageAsync(PostgresLocation location, string schema, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(location);
        await PrepareDatabaseAsync(location, ct);
        await using var admin = await Admin(location.Server, location.Database).OpenConnectionAsync(ct);
        var used = await ScalarAsync(admin, $"SELECT bytes FROM {UsageFunction}($1)", ct, schema) as long? ?? 0;
        return new PostgresMyDbUsage(used, MyDbQuotaBytes);
    }

    /// <summary>A user's query in progress in the platform's transaction: the schema measured when it began.</summary>
    private sealed record QuotaGuard(PostgresLocation Location, string Schema, long Quota, long Before);

    /// <summary>Opens the platform's transaction (READ COMMITTED: a user's session default cannot pin an older snapshot) and measures the schema.</summary>
    private async Task<QuotaGuard> BeginGuardedAsync(NpgsqlConnection conn, PostgresLocation location, string schema)
    {
        await using var batch = new NpgsqlBatch(conn)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand("BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE"),
                new NpgsqlBatchCommand($"SELECT bytes FROM {UsageFunction}($1)") { Parameters = { new NpgsqlParameter { Value = schema } } },
            },
        };
        var before = await batch.ExecuteScalarAsync(CancellationToken.None) as long? ?? 0;
        return new QuotaGuard(location, schema, MyDbQuotaBytes, before);
    }

    /// <summary>After each statement: past the quota (and grown), roll back and say so, before the next statement can add more.</summary>
    private static async Task CheckQuotaAsync(NpgsqlConnection conn, QuotaGuard guard)
    {
        var now = await ScalarAsync(conn, $"SELECT bytes FROM {UsageFunction}($1)", CancellationToken.None, guard.Schema) as long? ?? 0;
        await RefuseIfOverAsync(conn, guard, now);
    }

    /// <summary>
    /// The platform's COMMIT, after the last measurement. Cursors are closed first (a WITH HOLD cursor would run its
    /// query, and any function in it, at COMMIT, after the measurement); a deferrable trigger of the user's would
    /// likewise run after it, so a schema with one is refused. One user's commits in a database are serialised
    /// (an advisory lock), so two queries at once cannot each fit and together pass the quota.
    /// </summary>
    private static async Task CommitGuardedAsync(NpgsqlConnection conn, QuotaGuard guard)
    {
        long bytes;
        long deferred;
        await using (var batch = new NpgsqlBatch(conn)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand("CLOSE ALL"),
                new NpgsqlBatchCommand("SELECT pg_catalog.pg_advisory_xact_lock($1)") { Parameters = { new NpgsqlParameter { Value = LockKey(guard.Schema) } } },
                new NpgsqlBatchCommand($"SELECT bytes, deferred_triggers FROM {UsageFunction}($1)") { Parameters = { new NpgsqlParameter { Value = guard.Schema } } },
            },
        })
        await using (var reader = await batch.ExecuteReaderAsync(CancellationToken.None))
        {
            while (reader.FieldCount != 2 && await reader.NextResultAsync(CancellationToken.None))
            {
            }

            await reader.ReadAsync(CancellationToken.None);
            bytes = reader.IsDBNull(0) ? 0 : reader.GetInt64(0);
            deferred = reader.IsDBNull(1) ? 0 : reader.GetInt64(1);
        }

        if (deferred > 0)
        {
            await ExecuteAsync(conn, "ROLLBACK", CancellationToken.None);
            throw PlatformException.Invalid(
                $"Your MyDB in database {guard.Location.Database} has a deferrable trigger (CREATE CONSTRAINT TRIGGER ... DEFERRABLE): it would run after the platform " +
                "checks your MyDB's size, so queries there are not kept while it exists. The query was rolled back. Drop the trigger, or create it NOT DEFERRABLE.", "query");
        }

        await RefuseIfOverAsync(conn, guard, bytes);
        await ExecuteAsync(conn, "COMMIT", CancellationToken.None);
    }

    /// <summary>COMMIT: through the quota check when the query runs in the platform's guarded transaction.</summary>
    private static Task CommitAsync(NpgsqlConnection conn, QuotaGuard? guard) =>
        guard is null ? ExecuteAsync(conn, "COMMIT", CancellationToken.None) : CommitGuardedAsync(conn, guard);

    private static async Task RefuseIfOverAsync(NpgsqlConnection conn, QuotaGuard guard, long now)
    {
        if (now > guard.Quota && now > guard.Before)
        {
            await ExecuteAsync(conn, "ROLLBACK", CancellationToken.None);
            throw new PlatformException(ProblemKind.TooLarge, OverQuotaMessage(guard.Location, now, guard.Quota));
        }
    }

    /// <summary>The 413 a query gets when it would leave the schema over its quota.</summary>
    public static string OverQuotaMessage(PostgresLocation location, long bytes, long quota)
    {
        ArgumentNullException.ThrowIfNull(location);
        return $"Your MyDB in database {location.Database} (server {location.Server}) would hold {Files.QuotaService.Bytes(bytes)}, over your quota of " +
            $"{Files.QuotaService.Bytes(quota)}, so the query was stopped and nothing it wrote was kept. Drop tables you no longer need there " +
            $"(DROP TABLE mydb.name, or on the CasJobs page's MyDB tab: DELETE /api/casjobs/mydb/postgres/{location.Server}/{location.Database}/tables/name); " +
            "reading and dropping work over the quota.";
    }

    private static long LockKey(string schema) =>
        BitConverter.ToInt64(SHA256.HashData(Encoding.UTF8.GetBytes("oss-mydb-quota:" + schema)), 0);

    /// <summary>
    /// Runs one statement of the user's in the platform's transaction: each of its parts is sent as a single-statement
    /// message (a part that holds two is refused by PostgreSQL), a quick query's SELECT through a cursor, and the
    /// schema is measured after each part.
    /// </summary>
    private static async Task<long> RunGuardedStatementAsync(NpgsqlConnection conn, QuotaGuard guard, PostgresStatement statement, string sql, long maxRows,
        bool countAll, List<ResultSet> sets, List<long> affected)
    {
        if (statement.IsSelect && !countAll)
        {
            await using (var declare = new NpgsqlBatch(conn) { BatchCommands = { new NpgsqlBatchCommand(CursorPrefix + sql) } })
            {
                await declare.ExecuteNonQueryAsync(CancellationToken.None);
            }

            long total;
            await using (var fetch = new NpgsqlCommand(string.Create(CultureInfo.InvariantCulture, $"FETCH FORWARD {maxRows + 1} FROM oss_result"), conn) { CommandTimeout = 0 })
            await using (var reader = await fetch.ExecuteReaderAsync(CancellationToken.None))
            {
                (var set, total) = await ReadSetAsync(reader, maxRows, countAll: false);
                sets.Add(set);
            }

            await ExecuteAsync(conn, "CLOSE oss_result", CancellationToken.None);
            await CheckQuotaAsync(conn, guard);
            return total;
        }

        long last = 0;
        foreach (var part in PostgresStatements.Split(sql))
        {
            await using (var batch = new NpgsqlBatch(conn) { BatchCommands = { new NpgsqlBatchCommand(part) } })
            await using (var reader = await batch.ExecuteReaderAsync(CancellationToken.None))
            {
                if (reader.FieldCount == 0)
                {
                    last = Math.Max(0, reader.RecordsAffected);
                    affected.Add(last);
                }
                else
                {
                    (var set, last) = await ReadSetAsync(reader, maxRows, countAll);
                    sets.Add(set);
                }
            }

            await CheckQuotaAsync(conn, guard);
        }

        return last;
    }
}
