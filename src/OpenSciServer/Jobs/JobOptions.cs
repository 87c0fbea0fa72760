using System.ComponentModel.DataAnnotations;

namespace OpenSciServer.Jobs;

/// <summary>Compute jobs: how many run at once and how often they are checked (section "Jobs").</summary>
public sealed class JobOptions
{
    public const string SectionName = "Jobs";

    /// <summary>Jobs one user may have starting or running at once; the rest wait (PENDING).</summary>
    [Range(1, 10_000, ErrorMessage = "Jobs:MaxRunningPerUser must be between 1 and 10000.")]
    public int MaxRunningPerUser { get; set; } = 2;

    /// <summary>Jobs of all users starting or running at once.</summary>
    [Range(1, 100_000, ErrorMessage = "Jobs:MaxRunning must be between 1 and 100000.")]
    public int MaxRunning { get; set; } = 4;

    /// <summary>How often running jobs are looked at (finished, past their time limit).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00", ErrorMessage = "Jobs:PollInterval must be between 0.1 second and 10 minutes.")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The most of stdout and stderr (each) that the API and the page show: the end of the file.</summary>
    [Range(1024, 16 << 20, ErrorMessage = "Jobs:OutputTailBytes must be between 1 KiB and 16 MiB.")]
    public int OutputTailBytes { get; set; } = 64 * 1024;
}
