using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using OpenSciServer.Accounts;
using OpenSciServer.Authorization;
using OpenSciServer.CasJobs.Engines;
using OpenSciServer.Files;
using OpenSciServer.Groups;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.CasJobs.Contexts;

/// <summary>A column of a context's (or MyDB's) table, with what the catalog's admins wrote about it.</summary>
public sealed record CatalogColumn(string Name, string Type, string Description, string Unit);

/// <summary>The description of a table (<c>Column</c> empty) or of a column, with its unit.</summary>
public sealed record ContextDescription(string Table, string Column, string Description, string Unit);

/// <summary>One entry of an admin's PUT of descriptions; <c>column</c> empty or absent describes the table.</summary>
public sealed record DescriptionInput(string? Table, string? Column, string? Description, string? Unit);

/// <summary>
/// A context as its admins see it. <c>BuiltByPlatform</c>: the file was imported by the platform into
/// its own catalogs folder (and is deleted with the registration); otherwise it is the admin's file and
/// stays. <c>QuickQueryTimeoutSeconds</c> is the context's own limit (null: the default),
/// <c>TimeoutSeconds</c> the limit in force. <c>Problem</c> says why the tables could not be read.
/// </summary>
public sealed record AdminContextInfo(
    string Name,
    string Description,
    string Path,
    bool BuiltByPlatform,
    int? QuickQueryTimeoutSeconds,
    int TimeoutSeconds,
    bool IsPublic,
    Guid ResourceId,
    DateTimeOffset CreatedAt,
    IReadOnlyList<TableInfo> Tables,
    IReadOnlyList<ContextDescription> Descriptions,
    string? Problem);

/// <summary>
/// Registers a context from a DuckDB file in a data volume, or from a CSV, Parquet or FITS table there
/// (imported into <c>catalogs/&lt;name&gt;.duckdb</c>). <c>Format</c> is duckdb, csv, parquet or fits (default: from
/// the file's extension); <c>Table</c> names the imported table (default: from the file name).
/// </summary>
public sealed record RegisterContextRequest(
    string? Name,
    string? Path,
    string? Description = null,
    int? TimeoutSeconds = null,
    bool? IsPublic = null,
    string? Format = null,
    string? Table = null,
    string? Engine = null,
    string? Server = null,
    string? Database = null,
    string? Schema = null);

/// <summary>
/// What a registration did: a DuckDB file or a PostgreSQL schema is registered at once (<c>Context</c>); a CSV, Parquet or FITS
/// file is imported in the background (<c>Import</c>, Queued), and its context registered when the import is Ready.
/// </summary>
public sealed record ContextRegistration(AdminContextInfo? Context, CatalogImportInfo? Import);

/// <summary>Changes to a context; absent fields stay. <c>TimeoutSeconds</c> 0 restores the platform's default.</summary>
public sealed record UpdateContextRequest(string? Description = null, int? TimeoutSeconds = null, bool? IsPublic = null);

/// <summary>
/// Catalog contexts for site admins: register one (a DuckDB file found in a read-only data volume, or a
/// new one imported from a CSV, Parquet or FITS file there), describe its tables and columns, set its time
/// limit and who may query it, unregister it. Files are only ever opened by query workers, never by
/// the platform process. Also answers everyone's schema questions (the columns of a table).
/// </summary>
public sealed partial class CatalogContextService(
    PlatformDbContext db,
    AccessService access,
    VolumeService volumes,
    QueryService queries,
    QueryRunner runner,
    CatalogSchemaCache schemas,
    Engines.Postgres.PostgresCatalogs postgres,
    Engines.Postgres.PostgresEngine postgresEngine,
    CatalogImports imports,
    IOptions<CasJobsOptions> options,
    IOptions<PlatformOptions> platform,
    TimeProvider time,
    ILogger<CatalogContextService> logger)
{
    /// <summary>Where the platform keeps the catalogs it builds (the demo, imports).</summary>
    public string CatalogsFolder => Path.Combine(platform.Value.DataPath, "catalogs");

    /// <summary>Prefix of the folders an import builds in; one left behind by a crash is removed at start.</summary>
    public const string ImportFolderPrefix = ".import-";

    private DbSet<CatalogContext> Contexts => db.Set<CatalogContext>();

    private DbSet<CatalogDescription> Descriptions => db.Set<CatalogDescription>();

    public async Task<IReadOnlyList<AdminContextInfo>> ListAsync(Caller caller, CancellationToken ct)
    {
        DemandAdmin(caller);
        var all = await Contexts.AsNoTracking().OrderBy(c => c.Name).ToListAsync(ct);
        // One worker per catalog, a few side by side (they touch no platform database); unchanged files come from the cache.
        var read = new (Schema? Schema, string? Problem)[all.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, all.Count), new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = ct },
            async (i, token) => read[i] = await TryReadSchemaAsync(all[i], token));
        var result = new List<AdminContextInfo>();
        for (var i = 0; i < all.Count; i++)
        {
            result.Add(await DescribeAsync(all[i], read[i], ct));
        }

        return result;
    }

    public async Task<AdminContextInfo> GetAsync(Caller caller, string name, CancellationToken ct)
    {
        DemandAdmin(caller);
        return await DescribeAsync(await FindAsync(name, ct), ct);
    }

    /// <summary>The columns of every table of a context, with their types, descriptions and units (for the admin page).</summary>
    public async Task<IReadOnlyList<(string Table, CatalogColumn Column)>> AllColumnsAsync(Caller caller, string name, CancellationToken ct)
    {
        DemandAdmin(caller);
        var context = await FindAsync(name, ct);
        var schema = await ReadSchemaAsync(context.Path, context.Name, ct);
        var described = await DescriptionsOfAsync(context.Id, ct);
        return schema.Columns.Select(c =>
        {
            var d = described.FirstOrDefault(x => x.Table == c.Table && x.Column == c.Name);
            return (c.Table, new CatalogColumn(c.Name, c.Type, d?.Description ?? "", d?.Unit ?? ""));
        }).ToList();
    }

    /// <summary>
    /// Registers a DuckDB file or a PostgreSQL schema at once, or accepts the import of a CSV, Parquet or FITS table into a new
    /// catalog, which runs in the background (<see cref="CatalogImports"/>): everything that can be checked without reading
    /// the file (name, path, format, table name) is checked here, so a bad request is a 4xx now, not a Failed import later.
    /// </summary>
    public async Task<ContextRegistration> RegisterAsync(Caller caller, RegisterContextRequest request, CancellationToken ct)
    {
        DemandAdmin(caller);
        ArgumentNullException.ThrowIfNull(request);
        var name = ContextRules.CheckName(request.Name);
        var description = ContextRules.CheckText(request.Description, ContextRules.MaxDescriptionLength, "description", "A description");
        var timeout = ContextRules.CheckTimeout(request.TimeoutSeconds);
        await CheckNameFreeAsync(name, ct);

        string path;
        var isPostgres = string.Equals(request.Engine?.Trim(), Engines.Postgres.PostgresCatalogs.EngineName, StringComparison.OrdinalIgnoreCase);
        if (!isPostgres && !string.IsNullOrWhiteSpace(request.Engine) && !string.Equals(request.Engine.Trim(), "duckdb", StringComparison.OrdinalIgnoreCase))
        {
            throw PlatformException.Invalid($"Unknown engine '{request.Engine}': duckdb (a file in a data volume, the default) or postgres (a schema of a database on a configured PostgreSQL server).", "engine");
        }

        var source = isPostgres ? (await postgres.LocateAsync(request.Server, request.Database, request.Schema, ct)).ToString() : await ResolveSourceAsync(caller, request.Path, ct);
        var format = isPostgres ? Engines.Postgres.PostgresCatalogs.EngineName : FormatOf(request.Format, source);
        if (format is "duckdb" or Engines.Postgres.PostgresCatalogs.EngineName)
        {
            await ReadSchemaAsync(source, request.Path ?? source, ct);
            path = source;
        }
        else
        {
            var table = ContextRules.CheckTable(string.IsNullOrWhiteSpace(request.Table) ? ContextRules.TableFromFileName(Path.GetFileName(source)) : request.Table.Trim());
            var target = Path.Combine(CatalogsFolder, FileNameFor(name));
            if (File.Exists(target) && await Contexts.AnyAsync(c => c.Path == target, ct))
            {
                throw PlatformException.Conflict($"The file {target} belongs to another context.", "name");
            }

            return new ContextRegistration(null, imports.Enqueue(new CatalogImportRecord
            {
                Id = Guid.NewGuid().ToString("N")[..16],
                Name = name,
                SourcePath = source,
                Source = request.Path!.Trim(),
                Format = format,
                Table = table,
                Description = description,
                TimeoutSeconds = timeout,
                IsPublic = request.IsPublic == true,
                AdminId = caller.UserId,
                AdminName = caller.UserName,
                SubmittedAt = time.GetUtcNow(),
            }));
        }

        var context = await AddRegistrationAsync(caller, name, path, description, timeout, request.IsPublic == true, null, [], ct);
        return new ContextRegistration(await DescribeAsync(context, ct), null);
    }

    /// <summary>
    /// The background half of an import (<see cref="CatalogImports"/>): builds the catalog in <paramref name="work"/> in a
    /// worker, moves it into place and registers the context. Whatever fails, nothing stays registered and no catalog file
    /// stays (the queue removes the folder). Returns the rows imported.
    /// </summary>
    public async Task<long> RunImportAsync(CatalogImportRecord import, string work, Func<int, Task> started, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(import);
        // Checked when accepted; it may have waited in the queue since: still a plain file, not a link somewhere else.
        if (new FileInfo(import.SourcePath) is var file && (!file.Exists || file.LinkTarget is not null))
        {
            throw PlatformException.Invalid($"'{import.Source}' is no longer a file in its data volume (moved, deleted or replaced by a link since the import was accepted).", "path");
        }

        var (built, units, rows) = await BuildAsync(import.Name, import.SourcePath, import.Format, import.Table, work, started, ct);
        await CheckNameFreeAsync(import.Name, ct, ownImport: import.Id);
        var target = Path.Combine(CatalogsFolder, FileNameFor(import.Name));
        if (File.Exists(target) && await Contexts.AnyAsync(c => c.Path == target, ct))
        {
            throw PlatformException.Conflict($"The file {target} belongs to another context.", "name");
        }

        // Nothing registered uses a file of that name (names are unique), so one there is what a crash left: the import replaces it.
        File.Move(built, target, overwrite: true);
        try
        {
            // The admin's request is done: registering is not canceled half-way.
            await AddRegistrationAsync(new Caller(import.AdminId, import.AdminName, IsAdmin: true), import.Name, target, import.Description, import.TimeoutSeconds,
                import.IsPublic, import.Table, units, CancellationToken.None);
        }
        catch
        {
            // Half a registration is none: the row (with its descriptions) and the resource go with the file.
            db.ChangeTracker.Clear();
            if (await Contexts.FirstOrDefaultAsync(c => c.Path == target, CancellationToken.None) is { } added)
            {
                await Descriptions.Where(d => d.ContextId == added.Id).ExecuteDeleteAsync(CancellationToken.None);
                Contexts.Remove(added);
                await db.SaveChangesAsync(CancellationToken.None);
                await access.UnregisterAsync(ResourceTypes.DatabaseContext, added.Name, CancellationToken.None);
            }

            DeleteCatalogFile(target);
            throw;
        }

        return rows;
    }

    /// <summary>No context of that name (without case), and no unfinished import of one other than <paramref name="ownImport"/>.</summary>
    private async Task CheckNameFreeAsync(string name, CancellationToken ct, string? ownImport = null)
    {
        if ((await Contexts.AsNoTracking().Select(c => c.Name).ToListAsync(ct)).FirstOrDefault(n => string.Equals(n, name, StringComparison.OrdinalIgnoreCase)) is { } taken)
        {
            throw PlatformException.Conflict($"There is a context '{taken}' already (names are compared without case).", "name");
        }

        if (imports.InFlight(name) is { } importing && importing.Id != ownImport)
        {
            throw PlatformException.Conflict(CatalogImports.NotReadyMessage(importing), "name");
        }
    }

    private async Task<CatalogContext> AddRegistrationAsync(Caller caller, string name, string path, string description, int? timeout, bool isPublic, string? table,
        IReadOnlyList<(string Column, string Unit)> units, CancellationToken ct)
    {
        var context = new CatalogContext { Name = name, Path = path, Description = description, QuickQueryTimeoutSeconds = timeout, CreatedAt = time.GetUtcNow() };
        try
        {
            Contexts.Add(context);
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException)
        {
            // Another admin registered the same name meanwhile.
            Contexts.Entry(context).State = EntityState.Detached;
            throw PlatformException.Conflict($"There is a context '{name}' already.", "name");
        }

        if (units.Count > 0)
        {
            // The source's units (FITS TUNIT) are the context's first descriptions; admins add the words.
            Descriptions.AddRange(units.Select(u => new CatalogDescription { ContextId = context.Id, Table = table!, Column = u.Column, Unit = u.Unit.Length > 64 ? u.Unit[..64] : u.Unit }));
            await db.SaveChangesAsync(ct);
        }

        var resource = await access.RegisterAsync(ResourceTypes.DatabaseContext, name, name, ownerId: null, ct);
        if (isPublic)
        {
            await SetPublicAsync(caller, resource, true, ct);
        }

        LogRegistered(logger, name, path, caller.UserName);
        return context;
    }

    public async Task<AdminContextInfo> UpdateAsync(Caller caller, string name, UpdateContextRequest request, CancellationToken ct)
    {
        DemandAdmin(caller);
        ArgumentNullException.ThrowIfNull(request);
        var context = await FindAsync(name, ct, tracked: true);
        if (request.Description is not null)
        {
            context.Description = ContextRules.CheckText(request.Description, ContextRules.MaxDescriptionLength, "description", "A description");
        }

        if (request.TimeoutSeconds is { } seconds)
        {
            context.QuickQueryTimeoutSeconds = seconds == 0 ? null : ContextRules.CheckTimeout(seconds);
        }

        await db.SaveChangesAsync(ct);
        if (request.IsPublic is { } isPublic)
        {
            var resource = await access.FindAsync(ResourceTypes.DatabaseContext, context.Name, ct)
                ?? await access.RegisterAsync(ResourceTypes.DatabaseContext, context.Name, context.Name, ownerId: null, ct);
            await SetPublicAsync(caller, resource, isPublic, ct);
        }

        return await DescribeAsync(context, ct);
    }

    /// <summary>
    /// Removes the registration, its descriptions and every privilege on it. A file the admin pointed
    /// to stays; a file the platform built for the context is deleted. Returns whether a file was deleted.
    /// </summary>
    public async Task<bool> UnregisterAsync(Caller caller, string name, CancellationToken ct)
    {
        DemandAdmin(caller);
        var context = await FindAsync(name, ct, tracked: true);
        await Descriptions.Where(d => d.ContextId == context.Id).ExecuteDeleteAsync(ct);
        Contexts.Remove(context);
        await db.SaveChangesAsync(ct);
        await access.UnregisterAsync(ResourceTypes.DatabaseContext, context.Name, ct);
        var built = BuiltByPlatform(context);
        if (built)
        {
            DeleteCatalogFile(context.Path);
        }

        LogUnregistered(logger, context.Name, built ? context.Path : null, caller.UserName);
        return built;
    }

    /// <summary>
    /// Sets descriptions and units; each entry replaces what its table or column had (empty text and
    /// unit remove it). Every table and column must exist in the catalog; one that does not refuses
    /// the whole request. Returns all descriptions of the context.
    /// </summary>
    public async Task<IReadOnlyList<ContextDescription>> SetDescriptionsAsync(Caller caller, string name, IReadOnlyList<DescriptionInput>? entries, CancellationToken ct)
    {
        DemandAdmin(caller);
        var context = await FindAsync(name, ct);
        if (entries is null || entries.Count == 0)
        {
            throw PlatformException.Invalid("Send a list of {table, column, description, unit}.", "descriptions");
        }

        if (entries.Count > 10_000)
        {
            throw PlatformException.Invalid("At most 10,000 descriptions in one request.", "descriptions");
        }

        var schema = await ReadSchemaAsync(context.Path, context.Name, ct);
        var checkedEntries = new List<ContextDescription>();
        foreach (var entry in entries)
        {
            var table = schema.Tables.FirstOrDefault(t => string.Equals(t.Name, entry?.Table?.Trim(), StringComparison.OrdinalIgnoreCase))
                ?? throw PlatformException.Invalid($"There is no table '{entry?.Table}' in '{context.Name}'. Its tables: {string.Join(", ", schema.Tables.Select(t => t.Name))}.", "table");
            var column = "";
            if (!string.IsNullOrWhiteSpace(entry!.Column))
            {
                column = schema.Columns.FirstOrDefault(c => c.Table == table.Name && string.Equals(c.Name, entry.Column.Trim(), StringComparison.OrdinalIgnoreCase))?.Name
                    ?? throw PlatformException.Invalid($"There is no column '{entry.Column}' in table '{table.Name}'.", "column");
            }

            var unit = (entry.Unit ?? "").Trim();
            if (unit.Length > ContextRules.MaxUnitLength || unit.Any(char.IsControl))
            {
                throw PlatformException.Invalid($"A unit is at most {ContextRules.MaxUnitLength} characters on one line (e.g. deg, erg/s/cm^2).", "unit");
            }

            if (column.Length == 0 && unit.Length > 0)
            {
                throw PlatformException.Invalid($"A table has no unit; give the column of '{table.Name}' the unit '{unit}' belongs to.", "unit");
            }

            checkedEntries.Add(new ContextDescription(table.Name, column,
                ContextRules.CheckText(entry.Description, ContextRules.MaxDescriptionLength, "description", "A description"), unit));
        }

        var existing = await Descriptions.Where(d => d.ContextId == context.Id).ToListAsync(ct);
        foreach (var entry in checkedEntries)
        {
            var row = existing.FirstOrDefault(d => d.Table == entry.Table && d.Column == entry.Column);
            if (entry.Description.Length == 0 && entry.Unit.Length == 0)
            {
                if (row is not null)
                {
                    Descriptions.Remove(row);
                    existing.Remove(row);
                }
            }
            else if (row is null)
            {
                row = new CatalogDescription { ContextId = context.Id, Table = entry.Table, Column = entry.Column, Description = entry.Description, Unit = entry.Unit };
                Descriptions.Add(row);
                existing.Add(row);
            }
            else
            {
                row.Description = entry.Description;
                row.Unit = entry.Unit;
            }
        }

        await db.SaveChangesAsync(ct);
        return await DescriptionsOfAsync(context.Id, ct);
    }

    /// <summary>The columns of a table in a context the caller may query (or in their MyDB), with descriptions and units.</summary>
    public async Task<IReadOnlyList<CatalogColumn>> ColumnsAsync(Caller caller, string? contextName, string? table, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var context = await queries.FindQueryableAsync(caller, contextName, ct);
        if (string.IsNullOrWhiteSpace(table) || table.Length > 256 || table.Any(char.IsControl))
        {
            throw PlatformException.Invalid("Name a table.", "table");
        }

        if (Engines.Postgres.PostgresCatalogs.IsPostgres(context))
        {
            return await postgres.ColumnsAsync(context!, table, ct);
        }

        var catalog = context is null ? DuckDbSandbox.MyDbCatalog : DuckDbSandbox.ContextAlias;
        var sql = "SELECT schema_name, table_name, column_name, data_type FROM duckdb_columns() " +
            $"WHERE database_name = '{catalog}' AND lower(table_name) = lower('{Sql.Literal(table)}') ORDER BY schema_name <> 'main', schema_name, column_index";
        var o = options.Value;
        var outcome = await runner.RunAsync(new WorkerRequest(queries.MainDatabasePath(caller), context?.Path, o.MemoryLimit, o.Threads, 100_000, [new WorkerStatement(sql, true)]),
            o.QuickQueryTimeout, ct);
        var rows = outcome.ResultSets[0].Rows;
        if (rows.Count == 0)
        {
            throw PlatformException.NotFound($"There is no table '{table}' in {context?.Name ?? "your MyDB"}.");
        }

        // Tables of the same name in other schemas are not mixed in: the first schema (main if it has it) answers.
        var schemaName = rows[0][0].GetString();
        var tableName = rows[0][1].GetString()!;
        var described = context is null ? []
            : (await Descriptions.AsNoTracking().Where(d => d.ContextId == context.Id && d.Column != "").ToListAsync(ct))
                .Where(d => string.Equals(d.Table, tableName, StringComparison.OrdinalIgnoreCase))
                .ToDictionary(d => d.Column, StringComparer.OrdinalIgnoreCase);
        return rows.Where(r => r[0].GetString() == schemaName).Select(r =>
        {
            var name = r[2].GetString()!;
            var d = described.GetValueOrDefault(name);
            return new CatalogColumn(name, r[3].GetString()!, d?.Description ?? "", d?.Unit ?? "");
        }).ToList();
    }

    /// <summary>Whether the platform built this context's file (an import or the demo), so it goes with the registration.</summary>
    public bool BuiltByPlatform(CatalogContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return string.Equals(Path.GetDirectoryName(context.Path), Path.GetFullPath(CatalogsFolder), StringComparison.Ordinal)
            && string.Equals(Path.GetFileName(context.Path), FileNameFor(context.Name), StringComparison.Ordinal);
    }

    private static string FileNameFor(string contextName) => contextName.ToLowerInvariant() + ".duckdb";

    private async Task<AdminContextInfo> DescribeAsync(CatalogContext context, CancellationToken ct) =>
        await DescribeAsync(context, await TryReadSchemaAsync(context, ct), ct);

    private async Task<AdminContextInfo> DescribeAsync(CatalogContext context, (Schema? Schema, string? Problem) read, CancellationToken ct)
    {
        var resource = await access.FindAsync(ResourceTypes.DatabaseContext, context.Name, ct);
        var isPublic = resource is not null && (await access.ActionsAsync(Caller.Anonymous, resource, ct)).HasFlag(ResourceActions.Query);
        var described = await DescriptionsOfAsync(context.Id, ct);
        var tables = read.Schema?.Tables.Select(t => t with { Description = described.FirstOrDefault(d => d.Table == t.Name && d.Column == "")?.Description ?? "" }).ToList() ?? [];
        return new AdminContextInfo(context.Name, context.Description, context.Path, BuiltByPlatform(context), context.QuickQueryTimeoutSeconds,
            (int)Math.Ceiling(queries.QuickQueryTimeout(context).TotalSeconds), isPublic, resource?.Id ?? Guid.Empty, context.CreatedAt,
            tables, described, read.Problem);
    }

    private async Task<(Schema? Schema, string? Problem)> TryReadSchemaAsync(CatalogContext context, CancellationToken ct)
    {
        try
        {
            return (await ReadSchemaAsync(context.Path, context.Name, ct), null);
        }
        catch (PlatformException e)
        {
            // A file moved or broken since it was registered: the admin sees why, and can unregister it.
            return (null, e.Message);
        }
    }

    private async Task<IReadOnlyList<ContextDescription>> DescriptionsOfAsync(long contextId, CancellationToken ct) =>
        (await Descriptions.AsNoTracking().Where(d => d.ContextId == contextId).ToListAsync(ct))
            .OrderBy(d => d.Table, StringComparer.Ordinal).ThenBy(d => d.Column.Length > 0).ThenBy(d => d.Id)
            .Select(d => new ContextDescription(d.Table, d.Column, d.Description, d.Unit)).ToList();

    private async Task<CatalogContext> FindAsync(string? name, CancellationToken ct, bool tracked = false)
    {
        var all = tracked ? await Contexts.ToListAsync(ct) : await Contexts.AsNoTracking().ToListAsync(ct);
        if (all.FirstOrDefault(c => string.Equals(c.Name, name?.Trim(), StringComparison.OrdinalIgnoreCase)) is { } found)
        {
            return found;
        }

        throw imports.InFlight(name) is { } importing
            ? PlatformException.Conflict(CatalogImports.NotReadyMessage(importing), "name")
            : PlatformException.NotFound($"There is no context '{name}'.");
    }

    /// <summary>
    /// Opens the file in a worker (read-only, nothing else attached) and reads its tables and columns.
    /// The answer is kept while the file's size and time stay the same, so admin pages do not start a
    /// worker per catalog on every load.
    /// </summary>
    private async Task<Schema> ReadSchemaAsync(string path, string display, CancellationToken ct)
    {
        if (Engines.Postgres.PostgresLocation.TryParse(path) is { } location)
        {
            // A PostgreSQL catalog: read on the platform's admin connection (no file, no worker).
            return await postgresEngine.ReadSchemaAsync(location, ct);
        }

        var file = new FileInfo(path);
        var version = file.Exists ? $"{file.Length}/{file.LastWriteTimeUtc.Ticks}" : null;
        if (version is not null && schemas.TryGet(path, version) is { } known)
        {
            return known;
        }

        var schema = await ReadSchemaInWorkerAsync(path, display, ct);
        if (version is not null)
        {
            schemas.Set(path, version, schema);
        }

        return schema;
    }

    private async Task<Schema> ReadSchemaInWorkerAsync(string path, string display, CancellationToken ct)
    {
        var o = options.Value;
        var request = new WorkerRequest(DuckDbSandbox.InMemory, path, o.MemoryLimit, o.Threads, 1_000_000,
        [
            new WorkerStatement($"SELECT table_name, estimated_size, column_count FROM duckdb_tables() WHERE database_name = '{DuckDbSandbox.ContextAlias}' ORDER BY table_name", true),
            new WorkerStatement($"SELECT table_name, column_name, data_type FROM duckdb_columns() WHERE database_name = '{DuckDbSandbox.ContextAlias}' ORDER BY table_name, column_index", true),
        ]);
        QueryOutcome outcome;
        try
        {
            outcome = await runner.RunAsync(request, o.QuickQueryTimeout, ct);
        }
        catch (PlatformException e)
        {
            throw PlatformException.Invalid($"'{display}' could not be opened as a DuckDB database: {e.Message}", "path");
        }

        return new Schema(
            outcome.ResultSets[0].Rows.Select(r => new TableInfo(r[0].GetString()!, r[1].GetInt64(), r[2].GetInt64())).ToList(),
            outcome.ResultSets[1].Rows.Select(r => new SchemaColumn(r[0].GetString()!, r[1].GetString()!, r[2].GetString()!)).ToList());
    }

    /// <summary>
    /// The absolute path of a file in a read-only data volume, reached without following any link.
    /// Writable data volumes are refused: whoever may write there could swap the file for a link
    /// to something else between this check and a query.
    /// </summary>
    private async Task<string> ResolveSourceAsync(Caller caller, string? path, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            throw PlatformException.Invalid("Give the file as DataVolume/folder/file (a DuckDB, CSV, Parquet or FITS file in a data volume).", "path");
        }

        try
        {
            var location = await volumes.ResolveAsync(caller, path, ResourceActions.Read, ct);
            if (location.DataVolume is null)
            {
                throw PlatformException.Invalid("Contexts are registered from data volumes (admin-curated, read-only), not from user volumes: give DataVolume/folder/file.", "path");
            }

            if (location.DataVolume.Writable)
            {
                throw PlatformException.Invalid($"The data volume '{location.DataVolume.Name}' is writable; a catalog must come from a read-only data volume, so that nobody can change or replace its file.", "path");
            }

            var name = location.Name ?? throw PlatformException.Invalid("Name a file inside the data volume, not the volume itself.", "path");
            using (var parent = NoFollow.OpenDirectory(location.VolumeFolder, location.ParentNames))
            {
                switch (NoFollow.KindOf(parent, name))
                {
                    case EntryKind.Missing:
                        throw PlatformException.NotFound($"'{location.Display}' does not exist.");
                    case EntryKind.Link:
                        throw PlatformException.Invalid($"'{name}' is a symbolic link; a catalog must be a file in the data volume itself.", "path");
                    case EntryKind.Directory:
                        throw PlatformException.Invalid($"'{location.Display}' is a folder; name a file.", "path");
                    case EntryKind.File:
                        break;
                }
            }

            var full = Path.GetFullPath(Path.Combine([location.VolumeFolder, .. location.Names]));
            if (full.StartsWith(Path.GetFullPath(CatalogsFolder) + "/", StringComparison.Ordinal) || full.StartsWith(Path.GetFullPath(Path.Combine(platform.Value.DataPath, "mydb")) + "/", StringComparison.Ordinal))
            {
                throw PlatformException.Invalid("That file belongs to the platform itself; register files from data volumes.", "path");
            }

            return full;
        }
        catch (PlatformException e) when (e.Kind == ProblemKind.Forbidden)
        {
            // A link on the way (NoFollow refuses it): the path is wrong, not the admin's rights.
            throw PlatformException.Invalid(e.Message, "path");
        }
    }

    private static string FormatOf(string? requested, string source)
    {
        var format = requested?.Trim().ToLowerInvariant();
        if (string.IsNullOrEmpty(format))
        {
            var file = Path.GetFileName(source).ToLowerInvariant();
            format = file switch
            {
                _ when file.EndsWith(".duckdb", StringComparison.Ordinal) || file.EndsWith(".ddb", StringComparison.Ordinal) || file.EndsWith(".db", StringComparison.Ordinal) => "duckdb",
                _ when file.EndsWith(".csv", StringComparison.Ordinal) || file.EndsWith(".tsv", StringComparison.Ordinal) || file.EndsWith(".csv.gz", StringComparison.Ordinal) => CatalogBuilder.Csv,
                _ when file.EndsWith(".parquet", StringComparison.Ordinal) || file.EndsWith(".pq", StringComparison.Ordinal) => CatalogBuilder.Parquet,
                _ when file.EndsWith(".fits", StringComparison.Ordinal) || file.EndsWith(".fit", StringComparison.Ordinal) => CatalogBuilder.Fits,
                _ => throw PlatformException.Invalid("Cannot tell the file's format from its name: give format duckdb, csv, parquet or fits.", "format"),
            };
        }

        return format switch
        {
            "duckdb" or CatalogBuilder.Csv or CatalogBuilder.Parquet or CatalogBuilder.Fits => format,
            "fit" => CatalogBuilder.Fits,
            _ => throw PlatformException.Invalid($"Unknown format '{requested}': duckdb (register the file as it is), csv, parquet or fits (import a table into a new catalog).", "format"),
        };
    }

    /// <summary>
    /// Builds <c>&lt;name&gt;.duckdb</c> from the source in a worker, in <paramref name="work"/> (a fresh folder of its own, which
    /// the caller removes); returns the built file, the source's units and the rows.
    /// </summary>
    private async Task<(string Built, IReadOnlyList<(string Column, string Unit)> Units, long Rows)> BuildAsync(string name, string source, string format, string table,
        string work, Func<int, Task> started, CancellationToken ct)
    {
        Directory.CreateDirectory(work);
        var built = Path.Combine(work, FileNameFor(name));
        var o = options.Value;
        var request = new WorkerRequest(built, source, o.MemoryLimit, o.Threads, 0, [], CatalogBuild: new WorkerCatalogBuild(format, table));
        QueryOutcome outcome;
        try
        {
            outcome = await runner.RunAsync(request, o.CatalogImportTimeout, started, ct, reuse: false);
        }
        catch (PlatformException e)
        {
            // DuckDB's first lines say what is wrong; the rest lists its own options, which are not the admin's to set here.
            var reason = string.Join(' ', e.Message.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).Take(2));
            var hint = format == CatalogBuilder.Csv ? " A CSV needs a header line, ',' between values (a tab in .tsv files), and as many values on every line as in the header." : "";
            throw PlatformException.Invalid($"The {format.ToUpperInvariant()} file could not be imported: {reason}{hint}", "path");
        }

        var units = outcome.ResultSets.Count == 0 ? [] : outcome.ResultSets[0].Rows
            .Select(r => (Column: r[0].GetString() ?? "", Unit: r[1].GetString() ?? ""))
            .Where(u => u.Column.Length > 0 && u.Unit.Length > 0).ToList();
        return (built, units, outcome.Affected.Count > 0 ? outcome.Affected[^1] : 0);
    }

    private static void DeleteCatalogFile(string path)
    {
        foreach (var file in new[] { path, path + ".wal" })
        {
            File.Delete(file);
        }
    }

    private async Task SetPublicAsync(Caller caller, ResourceInfo resource, bool isPublic, CancellationToken ct)
    {
        var held = await access.ActionsAsync(Caller.Anonymous, resource, ct);
        var publicActions = (await access.PrivilegesAsync(caller, resource, ct))
            .FirstOrDefault(p => p.Kind == PrincipalKind.Group && string.Equals(p.Name, GroupNames.Public, StringComparison.OrdinalIgnoreCase))?.Actions ?? ResourceActions.None;
        if (held.HasFlag(ResourceActions.Query) == isPublic)
        {
            return;
        }

        await access.SetPrivilegeAsync(caller, resource, PrincipalKind.Group, GroupNames.Public,
            isPublic ? publicActions | ResourceActions.Query : publicActions & ~ResourceActions.Query, ct);
    }

    private static void DemandAdmin(Caller caller)
    {
        ArgumentNullException.ThrowIfNull(caller);
        if (!caller.IsAdmin)
        {
            throw PlatformException.Forbidden("Only site admins manage catalog contexts.");
        }
    }


    [LoggerMessage(1320, LogLevel.Information, "Context {Name} registered ({Path}) by {Admin}")]
    private static partial void LogRegistered(ILogger logger, string name, string path, string admin);

    [LoggerMessage(1321, LogLevel.Information, "Context {Name} unregistered by {Admin}; deleted file: {DeletedPath}")]
    private static partial void LogUnregistered(ILogger logger, string name, string? deletedPath, string admin);
}
