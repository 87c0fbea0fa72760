using System.ComponentModel.DataAnnotations;

namespace OpenSciServer.CasJobs;

/// <summary>Catalog queries: limits and the sandbox of the query workers (section "CasJobs").</summary>
public sealed class CasJobsOptions
{
    public const string SectionName = "CasJobs";

    /// <summary>Run each query worker inside bubblewrap (mount, network and process isolation). Turn off only where bwrap cannot run.</summary>
    public bool Sandbox { get; set; } = true;

    [Required]
    public string BubblewrapPath { get; set; } = "/usr/bin/bwrap";

    /// <summary>Time limit of a quick query (contexts may set their own later).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00", ErrorMessage = "CasJobs:QuickQueryTimeout must be between 1 second and 1 day.")]
    public TimeSpan QuickQueryTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>DuckDB's memory limit for one query, e.g. "2GiB".</summary>
    [RegularExpression(@"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$", ErrorMessage = "CasJobs:MemoryLimit is a size like 2GiB or 512MiB.")]
    public string MemoryLimit { get; set; } = "2GiB";

    [Range(1, 256)]
    public int Threads { get; set; } = 2;

    /// <summary>Rows of the synthetic demo catalogue created at first start (0: none).</summary>
    [Range(0, 1_000_000_000)]
    public long DemoRows { get; set; } = 1_000_000;

    /// <summary>Rows a quick query returns at most; the rest is left for a download or a long query into MyDB.</summary>
    [Range(1, 100_000_000)]
    public long QuickQueryMaxRows { get; set; } = 100_000;

    /// <summary>
    /// Space each user's MyDB may use (DuckDB's used blocks), e.g. "10GiB" or "500MB". Past it, MyDB turns read-only
    /// and imports, uploads and queries that write are refused (507) until tables are dropped.
    /// </summary>
    [RegularExpression(@"^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$", ErrorMessage = "CasJobs:MyDbQuota is a size like 10GiB or 500MB.")]
    public string MyDbQuota { get; set; } = "10GiB";
}
