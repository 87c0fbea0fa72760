using System.Diagnostics;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using OpenSciServer.Accounts;
using OpenSciServer.CasJobs.Engines;
using OpenSciServer.CasJobs.Sky;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.CasJobs.Contexts;

/// <summary>Where an admin's import of a table file into a new context is. Only <c>Ready</c> registers the context.</summary>
public enum CatalogImportState
{
    Queued,
    Importing,
    Ready,
    Failed,
    Canceled,
}

/// <summary>
/// An import as the admin API and page show it. <c>Phase</c>: queued, reading, sorting, writing (while Importing; see
/// <see cref="ImportProgressSnapshot"/>), then done or failed. Rows are null where the source does not tell them yet;
/// <c>BytesRead</c> of <c>BytesTotal</c> is the source file read so far; <c>SpillBytes</c> what the sort has put on disk
/// beside the new catalog. <c>Context</c> is the registered context's route once Ready.
/// </summary>
public sealed record CatalogImportInfo(
    string Id,
    string Name,
    string Source,
    string Format,
    string Table,
    CatalogImportState State,
    string Phase,
    long? RowsRead,
    long? RowsTotal,
    long BytesRead,
    long BytesTotal,
    double PercentRead,
    long SpillBytes,
    double ElapsedSeconds,
    DateTimeOffset SubmittedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    string SubmittedBy,
    string? Error,
    string? Context)
{
    public bool Final => State is CatalogImportState.Ready or CatalogImportState.Failed or CatalogImportState.Canceled;
}

/// <summary>
/// What the platform keeps of an import, one JSON file per import in <c>catalogs/.imports/</c>, rewritten (atomically) at each
/// change of state: so a restart finds the imports that were queued (and runs them) or running (and fails them, cleaning up).
/// </summary>
public sealed class CatalogImportRecord
{
    public required string Id { get; init; }

    public required string Name { get; init; }

    /// <summary>The source's absolute path (resolved from the data volume when the import was accepted).</summary>
    public required string SourcePath { get; init; }

    /// <summary>The source as the admin wrote it (DataVolume/folder/file).</summary>
    public required string Source { get; init; }

    public required string Format { get; init; }

    public required string Table { get; init; }

    public string Description { get; init; } = "";

    public int? TimeoutSeconds { get; init; }

    public bool IsPublic { get; init; }

    public Guid AdminId { get; init; }

    public string AdminName { get; init; } = "";

    public DateTimeOffset SubmittedAt { get; init; }

    public DateTimeOffset? StartedAt { get; set; }

    public DateTimeOffset? FinishedAt { get; set; }

    public CatalogImportState State { get; set; }

    public string? Error { get; set; }

    public long? Rows { get; set; }

    public long SourceBytes { get; set; }

    /// <summary>The worker's process id while it runs, to stop an orphan after a crash.</summary>
    public int? WorkerPid { get; set; }

    /// <summary>The platform process that runs it (host and pid): another live server sharing the data directory keeps its own.</summary>
    public string Host { get; set; } = "";

    public int PlatformPid { get; set; }
}

/// <summary>
/// Runs admins' imports of CSV, Parquet and FITS files into new contexts in the background, one at a time (an import uses
/// the query memory limit and both cores for minutes to hours), in submission order. The import files in
/// <c>catalogs/.imports/</c> are the truth; this service keeps them in memory, wakes on new ones and shows live progress
/// from the worker's progress file. An import that was running when the platform stopped or crashed is Failed at the next
/// start, its worker killed and its folder removed; one still queued runs then.
/// </summary>
public sealed partial class CatalogImports(
    IServiceScopeFactory scopes,
    IOptions<PlatformOptions> platform,
    TimeProvider time,
    ILogger<CatalogImports> logger) : BackgroundService
{
    /// <summary>Finished imports are shown this long, then forgotten.</summary>
    public static readonly TimeSpan KeptFor = TimeSpan.FromDays(30);

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true, Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() } };

    private readonly Lock _lock = new();
    private readonly Dictionary<string, CatalogImportRecord> _imports = new(StringComparer.Ordinal);
    private readonly Dictionary<string, CancellationTokenSource> _running = new(StringComparer.Ordinal);
    private readonly Channel<string> _wake = Channel.CreateUnbounded<string>();
    private bool _recovered;

    public string CatalogsFolder => Path.Combine(platform.Value.DataPath, "catalogs");

    private string RecordsFolder => Path.Combine(CatalogsFolder, ".imports");

    /// <summary>The folder an import builds in (removed when it ends, whatever the end).</summary>
    public string WorkFolder(string id) => Path.Combine(CatalogsFolder, CatalogContextService.ImportFolderPrefix + id);

    /// <summary>Accepts an import (Queued) and wakes the runner; refuses a name another unfinished import has.</summary>
    public CatalogImportInfo Enqueue(CatalogImportRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        lock (_lock)
        {
            if (_imports.Values.FirstOrDefault(i => !IsFinal(i.State) && string.Equals(i.Name, record.Name, StringComparison.OrdinalIgnoreCase)) is { } other)
            {
                throw PlatformException.Conflict($"The context '{other.Name}' is being imported already (import {other.Id}).", "name");
            }

            record.State = CatalogImportState.Queued;
            Save(record);
            _imports[record.Id] = record;
        }

        _wake.Writer.TryWrite(record.Id);
        LogQueued(logger, record.Id, record.Name, record.Source, record.AdminName);
        return Describe(record);
    }

    public IReadOnlyList<CatalogImportInfo> List()
    {
        lock (_lock)
        {
            return _imports.Values.OrderByDescending(i => i.SubmittedAt).Select(Describe).ToList();
        }
    }

    public CatalogImportInfo Get(string id)
    {
        lock (_lock)
        {
            return _imports.TryGetValue(id ?? "", out var record) ? Describe(record) : throw PlatformException.NotFound($"There is no import '{id}'.");
        }
    }

    /// <summary>The unfinished import of a context of that name, if any (queries and admin routes answer 409 with it).</summary>
    public CatalogImportInfo? InFlight(string? name)
    {
        lock (_lock)
        {
            var record = _imports.Values.FirstOrDefault(i => !IsFinal(i.State) && string.Equals(i.Name, name?.Trim(), StringComparison.OrdinalIgnoreCase));
            return record is null ? null : Describe(record);
        }
    }

    /// <summary>Whether the unfinished import of that name was asked to be public (then everyone is told it is coming, not that it does not exist).</summary>
    public bool InFlightIsPublic(string? name)
    {
        lock (_lock)
        {
            return _imports.Values.Any(i => !IsFinal(i.State) && i.IsPublic && string.Equals(i.Name, name?.Trim(), StringComparison.OrdinalIgnoreCase));
        }
    }

    /// <summary>The words for a context that is still being imported.</summary>
    public static string NotReadyMessage(CatalogImportInfo import, bool forAdmin = true)
    {
        ArgumentNullException.ThrowIfNull(import);
        var how = import.State == CatalogImportState.Queued ? "queued for import"
            : $"being imported ({import.Phase}{(import.Phase == SkyImportProgress.Reading ? $", {import.PercentRead:0} % read" : "")})";
        return forAdmin
            ? $"The context '{import.Name}' is {how}; it can be used once its import is Ready (GET /api/admin/casjobs/imports/{import.Id})."
            : $"The context '{import.Name}' is {how}; it can be queried once the import has finished. Try again later.";
    }

    /// <summary>Cancels a queued or running import: nothing is registered, its folder goes. A finished one is a 409.</summary>
    public CatalogImportInfo Cancel(Caller caller, string id)
    {
        ArgumentNullException.ThrowIfNull(caller);
        lock (_lock)
        {
            if (!_imports.TryGetValue(id ?? "", out var record))
            {
                throw PlatformException.NotFound($"There is no import '{id}'.");
            }

            if (IsFinal(record.State))
            {
                throw PlatformException.Conflict($"The import of '{record.Name}' has ended ({record.State}); there is nothing to cancel.", "id");
            }

            if (record.State == CatalogImportState.Queued)
            {
                Finish(record, CatalogImportState.Canceled, $"Canceled by {caller.UserName} before it started.");
            }
            else if (_running.TryGetValue(record.Id, out var cts))
            {
                record.Error = $"Canceled by {caller.UserName}.";
                cts.Cancel();
            }

            LogCanceled(logger, record.Id, record.Name, caller.UserName);
            return Describe(record);
        }
    }

    /// <summary>
    /// At start, before requests: loads the import files; a running import of a process that is gone is Failed (its worker
    /// killed, its folder removed); queued ones run; finished ones older than <see cref="KeptFor"/> are forgotten.
    /// </summary>
    public async Task RecoverAsync(CancellationToken ct)
    {
        if (!Directory.Exists(RecordsFolder))
        {
            _recovered = true;
            return;
        }

        var now = time.GetUtcNow();
        foreach (var file in Directory.EnumerateFiles(RecordsFolder, "*.json"))
        {
            CatalogImportRecord? record;
            try
            {
                record = JsonSerializer.Deserialize<CatalogImportRecord>(await File.ReadAllBytesAsync(file, ct), Json);
            }
            catch (JsonException)
            {
                File.Delete(file);
                continue;
            }

            if (record is null)
            {
                continue;
            }

            if (record.State == CatalogImportState.Importing && OwnedByAnotherLiveServer(record))
            {
                continue;
            }

            if (IsFinal(record.State) && now - (record.FinishedAt ?? record.SubmittedAt) > KeptFor)
            {
                File.Delete(file);
                continue;
            }

            if (record.State == CatalogImportState.Importing)
            {
                if (record.WorkerPid is { } pid)
                {
                    await StopOrphanAsync(pid, ct);
                }

                DeleteWorkFolder(record.Id);
                record.WorkerPid = null;
                Finish(record, CatalogImportState.Failed,
                    "The platform stopped while this import ran; the partial catalog was removed and nothing was registered. Start the import again.");
                LogRecovered(logger, record.Id, record.Name);
            }

            lock (_lock)
            {
                _imports[record.Id] = record;
            }

            if (record.State == CatalogImportState.Queued)
            {
                _wake.Writer.TryWrite(record.Id);
            }
        }

        _recovered = true;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_recovered)
        {
            // A host that did not call PrepareCatalogContextsAsync (some tests): recover here.
            await RecoverAsync(stoppingToken);
        }

        try
        {
            await foreach (var id in _wake.Reader.ReadAllAsync(stoppingToken))
            {
                CatalogImportRecord? record;
                lock (_lock)
                {
                    record = _imports.GetValueOrDefault(id);
                    if (record is not { State: CatalogImportState.Queued })
                    {
                        continue;
                    }
                }

                await RunAsync(record, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: a running import was failed and cleaned up by RunAsync.
        }
    }

    private async Task RunAsync(CatalogImportRecord record, CancellationToken stoppingToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        lock (_lock)
        {
            if (record.State != CatalogImportState.Queued)
            {
                return;
            }

            record.State = CatalogImportState.Importing;
            record.StartedAt = time.GetUtcNow();
            record.Host = Environment.MachineName;
            record.PlatformPid = Environment.ProcessId;
            record.SourceBytes = File.Exists(record.SourcePath) ? new FileInfo(record.SourcePath).Length : 0;
            Save(record);
            _running[record.Id] = cts;
        }

        var watch = Stopwatch.StartNew();
        LogStarted(logger, record.Id, record.Name);
        var (state, error, rows) = (CatalogImportState.Failed, (string?)"The import ended without a result.", (long?)null);
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var contexts = scope.ServiceProvider.GetRequiredService<CatalogContextService>();
            rows = await contexts.RunImportAsync(record, WorkFolder(record.Id), pid =>
            {
                lock (_lock)
                {
                    record.WorkerPid = pid;
                    Save(record);
                }

                return Task.CompletedTask;
            }, cts.Token);
            (state, error) = (CatalogImportState.Ready, null);
            LogReady(logger, record.Id, record.Name, rows.Value, watch.Elapsed.TotalSeconds);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            (state, error) = stoppingToken.IsCancellationRequested
                ? (CatalogImportState.Failed, "The platform stopped while this import ran; nothing was registered. Start the import again.")
                : (CatalogImportState.Canceled, record.Error ?? "Canceled.");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Whatever went wrong, the import ends Failed with the reason, and the runner goes on with the next one.
            (state, error) = (CatalogImportState.Failed, e is PlatformException ? e.Message : $"The import failed: {e.Message}");
            LogFailed(logger, record.Id, record.Name, e.Message);
        }
        finally
        {
            // The folder goes before the import shows as ended: whoever sees the end finds nothing half-written.
            DeleteWorkFolder(record.Id);
            lock (_lock)
            {
                _running.Remove(record.Id);
                record.WorkerPid = null;
                record.Rows = rows;
                Finish(record, state, error);
            }
        }
    }

    private void Finish(CatalogImportRecord record, CatalogImportState state, string? error)
    {
        record.State = state;
        record.Error = error;
        record.FinishedAt = time.GetUtcNow();
        Save(record);
    }

    private CatalogImportInfo Describe(CatalogImportRecord r)
    {
        var now = time.GetUtcNow();
        var elapsed = r.StartedAt is { } started ? ((r.FinishedAt ?? now) - started).TotalSeconds : 0;
        var context = r.State == CatalogImportState.Ready ? $"/api/admin/casjobs/contexts/{r.Name}" : null;
        var bytes = r.SourceBytes;
        switch (r.State)
        {
            case CatalogImportState.Importing:
                var p = SkyImportProgress.Read(WorkFolder(r.Id));
                return new CatalogImportInfo(r.Id, r.Name, r.Source, r.Format, r.Table, r.State, p?.Phase ?? SkyImportProgress.Reading, p?.RowsRead, p?.RowsTotal,
                    p?.BytesRead ?? 0, p?.BytesTotal ?? bytes, p?.PercentRead ?? 0, p?.SpillBytes ?? 0, Math.Round(elapsed, 1), r.SubmittedAt, r.StartedAt, r.FinishedAt,
                    r.AdminName, null, null);
            case CatalogImportState.Queued:
                return new CatalogImportInfo(r.Id, r.Name, r.Source, r.Format, r.Table, r.State, SkyImportProgress.Queued, null, null, 0, bytes, 0, 0, 0,
                    r.SubmittedAt, null, null, r.AdminName, null, null);
            case CatalogImportState.Ready:
                return new CatalogImportInfo(r.Id, r.Name, r.Source, r.Format, r.Table, r.State, "done", r.Rows, r.Rows, bytes, bytes, 100, 0, Math.Round(elapsed, 1),
                    r.SubmittedAt, r.StartedAt, r.FinishedAt, r.AdminName, null, context);
            case CatalogImportState.Failed:
            case CatalogImportState.Canceled:
            default:
                return new CatalogImportInfo(r.Id, r.Name, r.Source, r.Format, r.Table, r.State, r.State == CatalogImportState.Failed ? "failed" : "canceled", null, null, 0, bytes, 0, 0,
                    Math.Round(elapsed, 1), r.SubmittedAt, r.StartedAt, r.FinishedAt, r.AdminName, r.Error, null);
        }
    }

    private static bool IsFinal(CatalogImportState state) => state is CatalogImportState.Ready or CatalogImportState.Failed or CatalogImportState.Canceled;

    /// <summary>Writes the import's file: a temporary beside it, flushed, renamed over the old one.</summary>
    private void Save(CatalogImportRecord record)
    {
        Directory.CreateDirectory(RecordsFolder);
        var file = Path.Combine(RecordsFolder, record.Id + ".json");
        var temp = file + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            JsonSerializer.Serialize(stream, record, Json);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, file, overwrite: true);
    }

    private void DeleteWorkFolder(string id)
    {
        var folder = WorkFolder(id);
        if (Directory.Exists(folder))
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static bool OwnedByAnotherLiveServer(CatalogImportRecord record) =>
        record.PlatformPid != Environment.ProcessId && string.Equals(record.Host, Environment.MachineName, StringComparison.Ordinal)
        && record.PlatformPid > 0 && Jobs.QueryJobQueue.IsProcessAlive(record.PlatformPid)
        && (ReadCommandLine(record.PlatformPid)?.Contains("OpenSciServer", StringComparison.Ordinal) ?? false);

    private static string? ReadCommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Kills the worker a previous process started, if it still runs and is a query worker (pids are reused).</summary>
    private async Task StopOrphanAsync(int pid, CancellationToken ct)
    {
        if (!(ReadCommandLine(pid)?.Contains(QueryWorker.Verb, StringComparison.Ordinal) ?? false) || !Jobs.QueryJobQueue.IsProcessAlive(pid))
        {
            return;
        }

        try
        {
            using var process = Process.GetProcessById(pid);
            process.Kill(entireProcessTree: true);
            LogOrphanKilled(logger, pid);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return; // already gone
        }

        // Its files in the import folder go with it: wait (briefly) before removing the folder.
        for (var i = 0; i < 100 && Jobs.QueryJobQueue.IsProcessAlive(pid); i++)
        {
            await Task.Delay(50, ct);
        }
    }

    [LoggerMessage(1390, LogLevel.Information, "Catalog import {Id} of context {Name} from {Source} queued by {Admin}")]
    private static partial void LogQueued(ILogger logger, string id, string name, string source, string admin);

    [LoggerMessage(1391, LogLevel.Information, "Catalog import {Id} of context {Name} started")]
    private static partial void LogStarted(ILogger logger, string id, string name);

    [LoggerMessage(1392, LogLevel.Information, "Catalog import {Id}: context {Name} ready, {Rows} rows in {Seconds:0.0} s")]
    private static partial void LogReady(ILogger logger, string id, string name, long rows, double seconds);

    [LoggerMessage(1393, LogLevel.Warning, "Catalog import {Id} of context {Name} failed: {Error}")]
    private static partial void LogFailed(ILogger logger, string id, string name, string error);

    [LoggerMessage(1394, LogLevel.Information, "Catalog import {Id} of context {Name} canceled by {Admin}")]
    private static partial void LogCanceled(ILogger logger, string id, string name, string admin);

    [LoggerMessage(1395, LogLevel.Warning, "Catalog import {Id} of context {Name} was running when the platform stopped: failed, cleaned up")]
    private static partial void LogRecovered(ILogger logger, string id, string name);

    [LoggerMessage(1396, LogLevel.Warning, "Killed orphaned catalog import worker {Pid} left by the previous process")]
    private static partial void LogOrphanKilled(ILogger logger, int pid);
}
