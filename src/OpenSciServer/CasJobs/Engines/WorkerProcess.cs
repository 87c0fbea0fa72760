using System.Diagnostics;
using System.Text;

namespace OpenSciServer.CasJobs.Engines;

/// <summary>
/// One running query worker: the process (in its memory group where the machine allows), its pipes,
/// and the sandbox it was started with (<see cref="Key"/>), which decides whom it may serve again.
/// </summary>
internal sealed class WorkerProcess : IAsyncDisposable
{
    private const int StderrKept = 8192;

    private readonly Process _process;
    private readonly WorkerCgroup? _cgroup;
    private readonly StringBuilder _stderr = new();
    private readonly Task _stderrPump;

    private WorkerProcess(Process process, WorkerCgroup? cgroup, string key, string owner)
    {
        _process = process;
        _cgroup = cgroup;
        Key = key;
        Owner = owner;
        _stderrPump = PumpStderrAsync();
    }

    /// <summary>The exact sandbox command and memory limit: a worker serves again only a request with the same key.</summary>
    public string Key { get; }

    /// <summary>Whose MyDB it opens: the MyDB folder.</summary>
    public string Owner { get; }

    public int Id => _process.Id;

    public StreamWriter Input => _process.StandardInput;

    public StreamReader Output => _process.StandardOutput;

    public DateTimeOffset IdleSince { get; set; }

    /// <summary>How many requests it has served.</summary>
    public int Served { get; set; }

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public bool OutOfMemory => _cgroup?.OutOfMemory() == true;

    public long? MemoryLimit => _cgroup?.LimitBytes;

    public static string KeyOf(string file, IReadOnlyList<string> args, long memoryBytes) =>
        string.Join('\0', args.Prepend(file)) + "\0" + memoryBytes.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public static WorkerProcess Start(string file, IReadOnlyList<string> args, long memoryBytes, string owner)
    {
        var key = KeyOf(file, args, memoryBytes);
        var cgroup = WorkerCgroups.TryCreate(memoryBytes);
        var (program, programArgs) = cgroup is null ? (file, args.ToList()) : cgroup.Wrap(file, args);
        var psi = new ProcessStartInfo(program, programArgs)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardInputEncoding = new UTF8Encoding(false),
        };
        var process = Process.Start(psi) ?? throw new InvalidOperationException("The query worker could not be started.");
        return new WorkerProcess(process, cgroup, key, owner);
    }

    public Task WaitForExitAsync(CancellationToken cancellationToken) => _process.WaitForExitAsync(cancellationToken);

    /// <summary>What the worker wrote on stderr (the last few KiB), for the log when it fails.</summary>
    public async Task<string> StderrAsync()
    {
        await _stderrPump.WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        lock (_stderr)
        {
            return _stderr.ToString();
        }
    }

    public void Kill()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    public async ValueTask DisposeAsync()
    {
        Kill();
        try
        {
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (TimeoutException)
        {
            // The group below kills what is left.
        }

        if (_cgroup is not null)
        {
            await _cgroup.DisposeAsync();
        }

        _process.Dispose();
    }

    private async Task PumpStderrAsync()
    {
        var buffer = new char[1024];
        int read;
        while ((read = await _process.StandardError.ReadAsync(buffer)) > 0)
        {
            lock (_stderr)
            {
                _stderr.Append(buffer, 0, read);
                if (_stderr.Length > StderrKept)
                {
                    _stderr.Remove(0, _stderr.Length - StderrKept);
                }
            }
        }
    }
}
