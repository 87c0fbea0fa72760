using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using OpenSciServer.Accounts;
using OpenSciServer.Authorization;
using OpenSciServer.CasJobs.Engines;
using OpenSciServer.CasJobs.Engines.Postgres;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.CasJobs.MyDb;

/// <summary>A user's MyDB schema in one PostgreSQL database: where it is, the contexts that reach it, its size and quota, its tables.</summary>
public sealed record PostgresMyDbInfo(string Server, string Database, string Schema, IReadOnlyList<string> Contexts, long UsedBytes, long QuotaBytes,
    IReadOnlyList<TableInfo> Tables);

/// <summary>A table of a PostgreSQL MyDB schema with its columns (types in the words of the DuckDB engine).</summary>
public sealed record PostgresMyDbTable(string Server, string Database, string Schema, string Name, long Rows, long SizeBytes, IReadOnlyList<MyDbColumnInfo> Columns);

/// <summary>
/// The caller's MyDB schemas in PostgreSQL (<c>mydb_&lt;user&gt;</c>, one per database): listing with size and quota,
/// a table's columns, drop and rename. Changes run as the user's own role, in the same guarded transaction as their
/// queries (decision 0016); the platform's admin connection only reads pg_catalog. A database the caller has no
/// context in, or where they have no schema, answers 404 like one that does not exist.
/// </summary>
public sealed partial class PostgresMyDbService(
    PlatformDbContext db,
    AccessService access,
    PostgresCatalogs catalogs,
    PostgresEngine engine,
    IOptions<CasJobsOptions> options,
    ILogger<PostgresMyDbService> logger)
{
    public async Task<IReadOnlyList<PostgresMyDbInfo>> ListAsync(Caller caller, CancellationToken ct)
    {
        var result = new List<PostgresMyDbInfo>();
        foreach (var mydb in await catalogs.MyDbsAsync(caller, ct))
        {
            var usage = await engine.MyDbUsageAsync(new PostgresLocation(mydb.Server, mydb.Database, mydb.Schema), mydb.Schema, ct);
            result.Add(new PostgresMyDbInfo(mydb.Server, mydb.Database, mydb.Schema, mydb.Contexts, usage.UsedBytes, usage.QuotaBytes, mydb.Tables));
        }

        return result;
    }

    public async Task<PostgresMyDbTable> DescribeAsync(Caller caller, string? server, string? database, string? table, CancellationToken ct)
    {
        var (location, schema) = await LocateAsync(caller, server, database, ct);
        var name = await FindTableAsync(caller, location, schema, table, ct);
        var info = (await engine.TablesAsync(location, schema, null, caller, ct)).Single(t => t.Name == name);
        var columns = await engine.ColumnsAsync(location, schema, name, ct);
        return new PostgresMyDbTable(location.Server, location.Database, schema, name, info.Rows, info.SizeBytes ?? 0,
            columns.Select(c => new MyDbColumnInfo(c.Name, c.Type)).ToList());
    }

    public async Task DropAsync(Caller caller, string? server, string? database, string? table, CancellationToken ct)
    {
        var (location, schema) = await LocateAsync(caller, server, database, ct);
        var name = await FindTableAsync(caller, location, schema, table, ct);
        await RunAsync(caller, location, $"DROP TABLE {Sql.Identifier(schema)}.{Sql.Identifier(name)}", ct);
        Log.Dropped(logger, caller.UserName, location.ToString(), name);
    }

    public async Task<PostgresMyDbTable> RenameAsync(Caller caller, string? server, string? database, string? table, string? newName, CancellationToken ct)
    {
        var (location, schema) = await LocateAsync(caller, server, database, ct);
        var name = await FindTableAsync(caller, location, schema, table, ct);
        var to = CheckNewName(newName);
        if (to != name && (await engine.TablesAsync(location, schema, null, caller, ct)).Any(t => t.Name == to))
        {
            throw PlatformException.Conflict($"Your MyDB in {location.Database} has a table '{to}' already.", "name");
        }

        if (to != name)
        {
            await RunAsync(caller, location, $"ALTER TABLE {Sql.Identifier(schema)}.{Sql.Identifier(name)} RENAME TO {Sql.Identifier(to)}", ct);
            Log.Renamed(logger, caller.UserName, location.ToString(), name, to);
        }

        return await DescribeAsync(caller, location.Server, location.Database, to, ct);
    }

    /// <summary>
    /// The caller's schema in a database where they may query a context (the first such context's location: its
    /// search path is harmless for the platform's own statements). Bad names are a 400; an unknown server or
    /// database, one without a context of the caller's, or without their schema, a 404.
    /// </summary>
    private async Task<(PostgresLocation Location, string Schema)> LocateAsync(Caller caller, string? server, string? database, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var schema = PostgresEngine.MyDbSchemaOf(caller) ?? throw new PlatformException(ProblemKind.Unauthorized, "Log in to use MyDB, your own database.");
        foreach (var (value, field) in new[] { (server, "server"), (database, "database") })
        {
            if (!PostgresLocation.IsValidName(value))
            {
                throw PlatformException.Invalid($"'{value}' is not a PostgreSQL {field} name: lower-case letters, digits and '_', starting with a letter or '_', at most 63.", field);
            }
        }

        foreach (var context in await db.Set<CatalogContext>().AsNoTracking().OrderBy(c => c.Name).ToListAsync(ct))
        {
            if (PostgresLocation.TryParse(context.Path) is { } location && location.Server == server && location.Database == database
                && await access.CanAsync(caller, ResourceTypes.DatabaseContext, context.Name, ResourceActions.Query, ct)
                && await engine.SchemaExistsAsync(location, schema, ct))
            {
                return (location, schema);
            }
        }

        throw PlatformException.NotFound($"You have no MyDB in the PostgreSQL database '{database}' on '{server}'. It is made by your first query in a context of that database.");
    }

    /// <summary>The table's name as stored: exactly as given, else the one table whose name differs only in case; 400 for a name PostgreSQL cannot hold, 404 if there is none.</summary>
    private async Task<string> FindTableAsync(Caller caller, PostgresLocation location, string schema, string? table, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(table) || Encoding.UTF8.GetByteCount(table) > 63 || table.Any(char.IsControl))
        {
            throw PlatformException.Invalid($"'{table}' is not a table name: at most 63 bytes, no control characters.", "table");
        }

        var names = (await engine.TablesAsync(location, schema, null, caller, ct)).Select(t => t.Name).ToList();
        if (names.Contains(table, StringComparer.Ordinal))
        {
            return table;
        }

        var folded = names.Where(n => string.Equals(n, table, StringComparison.OrdinalIgnoreCase)).ToList();
        return folded.Count == 1 ? folded[0] : throw PlatformException.NotFound($"There is no table '{table}' in your MyDB in {location.Database}.");
    }

    /// <summary>A new name: a plain name, folded to lower case as PostgreSQL folds unquoted names, so <c>mydb.Name</c> finds it in any case.</summary>
    private static string CheckNewName(string? name)
    {
        var lower = name?.Trim().ToLowerInvariant();
        return PostgresLocation.IsValidName(lower) ? lower!
            : throw PlatformException.Invalid($"'{name}' is not a valid table name: a letter or '_', then letters, digits or '_', at most 63.", "name");
    }

    private async Task RunAsync(Caller caller, PostgresLocation location, string sql, CancellationToken ct)
    {
        try
        {
            await engine.RunAsync(location, caller, [new PostgresStatement(sql, false, 1)], 1, options.Value.QuickQueryTimeout, null, null, ct);
        }
        catch (TimeoutException e)
        {
            throw PlatformException.Invalid(e.Message + " Another query of yours may hold the table; try again when it has finished.", "table");
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1347, LogLevel.Information, "PostgreSQL MyDB of {UserName} in {Location}: table {Table} dropped")]
        public static partial void Dropped(ILogger logger, string userName, string location, string table);

        [LoggerMessage(1348, LogLevel.Information, "PostgreSQL MyDB of {UserName} in {Location}: table {Table} renamed to {NewName}")]
        public static partial void Renamed(ILogger logger, string userName, string location, string table, string newName);
    }
}
