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

    /// <summary>Time limit of a quick query on contexts without their own (CatalogContext.QuickQueryTimeoutSeconds) and on MyDB.</summary>
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

    /// <summary>Rows a quick query without login (on a context shared with <c>public</c>) returns at most.</summary>
    [Range(1, 100_000_000)]
    public long AnonymousMaxRows { get; set; } = 10_000;

    /// <summary>Requests without login that run a query (query, tables, columns) one client address may make per minute.</summary>
    [Range(1, 100_000)]
    public int AnonymousQueriesPerMinute { get; set; } = 30;

    /// <summary>Longest an admin's import of a CSV or Parquet file into a new context may run.</summary>
    [Range(typeof(TimeSpan), "00:00:10", "7.00:00:00", ErrorMessage = "CasJobs:CatalogImportTimeout must be between 10 seconds and 7 days.")]
    public TimeSpan CatalogImportTimeout { get; set; } = TimeSpan.FromHours(2);
}
