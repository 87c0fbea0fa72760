using System.Text.Json;
using Microsoft.Extensions.Options;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.CasJobs.Engines;

/// <summary>One result set of a query: its columns and the rows that came back (up to the row limit).</summary>
public sealed record ResultSet(IReadOnlyList<WorkerColumn> Columns, IReadOnlyList<JsonElement[]> Rows, bool Truncated);

public sealed record QueryOutcome(IReadOnlyList<ResultSet> ResultSets, IReadOnlyList<long> Affected, LongQueryResult? Job = null);

/// <summary>What a long query's worker reports at its commit: the MyDB table it created, if any, and the rows.</summary>
public sealed record LongQueryResult(string? CreatedTable, long Rows);

/// <summary>
/// Runs user SQL in a separate worker process (this binary, <c>query-worker</c>), inside bubblewrap:
/// the worker sees the system's /usr read-only, the application read-only, the catalog context
/// read-only and the caller's MyDB folder read-write, and nothing else — no network, no other users'
/// MyDBs, no platform database or keys. A query past its time limit, or cancelled, is killed.
/// </summary>
public sealed partial class QueryRunner : IAsyncDisposable
{
    private readonly IOptions<CasJobsOptions> _options;
    private readonly ILogger<QueryRunner> _logger;
    private readonly WorkerPool _pool;

    /// <summary>Running workers per MyDB folder: a worker is kept warm only when no other worker of its user runs.</summary>
    private readonly Dictionary<string, int> _running = [];

    public QueryRunner(IOptions<CasJobsOptions> options, ILogger<QueryRunner> logger, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _logger = logger;
        _pool = new WorkerPool(options.Value.WarmWorkers, options.Value.WarmWorkerIdleTime, time ?? TimeProvider.System);
    }

    /// <summary>Idle warm workers (for tests and diagnostics).</summary>
    public int IdleWorkers => _pool.IdleCount;

    public Task<QueryOutcome> RunAsync(WorkerRequest request, TimeSpan timeout, CancellationToken cancellationToken) =>
        RunAsync(request, timeout, started: null, cancellationToken);

    /// <summary>
    /// Runs a request in a worker: a warm one started with the same sandbox when there is one and
    /// <paramref name="reuse"/> allows (never for a long query), else a new one. A worker that ran past
    /// the limit, was cancelled or failed is killed; one that finished cleanly goes back to the pool.
    /// </summary>
    /// <param name="started">Told the worker's process id before the request is sent (a long query records it, to stop an orphan after a crash).</param>
    public async Task<QueryOutcome> RunAsync(WorkerRequest request, TimeSpan timeout, Func<int, Task>? started, CancellationToken cancellationToken, bool reuse = true)
    {
        ArgumentNullException.ThrowIfNull(request);
        // Never reused: a long query's worker (its pid is recorded), and anonymous queries (no MyDB tells whose they are).
        reuse &= request.Job is null && request.MyDbPath != DuckDbSandbox.InMemory;
        var (file, args) = WorkerCommand(request);
        var memory = _options.Value.WorkerMemoryBytes(request.MemoryLimit);
        // The worker's own deadline is a little later than ours: ours reports, its ends orphans.
        request = request with { DeadlineSeconds = (int)Math.Ceiling(timeout.TotalSeconds) + 5 };
        var line = JsonSerializer.Serialize(request, QueryWorker.Json);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        var owner = request.MyDbPath == DuckDbSandbox.InMemory ? "" : Path.GetDirectoryName(Path.GetFullPath(request.MyDbPath)) ?? "";
        var warm = reuse ? _pool.TryTake(WorkerProcess.KeyOf(file, args, memory)) : null;
        // The user's other idle workers hold their MyDB open: stop them before this one needs it.
        await _pool.EvictAsync(owner);
        var worker = warm ?? WorkerProcess.Start(file, args, memory, owner);
        var keep = false;
        var outcome = new WorkerAnswer();
        Running(owner, +1);
        try
        {
            try
            {
                await SendAsync(worker, line, started, limit.Token);
            }
            catch (IOException) when (warm is not null)
            {
                // The warm worker had gone (killed, recycled): start a fresh one.
                await worker.DisposeAsync();
                worker = WorkerProcess.Start(file, args, memory, owner);
                await SendAsync(worker, line, started, limit.Token);
            }

            await ReadAsync(worker.Output, outcome, _logger, limit.Token);
            if (outcome.Finished)
            {
                worker.Served++;
                keep = reuse;
                if (outcome.Error is { } error)
                {
                    throw PlatformException.Invalid(error, "query");
                }

                return new QueryOutcome(outcome.Sets, outcome.Affected, outcome.Job);
            }

            // The worker ended before finishing: killed by the kernel, or crashed.
            await worker.WaitForExitAsync(limit.Token);
            if (outcome.Error is { } early)
            {
                throw PlatformException.Invalid(early, "query");
            }

            if (worker.OutOfMemory)
            {
                throw PlatformException.Invalid(
                    $"The query needed more than the {Files.QuotaService.Bytes(worker.MemoryLimit ?? 0)} of memory a query may use and was stopped. Narrow it, aggregate in SQL, or write the result into MyDB with a long query.", "query");
            }

            LogWorkerFailed(_logger, worker.ExitCode, await worker.StderrAsync());
            throw new InvalidOperationException($"The query worker failed (exit {worker.ExitCode}).");
        }
        catch (OperationCanceledException)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                throw;
            }

            throw new PlatformException(ProblemKind.Invalid, outcome.WaitedForMyDb
                ? $"Your MyDB was in use by another of your queries for the whole time limit of {timeout.TotalSeconds:0} s, so this query did not run. Try again when that query has finished."
                : $"The query ran longer than its limit of {timeout.TotalSeconds:0} s and was stopped. Submit it as a long query, or narrow it.", "query");
        }
        finally
        {
            // An idle worker holds its user's MyDB open: while another of their workers runs (a long
            // query waiting for the file, say), this one does not stay.
            if (Running(owner, -1) > 0)
            {
                keep = false;
            }

            if (keep)
            {
                _pool.Return(worker);
            }
            else
            {
                await worker.DisposeAsync();
            }
        }
    }

    /// <summary>Counts a worker of <paramref name="owner"/> in or out; returns how many others run.</summary>
    private int Running(string owner, int change)
    {
        lock (_running)
        {
            var count = _running.GetValueOrDefault(owner) + change;
            if (count == 0)
            {
                _running.Remove(owner);
            }
            else
            {
                _running[owner] = count;
            }

            return change > 0 ? count - 1 : count;
        }
    }

    private static async Task SendAsync(WorkerProcess worker, string line, Func<int, Task>? started, CancellationToken cancellationToken)
    {
        if (started is not null)
        {
            await started(worker.Id);
        }

        await worker.Input.WriteLineAsync(line.AsMemory(), cancellationToken);
        await worker.Input.FlushAsync(cancellationToken);
    }

    public ValueTask DisposeAsync() => _pool.DisposeAsync();

    /// <summary>The command that starts a worker, sandboxed as configured. Exposed so tests can probe the sandbox itself.</summary>
    public (string File, List<string> Args) WorkerCommand(WorkerRequest request) =>
        SandboxCommand(request, Path.Combine(DotnetRoot, "dotnet"), [Path.Combine(AppContext.BaseDirectory, "OpenSciServer.dll"), QueryWorker.Verb]);

    /// <summary>Where the running .NET is installed (…/shared/Microsoft.NETCore.App/&lt;version&gt;/ is three levels below).</summary>
    private static string DotnetRoot { get; } =
        Path.GetFullPath(Path.Combine(System.Runtime.InteropServices.RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));

    /// <summary>Wraps any command in the worker's sandbox (the same mounts and namespaces).</summary>
    public (string File, List<string> Args) SandboxCommand(WorkerRequest request, string program, IEnumerable<string> programArgs)
    {
        ArgumentNullException.ThrowIfNull(request);
        var o = _options.Value;
        if (!o.Sandbox)
        {
            return (program, programArgs.ToList());
        }

        var app = AppContext.BaseDirectory.TrimEnd('/');
        var args = new List<string>
        {
            "--ro-bind", "/usr", "/usr",
            "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64", "--symlink", "usr/bin", "/bin",
            "--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache",
            "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
            "--ro-bind", app, app,
        };
        if (!DotnetRoot.StartsWith("/usr/", StringComparison.Ordinal))
        {
            // .NET installed outside /usr (e.g. /opt/dotnet or ~/.dotnet): the worker needs it, read-only.
            args.AddRange(["--ro-bind", DotnetRoot, DotnetRoot]);
        }
        if (request.ContextPath is { } context)
        {
            var full = Path.GetFullPath(context);
            args.AddRange(["--ro-bind", full, full]);
        }

        if (request.MyDbPath != DuckDbSandbox.InMemory)
        {
            var myDbFolder = Path.GetDirectoryName(Path.GetFullPath(request.MyDbPath))!;
            args.AddRange(["--bind", myDbFolder, myDbFolder]);
        }

        foreach (var bind in request.MyDb?.Binds ?? [])
        {
            // Owners' MyDB folders for shared tables (read-only), the one file an import reads or an export writes.
            var full = Path.GetFullPath(bind.Path);
            args.AddRange([bind.Writable ? "--bind" : "--ro-bind", full, full]);
        }

        // No --die-with-parent: it ties the sandbox to the .NET thread that started it, and the thread
        // pool retires threads, which would kill healthy workers. The runner kills on timeout and
        // cancel, and the worker ends itself at its own deadline if the platform is gone.
        args.AddRange(["--unshare-all", "--new-session", "--cap-drop", "ALL",
            "--clearenv", "--setenv", "HOME", "/tmp", "--setenv", "DOTNET_CLI_TELEMETRY_OPTOUT", "1",
            "--setenv", "DOTNET_gcServer", "0", "--chdir", "/tmp", "--", program]);
        args.AddRange(programArgs);
        return (o.BubblewrapPath, args);
    }

    /// <summary>What a worker answered to one request, read line by line.</summary>
    private sealed class WorkerAnswer
    {
        public List<ResultSet> Sets { get; } = [];

        public List<long> Affected { get; } = [];

        public string? Error { get; set; }

        public LongQueryResult? Job { get; set; }

        /// <summary>The worker said it waits for the user's MyDB, which another process holds.</summary>
        public bool WaitedForMyDb { get; set; }

        /// <summary>The worker finished the request (and can serve another).</summary>
        public bool Finished { get; set; }
    }

    private static async Task ReadAsync(StreamReader output, WorkerAnswer answer, ILogger logger, CancellationToken cancellationToken)
    {
        List<WorkerColumn>? columns = null;
        var rows = new List<JsonElement[]>();
        string? line;
        while ((line = await output.ReadLineAsync(cancellationToken)) is not null)
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            switch (root.GetProperty("kind").GetString())
            {
                case "columns":
                    columns = root.GetProperty("columns").Deserialize<List<WorkerColumn>>(QueryWorker.Json);
                    rows = [];
                    break;
                case "rows":
                    rows.AddRange(root.GetProperty("rows").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.Clone()).ToArray()));
                    break;
                case "end":
                    answer.Sets.Add(new ResultSet(columns ?? [], rows, root.GetProperty("truncated").GetBoolean()));
                    break;
                case "done" when root.GetProperty("statement").GetInt32() < 0:
                    break; // the upload's own confirmation
                case "done":
                    answer.Affected.Add(root.GetProperty("count").GetInt64());
                    break;
                case "job":
                    answer.Job = new LongQueryResult(root.TryGetProperty("table", out var table) ? table.GetString() : null, root.GetProperty("count").GetInt64());
                    break;
                case "waiting":
                    answer.WaitedForMyDb = true;
                    break;
                case "progress":
                    LogProgress(logger, root.GetProperty("message").GetString() ?? "");
                    break;
                case "error":
                    answer.Error = root.GetProperty("message").GetString();
                    break;
                case "finished":
                    answer.Finished = true;
                    return;
            }
        }
    }

    [LoggerMessage(1380, LogLevel.Information, "Catalog import: {Progress}")]
    private static partial void LogProgress(ILogger logger, string progress);

    [LoggerMessage(1300, LogLevel.Error, "Query worker exited with {ExitCode}: {Error}")]
    private static partial void LogWorkerFailed(ILogger logger, int exitCode, string error);
}
