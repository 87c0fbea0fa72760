using System.Globalization;

namespace OpenSciServer.Infrastructure;

/// <summary>What a control group limits: memory always (swap included where the kernel can); processes and CPUs where given.</summary>
public sealed record ControlGroupLimits(long MemoryBytes, int? MaxProcesses = null, double? Cpus = null);

/// <summary>
/// The platform's control groups of one kind (query workers, sessions, jobs) under one parent group of
/// their own, on cgroup v2 (one folder per group) or v1 (one folder per controller). A group holds every
/// process started in it however it forks or detaches: its limits apply to all of them, the kernel's OOM
/// killer acts inside it only, and killing what it holds ends all of it. Where control groups are not
/// writable (a laptop run without root) <see cref="Unavailable"/> says why.
/// </summary>
public sealed class ControlGroupFamily
{
    private readonly string _parentName;
    private readonly bool _processes;
    private readonly Lazy<Layout?> _layout;

    /// <param name="parentName">The parent group, e.g. opensciserver-sessions.</param>
    /// <param name="processes">Whether groups also limit processes and CPU (pids and cpu controllers needed).</param>
    public ControlGroupFamily(string parentName, bool processes)
    {
        _parentName = parentName;
        _processes = processes;
        _layout = new Lazy<Layout?>(Detect);
    }

    /// <summary>Why groups cannot be made here, or null when they can.</summary>
    public string? Unavailable => _layout.Value is null
        ? $"{(_processes ? "memory and process" : "memory")} control groups are not writable by the platform (it must run as root, or be given a delegated cgroup)"
        : null;

    /// <summary>Creates a group with its limits (or opens it again if it exists).</summary>
    public ControlGroup Create(string name, ControlGroupLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        var layout = _layout.Value ?? throw new InvalidOperationException(Unavailable);
        var group = new ControlGroup(layout.V2, layout.Folders(name), name);
        foreach (var folder in group.Folders)
        {
            Directory.CreateDirectory(folder);
        }

        var memory = limits.MemoryBytes.ToString(CultureInfo.InvariantCulture);
        const int period = 100_000;
        var quota = limits.Cpus is { } cpus ? ((long)Math.Ceiling(cpus * period)).ToString(CultureInfo.InvariantCulture) : null;
        var pids = limits.MaxProcesses?.ToString(CultureInfo.InvariantCulture);
        if (layout.V2)
        {
            var dir = group.Folders[0];
            File.WriteAllText(Path.Combine(dir, "memory.max"), memory);
            TryWrite(Path.Combine(dir, "memory.swap.max"), "0");
            if (pids is not null)
            {
                File.WriteAllText(Path.Combine(dir, "pids.max"), pids);
            }

            if (quota is not null)
            {
                TryWrite(Path.Combine(dir, "cpu.max"), $"{quota} {period}");
            }
        }
        else
        {
            var mem = group.Folders[0];
            File.WriteAllText(Path.Combine(mem, "memory.limit_in_bytes"), memory);
            TryWrite(Path.Combine(mem, "memory.memsw.limit_in_bytes"), memory);
            TryWrite(Path.Combine(mem, "memory.swappiness"), "0");
            if (pids is not null && group.Folders.Count > 1)
            {
                File.WriteAllText(Path.Combine(group.Folders[1], "pids.max"), pids);
            }

            if (quota is not null && group.Folders.Count > 2)
            {
                TryWrite(Path.Combine(group.Folders[2], "cpu.cfs_period_us"), period.ToString(CultureInfo.InvariantCulture));
                TryWrite(Path.Combine(group.Folders[2], "cpu.cfs_quota_us"), quota);
            }
        }

        return group;
    }

    /// <summary>A group made earlier (by this or an earlier platform process), or null where control groups are unavailable.</summary>
    public ControlGroup? Open(string name) => _layout.Value is { } layout ? new ControlGroup(layout.V2, layout.Folders(name), name) : null;

    /// <summary>The names of existing groups of this family that start with a prefix.</summary>
    public IReadOnlyList<string> Names(string prefix)
    {
        if (_layout.Value is not { } layout || !Directory.Exists(layout.Parents[0]))
        {
            return [];
        }

        return Directory.EnumerateDirectories(layout.Parents[0]).Select(Path.GetFileName).OfType<string>()
            .Where(n => n.StartsWith(prefix, StringComparison.Ordinal)).ToList();
    }

    internal static void TryWrite(string file, string value)
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

    private Layout? Detect()
    {
        try
        {
            if (File.Exists("/sys/fs/cgroup/cgroup.controllers"))
            {
                var controllers = File.ReadAllText("/sys/fs/cgroup/cgroup.controllers").Split(' ', StringSplitOptions.TrimEntries);
                if (!controllers.Contains("memory") || (_processes && !controllers.Contains("pids")))
                {
                    return null;
                }

                var parent = "/sys/fs/cgroup/" + _parentName;
                Directory.CreateDirectory(parent);
                var enable = !_processes ? "+memory" : controllers.Contains("cpu") ? "+memory +pids +cpu" : "+memory +pids";
                File.WriteAllText(Path.Combine(parent, "cgroup.subtree_control"), enable);
                var layout = new Layout(true, [parent]);
                return Probe(layout) ? layout : null;
            }

            if (Directory.Exists("/sys/fs/cgroup/memory") && (!_processes || Directory.Exists("/sys/fs/cgroup/pids")))
            {
                var parents = new List<string> { "/sys/fs/cgroup/memory/" + _parentName };
                if (_processes)
                {
                    parents.Add("/sys/fs/cgroup/pids/" + _parentName);
                    if (File.Exists("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"))
                    {
                        parents.Add("/sys/fs/cgroup/cpu/" + _parentName);
                    }
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

/// <summary>One control group (see <see cref="ControlGroupFamily"/>).</summary>
public sealed partial class ControlGroup
{
    private readonly bool _v2;

    internal ControlGroup(bool v2, IReadOnlyList<string> folders, string name)
    {
        _v2 = v2;
        Folders = folders;
        Name = name;
    }

    public string Name { get; }

    /// <summary>The folders where its processes are listed (one on v2; memory first, then pids and cpu, on v1).</summary>
    public IReadOnlyList<string> Folders { get; }

    /// <summary>
    /// A shell command that puts the shell itself into every folder of the group; followed by <c>&amp;&amp; exec ...</c>
    /// nothing of what it starts ever runs outside the limits.
    /// </summary>
    public string EnterScript() =>
        string.Join(" && ", Folders.Select(f => $"echo $$ > '{f}/cgroup.procs'"));

    /// <summary>The processes in the group.</summary>
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

    /// <summary>How many times the kernel killed a process of the group for its memory limit (v1 counts since kernel 4.13).</summary>
    public long OutOfMemoryKills()
    {
        try
        {
            var text = File.ReadAllText(Path.Combine(Folders[0], _v2 ? "memory.events" : "memory.oom_control"));
            var line = text.Split('\n').FirstOrDefault(l => l.StartsWith("oom_kill ", StringComparison.Ordinal));
            return line is null ? 0 : long.Parse(line["oom_kill ".Length..].Trim(), CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return 0;
        }
    }

    /// <summary>Kills every process of the group (again while any is left, as a fork can race a kill) and removes it.</summary>
    public async Task KillAndRemoveAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var processes = Processes();
            foreach (var pid in processes)
            {
                _ = Kill(pid, 9);
            }

            if (processes.Count == 0 && TryRemove())
            {
                return;
            }

            await Task.Delay(20, cancellationToken);
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

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
