using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using DuckDB.NET.Data;

namespace OpenSciServer.CasJobs.Sky;

/// <summary>
/// How far a catalog import is, as the worker measured it. <c>Phase</c>: <see cref="SkyImportProgress.Reading"/> (the file is
/// read and every row gets its HEALPix index), <see cref="SkyImportProgress.Sorting"/> (all read; DuckDB sorts by the index,
/// spilling to disk past the memory limit), <see cref="SkyImportProgress.Writing"/> (sorted rows go into the new catalog, then
/// its checkpoint). Rows are null where the source does not tell them (a CSV without ra and dec while it is read); bytes read
/// are what the worker process has read (/proc/self/io), at most the file's size.
/// </summary>
public sealed record ImportProgressSnapshot(
    [property: JsonPropertyName("phase")] string Phase,
    [property: JsonPropertyName("rowsRead")] long? RowsRead,
    [property: JsonPropertyName("rowsTotal")] long? RowsTotal,
    [property: JsonPropertyName("bytesRead")] long BytesRead,
    [property: JsonPropertyName("bytesTotal")] long BytesTotal,
    [property: JsonPropertyName("percentRead")] double PercentRead,
    [property: JsonPropertyName("spillBytes")] long SpillBytes,
    [property: JsonPropertyName("outputBytes")] long OutputBytes);

/// <summary>
/// Progress of a catalog import in its worker (1e8 rows take minutes): every <c>interval</c> it asks DuckDB how far the
/// statement has read its source, reads the process's own I/O counter and the sizes of the new catalog and the spill folder,
/// and (1) writes an <see cref="ImportProgressSnapshot"/> to <see cref="FileName"/> beside the new catalog, replaced
/// atomically, which the platform shows on the import's page and route; (2) reports a line for the log such as
/// "table 'gaia': 42,000,000 of about 100,000,000 rows read (42 %) after 95 s" (then "… sorting and writing" once all is read).
/// Reports stop when disposed, before the caller writes anything else.
/// </summary>
public sealed class SkyImportProgress : IDisposable
{
    /// <summary>The progress file in the import's folder (read by the platform).</summary>
    public const string FileName = "progress.json";

    public const string Queued = "queued";

    public const string Reading = "reading";

    public const string Sorting = "sorting";

    public const string Writing = "writing";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly DuckDBConnection _db;
    private readonly string _table;
    private readonly Action<string>? _report;
    private readonly Stopwatch _watch = Stopwatch.StartNew();
    private readonly Lock _lock = new();
    private readonly ManualResetEventSlim _stop = new();
    private readonly Thread _thread;
    private readonly string _source;
    private readonly long _sourceBytes;
    private readonly string _output;
    private readonly string _folder;
    private readonly long _outputAtStart;
    private readonly long _readAtStart;
    private readonly bool _rowCountFromDuckDb;
    private bool _stopped;
    private int _lastTenth = -1;
    private string? _forcedPhase;

    private SkyImportProgress(DuckDBConnection db, string table, Action<string>? report, TimeSpan interval, string source, string output, bool rowCountFromDuckDb)
    {
        _db = db;
        _table = table;
        _report = report;
        _source = source;
        _sourceBytes = File.Exists(source) ? new FileInfo(source).Length : 0;
        _output = output;
        _folder = Path.GetDirectoryName(Path.GetFullPath(output)) ?? ".";
        _outputAtStart = SizeOf(output);
        _readAtStart = ProcessBytesRead();
        _rowCountFromDuckDb = rowCountFromDuckDb;
        // Its own thread, not a timer: a busy thread pool (the web host's, or a test run's) would delay the reports.
        _thread = new Thread(() =>
        {
            Tick();
            while (!_stop.Wait(interval))
            {
                Tick();
            }
        })
        { IsBackground = true, Name = "catalog import progress" };
        _thread.Start();
    }

    /// <summary>Rows that got their HEALPix index so far (counted by the index function: exact for CSV, Parquet and FITS).</summary>
    public StrongBoxCounter IndexedRows { get; } = new();

    /// <summary>Turns DuckDB's progress tracking on (without its console bar) and starts reporting.</summary>
    public static SkyImportProgress Start(DuckDBConnection db, string table, Action<string> report, TimeSpan interval) =>
        Start(db, table, report, interval, "", "", rowCountFromDuckDb: true);

    /// <summary>
    /// As <see cref="Start(DuckDBConnection, string, Action{string}, TimeSpan)"/>, and also writes <see cref="FileName"/> beside
    /// <paramref name="output"/> (the new catalog) with what was read of <paramref name="source"/>.
    /// </summary>
    /// <param name="rowCountFromDuckDb">Whether DuckDB's own row count is the source's (Parquet: yes; CSV: DuckDB counts something else).</param>
    public static SkyImportProgress Start(DuckDBConnection db, string table, Action<string>? report, TimeSpan interval, string source, string output, bool rowCountFromDuckDb)
    {
        ArgumentNullException.ThrowIfNull(db);
        foreach (var setting in new[] { "SET enable_progress_bar = true", "SET enable_progress_bar_print = false", "SET progress_bar_time = 0" })
        {
            using var command = db.CreateCommand();
            command.CommandText = setting;
            command.ExecuteNonQuery();
        }

        return new SkyImportProgress(db, table, report, interval, source, output, rowCountFromDuckDb);
    }

    /// <summary>The statement that read and sorted is done: from now on the catalog is being written (checkpoint).</summary>
    public void NowWriting()
    {
        lock (_lock)
        {
            _forcedPhase = Writing;
        }

        Tick();
    }

    /// <summary>Reads the progress file an import's worker writes; null when there is none (yet) or it cannot be read.</summary>
    public static ImportProgressSnapshot? Read(string folder)
    {
        try
        {
            return JsonSerializer.Deserialize<ImportProgressSnapshot>(File.ReadAllBytes(Path.Combine(folder, FileName)), Json);
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private void Tick()
    {
        lock (_lock)
        {
            if (_stopped)
            {
                return;
            }

            var progress = _db.GetQueryProgress();
            var known = progress.Percentage >= 0 && progress.TotalRowsToProcess > 0;
            if (_output.Length > 0)
            {
                WriteSnapshot(progress.Percentage, (long)progress.RowsProcessed, (long)progress.TotalRowsToProcess, known);
            }

            if (!known || _report is null)
            {
                return;
            }

            // One line per tenth read, and then one for the sort and write that follow.
            var tenth = progress.RowsProcessed >= progress.TotalRowsToProcess || progress.Percentage >= 99.95 ? 10 : (int)Math.Floor(progress.Percentage / 10);
            if (tenth <= _lastTenth)
            {
                return;
            }

            _lastTenth = tenth;
            var seconds = _watch.Elapsed.TotalSeconds;
            _report(tenth == 10
                ? string.Create(CultureInfo.InvariantCulture, $"table '{_table}': all {progress.RowsProcessed:N0} rows read after {seconds:0} s; sorting and writing")
                : string.Create(CultureInfo.InvariantCulture, $"table '{_table}': {progress.RowsProcessed:N0} of about {progress.TotalRowsToProcess:N0} rows read ({progress.Percentage:0} %) after {seconds:0} s"));
        }
    }

    private void WriteSnapshot(double percentage, long rowsProcessed, long totalRows, bool known)
    {
        var read = Math.Max(0, ProcessBytesRead() - _readAtStart);
        var output = SizeOf(_output) + SizeOf(_output + ".wal");
        var allRead = (known && percentage >= 99.95) || (_sourceBytes > 0 && read >= _sourceBytes);
        // Sorted rows reach the new file only once all is read and sorted; an import without a sort (no ra and dec) writes as it reads.
        var sorts = IndexedRows.Value > 0;
        var phase = _forcedPhase
            ?? (sorts ? (output > _outputAtStart + (1 << 20) ? Writing : allRead ? Sorting : Reading)
                : allRead ? Writing : Reading);
        long? rows = IndexedRows.Value > 0 ? IndexedRows.Value : known && _rowCountFromDuckDb ? rowsProcessed : null;
        long? total = known && _rowCountFromDuckDb ? Math.Max(totalRows, rows ?? 0) : null;
        if (phase != Reading && rows is { } r)
        {
            // Past reading the count is final; DuckDB's estimate of the total may be a few rows off.
            total = r;
        }

        var bytes = phase == Reading ? Math.Min(read, _sourceBytes) : _sourceBytes;
        var percent = phase != Reading ? 100
            : known && _rowCountFromDuckDb ? Math.Round(Math.Clamp(percentage, 0, 100), 1)
            : _sourceBytes > 0 ? Math.Round(100.0 * bytes / _sourceBytes, 1) : 0;
        var snapshot = new ImportProgressSnapshot(phase, rows, total, bytes, _sourceBytes, percent, FolderSize(Path.Combine(_folder, "spill")), output);
        var file = Path.Combine(_folder, FileName);
        try
        {
            File.WriteAllBytes(file + ".tmp", JsonSerializer.SerializeToUtf8Bytes(snapshot, Json));
            File.Move(file + ".tmp", file, overwrite: true);
        }
        catch (IOException)
        {
            // The folder is going (canceled); the next tick or the end tells.
        }
    }

    /// <summary>Bytes this process has read through read(2) and friends (the source file, mostly, while it is read).</summary>
    private static long ProcessBytesRead()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/io"))
            {
                if (line.StartsWith("rchar:", StringComparison.Ordinal))
                {
                    return long.Parse(line.AsSpan(6).Trim(), CultureInfo.InvariantCulture);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // No /proc: bytes read stay unknown (0).
        }

        return 0;
    }

    private static long SizeOf(string path) => path.Length > 0 && File.Exists(path) ? new FileInfo(path).Length : 0;

    private static long FolderSize(string folder)
    {
        try
        {
            return Directory.Exists(folder) ? new DirectoryInfo(folder).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length) : 0;
        }
        catch (IOException)
        {
            return 0; // spill files come and go while they are counted
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_stopped)
            {
                return;
            }

            _stopped = true;
        }

        _stop.Set();
        _thread.Join();
        _stop.Dispose();
    }
}

/// <summary>A row counter shared by the index function's calls (DuckDB calls it from several threads).</summary>
public sealed class StrongBoxCounter
{
    private long _value;

    public long Value => Interlocked.Read(ref _value);

    public void Add(long count) => Interlocked.Add(ref _value, count);
}
