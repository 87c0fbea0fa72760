using System.Globalization;

namespace OpenSciServer.Tests.Infrastructure;

/// <summary>One process of the machine, as /proc shows it.</summary>
/// <param name="State">R, S, D, Z (zombie), ...</param>
internal sealed record MachineProcess(int Pid, int ParentPid, int Uid, char State, IReadOnlyList<string> Arguments)
{
    public string CommandLine => string.Join(' ', Arguments);

    public bool IsZombie => State == 'Z';
}

/// <summary>What the tests ask of the machine's processes (sandboxes, workers, sessions): read from /proc.</summary>
internal static class MachineProcesses
{
    /// <summary>Every process readable now; those that end while being read are left out.</summary>
    public static IReadOnlyList<MachineProcess> All()
    {
        var result = new List<MachineProcess>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                var arguments = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0', StringSplitOptions.RemoveEmptyEntries);
                // /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces and parentheses, so read after the last ')'.
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                var uidLine = File.ReadLines(Path.Combine(dir, "status")).First(l => l.StartsWith("Uid:", StringComparison.Ordinal));
                var uid = int.Parse(uidLine.Split('\t', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
                result.Add(new MachineProcess(pid, int.Parse(fields[1], CultureInfo.InvariantCulture), uid, fields[0][0], arguments));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
            {
                // Ended meanwhile.
            }
        }

        return result;
    }

    /// <summary>The command line of one process, or null once it has ended.</summary>
    public static string? CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/cmdline").Replace('\0', ' ');
        }
        catch (IOException)
        {
            return null;
        }
    }
}
