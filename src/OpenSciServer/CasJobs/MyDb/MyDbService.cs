using Microsoft.Extensions.Options;
using OpenSciServer.Accounts;
using OpenSciServer.Authorization;
using OpenSciServer.CasJobs.Engines;
using OpenSciServer.Files;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.CasJobs.MyDb;

public sealed record MyDbTableInfo(string Name, long Rows, long Columns, long SizeBytes, DateTimeOffset? CreatedAt);

public sealed record MyDbOverview(long UsedBytes, long QuotaBytes, IReadOnlyList<MyDbTableInfo> Tables);

/// <param name="Unit">The column's unit: its comment (set by a FITS import, or with COMMENT ON COLUMN).</param>
public sealed record MyDbColumnInfo(string Name, string Type, string? Unit = null);

public sealed record MyDbTableDetail(string Name, long Rows, long SizeBytes, DateTimeOffset? CreatedAt, IReadOnlyList<MyDbColumnInfo> Columns);

public sealed record TableLoaded(string Table, long Rows);

public sealed record TableExported(string Path, long Bytes);

/// <summary>A user or group a MyDB table is shared with (read-only); kind is "user" or "group".</summary>
public sealed record TableSharing(string Name, string Kind);

/// <summary>A table written to a private staging file, ready to be sent and then deleted.</summary>
public sealed record TableDownload(FileStream Stream, string FileName, string ContentType);

/// <summary>
/// The caller's MyDB as a whole: tables with sizes and dates, schema, rename, drop, sharing, import from and export
/// to volumes, uploads and downloads. The platform never opens a DuckDB file itself: every operation runs in a
/// sandboxed worker (<see cref="MyDbWorker"/>) with SQL the platform writes, seeing only the one file it reads or writes.
/// </summary>
public sealed partial class MyDbService(
    MyDbAccess myDbs,
    QueryRunner runner,
    VolumeService volumes,
    QuotaService volumeQuotas,
    AccessService access,
    IOptions<CasJobsOptions> options,
    IOptions<PlatformOptions> platform,
    TimeProvider time,
    ILogger<MyDbService> logger)
{
    /// <summary>Time limit of an import, export or download (a quick operation gets the quick-query limit).</summary>
    public static readonly TimeSpan TransferTimeout = TimeSpan.FromHours(1);

    public async Task<MyDbOverview> OverviewAsync(Caller caller, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var outcome = await RunAsync(caller, new WorkerMyDbOperation(MyDbOperations.List), [], ct);
        return new MyDbOverview(myDbs.UsedBytes(caller.UserName), myDbs.QuotaBytes, outcome.ResultSets[0].Rows.Select(ToTable).ToList());
    }

    public async Task<MyDbTableDetail> DescribeAsync(Caller caller, string? table, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var name = CheckName(table);
        var outcome = await RunAsync(caller, new WorkerMyDbOperation(MyDbOperations.List, name), [], ct);
        var row = outcome.ResultSets[0].Rows.Count > 0 ? outcome.ResultSets[0].Rows[0] : throw NoTable(name);
        var info = ToTable(row);
        var columns = outcome.ResultSets[1].Rows.Select(r => new MyDbColumnInfo(r[0].GetString()!, r[1].GetString()!, r.Length > 2 ? r[2].GetString() : null)).ToList();
        return new MyDbTableDetail(info.Name, info.Rows, info.SizeBytes, info.CreatedAt, columns);
    }

    public async Task<MyDbTableDetail> RenameAsync(Caller caller, string? table, string? newName, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var name = CheckName(table);
        var to = CsvTable.CheckTableName(newName);
        var (old, _) = await ChangeAsync(caller, new WorkerMyDbOperation(MyDbOperations.Rename, name, NewName: to), [], ct);
        // Sharing follows the table under its new name.
        await access.RekeyAsync(ResourceTypes.MyDbTable, MyDbAccess.ResourceKey(caller.UserName, old), MyDbAccess.ResourceKey(caller.UserName, to),
            MyDbAccess.ResourceKey(caller.UserName, to), ct);
        Log.Renamed(logger, caller.UserName, old, to);
        return await DescribeAsync(caller, to, ct);
    }

    public async Task DropAsync(Caller caller, string? table, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var (dropped, _) = await ChangeAsync(caller, new WorkerMyDbOperation(MyDbOperations.Drop, CheckName(table)), [], ct);
        await access.UnregisterAsync(ResourceTypes.MyDbTable, MyDbAccess.ResourceKey(caller.UserName, dropped), ct);
        Log.Dropped(logger, caller.UserName, dropped);
    }

    /// <summary>Who a table is shared with (read-only).</summary>
    public async Task<IReadOnlyList<TableSharing>> SharingAsync(Caller caller, string? table, CancellationToken ct)
    {
        var actual = (await DescribeAsync(caller, table, ct)).Name;
        var resource = await access.FindAsync(ResourceTypes.MyDbTable, MyDbAccess.ResourceKey(caller.UserName, actual), ct);
        if (resource is null)
        {
            return [];
        }

        return (await access.PrivilegesAsync(caller, resource, ct)).Where(p => p.Actions.HasFlag(ResourceActions.Read))
            .Select(p => new TableSharing(p.Name, p.Kind == PrincipalKind.User ? "user" : "group"))
            .OrderBy(p => p.Kind, StringComparer.Ordinal).ThenBy(p => p.Name, StringComparer.Ordinal).ToList();
    }

    /// <summary>Replaces whom a table is shared with: each user or group may then read it as shared.&lt;owner&gt;.&lt;table&gt;.</summary>
    public async Task<IReadOnlyList<TableSharing>> ShareAsync(Caller caller, string? table, IReadOnlyList<TableSharing>? principals, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var wanted = new List<(PrincipalKind Kind, string Name)>();
        foreach (var p in principals ?? [])
        {
            var kind = p.Kind?.ToLowerInvariant() switch
            {
                "user" => PrincipalKind.User,
                "group" => PrincipalKind.Group,
                _ => throw PlatformException.Invalid($"'{p.Kind}' is not a kind of principal: use \"user\" or \"group\".", "kind"),
            };
            if (string.IsNullOrWhiteSpace(p.Name))
            {
                throw PlatformException.Invalid("Name the user or group to share with.", "name");
            }

            wanted.Add((kind, p.Name.Trim()));
        }

        var actual = (await DescribeAsync(caller, table, ct)).Name;
        var key = MyDbAccess.ResourceKey(caller.UserName, actual);
        var resource = await access.RegisterAsync(ResourceTypes.MyDbTable, key, key, caller.UserId, ct);
        foreach (var held in await access.PrivilegesAsync(caller, resource, ct))
        {
            if (!wanted.Any(w => w.Kind == held.Kind && string.Equals(w.Name, held.Name, StringComparison.OrdinalIgnoreCase)))
            {
                await access.SetPrivilegeAsync(caller, resource, held.Kind, held.Name, ResourceActions.None, ct);
            }
        }

        foreach (var (kind, name) in wanted)
        {
            await access.SetPrivilegeAsync(caller, resource, kind, name, ResourceActions.Read, ct);
        }

        Log.Shared(logger, caller.UserName, actual, wanted.Count);
        return await SharingAsync(caller, actual, ct);
    }

    /// <summary>Creates a MyDB table from a CSV, Parquet or FITS file in a volume the caller may read.</summary>
    public async Task<TableLoaded> ImportAsync(Caller caller, string? path, string? table, string? format, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var name = CsvTable.CheckTableName(table);
        var location = await volumes.ResolveAsync(caller, path, ResourceActions.Read, ct);
        var file = location.Name ?? throw PlatformException.Invalid("Name the file to import, not a volume.", "path");
        var kind = ImportFormat(format, file);
        var staged = StagingFile(TableFormats.Extension(kind));
        try
        {
            await using (var input = OpenInVolume(location, file))
            {
                myDbs.EnsureRoom(caller, input.Length);
                await using var output = new FileStream(staged, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
                await input.CopyToAsync(output, 1 << 20, ct);
            }

            return await LoadAsync(caller, name, kind, staged, ct);
        }
        finally
        {
            File.Delete(staged);
        }
    }

    /// <summary>Creates a MyDB table from a file sent as the request body (CSV, Parquet or FITS).</summary>
    public async Task<TableLoaded> UploadAsync(Caller caller, string? table, string? format, Stream body, long? length, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(body);
        var name = CsvTable.CheckTableName(table);
        var kind = ImportFormat(format ?? TableFormats.Csv, null);
        myDbs.EnsureRoom(caller, length ?? 0);
        var room = myDbs.QuotaBytes - myDbs.UsedBytes(caller.UserName);
        var staged = StagingFile(TableFormats.Extension(kind));
        try
        {
            await using (var output = new FileStream(staged, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
            {
                var buffer = new byte[1 << 20];
                long total = 0;
                int read;
                while ((read = await body.ReadAsync(buffer, ct)) > 0)
                {
                    total += read;
                    if (total > room)
                    {
                        myDbs.EnsureRoom(caller, total);
                    }

                    await output.WriteAsync(buffer.AsMemory(0, read), ct);
                }
            }

            return await LoadAsync(caller, name, kind, staged, ct);
        }
        finally
        {
            File.Delete(staged);
        }
    }

    /// <summary>Writes a table into a volume the caller may write, whole or not at all (temp file, then rename).</summary>
    public async Task<TableExported> ExportAsync(Caller caller, string? table, string? path, string? format, bool overwrite, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var name = CheckName(table);
        var location = await volumes.ResolveAsync(caller, path, ResourceActions.Write, ct);
        var file = location.Name ?? throw PlatformException.Invalid("Name the file to write, e.g. Storage/you/persistent/table.fits.", "path");
        var kind = ExportFormat(format, file);
        using var parent = Follow(() => NoFollow.OpenDirectory(location.VolumeFolder, location.ParentNames, create: true));
        var existing = NoFollow.KindOf(parent, file);
        switch (existing)
        {
            case EntryKind.Directory:
                throw PlatformException.Conflict($"'{location.Display}' is a folder.");
            case EntryKind.Link:
                throw PlatformException.Invalid($"'{file}' is a symbolic link; exports do not follow links.", "path");
            case EntryKind.File when !overwrite:
                throw PlatformException.Conflict($"'{location.Display}' exists already; pass overwrite to replace it.");
        }

        var oldSize = existing == EntryKind.File ? new FileInfo(NoFollow.PathOf(parent, file)).Length : 0;
        var uploadFolder = Directory.CreateDirectory(location.UploadFolder);
        PrivateFolder(uploadFolder.FullName);
        using var uploads = NoFollow.OpenDirectory(uploadFolder.FullName, []);
        var temp = "put-" + Guid.NewGuid().ToString("N") + ".part";
        NoFollow.CreateNew(uploads, temp).Dispose();
        var tempPath = Path.Combine(uploadFolder.FullName, temp);
        try
        {
            await ChangeAsync(caller, new WorkerMyDbOperation(MyDbOperations.Export, name, Format: kind, File: tempPath), [new WorkerBind(tempPath, Writable: true)], ct);
            long size;
            await using (var written = new FileStream(NoFollow.PathOf(uploads, temp), FileMode.Open, FileAccess.ReadWrite))
            {
                size = written.Length;
                written.Flush(flushToDisk: true);
            }

            await volumeQuotas.EnsureRoomAsync(location, Math.Max(0, size - oldSize), existing == EntryKind.File ? 0 : 1, ct);
            NoFollow.Rename(uploads, temp, parent, file, replace: overwrite);
            NoFollow.SyncDirectory(parent);
            volumeQuotas.Adjust(location, size - oldSize, existing == EntryKind.File ? 0 : 1);
            Log.Exported(logger, caller.UserName, name, location.Display, size);
            return new TableExported(location.Display, size);
        }
        finally
        {
            if (NoFollow.KindOf(uploads, temp) == EntryKind.File)
            {
                NoFollow.DeleteFile(uploads, temp);
            }
        }
    }

    /// <summary>A whole table as a file to send; the file is deleted when the stream is closed.</summary>
    public async Task<TableDownload> DownloadAsync(Caller caller, string? table, string? format, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var name = CheckName(table);
        var kind = ExportFormat(format ?? TableFormats.Csv, null);
        var staged = StagingFile(TableFormats.Extension(kind));
        try
        {
            File.WriteAllBytes(staged, []);
            var (actual, _) = await ChangeAsync(caller, new WorkerMyDbOperation(MyDbOperations.Export, name, Format: kind, File: staged), [new WorkerBind(staged, Writable: true)], ct);
            var stream = new FileStream(staged, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 16, FileOptions.DeleteOnClose | FileOptions.Asynchronous);
            return new TableDownload(stream, actual + TableFormats.Extension(kind), TableFormats.MediaType(kind));
        }
        catch
        {
            File.Delete(staged);
            throw;
        }
    }

    /// <summary>Tables others shared with the caller, and how SQL names them.</summary>
    public Task<IReadOnlyList<SharedTableInfo>> SharedWithMeAsync(Caller caller, CancellationToken ct) => myDbs.SharedWithAsync(caller, ct);

    /// <summary>A quick query's first result set as a Parquet file, written by DuckDB in a worker.</summary>
    public async Task<TableDownload> ParquetAsync(Caller caller, ResultSet set, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(set);
        var staged = StagingFile(".parquet");
        try
        {
            File.WriteAllBytes(staged, []);
            var upload = new WorkerUpload("result", set.Columns.Select(c => c.Name).ToList(), set.Columns.Select(c => c.Type).ToList(), set.Rows);
            await RunAsync(caller, new WorkerMyDbOperation(MyDbOperations.Convert, File: staged), [new WorkerBind(staged, Writable: true)], ct, upload);
            var stream = new FileStream(staged, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 16, FileOptions.DeleteOnClose | FileOptions.Asynchronous);
            return new TableDownload(stream, "result.parquet", TableFormats.MediaType(TableFormats.Parquet));
        }
        catch
        {
            File.Delete(staged);
            throw;
        }
    }

    private async Task<TableLoaded> LoadAsync(Caller caller, string table, string format, string staged, CancellationToken ct)
    {
        var (_, rows) = await ChangeAsync(caller, new WorkerMyDbOperation(MyDbOperations.Import, table, Format: format, File: staged), [new WorkerBind(staged, Writable: false)], ct);
        Log.Imported(logger, caller.UserName, table, rows);
        return new TableLoaded(table, rows);
    }

    private async Task<(string Table, long Rows)> ChangeAsync(Caller caller, WorkerMyDbOperation operation, IReadOnlyList<WorkerBind> binds, CancellationToken ct)
    {
        var outcome = await RunAsync(caller, operation, binds, ct);
        var row = outcome.ResultSets[0].Rows[0];
        var (status, table, detail, rows) = (row[0].GetString(), row[1].GetString()!, row[2].GetString()!, row[3].GetInt64());
        return status switch
        {
            MyDbOperations.Ok => (table, rows),
            MyDbOperations.Missing => throw PlatformException.NotFound(detail),
            MyDbOperations.Exists => throw PlatformException.Conflict(detail),
            _ => throw new InvalidOperationException($"The worker answered '{status}'."),
        };
    }

    private async Task<QueryOutcome> RunAsync(Caller caller, WorkerMyDbOperation operation, IReadOnlyList<WorkerBind> binds, CancellationToken ct, WorkerUpload? upload = null)
    {
        var o = options.Value;
        var request = new WorkerRequest(myDbs.MyDbPath(caller.UserName), null, o.MemoryLimit, o.Threads, long.MaxValue, [], Upload: upload,
            MyDb: new WorkerMyDb(time.GetUtcNow(), Binds: binds, Operation: operation));
        var timeout = operation.File is null ? o.QuickQueryTimeout : TransferTimeout;
        return await runner.RunAsync(request, timeout, ct);
    }

    /// <summary>A new, empty name in the platform's private staging folder (&lt;data&gt;/mydb-staging); old leftovers are removed.</summary>
    private string StagingFile(string extension)
    {
        var folder = Directory.CreateDirectory(Path.Combine(platform.Value.DataPath, "mydb-staging"));
        PrivateFolder(folder.FullName);
        var cutoff = time.GetUtcNow().UtcDateTime - TransferTimeout - TimeSpan.FromHours(1);
        foreach (var stale in folder.EnumerateFiles().Where(f => f.LastWriteTimeUtc < cutoff))
        {
            stale.Delete();
        }

        return Path.Combine(folder.FullName, Guid.NewGuid().ToString("N") + extension);
    }

    private static void PrivateFolder(string path)
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    private static FileStream OpenInVolume(VolumeLocation location, string file)
    {
        using var parent = Follow(() => NoFollow.OpenDirectory(location.VolumeFolder, location.ParentNames));
        return Follow(() => NoFollow.OpenRead(parent, file));
    }

    // A symbolic link on the way is a bad path here (400), whatever the file service answers for it.
    private static T Follow<T>(Func<T> open)
    {
        try
        {
            return open();
        }
        catch (PlatformException e) when (e.Kind == ProblemKind.Forbidden)
        {
            throw PlatformException.Invalid(e.Message, "path");
        }
    }

    private static string ImportFormat(string? format, string? file)
    {
        var kind = format?.Trim().ToLowerInvariant() is { Length: > 0 } f ? f : file is null ? null : TableFormats.FromFileName(file);
        return kind is not null && TableFormats.Importable.Contains(kind) ? kind
            : throw PlatformException.Invalid($"Say which format the file is in: {string.Join(", ", TableFormats.Importable)}.", "format");
    }

    private static string ExportFormat(string? format, string? file)
    {
        var kind = format?.Trim().ToLowerInvariant() is { Length: > 0 } f ? f : file is null ? null : TableFormats.FromFileName(file);
        return kind is not null && TableFormats.Exportable.Contains(kind) ? kind
            : throw PlatformException.Invalid($"Say which format to write: {string.Join(", ", TableFormats.Exportable)}.", "format");
    }

    private static string CheckName(string? table) => CsvTable.CheckTableName(table);

    private static PlatformException NoTable(string name) => PlatformException.NotFound($"There is no table '{name}' in your MyDB.");

    private static MyDbTableInfo ToTable(System.Text.Json.JsonElement[] r) =>
        new(r[0].GetString()!, r[1].GetInt64(), r[2].GetInt64(), r[3].GetInt64(),
            r[4].ValueKind == System.Text.Json.JsonValueKind.Null ? null : DateTimeOffset.Parse(r[4].GetString()!, System.Globalization.CultureInfo.InvariantCulture));

    private static partial class Log
    {
        [LoggerMessage(1320, LogLevel.Information, "MyDB of {UserName}: table {Table} renamed to {NewName}")]
        public static partial void Renamed(ILogger logger, string userName, string table, string newName);

        [LoggerMessage(1321, LogLevel.Information, "MyDB of {UserName}: table {Table} dropped")]
        public static partial void Dropped(ILogger logger, string userName, string table);

        [LoggerMessage(1322, LogLevel.Information, "MyDB of {UserName}: table {Table} shared with {Count} users or groups")]
        public static partial void Shared(ILogger logger, string userName, string table, int count);

        [LoggerMessage(1323, LogLevel.Information, "MyDB of {UserName}: {Rows} rows imported into {Table}")]
        public static partial void Imported(ILogger logger, string userName, string table, long rows);

        [LoggerMessage(1324, LogLevel.Information, "MyDB of {UserName}: table {Table} exported to {Path} ({Bytes} bytes)")]
        public static partial void Exported(ILogger logger, string userName, string table, string path, long bytes);
    }
}
