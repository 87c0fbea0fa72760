using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.Options;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.Compute.Backends;

/// <summary>
/// Sessions as sandboxed processes on the platform's own machine. Each runs Jupyter inside bubblewrap
/// as the user's own uid (setpriv, no new privileges), seeing the system's /usr read-only, a short list
/// of /etc files, a generated /etc/passwd line, its private home, the chosen volumes and nothing else
/// of the machine; its own /proc and /tmp. Its processes live in the session's control groups, which
/// set the memory, process and CPU limits, find the session again after a platform restart and kill
/// all of it on stop. The sandbox is started detached (setsid -f) so the platform can restart, or be
/// killed, without taking sessions with it.
/// </summary>
internal sealed partial class LocalBackend(IOptions<ComputeOptions> options, IOptions<PlatformOptions> platform, ILogger<LocalBackend> logger) : IComputeBackend
{
    /// <summary>Where the platform's Jupyter configuration appears inside the sandbox (read-only, JUPYTER_CONFIG_DIR).</summary>
    public const string JupyterConfigDir = "/etc/opensciserver/jupyter";

    /// <summary>Where the user's volumes appear inside (see <see cref="Sandbox.Workspace"/>).</summary>
    public const string Workspace = Sandbox.Workspace;

    public string Name => ComputeBackends.Local;

    public string? Unavailable
    {
        get
        {
            if (Native.GetEffectiveUserId() != 0)
            {
                return "The local compute backend needs the platform to run as root, to start each session as its user's own uid.";
            }

            if (!File.Exists(options.Value.BubblewrapPath) || !File.Exists(options.Value.SetprivPath))
            {
                return $"The local compute backend needs bubblewrap ({options.Value.BubblewrapPath}) and setpriv ({options.Value.SetprivPath}); install the bubblewrap and util-linux packages.";
            }

            return SessionCgroup.Unavailable is { } why ? $"The local compute backend cannot limit sessions: {why}." : null;
        }
    }

    /// <summary>The platform's private folder for one session's sandbox files (passwd, Jupyter config, log). Never mounted into the session.</summary>
    public string PrivateFolder(Guid sessionId) => Path.Combine(platform.Value.DataPath, "compute", "local", sessionId.ToString("N"));

    public async Task<BackendHandle> StartAsync(SessionLaunch launch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(launch);
        if (Unavailable is { } why)
        {
            throw PlatformException.Invalid(why);
        }

        var name = GroupName(launch.SessionId, launch.Generation);
        var started = false;
        // A leftover of an interrupted earlier attempt of the same generation: start clean.
        if (SessionCgroup.Open(name) is { } stale)
        {
            await stale.KillAndRemoveAsync(cancellationToken);
        }

        var folder = Directory.CreateDirectory(PrivateFolder(launch.SessionId)).FullName;
        SetMode(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        WriteSandboxFiles(folder, launch);
        var port = FreePort();
        var group = SessionCgroup.Create(name, launch.Domain.MemoryBytes, launch.Domain.MaxProcesses, launch.Domain.Cpus);
        try
        {
            await RunDetachedAsync(launch, folder, port, group, cancellationToken);
            started = true;
        }
        finally
        {
            if (!started)
            {
                // Nothing of a start that did not complete may stay (the platform may be shutting down: no token).
                await group.KillAndRemoveAsync(CancellationToken.None);
            }
        }

        LogStarted(logger, launch.SessionId, launch.UserName, launch.Uid, port);
        return new BackendHandle(name, IPAddress.Loopback.ToString(), port);
    }

    private async Task RunDetachedAsync(SessionLaunch launch, string folder, int port, SessionCgroup group, CancellationToken cancellationToken)
    {
        var log = Path.Combine(folder, "jupyter.log");

        // sh enters the control groups, then execs the sandbox with output to the log file: nothing of the
        // session writes to the platform's own stdout, and a dead platform does not break its pipes.
        var script = "exec >>\"$LOG\" 2>&1 </dev/null; " + group.EnterScript() + " && exec \"$@\"";
        var psi = new ProcessStartInfo("/usr/bin/setsid", ["-f", "/bin/sh", "-c", script, "sh", options.Value.BubblewrapPath, .. SandboxArgs(launch, folder, port)])
        {
            UseShellExecute = false,
            RedirectStandardInput = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = "/",
        };
        psi.Environment.Clear();
        psi.Environment["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin";
        psi.Environment["LOG"] = log;
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("setsid could not be started.");
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        _ = process.StandardOutput.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            var error = await stderr;
            LogStartFailed(logger, launch.SessionId, process.ExitCode, error);
            throw new InvalidOperationException($"The sandbox could not be started (exit {process.ExitCode}).");
        }

        // setsid -f returns before its child has entered the groups; the session exists once it has.
        for (var i = 0; i < 100 && group.Processes().Count == 0; i++)
        {
            await Task.Delay(50, cancellationToken);
        }

        if (group.Processes().Count == 0)
        {
            throw new InvalidOperationException("The sandbox ended at once. " + EndReason(launch.SessionId, null));
        }
    }

    public Task<BackendState> GetStateAsync(Guid sessionId, string backendId, CancellationToken cancellationToken)
    {
        var group = SessionCgroup.Open(backendId);
        if (group is null || group.Processes().Count == 0)
        {
            return Task.FromResult(new BackendState(BackendStatus.Gone, Reason: EndReason(sessionId, group)));
        }

        return Task.FromResult(new BackendState(BackendStatus.Running));
    }

    public async Task StopAsync(Guid sessionId, string backendId, CancellationToken cancellationToken)
    {
        if (SessionCgroup.Open(backendId) is { } group)
        {
            await group.KillAndRemoveAsync(cancellationToken);
            LogStopped(logger, sessionId);
        }
    }

    public async Task RemoveOrphansAsync(IReadOnlyCollection<string> keep, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keep);
        foreach (var name in SessionCgroup.Names(InstancePrefix + "-"))
        {
            if (!keep.Contains(name) && SessionCgroup.Open(name) is { } orphan)
            {
                await orphan.KillAndRemoveAsync(cancellationToken);
                LogOrphanRemoved(logger, name);
            }
        }
    }

    /// <summary>How many processes of the session the kernel killed for memory (tests and the UI).</summary>
    public static long OutOfMemoryKills(string backendId) => SessionCgroup.Open(backendId)?.OutOfMemoryKills() ?? 0;

    /// <summary>The session's processes (tests).</summary>
    public static IReadOnlyList<int> Processes(string backendId) => SessionCgroup.Open(backendId)?.Processes() ?? [];

    /// <summary>
    /// The control group name of one start of a session: this platform's prefix (several platforms, e.g.
    /// test hosts, may share a machine and must never touch each other's sessions), the session, and the
    /// start, so a new start never touches an older one's processes.
    /// </summary>
    public string GroupName(Guid sessionId, int generation) =>
        $"{InstancePrefix}-{sessionId:N}-{generation.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Derived from the data directory: the same platform after a restart has the same prefix.</summary>
    private string InstancePrefix => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(platform.Value.DataPath)))[..10];

    /// <summary>The bubblewrap arguments: the shared sandbox, then Jupyter on its port as the user.</summary>
    internal List<string> SandboxArgs(SessionLaunch launch, string privateFolder, int port)
    {
        var command = launch.Image.JupyterCommand.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        command.AddRange([
            "--no-browser",
            "--ip=127.0.0.1",
            $"--port={port.ToString(CultureInfo.InvariantCulture)}",
            "--port-retries=0",
            $"--NotebookApp.base_url={launch.BaseUrl}",
            $"--NotebookApp.notebook_dir={Sandbox.Workspace}",
        ]);
        var spec = new SandboxSpec(launch.UserName, launch.Uid, launch.Gid, launch.HomeFolder, launch.Mounts, privateFolder, command)
        {
            // Started in the read-only workspace: Jupyter also reads configuration from its working folder.
            WorkingDirectory = Sandbox.Workspace,
            ReadOnlyBinds = [new SessionMount(Path.Combine(privateFolder, "jupyter"), JupyterConfigDir, Writable: false)],
            Environment = new Dictionary<string, string>
            {
                ["JUPYTER_CONFIG_DIR"] = JupyterConfigDir,
                ["SCISERVER_SESSION"] = launch.SessionId.ToString(),
            },
        };
        return Sandbox.Arguments(spec, options.Value);
    }

    internal static void WriteSandboxFiles(string folder, SessionLaunch launch)
    {
        Sandbox.WriteIdentityFiles(folder, launch.UserName, launch.Uid, launch.Gid);

        // The server's configuration comes from here, never from the user's home: authentication stays on.
        var jupyter = Directory.CreateDirectory(Path.Combine(folder, "jupyter")).FullName;
        SetMode(jupyter, (UnixFileMode)0b111_101_101);
        var kernels = launch.Image.KernelList;
        var config = new Dictionary<string, object>
        {
            ["NotebookApp"] = new Dictionary<string, object>
            {
                // In this file, not on a command line or in the environment, where `ps` on the machine would show it.
                ["token"] = launch.JupyterToken,
                ["open_browser"] = false,
                ["password"] = "",
                ["allow_root"] = false,
                ["quit_button"] = false,
            },
            ["KernelSpecManager"] = new Dictionary<string, object> { ["allowed_kernelspecs"] = kernels, ["ensure_native_kernel"] = false },
            ["MappingKernelManager"] = new Dictionary<string, object> { ["default_kernel_name"] = kernels.Count > 0 ? kernels[0] : "python3" },
        };
        // Jupyter would migrate IPython 3 settings into this (read-only) folder unless told it did.
        File.WriteAllText(Path.Combine(jupyter, "migrated"), "");
        var path = Path.Combine(jupyter, "jupyter_notebook_config.json");
        File.WriteAllText(path, JsonSerializer.Serialize(config));
        SetMode(path, (UnixFileMode)0b110_100_100);
    }

    private string? EndReason(Guid sessionId, SessionCgroup? group)
    {
        if (group?.OutOfMemoryKills() > 0)
        {
            return "It ran out of memory (the domain's memory limit) and was stopped.";
        }

        var log = Path.Combine(PrivateFolder(sessionId), "jupyter.log");
        try
        {
            if (File.Exists(log))
            {
                var lines = File.ReadLines(log).TakeLast(3).Select(l => l.Length > 300 ? l[..300] : l);
                var tail = string.Join(" | ", lines).Trim();
                return tail.Length == 0 ? null : "Jupyter's last words: " + tail;
            }
        }
        catch (IOException)
        {
        }

        return null;
    }

    private static void SetMode(string path, UnixFileMode mode)
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, mode);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [LoggerMessage(1500, LogLevel.Information, "Session {SessionId} of {UserName} started locally as uid {Uid} on port {Port}")]
    private static partial void LogStarted(ILogger logger, Guid sessionId, string userName, int uid, int port);

    [LoggerMessage(1501, LogLevel.Information, "Session {SessionId} stopped locally")]
    private static partial void LogStopped(ILogger logger, Guid sessionId);

    [LoggerMessage(1503, LogLevel.Warning, "Removed the leftover session group {Group}, which no session claims")]
    private static partial void LogOrphanRemoved(ILogger logger, string group);

    [LoggerMessage(1502, LogLevel.Error, "Session {SessionId} could not be started (exit {ExitCode}): {Error}")]
    private static partial void LogStartFailed(ILogger logger, Guid sessionId, int exitCode, string error);
}
