using System.Diagnostics;
using System.Globalization;
using DuckDB.NET.Data;

namespace OpenSciServer.CasJobs.Sky;

/// <summary>
/// Progress of a long statement on a DuckDB connection (a catalog import of 1e8 rows takes minutes): every
/// <c>interval</c> it asks DuckDB how far the statement has read its source and reports a line such as
/// "table 'gaia': 42,000,000 of about 100,000,000 rows read (42 %) after 95 s" (then "… sorting and writing" once all is
/// read). Reports
/// stop when disposed, before the caller writes anything else.
/// </summary>
public sealed class SkyImportProgress : IDisposable
{
    private readonly DuckDBConnection _db;
    private readonly string _table;
    private readonly Action<string> _report;
    private readonly Stopwatch _watch = Stopwatch.StartNew();
    private readonly Lock _lock = new();
    private readonly ManualResetEventSlim _stop = new();
    private readonly Thread _thread;
    private bool _stopped;
    private int _lastTenth = -1;

    private SkyImportProgress(DuckDBConnection db, string table, Action<string> report, TimeSpan interval)
    {
        _db = db;
        _table = table;
        _report = report;
        // Its own thread, not a timer: a busy thread pool (the web host's, or a test run's) would delay the reports.
        _thread = new Thread(() =>
        {
            while (!_stop.Wait(interval))
            {
                Tick();
            }
        })
        { IsBackground = true, Name = "catalog import progress" };
        _thread.Start();
    }

    /// <summary>Turns DuckDB's progress tracking on (without its console bar) and starts reporting.</summary>
    public static SkyImportProgress Start(DuckDBConnection db, string table, Action<string> report, TimeSpan interval)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(report);
        foreach (var setting in new[] { "SET enable_progress_bar = true", "SET enable_progress_bar_print = false", "SET progress_bar_time = 0" })
        {
            using var command = db.CreateCommand();
            command.CommandText = setting;
            command.ExecuteNonQuery();
        }

        return new SkyImportProgress(db, table, report, interval);
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
            if (progress.Percentage < 0 || progress.TotalRowsToProcess == 0)
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

    public void Dispose()
    {
        lock (_lock)
        {
            _stopped = true;
        }

        _stop.Set();
        _thread.Join();
        _stop.Dispose();
    }
}
