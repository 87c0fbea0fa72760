using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using OpenSciServer.Accounts;
using OpenSciServer.CasJobs.Engines;
using OpenSciServer.CasJobs.TSql;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.CasJobs.Jobs;

/// <summary>
/// Runs long queries. The job rows are the truth: at start, jobs a previous process left running are requeued
/// (after their orphaned worker, if any, is killed); then Ready jobs start in submission order, within the
/// global and the per-user limits. A job that may write MyDB has its owner's MyDB to itself (DuckDB allows one
/// writer per file), so it starts only when none of the owner's jobs runs, and the owner's later jobs wait
/// behind it; jobs that only read open MyDB read-only and run side by side. Each job runs its statements in
/// one transaction in a sandboxed worker; a cancel kills the worker.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1711", Justification = "It is the long query queue; the design and the docs call it that.")]
public sealed partial class QueryJobQueue(
    IServiceScopeFactory scopes,
    QueryRunner runner,
    IOptions<CasJobsOptions> options,
    IOptions<PlatformOptions> platform,
    TimeProvider time,
    ILogger<QueryJobQueue> logger) : BackgroundService
{
    /// <summary>Rows a long query sends back at most (its results belong in MyDB; the rest are only counted).</summary>
    public const long MaxRows = 1000;

    /// <summary>Platform restarts a job may live through while it runs before it is failed rather than started again.</summary>
    public const int MaxAttempts = 3;

    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(5);

    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly ConcurrentDictionary<long, RunningJob> _running = new();
    private readonly Lock _holderFiles = new();
    private CancellationToken _stopping;

    /// <summary>Looks for Ready jobs now (a job was submitted or a slot freed).</summary>
    public void Wake() => _wake.Writer.TryWrite(true);

    /// <summary>Kills the worker of a running job whose row is already Canceling; the job then becomes Canceled.</summary>
    public void Cancel(long jobId)
    {
        if (_running.TryGetValue(jobId, out var job))
        {
            job.CancelByUser();
        }
    }

    /// <summary>Whether a process exists and is not a zombie (a zombie holds no file lock).</summary>
    public static bool IsProcessAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var state = stat[(stat.LastIndexOf(')') + 2)..].FirstOrDefault();
            return state is not ('Z' or 'X');
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return true;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _stopping = stoppingToken;
        try
        {
            await RecoverAsync(stoppingToken);
        }
        catch (Exception e) when (!stoppingToken.IsCancellationRequested)
        {
            LogQueueFailed(logger, e);
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await StartReadyJobsAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                // The queue must outlive a database hiccup; the next look retries.
                LogQueueFailed(logger, e);
            }

            using var poll = new CancellationTokenSource(PollInterval, time);
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(poll.Token, stoppingToken);
            try
            {
                await _wake.Reader.ReadAsync(wait.Token);
            }
            catch (OperationCanceledException)
            {
                // The periodic look, or the end.
            }
        }

        // The stopping token killed the workers; their jobs stay Started and are requeued at the next start.
        await Task.WhenAll(_running.Values.Select(r => r.Task));
    }

    /// <summary>Jobs a previous process left Started or Canceling: stop the orphaned worker, then requeue (or finish the cancel).</summary>
    private async Task RecoverAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PlatformDbContext>();
        var stale = await db.Set<QueryJob>().Where(j => j.Status == QueryJobStatus.Started || j.Status == QueryJobStatus.Canceling).ToListAsync(ct);
        var now = time.GetUtcNow();
        foreach (var job in stale)
        {
            if (job.WorkerPid is { } pid)
            {
                await StopOrphanAsync(pid, ct);
            }

            job.WorkerPid = null;
            if (job.Status == QueryJobStatus.Canceling)
            {
                (job.Status, job.FinishedAt, job.Message) = (QueryJobStatus.Canceled, now, "Canceled.");
            }
            else if (job.Attempts >= MaxAttempts)
            {
                (job.Status, job.FinishedAt, job.Message) = (QueryJobStatus.Failed, now,
                    $"The platform stopped {job.Attempts} times while this query ran, so it is not started again. Narrow the query, or ask an administrator.");
            }
            else
            {
                (job.Status, job.StartedAt, job.Message) = (QueryJobStatus.Ready, null, "The platform restarted while this query ran; it was queued again.");
            }

            LogRecovered(logger, job.Id, job.Status);
        }

        await db.SaveChangesAsync(ct);
        var myDbs = Path.Combine(platform.Value.DataPath, "mydb");
        if (Directory.Exists(myDbs))
        {
            foreach (var file in Directory.EnumerateFiles(myDbs, WorkerSession.HolderFileName, new EnumerationOptions { RecurseSubdirectories = true, MaxRecursionDepth = 1 }))
            {
                File.Delete(file);
            }
        }
    }

    /// <summary>Kills a worker a previous process started, if that process still exists and is a query worker (pids are reused).</summary>
    private async Task StopOrphanAsync(int pid, CancellationToken ct)
    {
        string commandLine;
        try
        {
            commandLine = await File.ReadAllTextAsync($"/proc/{pid}/cmdline", ct);
        }
        catch (IOException)
        {
            return;
        }

        if (!commandLine.Contains(QueryWorker.Verb, StringComparison.Ordinal) || !IsProcessAlive(pid))
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

        // Its MyDB lock goes with it; wait (briefly) so the requeued job does not find the file locked.
        for (var i = 0; i < 100 && IsProcessAlive(pid); i++)
        {
            await Task.Delay(50, ct);
        }
    }

    private async Task StartReadyJobsAsync(CancellationToken ct)
    {
        var o = options.Value;
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PlatformDbContext>();
        var startedAny = true;
        while (startedAny && _running.Count < o.LongQueriesTotal)
        {
            startedAny = false;
            // A user's jobs start in the order they were submitted, so only each user's oldest queued job may
            // start next; among users, the one queued longest goes first.
            var heads = await db.Set<QueryJob>().Where(j => j.Status == QueryJobStatus.Ready)
                .GroupBy(j => j.UserId).Select(g => g.Min(j => j.Id)).ToListAsync(ct);
            var candidates = await db.Set<QueryJob>().AsNoTracking().Where(j => heads.Contains(j.Id)).OrderBy(j => j.Id).ToListAsync(ct);
            foreach (var job in candidates)
            {
                if (_running.Count >= o.LongQueriesTotal)
                {
                    break;
                }

                var mine = _running.Values.Where(r => r.UserId == job.UserId).ToList();
                var writes = QueryJobSql.WritesMyDb(job.Query);
                if (mine.Count >= o.LongQueriesPerUser || mine.Any(r => r.Writes) || (writes && mine.Count > 0))
                {
                    continue;
                }

                // In the table before the row says Started, so a cancel always finds the worker to kill.
                var running = new RunningJob(job.Id, job.UserId, writes, _stopping);
                _running[job.Id] = running;
                var now = time.GetUtcNow();
                var claimed = await db.Set<QueryJob>().Where(j => j.Id == job.Id && j.Status == QueryJobStatus.Ready).ExecuteUpdateAsync(s => s
                    .SetProperty(j => j.Status, QueryJobStatus.Started)
                    .SetProperty(j => j.StartedAt, now)
                    .SetProperty(j => j.Attempts, j => j.Attempts + 1)
                    .SetProperty(j => j.WorkerPid, (int?)null), ct);
                if (claimed == 0)
                {
                    _running.TryRemove(job.Id, out _);
                    running.Dispose();
                    continue; // canceled meanwhile
                }

                running.Task = Task.Run(() => RunAsync(running, job), CancellationToken.None);
                startedAny = true; // the user's next job may be able to start too
            }
        }
    }

    private async Task RunAsync(RunningJob running, QueryJob job)
    {
        var o = options.Value;
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var queries = scope.ServiceProvider.GetRequiredService<QueryService>();
            var user = await scope.ServiceProvider.GetRequiredService<AccountService>().FindAsync(job.UserId, running.Token);
            var caller = new Caller(user.Id, user.UserName, user.IsAdmin);
            // Checked again: access to the context may have been withdrawn since the job was submitted.
            var contextPath = await queries.ContextPathAsync(caller, job.Context, running.Token);
            if (Engines.Postgres.PostgresLocation.IsPostgres(contextPath))
            {
                // A catalog in PostgreSQL: the job runs there as the user's role, its table in the user's MyDB schema.
                var context = (await queries.FindQueryableAsync(caller, job.Context, running.Token))!;
                try
                {
                    var result = await scope.ServiceProvider.GetRequiredService<Engines.Postgres.PostgresCatalogs>()
                        .JobAsync(caller, context, job.Id, job.Query, MaxRows, o.LongQueryTimeout, running.Token);
                    var pgRows = result.Job?.Rows ?? (result.Affected.Count > 0 ? result.Affected[^1] : 0);
                    await FinishAsync(job.Id, QueryJobStatus.Finished, null, pgRows, result.Job?.CreatedTable);
                    LogFinished(logger, job.Id, pgRows);
                }
                catch (TimeoutException)
                {
                    await FinishAsync(job.Id, QueryJobStatus.Failed,
                        $"The query ran longer than the long query limit of {o.LongQueryTimeout} and was stopped. Narrow it, or split it into several jobs.");
                }

                return;
            }

            var sky = await scope.ServiceProvider.GetRequiredService<Sky.SkyIndexes>().ForAsync(contextPath, running.Token);
            var statements = TSqlTranslator.Translate(job.Query, sky).Statements.Select(s => new WorkerStatement(s.Sql, s.ReturnsRows, s.Line)).ToList();
            var myDbs = scope.ServiceProvider.GetRequiredService<MyDb.MyDbAccess>();
            var access = await myDbs.ForQueryAsync(caller, job.Query, running.Token);
            var myDb = queries.MyDbPath(caller);
            running.MyDbFolder = Path.GetDirectoryName(myDb);
            WriteHolderFile(running.MyDbFolder);
            // A quick query may hold MyDB for up to its own time limit; the queue keeps the user's other jobs off it.
            var request = new WorkerRequest(myDb, contextPath, o.MemoryLimit, o.Threads, MaxRows, statements,
                MyDb: access with { ReadOnly = access.ReadOnly || !running.Writes, WaitSeconds = o.QuickQueryTimeout.TotalSeconds + 10 },
                Job: new WorkerJob(job.Id));
            using var limit = new CancellationTokenSource(o.LongQueryTimeout, time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(running.Token, limit.Token);
            try
            {
                QueryOutcome outcome;
                try
                {
                    outcome = await runner.RunAsync(request, o.LongQueryTimeout + TimeSpan.FromMinutes(1), pid => RecordPidAsync(job.Id, pid), linked.Token);
                }
                catch (PlatformException e) when (access.ReadOnly && running.Writes && e.Message.Contains("read-only mode", StringComparison.Ordinal))
                {
                    throw new PlatformException(ProblemKind.InsufficientStorage, MyDb.MyDbAccess.OverQuotaMessage(myDbs.UsedBytes(caller.UserName), myDbs.QuotaBytes));
                }

                var rows = outcome.Job?.Rows ?? (outcome.Affected.Count > 0 ? outcome.Affected[^1] : 0);
                await FinishAsync(job.Id, QueryJobStatus.Finished, null, rows, outcome.Job?.CreatedTable);
                LogFinished(logger, job.Id, rows);
            }
            catch (OperationCanceledException) when (limit.IsCancellationRequested && !running.Token.IsCancellationRequested)
            {
                await FinishAsync(job.Id, QueryJobStatus.Failed,
                    $"The query ran longer than the long query limit of {o.LongQueryTimeout} and was stopped. Narrow it, or split it into several jobs.");
            }
        }
        catch (OperationCanceledException) when (running.CanceledByUser)
        {
            await FinishAsync(job.Id, QueryJobStatus.Canceled, "Canceled.");
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // The platform is stopping: the row stays Started and the next start requeues it.
        }
        catch (PlatformException e)
        {
            await FinishAsync(job.Id, QueryJobStatus.Failed, e.Message);
        }
        catch (Exception e)
        {
            // Whatever went wrong, the job must not stay Started.
            LogJobFailed(logger, job.Id, e);
            await FinishAsync(job.Id, QueryJobStatus.Failed, "The query worker failed unexpectedly; the platform's log has the details. Try again, or narrow the query.");
        }
        finally
        {
            _running.TryRemove(job.Id, out _);
            WriteHolderFile(running.MyDbFolder);
            running.Dispose();
            Wake();
        }
    }

    private async Task RecordPidAsync(long id, int pid)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PlatformDbContext>();
        await db.Set<QueryJob>().Where(j => j.Id == id).ExecuteUpdateAsync(s => s.SetProperty(j => j.WorkerPid, pid), CancellationToken.None);
    }

    private async Task FinishAsync(long id, QueryJobStatus status, string? message, long? rows = null, string? createdTable = null)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PlatformDbContext>();
        var now = time.GetUtcNow();
        if (message is { Length: > 4000 })
        {
            message = message[..3997] + "...";
        }

        await db.Set<QueryJob>().Where(j => j.Id == id && (j.Status == QueryJobStatus.Started || j.Status == QueryJobStatus.Canceling)).ExecuteUpdateAsync(s => s
            .SetProperty(j => j.Status, status)
            .SetProperty(j => j.FinishedAt, now)
            .SetProperty(j => j.Message, message)
            .SetProperty(j => j.Rows, rows)
            .SetProperty(j => j.CreatedTable, createdTable)
            .SetProperty(j => j.WorkerPid, (int?)null), CancellationToken.None);
    }

    /// <summary>Tells quick queries which of the owner's jobs hold the MyDB (the worker names them when MyDB is busy).</summary>
    private void WriteHolderFile(string? folder)
    {
        if (folder is null)
        {
            return;
        }

        lock (_holderFiles)
        {
            var path = Path.Combine(folder, WorkerSession.HolderFileName);
            var ids = _running.Values.Where(r => r.MyDbFolder == folder).Select(r => r.Id).Order().ToList();
            try
            {
                if (ids.Count == 0)
                {
                    File.Delete(path);
                    return;
                }

                var temp = path + ".tmp";
                File.WriteAllText(temp, string.Join(",", ids));
                File.Move(temp, path, overwrite: true);
            }
            catch (IOException e)
            {
                LogQueueFailed(logger, e);
            }
        }
    }

    private sealed class RunningJob(long id, Guid userId, bool writes, CancellationToken stopping) : IDisposable
    {
        private readonly CancellationTokenSource _cancel = CancellationTokenSource.CreateLinkedTokenSource(stopping);

        public long Id { get; } = id;

        public Guid UserId { get; } = userId;

        /// <summary>Whether the job may write its owner's MyDB (and so needs it to itself).</summary>
        public bool Writes { get; } = writes;

        public string? MyDbFolder { get; set; }

        public Task Task { get; set; } = Task.CompletedTask;

        public bool CanceledByUser { get; private set; }

        public CancellationToken Token => _cancel.Token;

        public void CancelByUser()
        {
            CanceledByUser = true;
            try
            {
                _cancel.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // It has just ended.
            }
        }

        public void Dispose() => _cancel.Dispose();
    }

    [LoggerMessage(1320, LogLevel.Information, "Long query job {JobId} finished with {Rows} rows")]
    private static partial void LogFinished(ILogger logger, long jobId, long rows);

    [LoggerMessage(1321, LogLevel.Error, "Long query job {JobId} failed in the platform")]
    private static partial void LogJobFailed(ILogger logger, long jobId, Exception exception);

    [LoggerMessage(1322, LogLevel.Warning, "Long query job {JobId} was left running by the previous process; it is now {Status}")]
    private static partial void LogRecovered(ILogger logger, long jobId, QueryJobStatus status);

    [LoggerMessage(1323, LogLevel.Warning, "Killed orphaned query worker {Pid} left by the previous process")]
    private static partial void LogOrphanKilled(ILogger logger, int pid);

    [LoggerMessage(1324, LogLevel.Error, "The long query queue hit an error; it carries on")]
    private static partial void LogQueueFailed(ILogger logger, Exception exception);
}
