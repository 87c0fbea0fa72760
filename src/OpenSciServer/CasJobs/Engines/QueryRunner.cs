using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Options;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.CasJobs.Engines;

/// <summary>One result set of a query: its columns and the rows that came back (up to the row limit).</summary>
public sealed record ResultSet(IReadOnlyList<WorkerColumn> Columns, IReadOnlyList<JsonElement[]> Rows, bool Truncated);

public sealed record QueryOutcome(IReadOnlyList<ResultSet> ResultSets, IReadOnlyList<long> Affected);

/// <summary>
/// Runs user SQL in a separate worker process (this binary, <c>query-worker</c>), inside bubblewrap:
/// the worker sees the system's /usr read-only, the application read-only, the catalog context
/// read-only and the caller's MyDB folder read-write, and nothing else — no network, no other users'
/// MyDBs, no platform database or keys. A query past its time limit, or cancelled, is killed.
/// </summary>
public sealed partial class QueryRunner(IOptions<CasJobsOptions> options, ILogger<QueryRunner> logger)
{
    public async Task<QueryOutcome> RunAsync(WorkerRequest request, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (file, args) = WorkerCommand(request);
        var psi = new ProcessStartInfo(file, args)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("The query worker could not be started.");
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        try
        {
            // The worker's own deadline is a little later than ours: ours reports, its ends orphans.
            request = request with { DeadlineSeconds = (int)Math.Ceiling(timeout.TotalSeconds) + 5 };
            await JsonSerializer.SerializeAsync(process.StandardInput.BaseStream, request, QueryWorker.Json, limit.Token);
            process.StandardInput.Close();
            var outcome = await ReadAsync(process.StandardOutput, limit.Token);
            await process.WaitForExitAsync(limit.Token);
            if (outcome.Error is { } error)
            {
                throw PlatformException.Invalid(error, "query");
            }

            if (process.ExitCode != 0)
            {
                LogWorkerFailed(logger, process.ExitCode, await stderr);
                throw new InvalidOperationException($"The query worker failed (exit {process.ExitCode}).");
            }

            return new QueryOutcome(outcome.Sets, outcome.Affected);
        }
        catch (OperationCanceledException)
        {
            Kill(process);
            if (cancellationToken.IsCancellationRequested)
            {
                throw;
            }

            throw new PlatformException(ProblemKind.Invalid,
                $"The query ran longer than its limit of {timeout.TotalSeconds:0} s and was stopped. Submit it as a long query, or narrow it.", "query");
        }
    }

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
        var o = options.Value;
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

        // No --die-with-parent: it ties the sandbox to the .NET thread that started it, and the thread
        // pool retires threads, which would kill healthy workers. The runner kills on timeout and
        // cancel, and the worker ends itself at its own deadline if the platform is gone.
        args.AddRange(["--unshare-all", "--new-session", "--cap-drop", "ALL",
            "--clearenv", "--setenv", "HOME", "/tmp", "--setenv", "DOTNET_CLI_TELEMETRY_OPTOUT", "1",
            "--setenv", "DOTNET_gcServer", "0", "--chdir", "/tmp", "--", program]);
        args.AddRange(programArgs);
        return (o.BubblewrapPath, args);
    }

    private static async Task<(List<ResultSet> Sets, List<long> Affected, string? Error)> ReadAsync(StreamReader output, CancellationToken cancellationToken)
    {
        var sets = new List<ResultSet>();
        var affected = new List<long>();
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
                    sets.Add(new ResultSet(columns ?? [], rows, root.GetProperty("truncated").GetBoolean()));
                    break;
                case "done" when root.GetProperty("statement").GetInt32() < 0:
                    break; // the upload's own confirmation
                case "done":
                    affected.Add(root.GetProperty("count").GetInt64());
                    break;
                case "error":
                    return (sets, affected, root.GetProperty("message").GetString());
            }
        }

        return (sets, affected, null);
    }

    private static void Kill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    [LoggerMessage(1300, LogLevel.Error, "Query worker exited with {ExitCode}: {Error}")]
    private static partial void LogWorkerFailed(ILogger logger, int exitCode, string error);
}
