using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using OpenSciServer.Accounts;
using OpenSciServer.Authorization;
using OpenSciServer.CasJobs.Engines;
using OpenSciServer.CasJobs.TSql;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.CasJobs;

/// <summary>A context: <c>TimeoutSeconds</c> is its quick-query limit, <c>IsPublic</c> whether it can be queried without login.</summary>
public sealed record ContextInfo(string Name, string Description, Guid ResourceId, int TimeoutSeconds = 0, bool IsPublic = false);

/// <param name="SizeBytes">Storage the table takes (catalog tables: distinct blocks of the file; MyDB: see MyDbService).</param>
/// <param name="CreatedAt">Catalog tables: when the context was registered.</param>
public sealed record TableInfo(string Name, long Rows, long Columns, string Description = "", long? SizeBytes = null, DateTimeOffset? CreatedAt = null);

/// <summary>Quick (synchronous) queries on a catalog context or on the caller's MyDB, run by a sandboxed worker.</summary>
public sealed class QueryService(
    PlatformDbContext db,
    AccessService access,
    QueryRunner runner,
    IOptions<CasJobsOptions> options,
    TimeProvider time,
    MyDb.MyDbAccess myDbs,
    Engines.Postgres.PostgresCatalogs postgres,
    Sky.SkyIndexes skyIndexes,
    Contexts.CatalogImports imports)
{
    /// <summary>The name of the caller's own database as a context, as in SciServer CasJobs.</summary>
    public const string MyDbContext = "MyDB";

    /// <summary>Longest SQL text accepted.</summary>
    public const int MaxSqlLength = 1_000_000;

    /// <summary>Contexts the caller may query, MyDB first.</summary>
    public async Task<IReadOnlyList<ContextInfo>> ContextsAsync(Caller caller, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var result = new List<ContextInfo>();
        if (!caller.IsAnonymous)
        {
            result.Add(new(MyDbContext, "Your own database: full DDL, results of long queries, your uploads.", Guid.Empty, Seconds(QuickQueryTimeout(null))));
        }

        foreach (var context in await db.Set<CatalogContext>().AsNoTracking().OrderBy(c => c.Name).ToListAsync(ct))
        {
            var resource = await access.FindAsync(ResourceTypes.DatabaseContext, context.Name, ct);
            if (resource is not null && (await access.ActionsAsync(caller, resource, ct)).HasFlag(ResourceActions.Query))
            {
                var isPublic = (await access.ActionsAsync(Caller.Anonymous, resource, ct)).HasFlag(ResourceActions.Query);
                result.Add(new ContextInfo(context.Name, context.Description, resource.Id, Seconds(QuickQueryTimeout(context)), isPublic));
            }
        }

        return result;
    }

    /// <summary>A context's quick-query time limit: its own, else the platform's (CasJobs:QuickQueryTimeout).</summary>
    public TimeSpan QuickQueryTimeout(CatalogContext? context) =>
        context?.QuickQueryTimeoutSeconds is int seconds ? TimeSpan.FromSeconds(seconds) : options.Value.QuickQueryTimeout;

    private static int Seconds(TimeSpan span) => (int)Math.Ceiling(span.TotalSeconds);

    /// <summary>Runs a quick query: translated from T-SQL where needed, in a worker, within the time and row limits.</summary>
    public async Task<QueryOutcome> QuickAsync(Caller caller, string? contextName, string? sql, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        if (string.IsNullOrWhiteSpace(sql))
        {
            throw PlatformException.Invalid("The query is empty.", "query");
        }

        if (sql.Length > MaxSqlLength)
        {
            throw PlatformException.Invalid($"The query is {sql.Length:N0} characters long; at most {MaxSqlLength:N0} are accepted. Upload data into MyDB instead of inlining it.", "query");
        }

        var context = await FindQueryableAsync(caller, contextName, ct);
        // A PostgreSQL catalog maps the sky functions onto q3c itself: here its arguments are only checked.
        var sky = Engines.Postgres.PostgresCatalogs.IsPostgres(context) ? null : await skyIndexes.ForAsync(context?.Path, ct);
        var translated = TSqlTranslator.Translate(sql, sky).Statements;
        if (caller.IsAnonymous && translated.Any(s => s.IntoTable is not null || !s.ReturnsRows))
        {
            throw PlatformException.Invalid("Without logging in you can only read (SELECT). Log in to keep results in your own database, MyDB (SELECT ... INTO, CREATE TABLE).", "query");
        }

        var statements = translated.Select(s => new WorkerStatement(s.Sql, s.ReturnsRows, s.Line)).ToList();
        var o = options.Value;
        if (Engines.Postgres.PostgresCatalogs.IsPostgres(context))
        {
            // A catalog in PostgreSQL (server mode): the user's own role there, MyDB as a schema beside the catalog.
            return await postgres.QuickAsync(caller, context!, sql, caller.IsAnonymous ? Math.Min(o.AnonymousMaxRows, o.QuickQueryMaxRows) : o.QuickQueryMaxRows, QuickQueryTimeout(context), ct);
        }

        if (caller.IsAnonymous)
        {
            var anonymous = new WorkerRequest(DuckDbSandbox.InMemory, context?.Path, o.MemoryLimit, o.Threads, Math.Min(o.AnonymousMaxRows, o.QuickQueryMaxRows), statements);
            try
            {
                return await runner.RunAsync(anonymous, QuickQueryTimeout(context), ct);
            }
            catch (PlatformException e) when (e.Message.Contains(DuckDbSandbox.MyDbCatalog, StringComparison.OrdinalIgnoreCase))
            {
                throw PlatformException.Invalid(e.Message + " Without logging in there is no MyDB: log in to use it.", "query");
            }
        }

        var request = new WorkerRequest(MyDbPath(caller), context?.Path, o.MemoryLimit, o.Threads, o.QuickQueryMaxRows, statements,
            MyDb: await myDbs.ForQueryAsync(caller, sql, ct));
        return await myDbs.RunAsync(caller, request, QuickQueryTimeout(context), ct);
    }

    /// <summary>The tables of a context (or of the caller's MyDB) with their row counts, read by a worker like any query.</summary>
    public async Task<IReadOnlyList<TableInfo>> TablesAsync(Caller caller, string? contextName, CancellationToken ct, bool withSizes = false)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var context = await FindQueryableAsync(caller, contextName, ct);
        if (Engines.Postgres.PostgresCatalogs.IsPostgres(context))
        {
            return await postgres.TablesAsync(context!, ct);
        }

        var catalog = context is null ? DuckDbSandbox.MyDbCatalog : DuckDbSandbox.ContextAlias;
        var o = options.Value;
        var sql = $"SELECT table_name, estimated_size, column_count FROM duckdb_tables() WHERE database_name = '{catalog}' ORDER BY table_name";
        // A catalog's tables need no MyDB: an in-memory main database, so a busy MyDB does not matter.
        var main = context is null ? MainDatabasePath(caller) : DuckDbSandbox.InMemory;
        var outcome = await runner.RunAsync(new WorkerRequest(main, context?.Path, o.MemoryLimit, o.Threads, 100_000, [new WorkerStatement(sql, true)]), o.QuickQueryTimeout, ct);
        var descriptions = context is null ? new Dictionary<string, string>()
            : (await db.Set<CatalogDescription>().AsNoTracking().Where(d => d.ContextId == context.Id && d.Column == "").ToListAsync(ct))
                .ToDictionary(d => d.Table, d => d.Description, StringComparer.OrdinalIgnoreCase);
        var tables = outcome.ResultSets[0].Rows.Select(r => new TableInfo(r[0].GetString()!, r[1].GetInt64(), r[2].GetInt64(), descriptions.GetValueOrDefault(r[0].GetString()!, ""))).ToList();
        if (context is null || tables.Count == 0 || !withSizes)
        {
            return tables;
        }

        // Sizes: the distinct storage blocks of each table (a second, small request to the same warm worker).
        var sizes = tables.Take(MaxSizedTables).Select(t =>
            new WorkerStatement($"SELECT count(DISTINCT block_id) * (SELECT any_value(block_size) FROM pragma_database_size() WHERE database_name = '{DuckDbSandbox.ContextAlias}') " +
                $"FROM pragma_storage_info('{Sql.Literal(DuckDbSandbox.ContextAlias + ".main." + Sql.Identifier(t.Name))}') WHERE block_id >= 0", true)).ToList();
        var measured = await runner.RunAsync(new WorkerRequest(main, context.Path, o.MemoryLimit, o.Threads, 10, sizes), o.QuickQueryTimeout, ct);
        return tables.Select((t, i) => t with
        {
            SizeBytes = i < measured.ResultSets.Count && measured.ResultSets[i].Rows.Count > 0 && measured.ResultSets[i].Rows[0][0].ValueKind == System.Text.Json.JsonValueKind.Number
                ? measured.ResultSets[i].Rows[0][0].GetInt64() : null,
            CreatedAt = context.CreatedAt,
        }).ToList();
    }

    /// <summary>Catalogs with more tables than this list the rest without sizes.</summary>
    private const int MaxSizedTables = 200;

    /// <summary>Creates a MyDB table from a CSV with a header row (SciServer's table upload).</summary>
    public async Task<long> UploadCsvAsync(Caller caller, string? contextName, string? tableName, string csv, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        if (!string.Equals(contextName, MyDbContext, StringComparison.OrdinalIgnoreCase))
        {
            throw PlatformException.Invalid("Tables are uploaded into MyDB only; catalog contexts are read-only.", "context");
        }

        var table = CsvTable.CheckTableName(tableName);
        myDbs.EnsureRoom(caller, csv.Length);
        var data = CsvTable.Parse(csv);
        var rows = data.Rows.Select(r => r.Select(v => System.Text.Json.JsonSerializer.SerializeToElement(v)).ToArray()).ToList();
        var o = options.Value;
        var request = new WorkerRequest(MyDbPath(caller), null, o.MemoryLimit, o.Threads, 0, [],
            Upload: new WorkerUpload(table, data.Columns, data.Types, rows), MyDb: new WorkerMyDb(time.GetUtcNow()));
        await myDbs.RunAsync(caller, request, o.QuickQueryTimeout, ct);
        return rows.Count;
    }

    /// <summary>The caller's MyDB file (created on first use): &lt;data&gt;/mydb/&lt;user&gt;/mydb.duckdb.</summary>
    public string MyDbPath(Caller caller)
    {
        ArgumentNullException.ThrowIfNull(caller);
        if (caller.IsAnonymous || string.IsNullOrEmpty(caller.UserName))
        {
            throw new PlatformException(ProblemKind.Unauthorized, "Log in to use MyDB, your own database.");
        }

        return myDbs.MyDbPath(caller.UserName);
    }

    /// <summary>Registers a catalog context (admins), queryable by those it is shared with.</summary>
    public async Task<ContextInfo> RegisterContextAsync(string name, string path, string description, CancellationToken ct)
    {
        var context = await db.Set<CatalogContext>().FirstOrDefaultAsync(c => c.Name == name, ct);
        if (context is null)
        {
            context = new CatalogContext { Name = name, Path = path, Description = description, CreatedAt = time.GetUtcNow() };
            db.Add(context);
            await db.SaveChangesAsync(ct);
        }

        var resource = await access.RegisterAsync(ResourceTypes.DatabaseContext, name, name, ownerId: null, ct);
        return new ContextInfo(name, description, resource.Id);
    }

    /// <summary>The file of the context named, if the caller may query it; null for MyDB (see <see cref="FindQueryableAsync"/>).</summary>
    internal async Task<string?> ContextPathAsync(Caller caller, string? contextName, CancellationToken ct) =>
        (await FindQueryableAsync(caller, contextName, ct))?.Path;

    /// <summary>The main database a query runs on: the caller's MyDB, or for an anonymous caller a throw-away one in memory.</summary>
    public string MainDatabasePath(Caller caller)
    {
        ArgumentNullException.ThrowIfNull(caller);
        return caller.IsAnonymous ? DuckDbSandbox.InMemory : MyDbPath(caller);
    }

    /// <summary>
    /// The catalog named (case-insensitively) if the caller may query it; null for MyDB. Without login
    /// only contexts the group <c>public</c> may query are answered, anything else is a 401 (log in).
    /// </summary>
    public async Task<CatalogContext?> FindQueryableAsync(Caller caller, string? contextName, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var name = (contextName ?? "").Trim();
        if (string.Equals(name, MyDbContext, StringComparison.OrdinalIgnoreCase))
        {
            return caller.IsAnonymous ? throw new PlatformException(ProblemKind.Unauthorized, "Log in to use MyDB, your own database.") : null;
        }

        // Context names are case-insensitive (SciServer's routes are); there are few contexts.
        var context = (await db.Set<CatalogContext>().AsNoTracking().ToListAsync(ct)).FirstOrDefault(c => string.Equals(c.Name, name, StringComparison.OrdinalIgnoreCase));
        if (context is null && imports.InFlight(name) is { } importing && (caller.IsAdmin || imports.InFlightIsPublic(name)))
        {
            // Not registered until its import is Ready; admins (and everyone, for a context that will be public) are told why.
            throw PlatformException.Conflict(Contexts.CatalogImports.NotReadyMessage(importing, caller.IsAdmin), "context");
        }

        if (caller.IsAnonymous)
        {
            // Whether a context that is not public exists is not told to someone who has not logged in.
            return context is not null && await access.CanAsync(caller, ResourceTypes.DatabaseContext, context.Name, ResourceActions.Query, ct)
                ? context
                : throw new PlatformException(ProblemKind.Unauthorized, $"Log in to query '{name}': without login only public contexts can be queried.");
        }

        if (context is null)
        {
            throw PlatformException.NotFound($"There is no context '{name}' that you can query.");
        }

        await access.DemandAsync(caller, ResourceTypes.DatabaseContext, context.Name, ResourceActions.Query, $"There is no context '{name}' that you can query.", ct);
        return context;
    }

    /// <summary>A result set as CSV with a header row, RFC 4180 quoting.</summary>
    public static string ToCsv(ResultSet set)
    {
        ArgumentNullException.ThrowIfNull(set);
        var sb = new StringBuilder();
        sb.AppendJoin(',', set.Columns.Select(c => Csv(c.Name))).Append('\n');
        foreach (var row in set.Rows)
        {
            sb.AppendJoin(',', row.Select(v => v.ValueKind switch
            {
                System.Text.Json.JsonValueKind.Null => "",
                System.Text.Json.JsonValueKind.String => Csv(v.GetString()!),
                _ => Csv(v.GetRawText()), // a nested value (object, array) is its JSON text, quoted
            })).Append('\n');
        }

        return sb.ToString();
    }

    private static string Csv(string value) =>
        value.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
}
