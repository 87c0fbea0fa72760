using Microsoft.EntityFrameworkCore;
using OpenSciServer.Accounts;
using OpenSciServer.Authorization;
using OpenSciServer.CasJobs.Contexts;
using OpenSciServer.CasJobs.TSql;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.CasJobs.Engines.Postgres;

/// <summary>A user's MyDB schema in one PostgreSQL database, with the contexts that query it and its tables.</summary>
public sealed record PostgresMyDb(string Server, string Database, string Schema, IReadOnlyList<string> Contexts, IReadOnlyList<TableInfo> Tables);

/// <summary>
/// The CasJobs operations (quick query, long query, tables, columns, MyDB listing, registration) for contexts
/// that live in PostgreSQL: the authorization service's decisions turned into the user's role's grants, T-SQL
/// translated for PostgreSQL, then <see cref="PostgresEngine"/>.
/// </summary>
public sealed class PostgresCatalogs(PlatformDbContext db, AccessService access, PostgresEngine engine)
{
    /// <summary>The <c>engine</c> an admin gives to register a PostgreSQL context.</summary>
    public const string EngineName = "postgres";

    public static bool IsPostgres(CatalogContext? context) => PostgresLocation.IsPostgres(context?.Path);

    public static PostgresLocation LocationOf(CatalogContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return PostgresLocation.TryParse(context.Path) ?? throw new InvalidOperationException($"Context {context.Name} has no valid PostgreSQL location: {context.Path}");
    }

    /// <summary>
    /// The statements of a query for PostgreSQL: T-SQL translated (TOP, INTO, [names]); other SQL passed on as it is; in both,
    /// the crossmatch table functions rewritten onto q3c (<see cref="PostgresSkyRewriter"/>).
    /// </summary>
    public static IReadOnlyList<PostgresStatement> Translate(string sql)
    {
        var translation = TSqlTranslator.Translate(sql, SqlDialect.Postgres);
        // An EXPLAIN is run as it is (PostgreSQL reads no EXPLAIN through a cursor); its plan still comes back as rows.
        // SQL that is not T-SQL (PostgreSQL's own, or with the sky functions in WHERE) counts as a SELECT when it is one plain read.
        return translation.Statements.Select(s =>
        {
            var rewritten = PostgresSkyRewriter.Rewrite(s.Sql);
            var isSelect = !s.Explain && (translation.ParsedAsTSql ? s.ReturnsRows : PostgresStatements.IsPlainRead(rewritten));
            return new PostgresStatement(rewritten, isSelect, s.Line, s.IntoTable);
        }).ToList();
    }

    public async Task<QueryOutcome> QuickAsync(Caller caller, CatalogContext context, string sql, long maxRows, TimeSpan timeout, CancellationToken ct)
    {
        var location = LocationOf(context);
        var statements = Translate(sql);
        await PrepareCallerAsync(caller, location, ct);
        try
        {
            return await engine.RunAsync(location, caller, statements, maxRows, timeout, jobId: null, sql, ct);
        }
        catch (TimeoutException)
        {
            throw PlatformException.Invalid($"The query ran longer than its limit of {timeout.TotalSeconds:0} s and was stopped. Submit it as a long query, or narrow it.", "query");
        }
    }

    /// <summary>A long query: one transaction, its table in the user's MyDB schema of the context's database.</summary>
    public async Task<QueryOutcome> JobAsync(Caller caller, CatalogContext context, long jobId, string sql, long maxRows, TimeSpan timeout, CancellationToken ct)
    {
        var location = LocationOf(context);
        var statements = Translate(sql);
        await PrepareCallerAsync(caller, location, ct);
        return await engine.RunAsync(location, caller, statements, maxRows, timeout, jobId, sql, ct);
    }

    public async Task<IReadOnlyList<TableInfo>> TablesAsync(CatalogContext context, CancellationToken ct)
    {
        var location = LocationOf(context);
        var descriptions = (await db.Set<CatalogDescription>().AsNoTracking().Where(d => d.ContextId == context.Id && d.Column == "").ToListAsync(ct))
            .ToDictionary(d => d.Table, d => d.Description, StringComparer.OrdinalIgnoreCase);
        return (await engine.TablesAsync(location, location.Schema, context.CreatedAt, null, ct))
            .Select(t => t with { Description = descriptions.GetValueOrDefault(t.Name, "") }).ToList();
    }

    public async Task<IReadOnlyList<CatalogColumn>> ColumnsAsync(CatalogContext context, string table, CancellationToken ct)
    {
        var location = LocationOf(context);
        var columns = await engine.ColumnsAsync(location, location.Schema, table, ct);
        if (columns.Count == 0)
        {
            throw PlatformException.NotFound($"There is no table '{table}' in {context.Name}.");
        }

        var described = (await db.Set<CatalogDescription>().AsNoTracking().Where(d => d.ContextId == context.Id && d.Column != "").ToListAsync(ct))
            .Where(d => string.Equals(d.Table, table, StringComparison.OrdinalIgnoreCase))
            .ToDictionary(d => d.Column, StringComparer.OrdinalIgnoreCase);
        return columns.Select(c =>
        {
            var d = described.GetValueOrDefault(c.Name);
            return new CatalogColumn(c.Name, c.Type, d?.Description ?? "", d?.Unit ?? "");
        }).ToList();
    }

    /// <summary>
    /// The caller's MyDB schemas in the PostgreSQL databases of the contexts they may query (one per database:
    /// contexts in the same database share it), with their tables. Databases where the caller has not run a
    /// query yet have no schema and are not listed.
    /// </summary>
    public async Task<IReadOnlyList<PostgresMyDb>> MyDbsAsync(Caller caller, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var schema = PostgresEngine.MyDbSchemaOf(caller) ?? throw new PlatformException(ProblemKind.Unauthorized, "Log in to use MyDB, your own database.");
        var result = new List<PostgresMyDb>();
        var contexts = new List<(CatalogContext Context, PostgresLocation Location)>();
        foreach (var context in await db.Set<CatalogContext>().AsNoTracking().OrderBy(c => c.Name).ToListAsync(ct))
        {
            if (PostgresLocation.TryParse(context.Path) is { } location
                && await access.CanAsync(caller, ResourceTypes.DatabaseContext, context.Name, ResourceActions.Query, ct))
            {
                contexts.Add((context, location));
            }
        }

        foreach (var group in contexts.GroupBy(c => (c.Location.Server, c.Location.Database)))
        {
            var location = group.First().Location;
            var tables = await engine.TablesAsync(location, schema, null, caller, ct);
            if (tables.Count > 0 || await engine.SchemaExistsAsync(location, schema, ct))
            {
                result.Add(new PostgresMyDb(location.Server, location.Database, schema, group.Select(c => c.Context.Name).ToList(), tables));
            }
        }

        return result;
    }

    /// <summary>Checks an admin's PostgreSQL context (server configured, database and schema exist) and returns its location.</summary>
    public async Task<PostgresLocation> LocateAsync(string? server, string? database, string? schema, CancellationToken ct)
    {
        foreach (var (value, field) in new[] { (server, "server"), (database, "database"), (schema, "schema") })
        {
            if (!PostgresLocation.IsValidName(value?.Trim()))
            {
                throw PlatformException.Invalid($"Give the PostgreSQL {field} as a plain name: lower-case letters, digits and '_', starting with a letter or '_', at most 63.", field);
            }
        }

        engine.Server(server!.Trim());
        var location = new PostgresLocation(server.Trim(), database!.Trim(), schema!.Trim());
        if (location.Schema is "public" or "pg_catalog" or "information_schema" || location.Schema.StartsWith("mydb_", StringComparison.Ordinal) || location.Schema.StartsWith(PostgresEngine.SkySchema, StringComparison.Ordinal))
        {
            throw PlatformException.Invalid($"'{location.Schema}' cannot be a catalog: give the schema that holds the catalog's tables (not public, pg_catalog, a MyDB or the platform's own).", "schema");
        }

        await engine.ReadSchemaAsync(location, ct);
        try
        {
            await engine.PrepareContextAsync(location, ct);
        }
        catch (Npgsql.PostgresException e)
        {
            throw PlatformException.Invalid($"The database '{location.Database}' on '{location.Server}' could not be prepared for users (revoking CREATE on public and TEMPORARY, the schema {PostgresEngine.SkySchema}): {e.MessageText}. The platform's connection needs to own the database or be a superuser.", "database");
        }

        return location;
    }

    /// <summary>Grants the caller's role exactly the catalog schemas of this database it may query now (and creates the role and its MyDB).</summary>
    private async Task PrepareCallerAsync(Caller caller, PostgresLocation location, CancellationToken ct)
    {
        var allowed = new HashSet<string>(StringComparer.Ordinal);
        var all = new HashSet<string>(StringComparer.Ordinal);
        foreach (var context in await db.Set<CatalogContext>().AsNoTracking().ToListAsync(ct))
        {
            if (PostgresLocation.TryParse(context.Path) is { } other && other.Server == location.Server && other.Database == location.Database)
            {
                all.Add(other.Schema);
                if (await access.CanAsync(caller, ResourceTypes.DatabaseContext, context.Name, ResourceActions.Query, ct))
                {
                    allowed.Add(other.Schema);
                }
            }
        }

        await engine.EnsureUserAsync(location, caller, allowed, all, ct);
    }
}
