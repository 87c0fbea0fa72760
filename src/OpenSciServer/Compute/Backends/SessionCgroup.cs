using System.Globalization;

namespace OpenSciServer.Compute.Backends;

/// <summary>
/// The control groups of one local session: memory (the kernel's OOM killer acts inside the session
/// only), processes (a fork bomb hits its own ceiling) and CPU time. They also hold every process the
/// session starts, however it forks or detaches, so stopping the session means killing what is in its
/// group, and finding a session again after a platform restart means looking at its group.
/// Works with cgroup v2 (one folder) and with v1 (one folder per controller), the same way
/// CasJobs' <see cref="CasJobs.Engines.WorkerCgroup"/> does for query workers; the group names are
/// <c>opensciserver-sessions/&lt;name&gt;</c>.
/// </summary>
public sealed class SessionCgroup
{
    private const string ParentName = "opensciserver-sessions";

    private static readonly Lazy<Layout?> Detected = new(Detect);

    private readonly Layout _layout;

    private SessionCgroup(Layout layout, string name)
    {
        _layout = layout;
        Name = name;
    }

    /// <summary>Why sessions cannot be limited here, or null when they can.</summary>
    public static string? Unavailable => Detected.Value is null
        ? "memory and process control groups are not writable by the platform (it must run as root, or be given a delegated cgroup)"
        : null;

    public string Name { get; }

    /// <summary>The folders where the session's processes are listed (one on v2; memory, pids and cpu on v1).</summary>
    public IReadOnlyList<string> Folders => _layout.Folders(Name);

    /// <summary>Creates the groups with their limits (or opens them again if they exist).</summary>
    public static SessionCgroup Create(string name, long memoryBytes, int maxProcesses, double cpus)
    {
        var layout = Detected.Value ?? throw new InvalidOperationException(Unavailable);
        var group = new SessionCgroup(layout, name);
        foreach (var folder in group.Folders)
        {
            Directory.CreateDirectory(folder);
        }

        var memory = memoryBytes.ToString(CultureInfo.InvariantCulture);
        var pids = maxProcesses.ToString(CultureInfo.InvariantCulture);
        const int period = 100_000;
        var quota = ((long)Math.Ceiling(cpus * period)).ToString(CultureInfo.InvariantCulture);
        if (layout.V2)
        {
            var dir = group.Folders[0];
            File.WriteAllText(Path.Combine(dir, "memory.max"), memory);
            TryWrite(Path.Combine(dir, "memory.swap.max"), "0");
            File.WriteAllText(Path.Combine(dir, "pids.max"), pids);
            TryWrite(Path.Combine(dir, "cpu.max"), $"{quota} {period}");
        }
        else
        {
            var (mem, pid, cpu) = (group.Folders[0], group.Folders[1], group.Folders.Count > 2 ? group.Folders[2] : null);
            File.WriteAllText(Path.Combine(mem, "memory.limit_in_bytes"), memory);
            TryWrite(Path.Combine(mem, "memory.memsw.limit_in_bytes"), memory);
            TryWrite(Path.Combine(mem, "memory.swappiness"), "0");
            File.WriteAllText(Path.Combine(pid, "pids.max"), pids);
            if (cpu is not null)
            {
                TryWrite(Path.Combine(cpu, "cpu.cfs_period_us"), period.ToString(CultureInfo.InvariantCulture));
                TryWrite(Path.Combine(cpu, "cpu.cfs_quota_us"), quota);
            }
        }

        return group;
    }

    /// <summary>The group of a session started earlier (by this or an earlier platform process), or null where control groups are unavailable.</summary>
    public static SessionCgroup? Open(string name) => Detected.Value is { } layout ? new SessionCgroup(layout, name) : null;

    /// <summary>The names of existing session groups that start with a prefix.</summary>
    public static IReadOnlyList<string> Names(string prefix)
    {
        if (Detected.Value is not { } layout || !Directory.Exists(layout.Parents[0]))
        {
            return [];
        }

        return Directory.EnumerateDirectories(layout.Parents[0]).Select(Path.GetFileName).OfType<string>()
            .Where(n => n.StartsWith(prefix, StringComparison.Ordinal)).ToList();
    }

    /// <summary>
    /// A shell command prefix that puts itself into every group and then execs the rest, so nothing of
    /// the session ever runs outside its limits.
    /// </summary>
    public string EnterScript() =>
        string.Join(" && ", Folders.Select(f => $"echo $$ > '{f}/cgroup.procs'"));

    /// <summary>The processes in the session's groups.</summary>
    public IReadOnlyList<int> Processes()
    {
        var result = new HashSet<int>();
        foreach (var folder in Folders)
        {
            try
            {
                foreach (var line in File.ReadAllLines(Path.Combine(folder, "cgroup.procs")))
                {
                    if (int.TryParse(line, CultureInfo.InvariantCulture, out var pid))
                    {
                        result.Add(pid);
                    }
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The group is gone.
            }
        }

        return result.ToList();
    }

    /// <summary>How many times the kernel killed a process of the session for its memory limit.</summary>
    public long OutOfMemoryKills()
    {
        try
        {
            var folder = Folders[0];
            var text = File.ReadAllText(Path.Combine(folder, _layout.V2 ? "memory.events" : "memory.oom_control"));
            var line = text.Split('\n').FirstOrDefault(l => l.StartsWith("oom_kill ", StringComparison.Ordinal));
            return line is null ? 0 : long.Parse(line["oom_kill ".Length..].Trim(), CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return 0;
        }
    }

    /// <summary>Kills every process of the session (again and again while any is left, as a fork can race a kill) and removes the groups.</summary>
    public async Task KillAndRemoveAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var processes = Processes();
            foreach (var pid in processes)
            {
                _ = Native.Kill(pid, 9);
            }

            if (processes.Count == 0 && TryRemove())
            {
                return;
            }

            await Task.Delay(25, cancellationToken);
        }
    }

    private bool TryRemove()
    {
        var removed = true;
        foreach (var folder in Folders)
        {
            try
            {
                if (Directory.Exists(folder))
                {
                    Directory.Delete(folder);
                }
            }
            catch (IOException)
            {
                // Busy until the killed processes are reaped.
                removed = false;
            }
        }

        return removed;
    }

    private static void TryWrite(string file, string value)
    {
        try
        {
            File.WriteAllText(file, value);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Optional knobs (swap accounting, CPU quota) that not every kernel offers.
        }
    }

    private static Layout? Detect()
    {
        try
        {
            if (File.Exists("/sys/fs/cgroup/cgroup.controllers"))
            {
                var controllers = File.ReadAllText("/sys/fs/cgroup/cgroup.controllers").Split(' ', StringSplitOptions.TrimEntries);
                if (!controllers.Contains("memory") || !controllers.Contains("pids"))
                {
                    return null;
                }

                var parent = "/sys/fs/cgroup/" + ParentName;
                Directory.CreateDirectory(parent);
                File.WriteAllText(Path.Combine(parent, "cgroup.subtree_control"), controllers.Contains("cpu") ? "+memory +pids +cpu" : "+memory +pids");
                var layout = new Layout(true, [parent]);
                return Probe(layout) ? layout : null;
            }

            if (Directory.Exists("/sys/fs/cgroup/memory") && Directory.Exists("/sys/fs/cgroup/pids"))
            {
                var parents = new List<string> { "/sys/fs/cgroup/memory/" + ParentName, "/sys/fs/cgroup/pids/" + ParentName };
                if (File.Exists("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"))
                {
                    parents.Add("/sys/fs/cgroup/cpu/" + ParentName);
                }

                var layout = new Layout(false, parents);
                return Probe(layout) ? layout : null;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        return null;
    }

    private static bool Probe(Layout layout)
    {
        try
        {
            var probe = "probe-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
            foreach (var folder in layout.Folders(probe))
            {
                Directory.CreateDirectory(folder);
                Directory.Delete(folder);
            }

            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private sealed record Layout(bool V2, IReadOnlyList<string> Parents)
    {
        public List<string> Folders(string name) => Parents.Select(p => Path.Combine(p, name)).ToList();
    }
}

internal static partial class Native
{
    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "fchown", SetLastError = true)]
    public static partial int FChown(int fd, int uid, int gid);

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "geteuid")]
    public static partial uint GetEffectiveUserId();
}
