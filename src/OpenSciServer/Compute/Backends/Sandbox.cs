using System.Globalization;

namespace OpenSciServer.Compute.Backends;

/// <summary>
/// What runs in one sandbox, and as whom: the same for a Jupyter session and a job, on the platform's
/// machine and on a Slurm node.
/// </summary>
/// <param name="UserName">The user's name inside (/etc/passwd, USER).</param>
/// <param name="HomeFolder">The folder on the machine that is /home/idies inside.</param>
/// <param name="Mounts">The user's and data volumes, under <see cref="Sandbox.Workspace"/>.</param>
/// <param name="PrivateFolder">The platform's folder holding the generated passwd and group files; never mounted itself.</param>
/// <param name="Command">The program and its arguments, run as the user after setpriv.</param>
public sealed record SandboxSpec(
    string UserName,
    int Uid,
    int Gid,
    string HomeFolder,
    IReadOnlyList<SessionMount> Mounts,
    string PrivateFolder,
    IReadOnlyList<string> Command)
{
    /// <summary>Where the command starts (inside).</summary>
    public string WorkingDirectory { get; init; } = Sandbox.Workspace;

    /// <summary>Further read-only files or folders outside the workspace (e.g. the platform's Jupyter configuration).</summary>
    public IReadOnlyList<SessionMount> ReadOnlyBinds { get; init; } = [];

    /// <summary>Variables on top of HOME, USER, LOGNAME, SHELL, PATH, LANG and TERM.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();
}

/// <summary>
/// The bubblewrap sandbox of sessions and jobs: the system's /usr read-only, a short list of /etc files,
/// generated /etc/passwd and /etc/group, a private home, the chosen volumes and nothing else of the
/// machine; its own /proc and /tmp; then setpriv to the user's uid with no new privileges and no
/// capabilities.
/// </summary>
public static class Sandbox
{
    public const string Workspace = "/home/idies/workspace";

    // The parts of /etc that programs need; never the whole of it (keys, the platform's own configuration).
    private static readonly string[] EtcAllowList =
    [
        "alternatives", "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "ssl", "ca-certificates", "resolv.conf", "hosts",
        "nsswitch.conf", "localtime", "timezone", "mime.types", "matplotlibrc", "R", "octaverc", "python3", "python3.11",
        "fonts", "bash.bashrc", "profile", "inputrc", "terminfo", "gai.conf", "host.conf", "protocols", "services",
        "locale.alias", "papersize", "magic", "magic.mime", "os-release", "debian_version", "environment",
    ];

    /// <summary>The arguments after the bubblewrap program itself.</summary>
    public static List<string> Arguments(SandboxSpec spec, ComputeOptions options)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(options);
        var args = new List<string>
        {
            "--ro-bind", "/usr", "/usr",
            "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64", "--symlink", "usr/bin", "/bin", "--symlink", "usr/sbin", "/sbin",
            // Folders bwrap makes implicitly are 0700 (root's): make the ones the user must traverse first.
            "--perms", "0755", "--dir", "/etc",
            "--perms", "0755", "--dir", "/var",
        };
        foreach (var entry in EtcAllowList)
        {
            var path = "/etc/" + entry;
            if (File.Exists(path) || Directory.Exists(path))
            {
                args.AddRange(["--ro-bind", path, path]);
            }
        }

        args.AddRange([
            "--ro-bind", Path.Combine(spec.PrivateFolder, "passwd"), "/etc/passwd",
            "--ro-bind", Path.Combine(spec.PrivateFolder, "group"), "/etc/group",
        ]);
        foreach (var bind in spec.ReadOnlyBinds)
        {
            args.AddRange(["--perms", "0755", "--dir", Path.GetDirectoryName(bind.Target)!, "--ro-bind", bind.Source, bind.Target]);
        }

        args.AddRange([
            "--proc", "/proc", "--dev", "/dev",
            "--perms", "1777", "--tmpfs", "/tmp",
            "--perms", "1777", "--tmpfs", "/var/tmp",
            // bwrap makes mount-point folders 0700 unless told otherwise.
            "--perms", "0755", "--dir", "/home",
            "--bind", spec.HomeFolder, "/home/idies",
            // The workspace is the platform's: the user cannot add to it, only use what is mounted in it.
            "--perms", "0755", "--tmpfs", Workspace,
        ]);
        var made = new HashSet<string>(StringComparer.Ordinal) { Workspace };
        foreach (var mount in spec.Mounts.OrderBy(m => m.Target, StringComparer.Ordinal))
        {
            // Parent folders first (0755), then the bind: a bind onto a path inside another must come after it.
            var chain = new Stack<string>();
            for (var p = Path.GetDirectoryName(mount.Target)!; !made.Contains(p) && p.StartsWith(Workspace, StringComparison.Ordinal); p = Path.GetDirectoryName(p)!)
            {
                chain.Push(p);
            }

            foreach (var dir in chain)
            {
                args.AddRange(["--perms", "0755", "--dir", dir]);
                made.Add(dir);
            }

            args.AddRange([mount.Writable ? "--bind" : "--ro-bind", mount.Source, mount.Target]);
            made.Add(mount.Target);
        }

        args.AddRange(["--remount-ro", Workspace]);
        args.AddRange([
            "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--hostname", "sciserver",
            // No --die-with-parent: sessions and jobs outlive a platform restart on purpose, and it would tie
            // the sandbox to one .NET thread anyway. Control groups (or Slurm) are how they are found and ended.
            "--new-session",
            "--clearenv",
            "--setenv", "HOME", "/home/idies",
            "--setenv", "USER", spec.UserName,
            "--setenv", "LOGNAME", spec.UserName,
            "--setenv", "SHELL", "/bin/bash",
            "--setenv", "PATH", "/usr/local/bin:/usr/bin:/bin",
            "--setenv", "LANG", "C.UTF-8",
            "--setenv", "TERM", "xterm-256color",
        ]);
        foreach (var (name, value) in spec.Environment)
        {
            args.AddRange(["--setenv", name, value]);
        }

        args.AddRange([
            "--chdir", spec.WorkingDirectory,
            options.SetprivPath,
            $"--reuid={spec.Uid.ToString(CultureInfo.InvariantCulture)}", $"--regid={spec.Gid.ToString(CultureInfo.InvariantCulture)}",
            "--clear-groups", "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all",
            "--",
        ]);
        args.AddRange(spec.Command);
        return args;
    }

    /// <summary>Writes the sandbox's /etc/passwd and /etc/group (root, the user, nobody) into the private folder.</summary>
    public static void WriteIdentityFiles(string privateFolder, string userName, int uid, int gid)
    {
        var u = uid.ToString(CultureInfo.InvariantCulture);
        var g = gid.ToString(CultureInfo.InvariantCulture);
        File.WriteAllText(Path.Combine(privateFolder, "passwd"),
            $"root:x:0:0:root:/root:/usr/sbin/nologin\n{userName}:x:{u}:{g}:{userName}:/home/idies:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
        File.WriteAllText(Path.Combine(privateFolder, "group"), $"root:x:0:\n{userName}:x:{g}:\nnogroup:x:65534:\n");
        foreach (var file in new[] { "passwd", "group" })
        {
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(Path.Combine(privateFolder, file), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            }
        }
    }
}
