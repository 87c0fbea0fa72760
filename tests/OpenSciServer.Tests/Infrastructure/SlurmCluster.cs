using System.Diagnostics;
using System.Globalization;

namespace OpenSciServer.Tests.Infrastructure;

/// <summary>
/// A real one-node Slurm cluster for the tests: munged (started if it is not running), and a private
/// slurmctld and slurmd with their own slurm.conf, free ports and state and spool folders under
/// /tmp/oss-slurm-*, the node being this machine (its hostname, CPUs and memory). Started once per
/// test process (<see cref="SharedAsync"/>; test classes use <see cref="SlurmClusterFixture"/>) and
/// stopped when the process exits; the daemons and jobs of an earlier run that was interrupted are
/// ended first. Partitions: <see cref="Partition"/> (up, the default) and <see cref="DownPartition"/>.
/// </summary>
public sealed class SlurmCluster
{
    public const string Partition = "debug";

    /// <summary>A partition that is down: jobs sent there wait with reason PartitionDown.</summary>
    public const string DownPartition = "closed";

    private const string FolderPrefix = "oss-slurm-";

    private static readonly Lazy<Task<SlurmCluster>> Shared = new(() => Task.Run(StartAsync));

    private SlurmCluster(string folder, string nodeName, int cpus, long memoryMegabytes)
    {
        Folder = folder;
        NodeName = nodeName;
        Cpus = cpus;
        MemoryMegabytes = memoryMegabytes;
    }

    /// <summary>The cluster of this test process, started at the first call.</summary>
    public static Task<SlurmCluster> SharedAsync() => Shared.Value;

    /// <summary>/tmp/oss-slurm-…: slurm.conf, state, spool, logs.</summary>
    public string Folder { get; }

    public string ConfigPath => Path.Combine(Folder, "slurm.conf");

    /// <summary>A slurm.conf of a cluster whose controller is not running (nothing listens on its port): every command fails fast.</summary>
    public string UnreachableConfigPath => Path.Combine(Folder, "unreachable", "slurm.conf");

    public string NodeName { get; }

    public int Cpus { get; }

    public long MemoryMegabytes { get; }

    /// <summary>The platform settings that point the Slurm backend at this cluster.</summary>
    public IEnumerable<KeyValuePair<string, string?>> PlatformSettings(bool reachable = true) =>
    [
        new("Compute:Slurm:ConfigPath", reachable ? ConfigPath : UnreachableConfigPath),
        new("Compute:Slurm:CommandTimeout", "00:00:30"),
    ];

    /// <summary>Runs a Slurm command against this cluster and returns its stdout (fails the test on a non-zero exit).</summary>
    public async Task<string> RunAsync(string program, params string[] args)
    {
        var (code, output, error) = await ExecAsync(program, args, ConfigPath);
        Assert.True(code == 0, $"{program} {string.Join(' ', args)}: exit {code}: {error}");
        return output;
    }

    /// <summary>The state of a job as squeue says ("RUNNING", "CANCELLED", ...), or null when Slurm does not know it.</summary>
    public async Task<string?> JobStateAsync(string jobId)
    {
        var (code, output, _) = await ExecAsync("/usr/bin/squeue", ["--noheader", "--states=all", $"--jobs={jobId}", "--format=%T"], ConfigPath);
        return code == 0 && output.Trim().Length > 0 ? output.Trim() : null;
    }

    private static async Task<SlurmCluster> StartAsync()
    {
        foreach (var stale in Directory.EnumerateDirectories(Path.GetTempPath(), FolderPrefix + "*"))
        {
            if (!OwnerAlive(stale))
            {
                StopDaemons(stale);
            }
        }

        await EnsureMungeAsync();
        var folder = Path.Combine(Path.GetTempPath(), FolderPrefix + Guid.NewGuid().ToString("N")[..8]);
        foreach (var sub in new[] { "state", "spool", "log", "unreachable" })
        {
            Directory.CreateDirectory(Path.Combine(folder, sub));
        }

        await File.WriteAllTextAsync(Path.Combine(folder, "owner"), Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        var node = (await File.ReadAllTextAsync("/proc/sys/kernel/hostname")).Trim();
        var cpus = Environment.ProcessorCount;
        var memTotalKb = long.Parse(File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        var memory = Math.Max(512, memTotalKb / 1024 - 1024);
        var cluster = new SlurmCluster(folder, node, cpus, memory);
        await File.WriteAllTextAsync(cluster.ConfigPath, Config(folder, node, cpus, memory, TestPorts.Free(), TestPorts.Free()));
        // Nothing listens on this controller port: the commands fail at once with "Unable to contact slurm controller".
        await File.WriteAllTextAsync(cluster.UnreachableConfigPath, Config(Path.Combine(folder, "unreachable"), node, cpus, memory, TestPorts.Free(), TestPorts.Free())
            + "MessageTimeout=2\n");
        AppDomain.CurrentDomain.ProcessExit += (_, _) => StopDaemons(folder);
        // The test host may be ended before ProcessExit handlers finish: a detached watcher ends the
        // cluster once this process is gone, however it ended.
        await StartWatcherAsync(folder);

        foreach (var daemon in new[] { "/usr/sbin/slurmctld", "/usr/sbin/slurmd" })
        {
            // Both daemonize: the command returns once the daemon runs.
            var (code, _, error) = await ExecAsync(daemon, [], cluster.ConfigPath);
            Assert.True(code == 0, $"{daemon} did not start: {error} {Tail(Path.Combine(folder, "log"))}");
        }

        for (var i = 0; ; i++)
        {
            var (code, output, _) = await ExecAsync("/usr/bin/sinfo", ["--noheader", $"--partition={Partition}", "--format=%T"], cluster.ConfigPath);
            if (code == 0 && output.Trim() == "idle")
            {
                return cluster;
            }

            Assert.True(i < 150, $"the test cluster's node did not become idle: {output} {Tail(Path.Combine(folder, "log"))}");
            await Task.Delay(100);
        }
    }

    private static string Config(string folder, string node, int cpus, long memory, int controllerPort, int nodePort) => $"""
        ClusterName=oss{Path.GetFileName(folder).Replace("-", "", StringComparison.Ordinal)[^8..]}
        SlurmctldHost={node}
        SlurmctldPort={controllerPort}
        SlurmdPort={nodePort}
        AuthType=auth/munge
        CredType=cred/munge
        SlurmUser=root
        SlurmdUser=root
        StateSaveLocation={folder}/state
        SlurmdSpoolDir={folder}/spool
        SlurmctldPidFile={folder}/slurmctld.pid
        SlurmdPidFile={folder}/slurmd.pid
        SlurmctldLogFile={folder}/log/slurmctld.log
        SlurmdLogFile={folder}/log/slurmd.log
        ProctrackType=proctrack/linuxproc
        TaskPlugin=task/none
        SelectType=select/cons_tres
        SelectTypeParameters=CR_Core_Memory
        AccountingStorageType=accounting_storage/none
        JobCompType=jobcomp/none
        JobAcctGatherType=jobacct_gather/none
        MpiDefault=none
        ReturnToService=2
        SchedulerParameters=sched_interval=1
        KillWait=2
        NodeName={node} CPUs={cpus} RealMemory={memory} State=UNKNOWN
        PartitionName={Partition} Nodes=ALL Default=YES State=UP MaxTime=INFINITE
        PartitionName={DownPartition} Nodes=ALL State=DOWN MaxTime=INFINITE

        """.Replace("\r", "", StringComparison.Ordinal);

    private static async Task StartWatcherAsync(string folder)
    {
        const string watcher = """
            while kill -0 "$OWNER" 2>/dev/null; do sleep 1; done
            for f in slurmd.pid slurmctld.pid; do [ -f "$DIR/$f" ] && kill -9 "$(cat "$DIR/$f")" 2>/dev/null; done
            for p in /proc/[0-9]*; do
              if tr '\0' '\n' < "$p/environ" 2>/dev/null | grep -qxF "SLURM_CONF=$DIR/slurm.conf"; then kill -9 "${p#/proc/}" 2>/dev/null; fi
            done
            rm -rf "$DIR"
            """;
        var psi = new ProcessStartInfo("/usr/bin/setsid", ["-f", "/bin/sh", "-c", watcher.Replace("\r", "", StringComparison.Ordinal)])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        psi.Environment.Clear();
        psi.Environment["PATH"] = "/usr/bin:/bin";
        psi.Environment["OWNER"] = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        psi.Environment["DIR"] = folder;
        using var process = Process.Start(psi)!;
        await process.WaitForExitAsync();
    }

    private static async Task EnsureMungeAsync()
    {
        if ((await ExecAsync("/bin/sh", ["-c", "munge -n | unmunge >/dev/null"], null)).Code == 0)
        {
            return;
        }

        var (code, _, error) = await ExecAsync("/bin/sh", ["-c",
            "mkdir -p /run/munge /var/lib/munge /var/log/munge && chown munge:munge /run/munge /var/lib/munge /var/log/munge /etc/munge/munge.key && su -s /bin/sh munge -c /usr/sbin/munged"], null);
        Assert.True(code == 0, "munged did not start: " + error);
        for (var i = 0; i < 50 && (await ExecAsync("/bin/sh", ["-c", "munge -n | unmunge >/dev/null"], null)).Code != 0; i++)
        {
            await Task.Delay(100);
        }
    }

    /// <summary>Whether the test process that made a cluster folder still runs.</summary>
    private static bool OwnerAlive(string folder)
    {
        var owner = Path.Combine(folder, "owner");
        return File.Exists(owner) && int.TryParse(File.ReadAllText(owner).Trim(), CultureInfo.InvariantCulture, out var pid)
            && Directory.Exists($"/proc/{pid}");
    }

    /// <summary>
    /// Kills the cluster's daemons and whatever of its jobs is left (every process started with this
    /// cluster's SLURM_CONF: slurmstepd, job scripts, their sandboxes) and removes the folder. SIGKILL
    /// at once: the cluster's state is thrown away, and this runs at process exit, where time is short.
    /// </summary>
    private static void StopDaemons(string folder)
    {
        var conf = Path.Combine(folder, "slurm.conf");
        var daemons = new List<int>();
        foreach (var pidFile in new[] { "slurmd.pid", "slurmctld.pid" })
        {
            if (File.Exists(Path.Combine(folder, pidFile)) && int.TryParse(File.ReadAllText(Path.Combine(folder, pidFile)).Trim(), CultureInfo.InvariantCulture, out var pid))
            {
                daemons.Add(pid);
            }
        }

        // The daemons, the job steps and the jobs' processes: everything started with this cluster's SLURM_CONF.
        var marker = "SLURM_CONF=" + conf;
        using var pause = new ManualResetEventSlim(false);
        for (var round = 0; round < 30; round++)
        {
            var left = daemons.Where(Alive).Union(ProcessesWith(marker)).ToList();
            if (left.Count == 0)
            {
                break;
            }

            foreach (var pid in left)
            {
                Kill(pid);
            }

            // Synchronous on purpose (this also runs at process exit).
            pause.Wait(100);
        }

        for (var attempt = 0; attempt < 5 && Directory.Exists(folder); attempt++)
        {
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
                pause.Wait(200);
            }
            catch (UnauthorizedAccessException)
            {
                return;
            }
        }
    }

    /// <summary>Running (a zombie nobody reaps counts as ended).</summary>
    private static bool Alive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
            var state = stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[0];
            return state != "Z" && state != "X";
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static List<int> ProcessesWith(string environmentEntry)
    {
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), CultureInfo.InvariantCulture, out var pid) || pid == Environment.ProcessId)
            {
                continue;
            }

            try
            {
                var environ = File.ReadAllText(Path.Combine(dir, "environ"));
                if (environ.Split('\0').Contains(environmentEntry, StringComparer.Ordinal))
                {
                    found.Add(pid);
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return found;
    }

    private static void Kill(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            process.Kill();
        }
        catch (ArgumentException)
        {
            // Gone already.
        }
        catch (InvalidOperationException)
        {
        }
        catch (System.ComponentModel.Win32Exception)
        {
        }
    }

    private static string Tail(string logFolder) =>
        string.Join(" | ", Directory.EnumerateFiles(logFolder).SelectMany(f => File.ReadLines(f).TakeLast(5)));

    private static async Task<(int Code, string Output, string Error)> ExecAsync(string program, IReadOnlyList<string> args, string? config)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = "/" };
        foreach (var arg in args)
        {
            psi.ArgumentList.Add(arg);
        }

        if (config is not null)
        {
            psi.Environment["SLURM_CONF"] = config;
        }

        using var process = Process.Start(psi)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }
}

/// <summary>For test classes: <c>IClassFixture&lt;SlurmClusterFixture&gt;</c> gives the process's one cluster.</summary>
public sealed class SlurmClusterFixture : IAsyncLifetime
{
    public SlurmCluster Cluster { get; private set; } = default!;

    public async Task InitializeAsync() => Cluster = await SlurmCluster.SharedAsync();

    public Task DisposeAsync() => Task.CompletedTask;
}
